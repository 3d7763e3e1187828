/* The CPU: <vcpu>, <cpu> (mode, model, topology, features), <cputune>
 * (pinning, scheduling), <iothreads>, and the CPU flags under <features>
 * (<hyperv>, <kvm>, <pmu>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "import/import_internal.h"
#include "profile/profile.h"

/* libvirt's CPU feature names that QEMU spells differently (libvirt's
 * cpu_map against QEMU's feature words). The rest are the same, with '_'
 * read as '-' by QEMU. */
static const struct {
    const char *libvirt, *qemu;
} renamed[] = {
    {"pclmuldq", "pclmulqdq"},
    {"ds_cpl", "ds-cpl"},
    {"lahf_lm", "lahf-lm"},
    {"cmp_legacy", "cmp-legacy"},
    {"nodeid_msr", "nodeid-msr"},
    {"perfctr_core", "perfctr-core"},
    {"perfctr_nb", "perfctr-nb"},
    {"tsc_adjust", "tsc-adjust"},
    {"fxsr_opt", "fxsr-opt"},
};

static bool feature_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n &&
           s[0] != '_' && s[0] != '.' && s[0] != '-';
}

static void set_feature(struct imp *im, const char *name, bool on)
{
    cJSON *cpu = imp_section(im, "cpu");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(cpu, "features");
    if (f == NULL)
        f = imp_set_obj(im, cpu, "features");
    imp_set_bool(im, f, name, on);
}

/* One list of single host CPUs from a libvirt cpuset ("0-3,^2"), or false
 * when it cannot be one. */
static bool cpuset_to_array(struct imp *im, const char *set, cJSON **out)
{
    struct cpuset_bits s;
    if (set == NULL || strchr(set, '^') != NULL || cpulist_parse(set, &s) < 0 || cpuset_empty(&s))
        return false;
    cJSON *a = cJSON_CreateArray();
    if (a == NULL) {
        im->oom = true;
        return false;
    }
    for (int c = cpuset_next(&s, 0); c >= 0; c = cpuset_next(&s, (unsigned)c + 1)) {
        if (c > 1023) {
            cJSON_Delete(a);
            return false;
        }
        cJSON_AddItemToArray(a, cJSON_CreateNumber(c));
    }
    *out = a;
    return true;
}

/* ---- <vcpu>, <vcpus>, <cpu> ----------------------------------------------------- */

static void map_vcpu(struct imp *im)
{
    xmlNodePtr v = imp_kid(im->dom, "vcpu");
    if (v == NULL) {
        im->n_vcpus = 1;
        return;
    }
    const char *txt = imp_text(im, v);
    long n = strtol(txt, NULL, 10);
    im->n_vcpus = n >= 1 && n <= 1024 ? (unsigned)n : 1;
    const char *placement = imp_attr(im, v, "placement");
    if (placement != NULL && strcmp(placement, "auto") == 0)
        imp_note_attr(im, v, "placement", IMPORT_HOST_SPECIFIC,
                      "placement by numad is libvirt's; pin the vCPUs in cpu.pin.vcpus");
    const char *current = imp_peek(im, v, "current");
    if (current != NULL && strtol(current, NULL, 10) != (long)im->n_vcpus)
        imp_note_attr(im, v, "current", IMPORT_NOT_SUPPORTED,
                      "vmrun starts every vCPU (no vCPU hotplug)");
    else
        imp_attr(im, v, "current");
    /* cpuset is only where unpinned vCPUs may run: read with <cputune>. */
    xmlNodePtr vs = imp_kid(im->dom, "vcpus");
    if (vs != NULL) {
        imp_use(vs);
        bool all = true;
        imp_each(c, vs, "vcpu")
        {
            imp_use(c);
            imp_attr(im, c, "id");
            imp_attr(im, c, "order");
            imp_attr(im, c, "hotpluggable");
            all &= imp_onoff(imp_attr(im, c, "enabled")) != 0;
        }
        if (!all)
            imp_note(im, vs, IMPORT_NOT_SUPPORTED, "vmrun starts every vCPU (no vCPU hotplug)");
    }
}

static void map_topology(struct imp *im, xmlNodePtr cpu, cJSON *out)
{
    xmlNodePtr t = imp_kid(cpu, "topology");
    if (t == NULL) {
        /* libvirt's default: one socket per vCPU. Written out, since
         * vmrun's default is one socket of N cores. */
        imp_set_num(im, out, "sockets", im->n_vcpus);
        return;
    }
    imp_use(t);
    const char *k[] = {"sockets", "cores", "threads"};
    long v[3];
    for (int i = 0; i < 3; i++) {
        const char *s = imp_attr(im, t, k[i]);
        v[i] = s != NULL ? strtol(s, NULL, 10) : 1;
    }
    const char *dies = imp_attr(im, t, "dies");
    const char *clusters = imp_attr(im, t, "clusters");
    if ((dies != NULL && strtol(dies, NULL, 10) > 1) ||
        (clusters != NULL && strtol(clusters, NULL, 10) > 1)) {
        imp_note(im, t, IMPORT_NOT_SUPPORTED,
                 "vmrun's topology is sockets x cores x threads; the dies or clusters are "
                 "folded into sockets");
        long d = dies != NULL ? strtol(dies, NULL, 10) : 1;
        long c = clusters != NULL ? strtol(clusters, NULL, 10) : 1;
        v[0] *= (d > 1 ? d : 1) * (c > 1 ? c : 1);
    }
    if (v[0] < 1 || v[1] < 1 || v[2] < 1 || v[0] * v[1] * v[2] != (long)im->n_vcpus) {
        imp_note(im, t, IMPORT_NOT_SUPPORTED,
                 "the topology does not give the %u vCPUs of <vcpu>; vmrun uses 1 socket of %u "
                 "cores",
                 im->n_vcpus, im->n_vcpus);
        return;
    }
    for (int i = 0; i < 3; i++)
        imp_set_num(im, out, k[i], (double)v[i]);
}

static void map_cpu_features(struct imp *im, xmlNodePtr cpu)
{
    imp_each(f, cpu, "feature")
    {
        imp_use(f);
        const char *name = imp_attr(im, f, "name");
        const char *policy = imp_attr(im, f, "policy");
        if (name == NULL)
            continue;
        char q[40];
        snprintf(q, sizeof(q), "%s", name);
        for (size_t i = 0; i < ARRAY_SIZE(renamed); i++)
            if (strcmp(renamed[i].libvirt, name) == 0)
                snprintf(q, sizeof(q), "%s", renamed[i].qemu);
        for (char *c = q; *c != '\0'; c++)
            if (*c == '_')
                *c = '-';
        if (!feature_name_ok(q) || strncmp(q, "hv-", 3) == 0 || strcmp(q, "kvm") == 0) {
            imp_note(im, f, IMPORT_NOT_SUPPORTED, "not a CPU feature name vmrun can pass");
            continue;
        }
        if (policy == NULL || strcmp(policy, "require") == 0 || strcmp(policy, "force") == 0)
            set_feature(im, q, true);
        else if (strcmp(policy, "disable") == 0 || strcmp(policy, "forbid") == 0)
            set_feature(im, q, false);
        else if (strcmp(policy, "optional") == 0) {
            set_feature(im, q, true);
            imp_note_attr(im, f, "policy", IMPORT_WARNING,
                          "\"optional\" becomes on; QEMU warns when the host lacks it");
        } else {
            imp_note(im, f, IMPORT_NOT_SUPPORTED, "unknown policy");
        }
    }
}

static void map_cpu(struct imp *im)
{
    cJSON *out = imp_section(im, "cpu");
    xmlNodePtr cpu = imp_kid(im->dom, "cpu");
    if (cpu == NULL) {
        /* libvirt's default CPU is a named model; vmrun's is "host". */
        if (!im->kvm)
            imp_set_str(im, out, "model", "qemu64");
        map_topology(im, NULL, out);
        return;
    }
    imp_use(cpu);
    const char *mode = imp_attr(im, cpu, "mode");
    imp_attr(im, cpu, "check");
    imp_attr(im, cpu, "match");
    const char *migratable = imp_attr(im, cpu, "migratable");
    xmlNodePtr model = imp_kid(cpu, "model");
    if (mode == NULL || strcmp(mode, "custom") == 0) {
        const char *m = model != NULL ? imp_text(im, model) : "";
        if (model != NULL) {
            imp_attr(im, model, "fallback");
            imp_attr(im, model, "vendor_id");
        }
        bool ok = *m != '\0' && strlen(m) <= 64 &&
                  strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
                      strlen(m);
        if (ok)
            imp_set_str(im, out, "model", m);
        else if (model != NULL)
            imp_note(im, model, IMPORT_NOT_SUPPORTED, "not a CPU model name QEMU takes");
    } else if (strcmp(mode, "host-passthrough") == 0 || strcmp(mode, "maximum") == 0) {
        if (!im->kvm)
            imp_set_str(im, out, "model", "max");
        else if (strcmp(mode, "maximum") == 0)
            imp_set_str(im, out, "model", "max");
    } else if (strcmp(mode, "host-model") == 0) {
        if (!im->kvm)
            imp_set_str(im, out, "model", "max");
        imp_note_attr(im, cpu, "mode", IMPORT_WARNING,
                      "host-model becomes the host's own CPU (host-passthrough): libvirt would "
                      "pick the named model nearest to it at each start");
        if (model != NULL)
            imp_use_all(model);
    }
    xmlNodePtr vendor = imp_kid(cpu, "vendor");
    if (vendor != NULL)
        imp_note(im, vendor, IMPORT_NOT_SUPPORTED, "the CPU vendor comes with the model");
    map_topology(im, cpu, out);
    if (mode != NULL && strcmp(mode, "host-passthrough") == 0 && imp_onoff(migratable) == 0)
        set_feature(im, "migratable", false);
    xmlNodePtr cache = imp_kid(cpu, "cache");
    if (cache != NULL) {
        imp_use(cache);
        const char *cm = imp_attr(im, cache, "mode");
        const char *level = imp_attr(im, cache, "level");
        if (cm != NULL && strcmp(cm, "emulate") == 0 && (level == NULL || strcmp(level, "3") == 0))
            set_feature(im, "l3-cache", true);
        else if (cm != NULL && strcmp(cm, "passthrough") == 0 && mode != NULL &&
                 strcmp(mode, "host-passthrough") == 0)
            ; /* vmrun's "host" has host-cache-info=on */
        else if (cm != NULL && strcmp(cm, "disable") == 0)
            set_feature(im, "l3-cache", false);
        else
            imp_note(im, cache, IMPORT_NOT_SUPPORTED, "vmrun cannot set this cache mode");
    }
    map_cpu_features(im, cpu);
    xmlNodePtr numa = imp_kid(cpu, "numa");
    if (numa != NULL)
        imp_note(im, numa, IMPORT_NOT_SUPPORTED,
                 "vmrun gives the guest one NUMA node; the cells are not carried over");
}

/* ---- <cputune>, <iothreads> ------------------------------------------------------ */

static void map_cputune(struct imp *im)
{
    cJSON *cpu = imp_section(im, "cpu");
    xmlNodePtr ct = imp_kid(im->dom, "cputune");
    xmlNodePtr v = imp_kid(im->dom, "vcpu");
    if (ct == NULL) {
        const char *set = v != NULL ? imp_peek(im, v, "cpuset") : NULL;
        if (set != NULL)
            imp_note_attr(im, v, "cpuset", IMPORT_NOT_SUPPORTED,
                          "vmrun pins each vCPU to one host CPU (cpu.pin.vcpus) or none; a set "
                          "for all of them is not carried over");
        return;
    }
    imp_use(ct);
    if (v != NULL && imp_peek(im, v, "cpuset") != NULL)
        imp_attr(im, v, "cpuset"); /* <vcpupin> decides, as in libvirt */

    /* vCPU i on one host CPU each, all of them or none. */
    size_t n = im->n_vcpus;
    cleanup_free long *pin = calloc(n + 1, sizeof(*pin));
    if (pin == NULL) {
        im->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        pin[i] = -1;
    bool any = false, ok = true;
    xmlNodePtr first = imp_kid(ct, "vcpupin");
    imp_each(p, ct, "vcpupin")
    {
        imp_use(p);
        any = true;
        const char *vs = imp_attr(im, p, "vcpu"), *set = imp_attr(im, p, "cpuset");
        long vcpu = vs != NULL ? strtol(vs, NULL, 10) : -1;
        struct cpuset_bits s;
        if (vcpu < 0 || (size_t)vcpu >= n || set == NULL || strchr(set, '^') != NULL ||
            cpulist_parse(set, &s) < 0 || cpuset_count(&s) != 1) {
            ok = false;
            continue;
        }
        int c = cpuset_next(&s, 0);
        pin[vcpu] = c <= 1023 ? c : -1;
        ok &= c <= 1023;
    }
    for (size_t i = 0; i < n && any; i++)
        ok &= pin[i] >= 0;
    cJSON *pins = NULL;
    if (any && ok) {
        pins = imp_set_obj(im, cpu, "pin");
        cJSON *a = imp_array(im, pins, "vcpus");
        for (size_t i = 0; i < n && a != NULL; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)pin[i]));
        /* vmrun refuses two vCPUs on one host CPU. */
        for (size_t i = 0; i < n && ok; i++)
            for (size_t j = 0; j < i && ok; j++)
                ok = pin[i] != pin[j];
        if (!ok) {
            cJSON_DeleteItemFromObjectCaseSensitive(pins, "vcpus");
            imp_note(im, first, IMPORT_NOT_SUPPORTED,
                     "two vCPUs share a host CPU; vmrun pins each vCPU to its own CPU, so the "
                     "vCPU pinning is left out");
        }
    } else if (any) {
        imp_note(im, first, IMPORT_NOT_SUPPORTED,
                 "vmrun pins each vCPU to exactly one host CPU, all vCPUs or none; these "
                 "<vcpupin> elements (%zu vCPUs) cannot be written that way, so the vCPU pinning "
                 "is left out",
                 n);
        imp_each(p, ct, "vcpupin") imp_use_all(p);
    }

    xmlNodePtr ep = imp_kid(ct, "emulatorpin");
    if (ep != NULL) {
        imp_use(ep);
        cJSON *a = NULL;
        if (cpuset_to_array(im, imp_attr(im, ep, "cpuset"), &a)) {
            if (pins == NULL)
                pins = imp_set_obj(im, cpu, "pin");
            cJSON_AddItemToObject(pins, "emulator", a);
        } else {
            imp_note(im, ep, IMPORT_NOT_SUPPORTED, "not a list of host CPUs vmrun can read");
        }
    }
    bool iopinned = false;
    imp_each(ip, ct, "iothreadpin")
    {
        imp_use(ip);
        imp_attr(im, ip, "iothread"); /* vmrun's one iothread is every one */
        cJSON *a = NULL;
        if (iopinned) {
            imp_note(im, ip, IMPORT_NOT_SUPPORTED,
                     "vmrun has one I/O thread; it is pinned as the first <iothreadpin> says");
        } else if (cpuset_to_array(im, imp_attr(im, ip, "cpuset"), &a)) {
            if (pins == NULL)
                pins = imp_set_obj(im, cpu, "pin");
            cJSON_AddItemToObject(pins, "iothreads", a);
            iopinned = true;
        } else {
            imp_note(im, ip, IMPORT_NOT_SUPPORTED, "not a list of host CPUs vmrun can read");
        }
    }
    xmlNodePtr sched = imp_kid(ct, "vcpusched");
    if (sched != NULL) {
        imp_use(sched);
        const char *s = imp_attr(im, sched, "scheduler");
        const char *prio = imp_attr(im, sched, "priority");
        const char *vcpus = imp_attr(im, sched, "vcpus");
        struct cpuset_bits set;
        bool all = vcpus == NULL ||
                   (cpulist_parse(vcpus, &set) == 0 && cpuset_count(&set) == im->n_vcpus);
        if (s != NULL && (strcmp(s, "fifo") == 0 || strcmp(s, "rr") == 0) && all) {
            imp_set_bool(im, cpu, "realtime", true);
            if (strcmp(s, "rr") == 0 || (prio != NULL && strcmp(prio, "1") != 0))
                imp_note(im, sched, IMPORT_WARNING,
                         "vmrun's realtime vCPUs are SCHED_FIFO with priority 1");
        } else {
            imp_note(im, sched, IMPORT_NOT_SUPPORTED,
                     "vmrun's only vCPU scheduling is cpu.realtime (all vCPUs SCHED_FIFO)");
        }
        for (xmlNodePtr o = imp_next(sched, "vcpusched"); o != NULL; o = imp_next(o, "vcpusched"))
            imp_note(im, o, IMPORT_NOT_SUPPORTED,
                     "vmrun's only vCPU scheduling is cpu.realtime (all vCPUs alike)");
    }
}

static void map_iothreads(struct imp *im)
{
    xmlNodePtr io = imp_kid(im->dom, "iothreads");
    if (io != NULL) {
        long n = strtol(imp_text(im, io), NULL, 10);
        im->n_iothreads = n > 0 ? (unsigned)n : 0;
        if (n > 1)
            imp_note(im, io, IMPORT_NOT_SUPPORTED,
                     "vmrun has one I/O thread: the disks that used any of the %ld share it", n);
    }
    xmlNodePtr ids = imp_kid(im->dom, "iothreadids");
    if (ids != NULL)
        imp_use_all(ids);
}

/* ---- <features>: hyperv, kvm, pmu -------------------------------------------------- */

static void map_hyperv(struct imp *im)
{
    xmlNodePtr f = imp_kid(im->dom, "features");
    xmlNodePtr hv = imp_kid(f, "hyperv");
    cJSON *cpu = imp_section(im, "cpu");
    if (hv == NULL && !im->want_hv_time && !im->want_hv_crash)
        return;
    if (!im->kvm) {
        if (hv != NULL)
            imp_note(im, hv, IMPORT_NOT_SUPPORTED,
                     "Hyper-V enlightenments need KVM; this domain runs under TCG");
        return;
    }
    uint32_t on = 0, off = 0;
    long spinlocks = -1;
    const char *vendor = NULL;
    xmlNodePtr vendor_el = NULL;
    if (hv != NULL) {
        imp_use(hv);
        const char *mode = imp_attr(im, hv, "mode");
        if (mode != NULL && strcmp(mode, "passthrough") == 0)
            on |= UINT32_C(1) << profile_hv_flag_index("passthrough");
        for (xmlNodePtr c = hv->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || c->ns != NULL)
                continue;
            const char *name = (const char *)c->name;
            imp_use(c);
            int st = imp_onoff(imp_attr(im, c, "state"));
            if (strcmp(name, "vendor_id") == 0) {
                const char *v = imp_attr(im, c, "value");
                if (st == 1 && v != NULL) {
                    vendor = v;
                    vendor_el = c;
                }
                continue;
            }
            /* libvirt's names, with stimer's <direct/> folded in. */
            char key[40];
            snprintf(key, sizeof(key), "%s", name);
            int idx = profile_hv_flag_index(key);
            if (idx < 0 || strcmp(key, "passthrough") == 0 || strcmp(key, "time") == 0 ||
                strcmp(key, "crash") == 0) {
                imp_note(im, c, IMPORT_NOT_SUPPORTED,
                         "vmrun cannot set this Hyper-V enlightenment");
                continue;
            }
            uint32_t bit = UINT32_C(1) << idx;
            if (st == 1)
                on |= bit;
            else if (st == 0)
                off |= bit;
            if (strcmp(name, "spinlocks") == 0 && st == 1) {
                const char *r = imp_attr(im, c, "retries");
                spinlocks = r != NULL ? strtol(r, NULL, 10) : PROFILE_HV_SPINLOCKS_DEFAULT;
                if (spinlocks < 0xfff || spinlocks > 0xffffffffL) {
                    imp_note_attr(im, c, "retries", IMPORT_NOT_SUPPORTED,
                                  "QEMU takes 4095 retries or more; 8191 is used");
                    spinlocks = PROFILE_HV_SPINLOCKS_DEFAULT;
                }
            }
            if (strcmp(name, "stimer") == 0) {
                xmlNodePtr d = imp_kid(c, "direct");
                if (d != NULL) {
                    imp_use(d);
                    int ds = imp_onoff(imp_attr(im, d, "state"));
                    uint32_t dbit = UINT32_C(1) << profile_hv_flag_index("stimer_direct");
                    if (ds == 1 && st == 1)
                        on |= dbit;
                }
            }
            for (xmlNodePtr g = c->children; g != NULL; g = g->next)
                if (g->type == XML_ELEMENT_NODE && !imp_used(g))
                    imp_note(im, g, IMPORT_NOT_SUPPORTED,
                             "vmrun cannot set this Hyper-V enlightenment");
        }
    }
    if (im->want_hv_time)
        on |= UINT32_C(1) << profile_hv_flag_index("time");
    if (im->want_hv_crash)
        on |= UINT32_C(1) << profile_hv_flag_index("crash");
    /* Flags whose needs are off would stop QEMU: leave them out. */
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < profile_n_hv_flags; i++) {
            uint32_t bit = UINT32_C(1) << i;
            uint32_t need = profile_hv_flags[i].requires;
            if ((on & bit) != 0 && (need & ~on) != 0) {
                on &= ~bit;
                changed = true;
                /* The flag's own element (stimer_direct is <stimer>'s
                 * <direct>), else <hyperv>, else <features>. */
                xmlNodePtr el = imp_kid(hv, profile_hv_flags[i].key);
                if (el == NULL)
                    el = hv != NULL ? hv : f;
                if (el != NULL)
                    imp_note(im, el, IMPORT_NOT_SUPPORTED,
                             "%s needs enlightenments that are off; left out",
                             profile_hv_flags[i].qemu);
            }
        }
    }
    if (on == 0 && off == 0 && vendor == NULL)
        return;
    cJSON *h = imp_set_obj(im, cpu, "hyperv");
    for (size_t i = 0; i < profile_n_hv_flags && h != NULL; i++) {
        uint32_t bit = UINT32_C(1) << i;
        const char *key = profile_hv_flags[i].key;
        if ((on & bit) != 0 && strcmp(key, "spinlocks") == 0 &&
            spinlocks != PROFILE_HV_SPINLOCKS_DEFAULT && spinlocks > 0)
            imp_set_num(im, h, key, (double)spinlocks);
        else if ((on & bit) != 0)
            imp_set_bool(im, h, key, true);
    }
    if (on == 0) {
        /* Only vendor_id or only off flags: nothing for QEMU to turn on. */
        cJSON_DeleteItemFromObjectCaseSensitive(cpu, "hyperv");
        if (vendor_el != NULL)
            imp_note(im, vendor_el, IMPORT_NOT_SUPPORTED,
                     "hv-vendor-id needs at least one Hyper-V enlightenment on");
        return;
    }
    if (vendor != NULL) {
        size_t vl = strlen(vendor);
        if (vl >= 1 && vl <= PROFILE_VENDOR_ID_MAX && strchr(vendor, ',') == NULL &&
            strspn(vendor, " !\"#$%&'()*+-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                           "abcdefghijklmnopqrstuvwxyz{|}~") == vl)
            imp_set_str(im, cpu, "vendor_id", vendor);
        else
            imp_note(im, vendor_el, IMPORT_NOT_SUPPORTED,
                     "a Hyper-V vendor id is 1-12 printable characters without ','");
    }
}

static void map_kvm_features(struct imp *im)
{
    xmlNodePtr f = imp_kid(im->dom, "features");
    cJSON *cpu = imp_section(im, "cpu");
    xmlNodePtr kvm = imp_kid(f, "kvm");
    if (kvm != NULL) {
        imp_use(kvm);
        xmlNodePtr hidden = imp_kid(kvm, "hidden");
        if (hidden != NULL) {
            imp_use(hidden);
            if (imp_onoff(imp_attr(im, hidden, "state")) == 1)
                imp_set_bool(im, cpu, "hide_hypervisor", true);
        }
        xmlNodePtr ded = imp_kid(kvm, "hint-dedicated");
        if (ded != NULL) {
            imp_use(ded);
            if (imp_onoff(imp_attr(im, ded, "state")) == 1) {
                if (!im->kvm)
                    imp_note(im, ded, IMPORT_NOT_SUPPORTED, "a KVM hint; this domain runs "
                                                            "under TCG");
                else if (imp_known(im, "cpu.dedicated"))
                    imp_set_bool(im, cpu, "dedicated", true);
                else
                    imp_note(im, ded, IMPORT_NOT_SUPPORTED, "this vmrun has no cpu.dedicated");
            }
        }
    }
    xmlNodePtr pmu = imp_kid(f, "pmu");
    if (pmu != NULL) {
        imp_use(pmu);
        if (imp_onoff(imp_attr(im, pmu, "state")) == 0)
            set_feature(im, "pmu", false);
    }
}

void imp_map_cpu(struct imp *im)
{
    map_vcpu(im);
    map_cpu(im);
    map_iothreads(im);
    map_cputune(im);
    /* The timers decide hv-time; the panic device hv-crash. */
    xmlNodePtr clock = imp_kid(im->dom, "clock");
    imp_each(t, clock, "timer")
    {
        const char *name = imp_peek(im, t, "name"), *present = imp_peek(im, t, "present");
        if (name != NULL && strcmp(name, "hypervclock") == 0 && imp_onoff(present) != 0)
            im->want_hv_time = true;
    }
    xmlNodePtr devs = imp_kid(im->dom, "devices");
    imp_each(p, devs, "panic")
    {
        const char *m = imp_peek(im, p, "model");
        if (m != NULL && strcmp(m, "hyperv") == 0 && im->kvm) {
            im->want_hv_crash = true;
            imp_use_all(p);
        }
    }
    map_hyperv(im);
    map_kvm_features(im);
}
