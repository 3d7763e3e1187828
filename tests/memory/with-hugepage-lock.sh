#!/bin/bash
# Runs a command while holding the machine-wide hugepage lock, which every
# test that changes (or asserts on) this host's real hugepage pools holds:
# several build trees run their tests on one machine at a time, and a pool
# another tree is growing makes each one's figures wrong.
#   with-hugepage-lock.sh COMMAND [ARGS...]
# The lock file is /run/lock/vmrun-hugepages.lock (VMRUN_HP_LOCK moves it);
# the wait is bounded (VMRUN_HP_LOCK_WAIT seconds, default 1200). The lock's
# descriptor is closed in COMMAND (flock -o), so a VM the test leaves behind
# cannot keep the lock held.
set -u
lock=${VMRUN_HP_LOCK:-/run/lock/vmrun-hugepages.lock}
wait_s=${VMRUN_HP_LOCK_WAIT:-1200}
if ! flock -n -o "$lock" true 2>/dev/null; then
    echo "waiting (up to $wait_s s) for $lock: another test is using this host's hugepages"
fi
flock -o -w "$wait_s" -E 200 "$lock" "$@"
rc=$?
if [ $rc = 200 ]; then
    echo "FAIL: waited $wait_s s for the machine-wide hugepage lock $lock; the test did not run" >&2
    exit 1
fi
exit $rc
