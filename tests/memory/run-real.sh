#!/bin/bash
# Runs a test that changes this host's real hugepage pool, and puts every
# pool back as it was afterwards, even when the test fails or crashes.
# Usage: run-real.sh TEST-BINARY [ARGS...]
# Holds the machine-wide hugepage lock (with-hugepage-lock.sh) for the whole
# run: other build trees test on this host at the same time.
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
grep -qw hugetlbfs /proc/filesystems || { echo "SKIP: no hugetlbfs"; exit 77; }
if [ -z "${VMRUN_HP_LOCKED:-}" ]; then
    VMRUN_HP_LOCKED=1 exec "$(dirname "$0")/with-hugepage-lock.sh" "$0" "$@"
fi

declare -A saved
for f in /sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages; do
    saved[$f]=$(cat "$f")
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vmrun-hugetest.XXXXXX")

restore() {
    # Private hugetlbfs mounts a crashed test left under its scratch dirs.
    awk -v d="$scratch/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
        while read -r m; do umount "$m" 2>/dev/null; done
    for f in "${!saved[@]}"; do
        echo "${saved[$f]}" >"$f"
        if [ "$(cat "$f")" != "${saved[$f]}" ]; then
            echo "WARNING: could not restore $f to ${saved[$f]}" >&2
        fi
    done
    rm -rf "$scratch"
}
trap restore EXIT

TMPDIR=$scratch "$@"
