#!/bin/bash
# golden.sh: `vmrun import` of every XML in tests/import/corpus/ and
# tests/import/synthetic/ (and invalid/: XMLs libvirt refuses or beyond the
# profile's limits) gives the profile and the notes recorded in
# tests/import/expected/DIR/NAME.json and NAME.notes (the notes end with the
# exit code), and every profile it writes is one vmrun accepts: `vmrun
# print-cmd` builds its QEMU command line (exit 0). UPDATE_GOLDEN=1 rewrites
# the expected files instead: read the diff (git diff tests/import/expected)
# before committing it. Runs the installed program (VMRUN_RELEASE_BIN).
#
# `vmrun import` asks qemu-system-x86_64 whether it has a versioned machine
# type: here it gets QEMU 11.1's answers on every machine (fake-qemu/, first
# in root's PATH in a mount namespace of this test's), so the recorded files
# show all three outcomes (kept, kept but deprecated, replaced by the newest)
# whatever QEMU this machine has; machine_types.py asks the real ones.
set -u
: "${VMRUN_RELEASE_BIN:?}" "${VMRUN_SOURCE_DIR:?}" "${VMRUN_BUILD_DIR:?}"
here="$VMRUN_SOURCE_DIR/tests/import"
# Profiles with qemu.extra_args are honoured from a directory only root can
# write: under the build tree, not /tmp.
tmp=$(mktemp -d "$VMRUN_BUILD_DIR/import-golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
cd "$here" || exit 1
# vmrun as root looks programs up in /usr/local/sbin first (sys/child_env.h).
import() {
    unshare --mount --propagation private sh -c '
        mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin &&
        cp "$1"/qemu-system-x86_64 "$1"/machines.txt /usr/local/sbin/ && shift && exec "$@"' \
        sh "$here/fake-qemu" "$VMRUN_RELEASE_BIN" import "$@"
}
for xml in corpus/*.xml synthetic/*.xml invalid/*.xml; do
    n=$((n + 1))
    dir=$(dirname "$xml")
    name=$(basename "$xml" .xml)
    mkdir -p "$tmp/$dir" "expected/$dir"
    import "$xml" >"$tmp/$dir/$name.json" 2>"$tmp/$dir/$name.notes"
    rc=$?
    echo "exit $rc" >>"$tmp/$dir/$name.notes"
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        echo "FAIL: $xml: vmrun import exited $rc:" >&2
        cat "$tmp/$dir/$name.notes" >&2
        fail=$((fail + 1))
        continue
    fi
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$tmp/$dir/$name.json" "$tmp/$dir/$name.notes" "expected/$dir/"
    else
        for ext in json notes; do
            if ! diff -u "expected/$dir/$name.$ext" "$tmp/$dir/$name.$ext"; then
                echo "FAIL: $xml: the $ext differ from expected/$dir/$name.$ext" \
                    "(UPDATE_GOLDEN=1 to accept)" >&2
                fail=$((fail + 1))
            fi
        done
    fi
    if ! "$VMRUN_RELEASE_BIN" print-cmd "$tmp/$dir/$name.json" >/dev/null 2>"$tmp/err"; then
        echo "FAIL: $xml: vmrun print-cmd refuses the imported profile:" >&2
        cat "$tmp/err" >&2
        fail=$((fail + 1))
    fi
done
[ "${UPDATE_GOLDEN:-0}" = 1 ] && echo "updated tests/import/expected ($n XMLs)"
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
