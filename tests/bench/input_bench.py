#!/usr/bin/env python3
"""What vmrun's input path adds per event, against QEMU reading the device
directly; and whether a gaming mouse's rate loses anything. Prints figures;
it is not a test.

Needs uinput, so it runs in the lab guest (this machine's kernel has none),
as root with a writable root:

    tests/lab/run-lab.sh --writable-root tests/bench/input_bench.py [EVENTS] [RATE] [ROUNDS]

(defaults: 3 rounds of 1000 events at 1000 per second, each way in turn;
the medians of the rounds are compared). A mouse made with uinput sends
relative motions, one frame each (REL_X with a distinct value, then SYN),
at RATE per second on an absolute schedule. QEMU's input layer traces each
motion it passes to the guest (-trace input_event_rel, -msg timestamp=on:
QEMU's own wall-clock stamp in microseconds), and the latency of an event
is that stamp minus the moment it was written into the mouse. Twice:

    direct  QEMU's input-linux reads the mouse's node itself (what profiles
            did before: no unplugging, no hotkey of vmrun's, no LEDs), with
            the same seccomp sandbox vmrun gives its QEMU;
    vmrun   `vmrun start` with the mouse as an input[] device: the input
            mover reads it and writes the frame into the virtual device,
            which QEMU reads.

Both QEMUs run under TCG inside L1, itself under TCG: absolute figures are
far above a real host's, and what counts is the difference, measured the
same way in the same place.
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
import uinput_device  # noqa: E402

EV_SYN, EV_KEY, EV_REL = 0, 1, 2
VMRUN = os.environ.get("VMRUN_BIN", "")
NAME = "inputbench"
TRACE = "/run/input-bench-trace.log"


def wait_for(pred, limit):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def traced():
    """value -> QEMU's time of each X motion traced so far."""
    seen = {}
    try:
        for line in open(TRACE):
            if ":input_event_rel" not in line or "axis x" not in line:
                continue
            stamp = line.split(":", 1)[0].split("@", 1)[1]
            value = int(line.rsplit("value ", 1)[1])
            seen.setdefault(value, float(stamp))
    except FileNotFoundError:
        pass
    return seen


def send(mouse, n, rate):
    """n motions at rate per second; value -> when it was written."""
    sent = {}
    start = time.time() + 0.2
    for i in range(1, n + 1):
        slot = start + (i - 1) / rate
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)
        t = time.time()
        mouse.emit(EV_REL, 0, i)
        mouse.emit(EV_SYN, 0, 0)
        sent[i] = t
    return sent


def measure(label, mouse, n, rate):
    open(TRACE, "w").close()
    # Warm-up motions until one arrives: QEMU is then running and reading.
    def warm():
        mouse.emit(EV_REL, 0, 10**6)
        mouse.emit(EV_SYN, 0, 0)
        time.sleep(0.4)
        return 10**6 in traced()
    if not wait_for(warm, 60):
        sys.exit("%s: QEMU never saw the warm-up motion" % label)
    time.sleep(1)
    open(TRACE, "w").close()
    sent = send(mouse, n, rate)
    wait_for(lambda: len(traced()) >= n, 20)
    seen = traced()
    lat = sorted((seen[v] - sent[v]) * 1e6 for v in sent if v in seen)
    lost = n - len(lat)
    if not lat:
        sys.exit("%s: no motion reached QEMU" % label)

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p / 100))]

    r = {"label": label, "sent": n, "lost": lost, "p50": pct(50), "p90": pct(90),
         "p99": pct(99), "max": lat[-1], "mean": statistics.mean(lat)}
    print("%-7s %5d sent, %4d lost; latency us: p50 %8.0f  p90 %8.0f  p99 %8.0f  max %8.0f"
          % (label, n, lost, r["p50"], r["p90"], r["p99"], r["max"]), flush=True)
    return r


def qemu_direct(node):
    # With the seccomp sandbox vmrun gives its QEMU: under TCG every
    # filtered system call costs QEMU's main loop measurably, and that is
    # not the input path's doing.
    args = ["qemu-system-x86_64", "-nodefaults", "-machine", "q35", "-accel", "tcg", "-m", "64",
            "-display", "none", "-msg", "timestamp=on", "-trace", "input_event_rel",
            "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-D", TRACE, "-object", "input-linux,id=i0,evdev=%s,repeat=on" % node]
    err = open(os.path.join(os.environ.get("VMRUN_LAB_OUT", "/tmp"), "qemu-direct.log"), "w")
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err)


def vmrun_profile(vendor, product):
    os.makedirs("/etc/vmrun", exist_ok=True)
    path = "/etc/vmrun/%s.json" % NAME
    with open(path, "w") as f:
        json.dump({
            "name": NAME,
            "qemu": {"accel": "tcg", "extra_args": ["-msg", "timestamp=on", "-trace",
                                                    "input_event_rel", "-D", TRACE]},
            "cpu": {"model": "qemu64", "cores": 1},
            "memory": {"size": "64M"},
            "input": [{"device": "%04x:%04x" % (vendor, product), "required": True}],
            "serial": "none", "display": "none", "shutdown": {"timeout": 5},
        }, f)
    os.chmod(path, 0o644)
    return path


def mover_cpu():
    """CPU seconds the input mover has used (user, system)."""
    out = subprocess.run(["pgrep", "-x", "vmrun-input"], capture_output=True, text=True).stdout
    if not out.split():
        return None
    stat = open("/proc/%s/stat" % out.split()[0]).read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(stat[11]) / ticks, int(stat[12]) / ticks


def pooled(rounds, key):
    return statistics.median(r[key] for r in rounds)


def main():
    if os.environ.get("VMRUN_IN_LAB") != "1":
        sys.exit("input_bench.py runs in the lab guest: "
                 "tests/lab/run-lab.sh --writable-root tests/bench/input_bench.py")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    mouse = uinput_device.Device("bench mouse", 0x1234, 0x4321, "mouse")
    node = mouse.plug()
    print("mouse %s; %d rounds of %d motions at %.0f per second, each way in turn"
          % (node, rounds, n, rate), flush=True)
    profile = vmrun_profile(0x1234, 0x4321)
    direct, via = [], []
    for _ in range(rounds):
        q = qemu_direct(node)
        try:
            direct.append(measure("direct", mouse, n, rate))
        finally:
            q.kill()
            q.wait()
        r = subprocess.run([VMRUN, "start", "--detach", profile], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("vmrun start: %s%s" % (r.stdout, r.stderr))
        try:
            via.append(measure("vmrun", mouse, n, rate))
            # The mover's own account (every 5 s in vmrun status): from the
            # kernel's timestamp of each motion to its write into the
            # virtual device, free of what QEMU's main loop adds to both.
            time.sleep(6)
            st = json.loads(subprocess.run([VMRUN, "status", NAME, "--json"],
                                           capture_output=True, text=True).stdout or "{}")
            moved = st.get("input", {}).get("moved")
            if moved:
                lat = moved["added_latency_us"]
                via[-1]["hop"] = lat
                print("        the mover's own account: %d frames, added p50 %d us, p90 %d us, "
                      "p99 %d us, max %d us; %d buffer overflows"
                      % (moved["frames"], lat["p50"], lat["p90"], lat["p99"], lat["max"],
                         moved["dropped"]), flush=True)
            cpu = mover_cpu()
            if cpu is not None:
                print("        the input mover used %.0f us of CPU per event (user %.2f s, "
                      "system %.2f s)" % ((cpu[0] + cpu[1]) * 1e6 / (n + 1), cpu[0], cpu[1]),
                      flush=True)
        finally:
            subprocess.run([VMRUN, "stop", "--force", NAME], capture_output=True)
    print("median of the rounds, us: direct p50 %.0f p99 %.0f; vmrun p50 %.0f p99 %.0f"
          % (pooled(direct, "p50"), pooled(direct, "p99"), pooled(via, "p50"),
             pooled(via, "p99")))
    hops = [r["hop"] for r in via if "hop" in r]
    if hops:
        print("the mover's own account, median of the rounds: p50 %.0f us, p99 %.0f us"
              % (statistics.median(h["p50"] for h in hops), statistics.median(h["p99"] for h in hops)))
    print("added by vmrun: p50 %+.0f us, p99 %+.0f us; lost %d of %d (direct: %d)"
          % (pooled(via, "p50") - pooled(direct, "p50"), pooled(via, "p99") - pooled(direct, "p99"),
             sum(r["lost"] for r in via), n * rounds, sum(r["lost"] for r in direct)), flush=True)
    mouse.unplug()


if __name__ == "__main__":
    main()
