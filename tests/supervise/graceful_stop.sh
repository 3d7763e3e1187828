#!/bin/bash
# The demo guest honours ACPI: Ctrl-C (SIGINT) powers it off, QEMU exits by
# guest power-off, the supervisor exits 0 and leaves no runtime directory.
. "$(dirname "$0")/lib.sh"
need_guest
profile=$(write_profile acpi 0)
start_fg acpi "$profile"
wait_for 30 is_running acpi || fail "the VM did not reach running"
qemu=$(qemu_pid_of acpi)
# Let the guest boot far enough to listen for the power button (seconds on
# an idle host; the bound is for a loaded one).
wait_for 180 grep -q "vmrun demo guest" "$VMRUN_STATE_DIR/acpi/serial.log" ||
    fail "no banner on the serial console"
kill -INT "$SUP_PID"
wait_exit "$SUP_PID" 90
[ "$code" = 0 ] || fail "supervisor exit code $code, expected 0"
grep -q "powered off on the ACPI request" "$T/acpi.log" || fail "not stopped through ACPI"
gone "$qemu" || fail "QEMU $qemu still runs"
[ ! -e "$VMRUN_RUN_DIR/acpi" ] || fail "runtime directory left behind"
echo "PASS: graceful stop through ACPI"
