/* The "shutdown" section of a profile: how long the guest has to power off
 * after the ACPI power button before vmrun asks QEMU to quit. Pure, like the
 * rest of the parser. */
#include "profile/profile_sections.h"

#define MAX_TIMEOUT_S 86400

const char *const profile_shutdown_keys[] = {"timeout", NULL};

void profile_parse_shutdown(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    p->shutdown.timeout_s = PROFILE_DEFAULT_TIMEOUT_S;
    const cJSON *o = pj_member(root, "shutdown");
    if (o == NULL)
        return;
    size_t saved = pj_push_key(pj, "shutdown");
    if (pj_object(pj, o, profile_shutdown_keys)) {
        int64_t v;
        if (pj_get_int(pj, o, "timeout", 1, MAX_TIMEOUT_S, "a number of seconds (integer >= 1)",
                       &v) > 0)
            p->shutdown.timeout_s = (unsigned)v;
    }
    pj_pop(pj, saved);
}
