#!/bin/bash
# Item: the cpufreq governor ends as the host had it, whatever the order
# VMs stop in. This host has no cpufreq, so the test build's VMRUN_SYSFS_ROOT
# points vmrun-test at a simulated tree of four CPUs (schedutil), run as
# root with the environment sudo gives it, for the user. Two VMs on all the
# CPUs: A wants performance, B powersave.
#  - stop A, then B: schedutil (before: A's stop put back A's "previous",
#    schedutil, while B ran; B's then put back B's "previous", performance);
#  - while B runs after A stopped, B's powersave stays;
#  - A and B again, B's supervisor killed, A stopped, B recovered: schedutil;
#  - the ledger keeps nothing of the tree afterwards.
. "$(dirname "$0")/lib.sh"
: "${VMRUN_BIN:?}"
TREE=/run/vmrun-priv-gov-$$
CPUS=4
install -d -m 0755 "$TREE"
for c in $(seq 0 $((CPUS - 1))); do
    d=$TREE/devices/system/cpu/cpu$c/cpufreq
    mkdir -p "$d"
    echo "performance powersave schedutil" >"$d/scaling_available_governors"
    echo schedutil >"$d/scaling_governor"
done
echo "0-$((CPUS - 1))" >"$TREE/devices/system/cpu/online"
install -m 0755 "$VMRUN_BIN" "$BASE/bin/vmrun-test"
trap 'attack_cleanup; rm -rf "$TREE" "$BASE/bin/vmrun-test"' EXIT
govs() {
    for f in "$TREE"/devices/system/cpu/cpu*/cpufreq/scaling_governor; do
        head -n1 "$f"
        echo
    done | grep . | sort | uniq -c | xargs
}
gprofile() {
    etc_profile "$1" '{ "name": "'$1'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1, "governor": "'$2'", "governor_scope": "all" },
  "memory": { "size": "64M" }, "serial": "none", "display": "none",
  "shutdown": { "timeout": 5 } }'
}
A=$(gprofile priv-gov-a performance)
B=$(gprofile priv-gov-b powersave)
v() {
    (cd "$UHOME" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SUDO_UID="$A_UID" \
        SUDO_GID="$A_GID" SUDO_USER="$ATTACK_USER" HOME="$UHOME" VMRUN_SYSFS_ROOT="$TREE" \
        "$BASE/bin/vmrun-test" "$@")
}
watch_start
before=$(govs)

check "A (performance) starts" v start --detach "$A"
check "B (powersave) starts" v start --detach "$B"
echo "with A and B: $(govs)"
check "A stops" v stop priv-gov-a --force
check "while B runs, its powersave stays ($(govs))" [ "$(govs)" = "$CPUS powersave" ]
check "B stops" v stop priv-gov-b --force
check "A then B stopped: the host's governors are back ($(govs), was $before)" [ "$(govs)" = "$before" ]

check "A starts again" v start --detach "$A"
check "B starts again" v start --detach "$B"
sup=$(cat /run/vmrun/priv-gov-b/supervisor.pid)
q=$(qemu_pid_of priv-gov-b)
kill -KILL "$sup"
for _ in $(seq 50); do kill -0 "$q" 2>/dev/null || break; sleep 0.1; done
check "A stops" v stop priv-gov-a --force
check "B's crash left its powersave ($(govs))" [ "$(govs)" = "$CPUS powersave" ]
check "B is recovered" v recover priv-gov-b
check "after the crash and recover: the host's governors are back ($(govs))" [ "$(govs)" = "$before" ]
check "the ledger keeps nothing of this tree" sh -c "! grep -qs '$TREE' /run/vmrun/.governors.ledger"
finish
