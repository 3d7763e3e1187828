#!/bin/bash
# --detach returns once the VM runs; a second start is refused and changes
# nothing; status and list (also --json) describe it; stop from another
# process ends it and says how.
. "$(dirname "$0")/lib.sh"
profile=$(write_firmware_profile bg 1)
"$VMRUN_BIN" start --detach "$profile" >"$T/start.log" 2>&1 || fail "start --detach failed"
[ "$(vm_state bg)" = running ] || fail "not running right after --detach returned"
sup=$(cat "$VMRUN_RUN_DIR/bg/supervisor.pid")
STARTED_PIDS="$STARTED_PIDS $sup"
qemu=$(qemu_pid_of bg)

if "$VMRUN_BIN" start --detach "$profile" >"$T/second.log" 2>&1; then
    fail "a second start of a running name succeeded"
fi
grep -q "already running" "$T/second.log" || fail "second start: no clear message"
[ "$(qemu_pid_of bg)" = "$qemu" ] || fail "the second start changed the running VM"

"$VMRUN_BIN" status bg --json >"$T/status.json" || fail "status --json failed"
jq -e '.state == "running" and (.vcpus | length) == 1 and .vcpus[0].cpus_allowed == "0"' \
    "$T/status.json" >/dev/null || fail "status --json: $(cat "$T/status.json")"
"$VMRUN_BIN" list --json | jq -e '.vms | map(select(.name == "bg" and .state == "running")) | length == 1' \
    >/dev/null || fail "list --json does not show bg running"
"$VMRUN_BIN" status bg | grep -q "vCPU 0" || fail "status text has no vCPU line"
"$VMRUN_BIN" list | grep -q "^bg " || fail "list text has no bg line"

"$VMRUN_BIN" stop bg >"$T/stop.log" 2>&1 || fail "stop failed: $(cat "$T/stop.log")"
grep -q "QEMU was told to quit\|powered off" "$T/stop.log" || fail "stop did not say how it ended"
wait_for 5 gone "$sup" || fail "supervisor still runs after stop"
gone "$qemu" || fail "QEMU still runs after stop"
[ ! -e "$VMRUN_RUN_DIR/bg" ] || fail "runtime directory left behind"
"$VMRUN_BIN" status bg >/dev/null && fail "status of a stopped VM exited 0"

# --force quits at once.
"$VMRUN_BIN" start --detach "$profile" >"$T/start2.log" 2>&1 || fail "second start --detach failed"
sup=$(cat "$VMRUN_RUN_DIR/bg/supervisor.pid")
STARTED_PIDS="$STARTED_PIDS $sup"
"$VMRUN_BIN" stop bg --force >"$T/stop2.log" 2>&1 || fail "stop --force failed"
grep -q "told to quit" "$T/stop2.log" || fail "stop --force did not quit: $(cat "$T/stop2.log")"
echo "PASS: detach, double start, status, list, stop"
