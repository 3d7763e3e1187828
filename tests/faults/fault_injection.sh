#!/bin/bash
# Fault injection through the whole start path, on a simulated host.
#
# For every journaled step N of `vmrun start`:
#   - kill: VMRUN_TEST_KILL_AFTER=N makes the supervisor die with SIGKILL
#     right after step N's change; `vmrun recover` must then leave the
#     simulated host exactly as it was before the start (a tree diff);
#   - fail: VMRUN_TEST_FAIL_AFTER=N injects an error right after step N; the
#     supervisor's own rollback must leave the host exactly as it was.
# The loop ends at the first N past the last step (the start then runs to
# QEMU, which cannot open the simulated devices and fails: that rollback is
# checked too).
#
# FAULT_HUGEPAGES=1 adds the guest memory steps on the machine's real
# hugepage pool: the simulated host's sys/devices/system/node is a link to
# the real one, so the per-node counters are the kernel's, and as the
# simulated mount table has no hugetlbfs, vmrun mounts a private one (also a
# journaled step). Each recovery must then also leave the real pool and the
# mount table as they were.
set -euo pipefail

: "${VMRUN_BIN:?}" "${VMRUN_FAKE_HOST:?}" "${VMRUN_SYSFS_SIM:?}"
. "$(dirname "$0")/../common/keylog.sh"
keylog_reset
T=$(mktemp -d /tmp/vmrun-faults.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; } >&2; done
    exit 1
}

"$VMRUN_FAKE_HOST" "$T/host" >/dev/null
memory='"memory": { "size": "64M" }'
if [ -n "${FAULT_HUGEPAGES:-}" ]; then
    [ -d /sys/devices/system/node/node0/hugepages/hugepages-2048kB ] || { echo "SKIP: no 2 MiB hugepages"; exit 77; }
    mkdir -p "$T/host/sys/devices/system"
    ln -s /sys/devices/system/node "$T/host/sys/devices/system/node"
    ln -s /sys/devices/system/cpu "$T/host/sys/devices/system/cpu"
    pool=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
    saved_pool=$(cat "$pool")
    trap 'echo "$saved_pool" >"$pool"; rm -rf "$T"' EXIT
    # Pages of someone else's in the pool, which vmrun must leave alone.
    echo $((saved_pool + 4)) >"$pool"
    # 64 MiB more than the pool holds free, so that the start must grow it
    # (a journaled step) whatever free pages the host already has.
    free=$(cat /sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages)
    memory='"memory": { "size": "'$((64 + 2 * free))'M", "hugepages": "2M", "numa_node": 0 }'
fi
# A difference in the real pool alone, when the test runs without the
# machine-wide lock's protection from others (with-hugepage-lock.sh):
busy_host_hint() {
    if [ -n "${FAULT_HUGEPAGES:-}" ] && [ "$(grep -c '^[-+]pool:' "$T/diff")" -gt 0 ] &&
        [ "$(grep -c '^[-+][^-+]' "$T/diff")" -eq "$(grep -c '^[-+]pool:' "$T/diff")" ]; then
        echo " (only the real hugepage pool differs: if this run holds /run/lock/vmrun-hugepages.lock, something else on this host changed the pool meanwhile)"
    fi
}
export VMRUN_SYSFS_ROOT=$T/host/sys VMRUN_PROCFS_ROOT=$T/host/proc VMRUN_DEV_ROOT=$T/host/dev
export VMRUN_RUN_DIR=$T/run VMRUN_STATE_DIR=$T/state
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:verify_asan_link_order=0

snapshot() {
    (cd "$T/host" && find . -printf '%p %y %l %m\n' | LC_ALL=C sort &&
        find . -type f ! -name '.sim_*' -print0 | LC_ALL=C sort -z | xargs -0 md5sum)
    if [ -n "${FAULT_HUGEPAGES:-}" ]; then
        echo "pool: $(cat /sys/devices/system/node/node0/hugepages/hugepages-2048kB/{nr,free,surplus}_hugepages)"
        echo "mounts: $(grep -c "$T" /proc/self/mountinfo || true)"
    fi
}

if [ -n "${FAULT_HANDOFF:-}" ]; then
    : "${VMRUN_SOURCE_DIR:?}"
    S=$T/systemd
    mkdir -p "$S/units"
    printf '#!/bin/bash\nexec %q --state %q "$@"\n' \
        "$VMRUN_SOURCE_DIR/tests/handoff/systemctl-standin.sh" "$S" >"$T/systemctl"
    chmod +x "$T/systemctl"
    printf 'alias=display-manager.service\nholds=%s\nmode=fakeproc:%s\n' \
        "$T/host/dev/dri/card0" "$T/host/proc" >"$S/units/fake-dm.service"
    "$T/systemctl" start fake-dm.service
    export VMRUN_TEST_SYSTEMCTL=$T/systemctl
    cat >"$T/faults.json" <<EOT
{
  "name": "faults",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  $memory,
  "pci": [ { "address": "05:00.0", "reset_method": "bus" }, { "address": "05:00.1" } ],
  "handoff": { "display_manager": "fake-dm.service", "timeout": 5 },
  "serial": "none"
}
EOT
else
# The NIC (up: overridden by --force, it cannot lose data), the edu device
# (no driver: stays without one) and the idle NVMe: three groups.
cat >"$T/faults.json" <<EOT
{
  "name": "faults",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  $memory,
  "pci": [ { "address": "03:00.0" }, { "address": "04:00.0" }, { "address": "08:00.0" } ],
  "serial": "none"
}
EOT
fi

vmrun_sim() {
    LD_PRELOAD=$VMRUN_SYSFS_SIM "$VMRUN_BIN" "$@"
}

snapshot >"$T/before"
steps=0
for n in $(seq 1 40); do
    # kill after step n
    rc=0
    VMRUN_TEST_KILL_AFTER=$n vmrun_sim start --force "$T/faults.json" >"$T/kill-$n.log" 2>&1 || rc=$?
    if [ $rc -ne 137 ]; then
        # Past the last step: the start went all the way and failed at QEMU.
        [ $rc -eq 1 ] || fail "step $n: start exited $rc, expected 1 (QEMU cannot run here)"
        snapshot >"$T/after"
        diff -u "$T/before" "$T/after" >"$T/diff" || fail "full start's rollback: $(head -40 "$T/diff")$(busy_host_hint)"
        [ ! -e "$VMRUN_RUN_DIR/faults" ] || fail "full start left its runtime directory"
        break
    fi
    steps=$n
    [ -f "$VMRUN_RUN_DIR/faults/journal" ] || fail "step $n: no journal after the kill"
    vmrun_sim recover faults >"$T/recover-$n.log" 2>&1 || fail "step $n: recover failed"
    grep -q "undo $n:" "$T/recover-$n.log" || fail "step $n: recover did not report step $n"
    snapshot >"$T/after"
    diff -u "$T/before" "$T/after" >"$T/diff" || fail "kill after step $n, recover: $(head -40 "$T/diff")$(busy_host_hint)"
    [ ! -e "$VMRUN_RUN_DIR/faults" ] || fail "step $n: recover left the runtime directory"

    # fail after step n
    rc=0
    VMRUN_TEST_FAIL_AFTER=$n vmrun_sim start --force "$T/faults.json" >"$T/fail-$n.log" 2>&1 || rc=$?
    [ $rc -eq 1 ] || fail "step $n: injected failure exited $rc, expected 1"
    grep -q "injected failure after journal step $n" "$T/fail-$n.log" || fail "step $n: failure not reported"
    snapshot >"$T/after"
    diff -u "$T/before" "$T/after" >"$T/diff" || fail "failure after step $n: $(head -40 "$T/diff")$(busy_host_hint)"
    [ ! -e "$VMRUN_RUN_DIR/faults" ] || fail "step $n: rollback left the runtime directory"
done
[ "$steps" -ge "${FAULT_MIN_STEPS:-3}" ] || fail "only $steps journaled steps, expected at least ${FAULT_MIN_STEPS:-3}"
echo "PASS: $steps journaled steps, each killed and failed; host restored every time"
