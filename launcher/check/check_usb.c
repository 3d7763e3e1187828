/* `vmrun check`: host USB devices (check.h). Whether the QEMU that runs
 * can take a device node vmrun opens (the only way a sandboxed QEMU gets
 * one), and for each usb[] rule the devices plugged in now that it takes,
 * and whether the host uses them. Read-only: nothing is opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "check/check_internal.h"
#include "host/usb/usb_dev.h"
#include "host/usb/usb_rule.h"
#include "host/usb/usb_users.h"
#include "qemu/qemu_usb.h"

static void check_qemu_usb(const struct vm_profile *p, struct check_report *r)
{
    const char *bin = p->qemu.binary != NULL ? p->qemu.binary : "qemu-system-x86_64";
    char missing[512];
    struct vmrun_error err = {0};
    int rc = qemu_usb_probe(bin, missing, sizeof(missing), &err);
    if (rc < 0) {
        check_add(r, "qemu.usb", CHECK_WARN, "could not ask QEMU about usb-host: %s", err.msg);
        return;
    }
    if (rc == 1) {
        check_add(r, "qemu.usb", CHECK_PASS,
                  "QEMU's usb-host takes a device node vmrun opens (hostdevice=/dev/fdset/N)");
        return;
    }
    /* Without rules the controller still works; only attaching does not. */
    struct check_item *it = check_add(r, "qemu.usb", p->n_usb > 0 ? CHECK_FAIL : CHECK_WARN,
                                      "%s; %s", missing,
                                      p->n_usb > 0 ? "usb[] cannot be followed"
                                                   : "vmrun usb attach cannot work");
    check_hint(r, it,
               "install a QEMU built with libusb 1.0.23 or later (Debian, Fedora, Arch and "
               "Ubuntu build theirs so), or point qemu.binary at one");
}

static void check_rule(const struct vm_profile *p, size_t i, const struct usb_dev *devs,
                       size_t n, struct check_report *r)
{
    const struct vm_usb *rules = p->usb;
    size_t nr = p->n_usb;
    char name[32], want[256];
    snprintf(name, sizeof(name), "usb[%zu]", i);
    usb_rule_describe(&rules[i], want, sizeof(want));

    char taken[1024] = "", refused[1536] = "", earlier[512] = "";
    for (size_t k = 0; k < n; k++) {
        if (!usb_rule_matches(&rules[i], &devs[k]))
            continue;
        char desc[300];
        usb_dev_describe(&devs[k], desc, sizeof(desc));
        int first = usb_rule_first_match(rules, nr, &devs[k]);
        if (first != (int)i) {
            text_append(earlier, sizeof(earlier), "%s%s (usb[%d] takes it first)",
                        earlier[0] ? ", " : "", desc, first);
            continue;
        }
        struct usb_host_use use;
        struct vmrun_error err = {0};
        if (usb_find_host_use(&devs[k], false, &use, &err) < 0)
            text_append(refused, sizeof(refused), "%s%s: %s", refused[0] ? "; " : "", desc,
                        err.msg);
        else if (use.refused)
            text_append(refused, sizeof(refused), "%s%s: %s", refused[0] ? "; " : "", desc,
                        use.why);
        else
            text_append(taken, sizeof(taken), "%s%s%s%s", taken[0] ? ", " : "", desc,
                        use.note[0] ? ": " : "", use.note);
    }
    if (refused[0] != '\0') {
        struct check_item *it =
            check_add(r, name, CHECK_WARN, "%s: not given to the VM while the host uses it: %s",
                      want, refused);
        check_hint(r, it, "the VM starts without it; once the host lets go, unplug and plug it "
                          "in again, or run vmrun usb NAME attach PORT");
    }
    if (taken[0] != '\0')
        check_add(r, name, CHECK_PASS, "%s: takes %s", want, taken);
    else if (refused[0] == '\0')
        check_add(r, name, CHECK_PASS, "%s: no device plugged in now%s%s; taken when one is", want,
                  earlier[0] ? " but " : "", earlier);
}

void check_usb(const struct vm_profile *p, struct check_report *r)
{
    if (!p->usb_present && p->n_usb == 0)
        return;
    check_qemu_usb(p, r);
    if (p->n_usb == 0)
        return;
    struct usb_dev *devs = NULL;
    size_t n = 0;
    struct vmrun_error err = {0};
    if (usb_dev_list(&devs, &n, &err) < 0) {
        check_add(r, "usb", CHECK_WARN, "cannot list the host's USB devices: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < p->n_usb; i++)
        check_rule(p, i, devs, n, r);
    free(devs);
}
