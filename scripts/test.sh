#!/bin/sh
# README's second command, and what CI runs: install everything, build, and
# run the whole test suite twice: a normal build with warnings as errors,
# and an AddressSanitizer + UndefinedBehaviorSanitizer build; then the
# libFuzzer targets for a bounded time with clang, and the real-kernel lab.
#
# Tests need root (hugepages, pinning other processes, the lab's QEMU):
# when not root, the suite runs through sudo.
#   VMRUN_TEST_QUICK=1   only the normal build (no sanitizer, fuzz or lab)
set -eu
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi

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
run_suite() {
    dir=$1
    shift
    runs=$((runs + 1))
    echo "=== $(basename "$dir"): ctest $*"
    ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 \
        --output-junit "$junit/$runs-$(basename "$dir").xml" "$@" || status=1
}
skips() {
    python3 "$VMRUN_TOP/tests/common/skips.py" "$VMRUN_TOP/tests/README.md" "$junit"/*.xml ||
        status=1
}

build_tree "$VMRUN_TOP/build" -DVMRUN_WERROR=ON -DVMRUN_TESTS=ON
if [ -n "${VMRUN_TEST_QUICK:-}" ]; then
    run_suite "$VMRUN_TOP/build" -LE lab
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
run_suite "$VMRUN_TOP/build" -LE lab
# Tests that boot a Linux guest under TCG (label "guest") prove the product
# end to end once, in the normal build; the sanitizer build runs everything
# else.
run_suite "$VMRUN_TOP/build-asan" -LE 'lab|guest'
run_suite "$VMRUN_TOP/build-fuzz" -L fuzz
run_suite "$VMRUN_TOP/build" -L lab
skips

if [ $status -eq 0 ]; then
    echo "all test suites passed"
else
    echo "some tests FAILED"
fi
exit $status
