#!/bin/bash
# "Memory and CPUs", on L1's real kernel (run by run-lab.sh --writable-root
# inside L1, which has two NUMA nodes, CPU 0 on node 0 and CPU 1 on node 1,
# and a display controller behind a PCIe expander bridge on node 1).
#   - memory.numa_node 1: every 2 MiB page of the inner QEMU's memory is on
#     node 1 (its /proc/PID/numa_maps and the per-node pool counters);
#     after stop both nodes' pools are as before, including pages someone
#     else put on node 0 first;
#   - memory.numa_node "auto" with the GPU passed through: the pages follow
#     the GPU's node (1), not the default (0);
#   - "auto" without a GPU but with the vCPU pinned to CPU 1: node 1.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

out=$VMRUN_LAB_OUT
HP=hugepages/hugepages-2048kB
PAGES=64 # 128 MiB in 2 MiB pages

counter() { cat "/sys/devices/system/node/node$1/$HP/$2"; }
set_nr() { echo "$2" >"/sys/devices/system/node/node$1/$HP/nr_hugepages"; }
# pools: both nodes' nr and free counters, on one line.
pools() { echo "node0 $(counter 0 nr_hugepages)/$(counter 0 free_hugepages)" \
    "node1 $(counter 1 nr_hugepages)/$(counter 1 free_hugepages)"; }
# in_use NODE: pages of NODE's pool that are taken.
in_use() { echo $(($(counter "$1" nr_hugepages) - $(counter "$1" free_hugepages))); }

check "two NUMA nodes" test -d /sys/devices/system/node/node1 -a ! -d /sys/devices/system/node/node2
check "CPU 1 is on node 1" [ "$(cat /sys/devices/system/node/node1/cpulist)" = 1 ]

# Pages someone else keeps on node 0: vmrun must leave them alone.
set_nr 0 $(($(counter 0 nr_hugepages) + 8))
check "8 free pages put on node 0 beforehand" [ "$(counter 0 free_hugepages)" -ge 8 ]
before=$(pools)
note "pools before: $before"

# numa_counts PID FILE: the N<node>=<pages> fields of the numa_maps line
# that maps FILE, space separated.
numa_counts() {
    grep -F " file=$2 " "/proc/$1/numa_maps" | grep -o 'N[0-9]*=[0-9]*' | tr '\n' ' '
}

# file_numa_counts FILE: the same for a fresh mapping of the whole file in
# which every page is read: shows where each page of the file is. (Reading
# a page the file did not have would allocate one by the default policy,
# and free pages wait on node 0: a short file shows as N0=.)
file_numa_counts() {
    python3 - "$1" <<'PY'
import mmap, os, re, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
for off in range(0, size, 2 << 20):
    m[off]
with open("/proc/self/numa_maps") as f:
    for line in f:
        if " file=%s " % path in line:
            print(" ".join(re.findall(r"N\d+=\d+", line)) + " ", end="")
PY
}

# up_on_node1 NAME PROFILE: starts the VM and checks that its memory is on
# node 1 and only there. FILE is left naming its hugepage file.
up_on_node1() {
    local name=$1 profile=$2 t0 qemu_pid counts used0 used1 node
    FILE=
    VFIO=$(jq '.pci | length > 0' "$profile" | sed 's/true/1/; s/false/0/')
    t0=$(date +%s%N)
    if ! vm_start "$out/start-$name.txt" "$profile"; then
        fail "$name: vmrun start --detach: $(cat "$out/start-$name.txt")"
        vm_keep_log "$name"
        return 1
    fi
    pass "$name: vmrun start --detach ($((($(date +%s%N) - t0) / 1000000)) ms)"
    vm_keep_log "$name"
    grep -h "guest memory:" "$(vm_run_dir "$name")/log" 2>/dev/null | sed 's/^/# /'
    qemu_pid=$(vm_pid "$name" qemu)
    FILE=$("$VMRUN" status "$name" --json | jq -r .memory.file)
    node=$("$VMRUN" status "$name" --json | jq -r .memory.numa_node)
    check "$name: status says node 1 (got $node)" [ "$node" = 1 ]
    check "$name: the guest memory is a hugetlbfs file ($FILE)" \
        eval '[ -f "$FILE" ] && [ "$(stat -f -c %T "$FILE")" = hugetlbfs ]'
    counts=$(numa_counts "$qemu_pid" "$FILE")
    note "$name: QEMU's numa_maps line: $(grep -F " file=$FILE " "/proc/$qemu_pid/numa_maps")"
    if [ "$VFIO" = 1 ]; then
        # VFIO pins (and so maps) all guest memory.
        check "$name: QEMU maps all $PAGES pages, from node 1 ($counts)" [ "$counts" = "N1=$PAGES " ]
    else
        # QEMU maps only what the firmware touched so far.
        check "$name: QEMU's pages are all on node 1 ($counts)" \
            eval '[[ "$counts" =~ ^N1=[0-9]+\ $ ]]'
    fi
    counts=$(file_numa_counts "$FILE")
    check "$name: every page of the file is on node 1 ($counts)" [ "$counts" = "N1=$PAGES " ]
    used0=$(($(in_use 0) - before_used0))
    used1=$(($(in_use 1) - before_used1))
    check "$name: node 1's pool has $PAGES more pages in use (got $used1)" [ "$used1" -eq $PAGES ]
    check "$name: node 0's pool is untouched ($(pools))" \
        [ "$used0" -eq 0 -a "$(counter 0 nr_hugepages)" -eq "$before_nr0" ]
}

# down NAME: stops the VM; the pools must be as before on both nodes.
down() {
    check "$1: vmrun stop --force" "$VMRUN" stop "$1" --force
    check "$1: the pools are as before on both nodes ($(pools))" [ "$(pools)" = "$before" ]
    check "$1: the hugepage file is gone" test ! -e "$FILE"
}
before_used0=$(in_use 0)
before_used1=$(in_use 1)
before_nr0=$(counter 0 nr_hugepages)

# --- 1. memory.numa_node 1
p=$(lab_profile labnode '{
  "name": "labnode",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64" },
  "memory": { "size": "128M", "hugepages": "2M", "numa_node": 1 },
  "serial": "none"
}')
up_on_node1 labnode "$p" && down labnode

# --- 2. "auto" with the GPU passed through: its node
# The bochs-display behind the expander bridge (class 0x038000), not the
# boot VGA device on the root complex (0x030000, the handoff scenarios').
gpu=
for d in /sys/bus/pci/devices/*; do
    case $(cat "$d/class") in 0x038000) gpu=$(basename "$d") && break ;; esac
done
check "a display controller (class 0x038000) is in L1${gpu:+: $gpu}" [ -n "$gpu" ]
if [ -n "$gpu" ]; then
    check "the kernel puts $gpu on node 1" [ "$(cat "/sys/bus/pci/devices/$gpu/numa_node")" = 1 ]
    gpu_driver=$(pci_driver "$gpu")
    note "$gpu: $(cat "/sys/bus/pci/devices/$gpu/vendor"):$(cat "/sys/bus/pci/devices/$gpu/device") class $(cat "/sys/bus/pci/devices/$gpu/class"), driver $gpu_driver, IOMMU group $(pci_group "$gpu")"
    p=$(lab_profile labgpu "{
      \"name\": \"labgpu\",
      \"qemu\": { \"accel\": \"tcg\" },
      \"cpu\": { \"model\": \"qemu64\" },
      \"memory\": { \"size\": \"128M\", \"hugepages\": \"2M\", \"numa_node\": \"auto\" },
      \"pci\": [ { \"address\": \"$gpu\" } ],
      \"serial\": \"none\"
    }")
    if up_on_node1 labgpu "$p"; then
        check "labgpu: the GPU is on vfio-pci while the VM runs" [ "$(pci_driver "$gpu")" = vfio-pci ]
        check "labgpu: vmrun says the node came from the GPU" \
            grep -q "NUMA node 1 (the node of GPU $gpu" "$(vm_run_dir labgpu)/log"
        down labgpu
        check "labgpu: the GPU is back on its driver ($gpu_driver)" \
            [ "$(pci_driver "$gpu")" = "$gpu_driver" -a "$(pci_override "$gpu")" = "(null)" ]
    fi
fi

# --- 3. "auto" without a GPU, the vCPU pinned to CPU 1 (on node 1)
p=$(lab_profile labpin '{
  "name": "labpin",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "pin": { "vcpus": [1] } },
  "memory": { "size": "128M", "hugepages": "2M", "numa_node": "auto" },
  "serial": "none"
}')
if up_on_node1 labpin "$p"; then
    check "labpin: vmrun says the node came from the pinned vCPU" \
        grep -q "NUMA node 1 (the node of pinned vCPU 0" "$(vm_run_dir labpin)/log"
    check "labpin: vCPU 0 may run only on CPU 1" \
        [ "$("$VMRUN" status labpin --json | jq -r '.vcpus[0].cpus_allowed')" = 1 ]
    down labpin
fi

set_nr 0 $((before_nr0 - 8))
finish
