/* Who a VM is and whom its QEMU runs as: the profile's "name" (by default
 * its file name), "uuid" (the SMBIOS system UUID) and "run_as". Pure, like
 * the rest of the parser. */
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= PROFILE_NAME_MAX && s[0] != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

void profile_parse_name(struct pj *pj, const cJSON *root, const char *file, struct vm_profile *p)
{
    const char *expected = "a VM name: 1-64 of [A-Za-z0-9_.-], not starting with '.'";
    const cJSON *v = pj_member(root, "name");
    if (v != NULL) {
        size_t saved = pj_push_key(pj, "name");
        cleanup_free char *name = NULL;
        if (pj_string(pj, v, PJ_NONEMPTY, expected, &name) > 0) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            if (!valid_name(name))
                pj_error(pj, v, "expected %s, got %s", expected, got);
            else
                snprintf(p->name, sizeof(p->name), "%s", name);
        }
        pj_pop(pj, saved);
        return;
    }
    /* The default: the file name without directories and ".json". */
    const char *base = strrchr(file, '/');
    base = base != NULL ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    char name[PROFILE_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) - 1 ? n : sizeof(name) - 1), base);
    if (n > PROFILE_NAME_MAX || !valid_name(name)) {
        char quoted[128];
        pj_quote(name, quoted, sizeof(quoted));
        size_t saved = pj_push_key(pj, "name");
        pj_error(pj, root,
                 "no \"name\" is given and the file name %s is not a valid one; add \"name\": %s",
                 quoted, expected);
        pj_pop(pj, saved);
        return;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
}

void profile_parse_run_as(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const char *expected = "a user name (1-32 of [A-Za-z0-9_.-], not starting with '-')";
    const cJSON *v = pj_member(root, "run_as");
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, "run_as");
    cleanup_free char *user = NULL;
    if (pj_string(pj, v, PJ_NONEMPTY | PJ_NAME, expected, &user) > 0) {
        size_t n = strlen(user);
        /* An all-digit name would be read as a uid by the tools users
         * check with; refusing it keeps "run_as" a name. */
        if (n > 32 || user[0] == '-' || strspn(user, "0123456789") == n) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
        } else {
            p->run_as = steal_pointer(&user);
        }
    }
    pj_pop(pj, saved);
}

/* The SMBIOS system UUID (-uuid), which Windows ties its activation to:
 * 8-4-4-4-12 hex digits, or the 32 digits without dashes as libvirt also
 * accepts; kept in lower case with dashes. */
void profile_parse_uuid(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *v = pj_member(root, "uuid");
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, "uuid");
    const char *expected = "a UUID such as \"4dea22b3-1d52-d8f3-2516-782e98ab3fa0\"";
    cleanup_free char *s = NULL;
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &s) > 0) {
        char out[37];
        size_t o = 0;
        bool ok = true;
        for (size_t i = 0; s[i] != '\0' && ok; i++) {
            if (s[i] == '-')
                continue;
            int h = pj_hexval(s[i]);
            ok = h >= 0 && o < 36;
            if (ok) {
                if (o == 8 || o == 13 || o == 18 || o == 23)
                    out[o++] = '-';
                out[o++] = "0123456789abcdef"[h];
            }
        }
        /* Dashes, when given, must be where a UUID has them. */
        size_t len = strlen(s);
        if (ok && o == 36 && len == 36)
            ok = s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
        else if (ok)
            ok = o == 36 && len == 32;
        if (!ok) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
        } else {
            out[36] = '\0';
            memcpy(p->uuid, out, sizeof(p->uuid));
        }
    }
    pj_pop(pj, saved);
}
