#!/bin/bash
# Item: who may use which VM. The profile key "access" end to end: a VM
# whose access lists other users and groups is refused to the user through
# sudo; listed by group, they start it. A VM root started, they may not
# stop; a stale VM root left, they may not recover; their own they may.
. "$(dirname "$0")/lib.sh"
NAME=priv-access
watch_start
grp=$(id -gn "$ATTACK_USER")
p=$(root_profile $NAME ",
  \"access\": { \"users\": [\"root\"], \"groups\": [\"nogroup\"] }")
out=$(vmrun_sudo start --detach "$p" 2>&1)
rc=$?
check "access without the user: start refused (exit $rc)" [ "$rc" = 2 ]
check "... saying why" sh -c "printf '%s' \"\$0\" | grep -q 'access'" "$out"
check "... and nothing was started" [ ! -e /run/vmrun/$NAME ]

p=$(root_profile $NAME ",
  \"access\": { \"groups\": [\"$grp\"] }")
if vmrun_sudo start --detach "$p" >"$T/s" 2>&1; then
    started $NAME
    pass "access listing the user's group: started"
    check "the VM records who started it" [ "$(cat /run/vmrun/$NAME/started_by)" = "$A_UID" ]
    check "the user stops it" vmrun_sudo stop $NAME --force
else
    fail "access listing the user's group: $(cat "$T/s")"
fi

# Root's VM: not the user's to stop.
if (cd / && "$BIN" start --detach "$p") >"$T/r" 2>&1; then
    started $NAME
    out=$(vmrun_sudo stop $NAME --force 2>&1)
    rc=$?
    check "the user may not stop root's VM (exit $rc)" [ "$rc" = 1 ]
    check "... told who started it" sh -c "printf '%s' \"\$0\" | grep -q 'started by root'" "$out"
    check "root's VM still runs" [ -n "$(qemu_pid_of $NAME)" ] && kill -0 "$(qemu_pid_of $NAME)"
    qpid=$(qemu_pid_of $NAME)
    sup=$(cat /run/vmrun/$NAME/supervisor.pid)
    # Leave it stale: its supervisor dies (QEMU with it).
    kill -KILL "$sup"
    for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
    out=$(vmrun_sudo recover $NAME 2>&1)
    rc=$?
    check "the user may not recover root's stale VM (exit $rc)" [ "$rc" = 1 ]
    check "its runtime directory is still there for root" [ -d /run/vmrun/$NAME ]
    check "root recovers it" sh -c "cd / && $BIN recover $NAME >/dev/null"
else
    fail "root's start: $(cat "$T/r")"
fi
finish
