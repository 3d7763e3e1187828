/* `vmrun check`: the VM's input devices (check.h, host/input/input.h):
 * each entry's device as it is plugged in now, /dev/uinput for the
 * virtual devices, a kernel that can inhibit them, and VNC in QEMU for the
 * guest's LEDs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "check/check.h"
#include "check/check_internal.h"
#include "host/input/input_match.h"
#include "qemu/qemu_probe.h"
#include "sys/hostpath.h"

/* /dev/input/eventN: a number the kernel gives again on every plug. */
static bool numbered_node(const char *path)
{
    const char *base = strrchr(path, '/');
    return strncmp(path, "/dev/input/event", 16) == 0 && base != NULL &&
           strncmp(base + 1, "event", 5) == 0;
}

static void check_entry(struct check_report *r, size_t i, const struct vm_input *in,
                        const struct input_nodes *nodes)
{
    char name[32], what[256];
    snprintf(name, sizeof(name), "input[%zu]", i);
    struct input_spec spec;
    input_spec_of(in, &spec);
    input_spec_describe(&spec, what, sizeof(what));
    size_t idx[8], n;
    struct vmrun_error err = {0};
    int e = input_match(&spec, nodes, idx, 8, &n, &err);
    struct check_item *it;
    if (e == -EEXIST) {
        check_add(r, name, CHECK_FAIL, "%s", err.msg);
        return;
    }
    if (e < 0) {
        check_add(r, name, CHECK_FAIL, "%s", err.msg);
        return;
    }
    if (n == 0) {
        it = check_add(r, name, in->required ? CHECK_FAIL : CHECK_WARN,
                       "no input device is %s now%s", what,
                       in->required ? ", and the entry is required"
                                    : ": the VM gets it when it is plugged in");
        check_hint(r, it,
                   "plug it in; `ls -l /dev/input/by-id` and `cat /proc/bus/input/devices` "
                   "list what the host has");
        return;
    }
    char list[512] = "";
    for (size_t k = 0; k < n; k++)
        text_append(list, sizeof(list), "%s%s", k ? ", " : "", nodes->items[idx[k]].node);
    if (in->evdev != NULL && numbered_node(in->evdev)) {
        it = check_add(r, name, CHECK_WARN,
                       "%s is \"%s\", but its number changes when it is plugged in again", what,
                       nodes->items[idx[0]].name);
        check_hint(r, it,
                   "name it by a path under /dev/input/by-id, or as \"device\": "
                   "\"%04x:%04x\"",
                   nodes->items[idx[0]].vendor, nodes->items[idx[0]].product);
        return;
    }
    check_add(r, name, CHECK_PASS,
              "%s is \"%s\" (%s); QEMU reads a virtual device vmrun makes "
              "for it",
              what, nodes->items[idx[0]].name, list);
}

/* Does this kernel have the inhibited attribute (Linux 5.11)? Any input
 * device tells; none at all: unknown (-1). */
static int kernel_inhibits(void)
{
    char dir[PATH_MAX];
    if (host_path(dir, sizeof(dir), HOST_SYS, "/class/input") < 0)
        return -1;
    cleanup_closedir DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "input", 5) != 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s/inhibited", dir, e->d_name) < (int)sizeof(path))
            return access(path, F_OK) == 0;
    }
    return -1;
}

void check_input(const struct vm_profile *p, struct check_report *r)
{
    if (p->n_inputs == 0)
        return;
    struct input_nodes nodes;
    struct vmrun_error err = {0};
    if (input_nodes_scan(&nodes, &err) < 0) {
        check_add(r, "input", CHECK_FAIL, "cannot list the input devices: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < p->n_inputs; i++)
        check_entry(r, i, &p->inputs[i], &nodes);
    input_nodes_free(&nodes);

    char path[PATH_MAX];
    struct check_item *it;
    if (host_path(path, sizeof(path), HOST_DEV, "/uinput") == 0 && access(path, F_OK) < 0) {
        it = check_add(r, "input: uinput", CHECK_WARN,
                       "%s is missing: vmrun loads the uinput module at start", path);
        check_hint(r, it, "the kernel needs CONFIG_INPUT_UINPUT (modprobe uinput)");
    } else {
        check_add(r, "input: uinput", CHECK_PASS, "%s: vmrun makes the virtual devices there",
                  path);
    }
    int inh = kernel_inhibits();
    if (inh == 0) {
        it = check_add(r, "input: kernel", CHECK_FAIL,
                       "this kernel cannot inhibit input devices (no \"inhibited\" attribute)");
        check_hint(r, it, "boot Linux 5.11 or later");
    } else if (inh == 1) {
        check_add(r, "input: kernel", CHECK_PASS, "input devices can be inhibited");
    }
    const char *args[] = {"-vnc", "none", "-version", NULL};
    char out[256];
    struct vmrun_error perr = {0};
    if (qemu_probe_output(p->qemu.binary != NULL ? p->qemu.binary : "qemu-system-x86_64", args, out,
                          sizeof(out), &perr) == 0) {
        check_add(r, "input: LEDs", CHECK_PASS,
                  "QEMU has VNC: the keyboard LEDs follow the guest while it has input");
    } else {
        it = check_add(r, "input: LEDs", CHECK_WARN,
                       "QEMU has no VNC server: the keyboard LEDs will not follow the guest");
        check_hint(r, it, "a QEMU built with VNC (every distribution's is)");
    }
}
