/* The "usb" section of a profile: rules for the host USB devices the VM
 * takes, while it runs, as they are plugged in (supervisor/usb_hotplug.h).
 * A rule names devices by vendor and product (and serial number), by the
 * port they are plugged into, or by class; every criterion given must
 * hold. The key itself, even an empty list, gives the VM its USB
 * controller. Pure, like the rest of the parser.
 *
 * A rule that could never take a device is an error: ids that are not 4
 * hex digits, a serial without the ids (serial numbers are unique only
 * within a vendor and product), a port path no kernel gives, a class
 * nobody defines, hubs (QEMU passes the devices behind one, never the hub),
 * a rule without any criterion, the same rule twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

const char *const profile_usb_keys[] = {"vendor", "product", "serial", "port", "class", NULL};

/* The USB-IF's base classes a device or an interface declares, by the
 * names a profile uses. 0x00 (the class is in each interface) and 0x09
 * (hub) are none a rule can take. */
static const struct {
    const char *name;
    int code;
} classes[] = {
    {"audio", 0x01},       {"comm", 0x02},          {"hid", 0x03},
    {"physical", 0x05},    {"image", 0x06},         {"printer", 0x07},
    {"storage", 0x08},     {"cdc-data", 0x0a},      {"smart-card", 0x0b},
    {"content-security", 0x0d}, {"video", 0x0e},    {"healthcare", 0x0f},
    {"audio-video", 0x10}, {"billboard", 0x11},     {"type-c-bridge", 0x12},
    {"diagnostic", 0xdc},  {"wireless", 0xe0},      {"misc", 0xef},
    {"application", 0xfe}, {"vendor", 0xff},
};
#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

const char *profile_usb_class_name(int code)
{
    for (size_t i = 0; i < N_CLASSES; i++)
        if (classes[i].code == code)
            return classes[i].name;
    return NULL;
}

/* A decimal number 1-255 at *s, advancing past it. */
static bool port_number(const char **s)
{
    unsigned v = 0;
    const char *p = *s;
    if (*p < '1' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 255)
            return false;
    }
    *s = p;
    return true;
}

bool profile_usb_port_valid(const char *s)
{
    if (s == NULL || strlen(s) >= VM_USB_PORT_MAX || !port_number(&s) || *s++ != '-')
        return false;
    for (unsigned depth = 1;; depth++) {
        if (depth > VM_USB_PORT_DEPTH || !port_number(&s))
            return false;
        if (*s == '\0')
            return true;
        if (*s++ != '.')
            return false;
    }
}

/* vendor or product: 4 hex digits. */
static bool parse_usb_id(struct pj *pj, const cJSON *o, const char *key, unsigned *out)
{
    const cJSON *v = pj_member(o, key);
    if (v == NULL)
        return false;
    char expected[64];
    snprintf(expected, sizeof(expected), "a USB %s id of 4 hex digits such as \"046d\"", key);
    size_t saved = pj_push_key(pj, key);
    cleanup_free char *s = NULL;
    bool ok = false;
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &s) > 0) {
        ok = strlen(s) == 4 && pj_hexn(s, 4, out);
        if (!ok) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
        }
    }
    pj_pop(pj, saved);
    return ok;
}

static void parse_port(struct pj *pj, const cJSON *o, struct vm_usb *u)
{
    const char *expected = "a USB port path such as \"1-4\" or \"1-4.2\" (bus, then the port "
                           "numbers from the root hub down: as /sys/bus/usb/devices names it)";
    cleanup_free char *s = NULL;
    if (pj_get_string(pj, o, "port", PJ_NONEMPTY, expected, &s) <= 0)
        return;
    size_t saved = pj_push_key(pj, "port");
    if (!profile_usb_port_valid(s)) {
        char got[128];
        pj_describe(pj_member(o, "port"), got, sizeof(got));
        pj_error(pj, pj_member(o, "port"), "expected %s, got %s", expected, got);
    } else {
        u->port = steal_pointer(&s);
    }
    pj_pop(pj, saved);
}

static void parse_class(struct pj *pj, const cJSON *o, struct vm_usb *u)
{
    const cJSON *v = pj_member(o, "class");
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, "class");
    if (cJSON_IsString(v) && strcmp(v->valuestring, "hub") == 0) {
        pj_error(pj, v,
                 "a hub cannot be given to a VM: QEMU passes the devices behind a hub; name "
                 "their class, or the port they are plugged into");
    } else {
        const char *names[N_CLASSES + 1];
        for (size_t i = 0; i < N_CLASSES; i++)
            names[i] = classes[i].name;
        names[N_CLASSES] = NULL;
        int k;
        if (pj_enum(pj, v, names, &k) > 0)
            u->class_code = classes[k].code;
    }
    pj_pop(pj, saved);
}

static bool same_rule(const struct vm_usb *a, const struct vm_usb *b)
{
    return a->ids == b->ids && (!a->ids || (a->vendor == b->vendor && a->product == b->product)) &&
           (a->serial == NULL) == (b->serial == NULL) &&
           (a->serial == NULL || strcmp(a->serial, b->serial) == 0) &&
           (a->port == NULL) == (b->port == NULL) &&
           (a->port == NULL || strcmp(a->port, b->port) == 0) && a->class_code == b->class_code;
}

static void parse_rule(struct pj *pj, const cJSON *o, struct vm_usb *u)
{
    u->class_code = -1;
    const cJSON *vendor = pj_member(o, "vendor"), *product = pj_member(o, "product");
    bool v_ok = parse_usb_id(pj, o, "vendor", &u->vendor);
    bool p_ok = parse_usb_id(pj, o, "product", &u->product);
    u->ids = v_ok && p_ok;
    if (vendor != NULL && product == NULL)
        pj_missing(pj, o, "product",
                   "a USB product id of 4 hex digits with the vendor (a rule by vendor and "
                   "product names both)");
    if (product != NULL && vendor == NULL)
        pj_missing(pj, o, "vendor",
                   "a USB vendor id of 4 hex digits with the product (a rule by vendor and "
                   "product names both)");
    const cJSON *serial = pj_member(o, "serial");
    if (serial != NULL) {
        size_t saved = pj_push_key(pj, "serial");
        if (pj_string(pj, serial, PJ_NONEMPTY, "the device's serial number (as lsusb -v "
                      "shows it: iSerial)", &u->serial) > 0 &&
            strlen(u->serial) > 255)
            pj_error(pj, serial, "expected a serial number of at most 255 bytes, got %zu",
                     strlen(u->serial));
        else if (u->serial != NULL && (vendor == NULL || product == NULL))
            pj_error(pj, serial,
                     "a serial number names a device only with its vendor and product: add "
                     "\"vendor\" and \"product\"");
        pj_pop(pj, saved);
    }
    parse_port(pj, o, u);
    parse_class(pj, o, u);
    if (vendor == NULL && product == NULL && serial == NULL && pj_member(o, "port") == NULL &&
        pj_member(o, "class") == NULL)
        pj_error(pj, o,
                 "expected a rule for host USB devices: \"vendor\" and \"product\" (and "
                 "\"serial\"), \"port\", or \"class\"; got an object with none of them");
}

void profile_parse_usb(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w)
{
    struct pj_list l;
    p->usb = pj_list_open(pj, root, "usb", "an array of rules for host USB devices", VM_USB_MAX,
                          sizeof(*p->usb), &l);
    if (p->usb == NULL)
        return;
    p->usb_present = true;
    size_t saved = l.saved, n = l.n;
    w->usb_items = l.items;
    p->n_usb = n;
    bool *good = calloc(n + 1, sizeof(*good)); /* read without an error */
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = w->usb_items[i];
        struct vm_usb *u = &p->usb[i];
        u->class_code = -1;
        size_t s2 = pj_push_index(pj, i);
        unsigned errors = pj->n_errors;
        if (pj_object(pj, o, profile_usb_keys))
            parse_rule(pj, o, u);
        if (good != NULL && pj->n_errors == errors) {
            good[i] = true;
            for (size_t j = 0; j < i; j++) {
                if (good[j] && same_rule(&p->usb[j], u)) {
                    pj_error(pj, o, "the same rule as usb[%zu]", j);
                    break;
                }
            }
        }
        pj_pop(pj, s2);
    }
    free(good);
    pj_pop(pj, saved);
}
