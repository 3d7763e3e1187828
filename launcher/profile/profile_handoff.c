/* The "handoff" object and pci[].reset_method (profile_handoff.h). */
#include "profile/profile_handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

#define MAX_SESSION_UNITS 16
#define MAX_HANDOFF_TIMEOUT_S 600

/* The names Linux accepts in /sys/bus/pci/devices/BDF/reset_method (6.x). */
const char *const profile_reset_method_names[] = {
    "device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus", NULL,
};

const char *const profile_handoff_keys[] = {"display_manager", "session_units", "kill_holders",
                                            "timeout", NULL};
static const char *const dm_suffixes[] = {".service", NULL};
static const char *const session_suffixes[] = {".service", ".target", NULL};

bool profile_valid_unit_name(const char *s, const char *const *suffixes)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '-' || s[0] == '.')
        return false;
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@-") != n)
        return false;
    for (const char *const *x = suffixes; *x != NULL; x++) {
        size_t m = strlen(*x);
        if (n > m && strcmp(s + n - m, *x) == 0)
            return true;
    }
    return false;
}

static void parse_display_manager(struct pj *pj, const cJSON *o, struct vm_handoff *h)
{
    const cJSON *v = pj_member(o, "display_manager");
    if (v == NULL)
        return;
    const char *expected =
        "\"auto\", \"none\" or a systemd service name such as \"gdm.service\"";
    size_t saved = pj_push_key(pj, "display_manager");
    cleanup_free char *s = NULL;
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &s) > 0) {
        if (strcmp(s, "auto") == 0) {
            h->display_manager = VM_DM_AUTO;
        } else if (strcmp(s, "none") == 0) {
            h->display_manager = VM_DM_NONE;
        } else if (profile_valid_unit_name(s, dm_suffixes)) {
            h->display_manager = VM_DM_UNIT;
            h->display_manager_unit = steal_pointer(&s);
        } else {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
        }
    }
    pj_pop(pj, saved);
}

static void parse_session_units(struct pj *pj, const cJSON *o, struct vm_handoff *h)
{
    const cJSON *a = pj_member(o, "session_units");
    if (a == NULL)
        return;
    const char *expected = "a systemd user unit name such as \"plasma-workspace.target\" "
                           "(ending in .service or .target)";
    size_t saved = pj_push_key(pj, "session_units");
    char got[128];
    if (!cJSON_IsArray(a)) {
        pj_describe(a, got, sizeof(got));
        pj_error(pj, a, "expected an array of systemd user unit names, got %s", got);
        pj_pop(pj, saved);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(a);
    if (n > MAX_SESSION_UNITS) {
        pj_error(pj, a, "expected at most %d entries, got %zu", MAX_SESSION_UNITS, n);
        pj_pop(pj, saved);
        return;
    }
    h->session_units = calloc(n + 1, sizeof(*h->session_units));
    if (h->session_units == NULL) {
        pj_error(pj, a, "out of memory");
        pj_pop(pj, saved);
        return;
    }
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next, i++) {
        size_t s2 = pj_push_index(pj, i);
        char *s = NULL;
        if (pj_string(pj, c, PJ_NONEMPTY, expected, &s) > 0) {
            bool dup = false;
            for (size_t k = 0; k < h->n_session_units && !dup; k++)
                dup = strcmp(h->session_units[k], s) == 0;
            pj_describe(c, got, sizeof(got));
            if (!profile_valid_unit_name(s, session_suffixes)) {
                pj_error(pj, c, "expected %s, got %s", expected, got);
                free(s);
            } else if (dup) {
                pj_error(pj, c, "%s is listed twice", got);
                free(s);
            } else {
                h->session_units[h->n_session_units++] = s;
            }
        }
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}

void profile_parse_handoff(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    struct vm_handoff *h = &p->handoff;
    h->display_manager = VM_DM_AUTO;
    h->timeout_s = PROFILE_HANDOFF_DEFAULT_TIMEOUT_S;
    const cJSON *o = pj_member(root, "handoff");
    if (o == NULL)
        return;
    size_t saved = pj_push_key(pj, "handoff");
    if (pj_object(pj, o, profile_handoff_keys)) {
        h->present = true;
        parse_display_manager(pj, o, h);
        parse_session_units(pj, o, h);
        pj_get_bool(pj, o, "kill_holders", &h->kill_holders);
        int64_t v;
        if (pj_get_int(pj, o, "timeout", 1, MAX_HANDOFF_TIMEOUT_S,
                       "a number of seconds (integer, 1-600)", &v) > 0)
            h->timeout_s = (unsigned)v;
        /* The display goes to the VM with the devices in "pci": handoff
         * without any is a profile mistake, not a host fact. */
        if (p->n_pci == 0)
            pj_error(pj, o,
                     "handoff hands the host's GPU to the VM: list the GPU's functions in "
                     "\"pci\"");
    }
    pj_pop(pj, saved);
}

static int method_index(const char *s)
{
    for (int i = 0; profile_reset_method_names[i] != NULL; i++)
        if (strcmp(profile_reset_method_names[i], s) == 0)
            return i;
    return -1;
}

void profile_parse_reset_method(struct pj *pj, const cJSON *entry, char **out)
{
    const cJSON *v = pj_member(entry, "reset_method");
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, "reset_method");
    char got[128], expected[256] = "one of";
    for (int i = 0; profile_reset_method_names[i] != NULL; i++)
        snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s \"%s\"",
                 i ? "," : "", profile_reset_method_names[i]);
    if (cJSON_IsString(v)) {
        int m = method_index(v->valuestring);
        if (m < 0) {
            pj_describe(v, got, sizeof(got));
            const char *near = pj_suggest(v->valuestring, profile_reset_method_names);
            if (near != NULL)
                pj_error(pj, v, "expected %s, got %s; did you mean \"%s\"?", expected, got, near);
            else
                pj_error(pj, v, "expected %s, got %s", expected, got);
        } else {
            *out = strdup(profile_reset_method_names[m]);
        }
        pj_pop(pj, saved);
        return;
    }
    if (!cJSON_IsArray(v) || v->child == NULL) {
        pj_describe(v, got, sizeof(got));
        pj_error(pj, v,
                 "expected a reset method name or a non-empty array of them, in order, got %s",
                 got);
        pj_pop(pj, saved);
        return;
    }
    char joined[256] = "";
    bool seen[16] = {false}, ok = true;
    size_t i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        size_t s2 = pj_push_index(pj, i);
        int m = cJSON_IsString(c) ? method_index(c->valuestring) : -1;
        pj_describe(c, got, sizeof(got));
        if (m < 0) {
            pj_error(pj, c, "expected %s, got %s", expected, got);
            ok = false;
        } else if (seen[m]) {
            pj_error(pj, c, "%s is listed twice", got);
            ok = false;
        } else {
            seen[m] = true;
            snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                     joined[0] ? " " : "", profile_reset_method_names[m]);
        }
        pj_pop(pj, s2);
    }
    if (ok)
        *out = strdup(joined);
    pj_pop(pj, saved);
}
