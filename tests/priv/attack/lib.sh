# Helpers of the attacks on the privilege boundary (sourced). Each attack
# runs as root under ctest and acts as the unprivileged user vmrun-tester
# would: through `runuser` to become them, then their own `sudo` rule
# (fixture.sh) to run the release vmrun as root. A test passes only when
# the root-owned victim file is untouched (owner, group, mode, content) and
# a watcher running as the user, all along, never read anything of it.
set -u
ATTACK_USER=vmrun-tester
BASE=/run/vmrun-priv-tests
BIN=$BASE/bin/vmrun
SETENV_BIN=$BASE/bin/vmrun-setenv # the same, under a rule with SETENV
ETC=/etc/vmrun
VICTIM=$BASE/victim
UHOME=/home/$ATTACK_USER
RUNS=0
FAILS=0
WATCHER=""
STARTED_VMS=""

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$BIN" ] && [ -f "$VICTIM" ] && id "$ATTACK_USER" >/dev/null 2>&1 ||
    { echo "FAIL: the fixture is not set up (tests/priv/attack/fixture.sh setup)"; exit 1; }
A_UID=$(id -u "$ATTACK_USER")
A_GID=$(id -g "$ATTACK_USER")
T=$(mktemp -d /tmp/vmrun-attack.XXXXXX)
chmod 0755 "$T"

pass() { RUNS=$((RUNS + 1)); echo "PASS: $*"; }
fail() { RUNS=$((RUNS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# The user's own PATH: root's may lead into root's home (pyenv shims),
# where the user cannot go.
USER_PATH=/usr/local/bin:/usr/bin:/bin
# Run a command as the user, from a directory of theirs.
as_user() { (cd "$UHOME" && runuser -u "$ATTACK_USER" -- env PATH="$USER_PATH" "$@"); }
# A long-running process of the user's alone, started with `&`: it
# replaces the subshell `&` makes, so $! is its pid (to signal, to end).
as_user_bg() {
    cd "$UHOME" && exec setpriv --reuid="$A_UID" --regid="$A_GID" --init-groups \
        env PATH="$USER_PATH" "$@"
}
# The user's sudo rule: the release vmrun as root.
vmrun_sudo() { as_user sudo -n "$BIN" "$@"; }

victim_state() { stat -c '%u:%g %a %s' "$VICTIM"; sha256sum <"$VICTIM"; }
VICTIM_BEFORE=$(victim_state)
check_victim() {
    check "the victim $VICTIM is untouched (owner, mode, content)" \
        [ "$(victim_state)" = "$VICTIM_BEFORE" ]
}

# A profile only root controls, where sudo's profiles must be:
# $ETC/NAME.json (/etc/vmrun; the fixture removes priv-*.json), root's,
# 0644. The VM is a firmware-only TCG guest (it waits in the BIOS) plus
# the extra members; the qemu and cpu members may be given (3rd and 4th
# arguments).
root_profile() {
    local name=$1 extra=${2:-}
    local qemu=${3:-'"qemu": { "accel": "tcg" },'}
    local cpu=${4:-'"cpu": { "model": "qemu64", "cores": 1 },'}
    cat >"$ETC/$name.json" <<EOT
{
  "name": "$name",
  $qemu
  $cpu
  "memory": { "size": "64M" },
  "serial": "none",
  "display": "none",
  "shutdown": { "timeout": 5 }$extra
}
EOT
    chmod 0644 "$ETC/$name.json"
    echo "$ETC/$name.json"
}

# A profile only root controls with exactly the JSON given: $ETC/NAME.json.
etc_profile() {
    printf '%s\n' "$2" >"$ETC/$1.json"
    chmod 0644 "$ETC/$1.json"
    echo "$ETC/$1.json"
}

# A 1 MiB raw disk of the user's whose boot sector writes the bytes of FILE
# to COM1 (0x3f8) and halts: what any guest can put in a serial log.
#   com1_disk FILE DISK
com1_disk() {
    python3 - "$1" "$T/com1.raw" <<'EOP'
import sys
msg = open(sys.argv[1], "rb").read() + b"\0"
code = bytes([0xFA, 0x31, 0xC0, 0x8E, 0xD8,   # cli; xor ax, ax; mov ds, ax
              0xBE, 0x16, 0x7C,               # mov si, 0x7c16 (msg)
              0xBA, 0xF8, 0x03,               # mov dx, 0x3f8 (COM1)
              0xAC, 0x84, 0xC0, 0x74, 0x03,   # loop: lodsb; test al, al; jz done
              0xEE, 0xEB, 0xF8,               # out dx, al; jmp loop
              0xF4, 0xEB, 0xFD])              # done: hlt; jmp done
assert len(code) == 0x16 and len(code) + len(msg) <= 510
sector = code + msg
with open(sys.argv[2], "wb") as f:
    f.write(sector + b"\0" * (510 - len(sector)) + b"\x55\xAA")
    f.truncate(1 << 20)
EOP
    chmod 0644 "$T/com1.raw"
    as_user cp "$T/com1.raw" "$2"
}

# The watcher: as the user, all along, read every file it names and every
# file QEMU (or any process of the user) holds open, and note anything
# that is root's secret.
watch_start() {
    cat >"$T/watch.py" <<'EOP'
import os, sys, time
log = open(sys.argv[1], "a")
paths = sys.argv[2:]
uid = os.getuid()
with open(sys.argv[1] + ".ready", "w") as f:
    f.write("looking\n")
def look(p):
    try:
        with open(p, "rb") as f:
            if b"ROOT-SECRET-" in f.read(1 << 16):
                log.write("read root's secret through %s\n" % p); log.flush()
    except OSError:
        pass
while True:
    for p in paths:
        look(p)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat("/proc/" + pid).st_uid != uid:
                continue
            for fd in os.listdir("/proc/%s/fd" % pid):
                look("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            pass
    time.sleep(0.02)
EOP
    : >"$T/watch.log"
    : >"$T/watch.log.ready"
    chmod 0666 "$T/watch.log" "$T/watch.log.ready"
    # setpriv, not runuser: one process of the user's, ended by its pid.
    as_user_bg python3 "$T/watch.py" "$T/watch.log" "$@" &
    WATCHER=$!
    # A watcher that never ran would see nothing: it must be looking.
    for _ in $(seq 100); do
        [ -s "$T/watch.log.ready" ] && return 0
        kill -0 "$WATCHER" 2>/dev/null || break
        sleep 0.05
    done
    fail "the watcher did not start as $ATTACK_USER"
}
watch_stop() {
    if [ -n "$WATCHER" ]; then
        kill "$WATCHER" 2>/dev/null
        wait "$WATCHER" 2>/dev/null
        WATCHER=""
    fi
    check "the user never read anything of root's ($(wc -l <"$T/watch.log") reads)" \
        [ ! -s "$T/watch.log" ]
    [ -s "$T/watch.log" ] && cat "$T/watch.log"
    return 0
}

qemu_pid_of() { cat "/run/vmrun/$1/qemu.pid" 2>/dev/null; }

started() { STARTED_VMS="$STARTED_VMS $1"; }

attack_cleanup() {
    [ -n "$WATCHER" ] && kill "$WATCHER" 2>/dev/null
    for vm in $STARTED_VMS; do
        "$BIN" stop "$vm" --force >/dev/null 2>&1 || true
    done
    rm -rf "$T"
}
trap attack_cleanup EXIT

finish() {
    watch_stop
    check_victim
    echo "$((RUNS - FAILS)) passed, $FAILS failed"
    [ "$FAILS" = 0 ]
    exit $?
}
