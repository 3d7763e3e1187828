#!/bin/bash
# cpu.isolate on L1's real kernel (run by run-lab.sh --writable-root inside
# L1): a VM pinned to CPU 1 of L1's two, with isolate on. While it runs:
#   - host tasks (a `sleep` in each of init.scope, system.slice and
#     user.slice, made here as systemd would) may run on CPU 0 only, as the
#     kernel reports it (Cpus_allowed_list), and the slices' effective CPUs
#     are 0; vmrun, started from user.slice, moved itself (and so QEMU) into
#     a cgroup of its own, and QEMU's vCPU runs on CPU 1;
#   - the unbound and writeback workqueues' masks leave CPU 1 out;
#   - every IRQ that accepts a new affinity avoids CPU 1 (smp_affinity_list
#     and the effective affinity the interrupt controller uses), and IRQs
#     set up later default to CPU 0;
# and all of it (cgroup files, controllers, workqueue masks, every IRQ's
# affinity) is as before after `vmrun stop`, and after the supervisor is
# killed with SIGKILL and `vmrun recover` runs. First with cgroup v2 (L1's
# /sys/fs/cgroup), then with the cpuset controller on a cgroup v1
# hierarchy, in a mount namespace of its own (the layout of hosts that boot
# with v1).
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labiso
out=$VMRUN_LAB_OUT
SLICES="init.scope system.slice user.slice"
WQ="/sys/devices/virtual/workqueue/cpumask /sys/devices/virtual/workqueue/writeback/cpumask"

check "L1 has two CPUs" [ "$(nproc)" = 2 ]
[ "$(nproc)" = 2 ] || finish

profile=$(lab_profile $NAME "{
  \"name\": \"$NAME\",
  \"qemu\": { \"accel\": \"tcg\" },
  \"cpu\": { \"model\": \"qemu64\", \"cores\": 1,
           \"pin\": { \"vcpus\": [1], \"emulator\": [0] }, \"isolate\": true },
  \"memory\": { \"size\": \"64M\" },
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}") || profile=
check "profile written to $profile" [ -n "$profile" ]
[ -n "$profile" ] || finish

# Scenario steps run many small checks, and every program started in L1
# (TCG, binaries read over 9p) costs a good fraction of a second: the checks
# use bash's builtins and one python3 per look at the IRQs.

# val FILE: its first line (no fork).
val() {
    local v=""
    read -r v <"$1" 2>/dev/null
    printf '%s' "$v"
}

# allowed PID: the Cpus_allowed_list of a process (no fork).
allowed() {
    local k v
    while IFS=$':\t ' read -r k v; do
        [ "$k" = Cpus_allowed_list ] && printf '%s' "${v//[$'\t ']/}" && return 0
    done <"/proc/$1/status"
    return 1
}

# Everything cpu.isolate may change, one "path value" a line: cgroup files
# ($1 is the hierarchy), the controllers, vmrun's cgroups, workqueue masks,
# every IRQ's affinity.
host_snapshot() {
    local cg=$1 f s
    for s in $SLICES; do
        echo "$cg/$s/cpuset.cpus $(val "$cg/$s/cpuset.cpus")"
    done
    [ -f "$cg/cgroup.subtree_control" ] &&
        echo "$cg/cgroup.subtree_control $(val "$cg/cgroup.subtree_control")"
    for f in "$cg"/vmrun-*; do
        [ -e "$f" ] && echo "$f"
    done
    for f in $WQ /proc/irq/default_smp_affinity /proc/irq/*/smp_affinity_list; do
        echo "$f $(val "$f")"
    done
}

# The slices and a host task in each. $1: the hierarchy; $2: v1 or v2.
TASKS=""
make_slices() {
    local cg=$1 s pid
    for s in $SLICES; do
        mkdir -p "$cg/$s"
        if [ "$2" = v1 ]; then
            val "$cg/cpuset.cpus" >"$cg/$s/cpuset.cpus"
            val "$cg/cpuset.mems" >"$cg/$s/cpuset.mems"
        fi
        sleep 3600 &
        pid=$!
        echo "$pid" >"$cg/$s/cgroup.procs"
        TASKS="$TASKS $pid"
    done
}

remove_slices() {
    local cg=$1 s
    for pid in $TASKS; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    TASKS=""
    for s in $SLICES; do rmdir "$cg/$s" 2>/dev/null; done
}

# start_from_user_slice CG OUTFILE: vmrun start --detach, run from user.slice.
start_from_user_slice() {
    local cg=$1
    sh -c "echo \$\$ >$cg/user.slice/cgroup.procs && exec \"\$0\" start --detach \"\$1\"" \
        "$VMRUN" "$profile" >"$2" 2>&1
}

# The IRQ checks, one python3 each (tests/lab/README.md: programs cost in L1):
#   probe OUT         which IRQs the kernel lets anyone move, found by this
#                     test itself (each IRQ's affinity written back as it is:
#                     the kernel refuses the write, EIO, for those it does
#                     not let move), not taken from vmrun; OUT gets "refuse
#                     N..." and "movable-on-cpu1 N..." (the movable IRQs CPU
#                     1 may serve now: those vmrun must move)
#   check PROBE LOG   every IRQ the kernel lets move avoids CPU 1, its
#                     affinity and the effective one the interrupt
#                     controller uses; there was at least one to move; and
#                     vmrun's log calls no movable IRQ one that refused
IRQ_PY=$(
    cat <<'PY'
import glob, os, re, sys

def cpus(text):
    out = set()
    for part in filter(None, text.strip().split(",")):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out

def irqs():
    return sorted(glob.glob("/proc/irq/[0-9]*"), key=lambda d: int(os.path.basename(d)))

def probe(out_path):
    refuse, on1 = [], []
    for d in irqs():
        f = os.path.join(d, "smp_affinity_list")
        try:
            v = open(f).read().strip()
        except OSError:
            continue
        try:
            with open(f, "w") as w:
                w.write(v)
        except OSError:
            refuse.append(os.path.basename(d))
            continue
        if 1 in cpus(v):
            on1.append(os.path.basename(d))
    with open(out_path, "w") as out:
        out.write("refuse %s\nmovable-on-cpu1 %s\n" % (" ".join(refuse), " ".join(on1)))
    return 0

def check(probe_path, log_path):
    probe = dict(l.split(" ", 1) for l in open(probe_path).read().splitlines())
    refuse = {int(n) for n in probe.get("refuse", "").split()}
    on1 = {int(n) for n in probe.get("movable-on-cpu1", "").split()}
    claimed = set()
    for m in re.finditer(r"IRQ ([0-9,-]+) refused a new CPU affinity", open(log_path).read()):
        claimed |= cpus(m.group(1))
    bad = []
    if not on1:
        bad.append("no movable IRQ could use CPU 1 before the VM: nothing to show")
    if claimed - refuse:
        bad.append("vmrun says IRQ %s refused, but the kernel lets them move" %
                   ",".join(map(str, sorted(claimed - refuse))))
    for d in irqs():
        irq = int(os.path.basename(d))
        if irq in refuse:
            continue
        for f in ("smp_affinity_list", "effective_affinity_list"):
            try:
                v = open(os.path.join(d, f)).read()
            except OSError:
                continue
            if 1 in cpus(v):
                bad.append("%d %s=%s" % (irq, f, v.strip()))
    print("# IRQs the kernel refuses to move: %s; movable ones CPU 1 served before: %s" %
          (sorted(refuse), sorted(on1)))
    if bad:
        print("# " + "; ".join(bad))
    return 1 if bad else 0

sys.exit(probe(*sys.argv[2:]) if sys.argv[1] == "probe" else check(*sys.argv[2:]))
PY
)
probe_irqs() { python3 -c "$IRQ_PY" probe "$1"; }
irqs_avoid_cpu1() { python3 -c "$IRQ_PY" check "$1" "$2"; }

# isolated CG WHAT LOG PROBE
isolated() {
    local cg=$1 what=$2 log=$3 probe=$4 s pid sup qemu mine eff f
    for s in $SLICES; do
        eff=$(val "$cg/$s/cpuset.cpus.effective")
        [ -n "$eff" ] || eff=$(val "$cg/$s/cpuset.effective_cpus")
        check "$what: $s may use CPU 0 only ($eff)" [ "$eff" = 0 ]
    done
    for pid in $TASKS; do
        check "$what: host task $pid runs on CPU 0 ($(allowed "$pid"))" [ "$(allowed "$pid")" = 0 ]
    done
    for f in $WQ; do
        check "$what: $f leaves CPU 1 out ($(val "$f"))" [ "$((0x$(val "$f") & 2))" = 0 ]
    done
    check "$what: new IRQs default to CPU 0 ($(val /proc/irq/default_smp_affinity))" \
        [ "$((0x$(val /proc/irq/default_smp_affinity)))" = 1 ]
    check "$what: every IRQ that can move avoids CPU 1" irqs_avoid_cpu1 "$probe" "$log"
    sup=$(vm_pid $NAME supervisor)
    qemu=$(vm_pid $NAME qemu)
    for pid in $sup $qemu; do
        mine=
        while IFS= read -r line; do
            case $line in 0::* | *:cpuset:*) mine=${line##*:} && break ;; esac
        done <"/proc/$pid/cgroup"
        check "$what: pid $pid is in vmrun's own cgroup ($mine)" [ "$mine" = "/vmrun-$NAME" ]
    done
    vcpu=$("$VMRUN" status $NAME --json | jq -r '.vcpus[0].cpus_allowed')
    check "$what: QEMU's vCPU runs on CPU 1 ($vcpu)" [ "$vcpu" = 1 ]
}

# restored CG WHAT BEFORE-FILE
restored() {
    local cg=$1 what=$2 before=$3 pid
    host_snapshot "$cg" >"$out/after.$what.txt"
    if diff -u "$before" "$out/after.$what.txt" >"$out/diff.$what.txt"; then
        pass "$what: cgroups, workqueue masks and every IRQ affinity are as before"
    else
        fail "$what: the host differs from before: $(tr '\n' ' ' <"$out/diff.$what.txt")"
    fi
    for pid in $TASKS; do
        check "$what: host task $pid may use both CPUs again" [ "$(allowed "$pid")" = 0-1 ]
    done
}

# run_cycle CG LABEL: start + look + stop, then start + SIGKILL + recover.
run_cycle() {
    local cg=$1 v=$2 sup qemu rc
    host_snapshot "$cg" >"$out/before.$v.txt"
    probe_irqs "$out/irqs.$v.txt"
    if start_from_user_slice "$cg" "$out/start.$v.txt"; then
        pass "$v: vmrun start --detach, from user.slice"
    else
        fail "$v: vmrun start --detach: $(cat "$out/start.$v.txt")"
        vm_keep_log $NAME
        return
    fi
    cp "$(vm_run_dir $NAME)/log" "$out/log.$v.txt" 2>/dev/null
    isolated "$cg" "$v running" "$out/log.$v.txt" "$out/irqs.$v.txt"
    check "$v: vmrun stop" "$VMRUN" stop $NAME --force
    restored "$cg" "$v-stopped" "$out/before.$v.txt"

    if ! start_from_user_slice "$cg" "$out/start2.$v.txt"; then
        fail "$v: second start: $(cat "$out/start2.$v.txt")"
        return
    fi
    sup=$(vm_pid $NAME supervisor)
    qemu=$(vm_pid $NAME qemu)
    kill -KILL "$sup"
    check "$v: QEMU dies with its supervisor" wait_for 30 eval "! proc_alive $qemu 2>/dev/null"
    check "$v: after the kill the host is still isolated (system.slice: $(val "$cg/system.slice/cpuset.cpus"))" \
        [ "$(val "$cg/system.slice/cpuset.cpus")" = 0 ]
    "$VMRUN" recover $NAME >"$out/recover.$v.txt" 2>&1
    rc=$?
    check "$v: vmrun recover exits 0 ($rc: $(tr '\n' ' ' <"$out/recover.$v.txt"))" [ $rc -eq 0 ]
    restored "$cg" "$v-recovered" "$out/before.$v.txt"
    check "$v: the runtime directory is gone" test ! -e "$(vm_run_dir $NAME)"
}

if [ "${1:-}" = v1 ]; then
    # Inside `unshare -m`: the cpuset controller on a v1 hierarchy.
    umount /sys/fs/cgroup || { fail "v1: cannot unmount cgroup2"; finish; }
    mount -t tmpfs cgroups /sys/fs/cgroup
    mkdir /sys/fs/cgroup/cpuset
    n=0
    until mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset 2>"$out/v1-mount.txt"; do
        # The v2 hierarchy may still be letting go of the controller.
        n=$((n + 1))
        [ $n -lt 50 ] || break
        sleep 0.2
    done
    if ! check "v1: the cpuset controller mounts on a v1 hierarchy" \
        mountpoint -q /sys/fs/cgroup/cpuset; then
        note "$(cat "$out/v1-mount.txt")"
        finish
    fi
    make_slices /sys/fs/cgroup/cpuset v1
    run_cycle /sys/fs/cgroup/cpuset v1
    remove_slices /sys/fs/cgroup/cpuset
    umount /sys/fs/cgroup/cpuset
    finish
fi

# --- cgroup v2 (L1 mounts cgroup2 on /sys/fs/cgroup) ---
CG=/sys/fs/cgroup
check "cgroup v2 on $CG" test -f $CG/cgroup.controllers
check "the cpuset controller is off at first ($(val $CG/cgroup.subtree_control))" \
    eval "[[ \" \$(val $CG/cgroup.subtree_control) \" != *\" cpuset \"* ]]"
make_slices $CG v2
run_cycle $CG v2
check "v2: vmrun turned the cpuset controller off again" \
    eval "[[ \" \$(val $CG/cgroup.subtree_control) \" != *\" cpuset \"* ]]"
remove_slices $CG

# --- cgroup v1: the rest of the checks in a mount namespace of their own ---
unshare -m --propagation private bash "$0" v1 >"$out/v1.txt" 2>&1
rc=$?
cat "$out/v1.txt"
v1_failed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out/v1.txt")
v1_passed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out/v1.txt")
LAB_PASSED=$((LAB_PASSED + ${v1_passed:-0}))
LAB_FAILED=$((LAB_FAILED + ${v1_failed:-1}))
check "the v1 part ran to its end (exit $rc)" [ -n "$v1_failed" ]
finish
