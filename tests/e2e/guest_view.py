#!/usr/bin/env python3
"""What the guest is given, as the guest itself reports it: one boot of the
demo guest (TCG) with a topology of 2 sockets x 1 core x 2 threads, a named
CPU model, 320 MiB, an AC97 card and a Looking Glass device.

  boot.kernel, initrd,  the guest runs the demo kernel (its release), our
  cmdline               initramfs (its /init reports) and sees a token
                        passed on the command line
  cpu.sockets, cores,   the guest counts 4 CPUs in 2 packages, each CPU with
  threads               its SMT sibling
  cpu.model             the guest's CPU model name is the named model's
  memory.size           the guest's memory is 320 MiB, less what its kernel
                        keeps
  audio, looking_glass  the AC97 controller and the ivshmem device are on the
                        guest's PCI bus
"""
import os
import re

import e2elib as e


def body(t):
    token = "e2e-token-%d" % os.getpid()
    vm = t.vm("view", e.guest_profile(
        "e2e.token=" + token,
        cpu={"model": "Nehalem", "sockets": 2, "cores": 1, "threads": 2},
        memory={"size": "320M"},
        audio={"backend": "none", "device": "ac97"},
        looking_glass={"resolution": "800x600", "device": "shm"}))
    t.at_exit(lambda: os.path.exists("/dev/shm/looking-glass-" + vm.name) and
              os.unlink("/dev/shm/looking-glass-" + vm.name))
    vm.start()
    rep = e.wait_report(t, vm.serial_log, "serial.log", vm=vm)

    want_release = e.read_file(os.path.join(e.guest_dir(), "kernel-release"), "?").strip()
    t.check("kernel " + want_release in rep, "boot.kernel: the guest runs kernel %s" % want_release)
    t.check(any(l.startswith("cmdline ") and ("e2e.token=" + token) in l.split() for l in rep),
            "boot.cmdline: the guest's command line has the profile's token")
    t.check(rep and rep[-1] == "done",
            "boot.initrd: the initramfs's /init ran (its report is complete)")

    t.check("cpus 4" in rep, "topology: the guest has 2 x 1 x 2 = 4 CPUs",
            [l for l in rep if l.startswith("cpu")])
    topo = {}
    for l in rep:
        m = re.match(r"cpu (\d+) package=(\d+) core=(\d+) siblings=(\S+)", l)
        if m:
            topo[int(m.group(1))] = (int(m.group(2)), m.group(4))
    t.equal(sorted({p for p, _ in topo.values()}), [0, 1], "sockets 2: the guest sees two packages")
    t.equal(sorted({s for _, s in topo.values()}), ["0-1", "2-3"],
            "threads 2: each guest CPU has an SMT sibling in its package (cores 1)")
    model = [l for l in rep if l.startswith("cpumodel ")]
    t.check(model and "Nehalem" in model[0], "cpu.model: the guest's CPU is a Nehalem", model)

    mem = [int(l.split()[1]) for l in rep if l.startswith("memory ")]
    t.check(mem and 250 * 1024 < mem[0] <= 320 * 1024,
            "memory.size 320M: the guest's MemTotal fits (kernel's own share taken out)", mem)

    pci = " ".join(l for l in rep if l.startswith("pci "))
    t.check("0x8086:0x2415" in pci, "audio.device ac97: the guest has the AC97 controller")
    t.check("0x1af4:0x1110" in pci, "looking_glass: the guest has the ivshmem device")

    q = vm.qmp()
    props = sorted((c["props"]["socket-id"], c["props"]["thread-id"])
                   for c in q.cmd("query-cpus-fast"))
    t.equal(props, [(0, 0), (0, 1), (1, 0), (1, 1)], "QEMU's vCPUs are 2 sockets x 2 threads")
    code, out, err = vm.stop()
    t.equal(code, 0, "vmrun stop: the guest powers off on the ACPI button")


e.Test("guest_view").run(body)
