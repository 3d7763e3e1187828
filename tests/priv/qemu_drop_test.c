/* Integration test: the real QEMU, started through priv_set_memlock() and
 * priv_drop() exactly as the supervisor does, runs without any privilege.
 *
 * Checks QEMU's /proc/PID/status: every uid and gid the test user's, no
 * capability in any set, NoNewPrivs 1, Seccomp 2 (QEMU's -sandbox filter),
 * and /proc/PID/limits: RLIMIT_MEMLOCK = guest RAM + 1 GiB. Then quits QEMU
 * over QMP (or kills it by pid). Needs root; exits 77 (skipped) otherwise.
 *
 * The user is "vmrun-test" (a system user created when missing), or
 * "nobody" when it cannot be created. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <time.h>
#include <cap-ng.h>
#include <linux/capability.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/priv_drop.h"
#include "qemu/qemu_sandbox.h"

extern char **environ;

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static const char *test_user(void)
{
    if (getpwnam("vmrun-test") != NULL)
        return "vmrun-test";
    char *argv[] = {(char *)"useradd",
                    (char *)"--system",
                    (char *)"--no-create-home",
                    (char *)"--shell",
                    (char *)"/usr/sbin/nologin",
                    (char *)"vmrun-test",
                    NULL};
    pid_t pid;
    int status = 0;
    if (posix_spawnp(&pid, "useradd", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &status, 0);
    return getpwnam("vmrun-test") != NULL ? "vmrun-test" : "nobody";
}

/* The value of "Key:" in a /proc status-like file, whitespace collapsed. */
static int proc_field(pid_t pid, const char *file, const char *key, char *out, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) != 0)
            continue;
        char *v = line + klen;
        size_t o = 0;
        bool space = false;
        for (; *v != '\0' && *v != '\n'; v++) {
            if (*v == ' ' || *v == '\t') {
                space = o > 0;
                continue;
            }
            if (space && o + 1 < len)
                out[o++] = ' ';
            space = false;
            if (o + 1 < len)
                out[o++] = *v;
        }
        out[o] = '\0';
        return 0;
    }
    return -ENOENT;
}

static int qmp_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return -ETIMEDOUT;
}

/* Read until a line containing want (or EOF); true when seen. */
static bool qmp_expect(int fd, const char *want)
{
    char buf[8192];
    size_t used = 0;
    while (used + 1 < sizeof(buf)) {
        ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
        if (n <= 0)
            return false;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, want) != NULL)
            return true;
    }
    return false;
}

static bool wait_exit(pid_t pid, int timeout_ms, int *status)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (waitpid(pid, status, WNOHANG) == pid)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return false;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root\n");
        return 77;
    }
    const char *qemu = "qemu-system-x86_64";
    const char *user = test_user();
    printf("test user: %s\n", user);

    struct vm_profile p = {0};
    snprintf(p.name, sizeof(p.name), "privtest");
    p.run_as = (char *)user;
    p.qemu.accel = VM_ACCEL_TCG;
    p.memory.size = 64ull << 20;
    p.n_pci = 1; /* only counted: a VFIO guest needs RLIMIT_MEMLOCK */

    struct vmrun_error err = {0};
    struct priv_target t;
    int r = priv_resolve_target(&p, &t, &err);
    CHECK(r == 0, "%s", err.msg);
    if (r < 0)
        return 1;
    CHECK(t.change && t.uid != 0 && t.source == PRIV_FROM_RUN_AS, "target uid %u", t.uid);

    /* The verification must be able to fail: this root process is not t. */
    CHECK(priv_verify(&t, &err) < 0, "priv_verify accepted root");

    bool sandbox = qemu_supports_sandbox(qemu);
    CHECK(sandbox, "%s does not support -sandbox", qemu);
    CHECK(!qemu_supports_sandbox("/bin/false"), "/bin/false supports -sandbox?");
    CHECK(!qemu_supports_sandbox("/nonexistent/qemu"), "a missing binary supports -sandbox?");

    /* A directory QEMU's user may create its QMP socket in (the supervisor
     * passes a connected socket instead; this test drives QEMU directly). */
    char dir[] = "/tmp/vmrun-priv-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    chmod(dir, 0711);
    char qdir[256], sock[300];
    snprintf(qdir, sizeof(qdir), "%s/qemu", dir);
    snprintf(sock, sizeof(sock), "%s/qmp.sock", qdir);
    CHECK(mkdir(qdir, 0700) == 0 && chown(qdir, t.uid, t.gid) == 0, "%s", strerror(errno));

    uint64_t memlock = priv_memlock_bytes(&p);
    CHECK(memlock == (64ull << 20) + (1ull << 30), "memlock %llu", (unsigned long long)memlock);
    /* Raising the hard limit takes CAP_SYS_RESOURCE, which some containers
     * take from root: then the refusal must be reported, and QEMU runs with
     * the limit it has. */
    capng_get_caps_process();
    if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE)) {
        struct rlimit rl;
        getrlimit(RLIMIT_MEMLOCK, &rl);
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < memlock) {
            pid_t c = fork();
            if (c == 0)
                _exit(priv_set_memlock(memlock, &err) == -EPERM &&
                              strstr(err.msg, "RLIMIT_MEMLOCK") != NULL
                          ? 0
                          : 1);
            int st = 0;
            waitpid(c, &st, 0);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "memlock refusal not reported");
            printf("no CAP_SYS_RESOURCE here: RLIMIT_MEMLOCK stays at %llu bytes\n",
                   (unsigned long long)rl.rlim_max);
            memlock = (uint64_t)rl.rlim_max;
        }
    }
    fflush(stdout);

    int pfd[2];
    CHECK(pipe2(pfd, O_CLOEXEC) == 0, "pipe");
    char qmp_arg[400];
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", sock);
    char *argv[] = {(char *)qemu,
                    (char *)"-S",
                    (char *)"-nodefaults",
                    (char *)"-no-user-config",
                    (char *)"-display",
                    (char *)"none",
                    (char *)"-machine",
                    (char *)"q35,accel=tcg",
                    (char *)"-m",
                    (char *)"64M",
                    (char *)"-sandbox",
                    (char *)QEMU_SANDBOX_ARG,
                    (char *)"-qmp",
                    qmp_arg,
                    NULL};

    pid_t pid = fork();
    if (pid == 0) {
        struct vmrun_error cerr = {0};
        close(pfd[0]);
        if (priv_set_memlock(memlock, &cerr) < 0 || priv_drop(&t, &cerr) < 0) {
            if (write(pfd[1], cerr.msg, strlen(cerr.msg)) < 0)
                _exit(126);
            _exit(127);
        }
        execvp(argv[0], argv);
        snprintf(cerr.msg, sizeof(cerr.msg), "exec %s: %s", argv[0], strerror(errno));
        if (write(pfd[1], cerr.msg, strlen(cerr.msg)) < 0)
            _exit(126);
        _exit(127);
    }
    close(pfd[1]);
    char cmsg[2048] = "";
    ssize_t n = read(pfd[0], cmsg, sizeof(cmsg) - 1);
    close(pfd[0]);
    CHECK(n == 0, "child failed before exec: %s", n > 0 ? cmsg : "read error");
    if (n != 0) {
        waitpid(pid, NULL, 0);
        return 1;
    }

    int qfd = qmp_connect(sock, 10000);
    CHECK(qfd >= 0, "QMP socket %s never came up", sock);

    char v[256];
    char want[64];
    snprintf(want, sizeof(want), "%u %u %u %u", t.uid, t.uid, t.uid, t.uid);
    CHECK(proc_field(pid, "status", "Uid:", v, sizeof(v)) == 0 && strcmp(v, want) == 0,
          "Uid: %s, want %s", v, want);
    snprintf(want, sizeof(want), "%u %u %u %u", t.gid, t.gid, t.gid, t.gid);
    CHECK(proc_field(pid, "status", "Gid:", v, sizeof(v)) == 0 && strcmp(v, want) == 0,
          "Gid: %s, want %s", v, want);
    static const char *const zero_sets[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
    for (size_t i = 0; i < ARRAY_SIZE(zero_sets); i++)
        CHECK(proc_field(pid, "status", zero_sets[i], v, sizeof(v)) == 0 &&
                  strcmp(v, "0000000000000000") == 0,
              "%s %s", zero_sets[i], v);
    CHECK(proc_field(pid, "status", "NoNewPrivs:", v, sizeof(v)) == 0 && strcmp(v, "1") == 0,
          "NoNewPrivs: %s", v);
    CHECK(proc_field(pid, "status", "Seccomp:", v, sizeof(v)) == 0 && strcmp(v, "2") == 0,
          "Seccomp: %s", v);
    CHECK(proc_field(pid, "limits", "Max locked memory", v, sizeof(v)) == 0, "limits");
    char lim[64];
    snprintf(lim, sizeof(lim), "%llu %llu bytes", (unsigned long long)memlock,
             (unsigned long long)memlock);
    CHECK(strcmp(v, lim) == 0 || strncmp(v, "unlimited", 9) == 0, "Max locked memory: %s", v);
    printf("QEMU pid %ld runs as %s, no capabilities, NoNewPrivs 1, Seccomp 2, memlock %s\n",
           (long)pid, user, v);

    int status = 0;
    bool exited = false;
    if (qfd >= 0) {
        CHECK(qmp_expect(qfd, "\"QMP\""), "no QMP greeting");
        const char *caps = "{\"execute\":\"qmp_capabilities\"}\n";
        const char *quit = "{\"execute\":\"quit\"}\n";
        CHECK(write(qfd, caps, strlen(caps)) > 0 && qmp_expect(qfd, "return"), "capabilities");
        CHECK(write(qfd, quit, strlen(quit)) > 0, "quit");
        exited = wait_exit(pid, 10000, &status);
        CHECK(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "QEMU did not quit cleanly over QMP (status %#x)", status);
        close(qfd);
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    unlink(sock);
    rmdir(qdir);
    rmdir(dir);
    priv_target_free(&t);
    if (failures == 0)
        printf("PASS\n");
    return failures == 0 ? 0 : 1;
}
