/* Host isolation (isolate.h). */
#include "host/cpu/isolate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "host/cpu/cpu_prep.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

/* 100 tries 50 ms apart: 5 s for the last processes to exit. */
#define ISOLATE_RMDIR_TRIES 100
#define OP_CONTROLLER "cgroup-controller"
#define OP_MOVE "cgroup-move"
#define OP_CPUSET "cgroup-cpuset"
#define OP_WORKQUEUE "workqueue-cpumask"
#define OP_IRQ "irq-affinity"
#define OP_CLAIM "isolate-claim"

#define VALUE_MAX 8192

static const char *const host_slices[] = {"init.scope", "system.slice", "user.slice"};

/* One file to change: its previous and new value. */
struct file_change {
    char *path;
    char *previous;
    char *next;
    bool mask; /* hex cpumask rather than a CPU list */
};

struct change_set {
    struct file_change *items;
    size_t n, cap;
};

static void change_set_free(struct change_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].path);
        free(s->items[i].previous);
        free(s->items[i].next);
    }
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

static int change_set_add(struct change_set *s, const char *path, const char *previous,
                          const char *next, bool mask)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct file_change *ni = realloc(s->items, cap * sizeof(*ni));
        if (ni == NULL)
            return -ENOMEM;
        s->items = ni;
        s->cap = cap;
    }
    struct file_change *c = &s->items[s->n];
    c->path = strdup(path);
    c->previous = strdup(previous);
    c->next = strdup(next);
    c->mask = mask;
    if (c->path == NULL || c->previous == NULL || c->next == NULL) {
        free(c->path);
        free(c->previous);
        free(c->next);
        return -ENOMEM;
    }
    s->n++;
    return 0;
}

/* Same CPUs, whatever the spelling ("0-1" vs "0,1", "3" vs "00000003")? */
static bool same_value(const char *a, const char *b, bool mask)
{
    if (strcmp(a, b) == 0)
        return true;
    struct cpuset_bits sa, sb;
    int ra = mask ? cpumask_parse(a, &sa) : cpulist_parse(a, &sa);
    int rb = mask ? cpumask_parse(b, &sb) : cpulist_parse(b, &sb);
    return ra == 0 && rb == 0 && cpuset_equal(&sa, &sb);
}

/* Journal the whole set as one record, then make the changes. With
 * `tolerant`, a file the kernel refuses is skipped and counted (IRQs that
 * cannot move); otherwise the first refusal fails. */
static int apply_changes(struct host_prep *hp, const char *op, struct change_set *s, bool tolerant,
                         struct cpuset_bits *refused_irqs, struct vmrun_error *err)
{
    if (s->n == 0)
        return 0;
    cJSON *args = cJSON_CreateObject();
    cJSON *files = cJSON_AddArrayToObject(args, "files");
    if (args == NULL || files == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal %s", op);
    }
    for (size_t i = 0; i < s->n; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", s->items[i].path);
        cJSON_AddStringToObject(f, "previous", s->items[i].previous);
        if (s->items[i].mask)
            cJSON_AddBoolToObject(f, "mask", true);
        cJSON_AddItemToArray(files, f);
    }
    int r = journal_record(hp->journal, op, args, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < s->n; i++) {
        r = hostfile_write(s->items[i].path, s->items[i].next);
        if (r == 0)
            continue;
        if (!tolerant)
            return vmrun_fail(err, -r, "write \"%s\" to %s", s->items[i].next, s->items[i].path);
        const char *irq_dir = strstr(s->items[i].path, "/irq/");
        unsigned irq;
        if (refused_irqs != NULL && irq_dir != NULL && sscanf(irq_dir + 5, "%u", &irq) == 1)
            cpuset_add(refused_irqs, irq);
    }
    return journal_done(hp->journal, err);
}

/* The undo of every file-set record: write back each previous value that
 * differs from what is there now. */
static int restore_files(const char *op, const cJSON *args, bool tolerant, struct vmrun_error *err)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(args, "files");
    if (!cJSON_IsArray(files))
        return vmrun_failx(err, EINVAL, "malformed %s record", op);
    int first = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const char *path = oparg_string(f, "path");
        const char *prev = oparg_string(f, "previous");
        bool mask = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "mask"));
        if (path == NULL || prev == NULL || path[0] != '/') {
            if (first == 0)
                first = vmrun_failx(err, EINVAL, "malformed %s record", op);
            continue;
        }
        char cur[VALUE_MAX];
        int r = hostfile_read(path, cur, sizeof(cur));
        if (r == -ENOENT)
            continue; /* the cgroup, IRQ or workqueue is gone */
        if (r == 0 && same_value(cur, prev, mask))
            continue; /* never changed, or already restored */
        r = hostfile_write(path, prev);
        if (r < 0 && tolerant && (r == -EIO || r == -EINVAL || r == -ENOENT || r == -EPERM))
            continue; /* an IRQ that refuses changes was never changed either */
        if (r < 0 && first == 0)
            first = vmrun_fail(err, -r, "restore \"%s\" to %s", prev, path);
    }
    return first;
}

static void describe_files(const char *what, const cJSON *args, char *buf, size_t len)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(args, "files");
    snprintf(buf, len, "restore %s (%d file%s)", what,
             cJSON_IsArray(files) ? cJSON_GetArraySize(files) : 0,
             cJSON_IsArray(files) && cJSON_GetArraySize(files) == 1 ? "" : "s");
}

/* ---- cgroups ---------------------------------------------------------- */

struct cgroup_layout {
    bool v2;
    char base[PATH_MAX]; /* v2: /sys/fs/cgroup; v1: /sys/fs/cgroup/cpuset */
};

/* 0 and the layout; -ENOENT when the host has no cpuset cgroup at all. */
static int cgroup_detect(struct cgroup_layout *l)
{
    char path[PATH_MAX + 64];
    if (host_path(path, sizeof(path), HOST_SYS, "/fs/cgroup/cgroup.controllers") < 0)
        return -ENAMETOOLONG;
    char ctl[512];
    if (hostfile_read(path, ctl, sizeof(ctl)) == 0) {
        l->v2 = true;
        if (host_path(l->base, sizeof(l->base), HOST_SYS, "/fs/cgroup") < 0)
            return -ENAMETOOLONG;
        return strstr(ctl, "cpuset") != NULL ? 0 : -ENOENT;
    }
    l->v2 = false;
    if (host_path(l->base, sizeof(l->base), HOST_SYS, "/fs/cgroup/cpuset") < 0)
        return -ENAMETOOLONG;
    snprintf(path, sizeof(path), "%s/cpuset.cpus", l->base);
    return hostfile_exists(path) ? 0 : -ENOENT;
}

static int enable_cpuset_controller(struct host_prep *hp, const struct cgroup_layout *l,
                                    struct vmrun_error *err)
{
    char path[PATH_MAX + 64], cur[512];
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", l->base);
    int r = hostfile_read(path, cur, sizeof(cur));
    if (r < 0)
        return vmrun_fail(err, -r, "read %s", path);
    for (char *w = strtok(cur, " "); w != NULL; w = strtok(NULL, " "))
        if (strcmp(w, "cpuset") == 0)
            return 0;
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "path", path);
    cJSON_AddStringToObject(args, "controller", "cpuset");
    r = journal_record(hp->journal, OP_CONTROLLER, args, err);
    if (r < 0)
        return r;
    r = hostfile_write(path, "+cpuset");
    if (r < 0)
        return vmrun_fail(err, -r, "enable the cpuset controller in %s", path);
    return journal_done(hp->journal, err);
}

int isolate_controller_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = oparg_string(args, "path");
    const char *ctl = oparg_string(args, "controller");
    if (path == NULL || ctl == NULL || path[0] != '/' || strchr(ctl, ' ') != NULL)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_CONTROLLER);
    char cur[512];
    int r = hostfile_read(path, cur, sizeof(cur));
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return vmrun_fail(err, -r, "read %s", path);
    bool on = false;
    for (char *w = strtok(cur, " "); w != NULL; w = strtok(NULL, " "))
        on |= strcmp(w, ctl) == 0;
    if (!on)
        return 0;
    char value[64];
    snprintf(value, sizeof(value), "-%s", ctl);
    r = hostfile_write(path, value);
    if (r < 0)
        return vmrun_fail(err, -r, "disable the %s controller in %s", ctl, path);
    return 0;
}

void isolate_controller_describe(const cJSON *args, char *buf, size_t len)
{
    const char *path = oparg_string(args, "path");
    snprintf(buf, len, "disable the cpuset controller in %s", path != NULL ? path : "(malformed)");
}

/* This process's cgroup, relative to the hierarchy ("/user.slice/..."). */
static int own_cgroup(const struct cgroup_layout *l, char *buf, size_t len)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/self/cgroup") < 0)
        return -ENAMETOOLONG;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    char line[PATH_MAX + 64];
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        /* v2: "0::/path"; v1: "N:cpu,cpuset:/path". */
        bool match = l->v2 ? c1 == line + 1 && line[0] == '0' && c2 == c1 + 1
                           : strstr(c1 + 1, "cpuset") != NULL;
        if (!match)
            continue;
        if (strlen(c2 + 1) >= len)
            return -ENAMETOOLONG;
        strcpy(buf, c2 + 1);
        return 0;
    }
    return -ENOENT;
}

/* vmrun (and the QEMU it starts) must not stay in a slice that is about to
 * lose the VM's CPUs: move this process into a cgroup of its own. */
static int move_out_of_slices(struct host_prep *hp, const struct cgroup_layout *l,
                              struct vmrun_error *err)
{
    char mine[PATH_MAX];
    if (own_cgroup(l, mine, sizeof(mine)) < 0)
        return 0;
    bool inside = false;
    for (size_t i = 0; i < ARRAY_SIZE(host_slices); i++) {
        size_t n = strlen(host_slices[i]);
        if (mine[0] == '/' && strncmp(mine + 1, host_slices[i], n) == 0 &&
            (mine[1 + n] == '/' || mine[1 + n] == '\0'))
            inside = true;
    }
    if (!inside)
        return 0;
    char dir[PATH_MAX], from[PATH_MAX], file[PATH_MAX + 32];
    int n1 = snprintf(dir, sizeof(dir), "%s/vmrun-%s", l->base, hp->profile->name);
    int n2 = snprintf(from, sizeof(from), "%s%s", l->base, mine);
    if (n1 < 0 || (size_t)n1 >= sizeof(dir) || n2 < 0 || (size_t)n2 >= sizeof(from))
        return vmrun_failx(err, ENAMETOOLONG, "cgroup path too long");
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "path", dir);
    cJSON_AddStringToObject(args, "from", from);
    int r = journal_record(hp->journal, OP_MOVE, args, err);
    if (r < 0)
        return r;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return vmrun_fail(err, errno, "create cgroup %s", dir);
    if (!l->v2) {
        /* A v1 cpuset takes no task before it has CPUs and memory nodes. */
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
            char src[PATH_MAX + 32], value[VALUE_MAX];
            snprintf(src, sizeof(src), "%s/%s", l->base, files[i]);
            snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
            if ((r = hostfile_read(src, value, sizeof(value))) < 0 ||
                (r = hostfile_write(file, value)) < 0)
                return vmrun_fail(err, -r, "set up cgroup %s", dir);
        }
    }
    snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    r = hostfile_write(file, pid);
    if (r < 0)
        return vmrun_fail(err, -r, "move vmrun into cgroup %s", dir);
    host_prep_say(hp, "moved vmrun out of %s into %s, so QEMU can use the isolated CPUs", mine,
                  dir);
    return journal_done(hp->journal, err);
}

/* Moves every process listed in DIR's cgroup.procs back to FROM (or, when
 * FROM is gone, to DIR's parent). */
static int move_procs_out(const char *dir, const char *from, struct vmrun_error *err)
{
    char file[PATH_MAX + 32];
    snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
    cleanup_fclose FILE *f = fopen(file, "re");
    if (f == NULL && errno != ENOENT)
        return vmrun_fail(err, errno, "open %s", file);
    char line[64];
    int first = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        char dest[PATH_MAX + 32];
        snprintf(dest, sizeof(dest), "%s/cgroup.procs", from);
        int r = hostfile_write(dest, line);
        if (r == -ESRCH)
            continue;
        if (r < 0) {
            /* The original cgroup is gone (its session ended): the parent of
             * vmrun's cgroup takes any process. */
            char parent[PATH_MAX];
            snprintf(parent, sizeof(parent), "%s", dir);
            char *slash = strrchr(parent, '/');
            if (slash != NULL)
                *slash = '\0';
            snprintf(dest, sizeof(dest), "%s/cgroup.procs", parent);
            r = hostfile_write(dest, line);
        }
        if (r < 0 && r != -ESRCH && first == 0)
            first = vmrun_fail(err, -r, "move process %s out of %s", line, dir);
    }
    return first;
}

int isolate_move_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *dir = oparg_string(args, "path");
    const char *from = oparg_string(args, "from");
    if (dir == NULL || from == NULL || dir[0] != '/' || from[0] != '/')
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_MOVE);
    /* A process that is still exiting (QEMU killed with its supervisor,
     * not yet reaped) cannot be moved (ESRCH) but keeps the cgroup busy
     * until it is gone: look again for a while, then give up. */
    for (int tries = 0;; tries++) {
        int r = move_procs_out(dir, from, err);
        if (r < 0)
            return r;
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || tries >= ISOLATE_RMDIR_TRIES)
            return vmrun_fail(err, errno, "remove cgroup %s", dir);
        struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

void isolate_move_describe(const cJSON *args, char *buf, size_t len)
{
    const char *dir = oparg_string(args, "path");
    snprintf(buf, len, "remove cgroup %s", dir != NULL ? dir : "(malformed)");
}

static int restrict_slices(struct host_prep *hp, const struct cgroup_layout *l,
                           const struct cpuset_bits *host, struct vmrun_error *err)
{
    char value[VALUE_MAX];
    if (cpulist_format(host, value, sizeof(value)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "CPU list too long");
    struct change_set set = {0};
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(host_slices) && r == 0; i++) {
        char path[PATH_MAX + 64], prev[VALUE_MAX];
        snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", l->base, host_slices[i]);
        if (hostfile_read(path, prev, sizeof(prev)) < 0)
            continue; /* no such slice on this host */
        if (!l->v2 && prev[0] == '\0')
            continue; /* an empty v1 cpuset holds no task */
        if (same_value(prev, value, false))
            continue;
        if (change_set_add(&set, path, prev, value, false) < 0)
            r = vmrun_fail(err, ENOMEM, "restrict cgroups");
    }
    if (r == 0)
        r = apply_changes(hp, OP_CPUSET, &set, false, NULL, err);
    if (r == 0 && set.n > 0)
        host_prep_say(hp, "host tasks (%zu root-level cgroups) now run on CPUs %s", set.n, value);
    change_set_free(&set);
    return r;
}

int isolate_cpuset_undo(const cJSON *args, struct vmrun_error *err)
{
    return restore_files(OP_CPUSET, args, false, err);
}

void isolate_cpuset_describe(const cJSON *args, char *buf, size_t len)
{
    describe_files("the CPUs of host cgroups", args, buf, len);
}

/* ---- workqueues ------------------------------------------------------- */

static int comma_groups(const char *mask)
{
    int n = 1;
    for (const char *p = mask; *p; p++)
        n += *p == ',';
    return n;
}

/* A mask without the VM's CPUs; all host CPUs when nothing would be left. */
static int mask_without(const char *prev, const struct cpuset_bits *vm,
                        const struct cpuset_bits *host, char *out, size_t len)
{
    struct cpuset_bits s;
    if (cpumask_parse(prev, &s) < 0)
        return -EINVAL;
    cpuset_remove_all(&s, vm);
    if (cpuset_empty(&s))
        s = *host;
    return cpumask_format(&s, (unsigned)comma_groups(prev), out, len);
}

static int move_workqueues(struct host_prep *hp, const struct cpuset_bits *vm,
                           const struct cpuset_bits *host, struct vmrun_error *err)
{
    static const char *const files[] = {"/devices/virtual/workqueue/cpumask",
                                        "/devices/virtual/workqueue/writeback/cpumask"};
    struct change_set set = {0};
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(files) && r == 0; i++) {
        char path[PATH_MAX], prev[VALUE_MAX], next[VALUE_MAX];
        if (host_path(path, sizeof(path), HOST_SYS, "%s", files[i]) < 0 ||
            hostfile_read(path, prev, sizeof(prev)) < 0)
            continue;
        if (mask_without(prev, vm, host, next, sizeof(next)) < 0 || same_value(prev, next, true))
            continue;
        if (change_set_add(&set, path, prev, next, true) < 0)
            r = vmrun_fail(err, ENOMEM, "move workqueues");
    }
    if (r == 0)
        r = apply_changes(hp, OP_WORKQUEUE, &set, false, NULL, err);
    change_set_free(&set);
    return r;
}

int isolate_workqueue_undo(const cJSON *args, struct vmrun_error *err)
{
    return restore_files(OP_WORKQUEUE, args, false, err);
}

void isolate_workqueue_describe(const cJSON *args, char *buf, size_t len)
{
    describe_files("workqueue CPU masks", args, buf, len);
}

/* ---- IRQs ------------------------------------------------------------- */

static int move_irqs(struct host_prep *hp, const struct cpuset_bits *vm,
                     const struct cpuset_bits *host, struct vmrun_error *err)
{
    char dir[PATH_MAX];
    if (host_path(dir, sizeof(dir), HOST_PROC, "/irq") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "procfs path too long");
    cleanup_closedir DIR *d = opendir(dir);
    if (d == NULL)
        return 0; /* no /proc/irq: nothing to move */
    struct change_set set = {0};
    int r = 0;
    char path[PATH_MAX + 64], prev[VALUE_MAX], next[VALUE_MAX];

    /* The default affinity, for IRQs set up while the VM runs. */
    snprintf(path, sizeof(path), "%s/default_smp_affinity", dir);
    if (hostfile_read(path, prev, sizeof(prev)) == 0 &&
        mask_without(prev, vm, host, next, sizeof(next)) == 0 && !same_value(prev, next, true) &&
        change_set_add(&set, path, prev, next, true) < 0)
        r = -ENOMEM;

    struct dirent *e;
    while (r == 0 && (e = readdir(d)) != NULL) {
        char *end;
        unsigned long irq = strtoul(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0')
            continue;
        snprintf(path, sizeof(path), "%s/%lu/smp_affinity_list", dir, irq);
        struct cpuset_bits s;
        if (hostfile_read(path, prev, sizeof(prev)) < 0 || cpulist_parse(prev, &s) < 0 ||
            !cpuset_intersects(&s, vm))
            continue;
        cpuset_remove_all(&s, vm);
        if (cpuset_empty(&s))
            s = *host;
        if (cpulist_format(&s, next, sizeof(next)) < 0)
            continue;
        if (change_set_add(&set, path, prev, next, false) < 0)
            r = -ENOMEM;
    }
    if (r < 0) {
        change_set_free(&set);
        return vmrun_fail(err, ENOMEM, "move IRQs");
    }
    struct cpuset_bits refused;
    cpuset_zero(&refused);
    r = apply_changes(hp, OP_IRQ, &set, true, &refused, err);
    if (r == 0 && !cpuset_empty(&refused)) {
        cpulist_format(&refused, next, sizeof(next));
        host_prep_say(hp, "IRQ %s refused a new CPU affinity (per-CPU or managed); left as %s",
                      next, cpuset_count(&refused) > 1 ? "they were" : "it was");
    }
    change_set_free(&set);
    return r;
}

int isolate_irq_undo(const cJSON *args, struct vmrun_error *err)
{
    return restore_files(OP_IRQ, args, true, err);
}

void isolate_irq_describe(const cJSON *args, char *buf, size_t len)
{
    describe_files("IRQ affinities", args, buf, len);
}

/* ---- one isolated VM at a time ------------------------------------------ */

/* Isolation changes host-wide settings (slices' cpusets, workqueue masks,
 * IRQ affinities), each journaled with the value it found. Two isolated
 * VMs would each record the other's values as "previous" and, stopping in
 * the wrong order, leave the host restricted. So vmrun isolates for one VM
 * at a time: <run dir>/.isolation names the VM whose isolation is in force,
 * and its supervisor holds a lock on that file for its whole life (released
 * by the kernel when it dies). A claim left by a supervisor that died names
 * a VM with a journal still to undo: nobody else isolates until `vmrun
 * recover` has put that VM's values back and cleared the claim. */
static int claim_fd = -1; /* held by the supervisor for its life */

static int claim_path(char *buf, size_t len)
{
    return host_path(buf, len, HOST_RUN, "/.isolation");
}

static void read_claim(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static int claim_isolation(struct host_prep *hp, struct vmrun_error *err)
{
    const char *name = hp->profile->name;
    char path[PATH_MAX], other[PROFILE_NAME_MAX + 2];
    if (claim_path(path, sizeof(path)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "run directory path too long");
    cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "open %s", path);
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return vmrun_failx(err, EPERM, "%s is not vmrun's file", path);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        if (errno != EAGAIN && errno != EACCES)
            return vmrun_fail(err, errno, "lock %s", path);
        read_claim(fd, other, sizeof(other));
        return vmrun_failx(err, EBUSY,
                           "cpu.isolate: the VM '%s' keeps host work off its CPUs now, and vmrun "
                           "isolates host CPUs for one VM at a time; stop it first, or drop "
                           "cpu.isolate from one of the two profiles",
                           other[0] != '\0' ? other : "?");
    }
    read_claim(fd, other, sizeof(other));
    if (other[0] != '\0' && strcmp(other, name) != 0) {
        char journal[PATH_MAX];
        if (host_path(journal, sizeof(journal), HOST_RUN, "/%s/journal", other) == 0 &&
            access(journal, F_OK) == 0)
            return vmrun_failx(err, EBUSY,
                               "cpu.isolate: the VM '%s' had isolated the host's CPUs and its "
                               "supervisor died before putting them back; run 'vmrun recover "
                               "%s' first",
                               other, other);
    }
    cJSON *args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "path", path) == NULL ||
        cJSON_AddStringToObject(args, "name", name) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal %s", OP_CLAIM);
    }
    int r = journal_record(hp->journal, OP_CLAIM, args, err);
    if (r < 0)
        return r;
    size_t len = strlen(name);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, name, len, 0) != (ssize_t)len)
        return vmrun_fail(err, errno, "write %s", path);
    if (claim_fd >= 0)
        close(claim_fd);
    claim_fd = steal_fd(&fd);
    return journal_done(hp->journal, err);
}

int isolate_claim_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = oparg_string(args, "path");
    const char *name = oparg_string(args, "name");
    if (path == NULL || path[0] != '/' || name == NULL)
        return vmrun_failx(err, EINVAL, "%s record without path and name", OP_CLAIM);
    cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", path);
    char held[PROFILE_NAME_MAX + 2];
    read_claim(fd, held, sizeof(held));
    /* Only our own claim is cleared: a later VM's is not ours to touch. */
    if (strcmp(held, name) == 0 && ftruncate(fd, 0) < 0)
        return vmrun_fail(err, errno, "clear %s", path);
    return 0;
}

void isolate_claim_describe(const cJSON *args, char *buf, size_t len)
{
    const char *name = oparg_string(args, "name");
    snprintf(buf, len, "let other VMs isolate host CPUs again (claimed by %s)",
             name != NULL ? name : "?");
}

/* ---- the step --------------------------------------------------------- */

int isolate_apply(struct host_prep *hp, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    if (!p->cpu.isolate)
        return 0;
    if (p->cpu.vcpus.n == 0)
        return vmrun_failx(err, EINVAL,
                           "cpu.isolate needs pinned vCPUs (pin.vcpus): without them there are "
                           "no VM CPUs to keep host work away from");
    struct cpuset_bits online, vm, host;
    int r = cpu_online_set(&online, err);
    if (r < 0)
        return r;
    cpuset_zero(&vm);
    for (size_t i = 0; i < p->cpu.vcpus.n; i++)
        cpuset_add(&vm, (unsigned)p->cpu.vcpus.cpus[i]);
    host = online;
    cpuset_remove_all(&host, &vm);
    if (cpuset_empty(&host)) {
        char text[1024];
        cpulist_format(&online, text, sizeof(text));
        return vmrun_failx(err, EINVAL,
                           "cpu.isolate: pin.vcpus takes every online CPU (%s); the host needs "
                           "at least one CPU of its own",
                           text);
    }

    if ((r = claim_isolation(hp, err)) < 0)
        return r;
    struct cgroup_layout l;
    if (cgroup_detect(&l) == 0) {
        if (l.v2 && (r = enable_cpuset_controller(hp, &l, err)) < 0)
            return r;
        if ((r = move_out_of_slices(hp, &l, err)) < 0)
            return r;
        if ((r = restrict_slices(hp, &l, &host, err)) < 0)
            return r;
    } else {
        host_prep_say(hp, "cpu.isolate: this host has no cpuset cgroup controller; host tasks "
                          "may still run on the VM's CPUs");
    }
    if ((r = move_workqueues(hp, &vm, &host, err)) < 0)
        return r;
    return move_irqs(hp, &vm, &host, err);
}
