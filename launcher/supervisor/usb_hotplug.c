/* Host USB devices following the VM's usb[] rules (usb_hotplug.h). */
#include "supervisor/usb_hotplug.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "base/text.h"
#include "host/usb/usb_dev.h"
#include "host/usb/usb_give.h"
#include "host/usb/usb_rule.h"
#include "host/usb/usb_users.h"
#include "qemu/qemu_usb.h"
#include "supervisor/control.h"
#include "supervisor/runtime.h"
#include "sys/uevent.h"

/* Devices in the VM at once: QEMU's xHCI has QEMU_USB_PORTS slots; past
 * them QEMU puts a hub in the last one, so a few more fit. */
#define ATTACHED_MAX 64
#define PENDING_MAX 64
/* How long a device that appeared is looked at before vmrun gives up on
 * it: the kernel configures it (the "bind" event) within milliseconds;
 * without that event (a kernel before 4.14, a device left unauthorized)
 * it is looked at after ADD_WAIT_MS anyway. */
#define SETTLE_MS 3000
#define ADD_WAIT_MS 300
#define RETRY_MS 50
/* QEMU unplugs a USB device within device_del; an unplug it has not
 * confirmed after this is taken as done, with a warning. */
#define DELETE_WAIT_MS 5000

struct attached {
    char id[64];
    int rule; /* -1: given by hand */
    struct usb_dev dev;
    time_t since;
    bool deleting; /* device_del sent, DEVICE_DELETED awaited */
    long long delete_deadline;
    /* The same id's device again, plugged in while this one was going:
     * given once QEMU says the old one is gone. */
    bool regive;
    struct usb_dev regive_dev;
    long long regive_event;
};

struct pending {
    char port[USB_PORT_MAX];
    long long event_ms; /* when the kernel said the device appeared */
    long long due_ms;
    long long give_up_ms;
    bool bound; /* the driver core has configured it */
};

struct usb_hotplug {
    struct usb_hotplug_opts o;
    int ufd;
    const struct vm_usb *rules; /* the profile's */
    size_t n_rules;
    struct attached att[ATTACHED_MAX];
    size_t n_att;
    struct pending pend[PENDING_MAX];
    size_t n_pend;
    bool qmp_lost;
    bool running; /* the VM's vCPUs run (cont was sent) */
    /* Fd sets removed while the VM was paused, to remove again once it
     * runs (qemu_usb_forget_fdset). */
    long paused_fdsets[ATTACHED_MAX];
    size_t n_paused_fdsets;
    int fd_form; /* 1: QEMU takes a device's descriptor; 0: it does not (missing says why) */
    char missing[512];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A status line for the supervisor's log. */
#define say(h, ...) vmrun_say((h)->o.say, (h)->o.say_opaque, __VA_ARGS__)

bool usb_hotplug_wanted(const struct vm_profile *p)
{
    return p->usb_present || p->n_usb > 0 ||
           (p->audio.present && p->audio.device != NULL && strcmp(p->audio.device, "usb") == 0);
}

/* "usb[2]" or "by hand", for messages. */
static const char *who(int rule, char *buf, size_t len)
{
    if (rule < 0)
        snprintf(buf, len, "by hand");
    else
        snprintf(buf, len, "usb[%d]", rule);
    return buf;
}

/* ---- usb.json ---- */

static void publish(struct usb_hotplug *h)
{
    cJSON *top = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(top, "usb");
    for (size_t i = 0; i < h->n_att; i++) {
        const struct attached *a = &h->att[i];
        if (a->deleting)
            continue;
        cJSON *o = cJSON_CreateObject();
        char hex[8];
        cJSON_AddStringToObject(o, "id", a->id);
        cJSON_AddStringToObject(o, "port", a->dev.port);
        cJSON_AddNumberToObject(o, "bus", a->dev.busnum);
        cJSON_AddNumberToObject(o, "device", a->dev.devnum);
        snprintf(hex, sizeof(hex), "%04x", a->dev.vendor);
        cJSON_AddStringToObject(o, "vendor", hex);
        snprintf(hex, sizeof(hex), "%04x", a->dev.product);
        cJSON_AddStringToObject(o, "product", hex);
        cJSON_AddStringToObject(o, "serial", a->dev.serial);
        cJSON_AddStringToObject(o, "manufacturer", a->dev.manufacturer);
        cJSON_AddStringToObject(o, "name", a->dev.name);
        cJSON_AddStringToObject(o, "speed", a->dev.speed);
        if (a->rule >= 0)
            cJSON_AddNumberToObject(o, "rule", a->rule);
        else
            cJSON_AddNullToObject(o, "rule");
        cJSON_AddNumberToObject(o, "since", (double)a->since);
        cJSON_AddItemToArray(arr, o);
    }
    cleanup_free char *text = cJSON_Print(top);
    cJSON_Delete(top);
    struct vm_runtime rt = {.lock_fd = -1};
    snprintf(rt.dir, sizeof(rt.dir), "%s", h->o.runtime_dir);
    struct vmrun_error err = {0};
    if (text == NULL || runtime_write_file(&rt, USB_HOTPLUG_FILE, text, &err) < 0)
        say(h, "warning: vmrun status will not list the VM's USB devices: %s",
            text == NULL ? "out of memory" : err.msg);
}

/* ---- the devices in the VM ---- */

static struct attached *find_id(struct usb_hotplug *h, const char *id)
{
    for (size_t i = 0; i < h->n_att; i++)
        if (strcmp(h->att[i].id, id) == 0)
            return &h->att[i];
    return NULL;
}

static struct attached *find_port(struct usb_hotplug *h, const char *port)
{
    for (size_t i = 0; i < h->n_att; i++)
        if (strcmp(h->att[i].dev.port, port) == 0 && !h->att[i].deleting)
            return &h->att[i];
    return NULL;
}

static void drop(struct usb_hotplug *h, struct attached *a)
{
    size_t i = (size_t)(a - h->att);
    memmove(&h->att[i], &h->att[i + 1], (h->n_att - i - 1) * sizeof(h->att[0]));
    h->n_att--;
}

enum give_result {
    GIVE_OK,
    GIVE_QUEUED,  /* behind the unplug of the same id's previous device */
    GIVE_RETRY,   /* the node does not open yet: try again */
    GIVE_GONE,    /* the device went away */
    GIVE_REFUSED, /* the host uses it, or it is given already */
    GIVE_FAILED,
};

/* Give d to the VM as rule's device. msg says what happened (for the log,
 * or the reply to `vmrun usb`). */
static enum give_result give(struct usb_hotplug *h, const struct usb_dev *d, int rule, bool force,
                             long long event_ms, bool last_try, char *msg, size_t len)
{
    char desc[300], by[16];
    usb_dev_describe(d, desc, sizeof(desc));
    who(rule, by, sizeof(by));
    if (h->qmp_lost) {
        snprintf(msg, len, "%s: %s: QEMU is ending", by, desc);
        return GIVE_FAILED;
    }
    if (!h->fd_form) {
        snprintf(msg, len, "%s: %s cannot be given to the VM: %s", by, desc, h->missing);
        return GIVE_FAILED;
    }
    struct attached *same = find_port(h, d->port);
    if (same != NULL && same->dev.busnum == d->busnum && same->dev.devnum == d->devnum) {
        snprintf(msg, len, "%s is in the VM already, as %s", desc, same->id);
        return GIVE_REFUSED;
    }

    struct usb_host_use use;
    struct vmrun_error err = {0};
    if (usb_find_host_use(d, force, &use, &err) < 0) {
        snprintf(msg, len, "%s: %s is not given to the VM: %s", by, desc, err.msg);
        return GIVE_FAILED;
    }
    if (use.refused) {
        snprintf(msg, len, "%s: %s is not given to the VM: %s", by, desc, use.why);
        return GIVE_REFUSED;
    }

    char id[64];
    qemu_usb_id(id, sizeof(id), rule, d->port);
    struct attached *prev = find_id(h, id);
    if (prev != NULL && prev->deleting) {
        prev->regive = true;
        prev->regive_dev = *d;
        prev->regive_event = event_ms;
        snprintf(msg, len, "%s: %s goes to the VM as %s once QEMU has let go of the device "
                 "that was there", by, desc, id);
        return GIVE_QUEUED;
    }
    if (prev != NULL || h->n_att == ATTACHED_MAX) {
        snprintf(msg, len, "%s: %s is not given to the VM: %s", by, desc,
                 prev != NULL ? "its id is taken by another device" : "too many USB devices");
        return GIVE_FAILED;
    }

    int fd = usb_dev_open(d, &err);
    if (fd < 0) {
        /* Not there yet (a host where udev, not devtmpfs, makes the
         * nodes): tried again while the device settles. */
        if (fd == -ENOENT && !last_try)
            return GIVE_RETRY;
        snprintf(msg, len, "%s: %s: %s", by, desc, err.msg);
        return fd == -ENOENT || fd == -ENODEV ? GIVE_GONE : GIVE_FAILED;
    }
    if (usb_give_record(h->o.journal, d, id, &err) < 0) {
        close(fd);
        snprintf(msg, len, "%s: %s is not given to the VM: %s", by, desc, err.msg);
        return GIVE_FAILED;
    }
    long fdset = -1;
    int r = qemu_usb_plug(h->o.qmp, fd, id, &fdset, &err);
    close(fd); /* QEMU has its own */
    if (fdset >= 0 && !h->running && h->n_paused_fdsets < ATTACHED_MAX)
        h->paused_fdsets[h->n_paused_fdsets++] = fdset;
    if (r < 0) {
        snprintf(msg, len, "%s: QEMU did not take %s: %s", by, desc, err.msg);
        return GIVE_FAILED;
    }
    /* In QEMU now, whatever follows: it is listed, and unplugged with the
     * rest. */
    struct attached *a = &h->att[h->n_att++];
    *a = (struct attached){.rule = rule, .dev = *d, .since = time(NULL)};
    snprintf(a->id, sizeof(a->id), "%s", id);
    publish(h);
    if (journal_done(h->o.journal, &err) < 0) {
        snprintf(msg, len, "%s: gave %s to the VM as %s, but: %s", by, desc, id, err.msg);
        return GIVE_FAILED;
    }
    long long took = event_ms > 0 ? now_ms() - event_ms : -1;
    int n = snprintf(msg, len, "%s: gave %s to the VM as %s", by, desc, id);
    if (took >= 0 && n > 0 && (size_t)n < len)
        n += snprintf(msg + n, len - (size_t)n, " (%lld ms after the kernel's event)", took);
    if (use.note[0] != '\0' && n > 0 && (size_t)n < len)
        snprintf(msg + n, len - (size_t)n, "; %s", use.note);
    return GIVE_OK;
}

/* Ask QEMU to unplug a's device; DEVICE_DELETED completes it. */
static int take_back(struct usb_hotplug *h, struct attached *a, const char *why, char *msg,
                     size_t len)
{
    char desc[300];
    usb_dev_describe(&a->dev, desc, sizeof(desc));
    if (h->qmp_lost) {
        snprintf(msg, len, "%s: QEMU is ending", a->id);
        return -EPIPE;
    }
    struct vmrun_error err = {0};
    int r = qemu_usb_unplug(h->o.qmp, a->id, &err);
    if (r < 0) {
        snprintf(msg, len, "%s (%s) could not be unplugged from the VM: %s", a->id, desc, err.msg);
        return r;
    }
    snprintf(msg, len, "%s (%s) unplugged from the VM: %s", a->id, desc, why);
    if (r == 1) { /* QEMU had no such device any more */
        drop(h, a);
    } else {
        a->deleting = true;
        a->delete_deadline = now_ms() + DELETE_WAIT_MS;
    }
    publish(h);
    return 0;
}

static void finish_delete(struct usb_hotplug *h, struct attached *a)
{
    bool regive = a->regive;
    struct usb_dev d = a->regive_dev;
    long long event = a->regive_event;
    int rule = a->rule;
    drop(h, a);
    publish(h);
    if (!regive)
        return;
    char msg[2048];
    give(h, &d, rule, false, event, true, msg, sizeof(msg));
    say(h, "%s", msg);
}

/* ---- devices appearing ---- */

static struct pending *pending_for(struct usb_hotplug *h, const char *port, bool create)
{
    for (size_t i = 0; i < h->n_pend; i++)
        if (strcmp(h->pend[i].port, port) == 0)
            return &h->pend[i];
    if (!create || h->n_pend == PENDING_MAX)
        return NULL;
    struct pending *p = &h->pend[h->n_pend++];
    *p = (struct pending){0};
    snprintf(p->port, sizeof(p->port), "%s", port);
    return p;
}

static void pending_drop(struct usb_hotplug *h, struct pending *p)
{
    size_t i = (size_t)(p - h->pend);
    memmove(&h->pend[i], &h->pend[i + 1], (h->n_pend - i - 1) * sizeof(h->pend[0]));
    h->n_pend--;
}

static void pending_add(struct usb_hotplug *h, const char *port, bool bound, long long at)
{
    struct pending *p = pending_for(h, port, true);
    if (p == NULL) {
        say(h, "warning: too many USB devices appearing at once; %s is not looked at", port);
        return;
    }
    if (p->event_ms == 0) {
        p->event_ms = at;
        p->give_up_ms = at + SETTLE_MS;
    }
    p->bound = p->bound || bound;
    p->due_ms = bound ? at : at + ADD_WAIT_MS;
}

static bool rules_name_a_port(const struct usb_hotplug *h)
{
    for (size_t i = 0; i < h->n_rules; i++)
        if (h->rules[i].port != NULL)
            return true;
    return false;
}

/* Look at a device that appeared: give it when a rule takes it. Returns
 * true when done with it (given, not wanted, refused, gone). */
static bool settle(struct usb_hotplug *h, struct pending *p, long long now)
{
    bool last = now >= p->give_up_ms;
    struct usb_dev d;
    struct vmrun_error err = {0};
    if (usb_dev_read(p->port, &d, &err) < 0)
        return last || err.code != ENOENT;
    /* Not configured yet: its interfaces (and a class rule's answer) are
     * still to come. */
    if (!d.configured && !p->bound && !last)
        return false;
    int rule = usb_rule_first_match(h->rules, h->n_rules, &d);
    /* A rule by port also takes the connector's other port, which the
     * device's "port" link leads to; the kernel adds that link after the
     * add and bind events, so a device without it is looked at again. */
    if (rule < 0 && !d.port_linked && rules_name_a_port(h) && !last)
        return false;
    if (rule < 0)
        return true;
    struct attached *a = find_port(h, d.port);
    if (a != NULL && (a->dev.busnum != d.busnum || a->dev.devnum != d.devnum)) {
        /* Plugged in again before its removal was seen: the old device
         * goes first. */
        char msg[1024];
        take_back(h, a, "a new device is at its port", msg, sizeof(msg));
        say(h, "%s", msg);
    }
    char msg[2048];
    enum give_result g = give(h, &d, rule, false, p->event_ms, last, msg, sizeof(msg));
    if (g == GIVE_RETRY)
        return false;
    if (g != GIVE_REFUSED || find_port(h, d.port) == NULL)
        say(h, "%s", msg);
    return true;
}

static void run_pending(struct usb_hotplug *h)
{
    long long now = now_ms();
    for (size_t i = 0; i < h->n_pend;) {
        struct pending *p = &h->pend[i];
        if (p->due_ms > now) {
            i++;
            continue;
        }
        if (settle(h, p, now)) {
            pending_drop(h, p);
            continue;
        }
        p->due_ms = now + RETRY_MS;
        i++;
    }
}

/* ---- uevents ---- */

/* "/devices/.../usb1/1-4/1-4.2" -> "1-4.2"; NULL for anything else. */
static const char *port_of_devpath(const char *devpath)
{
    const char *base = strrchr(devpath, '/');
    base = base != NULL ? base + 1 : devpath;
    return profile_usb_port_valid(base) ? base : NULL;
}

static void device_removed(struct usb_hotplug *h, const char *port, const struct uevent *ev)
{
    struct pending *p = pending_for(h, port, false);
    if (p != NULL)
        pending_drop(h, p);
    struct attached *a = find_port(h, port);
    if (a == NULL)
        return;
    /* The event names the enumeration that went: only its removal
     * counts. */
    const char *bus = uevent_get(ev, "BUSNUM"), *dev = uevent_get(ev, "DEVNUM");
    if (bus != NULL && dev != NULL &&
        ((unsigned)atoi(bus) != a->dev.busnum || (unsigned)atoi(dev) != a->dev.devnum))
        return;
    char msg[1024];
    take_back(h, a, "it was unplugged from the host", msg, sizeof(msg));
    say(h, "%s", msg);
}

/* After lost events: what is in the VM and still there stays, the rest
 * goes, and everything plugged in is looked at again. */
static void rescan(struct usb_hotplug *h)
{
    say(h, "uevents were lost; looking at the host's USB devices again");
    for (size_t i = 0; i < h->n_att;) {
        struct attached *a = &h->att[i];
        struct usb_dev d;
        struct vmrun_error err = {0};
        if (!a->deleting && (usb_dev_read(a->dev.port, &d, &err) < 0 ||
                             d.busnum != a->dev.busnum || d.devnum != a->dev.devnum)) {
            size_t before = h->n_att;
            char msg[1024];
            take_back(h, a, "it is no longer on the host", msg, sizeof(msg));
            say(h, "%s", msg);
            if (h->n_att < before)
                continue;
        }
        i++;
    }
    struct usb_dev *devs = NULL;
    size_t n = 0;
    struct vmrun_error err = {0};
    if (usb_dev_list(&devs, &n, &err) < 0) {
        say(h, "warning: %s", err.msg);
        return;
    }
    long long now = now_ms();
    for (size_t i = 0; i < n; i++)
        if (find_port(h, devs[i].port) == NULL)
            pending_add(h, devs[i].port, true, now);
    free(devs);
}

static void read_uevents(struct usb_hotplug *h)
{
    struct uevent *ev = malloc(sizeof(*ev));
    if (ev == NULL)
        return;
    for (int i = 0; i < 256; i++) {
        struct vmrun_error err = {0};
        int r = uevent_read(h->ufd, ev, &err);
        if (r == 0)
            break;
        if (r == -ENOBUFS) {
            rescan(h);
            continue;
        }
        if (r < 0) {
            say(h, "warning: reading uevents: %s", err.msg);
            break;
        }
        if (ev->subsystem == NULL || strcmp(ev->subsystem, "usb") != 0 || ev->devtype == NULL ||
            strcmp(ev->devtype, "usb_device") != 0)
            continue;
        const char *port = port_of_devpath(ev->devpath);
        if (port == NULL)
            continue;
        long long at = now_ms();
        if (strcmp(ev->action, "add") == 0)
            pending_add(h, port, false, at);
        else if (strcmp(ev->action, "bind") == 0)
            pending_add(h, port, true, at);
        else if (strcmp(ev->action, "remove") == 0)
            device_removed(h, port, ev);
    }
    free(ev);
}

/* ---- the life of it ---- */

int usb_hotplug_start(const struct usb_hotplug_opts *o, struct usb_hotplug **out,
                      struct vmrun_error *err)
{
    *out = NULL;
    if (!usb_hotplug_wanted(o->profile))
        return 0;
    struct usb_hotplug *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return vmrun_fail(err, ENOMEM, "USB devices");
    h->o = *o;
    h->rules = o->profile->usb;
    h->n_rules = o->profile->n_usb;
    /* Asked of the QEMU that runs: no second exec of the binary. */
    struct vmrun_error perr = {0};
    h->fd_form = qemu_usb_probe_qmp(o->qmp, h->missing, sizeof(h->missing), &perr);
    if (h->fd_form < 0) {
        snprintf(h->missing, sizeof(h->missing), "%s", perr.msg);
        h->fd_form = 0;
    }
    /* Listen first: a device plugged in during the scan below is then
     * seen by one or the other. */
    h->ufd = uevent_open(err);
    if (h->ufd < 0) {
        int r = h->ufd;
        free(h);
        vmrun_error_prefix(err, "USB devices plugged in later cannot be followed");
        return r;
    }
    publish(h);
    if (h->n_rules > 0) {
        struct usb_dev *devs = NULL;
        size_t n = 0;
        struct vmrun_error lerr = {0};
        if (usb_dev_list(&devs, &n, &lerr) < 0)
            say(h, "warning: %s", lerr.msg);
        size_t matched = 0;
        for (size_t i = 0; i < n; i++) {
            int rule = usb_rule_first_match(h->rules, h->n_rules, &devs[i]);
            if (rule < 0)
                continue;
            matched++;
            char msg[2048];
            give(h, &devs[i], rule, false, 0, true, msg, sizeof(msg));
            say(h, "%s", msg);
        }
        free(devs);
        if (matched == 0)
            say(h, "no USB device plugged in now is one usb[] names; the rules take them when "
                   "they are plugged in");
    }
    *out = h;
    return 0;
}

int usb_hotplug_fd(const struct usb_hotplug *h)
{
    return h != NULL ? h->ufd : -1;
}

int usb_hotplug_timeout_ms(const struct usb_hotplug *h)
{
    if (h == NULL)
        return -1;
    long long next = -1;
    for (size_t i = 0; i < h->n_pend; i++)
        if (next < 0 || h->pend[i].due_ms < next)
            next = h->pend[i].due_ms;
    for (size_t i = 0; i < h->n_att; i++)
        if (h->att[i].deleting && (next < 0 || h->att[i].delete_deadline < next))
            next = h->att[i].delete_deadline;
    if (next < 0)
        return -1;
    long long left = next - now_ms();
    return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

void usb_hotplug_run(struct usb_hotplug *h)
{
    if (h == NULL)
        return;
    read_uevents(h);
    run_pending(h);
    long long now = now_ms();
    for (size_t i = 0; i < h->n_att;) {
        struct attached *a = &h->att[i];
        if (a->deleting && a->delete_deadline <= now) {
            say(h, "warning: QEMU did not confirm that %s was unplugged within %d s", a->id,
                DELETE_WAIT_MS / 1000);
            finish_delete(h, a);
            continue;
        }
        i++;
    }
}

void usb_hotplug_qmp_event(struct usb_hotplug *h, const struct qmp_event *ev)
{
    const char *id = h != NULL ? qemu_usb_deleted(ev) : NULL;
    if (id == NULL)
        return;
    struct attached *a = find_id(h, id);
    if (a != NULL)
        finish_delete(h, a);
}

void usb_hotplug_running(struct usb_hotplug *h)
{
    if (h == NULL)
        return;
    h->running = true;
    for (size_t i = 0; i < h->n_paused_fdsets && !h->qmp_lost; i++)
        qemu_usb_forget_fdset(h->o.qmp, h->paused_fdsets[i]);
    h->n_paused_fdsets = 0;
}

void usb_hotplug_lost_qmp(struct usb_hotplug *h)
{
    if (h != NULL)
        h->qmp_lost = true;
}

void usb_hotplug_free(struct usb_hotplug *h)
{
    if (h == NULL)
        return;
    if (h->ufd >= 0)
        close(h->ufd);
    free(h);
}

/* ---- by hand ---- */

static cJSON *ok_reply(const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "ok", true);
    cJSON_AddStringToObject(j, "message", msg);
    return j;
}

static bool parse_ids(const char *s, unsigned *vendor, unsigned *product)
{
    char tail;
    return strlen(s) == 9 && s[4] == ':' && strspn(s, "0123456789abcdefABCDEF:") == 9 &&
           sscanf(s, "%4x:%4x%c", vendor, product, &tail) == 2;
}

/* The one host device spec names: a port path or VID:PID. */
static int find_device(const char *spec, struct usb_dev *d, char *msg, size_t len)
{
    struct vmrun_error err = {0};
    unsigned vendor, product;
    if (profile_usb_port_valid(spec)) {
        if (usb_dev_read(spec, d, &err) < 0) {
            snprintf(msg, len, "%s", err.msg);
            return -ENOENT;
        }
        return 0;
    }
    if (!parse_ids(spec, &vendor, &product)) {
        snprintf(msg, len,
                 "\"%s\" names no USB device: give its port (\"1-4.2\", as lsusb -t and "
                 "/sys/bus/usb/devices show it) or its VENDOR:PRODUCT (\"046d:c52b\")",
                 spec);
        return -EINVAL;
    }
    struct usb_dev *devs = NULL;
    size_t n = 0;
    if (usb_dev_find_ids(vendor, product, &devs, &n, &err) < 0) {
        snprintf(msg, len, "%s", err.msg);
        return -EIO;
    }
    if (n == 0) {
        snprintf(msg, len, "no USB device %04x:%04x is plugged in", vendor, product);
        return -ENOENT;
    }
    if (n > 1) {
        snprintf(msg, len, "%zu devices are %04x:%04x, at", n, vendor, product);
        for (size_t i = 0; i < n; i++)
            text_append(msg, len, "%s %s", i ? "," : "", devs[i].port);
        text_append(msg, len, "; name one by its port");
        free(devs);
        return -EEXIST;
    }
    *d = devs[0];
    free(devs);
    return 0;
}

static cJSON *attach_by_hand(struct usb_hotplug *h, const char *spec, bool force)
{
    char msg[2048];
    struct usb_dev d;
    if (find_device(spec, &d, msg, sizeof(msg)) < 0)
        return control_error_reply("%s", msg);
    /* A device a rule names keeps that rule's id. */
    int rule = usb_rule_first_match(h->rules, h->n_rules, &d);
    enum give_result g = give(h, &d, rule, force, 0, true, msg, sizeof(msg));
    say(h, "%s", msg);
    if (g == GIVE_OK || g == GIVE_QUEUED)
        return ok_reply(msg);
    return control_error_reply("%s", msg);
}

static cJSON *detach_by_hand(struct usb_hotplug *h, const char *spec)
{
    struct attached *a = find_id(h, spec);
    unsigned vendor, product;
    if (a == NULL && profile_usb_port_valid(spec))
        a = find_port(h, spec);
    if (a == NULL && parse_ids(spec, &vendor, &product)) {
        size_t found = 0;
        for (size_t i = 0; i < h->n_att; i++)
            if (!h->att[i].deleting && h->att[i].dev.vendor == vendor &&
                h->att[i].dev.product == product) {
                a = &h->att[i];
                found++;
            }
        if (found > 1)
            return control_error_reply("%zu of the VM's USB devices are %04x:%04x; name one by "
                                       "its port or id (vmrun status)",
                                       found, vendor, product);
    }
    if (a == NULL || a->deleting)
        return control_error_reply("the VM has no USB device %s (vmrun status lists them)", spec);
    char msg[1024];
    if (take_back(h, a, "asked by hand", msg, sizeof(msg)) < 0)
        return control_error_reply("%s", msg);
    say(h, "%s", msg);
    return ok_reply(msg);
}

cJSON *usb_hotplug_request(struct usb_hotplug *h, const cJSON *req)
{
    const cJSON *what = cJSON_GetObjectItemCaseSensitive(req, "request");
    if (!cJSON_IsString(what) || strcmp(what->valuestring, "usb") != 0)
        return NULL;
    const char *action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "action"));
    const char *spec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "device"));
    bool force = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "force"));
    if (action == NULL || spec == NULL || strlen(spec) >= 128)
        return control_error_reply("a USB request names an action and a device");
    if (h == NULL)
        return control_error_reply(
            "the VM has no USB controller: its profile needs a \"usb\" key (\"usb\": [] gives "
            "it one without rules)");
    if (strcmp(action, "attach") == 0)
        return attach_by_hand(h, spec, force);
    if (strcmp(action, "detach") == 0)
        return detach_by_hand(h, spec);
    return control_error_reply("a USB request is attach or detach, not \"%s\"", action);
}
