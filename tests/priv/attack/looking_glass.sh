#!/bin/bash
# Item: Looking Glass shared memory ("device": "shm") is QEMU's user's
# alone, and no other user can keep the VM from starting. It lives in the
# VM's user directory (/run/vmrun/.user/NAME/looking-glass: root's .user,
# 0711, where only root makes names; NAME the user's, 0700), made afresh
# for each run; QEMU, as the user, makes the file. Before, it was
# /dev/shm/looking-glass-NAME: any local user could create that name first
# (and the VM never started again, even for root), and a file of the VM's
# user's there with mode 0666 was used as it was (the guest's screen
# readable by everyone).
#  - another local user (nobody, without sudo) plants
#    /dev/shm/looking-glass-NAME and tries to make the user directory: the
#    VM starts all the same, and what they planted is left as it was;
#  - the VM's own 0666 file there is not what QEMU maps;
#  - nobody cannot open the memory QEMU maps; the VM's user can; after the
#    VM it is gone.
. "$(dirname "$0")/lib.sh"
NAME=priv-lg
OLD=/dev/shm/looking-glass-$NAME
UDIR=/run/vmrun/.user/$NAME
rm -f "$OLD"
profile=$(root_profile $NAME ",
  \"looking_glass\": { \"resolution\": \"640x480\", \"device\": \"shm\" }")
watch_start "$OLD"
as_nobody() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$@"); }

as_nobody sh -c "printf planted >$OLD; chmod 0666 $OLD"
as_nobody mkdir -p "$UDIR" 2>/dev/null
check "nobody could not make the VM's user directory" [ ! -e "$UDIR" ] || \
    [ "$(stat -c %u "$UDIR")" != 65534 ]
if vmrun_sudo start --detach "$profile" >"$T/s" 2>&1; then
    started $NAME
    pass "the VM starts despite what another user planted"
    qpid=$(qemu_pid_of $NAME)
    mapped=$(awk '$6 ~ /looking-glass/ {print $6}' "/proc/$qpid/maps" | sort -u | head -n1)
    check "QEMU maps the memory in the VM's user directory ($mapped)" \
        [ "$mapped" = "$UDIR/looking-glass" ]
    check "the directory is the user's, 0700 ($(stat -c '%U %a' "$UDIR"))" \
        [ "$(stat -c '%u %a' "$UDIR")" = "$A_UID 700" ]
    check "nobody cannot open the memory" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat $UDIR/looking-glass >/dev/null 2>&1"
    check "the VM's user can (their Looking Glass client)" \
        as_user sh -c "head -c 1 $UDIR/looking-glass >/dev/null"
    check "the user stops their VM" vmrun_sudo stop $NAME --force
    check "the memory is gone after the VM" [ ! -e "$UDIR" ]
else
    fail "the VM does not start: $(cat "$T/s")"
fi
check "what nobody planted is left as it was" \
    [ "$(stat -c '%u %a' "$OLD")" = "65534 666" ] && [ "$(cat "$OLD")" = planted ]
rm -f "$OLD"
finish
