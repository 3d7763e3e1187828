#!/usr/bin/env python3
"""Nothing can drop out of the installed program silently.

Takes the link command CMake uses for `vmrun` (launcher/CMakeFiles/vmrun.dir/
link.txt), replaces the project's static archives with their member objects,
and links it again leaving out one object at a time. Every such link must
fail: a module whose absence still links is a module nothing in the program
reaches (a feature users would not get). Also checks that the program holds
no undefined weak symbol of the project's and reads no VMRUN_* seam.

usage: check_link.py BUILD_DIR"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

build = os.path.abspath(sys.argv[1])
ldir = os.path.join(build, "launcher")
link = open(os.path.join(ldir, "CMakeFiles", "vmrun.dir", "link.txt")).read().strip()
args = shlex.split(link)
ours = ("libvmrun_core.a", "libvmrun_profile.a", "libvmrun_import.a", "libvmrun_seams_release.a",
        os.path.join("..", "qmp", "libvmrun_qmp.a"))
problems = []

with tempfile.TemporaryDirectory() as tmp:
    objects = [os.path.join(ldir, a) for a in args if a.endswith(".o")]
    rest = []
    out_at = args.index("-o")
    for i, a in enumerate(args):
        if a.endswith(".o") or i in (out_at, out_at + 1) or i == 0:
            continue
        # CMake 3.31 and later have the linker write its dependencies
        # (-Wl,--dependency-file=CMakeFiles/vmrun.dir/link.d, relative to
        # launcher/): CMake's bookkeeping, not part of the program.
        if "--dependency-file" in a:
            continue
        if a in ours:
            sub = os.path.join(tmp, os.path.basename(a))
            os.mkdir(sub)
            subprocess.run(["ar", "x", os.path.join(ldir, a)], cwd=sub, check=True)
            objects += sorted(os.path.join(sub, m) for m in os.listdir(sub))
            continue
        rest.append(os.path.join(ldir, a) if a.startswith("..") or a.startswith("lib") else a)
    cc = args[0]
    flags = [a for a in rest if a.startswith("-") and not a.startswith("-l")]
    libs = [a for a in rest if a not in flags]
    out = os.path.join(tmp, "vmrun")

    def links(objs):
        # From where CMake links (launcher/), so that any other relative
        # argument means what it meant there.
        r = subprocess.run([cc] + flags + objs + ["-o", out] + libs, cwd=ldir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return r.returncode == 0, r.stderr

    ok, msg = links(objects)
    if not ok:
        print(msg)
        sys.exit("the full set of objects does not link")
    for o in objects:
        name = os.path.basename(o)
        if name in ("main.c.o",):
            continue  # without main nothing links anyway
        ok, _ = links([x for x in objects if x != o])
        if ok:
            problems.append(f"{name}: the program links without it, so nothing in it is reached")
    print(f"link: left out each of {len(objects)} objects in turn")

nm = subprocess.run(["nm", os.path.join(ldir, "vmrun")], capture_output=True, text=True,
                    check=True).stdout
for line in nm.splitlines():
    f = line.split()
    if len(f) == 2 and f[0] in ("w", "v") and not re.match(
            r"^(__gmon_start__|_ITM_.*|__cxa_finalize.*)$", f[1]):
        problems.append(f"vmrun has an undefined weak symbol: {f[1]}")
strings = subprocess.run(["strings", os.path.join(ldir, "vmrun")], capture_output=True,
                         text=True, check=True).stdout
for s in sorted(set(re.findall(r"\bVMRUN_[A-Z_]+\b", strings))):
    if not s.startswith("VMRUN_EXIT_"):
        problems.append(f"vmrun holds the name {s}: the installed program reads no VMRUN_ variable")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
