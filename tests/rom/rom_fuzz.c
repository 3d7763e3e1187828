/* libFuzzer harness for the option ROM parser (host/pci/pci_rom_parse.c):
 * any bytes give either a chain whose images lie inside the input, in
 * order, or -EINVAL with a one-line message; never a crash or a read
 * outside the input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/pci/pci_rom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan catches any read past it. */
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    struct pci_rom_info info;
    struct vmrun_error err = {0};
    int r = pci_rom_parse(copy, size, &info, &err);
    if (r == 0) {
        check(info.n_images >= 1 && info.n_images <= PCI_ROM_MAX_IMAGES);
        size_t at = info.leading;
        for (size_t k = 0; k < info.n_images; k++) {
            check(info.images[k].offset == at);
            check(info.images[k].length > 0 && info.images[k].length <= size - at);
            at += info.images[k].length;
        }
        char buf[512];
        pci_rom_describe(&info, buf, sizeof(buf));
        struct vmrun_error fit = {0};
        r = pci_rom_fit(&info, 0x8086, 0x10d3, size & 1, &fit);
        check(r == 0 || (r == -EINVAL && fit.msg[0] != '\0'));
    } else {
        check(r == -EINVAL && err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
    }
    free(copy);
    return 0;
}
