#!/usr/bin/env python3
"""Disks, end to end: one boot of the demo guest (TCG) with six disks, one
per bus and media kind, each image starting with its own marker. The guest
reports every disk it has (scripts/guest/demo-init, vmrun.report=1) on the
serial console, which vmrun logs (serial "log"), writes into every disk it
may write, and discards a range of it.

  disks[].path, bus   the guest reads each image's marker on a disk of the
                      right kind: virtio-blk (vd*), SCSI on virtio-scsi,
                      NVMe, SATA on the AHCI controller
  format              the qcow2 images read as their contents, not as qcow2
                      headers; a write into a qcow2 disk lands in its data
  media cdrom         a read-only CD drive (sr*) on SATA and on SCSI
  readonly            the guest's disk is read-only, QEMU opened the image
                      O_RDONLY, query-block says ro, and the image is
                      unchanged; the guest's writes reach the other images
  cache               QEMU's cache mode (query-block) and O_DIRECT on the
                      image's file descriptor for "none" and "directsync"
  aio                 "native": a Linux AIO ring in QEMU; "io_uring": an
                      io_uring instance in QEMU
  discard             "unmap": the guest's discard punches a hole in the
                      image; "ignore": the range stays allocated
  iothread            the virtio-blk device and the SCSI controller of
                      the iothread disks run in QEMU's iothread io0
  serial "log"        the report arrives in /var/lib/vmrun/NAME/serial.log

Before the guest, firmware-only VMs with a qcow2 overlay: with an absolute
backing name, vmrun check passes it and QEMU opens the backing image; with
a relative one (which QEMU could not resolve from the /dev/fdset/N it is
given), vmrun check fails it and vmrun start refuses it with the qemu-img
command that fixes it.
"""
import os
import re

import e2elib as e

MIB = 1 << 20


def fd_of(pid, path):
    """(fd, flags) of QEMU's descriptors on path."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                info = e.read_file("/proc/%d/fdinfo/%s" % (pid, fd), "")
                flags = int(re.search(r"^flags:\s*([0-7]+)", info, re.M).group(1), 8)
                out.append((int(fd), flags))
        except OSError:
            pass
    return out


def allocated(path, offset, length):
    """Is [offset, offset+length) all data (no hole) in the file?"""
    fd = os.open(path, os.O_RDONLY)
    try:
        hole = os.lseek(fd, offset, os.SEEK_HOLE)
        return hole >= offset + length
    finally:
        os.close(fd)


def backing_files(t):
    base = t.path("base.qcow2")
    e.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"])
    for kind, name in (("absolute", base), ("relative", "base.qcow2")):
        over = t.path("over-%s.qcow2" % kind)
        e.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", name, "-F", "qcow2", over])
        vm = t.vm("backing" + kind, e.firmware_profile(
            disks=[{"path": over, "format": "qcow2"}]), qmp=False)
        code, out, err = vm.vmrun("check", vm.file)
        line = [l for l in out.splitlines() if "disks[0] backing" in l]
        if kind == "absolute":
            t.check(line and line[0].startswith("PASS"), "format qcow2: vmrun check passes an "
                    "absolute backing file", line)
            st = vm.start()
            opened = [f for f in os.listdir("/proc/%d/fd" % st["qemu_pid"])
                      if e.read_file("/proc/%d/fdinfo/%s" % (st["qemu_pid"], f)) is not None
                      and os.path.realpath("/proc/%d/fd/%s" % (st["qemu_pid"], f)) == base]
            t.check(opened, "format qcow2: QEMU opened the absolute backing file %s" % base)
            vm.stop("--force")
        else:
            t.check(line and line[0].startswith("FAIL") and "qemu-img rebase" in line[0],
                    "format qcow2: vmrun check fails a relative backing file, with the fix", line)
            code, out, err = vm.vmrun("start", "--detach", vm.file)
            t.check(code == 1 and "relative name" in err and "qemu-img rebase -u -F qcow2 -b %s"
                    % base in err, "format qcow2: vmrun start refuses a relative backing file "
                    "(exit 1) with the qemu-img command", (code, err))
            t.equal(vm.status().get("state"), "absent", "nothing runs after the refusal")


def body(t):
    backing_files(t)
    # Images: (key, bus, format, media, extra keys)
    spec = [
        ("virtio", {"bus": "virtio", "format": "raw", "cache": "none", "aio": "native",
                    "discard": "unmap", "iothread": True}),
        ("scsi", {"bus": "scsi", "format": "qcow2", "readonly": True, "iothread": True}),
        ("nvme", {"bus": "nvme", "format": "raw", "cache": "writethrough", "aio": "io_uring",
                  "discard": "ignore"}),
        ("sata", {"bus": "sata", "format": "qcow2", "cache": "directsync", "aio": "threads"}),
        ("satacd", {"bus": "sata", "format": "raw", "media": "cdrom"}),
        ("scsicd", {"bus": "scsi", "format": "raw", "media": "cdrom"}),
    ]
    disks = []
    paths = {}
    for key, d in spec:
        # Names that do not say the format, so that "format" decides it
        # (vmrun would take a name ending in .qcow2 for qcow2 anyway).
        path = t.path("%s.img" % key)
        e.make_disk(path, "E2EDISK:%s:" % key, fmt=d["format"])
        if d["format"] == "raw" and d.get("media") != "cdrom":
            # Fully allocated, so that a discard shows as a hole.
            with open(path, "r+b") as f:
                f.seek(MIB)
                f.write(b"\xa5" * (3 * MIB))
        paths[key] = path
        disks.append(dict(d, path=path))
    sums = {k: e.run(["sha256sum", p])[1].split()[0] for k, p in paths.items()}

    vm = t.vm("disks", e.guest_profile(
        "vmrun.blocks=6 vmrun.write=1 vmrun.discard=1",
        cpu={"model": "qemu64", "cores": 1, "pin": {"iothreads": [0]}}, disks=disks))
    vm.start()
    q = vm.qmp()
    pid = vm.qemu_pid
    rep = e.wait_report(t, vm.serial_log, "serial log: %s" % os.path.join(vm.state_dir, "serial.log"), vm=vm)

    seen = {}
    for l in rep:
        m = re.match(r"disk (\S+) ro=(\d) sectors=\d+ path=(\S+) head=E2EDISK:(\w+):", l)
        if m:
            seen[m.group(4)] = {"dev": m.group(1), "ro": m.group(2) == "1", "path": m.group(3)}
    t.log("the guest's disks: %s" % {k: (v["dev"], v["ro"]) for k, v in seen.items()})
    for key, _ in spec:
        t.check(key in seen, "the guest reads the marker of the %s disk" % key, rep)
    kinds = {
        "virtio": lambda s: s["dev"].startswith("vd") and "/virtio" in s["path"],
        "scsi": lambda s: s["dev"].startswith("sd") and "/virtio" in s["path"] and "/host" in s["path"],
        "nvme": lambda s: s["dev"].startswith("nvme") and "/nvme/" in s["path"],
        "sata": lambda s: s["dev"].startswith("sd") and "/ata" in s["path"],
        "satacd": lambda s: s["dev"].startswith("sr") and "/ata" in s["path"],
        "scsicd": lambda s: s["dev"].startswith("sr") and "/virtio" in s["path"],
    }
    for key, ok in kinds.items():
        if key in seen:
            t.check(ok(seen[key]), "bus: the %s disk is %s at %s" % (key, seen[key]["dev"],
                                                                     seen[key]["path"]))
    for key, ro in (("virtio", False), ("scsi", True), ("nvme", False), ("sata", False),
                    ("satacd", True), ("scsicd", True)):
        if key in seen:
            t.equal(seen[key]["ro"], ro, "the guest's %s disk is %s" %
                    (key, "read-only" if ro else "writable"))

    # QEMU's view and its file descriptors.
    blocks = {}
    for b in q.cmd("query-block"):
        qdev = b.get("qdev", "")
        if qdev.endswith("/virtio-backend"):
            qdev = qdev.rsplit("/", 2)[-2]
        blocks[qdev] = b
    want_cache = {"virtio": (True, True), "nvme": (False, False), "sata": (False, True),
                  "scsi": (True, False)}
    for i, (key, d) in enumerate(spec):
        b = blocks.get("disk%d" % i)
        if not t.check(b and "inserted" in b, "query-block has disk%d (%s)" % (i, key), blocks.keys()):
            continue
        ins = b["inserted"]
        t.equal(ins["image"]["format"], d["format"], "format: QEMU reads the %s image as %s" %
                (key, d["format"]))
        t.equal(ins["ro"], bool(d.get("readonly") or d.get("media") == "cdrom"),
                "query-block: the %s disk's read-only flag" % key)
        fds = fd_of(pid, paths[key])
        t.check(fds, "QEMU has the %s image open" % key)
        ro = d.get("readonly") or d.get("media") == "cdrom"
        # vmrun passes the image as an fd set; for a writable disk the set
        # also holds a read-only fd (QEMU probes images read-only first).
        rw = [fd for fd, flags in fds if flags & os.O_ACCMODE != os.O_RDONLY]
        if ro:
            t.equal(rw, [], "QEMU holds the %s image read-only only" % key)
        else:
            t.check(rw, "QEMU holds the %s image read-write" % key, fds)
        if key in want_cache:
            wb, direct = want_cache[key]
            t.equal((ins["cache"]["writeback"], ins["cache"]["direct"]), (wb, direct),
                    "cache %s: query-block writeback/direct" % d.get("cache", "(default)"))
            for fd, flags in fds:
                t.equal(bool(flags & os.O_DIRECT), direct, "cache %s: O_DIRECT on the %s image is %s"
                        % (d.get("cache", "(default)"), key, direct))

    maps = e.read_file("/proc/%d/maps" % pid, "")
    t.check("[aio]" in maps, "aio native: QEMU has a Linux AIO ring")
    links = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            links.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    t.check("anon_inode:[io_uring]" in links, "aio io_uring: QEMU has an io_uring instance")

    t.equal(q.qom_get("/machine/peripheral/disk0/virtio-backend", "iothread"), "/objects/io0",
            "iothread: the virtio disk runs in iothread io0")
    t.equal(q.qom_get("/machine/peripheral/scsi1/virtio-backend", "iothread"), "/objects/io0",
            "iothread: the SCSI controller of the iothread disk runs in io0")
    t.check(q.qom_get("/machine/peripheral/disk1", "parent_bus").startswith(
        "/machine/peripheral/scsi1/"), "iothread: the iothread SCSI disk is on that controller")
    for io in q.cmd("query-iothreads"):
        t.equal(e.cpus_allowed(pid, io["thread-id"]), "0", "pin.iothreads: io0 runs on CPU 0")

    # What the guest wrote and discarded.
    wrote = {l.split()[1]: l.split()[2] for l in rep if l.startswith("wrote ")}
    disc = {l.split()[1]: l.split()[2] for l in rep if l.startswith("discarded ")}
    for key in ("virtio", "nvme", "sata"):
        if key in seen:
            t.equal(wrote.get(seen[key]["dev"]), "ok", "the guest wrote into the %s disk" % key)
    vm.stop()
    for key in ("virtio", "nvme"):
        with open(paths[key], "rb") as f:
            f.seek(MIB)
            data = f.read(32)
        t.check(data.startswith(b"E2E-WROTE-" + seen.get(key, {}).get("dev", "?").encode()),
                "the %s image holds what the guest wrote" % key, data)
    flat = t.path("sata.flat")
    e.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", paths["sata"], flat])
    with open(flat, "rb") as f:
        f.seek(MIB)
        data = f.read(32)
    t.check(data.startswith(b"E2E-WROTE-" + seen.get("sata", {}).get("dev", "?").encode()),
            "format qcow2: the guest's write is in the qcow2 image's data", data)
    for key in ("scsi", "satacd", "scsicd"):
        t.equal(e.run(["sha256sum", paths[key]])[1].split()[0], sums[key],
                "the read-only %s image is unchanged" % key)
    # Both disks were told to discard the same range; only "unmap" lets it
    # reach the image.
    for key in ("virtio", "nvme"):
        t.equal(disc.get(seen.get(key, {}).get("dev")), "ok",
                "the guest discarded a range of the %s disk" % key)
    t.check(not allocated(paths["virtio"], 2 * MIB, MIB),
            "discard unmap: the discarded range is a hole in the image")
    t.check(allocated(paths["nvme"], 2 * MIB, MIB),
            "discard ignore: the range the guest discarded is still allocated")


e.Test("storage").run(body)
