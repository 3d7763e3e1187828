#!/bin/bash
# vCPU i runs on pin.vcpus[i] and every other QEMU thread on pin.emulator,
# as the kernel reports it; and the vCPUs were pinned while the VM was still
# paused: the supervisor holds before `cont` (test hook), and at that point
# the vCPU threads are already pinned and have not run.
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
profile=$(write_firmware_profile pin 1)
# Two vCPUs, crossed over: vCPU 0 on CPU 1, vCPU 1 on CPU 0.
sed -i 's/"cores": 1, "pin": { "vcpus": \[0\] }/"cores": 2, "pin": { "vcpus": [1, 0], "emulator": [0] }/' "$profile"
VMRUN_TEST_HOLD_BEFORE_CONT=3 "$VMRUN_BIN" start "$profile" >"$T/pin.log" 2>&1 &
SUP_PID=$!
STARTED_PIDS="$STARTED_PIDS $SUP_PID"
wait_for 30 state_is pin pinned || fail "never saw the paused, pinned state"
qemu=$(qemu_pid_of pin)
"$VMRUN_BIN" status pin --json >"$T/paused.json"
for i in 0 1; do
    tid=$(jq -r ".vcpus[$i].thread" "$T/paused.json")
    want=$(jq -r ".vcpus[$i].pin" "$T/paused.json")
    got=$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$qemu/task/$tid/status")
    [ "$got" = "$want" ] || fail "paused: vCPU $i on '$got', expected '$want'"
    # utime + stime of a vCPU thread that never ran guest code.
    ticks=$(awk '{print $14 + $15}' "/proc/$qemu/task/$tid/stat")
    [ "$ticks" -le 1 ] || fail "vCPU $i ran ($ticks ticks) before cont"
done
wait_for 30 is_running pin || fail "the VM did not reach running"
"$VMRUN_BIN" status pin --json >"$T/status.json"
jq -e '.vcpus[0].cpus_allowed == "1" and .vcpus[1].cpus_allowed == "0"' "$T/status.json" \
    >/dev/null || fail "vCPU pinning: $(jq -c .vcpus "$T/status.json")"
for tid in $(ls "/proc/$qemu/task"); do
    if jq -e ".vcpus | map(.thread) | index($tid)" "$T/status.json" >/dev/null; then
        continue
    fi
    got=$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$qemu/task/$tid/status")
    [ "$got" = 0 ] || fail "emulator thread $tid on '$got', expected '0'"
done
kill -TERM "$SUP_PID"
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "supervisor exit code $code"
echo "PASS: vCPUs and emulator threads pinned before the VM ran"
