/* The "pci" section of a profile: the host PCI devices given to the guest,
 * each with its address, option ROM, boot index, IOMMU group and reset
 * method. Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_handoff.h"
#include "profile/profile_sections.h"

const char *const profile_pci_keys[] = {"address", "rom",          "bootindex", "take_group",
                                        "rombar",  "reset_method", NULL};

/* "DDDD:BB:SS.F" or "BB:SS.F". */
static bool parse_bdf(const char *s, struct vm_pci *d)
{
    size_t n = strlen(s);
    unsigned dom = 0;
    if (n == 12) {
        if (!pj_hexn(s, 4, &dom) || s[4] != ':')
            return false;
        s += 5;
    } else if (n != 7) {
        return false;
    }
    unsigned bus, slot, func;
    if (!pj_hexn(s, 2, &bus) || s[2] != ':' || !pj_hexn(s + 3, 2, &slot) || s[5] != '.' ||
        !pj_hexn(s + 6, 1, &func))
        return false;
    if (slot > 0x1f || func > 7)
        return false;
    d->domain = dom;
    d->bus = bus;
    d->slot = slot;
    d->func = func;
    snprintf(d->address, sizeof(d->address), "%04x:%02x:%02x.%x", dom, bus, slot, func);
    return true;
}

void profile_parse_pci(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w)
{
    struct pj_list l;
    p->pci =
        pj_list_open(pj, root, "pci", "an array of PCI devices", VM_PCI_MAX, sizeof(*p->pci), &l);
    if (p->pci == NULL)
        return;
    size_t saved = l.saved, n = l.n;
    w->pci_items = l.items;
    p->n_pci = n;
    const char *expected =
        "a PCI address \"DDDD:BB:SS.F\" or \"BB:SS.F\" (hex; slot 00-1f, function 0-7)";
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = w->pci_items[i];
        struct vm_pci *d = &p->pci[i];
        d->bootindex = -1;
        size_t s2 = pj_push_index(pj, i);
        if (pj_object(pj, o, profile_pci_keys)) {
            const cJSON *addr = pj_member(o, "address");
            if (addr == NULL) {
                pj_missing(pj, o, "address", expected);
            } else {
                size_t s3 = pj_push_key(pj, "address");
                cleanup_free char *s = NULL;
                if (pj_string(pj, addr, PJ_NONEMPTY, expected, &s) > 0) {
                    char got[128];
                    pj_describe(addr, got, sizeof(got));
                    if (!parse_bdf(s, d)) {
                        pj_error(pj, addr, "expected %s, got %s", expected, got);
                    } else {
                        for (size_t j = 0; j < i; j++) {
                            if (strcmp(p->pci[j].address, d->address) == 0) {
                                pj_error(pj, addr, "device %s is already listed at pci[%zu]",
                                         d->address, j);
                                break;
                            }
                        }
                    }
                }
                pj_pop(pj, s3);
            }
            pj_get_string(pj, o, "rom", PJ_NONEMPTY, "the path of a ROM file", &d->rom);
            profile_parse_bootindex(pj, o, &d->bootindex);
            pj_get_bool(pj, o, "take_group", &d->take_group);
            bool rombar = true;
            if (pj_get_bool(pj, o, "rombar", &rombar) > 0)
                d->rombar_off = !rombar;
            profile_parse_reset_method(pj, o, &d->reset_method);
        }
        pj_pop(pj, s2);
    }
    /* A function listed without its function 0 is given to the guest as
     * function 0 of a root port of its own (qemu/cmdline_build.c), as
     * libvirt does: AMD CPUs' USB controllers are function 3 of a device
     * whose other functions stay with the host. */
    pj_pop(pj, saved);
}
