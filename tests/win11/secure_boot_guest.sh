#!/bin/bash
# Secure Boot enforced and the TPM real, seen from inside a Linux guest
# under TCG with Debian's OVMF and swtpm (scripts/build-guest.sh --uefi).
#
# The firmware is Debian's test build whose variables enroll the snakeoil
# key (/usr/share/ovmf/PkKek-1-snakeoil.*), offered by a descriptor in the
# user's firmware directory, so vmrun chooses it for "secure_boot": true as
# it chooses Microsoft's for a Windows guest. Three boots:
#   1. the guest kernel, signed with the snakeoil key, with a TPM (crb):
#      the guest reads SecureBoot=1 and SetupMode=0 from efivarfs, sees a
#      TPM 2.0 on tpm_crb with a non-zero PCR 0 (the firmware measured the
#      boot), and writes an NV index;
#   2. the same VM with "model": "tis": the guest sees tpm_tis, and reads
#      back the NV index written in run 1 (the state persisted);
#   3. no kernel given: two EFI system partitions, the first with the
#      kernel unsigned as EFI/BOOT/BOOTX64.EFI, the second signed: the
#      firmware refuses the first (Access Denied) and starts the second.
#      (-kernel cannot show the refusal: OVMF loads a -kernel image through
#      a path that skips signature checks.)
# swtpm is gone after each run.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
GUEST=${VMRUN_UEFI_GUEST:-/var/cache/vmrun/uefi-guest}
[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initramfs.cpio.gz" ] ||
    skip "the UEFI guest is not built (scripts/build-guest.sh --uefi)"
for tool in sbsign sbattach mformat mmd mcopy openssl swtpm; do
    command -v $tool >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done
SNAKE=/usr/share/ovmf/PkKek-1-snakeoil
CODE=/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd
VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
[ -f $SNAKE.key ] && [ -f $CODE ] && [ -f $VARS ] || skip "Debian's snakeoil OVMF is not installed"

# --- The kernel, unsigned and signed with the snakeoil key (Debian signs
# its kernel with its own key, removed first). The key's passphrase is
# "snakeoil", as Debian's README says.
openssl pkey -in $SNAKE.key -passin pass:snakeoil -out "$T/snakeoil.key" 2>/dev/null ||
    fail "cannot read the snakeoil key"
cp "$GUEST/vmlinuz" "$T/unsigned.efi"
sbattach --remove "$T/unsigned.efi" >/dev/null 2>&1 || true
sbverify --list "$T/unsigned.efi" 2>&1 | grep -q "No signature table" ||
    fail "the unsigned kernel still has a signature"
sbsign --key "$T/snakeoil.key" --cert $SNAKE.pem --output "$T/signed.efi" "$T/unsigned.efi" \
    >/dev/null 2>&1 || fail "sbsign failed"
sbverify --cert $SNAKE.pem "$T/signed.efi" >/dev/null 2>&1 || fail "the signed kernel does not verify"

cat >"$XDG_CONFIG_HOME/qemu/firmware/10-vmrun-test-snakeoil.json" <<EOT
{
  "description": "vmrun tests: OVMF with Secure Boot and SMM, Debian's snakeoil key enrolled",
  "interface-types": ["uefi"],
  "mapping": { "device": "flash",
               "executable": { "filename": "$CODE", "format": "raw" },
               "nvram-template": { "filename": "$VARS", "format": "raw" } },
  "targets": [ { "architecture": "x86_64", "machines": ["pc-q35-*"] } ],
  "features": ["enrolled-keys", "requires-smm", "secure-boot"],
  "tags": []
}
EOT

name=win11-sb
serial="$VMRUN_STATE_DIR/$name/serial.log"
# guest_profile TPM-JSON CMDLINE
guest_profile() {
    cat >"$T/$name.json" <<EOT
{
  "name": "$name",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "256M" },
  "firmware": { "type": "uefi", "secure_boot": true },
  "tpm": $1,
  "boot": { "kernel": "$T/signed.efi", "initrd": "$GUEST/initramfs.cpio.gz",
            "cmdline": "console=ttyS0 quiet $2" },
  "serial": "log",
  "display": "none",
  "shutdown": { "timeout": 10 }
}
EOT
    echo "$T/$name.json"
}

# A line of the guest's report. OVMF 2025 and later leave terminal control
# sequences (clear screen, cursor home) on the serial console without a
# newline, so the guest's first line may start after them.
fact() {
    sed -n "s/.*vmrun-uefi: $1=\\([^[:space:]]*\\).*/\\1/p" "$serial" | tail -n 1
}

# want_fact NAME VALUE WHAT: VALUE may be an extended regular expression.
want_fact() {
    got=$(fact "$1")
    echo "$got" | grep -Eqx "$2" || fail "$3: the guest says $1='$got', expected '$2'"
}

# run_guest LABEL PROFILE: boot to the guest's own power-off.
run_guest() {
    start=$(date +%s)
    "$VMRUN_BIN" start "$2" >"$T/$1.log" 2>&1
    rc=$?
    cp "$serial" "$T/$1.serial.log" 2>/dev/null
    [ $rc = 0 ] || fail "$1: vmrun exited $rc"
    grep -q "the guest powered off" "$T/$1.log" || fail "$1: the guest did not power off by itself"
    grep -q "vmrun-uefi: done" "$serial" || fail "$1: the guest did not finish"
    no_swtpm_for "$VMRUN_STATE_DIR/$name/tpm" || fail "$1: swtpm outlived the VM"
    echo "$1: $(($(date +%s) - start)) s"
}

# --- 1: signed kernel, TPM on tpm-crb, an NV index written.
profile=$(guest_profile '{}' "vmrun.tpm=write")
"$VMRUN_BIN" print-cmd "$profile" | grep -q "^# firmware: 10-vmrun-test-snakeoil.json" ||
    fail "vmrun did not choose the snakeoil build"
run_guest run1 "$profile"
want_fact SecureBoot 1 "run 1"
want_fact SetupMode 0 "run 1"
want_fact tpm_major 2 "run 1"
# Linux 7.x names the ACPI CRB driver tpm_crb_acpi.
want_fact tpm_driver 'tpm_crb(_acpi)?' "run 1"
pcr0=$(fact pcr0)
[[ $pcr0 =~ ^[0-9A-Fa-f]{64}$ ]] && [[ ! $pcr0 =~ ^0+$ ]] && [[ ! $pcr0 =~ ^[Ff]+$ ]] ||
    fail "run 1: PCR 0 is '$pcr0', not a measurement"
want_fact nv_define_rc 00000000 "run 1"
want_fact nv_write_rc 00000000 "run 1"
echo "ok: Secure Boot on in the guest, TPM 2.0 on tpm_crb, PCR 0 $pcr0"

# --- 2: the same VM, the TPM on tpm-tis: what run 1 wrote is there.
profile=$(guest_profile '{ "model": "tis" }' "vmrun.tpm=read")
run_guest run2 "$profile"
want_fact SecureBoot 1 "run 2"
want_fact tpm_driver tpm_tis "run 2"
want_fact nv_read_rc 00000000 "run 2"
want_fact nv_read_data vmrun-ok "run 2"
echo "ok: the TPM state of run 1 is there in run 2 (tpm_tis)"

# --- 3: the firmware starts the kernel from a disk: unsigned refused,
# signed started.
for kind in unsigned signed; do
    img="$T/esp-$kind.img"
    truncate -s 24M "$img"
    mformat -i "$img" -T 49152 -h 64 -s 32 :: >/dev/null || fail "mformat failed"
    mmd -i "$img" ::/EFI ::/EFI/BOOT || fail "mmd failed"
    mcopy -i "$img" "$T/$kind.efi" ::/EFI/BOOT/BOOTX64.EFI || fail "mcopy failed"
done
cat >"$T/$name-esp.json" <<EOT
{
  "name": "$name",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "256M" },
  "firmware": { "type": "uefi", "secure_boot": true },
  "disks": [ { "path": "$T/esp-unsigned.img", "format": "raw", "bus": "sata", "bootindex": 1 },
             { "path": "$T/esp-signed.img", "format": "raw", "bus": "sata", "bootindex": 2 } ],
  "serial": "log",
  "display": "none",
  "shutdown": { "timeout": 2 }
}
EOT
start=$(date +%s)
start_fg $name "$T/$name-esp.json"
# The firmware says which boot entry it loads, refuses and starts (the
# entries' numbers differ between OVMF releases: 2026.08 has one more before
# the disks). Linux up to 6.x's EFI stub then says Secure Boot is on; 7.x's
# says nothing.
signed_started='starting Boot[0-9A-F]\{4\} "UEFI QEMU HARDDISK QM00003 "'
wait_for 300 grep -aq "$signed_started" "$serial" ||
    fail "run 3: the signed kernel was not started from the second disk; the firmware said: $(tr -d '\r' <"$serial" | grep -a 'BdsDxe\|EFI stub\|Denied\|Violation' | tail -n 8)"
sleep 2
cp "$serial" "$T/run3.serial.log"
"$VMRUN_BIN" stop $name >"$T/run3-stop.log" 2>&1 || fail "run 3: vmrun stop: $(cat "$T/run3-stop.log")"
wait_exit "$SUP_PID" 60
[ "$code" = 0 ] || fail "run 3: the supervisor exited $code after the stop"
tr -d '\r' <"$T/run3.serial.log" | grep -ao 'BdsDxe: .*\|EFI stub: .*' >"$T/run3.boot"
# OVMF 2022.11 and 2025.02 end the line with "Access Denied", 2026.08 with
# "Access Denied -- rejected probably by Secure Boot".
grep -q 'failed to load Boot[0-9A-F]\{4\} "UEFI QEMU HARDDISK QM00001 " .*: Access Denied' "$T/run3.boot" ||
    fail "run 3: the unsigned kernel was not refused: $(cat "$T/run3.boot")"
grep -q 'starting Boot[0-9A-F]\{4\} "UEFI QEMU HARDDISK QM00001 "' "$T/run3.boot" &&
    fail "run 3: the firmware started the unsigned kernel"
grep -q "$signed_started" "$T/run3.boot" ||
    fail "run 3: the signed kernel's disk was not started: $(cat "$T/run3.boot")"
if grep -q 'EFI stub: ' "$T/run3.boot"; then
    grep -q 'EFI stub: UEFI Secure Boot is enabled' "$T/run3.boot" ||
        fail "run 3: the kernel's EFI stub does not see Secure Boot: $(cat "$T/run3.boot")"
fi
# Refused first, then the second disk: in that order.
[ "$(grep -n 'Access Denied' "$T/run3.boot" | cut -d: -f1 | head -n 1)" -lt \
    "$(grep -n "$signed_started" "$T/run3.boot" | cut -d: -f1)" ] || fail "run 3: order"
echo "run3: $(($(date +%s) - start)) s"
echo "ok: the firmware refuses the unsigned kernel (Access Denied) and starts the signed one"
echo "PASS: Secure Boot enforced and the TPM real in the guest"
