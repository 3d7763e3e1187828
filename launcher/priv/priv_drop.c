/* The privilege drop right before exec, and its verification (priv_drop.h).
 *
 * Runs in the forked child: no allocation of our own, no NSS lookup, no
 * stdio. Every step is checked, and at the end the whole result is checked
 * again from scratch, because a drop that silently half-worked is worse
 * than one that fails. */
#include "priv/priv_drop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* The highest capability the kernel knows: probe the bounding set, which
 * answers EINVAL past the end (no /proc read needed after fork). */
static int last_cap(void)
{
    int c = CAP_LAST_CAP;
    while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
        c++;
    while (c > 0 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
        c--;
    return c;
}

static const char *capng_change_id_reason(int rc)
{
    switch (rc) {
    case -1:
        return "libcap-ng is not initialised";
    case -2:
        return "PR_SET_KEEPCAPS failed";
    case -3:
        return "applying the temporary capabilities failed";
    case -4:
        return "setresgid failed";
    case -5:
        return "changing the supplementary groups failed";
    case -6:
        return "setresuid failed";
    case -7:
        return "clearing PR_SET_KEEPCAPS failed";
    case -8:
        return "clearing the bounding set failed";
    case -9:
        return "dropping CAP_SETPCAP failed";
    default:
        return "libcap-ng failed";
    }
}

int priv_drop(const struct priv_target *t, struct vmrun_error *err)
{
    if (!t->change)
        return 0;

    /* First no_new_privs: from here on no exec can gain privileges (a
     * set-uid helper, file capabilities), whatever happens below. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return vmrun_fail(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");

    /* The supplementary groups first, while we still may: the target's own
     * list, precomputed by priv_resolve_target(). libcap-ng is then told
     * neither to drop nor to re-read them. */
    if (setgroups(t->n_groups, t->groups) < 0)
        return vmrun_fail(err, errno, "setgroups for %s", t->user);

    /* An empty capability state: after the id change every set is empty,
     * the bounding set included, and the ambient set cleared. */
    capng_clear(CAPNG_SELECT_ALL);
    int rc = capng_change_id((int)t->uid, (int)t->gid, CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
    if (rc != 0)
        return vmrun_fail(err, errno, "changing to %s (uid %u, gid %u): %s", t->user,
                          (unsigned)t->uid, (unsigned)t->gid, capng_change_id_reason(rc));

    /* Belt and braces for kernels and library versions where the flag
     * above does not reach the ambient set. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return vmrun_fail(err, errno, "clearing the ambient capabilities");

    return priv_verify(t, err);
}

int priv_verify_no_capabilities(struct vmrun_error *err)
{
    /* Straight from the kernel: effective, permitted and inheritable. */
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return vmrun_fail(err, errno, "capget");
    for (int i = 0; i < 2; i++)
        if (data[i].effective || data[i].permitted || data[i].inheritable)
            return vmrun_failx(err, EPERM, "privilege drop failed: capabilities remain");

    /* And libcap-ng's view of the same, which also reads the bounding set. */
    if (capng_get_caps_process() < 0)
        return vmrun_fail(err, errno, "capng_get_caps_process");
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
        return vmrun_failx(err, EPERM, "privilege drop failed: libcap-ng sees capabilities");

    int last = last_cap();
    for (int c = 0; c <= last; c++) {
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
            return vmrun_failx(err, EPERM,
                               "privilege drop failed: capability %d is in the bounding set", c);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
            return vmrun_failx(err, EPERM,
                               "privilege drop failed: capability %d is in the ambient set", c);
    }
    return 0;
}

static bool same_groups(const struct priv_target *t, const gid_t *have, int n)
{
    /* Both directions: every expected group present, nothing extra. The
     * kernel may keep the list in another order. */
    for (size_t i = 0; i < t->n_groups; i++) {
        bool found = false;
        for (int k = 0; k < n; k++)
            found = found || have[k] == t->groups[i];
        if (!found)
            return false;
    }
    for (int k = 0; k < n; k++) {
        bool found = false;
        for (size_t i = 0; i < t->n_groups; i++)
            found = found || have[k] == t->groups[i];
        if (!found)
            return false;
    }
    return true;
}

int priv_verify(const struct priv_target *t, struct vmrun_error *err)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return vmrun_fail(err, errno, "getresuid");
    if (ru != t->uid || eu != t->uid || su != t->uid)
        return vmrun_failx(err, EPERM, "privilege drop failed: uids are %u/%u/%u, expected %u",
                           (unsigned)ru, (unsigned)eu, (unsigned)su, (unsigned)t->uid);
    if (rg != t->gid || eg != t->gid || sg != t->gid)
        return vmrun_failx(err, EPERM, "privilege drop failed: gids are %u/%u/%u, expected %u",
                           (unsigned)rg, (unsigned)eg, (unsigned)sg, (unsigned)t->gid);
    /* fsuid follows euid; setfsuid(-1) only reports the current one. */
    if ((uid_t)setfsuid((uid_t)-1) != t->uid || (gid_t)setfsgid((gid_t)-1) != t->gid)
        return vmrun_failx(err, EPERM, "privilege drop failed: file system ids differ");

    gid_t have[256];
    int n = getgroups((int)(sizeof(have) / sizeof(have[0])), have);
    if (n < 0)
        return vmrun_fail(err, errno, "getgroups");
    if (!same_groups(t, have, n))
        return vmrun_failx(
            err, EPERM, "privilege drop failed: supplementary groups are not those of %s", t->user);

    int r = priv_verify_no_capabilities(err);
    if (r < 0)
        return r;

    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return vmrun_failx(err, EPERM, "privilege drop failed: no_new_privs is off");

    /* The proof that matters: there is no way back to root. */
    if (setuid(0) == 0 || seteuid(0) == 0)
        return vmrun_failx(err, EPERM, "privilege drop failed: setuid(0) succeeded");
    if (setgid(0) == 0 || setegid(0) == 0)
        return vmrun_failx(err, EPERM, "privilege drop failed: setgid(0) succeeded");
    return 0;
}

int priv_set_memlock(uint64_t bytes, struct vmrun_error *err)
{
    if (bytes == 0)
        return 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return vmrun_fail(err, errno, "getrlimit(RLIMIT_MEMLOCK)");
    rlim_t want = bytes >= (uint64_t)RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)bytes;
    struct rlimit nl = rl;
    if (nl.rlim_cur != RLIM_INFINITY && nl.rlim_cur < want)
        nl.rlim_cur = want;
    if (nl.rlim_max != RLIM_INFINITY && nl.rlim_max < want)
        nl.rlim_max = want;
    if (nl.rlim_cur == rl.rlim_cur && nl.rlim_max == rl.rlim_max)
        return 0;
    if (setrlimit(RLIMIT_MEMLOCK, &nl) < 0) {
        /* Raising the hard limit takes CAP_SYS_RESOURCE, which a container
         * or a hardened service may have taken away. */
        int e = errno;
        char hard[32];
        if (rl.rlim_max == RLIM_INFINITY)
            snprintf(hard, sizeof(hard), "unlimited");
        else
            snprintf(hard, sizeof(hard), "%llu bytes", (unsigned long long)rl.rlim_max);
        return vmrun_fail(err, e,
                          "cannot raise RLIMIT_MEMLOCK to %llu bytes (guest RAM + 1 GiB, which "
                          "VFIO pins; the hard limit is %s; raise it with LimitMEMLOCK= or "
                          "/etc/security/limits.conf)",
                          (unsigned long long)bytes, hard);
    }
    return 0;
}
