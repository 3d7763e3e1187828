#!/bin/bash
# Item: QEMU's answers are not trusted, with QEMU running as the user who
# asked through sudo. A fake QEMU (tests/supervise/fake_qemu.py, installed
# root-owned by the fixture and named by a root-controlled profile) reports
# a process of root's as its vCPU thread: vmrun refuses to pin and the VM
# does not run; that process keeps its CPU affinity and scheduling policy
# (cpu.realtime would have made it SCHED_FIFO). Then it floods QMP: the
# root supervisor stays within a few MiB and still stops it through ACPI.
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || { echo "SKIP: needs 2 CPUs"; exit 77; }
watch_start
sleep 600 &
victim=$!
aff=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/$victim/status)
pol=$(awk '{print $41}' /proc/$victim/stat)
fake() {
    root_profile "$1" "" \
        "\"qemu\": { \"binary\": \"$BASE/bin/fake_qemu\", \"accel\": \"tcg\", \"extra_args\": [$2] }," \
        "\"cpu\": { \"model\": \"qemu64\", \"cores\": 2, \"pin\": { \"vcpus\": [1, 0] }, \"realtime\": $3 },"
}
p=$(fake priv-qmplie "\"-fake-mode\", \"lie\", \"-fake-victim\", \"$victim\"" true)
if vmrun_sudo start --detach "$p" >"$T/lie" 2>&1; then
    started priv-qmplie
    fail "a VM whose QEMU lied about its threads runs"
else
    pass "a lying QEMU's VM does not run: $(tail -n1 "$T/lie")"
fi
check "the refusal names the thread" grep -q "not a thread of QEMU" "$T/lie"
check "root's process kept its affinity ($aff)" \
    [ "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/$victim/status)" = "$aff" ]
check "root's process kept its scheduling policy ($pol)" [ "$(awk '{print $41}' /proc/$victim/stat)" = "$pol" ]
kill $victim

p=$(fake priv-qmpflood '"-fake-mode", "flood"' false)
if vmrun_sudo start --detach "$p" >"$T/flood" 2>&1; then
    started priv-qmpflood
    sup=$(cat /run/vmrun/priv-qmpflood/supervisor.pid)
    sleep 4
    hwm=$(awk '/^VmHWM/ {print $2}' /proc/$sup/status)
    echo "supervisor peak RSS under the flood: $hwm kB"
    if [ -n "${VMRUN_ATTACK_SANITIZED:-}" ]; then
        echo "note: an ASan build (its quarantine, which sudo's reset environment cannot shrink, holds the memory): no bound checked"
    else
        check "the root supervisor's peak RSS stays under 24 MiB ($hwm kB)" [ "$hwm" -lt 24576 ]
    fi
    check "the user stops it (ACPI) in time" timeout 60 bash -c \
        "cd $UHOME && runuser -u $ATTACK_USER -- sudo -n $BIN stop priv-qmpflood --timeout 10"
else
    fail "the flooding fake QEMU did not start: $(cat "$T/flood")"
fi
finish
