#!/bin/bash
# Item: every subcommand that reads a file named on its command line opens
# it, through sudo, with the caller's own rights. The user names files
# only root may read:
#  - `vmrun import` of a root-only libvirt domain XML (its secrets) and of
#    a root-only device node;
#  - `vmrun desktop install` of a root-only profile in /etc/vmrun (its name
#    and description would land in the user's launcher), and of paths that
#    exist and that do not (the answers must not tell them apart);
#  - `print-cmd`, `check` and `start` of that root-only profile, whose
#    command line holds an administrator's secret.
# Each is refused with the user's own "permission denied", and nothing of
# the files reaches the user.
. "$(dirname "$0")/lib.sh"
NAME=priv-private
SECRET_XML=$BASE/private-domain.xml
NODE=$BASE/private-node
APPS=$UHOME/.local/share/applications
cat >"$SECRET_XML" <<EOT
<domain type='kvm'>
  <name>ROOT-SECRET-domain</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <sysinfo type='smbios'><system><entry name='serial'>ROOT-SECRET-serial</entry></system></sysinfo>
</domain>
EOT
chmod 0600 "$SECRET_XML"
rm -f "$NODE"
mknod -m 0600 "$NODE" c 1 5 # /dev/zero's numbers, root's only
# A root-only profile in /etc/vmrun: its command line holds a secret.
p=$(etc_profile $NAME '{ "name": "'$NAME'", "description": "ROOT-SECRET-description",
  "qemu": { "accel": "tcg", "extra_args": ["-name", "ROOT-SECRET-argument"] },
  "cpu": { "model": "qemu64" }, "memory": { "size": "64M" }, "display": "none" }')
chmod 0600 "$p"
watch_start

for f in "$SECRET_XML" "$NODE"; do
    out=$(vmrun_sudo import "$f" 2>&1)
    rc=$?
    check "import $f through sudo is refused (exit $rc)" [ "$rc" = 2 ]
    check "... with the user's own permission denied" \
        sh -c "printf '%s' \"\$0\" | grep -q 'Permission denied'" "$out"
    check "... and nothing of it is shown" \
        sh -c "! printf '%s' \"\$0\" | grep -q ROOT-SECRET" "$out"
done
# What the user may read, they may import.
# (Made by root from the same text, without the secret, then copied by
# the user: no process of theirs ever sees root's file.)
sed s/ROOT-SECRET/user/ "$SECRET_XML" >"$T/mine.xml"
chmod 0644 "$T/mine.xml"
as_user cp "$T/mine.xml" "$UHOME/mine.xml"
check "import of the user's own domain XML works through sudo" \
    sh -c "cd $UHOME && runuser -u $ATTACK_USER -- sudo -n $BIN import $UHOME/mine.xml | grep -q user-domain"

out=$(vmrun_sudo desktop install "$p" 2>&1)
rc=$?
check "desktop install of a root-only profile is refused (exit $rc)" [ "$rc" = 2 ]
check "... without its name or description" \
    sh -c "! printf '%s' \"\$0\" | grep -q ROOT-SECRET && ! grep -rqs ROOT-SECRET $APPS" "$out"
check "... and no launcher is written" [ ! -e "$APPS/vmrun-$NAME.desktop" ]
# An oracle: the same answer for a root-only file that exists, one that
# does not, and one that is not JSON.
mkdir -p -m 0700 "$BASE/private"
printf 'not json' >"$BASE/private/exists.json"
out1=$(vmrun_sudo desktop install "$BASE/private/exists.json" 2>&1 | sed "s|exists|X|g")
out2=$(vmrun_sudo desktop install "$BASE/private/missing.json" 2>&1 | sed "s|missing|X|g")
echo "exists: $out1"
echo "missing: $out2"
check "desktop install says the same of a root-only file and of none" [ "$out1" = "$out2" ]

for cmd in print-cmd check "start --detach"; do
    out=$(vmrun_sudo $cmd "$p" 2>&1)
    rc=$?
    check "$cmd of the root-only profile is refused (exit $rc)" [ "$rc" = 2 ]
    check "... without showing any of it" \
        sh -c "! printf '%s' \"\$0\" | grep -q ROOT-SECRET" "$out"
done
check "no VM '$NAME' was started" [ ! -d /run/vmrun/$NAME ]
rm -rf "$SECRET_XML" "$NODE" "$BASE/private"
finish
