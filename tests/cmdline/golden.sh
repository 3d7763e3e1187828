#!/bin/bash
# golden.sh NAME: the argv of profile NAME (profiles/NAME.json, or the
# built-in sample for "sample") must equal tests/cmdline/golden/NAME.argv,
# one element per line. UPDATE_GOLDEN=1 rewrites the golden file instead:
# read the diff (git diff tests/cmdline/golden) before committing it.
set -eu
name=${1:?usage: golden.sh NAME}
: "${CMDLINE_ARGV:?}" "${VMRUN_SOURCE_DIR:?}"
golden="$VMRUN_SOURCE_DIR/tests/cmdline/golden/$name.argv"
if [ "$name" = sample ]; then
    src=--sample
else
    src="$VMRUN_SOURCE_DIR/profiles/$name.json"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$CMDLINE_ARGV" "$src" >"$out"

if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$out" "$golden"
    echo "updated $golden"
    exit 0
fi
if [ ! -f "$golden" ]; then
    echo "FAIL: no $golden (UPDATE_GOLDEN=1 creates it)" >&2
    exit 1
fi
if ! diff -u "$golden" "$out"; then
    echo "FAIL: the argv of $name differs from $golden (UPDATE_GOLDEN=1 to accept)" >&2
    exit 1
fi
# What print-cmd prints, read back by a shell, is the same argv.
"$CMDLINE_ARGV" --print "$src" >"$out.sh"
trap 'rm -f "$out" "$out.sh"' EXIT
(eval "set -- $(cat "$out.sh")" && printf '%s\n' "$@") >"$out"
if ! diff -u "$golden" "$out"; then
    echo "FAIL: the printed command of $name does not read back as $golden" >&2
    exit 1
fi
echo "ok: $name matches $(wc -l <"$golden") golden lines"
