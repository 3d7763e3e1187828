/* vmrun usb NAME attach [--force] DEVICE | detach DEVICE: a host USB device
 * given to a running VM, or taken back, by hand.
 *
 * The supervisor of NAME does it (supervisor/usb_hotplug.h), asked over
 * its request channel (supervisor/control.h): the same checks as for the
 * devices its rules take (the host must not be using the device), the same
 * journal. Through sudo or pkexec only whoever started the VM may (as for
 * stop and recover: priv/access.h); root may for any VM. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "host/usb/usb_dev.h"
#include "supervisor/runtime.h"

/* QMP answers within seconds even on a loaded host; the supervisor bounds
 * each of its own calls. */
#define USB_REQUEST_TIMEOUT_MS 30000

static void help(FILE *out)
{
    fprintf(out,
            "usage: vmrun usb NAME attach [--force] DEVICE\n"
            "       vmrun usb NAME detach DEVICE\n\n"
            "Give a host USB device to the running VM NAME, or take it back, by hand (a\n"
            "device its usb[] rules do not take; rules follow their devices by themselves).\n"
            "DEVICE is the device's port (\"1-4.2\", as /sys/bus/usb/devices names it) or\n"
            "its VENDOR:PRODUCT (\"046d:c52b\"; exactly one device must have them); for\n"
            "detach also the id `vmrun status` shows (\"usbm-1-4.2\").\n\n"
            "A device the host uses is refused with the reason: a hub, a disk with a\n"
            "mounted file system or active swap (nothing overrides that), the host's only\n"
            "keyboard (--force overrides that). The VM's profile needs a \"usb\" key\n"
            "(\"usb\": [] for none but a controller). A device given by hand stays until it\n"
            "is unplugged or detached; it is not given again after a replug or a restart.\n\n"
            "Through sudo or pkexec only whoever started the VM may do this.\n"
            "Exit codes: 0 done, 1 refused or failed, 2 bad usage.\n");
}

static bool valid_spec(const char *s, bool detach)
{
    unsigned a, b;
    char tail;
    if (profile_usb_port_valid(s))
        return true;
    if (strlen(s) == 9 && s[4] == ':' && strspn(s, "0123456789abcdefABCDEF:") == 9 &&
        sscanf(s, "%4x:%4x%c", &a, &b, &tail) == 2)
        return true;
    /* An id vmrun gave: "usb0-1-4.2", "usbm-1-4.2". */
    if (detach && strncmp(s, "usb", 3) == 0) {
        const char *dash = strchr(s, '-');
        return dash != NULL && profile_usb_port_valid(dash + 1);
    }
    return false;
}

int cli_usb(int argc, char **argv)
{
    /* vmrun usb NAME attach [--force] DEVICE: the option may stand
     * anywhere. */
    bool force = false, options = true;
    const char *args[3];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (options && strcmp(argv[i], "--") == 0) {
            options = false;
        } else if (options && (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)) {
            force = true;
        } else if (options && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
            help(stdout);
            return VMRUN_EXIT_OK;
        } else if ((options && argv[i][0] == '-') || n == 3) {
            help(stderr);
            return VMRUN_EXIT_USAGE;
        } else {
            args[n++] = argv[i];
        }
    }
    if (n != 3) {
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }
    const char *name = args[0], *action = args[1], *spec = args[2];
    if (!cli_valid_name(name))
        return VMRUN_EXIT_USAGE;
    bool detach = strcmp(action, "detach") == 0;
    if (!detach && strcmp(action, "attach") != 0) {
        fprintf(stderr, "vmrun usb: the action is attach or detach, not '%s'\n", action);
        return VMRUN_EXIT_USAGE;
    }
    if (detach && force) {
        fprintf(stderr, "vmrun usb: --force is for attach\n");
        return VMRUN_EXIT_USAGE;
    }
    if (!valid_spec(spec, detach)) {
        fprintf(stderr,
                "vmrun usb: '%s' names no USB device: give its port (\"1-4.2\") or its "
                "VENDOR:PRODUCT (\"046d:c52b\")%s\n",
                spec, detach ? ", or the id vmrun status shows" : "");
        return VMRUN_EXIT_USAGE;
    }

    pid_t sup = 0;
    enum runtime_state st = runtime_probe(name, &sup);
    if (st != RUNTIME_RUNNING) {
        fprintf(stderr, "vmrun: no VM named '%s' is running\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    if (cli_may_manage(name) != 0)
        return VMRUN_EXIT_FAILURE;

    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "request", "usb");
    cJSON_AddStringToObject(req, "action", action);
    cJSON_AddStringToObject(req, "device", spec);
    cJSON_AddBoolToObject(req, "force", force);
    return cli_control_request(name, req, USB_REQUEST_TIMEOUT_MS);
}
