/* PCI option ROM images: reading one from a file or from a device, and
 * saying whether a VM can use it.
 *
 * A ROM is a chain of images (PCI Firmware Specification 3.0), each
 * starting with the signature 0x55 0xAA and holding at offset 0x18 a
 * pointer to its PCI data structure ("PCIR": vendor and device id, class,
 * image length in 512-byte units, code type, a last-image flag). A code
 * type 3 image is an EFI driver (signature 0x0EF1, machine type x64, IA32,
 * AArch64 or EBC): what a UEFI guest runs; code type 0 is the legacy x86
 * BIOS image a SeaBIOS guest runs, whose bytes sum to 0 over its
 * initialisation size.
 *
 * pci_rom_parse() is a pure function of the bytes (fuzzed); the rest reads
 * the host. */
#ifndef VMRUN_PCI_ROM_H
#define VMRUN_PCI_ROM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "profile/profile.h"

#define PCI_ROM_MAX_BYTES (16u << 20) /* the largest ROM BAR */
#define PCI_ROM_MAX_IMAGES 8

enum pci_rom_code { PCI_ROM_X86 = 0, PCI_ROM_OPENFIRMWARE = 1, PCI_ROM_PARISC = 2, PCI_ROM_EFI = 3 };

struct pci_rom_image {
    size_t offset, length;  /* in the file, bytes */
    unsigned vendor, device; /* from its PCIR */
    unsigned devices[16];    /* PCIR 3.0 device list (more device ids), 0-terminated */
    unsigned class_code;     /* 24 bits */
    unsigned code_type;      /* enum pci_rom_code, or another value */
    unsigned efi_machine;    /* EFI: 0x8664 x64, 0x014c IA32, 0xaa64 AArch64, 0x0ebc EBC */
    bool checksum_ok;        /* x86: the bytes sum to 0 over the initialisation size */
};

struct pci_rom_info {
    size_t size;    /* of the whole input */
    size_t leading; /* bytes before the first image (a flash tool's header); 0 normally */
    struct pci_rom_image images[PCI_ROM_MAX_IMAGES];
    size_t n_images;
};

/* Parse a ROM. 0 with info filled, or -EINVAL with err saying what is
 * wrong (no signature, a PCIR pointer out of the image, no "PCIR", an
 * image running past the end). Pure: reads only data[0..len). A valid
 * chain found after a few leading bytes is parsed, with info->leading set
 * (pci_rom_fit() refuses it and says how to cut them). */
int pci_rom_parse(const unsigned char *data, size_t len, struct pci_rom_info *info,
                  struct vmrun_error *err);

/* Can a VM use this ROM for the device vendor:device (0:0: do not check),
 * in a UEFI guest (uefi) or a BIOS one? 0, or -EINVAL with err saying why
 * not and what to do. */
int pci_rom_fit(const struct pci_rom_info *info, unsigned vendor, unsigned device, bool uefi,
                struct vmrun_error *err);

/* "2 images: x86 BIOS 10de:1e07 (60 KiB), EFI x64 (58 KiB)" */
void pci_rom_describe(const struct pci_rom_info *info, char *buf, size_t len);

/* Read a ROM file from an fd opened on it (a regular file of at most
 * PCI_ROM_MAX_BYTES) into a malloc'd buffer; name is for messages. */
int pci_rom_read_fd(int fd, const char *name, unsigned char **data, size_t *len,
                    struct vmrun_error *err);

/* Is the guest booted through UEFI? (firmware.code names OVMF.) */
bool pci_rom_guest_uefi(const struct vm_profile *p);

/* Check the ROM file of pci[i] (none: 0) for the device with ids
 * vendor:device. The file is opened as QEMU will open it, with the rights
 * of the user QEMU runs as (priv/priv_files.h): root reads nothing for a
 * user that the user could not read. 0, or a negative errno with err
 * naming pci[i].rom, the file and what is wrong. desc (may be NULL) gets
 * the images found. */
int pci_rom_check_entry(const struct vm_profile *p, size_t i, unsigned vendor, unsigned device,
                        char *desc, size_t dlen, struct vmrun_error *err);

/* Read the device's ROM through sysfs: enable the rom attribute, read it,
 * disable it again on every path (the enable only lets the kernel map the
 * ROM BAR for each read; it changes nothing on the device and is not
 * journaled). Refused, with the reason, where the result cannot be used:
 * no ROM BAR, the boot VGA device (the kernel gives the shadow copy the
 * system firmware ran, changed by the card's own init), a device a running
 * VM holds, or bytes that are no valid ROM for the device. On success the
 * image is in a malloc'd buffer and info describes it. */
int pci_rom_dump(const char *address, unsigned char **data, size_t *len,
                 struct pci_rom_info *info, struct vmrun_error *err);

#endif
