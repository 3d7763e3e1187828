#!/bin/bash
# Item: the same rule for root. Root itself (the release binary, no sudo)
# refuses a profile root does not control, one in the user's home naming a
# QEMU argument of theirs, unless root says --trust-profile; through sudo
# the user cannot say it for root. Root's own profile needs nothing.
. "$(dirname "$0")/lib.sh"
NAME=priv-rootrule
cat >"$T/p.json" <<EOT
{ "name": "$NAME", "memory": { "size": "64M" }, "cpu": { "model": "qemu64" },
  "qemu": { "accel": "tcg", "extra_args": ["-name", "marker-of-the-user"] } }
EOT
as_user cp "$T/p.json" "$UHOME/$NAME.json"
watch_start

out=$(cd / && "$BIN" print-cmd "$UHOME/$NAME.json" 2>&1)
rc=$?
check "root refuses the user's profile (exit $rc)" [ "$rc" = 2 ]
check "... saying who controls it and how to vouch for it" \
    sh -c "printf '%s' \"\$0\" | grep -q 'owned by uid $A_UID' && printf '%s' \"\$0\" | grep -q -- '--trust-profile'" "$out"
out=$(cd / && "$BIN" start --detach "$UHOME/$NAME.json" 2>&1)
rc=$?
check "root refuses to start it (exit $rc)" [ "$rc" = 2 ]
check "root vouching with --trust-profile: accepted" \
    sh -c "cd / && $BIN print-cmd --trust-profile $UHOME/$NAME.json | grep -q marker-of-the-user"
out=$(vmrun_sudo print-cmd --trust-profile "$UHOME/$NAME.json" 2>&1)
rc=$?
check "through sudo --trust-profile is refused (exit $rc)" [ "$rc" = 2 ]
check "... and the user's argument is not echoed" \
    sh -c "! printf '%s' \"\$0\" | grep -q marker-of-the-user" "$out"
good=$(root_profile $NAME)
check "root's own profile needs nothing" sh -c "cd / && $BIN print-cmd $good >/dev/null"
finish
