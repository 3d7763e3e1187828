/* Running a helper program with a time limit (run_cmd.h). */
#include "sys/run_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/signals.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child, before exec: only async-signal-safe calls. The errno of a
 * failure goes to report (close-on-exec: nothing arrives when exec works). */
static void __attribute__((noreturn)) child(const char *const argv[], const char *const envp[],
                                            int out, int report)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signals_default_all();
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        goto fail;
    execve(argv[0], (char *const *)argv, (char *const *)envp);
fail:;
    int e = errno;
    ssize_t unused = write(report, &e, sizeof(e));
    (void)unused;
    _exit(127);
}

int run_cmd(const char *const argv[], const char *const envp[], int timeout_ms,
            struct cmd_result *res, struct vmrun_error *err)
{
    res->status = -1;
    res->output[0] = '\0';
    int out[2], rep[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return vmrun_fail(err, errno, "%s: pipe", argv[0]);
    if (pipe2(rep, O_CLOEXEC) < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return vmrun_fail(err, e, "%s: pipe", argv[0]);
    }
    cleanup_close int in = out[0];
    cleanup_close int report = rep[0];
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[1]);
        close(rep[1]);
        return vmrun_fail(err, e, "%s: fork", argv[0]);
    }
    if (pid == 0)
        child(argv, envp, out[1], rep[1]);
    close(out[1]);
    close(rep[1]);
    /* Its group, from this side too: no race with the kill below. */
    setpgid(pid, pid);

    long long deadline = now_ms() + timeout_ms;
    size_t got = 0;
    bool eof = false, timed_out = false;
    while (!eof) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            if (r < 0)
                break;
            continue;
        }
        char scratch[512];
        bool room = got + 1 < sizeof(res->output);
        ssize_t n = read(in, room ? res->output + got : scratch,
                         room ? sizeof(res->output) - 1 - got : sizeof(scratch));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            eof = true;
        else if (room)
            got += (size_t)n;
    }
    res->output[got] = '\0';
    while (got > 0 && (res->output[got - 1] == '\n' || res->output[got - 1] == ' '))
        res->output[--got] = '\0';

    /* The output closed (or time is up): wait for the exit itself, within
     * what is left of the limit. */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (timed_out || now_ms() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            timed_out = true;
            break;
        }
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (timed_out)
        return vmrun_failx(err, ETIMEDOUT, "%s did not finish within %d ms and was killed",
                           argv[0], timeout_ms);
    int e = 0;
    if (read(report, &e, sizeof(e)) == (ssize_t)sizeof(e) && e != 0)
        return vmrun_fail(err, e, "cannot run %s", argv[0]);
    if (WIFEXITED(status))
        res->status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->status = 128 + WTERMSIG(status);
    return 0;
}
