#!/bin/bash
# Host USB devices following a VM's usb[] rules, on L1's real kernel (run by
# run-lab.sh --writable-root inside L1, with the lab guest of this checkout:
# dummy_hcd, the gadget framework with its source/sink and mass-storage
# functions, usb-storage, sd_mod, ext4).
#
# dummy_hcd is loaded again with three controllers, each a USB 2 and a USB 3
# bus whose root ports the kernel links as peers (one connector). Gadgets
# made in configfs are plugged in and out by binding their UDC. One inner
# QEMU (TCG, firmware only) has the rules
#   usb[0] {"port": P}                    controller 0's connector (its USB 2 half)
#   usb[1] {"vendor": "1209", "product": "0002", "serial": "lab-g1"}
#   usb[2] {"class": "storage"}
# and what is shown is:
#   - a disk (a mass-storage gadget) mounted on L1 before the start is taken
#     by no rule: the supervisor's log and `vmrun usb attach` say why
#     (mounted), and QEMU never has its node;
#   - usb[0]: a gadget plugged in after the start is in the VM (QEMU's
#     device usb0-PORT, HMP info usb), vmrun status lists it and QEMU holds
#     the node; unbinding its UDC unplugs it from the VM, binding brings it
#     back (timed, three times: plug-to-present); its idProduct changed (a
#     new enumeration) it stays, under the port rule; as a USB 3 device it
#     appears at the connector's SuperSpeed half and the same rule takes it
#     (5000 Mb/s in the VM);
#   - usb[1]: a gadget with those ids and that serial is in the VM; with its
#     idProduct changed it is not;
#   - usb[2]: the disk, unmounted and plugged in again, and a second disk:
#     both in the VM under the class rule, the host's usb-storage off them;
#   - by hand: vmrun usb detach takes a device out, vmrun usb attach gives a
#     device no rule names (id usbm-PORT) and refuses what does not exist;
#   - kill -9 of the supervisor with the disks in the VM: QEMU dies with it,
#     vmrun recover leaves no process, no runtime directory, no open node,
#     and gives the disks back to usb-storage.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labusb
QMP2=/run/lab-usb-qmp.sock
W=/run/lab-usb
CFG=/sys/kernel/config/usb_gadget
HERE=$(dirname "$0")
out=$VMRUN_LAB_OUT
mkdir -p $W/mnt1 $W/mnt2
# The supervisor's log, however the scenario ends.
trap 'vm_keep_log $NAME' EXIT

# --- the host's side: three dummy controllers, USB 2 and USB 3 each
for m in usb_f_ss_lb usb_f_mass_storage usb-storage sd_mod crc64_rocksoft_generic ext4; do
    modprobe "$m" || note "modprobe $m failed"
done
check "dummy_hcd loaded again with three controllers that speak USB 3" \
    eval 'rmmod dummy_hcd && modprobe dummy_hcd num=3 is_super_speed=1'
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
check "three UDCs" [ "$(ls /sys/class/udc | wc -l)" = 3 ]

# bus N SPEED: the bus of controller N whose root hub has that speed.
bus() {
    local r
    for r in /sys/devices/platform/dummy_hcd.$1/usb*; do
        [ "$(cat "$r/speed")" = "$2" ] && cat "$r/busnum" && return 0
    done
    return 1
}
hs0=$(bus 0 480)
ss0=$(bus 0 5000)
P=$hs0-1
check "controller 0's connector: USB 2 port $P, its peer the USB 3 port $ss0-1" \
    eval '[ "$(basename "$(readlink /sys/bus/usb/devices/usb$hs0/$hs0-0:1.0/usb$hs0-port1/peer)")" = usb$ss0-port1 ]'

# gadget NAME VID PID SPEED FUNCTION [FILE]: a gadget in configfs (not
# plugged in), serial NAME, function SourceSink or a mass-storage LUN on FILE.
gadget() {
    local g=$CFG/$1
    mkdir -p "$g/strings/0x409" "$g/configs/c.1/strings/0x409"
    echo "0x$2" >"$g/idVendor"
    echo "0x$3" >"$g/idProduct"
    echo "vmrun lab" >"$g/strings/0x409/manufacturer"
    echo "lab $1" >"$g/strings/0x409/product"
    echo "lab-$1" >"$g/strings/0x409/serialnumber"
    echo "$4" >"$g/max_speed"
    echo c >"$g/configs/c.1/strings/0x409/configuration"
    if [ "$5" = storage ]; then
        mkdir -p "$g/functions/mass_storage.0"
        echo "$6" >"$g/functions/mass_storage.0/lun.0/file"
        ln -s "$g/functions/mass_storage.0" "$g/configs/c.1/"
    else
        mkdir -p "$g/functions/SourceSink.0"
        ln -s "$g/functions/SourceSink.0" "$g/configs/c.1/"
    fi
}
ungadget() {
    local g=$CFG/$1
    echo "" >"$g/UDC" 2>/dev/null
    rm -f "$g"/configs/c.1/*.0
    rmdir "$g"/configs/c.1/strings/0x409 "$g"/configs/c.1 "$g"/functions/* "$g"/strings/0x409 "$g"
}
plug() { echo "dummy_udc.$2" >"$CFG/$1/UDC"; }
unplug() { echo "" >"$CFG/$1/UDC"; }
# port_of N: the port path of the device plugged into controller N.
port_of() {
    local d
    for d in /sys/devices/platform/dummy_hcd.$1/usb*/[0-9]*-1; do
        [ -e "$d/idVendor" ] && basename "$d" && return 0
    done
    return 1
}
# disk_of PORT: the disk below the USB device at PORT ("sda").
disk_of() {
    local dir b
    dir=$(realpath "/sys/bus/usb/devices/$1")
    for b in /sys/class/block/sd?; do
        case $(realpath "$b") in "$dir"/*) basename "$b" && return 0 ;; esac
    done
    return 1
}
driver_of() { basename "$(readlink "/sys/bus/usb/devices/$1/$1:1.0/driver" 2>/dev/null)"; }
vm_usb() { "$VMRUN" status $NAME --json | jq -r '[.usb[] | .id] | join(" ")'; }
vm_usb_field() { "$VMRUN" status $NAME --json | jq -r --arg id "$1" ".usb[] | select(.id == \$id) | .$2"; }
# qwait ID present|absent SECONDS: QEMU has (or has not) device ID within SECONDS.
qwait() { python3 "$HERE/usb_plug.py" $QMP2 wait "$1" "$2" "$3"; }
info_usb() { python3 "$HERE/usb_plug.py" $QMP2 info; }
node_of() { printf '/dev/bus/usb/%03d/%03d' "$(cat "/sys/bus/usb/devices/$1/busnum")" "$(cat "/sys/bus/usb/devices/$1/devnum")"; }
# holds PID NODE: the process has the node open.
holds() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd")" = "$2" ] && return 0
    done
    return 1
}
log() { cat "$(vm_run_dir $NAME)/log" 2>/dev/null; }
timed_plug() { python3 "$HERE/usb_plug.py" $QMP2 plug "$CFG/$1" "dummy_udc.$2" "$3"; }
timed_unplug() { python3 "$HERE/usb_plug.py" $QMP2 unplug "$CFG/$1" "$2"; }

# --- before the start: a disk of controller 2's, mounted on L1
truncate -s 16M $W/disk1.img && mkfs.ext4 -q -F $W/disk1.img
gadget disk1 1209 0003 high-speed storage $W/disk1.img
plug disk1 2
check "a mass-storage gadget is plugged in" wait_for 20 port_of 2
D1=$(port_of 2)
check "usb-storage gives it a disk" wait_for 20 disk_of "$D1"
sd1=$(disk_of "$D1")
check "its disk $sd1 is mounted on $W/mnt1" mount "/dev/$sd1" $W/mnt1

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-qmp\", \"unix:$QMP2,server=on,wait=off\"] },
  \"cpu\": { \"model\": \"qemu64\", \"cores\": 1 },
  \"memory\": { \"size\": \"128M\" },
  \"usb\": [ { \"port\": \"$P\" },
             { \"vendor\": \"1209\", \"product\": \"0002\", \"serial\": \"lab-g1\" },
             { \"class\": \"storage\" } ],
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish
"$VMRUN" check "$profile" >"$out/check.txt" 2>&1
check "vmrun check: QEMU's usb-host takes a node vmrun opens" grep -q 'PASS *qemu.usb' "$out/check.txt"
check "vmrun check: usb[2] would not take the mounted disk" \
    grep -q "WARN *usb\[2\].*$sd1 is mounted on $W/mnt1" "$out/check.txt"

if vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach $profile"
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    note "$(cat /var/lib/vmrun/$NAME/last.log 2>/dev/null)"
    vm_keep_log $NAME
    finish
fi
qemu=$(vm_pid $NAME qemu)
sup=$(vm_pid $NAME supervisor)

# --- the mounted disk: refused, with the reason
check "usb[2]: the mounted disk is not given to the VM, and the log says why" \
    eval 'log | grep -q "usb\[2\]: $D1 .* is not given to the VM: the host uses its disk: $sd1 is mounted on $W/mnt1"'
check "... and QEMU does not hold its node" eval '! holds $qemu "$(node_of "$D1")"'
"$VMRUN" usb $NAME attach "$D1" >"$out/attach-mounted.txt" 2>&1
rc=$?
check "vmrun usb attach of the mounted disk is refused (exit $rc): $(cat "$out/attach-mounted.txt")" \
    eval '[ $rc = 1 ] && grep -q "$sd1 is mounted on $W/mnt1" "$out/attach-mounted.txt"'
check "nothing is in the VM yet ($(vm_usb))" [ -z "$(vm_usb)" ]

# --- usb[0]: a port, plugged in after the start
gadget g0 1209 0001 high-speed sourcesink
ms=$(timed_plug g0 0 "usb0-$P") || ms=
check "usb[0]: the gadget plugged into port $P is in the VM as usb0-$P (${ms:-never} ms after the plug)" \
    [ -n "$ms" ]
echo "$ms" >>"$out/plug-ms.txt"
info=$(info_usb)
note "info usb: $info"
check "usb[0]: the inner guest has it (info usb: lab g0, 480 Mb/s)" \
    eval '[[ $info == *"ID: usb0-$P"* && $info == *"Product lab g0"* && $info == *"480 Mb/s"* ]]'
check "vmrun status lists usb0-$P, 1209:0001, by usb[0]" \
    eval '[ "$(vm_usb_field usb0-$P vendor):$(vm_usb_field usb0-$P product):$(vm_usb_field usb0-$P rule)" = 1209:0001:0 ]'
"$VMRUN" status $NAME >"$out/status.txt" 2>&1
check "vmrun status shows it" grep -q "usb0-$P *1209:0001 at $P" "$out/status.txt"
check "QEMU holds the device's node $(node_of "$P")" holds "$qemu" "$(node_of "$P")"
ev=$(log | sed -n "s/.*gave $P .* as usb0-$P (\([0-9]*\) ms after the kernel's event).*/\1/p" | tail -n 1)
note "vmrun: usb0-$P in QEMU ${ev:-?} ms after the kernel's event"
echo "${ev:-?}" >>"$out/event-ms.txt"

# Unbind, bind: out of the VM, back in.
for i in 1 2 3; do
    ms=$(timed_unplug g0 "usb0-$P") || ms=
    [ -n "$ms" ] || { fail "unbinding the UDC takes usb0-$P out of the VM (round $i)"; break; }
    ms=$(timed_plug g0 0 "usb0-$P") || ms=
    [ -n "$ms" ] || { fail "binding the UDC again brings usb0-$P back (round $i)"; break; }
    echo "$ms" >>"$out/plug-ms.txt"
    ev=$(log | sed -n "s/.*gave $P .* as usb0-$P (\([0-9]*\) ms after the kernel's event).*/\1/p" | tail -n 1)
    echo "${ev:-?}" >>"$out/event-ms.txt"
done
check "usb[0]: three times out of the VM when unbound and back when bound" \
    [ "$(wc -l <"$out/plug-ms.txt")" = 4 ]
note "plug to present in QEMU (ms): $(tr '\n' ' ' <"$out/plug-ms.txt")"
note "kernel event to present in QEMU (ms): $(tr '\n' ' ' <"$out/event-ms.txt")"
check "the log says why it left (unplugged from the host)" \
    eval 'log | grep -q "usb0-$P .* unplugged from the VM: it was unplugged from the host"'

# A new idProduct: another device to the kernel, the same port to the rule.
unplug g0
qwait usb0-$P absent 20
echo 0x0005 >$CFG/g0/idProduct
plug g0 0
check "usb[0]: with idProduct 0005 it is in the VM again, at the same port" \
    wait_for 30 eval '[ "$(vm_usb_field usb0-$P product)" = 0005 ]'

# USB 3 at the same connector: the SuperSpeed half, the same rule.
unplug g0
qwait usb0-$P absent 20
echo super-speed >$CFG/g0/max_speed
plug g0 0
check "as a USB 3 device it appears at the connector's other port $ss0-1" wait_for 20 eval '[ "$(port_of 0)" = $ss0-1 ]'
check "usb[0] takes it there too, as usb0-$ss0-1" qwait "usb0-$ss0-1" present 30
info=$(info_usb)
check "the inner guest has it at 5000 Mb/s" eval '[[ $info == *"5000 Mb/s"*"ID: usb0-$ss0-1"* ]]'
unplug g0
check "and unplugged, it leaves" qwait usb0-$ss0-1 absent 30

# --- usb[1]: vendor, product and serial
gadget g1 1209 0002 high-speed sourcesink
plug g1 1
check "usb[1]: 1209:0002 serial lab-g1 is plugged in" wait_for 20 port_of 1
G1=$(port_of 1)
check "usb[1]: it is in the VM as usb1-$G1" qwait "usb1-$G1" present 30
unplug g1
qwait usb1-$G1 absent 20
echo 0x0006 >$CFG/g1/idProduct
plug g1 1
wait_for 20 eval '[ "$(cat /sys/bus/usb/devices/$G1/idProduct 2>/dev/null)" = 0006 ]'
sleep 2 # what vmrun would do, it does within this
check "usb[1]: with idProduct 0006 it is no longer taken" eval 'qwait usb1-$G1 absent 0 && [ -z "$(vm_usb_field usb1-$G1 id)" ]'

# --- by hand: a device no rule names
ms=$("$VMRUN" usb $NAME attach 1209:0006 2>&1)
check "vmrun usb attach 1209:0006: $ms" qwait "usbm-$G1" present 10
check "vmrun status lists it as given by hand" eval '[ "$(vm_usb_field usbm-$G1 rule)" = null ]'
"$VMRUN" usb $NAME detach "usbm-$G1" >"$out/detach.txt" 2>&1
check "vmrun usb detach usbm-$G1: $(cat "$out/detach.txt")" eval 'qwait usbm-$G1 absent 5 && [ -z "$(vm_usb)" ]'
"$VMRUN" usb $NAME attach 9-9 >"$out/attach-none.txt" 2>&1
rc=$?
check "vmrun usb attach of a port with nothing there fails (exit $rc): $(cat "$out/attach-none.txt")" \
    eval '[ $rc = 1 ] && grep -q "no USB device at port 9-9" "$out/attach-none.txt"'

# --- usb[2]: the class rule takes two disks
umount $W/mnt1
unplug disk1
wait_for 20 eval '! port_of 2'
plug disk1 2
check "usb[2]: the disk, unmounted and plugged in again, is in the VM as usb2-$D1" \
    qwait "usb2-$D1" present 30
ungadget g1
truncate -s 16M $W/disk2.img && mkfs.ext4 -q -F $W/disk2.img
gadget disk2 1209 0004 high-speed storage $W/disk2.img
plug disk2 1
check "usb[2]: a second disk, plugged in, is in the VM as usb2-$G1" qwait "usb2-$G1" present 30
check "vmrun status: both disks under usb[2]" \
    eval '[ "$(vm_usb_field usb2-$D1 rule)/$(vm_usb_field usb2-$G1 rule)" = 2/2 ]'
check "the host's usb-storage is off them ($(driver_of "$D1"), $(driver_of "$G1"))" \
    eval '[ "$(driver_of "$D1")" != usb-storage ] && [ "$(driver_of "$G1")" != usb-storage ]'
vm_keep_log $NAME

# --- kill -9 of the supervisor, then recover
kill -9 "$sup"
check "after SIGKILL of the supervisor, QEMU dies with it" wait_for 20 eval '! proc_alive $qemu'
# (Not vmrun status: as root it would recover the stale VM itself.)
check "its journal is left for recover" test -s "$(vm_run_dir $NAME)/journal"
"$VMRUN" recover $NAME >"$out/recover.txt" 2>&1
check "vmrun recover: $(tail -n 1 "$out/recover.txt")" grep -q "host restored" "$out/recover.txt"
check "recover undid the attach records" grep -q "USB device .* given to the VM as usb2-" "$out/recover.txt"
check "no runtime directory is left" [ ! -e "$(vm_run_dir $NAME)" ]
check "no vmrun or QEMU process is left" eval '! proc_alive $sup && ! proc_alive $qemu'
open_nodes() {
    local p fd
    for p in /proc/[0-9]*; do
        for fd in "$p"/fd/*; do
            case $(readlink "$fd" 2>/dev/null) in /dev/bus/usb/*) echo "${p#/proc/}" ;; esac
        done
    done
}
check "no process holds a USB node ($(open_nodes | tr '\n' ' '))" [ -z "$(open_nodes)" ]
check "both disks are back on usb-storage" \
    wait_for 20 eval '[ "$(driver_of "$D1")/$(driver_of "$G1")" = usb-storage/usb-storage ]'

ungadget disk1
ungadget disk2
ungadget g0
note "the scenario took $SECONDS s"
finish
