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

# pci_boot_vga: the address of the boot VGA device (QEMU's VGA on the root
# complex; the handoff scenarios hand it over).
pci_boot_vga() {
    local d
    for d in /sys/bus/pci/devices/*; do
        if [ "$(cat "$d/boot_vga" 2>/dev/null)" = 1 ]; then
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

# pci_snapshot: every PCI function's address, driver and driver_override,
# one a line: compare two snapshots to show that nothing changed.
pci_snapshot() {
    local d bdf
    for d in /sys/bus/pci/devices/*; do
        bdf=$(basename "$d")
        echo "$bdf $(pci_driver "$bdf") $(cat "$d/driver_override" 2>/dev/null)"
    done
}

# pci_override BDF: the device's driver_override ("(null)" when clear).
pci_override() {
    cat "/sys/bus/pci/devices/$1/driver_override"
}

# proc_alive PID: the process exists and is not a zombie.
proc_alive() {
    [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# proc_field PID FIELD: a field of /proc/PID/status, tabs made spaces.
proc_field() {
    sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' '
}

# --- vmrun in L1 -------------------------------------------------------------
# VMRUN: the vmrun under test (VMRUN_BIN, as ctest passes it).
VMRUN=${VMRUN_BIN:-}

# need_vmrun: ends the scenario (a failure) when there is no vmrun to test.
need_vmrun() {
    if [ -z "$VMRUN" ] || [ ! -x "$VMRUN" ]; then
        fail "VMRUN_BIN names an executable vmrun (it is '${VMRUN_BIN:-}')"
        finish
    fi
}

# need_writable_root: /etc/vmrun must be creatable (run-lab.sh --writable-root).
need_writable_root() {
    if ! grep -q 'vmrun\.lab\.root=overlay' /proc/cmdline; then
        fail "the scenario needs a writable root (run-lab.sh --writable-root)"
        finish
    fi
}

# lab_profile NAME JSON: writes the profile to /etc/vmrun/NAME.json, root's
# and 0644 in root's 0755 directories (a profile root controls: vmrun then
# honours qemu.extra_args and accepts it through sudo), and prints its path.
lab_profile() {
    local dir=/etc/vmrun
    mkdir -p "$dir" && chown root:root "$dir" && chmod 0755 "$dir" || return 1
    printf '%s\n' "$2" >"$dir/$1.json" || return 1
    chown root:root "$dir/$1.json" && chmod 0644 "$dir/$1.json" || return 1
    echo "$dir/$1.json"
}

# --- the installed vmrun, through real sudo ------------------------------------
# Where a scenario shows privileges it runs what users run: the release
# vmrun (VMRUN_RELEASE_BIN, no test seams) through real sudo, as an
# ordinary user of L1's own. The release vmrun keeps no key log: the test
# build reads each profile it is given instead (tests/README.md).
VMRUN_RELEASE=${VMRUN_RELEASE_BIN:-}

# lab_sudo_user USER: creates USER in L1 (needs --writable-root) and a
# sudoers rule that lets it run the release vmrun as root without a
# password, as an administrator would write it.
lab_sudo_user() {
    local u=$1 rule=/etc/sudoers.d/lab-$1
    [ -x "$VMRUN_RELEASE" ] || return 1
    # sudo looks its host's name up: L1's, in L1's own /etc/hosts.
    grep -qw "$(hostname)" /etc/hosts || echo "127.0.1.1 $(hostname)" >>/etc/hosts
    id "$u" >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh "$u" || return 1
    printf '%s ALL=(root) NOPASSWD: %s\n' "$u" "$(readlink -f "$VMRUN_RELEASE")" >"$rule.tmp" &&
        chmod 0440 "$rule.tmp" && visudo -cqf "$rule.tmp" && mv "$rule.tmp" "$rule"
}

# vmrun_sudo USER ARGS...: `sudo vmrun ARGS`, typed by USER; the profiles
# among ARGS go to the key log first.
vmrun_sudo() {
    local u=$1 a cmd=""
    shift
    for a in "$@"; do
        case $a in /etc/vmrun/*.json) "$VMRUN" print-cmd "$a" >/dev/null 2>&1 ;; esac
        cmd="$cmd '$a'"
    done
    su -s /bin/sh "$u" -c "cd / && sudo -n '$(readlink -f "$VMRUN_RELEASE")'$cmd"
}

# vm_run_dir NAME: the VM's runtime directory.
vm_run_dir() {
    echo "${VMRUN_RUN_DIR:-/run/vmrun}/$1"
}

# vm_pid NAME supervisor|qemu: a pid from the runtime directory (empty if none).
vm_pid() {
    tr -d '[:space:]' 2>/dev/null <"$(vm_run_dir "$1")/$2.pid"
}

# vm_state NAME: the state `vmrun status NAME --json` reports.
vm_state() {
    "$VMRUN" status "$1" --json 2>/dev/null | jq -r .state
}

# vm_keep_log NAME: copies the supervisor's log (running or last) to the
# output share, for a look after a failure.
vm_keep_log() {
    local f
    for f in "$(vm_run_dir "$1")/log" "/var/lib/vmrun/$1/last.log"; do
        [ -f "$f" ] && cp "$f" "$VMRUN_LAB_OUT/$1.$(basename "$f").$(date +%s%N)" 2>/dev/null
    done
    return 0
}

# vm_start OUTFILE PROFILE [ARGS...]: `vmrun start --detach ARGS PROFILE`,
# its output in OUTFILE; returns vmrun's exit status.
vm_start() {
    local out=$1 profile=$2
    shift 2
    "$VMRUN" start --detach "$@" "$profile" >"$out" 2>&1
}

# qmp SOCKET COMMAND [ARGUMENTS-JSON]: one QMP command on its own
# connection; prints the "return" value as JSON (fails on an error reply).
qmp() {
    python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        line = f.readline()
        if not line:
            sys.exit("qmp: the connection closed")
        m = json.loads(line)
        if "event" not in m:
            return m
def execute(name, args=None):
    c = {"execute": name}
    if args is not None:
        c["arguments"] = args
    f.write(json.dumps(c) + "\n")
    f.flush()
    r = reply()
    if "error" in r:
        sys.exit("qmp %s: %s" % (name, r["error"]))
    return r.get("return")
reply()  # the greeting
execute("qmp_capabilities")
print(json.dumps(execute(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)))
PY
}

# install_systemctl_standin: /usr/bin/systemctl (L1's writable root) becomes
# tests/handoff/systemctl-standin.sh with its state in /run/lab-systemd:
# L1 has no systemd. Units go in /run/lab-systemd/units/NAME.
install_systemctl_standin() {
    local src=${VMRUN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
    mkdir -p /run/lab-systemd/units || return 1
    printf '#!/bin/bash\nexec %q --state /run/lab-systemd "$@"\n' \
        "$src/tests/handoff/systemctl-standin.sh" >/usr/bin/systemctl.standin || return 1
    chmod 0755 /usr/bin/systemctl.standin && mv -f /usr/bin/systemctl.standin /usr/bin/systemctl
}

# vtcon_bind N: vtconN's bind (1 bound, 0 not).
vtcon_bind() {
    cat "/sys/class/vtconsole/vtcon$1/bind" 2>/dev/null
}

# qmp_pci_ids SOCKET: "vendor:device" (hex) of every PCI function the guest
# sees, behind bridges too (QMP query-pci).
qmp_pci_ids() {
    qmp "$1" query-pci |
        jq -r '.. | objects | select(has("id") and has("slot")) | "\(.id.vendor) \(.id.device)"' |
        while read -r v d; do printf '%04x:%04x\n' "$v" "$d"; done
}
