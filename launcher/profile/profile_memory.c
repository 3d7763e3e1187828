/* The "memory" section of a profile: the guest's size, its hugepages (one
 * page size, or two in order of preference) and NUMA node, and whether to
 * drop the page cache first. The one required section. Pure, like the rest
 * of the parser. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/size.h"
#include "profile/profile_sections.h"

#define MIB (UINT64_C(1) << 20)
#define MAX_NUMA_NODE 1023

const char *const profile_memory_keys[] = {"size", "hugepages", "numa_node", "drop_caches", NULL};

/* "2M" -> 2048, "1G" -> 1048576 (kB); 0 for anything else. */
static unsigned hugepage_size_kb(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return 0;
    if (strcmp(v->valuestring, "2M") == 0)
        return 2048;
    if (strcmp(v->valuestring, "1G") == 0)
        return 1048576;
    return 0;
}

/* memory.hugepages as a list: one or two distinct page sizes, the first
 * preferred; the second is used when the first cannot be reserved. */
static void parse_hugepage_list(struct pj *pj, const cJSON *list, struct vm_profile *p)
{
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > 2) {
        pj_error(pj, list,
                 "expected a list of one or two page sizes (\"2M\", \"1G\"), got %d "
                 "entries",
                 n);
        return;
    }
    unsigned got_kb[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(list, i);
        size_t s = pj_push_index(pj, (size_t)i);
        got_kb[i] = hugepage_size_kb(v);
        if (got_kb[i] == 0) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected \"2M\" or \"1G\", got %s", got);
        } else if (i == 1 && got_kb[1] == got_kb[0]) {
            pj_error(pj, v, "expected a page size not already listed, got \"%s\" twice",
                     v->valuestring);
            got_kb[1] = 0;
        }
        pj_pop(pj, s);
    }
    if (got_kb[0] == 0)
        return;
    p->memory.hugepage_kb = got_kb[0];
    p->memory.hugepage_fallback_kb = n == 2 ? got_kb[1] : 0;
}

/* memory.size: "16G", "512M" or a number of bytes, a whole number of MiB. */
static void parse_size(struct pj *pj, const cJSON *m, struct vm_profile *p)
{
    const char *size_expected = "a size such as \"16G\" or \"512M\", or a number of bytes";
    const cJSON *size = pj_member(m, "size");
    if (size == NULL) {
        pj_missing(pj, m, "size", size_expected);
    } else {
        size_t s2 = pj_push_key(pj, "size");
        char got[128];
        pj_describe(size, got, sizeof(got));
        uint64_t bytes = 0;
        bool ok = false;
        if (cJSON_IsString(size)) {
            int r = size_parse(size->valuestring, &bytes);
            ok = r == 0;
            if (r == -ERANGE)
                pj_error(pj, size, "expected %s, got %s, which is too large", size_expected, got);
            else if (r < 0)
                pj_error(pj, size, "expected %s, got %s", size_expected, got);
        } else if (cJSON_IsNumber(size)) {
            int64_t v;
            /* 2^53: the largest integer a JSON number carries exactly. */
            ok = pj_int(pj, size, 1, INT64_C(1) << 53, size_expected, &v) > 0;
            bytes = (uint64_t)v;
            if (!ok)
                bytes = 0;
        } else {
            pj_error(pj, size, "expected %s, got %s", size_expected, got);
        }
        if (ok) {
            if (bytes < MIB || bytes % MIB != 0)
                pj_error(pj, size, "expected a whole number of MiB (at least 1M), got %s", got);
            else if (bytes > VM_MEMORY_MAX)
                pj_error(pj, size, "expected at most 16T, got %s", got);
            else
                p->memory.size = bytes;
        }
        pj_pop(pj, s2);
    }
}

/* memory.hugepages: "2M", "1G", false, or a list in order of preference. */
static void parse_hugepages(struct pj *pj, const cJSON *m, struct vm_profile *p)
{
    const cJSON *hp = pj_member(m, "hugepages");
    if (hp != NULL) {
        size_t s2 = pj_push_key(pj, "hugepages");
        if (cJSON_IsArray(hp))
            parse_hugepage_list(pj, hp, p);
        else if (cJSON_IsFalse(hp))
            p->memory.hugepage_kb = 0;
        else if (hugepage_size_kb(hp) != 0)
            p->memory.hugepage_kb = hugepage_size_kb(hp);
        else {
            char got[128];
            pj_describe(hp, got, sizeof(got));
            pj_error(pj, hp,
                     "expected \"2M\", \"1G\", false or a list in order of preference "
                     "([\"1G\", \"2M\"]), got %s",
                     got);
        }
        pj_pop(pj, s2);
    }
}

/* The guest's memory is a whole number of each page size it may get. */
static void check_whole_pages(struct pj *pj, const cJSON *m, const struct vm_profile *p)
{
    const cJSON *size = pj_member(m, "size");
    const unsigned sizes_kb[] = {p->memory.hugepage_kb, p->memory.hugepage_fallback_kb};
    for (size_t i = 0; i < 2; i++) {
        if (p->memory.size == 0 || sizes_kb[i] == 0 ||
            p->memory.size % ((uint64_t)sizes_kb[i] * 1024) == 0)
            continue;
        char have[32];
        size_format(p->memory.size, have, sizeof(have));
        size_t s2 = pj_push_key(pj, "size");
        pj_error(pj, size, "%s is not a whole number of %s hugepages (memory.hugepages)", have,
                 sizes_kb[i] == 2048 ? "2M" : "1G");
        pj_pop(pj, s2);
        break;
    }
}

/* memory.numa_node: "auto" or a node number. */
static void parse_numa_node(struct pj *pj, const cJSON *m, struct vm_profile *p)
{
    const cJSON *node = pj_member(m, "numa_node");
    if (node != NULL) {
        size_t s2 = pj_push_key(pj, "numa_node");
        if (cJSON_IsString(node) && strcmp(node->valuestring, "auto") == 0) {
            p->memory.numa_node = -1;
        } else if (cJSON_IsNumber(node)) {
            int64_t v;
            if (pj_int(pj, node, 0, MAX_NUMA_NODE, "\"auto\" or a NUMA node number (integer >= 0)",
                       &v) > 0)
                p->memory.numa_node = (int)v;
        } else {
            char got[128];
            pj_describe(node, got, sizeof(got));
            pj_error(pj, node, "expected \"auto\" or a NUMA node number (integer >= 0), got %s",
                     got);
        }
        pj_pop(pj, s2);
    }
}

void profile_parse_memory(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    p->memory.numa_node = -1;
    const cJSON *m = pj_member(root, "memory");
    if (m == NULL) {
        pj_missing(pj, root, "memory", "an object with at least \"size\" (e.g. \"16G\")");
        return;
    }
    size_t saved = pj_push_key(pj, "memory");
    if (!pj_object(pj, m, profile_memory_keys)) {
        pj_pop(pj, saved);
        return;
    }
    parse_size(pj, m, p);
    parse_hugepages(pj, m, p);
    check_whole_pages(pj, m, p);
    parse_numa_node(pj, m, p);
    pj_get_bool(pj, m, "drop_caches", &p->memory.drop_caches);
    pj_pop(pj, saved);
}
