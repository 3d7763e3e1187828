/* The pure part of the option ROM code (pci_rom.h): parsing an image
 * chain and judging whether a VM can use it. A function of the bytes
 * only, fuzzed by tests/rom/rom_fuzz.c. */
#include "host/pci/pci_rom.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"

#define ROM_HEADER_MIN 0x1a /* up to and including the PCIR pointer */
#define PCIR_MIN 0x18       /* the PCI data structure up to the code type and indicator */
#define EFI_SIGNATURE 0x0ef1
/* How far into a file a ROM is looked for behind a flash tool's header. */
#define LEADING_MAX (1u << 20)

static unsigned le16(const unsigned char *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parse the chain of images that starts at start. 0, or -EINVAL with why. */
static int parse_chain(const unsigned char *d, size_t len, size_t start, struct pci_rom_info *info,
                       char *why, size_t wlen)
{
    size_t off = start;
    info->n_images = 0;
    for (;;) {
        if (info->n_images == PCI_ROM_MAX_IMAGES) {
            snprintf(why, wlen, "it chains more than %d images", PCI_ROM_MAX_IMAGES);
            return -EINVAL;
        }
        if (len - off < ROM_HEADER_MIN) {
            snprintf(why, wlen, "the image at offset %zu is too short for a ROM header", off);
            return -EINVAL;
        }
        const unsigned char *img = d + off;
        if (img[0] != 0x55 || img[1] != 0xaa) {
            snprintf(why, wlen,
                     "there is no ROM signature (0x55 0xAA) at offset %zu (the bytes there are "
                     "%02x %02x)",
                     off, img[0], img[1]);
            return -EINVAL;
        }
        size_t pcir = le16(img + 0x18);
        if (pcir < ROM_HEADER_MIN || pcir > len - off || len - off - pcir < PCIR_MIN) {
            snprintf(why, wlen,
                     "the image at offset %zu points to its PCI data structure at 0x%zx, outside "
                     "the file",
                     off, pcir);
            return -EINVAL;
        }
        const unsigned char *p = img + pcir;
        if (memcmp(p, "PCIR", 4) != 0) {
            snprintf(why, wlen,
                     "the image at offset %zu has no PCI data structure (\"PCIR\") where its "
                     "header points (0x%zx)",
                     off, pcir);
            return -EINVAL;
        }
        struct pci_rom_image *im = &info->images[info->n_images];
        memset(im, 0, sizeof(*im));
        im->offset = off;
        im->vendor = le16(p + 4);
        im->device = le16(p + 6);
        im->class_code = p[0x0d] | (unsigned)p[0x0e] << 8 | (unsigned)p[0x0f] << 16;
        im->length = (size_t)le16(p + 0x10) * 512;
        im->code_type = p[0x14];
        bool last = (p[0x15] & 0x80) != 0;
        if (im->length == 0) {
            snprintf(why, wlen, "the image at offset %zu gives its length as 0", off);
            return -EINVAL;
        }
        if (im->length > len - off) {
            snprintf(why, wlen,
                     "the image at offset %zu is %zu bytes long but the file ends %zu bytes "
                     "after it starts (a cut-off copy)",
                     off, im->length, len - off);
            return -EINVAL;
        }
        /* PCI 3.0: more device ids this image serves. */
        size_t list = le16(p + 8);
        if (p[0x0c] >= 3 && list != 0 && list < im->length) {
            size_t k = 0;
            for (size_t at = list; at + 2 <= im->length && k + 1 < ARRAY_SIZE(im->devices);
                 at += 2) {
                unsigned id = le16(img + at);
                if (id == 0)
                    break;
                im->devices[k++] = id;
            }
        }
        if (im->code_type == PCI_ROM_EFI && le32(img + 4) == EFI_SIGNATURE)
            im->efi_machine = le16(img + 0x0a);
        if (im->code_type == PCI_ROM_X86) {
            size_t init = (size_t)img[2] * 512;
            if (init > 0 && init <= im->length) {
                unsigned sum = 0;
                for (size_t k = 0; k < init; k++)
                    sum += img[k];
                im->checksum_ok = (sum & 0xff) == 0;
            }
        }
        info->n_images++;
        off += im->length;
        /* Padding (0xff) often follows the last image, marked or not. */
        if (last || len - off < 2 || d[off] != 0x55 || d[off + 1] != 0xaa)
            return 0;
    }
}

int pci_rom_parse(const unsigned char *data, size_t len, struct pci_rom_info *info,
                  struct vmrun_error *err)
{
    memset(info, 0, sizeof(*info));
    info->size = len;
    if (len < ROM_HEADER_MIN)
        return vmrun_failx(err, EINVAL, "it is %zu bytes long: too short for a PCI option ROM",
                           len);
    char why[256];
    if (parse_chain(data, len, 0, info, why, sizeof(why)) == 0)
        return 0;
    /* Some flash tools put a header of their own before the image. */
    size_t limit = len < LEADING_MAX ? len : LEADING_MAX;
    for (size_t off = 1; off + ROM_HEADER_MIN <= limit; off++) {
        if (data[off] != 0x55 || data[off + 1] != 0xaa)
            continue;
        char ignored[256];
        if (parse_chain(data, len, off, info, ignored, sizeof(ignored)) == 0) {
            info->leading = off;
            return 0;
        }
    }
    info->n_images = 0;
    return vmrun_failx(err, EINVAL, "it is no PCI option ROM: %s", why);
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case 0x8664:
        return "x64";
    case 0x014c:
        return "IA32";
    case 0xaa64:
        return "AArch64";
    case 0x0ebc:
        return "EBC";
    case 0:
        return "with a bad EFI header";
    default:
        return "for an unknown machine";
    }
}

static const char *code_name(const struct pci_rom_image *im, char *buf, size_t len)
{
    switch (im->code_type) {
    case PCI_ROM_X86:
        return "x86 BIOS";
    case PCI_ROM_OPENFIRMWARE:
        return "Open Firmware";
    case PCI_ROM_PARISC:
        return "PA-RISC";
    case PCI_ROM_EFI:
        snprintf(buf, len, "EFI %s", machine_name(im->efi_machine));
        return buf;
    default:
        snprintf(buf, len, "code type %u", im->code_type);
        return buf;
    }
}

void pci_rom_describe(const struct pci_rom_info *info, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%zu image%s:", info->n_images,
                                   info->n_images == 1 ? "" : "s");
    for (size_t k = 0; k < info->n_images && used < len; k++) {
        const struct pci_rom_image *im = &info->images[k];
        char cbuf[64];
        int n = snprintf(buf + used, len - used, "%s %s %04x:%04x (%zu KiB)", k ? "," : "",
                         code_name(im, cbuf, sizeof(cbuf)), im->vendor, im->device,
                         im->length / 1024);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static bool serves(const struct pci_rom_image *im, unsigned vendor, unsigned device)
{
    if (im->vendor != vendor)
        return false;
    if (im->device == device)
        return true;
    for (size_t k = 0; k < ARRAY_SIZE(im->devices) && im->devices[k] != 0; k++)
        if (im->devices[k] == device)
            return true;
    return false;
}

int pci_rom_fit(const struct pci_rom_info *info, unsigned vendor, unsigned device, bool uefi,
                struct vmrun_error *err)
{
    if (info->n_images == 0)
        return vmrun_failx(err, EINVAL, "it holds no ROM image");
    if (info->leading > 0)
        return vmrun_failx(err, EINVAL,
                           "the ROM image starts %zu bytes into the file, after a header that "
                           "some flash tools write; QEMU needs the image alone: cut the header "
                           "off with 'dd if=FILE of=FIXED.rom bs=%zu skip=1'",
                           info->leading, info->leading);
    if (vendor != 0 || device != 0) {
        bool any = false;
        for (size_t k = 0; k < info->n_images && !any; k++)
            any = serves(&info->images[k], vendor, device);
        if (!any)
            return vmrun_failx(err, EINVAL,
                               "it is a ROM for %04x:%04x, not for this device (%04x:%04x): the "
                               "guest would run another card's firmware; use this card's own "
                               "ROM",
                               info->images[0].vendor, info->images[0].device, vendor, device);
    }
    for (size_t k = 0; k < info->n_images; k++) {
        const struct pci_rom_image *im = &info->images[k];
        if (im->code_type == PCI_ROM_X86 && !im->checksum_ok)
            return vmrun_failx(err, EINVAL,
                               "its x86 BIOS image (at offset %zu) fails its checksum: the copy "
                               "is damaged, or was changed while the card's firmware ran (a ROM "
                               "read from the boot GPU's shadow)",
                               im->offset);
    }
    if (uefi) {
        bool efi = false, other = false;
        unsigned seen = 0;
        for (size_t k = 0; k < info->n_images; k++) {
            const struct pci_rom_image *im = &info->images[k];
            if (im->code_type != PCI_ROM_EFI)
                continue;
            if (im->efi_machine == 0x8664 || im->efi_machine == 0x0ebc)
                efi = true;
            else {
                other = true;
                seen = im->efi_machine;
            }
        }
        if (!efi && other)
            return vmrun_failx(err, EINVAL,
                               "its EFI image is %s, not x64: the guest's UEFI firmware cannot "
                               "run it",
                               machine_name(seen));
        if (!efi)
            return vmrun_failx(err, EINVAL,
                               "it has no EFI image, and the guest boots through UEFI "
                               "(firmware.code): the card shows nothing until the guest's own "
                               "driver loads, and the firmware cannot use it; use a ROM with a "
                               "UEFI (GOP) image");
    }
    return 0;
}
