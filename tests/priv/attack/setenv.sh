#!/bin/bash
# Item: a sudoers rule with SETENV hands out root (README says so), and
# vmrun refuses to run where it can tell it was given one. Through
# vmrun-setenv (the same release binary, under a rule with SETENV) the
# user sets what sudo would otherwise set itself:
#  - SUDO_UID=0, and SUDO_UID empty: vmrun would take the caller for root
#    and let them vouch for a profile of theirs (--trust-profile);
#  - SUDO_UID of another user: vmrun would let them stop that user's VM;
#  - SUDO_USER of another user: their configuration directory;
#  - LD_LIBRARY_PATH, LD_PRELOAD (of nothing: a library would already have
#    run as root), GCONV_PATH: refused.
# Each is refused (exit 2) with a message that names SETENV, the user's
# profile is never echoed, and the other user's VM still runs. The same
# commands through the rule without SETENV work.
. "$(dirname "$0")/lib.sh"
NAME=priv-other
cat >"$T/evil.json" <<'EOT'
{ "name": "priv-evil", "memory": { "size": "64M" },
  "qemu": { "accel": "tcg", "extra_args": ["-evil-marker-from-the-user"] } }
EOT
chmod 0644 "$T/evil.json"
as_user cp "$T/evil.json" "$UHOME/evil.json"
watch_start
setenv_sudo() { as_user sudo -n "$@"; }

refused() {
    local what=$1 out rc
    shift
    out=$(setenv_sudo "$@" 2>&1)
    rc=$?
    check "$what: refused (exit $rc)" [ "$rc" = 2 ]
    check "... saying SETENV is the cause" sh -c "printf '%s' \"\$0\" | grep -q SETENV" "$out"
    check "... without echoing the user's profile" \
        sh -c "! printf '%s' \"\$0\" | grep -q evil-marker" "$out"
}
refused "SUDO_UID=0 with --trust-profile" \
    SUDO_UID=0 "$SETENV_BIN" print-cmd --trust-profile "$UHOME/evil.json"
refused "SUDO_UID= (empty) with --trust-profile" \
    SUDO_UID= "$SETENV_BIN" print-cmd --trust-profile "$UHOME/evil.json"
refused "SUDO_UID=0 SUDO_USER=root" \
    SUDO_UID=0 SUDO_USER=root "$SETENV_BIN" print-cmd --trust-profile "$UHOME/evil.json"
refused "SUDO_USER=nobody" SUDO_USER=nobody "$SETENV_BIN" list
refused "LD_LIBRARY_PATH" LD_LIBRARY_PATH=/nonexistent "$SETENV_BIN" list
refused "LD_PRELOAD" LD_PRELOAD=/nonexistent/lib.so "$SETENV_BIN" list
refused "GCONV_PATH" GCONV_PATH=/nonexistent "$SETENV_BIN" list

# Another user's VM (nobody's: root starts it as sudo would for them).
p=$(root_profile $NAME)
if (cd / && env SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody "$BIN" start --detach "$p") \
    >"$T/s" 2>&1; then
    started $NAME
    check "the VM is recorded as nobody's" [ "$(cat /run/vmrun/$NAME/started_by)" = 65534 ]
    refused "SUDO_UID of another user to stop their VM" \
        SUDO_UID=65534 "$SETENV_BIN" stop $NAME --force
    check "their VM still runs" [ -n "$(qemu_pid_of $NAME)" ]
    check "... and its QEMU too" kill -0 "$(qemu_pid_of $NAME)"
    out=$(vmrun_sudo stop $NAME --force 2>&1)
    check "without SETENV, the user may not stop it either (exit $?)" \
        sh -c "printf '%s' \"\$0\" | grep -q 'started by nobody'" "$out"
    "$BIN" stop $NAME --force >/dev/null 2>&1
else
    fail "nobody's VM did not start: $(cat "$T/s")"
fi
check "without SETENV the same binary works" vmrun_sudo list
check "vmrun-setenv works when the user sets nothing" setenv_sudo "$SETENV_BIN" list
finish
