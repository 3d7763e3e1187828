#!/bin/bash
# The fragmentation benchmark: node 0 is fragmented as a desktop that has
# run for weeks (frag_bench fragment: page cache from a large file,
# scattered anonymous pages, pinned kernel pages, part of them freed), the
# same way before each run, and then asked for 16 GiB of 2 MiB pages and
# for 1 GiB pages by: vmrun's strategy (hugepages_reserve, without and with
# memory.drop_caches), the tutorial's loop (write the count, compact, up to
# 1000 times) and one write with no compaction. The ceiling is what the node
# could give at that moment (frag_bench ceiling). Prints a table; it is not
# a test.
#
# It holds the machine-wide hugepage lock and puts back what it changes:
# both pools of node 0, its data file (and so that file's page cache), its
# processes and pipes. It leaves the rest of the page cache as the runs
# left it (vmrun's drop_caches run reclaims some of it; that is its point).
# Sizes follow the memory available, keeping 6 GiB for everyone else.
# Usage: run-frag-bench.sh PATH/TO/frag_bench
set -u
bench=${1:?usage: $0 frag_bench}
[ "$(id -u)" = 0 ] || { echo "needs root (hugepages, /proc/kpageflags)"; exit 1; }
if [ -z "${VMRUN_HP_LOCKED:-}" ]; then
    VMRUN_HP_LOCKED=1 exec "$(dirname "$0")/../memory/with-hugepage-lock.sh" "$0" "$@"
fi
P2=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
P1=/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages
saved2=$(cat $P2)
saved1=$(cat $P1 2>/dev/null || echo none)
work=$(mktemp -d /var/tmp/vmrun-fragbench.XXXXXX)
frag_pid=
cleanup() {
    [ -n "$frag_pid" ] && { exec 3>&-; wait "$frag_pid" 2>/dev/null; }
    echo "$saved2" >$P2
    [ "$saved1" = none ] || echo "$saved1" >$P1
    rm -rf "$work"
}
trap cleanup EXIT

avail_mib=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 ))
# Page cache 3 GiB; anonymous pages: what is left above 6 GiB for others
# and the 16 GiB asked, at most 12 GiB; a pinned page in one 2 MiB stretch
# of 8; one anonymous page in 5 kept.
cache_mib=3072
want2=${FRAG_WANT_2M:-8192}
anon_mib=$(( avail_mib - 6144 - cache_mib ))
[ $anon_mib -gt 12288 ] && anon_mib=12288
if [ $anon_mib -lt 2048 ] || [ $(( avail_mib - 6144 )) -lt $(( want2 * 2 )) ]; then
    echo "skipped: only $avail_mib MiB available (the benchmark needs about $(( want2 * 2 + 6144 )) MiB)"
    exit 0
fi
want1=${FRAG_WANT_1G:-8}
dd if=/dev/zero of="$work/cache.data" bs=1M count=$cache_mib status=none conv=fsync

fragment() {
    sync
    echo 1 >/proc/sys/vm/compact_memory
    mkfifo "$work/in"
    "$bench" fragment "$work/cache.data" $anon_mib 8 5 <"$work/in" >"$work/frag.out" &
    frag_pid=$!
    exec 3>"$work/in"
    rm -f "$work/in"
    for _ in $(seq 600); do
        grep -q '^ready' "$work/frag.out" && return 0
        sleep 0.1
    done
    echo "the fragmenter did not get ready in 60 s" >&2
    exit 1
}
unfragment() {
    exec 3>&-
    wait "$frag_pid"
    frag_pid=
}

printf "%-5s %-30s %7s %7s %8s %8s %10s\n" size method asked got ceiling "% ceil" time >"$work/table"
run() { # kb want label method args...
    local kb=$1 want=$2 label=$3
    shift 3
    fragment
    local c got t
    c=$("$bench" ceiling "$kb")
    read -r got t < <("$bench" "$@" 2>>"$work/stderr")
    [ "$kb" = 2048 ] && echo "$saved2" >$P2
    [ "$kb" = 1048576 ] && echo "$saved1" >$P1
    unfragment
    local ceil=${c%% *} target
    target=$(( ceil < want ? ceil : want ))
    [ "$target" -gt 0 ] || target=1
    printf "%-5s %-30s %7s %7s %8s %7.1f%% %8.2f s\n" "$([ "$kb" = 2048 ] && echo 2M || echo 1G)" \
        "$label" "$want" "$got" "$ceil" "$(echo "100 * $got / $target" | bc -l)" "$t" |
        tee -a "$work/table"
}
echo "node 0: $avail_mib MiB available; fragmenting with $cache_mib MiB of page cache and $anon_mib MiB of anonymous pages"
head -1 "$work/table"
run 2048 "$want2" "vmrun" vmrun 2048 "$want2" 0
run 2048 "$want2" "vmrun, memory.drop_caches" vmrun 2048 "$want2" 1
run 2048 "$want2" "tutorial loop (1000 tries)" tutorial 2048 "$want2"
run 2048 "$want2" "one write, no compaction" single 2048 "$want2"
if [ "$saved1" != none ] && [ -z "${FRAG_SKIP_1G:-}" ]; then
    run 1048576 "$want1" "vmrun" vmrun 1048576 "$want1" 0
    run 1048576 "$want1" "vmrun, memory.drop_caches" vmrun 1048576 "$want1" 1
    run 1048576 "$want1" "tutorial loop (1000 tries)" tutorial 1048576 "$want1"
    run 1048576 "$want1" "one write, no compaction" single 1048576 "$want1"
fi
echo "fragmenter (each run): $(cat "$work/frag.out")"
echo "ceiling: whole aligned ranges of free or movable pages (/proc/kpageflags), at most the free memory and page cache above the watermarks; % ceil: got / min(asked, ceiling)"
