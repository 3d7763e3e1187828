/* vmrun input NAME host|guest|toggle: move the VM's keyboards and mice to
 * the host or to the guest, as the hotkey does (host/input/input.h), from
 * a script or another machine over SSH.
 *
 * The request goes into the runtime directory (input-request), the
 * supervisor is woken with SIGUSR1 and tells the input mover; the answer
 * is the side input.json shows afterwards. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "host/input/input.h"
#include "supervisor/runtime.h"

#define INPUT_ANSWER_MS 5000

static void help(FILE *out)
{
    fprintf(out,
            "usage: vmrun input NAME host|guest|toggle\n\n"
            "Give the running VM's keyboards and mice (its profile's \"input\" devices) to the\n"
            "host or to the guest, as the hotkey (input[].grab_toggle, both Ctrl keys by\n"
            "default) does. Whatever the side that loses input holds is released.\n"
            "Prints the side input is on afterwards.\n");
}

/* The side input.json says (0 host, 1 guest), or -1 when there is none. */
static int read_side(const char *name)
{
    char path[PATH_MAX], buf[64 * 1024];
    if (runtime_path(path, sizeof(path), name, INPUT_STATUS_FILE) < 0)
        return -1;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    const cJSON *side = cJSON_GetObjectItemCaseSensitive(j, "side");
    int r = !cJSON_IsString(side) ? -1 : strcmp(side->valuestring, "guest") == 0 ? 1 : 0;
    cJSON_Delete(j);
    return r;
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
    const char *name = argv[1], *what = argv[2];
    if (!cli_valid_name(name))
        return VMRUN_EXIT_USAGE;
    int want;
    if (strcmp(what, "host") == 0)
        want = 0;
    else if (strcmp(what, "guest") == 0)
        want = 1;
    else if (strcmp(what, "toggle") == 0)
        want = 2;
    else {
        fprintf(stderr, "vmrun input: expected host, guest or toggle, got '%s'\n", what);
        return VMRUN_EXIT_USAGE;
    }

    pid_t sup = 0;
    enum runtime_state st = runtime_probe(name, &sup);
    if (st != RUNTIME_RUNNING || sup <= 0) {
        fprintf(stderr, "vmrun: no VM named '%s' is running\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    struct vmrun_error err = {0};
    /* Through sudo or pkexec, only the VMs the caller started. */
    if (runtime_check_manage(name, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    int before = read_side(name);
    if (before < 0) {
        fprintf(stderr, "vmrun: '%s' has no input devices (or has not started them yet)\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    if (want == 2)
        want = !before;
    struct vm_runtime rt = {.lock_fd = -1};
    snprintf(rt.name, sizeof(rt.name), "%s", name);
    runtime_path(rt.dir, sizeof(rt.dir), name, NULL);
    char request[16];
    snprintf(request, sizeof(request), "%s\n", want ? "guest" : "host");
    if (runtime_write_file(&rt, INPUT_REQUEST_FILE, request, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    if (kill(sup, SIGUSR1) < 0) {
        fprintf(stderr, "vmrun: cannot signal the supervisor (pid %ld): %s\n", (long)sup,
                strerror(errno));
        return VMRUN_EXIT_FAILURE;
    }
    for (int waited = 0; waited < INPUT_ANSWER_MS; waited += 20) {
        if (read_side(name) == want) {
            printf("'%s': input is with the %s\n", name, want ? "guest" : "host");
            return VMRUN_EXIT_OK;
        }
        usleep(20000);
    }
    fprintf(stderr, "vmrun: '%s' did not move input to the %s within %d s; see 'vmrun status %s'\n",
            name, want ? "guest" : "host", INPUT_ANSWER_MS / 1000, name);
    return VMRUN_EXIT_FAILURE;
}
