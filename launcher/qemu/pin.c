/* Thread pinning with sched_setaffinity (pin.h). */
#include "qemu/pin.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostpath.h"

void cpu_list_format(const struct cpu_list *l, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%d", i ? "," : "", l->cpus[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static int set_affinity(pid_t tid, const int *cpus, size_t n, const char *what,
                        struct vmrun_error *err)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (size_t i = 0; i < n; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE)
            return vmrun_failx(err, EINVAL, "pin %s: host CPU %d is out of range", what, cpus[i]);
        CPU_SET(cpus[i], &set);
    }
    if (sched_setaffinity(tid, sizeof(set), &set) < 0) {
        int e = errno;
        if (e == EINVAL)
            return vmrun_failx(err, e,
                               "pin %s (thread %ld): none of the host CPUs asked for is online "
                               "and allowed",
                               what, (long)tid);
        return vmrun_fail(err, e, "pin %s (thread %ld)", what, (long)tid);
    }
    return 0;
}

/* Is tid a thread of the process qemu? QMP answers come from QEMU, which
 * runs as an ordinary user: a thread id it reports is believed only when
 * the kernel lists it among QEMU's own tasks, so no answer can make root
 * re-pin or raise the priority of anyone else's thread. QEMU is paused and
 * its vCPU and I/O threads live as long as it does, so a checked id cannot
 * be recycled before it is used. */
static bool is_task_of(pid_t qemu, pid_t tid)
{
    char path[PATH_MAX];
    if (tid <= 0 || host_path(path, sizeof(path), HOST_PROC, "/%ld/task/%ld", (long)qemu,
                              (long)tid) < 0)
        return false;
    return access(path, F_OK) == 0;
}

static bool tid_in(pid_t tid, const pid_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == tid)
            return true;
    return false;
}

int pin_check_threads(pid_t qemu, const struct qemu_threads *t, struct vmrun_error *err)
{
    for (size_t i = 0; i < t->n_vcpu + t->n_io; i++) {
        bool vcpu = i < t->n_vcpu;
        pid_t tid = vcpu ? t->vcpu[i] : t->io[i - t->n_vcpu];
        size_t k = vcpu ? i : i - t->n_vcpu;
        if (!is_task_of(qemu, tid))
            return vmrun_failx(err, EPROTO,
                               "QEMU reported thread %ld for %s %zu, but that is not a thread of "
                               "QEMU (pid %ld): refusing to pin it",
                               (long)tid, vcpu ? "vCPU" : "iothread", k, (long)qemu);
        for (size_t j = 0; j < i; j++) {
            pid_t other = j < t->n_vcpu ? t->vcpu[j] : t->io[j - t->n_vcpu];
            if (other == tid)
                return vmrun_failx(err, EPROTO,
                                   "QEMU reported thread %ld twice (for %s %zu and an earlier "
                                   "thread): refusing to pin",
                                   (long)tid, vcpu ? "vCPU" : "iothread", k);
        }
    }
    return 0;
}

int pin_qemu(pid_t qemu, const struct vm_profile *p, const struct qemu_threads *t,
             struct vmrun_error *err)
{
    int r = pin_check_threads(qemu, t, err);
    if (r < 0)
        return r;
    if (p->cpu.vcpus.n > 0) {
        if (t->n_vcpu != p->cpu.vcpus.n)
            return vmrun_failx(err, EPROTO, "QEMU reports %zu vCPU threads, the profile pins %zu",
                               t->n_vcpu, p->cpu.vcpus.n);
        for (size_t i = 0; i < t->n_vcpu; i++) {
            char what[32];
            snprintf(what, sizeof(what), "vCPU %zu", i);
            if ((r = set_affinity(t->vcpu[i], &p->cpu.vcpus.cpus[i], 1, what, err)) < 0)
                return r;
        }
    }
    if (p->cpu.realtime) {
        struct sched_param sp = {.sched_priority = 1};
        for (size_t i = 0; i < t->n_vcpu; i++)
            if (sched_setscheduler(t->vcpu[i], SCHED_FIFO, &sp) < 0)
                return vmrun_fail(err, errno, "real-time priority for vCPU %zu (thread %ld)", i,
                                  (long)t->vcpu[i]);
    }
    if (p->cpu.iothreads.n > 0)
        for (size_t i = 0; i < t->n_io; i++)
            if ((r = set_affinity(t->io[i], p->cpu.iothreads.cpus, p->cpu.iothreads.n, "iothread",
                                  err)) < 0)
                return r;
    if (p->cpu.emulator.n == 0)
        return 0;

    /* Every other thread: the main loop, RCU, workers, vhost... */
    char path[PATH_MAX];
    if ((r = host_path(path, sizeof(path), HOST_PROC, "/%ld/task", (long)qemu)) < 0)
        return vmrun_fail(err, -r, "QEMU task list");
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return vmrun_fail(err, errno, "open %s", path);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
        if (tid <= 0 || tid_in(tid, t->vcpu, t->n_vcpu) || tid_in(tid, t->io, t->n_io))
            continue;
        r = set_affinity(tid, p->cpu.emulator.cpus, p->cpu.emulator.n, "emulator thread", err);
        if (r == -ESRCH)
            continue; /* a short-lived worker that has already gone */
        if (r < 0)
            return r;
    }
    return 0;
}

int pin_read_affinity(pid_t pid, pid_t tid, char *buf, size_t len)
{
    char path[PATH_MAX];
    int r = host_path(path, sizeof(path), HOST_PROC, "/%ld/task/%ld/status", (long)pid, (long)tid);
    if (r < 0)
        return r;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            char *v = line + 18;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = '\0';
            snprintf(buf, len, "%s", v);
            return 0;
        }
    }
    return -ENOENT;
}
