#!/bin/bash
# `vmrun print-cmd` on every bad profile of tests/profile/bad.tsv: exit code
# 2, nothing on stdout, and each expected diagnostic on stderr as
# "FILE:LINE:COL: PATH: ..." with FILE the path as given.
set -u
: "${VMRUN_BIN:?}" "${VMRUN_SOURCE_DIR:?}"
T=$(mktemp -d /tmp/vmrun-profile-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
BAD="$VMRUN_SOURCE_DIR/tests/profile/bad"
fails=0
checked=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

declare -A seen
while IFS=$'\t' read -r file pos path fragment; do
    case "$file" in '#'* | '') continue ;; esac
    f="$BAD/$file"
    if [ -z "${seen[$file]:-}" ]; then
        "$VMRUN_BIN" print-cmd "$f" >"$T/out" 2>"$T/err.$checked"
        rc=$?
        seen[$file]=$checked
        checked=$((checked + 1))
        [ $rc = 2 ] || fail "$file: exit $rc, not 2"
        [ -s "$T/out" ] && fail "$file: printed a command"
    fi
    err="$T/err.${seen[$file]}"
    if [ "$path" = "-" ]; then
        want="$f:$pos: "
    else
        want="$f:$pos: $path: "
    fi
    grep -qF -- "$want" "$err" || fail "$file: stderr lacks '$want': $(cat "$err")"
    grep -qF -- "$fragment" "$err" || fail "$file: stderr lacks '$fragment'"
done <"$VMRUN_SOURCE_DIR/tests/profile/bad.tsv"

[ "$checked" -ge 40 ] || fail "only $checked bad profiles"
[ $fails = 0 ] || exit 1
echo "ok: $checked bad profiles refused by vmrun print-cmd with exit 2"
