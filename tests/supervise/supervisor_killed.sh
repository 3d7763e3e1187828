#!/bin/bash
# The supervisor killed with SIGKILL: QEMU dies with it (PR_SET_PDEATHSIG),
# the runtime directory is reported as stale, never as running, and status
# cleans it up.
. "$(dirname "$0")/lib.sh"
profile=$(write_firmware_profile orphan 5)
start_fg orphan "$profile"
wait_for 30 is_running orphan || fail "the VM did not reach running"
qemu=$(qemu_pid_of orphan)
kill -KILL "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
wait_for 5 gone "$qemu" || fail "QEMU $qemu outlived its supervisor"
state=$("$VMRUN_BIN" list --json | jq -r '.vms[] | select(.name=="orphan") | .state')
[ "$state" = stale ] || fail "list says '$state', expected stale"
[ ! -e "$VMRUN_RUN_DIR/orphan" ] || fail "list as root did not clean the stale directory"

# Same again, cleaned by status this time.
start_fg orphan "$profile"
wait_for 30 is_running orphan || fail "the VM did not reach running again"
kill -KILL "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
out=$("$VMRUN_BIN" status orphan) && fail "status of a dead VM exited 0"
echo "$out" | grep -q "stale" || fail "status did not say stale: $out"
[ ! -e "$VMRUN_RUN_DIR/orphan" ] || fail "status as root did not clean the stale directory"
echo "PASS: supervisor SIGKILL takes QEMU with it; stale state reported and cleaned"
