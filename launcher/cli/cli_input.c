/* vmrun input NAME host|guest|toggle: move the VM's keyboards and mice to
 * the host or to the guest, as the hotkey does (host/input/input.h), from
 * a script or another machine over SSH.
 *
 * Asked of the VM's supervisor on its request channel
 * (supervisor/control.h), which tells the input mover and answers once
 * the mover says where input is. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "supervisor/control.h"
#include "supervisor/runtime.h"

#define INPUT_REQUEST_TIMEOUT_MS 5000

static void help(FILE *out)
{
    fprintf(out,
            "usage: vmrun input NAME host|guest|toggle\n\n"
            "Give the running VM's keyboards and mice (its profile's \"input\" devices) to the\n"
            "host or to the guest, as the hotkey (input[].grab_toggle, both Ctrl keys by\n"
            "default) does. Whatever the side that loses input holds is released.\n"
            "Prints the side input is on afterwards.\n");
}

int cli_input(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return VMRUN_EXIT_OK;
    }
    if (argc != 3) {
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }
    const char *name = argv[1], *side = argv[2];
    if (!cli_valid_name(name))
        return VMRUN_EXIT_USAGE;
    if (strcmp(side, "host") != 0 && strcmp(side, "guest") != 0 && strcmp(side, "toggle") != 0) {
        fprintf(stderr, "vmrun input: expected host, guest or toggle, got '%s'\n", side);
        return VMRUN_EXIT_USAGE;
    }
    if (runtime_probe(name, NULL) != RUNTIME_RUNNING) {
        fprintf(stderr, "vmrun: no VM named '%s' is running\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    struct vmrun_error err = {0};
    /* Through sudo or pkexec, only the VMs the caller started. */
    if (runtime_check_manage(name, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "request", "input");
    cJSON_AddStringToObject(req, "side", side);
    cJSON *reply = NULL;
    if (control_call(name, req, &reply, INPUT_REQUEST_TIMEOUT_MS, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    int rc = VMRUN_EXIT_OK;
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "message"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
        printf("'%s': %s\n", name, msg != NULL ? msg : "done");
    } else {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "error"));
        fprintf(stderr, "vmrun: %s\n", e != NULL ? e : "the supervisor refused");
        rc = VMRUN_EXIT_FAILURE;
    }
    cJSON_Delete(reply);
    return rc;
}
