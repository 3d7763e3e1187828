#!/bin/sh
# README's second command, and what CI runs: install everything, build, and
# run the whole test suite on this machine and on the stacks users run
# (Debian 13 and unstable roots, scripts/stack-root.sh):
#
#   this machine   a normal build with warnings as errors (every test but
#                  the lab), an AddressSanitizer + UndefinedBehaviorSanitizer
#                  build (the same but the Linux guests), the libFuzzer
#                  targets for a bounded time with clang, and the lab
#   sid            Debian unstable, the newest QEMU, OVMF, gcc, clang and
#                  libxml2: a -Werror build and every test but the lab
#   trixie         Debian 13: a -Werror build and the tests whose subject
#                  differs between stacks (below); and README's first
#                  command on a freshly installed Debian 13, as a new user
#                  (tests/stacks/readme_demo.sh)
#   bookworm       README's first command on a freshly installed Debian 12
#                  (this machine is one, but not a fresh one)
#
# The roots run their own compiler, libraries, QEMU, OVMF, swtpm and guest
# kernel, on this machine's kernel, /dev/kvm and hugepages; a root that
# cannot be made or entered, or a build that fails, fails the suite like a
# failed test. At the end a table says what passed on each leg
# (build/stacks.md), and README.md's table between its stack-matrix markers
# is written from it.
#
# Tests need root (hugepages, pinning other processes, the lab's QEMU):
# when not root, the suite runs through sudo.
#   VMRUN_TEST_QUICK=1       only the normal build (no sanitizer, fuzz, lab
#                            or other stacks)
#   VMRUN_TEST_STACKS=LIST   the roots to run in (default "sid trixie")
set -eu
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi

STACKS=${VMRUN_TEST_STACKS-sid trixie}

# The tests whose subject is the same on every stack: vmrun's own logic on
# simulated hosts (fake sysfs, injected faults), races and the hugepage pool
# of this machine's kernel, which every root shares. This machine's legs
# and the newest stack run them; trixie, between the two, does not.
SAME_ON_EVERY_STACK='^(pci_test|faults_.*|handoff_fake|priv_attack_profile_race|supervise_runtime_race|memory_fake|cpu_fake|memory_hugepages_real|memory_e2e_preference|memory_e2e_hugepages_1g|memory_e2e_sudo_user_1G)$'

"$VMRUN_TOP/scripts/install-deps.sh"
"$VMRUN_TOP/scripts/build-guest.sh"
"$VMRUN_TOP/scripts/build-guest.sh" --uefi
if [ -z "${VMRUN_TEST_QUICK:-}" ]; then
    "$VMRUN_TOP/scripts/build-guest.sh" --lab
fi

status=0
# Each run's results go to a JUnit file as well: its skips are listed at the
# end, and a skip tests/README.md does not allow fails the suite.
junit="$VMRUN_TOP/build/junit"
rm -rf "$junit"
mkdir -p "$junit"
runs=0
legs=""
# run_suite LEG TAG BUILD_DIR CTEST_ARGS...: one ctest run on this machine,
# its output in BUILD_DIR/ctest-TAG.log, recorded in BUILD_DIR/leg-TAG.txt
# for the table.
run_suite() {
    leg=$1
    tag=$2
    dir=$3
    shift 3
    echo "=== $leg ($(basename "$dir")): ctest $*"
    started=$(date +%s)
    runs=$((runs + 1))
    # (set -e would end the left side at a failing ctest, before its status
    # is written.)
    { rc=0
        ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 \
            --output-junit "$junit/$runs-$tag.xml" "$@" 2>&1 || rc=$?
        echo $rc >"$dir/ctest-$tag.rc"; } | tee "$dir/ctest-$tag.log"
    [ "$(cat "$dir/ctest-$tag.rc")" = 0 ] || status=1
    "$VMRUN_TOP/scripts/stack-leg.sh" --record "$leg" "$dir/leg-$tag.txt" "$dir/ctest-$tag.log" \
        $(($(date +%s) - started)) "ctest $*"
    legs="$legs $dir/leg-$tag.txt"
    echo "=== $leg: $(($(date +%s) - started)) s"
}

# stack LEG WHAT CTEST_ARGS...: a -Werror build and ctest in the root of
# suite LEG (scripts/stack-leg.sh), against its QEMU and firmware; WHAT
# says in words which tests CTEST_ARGS select.
stack() {
    leg=$1
    what=$2
    shift 2
    started=$(date +%s)
    rm -f "$VMRUN_TOP/build-stack-$leg/leg.txt"
    rc=0
    runs=$((runs + 1))
    "$VMRUN_TOP/scripts/stack-root.sh" run "$leg" --bind "$VMRUN_TOP" --cd "$VMRUN_TOP" \
        --env "VMRUN_LEG_WHAT=$what" -- scripts/stack-leg.sh "$leg" \
        --output-junit "$junit/$runs-stack-$leg.xml" "$@" || rc=$?
    if [ ! -f "$VMRUN_TOP/build-stack-$leg/leg.txt" ]; then
        # The root itself could not be made or entered.
        mkdir -p "$VMRUN_TOP/build-stack-$leg"
        printf 'leg: %s\nresult: the %s root could not be made or entered (exit %s)\n' \
            "$leg" "$leg" "$rc" >"$VMRUN_TOP/build-stack-$leg/leg.txt"
    fi
    [ $rc -eq 0 ] || status=1
    echo "=== $leg: $(($(date +%s) - started)) s in all (the root made or refreshed, the build, the tests)"
    legs="$legs $VMRUN_TOP/build-stack-$leg/leg.txt"
}

# readme_demo SUITE: README's first command on a fresh SUITE, recorded.
readme_demo() {
    started=$(date +%s)
    mkdir -p "$VMRUN_TOP/build-stack-$1"
    record=$VMRUN_TOP/build-stack-$1/leg-readme-demo.txt
    rm -f "$record"
    "$VMRUN_TOP/tests/stacks/readme_demo.sh" "$1" "$record" || status=1
    [ -f "$record" ] || printf 'leg: %s, freshly installed\nresult: failed to run\n' "$1" >"$record"
    legs="$legs $record"
    echo "=== README's first command on a fresh $1: $(($(date +%s) - started)) s"
}

skips() {
    python3 "$VMRUN_TOP/tests/common/skips.py" "$VMRUN_TOP/tests/README.md" "$junit"/*.xml ||
        status=1
}

build_tree "$VMRUN_TOP/build" -DVMRUN_WERROR=ON -DVMRUN_TESTS=ON
if [ -n "${VMRUN_TEST_QUICK:-}" ]; then
    run_suite "this machine" normal "$VMRUN_TOP/build" -LE 'lab|package'
    skips
    exit $status
fi

build_tree "$VMRUN_TOP/build-asan" -DVMRUN_WERROR=ON -DVMRUN_SANITIZE=ON
CC=clang build_tree "$VMRUN_TOP/build-fuzz" -DVMRUN_WERROR=ON -DVMRUN_FUZZ=ON

# The lab must run here (skipping is only for quick runs without its guest).
# It boots a Linux guest under TCG and needs both cores, so it runs on its
# own, once, from the normal build.
VMRUN_LAB=1
export VMRUN_LAB
run_suite "this machine" normal "$VMRUN_TOP/build" -LE 'lab|package'
# Tests that boot a Linux guest under TCG (label "guest") prove the product
# end to end once, in the normal build; the sanitizer build runs everything
# else.
run_suite "this machine, ASan + UBSan" asan "$VMRUN_TOP/build-asan" -LE 'lab|guest'
# Each fuzz target runs for a minute on one core: two at a time.
run_suite "this machine, fuzzing (clang)" fuzz "$VMRUN_TOP/build-fuzz" -L fuzz -j 2
# scripts/stack-root.sh itself: a run leaves nothing behind however it
# ends, runs at once share apt's cache without waiting for each other.
# shellcheck disable=SC2086 # the first suite of the list
first_stack=$(echo $STACKS | cut -d' ' -f1)
if [ -n "$first_stack" ]; then
    started=$(date +%s)
    "$VMRUN_TOP/tests/stacks/stack_root.sh" "$first_stack" || status=1
    echo "=== scripts/stack-root.sh's runs: $(($(date +%s) - started)) s"
fi
for s in $STACKS; do
    case $s in
    trixie)
        stack trixie "every test but the lab and those the same on every stack" \
            -LE 'lab|package' -E "$SAME_ON_EVERY_STACK"
        readme_demo trixie
        ;;
    *) stack "$s" "every test but the lab" -LE 'lab|package' ;;
    esac
done
# README's first command on a fresh Debian 12 too: the host is one, but
# one that has everything installed. (Its root is the package test's.)
if [ -n "$first_stack" ]; then
    readme_demo bookworm
fi
run_suite "this machine, lab" lab "$VMRUN_TOP/build" -L lab
# The Debian package: built, linted, installed, upgraded and purged in
# Debian 12 and 13 roots (tests/package/), once.
run_suite "this machine, Debian package" package "$VMRUN_TOP/build" -L package

# What passed where: build/stacks.md, and README's table.
# shellcheck disable=SC2086 # a list of files
"$VMRUN_TOP/scripts/stack-leg.sh" --table $legs | tee "$VMRUN_TOP/build/stacks.md"
# shellcheck disable=SC2086
"$VMRUN_TOP/scripts/stack-leg.sh" --readme "$VMRUN_TOP/README.md" $legs || status=1
skips

if [ $status -eq 0 ]; then
    echo "all test suites passed"
else
    echo "some tests FAILED"
fi
exit $status
