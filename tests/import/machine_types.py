#!/usr/bin/python3
"""machine_types.py: versioned machine types (qemu.machine "pc-q35-X.Y")
against this machine's real QEMU, whichever stack it is: QEMU drops them
six years after their release (11.x has no pc-q35 before 5.2) and has none
newer than itself (7.2 has no pc-q35-10.1), so a type libvirt wrote on
another host, or years ago, may not be there.

For each of pc-q35-3.1, 7.2, 10.1 and 11.1, against what
`qemu-system-x86_64 -machine help` lists:
  vmrun import   a domain with that type keeps it when QEMU has it (with a
                 warning note when QEMU calls it deprecated), else gets
                 QEMU's newest versioned q35 type and a host-specific note
                 naming both (exit 3)
  vmrun check    qemu.machine passes (warns when deprecated); a type QEMU
                 lacks fails, with the newest type as the fix
  vmrun start    refuses a type QEMU lacks before touching anything (exit
                 1, the fix in the message, no runtime or state directory);
                 runs every type it has, and the one import chose instead
                 (QMP qom-get /machine type, on a firmware-only VM)
Every stack lacks at least one of the four and has at least one: the test
fails if either list is empty, so that it never passes by checking nothing.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2elib as e  # noqa: E402

TYPES = ["pc-q35-3.1", "pc-q35-7.2", "pc-q35-10.1", "pc-q35-11.1"]

XML = """<domain type='kvm'>
  <name>%s</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='%s'>hvm</type>
  </os>
</domain>
"""


def listing():
    """(types this QEMU has, those it calls deprecated, its newest pc-q35)."""
    out = subprocess.run(["qemu-system-x86_64", "-machine", "help"], capture_output=True,
                         text=True, check=True).stdout
    has, deprecated, q35 = set(), set(), []
    for line in out.splitlines()[1:]:
        if not line.strip():
            continue
        name = line.split()[0]
        has.add(name)
        if "(deprecated)" in line:
            deprecated.add(name)
        m = re.fullmatch(r"pc-q35-(\d+)\.(\d+)", name)
        if m:
            q35.append(((int(m.group(1)), int(m.group(2))), name))
    return has, deprecated, max(q35)[1]


def check_item(t, profile):
    """vmrun check --json PROFILE's qemu.machine item (or {})."""
    code, out, err = e.run([e.RELEASE_BIN, "check", "--json", profile])
    try:
        items = json.loads(out)["checks"]
    except (ValueError, KeyError):
        t.check(False, "vmrun check --json %s answers in JSON" % profile, out + err)
        return {}
    return next((i for i in items if i["name"] == "qemu.machine"), {})


def body(t):
    has, deprecated, newest = listing()
    present = [m for m in TYPES if m in has]
    absent = [m for m in TYPES if m not in has]
    t.log("this QEMU has %s, lacks %s; its newest is %s; deprecated here: %s" %
          (present, absent, newest, sorted(m for m in present if m in deprecated)))
    t.check(present and absent, "this QEMU has some of the types tried and lacks others")

    for m in TYPES:
        xml = t.path(m + ".xml")
        with open(xml, "w") as f:
            f.write(XML % ("mt", m))
        code, out, err = e.run([e.RELEASE_BIN, "import", xml])
        try:
            got = json.loads(out).get("qemu", {}).get("machine")
        except ValueError:
            t.check(False, "vmrun import of %s writes a profile" % m, err)
            continue
        notes = [l for l in err.splitlines() if "<type> machine=" in l]
        if m in has:
            t.equal(got, m, "import keeps %s, which this QEMU has" % m)
            if m in deprecated:
                t.check(len(notes) == 1 and ": warning: " in notes[0] and "deprecated" in notes[0]
                        and newest in notes[0],
                        "... with a warning that this QEMU calls it deprecated", err)
            else:
                t.equal(notes, [], "... without a note")
            t.equal(code, 0, "... and exits 0")
        else:
            t.equal(got, newest, "import gives %s, which this QEMU lacks, its newest type" % m)
            t.check(len(notes) == 1 and ": host-specific: " in notes[0] and m in notes[0]
                    and newest in notes[0], "... with a host-specific note naming both", err)
            t.equal(code, 3, "... and exits 3: something did not carry over")

        # vmrun check, of a profile naming the type itself.
        prof = t.path(m + ".json")
        with open(prof, "w") as f:
            json.dump(e.firmware_profile(name="e2e-mt-%d" % os.getpid(),
                                         qemu={"accel": "tcg", "machine": m}), f)
        item = check_item(t, prof)
        if m not in has:
            t.check(item.get("result") == "FAIL" and m in item.get("detail", "") and
                    '"%s"' % newest in (item.get("hint") or ""),
                    "vmrun check: %s fails, with %s as the fix" % (m, newest), item)
        elif m in deprecated:
            t.check(item.get("result") == "WARN" and "deprecated" in item.get("detail", ""),
                    "vmrun check: %s warns that it is deprecated" % m, item)
        else:
            t.equal(item.get("result"), "PASS", "vmrun check: %s passes" % m)

    # vmrun start of a type this QEMU lacks: refused before anything.
    for m in absent:
        vm = t.vm("mt-absent", e.firmware_profile(qemu={"accel": "tcg", "machine": m}),
                  qmp=False)
        code, out, err = vm.vmrun("start", "--detach", vm.file)
        t.equal(code, 1, "vmrun start refuses %s, which this QEMU lacks (exit 1)" % m)
        t.check(("qemu.machine \"%s\"" % m) in err and ('"%s"' % newest) in err,
                "... saying so, with %s as the fix" % newest, err)
        t.check(not os.path.exists(vm.run_dir) and not os.path.exists(vm.state_dir),
                "... before anything is made (no runtime or state directory)")
        break

    # vmrun start of every type it has, and the one import chose instead.
    for m in sorted(set(present + [newest])):
        vm = t.vm("mt-" + m, e.firmware_profile(qemu={"accel": "tcg", "machine": m}))
        vm.start()
        t.equal(vm.qmp().qom_get("/machine", "type"), m + "-machine",
                "vmrun start runs %s: QEMU's machine is that type" % m)
        vm.stop("--force")


if __name__ == "__main__":
    e.Test("machine-types").run(body)
