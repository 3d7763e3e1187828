/* vmrun check [--json] [--force] PROFILE: is this host ready to start
 * PROFILE? One line per check (check.h lists them), PASS, WARN or FAIL,
 * with a hint under what is not a PASS. Changes nothing on the host.
 *
 * Exit codes: 0 ready (no FAIL; WARNs allowed), 1 at least one FAIL, 2 bad
 * usage or a bad profile (one that does not load, or whose QEMU command line
 * cannot be built).
 *
 * Text:
 *   PASS  kvm                     /dev/kvm opens read-write, KVM API version 12
 *   FAIL  pci 0000:01:00.0        0000:01:00.0 NVIDIA ...: IOMMU group 1 is not viable: ...
 *         fix: every endpoint of a group goes to the VM ...
 *   ready: no       (or "ready: yes")
 *
 * JSON (stable shape), on stdout, also when not ready:
 *   {"profile": "/etc/vmrun/gaming.json",   the resolved path
 *    "name": "gaming",
 *    "ready": false,                        no FAIL among the checks
 *    "checks": [{"name": "kvm",             see check.h for the names
 *                "result": "PASS" | "WARN" | "FAIL",
 *                "detail": "what was found",
 *                "hint": "how to fix it" | null}]}
 * A bad profile prints its diagnostics on stderr and nothing on stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "check/check.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "profile/profile.h"
#include "qemu/cmdline.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vmrun check [--json] [--force] [--trust-profile] PROFILE\n\n"
                 "Check that this host is ready to start PROFILE, in the manner of\n"
                 "virt-host-validate: KVM, QEMU and its version, firmware and disk files, pinned\n"
                 "CPUs, memory and hugepages on the VM's NUMA node, RLIMIT_MEMLOCK, the IOMMU,\n"
                 "vfio-pci, and each PCI device's IOMMU group, driver and users. One line per\n"
                 "check, PASS, WARN or FAIL, with a hint how to fix it. Changes nothing.\n\n"
                 "options:\n"
                 "  --json      machine-readable output (shape documented in cli_check.c)\n"
                 "  --force     judge devices in use as 'vmrun start --force' would\n"
                 CLI_TRUST_PROFILE_HELP                 "  -h, --help  show this help\n\n"
                 "Exit codes: 0 ready, 1 at least one FAIL, 2 bad usage or a bad profile.\n");
}

static void print_text(const struct check_report *rep, bool ready)
{
    for (size_t i = 0; i < rep->n; i++) {
        const struct check_item *it = &rep->items[i];
        printf("%s  %-23s %s\n", check_result_name(it->result), it->name, it->detail);
        if (it->hint != NULL)
            printf("      fix: %s\n", it->hint);
    }
    printf("ready: %s\n", ready ? "yes" : "no");
}

static int print_json(const struct check_report *rep, bool ready, const char *path,
                      const char *name)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *checks = cJSON_CreateArray();
    if (root == NULL || checks == NULL)
        goto oom;
    cJSON_AddStringToObject(root, "profile", path);
    cJSON_AddStringToObject(root, "name", name);
    cJSON_AddBoolToObject(root, "ready", ready);
    cJSON_AddItemToObject(root, "checks", checks);
    for (size_t i = 0; i < rep->n; i++) {
        const struct check_item *it = &rep->items[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            goto oom;
        cJSON_AddItemToArray(checks, o);
        cJSON_AddStringToObject(o, "name", it->name);
        cJSON_AddStringToObject(o, "result", check_result_name(it->result));
        cJSON_AddStringToObject(o, "detail", it->detail);
        if (it->hint != NULL)
            cJSON_AddStringToObject(o, "hint", it->hint);
        else
            cJSON_AddNullToObject(o, "hint");
    }
    char *text = cJSON_Print(root);
    if (text == NULL)
        goto oom;
    puts(text);
    free(text);
    cJSON_Delete(root);
    return 0;
oom:
    cJSON_Delete(root);
    return -1;
}

int cli_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},
        {"trust-profile", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, trust = false;
    struct check_options opt = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'f':
            opt.force = true;
            break;
        case 't':
            trust = true;
            break;
        case 'h':
            usage(stdout);
            return VMRUN_EXIT_OK;
        default:
            fprintf(stderr, "vmrun check: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return VMRUN_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vmrun check: %s\n",
                optind >= argc ? "a PROFILE is needed" : "one PROFILE only");
        usage(stderr);
        return VMRUN_EXIT_USAGE;
    }
    const char *arg = argv[optind];

    struct vm_profile p = {0};
    char path[PATH_MAX] = "";
    int r = cli_load_profile(arg, trust, &p, path, sizeof(path));
    if (r != 0)
        return r;

    /* What the argv builder refuses, `vmrun start` refuses too, before it
     * looks at the host: that is a bad profile, not an unready host. */
    struct argv_list a = {0};
    struct firmware_choice fw;
    struct vmrun_error ferr = {0};
    int fr = firmware_choose(&p, NULL, &fw, &ferr);
    if (fr == -EINVAL) {
        /* The profile contradicts the firmware files it names. */
        fprintf(stderr, "vmrun: %s: %s\n", path, ferr.msg);
        profile_free(&p);
        return VMRUN_EXIT_USAGE;
    }
    /* Without a firmware that fits (the "firmware" check says why), the
     * rest of the profile is checked as if it asked for the BIOS. */
    struct vm_profile bios = p;
    if (fr < 0) {
        bios.firmware.type = VM_FIRMWARE_BIOS;
        bios.firmware.code = bios.firmware.vars_template = NULL;
    }
    if ((r = cli_build_argv_with_firmware(fr < 0 ? &bios : &p, path, fr < 0 ? NULL : &fw, &a)) !=
        0) {
        profile_free(&p);
        return r;
    }
    argv_list_free(&a);
    struct vmrun_error err = {0};

    struct check_report rep;
    r = check_profile(&p, &opt, &rep, &err);
    if (r < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        profile_free(&p);
        return VMRUN_EXIT_FAILURE;
    }
    bool ready = check_report_ready(&rep);
    int rc = ready ? VMRUN_EXIT_OK : VMRUN_EXIT_FAILURE;
    if (json) {
        if (print_json(&rep, ready, path, p.name) < 0) {
            fprintf(stderr, "vmrun: out of memory\n");
            rc = VMRUN_EXIT_FAILURE;
        }
    } else {
        print_text(&rep, ready);
    }
    check_report_free(&rep);
    profile_free(&p);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("vmrun: writing the report");
        return VMRUN_EXIT_FAILURE;
    }
    return rc;
}
