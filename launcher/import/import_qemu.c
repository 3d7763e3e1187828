/* <qemu:commandline>, <qemu:env> and the rest of libvirt's QEMU namespace.
 * Arguments go to qemu.extra_args as written, with a warning each, except
 * what the profile says itself: an input-linux object becomes an "input"
 * entry, and the ivshmem-plain device on a kvmfr memory backend that the
 * Looking Glass guides add becomes "looking_glass". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "import/import_internal.h"
#include "profile/profile.h"

/* The value of key in a QEMU option string ("a=1,b=2"), unescaped; NULL
 * when absent. ",," is a literal comma. */
static char *opt_get(const char *opts, const char *key)
{
    size_t kl = strlen(key);
    const char *p = opts;
    while (*p != '\0') {
        const char *start = p;
        /* the end of this part: a single ',' */
        const char *e = p;
        while (*e != '\0' && !(*e == ',' && e[1] != ',')) {
            if (*e == ',' && e[1] == ',')
                e++;
            e++;
        }
        if ((size_t)(e - start) > kl && strncmp(start, key, kl) == 0 && start[kl] == '=') {
            size_t n = (size_t)(e - start) - kl - 1;
            char *v = malloc(n + 1);
            if (v == NULL)
                return NULL;
            size_t o = 0;
            for (const char *c = start + kl + 1; c < e; c++) {
                v[o++] = *c;
                if (*c == ',' && c[1] == ',')
                    c++;
            }
            v[o] = '\0';
            return v;
        }
        p = *e == ',' ? e + 1 : e;
    }
    return NULL;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* key of a -object or -device argument of type kind ("input-linux"), in
 * either of QEMU's syntaxes: "kind,key=value,..." or JSON, which QEMU also
 * reads with single quotes ({'qom-type':'input-linux',...}). NULL when the
 * argument is of another kind or lacks the key. type_key is "qom-type" for
 * -object, "driver" for -device. */
static char *qarg_get(const char *arg, const char *type_key, const char *kind, const char *key)
{
    if (arg[0] != '{') {
        size_t kl = strlen(kind);
        if (strncmp(arg, kind, kl) != 0 || arg[kl] != ',')
            return NULL;
        return opt_get(arg + kl + 1, key);
    }
    cleanup_free char *text = strdup(arg);
    if (text == NULL)
        return NULL;
    if (strchr(text, '"') == NULL)
        for (char *c = text; *c != '\0'; c++)
            if (*c == '\'')
                *c = '"';
    cJSON *o = cJSON_Parse(text);
    char *out = NULL;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, type_key));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (type != NULL && strcmp(type, kind) == 0 && v != NULL) {
        if (cJSON_IsString(v)) {
            out = strdup(v->valuestring);
        } else if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
            char num[32];
            snprintf(num, sizeof(num), "%.0f", v->valuedouble);
            out = strdup(num);
        }
    }
    cJSON_Delete(o);
    return out;
}

static uint64_t qemu_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k':
    case 'K':
        return v << 10;
    case 'M':
    case 'm':
        return v << 20;
    case 'G':
    case 'g':
        return v << 30;
    case '\0':
        return v;
    }
    return 0;
}

struct arg {
    xmlNodePtr el;
    const char *value;
    bool done;
};

void imp_map_qemu_args(struct imp *im)
{
    for (xmlNodePtr c = im->dom->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->ns == NULL ||
            strcmp((const char *)c->ns->href, LIBVIRT_QEMU_NS) != 0)
            continue;
        const char *name = (const char *)c->name;
        if (strcmp(name, "commandline") != 0) {
            imp_note(im, c, IMPORT_NOT_SUPPORTED,
                     "libvirt's QEMU overrides and capabilities have no meaning to vmrun");
            continue;
        }
        imp_use(c);
        size_t n = 0;
        for (xmlNodePtr a = c->children; a != NULL; a = a->next)
            n += a->type == XML_ELEMENT_NODE;
        cleanup_free struct arg *args = calloc(n + 1, sizeof(*args));
        if (args == NULL) {
            im->oom = true;
            return;
        }
        size_t na = 0;
        for (xmlNodePtr a = c->children; a != NULL; a = a->next) {
            if (a->type != XML_ELEMENT_NODE)
                continue;
            if (strcmp((const char *)a->name, "arg") == 0 && a->ns == c->ns) {
                imp_use(a);
                const char *v = imp_attr(im, a, "value");
                bool clean = v != NULL && *v != '\0' && strlen(v) <= 4000;
                for (const char *ch = v; clean && *ch != '\0'; ch++)
                    clean = (unsigned char)*ch >= 0x20 && *ch != 0x7f;
                if (clean)
                    args[na++] = (struct arg){.el = a, .value = v};
                else
                    imp_note(im, a, IMPORT_NOT_SUPPORTED,
                             "an empty, overlong or multi-line argument; not carried over");
            } else if (strcmp((const char *)a->name, "env") == 0) {
                imp_note(im, a, IMPORT_NOT_SUPPORTED,
                         "vmrun sets no environment for QEMU (%s)",
                         imp_peek(im, a, "name") ? imp_peek(im, a, "name") : "?");
            }
        }
        /* What the profile can say itself. */
        for (size_t i = 0; i + 1 < na; i++) {
            const char *opt = args[i].value, *val = args[i + 1].value;
            if (strcmp(opt, "-object") == 0) {
                cleanup_free char *ev = qarg_get(val, "qom-type", "input-linux", "evdev");
                cleanup_free char *tog = qarg_get(val, "qom-type", "input-linux", "grab-toggle");
                if (ev == NULL || ev[0] != '/')
                    continue;
                cJSON *o = imp_push_obj(im, imp_array(im, im->prof, "input"));
                imp_set_str(im, o, "evdev", ev);
                static const char *const toggles[] = {"ctrl-ctrl",  "alt-alt",
                                                      "shift-shift", "meta-meta",
                                                      "scrolllock", "ctrl-scrolllock"};
                for (size_t k = 0; tog != NULL && k < ARRAY_SIZE(toggles); k++)
                    if (strcmp(tog, toggles[k]) == 0)
                        imp_set_str(im, o, "grab_toggle", tog);
                args[i].done = args[i + 1].done = true;
                i++;
            }
        }
        /* Looking Glass through kvmfr: the device and its memory backend. */
        for (size_t i = 0; i + 1 < na; i++) {
            if (args[i].done || strcmp(args[i].value, "-device") != 0)
                continue;
            cleanup_free char *memdev =
                qarg_get(args[i + 1].value, "driver", "ivshmem-plain", "memdev");
            for (size_t j = 0; memdev != NULL && j + 1 < na; j++) {
                const char *v = args[j + 1].value;
                if (args[j].done || strcmp(args[j].value, "-object") != 0)
                    continue;
                const char *mbf = "memory-backend-file";
                cleanup_free char *id = qarg_get(v, "qom-type", mbf, "id");
                cleanup_free char *path = qarg_get(v, "qom-type", mbf, "mem-path");
                cleanup_free char *size = qarg_get(v, "qom-type", mbf, "size");
                if (id == NULL || strcmp(id, memdev) != 0 || path == NULL || size == NULL ||
                    path[0] != '/')
                    continue;
                const char *res = imp_lg_resolution(qemu_size(size));
                if (res == NULL || cJSON_GetObjectItemCaseSensitive(
                                       imp_section(im, "looking_glass"), "resolution") != NULL)
                    break;
                cJSON *lg = imp_section(im, "looking_glass");
                imp_set_str(im, lg, "resolution", res);
                imp_set_str(im, lg, "device", path);
                args[i].done = args[i + 1].done = args[j].done = args[j + 1].done = true;
                break;
            }
        }
        /* -overcommit cpu-pm=on: the profile's cpu.idle_in_guest. */
        for (size_t i = 0; i + 1 < na; i++) {
            if (args[i].done || strcmp(args[i].value, "-overcommit") != 0 ||
                strcmp(args[i + 1].value, "cpu-pm=on") != 0 || !im->kvm ||
                !imp_known(im, "cpu.idle_in_guest"))
                continue;
            imp_set_bool(im, imp_section(im, "cpu"), "idle_in_guest", true);
            args[i].done = args[i + 1].done = true;
        }
        /* The rest, as written. */
        cJSON *extra = NULL;
        for (size_t i = 0; i < na; i++) {
            if (args[i].done)
                continue;
            if (extra == NULL)
                extra = imp_array(im, imp_section(im, "qemu"), "extra_args");
            cJSON_AddItemToArray(extra, cJSON_CreateString(args[i].value));
            bool pair = args[i].value[0] == '-' && i + 1 < na && args[i + 1].value[0] != '-' &&
                        !args[i + 1].done;
            char what[200];
            snprintf(what, sizeof(what), "%s%s%.120s", args[i].value, pair ? " " : "",
                     pair ? args[i + 1].value : "");
            if (pair)
                cJSON_AddItemToArray(extra, cJSON_CreateString(args[++i].value));
            bool overrides = starts(what, "-cpu ") || starts(what, "-smp ") ||
                             starts(what, "-machine ") || starts(what, "-m ");
            imp_note(im, args[i].el, IMPORT_WARNING,
                     "%s: carried over into qemu.extra_args as written%s; vmrun honours it only "
                     "from a profile root controls",
                     what,
                     overrides ? ", after vmrun's own option of that name (QEMU takes the last)"
                               : "");
        }
    }
}
