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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uinput_device import Device, grab  # noqa: E402


def create():
    d = Device("vmrun-lab-keyboard", 0x1234, 0x5678, "keyboard")
    print(d.plug(), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "tap":
            d.tap([int(w) for w in words[1:]])
            print("tapped", flush=True)
    d.unplug()


if len(sys.argv) == 3 and sys.argv[1] == "grab":
    print(grab(sys.argv[2]))
else:
    create()
