/* libFuzzer harness for the profile parser: any bytes must give either a
 * profile that keeps the parser's promises or -EINVAL with at least one
 * error, and never a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vm_profile p;
    struct diag_list d = {0};
    int r = profile_parse("fuzz.json", (const char *)data, size, &p, &d);
    char buf[1024];
    for (size_t i = 0; i < d.n; i++) {
        diag_format(&d.items[i], buf, sizeof(buf));
        /* A message is one line: nothing from the input may break it. */
        check(strchr(buf, '\n') == NULL);
    }
    if (r == 0) {
        check(d.n_errors == 0);
        size_t n = strlen(p.name);
        check(n >= 1 && n <= PROFILE_NAME_MAX);
        check(strspn(p.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
              n);
        unsigned vcpus = profile_vcpu_count(&p);
        check(vcpus >= 1 && vcpus <= 1024);
        check(p.cpu.vcpus.n == 0 || p.cpu.vcpus.n == vcpus);
        check(p.memory.size >= (1u << 20) && p.memory.size % (1u << 20) == 0);
        if (p.memory.hugepage_kb != 0)
            check(p.memory.size % ((uint64_t)p.memory.hugepage_kb * 1024) == 0);
        check(p.cpu.vendor_id == NULL || strlen(p.cpu.vendor_id) <= PROFILE_VENDOR_ID_MAX);
        for (size_t i = 0; i < p.n_pci; i++)
            check(p.pci[i].func <= 7 && strlen(p.pci[i].address) == 12);
        /* Every rule accepted can take a device. */
        for (size_t i = 0; i < p.n_usb; i++) {
            const struct vm_usb *u = &p.usb[i];
            check(!u->ids || (u->vendor <= 0xffff && u->product <= 0xffff));
            check(u->serial == NULL || (u->ids && u->serial[0] != '\0'));
            check(u->port == NULL || profile_usb_port_valid(u->port));
            check(u->class_code < 0 || profile_usb_class_name(u->class_code) != NULL);
            check(u->ids || u->port != NULL || u->class_code >= 0);
        }
        profile_free(&p);
    } else {
        check(d.n_errors > 0);
        check(p.name[0] == '\0' && p.disks == NULL && p.pci == NULL);
    }
    diag_list_free(&d);
    return 0;
}
