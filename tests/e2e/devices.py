#!/usr/bin/env python3
"""Emulated devices, seen on the running QEMU (firmware-only VMs, QMP on
the test's own monitor):

  usb[]                 on a simulated host (make-fake-usb.sh; this machine
                        has no USB, the lab plugs real devices in): which
                        device each rule takes (ids, serial, port and its
                        USB 3 peer, class), hubs and the only keyboard
                        refused with the reason, vmrun usb attach/detach by
                        hand, the xHCI with 15 + 15 ports; vmrun import of
                        libvirt's address form
  audio.device          hda: the ICH9 HDA controller and its codec; ac97:
                        the AC97 controller; usb: "QEMU USB Audio" plugged
                        into the xHCI (query-usb)
  audio.backend         alsa: QEMU loaded its ALSA driver (the module is
                        mapped in the process); none: no audio driver module
                        at all. pa/pipewire need QEMU's PulseAudio module
                        (package qemu-system-gui) and a sound server: checked
                        only when the module is installed (QEMU must then
                        fail to start for want of a server, or run);
                        pipewire uses QEMU's own PipeWire driver where
                        `-audiodev help` lists it (QEMU 8.1 and later: the
                        argv and the driver QEMU loaded or names), else pa
  looking_glass         the shared memory file is an ivshmem device's memory:
                        bytes the test writes into the file are read back
                        from the guest's physical memory at the device's BAR;
                        the BAR is as large as the resolution asks; "device"
                        as a path uses that file; "shm" is the file
                        looking-glass in the VM's user directory
                        (<run root>/.user/NAME, QEMU's user's, 0700), gone
                        after the VM
  display               none: no VGA, no VNC, no SPICE; vnc: a VGA and a VNC
                        server on the unix socket vnc.sock of the VM's user
                        directory that speaks RFB, and no TCP port; spice: a
                        SPICE server on spice.sock there that answers a link
                        request; a QEMU without SPICE (Debian 13's
                        qemu-system-x86 without qemu-system-modules-spice,
                        imitated by a wrapper that refuses -spice as it does):
                        `vmrun check` fails naming the package, and `vmrun
                        start` refuses before it prepares anything
"""
import json
import os
import re
import socket
import struct

import e2elib as e

QEMU_MODULES = "/usr/lib/x86_64-linux-gnu/qemu"


def maps(pid):
    return e.read_file("/proc/%d/maps" % pid, "")


def qom_children_of_type(q, parent, typ):
    out = []
    for c in q.cmd("qom-list", path=parent):
        if c["type"] == "child<%s>" % typ:
            out.append(parent + "/" + c["name"])
    return out


def usb_log(vm):
    return e.read_file(os.path.join(vm.run_dir, "log"), "")


def check_usb(t):
    """usb[] rules on a simulated host (this machine has no USB; the lab
    plugs real ones in: tests/lab/usb.sh), through the test build: which
    device each rule takes, what is refused and why, vmrun usb by hand."""
    host = t.path("usbhost")
    code, out, err = e.run(["bash", os.path.join(e.SOURCE_DIR, "tests/usb/make-fake-usb.sh"), host])
    if code != 0:
        t.fatal("make-fake-usb.sh: " + out + err)
    env = {"VMRUN_SYSFS_ROOT": host + "/sys", "VMRUN_DEV_ROOT": host + "/dev"}
    rules = [{"vendor": "045e", "product": "02ea", "serial": "9999999999"},  # 1-4, not 1-2
             {"port": "1-3"},            # the headset at 2-3, the connector's USB 3 half
             {"class": "hid"},           # the keyboard (the headset is usb[1]'s first)
             {"port": "1-1"},            # the hub
             {"class": "storage"},       # the disk
             {"vendor": "045e", "product": "02ea"}]  # 1-2 (1-4 is usb[0]'s)
    vm = t.vm("usb", e.firmware_profile(usb=rules, audio={"backend": "alsa", "device": "usb"}),
              binary=e.TEST_BIN, env=env)
    vm.start()
    q = vm.qmp()
    log = usb_log(vm)
    t.log("supervisor: " + "\n  ".join(l for l in log.splitlines() if "usb[" in l))
    # A device a rule takes is opened for QEMU: on a simulated host its node
    # is a plain file, which vmrun refuses as no device node. That it tried
    # shows the rule took exactly that device.
    tried = {}
    for line in log.splitlines():
        m = re.search(r"usb\[(\d+)\]: (\S+) \(.*(is not the node of USB device|is not given "
                      r"to the VM: (.*))", line)
        if m:
            tried.setdefault(int(m.group(1)), []).append((m.group(2), m.group(4) or "opened"))
    t.equal(tried.get(0), [("1-4", "opened")],
            "usb[].vendor/product/serial: the controller with that serial, not its twin")
    t.equal(tried.get(1), [("2-3", "opened")],
            "usb[].port: 1-3 takes the USB 3 headset at 2-3, the same connector's other half")
    t.check(tried.get(2) and tried[2][0][0] == "1-1.2" and
            "the host's only keyboard" in tried[2][0][1],
            "usb[].class hid: the keyboard, refused as the host's only one", tried.get(2))
    t.check(tried.get(3) and "it is a hub" in tried[3][0][1],
            "usb[].port of a hub: refused, QEMU passes devices, not hubs", tried.get(3))
    t.equal(tried.get(4), [("1-1.3", "opened")], "usb[].class storage: the disk")
    t.equal(tried.get(5), [("1-2", "opened")], "usb[].vendor/product: the other controller")
    t.equal(vm.status().get("usb"), [], "vmrun status: nothing in the VM (no real device)")

    def usb(*args):
        return vm.vmrun("usb", vm.name, *args)
    code, out, err = usb("attach", "1-1.2")
    t.check(code == 1 and "the host's only keyboard" in err and "--force" in err,
            "vmrun usb attach of the only keyboard: refused, with the way round it", err)
    code, out, err = usb("attach", "--force", "1-1.2")
    t.check(code == 1 and "is not the node of USB device 1-1.2" in err,
            "vmrun usb attach --force: past the keyboard check, to the node", err)
    code, out, err = usb("attach", "045e:02ea")
    t.check(code == 1 and "2 devices are 045e:02ea, at 1-2, 1-4" in err,
            "vmrun usb attach VID:PID of two devices: asks for the port", err)
    code, out, err = usb("attach", "7-7")
    t.check(code == 1 and "no USB device at port 7-7" in err, "vmrun usb attach of an empty port",
            err)
    code, out, err = usb("detach", "1-2")
    t.check(code == 1 and "the VM has no USB device 1-2" in err, "vmrun usb detach of a device "
            "not in the VM", err)
    code, out, err = usb("attach", "1-4.")
    t.equal(code, 2, "vmrun usb attach of something that is no port: bad usage (exit 2)")

    xhci = q.cmd("qom-list", path="/machine/peripheral")
    t.check(any(c["name"] == "xhci" for c in xhci), "usb: the xHCI controller is there", xhci)
    t.equal((q.qom_get("/machine/peripheral/xhci", "p2"), q.qom_get("/machine/peripheral/xhci", "p3")),
            (15, 15), "usb: the controller has 15 USB 2 and 15 USB 3 ports")
    info = q.cmd("human-monitor-command", **{"command-line": "info usb"})
    t.check("QEMU USB Audio" in info, "audio.device usb: QEMU USB Audio is plugged into the xHCI",
            info.strip())
    t.check(os.path.join(QEMU_MODULES, "audio-alsa.so") in maps(vm.qemu_pid),
            "audio.backend alsa: QEMU loaded its ALSA driver")
    vm.stop("--force")

    # libvirt's address form, imported on this simulated host: bus 1
    # device 5 is the controller at 1-2.
    xml = t.path("usbaddr.xml")
    with open(xml, "w") as f:
        f.write("<domain type='kvm'><name>usbaddr</name><memory unit='GiB'>1</memory>"
                "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>"
                "<devices><hostdev mode='subsystem' type='usb'><source>"
                "<address bus='1' device='5'/></source></hostdev></devices></domain>")
    code, out, err = e.run([e.TEST_BIN, "import", xml], env=dict(os.environ, **env))
    t.check(code == 0 and json.loads(out).get("usb") == [{"port": "1-2"}] and
            "1-2 (045e:02ea Controller)" in err,
            "vmrun import: a USB device by bus and device number becomes a rule for its port",
            out + err)


def check_audio_devices(t):
    for dev, ids, name in (("hda", [(0x8086, 0x293e)], "the ICH9 HDA controller"),
                           ("ac97", [(0x8086, 0x2415)], "the AC97 controller")):
        vm = t.vm("snd" + dev, e.firmware_profile(audio={"backend": "none", "device": dev}))
        vm.start()
        q = vm.qmp()
        got = [(d["vendor"], d["device"]) for d in e.pci_devices(q)]
        for i in ids:
            t.check(i in got, "audio.device %s: %s (%04x:%04x) is on the PCI bus" % (dev, name, *i),
                    got)
        if dev == "hda":
            qtree = q.cmd("human-monitor-command", **{"command-line": "info qtree"})
            t.check("hda-duplex" in qtree, "audio.device hda: the HDA codec is on the controller")
        m = maps(vm.qemu_pid)
        t.check(not [l for l in m.splitlines() if "/qemu/audio-" in l],
                "audio.backend none: QEMU loaded no audio driver module")
        vm.stop("--force")

    pa = os.path.join(QEMU_MODULES, "audio-pa.so")
    if not os.path.exists(pa):
        t.log("note: %s is not installed (package qemu-system-gui): the pa and pipewire "
              "backends are not exercised here" % pa)
        return
    vm = t.vm("sndpa", e.firmware_profile(audio={"backend": "pa", "device": "hda"}))
    proc = vm.start_foreground()
    e.wait_until(lambda: proc.poll() is not None or vm.status().get("state") == "running", 60)
    if proc.poll() is None:
        t.check(pa in maps(vm.qemu_pid), "audio.backend pa: QEMU loaded its PulseAudio driver")
        vm.stop("--force")
    else:
        t.check(says_no_server("pa", vm.output()), "audio.backend pa: without a sound server "
                "QEMU says why it cannot start", vm.output())
    check_pipewire(t)


def says_no_server(driver, output):
    """Did QEMU's audio driver say it found no sound server? QEMU 7.2:
    "Could not init `pa' audio driver"; 10 and later name what is missing
    ("XDG_RUNTIME_DIR not set", "Could not create PipeWire context")."""
    said = {"pa": r"Could not init `pa'|XDG_RUNTIME_DIR not set|PulseAudio",
            "pipewire": r"Could not init `pipewire'|PipeWire"}[driver]
    return re.search(said, output) is not None


def check_pipewire(t):
    """audio.backend pipewire: QEMU's own driver when this QEMU has it."""
    code, out, _ = e.run(["qemu-system-x86_64", "-audiodev", "help"])
    own = code == 0 and "pipewire" in out.split()
    driver = "pipewire" if own else "pa"
    vm = t.vm("sndpw", e.firmware_profile(audio={"backend": "pipewire", "device": "hda"}))
    code, cmd, err = vm.vmrun("print-cmd", vm.file)
    t.check(code == 0 and "-audiodev %s,id=snd0" % driver in cmd,
            "audio.backend pipewire: the argv uses the %s driver (this QEMU %s its own pipewire "
            "driver)" % (driver, "has" if own else "lacks"), cmd + err)
    code, out, err = vm.vmrun("check", vm.file)
    t.check(("its own \"pipewire\" audio driver" if own else "no \"pipewire\" audio driver")
            in out, "audio.backend pipewire: vmrun check says which driver it uses", out + err)
    module = os.path.join(QEMU_MODULES, "audio-%s.so" % driver)
    proc = vm.start_foreground()
    e.wait_until(lambda: proc.poll() is not None or vm.status().get("state") == "running", 60)
    if proc.poll() is None:
        t.check(module in maps(vm.qemu_pid),
                "audio.backend pipewire: QEMU loaded its %s driver" % driver)
        vm.stop("--force")
    else:
        t.check(says_no_server(driver, vm.output()), "audio.backend pipewire: without a sound "
                "server QEMU's %s driver says why it cannot start" % driver, vm.output())


def check_looking_glass(t):
    for dev in ("shm", "path"):
        lg = {"resolution": "1920x1080"}
        if dev == "shm":
            lg["device"] = "shm"
        else:
            lg["device"] = "/dev/shm/e2e-lg-%d" % os.getpid()
            t.at_exit(lambda p=lg["device"]: os.path.exists(p) and os.unlink(p))
        vm = t.vm("lg" + dev, e.firmware_profile(looking_glass=lg))
        path = lg["device"] if dev == "path" else os.path.join(user_dir(vm), "looking-glass")
        vm.start()
        if dev == "shm":
            st = os.stat(user_dir(vm))
            t.check(st.st_mode & 0o7777 == 0o700 and st.st_uid == os.getuid(),
                    "looking_glass shm: in the VM's user directory, QEMU's user's, 0700",
                    oct(st.st_mode))
        q = vm.qmp()
        t.check(path in maps(vm.qemu_pid), "looking_glass %s: QEMU maps %s" % (dev, path))
        iv = [d for d in e.pci_devices(q) if (d["vendor"], d["device"]) == (0x1af4, 0x1110)]
        if not t.check(len(iv) == 1, "looking_glass %s: an ivshmem device is on the PCI bus" % dev, iv):
            vm.stop("--force")
            continue
        bar = [b for b in iv[0]["bars"] if b.get("bar") == 2]
        t.check(bar and bar[0]["size"] == 32 << 20,
                "looking_glass 1920x1080: the shared memory BAR is 32 MiB", bar)
        # The file's bytes are the device's memory as the guest sees it,
        # once the firmware has placed the BAR (and enabled it).
        with open(path, "r+b") as f:
            f.seek(4096)
            f.write(b"E2E-LG")

        def guest_reads():
            for d in e.pci_devices(q):
                for b in d["bars"] if (d["vendor"], d["device"]) == (0x1af4, 0x1110) else []:
                    if b.get("bar") != 2 or b["address"] in (0, 0xffffffffffffffff):
                        continue
                    x = q.cmd("human-monitor-command",
                              **{"command-line": "xp /6bx 0x%x" % (b["address"] + 4096)})
                    got = bytes(int(v, 16) for v in x.split(":", 1)[1].split())
                    return got if got == b"E2E-LG" else None
            return None
        t.check(e.wait_until(guest_reads, 60, 0.2),
                "looking_glass %s: the guest's ivshmem memory is the file (bytes written "
                "into it are read from the BAR)" % dev)
        vm.stop("--force")
        if dev == "shm":
            t.check(not os.path.exists(user_dir(vm)),
                    "looking_glass shm: the VM's user directory is gone after the VM")


def user_dir(vm):
    """The VM's user directory: <run root>/.user/NAME (priv/user_dir.h)."""
    return os.path.join(os.path.dirname(vm.run_dir), ".user", vm.name)


def tcp_listeners(pid):
    """The TCP ports process pid listens on."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = []
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    ports.append(int(cols[1].split(":")[1], 16))
    return ports


def vga_present(q):
    return any((d["vendor"], d["device"]) == (0x1234, 0x1111) for d in e.pci_devices(q))


def recv_some(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def check_display(t):
    vm = t.vm("dnone", e.firmware_profile(display="none"))
    vm.start()
    q = vm.qmp()
    t.check(not vga_present(q), "display none: no VGA")
    t.equal(q.cmd("query-vnc")["enabled"], False, "display none: no VNC server")
    t.equal(q.cmd("query-spice")["enabled"], False, "display none: no SPICE server")
    vm.stop("--force")

    vm = t.vm("dvnc", e.firmware_profile(display="vnc"))
    vm.start()
    q = vm.qmp()
    t.check(vga_present(q), "display vnc: a VGA is on the PCI bus")
    sock = os.path.join(user_dir(vm), "vnc.sock")
    vnc = q.cmd("query-vnc")
    t.check(vnc["enabled"] and vnc.get("family") == "unix", "display vnc: VNC on a unix socket", vnc)
    t.equal(tcp_listeners(vm.qemu_pid), [], "display vnc: QEMU listens on no TCP port")
    st = os.stat(user_dir(vm))
    t.check(st.st_mode & 0o7777 == 0o700, "display vnc: the socket's directory is 0700",
            oct(st.st_mode))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock)
        banner = recv_some(s, 12)
    t.check(banner.startswith(b"RFB 003."), "display vnc: the server speaks RFB", banner)
    vm.stop("--force")
    t.check(not os.path.exists(user_dir(vm)), "display vnc: the directory is gone after the VM")

    check_spice_missing(t)
    if "spice options:" not in e.run(["qemu-system-x86_64", "-spice", "help"])[1]:
        t.log("note: this QEMU has no SPICE support; display spice not exercised")
        return
    vm = t.vm("dspice", e.firmware_profile(display="spice"))
    vm.start()
    q = vm.qmp()
    t.check(vga_present(q), "display spice: a VGA is on the PCI bus")
    sp = q.cmd("query-spice")
    t.check(sp["enabled"], "display spice: SPICE is on", sp)
    t.equal(tcp_listeners(vm.qemu_pid), [], "display spice: QEMU listens on no TCP port")
    # A SPICE link request (main channel); the server answers "REDQ".
    msg = struct.pack("<IBBIII", 0, 1, 0, 0, 0, 18)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(os.path.join(user_dir(vm), "spice.sock"))
        s.sendall(b"REDQ" + struct.pack("<III", 2, 2, len(msg)) + msg)
        out = recv_some(s, 4)
    t.equal(out, b"REDQ", "display spice: the server answers a SPICE link request")
    vm.stop("--force")


def check_spice_missing(t):
    """A QEMU without SPICE: refused by check and start, with the package."""
    qemu = t.path("qemu-without-spice")
    with open(qemu, "w") as f:
        # What Debian 13's QEMU says without qemu-system-modules-spice.
        f.write("#!/bin/sh\n"
                "for a; do\n"
                "  if [ \"$a\" = -spice ]; then\n"
                "    echo \"qemu-system-x86_64: -spice: There is no option group 'spice'\" >&2\n"
                "    exit 1\n"
                "  fi\n"
                "done\n"
                "exec qemu-system-x86_64 \"$@\"\n")
    os.chmod(qemu, 0o755)
    prof = e.firmware_profile(display="spice")
    prof["qemu"] = dict(prof["qemu"], binary=qemu)
    vm = t.vm("nospice", prof)
    code, out, err = vm.vmrun("check", vm.file)
    t.check(code != 0 and "FAIL" in out and "qemu-system-modules-spice" in out,
            "display spice, QEMU without SPICE: vmrun check fails and names the package",
            out + err)
    code, out, err = vm.vmrun("start", vm.file, timeout=60)
    t.check(code == 1 and "no SPICE support" in err and "qemu-system-modules-spice" in err,
            "display spice, QEMU without SPICE: vmrun start refuses, naming the package",
            "exit %d: %s%s" % (code, out, err))
    t.check(not os.path.exists(vm.run_dir) and not os.path.exists(vm.state_dir),
            "display spice, QEMU without SPICE: nothing was prepared (no runtime or state "
            "directory)")


def body(t):
    check_usb(t)
    check_audio_devices(t)
    check_looking_glass(t)
    check_display(t)


e.Test("devices").run(body)
