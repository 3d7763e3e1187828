/* vmrun: launch a GPU-passthrough VM straight from a JSON profile.
 * This file only dispatches to the subcommands (cli_*.c). */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "base/error.h"
#include "cli/cli.h"
#include "priv/caller.h"
#include "sys/signals.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"start", cli_start, "start a VM from a profile and supervise it (the default)"},
    {"stop", cli_stop, "stop a running VM gracefully (ACPI, then quit)"},
    {"input", cli_input, "give a running VM's keyboards and mice to the host or the guest"},
    {"status", cli_status, "show a VM's state, pids, pinning and memory"},
    {"list", cli_list, "list VMs with a runtime directory"},
    {"print-cmd", cli_print_cmd, "print the QEMU command line a profile gives"},
    {"check", cli_check, "check that the host is ready for a profile; changes nothing"},
    {"iommu", cli_iommu, "list IOMMU groups and their devices"},
    {"recover", cli_recover, "undo what a dead supervisor left on the host"},
    {"desktop", cli_desktop, "install or remove a desktop launcher for a profile"},
    {"import", cli_import, "write the profile of a libvirt domain XML (virsh dumpxml)"},
    {"rom", cli_rom, "dump a device's option ROM, or check a ROM file"},
    {"usb", cli_usb, "give a host USB device to a running VM, or take it back"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vmrun [start [--detach]] PROFILE\n"
                 "       vmrun COMMAND [OPTIONS] [ARGS]\n\n"
                 "PROFILE is a path (contains '/' or ends in .json) or a name looked up as\n"
                 "$XDG_CONFIG_HOME/vmrun/NAME.json, then /etc/vmrun/NAME.json.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'vmrun COMMAND --help' describes a command's options.\n"
                 "Exit codes: 0 success, 1 failure, 2 bad usage or a bad profile.\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* As root, first: is what the environment says about the caller to
     * be believed at all (priv/caller.h)? */
    struct vmrun_error cerr = {0};
    if (priv_check_caller(&cerr) < 0) {
        fprintf(stderr, "vmrun: %s\n", cerr.msg);
        return VMRUN_EXIT_USAGE;
    }
    /* Nothing a user can make sudo or a terminal send may stop root's
     * vmrun, or end it half way, but a request to stop (sys/signals.h). */
    if (geteuid() == 0)
        signals_shield();
    if (argc < 2) {
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return VMRUN_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("vmrun %s\n", VMRUN_VERSION);
        return VMRUN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        return commands[i].fn(argc - 1, argv + 1);
    }
    if (argv[1][0] == '-' && strcmp(argv[1], "--detach") != 0) {
        fprintf(stderr, "vmrun: unknown option '%s'\n", argv[1]);
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }
    /* `vmrun PROFILE` and `vmrun --detach PROFILE` mean `vmrun start ...`. */
    argv[0] = (char *)"start";
    return cli_start(argc, argv);
}
