#!/usr/bin/env python3
"""The tests a suite run skipped, and whether each may skip here.

    skips.py TESTS_README JUNIT.xml...

Reads the JUnit files ctest wrote (--output-junit) and prints every skipped
test with the reason it gave (its "SKIP: ..." line). A skip counts as a
pass only for a test listed, with its reason, in the table under "## Tests
this machine kind cannot run" of tests/README.md; any other skip is a
failure (exit 1): a test that cannot run here either gets what it needs
from scripts/install-deps.sh or is listed there, with why.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

HEADING = "## Tests this machine kind cannot run"


def allowed(readme):
    """{test: reason} from the table under HEADING."""
    out, inside = {}, False
    with open(readme) as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == HEADING
                continue
            if not inside or not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            names = re.findall(r"`([^`]+)`", cells[0])
            if len(cells) >= 2 and names:
                for n in names:
                    out[n] = cells[1]
    return out


def reason(case):
    """The test's own word on why it skipped: its last "SKIP" line."""
    text = case.findtext("system-out") or ""
    lines = [l.strip() for l in text.splitlines() if "SKIP" in l]
    return lines[-1] if lines else "(it gave no reason)"


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: skips.py TESTS_README [JUNIT.xml...]")
    ok = allowed(sys.argv[1])
    skipped = []
    for path in sys.argv[2:]:
        if not os.path.exists(path):
            continue
        # scripts/test.sh names them RUN-BUILD.xml
        suite = os.path.basename(path).rsplit(".", 1)[0].split("-", 1)[-1]
        for case in ET.parse(path).getroot().iter("testcase"):
            if case.get("status") == "notrun" or case.find("skipped") is not None:
                skipped.append((suite, case.get("name"), reason(case)))
    if not skipped:
        print("skipped tests: none")
        return 0
    bad = 0
    print("skipped tests:")
    for suite, name, why in skipped:
        if name in ok:
            print("  %-28s %-12s %s (listed: %s)" % (name, suite, why, ok[name]))
        else:
            bad += 1
            print("  %-28s %-12s %s: NOT LISTED in tests/README.md (%s): a failure" %
                  (name, suite, why, HEADING[3:]))
    return 1 if bad else 0


sys.exit(main())
