/* The governor ledger (governor_ledger.h). */
#include "host/cpu/governor_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/dirs.h"
#include "sys/hostpath.h"
#include "sys/lockfile.h"

#define HEADER "# vmrun governor ledger v1: host PATH GOVERNOR | claim ID PATH GOVERNOR VM\n"

int gov_ledger_add(struct gov_ledger *l, const struct gov_line *line, struct vmrun_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct gov_line *m = realloc(l->lines, cap * sizeof(*m));
        if (m == NULL)
            return vmrun_fail(err, ENOMEM, "governor ledger");
        l->lines = m;
        l->cap = cap;
    }
    l->lines[l->n++] = *line;
    return 0;
}

void gov_ledger_remove(struct gov_ledger *l, struct gov_line *line)
{
    size_t i = (size_t)(line - l->lines);
    if (i >= l->n)
        return;
    memmove(&l->lines[i], &l->lines[i + 1], (l->n - i - 1) * sizeof(*line));
    l->n--;
}

struct gov_line *gov_ledger_host(struct gov_ledger *l, const char *path)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->lines[i].kind == 'h' && strcmp(l->lines[i].path, path) == 0)
            return &l->lines[i];
    return NULL;
}

struct gov_line *gov_ledger_latest(struct gov_ledger *l, const char *path)
{
    for (size_t i = l->n; i-- > 0;)
        if (l->lines[i].kind == 'c' && strcmp(l->lines[i].path, path) == 0)
            return &l->lines[i];
    return NULL;
}

static int load(struct gov_ledger *l, struct vmrun_error *err)
{
    cleanup_fclose FILE *f = fopen(l->path, "re");
    if (f == NULL)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", l->path);
    char text[PATH_MAX + 256];
    unsigned lineno = 0;
    while (fgets(text, sizeof(text), f) != NULL) {
        lineno++;
        if (text[0] == '#' || text[0] == '\n')
            continue;
        struct gov_line g = {0};
        int ok;
        if (strncmp(text, "host ", 5) == 0) {
            g.kind = 'h';
            ok = sscanf(text, "host %4095s %63s", g.path, g.governor) == 2;
        } else {
            g.kind = 'c';
            ok = sscanf(text, "claim %32s %4095s %63s %64s", g.id, g.path, g.governor, g.vm) ==
                     4 &&
                 strlen(g.id) == GOV_CLAIM_ID_LEN;
        }
        if (!ok || g.path[0] != '/' || strchr(g.governor, '/') != NULL)
            return vmrun_failx(err, EBADMSG,
                               "the governor ledger %s is damaged at line %u; vmrun will not set "
                               "governors on a guess: remove the line",
                               l->path, lineno);
        int r = gov_ledger_add(l, &g, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int gov_ledger_open(struct gov_ledger *l, struct vmrun_error *err)
{
    memset(l, 0, sizeof(*l));
    l->lock_fd = -1;
    char lock[PATH_MAX];
    if (host_path(l->path, sizeof(l->path), HOST_RUN, "/.governors.ledger") < 0 ||
        host_path(lock, sizeof(lock), HOST_RUN, "/.governors.lock") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "governor ledger path too long");
    int r = dir_make_all(host_root(HOST_RUN), 0755, dir_root_mode(HOST_RUN), err);
    if (r < 0)
        return r;
    l->lock_fd = lockfile_take(lock, GOV_LEDGER_WAIT_S, NULL, NULL, err);
    if (l->lock_fd < 0)
        return l->lock_fd;
    if ((r = load(l, err)) < 0) {
        gov_ledger_close(l);
        return r;
    }
    return 0;
}

void gov_ledger_close(struct gov_ledger *l)
{
    free(l->lines);
    l->lines = NULL;
    l->n = l->cap = 0;
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    l->lock_fd = -1;
}

int gov_ledger_save(struct gov_ledger *l, struct vmrun_error *err)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", l->path);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "write %s", tmp);
    cleanup_fclose FILE *f = fdopen(fd, "w");
    if (f == NULL)
        return vmrun_fail(err, errno, "write %s", tmp);
    fd = -1;
    fputs(HEADER, f);
    for (size_t i = 0; i < l->n; i++) {
        const struct gov_line *g = &l->lines[i];
        if (g->kind == 'h')
            fprintf(f, "host %s %s\n", g->path, g->governor);
        else
            fprintf(f, "claim %s %s %s %s\n", g->id, g->path, g->governor,
                    g->vm[0] ? g->vm : "-");
    }
    if (fflush(f) != 0 || fsync(fileno(f)) < 0)
        return vmrun_fail(err, errno, "write %s", tmp);
    if (rename(tmp, l->path) < 0)
        return vmrun_fail(err, errno, "rename %s", tmp);
    return 0;
}
