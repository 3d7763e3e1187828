/* Host USB devices plugged into QEMU over QMP (qemu_usb.h). */
#include "qemu/qemu_usb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "qemu/qemu_probe.h"
#include "qmp.h"

/* QEMU answers these at once; a QEMU that does not within this is not
 * going to. */
#define QEMU_USB_QMP_TIMEOUT_MS 5000

void qemu_usb_id(char *buf, size_t len, int rule, const char *port)
{
    if (rule < 0)
        snprintf(buf, len, "usbm-%s", port);
    else
        snprintf(buf, len, "usb%d-%s", rule, port);
}

int qemu_usb_probe(const char *binary, char *missing, size_t len, struct vmrun_error *err)
{
    char path[4096];
    int r = qemu_find_binary(binary, path, sizeof(path));
    if (r < 0)
        return vmrun_fail(err, -r, "QEMU binary %s", binary);
    const char *args[] = {"-device", "usb-host,help", NULL};
    char out[8192];
    struct vmrun_error perr = {0};
    if (qemu_probe_output(path, args, out, sizeof(out), &perr) < 0) {
        if (perr.code == ETIMEDOUT)
            return vmrun_failx(err, ETIMEDOUT, "%s", perr.msg);
        snprintf(missing, len,
                 "%s has no usb-host device (`%s -device usb-host,help` fails): a QEMU built "
                 "without libusb",
                 path, path);
        return 0;
    }
    /* One property per line: "  hostdevice=<str>". */
    for (const char *line = out; *line != '\0';) {
        const char *end = strchrnul(line, '\n');
        const char *s = line + strspn(line, " \t");
        if ((size_t)(end - s) >= 11 && strncmp(s, "hostdevice=", 11) == 0)
            return 1;
        line = *end == '\n' ? end + 1 : end;
    }
    snprintf(missing, len,
             "%s's usb-host device takes no hostdevice (its -device usb-host,help does not list "
             "it): it cannot use a device node vmrun opens, which QEMU built with libusb 1.0.23 "
             "or later can",
             path);
    return 0;
}

static void remove_fdset(struct qmp_client *q, long fdset)
{
    cJSON *rm = cJSON_CreateObject();
    if (rm != NULL && cJSON_AddNumberToObject(rm, "fdset-id", (double)fdset) != NULL)
        qmp_execute(q, "remove-fd", rm, NULL, QEMU_USB_QMP_TIMEOUT_MS);
    else
        cJSON_Delete(rm);
}

void qemu_usb_forget_fdset(struct qmp_client *q, long fdset)
{
    remove_fdset(q, fdset);
}

int qemu_usb_probe_qmp(struct qmp_client *q, char *missing, size_t len, struct vmrun_error *err)
{
    cJSON *args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "typename", "usb-host") == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "device-list-properties");
    }
    cJSON *ret = NULL;
    int r = qmp_execute(q, "device-list-properties", args, &ret, QEMU_USB_QMP_TIMEOUT_MS);
    if (r == -EREMOTEIO && strstr(qmp_last_error(q), "DeviceNotFound") != NULL) {
        snprintf(missing, len, "this QEMU has no usb-host device: a QEMU built without libusb");
        return 0;
    }
    if (r < 0)
        return vmrun_failx(err, -r, "%s", qmp_last_error(q));
    const cJSON *prop;
    bool found = false;
    cJSON_ArrayForEach(prop, ret)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prop, "name"));
        found = found || (name != NULL && strcmp(name, "hostdevice") == 0);
    }
    cJSON_Delete(ret);
    if (found)
        return 1;
    snprintf(missing, len,
             "this QEMU's usb-host device takes no hostdevice: it cannot use a device node vmrun "
             "opens, which QEMU built with libusb 1.0.23 or later can");
    return 0;
}

int qemu_usb_plug(struct qmp_client *q, int fd, const char *id, long *fdset_out,
                  struct vmrun_error *err)
{
    if (fdset_out != NULL)
        *fdset_out = -1;
    cJSON *args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "opaque", id) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "add-fd for %s", id);
    }
    cJSON *ret = NULL;
    int r = qmp_execute_fd(q, "add-fd", args, fd, &ret, QEMU_USB_QMP_TIMEOUT_MS);
    if (r < 0)
        return vmrun_failx(err, -r, "%s", qmp_last_error(q));
    /* QEMU's answer is not trusted: a set number it did not give is
     * refused by device_add, never used for anything else. */
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(ret, "fdset-id");
    double d = cJSON_IsNumber(set) ? set->valuedouble : -1;
    cJSON_Delete(ret);
    if (!(d >= 0 && d <= 1e9) || d != (double)(long)d)
        return vmrun_failx(err, EPROTO, "add-fd: QEMU gave no fd set number");
    long fdset = (long)d;

    char hostdevice[48];
    snprintf(hostdevice, sizeof(hostdevice), "/dev/fdset/%ld", fdset);
    args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "driver", "usb-host") == NULL ||
        cJSON_AddStringToObject(args, "id", id) == NULL ||
        cJSON_AddStringToObject(args, "bus", QEMU_USB_BUS) == NULL ||
        cJSON_AddStringToObject(args, "hostdevice", hostdevice) == NULL) {
        cJSON_Delete(args);
        r = vmrun_fail(err, ENOMEM, "device_add %s", id);
    } else {
        r = qmp_execute(q, "device_add", args, NULL, QEMU_USB_QMP_TIMEOUT_MS);
        if (r < 0)
            vmrun_failx(err, -r, "%s", qmp_last_error(q));
    }
    /* The set itself is not needed any more: the device holds its own
     * duplicate, and a failed device_add leaves nothing open in QEMU. */
    remove_fdset(q, fdset);
    if (fdset_out != NULL)
        *fdset_out = fdset;
    return r;
}

int qemu_usb_unplug(struct qmp_client *q, const char *id, struct vmrun_error *err)
{
    cJSON *args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "id", id) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "device_del %s", id);
    }
    int r = qmp_execute(q, "device_del", args, NULL, QEMU_USB_QMP_TIMEOUT_MS);
    if (r == -EREMOTEIO && strstr(qmp_last_error(q), "DeviceNotFound") != NULL)
        return 1;
    if (r < 0)
        return vmrun_failx(err, -r, "%s", qmp_last_error(q));
    return 0;
}

const char *qemu_usb_deleted(const struct qmp_event *ev)
{
    if (strcmp(ev->name, "DEVICE_DELETED") != 0)
        return NULL;
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(ev->data, "device");
    return cJSON_IsString(dev) ? dev->valuestring : NULL;
}
