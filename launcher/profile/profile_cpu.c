/* The "cpu" section of a profile: the model, the topology, the pinning of
 * vCPUs, the emulator and I/O threads, real-time scheduling, Hyper-V (its
 * object form in profile_hyperv.c), CPU features (profile_cpu_features.c),
 * KVM hints, the governor and host isolation; and what spans the section
 * and qemu.accel, checked once the whole profile is read. Pure, like the
 * rest of the parser. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

/* CPU numbers vmrun can pin (a cpu_set_t). */
#define MAX_HOST_CPU 1023
/* QEMU's q35 takes at most this many vCPUs. */
#define MAX_VCPUS 1024

const char *const profile_cpu_keys[] = {
    "model",     "sockets",   "cores",          "threads",
    "pin",       "realtime",  "hyperv",         "hide_hypervisor",
    "vendor_id", "governor",  "governor_scope", "isolate",
    "features",  "dedicated", "idle_in_guest",  NULL,
};
const char *const profile_pin_keys[] = {"vcpus", "emulator", "iothreads", NULL};
static const char *const scope_names[] = {"vm", "all", NULL};

/* A list of host CPUs; duplicates within the list are errors. */
static void parse_cpu_list(struct pj *pj, const cJSON *pin, const char *key, struct cpu_list *out,
                           const cJSON ***items_out)
{
    const cJSON *a = pj_member(pin, key);
    if (a == NULL)
        return;
    size_t saved = pj_push_key(pj, key);
    if (!pj_is_array(pj, a, "an array of host CPU numbers")) {
        pj_pop(pj, saved);
        return;
    }
    size_t n;
    cleanup_free const cJSON **items = pj_items(a, &n);
    if (n == 0)
        pj_error(pj, a, "expected at least one host CPU number, got an empty array");
    if (n > MAX_VCPUS) {
        pj_error(pj, a, "expected at most %d host CPUs, got %zu", MAX_VCPUS, n);
        pj_pop(pj, saved);
        return;
    }
    /* Where each CPU was first listed, plus one (0: not yet). */
    size_t seen[MAX_HOST_CPU + 1] = {0};
    out->cpus = calloc(n + 1, sizeof(int));
    if (items == NULL || out->cpus == NULL) {
        pj_error(pj, a, "out of memory");
        pj_pop(pj, saved);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t s2 = pj_push_index(pj, i);
        int64_t cpu = -1;
        if (pj_int(pj, items[i], 0, MAX_HOST_CPU, "a host CPU number (integer >= 0)", &cpu) > 0) {
            if (seen[cpu] != 0)
                pj_error(pj, items[i], "host CPU %" PRId64 " is listed twice (also at [%zu])", cpu,
                         seen[cpu] - 1);
            else
                seen[cpu] = i + 1;
        }
        out->cpus[i] = (int)cpu;
        pj_pop(pj, s2);
    }
    out->n = n;
    if (items_out != NULL)
        *items_out = steal_pointer(&items);
    pj_pop(pj, saved);
}

static void parse_topology_part(struct pj *pj, const cJSON *cpu, const char *key, unsigned *out,
                                bool *given)
{
    char expected[64];
    snprintf(expected, sizeof(expected), "the number of %s (integer >= 1)", key);
    int64_t v;
    int r = pj_get_int(pj, cpu, key, 1, MAX_VCPUS, expected, &v);
    if (r != 0)
        *given = true;
    if (r > 0)
        *out = (unsigned)v;
}

/* cpu.pin: the host CPUs of the vCPUs, the emulator and the I/O threads. */
static void parse_pin(struct pj *pj, const cJSON *c, struct vm_profile *p, struct profile_where *w)
{
    const cJSON *pin = pj_member(c, "pin");
    if (pin != NULL) {
        size_t s2 = pj_push_key(pj, "pin");
        if (pj_object(pj, pin, profile_pin_keys)) {
            parse_cpu_list(pj, pin, "vcpus", &p->cpu.vcpus, &w->vcpu_items);
            parse_cpu_list(pj, pin, "emulator", &p->cpu.emulator, NULL);
            parse_cpu_list(pj, pin, "iothreads", &p->cpu.iothreads, NULL);
            w->vcpus = pj_member(pin, "vcpus");
            w->emulator = pj_member(pin, "emulator");
            w->iothreads = pj_member(pin, "iothreads");
        }
        pj_pop(pj, s2);
    }
}

/* cpu.hyperv: true, false, or an object of enlightenments (profile_hyperv.c). */
static void parse_hyperv(struct pj *pj, const cJSON *c, struct vm_profile *p)
{
    const cJSON *hv = pj_member(c, "hyperv");
    if (hv != NULL && cJSON_IsObject(hv)) {
        size_t s2 = pj_push_key(pj, "hyperv");
        profile_parse_hyperv(pj, hv, p);
        pj_pop(pj, s2);
    } else if (hv != NULL) {
        size_t s2 = pj_push_key(pj, "hyperv");
        if (!cJSON_IsBool(hv)) {
            char got[128];
            pj_describe(hv, got, sizeof(got));
            pj_error(pj, hv, "expected true, false or an object of Hyper-V enlightenments, got %s",
                     got);
        } else {
            p->cpu.hyperv = cJSON_IsTrue(hv);
        }
        pj_pop(pj, s2);
    }
}

static void parse_vendor_id(struct pj *pj, const cJSON *c, struct vm_profile *p,
                            struct profile_where *w)
{
    w->vendor_id = pj_member(c, "vendor_id");
    if (w->vendor_id != NULL) {
        size_t s2 = pj_push_key(pj, "vendor_id");
        /* hv-vendor-id is a -cpu feature: QEMU splits features on every
         * ',' with no escape, so a comma cannot be written. */
        if (pj_string(pj, w->vendor_id, PJ_NONEMPTY | PJ_NOCOMMA,
                      "a Hyper-V vendor id of 1-12 characters", &p->cpu.vendor_id) > 0 &&
            strlen(p->cpu.vendor_id) > PROFILE_VENDOR_ID_MAX) {
            char got[128];
            pj_describe(w->vendor_id, got, sizeof(got));
            pj_error(pj, w->vendor_id,
                     "expected a Hyper-V vendor id of 1-12 characters, got %s (%zu characters)",
                     got, strlen(p->cpu.vendor_id));
        }
        pj_pop(pj, s2);
    }
}

static void parse_governor(struct pj *pj, const cJSON *c, struct vm_profile *p)
{
    const cJSON *gov = pj_member(c, "governor");
    if (gov != NULL) {
        size_t s2 = pj_push_key(pj, "governor");
        /* Written to cpufreq's scaling_governor, whose names are at most 15
         * characters. */
        if (pj_string(pj, gov, PJ_NONEMPTY | PJ_NAME,
                      "a cpufreq governor name such as \"performance\"", &p->cpu.governor) > 0 &&
            strlen(p->cpu.governor) > 15) {
            char got[128];
            pj_describe(gov, got, sizeof(got));
            pj_error(pj, gov, "expected a cpufreq governor name (at most 15 characters), got %s",
                     got);
        }
        pj_pop(pj, s2);
    }
}

void profile_parse_cpu(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w)
{
    p->cpu.sockets = p->cpu.cores = p->cpu.threads = 1;
    const cJSON *c = pj_member(root, "cpu");
    w->cpu = c;
    if (c == NULL)
        return;
    size_t saved = pj_push_key(pj, "cpu");
    if (!pj_object(pj, c, profile_cpu_keys)) {
        pj_pop(pj, saved);
        return;
    }
    w->cpu_model = pj_member(c, "model");
    pj_get_string(pj, c, "model", PJ_NONEMPTY | PJ_NAME,
                  "a QEMU CPU model such as \"host\", \"max\" or \"qemu64\"", &p->cpu.model);
    parse_topology_part(pj, c, "sockets", &p->cpu.sockets, &w->topology_given);
    parse_topology_part(pj, c, "cores", &p->cpu.cores, &w->topology_given);
    parse_topology_part(pj, c, "threads", &p->cpu.threads, &w->topology_given);

    parse_pin(pj, c, p, w);

    pj_get_bool(pj, c, "realtime", &p->cpu.realtime);
    parse_hyperv(pj, c, p);
    const cJSON *feat = pj_member(c, "features");
    if (feat != NULL) {
        size_t s2 = pj_push_key(pj, "features");
        profile_parse_cpu_features(pj, feat, p);
        pj_pop(pj, s2);
    }
    pj_get_bool(pj, c, "dedicated", &p->cpu.dedicated);
    w->dedicated = pj_member(c, "dedicated");
    pj_get_bool(pj, c, "idle_in_guest", &p->cpu.idle_in_guest);
    w->idle_in_guest = pj_member(c, "idle_in_guest");
    pj_get_bool(pj, c, "hide_hypervisor", &p->cpu.hide_hypervisor);
    pj_get_bool(pj, c, "isolate", &p->cpu.isolate);
    w->hyperv = pj_member(c, "hyperv");
    w->isolate = pj_member(c, "isolate");

    parse_vendor_id(pj, c, p, w);
    parse_governor(pj, c, p);
    int scope;
    if (pj_get_enum(pj, c, "governor_scope", scope_names, &scope) > 0)
        p->cpu.governor_scope = (enum vm_governor_scope)scope;
    pj_pop(pj, saved);
}

/* The topology against the pin list (which gives it when none is
 * written). */
static void check_topology(struct pj *pj, struct vm_profile *p, const struct profile_where *w)
{
    size_t n_vcpus = p->cpu.vcpus.n;
    /* Without a topology, the pin list gives it: one socket of N cores. */
    if (!w->topology_given && n_vcpus > 0 && n_vcpus <= MAX_VCPUS)
        p->cpu.cores = (unsigned)n_vcpus;
    uint64_t total = (uint64_t)p->cpu.sockets * p->cpu.cores * p->cpu.threads;
    if (total > MAX_VCPUS) {
        pj_error(pj, w->cpu,
                 "%u sockets x %u cores x %u threads is %" PRIu64 " vCPUs; QEMU's q35 takes at "
                 "most %d",
                 p->cpu.sockets, p->cpu.cores, p->cpu.threads, total, MAX_VCPUS);
    } else if (w->vcpus != NULL && cJSON_IsArray(w->vcpus) && n_vcpus != total) {
        size_t s2 = pj_push_key(pj, "pin");
        size_t s3 = pj_push_key(pj, "vcpus");
        pj_error(pj, w->vcpus,
                 "expected %" PRIu64 " host CPUs (sockets x cores x threads = %u x %u x %u), "
                 "got %zu",
                 total, p->cpu.sockets, p->cpu.cores, p->cpu.threads, n_vcpus);
        pj_pop(pj, s3);
        pj_pop(pj, s2);
    }
}

/* What only KVM can run. The path is at "cpu"; outside is its length
 * without it, for an error that belongs to qemu.accel. */
static void check_kvm_only(struct pj *pj, const struct vm_profile *p, const struct profile_where *w,
                           size_t outside)
{
    const char *model = p->cpu.model != NULL ? p->cpu.model : "host";
    if (p->qemu.accel == VM_ACCEL_TCG && strcmp(model, "host") == 0) {
        if (w->cpu_model != NULL) {
            size_t s2 = pj_push_key(pj, "model");
            pj_error(pj, w->cpu_model,
                     "\"host\" needs qemu.accel \"kvm\"; with \"tcg\" name a model such as "
                     "\"max\" or \"qemu64\"");
            pj_pop(pj, s2);
        } else {
            pj_pop(pj, outside);
            size_t s2 = pj_push_key(pj, "qemu");
            pj_push_key(pj, "accel");
            pj_error(pj, w->qemu_accel,
                     "\"tcg\" cannot run the default cpu.model \"host\"; set cpu.model, e.g. "
                     "\"max\" or \"qemu64\"");
            pj_pop(pj, s2);
            pj_push_key(pj, "cpu");
        }
    }
    if (p->cpu.hyperv && p->qemu.accel != VM_ACCEL_KVM) {
        size_t s2 = pj_push_key(pj, "hyperv");
        pj_error(pj, w->hyperv, "Hyper-V enlightenments need qemu.accel \"kvm\"");
        pj_pop(pj, s2);
    }
    if (p->cpu.dedicated && p->qemu.accel != VM_ACCEL_KVM) {
        size_t s2 = pj_push_key(pj, "dedicated");
        pj_error(pj, w->dedicated,
                 "is a KVM hint (kvm-hint-dedicated): it needs qemu.accel \"kvm\"");
        pj_pop(pj, s2);
    }
    if (p->cpu.idle_in_guest && p->qemu.accel != VM_ACCEL_KVM) {
        size_t s2 = pj_push_key(pj, "idle_in_guest");
        pj_error(pj, w->idle_in_guest,
                 "keeps the guest's idle in the guest under KVM (-overcommit cpu-pm=on): it "
                 "needs qemu.accel \"kvm\"");
        pj_pop(pj, s2);
    }
}

/* Keys that need another key. */
static void check_needs(struct pj *pj, const struct vm_profile *p, const struct profile_where *w)
{
    if (p->cpu.vendor_id != NULL && !p->cpu.hyperv) {
        size_t s2 = pj_push_key(pj, "vendor_id");
        pj_error(pj, w->vendor_id, "is a Hyper-V setting: it needs cpu.hyperv true");
        pj_pop(pj, s2);
    }
    if (p->cpu.isolate && p->cpu.vcpus.n == 0) {
        size_t s2 = pj_push_key(pj, "isolate");
        pj_error(pj, w->isolate,
                 "needs cpu.pin.vcpus: isolation keeps the host off the CPUs the vCPUs are "
                 "pinned to");
        pj_pop(pj, s2);
    }
}

/* Sharing a CPU between a vCPU and QEMU's other threads works, but costs
 * the latency pinning is for: a warning. */
static void warn_shared_cpus(struct pj *pj, const struct vm_profile *p,
                             const struct profile_where *w)
{
    const struct {
        const char *key;
        const struct cpu_list *l;
        const cJSON *node;
    } others[] = {{"emulator", &p->cpu.emulator, w->emulator},
                  {"iothreads", &p->cpu.iothreads, w->iothreads}};
    for (size_t k = 0; k < ARRAY_SIZE(others); k++) {
        for (size_t i = 0; i < others[k].l->n; i++) {
            for (size_t j = 0; j < p->cpu.vcpus.n; j++) {
                if (others[k].l->cpus[i] == p->cpu.vcpus.cpus[j] && w->vcpu_items != NULL &&
                    cJSON_IsNumber(w->vcpu_items[j])) {
                    size_t s2 = pj_push_key(pj, "pin");
                    pj_push_key(pj, others[k].key);
                    pj_push_index(pj, i);
                    pj_warning(pj, cJSON_GetArrayItem(others[k].node, (int)i),
                               "host CPU %d also runs vCPU %zu; keep QEMU's other threads off "
                               "the vCPUs' CPUs",
                               others[k].l->cpus[i], j);
                    pj_pop(pj, s2);
                    break;
                }
            }
        }
    }
}

void profile_check_cpu(struct pj *pj, struct vm_profile *p, const struct profile_where *w)
{
    size_t saved = pj_push_key(pj, "cpu");
    check_topology(pj, p, w);
    check_kvm_only(pj, p, w, saved);
    check_needs(pj, p, w);
    warn_shared_cpus(pj, p, w);
    pj_pop(pj, saved);
}
