/* The supervisor's part in the VM's input devices (vm_input.h). */
#include "supervisor/vm_input.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "qemu/qemu_probe.h"
#include "supervisor/control.h"
#include "supervisor/preflight.h"

#define QMP_INPUT_TIMEOUT_MS 5000
#define LED_FDNAME "vmrun-input-leds"

int vm_input_prepare(struct input_host *ih, struct host_prep *hp, const char *qemu_exe,
                     struct vm_host_facts *facts, struct qemu_fds *fds, struct vmrun_error *err)
{
    if (ih == NULL)
        return 0;
    char dir[PATH_MAX];
    if (vm_state_dir(hp->profile, dir, sizeof(dir)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "the state directory path is too long");
    int r = input_host_prepare(ih, hp, dir, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < hp->profile->n_inputs && i < VM_INPUTS_MAX; i++) {
        char what[96];
        snprintf(what, sizeof(what), "input[%zu]: the virtual input device vmrun made (O_PATH)", i);
        int target = qemu_fds_add(fds, input_host_qemu_fd(ih, i), what);
        if (target != facts->input_fd[i])
            return vmrun_failx(err, EINVAL,
                               "internal error: input[%zu] must be QEMU's fd %d, not %d", i,
                               facts->input_fd[i], target);
    }
    /* A QEMU built without VNC refuses -vnc: ask it first. */
    const char *args[] = {"-vnc", "none", "-version", NULL};
    char out[256];
    struct vmrun_error perr = {0};
    facts->input_leds = qemu_probe_output(qemu_exe, args, out, sizeof(out), &perr) == 0;
    if (!facts->input_leds)
        host_prep_say(hp, "warning: this QEMU has no VNC server, through which vmrun reads the "
                          "guest's keyboard LEDs: they will not follow the guest");
    return 0;
}

/* The LED channel: QEMU gets its end by QMP (getfd) and serves it as a
 * VNC client that skips authentication (add_client): nothing listens, so
 * nobody but vmrun can reach it. */
static int open_leds(struct input_host *ih, struct qmp_client *qmp, struct vmrun_error *err)
{
    int qemu_end;
    int r = input_host_led_channel(ih, &qemu_end, err);
    if (r < 0)
        return r;
    cleanup_close int fd = qemu_end;
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "fdname", LED_FDNAME);
    if ((r = qmp_execute_fd(qmp, "getfd", args, fd, NULL, QMP_INPUT_TIMEOUT_MS)) < 0)
        return vmrun_failx(err, -r, "getfd: %s", qmp_last_error(qmp));
    args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "protocol", "vnc");
    cJSON_AddStringToObject(args, "fdname", LED_FDNAME);
    cJSON_AddBoolToObject(args, "skipauth", true);
    if ((r = qmp_execute(qmp, "add_client", args, NULL, QMP_INPUT_TIMEOUT_MS)) < 0)
        return vmrun_failx(err, -r, "add_client: %s", qmp_last_error(qmp));
    return 0;
}

int vm_input_qemu_started(struct input_host *ih, pid_t qemu, const struct priv_target *t, bool leds,
                          struct qmp_client *qmp, struct vmrun_error *err)
{
    if (ih == NULL)
        return 0;
    bool untrusted = t != NULL && t->change && t->uid != 0;
    int r = input_host_qemu_started(ih, qemu, untrusted, err);
    if (r < 0)
        return r;
    struct vmrun_error lerr = {0};
    if (leds && open_leds(ih, qmp, &lerr) < 0)
        input_host_say(ih, "warning: the keyboard LEDs will not follow the guest: %s", lerr.msg);
    return 0;
}

void vm_input_publish(const struct input_host *ih, const struct vm_runtime *rt)
{
    if (ih == NULL)
        return;
    cleanup_free char *json = input_host_status_json(ih);
    struct vmrun_error err = {0};
    if (json != NULL && runtime_write_file(rt, INPUT_STATUS_FILE, json, &err) < 0)
        input_host_say(ih, "warning: %s", err.msg);
}

void vm_input_running(struct input_host *ih, const struct vm_runtime *rt)
{
    if (ih == NULL)
        return;
    struct vmrun_error err = {0};
    if (input_host_start(ih, &err) < 0)
        input_host_say(ih, "warning: %s", err.msg);
    vm_input_publish(ih, rt);
}

cJSON *vm_input_request(struct input_host *ih, const struct vm_runtime *rt, const cJSON *req)
{
    const cJSON *what = cJSON_GetObjectItemCaseSensitive(req, "request");
    if (!cJSON_IsString(what) || strcmp(what->valuestring, "input") != 0)
        return NULL;
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "side"));
    if (want == NULL)
        return control_error_reply("an input request names a side: host, guest or toggle");
    const char *side = NULL;
    struct vmrun_error err = {0};
    if (input_host_set_side(ih, want, &side, &err) < 0)
        return control_error_reply("%s", err.msg);
    vm_input_publish(ih, rt);
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "ok", true);
    cJSON_AddStringToObject(reply, "side", side);
    char msg[64];
    snprintf(msg, sizeof(msg), "input is with the %s", side);
    cJSON_AddStringToObject(reply, "message", msg);
    return reply;
}
