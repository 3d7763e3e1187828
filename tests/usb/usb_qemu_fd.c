/* The QEMU that runs takes a host USB device as a descriptor
 * (qemu/qemu_usb.h): against a real QEMU (TCG, stopped, an xHCI), the
 * probe (by exec and over QMP) says yes, and qemu_usb_plug() hands it a descriptor that QEMU
 * resolves from its fd set (a descriptor of no USB device is then refused
 * by libusb: "failed to open host usb device /dev/fdset/N", where a set
 * QEMU does not have gives "failed to open /dev/fdset/N: No such file"),
 * the set holds no descriptor once the VM runs and it was removed again
 * (QEMU before 9.1 keeps one removed while paused), and unplugging a device
 * QEMU does not have says so. This machine has no USB device; the lab plugs real ones
 * (tests/lab/usb.sh). Exits 77 only when QEMU is not installed.
 *
 * A plain program rather than a cmocka test: the QEMU child must be killed
 * and reaped on every failure path. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qemu/qemu_usb.h"
#include "qmp.h"

#define QEMU "qemu-system-x86_64"
#define SKIP 77
#define TIMEOUT_MS 20000

static int failures;

__attribute__((format(printf, 1, 2))) static void check_failed(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static void ok(const char *what)
{
    printf("ok   %s\n", what);
}

/* The descriptors QEMU's fd sets hold (query-fdsets). A set whose
 * descriptor a device duplicated stays listed, empty, until that
 * duplicate closes: the descriptors are what count. */
static int fdset_fds(struct qmp_client *c)
{
    cJSON *ret = NULL;
    if (qmp_execute(c, "query-fdsets", NULL, &ret, TIMEOUT_MS) < 0) {
        check_failed("query-fdsets: %s", qmp_last_error(c));
        return -1;
    }
    int n = 0;
    const cJSON *set;
    cJSON_ArrayForEach(set, ret) n += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(set, "fds"));
    cJSON_Delete(ret);
    return n;
}

int main(void)
{
    char missing[512];
    struct vmrun_error err = {0};
    int probe = qemu_usb_probe(QEMU, missing, sizeof(missing), &err);
    if (probe < 0 && err.code == ENOENT) {
        printf("SKIP: %s is not installed\n", QEMU);
        return SKIP;
    }
    if (probe != 1) {
        check_failed("the probe: %s", probe == 0 ? missing : err.msg);
        return 1;
    }
    ok("the probe: this QEMU's usb-host takes hostdevice");

    char dir[] = "/tmp/vmrun-usb-qemu.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char sock[128], qmparg[160];
    snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
    snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", sock);
    char xhci[64];
    snprintf(xhci, sizeof(xhci), "qemu-xhci,id=%s,p2=%d,p3=%d", QEMU_USB_CONTROLLER_ID,
             QEMU_USB_PORTS, QEMU_USB_PORTS);
    pid_t pid = fork();
    if (pid == 0) {
        execlp(QEMU, QEMU, "-S", "-nodefaults", "-display", "none", "-machine", "q35,accel=tcg",
               "-m", "64", "-device", xhci, "-qmp", qmparg, (char *)NULL);
        _exit(127);
    }
    struct qmp_client *c = NULL;
    if (qmp_connect(sock, TIMEOUT_MS, &c) < 0) {
        check_failed("%s", qmp_last_error(NULL));
    } else {
        if (qemu_usb_probe_qmp(c, missing, sizeof(missing), &err) != 1)
            check_failed("asked over QMP, QEMU's usb-host takes no hostdevice: %s %s", missing,
                         err.msg);
        else
            ok("asked over QMP (device-list-properties), the same");
        int before = fdset_fds(c);
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        long set = -1;
        int r = qemu_usb_plug(c, fd, "usb0-1-1", &set, &err);
        close(fd);
        if (r == 0)
            check_failed("usb-host took /dev/null as a USB device");
        else if (strstr(err.msg, "failed to open host usb device /dev/fdset/") == NULL)
            check_failed("device_add did not reach libusb with the descriptor: %s", err.msg);
        else
            ok("device_add usb-host resolved the descriptor vmrun passed (libusb then refused "
               "/dev/null)");
        /* QEMU before 9.1 keeps a set removed while paused until it is
         * removed again once the VM runs: what the supervisor does after
         * cont. */
        int paused = fdset_fds(c);
        if (qmp_execute(c, "cont", NULL, NULL, TIMEOUT_MS) < 0)
            check_failed("cont: %s", qmp_last_error(c));
        qemu_usb_forget_fdset(c, set);
        int after = fdset_fds(c);
        if (set < 0 || after != before)
            check_failed("fd set %ld still holds vmrun's descriptor (%d descriptors in sets "
                         "before, %d after)",
                         set, before, after);
        else
            ok(paused > before ? "remove-fd while paused kept the descriptor; again once "
                                 "running, no fd set holds one"
                               : "remove-fd: no fd set holds a descriptor");
        r = qemu_usb_unplug(c, "usb0-1-1", &err);
        if (r != 1)
            check_failed("unplugging a device QEMU does not have: %d %s", r, err.msg);
        else
            ok("device_del of a device QEMU does not have: said so");
        qmp_execute(c, "quit", NULL, NULL, TIMEOUT_MS);
        qmp_close(c);
    }
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    unlink(sock);
    rmdir(dir);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
