#!/usr/bin/env python3
"""qemu.accel "kvm", cpu.hide_hypervisor, cpu.hyperv, cpu.vendor_id,
cpu.dedicated and cpu.idle_in_guest, under this machine's KVM, with
firmware-only guests (no OS boots under the nested KVM here).

What the guest sees: SeaBIOS prints "Running on KVM" on its debug port
when CPUID shows it the KVM signature. With hide_hypervisor it must not
(QEMU's CPU property "kvm" is off); without it, it must. qemu.accel "kvm"
is query-kvm's "enabled".

Hyper-V: a VM with the enlightenments this nested KVM accepts (hyperv as
an object: relaxed, reset, frequencies) and a vendor_id runs, and its CPU
has exactly those (qom-get on the running CPU). `"hyperv": true` asks for
all of the reference setup's, and the nested KVM here refuses some ("kernel
doesn't allow setting HyperV VP_INDEX"), as does QEMU under TCG. When `vmrun
start` fails that way, the test says so, checks that vmrun reported QEMU's
reason and left nothing behind, and then shows what QEMU makes of the -cpu
argument vmrun writes (`vmrun print-cmd`): QMP query-cpu-model-expansion
under KVM reports every hv-* flag on and the vendor id. On a KVM that
accepts them, the running CPU's own properties are checked instead
(tests/README.md says which one ran)."""
import os

import e2elib as e


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
        return True
    except OSError:
        return False


def debugcon(t, name):
    log = t.path(name + ".debugcon")
    return log, ["-chardev", "file,id=e2edbg,path=%s" % log,
                 "-device", "isa-debugcon,iobase=0x402,chardev=e2edbg"]


def seabios_sees_kvm(t, vm, log):
    text = e.wait_until(lambda: "Found QEMU fw_cfg" in e.read_file(log, "") and
                        e.read_file(log, ""), 60)
    if not text:
        t.fatal("SeaBIOS wrote nothing on its debug port: %r" % e.read_file(log, ""))
    return "Running on KVM" in text


def cpu_path(q):
    return q.cmd("query-cpus-fast")[0]["qom-path"]


HV_FLAGS = ["hv-relaxed", "hv-vapic", "hv-spinlocks", "hv-vpindex", "hv-synic", "hv-stimer",
            "hv-reset", "hv-frequencies", "hv-time"]


def body(t):
    if not kvm_usable():
        t.skip("/dev/kvm cannot be opened")

    # accel kvm, hide_hypervisor off and on.
    seen = {}
    for hide in (False, True):
        log, dbg = debugcon(t, "hide%d" % hide)
        vm = t.vm("kvm%d" % hide, e.firmware_profile(
            qemu={"accel": "kvm", "extra_args": dbg},
            cpu={"model": "qemu64", "cores": 1, "hide_hypervisor": hide}))
        vm.start()
        q = vm.qmp()
        t.equal(q.cmd("query-kvm")["enabled"], True, "qemu.accel kvm: QEMU runs the guest on KVM")
        t.equal(q.qom_get(cpu_path(q), "kvm"), not hide,
                "hide_hypervisor %s: the CPU's \"kvm\" property is %s" % (hide, not hide))
        seen[hide] = seabios_sees_kvm(t, vm, log)
        vm.stop("--force")
    t.equal(seen[False], True, "without hide_hypervisor the guest firmware finds KVM")
    t.equal(seen[True], False, "with hide_hypervisor the guest firmware does not find KVM")

    # hyperv as an object: the enlightenments this nested KVM accepts, and
    # vendor_id, on the running CPU.
    vm = t.vm("hvobj", e.firmware_profile(
        qemu={"accel": "kvm"},
        cpu={"model": "qemu64", "cores": 1, "vendor_id": "e2evendor123",
             "hyperv": {"relaxed": True, "reset": True, "frequencies": True}}))
    vm.start()
    q = vm.qmp()
    path = cpu_path(q)
    for f in ("hv-relaxed", "hv-reset", "hv-frequencies"):
        t.equal(q.qom_get(path, f), True, "hyperv {...}: the running CPU has %s" % f)
    for f in ("hv-vapic", "hv-vpindex", "hv-time"):
        t.equal(q.qom_get(path, f), False, "hyperv {...}: %s, not asked for, is off" % f)
    t.equal(q.qom_get(path, "hv-vendor-id"), "e2evendor123",
            "vendor_id: the running CPU's Hyper-V vendor id")
    vm.stop("--force")

    # cpu.dedicated and cpu.idle_in_guest, through vmrun start: the running
    # CPU's kvm-hint-dedicated, and the -overcommit cpu-pm=on QEMU runs with
    # (this nested KVM shows no difference in the guest's halts to look at;
    # QEMU keeps the setting nowhere QMP can read). Without the keys,
    # neither.
    for on in (True, False):
        keys = {"dedicated": True, "idle_in_guest": True} if on else {}
        vm = t.vm("hint%d" % on, e.firmware_profile(
            qemu={"accel": "kvm"},
            cpu=dict({"model": "qemu64", "cores": 1, "pin": {"vcpus": [0]}}, **keys)))
        st = vm.start()
        q = vm.qmp()
        t.equal(q.qom_get(cpu_path(q), "kvm-hint-dedicated"), on,
                "dedicated %s: the running CPU's kvm-hint-dedicated is %s" % (on, on))
        argv = e.read_file("/proc/%d/cmdline" % st["qemu_pid"], "").split("\0")
        pm = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-overcommit"]
        t.equal("cpu-pm=on" in pm, on, "idle_in_guest %s: QEMU runs %s -overcommit cpu-pm=on"
                % (on, "with" if on else "without"))
        vm.stop("--force")

    # hyperv true (all of the reference setup's enlightenments) + vendor_id
    # (+ hide_hypervisor, as the reference profile has it).
    prof = e.firmware_profile(qemu={"accel": "kvm"},
                              cpu={"model": "qemu64", "cores": 1, "hyperv": True,
                                   "vendor_id": "e2evendor123", "hide_hypervisor": True})
    vm = t.vm("hv", prof)
    # In the foreground, so that QEMU's own messages reach this test.
    proc = vm.start_foreground()
    running = e.wait_until(lambda: proc.poll() is not None or
                           vm.status().get("state") == "running", 120, 0.2)
    code = proc.poll()
    if running and code is None:
        t.log("this KVM accepts the Hyper-V enlightenments: checking the running CPU")
        q = vm.qmp()
        path = cpu_path(q)
        for f in HV_FLAGS:
            v = q.qom_get(path, f)
            t.check(v is True or (f == "hv-spinlocks" and v == 0x1fff), "CPU property %s" % f, v)
        t.equal(q.qom_get(path, "hv-vendor-id"), "e2evendor123", "the CPU's Hyper-V vendor id")
        t.equal(q.qom_get(path, "kvm"), False, "the KVM signature is hidden")
        vm.stop("--force")
        return
    msg = vm.output()
    refused = "HyperV" in msg or "Hyper-V" in msg or "failed to set MSR" in msg
    t.log("vmrun start failed (exit %s): %s" % (code, msg.strip().splitlines()[-3:]))
    if not refused:
        t.fatal("vmrun start failed for another reason than KVM refusing Hyper-V:\n" + msg)
    t.log("this KVM refuses the Hyper-V enlightenments; checking what QEMU reads from "
          "vmrun's -cpu instead")
    t.equal(code, 1, "a QEMU that will not start is a failure of QEMU (exit 1)")
    t.check(not os.path.exists(vm.run_dir), "nothing is left in /run/vmrun after the failure")

    code, out, err = vm.vmrun("print-cmd", vm.file)
    t.equal(code, 0, "vmrun print-cmd")
    import shlex
    argv = shlex.split(out)
    cpu = argv[argv.index("-cpu") + 1]
    model, *feats = cpu.split(",")
    props = {}
    for f in feats:
        k, eq, v = f.partition("=")
        props[k] = v if eq else True
    t.equal(model, "qemu64", "vmrun's -cpu names the profile's model")
    import subprocess
    sock = t.path("expand.qmp")
    p = subprocess.Popen(["qemu-system-x86_64", "-machine", "none", "-accel", "kvm", "-nodefaults",
                          "-display", "none", "-qmp", "unix:%s,server=on,wait=off" % sock],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t.at_exit(lambda: (p.kill(), p.wait()))
    q = e.Qmp(sock)
    # QEMU's property values: spinlocks is a number, the rest booleans.
    conv = {k: (int(v, 0) if k == "hv-spinlocks" else v) for k, v in props.items()}
    conv = {k: (v == "on" if v in ("on", "off") else v) for k, v in conv.items()}
    exp = q.cmd("query-cpu-model-expansion", type="full",
                model={"name": model, "props": conv})["model"]["props"]
    for f in HV_FLAGS:
        want = 0x1fff if f == "hv-spinlocks" else True
        t.equal(exp.get(f), want, "QEMU reads %s from vmrun's -cpu" % f)
    t.equal(exp.get("hv-vendor-id"), "e2evendor123", "QEMU reads cpu.vendor_id as hv-vendor-id")
    t.equal(exp.get("kvm"), False, "QEMU reads hide_hypervisor as kvm=off")
    q.close()


e.Test("kvm_cpu").run(body)
