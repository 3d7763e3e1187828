/* The pieces of the QEMU command line that are not about any one device:
 * the argv list, QEMU's option escaping, shell-quoted printing, and the
 * default host facts that `vmrun print-cmd` shows and the supervisor starts
 * from. The builder itself is in cmdline_build.c. */
#include "qemu/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
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

static const char *fact_path(char *buf, size_t len, const char *dir, const char *file)
{
    int n = snprintf(buf, len, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= len ? NULL : buf;
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
    };
    if (p->memory.hugepage_kb != 0) {
        snprintf(st->memory_file, sizeof(st->memory_file), "/dev/hugepages/vmrun-%s", p->name);
        h->memory_file = st->memory_file;
    }
    if (p->firmware.vars_template != NULL)
        h->ovmf_vars = fact_path(st->ovmf_vars, sizeof(st->ovmf_vars), state, "OVMF_VARS.fd");
    if (p->looking_glass.present && p->looking_glass.device != NULL &&
        strcmp(p->looking_glass.device, "shm") == 0) {
        snprintf(st->looking_glass_shm, sizeof(st->looking_glass_shm), "/dev/shm/looking-glass-%s",
                 p->name);
        h->looking_glass_shm = st->looking_glass_shm;
    }
}
