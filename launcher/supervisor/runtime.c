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
#include "sys/hostpath.h"

int runtime_path(char *buf, size_t len, const char *name, const char *file)
{
    if (file != NULL)
        return host_path(buf, len, HOST_RUN, "/%s/%s", name, file);
    return host_path(buf, len, HOST_RUN, "/%s", name);
}

static int mkdir_owned(const char *path, mode_t mode, struct vmrun_error *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return vmrun_fail(err, errno, "create %s", path);
    struct stat st;
    if (lstat(path, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    /* The directory must be ours and a real directory: anything else (a
     * symlink planted in /tmp, another user's directory) is refused. */
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return vmrun_failx(err, EPERM, "%s is not a directory owned by uid %u", path,
                           (unsigned)geteuid());
    return 0;
}

static int make_parents(const char *path, struct vmrun_error *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return vmrun_fail(err, errno, "create %s", tmp);
        *p = '/';
    }
    return 0;
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

int runtime_write_file(const struct vm_runtime *rt, const char *file, const char *content,
                       struct vmrun_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", rt->dir, file);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", rt->dir, file);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "create %s", tmp);
    size_t len = strlen(content);
    if (write(fd, content, len) != (ssize_t)len)
        return vmrun_fail(err, errno, "write %s", tmp);
    /* Readers see either the old or the new file, never half of one. */
    if (rename(tmp, path) < 0)
        return vmrun_fail(err, errno, "rename %s", tmp);
    return 0;
}

int runtime_acquire(const char *name, struct vm_runtime *rt, struct vmrun_error *err)
{
    int r;
    rt->lock_fd = -1;
    snprintf(rt->name, sizeof(rt->name), "%s", name);
    if ((r = runtime_path(rt->dir, sizeof(rt->dir), name, NULL)) < 0)
        return vmrun_fail(err, -r, "runtime directory for %s", name);
    if ((r = make_parents(rt->dir, err)) < 0)
        return r;
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", host_root(HOST_RUN));
    if (geteuid() != 0 && (r = mkdir_owned(base, 0700, err)) < 0)
        return r;

    for (int attempt = 0; attempt < 5; attempt++) {
        if ((r = mkdir_owned(rt->dir, 0700, err)) < 0)
            return r;
        char lock[PATH_MAX];
        snprintf(lock, sizeof(lock), "%s/lock", rt->dir);
        cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return vmrun_fail(err, errno, "open %s", lock);
        r = lock_fd_try(fd);
        if (r == -EAGAIN || r == -EACCES) {
            pid_t pid = runtime_read_pid(name, "supervisor.pid");
            return vmrun_failx(err, EBUSY,
                               "a VM named '%s' is already running (supervisor pid %ld); "
                               "see 'vmrun status %s'",
                               name, (long)pid, name);
        }
        if (r < 0)
            return vmrun_fail(err, -r, "lock %s", lock);
        /* A supervisor that was finishing may have removed the directory
         * between our open and our lock: then the lock is on a dead inode.
         * Check that the path still names the file we locked. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            rt->lock_fd = steal_fd(&fd);
            char pid[32];
            snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
            return runtime_write_file(rt, "supervisor.pid", pid, err);
        }
    }
    return vmrun_failx(err, EAGAIN, "could not lock the runtime directory %s", rt->dir);
}

static void remove_tree(int dirfd)
{
    cleanup_closedir DIR *d = fdopendir(dirfd);
    if (d == NULL) {
        close(dirfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0)
            continue;
        if (errno == EISDIR || errno == EPERM) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_tree(sub);
            unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
        }
    }
}

static void remove_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        remove_tree(fd);
    rmdir(dir);
}

void runtime_release(struct vm_runtime *rt)
{
    if (rt->dir[0] == '\0')
        return;
    /* Remove while still holding the lock, so no second start can slip in
     * and see a half-removed directory as its own. */
    remove_dir(rt->dir);
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
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return RUNTIME_ABSENT;
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    cleanup_close int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return RUNTIME_STALE;
    return lock_is_held(fd) ? RUNTIME_RUNNING : RUNTIME_STALE;
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

int runtime_remove_stale(const char *name, struct vmrun_error *err)
{
    char dir[PATH_MAX], lock[PATH_MAX];
    runtime_path(dir, sizeof(dir), name, NULL);
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    /* Take the lock ourselves while removing, so a start racing with us
     * waits rather than finding its directory removed under it. */
    cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && lock_fd_try(fd) < 0)
        return vmrun_failx(err, EBUSY, "'%s' is running again", name);
    remove_dir(dir);
    return 0;
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
            continue;
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
