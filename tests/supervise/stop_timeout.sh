#!/bin/bash
# A guest that ignores ACPI (firmware only): the timeout ends in quit. And a
# QEMU that cannot answer (stopped with SIGSTOP) is killed after quit.
. "$(dirname "$0")/lib.sh"
profile=$(write_firmware_profile noacpi 2)
start_fg noacpi "$profile"
wait_for 30 is_running noacpi || fail "the VM did not reach running"
kill -TERM "$SUP_PID"
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "supervisor exit code $code, expected 0"
grep -q "did not power off within the timeout" "$T/noacpi.log" || fail "no timeout reported"
grep -q "QEMU was told to quit" "$T/noacpi.log" || fail "no quit reported"
[ ! -e "$VMRUN_RUN_DIR/noacpi" ] || fail "runtime directory left behind"

profile=$(write_firmware_profile frozen 1)
start_fg frozen "$profile"
wait_for 30 is_running frozen || fail "the second VM did not reach running"
qemu=$(qemu_pid_of frozen)
kill -STOP "$qemu"
kill -TERM "$SUP_PID"
wait_exit "$SUP_PID" 60
[ "$code" = 0 ] || fail "supervisor exit code $code, expected 0"
grep -q "did not quit within" "$T/frozen.log" || fail "no kill reported"
grep -q "was killed" "$T/frozen.log" || fail "outcome not reported"
gone "$qemu" || fail "QEMU $qemu still runs"
[ ! -e "$VMRUN_RUN_DIR/frozen" ] || fail "runtime directory left behind"
echo "PASS: timeout -> quit, and quit -> SIGKILL"
