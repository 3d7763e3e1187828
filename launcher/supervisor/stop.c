/* The stop protocol (stop.h): the supervisor's side and `vmrun stop`'s. */
#include "supervisor/stop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "supervisor/runtime.h"
#include "sys/hostpath.h"

/* ---- the supervisor's side ---------------------------------------------- */

void stop_request_take(const char *rt_dir, struct stop_request *req)
{
    req->timeout_s = -1;
    req->force = false;
    req->reply[0] = '\0';
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/stop-request", rt_dir);
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    unlink(path);
    cJSON *j = cJSON_Parse(buf);
    if (j == NULL)
        return;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timeout");
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 86400)
        req->timeout_s = (int)t->valuedouble;
    req->force = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "force"));
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(j, "reply");
    if (cJSON_IsString(reply) && reply->valuestring[0] == '/')
        snprintf(req->reply, sizeof(req->reply), "%s", reply->valuestring);
    cJSON_Delete(j);
}

void stop_reply_write(const char *reply, enum vm_outcome o, const char *detail, const char *left)
{
    if (reply[0] == '\0')
        return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "outcome", vm_outcome_describe(o));
    cJSON_AddNumberToObject(j, "code", (double)o);
    if (detail != NULL && detail[0] != '\0')
        cJSON_AddStringToObject(j, "detail", detail);
    if (left != NULL) {
        cJSON_AddBoolToObject(j, "restored", false);
        cJSON_AddStringToObject(j, "left", left);
    }
    cleanup_free char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    /* The reply file was created by `vmrun stop` in a directory of its
     * own; O_NOFOLLOW and no O_CREAT: we write only into that file. */
    cleanup_close int fd = open(reply, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && text != NULL && write(fd, text, strlen(text)) < 0) {
        /* the stopping side reports the missing reply */
    }
}

/* ---- the requester's side ----------------------------------------------- */

static int write_request(const char *name, long timeout, bool force, const char *reply,
                         struct vmrun_error *err)
{
    cJSON *j = cJSON_CreateObject();
    if (timeout >= 0)
        cJSON_AddNumberToObject(j, "timeout", (double)timeout);
    cJSON_AddBoolToObject(j, "force", force);
    cJSON_AddStringToObject(j, "reply", reply);
    cleanup_free char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL)
        return vmrun_fail(err, ENOMEM, "stop request");
    struct vm_runtime rt = {.lock_fd = -1};
    snprintf(rt.name, sizeof(rt.name), "%s", name);
    runtime_path(rt.dir, sizeof(rt.dir), name, NULL);
    return runtime_write_file(&rt, "stop-request", text, err);
}

/* The sweep and the making of a reply directory happen under one lock,
 * <run root>/.stop.lock, and each requester holds an flock on its reply
 * file for as long as it waits. So a reply directory whose file nobody
 * holds belongs to a requester that is gone (killed with SIGKILL, or an
 * earlier vmrun that did not clean up after an interruption): the next
 * stop removes it. A directory without a reply file is one whose maker
 * died before making it, since that happens under the lock too. */
static int take_stop_lock(void)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_RUN, "/.stop.lock") < 0)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return -EPERM;
    }
    while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Remove one leftover reply directory (name, in the run root) unless
 * a live requester holds its reply file. Only directories of our own. */
static void sweep_one(int root, const char *name)
{
    cleanup_close int d = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (d < 0 || fstat(d, &st) < 0 || st.st_uid != geteuid())
        return;
    cleanup_close int f = openat(d, "reply", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (f >= 0) {
        if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode) || flock(f, LOCK_EX | LOCK_NB) < 0)
            return; /* in use, or not a reply file: not ours to remove */
        unlinkat(d, "reply", 0);
    } else if (errno != ENOENT) {
        return;
    }
    unlinkat(root, name, AT_REMOVEDIR);
}

static void sweep_stale(void)
{
    cleanup_closedir DIR *dir = opendir(host_root(HOST_RUN));
    if (dir == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL)
        if (strncmp(de->d_name, ".stop-", 6) == 0 && strlen(de->d_name) == 12)
            sweep_one(dirfd(dir), de->d_name);
}

/* A requester interrupted by SIGINT, SIGTERM or SIGHUP removes its reply
 * directory before it dies of the signal. The paths are published to the
 * handler only once they are whole, with the signals blocked. */
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved_actions[ARRAY_SIZE(cleanup_signals)];
static bool handlers_set[ARRAY_SIZE(cleanup_signals)];
static char armed_dir[PATH_MAX], armed_reply[PATH_MAX];
static volatile sig_atomic_t armed;

static void on_interrupt(int sig)
{
    int e = errno;
    if (armed) {
        unlink(armed_reply);
        rmdir(armed_dir);
    }
    /* SA_RESETHAND made the action the default again: die of the signal,
     * as without the handler, once it returns. */
    raise(sig);
    errno = e;
}

static void block_cleanup_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
        sigaddset(&set, cleanup_signals[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void arm_cleanup(const struct stop_requester *sr)
{
    snprintf(armed_dir, sizeof(armed_dir), "%s", sr->dir);
    snprintf(armed_reply, sizeof(armed_reply), "%s", sr->reply);
    armed = 1;
    struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++) {
        struct sigaction old;
        handlers_set[i] = false;
        /* A signal the caller ignores (nohup) stays ignored. */
        if (sigaction(cleanup_signals[i], NULL, &old) < 0 || old.sa_handler == SIG_IGN)
            continue;
        if (sigaction(cleanup_signals[i], &sa, &saved_actions[i]) == 0)
            handlers_set[i] = true;
    }
}

static void disarm_cleanup(void)
{
    armed = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
        if (handlers_set[i]) {
            sigaction(cleanup_signals[i], &saved_actions[i], NULL);
            handlers_set[i] = false;
        }
}

/* Under the stop lock: remove what gone requesters left, then make our
 * reply directory and file, and hold the file's lock. Without the lock
 * (a run root we cannot write), the stop goes on without a reply. */
static void make_reply_dir(struct stop_requester *sr)
{
    cleanup_close int lock = take_stop_lock();
    if (lock < 0)
        return;
    sweep_stale();
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/.stop-XXXXXX", host_root(HOST_RUN));
    if (mkdtemp(tmpl) == NULL)
        return;
    snprintf(sr->dir, sizeof(sr->dir), "%s", tmpl);
    snprintf(sr->reply, sizeof(sr->reply), "%s/reply", sr->dir);
    sr->reply_fd =
        open(sr->reply, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (sr->reply_fd < 0 || flock(sr->reply_fd, LOCK_EX | LOCK_NB) < 0) {
        stop_requester_end(sr);
        return;
    }
}

int stop_send(struct stop_requester *sr, const char *name, pid_t sup, long timeout, bool force,
              struct vmrun_error *err)
{
    *sr = (struct stop_requester){.reply_fd = -1};
    /* The supervisor bounds its own stop (timeout, quit, kill); wait for it
     * with a generous margin on top, never forever. */
    sr->wait_s = (timeout >= 0 ? timeout : 3600) + SUPERVISOR_QUIT_GRACE_S + 60;

    /* The supervisor writes how the VM ended into a file we own. */
    sigset_t old;
    block_cleanup_signals(&old);
    make_reply_dir(sr);
    if (sr->dir[0] != '\0')
        arm_cleanup(sr);
    sigprocmask(SIG_SETMASK, &old, NULL);

    int r = write_request(name, force ? 0 : timeout, force, sr->reply, err);
    if (r == 0 && kill(sup, SIGTERM) < 0)
        r = vmrun_fail(err, errno, "cannot signal the supervisor (pid %ld)", (long)sup);
    if (r < 0)
        stop_requester_end(sr);
    return r;
}

int stop_wait(struct stop_requester *sr, const char *name, struct stop_reply *reply)
{
    *reply = (struct stop_reply){.code = -1, .restored = true};
    int r = runtime_wait_released(name, sr->wait_s);
    if (r < 0)
        return r;
    /* Read through the fd made with the file: the path is not looked at
     * again. */
    char buf[4 * VMRUN_ERROR_MSG_MAX] = "";
    if (sr->reply_fd >= 0) {
        ssize_t n = pread(sr->reply_fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
    cJSON *j = cJSON_Parse(buf);
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(j, "outcome");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
    const cJSON *left = cJSON_GetObjectItemCaseSensitive(j, "left");
    if (cJSON_IsString(outcome)) {
        reply->replied = true;
        snprintf(reply->outcome, sizeof(reply->outcome), "%s", outcome->valuestring);
        if (cJSON_IsNumber(code))
            reply->code = code->valueint;
        if (cJSON_IsString(detail))
            snprintf(reply->detail, sizeof(reply->detail), "%s", detail->valuestring);
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "restored"))) {
            reply->restored = false;
            snprintf(reply->left, sizeof(reply->left), "%s",
                     cJSON_IsString(left) ? left->valuestring : "(the supervisor did not say)");
        }
    }
    cJSON_Delete(j);
    return 0;
}

void stop_requester_end(struct stop_requester *sr)
{
    /* Disarmed first, with the signals blocked: the handler never removes
     * a path after this returns. */
    sigset_t old;
    block_cleanup_signals(&old);
    disarm_cleanup();
    if (sr->reply[0] != '\0')
        unlink(sr->reply);
    if (sr->dir[0] != '\0')
        rmdir(sr->dir);
    if (sr->reply_fd >= 0)
        close(sr->reply_fd);
    *sr = (struct stop_requester){.reply_fd = -1, .wait_s = sr->wait_s};
    sigprocmask(SIG_SETMASK, &old, NULL);
}
