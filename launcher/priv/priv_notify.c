/* Desktop notifications as the invoking user (priv_notify.h). */
#include "priv/priv_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "priv/priv_drop.h"
#include "sys/seams.h"

static const char *find_notify_send(void)
{
    /* A fixed list, not PATH: vmrun may be root with a caller's
     * environment. */
    const char *test = seam_value(SEAM_NOTIFY_SEND);
    if (test != NULL && test[0] == '/')
        return test;
    static const char *const where[] = {"/usr/bin/notify-send", "/usr/local/bin/notify-send",
                                        "/bin/notify-send"};
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
        if (access(where[i], X_OK) == 0)
            return where[i];
    return NULL;
}

void notify_user(const char *summary, const char *body)
{
    if (isatty(STDIN_FILENO) || isatty(STDERR_FILENO))
        return; /* the user sees stderr */
    uid_t uid;
    gid_t gid;
    if (priv_invoking_user(&uid, &gid) < 0) {
        if (getuid() == 0)
            return; /* root's own session: no user to tell, and never as root */
        uid = getuid();
        gid = getgid();
    }
    if (uid == 0)
        return;
    const char *prog = find_notify_send();
    if (prog == NULL)
        return;

    /* Everything the child needs, prepared before fork. */
    struct passwd *pw = getpwuid(uid);
    char user[64] = "", home[512] = "/", bus[128], xdg[64], env_user[96], env_home[600];
    if (pw != NULL) {
        snprintf(user, sizeof(user), "%s", pw->pw_name);
        snprintf(home, sizeof(home), "%s", pw->pw_dir);
    }
    gid_t groups[64];
    int ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
    if (pw == NULL || getgrouplist(user, gid, groups, &ngroups) < 0) {
        groups[0] = gid;
        ngroups = 1;
    }
    snprintf(xdg, sizeof(xdg), "XDG_RUNTIME_DIR=/run/user/%u", (unsigned)uid);
    snprintf(bus, sizeof(bus), "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%u/bus",
             (unsigned)uid);
    snprintf(env_user, sizeof(env_user), "USER=%s", user);
    snprintf(env_home, sizeof(env_home), "HOME=%s", home);
    char *envp[] = {bus, xdg, env_user, env_home, (char *)"PATH=/usr/local/bin:/usr/bin:/bin",
                    NULL};
    char *argv[] = {(char *)prog,
                    (char *)"-a",
                    (char *)"vmrun",
                    (char *)"-i",
                    (char *)"computer",
                    (char *)"--",
                    (char *)(summary ? summary : "vmrun"),
                    (char *)(body ? body : ""),
                    NULL};

    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        /* Become the user for good before running anything of theirs. */
        if (geteuid() == 0) {
            if (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
                setresuid(uid, uid, uid) < 0)
                _exit(127);
            if (setuid(0) == 0 || getuid() != uid || geteuid() != uid)
                _exit(127);
        }
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        execve(prog, argv, envp);
        _exit(127);
    }
    int status;
    for (int waited_ms = 0; waited_ms < 5000; waited_ms += 20) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}
