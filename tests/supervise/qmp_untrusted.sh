#!/bin/bash
# QEMU's QMP answers are not trusted. A fake QEMU (fake_qemu.py) that
#  - reports another process's pid as a vCPU thread: vmrun refuses to pin,
#    the VM does not run, and that process's affinity and scheduling policy
#    are untouched (with cpu.realtime, which would make it SCHED_FIFO);
#  - reports one thread for two vCPUs: refused the same way;
#  - floods the connection with 400 KiB events (240 MB of them while vmrun
#    waits for a reply, then more once the VM runs): the supervisor's peak
#    memory stays bounded (< 24 MiB; unbounded, it took gigabytes) and a stop
#    still completes through ACPI in time.
# Runs as root: the fake binary and its profile must be root-controlled
# (qemu.binary is honoured only then), so they live in a root-only
# directory under /run.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
mkdir -p /run/vmrun-tests
R=$(mktemp -d /run/vmrun-tests/qmp.XXXXXX)
trap 'cleanup; rm -rf "$R"' EXIT
install -m 0755 "$(dirname "$0")/fake_qemu.py" "$R/fake_qemu"
# A short shutdown timeout: the fake answers ACPI at once anyway.
fake_profile() {
    name=$1
    extra=$2
    realtime=$3
    cat >"$R/$name.json" <<EOT
{
  "name": "$name",
  "qemu": { "binary": "$R/fake_qemu", "accel": "tcg", "extra_args": [$extra] },
  "cpu": { "model": "qemu64", "cores": 2, "pin": { "vcpus": [1, 0] }, "realtime": $realtime },
  "memory": { "size": "64M" },
  "serial": "none",
  "shutdown": { "timeout": 10 }
}
EOT
    echo "$R/$name.json"
}
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1:detect_leaks=0"

# 1. A lie about a thread id.
sleep 600 &
victim=$!
STARTED_PIDS="$STARTED_PIDS $victim"
aff_before=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/$victim/status)
pol_before=$(awk '{print $41}' /proc/$victim/stat)
profile=$(fake_profile qmplie "\"-fake-mode\", \"lie\", \"-fake-victim\", \"$victim\"" true)
start_fg lie "$profile"
wait_exit "$SUP_PID" 60
[ "$code" = 1 ] || fail "lie: exit $code, expected 1 (the VM must not run)"
grep -q "not a thread of QEMU" "$T/lie.log" || fail "lie: no refusal naming the thread"
[ "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/$victim/status)" = "$aff_before" ] ||
    fail "lie: the victim's affinity changed"
[ "$(awk '{print $41}' /proc/$victim/stat)" = "$pol_before" ] ||
    fail "lie: the victim's scheduling policy changed"
[ ! -e "$VMRUN_RUN_DIR/qmplie" ] || fail "lie: runtime directory left behind"
kill "$victim"

# 2. One thread for two vCPUs.
profile=$(fake_profile qmptwice '"-fake-mode", "twice"' false)
start_fg twice "$profile"
wait_exit "$SUP_PID" 60
[ "$code" = 1 ] || fail "twice: exit $code, expected 1 (the VM must not run)"
grep -q "reported thread [0-9]* twice" "$T/twice.log" || fail "twice: no refusal"

# 3. A flood once the VM runs.
profile=$(fake_profile qmpflood '"-fake-mode", "flood"' false)
start_fg flood "$profile"
wait_for 60 is_running qmpflood || fail "flood: the VM did not reach running"
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$SUP_PID/status"; }
base=$(hwm)
sleep 5
after=$(hwm)
echo "supervisor peak RSS: ${base} kB once running, ${after} kB after 5 s more of the flood"
[ "$after" -lt 24576 ] || fail "flood: the supervisor's peak RSS reached $after kB"
t0=$(date +%s%N)
kill -TERM "$SUP_PID"
wait_exit "$SUP_PID" 30
t1=$(date +%s%N)
[ "$code" = 0 ] || fail "flood: supervisor exit code $code, expected 0"
grep -q "powered off on the ACPI request" "$T/flood.log" || fail "flood: not stopped through ACPI"
echo "stop during the flood took $(((t1 - t0) / 1000000)) ms"
echo "PASS: QMP answers are checked and bounded"
