#!/bin/bash
# `vmrun print-cmd`: what it prints is the golden argv once a shell has read
# it; it runs as an ordinary user and leaves the host alone; --help and the
# exit codes for bad input.
set -u
: "${VMRUN_BIN:?}" "${VMRUN_SOURCE_DIR:?}"
T=$(mktemp -d /tmp/vmrun-print-cmd.XXXXXX)
trap 'rm -rf "$T"' EXIT
export VMRUN_RUN_DIR="$T/run" # print-cmd must not create anything here
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

"$VMRUN_BIN" print-cmd --help >"$T/out" 2>&1 || fail "--help exits $?"
grep -q "usage: vmrun print-cmd \[--trust-profile\] PROFILE" "$T/out" || fail "--help does not show the usage"

"$VMRUN_BIN" print-cmd >/dev/null 2>&1
[ $? = 2 ] || fail "no PROFILE: exit is not 2"
"$VMRUN_BIN" print-cmd --bogus x.json >/dev/null 2>&1
[ $? = 2 ] || fail "unknown option: exit is not 2"

"$VMRUN_BIN" print-cmd "$T/missing.json" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 2 ] || fail "missing profile: exit $rc, not 2"
grep -q "^vmrun: .*missing.json" "$T/err" || fail "missing profile: message: $(cat "$T/err")"
[ -s "$T/out" ] && fail "missing profile: printed a command"

printf '{\n  "cpu": { "cores": "many" }\n}\n' >"$T/bad.json"
"$VMRUN_BIN" print-cmd "$T/bad.json" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 2 ] || fail "bad profile: exit $rc, not 2"
grep -q "bad.json:[0-9]*:[0-9]*: .*cpu.cores" "$T/err" ||
    fail "bad profile: no diagnostic naming bad.json and cpu.cores: $(cat "$T/err")"
[ -s "$T/out" ] && fail "bad profile: printed a command"

# The golden argvs are QEMU 7.2's: audio.backend "pipewire" is "pa" there.
# print-cmd asks the QEMU it will run, and a QEMU with its own PipeWire
# driver (8.1 and later) gets "pipewire".
own_pipewire=0
qemu-system-x86_64 -audiodev help 2>/dev/null | grep -qx pipewire && own_pipewire=1

# Each example profile: a shell reads the printed command back into exactly
# the golden argv.
for profile in "$VMRUN_SOURCE_DIR"/profiles/*.json; do
    name=$(basename "$profile" .json)
    golden="$VMRUN_SOURCE_DIR/tests/cmdline/golden/$name.argv"
    if [ $own_pipewire = 1 ] &&
        jq -e '.audio and (.audio.backend // "pipewire") == "pipewire"' "$profile" >/dev/null; then
        sed 's/^pa,id=snd0$/pipewire,id=snd0/' "$golden" >"$T/$name.golden"
        golden=$T/$name.golden
    fi
    if ! "$VMRUN_BIN" print-cmd "$profile" >"$T/$name.out" 2>"$T/err"; then
        fail "$name: print-cmd failed: $(cat "$T/err")"
        continue
    fi
    # The command, then comment lines: for UEFI, "# firmware: ..." (the
    # descriptor chosen and why), then one "# fd N: what" line per fd QEMU
    # inherits: every fd=N the command names is listed.
    grep -v '^# ' "$T/$name.out" >"$T/$name.sh"
    tail -n +"$(($(wc -l <"$T/$name.sh") + 1))" "$T/$name.out" >"$T/$name.comments"
    [ "$(wc -l <"$T/$name.comments")" = "$(grep -c '^# ' "$T/$name.out")" ] ||
        fail "$name: the comment lines are not the last lines of the output"
    grep -q '^# fd ' "$T/$name.comments" || fail "$name: no fd is listed"
    for fd in $(grep -o 'fd=[0-9]*' "$T/$name.sh" | cut -d= -f2 | sort -u); do
        grep -q "^# fd $fd: " "$T/$name.out" || fail "$name: fd=$fd is not described"
    done
    if grep -q 'if=pflash' "$T/$name.sh"; then
        grep -q '^# firmware: ' "$T/$name.comments" || fail "$name: UEFI without a firmware line"
    fi
    # One option per line: every line but the first starts with 4 spaces
    # and a '-', every line but the last ends with " \".
    awk -v n="$(wc -l <"$T/$name.sh")" '
        NR > 1 && !/^    -/ { print "line " NR " does not start an option: " $0; bad = 1 }
        NR < n && !/ \\$/ { print "line " NR " does not continue: " $0; bad = 1 }
        END { exit bad }' "$T/$name.sh" || fail "$name: layout"
    (eval "set -- $(cat "$T/$name.sh")" && printf '%s\n' "$@") >"$T/$name.argv"
    diff -u "$golden" "$T/$name.argv" || fail "$name: the shell does not read back the golden argv"

    # As an ordinary user: same output.
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$VMRUN_BIN" print-cmd "$profile" >"$T/$name.user" 2>"$T/err" ||
            fail "$name: print-cmd as uid 65534 failed: $(cat "$T/err")"
        cmp -s "$T/$name.out" "$T/$name.user" || fail "$name: output differs as uid 65534"
    fi
done

[ -e "$T/run" ] && fail "print-cmd created $T/run"
[ $fails = 0 ] || exit 1
echo "ok: print-cmd"
