#!/bin/sh
# Installs everything vmrun needs to build, run and test, on Debian 12 and
# later (13, unstable): the four libraries' -dev packages, cmocka, QEMU,
# OVMF, clang with its runtime for the fuzz targets, and the pieces the demo
# guest and the lab are built from; libxml2 for `vmrun import`, and
# libvirt's daemon and client (with swtpm, which it needs for TPM domains)
# as the reference the import is compared with (the daemon package alone:
# no service is set up or started).
# And sudo (with passwd's useradd), through which the privilege tests attack
# vmrun as an unprivileged user (tests/priv/attack/); man-db, with which
# the tests render the manual pages.
# swtpm for the TPM; for the Secure Boot and TPM tests sbsigntool, mtools
# and openssl (signing a guest kernel, an EFI system partition), and
# libvirt's QEMU driver and virsh for the reference argv.
# qemu-system-gui holds QEMU's PulseAudio and PipeWire audio drivers (and
# its windows), which the audio backends' tests load.
# pkexec (with polkitd), D-Bus and notify-send: the desktop launcher's path
# through real pkexec and its notifications (tests/priv/pkexec.sh).
# mmdebstrap makes the Debian 13 and unstable roots the test suite also
# runs in (scripts/stack-root.sh); zstd unpacks the kernels of Debian 13
# and later for the test guests, and Debian's archive keys check the
# package lists of the newer suites the lab takes its kernels from.
#
# Package names differ between releases, so the list says what is needed,
# and apt says which name this release has:
#   NAME        required
#   ?NAME       installed when this release has it (QEMU's SPICE support is
#               the separate qemu-system-modules-spice from Debian 13 on;
#               before, it is inside qemu-system-x86)
# Idempotent and non-interactive: packages already present are skipped, so a
# second run costs one dpkg query per package.
set -eu

PACKAGES="
build-essential cmake pkg-config
libpci-dev pci.ids libcap-ng-dev libcjson-dev libnuma-dev
libcmocka-dev
clang libclang-rt-dev
qemu-system-x86 qemu-utils ovmf qemu-system-gui ?qemu-system-modules-spice
busybox-static cpio xz-utils zstd kmod debian-archive-keyring
python3 jq procps util-linux iproute2 psmisc
libxml2-dev
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients swtpm swtpm-tools
sudo passwd man-db
sbsigntool mtools openssl
mmdebstrap
pkexec dbus-daemon dbus-bin libnotify-bin
"
# The Debian package (debian/, tests/package/): debhelper builds it and
# lintian checks it.
PACKAGES="$PACKAGES
debhelper lintian
"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Does this release have PACKAGE (a real package, not only a name other
# packages provide)?
available() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | grep -q '^Package:'
}

# The package lists: the choice below reads them, and the demo and lab
# guests take Debian's kernel package with apt-get download.
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    echo "install-deps: updating the package lists"
    $SUDO apt-get update -qq
fi

missing=""
for spec in $PACKAGES; do
    case $spec in
    \?*)
        p=${spec#\?}
        if installed "$p"; then
            continue
        fi
        if available "$p"; then
            missing="$missing $p"
        fi
        ;;
    *)
        if ! installed "$spec"; then
            missing="$missing $spec"
        fi
        ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: everything is installed"
    exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
