#!/bin/bash
# The firmware from the command line, with this host's real descriptors
# (Debian's ovmf) and a user directory of the test's own:
#   - print-cmd and check name the descriptor chosen and why; the user's
#     directory ($XDG_CONFIG_HOME/qemu/firmware) counts when root runs vmrun
#     directly and is not searched through sudo; an empty file there hides
#     a descriptor;
#   - no descriptor for the features asked: exit 1, every descriptor found
#     listed with its reason, nothing started; a profile that contradicts the
#     files it names: exit 2;
#   - a UEFI VM started with firmware.code and firmware.vars_template runs
#     exactly those (QEMU's command line) with its own copy of the template,
#     kept across runs; one chosen for Secure Boot gets SMM and the secure
#     flash in QEMU;
#   - Secure Boot under a KVM without SMM is refused before the host changes.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
share=/usr/share/qemu/firmware
[ -f "$share/40-edk2-x86_64-secure-enrolled.json" ] && [ -f "$share/60-edk2-x86_64.json" ] ||
    skip "Debian's OVMF descriptors are not installed (apt install ovmf)"
REL=${VMRUN_RELEASE_BIN:-$VMRUN_BIN}
user_fw="$XDG_CONFIG_HOME/qemu/firmware"

# qemu_holds PID FILE: QEMU has FILE open (files reach it as fds).
qemu_holds() {
    want=$(realpath "$2")
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd")" = "$want" ] && return 0
    done
    return 1
}

# uefi_profile NAME FIRMWARE-JSON [extra members]: a VM without an OS.
uefi_profile() {
    cat >"$T/$1.json" <<EOT
{
  "name": "$1",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "128M" },
  "firmware": $2,
  "serial": "none",
  "display": "none",
  "shutdown": { "timeout": 1 }${3:-}
}
EOT
    keylog_add "$T/$1.json"
    echo "$T/$1.json"
}

# --- Debian's descriptors: Secure Boot with Microsoft's keys.
sb=$(uefi_profile win11-fw-sb '{ "type": "uefi", "secure_boot": true }')
"$REL" print-cmd "$sb" >"$T/sb.out" 2>&1 || fail "print-cmd failed: $(cat "$T/sb.out")"
grep -q "^# firmware: 40-edk2-x86_64-secure-enrolled.json: the first descriptor, in file-name order, that offers UEFI with Secure Boot and enrolled keys for x86_64 q35; it requires SMM" "$T/sb.out" ||
    fail "print-cmd does not say why: $(grep '^#' "$T/sb.out")"
grep -q "^# firmware: descriptor $share/40-edk2-x86_64-secure-enrolled.json" "$T/sb.out" ||
    fail "print-cmd does not name the descriptor"
grep -q -- "-machine q35,vmport=off,hpet=off,smm=on" "$T/sb.out" || fail "no smm=on"
grep -q -- "-global driver=cfi.pflash01,property=secure,value=on" "$T/sb.out" || fail "no secure flash"
grep -q "^# fd [0-9]*: firmware.code: /usr/share/OVMF/OVMF_CODE_4M.ms.fd (read-only)" "$T/sb.out" ||
    fail "not Debian's enrolled build: $(grep '^# fd' "$T/sb.out")"
"$REL" check "$sb" >"$T/sb.check" 2>&1
grep -q "^PASS  firmware .*UEFI with Secure Boot and enrolled keys: descriptor $share/40-edk2-x86_64-secure-enrolled.json" "$T/sb.check" ||
    fail "check does not name the descriptor: $(cat "$T/sb.check")"
grep -q "^PASS  firmware.secure_boot .*OVMF_VARS_4M.ms.fd: enrolled keys (PK, KEK, db, dbx; db trusts Microsoft's Windows and third-party UEFI CAs)" "$T/sb.check" ||
    fail "check does not give the template's Secure Boot state"
grep -q "^PASS  firmware.smm .*TCG emulates it" "$T/sb.check" || fail "check: SMM"

# Setup mode and no Secure Boot.
setup=$(uefi_profile win11-fw-setup '{ "secure_boot": true, "enrolled_keys": false }')
"$REL" print-cmd "$setup" | grep -q "^# firmware: 50-edk2-x86_64-secure.json" ||
    fail "setup mode: not 50-edk2-x86_64-secure.json"
"$REL" check "$setup" >"$T/setup.check" 2>&1
grep -q "^PASS  firmware.secure_boot .*OVMF_VARS_4M.fd: setup mode" "$T/setup.check" ||
    fail "check does not report setup mode: $(cat "$T/setup.check")"
plain=$(uefi_profile win11-fw-plain '{ "type": "uefi" }')
"$REL" print-cmd "$plain" >"$T/plain.out"
grep -q "^# firmware: 60-edk2-x86_64.json" "$T/plain.out" || fail "no Secure Boot: not 60-edk2"
grep -q "smm=on\|cfi.pflash01" "$T/plain.out" && fail "no Secure Boot, yet SMM or a secure flash"

# --- The user's directory: first by name when root runs vmrun itself.
cat >"$user_fw/10-vmrun-test-snakeoil.json" <<'EOT'
{
  "description": "vmrun tests: OVMF with Secure Boot and SMM, Debian's snakeoil key enrolled",
  "interface-types": ["uefi"],
  "mapping": { "device": "flash",
               "executable": { "filename": "/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd", "format": "raw" },
               "nvram-template": { "filename": "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", "format": "raw" } },
  "targets": [ { "architecture": "x86_64", "machines": ["pc-q35-*"] } ],
  "features": ["enrolled-keys", "requires-smm", "secure-boot"],
  "tags": []
}
EOT
"$REL" print-cmd "$sb" >"$T/user.out"
grep -q "^# firmware: descriptor $user_fw/10-vmrun-test-snakeoil.json" "$T/user.out" ||
    fail "the user's descriptor does not come first: $(grep '^#' "$T/user.out")"
"$REL" check "$sb" >"$T/user.check" 2>&1
# (OVMF 2026.08's snakeoil template enrolls no dbx.)
grep -Eq "^PASS  firmware.secure_boot .*snakeoil.fd: enrolled keys \(PK, KEK, db(, dbx)?; no Microsoft CA in db: Windows will not boot\)" "$T/user.check" ||
    fail "check: the snakeoil template: $(grep secure_boot "$T/user.check")"

# Through sudo the user's directory is not searched (a profile in
# /etc/vmrun, as sudo requires).
made_etc=
[ -d /etc/vmrun ] || made_etc=1
rootdir="/etc/vmrun/vmrun-win11-fw-test.$$"
mkdir -p -m 0755 "$rootdir" && cp "$sb" "$rootdir/" && chmod 0644 "$rootdir/win11-fw-sb.json"
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody "$REL" print-cmd "$rootdir/win11-fw-sb.json" \
    >"$T/sudo.out" 2>&1
rc=$?
rm -rf "$rootdir"
[ -z "$made_etc" ] || rmdir --ignore-fail-on-non-empty /etc/vmrun
[ $rc = 0 ] || fail "print-cmd through sudo: exit $rc: $(cat "$T/sudo.out")"
grep -q "^# firmware: 40-edk2-x86_64-secure-enrolled.json: .*(the user's ~/.config/qemu/firmware is not searched through sudo or pkexec)" "$T/sudo.out" ||
    fail "through sudo: $(grep '^#' "$T/sudo.out")"

# An empty file hides a descriptor; with none left: exit 1, each listed.
rm "$user_fw/10-vmrun-test-snakeoil.json"
: >"$user_fw/40-edk2-x86_64-secure-enrolled.json"
"$REL" print-cmd "$sb" >"$T/none.out" 2>"$T/none.err"
rc=$?
[ $rc = 1 ] || fail "no match: print-cmd exit $rc, expected 1"
[ -s "$T/none.out" ] && fail "no match: a command was printed"
for want in "no firmware descriptor offers UEFI with Secure Boot and enrolled keys for x86_64 q35" \
    "$user_fw/40-edk2-x86_64-secure-enrolled.json: empty: hides any descriptor of that name" \
    "$share/50-edk2-x86_64-secure.json: no enrolled-keys" \
    "$share/60-edk2-x86_64.json: no secure-boot" "apt install ovmf"; do
    grep -qF -- "$want" "$T/none.err" || fail "no match: the message lacks '$want': $(cat "$T/none.err")"
done
"$VMRUN_BIN" start "$sb" >"$T/none-start.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "no match: start exit $rc, expected 1"
grep -qF "no firmware descriptor offers" "$T/none-start.log" || fail "no match: start's message"
[ ! -e "$VMRUN_RUN_DIR/win11-fw-sb" ] && [ ! -e "$VMRUN_STATE_DIR/win11-fw-sb" ] ||
    fail "no match: the host was changed"
"$REL" check "$sb" >"$T/none.check" 2>&1
grep -q "^FAIL  firmware .*no firmware descriptor offers" "$T/none.check" || fail "check: no match"
rm "$user_fw/40-edk2-x86_64-secure-enrolled.json"
echo "ok: descriptors chosen, listed and hidden"

# --- The profile contradicts the files it names: exit 2.
bad=$(uefi_profile win11-fw-bad '{ "code": "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "vars_template": "/usr/share/OVMF/OVMF_VARS_4M.fd", "secure_boot": true }')
for cmd in print-cmd check start; do
    "$VMRUN_BIN" $cmd "$bad" >"$T/bad.out" 2>&1
    rc=$?
    [ $rc = 2 ] || fail "Secure Boot from a build without it: $cmd exit $rc, expected 2"
    grep -q "firmware.secure_boot is true, but firmware.code /usr/share/OVMF/OVMF_CODE_4M.fd is a build without Secure Boot" "$T/bad.out" ||
        fail "$cmd: $(cat "$T/bad.out")"
done
bad=$(uefi_profile win11-fw-bad '{ "code": "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
    "vars_template": "/usr/share/OVMF/OVMF_VARS_4M.fd", "secure_boot": true }')
"$VMRUN_BIN" print-cmd "$bad" >"$T/bad.out" 2>&1
[ $? = 2 ] || fail "enrolled keys from a setup-mode template: not exit 2"
grep -q "firmware.enrolled_keys is true, but firmware.vars_template /usr/share/OVMF/OVMF_VARS_4M.fd has no keys enrolled" "$T/bad.out" ||
    fail "enrolled keys from a setup-mode template: $(cat "$T/bad.out")"
[ ! -e "$VMRUN_RUN_DIR/win11-fw-bad" ] || fail "a contradiction changed the host"

# A Secure Boot build named without secure_boot still gets the SMM it
# needs (without it, it hangs at 100% CPU).
named=$(uefi_profile win11-fw-named '{ "code": "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
    "vars_template": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" }')
"$REL" print-cmd "$named" >"$T/named.out"
grep -q -- "smm=on" "$T/named.out" || fail "a named Secure Boot build without SMM"
grep -q "^# firmware: firmware.code names the build; $share/40-edk2-x86_64-secure-enrolled.json describes it" "$T/named.out" ||
    fail "named build: $(grep '^#' "$T/named.out")"
echo "ok: contradictions refused, named builds get what they need"

# --- Started: firmware.code and firmware.vars_template reach QEMU; the
# VM's own copy of the template is made once and kept.
fw=$(uefi_profile win11-fw-run '{ "code": "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "vars_template": "/usr/share/OVMF/OVMF_VARS_4M.fd" }')
copy="$VMRUN_STATE_DIR/win11-fw-run/OVMF_VARS.fd"
start_fg win11-fw-run "$fw"
wait_for 60 is_running win11-fw-run || fail "the UEFI VM did not reach running"
cmdline=$(tr '\0' '\n' <"/proc/$(qemu_pid_of win11-fw-run)/cmdline")
qemu=$(qemu_pid_of win11-fw-run)
grep -qx "if=pflash,format=raw,unit=0,readonly=on,file=/dev/fdset/[0-9]*" <<<"$cmdline" ||
    fail "no code flash: $cmdline"
qemu_holds "$qemu" /usr/share/OVMF/OVMF_CODE_4M.fd || fail "QEMU does not hold firmware.code"
qemu_holds "$qemu" "$copy" || fail "QEMU does not hold the VM's copy of the template"
qemu_holds "$qemu" /usr/share/OVMF/OVMF_VARS_4M.fd && fail "QEMU was given the shared template itself"
[ "$(stat -c %s "$copy")" = "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.fd)" ] ||
    fail "the VM's store is not a copy of the template"
inode=$(stat -c %i "$copy")
"$VMRUN_BIN" stop win11-fw-run >/dev/null 2>&1
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "the UEFI VM's stop exited $code"
start_fg win11-fw-run "$fw"
wait_for 60 is_running win11-fw-run || fail "the UEFI VM did not reach running again"
[ "$(stat -c %i "$copy")" = "$inode" ] || fail "the VM's store was made anew"
"$VMRUN_BIN" stop win11-fw-run >/dev/null 2>&1
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "the UEFI VM's second stop exited $code"

# Secure Boot in setup mode: the build without keys, the VM's store as its
# template left it.
start_fg win11-fw-setup "$setup"
wait_for 60 is_running win11-fw-setup || fail "the setup-mode VM did not reach running"
cmdline=$(tr '\0' '\n' <"/proc/$(qemu_pid_of win11-fw-setup)/cmdline")
qemu_holds "$(qemu_pid_of win11-fw-setup)" /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ||
    fail "setup mode: not the secboot build"
"$VMRUN_BIN" stop win11-fw-setup >/dev/null 2>&1
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "the setup-mode VM's stop exited $code"
"$VMRUN_BIN" check "$setup" >"$T/setup-after.check" 2>&1
grep -q "^WARN  firmware.vars .*win11-fw-setup/OVMF_VARS.fd: setup mode" "$T/setup-after.check" &&
    fail "setup mode asked for, yet check warns"
grep -q "^PASS  firmware.vars .*win11-fw-setup/OVMF_VARS.fd: setup mode" "$T/setup-after.check" ||
    fail "check does not report the VM's store in setup mode: $(grep firmware "$T/setup-after.check")"

# A Secure Boot VM chosen from the descriptors: SMM and the secure flash.
start_fg win11-fw-sb "$sb"
wait_for 60 is_running win11-fw-sb || fail "the Secure Boot VM did not reach running"
cmdline=$(tr '\0' '\n' <"/proc/$(qemu_pid_of win11-fw-sb)/cmdline")
grep -qx "q35,vmport=off,hpet=off,smm=on" <<<"$cmdline" || fail "QEMU runs without SMM"
grep -qx "driver=cfi.pflash01,property=secure,value=on" <<<"$cmdline" || fail "no secure flash"
qemu_holds "$(qemu_pid_of win11-fw-sb)" /usr/share/OVMF/OVMF_CODE_4M.ms.fd || fail "not the enrolled build"
"$VMRUN_BIN" stop win11-fw-sb >/dev/null 2>&1
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "the Secure Boot VM's stop exited $code"
"$VMRUN_BIN" check "$sb" >"$T/sb-after.check" 2>&1
grep -q "^PASS  firmware.vars .*win11-fw-sb/OVMF_VARS.fd: enrolled keys" "$T/sb-after.check" ||
    fail "check does not report the VM's own store: $(grep firmware "$T/sb-after.check")"
echo "ok: the firmware files reach QEMU"

# --- Secure Boot under a KVM without SMM (a kernel without
# CONFIG_KVM_SMM; simulated): refused, nothing changed.
kvm=$(uefi_profile win11-fw-kvm '{ "secure_boot": true }')
sed -i 's/"accel": "tcg"/"accel": "kvm"/; s/"model": "qemu64"/"model": "host"/' "$kvm"
VMRUN_TEST_KVM_NO_SMM=1 "$VMRUN_BIN" start "$kvm" >"$T/kvm.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "Secure Boot without SMM: exit $rc, expected 1"
grep -q "needs SMM, and this host's KVM does not emulate it (KVM_CAP_X86_SMM.*set firmware.secure_boot false" "$T/kvm.log" ||
    fail "Secure Boot without SMM: $(cat "$T/kvm.log")"
[ ! -e "$VMRUN_RUN_DIR/win11-fw-kvm" ] && [ ! -e "$VMRUN_STATE_DIR/win11-fw-kvm" ] ||
    fail "Secure Boot without SMM: the host was changed"
VMRUN_TEST_KVM_NO_SMM=1 "$VMRUN_BIN" check "$kvm" >"$T/kvm.check" 2>&1
grep -q "^FAIL  firmware.smm .*does not emulate it" "$T/kvm.check" || fail "check: KVM without SMM"
echo "PASS: firmware from the command line"
