/* The input mover process (input_mover.h). */
#include "host/input/input_mover.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/input/vnc_led.h"
#include "priv/priv_drop.h"
#include "priv/seccomp.h"

#define MOVER_READY_TIMEOUT_MS 5000

/* AddressSanitizer, as gcc and clang say it. */
#if defined(__SANITIZE_ADDRESS__)
#define MOVER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOVER_ASAN 1
#endif
#endif
#ifndef MOVER_ASAN
#define MOVER_ASAN 0
#endif
#define MOVER_READ_EVENTS 64

/* ---- messages ------------------------------------------------------------- */

int input_msg_send(int sock, const struct input_msg *m, int fd)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

int input_msg_recv(int sock, struct input_msg *m, int *fd)
{
    *fd = -1;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        return -EPIPE;
    int got = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&got, CMSG_DATA(c), sizeof(int));
    if (n != (ssize_t)sizeof(*m) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        if (got >= 0)
            close(got);
        return -EBADMSG;
    }
    m->text[sizeof(m->text) - 1] = '\0';
    *fd = got;
    return 1;
}

/* ---- what the mover adds ---------------------------------------------------- */

/* 1 us buckets up to 4 ms, then 1 ms ones up to 1 s, then one for the
 * rest: exact where it matters, still telling beyond. */
#define HIST_FINE_US 4096
#define HIST_COARSE 1000
#define HIST_BUCKETS (HIST_FINE_US + HIST_COARSE + 1)

struct mover_stats {
    uint32_t hist[HIST_BUCKETS];
    uint64_t frames, dropped;
    long long max_us;
};

static size_t bucket_of(long long us)
{
    if (us < HIST_FINE_US)
        return (size_t)us;
    long long ms = us / 1000;
    return ms < HIST_COARSE ? (size_t)(HIST_FINE_US + ms) : HIST_BUCKETS - 1;
}

/* The largest time a bucket holds. */
static long long bucket_top(size_t b, long long max_us)
{
    if (b < HIST_FINE_US)
        return (long long)b;
    if (b < HIST_BUCKETS - 1) {
        long long top = ((long long)(b - HIST_FINE_US) + 1) * 1000 - 1;
        return top < max_us ? top : max_us;
    }
    return max_us;
}

static void stats_add(struct mover_stats *st, long long us)
{
    if (us < 0)
        us = 0;
    st->hist[bucket_of(us)]++;
    if (us > st->max_us)
        st->max_us = us;
    st->frames++;
}

/* The time below which a share p (0-1) of the frames took. */
static long long stats_pct(const struct mover_stats *st, double p)
{
    uint64_t want = (uint64_t)((double)st->frames * p + 0.999999), seen = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++) {
        seen += st->hist[b];
        if (seen >= want && want > 0)
            return bucket_top(b, st->max_us);
    }
    return 0;
}

/* ---- the mover's state ------------------------------------------------------ */

struct mover {
    const struct input_mover_cfg *cfg;
    int ctl;
    struct route route;
    int src_fd[ROUTE_SOURCES_MAX];
    bool src_leds[ROUTE_SOURCES_MAX];     /* the source has LEDs */
    uint8_t host_leds[ROUTE_SOURCES_MAX]; /* its LEDs before the guest had it */
    int vnc;                              /* -1: no LED channel */
    struct vnc_led vl;
    int guest_leds; /* VNC_LED_* bits; -1 before QEMU said */
    struct mover_stats stats;
};

/* One instance, in the mover process only: the route is too big for a
 * stack, and the mover has nothing else to keep. */
static struct mover the_mover;

static void tell(struct mover *m, uint32_t type, int source, int value, const char *text)
{
    struct input_msg msg = {.type = type, .source = source, .value = value};
    if (text != NULL)
        snprintf(msg.text, sizeof(msg.text), "%s", text);
    input_msg_send(m->ctl, &msg, -1);
}

/* LEDs: the guest's while it has input, the host's own again after. */
static uint8_t leds_from_vnc(int bits)
{
    return (uint8_t)(((bits & VNC_LED_NUM) ? 1u << LED_NUML : 0) |
                     ((bits & VNC_LED_CAPS) ? 1u << LED_CAPSL : 0) |
                     ((bits & VNC_LED_SCROLL) ? 1u << LED_SCROLLL : 0));
}

static void set_leds(struct mover *m, unsigned source, uint8_t leds)
{
    if (!m->src_leds[source] || m->src_fd[source] < 0)
        return;
    static const unsigned codes[] = {LED_NUML, LED_CAPSL, LED_SCROLLL};
    struct input_event ev[4];
    memset(ev, 0, sizeof(ev));
    for (size_t i = 0; i < 3; i++)
        ev[i] = (struct input_event){
            .type = EV_LED, .code = (uint16_t)codes[i], .value = (leds >> codes[i]) & 1};
    ev[3] = (struct input_event){.type = EV_SYN, .code = SYN_REPORT};
    if (write(m->src_fd[source], ev, sizeof(ev)) < 0) {
        /* a keyboard going away: its removal is reported by read() */
    }
}

static void take_leds(struct mover *m, unsigned source)
{
    if (!m->src_leds[source])
        return;
    uint8_t now[INPUT_BITS_BYTES(LED_MAX)] = {0};
    if (ioctl(m->src_fd[source], EVIOCGLED(sizeof(now)), now) >= 0)
        m->host_leds[source] = now[0];
    if (m->guest_leds >= 0)
        set_leds(m, source, leds_from_vnc(m->guest_leds));
}

/* ---- the route's effects ------------------------------------------------------ */

static void op_to_guest(void *opaque, unsigned entry, const struct input_event *ev, size_t n)
{
    struct mover *m = opaque;
    if (entry >= m->cfg->n_entries)
        return;
    /* From the kernel's timestamp of the frame's first event (the sources
     * stamp with CLOCK_MONOTONIC) to now: what vmrun adds. */
    if (n > 0 && (ev[0].input_event_sec != 0 || ev[0].input_event_usec != 0)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long us = ((long long)now.tv_sec - (long long)ev[0].input_event_sec) * 1000000 +
                       now.tv_nsec / 1000 - (long long)ev[0].input_event_usec;
        stats_add(&m->stats, us);
    }
    if (write(m->cfg->uinput_fd[entry], ev, n * sizeof(*ev)) < 0) {
        /* uinput takes every well-formed event; nothing to do */
    }
}

static void op_to_host(void *opaque, unsigned source, const struct input_event *ev, size_t n)
{
    struct mover *m = opaque;
    if (write(m->src_fd[source], ev, n * sizeof(*ev)) < 0) {
        /* a device going away: read() reports it */
    }
}

static int op_grab(void *opaque, unsigned source, bool on)
{
    struct mover *m = opaque;
    return ioctl(m->src_fd[source], EVIOCGRAB, on ? 1 : 0) < 0 ? -errno : 0;
}

static int op_keystate(void *opaque, unsigned source, uint8_t bits[ROUTE_KEY_BYTES])
{
    struct mover *m = opaque;
    return ioctl(m->src_fd[source], EVIOCGKEY(ROUTE_KEY_BYTES), bits) < 0 ? -errno : 0;
}

static void op_side_changed(void *opaque, enum route_side side)
{
    struct mover *m = opaque;
    for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++) {
        if (!m->route.src[i].active)
            continue;
        if (side == ROUTE_GUEST && m->route.src[i].grabbed)
            take_leds(m, i);
        else if (side == ROUTE_HOST && m->src_leds[i])
            set_leds(m, i, m->host_leds[i]);
    }
    tell(m, IMSG_SIDE_NOW, -1, side, NULL);
}

static void op_grab_failed(void *opaque, unsigned source, int err)
{
    tell(opaque, IMSG_GRAB_FAILED, (int)source, err, NULL);
}

/* ---- what comes in ------------------------------------------------------------- */

static void close_source(struct mover *m, unsigned i)
{
    if (m->src_fd[i] >= 0)
        close(m->src_fd[i]);
    m->src_fd[i] = -1;
    m->src_leds[i] = false;
}

static void on_control(struct mover *m, const struct input_msg *msg, int fd)
{
    switch (msg->type) {
    case IMSG_ATTACH: {
        unsigned i = (unsigned)msg->source;
        if (fd < 0 || msg->source < 0 || i >= ROUTE_SOURCES_MAX || m->src_fd[i] >= 0 ||
            msg->entry < 0 || (size_t)msg->entry >= m->cfg->n_entries) {
            if (fd >= 0)
                close(fd);
            return;
        }
        m->src_fd[i] = fd;
        int clock = CLOCK_MONOTONIC;
        ioctl(fd, EVIOCSCLOCKID, &clock);
        uint8_t leds[INPUT_BITS_BYTES(LED_MAX)] = {0};
        m->src_leds[i] = ioctl(fd, EVIOCGBIT(EV_LED, sizeof(leds)), leds) >= 0 &&
                         (input_bit(leds, LED_NUML) || input_bit(leds, LED_CAPSL) ||
                          input_bit(leds, LED_SCROLLL));
        route_add_source(&m->route, i, (unsigned)msg->entry, m->cfg->hotkey[msg->entry]);
        if (m->route.side == ROUTE_GUEST && m->route.src[i].grabbed)
            take_leds(m, i);
        return;
    }
    case IMSG_DETACH: {
        unsigned i = (unsigned)msg->source;
        if (msg->source < 0 || i >= ROUTE_SOURCES_MAX || m->src_fd[i] < 0)
            break;
        if (m->route.side == ROUTE_GUEST && m->route.src[i].grabbed)
            set_leds(m, i, m->host_leds[i]);
        route_remove_source(&m->route, i, false);
        close_source(m, i);
        break;
    }
    case IMSG_SIDE:
        if (msg->value == IMSG_TOGGLE)
            route_set_side(&m->route, m->route.side == ROUTE_GUEST ? ROUTE_HOST : ROUTE_GUEST);
        else if (msg->value == ROUTE_HOST || msg->value == ROUTE_GUEST)
            route_set_side(&m->route, (enum route_side)msg->value);
        else
            tell(m, IMSG_SIDE_NOW, -1, m->route.side, NULL);
        break;
    case IMSG_STATS: {
        const struct mover_stats *st = &m->stats;
        struct input_msg r = {.type = IMSG_STATS_NOW};
        snprintf(r.text, sizeof(r.text),
                 "frames=%llu p50=%lld p90=%lld p99=%lld max=%lld dropped=%llu",
                 (unsigned long long)st->frames, stats_pct(st, 0.5), stats_pct(st, 0.9),
                 stats_pct(st, 0.99), st->max_us, (unsigned long long)st->dropped);
        input_msg_send(m->ctl, &r, -1);
        break;
    }
    case IMSG_LEDS:
        if (fd >= 0 && m->vnc < 0) {
            m->vnc = fd;
            fd = -1;
            vnc_led_init(&m->vl);
        }
        break;
    default:
        break;
    }
    if (fd >= 0)
        close(fd);
}

static void on_source(struct mover *m, unsigned i)
{
    struct input_event ev[MOVER_READ_EVENTS];
    ssize_t n = read(m->src_fd[i], ev, sizeof(ev));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* ENODEV: unplugged. The guest gets its releases first. */
        int e = n < 0 ? errno : EIO;
        route_remove_source(&m->route, i, true);
        close_source(m, i);
        tell(m, IMSG_GONE, (int)i, e, NULL);
        return;
    }
    for (size_t k = 0; k < (size_t)n / sizeof(ev[0]); k++) {
        if (ev[k].type == EV_SYN && ev[k].code == SYN_DROPPED)
            m->stats.dropped++;
        route_event(&m->route, i, &ev[k]);
    }
}

static void end_leds(struct mover *m, const char *why)
{
    close(m->vnc);
    m->vnc = -1;
    tell(m, IMSG_LED_ENDED, -1, 0, why);
}

static void on_vnc(struct mover *m)
{
    uint8_t buf[512], reply[VNC_LED_REPLY_MAX];
    size_t rlen = 0;
    ssize_t n = read(m->vnc, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        end_leds(m, "QEMU closed the connection the LEDs come through");
        return;
    }
    int r = vnc_led_feed(&m->vl, buf, (size_t)n, reply, &rlen);
    if (rlen > 0 && write(m->vnc, reply, rlen) != (ssize_t)rlen) {
        end_leds(m, "cannot answer QEMU's VNC server");
        return;
    }
    if (r < 0) {
        end_leds(m, m->vl.error);
        return;
    }
    if (r == 1) {
        m->guest_leds = m->vl.state;
        tell(m, IMSG_LED_STATE, -1, m->guest_leds, NULL);
        if (m->route.side == ROUTE_GUEST)
            for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++)
                if (m->route.src[i].active && m->route.src[i].grabbed)
                    set_leds(m, i, leds_from_vnc(m->guest_leds));
    }
}

static _Noreturn void quit(struct mover *m)
{
    /* Everything back to the host: the guest's keys released, the grabs
     * and the host's LEDs given back. */
    route_set_side(&m->route, ROUTE_HOST);
    _exit(0);
}

static _Noreturn void run(struct mover *m)
{
    struct pollfd pfd[2 + ROUTE_SOURCES_MAX];
    unsigned who[ROUTE_SOURCES_MAX];
    for (;;) {
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = m->ctl, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = m->vnc, .events = POLLIN};
        for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++)
            if (m->src_fd[i] >= 0) {
                who[n - 2] = i;
                pfd[n++] = (struct pollfd){.fd = m->src_fd[i], .events = POLLIN};
            }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            quit(m);
        }
        for (size_t k = 2; k < n; k++)
            if (pfd[k].revents != 0 && m->src_fd[who[k - 2]] == pfd[k].fd)
                on_source(m, who[k - 2]);
        if (m->vnc >= 0 && pfd[1].revents != 0)
            on_vnc(m);
        if (pfd[0].revents != 0) {
            struct input_msg msg;
            int fd, r;
            while ((r = input_msg_recv(m->ctl, &msg, &fd)) == 1) {
                if (msg.type == IMSG_QUIT) {
                    if (fd >= 0)
                        close(fd);
                    quit(m);
                }
                on_control(m, &msg, fd);
            }
            if (r < 0)
                quit(m); /* the supervisor is gone */
        }
    }
}

/* ---- becoming the mover -------------------------------------------------------- */

static int keep_only(const int *keep, size_t n)
{
    /* Close every descriptor but 0-2 and those kept, gap by gap. */
    int sorted[ROUTE_ENTRIES_MAX + 1];
    for (size_t i = 0; i < n; i++)
        sorted[i] = keep[i];
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
            int t = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = t;
        }
    unsigned from = 3;
    for (size_t i = 0; i <= n; i++) {
        unsigned to = i < n ? (unsigned)sorted[i] : ~0u;
        if (to > from && syscall(SYS_close_range, from, to - 1, 0) < 0)
            return -errno;
        if (i < n)
            from = (unsigned)sorted[i] + 1;
    }
    return 0;
}

/* Before the privileges go: the CPUs and the priority (input_mover.h). */
static void placement(const struct input_mover_cfg *cfg)
{
    if (cfg->n_cpus > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (size_t i = 0; i < cfg->n_cpus; i++)
            if (cfg->cpus[i] >= 0 && cfg->cpus[i] < CPU_SETSIZE)
                CPU_SET(cfg->cpus[i], &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    if (cfg->nice != 0)
        setpriority(PRIO_PROCESS, 0, cfg->nice);
}

static int drop_privileges(struct vmrun_error *err)
{
    /* uid 0 stays (see input_mover.h); every capability goes, the
     * bounding set first, while CAP_SETPCAP still allows it. */
    capng_clear(CAPNG_SELECT_ALL);
    if (capng_apply(CAPNG_SELECT_ALL) < 0)
        return vmrun_failx(err, EPERM, "the input mover could not drop its capabilities");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    int r = priv_verify_no_capabilities(err);
    if (r < 0)
        return vmrun_error_prefix(err, "the input mover");

    static const int calls[] = {
        SYS_read,          SYS_write,   SYS_close,        SYS_poll,
        SYS_ppoll,         SYS_recvmsg, SYS_sendmsg,      SYS_ioctl,
        SYS_fcntl,         SYS_exit,    SYS_exit_group,   SYS_brk,
        SYS_mmap,          SYS_munmap,  SYS_rt_sigreturn, SYS_restart_syscall,
        SYS_clock_gettime, SYS_getpid,
#if MOVER_ASAN
        /* The sanitizer build's runtime looks at its signal stack before
         * a function that does not return. */
        SYS_sigaltstack,
#endif
    };
    static const unsigned long ioctls[] = {
        EVIOCGRAB,
        EVIOCGKEY(ROUTE_KEY_BYTES),
        EVIOCGLED(INPUT_BITS_BYTES(LED_MAX)),
        EVIOCGBIT(EV_LED, INPUT_BITS_BYTES(LED_MAX)),
        EVIOCSCLOCKID,
    };
    return seccomp_allow_only(calls, ARRAY_SIZE(calls), ioctls, ARRAY_SIZE(ioctls), err);
}

static _Noreturn void mover_main(const struct input_mover_cfg *cfg, int ctl, pid_t parent)
{
    struct mover *m = &the_mover;
    struct vmrun_error err = {0};
    /* Die with the supervisor; then check it did not die before. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    setpgid(0, 0); /* Ctrl-C on the terminal is the supervisor's */
    prctl(PR_SET_NAME, "vmrun-input", 0, 0, 0);

    int keep[ROUTE_ENTRIES_MAX + 1];
    size_t nk = 0;
    keep[nk++] = ctl;
    for (size_t i = 0; i < cfg->n_entries; i++)
        keep[nk++] = cfg->uinput_fd[i];
    placement(cfg);
    int r = keep_only(keep, nk);
    if (r < 0)
        vmrun_fail(&err, -r, "the input mover could not close what it does not need");
    else
        r = drop_privileges(&err);
    struct input_msg ready = {.type = IMSG_READY, .value = r};
    if (r < 0)
        snprintf(ready.text, sizeof(ready.text), "%s", err.msg);
    input_msg_send(ctl, &ready, -1);
    if (r < 0)
        _exit(1);

    m->cfg = cfg;
    m->ctl = ctl;
    m->vnc = -1;
    m->guest_leds = -1;
    for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++)
        m->src_fd[i] = -1;
    static const struct route_ops ops = {
        .to_guest = op_to_guest,
        .to_host = op_to_host,
        .grab = op_grab,
        .keystate = op_keystate,
        .side_changed = op_side_changed,
        .grab_failed = op_grab_failed,
    };
    route_init(&m->route, &ops, m);
    run(m);
}

int input_mover_start(const struct input_mover_cfg *cfg, pid_t *pid, int *ctl,
                      struct vmrun_error *err)
{
    if (cfg->n_entries > ROUTE_ENTRIES_MAX)
        return vmrun_failx(err, E2BIG, "too many input devices");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return vmrun_fail(err, errno, "socketpair for the input mover");
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return vmrun_fail(err, e, "fork the input mover");
    }
    if (child == 0) {
        close(sv[0]);
        mover_main(cfg, sv[1], parent);
    }
    close(sv[1]);
    cleanup_pid pid_t running = child;
    cleanup_close int sock = sv[0];
    /* Its first word: ready, or why not. */
    struct pollfd pfd = {.fd = sock, .events = POLLIN};
    int pr;
    do
        pr = poll(&pfd, 1, MOVER_READY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    struct input_msg msg;
    int fd = -1;
    int r = pr > 0 ? input_msg_recv(sock, &msg, &fd) : -ETIMEDOUT;
    if (fd >= 0)
        close(fd);
    if (r != 1 || msg.type != IMSG_READY)
        return vmrun_failx(err, r < 0 ? -r : EPROTO, "the input mover did not start");
    if (msg.value < 0)
        return vmrun_failx(err, -msg.value, "%s", msg.text);
    *pid = steal_fd(&running);
    *ctl = steal_fd(&sock);
    return 0;
}
