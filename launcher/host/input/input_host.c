/* The VM's input devices on the host side (input.h): matching, the
 * virtual devices, the mover, hot-plug and the status. */
#include "host/input/input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "host/input/input_caps.h"
#include "host/input/input_match.h"
#include "host/input/input_mover.h"
#include "host/input/uinput_dev.h"
#include "host/input/vnc_led.h"
#include "journal/opargs.h"
#include "priv/priv_handover.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"
#include "sys/modprobe.h"
#include "sys/proc_stat.h"
#include "sys/uevent.h"

#define INPUT_ATTACH_MAX 8 /* event nodes of one physical device */
#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 1000
#define RETRY_WINDOW_MS 10000
#define MOVER_QUIT_MS 2000
#define STATS_EVERY_MS 5000
#define CAPS_FILE "input-devices.json"
#define INPUT_MOVER_NICE (-10)

struct attached {
    bool used;
    int source; /* the mover's number for it */
    dev_t rdev;
    int fd; /* vmrun's copy: lets go of the grab if the mover dies */
    char node[128];
    char name[INPUT_NAME_MAX];
    char physdev[512]; /* the physical device it belongs to (input_match.h) */
};

struct input_entry {
    const struct vm_input *in;
    struct input_spec spec;
    char what[32];  /* "input[0]" */
    char desc[256]; /* what the entry names */
    enum route_hotkey hotkey;
    struct input_caps caps;
    struct input_caps seen; /* what the nodes attached while it runs report */
    struct uinput_dev vdev;
    int qemu_fd;     /* O_PATH of the virtual node, until QEMU's list takes it */
    int qemu_file;   /* QEMU's own open file of the virtual node: its grab */
    cJSON *handover; /* the node's "chown" record, to give it back early */
    struct attached att[INPUT_ATTACH_MAX];
    char other[PATH_MAX]; /* a second device said to be left alone */
};

struct input_host {
    const struct vm_profile *p;
    void (*say)(void *, const char *);
    void *say_opaque;
    size_t n;
    struct input_entry *e;
    pid_t mover;
    int ctl;
    int uevent;
    bool started, mover_lost;
    int side;           /* enum route_side as the mover last said */
    bool side_answered; /* the mover said where input is (input_host_set_side) */
    int leds;      /* the guest's, VNC_LED_* bits; -1: not known */
    bool led_channel;
    char led_note[160];
    int next_source;
    bool retrying;
    struct timespec retry_at, retry_until;
    unsigned retry_ms;
    long long stats_at; /* when to ask the mover how events fared next */
    char stats[sizeof(((struct input_msg *)0)->text)]; /* its last answer */
    char state_dir[PATH_MAX];
};

void input_host_say(const struct input_host *ih, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vmrun_say(ih->say, ih->say_opaque, "%s", msg);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long long ts_ms(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static void ms_ts(long long ms, struct timespec *t)
{
    t->tv_sec = (time_t)(ms / 1000);
    t->tv_nsec = (long)(ms % 1000) * 1000000;
}

/* "event3, event4" of the nodes idx[] of l. */
static void list_events(const struct input_nodes *l, const size_t *idx, size_t n, char *buf,
                        size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(buf);
        snprintf(buf + at, len - at, "%s%s", i ? ", " : "", l->items[idx[i]].node);
    }
}

/* ---- before the host changes ------------------------------------------------ */

static int need_uinput(struct input_host *ih, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/uinput") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "/dev/uinput");
    if (access(path, F_OK) == 0)
        return 0;
    if (strcmp(host_root(HOST_DEV), "/dev") != 0)
        return vmrun_failx(err, ENOENT, "%s is missing (a test root: modprobe is not run)", path);
    input_host_say(ih, "loading the uinput module (for the VM's virtual input devices)");
    int r = host_modprobe("uinput",
                          "vmrun makes the VM's virtual input devices with uinput "
                          "(CONFIG_INPUT_UINPUT)",
                          err);
    if (r < 0)
        return r;
    for (int i = 0; i < 100 && access(path, F_OK) < 0; i++)
        usleep(20000);
    if (access(path, F_OK) < 0)
        return vmrun_failx(err, ENOENT, "modprobe uinput succeeded but %s did not appear", path);
    return 0;
}

int input_host_check(const struct vm_profile *p, struct input_host **out,
                     void (*sayf)(void *opaque, const char *msg), void *say_opaque,
                     struct vmrun_error *err)
{
    *out = NULL;
    if (p->n_inputs == 0)
        return 0;
    if (p->n_inputs > ROUTE_ENTRIES_MAX)
        return vmrun_failx(err, E2BIG, "at most %d input devices", ROUTE_ENTRIES_MAX);
    struct input_host *ih = calloc(1, sizeof(*ih));
    struct input_entry *e = calloc(p->n_inputs, sizeof(*e));
    if (ih == NULL || e == NULL) {
        free(ih);
        free(e);
        return vmrun_failx(err, ENOMEM, "out of memory");
    }
    *ih = (struct input_host){.p = p,
                              .say = sayf,
                              .say_opaque = say_opaque,
                              .n = p->n_inputs,
                              .e = e,
                              .ctl = -1,
                              .uevent = -1,
                              .side = ROUTE_HOST,
                              .leds = -1};
    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &e[i];
        en->in = &p->inputs[i];
        en->vdev.fd = en->qemu_fd = en->qemu_file = -1;
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++)
            en->att[k].fd = -1;
        snprintf(en->what, sizeof(en->what), "input[%zu]", i);
        input_spec_of(en->in, &en->spec);
        input_spec_describe(&en->spec, en->desc, sizeof(en->desc));
        int hk = route_hotkey_from_name(en->in->grab_toggle);
        en->hotkey = hk < 0 ? HOTKEY_CTRL_CTRL : (enum route_hotkey)hk;
    }
    *out = ih;

    /* Root opens the devices and makes the virtual ones: an ordinary
     * user's vmrun has neither /dev/uinput nor the inhibit switch. */
    if (geteuid() != 0)
        return vmrun_failx(err, EPERM,
                           "input devices need vmrun to run as root (sudo vmrun ...): it opens "
                           "the keyboards and makes the VM's virtual input devices");
    /* What the profile names first: a path nobody may use is refused
     * whatever else the host lacks. */
    struct input_nodes nodes;
    int r = input_nodes_scan(&nodes, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ih->n && r == 0; i++) {
        struct input_entry *en = &e[i];
        size_t idx[INPUT_ATTACH_MAX], n;
        r = input_match(&en->spec, &nodes, idx, INPUT_ATTACH_MAX, &n, err);
        if (r < 0) {
            vmrun_error_prefix(err, "%s", en->what);
            break;
        }
        if (n == 0 && en->in->required) {
            r = vmrun_failx(err, ENODEV,
                            "%s: no input device is %s, and the entry is required: plug it in, "
                            "or set \"required\": false to start without it",
                            en->what, en->desc);
            break;
        }
        char list[1024];
        list_events(&nodes, idx, n, list, sizeof(list));
        if (n == 0)
            input_host_say(
                ih, "warning: %s: no input device is %s now; the VM gets it when it is plugged in",
                en->what, en->desc);
        else
            input_host_say(ih, "%s: %s is \"%s\" (%s)", en->what, en->desc,
                           nodes.items[idx[0]].name, list);
    }
    input_nodes_free(&nodes);
    if (r == 0)
        r = need_uinput(ih, err);
    return r;
}

/* ---- what is remembered of each device ---------------------------------------- */

static cJSON *load_remembered(const struct input_host *ih)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/" CAPS_FILE, ih->state_dir) >= (int)sizeof(path))
        return NULL;
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    /* vmrun's own file: root's, not a link, of a sane size. */
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size > 1024 * 1024)
        return NULL;
    cleanup_free char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
        return NULL;
    buf[st.st_size] = '\0';
    cJSON *j = cJSON_Parse(buf);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Remember what the device an entry names (key) reports, for a start
 * without it. */
static void remember(struct input_host *ih, const char *key, const struct input_caps *c)
{
    if (ih->state_dir[0] == '\0')
        return;
    cJSON *all = load_remembered(ih);
    if (all == NULL)
        all = cJSON_CreateObject();
    cJSON *caps = input_caps_to_json(c);
    if (all == NULL || caps == NULL) {
        cJSON_Delete(all);
        cJSON_Delete(caps);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(all, key);
    cJSON_AddItemToObject(all, key, caps);
    cleanup_free char *text = cJSON_Print(all);
    cJSON_Delete(all);
    if (text != NULL && hostfile_replace(ih->state_dir, CAPS_FILE, text) < 0)
        input_host_say(ih, "warning: cannot remember the capabilities of %s in %s", key,
                       ih->state_dir);
}

/* The capabilities of the entry's device: what its nodes say now, or
 * what was remembered, or the generic keyboard and mouse. */
static void entry_caps(struct input_host *ih, struct input_entry *en,
                       const struct input_nodes *nodes)
{
    size_t idx[INPUT_ATTACH_MAX], n = 0;
    struct vmrun_error ignored = {0};
    bool got = false;
    if (input_match(&en->spec, nodes, idx, INPUT_ATTACH_MAX, &n, &ignored) == 0) {
        memset(&en->caps, 0, sizeof(en->caps));
        for (size_t k = 0; k < n; k++) {
            cleanup_close int fd =
                open(nodes->items[idx[k]].node, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
            struct input_caps c;
            if (fd >= 0 && input_caps_read(fd, &c) == 0) {
                input_caps_merge(&en->caps, &c);
                got = true;
            }
        }
    }
    if (got) {
        remember(ih, en->desc, &en->caps);
        return;
    }
    cJSON *all = load_remembered(ih);
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(all, en->desc);
    if (mine != NULL && input_caps_from_json(mine, &en->caps) == 0) {
        input_host_say(ih, "%s: the virtual device is made as %s was when last seen (\"%s\")",
                       en->what, en->desc, en->caps.name);
    } else {
        input_caps_generic(&en->caps);
        input_host_say(
            ih,
            "%s: %s was never seen: the virtual device is a generic keyboard and mouse (no "
            "absolute axes; plug a tablet in once before a start)",
            en->what, en->desc);
    }
    cJSON_Delete(all);
}

/* ---- the virtual devices, the mover, QEMU's part ----------------------------------- */

int input_host_prepare(struct input_host *ih, struct host_prep *hp, const char *state_dir,
                       struct vmrun_error *err)
{
    snprintf(ih->state_dir, sizeof(ih->state_dir), "%s", state_dir);
    struct input_nodes nodes;
    int r = input_nodes_scan(&nodes, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ih->n; i++)
        entry_caps(ih, &ih->e[i], &nodes);
    input_nodes_free(&nodes);

    /* Journaled before the first virtual device exists: recover looks for
     * what is left of the VM's input (input_undo). */
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory");
    cJSON_AddStringToObject(args, "vm", ih->p->name);
    if ((r = journal_record(hp->journal, "input", args, err)) < 0)
        return r;
    /* Next to QEMU's main loop when the emulator is pinned; ahead of the
     * host's ordinary work: a keystroke is a few microseconds of CPU. */
    struct input_mover_cfg cfg = {.n_entries = ih->n,
                                  .cpus = ih->p->cpu.emulator.cpus,
                                  .n_cpus = ih->p->cpu.emulator.n,
                                  .nice = INPUT_MOVER_NICE};
    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        char phys[128];
        if (uinput_phys(phys, sizeof(phys), ih->p->name, i) < 0)
            return vmrun_failx(err, ENAMETOOLONG, "the VM name is too long");
        if ((r = uinput_create(&en->caps, phys, &en->vdev, err)) < 0)
            return vmrun_error_prefix(err, "%s", en->what);
        cfg.uinput_fd[i] = en->vdev.fd;
        cfg.hotkey[i] = en->hotkey;
        input_host_say(ih, "%s: the virtual device for QEMU is %s", en->what, en->vdev.node);
    }
    if ((r = journal_done(hp->journal, err)) < 0)
        return r;

    if ((r = input_mover_start(&cfg, &ih->mover, &ih->ctl, err)) < 0)
        return r;
    /* Recover finds the mover by pid and start time (input_mover_undo). */
    args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory");
    cJSON_AddNumberToObject(args, "pid", ih->mover);
    cJSON_AddNumberToObject(args, "since", (double)proc_start_time(ih->mover));
    if ((r = journal_record(hp->journal, "input-mover", args, err)) < 0 ||
        (r = journal_done(hp->journal, err)) < 0)
        return r;

    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        char what[64];
        snprintf(what, sizeof(what), "the virtual device of %s", en->what);
        if ((r = priv_handover_node(hp, what, en->vdev.node, &en->handover, err)) < 0)
            return r;
        en->qemu_fd = open(en->vdev.node, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (en->qemu_fd < 0 || fstat(en->qemu_fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
            st.st_rdev != en->vdev.rdev)
            return vmrun_failx(err, ENODEV, "%s: the virtual device's node %s is not there",
                               en->what, en->vdev.node);
    }
    return 0;
}

int input_host_qemu_fd(struct input_host *ih, size_t i)
{
    if (ih == NULL || i >= ih->n)
        return -1;
    return steal_fd(&ih->e[i].qemu_fd);
}

/* QEMU's own open file of a node (not the O_PATH one it inherited): found
 * in its descriptor table, taken with pidfd_getfd. -errno when none. */
static int qemu_file_of(pid_t qemu, dev_t rdev)
{
    char dir[PATH_MAX];
    if (host_path(dir, sizeof(dir), HOST_PROC, "/%ld/fdinfo", (long)qemu) < 0)
        return -ENAMETOOLONG;
    int pidfd = (int)syscall(SYS_pidfd_open, qemu, 0);
    if (pidfd < 0)
        return -errno;
    cleanup_close int pfd = pidfd;
    cleanup_closedir DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    int found = -ENOENT;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long n = strtol(e->d_name, &end, 10);
        if (*end != '\0' || end == e->d_name)
            continue;
        int fd = (int)syscall(SYS_pidfd_getfd, pfd, (int)n, 0);
        if (fd < 0) {
            if (errno == EPERM)
                return -EPERM;
            continue;
        }
        struct stat st;
        int fl = fcntl(fd, F_GETFL);
        if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev && fl >= 0 &&
            (fl & O_PATH) == 0) {
            if (found >= 0)
                close(found);
            found = fd;
            continue;
        }
        close(fd);
    }
    return found;
}

/* Keep QEMU's grab on entry en's virtual device (input.h, step 3). */
static int keep_qemu_grab(struct input_entry *en, pid_t qemu, bool untrusted,
                          struct vmrun_error *err)
{
    int fd = qemu_file_of(qemu, en->vdev.rdev);
    if (fd == -EPERM || fd == -ENOSYS) {
        if (untrusted)
            return vmrun_failx(err, -fd,
                               "%s: vmrun cannot hold the grab QEMU took on %s (pidfd_getfd: %s; "
                               "kernel.yama.ptrace_scope 3 forbids it): without it, QEMU's user "
                               "could type into the host's consoles through it",
                               en->what, en->vdev.node, strerror(-fd));
        return 0;
    }
    if (fd < 0)
        return vmrun_failx(err, ENODEV, "%s: QEMU did not open its virtual device %s", en->what,
                           en->vdev.node);
    en->qemu_file = fd;
    /* Who holds the grab: letting it go through this file succeeds only
     * when the file holds it (EINVAL otherwise); taking it back at once
     * leaves it with QEMU's file. The device is still inhibited, so
     * nothing gets through in between. */
    if (ioctl(fd, EVIOCGRAB, 0) < 0)
        return vmrun_failx(err, EBUSY,
                           "%s: QEMU does not hold its virtual device %s: another process "
                           "grabbed it first",
                           en->what, en->vdev.node);
    if (ioctl(fd, EVIOCGRAB, 1) < 0)
        return vmrun_fail(err, errno, "%s: grab %s again for QEMU", en->what, en->vdev.node);
    return 0;
}

int input_host_qemu_started(struct input_host *ih, pid_t qemu, bool untrusted,
                            struct vmrun_error *err)
{
    for (size_t i = 0; ih != NULL && i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        /* QEMU has its file: nobody else may open the node from now on. */
        if (en->handover != NULL) {
            int r = priv_chown_undo(en->handover, err);
            cJSON_Delete(en->handover);
            en->handover = NULL;
            if (r < 0)
                return vmrun_error_prefix(err, "%s: give the virtual device back to root",
                                          en->what);
        }
        int r = keep_qemu_grab(en, qemu, untrusted, err);
        if (r < 0)
            return r;
        if ((r = uinput_inhibit(&en->vdev, false, err)) < 0)
            return vmrun_error_prefix(err, "%s", en->what);
    }
    return 0;
}

int input_host_led_channel(struct input_host *ih, int *qemu_end, struct vmrun_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return vmrun_fail(err, errno, "socketpair for the LEDs");
    struct input_msg m = {.type = IMSG_LEDS};
    int r = input_msg_send(ih->ctl, &m, sv[0]);
    close(sv[0]);
    if (r < 0) {
        close(sv[1]);
        return vmrun_fail(err, -r, "give the input mover the LED channel");
    }
    ih->led_channel = true;
    *qemu_end = sv[1];
    return 0;
}

/* ---- physical devices ------------------------------------------------------------- */

static struct attached *find_attached(struct input_host *ih, dev_t rdev, size_t *entry)
{
    for (size_t i = 0; i < ih->n; i++)
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++)
            if (ih->e[i].att[k].used && ih->e[i].att[k].rdev == rdev) {
                if (entry != NULL)
                    *entry = i;
                return &ih->e[i].att[k];
            }
    return NULL;
}

/* Open a node (root, not through a link, the number sysfs gave) and give
 * it to the mover. -EAGAIN: not openable yet (retry); 0 otherwise. */
static int attach(struct input_host *ih, size_t i, const struct input_node *nd)
{
    struct input_entry *en = &ih->e[i];
    struct attached *a = NULL;
    for (size_t k = 0; k < INPUT_ATTACH_MAX && a == NULL; k++)
        if (!en->att[k].used)
            a = &en->att[k];
    if (a == NULL)
        return 0;
    int fd = open(nd->node, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == EACCES || errno == EPERM || errno == ENXIO ? -EAGAIN : 0;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != nd->rdev) {
        close(fd);
        return -EAGAIN; /* the node of another device by now: look again */
    }
    /* What it reports joins what is remembered for the next start (a
     * device first plugged in while the VM runs, one with more nodes or
     * more keys than was known): only ever more. */
    struct input_caps c, before = en->seen;
    if (input_caps_read(fd, &c) == 0) {
        if (en->seen.name[0] == '\0')
            en->seen = en->caps;
        input_caps_merge(&en->seen, &c);
        if (!input_caps_equal(&before, &en->seen) && !input_caps_equal(&en->caps, &en->seen))
            remember(ih, en->desc, &en->seen);
    }
    struct input_msg m = {.type = IMSG_ATTACH, .entry = (int)i, .source = ih->next_source};
    if (input_msg_send(ih->ctl, &m, fd) < 0) {
        close(fd);
        return 0;
    }
    *a = (struct attached){.used = true, .source = ih->next_source, .rdev = nd->rdev, .fd = fd};
    ih->next_source = (ih->next_source + 1) % ROUTE_SOURCES_MAX;
    snprintf(a->node, sizeof(a->node), "%s", nd->node);
    snprintf(a->name, sizeof(a->name), "%s", nd->name);
    snprintf(a->physdev, sizeof(a->physdev), "%s", nd->physdev);
    input_host_say(ih, "%s: %s (\"%s\") attached", en->what, nd->node, nd->name);
    return 0;
}

/* Look for every entry's nodes and attach those not attached yet. True
 * when something could not be opened yet (worth a retry). */
static bool rescan(struct input_host *ih)
{
    struct input_nodes nodes;
    struct vmrun_error err = {0};
    if (input_nodes_scan(&nodes, &err) < 0)
        return true;
    bool again = false;
    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        size_t idx[INPUT_ATTACH_MAX], n;
        err = (struct vmrun_error){0};
        int r = input_match(&en->spec, &nodes, idx, INPUT_ATTACH_MAX, &n, &err);
        if (r == -EEXIST) {
            /* A second device like the one the VM has stays the host's:
             * only nodes of the device attached now are looked for. With
             * none attached, vmrun cannot choose (said once). */
            const char *mine = NULL;
            for (size_t k = 0; k < INPUT_ATTACH_MAX && mine == NULL; k++)
                if (en->att[k].used)
                    mine = en->att[k].physdev;
            if (strcmp(en->other, err.msg) != 0) {
                snprintf(en->other, sizeof(en->other), "%s", err.msg);
                input_host_say(ih, "%s: %s; %s", en->what, err.msg,
                               mine != NULL ? "the one the VM does not have stays the host's"
                                            : "neither is given to the guest");
            }
            if (mine == NULL)
                continue;
            struct input_spec only = en->spec;
            only.physdev = mine;
            err = (struct vmrun_error){0};
            r = input_match(&only, &nodes, idx, INPUT_ATTACH_MAX, &n, &err);
        }
        if (r < 0 || n == 0) {
            /* A path not made yet (udev makes the links after the kernel's
             * event): worth another look while the window lasts. */
            again |= en->spec.path != NULL && r == 0;
            continue;
        }
        /* The device of the nodes attached now, when a second one came. */
        for (size_t k = 0; k < n; k++) {
            const struct input_node *nd = &nodes.items[idx[k]];
            if (find_attached(ih, nd->rdev, NULL) != NULL)
                continue;
            if (attach(ih, i, nd) == -EAGAIN)
                again = true;
        }
    }
    input_nodes_free(&nodes);
    return again;
}

/* Look again soon, with a growing delay, for RETRY_WINDOW_MS. */
static void retry_soon(struct input_host *ih, bool restart)
{
    long long now = now_ms();
    if (restart || !ih->retrying) {
        ih->retrying = true;
        ih->retry_ms = RETRY_FIRST_MS;
        ms_ts(now + RETRY_WINDOW_MS, &ih->retry_until);
    } else {
        ih->retry_ms = ih->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ih->retry_ms * 2;
    }
    ms_ts(now + ih->retry_ms, &ih->retry_at);
}

int input_host_start(struct input_host *ih, struct vmrun_error *err)
{
    if (ih == NULL)
        return 0;
    struct vmrun_error uerr = {0};
    ih->uevent = uevent_open(&uerr);
    if (ih->uevent < 0) {
        ih->uevent = -1;
        input_host_say(ih,
                       "warning: the VM's input devices are not followed when plugged in again: %s",
                       uerr.msg);
    }
    ih->started = true;
    ih->stats_at = now_ms() + STATS_EVERY_MS;
    if (rescan(ih))
        retry_soon(ih, true);
    struct input_msg m = {.type = IMSG_SIDE, .value = ROUTE_GUEST};
    int r = input_msg_send(ih->ctl, &m, -1);
    if (r < 0)
        return vmrun_fail(err, -r, "give input to the guest");
    return 0;
}

/* ---- the supervisor's loop ------------------------------------------------------------ */

size_t input_host_pollfds(struct input_host *ih, struct pollfd *pfd, size_t max)
{
    size_t n = 0;
    if (ih == NULL)
        return 0;
    if (ih->ctl >= 0 && n < max)
        pfd[n++] = (struct pollfd){.fd = ih->ctl, .events = POLLIN};
    if (ih->uevent >= 0 && n < max)
        pfd[n++] = (struct pollfd){.fd = ih->uevent, .events = POLLIN};
    return n;
}

int input_host_timeout_ms(const struct input_host *ih)
{
    if (ih == NULL || !ih->started || ih->mover_lost)
        return -1;
    long long next = ih->stats_at;
    if (ih->retrying && ts_ms(&ih->retry_at) < next)
        next = ts_ms(&ih->retry_at);
    long long left = next - now_ms();
    return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

static void detach_source(struct input_host *ih, int source, int why)
{
    for (size_t i = 0; i < ih->n; i++)
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++) {
            struct attached *a = &ih->e[i].att[k];
            if (!a->used || a->source != source)
                continue;
            input_host_say(ih, "%s: %s (\"%s\") went away%s%s", ih->e[i].what, a->node, a->name,
                           why != 0 && why != ENODEV ? ": " : "",
                           why != 0 && why != ENODEV ? strerror(why) : "");
            if (a->fd >= 0)
                close(a->fd);
            *a = (struct attached){.fd = -1};
        }
}

static const char *side_name(int side)
{
    return side == ROUTE_GUEST ? "guest" : "host";
}

static bool on_mover(struct input_host *ih)
{
    bool changed = false;
    struct input_msg m;
    int fd, r;
    while ((r = input_msg_recv(ih->ctl, &m, &fd)) == 1) {
        if (fd >= 0)
            close(fd);
        switch (m.type) {
        case IMSG_GONE:
            detach_source(ih, m.source, m.value);
            changed = true;
            break;
        case IMSG_SIDE_NOW:
            if (m.value != ih->side)
                input_host_say(ih, "input is now with the %s", side_name(m.value));
            ih->side = m.value == ROUTE_GUEST ? ROUTE_GUEST : ROUTE_HOST;
            ih->side_answered = true;
            changed = true;
            break;
        case IMSG_GRAB_FAILED:
            for (size_t i = 0; i < ih->n; i++)
                for (size_t k = 0; k < INPUT_ATTACH_MAX; k++)
                    if (ih->e[i].att[k].used && ih->e[i].att[k].source == m.source)
                        input_host_say(ih, "%s: %s stays with the host: %s", ih->e[i].what,
                                       ih->e[i].att[k].node,
                                       m.value == -EBUSY ? "another program holds it (EVIOCGRAB)"
                                                         : strerror(-m.value));
            break;
        case IMSG_LED_STATE:
            ih->leds = m.value;
            changed = true;
            break;
        case IMSG_STATS_NOW:
            changed |= strcmp(ih->stats, m.text) != 0;
            snprintf(ih->stats, sizeof(ih->stats), "%s", m.text);
            break;
        case IMSG_LED_ENDED:
            ih->led_channel = false;
            snprintf(ih->led_note, sizeof(ih->led_note), "%s", m.text);
            input_host_say(ih, "warning: the keyboard LEDs no longer follow the guest: %s", m.text);
            changed = true;
            break;
        default:
            break;
        }
    }
    if (r < 0 && ih->ctl >= 0) {
        close(ih->ctl);
        ih->ctl = -1;
    }
    return changed;
}

static bool on_uevent(struct input_host *ih)
{
    struct uevent ev;
    struct vmrun_error err = {0};
    bool look = false;
    int r;
    while ((r = uevent_read(ih->uevent, &ev, &err)) != 0) {
        if (r == -ENOBUFS) {
            look = true; /* events were lost: look at everything */
            continue;
        }
        if (r < 0)
            break;
        if (ev.subsystem != NULL && strcmp(ev.subsystem, "input") == 0 &&
            strcmp(ev.action, "add") == 0 && ev.devname != NULL &&
            strncmp(ev.devname, "input/event", 11) == 0)
            look = true;
    }
    if (!look || ih->mover_lost)
        return false;
    retry_soon(ih, true);
    return false;
}

bool input_host_dispatch(struct input_host *ih, const struct pollfd *pfd, size_t n)
{
    if (ih == NULL)
        return false;
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        if (pfd[i].revents == 0)
            continue;
        if (pfd[i].fd == ih->ctl)
            changed |= on_mover(ih);
        else if (pfd[i].fd == ih->uevent)
            changed |= on_uevent(ih);
    }
    if (ih->started && !ih->mover_lost && now_ms() >= ih->stats_at && ih->ctl >= 0) {
        struct input_msg m = {.type = IMSG_STATS};
        input_msg_send(ih->ctl, &m, -1);
        ih->stats_at = now_ms() + STATS_EVERY_MS;
    }
    if (ih->retrying && now_ms() >= ts_ms(&ih->retry_at) && !ih->mover_lost) {
        bool again = rescan(ih);
        changed = true;
        if (again && now_ms() < ts_ms(&ih->retry_until))
            retry_soon(ih, false);
        else
            ih->retrying = false;
    }
    return changed;
}

/* The mover is gone: nothing it held may stay grabbed or pressed. */
static void mover_lost(struct input_host *ih)
{
    ih->mover_lost = true;
    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++)
            if (en->att[k].used && en->att[k].fd >= 0) {
                ioctl(en->att[k].fd, EVIOCGRAB, 0);
                close(en->att[k].fd);
                en->att[k] = (struct attached){.fd = -1};
            }
        /* Release in the guest what the virtual device still has down. */
        uint8_t down[INPUT_BITS_BYTES(KEY_MAX)] = {0};
        if (en->qemu_file < 0 || en->vdev.fd < 0 ||
            ioctl(en->qemu_file, EVIOCGKEY(sizeof(down)), down) < 0)
            continue;
        for (unsigned key = 0; key <= KEY_MAX; key++) {
            if (!input_bit(down, key))
                continue;
            struct input_event ev[2] = {{.type = EV_KEY, .code = (uint16_t)key, .value = 0},
                                        {.type = EV_SYN, .code = SYN_REPORT}};
            if (write(en->vdev.fd, ev, sizeof(ev)) < 0)
                break;
        }
    }
    ih->side = ROUTE_HOST;
}

bool input_host_reap(struct input_host *ih)
{
    if (ih == NULL || ih->mover <= 0)
        return false;
    int status;
    pid_t r = waitpid(ih->mover, &status, WNOHANG);
    if (r != ih->mover)
        return false;
    ih->mover = 0;
    if (WIFSIGNALED(status))
        input_host_say(
            ih,
            "the input mover was killed by signal %d (%s): input stays with the host for "
            "the rest of this run",
            WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        input_host_say(
            ih,
            "the input mover exited (status %d): input stays with the host for the rest of "
            "this run",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    mover_lost(ih);
    return true;
}

#define SIDE_ANSWER_MS 2000

int input_host_set_side(struct input_host *ih, const char *what, const char **side,
                        struct vmrun_error *err)
{
    if (ih == NULL)
        return vmrun_failx(err, ENODEV, "the VM has no input devices");
    int want = strcmp(what, "guest") == 0    ? ROUTE_GUEST
               : strcmp(what, "host") == 0   ? ROUTE_HOST
               : strcmp(what, "toggle") == 0 ? IMSG_TOGGLE
                                             : -1;
    if (want < 0)
        return vmrun_failx(err, EINVAL, "expected host, guest or toggle, got \"%s\"", what);
    if (ih->mover_lost || ih->ctl < 0)
        return vmrun_failx(err, EPIPE, "the input mover is gone: input stays with the host");
    if (!ih->started)
        return vmrun_failx(err, EAGAIN, "the VM's input devices are not started yet");
    struct input_msg m = {.type = IMSG_SIDE, .value = want};
    int r = input_msg_send(ih->ctl, &m, -1);
    if (r < 0)
        return vmrun_fail(err, -r, "tell the input mover");
    /* Its answer, whatever else it says meanwhile (on_mover keeps that). */
    ih->side_answered = false;
    for (long long end = now_ms() + SIDE_ANSWER_MS; !ih->side_answered && now_ms() < end;) {
        struct pollfd p = {.fd = ih->ctl, .events = POLLIN};
        if (poll(&p, 1, 50) > 0)
            on_mover(ih);
        if (ih->ctl < 0)
            break;
    }
    if (!ih->side_answered)
        return vmrun_failx(err, ETIMEDOUT, "the input mover did not answer");
    *side = side_name(ih->side);
    return 0;
}

char *input_host_status_json(const struct input_host *ih)
{
    cJSON *j = cJSON_CreateObject();
    if (j == NULL)
        return NULL;
    cJSON_AddStringToObject(j, "side", side_name(ih->side));
    if (ih->leds >= 0) {
        cJSON *l = cJSON_AddObjectToObject(j, "leds");
        cJSON_AddBoolToObject(l, "caps_lock", (ih->leds & VNC_LED_CAPS) != 0);
        cJSON_AddBoolToObject(l, "num_lock", (ih->leds & VNC_LED_NUM) != 0);
        cJSON_AddBoolToObject(l, "scroll_lock", (ih->leds & VNC_LED_SCROLL) != 0);
    } else {
        cJSON_AddNullToObject(j, "leds");
    }
    cJSON_AddBoolToObject(j, "leds_follow_guest", ih->led_channel);
    if (ih->led_note[0] != '\0')
        cJSON_AddStringToObject(j, "leds_note", ih->led_note);
    if (ih->mover_lost)
        cJSON_AddStringToObject(j, "error", "the input mover is gone: input stays with the host");
    /* What the mover adds (input_mover.h), as it last said. */
    unsigned long long frames, dropped;
    long long p50, p90, p99, max;
    if (sscanf(ih->stats, "frames=%llu p50=%lld p90=%lld p99=%lld max=%lld dropped=%llu", &frames,
               &p50, &p90, &p99, &max, &dropped) == 6) {
        cJSON *st = cJSON_AddObjectToObject(j, "moved");
        cJSON_AddNumberToObject(st, "frames", (double)frames);
        cJSON_AddNumberToObject(st, "dropped", (double)dropped);
        cJSON *lat = cJSON_AddObjectToObject(st, "added_latency_us");
        cJSON_AddNumberToObject(lat, "p50", (double)p50);
        cJSON_AddNumberToObject(lat, "p90", (double)p90);
        cJSON_AddNumberToObject(lat, "p99", (double)p99);
        cJSON_AddNumberToObject(lat, "max", (double)max);
    }
    cJSON *devs = cJSON_AddArrayToObject(j, "devices");
    for (size_t i = 0; i < ih->n; i++) {
        const struct input_entry *en = &ih->e[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "input", (double)i);
        cJSON_AddStringToObject(d, "match", en->desc);
        cJSON_AddBoolToObject(d, "required", en->in->required);
        cJSON_AddStringToObject(d, "hotkey", route_hotkey_name(en->hotkey));
        cJSON_AddStringToObject(d, "virtual", en->vdev.node);
        cJSON *att = cJSON_AddArrayToObject(d, "attached");
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++) {
            if (!en->att[k].used)
                continue;
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "node", en->att[k].node);
            cJSON_AddStringToObject(a, "name", en->att[k].name);
            cJSON_AddItemToArray(att, a);
        }
        cJSON_AddItemToArray(devs, d);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

void input_host_stop(struct input_host *ih)
{
    if (ih == NULL)
        return;
    if (ih->mover > 0) {
        /* The mover releases what the guest holds and lets go first. */
        struct input_msg m = {.type = IMSG_QUIT};
        if (ih->ctl >= 0)
            input_msg_send(ih->ctl, &m, -1);
        int status;
        pid_t r = 0;
        for (int waited = 0; waited < MOVER_QUIT_MS; waited += 10) {
            r = waitpid(ih->mover, &status, WNOHANG);
            if (r == ih->mover || (r < 0 && errno != EINTR))
                break;
            usleep(10000);
        }
        if (r != ih->mover) {
            kill(ih->mover, SIGKILL);
            while (waitpid(ih->mover, &status, 0) < 0 && errno == EINTR)
                ;
        }
        ih->mover = 0;
    }
    if (ih->ctl >= 0)
        close(ih->ctl);
    if (ih->uevent >= 0)
        close(ih->uevent);
    for (size_t i = 0; i < ih->n; i++) {
        struct input_entry *en = &ih->e[i];
        for (size_t k = 0; k < INPUT_ATTACH_MAX; k++)
            if (en->att[k].fd >= 0) {
                ioctl(en->att[k].fd, EVIOCGRAB, 0);
                close(en->att[k].fd);
            }
        /* The device first, then QEMU's grab on it. */
        uinput_close(&en->vdev);
        if (en->qemu_file >= 0)
            close(en->qemu_file);
        if (en->qemu_fd >= 0)
            close(en->qemu_fd);
        cJSON_Delete(en->handover);
    }
    free(ih->e);
    free(ih);
}

/* ---- recover -------------------------------------------------------------------------- */

/* Is pid the mover that was started at `since` (its start time)? */
static bool is_mover(long pid, unsigned long long since)
{
    char path[PATH_MAX], comm[32];
    if (host_path(path, sizeof(path), HOST_PROC, "/%ld/comm", pid) < 0 ||
        hostfile_read(path, comm, sizeof(comm)) < 0 || strcmp(comm, "vmrun-input") != 0)
        return false;
    return proc_start_time((pid_t)pid) == since;
}

static int mover_undo(const cJSON *args, struct vmrun_error *err)
{
    long pid;
    if (oparg_long(args, "pid", 1, 4194304, &pid) < 0)
        return vmrun_failx(err, EINVAL, "input-mover record without a pid");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(args, "since");
    if (!cJSON_IsNumber(s) || s->valuedouble < 0)
        return vmrun_failx(err, EINVAL, "input-mover record without its start time");
    unsigned long long since = (unsigned long long)s->valuedouble;
    if (!is_mover(pid, since))
        return 0;
    kill((pid_t)pid, SIGKILL);
    for (int i = 0; i < 100 && is_mover(pid, since); i++)
        usleep(20000);
    return 0;
}

static int input_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *vm = oparg_string(args, "vm");
    if (vm == NULL)
        return vmrun_failx(err, EINVAL, "input record without the VM's name");
    /* The virtual devices end with the descriptors of the VM's processes,
     * which are gone by now; give the kernel a moment to remove them. */
    char names[8][32];
    int n = 0;
    for (int i = 0; i < 50; i++) {
        n = uinput_find_leftovers(vm, names, 8);
        if (n <= 0)
            return 0;
        usleep(20000);
    }
    return vmrun_failx(err, EBUSY,
                       "%d virtual input device(s) of '%s' are still there (%s%s): a process "
                       "still holds /dev/uinput for them",
                       n, vm, names[0], n > 1 ? ", ..." : "");
}

static void describe_input(const cJSON *args, char *buf, size_t len)
{
    const char *vm = oparg_string(args, "vm");
    snprintf(buf, len, "check that no virtual input device of '%s' is left", vm != NULL ? vm : "?");
}

static void describe_mover(const cJSON *args, char *buf, size_t len)
{
    long pid = 0;
    oparg_long(args, "pid", 1, 4194304, &pid);
    snprintf(buf, len, "end the input mover (pid %ld), which lets go of the input devices", pid);
}

const struct journal_op input_journal_ops[] = {
    {"input", input_undo, describe_input},
    {"input-mover", mover_undo, describe_mover},
    {NULL, NULL, NULL},
};
