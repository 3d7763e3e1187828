/* `vmrun check`: the QEMU binary, its version against what the profile
 * needs, and the audio and display backends of this build (check.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "check/check.h"
#include "check/check_internal.h"
#include "qemu/cmdline.h"
#include "qemu/qemu_probe.h"

/* ---- QEMU ---- */

/* What each feature of a profile needs from QEMU. The argv builder
 * (cmdline_build.c) targets QEMU 7.2 (Debian 12); 6.2 is the oldest release
 * accepted: the argv spells every boolean option as on/off, the form QEMU
 * 6.0 made the only one not deprecated, and 6.2 is the oldest QEMU of the
 * distributions vmrun is used on. Rows name a profile feature and the
 * release that brought what the argv uses for it; the highest applicable
 * row wins.
 *
 * Not in the table, on purpose: audio.backend "pipewire". QEMU's own
 * pipewire driver came in 8.1; where this QEMU lacks it the argv gives
 * "pipewire" to the PulseAudio driver ("pa", served by pipewire-pulse)
 * instead, so it needs no newer QEMU, only a build with one of the two (the
 * qemu.audio check asks the binary, not its version). */
struct qemu_need {
    bool (*applies)(const struct vm_profile *p);
    unsigned major, minor;
    const char *why;
};

static bool always(const struct vm_profile *p)
{
    (void)p;
    return true;
}

static const struct qemu_need qemu_needs[] = {
    {always, 6, 2, "vmrun's QEMU command line (on/off boolean options; tested with 7.2)"},
};

void check_qemu_min_version(const struct vm_profile *p, unsigned *major, unsigned *minor,
                            const char **why)
{
    unsigned ma = 0, mi = 0;
    const char *w = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(qemu_needs); i++) {
        const struct qemu_need *n = &qemu_needs[i];
        if (!n->applies(p))
            continue;
        if (n->major > ma || (n->major == ma && n->minor >= mi)) {
            ma = n->major;
            mi = n->minor;
            w = n->why;
        }
    }
    *major = ma;
    *minor = mi;
    if (why != NULL)
        *why = w;
}

/* The -display backend the argv uses, or NULL when it is built in (none,
 * and VNC/SPICE, which use -display none plus their own option). */
static const char *display_backend(enum vm_display d)
{
    switch (d) {
    case VM_DISPLAY_GTK:
        return "gtk";
    case VM_DISPLAY_SDL:
        return "sdl";
    case VM_DISPLAY_NONE:
    case VM_DISPLAY_SPICE:
    case VM_DISPLAY_VNC:
        return NULL;
    }
    return NULL;
}

static void check_qemu_backend(struct check_report *r, const char *name, const char *qemu,
                               const char *option, const char *backend, const char *what)
{
    const char *args[] = {option, "help", NULL};
    char out[4096];
    struct vmrun_error e = {0};
    if (qemu_probe_output(qemu, args, out, sizeof(out), &e) < 0) {
        check_add(r, name, CHECK_WARN, "could not list QEMU's %s backends: %s", what, e.msg);
        return;
    }
    if (qemu_help_lists(out, backend)) {
        check_add(r, name, CHECK_PASS, "%s has the \"%s\" %s backend", qemu, backend, what);
        return;
    }
    struct check_item *it =
        check_add(r, name, CHECK_FAIL, "%s has no \"%s\" %s backend (%s %s help does not list it)",
                  qemu, backend, what, qemu, option);
    check_hint(r, it,
               "on Debian the %s backends are modules in the qemu-system-gui package: apt install "
               "qemu-system-gui",
               what);
}

/* audio.backend "pipewire": QEMU's own driver when it has one, else "pa". */
static void check_qemu_audio(const struct vm_profile *p, struct check_report *r, const char *qemu)
{
    if (p->audio.backend == VM_AUDIO_PIPEWIRE) {
        struct vmrun_error e = {0};
        int pw = qemu_has_audio_driver(qemu, "pipewire", &e);
        if (pw > 0) {
            check_add(r, "qemu.audio", CHECK_PASS,
                      "%s has its own \"pipewire\" audio driver: audio.backend \"pipewire\" "
                      "uses it",
                      qemu);
            return;
        }
        if (pw == 0 && qemu_has_audio_driver(qemu, "pa", &e) > 0) {
            check_add(r, "qemu.audio", CHECK_PASS,
                      "%s has no \"pipewire\" audio driver (QEMU 8.1 and later have one): "
                      "audio.backend \"pipewire\" uses its PulseAudio driver \"pa\", which "
                      "PipeWire serves (pipewire-pulse)",
                      qemu);
            return;
        }
    }
    check_qemu_backend(r, "qemu.audio", qemu, "-audiodev",
                       qemu_audiodev_driver(p->audio.backend, false), "audio");
}

static void check_qemu_spice(struct check_report *r, const char *qemu)
{
    struct vmrun_error e = {0};
    int has = qemu_has_spice(qemu, &e);
    if (has < 0) {
        check_add(r, "qemu.display", CHECK_WARN, "could not ask %s for SPICE: %s", qemu, e.msg);
        return;
    }
    if (has > 0) {
        check_add(r, "qemu.display", CHECK_PASS, "%s has SPICE", qemu);
        return;
    }
    struct check_item *it = check_add(r, "qemu.display", CHECK_FAIL,
                                      "%s has no SPICE support (%s -spice help: there is no "
                                      "option group \"spice\"), which display \"spice\" needs",
                                      qemu, qemu);
    check_hint(r, it, "%s", QEMU_SPICE_PACKAGES);
}

void check_qemu(const struct vm_profile *p, struct check_report *r)
{
    const char *bin = qemu_binary_name(p);
    char path[PATH_MAX];
    int rc = qemu_find_binary(bin, path, sizeof(path));
    if (rc < 0) {
        bool in_path = strchr(bin, '/') == NULL;
        struct check_item *it =
            check_add(r, "qemu", CHECK_FAIL, "%s: %s", bin,
                      rc == -ENOENT && in_path ? "not found in PATH" : strerror(-rc));
        check_hint(r, it,
                   "install QEMU (Debian: apt install qemu-system-x86), or set qemu.binary to its "
                   "path");
        return;
    }
    const char *args[] = {"--version", NULL};
    char out[1024];
    struct vmrun_error e = {0};
    if (qemu_probe_output(path, args, out, sizeof(out), &e) < 0) {
        struct check_item *it = check_add(r, "qemu", CHECK_FAIL, "%s", e.msg);
        check_hint(r, it, "check that %s runs: %s --version", path, path);
        return;
    }
    struct qemu_version v;
    if (qemu_parse_version(out, &v) < 0) {
        char first[128];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(out, "\n"), out);
        struct check_item *it = check_add(r, "qemu", CHECK_FAIL,
                                          "%s --version says no QEMU version: \"%s\"", path, first);
        check_hint(r, it, "point qemu.binary at qemu-system-x86_64");
        return;
    }
    unsigned ma, mi;
    const char *why;
    check_qemu_min_version(p, &ma, &mi, &why);
    struct qemu_version need = {ma, mi, 0};
    if (qemu_version_cmp(&v, &need) < 0) {
        struct check_item *it =
            check_add(r, "qemu", CHECK_FAIL, "%s is QEMU %u.%u.%u; %s needs %u.%u or later", path,
                      v.major, v.minor, v.micro, why, ma, mi);
        check_hint(r, it, "install a newer QEMU, or point qemu.binary at one");
    } else {
        check_add(r, "qemu", CHECK_PASS, "%s is QEMU %u.%u.%u (this profile needs %u.%u or later)",
                  path, v.major, v.minor, v.micro, ma, mi);
    }

    if (p->audio.present)
        check_qemu_audio(p, r, path);
    if (p->display == VM_DISPLAY_SPICE)
        check_qemu_spice(r, path);
    const char *disp = display_backend(p->display);
    if (disp != NULL)
        check_qemu_backend(r, "qemu.display", path, "-display", disp, "display");
}
