/* The stop protocol (stop.h): the supervisor's side and `vmrun stop`'s. */
#include "supervisor/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void stop_reply_write(const char *reply, enum vm_outcome o, const char *detail)
{
    if (reply[0] == '\0')
        return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "outcome", vm_outcome_describe(o));
    cJSON_AddNumberToObject(j, "code", (double)o);
    if (detail != NULL && detail[0] != '\0')
        cJSON_AddStringToObject(j, "detail", detail);
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

int stop_send(struct stop_requester *sr, const char *name, pid_t sup, long timeout, bool force,
              struct vmrun_error *err)
{
    sr->dir[0] = sr->reply[0] = '\0';
    /* The supervisor bounds its own stop (timeout, quit, kill); wait for it
     * with a generous margin on top, never forever. */
    sr->wait_s = (timeout >= 0 ? timeout : 3600) + SUPERVISOR_QUIT_GRACE_S + 60;

    /* The supervisor writes how the VM ended into a file we own. */
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/.stop-XXXXXX", host_root(HOST_RUN));
    if (mkdtemp(tmpl) != NULL) {
        snprintf(sr->dir, sizeof(sr->dir), "%s", tmpl);
        snprintf(sr->reply, sizeof(sr->reply), "%s/reply", sr->dir);
        int fd = open(sr->reply, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    int r = write_request(name, force ? 0 : timeout, force, sr->reply, err);
    if (r < 0)
        return r;
    if (kill(sup, SIGTERM) < 0)
        return vmrun_fail(err, errno, "cannot signal the supervisor (pid %ld)", (long)sup);
    return 0;
}

int stop_wait(struct stop_requester *sr, const char *name, struct stop_reply *reply)
{
    *reply = (struct stop_reply){.code = -1};
    int r = runtime_wait_released(name, sr->wait_s);
    if (r < 0)
        return r;
    char buf[4096] = "";
    cleanup_fclose FILE *f = sr->reply[0] ? fopen(sr->reply, "re") : NULL;
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
    }
    cJSON *j = cJSON_Parse(buf);
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(j, "outcome");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
    if (cJSON_IsString(outcome)) {
        reply->replied = true;
        snprintf(reply->outcome, sizeof(reply->outcome), "%s", outcome->valuestring);
        if (cJSON_IsNumber(code))
            reply->code = code->valueint;
        if (cJSON_IsString(detail))
            snprintf(reply->detail, sizeof(reply->detail), "%s", detail->valuestring);
    }
    cJSON_Delete(j);
    return 0;
}

void stop_requester_end(struct stop_requester *sr)
{
    if (sr->reply[0] != '\0') {
        unlink(sr->reply);
        rmdir(sr->dir);
    }
    sr->dir[0] = sr->reply[0] = '\0';
}
