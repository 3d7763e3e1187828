#!/bin/bash
# Device health and option ROMs, on L1's real kernel (run by run-lab.sh
# --writable-root inside L1), with the e1000e NIC (reset methods "pm bus",
# d3cold_allowed 1, QEMU's iPXE ROM with an x86 and an EFI image), the boot
# VGA (its ROM is the shadow copy SeaBIOS ran) and the bochs-display.
#   1. pci[].reset_method "bus" and D3cold: "bus" and d3cold_allowed 0 while
#      the VM runs, "pm bus" and 1 again after;
#   2. a device that stops answering: the test build's seam
#      VMRUN_TEST_PCI_DEAD makes vmrun read the NIC's config space as
#      0xffff once (a real device here always answers); the rest is real:
#      vmrun does not give it to e1000e but removes it and rescans the bus,
#      the kernel finds it again and e1000e takes it, and vmrun says so;
#   3. vmrun rom dump through sysfs: the NIC's ROM (valid, with its EFI
#      image, the same bytes as QEMU's efi-e1000e.rom), the boot VGA's
#      refused (a shadow copy), a file that exists refused; through sudo the
#      file is the caller's;
#   4. pci[].rom: `vmrun check` passes the dumped ROM and fails another
#      card's; a start with another card's ROM is refused, nothing changed;
#      a start with the dumped one hands QEMU the file (romfile=, an fd).
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

E1000E=8086:10d3
NAME=labhealth
out=$VMRUN_LAB_OUT
nic=$(pci_find $E1000E) || nic=
check "e1000e ($E1000E) found${nic:+ at $nic}" [ -n "$nic" ]
[ -n "$nic" ] || finish
N=/sys/bus/pci/devices/$nic
reset0=$(cat $N/reset_method)
d3=$(cat $N/d3cold_allowed)
note "the NIC: reset_method \"$reset0\", d3cold_allowed $d3, driver $(pci_driver "$nic")"
check "the NIC offers the bus reset and may enter D3cold" eval '[[ " $reset0 " == *" bus "* ]] && [ "$d3" = 1 ]'
enumerated() { dmesg | grep -c "pci $nic: \[8086:10d3\] type 00"; }

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\" },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$nic\", \"reset_method\": \"bus\" } ],
  \"serial\": \"none\"
}")

# --- 1 and 2: reset method, D3cold, and a device that does not answer.
seen=$(enumerated)
if VMRUN_TEST_PCI_DEAD=$nic vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach (the NIC to read as 0xffff at the end)"
    check "reset_method is \"bus\" while the VM runs" [ "$(cat $N/reset_method)" = bus ]
    check "d3cold_allowed is 0 while the VM runs" [ "$(cat $N/d3cold_allowed)" = 0 ]
    check "the NIC is on vfio-pci" [ "$(pci_driver "$nic")" = vfio-pci ]
    check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
    vm_keep_log $NAME
    log=/var/lib/vmrun/$NAME/last.log
    grep -h "undo" "$log" | sed 's/^/# /'
    check "vmrun says the NIC did not answer, and came back after remove + rescan" \
        grep -q "done (it did not answer after the VM (its config space reads 0xffff, power state D0); removed from the bus and rescanned, it came back)" "$log"
    check "the kernel enumerated the NIC again (dmesg: $seen -> $(enumerated))" [ "$(enumerated)" -gt "$seen" ]
    check "e1000e drives the NIC again" [ "$(pci_driver "$nic")" = e1000e ]
    check "driver_override is clear" [ "$(pci_override "$nic")" = "(null)" ]
    check "reset_method is \"$reset0\" again" [ "$(cat $N/reset_method)" = "$reset0" ]
    check "d3cold_allowed is $d3 again" [ "$(cat $N/d3cold_allowed)" = "$d3" ]
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    vm_keep_log $NAME
fi

# --- 3. vmrun rom dump.
rom=/tmp/lab-nic.rom
rm -f $rom
check "vmrun rom dump $nic $rom" "$VMRUN" rom dump "$nic" $rom
note "$("$VMRUN" rom check $rom "$nic" --uefi 2>&1)"
check "the dump is a ROM for the NIC with an EFI image" "$VMRUN" rom check $rom "$nic" --uefi
check "ROM reading is switched off again" eval '! head -c 2 $N/rom >/dev/null 2>&1'
# The ROM L1's QEMU gave its e1000e (package ipxe-qemu, a QEMU dependency).
ipxe=/usr/lib/ipxe/qemu/efi-e1000e.rom
check "QEMU's $ipxe is there to compare with" test -f $ipxe
check "it is QEMU's efi-e1000e.rom, byte for byte ($(stat -c %s $rom 2>/dev/null) bytes)" \
    eval '[ -s $rom ] && cmp -n "$(stat -c %s $rom)" $rom $ipxe'
rc=0
"$VMRUN" rom dump "$nic" $rom >"$out/dump-exists.txt" 2>&1 || rc=$?
check "a dump over an existing file is refused (exit $rc)" eval '[ $rc -eq 1 ] && grep -q "File exists" "$out/dump-exists.txt"'
vga=$(pci_boot_vga) || vga=
rc=0
"$VMRUN" rom dump "$vga" /tmp/lab-vga.rom >"$out/dump-vga.txt" 2>&1 || rc=$?
note "$(cat "$out/dump-vga.txt")"
check "the boot VGA's ROM is refused (exit $rc), and no file is left" \
    eval '[ $rc -eq 1 ] && grep -q "is the boot VGA device" "$out/dump-vga.txt" && [ ! -e /tmp/lab-vga.rom ]'
bd=
for d in /sys/bus/pci/devices/*; do [ "$(cat "$d/class")" = 0x038000 ] && bd=$(basename "$d"); done
other=/tmp/lab-bochs.rom
rm -f $other
check "vmrun rom dump of the bochs-display ($bd)" "$VMRUN" rom dump "$bd" $other
# Through real sudo, as an ordinary user, the installed vmrun writes the
# dump with the caller's rights.
check "user labdump with a sudo rule for the installed vmrun" lab_sudo_user labdump
uid=$(id -u labdump)
rm -f /tmp/lab-user.rom
vmrun_sudo labdump rom dump "$nic" /tmp/lab-user.rom >"$out/dump-sudo.txt" 2>&1
check "as labdump: sudo vmrun rom dump $nic (exit $?)" test -s /tmp/lab-user.rom
check "through sudo the dumped file is the caller's ($(stat -c %U /tmp/lab-user.rom 2>/dev/null))" \
    [ "$(stat -c %u /tmp/lab-user.rom 2>/dev/null)" = "$uid" ]

# --- 4. pci[].rom
good=$(lab_profile labromgood "{ \"name\": \"labromgood\", \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\" }, \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$nic\", \"rom\": \"$rom\" } ], \"serial\": \"none\" }")
bad=$(lab_profile labrombad "{ \"name\": \"labrombad\", \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\" }, \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$nic\", \"rom\": \"$other\" } ], \"serial\": \"none\" }")
"$VMRUN" check "$good" >"$out/check-good.txt" 2>&1
grep "rom" "$out/check-good.txt" | sed 's/^/# /'
check "vmrun check: the NIC's own ROM passes" grep -q "^PASS  pci\[0\].rom" "$out/check-good.txt"
"$VMRUN" check "$bad" >"$out/check-bad.txt" 2>&1
grep "rom" "$out/check-bad.txt" | sed 's/^/# /'
check "vmrun check: the bochs-display's ROM fails for the NIC" \
    grep -q "^FAIL  pci\[0\].rom .*it is a ROM for 1234:1111, not for this device (8086:10d3)" "$out/check-bad.txt"
before=$(pci_snapshot)
rc=0
vm_start "$out/start-bad.txt" "$bad" || rc=$?
check "a start with another card's ROM is refused (exit $rc)" \
    eval '[ $rc -eq 1 ] && grep -q "pci\[0\].rom: $other: it is a ROM for 1234:1111" "$out/start-bad.txt"'
check "nothing changed" [ "$(pci_snapshot)" = "$before" ]
if vm_start "$out/start-good.txt" "$good"; then
    q=$(vm_pid labromgood qemu)
    # QEMU is handed the file as an fd (romfile=/proc/self/fd/N).
    romfd=$(tr "\0" "\n" <"/proc/$q/cmdline" | sed -n 's|.*romfile=/proc/self/fd/\([0-9]*\).*|\1|p')
    check "QEMU gets the ROM file (romfile=/proc/self/fd/${romfd:-?} -> $(readlink "/proc/$q/fd/$romfd" 2>/dev/null))" \
        eval '[ -n "$romfd" ] && [ "$(readlink "/proc/$q/fd/$romfd")" = "$rom" ]'
    check "vmrun stop labromgood --force" "$VMRUN" stop labromgood --force
    check "the NIC is back on e1000e" [ "$(pci_driver "$nic")" = e1000e ]
else
    fail "vmrun start with the NIC's own ROM: $(cat "$out/start-good.txt")"
fi
finish
