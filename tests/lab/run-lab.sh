#!/bin/bash
# Runs one script inside the lab guest ("L1"): a Linux guest under QEMU/TCG
# with a virtual Intel IOMMU, two NUMA nodes, an e1000e NIC and the edu
# device on their own PCIe root ports, an HDA controller, and a display
# controller (a "GPU") behind a PCIe expander bridge on node 1. L1 runs the
# host's own binaries (the host root shared read-only over 9p), so the
# script, the build tree and QEMU are all at their host paths.
#
#   tests/lab/run-lab.sh [options] SCRIPT [ARGS...]
#
#   -t, --timeout SECONDS   how long SCRIPT may run (default 600, or
#                           $VMRUN_LAB_TIMEOUT); L1's boot comes on top
#   --writable-root         a writable root in L1 (tmpfs overlay over the
#                           host root; writes never reach the host)
#   -q, --quiet             do not copy L1's console to stdout as it comes
#   --uefi                  boot L1 through OVMF (the kernel's EFI stub)
#                           instead of PVH: the firmware's framebuffer on the
#                           VGA device then becomes an efi-framebuffer
#                           platform device with fbcon on it; slower to boot
#
# SCRIPT runs as root in L1 (by bash unless it is executable), from the
# current directory, with the VMRUN_*, ASAN_OPTIONS and UBSAN_OPTIONS
# variables of this environment, and VMRUN_LAB_OUT naming a writable
# directory whose files come back to the host. The exit status is SCRIPT's;
# L1's serial console is kept in a log file whose path is printed.
#
# When the lab guest is not built (scripts/build-guest.sh --lab) or QEMU is
# missing, exits 77 (skipped) — unless VMRUN_LAB=1 says the lab must run,
# and then it fails. Environment: VMRUN_LAB_GUEST (the guest directory,
# default /var/cache/vmrun/lab-guest), VMRUN_LAB_RUNS (where run
# directories go, default /var/tmp/vmrun-lab), VMRUN_LAB_KERNEL_ARGS (more
# kernel command line), VMRUN_LAB_QEMU_ARGS (more QEMU arguments for L1,
# split on white space: hardware one scenario needs and the others must not
# see), VMRUN_QEMU (the QEMU binary).
set -euo pipefail

prog="run-lab"
say() { echo "$prog: $*"; }
die() {
    echo "$prog: error: $*" >&2
    exit 1
}
# Not able to run at all: a skip, unless the lab is required.
cannot_run() {
    if [ "${VMRUN_LAB:-}" = 1 ]; then
        echo "$prog: error: $* (VMRUN_LAB=1: the lab must run)" >&2
        exit 1
    fi
    echo "$prog: SKIP: $* (set VMRUN_LAB=1 to make this an error)"
    exit 77
}

timeout=${VMRUN_LAB_TIMEOUT:-600}
root_mode=ro
quiet=0
boot=pvh
while [ $# -gt 0 ]; do
    case $1 in
    -t | --timeout)
        [ $# -ge 2 ] || die "$1 needs a number of seconds"
        timeout=$2
        shift
        ;;
    --timeout=*) timeout=${1#*=} ;;
    --writable-root) root_mode=overlay ;;
    -q | --quiet) quiet=1 ;;
    --uefi) boot=uefi ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || die "usage: $0 [options] SCRIPT [ARGS...] (see --help)"
case $timeout in
'' | *[!0-9]* | 0) die "the timeout must be a positive number of seconds, not '$timeout'" ;;
esac

# One L1 at a time on this machine: it wants both cores and 2 GiB, and two
# at once (from two build trees) would only make both miss their timeouts.
mkdir -p /run/lock
exec 9>/run/lock/vmrun-lab.lock
if ! flock -n 9; then
    say "another lab guest runs on this machine; waiting for it"
    flock 9
fi

script=$(realpath -e "$1" 2>/dev/null) || die "no such script: $1"
shift
name=$(basename "$script" .sh)

guest=${VMRUN_LAB_GUEST:-/var/cache/vmrun/lab-guest}
qemu=${VMRUN_QEMU:-qemu-system-x86_64}
if [ ! -f "$guest/vmlinux" ] || [ ! -f "$guest/initramfs.cpio.gz" ]; then
    cannot_run "the lab guest is not built in $guest (scripts/build-guest.sh --lab)"
fi
command -v "$qemu" >/dev/null || cannot_run "$qemu is not installed"
case $script in
/proc/* | /sys/* | /dev/* | /run/*)
    die "$script is hidden inside L1 (L1 mounts its own /proc, /sys, /dev and /run); put it elsewhere"
    ;;
esac

# The run directory: the console log, and the writable share (job, exit
# status, the script's output files). Kept after the run for inspection.
runs=${VMRUN_LAB_RUNS:-/var/tmp/vmrun-lab}
mkdir -p "$runs" || die "cannot create $runs"
run=$(mktemp -d "$runs/$name.$(date +%Y%m%d-%H%M%S).XXXX")
share=$run/share
mkdir -p "$share/out"
console=$run/console.log
: >"$console"

# The job L1 runs in its chroot (by bash, from the init in the initramfs).
{
    echo "# Written by tests/lab/run-lab.sh: runs $script in L1."
    for v in $(compgen -e | grep -E '^(VMRUN_[A-Z0-9_]+|ASAN_OPTIONS|UBSAN_OPTIONS)$' | sort); do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'export VMRUN_IN_LAB=1 VMRUN_LAB_OUT=%q\n' "$share/out"
    # The test's key log (tests/README.md): L1 sees the host read-only, so
    # it is written to the share and copied out below.
    [ -z "${VMRUN_TEST_KEY_LOG:-}" ] ||
        printf 'export VMRUN_TEST_KEY_LOG=%q\n' "$share/out/keys.jsonl"
    printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
    if [ -x "$script" ]; then
        printf 'exec timeout -k 10 %d %q' "$timeout" "$script"
    else
        printf 'exec timeout -k 10 %d /bin/bash %q' "$timeout" "$script"
    fi
    for a in "$@"; do printf ' %q' "$a"; done
    echo
} >"$share/job"

# no_timer_check: under TCG on a busy host the kernel's early check that
# the timer ticks through the interrupt-remapped IO-APIC can miss its
# window and panic ("timer doesn't work through Interrupt-remapped
# IO-APIC"); the emulated timer works, only the guest was starved.
kargs="console=ttyS0 quiet panic=-1 intel_iommu=on no_timer_check vmrun.lab.work=$share vmrun.lab.root=$root_mode"
kargs="$kargs ${VMRUN_LAB_KERNEL_ARGS:-}"
[ "${#kargs}" -lt 2000 ] || die "the kernel command line is too long (a shorter VMRUN_LAB_RUNS helps)"
case $share in
*[[:space:]]*) die "the run directory $share has white space in it; choose another VMRUN_LAB_RUNS" ;;
esac

# PVH (SeaBIOS enters the uncompressed kernel at its PVH entry, skipping the
# decompressor) boots fastest; --uefi goes through OVMF and the kernel's EFI
# stub, which leaves the firmware's framebuffer (efifb) on the VGA device.
if [ $boot = uefi ]; then
    ovmf=${VMRUN_LAB_OVMF:-/usr/share/ovmf/OVMF.fd}
    [ -f "$guest/vmlinuz" ] || cannot_run "$guest/vmlinuz is missing (scripts/build-guest.sh --lab)"
    [ -f "$ovmf" ] || cannot_run "$ovmf is missing (the ovmf package)"
    boot_args=(-bios "$ovmf" -kernel "$guest/vmlinuz")
else
    boot_args=(-kernel "$guest/vmlinux")
fi

# The L1 machine (tests/lab/README.md tells why each piece is there).
# shellcheck disable=SC2054 # the commas are QEMU's option syntax
qemu_args=(
    -name vmrun-lab -nodefaults -no-user-config -display none -no-reboot
    -machine q35 -accel tcg,thread=multi -cpu qemu64 -smp 2 -m 2G
    -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G
    -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
    -device intel-iommu,intremap=on,caching-mode=on
    "${boot_args[@]}" -initrd "$guest/initramfs.cpio.gz" -append "$kargs"
    -chardev "file,id=con,path=$console" -serial chardev:con
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$share,mount_tag=labwork,security_model=none,multidevs=remap"
    -device pcie-root-port,id=rp1,chassis=1,slot=1
    -device e1000e,bus=rp1,netdev=n0 -netdev user,id=n0
    -device pcie-root-port,id=rp2,chassis=2,slot=2
    -device edu,bus=rp2
    -audiodev none,id=snd0 -device ich9-intel-hda -device hda-duplex,audiodev=snd0
    # A GPU-class device on NUMA node 1 (the expander bridge's _PXM):
    # memory.numa_node "auto" follows it. L1 has no driver for it.
    -device pxb-pcie,id=pxb1,bus_nr=0x80,numa_node=1,bus=pcie.0
    -device pcie-root-port,id=rp9,bus=pxb1,chassis=9,slot=0
    -device bochs-display,bus=rp9
    # The boot display: a VGA device on the root complex (alone in its
    # IOMMU group, boot_vga 1), for the display handoff. Last, so that it
    # takes a free slot and moves no other device.
    -device VGA,bus=pcie.0
)
# shellcheck disable=SC2206 # split on white space, as documented
qemu_args+=(${VMRUN_LAB_QEMU_ARGS:-})
printf '%q ' "$qemu" "${qemu_args[@]}" >"$run/qemu.cmdline"
echo >>"$run/qemu.cmdline"

say "running $script in L1 (timeout ${timeout} s); console: $console"
start=$(date +%s%N)
qemu_pid=
tail_pid=
# End only what this script started, by pid.
# shellcheck disable=SC2317 # run by the traps
cleanup() {
    [ -n "$qemu_pid" ] && kill -KILL "$qemu_pid" 2>/dev/null
    [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$qemu" "${qemu_args[@]}" </dev/null >"$run/qemu.log" 2>&1 &
qemu_pid=$!
if [ $quiet -eq 0 ]; then
    tail -n +1 -f --pid="$qemu_pid" "$console" &
    tail_pid=$!
fi

# The script's own timeout ends it inside L1; this one covers a boot or a
# power-off that hangs.
deadline=$(($(date +%s) + timeout + 120))
timed_out=0
while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        timed_out=1
        kill -TERM "$qemu_pid" 2>/dev/null
        sleep 2
        kill -KILL "$qemu_pid" 2>/dev/null
        break
    fi
    sleep 0.2
done
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=
if [ -n "$tail_pid" ]; then
    wait "$tail_pid" 2>/dev/null || true
    tail_pid=
fi
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
elapsed=$(printf '%d.%01d' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)))

# Quiet runs show the end of the console when something went wrong.
show_console() {
    if [ $quiet -eq 1 ]; then
        echo "$prog: --- the last lines of $console:"
        tail -n 60 "$console"
        echo "$prog: ---"
    fi
}
if [ -s "$run/qemu.log" ]; then
    sed "s/^/$prog: qemu: /" "$run/qemu.log" >&2
fi
if [ $timed_out -eq 1 ]; then
    show_console
    say "L1 did not finish within $((timeout + 120)) s: QEMU was killed; console: $console"
    exit 124
fi
if [ ! -f "$share/exit-status" ]; then
    show_console
    say "L1 stopped (QEMU status $qemu_status) without reporting the script's exit status after $elapsed s; console: $console"
    exit 1
fi
rc=$(cat "$share/exit-status")
if [ -n "${VMRUN_TEST_KEY_LOG:-}" ]; then
    cat "$share/out/keys.jsonl" >"$VMRUN_TEST_KEY_LOG" 2>/dev/null || : >"$VMRUN_TEST_KEY_LOG"
fi
case $rc in
'' | *[!0-9]*) die "L1 reported a garbled exit status '$rc'; console: $console" ;;
esac
[ "$rc" -eq 0 ] || show_console
if [ "$rc" -eq 124 ]; then
    say "$name timed out after $timeout s inside L1"
fi
say "$name exited with status $rc; L1 ran for $elapsed s; console: $console; output files: $share/out"
exit "$rc"
