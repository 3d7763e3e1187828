#!/bin/bash
# "Give devices to the VM and back", on L1's real kernel (run by run-lab.sh
# --writable-root inside L1). vmrun passes the e1000e NIC (a device with a
# host driver, the stand-in for a GPU) and the edu device (no driver)
# through to an inner QEMU (TCG, firmware only):
#   - while it runs both are on vfio-pci and the inner guest sees them (QMP
#     query-pci on a second monitor given through qemu.extra_args);
#   - after `vmrun stop` the NIC is back on e1000e, the edu on no driver,
#     driver_override cleared;
#   - a profile naming one function of the ICH9 multi-function group is
#     refused as not viable (exit 1, the missing members named) with
#     nothing changed;
#   - the supervisor killed with SIGKILL takes QEMU with it, and `vmrun
#     recover` gives the devices back.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

E1000E=8086:10d3
EDU=1234:11e8
NAME=labvfio
QMP2=/run/lab-qmp2.sock
out=$VMRUN_LAB_OUT

nic=$(pci_find $E1000E) || nic=
edu=$(pci_find $EDU) || edu=
check "e1000e ($E1000E) found${nic:+ at $nic}" [ -n "$nic" ]
check "edu ($EDU) found${edu:+ at $edu}" [ -n "$edu" ]
[ -n "$nic" ] && [ -n "$edu" ] || finish
check "e1000e starts on its own driver" [ "$(pci_driver "$nic")" = e1000e ]
check "edu starts without a driver" [ "$(pci_driver "$edu")" = none ]
nic_group=$(pci_group "$nic")
edu_group=$(pci_group "$edu")

# The inner QEMU: TCG, firmware only (it sits in SeaBIOS), no console.
profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-qmp\", \"unix:$QMP2,server=on,wait=off\"] },
  \"cpu\": { \"model\": \"qemu64\", \"sockets\": 1, \"cores\": 1, \"threads\": 1 },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$nic\" }, { \"address\": \"$edu\" } ],
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

# devices_back: both devices where they were before vmrun took them.
devices_back() {
    [ "$(pci_driver "$nic")" = e1000e ] && [ "$(pci_driver "$edu")" = none ] &&
        [ "$(pci_override "$nic")" = "(null)" ] && [ "$(pci_override "$edu")" = "(null)" ]
}

# --- 1. Start, look, stop
before=$(pci_snapshot)
t0=$(date +%s%N)
if vm_start "$out/start1.txt" "$profile"; then
    pass "vmrun start --detach $profile ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "vmrun start --detach $profile: $(cat "$out/start1.txt")"
    vm_keep_log $NAME
    finish
fi
check "state is running" [ "$(vm_state $NAME)" = running ]
check "e1000e is on vfio-pci while the VM runs" [ "$(pci_driver "$nic")" = vfio-pci ]
check "edu is on vfio-pci while the VM runs" [ "$(pci_driver "$edu")" = vfio-pci ]
check "/dev/vfio/$nic_group and /dev/vfio/$edu_group exist" \
    test -c "/dev/vfio/$nic_group" -a -c "/dev/vfio/$edu_group"
groups=$("$VMRUN" status $NAME --json | jq -c '.vfio_groups | sort')
check "status lists vfio groups $groups" \
    [ "$groups" = "$(printf '%s\n' "$nic_group" "$edu_group" | sort -n | jq -sc .)" ]
qemu_pid=$(vm_pid $NAME qemu)
check "QEMU (pid ${qemu_pid:-none}) runs" proc_alive "${qemu_pid:-0}"
check "QEMU's command line passes both devices" \
    eval 'tr "\0" " " <"/proc/$qemu_pid/cmdline" | grep -q "vfio-pci,host=$nic" &&
          tr "\0" " " <"/proc/$qemu_pid/cmdline" | grep -q "vfio-pci,host=$edu"'
if wait_for 10 test -S $QMP2 && ids=$(qmp_pci_ids $QMP2); then
    note "the inner guest's PCI functions: $(echo "$ids" | tr '\n' ' ')"
    check "the inner guest sees the e1000e (query-pci)" grep -qx $E1000E <<<"$ids"
    check "the inner guest sees the edu (query-pci)" grep -qx $EDU <<<"$ids"
else
    fail "query-pci on the second QMP monitor $QMP2"
fi
vm_keep_log $NAME
t0=$(date +%s%N)
check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
note "stop took $((($(date +%s%N) - t0) / 1000000)) ms"
check "QEMU has exited" eval '! proc_alive "$qemu_pid"'
check "e1000e is back on e1000e" [ "$(pci_driver "$nic")" = e1000e ]
check "edu is back on no driver" [ "$(pci_driver "$edu")" = none ]
check "driver_override is clear on both" \
    [ "$(pci_override "$nic")" = "(null)" -a "$(pci_override "$edu")" = "(null)" ]
check "/dev/vfio/$nic_group and /dev/vfio/$edu_group are gone" \
    wait_for 5 test ! -e "/dev/vfio/$nic_group" -a ! -e "/dev/vfio/$edu_group"
check "the runtime directory is gone" test ! -e "$(vm_run_dir $NAME)"
check "every PCI function is as before the run" [ "$(pci_snapshot)" = "$before" ]
vm_keep_log $NAME

# --- 2. One function of a multi-function group: refused, nothing changed
# The ICH9 LPC bridge (00:1f.0) shares its group with the SATA and SMBus
# functions. Function 0 it is: a profile naming 00:1f.2 alone is refused
# earlier, by the profile check (a guest finds no function 2 without a
# function 0 in its slot), and never reaches the group check.
lpc=0000:00:1f.0
if [ -e /sys/bus/pci/devices/$lpc ]; then
    members=
    for m in /sys/bus/pci/devices/$lpc/iommu_group/devices/*; do
        [ "${m##*/}" = $lpc ] || members="$members${m##*/} "
    done
    note "IOMMU group $(pci_group $lpc) of $lpc also holds: $members"
    check "$lpc shares its group with other functions" [ -n "$members" ]
    bad=$(lab_profile labgroup "{
      \"name\": \"labgroup\",
      \"qemu\": { \"accel\": \"tcg\" },
      \"cpu\": { \"model\": \"qemu64\" },
      \"memory\": { \"size\": \"128M\" },
      \"pci\": [ { \"address\": \"$lpc\" } ],
      \"serial\": \"none\"
    }")
    before=$(pci_snapshot)
    rc=0
    vm_start "$out/start-group.txt" "$bad" || rc=$?
    msg=$(cat "$out/start-group.txt")
    note "vmrun said: $(head -c 600 <<<"$msg")"
    check "the start is refused with exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    check "the message says the group is not viable" grep -q "not viable" <<<"$msg"
    for m in $members; do
        check "the message names $m" grep -q "$m" <<<"$msg"
    done
    check "nothing changed: every driver and driver_override as before" \
        [ "$(pci_snapshot)" = "$before" ]
    check "no runtime directory is left" test ! -e "$(vm_run_dir labgroup)"
else
    fail "$lpc (ICH9 LPC) is missing from L1"
fi

# --- 3. The supervisor killed with SIGKILL, then `vmrun recover`
if vm_start "$out/start2.txt" "$profile"; then
    pass "vmrun start --detach again"
    sup_pid=$(vm_pid $NAME supervisor)
    qemu_pid=$(vm_pid $NAME qemu)
    check "e1000e is on vfio-pci before the kill" [ "$(pci_driver "$nic")" = vfio-pci ]
    check "the supervisor (pid ${sup_pid:-none}) and QEMU (pid ${qemu_pid:-none}) run" \
        eval 'proc_alive "${sup_pid:-0}" && proc_alive "${qemu_pid:-0}"'
    vm_keep_log $NAME
    kill -KILL "$sup_pid"
    check "QEMU died with its supervisor" wait_for 10 eval '! proc_alive "$qemu_pid"'
    check "the devices are still on vfio-pci (only the journal knows them)" \
        [ "$(pci_driver "$nic")" = vfio-pci -a "$(pci_driver "$edu")" = vfio-pci ]
    check "the journal is left in $(vm_run_dir $NAME)" test -s "$(vm_run_dir $NAME)/journal"
    "$VMRUN" recover $NAME >"$out/recover.txt" 2>&1
    rc=$?
    note "vmrun recover said: $(tr '\n' ' ' <"$out/recover.txt")"
    check "vmrun recover $NAME exits 0 (got $rc)" [ "$rc" -eq 0 ]
    check "after recover: e1000e on e1000e, edu on none, driver_override clear" devices_back
    check "after recover: the runtime directory is gone" test ! -e "$(vm_run_dir $NAME)"
    check "after recover: state is absent" [ "$(vm_state $NAME)" = absent ]
else
    fail "vmrun start --detach again: $(cat "$out/start2.txt")"
    vm_keep_log $NAME
fi

finish
