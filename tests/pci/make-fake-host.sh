#!/bin/bash
# Build a simulated host for the PCI tests: DIR/sys, DIR/proc and DIR/dev,
# laid out like the kernel's (device directories under sys/devices, relative
# symlinks from bus/pci/devices, bus/pci/drivers/*, kernel/iommu_groups/*,
# class/block, class/net), complete enough for libpci's sysfs method
# (vendor, device, class, config, resource, irq...).
#
#   make-fake-host.sh [--simpledrm] DIR   build the tree (DIR must not exist
#                                         or be empty)
#
# Point vmrun at it with VMRUN_SYSFS_ROOT=DIR/sys VMRUN_PROCFS_ROOT=DIR/proc
# VMRUN_DEV_ROOT=DIR/dev; preload libvmrun_sysfs_sim.so to give writes the
# kernel's semantics (see sysfs_sim.c). Files starting with ".sim_" are the
# simulator's own knobs:
#   devices/.../BDF/.sim_drivers        drivers that match the device, in the
#                                       order drivers_probe tries them
#   devices/.../BDF/.sim_block_unbind   present: unbinding blocks forever
#   devices/.../BDF/.sim_reset_methods  the reset methods the device supports
#   devices/.../BDF/.sim_config_good    its config space, for .sim_revive_on_rescan
#   devices/.../BDF/.sim_revive_on_rescan  present: a removed device whose config
#                                       reads 0xffff answers again on a rescan
#
# The display of the boot GPU (05:00.0) for the handoff tests: fb0 of its
# driver, the firmware's framebuffer efi-framebuffer.0 (driver
# efi-framebuffer) inside its BAR 0 (proc/iomem), the frame-buffer console
# vtcon1 (bound) next to the dummy vtcon0, d3cold_allowed 1 on its two
# functions (0 elsewhere). 03:00.0 (the NIC) has an option ROM (rom, made
# by tests/rom/make-rom.py: x86 and EFI images for 8086:10d3).
#
# --simpledrm: the boot framebuffer of a kernel with simpledrm built in
# (Fedora's, Arch's) on a host where the boot GPU 05:00.0 has no driver of
# its own loaded (so nothing took the framebuffer over): the platform device
# simple-framebuffer.0 on the driver simple-framebuffer, a DRM device with
# card0 and the emulated fb0 (made while it is bound: .sim_nodes), its
# memory "BOOTFB" in 05:00.0's BAR 0, fbcon on vtcon1.
#
# The host (IOMMU groups):
#   0  00:00.0 host bridge
#   1  00:01.0 root port; 01:00.0-3 NVIDIA RTX 2080 Ti (VGA nvidia with
#      drm card1/renderD129 and /dev/nvidia0, audio snd_hda_intel, USB
#      xhci_hcd, UCSI nvidia-gpu)
#   2  00:01.1 root port; 05:00.0-1 AMD RX 590 (boot VGA, amdgpu, card0) + audio
#   3  00:1c.0 root port; 03:00.0 Intel 82574L NIC e1000e, enp3s0 up
#   4  00:1c.4 root port; 04:00.0 QEMU edu device, no driver
#   5  00:1d.0 root port; 02:00.0 Samsung 970 EVO Plus NVMe: nvme0n1p1
#      mounted on /mnt/games, nvme0n1p2 swap
#   6  00:1f.0 LPC (lpc_ich), 00:1f.2 SATA (ahci, sda1 mounted on /),
#      00:1f.3 SMBus (i801_smbus)
#   7  00:1b.0 + 00:1b.4 root ports; 06:00.0-1 NVIDIA GTX 1080 + audio,
#      07:00.0 ASMedia USB controller: a GPU sharing its group
#   8  00:1d.4 root port; 08:00.0 Samsung NVMe, nothing mounted (bindable)
set -euo pipefail

simpledrm=0
if [ "${1:-}" = --simpledrm ]; then
    simpledrm=1
    shift
fi
root=${1:?usage: make-fake-host.sh [--simpledrm] DIR}
mkdir -p "$root"
root=$(cd "$root" && pwd)
sys=$root/sys proc=$root/proc dev=$root/dev
mkdir -p "$sys/devices/pci0000:00" "$sys/bus/pci/devices" "$sys/bus/pci/drivers" \
    "$sys/kernel/iommu_groups" "$sys/class/block" "$sys/class/net" "$sys/module" \
    "$proc/self" "$dev/dri" "$dev/vfio"
: >"$sys/bus/pci/drivers_probe"
: >"$sys/bus/pci/rescan"
: >"$dev/vfio/vfio"

driver() {
    local d=$sys/bus/pci/drivers/$1
    mkdir -p "$d"
    : >"$d/bind"
    : >"$d/unbind"
    : >"$d/new_id"
    : >"$d/remove_id"
}
for d in pcieport nvidia nouveau snd_hda_intel xhci_hcd nvidia-gpu amdgpu e1000e nvme \
    lpc_ich ahci i801_smbus vfio-pci; do
    driver "$d"
done

# le16 VALUE: two bytes, little endian, as printf escapes
le16() { printf '\\x%02x\\x%02x' $(($1 & 0xff)) $((($1 >> 8) & 0xff)); }

# dev PARENT BDF VENDOR DEVICE CLASS(24-bit) GROUP DRIVER(- for none) [SIM_DRIVERS...]
dev() {
    local parent=$1 bdf=$2 ven=$3 did=$4 cls=$5 grp=$6 drv=$7
    shift 7
    local p=$sys/devices/$parent/$bdf
    mkdir -p "$p"
    printf '0x%04x\n' "$ven" >"$p/vendor"
    printf '0x%04x\n' "$did" >"$p/device"
    printf '0x%06x\n' "$cls" >"$p/class"
    printf '0x%04x\n' "$ven" >"$p/subsystem_vendor"
    printf '0x0000\n' >"$p/subsystem_device"
    printf '0x00\n' >"$p/revision"
    echo 16 >"$p/irq"
    echo -1 >"$p/numa_node"
    echo 0 >"$p/enable"
    echo '(null)' >"$p/driver_override"
    echo 0 >"$p/d3cold_allowed"
    echo D0 >"$p/power_state"
    : >"$p/remove"
    local i
    : >"$p/resource"
    for i in 0 1 2 3 4 5 6 7 8 9 10 11 12; do
        echo '0x0000000000000000 0x0000000000000000 0x0000000000000000' >>"$p/resource"
    done
    # 256 bytes of config space: ids, command/status, class, header type
    local hdr=0
    [ $((cls >> 8)) = $((0x0604)) ] && hdr=1
    {
        printf "$(le16 "$ven")$(le16 "$did")"
        printf '\x00\x00\x10\x00'
        printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 $((cls & 0xff)) $(((cls >> 8) & 0xff)) $(((cls >> 16) & 0xff)))"
        printf "\\x00\\x00\\x$(printf %02x $hdr)\\x00"
        head -c 240 /dev/zero
    } >"$p/config"
    cp "$p/config" "$p/.sim_config_good"
    case $((cls >> 8)) in
    $((0x0604))) ;;
    *)
        echo "flr bus" >"$p/reset_method"
        echo "flr pm bus" >"$p/.sim_reset_methods"
        ;;
    esac
    [ $((cls >> 16)) = 3 ] && echo 0 >"$p/boot_vga"
    ln -sr "$p" "$sys/bus/pci/devices/$bdf"
    if [ "$grp" != - ]; then
        mkdir -p "$sys/kernel/iommu_groups/$grp/devices"
        ln -sr "$p" "$sys/kernel/iommu_groups/$grp/devices/$bdf"
        ln -sr "$sys/kernel/iommu_groups/$grp" "$p/iommu_group"
    fi
    if [ "$drv" != - ]; then
        ln -sr "$sys/bus/pci/drivers/$drv" "$p/driver"
        ln -sr "$p" "$sys/bus/pci/drivers/$drv/$bdf"
    fi
    echo "$*" >"$p/.sim_drivers"
}

# block PCIDIR SUBPATH NAME MAJ:MIN  (a disk or partition below a device)
block() {
    local p=$sys/devices/$1/$2/$3
    mkdir -p "$p/holders"
    echo "$4" >"$p/dev"
    ln -sr "$p" "$sys/class/block/$3"
    : >"$dev/$3"
}

# drm PCIDIR NAME
drm() {
    mkdir -p "$sys/devices/$1/drm/$2"
    : >"$dev/dri/$2"
}

R=pci0000:00
dev $R 0000:00:00.0 0x8086 0x3ec2 0x060000 0 -
dev $R 0000:00:01.0 0x8086 0x1901 0x060400 1 pcieport pcieport
dev $R/0000:00:01.0 0000:01:00.0 0x10de 0x1e07 0x030000 1 nvidia nvidia nouveau
dev $R/0000:00:01.0 0000:01:00.1 0x10de 0x10f7 0x040300 1 snd_hda_intel snd_hda_intel
dev $R/0000:00:01.0 0000:01:00.2 0x10de 0x1ad6 0x0c0330 1 xhci_hcd xhci_hcd
dev $R/0000:00:01.0 0000:01:00.3 0x10de 0x1ad7 0x0c8000 1 nvidia-gpu nvidia-gpu
drm $R/0000:00:01.0/0000:01:00.0 card1
drm $R/0000:00:01.0/0000:01:00.0 renderD129
: >"$dev/nvidia0"
: >"$dev/nvidiactl"
mkdir -p "$proc/driver/nvidia/gpus/0000:01:00.0"
printf 'Model: \t\t NVIDIA GeForce RTX 2080 Ti\nDevice Minor: \t 0\n' \
    >"$proc/driver/nvidia/gpus/0000:01:00.0/information"

dev $R 0000:00:01.1 0x8086 0x1905 0x060400 2 pcieport pcieport
if [ $simpledrm = 1 ]; then
    dev $R/0000:00:01.1 0000:05:00.0 0x1002 0x67df 0x030000 2 -
else
    dev $R/0000:00:01.1 0000:05:00.0 0x1002 0x67df 0x030000 2 amdgpu amdgpu
fi
dev $R/0000:00:01.1 0000:05:00.1 0x1002 0xaaf0 0x040300 2 snd_hda_intel snd_hda_intel
echo 1 >"$sys/devices/$R/0000:00:01.1/0000:05:00.0/boot_vga"
G=$sys/devices/$R/0000:00:01.1/0000:05:00.0
if [ $simpledrm = 0 ]; then
    drm $R/0000:00:01.1/0000:05:00.0 card0
    drm $R/0000:00:01.1/0000:05:00.0 renderD128
    mkdir -p "$G/graphics/fb0"
    : >"$dev/fb0"
fi
echo 1 >"$G/d3cold_allowed"
echo 1 >"$sys/devices/$R/0000:00:01.1/0000:05:00.1/d3cold_allowed"
# BAR 0: 256 MiB of prefetchable memory; the firmware's framebuffer in it.
{
    echo '0x00000000e0000000 0x00000000efffffff 0x000000000014220c'
    for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
        echo '0x0000000000000000 0x0000000000000000 0x0000000000000000'
    done
} >"$G/resource"
# The firmware's framebuffer: efifb, or simpledrm with its DRM card.
fbdev=efi-framebuffer fbmem=efifb
[ $simpledrm = 0 ] || fbdev=simple-framebuffer fbmem=BOOTFB
cat >"$proc/iomem" <<IOMEM
00000000-00000fff : Reserved
00001000-0009ffff : System RAM
e0000000-efffffff : PCI Bus 0000:05
  e0000000-efffffff : 0000:05:00.0
    e0000000-e07fffff : $fbmem
IOMEM
P=$sys/devices/platform/$fbdev.0
mkdir -p "$P" "$sys/bus/platform/devices" "$sys/bus/platform/drivers/$fbdev"
: >"$sys/bus/platform/drivers/$fbdev/bind"
: >"$sys/bus/platform/drivers/$fbdev/unbind"
ln -sr "$P" "$sys/bus/platform/devices/$fbdev.0"
ln -s "../../../bus/platform/drivers/$fbdev" "$P/driver"
ln -s "../../../../devices/platform/$fbdev.0" "$sys/bus/platform/drivers/$fbdev/$fbdev.0"
if [ $simpledrm = 1 ]; then
    printf 'drm/card0 dri/card0\ngraphics/fb0 fb0\n' >"$P/.sim_nodes"
    mkdir -p "$P/drm/card0" "$P/graphics/fb0"
    : >"$dev/dri/card0"
    : >"$dev/fb0"
fi
for v in 0 1; do
    mkdir -p "$sys/devices/virtual/vtconsole/vtcon$v" "$sys/class/vtconsole"
    ln -sr "$sys/devices/virtual/vtconsole/vtcon$v" "$sys/class/vtconsole/vtcon$v"
done
echo '(S) dummy device' >"$sys/devices/virtual/vtconsole/vtcon0/name"
echo 0 >"$sys/devices/virtual/vtconsole/vtcon0/bind"
echo '(M) frame buffer device' >"$sys/devices/virtual/vtconsole/vtcon1/name"
echo 1 >"$sys/devices/virtual/vtconsole/vtcon1/bind"

dev $R 0000:00:1c.0 0x8086 0xa290 0x060400 3 pcieport pcieport
dev $R/0000:00:1c.0 0000:03:00.0 0x8086 0x10d3 0x020000 3 e1000e e1000e
/usr/bin/python3 "$(dirname "$0")/../rom/make-rom.py" --efi x64 --pad 131072 \
    "$sys/devices/$R/0000:00:1c.0/0000:03:00.0/rom"
mkdir -p "$sys/devices/$R/0000:00:1c.0/0000:03:00.0/net/enp3s0"
echo up >"$sys/devices/$R/0000:00:1c.0/0000:03:00.0/net/enp3s0/operstate"
ln -sr "$sys/devices/$R/0000:00:1c.0/0000:03:00.0/net/enp3s0" "$sys/class/net/enp3s0"
mkdir -p "$sys/devices/virtual/net/lo"
echo unknown >"$sys/devices/virtual/net/lo/operstate"
ln -sr "$sys/devices/virtual/net/lo" "$sys/class/net/lo"

dev $R 0000:00:1c.4 0x8086 0xa294 0x060400 4 pcieport pcieport
dev $R/0000:00:1c.4 0000:04:00.0 0x1234 0x11e8 0x00ff00 4 -

dev $R 0000:00:1d.0 0x8086 0xa298 0x060400 5 pcieport pcieport
dev $R/0000:00:1d.0 0000:02:00.0 0x144d 0xa808 0x010802 5 nvme nvme
N=$R/0000:00:1d.0/0000:02:00.0
block $N nvme/nvme0 nvme0n1 259:0
block $N nvme/nvme0/nvme0n1 nvme0n1p1 259:1
block $N nvme/nvme0/nvme0n1 nvme0n1p2 259:2

dev $R 0000:00:1f.0 0x8086 0xa305 0x060100 6 lpc_ich lpc_ich
dev $R 0000:00:1f.2 0x8086 0xa352 0x010601 6 ahci ahci
dev $R 0000:00:1f.3 0x8086 0xa323 0x0c0500 6 i801_smbus i801_smbus
block $R/0000:00:1f.2 ata1/host0/target0:0:0/0:0:0:0/block sda 8:0
block $R/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block sda sda1 8:1

dev $R 0000:00:1b.0 0x8086 0xa2e7 0x060400 7 pcieport pcieport
dev $R 0000:00:1b.4 0x8086 0xa2eb 0x060400 7 pcieport pcieport
dev $R/0000:00:1b.0 0000:06:00.0 0x10de 0x1b80 0x030000 7 nvidia nvidia nouveau
dev $R/0000:00:1b.0 0000:06:00.1 0x10de 0x10f0 0x040300 7 snd_hda_intel snd_hda_intel
dev $R/0000:00:1b.4 0000:07:00.0 0x1b21 0x2142 0x0c0330 7 xhci_hcd xhci_hcd

dev $R 0000:00:1d.4 0x8086 0xa29c 0x060400 8 pcieport pcieport
dev $R/0000:00:1d.4 0000:08:00.0 0x144d 0xa808 0x010802 8 nvme nvme
block $R/0000:00:1d.4/0000:08:00.0 nvme/nvme1 nvme1n1 259:3

cat >"$proc/self/mountinfo" <<'MI'
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
41 22 259:1 / /mnt/games rw,relatime shared:30 - ext4 /dev/nvme0n1p1 rw
MI
printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/nvme0n1p2                          partition\t8388604\t\t0\t\t-2\n' \
    >"$proc/swaps"
