/* cpu.hyperv as an object: the Hyper-V enlightenments a guest gets, one by
 * one, as libvirt's <hyperv mode='custom'> lists them. `"hyperv": true`
 * keeps meaning vmrun's reference set (profile_parse.c). Each flag's needs
 * are QEMU's (target/i386/kvm: a flag whose needs are off stops QEMU at
 * start), checked here so the profile says so first. */
#include <inttypes.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

#define HV(i) (UINT32_C(1) << (i))
enum {
    HV_RELAXED,
    HV_VAPIC,
    HV_SPINLOCKS,
    HV_VPINDEX,
    HV_RUNTIME,
    HV_SYNIC,
    HV_STIMER,
    HV_STIMER_DIRECT,
    HV_RESET,
    HV_FREQUENCIES,
    HV_REENLIGHTENMENT,
    HV_TLBFLUSH,
    HV_IPI,
    HV_EVMCS,
    HV_TIME,
    HV_CRASH,
    HV_AVIC,
    HV_PASSTHROUGH,
    HV_COUNT
};

const struct profile_hv_flag profile_hv_flags[] = {
    [HV_RELAXED] = {"relaxed", "hv-relaxed", 0},
    [HV_VAPIC] = {"vapic", "hv-vapic", 0},
    [HV_SPINLOCKS] = {"spinlocks", "hv-spinlocks", 0},
    [HV_VPINDEX] = {"vpindex", "hv-vpindex", 0},
    [HV_RUNTIME] = {"runtime", "hv-runtime", 0},
    [HV_SYNIC] = {"synic", "hv-synic", HV(HV_VPINDEX)},
    [HV_STIMER] = {"stimer", "hv-stimer", HV(HV_SYNIC) | HV(HV_TIME)},
    [HV_STIMER_DIRECT] = {"stimer_direct", "hv-stimer-direct", HV(HV_STIMER)},
    [HV_RESET] = {"reset", "hv-reset", 0},
    [HV_FREQUENCIES] = {"frequencies", "hv-frequencies", 0},
    [HV_REENLIGHTENMENT] = {"reenlightenment", "hv-reenlightenment", 0},
    [HV_TLBFLUSH] = {"tlbflush", "hv-tlbflush", HV(HV_VPINDEX)},
    [HV_IPI] = {"ipi", "hv-ipi", HV(HV_VPINDEX)},
    [HV_EVMCS] = {"evmcs", "hv-evmcs", HV(HV_VAPIC)},
    [HV_TIME] = {"time", "hv-time", 0},
    [HV_CRASH] = {"crash", "hv-crash", 0},
    [HV_AVIC] = {"avic", "hv-avic", HV(HV_VAPIC)},
    [HV_PASSTHROUGH] = {"passthrough", "hv-passthrough", 0},
};
const size_t profile_n_hv_flags = HV_COUNT;

int profile_hv_flag_index(const char *key)
{
    for (size_t i = 0; i < HV_COUNT; i++)
        if (strcmp(profile_hv_flags[i].key, key) == 0)
            return (int)i;
    return -1;
}

/* Windows reads the spinlock retry count as a 32-bit number; QEMU refuses
 * fewer than 0xfff retries. */
#define SPINLOCKS_MIN 0xfff
#define SPINLOCKS_MAX INT64_C(0xffffffff)

void profile_parse_hyperv(struct pj *pj, const cJSON *node, struct vm_profile *p)
{
    const char *names[HV_COUNT + 1];
    for (size_t i = 0; i < HV_COUNT; i++)
        names[i] = profile_hv_flags[i].key;
    names[HV_COUNT] = NULL;
    if (!pj_object(pj, node, names))
        return;
    p->cpu.hyperv_custom = true;
    p->cpu.hv_spinlocks = PROFILE_HV_SPINLOCKS_DEFAULT;
    const cJSON *where[HV_COUNT] = {0};
    for (size_t i = 0; i < HV_COUNT; i++) {
        const cJSON *v = pj_member(node, names[i]);
        if (v == NULL)
            continue;
        where[i] = v;
        size_t saved = pj_push_key(pj, names[i]);
        bool on = false;
        if (i == HV_SPINLOCKS && cJSON_IsNumber(v)) {
            int64_t n;
            if (pj_int(pj, v, SPINLOCKS_MIN, SPINLOCKS_MAX,
                       "true, false or a spinlock retry count (4095-4294967295)", &n) > 0) {
                on = true;
                p->cpu.hv_spinlocks = (unsigned)n;
            }
        } else if (i == HV_SPINLOCKS && !cJSON_IsBool(v)) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected true, false or a spinlock retry count (4095-4294967295), "
                            "got %s",
                     got);
        } else {
            pj_bool(pj, v, &on);
        }
        if (on)
            p->cpu.hv_on |= HV(i);
        else if (cJSON_IsFalse(v))
            p->cpu.hv_off |= HV(i);
        pj_pop(pj, saved);
    }
    if (p->cpu.hv_on == 0 && p->cpu.hv_off == 0 && node->child == NULL)
        pj_error(pj, node, "expected at least one enlightenment, such as {\"relaxed\": true}; "
                           "for none leave cpu.hyperv out or set it to false");
    p->cpu.hyperv = p->cpu.hv_on != 0;
    /* A flag on whose needs are not: QEMU would stop at start. */
    for (size_t i = 0; i < HV_COUNT; i++) {
        if ((p->cpu.hv_on & HV(i)) == 0)
            continue;
        uint32_t missing = profile_hv_flags[i].requires & ~p->cpu.hv_on;
        for (size_t j = 0; j < HV_COUNT && missing != 0; j++) {
            if ((missing & HV(j)) == 0)
                continue;
            size_t saved = pj_push_key(pj, names[i]);
            pj_error(pj, where[i], "needs \"%s\": true as well (QEMU refuses %s without %s)",
                     names[j], profile_hv_flags[i].qemu, profile_hv_flags[j].qemu);
            pj_pop(pj, saved);
            missing &= ~HV(j);
        }
    }
}
