#!/bin/bash
# pci[].rombar on L1's real kernel (run by run-lab.sh --writable-root inside
# L1): vmrun passes the e1000e (which has an expansion ROM, QEMU's
# efi-e1000e.rom) with "rombar": false and the edu device without the key;
# QEMU's vfio-pci devices, asked over a second QMP monitor, say rombar 0
# for the first and 1 for the second. After `vmrun stop` both go back.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

E1000E=8086:10d3
EDU=1234:11e8
NAME=labrombar
QMP2=/run/lab-rombar-qmp2.sock
out=$VMRUN_LAB_OUT

nic=$(pci_find $E1000E) || nic=
edu=$(pci_find $EDU) || edu=
check "e1000e ($E1000E) found${nic:+ at $nic}" [ -n "$nic" ]
check "edu ($EDU) found${edu:+ at $edu}" [ -n "$edu" ]
[ -n "$nic" ] && [ -n "$edu" ] || finish

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-qmp\", \"unix:$QMP2,server=on,wait=off\"] },
  \"cpu\": { \"model\": \"qemu64\", \"cores\": 1 },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$nic\", \"rombar\": false }, { \"address\": \"$edu\" } ],
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

if ! vm_start "$out/rombar-start.txt" "$profile"; then
    fail "vmrun start --detach $profile: $(cat "$out/rombar-start.txt")"
    vm_keep_log $NAME
    finish
fi
pass "vmrun start --detach $profile"
check "the e1000e is on vfio-pci while the VM runs" [ "$(pci_driver "$nic")" = vfio-pci ]
# rombar_of HOST: the rombar property of the vfio-pci device passing HOST.
rombar_of() {
    local path
    for path in $(qmp $QMP2 qom-list '{"path": "/machine/peripheral-anon"}' |
        jq -r '.[] | select(.type == "child<vfio-pci>") | .name'); do
        if [ "$(qmp $QMP2 qom-get "{\"path\": \"/machine/peripheral-anon/$path\", \"property\": \"host\"}" | jq -r .)" = "$1" ]; then
            qmp $QMP2 qom-get "{\"path\": \"/machine/peripheral-anon/$path\", \"property\": \"rombar\"}"
            return 0
        fi
    done
    return 1
}
if wait_for 10 test -S $QMP2; then
    nic_bar=$(rombar_of "$nic") || nic_bar=none
    edu_bar=$(rombar_of "$edu") || edu_bar=none
    check "rombar false: the e1000e's vfio-pci has rombar 0 (got $nic_bar)" [ "$nic_bar" = 0 ]
    check "no rombar: the edu's vfio-pci keeps rombar 1 (got $edu_bar)" [ "$edu_bar" = 1 ]
else
    fail "no second QMP monitor at $QMP2"
fi
vm_keep_log $NAME
check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
check "e1000e is back on e1000e" [ "$(pci_driver "$nic")" = e1000e ]
check "edu is back on no driver" [ "$(pci_driver "$edu")" = none ]
rm -f "$profile"
finish
