#!/bin/bash
# Item: root never takes a profile from a file whose content anyone other
# than root wrote. vmrun makes files that QEMU and the guest then fill:
# the serial log, the VM's UEFI variable store, the log of a detached run
# (kept as last.log). The user gets their own bytes into each:
#  - the guest alone: a boot sector of the user's disk writes a profile to
#    COM1, which an admin profile with "serial": "log" sends to serial.log;
#  - the user's own QEMU: pidfd_getfd(2) takes its descriptor of the serial
#    log, of the variable store, of its standard output (the detached log,
#    kept past the VM's end) and writes a profile into each.
# The forged profile names root's secret and a root file as disks. Through
# sudo, start and print-cmd of each of those files must be refused, no VM
# of the forged name may run, the secret must never reach the user and
# the root file must keep its content.
. "$(dirname "$0")/lib.sh"
NAME=priv-qfiles
VNAME=priv-qvars
FORGED=priv-forged
STATE=/var/lib/vmrun
GRAB=$BASE/bin/pidfd_grab
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
TEMPLATE=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -x "$GRAB" ] || { echo "FAIL: $GRAB is missing (the fixture installs it)"; exit 1; }
rm -rf "$STATE/$NAME" "$STATE/$VNAME"
TARGET=$BASE/target-$$
head -c 4096 /dev/zero | tr '\0' 'T' >"$TARGET"
chmod 0644 "$TARGET"
target_before=$(sha256sum <"$TARGET")
cleanup_target() { rm -f "$TARGET"; }

# The profile the user wants root to believe: root's secret to read, a
# file of root's to overwrite.
forged='{"name":"'$FORGED'","memory":{"size":"64M"},"qemu":{"accel":"tcg"},"cpu":{"model":"qemu64"},"serial":"none","display":"none","disks":[{"path":"'$VICTIM'","format":"raw","readonly":true},{"path":"'$TARGET'","format":"raw"}]}'
printf '%s' "$forged" >"$T/forged.json"
chmod 0644 "$T/forged.json"
as_user cp "$T/forged.json" "$UHOME/forged.json"
watch_start

# If the forged profile was believed, what the user then takes: the
# secret through QEMU's descriptor of it, and the root file overwritten.
exploit_forged() {
    started $FORGED
    local q
    q=$(qemu_pid_of $FORGED)
    [ -n "$q" ] || return 0
    as_user "$GRAB" "$q" "$VICTIM" read >"$T/stolen" 2>&1
    if grep -q ROOT-SECRET "$T/stolen"; then
        fail "through the forged VM the user read root's secret"
    fi
    printf 'OVERWRITTEN' >"$T/over"
    chmod 0644 "$T/over"
    as_user "$GRAB" "$q" "$TARGET" write "$T/over" >/dev/null 2>&1
    "$BIN" stop $FORGED --force >/dev/null 2>&1
}

# Through sudo, start and print-cmd of a file vmrun made: both refused.
refused_as_profile() {
    local file=$1 what=$2 out rc
    out=$(vmrun_sudo print-cmd "$file" 2>&1)
    rc=$?
    check "print-cmd of $what ($file) is refused (exit $rc)" [ "$rc" = 2 ]
    check "... without echoing what the file says" \
        sh -c "! printf '%s' \"\$0\" | grep -q -- '$TARGET'" "$out"
    out=$(vmrun_sudo start --detach "$file" 2>&1)
    rc=$?
    check "start of $what is refused (exit $rc): $(printf '%s' "$out" | tail -n1)" [ "$rc" = 2 ]
    [ -d /run/vmrun/$FORGED ] && exploit_forged
    check "no VM '$FORGED' runs" [ ! -d /run/vmrun/$FORGED ]
}

# 1. The guest alone: its boot sector writes the profile to COM1.
com1_disk "$T/forged.json" "$UHOME/boot.img"
p=$(etc_profile $NAME '{ "name": "'$NAME'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 }, "memory": { "size": "64M" },
  "serial": "log", "display": "none", "shutdown": { "timeout": 5 },
  "disks": [ { "path": "'$UHOME'/boot.img", "format": "raw" } ] }')
if vmrun_sudo start --detach "$p" >"$T/s1" 2>&1; then
    started $NAME
    pass "the admin's VM with a serial log and the user's disk runs"
    e_wait=0
    while ! grep -q "$FORGED" "$STATE/$NAME/serial.log" 2>/dev/null && [ $e_wait -lt 100 ]; do
        sleep 0.2
        e_wait=$((e_wait + 1))
    done
    check "the guest's profile is what serial.log holds" \
        cmp -s "$STATE/$NAME/serial.log" "$T/forged.json"
    check "the serial log is QEMU's user's, not root's ($(stat -c '%U %a' "$STATE/$NAME/serial.log"))" \
        [ "$(stat -c '%u %a' "$STATE/$NAME/serial.log")" = "$A_UID 600" ]
    refused_as_profile "$STATE/$NAME/serial.log" "the serial log the guest wrote"

    # 2. The user's QEMU: its descriptor of the serial log.
    qpid=$(qemu_pid_of $NAME)
    as_user "$GRAB" "$qpid" list >"$T/fds" 2>&1
    as_user "$GRAB" "$qpid" serial.log write "$UHOME/forged.json" >"$T/g1" 2>&1
    refused_as_profile "$STATE/$NAME/serial.log" "the serial log written through QEMU's fd"
    check "the user stops their VM" vmrun_sudo stop $NAME --force
else
    fail "the admin's VM with a serial log: $(cat "$T/s1")"
fi

# 3. The detached log: QEMU's standard output, kept past the VM's end.
if vmrun_sudo start --detach "$p" >"$T/s2" 2>&1; then
    started $NAME
    qpid=$(qemu_pid_of $NAME)
    as_user_bg "$GRAB" "$qpid" fd:1 write-after-exit 2 "$UHOME/forged.json" >"$T/g2" 2>&1 &
    grabber=$!
    sleep 0.5
    vmrun_sudo stop $NAME --force >/dev/null 2>&1
    wait $grabber
    echo "the user's write into the kept log: exit $? $(cat "$T/g2")"
    check "last.log is kept" [ -f "$STATE/$NAME/last.log" ]
    refused_as_profile "$STATE/$NAME/last.log" "the log of the detached run"
else
    fail "the detached start: $(cat "$T/s2")"
fi

# 4. The UEFI variable store, written through QEMU's descriptor of it.
if [ -f "$CODE" ] && [ -f "$TEMPLATE" ]; then
    pv=$(etc_profile $VNAME '{ "name": "'$VNAME'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 }, "memory": { "size": "64M" },
  "serial": "none", "display": "none", "shutdown": { "timeout": 5 },
  "firmware": { "code": "'$CODE'", "vars_template": "'$TEMPLATE'" } }')
    if vmrun_sudo start --detach "$pv" >"$T/s3" 2>&1; then
        started $VNAME
        qpid=$(qemu_pid_of $VNAME)
        as_user "$GRAB" "$qpid" OVMF_VARS.fd write "$UHOME/forged.json" >"$T/g3" 2>&1
        echo "the user's write into the variable store: $(cat "$T/g3")"
        refused_as_profile "$STATE/$VNAME/OVMF_VARS.fd" "the UEFI variable store"
        check "the user stops their VM" vmrun_sudo stop $VNAME --force
    else
        fail "the UEFI VM: $(cat "$T/s3")"
    fi
else
    echo "note: no OVMF here; the variable store is not tried"
fi

check "root's file $TARGET keeps its content" [ "$(sha256sum <"$TARGET")" = "$target_before" ]
cleanup_target
rm -rf "$STATE/$NAME" "$STATE/$VNAME"
finish
