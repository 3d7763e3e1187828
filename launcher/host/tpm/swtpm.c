/* The swtpm process (tpm.h): started journaled, stopped, and found again
 * by `vmrun recover`. */
#include "host/tpm/tpm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "journal/opargs.h"
#include "priv/spawn.h"
#include "sys/child_env.h"
#include "sys/hostpath.h"

/* swtpm's control channel is its fd 3, as "--ctrl type=unixio,clientfd=3"
 * says. */
#define SWTPM_CTRL_FD 3

/* The --tpmstate value: also what recover looks for in /proc. swtpm splits
 * its options on ',' with no escape, which the path must therefore lack. */
static int tpmstate_arg(char *buf, size_t len, const char *state_path)
{
    int n = snprintf(buf, len, "dir=%s,mode=0600", state_path);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* In the child (spawn.h): stdin from /dev/null, the control channel at
 * SWTPM_CTRL_FD. */
struct swtpm_child {
    int ctrl;
};

static int swtpm_child_setup(void *ctx, struct vmrun_error *err)
{
    const struct swtpm_child *c = ctx;
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    /* Lift, then place: dup2 onto the same number would keep
     * close-on-exec. */
    int lifted = fcntl(c->ctrl, F_DUPFD_CLOEXEC, SWTPM_CTRL_FD + 1);
    if (lifted < 0 || dup2(lifted, SWTPM_CTRL_FD) < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot pass swtpm its control channel");
        return -1;
    }
    return 0;
}

int swtpm_start(struct journal *j, const char *binary, const char *state_path,
                const struct priv_target *target, struct swtpm_proc *p, struct vmrun_error *err)
{
    *p = (struct swtpm_proc){.qemu_end = -1};
    char state_arg[PATH_MAX + 32];
    if (strchr(state_path, ',') != NULL || tpmstate_arg(state_arg, sizeof(state_arg), state_path))
        return vmrun_failx(err, EINVAL, "the TPM state path %s cannot be given to swtpm",
                           state_path);
    /* Found before fork, over root's fixed PATH when vmrun is root; run
     * with the fixed environment of root's children (sys/child_env.h). */
    char exe[PATH_MAX];
    int r = child_find_program(binary, exe, sizeof(exe));
    if (r < 0)
        return vmrun_fail(err, -r, "cannot find %s, the TPM emulator (Debian: apt install swtpm)",
                          binary);
    char *const *envp = child_env_plain();
    char ctrl_arg[64];
    snprintf(ctrl_arg, sizeof(ctrl_arg), "type=unixio,clientfd=%d", SWTPM_CTRL_FD);
    char sock[] = "socket", tpm2[] = "--tpm2", tpmstate[] = "--tpmstate", ctrl[] = "--ctrl",
         terminate[] = "--terminate";
    char *const argv[] = {(char *)binary, sock,     tpm2,      tpmstate, state_arg,
                          ctrl,           ctrl_arg, terminate, NULL};

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return vmrun_fail(err, errno, "socketpair for swtpm");
    cleanup_close int swtpm_end = sv[0];
    cleanup_close int qemu_end = sv[1];

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory");
    cJSON_AddStringToObject(args, "state", state_path);
    uid_t uid = target != NULL && target->change ? target->uid : geteuid();
    cJSON_AddNumberToObject(args, "uid", (double)uid);
    r = journal_record(j, "swtpm", args, err);
    if (r < 0)
        return r;

    struct swtpm_child child = {.ctrl = swtpm_end};
    const struct spawn_spec spec = {
        .exe = exe,
        .argv = argv,
        .envp = envp,
        .setup = swtpm_child_setup,
        .ctx = &child,
        .target = target,
        .exec_hint = " (Debian: apt install swtpm)",
    };
    pid_t pid;
    r = spawn_child(&spec, &pid, err);
    if (r < 0)
        return r;
    p->pid = pid;
    p->qemu_end = steal_fd(&qemu_end);
    return journal_done(j, err);
}

bool swtpm_reap(struct swtpm_proc *p, bool block)
{
    if (p->pid <= 0 || p->reaped)
        return true;
    int status;
    pid_t r;
    do
        r = waitpid(p->pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        p->status = status;
        p->reaped = true;
        return true;
    }
    return r < 0; /* not our child (any more): nothing to wait for */
}

static bool reap_within(struct swtpm_proc *p, unsigned ms)
{
    for (unsigned waited = 0;; waited += 20) {
        if (swtpm_reap(p, false))
            return true;
        if (waited >= ms)
            return false;
        poll(NULL, 0, 20);
    }
}

void swtpm_stop(struct swtpm_proc *p, unsigned grace_ms)
{
    if (p->qemu_end >= 0) {
        close(p->qemu_end);
        p->qemu_end = -1;
    }
    if (p->pid <= 0 || reap_within(p, grace_ms))
        return;
    /* swtpm saves its state on SIGTERM. */
    kill(p->pid, SIGTERM);
    if (reap_within(p, 2000))
        return;
    kill(p->pid, SIGKILL);
    swtpm_reap(p, true);
}

void swtpm_describe_exit(const struct swtpm_proc *p, char *buf, size_t len)
{
    if (!p->reaped)
        snprintf(buf, len, "swtpm (pid %ld) is running", (long)p->pid);
    else if (WIFEXITED(p->status))
        snprintf(buf, len, "swtpm (pid %ld) exited with status %d", (long)p->pid,
                 WEXITSTATUS(p->status));
    else if (WIFSIGNALED(p->status))
        snprintf(buf, len, "swtpm (pid %ld) was killed by signal %d (%s)", (long)p->pid,
                 WTERMSIG(p->status), strsignal(WTERMSIG(p->status)));
    else
        snprintf(buf, len, "swtpm (pid %ld) ended (status 0x%x)", (long)p->pid, p->status);
}

/* ---- recover: finding swtpm again --------------------------------------- */

/* Read a small /proc/PID file whole (NUL-terminated); its length or -1. */
static ssize_t read_proc(const char *dir, const char *pid, const char *file, char *buf, size_t len)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s/%s", dir, pid, file) >= (int)sizeof(path))
        return -1;
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 &&
           ((n = read(fd, buf + got, len - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            got += (size_t)n;
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Is /proc/PID an swtpm of uid serving state_arg? */
static bool is_our_swtpm(const char *proc, const char *pid, const char *state_arg, uid_t uid)
{
    char cmd[8192];
    ssize_t n = read_proc(proc, pid, "cmdline", cmd, sizeof(cmd));
    if (n <= 0)
        return false;
    const char *base = strrchr(cmd, '/');
    base = base != NULL ? base + 1 : cmd;
    if (strcmp(base, "swtpm") != 0)
        return false;
    bool state = false;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
        state |= strcmp(cmd + i, state_arg) == 0;
    if (!state)
        return false;
    char status[4096];
    if (read_proc(proc, pid, "status", status, sizeof(status)) <= 0)
        return false;
    const char *u = strstr(status, "\nUid:");
    unsigned long real;
    return u != NULL && sscanf(u + 5, "%lu", &real) == 1 && real == (unsigned long)uid;
}

/* Gone, or a zombie waiting for its parent: it holds nothing any more. */
static bool gone(const char *proc, const char *pid)
{
    char stat[512];
    if (read_proc(proc, pid, "stat", stat, sizeof(stat)) <= 0)
        return true;
    const char *close_paren = strrchr(stat, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static bool wait_gone(const char *proc, const char *pid, unsigned ms)
{
    for (unsigned waited = 0; !gone(proc, pid); waited += 50) {
        if (waited >= ms)
            return false;
        poll(NULL, 0, 50);
    }
    return true;
}

int swtpm_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *state = oparg_string(args, "state");
    long uid;
    if (state == NULL || state[0] != '/' || oparg_long(args, "uid", 0, 0xffffffffL, &uid) < 0)
        return vmrun_failx(err, EINVAL, "swtpm record without state and uid");
    char state_arg[PATH_MAX + 32];
    if (tpmstate_arg(state_arg, sizeof(state_arg), state) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "swtpm record: the state path is too long");
    const char *proc = host_root(HOST_PROC);
    cleanup_closedir DIR *d = opendir(proc);
    if (d == NULL)
        return vmrun_fail(err, errno, "open %s", proc);
    int first = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]) ||
            !is_our_swtpm(proc, e->d_name, state_arg, (uid_t)uid) || gone(proc, e->d_name))
            continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        kill(pid, SIGTERM); /* it saves its state and exits */
        if (wait_gone(proc, e->d_name, 3000))
            continue;
        kill(pid, SIGKILL);
        if (!wait_gone(proc, e->d_name, 2000) && first == 0)
            first =
                vmrun_failx(err, EBUSY, "swtpm (pid %ld) for %s does not end", (long)pid, state);
    }
    return first;
}

static void describe_swtpm(const cJSON *args, char *buf, size_t len)
{
    const char *state = oparg_string(args, "state");
    snprintf(buf, len, "stop the TPM emulator (swtpm) of %s", state != NULL ? state : "?");
}

const struct journal_op tpm_journal_ops[] = {
    {"swtpm", swtpm_undo, describe_swtpm},
    {NULL, NULL, NULL},
};
