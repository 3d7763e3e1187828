#!/usr/bin/env python3
"""A "physical" keyboard or mouse made with uinput, that can be unplugged
and plugged in again, for the input scenarios (tests/lab/input.sh).

    uinput_device.py NAME VENDOR PRODUCT keyboard|mouse

creates the device (vendor and product ids in hex, bus USB), prints
"node /dev/input/eventN", then reads commands on standard input, one a
line, and answers each with one line:

    press CODE | release CODE   a key or button (Linux codes), with a SYN
    tap CODE...                 press the codes in order, release them in
                                reverse order
    move DX DY                  a relative motion
    unplug                      the device goes away (UI_DEV_DESTROY)
    plug [MODE]                 a new device with the same ids (a new event
                                number); with MODE (octal), its node gets
                                that mode at once, as a node that udev has
                                not given its permissions yet
    chmod MODE                  the node's mode
    leds                        the LEDs set on the device ("leds caps=1
                                num=0 scroll=0"): what was written to its
                                node (EV_LED), as a keyboard would light them
    grab                        try EVIOCGRAB on the node and let go at
                                once: "grabbed", or the errno's name
    node                        the current node

The device goes away when standard input closes.
"""
import errno
import fcntl
import glob
import os
import select
import struct
import sys
import threading
import time

UI_SET_EVBIT = 0x40045564
UI_SET_KEYBIT = 0x40045565
UI_SET_RELBIT = 0x40045566
UI_SET_LEDBIT = 0x40045569
UI_DEV_SETUP = 0x405C5503
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
EVIOCGRAB = 0x40044590
EV_SYN, EV_KEY, EV_REL, EV_LED = 0, 1, 2, 0x11
LED_NUML, LED_CAPSL, LED_SCROLLL = 0, 1, 2
EVENT = struct.Struct("<qqHHi")


def ui_get_sysname(length):
    return (2 << 30) | (length << 16) | (ord("U") << 8) | 44


class Device:
    def __init__(self, name, vendor, product, kind):
        self.name, self.vendor, self.product, self.kind = name, vendor, product, kind
        self.fd = -1
        self.node = None
        self.leds = {LED_NUML: 0, LED_CAPSL: 0, LED_SCROLLL: 0}
        self.lock = threading.Lock()

    def plug(self, mode=None):
        fd = os.open("/dev/uinput", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
        if self.kind == "keyboard":
            for k in range(1, 128):  # the keys of a keyboard, Esc to the Meta keys
                fcntl.ioctl(fd, UI_SET_KEYBIT, k)
            fcntl.ioctl(fd, UI_SET_EVBIT, EV_LED)
            for led in (LED_NUML, LED_CAPSL, LED_SCROLLL):
                fcntl.ioctl(fd, UI_SET_LEDBIT, led)
        else:
            for b in (0x110, 0x111, 0x112):  # BTN_LEFT, BTN_RIGHT, BTN_MIDDLE
                fcntl.ioctl(fd, UI_SET_KEYBIT, b)
            fcntl.ioctl(fd, UI_SET_EVBIT, EV_REL)
            fcntl.ioctl(fd, UI_SET_RELBIT, 0)
            fcntl.ioctl(fd, UI_SET_RELBIT, 1)
        setup = struct.pack("<HHHH80sI", 0x03, self.vendor, self.product, 1,
                            self.name.encode(), 0)
        fcntl.ioctl(fd, UI_DEV_SETUP, setup)
        fcntl.ioctl(fd, UI_DEV_CREATE)
        sysname = fcntl.ioctl(fd, ui_get_sysname(64), bytes(64)).split(b"\0")[0].decode()
        node = None
        for _ in range(200):
            ev = glob.glob("/sys/devices/virtual/input/%s/event*" % sysname)
            if ev and os.path.exists("/dev/input/" + os.path.basename(ev[0])):
                node = "/dev/input/" + os.path.basename(ev[0])
                break
            time.sleep(0.005)
        if node is None:
            sys.exit("uinput: no event node for %s" % sysname)
        if mode is not None:
            os.chmod(node, mode)
        with self.lock:
            self.fd, self.node = fd, node
        return node

    def unplug(self):
        with self.lock:
            fd, self.fd = self.fd, -1
        fcntl.ioctl(fd, UI_DEV_DESTROY)
        os.close(fd)

    def emit(self, typ, code, value):
        now = time.time()
        os.write(self.fd, EVENT.pack(int(now), int((now % 1) * 1e6), typ, code, value))

    def tap(self, codes):
        """Press the codes in order, release them in reverse order."""
        for c in codes:
            self.emit(EV_KEY, c, 1)
            self.emit(EV_SYN, 0, 0)
        time.sleep(0.05)
        for c in reversed(codes):
            self.emit(EV_KEY, c, 0)
            self.emit(EV_SYN, 0, 0)

    def watch_leds(self):
        """What is written to the node comes back on the uinput fd."""
        while True:
            with self.lock:
                fd = self.fd
            if fd < 0:
                time.sleep(0.02)
                continue
            try:
                select.select([fd], [], [], 0.05)
                data = os.read(fd, EVENT.size * 16)
            except OSError:
                continue
            for off in range(0, len(data) - EVENT.size + 1, EVENT.size):
                _, _, typ, code, value = EVENT.unpack_from(data, off)
                if typ == EV_LED and code in self.leds:
                    self.leds[code] = value


def grab(node):
    fd = os.open(node, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, EVIOCGRAB, 1)
        fcntl.ioctl(fd, EVIOCGRAB, 0)
        return "grabbed"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        os.close(fd)


def main():
    name, vendor, product, kind = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16), \
        sys.argv[4]
    d = Device(name, vendor, product, kind)
    print("node", d.plug(), flush=True)
    threading.Thread(target=d.watch_leds, daemon=True).start()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        cmd, args = w[0], w[1:]
        if cmd in ("press", "release"):
            d.emit(EV_KEY, int(args[0]), 1 if cmd == "press" else 0)
            d.emit(EV_SYN, 0, 0)
            print("ok", flush=True)
        elif cmd == "tap":
            d.tap([int(a) for a in args])
            print("ok", flush=True)
        elif cmd == "move":
            d.emit(EV_REL, 0, int(args[0]))
            d.emit(EV_REL, 1, int(args[1]))
            d.emit(EV_SYN, 0, 0)
            print("ok", flush=True)
        elif cmd == "unplug":
            d.unplug()
            print("ok", flush=True)
        elif cmd == "plug":
            print("node", d.plug(int(args[0], 8) if args else None), flush=True)
        elif cmd == "chmod":
            os.chmod(d.node, int(args[0], 8))
            print("ok", flush=True)
        elif cmd == "leds":
            time.sleep(0.1)
            print("leds caps=%d num=%d scroll=%d" % (d.leds[LED_CAPSL], d.leds[LED_NUML],
                                                      d.leds[LED_SCROLLL]), flush=True)
        elif cmd == "grab":
            print(grab(d.node), flush=True)
        elif cmd == "node":
            print("node", d.node, flush=True)
        else:
            print("unknown command", cmd, flush=True)
    if d.fd >= 0:
        d.unplug()


if __name__ == "__main__":
    main()
