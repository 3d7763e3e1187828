/* Runtime directories and the one-supervisor-per-name lock (runtime.h). */
#include "supervisor/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/access.h"
#include "sys/dirs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

int runtime_path(char *buf, size_t len, const char *name, const char *file)
{
    if (file != NULL)
        return host_path(buf, len, HOST_RUN, "/%s/%s", name, file);
    return host_path(buf, len, HOST_RUN, "/%s", name);
}

/* An OFD lock: tied to the open file description, so it is inherited across
 * the --detach fork and released only when the last holder dies. */
static int lock_fd_try(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
        return -errno;
    return 0;
}

static bool lock_is_held(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return false;
    return fl.l_type != F_UNLCK;
}

pid_t runtime_read_pid(const char *name, const char *file)
{
    char path[PATH_MAX];
    if (runtime_path(path, sizeof(path), name, file) < 0)
        return 0;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
        return 0;
    return (pid_t)pid;
}

int runtime_write_starter(const struct vm_runtime *rt, uid_t uid, struct vmrun_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%u\n", (unsigned)uid);
    return runtime_write_file(rt, "started_by", buf, err);
}

bool runtime_read_starter(const char *name, uid_t *uid)
{
    char path[PATH_MAX];
    if (runtime_path(path, sizeof(path), name, "started_by") < 0)
        return false;
    cleanup_fclose FILE *f = fopen(path, "re");
    unsigned long v;
    char end;
    if (f == NULL || fscanf(f, "%lu%c", &v, &end) != 2 || end != '\n' || v > 0xfffffffeUL)
        return false;
    *uid = (uid_t)v;
    return true;
}

int runtime_check_manage(const char *name, struct vmrun_error *err)
{
    uid_t uid = 0;
    bool known = runtime_read_starter(name, &uid);
    return priv_check_manage(name, known, uid, err);
}

int runtime_write_file(const struct vm_runtime *rt, const char *file, const char *content,
                       struct vmrun_error *err)
{
    /* Readers see either the old or the new file, never half of one. */
    int r = hostfile_replace(rt->dir, file, content);
    if (r < 0)
        return vmrun_fail(err, -r, "write %s/%s", rt->dir, file);
    return 0;
}

/* Is the directory open at fd one vmrun made: a real directory (the fd was
 * opened with O_NOFOLLOW), owned by us, mode 0700? Anything else under the
 * run directory is neither used nor removed. */
static int check_ours(int fd, const char *dir, struct vmrun_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", dir);
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
        return vmrun_failx(err, EPERM,
                           "%s is not a runtime directory vmrun made (a directory owned by uid "
                           "%u, mode 0700): leaving it alone",
                           dir, (unsigned)geteuid());
    return 0;
}

/* Open NAME's directory and its lock and take the lock. 0 with rt->lock_fd
 * held; -ENOENT when there is no directory; -EBUSY (err naming the
 * supervisor) when a live supervisor holds it; -EPERM for a directory that
 * is not vmrun's. The lock is re-checked to still be NAME/lock once held: a
 * supervisor finishing meanwhile may have removed it. */
static int lock_existing(const char *name, struct vm_runtime *rt, struct vmrun_error *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        cleanup_close int dfd = open(rt->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
            if (errno == ENOENT)
                return -ENOENT;
            return vmrun_fail(err, errno, "open %s", rt->dir);
        }
        int r = check_ours(dfd, rt->dir, err);
        if (r < 0)
            return r;
        cleanup_close int fd = openat(dfd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT)
            fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            if (errno == ENOENT || errno == EEXIST)
                continue; /* removed or created meanwhile: look again */
            return vmrun_fail(err, errno, "open %s/lock", rt->dir);
        }
        r = lock_fd_try(fd);
        if (r == -EAGAIN || r == -EACCES) {
            pid_t pid = runtime_read_pid(name, "supervisor.pid");
            return vmrun_failx(err, EBUSY,
                               "a VM named '%s' is already running (supervisor pid %ld); "
                               "see 'vmrun status %s'",
                               name, (long)pid, name);
        }
        if (r < 0)
            return vmrun_fail(err, -r, "lock %s/lock", rt->dir);
        struct stat a, b;
        if (fstat(fd, &a) == 0 && fstatat(dfd, "lock", &b, AT_SYMLINK_NOFOLLOW) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            struct stat d1, d2;
            if (fstat(dfd, &d1) == 0 && lstat(rt->dir, &d2) == 0 && d1.st_ino == d2.st_ino &&
                d1.st_dev == d2.st_dev) {
                rt->lock_fd = steal_fd(&fd);
                return 0;
            }
        }
    }
    return vmrun_failx(err, EAGAIN, "could not lock the runtime directory %s", rt->dir);
}

/* Make NAME's directory already locked: it is built under a temporary name
 * and renamed into place with its lock held, so `vmrun status` or `list`
 * never see a directory of a starting VM without a live lock (which they
 * would take for a dead supervisor's and clean up). */
static int create_locked(struct vm_runtime *rt, struct vmrun_error *err)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", host_root(HOST_RUN), rt->name);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return vmrun_failx(err, ENAMETOOLONG, "runtime directory for %s", rt->name);
    if (mkdtemp(tmp) == NULL)
        return vmrun_fail(err, errno, "create a runtime directory in %s", host_root(HOST_RUN));
    char lock[PATH_MAX];
    snprintf(lock, sizeof(lock), "%s/lock", tmp);
    cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int r;
    if (fd < 0) {
        r = vmrun_fail(err, errno, "create %s", lock);
    } else if ((r = lock_fd_try(fd)) < 0) {
        r = vmrun_fail(err, -r, "lock %s", lock);
    } else if (rename(tmp, rt->dir) == 0) {
        rt->lock_fd = steal_fd(&fd);
        return 0;
    } else {
        /* A directory is there already: a dead supervisor's (or one
         * starting right now, whose lock will tell). */
        r = errno == EEXIST || errno == ENOTEMPTY ? -EEXIST
                                                  : vmrun_fail(err, errno, "create %s", rt->dir);
    }
    unlink(lock);
    rmdir(tmp);
    return r;
}

int runtime_acquire(const char *name, struct vm_runtime *rt, struct vmrun_error *err)
{
    int r;
    rt->lock_fd = -1;
    snprintf(rt->name, sizeof(rt->name), "%s", name);
    if ((r = runtime_path(rt->dir, sizeof(rt->dir), name, NULL)) < 0)
        return vmrun_fail(err, -r, "runtime directory for %s", name);
    /* Its mode set, not left to the caller's umask (sys/dirs.h). */
    if ((r = dir_make_all(host_root(HOST_RUN), 0755, dir_root_mode(HOST_RUN), err)) < 0)
        return r;

    for (int attempt = 0; attempt < 5; attempt++) {
        r = create_locked(rt, err);
        if (r == -EEXIST)
            r = lock_existing(name, rt, err); /* a dead supervisor's: ours now */
        if (r == -ENOENT)
            continue; /* removed between the two: create it again */
        if (r < 0)
            return r;
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        return runtime_write_file(rt, "supervisor.pid", pid, err);
    }
    return vmrun_failx(err, EAGAIN, "could not create the runtime directory %s", rt->dir);
}

int runtime_lock_stale(const char *name, struct vm_runtime *rt, struct vmrun_error *err)
{
    rt->lock_fd = -1;
    snprintf(rt->name, sizeof(rt->name), "%s", name);
    int r = runtime_path(rt->dir, sizeof(rt->dir), name, NULL);
    if (r < 0)
        return vmrun_fail(err, -r, "runtime directory for %s", name);
    r = lock_existing(name, rt, err);
    if (r < 0)
        rt->dir[0] = '\0'; /* not ours to remove */
    return r;
}

void runtime_release(struct vm_runtime *rt)
{
    if (rt->dir[0] == '\0')
        return;
    /* Out of sight first, lock and all, while still holding the lock: a
     * reader then sees either the live directory or none, never one whose
     * lock file is already gone (which it would take for a dead
     * supervisor's). Then remove it. */
    char gone[PATH_MAX];
    int n = snprintf(gone, sizeof(gone), "%s/.%s.gone.%ld", host_root(HOST_RUN), rt->name,
                     (long)getpid());
    if (n > 0 && (size_t)n < sizeof(gone) && rename(rt->dir, gone) == 0)
        dir_remove(gone);
    else
        dir_remove(rt->dir);
    if (rt->lock_fd >= 0) {
        close(rt->lock_fd);
        rt->lock_fd = -1;
    }
}

enum runtime_state runtime_probe(const char *name, pid_t *supervisor)
{
    char dir[PATH_MAX], lock[PATH_MAX];
    if (supervisor != NULL)
        *supervisor = runtime_read_pid(name, "supervisor.pid");
    if (runtime_path(dir, sizeof(dir), name, NULL) < 0)
        return RUNTIME_ABSENT;
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    for (int attempt = 0; attempt < 10; attempt++) {
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            return RUNTIME_ABSENT;
        cleanup_close int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        /* No lock file: the directory we saw may have been renamed away
         * (and a new one put in place) since: look again. Ten times in a
         * row, it is a directory without a lock: a dead supervisor's. */
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            return RUNTIME_STALE;
        if (lock_is_held(fd))
            return RUNTIME_RUNNING;
        /* Free, but is it still NAME's lock? A supervisor that just ended
         * unlinked it (with the rest of its directory) before letting go,
         * and a new one may be in place already: look again. */
        if (fstat(fd, &st) == 0 && st.st_nlink == 0)
            continue;
        return RUNTIME_STALE;
    }
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? RUNTIME_STALE : RUNTIME_ABSENT;
}

static void on_alarm(int sig)
{
    (void)sig; /* only interrupts the blocking lock below */
}

int runtime_wait_released(const char *name, long timeout_s)
{
    char lock[PATH_MAX];
    if (runtime_path(lock, sizeof(lock), name, "lock") < 0)
        return -ENAMETOOLONG;
    cleanup_close int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0; /* the directory is gone: so is the supervisor */

    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: the wait returns EINTR */
    struct itimerval it = {.it_value = {.tv_sec = timeout_s}}, old_it;
    setitimer(ITIMER_REAL, &it, &old_it);
    /* A read lock conflicts with the supervisor's write lock, so this
     * returns the moment the supervisor lets go of it. */
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    int r = fcntl(fd, F_OFD_SETLKW, &fl) < 0 ? -errno : 0;
    setitimer(ITIMER_REAL, &old_it, NULL);
    sigaction(SIGALRM, &old, NULL);
    return r == -EINTR ? -ETIMEDOUT : r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int runtime_list(char ***names, size_t *n, struct vmrun_error *err)
{
    *names = NULL;
    *n = 0;
    cleanup_closedir DIR *d = opendir(host_root(HOST_RUN));
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return vmrun_fail(err, errno, "open %s", host_root(HOST_RUN));
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* and directories being created (.NAME.XXXXXX) */
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(*names, cap * sizeof(*nn));
            if (nn == NULL)
                return vmrun_fail(err, ENOMEM, "list VMs");
            *names = nn;
        }
        (*names)[(*n)++] = strdup(de->d_name);
    }
    if (*n > 1)
        qsort(*names, *n, sizeof(**names), cmp_str);
    return 0;
}
