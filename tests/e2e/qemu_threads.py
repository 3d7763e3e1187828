#!/usr/bin/env python3
"""cpu.pin.vcpus, cpu.pin.emulator, cpu.pin.iothreads and cpu.realtime, as
the kernel reports them for the threads of the QEMU that `vmrun start` runs
(the release build): which CPUs each thread may run on, and its scheduling
policy. The threads are told apart by QEMU itself (QMP query-cpus-fast and
query-iothreads on a monitor of the test's own), not by vmrun's status.
A firmware-only VM: no guest OS needed."""
import os

import e2elib as e


def body(t):
    if os.cpu_count() < 2:
        t.skip("needs 2 CPUs")
    disk = e.make_disk(t.path("io.raw"), "E2EDISK:io:")
    vm = t.vm("thr", e.firmware_profile(
        cpu={"model": "qemu64", "sockets": 1, "cores": 2, "threads": 1,
             "pin": {"vcpus": [1, 0], "emulator": [0], "iothreads": [1]},
             "realtime": True},
        disks=[{"path": disk, "iothread": True}]))
    vm.start()
    q = vm.qmp()
    pid = vm.qemu_pid
    cpus = sorted(q.cmd("query-cpus-fast"), key=lambda c: c["cpu-index"])
    t.equal(len(cpus), 2, "QEMU has 2 vCPUs")
    vcpu_tids = set()
    for c in cpus:
        i, tid = c["cpu-index"], c["thread-id"]
        vcpu_tids.add(tid)
        want = str([1, 0][i])
        t.equal(e.cpus_allowed(pid, tid), want, "vCPU %d (thread %d) runs on CPU %s" % (i, tid, want))
        t.equal(e.sched_policy(tid), ("SCHED_FIFO", 1), "vCPU %d runs SCHED_FIFO at priority 1" % i)

    io = q.cmd("query-iothreads")
    t.equal([x["id"] for x in io], ["io0"], "QEMU has the one iothread the disk asked for")
    io_tids = {x["thread-id"] for x in io}
    for tid in io_tids:
        t.equal(e.cpus_allowed(pid, tid), "1", "iothread (thread %d) runs on CPU 1" % tid)
        t.equal(e.sched_policy(tid)[0], "SCHED_OTHER", "the iothread is not real-time")

    # QEMU starts I/O worker threads as it needs them, after the pinning;
    # they run where the thread that starts them runs: the iothread's
    # workers (the firmware reads the disk) with the iothread
    # (profiles/README.md, pin.emulator).
    others = [(tid, n) for tid, n in e.tasks(pid) if tid not in vcpu_tids | io_tids]
    t.check([n for _, n in others if n != "worker"],
            "QEMU has emulator threads besides the vCPUs and the iothread")
    for tid, name in others:
        allowed = e.cpus_allowed(pid, tid)
        if name == "worker":
            t.check(allowed in ("0", "1"), "I/O worker %d runs on CPU 0 (emulator) or 1 "
                    "(iothread)" % tid, allowed)
        else:
            t.equal(allowed, "0", "emulator thread %d (%s) runs on CPU 0" % (tid, name))
        t.equal(e.sched_policy(tid)[0], "SCHED_OTHER", "emulator thread %d is not real-time" % tid)

    # The same, as `vmrun status` reports it.
    st = vm.status()
    t.equal([v.get("cpus_allowed") for v in st.get("vcpus", [])], ["1", "0"],
            "vmrun status shows the vCPU pinning in effect")

    code, out, err = vm.stop("--force")
    t.equal(code, 0, "vmrun stop --force")
    t.check(e.wait_until(lambda: not e.alive(pid), 30), "QEMU is gone after the stop")

    # Without realtime and pinning, nothing of the kind.
    vm2 = t.vm("thr2", e.firmware_profile(cpu={"model": "qemu64", "cores": 1}))
    vm2.start()
    q2 = vm2.qmp()
    tid = q2.cmd("query-cpus-fast")[0]["thread-id"]
    t.equal(e.sched_policy(tid)[0], "SCHED_OTHER", "without cpu.realtime the vCPU is SCHED_OTHER")
    allowed = e.cpus_allowed(vm2.qemu_pid, tid)
    t.equal(allowed, e.cpus_allowed(os.getpid(), os.getpid()),
            "without pin.vcpus the vCPU may run on the CPUs vmrun was started with")
    vm2.stop("--force")


e.Test("qemu_threads").run(body)
