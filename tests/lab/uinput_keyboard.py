#!/usr/bin/env python3
"""A keyboard made with uinput, for lab scenarios (tests/lab/devices.sh).

    uinput_keyboard.py            creates it, prints its /dev/input/eventN,
                                  then reads commands on standard input:
      tap CODE...                 press the keys in order, release them in
                                  reverse order (Linux key codes: 29 left
                                  Ctrl, 97 right Ctrl, 70 Scroll Lock)
    The device goes away when standard input closes.

    uinput_keyboard.py grab DEV   tries EVIOCGRAB on DEV and releases it at
                                  once; prints "grabbed" or the errno name
                                  (EBUSY: someone else holds the grab)
"""
import errno
import fcntl
import glob
import os
import struct
import sys
import time

UI_SET_EVBIT = 0x40045564
UI_SET_KEYBIT = 0x40045565
UI_DEV_SETUP = 0x405C5503  # _IOW('U', 3, struct uinput_setup), 92 bytes
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
EVIOCGRAB = 0x40044590
EV_SYN, EV_KEY = 0, 1
KEYS = [29, 97, 70, 30, 42, 54, 56, 100, 125, 126]  # ctrl, scroll lock, a, shift, alt, meta


def ui_get_sysname(length):
    return (2 << 30) | (length << 16) | (ord("U") << 8) | 44


def emit(fd, typ, code, value):
    now = time.time()
    os.write(fd, struct.pack("<qqHHi", int(now), int((now % 1) * 1e6), typ, code, value))


def create():
    fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
    for k in KEYS:
        fcntl.ioctl(fd, UI_SET_KEYBIT, k)
    setup = struct.pack("<HHHH80sI", 0x03, 0x1234, 0x5678, 1, b"vmrun-lab-keyboard", 0)
    fcntl.ioctl(fd, UI_DEV_SETUP, setup)
    fcntl.ioctl(fd, UI_DEV_CREATE)
    name = fcntl.ioctl(fd, ui_get_sysname(64), bytes(64)).split(b"\0")[0].decode()
    node = None
    for _ in range(100):
        ev = glob.glob("/sys/devices/virtual/input/%s/event*" % name)
        if ev and os.path.exists("/dev/input/" + os.path.basename(ev[0])):
            node = "/dev/input/" + os.path.basename(ev[0])
            break
        time.sleep(0.05)
    if node is None:
        sys.exit("uinput: no event node for %s" % name)
    print(node, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "tap":
            codes = [int(w) for w in words[1:]]
            for c in codes:
                emit(fd, EV_KEY, c, 1)
                emit(fd, EV_SYN, 0, 0)
            time.sleep(0.05)
            for c in reversed(codes):
                emit(fd, EV_KEY, c, 0)
                emit(fd, EV_SYN, 0, 0)
            print("tapped", flush=True)
    fcntl.ioctl(fd, UI_DEV_DESTROY)
    os.close(fd)


def grab(dev):
    fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, EVIOCGRAB, 1)
        fcntl.ioctl(fd, EVIOCGRAB, 0)
        print("grabbed")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    finally:
        os.close(fd)


if len(sys.argv) == 3 and sys.argv[1] == "grab":
    grab(sys.argv[2])
else:
    create()
