#!/usr/bin/python3
"""libvirt_argv.py DOMAIN.xml: the QEMU argv libvirt generates for a domain
XML, one element per line: `virsh domxml-to-native qemu-argv` with
Debian 12's libvirt (9.0), as a reference to compare vmrun's argv with.

No daemon runs and nothing on the host changes: virsh loads libvirt's QEMU
driver in its own process (the qemu:///embed URI, all of its state under a
temporary root that is removed afterwards), inside a private mount
namespace (unshare -m) where /etc/passwd and /etc/group are bind-mounted
copies that also name the libvirt-qemu user and group, which the driver
looks up at start (libvirt's Debian packaging makes them; the test machine
may lack them); its qemu.conf then names root, so nothing ever runs as them
(and no VM is started: the argv is printed). The driver probes the QEMU binary of the XML's <emulator> for
its capabilities, which takes seconds (minutes on a loaded machine); its
cache (the embedded root's cache/ directory, which libvirt itself renews
when QEMU or libvirt change) is kept in $VMRUN_LIBVIRT_CACHE, by default
libvirt-cache/ in the build directory ($VMRUN_BUILD_DIR), so only the first
run pays for it.

Also usable as a module: argv(xml_text) returns the list; argvs([xml_text,
...]) the lists for several XMLs from one virsh (the capability probe, the
slow part, is done once).
Exit 0 with the argv on stdout; 77 when this machine cannot run it (not
root, or virsh, unshare or libvirt's QEMU driver missing); 1 when libvirt
refuses the XML (its message on stderr)."""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

QEMU_DRIVER = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"


class Unavailable(Exception):
    pass


def _with_user(src, line):
    text = open(src).read()
    if any(l.split(":")[0] == line.split(":")[0] for l in text.splitlines()):
        return text
    return text + ("" if text.endswith("\n") else "\n") + line + "\n"


MARK = "---vmrun-libvirt-argv-next---"


def argv(xml_text):
    return argvs([xml_text])[0]


def argvs(xml_texts):
    if os.geteuid() != 0:
        raise Unavailable("needs root (a private mount namespace)")
    for tool in ("virsh", "unshare"):
        if shutil.which(tool) is None:
            raise Unavailable("%s is not installed" % tool)
    if not os.path.exists(QEMU_DRIVER):
        raise Unavailable("libvirt's QEMU driver is not installed (libvirt-daemon-driver-qemu)")
    tmp = tempfile.mkdtemp(prefix="vmrun-libvirt-")
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        # The capability probe runs QEMU as the configured user; as
        # libvirt-qemu it cannot open /dev/kvm here, finds the cached
        # capabilities stale each time and probes again and again (minutes).
        with open(os.path.join(root, "etc", "qemu.conf"), "w") as f:
            f.write('user = "root"\ngroup = "root"\n')
        cache = os.environ.get("VMRUN_LIBVIRT_CACHE") or (
            os.path.join(os.environ["VMRUN_BUILD_DIR"], "libvirt-cache")
            if os.environ.get("VMRUN_BUILD_DIR") else None)
        if cache is not None:
            os.makedirs(cache, mode=0o700, exist_ok=True)
            os.symlink(cache, os.path.join(root, "cache"))
        with open(os.path.join(tmp, "passwd"), "w") as f:
            f.write(_with_user("/etc/passwd",
                               "libvirt-qemu:x:64055:64055:Libvirt Qemu:/nonexistent:"
                               "/usr/sbin/nologin"))
        with open(os.path.join(tmp, "group"), "w") as f:
            f.write(_with_user("/etc/group", "libvirt-qemu:x:64055:"))
        commands = []
        for i, text in enumerate(xml_texts):
            path = os.path.join(tmp, "domain%d.xml" % i)
            with open(path, "w") as f:
                f.write(text)
            commands.append("domxml-to-native qemu-argv %s; echo %s" % (path, MARK))
        script = ('mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group && '
                  'exec virsh -q -c "qemu:///embed?root=$1/root" "$2"')
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                            "sh", tmp, "; ".join(commands)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("libvirt refused an XML: " + r.stderr.strip())
        out = []
        for chunk in r.stdout.split(MARK)[:len(xml_texts)]:
            words = shlex.split(chunk)
            # Environment assignments come first, then the binary.
            while words and "=" in words[0] and not words[0].startswith("/"):
                words.pop(0)
            out.append(words)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        print("usage: libvirt_argv.py DOMAIN.xml", file=sys.stderr)
        return 2
    try:
        words = argv(open(sys.argv[1]).read())
    except Unavailable as e:
        print("SKIP: " + str(e))
        return 77
    except RuntimeError as e:
        print(str(e), file=sys.stderr)
        return 1
    for w in words:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
