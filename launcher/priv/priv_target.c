/* Who QEMU runs as (priv_drop.h): computed once, early, in the parent, so
 * the forked child needs neither NSS lookups nor allocations. */
#include "priv/priv_drop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/hostpath.h"

void priv_target_free(struct priv_target *t)
{
    free(t->groups);
    t->groups = NULL;
    t->n_groups = 0;
}

/* A decimal id from the environment: -ENOENT when unset or empty, -EINVAL
 * when it is anything but a plain number. */
static int env_id(const char *name, unsigned long *out)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return -ENOENT;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-' || v[0] == '+' || n >= (unsigned long)-1 / 2 ||
        (uid_t)n != n)
        return -EINVAL;
    *out = n;
    return 0;
}

int priv_invoking_user(uid_t *uid, gid_t *gid)
{
    if (getuid() != 0)
        return -ENOENT;
    unsigned long u, g;
    /* sudo sets SUDO_UID itself and resets the rest of the environment, so
     * with a real uid of 0 these name the user who asked. */
    if (env_id("SUDO_UID", &u) == 0 && u != 0) {
        *uid = (uid_t)u;
        if (env_id("SUDO_GID", &g) == 0) {
            *gid = (gid_t)g;
        } else {
            struct passwd *pw = getpwuid(*uid);
            *gid = pw != NULL ? pw->pw_gid : (gid_t)u;
        }
        return 0;
    }
    if (env_id("PKEXEC_UID", &u) == 0 && u != 0) {
        *uid = (uid_t)u;
        struct passwd *pw = getpwuid(*uid);
        *gid = pw != NULL ? pw->pw_gid : (gid_t)u;
        return 0;
    }
    return -ENOENT;
}

static bool has_group(const struct priv_target *t, gid_t g)
{
    if (g == t->gid)
        return true;
    for (size_t i = 0; i < t->n_groups; i++)
        if (t->groups[i] == g)
            return true;
    return false;
}

static int lookup_groups(struct priv_target *t, const char *name)
{
    int n = 32;
    for (int attempt = 0; attempt < 8; attempt++) {
        gid_t *g = realloc(t->groups, (size_t)n * sizeof(*g));
        if (g == NULL)
            return -ENOMEM;
        t->groups = g;
        int want = n;
        if (getgrouplist(name, t->gid, g, &want) >= 0) {
            t->n_groups = (size_t)want;
            return 0;
        }
        n = want > n ? want : n * 2;
    }
    return -E2BIG;
}

/* A KVM guest needs /dev/kvm. Distributions give it to a "kvm" group; a
 * target outside that group gets it added, as membership would. A node
 * only its owner may open is left alone: priv_prepare reports it. */
static int add_kvm_group(struct priv_target *t)
{
    char path[PATH_MAX];
    struct stat st;
    if (host_path(path, sizeof(path), HOST_DEV, "/kvm") < 0 || stat(path, &st) < 0)
        return 0;
    if (st.st_uid == t->uid && (st.st_mode & 0600) == 0600)
        return 0;
    if (has_group(t, st.st_gid) && (st.st_mode & 0060) == 0060)
        return 0;
    if ((st.st_mode & 0006) == 0006)
        return 0;
    if ((st.st_mode & 0060) != 0060 || st.st_gid == 0)
        return 0;
    gid_t *g = realloc(t->groups, (t->n_groups + 1) * sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    t->groups = g;
    t->groups[t->n_groups++] = st.st_gid;
    return 0;
}

int priv_resolve_target(const struct vm_profile *p, struct priv_target *t, struct vmrun_error *err)
{
    memset(t, 0, sizeof(*t));
    t->uid = geteuid();
    t->gid = getegid();
    t->source = PRIV_FROM_SELF;

    const char *name = NULL;
    if (p != NULL && p->run_as != NULL) {
        errno = 0;
        struct passwd *pw = getpwnam(p->run_as);
        if (pw == NULL)
            return vmrun_failx(err, EINVAL,
                               "profile %s: run_as: no user named '%s' on this host (expected a "
                               "user name from /etc/passwd)",
                               p->name, p->run_as);
        t->uid = pw->pw_uid;
        t->gid = pw->pw_gid;
        t->source = PRIV_FROM_RUN_AS;
        snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
    } else {
        uid_t u;
        gid_t g;
        if (getuid() == 0 && getenv("SUDO_UID") != NULL && *getenv("SUDO_UID") != '\0') {
            unsigned long tmp;
            if (env_id("SUDO_UID", &tmp) < 0)
                return vmrun_failx(err, EINVAL, "SUDO_UID is not a number: '%s'",
                                   getenv("SUDO_UID"));
        }
        if (getuid() == 0 && getenv("PKEXEC_UID") != NULL && *getenv("PKEXEC_UID") != '\0') {
            unsigned long tmp;
            if (env_id("PKEXEC_UID", &tmp) < 0)
                return vmrun_failx(err, EINVAL, "PKEXEC_UID is not a number: '%s'",
                                   getenv("PKEXEC_UID"));
        }
        if (priv_invoking_user(&u, &g) == 0) {
            t->uid = u;
            t->gid = g;
            unsigned long tmp;
            t->source =
                env_id("SUDO_UID", &tmp) == 0 && tmp != 0 ? PRIV_FROM_SUDO : PRIV_FROM_PKEXEC;
            struct passwd *pw = getpwuid(u);
            if (pw != NULL)
                snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
        }
    }

    if (t->uid == geteuid()) {
        /* Root run directly (or run_as naming root), or an ordinary user:
         * QEMU keeps vmrun's identity. */
        t->change = false;
        t->source = t->source == PRIV_FROM_RUN_AS ? PRIV_FROM_RUN_AS : PRIV_FROM_SELF;
        if (t->user[0] == '\0') {
            struct passwd *pw = getpwuid(t->uid);
            snprintf(t->user, sizeof(t->user), "%s", pw != NULL ? pw->pw_name : "");
        }
        if (t->user[0] == '\0')
            snprintf(t->user, sizeof(t->user), "uid %u", (unsigned)t->uid);
        return 0;
    }
    if (geteuid() != 0)
        return vmrun_failx(err, EPERM,
                           "QEMU should run as %s (uid %u), but vmrun is not root and cannot "
                           "change user: start vmrun through sudo or pkexec, or drop run_as",
                           t->user[0] ? t->user : "another user", (unsigned)t->uid);
    if (t->uid == 0)
        return vmrun_failx(err, EINVAL, "refusing to drop to uid 0");

    t->change = true;
    if (t->user[0] != '\0') {
        name = t->user;
        int r = lookup_groups(t, name);
        if (r < 0)
            return vmrun_fail(err, -r, "supplementary groups of %s", name);
    } else {
        /* A uid without a passwd entry (a container's user): its primary
         * group only. */
        snprintf(t->user, sizeof(t->user), "uid %u", (unsigned)t->uid);
        t->groups = malloc(sizeof(*t->groups));
        if (t->groups == NULL)
            return vmrun_fail(err, ENOMEM, "groups");
        t->groups[0] = t->gid;
        t->n_groups = 1;
    }
    if (p != NULL && p->qemu.accel == VM_ACCEL_KVM) {
        int r = add_kvm_group(t);
        if (r < 0)
            return vmrun_fail(err, -r, "groups");
    }
    return 0;
}

uint64_t priv_memlock_bytes(const struct vm_profile *p)
{
    if (p == NULL || p->n_pci == 0)
        return 0;
    const uint64_t gib = 1024ull * 1024 * 1024;
    if (p->memory.size > UINT64_MAX - gib)
        return UINT64_MAX;
    return p->memory.size + gib;
}
