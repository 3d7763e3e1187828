#!/bin/bash
# Option ROMs through the built program:
#   - `vmrun rom check` (the release binary: no seam is needed) on crafted
#     images (tests/rom/make-rom.py) and on the real ROMs Debian ships
#     with QEMU (ipxe-qemu, seabios) when they are installed;
#   - `vmrun rom dump` on the simulated host (vmrun-test, the sysfs
#     simulator): the NIC's ROM read with the rom attribute switched on and
#     off again, even when what it gives is refused; the boot VGA refused; a
#     device a running VM holds refused; no file left behind a refusal;
#   - pci[].rom in `vmrun check` and in `vmrun start` (refused, nothing
#     changed).
set -uo pipefail
: "${VMRUN_BIN:?}" "${VMRUN_RELEASE_BIN:?}" "${VMRUN_FAKE_HOST:?}" "${VMRUN_SYSFS_SIM:?}" \
    "${VMRUN_SOURCE_DIR:?}"
. "$VMRUN_SOURCE_DIR/tests/common/keylog.sh"
keylog_reset
T=$(mktemp -d /tmp/vmrun-rom.XXXXXX)
trap 'rm -rf "$T"' EXIT
PASSED=0
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $*"
}
MK=$VMRUN_SOURCE_DIR/tests/rom/make-rom.py
V=$VMRUN_RELEASE_BIN

# expect EXIT FILE [ARGS] -- FRAGMENT: rom check's exit status and message.
expect() {
    local want=$1 file=$2 frag
    shift 2
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    frag=$2
    local rc=0
    "$V" rom check "$file" "${args[@]}" >"$T/out" 2>&1 || rc=$?
    [ $rc -eq "$want" ] || fail "rom check $(basename "$file") ${args[*]}: exit $rc, expected $want: $(cat "$T/out")"
    grep -qF -- "$frag" "$T/out" || fail "rom check $(basename "$file") ${args[*]}: no '$frag' in: $(cat "$T/out")"
    ok "rom check $(basename "$file") ${args[*]}: $frag"
}

# --- crafted images
$MK "$T/legacy.rom"
$MK "$T/both.rom" --efi x64
$MK "$T/aa64.rom" --efi aa64
$MK "$T/checksum.rom" --bad-checksum
$MK "$T/nopcir.rom" --no-pcir
$MK "$T/pointer.rom" --bad-pointer
$MK "$T/header.rom" --leading 1024 --efi x64
$MK "$T/cut.rom" --truncate 5000
$MK "$T/ff.rom" --garbage 65536
$MK "$T/list.rom" --device 1000 --device-list 10d4,10d3 --efi x64
expect 0 "$T/legacy.rom" -- "1 image: x86 BIOS 8086:10d3 (8 KiB)"
expect 1 "$T/legacy.rom" --uefi -- "it has no EFI image"
expect 0 "$T/both.rom" --uefi -- "2 images: x86 BIOS 8086:10d3 (8 KiB), EFI x64 8086:10d3 (4 KiB)"
expect 1 "$T/aa64.rom" --uefi -- "its EFI image is AArch64, not x64"
expect 1 "$T/checksum.rom" -- "its x86 BIOS image (at offset 0) fails its checksum"
expect 1 "$T/nopcir.rom" -- 'has no PCI data structure ("PCIR") where its header points (0x1c)'
expect 1 "$T/pointer.rom" -- "points to its PCI data structure at 0xfff0, outside the file"
expect 1 "$T/header.rom" -- "starts 1024 bytes into the file"
tail -c +1025 "$T/header.rom" >"$T/header-cut.rom"
expect 0 "$T/header-cut.rom" --uefi -- "a usable ROM"
expect 1 "$T/cut.rom" -- "the file ends 5000 bytes after it starts (a cut-off copy)"
expect 1 "$T/ff.rom" -- "no ROM signature (0x55 0xAA) at offset 0 (the bytes there are ff ff)"
# Through sudo, with the caller's rights: a file only root may read is not
# read for them (nothing of it is shown).
mkdir -m 0700 "$T/private"
printf "hidden" >"$T/private/p.rom"
rc=0
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody "$V" rom check "$T/private/p.rom" >"$T/out" 2>&1 || rc=$?
# The file holds "hidden" (68 69 64 64 65 6e): neither its bytes nor its text
# may come back.
[ $rc -eq 1 ] && grep -q "Permission denied" "$T/out" && ! grep -qi "68 69 64\|hidden" "$T/out" ||
    fail "rom check through sudo of a root-only file: exit $rc: $(cat "$T/out")"
ok "rom check through sudo opens the file with the caller's rights"

# --- real ROMs, as Debian ships them for QEMU (ipxe-qemu and seabios, which
# QEMU depends on). ipxe-qemu keeps its ROMs in /usr/lib/ipxe/qemu up to
# Debian 13 and in /usr/share/qemu itself from unstable on.
efi=/usr/lib/ipxe/qemu/efi-e1000e.rom
[ -f "$efi" ] || efi=/usr/share/qemu/efi-e1000e.rom
for f in "$efi" /usr/share/seabios/vgabios-stdvga.bin; do
    [ -f "$f" ] || fail "$f is not installed (QEMU's packages ship it)"
    case $f in
    *efi-e1000e*) expect 0 "$f" --uefi -- "EFI x64 8086:10d3" ;;
    *) expect 1 "$f" --uefi -- "it has no EFI image" ;;
    esac
done

# --- rom dump on the simulated host (03:00.0: the NIC, 8086:10d3)
"$VMRUN_FAKE_HOST" "$T/host" >/dev/null
export VMRUN_SYSFS_ROOT=$T/host/sys VMRUN_PROCFS_ROOT=$T/host/proc VMRUN_DEV_ROOT=$T/host/dev
export VMRUN_RUN_DIR=$T/run VMRUN_STATE_DIR=$T/state
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:verify_asan_link_order=0
unset SUDO_UID SUDO_GID SUDO_USER PKEXEC_UID
sim() { LD_PRELOAD=$VMRUN_SYSFS_SIM "$VMRUN_BIN" "$@"; }
NIC=$T/host/sys/bus/pci/devices/0000:03:00.0
[ ! -e "$NIC/.sim_rom_enabled" ] || fail "the fake host starts with ROM reading on"
sim rom dump 03:00.0 "$T/nic.rom" >"$T/out" 2>&1 || fail "rom dump 03:00.0: $(cat "$T/out")"
grep -q "nic.rom: 12288 bytes, 2 images: x86 BIOS 8086:10d3 (8 KiB), EFI x64 8086:10d3 (4 KiB)" "$T/out" ||
    fail "rom dump said: $(cat "$T/out")"
cmp -s "$T/nic.rom" <(head -c 12288 "$NIC/rom") || fail "the dump is not the device's ROM"
[ "$(cat "$NIC/.sim_rom_enabled")" = 0 ] || fail "ROM reading was left on"
ok "rom dump 03:00.0: the images alone (12288 of 131072 bytes), ROM reading switched off again"
rc=0
sim rom dump 03:00.0 "$T/nic.rom" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "File exists" "$T/out" || fail "a dump over an existing file: exit $rc: $(cat "$T/out")"
ok "rom dump over an existing file is refused"
ln -s /etc/passwd-not-here "$T/dangling"
rc=0
sim rom dump 03:00.0 "$T/dangling" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && [ ! -e /etc/passwd-not-here ] || fail "a dump through a symbolic link: exit $rc"
ok "rom dump does not write through a symbolic link"
cp "$NIC/rom" "$T/saved.rom"
head -c 131072 /dev/zero | tr '\0' '\377' >"$NIC/rom"
rc=0
sim rom dump 03:00.0 "$T/blank.rom" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "gave 131072 bytes that are no usable ROM (they start with ff ff ff ff); nothing was written" "$T/out" ||
    fail "a blank ROM: exit $rc: $(cat "$T/out")"
[ ! -e "$T/blank.rom" ] && [ "$(cat "$NIC/.sim_rom_enabled")" = 0 ] || fail "a refused dump left a file or ROM reading on"
cp "$T/saved.rom" "$NIC/rom"
ok "rom dump of a ROM BAR that gives nothing usable is refused, no file, reading off again"
rc=0
sim rom dump 05:00.0 "$T/vga.rom" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "0000:05:00.0 is the boot VGA device" "$T/out" || fail "the boot VGA: exit $rc: $(cat "$T/out")"
ok "rom dump of the boot VGA device is refused, with the reason"
rc=0
sim rom dump 04:00.0 "$T/edu.rom" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "0000:04:00.0 has no option ROM" "$T/out" || fail "no ROM BAR: exit $rc: $(cat "$T/out")"
ok "rom dump of a device without a ROM is refused"
# The NIC on vfio-pci with its group held: a running VM's.
# (python writes through the fd it opened: the simulator sees the write; a
# shell's redirection moves it to fd 1 first.)
LD_PRELOAD=$VMRUN_SYSFS_SIM /usr/bin/python3 - "$NIC" "$T/host/sys/bus/pci/drivers_probe" <<'PY'
import os, sys
def put(path, value):
    fd = os.open(path, os.O_WRONLY)
    os.write(fd, value.encode())
    os.close(fd)
put(sys.argv[1] + "/driver_override", "vfio-pci")
put(sys.argv[1] + "/driver/unbind", "0000:03:00.0")
put(sys.argv[2], "0000:03:00.0")
PY
[ -e "$T/host/dev/vfio/3" ] || fail "the NIC did not go to vfio-pci on the simulated host"
sleep 1000 3<"$T/host/dev/vfio/3" &
holder=$!
ln -s "/proc/$holder" "$T/host/proc/$holder"
rc=0
sim rom dump 03:00.0 "$T/held.rom" >"$T/out" 2>&1 || rc=$?
kill "$holder"
[ $rc -eq 1 ] && grep -q "belongs to a running VM (sleep (pid $holder) has" "$T/out" || fail "a held device: exit $rc: $(cat "$T/out")"
ok "rom dump of a device a running VM holds is refused"
rm -rf "$T/host"
"$VMRUN_FAKE_HOST" "$T/host" >/dev/null

# --- pci[].rom in check and start
prof() {
    cat >"$T/$1.json" <<EOT
{ "name": "$1", "qemu": { "accel": "tcg" }, "cpu": { "model": "qemu64" },
  "memory": { "size": "64M" }, $3
  "pci": [ { "address": "03:00.0", "rom": "$2" } ], "serial": "none" }
EOT
}
prof romok "$T/both.rom" ''
prof romuefi "$T/legacy.rom" '"firmware": { "code": "/usr/share/OVMF/OVMF_CODE_4M.fd" },'
prof romids "$T/list.rom" ''
$MK "$T/other.rom" --vendor 1002 --device 67df
prof romother "$T/other.rom" ''
sim check --force "$T/romok.json" >"$T/out" 2>&1
grep -q "^PASS  pci\[0\].rom .*both.rom: 2 images" "$T/out" || fail "check: a good ROM: $(grep rom "$T/out")"
sim check --force "$T/romids.json" >"$T/out" 2>&1
grep -q "^PASS  pci\[0\].rom" "$T/out" || fail "check: a ROM whose device list has the NIC: $(grep rom "$T/out")"
sim check --force "$T/romuefi.json" >"$T/out" 2>&1
grep -q "^FAIL  pci\[0\].rom .*legacy.rom: it has no EFI image" "$T/out" || fail "check: no EFI image for OVMF: $(grep rom "$T/out")"
sim check --force "$T/romother.json" >"$T/out" 2>&1
grep -q "^FAIL  pci\[0\].rom .*it is a ROM for 1002:67df, not for this device (8086:10d3)" "$T/out" ||
    fail "check: another card's ROM: $(grep rom "$T/out")"
ok "vmrun check: pci[].rom passes a good ROM (and one whose PCI 3.0 device list names the card), fails one without EFI for OVMF and another card's"
snap() { (cd "$T/host" && find . -name '.sim_*' -prune -o -printf '%p %l\n' | LC_ALL=C sort); }
snap >"$T/before"
rc=0
sim start --force "$T/romother.json" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "pci\[0\].rom: $T/other.rom: it is a ROM for 1002:67df" "$T/out" ||
    fail "start with another card's ROM: exit $rc: $(cat "$T/out")"
snap | diff -q - "$T/before" >/dev/null || fail "start with another card's ROM changed the host"
ok "vmrun start refuses another card's ROM before any change"
echo "PASS: $PASSED checks"
