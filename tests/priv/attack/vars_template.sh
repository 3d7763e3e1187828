#!/bin/bash
# Item: firmware.vars_template symlinked to a file of root's. vmrun copies
# the template into the VM's state directory before QEMU starts; the
# template is opened with the user's rights (it is outside root's control),
# so the copy fails and nothing of root's lands in a file QEMU or the user
# could read; the variable store vmrun makes is root's, 0600, and reaches
# QEMU only as an fd.
. "$(dirname "$0")/lib.sh"
NAME=priv-vars
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -f "$CODE" ] || { echo "SKIP: no $CODE (ovmf)"; exit 77; }
rm -rf /var/lib/vmrun/$NAME
profile=$(root_profile $NAME ",
  \"firmware\": { \"code\": \"$CODE\", \"vars_template\": \"$UHOME/vars.fd\" }")
watch_start "$UHOME/vars.fd" /var/lib/vmrun/$NAME/OVMF_VARS.fd

as_user ln -sf "$VICTIM" "$UHOME/vars.fd"
if vmrun_sudo start --detach "$profile" >"$T/start1" 2>&1; then
    started $NAME
    fail "start with vars_template -> $VICTIM succeeded"
else
    pass "start with vars_template -> $VICTIM refused: $(tail -n1 "$T/start1")"
fi
check "no variable store was made from it" [ ! -e /var/lib/vmrun/$NAME/OVMF_VARS.fd ]

# The user's own template: the copy is made, root's and 0600, and QEMU
# runs with it as an fd.
as_user rm -f "$UHOME/vars.fd"
as_user cp /usr/share/OVMF/OVMF_VARS_4M.fd "$UHOME/vars.fd"
if vmrun_sudo start --detach "$profile" >"$T/start2" 2>&1; then
    started $NAME
    pass "start with the user's own template"
    check "the variable store is root's, 0600 ($(stat -c '%u %a' /var/lib/vmrun/$NAME/OVMF_VARS.fd))" \
        [ "$(stat -c '%u %a' /var/lib/vmrun/$NAME/OVMF_VARS.fd)" = "0 600" ]
    qpid=$(qemu_pid_of $NAME)
    check "QEMU holds it as an fd" \
        sh -c "ls -l /proc/$qpid/fd | grep -q ' /var/lib/vmrun/$NAME/OVMF_VARS.fd\$'"
    check "the user stops their VM" vmrun_sudo stop $NAME --force
else
    fail "start with the user's own template: $(cat "$T/start2")"
fi
rm -rf /var/lib/vmrun/$NAME
finish
