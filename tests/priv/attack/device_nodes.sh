#!/bin/bash
# Item: a keyboard's node a profile names is never handed to QEMU's user,
# and its access cannot be widened through vmrun. An admin profile names an
# evdev node (a character device 13:70 in a directory of root's, with an
# ACL entry of its own, as udev gives some); the user starts the VM
# through sudo and, all the while, tries to chmod the node 0666 and to add
# an ACL entry for everyone's group (what a user who owned the keyboard
# would do: a keylogger for every local user). vmrun opens input devices as
# root and gives QEMU a virtual device of its own (host/input/input.h), so
# the node must never change hands. This host has no uinput, so the start
# fails before QEMU runs: the window is the start's (the lab, lab_input,
# shows the whole run). Then the same after SIGKILL of the supervisor and
# recover. Owner, group, mode and ACL must be as before, and no try may
# have worked.
. "$(dirname "$0")/lib.sh"
NAME=priv-devnode
DEV=$BASE/dev
NODE=$DEV/event70
rm -rf "$DEV"
install -d -m 0755 "$DEV"
mknod -m 0640 "$NODE" c 13 70
chgrp nogroup "$NODE" 2>/dev/null || true
# An ACL of its own: root rw, a named group r.
python3 - "$NODE" <<'EOP'
import os, struct, sys
e = lambda tag, perm, id=0xffffffff: struct.pack("<HHI", tag, perm, id)
acl = struct.pack("<I", 2) + e(1, 6) + e(4, 4) + e(8, 4, 42) + e(0x10, 4) + e(0x20, 0)
os.setxattr(sys.argv[1], "system.posix_acl_access", acl)
EOP
state() {
    stat -c '%u:%g %a %t:%T' "$NODE"
    python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "system.posix_acl_access").hex())' "$NODE"
}
before=$(state)
echo "the node before: $(echo $before)"
p=$(root_profile $NAME ",
  \"input\": [ { \"evdev\": \"$NODE\" } ]")

# The user's tries, as fast as they can, until told to stop.
cat >"$T/widen.py" <<'EOP'
import os, struct, sys, time
node, stop, log = sys.argv[1:4]
e = lambda tag, perm, id=0xffffffff: struct.pack("<HHI", tag, perm, id)
wide = struct.pack("<I", 2) + e(1, 6) + e(4, 6) + e(0x10, 6) + e(0x20, 6)
tries = won = 0
while not os.path.exists(stop):
    for what in ("chmod", "acl"):
        tries += 1
        try:
            if what == "chmod":
                os.chmod(node, 0o666)
            else:
                os.setxattr(node, "system.posix_acl_access", wide)
            won += 1
            with open(log, "a") as f:
                f.write("the user's %s of %s worked\n" % (what, node))
        except OSError:
            pass
print("tries %d, worked %d" % (tries, won))
EOP
chmod 0644 "$T/widen.py"
: >"$T/won"
chmod 0666 "$T/won"
widen_start() {
    rm -f "$T/stop"
    as_user_bg python3 "$T/widen.py" "$NODE" "$T/stop" "$T/won" >"$T/widen.out" 2>&1 &
    WIDEN=$!
    sleep 0.2
}
widen_stop() {
    touch "$T/stop"
    wait $WIDEN
    echo "the user's tries: $(cat "$T/widen.out")"
}
watch_start

widen_start
if vmrun_sudo start --detach "$p" >"$T/s1" 2>&1; then
    started $NAME
    echo "note: QEMU opened the node (an input driver here?); stopping it"
    vmrun_sudo stop $NAME --force >/dev/null 2>&1
else
    echo "the start failed, as expected here: $(tail -n1 "$T/s1")"
fi
widen_stop
LOG=/var/lib/vmrun/$NAME/last.log
check "vmrun did not give the user the node ($(grep -o 'gave .*\|handed .*' "$LOG" 2>/dev/null | head -n1))" \
    eval '! grep -qs "gave .*$NODE\|handed $NODE" "$T/s1" "$LOG"'
check "no try of the user's to widen the node worked ($(wc -l <"$T/won"))" [ ! -s "$T/won" ]
check "owner, group, mode and ACL are as before ($(echo $(state)))" [ "$(state)" = "$before" ]

# The supervisor killed during the start: recover leaves the node as it was.
if [ -n "${VMRUN_ATTACK_KILL_DEVNODE:-1}" ]; then
    widen_start
    (cd "$UHOME" && runuser -u "$ATTACK_USER" -- sudo -n "$BIN" start "$p") >"$T/s2" 2>&1 &
    starter=$!
    # Until vmrun names the node (or gives up), then SIGKILL of the root
    # supervisor.
    for _ in $(seq 200); do
        grep -q "$NODE" "$T/s2" 2>/dev/null && break
        sleep 0.01
    done
    sup=$(cat /run/vmrun/$NAME/supervisor.pid 2>/dev/null)
    [ -n "$sup" ] && kill -KILL "$sup" 2>/dev/null
    wait $starter 2>/dev/null
    widen_stop
    vmrun_sudo recover $NAME >"$T/r2" 2>&1
    echo "recover: $(tail -n1 "$T/r2")"
    check "after SIGKILL and recover, no try worked ($(wc -l <"$T/won"))" [ ! -s "$T/won" ]
    check "after SIGKILL and recover, the node is as before ($(echo $(state)))" \
        [ "$(state)" = "$before" ]
fi
rm -rf "$DEV"
finish
