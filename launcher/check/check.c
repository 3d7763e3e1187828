/* `vmrun check`: the host preflight (check.h). This file holds the report
 * and the checks of the VM's name, KVM, the files the profile names and the
 * pinned CPUs; check_qemu.c, check_memory.c, check_pci.c and the other
 * check_*.c files hold the rest.
 * Every check only reads; a fact that cannot be read becomes a result,
 * never an error. */
#include "check/check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "check/check_internal.h"
#include "qemu/qcow2.h"
#include "supervisor/runtime.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"
#include "sys/safepath.h"

/* ---- the report ---- */

const char *check_result_name(enum check_result res)
{
    switch (res) {
    case CHECK_PASS:
        return "PASS";
    case CHECK_WARN:
        return "WARN";
    case CHECK_FAIL:
        return "FAIL";
    }
    return "?";
}

void check_report_free(struct check_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].detail);
        free(r->items[i].hint);
    }
    free(r->items);
    *r = (struct check_report){0};
}

bool check_report_ready(const struct check_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].result == CHECK_FAIL)
            return false;
    return true;
}

static char *vformat(struct check_report *r, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static char *vformat(struct check_report *r, const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        r->oom = true;
        return NULL;
    }
    return s;
}

struct check_item *check_add(struct check_report *r, const char *name, enum check_result res,
                             const char *fmt, ...)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct check_item *items = realloc(r->items, cap * sizeof(*items));
        if (items == NULL) {
            r->oom = true;
            return NULL;
        }
        r->items = items;
        r->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *detail = vformat(r, fmt, ap);
    va_end(ap);
    if (detail == NULL)
        return NULL;
    struct check_item *it = &r->items[r->n++];
    *it = (struct check_item){.result = res, .detail = detail};
    snprintf(it->name, sizeof(it->name), "%s", name);
    return it;
}

void check_hint(struct check_report *r, struct check_item *it, const char *fmt, ...)
{
    if (it == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *h = vformat(r, fmt, ap);
    va_end(ap);
    free(it->hint);
    it->hint = h;
}

/* ---- the VM is not running ---- */

static void check_running(const struct vm_profile *p, struct check_report *r)
{
    pid_t sup = 0;
    switch (runtime_probe(p->name, &sup)) {
    case RUNTIME_ABSENT:
        check_add(r, "running", CHECK_PASS, "no VM called %s is running", p->name);
        return;
    case RUNTIME_RUNNING: {
        struct check_item *it =
            check_add(r, "running", CHECK_FAIL, "%s is already running (supervisor pid %ld)",
                      p->name, (long)sup);
        check_hint(r, it, "stop it first: vmrun stop %s", p->name);
        return;
    }
    case RUNTIME_STALE: {
        char dir[PATH_MAX] = "";
        (void)runtime_path(dir, sizeof(dir), p->name, NULL);
        struct check_item *it =
            check_add(r, "running", CHECK_WARN,
                      "%s is not running, but a dead supervisor left %s behind", p->name, dir);
        check_hint(
            r, it,
            "vmrun start undoes what it left on the host first; 'vmrun recover %s' does it now",
            p->name);
        return;
    }
    }
}

/* ---- KVM ---- */

static void check_kvm(const struct vm_profile *p, struct check_report *r)
{
    if (p->qemu.accel == VM_ACCEL_TCG) {
        check_add(r, "kvm", CHECK_PASS, "not needed: qemu.accel is \"tcg\"");
        return;
    }
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/kvm") < 0) {
        check_add(r, "kvm", CHECK_FAIL, "the /dev root is too long");
        return;
    }
    /* Opening /dev/kvm creates nothing: a VM exists only after
     * KVM_CREATE_VM, which is not called. */
    cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct check_item *it =
            check_add(r, "kvm", CHECK_FAIL, "cannot open %s read-write: %s", path, strerror(e));
        if (e == ENOENT)
            check_hint(r, it,
                       "enable virtualization (Intel VT-x / AMD-V) in the firmware setup and load "
                       "kvm_intel or kvm_amd; or set qemu.accel to \"tcg\" (slow)");
        else if (e == EACCES || e == EPERM)
            check_hint(r, it,
                       "run vmrun as root (sudo), or add the user to /dev/kvm's group (kvm)");
        else
            check_hint(r, it, "check the kvm module (dmesg), or set qemu.accel to \"tcg\" (slow)");
        return;
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v < 0) {
        int e = errno;
        struct check_item *it =
            check_add(r, "kvm", CHECK_FAIL, "%s is not a KVM device: %s", path, strerror(e));
        check_hint(r, it, "check that %s is the kvm character device (10:232)", path);
        return;
    }
    if (v != KVM_API_VERSION) {
        struct check_item *it =
            check_add(r, "kvm", CHECK_FAIL, "%s speaks KVM API version %d; QEMU needs %d", path, v,
                      KVM_API_VERSION);
        check_hint(r, it, "every Linux since 2.6.22 speaks version %d: check the kernel",
                   KVM_API_VERSION);
        return;
    }
    check_add(r, "kvm", CHECK_PASS, "%s opens read-write, KVM API version %d", path, v);
}
/* ---- files the profile names ---- */

enum file_kind { FILE_REGULAR, FILE_DISK, FILE_CHARDEV };

/* A file QEMU or vmrun will open: it exists, has the right type and this
 * process can read it (and write it when want_write). */
static void check_file(struct check_report *r, const char *name, const char *path,
                       enum file_kind kind, bool want_write)
{
    struct stat st;
    /* As root, never look through a path someone else controls (what is
     * there, and whether, is theirs to know, not root's to tell): vmrun
     * start opens such a file with QEMU's user's rights (priv_files.h). */
    if (geteuid() == 0 && path[0] == '/') {
        struct vmrun_error werr = {0};
        cleanup_safe_path struct safe_path sp = {.fd = -1};
        if (safe_resolve(path, &sp, &werr) == 0 && !sp.root_controlled) {
            check_add(r, name, CHECK_WARN,
                      "%s is outside root's control (%s): vmrun start opens it with the rights "
                      "of QEMU's user, and refuses it when QEMU runs as root",
                      path, sp.why);
            return;
        }
    }
    if (stat(path, &st) < 0) {
        int e = errno;
        struct check_item *it = check_add(r, name, CHECK_FAIL, "%s: %s", path, strerror(e));
        if (e == ENOENT && kind == FILE_CHARDEV)
            check_hint(r, it,
                       "plug the device in, or fix the path (ls /dev/input/by-id lists input "
                       "devices)");
        else if (e == ENOENT)
            check_hint(r, it, "fix the path in the profile, or create the file");
        return;
    }
    bool ok_type;
    const char *want;
    switch (kind) {
    case FILE_REGULAR:
        ok_type = S_ISREG(st.st_mode);
        want = "a regular file";
        break;
    case FILE_DISK:
        ok_type = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
        want = "a regular file or a block device";
        break;
    case FILE_CHARDEV:
        ok_type = S_ISCHR(st.st_mode);
        want = "a character device";
        break;
    default:
        ok_type = false;
        want = "?";
        break;
    }
    if (!ok_type) {
        struct check_item *it = check_add(r, name, CHECK_FAIL, "%s is not %s", path, want);
        check_hint(r, it, "point the profile at %s", want);
        return;
    }
    /* access() asks with the real ids, which is who ran vmrun check. */
    int mode = R_OK | (want_write ? W_OK : 0);
    if (access(path, mode) < 0) {
        int e = errno;
        struct check_item *it = check_add(r, name, CHECK_FAIL, "%s cannot be %s: %s", path,
                                          want_write ? "read and written" : "read", strerror(e));
        check_hint(r, it, "fix its permissions, or run vmrun as a user who may open it");
        return;
    }
    check_add(r, name, CHECK_PASS, "%s is %s and can be %s", path, want,
              want_write ? "read and written" : "read");
}

/* A qcow2 disk's backing file: QEMU opens it by name, which must be
 * absolute (qemu/qcow2.h). Read only when check_file could read the image
 * as who runs vmrun check; as root, only a root-controlled path, and
 * through the fd its resolution gave (check_file warned about the rest). */
static void check_backing(struct check_report *r, const char *name, const char *path)
{
    if (r->n > 0 && r->items[r->n - 1].result != CHECK_PASS)
        return;
    cleanup_close int fd = -1;
    if (geteuid() == 0) {
        struct vmrun_error werr = {0};
        cleanup_safe_path struct safe_path sp = {.fd = -1};
        if (safe_resolve(path, &sp, &werr) < 0 || !sp.root_controlled)
            return;
        fd = safe_reopen(&sp, O_RDONLY);
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    }
    char backing[1024];
    if (fd < 0 || qcow2_backing_file(fd, backing, sizeof(backing)) != 1)
        return;
    char item[40];
    snprintf(item, sizeof(item), "%s backing", name);
    if (backing[0] == '/' || strchr(backing, ':') != NULL) {
        check_add(r, item, CHECK_PASS, "%s, which QEMU opens as its user", backing);
        return;
    }
    char msg[1536];
    qcow2_relative_backing_message(msg, sizeof(msg), path, backing);
    check_add(r, item, CHECK_FAIL, "%s", msg);
}

static void check_files(const struct vm_profile *p, struct check_report *r)
{
    if (p->firmware.code != NULL)
        check_file(r, "firmware.code", p->firmware.code, FILE_REGULAR, false);
    else if (p->firmware.type == VM_FIRMWARE_BIOS)
        check_add(r, "firmware.code", CHECK_PASS, "not set: QEMU's own BIOS (SeaBIOS)");
    if (p->firmware.vars_template != NULL)
        check_file(r, "firmware.vars_template", p->firmware.vars_template, FILE_REGULAR, false);
    if (p->boot.kernel != NULL)
        check_file(r, "boot.kernel", p->boot.kernel, FILE_REGULAR, false);
    if (p->boot.initrd != NULL)
        check_file(r, "boot.initrd", p->boot.initrd, FILE_REGULAR, false);
    for (size_t i = 0; i < p->n_disks; i++) {
        const struct vm_disk *d = &p->disks[i];
        char name[32];
        snprintf(name, sizeof(name), "disks[%zu]", i);
        bool rw = !d->readonly && d->media != VM_MEDIA_CDROM;
        check_file(r, name, d->path, FILE_DISK, rw);
        if (d->format == VM_DISK_QCOW2)
            check_backing(r, name, d->path);
    }
    if (p->looking_glass.present && p->looking_glass.device != NULL &&
        strcmp(p->looking_glass.device, "shm") != 0)
        check_file(r, "looking_glass.device", p->looking_glass.device, FILE_CHARDEV, true);
}

/* ---- CPUs ---- */

static void check_cpus(const struct vm_profile *p, struct check_report *r)
{
    const struct {
        const char *key;
        const struct cpu_list *l;
    } lists[] = {
        {"cpu.pin.vcpus", &p->cpu.vcpus},
        {"cpu.pin.emulator", &p->cpu.emulator},
        {"cpu.pin.iothreads", &p->cpu.iothreads},
    };
    size_t total = 0;
    for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
        total += lists[k].l->n;
    if (total == 0) {
        check_add(r, "cpus", CHECK_PASS, "no CPU pinning in the profile");
        return;
    }
    char path[PATH_MAX], text[4096];
    struct cpuset_bits online;
    int rc = host_path(path, sizeof(path), HOST_SYS, "/devices/system/cpu/online");
    if (rc == 0)
        rc = hostfile_read(path, text, sizeof(text));
    if (rc == 0)
        rc = cpulist_parse(text, &online);
    if (rc < 0) {
        check_add(r, "cpus", CHECK_FAIL, "cannot read the online CPUs from %s: %s", path,
                  strerror(-rc));
        return;
    }
    char bad[1024] = "";
    struct cpuset_bits used;
    cpuset_zero(&used);
    for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
        for (size_t i = 0; i < lists[k].l->n; i++) {
            int c = lists[k].l->cpus[i];
            if (c >= 0 && c < CPUSET_MAX && cpuset_has(&online, (unsigned)c)) {
                cpuset_add(&used, (unsigned)c);
                continue;
            }
            text_append(bad, sizeof(bad), "%s%s[%zu] = %d", bad[0] ? ", " : "", lists[k].key, i, c);
        }
    }
    if (bad[0] != '\0') {
        struct check_item *it =
            check_add(r, "cpus", CHECK_FAIL,
                      "pinned CPUs that are not online on this host: %s (online: "
                      "%s)",
                      bad, text);
        check_hint(r, it, "pin to online CPUs (lscpu -e lists them), or bring the CPU online");
        return;
    }
    char list[1024] = "";
    (void)cpulist_format(&used, list, sizeof(list));
    check_add(r, "cpus", CHECK_PASS, "pinned CPUs %s are online (online: %s)", list, text);
}

/* ---- all of them ---- */

int check_profile(const struct vm_profile *p, const struct check_options *opt,
                  struct check_report *out, struct vmrun_error *err)
{
    static const struct check_options defaults = {0};
    if (opt == NULL)
        opt = &defaults;
    *out = (struct check_report){0};
    check_running(p, out);
    check_kvm(p, out);
    check_qemu(p, out);
    check_files(p, out);
    check_firmware_tpm(p, out);
    check_cpus(p, out);
    check_memory(p, out);
    check_memlock(p, out);
    check_pci(p, opt, out);
    check_handoff(p, out);
    check_network(p, out);
    check_usb(p, out);
    check_input(p, out);
    if (out->oom) {
        check_report_free(out);
        return vmrun_failx(err, ENOMEM, "out of memory while checking the host");
    }
    return 0;
}
