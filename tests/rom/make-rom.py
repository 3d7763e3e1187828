#!/usr/bin/python3
"""make-rom.py OUT [options]: a crafted PCI option ROM for the tests.

An x86 BIOS image (8 KiB, checksum fixed) and/or an EFI image (4 KiB), each
with its PCI data structure ("PCIR"), chained as the PCI Firmware
Specification 3.0 lays them out, then spoiled as asked:
  --vendor HEX --device HEX   the ids in every PCIR (default 8086:10d3)
  --efi x64|ia32|aa64|ebc|none  the EFI image's machine (default none)
  --no-legacy                 no x86 image
  --device-list HEX,HEX       a PCI 3.0 device list in the first image
  --bad-checksum              the x86 image's bytes no longer sum to 0
  --no-pcir                   the first image's "PCIR" misspelt
  --bad-pointer               the first image's PCIR pointer past the end
  --leading N                 N bytes of a flash tool's header first
  --truncate N                only the first N bytes
  --pad N                     0xff padding after the images, to N bytes
  --garbage N                 N bytes of 0xff and nothing else
"""
import argparse
import struct

MACHINES = {"x64": 0x8664, "ia32": 0x014C, "aa64": 0xAA64, "ebc": 0x0EBC}


def pcir(vendor, device, devlist, class_code, units, code_type, last):
    return (b"PCIR" + struct.pack("<HHHHB", vendor, device, devlist, 0x18, 3)
            + class_code.to_bytes(3, "little")
            + struct.pack("<HHBBH", units, 1, code_type, 0x80 if last else 0, units))


def legacy(vendor, device, devlist, last, bad_checksum):
    size = 16 * 512
    img = bytearray(size)
    img[0:3] = b"\x55\xaa\x10"
    img[3] = 0xCB  # a far return: an init routine that does nothing
    struct.pack_into("<H", img, 0x18, 0x1C)
    list_at = 0
    if devlist:
        list_at = 0x40
        for k, d in enumerate(devlist + [0]):
            struct.pack_into("<H", img, list_at + 2 * k, d)
    img[0x1C:0x1C + 0x18] = pcir(vendor, device, list_at, 0x030000, 16, 0, last)
    img[size - 1] = (-sum(img[:size - 1])) & 0xFF
    if bad_checksum:
        img[0x100] ^= 0x5A
    return bytes(img)


def efi(vendor, device, machine, last):
    size = 8 * 512
    img = bytearray(size)
    img[0:2] = b"\x55\xaa"
    struct.pack_into("<HIHHH", img, 2, 8, 0x0EF1, 11, machine, 0)
    struct.pack_into("<HH", img, 0x16, 0x40, 0x1C)
    img[0x1C:0x1C + 0x18] = pcir(vendor, device, 0, 0x030000, 8, 3, last)
    img[0x40:0x42] = b"MZ"
    return bytes(img)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--vendor", default="8086")
    ap.add_argument("--device", default="10d3")
    ap.add_argument("--efi", default="none", choices=list(MACHINES) + ["none"])
    ap.add_argument("--no-legacy", action="store_true")
    ap.add_argument("--device-list", default="")
    ap.add_argument("--bad-checksum", action="store_true")
    ap.add_argument("--no-pcir", action="store_true")
    ap.add_argument("--bad-pointer", action="store_true")
    ap.add_argument("--leading", type=int, default=0)
    ap.add_argument("--truncate", type=int, default=0)
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--garbage", type=int, default=0)
    a = ap.parse_args()
    if a.garbage:
        open(a.out, "wb").write(b"\xff" * a.garbage)
        return
    vendor, device = int(a.vendor, 16), int(a.device, 16)
    devlist = [int(x, 16) for x in a.device_list.split(",") if x]
    images = []
    if not a.no_legacy:
        images.append(legacy(vendor, device, devlist, a.efi == "none", a.bad_checksum))
    if a.efi != "none":
        images.append(efi(vendor, device, MACHINES[a.efi], True))
    rom = bytearray(b"".join(images))
    if a.no_pcir:
        at = struct.unpack_from("<H", rom, 0x18)[0]
        rom[at:at + 4] = b"PCIX"
    if a.bad_pointer:
        struct.pack_into("<H", rom, 0x18, 0xFFF0)
    if a.pad and a.pad > len(rom):
        rom += b"\xff" * (a.pad - len(rom))
    if a.leading:
        rom = bytearray(b"NVGI" + b"\x00" * (a.leading - 4)) + rom
    if a.truncate:
        rom = rom[:a.truncate]
    open(a.out, "wb").write(bytes(rom))


main()
