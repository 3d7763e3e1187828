/* smbios: the strings of the SMBIOS tables the guest's firmware shows
 * (BIOS, system, baseboard, chassis), as libvirt's <sysinfo type='smbios'>
 * sets them. Some guest software checks them; QEMU's defaults name QEMU.
 * The system UUID is the top-level "uuid". */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_sections.h"

const struct profile_smbios_type profile_smbios_types[SMBIOS_N_TYPES] = {
    [SMBIOS_BIOS] = {"bios", 0, {"vendor", "version", "date", "release", NULL}},
    [SMBIOS_SYSTEM] = {"system",
                       1,
                       {"manufacturer", "product", "version", "serial", "sku", "family", NULL}},
    [SMBIOS_BASEBOARD] = {"baseboard",
                          2,
                          {"manufacturer", "product", "version", "serial", "asset", "location",
                           NULL}},
    [SMBIOS_CHASSIS] = {"chassis", 3, {"manufacturer", "version", "serial", "asset", "sku", NULL}},
};

/* SMBIOS strings are short; QEMU and guests take up to a few hundred
 * bytes, far more than any real table holds. */
#define MAX_SMBIOS_STRING 256

/* bios.release is "MAJOR.MINOR", each 0-255: QEMU stores two bytes. */
static bool release_ok(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || a > 3 || s[a] != '.')
        return false;
    size_t b = strspn(s + a + 1, "0123456789");
    if (b == 0 || b > 3 || s[a + 1 + b] != '\0')
        return false;
    return atoi(s) <= 255 && atoi(s + a + 1) <= 255;
}

void profile_parse_smbios(struct pj *pj, const cJSON *node, struct vm_profile *p)
{
    const char *types[SMBIOS_N_TYPES + 1];
    for (int t = 0; t < SMBIOS_N_TYPES; t++)
        types[t] = profile_smbios_types[t].key;
    types[SMBIOS_N_TYPES] = NULL;
    if (!pj_object(pj, node, types))
        return;
    for (int t = 0; t < SMBIOS_N_TYPES; t++) {
        const struct profile_smbios_type *ty = &profile_smbios_types[t];
        const cJSON *o = pj_member(node, ty->key);
        if (o == NULL)
            continue;
        size_t saved = pj_push_key(pj, ty->key);
        if (pj_object(pj, o, ty->fields)) {
            for (int f = 0; ty->fields[f] != NULL; f++) {
                const cJSON *v = pj_member(o, ty->fields[f]);
                if (v == NULL)
                    continue;
                size_t s2 = pj_push_key(pj, ty->fields[f]);
                bool release = t == SMBIOS_BIOS && strcmp(ty->fields[f], "release") == 0;
                const char *expected = release ? "a BIOS release \"MAJOR.MINOR\" (each 0-255)"
                                               : "an SMBIOS string (1-256 characters)";
                char *s = NULL;
                if (pj_string(pj, v, PJ_NONEMPTY, expected, &s) > 0) {
                    char got[128];
                    pj_describe(v, got, sizeof(got));
                    if ((release && !release_ok(s)) || strlen(s) > MAX_SMBIOS_STRING) {
                        pj_error(pj, v, "expected %s, got %s", expected, got);
                        free(s);
                    } else {
                        p->smbios.value[t][f] = s;
                        p->smbios.present = true;
                    }
                }
                pj_pop(pj, s2);
            }
        }
        pj_pop(pj, saved);
    }
}
