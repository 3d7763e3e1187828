/* vmrun recover [NAME]: undo what dead supervisors left on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "supervisor/recover.h"
#include "supervisor/runtime.h"

static void help(FILE *out)
{
    fprintf(out, "usage: vmrun recover [NAME]\n\n"
                 "Undo, step by step, what the journal of a VM whose supervisor died lists\n"
                 "(devices back to their drivers, hugepages released, governors restored),\n"
                 "and remove its runtime directory. Without NAME: every such VM.\n"
                 "A running VM is left alone. Exit 0 when everything was undone.\n");
}

static int recover_one(const char *name)
{
    struct vmrun_error err = {0};
    enum runtime_state st = runtime_probe(name, NULL);
    if (st == RUNTIME_RUNNING) {
        fprintf(stderr, "vmrun: '%s' is running: nothing to recover\n", name);
        return VMRUN_EXIT_FAILURE;
    }
    if (st == RUNTIME_ABSENT) {
        printf("'%s': nothing to recover\n", name);
        return VMRUN_EXIT_OK;
    }
    if (cli_may_manage(name) != 0)
        return VMRUN_EXIT_FAILURE;
    printf("recovering '%s'\n", name);
    fflush(stdout);
    if (vm_recover(name, cli_say, NULL, &err) < 0) {
        fprintf(stderr, "vmrun: recovering '%s' failed: %s\n", name, err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    printf("'%s': host restored\n", name);
    return VMRUN_EXIT_OK;
}

int cli_recover(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return VMRUN_EXIT_OK;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }
    if (argc == 2)
        return cli_valid_name(argv[1]) ? recover_one(argv[1]) : VMRUN_EXIT_USAGE;

    char **names;
    size_t n;
    struct vmrun_error err = {0};
    if (runtime_list(&names, &n, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    int rc = VMRUN_EXIT_OK, found = 0;
    for (size_t i = 0; i < n; i++) {
        struct vmrun_error merr = {0};
        if (runtime_probe(names[i], NULL) == RUNTIME_STALE &&
            runtime_check_manage(names[i], &merr) < 0) {
            printf("leaving '%s' alone: %s\n", names[i], merr.msg);
        } else if (runtime_probe(names[i], NULL) == RUNTIME_STALE) {
            found++;
            if (recover_one(names[i]) != VMRUN_EXIT_OK)
                rc = VMRUN_EXIT_FAILURE;
        }
        free(names[i]);
    }
    free(names);
    if (found == 0)
        printf("nothing to recover\n");
    return rc;
}
