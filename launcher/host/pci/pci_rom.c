/* PCI option ROM images (pci_rom.h). */
#include "host/pci/pci_rom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/pci/pci_host.h"
#include "host/pci/pci_sysfs.h"
#include "priv/priv_drop.h"
#include "priv/priv_files.h"
#include "sys/devnodes.h"
#include "sys/hostpath.h"
#include "sys/timed_write.h"

int pci_rom_read_fd(int fd, const char *name, unsigned char **data, size_t *len,
                    struct vmrun_error *err)
{
    *data = NULL;
    *len = 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", name);
    if (!S_ISREG(st.st_mode))
        return vmrun_failx(err, EINVAL, "%s is not a regular file", name);
    if (st.st_size > (off_t)PCI_ROM_MAX_BYTES)
        return vmrun_failx(err, EFBIG, "%s is %lld bytes: larger than any PCI option ROM (16 MiB)",
                           name, (long long)st.st_size);
    size_t size = (size_t)st.st_size;
    cleanup_free unsigned char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return vmrun_fail(err, ENOMEM, "read %s", name);
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "read %s", name);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *data = steal_pointer(&buf);
    *len = got;
    return 0;
}

bool pci_rom_guest_uefi(const struct vm_profile *p)
{
    return p->firmware.code != NULL;
}

int pci_rom_check_entry(const struct vm_profile *p, size_t i, unsigned vendor, unsigned device,
                        char *desc, size_t dlen, struct vmrun_error *err)
{
    const char *file = p->pci[i].rom;
    if (desc != NULL && dlen > 0)
        desc[0] = '\0';
    if (file == NULL)
        return 0;
    struct priv_target t = {0};
    int r = priv_resolve_target(p, &t, err);
    if (r < 0)
        return r;
    char what[32];
    snprintf(what, sizeof(what), "pci[%zu].rom", i);
    cleanup_close int fd = priv_open_for_qemu(&t, what, file, O_RDONLY, PRIV_FILE_REGULAR, true, err);
    priv_target_free(&t);
    if (fd < 0)
        return fd;
    cleanup_free unsigned char *data = NULL;
    size_t len;
    r = pci_rom_read_fd(fd, file, &data, &len, err);
    if (r < 0)
        return vmrun_error_prefix(err, "pci[%zu].rom", i);
    struct pci_rom_info info;
    if (pci_rom_parse(data, len, &info, err) < 0 ||
        pci_rom_fit(&info, vendor, device, pci_rom_guest_uefi(p), err) < 0)
        return vmrun_error_prefix(err, "pci[%zu].rom: %s", i, file);
    if (desc != NULL)
        pci_rom_describe(&info, desc, dlen);
    return 0;
}

/* ---- reading a device's ROM ---- */

static int rom_disable(const char *path)
{
    struct vmrun_error ignored;
    /* The kernel takes exactly "0" and a newline (two bytes) as "off". */
    return timed_write(path, "0\n", 0, NULL, &ignored);
}

int pci_rom_dump(const char *address, unsigned char **data, size_t *len,
                 struct pci_rom_info *info, struct vmrun_error *err)
{
    char norm[PCI_ADDR_LEN], path[PATH_MAX], buf[64];
    *data = NULL;
    *len = 0;
    if (pci_normalize_address(address, norm) < 0)
        return vmrun_failx(err, EINVAL, "'%s' is not a PCI address (DDDD:BB:SS.F or BB:SS.F)",
                           address);
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s", norm) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!pci_sysfs_exists(path))
        return vmrun_failx(err, ENODEV, "there is no PCI device %s ('vmrun iommu' lists them)",
                           norm);
    unsigned vendor = 0, device = 0;
    host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/vendor", norm);
    if (pci_sysfs_read(path, buf, sizeof(buf)) == 0)
        vendor = (unsigned)strtoul(buf, NULL, 16);
    host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/device", norm);
    if (pci_sysfs_read(path, buf, sizeof(buf)) == 0)
        device = (unsigned)strtoul(buf, NULL, 16);

    host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/boot_vga", norm);
    if (pci_sysfs_read(path, buf, sizeof(buf)) == 0 && strcmp(buf, "1") == 0)
        return vmrun_failx(err, EPERM,
                           "%s is the boot VGA device: for it the kernel gives the copy of its "
                           "ROM that the system firmware ran at boot (the shadow at 0xC0000), "
                           "which the card's own firmware changed while it set the card up; a "
                           "VM cannot use that copy. Read it with another GPU as the boot "
                           "display (or this card in another slot), or use the card maker's "
                           "ROM file",
                           norm);

    char driver[PCI_DRIVER_MAX];
    pci_current_driver(norm, driver, sizeof(driver));
    if (strcmp(driver, "vfio-pci") == 0) {
        struct dev_holders h;
        struct vmrun_error ignored;
        if (devnodes_find_holders(norm, driver, pci_iommu_group(norm), &h, &ignored) == 0) {
            char who[512];
            devnodes_holders_describe(&h, who, sizeof(who));
            size_t n = h.n;
            devnodes_holders_free(&h);
            if (n > 0)
                return vmrun_failx(err, EBUSY,
                                   "%s belongs to a running VM (%s): reading its ROM would "
                                   "switch the ROM BAR under the guest; stop the VM first",
                                   norm, who);
        }
    }

    char rom[PATH_MAX];
    if (host_path(rom, sizeof(rom), HOST_SYS, "/bus/pci/devices/%s/rom", norm) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    struct stat st;
    if (lstat(rom, &st) < 0)
        return vmrun_failx(err, ENOENT, "%s has no option ROM (the kernel shows no %s)", norm, rom);
    size_t size = st.st_size > 0 && st.st_size <= (off_t)PCI_ROM_MAX_BYTES ? (size_t)st.st_size
                                                                          : PCI_ROM_MAX_BYTES;
    cleanup_free unsigned char *image = malloc(size);
    if (image == NULL)
        return vmrun_fail(err, ENOMEM, "read %s", rom);

    int r = timed_write(rom, "1", 0, NULL, err);
    if (r < 0)
        return vmrun_error_prefix(err, "%s: enable reading its ROM", norm);
    ssize_t got = timed_read(rom, image, size, 0, err);
    /* Off again whatever the read did. */
    int off = rom_disable(rom);
    if (got < 0)
        return vmrun_error_prefix(err, "%s: read its ROM", norm);
    if (off < 0)
        return vmrun_failx(err, EIO, "%s: could not switch ROM reading off again (%s)", norm, rom);
    if (got == 0)
        return vmrun_failx(err, EIO,
                           "%s gave an empty ROM: its ROM BAR may be disabled while no driver "
                           "has enabled the device, or hidden by the card",
                           norm);

    if (pci_rom_parse(image, (size_t)got, info, err) < 0 ||
        pci_rom_fit(info, vendor, device, false, err) < 0) {
        char first[32];
        snprintf(first, sizeof(first), "%02x %02x %02x %02x", image[0], got > 1 ? image[1] : 0,
                 got > 2 ? image[2] : 0, got > 3 ? image[3] : 0);
        return vmrun_error_prefix(err,
                                  "%s gave %zd bytes that are no usable ROM (they start with %s); "
                                  "nothing was written",
                                  norm, got, first);
    }
    /* Only the images themselves: the rest of the BAR is padding. */
    const struct pci_rom_image *last = &info->images[info->n_images - 1];
    *len = last->offset + last->length;
    *data = steal_pointer(&image);
    return 0;
}
