#!/bin/bash
# A hugepage VM started by an ordinary user through real sudo: QEMU runs as
# that user and maps its guest memory through vmrun's own hugetlbfs mount
# (this host has no hugetlbfs mounted, so vmrun mounts one; 1 GiB pages
# almost never have a mount of their own).
#
# Self-contained: it creates the user vmrun-hp and a NOPASSWD rule for this
# build's vmrun in /etc/sudoers.d/vmrun-hp-test, and removes both at exit.
# The profile lives in /etc/vmrun (through sudo vmrun accepts only profiles
# there), as /etc/vmrun/vmrun-hp-test-SIZE.json, removed at exit. Run under
# with-hugepage-lock.sh.
#   e2e_sudo_user.sh 2M|1G
. "$(dirname "$0")/e2e_lib.sh"
size=${1:-2M}
command -v sudo >/dev/null && command -v visudo >/dev/null ||
    { echo "SKIP: sudo is not installed (scripts/install-deps.sh installs it)"; exit 77; }

USER_NAME=vmrun-hp
RULE=/etc/sudoers.d/vmrun-hp-test
if id "$USER_NAME" >/dev/null 2>&1; then
    # Left by a run that was killed: start afresh.
    userdel "$USER_NAME" >/dev/null 2>&1 || fail "cannot remove the stale user $USER_NAME"
fi
useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" ||
    fail "useradd $USER_NAME"
PROFILE=/etc/vmrun/vmrun-hp-test-$size.json
made_etc=
[ -d /etc/vmrun ] || made_etc="rmdir --ignore-fail-on-non-empty /etc/vmrun;"
E2E_CLEANUPS="userdel $USER_NAME >/dev/null 2>&1; rm -f $RULE $PROFILE; $made_etc"
vmrun_abs=$(readlink -f "$VMRUN")
printf '%s ALL=(root) NOPASSWD: %s\n' "$USER_NAME" "$vmrun_abs" >"$RULE.tmp"
chmod 0440 "$RULE.tmp"
visudo -cqf "$RULE.tmp" || fail "the sudoers rule does not parse"
mv "$RULE.tmp" "$RULE"
uid=$(id -u "$USER_NAME")

# A profile root controls, where sudo's profiles are.
install -d -m 0755 /etc/vmrun
if [ "$size" = 1G ]; then
    [ -d "$NODE_POOL/hugepages-1048576kB" ] || { echo "SKIP: no 1 GiB pages here"; exit 77; }
    mem='{ "size": "1G", "hugepages": "1G" }'
    kb=1048576
else
    mem='{ "size": "64M", "hugepages": "2M" }'
    kb=2048
fi
name=hp-sudo
cp "$(profile "$name" "$mem")" "$PROFILE"
chmod 0644 "$PROFILE"
nr0=$(pool $kb nr_hugepages)
free0=$(pool $kb free_hugepages)

# As the user, through sudo: exactly what a user types.
STARTED="$STARTED $name"
keylog_add "$PROFILE"
su -s /bin/sh "$USER_NAME" -c "sudo -n $vmrun_abs start --detach $PROFILE" \
    >"$T/$name.log" 2>&1 || fail "sudo vmrun start as $USER_NAME failed"
cat "/run/vmrun/$name/log" >>"$T/$name.log" 2>/dev/null
"$VMRUN" status $name --json >"$T/status.json" || fail "vmrun status"
qemu=$(jq -r .qemu_pid "$T/status.json")
file=$(jq -r .memory.file "$T/status.json")
mnt=$(dirname "$file")
[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$qemu/status")" = "$uid$uid$uid$uid" ] ||
    fail "QEMU does not run as $USER_NAME: $(grep ^Uid: "/proc/$qemu/status")"
pass "QEMU (pid $qemu) runs as $USER_NAME (uid $uid)"
[ "$(stat -f -c %T "$mnt")" = hugetlbfs ] || fail "$mnt is not a hugetlbfs mount"
case $mnt in /run/vmrun/.hugetlbfs/$name-*) ;; *) fail "vmrun used $mnt, not its own mount" ;; esac
[ "$(stat -c '%u %a' "$mnt")" = "0 711" ] || fail "the mount $mnt is $(stat -c '%U %a' "$mnt"), expected root 711"
[ "$(stat -c %u "$file")" = "$uid" ] || fail "the memory file is not handed to $USER_NAME"
[ "$(smaps_field "$qemu" "$file" KernelPageSize)" = $kb ] ||
    fail "QEMU's mapping of $file: kernel pages of $(smaps_field "$qemu" "$file" KernelPageSize) kB, expected $kb"
# Reached through the mount by the user: the mapping is QEMU's own.
su -s /bin/sh "$USER_NAME" -c "test -r '$file' && test -w '$file'" ||
    fail "$USER_NAME cannot open $file"
su -s /bin/sh "$USER_NAME" -c "ls '$mnt'" >/dev/null 2>&1 &&
    fail "$USER_NAME can list vmrun's mount (mode 0711 should forbid it)"
su -s /bin/sh "$USER_NAME" -c "touch '$mnt/x'" >/dev/null 2>&1 &&
    fail "$USER_NAME can create files in vmrun's mount"
pass "the memory file on vmrun's mount $mnt (root, 0711) is $USER_NAME's; QEMU maps it with $kb kB pages"

su -s /bin/sh "$USER_NAME" -c "sudo -n $vmrun_abs stop $name --force" >>"$T/$name.log" 2>&1 ||
    fail "sudo vmrun stop as $USER_NAME failed"
[ ! -e "/run/vmrun/$name" ] || fail "the runtime directory is still there"
! grep -qF " $mnt " /proc/self/mountinfo || fail "the mount $mnt is still there"
[ "$(pool $kb nr_hugepages)/$(pool $kb free_hugepages)" = "$nr0/$free0" ] ||
    fail "pool after stop: $(pool $kb nr_hugepages)/$(pool $kb free_hugepages), expected $nr0/$free0"
pass "stopped through sudo: pool $nr0/$free0 as before, mount gone"
echo "PASS: a $size hugepage VM through sudo as an ordinary user"
