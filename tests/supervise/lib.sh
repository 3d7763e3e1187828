# Helpers for the supervision tests (sourced). Each test gets its own run
# and state directories, a profile written from a template, and ends only
# the processes it started.
set -u

: "${VMRUN_BIN:?VMRUN_BIN must point at the vmrun binary}"
. "$(dirname "${BASH_SOURCE[0]}")/../common/keylog.sh"
keylog_reset
GUEST_DIR=${VMRUN_DEMO_GUEST:-/var/cache/vmrun/demo-guest}

T=$(mktemp -d /tmp/vmrun-test.XXXXXX)
export VMRUN_RUN_DIR="$T/run"
export VMRUN_STATE_DIR="$T/state"
STARTED_PIDS=""

cleanup() {
    for pid in $STARTED_PIDS; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # A QEMU this test started through vmrun, if any is left.
    for f in "$T"/run/*/qemu.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; } >&2
    done
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

need_guest() {
    [ -f "$GUEST_DIR/vmlinux" ] && [ -f "$GUEST_DIR/initramfs.cpio.gz" ] ||
        skip "the demo guest is not built (scripts/build-guest.sh)"
}

# write_profile NAME [poweroff-seconds] [extra kernel args] [extra JSON members]
write_profile() {
    name=$1
    poweroff=${2:-0}
    kargs=${3:-}
    extra=${4:-}
    cat >"$T/$name.json" <<EOT
{
  "name": "$name",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "sockets": 1, "cores": 2, "threads": 1,
           "pin": { "vcpus": [1, 0], "emulator": [0] } },
  "memory": { "size": "256M" },
  "boot": { "kernel": "$GUEST_DIR/vmlinux", "initrd": "$GUEST_DIR/initramfs.cpio.gz",
            "cmdline": "console=ttyS0 quiet vmrun.poweroff=$poweroff $kargs" },
  "serial": "log",
  "display": "none",
  "shutdown": { "timeout": 30 }$extra
}
EOT
    echo "$T/$name.json"
}

# A VM without an OS: the firmware waits forever and ignores ACPI.
write_firmware_profile() {
    name=$1
    timeout=$2
    cat >"$T/$name.json" <<EOT
{
  "name": "$name",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1, "pin": { "vcpus": [0] } },
  "memory": { "size": "64M" },
  "serial": "none",
  "display": "none",
  "shutdown": { "timeout": $timeout }
}
EOT
    echo "$T/$name.json"
}

# Start a supervisor in the foreground mode, in the background of this
# script; its output goes to $T/NAME.log. Sets SUP_PID.
start_fg() {
    name=$1
    profile=$2
    "$VMRUN_BIN" start "$profile" >"$T/$name.log" 2>&1 &
    SUP_PID=$!
    STARTED_PIDS="$STARTED_PIDS $SUP_PID"
}

# wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
    limit=$1
    shift
    i=0
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt $((limit * 10)) ] && return 1
        sleep 0.1
    done
    return 0
}

vm_state() {
    "$VMRUN_BIN" status "$1" --json 2>/dev/null | jq -r .state
}

is_running() {
    [ "$(vm_state "$1")" = running ]
}

qemu_pid_of() {
    cat "$VMRUN_RUN_DIR/$1/qemu.pid"
}

# Wait for a pid that is our child to exit; sets code to its exit code
# (or "timeout"). Not in a subshell: only this shell can wait for it.
wait_exit() {
    pid=$1
    limit=$2
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt $((limit * 10)) ]; then
            code=timeout
            return 0
        fi
        sleep 0.1
    done
    code=0
    wait "$pid" || code=$?
}

state_is() {
    [ "$(vm_state "$1")" = "$2" ]
}

gone() {
    ! kill -0 "$1" 2>/dev/null
}
