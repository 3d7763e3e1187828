#!/bin/bash
# scripts/stack-root.sh's promises about a run, on the base root of SUITE:
# it ends with COMMAND's status and leaves no scratch directory, mount or
# process behind, whether it ends by itself, on SIGTERM (which COMMAND
# gets), with its inner or its outer half killed outright, or killed whole
# (then the next run cleans up); runs of one suite at the same time install
# packages without waiting for each other's apt lock, and what one
# downloads the next one has; the host's /run/vmrun is in the root at
# /run/vmrun, elsewhere with --host-run-vmrun, or not at all.
#
#   tests/stacks/stack_root.sh [SUITE]      (default trixie; as root)
#
# Prints PASS or FAIL lines; exit 0 when every check passed. Ends only the
# runs it started (by pid, or their process group) and what they left.
set -uo pipefail

suite=${1:-trixie}
top=$(cd "$(dirname "$0")/../.." && pwd)
stack=$top/scripts/stack-root.sh
runs=${VMRUN_STACKS_DIR:-/var/cache/vmrun/stacks}/.run
[ "$(id -u)" -eq 0 ] || {
    echo "FAIL: needs root (scripts/stack-root.sh)"
    exit 1
}
t0=$(date +%s)
w=$(mktemp -d /tmp/vmrun-stack-root.XXXXXX)
started=() # process groups of the runs started in the background
cleanup() {
    local g
    for g in "${started[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    rm -rf "$w"
}
trap cleanup EXIT

failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then
        echo "PASS: $what"
    else
        echo "FAIL: $what"
        failed=1
    fi
}

# run OPTIONS... -- COMMAND: a run in the foreground, its output in $w/out.
run() {
    "$stack" run --layer base "$@" >"$w/out" 2>&1
}

# The processes whose root is in DIR (or below it).
inside() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in "$1" | "$1"/*) echo "${p#/proc/}" ;; esac
    done
}
nothing_inside() { [ -z "$(inside "$1")" ]; }
gone() { [ ! -e "$1" ]; }

# A command that records its run's scratch directory (the inner half is
# its parent), leaves a process of its own behind in the root (as a VM's
# QEMU would), then waits; on SIGTERM it writes a mark and exits 3.
waiter='echo "$PPID" >/w/inner; setsid sleep 1000 </dev/null >/dev/null 2>&1 &
trap "echo term >/w/mark; exit 3" TERM; echo up >/w/up; while :; do sleep 0.1; done'

# start_waiter: a run of $waiter in the background, in a process group of
# its own; sets outer and inner (the two halves' pids) and scratch.
start_waiter() {
    rm -f "$w/inner" "$w/up" "$w/mark"
    setsid "$stack" run --layer base "$@" --bind "$w:/w" "$suite" -- sh -c "$waiter" \
        >"$w/out" 2>&1 &
    outer=$!
    started+=("$outer")
    local n=0
    while [ ! -s "$w/up" ] && [ $n -lt 600 ]; do
        sleep 0.1
        n=$((n + 1))
    done
    inner=$(cat "$w/inner" 2>/dev/null)
    scratch=$runs/$suite.$inner
}

# wait_for PID: until it is gone (60 s at most).
wait_for() {
    local n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt 600 ]; do
        sleep 0.1
        n=$((n + 1))
    done
}

# ---- a run that ends by itself ------------------------------------------
for mode in disk tmpfs; do
    opt=()
    [ $mode = tmpfs ] && opt=(--tmpfs)
    rc=0
    run "${opt[@]}" --bind "$w:/w" "$suite" -- sh -c 'echo "$PPID" >/w/inner; exit 7' || rc=$?
    scratch=$runs/$suite.$(cat "$w/inner")
    check "a run ($mode) exits with COMMAND's status (7; got $rc)" [ $rc = 7 ]
    check "... and removes its scratch directory" gone "$scratch"
    check "... and says nothing about mounts left in place" sh -c "! grep -q 'still mounted' '$w/out'"
done

# ---- SIGTERM ---------------------------------------------------------------
start_waiter --tmpfs
kill -TERM "$outer"
wait "$outer"
rc=$?
check "SIGTERM to a run reaches COMMAND" [ "$(cat "$w/mark" 2>/dev/null)" = term ]
check "... the run exits with COMMAND's status (3; got $rc)" [ $rc = 3 ]
check "... its scratch directory is removed" gone "$scratch"
check "... and what COMMAND left running in the root is ended" nothing_inside "$scratch/root"

# ---- one half killed outright ----------------------------------------------
start_waiter
kill -KILL "$inner"
wait "$outer"
check "the inner half killed: the outer one removes the scratch directory" gone "$scratch"
check "... and ends what ran in the root" nothing_inside "$scratch/root"

start_waiter --tmpfs
kill -KILL "$outer"
wait_for "$inner"
check "the outer half killed: COMMAND gets SIGTERM" [ "$(cat "$w/mark" 2>/dev/null)" = term ]
check "... the scratch directory is removed" gone "$scratch"
check "... and what ran in the root is ended" nothing_inside "$scratch/root"

# ---- killed whole: the next run cleans up ------------------------------------
start_waiter
kill -KILL -- "-$outer"
wait "$outer"
check "killed whole (SIGKILL to every process of the run), its scratch directory is left" \
    [ -d "$scratch" ]
check "... with the process COMMAND left running in the root" [ -n "$(inside "$scratch/root")" ]
run "$suite" -- true
check "the next run removes that scratch directory" gone "$scratch"
check "... and ends the process left in its root" nothing_inside "$scratch/root"

# ---- apt: two runs at once, and the next one ------------------------------------
# hello: small, with no dependencies a base root lacks. Taken out of the
# suite's cache first, so that both runs download it.
cache=${VMRUN_STACKS_DIR:-/var/cache/vmrun/stacks}/apt/$suite
rm -f "$cache"/hello_*.deb
install='apt-get -q -y --no-install-recommends install hello >/tmp/apt.log 2>&1; rc=$?
grep "^Need to get" /tmp/apt.log; exit $rc'
pids=()
for i in 1 2; do
    "$stack" run --layer base --tmpfs "$suite" -- sh -c "$install" >"$w/apt$i" 2>&1 &
    pids+=($!)
done
rc1=0 rc2=0
wait "${pids[0]}" || rc1=$?
wait "${pids[1]}" || rc2=$?
check "two runs at once both install a package (exit $rc1 and $rc2; apt's lock is each run's own)" \
    test "$rc1$rc2" = 00
cached() { compgen -G "$cache/hello_*.deb" >/dev/null; }
check "... and the suite's cache keeps it" cached
rc=0
run --tmpfs "$suite" -- sh -c "$install" || rc=$?
check "the next run installs it from the cache (exit $rc, $(cat "$w/out"))" \
    grep -q '^Need to get 0 B' "$w/out"

# ---- the host's /run/vmrun ---------------------------------------------------
mkdir -p /run/vmrun
host=$(stat -c %d:%i /run/vmrun)
run "$suite" -- stat -c %d:%i /run/vmrun
check "by default the root's /run/vmrun is the host's" [ "$(tail -n 1 "$w/out")" = "$host" ]
run --host-run-vmrun /run/vmrun-host "$suite" -- sh -c \
    'stat -c %d:%i /run/vmrun-host; [ ! -e /run/vmrun ] && echo own'
check "--host-run-vmrun /run/vmrun-host: the host's is there" [ "$(head -n 1 "$w/out")" = "$host" ]
check "... and the root has no /run/vmrun of the host's" [ "$(tail -n 1 "$w/out")" = own ]
run --host-run-vmrun none "$suite" -- sh -c '[ ! -e /run/vmrun ] && echo own'
check "--host-run-vmrun none: no /run/vmrun in the root" [ "$(tail -n 1 "$w/out")" = own ]

echo "stack_root: $(($(date +%s) - t0)) s"
exit $failed
