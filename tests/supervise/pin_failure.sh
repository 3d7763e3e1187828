#!/bin/bash
# Pinning that fails (a host CPU that does not exist here) keeps the VM from
# running: QEMU is quit, the reason printed, nothing left behind.
. "$(dirname "$0")/lib.sh"
profile=$(write_firmware_profile nopin 1)
cpu=$(($(nproc) + 60))
sed -i "s/\"pin\": { \"vcpus\": \[0\] }/\"pin\": { \"vcpus\": [$cpu] }/" "$profile"
grep -q "\"vcpus\": \[$cpu\]" "$profile" || fail "test setup: profile not rewritten"
start_fg nopin "$profile"
wait_exit "$SUP_PID" 30
[ "$code" = 1 ] || fail "supervisor exit code $code, expected 1"
grep -q "pinning failed, the VM will not run" "$T/nopin.log" || fail "reason not printed"
grep -q "host CPU\|CPU $cpu\|online" "$T/nopin.log" || fail "the CPU is not named"
grep -q "is running" "$T/nopin.log" && fail "the VM was reported running"
[ ! -e "$VMRUN_RUN_DIR/nopin" ] || fail "runtime directory left behind"
pgrep -f "$VMRUN_RUN_DIR/nopin/" >/dev/null && fail "a QEMU of this test still runs"
echo "PASS: failed pinning -> QEMU quit, exit 1, nothing left"
