#!/bin/bash
# One leg of the stack matrix (scripts/test.sh): on the machine it runs on —
# inside a Debian root made by scripts/stack-root.sh, or any Debian
# machine — build vmrun with warnings as errors and run its tests against
# that machine's compiler, libraries, QEMU and firmware.
#
#   scripts/stack-leg.sh NAME [CTEST ARGUMENTS...]
#       Builds in build-stack-NAME (the demo and UEFI test guests too, into
#       build-stack-NAME/guests, from that release's kernel package) and
#       runs ctest with the arguments given (default: everything but the
#       lab). Exit status 0 when the build and every test passed.
#       $VMRUN_LEG_WHAT says in words what the arguments select (the table
#       shows it).
#   scripts/stack-leg.sh --record NAME RECORD CTEST_LOG SECONDS [WHAT]
#       Records a ctest run made otherwise (the host's suites) the same way,
#       into the file RECORD.
#   scripts/stack-leg.sh --table LEG_FILE...
#       The Markdown table of the legs recorded in the files given.
#   scripts/stack-leg.sh --readme README LEG_FILE...
#       That table, written into README between the lines
#       `<!-- stack-matrix:begin -->` and `<!-- stack-matrix:end -->`.
#
# A leg's record, BUILD_DIR/leg.txt, one `key: value` a line: the stack
# (`distribution`, `qemu`, `ovmf`, `kernel`, `gcc`, `clang`, `libxml2`,
# `swtpm`), what ran (`what`, `tests`, `passed`, `failed`, `skipped`,
# `failures`, `seconds`) and `result`: passed, failed, or why it could not
# run ("build failed", "the test guests could not be built").
set -euo pipefail

. "$(dirname "$0")/lib.sh"

version_of() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"
}

# facts NAME WHAT: the stack this machine is.
facts() {
    echo "leg: $1"
    echo "what: $2"
    echo "distribution: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "qemu: $(qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')"
    echo "ovmf: $(version_of ovmf)"
    echo "kernel: $(uname -r)"
    echo "gcc: $(gcc -dumpfullversion)"
    echo "clang: $(clang -dumpversion 2>/dev/null || echo none)"
    echo "libxml2: $(pkg-config --modversion libxml-2.0)"
    echo "swtpm: $(version_of swtpm)"
}

# results CTEST_LOG: what ran, from ctest's summary ("97% tests passed, 3
# tests failed out of 98"; skipped tests are listed under "The following
# tests did not run:").
results() {
    local total failed skipped failures
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$1" | tail -n 1)
    failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of.*/\1/p' "$1" | tail -n 1)
    skipped=$(sed -n '/The following tests did not run:/,/^$/p' "$1" | grep -c '^[[:space:]]*[0-9]* - ' || true)
    failures=$(sed -n '/The following tests FAILED:/,/^[^[:space:]]/p' "$1" |
        sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\).*/\1/p' | tr '\n' ' ')
    echo "tests: ${total:-0}"
    echo "failed: ${failed:-0}"
    echo "skipped: $skipped"
    echo "passed: $((${total:-0} - ${failed:-0} - skipped))"
    echo "failures: ${failures% }"
}

# field KEY FILE: a record's value, its "|" escaped for a Markdown table.
field() {
    sed -n "s/^$1: //p" "$2" | head -n 1 | sed 's/|/\\|/g'
}

table() {
    echo "| leg | distribution | QEMU | OVMF | kernel | gcc | clang | libxml2 | what ran | result |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    local f result
    for f in "$@"; do
        [ -f "$f" ] || continue
        result=$(field result "$f")
        if [ "$result" = passed ] || [ "$result" = failed ]; then
            result="$result: $(field passed "$f") of $(field tests "$f") passed"
            [ "$(field skipped "$f")" = 0 ] || result="$result, $(field skipped "$f") skipped"
            [ -z "$(field failures "$f")" ] || result="$result; failed: $(field failures "$f")"
        fi
        echo "| $(field leg "$f") | $(field distribution "$f") | $(field qemu "$f") |" \
            "$(field ovmf "$f") | $(field kernel "$f") | $(field gcc "$f") |" \
            "$(field clang "$f") | $(field libxml2 "$f") | $(field what "$f") | $result |"
    done
}

case ${1:-} in
--table)
    shift
    table "$@"
    exit 0
    ;;
--readme)
    readme=$2
    shift 2
    grep -q '^<!-- stack-matrix:begin -->$' "$readme" || {
        echo "stack-leg: $readme has no <!-- stack-matrix:begin --> line" >&2
        exit 1
    }
    rows=$(mktemp)
    table "$@" >"$rows"
    awk -v rows="$rows" '
        /^<!-- stack-matrix:end -->$/ { skip = 0 }
        !skip { print }
        /^<!-- stack-matrix:begin -->$/ {
            while ((getline line < rows) > 0) print line
            skip = 1
        }' "$readme" >"$readme.new"
    rm -f "$rows"
    mv "$readme.new" "$readme"
    exit 0
    ;;
--record)
    [ $# -ge 5 ] || {
        echo "usage: stack-leg.sh --record NAME RECORD CTEST_LOG SECONDS [WHAT]" >&2
        exit 2
    }
    rc_log=$4
    {
        facts "$2" "${6:-ctest}"
        results "$rc_log"
        echo "seconds: $5"
        if grep -q '100% tests passed' "$rc_log"; then
            echo "result: passed"
        else
            echo "result: failed"
        fi
    } >"$3"
    exit 0
    ;;
esac

name=${1:?usage: stack-leg.sh NAME [CTEST ARGUMENTS...]}
shift
[ $# -gt 0 ] || set -- -LE lab

build=$VMRUN_TOP/build-stack-$name
out=$build/leg.txt
mkdir -p "$build"
start=$(date +%s)

finish() {
    echo "seconds: $(($(date +%s) - start))" >>"$out"
    echo "result: $1" >>"$out"
}

# What ran, for the table: $VMRUN_LEG_WHAT, else the ctest arguments.
facts "$name" "-Werror build; ${VMRUN_LEG_WHAT:-ctest $*}" >"$out"
echo "=== stack $name: $(field distribution "$out"), QEMU $(field qemu "$out"), OVMF $(field ovmf "$out"), gcc $(field gcc "$out"), libxml2 $(field libxml2 "$out")"

if ! build_tree "$build" -DVMRUN_WERROR=ON -DVMRUN_TESTS=ON; then
    finish "build failed"
    exit 1
fi
echo "$name: built in $(($(date +%s) - start)) s"
# The guests' kernel is this release's: the demo guest (the tests'
# fixture builds the same directory) and the Secure Boot one (tests/win11/).
if ! "$VMRUN_TOP/scripts/build-guest.sh" --demo "$build/guests/demo" ||
    ! "$VMRUN_TOP/scripts/build-guest.sh" --uefi "$build/guests/uefi"; then
    finish "the test guests could not be built"
    exit 1
fi
export VMRUN_DEMO_GUEST=$build/guests/demo VMRUN_UEFI_GUEST=$build/guests/uefi

log=$build/ctest.log
set +e
ctest --test-dir "$build" --output-on-failure --no-tests=error --timeout 900 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
results "$log" >>"$out"
if [ "$rc" -eq 0 ] && grep -q '100% tests passed' "$log"; then
    finish passed
    exit 0
fi
finish failed
exit 1
