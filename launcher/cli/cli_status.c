/* vmrun status [NAME] [--json] and vmrun list [--json].
 *
 * JSON shapes (stable; documented in README.md):
 *   list:   {"vms": [{"name", "state", "supervisor_pid", "qemu_pid", "uptime_s"}]}
 *   status: {"name", "state", "profile", "description" (when the profile has
 *            one), "supervisor_pid", "qemu_pid", "uptime_s",
 *            "vcpus": [{"index", "thread", "pin", "cpus_allowed"}],
 *            "iothreads": [{"thread", "cpus_allowed"}],
 *            "emulator": [{"thread", "name", "cpus_allowed"}],
 *            "memory": {"bytes", "hugepage_kb", "numa_node", "file", "qemu_rss_bytes"},
 *            "vfio_groups": [N, ...],
 *            "usb": [{"id", "port", "bus", "device", "vendor", "product",
 *                     "serial", "manufacturer", "name", "speed", "rule",
 *                     "since"}]  (supervisor/usb_hotplug.h),
 *            "input" (with input devices): {"side", "leds", "leds_follow_guest", "moved",
 *                    "devices": [{"input", "match", "required", "hotkey", "virtual",
 *                                 "attached": [{"node", "name"}]}]}}
 * state is "running", "preparing", "stopping" or "stale" (a dead supervisor;
 * cleaned up when run as root). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "qemu/pin.h"
#include "supervisor/recover.h"
#include "supervisor/runtime.h"
#include "supervisor/usb_hotplug.h"
#include "supervisor/vmstate.h"
#include "host/input/input.h"
#include "sys/hostpath.h"

static int read_state(const char *name, struct vm_state *st)
{
    char path[PATH_MAX];
    runtime_path(path, sizeof(path), name, "state.json");
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    static char buf[256 * 1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    return vm_state_from_json(buf, st);
}

static void read_status_field(pid_t pid, pid_t tid, const char *field, char *buf, size_t len)
{
    char path[PATH_MAX];
    buf[0] = '\0';
    if (tid > 0)
        host_path(path, sizeof(path), HOST_PROC, "/%ld/task/%ld/status", (long)pid, (long)tid);
    else
        host_path(path, sizeof(path), HOST_PROC, "/%ld/status", (long)pid);
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    char line[512];
    size_t flen = strlen(field);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            char *v = line + flen + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = '\0';
            snprintf(buf, len, "%s", v);
            return;
        }
    }
}

static bool in_list(pid_t t, const pid_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == t)
            return true;
    return false;
}

/* The host USB devices in the VM, as its supervisor publishes them
 * (supervisor/usb_hotplug.h): an array, empty without any. */
/* A JSON file the supervisor keeps in the runtime directory, parsed (NULL
 * when there is none). */
static cJSON *runtime_json(const char *name, const char *file)
{
    char path[PATH_MAX];
    runtime_path(path, sizeof(path), name, file);
    cleanup_fclose FILE *f = fopen(path, "re");
    static char buf[256 * 1024];
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

static cJSON *usb_json(const char *name)
{
    cJSON *raw = runtime_json(name, USB_HOTPLUG_FILE);
    cJSON *usb = cJSON_DetachItemFromObjectCaseSensitive(raw, "usb");
    cJSON_Delete(raw);
    if (!cJSON_IsArray(usb)) {
        cJSON_Delete(usb);
        usb = cJSON_CreateArray();
    }
    return usb;
}

/* The state of one VM as JSON, read back from the kernel where it can be. */
static cJSON *vm_json(const char *name, bool clean_stale)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    pid_t sup = 0;
    enum runtime_state rs = runtime_probe(name, &sup);
    if (rs != RUNTIME_RUNNING) {
        cJSON_AddStringToObject(j, "state", rs == RUNTIME_STALE ? "stale" : "absent");
        struct vmrun_error merr = {0};
        if (rs == RUNTIME_STALE && clean_stale && geteuid() == 0 &&
            runtime_check_manage(name, &merr) == 0) {
            struct vmrun_error err = {0};
            bool ok = vm_recover(name, NULL, NULL, &err) == 0;
            cJSON_AddBoolToObject(j, "cleaned", ok);
            if (!ok)
                cJSON_AddStringToObject(j, "error", err.msg);
        }
        return j;
    }
    struct vm_state st;
    if (read_state(name, &st) < 0) {
        cJSON_AddStringToObject(j, "state", "starting");
        cJSON_AddNumberToObject(j, "supervisor_pid", sup);
        return j;
    }
    cJSON_AddStringToObject(j, "state", st.state);
    cJSON_AddStringToObject(j, "profile", st.profile);
    cJSON_AddNumberToObject(j, "supervisor_pid", st.supervisor_pid);
    cJSON_AddNumberToObject(j, "qemu_pid", st.qemu_pid);
    cJSON_AddNumberToObject(j, "uptime_s",
                            st.started_at ? (double)(time(NULL) - st.started_at) : 0);

    /* The pinning asked for comes from state.json; what is in effect is
     * read back from the kernel. */
    char path[PATH_MAX];
    runtime_path(path, sizeof(path), name, "state.json");
    cJSON *pin = NULL;
    {
        cleanup_fclose FILE *f = fopen(path, "re");
        static char buf[256 * 1024];
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        buf[n] = '\0';
        cJSON *raw = cJSON_Parse(buf);
        pin = cJSON_DetachItemFromObjectCaseSensitive(raw, "pin");
        cJSON *desc = cJSON_DetachItemFromObjectCaseSensitive(raw, "description");
        if (cJSON_IsString(desc))
            cJSON_AddItemToObject(j, "description", desc);
        else
            cJSON_Delete(desc);
        cJSON_Delete(raw);
    }
    const cJSON *pin_vcpus = cJSON_GetObjectItemCaseSensitive(pin, "vcpus");
    cJSON *vcpus = cJSON_AddArrayToObject(j, "vcpus");
    for (size_t i = 0; i < st.threads.n_vcpu; i++) {
        cJSON *v = cJSON_CreateObject();
        char allowed[256];
        cJSON_AddNumberToObject(v, "index", (double)i);
        cJSON_AddNumberToObject(v, "thread", st.threads.vcpu[i]);
        const cJSON *want = cJSON_GetArrayItem(pin_vcpus, (int)i);
        if (cJSON_IsNumber(want))
            cJSON_AddNumberToObject(v, "pin", want->valuedouble);
        if (pin_read_affinity(st.qemu_pid, st.threads.vcpu[i], allowed, sizeof(allowed)) == 0)
            cJSON_AddStringToObject(v, "cpus_allowed", allowed);
        cJSON_AddItemToArray(vcpus, v);
    }
    cJSON *io = cJSON_AddArrayToObject(j, "iothreads");
    for (size_t i = 0; i < st.threads.n_io; i++) {
        cJSON *v = cJSON_CreateObject();
        char allowed[256];
        cJSON_AddNumberToObject(v, "thread", st.threads.io[i]);
        if (pin_read_affinity(st.qemu_pid, st.threads.io[i], allowed, sizeof(allowed)) == 0)
            cJSON_AddStringToObject(v, "cpus_allowed", allowed);
        cJSON_AddItemToArray(io, v);
    }
    cJSON *emu = cJSON_AddArrayToObject(j, "emulator");
    if (st.qemu_pid > 0 &&
        host_path(path, sizeof(path), HOST_PROC, "/%ld/task", (long)st.qemu_pid) == 0) {
        cleanup_closedir DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
            if (tid <= 0 || in_list(tid, st.threads.vcpu, st.threads.n_vcpu) ||
                in_list(tid, st.threads.io, st.threads.n_io))
                continue;
            cJSON *v = cJSON_CreateObject();
            char allowed[256], tname[64];
            cJSON_AddNumberToObject(v, "thread", tid);
            read_status_field(st.qemu_pid, tid, "Name", tname, sizeof(tname));
            cJSON_AddStringToObject(v, "name", tname);
            if (pin_read_affinity(st.qemu_pid, tid, allowed, sizeof(allowed)) == 0)
                cJSON_AddStringToObject(v, "cpus_allowed", allowed);
            cJSON_AddItemToArray(emu, v);
        }
    }
    cJSON_Delete(pin);

    cJSON *mem = cJSON_AddObjectToObject(j, "memory");
    cJSON_AddNumberToObject(mem, "bytes", (double)st.memory_bytes);
    cJSON_AddNumberToObject(mem, "hugepage_kb", st.hugepage_kb);
    cJSON_AddNumberToObject(mem, "numa_node", st.numa_node);
    cJSON_AddStringToObject(mem, "file", st.memory_file);
    char rss[64];
    read_status_field(st.qemu_pid, 0, "VmRSS", rss, sizeof(rss));
    cJSON_AddNumberToObject(mem, "qemu_rss_bytes", strtod(rss, NULL) * 1024.0);
    cJSON *g = cJSON_AddArrayToObject(j, "vfio_groups");
    for (size_t i = 0; i < st.n_vfio_groups; i++)
        cJSON_AddItemToArray(g, cJSON_CreateNumber(st.vfio_groups[i]));
    cJSON_AddItemToObject(j, "usb", usb_json(name));
    /* The input devices, as the supervisor last wrote them. */
    cJSON *in = runtime_json(name, INPUT_STATUS_FILE);
    if (cJSON_IsObject(in))
        cJSON_AddItemToObject(j, "input", in);
    else
        cJSON_Delete(in);
    return j;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void format_uptime(double s, char *buf, size_t len)
{
    long t = (long)s;
    snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
}

/* input: which side has it, the LEDs, and what each entry has attached. */
static void print_input(const cJSON *in)
{
    if (in == NULL)
        return;
    const cJSON *leds = cJSON_GetObjectItemCaseSensitive(in, "leds");
    printf("  input       with the %s", jstr(in, "side"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "leds_follow_guest")) &&
        cJSON_IsObject(leds)) {
        static const char *const names[] = {"caps_lock", "num_lock", "scroll_lock"};
        printf("; the guest's LEDs:");
        bool any = false;
        for (size_t i = 0; i < 3; i++)
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(leds, names[i]))) {
                printf(" %s", names[i]);
                any = true;
            }
        printf("%s", any ? "" : " none");
    }
    printf("\n");
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(in, "error")))
        printf("              %s\n", jstr(in, "error"));
    const cJSON *moved = cJSON_GetObjectItemCaseSensitive(in, "moved");
    if (moved != NULL) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(moved, "added_latency_us");
        printf("              %.0f frames moved, vmrun added p50 %.0f us, p99 %.0f us, max %.0f "
               "us; %.0f buffer overflows\n",
               jnum(moved, "frames"), jnum(lat, "p50"), jnum(lat, "p99"), jnum(lat, "max"),
               jnum(moved, "dropped"));
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(in, "devices"))
    {
        printf("  input[%.0f]    %s (QEMU reads %s):", jnum(d, "input"), jstr(d, "match"),
               jstr(d, "virtual"));
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(d, "attached");
        if (cJSON_GetArraySize(att) == 0)
            printf(" not plugged in");
        const cJSON *a;
        bool first = true;
        cJSON_ArrayForEach(a, att)
        {
            printf("%s %s \"%s\"", first ? "" : ",", jstr(a, "node"), jstr(a, "name"));
            first = false;
        }
        printf("\n");
    }
}

static void print_vm(const cJSON *j)
{
    const char *state = jstr(j, "state");
    printf("%s: %s\n", jstr(j, "name"), state);
    if (strcmp(state, "stale") == 0) {
        const cJSON *cleaned = cJSON_GetObjectItemCaseSensitive(j, "cleaned");
        if (cJSON_IsTrue(cleaned))
            printf("  its supervisor had died; the host was restored and the directory removed\n");
        else if (cleaned != NULL)
            printf("  its supervisor had died; cleaning up failed: %s\n", jstr(j, "error"));
        else
            printf("  its supervisor has died; run 'vmrun recover %s' as root\n", jstr(j, "name"));
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "qemu_pid") == NULL)
        return;
    char up[32];
    format_uptime(jnum(j, "uptime_s"), up, sizeof(up));
    printf("  profile     %s\n", jstr(j, "profile"));
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "description")))
        printf("  description %s\n", jstr(j, "description"));
    printf("  supervisor  pid %.0f\n", jnum(j, "supervisor_pid"));
    printf("  qemu        pid %.0f, up %s\n", jnum(j, "qemu_pid"), up);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "vcpus"))
    {
        const cJSON *pin = cJSON_GetObjectItemCaseSensitive(v, "pin");
        char want[32] = "-";
        if (cJSON_IsNumber(pin))
            snprintf(want, sizeof(want), "%d", pin->valueint);
        printf("  vCPU %-3.0f    thread %-7.0f pinned %-4s on CPUs %s\n", jnum(v, "index"),
               jnum(v, "thread"), want, jstr(v, "cpus_allowed"));
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "iothreads")) printf(
        "  iothread    thread %-7.0f on CPUs %s\n", jnum(v, "thread"), jstr(v, "cpus_allowed"));
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "emulator"))
        printf("  emulator    thread %-7.0f on CPUs %-10s (%s)\n", jnum(v, "thread"),
               jstr(v, "cpus_allowed"), jstr(v, "name"));
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(j, "memory");
    double hp = jnum(mem, "hugepage_kb");
    printf("  memory      %.0f MiB", jnum(mem, "bytes") / 1048576.0);
    if (hp > 0)
        printf(" in %.0f kB hugepages on node %.0f", hp, jnum(mem, "numa_node"));
    printf("; QEMU RSS %.0f MiB\n", jnum(mem, "qemu_rss_bytes") / 1048576.0);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(j, "vfio_groups");
    if (cJSON_GetArraySize(groups) > 0) {
        printf("  vfio groups");
        cJSON_ArrayForEach(v, groups) printf(" %d", v->valueint);
        printf("\n");
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "usb"))
    {
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(v, "rule");
        char by[32] = "by hand";
        if (cJSON_IsNumber(rule))
            snprintf(by, sizeof(by), "usb[%d]", rule->valueint);
        const char *what = jstr(v, "name")[0] ? jstr(v, "name") : jstr(v, "manufacturer");
        printf("  usb         %-14s %s:%s at %s, %s Mb/s (%s)%s%s\n", jstr(v, "id"),
               jstr(v, "vendor"), jstr(v, "product"), jstr(v, "port"), jstr(v, "speed"), by,
               what[0] ? " " : "", what);
    }
    print_input(cJSON_GetObjectItemCaseSensitive(j, "input"));
}

static void status_help(FILE *out)
{
    fprintf(out, "usage: vmrun status [NAME] [--json]\n\n"
                 "Show a VM's state, pids, uptime, the pinning in effect as the kernel reports\n"
                 "it, its memory and the host USB devices in it. Without NAME: every VM. A VM\n"
                 "whose supervisor died is reported as stale, and cleaned up when run as root.\n"
                 "Exit 1 when NAME is not running.\n");
}

static void list_help(FILE *out)
{
    fprintf(out, "usage: vmrun list [--json]\n\n"
                 "One line per VM with a runtime directory: name, state, QEMU pid, uptime.\n"
                 "Stale directories (dead supervisors) are cleaned up when run as root.\n");
}

static cJSON *all_vms(bool detailed)
{
    cJSON *arr = cJSON_CreateArray();
    char **names;
    size_t n;
    struct vmrun_error err = {0};
    if (runtime_list(&names, &n, &err) < 0)
        return arr;
    for (size_t i = 0; i < n; i++) {
        cJSON *vm = vm_json(names[i], true);
        if (!detailed) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "name", jstr(vm, "name"));
            cJSON_AddStringToObject(s, "state", jstr(vm, "state"));
            cJSON_AddNumberToObject(s, "supervisor_pid", jnum(vm, "supervisor_pid"));
            cJSON_AddNumberToObject(s, "qemu_pid", jnum(vm, "qemu_pid"));
            cJSON_AddNumberToObject(s, "uptime_s", jnum(vm, "uptime_s"));
            if (cJSON_GetObjectItemCaseSensitive(vm, "cleaned") != NULL)
                cJSON_AddBoolToObject(
                    s, "cleaned", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vm, "cleaned")));
            cJSON_Delete(vm);
            vm = s;
        }
        cJSON_AddItemToArray(arr, vm);
        free(names[i]);
    }
    free(names);
    return arr;
}

static void print_json(cJSON *j)
{
    char *text = cJSON_Print(j);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

/* What `status --json` (no name) and `list --json` print: {"vms": arr}.
 * Frees arr. */
static int print_vms_json(cJSON *arr)
{
    cJSON *top = cJSON_CreateObject();
    cJSON_AddItemToObject(top, "vms", arr);
    print_json(top);
    cJSON_Delete(top);
    return VMRUN_EXIT_OK;
}

int cli_status(int argc, char **argv)
{
    bool json = false;
    const char *name = NULL;
    int r = cli_parse_json_flag(argc, argv, "status", &json, &name, status_help);
    if (r != 0)
        return r < 0 ? VMRUN_EXIT_OK : r;
    if (name != NULL) {
        if (!cli_valid_name(name))
            return VMRUN_EXIT_USAGE;
        cJSON *vm = vm_json(name, true);
        const char *state = jstr(vm, "state");
        int rc = strcmp(state, "absent") == 0 || strcmp(state, "stale") == 0 ? VMRUN_EXIT_FAILURE
                                                                             : VMRUN_EXIT_OK;
        if (json)
            print_json(vm);
        else if (strcmp(state, "absent") == 0)
            printf("%s: not running\n", name);
        else
            print_vm(vm);
        cJSON_Delete(vm);
        return rc;
    }
    cJSON *arr = all_vms(true);
    if (json)
        return print_vms_json(arr);
    const cJSON *vm;
    if (cJSON_GetArraySize(arr) == 0)
        printf("no VMs are running\n");
    cJSON_ArrayForEach(vm, arr) print_vm(vm);
    cJSON_Delete(arr);
    return VMRUN_EXIT_OK;
}

int cli_list(int argc, char **argv)
{
    bool json = false;
    int r = cli_parse_json_flag(argc, argv, "list", &json, NULL, list_help);
    if (r != 0)
        return r < 0 ? VMRUN_EXIT_OK : r;
    cJSON *arr = all_vms(false);
    if (json)
        return print_vms_json(arr);
    printf("%-24s %-10s %-8s %s\n", "NAME", "STATE", "QEMU", "UPTIME");
    const cJSON *vm;
    cJSON_ArrayForEach(vm, arr)
    {
        char up[32] = "-", pid[16] = "-";
        if (jnum(vm, "qemu_pid") > 0) {
            format_uptime(jnum(vm, "uptime_s"), up, sizeof(up));
            snprintf(pid, sizeof(pid), "%.0f", jnum(vm, "qemu_pid"));
        }
        const char *state = jstr(vm, "state");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vm, "cleaned")))
            state = "stale (cleaned)";
        printf("%-24s %-10s %-8s %s\n", jstr(vm, "name"), state, pid, up);
    }
    cJSON_Delete(arr);
    return VMRUN_EXIT_OK;
}
