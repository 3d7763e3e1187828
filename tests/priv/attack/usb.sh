#!/bin/bash
# Item: host USB devices by hand. `vmrun usb NAME attach|detach` makes root
# open a device node and hand it to a VM's QEMU, so the user may ask it only
# of a VM they started (as they may stop only theirs), and the channel to
# the supervisor is out of their reach: a socket in root's 0700 runtime
# directory, checked by peer credentials.
. "$(dirname "$0")/lib.sh"
NAME=priv-usb
watch_start
p=$(root_profile $NAME ',
  "usb": []')

# Root's VM: not the user's to give devices to.
if (cd / && "$BIN" start --detach "$p") >"$T/r" 2>&1; then
    started $NAME
    out=$(vmrun_sudo usb $NAME attach 1-1 2>&1)
    rc=$?
    check "through sudo, vmrun usb attach on root's VM is refused (exit $rc)" [ "$rc" = 1 ]
    check "... told who started it" sh -c "printf '%s' \"\$0\" | grep -q 'started by root'" "$out"
    out=$(vmrun_sudo usb $NAME detach 1-1 2>&1)
    rc=$?
    check "... and so is detach (exit $rc)" [ "$rc" = 1 ]
    check "the request channel is root's socket, 0600" \
        [ "$(stat -c '%U %a %F' /run/vmrun/$NAME/control)" = "root 600 socket" ]
    # Straight at the socket, without vmrun: the directory stops them.
    out=$(as_user /usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b"{\"request\": \"usb\", \"action\": \"attach\", \"device\": \"1-1\"}\n")
    print("answered: " + s.recv(4096).decode())
except OSError as e:
    print("refused: %s" % e.strerror)' /run/vmrun/$NAME/control 2>&1)
    check "the user cannot reach the supervisor's socket ($out)" \
        sh -c "printf '%s' \"\$0\" | grep -q '^refused: Permission denied'" "$out"
    "$BIN" stop $NAME --force >/dev/null 2>&1
else
    fail "root's start: $(cat "$T/r")"
fi

# Their own VM: the request reaches its supervisor, which answers (this
# machine has no USB device to give).
if vmrun_sudo start --detach "$p" >"$T/s" 2>&1; then
    started $NAME
    out=$(vmrun_sudo usb $NAME attach 1-1 2>&1)
    rc=$?
    check "through sudo, on their own VM, the supervisor answers (exit $rc: $out)" \
        sh -c "[ $rc = 1 ] && printf '%s' \"\$0\" | grep -q 'no USB device at port 1-1'" "$out"
    out=$(vmrun_sudo usb $NAME attach ../../../etc 2>&1)
    rc=$?
    check "a device that is no port path is bad usage (exit $rc)" [ "$rc" = 2 ]
    vmrun_sudo stop $NAME --force >/dev/null 2>&1
else
    fail "the user's start: $(cat "$T/s")"
fi
finish
