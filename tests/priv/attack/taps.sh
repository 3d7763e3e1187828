#!/bin/bash
# Item: no tap handed to QEMU's user outlives the VM, and a "tap" network
# never takes someone else's tap. In a network namespace of the test's own
# (a bridge, a persistent tap of nobody's and one of the user's):
#  - a VM with a "bridge" network: the user takes QEMU's tap descriptor
#    (pidfd_getfd), makes the tap persistent and theirs (TUNSETPERSIST,
#    TUNSETOWNER) and keeps a descriptor of it open; after `vmrun stop`,
#    and after SIGKILL of the supervisor and `vmrun recover`, the tap is
#    gone: no port left on the bridge, no tap left in the namespace;
#  - a "tap" network naming nobody's tap: refused (root's TUNSETIFF skips
#    the owner check the user's own would fail); the user's own tap: used.
. "$(dirname "$0")/lib.sh"
command -v ip >/dev/null || { echo "SKIP: no ip (iproute2)"; exit 77; }
NAME=priv-tap
GRAB=$BASE/bin/pidfd_grab
NS=vmrun-priv-net-$$
BR=vmrunbr0
ip netns add $NS || { echo "SKIP: cannot create a network namespace"; exit 77; }
cleanup_ns() { ip netns del $NS 2>/dev/null; }
trap 'attack_cleanup; cleanup_ns' EXIT
ip -n $NS link add $BR type bridge && ip -n $NS link set $BR up
ip -n $NS tuntap add dev ptapother mode tap user nobody
ip -n $NS tuntap add dev ptapmine mode tap user $ATTACK_USER
in_ns() { ip netns exec $NS "$@"; }
# The user, in that namespace, through their sudo rule.
ns_sudo() { (cd "$UHOME" && ip netns exec $NS runuser -u "$ATTACK_USER" -- sudo -n "$BIN" "$@"); }
ns_stop() { in_ns "$BIN" stop "$1" --force >/dev/null 2>&1; }
taps() { ip -n $NS -o link show type tun | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | xargs; }
ports() { ip -n $NS -o link show master $BR | awk -F': ' '{print $2}' | xargs; }
taps_before=$(taps)
echo "taps before: $taps_before"
watch_start

bridge_vm() {
    root_profile $NAME ",
  \"network\": [ { \"type\": \"bridge\", \"bridge\": \"$BR\" } ]"
}
# The user's grab: persistent and theirs, and a descriptor kept open.
grab_tap() {
    local q=$1
    as_user "$GRAB" "$q" net/tun tap-keep "$A_UID" >"$T/keep" 2>&1
    echo "the user's TUNSETPERSIST and TUNSETOWNER: exit $? $(cat "$T/keep")"
    as_user_bg "$GRAB" "$q" net/tun hold 20 >/dev/null 2>&1 &
    HOLDER=$!
    sleep 0.3
}

p=$(bridge_vm)
if ns_sudo start --detach "$p" >"$T/s1" 2>&1; then
    started $NAME
    tap=$(ports)
    pass "a VM on the bridge runs (tap $tap)"
    grab_tap "$(qemu_pid_of $NAME)"
    check "the user stops their VM" ns_sudo stop $NAME --force
    check "no port is left on $BR ($(ports))" [ -z "$(ports)" ]
    check "no tap of the VM is left ($(taps), before: $taps_before)" [ "$(taps)" = "$taps_before" ]
    kill $HOLDER 2>/dev/null
    wait $HOLDER 2>/dev/null
else
    fail "the bridge VM: $(cat "$T/s1")"
fi

if ns_sudo start --detach "$p" >"$T/s2" 2>&1; then
    started $NAME
    grab_tap "$(qemu_pid_of $NAME)"
    sup=$(cat /run/vmrun/$NAME/supervisor.pid)
    q=$(qemu_pid_of $NAME)
    kill -KILL "$sup"
    for _ in $(seq 50); do kill -0 "$q" 2>/dev/null || break; sleep 0.1; done
    check "after SIGKILL of the supervisor, the tap is still there for recover" [ -n "$(ports)" ]
    check "the user recovers their VM" ns_sudo recover $NAME
    check "after recover no port is left on $BR ($(ports))" [ -z "$(ports)" ]
    check "after recover no tap of the VM is left ($(taps))" [ "$(taps)" = "$taps_before" ]
    kill $HOLDER 2>/dev/null
    wait $HOLDER 2>/dev/null
else
    fail "the bridge VM, again: $(cat "$T/s2")"
fi

tap_vm() {
    root_profile $NAME ",
  \"network\": [ { \"type\": \"tap\", \"tap\": \"$1\" } ]"
}
p=$(tap_vm ptapother)
if ns_sudo start --detach "$p" >"$T/s3" 2>&1; then
    started $NAME
    fail "a tap network on nobody's tap started"
    ns_stop $NAME
else
    pass "a tap network on nobody's tap is refused: $(tail -n1 "$T/s3")"
fi
check "... saying whose tap it is" grep -q "belongs to uid 65534" "$T/s3"
p=$(tap_vm ptapmine)
if ns_sudo start --detach "$p" >"$T/s4" 2>&1; then
    started $NAME
    pass "a tap network on the user's own tap runs"
    check "the user stops their VM" ns_sudo stop $NAME --force
else
    fail "a tap network on the user's own tap: $(cat "$T/s4")"
fi
check "the user's own tap and nobody's are still there" \
    sh -c "[ \"\$(ip -n $NS -o link show ptapmine | wc -l)\" = 1 ] && [ \"\$(ip -n $NS -o link show ptapother | wc -l)\" = 1 ]"
finish
