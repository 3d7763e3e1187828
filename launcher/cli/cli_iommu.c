/* vmrun iommu [--json]: every IOMMU group and its devices, read-only.
 * Replaces the shell loop over /sys/kernel/iommu_groups/N/devices that
 * passthrough guides ask users to run, and says which groups cannot be
 * given to a VM piece by piece.
 *
 * Text: one "IOMMU group N" heading per group, one line per device, then
 * the group's warnings.
 *
 * JSON (stable shape):
 *   {"iommu_enabled": true,
 *    "groups": [{"group": 1,
 *                "devices": [{"address": "0000:01:00.0", "vendor": "10de",
 *                             "device": "1e07", "class": "0300",
 *                             "class_name": "VGA compatible controller",
 *                             "name": "NVIDIA Corporation TU102 [...]",
 *                             "driver": "nvidia" | null, "numa_node": 0 | -1,
 *                             "reset_methods": ["flr", "bus"],
 *                             "bridge": false, "boot_vga": false}],
 *                "warnings": ["..."]}]}
 * With the IOMMU off: {"iommu_enabled": false, "groups": []}, the reason on
 * stderr, exit 1.
 *
 * A warning flags a group where a GPU (class 0x03xx) shares the group with
 * an endpoint that is neither a bridge nor another function of the GPU's
 * own slot: passing the GPU through then means passing that device too. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "host/pci/pci_host.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vmrun iommu [--json]\n\n"
                 "List every IOMMU group with its PCI devices: address, vendor:device, name,\n"
                 "class, driver, NUMA node and reset methods. Groups where a GPU shares the\n"
                 "group with unrelated devices are flagged. Changes nothing.\n\n"
                 "  --json   machine-readable output (shape documented in cli_iommu.c)\n");
}

static bool same_slot(const struct pci_dev_info *a, const struct pci_dev_info *b)
{
    return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}

/* The warnings of one group as a JSON array of strings (at most one per GPU). */
static cJSON *group_warnings(const struct pci_dev_info **m, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        if ((m[i]->class_code >> 8) != 0x03)
            continue;
        char others[1024] = "";
        size_t used = 0;
        for (size_t k = 0; k < n; k++) {
            if (k == i || pci_is_bridge(m[k]) || same_slot(m[i], m[k]))
                continue;
            int w = snprintf(others + used, sizeof(others) - used, "%s%s %s", used ? ", " : "",
                             m[k]->address, m[k]->name);
            if (w < 0 || (size_t)w >= sizeof(others) - used)
                break;
            used += (size_t)w;
        }
        if (used == 0)
            continue;
        char msg[1400];
        snprintf(msg, sizeof(msg),
                 "the GPU %s shares this group with %s: giving the GPU to a VM means giving "
                 "these too (\"take_group\": true), or moving the card to a slot with its own "
                 "group",
                 m[i]->address, others);
        cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
    }
    return arr;
}

static cJSON *device_json(const struct pci_dev_info *d)
{
    char hex[8];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "address", d->address);
    snprintf(hex, sizeof(hex), "%04x", d->vendor);
    cJSON_AddStringToObject(o, "vendor", hex);
    snprintf(hex, sizeof(hex), "%04x", d->device);
    cJSON_AddStringToObject(o, "device", hex);
    snprintf(hex, sizeof(hex), "%04x", d->class_code);
    cJSON_AddStringToObject(o, "class", hex);
    cJSON_AddStringToObject(o, "class_name", d->class_name);
    cJSON_AddStringToObject(o, "name", d->name);
    if (d->driver[0])
        cJSON_AddStringToObject(o, "driver", d->driver);
    else
        cJSON_AddNullToObject(o, "driver");
    cJSON_AddNumberToObject(o, "numa_node", d->numa_node);
    cJSON *rm = cJSON_AddArrayToObject(o, "reset_methods");
    char methods[sizeof(d->reset_method)];
    snprintf(methods, sizeof(methods), "%s", d->reset_method);
    for (char *save, *t = strtok_r(methods, " ", &save); t; t = strtok_r(NULL, " ", &save))
        cJSON_AddItemToArray(rm, cJSON_CreateString(t));
    cJSON_AddBoolToObject(o, "bridge", pci_is_bridge(d));
    cJSON_AddBoolToObject(o, "boot_vga", d->boot_vga);
    return o;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int cli_iommu(int argc, char **argv)
{
    bool json = false;
    int r = cli_parse_json_flag(argc, argv, "iommu", &json, NULL, usage);
    if (r != 0)
        return r < 0 ? VMRUN_EXIT_OK : r;

    if (!pci_iommu_enabled()) {
        if (json)
            printf("{\"iommu_enabled\":false,\"groups\":[]}\n");
        fprintf(stderr, "vmrun: %s\n", PCI_IOMMU_OFF_MSG);
        return VMRUN_EXIT_FAILURE;
    }
    struct pci_host h;
    struct vmrun_error err = {0};
    if (pci_host_scan(&h, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }

    /* The distinct groups, in numeric order. */
    int *groups = calloc(h.n ? h.n : 1, sizeof(*groups));
    const struct pci_dev_info **members = calloc(h.n ? h.n : 1, sizeof(*members));
    if (groups == NULL || members == NULL) {
        free(groups);
        free(members);
        pci_host_free(&h);
        fprintf(stderr, "vmrun: out of memory\n");
        return VMRUN_EXIT_FAILURE;
    }
    size_t ng = 0;
    for (size_t k = 0; k < h.n; k++) {
        int g = h.devs[k].iommu_group;
        bool seen = false;
        for (size_t i = 0; i < ng && !seen; i++)
            seen = groups[i] == g;
        if (g >= 0 && !seen)
            groups[ng++] = g;
    }
    qsort(groups, ng, sizeof(*groups), cmp_int);

    cJSON *root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "iommu_enabled", true);
    cJSON *jgroups = cJSON_AddArrayToObject(root, "groups");
    for (size_t i = 0; i < ng; i++) {
        size_t nm = pci_group_members(&h, groups[i], members, h.n);
        cJSON *warnings = group_warnings(members, nm);
        if (json) {
            cJSON *jg = cJSON_CreateObject();
            cJSON_AddNumberToObject(jg, "group", groups[i]);
            cJSON *devs = cJSON_AddArrayToObject(jg, "devices");
            for (size_t k = 0; k < nm; k++)
                cJSON_AddItemToArray(devs, device_json(members[k]));
            cJSON_AddItemToObject(jg, "warnings", warnings);
            cJSON_AddItemToArray(jgroups, jg);
            continue;
        }
        printf("IOMMU group %d\n", groups[i]);
        for (size_t k = 0; k < nm; k++) {
            const struct pci_dev_info *d = members[k];
            printf("  %s [%04x:%04x] %s [%04x]: %s\n", d->address, d->vendor, d->device,
                   d->class_name, d->class_code, d->name);
            printf("      driver %s, NUMA node %d, reset %s%s\n", d->driver[0] ? d->driver : "none",
                   d->numa_node, d->reset_method[0] ? d->reset_method : "none",
                   d->boot_vga ? ", boot VGA (shows the console)" : "");
        }
        const cJSON *w;
        cJSON_ArrayForEach(w, warnings) printf("  warning: %s\n", w->valuestring);
        cJSON_Delete(warnings);
    }
    int rc = VMRUN_EXIT_OK;
    if (json) {
        char *out = cJSON_Print(root);
        if (out == NULL) {
            fprintf(stderr, "vmrun: out of memory\n");
            rc = VMRUN_EXIT_FAILURE;
        } else {
            printf("%s\n", out);
            free(out);
        }
    }
    cJSON_Delete(root);
    free(groups);
    free(members);
    pci_host_free(&h);
    return rc;
}
