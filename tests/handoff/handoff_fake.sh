#!/bin/bash
# The display handoff and device health of `vmrun start`, `vmrun recover`
# and the rollback of a failed start, on a simulated host
# (tests/pci/make-fake-host.sh, the sysfs simulator preloaded) with the
# systemctl stand-in (systemctl-standin.sh) as its systemd. The GPU handed
# over is the fake host's boot GPU 05:00.0 (amdgpu, card0, fb0, the
# firmware's efi-framebuffer.0 in its BAR 0, fbcon on vtcon1) and its audio
# function 05:00.1. What runs on the real kernel is in tests/lab/handoff*.sh.
#
# Each part changes one thing and checks what vmrun did to the tree, what
# it said and its exit status; every part ends with the simulated host
# exactly as before (a tree snapshot), or says why not.
set -uo pipefail

# shellcheck source=tests/handoff/lib.sh
. "$(dirname "$0")/lib.sh"
. "$VMRUN_SOURCE_DIR/tests/common/keylog.sh"
keylog_reset

# --- 0. `vmrun check` says what the handoff will take over, changing nothing.
snapshot >"$T/before"
P0=$(profile hocheck '{}' '"reset_method": "bus"')
vmrun_sim check "$P0" >"$T/check0.log" 2>&1
expect_check() {
    grep -qE -- "$1" "$T/check0.log" || fail "vmrun check: no line like '$1': $(grep -E 'handoff|pci 0000:05' "$T/check0.log")"
}
expect_check '^PASS  handoff gpu +the GPU handed over: 0000:05:00.0 \(driver amdgpu\)'
expect_check '^PASS  handoff boot_vga +0000:05:00.0 is the boot VGA device'
expect_check "^PASS  handoff framebuffers +on the GPU: fb0 of 0000:05:00.0 \(driver amdgpu\); the firmware's efi-framebuffer.0 on efi-framebuffer"
expect_check '^PASS  handoff consoles +frame-buffer consoles vtcon1 \(bound\)'
expect_check '^PASS  handoff display_manager +display-manager.service is fake-dm.service \(active\): stopped for the VM'
expect_check '^PASS  handoff holders +the GPU.s nodes are held only by what the stop ends: fake-fake-dm \(pid [0-9]+\) has .*/dev/dri/card0 open'
expect_check '^PASS  pci 0000:05:00.0 reset +reset method "bus" while the VM runs'
expect_check '^PASS  pci 0000:05:00.0 d3cold +D3cold allowed: vmrun turns it off while the VM runs'
expect_check '^PASS  pci 0000:05:00.0 +.*driver amdgpu'
same_as "$T/before" "vmrun check"
ok "vmrun check lists the boot VGA, framebuffers, consoles, display manager, holders, reset method and D3cold"

# --- 1. Handed over (the supervisor killed right after the last host step),
# then `vmrun recover`: the journal in order, and the reverse.
snapshot >"$T/before"
P=$(profile hofake '{ "timeout": 5 }' '"reset_method": "bus"')
handed_over hofake "$P" \
    "display-unit vtconsole-unbind platform-fb-unbind pci-reset-method pci-d3cold pci-bind pci-d3cold pci-bind"
ok "journal in order: $(journal_ops hofake)"
dm_running && fail "the display manager still runs"
grep -q "^stop fake-dm.service" "$S/calls.log" || fail "no 'systemctl stop fake-dm.service'"
ok "the display manager display-manager.service -> fake-dm.service was stopped"
[ "$(val "$H/sys/class/vtconsole/vtcon1/bind")" = 0 ] || fail "vtcon1 is still bound"
[ "$(val "$H/sys/class/vtconsole/vtcon0/bind")" = 0 ] || fail "vtcon0 (the dummy console) changed"
ok "the frame-buffer console vtcon1 is unbound, the dummy vtcon0 left alone"
[ ! -e "$H/sys/bus/platform/devices/efi-framebuffer.0/driver" ] || fail "efi-framebuffer.0 is still bound"
grep -q "efi-framebuffer.0 from efi-framebuffer (its memory e0000000-e07fffff (efifb) is in a BAR of 0000:05:00.0)" \
    "$T/start-hofake.log" || fail "no word on why the boot framebuffer was taken"
ok "the boot framebuffer efi-framebuffer.0 is unbound (it sits in the GPU's BAR 0)"
[ "$(driver "$GPU")" = vfio-pci ] && [ "$(driver "$AUDIO")" = vfio-pci ] || fail "the GPU is not on vfio-pci"
[ "$(val "$GPU/reset_method")" = bus ] || fail "reset_method is $(val "$GPU/reset_method"), not bus"
[ "$(val "$GPU/d3cold_allowed")" = 0 ] && [ "$(val "$AUDIO/d3cold_allowed")" = 0 ] ||
    fail "d3cold_allowed is not 0 on both functions"
ok "both functions on vfio-pci, reset_method bus, d3cold_allowed 0"
vmrun_sim recover hofake >"$T/recover1.log" 2>&1 || fail "recover failed"
order=$(sed -n 's/^vmrun: undo [0-9]*: \([a-z]*\) .*/\1/p' "$T/recover1.log" | tr '\n' ' ')
[ "$order" = "give allow give allow restore give bind start " ] || fail "the undo order is '$order'"
ok "recover undid it in reverse: $order"
dm_running || fail "the display manager is not running again"
same_as "$T/before" "recover"
ok "after recover the host is as before (amdgpu, flr bus, d3cold 1, efifb, vtcon1, the display manager)"

# --- 2. A start that fails at QEMU (which cannot open a simulated device):
# its own rollback.
: >"$S/calls.log"
rc=0
vmrun_sim start "$P" >"$T/start2.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "the full start exited $rc, expected 1 (QEMU cannot run on a simulated host)"
grep -q "^stop fake-dm.service" "$S/calls.log" && grep -q "^start fake-dm.service" "$S/calls.log" ||
    fail "the display manager was not stopped and started again"
same_as "$T/before" "rollback of a failed start"
ok "a start that fails at QEMU puts the display back itself"

# --- 3. A holder outside the display manager: refused, nothing changed.
hold "$H/dev/dri/card0"
snapshot >"$T/before3"
start_refused start3 "$P" "a held GPU"
grep -q "sleep (pid $HOLDER) has $H/dev/dri/card0 open" "$T/start3.log" ||
    fail "the refusal does not name sleep (pid $HOLDER)"
grep -q "handoff.kill_holders" "$T/start3.log" || fail "the refusal does not say what to do"
vmrun_sim check "$P" >"$T/check3.log" 2>&1
grep -q "^FAIL  handoff holders .*will not end: sleep (pid $HOLDER)" "$T/check3.log" ||
    fail "vmrun check does not fail the foreign holder: $(grep holders "$T/check3.log")"
grep -q "fake-fake-dm (pid" "$T/start3.log" && fail "the display manager's own process was named as a holder"
same_as "$T/before3" "refusal"
ok "a holder outside the display manager is refused by name and pid, nothing changed"
# The same refusal, detached, for a VM that never ran: its log is kept.
P3F=$(profile hofirst3 '{ "timeout": 5 }')
[ ! -e "$T/state/hofirst3" ] || fail "hofirst3 has run before"
rc=0
vmrun_sim start --detach "$P3F" >"$T/start3f.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a held GPU, detached: exit $rc, expected 1"
grep -q "sleep (pid $HOLDER) has $H/dev/dri/card0 open" "$T/state/hofirst3/last.log" 2>/dev/null ||
    fail "a first-ever start refused by the handoff kept no log in $T/state/hofirst3/last.log"
same_as "$T/before3" "a detached refusal"
ok "a first-ever detached start refused by the handoff keeps its log (last.log)"

# --- 4. handoff.kill_holders: it is ended (SIGTERM), the record says so.
P4=$(profile hokill '{ "kill_holders": true, "timeout": 2 }')
rc=0
VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P4" >"$T/start4.log" 2>&1 || rc=$?
[ $rc -eq 137 ] || fail "kill_holders: start exited $rc, expected 137"
for _ in $(seq 50); do kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$HOLDER" 2>/dev/null && fail "the holder $HOLDER still runs"
wait "$HOLDER" 2>/dev/null
HOLDER=
journal_ops hokill | grep -q "display-holders-ended" || fail "no display-holders-ended record"
vmrun_sim recover hokill >"$T/recover4.log" 2>&1 || fail "recover after kill_holders failed"
grep -q "processes ended for the handoff stay ended: sleep" "$T/recover4.log" ||
    fail "recover does not say the holder stays ended"
same_as "$T/before3" "recover after kill_holders"
ok "handoff.kill_holders ends the holder, and recover says it stays ended"
rm -f "$H"/proc/[0-9]*
snapshot >"$T/before"

# --- 5. handoff.timeout: a display manager that does not stop.
dm_conf 'stop_hang=1
'
P5=$(profile hohang '{ "timeout": 2 }')
rc=0
start=$(date +%s)
vmrun_sim start "$P5" >"$T/start5.log" 2>&1 || rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 1 ] || fail "a hung stop: exit $rc, expected 1"
grep -q "'systemctl stop fake-dm.service' did not finish within 2 s" "$T/start5.log" ||
    fail "the message does not say what is stuck"
[ $took -lt 30 ] || fail "the hung stop took $took s"
same_as "$T/before" "a hung stop"
ok "handoff.timeout: a display manager that does not stop is named, after 2 s ($took s in all)"
# The same, detached, for a VM that never ran: the rollback's lines are kept.
P5F=$(profile hofirst5 '{ "timeout": 2 }')
rc=0
vmrun_sim start --detach "$P5F" >"$T/start5f.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a hung stop, detached: exit $rc, expected 1"
for line in "'systemctl stop fake-dm.service' did not finish within 2 s" \
    "putting the host back as it was" "undo 1: start the display manager fake-dm.service again: done"; do
    grep -qF "$line" "$T/state/hofirst5/last.log" 2>/dev/null ||
        fail "a first-ever start rolled back: no '$line' in its last.log: $(cat "$T/state/hofirst5/last.log" 2>&1)"
done
dm_conf
same_as "$T/before" "a detached rollback"
ok "a first-ever detached start rolled back during the handoff keeps the rollback's lines (last.log)"

# --- 6. handoff.session_units, as the user who called through sudo.
printf 'holds=%s\nmode=fakeproc:%s\n' "$H/dev/dri/renderD128" "$H/proc" >"$S/user/nobody/fake-session.target"
"$T/systemctl" --user --machine=nobody@ start fake-session.target
snapshot >"$T/before6"
: >"$S/calls.log"
# Through sudo a profile comes from /etc/vmrun only.
made_etc=
[ -d /etc/vmrun ] || made_etc=1
install -d -m 0755 /etc/vmrun
P6=/etc/vmrun/vmrun-handoff-test-hosession.json
install -m 0644 "$(profile hosession '{ "session_units": ["fake-session.target"] }')" "$P6"
rc=0
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P6" \
    >"$T/start6.log" 2>&1 || rc=$?
rm -f "$P6"
[ -z "$made_etc" ] || rmdir --ignore-fail-on-non-empty /etc/vmrun
[ $rc -eq 137 ] || fail "session units: start exited $rc, expected 137"
head -n 2 "$S/calls.log" | tr '\n' ' ' | grep -q "stop fake-session.target .*stop fake-dm.service" ||
    grep -q "^--user nobody stop fake-session.target" "$S/calls.log" ||
    fail "fake-session.target of nobody was not stopped: $(cat "$S/calls.log")"
vmrun_sim recover hosession >"$T/recover6.log" 2>&1 || fail "recover (session units) failed"
calls=$(grep -E "stop|start" "$S/calls.log" | grep -v "^show" | tr '\n' ',')
[ "$calls" = "--user nobody stop fake-session.target,stop fake-dm.service,start fake-dm.service,--user nobody start fake-session.target," ] ||
    fail "the systemctl calls were: $calls"
same_as "$T/before6" "session units"
ok "session units of the sudo user: stopped first, started last ($calls)"
"$T/systemctl" --user --machine=nobody@ stop fake-session.target
snapshot >"$T/before"

# --- 7. handoff.display_manager naming a unit systemd does not have.
P7=$(profile hodm '{ "display_manager": "nosuch.service" }')
rc=0
vmrun_sim start "$P7" >"$T/start7.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "an unknown display manager: exit $rc, expected 1"
grep -q "systemd has no unit nosuch.service" "$T/start7.log" || fail "no word on nosuch.service"
same_as "$T/before" "unknown display manager"
ok "handoff.display_manager naming a missing unit is refused, nothing changed"
P7b=$(profile hodmnone '{ "display_manager": "none" }')
rc=0
vmrun_sim start "$P7b" >"$T/start7b.log" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "stopping no display manager will not end: fake-fake-dm (pid" "$T/start7b.log" ||
    fail "display_manager none: the running display manager's holder is not refused (exit $rc)"
dm_running || fail "display_manager none: the display manager was stopped"
same_as "$T/before" "display_manager none"
ok "handoff.display_manager \"none\" stops nothing (its holder is then refused)"

# --- 8. pci[].reset_method the device does not support: refused, undone.
P8=$(profile hoacpi '{}' '"reset_method": "acpi"')
rc=0
vmrun_sim start "$P8" >"$T/start8.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "an unsupported reset method: exit $rc, expected 1"
grep -q 'the kernel refused reset_method "acpi" (it offers "flr bus" for this device)' "$T/start8.log" ||
    fail "no word on the refused reset method"
same_as "$T/before" "refused reset method"
ok "pci[].reset_method the kernel refuses stops the start, and the host is put back"

# --- 8b. What the host cannot run is refused before the display manager
# is stopped: a ROM file that is no ROM.
head -c 4096 /dev/zero >"$T/zero.rom"
P8b=$(profile horom '{}' "\"rom\": \"$T/zero.rom\"")
: >"$S/calls.log"
rc=0
vmrun_sim start "$P8b" >"$T/start8b.log" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "pci\[0\].rom: $T/zero.rom: it is no PCI option ROM" "$T/start8b.log" ||
    fail "a bad ROM: exit $rc: $(cat "$T/start8b.log")"
grep -Eq "^(stop|start)" "$S/calls.log" && fail "the display manager was touched before the ROM was refused"
same_as "$T/before" "bad ROM"
ok "a bad pci[].rom is refused before the display manager is stopped"

# --- 9. The vendor-reset module: device_specific for the GPU when the
# kernel takes it, the kernel's methods kept when it does not.
mkdir "$H/sys/module/vendor_reset"
echo "device_specific flr pm bus" >"$GPU/.sim_reset_methods"
snapshot >"$T/before9"
P9=$(profile hovr '{}')
VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P9" >"$T/start9.log" 2>&1
[ "$(val "$GPU/reset_method")" = device_specific ] || fail "vendor-reset: reset_method is $(val "$GPU/reset_method")"
grep -q "the vendor-reset module handles this device" "$T/start9.log" || fail "vendor-reset: nothing said"
vmrun_sim recover hovr >"$T/recover9.log" 2>&1 || fail "recover (vendor-reset) failed"
same_as "$T/before9" "vendor-reset"
echo "flr pm bus" >"$GPU/.sim_reset_methods"
snapshot >"$T/before9"
VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P9" >"$T/start9b.log" 2>&1
[ "$(val "$GPU/reset_method")" = "flr bus" ] || fail "vendor-reset refused: reset_method is $(val "$GPU/reset_method")"
grep -q 'refused "device_specific" for this device (vendor-reset does not handle it): keeping its reset methods "flr bus"' \
    "$T/start9b.log" || fail "vendor-reset refused: nothing said"
vmrun_sim recover hovr >"$T/recover9b.log" 2>&1 || fail "recover (vendor-reset refused) failed"
same_as "$T/before9" "vendor-reset refused"
rmdir "$H/sys/module/vendor_reset"
ok "vendor-reset: device_specific where the kernel takes it, the kernel's methods kept where not"

# --- 10. The GPU stops answering while the VM has it: no host driver for
# it; removed and rescanned, it stays away; the rest is given back.
snapshot >"$T/before"
VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P" >"$T/start10.log" 2>&1
printf '\xff\xff\xff\xff' | dd of="$GPU/config" conv=notrunc status=none
rc=0
vmrun_sim recover hofake >"$T/recover10.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a dead GPU: recover exited $rc, expected 1"
grep -q "0000:05:00.0 .* does not answer after the VM (its config space reads 0xffff, power state D0). vmrun did not bind it to amdgpu: binding a driver to a device that does not answer can hang or crash the host" \
    "$T/recover10.log" || fail "the message does not say what and why"
grep -q "removed from the PCI bus and the bus rescanned, and it did not come back" "$T/recover10.log" ||
    fail "the message does not say the rescan did not bring it back"
grep -q "Shut the machine down completely" "$T/recover10.log" || fail "the message does not say what to do"
[ ! -e "$H/sys/bus/pci/devices/0000:05:00.0" ] || fail "the dead GPU is still on the bus"
[ ! -e "$H/sys/bus/pci/drivers/amdgpu/0000:05:00.0" ] || fail "the dead GPU was bound to amdgpu"
[ "$(driver "$AUDIO")" = snd_hda_intel ] || fail "the audio function was not given back"
dm_running && [ "$(val "$H/sys/class/vtconsole/vtcon1/bind")" = 1 ] || fail "the display was not given back"
ok "a GPU that stops answering: not bound to amdgpu, removed + rescan tried, the rest given back"
vmrun_sim recover hofake >"$T/recover10b.log" 2>&1 || fail "a second recover failed"
ok "a second recover finishes (the device is gone from the bus)"

# --- 11. ... and one that comes back after the rescan gets its driver.
rm -rf "$T/host"
"$VMRUN_FAKE_HOST" "$T/host" >/dev/null
"$T/systemctl" stop fake-dm.service >/dev/null; "$T/systemctl" start fake-dm.service
snapshot >"$T/before"
VMRUN_TEST_KILL_AFTER=8 vmrun_sim start "$P" >"$T/start11.log" 2>&1
printf '\xff\xff\xff\xff' | dd of="$GPU/config" conv=notrunc status=none
: >"$GPU/.sim_revive_on_rescan"
rc=0
vmrun_sim recover hofake >"$T/recover11.log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "a GPU back after the rescan: recover exited $rc"
grep -q "done (it did not answer after the VM (its config space reads 0xffff, power state D0); removed from the bus and rescanned, it came back)" \
    "$T/recover11.log" || fail "recover does not say the GPU needed a rescan"
[ "$(driver "$GPU")" = amdgpu ] || fail "the revived GPU is on $(driver "$GPU")"
rm -f "$GPU/.sim_revive_on_rescan"
same_as "$T/before" "revived GPU"
ok "a GPU that answers again after remove + rescan is given back to amdgpu, and the report says so"

echo "PASS: $PASSED checks"
