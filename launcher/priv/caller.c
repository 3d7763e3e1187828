/* Believing the environment about the caller (caller.h). */
#include "priv/caller.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"

extern char **environ;

/* Variables through which the C library loads code or data from a path:
 * the dynamic loader's (any LD_*) and those glibc ignores in set-uid
 * programs for that reason. */
static bool loads_code(const char *entry)
{
    static const char *const names[] = {"GCONV_PATH=", "GETCONF_DIR=", "HOSTALIASES=",
                                        "LOCPATH=",    "MALLOC_TRACE=", "NIS_PATH=",
                                        "NLSPATH=",    "RESOLV_HOST_CONF="};
    if (strncmp(entry, "LD_", 3) == 0)
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strncmp(entry, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

/* The value of name in envp (the first), and how often it is there. */
static const char *env_in(char *const *envp, const char *name, int *count)
{
    size_t n = strlen(name);
    const char *first = NULL;
    *count = 0;
    for (char *const *e = envp; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            if (first == NULL)
                first = *e + n + 1;
            (*count)++;
        }
    return first;
}

/* A uid written as sudo writes it: decimal digits only. */
static bool parse_uid(const char *v, uid_t *out)
{
    if (v == NULL || *v == '\0' || strspn(v, "0123456789") != strlen(v) || strlen(v) > 10)
        return false;
    unsigned long u = strtoul(v, NULL, 10);
    if (u >= 0xffffffffUL)
        return false;
    *out = (uid_t)u;
    return true;
}

#define SETENV_HINT                                                                                \
    "; a sudoers rule with SETENV (or sudo -E, or env_keep of these variables) lets the caller "  \
    "choose them, and with LD_PRELOAD run their own code as root: remove SETENV from the rule"

int priv_judge_caller(char *const *envp, const struct caller_facts *f, struct vmrun_error *err)
{
    static const char *const said[] = {"SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND",
                                       "PKEXEC_UID"};
    for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
        int n;
        env_in(envp, said[i], &n);
        if (n > 1)
            return vmrun_failx(err, EPERM,
                               "refusing to run as root: %s is set %d times in vmrun's "
                               "environment, so the caller chose it" SETENV_HINT,
                               said[i], n);
    }
    int n;
    const char *sudo_uid = env_in(envp, "SUDO_UID", &n);
    const char *pkexec_uid = env_in(envp, "PKEXEC_UID", &n);
    const char *claim = sudo_uid != NULL ? sudo_uid : pkexec_uid;
    const char *claim_name = sudo_uid != NULL ? "SUDO_UID" : "PKEXEC_UID";
    uid_t claimed = 0;
    bool claim_ok = parse_uid(claim, &claimed);

    if (f->parent_ruid != 0) {
        /* Started by an ordinary user's process: sudo (which keeps the
         * caller's real uid) or the caller's own, which sudo or pkexec
         * replaced with vmrun. That user is the caller. */
        if (!claim_ok || claimed != f->parent_ruid)
            return vmrun_failx(err, EPERM,
                               "refusing to run as root: vmrun was started by uid %u (process "
                               "%ld), but %s says %s%s%s",
                               (unsigned)f->parent_ruid, (long)f->parent, claim_name,
                               claim == NULL ? "nothing" : "'",
                               claim == NULL ? "" : claim,
                               claim == NULL ? SETENV_HINT : "'" SETENV_HINT);
        for (char *const *e = envp; e != NULL && *e != NULL; e++)
            if (loads_code(*e)) {
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
                return vmrun_failx(err, EPERM,
                                   "refusing to run as root: uid %u gave vmrun %s, which makes "
                                   "the C library load code or data of their choosing" SETENV_HINT,
                                   (unsigned)f->parent_ruid, name);
            }
    }
    const char *sudo_user = env_in(envp, "SUDO_USER", &n);
    if (sudo_uid != NULL && claim_ok && sudo_user != NULL && *sudo_user != '\0') {
        struct passwd *pw = getpwnam(sudo_user);
        if (pw != NULL && pw->pw_uid != claimed)
            return vmrun_failx(err, EPERM,
                               "refusing to run as root: SUDO_USER is %s (uid %u) but SUDO_UID "
                               "is %u" SETENV_HINT,
                               sudo_user, (unsigned)pw->pw_uid, (unsigned)claimed);
    }
    /* Said to be root, by a process that init adopted, yet logged in as
     * someone else: the caller's sudo died before vmrun could look at it
     * (then init is vmrun's parent), or the environment lies. run0, whose
     * commands init starts, says who the caller is. */
    bool says_root = claim != NULL && (*claim == '\0' || (claim_ok && claimed == 0));
    if (says_root && f->parent == 1 && f->has_loginuid && f->loginuid != 0)
        return vmrun_failx(err, EPERM,
                           "refusing to run as root: %s says the caller is root, but vmrun's "
                           "parent is init and this login session is uid %u's" SETENV_HINT,
                           claim_name, (unsigned)f->loginuid);
    return 0;
}

/* The real uid of process pid, from /proc/PID/status ("Uid: real ..."). */
static int real_uid_of(pid_t pid, uid_t *out)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long ruid;
        if (sscanf(line, "Uid: %lu", &ruid) == 1) {
            *out = (uid_t)ruid;
            return 0;
        }
    }
    return -EIO;
}

int priv_check_caller(struct vmrun_error *err)
{
    if (geteuid() != 0 || getuid() != 0)
        return 0; /* nothing of root's to lend, or a set-uid vmrun: getuid() is the caller */
    struct caller_facts f = {.parent = getppid()};
    int r = real_uid_of(f.parent, &f.parent_ruid);
    /* The parent must still be the one read: if it died meanwhile, vmrun
     * now has another (init), whose uid says nothing about the caller. */
    if (r < 0 || getppid() != f.parent)
        return vmrun_failx(err, EPERM,
                           "refusing to run as root: the process that started vmrun (%ld) is "
                           "gone, so vmrun cannot tell who called it",
                           (long)f.parent);
    cleanup_fclose FILE *lf = fopen("/proc/self/loginuid", "re");
    unsigned long login;
    if (lf != NULL && fscanf(lf, "%lu", &login) == 1 && login != 4294967295UL) {
        f.has_loginuid = true;
        f.loginuid = (uid_t)login;
    }
    return priv_judge_caller(environ, &f, err);
}
