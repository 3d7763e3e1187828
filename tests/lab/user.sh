#!/bin/bash
# "QEMU without root", on L1's real kernel (run by run-lab.sh
# --writable-root inside L1): a VFIO VM started through sudo (SUDO_UID and
# SUDO_GID name an ordinary user) runs QEMU as that user: its uids and gids,
# no capability in any set, no_new_privs, QEMU's seccomp filter; the VFIO
# group's /dev/vfio/N is that user's while the VM runs and root's again,
# with its previous mode, after stop.
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

# The user: the host's "nobody" (the host's /etc/passwd is L1's).
IFS=: read -r user _ uid gid _ <<<"$(getent passwd nobody)" || true
check "a user to run QEMU as: ${user:-none} (${uid:-}:${gid:-})" [ -n "${uid:-}" -a "${uid:-0}" != 0 ]
[ -n "${uid:-}" ] && [ "$uid" != 0 ] || finish

edu=$(pci_find $EDU) || edu=
check "edu ($EDU) found${edu:+ at $edu}" [ -n "$edu" ]
[ -n "$edu" ] || finish
group=$(pci_group "$edu")
check "edu bound to vfio-pci beforehand" pci_bind_vfio "$edu"
check "/dev/vfio/$group exists" wait_for 5 test -c "/dev/vfio/$group"
# A mode the kernel would not give it, so that a restore to a fixed mode
# would show.
chmod 0640 "/dev/vfio/$group"
dev_before=$(stat -c '%u:%g %a' "/dev/vfio/$group")
check "/dev/vfio/$group is root's with mode 640 before ($dev_before)" [ "$dev_before" = "0:0 640" ]

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\" },
  \"memory\": { \"size\": \"128M\" },
  \"pci\": [ { \"address\": \"$edu\" } ],
  \"serial\": \"none\"
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

t0=$(date +%s%N)
if SUDO_UID=$uid SUDO_GID=$gid SUDO_USER=$user vm_start "$out/start.txt" "$profile"; then
    pass "SUDO_UID=$uid SUDO_GID=$gid vmrun start --detach $profile ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "SUDO_UID=$uid SUDO_GID=$gid vmrun start --detach $profile: $(cat "$out/start.txt")"
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
dev_during=$(stat -c '%u:%g %a' "/dev/vfio/$group")
check "/dev/vfio/$group is $user's while the VM runs ($dev_during)" \
    [ "${dev_during%%:*}" = "$uid" ]
check "QEMU holds /dev/vfio/$group open" \
    eval 'ls -l "/proc/$qemu_pid/fd" | grep -q " /dev/vfio/$group\$"'

check "vmrun stop $NAME --force (as root)" "$VMRUN" stop $NAME --force
check "QEMU has exited" eval '! proc_alive "$qemu_pid"'
check "edu stays on vfio-pci, where it was before" [ "$(pci_driver "$edu")" = vfio-pci ]
dev_after=$(stat -c '%u:%g %a' "/dev/vfio/$group" 2>&1)
check "/dev/vfio/$group is root:root with mode 640 again ($dev_after)" [ "$dev_after" = "$dev_before" ]
check "the runtime directory is gone" test ! -e "$(vm_run_dir $NAME)"

check "edu back to no driver (the scenario's own bind undone)" \
    eval 'pci_unbind_vfio "$edu" && [ "$(pci_driver "$edu")" = none ]'

# --- The usual case: vmrun binds the device itself, so /dev/vfio/N is
# created for the run (root's, by the kernel), handed over, and goes away
# when the device is given back; the hand-over's undo must cope.
check "/dev/vfio/$group is gone" wait_for 5 test ! -e "/dev/vfio/$group"
if SUDO_UID=$uid SUDO_GID=$gid SUDO_USER=$user vm_start "$out/start2.txt" "$profile"; then
    pass "again, with edu on no driver: vmrun start --detach"
    qemu_pid=$(vm_pid $NAME qemu)
    check "QEMU runs as $user" [ "$(proc_field "$qemu_pid" Uid)" = "$uid $uid $uid $uid" ]
    dev_during=$(stat -c '%u:%g %a' "/dev/vfio/$group")
    check "/dev/vfio/$group is $user's while the VM runs ($dev_during)" \
        [ "${dev_during%%:*}" = "$uid" ]
    check "vmrun stop $NAME --force" "$VMRUN" stop $NAME --force
    check "edu is back on no driver, driver_override clear" \
        [ "$(pci_driver "$edu")" = none -a "$(pci_override "$edu")" = "(null)" ]
    check "/dev/vfio/$group went away with the device" wait_for 5 test ! -e "/dev/vfio/$group"
    check "the runtime directory is gone (every undo succeeded)" test ! -e "$(vm_run_dir $NAME)"
else
    fail "again, with edu on no driver: vmrun start --detach: $(cat "$out/start2.txt")"
fi
vm_keep_log $NAME
finish
