/* One way to fork and exec a helper program (spawn.h). */
#include "priv/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/signals.h"

/* Above any number a setup step gives a descriptor (qemu_fds.h places
 * at most 64 from 3). */
#define SPAWN_ERRFD_MIN 128

/* In the child: report why the program could not be started, and end. */
static _Noreturn void child_fail(int fd, const char *msg)
{
    if (write(fd, msg, strlen(msg)) < 0) {
        /* the parent reports a silent failure */
    }
    _exit(127);
}

static _Noreturn void run_child(const struct spawn_spec *spec, int errfd, pid_t parent)
{
    /* Only async-signal-safe calls from here on. The process group first,
     * while signals are still blocked by the caller, so that a Ctrl-C in
     * the instant after fork already misses the child. */
    struct vmrun_error cerr = {0};
    if (setpgid(0, 0) < 0)
        child_fail(errfd, "cannot give the child its own process group");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* What vmrun ignores as root (sys/signals.h) is not QEMU's to
     * inherit. */
    signals_default_all();
    if (spec->setup != NULL && spec->setup(spec->ctx, &cerr) < 0)
        child_fail(errfd, cerr.msg);
    if (spec->target != NULL && spec->target->change && priv_drop(spec->target, &cerr) < 0)
        child_fail(errfd, cerr.msg);
    /* Die with vmrun; set after the credential change, which clears it,
     * and then check that vmrun did not die before it was set. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    execve(spec->exe, spec->argv, spec->envp);
    snprintf(cerr.msg, sizeof(cerr.msg), "cannot run %s: %s%s", spec->exe, strerror(errno),
             spec->exec_hint != NULL ? spec->exec_hint : "");
    child_fail(errfd, cerr.msg);
}

int spawn_child(const struct spawn_spec *spec, pid_t *pid, struct vmrun_error *err)
{
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) < 0)
        return vmrun_fail(err, errno, "pipe");
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        return vmrun_fail(err, e, "fork");
    }
    if (child == 0) {
        close(errpipe[0]);
        /* Out of the way of the numbers a setup step places descriptors
         * at (QEMU's start at 3): one of them landing on the pipe would
         * lose the child's last word. */
        int errfd = fcntl(errpipe[1], F_DUPFD_CLOEXEC, SPAWN_ERRFD_MIN);
        if (errfd < 0)
            _exit(127);
        close(errpipe[1]);
        run_child(spec, errfd, parent);
    }
    close(errpipe[1]);
    /* The pipe closes at exec (close-on-exec) or at the child's end: any
     * byte before that is the reason it failed. */
    char msg[VMRUN_ERROR_MSG_MAX];
    ssize_t n, got = 0;
    while ((n = read(errpipe[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            got += n;
    close(errpipe[0]);
    if (got > 0) {
        msg[got] = '\0';
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return vmrun_failx(err, EPERM, "%s", msg);
    }
    *pid = child;
    return 0;
}
