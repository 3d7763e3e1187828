/* cpu.features: CPU feature flags turned on or off on -cpu, by QEMU's
 * names ({"topoext": true, "hypervisor": false}), as libvirt's <feature
 * policy=...> elements set them. Names are checked for their shape only:
 * which flags exist depends on the QEMU build and the CPU model, and QEMU
 * itself names an unknown one when it starts. */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_sections.h"

#define MAX_FEATURE_NAME 32

static bool feature_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= MAX_FEATURE_NAME && strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Features that have their own key: two ways of saying one thing would
 * disagree sooner or later. */
static const char *owned_by(const char *name)
{
    if (strncmp(name, "hv-", 3) == 0 || strncmp(name, "hv_", 3) == 0)
        return "cpu.hyperv";
    if (strcmp(name, "kvm") == 0)
        return "cpu.hide_hypervisor";
    if (strcmp(name, "kvm-hint-dedicated") == 0 || strcmp(name, "kvm_hint_dedicated") == 0)
        return "cpu.dedicated";
    return NULL;
}

void profile_parse_cpu_features(struct pj *pj, const cJSON *node, struct vm_profile *p)
{
    if (!cJSON_IsObject(node)) {
        char got[128];
        pj_describe(node, got, sizeof(got));
        pj_error(pj, node, "expected an object of CPU feature names to true or false, got %s",
                 got);
        return;
    }
    size_t n = 0;
    for (const cJSON *c = node->child; c != NULL; c = c->next)
        n++;
    if (n > VM_CPU_FEATURES_MAX) {
        pj_error(pj, node, "expected at most %d features, got %zu", VM_CPU_FEATURES_MAX, n);
        return;
    }
    p->cpu.features = calloc(n + 1, sizeof(*p->cpu.features));
    if (p->cpu.features == NULL) {
        pj_error(pj, node, "out of memory");
        return;
    }
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        const char *key = c->string != NULL ? c->string : "";
        char quoted[128];
        pj_quote(key, quoted, sizeof(quoted));
        size_t saved = pj_push_key(pj, feature_name_ok(key) ? key : quoted);
        const char *owner = owned_by(key);
        bool dup = false;
        for (const cJSON *e = node->child; e != c && !dup; e = e->next)
            dup = e->string != NULL && strcmp(e->string, key) == 0;
        bool on = false;
        if (!feature_name_ok(key))
            pj_error_key(pj, c,
                         "expected a CPU feature name (1-%d of [a-z0-9_.-], as QEMU spells it), "
                         "got %s",
                         MAX_FEATURE_NAME, quoted);
        else if (owner != NULL)
            pj_error_key(pj, c, "%s has its own key: use %s", quoted, owner);
        else if (dup)
            pj_error_key(pj, c, "duplicate key %s", quoted);
        else if (pj_bool(pj, c, &on) > 0) {
            struct vm_cpu_feature *f = &p->cpu.features[p->cpu.n_features];
            f->name = strdup(key);
            f->on = on;
            if (f->name != NULL)
                p->cpu.n_features++;
        }
        pj_pop(pj, saved);
    }
}
