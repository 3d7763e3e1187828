/* `vmrun check` for a handoff profile: the boot VGA device, the
 * framebuffers and consoles on the GPU, who holds its nodes, the display
 * manager (check.h). Read-only: systemctl is only asked (show). */
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "check/check.h"
#include "check/check_internal.h"
#include "host/display/display.h"

#define HOLDERS_MAX 64

static void check_boot_vga(const struct display_gpus *g, struct check_report *r)
{
    char boot[32];
    display_boot_vga(boot, sizeof(boot));
    for (size_t k = 0; k < g->n; k++)
        if (strcmp(g->items[k].address, boot) == 0) {
            check_add(r, "handoff boot_vga", CHECK_PASS,
                      "%s is the boot VGA device (the host's console) and goes to the VM", boot);
            return;
        }
    struct check_item *it =
        check_add(r, "handoff boot_vga", CHECK_WARN,
                  "%s: the boot VGA device is not a GPU of this profile", boot[0] ? boot : "none");
    check_hint(r, it,
               "handoff is for the GPU that shows the host's desktop; with another GPU for the "
               "host, leave \"handoff\" out");
}

static void check_framebuffers(const struct display_gpus *g, struct check_report *r)
{
    char found[1024] = "";
    for (size_t k = 0; k < g->n; k++)
        if (g->items[k].fbs[0] != '\0')
            text_append(found, sizeof(found), "%s%s of %s (driver %s)", found[0] ? "; " : "",
                         g->items[k].fbs, g->items[k].address,
                         g->items[k].driver[0] ? g->items[k].driver : "none");
    struct display_platform_fb fbs[4];
    size_t n = display_platform_fbs(g, fbs, 4);
    for (size_t k = 0; k < n; k++)
        text_append(found, sizeof(found), "%sthe firmware's %s on %s%s%s%s: %s",
                    found[0] ? "; " : "", fbs[k].device, fbs[k].driver,
                    fbs[k].drm[0] ? " (a DRM device: " : "", fbs[k].drm, fbs[k].drm[0] ? ")" : "",
                    fbs[k].where);
    if (found[0] == '\0')
        check_add(r, "handoff framebuffers", CHECK_PASS, "no framebuffer is on the GPU");
    else
        check_add(r, "handoff framebuffers", CHECK_PASS,
                  "on the GPU: %s (the firmware's one is unbound for the VM, and the GPU's own "
                  "go with its driver)",
                  found);

    int idx[64];
    bool bound[64];
    size_t nc = display_fb_vtconsoles(idx, bound, 64);
    char cons[512] = "";
    for (size_t k = 0; k < nc; k++)
        text_append(cons, sizeof(cons), "%svtcon%d (%s)", cons[0] ? ", " : "", idx[k],
                     bound[k] ? "bound" : "not bound");
    if (nc == 0)
        check_add(r, "handoff consoles", CHECK_PASS, "no frame-buffer console");
    else if (found[0] == '\0')
        check_add(r, "handoff consoles", CHECK_PASS,
                  "frame-buffer consoles %s; none is on the GPU, so they stay", cons);
    else
        check_add(r, "handoff consoles", CHECK_PASS,
                  "frame-buffer consoles %s: the bound ones are unbound for the VM and bound "
                  "again after",
                  cons);
}

void check_handoff(const struct vm_profile *p, struct check_report *r)
{
    if (!p->handoff.present)
        return;
    struct display_gpus g;
    struct vmrun_error e = {0};
    if (display_gpus_find(p, &g, &e) < 0) {
        check_add(r, "handoff gpu", CHECK_FAIL, "%s", e.msg);
        return;
    }
    if (g.n == 0) {
        struct check_item *it =
            check_add(r, "handoff gpu", CHECK_FAIL,
                      "no device in \"pci\" is a display controller (PCI class 03)");
        check_hint(r, it, "list the GPU's functions in \"pci\" ('vmrun iommu' shows them)");
        return;
    }
    char gpus[256] = "";
    for (size_t k = 0; k < g.n; k++)
        text_append(gpus, sizeof(gpus), "%s%s (driver %s)", k ? ", " : "", g.items[k].address,
                     g.items[k].driver[0] ? g.items[k].driver : "none");
    check_add(r, "handoff gpu", CHECK_PASS, "the GPU handed over: %s", gpus);
    check_boot_vga(&g, r);
    check_framebuffers(&g, r);

    char dm[256], why[512];
    bool running = false;
    if (display_manager_unit(p, dm, sizeof(dm), &running, why, sizeof(why), &e) < 0) {
        struct check_item *it = check_add(r, "handoff display_manager", CHECK_FAIL, "%s", e.msg);
        check_hint(r, it,
                   "name the display manager's unit (systemctl status display-manager shows it) "
                   "or set \"none\"");
        dm[0] = '\0';
    } else {
        check_add(r, "handoff display_manager", CHECK_PASS, "%s%s", why,
                  running ? ": stopped for the VM and started again after" : "");
        if (!running)
            dm[0] = '\0';
    }

    struct dev_holders h;
    bool expected[HOLDERS_MAX];
    if (display_holders(&g, p, dm, &h, expected, HOLDERS_MAX, &e) < 0) {
        check_add(r, "handoff holders", CHECK_WARN, "the GPU's users could not be examined: %s",
                  e.msg);
        return;
    }
    char ends[1024] = "", stays[1024] = "";
    for (size_t i = 0; i < h.n && i < HOLDERS_MAX; i++) {
        char *buf = expected[i] ? ends : stays;
        text_append(buf, 1024, "%s%s (pid %d) has %s open", buf[0] ? ", " : "", h.items[i].comm,
                     (int)h.items[i].pid, h.items[i].node);
    }
    devnodes_holders_free(&h);
    if (stays[0] == '\0') {
        check_add(r, "handoff holders", CHECK_PASS, "%s%s",
                  ends[0] ? "the GPU's nodes are held only by what the stop ends: " :
                            "nothing holds the GPU's nodes",
                  ends);
        return;
    }
    struct check_item *it = check_add(
        r, "handoff holders", p->handoff.kill_holders ? CHECK_WARN : CHECK_FAIL,
        "held by processes that stopping %s will not end: %s%s%s", dm[0] ? dm : "no display manager",
        stays, ends[0] ? "; ended by the stop: " : "", ends);
    if (p->handoff.kill_holders)
        check_hint(r, it, "handoff.kill_holders: vmrun start ends them (SIGTERM, then SIGKILL)");
    else
        check_hint(r, it,
                   "vmrun start refuses this: stop them first, or set handoff.kill_holders");
}
