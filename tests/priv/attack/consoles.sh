#!/bin/bash
# Item: a VM's console (display "vnc" or "spice") is reachable by the VM's
# user alone. QEMU 7.2 and later can serve either on a unix socket, and
# there is no password QEMU could check that vmrun could hand out; so the
# socket is in the VM's user directory (/run/vmrun/.user/NAME, the user's,
# 0700). Another local user (nobody, no sudo needed) tries every socket
# QEMU listens on, TCP and unix: none lets them in, and the VM's own user
# reaches the console.
. "$(dirname "$0")/lib.sh"
OTHER=nobody
O_UID=$(id -u $OTHER)
O_GID=$(id -g $OTHER)
watch_start
# Every socket QEMU listens on: "tcp PORT" or "unix PATH".
listeners() {
    python3 - "$1" <<'EOP'
import os, sys
pid = int(sys.argv[1])
inodes = set()
for fd in os.listdir("/proc/%d/fd" % pid):
    try:
        l = os.readlink("/proc/%d/fd/%s" % (pid, fd))
    except OSError:
        continue
    if l.startswith("socket:["):
        inodes.add(l[8:-1])
for t in ("tcp", "tcp6"):
    for line in open("/proc/%d/net/%s" % (pid, t)).readlines()[1:]:
        c = line.split()
        if c[3] == "0A" and c[9] in inodes:
            print("tcp", int(c[1].split(":")[1], 16))
for line in open("/proc/%d/net/unix" % pid).readlines()[1:]:
    c = line.split()
    if len(c) >= 8 and c[6] in inodes and c[3] == "00010000":
        print("unix", c[7])
EOP
}
# Can uid:gid connect to it? "connected" or why not.
try_connect() {
    setpriv --reuid="$1" --regid="$2" --clear-groups env PATH="$USER_PATH" python3 - "$3" "$4" <<'EOP'
import socket, sys
kind, where = sys.argv[1:3]
try:
    if kind == "tcp":
        s = socket.create_connection(("127.0.0.1", int(where)), timeout=5)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(where)
    print("connected")
except OSError as e:
    print(e.strerror)
EOP
}

for display in vnc spice; do
    NAME=priv-con-$display
    p=$(root_profile $NAME "" '"qemu": { "accel": "tcg" },' \
        '"cpu": { "model": "qemu64", "cores": 1 },')
    sed -i "s/\"display\": \"none\"/\"display\": \"$display\"/" "$p"
    if ! vmrun_sudo start --detach "$p" >"$T/s" 2>&1; then
        if grep -qi "spice" "$T/s" && [ $display = spice ]; then
            echo "note: this QEMU has no SPICE: $(tail -n1 "$T/s")"
            continue
        fi
        fail "$display: the user's VM does not start: $(cat "$T/s")"
        continue
    fi
    started $NAME
    q=$(qemu_pid_of $NAME)
    listeners "$q" >"$T/l"
    echo "$display: QEMU listens on: $(cat "$T/l" | xargs)"
    check "$display: QEMU listens somewhere" [ -s "$T/l" ]
    check "$display: on no TCP port" sh -c "! grep -q '^tcp' $T/l"
    while read -r kind where; do
        got=$(try_connect "$O_UID" "$O_GID" "$kind" "$where")
        check "$display: $OTHER cannot connect to $kind $where ($got)" [ "$got" != connected ]
        got=$(try_connect "$A_UID" "$A_GID" "$kind" "$where")
        check "$display: the VM's user connects to $kind $where ($got)" [ "$got" = connected ]
    done <"$T/l"
    check "$display: the user stops their VM" vmrun_sudo stop $NAME --force
    check "$display: nothing of the console is left" [ ! -e /run/vmrun/.user/$NAME ]
done
finish
