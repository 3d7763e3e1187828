#!/bin/bash
# QEMU killed under a running supervisor: the supervisor reports it, cleans
# up and exits non-zero.
. "$(dirname "$0")/lib.sh"
profile=$(write_firmware_profile victim 5)
start_fg victim "$profile"
wait_for 30 is_running victim || fail "the VM did not reach running"
kill -KILL "$(qemu_pid_of victim)"
wait_exit "$SUP_PID" 20
[ "$code" = 1 ] || fail "supervisor exit code $code, expected 1"
grep -q "QEMU was killed by signal 9" "$T/victim.log" || fail "reason not reported"
[ ! -e "$VMRUN_RUN_DIR/victim" ] || fail "runtime directory left behind"
echo "PASS: QEMU killed -> supervisor exits 1 after cleanup"
