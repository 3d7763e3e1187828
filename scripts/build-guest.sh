#!/bin/bash
# Builds the small Linux guests vmrun's demo and tests boot, from Debian
# packages only: the kernel from Debian's kernel image package (downloaded
# with apt-get download and unpacked with dpkg -x, never installed) and the
# userland from busybox-static.
#
#   scripts/build-guest.sh [--demo | --lab | --uefi] [--suite SUITE] [--force] [DIR]
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
#   --suite SUITE  the kernel of another Debian suite ("trixie", "sid", ...)
#           instead of this machine's: its package lists are read with apt
#           into $VMRUN_CACHE_DIR/apt/SUITE, apart from this machine's own
#           apt state, and fetched again when a day old. For the lab on
#           newer kernels: into /var/cache/vmrun/lab-guest-SUITE by default.
#   --force rebuild even when the outputs are up to date.
#   DIR     the output directory (overrides the environment).
#
# Outputs in DIR: vmlinux (uncompressed, so QEMU boots it through the PVH
# entry and skips the decompressor: much faster under TCG; --uefi: vmlinuz
# instead, which UEFI firmware can start) and initramfs.cpio.gz; for the lab
# also vmlinuz (the kernel with its EFI stub, for a boot through OVMF:
# run-lab.sh --uefi). Downloaded packages stay in $VMRUN_CACHE_DIR/debs
# (default /var/cache/vmrun/debs). A stamp records what the outputs were
# built from: a second run with the same kernel packages, busybox and guest
# scripts does nothing. $VMRUN_KERNEL_PACKAGE picks a kernel package other
# than the one linux-image-amd64 depends on. Installs nothing: the tools
# come from scripts/install-deps.sh.
#
# Debian's kernel packages differ between releases, and the script goes by
# what a package holds, not by its version: the kernel in /boot/vmlinuz-VER
# or /usr/lib/modules/VER/vmlinuz, its payload compressed with XZ (6.1) or
# zstd (6.12 on); the modules under /lib/modules (6.1) or /usr/lib/modules,
# plain or compressed (.ko.xz from 6.12 on), in the image package or, where
# that is an empty package depending on others (unstable's 7.x), in
# linux-binary-VER, linux-modules-VER and linux-base-VER (modules.builtin,
# modules.order); modules the kernel has built in are not loaded.
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
suite=
while [ $# -gt 0 ]; do
    case $1 in
    --demo) mode=demo ;;
    --lab) mode=lab ;;
    --uefi) mode=uefi ;;
    --force) force=1 ;;
    --suite)
        [ $# -ge 2 ] || die "--suite needs a Debian suite name"
        suite=$2
        shift
        ;;
    --suite=*) suite=${1#*=} ;;
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

case $suite in
'' | [a-z]*) ;;
*) die "'$suite' is not a Debian suite name" ;;
esac
case $suite in
*[!a-z0-9.-]*) die "'$suite' is not a Debian suite name" ;;
esac
cache=${VMRUN_CACHE_DIR:-/var/cache/vmrun}
if [ -z "$out" ] && [ -n "$suite" ]; then
    out=$cache/$mode-guest-$suite
elif [ -z "$out" ]; then
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
# Linux 6.15, whose CRC library replaced them ("?": taken when the kernel
# has them, see module_closure).
demo_device_modules="virtio_pci virtio_blk virtio_scsi ?crc64_rocksoft_generic sd_mod sr_mod
nvme ahci virtio_net e1000e e1000 8139cp"
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
lab_extra_modules="bochs usb_f_mass_storage usb-storage sd_mod ?crc64_rocksoft_generic ext4"
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

# --- Where the kernel comes from: this machine's apt, or with --suite the
# package lists of another Debian suite, read with apt through options of
# their own (sources, lists and cache under $cache/apt/SUITE) so that this
# machine's apt configuration of sources, lists and cache stays as it was.
kapt=()
if [ -n "$suite" ]; then
    sdir=$cache/apt/$suite
    mkdir -p "$sdir/lists/partial" "$sdir/cache/archives/partial"
    # One reader of these lists at a time (builds into other directories).
    if command -v flock >/dev/null; then
        exec 8>"$sdir/.lock"
        flock 8
    fi
    # The mirror this machine's apt reads Debian from (deb.debian.org when
    # it names none), signed by the keys of Debian's archive keyring.
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's field name
    mirror=${VMRUN_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' \
        'Created-By: Packages' 'Label: Debian' 2>/dev/null | head -n 1)}
    mirror=${mirror:-http://deb.debian.org/debian/}
    signed=
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f $keyring ] && signed="[signed-by=$keyring] "
    echo "deb $signed$mirror $suite main" >"$sdir/sources.list.new"
    mv -f "$sdir/sources.list.new" "$sdir/sources.list"
    kapt=(-o "Dir::Etc::sourcelist=$sdir/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::Lists=$sdir/lists" -o "Dir::Cache=$sdir/cache")
    if [ -z "$(find "$sdir/updated" -mmin -1440 2>/dev/null)" ]; then
        say "reading the package lists of $suite from $mirror"
        if apt-get -q "${kapt[@]}" update 2>&1 | sed "s/^/$prog: apt: /" >&2 &&
            apt-cache "${kapt[@]}" show linux-image-amd64 >/dev/null 2>&1; then
            touch "$sdir/updated"
        else
            say "WARNING: could not read the package lists of $suite; using what was read before, if anything"
        fi
    fi
fi
kapt_cache() { apt-cache "${kapt[@]}" "$@"; }

# --- The kernel packages: the image package linux-image-amd64 depends on,
# and where that one is empty (unstable) the packages of the kernel, its
# modules and its base files (modules.builtin, modules.order, config) it
# depends on in turn. When apt cannot give them (no or stale package
# lists, no archive), the ones downloaded last time will do.
kpkg=${VMRUN_KERNEL_PACKAGE:-}
if [ -z "$kpkg" ]; then
    kpkg=$(kapt_cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1) || kpkg=
fi

# download_deb PACKAGE: prints the path of its .deb in $debs, downloading
# apt's candidate version (a security update replaces an older download).
download_deb() {
    local pkg=$1 version want dl got
    version=$(kapt_cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        say "apt knows no version of $pkg${suite:+ in $suite}" >&2
        return 1
    fi
    want="$debs/${pkg}_${version//:/%3a}_amd64.deb"
    if [ ! -f "$want" ]; then
        say "downloading $pkg $version${suite:+ from $suite}" >&2
        # apt-get download runs as the _apt user when it can: give it a
        # directory it may write, then keep the file.
        dl=$(mktemp -d "$debs/.download.XXXXXX")
        chmod 0755 "$dl"
        if id _apt >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
            chown _apt "$dl"
        fi
        if ! (cd "$dl" && apt-get download -q "${kapt[@]}" "$pkg=$version" 2>&1 |
            sed "s/^/$prog: apt: /" >&2); then
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

# download_kernel IMAGE-PACKAGE: the paths of the kernel's .debs, one a line.
download_kernel() {
    local part
    download_deb "$1" || return 1
    for part in $(kapt_cache depends "$1" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-\(binary\|modules\|base\)-[0-9][^ ]*\)$/\1/p' | sort -u); do
        download_deb "$part" || return 1
    done
}

# The .debs (kdebs) and their names (knames). What was used last time is
# noted, for when apt cannot help.
last=$debs/.kernel-${suite:-host}${VMRUN_KERNEL_PACKAGE:+-$VMRUN_KERNEL_PACKAGE}
kdebs=()
if [ -n "$kpkg" ]; then
    mapfile -t kdebs < <(download_kernel "$kpkg" || echo FAILED)
    [[ " ${kdebs[*]} " != *" FAILED "* ]] || kdebs=()
fi
if [ ${#kdebs[@]} -gt 0 ]; then
    basename -a "${kdebs[@]}" >"$last.new" && mv -f "$last.new" "$last"
elif [ -f "$last" ] && mapfile -t kdebs < <(sed "s|^|$debs/|" "$last") && ls "${kdebs[@]}" >/dev/null 2>&1; then
    say "WARNING: using the kernel packages downloaded before, $(basename -a "${kdebs[@]}" | tr '\n' ' ')(apt could not give them${suite:+ from $suite})"
elif [ -z "$suite" ]; then
    mapfile -t kdebs < <(find "$debs" -maxdepth 1 -name 'linux-image-*-amd64_*_amd64.deb' | sort -V | tail -n 1)
    [ ${#kdebs[@]} -gt 0 ] || die "no kernel package: apt cannot give one (run 'apt-get update') and $debs holds none"
    say "WARNING: using the kernel package downloaded before, $(basename "${kdebs[0]}") (run 'apt-get update' to get the current one)"
else
    die "no kernel package of $suite: apt cannot read its package lists and $debs holds none from it"
fi
knames=$(basename -a "${kdebs[@]}" | tr '\n' ' ')
knames=${knames% }

# --- Up to date? The stamp names everything the outputs are made of.
stamp_text() {
    echo "mode $mode"
    for d in "${kdebs[@]}"; do
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
    say "$mode guest in $out is up to date ($knames)"
    exit 0
fi

say "building the $mode guest in $out from $knames and busybox-static $busybox_version"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for d in "${kdebs[@]}"; do
    dpkg-deb -x "$d" "$tmp/pkg"
done
# The kernel: /boot/vmlinuz-VER, or /usr/lib/modules/VER/vmlinuz.
vmlinuz=$(find "$tmp/pkg" -path "$tmp/pkg/boot/vmlinuz-*" 2>/dev/null | head -n 1)
if [ -n "$vmlinuz" ]; then
    kver=${vmlinuz##*/vmlinuz-}
else
    vmlinuz=$(find "$tmp/pkg" -regex "$tmp/pkg/\(usr/\)?lib/modules/[^/]*/vmlinuz" | head -n 1)
    [ -n "$vmlinuz" ] || die "$knames: no /boot/vmlinuz-* nor /usr/lib/modules/*/vmlinuz"
    kver=$(basename "$(dirname "$vmlinuz")")
fi
# The modules in one place for depmod and modprobe -d, /lib/modules, as
# on a merged-/usr system where /usr/lib/modules is the same directory.
if [ ! -e "$tmp/pkg/lib/modules" ] && [ -d "$tmp/pkg/usr/lib/modules" ]; then
    mkdir -p "$tmp/pkg/lib"
    ln -s ../usr/lib/modules "$tmp/pkg/lib/modules"
fi
moddir=$tmp/pkg/lib/modules/$kver
[ -d "$moddir" ] || die "the packages have no modules for $kver (in /lib/modules or /usr/lib/modules)"

# --- The kernel. UEFI firmware starts vmlinuz as it is (an EFI
# application); the others boot vmlinux, vmlinuz's compressed payload
# unpacked.
if [ $mode = uefi ]; then
    cp "$vmlinuz" "$tmp/vmlinuz"
else
/usr/bin/python3 - "$vmlinuz" "$tmp/vmlinux" <<'PY'
import lzma, shutil, struct, subprocess, sys
name = sys.argv[1]
data = open(name, "rb").read()
def fail(why):
    sys.exit("build-guest: error: %s: %s" % (name, why))
if data[0x202:0x206] != b"HdrS":
    fail("not an x86 boot image (no HdrS)")
# The boot protocol's header says where the payload is: payload_offset
# (from the start of the protected-mode code, after the setup sectors) and
# payload_length. The build appends the uncompressed size (4 bytes) to it.
setup_sects = data[0x1F1] or 4
offset, length = struct.unpack_from("<II", data, 0x248)
start = (setup_sects + 1) * 512 + offset
payload = data[start:start + length]
if payload.startswith(b"\xfd7zXZ\x00"):
    # The first XZ stream only; what follows it is ignored.
    out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
elif payload.startswith(b"\x28\xb5\x2f\xfd"):
    if shutil.which("zstd") is None:
        fail("its payload is zstd-compressed and zstd is missing: run scripts/install-deps.sh")
    run = subprocess.run(["zstd", "-q", "-d", "-c"], input=payload[:-4], capture_output=True)
    if run.returncode != 0:
        fail("zstd: " + run.stderr.decode(errors="replace").strip())
    out = run.stdout
else:
    fail("a payload compressed in a way not handled here (it starts %s)" % payload[:6].hex())
if out[:4] != b"\x7fELF":
    fail("the payload is not an ELF kernel")
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
# ?MODULE: only where the kernel has it (crc64_rocksoft_generic, the crypto
# implementation of SCSI disks' checksums that 6.1 loads as a module and
# 6.12 has built in, is gone from 7.x, whose CRC library needs none).
module_closure() {
    for m in "$@"; do
        case $m in
        \?*) modprobe -d "$tmp/pkg" -S "$kver" --show-depends "${m#\?}" 2>/dev/null || true ;;
        *) modprobe -d "$tmp/pkg" -S "$kver" --show-depends "$m" || die "module $m is not in $knames" ;;
        esac
    done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++'
}
# install_module FILE DEST: a module file copied to DEST (a name ending in
# .ko), decompressed where the package ships it compressed (.ko.xz from 6.12
# on): busybox's insmod and modprobe and any kmod load it then, and the
# initramfs is compressed as a whole anyway.
install_module() {
    case $1 in
    *.ko.xz) xz -dc "$1" >"$2" ;;
    *.ko.zst) zstd -q -dc "$1" >"$2" ;;
    *.ko.gz) gzip -dc "$1" >"$2" ;;
    *) cp "$1" "$2" ;;
    esac
}
# shellcheck disable=SC2086 # word lists
files=$(module_closure $wanted)

# copy_module FILE DIR: FILE into DIR (install_module); prints the name it
# got.
copy_module() {
    local name
    name=$(basename "$1")
    name=${name%.ko*}.ko
    install_module "$1" "$2/$name"
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
    # The modules at their paths under /lib/modules (and /usr/lib/modules,
    # the same directory, for a modprobe that looks there), decompressed:
    # busybox's modprobe at boot and the host's kmod in L1's chroot load
    # them alike.
    for f in $files; do
        rel=${f#"$tmp/pkg/"}
        mkdir -p "$root/$(dirname "$rel")"
        install_module "$f" "$root/${rel%.ko*}.ko"
    done
    mkdir -p "$root/usr/lib"
    ln -s ../../lib/modules "$root/usr/lib/modules"
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ ! -f "$moddir/$f" ] || cp "$moddir/$f" "$root/lib/modules/$kver/"
    done
    depmod -b "$root" "$kver"
    # What /init loads: the lab's modules, less those this kernel has built
    # in (virtio_pci from 6.12 on).
    for m in $lab_modules; do
        if modprobe -d "$tmp/pkg" -S "$kver" --show-depends "$m" | grep -q '^builtin '; then
            say "$m is built into $kver" >&2
        else
            echo "$m"
        fi
    done >"$root/etc/lab-modules"
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
