/* Governor and host isolation against a simulated host tree (never this
 * machine's own cpufreq, cgroups or IRQs): the changes, the exact restore,
 * undo twice, undo of a change that never happened. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "host/cpu/cpu_prep.h"
#include "host/cpu/governor.h"
#include "host/cpu/isolate.h"
#include "memtest.h"

#define CPU "/sys/devices/system/cpu/"
#define CG "/sys/fs/cgroup/"
#define WQ "/sys/devices/virtual/workqueue/"

static int setup(void **state)
{
    struct memtest *t = memtest_fake_host();
    memtest_put(t->dir, CPU "online", "0-3\n");
    const char *govs[] = {"powersave", "powersave", "powersave", "schedutil"};
    for (int c = 0; c < 4; c++) {
        char rel[128];
        snprintf(rel, sizeof(rel), CPU "cpu%d/cpufreq/scaling_governor", c);
        memtest_put(t->dir, rel, "%s\n", govs[c]);
        snprintf(rel, sizeof(rel), CPU "cpu%d/cpufreq/scaling_available_governors", c);
        memtest_put(t->dir, rel, "performance schedutil powersave\n");
    }
    memtest_put(t->dir, CG "cgroup.controllers", "cpuset cpu io memory pids\n");
    memtest_put(t->dir, CG "cgroup.subtree_control", "cpu memory pids\n");
    memtest_put(t->dir, CG "init.scope/cpuset.cpus", "\n");
    memtest_put(t->dir, CG "system.slice/cpuset.cpus", "\n");
    memtest_put(t->dir, CG "user.slice/cpuset.cpus", "0-3\n");
    memtest_put(t->dir, WQ "cpumask", "f\n");
    memtest_put(t->dir, WQ "writeback/cpumask", "00000000,0000000f\n");
    memtest_put(t->dir, "/proc/irq/default_smp_affinity", "f\n");
    memtest_put(t->dir, "/proc/irq/0/smp_affinity_list", "0\n");
    memtest_put(t->dir, "/proc/irq/9/smp_affinity_list", "0-3\n");
    memtest_put(t->dir, "/proc/irq/24/smp_affinity_list", "3\n");
    memtest_put(t->dir, "/proc/self/cgroup", "0::/\n");
    int vcpus[] = {1, 3};
    memtest_set_vcpus(t, 2, vcpus);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    memtest_fake_host_end(*state);
    return 0;
}

static const char *gov(struct memtest *t, int cpu)
{
    char rel[128];
    snprintf(rel, sizeof(rel), CPU "cpu%d/cpufreq/scaling_governor", cpu);
    return memtest_get(t->dir, rel);
}

static void test_governor_set_and_restored_exactly(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.governor = strdup("performance");
    struct vmrun_error err = {0};
    int r = cpu_prepare(&t->hp, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(gov(t, 0), "powersave");
    assert_string_equal(gov(t, 1), "performance");
    assert_string_equal(gov(t, 2), "powersave");
    assert_string_equal(gov(t, 3), "performance");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(memtest_undo_all(t, &err), 0);
        assert_string_equal(gov(t, 1), "powersave");
        assert_string_equal(gov(t, 3), "schedutil"); /* its own, not a fixed default */
    }
}

static void test_governor_scope_all(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.governor = strdup("performance");
    t->profile.cpu.governor_scope = VM_GOVERNOR_ALL_CPUS;
    struct vmrun_error err = {0};
    assert_int_equal(cpu_prepare(&t->hp, &err), 0);
    for (int c = 0; c < 4; c++)
        assert_string_equal(gov(t, c), "performance");
    assert_int_equal(memtest_recover(t, &err), 0);
    assert_string_equal(gov(t, 0), "powersave");
    assert_string_equal(gov(t, 3), "schedutil");
}

static void test_governor_unavailable_changes_nothing(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.governor = strdup("ondemand");
    struct vmrun_error err = {0};
    assert_int_equal(cpu_prepare(&t->hp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "cpu.governor \"ondemand\" is not available on CPU 1"));
    assert_non_null(strstr(err.msg, "performance schedutil powersave"));
    assert_int_equal(t->journal.seq, 0);
    assert_string_equal(gov(t, 1), "powersave");
}

static void test_no_cpufreq_says_so_and_goes_on(void **state)
{
    struct memtest *t = *state;
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/sys/devices/system/cpu/cpu*/cpufreq", t->dir);
    assert_int_equal(system(cmd), 0);
    t->profile.cpu.governor = strdup("performance");
    struct vmrun_error err = {0};
    assert_int_equal(cpu_prepare(&t->hp, &err), 0);
    assert_non_null(strstr(t->said, "CPU 1,3 have no frequency scaling"));
    assert_int_equal(t->journal.seq, 0);
}

static void test_governor_undo_of_change_that_never_happened(void **state)
{
    struct memtest *t = *state;
    cJSON *args = cJSON_Parse("{\"governor\":\"performance\",\"cpus\":[{\"cpu\":1,\"previous\":"
                              "\"powersave\"},{\"cpu\":7,\"previous\":\"powersave\"}]}");
    struct vmrun_error err = {0};
    assert_int_equal(governor_undo(args, &err), 0); /* CPU 7 does not exist: skipped */
    assert_string_equal(gov(t, 1), "powersave");
    cJSON_Delete(args);
}

static void test_isolation_and_exact_restore(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.isolate = true;
    /* A per-CPU IRQ that refuses a new affinity: a read-only kernel
     * attribute stands in for it (the write is refused, nothing changes). */
    char link[PATH_MAX + 64];
    snprintf(link, sizeof(link), "%s/proc/irq/30", t->dir);
    mkdir(link, 0755);
    strcat(link, "/smp_affinity_list");
    assert_int_equal(symlink("/sys/devices/system/cpu/possible", link), 0);
    char possible[8192];
    strcpy(possible, memtest_get("", "/sys/devices/system/cpu/possible"));
    bool refusal_expected = strcmp(possible, "0-1") == 0 || strcmp(possible, "0-3") == 0;

    struct vmrun_error err = {0};
    int r = cpu_prepare(&t->hp, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(memtest_get(t->dir, CG "cgroup.subtree_control"), "+cpuset");
    assert_string_equal(memtest_get(t->dir, CG "init.scope/cpuset.cpus"), "0,2");
    assert_string_equal(memtest_get(t->dir, CG "system.slice/cpuset.cpus"), "0,2");
    assert_string_equal(memtest_get(t->dir, CG "user.slice/cpuset.cpus"), "0,2");
    assert_string_equal(memtest_get(t->dir, WQ "cpumask"), "00000005");
    assert_string_equal(memtest_get(t->dir, WQ "writeback/cpumask"), "00000000,00000005");
    assert_string_equal(memtest_get(t->dir, "/proc/irq/default_smp_affinity"), "00000005");
    assert_string_equal(memtest_get(t->dir, "/proc/irq/0/smp_affinity_list"), "0");
    assert_string_equal(memtest_get(t->dir, "/proc/irq/9/smp_affinity_list"), "0,2");
    assert_string_equal(memtest_get(t->dir, "/proc/irq/24/smp_affinity_list"), "0,2");
    if (refusal_expected)
        assert_non_null(strstr(t->said, "IRQ 30 refused a new CPU affinity"));
    assert_string_equal(memtest_get("", "/sys/devices/system/cpu/possible"), possible);

    for (int i = 0; i < 2; i++) {
        assert_int_equal(memtest_undo_all(t, &err), 0);
        assert_string_equal(memtest_get(t->dir, CG "init.scope/cpuset.cpus"), "");
        assert_string_equal(memtest_get(t->dir, CG "system.slice/cpuset.cpus"), "");
        assert_string_equal(memtest_get(t->dir, CG "user.slice/cpuset.cpus"), "0-3");
        assert_string_equal(memtest_get(t->dir, WQ "cpumask"), "f");
        assert_string_equal(memtest_get(t->dir, WQ "writeback/cpumask"), "00000000,0000000f");
        assert_string_equal(memtest_get(t->dir, "/proc/irq/default_smp_affinity"), "f");
        assert_string_equal(memtest_get(t->dir, "/proc/irq/9/smp_affinity_list"), "0-3");
        assert_string_equal(memtest_get(t->dir, "/proc/irq/24/smp_affinity_list"), "3");
    }
    /* The controller undo: the fake file does not interpret "+cpuset", so
     * show it a kernel-like state. */
    memtest_put(t->dir, CG "cgroup.subtree_control", "cpu cpuset memory pids\n");
    assert_int_equal(memtest_undo_all(t, &err), 0);
    assert_string_equal(memtest_get(t->dir, CG "cgroup.subtree_control"), "-cpuset");
}

static void test_isolation_moves_vmrun_out_of_its_slice(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.isolate = true;
    memtest_put(t->dir, "/proc/self/cgroup", "0::/user.slice/user-0.slice/session-1.scope\n");
    memtest_put(t->dir, CG "cgroup.subtree_control", "cpuset cpu\n");
    memtest_put(t->dir, CG "vmrun-memtest/cgroup.procs", "%s", "");
    struct vmrun_error err = {0};
    assert_int_equal(cpu_prepare(&t->hp, &err), 0);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    assert_string_equal(memtest_get(t->dir, CG "vmrun-memtest/cgroup.procs"), pid);
    assert_non_null(strstr(t->said, "moved vmrun out of /user.slice"));
}

static void test_isolation_needs_a_host_cpu(void **state)
{
    struct memtest *t = *state;
    t->profile.cpu.isolate = true;
    int all[] = {0, 1, 2, 3};
    memtest_set_vcpus(t, 4, all);
    struct vmrun_error err = {0};
    assert_int_equal(cpu_prepare(&t->hp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "takes every online CPU (0-3)"));
    memtest_set_vcpus(t, 0, all);
    assert_int_equal(cpu_prepare(&t->hp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "cpu.isolate needs pinned vCPUs"));
    assert_int_equal(t->journal.seq, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_governor_set_and_restored_exactly),           T(test_governor_scope_all),
        T(test_governor_unavailable_changes_nothing),        T(test_no_cpufreq_says_so_and_goes_on),
        T(test_governor_undo_of_change_that_never_happened), T(test_isolation_and_exact_restore),
        T(test_isolation_moves_vmrun_out_of_its_slice),      T(test_isolation_needs_a_host_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
