/* import_domain: the driver. Reads the XML, checks it is a domain, runs the
 * mappers in the profile's order, reports what nothing read, writes the
 * profile and parses it back with the profile parser. Also the small
 * top-level mappings (name, description, uuid, lifecycle, pm, features
 * other than the CPU's). */
#include <errno.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "import/import_internal.h"
#include "import/import_xml.h"
#include "profile/profile.h"

/* The profile's top-level keys in the order the profile is written
 * (profiles/README.md's order, identity first). */
static const char *const section_order[] = {
    "name",  "description", "uuid",    "smbios", "qemu",    "firmware",      "tpm",
    "boot",  "cpu",         "memory",  "pci",    "disks",   "network",       "usb",
    "input", "audio",       "display", "serial", "looking_glass",
};

static bool is_array_section(const char *key)
{
    static const char *const arrays[] = {"pci", "disks", "network", "usb", "input"};
    for (size_t i = 0; i < ARRAY_SIZE(arrays); i++)
        if (strcmp(arrays[i], key) == 0)
            return true;
    return false;
}

cJSON *imp_section(struct imp *im, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(im->prof, key);
    if (o != NULL)
        return o;
    return imp_set_obj(im, im->prof, key);
}

static void add(struct imp *im, cJSON *obj, const char *key, cJSON *v)
{
    if (v == NULL || obj == NULL) {
        im->oom |= v == NULL;
        cJSON_Delete(v);
        return;
    }
    if (cJSON_IsArray(obj)) {
        cJSON_AddItemToArray(obj, v);
        return;
    }
    /* Keys are written once; a second mapping of the same key replaces the
     * first (the later element in the XML wins, as in libvirt). */
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
}

void imp_set_str(struct imp *im, cJSON *obj, const char *key, const char *value)
{
    add(im, obj, key, cJSON_CreateString(value));
}

void imp_set_num(struct imp *im, cJSON *obj, const char *key, double value)
{
    add(im, obj, key, cJSON_CreateNumber(value));
}

void imp_set_bool(struct imp *im, cJSON *obj, const char *key, bool value)
{
    add(im, obj, key, cJSON_CreateBool(value));
}

cJSON *imp_set_obj(struct imp *im, cJSON *obj, const char *key)
{
    cJSON *o = cJSON_CreateObject();
    add(im, obj, key, o);
    return im->oom ? NULL : o;
}

cJSON *imp_array(struct imp *im, cJSON *obj, const char *key)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (a != NULL)
        return a;
    a = cJSON_CreateArray();
    add(im, obj, key, a);
    return im->oom ? NULL : a;
}

cJSON *imp_push_obj(struct imp *im, cJSON *array)
{
    cJSON *o = cJSON_CreateObject();
    add(im, array, NULL, o);
    return im->oom ? NULL : o;
}

bool imp_known(struct imp *im, const char *path)
{
    return im->opt->all_keys || profile_key_known(path);
}

/* ---- name, description, uuid --------------------------------------------- */

static void map_name(struct imp *im)
{
    xmlNodePtr n = imp_kid(im->dom, "name");
    const char *name = n != NULL ? imp_text(im, n) : "";
    /* vmrun names are [A-Za-z0-9_.-], 1-64, not starting with '.'; libvirt
     * allows nearly anything. */
    size_t o = 0;
    for (size_t i = 0; name[i] != '\0' && o < sizeof(im->name) - 1; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (o == 0 && c == '.')
            continue;
        im->name[o++] = ok ? c : '-';
    }
    im->name[o] = '\0';
    if (o == 0)
        snprintf(im->name, sizeof(im->name), "imported");
    if (n == NULL) {
        imp_set_str(im, im->prof, "name", im->name);
        return;
    }
    if (strcmp(im->name, name) != 0)
        imp_note(im, n, IMPORT_WARNING,
                 "the name becomes \"%s\": vmrun names hold only letters, digits, '_', '.' and "
                 "'-' (at most 64)",
                 im->name);
    imp_set_str(im, im->prof, "name", im->name);
}

/* Profile strings hold no control characters: runs of white space become
 * one space. */
static void squeeze(char *s)
{
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == ' ') {
            space = o > 0;
            continue;
        }
        if (space)
            s[o++] = ' ';
        space = false;
        s[o++] = (char)c;
    }
    s[o] = '\0';
}

static void map_description(struct imp *im)
{
    xmlNodePtr t = imp_kid(im->dom, "title"), d = imp_kid(im->dom, "description");
    const char *title = t != NULL ? imp_text(im, t) : "";
    const char *desc = d != NULL ? imp_text(im, d) : "";
    if (*title == '\0' && *desc == '\0')
        return;
    size_t n = strlen(title) + strlen(desc) + 4;
    char *s = imp_keep(im, malloc(n));
    if (s == NULL)
        return;
    snprintf(s, n, "%s%s%s", title, *title && *desc ? " - " : "", desc);
    squeeze(s);
    if (strlen(s) > 4000)
        s[4000] = '\0'; /* the profile keeps strings to 4096 bytes */
    imp_set_str(im, im->prof, "description", s);
}

static bool uuid_ok(const char *s)
{
    size_t digits = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-')
            continue;
        if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
            return false;
        digits++;
    }
    if (digits != 32)
        return false;
    return len == 32 || (len == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-');
}

static void map_uuid(struct imp *im)
{
    xmlNodePtr u = imp_kid(im->dom, "uuid");
    if (u == NULL)
        return;
    const char *v = imp_text(im, u);
    if (!uuid_ok(v)) {
        imp_note(im, u, IMPORT_NOT_SUPPORTED,
                 "\"%.40s\" is not a UUID; QEMU makes up none, so the guest sees an all-zero "
                 "system UUID",
                 v);
        return;
    }
    if (!imp_known(im, "uuid")) {
        imp_note(im, u, IMPORT_NOT_SUPPORTED, "this vmrun has no \"uuid\" key");
        return;
    }
    imp_set_str(im, im->prof, "uuid", v);
}

/* ---- lifecycle, power management, machine features ------------------------ */

static void map_lifecycle(struct imp *im)
{
    static const struct {
        const char *el, *same;
    } events[] = {{"on_poweroff", "destroy"}, {"on_reboot", "restart"}, {"on_crash", "destroy"}};
    for (size_t i = 0; i < ARRAY_SIZE(events); i++) {
        xmlNodePtr e = imp_kid(im->dom, events[i].el);
        if (e == NULL)
            continue;
        const char *v = imp_text(im, e);
        /* on_crash only matters with a panic device libvirt listens to;
         * vmrun leaves a crashed guest as it is, which "restart" and
         * "destroy" differ from only then. */
        if (strcmp(v, events[i].same) != 0 && strcmp(events[i].el, "on_crash") != 0)
            imp_note(im, e, IMPORT_NOT_SUPPORTED,
                     "vmrun always does what libvirt calls \"%s\" (a powered-off guest ends the "
                     "run, a reboot stays in the same QEMU)",
                     events[i].same);
    }
    xmlNodePtr pm = imp_kid(im->dom, "pm");
    if (pm != NULL) {
        imp_use(pm);
        for (xmlNodePtr c = pm->children; c != NULL; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            const char *en = imp_attr(im, c, "enabled");
            imp_use(c);
            if (imp_onoff(en) == 1)
                imp_note(im, c, IMPORT_NOT_SUPPORTED,
                         "vmrun turns guest suspend off (ICH9-LPC.disable_s3/s4): a "
                         "passed-through GPU rarely survives it");
        }
    }
}

static void map_features(struct imp *im)
{
    xmlNodePtr f = imp_kid(im->dom, "features");
    if (f == NULL)
        return;
    imp_use(f);
    /* What vmrun's machine has anyway. */
    static const char *const same[] = {"acpi", "apic", "pae", "hap", "smm", "vmcoreinfo"};
    for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
        xmlNodePtr e = imp_kid(f, same[i]);
        if (e == NULL)
            continue;
        const char *state = imp_attr(im, e, "state");
        imp_use(e);
        if (imp_onoff(state) == 0)
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "vmrun's machine always has it on");
    }
    xmlNodePtr vp = imp_kid(f, "vmport");
    if (vp != NULL) {
        imp_use(vp);
        if (imp_onoff(imp_attr(im, vp, "state")) == 1)
            imp_note(im, vp, IMPORT_NOT_SUPPORTED, "vmrun's machine has vmport=off");
    }
    xmlNodePtr io = imp_kid(f, "ioapic");
    if (io != NULL) {
        imp_use(io);
        const char *drv = imp_attr(im, io, "driver");
        if (drv != NULL && strcmp(drv, "kvm") != 0)
            imp_note(im, io, IMPORT_NOT_SUPPORTED,
                     "vmrun keeps the IOAPIC in the kernel (kernel-irqchip=on)");
    }
    xmlNodePtr msrs = imp_kid(f, "msrs");
    if (msrs != NULL)
        imp_note(im, msrs, IMPORT_HOST_SPECIFIC,
                 "unknown MSRs are a setting of the host's kvm module: add \"options kvm "
                 "ignore_msrs=1\" to /etc/modprobe.d/ instead");
    /* hyperv, kvm and pmu are the CPU's (import_cpu.c). */
}

/* ---- the whole document ---------------------------------------------------- */

static void summarise_addresses(struct imp *im)
{
    if (im->guest_addresses == 0)
        return;
    /* One line for all of them: vmrun lays out its own PCIe topology. */
    struct import_note *n = NULL;
    if (im->n_notes == im->cap_notes) {
        size_t cap = im->cap_notes ? im->cap_notes * 2 : 32;
        struct import_note *a = realloc(im->notes, cap * sizeof(*a));
        if (a == NULL) {
            im->oom = true;
            return;
        }
        im->notes = a;
        im->cap_notes = cap;
    }
    n = &im->notes[im->n_notes];
    n->line = im->first_address_line;
    n->kind = IMPORT_NOT_SUPPORTED;
    char what[96];
    snprintf(what, sizeof(what), "<address> and PCI controllers (%u elements)",
             im->guest_addresses);
    n->what = strdup(what);
    n->why = strdup("the guest's device addresses are not kept: vmrun lays out its own PCIe "
                    "topology (one root port per passed-through device)");
    if (n->what == NULL || n->why == NULL) {
        free(n->what);
        free(n->why);
        im->oom = true;
        return;
    }
    im->n_notes++;
}

/* Notes in line order, and in the order they were made within a line: an
 * insertion sort, stable. */
static void sort_notes(struct import_note *n, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        struct import_note t = n[i];
        size_t j = i;
        while (j > 0 && n[j - 1].line > t.line) {
            n[j] = n[j - 1];
            j--;
        }
        n[j] = t;
    }
}

/* Section objects made empty by the mappers go. */
static void drop_empty(cJSON *root)
{
    cJSON *c = root->child;
    while (c != NULL) {
        cJSON *next = c->next;
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && c->child == NULL)
            cJSON_Delete(cJSON_DetachItemViaPointer(root, c));
        c = next;
    }
}

/* The profile's limits on its arrays (profile.h): a domain with more
 * devices of a kind than vmrun takes keeps the first ones, with a note. */
static void trim_to_limits(struct imp *im)
{
    static const struct {
        const char *section; /* NULL: top level */
        const char *key;
        int max;
        const char *what;
    } limits[] = {
        {NULL, "pci", VM_PCI_MAX, "PCI devices"},
        {NULL, "disks", VM_DISKS_MAX, "disks"},
        {NULL, "network", VM_NETS_MAX, "network interfaces"},
        {NULL, "usb", VM_USB_MAX, "USB devices"},
        {NULL, "input", VM_INPUTS_MAX, "input devices"},
        {"qemu", "extra_args", VM_EXTRA_ARGS_MAX, "extra QEMU arguments"},
        {"cpu", "features", VM_CPU_FEATURES_MAX, "CPU features"},
    };
    xmlNodePtr devs = imp_kid(im->dom, "devices");
    for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
        cJSON *parent = limits[i].section != NULL
                            ? cJSON_GetObjectItemCaseSensitive(im->prof, limits[i].section)
                            : im->prof;
        cJSON *items = cJSON_GetObjectItemCaseSensitive(parent, limits[i].key);
        int n = cJSON_GetArraySize(items);
        if (n <= limits[i].max)
            continue;
        /* Arrays and objects alike: their members are one list. */
        while (cJSON_GetArraySize(items) > limits[i].max)
            cJSON_DeleteItemFromArray(items, limits[i].max);
        imp_note(im, devs != NULL && limits[i].section == NULL ? devs : im->dom,
                 IMPORT_NOT_SUPPORTED, "%d %s, more than vmrun's %d: the last %d are left out", n,
                 limits[i].what, limits[i].max, n - limits[i].max);
    }
}

static void map_all(struct imp *im)
{
    imp_use(im->dom);
    const char *type = imp_attr(im, im->dom, "type");
    im->kvm = type == NULL || strcmp(type, "kvm") == 0;
    imp_attr(im, im->dom, "id"); /* a running domain's number: libvirt's own */
    /* Sections in order; empty ones are dropped at the end. */
    for (size_t i = 0; i < ARRAY_SIZE(section_order); i++) {
        if (strcmp(section_order[i], "name") == 0)
            map_name(im);
        else if (strcmp(section_order[i], "description") == 0)
            map_description(im);
        else if (strcmp(section_order[i], "uuid") == 0)
            map_uuid(im);
        else if (strcmp(section_order[i], "tpm") == 0 && !imp_known(im, "tpm"))
            continue;
        else if (is_array_section(section_order[i]))
            imp_array(im, im->prof, section_order[i]);
        else
            imp_section(im, section_order[i]);
    }
    if (type != NULL && strcmp(type, "kvm") != 0) {
        if (strcmp(type, "qemu") == 0)
            imp_set_str(im, imp_section(im, "qemu"), "accel", "tcg");
        else
            imp_note_attr(im, im->dom, "type", IMPORT_NOT_SUPPORTED,
                          "vmrun runs QEMU with KVM or TCG; this becomes KVM");
    }
    /* What libvirt keeps for itself and that has no effect on the guest. */
    static const char *const libvirt_own[] = {"metadata", "seclabel", "resource", "genid"};
    for (size_t i = 0; i < ARRAY_SIZE(libvirt_own); i++)
        imp_each(e, im->dom, libvirt_own[i]) imp_use_all(e);

    imp_map_os(im);
    imp_map_cpu(im);
    imp_map_memory(im);
    imp_map_clock(im);
    map_features(im);
    map_lifecycle(im);
    imp_map_devices(im);
    imp_map_qemu_args(im);
    imp_report_unread(im, im->dom);
    trim_to_limits(im);
    summarise_addresses(im);
    drop_empty(im->prof);
}

static void free_notes(struct import_note *n, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(n[i].what);
        free(n[i].why);
    }
    free(n);
}

int import_domain(const char *file, const char *data, size_t len,
                  const struct import_options *opt, struct import_result *out,
                  struct diag_list *diags)
{
    static const struct import_options defaults = {0};
    memset(out, 0, sizeof(*out));
    if (opt == NULL)
        opt = &defaults;
    if (len <= IMPORT_MAX_BYTES && memchr(data, '\0', len) != NULL) {
        /* libxml2 would stop there; say it the way a user understands. */
        const char *nul = memchr(data, '\0', len);
        unsigned line = 1;
        for (const char *c = data; c < nul; c++)
            line += *c == '\n';
        diag_add(diags, DIAG_ERROR, file, line, 0, "", "a NUL byte; a domain XML is text");
        return -EINVAL;
    }
    xmlDocPtr doc = NULL;
    int r = import_xml_read(file, data, len, &doc, diags);
    if (r < 0)
        return r;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL || root->ns != NULL || strcmp((const char *)root->name, "domain") != 0) {
        diag_add(diags, DIAG_ERROR, file, root != NULL ? (unsigned)xmlGetLineNo(root) : 1, 0, "",
                 "the root element is <%s>, not <domain>: not a libvirt domain XML "
                 "(virsh dumpxml NAME writes one)",
                 root != NULL ? (const char *)root->name : "");
        xmlFreeDoc(doc);
        return -EINVAL;
    }
    struct imp im = {.file = file, .opt = opt, .doc = doc, .dom = root};
    im.prof = cJSON_CreateObject();
    if (im.prof == NULL) {
        xmlFreeDoc(doc);
        return -ENOMEM;
    }
    if (imp_kid(root, "memory") == NULL) {
        diag_add(diags, DIAG_ERROR, file, (unsigned)xmlGetLineNo(root), 0, "",
                 "<domain> has no <memory>: not a complete domain XML");
        r = -EINVAL;
    } else {
        map_all(&im);
        r = im.oom ? -ENOMEM : 0;
    }
    char *text = NULL;
    if (r == 0) {
        text = imp_json_print(im.prof);
        if (text == NULL)
            r = -ENOMEM;
    }
    /* What is written must be what vmrun accepts. */
    if (r == 0 && !opt->all_keys) {
        struct vm_profile p;
        char pf[96];
        snprintf(pf, sizeof(pf), "%s.json", im.name);
        size_t before = diags->n_errors;
        if (profile_parse(pf, text, strlen(text), &p, diags) < 0 || diags->n_errors > before)
            r = -EPROTO;
        else
            profile_free(&p);
    }
    if (r == 0) {
        sort_notes(im.notes, im.n_notes);
        out->profile = text;
        out->name = strdup(im.name);
        out->notes = im.notes;
        out->n_notes = im.n_notes;
        text = NULL;
        im.notes = NULL;
        im.n_notes = 0;
        if (out->name == NULL) {
            import_result_free(out);
            r = -ENOMEM;
        }
    }
    free(text);
    free_notes(im.notes, im.n_notes);
    for (size_t i = 0; i < im.n_arena; i++)
        free(im.arena[i]);
    free(im.arena);
    cJSON_Delete(im.prof);
    xmlFreeDoc(doc);
    return r;
}

void import_result_free(struct import_result *r)
{
    if (r == NULL)
        return;
    free(r->profile);
    free(r->name);
    free_notes(r->notes, r->n_notes);
    memset(r, 0, sizeof(*r));
}

size_t import_losses(const struct import_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_notes; i++)
        n += r->notes[i].kind != IMPORT_WARNING;
    return n;
}

const char *import_kind_name(enum import_kind k)
{
    switch (k) {
    case IMPORT_NOT_SUPPORTED:
        return "not supported";
    case IMPORT_HOST_SPECIFIC:
        return "host-specific";
    case IMPORT_MANUAL_STEP:
        return "needs a manual step";
    case IMPORT_WARNING:
        return "warning";
    }
    return "not supported";
}
