/* The supervisor in a session of its own (session.h). */
#include "supervisor/session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int supervise_in_own_session(int (*fn)(void *arg), void *arg)
{
    /* Blocked before the fork, so that a stop asked for in between waits
     * for the loop below (and, in the child, for the supervisor's own
     * signalfd, which takes the same three). */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigaddset(&stops, SIGCHLD);
    sigprocmask(SIG_BLOCK, &stops, &old);
    pid_t front = getpid();
    pid_t child = fork();
    if (child < 0) {
        perror("vmrun: fork");
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    if (child == 0) {
        setsid();
        /* The parent's death is a request to stop; set, then checked,
         * since it may have died before. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != front)
            raise(SIGTERM);
        _exit(fn(arg));
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&stops, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status;
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r != child)
            continue;
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        /* Died of a signal: end the same way, so that whoever waits for
         * vmrun (sudo, a shell, a unit) sees what happened to it. */
        int died = WTERMSIG(status);
        signal(died, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, died);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(died);
        return 128 + died;
    }
}
