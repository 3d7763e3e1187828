/* "access": {"users": [...], "groups": [...]} (profile_access.h). */
#include "profile/profile_access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

static const char *const access_keys[] = {"users", "groups", NULL};

/* A user or group name as /etc/passwd and /etc/group spell them: 1-32 of
 * [A-Za-z0-9_.-], not starting with '-', not all digits (which tools read
 * as an id). */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 32 && s[0] != '-' && strspn(s, "0123456789") != n &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void parse_names(struct pj *pj, const cJSON *o, const char *key, const char *what,
                        char ***out, size_t *n_out)
{
    const cJSON *arr = pj_member(o, key);
    if (arr == NULL)
        return;
    size_t saved = pj_push_key(pj, key);
    if (!cJSON_IsArray(arr)) {
        char got[128];
        pj_describe(arr, got, sizeof(got));
        pj_error(pj, arr, "expected a list of %s names, got %s", what, got);
        pj_pop(pj, saved);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    char **names = calloc(n + 1, sizeof(*names));
    if (names == NULL) {
        pj_pop(pj, saved);
        return;
    }
    size_t i = 0, kept = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t at = pj_push_index(pj, i);
        char expected[96];
        snprintf(expected, sizeof(expected), "a %s name (1-32 of [A-Za-z0-9_.-])", what);
        char *name = NULL;
        if (pj_string(pj, item, PJ_NONEMPTY, expected, &name) > 0) {
            if (!valid_name(name)) {
                char got[128];
                pj_describe(item, got, sizeof(got));
                pj_error(pj, item, "expected %s, not starting with '-' and not all digits, got %s",
                         expected, got);
                free(name);
            } else {
                bool dup = false;
                for (size_t k = 0; k < kept && !dup; k++)
                    dup = strcmp(names[k], name) == 0;
                if (dup) {
                    pj_error(pj, item, "%s \"%s\" is listed twice", what, name);
                    free(name);
                } else {
                    names[kept++] = name;
                }
            }
        }
        pj_pop(pj, at);
        i++;
    }
    *out = names;
    *n_out = kept;
    pj_pop(pj, saved);
}

void profile_parse_access(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *o = pj_member(root, "access");
    if (o == NULL)
        return;
    size_t saved = pj_push_key(pj, "access");
    if (pj_object(pj, o, access_keys)) {
        p->access.present = true;
        parse_names(pj, o, "users", "user", &p->access.users, &p->access.n_users);
        parse_names(pj, o, "groups", "group", &p->access.groups, &p->access.n_groups);
    }
    pj_pop(pj, saved);
}
