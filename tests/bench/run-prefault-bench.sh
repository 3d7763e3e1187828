#!/bin/bash
# Prefault throughput: vmrun's prefault_file() against QEMU's own prealloc
# (1 thread and N threads) and against the first-touch bound measured in the
# same run (anonymous MAP_HUGETLB pages touched from all CPUs, or from one
# when that is faster). "% bound" is bound time / method time. Prints a
# table; restores the hugepage pool and removes its mount afterwards.
# Usage: run-prefault-bench.sh PATH/TO/prefault_bench [SIZES_GIB...]
set -u
bench=${1:?usage: $0 prefault_bench [sizes in GiB]}
shift
sizes=${*:-1 4 16}
[ "$(id -u)" = 0 ] || { echo "needs root (hugepages)"; exit 1; }
# It changes the real pool: under the machine-wide hugepage lock.
if [ -z "${VMRUN_HP_LOCKED:-}" ]; then
    VMRUN_HP_LOCKED=1 exec "$(dirname "$0")/../memory/with-hugepage-lock.sh" "$0" "$bench" "$@"
fi
qemu=${QEMU:-qemu-system-x86_64}
ncpu=$(nproc)
nr=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
saved=$(cat $nr)
work=$(mktemp -d /tmp/vmrun-bench.XXXXXX)
mnt=$work/huge
mkdir "$mnt"
qpid=
cleanup() {
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    rm -f "$mnt"/* 2>/dev/null
    umount "$mnt" 2>/dev/null
    echo "$saved" >$nr
    rm -rf "$work"
}
trap cleanup EXIT
mount -t hugetlbfs -o pagesize=2M none "$mnt" || exit 1

now() { date +%s.%N; }
# QEMU up: -daemonize returns once the backend is allocated and QEMU is ready.
qemu_time() { # size_gib prealloc threads
    local size=$1 pre=$2 thr=$3 t0 t1
    rm -f "$work/qemu.pid"
    t0=$(now)
    "$qemu" -machine q35,accel=tcg -nodefaults -display none -S \
        -object "memory-backend-file,id=m,size=${size}G,mem-path=$mnt,share=on,prealloc=$pre,prealloc-threads=$thr" \
        -machine memory-backend=m -m "${size}G" -daemonize -pidfile "$work/qemu.pid" \
        -qmp "unix:$work/qmp.sock,server=on,wait=off" >/dev/null 2>"$work/qemu.err" || {
        cat "$work/qemu.err" >&2; echo nan; return; }
    t1=$(now)
    qpid=$(cat "$work/qemu.pid")
    kill "$qpid"; while kill -0 "$qpid" 2>/dev/null; do sleep 0.05; done
    qpid=
    echo "$t1 - $t0" | bc -l
}
best() { # runs the command 3 times, prints the smallest first field
    local b=
    for _ in 1 2 3; do
        local v; v=$("$@" | awk '{print $1}')
        if [ -z "$b" ] || [ "$(echo "$v < $b" | bc -l)" = 1 ]; then b=$v; fi
    done
    echo "$b"
}

printf "%-6s %-34s %9s %8s %9s\n" size method seconds GB/s "% bound"
for g in $sizes; do
    avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
    if [ $(( avail_kb / 1024 / 1024 - g )) -lt 4 ]; then
        echo "${g}G: skipped (would leave less than 4 GiB free)"; continue
    fi
    pages=$(( g * 512 ))
    echo $(( saved + pages )) >$nr
    if [ "$(cat $nr)" -lt $(( saved + pages )) ]; then
        echo "${g}G: skipped (only $(cat $nr) pages)"; echo "$saved" >$nr; continue
    fi
    bytes=$(( g << 30 ))
    bound=$(best "$bench" bound $(( g * 1024 )) "$ncpu")
    bound1=$(best "$bench" bound $(( g * 1024 )) 1)
    # The bound is the faster of all CPUs and one: on a small or busy host
    # one thread can win.
    if [ "$(echo "$bound1 < $bound" | bc -l)" = 1 ]; then boundn=$bound; bound=$bound1; else boundn=$bound; fi
    vm=$(best "$bench" vmrun "$mnt" $(( g * 1024 )) 0)
    vm1=$(best "$bench" vmrun "$mnt" $(( g * 1024 )) 1)
    q0=$(best qemu_time "$g" off 1)
    q1=$(best qemu_time "$g" on 1)
    qn=$(best qemu_time "$g" on "$ncpu")
    row() { # label seconds
        local gbs pct
        gbs=$(echo "$bytes / $2 / 1000000000" | bc -l)
        pct=$(echo "100 * $bound / $2" | bc -l)
        printf "%-6s %-34s %9.3f %8.2f %8.0f%%\n" "${g}G" "$1" "$2" "$gbs" "$pct"
    }
    row "first touch, $ncpu threads" "$boundn"
    row "first touch, 1 thread" "$bound1"
    row "vmrun prefault_file (node's CPUs)" "$vm"
    row "vmrun prefault_file, 1 thread" "$vm1"
    qp1=$(echo "$q1 - $q0" | bc -l); qpn=$(echo "$qn - $q0" | bc -l)
    row "qemu prealloc=on, 1 thread" "$qp1"
    row "qemu prealloc=on, $ncpu threads" "$qpn"
    printf "%-6s %-34s %9.3f   (startup without prealloc, subtracted above)\n" "${g}G" "qemu prealloc=off" "$q0"
    echo "$saved" >$nr
done
