/* profile_parse: the profile schema's tree walker. Checks the root's keys,
 * hands each section to its parser (profile_identity.c, profile_qemu.c,
 * profile_cpu.c, profile_memory.c, profile_pci.c, profile_disks.c,
 * profile_network.c, ...; profile_sections.h lists them) in document
 * order, reads the root's own scalars (description, display, serial), then
 * checks what spans sections (the CPU topology against pinning and the
 * accelerator, boot indexes across pci and disks). It also answers which
 * keys the schema has (profile_key_known(), from the sections' key tables).
 * Every problem is reported, not only the first: a reader that fails leaves
 * its default in place and the walk goes on. Pure: no file system, no
 * environment. profiles/README.md documents each key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/jsonpos.h"
#include "profile/profile.h"
#include "profile/profile_access.h"
#include "profile/profile_handoff.h"
#include "profile/profile_firmware.h"
#include "profile/profile_json.h"
#include "profile/profile_sections.h"

#define MAX_BOOTINDEX 9999

static const char *const root_keys[] = {
    "name",     "description", "qemu", "firmware", "boot",   "cpu",     "memory", "pci",
    "disks",    "network",     "usb",  "input",    "audio",  "display", "serial", "looking_glass",
    "shutdown", "run_as",      "uuid", "smbios",   "access", "handoff", "tpm",    NULL,
};

static const char *const display_names[] = {"none", "gtk", "sdl", "spice", "vnc", NULL};
static const char *const serial_names[] = {"log", "stdio", "none", NULL};

/* ---- boot indexes: pci[] and disks[] ----------------------------------- */

void profile_parse_bootindex(struct pj *pj, const cJSON *obj, int *out)
{
    int64_t v;
    if (pj_get_int(pj, obj, "bootindex", 0, MAX_BOOTINDEX, "a boot order (integer >= 0)", &v) > 0)
        *out = (int)v;
}

static void check_bootindex(struct pj *pj, const struct vm_profile *p,
                            const struct profile_where *w)
{
    /* QEMU refuses two devices with the same boot index. */
    size_t n = p->n_pci + p->n_disks;
    for (size_t i = 0; i < n; i++) {
        int bi = i < p->n_pci ? p->pci[i].bootindex : p->disks[i - p->n_pci].bootindex;
        if (bi < 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            int bj = j < p->n_pci ? p->pci[j].bootindex : p->disks[j - p->n_pci].bootindex;
            if (bj != bi)
                continue;
            char other[32];
            if (j < p->n_pci)
                snprintf(other, sizeof(other), "pci[%zu]", j);
            else
                snprintf(other, sizeof(other), "disks[%zu]", j - p->n_pci);
            bool pci = i < p->n_pci;
            size_t idx = pci ? i : i - p->n_pci;
            const cJSON *o = pci ? w->pci_items[idx] : w->disk_items[idx];
            size_t saved = pj_push_key(pj, pci ? "pci" : "disks");
            pj_push_index(pj, idx);
            pj_push_key(pj, "bootindex");
            pj_error(pj, pj_member(o, "bootindex"), "boot index %d is already used by %s", bi,
                     other);
            pj_pop(pj, saved);
            break;
        }
    }
}

/* ---- the schema, asked by key ------------------------------------------- */

bool profile_key_known(const char *path)
{
    /* Every object of the schema by its dotted path; array members as
     * "pci[]". A section added to the schema adds its line here. */
    static const struct {
        const char *path;
        const char *const *keys;
    } sections[] = {
        {"", root_keys},
        {"qemu", profile_qemu_keys},
        {"firmware", profile_firmware_keys},
        {"tpm", profile_tpm_keys},
        {"boot", profile_boot_keys},
        {"cpu", profile_cpu_keys},
        {"cpu.pin", profile_pin_keys},
        {"memory", profile_memory_keys},
        {"pci[]", profile_pci_keys},
        {"disks[]", profile_disk_keys},
        {"network[]", profile_net_keys},
        {"usb[]", profile_usb_keys},
        {"input[]", profile_input_keys},
        {"audio", profile_audio_keys},
        {"looking_glass", profile_looking_glass_keys},
        {"shutdown", profile_shutdown_keys},
        {"handoff", profile_handoff_keys},
    };
    if (path == NULL || *path == '\0')
        return false;
    const char *dot = strrchr(path, '.');
    size_t plen = dot != NULL ? (size_t)(dot - path) : 0;
    const char *key = dot != NULL ? dot + 1 : path;
    size_t klen = strlen(key);
    /* "pci[]" as the last part names the array key "pci". */
    if (klen > 2 && strcmp(key + klen - 2, "[]") == 0)
        klen -= 2;
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        if (strlen(sections[i].path) != plen || strncmp(sections[i].path, path, plen) != 0)
            continue;
        for (const char *const *k = sections[i].keys; *k != NULL; k++)
            if (strlen(*k) == klen && strncmp(*k, key, klen) == 0)
                return true;
        return false;
    }
    /* smbios.TYPE and smbios.TYPE.FIELD come from their own table. */
    for (int t = 0; t < SMBIOS_N_TYPES; t++) {
        char sect[32];
        snprintf(sect, sizeof(sect), "smbios.%s", profile_smbios_types[t].key);
        if (strcmp(path, sect) == 0)
            return true;
        if (plen == strlen(sect) && strncmp(path, sect, plen) == 0)
            for (const char *const *f = profile_smbios_types[t].fields; *f != NULL; f++)
                if (strcmp(*f, key) == 0)
                    return true;
    }
    return false;
}

/* ---- entry point ---------------------------------------------------------- */

static void parse_tree(struct pj *pj, const cJSON *root, const char *file, struct vm_profile *p)
{
    struct profile_where w = {0};
    if (!pj_object(pj, root, root_keys))
        return;
    profile_parse_name(pj, root, file, p);
    const cJSON *desc = pj_member(root, "description");
    if (desc != NULL) {
        size_t saved = pj_push_key(pj, "description");
        pj_string(pj, desc, 0, "a string", &p->description);
        pj_pop(pj, saved);
    }
    profile_parse_uuid(pj, root, p);
    profile_parse_qemu(pj, root, p, &w);
    profile_parse_firmware(pj, root, p);
    profile_parse_boot(pj, root, p);
    profile_parse_cpu(pj, root, p, &w);
    profile_parse_memory(pj, root, p);
    profile_parse_pci(pj, root, p, &w);
    profile_parse_disks(pj, root, p, &w);
    profile_parse_network(pj, root, p, &w);
    profile_parse_usb(pj, root, p, &w);
    profile_parse_input(pj, root, p);
    profile_parse_audio(pj, root, p);
    int v;
    if (pj_get_enum(pj, root, "display", display_names, &v) > 0)
        p->display = (enum vm_display)v;
    if (pj_get_enum(pj, root, "serial", serial_names, &v) > 0)
        p->serial = (enum vm_serial)v;
    profile_parse_looking_glass(pj, root, p);
    profile_parse_shutdown(pj, root, p);
    profile_parse_run_as(pj, root, p);
    const cJSON *smbios = pj_member(root, "smbios");
    if (smbios != NULL) {
        size_t saved = pj_push_key(pj, "smbios");
        profile_parse_smbios(pj, smbios, p);
        pj_pop(pj, saved);
    }
    profile_parse_access(pj, root, p);
    profile_parse_handoff(pj, root, p);
    profile_parse_tpm(pj, root, p);

    profile_check_cpu(pj, p, &w);
    check_bootindex(pj, p, &w);

    free(w.vcpu_items);
    free(w.pci_items);
    free(w.disk_items);
    free(w.net_items);
    free(w.usb_items);
}

/* Diagnostics in document order, so a user reads them top to bottom. An
 * insertion sort: stable, so equal positions keep their report order, and
 * the list is short (PJ_MAX_ERRORS). */
static void sort_diags(struct diag_list *d, size_t from)
{
    for (size_t i = from + 1; i < d->n; i++) {
        struct diag t = d->items[i];
        size_t j = i;
        while (j > from && (d->items[j - 1].line > t.line ||
                            (d->items[j - 1].line == t.line && d->items[j - 1].col > t.col))) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = t;
    }
}

int profile_parse(const char *file, const char *data, size_t len, struct vm_profile *out,
                  struct diag_list *diags)
{
    memset(out, 0, sizeof(*out));
    size_t first_diag = diags->n;
    size_t errors_before = diags->n_errors;
    struct pj pj = {.file = file, .diags = diags};

    if (len > PROFILE_MAX_BYTES) {
        diag_add(diags, DIAG_ERROR, file, 0, 0, "",
                 "the file is %zu bytes; profiles are at most %d bytes", len, PROFILE_MAX_BYTES);
        return -EINVAL;
    }
    /* cJSON reads C strings; a NUL inside would silently end the text. */
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL) {
        struct jsonpos at = jsonpos_at(data, len, (size_t)(nul - data));
        diag_add(diags, DIAG_ERROR, file, at.line, at.col, "",
                 "a NUL byte; a profile is JSON text");
        return -EINVAL;
    }
    cleanup_free char *text = malloc(len + 1);
    if (text == NULL) {
        diag_add(diags, DIAG_ERROR, file, 0, 0, "", "out of memory");
        return -EINVAL;
    }
    memcpy(text, data, len);
    text[len] = '\0';

    /* The strict checker finds the first error and says what is wrong;
     * cJSON's error pointer is the fallback for what only cJSON refuses
     * (such as running out of memory). */
    struct jsonpos at;
    char why[256];
    if (!jsonpos_check_syntax(text, len, CJSON_NESTING_LIMIT, &at, why, sizeof(why))) {
        diag_add(diags, DIAG_ERROR, file, at.line, at.col, "", "JSON syntax error: %s", why);
        return -EINVAL;
    }
    const char *end = NULL;
    /* The length includes the NUL: cJSON checks that the text ends there
     * (require_null_terminated), which refuses anything after the value. */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
    if (root == NULL) {
        size_t off = end != NULL && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        at = jsonpos_at(text, len, off);
        diag_add(diags, DIAG_ERROR, file, at.line, at.col, "", "JSON syntax error");
        return -EINVAL;
    }
    if (jsonpos_build(&pj.pos, text, len, root) < 0)
        diag_add(diags, DIAG_ERROR, file, 0, 0, "", "out of memory");
    else
        parse_tree(&pj, root, file, out);
    jsonpos_free(&pj.pos);
    cJSON_Delete(root);
    sort_diags(diags, first_diag);
    if (diags->n_errors > errors_before) {
        profile_free(out);
        return -EINVAL;
    }
    return 0;
}
