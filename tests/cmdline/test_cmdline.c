/* Unit tests of the QEMU command-line builder (launcher/cmdline*.c): each
 * piece of the argv from a profile filled in C and fixed host facts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qemu/cmdline.h"

/* A small valid profile: KVM, host CPU, 2x2 vCPUs, 4 GiB of plain RAM, no
 * devices, no display, no serial. Each test changes what it is about. */
static void base_profile(struct vm_profile *p)
{
    memset(p, 0, sizeof(*p));
    strcpy(p->name, "t");
    p->qemu.accel = VM_ACCEL_KVM;
    p->cpu.sockets = 1;
    p->cpu.cores = 2;
    p->cpu.threads = 2;
    p->memory.size = UINT64_C(4) << 30;
    p->memory.numa_node = -1;
    p->display = VM_DISPLAY_NONE;
    p->serial = VM_SERIAL_NONE;
}

static const struct vm_host_facts base_facts = {
    .runtime_dir = "/run/vmrun/t",
    .qmp_fd = 3,
    .serial_log = "/run/vmrun/t/serial.log",
    .tpm_fd = -1,
};

struct built {
    struct argv_list a;
    struct vmrun_error err;
    int r;
};

static struct built build(const struct vm_profile *p, const struct vm_host_facts *h)
{
    struct built b = {0};
    b.r = qemu_build_argv(p, h, &b.a, &b.err);
    if (b.r == 0) {
        assert_non_null(b.a.v);
        assert_null(b.a.v[b.a.n]);
    }
    return b;
}

static struct built build_ok(const struct vm_profile *p, const struct vm_host_facts *h)
{
    struct built b = build(p, h);
    if (b.r != 0)
        fail_msg("qemu_build_argv failed: %s", b.err.msg);
    return b;
}

/* The build must fail with EINVAL and a message containing want. */
static void build_fails(const struct vm_profile *p, const struct vm_host_facts *h, const char *want)
{
    struct built b = build(p, h);
    assert_int_equal(b.r, -EINVAL);
    assert_null(b.a.v);
    if (strstr(b.err.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", b.err.msg, want);
}

/* Index of the pair (option, value) in argv, -1 when absent. */
static ssize_t find_pair(const struct argv_list *a, const char *opt, const char *value)
{
    for (size_t i = 1; i + 1 < a->n; i++)
        if (strcmp(a->v[i], opt) == 0 && strcmp(a->v[i + 1], value) == 0)
            return (ssize_t)i;
    return -1;
}

static void assert_pair(const struct argv_list *a, const char *opt, const char *value)
{
    if (find_pair(a, opt, value) < 0) {
        for (size_t i = 0; i < a->n; i++)
            fprintf(stderr, "  argv[%zu] = %s\n", i, a->v[i]);
        fail_msg("argv lacks %s %s", opt, value);
    }
}

static size_t count_arg(const struct argv_list *a, const char *s)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        n += strcmp(a->v[i], s) == 0;
    return n;
}

/* Does any element contain sub? */
static bool any_contains(const struct argv_list *a, const char *sub)
{
    for (size_t i = 0; i < a->n; i++)
        if (strstr(a->v[i], sub) != NULL)
            return true;
    return false;
}

static void test_escape_value(void **state)
{
    (void)state;
    char buf[32] = "file=";
    assert_int_equal(qemu_escape_value(buf, sizeof(buf), "/a,b,,c"), 0);
    assert_string_equal(buf, "file=/a,,b,,,,c");

    char small[8] = "";
    assert_int_equal(qemu_escape_value(small, sizeof(small), "abc,d"), 0);
    assert_string_equal(small, "abc,,d"); /* 6 + NUL fits in 8 */
    char tiny[6] = "";
    assert_int_equal(qemu_escape_value(tiny, sizeof(tiny), "abc,d"), -ENOSPC);
}

static void test_head(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    struct built b = build_ok(&p, &base_facts);
    const char *want[] = {
        "qemu-system-x86_64",
        "-name",
        "t,debug-threads=on",
        "-nodefaults",
        "-no-user-config",
        "-S",
        "-chardev",
        "socket,id=qmp,fd=3",
        "-qmp",
        "chardev:qmp",
    };
    assert_true(b.a.n > sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(b.a.v[i], want[i]);
    assert_pair(&b.a, "-machine", "q35,vmport=off,hpet=off");
    assert_pair(&b.a, "-smp", "4,sockets=1,cores=2,threads=2");
    assert_pair(&b.a, "-m", "4G");
    assert_pair(&b.a, "-display", "none");
    assert_int_equal(count_arg(&b.a, "-sandbox"), 0);
    assert_int_equal(count_arg(&b.a, "-serial"), 0);
    assert_false(any_contains(&b.a, "VGA"));
    argv_list_free(&b.a);
}

static void test_kvm_vs_tcg(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-accel", "kvm,kernel-irqchip=on");
    assert_pair(&b.a, "-global", "kvm-pit.lost_tick_policy=delay");
    assert_pair(&b.a, "-rtc", "base=localtime,driftfix=slew");
    assert_pair(&b.a, "-global", "ICH9-LPC.disable_s3=1");
    assert_pair(&b.a, "-global", "ICH9-LPC.disable_s4=1");
    assert_pair(&b.a, "-cpu", "host,topoext=on,host-cache-info=on");
    argv_list_free(&b.a);

    p.qemu.accel = VM_ACCEL_TCG;
    build_fails(&p, &base_facts, "cpu.model \"host\" needs qemu.accel \"kvm\"");
    p.cpu.model = (char *)"max";
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-accel", "tcg");
    assert_pair(&b.a, "-cpu", "max");
    assert_pair(&b.a, "-rtc", "base=utc");
    assert_false(any_contains(&b.a, "kernel-irqchip"));
    assert_false(any_contains(&b.a, "kernel_irqchip"));
    assert_false(any_contains(&b.a, "kvm-pit"));
    assert_pair(&b.a, "-global", "ICH9-LPC.disable_s3=1");
    argv_list_free(&b.a);
}

static void test_cpu_hyperv(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.cpu.sockets = 1;
    p.cpu.cores = 6;
    p.cpu.threads = 2;
    p.cpu.hyperv = true;
    p.cpu.hide_hypervisor = true;
    p.cpu.vendor_id = (char *)"vmrunvendor";
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-cpu",
                "host,topoext=on,host-cache-info=on,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,"
                "hv-vpindex,hv-synic,hv-stimer,hv-reset,hv-frequencies,hv-time,"
                "hv-vendor-id=vmrunvendor,kvm=off");
    assert_pair(&b.a, "-smp", "12,sockets=1,cores=6,threads=2");
    argv_list_free(&b.a);

    /* -cpu splits features on every ',': no way to write one in a value. */
    p.cpu.vendor_id = (char *)"ab,cd";
    build_fails(&p, &base_facts, "cpu.vendor_id \"ab,cd\" cannot be given to QEMU");
    p.cpu.vendor_id = (char *)"thirteenchars";
    build_fails(&p, &base_facts, "1 to 12 characters");
    p.cpu.vendor_id = (char *)"ok";
    p.cpu.hyperv = false;
    build_fails(&p, &base_facts, "needs cpu.hyperv true");

    p.cpu.vendor_id = NULL;
    p.cpu.hyperv = true;
    p.qemu.accel = VM_ACCEL_TCG;
    p.cpu.model = (char *)"max";
    build_fails(&p, &base_facts, "cpu.hyperv needs qemu.accel \"kvm\"");
    p.cpu.hyperv = false;
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-cpu", "max,kvm=off"); /* hidden hypervisor works with TCG */
    argv_list_free(&b.a);

    p.cpu.model = (char *)"host,+foo";
    build_fails(&p, &base_facts, "cpu.model \"host,+foo\" cannot be given to QEMU");
    p.cpu.model = (char *)"max";
    p.cpu.cores = 0;
    build_fails(&p, &base_facts, "cpu topology");
}

static void test_memory(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.memory.size = UINT64_C(16) << 30;
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-m", "16G");
    assert_pair(&b.a, "-machine", "q35,vmport=off,hpet=off");
    assert_false(any_contains(&b.a, "memory-backend"));
    argv_list_free(&b.a);

    /* Hugepages: the file vmrun prepared backs all of guest RAM. */
    p.memory.hugepage_kb = 2048;
    struct vm_host_facts h = base_facts;
    build_fails(&p, &h, "no hugepage file was prepared");
    h.memory_file = "/dev/hugepages/vmrun-t,1";
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-m", "16G");
    assert_pair(&b.a, "-machine", "q35,vmport=off,hpet=off,memory-backend=mem");
    assert_pair(&b.a, "-object",
                "memory-backend-file,id=mem,mem-path=/dev/hugepages/vmrun-t,,1,size=16G,"
                "share=on,prealloc=off");
    argv_list_free(&b.a);

    p.memory.size = UINT64_C(1536) << 20;
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-m", "1536M");
    argv_list_free(&b.a);
    p.memory.size = (UINT64_C(1) << 30) + 1;
    build_fails(&p, &h, "not a whole number of MiB");
}

static void test_firmware_and_boot(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.firmware.code = (char *)"/usr/share/OVMF/OVMF_CODE_4M.fd";
    p.firmware.vars_template = (char *)"/usr/share/OVMF/OVMF_VARS_4M.fd";
    struct vm_host_facts h = base_facts;
    h.firmware_code = p.firmware.code;
    build_fails(&p, &h, "no per-VM copy");
    h.ovmf_vars = "/run/vmrun/t/OVMF_VARS.fd";
    struct built b = build_ok(&p, &h);
    ssize_t code =
        find_pair(&b.a, "-drive",
                  "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
    ssize_t vars =
        find_pair(&b.a, "-drive", "if=pflash,format=raw,unit=1,file=/run/vmrun/t/OVMF_VARS.fd");
    assert_true(code > 0 && vars > code);
    assert_pair(&b.a, "-boot", "menu=on");
    assert_false(any_contains(&b.a, "OVMF_VARS_4M")); /* never the shared template */
    argv_list_free(&b.a);

    base_profile(&p);
    b = build_ok(&p, &base_facts);
    assert_false(any_contains(&b.a, "pflash"));
    assert_int_equal(count_arg(&b.a, "-boot"), 0);
    argv_list_free(&b.a);

    /* Direct kernel boot: values passed whole, commas and all. */
    p.boot.kernel = (char *)"/boot/vmlinuz";
    p.boot.initrd = (char *)"/boot/initrd.img";
    p.boot.cmdline = (char *)"console=ttyS0,115200 quiet";
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-kernel", "/boot/vmlinuz");
    assert_pair(&b.a, "-initrd", "/boot/initrd.img");
    assert_pair(&b.a, "-append", "console=ttyS0,115200 quiet");
    argv_list_free(&b.a);
    p.boot.kernel = NULL;
    build_fails(&p, &base_facts, "boot.initrd needs boot.kernel");
}

/* A Secure Boot build: SMM on the machine, the variables writable only
 * from SMM, formats as the descriptor says. */
static void test_secure_boot_firmware(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.firmware.type = VM_FIRMWARE_UEFI;
    p.firmware.secure_boot = p.firmware.enrolled_keys = true;
    /* Without a chosen build the builder refuses rather than boot SeaBIOS. */
    build_fails(&p, &base_facts, "no UEFI firmware was chosen");

    struct vm_host_facts h = base_facts;
    h.firmware_code = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd";
    h.firmware_code_format = "raw";
    h.firmware_vars_format = "qcow2";
    h.ovmf_vars = "/var/lib/vmrun/t/OVMF_VARS.fd";
    h.smm = h.secure_flash = true;
    struct built b = build_ok(&p, &h);
    ssize_t machine = find_pair(&b.a, "-machine", "q35,vmport=off,hpet=off,smm=on");
    ssize_t code = find_pair(
        &b.a, "-drive",
        "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
    ssize_t vars =
        find_pair(&b.a, "-drive", "if=pflash,format=qcow2,unit=1,file=/var/lib/vmrun/t/OVMF_VARS.fd");
    ssize_t secure = find_pair(&b.a, "-global", "driver=cfi.pflash01,property=secure,value=on");
    assert_true(machine > 0 && code > machine && vars > code && secure > vars);
    argv_list_free(&b.a);

    /* SMM without the secure flash (a build that needs SMM for itself). */
    h.secure_flash = false;
    b = build_ok(&p, &h);
    assert_true(find_pair(&b.a, "-machine", "q35,vmport=off,hpet=off,smm=on") > 0);
    assert_false(any_contains(&b.a, "cfi.pflash01"));
    argv_list_free(&b.a);

    /* A secure flash without SMM would lock the variables for nobody. */
    h.smm = false;
    h.secure_flash = true;
    build_fails(&p, &h, "a secure flash needs SMM");

    /* No SMM asked for: the machine says nothing about it. */
    h.secure_flash = false;
    b = build_ok(&p, &h);
    assert_false(any_contains(&b.a, "smm="));
    argv_list_free(&b.a);
}

static void test_tpm(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    struct built b = build_ok(&p, &base_facts);
    assert_false(any_contains(&b.a, "tpm"));
    argv_list_free(&b.a);

    p.tpm.present = true;
    build_fails(&p, &base_facts, "no swtpm was prepared");
    struct vm_host_facts h = base_facts;
    h.tpm_fd = 4;
    b = build_ok(&p, &h);
    ssize_t chr = find_pair(&b.a, "-chardev", "socket,id=chrtpm,fd=4");
    ssize_t dev = find_pair(&b.a, "-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm");
    ssize_t front = find_pair(&b.a, "-device", "tpm-crb,tpmdev=tpm-tpm0,id=tpm0");
    assert_true(chr > 0 && dev > chr && front > dev);
    argv_list_free(&b.a);

    p.tpm.model = VM_TPM_TIS;
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-device", "tpm-tis,tpmdev=tpm-tpm0,id=tpm0");
    argv_list_free(&b.a);
}

static void add_pci(struct vm_profile *p, unsigned bus, unsigned slot, unsigned func)
{
    p->pci = realloc(p->pci, (p->n_pci + 1) * sizeof(*p->pci));
    assert_non_null(p->pci);
    struct vm_pci *d = &p->pci[p->n_pci++];
    memset(d, 0, sizeof(*d));
    snprintf(d->address, sizeof(d->address), "0000:%02x:%02x.%x", bus, slot, func);
    d->bus = bus;
    d->slot = slot;
    d->func = func;
    d->bootindex = -1;
}

static void test_pci_multifunction(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    /* A GPU's four functions, listed out of order around another device. */
    add_pci(&p, 1, 0, 2);
    add_pci(&p, 1, 0, 0);
    add_pci(&p, 3, 0, 0);
    add_pci(&p, 1, 0, 3);
    add_pci(&p, 1, 0, 1);
    p.pci[1].rom = (char *)"/var/lib/vmrun/gpu,patched.rom";
    p.pci[2].bootindex = 1;
    struct built b = build_ok(&p, &base_facts);

    ssize_t rp1 = find_pair(&b.a, "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1");
    ssize_t f0 = find_pair(&b.a, "-device",
                           "vfio-pci,host=0000:01:00.0,bus=rp1,addr=00.0,multifunction=on,"
                           "romfile=/var/lib/vmrun/gpu,,patched.rom");
    ssize_t f1 = find_pair(&b.a, "-device", "vfio-pci,host=0000:01:00.1,bus=rp1,addr=00.1");
    ssize_t f2 = find_pair(&b.a, "-device", "vfio-pci,host=0000:01:00.2,bus=rp1,addr=00.2");
    ssize_t f3 = find_pair(&b.a, "-device", "vfio-pci,host=0000:01:00.3,bus=rp1,addr=00.3");
    ssize_t rp2 = find_pair(&b.a, "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2");
    ssize_t nvme =
        find_pair(&b.a, "-device", "vfio-pci,host=0000:03:00.0,bus=rp2,addr=00.0,bootindex=1");
    if (!(rp1 > 0 && f0 > rp1 && f1 > f0 && f2 > f1 && f3 > f2 && rp2 > f3 && nvme > rp2)) {
        for (size_t i = 0; i < b.a.n; i++)
            fprintf(stderr, "  %s\n", b.a.v[i]);
        fail_msg("pci layout wrong: %zd %zd %zd %zd %zd %zd %zd", rp1, f0, f1, f2, f3, rp2, nvme);
    }
    assert_int_equal(count_arg(&b.a, "-device"), 7);
    argv_list_free(&b.a);
    free(p.pci);

    /* Same slot on another bus or domain is another device. */
    base_profile(&p);
    add_pci(&p, 1, 0, 0);
    add_pci(&p, 2, 0, 0);
    p.pci[1].domain = 1;
    snprintf(p.pci[1].address, sizeof(p.pci[1].address), "0001:02:00.0");
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-device", "vfio-pci,host=0000:01:00.0,bus=rp1,addr=00.0");
    assert_pair(&b.a, "-device", "vfio-pci,host=0001:02:00.0,bus=rp2,addr=00.0");
    argv_list_free(&b.a);
    free(p.pci);

    /* Functions without their function 0 (an AMD CPU's USB controller at
     * .3) become function 0 of a root port each, as under libvirt. */
    base_profile(&p);
    add_pci(&p, 0x0c, 0, 3);
    add_pci(&p, 0x0c, 0, 4);
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1");
    assert_pair(&b.a, "-device", "vfio-pci,host=0000:0c:00.3,bus=rp1,addr=00.0");
    assert_pair(&b.a, "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2");
    assert_pair(&b.a, "-device", "vfio-pci,host=0000:0c:00.4,bus=rp2,addr=00.0");
    argv_list_free(&b.a);
    free(p.pci);

    base_profile(&p);
    add_pci(&p, 1, 0, 1);
    add_pci(&p, 1, 0, 0);
    add_pci(&p, 1, 0, 1);
    build_fails(&p, &base_facts, "0000:01:00.1 is listed twice");
    free(p.pci);
}

static void add_disk(struct vm_profile *p, const char *path, enum vm_disk_bus bus,
                     enum vm_disk_media media)
{
    p->disks = realloc(p->disks, (p->n_disks + 1) * sizeof(*p->disks));
    assert_non_null(p->disks);
    struct vm_disk *d = &p->disks[p->n_disks++];
    memset(d, 0, sizeof(*d));
    d->path = (char *)path;
    d->bus = bus;
    d->media = media;
    d->bootindex = -1;
}

static void test_disks(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    add_disk(&p, "/vm/win,1.qcow2", VM_BUS_VIRTIO, VM_MEDIA_DISK);
    p.disks[0].format = VM_DISK_QCOW2;
    p.disks[0].cache = (char *)"none";
    p.disks[0].aio = (char *)"native";
    p.disks[0].discard = (char *)"unmap";
    p.disks[0].iothread = true;
    p.disks[0].bootindex = 1;
    add_disk(&p, "/iso/win11.iso", VM_BUS_SATA, VM_MEDIA_CDROM);
    add_disk(&p, "/iso/virtio-win.iso", VM_BUS_SATA, VM_MEDIA_CDROM);
    add_disk(&p, "/vm/data.img", VM_BUS_SCSI, VM_MEDIA_DISK);
    p.disks[3].iothread = true;
    add_disk(&p, "/vm/scratch.img", VM_BUS_SCSI, VM_MEDIA_DISK);
    add_disk(&p, "/vm/fast.img", VM_BUS_NVME, VM_MEDIA_DISK);
    p.disks[5].readonly = true;
    struct built b = build_ok(&p, &base_facts);

    assert_int_equal(count_arg(&b.a, "iothread,id=io0"), 1);
    assert_pair(&b.a, "-drive",
                "if=none,id=drive0,file=/vm/win,,1.qcow2,format=qcow2,cache=none,aio=native,"
                "discard=unmap");
    assert_pair(&b.a, "-device", "virtio-blk-pci,drive=drive0,id=disk0,iothread=io0,bootindex=1");
    assert_pair(&b.a, "-drive",
                "if=none,id=drive1,file=/iso/win11.iso,format=raw,media=cdrom,readonly=on");
    assert_pair(&b.a, "-device", "ide-cd,bus=ide.0,drive=drive1,id=disk1");
    assert_pair(&b.a, "-device", "ide-cd,bus=ide.1,drive=drive2,id=disk2");
    assert_pair(&b.a, "-device", "virtio-scsi-pci,id=scsi0");
    assert_pair(&b.a, "-device", "virtio-scsi-pci,id=scsi1,iothread=io0");
    assert_pair(&b.a, "-device", "scsi-hd,bus=scsi1.0,drive=drive3,id=disk3");
    assert_pair(&b.a, "-device", "scsi-hd,bus=scsi0.0,drive=drive4,id=disk4");
    assert_pair(&b.a, "-drive", "if=none,id=drive5,file=/vm/fast.img,format=raw,readonly=on");
    assert_pair(&b.a, "-device", "nvme,drive=drive5,id=disk5,serial=vmrun-disk5");
    /* The iothread exists before anything uses it. */
    assert_true(find_pair(&b.a, "-object", "iothread,id=io0") <
                find_pair(&b.a, "-device", "virtio-scsi-pci,id=scsi1,iothread=io0"));
    argv_list_free(&b.a);

    /* No iothread object or SCSI controller when nothing needs one. */
    p.n_disks = 1;
    p.disks[0].iothread = false;
    b = build_ok(&p, &base_facts);
    assert_false(any_contains(&b.a, "iothread"));
    assert_false(any_contains(&b.a, "virtio-scsi-pci"));
    argv_list_free(&b.a);

    p.disks[0].cache = (char *)"writeback";
    build_fails(&p, &base_facts, "aio \"native\" needs cache \"none\"");
    p.disks[0].aio = NULL;
    p.disks[0].media = VM_MEDIA_CDROM;
    build_fails(&p, &base_facts, "a cdrom needs bus");
    p.disks[0].media = VM_MEDIA_DISK;
    /* "vm:1.img" would be read as protocol "vm": cannot be expressed. */
    p.disks[0].path = (char *)"vm:1.img";
    build_fails(&p, &base_facts, "would be read by QEMU as a protocol");
    p.disks[0].path = (char *)"./vm:1.img";
    b = build_ok(&p, &base_facts);
    argv_list_free(&b.a);
    p.disks[0].path = (char *)"";
    build_fails(&p, &base_facts, "disks[0].path is empty");
    p.disks[0].path = (char *)"/a";
    p.disks[0].bus = VM_BUS_NVME;
    p.disks[0].iothread = true;
    build_fails(&p, &base_facts, "iothread is only for virtio and scsi disks");
    free(p.disks);

    base_profile(&p);
    for (int i = 0; i < 7; i++)
        add_disk(&p, "/iso/x.iso", VM_BUS_SATA, VM_MEDIA_CDROM);
    build_fails(&p, &base_facts, "disks[6]: q35 has 6 SATA ports");
    free(p.disks);
}

static void test_network(void **state)
{
    (void)state;
    struct vm_net nets[3] = {
        {.type = VM_NET_USER},
        {.type = VM_NET_BRIDGE, .bridge = (char *)"br0", .mac = (char *)"52:54:00:12:34:56"},
        {.type = VM_NET_TAP, .tap = (char *)"tap-vm", .model = (char *)"e1000e"},
    };
    struct vm_profile p;
    base_profile(&p);
    p.nets = nets;
    p.n_nets = 3;
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-netdev", "user,id=net0");
    assert_pair(&b.a, "-device", "virtio-net-pci,netdev=net0,id=nic0");
    assert_pair(&b.a, "-netdev", "bridge,id=net1,br=br0");
    assert_pair(&b.a, "-device", "virtio-net-pci,netdev=net1,id=nic1,mac=52:54:00:12:34:56");
    assert_pair(&b.a, "-netdev", "tap,id=net2,ifname=tap-vm,script=no,downscript=no,vhost=on");
    assert_pair(&b.a, "-device", "e1000e,netdev=net2,id=nic2");
    argv_list_free(&b.a);

    p.qemu.accel = VM_ACCEL_TCG;
    p.cpu.model = (char *)"qemu64";
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-netdev", "tap,id=net2,ifname=tap-vm,script=no,downscript=no");
    argv_list_free(&b.a);

    /* The taps vmrun opens (host/net/tap.h): numbered after the TPM's fd,
     * a "user" network none; QEMU gets fd= and runs no helper, so the
     * sandbox may deny spawning. */
    p.qemu.accel = VM_ACCEL_KVM;
    p.cpu.model = NULL;
    p.tpm.present = true;
    struct vm_host_facts h;
    struct vm_host_facts_storage st;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    assert_int_equal(h.net_fd[0], 0);
    assert_int_equal(h.net_fd[1], h.tpm_fd + 1);
    assert_int_equal(h.net_fd[2], h.tpm_fd + 2);
    h.sandbox = true;
    b = build_ok(&p, &h);
    char want[64];
    snprintf(want, sizeof(want), "tap,id=net1,fd=%d", h.net_fd[1]);
    assert_pair(&b.a, "-netdev", want);
    snprintf(want, sizeof(want), "tap,id=net2,fd=%d,vhost=on", h.net_fd[2]);
    assert_pair(&b.a, "-netdev", want);
    assert_pair(&b.a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                                  "resourcecontrol=deny");
    argv_list_free(&b.a);
    p.tpm.present = false;

    /* A model with '=' would become a key: refused. */
    nets[2].model = (char *)"e1000e,netdev=x";
    build_fails(&p, &base_facts, "nets[].model \"e1000e,netdev=x\" cannot be given to QEMU");
}

static void test_usb_input_audio(void **state)
{
    (void)state;
    struct vm_usb usb[2] = {{.vendor = 0x046d, .product = 0xc52b},
                            {.vendor = 0x1532, .product = 0x0084}};
    struct vm_input in[2] = {
        {.evdev = (char *)"/dev/input/by-id/usb-Logitech-event-kbd"},
        {.evdev = (char *)"/dev/input/by-id/mouse,1", .grab_toggle = (char *)"scrolllock"},
    };
    struct vm_profile p;
    base_profile(&p);
    p.usb = usb;
    p.n_usb = 2;
    p.inputs = in;
    p.n_inputs = 2;
    p.audio.present = true;
    p.audio.backend = VM_AUDIO_PIPEWIRE;
    /* Inputs need the descriptors of their virtual devices. */
    build_fails(&p, &base_facts, "input[0]: no descriptor for its virtual device");
    struct vm_host_facts facts = base_facts;
    facts.input_fd[0] = 11;
    facts.input_fd[1] = 12;
    struct built b = build_ok(&p, &facts);
    /* Every port QEMU's xHCI has; the devices are not on the command line:
     * vmrun plugs them in over QMP. */
    assert_pair(&b.a, "-device", "qemu-xhci,id=xhci,p2=15,p3=15");
    assert_false(any_contains(&b.a, "usb-host"));
    /* QEMU reads the virtual devices, never the paths the profile names;
     * the hotkey is vmrun's, not QEMU's grab-toggle. */
    assert_pair(&b.a, "-object", "input-linux,id=input0,evdev=/proc/self/fd/11,repeat=on");
    assert_pair(&b.a, "-object", "input-linux,id=input1,evdev=/proc/self/fd/12,repeat=on");
    assert_false(any_contains(&b.a, "grab"));
    assert_false(any_contains(&b.a, "/dev/input"));
    /* No VNC in QEMU: no LED channel. */
    assert_false(any_contains(&b.a, "-vnc"));
    /* QEMU 7.2 has no pipewire driver: PipeWire's PulseAudio server. */
    assert_pair(&b.a, "-audiodev", "pa,id=snd0");
    assert_pair(&b.a, "-device", "ich9-intel-hda,id=sound0");
    assert_pair(&b.a, "-device", "hda-duplex,audiodev=snd0,bus=sound0.0");
    argv_list_free(&b.a);
    /* A QEMU with its own (8.1 and later): that one. */
    struct vm_host_facts pw = facts;
    pw.audio_pipewire = true;
    b = build_ok(&p, &pw);
    assert_pair(&b.a, "-audiodev", "pipewire,id=snd0");
    argv_list_free(&b.a);

    facts.input_leds = true;
    b = build_ok(&p, &facts);
    assert_pair(&b.a, "-vnc", "none");
    argv_list_free(&b.a);
    /* The profile's own VNC display serves the LEDs too. */
    p.display = VM_DISPLAY_VNC;
    facts.console_socket = "/run/vmrun/.user/t/vnc.sock";
    b = build_ok(&p, &facts);
    size_t vncs = 0;
    for (size_t i = 0; i < b.a.n; i++)
        vncs += strcmp(b.a.v[i], "-vnc") == 0;
    assert_int_equal(vncs, 1);
    argv_list_free(&b.a);
    p.display = VM_DISPLAY_NONE;
    facts.console_socket = NULL;

    p.n_usb = 0;
    p.audio.backend = VM_AUDIO_ALSA;
    p.audio.device = (char *)"usb";
    b = build_ok(&p, &facts);
    assert_pair(&b.a, "-audiodev", "alsa,id=snd0");
    /* usb-audio needs the controller */
    assert_pair(&b.a, "-device", "qemu-xhci,id=xhci,p2=15,p3=15");
    assert_pair(&b.a, "-device", "usb-audio,audiodev=snd0,bus=xhci.0");
    argv_list_free(&b.a);

    p.audio.device = (char *)"sb16";
    build_fails(&p, &facts, "audio.device \"sb16\"");
    p.audio.present = false;
    p.n_inputs = 0;
    b = build_ok(&p, &facts);
    assert_false(any_contains(&b.a, "-vnc"));
    assert_false(any_contains(&b.a, "xhci"));
    assert_false(any_contains(&b.a, "audiodev"));
    argv_list_free(&b.a);

    /* "usb": [] gives the controller alone, for devices given by hand. */
    p.usb_present = true;
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-device", "qemu-xhci,id=xhci,p2=15,p3=15");
    argv_list_free(&b.a);
}

static void test_display(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    /* VNC and SPICE: a unix socket in the VM's user directory, never a
     * TCP port (priv/user_dir.h). */
    p.display = VM_DISPLAY_SPICE;
    build_fails(&p, &base_facts, "no socket was prepared for the SPICE display");
    struct vm_host_facts h = base_facts;
    h.console_socket = "/run/vmrun/.user/t/spice.sock";
    struct built b = build_ok(&p, &h);
    assert_pair(&b.a, "-spice", "unix=on,addr=/run/vmrun/.user/t/spice.sock,disable-ticketing=on");
    assert_pair(&b.a, "-display", "none");
    assert_pair(&b.a, "-device", "VGA,id=video0");
    assert_false(any_contains(&b.a, "127.0.0.1"));
    argv_list_free(&b.a);
    p.display = VM_DISPLAY_VNC;
    h.console_socket = "/run/vmrun/.user/t/vnc.sock";
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-vnc", "unix:/run/vmrun/.user/t/vnc.sock");
    argv_list_free(&b.a);
    h.console_socket = "/run/vmrun/.user/a,b/vnc.sock";
    build_fails(&p, &h, "display");
    p.display = VM_DISPLAY_GTK;
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-display", "gtk");
    assert_pair(&b.a, "-device", "VGA,id=video0");
    argv_list_free(&b.a);
    p.display = VM_DISPLAY_SDL;
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-display", "sdl");
    argv_list_free(&b.a);
}

static void test_looking_glass(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.looking_glass.present = true;
    p.looking_glass.device = (char *)"/dev/kvmfr0";
    const struct {
        unsigned w, h;
        const char *size;
    } cases[] = {{1920, 1080, "32M"}, {2560, 1440, "64M"}, {3840, 2160, "128M"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p.looking_glass.width = cases[i].w;
        p.looking_glass.height = cases[i].h;
        struct built b = build_ok(&p, &base_facts);
        char want[128];
        snprintf(want, sizeof(want),
                 "memory-backend-file,id=lg,share=on,mem-path=/dev/kvmfr0,size=%s", cases[i].size);
        assert_pair(&b.a, "-object", want);
        assert_pair(&b.a, "-device", "ivshmem-plain,id=lg0,memdev=lg");
        argv_list_free(&b.a);
    }
    /* The parser's figure wins when it gave one. */
    p.looking_glass.size = UINT64_C(256) << 20;
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-object",
                "memory-backend-file,id=lg,share=on,mem-path=/dev/kvmfr0,"
                "size=256M");
    argv_list_free(&b.a);

    p.looking_glass.device = (char *)"shm";
    build_fails(&p, &base_facts, "no file was prepared for Looking Glass");
    struct vm_host_facts h = base_facts;
    h.looking_glass_shm = "/run/vmrun/.user/t/looking-glass";
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-object",
                "memory-backend-file,id=lg,share=on,"
                "mem-path=/run/vmrun/.user/t/looking-glass,size=256M");
    argv_list_free(&b.a);
}

static void test_serial(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    p.serial = VM_SERIAL_LOG;
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-chardev", "file,id=ser0,path=/run/vmrun/t/serial.log");
    assert_pair(&b.a, "-serial", "chardev:ser0");
    argv_list_free(&b.a);

    /* Ctrl-C must reach the supervisor, not QEMU's stdio chardev. */
    p.serial = VM_SERIAL_STDIO;
    b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-chardev", "stdio,id=ser0,signal=off");
    assert_pair(&b.a, "-serial", "chardev:ser0");
    assert_int_equal(find_pair(&b.a, "-serial", "stdio"), -1);
    argv_list_free(&b.a);
}

static void test_sandbox(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    struct vm_host_facts h = base_facts;
    h.sandbox = true;
    struct built b = build_ok(&p, &h);
    assert_pair(&b.a, "-sandbox",
                "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    argv_list_free(&b.a);

    /* A bridge network needs QEMU to spawn qemu-bridge-helper. */
    struct vm_net br = {.type = VM_NET_BRIDGE, .bridge = (char *)"br0"};
    p.nets = &br;
    p.n_nets = 1;
    b = build_ok(&p, &h);
    assert_pair(&b.a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,resourcecontrol=deny");
    argv_list_free(&b.a);
}

static void test_extra_args_last(void **state)
{
    (void)state;
    char *extra[] = {(char *)"-device", (char *)"edu"};
    struct vm_profile p;
    base_profile(&p);
    p.serial = VM_SERIAL_LOG;
    p.qemu.extra_args = extra;
    p.qemu.n_extra_args = 2;
    p.qemu.binary = (char *)"/opt/qemu/bin/qemu-system-x86_64";
    struct built b = build_ok(&p, &base_facts);
    assert_string_equal(b.a.v[0], "/opt/qemu/bin/qemu-system-x86_64");
    assert_string_equal(b.a.v[b.a.n - 2], "-device");
    assert_string_equal(b.a.v[b.a.n - 1], "edu");
    argv_list_free(&b.a);
}

static void test_rejects_names(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    strcpy(p.name, "a=b");
    build_fails(&p, &base_facts, "the VM name \"a=b\"");
    base_profile(&p);
    p.qemu.machine = (char *)"pc";
    build_fails(&p, &base_facts, "not a q35 machine type");
    p.qemu.machine = (char *)"pc-q35-7.2";
    struct built b = build_ok(&p, &base_facts);
    assert_pair(&b.a, "-machine", "pc-q35-7.2,vmport=off,hpet=off");
    argv_list_free(&b.a);
}

static char *print_to_string(const struct argv_list *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    qemu_print_argv(f, a);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_print_argv(void **state)
{
    (void)state;
    char *v[] = {(char *)"qemu-system-x86_64",
                 (char *)"-nodefaults",
                 (char *)"-S",
                 (char *)"-name",
                 (char *)"guest=t,debug-threads=on",
                 (char *)"-drive",
                 (char *)"file=/vm/it's here.img",
                 (char *)"-append",
                 (char *)"console=ttyS0 $HOME `x`",
                 (char *)"-empty",
                 (char *)"",
                 (char *)"-last",
                 NULL};
    struct argv_list a = {.v = v, .n = 12};
    char *text = print_to_string(&a);
    assert_string_equal(text, "qemu-system-x86_64 \\\n"
                              "    -nodefaults \\\n"
                              "    -S \\\n"
                              "    -name guest=t,debug-threads=on \\\n"
                              "    -drive 'file=/vm/it'\\''s here.img' \\\n"
                              "    -append 'console=ttyS0 $HOME `x`' \\\n"
                              "    -empty '' \\\n"
                              "    -last\n");
    free(text);

    /* "A=B" first would be an assignment, not the command. */
    char *w[] = {(char *)"/opt/a=b/qemu", NULL};
    struct argv_list one = {.v = w, .n = 1};
    text = print_to_string(&one);
    assert_string_equal(text, "'/opt/a=b/qemu'\n");
    free(text);
}

static void test_host_facts_default(void **state)
{
    (void)state;
    struct vm_profile p;
    base_profile(&p);
    strcpy(p.name, "gaming");
    struct vm_host_facts h;
    struct vm_host_facts_storage st;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    assert_string_equal(h.runtime_dir, "/run/vmrun/gaming");
    assert_int_equal(h.qmp_fd, 3);
    assert_string_equal(h.serial_log, "/var/lib/vmrun/gaming/serial.log");
    assert_null(h.memory_file);
    assert_null(h.ovmf_vars);
    assert_null(h.looking_glass_shm);
    assert_null(h.user_dir);
    assert_null(h.console_socket);
    assert_false(h.sandbox);

    p.memory.hugepage_kb = 2048;
    p.firmware.code = (char *)"/c.fd";
    p.firmware.vars_template = (char *)"/v.fd";
    p.looking_glass.present = true;
    p.looking_glass.device = (char *)"shm";
    vm_host_facts_default(&h, &st, &p, "/tmp/rt", "/tmp/st");
    assert_string_equal(h.runtime_dir, "/tmp/rt");
    assert_int_equal(h.qmp_fd, 3);
    assert_string_equal(h.serial_log, "/tmp/st/serial.log");
    assert_string_equal(h.memory_file, "/dev/hugepages/vmrun-gaming");
    assert_string_equal(h.ovmf_vars, "/tmp/st/OVMF_VARS.fd");
    assert_string_equal(h.user_dir, "/tmp/.user/gaming");
    assert_string_equal(h.looking_glass_shm, "/tmp/.user/gaming/looking-glass");
    assert_null(h.console_socket);
    p.display = VM_DISPLAY_VNC;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    assert_string_equal(h.looking_glass_shm, "/run/vmrun/.user/gaming/looking-glass");
    assert_string_equal(h.console_socket, "/run/vmrun/.user/gaming/vnc.sock");
    p.display = VM_DISPLAY_NONE;
    /* The build the profile names, as named; SMM follows secure_boot. */
    assert_string_equal(h.firmware_code, "/c.fd");
    assert_false(h.smm);
    assert_int_equal(h.tpm_fd, -1);
    p.tpm.present = true;
    p.firmware.secure_boot = true;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    /* swtpm's channel comes right after the files QEMU is handed. */
    int last = h.qmp_fd;
    for (size_t i = 0; i < h.n_files; i++)
        last = h.files[i].ro_fd > last ? h.files[i].ro_fd : h.files[i].fd > last ? h.files[i].fd : last;
    assert_true(h.n_files > 0);
    assert_int_equal(h.tpm_fd, last + 1);
    assert_true(h.smm && h.secure_flash);

    /* UEFI chosen from the descriptors: the choice fills the firmware in. */
    p.firmware.code = p.firmware.vars_template = NULL;
    p.firmware.type = VM_FIRMWARE_UEFI;
    vm_host_facts_default(&h, &st, &p, NULL, NULL);
    assert_null(h.firmware_code);
    assert_string_equal(h.ovmf_vars, "/var/lib/vmrun/gaming/OVMF_VARS.fd");
    struct firmware_choice c = {.uefi = true, .smm = true, .secure_flash = true};
    strcpy(c.code, "/fw/code.fd");
    strcpy(c.code_format, "raw");
    strcpy(c.vars_template, "/fw/vars.fd");
    strcpy(c.vars_format, "raw");
    vm_host_facts_set_firmware(&h, &st, &p, &c);
    assert_string_equal(h.firmware_code, "/fw/code.fd");
    assert_string_equal(h.ovmf_vars, "/var/lib/vmrun/gaming/OVMF_VARS.fd");
    assert_true(h.smm && h.secure_flash);
    c.uefi = false;
    vm_host_facts_set_firmware(&h, &st, &p, &c);
    assert_null(h.firmware_code);
    assert_null(h.ovmf_vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_value),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_kvm_vs_tcg),
        cmocka_unit_test(test_cpu_hyperv),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_firmware_and_boot),
        cmocka_unit_test(test_secure_boot_firmware),
        cmocka_unit_test(test_tpm),
        cmocka_unit_test(test_pci_multifunction),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_usb_input_audio),
        cmocka_unit_test(test_display),
        cmocka_unit_test(test_looking_glass),
        cmocka_unit_test(test_serial),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_extra_args_last),
        cmocka_unit_test(test_rejects_names),
        cmocka_unit_test(test_print_argv),
        cmocka_unit_test(test_host_facts_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
