/* The display handoff step and its undo (display.h). */
#include "host/display/display.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/display/display_units.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"
#include "sys/proc_stat.h"
#include "sys/timed_write.h"

#define HOLDERS_MAX 64
#define KILL_GRACE_S 5

static const char *const service_suffix[] = {".service", NULL};
static const char *const session_suffixes[] = {".service", ".target", NULL};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the display manager and the holders (read-only) ---- */

int display_manager_unit(const struct vm_profile *p, char *unit, size_t len, bool *running,
                         char *why, size_t wlen, struct vmrun_error *err)
{
    unit[0] = '\0';
    *running = false;
    const struct vm_handoff *h = &p->handoff;
    if (h->display_manager == VM_DM_NONE) {
        snprintf(why, wlen, "handoff.display_manager is \"none\": no display manager is stopped");
        return 0;
    }
    const char *ask = h->display_manager == VM_DM_UNIT ? h->display_manager_unit
                                                       : "display-manager.service";
    struct unit_state st;
    struct vmrun_error qerr = {0};
    int r = unit_query(ask, NULL, h->timeout_s, &st, &qerr);
    if (r < 0 && h->display_manager == VM_DM_AUTO) {
        snprintf(why, wlen, "systemd does not answer (%s): no display manager is stopped",
                 qerr.msg);
        return 0;
    }
    if (r < 0) {
        *err = qerr;
        return vmrun_error_prefix(err, "handoff.display_manager");
    }
    if (st.load[0] == '\0') {
        /* systemctl without a running systemd (a chroot, a container)
         * answers without any state. */
        if (h->display_manager == VM_DM_AUTO) {
            snprintf(why, wlen,
                     "systemctl gives no state for display-manager.service (it says \"%s\"): "
                     "no display manager is stopped",
                     st.said);
            return 0;
        }
        return vmrun_failx(err, ENOENT,
                           "handoff.display_manager: systemctl gives no state for %s (it says "
                           "\"%s\"): is systemd running?",
                           ask, st.said);
    }
    if (strcmp(st.load, "loaded") != 0) {
        if (h->display_manager == VM_DM_AUTO) {
            snprintf(why, wlen,
                     "display-manager.service does not exist (%s): no display manager is "
                     "stopped",
                     st.load[0] ? st.load : "unknown");
            return 0;
        }
        return vmrun_failx(err, ENOENT,
                           "handoff.display_manager: systemd has no unit %s (its load state is "
                           "\"%s\")",
                           ask, st.load);
    }
    if (!profile_valid_unit_name(st.id, service_suffix))
        return vmrun_failx(err, EINVAL, "%s is the unit \"%s\", which is no service name vmrun "
                                        "will stop", ask, st.id);
    snprintf(unit, len, "%s", st.id);
    *running = unit_running(&st);
    if (h->display_manager == VM_DM_AUTO)
        snprintf(why, wlen, "display-manager.service is %s (%s)", st.id, st.active);
    else
        snprintf(why, wlen, "%s is %s", st.id, st.active);
    return 0;
}

static bool expected_to_end(const struct dev_holder *x, const struct vm_profile *p, const char *dm)
{
    if (dm[0] != '\0' && devnodes_cgroup_has_unit(x->cgroup, dm))
        return true;
    for (size_t k = 0; k < p->handoff.n_session_units; k++)
        if (devnodes_cgroup_has_unit(x->cgroup, p->handoff.session_units[k]))
            return true;
    /* A desktop session's own processes (the compositor, Xorg in the
     * session scope) end with the display manager or the session units. */
    return (dm[0] != '\0' || p->handoff.n_session_units > 0) &&
           strncmp(x->cgroup, "/user.slice/", 12) == 0;
}

/* Moves the holders of one (freed) to the end of out. */
static int holders_take(struct dev_holders *out, struct dev_holders *one, struct vmrun_error *err)
{
    if (one->n > 0) {
        struct dev_holder *ni = realloc(out->items, (out->n + one->n) * sizeof(*ni));
        if (ni == NULL) {
            devnodes_holders_free(one);
            return vmrun_fail(err, ENOMEM, "holders");
        }
        out->items = ni;
        memcpy(out->items + out->n, one->items, one->n * sizeof(*ni));
        out->n += one->n;
    }
    devnodes_holders_free(one);
    return 0;
}

int display_holders(const struct display_gpus *g, const struct vm_profile *p, const char *dm,
                    struct dev_holders *out, bool *expected, size_t max_expected,
                    struct vmrun_error *err)
{
    out->items = NULL;
    out->n = 0;
    struct dev_holders one;
    int r;
    for (size_t k = 0; k < g->n; k++) {
        r = devnodes_find_holders(g->items[k].address, g->items[k].driver, g->items[k].group, &one,
                                  err);
        if (r < 0 || (r = holders_take(out, &one, err)) < 0) {
            devnodes_holders_free(out);
            return r;
        }
    }
    /* The firmware's framebuffer on the GPU: simpledrm's card, efifb's fbN. */
    struct display_platform_fb fbs[4];
    size_t n_fbs = display_platform_fbs(g, fbs, 4);
    for (size_t k = 0; k < n_fbs; k++) {
        r = devnodes_find_platform_holders(fbs[k].device, &one, err);
        if (r < 0 || (r = holders_take(out, &one, err)) < 0) {
            devnodes_holders_free(out);
            return r;
        }
    }
    for (size_t i = 0; i < out->n && i < max_expected; i++)
        expected[i] = expected_to_end(&out->items[i], p, dm);
    return 0;
}

/* ---- journal ops ---- */

static bool plain(const char *s, size_t max)
{
    if (s == NULL || *s == '\0' || strlen(s) >= max || s[0] == '.' || s[0] == '-')
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-") ==
           strlen(s);
}

static unsigned record_timeout(const cJSON *args)
{
    long t;
    return oparg_long(args, "timeout", 1, 600, &t) == 0 ? (unsigned)t
                                                         : PROFILE_HANDOFF_DEFAULT_TIMEOUT_S;
}

static int unit_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *unit = oparg_string(args, "unit");
    const char *user = oparg_string(args, "user");
    if (unit == NULL || !profile_valid_unit_name(unit, user ? session_suffixes : service_suffix) ||
        (user != NULL && !plain(user, 64)))
        return vmrun_failx(err, EINVAL, "display-unit record without a valid unit");
    return unit_run("start", unit, user, record_timeout(args), err);
}

static void unit_describe(const cJSON *args, char *buf, size_t len)
{
    const char *unit = oparg_string(args, "unit");
    const char *user = oparg_string(args, "user");
    if (user != NULL)
        snprintf(buf, len, "start %s of user %s again", unit ? unit : "?", user);
    else
        snprintf(buf, len, "start the display manager %s again", unit ? unit : "?");
}

static int vtcon_path(char *buf, size_t len, long index)
{
    return host_path(buf, len, HOST_SYS, "/class/vtconsole/vtcon%ld/bind", index);
}

static int vtcon_undo(const cJSON *args, struct vmrun_error *err)
{
    long index;
    char path[PATH_MAX], now[16];
    if (oparg_long(args, "index", 0, 63, &index) < 0)
        return vmrun_failx(err, EINVAL, "vtconsole-unbind record without a valid index");
    if (vtcon_path(path, sizeof(path), index) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (hostfile_read(path, now, sizeof(now)) < 0) {
        /* fbcon drops its console with the last framebuffer, and brings
         * it back bound with the next one. */
        err->code = 0;
        snprintf(err->msg, sizeof(err->msg),
                 "vtcon%ld is gone with the last framebuffer; the frame-buffer console comes "
                 "back with the next one",
                 index);
        return 0;
    }
    if (strcmp(now, "1") == 0)
        return 0;
    int r = timed_write(path, "1", 0, NULL, err);
    if (r < 0)
        return vmrun_error_prefix(err, "bind the frame-buffer console vtcon%ld again", index);
    return 0;
}

static void vtcon_describe(const cJSON *args, char *buf, size_t len)
{
    long index = -1;
    oparg_long(args, "index", 0, 63, &index);
    snprintf(buf, len, "bind the frame-buffer console vtcon%ld again", index);
}

static int platform_fb_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *device = oparg_string(args, "device");
    const char *driver = oparg_string(args, "driver");
    /* The DRM cards it had (simpledrm), for the report only. */
    const char *drm = oparg_string(args, "drm");
    char path[PATH_MAX], drv[64];
    if (!plain(device, 64) || !plain(driver, 64))
        return vmrun_failx(err, EINVAL, "platform-fb-unbind record without a valid device");
    if (drm != NULL && (strlen(drm) >= 64 || strspn(drm, "card0123456789 ") != strlen(drm)))
        drm = NULL;
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/platform/devices/%s", device) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!hostfile_exists(path)) {
        /* Linux removes the firmware's framebuffer for good when a driver
         * takes the GPU (its own DRM driver, and since 6.0 vfio-pci too):
         * there is nothing to bind again. */
        bool cards = drm != NULL && drm[0] != '\0';
        err->code = 0;
        snprintf(err->msg, sizeof(err->msg),
                 "%s is gone%s%s%s: Linux removes the firmware's framebuffer for good once a "
                 "driver (vfio-pci, or the GPU's own) has taken the GPU; the console%s comes back "
                 "with the GPU's own driver, or at the next boot",
                 device, cards ? ", and its DRM device " : "", cards ? drm : "",
                 cards ? " with it" : "", cards ? " and a desktop that ran on it" : "");
        return 0;
    }
    host_path(path, sizeof(path), HOST_SYS, "/bus/platform/devices/%s/driver", device);
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n >= 0) {
        target[n] = '\0';
        const char *slash = strrchr(target, '/');
        snprintf(drv, sizeof(drv), "%s", slash ? slash + 1 : target);
        if (strcmp(drv, driver) == 0)
            return 0;
        return vmrun_failx(err, EBUSY, "%s is bound to %s now, not to %s", device, drv, driver);
    }
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/platform/drivers/%s/bind", driver) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    int r = timed_write(path, device, 0, NULL, err);
    if (r < 0)
        return vmrun_error_prefix(err, "give the boot framebuffer %s back to %s", device, driver);
    /* simpledrm makes its DRM card anew (the number may differ). */
    char cards[64];
    display_platform_drm(device, cards, sizeof(cards));
    if (cards[0] != '\0') {
        err->code = 0;
        snprintf(err->msg, sizeof(err->msg), "%s is on %s again, a DRM device: %s", device, driver,
                 cards);
    }
    return 0;
}

static void platform_fb_describe(const cJSON *args, char *buf, size_t len)
{
    const char *device = oparg_string(args, "device");
    const char *driver = oparg_string(args, "driver");
    snprintf(buf, len, "give the boot framebuffer %s back to %s", device ? device : "?",
             driver ? driver : "?");
}

static int ended_undo(const cJSON *args, struct vmrun_error *err)
{
    (void)args;
    (void)err;
    return 0; /* an ended process cannot be brought back */
}

static void ended_describe(const cJSON *args, char *buf, size_t len)
{
    const char *who = oparg_string(args, "who");
    snprintf(buf, len, "processes ended for the handoff stay ended: %s", who ? who : "?");
}

const struct journal_op display_journal_ops[] = {
    {"display-unit", unit_undo, unit_describe},
    {"display-holders-ended", ended_undo, ended_describe},
    {"vtconsole-unbind", vtcon_undo, vtcon_describe},
    {"platform-fb-unbind", platform_fb_undo, platform_fb_describe},
    {NULL, NULL, NULL},
};

/* ---- the step ---- */

static int stop_unit(struct host_prep *hp, const char *unit, const char *user,
                     struct vmrun_error *err)
{
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "unit", unit);
    if (user != NULL)
        cJSON_AddStringToObject(args, "user", user);
    cJSON_AddNumberToObject(args, "timeout", hp->profile->handoff.timeout_s);
    int r = journal_record(hp->journal, "display-unit", args, err);
    if (r < 0)
        return r;
    host_prep_say(hp, "handoff: stopping %s%s%s", unit, user ? " of user " : "", user ? user : "");
    if ((r = unit_run("stop", unit, user, hp->profile->handoff.timeout_s, err)) < 0)
        return vmrun_error_prefix(err, "handoff: stopping %s", unit);
    return journal_done(hp->journal, err);
}

/* Wait until the GPUs' nodes are free, at most limit_ms. The holders left
 * are in *left (to free). */
static int wait_free(const struct display_gpus *g, const struct vm_profile *p, long long limit_ms,
                     struct dev_holders *left, struct vmrun_error *err)
{
    long long deadline = now_ms() + limit_ms;
    bool expected[HOLDERS_MAX];
    for (;;) {
        int r = display_holders(g, p, "", left, expected, HOLDERS_MAX, err);
        if (r < 0 || left->n == 0 || now_ms() >= deadline)
            return r;
        devnodes_holders_free(left);
        sleep_ms(100);
    }
}

static int end_holders(struct host_prep *hp, const struct display_gpus *g, struct dev_holders *h,
                       struct vmrun_error *err)
{
    char who[1024];
    devnodes_holders_describe(h, who, sizeof(who));
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "who", who);
    int r = journal_record(hp->journal, "display-holders-ended", args, err);
    if (r < 0)
        return r;
    host_prep_say(hp, "handoff: ending what holds the GPU (handoff.kill_holders): %s", who);
    unsigned long long started[HOLDERS_MAX];
    for (size_t i = 0; i < h->n && i < HOLDERS_MAX; i++) {
        started[i] = proc_start_time(h->items[i].pid);
        if (started[i] != 0)
            kill(h->items[i].pid, SIGTERM);
    }
    struct dev_holders left;
    unsigned t = hp->profile->handoff.timeout_s;
    if ((r = wait_free(g, hp->profile, (long long)t * 1000, &left, err)) < 0)
        return r;
    if (left.n > 0) {
        for (size_t i = 0; i < h->n && i < HOLDERS_MAX; i++)
            if (started[i] != 0 && proc_start_time(h->items[i].pid) == started[i])
                kill(h->items[i].pid, SIGKILL);
        devnodes_holders_free(&left);
        if ((r = wait_free(g, hp->profile, KILL_GRACE_S * 1000, &left, err)) < 0)
            return r;
    }
    if (left.n > 0) {
        devnodes_holders_describe(&left, who, sizeof(who));
        devnodes_holders_free(&left);
        return vmrun_failx(err, EBUSY,
                           "handoff: the GPU is still held %u s after SIGTERM and %d s after "
                           "SIGKILL: %s (a process stuck in the kernel: see its "
                           "/proc/PID/stack)",
                           t, KILL_GRACE_S, who);
    }
    return journal_done(hp->journal, err);
}

static int unbind_consoles(struct host_prep *hp, struct vmrun_error *err)
{
    int idx[64];
    bool bound[64];
    size_t n = display_fb_vtconsoles(idx, bound, 64);
    for (size_t k = 0; k < n; k++) {
        if (!bound[k])
            continue;
        char path[PATH_MAX];
        if (vtcon_path(path, sizeof(path), idx[k]) < 0)
            return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
        cJSON *args = cJSON_CreateObject();
        if (args == NULL)
            return vmrun_fail(err, ENOMEM, "journal");
        cJSON_AddNumberToObject(args, "index", idx[k]);
        int r = journal_record(hp->journal, "vtconsole-unbind", args, err);
        if (r < 0)
            return r;
        host_prep_say(hp, "handoff: unbinding the frame-buffer console vtcon%d", idx[k]);
        if ((r = timed_write(path, "0", 0, NULL, err)) < 0)
            return vmrun_error_prefix(err, "handoff: unbind the frame-buffer console vtcon%d",
                                      idx[k]);
        if ((r = journal_done(hp->journal, err)) < 0)
            return r;
    }
    return 0;
}

static int unbind_platform_fb(struct host_prep *hp, const struct display_platform_fb *fb,
                              struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/platform/drivers/%s/unbind", fb->driver) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "device", fb->device);
    cJSON_AddStringToObject(args, "driver", fb->driver);
    if (fb->drm[0] != '\0')
        cJSON_AddStringToObject(args, "drm", fb->drm);
    int r = journal_record(hp->journal, "platform-fb-unbind", args, err);
    if (r < 0)
        return r;
    host_prep_say(hp, "handoff: unbinding the boot framebuffer %s from %s (%s%s%s)", fb->device,
                  fb->driver, fb->where, fb->drm[0] ? "; a DRM device: " : "", fb->drm);
    if ((r = timed_write(path, fb->device, 0, NULL, err)) < 0)
        return vmrun_error_prefix(err, "handoff: unbind the boot framebuffer %s", fb->device);
    return journal_done(hp->journal, err);
}

int display_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    if (p == NULL || !p->handoff.present)
        return 0;
    const struct vm_handoff *h = &p->handoff;
    struct display_gpus g;
    int r = display_gpus_find(p, &g, err);
    if (r < 0)
        return r;
    if (g.n == 0)
        return vmrun_failx(err, EINVAL,
                           "handoff: no device in \"pci\" is a display controller (PCI class "
                           "03): there is no GPU to hand over");
    if (h->n_session_units > 0 && hp->session_user == NULL)
        return vmrun_failx(err, EINVAL,
                           "handoff.session_units: whose session? vmrun was started by root "
                           "itself; start it through sudo or pkexec as the desktop's user, or "
                           "set run_as");

    char dm[256], why[512];
    bool running;
    if ((r = display_manager_unit(p, dm, sizeof(dm), &running, why, sizeof(why), err)) < 0)
        return r;
    host_prep_say(hp, "handoff: %s", why);
    if (!running)
        dm[0] = '\0';

    /* Before any change: who holds the GPU and will not go with the
     * display manager or the session. */
    struct dev_holders held;
    bool expected[HOLDERS_MAX];
    if ((r = display_holders(&g, p, dm, &held, expected, HOLDERS_MAX, err)) < 0)
        return r;
    struct dev_holders others = {0};
    for (size_t i = 0; i < held.n && i < HOLDERS_MAX; i++)
        if (!expected[i])
            held.items[others.n++] = held.items[i];
    others.items = held.items;
    if (others.n > 0 && !h->kill_holders) {
        char who[1024];
        devnodes_holders_describe(&others, who, sizeof(who));
        devnodes_holders_free(&held);
        return vmrun_failx(err, EBUSY,
                           "handoff: the GPU is in use by processes that stopping %s%s will not "
                           "end: %s. Stop them first, or set handoff.kill_holders to have vmrun "
                           "end them",
                           dm[0] ? dm : "no display manager",
                           h->n_session_units ? " and the session units" : "", who);
    }
    devnodes_holders_free(&held);

    for (size_t k = 0; k < h->n_session_units; k++) {
        struct unit_state st;
        if ((r = unit_query(h->session_units[k], hp->session_user, h->timeout_s, &st, err)) < 0)
            return vmrun_error_prefix(err, "handoff.session_units[%zu]", k);
        if (!unit_running(&st)) {
            host_prep_say(hp, "handoff: %s of user %s is %s: nothing to stop",
                          h->session_units[k], hp->session_user, st.active);
            continue;
        }
        if ((r = stop_unit(hp, h->session_units[k], hp->session_user, err)) < 0)
            return r;
    }
    if (dm[0] != '\0' && (r = stop_unit(hp, dm, NULL, err)) < 0)
        return r;

    /* The GPU's nodes must be free now. */
    struct dev_holders left;
    if ((r = wait_free(&g, p, (long long)h->timeout_s * 1000, &left, err)) < 0)
        return r;
    if (left.n > 0 && h->kill_holders) {
        r = end_holders(hp, &g, &left, err);
        devnodes_holders_free(&left);
        if (r < 0)
            return r;
    } else if (left.n > 0) {
        char who[1024];
        devnodes_holders_describe(&left, who, sizeof(who));
        devnodes_holders_free(&left);
        return vmrun_failx(err, EBUSY,
                           "handoff: %u s after %s stopped, the GPU is still held: %s. Stop "
                           "them first, or set handoff.kill_holders to have vmrun end them",
                           h->timeout_s, dm[0] ? dm : "the session units", who);
    }

    /* Consoles on a framebuffer of the GPU, then the firmware's one. */
    struct display_platform_fb fbs[4];
    size_t n_fbs = display_platform_fbs(&g, fbs, 4);
    bool fb_on_gpu = n_fbs > 0;
    for (size_t k = 0; k < g.n; k++)
        fb_on_gpu |= g.items[k].fbs[0] != '\0';
    if (fb_on_gpu && (r = unbind_consoles(hp, err)) < 0)
        return r;
    for (size_t k = 0; k < n_fbs; k++)
        if ((r = unbind_platform_fb(hp, &fbs[k], err)) < 0)
            return r;
    return 0;
}
