#!/bin/bash
# fixture.sh setup|cleanup: the stage of the attacks on the privilege
# boundary (tests/priv/attack/).
#   setup    an unprivileged user vmrun-tester (with a home of its own), a
#            copy of the release vmrun (and the lying fake QEMU, and
#            pidfd_grab) in a root-owned directory, and a sudoers rule of
#            our own, /etc/sudoers.d/vmrun-priv-tests, that lets that user
#            run that binary alone as root, without a password: the rule
#            README recommends. A second copy, vmrun-setenv, has the rule
#            README warns against, with SETENV (`sudo -E`, `sudo VAR=...`
#            keep what the caller sets): SETENV hands out root (LD_PRELOAD),
#            and the attacks on it show that vmrun refuses to run where it
#            can tell; checked with visudo before it is used;
#   cleanup  removes all of it: the rule, the user and its home, the
#            directory, and the priv-* state directories the VMs left.
# The user, the directory and the VM names are the machine's, not the
# build tree's: two trees attacking at once would take the stage from under
# each other. So setup holds a machine-wide lock, /run/lock/vmrun-priv-
# attack.lock, until cleanup lets it go (a holder process, `sleep`, ended
# by its pid; at most an hour, should cleanup never run), and waits for it
# (VMRUN_ATTACK_LOCK_WAIT seconds, default 1800) while another tree's
# attacks run.
# Needs root and sudo (scripts/install-deps.sh installs it).
set -eu
ATTACK_USER=vmrun-tester
BASE=/run/vmrun-priv-tests
RULE=/etc/sudoers.d/vmrun-priv-tests
ETC=/etc/vmrun
LOCK=/run/lock/vmrun-priv-attack.lock
HOLDER=/run/lock/vmrun-priv-attack.holder

take_lock() {
    mkdir -p /run/lock
    rm -f "$HOLDER"
    flock -n "$LOCK" true 2>/dev/null ||
        echo "waiting (up to ${VMRUN_ATTACK_LOCK_WAIT:-1800} s) for $LOCK: another tree's attacks run"
    # The holder writes its pid once it has the lock, and keeps it.
    flock -w "${VMRUN_ATTACK_LOCK_WAIT:-1800}" "$LOCK" \
        sh -c 'echo $$ >"$1"; exec sleep 3600' sh "$HOLDER" </dev/null >/dev/null 2>&1 &
    local flocker=$!
    for _ in $(seq $((${VMRUN_ATTACK_LOCK_WAIT:-1800} * 10 + 50))); do
        [ -s "$HOLDER" ] && return 0
        kill -0 "$flocker" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: could not take $LOCK"
    exit 1
}

release_lock() {
    local pid
    pid=$(cat "$HOLDER" 2>/dev/null) || return 0
    # Only our holder: a sleep 3600 whose pid the file names.
    if [ -n "$pid" ] && grep -qs 'sleep' "/proc/$pid/cmdline"; then
        kill "$pid" 2>/dev/null
    fi
    rm -f "$HOLDER"
}

cleanup() {
    rm -f "$RULE" "$ETC"/priv-*.json
    # /etc/vmrun, where profiles for sudo must be, goes again if the
    # setup made it.
    [ -e "$BASE/made-etc" ] && rmdir --ignore-fail-on-non-empty "$ETC"
    if id "$ATTACK_USER" >/dev/null 2>&1; then
        # Only this user's processes: it exists for these tests alone.
        pkill -KILL -u "$ATTACK_USER" 2>/dev/null || true
        userdel -r "$ATTACK_USER" 2>/dev/null || userdel "$ATTACK_USER" || true
        rm -rf "/home/$ATTACK_USER"
    fi
    # A VM an attack left behind is stopped and recovered, so that what it
    # holds (hugepages and their ledger claims, taps, device access) is
    # given back: removing its directory alone would strand it all.
    for d in /run/vmrun/priv-*; do
        [ -d "$d" ] || continue
        vm=${d##*/}
        if [ -x "$BASE/bin/vmrun" ]; then
            sup=$(cat "$d/supervisor.pid" 2>/dev/null)
            [ -n "$sup" ] && kill -CONT "$sup" 2>/dev/null
            timeout 60 "$BASE/bin/vmrun" stop "$vm" --force >/dev/null 2>&1
            timeout 60 "$BASE/bin/vmrun" recover "$vm" >/dev/null 2>&1
        fi
        [ -e "$d" ] && rm -rf "$d"
    done
    rm -rf "$BASE" /var/lib/vmrun/priv-* /dev/shm/looking-glass-priv-*
    return 0
}

setup() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
    command -v sudo >/dev/null || { echo "FAIL: sudo is not installed (scripts/install-deps.sh)"; exit 1; }
    : "${VMRUN_RELEASE_BIN:?}" "${VMRUN_SOURCE_DIR:?}"
    take_lock
    cleanup
    useradd --create-home --home-dir "/home/$ATTACK_USER" --shell /bin/sh \
        --comment "vmrun privilege tests" "$ATTACK_USER"
    install -d -m 0755 -o root -g root "$BASE" "$BASE/bin"
    if [ ! -d "$ETC" ]; then
        install -d -m 0755 -o root -g root "$ETC"
        touch "$BASE/made-etc"
    fi
    install -m 0755 -o root -g root "$VMRUN_RELEASE_BIN" "$BASE/bin/vmrun"
    install -m 0755 -o root -g root "$VMRUN_RELEASE_BIN" "$BASE/bin/vmrun-setenv"
    install -m 0755 -o root -g root "$VMRUN_SOURCE_DIR/tests/supervise/fake_qemu.py" \
        "$BASE/bin/fake_qemu"
    if [ -n "${VMRUN_ATTACK_PIDFD_GRAB:-}" ]; then
        install -m 0755 -o root -g root "$VMRUN_ATTACK_PIDFD_GRAB" "$BASE/bin/pidfd_grab"
    fi
    # What the attacks are after: a file only root may read.
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/ROOT-SECRET-/' >"$BASE/victim"
    chmod 0600 "$BASE/victim"
    { printf '%s ALL=(root) NOPASSWD: %s\n' "$ATTACK_USER" "$BASE/bin/vmrun"
      printf '%s ALL=(root) NOPASSWD:SETENV: %s\n' "$ATTACK_USER" "$BASE/bin/vmrun-setenv"
    } >"$RULE.tmp"
    chmod 0440 "$RULE.tmp"
    visudo -cqf "$RULE.tmp"
    mv "$RULE.tmp" "$RULE"
    # The rule works, and works for that binary only.
    runuser -u "$ATTACK_USER" -- sudo -n "$BASE/bin/vmrun" --version >/dev/null
    if runuser -u "$ATTACK_USER" -- sudo -n /bin/true 2>/dev/null; then
        echo "FAIL: the sudoers rule lets $ATTACK_USER run more than vmrun"
        exit 1
    fi
    if runuser -u "$ATTACK_USER" -- sudo -n -E "$BASE/bin/vmrun" --version >/dev/null 2>&1; then
        echo "FAIL: the sudoers rule for $BASE/bin/vmrun allows SETENV"
        exit 1
    fi
    echo "PASS: $ATTACK_USER may run $BASE/bin/vmrun (and vmrun-setenv, with SETENV) through sudo, and nothing else"
}

case "${1:-}" in
setup) setup ;;
cleanup) cleanup; release_lock; echo "PASS: cleaned up" ;;
*) echo "usage: fixture.sh setup|cleanup" >&2; exit 2 ;;
esac
