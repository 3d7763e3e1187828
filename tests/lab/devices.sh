#!/bin/bash
# Devices of the host given to the VM, on L1's real kernel (run by
# run-lab.sh --writable-root inside L1, with the lab guest of this checkout,
# which has uinput and a software USB device controller, and with a PCI test
# device of two functions, which share an IOMMU group as functions without
# ACS do: VMRUN_LAB_QEMU_ARGS in tests/lab.cmake).
# One inner QEMU (TCG, firmware only) is given:
#   - input[].evdev: a keyboard this script makes with uinput. QEMU grabs
#     it: a second EVIOCGRAB fails (EBUSY) while the VM runs;
#   - input[].grab_toggle "scrolllock": Ctrl+Ctrl (QEMU's default toggle)
#     leaves the grab alone, Scroll Lock makes QEMU let go (our EVIOCGRAB
#     succeeds); after the VM stops the keyboard is free;
#   - usb[]: a USB device plugged in through dummy_hcd and a gadget made in
#     configfs (vendor 046d, product c52b, product string "vmrun lab
#     gadget"): the inner guest has it attached (HMP info usb), and QEMU
#     has the host's device node open while the VM runs;
#   - pci[].bootindex: the PCI test device passed through with bootindex 1
#     is first in the boot order the guest firmware (SeaBIOS, on the debug
#     port) reads, and QEMU's vfio-pci device has bootindex 1 (qom-get);
#   - pci[].take_group: function 0 shares its IOMMU group with function 1;
#     with take_group both are on vfio-pci while the VM runs, the inner
#     guest sees only the one listed, and both are back on no driver
#     afterwards.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labdev
QMP2=/run/lab-dev-qmp.sock
DBG=/run/lab-dev-debugcon.log
TESTDEV=1b36:0005
HERE=$(dirname "$0")
out=$VMRUN_LAB_OUT

# --- the keyboard
check "/dev/uinput exists (module uinput)" test -c /dev/uinput
mkfifo /run/lab-kbd.ctl
python3 "$HERE/uinput_keyboard.py" </run/lab-kbd.ctl >/run/lab-kbd.out 2>&1 &
kbd_pid=$!
exec 3>/run/lab-kbd.ctl
wait_for 20 test -s /run/lab-kbd.out
kbd=$(head -n 1 /run/lab-kbd.out)
check "uinput keyboard at ${kbd:-none}" test -c "${kbd:-/nonexistent}"
grab() { python3 "$HERE/uinput_keyboard.py" grab "$kbd"; }
check "nobody holds the keyboard before the VM ($(grab))" [ "$(grab)" = grabbed ]

# --- the USB device: a gadget on dummy_hcd's device side
G=/sys/kernel/config/usb_gadget/lab
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
udc=$(ls /sys/class/udc 2>/dev/null | head -n 1)
check "a USB device controller exists (dummy_hcd: ${udc:-none})" [ -n "$udc" ]
if [ -n "$udc" ]; then
    mkdir -p $G/strings/0x409 $G/configs/c.1/strings/0x409 $G/functions/SourceSink.0
    echo 0x046d >$G/idVendor
    echo 0xc52b >$G/idProduct
    echo "vmrun lab" >$G/strings/0x409/manufacturer
    echo "vmrun lab gadget" >$G/strings/0x409/product
    echo "lab0001" >$G/strings/0x409/serialnumber
    echo "source/sink" >$G/configs/c.1/strings/0x409/configuration
    ln -s $G/functions/SourceSink.0 $G/configs/c.1/
    echo "$udc" >$G/UDC
fi
usbdev=
find_usbdev() {
    local d
    for d in /sys/bus/usb/devices/*; do
        [ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = 046d:c52b ] &&
            usbdev=$d && return 0
    done
    return 1
}
check "the host sees USB device 046d:c52b" wait_for 20 find_usbdev
note "USB device: $usbdev"

# --- the PCI test device's two functions, in one group
dev1=
dev2=
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0005 ] || continue
    if [ -z "$dev1" ]; then dev1=$(basename "$d"); else dev2=$(basename "$d"); fi
done
check "two PCI test functions ($TESTDEV): ${dev1:-none} ${dev2:-none}" [ -n "$dev1" ] && [ -n "$dev2" ]
[ -n "$dev1" ] && [ -n "$dev2" ] || finish
check "they share IOMMU group $(pci_group "$dev1")" [ "$(pci_group "$dev1")" = "$(pci_group "$dev2")" ]
check "both start without a driver" [ "$(pci_driver "$dev1")/$(pci_driver "$dev2")" = none/none ]

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-qmp\", \"unix:$QMP2,server=on,wait=off\",
             \"-chardev\", \"file,id=dbg,path=$DBG\", \"-device\", \"isa-debugcon,iobase=0x402,chardev=dbg\"] },
  \"cpu\": { \"model\": \"qemu64\", \"cores\": 1 },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$dev1\", \"bootindex\": 1, \"take_group\": true } ],
  \"usb\": [ { \"vendor\": \"046d\", \"product\": \"c52b\" } ],
  \"input\": [ { \"evdev\": \"$kbd\", \"grab_toggle\": \"scrolllock\" } ],
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

if vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach $profile"
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    note "$(cat /var/lib/vmrun/$NAME/last.log 2>/dev/null)"
    vm_keep_log $NAME
    finish
fi
vm_keep_log $NAME

# input
check "input.evdev: QEMU holds the keyboard (our EVIOCGRAB: $(grab))" [ "$(grab)" = EBUSY ]
echo "tap 29 97" >&3
sleep 1
check "grab_toggle scrolllock: Ctrl+Ctrl leaves the grab alone ($(grab))" [ "$(grab)" = EBUSY ]
echo "tap 70" >&3
check "grab_toggle scrolllock: Scroll Lock makes QEMU let go" wait_for 10 eval '[ "$(grab)" = grabbed ]'
echo "tap 70" >&3
check "grab_toggle scrolllock: Scroll Lock again and QEMU grabs it back" \
    wait_for 10 eval '[ "$(grab)" = EBUSY ]'

# usb
info=$(qmp $QMP2 human-monitor-command '{"command-line": "info usb"}' | jq -r .)
note "info usb: $info"
check "usb[]: the inner guest has the host's USB device attached" eval '[[ $info == *"vmrun lab gadget"* ]]'
node=$(printf '/dev/bus/usb/%03d/%03d' "$(cat "$usbdev/busnum")" "$(cat "$usbdev/devnum")")
qemu_pid=$(vm_pid $NAME qemu)
holds_node() {
    local fd
    for fd in /proc/"$qemu_pid"/fd/*; do
        [ "$(readlink "$fd")" = "$node" ] && return 0
    done
    return 1
}
check "usb[]: on the host, QEMU has the device ($node) open" holds_node

# pci: bootindex and take_group
check "take_group: $dev1 is on vfio-pci" [ "$(pci_driver "$dev1")" = vfio-pci ]
check "take_group: $dev2, in its group, is on vfio-pci too" [ "$(pci_driver "$dev2")" = vfio-pci ]
ids=$(qmp_pci_ids $QMP2 | grep -c "^$TESTDEV\$")
check "take_group: the inner guest has only the listed test device ($ids)" [ "$ids" = 1 ]
vfio=$(qmp $QMP2 qom-list '{"path": "/machine/peripheral-anon"}' |
    jq -r '.[] | select(.type == "child<vfio-pci>") | .name' | head -n 1)
bi=$(qmp $QMP2 qom-get "{\"path\": \"/machine/peripheral-anon/$vfio\", \"property\": \"bootindex\"}")
check "pci[].bootindex: QEMU's vfio-pci device has bootindex 1 ($bi)" [ "$bi" = 1 ]
check "pci[].bootindex: the guest firmware reads it first in its boot order" \
    wait_for 60 grep -q '^1: /pci@i0cf8/pci-bridge@' $DBG
note "firmware boot order: $(sed -n '/^boot order:/,/^[^0-9]/p' $DBG | tr '\n' ' ')"

check "vmrun stop" "$VMRUN" stop $NAME --force
check "after the stop the keyboard is free ($(grab))" wait_for 10 eval '[ "$(grab)" = grabbed ]'
check "after the stop both test devices are back on no driver" \
    [ "$(pci_driver "$dev1")/$(pci_driver "$dev2")" = none/none ]
check "after the stop driver_override is clear on both" \
    [ "$(pci_override "$dev1")/$(pci_override "$dev2")" = "(null)/(null)" ]
check "after the stop the host still has its USB device" test -e "$usbdev/idVendor"

# L1's /run is a tmpfs and /var/lib is not: the detached run's log is kept.
check "the detached run's log is kept as /var/lib/vmrun/$NAME/last.log" \
    grep -q "is running" /var/lib/vmrun/$NAME/last.log

exec 3>&-
wait "$kbd_pid" 2>/dev/null
finish
