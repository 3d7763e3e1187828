#!/usr/bin/python3
"""Side by side with libvirt: for the same machine, vmrun's argv has the TPM
and Secure Boot pieces libvirt (Debian 12's 9.0) generates for
  <os firmware='efi'><firmware><feature enabled='yes' name='secure-boot'/>...
  <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
Both choose the firmware from the same descriptors, so the build must be the
same file, with the same SMM and secure-flash settings, and the TPM the same
emulator backend and front end. Three machines: Secure Boot with enrolled
keys and tpm-crb; Secure Boot in setup mode; UEFI without Secure Boot and
tpm-tis.

libvirt runs as the import tests run it (tests/import/libvirt_compare.py's
Libvirtd: a private libvirtd in its own mount and network namespaces, its
directories the test's, stopped by its pid). What cannot be the same is not
compared: libvirt names files with -blockdev where vmrun uses -drive
if=pflash and hands the file as an fd (its path read from print-cmd's fd
list), and in domxml-to-native libvirt puts a null chardev where the
running VM has swtpm's socket (vmrun: an inherited socket, fd=N); the
chardev the -tpmdev names must exist on both sides.
Exit 0 when all match, 1 otherwise, 77 when libvirt cannot run here."""
import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from qemu_opts import split_opts  # noqa: E402


def import_harness():
    """The import tests' private-libvirtd harness, loaded from its file."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "import",
                        "libvirt_compare.py")
    spec = importlib.util.spec_from_file_location("import_libvirt_compare", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

VMRUN = os.environ.get("VMRUN_RELEASE_BIN", "vmrun")

CASES = [
    ("secure-enrolled", {"type": "uefi", "secure_boot": True}, {"model": "crb"},
     "<feature enabled='yes' name='secure-boot'/><feature enabled='yes' name='enrolled-keys'/>",
     "tpm-crb"),
    ("secure-setup", {"type": "uefi", "secure_boot": True, "enrolled_keys": False},
     {"model": "crb"},
     "<feature enabled='yes' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/>",
     "tpm-crb"),
    ("plain", {"type": "uefi"}, {"model": "tis"},
     "<feature enabled='no' name='secure-boot'/>", "tpm-tis"),
]


def domain_xml(name, features, tpm_model):
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os firmware='efi'>
    <type arch='x86_64' machine='q35'>hvm</type>
    <firmware>%s</firmware>
  </os>
  <features><acpi/></features>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <tpm model='%s'><backend type='emulator' version='2.0'/></tpm>
  </devices>
</domain>
""" % (name, features, tpm_model)


def vmrun_argv(tmp, name, firmware, tpm):
    profile = {"name": name, "qemu": {"accel": "tcg"}, "cpu": {"model": "qemu64"},
               "memory": {"size": "512M"}, "firmware": firmware, "tpm": tpm,
               "serial": "none", "display": "none"}
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(profile, f)
    out = subprocess.run([VMRUN, "print-cmd", path], stdout=subprocess.PIPE, check=True,
                         text=True).stdout
    command = "\n".join(l for l in out.splitlines() if not l.startswith("#"))
    argv = shlex.split(command.replace(" \\\n", " "))
    # Files reach QEMU as fds (/dev/fdset/N); the "# fd N: what: PATH
    # (access)" lines after the command say which.
    fds = {}
    for l in out.splitlines():
        m = re.match(r"^# fd (\d+): [^:]+: (/\S+) \(", l)
        if m:
            fds["/dev/fdset/" + m.group(1)] = m.group(2)
    return [fds.get(a, a) if a.startswith("/dev/fdset/") else
            re.sub(r"file=(/dev/fdset/\d+)", lambda m: "file=" + fds.get(m.group(1), m.group(1)), a)
            for a in argv]


def pairs(argv):
    for i in range(1, len(argv) - 1):
        if argv[i].startswith("-"):
            yield argv[i], argv[i + 1]


def opts(value):
    """QEMU's key=value list, ',,' being a literal comma (the first part,
    without '=', under the key '')."""
    parts = split_opts(value)
    out = {}
    for p in parts:
        k, _, v = p.partition("=")
        if _:
            out[k] = v
        else:
            out[""] = k
    return out


def parsed(value):
    """A -device/-blockdev value in JSON or in QEMU's key=value form."""
    if value.startswith("{"):
        return json.loads(value)
    o = opts(value)
    if "" in o:
        o["driver"] = o.pop("")
    return o


def facts(argv):
    """The firmware and TPM facts of an argv."""
    f = {"code": None, "code_readonly": False, "smm": False, "secure_flash": False,
         "tpm_backend": None, "tpm_device": None, "tpm_chardev_exists": False}
    chardevs, tpm_chardev = set(), None
    blockdevs = {}
    for opt, val in pairs(argv):
        if opt == "-machine":
            f["smm"] = opts(val).get("smm") == "on"
        elif opt == "-global":
            f["secure_flash"] |= val == "driver=cfi.pflash01,property=secure,value=on"
        elif opt == "-bios":
            f["bios"] = val
        elif opt == "-drive":
            o = opts(val)
            if o.get("if") == "pflash" and o.get("unit") == "0":
                f["code"] = o.get("file")
                f["code_readonly"] = o.get("readonly") == "on"
        elif opt == "-blockdev":
            b = json.loads(val)
            blockdevs[b["node-name"]] = b
        elif opt == "-chardev":
            o = opts(val)
            chardevs.add(o.get("id"))
        elif opt == "-tpmdev":
            o = opts(val)
            f["tpm_backend"] = o.get("")
            tpm_chardev = o.get("chardev")
        elif opt == "-device":
            d = parsed(val)
            if str(d.get("driver", "")).startswith("tpm-"):
                f["tpm_device"] = d["driver"]
    # libvirt: pflash0=NODE on -machine, a format node over a file node.
    for opt, val in pairs(argv):
        if opt == "-machine" and "pflash0" in opts(val):
            fmt = blockdevs.get(opts(val)["pflash0"], {})
            storage = blockdevs.get(fmt.get("file"), {})
            f["code"] = storage.get("filename")
            f["code_readonly"] = fmt.get("read-only") is True
    f["tpm_chardev_exists"] = tpm_chardev is not None and tpm_chardev in chardevs
    return f


def main():
    import shutil
    import tempfile
    if os.geteuid() != 0:
        print("SKIP: needs root (a private libvirtd in its own namespaces)")
        return 77
    for tool in ("libvirtd", "virsh", "unshare"):
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed (scripts/install-deps.sh)" % tool)
            return 77
    tmp = tempfile.mkdtemp(prefix="vmrun-libvirt-compare-")
    lv = None
    try:
        lv = import_harness().Libvirtd(os.path.join(tmp, "libvirt"))
        bad = 0
        for name, firmware, tpm, features, model in CASES:
            xml = os.path.join(tmp, name + ".xml")
            with open(xml, "w") as f:
                f.write(domain_xml("win11-lv-" + name, features, model))
            theirs, why = lv.to_native(xml)
            if theirs is None:
                print("FAIL: %s: libvirt refused the XML: %s" % (name, why))
                bad += 1
                continue
            ours = facts(vmrun_argv(tmp, "win11-lv-" + name, firmware, tpm))
            ref = facts(theirs)
            if ref.pop("bios", None) is not None and name == "plain" and ours["code"]:
                # libvirt 12 with OVMF 2026.08 takes the first descriptor that
                # fits, the stateless AMD SEV build (60-edk2-x86_64-amdsev.json,
                # loaded with -bios): a VM without a variable store keeps no
                # boot entries. vmrun takes the plain build with its store.
                print("note: %s: libvirt chose the stateless %s; vmrun the flash build %s"
                      % (name, theirs[theirs.index("-bios") + 1], ours["code"]))
                ref["code"], ref["code_readonly"] = ours["code"], ours["code_readonly"]
            ours.pop("bios", None)
            for k in sorted(ref):
                if ours[k] != ref[k]:
                    print("FAIL: %s: %s: vmrun %r, libvirt %r" % (name, k, ours[k], ref[k]))
                    bad += 1
            if ref["code"] is None or ref["tpm_device"] is None:
                print("FAIL: %s: libvirt's argv has no firmware or TPM: %r" % (name, theirs))
                bad += 1
            print("%s: %s" % (name, json.dumps(ours, sort_keys=True)))
        if bad:
            return 1
        print("PASS: the firmware and TPM pieces match libvirt's")
        return 0
    finally:
        if lv is not None:
            lv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
