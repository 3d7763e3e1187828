/* Guest memory: <memory>, <currentMemory>, <maxMemory>, <memoryBacking>,
 * <numatune>, <memtune>. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpulist.h"
#include "import/import_internal.h"
#include "profile/profile.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* libvirt's units: KiB by default; "k"/"KiB" 1024, "KB" 1000, and so on. */
static bool scaled(const char *num, const char *unit, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(num, &end, 10);
    if (end == num || *end != '\0')
        return false;
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"b", 1},           {"bytes", 1},        {"KB", 1000},       {"k", 1024},
        {"KiB", 1024},      {"MB", 1000000},     {"M", MIB},         {"MiB", MIB},
        {"GB", 1000000000}, {"G", GIB},          {"GiB", GIB},       {"TB", 1000000000000ULL},
        {"T", GIB * 1024},  {"TiB", GIB * 1024},
    };
    uint64_t mul = 1024;
    if (unit != NULL) {
        mul = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(units[i].unit, unit) == 0)
                mul = units[i].mul;
        if (mul == 0)
            return false;
    }
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static bool element_bytes(struct imp *im, xmlNodePtr n, uint64_t *out)
{
    const char *unit = imp_attr(im, n, "unit");
    return scaled(imp_text(im, n), unit, out);
}

static void size_text(uint64_t bytes, char *buf, size_t len)
{
    if (bytes % GIB == 0)
        snprintf(buf, len, "%" PRIu64 "G", bytes / GIB);
    else
        snprintf(buf, len, "%" PRIu64 "M", bytes / MIB);
}

void imp_map_memory(struct imp *im)
{
    cJSON *mem = imp_section(im, "memory");
    xmlNodePtr m = imp_kid(im->dom, "memory");
    uint64_t bytes = 0;
    if (!element_bytes(im, m, &bytes) || bytes < MIB) {
        imp_note(im, m, IMPORT_NOT_SUPPORTED, "not a memory size; 1G is used");
        bytes = GIB;
    }
    imp_attr(im, m, "dumpCore");
    if (bytes > VM_MEMORY_MAX) {
        imp_note(im, m, IMPORT_NOT_SUPPORTED, "more than vmrun's limit of 16T; 1G is used");
        bytes = GIB;
    }
    if (bytes % MIB != 0) {
        bytes = (bytes + MIB - 1) / MIB * MIB;
        imp_note(im, m, IMPORT_WARNING, "rounded up to a whole MiB");
    }
    xmlNodePtr cur = imp_kid(im->dom, "currentMemory");
    uint64_t cb;
    if (cur != NULL && element_bytes(im, cur, &cb) && cb != bytes && cb < bytes)
        imp_note(im, cur, IMPORT_NOT_SUPPORTED,
                 "vmrun has no balloon: the guest gets all of <memory>");
    xmlNodePtr max = imp_kid(im->dom, "maxMemory");
    if (max != NULL)
        imp_note(im, max, IMPORT_NOT_SUPPORTED, "vmrun has no memory hotplug");

    /* Hugepages: a page size the profile knows, dividing the size. */
    xmlNodePtr mb = imp_kid(im->dom, "memoryBacking");
    const char *page = NULL;
    if (mb != NULL) {
        imp_use(mb);
        xmlNodePtr hp = imp_kid(mb, "hugepages");
        if (hp != NULL) {
            imp_use(hp);
            page = "2M"; /* the host's default size, 2M on x86 */
            xmlNodePtr pg = imp_kid(hp, "page");
            if (pg != NULL) {
                imp_use(pg);
                uint64_t ps = 0;
                const char *sz = imp_attr(im, pg, "size"), *unit = imp_attr(im, pg, "unit");
                imp_attr(im, pg, "nodeset");
                if (sz == NULL || !scaled(sz, unit, &ps) || (ps != 2 * MIB && ps != GIB)) {
                    imp_note(im, pg, IMPORT_NOT_SUPPORTED, "vmrun takes 2M or 1G hugepages");
                    page = NULL;
                } else {
                    page = ps == GIB ? "1G" : "2M";
                }
                for (xmlNodePtr o = imp_next(pg, "page"); o != NULL; o = imp_next(o, "page"))
                    imp_note(im, o, IMPORT_NOT_SUPPORTED, "vmrun backs all guest memory with "
                                                          "one page size");
            }
            uint64_t psz = page != NULL && strcmp(page, "1G") == 0 ? GIB : 2 * MIB;
            if (page != NULL && bytes % psz != 0) {
                imp_note(im, hp, IMPORT_NOT_SUPPORTED,
                         "the memory size is not a whole number of %s pages; no hugepages", page);
                page = NULL;
            }
        }
        static const struct {
            const char *el, *why;
            enum import_kind kind;
        } others[] = {
            {"nosharepages", "vmrun leaves KSM as the host has it", IMPORT_NOT_SUPPORTED},
            {"locked", "vmrun does not lock guest memory; VFIO pins it while a device is passed "
                       "through",
             IMPORT_WARNING},
            {"discard", "vmrun does not discard guest memory", IMPORT_NOT_SUPPORTED},
        };
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
            xmlNodePtr e = imp_kid(mb, others[i].el);
            if (e != NULL)
                imp_note(im, e, others[i].kind, "%s", others[i].why);
        }
        xmlNodePtr src = imp_kid(mb, "source");
        if (src != NULL)
            imp_note(im, src, IMPORT_NOT_SUPPORTED,
                     "vmrun backs memory with a hugetlbfs file (memory.hugepages) or QEMU's own "
                     "anonymous memory");
        xmlNodePtr acc = imp_kid(mb, "access");
        if (acc != NULL) {
            const char *mode = imp_attr(im, acc, "mode");
            imp_use(acc);
            if (mode != NULL && strcmp(mode, "shared") == 0 && page == NULL)
                imp_note(im, acc, IMPORT_NOT_SUPPORTED,
                         "guest memory is shared (share=on) only with memory.hugepages");
        }
        xmlNodePtr alloc = imp_kid(mb, "allocation");
        if (alloc != NULL) {
            const char *mode = imp_attr(im, alloc, "mode");
            imp_use(alloc);
            imp_attr(im, alloc, "threads");
            if (mode != NULL && strcmp(mode, "immediate") == 0 && page == NULL)
                imp_note(im, alloc, IMPORT_NOT_SUPPORTED,
                         "vmrun allocates memory up front only with memory.hugepages");
        }
    }
    char size[32];
    size_text(bytes, size, sizeof(size));
    imp_set_str(im, mem, "size", size);
    if (page != NULL) {
        imp_set_str(im, mem, "hugepages", page);
        im->hugepages = true;
    }

    xmlNodePtr nt = imp_kid(im->dom, "numatune");
    if (nt != NULL) {
        imp_use(nt);
        xmlNodePtr nm = imp_kid(nt, "memory");
        if (nm != NULL) {
            imp_use(nm);
            const char *mode = imp_attr(im, nm, "mode"), *set = imp_attr(im, nm, "nodeset");
            struct cpuset_bits s;
            if (set != NULL && strchr(set, '^') == NULL && cpulist_parse(set, &s) == 0 &&
                cpuset_count(&s) == 1 && cpuset_next(&s, 0) <= 1023) {
                imp_set_num(im, mem, "numa_node", cpuset_next(&s, 0));
                if (mode != NULL && strcmp(mode, "strict") != 0)
                    imp_note_attr(im, nm, "mode", IMPORT_WARNING,
                                  "vmrun takes all guest memory from the node, as \"strict\"");
            } else {
                imp_note(im, nm, IMPORT_NOT_SUPPORTED,
                         "vmrun takes guest memory from one NUMA node (memory.numa_node)");
            }
        }
        imp_each(mn, nt, "memnode") imp_note(im, mn, IMPORT_NOT_SUPPORTED,
                                             "vmrun gives the guest one NUMA node");
    }
    xmlNodePtr mt = imp_kid(im->dom, "memtune");
    if (mt != NULL)
        imp_note(im, mt, IMPORT_NOT_SUPPORTED, "vmrun sets no memory limits on QEMU");
    xmlNodePtr bt = imp_kid(im->dom, "blkiotune");
    if (bt != NULL)
        imp_note(im, bt, IMPORT_NOT_SUPPORTED, "vmrun sets no block I/O weights");
}
