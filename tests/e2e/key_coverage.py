#!/usr/bin/env python3
"""Every profile key documented in profiles/README.md has an end-to-end
test: a row in the table under "## Profile keys and their end-to-end tests"
of tests/README.md, naming tests that ctest has registered (`ctest -N`) and
scripts that exist.

    key_coverage.py SOURCE_DIR BUILD_DIR

Keys are read from the tables of the "## Keys" section of
profiles/README.md: each "### `section`" heading gives the prefix ("###
Top level": none; a section whose heading says "(array" gives "section[]"),
and each backticked name in a row's first cell is one key ("`sockets`,
`cores`, `threads`" are three; "`pin.vcpus`" becomes "cpu.pin.vcpus").
Prints every key with its tests; fails on a key without a row, a row for
a key that is not documented, a test ctest does not know, or a script
that is not there."""
import os
import re
import subprocess
import sys

TABLE_HEADING = "## Profile keys and their end-to-end tests"


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
        for n in names:
            keys.append(prefix + "." + n if prefix else n)
    return keys


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
    if len(sys.argv) != 3:
        raise SystemExit("usage: key_coverage.py SOURCE_DIR BUILD_DIR")
    src, build = sys.argv[1:]
    with open(os.path.join(src, "profiles/README.md")) as f:
        keys = documented_keys(f.read())
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
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1 if problems else 0)


main()
