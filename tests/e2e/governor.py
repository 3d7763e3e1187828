#!/usr/bin/env python3
"""cpu.governor and cpu.governor_scope on a simulated cpufreq tree (this
machine has no cpufreq): the test build of vmrun (VMRUN_SYSFS_ROOT) runs a
firmware-only VM pinned to CPU 1 of a four-CPU tree whose CPUs start with
different governors, and CPU 3 has no cpufreq at all.

  scope "vm":  only CPU 1 (the pinned vCPU's) gets the governor while the VM
               runs; each CPU has its own previous governor back afterwards
  scope "all": every CPU with cpufreq gets it; CPU 3 is left alone and
               vmrun says so
  a crash:     the supervisor killed with SIGKILL (QEMU dies with it) leaves
               the governors set; `vmrun recover NAME` puts them back and
               removes the runtime directory

Then the layout of the kernel's cpufreq, with the kernel's rules for
writes (the sysfs simulator, tests/pci/sysfs_sim.c, preloaded): each
cpuN/cpufreq is a link to a policy directory, CPUs 0 and 1 share policy0,
CPU 2 has policy2, and scaling_governor takes only a name its policy
offers (EINVAL otherwise). Scope "vm" on CPU 1 sets policy0, so CPU 0 gets
the governor too, as on such a host, and vmrun says so; both are back
afterwards, and policy2 is never touched. A governor the policies do not
offer is refused before anything changes.
"""
import os
import signal

import e2elib as e

BEFORE = {0: "schedutil", 1: "powersave", 2: "schedutil"}


def make_tree(t):
    root = t.path("sys")
    cpu = os.path.join(root, "devices/system/cpu")
    os.makedirs(cpu)
    with open(os.path.join(cpu, "online"), "w") as f:
        f.write("0-3\n")
    for c in range(4):
        d = os.path.join(cpu, "cpu%d" % c)
        os.makedirs(d)
        if c in BEFORE:
            os.makedirs(os.path.join(d, "cpufreq"))
            with open(os.path.join(d, "cpufreq/scaling_available_governors"), "w") as f:
                f.write("performance powersave schedutil\n")
    return root


def set_before(root):
    for c, g in BEFORE.items():
        with open(os.path.join(root, "devices/system/cpu/cpu%d/cpufreq/scaling_governor" % c),
                  "w") as f:
            f.write(g + "\n")


def governors(root):
    out = {}
    for c in BEFORE:
        out[c] = e.read_file(os.path.join(
            root, "devices/system/cpu/cpu%d/cpufreq/scaling_governor" % c)).strip()
    return out


def body(t):
    root = make_tree(t)
    env = {"VMRUN_SYSFS_ROOT": root}
    cpu = {"model": "qemu64", "cores": 1, "pin": {"vcpus": [1]}, "governor": "performance"}

    set_before(root)
    vm = t.vm("govvm", e.firmware_profile(cpu=dict(cpu, governor_scope="vm")),
              binary=e.TEST_BIN, env=env, qmp=False)
    vm.start()
    t.equal(governors(root), {0: "schedutil", 1: "performance", 2: "schedutil"},
            "scope vm: while the VM runs only its CPU 1 has the governor")
    t.equal(vm.stop("--force")[0], 0, "vmrun stop")
    t.equal(governors(root), BEFORE, "scope vm: every CPU has its previous governor back")

    vm = t.vm("govall", e.firmware_profile(cpu=dict(cpu, governor_scope="all")),
              binary=e.TEST_BIN, env=env, qmp=False)
    code, out, err = vm.vmrun("start", "--detach", vm.file)
    t.equal(code, 0, "vmrun start --detach (scope all)")
    t.equal(governors(root), {0: "performance", 1: "performance", 2: "performance"},
            "scope all: while the VM runs every CPU with cpufreq has the governor")
    log = e.read_file(os.path.join(vm.run_dir, "log"), "")
    t.check("CPU 3 has no frequency scaling" in log, "vmrun says CPU 3 has no cpufreq", log)
    t.equal(vm.stop("--force")[0], 0, "vmrun stop")
    t.equal(governors(root), BEFORE, "scope all: every CPU has its previous governor back")

    # A crash, then recover.
    vm = t.vm("govcrash", e.firmware_profile(cpu=dict(cpu, governor_scope="all")),
              binary=e.TEST_BIN, env=env, qmp=False)
    st = vm.start()
    t.equal(governors(root)[0], "performance", "before the crash the governor is set")
    os.kill(st["supervisor_pid"], signal.SIGKILL)
    t.check(e.wait_until(lambda: not e.alive(st["qemu_pid"]), 30),
            "QEMU dies with its supervisor")
    t.equal(governors(root), {0: "performance", 1: "performance", 2: "performance"},
            "after the crash the governors are still set (the journal has them)")
    code, out, err = vm.vmrun("recover", vm.name)
    t.check(code == 0, "vmrun recover", out + err)
    t.equal(governors(root), BEFORE, "vmrun recover puts every previous governor back")
    t.check(not os.path.exists(vm.run_dir), "vmrun recover removes the runtime directory")

    kernel_layout(t, cpu)


POLICIES = {"policy0": ([0, 1], "powersave"), "policy2": ([2], "schedutil")}


def make_policy_tree(t):
    """The kernel's layout: cpu/cpufreq/policyN, cpuN/cpufreq -> ../cpufreq/policyN."""
    root = t.path("sys-policies")
    cpu = os.path.join(root, "devices/system/cpu")
    os.makedirs(os.path.join(cpu, "cpufreq"))
    with open(os.path.join(cpu, "online"), "w") as f:
        f.write("0-3\n")
    for c in range(4):
        os.makedirs(os.path.join(cpu, "cpu%d" % c))
    for pol, (cpus, gov) in POLICIES.items():
        d = os.path.join(cpu, "cpufreq", pol)
        os.makedirs(d)
        for name, value in (("affected_cpus", " ".join(map(str, cpus))),
                            ("related_cpus", " ".join(map(str, cpus))),
                            ("scaling_available_governors", "performance powersave schedutil"),
                            ("scaling_governor", gov)):
            with open(os.path.join(d, name), "w") as f:
                f.write(value + "\n")
        for c in cpus:
            os.symlink("../cpufreq/" + pol, os.path.join(cpu, "cpu%d" % c, "cpufreq"))
    return root


def policy_governors(root):
    return {c: e.read_file(os.path.join(root, "devices/system/cpu/cpu%d/cpufreq/scaling_governor"
                                        % c)).strip() for c in (0, 1, 2)}


def kernel_layout(t, cpu):
    sim = os.environ.get("VMRUN_SYSFS_SIM", "")
    if not os.path.exists(sim):
        t.fatal("VMRUN_SYSFS_SIM must name the sysfs simulator (tests/pci/sysfs_sim.c)")
    root = make_policy_tree(t)
    env = {"VMRUN_SYSFS_ROOT": root, "LD_PRELOAD": sim,
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"}
    before = policy_governors(root)

    vm = t.vm("govbad", e.firmware_profile(cpu=dict(cpu, governor="ondemand")),
              binary=e.TEST_BIN, env=env, qmp=False)
    code, out, err = vm.vmrun("start", "--detach", vm.file)
    t.check(code != 0 and "not available on CPU 1" in err,
            "policies: a governor the policy does not offer is refused", (code, err))
    t.equal(policy_governors(root), before, "policies: ... and nothing changed")

    vm = t.vm("govpol", e.firmware_profile(cpu=dict(cpu, governor_scope="vm")),
              binary=e.TEST_BIN, env=env, qmp=False)
    vm.start()
    t.equal(policy_governors(root), {0: "performance", 1: "performance", 2: "schedutil"},
            "policies, scope vm: CPU 1's policy (shared with CPU 0) has the governor, "
            "policy2 does not")
    log = e.read_file(os.path.join(vm.run_dir, "log"), "")
    t.check("CPU 0 shares a frequency policy with the VM's CPUs" in log,
            "policies: vmrun says CPU 0 gets the governor too", log)
    t.equal(vm.stop("--force")[0], 0, "vmrun stop")
    t.equal(policy_governors(root), before, "policies: each policy has its previous governor back")

    host_not_put_back(t, cpu, root, env, before)


def offer(root, pol, names):
    with open(os.path.join(root, "devices/system/cpu/cpufreq", pol,
                           "scaling_available_governors"), "w") as f:
        f.write(names + "\n")


def host_not_put_back(t, cpu, root, env, before):
    """While the VM runs, policy0 stops offering the governor vmrun must give
    back, so the kernel refuses it (EINVAL): `vmrun stop`, and a foreground
    `vmrun start` when its VM ends, must not say all is well. Both exit 1,
    say what is left and that `vmrun recover` finishes; the journal stays
    (the VM shows stale) and recover puts the host back once the cause is
    gone."""
    all_three = "performance powersave schedutil"
    for how in ("stop", "foreground"):
        vm = t.vm("govleft" + how[0], e.firmware_profile(cpu=dict(cpu, governor_scope="vm")),
                  binary=e.TEST_BIN, env=env, qmp=False)
        if how == "stop":
            vm.start()
        else:
            proc = vm.start_foreground()
            vm.wait_state("running")
        offer(root, "policy0", "performance schedutil")
        if how == "stop":
            code, out, err = vm.stop("--force")
            said = out + err
        else:
            # Twice: the second stop signal quits at once (the firmware
            # ignores the power button).
            proc.send_signal(signal.SIGTERM)
            e.wait_until(lambda: "asking the guest to power off" in vm.output(), 10, 0.05)
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except Exception:
                code = None
            said = vm.output()
        t.equal(code, 1, "%s: when the host is not put back, vmrun exits 1" % how)
        t.log("%s said: %s" % (how, said.strip().replace("\n", " | ")))
        t.check("the host was not put back completely after '%s': left: give up the cpufreq "
                "governor performance on 1 CPU(s) (undo" % vm.name in said and
                "'vmrun recover %s' undoes the rest" % vm.name in said,
                "%s: ... and says what is left and how to finish" % how, said)
        t.equal(vm.status().get("state"), "stale", "%s: the journal stays: the VM is stale" % how)
        offer(root, "policy0", all_three)
        code, out, err = vm.vmrun("recover", vm.name)
        t.equal(code, 0, "%s: once the governor is offered again, vmrun recover" % how)
        t.equal(policy_governors(root), before, "%s: ... puts it back" % how)


e.Test("governor").run(body)
