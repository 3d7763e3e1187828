/* vmrun print-cmd PROFILE: show the QEMU command line a profile gives,
 * shell-quoted and ready to paste. Changes nothing on the host and needs no
 * privileges: the host facts are the fixed defaults of
 * vm_host_facts_default(), not a prepared host. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "host/usb/usb_rule.h"
#include "profile/profile.h"
#include "qemu/cmdline.h"
#include "qemu/qemu_fds.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vmrun print-cmd [--trust-profile] PROFILE\n\n"
                 "Print the QEMU command line that PROFILE gives, one option per line,\n"
                 "quoted for a POSIX shell. Host-dependent paths are shown at their usual\n"
                 "places (/dev/hugepages/vmrun-NAME, /var/lib/vmrun/NAME/...). The file\n"
                 "descriptors QEMU inherits from vmrun (fd=N in the command line) are listed\n"
                 "after it, and for UEFI the firmware descriptor chosen and why. Nothing on\n"
                 "the host is changed.\n\n"
                 "options:\n" CLI_TRUST_PROFILE_HELP
                 "  -h, --help  show this help\n");
}

int cli_print_cmd(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VMRUN_EXIT_OK;
    }
    const char *arg = NULL;
    bool trust = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trust-profile") == 0 && arg == NULL) {
            trust = true;
            continue;
        }
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc && arg == NULL) {
            arg = argv[++i];
            continue;
        }
        if (argv[i][0] == '-' && arg == NULL) {
            fprintf(stderr, "vmrun print-cmd: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return VMRUN_EXIT_USAGE;
        }
        if (arg != NULL) {
            fprintf(stderr, "vmrun print-cmd: one PROFILE only\n");
            return VMRUN_EXIT_USAGE;
        }
        arg = argv[i];
    }
    if (arg == NULL) {
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }

    struct vm_profile p = {0};
    int r = cli_load_profile(arg, trust, &p, NULL, 0);
    if (r != 0)
        return r;

    struct argv_list a = {0};
    struct firmware_choice fw;
    if ((r = cli_choose_firmware(&p, arg, &fw)) != 0 ||
        (r = cli_build_argv_with_firmware(&p, arg, &fw, &a)) != 0) {
        profile_free(&p);
        return r;
    }
    qemu_print_argv(stdout, &a);
    /* Which firmware, and why: the command alone shows files, not the
     * descriptor they came from. */
    if (fw.uefi) {
        printf("# firmware: %s\n", fw.why);
        if (fw.descriptor[0] != '\0' && p.firmware.code == NULL)
            printf("# firmware: descriptor %s (%s)\n", fw.descriptor, fw.description);
        if (fw.vars_template[0] != '\0')
            printf("# firmware: the VM's variables start as a copy of %s\n", fw.vars_template);
    }
    /* What the fd numbers stand for: vmrun opens them before QEMU starts,
     * in this order (qemu/cmdline.h). */
    struct vm_host_facts facts;
    struct vm_host_facts_storage storage;
    vm_host_facts_default(&facts, &storage, &p, NULL, NULL);
    vm_host_facts_set_firmware(&facts, &storage, &p, &fw);
    struct qemu_fds fds;
    qemu_fds_init(&fds);
    qemu_fds_add(&fds, -1, "QMP: a connected socket; vmrun holds the other end");
    for (size_t i = 0; i < facts.n_files; i++) {
        qemu_fds_add(&fds, -1, facts.files[i].what);
        if (facts.files[i].ro_fd >= 0) {
            char twin[200];
            snprintf(twin, sizeof(twin), "the same file, read-only (fd %d's twin)",
                     facts.files[i].fd);
            qemu_fds_add(&fds, -1, twin);
        }
    }
    if (p.tpm.present)
        qemu_fds_add(&fds, -1, "TPM: swtpm's control channel, a connected socket; swtpm holds "
                               "the other end");
    for (size_t i = 0; i < p.n_nets && i < VM_NETS_MAX; i++) {
        char what[160];
        if (p.nets[i].type == VM_NET_BRIDGE)
            snprintf(what, sizeof(what), "network[%zu]: a tap vmrun makes on bridge %s", i,
                     p.nets[i].bridge);
        else if (p.nets[i].type == VM_NET_TAP)
            snprintf(what, sizeof(what), "network[%zu]: tap %s, opened by vmrun", i, p.nets[i].tap);
        else
            continue;
        qemu_fds_add(&fds, -1, what);
    }
    for (size_t i = 0; i < p.n_inputs && i < VM_INPUTS_MAX; i++) {
        char what[160];
        snprintf(what, sizeof(what),
                 "input[%zu]: the virtual input device vmrun makes for %s (O_PATH)", i,
                 p.inputs[i].evdev != NULL    ? p.inputs[i].evdev
                 : p.inputs[i].device != NULL ? p.inputs[i].device
                                              : "its device");
        qemu_fds_add(&fds, -1, what);
    }
    qemu_fds_print(stdout, &fds);
    /* Host USB devices are not on the command line: vmrun plugs them in
     * while the VM runs (supervisor/usb_hotplug.h). */
    for (size_t i = 0; i < p.n_usb; i++) {
        char what[512];
        usb_rule_describe(&p.usb[i], what, sizeof(what));
        printf("# usb[%zu]: %s: each such device is plugged in by vmrun over QMP (a node it "
               "opens), at start and whenever one appears\n",
               i, what);
    }
    argv_list_free(&a);
    profile_free(&p);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("vmrun: writing the command line");
        return VMRUN_EXIT_FAILURE;
    }
    return VMRUN_EXIT_OK;
}
