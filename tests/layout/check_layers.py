#!/usr/bin/env python3
"""The tree shows the architecture (launcher/README.md), and this keeps it so.

launcher/ is layered; a file may include headers of its own layer and of the
layers before it, never of a later one, so there are no include cycles
between folders. The host resources (host/pci, host/memory, ...) are
siblings: none includes another; the plan above them ties them together.
Every folder must be listed in launcher/README.md with what it owns.
Exit 0 when all holds; otherwise every violation is printed and exit 1."""
import os
import re
import sys

LAYERS = ["base", "profile", "import", "sys", "journal", "priv", "host", "plan", "qemu",
          "supervisor", "check", "cli"]

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
launcher = os.path.join(top, "launcher")
problems = []


def unit_of(rel):
    """('host', 'host/pci') for host/pci/pci_bind.h; ('cli', 'cli') for cli/main.c."""
    parts = rel.split("/")
    if len(parts) < 2:
        return None, None
    layer = parts[0]
    unit = "/".join(parts[:2]) if layer == "host" and len(parts) > 2 else layer
    return layer, unit


folders = set()
for root, dirs, files in os.walk(launcher):
    rel_root = os.path.relpath(root, launcher)
    for f in files:
        if not f.endswith((".c", ".h")):
            continue
        rel = os.path.normpath(os.path.join(rel_root, f))
        layer, unit = unit_of(rel)
        if layer is None:
            problems.append(f"launcher/{rel}: every source belongs in a layer folder")
            continue
        if layer not in LAYERS:
            problems.append(f"launcher/{rel}: folder '{layer}' is not a known layer "
                            f"(tests/layout/check_layers.py lists them in order)")
            continue
        folders.add(unit)
        text = open(os.path.join(root, f), encoding="utf-8").read()
        for n, line in enumerate(text.splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            inc = m.group(1)
            if "/" not in inc:
                if inc not in ("qmp.h",):
                    problems.append(f"launcher/{rel}:{n}: include \"{inc}\" by its layer path")
                continue
            ilayer, iunit = unit_of(inc)
            if ilayer not in LAYERS:
                problems.append(f"launcher/{rel}:{n}: \"{inc}\" is in no layer")
                continue
            if not os.path.exists(os.path.join(launcher, inc)):
                problems.append(f"launcher/{rel}:{n}: \"{inc}\" does not exist")
            if LAYERS.index(ilayer) > LAYERS.index(layer):
                problems.append(f"launcher/{rel}:{n}: {unit} includes \"{inc}\" from {iunit}, "
                                f"a later layer")
            elif ilayer == "host" and layer == "host" and iunit != unit and iunit != "host":
                problems.append(f"launcher/{rel}:{n}: {unit} includes \"{inc}\": host "
                                f"resources do not include each other")

readme = open(os.path.join(launcher, "README.md"), encoding="utf-8").read()
for unit in sorted(folders):
    if not re.search(r"`%s/`" % re.escape(unit), readme):
        problems.append(f"launcher/{unit}/ is not described in launcher/README.md")

for p in problems:
    print(p)
if problems:
    print(f"{len(problems)} layout problem(s)")
    sys.exit(1)
print(f"layout: {len(folders)} folders in {len(LAYERS)} layers, no include reaches up")
