#!/bin/sh
# vmrun desktop install/remove under sudo-like conditions (real uid 0,
# SUDO_UID naming another user): the launcher is written as that user, runs
# pkexec vmrun start --detach with the profile's path, and an untrusted
# profile is refused with exit 2. Needs root (77 = skipped).
set -u
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
vmrun=${VMRUN_BIN:?}
fail=0
check() { if ! eval "$1"; then echo "FAIL: $1"; fail=1; fi; }

# A root-controlled chain under /etc/vmrun (root 0755), where pkexec's
# profiles must be; /tmp is world-writable.
made_etc=
[ -d /etc/vmrun ] || made_etc=1
install -d -m 0755 /etc/vmrun
trusted=$(mktemp -d /etc/vmrun/vmrun-desktop-XXXXXX)
untrusted=$(mktemp -d)
trap 'rm -rf "$trusted" "$untrusted"; [ -z "$made_etc" ] || rmdir --ignore-fail-on-non-empty /etc/vmrun' EXIT
chmod 0755 "$trusted" "$untrusted"
printf '{"name": "deskvm", "description": "Desk test VM", "memory": {"size": "64M"}}\n' \
    >"$trusted/deskvm.json"
chmod 0644 "$trusted/deskvm.json"
cp "$trusted/deskvm.json" "$untrusted/deskvm.json"
# A directory a user owns: they decide what its names are.
chown 65534 "$untrusted"
apps="$untrusted/apps/applications"
mkdir -p "$untrusted/apps"
chown 65534 "$untrusted/apps"

export SUDO_UID=65534 SUDO_GID=65534 VMRUN_DESKTOP_DIR="$apps"
"$vmrun" desktop install "$trusted/deskvm.json" >"$untrusted/out" 2>&1
rc=$?
check '[ $rc -eq 0 ]'
f="$apps/vmrun-deskvm.desktop"
check '[ -f "$f" ]'
check '[ "$(stat -c %u "$f")" = 65534 ]'
check '[ "$(stat -c %u "$apps")" = 65534 ]'
check 'grep -qx "Exec=pkexec [^ ]* start --detach $trusted/deskvm.json" "$f"'
check 'grep -qx "Terminal=false" "$f"'
check 'grep -qx "Name=deskvm (VM)" "$f"'
check 'grep -qx "Comment=Desk test VM" "$f"'
if command -v desktop-file-validate >/dev/null; then
    check 'desktop-file-validate "$f"'
fi

"$vmrun" desktop install "$untrusted/deskvm.json" >"$untrusted/out" 2>&1
rc=$?
check '[ $rc -eq 2 ]'
check 'grep -q "/etc/vmrun/deskvm.json" "$untrusted/out"'

# A profile root controls outside /etc/vmrun: pkexec would refuse it.
cp "$trusted/deskvm.json" "$untrusted/../vmrun-desktop-outside.json"
"$vmrun" desktop install "$untrusted/../vmrun-desktop-outside.json" >"$untrusted/out" 2>&1
rc=$?
rm -f "$untrusted/../vmrun-desktop-outside.json"
check '[ $rc -eq 2 ]'

"$vmrun" desktop remove deskvm >/dev/null 2>&1
rc=$?
check '[ $rc -eq 0 ] && [ ! -e "$f" ]'
"$vmrun" desktop remove deskvm >/dev/null 2>&1
rc=$?
check '[ $rc -eq 2 ]'
"$vmrun" desktop remove "../x" >/dev/null 2>&1
rc=$?
check '[ $rc -eq 2 ]'

[ $fail -eq 0 ] && echo PASS
exit $fail
