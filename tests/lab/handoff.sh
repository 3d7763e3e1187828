#!/bin/bash
# "One GPU for host and guest", on L1's real kernel (run by run-lab.sh
# --writable-root inside L1): the boot display is QEMU's VGA on the root
# complex, driven by the bochs DRM driver (loaded here) with fbcon on it
# (vtcon1) and /dev/dri/card0 held by a display manager. L1 has no systemd:
# the display manager is a stand-in (tests/handoff/systemctl-standin.sh
# installed as /usr/bin/systemctl): a process holding the VGA's card node,
# in the cgroup /system.slice/lab-display.service, that `systemctl stop`
# ends and `start` brings back. It is no display-manager.service, so only
# the profile naming it (handoff.display_manager) has vmrun stop it.
# Everything else is the kernel's.
#   1. a process outside the display manager holds card0: refused, named
#      with its pid, nothing changed;
#   2. handoff: the display manager stopped, vtcon1 unbound, bochs-drm
#      unbound, vfio-pci bound, the inner QEMU sees 1234:1111 (query-pci);
#      after `vmrun stop` all of it back: bochs-drm, card0, fb0, vtcon1,
#      the display manager;
#   3. the supervisor killed with SIGKILL mid-VM, then `vmrun recover`:
#      everything back as before.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labhandoff
QMP2=/run/lab-handoff-qmp2.sock
out=$VMRUN_LAB_OUT

vga=$(pci_boot_vga) || vga=
check "the boot VGA device is there${vga:+: $vga ($(cat /sys/bus/pci/devices/$vga/vendor):$(cat /sys/bus/pci/devices/$vga/device))}" [ -n "$vga" ]
[ -n "$vga" ] || finish
D=/sys/bus/pci/devices/$vga
t0=$(date +%s%N)
check "modprobe bochs" modprobe bochs
note "bochs loaded in $((($(date +%s%N) - t0) / 1000000)) ms"
check "bochs-drm drives the VGA" wait_for 10 eval '[ "$(pci_driver "$vga")" = bochs-drm ]'
card=$(ls "$D/drm" 2>/dev/null | grep -m1 '^card') || card=
check "the VGA has a DRM card node${card:+ (/dev/dri/$card)}" test -n "$card" -a -c "/dev/dri/$card"
check "the VGA has a framebuffer ($(ls "$D/graphics" 2>/dev/null | tr '\n' ' '))" test -d "$D/graphics"
check "vtcon1 is fbcon, bound" eval 'grep -q "frame buffer device" /sys/class/vtconsole/vtcon1/name && [ "$(vtcon_bind 1)" = 1 ]'
[ -n "$card" ] || finish

check "the systemctl stand-in is installed" install_systemctl_standin
printf 'holds=/dev/dri/%s\n' "$card" >/run/lab-systemd/units/lab-display.service
check "systemctl start lab-display.service" systemctl start lab-display.service
dm_pid() { cat /run/lab-systemd/run/lab-display.service.pid 2>/dev/null; }
dm_holds() {
    local p
    p=$(dm_pid) && [ -n "$p" ] && proc_alive "$p" && [ "$(readlink "/proc/$p/fd/3")" = "/dev/dri/$card" ]
}
check "the display manager (pid $(dm_pid)) holds /dev/dri/$card" dm_holds
check "... from the cgroup /system.slice/lab-display.service" \
    grep -qx "0::/system.slice/lab-display.service" "/proc/$(dm_pid)/cgroup"

# state: what must be the same before and after.
state() {
    echo "vga $(pci_driver "$vga") $(pci_override "$vga") card $(ls "$D/drm" 2>/dev/null | grep -c '^card')" \
        "fb $(ls "$D/graphics" 2>/dev/null | wc -l) vtcon1 $(vtcon_bind 1) dm $(dm_holds && echo up || echo down)"
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
  \"handoff\": { \"display_manager\": \"lab-display.service\", \"timeout\": 20 },
  \"serial\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}")

# --- 1. A holder the display manager's stop will not end: refused.
sleep 1000000 3<"/dev/dri/$card" &
holder=$!
rc=0
vm_start "$out/start-held.txt" "$profile" || rc=$?
msg=$(cat "$out/start-held.txt")
note "vmrun said: $(head -c 500 <<<"$msg")"
check "a foreign holder: the start is refused (exit 1, got $rc)" [ "$rc" -eq 1 ]
check "the refusal names sleep (pid $holder) and /dev/dri/$card" grep -q "sleep (pid $holder) has /dev/dri/$card open" <<<"$msg"
check "the refusal does not name the display manager's process" eval '! grep -q "(pid $(dm_pid))" <<<"$msg"'
check "nothing changed: driver, card, framebuffer, console, display manager" [ "$(state)" = "$before" ]
kill "$holder"
wait "$holder" 2>/dev/null

# --- 2. Handoff, the inner VM, and back.
t0=$(date +%s%N)
if vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach: the VGA handed over ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    vm_keep_log $NAME
    finish
fi
vm_keep_log $NAME
grep -h "handoff:" "$(vm_run_dir $NAME)/log" | sed 's/^/# /'
check "vmrun stopped the unit handoff.display_manager names" \
    grep -q "handoff: stopping lab-display.service" "$(vm_run_dir $NAME)/log"
check "the display manager is stopped" eval '! dm_holds'
check "vtcon1 is unbound" [ "$(vtcon_bind 1)" = 0 ]
check "the VGA is on vfio-pci" [ "$(pci_driver "$vga")" = vfio-pci ]
check "its DRM card and framebuffer are gone" test ! -e "$D/drm" -a ! -e "$D/graphics"
if wait_for 10 test -S $QMP2 && ids=$(qmp_pci_ids $QMP2); then
    note "the inner guest's PCI functions: $(echo "$ids" | tr '\n' ' ')"
    check "the inner guest sees the VGA 1234:1111 (query-pci)" grep -qx 1234:1111 <<<"$ids"
else
    fail "query-pci on the second QMP monitor $QMP2"
fi
t0=$(date +%s%N)
check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
note "stop and give back took $((($(date +%s%N) - t0) / 1000000)) ms"
vm_keep_log $NAME
grep -h "undo" "/var/lib/vmrun/$NAME/last.log" 2>/dev/null | sed 's/^/# /'
check "bochs-drm drives the VGA again" [ "$(pci_driver "$vga")" = bochs-drm ]
check "its DRM card node is back" eval 'ls "$D/drm" | grep -q "^card"'
check "its framebuffer is back ($(ls "$D/graphics" 2>/dev/null | tr '\n' ' '))" test -d "$D/graphics"
check "vtcon1 is bound again" [ "$(vtcon_bind 1)" = 1 ]
check "the display manager runs again and holds the card" wait_for 5 dm_holds
check "everything is as before" [ "$(state)" = "$before" ]

# --- 3. SIGKILL of the supervisor mid-VM, then recover.
if vm_start "$out/start2.txt" "$profile"; then
    pass "vmrun start --detach again"
    sup=$(vm_pid $NAME supervisor)
    qemu=$(vm_pid $NAME qemu)
    check "handed over again (vfio-pci, vtcon1 0, display manager down)" \
        eval '[ "$(pci_driver "$vga")" = vfio-pci ] && [ "$(vtcon_bind 1)" = 0 ] && ! dm_holds'
    kill -KILL "$sup"
    check "QEMU died with its supervisor" wait_for 10 eval '! proc_alive "$qemu"'
    check "the display is still the VM's (only the journal knows)" [ "$(pci_driver "$vga")" = vfio-pci ]
    "$VMRUN" recover $NAME >"$out/recover.txt" 2>&1
    rc=$?
    sed 's/^/# /' "$out/recover.txt"
    check "vmrun recover exits 0 (got $rc)" [ "$rc" -eq 0 ]
    check "after recover: bochs-drm, card, framebuffer, vtcon1 and the display manager back" \
        wait_for 5 eval '[ "$(state)" = "$before" ]'
else
    fail "vmrun start --detach again: $(cat "$out/start2.txt")"
    vm_keep_log $NAME
fi
systemctl stop lab-display.service
finish
