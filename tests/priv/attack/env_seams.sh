#!/bin/bash
# Item: no test seams in the shipped binary, and a clean environment for
# what root runs. Run through vmrun-setenv, whose rule allows SETENV (README:
# it hands out root; setenv.sh shows what vmrun refuses), so `sudo -E` and
# `sudo VAR=value` keep whatever they set:
#  - VMRUN_RUN_DIR pointing at a directory of theirs that holds a forged
#    runtime directory and journal (whose undo would hand root's file to
#    them): `vmrun recover` and `vmrun status` of that name find nothing;
#    the victim keeps its owner;
#  - VMRUN_SYSFS_ROOT, VMRUN_DEV_ROOT, VMRUN_TEST_KILL_AFTER: no effect;
#  - PATH with a directory of theirs first, holding a "qemu-system-x86_64"
#    and a "modprobe" that would leave a mark as root: a VM starts with
#    the real QEMU, and nothing of theirs ran;
#  - a variable of theirs never reaches QEMU's environment.
. "$(dirname "$0")/lib.sh"
NAME=priv-env
watch_start
forged=$UHOME/run/$NAME
as_user mkdir -p "$forged"
as_user chmod 0700 "$UHOME/run" "$forged"
cat >"$T/journal" <<EOT
{"seq":1,"op":"chown","args":{"path":"$VICTIM","uid":$A_UID,"gid":$A_GID,"mode":438}}
{"seq":1,"done":true}
EOT
as_user cp "$T/journal" "$forged/journal"
as_user touch "$forged/lock"

out=$(cd "$UHOME" && runuser -u "$ATTACK_USER" -- env VMRUN_RUN_DIR="$UHOME/run" \
    sudo -n -E "$SETENV_BIN" recover $NAME 2>&1)
echo "recover: $out"
check "recover with VMRUN_RUN_DIR kept by sudo -E found nothing to recover" \
    sh -c "printf '%s' \"\$0\" | grep -q 'nothing to recover'" "$out"
out=$(vmrun_sudo status $NAME --json 2>&1)
check "status does not see the forged directory" \
    sh -c "printf '%s' \"\$0\" | grep -q '\"absent\"'" "$out"
check "the forged journal is still there, unread by root's undo" [ -f "$forged/journal" ]

# A PATH of the user's, and variables of theirs.
as_user mkdir -p "$UHOME/bin"
for prog in qemu-system-x86_64 modprobe; do
    printf '#!/bin/sh\nid -u >%s/ran-%s\nexec /usr/bin/%s "$@"\n' "$UHOME" "$prog" "$prog" >"$T/$prog"
    as_user cp "$T/$prog" "$UHOME/bin/$prog"
    as_user chmod 0755 "$UHOME/bin/$prog"
done
profile=$(root_profile $NAME)
if (cd "$UHOME" && runuser -u "$ATTACK_USER" -- env PATH="$UHOME/bin:/usr/bin:/bin" \
    ATTACK_MARK=from-the-user VMRUN_SYSFS_ROOT="$UHOME" VMRUN_DEV_ROOT="$UHOME" \
    VMRUN_TEST_KILL_AFTER=1 LD_LIBRARY_PATH="$UHOME" \
    sudo -n -E "$SETENV_BIN" start --detach "$profile") >"$T/start" 2>&1; then
    started $NAME
    pass "start with the user's PATH and VMRUN_* kept"
    qpid=$(qemu_pid_of $NAME)
    check "QEMU is the real one ($(readlink /proc/$qpid/exe))" \
        [ "$(readlink /proc/$qpid/exe)" = /usr/bin/qemu-system-x86_64 ]
    env_of_qemu=$(tr '\0' '\n' <"/proc/$qpid/environ")
    check "QEMU's environment holds nothing of the user's ($(echo $env_of_qemu))" \
        sh -c "! printf '%s' \"\$0\" | grep -q 'ATTACK_MARK\|VMRUN_\|LD_LIBRARY_PATH\|$UHOME/bin'" \
        "$env_of_qemu"
    check "QEMU's PATH is the fixed one" \
        sh -c "printf '%s' \"\$0\" | grep -qx 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'" \
        "$env_of_qemu"
    check "the user stops their VM" vmrun_sudo stop $NAME --force
else
    fail "start with the user's PATH and VMRUN_* kept: $(cat "$T/start")"
fi
check "none of the user's programs ran ($(ls "$UHOME" | grep '^ran-' | xargs))" \
    sh -c "! ls $UHOME | grep -q '^ran-'"
finish
