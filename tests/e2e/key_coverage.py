#!/usr/bin/env python3
"""Every profile key documented in profiles/README.md has an end-to-end
test: a row in the table under "## Profile keys and their end-to-end tests"
of tests/README.md, naming tests that ctest has registered (`ctest -N`) and
scripts that exist.

    key_coverage.py SOURCE_DIR BUILD_DIR [--values]

With --values (the test e2e_key_values, run after every other test of the
build), each test a row names must also have set the key to a value other
than its default in a profile it ran: the test build (vmrun-test) appends
every profile it accepts to the test's key log, BUILD/key-log/TEST.jsonl
(launcher/sys/keylog.h), and the harnesses add there the profiles they give
the installed vmrun (tests/e2e/e2elib.py, tests/common/keylog.sh). A key's
default comes from DEFAULTS below, which must agree with the "default"
column of profiles/README.md; a key documented without a default (none,
QEMU picks, ...) counts as set whenever a profile has it.

Keys are read from the tables of the "## Keys" section of
profiles/README.md: each "### `section`" heading gives the prefix ("###
Top level": none; a section whose heading says "(array" gives "section[]"),
and each backticked name in a row's first cell is one key ("`sockets`,
`cores`, `threads`" are three; "`pin.vcpus`" becomes "cpu.pin.vcpus").
Prints every key with its tests; fails on a key without a row, a row for
a key that is not documented, a test ctest does not know, or a script
that is not there."""
import json
import os
import re
import subprocess
import sys

TABLE_HEADING = "## Profile keys and their end-to-end tests"

# Defaults profiles/README.md gives as a JSON value: its "default" cell
# starts with this value in backticks (checked below).
DEFAULTS = {
    "display": "none", "serial": "log",
    "qemu.binary": "qemu-system-x86_64", "qemu.machine": "q35", "qemu.accel": "kvm",
    "qemu.extra_args": [],
    "firmware.secure_boot": False,
    "tpm.model": "crb",
    "cpu.model": "host",
    "cpu.realtime": False, "cpu.hyperv": False, "cpu.dedicated": False,
    "cpu.idle_in_guest": False, "cpu.hide_hypervisor": False, "cpu.governor_scope": "vm",
    "cpu.isolate": False,
    "memory.hugepages": False, "memory.numa_node": "auto", "memory.drop_caches": False,
    "pci[].take_group": False, "pci[].rombar": True,
    "handoff.display_manager": "auto", "handoff.session_units": [],
    "handoff.kill_holders": False, "handoff.timeout": 30,
    "disks[].bus": "virtio", "disks[].media": "disk", "disks[].readonly": False,
    "disks[].iothread": False,
    "network[].type": "user", "network[].model": "virtio-net-pci",
    "audio.backend": "pipewire", "audio.device": "hda",
    "input[].grab_toggle": "ctrl-ctrl", "input[].required": False,
    "looking_glass.device": "/dev/kvmfr0",
    "shutdown.timeout": 120,
}
# Defaults that are QEMU's own (the README's cell starts "QEMU's").
QEMU_DEFAULTS = {
    "disks[].cache": "writeback", "disks[].aio": "threads", "disks[].discard": "ignore",
}
# Defaults that depend on the rest of the object the key is in.
CONDITIONAL = {
    "firmware.type": lambda o: "uefi" if set(o) - {"type"} else "bios",
    "firmware.enrolled_keys": lambda o: o.get("secure_boot", False),
    "disks[].format": lambda o: "qcow2" if str(o.get("path", "")).endswith(".qcow2") else "raw",
    # "each 1" once any of the three is given (only when none is does
    # pin.vcpus decide).
    "cpu.sockets": lambda o: 1, "cpu.cores": lambda o: 1, "cpu.threads": lambda o: 1,
}


def section(text, heading):
    """The lines under a "## " heading, up to the next one."""
    lines = text.splitlines()
    out, inside = [], False
    for line in lines:
        if line.startswith("## "):
            inside = line.strip() == heading
            continue
        if inside:
            out.append(line)
    return out


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def documented_keys(readme):
    return [k for k, _ in documented_defaults(readme)]


def documented_defaults(readme):
    """[(key, its "default" cell)] in the order profiles/README.md has them."""
    keys = []
    prefix = None
    for line in section(readme, "## Keys"):
        m = re.match(r"^### (.*)$", line)
        if m:
            title = m.group(1).strip()
            if title.lower() == "top level":
                prefix = ""
            else:
                n = re.match(r"^`([^`]+)`(.*)$", title)
                if not n:
                    raise SystemExit("profiles/README.md: cannot read the section heading %r" % line)
                prefix = n.group(1) + ("[]" if n.group(2).strip().startswith("(array") else "")
            continue
        if prefix is None or not line.startswith("|"):
            continue
        first = cells(line)[0]
        if first == "key" or set(first) <= set("-: "):
            continue
        names = re.findall(r"`([^`]+)`", first)
        if not names:
            raise SystemExit("profiles/README.md: a key row without a `key`: %r" % line)
        row = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        default = row[2] if len(row) > 2 else ""
        for n in names:
            keys.append((prefix + "." + n if prefix else n, default))
    return keys


def defaults_problems(documented):
    """Where DEFAULTS and the README's "default" column disagree."""
    problems = []
    cells = dict(documented)
    for k, v in DEFAULTS.items():
        want = "`%s`" % json.dumps(v)
        if k not in cells:
            problems.append("key_coverage.py: DEFAULTS names %s, which profiles/README.md "
                            "does not document" % k)
        elif not cells[k].startswith(want):
            problems.append("%s: profiles/README.md gives the default %r; key_coverage.py "
                            "says %s" % (k, cells[k], want))
    for k in QEMU_DEFAULTS:
        if not cells.get(k, "").startswith("QEMU's"):
            problems.append("%s: key_coverage.py takes QEMU's default, profiles/README.md "
                            "says %r" % (k, cells.get(k)))
    for k, cell in cells.items():
        if re.match(r"^`[^`]+`$", cell) and k not in DEFAULTS:
            problems.append("%s: profiles/README.md gives the default %s: add it to DEFAULTS "
                            "in key_coverage.py" % (k, cell))
    return problems


def values_at(doc, key):
    """[(value, the object holding it)] for every place key is set in a
    profile (array members as `disks[].bus`)."""
    found = []

    def walk(obj, parts):
        if not isinstance(obj, dict):
            return
        name, rest = parts[0], parts[1:]
        array = name.endswith("[]")
        name = name[:-2] if array else name
        if name not in obj:
            return
        v = obj[name]
        if array:
            for member in v if isinstance(v, list) else []:
                walk(member, rest)
        elif rest:
            walk(v, rest)
        else:
            found.append((v, obj))

    walk(doc, re.sub(r"\[\]", "[]", key).split("."))
    return found


def is_default(key, value, holder):
    if key in CONDITIONAL:
        return value == CONDITIONAL[key](holder)
    if key in DEFAULTS:
        return value == DEFAULTS[key]
    if key in QEMU_DEFAULTS:
        return value == QEMU_DEFAULTS[key]
    return False


def key_log(build, test):
    """The profiles a test ran (None: it wrote no key log)."""
    path = os.path.join(build, "key-log", test + ".jsonl")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def short(v):
    t = json.dumps(v)
    return t if len(t) <= 40 else t[:37] + "..."


def check_values(keys, rows, build):
    """Problems, and the tests whose key log is missing."""
    problems, missing = [], set()
    logs = {}
    for k in keys:
        if k not in rows:
            continue
        for test in rows[k][0]:
            if test not in logs:
                logs[test] = key_log(build, test)
            profiles = logs[test]
            if profiles is None:
                missing.add(test)
                continue
            seen = [(v, h) for doc in profiles for v, h in values_at(doc, k)]
            set_to = sorted({short(v) for v, h in seen if not is_default(k, v, h)})
            if set_to:
                print("    %-28s %-26s sets it to %s" % (k, test, ", ".join(set_to[:4])))
            elif seen:
                problems.append("%s: %s runs it only with its default (%s)" %
                                (k, test, ", ".join(sorted({short(v) for v, _ in seen}))))
            else:
                problems.append("%s: %s never sets it (%d profiles in its key log)" %
                                (k, test, len(profiles)))
    return problems, missing


def table_rows(readme):
    rows = {}
    problems = []
    for line in section(readme, TABLE_HEADING):
        if not line.startswith("|"):
            continue
        c = cells(line)
        if c[0] == "key" or set(c[0]) <= set("-: "):
            continue
        if len(c) < 2:
            problems.append("tests/README.md: a row without a test column: %r" % line)
            continue
        key = re.findall(r"`([^`]+)`", c[0])
        if len(key) != 1:
            problems.append("tests/README.md: a row must name exactly one `key`: %r" % line)
            continue
        # Tests are the backticked names outside parentheses; the
        # parentheses hold their scripts, comma-separated.
        groups = re.findall(r"\(([^)]*)\)", c[1])
        tests = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", c[1]))
        scripts = [p.strip() for g in groups for p in g.split(",") if "/" in p]
        if key[0] in rows:
            problems.append("tests/README.md: two rows for %s" % key[0])
        rows[key[0]] = (tests, scripts)
    return rows, problems


def registered_tests(build):
    out = subprocess.run(["ctest", "-N"], cwd=build, capture_output=True, text=True).stdout
    return set(re.findall(r"^\s*Test\s+#\d+: (\S+)", out, re.M))


def main():
    args = [a for a in sys.argv[1:] if a != "--values"]
    values = "--values" in sys.argv[1:]
    if len(args) != 2:
        raise SystemExit("usage: key_coverage.py SOURCE_DIR BUILD_DIR [--values]")
    src, build = args
    with open(os.path.join(src, "profiles/README.md")) as f:
        documented = documented_defaults(f.read())
    keys = [k for k, _ in documented]
    with open(os.path.join(src, "tests/README.md")) as f:
        text = f.read()
    if TABLE_HEADING not in text:
        raise SystemExit("tests/README.md has no heading %r" % TABLE_HEADING)
    rows, problems = table_rows(text)
    tests = registered_tests(build)
    if not tests:
        problems.append("ctest -N in %s lists no tests" % build)
    if len(keys) < 20:
        problems.append("only %d keys found in profiles/README.md: is the parser still right?" %
                        len(keys))

    for k in keys:
        if k not in rows:
            problems.append("%s: documented in profiles/README.md, no row in tests/README.md" % k)
            print("%-30s (none)" % k)
            continue
        names, scripts = rows[k]
        print("%-30s %s" % (k, ", ".join(names) or "(none)"))
        if not names:
            problems.append("%s: its row names no test" % k)
        for n in names:
            if n not in tests:
                problems.append("%s: test %s is not registered in ctest" % (k, n))
        for s in scripts:
            if not os.path.exists(os.path.join(src, s)):
                problems.append("%s: %s does not exist" % (k, s))
    for k in rows:
        if k not in keys:
            problems.append("%s: a row in tests/README.md, but profiles/README.md does not "
                            "document it" % k)
    print("%d documented keys, %d rows" % (len(keys), len(rows)))
    problems += defaults_problems(documented)
    missing = set()
    if values:
        print("the values each test set (its key log, %s/key-log):" % build)
        more, missing = check_values(keys, rows, build)
        problems += more
    for p in problems:
        print("FAIL: " + p)
    if missing:
        why = ("no key log from %s: they did not run in this build since it was made "
               "(this test reads what the whole suite wrote: scripts/test.sh, or "
               "ctest -LE lab then ctest -L lab)" % ", ".join(sorted(missing)))
        if os.environ.get("VMRUN_LAB") == "1" or problems:
            print("FAIL: " + why)
            sys.exit(1)
        print("SKIP: " + why)
        sys.exit(77)
    sys.exit(1 if problems else 0)


main()
