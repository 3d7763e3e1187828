#!/usr/bin/env python3
"""disks[].bootindex: which disk the guest firmware boots. Two disks (one
virtio, one SATA), each with a boot sector that writes its own name to the
debug port (0x402, where SeaBIOS writes too) and halts. The disk with the
lower bootindex must be the one that runs; swapping the indexes swaps the
disk. QEMU's own view (qom-get bootindex) is checked as well."""
import e2elib as e


def boot_sector(tag):
    msg = ("E2E-BOOT-%s\n" % tag).encode() + b"\0"
    code = bytes([
        0xFA,              # cli
        0x31, 0xC0,        # xor ax, ax
        0x8E, 0xD8,        # mov ds, ax
        0xBE, 0x16, 0x7C,  # mov si, 0x7c16 (msg)
        0xBA, 0x02, 0x04,  # mov dx, 0x402
        0xAC,              # loop: lodsb
        0x84, 0xC0,        # test al, al
        0x74, 0x03,        # jz done
        0xEE,              # out dx, al
        0xEB, 0xF8,        # jmp loop
        0xF4,              # done: hlt
        0xEB, 0xFD,        # jmp done
    ])
    assert len(code) == 0x16
    sector = code + msg
    return sector + b"\0" * (510 - len(sector)) + b"\x55\xAA"


def body(t):
    disks = {}
    for tag in ("A", "B"):
        path = t.path("boot%s.raw" % tag)
        with open(path, "wb") as f:
            f.write(boot_sector(tag))
            f.truncate(1 << 20)
        disks[tag] = path
    for a_index, b_index, want in ((2, 1, "B"), (1, 2, "A")):
        log = t.path("debugcon-%s.log" % want)
        vm = t.vm("boot" + want, e.firmware_profile(
            qemu={"accel": "tcg", "extra_args": [
                "-chardev", "file,id=e2edbg,path=%s" % log,
                "-device", "isa-debugcon,iobase=0x402,chardev=e2edbg"]},
            disks=[{"path": disks["A"], "bus": "virtio", "bootindex": a_index},
                   {"path": disks["B"], "bus": "sata", "bootindex": b_index}]))
        vm.start()
        q = vm.qmp()
        t.equal([q.qom_get("/machine/peripheral/disk%d" % i, "bootindex") for i in (0, 1)],
                [a_index, b_index], "QEMU's disks carry the profile's bootindex")
        text = e.wait_until(lambda: "E2E-BOOT-" in e.read_file(log, "") and e.read_file(log, ""),
                            120, 0.2)
        booted = [l for l in (text or "").splitlines() if l.startswith("E2E-BOOT-")]
        t.equal(booted, ["E2E-BOOT-" + want],
                "bootindex virtio=%d sata=%d: the guest booted disk %s" % (a_index, b_index, want))
        vm.stop("--force")


e.Test("boot_order").run(body)
