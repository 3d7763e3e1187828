/* Profile trust (trust.h): an sshd-StrictModes walk over every directory
 * and symlink a path resolves through. */
#include "priv/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 40

enum trust_mode trust_mode(void)
{
    if (geteuid() != 0)
        return TRUST_NONE;
    if (getuid() == 0) {
        const char *s = getenv("SUDO_UID");
        const char *k = getenv("PKEXEC_UID");
        if ((s != NULL && *s != '\0' && strcmp(s, "0") != 0) ||
            (k != NULL && *k != '\0' && strcmp(k, "0") != 0))
            return TRUST_DELEGATED;
        return TRUST_ROOT;
    }
    /* A set-uid vmrun (not how it is installed, but then the caller is
     * certainly someone else). */
    return TRUST_DELEGATED;
}

/* Root-owned and not writable by group or others. */
static int check_node(const char *path, const struct stat *st, struct vmrun_error *err)
{
    if (st->st_uid != 0)
        return vmrun_failx(err, EPERM, "%s is owned by uid %u, not root", path,
                           (unsigned)st->st_uid);
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return vmrun_failx(err, EPERM, "%s is writable by %s (mode %04o)", path,
                           (st->st_mode & S_IWOTH) ? "others" : "its group",
                           (unsigned)(st->st_mode & 07777));
    return 0;
}

/* Append component c (len n) to the canonical directory path cur. */
static int join(char *out, size_t len, const char *cur, const char *c, size_t n)
{
    int w = snprintf(out, len, "%s%s%.*s", cur, strcmp(cur, "/") == 0 ? "" : "/", (int)n, c);
    return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

int trust_check_path(const char *path, struct vmrun_error *err)
{
    /* rest: what is left to resolve; cur: the canonical directory reached
     * so far, every step of which was checked. A symlink is replaced by its
     * target in rest; it can only be trusted because the directory holding
     * it (cur) was. */
    char rest[PATH_MAX * 2], cur[PATH_MAX], cand[PATH_MAX];
    if (path == NULL || *path == '\0')
        return vmrun_failx(err, EINVAL, "empty path");
    if (path[0] == '/') {
        if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
            return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return vmrun_fail(err, errno, "getcwd");
        if (snprintf(rest, sizeof(rest), "%s/%s", cwd, path) >= (int)sizeof(rest))
            return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
    }
    strcpy(cur, "/");
    struct stat st;
    if (lstat("/", &st) < 0)
        return vmrun_fail(err, errno, "stat /");
    int r = check_node("/", &st, err);
    if (r < 0)
        return r;

    int links = 0;
    char *p = rest;
    bool last_is_file = false;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        char *c = p;
        size_t n = strcspn(c, "/");
        p = c + n;
        bool more = false;
        for (char *q = p; *q != '\0'; q++)
            if (*q != '/') {
                more = true;
                break;
            }
        if (n == 1 && c[0] == '.')
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            /* The parent of a checked directory is a prefix of it, and so
             * was checked on the way down. */
            char *slash = strrchr(cur, '/');
            if (slash == cur)
                cur[1] = '\0';
            else if (slash != NULL)
                *slash = '\0';
            continue;
        }
        if ((r = join(cand, sizeof(cand), cur, c, n)) < 0)
            return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
        if (lstat(cand, &st) < 0)
            return vmrun_fail(err, errno, "%s", cand);

        if (S_ISLNK(st.st_mode)) {
            if (++links > MAX_SYMLINKS)
                return vmrun_failx(err, ELOOP, "too many symlinks resolving %s", path);
            char target[PATH_MAX];
            ssize_t tl = readlink(cand, target, sizeof(target) - 1);
            if (tl < 0)
                return vmrun_fail(err, errno, "readlink %s", cand);
            target[tl] = '\0';
            /* rest becomes target + "/" + what was left after the link. */
            char tail[PATH_MAX * 2];
            if (snprintf(tail, sizeof(tail), "%s/%s", target, p) >= (int)sizeof(tail))
                return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
            strcpy(rest, tail);
            p = rest;
            if (target[0] == '/')
                strcpy(cur, "/");
            continue;
        }
        if ((r = check_node(cand, &st, err)) < 0)
            return r;
        if (S_ISDIR(st.st_mode)) {
            strcpy(cur, cand);
            last_is_file = false;
            continue;
        }
        if (more)
            return vmrun_failx(err, ENOTDIR, "%s is not a directory", cand);
        if (!S_ISREG(st.st_mode))
            return vmrun_failx(err, EPERM, "%s is not a regular file", cand);
        last_is_file = true;
    }
    if (!last_is_file)
        return vmrun_failx(err, EISDIR, "%s is not a regular file", path);
    return 0;
}

static int refuse(struct vmrun_error *err, const char *path, const struct vm_profile *p,
                  const char *why, const char *detail)
{
    const char *name = p != NULL && p->name[0] != '\0' ? p->name : "NAME";
    return vmrun_failx(err, EPERM,
                       "refusing profile %s: %s, but %s. Put it where only root can change it: "
                       "%s/%s.json (owned by root, mode 0644, in directories owned by root "
                       "and not writable by others)",
                       path, why, detail, TRUST_PROFILE_DIR, name);
}

int trust_check_profile(const char *path, const struct vm_profile *p, struct vmrun_error *err)
{
    enum trust_mode mode = trust_mode();
    if (mode == TRUST_NONE)
        return 0;

    struct vmrun_error why = {0};
    int r = 0;
    bool needs_trusted_file = mode == TRUST_DELEGATED ||
                              (p != NULL && (p->qemu.binary != NULL || p->qemu.n_extra_args > 0));
    if (needs_trusted_file && (r = trust_check_path(path, &why)) < 0) {
        if (r != -EPERM && r != -ENOTDIR && r != -ELOOP)
            return vmrun_failx(err, -r, "profile %s: %s", path, why.msg);
        if (mode == TRUST_DELEGATED)
            return refuse(err, path, p,
                          "vmrun runs as root on behalf of another user (sudo or pkexec)", why.msg);
        return refuse(err, path, p,
                      "qemu.binary and qemu.extra_args run programs as root and are accepted "
                      "only from a profile root controls",
                      why.msg);
    }

    /* The binary is what runs: a trusted profile naming a binary someone
     * else can replace would lend root all the same. Bare names are looked
     * up in PATH, which sudo and pkexec reset. */
    if (p != NULL && p->qemu.binary != NULL && strchr(p->qemu.binary, '/') != NULL &&
        (r = trust_check_path(p->qemu.binary, &why)) < 0)
        return vmrun_failx(err, r == -ENOENT ? ENOENT : EPERM,
                           "profile %s: qemu.binary: refusing %s: %s (the QEMU binary must be "
                           "owned by root and writable only by root, in root-owned directories)",
                           path, p->qemu.binary, why.msg);
    return 0;
}
