/* The privilege side of the VM's input devices, on this machine's kernel:
 *   - the filter vmrun puts on QEMU (priv/seccomp.c): an evdev grab cannot
 *     be let go nor the device revoked, anything else passes, and a call
 *     through the 32-bit ABI kills the process;
 *   - the allow-list the input mover runs under;
 *   - the mover itself (launcher/host/input/input_mover.c) as it runs: uid
 *     0 without a single capability, no_new_privs, the filter, no
 *     descriptor but its own, its messages, and its death with the
 *     supervisor.
 * Without uinput here (the lab moves real events: tests/lab/input.sh),
 * sockets stand in for the devices. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/input/input_mover.h"
#include "priv/seccomp.h"

/* Run fn in a child; its wait status. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static int errno_of(int r)
{
    return r < 0 ? errno : 0;
}

static int qemu_filter(void)
{
    struct vmrun_error err = {0};
    if (seccomp_keep_evdev_grabs(&err) < 0)
        return 10;
    int fd = open("/dev/null", O_RDWR);
    /* Refused by the filter: EPERM. Let through: the kernel's answer for
     * a file that is no evdev device, ENOTTY. */
    if (errno_of(ioctl(fd, EVIOCGRAB, 0)) != EPERM)
        return 11;
    if (errno_of(ioctl(fd, EVIOCREVOKE, 0)) != EPERM)
        return 12;
    if (errno_of(ioctl(fd, EVIOCGRAB, 1)) != ENOTTY)
        return 13;
    if (errno_of(ioctl(fd, EVIOCGRAB, 0x100000000UL)) != ENOTTY) /* a pointer-sized "on" */
        return 14;
    if (errno_of(ioctl(fd, TCGETS, NULL)) != ENOTTY)
        return 15;
    if (getppid() <= 0)
        return 16;
    return 0;
}

static int qemu_filter_compat(void)
{
    struct vmrun_error err = {0};
    if (seccomp_keep_evdev_grabs(&err) < 0)
        return 10;
#if defined(__x86_64__)
    /* getpid through the 32-bit entry: the filter's ABI check kills. */
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    (void)ret;
    return 20;
#else
    raise(SIGSYS);
    return 0;
#endif
}

static void test_qemu_filter(void **state)
{
    (void)state;
    int status = in_child(qemu_filter);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    status = in_child(qemu_filter_compat);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int allow_list(void)
{
    static const int calls[] = {SYS_write, SYS_ioctl, SYS_mmap, SYS_exit_group};
    static const unsigned long ioctls[] = {FIONREAD};
    struct vmrun_error err = {0};
    int fds[2];
    if (pipe(fds) < 0)
        return 9;
    if (seccomp_allow_only(calls, 4, ioctls, 1, &err) < 0)
        return 10;
    int n;
    if (ioctl(fds[0], FIONREAD, &n) < 0)
        return 11;
    if (errno_of(ioctl(fds[0], TCGETS, NULL)) != EPERM)
        return 12;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 13;
    if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ||
        errno != EPERM)
        return 14;
    if (write(fds[1], "x", 1) != 1)
        return 15;
    syscall(SYS_getppid); /* not on the list: killed here */
    return 16;
}

static void test_allow_list(void **state)
{
    (void)state;
    int status = in_child(allow_list);
    if (WIFEXITED(status))
        fail_msg("the allow-list child exited with %d", WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* A field of /proc/PID/status ("CapEff"), as text. */
static void status_field(pid_t pid, const char *field, char *buf, size_t len)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f == NULL)
        return; /* gone */
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':') {
            char *v = line + strlen(field) + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = '\0';
            snprintf(buf, len, "%s", v);
        }
    fclose(f);
}

static struct input_msg next(int ctl)
{
    struct pollfd p = {.fd = ctl, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    struct input_msg m;
    int fd;
    assert_int_equal(input_msg_recv(ctl, &m, &fd), 1);
    assert_int_equal(fd, -1);
    return m;
}

static void test_mover(void **state)
{
    (void)state;
    int dev[2];
    assert_int_equal(pipe2(dev, O_CLOEXEC), 0);
    /* Something of the supervisor's the mover must not keep. */
    int secret = open("/etc/hostname", O_RDONLY);
    assert_true(secret >= 0);
    struct input_mover_cfg cfg = {.n_entries = 1, .uinput_fd = {dev[1]}};
    pid_t pid;
    int ctl;
    struct vmrun_error err = {0};
    if (input_mover_start(&cfg, &pid, &ctl, &err) < 0)
        fail_msg("mover: %s", err.msg);

    char v[128];
    status_field(pid, "Uid", v, sizeof(v));
    assert_true(strncmp(v, "0\t0\t0\t0", 7) == 0);
    static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    for (size_t i = 0; i < 5; i++) {
        status_field(pid, caps[i], v, sizeof(v));
        assert_string_equal(v, "0000000000000000");
    }
    status_field(pid, "NoNewPrivs", v, sizeof(v));
    assert_string_equal(v, "1");
    status_field(pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "2");
    status_field(pid, "Name", v, sizeof(v));
    assert_string_equal(v, "vmrun-input");
    /* Its descriptors: 0-2, the control socket and the device. */
    char link[64], target[256];
    size_t others = 0;
    for (int fd = 3; fd < 1024; fd++) {
        snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        assert_null(strstr(target, "hostname"));
        others++;
    }
    assert_int_equal(others, 2);

    /* Input starts on the host's side; a source that cannot be grabbed
     * (a socket standing in for a device) stays the host's. */
    struct input_msg m = {.type = IMSG_SIDE, .value = 99};
    assert_int_equal(input_msg_send(ctl, &m, -1), 0);
    m = next(ctl);
    assert_int_equal(m.type, IMSG_SIDE_NOW);
    assert_int_equal(m.value, ROUTE_HOST);
    int src[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, src), 0);
    m = (struct input_msg){.type = IMSG_ATTACH, .entry = 0, .source = 5};
    assert_int_equal(input_msg_send(ctl, &m, src[1]), 0);
    close(src[1]);
    m = (struct input_msg){.type = IMSG_SIDE, .value = ROUTE_GUEST};
    assert_int_equal(input_msg_send(ctl, &m, -1), 0);
    m = next(ctl);
    assert_int_equal(m.type, IMSG_GRAB_FAILED);
    assert_int_equal(m.source, 5);
    assert_int_equal(m.value, -ENOTTY);
    m = next(ctl);
    assert_int_equal(m.type, IMSG_SIDE_NOW);
    assert_int_equal(m.value, ROUTE_GUEST);
    /* The device goes away. */
    close(src[0]);
    m = next(ctl);
    assert_int_equal(m.type, IMSG_GONE);
    assert_int_equal(m.source, 5);

    m = (struct input_msg){.type = IMSG_QUIT};
    assert_int_equal(input_msg_send(ctl, &m, -1), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(ctl);
    close(secret);
    close(dev[0]);
    close(dev[1]);
}

/* The mover dies with its supervisor, however that one ends. */
static void test_mover_dies_with_supervisor(void **state)
{
    (void)state;
    int report[2];
    assert_int_equal(pipe(report), 0);
    pid_t sup = fork();
    assert_true(sup >= 0);
    if (sup == 0) {
        close(report[0]);
        int dev[2];
        if (pipe(dev) < 0)
            _exit(1);
        struct input_mover_cfg cfg = {.n_entries = 1, .uinput_fd = {dev[1]}};
        pid_t pid;
        int ctl;
        struct vmrun_error err = {0};
        if (input_mover_start(&cfg, &pid, &ctl, &err) < 0)
            _exit(2);
        if (write(report[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(3);
        pause();
        _exit(0);
    }
    close(report[1]);
    pid_t mover = 0;
    assert_int_equal(read(report[0], &mover, sizeof(mover)), sizeof(mover));
    close(report[0]);
    assert_int_equal(kill(mover, 0), 0);
    kill(sup, SIGKILL);
    waitpid(sup, NULL, 0);
    /* Reparented and killed: gone, or a zombie of init for a moment. */
    char st[16] = "";
    for (int i = 0; i < 100; i++) {
        status_field(mover, "State", st, sizeof(st));
        if (st[0] == '\0' || st[0] == 'Z')
            break;
        usleep(20000);
    }
    assert_true(st[0] == '\0' || st[0] == 'Z');
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_input_privs needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_filter),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_mover),
        cmocka_unit_test(test_mover_dies_with_supervisor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
