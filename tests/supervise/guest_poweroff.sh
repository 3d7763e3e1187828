#!/bin/bash
# A guest that powers itself off ends the supervisor with exit 0.
. "$(dirname "$0")/lib.sh"
need_guest
profile=$(write_profile self 3)
start_fg self "$profile"
wait_exit "$SUP_PID" 90
[ "$code" = 0 ] || fail "supervisor exit code $code, expected 0"
grep -q "the guest powered off" "$T/self.log" || fail "outcome not reported"
[ ! -e "$VMRUN_RUN_DIR/self" ] || fail "runtime directory left behind"
echo "PASS: guest power-off ends the supervisor with 0"
