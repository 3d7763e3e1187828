#!/bin/bash
# The desktop launcher, end to end through the installed program: an
# ordinary user's launcher (made by `vmrun desktop install`) runs
# `pkexec vmrun start --detach PROFILE`; real pkexec asks a real polkitd,
# which grants the shipped action org.vmrun.start (scripts/org.vmrun.policy,
# its exec.path set to this build's vmrun, as an install elsewhere does)
# through a rule for this user alone, as an administrator would write
# instead of the password prompt. vmrun runs as root on the user's behalf
# (PKEXEC_UID): QEMU runs as the user. The user stops it with
# `pkexec vmrun stop`, and the end of the VM, like a start QEMU refuses,
# reaches the user as a desktop notification: notify-send, run by vmrun as
# the user, on the user's session bus, to a stand-in for the notification
# daemon (tests/priv/notify_server.py: this machine has no desktop).
#
# Nothing global is touched: the system bus, polkitd, the user's session
# bus and /run/user live in a mount namespace of the test's own (unshare
# -m), where /run is a fresh tmpfs with the host's /run/vmrun bound back
# in; polkit's rules and actions directories are bound over there too. The
# user (vmrun-pk-PID) and the profiles' directory are made here and removed
# at the end, whatever happens. Needs root; 77 when a tool is missing
# (scripts/install-deps.sh installs them all).
set -u
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
: "${VMRUN_RELEASE_BIN:?}" "${VMRUN_SOURCE_DIR:?}"
for tool in pkexec notify-send dbus-daemon /usr/lib/polkit-1/polkitd setpriv unshare useradd; do
    command -v "$tool" >/dev/null ||
        { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
VMRUN=$(readlink -f "$VMRUN_RELEASE_BIN")
PY=/usr/bin/python3

if [ "${1:-}" != inner ]; then
    . "$VMRUN_SOURCE_DIR/tests/common/keylog.sh"
    keylog_reset
    U=vmrun-pk-$$
    T=$(mktemp -d /run/vmrun-pk.XXXXXX)
    chmod 0755 "$T"
    # The profiles: root's, under /etc/vmrun, the only place profiles
    # started through pkexec come from.
    made_etc=""
    [ -d /etc/vmrun ] || made_etc=1
    install -d -m 0755 /etc/vmrun
    P=$(mktemp -d /etc/vmrun/vmrun-pk-XXXXXX)
    chmod 0755 "$P"
    cleanup() {
        for n in "pk-$$" "pkbad-$$"; do
            "$VMRUN" stop "$n" --force >/dev/null 2>&1
            "$VMRUN" recover "$n" >/dev/null 2>&1
            rm -rf "/var/lib/vmrun/$n"
        done
        userdel "$U" >/dev/null 2>&1
        rm -rf "$T" "$P"
        [ -z "$made_etc" ] || rmdir --ignore-fail-on-non-empty /etc/vmrun
    }
    trap cleanup EXIT
    # Its home: a directory of the test's.
    useradd --system --no-create-home --home-dir "$T/home" --shell /usr/sbin/nologin "$U" ||
        { echo "FAIL: useradd $U"; exit 1; }
    mkdir -p /run/vmrun
    for n in "pk-$$" "pkbad-$$"; do
        extra=""
        [ "$n" = "pkbad-$$" ] && extra=', "extra_args": ["-device", "vmrun-no-such-device"]'
        cat >"$P/$n.json" <<EOT
{
  "name": "$n",
  "qemu": { "accel": "tcg"$extra },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "64M" },
  "serial": "none",
  "display": "none",
  "shutdown": { "timeout": 2 }
}
EOT
        chmod 0644 "$P/$n.json"
        keylog_add "$P/$n.json"
    done
    unshare -m --propagation private bash "$0" inner "$U" "$T" "$P"
    exit $?
fi

# --- inside the mount namespace ---
U=$2
T=$3
P=$4
uid=$(id -u "$U")
gid=$(id -g "$U")
NAME=pk-${T##*.}
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
as_user() { setpriv --reuid "$uid" --regid "$gid" --init-groups "$@"; }
PIDS=""
finish() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    echo "$PASSED passed, $FAILED failed"
    [ $FAILED -eq 0 ] && exit 0
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
    exit 1
}
# The outer part named the VMs after its pid; the directory's name is ours.
NAME=$(basename "$(ls "$P"/pk-*.json)" .json)
BAD=$(basename "$(ls "$P"/pkbad-*.json)" .json)

# /run: a tmpfs of our own, with the host's /run/vmrun (vmrun's runtime
# directories and locks) and this test's directory bound back in.
hostrun=$(mktemp -d /tmp/vmrun-pk-hostrun.XXXXXX)
mount --bind /run "$hostrun" && mount -t tmpfs -o mode=0755 vmrun-pk-run /run &&
    mkdir -p /run/dbus /run/vmrun "$T" "/run/user/$uid" &&
    mount --bind "$hostrun/vmrun" /run/vmrun && mount --bind "$hostrun/${T#/run/}" "$T" ||
    { bad "a private /run"; finish; }
umount "$hostrun" && rmdir "$hostrun"
chown "$uid:$gid" "/run/user/$uid"
chmod 0700 "/run/user/$uid"

# polkit: the shipped action, for this build's vmrun, and a rule granting
# it to this user without a password.
mkdir -p "$T/actions" "$T/rules"
sed "s|<annotate key=\"org.freedesktop.policykit.exec.path\">[^<]*<|<annotate key=\"org.freedesktop.policykit.exec.path\">$VMRUN<|" \
    "$VMRUN_SOURCE_DIR/scripts/org.vmrun.policy" >"$T/actions/org.vmrun.policy"
cat >"$T/rules/50-vmrun-test.rules" <<EOT
polkit.addRule(function(action, subject) {
    if (action.id == "org.vmrun.start" && subject.user == "$U")
        return polkit.Result.YES;
});
EOT
mount --bind "$T/actions" /usr/share/polkit-1/actions && mount --bind "$T/rules" /etc/polkit-1/rules.d ||
    { bad "polkit's directories"; finish; }
dbus-daemon --system --fork --print-pid >"$T/system-bus.pid" 2>"$T/system-bus.log" ||
    { bad "a system bus"; finish; }
PIDS="$PIDS $(cat "$T/system-bus.pid")"
/usr/lib/polkit-1/polkitd --no-debug >"$T/polkitd.log" 2>&1 &
PIDS="$PIDS $!"

# The user's session: a session bus and the notification stand-in.
BUS=unix:path=/run/user/$uid/bus
as_user dbus-daemon --session --address="$BUS" --fork --print-pid >"$T/session-bus.pid" ||
    { bad "the user's session bus"; finish; }
PIDS="$PIDS $(cat "$T/session-bus.pid")"
: >"$T/notes.jsonl"
chown "$uid" "$T/notes.jsonl"
as_user "$PY" "$VMRUN_SOURCE_DIR/tests/priv/notify_server.py" "$BUS" "$T/notes.jsonl" >"$T/notify.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q ready "$T/notify.out" && break; sleep 0.1; done
check "the notification stand-in owns org.freedesktop.Notifications" grep -q ready "$T/notify.out"
for _ in $(seq 100); do
    as_user env -i DBUS_SYSTEM_BUS_ADDRESS= dbus-send --system --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.PolicyKit1 2>/dev/null |
        grep -q "boolean true" && break
    sleep 0.1
done

# The launcher, made by the user, run as the desktop runs it.
mkdir -p "$T/home"
chown "$uid:$gid" "$T/home"
user_env=(env -i "HOME=$T/home" "USER=$U" "PATH=/usr/local/bin:/usr/bin:/bin"
          "DBUS_SESSION_BUS_ADDRESS=$BUS" "XDG_RUNTIME_DIR=/run/user/$uid")
as_user "${user_env[@]}" "$VMRUN" desktop install "$P/$NAME.json" >"$T/install.log" 2>&1
check "vmrun desktop install, as the user" [ $? -eq 0 ]
launcher=$T/home/.local/share/applications/vmrun-$NAME.desktop
exec_line=$(sed -n 's/^Exec=//p' "$launcher" 2>/dev/null)
check "the launcher runs pkexec $VMRUN start --detach ($exec_line)" \
    [ "$exec_line" = "pkexec $VMRUN start --detach $P/$NAME.json" ]

as_user "${user_env[@]}" sh -c "$exec_line" </dev/null >"$T/start.log" 2>&1
rc=$?
check "the launcher's pkexec vmrun start --detach exits 0 ($rc)" [ $rc -eq 0 ]
qemu=$("$VMRUN" status "$NAME" --json 2>/dev/null | jq -r '.qemu_pid // empty')
check "the VM runs (QEMU pid ${qemu:-none})" [ -n "$qemu" ]
if [ -n "$qemu" ]; then
    check "QEMU runs as the user who ran the launcher (uid $uid), not as root" \
        [ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$qemu/status")" = "$uid$uid$uid$uid" ]
    check "vmrun recorded the user as the one who started it" \
        [ "$(cat "/run/vmrun/$NAME/started_by" 2>/dev/null)" = "$uid" ]
fi
as_user "${user_env[@]}" pkexec "$VMRUN" stop "$NAME" </dev/null >"$T/stop.log" 2>&1
rc=$?
check "pkexec vmrun stop, by the user, exits 0 ($rc)" [ $rc -eq 0 ]
check "the VM is gone" [ ! -e "/run/vmrun/$NAME" ]

# notified NAME TEXT: a notification from vmrun about NAME whose body holds TEXT.
notified() {
    "$PY" - "$T/notes.jsonl" "vmrun: $1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    if n["app"] == "vmrun" and n["summary"] == sys.argv[2] and sys.argv[3] in n["body"]:
        sys.exit(0)
sys.exit(1)
EOF
}
for _ in $(seq 50); do notified "$NAME" "stopped" && break; sleep 0.1; done
check "the user was told how the VM ended ($(tr '\n' ' ' <"$T/notes.jsonl"))" notified "$NAME" "stopped"

# A start QEMU refuses: the launcher's user hears why.
as_user "${user_env[@]}" pkexec "$VMRUN" start --detach "$P/$BAD.json" </dev/null >"$T/bad.log" 2>&1
rc=$?
check "a start QEMU refuses fails (exit $rc)" [ $rc -eq 1 ]
for _ in $(seq 50); do notified "$BAD" "QEMU exited with status 1" && break; sleep 0.1; done
check "the user was told, in a notification, that QEMU failed and where its words are" \
    notified "$BAD" "QEMU exited with status 1 before it was ready (its messages are in /var/lib/vmrun/$BAD/last.log)"
check "... and last.log has QEMU's reason" grep -q "vmrun-no-such-device" "/var/lib/vmrun/$BAD/last.log"
finish
