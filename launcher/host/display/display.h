/* Handing the host's display GPU to the VM and back: the display manager,
 * the user's graphical session units, the processes holding the GPU's
 * nodes, the frame-buffer consoles and the firmware's boot framebuffer.
 * Only with a "handoff" object in the profile (profiles/README.md).
 *
 * The plan step (display_prepare) runs first, before the PCI devices are
 * bound, and journals each change before making it:
 *
 *   0. before any change: the GPUs are the profile's display-class
 *      devices; processes holding their nodes that no stop below will end
 *      (outside the display manager's unit and the users' sessions) are
 *      refused by name and pid, or with handoff.kill_holders ended later;
 *   1. the session units (systemctl --user --machine=USER@ stop), then
 *      the display manager (systemctl stop): op "display-unit", undone by
 *      a start;
 *   2. the GPU's nodes must be free within handoff.timeout; what still
 *      holds them is refused (everything above is undone), or ended with
 *      SIGTERM then SIGKILL (op "display-holders-ended": a record for the
 *      report, nothing to undo);
 *   3. the frame-buffer virtual consoles (/sys/class/vtconsole/vtconN whose
 *      name says "frame buffer device"), when a framebuffer is on the GPU:
 *      op "vtconsole-unbind", undone by binding them again;
 *   4. the firmware's boot framebuffer (efi-framebuffer, simple-framebuffer,
 *      vesa-framebuffer, platform-framebuffer platform devices) when it
 *      sits in one of the GPU's memory BARs (/proc/iomem), or, where the
 *      kernel does not say where it is, on the boot VGA device: op
 *      "platform-fb-unbind", undone by binding it again.
 *
 * The boot framebuffer is a plain fbdev device (efifb: /dev/fbN) on Debian's
 * kernels, and a DRM device of its own on kernels with simpledrm built in
 * (Fedora, Arch: simple-framebuffer.0 driven by simpledrm, with
 * /dev/dri/cardN and an emulated /dev/fbN); either way its nodes count as
 * the GPU's in 0 and 2: a compositor that opened simpledrm's card along
 * with the GPU's own must be gone before the platform device is unbound.
 *
 * Then the PCI step unbinds the GPU's host drivers and binds vfio-pci. The
 * undo runs the journal backwards: drivers back, boot framebuffer, consoles,
 * display manager, session units. Every step has a time limit
 * (handoff.timeout for systemctl and for holders to let go; the sysfs
 * writer's limit for the writes) and a message saying what is stuck.
 *
 * systemctl is run as /usr/bin/systemctl (or /bin/systemctl) with a fixed
 * environment (sys/run_cmd.h). */
#ifndef VMRUN_DISPLAY_H
#define VMRUN_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"
#include "profile/profile.h"
#include "sys/devnodes.h"

int display_prepare(struct host_prep *hp, struct vmrun_error *err);

extern const struct journal_op display_journal_ops[];

/* ---- read-only facts, for the step and for `vmrun check` ---- */

#define DISPLAY_GPU_MAX 8
#define DISPLAY_BAR_MAX 7

struct display_gpu {
    char address[16];
    char driver[64]; /* "" for none */
    int group;       /* IOMMU group, -1 none */
    bool boot_vga;
    char fbs[64];    /* its DRM/fbdev framebuffers ("fb0"), "" none */
    struct {
        unsigned long long start, end;
    } bars[DISPLAY_BAR_MAX];
    size_t n_bars;
};

struct display_gpus {
    struct display_gpu items[DISPLAY_GPU_MAX];
    size_t n;
};

/* The profile's display-class (0x03) devices. 0 (g->n may be 0). */
int display_gpus_find(const struct vm_profile *p, struct display_gpus *g, struct vmrun_error *err);

/* The boot VGA device of the host ("" when none says so). */
void display_boot_vga(char *buf, size_t len);

/* A firmware framebuffer platform device bound to its driver. */
struct display_platform_fb {
    char device[64]; /* "efi-framebuffer.0" */
    char driver[64]; /* "efi-framebuffer" */
    char where[160]; /* why it is taken to be on the GPU */
    char drm[64];    /* its DRM cards ("card0": simpledrm), "" for fbdev alone (efifb) */
};

/* The DRM cards of a platform device ("card0"), space-separated; "" none. */
void display_platform_drm(const char *device, char *buf, size_t len);

/* The bound platform framebuffers that sit on one of the GPUs. Returns how
 * many were stored in out. */
size_t display_platform_fbs(const struct display_gpus *g, struct display_platform_fb *out,
                            size_t max);

/* The vtconsoles of the frame-buffer console driver, and whether each is
 * bound: indexes into idx, bound flags into bound. Returns how many. */
size_t display_fb_vtconsoles(int *idx, bool *bound, size_t max);

/* The display manager's unit, resolved: "auto" looks at
 * display-manager.service. unit is "" when there is none to stop; why says
 * what was found. 0, or a negative errno when systemctl failed or a named
 * unit does not exist. */
int display_manager_unit(const struct vm_profile *p, char *unit, size_t len, bool *running,
                         char *why, size_t wlen, struct vmrun_error *err);

/* Holders of the GPUs' nodes and of the nodes of the firmware's
 * framebuffer on them, each marked: true when a stop of the display
 * manager (dm, "" none) or of the session units is expected to end it. */
int display_holders(const struct display_gpus *g, const struct vm_profile *p, const char *dm,
                    struct dev_holders *out, bool *expected, size_t max_expected,
                    struct vmrun_error *err);

#endif
