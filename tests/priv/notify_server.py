#!/usr/bin/env python3
"""A stand-in for the desktop's notification daemon, for a machine with no
desktop: it owns org.freedesktop.Notifications on a D-Bus session bus and
writes each notification it is sent (Notify) as a line of JSON,
{"app": ..., "summary": ..., "body": ...}, to a file. Everything around it
is real (the bus daemon, notify-send, libnotify); only the daemon that
would draw the bubble is not. Python's standard library alone: the D-Bus
wire protocol is spoken here, as much of it as this needs.

    notify_server.py BUS_ADDRESS LOG_FILE

BUS_ADDRESS is unix:path=...; it prints "ready" once it owns the name, and
serves until killed."""
import json
import os
import socket
import struct
import sys

METHOD_CALL, METHOD_RETURN, ERROR = 1, 2, 3
NAME = "org.freedesktop.Notifications"


def pad(buf, n):
    return buf + b"\0" * (-len(buf) % n)


class Writer:
    """Marshals values by signature (little-endian), with the alignment
    counted from the start of the message."""

    def __init__(self, start=0):
        self.buf = b""
        self.start = start

    def align(self, n):
        self.buf += b"\0" * (-(self.start + len(self.buf)) % n)

    def put(self, sig, v):
        if sig == "y":
            self.buf += struct.pack("<B", v)
        elif sig == "u":
            self.align(4)
            self.buf += struct.pack("<I", v)
        elif sig == "i":
            self.align(4)
            self.buf += struct.pack("<i", v)
        elif sig in ("s", "o"):
            b = v.encode()
            self.align(4)
            self.buf += struct.pack("<I", len(b)) + b + b"\0"
        elif sig == "g":
            b = v.encode()
            self.buf += struct.pack("<B", len(b)) + b + b"\0"
        elif sig == "v":
            vs, vv = v
            self.put("g", vs)
            self.put(vs, vv)
        elif sig.startswith("a"):
            inner = sig[1:]
            self.align(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.align(8 if inner[0] in "({" else {"s": 4, "u": 4, "i": 4, "o": 4}.get(inner[0], 1))
            first = len(self.buf)
            for item in v:
                self.put(inner, item)
            self.buf = self.buf[:at] + struct.pack("<I", len(self.buf) - first) + self.buf[at + 4:]
        elif sig.startswith("("):
            self.align(8)
            for s, item in zip(split_sig(sig[1:-1]), v):
                self.put(s, item)
        else:
            raise ValueError("cannot marshal " + sig)


def split_sig(sig):
    """'su(yv)as' -> ['s', 'u', '(yv)', 'as']"""
    out, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth, k = 0, j
            while True:
                depth += sig[k] in "({"
                depth -= sig[k] in ")}"
                k += 1
                if depth == 0:
                    break
            j = k - 1
        out.append(sig[i:j + 1])
        i = j + 1
    return out


class Reader:
    def __init__(self, data, start=0):
        self.data = data
        self.pos = start

    def align(self, n):
        self.pos += -self.pos % n

    def get(self, sig):
        if sig == "y":
            self.pos += 1
            return self.data[self.pos - 1]
        if sig in ("u", "i"):
            self.align(4)
            self.pos += 4
            return struct.unpack_from("<I" if sig == "u" else "<i", self.data, self.pos - 4)[0]
        if sig in ("s", "o"):
            self.align(4)
            n = struct.unpack_from("<I", self.data, self.pos)[0]
            self.pos += 4 + n + 1
            return self.data[self.pos - n - 1:self.pos - 1].decode(errors="replace")
        if sig == "g":
            n = self.data[self.pos]
            self.pos += 1 + n + 1
            return self.data[self.pos - n - 1:self.pos - 1].decode()
        if sig == "v":
            s = self.get("g")
            return (s, self.get(s))
        if sig.startswith("("):
            self.align(8)
            return tuple(self.get(s) for s in split_sig(sig[1:-1]))
        raise ValueError("cannot read " + sig)


class Bus:
    def __init__(self, address):
        if not address.startswith("unix:path="):
            raise SystemExit("notify_server.py: only unix:path= addresses")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(address[len("unix:path="):])
        self.serial = 0
        uid = str(os.getuid()).encode().hex()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        if not self._line().startswith(b"OK "):
            raise SystemExit("notify_server.py: the bus refused EXTERNAL authentication")
        self.sock.sendall(b"BEGIN\r\n")
        self.buf = b""
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "Hello")
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "RequestName", "su", [NAME, 4])  # DO_NOT_QUEUE

    def _line(self):
        out = b""
        while not out.endswith(b"\r\n"):
            c = self.sock.recv(1)
            if not c:
                raise SystemExit("notify_server.py: the bus closed the connection")
            out += c
        return out

    def send(self, mtype, fields, sig="", args=()):
        self.serial += 1
        body = Writer()
        for s, a in zip(split_sig(sig), args):
            body.put(s, a)
        if sig:
            fields = fields + [(8, ("g", sig))]
        head = Writer()
        head.put("y", ord("l"))
        head.put("y", mtype)
        head.put("y", 0)
        head.put("y", 1)
        head.put("u", len(body.buf))
        head.put("u", self.serial)
        head.put("a(yv)", fields)
        self.sock.sendall(pad(head.buf, 8) + body.buf)
        return self.serial

    def call(self, dest, path, iface, member, sig="", args=()):
        serial = self.send(METHOD_CALL, [(1, ("o", path)), (2, ("s", iface)), (3, ("s", member)),
                                         (6, ("s", dest))], sig, args)
        while True:
            m = self.receive()
            if m["type"] in (METHOD_RETURN, ERROR) and m["fields"].get(5) == serial:
                if m["type"] == ERROR:
                    raise SystemExit("notify_server.py: %s failed: %s" % (member, m["fields"]))
                return m

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit(0)  # the bus went away: done
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def receive(self):
        fixed = self._read(16)
        if fixed[0:1] != b"l":
            raise SystemExit("notify_server.py: a big-endian message; not spoken here")
        body_len, serial, fields_len = struct.unpack_from("<III", fixed, 4)
        rest = self._read(fields_len + (-(16 + fields_len) % 8) + body_len)
        data = fixed + rest
        r = Reader(data, 16)
        fields = {}
        while r.pos < 16 + fields_len:
            code, value = r.get("(yv)")
            fields[code] = value[1]
        body_at = 16 + fields_len + (-(16 + fields_len) % 8)
        return {"type": fixed[1], "serial": serial, "fields": fields, "data": data,
                "body_at": body_at}

    def reply(self, m, sig="", args=()):
        self.send(METHOD_RETURN, [(5, ("u", m["serial"])), (6, ("s", m["fields"].get(7, "")))],
                  sig, args)

    def error(self, m, name):
        self.send(ERROR, [(4, ("s", name)), (5, ("u", m["serial"])),
                          (6, ("s", m["fields"].get(7, "")))])


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: notify_server.py BUS_ADDRESS LOG_FILE")
    bus = Bus(sys.argv[1])
    log = open(sys.argv[2], "a")
    print("ready", flush=True)
    next_id = 1
    while True:
        m = bus.receive()
        if m["type"] != METHOD_CALL:
            continue
        member = m["fields"].get(3)
        if member == "Notify" and m["fields"].get(8, "").startswith("susss"):
            r = Reader(m["data"], m["body_at"])
            app, _, _, summary, body = (r.get(s) for s in "susss")
            log.write(json.dumps({"app": app, "summary": summary, "body": body}) + "\n")
            log.flush()
            bus.reply(m, "u", [next_id])
            next_id += 1
        elif member == "GetCapabilities":
            bus.reply(m, "as", [["body"]])
        elif member == "GetServerInformation":
            bus.reply(m, "ssss", ["vmrun-test", "vmrun", "1", "1.2"])
        else:
            bus.error(m, "org.freedesktop.DBus.Error.UnknownMethod")


main()
