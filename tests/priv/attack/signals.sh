#!/bin/bash
# Item: no signal a user can make sudo relay leaves the host inconsistent
# or stops root's vmrun while it holds a machine-wide lock. The user starts
# a hugepage VM in the foreground through sudo and sends sudo (which keeps
# their real uid, so they may) what sudo relays:
#  - TSTP, as fast as they can while the VM starts and takes the hugepage
#    lock (Ctrl-Z): root's supervisor never stops, and another user's
#    hugepage VM (root's here) starts and stops meanwhile;
#  - USR1, USR2, QUIT, PIPE: the supervisor lives on and the VM runs;
#  - ALRM, which sudo answers by ending its command with HUP, TERM, then
#    KILL: the VM stops in order and the host is put back at once (no
#    stale runtime directory, no journal left for `vmrun recover`).
# The hugepage pool ends as it began. Run under with-hugepage-lock.sh.
. "$(dirname "$0")/lib.sh"
NAME=priv-sig
OTHER=priv-sig-other
POOL=/sys/devices/system/node/node0/hugepages/hugepages-2048kB
[ -d "$POOL" ] || { echo "SKIP: no 2 MiB hugepages here"; exit 77; }
pool() { echo "$(cat $POOL/nr_hugepages) $(cat $POOL/free_hugepages)"; }
pool_before=$(pool)
hp_profile() {
    etc_profile "$1" '{ "name": "'$1'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "64M", "hugepages": "2M" },
  "serial": "none", "display": "none", "shutdown": { "timeout": 5 } }'
}
p=$(hp_profile $NAME)
po=$(hp_profile $OTHER)
watch_start

# The user's sudo in the foreground, its pid known (setpriv execs it).
fg_start() {
    as_user_bg sudo -n "$BIN" start "$p" >"$T/fg.log" 2>&1 &
    SUDO_PID=$!
}
sup_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
wait_running() {
    for _ in $(seq 300); do
        [ -s "/run/vmrun/$1/qemu.pid" ] && grep -q '"running"' "/run/vmrun/$1/state.json" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# 1. Ctrl-Z all the while the VM starts: from the moment its supervisor
# exists (before, TSTP stops only the user's own sudo, before it runs
# anything).
fg_start
for _ in $(seq 300); do
    [ -s /run/vmrun/$NAME/supervisor.pid ] && break
    sleep 0.02
done
: >"$T/states"
for _ in $(seq 600); do
    as_user kill -TSTP "$SUDO_PID" 2>/dev/null
    sup=$(cat /run/vmrun/$NAME/supervisor.pid 2>/dev/null)
    [ -n "$sup" ] && sup_state "$sup" >>"$T/states"
    grep -q '"running"' "/run/vmrun/$NAME/state.json" 2>/dev/null && break
    sleep 0.005
done
stopped=$(grep -c '^[Tt]' "$T/states")
check "root's supervisor was never stopped by the user's TSTP ($stopped stopped of $(wc -l <"$T/states") looks)" \
    [ "$stopped" = 0 ]
if wait_running $NAME; then
    pass "the user's VM runs despite TSTP"
else
    fail "the user's VM did not reach running: $(cat "$T/fg.log")"
fi
sup=$(cat /run/vmrun/$NAME/supervisor.pid 2>/dev/null)
check "its supervisor is not stopped ($(sup_state "$sup"))" sh -c "[ \"\$(awk '{print \$3}' /proc/$sup/stat)\" != T ]"
if timeout 60 "$BIN" start --detach "$po" >"$T/other" 2>&1; then
    pass "another hugepage VM starts meanwhile"
    check "... and stops" timeout 60 "$BIN" stop $OTHER --force
else
    fail "another hugepage VM could not start meanwhile: $(cat "$T/other")"
    "$BIN" stop $OTHER --force >/dev/null 2>&1
fi

# 2. What sudo relays besides the stop signals.
for sig in USR1 USR2 QUIT PIPE TSTP; do
    as_user kill -$sig "$SUDO_PID" 2>/dev/null
    sleep 0.3
    check "after $sig to sudo the supervisor lives, not stopped" \
        sh -c "[ -d /proc/$sup ] && [ \"\$(awk '{print \$3}' /proc/$sup/stat)\" != T ]"
done
check "the VM still runs" kill -0 "$(qemu_pid_of $NAME)"

# 3. ALRM: sudo ends its command (HUP, TERM, KILL); the VM stops in order.
as_user kill -ALRM "$SUDO_PID" 2>/dev/null
for _ in $(seq 300); do [ -d /run/vmrun/$NAME ] || break; sleep 0.1; done
wait "$SUDO_PID" 2>/dev/null
check "after ALRM to sudo the VM is gone and nothing is left to recover" [ ! -d /run/vmrun/$NAME ]
if [ -d /run/vmrun/$NAME ]; then
    "$BIN" stop $NAME --force >/dev/null 2>&1
    "$BIN" recover $NAME >/dev/null 2>&1
fi
check "the hugepage pool is as before ($(pool), was $pool_before)" [ "$(pool)" = "$pool_before" ]
finish
