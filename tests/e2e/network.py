#!/usr/bin/env python3
"""Networks, end to end: one boot of the demo guest (TCG) with three NICs,
one per network type, each with its own model and MAC. In the guest, each
NIC is given an address and fetches a page from an HTTP server on the
host side of its network (scripts/guest/demo-init, vmrun.fetch=...).

  network[].type user    user-mode networking: the guest reaches the host's
                         server through QEMU at 10.0.2.2
  network[].type tap     an existing tap interface (tap: its name), opened
                         by vmrun and handed to QEMU as an fd
  network[].type bridge  vmrun makes a tap on the bridge (bridge: its name)
                         and hands it to QEMU; the host sees the port on it
  network[].mac          the guest's NIC has it; QMP query-rx-filter too
  network[].model        the guest's NIC is that device (PCI ids, driver)
  serial "stdio"         the guest's console is vmrun's standard output: the
                         report is read there

Before the guest, a firmware-only VM whose QEMU runs as nobody (run_as),
with no_new_privs, as through sudo: its bridge and tap networks work
without qemu-bridge-helper or access to /dev/net/tun, the tap vmrun made
leaves with the VM, the existing tap stays; a bridge that is not one and a
tap that does not exist are refused with the entry named.

Everything runs in a network namespace of the test's own (the tap, the
bridge and the server exist only there), so nothing on the machine
changes."""
import os
import pwd
import re
import subprocess

import e2elib as e

NICS = [
    ("user", "virtio-net-pci", "52:54:00:e2:e0:01", "10.0.2.15/24", "10.0.2.2", (0x1af4, 0x1000),
     "virtio_net"),
    ("tap", "e1000e", "52:54:00:e2:e0:02", "10.98.1.2/24", "10.98.1.1", (0x8086, 0x10d3), "e1000e"),
    ("bridge", "e1000", "52:54:00:e2:e0:03", "10.98.2.2/24", "10.98.2.1", (0x8086, 0x100e), "e1000"),
]
TAP = "e2etap0"
BRIDGE = "e2ebr0"
PORT = 8000

SETUP = """
set -e
ip link set lo up
ip tuntap add dev {tap} mode tap
ip addr add 10.98.1.1/24 dev {tap}
ip link set {tap} up
ip link add {bridge} type bridge
ip addr add 10.98.2.1/24 dev {bridge}
ip link set {bridge} up
echo ready
exec sleep 3600
"""


def links(ns):
    """{name: line} of the namespace's interfaces, with their bridge."""
    code, out, _ = e.run(ns + ["ip", "-o", "link", "show"])
    res = {}
    for l in out.splitlines():
        m = re.match(r"\d+: ([^:@]+)[:@]", l)
        if m:
            res[m.group(1)] = l
    return res


def unprivileged_qemu(t, ns):
    """bridge and tap with QEMU as nobody, no_new_privs: vmrun's fds."""
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        t.log("no user 'nobody': the unprivileged part is left out")
        return
    before = set(links(ns))
    nets = [{"type": "bridge", "bridge": BRIDGE}, {"type": "tap", "tap": TAP}]
    vm = t.vm("netuser", e.firmware_profile(run_as="nobody", network=nets), qmp=False, wrap=ns)
    code, out, err = vm.vmrun("check", vm.file)
    t.check(re.search(r"PASS +network\[0\] +bridge %s" % BRIDGE, out) and
            re.search(r"PASS +network\[1\] +tap %s" % TAP, out),
            "vmrun check: the bridge and the tap are there, of their kinds", out)
    st = vm.start()
    qemu = st["qemu_pid"]
    t.equal(e.status_field(qemu, "Uid").split()[0], str(pwd.getpwnam("nobody").pw_uid),
            "run_as: QEMU runs as nobody")
    t.equal(e.status_field(qemu, "NoNewPrivs"), "1", "QEMU runs with no_new_privs")
    cmdline = open("/proc/%d/cmdline" % qemu, "rb").read().split(b"\0")
    netdevs = [a.decode() for a in cmdline if a.startswith(b"tap,") or a.startswith(b"bridge,")]
    t.check(len(netdevs) == 2 and all(re.match(r"tap,id=net\d,fd=\d+", a) for a in netdevs),
            "bridge and tap reach QEMU as tap fds (-netdev tap,fd=N)", netdevs)
    tuns = [f for f in os.listdir("/proc/%d/fd" % qemu)
            if os.readlink("/proc/%d/fd/%s" % (qemu, f)) == "/dev/net/tun"]
    t.equal(len(tuns), 2, "QEMU holds two /dev/net/tun descriptors it did not open itself")
    children = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and e.status_field(int(p), "PPid") == str(qemu):
                children.append(p)
        except OSError:
            pass  # ended meanwhile
    t.equal(children, [], "QEMU runs no helper (no qemu-bridge-helper child)")
    now = links(ns)
    made = sorted(set(now) - before)
    t.check(len(made) == 1 and made[0].startswith("vmrun"),
            "bridge: vmrun made one tap, vmrunN", made)
    if made:
        t.check("master %s" % BRIDGE in now[made[0]] and "UP" in now[made[0]],
                "bridge: %s is an up port of %s" % (made[0], BRIDGE), now[made[0]])
    code, out, err = vm.stop("--force")
    t.equal(code, 0, "vmrun stop")
    after = set(links(ns))
    t.equal(sorted(after - before), [], "the tap vmrun made is gone with the VM")
    t.check(TAP in after, "the existing tap %s is still there" % TAP)

    # Refusals, with the entry named; nothing is left behind.
    for what, nets, want in [
            ("a bridge that is not one", [{"type": "bridge", "bridge": TAP}],
             "%s is not a bridge" % TAP),
            ("a tap that does not exist", [{"type": "tap", "tap": "e2enotap"}],
             "there is no network interface e2enotap")]:
        bad = t.vm("netbad", e.firmware_profile(network=nets), qmp=False, wrap=ns)
        code, out, err = bad.vmrun("check", bad.file)
        t.check(re.search(r"FAIL +network\[0\] ", out), "%s: vmrun check fails network[0]" % what,
                out)
        code, out, err = bad.vmrun("start", "--detach", bad.file)
        t.check(code == 1 and "network[0]" in err and want in err,
                "%s: refused (exit 1), naming network[0]: %s" % (what, want), (code, err))
        t.equal(sorted(set(links(ns)) - before), [], "%s: no interface left behind" % what)


def body(t):
    holder = subprocess.Popen(["unshare", "--net", "sh", "-c", SETUP.format(tap=TAP, bridge=BRIDGE)],
                              stdout=subprocess.PIPE, text=True)
    t.at_exit(lambda: (holder.kill(), holder.wait()))
    if holder.stdout.readline().strip() != "ready":
        t.fatal("could not set up the network namespace")
    ns = ["nsenter", "-t", str(holder.pid), "-n", "--"]
    unprivileged_qemu(t, ns)

    www = t.path("www")
    os.mkdir(www)
    for kind, *_ in NICS:
        with open(os.path.join(www, kind), "w") as f:
            f.write("e2e-net-ok-%s\n" % kind)
    server = subprocess.Popen(ns + ["python3", "-m", "http.server", str(PORT), "--bind", "0.0.0.0",
                                    "--directory", www],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.at_exit(lambda: (server.kill(), server.wait()))

    nets = []
    fetch = []
    for kind, model, mac, addr, host, _, _ in NICS:
        n = {"type": kind, "model": model, "mac": mac}
        if kind == "tap":
            n["tap"] = TAP
        if kind == "bridge":
            n["bridge"] = BRIDGE
        nets.append(n)
        fetch.append("vmrun.fetch=%s,%s,http://%s:%d/%s" % (mac, addr, host, PORT, kind))
    vm = t.vm("net", e.guest_profile(" ".join(fetch), serial="stdio", network=nets), wrap=ns)
    proc = vm.start_foreground()
    rep = e.wait_report(t, vm.output, "serial stdio: vmrun's standard output", vm=vm)
    t.check("E2E done" not in vm.serial_log(), "serial stdio: the console is not (also) in a log "
            "file", os.path.join(vm.state_dir, "serial.log"))

    q = vm.qmp()
    for i, (kind, model, mac, *_rest) in enumerate(NICS):
        t.equal(q.qom_get("/machine/peripheral/nic%d" % i, "mac"), mac,
                "mac: QEMU's NIC %d (%s) has %s" % (i, kind, mac))
        t.equal(q.qom_get("/machine/peripheral/nic%d" % i, "type"), model,
                "model: QEMU's NIC %d is a %s" % (i, model))
    # virtio-net reports the MAC the guest's driver filters on.
    rx = q.cmd("query-rx-filter", name="nic0")
    t.equal(rx[0]["main-mac"], NICS[0][2], "mac: the guest's virtio driver uses %s" % NICS[0][2])
    code, out, _ = e.run(ns + ["bridge", "link", "show"])
    t.check(re.search(r"master %s" % BRIDGE, out), "bridge: QEMU's tap is a port of %s" % BRIDGE, out)

    nic_lines = {}
    for l in rep:
        m = re.match(r"nic (\S+) mac=(\S+) driver=(\S+) pci=(\S+)", l)
        if m:
            nic_lines[m.group(2)] = (m.group(1), m.group(3))
    pci = [l for l in rep if l.startswith("pci ")]
    for kind, model, mac, addr, host, ids, driver in NICS:
        got = nic_lines.get(mac)
        t.check(got, "mac: the guest has a NIC with %s (%s)" % (mac, kind), nic_lines)
        if got:
            t.equal(got[1], driver, "model %s: the guest drives the %s NIC with %s" %
                    (model, kind, driver))
        t.check(any("0x%04x:0x%04x" % ids in l for l in pci),
                "model %s: %04x:%04x is on the guest's PCI bus" % (model, *ids))
        fetched = [l for l in rep if l.startswith("fetch %s " % mac)]
        t.check(fetched and fetched[0].split()[2] == "e2e-net-ok-%s" % kind,
                "type %s: the guest fetched the host's page through it" % kind, fetched)

    code, out, err = vm.stop()
    t.equal(code, 0, "vmrun stop")
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    t.equal(proc.returncode, 0, "the foreground vmrun exits 0 after the guest powered off")


e.Test("network").run(body)
