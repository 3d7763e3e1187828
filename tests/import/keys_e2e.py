#!/usr/bin/python3
"""keys_e2e.py: the profile keys `vmrun import` writes, end to end.

1. A VM started by vmrun (vmrun-test for its run/state roots; TCG, SeaBIOS,
   no OS) with uuid, smbios.*, cpu.features and disks[].serial, asked over
   a second QMP monitor (qemu.extra_args, so the profile lives in a
   root-controlled directory under the build tree):
     uuid             query-uuid
     cpu.features     qom-get of the vCPU: pdpe1gb on, hypervisor off
     disks[].serial   qom-get of each disk device (virtio-blk and SATA)
     smbios.*         the guest's firmware shows them: once SeaBIOS has built
                      its SMBIOS tables, the strings are in guest RAM
                      (pmemsave), and they are not there without the key
2. What needs KVM, which this machine cannot run with the host CPU:
   cpu.hyperv (object), cpu.dedicated and cpu.idle_in_guest go through
   `vmrun print-cmd`, and that argv runs in the real QEMU with the
   accelerator swapped to TCG (as tests/cmdline/qemu_accepts.py does):
     cpu.hyperv          qom-get of each hv-* property: on as asked,
                         spinlocks 8191, what was not asked off
     cpu.dedicated       kvm-hint-dedicated reaches QEMU (TCG names it
                         when it drops it) and is absent without the key
     cpu.idle_in_guest   QEMU runs with -overcommit cpu-pm=on
                         (/proc/PID/cmdline)
Ends only the processes it started, by pid.
"""
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

VMRUN = os.environ["VMRUN_BIN"]
RELEASE = os.environ["VMRUN_RELEASE_BIN"]
BUILD = os.environ["VMRUN_BUILD_DIR"]
failures = []
passes = 0


def check(what, ok, detail=""):
    global passes
    if ok:
        passes += 1
        print("ok   " + what)
    else:
        failures.append(what)
        print("FAIL " + what + (": " + detail if detail else ""))


class Qmp:
    def __init__(self, path, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise RuntimeError("no QMP socket at " + path)
                time.sleep(0.1)
        self.s.settimeout(30)
        self.f = self.s.makefile("r")
        self.read()
        self.execute("qmp_capabilities")

    def read(self):
        while True:
            msg = json.loads(self.f.readline())
            if "event" not in msg:
                return msg

    def execute(self, cmd, **args):
        self.s.sendall(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        r = self.read()
        if "error" in r:
            raise RuntimeError("%s: %s" % (cmd, r["error"]))
        return r["return"]


def cpu_path(q):
    return q.execute("query-cpus-fast")[0]["qom-path"]


# ---- 1. a VM vmrun starts ------------------------------------------------------------

SMBIOS = {
    "bios": {"vendor": "e2e-bios-vendor", "version": "F31", "date": "12/03/2020",
             "release": "5.17"},
    "system": {"manufacturer": "e2e-system-maker", "product": "e2e-product",
               "serial": "E2E-SYS-0001", "family": "e2e-family"},
    "baseboard": {"manufacturer": "e2e-board-maker", "product": "e2e-board"},
    "chassis": {"manufacturer": "e2e-chassis-maker", "asset": "E2E-ASSET-7"},
}


def run_vm(tmp, name, with_keys):
    qmp2 = os.path.join(tmp, name + ".qmp")
    for i in (0, 1):
        with open(os.path.join(tmp, "d%d.img" % i), "wb") as f:
            f.truncate(1 << 20)
    profile = {
        "name": name,
        "qemu": {"accel": "tcg", "extra_args": ["-qmp", "unix:%s,server=on,wait=off" % qmp2]},
        "cpu": {"model": "qemu64"},
        "memory": {"size": "64M"},
        "disks": [{"path": os.path.join(tmp, "d0.img"), "format": "raw", "bus": "virtio"},
                  {"path": os.path.join(tmp, "d1.img"), "format": "raw", "bus": "sata"}],
        "serial": "none", "display": "none", "shutdown": {"timeout": 5},
    }
    if with_keys:
        profile["uuid"] = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
        profile["smbios"] = SMBIOS
        profile["cpu"]["features"] = {"pdpe1gb": True, "hypervisor": False}
        profile["disks"][0]["serial"] = "E2E-VIRTIO-1"
        profile["disks"][1]["serial"] = "E2E-SATA-2"
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(profile, f)
    env = dict(os.environ, VMRUN_RUN_DIR=os.path.join(tmp, "run"),
               VMRUN_STATE_DIR=os.path.join(tmp, "state"))
    log = open(os.path.join(tmp, name + ".log"), "w")
    sup = subprocess.Popen([VMRUN, "start", path], stdout=log, stderr=subprocess.STDOUT,
                           env=env)
    return sup, qmp2, env, log


def stop_vm(sup, name, env, log):
    subprocess.run([VMRUN, "stop", name, "--force"], env=env, capture_output=True, timeout=60)
    try:
        sup.wait(timeout=60)
    except subprocess.TimeoutExpired:
        sup.kill()
        sup.wait()
    log.close()


def guest_ram(q, tmp, name, marker):
    """Guest RAM once SeaBIOS has copied the SMBIOS tables QEMU gives it:
    when marker, a string of those tables, is there (a few seconds under
    TCG), or after two minutes."""
    dump = os.path.join(tmp, name + ".ram")
    deadline = time.time() + 120
    while True:
        q.execute("pmemsave", val=0, size=64 << 20, filename=dump)
        data = open(dump, "rb").read()
        if marker in data or time.time() > deadline:
            return data
        time.sleep(1)


def vm_checks(tmp):
    sup, qmp2, env, log = run_vm(tmp, "import-e2e", True)
    try:
        q = Qmp(qmp2)
        check("uuid: query-uuid", q.execute("query-uuid")["UUID"] ==
              "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", str(q.execute("query-uuid")))
        cpu = cpu_path(q)
        check("cpu.features: pdpe1gb on", q.execute("qom-get", path=cpu, property="pdpe1gb") is True)
        check("cpu.features: hypervisor off",
              q.execute("qom-get", path=cpu, property="hypervisor") is False)
        serials = {}
        for d in ("disk0", "disk1"):
            serials[d] = q.execute("qom-get", path="/machine/peripheral/" + d, property="serial")
        check("disks[].serial: virtio-blk", serials["disk0"] == "E2E-VIRTIO-1", str(serials))
        check("disks[].serial: SATA", serials["disk1"] == "E2E-SATA-2", str(serials))
        ram = guest_ram(q, tmp, "with", b"e2e-product")
        for t, fields in SMBIOS.items():
            for k, v in fields.items():
                if k in ("release",):
                    continue
                check("smbios.%s.%s in the guest's tables" % (t, k), v.encode() in ram)
    finally:
        stop_vm(sup, "import-e2e", env, log)
    # Without the keys the strings are not there: the check can fail.
    sup, qmp2, env, log = run_vm(tmp, "import-e2e-plain", False)
    try:
        q = Qmp(qmp2)
        # QEMU's own type 1 product name: the tables are there.
        ram = guest_ram(q, tmp, "without", b"Standard PC (Q35")
        check("no smbios: QEMU's own tables are in the guest", b"Standard PC (Q35" in ram)
        check("no smbios: the strings are absent", b"e2e-board-maker" not in ram and
              b"E2E-ASSET-7" not in ram)
        check("no uuid: QEMU's default", q.execute("query-uuid")["UUID"] !=
              "4dea22b3-1d52-d8f3-2516-782e98ab3fa0")
        check("no disks[].serial: empty",
              q.execute("qom-get", path="/machine/peripheral/disk0", property="serial") in
              ("", None))
    finally:
        stop_vm(sup, "import-e2e-plain", env, log)


# ---- 2. the KVM-only keys, through print-cmd and QEMU under TCG ------------------------

def kvm_argv_under_tcg(tmp, name, cpu):
    profile = {"name": name, "cpu": dict(cpu, model="qemu64"), "memory": {"size": "64M"},
               "serial": "none", "display": "none"}
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(profile, f)
    r = subprocess.run([RELEASE, "print-cmd", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("print-cmd: " + r.stderr)
    # The installed vmrun keeps no key log: the test build's print-cmd adds
    # the profile to it (tests/README.md).
    subprocess.run([VMRUN, "print-cmd", path], capture_output=True)
    argv = shlex.split(r.stdout.replace("\\\n", " "), comments=True)
    out, i = [], 0
    qmp = os.path.join(tmp, name + ".qmp")
    while i < len(argv):
        a = argv[i]
        v = argv[i + 1] if i + 1 < len(argv) else None
        if a == "-accel":
            out += ["-accel", "tcg"]
            i += 2
        elif a == "-global" and v.startswith("kvm-pit."):
            i += 2  # KVM's in-kernel PIT only
        elif a == "-chardev" and v.startswith("socket,id=qmp,"):
            out += ["-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % qmp]
            i += 2
        elif a == "-cpu":
            # TCG cannot set hv-vpindex (a KVM capability).
            out += ["-cpu", ",".join(x for x in v.split(",") if not x.startswith("hv-vpindex"))]
            i += 2
        elif a == "-rtc":
            out += ["-rtc", "base=utc"]
            i += 2
        else:
            out.append(a)
            i += 1
    return out, qmp


def start_qemu(tmp, name, argv, qmp):
    err = open(os.path.join(tmp, name + ".stderr"), "w")
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    try:
        q = Qmp(qmp)
    except Exception:
        p.kill()
        p.wait()
        err.close()
        raise RuntimeError("QEMU did not start: " +
                           open(os.path.join(tmp, name + ".stderr")).read())
    return p, q, err


def kvm_checks(tmp):
    hv = {"relaxed": True, "vapic": True, "spinlocks": 8191, "runtime": True,
          "frequencies": True, "reset": True, "time": True, "evmcs": False}
    argv, qmp = kvm_argv_under_tcg(tmp, "import-kvm",
                                   {"hyperv": hv, "dedicated": True, "idle_in_guest": True})
    p, q, err = start_qemu(tmp, "import-kvm", argv, qmp)
    try:
        cpu = cpu_path(q)
        for flag in ("relaxed", "vapic", "runtime", "frequencies", "reset", "time"):
            check("cpu.hyperv.%s: hv-%s on" % (flag, flag),
                  q.execute("qom-get", path=cpu, property="hv-" + flag) is True)
        check("cpu.hyperv.spinlocks: 8191 retries",
              q.execute("qom-get", path=cpu, property="hv-spinlocks") == 8191)
        for flag in ("ipi", "tlbflush", "evmcs", "synic"):
            check("cpu.hyperv: hv-%s not asked, off" % flag,
                  q.execute("qom-get", path=cpu, property="hv-" + flag) is False)
        cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read().split(b"\0")
        check("cpu.idle_in_guest: QEMU runs with -overcommit cpu-pm=on",
              b"-overcommit" in cmdline and
              cmdline[cmdline.index(b"-overcommit") + 1] == b"cpu-pm=on")
        q.execute("quit")
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()
    log = open(os.path.join(tmp, "import-kvm.stderr")).read()
    check("cpu.dedicated: kvm-hint-dedicated reaches QEMU", "kvm-hint-dedicated" in log, log)
    # Without the keys: no hint, no cpu-pm, and only the reference set of
    # Hyper-V flags for "hyperv": true (hv-runtime is not in it).
    argv, qmp = kvm_argv_under_tcg(tmp, "import-kvm0", {"hyperv": True})
    p, q, err = start_qemu(tmp, "import-kvm0", argv, qmp)
    try:
        check("cpu.hyperv true: hv-runtime off",
              q.execute("qom-get", path=cpu_path(q), property="hv-runtime") is False)
        cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read()
        check("no cpu.idle_in_guest: no cpu-pm", b"cpu-pm=on" not in cmdline)
        q.execute("quit")
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()
    check("no cpu.dedicated: no kvm-hint-dedicated",
          "kvm-hint-dedicated" not in open(os.path.join(tmp, "import-kvm0.stderr")).read())


def main():
    if os.geteuid() != 0:
        print("SKIP: runs vmrun as root (profiles with qemu.extra_args)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="import-e2e.", dir=BUILD)
    try:
        vm_checks(tmp)
        kvm_checks(tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print("%d passed, %d failed" % (passes, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
