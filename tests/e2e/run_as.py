#!/usr/bin/env python3
"""run_as: root starts the VM, QEMU runs as the named user (its uid, its
primary group, no capabilities, no_new_privs), as the kernel reports it
for the QEMU process; the supervisor stays root. Without run_as, root's
QEMU stays root. A firmware-only VM."""
import pwd

import e2elib as e


def ids(pid, field):
    return [int(x) for x in e.status_field(pid, field).split()]


def body(t):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        t.skip("no user 'nobody'")
    vm = t.vm("runas", e.firmware_profile(run_as="nobody"), qmp=False)
    st = vm.start()
    qemu, sup = st["qemu_pid"], st["supervisor_pid"]
    t.equal(ids(qemu, "Uid"), [nobody.pw_uid] * 4, "QEMU's uids are nobody's")
    t.equal(ids(qemu, "Gid"), [nobody.pw_gid] * 4, "QEMU's gids are nobody's primary group")
    t.equal(int(e.status_field(qemu, "CapEff"), 16), 0, "QEMU has no effective capabilities")
    t.equal(int(e.status_field(qemu, "CapPrm"), 16), 0, "QEMU has no permitted capabilities")
    t.equal(e.status_field(qemu, "NoNewPrivs"), "1", "QEMU runs with no_new_privs")
    t.equal(ids(sup, "Uid")[0], 0, "the supervisor stays root")
    code, out, err = vm.stop("--force")
    t.equal(code, 0, "vmrun stop")

    vm = t.vm("root", e.firmware_profile(), qmp=False)
    st = vm.start()
    t.equal(ids(st["qemu_pid"], "Uid")[0], 0, "without run_as, root's QEMU stays root")
    vm.stop("--force")


e.Test("run_as").run(body)
