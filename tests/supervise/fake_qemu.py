#!/usr/bin/python3
"""A QEMU that lies: it speaks QMP on the fd vmrun gives it
(-chardev socket,id=qmp,fd=N) the way an untrusted QEMU could.

    -fake-mode lie     query-cpus-fast reports thread -fake-victim PID (a
                       process that is not QEMU) as vCPU 0
    -fake-mode twice   reports one of its own threads for two vCPUs
    -fake-mode flood   honest thread ids, but first 600 events of 400 KiB
                       each while vmrun waits for the reply to
                       query-cpus-fast; once the VM runs, floods the
                       connection with such lines and small events until
                       system_powerdown or quit, then exits 0

Every other option is ignored; `-version` fails (no -sandbox here)."""
import json
import os
import socket
import sys
import threading
import time

args = sys.argv[1:]
if "-version" in args:
    sys.exit(1)


def opt(name):
    return args[args.index(name) + 1] if name in args else None


mode = opt("-fake-mode")
fd = None
for i, a in enumerate(args):
    if a == "-chardev" and args[i + 1].startswith("socket,id=qmp,"):
        fd = int([p for p in args[i + 1].split(",") if p.startswith("fd=")][0][3:])
sock = socket.socket(fileno=fd)
lock = threading.Lock()
stop = threading.Event()


def send(obj):
    with lock:
        sock.sendall(json.dumps(obj).encode() + b"\r\n")


vcpu_tids = []


def vcpu():
    vcpu_tids.append(threading.get_native_id())
    stop.wait()


n_vcpus = 2
for _ in range(n_vcpus):
    threading.Thread(target=vcpu, daemon=True).start()
while len(vcpu_tids) < n_vcpus:
    time.sleep(0.01)


def flood():
    blob = "x" * (400 * 1024)
    big = json.dumps({"event": "BLOB", "data": {"blob": blob}}).encode() + b"\r\n"
    small = b"".join(json.dumps({"event": "TICK", "data": {"n": i}}).encode() + b"\r\n"
                     for i in range(2000))
    while not stop.is_set():
        try:
            with lock:
                sock.sendall(big)
                sock.sendall(small)
        except OSError:
            return


send({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"},
              "capabilities": []}})
buf = b""
running = False
while True:
    while b"\n" not in buf:
        data = sock.recv(65536)
        if not data:
            sys.exit(0)
        buf += data
    line, buf = buf.split(b"\n", 1)
    cmd = json.loads(line)
    name, cid = cmd.get("execute"), cmd.get("id")
    ret = {}
    if name == "query-cpus-fast":
        if mode == "flood":
            big = json.dumps({"event": "BLOB", "data": {"blob": "x" * (400 * 1024)}}).encode()
            for _ in range(600):
                with lock:
                    sock.sendall(big + b"\r\n")
        tids = list(vcpu_tids)
        if mode == "lie":
            tids[0] = int(opt("-fake-victim"))
        elif mode == "twice":
            tids[1] = tids[0]
        ret = [{"cpu-index": i, "thread-id": t, "target": "x86_64",
                "qom-path": "/machine/unattached/device[%d]" % i,
                "props": {"core-id": i, "thread-id": 0, "socket-id": 0}}
               for i, t in enumerate(tids)]
    elif name == "query-iothreads":
        ret = []
    elif name == "query-status":
        ret = {"status": "running" if running else "prelaunch", "running": running,
               "singlestep": False}
    elif name == "cont":
        running = True
        if mode == "flood":
            threading.Thread(target=flood, daemon=True).start()
    send({"return": ret, "id": cid})
    if name in ("system_powerdown", "quit"):
        stop.set()
        send({"event": "SHUTDOWN", "data": {"guest": name == "system_powerdown",
                                            "reason": "guest-shutdown"}})
        time.sleep(0.2)
        sys.exit(0)
