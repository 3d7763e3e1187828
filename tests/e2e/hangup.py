#!/usr/bin/env python3
"""A lost SSH session stops the VM in order: `vmrun start` in the
foreground, in a session of its own on a pseudo-terminal, as an SSH login
runs it; the terminal goes away (its master side is closed, as sshd does
when the connection drops) and the kernel sends the session SIGHUP. vmrun
must take it as a stop request: the ACPI power button first (QMP's
POWERDOWN event, seen on the test's own monitor), then, as the firmware
ignores it, `quit` after shutdown.timeout; the supervisor exits 0 with the
host put back (no runtime directory), though its terminal is gone. A
firmware-only VM."""
import os
import pty
import time

import e2elib as e


def body(t):
    vm = t.vm("hup", e.firmware_profile(shutdown={"timeout": 2}))
    e.log_keys(vm.file)
    pid, master = pty.fork()
    if pid == 0:
        # The child: a session leader with the pty as its terminal.
        try:
            os.execve(vm.binary, [vm.binary, "start", vm.file], vm.env)
        finally:
            os._exit(127)
    vm.pids.add(pid)
    os.set_blocking(master, False)
    out = []

    def drain():
        """What vmrun wrote on its terminal so far (a terminal whose output
        nobody reads would block it)."""
        try:
            while True:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                out.append(chunk.decode(errors="replace"))
        except OSError:
            pass

    st = e.wait_until(lambda: (drain(), vm.status().get("state") == "running")[1], 60, 0.2)
    if not st:
        drain()
        t.fatal("the VM did not reach running; its terminal said:\n" + "".join(out))
    q = vm.qmp()
    qemu = vm.qemu_pid
    drain()
    t.log("hanging up the terminal (closing the pty's master)")
    os.close(master)
    t0 = time.monotonic()

    def powerdown():
        try:
            q.cmd("query-status")  # reads the events that came meanwhile
        except (e.QmpError, OSError):
            pass  # QEMU went away: the events it sent are all there
        return any(ev.get("event") == "POWERDOWN" for ev in q.events)
    t.check(e.wait_until(powerdown, 10, 0.1),
            "SIGHUP: vmrun pressed the ACPI power button (QMP event POWERDOWN)",
            [ev.get("event") for ev in q.events])
    q.close()
    vm._qmp = None

    def reaped():
        w, status = os.waitpid(pid, os.WNOHANG)
        return (w, status) if w == pid else None
    got = e.wait_until(reaped, 60, 0.1)
    took = time.monotonic() - t0
    t.check(got is not None, "the supervisor exits after the hang-up")
    if got:
        vm.pids.discard(pid)
        t.equal(os.waitstatus_to_exitcode(got[1]), 0,
                "it exits 0: the stop it was asked for completed")
    t.check(1.5 <= took < 30, "the firmware ignored the button, so QEMU was told to quit "
            "after shutdown.timeout (2 s)", "%.1f s" % took)
    t.check(not e.alive(qemu), "QEMU is gone")
    t.check(not os.path.exists(vm.run_dir), "the host is put back: no runtime directory")
    t.equal(vm.status().get("state"), "absent", "vmrun status: absent")


e.Test("hangup").run(body)
