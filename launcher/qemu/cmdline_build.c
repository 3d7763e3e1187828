/* qemu_build_argv: the QEMU command line of a profile, as a pure function of
 * the profile and the host facts. The target is QEMU 7.2 (Debian 12) and
 * later; each choice that depends on the version says why.
 *
 * Escaping: QEMU splits option strings on ',' and reads ",," as a literal
 * comma, so every free-form value (paths, names) has its commas doubled.
 * What cannot be written that way is refused with a sentence saying why:
 * names QEMU reads as the first, key-less part of an option (device models,
 * the CPU model), values of -cpu features (QEMU splits those on every comma),
 * and -drive file names that QEMU would take for a protocol ("nbd:...").
 *
 * Layout: passed-through PCI devices each get a pcie-root-port (rpN), all
 * functions of one physical device on one port as one multifunction device
 * with their function numbers, because guest drivers (GPU + HDMI audio)
 * expect that shape. Emulated devices sit on pcie.0 and QEMU assigns their
 * slots in argv order, so the guest sees the same layout on every start. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "qemu/cmdline.h"
#include "qemu/qemu_usb.h"

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

/* The Hyper-V enlightenments of the reference setup, in its order. */
static const char *const hyperv_flags[] = {
    "hv-relaxed", "hv-vapic", "hv-spinlocks=0x1fff", "hv-vpindex", "hv-synic",
    "hv-stimer",  "hv-reset", "hv-frequencies",      "hv-time",
};

/* q35's AHCI controller (ich9-ahci, bus "ide") has six ports. */
#define SATA_PORTS 6

struct build {
    const struct vm_profile *p;
    const struct vm_host_facts *h;
    struct argv_list *a;
    struct vmrun_error *err;
    bool kvm;
};

/* One option string ("driver,key=value,...") under construction. Errors are
 * sticky so that a chain of appends is checked once, at the end. */
struct opt {
    char *s;
    size_t len, cap;
    int r;
};

static void opt_raw(struct opt *o, const char *s, size_t n)
{
    if (o->r < 0)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 128;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *ns = realloc(o->s, cap);
        if (ns == NULL) {
            o->r = -ENOMEM;
            return;
        }
        o->s = ns;
        o->cap = cap;
    }
    memcpy(o->s + o->len, s, n);
    o->len += n;
    o->s[o->len] = '\0';
}

static void opt_free(struct opt *o)
{
    free(o->s);
    o->s = NULL;
}

#define cleanup_opt __attribute__((cleanup(opt_free)))

/* Append ",fmt" (or "fmt" as the first part), formatted, unescaped: for
 * numbers and fixed words only. */
static void opt_addf(struct opt *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void opt_addf(struct opt *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        if (o->r == 0)
            o->r = -EOVERFLOW;
        return;
    }
    if (o->len > 0)
        opt_raw(o, ",", 1);
    opt_raw(o, buf, (size_t)n);
}

/* Append ",key=value" with value's commas doubled. */
static void opt_kv(struct opt *o, const char *key, const char *value)
{
    if (o->len > 0)
        opt_raw(o, ",", 1);
    opt_raw(o, key, strlen(key));
    opt_raw(o, "=", 1);
    for (const char *c = value; *c != '\0'; c++) {
        opt_raw(o, c, 1);
        if (*c == ',')
            opt_raw(o, ",", 1); /* QEMU reads ",," as one literal comma */
    }
}

static int oom(struct build *b)
{
    return vmrun_failx(b->err, ENOMEM, "out of memory building the QEMU command line");
}

static int push(struct build *b, const char *s)
{
    return argv_push(b->a, s) < 0 ? oom(b) : 0;
}

/* Push "-option" and the finished option string. */
static int push_opt(struct build *b, const char *option, struct opt *o)
{
    if (o->r == -ENOMEM)
        return oom(b);
    if (o->r < 0)
        return vmrun_failx(b->err, -o->r, "a %s value is too long", option);
    if (push(b, option) < 0 || push(b, o->s) < 0)
        return -ENOMEM;
    o->len = 0;
    return 0;
}

static int push2(struct build *b, const char *option, const char *value)
{
    if (push(b, option) < 0 || push(b, value) < 0)
        return -ENOMEM;
    return 0;
}

/* Names that QEMU reads without a key (a device model, the CPU model, the
 * machine type) end at the first ',' and must not contain '=': allow only
 * what such names are made of. */
static int check_name(struct build *b, const char *what, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            "_.-") != n)
        return vmrun_failx(b->err, EINVAL,
                           "%s \"%s\" cannot be given to QEMU: use letters, digits, '_', '.' "
                           "and '-' only",
                           what, s);
    return 0;
}

/* A value every option accepts once its commas are doubled, as long as it is
 * not empty. */
static int check_value(struct build *b, const char *what, const char *s)
{
    if (s == NULL || *s == '\0')
        return vmrun_failx(b->err, EINVAL, "%s is empty", what);
    return 0;
}

/* -drive reads "proto:rest" as a protocol when the ':' comes before any '/'
 * (QEMU's path_has_protocol), so "vm:1.img" would not open the file
 * vm:1.img. Such names cannot be written through -drive file=. */
static int check_drive_file(struct build *b, const char *what, const char *path)
{
    if (check_value(b, what, path) < 0)
        return -EINVAL;
    if (path[strcspn(path, ":/")] == ':')
        return vmrun_failx(b->err, EINVAL,
                           "%s \"%s\" would be read by QEMU as a protocol (the part before "
                           "':'); write it as ./%s or as an absolute path",
                           what, path, path);
    return 0;
}

/* Sizes as QEMU's -m and size= read them; whole MiB only, which every
 * memory size vmrun deals with is. */
static int format_size(struct build *b, const char *what, uint64_t bytes, char *buf, size_t len)
{
    if (bytes == 0 || bytes % MIB != 0)
        return vmrun_failx(b->err, EINVAL, "%s of %" PRIu64 " bytes is not a whole number of MiB",
                           what, bytes);
    if (bytes % GIB == 0)
        snprintf(buf, len, "%" PRIu64 "G", bytes / GIB);
    else
        snprintf(buf, len, "%" PRIu64 "M", bytes / MIB);
    return 0;
}

static bool machine_is_q35(const char *m)
{
    return strcmp(m, "q35") == 0 || strncmp(m, "pc-q35-", 7) == 0;
}

static const char *or_default(const char *s, const char *def)
{
    return s != NULL ? s : def;
}

static int build_head(struct build *b)
{
    const struct vm_profile *p = b->p;
    const struct vm_host_facts *h = b->h;
    cleanup_opt struct opt o = {0};

    if (p->qemu.binary != NULL && check_value(b, "qemu.binary", p->qemu.binary) < 0)
        return -EINVAL;
    if (push(b, or_default(p->qemu.binary, "qemu-system-x86_64")) < 0)
        return -ENOMEM;

    /* -name's first part has no key: '=' would turn it into one, ','
     * would end it. The profile's name rules already exclude both. */
    if (check_name(b, "the VM name", p->name) < 0)
        return -EINVAL;
    opt_addf(&o, "%s,debug-threads=on",
             p->name); /* QEMU names its threads: `vmrun status` shows them */
    if (push_opt(b, "-name", &o) < 0)
        return -ENOMEM;
    if (push(b, "-nodefaults") < 0 || push(b, "-no-user-config") < 0)
        return -ENOMEM;

    /* Paused until the supervisor has pinned the vCPU threads. */
    if (push(b, "-S") < 0)
        return -ENOMEM;
    /* QMP is a socket vmrun connected before QEMU started (a socketpair):
     * no socket file exists that anyone could connect to or replace.
     * `-qmp chardev:ID` puts a QMP monitor on it in every QEMU from 7.2 to
     * 11.x without a word; `-mon chardev=ID,mode=control` draws a
     * deprecation warning from 11 on, and the `-object monitor-qmp` that
     * warning names does not exist before 11. */
    opt_addf(&o, "socket,id=qmp,fd=%d", h->qmp_fd);
    if (push_opt(b, "-chardev", &o) < 0 || push2(b, "-qmp", "chardev:qmp") < 0)
        return -ENOMEM;

    if (h->sandbox) {
        /* qemu-bridge-helper is spawned by QEMU for a "bridge" network
         * given without vmrun's tap, so spawning stays allowed then. */
        bool spawns = false;
        for (size_t i = 0; i < p->n_nets; i++)
            spawns |= p->nets[i].type == VM_NET_BRIDGE && h->net_fd[i] <= 0;
        opt_addf(&o, "on,obsolete=deny,elevateprivileges=deny%s,resourcecontrol=deny",
                 spawns ? "" : ",spawn=deny");
        if (push_opt(b, "-sandbox", &o) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* What QEMU is told to open for a file vmrun hands it (cmdline.h): after
 * `-add-fd fd=F,set=F`, /dev/fdset/F for what QEMU opens with qemu_open()
 * (fdset true); /proc/self/fd/F for what it reads with plain open()
 * (fdset false); the path itself when the facts hand no fd for it. */
static int file_ref(struct build *b, enum qemu_file_role role, size_t index, const char *path,
                    bool fdset, char *out, size_t len)
{
    int fd = -1, ro_fd = -1;
    for (size_t i = 0; i < b->h->n_files; i++)
        if (b->h->files[i].role == role && b->h->files[i].index == index) {
            fd = b->h->files[i].fd;
            ro_fd = b->h->files[i].ro_fd;
        }
    int n;
    if (fd < 0) {
        n = snprintf(out, len, "%s", path);
    } else if (fdset) {
        char add[64];
        snprintf(add, sizeof(add), "fd=%d,set=%d", fd, fd);
        if (push2(b, "-add-fd", add) < 0)
            return -ENOMEM;
        if (ro_fd >= 0) {
            snprintf(add, sizeof(add), "fd=%d,set=%d", ro_fd, fd);
            if (push2(b, "-add-fd", add) < 0)
                return -ENOMEM;
        }
        n = snprintf(out, len, "/dev/fdset/%d", fd);
    } else {
        n = snprintf(out, len, "/proc/self/fd/%d", fd);
    }
    if (n < 0 || (size_t)n >= len)
        return vmrun_failx(b->err, ENAMETOOLONG, "%s: the path is too long", path);
    return 0;
}

static int build_machine(struct build *b)
{
    const struct vm_profile *p = b->p;
    const char *machine = or_default(p->qemu.machine, "q35");
    cleanup_opt struct opt o = {0};

    if (check_name(b, "qemu.machine", machine) < 0)
        return -EINVAL;
    /* Root ports, the ICH9 globals and the AHCI bus below are q35's. */
    if (!machine_is_q35(machine))
        return vmrun_failx(b->err, EINVAL,
                           "qemu.machine \"%s\" is not a q35 machine type (\"q35\" or "
                           "\"pc-q35-X.Y\"), which vmrun's PCIe layout needs",
                           machine);
    opt_addf(&o, "%s,vmport=off", machine);
    /* hpet=off is the machine property that replaces -no-hpet (deprecated
     * since QEMU 8.0); QEMU 7.2 knows both. */
    opt_addf(&o, "hpet=off");
    /* A firmware that requires SMM (a Secure Boot build) hangs without it. */
    if (b->h->smm)
        opt_addf(&o, "smm=on");
    if (b->h->memory_file != NULL)
        opt_addf(&o, "memory-backend=mem");
    if (push_opt(b, "-machine", &o) < 0)
        return -ENOMEM;
    /* The in-kernel irqchip is a KVM property; TCG has none. */
    return push2(b, "-accel", b->kvm ? "kvm,kernel-irqchip=on" : "tcg");
}

static bool has_feature(const struct vm_profile *p, const char *name)
{
    for (size_t i = 0; i < p->cpu.n_features; i++)
        if (strcmp(p->cpu.features[i].name, name) == 0)
            return true;
    return false;
}

static int build_cpu(struct build *b)
{
    const struct vm_profile *p = b->p;
    const char *model = or_default(p->cpu.model, "host");
    cleanup_opt struct opt o = {0};

    /* -cpu ends the model at the first ',' and splits features on every
     * ',' with no escape: neither may contain one. */
    if (check_name(b, "cpu.model", model) < 0)
        return -EINVAL;
    if (strcmp(model, "host") == 0 && !b->kvm)
        return vmrun_failx(b->err, EINVAL,
                           "cpu.model \"host\" needs qemu.accel \"kvm\"; with \"tcg\" use a "
                           "named model such as \"max\" or \"qemu64\"");
    opt_addf(&o, "%s", model);
    /* vmrun's defaults for "host", unless cpu.features says otherwise. */
    if (strcmp(model, "host") == 0 && !has_feature(p, "topoext"))
        opt_addf(&o, "topoext=on");
    if (strcmp(model, "host") == 0)
        opt_addf(&o, "host-cache-info=on");
    for (size_t i = 0; i < p->cpu.n_features; i++) {
        const struct vm_cpu_feature *f = &p->cpu.features[i];
        if (check_name(b, "a cpu.features name", f->name) < 0)
            return -EINVAL;
        opt_addf(&o, "%s=%s", f->name, f->on ? "on" : "off");
    }
    if (p->cpu.hyperv || p->cpu.hyperv_custom) {
        /* QEMU's TCG cannot provide hv-vpindex ("kernel doesn't allow
         * setting HyperV VP_INDEX"), and the others are KVM's anyway. */
        if (!b->kvm)
            return vmrun_failx(b->err, EINVAL, "cpu.hyperv needs qemu.accel \"kvm\"");
        if (!p->cpu.hyperv_custom) {
            for (size_t i = 0; i < ARRAY_SIZE(hyperv_flags); i++)
                opt_addf(&o, "%s", hyperv_flags[i]);
        } else {
            for (size_t i = 0; i < profile_n_hv_flags; i++) {
                const struct profile_hv_flag *f = &profile_hv_flags[i];
                uint32_t bit = UINT32_C(1) << i;
                bool spin = strcmp(f->key, "spinlocks") == 0;
                if ((p->cpu.hv_on & bit) != 0 && spin)
                    opt_addf(&o, "%s=0x%x", f->qemu, p->cpu.hv_spinlocks);
                else if ((p->cpu.hv_on & bit) != 0)
                    opt_addf(&o, "%s=on", f->qemu);
                else if ((p->cpu.hv_off & bit) != 0 && !spin)
                    /* Off is QEMU's default too, but hv-passthrough turns
                     * on what the host has: say it. */
                    opt_addf(&o, "%s=off", f->qemu);
            }
        }
    }
    if (p->cpu.vendor_id != NULL) {
        if (!p->cpu.hyperv)
            return vmrun_failx(b->err, EINVAL,
                               "cpu.vendor_id is a Hyper-V setting: it needs cpu.hyperv true");
        size_t n = strlen(p->cpu.vendor_id);
        if (n == 0 || n > PROFILE_VENDOR_ID_MAX || strchr(p->cpu.vendor_id, ',') != NULL)
            return vmrun_failx(b->err, EINVAL,
                               "cpu.vendor_id \"%s\" cannot be given to QEMU: 1 to %d "
                               "characters, no ','",
                               p->cpu.vendor_id, PROFILE_VENDOR_ID_MAX);
        opt_addf(&o, "hv-vendor-id=%s", p->cpu.vendor_id);
    }
    if (p->cpu.hide_hypervisor)
        opt_addf(&o, "kvm=off");
    if (p->cpu.dedicated) {
        if (!b->kvm)
            return vmrun_failx(b->err, EINVAL, "cpu.dedicated needs qemu.accel \"kvm\"");
        opt_addf(&o, "kvm-hint-dedicated=on");
    }
    if (push_opt(b, "-cpu", &o) < 0)
        return -ENOMEM;
    /* The guest idles with HLT, MWAIT and PAUSE without exits to the host:
     * lower wake-up latency, and host CPUs that look busy all the time. */
    if (p->cpu.idle_in_guest) {
        if (!b->kvm)
            return vmrun_failx(b->err, EINVAL, "cpu.idle_in_guest needs qemu.accel \"kvm\"");
        if (push2(b, "-overcommit", "cpu-pm=on") < 0)
            return -ENOMEM;
    }

    unsigned s = p->cpu.sockets, c = p->cpu.cores, t = p->cpu.threads;
    if (s == 0 || c == 0 || t == 0 || (uint64_t)s * c * t > 1024)
        return vmrun_failx(b->err, EINVAL,
                           "cpu topology %u sockets x %u cores x %u threads is not usable", s, c,
                           t);
    opt_addf(&o, "%u,sockets=%u,cores=%u,threads=%u", s * c * t, s, c, t);
    return push_opt(b, "-smp", &o);
}

/* The system UUID and the SMBIOS strings: what the guest reads as its
 * machine's identity (Windows activation, some anti-cheat and licensing
 * software). */
static int build_identity(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};
    if (p->uuid[0] != '\0') {
        if (strspn(p->uuid, "0123456789abcdef-") != 36 || strlen(p->uuid) != 36)
            return vmrun_failx(b->err, EINVAL, "uuid \"%s\" is not a UUID", p->uuid);
        if (push2(b, "-uuid", p->uuid) < 0)
            return -ENOMEM;
    }
    for (int t = 0; t < SMBIOS_N_TYPES; t++) {
        const struct profile_smbios_type *ty = &profile_smbios_types[t];
        bool any = false;
        for (int f = 0; ty->fields[f] != NULL; f++)
            any |= p->smbios.value[t][f] != NULL;
        if (!any)
            continue;
        opt_addf(&o, "type=%d", ty->qemu_type);
        for (int f = 0; ty->fields[f] != NULL; f++) {
            const char *v = p->smbios.value[t][f];
            if (v == NULL)
                continue;
            if (check_value(b, "an smbios string", v) < 0)
                return -EINVAL;
            opt_kv(&o, ty->fields[f], v);
        }
        if (push_opt(b, "-smbios", &o) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int build_memory(struct build *b)
{
    const struct vm_profile *p = b->p;
    const struct vm_host_facts *h = b->h;
    char size[32];
    cleanup_opt struct opt o = {0};

    if (format_size(b, "memory.size", p->memory.size, size, sizeof(size)) < 0)
        return -EINVAL;
    if (push2(b, "-m", size) < 0)
        return -ENOMEM;
    if (h->memory_file == NULL) {
        if (p->memory.hugepage_kb != 0)
            return vmrun_failx(b->err, EINVAL,
                               "the profile asks for hugepages but no hugepage file was "
                               "prepared for QEMU");
        return 0;
    }
    if (check_value(b, "the guest memory file", h->memory_file) < 0)
        return -EINVAL;
    /* share=on: guest RAM is the file's pages (MAP_SHARED), as in the
     * reference setup, so vhost-user and other mappers see the same memory.
     * prealloc=off: vmrun reserved the pages in the pool itself. */
    opt_addf(&o, "memory-backend-file,id=mem");
    opt_kv(&o, "mem-path", h->memory_file);
    opt_addf(&o, "size=%s,share=on,prealloc=off", size);
    return push_opt(b, "-object", &o);
}

static int build_boot(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};
    char ref[PATH_MAX];

    if (b->h->firmware_code != NULL) {
        const struct vm_host_facts *h = b->h;
        if (check_drive_file(b, "firmware.code", h->firmware_code) < 0)
            return -EINVAL;
        if (file_ref(b, QEMU_FILE_FIRMWARE_CODE, 0, h->firmware_code, true, ref, sizeof(ref)) < 0)
            return -EINVAL;
        opt_addf(&o, "if=pflash,format=%s,unit=0,readonly=on",
                 or_default(h->firmware_code_format, "raw"));
        opt_kv(&o, "file", ref);
        if (push_opt(b, "-drive", &o) < 0)
            return -ENOMEM;
        if (p->firmware.vars_template != NULL && h->ovmf_vars == NULL)
            return vmrun_failx(b->err, EINVAL,
                               "no per-VM copy of firmware.vars_template was prepared");
        if (h->ovmf_vars != NULL) {
            if (check_drive_file(b, "the UEFI variable store", h->ovmf_vars) < 0)
                return -EINVAL;
            if (file_ref(b, QEMU_FILE_UEFI_VARS, 0, h->ovmf_vars, true, ref, sizeof(ref)) < 0)
                return -EINVAL;
            opt_addf(&o, "if=pflash,format=%s,unit=1", or_default(h->firmware_vars_format, "raw"));
            opt_kv(&o, "file", ref);
            if (push_opt(b, "-drive", &o) < 0)
                return -ENOMEM;
        }
        /* With SMM, a Secure Boot build keeps its variables writable by SMM
         * code alone; otherwise the guest kernel could rewrite db or PK. */
        if (h->secure_flash && !h->smm)
            return vmrun_failx(b->err, EINVAL, "a secure flash needs SMM");
        if (h->secure_flash &&
            push2(b, "-global", "driver=cfi.pflash01,property=secure,value=on") < 0)
            return -ENOMEM;
        if (push2(b, "-boot", "menu=on") < 0)
            return -ENOMEM;
    } else if (p->firmware.type == VM_FIRMWARE_UEFI) {
        return vmrun_failx(b->err, EINVAL,
                           "no UEFI firmware was chosen for firmware.type \"uefi\" "
                           "(qemu/firmware.h)");
    }
    /* -kernel, -initrd and -append take their value whole: no escaping. */
    if (p->boot.kernel != NULL) {
        if (file_ref(b, QEMU_FILE_KERNEL, 0, p->boot.kernel, false, ref, sizeof(ref)) < 0 ||
            push2(b, "-kernel", ref) < 0)
            return -ENOMEM;
    }
    if (p->boot.initrd != NULL) {
        if (p->boot.kernel == NULL)
            return vmrun_failx(b->err, EINVAL, "boot.initrd needs boot.kernel");
        if (file_ref(b, QEMU_FILE_INITRD, 0, p->boot.initrd, false, ref, sizeof(ref)) < 0 ||
            push2(b, "-initrd", ref) < 0)
            return -ENOMEM;
    }
    if (p->boot.cmdline != NULL) {
        if (p->boot.kernel == NULL)
            return vmrun_failx(b->err, EINVAL, "boot.cmdline needs boot.kernel");
        if (push2(b, "-append", p->boot.cmdline) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int build_clock(struct build *b)
{
    /* KVM guests here are Windows guests, whose clock runs in local time;
     * the TCG guests are Linux, which expects UTC. */
    if (push2(b, "-rtc", b->kvm ? "base=localtime,driftfix=slew" : "base=utc") < 0)
        return -ENOMEM;
    /* kvm-pit exists only with KVM's in-kernel PIT. */
    if (b->kvm && push2(b, "-global", "kvm-pit.lost_tick_policy=delay") < 0)
        return -ENOMEM;
    /* No S3/S4: a passed-through GPU rarely survives suspend. */
    if (push2(b, "-global", "ICH9-LPC.disable_s3=1") < 0 ||
        push2(b, "-global", "ICH9-LPC.disable_s4=1") < 0)
        return -ENOMEM;
    return 0;
}

static bool same_device(const struct vm_pci *x, const struct vm_pci *y)
{
    return x->domain == y->domain && x->bus == y->bus && x->slot == y->slot;
}

/* A vfio-pci device's own options: its ROM and boot index. */
static int vfio_options(struct build *b, const struct vm_pci *d, struct opt *o)
{
    if (d->rom != NULL) {
        /* The ROM reaches QEMU as /proc/self/fd/N (cmdline.h). */
        char ref[PATH_MAX];
        if (check_value(b, "pci rom", d->rom) < 0 ||
            file_ref(b, QEMU_FILE_ROM, (size_t)(d - b->p->pci), d->rom, false, ref,
                     sizeof(ref)) < 0)
            return -EINVAL;
        opt_kv(o, "romfile", ref);
    }
    if (d->rombar_off)
        opt_addf(o, "rombar=0");
    if (d->bootindex >= 0)
        opt_addf(o, "bootindex=%d", d->bootindex);
    return 0;
}

/* The functions of one physical device go to one root port, in function
 * order; the first device seen decides the port order. */
static int build_pci(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};
    cleanup_free bool *done = calloc(p->n_pci + 1, sizeof(*done));
    if (done == NULL)
        return oom(b);
    unsigned port = 0;

    for (size_t i = 0; i < p->n_pci; i++) {
        if (done[i])
            continue;
        const struct vm_pci *first = &p->pci[i];
        size_t n_funcs = 0;
        bool has_func0 = false;
        for (size_t j = i; j < p->n_pci; j++) {
            if (!same_device(first, &p->pci[j]))
                continue;
            if (p->pci[j].func > 7)
                return vmrun_failx(b->err, EINVAL, "pci device %s: function %u is not 0-7",
                                   p->pci[j].address, p->pci[j].func);
            for (size_t k = i; k < j; k++)
                if (same_device(first, &p->pci[k]) && p->pci[k].func == p->pci[j].func)
                    return vmrun_failx(b->err, EINVAL, "pci device %s is listed twice",
                                       p->pci[j].address);
            n_funcs++;
            has_func0 |= p->pci[j].func == 0;
        }
        /* A guest scans function 0 first and skips a slot without one:
         * functions passed without their function 0 (the USB controller
         * that is function 3 of an AMD CPU's device) each become function
         * 0 of a root port of their own, as libvirt places them. */
        if (!has_func0) {
            for (size_t j = i; j < p->n_pci; j++) {
                const struct vm_pci *d = &p->pci[j];
                if (!same_device(first, d))
                    continue;
                done[j] = true;
                port++;
                opt_addf(&o, "pcie-root-port,id=rp%u,bus=pcie.0,chassis=%u,slot=%u", port, port,
                         port);
                if (push_opt(b, "-device", &o) < 0)
                    return -ENOMEM;
                opt_addf(&o, "vfio-pci,host=%04x:%02x:%02x.%x,bus=rp%u,addr=00.0", d->domain,
                         d->bus, d->slot, d->func, port);
                if (vfio_options(b, d, &o) < 0)
                    return -EINVAL;
                if (push_opt(b, "-device", &o) < 0)
                    return -ENOMEM;
            }
            continue;
        }

        port++;
        opt_addf(&o, "pcie-root-port,id=rp%u,bus=pcie.0,chassis=%u,slot=%u", port, port, port);
        if (push_opt(b, "-device", &o) < 0)
            return -ENOMEM;
        for (unsigned f = 0; f < 8; f++) {
            for (size_t j = i; j < p->n_pci; j++) {
                const struct vm_pci *d = &p->pci[j];
                if (!same_device(first, d) || d->func != f)
                    continue;
                done[j] = true;
                opt_addf(&o, "vfio-pci,host=%04x:%02x:%02x.%x,bus=rp%u,addr=00.%x", d->domain,
                         d->bus, d->slot, d->func, port, d->func);
                if (f == 0 && n_funcs > 1)
                    opt_addf(&o, "multifunction=on");
                if (vfio_options(b, d, &o) < 0)
                    return -EINVAL;
                if (push_opt(b, "-device", &o) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

static const char *disk_format(enum vm_disk_format f)
{
    switch (f) {
    case VM_DISK_RAW:
        return "raw";
    case VM_DISK_QCOW2:
        return "qcow2";
    }
    return "raw";
}

/* The controllers some disks need, created once before the first disk. */
static int build_disk_controllers(struct build *b)
{
    const struct vm_profile *p = b->p;
    bool scsi_plain = false, scsi_io = false, iothread = false;
    for (size_t i = 0; i < p->n_disks; i++) {
        const struct vm_disk *d = &p->disks[i];
        if (d->iothread && (d->bus == VM_BUS_NVME || d->bus == VM_BUS_SATA))
            return vmrun_failx(b->err, EINVAL,
                               "disks[%zu]: iothread is only for virtio and scsi disks", i);
        iothread |= d->iothread;
        if (d->bus == VM_BUS_SCSI) {
            scsi_io |= d->iothread;
            scsi_plain |= !d->iothread;
        }
    }
    if (iothread && push2(b, "-object", "iothread,id=io0") < 0)
        return -ENOMEM;
    /* iothread is a property of the SCSI controller, not of each disk: one
     * controller for the disks that want it, one for the rest. */
    if (scsi_plain && push2(b, "-device", "virtio-scsi-pci,id=scsi0") < 0)
        return -ENOMEM;
    if (scsi_io && push2(b, "-device", "virtio-scsi-pci,id=scsi1,iothread=io0") < 0)
        return -ENOMEM;
    return 0;
}

static int build_disks(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};
    unsigned sata_port = 0;
    int r = build_disk_controllers(b);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->n_disks; i++) {
        const struct vm_disk *d = &p->disks[i];
        bool cdrom = d->media == VM_MEDIA_CDROM;
        char what[32];
        snprintf(what, sizeof(what), "disks[%zu].path", i);
        if (check_drive_file(b, what, d->path) < 0)
            return -EINVAL;
        /* QEMU refuses aio=native on a cached file. */
        if (d->aio != NULL && strcmp(d->aio, "native") == 0 && !disk_cache_direct(d->cache))
            return vmrun_failx(b->err, EINVAL,
                               "disks[%zu]: aio \"native\" needs cache \"none\" or "
                               "\"directsync\"",
                               i);

        char ref[PATH_MAX];
        if (file_ref(b, QEMU_FILE_DISK, i, d->path, true, ref, sizeof(ref)) < 0)
            return -EINVAL;
        opt_addf(&o, "if=none,id=drive%zu", i);
        opt_kv(&o, "file", ref);
        opt_addf(&o, "format=%s", disk_format(d->format));
        if (cdrom)
            opt_addf(&o, "media=cdrom");
        if (d->cache != NULL)
            opt_kv(&o, "cache", d->cache);
        if (d->aio != NULL)
            opt_kv(&o, "aio", d->aio);
        if (d->discard != NULL)
            opt_kv(&o, "discard", d->discard);
        if (d->readonly || cdrom)
            opt_addf(&o, "readonly=on");
        if (push_opt(b, "-drive", &o) < 0)
            return -ENOMEM;

        switch (d->bus) {
        case VM_BUS_VIRTIO:
            if (cdrom)
                return vmrun_failx(b->err, EINVAL,
                                   "disks[%zu]: a cdrom needs bus \"sata\" or \"scsi\"", i);
            opt_addf(&o, "virtio-blk-pci,drive=drive%zu,id=disk%zu", i, i);
            if (d->iothread)
                opt_addf(&o, "iothread=io0");
            break;
        case VM_BUS_SCSI:
            opt_addf(&o, "%s,bus=scsi%d.0,drive=drive%zu,id=disk%zu", cdrom ? "scsi-cd" : "scsi-hd",
                     d->iothread ? 1 : 0, i, i);
            break;
        case VM_BUS_NVME:
            if (cdrom)
                return vmrun_failx(b->err, EINVAL,
                                   "disks[%zu]: a cdrom needs bus \"sata\" or \"scsi\"", i);
            /* QEMU's nvme device will not start without a serial. */
            opt_addf(&o, "nvme,drive=drive%zu,id=disk%zu", i, i);
            if (d->serial == NULL)
                opt_addf(&o, "serial=vmrun-disk%zu", i);
            break;
        case VM_BUS_SATA:
            if (sata_port == SATA_PORTS)
                return vmrun_failx(b->err, EINVAL,
                                   "disks[%zu]: q35 has %d SATA ports and they are all taken", i,
                                   SATA_PORTS);
            opt_addf(&o, "%s,bus=ide.%u,drive=drive%zu,id=disk%zu", cdrom ? "ide-cd" : "ide-hd",
                     sata_port++, i, i);
            break;
        }
        if (d->serial != NULL) {
            if (check_value(b, "a disk serial", d->serial) < 0)
                return -EINVAL;
            opt_kv(&o, "serial", d->serial);
        }
        if (d->bootindex >= 0)
            opt_addf(&o, "bootindex=%d", d->bootindex);
        if (push_opt(b, "-device", &o) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int build_nets(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};

    for (size_t i = 0; i < p->n_nets; i++) {
        const struct vm_net *n = &p->nets[i];
        switch (n->type) {
        case VM_NET_USER:
            opt_addf(&o, "user,id=net%zu", i);
            break;
        case VM_NET_BRIDGE:
            if (check_value(b, "nets[].bridge", n->bridge) < 0)
                return -EINVAL;
            if (b->h->net_fd[i] > 0) {
                /* A tap vmrun made on the bridge (host/net/tap.h). */
                opt_addf(&o, "tap,id=net%zu,fd=%d", i, b->h->net_fd[i]);
            } else {
                /* Without the supervisor's descriptor, QEMU's own way:
                 * qemu-bridge-helper and /etc/qemu/bridge.conf. */
                opt_addf(&o, "bridge,id=net%zu", i);
                opt_kv(&o, "br", n->bridge);
            }
            break;
        case VM_NET_TAP:
            if (check_value(b, "nets[].tap", n->tap) < 0)
                return -EINVAL;
            if (b->h->net_fd[i] > 0) {
                /* The existing interface, opened by vmrun. */
                opt_addf(&o, "tap,id=net%zu,fd=%d", i, b->h->net_fd[i]);
            } else {
                /* QEMU must not run ifup scripts on an existing interface. */
                opt_addf(&o, "tap,id=net%zu", i);
                opt_kv(&o, "ifname", n->tap);
                opt_addf(&o, "script=no,downscript=no");
            }
            /* vhost needs KVM's ioeventfds to be worth it. */
            if (b->kvm)
                opt_addf(&o, "vhost=on");
            break;
        }
        if (push_opt(b, "-netdev", &o) < 0)
            return -ENOMEM;

        const char *model = or_default(n->model, "virtio-net-pci");
        if (check_name(b, "nets[].model", model) < 0)
            return -EINVAL;
        opt_addf(&o, "%s,netdev=net%zu,id=nic%zu", model, i, i);
        if (n->mac != NULL)
            opt_kv(&o, "mac", n->mac);
        if (push_opt(b, "-device", &o) < 0)
            return -ENOMEM;
    }
    return 0;
}

static bool audio_on_usb(const struct vm_profile *p)
{
    return p->audio.present && p->audio.device != NULL && strcmp(p->audio.device, "usb") == 0;
}

/* The xHCI controller, with every port QEMU's has (qemu/qemu_usb.h): the
 * devices usb[] takes are not on the command line. QEMU, sandboxed as an
 * ordinary user, could not open them, and they come and go: the
 * supervisor plugs each in over QMP on a node it opens
 * (supervisor/usb_hotplug.h), before the guest runs for those already
 * there. A "usb" key, even an empty list, gives the VM the controller, so
 * `vmrun usb NAME attach` has somewhere to plug a device in. */
static int build_usb(struct build *b)
{
    const struct vm_profile *p = b->p;
    if (!p->usb_present && p->n_usb == 0 && !audio_on_usb(p))
        return 0;
    char xhci[64];
    snprintf(xhci, sizeof(xhci), "qemu-xhci,id=%s,p2=%d,p3=%d", QEMU_USB_CONTROLLER_ID,
             QEMU_USB_PORTS, QEMU_USB_PORTS);
    return push2(b, "-device", xhci);
}

/* input-linux reads the virtual device vmrun made for each entry
 * (host/input/input.h), by the O_PATH descriptor QEMU inherits: which
 * physical device it stands for, and the hotkey, are vmrun's business.
 * QEMU's own grab-toggle stays at its default and cannot let go (its
 * ungrab is refused by the filter vmrun puts on QEMU); repeat=on passes
 * the physical keyboard's repeats on. */
static int build_inputs(struct build *b)
{
    const struct vm_profile *p = b->p;
    cleanup_opt struct opt o = {0};

    for (size_t i = 0; i < p->n_inputs && i < VM_INPUTS_MAX; i++) {
        if (b->h->input_fd[i] <= 0)
            return vmrun_failx(b->err, EINVAL, "input[%zu]: no descriptor for its virtual device",
                               i);
        opt_addf(&o, "input-linux,id=input%zu,evdev=/proc/self/fd/%d,repeat=on", i,
                 b->h->input_fd[i]);
        if (push_opt(b, "-object", &o) < 0)
            return -ENOMEM;
    }
    /* The guest's LEDs: a VNC server vmrun alone connects to (the
     * profile's own when it has one). */
    if (p->n_inputs > 0 && b->h->input_leds && p->display != VM_DISPLAY_VNC &&
        push2(b, "-vnc", "none") < 0)
        return -ENOMEM;
    return 0;
}

/* QEMU 7.2 has no "pipewire" audio driver (it came in 8.1); PipeWire
 * desktops serve the PulseAudio protocol (pipewire-pulse), so without it
 * "pipewire" goes to "pa". On Debian both are in the qemu-system-gui
 * package. */
const char *qemu_audiodev_driver(enum vm_audio_backend be, bool qemu_pipewire)
{
    switch (be) {
    case VM_AUDIO_NONE:
        return "none";
    case VM_AUDIO_PIPEWIRE:
        return qemu_pipewire ? "pipewire" : "pa";
    case VM_AUDIO_PA:
        return "pa";
    case VM_AUDIO_ALSA:
        return "alsa";
    }
    return "none";
}

static int build_audio(struct build *b)
{
    const struct vm_profile *p = b->p;
    if (!p->audio.present)
        return 0;
    const char *dev = or_default(p->audio.device, "hda");
    cleanup_opt struct opt o = {0};
    opt_addf(&o, "%s,id=snd0", qemu_audiodev_driver(p->audio.backend, b->h->audio_pipewire));
    if (push_opt(b, "-audiodev", &o) < 0)
        return -ENOMEM;
    if (strcmp(dev, "hda") == 0) {
        if (push2(b, "-device", "ich9-intel-hda,id=sound0") < 0 ||
            push2(b, "-device", "hda-duplex,audiodev=snd0,bus=sound0.0") < 0)
            return -ENOMEM;
        return 0;
    }
    if (strcmp(dev, "usb") == 0)
        return push2(b, "-device", "usb-audio,audiodev=snd0,bus=xhci.0");
    if (strcmp(dev, "ac97") == 0)
        return push2(b, "-device", "AC97,audiodev=snd0");
    return vmrun_failx(b->err, EINVAL,
                       "audio.device \"%s\" is not one of \"hda\", \"usb\", \"ac97\"", dev);
}

static int build_display(struct build *b)
{
    enum vm_display d = b->p->display;
    /* -nodefaults leaves the VM without a graphics adapter: a window or a
     * remote display gets a standard VGA next to any passed-through GPU;
     * "none" gets nothing (a GPU, Looking Glass or the serial console). */
    switch (d) {
    case VM_DISPLAY_NONE:
        return push2(b, "-display", "none");
    case VM_DISPLAY_GTK:
    case VM_DISPLAY_SDL:
        if (push2(b, "-display", d == VM_DISPLAY_GTK ? "gtk" : "sdl") < 0)
            return -ENOMEM;
        break;
    case VM_DISPLAY_SPICE:
    case VM_DISPLAY_VNC: {
        /* A unix socket in the VM's user directory, which only QEMU's user
         * can enter (priv/user_dir.h): no password is involved, and none
         * could be; nobody else can connect. From afar: an SSH tunnel to
         * the socket. */
        const char *sock = b->h->console_socket;
        if (sock == NULL)
            return vmrun_failx(b->err, EINVAL, "no socket was prepared for the %s display",
                               d == VM_DISPLAY_VNC ? "VNC" : "SPICE");
        if (check_value(b, "display", sock) < 0)
            return -EINVAL;
        if (strchr(sock, ',') != NULL)
            return vmrun_failx(b->err, EINVAL, "display: the socket path %s has a comma", sock);
        cleanup_opt struct opt o = {0};
        if (d == VM_DISPLAY_VNC) {
            opt_addf(&o, "unix:%s", sock);
        } else {
            opt_addf(&o, "unix=on");
            opt_kv(&o, "addr", sock);
            opt_addf(&o, "disable-ticketing=on");
        }
        if (push2(b, "-display", "none") < 0 ||
            push_opt(b, d == VM_DISPLAY_VNC ? "-vnc" : "-spice", &o) < 0)
            return -ENOMEM;
        break;
    }
    }
    return push2(b, "-device", "VGA,id=video0");
}

static uint64_t looking_glass_bytes(const struct vm_profile *p)
{
    if (p->looking_glass.size != 0)
        return p->looking_glass.size;
    return profile_looking_glass_size(p->looking_glass.width, p->looking_glass.height);
}

static int build_looking_glass(struct build *b)
{
    const struct vm_profile *p = b->p;
    if (!p->looking_glass.present)
        return 0;
    const char *dev = or_default(p->looking_glass.device, "/dev/kvmfr0");
    const char *path = dev;
    if (strcmp(dev, "shm") == 0) {
        path = b->h->looking_glass_shm;
        if (path == NULL)
            return vmrun_failx(b->err, EINVAL, "no file was prepared for Looking Glass");
    }
    if (check_value(b, "looking_glass.device", path) < 0)
        return -EINVAL;
    char size[32];
    if (format_size(b, "the Looking Glass memory", looking_glass_bytes(p), size, sizeof(size)) < 0)
        return -EINVAL;
    cleanup_opt struct opt o = {0};
    opt_addf(&o, "memory-backend-file,id=lg,share=on");
    opt_kv(&o, "mem-path", path);
    opt_addf(&o, "size=%s", size);
    if (push_opt(b, "-object", &o) < 0 || push2(b, "-device", "ivshmem-plain,id=lg0,memdev=lg") < 0)
        return -ENOMEM;
    return 0;
}

/* An emulated TPM 2.0: swtpm runs beside QEMU and QEMU reaches it through
 * a socket it inherits (no socket file); tpm-crb is what Windows 11 and
 * libvirt default to, tpm-tis the older interface. */
static int build_tpm(struct build *b)
{
    const struct vm_profile *p = b->p;
    if (!p->tpm.present)
        return 0;
    if (b->h->tpm_fd < 0)
        return vmrun_failx(b->err, EINVAL, "the profile has a TPM but no swtpm was prepared");
    cleanup_opt struct opt o = {0};
    opt_addf(&o, "socket,id=chrtpm,fd=%d", b->h->tpm_fd);
    if (push_opt(b, "-chardev", &o) < 0 ||
        push2(b, "-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm") < 0)
        return -ENOMEM;
    opt_addf(&o, "%s,tpmdev=tpm-tpm0,id=tpm0", p->tpm.model == VM_TPM_TIS ? "tpm-tis" : "tpm-crb");
    return push_opt(b, "-device", &o);
}

static int build_serial(struct build *b)
{
    cleanup_opt struct opt o = {0};
    switch (b->p->serial) {
    case VM_SERIAL_NONE:
        return 0; /* -nodefaults: no serial port at all */
    case VM_SERIAL_LOG: {
        char ref[PATH_MAX];
        if (check_value(b, "the serial log path", b->h->serial_log) < 0 ||
            file_ref(b, QEMU_FILE_SERIAL_LOG, 0, b->h->serial_log, true, ref, sizeof(ref)) < 0)
            return -EINVAL;
        opt_addf(&o, "file,id=ser0");
        opt_kv(&o, "path", ref);
        break;
    }
    case VM_SERIAL_STDIO:
        /* signal=off: Ctrl-C goes to the supervisor, which stops the guest
         * in order, instead of killing QEMU. */
        opt_addf(&o, "stdio,id=ser0,signal=off");
        break;
    }
    if (push_opt(b, "-chardev", &o) < 0 || push2(b, "-serial", "chardev:ser0") < 0)
        return -ENOMEM;
    return 0;
}

int qemu_build_argv(const struct vm_profile *p, const struct vm_host_facts *h,
                    struct argv_list *out, struct vmrun_error *err)
{
    struct argv_list a = {0};
    struct build b = {.p = p, .h = h, .a = &a, .err = err, .kvm = p->qemu.accel == VM_ACCEL_KVM};
    int (*const steps[])(struct build *) = {
        build_head,   build_machine, build_cpu,     build_identity,      build_memory,
        build_boot,
        build_clock,  build_pci,     build_disks,   build_nets,          build_usb,
        build_inputs, build_audio,   build_display, build_looking_glass, build_tpm,
        build_serial,
    };
    int r = 0;
    if (h->files_err < 0)
        r = vmrun_failx(err, E2BIG, "the profile names more files than QEMU can be handed (%d)",
                        VM_HOST_FILES_MAX);
    for (size_t i = 0; i < ARRAY_SIZE(steps) && r == 0; i++)
        r = steps[i](&b);
    /* Last: the user's own additions come after everything vmrun wrote. */
    for (size_t i = 0; i < p->qemu.n_extra_args && r == 0; i++)
        r = push(&b, p->qemu.extra_args[i]);
    if (r < 0) {
        argv_list_free(&a);
        return r;
    }
    *out = a;
    return 0;
}
