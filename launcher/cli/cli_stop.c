/* vmrun stop NAME [--timeout S] [--force] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "supervisor/recover.h"
#include "supervisor/runtime.h"
#include "supervisor/supervisor.h"
#include "sys/hostpath.h"

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

static int write_request(const char *name, long timeout, bool force, const char *reply,
                         struct vmrun_error *err)
{
    cJSON *j = cJSON_CreateObject();
    if (timeout >= 0)
        cJSON_AddNumberToObject(j, "timeout", (double)timeout);
    cJSON_AddBoolToObject(j, "force", force);
    cJSON_AddStringToObject(j, "reply", reply);
    cleanup_free char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL)
        return vmrun_fail(err, ENOMEM, "stop request");
    struct vm_runtime rt = {.lock_fd = -1};
    snprintf(rt.name, sizeof(rt.name), "%s", name);
    runtime_path(rt.dir, sizeof(rt.dir), name, NULL);
    return runtime_write_file(&rt, "stop-request", text, err);
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
    struct vmrun_error err = {0};
    /* Through sudo or pkexec, only the VMs the caller started
     * (priv/access.h). */
    if (runtime_check_manage(name, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
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

    /* The supervisor writes how the VM ended into a file we own. */
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/.stop-XXXXXX", host_root(HOST_RUN));
    char *dir = mkdtemp(tmpl);
    char reply[PATH_MAX] = "";
    if (dir != NULL) {
        snprintf(reply, sizeof(reply), "%s/reply", dir);
        int fd = open(reply, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    if (write_request(name, force ? 0 : timeout, force, reply, &err) < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
        return VMRUN_EXIT_FAILURE;
    }
    if (kill(sup, SIGTERM) < 0) {
        fprintf(stderr, "vmrun: cannot signal the supervisor (pid %ld): %s\n", (long)sup,
                strerror(errno));
        return VMRUN_EXIT_FAILURE;
    }
    printf("stopping '%s'%s\n", name, force ? " (quit now)" : " (ACPI power-off)");
    fflush(stdout);

    /* The supervisor bounds its own stop (timeout, quit, kill); wait for it
     * with a generous margin on top, never forever. */
    long wait_s = (timeout >= 0 ? timeout : 3600) + SUPERVISOR_QUIT_GRACE_S + 60;
    int rc = VMRUN_EXIT_OK;
    if (runtime_wait_released(name, wait_s) < 0) {
        fprintf(stderr, "vmrun: '%s' is still stopping after %ld s; see 'vmrun status %s'\n", name,
                wait_s, name);
        rc = VMRUN_EXIT_FAILURE;
    }
    if (rc == VMRUN_EXIT_OK) {
        char buf[4096] = "";
        FILE *f = reply[0] ? fopen(reply, "re") : NULL;
        if (f != NULL) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        cJSON *j = cJSON_Parse(buf);
        const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(j, "outcome");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
        if (cJSON_IsString(outcome)) {
            printf("'%s': %s\n", name, outcome->valuestring);
            if (cJSON_IsNumber(code) &&
                (code->valueint == VM_QEMU_FAILED || code->valueint == VM_NOT_STARTED)) {
                rc = VMRUN_EXIT_FAILURE;
                if (cJSON_IsString(detail))
                    fprintf(stderr, "vmrun: %s\n", detail->valuestring);
            }
        } else {
            printf("'%s' stopped\n", name);
        }
        cJSON_Delete(j);
    }
    if (reply[0] != '\0') {
        unlink(reply);
        rmdir(dir);
    }
    return rc;
}
