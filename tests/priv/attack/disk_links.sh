#!/bin/bash
# Item: root never follows a path the user can change, and never chowns
# what a profile names. A root-controlled profile names a disk image in the
# user's home; the user swaps it for a symlink to a file of root's, or a
# hard link to one. vmrun opens a path outside root's control only with the
# user's own rights: the start fails, nothing of root's is opened for QEMU,
# nothing changes owner. With the user's own image the VM runs, QEMU holds
# that image (as an fd), and the image keeps its owner and mode.
. "$(dirname "$0")/lib.sh"
NAME=priv-disk
profile=$(root_profile $NAME ",
  \"disks\": [ { \"path\": \"$UHOME/disk.img\", \"format\": \"raw\" } ]")
watch_start "$UHOME/disk.img"

# 1. A symlink to root's file.
as_user ln -sf "$VICTIM" "$UHOME/disk.img"
if vmrun_sudo start --detach "$profile" >"$T/start1" 2>&1; then
    started $NAME
    fail "start with disk.img -> $VICTIM succeeded: $(cat "$T/start1")"
else
    pass "start with disk.img -> $VICTIM refused: $(tail -n1 "$T/start1")"
fi
check "the refusal says the file was opened with the user's rights" \
    grep -q "cannot be opened with that user's rights" "$T/start1"

# 2. A hard link to root's file: the kernel's protected_hardlinks refuses
# it; were it allowed, the open as the user would still fail.
as_user rm -f "$UHOME/disk.img"
if as_user ln "$VICTIM" "$UHOME/disk.img" 2>/dev/null; then
    if vmrun_sudo start --detach "$profile" >"$T/start2" 2>&1; then
        started $NAME
        fail "start with disk.img a hard link to $VICTIM succeeded"
    else
        pass "start with disk.img a hard link to $VICTIM refused"
    fi
    as_user rm -f "$UHOME/disk.img"
else
    pass "the user cannot hard-link root's file (protected_hardlinks)"
fi

# 3. A symlink in a root-controlled directory the user cannot change is
# followed; in the user's directory to the user's own file, opened as the
# user: the VM runs.
as_user truncate -s 8M "$UHOME/real.img"
as_user chmod 0600 "$UHOME/real.img"
as_user ln -sf "$UHOME/real.img" "$UHOME/disk.img"
before=$(stat -c '%u:%g %a' "$UHOME/real.img")
if vmrun_sudo start --detach "$profile" >"$T/start3" 2>&1; then
    started $NAME
    pass "start with the user's own image"
    qpid=$(qemu_pid_of $NAME)
    check "QEMU runs as $ATTACK_USER" [ "$(awk '/^Uid:/ {print $2}' "/proc/$qpid/status")" = "$A_UID" ]
    check "QEMU holds the user's image as an fd" \
        sh -c "ls -l /proc/$qpid/fd | grep -q ' $UHOME/real.img\$'"
    check "QEMU holds no file of root's secret" \
        sh -c "! ls -l /proc/$qpid/fd | grep -q '$VICTIM'"
    check "the image kept its owner and mode ($before)" \
        [ "$(stat -c '%u:%g %a' "$UHOME/real.img")" = "$before" ]
    check "the user stops their VM" vmrun_sudo stop $NAME --force
else
    fail "start with the user's own image: $(cat "$T/start3")"
fi
check "the image still has its owner and mode after the VM" \
    [ "$(stat -c '%u:%g %a' "$UHOME/real.img")" = "$before" ]
finish
