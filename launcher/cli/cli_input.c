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

#include "cli/cli.h"
#include "cli/cli_common.h"
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
    /* Through sudo or pkexec, only the VMs the caller started. */
    if (cli_may_manage(name) != 0)
        return VMRUN_EXIT_FAILURE;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "request", "input");
    cJSON_AddStringToObject(req, "side", side);
    return cli_control_request(name, req, INPUT_REQUEST_TIMEOUT_MS);
}
