#!/bin/bash
# Item: many VMs started and stopped at once by two users, with failures
# and crashes among them, leave the host exactly as it was. Two users
# (vmrun-tester and vmrun-storm2, each with the sudo rule for the release
# vmrun) each run OPS starts, all at once, in a network namespace of the
# test's own with a bridge. Every VM has 192 MiB of 2 MiB hugepages (more
# than pools usually keep free, so the pool grows and shrinks) and a tap on
# the bridge; each start is, at random (a fixed seed: a failure replays):
#   ok        it runs, then is stopped (vmrun stop), or its supervisor is
#             killed with SIGKILL (left for recover);
#   disk      a disk that cannot be opened (after the host is prepared);
#   device    an evdev node on this host without uinput (refused before
#             anything changes; vmrun never hands an input device over);
#   memory    the reservation fails half way or its supervisor dies inside
#             it (the test build's fault injection at the reservation's
#             points, as the same user through the environment sudo gives:
#             this host will not run out of pages on demand).
# Then each user recovers their VMs, root the rest. The 2 MiB pool (count,
# free, surplus), the hugepage and governor ledgers, the namespace's taps
# and bridge ports, and the evdev node's owner, mode and ACL must be as
# they were. (This host has no cpufreq: governor.sh drives the governor
# ledger on a simulated tree.) Run under with-hugepage-lock.sh.
#   VMRUN_ATTACK_STORM_OPS  starts per user (default 25: 50 in all)
. "$(dirname "$0")/lib.sh"
: "${VMRUN_BIN:?}"
command -v ip >/dev/null || { echo "SKIP: no ip (iproute2)"; exit 77; }
POOL=/sys/devices/system/node/node0/hugepages/hugepages-2048kB
[ -d "$POOL" ] || { echo "SKIP: no 2 MiB hugepages here"; exit 77; }
OPS=${VMRUN_ATTACK_STORM_OPS:-25}
U2=vmrun-storm2
RULE2=/etc/sudoers.d/vmrun-priv-storm
NS=vmrun-priv-storm-$$
BR=vmrunbr1
DEV=$BASE/dev-storm
NODE=$DEV/event71

storm_cleanup() {
    attack_cleanup
    for d in /run/vmrun/priv-st-*; do
        [ -d "$d" ] || continue
        "$BIN" stop "${d##*/}" --force >/dev/null 2>&1
        "$BIN" recover "${d##*/}" >/dev/null 2>&1
    done
    ip netns del $NS 2>/dev/null
    rm -f "$RULE2" /etc/vmrun/priv-st-*.json "$BASE/bin/vmrun-test"
    rm -rf "$DEV"
    if id $U2 >/dev/null 2>&1; then
        pkill -KILL -u $U2 2>/dev/null
        userdel -r $U2 >/dev/null 2>&1 || userdel $U2
    fi
}
trap storm_cleanup EXIT

# The second user, with the same rule.
id $U2 >/dev/null 2>&1 && userdel -r $U2 >/dev/null 2>&1
useradd --create-home --shell /bin/sh --comment "vmrun storm test" $U2
printf '%s ALL=(root) NOPASSWD: %s\n' $U2 "$BIN" >"$RULE2.tmp"
chmod 0440 "$RULE2.tmp"
visudo -cqf "$RULE2.tmp" && mv "$RULE2.tmp" "$RULE2"
install -m 0755 "$VMRUN_BIN" "$BASE/bin/vmrun-test"
ip netns add $NS || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n $NS link add $BR type bridge && ip -n $NS link set $BR up
install -d -m 0755 "$DEV"
mknod -m 0640 "$NODE" c 13 71
python3 - "$NODE" <<'EOP'
import os, struct, sys
e = lambda tag, perm, id=0xffffffff: struct.pack("<HHI", tag, perm, id)
os.setxattr(sys.argv[1], "system.posix_acl_access",
            struct.pack("<I", 2) + e(1, 6) + e(4, 4) + e(8, 4, 42) + e(0x10, 4) + e(0x20, 0))
EOP

state() {
    echo "pool $(cat $POOL/nr_hugepages) $(cat $POOL/free_hugepages) $(cat $POOL/surplus_hugepages)"
    echo "hugepage ledger: $(grep -v '^#' /run/vmrun/.hugepages.ledger 2>/dev/null | xargs)"
    echo "governor ledger: $(grep -v '^#' /run/vmrun/.governors.ledger 2>/dev/null | xargs)"
    echo "taps: $(ip -n $NS -o link show type tun | wc -l) ports: $(ip -n $NS -o link show master $BR | wc -l)"
    echo "node: $(stat -c '%u:%g %a' "$NODE") $(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "system.posix_acl_access").hex())' "$NODE")"
}
before=$(state)
echo "before:"
echo "$before"
watch_start

# One start of kind for user u (worker w, op i); what happened, one word.
storm_op() {
    local u=$1 w=$2 i=$3 kind=$4 name=priv-st-$2-$3 extra="" p out uid gid
    uid=$(id -u "$u")
    gid=$(id -g "$u")
    case $kind in
    disk) extra=', "disks": [ { "path": "/home/'$u'/no-such.img", "format": "raw" } ]' ;;
    device) extra=', "input": [ { "evdev": "'$NODE'" } ]' ;;
    esac
    p=$(etc_profile $name '{ "name": "'$name'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "192M", "hugepages": "2M" },
  "network": [ { "type": "bridge", "bridge": "'$BR'" } ],
  "serial": "none", "display": "none", "shutdown": { "timeout": 5 }'"$extra"' }')
    if [ "$kind" = memory ]; then
        local fault
        case $((RANDOM % 3)) in
        0) fault="VMRUN_TEST_KILL_AT=hugepages-claimed" ;;
        1) fault="VMRUN_TEST_KILL_AT=hugepages-grown" ;;
        2) fault="VMRUN_TEST_FAIL_AFTER=$((1 + RANDOM % 3))" ;;
        esac
        if (cd / && ip netns exec $NS env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SUDO_UID=$uid \
            SUDO_GID=$gid SUDO_USER=$u $fault "$BASE/bin/vmrun-test" start --detach "$p") \
            >/dev/null 2>&1; then
            # The pool had the pages free: no reservation, no fault.
            echo "memory:reused"
            (cd / && ip netns exec $NS runuser -u "$u" -- sudo -n "$BIN" stop $name --force) \
                >/dev/null 2>&1
        else
            echo "memory:${fault#VMRUN_TEST_}"
        fi
        return
    fi
    if ! (cd / && ip netns exec $NS runuser -u "$u" -- sudo -n "$BIN" start --detach "$p") \
        >/dev/null 2>&1; then
        echo "$kind:failed"
        return
    fi
    if [ "$kind" != ok ]; then
        echo "$kind:STARTED"
        (cd / && ip netns exec $NS runuser -u "$u" -- sudo -n "$BIN" stop $name --force) >/dev/null 2>&1
        return
    fi
    sleep 0.$((RANDOM % 5))
    if [ $((RANDOM % 4)) = 0 ]; then
        kill -KILL "$(cat /run/vmrun/$name/supervisor.pid 2>/dev/null)" 2>/dev/null
        echo "ok:killed"
    else
        (cd / && ip netns exec $NS runuser -u "$u" -- sudo -n "$BIN" stop $name --force) \
            >/dev/null 2>&1 && echo "ok:stopped" || echo "ok:stop-failed"
    fi
}

worker() {
    local u=$1 w=$2
    RANDOM=$((1000 + w))
    for i in $(seq "$OPS"); do
        local kinds=(ok ok ok disk device memory)
        storm_op "$u" "$w" "$i" "${kinds[RANDOM % 6]}"
    done >"$T/worker-$w"
}

t0=$(date +%s)
worker "$ATTACK_USER" 1 &
w1=$!
worker $U2 2 &
w2=$!
wait $w1 $w2
t1=$(date +%s)
echo "the storm: $((2 * OPS)) starts in $((t1 - t0)) s:" $(cat "$T"/worker-* | sort | uniq -c | xargs)
check "no start of a kind that must fail ran" sh -c "! grep -q STARTED $T/worker-1 $T/worker-2"

# Each user recovers theirs, then root what is left (those killed before
# they recorded who started them).
for u in "$ATTACK_USER" $U2; do
    (cd / && ip netns exec $NS runuser -u "$u" -- sudo -n "$BIN" recover) >"$T/recover-$u" 2>&1
done
left=$(ls -d /run/vmrun/priv-st-* 2>/dev/null | wc -l)
echo "left for root after the users' recover: $left"
ip netns exec $NS "$BIN" recover >"$T/recover-root" 2>&1
if ls -d /run/vmrun/priv-st-* /run/vmrun/.user/priv-st-* >/dev/null 2>&1; then
    fail "no VM of the storm is left: $(ls -d /run/vmrun/priv-st-* /run/vmrun/.user/priv-st-* 2>/dev/null | xargs)"
    cat "$T"/recover-*
    ps -eo pid,ppid,stat,etime,args | grep 'priv-st-' | grep -v grep | cut -c1-160
else
    pass "no VM of the storm is left"
fi
check "no hugetlbfs mount of the storm is left" sh -c "! grep -q priv-st- /proc/mounts"
if ps -eo args | grep -v grep | grep -q 'priv-st-'; then
    fail "processes of the storm are left"
    ps -eo pid,ppid,stat,etime,args | grep 'priv-st-' | grep -v grep | cut -c1-150
    ls -la /run/vmrun
fi
after=$(state)
echo "after:"
echo "$after"
check "pool, ledgers, taps and the device node are exactly as before" [ "$after" = "$before" ]
[ "$after" = "$before" ] || diff <(echo "$before") <(echo "$after")
finish
