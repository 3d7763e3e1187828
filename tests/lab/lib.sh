# shellcheck shell=bash
# Helpers for lab scenarios: scripts that tests/lab/run-lab.sh runs inside
# the lab guest (L1). Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# It refuses to go on outside L1: scenarios write to /sys/bus/pci, which is
# safe only on L1's own virtual hardware.
set -u

# Both marks must be there: the environment run-lab.sh gives the job, and
# the kernel command line only L1's boot has.
if [ "${VMRUN_IN_LAB:-}" != 1 ] || ! grep -q 'vmrun\.lab\.work=' /proc/cmdline; then
    echo "$(basename "$0"): refusing to run outside the lab guest; use tests/lab/run-lab.sh $0" >&2
    exit 2
fi

LAB_PASSED=0
LAB_FAILED=0

# check DESCRIPTION COMMAND...: runs COMMAND, reports "ok"/"not ok".
check() {
    desc=$1
    shift
    if "$@"; then
        pass "$desc"
    else
        fail "$desc"
    fi
}

pass() {
    LAB_PASSED=$((LAB_PASSED + 1))
    echo "ok - $*"
}

fail() {
    LAB_FAILED=$((LAB_FAILED + 1))
    echo "not ok - $*"
}

note() {
    echo "# $*"
}

# The closing line, and the exit status: 0 only when nothing failed and
# something passed.
finish() {
    echo "$LAB_PASSED passed, $LAB_FAILED failed"
    [ "$LAB_FAILED" -eq 0 ] && [ "$LAB_PASSED" -gt 0 ]
    exit $?
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
    local limit=$(($1 * 10)) i=0
    shift
    until "$@"; do
        i=$((i + 1))
        [ $i -lt $limit ] || return 1
        sleep 0.1
    done
}

# pci_find VENDOR:DEVICE: prints the address of the first such PCI function.
pci_find() {
    local want=$1 d v
    for d in /sys/bus/pci/devices/*; do
        v="$(cat "$d/vendor"):$(cat "$d/device")"
        if [ "${v//0x/}" = "$want" ]; then
            basename "$d"
            return 0
        fi
    done
    return 1
}

# pci_driver BDF: the bound driver's name, or "none".
pci_driver() {
    local link=/sys/bus/pci/devices/$1/driver
    if [ -e "$link" ]; then
        basename "$(readlink "$link")"
    else
        echo none
    fi
}

# pci_group BDF: the IOMMU group number.
pci_group() {
    basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"
}

# pci_bind_vfio BDF: driver_override, unbind, drivers_probe (as vmrun does).
pci_bind_vfio() {
    local dev=/sys/bus/pci/devices/$1
    echo vfio-pci >"$dev/driver_override" || return 1
    if [ -e "$dev/driver" ]; then
        echo "$1" >"$dev/driver/unbind" || return 1
    fi
    echo "$1" >/sys/bus/pci/drivers_probe || return 1
    [ "$(pci_driver "$1")" = vfio-pci ]
}

# pci_unbind_vfio BDF: clear driver_override, unbind, reprobe: the device
# goes back to its own driver (or to none).
pci_unbind_vfio() {
    local dev=/sys/bus/pci/devices/$1
    echo >"$dev/driver_override" || return 1
    if [ -e "$dev/driver" ]; then
        echo "$1" >"$dev/driver/unbind" || return 1
    fi
    echo "$1" >/sys/bus/pci/drivers_probe
}
