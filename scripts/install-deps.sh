#!/bin/sh
# Installs everything vmrun needs on Debian 12 to build, run and test:
# the four libraries' -dev packages, cmocka, QEMU, OVMF, clang for the fuzz
# targets, and the pieces the demo guest and the lab are built from; libxml2
# for `vmrun import`, and libvirt's daemon and client (with swtpm, which it
# needs for TPM domains) as the reference the import is compared with (the
# daemon package alone: no service is set up or started).
# And sudo (with passwd's useradd), through which the privilege tests attack
# vmrun as an unprivileged user (tests/priv/attack/).
# swtpm for the TPM; for the Secure Boot and TPM tests sbsigntool, mtools
# and openssl (signing a guest kernel, an EFI system partition), and
# libvirt's QEMU driver and virsh for the reference argv.
# pkexec (with polkitd), D-Bus and notify-send: the desktop launcher's path
# through real pkexec and its notifications (tests/priv/pkexec.sh).
# Idempotent and non-interactive: packages already present are skipped, so a
# second run costs one dpkg query.
set -eu

PACKAGES="
build-essential cmake pkg-config
libpci-dev pci.ids libcap-ng-dev libcjson-dev libnuma-dev
libcmocka-dev
clang libclang-rt-14-dev
qemu-system-x86 qemu-utils ovmf
busybox-static cpio xz-utils kmod
python3 jq procps util-linux iproute2 psmisc
libxml2-dev
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients swtpm swtpm-tools
sudo passwd
sbsigntool mtools openssl
pkexec dbus-daemon dbus-bin libnotify-bin
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# The demo and lab guests take Debian's kernel package with apt-get
# download, which needs the package lists even when nothing is missing.
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    echo "install-deps: updating the package lists"
    $SUDO apt-get update -qq
fi

if [ -z "$missing" ]; then
    echo "install-deps: everything is installed"
    exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
