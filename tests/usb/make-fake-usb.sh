#!/bin/bash
# Build a simulated host's USB devices for the USB tests: DIR/sys, DIR/proc
# and DIR/dev laid out like the kernel's (device directories under
# sys/devices, relative symlinks from bus/usb/devices, each device's "port"
# link to its hub port and each port's "peer", class/block, class/input,
# class/net, proc/self/mountinfo, dev/bus/usb/BBB/DDD). The nodes under dev
# are plain files: a real device node cannot be made for a device this
# machine does not have, so opening one for QEMU fails the node check.
#
#   make-fake-usb.sh DIR
#
# Point vmrun at it with VMRUN_SYSFS_ROOT=DIR/sys VMRUN_DEV_ROOT=DIR/dev
# (and VMRUN_PROCFS_ROOT=DIR/proc for its mounts).
#
# One xHCI controller: bus 1 (USB 2, root ports 1-4) and bus 2 (USB 3, root
# ports 1-4), each port the other bus's same port's peer.
#   1-1      hub 05e3:0610 (class 09) with two devices behind it:
#   1-1.2    keyboard 046d:c31c "USB Keyboard" (HID; input3 is a keyboard)
#   1-1.3    disk 0781:5581 "Ultra" (mass storage; sdb1 mounted on /media/usb)
#   1-2      game controller 045e:02ea "Controller" serial 3032363030 (class ff)
#   1-4      game controller 045e:02ea "Controller" serial 9999999999 (class ff)
#   2-3      USB 3 headset 1038:12ad "Arctis" (audio 01 + HID 03 interfaces),
#            at the SuperSpeed half of root port 3's connector
#   1-2 and 1-4 have the same ids: a rule by ids alone takes both.
set -euo pipefail

root=${1:?usage: make-fake-usb.sh DIR}
mkdir -p "$root"
root=$(cd "$root" && pwd)
sys=$root/sys proc=$root/proc dev=$root/dev
hc=$sys/devices/pci0000:00/0000:00:14.0
mkdir -p "$hc" "$sys/bus/usb/devices" "$sys/class/block" "$sys/class/input" "$sys/class/net" \
    "$proc/self" "$dev/bus/usb/001" "$dev/bus/usb/002"
: >"$sys/bus/usb/drivers_probe"
: >"$proc/self/mountinfo"
: >"$proc/swaps"

# rel FROM TO: TO as a path relative to the directory FROM.
rel() { realpath -m --relative-to="$1" "$2"; }

# roothub BUS SPEED: usbBUS with its interface BUS-0:1.0 and ports 1-4.
roothub() {
    local b=$1 d=$hc/usb$1
    mkdir -p "$d/$b-0:1.0"
    printf '%s\n' "$b" >"$d/busnum"
    echo 1 >"$d/devnum"
    echo 1d6b >"$d/idVendor"
    printf '000%s\n' "$((b + 1))" >"$d/idProduct"
    echo 09 >"$d/bDeviceClass"
    echo 1 >"$d/bConfigurationValue"
    echo "$2" >"$d/speed"
    echo "189:$(((b - 1) * 128))" >"$d/dev"
    echo 09 >"$d/$b-0:1.0/bInterfaceClass"
    for p in 1 2 3 4; do mkdir -p "$d/$b-0:1.0/usb$b-port$p"; done
    ln -s "$(rel "$sys/bus/usb/devices" "$d")" "$sys/bus/usb/devices/usb$b"
    ln -s "$(rel "$sys/bus/usb/devices" "$d/$b-0:1.0")" "$sys/bus/usb/devices/$b-0:1.0"
}
roothub 1 480
roothub 2 5000
for p in 1 2 3 4; do
    ln -s "$(rel "$hc/usb1/1-0:1.0/usb1-port$p" "$hc/usb2/2-0:1.0/usb2-port$p")" \
        "$hc/usb1/1-0:1.0/usb1-port$p/peer"
    ln -s "$(rel "$hc/usb2/2-0:1.0/usb2-port$p" "$hc/usb1/1-0:1.0/usb1-port$p")" \
        "$hc/usb2/2-0:1.0/usb2-port$p/peer"
done

# device PARENTDIR PORT PORTDIR DEVNUM VID PID CLASS SPEED NAME SERIAL IFCLASS...
# A device at PORT under PARENTDIR, whose hub port device is PORTDIR.
device() {
    local parent=$1 port=$2 portdir=$3 devnum=$4 vid=$5 pid=$6 class=$7 speed=$8 name=$9
    local serial=${10}
    shift 10
    local bus=${port%%-*} d=$parent/$port i=0
    mkdir -p "$d"
    echo "$bus" >"$d/busnum"
    echo "$devnum" >"$d/devnum"
    echo "$vid" >"$d/idVendor"
    echo "$pid" >"$d/idProduct"
    echo "$class" >"$d/bDeviceClass"
    echo 1 >"$d/bConfigurationValue"
    echo "$speed" >"$d/speed"
    echo "$name" >"$d/product"
    echo "Fake" >"$d/manufacturer"
    [ -z "$serial" ] || echo "$serial" >"$d/serial"
    echo "189:$(((bus - 1) * 128 + devnum - 1))" >"$d/dev"
    ln -s "$(rel "$d" "$portdir")" "$d/port"
    for c in "$@"; do
        mkdir -p "$d/$port:1.$i"
        echo "$c" >"$d/$port:1.$i/bInterfaceClass"
        i=$((i + 1))
    done
    ln -s "$(rel "$sys/bus/usb/devices" "$d")" "$sys/bus/usb/devices/$port"
    : >"$dev/bus/usb/$(printf %03d "$bus")/$(printf %03d "$devnum")"
}

device "$hc/usb1" 1-1 "$hc/usb1/1-0:1.0/usb1-port1" 2 05e3 0610 09 480 "USB2.0 Hub" "" 09
mkdir -p "$hc/usb1/1-1/1-1:1.0/1-1-port2" "$hc/usb1/1-1/1-1:1.0/1-1-port3"
device "$hc/usb1/1-1" 1-1.2 "$hc/usb1/1-1/1-1:1.0/1-1-port2" 3 046d c31c 00 1.5 "USB Keyboard" "" 03
device "$hc/usb1/1-1" 1-1.3 "$hc/usb1/1-1/1-1:1.0/1-1-port3" 4 0781 5581 00 480 "Ultra" \
    4C530001 08
device "$hc/usb1" 1-2 "$hc/usb1/1-0:1.0/usb1-port2" 5 045e 02ea ff 12 "Controller" 3032363030 ff
device "$hc/usb1" 1-4 "$hc/usb1/1-0:1.0/usb1-port4" 6 045e 02ea ff 12 "Controller" 9999999999 ff
device "$hc/usb2" 2-3 "$hc/usb2/2-0:1.0/usb2-port3" 2 1038 12ad 00 5000 "Arctis" "" 01 01 03

# The keyboard's input device: key events, and every key from Esc to D.
kbd=$hc/usb1/1-1/1-1.2/1-1.2:1.0/0003:046D:C31C.0001/input/input3
mkdir -p "$kbd/capabilities"
echo "USB Keyboard" >"$kbd/name"
echo 120013 >"$kbd/capabilities/ev"
echo "1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe" >"$kbd/capabilities/key"
ln -s "$(rel "$sys/class/input" "$kbd")" "$sys/class/input/input3"

# The disk: sdb, its partition sdb1 mounted on /media/usb.
blk=$hc/usb1/1-1/1-1.3/1-1.3:1.0/host6/target6:0:0/6:0:0:0/block/sdb
mkdir -p "$blk/sdb1"
echo 8:16 >"$blk/dev"
echo 8:17 >"$blk/sdb1/dev"
ln -s "$(rel "$sys/class/block" "$blk")" "$sys/class/block/sdb"
ln -s "$(rel "$sys/class/block" "$blk/sdb1")" "$sys/class/block/sdb1"
echo "88 29 8:17 / /media/usb rw,nosuid,nodev - vfat /dev/sdb1 rw" >"$proc/self/mountinfo"
