#!/bin/bash
# Builds the small Linux guests vmrun's demo and tests boot, from Debian
# packages only: the kernel from Debian's kernel image package (downloaded
# with apt-get download and unpacked with dpkg -x, never installed) and the
# userland from busybox-static.
#
#   scripts/build-guest.sh [--demo | --lab | --uefi] [--force] [DIR]
#
#   --demo  (default) the demo guest: boots, prints a banner on ttyS0, powers
#           off on the ACPI power button or after vmrun.poweroff=N seconds.
#           Into $VMRUN_DEMO_GUEST, else /var/cache/vmrun/demo-guest.
#   --lab   the lab guest (L1) for real-kernel tests: VFIO, 9p, e1000e, HDA
#           and overlay modules (the bochs DRM driver too, loaded by the
#           scenarios that want it); mounts the host root over 9p and runs a
#           job (tests/lab/run-lab.sh, tests/lab/README.md).
#           Into $VMRUN_LAB_GUEST, else /var/cache/vmrun/lab-guest.
#   --uefi  the UEFI test guest for Secure Boot and the TPM: the kernel as
#           Debian ships it (vmlinuz, an EFI application, for UEFI firmware
#           to start; tests sign it themselves) and an /init that reports
#           Secure Boot from efivarfs and talks to the TPM through /dev/tpm0
#           (scripts/guest/uefi-init), then powers off.
#           Into $VMRUN_UEFI_GUEST, else /var/cache/vmrun/uefi-guest.
#   --force rebuild even when the outputs are up to date.
#   DIR     the output directory (overrides the environment).
#
# Outputs in DIR: vmlinux (uncompressed, so QEMU boots it through the PVH
# entry and skips the decompressor: much faster under TCG; --uefi: vmlinuz
# instead, which UEFI firmware can start) and initramfs.cpio.gz; for the lab
# also vmlinuz (the kernel with its EFI stub, for a boot through OVMF:
# run-lab.sh --uefi). Downloaded packages stay in $VMRUN_CACHE_DIR/debs
# (default /var/cache/vmrun/debs). A stamp records what the outputs were
# built from: a second run with the same kernel package, busybox and guest
# scripts does nothing. $VMRUN_KERNEL_PACKAGE picks a kernel package other
# than the one linux-image-amd64 depends on. Installs nothing: the tools
# come from scripts/install-deps.sh.
set -euo pipefail

prog=build-guest
say() { echo "$prog: $*"; }
die() {
    echo "$prog: error: $*" >&2
    exit 1
}

HERE=$(cd "$(dirname "$0")" && pwd)
GUEST_SRC=$HERE/guest

mode=demo
force=0
out=
while [ $# -gt 0 ]; do
    case $1 in
    --demo) mode=demo ;;
    --lab) mode=lab ;;
    --uefi) mode=uefi ;;
    --force) force=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
        [ -z "$out" ] || die "only one output directory, please"
        out=$1
        ;;
    esac
    shift
done

cache=${VMRUN_CACHE_DIR:-/var/cache/vmrun}
if [ -z "$out" ]; then
    case $mode in
    demo) out=${VMRUN_DEMO_GUEST:-$cache/demo-guest} ;;
    lab) out=${VMRUN_LAB_GUEST:-$cache/lab-guest} ;;
    uefi) out=${VMRUN_UEFI_GUEST:-$cache/uefi-guest} ;;
    esac
fi
debs=$cache/debs

# Modules each guest loads (their dependencies are added). The demo guest
# needs the ACPI power button and the input event interface it reports
# through; Debian builds both as modules.
demo_modules="evdev button"
# The demo guest's device drivers, loaded only when the kernel command line
# asks for a report (vmrun.report=1, scripts/guest/demo-init): every disk
# bus and NIC model a profile can give, so end-to-end tests can see from
# inside the guest what vmrun gave it. crc64_rocksoft_generic and the
# crct10dif modules are what the SCSI disk driver's checksums need before
# Linux 6.15, whose CRC library replaced them (the "optional" ones: taken
# when the kernel has them).
demo_device_modules="virtio_pci virtio_blk virtio_scsi crc64_rocksoft_generic sd_mod sr_mod
nvme ahci virtio_net e1000e e1000 8139cp"
demo_optional_modules="crc64_rocksoft_generic"
# The lab: VFIO, the 9p shares, the emulated devices' own drivers (e1000e,
# HDA with the generic codec QEMU's hda-duplex needs), overlayfs; uinput
# for input devices a test creates, and a USB device controller in software
# (dummy_hcd) with the gadget framework and its source/sink function, so a
# test can plug in a USB device of its own.
lab_modules="vfio vfio_iommu_type1 vfio-pci 9pnet_virtio 9p virtio_pci e1000e
snd-hda-intel snd-hda-codec-generic overlay evdev button uinput dummy_hcd libcomposite
usb_f_ss_lb"
# In the lab's initramfs but not loaded at boot: the DRM driver of QEMU's
# VGA and bochs-display (with drm, drm_kms_helper, the VRAM and TTM helpers
# and the fb helpers), which the display handoff scenarios load themselves
# (a firmware framebuffer would otherwise be taken over at once); a USB
# mass-storage gadget, the host's USB disk driver, SCSI disks (with the
# checksum its integrity code asks for) and ext4, for the USB scenario's
# disk mounted on L1.
lab_extra_modules="bochs usb_f_mass_storage usb-storage sd_mod crc64_rocksoft_generic ext4"
# The UEFI guest: efivarfs, to read SecureBoot; Debian builds the TPM
# drivers (tpm_crb, tpm_tis) into the kernel.
uefi_modules="efivarfs"

for tool in dpkg dpkg-deb apt-get apt-cache cpio gzip xz depmod modprobe; do
    command -v "$tool" >/dev/null || die "'$tool' is missing: run scripts/install-deps.sh"
done
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing: run scripts/install-deps.sh"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
    die "busybox-static is not installed: run scripts/install-deps.sh"
busybox=$(dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
[ -x "$busybox" ] || die "busybox-static installed but its busybox binary is missing"
busybox_version=$(dpkg-query -W -f='${Version}' busybox-static)

mkdir -p "$debs" "$out" 2>/dev/null || die "cannot create $debs and $out (run as root, or set VMRUN_CACHE_DIR and the output directory)"
if [ ! -w "$debs" ] || [ ! -w "$out" ]; then
    die "$debs or $out is not writable (run as root, or choose other directories)"
fi

# One build at a time per output directory.
if command -v flock >/dev/null; then
    exec 9>"$out/.lock"
    flock 9
fi

# --- The kernel package: the one linux-image-amd64 depends on. When apt
# cannot give it (no or stale package lists, no archive), the newest one
# already downloaded will do.
kpkg=${VMRUN_KERNEL_PACKAGE:-}
if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
fi

# download_kernel PACKAGE: prints the path of its .deb in $debs, downloading
# apt's candidate version (a security update replaces an older download).
download_kernel() {
    local pkg=$1 version want dl got
    version=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        say "apt knows no version of $pkg" >&2
        return 1
    fi
    want="$debs/${pkg}_${version//:/%3a}_amd64.deb"
    if [ ! -f "$want" ]; then
        say "downloading $pkg $version (Debian's kernel image package)" >&2
        # apt-get download runs as the _apt user when it can: give it a
        # directory it may write, then keep the file.
        dl=$(mktemp -d "$debs/.download.XXXXXX")
        chmod 0755 "$dl"
        if id _apt >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
            chown _apt "$dl"
        fi
        if ! (cd "$dl" && apt-get download -q "$pkg=$version" 2>&1 | sed "s/^/$prog: apt: /" >&2); then
            rm -rf "$dl"
            say "apt-get download $pkg=$version failed" >&2
            return 1
        fi
        got=$(find "$dl" -maxdepth 1 -name '*.deb' | head -n 1)
        if [ -z "$got" ]; then
            rm -rf "$dl"
            say "apt-get download $pkg=$version gave no .deb" >&2
            return 1
        fi
        mv "$got" "$want"
        rm -rf "$dl"
    fi
    echo "$want"
}

deb=
if [ -n "$kpkg" ]; then
    deb=$(download_kernel "$kpkg") || deb=
fi
# From Debian's 7.x kernels on, linux-image-VER is an empty package that
# depends on the kernel (linux-binary-VER), its modules (linux-modules-VER)
# and their metadata (linux-base-VER): those are unpacked with it.
parts=""
if [ -n "$deb" ]; then
    for part in $(apt-cache depends "$kpkg" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-\(binary\|modules\|base\)-[0-9][^ ]*-amd64\)$/\1/p'); do
        parts="$parts $(download_kernel "$part")" || die "cannot download $part, a part of $kpkg"
    done
fi
if [ -z "$deb" ]; then
    deb=$(find "$debs" -maxdepth 1 -name 'linux-image-*-amd64_*_amd64.deb' | sort -V | tail -n 1)
    [ -n "$deb" ] || die "no kernel package: apt cannot give one (run 'apt-get update') and $debs holds none"
    say "WARNING: using the kernel package downloaded before, $(basename "$deb") (run 'apt-get update' to get the current one)"
fi

# --- Up to date? The stamp names everything the outputs are made of.
stamp_text() {
    echo "mode $mode"
    for d in $deb $parts; do
        echo "kernel $(basename "$d") $(stat -c %s "$d")"
    done
    echo "busybox $busybox_version"
    sha256sum "$0" "$GUEST_SRC"/* | sed "s|  .*/|  |"
}
stamp=$out/.stamp
kernel_out=vmlinux
[ $mode = uefi ] && kernel_out=vmlinuz
if [ $force -eq 0 ] && [ -f "$out/$kernel_out" ] && [ -f "$out/initramfs.cpio.gz" ] &&
    { [ $mode != lab ] || [ -f "$out/vmlinuz" ]; } &&
    [ -f "$stamp" ] && [ "$(stamp_text)" = "$(cat "$stamp")" ]; then
    say "$mode guest in $out is up to date ($(basename "$deb"))"
    exit 0
fi

say "building the $mode guest in $out from $(basename "$deb") and busybox-static $busybox_version"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for d in $deb $parts; do
    dpkg-deb -x "$d" "$tmp/pkg"
done
# Debian 13 and later merge /usr: the modules are in /usr/lib/modules, and
# from 7.x on the kernel too (/usr/lib/modules/VER/vmlinuz). depmod and
# modprobe -d look under lib/modules of the tree they are given.
if [ ! -e "$tmp/pkg/lib" ] && [ -d "$tmp/pkg/usr/lib/modules" ]; then
    ln -s usr/lib "$tmp/pkg/lib"
fi
vmlinuz=$(find "$tmp/pkg/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1 || true)
if [ -n "$vmlinuz" ]; then
    kver=${vmlinuz##*/vmlinuz-}
else
    vmlinuz=$(find "$tmp/pkg/lib/modules/" -mindepth 2 -maxdepth 2 -name vmlinuz 2>/dev/null | head -n 1 || true)
    [ -n "$vmlinuz" ] || die "$(basename "$deb") has no /boot/vmlinuz-* nor /usr/lib/modules/*/vmlinuz"
    kver=$(basename "$(dirname "$vmlinuz")")
fi
moddir=$tmp/pkg/lib/modules/$kver
[ -d "$moddir" ] || die "the package has no /lib/modules/$kver nor /usr/lib/modules/$kver"

# --- The kernel. UEFI firmware starts vmlinuz as it is (an EFI
# application); the others boot vmlinux, the XZ stream inside vmlinuz,
# decompressed.
if [ $mode = uefi ]; then
    cp "$vmlinuz" "$tmp/vmlinuz"
else
/usr/bin/python3 - "$vmlinuz" "$tmp/vmlinux" <<'PY'
import lzma, struct, subprocess, sys
data = open(sys.argv[1], "rb").read()
# The bzImage's setup header says where the compressed kernel is:
# payload_offset and payload_length (boot protocol 2.08+), from the start
# of the protected-mode code, which follows the setup sectors. Debian 12
# compresses it with XZ, Debian 13 and later with zstd.
setup_sects = data[0x1F1] or 4
off, length = struct.unpack_from("<II", data, 0x248)
payload = data[(setup_sects + 1) * 512 + off:][:length]
if payload[:6] == b"\xfd7zXZ\x00":
    # Decompress the first stream only: the uncompressed size follows it.
    out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
elif payload[:4] == b"\x28\xb5\x2f\xfd":
    # The last 4 bytes are the uncompressed size, not part of the frame.
    try:
        out = subprocess.run(["zstd", "-dcq"], input=payload[:-4], stdout=subprocess.PIPE,
                             check=True).stdout
    except FileNotFoundError:
        sys.exit("build-guest: error: zstd is missing: run scripts/install-deps.sh")
else:
    sys.exit("build-guest: error: %s: the kernel is compressed neither with XZ nor with zstd "
             "(magic %s)" % (sys.argv[1], payload[:6].hex()))
if out[:4] != b"\x7fELF":
    sys.exit("build-guest: error: the kernel in %s is not an ELF image" % sys.argv[1])
open(sys.argv[2], "wb").write(out)
PY
fi

# --- The initramfs tree.
root=$tmp/root
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,run,newroot,lib/modules}
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
# The kernel opens /dev/console for /init before anything is mounted.
if [ "$(id -u)" -eq 0 ]; then
    mknod -m 600 "$root/dev/console" c 5 1
fi

# The module closure, in load order, from a depmod of the whole package.
depmod -b "$tmp/pkg" "$kver"
case $mode in
demo) wanted=$demo_modules ;;
lab) wanted="$lab_modules $lab_extra_modules" ;;
uefi) wanted=$uefi_modules ;;
esac
# module_closure MODULE...: the module files, dependencies first.
module_closure() {
    for m in "$@"; do
        if ! modprobe -d "$tmp/pkg" -S "$kver" --show-depends "$m" 2>/dev/null; then
            case " $demo_optional_modules " in
            *" $m "*) continue ;;
            esac
            die "module $m is not in $(basename "$deb")"
        fi
    done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++'
}
# shellcheck disable=SC2086 # word lists
files=$(module_closure $wanted)

# copy_module FILE DIR: FILE into DIR, uncompressed (busybox's insmod takes
# plain .ko files; 7.x's modules are .ko.xz); prints the name it got.
copy_module() {
    local name
    name=$(basename "$1")
    case $name in
    *.ko.xz) name=${name%.xz} && xz -dc "$1" >"$2/$name" ;;
    *.ko.zst) name=${name%.zst} && zstd -dcq "$1" >"$2/$name" ;;
    *.ko.gz) name=${name%.gz} && gzip -dc "$1" >"$2/$name" ;;
    *) cp "$1" "$2/" ;;
    esac
    echo "$name"
}

if [ $mode = uefi ]; then
    # One module without dependencies: /init loads it with insmod.
    for f in $files; do
        copy_module "$f" "$root/lib/modules" >/dev/null
    done
    install -m 0755 "$GUEST_SRC/uefi-init" "$root/init"
elif [ $mode = demo ]; then
    # Two modules without dependencies: /init loads them with insmod.
    for f in $files; do
        copy_module "$f" "$root/lib/modules" >/dev/null
    done
    # The device drivers, in load order (dependencies first), for insmod.
    # shellcheck disable=SC2086
    device_files=$(module_closure $demo_device_modules)
    for f in $device_files; do
        copy_module "$f" "$root/lib/modules"
    done >"$root/etc/device-modules"
    install -m 0755 "$GUEST_SRC/demo-init" "$root/init"
    mkdir -p "$root/etc/acpi"
    install -m 0755 "$GUEST_SRC/demo-power-button" "$root/etc/acpi/power-button"
    # busybox acpid: the event "PWRF" (power button) runs /etc/acpi/power-button.
    echo "PWRF power-button" >"$root/etc/acpid.conf"
else
    for f in $files; do
        rel=${f#"$tmp/pkg/"}
        mkdir -p "$root/$(dirname "$rel")"
        cp "$f" "$root/$rel"
    done
    cp "$moddir"/modules.order "$moddir"/modules.builtin "$moddir"/modules.builtin.modinfo \
        "$root/lib/modules/$kver/"
    depmod -b "$root" "$kver"
    echo "$lab_modules" | tr ' ' '\n' | sed '/^$/d' >"$root/etc/lab-modules"
    install -m 0755 "$GUEST_SRC/lab-init" "$root/init"
fi
echo "$kver" >"$root/etc/vmrun-guest-kernel"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
    gzip -6 >"$tmp/initramfs.cpio.gz"

# Replace the outputs only when all are complete.
if [ $mode = lab ]; then
    cp "$vmlinuz" "$out/vmlinuz.new"
    mv -f "$out/vmlinuz.new" "$out/vmlinuz"
fi
mv -f "$tmp/$kernel_out" "$out/$kernel_out"
mv -f "$tmp/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
echo "$kver" >"$out/kernel-release"
stamp_text >"$stamp"
say "done: $out/$kernel_out ($kver), $out/initramfs.cpio.gz ($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB)"
