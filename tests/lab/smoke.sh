#!/bin/bash
# The lab's smoke test, run inside L1 by run-lab.sh: L1 has what vmrun's
# real-kernel tests rely on. IOMMU groups; the e1000e NIC (a device with a
# host driver, the stand-in for a GPU) goes to vfio-pci and back through
# driver_override/unbind/drivers_probe with /dev/vfio/N appearing and going;
# the edu device (no driver) is found; two NUMA nodes whose per-node
# hugepage counters take a reservation (given back at the end).
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

E1000E=8086:10d3
EDU=1234:11e8

# --- IOMMU groups
ngroups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 | wc -l)
check "IOMMU groups exist ($ngroups)" [ "$ngroups" -gt 0 ]
if grep -q 'vmrun\.lab\.root=ro' /proc/cmdline; then
    check "the root is the host's, read-only" grep -q '^hostroot / 9p ro' /proc/mounts
fi
check "hugetlbfs is mounted on /dev/hugepages" grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts

# --- The devices, by vendor:device
nic=$(pci_find $E1000E) || nic=
edu=$(pci_find $EDU) || edu=
check "e1000e ($E1000E) found${nic:+ at $nic}" [ -n "$nic" ]
check "edu ($EDU) found${edu:+ at $edu}" [ -n "$edu" ]
if [ -n "$edu" ]; then
    check "edu is alone in IOMMU group $(pci_group "$edu")" \
        [ "$(ls "/sys/bus/pci/devices/$edu/iommu_group/devices" | wc -l)" -eq 1 ]
    note "edu driver: $(pci_driver "$edu")"
fi
lpc=/sys/bus/pci/devices/0000:00:1f.0
if [ -e "$lpc/iommu_group" ]; then
    check "the ICH9 functions share one IOMMU group (a multi-device group)" \
        [ "$(ls "$lpc/iommu_group/devices" | wc -l)" -gt 1 ]
fi

# --- e1000e to vfio-pci and back
if [ -n "$nic" ]; then
    group=$(pci_group "$nic")
    check "e1000e is alone in IOMMU group $group" \
        [ "$(ls "/sys/bus/pci/devices/$nic/iommu_group/devices" | wc -l)" -eq 1 ]
    check "e1000e starts on its own driver" [ "$(pci_driver "$nic")" = e1000e ]
    check "e1000e bound to vfio-pci (driver_override, unbind, drivers_probe)" pci_bind_vfio "$nic"
    check "/dev/vfio/$group appeared" wait_for 5 test -c "/dev/vfio/$group"
    check "/dev/vfio/vfio exists" test -c /dev/vfio/vfio
    check "e1000e back on e1000e after clearing driver_override and reprobing" \
        eval 'pci_unbind_vfio "$nic" && [ "$(pci_driver "$nic")" = e1000e ]'
    check "/dev/vfio/$group went away" wait_for 5 test ! -e "/dev/vfio/$group"
    check "driver_override is clear" [ "$(cat "/sys/bus/pci/devices/$nic/driver_override")" = "(null)" ]
fi

# --- NUMA nodes and per-node hugepages
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
check "two NUMA nodes ($nodes)" [ "$nodes" -eq 2 ]
hp=hugepages/hugepages-2048kB
for n in 0 1; do
    check "node$n has per-node 2 MiB hugepage counters" \
        test -w "/sys/devices/system/node/node$n/$hp/nr_hugepages" -a \
        -r "/sys/devices/system/node/node$n/$hp/free_hugepages"
done
counter() { cat "/sys/devices/system/node/node$1/$hp/$2"; }
if [ -e "/sys/devices/system/node/node1/$hp/nr_hugepages" ]; then
    before0=$(counter 0 nr_hugepages)
    before1=$(counter 1 nr_hugepages)
    echo $((before1 + 16)) >"/sys/devices/system/node/node1/$hp/nr_hugepages"
    check "16 hugepages reserved on node1 only" \
        [ "$(counter 1 nr_hugepages)" -eq $((before1 + 16)) -a "$(counter 0 nr_hugepages)" -eq "$before0" ]
    check "node1's free counter shows them" [ "$(counter 1 free_hugepages)" -ge 16 ]
    echo "$before1" >"/sys/devices/system/node/node1/$hp/nr_hugepages"
    check "node1's reservation given back" [ "$(counter 1 nr_hugepages)" -eq "$before1" ]
fi

finish
