#!/usr/bin/env python3
"""The VM's identity and QEMU's own options, seen on the running QEMU:
name (QMP query-name, thread names, the runtime directory), description
(`vmrun status`), qemu.binary (the program vmrun ran: a wrapper that
records its arguments), qemu.machine (the machine type QEMU runs),
qemu.accel (query-kvm), the topology QEMU builds (query-cpus-fast),
qemu.extra_args (this test's own QMP monitor and an
extra device), serial "none" (no serial port in the machine), and
shutdown.timeout (how long `vmrun stop` waits for a guest that ignores the
ACPI power button before QEMU is told to quit). A firmware-only VM."""
import os
import time

import e2elib as e

QEMU = "/usr/bin/qemu-system-x86_64"


def body(t):
    # qemu.binary: a wrapper in a root-owned directory (vmrun refuses a
    # binary someone else could replace), which notes each run.
    calls = t.path("wrapper.calls")
    wrapper = t.path("qemu-e2e-wrapper")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' % (calls, QEMU))
    os.chmod(wrapper, 0o755)

    prof = e.firmware_profile(
        description="e2e: a VM with a description, for vmrun status",
        qemu={"binary": wrapper, "machine": "pc-q35-6.2", "accel": "tcg",
              "extra_args": ["-device", "virtio-rng-pci,id=e2erng"]},
        cpu={"model": "qemu64", "sockets": 2, "cores": 2, "threads": 2},
        serial="none",
        shutdown={"timeout": 3})
    vm = t.vm("opts", prof)
    vm.start()
    # This monitor itself came in through qemu.extra_args.
    try:
        q = vm.qmp()
        answers = q.cmd("query-status").get("status") is not None
    except e.QmpError as x:
        answers = False
        t.fatal("qemu.extra_args: no QMP monitor of the test's own: %s" % x)
    t.check(answers, "qemu.extra_args: the test's own QMP monitor (-chardev/-mon) answers")
    pid = vm.qemu_pid

    # name
    t.equal(q.cmd("query-name").get("name"), vm.name, "QEMU's name is the profile's name")
    names = [n for _, n in e.tasks(pid)]
    t.check("CPU 0/TCG" in names, "QEMU names its threads (debug-threads=on)", names)
    t.check(os.path.isdir(vm.run_dir), "the runtime directory is /run/vmrun/NAME", vm.run_dir)
    code, out, _ = vm.vmrun("list")
    t.check(vm.name in out, "vmrun list shows the VM by its name", out)

    # description
    code, out, _ = vm.vmrun("status", vm.name)
    t.check("e2e: a VM with a description, for vmrun status" in out,
            "vmrun status shows the description", out)
    t.equal(vm.status().get("description"), prof["description"],
            "vmrun status --json gives the description")

    # qemu.binary
    exe = os.readlink("/proc/%d/exe" % pid)
    t.equal(exe, QEMU, "the QEMU process is the binary the wrapper ran")
    runs = e.read_file(calls, "")
    t.check(any(("-name %s," % vm.name) in l for l in runs.splitlines()),
            "vmrun started the VM through qemu.binary", runs)

    # qemu.machine, qemu.accel
    t.equal(q.qom_get("/machine", "type"), "pc-q35-6.2-machine",
            "QEMU runs the machine type qemu.machine names")
    t.equal(q.cmd("query-kvm"), {"enabled": False, "present": os.path.exists("/dev/kvm")},
            "qemu.accel tcg: KVM is not in use")

    # The topology QEMU builds: 2 sockets x 2 cores x 2 threads (the guest's
    # own view of sockets and threads is in e2e_guest_view).
    props = sorted((c["props"]["socket-id"], c["props"]["core-id"], c["props"]["thread-id"])
                   for c in q.cmd("query-cpus-fast"))
    t.equal(props, [(s, c, th) for s in (0, 1) for c in (0, 1) for th in (0, 1)],
            "cpu.sockets/cores/threads 2/2/2: QEMU's 8 vCPUs, one per socket, core and thread")

    # qemu.extra_args: the extra device is in the machine.
    rng = [d for d in e.pci_devices(q) if d["qdev_id"] == "e2erng"]
    t.check(rng and rng[0]["vendor"] == 0x1af4 and rng[0]["device"] == 0x1005,
            "qemu.extra_args: the virtio-rng device is on the guest's PCI bus", rng)

    # serial "none"
    chardevs = [c["label"] for c in q.cmd("query-chardev")]
    t.check("ser0" not in chardevs, "serial none: no serial chardev", chardevs)
    qtree = q.cmd("human-monitor-command", **{"command-line": "info qtree"})
    t.check("isa-serial" not in qtree, "serial none: the machine has no serial port")

    # shutdown.timeout: the firmware ignores the ACPI power button, so the
    # stop waits the whole timeout and then makes QEMU quit.
    t0 = time.monotonic()
    code, out, err = vm.stop(timeout=200)
    took = time.monotonic() - t0
    t.equal(code, 0, "vmrun stop (graceful) ends the VM")
    t.check(3 <= took < 60, "shutdown.timeout 3: the stop took 3 s and a little more, not the "
            "default 120", "%.1f s" % took)
    t.check(not e.alive(pid), "QEMU is gone")


e.Test("qemu_options").run(body)
