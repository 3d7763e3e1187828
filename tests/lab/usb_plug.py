#!/usr/bin/env python3
"""What the USB scenario (tests/lab/usb.sh) asks the inner QEMU, on the
test's own QMP monitor, over one connection each time (a Python start in L1
under TCG costs a second; a poll costs milliseconds):

  usb_plug.py QMP plug GADGET UDC ID   write UDC into GADGET/UDC (configfs),
                                       then wait until QEMU has device ID;
                                       print the milliseconds from the write
  usb_plug.py QMP unplug GADGET ID     write "" into GADGET/UDC, wait until
                                       QEMU no longer has ID; print the ms
  usb_plug.py QMP wait ID present|absent SECONDS
                                       wait until QEMU has (or has not) ID
  usb_plug.py QMP info                 HMP "info usb"

QEMU's devices are qom-list /machine/peripheral, polled every 5 ms. Exit 1
when what is waited for does not happen in time (20 s for plug and unplug),
or QEMU does not answer within 5 s. The QMP client is the end-to-end
tests' (tests/e2e/e2elib.py)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2elib import Qmp, QmpError  # noqa: E402


def main():
    qmp_path, cmd = sys.argv[1:3]
    q = Qmp(qmp_path, timeout=5)

    def present(dev_id):
        return any(c["name"] == dev_id for c in q.cmd("qom-list", path="/machine/peripheral"))

    def wait(dev_id, want, seconds, t0):
        while present(dev_id) != want:
            if time.monotonic() - t0 > seconds:
                sys.exit("%s is %s QEMU after %d s" % (dev_id, "not in" if want else "still in",
                                                       seconds))
            time.sleep(0.005)

    if cmd in ("plug", "unplug"):
        gadget = sys.argv[3]
        udc = sys.argv[4] if cmd == "plug" else ""
        dev_id = sys.argv[5] if cmd == "plug" else sys.argv[4]
        t0 = time.monotonic()
        with open(gadget + "/UDC", "w") as u:
            u.write(udc + "\n")
        wait(dev_id, cmd == "plug", 20, t0)
        print("%.0f" % ((time.monotonic() - t0) * 1000))
    elif cmd == "wait":
        wait(sys.argv[3], sys.argv[4] == "present", int(sys.argv[5]), time.monotonic())
    elif cmd == "info":
        print(q.cmd("human-monitor-command", **{"command-line": "info usb"}))
    else:
        sys.exit("usb_plug.py: unknown command " + cmd)


try:
    main()
except (QmpError, OSError) as e:  # socket.timeout is an OSError
    sys.exit("usb_plug.py: %s" % e)
