#!/bin/bash
# Item: device nodes are checked to be of the expected kind, on a path
# root controls, before any access is given. An evdev input named by a
# symlink in the user's home (to /dev/null, to root's file), or by a
# root-controlled path to a device that is not an input device: refused,
# and nothing changes owner.
. "$(dirname "$0")/lib.sh"
NAME=priv-dev
watch_start
null_before=$(stat -c '%u:%g %a' /dev/null)
for target in /dev/null "$VICTIM"; do
    as_user ln -sf "$target" "$UHOME/kbd"
    p=$(root_profile $NAME ",
  \"input\": [ { \"evdev\": \"$UHOME/kbd\" } ]")
    if vmrun_sudo start --detach "$p" >"$T/s" 2>&1; then
        started $NAME
        fail "evdev $UHOME/kbd -> $target accepted"
    else
        pass "evdev $UHOME/kbd -> $target refused: $(tail -n1 "$T/s")"
    fi
done
p=$(root_profile $NAME ",
  \"input\": [ { \"evdev\": \"/dev/null\" } ]")
if vmrun_sudo start --detach "$p" >"$T/s" 2>&1; then
    started $NAME
    fail "evdev /dev/null accepted"
else
    pass "evdev /dev/null (not an input device) refused"
fi
check "the refusal says what it expected" grep -q "is not an evdev input device" "$T/s"
check "/dev/null keeps its owner and mode ($null_before)" \
    [ "$(stat -c '%u:%g %a' /dev/null)" = "$null_before" ]
finish
