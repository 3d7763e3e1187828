#!/bin/bash
# "QEMU without root", on L1's real kernel (run by run-lab.sh
# --writable-root inside L1): an ordinary user of L1's own (labvm), with a
# sudoers rule for the installed vmrun (the release build, no test seams),
# types `sudo vmrun start --detach` for a VFIO VM whose access.users lists
# them. QEMU runs as that user: its uids and gids, no capability in any set,
# no_new_privs, QEMU's seccomp filter; the VFIO group's /dev/vfio/N is that
# user's while the VM runs and root's again, with its previous mode, after
# they stop it with `sudo vmrun stop`. Another user with the same sudo rule
# but not in access is refused. A second run, allowed by access.groups,
# names run_as "nobody": QEMU runs as nobody, not as the caller.
#
# The edu device is bound to vfio-pci before the run (as a host that keeps
# it there would), so that /dev/vfio/N exists before and after the run and
# its owner and mode can be compared; vmrun leaves a device it did not bind
# on vfio-pci.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

EDU=1234:11e8
NAME=labuser
out=$VMRUN_LAB_OUT

# The users, L1's own (the overlay root): labvm starts the VM, labother
# may run vmrun through sudo too but is not in the profile's access.
user=labvm
check "the installed vmrun is there ($VMRUN_RELEASE)" test -x "$VMRUN_RELEASE"
groupadd -f labvmgrp
check "user $user with a sudo rule for the installed vmrun" lab_sudo_user $user
check "user labother with the same rule" lab_sudo_user labother
usermod -a -G labvmgrp $user
IFS=: read -r _ _ uid gid _ <<<"$(getent passwd $user)" || true
check "$user is an ordinary user (${uid:-}:${gid:-})" [ -n "${uid:-}" -a "${uid:-0}" != 0 ]
[ -n "${uid:-}" ] && [ "$uid" != 0 ] || finish
IFS=: read -r _ _ nobody_uid _ <<<"$(getent passwd nobody)" || true

edu=$(pci_find $EDU) || edu=
check "edu ($EDU) found${edu:+ at $edu}" [ -n "$edu" ]
[ -n "$edu" ] || finish
group=$(pci_group "$edu")
check "edu bound to vfio-pci beforehand" pci_bind_vfio "$edu"
check "/dev/vfio/$group exists" wait_for 5 test -c "/dev/vfio/$group"
# A mode the kernel would not give it, so that a restore to a fixed mode
# would show.
chmod 0640 "/dev/vfio/$group"
# can_use USER NODE: USER may open NODE for reading and writing (access(2),
# which counts ACL entries).
can_use() { su -s /bin/sh "$1" -c "test -r '$2' && test -w '$2'" </dev/null; }
dev_before=$(stat -c '%u:%g %a' "/dev/vfio/$group")
check "/dev/vfio/$group is root's with mode 640 before ($dev_before)" [ "$dev_before" = "0:0 640" ]
check "$user may not use /dev/vfio/$group before" eval '! can_use "$user" "/dev/vfio/$group"'

# user_profile MEMBERS: the VM with edu, and who may start it (and how).
user_profile() {
    lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\" },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$edu\" } ],
  $1,
  \"serial\": \"none\"
}"
}
profile=$(user_profile "\"access\": { \"users\": [\"$user\"] }") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

rc=0
vmrun_sudo labother start --detach "$profile" >"$out/start-other.txt" 2>&1 || rc=$?
check "labother, not in access.users, is refused (exit $rc: $(head -c 200 "$out/start-other.txt"))" \
    eval '[ $rc -eq 2 ] && grep -q "access" "$out/start-other.txt"'
check "... and nothing was started" test ! -e "$(vm_run_dir $NAME)"

t0=$(date +%s%N)
if vmrun_sudo $user start --detach "$profile" >"$out/start.txt" 2>&1; then
    pass "as $user: sudo vmrun start --detach $profile ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "as $user: sudo vmrun start --detach $profile: $(cat "$out/start.txt")"
    vm_keep_log $NAME
    finish
fi
vm_keep_log $NAME
qemu_pid=$(vm_pid $NAME qemu)
check "QEMU (pid ${qemu_pid:-none}) runs" proc_alive "${qemu_pid:-0}"
check "it is QEMU itself ($(readlink "/proc/$qemu_pid/exe"))" \
    eval '[ "$(basename "$(readlink "/proc/$qemu_pid/exe")")" = qemu-system-x86_64 ]'
check "edu is on vfio-pci" [ "$(pci_driver "$edu")" = vfio-pci ]
zero=0000000000000000
for f in Uid Gid; do
    v=$(proc_field "$qemu_pid" $f)
    want=$([ $f = Uid ] && echo "$uid" || echo "$gid")
    check "QEMU's $f is $want in every slot ($v)" [ "$v" = "$want $want $want $want" ]
done
groups=$(proc_field "$qemu_pid" Groups | xargs -n1 | sort -n | xargs)
want_groups=$(id -G "$user" | xargs -n1 | sort -n | xargs)
check "QEMU's groups are $user's ($groups)" [ "$groups" = "$want_groups" ]
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    v=$(proc_field "$qemu_pid" $f)
    check "QEMU's $f is empty ($v)" [ "$v" = $zero ]
done
v=$(proc_field "$qemu_pid" NoNewPrivs)
check "QEMU has no_new_privs ($v)" [ "$v" = 1 ]
v=$(proc_field "$qemu_pid" Seccomp)
check "QEMU runs under a seccomp filter (Seccomp $v)" [ "$v" = 2 ]
# Handed over by one ACL entry for QEMU's uid, never by chown
# (priv/priv_handover.h): the node stays root's, so QEMU's user can
# neither chmod it nor add entries of their own.
dev_during=$(stat -c '%u:%g %a' "/dev/vfio/$group")
check "/dev/vfio/$group stays root's while the VM runs ($dev_during)" \
    [ "${dev_during%%:*}" = 0 ]
check "$user may read and write /dev/vfio/$group while the VM runs (its ACL entry)" \
    can_use "$user" "/dev/vfio/$group"
check "QEMU holds /dev/vfio/$group open" \
    eval 'ls -l "/proc/$qemu_pid/fd" | grep -q " /dev/vfio/$group\$"'

check "as $user: sudo vmrun stop $NAME --force" vmrun_sudo $user stop $NAME --force
check "QEMU has exited" eval '! proc_alive "$qemu_pid"'
check "edu stays on vfio-pci, where it was before" [ "$(pci_driver "$edu")" = vfio-pci ]
dev_after=$(stat -c '%u:%g %a' "/dev/vfio/$group" 2>&1)
check "/dev/vfio/$group is root:root with mode 640 again ($dev_after)" [ "$dev_after" = "$dev_before" ]
check "$user may no longer use /dev/vfio/$group" eval '! can_use "$user" "/dev/vfio/$group"'
check "the runtime directory is gone" test ! -e "$(vm_run_dir $NAME)"

check "edu back to no driver (the scenario's own bind undone)" \
    eval 'pci_unbind_vfio "$edu" && [ "$(pci_driver "$edu")" = none ]'

# --- The usual case: vmrun binds the device itself, so /dev/vfio/N is
# created for the run (root's, by the kernel), handed over, and goes away
# when the device is given back; the hand-over's undo must cope. The
# profile lets labvmgrp's members start it and runs QEMU as nobody.
check "/dev/vfio/$group is gone" wait_for 5 test ! -e "/dev/vfio/$group"
profile=$(user_profile "\"access\": { \"groups\": [\"labvmgrp\"] }, \"run_as\": \"nobody\"")
if vmrun_sudo $user start --detach "$profile" >"$out/start2.txt" 2>&1; then
    pass "again, with edu on no driver, as $user of labvmgrp (access.groups): sudo vmrun start --detach"
    qemu_pid=$(vm_pid $NAME qemu)
    check "run_as nobody: QEMU runs as nobody ($nobody_uid), not as $user" \
        [ "$(proc_field "$qemu_pid" Uid)" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ]
    dev_during=$(stat -c '%u:%g %a' "/dev/vfio/$group")
    check "/dev/vfio/$group stays root's while the VM runs ($dev_during)" \
        [ "${dev_during%%:*}" = 0 ]
    check "nobody may read and write /dev/vfio/$group while the VM runs" \
        can_use nobody "/dev/vfio/$group"
    check "... and $user, who started it, may not" eval '! can_use "$user" "/dev/vfio/$group"'
    check "as $user: sudo vmrun stop $NAME --force" vmrun_sudo $user stop $NAME --force
    check "edu is back on no driver, driver_override clear" \
        [ "$(pci_driver "$edu")" = none -a "$(pci_override "$edu")" = "(null)" ]
    check "/dev/vfio/$group went away with the device" wait_for 5 test ! -e "/dev/vfio/$group"
    check "the runtime directory is gone (every undo succeeded)" test ! -e "$(vm_run_dir $NAME)"
else
    fail "again, with edu on no driver: vmrun start --detach: $(cat "$out/start2.txt")"
fi
vm_keep_log $NAME
finish
