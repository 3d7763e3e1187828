#!/usr/bin/env python3
"""cpu.isolate on this machine's own kernel, where it is safe: the real
unbound and writeback workqueue CPU masks, and real cpuset cgroups, kept
off the VM's CPU while it runs and restored afterwards, and after the
supervisor is killed with SIGKILL and `vmrun recover` runs. (IRQs, a host
whose slices are systemd's, cgroup v2: the lab, tests/lab/isolate.sh.)

This host has cgroup v1 and no systemd slices, and its tasks must not be
squeezed onto one CPU while other work runs here. So the release vmrun runs
in a mount and a cgroup namespace of the test's own: a cpuset cgroup made
for the test is mounted over /sys/fs/cgroup/cpuset, holding init.scope,
system.slice and user.slice, with a `sleep` as the host's task in
system.slice, and vmrun started from user.slice (so it must move itself
out, or QEMU could not use the VM's CPU). /proc/irq is a plain tree of the
test's in there. The cpuset files and the workqueue masks are the kernel's
own: what vmrun writes, the kernel enforces (the sleep's allowed CPUs).

The workqueue masks are machine-wide: the test holds
/run/lock/vmrun-isolate.lock while it runs, and puts them back itself if
anything goes wrong."""
import fcntl
import os
import signal
import subprocess

import e2elib as e

CPUSET = "/sys/fs/cgroup/cpuset"
WQ = ["/sys/devices/virtual/workqueue/cpumask", "/sys/devices/virtual/workqueue/writeback/cpumask"]
SLICES = ["init.scope", "system.slice", "user.slice"]
IRQS_BEFORE = {"default_smp_affinity": "00000003", "24/smp_affinity_list": "0-1",
               "25/smp_affinity_list": "1", "26/smp_affinity_list": "0"}
IRQS_DURING = {"default_smp_affinity": "00000001", "24/smp_affinity_list": "0",
               "25/smp_affinity_list": "0", "26/smp_affinity_list": "0"}


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def cpus(path):
    return e.read_file(path, "?").strip()


def body(t):
    if os.cpu_count() != 2:
        t.skip("written for this 2-CPU machine (found %d CPUs)" % os.cpu_count())
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers") or \
            not os.path.exists(CPUSET + "/cpuset.cpus"):
        t.skip("needs the cgroup v1 cpuset hierarchy at %s (the lab covers v2)" % CPUSET)
    if not all(os.path.exists(w) for w in WQ):
        t.skip("no workqueue cpumask files")

    lock = open("/run/lock/vmrun-isolate.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    t.at_exit(lock.close)
    wq_before = {w: cpus(w) for w in WQ}

    def put_wq_back():
        for w, v in wq_before.items():
            if cpus(w) != v:
                t.log("putting %s back to %s" % (w, v))
                write(w, v)
    t.at_exit(put_wq_back)
    t.equal(list(wq_before.values()), ["3", "3"], "both workqueue masks allow both CPUs to begin with")

    # The test's cgroup tree.
    base = os.path.join(CPUSET, "vmrun-e2e-iso-%d" % os.getpid())
    os.mkdir(base)
    t.at_exit(lambda: remove_tree(base))
    for d in [base] + [os.path.join(base, s) for s in SLICES]:
        if d != base:
            os.mkdir(d)
        write(d + "/cpuset.cpus", "0-1")
        write(d + "/cpuset.mems", "0")
    host_task = subprocess.Popen(["sleep", "3600"])
    t.at_exit(lambda: (host_task.kill(), host_task.wait()))
    write(base + "/system.slice/tasks", str(host_task.pid))

    irq = t.path("irq")
    for k, v in IRQS_BEFORE.items():
        os.makedirs(os.path.dirname(os.path.join(irq, k)), exist_ok=True)
        write(os.path.join(irq, k), v + "\n")

    # The namespaces: a holder process inside them, entered by every vmrun.
    holder = subprocess.Popen(
        ["unshare", "--mount", "--cgroup", "--propagation", "private", "sh", "-c",
         "mount --bind %s %s && mount --bind %s /proc/irq && echo ready && exec sleep 3600"
         % (base, CPUSET, irq)],
        stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: write(base + "/cgroup.procs", str(os.getpid())))
    t.at_exit(lambda: (holder.kill(), holder.wait()))
    if holder.stdout.readline().strip() != "ready":
        t.fatal("could not set up the namespaces")
    # -r -w: keep the holder's root and working directory. Entering a mount
    # namespace otherwise moves to that namespace's own root, which is not
    # this test's when the suite runs in a chroot (a stack root,
    # scripts/stack-root.sh).
    wrap = ["nsenter", "-t", str(holder.pid), "-m", "-C", "-r", "-w", "--", "sh", "-c",
            'echo $$ >%s/user.slice/cgroup.procs && exec "$0" "$@"' % CPUSET]

    prof = e.firmware_profile(cpu={"model": "qemu64", "cores": 1,
                                   "pin": {"vcpus": [1], "emulator": [0]}, "isolate": True})

    def isolated(what, vm, st):
        for s in SLICES:
            t.equal(cpus(os.path.join(base, s, "cpuset.cpus")), "0",
                    "%s: %s's cpuset is the host's CPU 0" % (what, s))
        t.equal(e.cpus_allowed(host_task.pid, host_task.pid), "0",
                "%s: the kernel keeps the host task in system.slice on CPU 0" % what)
        for w in WQ:
            t.equal(cpus(w), "1", "%s: %s keeps unbound work on CPU 0" % (what, w))
        got = {k: cpus(os.path.join(irq, k)) for k in IRQS_BEFORE}
        t.equal(got, IRQS_DURING, "%s: IRQ affinities avoid CPU 1" % what)
        for p in (st["supervisor_pid"], st["qemu_pid"]):
            cg = [l for l in e.read_file("/proc/%d/cgroup" % p, "").splitlines() if ":cpuset:" in l]
            t.equal(cg, ["%s:cpuset:/%s/vmrun-%s" % (cg[0].split(":")[0] if cg else "?",
                                                      os.path.basename(base), vm.name)],
                    "%s: %s moved out of user.slice into its own cgroup" %
                    (what, "the supervisor" if p == st["supervisor_pid"] else "QEMU"))
        vcpu = [v for v in st.get("vcpus", [])]
        t.equal([v.get("cpus_allowed") for v in vcpu], ["1"], "%s: the vCPU runs on CPU 1" % what)

    def restored(what, vm):
        for s in SLICES:
            t.equal(cpus(os.path.join(base, s, "cpuset.cpus")), "0-1",
                    "%s: %s has both CPUs back" % (what, s))
        t.equal(e.cpus_allowed(host_task.pid, host_task.pid), "0-1",
                "%s: the host task may run on both CPUs again" % what)
        t.equal({w: cpus(w) for w in WQ}, wq_before, "%s: the workqueue masks are back" % what)
        got = {k: cpus(os.path.join(irq, k)) for k in IRQS_BEFORE}
        t.equal(got, IRQS_BEFORE, "%s: IRQ affinities are back" % what)
        t.check(not os.path.exists(os.path.join(base, "vmrun-" + vm.name)),
                "%s: vmrun's own cgroup is gone" % what)

    # A second isolated VM while one runs: refused, naming it; the first
    # VM's isolation stays as it is.
    prof2 = e.firmware_profile(cpu={"model": "qemu64", "cores": 1,
                                    "pin": {"vcpus": [0], "emulator": [1]}, "isolate": True})
    second = t.vm("iso2", prof2, qmp=False, wrap=wrap)

    def second_refused(what, needle):
        code, out, err = second.vmrun("start", "--detach", second.file)
        t.check(code == 1 and needle in out + err,
                "%s: a second isolated VM is refused (exit %d)" % (what, code), out + err)
        t.check(second.status().get("state") == "absent", "%s: the second VM does not run" % what)

    vm = t.vm("iso", prof, qmp=False, wrap=wrap)
    st = vm.start()
    isolated("running", vm, st)
    second_refused("while '%s' runs" % vm.name, "'%s' keeps host work off its CPUs" % vm.name)
    isolated("after the refusal", vm, st)
    code, out, err = vm.stop("--force")
    t.check(code == 0, "vmrun stop", out + err)
    restored("after the stop", vm)

    vm = t.vm("isocrash", prof, qmp=False, wrap=wrap)
    st = vm.start()
    isolated("before the crash", vm, st)
    os.kill(st["supervisor_pid"], signal.SIGKILL)
    t.check(e.wait_until(lambda: not e.alive(st["qemu_pid"]), 30), "QEMU dies with its supervisor")
    t.equal(cpus(os.path.join(base, "system.slice", "cpuset.cpus")), "0",
            "after the crash the host is still kept off CPU 1 (the journal has it)")
    second_refused("before '%s' is recovered" % vm.name, "run 'vmrun recover %s' first" % vm.name)
    code, out, err = vm.vmrun("recover", vm.name)
    t.check(code == 0, "vmrun recover", out + err)
    restored("after recover", vm)


def remove_tree(base):
    if not os.path.isdir(base):
        return
    for d in sorted(os.listdir(base)):
        p = os.path.join(base, d)
        if os.path.isdir(p):
            for pid in e.read_file(p + "/cgroup.procs", "").split():
                write(os.path.dirname(base) + "/cgroup.procs", pid)
            os.rmdir(p)
    for pid in e.read_file(base + "/cgroup.procs", "").split():
        write(os.path.dirname(base) + "/cgroup.procs", pid)
    os.rmdir(base)


e.Test("isolate_host").run(body)
