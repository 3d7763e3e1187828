#!/usr/bin/python3
"""qemu_accepts.py NAME: the real qemu-system-x86_64 accepts the argv that
vmrun builds for profile NAME (profiles/NAME.json, or the built-in sample).

The argv comes from the cmdline_argv helper (qemu_build_argv with the
print-cmd host facts). What only exists on a passthrough host is swapped
for a stand-in that starts here, in this script and never in the builder:
  vfio-pci          -> edu on the same root port, bus, addr, multifunction
  disk images       -> fresh qcow2/raw images made with qemu-img
  OVMF vars         -> a temporary copy of the vars template
  hugetlbfs / kvmfr -> a regular file in the temporary directory
  bridge, tap       -> user networking
  evdev input       -> dropped (no /dev/input here)
  accel kvm         -> tcg (and kvm-pit, which only KVM has, dropped)
  cpu host          -> max; hv-vpindex dropped (TCG cannot set VP_INDEX)
  spice on a port   -> spice on a unix socket (no fixed port in tests)
  audio / display   -> "none" when this QEMU lacks the driver module; audio
                       backends that need a sound server (pa, pipewire,
                       jack) -> "none": QEMU refuses to start without one
  kernel, initrd    -> dropped (with -append) when the files do not exist
Files vmrun hands QEMU as fds stay fds: for every `-add-fd fd=N,set=N`
(disks, firmware, UEFI variables, serial log: /dev/fdset/N) and every
/proc/self/fd/N (kernel, initrd, ROM), this script opens the stand-in (or
the real file) with the access the option needs and puts it at fd N, as
the supervisor does; so QEMU 7.2 is shown to accept each file that way.
The TPM's fd is QEMU's end of a socketpair whose other end a real swtpm
(its state in the temporary directory) holds as its control channel.
Everything else is passed as built. QEMU runs paused (-S is in the argv);
the test speaks QMP on a socketpair whose other end QEMU inherits at the
fd the argv names (as vmrun's supervisor does): qmp_capabilities, then
query-status must say "prelaunch" and not running, then quit. QEMU rejecting
any option fails the test. Only the QEMU started here is ended, by pid, and
every temporary file is removed.
"""
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from qemu_opts import split_opts  # noqa: E402

FLAGS = {"-S", "-nodefaults", "-no-user-config", "-no-hpet", "-enable-kvm",
         "-no-reboot", "-no-shutdown", "-snapshot", "-nographic", "-full-screen"}
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# Audio backends that connect to a sound server, which a test machine has not.
SOUND_SERVERS = {"pa", "pipewire", "jack"}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def join_opts(parts):
    return ",".join(p.replace(",", ",,") for p in parts)


def get(parts, key):
    for p in parts:
        if p.startswith(key + "="):
            return p[len(key) + 1:]
    return None


def put(parts, key, value):
    for i, p in enumerate(parts):
        if p.startswith(key + "="):
            parts[i] = key + "=" + value
            return
    parts.append(key + "=" + value)


def drop(parts, key):
    return [p for i, p in enumerate(parts)
            if i == 0 or not (p == key or p.startswith(key + "="))]


def qemu_lists(qemu, option):
    """The drivers this QEMU lists for `option help` (stdout only: missing
    modules are reported on stderr)."""
    out = subprocess.run([qemu, option, "help"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, timeout=30).stdout
    return {l.strip() for l in out.splitlines()[1:] if l.strip()}


def pairs(argv):
    """(option, value-or-None) for argv[1:]."""
    i = 1
    while i < len(argv):
        if argv[i] in FLAGS or i + 1 == len(argv):
            yield argv[i], None
            i += 1
        else:
            yield argv[i], argv[i + 1]
            i += 2


def fdset_of(value):
    """N for "/dev/fdset/N", else None."""
    if value is not None and value.startswith("/dev/fdset/"):
        return int(value[len("/dev/fdset/"):])
    return None


def procfd_of(value):
    """N for "/proc/self/fd/N", else None."""
    if value is not None and value.startswith("/proc/self/fd/"):
        return int(value[len("/proc/self/fd/"):])
    return None


def swap(argv, qemu, tmp, notes, fds):
    """The argv with stand-ins; fds gets {N: (path, flags)} for every file
    QEMU is to inherit at fd N."""
    audio = qemu_lists(qemu, "-audiodev")
    displays = qemu_lists(qemu, "-display")
    # The files handed as /proc/self/fd/N are the profile's own (kernel,
    # initrd, ROM): their paths come from print-cmd's fd list.
    listed = {}
    for line in subprocess.run([os.environ["VMRUN_BIN"], "print-cmd", os.environ["QA_SRC"]],
                               stdout=subprocess.PIPE, text=True).stdout.splitlines() \
            if os.environ.get("QA_SRC") else []:
        if line.startswith("# fd "):
            n, what = line[5:].split(": ", 1)
            listed[int(n)] = what

    def listed_path(n):
        return listed.get(n, "").split(": ", 1)[-1].rsplit(" (", 1)[0]

    # Without the kernel, -append goes too (QEMU 10 and later refuse it
    # alone).
    kernel_ok = True
    for opt, val in pairs(argv):
        if opt in ("-kernel", "-initrd"):
            n = procfd_of(val)
            if not os.path.exists(val if n is None else listed_path(n)):
                kernel_ok = False
    out = [qemu]
    n_images = 0

    def hand(value, path, flags):
        n = fdset_of(value)
        if n is None:
            return path  # no fd: a path, as before
        fds[n] = (path, flags)
        return value

    for opt, val in pairs(argv):
        if val is None:
            out.append(opt)
            continue
        parts = split_opts(val)
        if opt == "-add-fd":
            out += [opt, val]
            continue
        if opt == "-accel":
            val = "tcg"
        elif opt == "-global" and val.startswith("kvm-pit."):
            notes.append("dropped " + val)
            continue
        elif opt == "-cpu":
            if parts[0] == "host":
                parts[0] = "max"
            parts = drop(parts, "hv-vpindex")
            val = join_opts(parts)
        elif opt == "-chardev" and parts[0] == "socket" and get(parts, "fd") is None:
            put(parts, "path", os.path.join(tmp, get(parts, "id") + ".sock"))
            val = join_opts(parts)
        elif opt == "-chardev" and parts[0] == "file":
            log = os.path.join(tmp, get(parts, "id") + ".log")
            put(parts, "path", hand(get(parts, "path"), log, os.O_WRONLY | os.O_CREAT))
            val = join_opts(parts)
        elif opt == "-object" and parts[0] == "memory-backend-file":
            put(parts, "mem-path", os.path.join(tmp, get(parts, "id") + ".mem"))
            val = join_opts(parts)
        elif opt == "-object" and parts[0] == "input-linux":
            notes.append("dropped input-linux " + get(parts, "evdev"))
            continue
        elif opt == "-drive" and get(parts, "if") == "pflash" and get(parts, "unit") == "1":
            vars_copy = os.path.join(tmp, "OVMF_VARS.fd")
            shutil.copyfile(OVMF_VARS, vars_copy)
            put(parts, "file", hand(get(parts, "file"), vars_copy, os.O_RDWR))
            val = join_opts(parts)
        elif opt == "-drive" and get(parts, "if") == "pflash":
            code = get(parts, "file")
            n = fdset_of(code)
            if n is not None:
                real = listed_path(n)
                fds[n] = (real if os.path.exists(real) else "/usr/share/OVMF/OVMF_CODE_4M.fd",
                          os.O_RDONLY)
        elif opt == "-drive" and get(parts, "if") == "none":
            fmt = get(parts, "format") or "raw"
            # A comma in the name exercises the escaping for real.
            image = os.path.join(tmp, "disk%d,%s" % (n_images, fmt))
            n_images += 1
            subprocess.run(["qemu-img", "create", "-q", "-f", fmt, image, "64M"], check=True)
            ro = get(parts, "readonly") == "on"
            # A cache mode that bypasses the page cache: QEMU opens the
            # image O_DIRECT and (9.1 and later) takes only such an fd from
            # the set, so the supervisor hands it over O_DIRECT.
            direct = os.O_DIRECT if get(parts, "cache") in ("none", "directsync") else 0
            put(parts, "file", hand(get(parts, "file"), image,
                                    (os.O_RDONLY if ro else os.O_RDWR) | direct))
            val = join_opts(parts)
        elif opt == "-device" and parts[0] == "vfio-pci":
            keep = [p for p in parts[1:] if p.split("=")[0] in ("bus", "addr", "multifunction")]
            notes.append("vfio-pci %s -> edu" % get(parts, "host"))
            val = join_opts(["edu"] + keep)
        elif opt == "-netdev" and parts[0] in ("bridge", "tap"):
            notes.append("netdev %s -> user" % parts[0])
            val = join_opts(["user", "id=" + get(parts, "id")])
        elif opt == "-audiodev" and parts[0] not in audio:
            notes.append("audiodev %s -> none (not in this QEMU)" % parts[0])
            parts[0] = "none"
            val = join_opts(parts)
        elif opt == "-audiodev" and parts[0] in SOUND_SERVERS:
            notes.append("audiodev %s -> none (no sound server here)" % parts[0])
            parts[0] = "none"
            val = join_opts(parts)
        elif opt == "-display" and parts[0] not in displays:
            notes.append("display %s -> none (not in this QEMU)" % parts[0])
            val = "none"
        elif opt == "-spice":
            val = join_opts(["unix=on", "addr=" + os.path.join(tmp, "spice.sock"),
                             "disable-ticketing=on"])
        elif opt in ("-kernel", "-initrd", "-append") and not kernel_ok:
            notes.append("dropped %s %s (no such kernel here)" % (opt, val))
            continue
        elif opt in ("-kernel", "-initrd") and procfd_of(val) is not None:
            n = procfd_of(val)
            real = listed_path(n)
            if not os.path.exists(real):
                notes.append("dropped %s %s (no such file here)" % (opt, val))
                continue
            fds[n] = (real, os.O_RDONLY)
        out += [opt, val]
    # A second fd in a set is the read-only twin of a read-write file;
    # an -add-fd whose file was dropped with its option goes too.
    final = []
    for opt, val in pairs(out):
        if opt == "-add-fd":
            fd, fdset = int(get(split_opts(val), "fd")), int(get(split_opts(val), "set"))
            if fd != fdset and fdset in fds:
                fds[fd] = (fds[fdset][0], os.O_RDONLY | (fds[fdset][1] & os.O_DIRECT))
            if fd not in fds:
                continue
        final += [opt] if val is None else [opt, val]
    return [qemu] + final


def place_fds(moves):
    """The fds a child keeps: the sources and the numbers they move to."""
    return tuple(sorted({n for move in moves for n in move}))


def move_fds(moves):
    """In the child: each source fd to its target number (lifted above them
    all first, so that no move overwrites a source still to be moved)."""
    top = max(n for move in moves for n in move) + 1
    lifted = [os.dup2(src, top + i) for i, (_, src) in enumerate(moves)]
    for (target, _), fd in zip(moves, lifted):
        os.dup2(fd, target)
        os.close(fd)


class Qmp:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(30)
        self.buf = b""
        self.next_id = 1

    def read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QEMU closed the QMP socket")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd):
        cid = self.next_id
        self.next_id += 1
        self.sock.sendall(json.dumps({"execute": cmd, "id": cid}).encode() + b"\n")
        while True:
            msg = self.read()
            if msg.get("id") == cid:  # events and anything else pass by
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (cmd, msg["error"]))
                return msg["return"]


def main():
    if len(sys.argv) != 2:
        print("usage: qemu_accepts.py NAME", file=sys.stderr)
        return 2
    name = sys.argv[1]
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None or shutil.which("qemu-img") is None:
        print("SKIP: qemu-system-x86_64 or qemu-img is not installed")
        return 77
    helper = os.environ["CMDLINE_ARGV"]
    src = "--sample" if name == "sample" else os.path.join(
        os.environ["VMRUN_SOURCE_DIR"], "profiles", name + ".json")
    built = subprocess.run([helper, src], stdout=subprocess.PIPE, text=True, check=True)
    argv = built.stdout.splitlines()
    if "-S" not in argv:
        fail("the argv does not start QEMU paused (-S)")

    base = os.environ.get("VMRUN_BUILD_DIR") or None  # disk-backed: O_DIRECT works
    tmp = tempfile.mkdtemp(prefix="cmdline-qemu-", dir=base)
    if len(tmp) > 70:  # unix socket paths are short
        shutil.rmtree(tmp)
        tmp = tempfile.mkdtemp(prefix="vmrun-cmdline-qemu-")
    proc = swtpm = None
    try:
        notes = []
        files = {}
        os.environ["QA_SRC"] = src
        run = swap(argv, qemu, tmp, notes, files)
        for n in notes:
            print("stand-in: " + n)
        print("running: " + " ".join(run))
        errlog = open(os.path.join(tmp, "stderr"), "w+")
        qmp_fd = tpm_fd = None
        for i, a in enumerate(run[:-1]):
            if a == "-chardev" and run[i + 1].startswith("socket,id=qmp,"):
                qmp_fd = int(get(split_opts(run[i + 1]), "fd"))
            if a == "-chardev" and run[i + 1].startswith("socket,id=chrtpm,"):
                tpm_fd = int(get(split_opts(run[i + 1]), "fd"))
        if qmp_fd is None:
            fail("the argv has no QMP socket fd")
        ours, theirs = socket.socketpair()
        # Every fd QEMU inherits at the number the argv names, as the
        # supervisor's qemu_fds_install() puts them (close_fds would undo it:
        # every other fd of this script is close-on-exec already).
        want = {qmp_fd: os.dup(theirs.fileno())}
        for n, (path, flags) in files.items():
            want[n] = os.open(path, flags | os.O_CLOEXEC, 0o600)
        if tpm_fd is not None:
            if shutil.which("swtpm") is None:
                print("SKIP: the argv has a TPM and swtpm is not installed")
                return 77
            tpm_ours, tpm_theirs = socket.socketpair()
            os.mkdir(os.path.join(tmp, "tpm"), 0o700)
            # swtpm takes its end as its fd 3 the same way.
            swtpm = subprocess.Popen(
                ["swtpm", "socket", "--tpm2", "--terminate",
                 "--tpmstate", "dir=%s,mode=0600" % os.path.join(tmp, "tpm"),
                 "--ctrl", "type=unixio,clientfd=3"],
                stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog,
                pass_fds=place_fds([(3, tpm_ours.fileno())]),
                preexec_fn=lambda: move_fds([(3, tpm_ours.fileno())]))
            tpm_ours.close()
            notes.append("swtpm pid %d for the TPM's fd %d" % (swtpm.pid, tpm_fd))
            want[tpm_fd] = os.dup(tpm_theirs.fileno())
            tpm_theirs.close()

        def install():
            lifted = {n: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 200) for n, fd in want.items()}
            for n, fd in lifted.items():
                os.dup2(fd, n)  # inheritable: close-on-exec cleared

        proc = subprocess.Popen(run, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog,
                                preexec_fn=install, close_fds=False)
        for fd in want.values():
            os.close(fd)
        theirs.close()
        qmp = Qmp(ours)
        try:
            greeting = qmp.read()
            if "QMP" not in greeting:
                fail("not a QMP greeting: %r" % greeting)
            qmp.execute("qmp_capabilities")
            status = qmp.execute("query-status")
        except (OSError, EOFError, ValueError, RuntimeError) as e:
            # QEMU opens the socket before it reads every option: a refusal
            # shows up as the socket closing.
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            errlog.seek(0)
            fail("QMP failed (%s); QEMU exit status %s:\n%s" % (e, proc.returncode,
                                                               errlog.read()))
        print("query-status: %r" % status)
        if status.get("status") != "prelaunch" or status.get("running") is not False:
            fail("expected a paused VM in prelaunch, got %r" % status)
        qmp.execute("quit")
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("QEMU did not quit")
        errlog.seek(0)
        warnings = errlog.read().strip()
        if warnings:
            print("QEMU said:\n" + warnings)
        print("ok: QEMU %s accepted the argv of %s" % (greeting["QMP"]["version"]["qemu"], name))
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # ours, by pid
            proc.wait()
        if swtpm is not None:
            try:
                swtpm.wait(timeout=10)  # it ends with QEMU's connection
            except subprocess.TimeoutExpired:
                os.kill(swtpm.pid, signal.SIGKILL)
                swtpm.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
