/* The supervisor (supervisor.h): one VM from start to a clean host. */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/input/input.h"
#include "host/net/tap.h"
#include "host/tpm/tpm.h"
#include "journal/journal.h"
#include "plan/hostprep.h"
#include "priv/access.h"
#include "priv/priv_drop.h"
#include "priv/priv_handover.h"
#include "priv/priv_notify.h"
#include "priv/seccomp.h"
#include "priv/spawn.h"
#include "qemu/cmdline.h"
#include "qemu/pin.h"
#include "qemu/qemu_fds.h"
#include "qemu/qemu_files.h"
#include "qmp.h"
#include "supervisor/control.h"
#include "supervisor/preflight.h"
#include "supervisor/runtime.h"
#include "supervisor/stop.h"
#include "supervisor/usb_hotplug.h"
#include "supervisor/vm_input.h"
#include "supervisor/vmstate.h"
#include "sys/child_env.h"
#include "sys/filecopy.h"
#include "sys/hostpath.h"
#include "sys/seams.h"

extern char **environ;

/* QEMU greets on QMP once it has read its whole command line; on a loaded
 * host with a large guest that can take seconds. */
#define QMP_CONNECT_TIMEOUT_MS 15000
#define QMP_COMMAND_TIMEOUT_MS 10000

struct sup {
    const struct vm_profile *p;
    const struct supervisor_opts *o;
    struct vm_runtime rt;
    struct journal journal;
    struct host_prep hp;
    struct vm_host_facts facts; /* where QEMU's files are (cmdline.h) */
    struct vm_host_facts_storage facts_storage;
    struct qemu_fds fds; /* what QEMU inherits; closed in vmrun once it runs */
    int qmp_peer;        /* vmrun's end of the QMP socketpair until qmp takes it */
    pid_t qemu;
    int qemu_status; /* from waitpid, valid once qemu == 0 */
    bool qemu_reaped;
    struct qmp_client *qmp;
    int sigfd;
    struct qemu_threads threads;
    time_t started_at;
    char qemu_exe[PATH_MAX];  /* the binary, resolved before fork */
    struct child_env qemu_env; /* its environment, when vmrun is root */
    char *const *qemu_envp;    /* what QEMU gets: qemu_env.v, or vmrun's own */
    struct firmware_choice fw;
    struct swtpm_proc swtpm; /* pid 0 without a TPM */
    bool tpm_died;           /* swtpm ended while QEMU ran */
    struct usb_hotplug *usb;  /* host USB devices following the rules; NULL without */
    struct input_host *input; /* NULL without input[] (host/input/input.h) */
    int control_fd;           /* requests from other vmrun commands (control.h) */

    /* stop state */
    enum vm_stop_stage stop_stage;
    bool stop_requested;
    bool guest_shutdown; /* a SHUTDOWN event with guest=true */
    struct timespec deadline;
    char reply_path[PATH_MAX];
    bool keep_runtime; /* an undo failed: the journal must stay for recover */
    char left[VMRUN_ERROR_MSG_MAX]; /* then: what is left on the host */
    struct argv_list argv; /* QEMU's, once built */
};

static void say(const struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct sup *s, const char *fmt, ...)
{
    if (s->o->say == NULL)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->o->say(s->o->say_opaque, msg);
}

static void now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

static int ms_until(const struct timespec *deadline)
{
    struct timespec t;
    now(&t);
    long long ms =
        (deadline->tv_sec - t.tv_sec) * 1000LL + (deadline->tv_nsec - t.tv_nsec) / 1000000;
    if (ms < 0)
        return 0;
    if (ms > 1000000)
        return 1000000;
    return (int)ms;
}

static void set_deadline(struct timespec *d, unsigned seconds)
{
    now(d);
    d->tv_sec += seconds;
}

/* ---- files around QEMU ------------------------------------------------ */

/* QMP over a socketpair: vmrun keeps one end, QEMU inherits the other as
 * its first fd (-chardev socket,fd=3). There is no socket file, so nothing
 * QEMU's user controls can stand in for it, and nobody else can connect. */
static int prepare_qmp(struct sup *s, struct vmrun_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return vmrun_fail(err, errno, "socketpair for QMP");
    s->qmp_peer = sv[0];
    int target = qemu_fds_add(&s->fds, sv[1], "QMP: a connected socket; vmrun holds the other end");
    if (target != s->facts.qmp_fd)
        return vmrun_failx(err, EINVAL, "internal error: QMP must be QEMU's fd %d, not %d",
                           s->facts.qmp_fd, target);
    return 0;
}

/* Whose graphical session the display handoff may stop units of: the user
 * QEMU runs as (who called vmrun through sudo or pkexec, or run_as), when
 * that user has a name. */
static const char *session_user(const struct priv_target *t)
{
    if (t == NULL || !t->change || t->uid == 0 || strncmp(t->user, "uid ", 4) == 0)
        return NULL;
    return t->user;
}

/* The TPM: its state made for QEMU's user, swtpm started (journaled) as
 * that user, and QEMU's end of the control channel among the fds QEMU
 * inherits, at the number the argv names. */
static int prepare_tpm(struct sup *s, struct vmrun_error *err)
{
    if (!s->p->tpm.present)
        return 0;
    char dir[PATH_MAX], state[PATH_MAX];
    if (vm_state_dir(s->p, dir, sizeof(dir)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "the state directory path is too long");
    const struct priv_target *t = s->o->target;
    bool change = t != NULL && t->change;
    int r = tpm_state_prepare(dir, change ? t->uid : geteuid(), change ? t->gid : getegid(),
                              state, sizeof(state), err);
    if (r < 0)
        return r;
    if ((r = swtpm_start(&s->journal, SWTPM_BINARY, state, t, &s->swtpm, err)) < 0)
        return r;
    char pidbuf[32];
    snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)s->swtpm.pid);
    if ((r = runtime_write_file(&s->rt, "swtpm.pid", pidbuf, err)) < 0)
        return r;
    int target = qemu_fds_add(&s->fds, s->swtpm.qemu_end,
                              "TPM: swtpm's control channel, a connected socket");
    s->swtpm.qemu_end = -1; /* the list owns it now */
    if (target != s->facts.tpm_fd)
        return vmrun_failx(err, EINVAL, "internal error: the TPM must be QEMU's fd %d, not %d",
                           s->facts.tpm_fd, target);
    say(s, "started the TPM emulator (swtpm, pid %ld) with the state in %s", (long)s->swtpm.pid,
        state);
    return 0;
}

/* The taps of the "bridge" and "tap" networks, opened here (root) and
 * inherited by QEMU at the numbers the argv names (host/net/tap.h). */
static int prepare_nets(struct sup *s, struct vmrun_error *err)
{
    for (size_t i = 0; i < s->p->n_nets && i < VM_NETS_MAX; i++) {
        const struct vm_net *n = &s->p->nets[i];
        if (n->type == VM_NET_USER)
            continue;
        char what[32], ifname[IFNAMSIZ], desc[160];
        snprintf(what, sizeof(what), "network[%zu]", i);
        int fd, r;
        if (n->type == VM_NET_BRIDGE) {
            r = net_tap_on_bridge(&s->journal, n->bridge, what, &fd, ifname, err);
            if (r < 0)
                return r;
            say(s, "%s: tap %s on bridge %s", what, ifname, n->bridge);
            snprintf(desc, sizeof(desc), "%s: tap %s on bridge %s", what, ifname, n->bridge);
        } else {
            r = net_tap_attach(n->tap, what, s->o->target, &fd, err);
            if (r < 0)
                return r;
            snprintf(desc, sizeof(desc), "%s: tap %s", what, n->tap);
        }
        int target = qemu_fds_add(&s->fds, fd, desc);
        if (target != s->facts.net_fd[i])
            return vmrun_failx(err, EINVAL, "internal error: %s must be QEMU's fd %d, not %d",
                               what, s->facts.net_fd[i], target);
    }
    return 0;
}

/* swtpm ends by itself when QEMU closes its connection, that is when QEMU
 * exits: then its end is no news. QEMU may still be on its way out when
 * swtpm's end is seen, and on a busy host it can take seconds to get
 * there (flushing disks, tearing down its threads); but before it closes
 * the TPM it has said so on QMP (a SHUTDOWN event, or the socket closed),
 * so look there first and only then wait for it to be reaped. */
static bool reap_qemu(struct sup *s, bool block);
static void drain_events(struct sup *s);
static bool qemu_ending(struct sup *s)
{
    if (s->stop_stage != VM_STOP_NONE)
        return true;
    for (int i = 0; i < 100; i++) {
        if (reap_qemu(s, false))
            return true;
        if (s->qmp == NULL)
            return true; /* QEMU closed its QMP socket: it is exiting */
        int r = qmp_pump(s->qmp);
        drain_events(s);
        if (r < 0 || s->guest_shutdown)
            return true;
        usleep(50000);
    }
    return false;
}

/* swtpm ended while the VM runs: the guest has lost its TPM. Say so and
 * stop the VM in order, as for a stop request. */
static void on_swtpm_death(struct sup *s)
{
    char why[256];
    swtpm_describe_exit(&s->swtpm, why, sizeof(why));
    s->tpm_died = true;
    say(s, "the VM's TPM emulator died: %s; stopping the VM", why);
    if (s->stop_stage != VM_STOP_NONE)
        return; /* already stopping */
    int r = s->qmp != NULL ? qmp_execute(s->qmp, "system_powerdown", NULL, NULL, 3000) : -1;
    if (r < 0)
        say(s, "system_powerdown failed: %s", s->qmp ? qmp_last_error(s->qmp) : "no QMP");
    s->stop_stage = VM_STOP_POWERDOWN;
    set_deadline(&s->deadline, s->p->shutdown.timeout_s);
}

/* ---- QEMU ---------------------------------------------------------------- */

/* QEMU's binary and environment, settled before fork. As root, QEMU gets
 * a fixed environment (sys/child_env.h) with its own user's HOME, USER,
 * LOGNAME and XDG_RUNTIME_DIR; of the caller's variables only those a
 * window or a sound server needs (DISPLAY, WAYLAND_DISPLAY, XAUTHORITY,
 * PULSE_SERVER), and only when the profile has a window or sound, and
 * only when QEMU runs as that caller: they are read with QEMU's user's
 * own rights. As an ordinary user, QEMU keeps the user's environment. */
static int qemu_env_prepare(struct sup *s, struct vmrun_error *err)
{
    int r = child_find_program(s->p->qemu.binary != NULL ? s->p->qemu.binary
                                                         : "qemu-system-x86_64",
                               s->qemu_exe, sizeof(s->qemu_exe));
    if (r < 0)
        return vmrun_fail(err, -r, "QEMU binary %s",
                          s->p->qemu.binary != NULL ? s->p->qemu.binary : "qemu-system-x86_64");
    /* Decided here, in the parent: in the child, after the drop, vmrun is
     * no longer root. */
    s->qemu_envp = environ;
    if (!child_env_is_fixed())
        return 0;
    child_env_init(&s->qemu_env);
    s->qemu_envp = s->qemu_env.v;
    uid_t uid = s->o->target != NULL ? s->o->target->uid : geteuid();
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL) {
        child_env_set(&s->qemu_env, "HOME", pw->pw_dir);
        child_env_set(&s->qemu_env, "USER", pw->pw_name);
        child_env_set(&s->qemu_env, "LOGNAME", pw->pw_name);
    }
    char run[64];
    struct stat st;
    snprintf(run, sizeof(run), "/run/user/%u", (unsigned)uid);
    if (uid != 0 && stat(run, &st) == 0 && st.st_uid == uid)
        child_env_set(&s->qemu_env, "XDG_RUNTIME_DIR", run);
    bool as_caller = s->o->target != NULL && s->o->target->change &&
                     (s->o->target->source == PRIV_FROM_SUDO ||
                      s->o->target->source == PRIV_FROM_PKEXEC);
    bool window = s->p->display == VM_DISPLAY_GTK || s->p->display == VM_DISPLAY_SDL;
    bool sound = s->p->audio.present && s->p->audio.backend != VM_AUDIO_NONE;
    if (as_caller && window) {
        child_env_set(&s->qemu_env, "DISPLAY", getenv("DISPLAY"));
        child_env_set(&s->qemu_env, "WAYLAND_DISPLAY", getenv("WAYLAND_DISPLAY"));
        child_env_set(&s->qemu_env, "XAUTHORITY", getenv("XAUTHORITY"));
    }
    if (as_caller && sound)
        child_env_set(&s->qemu_env, "PULSE_SERVER", getenv("PULSE_SERVER"));
    return 0;
}

/* In QEMU's child, before the credential change (spawn.h): its file
 * descriptors, stdin, and the memlock limit, which needs privileges. */
static int qemu_child_setup(void *ctx, struct vmrun_error *err)
{
    struct sup *s = ctx;
    if (qemu_fds_install(&s->fds) < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot pass QEMU its file descriptors");
        return -1;
    }
    if (s->p->serial == VM_SERIAL_STDIO || s->o->to_log) {
        /* Console output goes to the terminal (or the log); input from a
         * terminal we are not the foreground of would stop QEMU with
         * SIGTTIN, so stdin is /dev/null. */
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
    }
    uint64_t memlock = priv_memlock_bytes(s->p);
    if (memlock > 0 && priv_set_memlock(memlock, err) < 0)
        return -1;
    /* QEMU reads vmrun's virtual input devices: it may not let go of
     * their grab (host/input/input.h). */
    if (s->input != NULL && seccomp_keep_evdev_grabs(err) < 0)
        return -1;
    return 0;
}

static int spawn_qemu(struct sup *s, struct argv_list *argv, struct vmrun_error *err)
{
    /* QEMU dies with the supervisor (see supervisor.h): spawn.h sets that
     * up after the drop to QEMU's user, verified inside priv_drop. */
    const struct spawn_spec spec = {
        .exe = s->qemu_exe,
        .argv = argv->v,
        .envp = s->qemu_envp,
        .setup = qemu_child_setup,
        .ctx = s,
        .target = s->o->target,
    };
    pid_t pid;
    int r = spawn_child(&spec, &pid, err);
    /* QEMU has its copies now (or never will). */
    qemu_fds_close(&s->fds);
    if (r < 0)
        return r;
    s->qemu = pid;
    return 0;
}

/* Reap QEMU if it has exited; true when it has. */
static bool reap_qemu(struct sup *s, bool block)
{
    if (s->qemu_reaped)
        return true;
    int status;
    pid_t r;
    do
        r = waitpid(s->qemu, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->qemu) {
        s->qemu_status = status;
        s->qemu_reaped = true;
        return true;
    }
    return false;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "QEMU exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "QEMU was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "QEMU ended (status 0x%x)", status);
}

static int connect_qmp(struct sup *s, struct vmrun_error *err)
{
    int fd = s->qmp_peer;
    s->qmp_peer = -1;
    int r = qmp_open_fd(fd, QMP_CONNECT_TIMEOUT_MS, &s->qmp);
    if (r == 0)
        return 0;
    s->qmp = NULL;
    /* QEMU closes its end when it exits: say why it exited. */
    for (int i = 0; i < 20 && !reap_qemu(s, false); i++)
        usleep(50000);
    if (reap_qemu(s, false)) {
        char why[128];
        describe_exit(s->qemu_status, why, sizeof(why));
        /* Detached, QEMU's messages went to the log, which is kept as
         * last.log: say where, not "above". */
        char log[PATH_MAX] = "";
        if (s->o->to_log &&
            host_path(log, sizeof(log), HOST_STATE, "/%s/last.log", s->p->name) == 0)
            return vmrun_failx(err, ECHILD, "%s before it was ready (its messages are in %s)", why,
                               log);
        return vmrun_failx(err, ECHILD, "%s before it was ready (its messages are above)", why);
    }
    return vmrun_failx(err, -r, "QEMU did not answer on QMP within %d s: %s",
                       QMP_CONNECT_TIMEOUT_MS / 1000, qmp_last_error(NULL));
}

/* A whole number in [0, max] from a QMP answer (which QEMU, running as an
 * ordinary user, may fill with anything). */
static bool qmp_whole(const cJSON *v, double max, long *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= max) ||
        v->valuedouble != (double)(long)v->valuedouble)
        return false;
    *out = (long)v->valuedouble;
    return true;
}

/* The vCPU and I/O thread ids, as QEMU reports them. Nothing is believed
 * yet: pin_qemu() checks every id is one of QEMU's own threads. */
static int read_threads(struct sup *s, struct vmrun_error *err)
{
    cJSON *ret = NULL;
    int r = qmp_execute(s->qmp, "query-cpus-fast", NULL, &ret, QMP_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return vmrun_failx(err, -r, "query-cpus-fast: %s", qmp_last_error(s->qmp));
    s->threads.n_vcpu = 0;
    const cJSON *cpu;
    cJSON_ArrayForEach(cpu, ret)
    {
        long idx, tid;
        if (!qmp_whole(cJSON_GetObjectItemCaseSensitive(cpu, "cpu-index"),
                       (double)ARRAY_SIZE(s->threads.vcpu) - 1, &idx) ||
            !qmp_whole(cJSON_GetObjectItemCaseSensitive(cpu, "thread-id"), 4194304, &tid))
            continue;
        s->threads.vcpu[idx] = (pid_t)tid;
        if ((size_t)idx + 1 > s->threads.n_vcpu)
            s->threads.n_vcpu = (size_t)idx + 1;
    }
    cJSON_Delete(ret);

    ret = NULL;
    r = qmp_execute(s->qmp, "query-iothreads", NULL, &ret, QMP_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return vmrun_failx(err, -r, "query-iothreads: %s", qmp_last_error(s->qmp));
    s->threads.n_io = 0;
    cJSON_ArrayForEach(cpu, ret)
    {
        long tid;
        if (qmp_whole(cJSON_GetObjectItemCaseSensitive(cpu, "thread-id"), 4194304, &tid) &&
            s->threads.n_io < ARRAY_SIZE(s->threads.io))
            s->threads.io[s->threads.n_io++] = (pid_t)tid;
    }
    cJSON_Delete(ret);
    return 0;
}

/* Publish state.json for `vmrun status`. 0 or a negative errno with err
 * set. */
static int write_state(struct sup *s, const char *state, struct vmrun_error *err)
{
    struct vm_state st = {0};
    snprintf(st.state, sizeof(st.state), "%s", state);
    snprintf(st.name, sizeof(st.name), "%s", s->p->name);
    snprintf(st.profile, sizeof(st.profile), "%s", s->o->profile_path ? s->o->profile_path : "");
    st.supervisor_pid = getpid();
    st.qemu_pid = s->qemu;
    st.started_at = s->started_at;
    st.threads = s->threads;
    st.memory_bytes = s->p->memory.size;
    st.hugepage_kb = s->hp.memory_page_kb;
    st.numa_node = s->hp.numa_node;
    snprintf(st.memory_file, sizeof(st.memory_file), "%s", s->hp.memory_file);
    st.n_vfio_groups = s->hp.n_vfio_groups;
    memcpy(st.vfio_groups, s->hp.vfio_groups, sizeof(st.vfio_groups));
    cleanup_free char *json = vm_state_to_json(&st, s->p);
    if (json == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory writing state.json");
    return runtime_write_file(&s->rt, "state.json", json, err);
}

/* Once the VM runs, a state.json that cannot be updated only makes
 * `vmrun status` stale: say so and go on. */
static void update_state(struct sup *s, const char *state)
{
    struct vmrun_error err = {0};
    if (write_state(s, state, &err) < 0)
        say(s, "warning: %s", err.msg);
}

/* The vCPUs must not have run before they were pinned: QEMU was started
 * with -S, and this checks it is still paused before `cont`. */
static int verify_paused(struct sup *s, struct vmrun_error *err)
{
    cJSON *ret = NULL;
    int r = qmp_execute(s->qmp, "query-status", NULL, &ret, QMP_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return vmrun_failx(err, -r, "query-status: %s", qmp_last_error(s->qmp));
    bool running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ret, "running"));
    cJSON_Delete(ret);
    if (running)
        return vmrun_failx(err, EPROTO,
                           "the VM was running before its vCPUs were pinned "
                           "(QEMU must be started with -S)");
    return 0;
}

/* Test seam (sys/seams.h): SEAM_HOLD_BEFORE_CONT=S keeps the pinned VM paused for S
 * seconds so a test can look at it before any vCPU runs. */
static void test_hold_before_cont(void)
{
    const char *v = seam_value(SEAM_HOLD_BEFORE_CONT);
    if (v != NULL && atoi(v) > 0)
        sleep((unsigned)atoi(v));
}

/* ---- the stop sequence -------------------------------------------------- */

static void send_quit(struct sup *s)
{
    say(s, "telling QEMU to quit");
    if (s->qmp != NULL)
        qmp_execute(s->qmp, "quit", NULL, NULL, 2000);
    s->stop_stage = VM_STOP_QUIT;
    set_deadline(&s->deadline, SUPERVISOR_QUIT_GRACE_S);
}

static void on_stop_signal(struct sup *s, int sig)
{
    struct stop_request req;
    stop_request_take(s->rt.dir, &req);
    if (req.reply[0] != '\0')
        snprintf(s->reply_path, sizeof(s->reply_path), "%s", req.reply);
    s->stop_requested = true;

    if (s->stop_stage == VM_STOP_NONE && !req.force) {
        unsigned timeout = req.timeout_s >= 0 ? (unsigned)req.timeout_s : s->p->shutdown.timeout_s;
        say(s,
            "%s: asking the guest to power off (ACPI); waiting up to %u s "
            "(again to force)",
            sig == SIGINT ? "interrupt" : strsignal(sig), timeout);
        int r = -1;
        if (s->qmp != NULL)
            r = qmp_execute(s->qmp, "system_powerdown", NULL, NULL, 3000);
        if (r < 0)
            say(s, "system_powerdown failed: %s", s->qmp ? qmp_last_error(s->qmp) : "no QMP");
        s->stop_stage = VM_STOP_POWERDOWN;
        set_deadline(&s->deadline, timeout);
        return;
    }
    if (s->stop_stage <= VM_STOP_POWERDOWN) {
        send_quit(s);
        return;
    }
    /* Already quitting: a third request changes nothing; QEMU is killed
     * when the grace period ends. */
}

static void on_deadline(struct sup *s)
{
    if (s->stop_stage == VM_STOP_POWERDOWN) {
        say(s, "the guest did not power off within the timeout");
        send_quit(s);
    } else if (s->stop_stage == VM_STOP_QUIT) {
        say(s, "QEMU did not quit within %d s: killing it", SUPERVISOR_QUIT_GRACE_S);
        kill(s->qemu, SIGKILL);
        s->stop_stage = VM_STOP_KILLED;
    }
}

static void drain_events(struct sup *s)
{
    struct qmp_event ev;
    while (s->qmp != NULL && qmp_next_event(s->qmp, &ev) == 1) {
        if (strcmp(ev.name, "SHUTDOWN") == 0) {
            const cJSON *guest = cJSON_GetObjectItemCaseSensitive(ev.data, "guest");
            const cJSON *reason = cJSON_GetObjectItemCaseSensitive(ev.data, "reason");
            if (cJSON_IsTrue(guest))
                s->guest_shutdown = true;
            say(s, "QEMU: shutdown (%s)",
                cJSON_IsString(reason) ? reason->valuestring : "no reason given");
        } else if (strcmp(ev.name, "GUEST_PANICKED") == 0) {
            say(s, "QEMU: the guest panicked");
        } else if (strcmp(ev.name, "RESET") == 0) {
            say(s, "QEMU: the guest reset");
        } else if (strcmp(ev.name, "POWERDOWN") == 0 || strcmp(ev.name, "STOP") == 0 ||
                   strcmp(ev.name, "RESUME") == 0) {
            /* expected around our own requests; nothing to tell */
        }
        usb_hotplug_qmp_event(s->usb, &ev);
        qmp_event_free(&ev);
    }
}

static void say_cb(void *opaque, const char *msg);

/* A request from another vmrun command (control.h). */
static cJSON *on_request(void *ctx, const cJSON *req)
{
    struct sup *s = ctx;
    if (s->stop_stage != VM_STOP_NONE)
        return control_error_reply("'%s' is stopping", s->p->name);
    cJSON *reply = usb_hotplug_request(s->usb, req);
    return reply != NULL ? reply : vm_input_request(s->input, &s->rt, req);
}

/* Before the vCPUs run: the request channel, and the host USB devices the
 * rules take (the guest finds them at boot). */
static int start_devices(struct sup *s, struct vmrun_error *err)
{
    s->control_fd = control_listen(s->rt.dir, err);
    if (s->control_fd < 0)
        return s->control_fd;
    const struct usb_hotplug_opts uo = {
        .profile = s->p,
        .qmp = s->qmp,
        .journal = &s->journal,
        .runtime_dir = s->rt.dir,
        .say = say_cb,
        .say_opaque = s,
    };
    return usb_hotplug_start(&uo, &s->usb, err);
}

/* The main loop: until QEMU has been reaped. 0, or a negative errno when
 * the supervisor can no longer wait for QEMU (then QEMU is killed). */
static int watch(struct sup *s, struct vmrun_error *err)
{
    for (;;) {
        if (reap_qemu(s, false))
            return 0;
        struct pollfd pfd[6] = {
            {.fd = s->sigfd, .events = POLLIN},
            {.fd = s->qmp != NULL ? qmp_fd(s->qmp) : -1, .events = POLLIN},
            {.fd = usb_hotplug_fd(s->usb), .events = POLLIN},
            {.fd = s->control_fd, .events = POLLIN},
        };
        /* The input devices' mover and uevents (host/input/input.h). */
        size_t npfd = 4 + input_host_pollfds(s->input, pfd + 4, 2);
        int timeout = s->stop_stage > VM_STOP_NONE && s->stop_stage < VM_STOP_KILLED
                          ? ms_until(&s->deadline)
                          : -1;
        int usb_due = usb_hotplug_timeout_ms(s->usb);
        if (usb_due >= 0 && (timeout < 0 || usb_due < timeout))
            timeout = usb_due;
        int input_due = input_host_timeout_ms(s->input);
        if (input_due >= 0 && (timeout < 0 || input_due < timeout))
            timeout = input_due;
        int r = poll(pfd, npfd, timeout);
        if (r < 0 && errno != EINTR) {
            int e = errno;
            kill(s->qemu, SIGKILL);
            reap_qemu(s, true);
            return vmrun_fail(err, e, "the supervisor could not wait for QEMU any more (poll); "
                                      "QEMU was killed");
        }
        if (r < 0)
            continue;
        if (input_host_dispatch(s->input, pfd + 4, npfd - 4))
            vm_input_publish(s->input, &s->rt);
        if (r == 0 && s->stop_stage > VM_STOP_NONE && s->stop_stage < VM_STOP_KILLED &&
            ms_until(&s->deadline) == 0) {
            on_deadline(s);
            continue;
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                    if (input_host_reap(s->input))
                        vm_input_publish(s->input, &s->rt);
                    /* QEMU is reaped at the top of the loop. */
                    if (s->swtpm.pid > 0 && !s->tpm_died && !s->swtpm.reaped &&
                        swtpm_reap(&s->swtpm, false) && !qemu_ending(s))
                        on_swtpm_death(s);
                    continue;
                }
                on_stop_signal(s, (int)si.ssi_signo);
            }
        }
        if (s->qmp != NULL && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (qmp_pump(s->qmp) < 0) {
                /* QEMU closed the socket: it is exiting. Wait for it. */
                drain_events(s);
                usb_hotplug_lost_qmp(s->usb);
                qmp_close(s->qmp);
                s->qmp = NULL;
                continue;
            }
            drain_events(s);
        }
        /* Devices come and go, and other vmrun commands ask; what QEMU
         * said meanwhile (DEVICE_DELETED) is queued: drained right after. */
        usb_hotplug_run(s->usb);
        if (pfd[3].revents & POLLIN)
            control_serve(s->control_fd, on_request, s);
        drain_events(s);
    }
}

/* ---- teardown ------------------------------------------------------------- */

static void say_cb(void *opaque, const char *msg)
{
    const struct sup *s = opaque;
    say(s, "%s", msg);
}

static void undo_host(struct sup *s, struct vmrun_error *err)
{
    journal_close(&s->journal);
    struct vmrun_error uerr = {0};
    if (host_prep_undo_left(s->journal.path, say_cb, s, s->left, sizeof(s->left), &uerr) < 0) {
        if (s->left[0] == '\0')
            snprintf(s->left, sizeof(s->left), "%s", uerr.msg);
        say(s, "could not put the host back completely: %s", uerr.msg);
        say(s, "the journal is kept; run 'vmrun recover %s' once the cause is fixed", s->p->name);
        s->keep_runtime = true;
        if (err != NULL && err->msg[0] == '\0')
            *err = uerr;
    }
}

static void keep_last_log(struct sup *s)
{
    if (!s->o->to_log)
        return;
    char from[PATH_MAX], to[PATH_MAX];
    snprintf(from, sizeof(from), "%s/log", s->rt.dir);
    if (host_path(to, sizeof(to), HOST_STATE, "/%s/last.log", s->p->name) < 0)
        return;
    if (rename(from, to) == 0 || errno != EXDEV)
        return;
    /* /run is a tmpfs on most hosts and /var/lib is not: copy across. */
    struct vmrun_error ignored = {0};
    unlink(to);
    cleanup_close int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in >= 0 && file_copy_new(in, from, to, &ignored) == 0)
        unlink(from);
}

static void ready(struct sup *s, const char *msg)
{
    if (s->o->ready_fd < 0)
        return;
    if (write(s->o->ready_fd, msg, strlen(msg)) < 0) {
        /* the waiting parent is gone: nothing to tell */
    }
}

static int redirect_to_log(struct sup *s, struct vmrun_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/log", s->rt.dir);
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", path);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    return 0;
}

static int block_signals(struct sup *s, sigset_t *old, struct vmrun_error *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, old) < 0)
        return vmrun_fail(err, errno, "block signals");
    s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sigfd < 0)
        return vmrun_fail(err, errno, "signalfd");
    return 0;
}

/* Recover what a dead supervisor of the same name left behind. */
static int recover_stale(struct sup *s, struct vmrun_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/journal", s->rt.dir);
    if (access(path, F_OK) < 0)
        return 0;
    say(s, "a previous run of '%s' ended without cleaning up; recovering first", s->p->name);
    int r = host_prep_undo(path, say_cb, s, err);
    if (r < 0)
        return vmrun_error_prefix(err,
                                  "recovering the previous run failed (see 'vmrun recover "
                                  "%s')",
                                  s->p->name);
    return 0;
}

/* ---- the phases of a run --------------------------------------------------
 *
 * supervise_vm() runs them in order. Each returns 0, or a negative errno
 * with err saying what failed; a failure unwinds what the earlier phases
 * did, in reverse (the teardown functions below):
 *
 *   take_runtime  the runtime directory and its lock      nothing to unwind
 *   prepare_run   who started it, the log, a stale run
 *                 recovered, the firmware, the journal,
 *                 state.json                              end_run
 *   prepare_host  the plan (host resources, journaled)    end_run (the plan
 *                                                         undid itself)
 *   prepare_qemu  no stop asked meanwhile; QEMU's files,
 *                 QMP, TPM, taps, environment, argv       end_qemu, undo_host, end_run
 *   launch        QEMU started paused, pinned, resumed    the same (a QEMU
 *                                                         that started is
 *                                                         stopped first)
 *   run           watched until it ends: the outcome      the same */

static int take_runtime(struct sup *s, struct vmrun_error *err)
{
    int r = runtime_acquire(s->p->name, &s->rt, err);
    if (r < 0)
        s->rt.dir[0] = '\0'; /* not ours: do not remove it */
    return r;
}

static int prepare_run(struct sup *s, struct vmrun_error *err)
{
    int r;
    if ((r = runtime_write_starter(&s->rt, priv_starter_uid(), err)) < 0)
        return r;
    if (s->o->to_log && (r = redirect_to_log(s, err)) < 0)
        return r;
    /* Before the host changes: a detached run's log is kept there
     * (last.log), the log of a start refused or rolled back on a VM's very
     * first run too. */
    char state[PATH_MAX];
    if ((r = qemu_state_dir_make(s->p->name, state, sizeof(state), err)) < 0)
        return r;
    if ((r = recover_stale(s, err)) < 0)
        return r;
    /* The firmware: as `vmrun start` chose it before the host was
     * touched, or chosen now. */
    if (s->o->firmware != NULL)
        s->fw = *s->o->firmware;
    else if ((r = firmware_choose(s->p, NULL, &s->fw, err)) < 0)
        return r;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/journal", s->rt.dir);
    if ((r = journal_open(&s->journal, path, err)) < 0)
        return r;
    s->started_at = time(NULL);
    if ((r = write_state(s, "preparing", err)) < 0)
        return r;
    return 0;
}

static int prepare_host(struct sup *s, struct vmrun_error *err)
{
    /* The input devices the profile names, before any change. */
    int r = input_host_check(s->p, &s->input, say_cb, s, err);
    if (r < 0)
        return r;
    s->hp = (struct host_prep){
        .profile = s->p,
        .journal = &s->journal,
        .runtime_dir = s->rt.dir,
        .session_user = session_user(s->o->target),
        .force = s->o->force,
        .interactive = isatty(2) && !s->o->to_log,
        .say = say_cb,
        .say_opaque = s,
    };
    r = host_prep_run(&s->hp, err);
    if (r < 0) {
        /* The plan has undone what it did; a journal still there lists
         * what it could not, for `vmrun recover`: keep it. */
        if (access(s->journal.path, F_OK) == 0) {
            s->keep_runtime = true;
            snprintf(s->left, sizeof(s->left), "what the journal lists and could not be undone");
        }
        return r;
    }
    return 0;
}

/* A stop request while the host was being prepared: undo, do not start. */
static int stopped_while_preparing(struct sup *s, struct vmrun_error *err)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (si.ssi_signo != SIGCHLD)
            return vmrun_failx(err, EINTR, "stopped by %s before QEMU started",
                               strsignal((int)si.ssi_signo));
    return 0;
}

static int prepare_qemu(struct sup *s, struct vmrun_error *err)
{
    int r;
    if ((r = stopped_while_preparing(s, err)) < 0)
        return r;
    const struct qemu_files_ctx files = {
        .p = s->p,
        .target = s->o->target,
        .fw = &s->fw,
        .runtime_dir = s->rt.dir,
        .memory_file = s->hp.memory_file[0] ? s->hp.memory_file : NULL,
        .say = say_cb,
        .say_opaque = s,
    };
    if ((r = qemu_files_prepare(&files, &s->facts, &s->facts_storage, err)) < 0 ||
        (r = prepare_qmp(s, err)) < 0 ||
        (r = qemu_files_open(&files, &s->facts, &s->fds, err)) < 0 ||
        (r = prepare_tpm(s, err)) < 0 || (r = prepare_nets(s, err)) < 0 ||
        (r = qemu_env_prepare(s, err)) < 0 ||
        (r = vm_input_prepare(s->input, &s->hp, s->qemu_exe, &s->facts, &s->fds, err)) < 0 ||
        (r = qemu_build_argv(s->p, &s->facts, &s->argv, err)) < 0)
        return r;
    return 0;
}

/* The QEMU just spawned, paused: its pid recorded, QMP connected, its
 * threads pinned, checked still paused, then resumed. */
static int pin_and_resume(struct sup *s, struct vmrun_error *err)
{
    char pidbuf[32];
    snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)s->qemu);
    int r;
    /* recover needs QEMU's pid to make sure it is gone: without it, QEMU
     * must not run. */
    if ((r = runtime_write_file(&s->rt, "qemu.pid", pidbuf, err)) < 0)
        return r;
    if ((r = connect_qmp(s, err)) < 0 ||
        (r = vm_input_qemu_started(s->input, s->qemu, s->o->target, s->facts.input_leds, s->qmp,
                                   err)) < 0 ||
        (r = read_threads(s, err)) < 0)
        return r;
    if ((r = pin_qemu(s->qemu, s->p, &s->threads, err)) < 0) {
        vmrun_error_prefix(err, "pinning failed, the VM will not run");
        return r;
    }
    if (s->p->cpu.vcpus.n > 0) {
        char list[256];
        cpu_list_format(&s->p->cpu.vcpus, list, sizeof(list));
        say(s, "pinned %zu vCPUs to host CPUs %s", s->threads.n_vcpu, list);
    }
    if ((r = verify_paused(s, err)) < 0 || (r = write_state(s, "pinned", err)) < 0 ||
        (r = start_devices(s, err)) < 0)
        return r;
    test_hold_before_cont();
    if ((r = qmp_execute(s->qmp, "cont", NULL, NULL, QMP_COMMAND_TIMEOUT_MS)) < 0)
        return vmrun_failx(err, -r, "cont: %s", qmp_last_error(s->qmp));
    return 0;
}

/* QEMU runs but must not: quit, then kill. */
static void stop_unready_qemu(struct sup *s)
{
    if (s->qmp != NULL)
        qmp_execute(s->qmp, "quit", NULL, NULL, 2000);
    for (int i = 0; i < SUPERVISOR_QUIT_GRACE_S * 10 && !reap_qemu(s, false); i++)
        usleep(100000);
    if (!reap_qemu(s, false)) {
        kill(s->qemu, SIGKILL);
        reap_qemu(s, true);
    }
}

static int launch(struct sup *s, struct vmrun_error *err)
{
    say(s, "starting QEMU (paused)");
    int r = spawn_qemu(s, &s->argv, err);
    if (r < 0)
        return r;
    if ((r = pin_and_resume(s, err)) < 0) {
        stop_unready_qemu(s);
        return r;
    }
    update_state(s, "running");
    usb_hotplug_running(s->usb);
    vm_input_running(s->input, &s->rt);
    say(s, "'%s' is running (QEMU pid %ld); Ctrl-C or 'vmrun stop %s' powers it off", s->p->name,
        (long)s->qemu, s->p->name);
    ready(s, "ok\n");
    return 0;
}

/* Watch QEMU until it is gone, then say how the run ended (outcome.h);
 * err says why for VM_QEMU_FAILED. */
static enum vm_outcome run(struct sup *s, struct vmrun_error *err)
{
    struct vmrun_error werr = {0};
    bool lost = watch(s, &werr) < 0;
    update_state(s, "stopping");

    char why[256];
    describe_exit(s->qemu_status, why, sizeof(why));
    const struct vm_ending ending = {
        .lost = lost,
        .tpm_died = s->tpm_died,
        .stop_stage = s->stop_stage,
        .stop_requested = s->stop_requested,
        .guest_shutdown = s->guest_shutdown,
        .qemu_status = s->qemu_status,
    };
    enum vm_outcome outcome = vm_outcome_of(&ending);
    if (lost) {
        *err = werr;
    } else if (s->tpm_died) {
        char tpm[256];
        swtpm_describe_exit(&s->swtpm, tpm, sizeof(tpm));
        vmrun_failx(err, EPIPE, "the VM's TPM emulator died (%s); the VM was stopped (%s)", tpm,
                    why);
    } else if (outcome == VM_QEMU_FAILED) {
        vmrun_failx(err, ECHILD, "%s", why);
    }
    say(s, "%s", outcome == VM_QEMU_FAILED ? err->msg : vm_outcome_describe(outcome));
    return outcome;
}

/* ---- unwinding ------------------------------------------------------------- */

/* QEMU gone and reaped, and swtpm with it, however the run went. */
static void end_qemu(struct sup *s, enum vm_outcome outcome)
{
    usb_hotplug_free(s->usb);
    s->usb = NULL;
    if (s->control_fd >= 0) {
        close(s->control_fd);
        s->control_fd = -1;
    }
    if (s->qmp != NULL) {
        qmp_close(s->qmp);
        s->qmp = NULL;
    }
    if (s->qemu > 0 && !s->qemu_reaped) {
        kill(s->qemu, SIGKILL);
        reap_qemu(s, true);
    }
    /* The input devices go back to the host. */
    input_host_stop(s->input);
    s->input = NULL;
    if (s->swtpm.pid > 0) {
        /* swtpm ends by itself once QEMU, which used it, is gone; one that
         * never served a QEMU is stopped at once. */
        if (outcome == VM_NOT_STARTED && swtpm_reap(&s->swtpm, false) && !s->tpm_died) {
            char tpm[256];
            swtpm_describe_exit(&s->swtpm, tpm, sizeof(tpm));
            say(s, "the TPM emulator had ended: %s", tpm);
        }
        swtpm_stop(&s->swtpm, s->qemu > 0 ? 3000 : 100);
    }
}

/* Tell how the run ended (the desktop notification, `vmrun stop`'s reply),
 * keep the log, and let go of the runtime directory: removed, or kept,
 * stale, when the journal must stay for recover. */
static void end_run(struct sup *s, enum vm_outcome outcome, const struct vmrun_error *err)
{
    /* A desktop shortcut has no terminal: tell its user how it ended. */
    char summary[128];
    snprintf(summary, sizeof(summary), "vmrun: %s", s->p->name);
    notify_user(summary, outcome == VM_NOT_STARTED || outcome == VM_QEMU_FAILED
                             ? err->msg
                             : vm_outcome_describe(outcome));
    stop_reply_write(s->reply_path, outcome, err->msg, s->keep_runtime ? s->left : NULL);
    keep_last_log(s);
    journal_close(&s->journal);
    if (s->keep_runtime) {
        close(s->rt.lock_fd); /* the directory stays, stale, for recover */
        s->rt.lock_fd = -1;
    } else {
        runtime_release(&s->rt);
    }
}

/* What every run ends with: a --detach parent told of a failure, what is
 * held closed, the signal mask back. */
static void finish(struct sup *s, enum vm_outcome outcome, const struct vmrun_error *err,
                   const sigset_t *oldmask)
{
    if (outcome == VM_NOT_STARTED) {
        char msg[VMRUN_ERROR_MSG_MAX + 16];
        snprintf(msg, sizeof(msg), "error: %s\n", err->msg);
        ready(s, msg);
    }
    input_host_stop(s->input); /* checked, never prepared */
    s->input = NULL;
    argv_list_free(&s->argv);
    qemu_fds_close(&s->fds);
    if (s->qmp_peer >= 0)
        close(s->qmp_peer);
    if (s->sigfd >= 0)
        close(s->sigfd);
    sigprocmask(SIG_SETMASK, oldmask, NULL);
}

enum vm_outcome supervise_vm(const struct vm_profile *p, const struct supervisor_opts *o,
                             struct vm_left *left, struct vmrun_error *err)
{
    struct sup s = {.p = p,
                    .o = o,
                    .sigfd = -1,
                    .qemu = 0,
                    .qmp_peer = -1,
                    .swtpm = {.qemu_end = -1},
                    .control_fd = -1};
    qemu_fds_init(&s.fds);
    s.rt.lock_fd = -1;
    s.journal.fd = -1;
    enum vm_outcome outcome = VM_NOT_STARTED;
    sigset_t oldmask;
    sigemptyset(&oldmask);

    /* Signals first: from here on a Ctrl-C during preparation is an
     * orderly stop (undo what was done), never a half-prepared host. */
    if (block_signals(&s, &oldmask, err) >= 0 && take_runtime(&s, err) >= 0) {
        if (prepare_run(&s, err) >= 0 && prepare_host(&s, err) >= 0) {
            if (prepare_qemu(&s, err) >= 0 && launch(&s, err) >= 0)
                outcome = run(&s, err);
            end_qemu(&s, outcome);
            undo_host(&s, err);
        }
        end_run(&s, outcome, err);
    }
    if (left != NULL) {
        left->host_restored = !s.keep_runtime;
        snprintf(left->what, sizeof(left->what), "%s", s.keep_runtime ? s.left : "");
    }
    finish(&s, outcome, err, &oldmask);
    return outcome;
}
