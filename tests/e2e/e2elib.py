"""Helpers for the end-to-end tests (tests/README.md).

Each test drives the built program the way a user does (`vmrun start`,
`status`, `stop`, `recover`) and looks at the effect where it happens: on
the host, on the QEMU process (/proc, QMP) or in the guest. A test prints
one line per check and exits 0 when all passed, 1 when any failed, 77 when
it cannot run here.

The programs come from ctest's environment: VMRUN_RELEASE_BIN (what users
install; used whenever no test seam is needed) and VMRUN_BIN (the test
build, for simulated hosts and fault injection). Runs as root.

Every VM a test starts is named "e2e-<what>-<pid>", so that build trees
testing at the same time on one machine do not collide, and every file a
test makes lives in its own directory under /run (root's, so that vmrun
trusts the profiles written there: qemu.extra_args needs that).
"""

import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RELEASE_BIN = os.environ.get("VMRUN_RELEASE_BIN", "")
TEST_BIN = os.environ.get("VMRUN_BIN", "")
SOURCE_DIR = os.environ.get("VMRUN_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(
                                os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("VMRUN_BUILD_DIR", "")
KEY_LOG = os.environ.get("VMRUN_TEST_KEY_LOG", "")
STATE_ROOT = "/var/lib/vmrun"
RUN_ROOT = "/run/vmrun"


def guest_dir():
    """The demo guest this build's tests boot (built by the e2e_guests
    fixture from this checkout's scripts), else the machine's."""
    d = os.environ.get("VMRUN_E2E_GUEST")
    if d:
        return d
    if BUILD_DIR and os.path.exists(os.path.join(BUILD_DIR, "guests/demo/vmlinux")):
        return os.path.join(BUILD_DIR, "guests/demo")
    return "/var/cache/vmrun/demo-guest"


class Skip(Exception):
    pass


_logged = set()


def log_keys(path):
    """Adds a profile given to the installed vmrun to this test's key log
    (tests/README.md, "Profile keys and their end-to-end tests"): the test
    build, which keeps that log of every profile it accepts, reads it with
    print-cmd. Once per content."""
    text = read_file(path)
    if not KEY_LOG or not TEST_BIN or text is None or (path, text) in _logged:
        return
    _logged.add((path, text))
    subprocess.run([TEST_BIN, "print-cmd", path], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


class Test:
    """Checks, their report, and everything to undo at the end."""

    def __init__(self, what):
        self.what = what
        self.failed = 0
        self.passed = 0
        self.cleanups = []
        self.t0 = time.monotonic()
        if os.geteuid() != 0:
            self.skip("needs root")
        for b in (RELEASE_BIN, TEST_BIN):
            if not b or not os.access(b, os.X_OK):
                self.skip("VMRUN_RELEASE_BIN and VMRUN_BIN must name the built programs")
        if KEY_LOG:
            open(KEY_LOG, "w").close()  # this run's profiles only
        self.dir = tempfile.mkdtemp(prefix="vmrun-e2e-%s." % what, dir="/run")
        os.chmod(self.dir, 0o755)
        if os.environ.get("VMRUN_E2E_KEEP") == "1":
            self.at_exit(lambda: print("kept %s" % self.dir))
        else:
            self.at_exit(lambda: shutil.rmtree(self.dir, ignore_errors=True))

    # ---- reporting ----------------------------------------------------
    def log(self, msg):
        print("[%6.1fs] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def check(self, cond, desc, detail=""):
        if cond:
            self.passed += 1
            self.log("ok   %s" % desc)
        else:
            self.failed += 1
            self.log("FAIL %s%s" % (desc, ": " + str(detail) if detail != "" else ""))
        return bool(cond)

    def equal(self, got, want, desc):
        return self.check(got == want, desc, "got %r, expected %r" % (got, want))

    def fatal(self, msg):
        self.failed += 1
        self.log("FAIL %s" % msg)
        raise SystemExit(self.finish())

    def skip(self, why):
        print("SKIP: %s" % why, flush=True)
        raise Skip(why)

    def at_exit(self, fn):
        self.cleanups.append(fn)

    def finish(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # cleanup goes on
                print("cleanup: %s" % e, flush=True)
        self.cleanups = []
        self.log("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0

    def run(self, body):
        """Runs body(self); exits with the outcome."""
        code = 0
        try:
            body(self)
            code = self.finish()
        except Skip:
            self.finish()
            code = 77
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception:
            import traceback
            traceback.print_exc()
            self.failed += 1
            code = self.finish() or 1
        sys.exit(code)

    # ---- files --------------------------------------------------------
    def path(self, name):
        return os.path.join(self.dir, name)

    def vm(self, what, profile, binary=None, qmp=True, env=None, wrap=None):
        """A VM; `wrap` is put before every vmrun command line (to run it
        in namespaces, say)."""
        return VM(self, what, profile, binary or RELEASE_BIN, qmp, env, wrap)


def run(argv, env=None, timeout=120, input=None):
    """Runs a program; returns (exit code, stdout, stderr)."""
    p = subprocess.run(argv, env=env, input=input, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def wait_until(fn, timeout, step=0.1):
    """Polls fn() until it returns something true; returns it (or None)."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(step)


# ---- QEMU through QMP --------------------------------------------------
class QmpError(Exception):
    pass


class Qmp:
    """A QMP client on a monitor of its own (the supervisor keeps the one
    vmrun creates): tests add one through qemu.extra_args."""

    def __init__(self, path, timeout=30):
        self.sock = None
        end = time.monotonic() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
                break
            except OSError:
                s.close()
                if time.monotonic() >= end:
                    raise QmpError("no QMP monitor at %s after %d s" % (path, timeout))
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        self._read()  # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QmpError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise QmpError("%s: %s" % (command, r["error"].get("desc", r["error"])))
            if "return" in r:
                return r["return"]

    def qom_get(self, path, prop):
        return self.cmd("qom-get", path=path, property=prop)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def pci_devices(qmp):
    """Every PCI function QEMU's guest has: [{bus, slot, function,
    vendor, device, class, qdev_id, bars}]."""
    out = []

    def walk(bus):
        for d in bus.get("devices", []):
            out.append({
                "bus": bus.get("bus"), "slot": d["slot"], "function": d["function"],
                "vendor": d["id"]["vendor"], "device": d["id"]["device"],
                "class": d["class_info"]["class"], "qdev_id": d.get("qdev_id", ""),
                "bars": d.get("regions", []),
            })
            sub = d.get("pci_bridge", {}).get("devices")
            if sub is not None:
                walk({"bus": d["pci_bridge"]["bus"]["number"], "devices": sub})

    for bus in qmp.cmd("query-pci"):
        walk(bus)
    return out


# ---- the QEMU process, as the kernel reports it ------------------------
def tasks(pid):
    """[(tid, name)] of a process's threads."""
    out = []
    for t in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                out.append((int(t), f.read().strip()))
        except OSError:
            pass
    return out


def status_field(pid, field, tid=None):
    p = "/proc/%d/task/%d/status" % (pid, tid) if tid else "/proc/%d/status" % pid
    with open(p) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == field:
                return v.strip()
    return None


def cpus_allowed(pid, tid):
    return status_field(pid, "Cpus_allowed_list", tid)


def sched_policy(tid):
    """(policy name, priority) of a thread."""
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO",
             os.SCHED_RR: "SCHED_RR", os.SCHED_BATCH: "SCHED_BATCH",
             os.SCHED_IDLE: "SCHED_IDLE"}
    pol = os.sched_getscheduler(tid)
    return names.get(pol, str(pol)), os.sched_getparam(tid).sched_priority


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_file(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


# ---- a VM run through vmrun ---------------------------------------------
class VM:
    def __init__(self, test, what, profile, binary, qmp, env, wrap=None):
        self.t = test
        self.wrap = list(wrap or [])
        self.name = "e2e-%s-%d" % (what, os.getpid())
        self.binary = binary
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.profile = dict(profile)
        self.profile["name"] = self.name
        self.qmp_path = None
        self._qmp = None
        self.proc = None
        self.out_path = test.path(self.name + ".out")
        if qmp:
            self.qmp_path = test.path(self.name + ".qmp")
            q = self.profile.setdefault("qemu", {})
            q["extra_args"] = list(q.get("extra_args", [])) + [
                "-chardev", "socket,id=e2eqmp,path=%s,server=on,wait=off" % self.qmp_path,
                "-qmp", "chardev:e2eqmp"]
        self.file = test.path(self.name + ".json")
        self.write()
        self.pids = set()
        test.at_exit(self.cleanup)

    def write(self):
        with open(self.file, "w") as f:
            json.dump(self.profile, f, indent=2)

    @property
    def run_dir(self):
        return os.path.join(self.env.get("VMRUN_RUN_DIR", RUN_ROOT), self.name)

    @property
    def state_dir(self):
        return os.path.join(self.env.get("VMRUN_STATE_DIR", STATE_ROOT), self.name)

    def vmrun(self, *args, timeout=180):
        if self.file in args and self.binary != TEST_BIN:
            log_keys(self.file)
        return run(self.wrap + [self.binary] + list(args), env=self.env, timeout=timeout)

    def start(self, timeout=180):
        """vmrun start --detach; fails the test unless the VM runs."""
        code, out, err = self.vmrun("start", "--detach", self.file, timeout=timeout)
        if code != 0:
            self.t.fatal("vmrun start --detach %s: exit %d: %s%s" % (self.name, code, out, err))
        st = self.status()
        self.pids.update(p for p in (st.get("supervisor_pid"), st.get("qemu_pid")) if p)
        return st

    def start_foreground(self, extra_env=None):
        """vmrun start in the foreground; its output goes to self.out_path."""
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        self.out = open(self.out_path, "w")
        if self.binary != TEST_BIN:
            log_keys(self.file)
        self.proc = subprocess.Popen(self.wrap + [self.binary, "start", self.file], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        self.pids.add(self.proc.pid)
        return self.proc

    def output(self):
        return read_file(self.out_path, "")

    def status(self):
        code, out, _ = self.vmrun("status", self.name, "--json")
        try:
            return json.loads(out)
        except ValueError:
            return {"state": "unknown", "exit": code}

    def wait_state(self, state, timeout=120):
        st = wait_until(lambda: self.status().get("state") == state, timeout, 0.2)
        if not st:
            self.t.fatal("%s never reached state %s (now %s)" %
                         (self.name, state, self.status().get("state")))
        st = self.status()
        self.pids.update(p for p in (st.get("supervisor_pid"), st.get("qemu_pid")) if p)
        return st

    @property
    def qemu_pid(self):
        return int(self.status()["qemu_pid"])

    def qmp(self):
        if self._qmp is None:
            self._qmp = Qmp(self.qmp_path)
        return self._qmp

    def stop(self, *args, timeout=180):
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        return self.vmrun("stop", self.name, *args, timeout=timeout)

    def serial_log(self):
        return read_file(os.path.join(self.state_dir, "serial.log"), "")

    def cleanup(self):
        if self._qmp is not None:
            self._qmp.close()
        if self.status().get("state") not in ("absent", None):
            self.vmrun("stop", self.name, "--force", timeout=60)
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        # A journal left by a failed test: put the host back.
        if os.path.exists(self.run_dir):
            self.vmrun("recover", self.name, timeout=60)
        if self.name.startswith("e2e-"):
            shutil.rmtree(self.state_dir, ignore_errors=True)


# ---- the demo guest's report (scripts/guest/demo-init) ------------------
def guest_profile(cmdline="", **over):
    """A profile booting the demo guest under TCG, reporting what it sees."""
    g = guest_dir()
    if not (os.path.exists(g + "/vmlinux") and os.path.exists(g + "/initramfs.cpio.gz")):
        raise Skip("the demo guest is not built in %s" % g)
    p = {
        "qemu": {"accel": "tcg"},
        "cpu": {"model": "qemu64", "cores": 1},
        "memory": {"size": "256M"},
        "boot": {"kernel": g + "/vmlinux", "initrd": g + "/initramfs.cpio.gz",
                 "cmdline": "console=ttyS0 quiet vmrun.report=1 vmrun.poweroff=0 " + cmdline},
        "serial": "log",
        "display": "none",
        "shutdown": {"timeout": 30},
    }
    p.update(over)
    return p


def firmware_profile(**over):
    """A VM without an OS (SeaBIOS finds nothing to boot and waits): starts
    in a second and is the cheapest way to look at QEMU through QMP."""
    p = {
        "qemu": {"accel": "tcg"},
        "cpu": {"model": "qemu64", "cores": 1},
        "memory": {"size": "64M"},
        "serial": "none",
        "display": "none",
        "shutdown": {"timeout": 5},
    }
    p.update(over)
    return p


def report_lines(text):
    """The guest's "E2E ..." lines, without the prefix."""
    return [l[4:].rstrip("\r") for l in text.splitlines() if l.startswith("E2E ")]


def guest_state(vm):
    """What a guest that says nothing is doing: vmrun's status, QEMU's run
    state and each vCPU's instruction pointer (twice, a second apart: a
    vCPU that does not move is stuck), for the failure message."""
    lines = ["vmrun status: %s" % json.dumps(vm.status())]
    try:
        q = vm.qmp()
        lines.append("QEMU: %s" % json.dumps(q.cmd("query-status")))
        for _ in range(2):
            regs = q.cmd("human-monitor-command", **{"command-line": "info registers -a"})
            lines.append("vCPU RIPs: " + " ".join(re.findall(r"RIP=([0-9a-f]+)", regs)))
            time.sleep(1)
    except (QmpError, OSError) as ex:
        lines.append("QMP: %s" % ex)
    return "\n".join(lines)


def wait_report(t, get_text, where, timeout=240, vm=None):
    """Waits for the guest's "E2E done" in get_text() (the console as
    `where` has it), a check of its own; returns the report lines. With
    vm, a guest that never reports is described (guest_state)."""
    if not t.check(wait_until(lambda: "E2E done" in get_text(), timeout, 0.5),
                   "the guest's console, with its report, is in %s" % where):
        tail = "\n".join(get_text().splitlines()[-30:])
        state = guest_state(vm) if vm is not None else ""
        t.fatal("the guest did not finish its report within %d s; there:\n%s\n%s" %
                (timeout, tail, state))
    lines = report_lines(get_text())
    t.log("the guest's report:\n    " + "\n    ".join(lines))
    return lines


def make_disk(path, marker, size_mb=4, fmt="raw"):
    """A disk image whose first bytes are marker; qcow2 made with qemu-img."""
    raw = path if fmt == "raw" else path + ".src"
    with open(raw, "wb") as f:
        f.write(marker.encode())
        f.truncate(size_mb << 20)
    if fmt == "qcow2":
        code, out, err = run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, path])
        os.unlink(raw)
        if code != 0:
            raise RuntimeError("qemu-img convert: %s" % err)
    return path
