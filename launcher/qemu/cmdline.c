/* The pieces of the QEMU command line that are not about any one device:
 * the argv list, QEMU's option escaping, shell-quoted printing, and the
 * default host facts that `vmrun print-cmd` shows and the supervisor starts
 * from. The builder itself is in cmdline_build.c. */
#include "qemu/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "priv/user_dir.h"
#include "qemu/qemu_fds.h"

static int argv_reserve(struct argv_list *a)
{
    /* Keep room for the new element and the terminating NULL. */
    if (a->n + 2 <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap * 2 : 64;
    char **v = realloc(a->v, cap * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    a->v = v;
    a->cap = cap;
    return 0;
}

int argv_push(struct argv_list *a, const char *s)
{
    if (argv_reserve(a) < 0)
        return -ENOMEM;
    char *copy = strdup(s);
    if (copy == NULL)
        return -ENOMEM;
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
    return 0;
}

int argv_pushf(struct argv_list *a, const char *fmt, ...)
{
    if (argv_reserve(a) < 0)
        return -ENOMEM;
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
    return 0;
}

void argv_list_free(struct argv_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

int qemu_escape_value(char *buf, size_t len, const char *s)
{
    size_t at = strnlen(buf, len);
    if (at == len)
        return -EINVAL; /* buf was not a string to append to */
    for (; *s != '\0'; s++) {
        size_t need = *s == ',' ? 2 : 1;
        if (at + need >= len)
            return -ENOSPC;
        buf[at++] = *s;
        if (*s == ',')
            buf[at++] = ',';
    }
    buf[at] = '\0';
    return 0;
}

/* Options that stand alone; every other option takes the next element as
 * its value. Only used to lay out the printed command. */
static bool option_is_flag(const char *s)
{
    static const char *const flags[] = {
        "-S",         "-nodefaults",  "-no-user-config", "-no-hpet",   "-enable-kvm",
        "-no-reboot", "-no-shutdown", "-snapshot",       "-nographic", "-full-screen",
    };
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        if (strcmp(s, flags[i]) == 0)
            return true;
    return false;
}

/* Characters a POSIX shell passes through literally in any position of a
 * word (after the first). '=' and the rest are fine inside arguments; the
 * first word is checked apart because "A=B" there would be an assignment. */
static bool shell_safe(const char *s, bool first_word)
{
    if (*s == '\0')
        return false;
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                         "_@%+=:,./-");
    if (s[n] != '\0')
        return false;
    return !(first_word && strchr(s, '=') != NULL);
}

static void print_shell_word(FILE *out, const char *s, bool first_word)
{
    if (shell_safe(s, first_word)) {
        fputs(s, out);
        return;
    }
    /* Single quotes keep everything literal; a single quote itself is
     * closed, escaped and reopened. */
    fputc('\'', out);
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

void qemu_print_argv(FILE *out, const struct argv_list *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (i > 0)
            fputs(" \\\n    ", out);
        print_shell_word(out, a->v[i], i == 0);
        /* An option and its value share a line. */
        if (i > 0 && a->v[i][0] == '-' && !option_is_flag(a->v[i]) && i + 1 < a->n) {
            fputc(' ', out);
            print_shell_word(out, a->v[++i], false);
        }
    }
    fputc('\n', out);
}

void vm_host_facts_set_firmware(struct vm_host_facts *h, struct vm_host_facts_storage *st,
                                const struct vm_profile *p, const struct firmware_choice *c)
{
    if (!c->uefi) {
        h->firmware_code = NULL;
        h->ovmf_vars = NULL;
        h->smm = h->secure_flash = false;
        vm_host_facts_files(p, h);
        return;
    }
    snprintf(st->firmware_code, sizeof(st->firmware_code), "%s", c->code);
    snprintf(st->firmware_code_format, sizeof(st->firmware_code_format), "%s", c->code_format);
    snprintf(st->firmware_vars_format, sizeof(st->firmware_vars_format), "%s",
             c->vars_format[0] ? c->vars_format : "raw");
    h->firmware_code = st->firmware_code;
    h->firmware_code_format = st->firmware_code_format;
    h->firmware_vars_format = st->firmware_vars_format;
    h->smm = c->smm;
    h->secure_flash = c->secure_flash;
    if (c->vars_template[0] == '\0')
        h->ovmf_vars = NULL;
    /* The files QEMU is handed follow the firmware. */
    vm_host_facts_files(p, h);
}

static const char *fact_path(char *buf, size_t len, const char *dir, const char *file)
{
    int n = snprintf(buf, len, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

int vm_host_facts_fd(const struct vm_host_facts *h, enum qemu_file_role role, size_t index)
{
    for (size_t i = 0; i < h->n_files; i++)
        if (h->files[i].role == role && h->files[i].index == index)
            return h->files[i].fd;
    return -1;
}

bool disk_cache_direct(const char *cache)
{
    return cache != NULL && (strcmp(cache, "none") == 0 || strcmp(cache, "directsync") == 0);
}

static int add_file(const struct vm_profile *p, struct vm_host_facts *h, enum qemu_file_role role,
                    size_t index, const char *path, int access, bool from_profile)
{
    (void)p;
    if (path == NULL)
        return 0;
    int next = h->n_files == 0
                   ? h->qmp_fd + 1
                   : (h->files[h->n_files - 1].ro_fd >= 0 ? h->files[h->n_files - 1].ro_fd
                                                          : h->files[h->n_files - 1].fd) +
                         1;
    /* A read-write file QEMU opens through an fdset also needs its
     * read-only twin (cmdline.h). */
    bool twin = access == O_RDWR && role != QEMU_FILE_KERNEL && role != QEMU_FILE_INITRD &&
                role != QEMU_FILE_ROM;
    if (h->n_files == VM_HOST_FILES_MAX || next + (twin ? 1 : 0) >= QEMU_FDS_FIRST + QEMU_FDS_MAX)
        return -E2BIG;
    struct qemu_file *f = &h->files[h->n_files];
    *f = (struct qemu_file){.role = role,
                            .index = index,
                            .path = path,
                            .access = access,
                            .from_profile = from_profile,
                            .fd = next,
                            .ro_fd = twin ? next + 1 : -1};
    static const char *const names[] = {
        [QEMU_FILE_FIRMWARE_CODE] = "firmware.code",
        [QEMU_FILE_UEFI_VARS] = "the UEFI variable store",
        [QEMU_FILE_KERNEL] = "boot.kernel",
        [QEMU_FILE_INITRD] = "boot.initrd",
        [QEMU_FILE_DISK] = "disks[%zu]",
        [QEMU_FILE_ROM] = "pci[%zu].rom",
        [QEMU_FILE_SERIAL_LOG] = "the serial log",
    };
    char name[64];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(name, sizeof(name), names[role], index);
#pragma GCC diagnostic pop
    snprintf(f->what, sizeof(f->what), "%s: %s (%s)", name, path,
             access == O_RDONLY   ? "read-only"
             : access == O_WRONLY ? "write-only"
                                  : "read-write");
    h->n_files++;
    return 0;
}

/* The highest fd QEMU inherits among QMP and the files. */
static int last_fd(const struct vm_host_facts *h)
{
    if (h->n_files == 0)
        return h->qmp_fd;
    const struct qemu_file *f = &h->files[h->n_files - 1];
    return f->ro_fd >= 0 ? f->ro_fd : f->fd;
}

int vm_host_facts_files(const struct vm_profile *p, struct vm_host_facts *h)
{
    h->n_files = 0;
    int r = 0;
    if (h->firmware_code != NULL) {
        /* The profile's own file, or a descriptor's (root's). */
        r = add_file(p, h, QEMU_FILE_FIRMWARE_CODE, 0, h->firmware_code, O_RDONLY,
                     p->firmware.code != NULL);
        if (r == 0 && h->ovmf_vars != NULL)
            r = add_file(p, h, QEMU_FILE_UEFI_VARS, 0, h->ovmf_vars, O_RDWR, false);
    }
    if (r == 0)
        r = add_file(p, h, QEMU_FILE_KERNEL, 0, p->boot.kernel, O_RDONLY, true);
    if (r == 0 && p->boot.kernel != NULL)
        r = add_file(p, h, QEMU_FILE_INITRD, 0, p->boot.initrd, O_RDONLY, true);
    for (size_t i = 0; r == 0 && i < p->n_disks; i++) {
        const struct vm_disk *d = &p->disks[i];
        bool ro = d->readonly || d->media == VM_MEDIA_CDROM;
        r = add_file(p, h, QEMU_FILE_DISK, i, d->path, ro ? O_RDONLY : O_RDWR, true);
        if (r == 0)
            h->files[h->n_files - 1].direct = disk_cache_direct(d->cache);
    }
    for (size_t i = 0; r == 0 && i < p->n_pci; i++)
        r = add_file(p, h, QEMU_FILE_ROM, i, p->pci[i].rom, O_RDONLY, true);
    if (r == 0 && p->serial == VM_SERIAL_LOG)
        r = add_file(p, h, QEMU_FILE_SERIAL_LOG, 0, h->serial_log, O_WRONLY, false);
    /* swtpm's control channel comes after the files. */
    h->tpm_fd = -1;
    if (r == 0 && p->tpm.present) {
        h->tpm_fd = last_fd(h) + 1;
        if (h->tpm_fd >= QEMU_FDS_FIRST + QEMU_FDS_MAX)
            r = -E2BIG;
    }
    /* Then the taps of the networks, in profile order. */
    int next = h->tpm_fd >= 0 ? h->tpm_fd + 1 : last_fd(h) + 1;
    for (size_t i = 0; i < VM_NETS_MAX; i++)
        h->net_fd[i] = 0;
    for (size_t i = 0; r == 0 && i < p->n_nets && i < VM_NETS_MAX; i++) {
        if (p->nets[i].type == VM_NET_USER)
            continue;
        h->net_fd[i] = next++;
        if (h->net_fd[i] >= QEMU_FDS_FIRST + QEMU_FDS_MAX)
            r = -E2BIG;
    }
    /* Then the virtual input devices, in profile order. */
    for (size_t i = 0; i < VM_INPUTS_MAX; i++)
        h->input_fd[i] = 0;
    for (size_t i = 0; r == 0 && i < p->n_inputs && i < VM_INPUTS_MAX; i++) {
        h->input_fd[i] = next++;
        if (h->input_fd[i] >= QEMU_FDS_FIRST + QEMU_FDS_MAX)
            r = -E2BIG;
    }
    h->files_err = r;
    return r;
}

void vm_host_facts_default(struct vm_host_facts *h, struct vm_host_facts_storage *st,
                           const struct vm_profile *p, const char *runtime_dir,
                           const char *state_dir)
{
    memset(st, 0, sizeof(*st));
    if (runtime_dir == NULL) {
        snprintf(st->runtime_dir, sizeof(st->runtime_dir), "/run/vmrun/%s", p->name);
        runtime_dir = st->runtime_dir;
    } else {
        snprintf(st->runtime_dir, sizeof(st->runtime_dir), "%s", runtime_dir);
    }
    char state[PATH_MAX];
    if (state_dir == NULL)
        snprintf(state, sizeof(state), "/var/lib/vmrun/%s", p->name);
    else
        snprintf(state, sizeof(state), "%s", state_dir);
    *h = (struct vm_host_facts){
        .runtime_dir = st->runtime_dir,
        .qmp_fd = QEMU_FD_QMP,
        .serial_log = fact_path(st->serial_log, sizeof(st->serial_log), state, "serial.log"),
        .sandbox = false,
        .tpm_fd = -1,
    };
    if (p->memory.hugepage_kb != 0) {
        snprintf(st->memory_file, sizeof(st->memory_file), "/dev/hugepages/vmrun-%s", p->name);
        h->memory_file = st->memory_file;
    }
    /* A profile filled in by hand may name code without setting the type. */
    bool uefi = p->firmware.type == VM_FIRMWARE_UEFI || p->firmware.code != NULL;
    if (uefi && (p->firmware.vars_template != NULL || p->firmware.code == NULL))
        h->ovmf_vars = fact_path(st->ovmf_vars, sizeof(st->ovmf_vars), state, "OVMF_VARS.fd");
    if (p->firmware.code != NULL) {
        /* The build the profile names, raw; what it needs from the
         * descriptors comes with vm_host_facts_set_firmware(). */
        snprintf(st->firmware_code, sizeof(st->firmware_code), "%s", p->firmware.code);
        h->firmware_code = st->firmware_code;
        h->firmware_code_format = h->firmware_vars_format = "raw";
        h->smm = h->secure_flash = p->firmware.secure_boot;
    }
    if (user_dir_needed(p)) {
        /* Next to the runtime directory: <run root>/.user/NAME. */
        char root[PATH_MAX];
        snprintf(root, sizeof(root), "%s", st->runtime_dir);
        char *slash = strrchr(root, '/');
        if (slash != NULL && slash != root)
            *slash = '\0';
        if (user_dir_path(st->user_dir, sizeof(st->user_dir), root, p->name) == 0) {
            h->user_dir = st->user_dir;
            if (p->looking_glass.present && p->looking_glass.device != NULL &&
                strcmp(p->looking_glass.device, "shm") == 0)
                h->looking_glass_shm = fact_path(st->looking_glass_shm,
                                                 sizeof(st->looking_glass_shm), st->user_dir,
                                                 VM_USER_DIR_LOOKING_GLASS);
            if (p->display == VM_DISPLAY_VNC || p->display == VM_DISPLAY_SPICE)
                h->console_socket = fact_path(st->console_socket, sizeof(st->console_socket),
                                              st->user_dir,
                                              p->display == VM_DISPLAY_VNC ? VM_USER_DIR_VNC
                                                                           : VM_USER_DIR_SPICE);
        }
    }
    vm_host_facts_files(p, h);
}
