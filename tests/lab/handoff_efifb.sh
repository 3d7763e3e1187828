#!/bin/bash
# The firmware's framebuffer, on L1's real kernel: run by run-lab.sh --uefi
# --writable-root, so L1 boots through OVMF and the kernel's EFI stub, and
# the boot display (QEMU's VGA, no DRM driver loaded) shows the console
# through efifb: the platform device efi-framebuffer.0, whose memory sits
# in the VGA's BAR 0 (/proc/iomem), and fbcon on vtcon1. This is the
# classic single-GPU trap: nothing but the firmware's framebuffer holds the
# GPU, and vfio-pci cannot have its memory while efifb does.
#   handoff: vtcon1 unbound, efi-framebuffer.0 unbound from efi-framebuffer,
#   vfio-pci bound, the inner QEMU sees 1234:1111; after `vmrun stop` the VGA
#   is back on no driver, as it was.
# What the kernel does on its own, and vmrun reports: binding vfio-pci to a
# VGA device removes the firmware's framebuffer (Linux 6.0 and later, as a
# GPU's own DRM driver does), so efi-framebuffer.0 is gone for good after
# the VM and with it fbcon's vtcon1. The console then comes back with the
# GPU's own driver: loading bochs gives fb0 and a bound vtcon1 again.
# L1 has no systemd (and here no stand-in): handoff.display_manager "auto"
# finds none (systemctl answers that systemd is not running) and stops
# nothing.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labefifb
QMP2=/run/lab-efifb-qmp2.sock
out=$VMRUN_LAB_OUT
FB=/sys/bus/platform/devices/efi-framebuffer.0

vga=$(pci_boot_vga) || vga=
check "the boot VGA device is there${vga:+: $vga}" [ -n "$vga" ]
[ -n "$vga" ] || finish
check "efi-framebuffer.0 exists (L1 booted through UEFI)" test -e $FB
check "efi-framebuffer.0 is bound to efi-framebuffer (efifb)" \
    eval '[ "$(basename "$(readlink $FB/driver)")" = efi-framebuffer ]'
region=$(grep -B1 "efifb" /proc/iomem | tr -s ' ' | tr '\n' ' ')
note "/proc/iomem: $region"
check "efifb's memory is inside a BAR of $vga" grep -q "$vga" <<<"$region"
check "fb0 is efifb's ($(cat /proc/fb | tr '\n' ' '))" grep -q "EFI VGA" /proc/fb
check "vtcon1 is fbcon, bound" [ "$(vtcon_bind 1)" = 1 ]
check "no driver holds the VGA itself" [ "$(pci_driver "$vga")" = none ]

state() {
    echo "vga $(pci_driver "$vga") $(pci_override "$vga") efifb $(basename "$(readlink $FB/driver 2>/dev/null)" 2>/dev/null)" \
        "fb $(grep -c . /proc/fb) vtcon1 $(vtcon_bind 1)"
    pci_snapshot
}
before=$(state)
note "before: $(head -n 1 <<<"$before")"

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-qmp\", \"unix:$QMP2,server=on,wait=off\"] },
  \"cpu\": { \"model\": \"qemu64\" },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$vga\" } ],
  \"handoff\": { \"display_manager\": \"auto\", \"timeout\": 20 },
  \"serial\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}")
"$VMRUN" check "$profile" >"$out/check.txt" 2>&1
grep -E "handoff|pci $vga" "$out/check.txt" | sed 's/^/# /'
check "vmrun check names efi-framebuffer.0 on the GPU" grep -q "efi-framebuffer.0 on efi-framebuffer: its memory" "$out/check.txt"

t0=$(date +%s%N)
if vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    vm_keep_log $NAME
    finish
fi
vm_keep_log $NAME
log=$(vm_run_dir $NAME)/log
grep -h "handoff:\|binding to vfio-pci" "$log" | sed 's/^/# /'
check "no display manager was stopped (there is no systemd)" \
    grep -q "no display manager is stopped" "$log"
# What vmrun did, and in which order: the end state cannot tell, since
# binding vfio-pci to the VGA makes this kernel drop efifb, and with it
# fbcon's console, by itself (tests/lab/README.md).
line_of() { grep -n -m1 -F -- "$1" "$log" | cut -d: -f1; }
con=$(line_of "handoff: unbinding the frame-buffer console vtcon1")
fb=$(line_of "handoff: unbinding the boot framebuffer efi-framebuffer.0 from efi-framebuffer")
bind=$(grep -n -m1 -E -- "$vga .*: binding to vfio-pci" "$log" | cut -d: -f1)
check "vmrun unbound fbcon from vtcon1 itself (its log, line ${con:-none})" [ -n "$con" ]
check "vmrun unbound efi-framebuffer.0 from efifb itself (its log, line ${fb:-none})" [ -n "$fb" ]
check "... the console, then the framebuffer, then vfio-pci (lines ${con:-?} < ${fb:-?} < ${bind:-?})" \
    eval '[ -n "$con" ] && [ -n "$fb" ] && [ -n "$bind" ] && [ "$con" -lt "$fb" ] && [ "$fb" -lt "$bind" ]'
check "both are in the journal, so recover would undo them" \
    eval 'grep -q "\"op\":\"vtconsole-unbind\"" "$(vm_run_dir $NAME)/journal" &&
          grep -q "\"op\":\"platform-fb-unbind\".*efi-framebuffer.0" "$(vm_run_dir $NAME)/journal"'
# The end state, as vmrun and the kernel leave it.
check "vtcon1 is unbound (or gone with the last framebuffer)" [ "$(vtcon_bind 1)" != 1 ]
check "efi-framebuffer.0 is unbound (or gone)" test ! -e $FB/driver
check "the VGA is on vfio-pci" [ "$(pci_driver "$vga")" = vfio-pci ]
if wait_for 10 test -S $QMP2 && ids=$(qmp_pci_ids $QMP2); then
    check "the inner guest sees the VGA 1234:1111 (query-pci)" grep -qx 1234:1111 <<<"$ids"
else
    fail "query-pci on the second QMP monitor $QMP2"
fi
check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
vm_keep_log $NAME
grep -h "undo" "/var/lib/vmrun/$NAME/last.log" 2>/dev/null | sed 's/^/# /'
check "the VGA is back on no driver, driver_override clear" \
    [ "$(pci_driver "$vga")" = none -a "$(pci_override "$vga")" = "(null)" ]
check "every PCI function is as before" [ "$(pci_snapshot)" = "$(tail -n +2 <<<"$before")" ]
check "efi-framebuffer.0 is gone (the kernel removed it when vfio-pci took the VGA)" test ! -e $FB
check "vmrun's report says so and what brings the console back" \
    grep -q "efi-framebuffer.0 is gone: Linux removes the firmware's framebuffer for good" \
    "/var/lib/vmrun/$NAME/last.log"
check "modprobe bochs: the GPU's own driver takes it" modprobe bochs
check "bochs-drm drives the VGA" wait_for 10 eval '[ "$(pci_driver "$vga")" = bochs-drm ]'
check "a framebuffer on the VGA again ($(cat /proc/fb | tr '\n' ' '))" \
    wait_for 5 test -d "/sys/bus/pci/devices/$vga/graphics"
check "vtcon1 is fbcon's and bound again" wait_for 5 eval '[ "$(vtcon_bind 1)" = 1 ]'
finish
