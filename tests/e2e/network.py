#!/usr/bin/env python3
"""Networks, end to end: one boot of the demo guest (TCG) with three NICs,
one per network type, each with its own model and MAC. In the guest, each
NIC is given an address and fetches a page from an HTTP server on the
host side of its network (scripts/guest/demo-init, vmrun.fetch=...).

  network[].type user    user-mode networking: the guest reaches the host's
                         server through QEMU at 10.0.2.2
  network[].type tap     an existing tap interface (tap: its name)
  network[].type bridge  QEMU's bridge helper adds a tap to the bridge
                         (bridge: its name); the host sees the port on it
  network[].mac          the guest's NIC has it; QMP query-rx-filter too
  network[].model        the guest's NIC is that device (PCI ids, driver)
  serial "stdio"         the guest's console is vmrun's standard output: the
                         report is read there

Everything runs in a network and mount namespace of the test's own (the
tap, the bridge and the server exist only there; /etc/qemu/bridge.conf,
which the bridge helper reads, is a file on a tmpfs overlay of /etc that
only that namespace sees), so nothing on the machine changes."""
import os
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
mount -t tmpfs e2e-etc {ovl}
mkdir -p {ovl}/upper {ovl}/work
mount -t overlay -o lowerdir=/etc,upperdir={ovl}/upper,workdir={ovl}/work overlay /etc
mkdir -p /etc/qemu
echo "allow {bridge}" >/etc/qemu/bridge.conf
ip tuntap add dev {tap} mode tap
ip addr add 10.98.1.1/24 dev {tap}
ip link set {tap} up
ip link add {bridge} type bridge
ip addr add 10.98.2.1/24 dev {bridge}
ip link set {bridge} up
echo ready
exec sleep 3600
"""


def body(t):
    if not os.path.exists("/usr/lib/qemu/qemu-bridge-helper"):
        t.skip("no /usr/lib/qemu/qemu-bridge-helper")
    ovl = t.path("etc-overlay")
    os.mkdir(ovl)
    holder = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private",
                               "sh", "-c", SETUP.format(ovl=ovl, tap=TAP, bridge=BRIDGE)],
                              stdout=subprocess.PIPE, text=True)
    t.at_exit(lambda: (holder.kill(), holder.wait()))
    if holder.stdout.readline().strip() != "ready":
        t.fatal("could not set up the network namespace")
    ns = ["nsenter", "-t", str(holder.pid), "-n", "-m", "--"]

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
    rep = e.wait_report(t, vm.output)
    t.check(True, "serial stdio: the guest's console came out on vmrun's standard output")

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
