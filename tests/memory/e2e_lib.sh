# Helpers for the end-to-end tests of the memory.* profile keys (sourced).
# They drive the program users install ($VMRUN_RELEASE_BIN, as root, with
# the real /run/vmrun and /var/lib/vmrun), start firmware-only TCG VMs named
# hp-*, and look at the host: the pool counters, QEMU's /proc/PID/smaps and
# numa_maps, the hugetlbfs mount. Each runs under the machine-wide hugepage
# lock (with-hugepage-lock.sh, from the ctest registration) and puts back
# every pool it changes.
set -u

: "${VMRUN_RELEASE_BIN:?VMRUN_RELEASE_BIN must point at the vmrun binary}"
VMRUN=$VMRUN_RELEASE_BIN
. "$(dirname "${BASH_SOURCE[0]}")/../common/keylog.sh"
keylog_reset
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
grep -qw hugetlbfs /proc/filesystems || { echo "SKIP: no hugetlbfs"; exit 77; }

T=$(mktemp -d /tmp/vmrun-hp-e2e.XXXXXX)
NODE_POOL=/sys/devices/system/node/node0/hugepages
STARTED=""   # VM names to stop at exit
declare -A SAVED_POOL
for f in "$NODE_POOL"/hugepages-*/nr_hugepages; do
    SAVED_POOL[$f]=$(cat "$f")
done
E2E_CLEANUPS=""   # extra commands run at exit (users, sudoers files)

e2e_cleanup() {
    for n in $STARTED; do
        "$VMRUN" stop "$n" --force >/dev/null 2>&1 || true
        "$VMRUN" recover "$n" >/dev/null 2>&1 || true
        # What a run leaves on purpose (serial and last logs): the test's.
        rm -rf "/var/lib/vmrun/$n"
    done
    eval "$E2E_CLEANUPS"
    for f in "${!SAVED_POOL[@]}"; do
        echo "${SAVED_POOL[$f]}" >"$f" 2>/dev/null
    done
    rm -rf "$T"
}
trap e2e_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; } >&2
    done
    exit 1
}
pass() { echo "ok: $*"; }

# pool SIZE_KB FIELD: node 0's counter (nr_hugepages, free_hugepages, ...).
pool() { cat "$NODE_POOL/hugepages-$1kB/$2"; }
set_pool() { echo "$2" >"$NODE_POOL/hugepages-$1kB/nr_hugepages"; }

# profile NAME MEMORY-JSON [EXTRA-MEMBERS]: a firmware-only TCG VM (it sits
# in SeaBIOS), written to $T/NAME.json.
profile() {
    cat >"$T/$1.json" <<EOT
{
  "name": "$1",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": $2,
  "serial": "none",
  "display": "none"${3:-}
}
EOT
    echo "$T/$1.json"
}

# up NAME PROFILE [vmrun-prefix...]: vmrun start --detach; the output goes
# to $T/NAME.log.
up() {
    local name=$1 prof=$2
    shift 2
    STARTED="$STARTED $name"
    keylog_add "$prof"
    "$@" "$VMRUN" start --detach "$prof" >"$T/$name.log" 2>&1 ||
        fail "$name: vmrun start --detach failed"
    "$VMRUN" status "$name" --json >"$T/$name.status.json" 2>>"$T/$name.log" ||
        fail "$name: vmrun status"
    # The supervisor's own log (what it said while preparing the host).
    cat "/run/vmrun/$name/log" >>"$T/$name.log" 2>/dev/null
    QEMU_PID=$(jq -r .qemu_pid "$T/$name.status.json")
    MEM_FILE=$(jq -r .memory.file "$T/$name.status.json")
    [ -d "/proc/$QEMU_PID" ] || fail "$name: QEMU ($QEMU_PID) is not running"
}

down() {
    "$VMRUN" stop "$1" --force >>"$T/$1.log" 2>&1 || fail "$1: vmrun stop"
    [ ! -e "/run/vmrun/$1" ] || fail "$1: its runtime directory is still there"
}

# smaps_of PID FILE: QEMU's smaps block for its mapping of FILE. The
# kernel names a file on a mount of another mount namespace by its path
# from that namespace's root, which in a stack leg's root (scripts/
# stack-leg.sh) starts with the root's own host path: FILE is matched
# anywhere in the name.
smaps_of() {
    awk -v f="$2" '
        /^[0-9a-f]+-[0-9a-f]+ / { on = (index($0, f) > 0) }
        on { print }' "/proc/$1/smaps"
}

# smaps_field PID FILE FIELD: e.g. Size, KernelPageSize (kB).
smaps_field() {
    smaps_of "$1" "$2" | awk -v k="$3:" '$1 == k { print $2; exit }'
}

# numa_line PID FILE: QEMU's numa_maps line for FILE.
numa_line() {
    grep -F "$2 " "/proc/$1/numa_maps"
}

# No claim of NAME left in vmrun's hugepage ledger.
no_claims_of() {
    ! grep -q " $1\$" /run/vmrun/.hugepages.ledger 2>/dev/null
}
