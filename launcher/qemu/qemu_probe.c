/* Questions to a QEMU binary (qemu_probe.h). */
#include "qemu/qemu_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/child_env.h"


int qemu_find_binary(const char *name, char *out, size_t len)
{
    /* As root, over a fixed PATH of root's directories (sys/child_env.h). */
    return child_find_program(name, out, len);
}

int qemu_parse_version(const char *text, struct qemu_version *v)
{
    static const char marker[] = "version ";
    const char *s = strstr(text, marker);
    if (s == NULL)
        return -EINVAL;
    s += strlen(marker);
    unsigned a = 0, b = 0, c = 0;
    int consumed = 0;
    /* "7.2.22", "8.1.0", and development builds "9.0.50"; a two-part
     * "6.2" is accepted too. */
    if (sscanf(s, "%u.%u%n", &a, &b, &consumed) != 2)
        return -EINVAL;
    if (s[consumed] == '.' && sscanf(s + consumed + 1, "%u", &c) != 1)
        return -EINVAL;
    v->major = a;
    v->minor = b;
    v->micro = c;
    return 0;
}

int qemu_version_cmp(const struct qemu_version *a, const struct qemu_version *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->micro != b->micro)
        return a->micro < b->micro ? -1 : 1;
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qemu_probe_output(const char *binary, const char *const *args, char *out, size_t len,
                      struct vmrun_error *err)
{
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)binary;
    for (; args[n - 1] != NULL && n < ARRAY_SIZE(argv) - 1; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    if (len == 0)
        return vmrun_failx(err, EINVAL, "no room for the output of %s", binary);
    out[0] = '\0';

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return vmrun_fail(err, errno, "pipe");
    cleanup_close int rd = pfd[0];
    cleanup_close int wr = pfd[1];

    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return vmrun_failx(err, ENOMEM, "posix_spawn_file_actions_init");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, wr, 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    cleanup_pid pid_t pid = 0;
    int r = posix_spawn(&pid, binary, &fa, NULL, argv, child_env_plain());
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        pid = 0;
        return vmrun_fail(err, r, "run %s", binary);
    }
    close(steal_fd(&wr));

    /* Read until EOF or the deadline: a binary that hangs is not a QEMU
     * that can be used, and the check must not hang with it. */
    size_t got = 0;
    long deadline = now_ms() + QEMU_PROBE_TIMEOUT_MS;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return vmrun_failx(err, ETIMEDOUT, "%s %s did not answer within %d ms", binary,
                               args[0] ? args[0] : "", QEMU_PROBE_TIMEOUT_MS);
        struct pollfd p = {.fd = rd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return vmrun_fail(err, errno, "poll");
        if (pr == 0)
            continue;
        char chunk[4096];
        ssize_t k = read(rd, chunk, sizeof(chunk));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return vmrun_fail(err, errno, "read the output of %s", binary);
        if (k == 0)
            break;
        size_t keep = (size_t)k;
        if (keep > len - 1 - got)
            keep = len - 1 - got; /* keep draining so the child never blocks */
        memcpy(out + got, chunk, keep);
        got += keep;
        out[got] = '\0';
    }

    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return vmrun_fail(err, errno, "waitpid");
        if (now_ms() >= deadline)
            return vmrun_failx(err, ETIMEDOUT, "%s did not exit within %d ms", binary,
                               QEMU_PROBE_TIMEOUT_MS);
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    pid = 0; /* reaped */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof(how), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return vmrun_failx(err, EIO, "%s %s failed (%s)", binary, args[0] ? args[0] : "", how);
    }
    return 0;
}

const char *qemu_binary_name(const struct vm_profile *p)
{
    return p->qemu.binary != NULL ? p->qemu.binary : "qemu-system-x86_64";
}

/* Run `QEMU args...` for the QEMU named, its standard output in out: 1
 * when it exits 0, 0 when it exits otherwise, a negative errno with err
 * set when it cannot be run or does not answer. */
static int qemu_answers(const char *name, const char *const *args, char *out, size_t len,
                        struct vmrun_error *err)
{
    char path[PATH_MAX];
    int r = qemu_find_binary(name, path, sizeof(path));
    if (r < 0)
        return vmrun_fail(err, -r, "%s", name);
    struct vmrun_error e = {0};
    r = qemu_probe_output(path, args, out, len, &e);
    if (r == -EIO)
        return 0;
    if (r < 0) {
        if (err != NULL)
            *err = e;
        return r;
    }
    return 1;
}

int qemu_has_audio_driver(const char *name, const char *driver, struct vmrun_error *err)
{
    const char *args[] = {"-audiodev", "help", NULL};
    char out[4096];
    int r = qemu_answers(name, args, out, sizeof(out), err);
    if (r <= 0)
        return r < 0 ? r : vmrun_failx(err, EIO, "%s -audiodev help failed", name);
    return qemu_help_lists(out, driver);
}

int qemu_has_spice(const char *name, struct vmrun_error *err)
{
    /* QEMU lists the option group's options on standard output and exits
     * 1 (7.2 to 11.x); without SPICE it says on standard error that there
     * is no option group "spice". */
    const char *args[] = {"-spice", "help", NULL};
    char out[4096];
    int r = qemu_answers(name, args, out, sizeof(out), err);
    if (r < 0)
        return r;
    return strstr(out, "spice options:") != NULL;
}

void qemu_probe_facts(const struct vm_profile *p, struct vm_host_facts *h)
{
    h->audio_pipewire = p->audio.present && p->audio.backend == VM_AUDIO_PIPEWIRE &&
                        qemu_has_audio_driver(qemu_binary_name(p), "pipewire", NULL) == 1;
}

bool qemu_help_lists(const char *listing, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = listing; *line != '\0';) {
        const char *end = strchrnul(line, '\n');
        size_t l = (size_t)(end - line);
        while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\r' || line[l - 1] == '\t'))
            l--;
        if (l == n && memcmp(line, name, n) == 0)
            return true;
        line = *end == '\n' ? end + 1 : end;
    }
    return false;
}
