/* PCI devices against a simulated host: make-fake-host.sh builds the tree,
 * libvmrun_sysfs_sim.so (preloaded: main() re-executes the test with it)
 * gives its sysfs files the kernel's bind/unbind behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plan/hostprep.h"
#include "journal/journal.h"
#include "plan/undo.h"
#include "host/pci/pci_bind.h"
#include "host/pci/pci_host.h"
#include "host/pci/pci_sysfs.h"
#include "host/pci/pci_users.h"

struct fixture {
    char dir[PATH_MAX];
    char sys[PATH_MAX + 8], proc[PATH_MAX + 8], dev[PATH_MAX + 8];
    char journal_path[PATH_MAX + 16];
    struct journal j;
    pid_t holder; /* a child holding a device node open, or 0 */
    char said[8192];
};

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    /* The shell and its tools must not run with the simulator (or an ASan
     * runtime order check) in their way. */
    char *saved = getenv("LD_PRELOAD") ? strdup(getenv("LD_PRELOAD")) : NULL;
    unsetenv("LD_PRELOAD");
    int r = system(cmd);
    if (saved != NULL) {
        setenv("LD_PRELOAD", saved, 1);
        free(saved);
    }
    if (r != 0)
        fail_msg("command failed (%d): %s", r, cmd);
}

/* The simulated host is built once and copied for each test (building it
 * takes a few hundred processes). */
static char template_dir[PATH_MAX];

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vmrun-pci-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    run("cp -a %s/host %s/host", template_dir, f->dir);
    snprintf(f->sys, sizeof(f->sys), "%s/host/sys", f->dir);
    snprintf(f->proc, sizeof(f->proc), "%s/host/proc", f->dir);
    snprintf(f->dev, sizeof(f->dev), "%s/host/dev", f->dir);
    setenv("VMRUN_SYSFS_ROOT", f->sys, 1);
    setenv("VMRUN_PROCFS_ROOT", f->proc, 1);
    setenv("VMRUN_DEV_ROOT", f->dev, 1);
    unsetenv("VMRUN_TEST_SYSFS_TIMEOUT_MS");
    snprintf(f->journal_path, sizeof(f->journal_path), "%s/journal", f->dir);
    struct vmrun_error err = {0};
    if (journal_open(&f->j, f->journal_path, &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->holder > 0) {
        kill(f->holder, SIGKILL);
        waitpid(f->holder, NULL, 0);
    }
    /* Reap what a timed-out write left (the simulator's blocked child). */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    journal_close(&f->j);
    run("rm -rf %s", f->dir);
    free(f);
    return 0;
}

static void say_collect(void *opaque, const char *msg)
{
    struct fixture *f = opaque;
    size_t used = strlen(f->said);
    snprintf(f->said + used, sizeof(f->said) - used, "%s\n", msg);
}

/* A listing of the whole simulated host: every directory, every link with
 * its target, every file with a checksum of its contents. */
static char *tree(const struct fixture *f)
{
    char cmd[2 * PATH_MAX], out[PATH_MAX + 16];
    snprintf(out, sizeof(out), "%s/tree.txt", f->dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s/host && { find . -type d; find . -type l -printf '%%p -> %%l\\n'; "
             "find . -type f -exec md5sum {} + | awk '{print $2 \" \" $1}'; } | LC_ALL=C sort > %s",
             f->dir, out);
    run("%s", cmd);
    FILE *fp = fopen(out, "re");
    assert_non_null(fp);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void assert_same_tree(const char *before, const char *after)
{
    if (strcmp(before, after) == 0)
        return;
    /* Show the first differing line. */
    const char *a = before, *b = after;
    while (*a && *a == *b)
        a++, b++;
    while (a > before && a[-1] != '\n')
        a--, b--;
    fail_msg("host tree differs:\n  before: %.200s\n  after:  %.200s", a, b);
}

static void profile_with(struct vm_profile *p, struct vm_pci *pci, size_t n)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "test");
    for (size_t k = 0; k < n; k++) {
        pci[k].bootindex = -1;
        assert_int_equal(sscanf(pci[k].address, "%x:%x:%x.%x", &pci[k].domain, &pci[k].bus,
                                &pci[k].slot, &pci[k].func),
                         4);
    }
    p->pci = pci;
    p->n_pci = n;
}

static void driver_of(const char *address, char *buf, size_t len)
{
    assert_int_equal(pci_current_driver(address, buf, len), 0);
}

static void sys_file(const struct fixture *f, const char *rel, const char *content)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", f->sys, rel);
    FILE *fp = fopen(path, "we");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

/* A child of the test that holds DEV/rel open, as a display server holds
 * /dev/dri/card1; made visible under the fake procfs root by a link to its
 * real /proc entry. */
static void start_holder(struct fixture *f, const char *rel)
{
    char path[2 * PATH_MAX];
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    snprintf(path, sizeof(path), "%s/%s", f->dev, rel);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    f->holder = pid;
    char link[2 * PATH_MAX], target[64];
    snprintf(link, sizeof(link), "%s/%d", f->proc, (int)pid);
    snprintf(target, sizeof(target), "/proc/%d", (int)pid);
    assert_int_equal(symlink(target, link), 0);
}

static int undo_all(struct fixture *f, struct vmrun_error *err)
{
    struct journal_entries e;
    assert_int_equal(journal_load(f->journal_path, &e, err), 0);
    int r = journal_undo(&e, 0, NULL, NULL, err);
    journal_entries_free(&e);
    return r;
}

/* ---- facts ---- */

static void test_normalize(void **state)
{
    char out[PCI_ADDR_LEN];
    assert_int_equal(pci_normalize_address("01:00.0", out), 0);
    assert_string_equal(out, "0000:01:00.0");
    assert_int_equal(pci_normalize_address("0000:0A:1f.7", out), 0);
    assert_string_equal(out, "0000:0a:1f.7");
    assert_int_equal(pci_normalize_address("01:00.8", out), -EINVAL);
    assert_int_equal(pci_normalize_address("01:00.0/../x", out), -EINVAL);
    assert_int_equal(pci_normalize_address("", out), -EINVAL);
}

static void test_scan_names(void **state)
{
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), 0);
    assert_int_equal(h.n, 25);
    const struct pci_dev_info *gpu = pci_host_find(&h, "0000:01:00.0");
    assert_non_null(gpu);
    assert_int_equal(gpu->vendor, 0x10de);
    assert_int_equal(gpu->device, 0x1e07);
    assert_int_equal(gpu->class_code, 0x0300);
    assert_non_null(strstr(gpu->name, "TU102"));
    assert_non_null(strstr(gpu->name, "GeForce RTX 2080 Ti"));
    assert_string_equal(gpu->driver, "nvidia");
    assert_int_equal(gpu->iommu_group, 1);
    assert_string_equal(gpu->reset_method, "flr bus");
    assert_false(gpu->boot_vga);
    const struct pci_dev_info *edu = pci_host_find(&h, "0000:04:00.0");
    assert_non_null(edu);
    assert_string_equal(edu->driver, "");
    assert_true(pci_host_find(&h, "0000:05:00.0")->boot_vga);
    assert_true(pci_is_bridge(pci_host_find(&h, "0000:00:01.0")));
    const struct pci_dev_info *m[16];
    assert_int_equal(pci_group_members(&h, 1, m, 16), 5);
    pci_host_free(&h);
}

static void test_no_pci_bus(void **state)
{
    struct fixture *f = *state;
    run("rm -rf %s/bus", f->sys);
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no PCI bus"));
}

/* ---- groups ---- */

static void test_iommu_off(void **state)
{
    struct fixture *f = *state;
    run("rm -rf %s/kernel/iommu_groups/*", f->sys);
    struct vm_pci pci[] = {{.address = "0000:01:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), 0);
    const struct pci_dev_info *take[16];
    assert_int_equal(pci_plan_devices(&p, &h, take, 16, &err), -ENODEV);
    assert_string_equal(err.msg, PCI_IOMMU_OFF_MSG);
    assert_non_null(strstr(err.msg, "intel_iommu=on or amd_iommu=on"));
    pci_host_free(&h);
}

static void test_group_not_viable(void **state)
{
    struct vm_pci pci[] = {{.address = "0000:01:00.0"}, {.address = "0000:01:00.1"}};
    struct vm_profile p;
    profile_with(&p, pci, 2);
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), 0);
    const struct pci_dev_info *take[16];
    assert_int_equal(pci_plan_devices(&p, &h, take, 16, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "IOMMU group 1 is not viable"));
    assert_non_null(strstr(err.msg, "0000:01:00.0 NVIDIA Corporation TU102"));
    assert_non_null(strstr(err.msg,
                           "0000:01:00.2 NVIDIA Corporation TU102 USB 3.1 Host Controller (driver "
                           "xhci_hcd)"));
    assert_non_null(strstr(err.msg, "(driver nvidia-gpu)"));
    assert_non_null(strstr(err.msg, "{\"address\": \"0000:01:00.3\"}"));
    assert_non_null(strstr(err.msg, "\"take_group\": true"));
    /* neither the bridge nor a device already in the profile is missing */
    assert_null(strstr(err.msg, "0000:00:01.0"));
    assert_null(strstr(err.msg, "0000:01:00.1 "));
    pci_host_free(&h);
}

static void test_take_group(void **state)
{
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), 0);
    const struct pci_dev_info *take[16];
    assert_int_equal(pci_plan_devices(&p, &h, take, 16, &err), 4);
    assert_string_equal(take[0]->address, "0000:01:00.0");
    assert_string_equal(take[1]->address, "0000:01:00.1");
    assert_string_equal(take[2]->address, "0000:01:00.2");
    assert_string_equal(take[3]->address, "0000:01:00.3");
    pci_host_free(&h);
}

static void test_unknown_and_bridge(void **state)
{
    struct vm_pci pci[] = {{.address = "0000:09:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct pci_host h;
    struct vmrun_error err = {0};
    assert_int_equal(pci_host_scan(&h, &err), 0);
    const struct pci_dev_info *take[16];
    assert_int_equal(pci_plan_devices(&p, &h, take, 16, &err), -ENODEV);
    assert_non_null(strstr(err.msg, "no PCI device 0000:09:00.0"));
    struct vm_pci br[] = {{.address = "0000:00:01.0"}};
    profile_with(&p, br, 1);
    assert_int_equal(pci_plan_devices(&p, &h, take, 16, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "is a PCI bridge"));
    pci_host_free(&h);
}

/* ---- users ---- */

static int check_one(const char *address, bool force, struct fixture *f, struct vmrun_error *err)
{
    struct pci_host h;
    assert_int_equal(pci_host_scan(&h, err), 0);
    const struct pci_dev_info *d = pci_host_find(&h, address);
    assert_non_null(d);
    int r = pci_check_users(&d, 1, force, false, say_collect, f, err);
    pci_host_free(&h);
    return r;
}

static void test_storage_never(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    assert_int_equal(check_one("0000:02:00.0", true, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "0000:02:00.0 Samsung"));
    assert_non_null(strstr(err.msg, "nvme0n1p1 is mounted on /mnt/games"));
    assert_non_null(strstr(err.msg, "nvme0n1p2 is active swap"));
    assert_non_null(strstr(err.msg, "--force does not override"));
    /* The SATA controller carries the root file system. */
    assert_int_equal(check_one("0000:00:1f.2", true, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "sda1 is mounted on /"));
    /* A disk with nothing mounted is free to go. */
    assert_int_equal(check_one("0000:08:00.0", false, f, &err), 0);
}

static void test_storage_stacked(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    /* dm-0 on nvme1n1, mounted by its own device number */
    run("mkdir -p %s/devices/virtual/block/dm-0/holders && echo 253:0 > "
        "%s/devices/virtual/block/dm-0/dev && ln -s ../../devices/virtual/block/dm-0 "
        "%s/class/block/dm-0 && ln -s ../../../../../../../virtual/block/dm-0 "
        "%s/class/block/nvme1n1/holders/dm-0 && echo '50 22 253:0 / /srv rw - xfs "
        "/dev/mapper/srv rw' >> %s/self/mountinfo",
        f->sys, f->sys, f->sys, f->sys, f->proc);
    assert_int_equal(check_one("0000:08:00.0", true, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "dm-0 is mounted on /srv"));
}

static void test_drm_holder(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    start_holder(f, "dri/card1");
    assert_int_equal(check_one("0000:01:00.0", false, f, &err), -EBUSY);
    char want[2 * PATH_MAX];
    snprintf(want, sizeof(want), "pci_test (pid %d) has %s/dri/card1 open", (int)f->holder, f->dev);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "0000:01:00.0 NVIDIA Corporation TU102"));
    /* --force: a warning instead */
    f->said[0] = '\0';
    assert_int_equal(check_one("0000:01:00.0", true, f, &err), 0);
    assert_non_null(strstr(f->said, want));
    assert_non_null(strstr(f->said, "--force"));
}

static void test_nvidia_control_holder(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    start_holder(f, "nvidiactl");
    assert_int_equal(check_one("0000:01:00.0", false, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "/dev/nvidiactl open"));
    /* the AMD card is not concerned by NVIDIA's nodes */
    assert_int_equal(check_one("0000:05:00.1", false, f, &err), 0);
}

static void test_boot_vga_and_network(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    assert_int_equal(check_one("0000:05:00.0", false, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "boot VGA"));
    assert_int_equal(check_one("0000:05:00.0", true, f, &err), 0);
    assert_int_equal(check_one("0000:03:00.0", false, f, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "enp3s0 is up"));
    assert_int_equal(check_one("0000:03:00.0", true, f, &err), 0);
    run("echo down > %s/class/net/enp3s0/operstate", f->sys);
    assert_int_equal(check_one("0000:03:00.0", false, f, &err), 0);
}

/* ---- binding and giving back ---- */

static void prep_init(struct host_prep *hp, struct fixture *f, const struct vm_profile *p)
{
    memset(hp, 0, sizeof(*hp));
    hp->profile = p;
    hp->journal = &f->j;
    hp->say = say_collect;
    hp->say_opaque = f;
    hp->numa_node = -1;
}

static void test_bind_and_give_back(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true},
                           {.address = "0000:04:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 2);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    struct vmrun_error err = {0};
    assert_int_equal(pci_prepare(&hp, &err), 0);

    const char *all[] = {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3",
                         "0000:04:00.0"};
    char drv[64], path[2 * PATH_MAX];
    for (size_t k = 0; k < 5; k++) {
        driver_of(all[k], drv, sizeof(drv));
        assert_string_equal(drv, "vfio-pci");
    }
    assert_int_equal(hp.n_vfio_groups, 2);
    assert_int_equal(hp.vfio_groups[0], 1);
    assert_int_equal(hp.vfio_groups[1], 4);
    snprintf(path, sizeof(path), "%s/vfio/1", f->dev);
    assert_true(pci_sysfs_exists(path));
    snprintf(path, sizeof(path), "%s/vfio/4", f->dev);
    assert_true(pci_sysfs_exists(path));
    /* the bridge stays where it was */
    driver_of("0000:00:01.0", drv, sizeof(drv));
    assert_string_equal(drv, "pcieport");

    struct journal_entries e;
    assert_int_equal(journal_load(f->journal_path, &e, &err), 0);
    assert_int_equal(e.n, 5);
    assert_string_equal(e.items[0].op, "pci-bind");
    journal_entries_free(&e);

    assert_int_equal(undo_all(f, &err), 0);
    char *after = tree(f);
    assert_same_tree(before, after);
    /* undo again: idempotent, still the same host */
    assert_int_equal(undo_all(f, &err), 0);
    free(after);
    after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_no_driver_stays_without(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:04:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    struct vmrun_error err = {0};
    assert_int_equal(pci_prepare(&hp, &err), 0);
    char drv[64];
    driver_of("0000:04:00.0", drv, sizeof(drv));
    assert_string_equal(drv, "vfio-pci");
    /* it would match a driver if reprobed: giving back must not reprobe */
    sys_file(f, "0000:04:00.0/.sim_drivers", "uio_pci_generic\n");
    run("mkdir %s/bus/pci/drivers/uio_pci_generic && touch %s/bus/pci/drivers/uio_pci_generic/bind",
        f->sys, f->sys);
    assert_int_equal(undo_all(f, &err), 0);
    driver_of("0000:04:00.0", drv, sizeof(drv));
    assert_string_equal(drv, "");
    run("rm -r %s/bus/pci/drivers/uio_pci_generic", f->sys);
    sys_file(f, "0000:04:00.0/.sim_drivers", "\n");
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_reprobe_picks_another(void **state)
{
    struct fixture *f = *state;
    /* nouveau matches first: reprobing alone would hand the card to it */
    sys_file(f, "0000:01:00.0/.sim_drivers", "nouveau nvidia\n");
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    struct vmrun_error err = {0};
    assert_int_equal(pci_prepare(&hp, &err), 0);
    assert_int_equal(undo_all(f, &err), 0);
    char drv[64];
    driver_of("0000:01:00.0", drv, sizeof(drv));
    assert_string_equal(drv, "nvidia");
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_give_back_half_done(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    char path[2 * PATH_MAX], drv[64];
    struct vmrun_error err = {0};
    /* stopped after driver_override */
    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:00.1/driver_override", f->sys);
    assert_int_equal(pci_sysfs_write(path, "vfio-pci", NULL, &err), 0);
    assert_int_equal(pci_give_back("0000:01:00.1", NULL, "snd_hda_intel", NULL, &err), 0);
    /* stopped after the unbind, before drivers_probe */
    assert_int_equal(pci_sysfs_write(path, "vfio-pci", NULL, &err), 0);
    snprintf(path, sizeof(path), "%s/bus/pci/drivers/snd_hda_intel/unbind", f->sys);
    assert_int_equal(pci_sysfs_write(path, "0000:01:00.1", NULL, &err), 0);
    driver_of("0000:01:00.1", drv, sizeof(drv));
    assert_string_equal(drv, "");
    assert_int_equal(pci_give_back("0000:01:00.1", NULL, "snd_hda_intel", NULL, &err), 0);
    assert_int_equal(pci_give_back("0000:01:00.1", NULL, "snd_hda_intel", NULL, &err), 0);
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_give_back_fails_loudly(void **state)
{
    struct fixture *f = *state;
    struct vmrun_error err = {0};
    char path[2 * PATH_MAX];
    /* The original driver is gone (module unloaded meanwhile). */
    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:04:00.0/driver_override", f->sys);
    assert_int_equal(pci_sysfs_write(path, "vfio-pci", NULL, &err), 0);
    snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", f->sys);
    assert_int_equal(pci_sysfs_write(path, "0000:04:00.0", NULL, &err), 0);
    assert_true(pci_give_back("0000:04:00.0", "QEMU edu", "edu_drv", NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "0000:04:00.0 QEMU edu could not be given back to edu_drv"));
    char want[2 * PATH_MAX];
    snprintf(want, sizeof(want), "echo 0000:04:00.0 > %s/bus/pci/drivers/edu_drv/bind", f->sys);
    assert_non_null(strstr(err.msg, want));
    snprintf(want, sizeof(want), "echo > %s/bus/pci/devices/0000:04:00.0/driver_override", f->sys);
    assert_non_null(strstr(err.msg, want));
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_unbind_timeout(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    sys_file(f, "0000:01:00.0/.sim_block_unbind", "");
    start_holder(f, "dri/renderD129");
    setenv("VMRUN_TEST_SYSFS_TIMEOUT_MS", "300", 1);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    hp.force = true; /* past the holder check, into the blocking unbind */
    struct vmrun_error err = {0};
    long long t0 = now_ms();
    assert_int_equal(pci_prepare(&hp, &err), -ETIMEDOUT);
    long long took = now_ms() - t0;
    assert_true(took < 3000);
    assert_non_null(strstr(err.msg, "0000:01:00.0 NVIDIA Corporation TU102"));
    assert_non_null(strstr(err.msg, "unbind from nvidia"));
    assert_non_null(strstr(err.msg, "did not finish within 300 ms"));
    assert_non_null(strstr(err.msg, "cannot be killed"));
    char want[64];
    snprintf(want, sizeof(want), "pci_test (pid %d) has ", (int)f->holder);
    assert_non_null(strstr(err.msg, want));
    print_message("timeout error after %lld ms: %s\n", took, err.msg);

    /* The holder lets go; undoing the journal restores the host. */
    kill(f->holder, SIGKILL);
    waitpid(f->holder, NULL, 0);
    char link[2 * PATH_MAX];
    snprintf(link, sizeof(link), "%s/%d", f->proc, (int)f->holder);
    unlink(link);
    f->holder = 0;
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:00.0/.sim_block_unbind", f->sys);
    unlink(path);
    assert_int_equal(undo_all(f, &err), 0);
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_refusal_changes_nothing(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true},
                           {.address = "0000:02:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 2);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    hp.force = true;
    struct vmrun_error err = {0};
    assert_int_equal(pci_prepare(&hp, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "/mnt/games"));
    struct journal_entries e;
    assert_int_equal(journal_load(f->journal_path, &e, &err), 0);
    assert_int_equal(e.n, 0);
    journal_entries_free(&e);
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

/* The journal's fault injection: fail right after the second device is on
 * vfio-pci; undoing the journal then restores the host. */
static void test_fail_after_injection(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    struct vmrun_error err = {0};
    setenv("VMRUN_TEST_FAIL_AFTER", "2", 1);
    int r = pci_prepare(&hp, &err);
    unsetenv("VMRUN_TEST_FAIL_AFTER");
    assert_int_equal(r, -EIO);
    char drv[64];
    driver_of("0000:01:00.1", drv, sizeof(drv));
    assert_string_equal(drv, "vfio-pci");
    driver_of("0000:01:00.2", drv, sizeof(drv));
    assert_string_equal(drv, "xhci_hcd");
    assert_int_equal(undo_all(f, &err), 0);
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_check_readonly(void **state)
{
    struct fixture *f = *state;
    char *before = tree(f);
    struct vm_pci pci[] = {{.address = "0000:01:00.0", .take_group = true}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct vmrun_error err = {0};
    assert_int_equal(pci_check(&p, false, say_collect, f, &err), 4);
    struct vm_pci nv[] = {{.address = "0000:02:00.0"}};
    profile_with(&p, nv, 1);
    assert_int_equal(pci_check(&p, true, say_collect, f, &err), -EBUSY);
    char *after = tree(f);
    assert_same_tree(before, after);
    free(before);
    free(after);
}

static void test_vfio_missing(void **state)
{
    struct fixture *f = *state;
    run("rm -r %s/bus/pci/drivers/vfio-pci", f->sys);
    struct vm_pci pci[] = {{.address = "0000:04:00.0"}};
    struct vm_profile p;
    profile_with(&p, pci, 1);
    struct host_prep hp;
    prep_init(&hp, f, &p);
    struct vmrun_error err = {0};
    assert_int_equal(pci_prepare(&hp, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "vfio-pci is not loaded"));
}

static void test_undo_rejects_bad_record(void **state)
{
    const struct journal_op *op = journal_find_op("pci-bind");
    assert_non_null(op);
    struct vmrun_error err = {0};
    cJSON *args = cJSON_Parse("{\"address\":\"../../x\",\"driver\":\"nvidia\"}");
    assert_int_equal(op->undo(args, &err), -EINVAL);
    cJSON_Delete(args);
    args = cJSON_Parse("{\"address\":\"0000:01:00.0\",\"driver\":\"../../../x\"}");
    assert_int_equal(op->undo(args, &err), -EINVAL);
    cJSON_Delete(args);
    args = cJSON_Parse("{\"address\":\"0000:01:00.0\",\"name\":\"GPU\",\"driver\":\"nvidia\"}");
    char what[256];
    op->describe(args, what, sizeof(what));
    assert_string_equal(what, "give 0000:01:00.0 (GPU) back to nvidia");
    cJSON_Delete(args);
}

int main(int argc, char **argv)
{
    /* Run under the sysfs simulator: re-execute with it preloaded. */
    const char *pre = getenv("LD_PRELOAD");
    if (pre == NULL || strstr(pre, "libvmrun_sysfs_sim.so") == NULL) {
        setenv("LD_PRELOAD", PCI_SYSFS_SIM, 1);
        const char *asan = getenv("ASAN_OPTIONS");
        char opts[1024];
        snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", asan ? asan : "",
                 asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        /* by its own path, so that its processes keep their name (comm) */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0) {
            perror("/proc/self/exe");
            return 1;
        }
        self[n] = '\0';
        execv(self, argv);
        perror("re-exec with the sysfs simulator");
        return 1;
    }
    (void)argc;
    snprintf(template_dir, sizeof(template_dir), "/tmp/vmrun-pci-template-XXXXXX");
    if (mkdtemp(template_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    run("%s %s/host", PCI_FAKE_HOST_SCRIPT, template_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test_setup_teardown(test_scan_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pci_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iommu_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_not_viable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_never, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_stacked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drm_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nvidia_control_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_vga_and_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_and_give_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_driver_stays_without, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reprobe_picks_another, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_back_half_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_back_fails_loudly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbind_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_after_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vfio_missing, setup, teardown),
        cmocka_unit_test(test_undo_rejects_bad_record),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    run("rm -rf %s", template_dir);
    return failed;
}
