/* vmrun stop NAME [--timeout S] [--force] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "supervisor/recover.h"
#include "supervisor/runtime.h"
#include "supervisor/stop.h"
#include "supervisor/supervisor.h"

static void help(FILE *out)
{
    fprintf(out, "usage: vmrun stop NAME [--timeout S] [--force]\n\n"
                 "Stop a running VM from any shell: ask the guest to power off (ACPI), wait up\n"
                 "to S seconds (default: the profile's shutdown.timeout), then make QEMU quit\n"
                 "(and kill it 5 s later if it must). Waits until the supervisor has put the\n"
                 "host back, and says how the VM ended.\n\n"
                 "  --timeout S  seconds to wait for the guest (0: quit at once)\n"
                 "  --force      quit at once, without asking the guest\n");
}

int cli_stop(int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long timeout = -1;
    bool force = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:fh", opts, NULL)) != -1) {
        switch (c) {
        case 't': {
            char *end;
            errno = 0;
            timeout = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || timeout < 0 || timeout > 86400) {
                fprintf(stderr, "vmrun: --timeout: expected seconds (0-86400), got '%s'\n", optarg);
                return VMRUN_EXIT_USAGE;
            }
            break;
        }
        case 'f':
            force = true;
            break;
        case 'h':
            help(stdout);
            return VMRUN_EXIT_OK;
        default:
            help(stderr);
            return VMRUN_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (!cli_valid_name(name))
        return VMRUN_EXIT_USAGE;

    pid_t sup = 0;
    enum runtime_state st = runtime_probe(name, &sup);
    if (st == RUNTIME_ABSENT) {
        fprintf(stderr, "vmrun: no VM named '%s' is running\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    if (cli_may_manage(name) != 0)
        return VMRUN_EXIT_FAILURE;
    struct vmrun_error err = {0};
    if (st == RUNTIME_STALE) {
        printf("'%s' is not running, but its supervisor died without cleaning up; recovering\n",
               name);
        if (vm_recover(name, cli_say, NULL, &err) < 0) {
            fprintf(stderr, "vmrun: %s\n", err.msg);
            return VMRUN_EXIT_FAILURE;
        }
        return VMRUN_EXIT_OK;
    }
    if (sup <= 0) {
        fprintf(stderr, "vmrun: '%s' is starting; try again in a moment\n", name);
        return VMRUN_EXIT_FAILURE;
    }

    struct stop_requester sr;
    if (stop_send(&sr, name, sup, timeout, force, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    printf("stopping '%s'%s\n", name, force ? " (quit now)" : " (ACPI power-off)");
    fflush(stdout);

    int rc = VMRUN_EXIT_OK;
    struct stop_reply reply;
    if (stop_wait(&sr, name, &reply) < 0) {
        fprintf(stderr, "vmrun: '%s' is still stopping after %ld s; see 'vmrun status %s'\n", name,
                sr.wait_s, name);
        rc = VMRUN_EXIT_FAILURE;
    } else if (reply.replied) {
        printf("'%s': %s\n", name, reply.outcome);
        if (reply.code == VM_QEMU_FAILED || reply.code == VM_NOT_STARTED) {
            rc = VMRUN_EXIT_FAILURE;
            if (reply.detail[0] != '\0')
                fprintf(stderr, "vmrun: %s\n", reply.detail);
        }
        /* The VM is gone, but the host is not as it was: the person who
         * asked must not be told all is well. */
        if (!reply.restored) {
            rc = VMRUN_EXIT_FAILURE;
            cli_say_left(name, reply.left);
        }
    } else {
        printf("'%s' stopped\n", name);
    }
    stop_requester_end(&sr);
    return rc;
}
