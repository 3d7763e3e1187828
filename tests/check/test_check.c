/* check_profile() against the simulated host of the PCI tests
 * (tests/pci/make-fake-host.sh), with profiles built in C so the verdicts
 * are tested apart from the profile parser. The simulated host gets a NUMA
 * node with fixed free memory, a hugepage pool and a /proc/buddyinfo, so
 * the hugepage verdicts (enough, fragmented, 1 GiB, too little) are certain;
 * and the whole tree is compared before and after: check writes nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "check/check.h"

static char root[] = "/tmp/vmrun-check-unit-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

/* A TCG profile with nothing but what each test sets. */
struct fixture {
    struct vm_profile p;
    struct vm_pci pci[4];
    int cpus[4];
    struct check_report rep;
};

static void init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->p.name, sizeof(f->p.name), "unit");
    f->p.qemu.accel = VM_ACCEL_TCG;
    f->p.cpu.sockets = f->p.cpu.cores = f->p.cpu.threads = 1;
    f->p.memory.size = 64 << 20;
    f->p.memory.numa_node = -1;
    f->p.pci = f->pci;
}

static void add_pci(struct fixture *f, const char *addr, bool take_group)
{
    struct vm_pci *x = &f->pci[f->p.n_pci++];
    snprintf(x->address, sizeof(x->address), "%s", addr);
    x->take_group = take_group;
    x->bootindex = -1;
}

static void run(struct fixture *f, bool force)
{
    struct check_options opt = {.force = force, .modules_dir = "/nonexistent"};
    struct vmrun_error err = {0};
    assert_int_equal(check_profile(&f->p, &opt, &f->rep, &err), 0);
}

static const struct check_item *find(const struct fixture *f, const char *name)
{
    for (size_t i = 0; i < f->rep.n; i++)
        if (strcmp(f->rep.items[i].name, name) == 0)
            return &f->rep.items[i];
    fail_msg("no check named \"%s\"", name);
    abort(); /* not reached: fail_msg does not return, but is not marked so */
}

static void expect(const struct fixture *f, const char *name, enum check_result res,
                   const char *detail_has, const char *hint_has)
{
    const struct check_item *it = find(f, name);
    if (it->result != res || (detail_has && !strstr(it->detail, detail_has)) ||
        (hint_has && (!it->hint || !strstr(it->hint, hint_has))))
        fail_msg("%s: got %s \"%s\" (hint \"%s\"), want %s with \"%s\" / \"%s\"", name,
                 check_result_name(it->result), it->detail, it->hint ? it->hint : "(none)",
                 check_result_name(res), detail_has ? detail_has : "", hint_has ? hint_has : "");
    if (res == CHECK_PASS)
        assert_null(it->hint);
    else
        assert_non_null(it->hint);
}

static void done(struct fixture *f)
{
    check_report_free(&f->rep);
}

static void test_nonviable_group(void **state)
{
    (void)state;
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:01:00.0", false);
    run(&f, false);
    expect(&f, "pci 0000:01:00.0", CHECK_FAIL, "IOMMU group 1 is not viable", "take_group");
    const struct check_item *it = find(&f, "pci 0000:01:00.0");
    assert_non_null(strstr(it->detail, "0000:01:00.1"));
    assert_non_null(strstr(it->detail, "0000:01:00.2"));
    assert_non_null(strstr(it->detail, "0000:01:00.3"));
    assert_null(strstr(it->detail, "0000:00:01.0")); /* the root port is a bridge */
    expect(&f, "iommu", CHECK_PASS, "9 IOMMU groups", NULL);
    expect(&f, "vfio-pci", CHECK_PASS, "loaded", NULL);
    assert_false(check_report_ready(&f.rep));
    done(&f);

    /* Naming every member makes the group viable. */
    init(&f);
    add_pci(&f, "0000:01:00.0", false);
    add_pci(&f, "0000:01:00.1", false);
    add_pci(&f, "0000:01:00.2", false);
    add_pci(&f, "0000:01:00.3", false);
    run(&f, false);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pci 0000:01:00.%d", i);
        expect(&f, name, CHECK_PASS, "IOMMU group 1 complete (4 endpoints)", NULL);
    }
    done(&f);
}

static void test_take_group(void **state)
{
    (void)state;
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:06:00.0", true); /* GTX 1080 sharing group 7 with a USB controller */
    run(&f, false);
    expect(&f, "pci 0000:06:00.0", CHECK_PASS, "driver nvidia, IOMMU group 7 complete", NULL);
    expect(&f, "pci 0000:06:00.1", CHECK_PASS, "take_group on 0000:06:00.0", NULL);
    expect(&f, "pci 0000:07:00.0", CHECK_PASS, "driver xhci_hcd, taken with IOMMU group 7", NULL);
    assert_true(check_report_ready(&f.rep));
    done(&f);
}

static void test_unknown_and_bridge(void **state)
{
    (void)state;
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:09:00.0", false);
    add_pci(&f, "0000:00:1c.0", false);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "pci 0000:09:00.0", CHECK_FAIL, "no PCI device 0000:09:00.0", "vmrun iommu");
    expect(&f, "pci 0000:00:1c.0", CHECK_FAIL, "is a PCI bridge", "behind the bridge");
    expect(&f, "pci 0000:04:00.0", CHECK_PASS, "driver none, IOMMU group 4 complete (1 endpoint)",
           NULL);
    done(&f);
}

static void test_users(void **state)
{
    (void)state;
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:03:00.0", false); /* link up */
    add_pci(&f, "0000:02:00.0", false); /* mounted, swap */
    add_pci(&f, "0000:05:00.0", false); /* boot VGA */
    add_pci(&f, "0000:05:00.1", false);
    run(&f, false);
    expect(&f, "pci 0000:03:00.0", CHECK_FAIL, "enp3s0", "without --force");
    expect(&f, "pci 0000:02:00.0", CHECK_FAIL, "/mnt/games", "even with --force");
    expect(&f, "pci 0000:05:00.0", CHECK_FAIL, "driver amdgpu", "without --force");
    done(&f);
    init(&f);
    add_pci(&f, "0000:03:00.0", false);
    add_pci(&f, "0000:02:00.0", false);
    run(&f, true);
    expect(&f, "pci 0000:03:00.0", CHECK_WARN, "enp3s0", "--force");
    expect(&f, "pci 0000:02:00.0", CHECK_FAIL, "/mnt/games", "even with --force");
    done(&f);
}

static void test_cpus_and_files(void **state)
{
    (void)state;
    struct fixture f;
    init(&f);
    f.cpus[0] = 1;
    f.cpus[1] = 999;
    f.cpus[2] = 7;
    f.p.cpu.vcpus = (struct cpu_list){f.cpus, 2};
    f.p.cpu.emulator = (struct cpu_list){f.cpus + 2, 1};
    char code[4096], vars[4096];
    snprintf(code, sizeof(code), "%s/no-such-code.fd", root);
    snprintf(vars, sizeof(vars), "%s/vars.fd", root);
    put("vars.fd", "");
    f.p.firmware.code = code;
    f.p.firmware.vars_template = vars;
    run(&f, false);
    expect(&f, "cpus", CHECK_FAIL, "cpu.pin.vcpus[1] = 999 (online: 0-7)", "online CPUs");
    expect(&f, "firmware.code", CHECK_FAIL, "No such file or directory", "fix the path");
    expect(&f, "firmware.vars_template", CHECK_PASS, "is a regular file and can be read", NULL);
    assert_false(check_report_ready(&f.rep));
    done(&f);

    init(&f);
    f.cpus[0] = 1;
    f.cpus[2] = 7;
    f.p.cpu.vcpus = (struct cpu_list){f.cpus + 2, 1};
    f.p.cpu.emulator = (struct cpu_list){f.cpus, 1};
    run(&f, false);
    expect(&f, "cpus", CHECK_PASS, "pinned CPUs 1,7 are online", NULL);
    expect(&f, "firmware.code", CHECK_PASS, "SeaBIOS", NULL);
    expect(&f, "iommu", CHECK_PASS, "not needed", NULL);
    expect(&f, "memlock", CHECK_PASS, "not needed", NULL);
    expect(&f, "kvm", CHECK_PASS, "not needed", NULL);
    done(&f);
}

/* The simulated node 0: 2000 MiB free; buddyinfo with 40 free 2 MiB
 * blocks in Normal (10 order-9 + 15 order-10) and a DMA zone whose large
 * block must not count. */
static void test_hugepages(void **state)
{
    (void)state;
    struct fixture f;

    /* 10 free pages in the pool, 4 of them promised to other mappings:
     * the other 6 cover 8 MiB, but not 16 MiB. */
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    f.p.memory.size = 8 << 20;
    run(&f, false);
    expect(&f, "hugepages", CHECK_PASS, "6 free 2 MiB pages already in the pool cover the 4", NULL);
    done(&f);
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    f.p.memory.size = 16 << 20;
    run(&f, false);
    expect(&f, "hugepages", CHECK_PASS, "6 free 2 MiB pages in the pool, 2 to add for 16 MiB",
           NULL);
    done(&f);

    /* 64 MiB: 32 pages, 26 to add; 40 blocks exist. */
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    run(&f, false);
    expect(&f, "hugepages", CHECK_PASS, "26 to add for 64 MiB", NULL);
    expect(&f, "hugepages", CHECK_PASS, "in 40 2 MiB blocks", NULL);
    done(&f);

    /* 200 MiB: 90 to add, fits in free memory but not in 40 blocks. */
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    f.p.memory.size = 200 << 20;
    run(&f, false);
    expect(&f, "hugepages", CHECK_WARN, "only 40 free 2 MiB blocks exist", "compacts memory");
    assert_true(check_report_ready(&f.rep));
    done(&f);

    /* More than the node has free. */
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    f.p.memory.size = (uint64_t)3 << 30;
    run(&f, false);
    expect(&f, "hugepages", CHECK_FAIL, "the node has only 2.0 GiB free", "memory.drop_caches");
    done(&f);

    /* 1 GiB pages not in the pool: the boot option. */
    init(&f);
    f.p.memory.hugepage_kb = 1048576;
    f.p.memory.size = 512 << 20;
    run(&f, false);
    expect(&f, "hugepages", CHECK_WARN, "1 of the 1 1 GiB pages", "hugepagesz=1G hugepages=1");
    done(&f);

    /* A node that does not exist. */
    init(&f);
    f.p.memory.hugepage_kb = 2048;
    f.p.memory.numa_node = 3;
    run(&f, false);
    expect(&f, "hugepages", CHECK_FAIL, "no NUMA node 3", NULL);
    done(&f);
}

static void test_iommu_off(void **state)
{
    (void)state;
    sh("mv '%s/sys/kernel/iommu_groups' '%s/groups.saved' && mkdir '%s/sys/kernel/iommu_groups'",
       root, root, root);
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "iommu", CHECK_FAIL, "the IOMMU is off", "intel_iommu=on");
    done(&f);
    put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\n");
    init(&f);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "iommu", CHECK_FAIL, "the IOMMU is off", "amd_iommu=on");
    done(&f);
    put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
    sh("rmdir '%s/sys/kernel/iommu_groups' && mv '%s/groups.saved' '%s/sys/kernel/iommu_groups'",
       root, root, root);
}

static void test_vfio_missing(void **state)
{
    (void)state;
    sh("mv '%s/sys/bus/pci/drivers/vfio-pci' '%s/vfio.saved'", root, root);
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "vfio-pci", CHECK_WARN, "not loaded", "CONFIG_VFIO_PCI");
    assert_true(check_report_ready(&f.rep)); /* start loads it: not a FAIL */
    done(&f);
    sh("mv '%s/vfio.saved' '%s/sys/bus/pci/drivers/vfio-pci'", root, root);
}

/* A device already on vfio-pci whose group another process holds open:
 * QEMU could not open it. */
static void test_vfio_held(void **state)
{
    (void)state;
    const char *devdir = "sys/devices/pci0000:00/0000:00:1c.4/0000:04:00.0";
    sh("cd '%s' && ln -s ../../../bus/pci/drivers/vfio-pci '%s/driver' && "
       "mkdir -p proc/4242/fd && echo qemu-held >proc/4242/comm && : >dev/vfio/4 && "
       "ln -s \"$PWD/dev/vfio/4\" proc/4242/fd/7",
       root, devdir);
    struct fixture f;
    init(&f);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "pci 0000:04:00.0", CHECK_FAIL, "driver vfio-pci", "its VFIO group open");
    expect(&f, "pci 0000:04:00.0", CHECK_FAIL, "qemu-held (pid 4242)", NULL);
    done(&f);
    /* Nobody holds it: a device left on vfio-pci is fine. */
    sh("rm -rf '%s/proc/4242'", root);
    init(&f);
    add_pci(&f, "0000:04:00.0", false);
    run(&f, false);
    expect(&f, "pci 0000:04:00.0", CHECK_PASS, "driver vfio-pci, IOMMU group 4 complete", NULL);
    done(&f);
    sh("rm -f '%s/%s/driver' '%s/dev/vfio/4'", root, devdir, root);
}

/* A stand-in QEMU (qemu.binary) whose version and backends the test picks;
 * `-spice help` answers as QEMU does (options listed, exit 1) for a version
 * other than 10.0.0, which stands for Debian 13's QEMU without its SPICE
 * module. */
static void fake_qemu(char *path, size_t len, const char *version, const char *audio,
                      const char *display)
{
    snprintf(path, len, "%s/fake-qemu", root);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "case \"$1 $2\" in\n"
            "'--version ') echo 'QEMU emulator version %s (test)' ;;\n"
            "'-audiodev help') printf 'Available audio drivers:\\n%s\\n' ;;\n"
            "'-display help') printf 'Available display backend types:\\n%s\\n' ;;\n"
            "'-spice help') [ %s = 10.0.0 ] ||\n"
            "  printf 'spice options:\\n  addr=<str>\\n'; exit 1 ;;\n"
            "*) exit 1 ;;\n"
            "esac\n",
            version, audio, display, version);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

/* The checks of a profile with an audio backend and a display, on a
 * stand-in QEMU (fake_qemu) of that version with those backends. */
static void run_on_fake_qemu(struct fixture *f, char *bin, size_t len, const char *version,
                             const char *audio, const char *displays, enum vm_audio_backend backend,
                             enum vm_display display)
{
    fake_qemu(bin, len, version, audio, displays);
    init(f);
    f->p.qemu.binary = bin;
    f->p.audio.present = true;
    f->p.audio.backend = backend;
    f->p.display = display;
    run(f, false);
}

static void test_qemu(void **state)
{
    (void)state;
    char bin[4096];
    struct fixture f;

    run_on_fake_qemu(&f, bin, sizeof(bin), "7.2.22", "none\\nalsa\\npa", "none\\ngtk",
                     VM_AUDIO_PIPEWIRE, VM_DISPLAY_GTK);
    expect(&f, "qemu", CHECK_PASS, "is QEMU 7.2.22 (this profile needs 6.2 or later)", NULL);
    expect(&f, "qemu.audio", CHECK_PASS,
           "no \"pipewire\" audio driver (QEMU 8.1 and later have one): audio.backend "
           "\"pipewire\" uses its PulseAudio driver \"pa\"",
           NULL);
    expect(&f, "qemu.display", CHECK_PASS, "\"gtk\" display backend", NULL);
    done(&f);

    /* QEMU 8.1 and later: its own PipeWire driver. */
    run_on_fake_qemu(&f, bin, sizeof(bin), "11.1.3", "none\\npa\\npipewire", "none",
                     VM_AUDIO_PIPEWIRE, VM_DISPLAY_SPICE);
    expect(&f, "qemu.audio", CHECK_PASS, "has its own \"pipewire\" audio driver", NULL);
    expect(&f, "qemu.display", CHECK_PASS, "has SPICE", NULL);
    done(&f);

    /* Neither pipewire nor pa; SPICE missing (Debian 13 without its module). */
    run_on_fake_qemu(&f, bin, sizeof(bin), "10.0.0", "none\\nalsa", "none", VM_AUDIO_PIPEWIRE,
                     VM_DISPLAY_SPICE);
    expect(&f, "qemu.audio", CHECK_FAIL, "no \"pa\" audio backend", "qemu-system-gui");
    expect(&f, "qemu.display", CHECK_FAIL, "has no SPICE support", "qemu-system-modules-spice");
    done(&f);

    /* Too old, and a build without the GUI modules. */
    run_on_fake_qemu(&f, bin, sizeof(bin), "6.1.1", "none\\nalsa", "none\\ncurses", VM_AUDIO_PA,
                     VM_DISPLAY_SDL);
    expect(&f, "qemu", CHECK_FAIL, "is QEMU 6.1.1; ", "newer QEMU");
    expect(&f, "qemu.audio", CHECK_FAIL, "no \"pa\" audio backend", "qemu-system-gui");
    expect(&f, "qemu.display", CHECK_FAIL, "no \"sdl\" display backend", "qemu-system-gui");
    done(&f);

    /* VNC needs no -display backend: no such check. */
    init(&f);
    f.p.qemu.binary = bin;
    f.p.display = VM_DISPLAY_VNC;
    run(&f, false);
    for (size_t i = 0; i < f.rep.n; i++)
        assert_string_not_equal(f.rep.items[i].name, "qemu.display");
    done(&f);

    init(&f);
    char missing[4200];
    snprintf(missing, sizeof(missing), "%s/no-such-qemu", root);
    f.p.qemu.binary = missing;
    run(&f, false);
    expect(&f, "qemu", CHECK_FAIL, "No such file or directory", "qemu-system-x86");
    done(&f);
    unlink(bin);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(root) == NULL)
        return -1;
    sh("bash '%s' '%s' >/dev/null", CHECK_FAKE_HOST_SCRIPT, root);
    sh("mkdir -p '%s/sys/devices/system/cpu' '%s/sys/kernel/mm/hugepages/hugepages-2048kB' "
       "'%s/sys/devices/system/node/node0/hugepages/hugepages-2048kB' "
       "'%s/sys/devices/system/node/node0/hugepages/hugepages-1048576kB'",
       root, root, root, root);
    put("sys/devices/system/cpu/online", "0-7\n");
    put("sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "4\n");
    put("sys/devices/system/node/online", "0\n");
    put("sys/devices/system/node/node0/cpulist", "0-7\n");
    put("sys/devices/system/node/node0/meminfo",
        "Node 0 MemTotal:        4096000 kB\nNode 0 MemFree:         2048000 kB\n");
    put("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "10\n");
    put("sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "10\n");
    put("sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
    put("sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
    put("proc/buddyinfo", "Node 0, zone      DMA      0      0      0      0      0      0      "
                          "0      0      1      1      3\n"
                          "Node 0, zone   Normal    295    689    695    397    233    103     "
                          "41     26      8     10     15\n");
    put("proc/meminfo", "MemTotal:        4096000 kB\nMemAvailable:    2048000 kB\n");
    put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
    char path[4200];
    snprintf(path, sizeof(path), "%s/sys", root);
    setenv("VMRUN_SYSFS_ROOT", path, 1);
    snprintf(path, sizeof(path), "%s/proc", root);
    setenv("VMRUN_PROCFS_ROOT", path, 1);
    snprintf(path, sizeof(path), "%s/dev", root);
    setenv("VMRUN_DEV_ROOT", path, 1);
    snprintf(path, sizeof(path), "%s/run", root);
    setenv("VMRUN_RUN_DIR", path, 1);
    /* The listing every test must leave as it found it. */
    sh("cd '%s' && { find sys proc dev ! -type d -printf '%%p %%l %%s %%m %%T@\\n' | LC_ALL=C "
       "sort; find sys proc dev -type d -printf '%%p %%m\\n' | LC_ALL=C sort; "
       "find sys proc dev -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum; } "
       ">'%s.before'",
       root, root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* check wrote nothing: the tree is as setup() left it. Directory
     * mtimes are not compared (tests that add and take away files change
     * them), nor the time of proc/cpuinfo, which a test rewrites with the
     * same content. */
    sh("cd '%s' && { find sys proc dev ! -type d -printf '%%p %%l %%s %%m %%T@\\n' | LC_ALL=C "
       "sort; find sys proc dev -type d -printf '%%p %%m\\n' | LC_ALL=C sort; "
       "find sys proc dev -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum; } "
       ">'%s.after'",
       root, root);
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "grep -v '^proc/cpuinfo ' '%s.before' >'%s.b'; grep -v '^proc/cpuinfo ' '%s.after' "
             ">'%s.a'; cmp -s '%s.b' '%s.a' || { diff '%s.b' '%s.a' | head >&2; exit 1; }",
             root, root, root, root, root, root, root, root);
    int same = system(cmd);
    sh("rm -rf '%s' '%s.before' '%s.after' '%s.b' '%s.a'", root, root, root, root, root);
    if (same != 0)
        fprintf(stderr, "check changed the simulated host (diff above)\n");
    return same == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonviable_group),    cmocka_unit_test(test_take_group),
        cmocka_unit_test(test_unknown_and_bridge), cmocka_unit_test(test_users),
        cmocka_unit_test(test_cpus_and_files),     cmocka_unit_test(test_hugepages),
        cmocka_unit_test(test_iommu_off),          cmocka_unit_test(test_vfio_missing),
        cmocka_unit_test(test_vfio_held),          cmocka_unit_test(test_qemu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
