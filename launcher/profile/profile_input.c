/* The "input" section of a profile: host evdev devices (keyboards, mice)
 * given to the guest, each with the key combination that toggles the grab
 * between host and guest. Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_sections.h"

const char *const profile_input_keys[] = {"evdev", "grab_toggle", NULL};
static const char *const grab_toggle_names[] = {
    "ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta", "scrolllock", "ctrl-scrolllock", NULL};

void profile_parse_input(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *a = pj_member(root, "input");
    if (a == NULL)
        return;
    size_t saved = pj_push_key(pj, "input");
    if (!pj_is_array(pj, a, "an array of input devices")) {
        pj_pop(pj, saved);
        return;
    }
    size_t n = pj_array_len(a);
    if (pj_too_long(pj, a, n, VM_INPUTS_MAX)) {
        pj_pop(pj, saved);
        return;
    }
    p->inputs = calloc(n + 1, sizeof(*p->inputs));
    if (p->inputs == NULL) {
        pj_error(pj, a, "out of memory");
        pj_pop(pj, saved);
        return;
    }
    p->n_inputs = n;
    size_t i = 0;
    for (const cJSON *o = a->child; o != NULL; o = o->next, i++) {
        struct vm_input *in = &p->inputs[i];
        size_t s2 = pj_push_index(pj, i);
        if (pj_object(pj, o, profile_input_keys)) {
            const char *expected = "an evdev device path such as \"/dev/input/by-id/...\"";
            if (pj_member(o, "evdev") == NULL)
                pj_missing(pj, o, "evdev", expected);
            pj_get_string(pj, o, "evdev", PJ_NONEMPTY | PJ_ABSPATH, expected, &in->evdev);
            int t;
            if (pj_get_enum(pj, o, "grab_toggle", grab_toggle_names, &t) > 0)
                in->grab_toggle = strdup(grab_toggle_names[t]);
        }
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}
