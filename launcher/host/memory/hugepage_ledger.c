/* The hugepage ledger (hugepage_ledger.h).
 *
 * File format, one claim a line after a header line:
 *   claim ID NODE PAGE_KB pending|held BEFORE TARGET ADDED VM
 * A line that does not parse is kept out of the claims and reported: a
 * damaged ledger must not make vmrun shrink a pool on a guess. */
#include "host/memory/hugepage_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/memory/hugepages.h"
#include "sys/dirs.h"
#include "sys/hostpath.h"
#include "sys/lockfile.h"

#define HEADER "# vmrun hugepage ledger v1: claim ID NODE PAGE_KB STATE BEFORE TARGET ADDED VM\n"

static int ledger_paths(char *ledger, size_t llen, char *lock, size_t klen)
{
    if (host_path(ledger, llen, HOST_RUN, "/.hugepages.ledger") < 0 ||
        host_path(lock, klen, HOST_RUN, "/.hugepages.lock") < 0)
        return -ENAMETOOLONG;
    return 0;
}

static void claims_free(struct hp_ledger *l)
{
    free(l->claims);
    l->claims = NULL;
    l->n = l->cap = 0;
}

int hp_ledger_add(struct hp_ledger *l, const struct hp_claim *c, struct vmrun_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct hp_claim *m = realloc(l->claims, cap * sizeof(*m));
        if (m == NULL)
            return vmrun_fail(err, ENOMEM, "hugepage ledger");
        l->claims = m;
        l->cap = cap;
    }
    l->claims[l->n++] = *c;
    return 0;
}

void hp_ledger_remove(struct hp_ledger *l, struct hp_claim *c)
{
    size_t i = (size_t)(c - l->claims);
    if (i >= l->n)
        return;
    memmove(&l->claims[i], &l->claims[i + 1], (l->n - i - 1) * sizeof(*c));
    l->n--;
}

struct hp_claim *hp_ledger_find(struct hp_ledger *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->claims[i].id, id) == 0)
            return &l->claims[i];
    return NULL;
}

unsigned long hp_ledger_held(const struct hp_ledger *l, int node, unsigned page_kb)
{
    unsigned long sum = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->claims[i].node == node && l->claims[i].page_kb == page_kb)
            sum += l->claims[i].pending ? l->claims[i].target - l->claims[i].before
                                        : l->claims[i].added;
    return sum;
}

int hp_ledger_new_id(char id[HP_CLAIM_ID_LEN + 1], struct vmrun_error *err)
{
    unsigned char raw[HP_CLAIM_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "getrandom");
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static int load(struct hp_ledger *l, struct vmrun_error *err)
{
    claims_free(l);
    cleanup_fclose FILE *f = fopen(l->path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        return vmrun_fail(err, errno, "open the hugepage ledger %s", l->path);
    }
    char line[512];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        struct hp_claim c = {0};
        char state[16];
        int n = sscanf(line, "claim %32s %d %u %15s %lu %lu %lu %64s", c.id, &c.node, &c.page_kb,
                       state, &c.before, &c.target, &c.added, c.vm);
        if (n != 8 || strlen(c.id) != HP_CLAIM_ID_LEN || c.node < 0 || c.target < c.before ||
            (strcmp(state, "pending") != 0 && strcmp(state, "held") != 0))
            return vmrun_failx(err, EBADMSG,
                               "the hugepage ledger %s is damaged at line %u; vmrun will not "
                               "resize a pool on a guess: check the pools (vmrun check) and remove "
                               "the line",
                               l->path, lineno);
        c.pending = strcmp(state, "pending") == 0;
        int r = hp_ledger_add(l, &c, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int hp_ledger_save(struct hp_ledger *l, struct vmrun_error *err)
{
    char tmp[sizeof(l->path) + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", l->path);
    cleanup_close int fd =
        open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "write the hugepage ledger %s", tmp);
    cleanup_fclose FILE *f = fdopen(fd, "w");
    if (f == NULL)
        return vmrun_fail(err, errno, "write the hugepage ledger %s", tmp);
    fd = -1; /* the FILE owns it now */
    fputs(HEADER, f);
    for (size_t i = 0; i < l->n; i++) {
        const struct hp_claim *c = &l->claims[i];
        fprintf(f, "claim %s %d %u %s %lu %lu %lu %s\n", c->id, c->node, c->page_kb,
                c->pending ? "pending" : "held", c->before, c->target, c->added,
                c->vm[0] ? c->vm : "-");
    }
    if (fflush(f) != 0 || fsync(fileno(f)) < 0)
        return vmrun_fail(err, errno, "write the hugepage ledger %s", tmp);
    if (rename(tmp, l->path) < 0)
        return vmrun_fail(err, errno, "rename %s to %s", tmp, l->path);
    return 0;
}

/* A pending claim whose writer died: count what it added, from the pool as
 * it is now (see the header). */
static int settle(struct hp_ledger *l, bool *changed, struct vmrun_error *err)
{
    *changed = false;
    for (size_t i = 0; i < l->n; i++) {
        struct hp_claim *c = &l->claims[i];
        if (!c->pending)
            continue;
        unsigned long now;
        int r = hugepages_persistent(c->node, c->page_kb, &now, err);
        if (r == -ENOENT)
            now = c->before; /* the pool is gone: nothing of the claim's is left */
        else if (r < 0)
            return r;
        unsigned long added = now > c->before ? now - c->before : 0;
        if (added > c->target - c->before)
            added = c->target - c->before;
        c->added = added;
        c->pending = false;
        *changed = true;
    }
    return 0;
}

int hp_ledger_open(struct hp_ledger *l, void (*waiting)(void *opaque), void *opaque,
                   struct vmrun_error *err)
{
    memset(l, 0, sizeof(*l));
    l->lock_fd = -1;
    char lock[PATH_MAX];
    if (ledger_paths(l->path, sizeof(l->path), lock, sizeof(lock)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "hugepage ledger path too long");
    int r = dir_make_all(host_root(HOST_RUN), 0755, dir_root_mode(HOST_RUN), err);
    if (r < 0)
        return r;
    int fd = lockfile_take(lock, HP_LEDGER_WAIT_S, waiting, opaque, err);
    if (fd < 0)
        return fd;
    l->lock_fd = fd;
    bool changed;
    if ((r = load(l, err)) < 0 || (r = settle(l, &changed, err)) < 0 ||
        (changed && (r = hp_ledger_save(l, err)) < 0)) {
        hp_ledger_close(l);
        return r;
    }
    return 0;
}

void hp_ledger_close(struct hp_ledger *l)
{
    claims_free(l);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    l->lock_fd = -1;
}

int hp_ledger_peek(struct hp_ledger *l, struct vmrun_error *err)
{
    memset(l, 0, sizeof(*l));
    l->lock_fd = -1;
    char lock[PATH_MAX];
    if (ledger_paths(l->path, sizeof(l->path), lock, sizeof(lock)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "hugepage ledger path too long");
    return load(l, err);
}
