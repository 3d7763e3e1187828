/* The "input" section of a profile: the host's keyboards and mice given to
 * the guest (host/input/input.h), each named by one event node (evdev) or
 * as a whole physical device (device: a path, or "VVVV:PPPP[:SERIAL]"),
 * with the hotkey that moves input between host and guest and whether the
 * VM may start without it. Pure, like the rest of the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

const char *const profile_input_keys[] = {"evdev", "device", "grab_toggle", "required", NULL};
static const char *const grab_toggle_names[] = {
    "ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta", "scrolllock", "ctrl-scrolllock", NULL};

#define SERIAL_MAX 126

/* "VVVV:PPPP" or "VVVV:PPPP:SERIAL" (the serial: printable ASCII, the rest
 * of the string, which may itself hold ':'). */
static bool parse_ids(const char *s, struct vm_input *in)
{
    unsigned v, p;
    if (strlen(s) < 9 || s[4] != ':' || !pj_hexn(s, 4, &v) || !pj_hexn(s + 5, 4, &p))
        return false;
    if (s[9] != '\0' && s[9] != ':')
        return false;
    if (s[9] == ':') {
        const char *serial = s + 10;
        size_t n = strlen(serial);
        if (n == 0 || n > SERIAL_MAX)
            return false;
        for (size_t i = 0; i < n; i++)
            if (serial[i] < 0x20 || serial[i] > 0x7e)
                return false;
        in->serial = strdup(serial);
        if (in->serial == NULL)
            return false;
    }
    in->by_ids = true;
    in->vendor = v;
    in->product = p;
    return true;
}

static void parse_device(struct pj *pj, const cJSON *o, struct vm_input *in)
{
    const cJSON *v = pj_member(o, "device");
    if (v == NULL)
        return;
    const char *expected =
        "a device as \"VVVV:PPPP\" or \"VVVV:PPPP:SERIAL\" (USB vendor and product ids, 4 hex "
        "digits each, and the serial number), or the absolute path of one of its event nodes";
    size_t saved = pj_push_key(pj, "device");
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &in->device) > 0 && in->device[0] != '/' &&
        !parse_ids(in->device, in)) {
        char got[128];
        pj_describe(v, got, sizeof(got));
        pj_error(pj, v, "expected %s, got %s", expected, got);
    }
    if (in->by_ids) {
        free(in->device);
        in->device = NULL;
    }
    pj_pop(pj, saved);
}

/* Two entries naming the same thing would fight over it. */
static bool same_device(const struct vm_input *a, const struct vm_input *b)
{
    if (a->evdev != NULL || b->evdev != NULL)
        return a->evdev != NULL && b->evdev != NULL && strcmp(a->evdev, b->evdev) == 0;
    if (a->by_ids != b->by_ids)
        return false;
    if (!a->by_ids)
        return a->device != NULL && b->device != NULL && strcmp(a->device, b->device) == 0;
    /* The same ids: the same device unless both name different serials. */
    return a->vendor == b->vendor && a->product == b->product &&
           (a->serial == NULL || b->serial == NULL || strcmp(a->serial, b->serial) == 0);
}

void profile_parse_input(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    struct pj_list l;
    p->inputs = pj_list_open(pj, root, "input", "an array of input devices", VM_INPUTS_MAX,
                             sizeof(*p->inputs), &l);
    if (p->inputs == NULL)
        return;
    size_t saved = l.saved, n = l.n;
    p->n_inputs = n;
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = l.items[i];
        struct vm_input *in = &p->inputs[i];
        size_t s2 = pj_push_index(pj, i);
        if (pj_object(pj, o, profile_input_keys)) {
            const char *expected = "an evdev device path such as \"/dev/input/by-id/...\"";
            bool has_evdev = pj_member(o, "evdev") != NULL;
            bool has_device = pj_member(o, "device") != NULL;
            if (!has_evdev && !has_device)
                pj_missing(pj, o, "device",
                           "the device: \"device\" (\"VVVV:PPPP[:SERIAL]\" or a path: every event "
                           "node of it) or \"evdev\" (one event node's path)");
            if (has_evdev && has_device) {
                size_t s3 = pj_push_key(pj, "device");
                pj_error_key(pj, pj_member(o, "device"),
                             "\"device\" and \"evdev\" both name the device: give one of them");
                pj_pop(pj, s3);
            }
            pj_get_string(pj, o, "evdev", PJ_NONEMPTY | PJ_ABSPATH, expected, &in->evdev);
            parse_device(pj, o, in);
            int t;
            if (pj_get_enum(pj, o, "grab_toggle", grab_toggle_names, &t) > 0)
                in->grab_toggle = strdup(grab_toggle_names[t]);
            pj_get_bool(pj, o, "required", &in->required);
            for (size_t j = 0; j < i && (in->evdev != NULL || in->device != NULL || in->by_ids);
                 j++)
                if (same_device(&p->inputs[j], in)) {
                    pj_error(pj, o, "this device is already given to the guest at input[%zu]", j);
                    break;
                }
        }
        pj_pop(pj, s2);
    }
    free(l.items);
    pj_pop(pj, saved);
}
