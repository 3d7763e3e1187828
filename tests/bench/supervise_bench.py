#!/usr/bin/python3
"""Benchmark: what vmrun's supervision costs over bare QEMU.

Prints figures; it is not a test. For a small firmware-only TCG VM (one
vCPU, pinned), median of RUNS runs each:
  start -> running   vmrun: `vmrun start --detach` until it returns (the VM
                     runs: vCPUs pinned, `cont` done); bare: this script
                     launches the same argv (from `vmrun print-cmd`), connects
                     QMP, reads the vCPU thread ids, pins them, sends `cont`.
  stop -> all exited vmrun: `vmrun stop --force` until it returns (QEMU
                     reaped, host cleaned, runtime directory gone); bare: QMP
                     `quit` until QEMU has exited.
and the supervisor's RSS while the VM runs.

usage: supervise_bench.py VMRUN_BIN [RUNS]   (run as root or as a user)
"""
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

VMRUN = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10

tmp = tempfile.mkdtemp(prefix="vmrun-bench.")
env = dict(os.environ, VMRUN_RUN_DIR=tmp + "/run", VMRUN_STATE_DIR=tmp + "/state")
profile = os.path.join(tmp, "bench.json")
with open(profile, "w") as f:
    json.dump({"name": "bench", "qemu": {"accel": "tcg"},
               "cpu": {"model": "qemu64", "cores": 1, "pin": {"vcpus": [0], "emulator": [1]}},
               "memory": {"size": "64M"}, "serial": "none", "display": "none",
               "shutdown": {"timeout": 1}}, f)


def qmp(sock_path, deadline=10.0):
    end = time.monotonic() + deadline
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock_path)
            break
        except OSError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.002)
    f = s.makefile("rw")
    f.readline()  # greeting

    def cmd(name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        f.write(json.dumps(msg) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r.get("return")
    cmd("qmp_capabilities")
    return s, cmd


def bare_argv():
    text = subprocess.run([VMRUN, "print-cmd", profile], env=env, check=True,
                          capture_output=True, text=True).stdout
    argv = shlex.split(text.replace("\\\n", " "))
    sock = os.path.join(tmp, "bare.sock")
    out = []
    for a in argv:
        if a.startswith("socket,id=qmp,"):
            a = "socket,id=qmp,path=%s,server=on,wait=off" % sock
        out.append(a)
    return out, sock


def bare_run():
    argv, sock = bare_argv()
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    s, cmd = qmp(sock)
    vcpus = [cpu["thread-id"] for cpu in cmd("query-cpus-fast")]
    for tid in vcpus:
        os.sched_setaffinity(tid, {0})
    for t in os.listdir("/proc/%d/task" % p.pid):
        if int(t) not in vcpus:
            os.sched_setaffinity(int(t), {1})
    cmd("cont")
    t1 = time.monotonic()
    t2 = time.monotonic()
    try:
        cmd("quit")
    except Exception:
        pass
    p.wait()
    t3 = time.monotonic()
    s.close()
    return t1 - t0, t3 - t2


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def vmrun_run():
    t0 = time.monotonic()
    subprocess.run([VMRUN, "start", "--detach", profile], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    t1 = time.monotonic()
    with open(os.path.join(tmp, "run/bench/supervisor.pid")) as f:
        sup = int(f.read())
    rss = rss_kib(sup)
    t2 = time.monotonic()
    subprocess.run([VMRUN, "stop", "--force", "bench"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    t3 = time.monotonic()
    return t1 - t0, t3 - t2, rss


def median_ms(xs):
    return statistics.median(xs) * 1000


bare_start, bare_stop, v_start, v_stop, rss = [], [], [], [], []
bare_run()  # warm caches
for _ in range(RUNS):
    a, b = bare_run()
    bare_start.append(a)
    bare_stop.append(b)
    a, b, r = vmrun_run()
    v_start.append(a)
    v_stop.append(b)
    rss.append(r)

print("supervision benchmark, %d runs each, median (min-max)" % RUNS)
print("%-22s %10s %10s %10s" % ("", "bare QEMU", "vmrun", "added"))
for label, bare, vm in (("start -> running", bare_start, v_start),
                        ("stop -> all exited", bare_stop, v_stop)):
    print("%-22s %8.1f ms %8.1f ms %+8.1f ms   (vmrun %.1f-%.1f ms)" % (
        label, median_ms(bare), median_ms(vm), median_ms(vm) - median_ms(bare),
        min(vm) * 1000, max(vm) * 1000))
print("supervisor RSS while running: median %d KiB (max %d KiB); target < 2048 KiB"
      % (statistics.median(rss), max(rss)))
subprocess.run(["rm", "-rf", tmp])
