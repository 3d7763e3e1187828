#!/bin/bash
# The display handoff when the firmware's framebuffer is a DRM device of its
# own: simpledrm, which Fedora's and Arch's kernels build in (Debian's do not,
# so no lab kernel shows it; tests/lab/README.md). On the simulated host of
# make-fake-host.sh --simpledrm: the boot GPU 05:00.0 has no driver of its
# own loaded, the desktop's display manager holds simpledrm's
# /dev/dri/card0, fbcon is on its emulated fb0 (vtcon1), and the platform
# device simple-framebuffer.0 (driver simple-framebuffer) sits in 05:00.0's
# BAR 0. The simulator gives simpledrm's card and fb0 only while the
# platform device is bound, as the kernel does.
#   0. vmrun check names simple-framebuffer.0 as a DRM device on the GPU,
#      and the display manager as the holder of its card;
#   1. another process holding simpledrm's card or fb0 is refused by name,
#      nothing changed;
#   2. handed over: the display manager stopped before the platform device
#      is unbound, card0 gone with it, the GPU on vfio-pci; `vmrun recover`
#      binds simple-framebuffer.0 again, says its card is back, and the host
#      is as before;
#   3. Linux 6.0 and later remove the boot framebuffer when vfio-pci takes
#      the GPU: recover reports simple-framebuffer.0 and its card as gone
#      for good, and gives back everything else.
set -uo pipefail

HANDOFF_HOST_ARGS=--simpledrm
# shellcheck source=tests/handoff/lib.sh
. "$(dirname "$0")/lib.sh"

FB=$H/sys/bus/platform/devices/simple-framebuffer.0
CARD=$H/dev/dri/card0
[ -d "$FB/drm/card0" ] && [ -e "$CARD" ] && [ "$(driver "$FB")" = simple-framebuffer ] ||
    fail "the simulated host has no simple-framebuffer.0 on simple-framebuffer with card0"
[ ! -e "$GPU/drm" ] && [ "$(driver "$GPU")" = none ] || fail "05:00.0 should have no driver and no card"

# --- 0. vmrun check
snapshot >"$T/before"
P=$(profile hosdrm '{ "timeout": 5 }')
vmrun_sim check "$P" >"$T/check0.log" 2>&1
grep -q "^PASS  handoff framebuffers .*the firmware's simple-framebuffer.0 on simple-framebuffer (a DRM device: card0): its memory e0000000-e07fffff (BOOTFB) is in a BAR of 0000:05:00.0" \
    "$T/check0.log" || fail "vmrun check does not name simpledrm's framebuffer: $(grep framebuffers "$T/check0.log")"
grep -Eq "^PASS  handoff holders +the GPU.s nodes are held only by what the stop ends: fake-fake-dm \(pid [0-9]+\) has $CARD open" \
    "$T/check0.log" || fail "vmrun check does not see the display manager on simpledrm's card: $(grep holders "$T/check0.log")"
same_as "$T/before" "vmrun check"
ok "vmrun check: simple-framebuffer.0 is a DRM device (card0) on the GPU, held by the display manager"

# --- 1. Something else holds simpledrm's nodes: refused by name.
hold "$CARD" "$H/dev/fb0"
snapshot >"$T/before1"
start_refused start1 "$P" "a held simpledrm card"
grep -q "sleep (pid $HOLDER) has $CARD open, sleep (pid $HOLDER) has $H/dev/fb0 open" "$T/start1.log" ||
    fail "the refusal does not name the holder of card0 and fb0: $(cat "$T/start1.log")"
same_as "$T/before1" "refusal"
ok "a process holding simpledrm's card0 and fb0 is refused by name and pid, nothing changed"
kill -KILL "$HOLDER"
wait "$HOLDER" 2>/dev/null
rm -f "$H/proc/$HOLDER"
HOLDER=
snapshot >"$T/before"

# --- 2. Handed over (the supervisor killed after the last host step), then
# recover. The display manager's card is simpledrm's: it must be stopped
# before the platform device goes.
OPS="display-unit vtconsole-unbind platform-fb-unbind pci-d3cold pci-bind pci-d3cold pci-bind"
handed_over hosdrm "$P" "$OPS"
dm_running && fail "the display manager still runs"
grep -q "handoff: unbinding the boot framebuffer simple-framebuffer.0 from simple-framebuffer (its memory e0000000-e07fffff (BOOTFB) is in a BAR of 0000:05:00.0; a DRM device: card0)" \
    "$T/start-hosdrm.log" || fail "no word on simpledrm's framebuffer: $(grep handoff "$T/start-hosdrm.log")"
[ "$(driver "$FB")" = none ] || fail "simple-framebuffer.0 is still bound"
[ ! -e "$FB/drm/card0" ] && [ ! -e "$CARD" ] || fail "simpledrm's card0 is still there"
[ "$(val "$H/sys/class/vtconsole/vtcon1/bind")" = 0 ] || fail "vtcon1 is still bound"
[ "$(driver "$GPU")" = vfio-pci ] && [ "$(driver "$AUDIO")" = vfio-pci ] || fail "the GPU is not on vfio-pci"
ok "handed over in order: $OPS; simpledrm's card0 gone with its platform device"
vmrun_sim recover hosdrm >"$T/recover2.log" 2>&1 || fail "recover failed: $(cat "$T/recover2.log")"
grep -q "simple-framebuffer.0 is on simple-framebuffer again, a DRM device: card0" "$T/recover2.log" ||
    fail "recover does not say simpledrm's card is back: $(cat "$T/recover2.log")"
[ -d "$FB/drm/card0" ] && [ -e "$CARD" ] || fail "simpledrm's card0 did not come back"
dm_running || fail "the display manager is not running again"
same_as "$T/before" "recover"
ok "recover: simple-framebuffer.0 on simpledrm again with card0, vtcon1, the display manager, no driver on the GPU"

# --- 3. The kernel drops the boot framebuffer when vfio-pci takes the GPU.
echo 0000:05:00.0 >"$FB/.sim_gone_with_vfio"
handed_over hosdrm "$P" "$OPS"
[ ! -e "$FB" ] && [ ! -e "$CARD" ] || fail "the simulator did not remove simple-framebuffer.0"
vmrun_sim recover hosdrm >"$T/recover3.log" 2>&1 || fail "recover failed: $(cat "$T/recover3.log")"
grep -q "simple-framebuffer.0 is gone, and its DRM device card0 with it: Linux removes the firmware's framebuffer for good" \
    "$T/recover3.log" || fail "recover does not say simpledrm's framebuffer is gone: $(cat "$T/recover3.log")"
grep -q "the console and a desktop that ran on it comes back with the GPU's own driver" "$T/recover3.log" ||
    fail "recover does not say what brings the display back"
gone='simple-framebuffer|/dev/dri/card0( |$)|/dev/fb0( |$)'
snapshot | grep -Ev "$gone" >"$T/now"
grep -Ev "$gone" "$T/before" | diff -u - "$T/now" >"$T/diff" ||
    fail "beyond the framebuffer, the host is not as before: $(head -30 "$T/diff")"
dm_running || fail "the display manager is not running again"
ok "vfio-pci took the framebuffer away: recover says so and what brings the display back, the rest is as before"

echo "PASS: $PASSED checks"
