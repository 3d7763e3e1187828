# shellcheck shell=bash
# The simulated host of the handoff tests (handoff_fake.sh,
# handoff_simpledrm.sh), sourced: a fresh tree from
# tests/pci/make-fake-host.sh (with $HANDOFF_HOST_ARGS, e.g. --simpledrm)
# in a directory of the test's own under /run, vmrun-test pointed at it
# with the sysfs simulator preloaded, and the systemctl stand-in as its
# systemd with a display manager holding /dev/dri/card0. Gives fail, ok,
# vmrun_sim, snapshot, same_as, driver, val, profile, journal_ops,
# dm_conf, dm_running and T, H, GPU (05:00.0), AUDIO (05:00.1), S.
: "${VMRUN_BIN:?}" "${VMRUN_FAKE_HOST:?}" "${VMRUN_SYSFS_SIM:?}" "${VMRUN_SOURCE_DIR:?}"
# Under /run: profiles started "through sudo" must sit in directories root
# controls (/tmp is world-writable).
T=$(mktemp -d /run/vmrun-handoff.XXXXXX)
HOLDER=
cleanup() {
    [ -n "$HOLDER" ] && kill -KILL "$HOLDER" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
PASSED=0
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; } >&2; done
    exit 1
}
ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $*"
}

# shellcheck disable=SC2086 # options, split on white space
"$VMRUN_FAKE_HOST" ${HANDOFF_HOST_ARGS:-} "$T/host" >/dev/null || fail "make-fake-host"
H=$T/host
# shellcheck disable=SC2034 # for the scripts that source this
GPU=$H/sys/bus/pci/devices/0000:05:00.0
# shellcheck disable=SC2034
AUDIO=$H/sys/bus/pci/devices/0000:05:00.1
export VMRUN_SYSFS_ROOT=$H/sys VMRUN_PROCFS_ROOT=$H/proc VMRUN_DEV_ROOT=$H/dev
export VMRUN_RUN_DIR=$T/run VMRUN_STATE_DIR=$T/state VMRUN_TEST_SYSFS_TIMEOUT_MS=3000
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:verify_asan_link_order=0
unset SUDO_UID SUDO_GID SUDO_USER PKEXEC_UID

# systemd: the stand-in, its state outside the simulated tree; the display
# manager "fake-dm.service" (display-manager.service) holds card0 through a
# simulated /proc entry in its unit's cgroup.
S=$T/systemd
mkdir -p "$S/units" "$S/user/nobody"
printf '#!/bin/bash\nexec %q --state %q "$@"\n' "$VMRUN_SOURCE_DIR/tests/handoff/systemctl-standin.sh" \
    "$S" >"$T/systemctl"
chmod +x "$T/systemctl"
export VMRUN_TEST_SYSTEMCTL=$T/systemctl
# dm_conf [MORE-LINES]: (re)writes the display manager's unit.
# shellcheck disable=SC2120
dm_conf() {
    printf 'alias=display-manager.service\nholds=%s\nmode=fakeproc:%s\n%s' "$H/dev/dri/card0" \
        "$H/proc" "${1:-}" >"$S/units/fake-dm.service"
}
dm_conf
"$T/systemctl" start fake-dm.service || fail "the stand-in display manager does not start"
dm_running() { [ -f "$S/run/fake-dm.service.pid" ]; }
dm_running || fail "the stand-in display manager is not running"

vmrun_sim() { LD_PRELOAD=$VMRUN_SYSFS_SIM "$VMRUN_BIN" "$@"; }
snapshot() {
    (cd "$H" && find . -name '.sim_*' -prune -o -printf '%p %y %l\n' | LC_ALL=C sort &&
        find . -type f ! -name '.sim_*' -print0 | LC_ALL=C sort -z | xargs -0 md5sum)
}
# driver DEVICE-DIR: the name of its driver, "none" without one.
driver() {
    local l
    if l=$(readlink "$1/driver" 2>/dev/null); then basename "$l"; else echo none; fi
}
val() { tr -d '\n' <"$1"; }
# profile NAME HANDOFF-JSON [GPU-EXTRA-JSON]
profile() {
    cat >"$T/$1.json" <<EOT
{
  "name": "$1",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64" },
  "memory": { "size": "64M" },
  "pci": [ { "address": "05:00.0"${3:+, $3} }, { "address": "05:00.1" } ],
  "handoff": $2,
  "serial": "none"
}
EOT
    echo "$T/$1.json"
}
# hold NODE...: a process outside the display manager (sleep, pid in
# HOLDER) with the nodes open, seen through the simulated /proc.
hold() {
    # shellcheck disable=SC2016 # for the inner bash
    bash -c 'for n; do exec {fd}<"$n"; done; exec sleep 1000000' holder "$@" &
    HOLDER=$!
    ln -s "/proc/$HOLDER" "$H/proc/$HOLDER"
    for _ in $(seq 50); do
        holds_all "$@" && return 0
        sleep 0.1
    done
    fail "the holder $HOLDER did not open $*"
}
holds_all() {
    local n f found
    for n in "$@"; do
        found=1
        for f in "/proc/$HOLDER/fd/"*; do
            [ "$(readlink "$f")" = "$n" ] && found=0
        done
        [ $found = 0 ] || return 1
    done
}
# start_refused NAME PROFILE WHAT: `vmrun start` must exit 1 (its output
# in T/NAME.log), with no systemctl call but `show`.
start_refused() {
    : >"$S/calls.log"
    local rc=0
    vmrun_sim start "$2" >"$T/$1.log" 2>&1 || rc=$?
    [ $rc -eq 1 ] || fail "$3: exit $rc, expected 1"
    grep -Eq "^(stop|start)" "$S/calls.log" && fail "$3: systemctl was asked to stop or start before the refusal"
    return 0
}
# handed_over NAME PROFILE OPS: `vmrun start PROFILE` (VM NAME), killed by
# the test build right after its last host step (as many as OPS, the
# journal's operations in order, lists), its output in T/start-NAME.log.
handed_over() {
    local rc=0 n ops
    n=$(wc -w <<<"$3")
    VMRUN_TEST_KILL_AFTER=$n vmrun_sim start "$2" >"$T/start-$1.log" 2>&1 || rc=$?
    [ $rc -eq 137 ] || fail "start with KILL_AFTER=$n exited $rc, expected 137 (SIGKILL)"
    ops=$(journal_ops "$1")
    [ "$ops" = "$3 " ] || fail "the journal lists '$ops', expected '$3 '"
}
journal_ops() { jq -r .op "$T/run/$1/journal" | tr '\n' ' '; }
same_as() {
    snapshot >"$T/now"
    diff -u "$1" "$T/now" >"$T/diff" || fail "$2: the host is not as before: $(head -30 "$T/diff")"
}

