/* Choosing the firmware from QEMU's descriptors (firmware.h). */
#include "qemu/firmware.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/text.h"
#include "priv/trust.h"
#include "qemu/ovmf_vars.h"
#include "sys/safepath.h"

/* Far above what any distribution ships; bounds the work on a strange
 * directory. */
#define MAX_DESCRIPTORS 128
#define MAX_DESCRIPTOR_BYTES (64 * 1024)

enum feature {
    F_SECURE_BOOT = 1 << 0,
    F_ENROLLED_KEYS = 1 << 1,
    F_REQUIRES_SMM = 1 << 2,
    F_CONFIDENTIAL = 1 << 3, /* amd-sev-es, amd-sev-snp, intel-tdx */
};

static void cjson_deletep(cJSON **p)
{
    cJSON_Delete(*p);
}
#define cleanup_cjson __attribute__((cleanup(cjson_deletep)))

struct descriptor {
    char name[256];      /* file name: the sort key */
    char path[PATH_MAX]; /* the file that takes effect */
    bool hidden;         /* an empty file hides the name */
};

/* What one descriptor offers, as far as vmrun reads it. */
struct offer {
    char description[256];
    bool uefi, usable; /* usable: flash, split, files named */
    char why_not[256]; /* set when !usable or the target does not match */
    bool target_ok;
    char code[PATH_MAX], code_format[8], vars[PATH_MAX], vars_format[8];
    unsigned features;
};

void firmware_default_dirs(struct firmware_dirs *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->dirs[0], sizeof(d->dirs[0]), "%s", FIRMWARE_SYSTEM_DIR);
    snprintf(d->dirs[1], sizeof(d->dirs[1]), "%s", FIRMWARE_SYSADMIN_DIR);
    if (trust_mode() == TRUST_DELEGATED) {
        snprintf(d->note, sizeof(d->note),
                 "the user's ~/.config/qemu/firmware is not searched through sudo or pkexec");
        return;
    }
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg != NULL && xdg[0] == '/') {
        snprintf(d->dirs[2], sizeof(d->dirs[2]), "%s/qemu/firmware", xdg);
        return;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw != NULL ? pw->pw_dir : NULL;
    }
    if (home != NULL)
        snprintf(d->dirs[2], sizeof(d->dirs[2]), "%s/.config/qemu/firmware", home);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct descriptor *)a)->name, ((const struct descriptor *)b)->name);
}

/* Every descriptor of the search path, sorted by name, a more specific
 * directory's file replacing a more general one's. */
static size_t list_descriptors(const struct firmware_dirs *d, struct descriptor *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        if (d->dirs[i][0] == '\0')
            continue;
        cleanup_closedir DIR *dir = opendir(d->dirs[i]);
        if (dir == NULL)
            continue; /* a directory that does not exist holds nothing */
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 ||
                len >= sizeof(out[0].name))
                continue;
            struct descriptor *slot = NULL;
            for (size_t k = 0; k < n && slot == NULL; k++)
                if (strcmp(out[k].name, e->d_name) == 0)
                    slot = &out[k];
            if (slot == NULL) {
                if (n == max)
                    continue;
                slot = &out[n++];
            }
            snprintf(slot->name, sizeof(slot->name), "%s", e->d_name);
            snprintf(slot->path, sizeof(slot->path), "%s/%s", d->dirs[i], e->d_name);
            slot->hidden = false;
        }
    }
    qsort(out, n, sizeof(*out), by_name);
    return n;
}

/* Read a descriptor: only from a file root (or vmrun's own user) owns and
 * nobody else may write; NULL with why filled otherwise. */
static cJSON *read_descriptor(struct descriptor *desc, char *why, size_t len)
{
    cleanup_close int fd = open(desc->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(why, len, "cannot be read: %s", strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, len, "not a regular file");
        return NULL;
    }
    if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(why, len,
                 "ignored: owned by uid %u, mode %04o (only root's files, writable by "
                 "their owner alone, are read)",
                 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    if (st.st_size == 0) {
        desc->hidden = true;
        snprintf(why, len, "empty: hides any descriptor of that name");
        return NULL;
    }
    if (st.st_size > MAX_DESCRIPTOR_BYTES) {
        snprintf(why, len, "larger than %d bytes: not a descriptor", MAX_DESCRIPTOR_BYTES);
        return NULL;
    }
    char buf[MAX_DESCRIPTOR_BYTES + 1];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(buf) - 1 &&
           ((r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            got += (size_t)r;
    buf[got] = '\0';
    cJSON *root = cJSON_ParseWithLength(buf, got);
    if (root == NULL || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(why, len, "not valid JSON");
        return NULL;
    }
    return root;
}

static bool array_has(const cJSON *arr, const char *word)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsString(v) && strcmp(v->valuestring, word) == 0)
            return true;
    }
    return false;
}

static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A flash file of the mapping: an absolute path and a format vmrun can
 * give QEMU. */
static bool flash_file(const cJSON *mapping, const char *key, char *path, size_t plen, char *format,
                       size_t flen, char *why, size_t wlen)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(mapping, key);
    const char *name = str_member(f, "filename");
    const char *fmt = str_member(f, "format");
    if (name == NULL || name[0] != '/') {
        snprintf(why, wlen, "its %s has no absolute filename", key);
        return false;
    }
    if (fmt == NULL)
        fmt = "raw";
    if (strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0) {
        snprintf(why, wlen, "its %s is in format \"%s\" (vmrun maps raw and qcow2)", key, fmt);
        return false;
    }
    if (strlen(name) >= plen || strchr(name, '\n') != NULL) {
        snprintf(why, wlen, "its %s filename is not usable", key);
        return false;
    }
    struct stat st;
    if (stat(name, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, wlen, "its %s %s is missing", key, name);
        return false;
    }
    snprintf(path, plen, "%s", name);
    snprintf(format, flen, "%s", fmt);
    return true;
}

/* Does a machine glob of a descriptor cover the profile's machine? The
 * alias "q35" stands for the newest pc-q35 type, unknown without asking
 * QEMU: only a glob covering every pc-q35-X.Y covers it. */
static bool machine_matches(const char *glob, const char *machine)
{
    if (strcmp(machine, "q35") == 0)
        return fnmatch(glob, "q35", 0) == 0 || fnmatch(glob, "pc-q35-*", 0) == 0;
    return fnmatch(glob, machine, 0) == 0;
}

static void read_offer(const cJSON *root, const char *machine, struct offer *o)
{
    memset(o, 0, sizeof(*o));
    const char *desc = str_member(root, "description");
    snprintf(o->description, sizeof(o->description), "%s", desc != NULL ? desc : "");
    o->uefi = array_has(cJSON_GetObjectItemCaseSensitive(root, "interface-types"), "uefi");

    const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
    if (array_has(features, "secure-boot"))
        o->features |= F_SECURE_BOOT;
    if (array_has(features, "enrolled-keys"))
        o->features |= F_ENROLLED_KEYS;
    if (array_has(features, "requires-smm"))
        o->features |= F_REQUIRES_SMM;
    if (array_has(features, "amd-sev-es") || array_has(features, "amd-sev-snp") ||
        array_has(features, "intel-tdx"))
        o->features |= F_CONFIDENTIAL;

    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(root, "targets");
    const cJSON *t;
    cJSON_ArrayForEach(t, targets)
    {
        const char *arch = str_member(t, "architecture");
        if (arch == NULL || strcmp(arch, "x86_64") != 0)
            continue;
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(t, "machines"))
        {
            if (cJSON_IsString(m) && machine_matches(m->valuestring, machine))
                o->target_ok = true;
        }
    }

    const cJSON *mapping = cJSON_GetObjectItemCaseSensitive(root, "mapping");
    const char *device = str_member(mapping, "device");
    const char *mode = str_member(mapping, "mode");
    if (device == NULL || strcmp(device, "flash") != 0) {
        snprintf(o->why_not, sizeof(o->why_not), "mapped as \"%s\", not into flash",
                 device != NULL ? device : "?");
        return;
    }
    if (mode != NULL && strcmp(mode, "split") != 0) {
        snprintf(o->why_not, sizeof(o->why_not),
                 "flash mode \"%s\" (vmrun maps code and variables apart, \"split\")", mode);
        return;
    }
    if (!flash_file(mapping, "executable", o->code, sizeof(o->code), o->code_format,
                    sizeof(o->code_format), o->why_not, sizeof(o->why_not)) ||
        !flash_file(mapping, "nvram-template", o->vars, sizeof(o->vars), o->vars_format,
                    sizeof(o->vars_format), o->why_not, sizeof(o->why_not)))
        return;
    o->usable = true;
}

/* Why an offer does not fit the profile; NULL when it does. */
static const char *mismatch(const struct offer *o, const struct vm_profile *p, const char *machine,
                            char *buf, size_t len)
{
    if (!o->uefi)
        return "not UEFI";
    if (!o->usable)
        return o->why_not;
    if (!o->target_ok) {
        snprintf(buf, len, "no x86_64 target for machine \"%s\"", machine);
        return buf;
    }
    if (o->features & F_CONFIDENTIAL)
        return "a build for confidential guests (SEV-ES, SEV-SNP or TDX)";
    bool sb = o->features & F_SECURE_BOOT, keys = o->features & F_ENROLLED_KEYS;
    if (p->firmware.secure_boot && !sb)
        return "no secure-boot";
    if (!p->firmware.secure_boot && sb)
        return "a secure-boot build (firmware.secure_boot is false)";
    if (p->firmware.secure_boot && !(o->features & F_REQUIRES_SMM))
        return "secure-boot without requires-smm: guest code could rewrite its variables";
    if (p->firmware.enrolled_keys && !keys)
        return "no enrolled-keys";
    if (!p->firmware.enrolled_keys && keys)
        return "enrolled-keys (firmware.enrolled_keys is false)";
    return NULL;
}

void firmware_describe_request(const struct vm_profile *p, char *buf, size_t len)
{
    if (p->firmware.type == VM_FIRMWARE_BIOS)
        snprintf(buf, len, "BIOS");
    else if (p->firmware.secure_boot && p->firmware.enrolled_keys)
        snprintf(buf, len, "UEFI with Secure Boot and enrolled keys");
    else if (p->firmware.secure_boot)
        snprintf(buf, len, "UEFI with Secure Boot, keys not enrolled (setup mode)");
    else
        snprintf(buf, len, "UEFI without Secure Boot");
}

static void searched(const struct firmware_dirs *d, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if (d->dirs[i][0] != '\0')
            text_append(buf, len, "%s%s", buf[0] ? ", " : "", d->dirs[i]);
}

/* Open a file the profile names, to look at it: root only through a path
 * root controls (sys/safepath.h), never where a user could have placed
 * something else; an ordinary user with their own rights. -EPERM when root
 * must not look (then what the file would have told is not known). */
int firmware_open_profile_file(const char *path, struct stat *st)
{
    if (geteuid() != 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        if (fstat(fd, st) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        return fd;
    }
    struct safe_path sp = {.fd = -1};
    struct vmrun_error err = {0};
    int r = safe_resolve(path, &sp, &err);
    if (r < 0 || !sp.root_controlled) {
        safe_path_close(&sp);
        return r < 0 ? r : -EPERM;
    }
    int fd = safe_reopen(&sp, O_RDONLY | O_NONBLOCK);
    *st = sp.st;
    safe_path_close(&sp);
    return fd;
}

/* firmware.code given: the build is the profile's; the descriptors only say
 * what it needs. */
static int explicit_choice(const struct vm_profile *p, struct descriptor *list, size_t n,
                           struct firmware_choice *c, struct vmrun_error *err)
{
    snprintf(c->code, sizeof(c->code), "%s", p->firmware.code);
    snprintf(c->code_format, sizeof(c->code_format), "raw");
    if (p->firmware.vars_template != NULL) {
        snprintf(c->vars_template, sizeof(c->vars_template), "%s", p->firmware.vars_template);
        snprintf(c->vars_format, sizeof(c->vars_format), "raw");
    }
    struct stat code_st;
    cleanup_close int code_fd = firmware_open_profile_file(p->firmware.code, &code_st);
    bool have_code = code_fd >= 0;
    const struct descriptor *found = NULL;
    struct offer o;
    for (size_t i = 0; i < n && found == NULL && have_code; i++) {
        char why[256];
        cleanup_cjson cJSON *root = read_descriptor(&list[i], why, sizeof(why));
        if (root == NULL)
            continue;
        read_offer(root, "pc-q35-*", &o);
        struct stat st;
        if (o.usable && stat(o.code, &st) == 0 && st.st_dev == code_st.st_dev &&
            st.st_ino == code_st.st_ino)
            found = &list[i];
    }
    if (found != NULL) {
        snprintf(c->descriptor, sizeof(c->descriptor), "%s", found->path);
        snprintf(c->description, sizeof(c->description), "%s", o.description);
        if (p->firmware.secure_boot && !(o.features & F_SECURE_BOOT))
            return vmrun_failx(err, EINVAL,
                               "firmware.secure_boot is true, but firmware.code %s is a build "
                               "without Secure Boot (so says %s); name a Secure Boot build, or "
                               "leave firmware.code out and let vmrun choose one",
                               p->firmware.code, found->path);
        c->smm = (o.features & F_REQUIRES_SMM) != 0 || p->firmware.secure_boot;
        c->secure_flash = c->smm && (o.features & F_SECURE_BOOT);
        snprintf(c->why, sizeof(c->why), "firmware.code names the build; %s describes it (%s)%s",
                 found->path, o.description,
                 o.features & F_REQUIRES_SMM ? ": it requires SMM, so SMM is on" : "");
    } else {
        c->smm = c->secure_flash = p->firmware.secure_boot;
        snprintf(c->why, sizeof(c->why),
                 "firmware.code names the build; no descriptor describes it, so SMM and the "
                 "secure flash follow firmware.secure_boot (%s)",
                 p->firmware.secure_boot ? "on" : "off");
    }
    struct stat vst;
    cleanup_close int vars_fd = p->firmware.enrolled_keys && p->firmware.vars_template != NULL
                                    ? firmware_open_profile_file(p->firmware.vars_template, &vst)
                                    : -1;
    if (vars_fd >= 0) {
        struct ovmf_vars_state vs;
        struct vmrun_error verr = {0};
        if (ovmf_vars_read_fd(vars_fd, p->firmware.vars_template, &vs, &verr) == 0 && !vs.pk)
            return vmrun_failx(err, EINVAL,
                               "firmware.enrolled_keys is true, but firmware.vars_template %s "
                               "has no keys enrolled (setup mode); name a template with keys "
                               "(Debian: /usr/share/OVMF/OVMF_VARS_4M.ms.fd), or set "
                               "firmware.enrolled_keys false",
                               p->firmware.vars_template);
    }
    return 0;
}

int firmware_choose(const struct vm_profile *p, const struct firmware_dirs *dirs,
                    struct firmware_choice *c, struct vmrun_error *err)
{
    memset(c, 0, sizeof(*c));
    if (p->firmware.type != VM_FIRMWARE_UEFI && p->firmware.code == NULL) {
        snprintf(c->why, sizeof(c->why), "BIOS: QEMU's own SeaBIOS");
        return 0;
    }
    c->uefi = true;
    struct firmware_dirs defaults;
    if (dirs == NULL) {
        firmware_default_dirs(&defaults);
        dirs = &defaults;
    }
    cleanup_free struct descriptor *list = calloc(MAX_DESCRIPTORS, sizeof(*list));
    if (list == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory reading firmware descriptors");
    size_t n = list_descriptors(dirs, list, MAX_DESCRIPTORS);
    if (p->firmware.code != NULL)
        return explicit_choice(p, list, n, c, err);

    const char *machine = p->qemu.machine != NULL ? p->qemu.machine : "q35";
    for (size_t i = 0; i < n; i++) {
        char why[256] = "", buf[256];
        const char *reason;
        cleanup_cjson cJSON *root = read_descriptor(&list[i], why, sizeof(why));
        struct offer o;
        if (root == NULL) {
            reason = why;
        } else {
            read_offer(root, machine, &o);
            reason = mismatch(&o, p, machine, buf, sizeof(buf));
        }
        if (reason != NULL) {
            text_append(c->considered, sizeof(c->considered), "%s%s: %s", c->considered[0] ? "; " : "",
                   list[i].path, reason);
            continue;
        }
        text_append(c->considered, sizeof(c->considered), "%s%s: chosen", c->considered[0] ? "; " : "",
               list[i].path);
        snprintf(c->descriptor, sizeof(c->descriptor), "%s", list[i].path);
        snprintf(c->description, sizeof(c->description), "%s", o.description);
        snprintf(c->code, sizeof(c->code), "%s", o.code);
        snprintf(c->code_format, sizeof(c->code_format), "%s", o.code_format);
        snprintf(c->vars_template, sizeof(c->vars_template), "%s", o.vars);
        snprintf(c->vars_format, sizeof(c->vars_format), "%s", o.vars_format);
        c->smm = (o.features & F_REQUIRES_SMM) != 0;
        c->secure_flash = c->smm && (o.features & F_SECURE_BOOT);
        char req[96];
        firmware_describe_request(p, req, sizeof(req));
        snprintf(c->why, sizeof(c->why),
                 "%s: the first descriptor, in file-name order, that offers %s for x86_64 %s%s%s%s",
                 list[i].name, req, machine,
                 c->smm ? "; it requires SMM, so SMM is on and only SMM may write its variables"
                        : "",
                 dirs->note[0] ? " (" : "", dirs->note[0] ? dirs->note : "");
        if (dirs->note[0])
            text_append(c->why, sizeof(c->why), ")");
        return 0;
    }
    char req[96], where[3 * PATH_MAX + 8];
    firmware_describe_request(p, req, sizeof(req));
    searched(dirs, where, sizeof(where));
    if (n == 0)
        return vmrun_failx(err, ENOENT,
                           "no firmware descriptor found (searched %s%s%s): install the UEFI "
                           "firmware (Debian: apt install ovmf), or name a build with "
                           "firmware.code and firmware.vars_template",
                           where, dirs->note[0] ? "; " : "", dirs->note);
    return vmrun_failx(err, ENOENT,
                       "no firmware descriptor offers %s for x86_64 %s (searched %s%s%s): %s; "
                       "install a firmware that does (Debian: apt install ovmf), or name a build "
                       "with firmware.code and firmware.vars_template",
                       req, machine, where, dirs->note[0] ? "; " : "", dirs->note, c->considered);
}

int firmware_template_state(const struct vm_profile *p, const struct firmware_choice *c,
                            struct ovmf_vars_state *out, struct vmrun_error *err)
{
    if (c->vars_template[0] == '\0')
        return vmrun_failx(err, ENOENT, "no variables template");
    if (p->firmware.vars_template == NULL)
        return ovmf_vars_read(c->vars_template, out, err); /* a descriptor's: root's */
    struct stat st;
    cleanup_close int fd = firmware_open_profile_file(c->vars_template, &st);
    if (fd == -EPERM)
        return vmrun_failx(err, EPERM, "%s is not on a path only root controls: not read",
                           c->vars_template);
    if (fd < 0)
        return vmrun_fail(err, -fd, "open %s", c->vars_template);
    return ovmf_vars_read_fd(fd, c->vars_template, out, err);
}
