/* The "looking_glass" section of a profile: the shared memory (a file or a
 * kvmfr device) through which Looking Glass shows the guest's frames, sized
 * for the resolution. Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

#define MAX_LG_DIMENSION 16384

const char *const profile_looking_glass_keys[] = {"resolution", "device", NULL};

void profile_parse_looking_glass(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *o = pj_member(root, "looking_glass");
    if (o == NULL)
        return;
    size_t saved = pj_push_key(pj, "looking_glass");
    if (!pj_object(pj, o, profile_looking_glass_keys)) {
        pj_pop(pj, saved);
        return;
    }
    p->looking_glass.present = true;
    const char *expected = "a resolution \"WIDTHxHEIGHT\" such as \"2560x1440\"";
    const cJSON *res = pj_member(o, "resolution");
    if (res == NULL) {
        pj_missing(pj, o, "resolution", expected);
    } else {
        size_t s2 = pj_push_key(pj, "resolution");
        cleanup_free char *s = NULL;
        if (pj_string(pj, res, PJ_NONEMPTY, expected, &s) > 0) {
            char got[128];
            pj_describe(res, got, sizeof(got));
            size_t wlen = strspn(s, "0123456789");
            size_t hlen = s[wlen] == 'x' ? strspn(s + wlen + 1, "0123456789") : 0;
            unsigned long wd = 0, ht = 0;
            if (wlen > 0 && wlen <= 5 && hlen > 0 && hlen <= 5 && s[wlen + 1 + hlen] == '\0') {
                wd = strtoul(s, NULL, 10);
                ht = strtoul(s + wlen + 1, NULL, 10);
            }
            if (wd == 0 || ht == 0 || wd > MAX_LG_DIMENSION || ht > MAX_LG_DIMENSION) {
                pj_error(pj, res, "expected %s (each side 1-%d), got %s", expected,
                         MAX_LG_DIMENSION, got);
            } else {
                p->looking_glass.width = (unsigned)wd;
                p->looking_glass.height = (unsigned)ht;
                p->looking_glass.size = profile_looking_glass_size((unsigned)wd, (unsigned)ht);
            }
        }
        pj_pop(pj, s2);
    }
    const cJSON *dev = pj_member(o, "device");
    if (dev != NULL) {
        size_t s2 = pj_push_key(pj, "device");
        const char *expected_dev = "\"shm\" or the path of a kvmfr device such as \"/dev/kvmfr0\"";
        if (pj_string(pj, dev, PJ_NONEMPTY, expected_dev, &p->looking_glass.device) > 0 &&
            strcmp(p->looking_glass.device, "shm") != 0 && p->looking_glass.device[0] != '/') {
            char got[128];
            pj_describe(dev, got, sizeof(got));
            pj_error(pj, dev, "expected %s, got %s", expected_dev, got);
        }
        pj_pop(pj, s2);
    } else {
        p->looking_glass.device = strdup("/dev/kvmfr0");
    }
    pj_pop(pj, saved);
}
