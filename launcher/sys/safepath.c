/* The root-controlled path walk (safepath.h). */
#include "sys/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/cleanup.h"

#define MAX_LINKS 40
#define MAX_DEPTH 256

void safe_path_close(struct safe_path *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
}

bool safe_content_is_roots(const struct stat *st, const char *path, char *why, size_t len)
{
    if (st->st_uid != 0) {
        snprintf(why, len, "%s is owned by uid %u, not root", path, (unsigned)st->st_uid);
        return false;
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(why, len, "%s is writable by %s (mode %04o)", path,
                 (st->st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st->st_mode & 07777));
        return false;
    }
    return true;
}

/* May anyone but root change what the name `name` in directory `dir` (at
 * dirpath, stat dst) refers to, now that it refers to est? NULL when only
 * root can; else why not, in why. */
static const char *entry_guard(const struct stat *dst, const char *dirpath, const struct stat *est,
                               char *why, size_t len)
{
    if (dst->st_uid != 0) {
        snprintf(why, len, "%s is owned by uid %u, not root", dirpath, (unsigned)dst->st_uid);
        return why;
    }
    if ((dst->st_mode & (S_IWGRP | S_IWOTH)) == 0)
        return NULL;
    /* A sticky directory (/tmp, /dev/shm): others may add names, but only
     * the owner of a name (or of the directory) may rename or remove it. */
    if ((dst->st_mode & S_ISVTX) != 0 && est->st_uid == 0)
        return NULL;
    snprintf(why, len, "%s is writable by %s (mode %04o)%s", dirpath,
             (dst->st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(dst->st_mode & 07777),
             (dst->st_mode & S_ISVTX) ? " and what it holds there is not root's" : "");
    return why;
}

static bool on_procfs(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

struct walk {
    int fd[MAX_DEPTH];
    struct stat st[MAX_DEPTH];
    size_t depth;    /* fd[depth] is the current directory */
    char cur[PATH_MAX]; /* its canonical path, for messages */
};

static void walk_pop(struct walk *w)
{
    if (w->depth == 0)
        return;
    close(w->fd[w->depth--]);
    char *slash = strrchr(w->cur, '/');
    if (slash == w->cur)
        w->cur[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

static void walk_free(struct walk *w)
{
    while (w->depth > 0)
        walk_pop(w);
    if (w->fd[0] >= 0)
        close(w->fd[0]);
    w->fd[0] = -1;
}

static int join(char *out, size_t len, const char *dir, const char *c, size_t n)
{
    int r = snprintf(out, len, "%s%s%.*s", dir, strcmp(dir, "/") == 0 ? "" : "/", (int)n, c);
    return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int safe_resolve(const char *path, struct safe_path *sp, struct vmrun_error *err)
{
    sp->fd = -1;
    sp->root_controlled = false;
    sp->why[0] = '\0';
    if (path == NULL || path[0] != '/')
        return vmrun_failx(err, EINVAL, "%s: expected an absolute path", path ? path : "(null)");

    /* rest holds what is left to resolve; a followed link replaces its own
     * name with its target in it. */
    char rest[PATH_MAX * 2];
    if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);

    struct walk w = {.depth = 0};
    w.fd[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w.fd[0] < 0)
        return vmrun_fail(err, errno, "open /");
    int r = 0;
    strcpy(w.cur, "/");
    if (fstat(w.fd[0], &w.st[0]) < 0) {
        r = vmrun_fail(err, errno, "stat /");
        goto out;
    }
    if (!safe_content_is_roots(&w.st[0], "/", sp->why, sizeof(sp->why)))
        goto out; /* not even / is root's: nothing is */

    int links = 0;
    char *p = rest;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        char *c = p;
        size_t n = strcspn(c, "/");
        p = c + n;
        bool more = p[strspn(p, "/")] != '\0';
        if (n == 1 && c[0] == '.')
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            /* The parent of a directory entered is the one it was entered
             * from: already examined. */
            walk_pop(&w);
            continue;
        }
        char cand[PATH_MAX], name[NAME_MAX + 1];
        if (n > NAME_MAX || join(cand, sizeof(cand), w.cur, c, n) < 0) {
            r = vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);
            goto out;
        }
        memcpy(name, c, n);
        name[n] = '\0';
        int dirfd = w.fd[w.depth];
        cleanup_close int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            r = vmrun_fail(err, errno, "%s", cand);
            goto out;
        }
        if (on_procfs(fd)) {
            r = vmrun_failx(err, ELOOP,
                            "%s: %s is on /proc, whose files name whatever the process opening "
                            "them holds (/dev/stdin, /dev/fd/N, /proc/self/...); name the file "
                            "itself",
                            path, cand);
            goto out;
        }
        if (entry_guard(&w.st[w.depth], w.cur, &st, sp->why, sizeof(sp->why)) != NULL)
            goto out; /* someone else decides what this name is: stop here */

        if (S_ISLNK(st.st_mode)) {
            if (++links > MAX_LINKS) {
                r = vmrun_failx(err, ELOOP, "%s: too many symbolic links", path);
                goto out;
            }
            char target[PATH_MAX];
            ssize_t tl = readlinkat(dirfd, name, target, sizeof(target) - 1);
            if (tl < 0) {
                r = vmrun_fail(err, errno, "readlink %s", cand);
                goto out;
            }
            target[tl] = '\0';
            char tail[PATH_MAX * 2];
            if (snprintf(tail, sizeof(tail), "%s/%s", target, p) >= (int)sizeof(tail)) {
                r = vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);
                goto out;
            }
            if (!more && p[0] == '\0')
                tail[tl] = '\0'; /* the last component: no trailing slash */
            strcpy(rest, tail);
            p = rest;
            if (target[0] == '/')
                while (w.depth > 0)
                    walk_pop(&w);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (w.depth + 1 >= MAX_DEPTH) {
                r = vmrun_failx(err, ENAMETOOLONG, "%s: too deep", path);
                goto out;
            }
            w.depth++;
            w.fd[w.depth] = steal_fd(&fd);
            w.st[w.depth] = st;
            strcpy(w.cur, cand);
            continue;
        }
        if (more) {
            r = vmrun_failx(err, ENOTDIR, "%s: %s is not a directory", path, cand);
            goto out;
        }
        sp->fd = steal_fd(&fd);
        sp->st = st;
        sp->root_controlled = true;
        goto out;
    }
    /* The path names a directory. */
    sp->fd = w.fd[w.depth];
    sp->st = w.st[w.depth];
    if (w.depth == 0)
        w.fd[0] = -1;
    else
        w.depth--; /* handed over: not closed below */
    sp->root_controlled = true;
out:
    walk_free(&w);
    return r;
}

int safe_reopen(const struct safe_path *sp, int flags)
{
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", sp->fd);
    int fd = open(self, flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_dev != sp->st.st_dev || st.st_ino != sp->st.st_ino) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}
