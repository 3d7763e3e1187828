#!/bin/bash
# Item: Looking Glass shared memory is made by vmrun itself. Before a VM
# with looking_glass.device "shm" starts, the user plants
# /dev/shm/looking-glass-NAME: a symlink to root's file, then a file of
# another user's (root's): each start is refused, and what was planted is
# left as it was. With nothing there, vmrun creates the file: a regular
# file of the user's, mode 0600, that QEMU maps; after the VM it is gone.
. "$(dirname "$0")/lib.sh"
NAME=priv-lg
SHM=/dev/shm/looking-glass-$NAME
rm -f "$SHM"
profile=$(root_profile $NAME ",
  \"looking_glass\": { \"resolution\": \"640x480\", \"device\": \"shm\" }")
watch_start "$SHM"

as_user ln -s "$VICTIM" "$SHM"
if vmrun_sudo start --detach "$profile" >"$T/s1" 2>&1; then
    started $NAME
    fail "start with $SHM a symlink to root's file succeeded"
else
    pass "start with $SHM a planted symlink refused: $(tail -n1 "$T/s1")"
fi
check "the symlink is left as it was" [ "$(readlink "$SHM")" = "$VICTIM" ]
rm -f "$SHM"

install -m 0644 -o root -g root /dev/null "$SHM"
if vmrun_sudo start --detach "$profile" >"$T/s2" 2>&1; then
    started $NAME
    fail "start with $SHM a file of root's succeeded"
else
    pass "start with $SHM a file of someone else's refused"
fi
check "root's file there is untouched" [ "$(stat -c '%u %a %s' "$SHM")" = "0 644 0" ]
rm -f "$SHM"

if vmrun_sudo start --detach "$profile" >"$T/s3" 2>&1; then
    started $NAME
    pass "start with nothing at $SHM"
    check "vmrun made it: a regular file of $ATTACK_USER's, mode 0600 ($(stat -c '%F %U %a' "$SHM"))" \
        [ "$(stat -c '%F %u %a' "$SHM")" = "regular file $A_UID 600" ]
    qpid=$(qemu_pid_of $NAME)
    check "QEMU maps it" grep -q " $SHM\$" "/proc/$qpid/maps"
    check "the user stops their VM" vmrun_sudo stop $NAME --force
    check "the file is gone after the VM" [ ! -e "$SHM" ]
else
    fail "start with nothing at $SHM: $(cat "$T/s3")"
fi
finish
