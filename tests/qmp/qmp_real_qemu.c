/* The client against a real QEMU: start qemu-system-x86_64 stopped (-S),
 * connect to its QMP socket while it is still starting, query it, and shut
 * it down through QMP. Exits 77 (skipped) only when QEMU is not installed.
 *
 * A plain program rather than a cmocka test: the QEMU child must be killed
 * and reaped on every failure path, which an assertion's longjmp would skip. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

#define QEMU "qemu-system-x86_64"
#define SKIP 77
#define TIMEOUT_MS 20000 /* TCG on a loaded 2-core machine can be slow */

static int failures;

__attribute__((format(printf, 1, 2))) static void check_failed(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[4096];
    while (path != NULL && *path != '\0') {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, path, name);
        if (access(dir, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static pid_t start_qemu(const char *sock)
{
    char qmp[256];
    snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", sock);
    pid_t pid = fork();
    if (pid == 0) {
        execlp(QEMU, QEMU, "-S", "-nodefaults", "-display", "none", "-machine", "q35,accel=tcg",
               "-smp", "2", "-m", "128", "-qmp", qmp, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void query_status(struct qmp_client *c)
{
    cJSON *ret = NULL;
    int r = qmp_execute(c, "query-status", NULL, &ret, TIMEOUT_MS);
    if (r < 0) {
        check_failed("query-status: %s", qmp_last_error(c));
        return;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(ret, "status");
    const cJSON *running = cJSON_GetObjectItemCaseSensitive(ret, "running");
    /* -S: created, never started. */
    if (!cJSON_IsString(status) || strcmp(status->valuestring, "prelaunch") != 0 ||
        !cJSON_IsFalse(running))
        check_failed("query-status: expected prelaunch, not running");
    else
        printf("query-status: %s\n", status->valuestring);
    cJSON_Delete(ret);
}

static void query_cpus(struct qmp_client *c)
{
    cJSON *ret = NULL;
    int r = qmp_execute(c, "query-cpus-fast", NULL, &ret, TIMEOUT_MS);
    if (r < 0) {
        check_failed("query-cpus-fast: %s", qmp_last_error(c));
        return;
    }
    int n = cJSON_GetArraySize(ret);
    if (!cJSON_IsArray(ret) || n != 2)
        check_failed("query-cpus-fast: expected 2 vCPUs, got %d", n);
    for (int i = 0; i < n; i++) {
        const cJSON *tid =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ret, i), "thread-id");
        if (!cJSON_IsNumber(tid) || tid->valuedouble <= 0)
            check_failed("query-cpus-fast: vCPU %d has no thread-id", i);
        else
            printf("vCPU %d: thread %d\n", i, tid->valueint);
    }
    cJSON_Delete(ret);
}

static void expect_error(struct qmp_client *c)
{
    int r = qmp_execute(c, "no-such-command", NULL, NULL, TIMEOUT_MS);
    if (r != -EREMOTEIO || strstr(qmp_last_error(c), "CommandNotFound") == NULL)
        check_failed("no-such-command: %d %s", r, qmp_last_error(c));
}

/* An event QEMU sends now or soon, skipping others. */
static void expect_event(struct qmp_client *c, const char *name)
{
    for (;;) {
        int r = qmp_wait_event(c, TIMEOUT_MS);
        if (r <= 0) {
            check_failed("waiting for event %s: %s", name,
                         r == 0 ? "timed out" : qmp_last_error(c));
            return;
        }
        struct qmp_event ev;
        qmp_next_event(c, &ev);
        int match = strcmp(ev.name, name) == 0;
        printf("event %s\n", ev.name);
        qmp_event_free(&ev);
        if (match)
            return;
    }
}

/* A descriptor passed with add-fd (SCM_RIGHTS with the command) lands in an
 * fd set QEMU reports, and remove-fd drops it again: what vmrun's USB
 * hot-plug rests on. Without the descriptor QEMU refuses add-fd, so the
 * check fails if it was not passed. */
static void pass_fd(struct qmp_client *c)
{
    FILE *f = tmpfile();
    if (f == NULL) {
        check_failed("tmpfile: %s", strerror(errno));
        return;
    }
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "opaque", "vmrun-test");
    cJSON *ret = NULL;
    int r = qmp_execute_fd(c, "add-fd", args, fileno(f), &ret, TIMEOUT_MS);
    fclose(f);
    if (r < 0) {
        check_failed("add-fd: %s", qmp_last_error(c));
        return;
    }
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(ret, "fdset-id");
    double id = cJSON_IsNumber(set) ? set->valuedouble : -1;
    cJSON_Delete(ret);
    if (id < 0) {
        check_failed("add-fd: no fdset-id in the reply");
        return;
    }
    ret = NULL;
    bool found = false;
    if (qmp_execute(c, "query-fdsets", NULL, &ret, TIMEOUT_MS) < 0)
        check_failed("query-fdsets: %s", qmp_last_error(c));
    const cJSON *s, *fd;
    cJSON_ArrayForEach(s, ret)
    {
        if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "fdset-id")) != id)
            continue;
        cJSON_ArrayForEach(fd, cJSON_GetObjectItemCaseSensitive(s, "fds"))
        {
            const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fd, "opaque"));
            found = found || (o != NULL && strcmp(o, "vmrun-test") == 0);
        }
    }
    cJSON_Delete(ret);
    if (!found)
        check_failed("query-fdsets: the passed descriptor is not in fd set %.0f", id);
    else
        printf("add-fd: the descriptor is in fd set %.0f\n", id);
    args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "fdset-id", id);
    if (qmp_execute(c, "remove-fd", args, NULL, TIMEOUT_MS) < 0)
        check_failed("remove-fd: %s", qmp_last_error(c));
    /* Without a descriptor, add-fd is refused: the check above is QEMU's. */
    if (qmp_execute(c, "add-fd", NULL, NULL, TIMEOUT_MS) != -EREMOTEIO)
        check_failed("add-fd without a descriptor was not refused");
}

static void quit(struct qmp_client *c)
{
    /* QEMU replies, sends SHUTDOWN and closes the socket. */
    int r = qmp_execute(c, "quit", NULL, NULL, TIMEOUT_MS);
    if (r < 0 && r != -EPIPE && r != -ECONNRESET)
        check_failed("quit: %s", qmp_last_error(c));
    for (;;) {
        r = qmp_wait_event(c, TIMEOUT_MS);
        if (r <= 0)
            break;
        struct qmp_event ev;
        qmp_next_event(c, &ev);
        printf("event %s\n", ev.name);
        qmp_event_free(&ev);
    }
    if (r != -EPIPE && r != -ECONNRESET)
        check_failed("after quit: expected the socket closed, got %d", r);
}

/* Reap QEMU; kill it first when told to or when it does not exit on its own. */
static int reap(pid_t pid, int kill_first)
{
    int status = 0;
    if (kill_first)
        kill(pid, SIGKILL);
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        struct timespec ts = {.tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int main(void)
{
    if (!in_path(QEMU)) {
        printf("SKIP: %s is not installed\n", QEMU);
        return SKIP;
    }
    char dir[] = "/tmp/vmrun-qmp-qemu.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);

    pid_t pid = start_qemu(sock);
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    /* Connect at once: the client must wait for QEMU to create the socket. */
    struct qmp_client *c = NULL;
    if (qmp_connect(sock, TIMEOUT_MS, &c) < 0) {
        check_failed("%s", qmp_last_error(NULL));
        reap(pid, 1);
        unlink(sock);
        rmdir(dir);
        return 1;
    }
    int major, minor, micro;
    qmp_version(c, &major, &minor, &micro);
    printf("QEMU %d.%d.%d\n", major, minor, micro);
    if (major < 2)
        check_failed("implausible QEMU version %d.%d.%d", major, minor, micro);

    query_status(c);
    query_cpus(c);
    expect_error(c);
    pass_fd(c);
    if (qmp_execute(c, "cont", NULL, NULL, TIMEOUT_MS) < 0)
        check_failed("cont: %s", qmp_last_error(c));
    expect_event(c, "RESUME");
    if (qmp_execute(c, "stop", NULL, NULL, TIMEOUT_MS) < 0)
        check_failed("stop: %s", qmp_last_error(c));
    expect_event(c, "STOP");
    quit(c);
    qmp_close(c);

    int status = reap(pid, failures > 0);
    if (failures == 0 && !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
        check_failed("QEMU did not exit cleanly after quit (status %d)", status);
    unlink(sock);
    rmdir(dir);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
