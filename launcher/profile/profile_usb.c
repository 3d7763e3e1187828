/* The "usb" section of a profile: host USB devices given to the guest, each
 * by its vendor and product id. Pure, like the rest of the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

const char *const profile_usb_keys[] = {"vendor", "product", NULL};

static void parse_usb_id(struct pj *pj, const cJSON *o, const char *key, unsigned *out)
{
    const cJSON *v = pj_member(o, key);
    char expected[64];
    snprintf(expected, sizeof(expected), "a USB %s id of 4 hex digits such as \"046d\"", key);
    if (v == NULL) {
        pj_missing(pj, o, key, expected);
        return;
    }
    size_t saved = pj_push_key(pj, key);
    cleanup_free char *s = NULL;
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &s) > 0) {
        if (strlen(s) != 4 || !pj_hexn(s, 4, out)) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
        }
    }
    pj_pop(pj, saved);
}

void profile_parse_usb(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w)
{
    const cJSON *a = pj_member(root, "usb");
    if (a == NULL)
        return;
    size_t saved = pj_push_key(pj, "usb");
    if (!pj_is_array(pj, a, "an array of USB devices")) {
        pj_pop(pj, saved);
        return;
    }
    size_t n = pj_array_len(a);
    if (pj_too_long(pj, a, n, VM_USB_MAX)) {
        pj_pop(pj, saved);
        return;
    }
    w->usb_items = pj_items(a, &n);
    p->usb = calloc(n + 1, sizeof(*p->usb));
    if (w->usb_items == NULL || p->usb == NULL) {
        pj_error(pj, a, "out of memory");
        pj_pop(pj, saved);
        return;
    }
    p->n_usb = n;
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = w->usb_items[i];
        size_t s2 = pj_push_index(pj, i);
        if (pj_object(pj, o, profile_usb_keys)) {
            struct vm_usb *u = &p->usb[i];
            u->vendor = u->product = 0x10000; /* not read yet */
            parse_usb_id(pj, o, "vendor", &u->vendor);
            parse_usb_id(pj, o, "product", &u->product);
            for (size_t j = 0; j < i && u->vendor <= 0xffff && u->product <= 0xffff; j++) {
                if (p->usb[j].vendor == u->vendor && p->usb[j].product == u->product) {
                    pj_error(pj, o, "USB device %04x:%04x is already listed at usb[%zu]", u->vendor,
                             u->product, j);
                    break;
                }
            }
        }
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}
