#include "cli/cli_common.h"
#include "supervisor/runtime.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/diag.h"
#include "base/error.h"
#include "priv/profile_open.h"
#include "qemu/cmdline.h"
#include "qemu/qemu_probe.h"
#include "supervisor/control.h"
#include "sys/keylog.h"

int cli_load_profile(const char *arg, bool trust_profile, struct vm_profile *p, char *path,
                     size_t len)
{
    struct diag_list diags = {0};
    struct vmrun_error err = {0};
    struct profile_open_opts o = {.root_vouches = trust_profile};
    char mine[PATH_MAX];
    if (path == NULL || len == 0) {
        path = mine;
        len = sizeof(mine);
    }
    /* As root the profile is resolved, trust-checked and read from one
     * fd (priv/profile_open.h, trust.h). */
    int r = priv_load_profile(arg, &o, p, path, len, &diags, &err);
    if (r < 0) {
        if (diags.n > 0)
            diag_print_all(&diags, stderr);
        else
            fprintf(stderr, "vmrun: %s\n", err.msg);
        diag_list_free(&diags);
        /* A profile that cannot be found, read or believed is bad input. */
        return VMRUN_EXIT_USAGE;
    }
    if (diags.n > 0)
        diag_print_all(&diags, stderr); /* warnings */
    diag_list_free(&diags);
    keylog_profile(path); /* the test build's record (sys/keylog.h) */
    return 0;
}

int cli_choose_firmware(const struct vm_profile *p, const char *what, struct firmware_choice *fw)
{
    struct vmrun_error err = {0};
    int r = firmware_choose(p, NULL, fw, &err);
    if (r == 0)
        return 0;
    fprintf(stderr, "vmrun: %s: %s\n", what, err.msg);
    /* A profile that contradicts the files it names is bad input; a host
     * without a matching firmware is the host's problem. */
    return r == -EINVAL ? VMRUN_EXIT_USAGE : VMRUN_EXIT_FAILURE;
}

int cli_build_default_argv(const struct vm_profile *p, const char *what, struct argv_list *a)
{
    struct firmware_choice fw;
    int r = cli_choose_firmware(p, what, &fw);
    if (r != 0)
        return r;
    return cli_build_argv_with_firmware(p, what, &fw, a);
}

int cli_build_argv_with_firmware(const struct vm_profile *p, const char *what,
                                 const struct firmware_choice *fw, struct argv_list *a)
{
    struct vm_host_facts facts;
    struct vm_host_facts_storage storage;
    struct vmrun_error err = {0};
    vm_host_facts_default(&facts, &storage, p, NULL, NULL);
    qemu_probe_facts(p, &facts);
    if (fw != NULL)
        vm_host_facts_set_firmware(&facts, &storage, p, fw);
    if (qemu_build_argv(p, &facts, a, &err) < 0) {
        fprintf(stderr, "vmrun: %s: %s\n", what, err.msg);
        return VMRUN_EXIT_USAGE;
    }
    return 0;
}

int cli_parse_json_flag(int argc, char **argv, const char *cmd, bool *json, const char **name,
                        void (*help)(FILE *))
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            *json = true;
            break;
        case 'h':
            help(stdout);
            return -1;
        default:
            help(stderr);
            return VMRUN_EXIT_USAGE;
        }
    }
    int max_args = name != NULL ? 1 : 0;
    if (argc - optind > max_args) {
        fprintf(stderr, "vmrun %s: unexpected argument '%s'\n", cmd, argv[optind + max_args]);
        help(stderr);
        return VMRUN_EXIT_USAGE;
    }
    if (name != NULL)
        *name = optind < argc ? argv[optind] : NULL;
    return 0;
}

void cli_say_left(const char *name, const char *left)
{
    fprintf(stderr,
            "vmrun: the host was not put back completely after '%s': left: %s. Its journal is "
            "kept: once the cause is fixed, 'vmrun recover %s' undoes the rest\n",
            name, left, name);
}

void cli_say(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "vmrun: %s\n", msg);
    fflush(stderr);
}

int cli_may_manage(const char *name)
{
    struct vmrun_error err = {0};
    if (runtime_check_manage(name, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    return 0;
}

int cli_control_request(const char *name, cJSON *req, int timeout_ms)
{
    struct vmrun_error err = {0};
    cJSON *reply = NULL;
    if (control_call(name, req, &reply, timeout_ms, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    int rc = VMRUN_EXIT_OK;
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "message"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
        printf("%s\n", msg != NULL ? msg : "done");
    } else {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "error"));
        fprintf(stderr, "vmrun: %s\n", e != NULL ? e : "the supervisor refused");
        rc = VMRUN_EXIT_FAILURE;
    }
    cJSON_Delete(reply);
    return rc;
}

bool cli_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROFILE_NAME_MAX ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "abcdefghijklmnopqrstuvwxyz"
                     "0123456789_.-") != n ||
        name[0] == '.') {
        fprintf(stderr, "vmrun: '%s' is not a VM name ([A-Za-z0-9_.-], 1-64 characters)\n", name);
        return false;
    }
    return true;
}
