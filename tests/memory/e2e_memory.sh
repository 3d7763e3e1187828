#!/bin/bash
# End-to-end tests of the memory.* profile keys: the installed program
# (vmrun, as root) starts a firmware-only VM, and the test looks at what
# changed on the host. One case per run:
#   size          memory.size: QEMU's guest RAM mapping has that size, with
#                 and without hugepages; the status JSON says so
#   hugepages_2m  memory.hugepages "2M": node 0's pool grows by size/2M for
#                 the VM's life (the pages in use), QEMU maps a hugetlbfs
#                 file with 2 MiB kernel pages (smaps, numa_maps), vmrun's
#                 ledger holds the claim; afterwards pool, mount and ledger
#                 are as before
#   hugepages_1g  memory.hugepages "1G": a boot-time-style pool (1G pages
#                 allocated before vmrun starts) is used and left intact;
#                 without one, vmrun allocates the page and gives it back
#   preference    memory.hugepages ["2M", "1G"] takes 2M pages, ["1G", "2M"]
#                 takes the 1G pages of the pool; what was used is reported;
#                 on a node without 1G pages (hidden from vmrun in a mount
#                 namespace) ["1G", "2M"] falls back to 2M pages and says why
#   numa_node     memory.numa_node 0: every page of the VM on node 0
#                 (numa_maps); a node the host lacks is refused, changing
#                 nothing (the placement across two nodes: tests/lab/numa.sh)
#   drop_caches   memory.drop_caches: on a shortfall (more 2M pages than the
#                 host has memory) vmrun reclaims the node's page cache
#                 (nodeN/reclaim, or /proc/sys/vm/drop_caches on kernels
#                 without it) before its last tries, and without the key it
#                 does not. The writes are seen through files of the test's
#                 own bind-mounted over both in a mount namespace only vmrun
#                 runs in, so the host's page cache is left alone; the pool
#                 ends where it began either way. (A shortfall that only
#                 dropping the cache would cure cannot be made on a shared
#                 host: it needs nearly all of a node's memory in page cache.)
# Run under with-hugepage-lock.sh (tests/memory.cmake does).
. "$(dirname "$0")/e2e_lib.sh"

case_size() {
    local p
    p=$(profile hp-size '{ "size": "192M" }')
    up hp-size "$p"
    [ "$(jq -r .memory.bytes "$T/hp-size.status.json")" = $((192 << 20)) ] ||
        fail "status: memory.bytes is $(jq -r .memory.bytes "$T/hp-size.status.json")"
    # QEMU's guest RAM: one anonymous mapping of the guest's size (QEMU
    # aligns it, so allow up to 2 MiB of guard).
    awk '/^Size:/ { if ($2 >= 196608 && $2 <= 196608 + 4096) n++ } END { exit n ? 0 : 1 }' \
        "/proc/$QEMU_PID/smaps" || fail "no mapping of 192 MiB in QEMU's smaps"
    pass "memory.size 192M: QEMU maps 192 MiB of guest RAM, status says $((192 << 20)) bytes"
    down hp-size

    p=$(profile hp-size2 '{ "size": "96M", "hugepages": "2M" }')
    up hp-size2 "$p"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" Size)" = 98304 ] ||
        fail "hugepage file mapped with $(smaps_field "$QEMU_PID" "$MEM_FILE" Size) kB, expected 98304"
    pass "memory.size 96M with hugepages: QEMU maps a 96 MiB hugetlbfs file"
    down hp-size2
}

case_hugepages_2m() {
    local p nr0 free0 used0 nr1 free1
    nr0=$(pool 2048 nr_hugepages)
    free0=$(pool 2048 free_hugepages)
    used0=$((nr0 - free0))
    p=$(profile hp-2m '{ "size": "128M", "hugepages": "2M" }')
    up hp-2m "$p"
    nr1=$(pool 2048 nr_hugepages)
    free1=$(pool 2048 free_hugepages)
    [ $((nr1 - free1 - used0)) = 64 ] ||
        fail "pool while running: nr $nr1 free $free1 (before $nr0/$free0): expected 64 more pages in use"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize)" = 2048 ] ||
        fail "QEMU's mapping of $MEM_FILE has kernel pages of $(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize) kB"
    numa_line "$QEMU_PID" "$MEM_FILE" | grep -q ' huge ' || fail "numa_maps: not a huge mapping"
    [ "$(stat -f -c %T "$MEM_FILE")" = hugetlbfs ] || fail "$MEM_FILE is not on hugetlbfs"
    grep -q "held .* hp-2m\$" /run/vmrun/.hugepages.ledger ||
        [ "$free0" -ge 64 ] || fail "the ledger has no claim of hp-2m"
    grep -q "guest memory: 128 MiB in 64 2 MiB hugepages" "$T/hp-2m.log" ||
        fail "vmrun did not report the pages it used"
    pass "memory.hugepages 2M: 64 pages in use, QEMU maps them with 2 MiB pages ($(numa_line "$QEMU_PID" "$MEM_FILE" | grep -o 'N[0-9]*=[0-9]*' | tr '\n' ' '))"
    local mnt
    mnt=$(dirname "$MEM_FILE")
    down hp-2m
    [ "$(pool 2048 nr_hugepages)/$(pool 2048 free_hugepages)" = "$nr0/$free0" ] ||
        fail "pool after stop: $(pool 2048 nr_hugepages)/$(pool 2048 free_hugepages), expected $nr0/$free0"
    ! grep -qF " $mnt " /proc/self/mountinfo || fail "the hugetlbfs mount $mnt is still there"
    no_claims_of hp-2m || fail "the ledger still holds a claim of hp-2m"
    pass "after stop: pool $nr0/$free0 as before, mount and claim gone"
}

# A boot-time-style pool of 1G pages: allocated before vmrun starts.
boot_pool_1g() {
    [ -d "$NODE_POOL/hugepages-1048576kB" ] || { echo "SKIP: no 1 GiB pages here"; exit 77; }
    local want=$1 base tries=0
    base=$(pool 1048576 nr_hugepages)
    set_pool 1048576 $((base + want))
    # A busy host may have no free, aligned GiB at the moment: compact the
    # node and ask again (a test that cannot get its pages fails; it does
    # not skip).
    while [ "$(pool 1048576 nr_hugepages)" != $((base + want)) ] && [ $tries -lt 5 ]; do
        tries=$((tries + 1))
        echo 1 >/sys/devices/system/node/node0/compact
        set_pool 1048576 $((base + want))
    done
    [ "$(pool 1048576 nr_hugepages)" = $((base + want)) ] ||
        fail "the kernel could not make $want 1 GiB pages (got $(pool 1048576 nr_hugepages), after compacting node 0 $tries times)"
}

case_hugepages_1g() {
    local p nr0 free0
    boot_pool_1g 2
    nr0=$(pool 1048576 nr_hugepages)
    free0=$(pool 1048576 free_hugepages)
    p=$(profile hp-1g '{ "size": "1G", "hugepages": "1G" }')
    up hp-1g "$p"
    [ "$(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages)" = "$nr0/$((free0 - 1))" ] ||
        fail "1G pool while running: $(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages), expected $nr0/$((free0 - 1)) (one page of the boot pool used, none added)"
    grep -q "1 reused, 0 added" "$T/hp-1g.log" || fail "vmrun did not say it reused the pool's page"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize)" = 1048576 ] ||
        fail "QEMU's mapping has kernel pages of $(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize) kB, expected 1048576"
    [ "$(jq -r .memory.hugepage_kb "$T/hp-1g.status.json")" = 1048576 ] || fail "status: hugepage_kb"
    pass "memory.hugepages 1G: a page of the boot-time pool used, mapped with 1 GiB kernel pages"
    down hp-1g
    [ "$(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages)" = "$nr0/$free0" ] ||
        fail "1G pool after stop: $(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages), expected $nr0/$free0 (intact)"
    pass "the boot-time pool is intact afterwards ($nr0/$free0)"

    # No pool: vmrun allocates the page at runtime and gives it back.
    set_pool 1048576 "${SAVED_POOL[$NODE_POOL/hugepages-1048576kB/nr_hugepages]}"
    nr0=$(pool 1048576 nr_hugepages)
    free0=$(pool 1048576 free_hugepages)
    [ "$free0" = 0 ] || fail "1G pool not empty ($free0 free) before the runtime case"
    up hp-1g "$p"
    [ "$(pool 1048576 nr_hugepages)" = $((nr0 + 1)) ] || fail "no 1G page added at runtime"
    grep -q "0 reused, 1 added" "$T/hp-1g.log" || fail "vmrun did not say it added the page"
    down hp-1g
    [ "$(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages)" = "$nr0/$free0" ] ||
        fail "1G pool after the runtime case: $(pool 1048576 nr_hugepages)/$(pool 1048576 free_hugepages), expected $nr0/$free0"
    pass "without a pool: one 1 GiB page allocated at runtime, and given back"
}

case_preference() {
    local p
    boot_pool_1g 1
    p=$(profile hp-pref '{ "size": "1G", "hugepages": ["2M", "1G"] }')
    up hp-pref "$p"
    [ "$(jq -r .memory.hugepage_kb "$T/hp-pref.status.json")" = 2048 ] ||
        fail "[2M, 1G]: status says $(jq -r .memory.hugepage_kb "$T/hp-pref.status.json") kB pages"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize)" = 2048 ] || fail "[2M, 1G]: not 2 MiB pages"
    down hp-pref
    pass "[\"2M\", \"1G\"]: 2 MiB pages"
    p=$(profile hp-pref '{ "size": "1G", "hugepages": ["1G", "2M"] }')
    local free2m
    free2m=$(pool 2048 free_hugepages)
    up hp-pref "$p"
    [ "$(jq -r .memory.hugepage_kb "$T/hp-pref.status.json")" = 1048576 ] ||
        fail "[1G, 2M]: status says $(jq -r .memory.hugepage_kb "$T/hp-pref.status.json") kB pages"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize)" = 1048576 ] || fail "[1G, 2M]: not 1 GiB pages"
    [ "$(pool 1048576 free_hugepages)" = 0 ] || fail "[1G, 2M]: the pool's 1G page is not in use"
    [ "$(pool 2048 free_hugepages)" = "$free2m" ] || fail "[1G, 2M]: the 2M pool changed"
    grep -q "in 1 1 GiB hugepages" "$T/hp-pref.log" || fail "[1G, 2M]: vmrun did not report 1 GiB pages"
    down hp-pref
    pass "[\"1G\", \"2M\"]: the pool's 1 GiB page, reported in the log and the status"

    # The first choice the node cannot give: node 0 without a 1 GiB pool
    # (its hugepages-1048576kB directory hidden, in a mount namespace only
    # vmrun runs in, as on a CPU without 1 GiB pages): ["1G", "2M"] falls
    # back to 2 MiB pages, says why, and leaves the 1G pool alone.
    local nr1g
    nr1g=$(pool 1048576 nr_hugepages)
    mkdir -p "$T/no-1g"
    # shellcheck disable=SC2016
    up hp-pref "$p" unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
        "$T/no-1g" "$NODE_POOL/hugepages-1048576kB"
    [ "$(jq -r .memory.hugepage_kb "$T/hp-pref.status.json")" = 2048 ] ||
        fail "[1G, 2M] without a 1G pool: status says $(jq -r .memory.hugepage_kb "$T/hp-pref.status.json") kB pages"
    [ "$(smaps_field "$QEMU_PID" "$MEM_FILE" KernelPageSize)" = 2048 ] ||
        fail "[1G, 2M] without a 1G pool: QEMU's mapping is not of 2 MiB pages"
    grep -q "NUMA node 0 has no 1 GiB hugepage pool .*; trying 2 MiB pages (memory.hugepages)" \
        "$T/hp-pref.log" || fail "[1G, 2M] without a 1G pool: vmrun did not say it fell back, and why"
    grep -q "in 512 2 MiB hugepages" "$T/hp-pref.log" || fail "[1G, 2M] without a 1G pool: vmrun did not report 2 MiB pages"
    [ "$(pool 1048576 nr_hugepages)" = "$nr1g" ] || fail "[1G, 2M] without a 1G pool: the 1G pool changed"
    down hp-pref
    pass "[\"1G\", \"2M\"] on a node without 1 GiB pages: the second choice, 2 MiB pages, and vmrun says why"
}

case_numa_node() {
    local p nr0
    p=$(profile hp-node '{ "size": "64M", "hugepages": "2M", "numa_node": 0 }')
    up hp-node "$p"
    local line nodes
    line=$(numa_line "$QEMU_PID" "$MEM_FILE")
    [ -n "$line" ] || fail "numa_maps: QEMU has no mapping of $MEM_FILE"
    # QEMU's line counts the pages it has touched: some, all on node 0.
    nodes=$(grep -o ' N[0-9]*=' <<<"$line" | tr -d ' =' | sort -u | tr '\n' ' ')
    [ "$nodes" = "N0 " ] || fail "numa_maps: QEMU's pages are on '$nodes', not on node 0 alone: $line"
    grep -q "on NUMA node 0 (memory.numa_node;" "$T/hp-node.log" || fail "vmrun did not name the node's source"
    down hp-node
    pass "memory.numa_node 0: the pages are on node 0 and vmrun says why"
    nr0=$(pool 2048 nr_hugepages)
    p=$(profile hp-node '{ "size": "64M", "hugepages": "2M", "numa_node": 7 }')
    local rc=0
    keylog_add "$p"
    "$VMRUN" start --detach "$p" >"$T/hp-node-bad.log" 2>&1 || rc=$?
    [ $rc = 1 ] || fail "numa_node 7: exit $rc, expected 1"
    grep -q "memory.numa_node is 7, but this host has no NUMA node 7" "$T/hp-node-bad.log" ||
        fail "numa_node 7: $(cat "$T/hp-node-bad.log")"
    [ "$(pool 2048 nr_hugepages)" = "$nr0" ] || fail "numa_node 7 changed the pool"
    [ ! -e /run/vmrun/hp-node ] || fail "numa_node 7 left a runtime directory"
    pass "memory.numa_node 7 (absent): refused, nothing changed"
}

case_drop_caches() {
    local mem_kb size p nr0 rc reclaim=/sys/devices/system/node/node0/reclaim wrote
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    size=$((mem_kb / 1048576 + 4))G
    nr0=$(pool 2048 nr_hugepages)
    for drop in true false; do
        : >"$T/drop_caches"
        : >"$T/reclaim"
        p=$(profile hp-drop "{ \"size\": \"$size\", \"hugepages\": \"2M\", \"drop_caches\": $drop }")
        rc=0
        keylog_add "$p"
        # shellcheck disable=SC2016
        unshare -m sh -c '
            mount --bind "$1" /proc/sys/vm/drop_caches || exit 9
            if [ -e "$3" ]; then mount --bind "$2" "$3" || exit 9; fi
            shift 3
            exec "$@"' sh "$T/drop_caches" "$T/reclaim" "$reclaim" \
            "$VMRUN" start "$p" >"$T/hp-drop-$drop.log" 2>&1 || rc=$?
        [ $rc = 1 ] || fail "drop_caches $drop: exit $rc for $size of hugepages, expected 1"
        grep -q "not enough 2 MiB hugepages" "$T/hp-drop-$drop.log" ||
            fail "drop_caches $drop: no shortfall message"
        [ "$(pool 2048 nr_hugepages)" = "$nr0" ] ||
            fail "drop_caches $drop: the pool is at $(pool 2048 nr_hugepages), expected $nr0"
        [ ! -e /run/vmrun/hp-drop ] || fail "drop_caches $drop: runtime directory left behind"
        wrote="reclaim '$(cat "$T/reclaim")', drop_caches '$(cat "$T/drop_caches")'"
        if [ $drop = true ]; then
            grep -Eq '^[0-9]+( swappiness=0)?$' "$T/reclaim" || [ "$(cat "$T/drop_caches")" = 1 ] ||
                fail "drop_caches true: the page cache was not reclaimed ($wrote)"
            grep -Eq "(reclaiming its|dropping the) page cache \(memory.drop_caches\)" \
                "$T/hp-drop-$drop.log" || fail "drop_caches true: vmrun did not say it reclaimed"
        else
            [ ! -s "$T/drop_caches" ] && [ ! -s "$T/reclaim" ] ||
                fail "drop_caches false: the page cache was reclaimed all the same ($wrote)"
            grep -q "set memory.drop_caches" "$T/hp-drop-$drop.log" ||
                fail "drop_caches false: the shortfall message does not suggest memory.drop_caches"
        fi
        pass "memory.drop_caches $drop: $size short; $wrote; pool back at $nr0"
    done
}

"case_${1:?usage: $0 size|hugepages_2m|hugepages_1g|preference|numa_node|drop_caches}"
echo "PASS: memory e2e $1"
