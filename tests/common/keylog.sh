# The key log of a test (tests/README.md, "Profile keys and their
# end-to-end tests"), for shell harnesses (sourced). ctest gives every test
# VMRUN_TEST_KEY_LOG; vmrun-test appends each profile it accepts to it
# (launcher/sys/keylog.h). The installed vmrun keeps no such log, so a
# harness that gives it a profile adds the profile with keylog_add.

# keylog_reset: this run's profiles only (called once, when the test starts).
keylog_reset() {
    [ -z "${VMRUN_TEST_KEY_LOG:-}" ] || : >"$VMRUN_TEST_KEY_LOG"
}

# keylog_add PROFILE: the test build reads the profile (print-cmd changes
# nothing) and so logs it.
keylog_add() {
    [ -n "${VMRUN_TEST_KEY_LOG:-}" ] && [ -n "${VMRUN_BIN:-}" ] || return 0
    "$VMRUN_BIN" print-cmd "$1" >/dev/null 2>&1 || true
}
