/* Hugepage pool accounting, NUMA node choice, hugetlbfs mount lookup and
 * CPU-set text forms, against a simulated host tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/cpulist.h"
#include "host/memory/hugepage_ledger.h"
#include "host/memory/hugepages.h"
#include "host/memory/memory_prep.h"
#include "memtest.h"
#include "host/memory/prefault.h"

#define POOL "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/"

static int setup(void **state)
{
    struct memtest *t = memtest_fake_host();
    memtest_put(t->dir, POOL "nr_hugepages", "8\n");
    memtest_put(t->dir, POOL "free_hugepages", "3\n");
    memtest_put(t->dir, "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "1\n");
    memtest_put(t->dir, "/sys/devices/system/node/node0/cpulist", "0-1\n");
    memtest_put(t->dir, "/sys/devices/system/node/node1/cpulist", "2-3\n");
    memtest_put(t->dir, "/sys/devices/system/node/online", "0-1\n");
    memtest_put(t->dir, "/proc/sys/vm/compact_memory", "%s", "");
    memtest_put(t->dir, "/proc/sys/vm/drop_caches", "%s", "");
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    memtest_fake_host_end(*state);
    return 0;
}

static void test_cpulist_forms(void **state)
{
    (void)state;
    struct cpuset_bits s;
    char buf[256];
    assert_int_equal(cpulist_parse("0-3,8,10-11\n", &s), 0);
    assert_int_equal(cpuset_count(&s), 7);
    assert_int_equal(cpulist_format(&s, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "0-3,8,10-11");
    assert_int_equal(cpulist_parse("", &s), 0);
    assert_true(cpuset_empty(&s));
    assert_int_equal(cpulist_parse("3-1", &s), -EINVAL);
    assert_int_equal(cpulist_parse("1,,2", &s), -EINVAL);
    assert_int_equal(cpulist_parse("99999", &s), -EINVAL);

    assert_int_equal(cpumask_parse("00000000,0000000f\n", &s), 0);
    assert_int_equal(cpulist_format(&s, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "0-3");
    cpuset_add(&s, 40);
    assert_int_equal(cpumask_format(&s, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "00000100,0000000f");
    cpuset_del(&s, 40);
    assert_int_equal(cpumask_format(&s, 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "00000000,0000000f");
    assert_int_equal(cpumask_parse("xyz", &s), -EINVAL);
}

/* Reserve with the ledger held, as memory_prepare() does. */
static int reserve(struct memtest *t, unsigned page_kb, unsigned long pages,
                   struct hugepage_reservation *res, struct vmrun_error *err)
{
    struct hp_ledger l;
    int r = hp_ledger_open(&l, NULL, NULL, err);
    if (r < 0)
        return r;
    struct hugepage_policy pol = {0};
    r = hugepages_reserve(&t->hp, &l, 0, page_kb, pages, &pol, res, err);
    hp_ledger_close(&l);
    return r;
}

static const char *ledger(struct memtest *t)
{
    return memtest_get(t->dir, "/run/.hugepages.ledger");
}

static void test_reserve_only_the_shortfall(void **state)
{
    struct memtest *t = *state;
    struct hugepage_reservation res;
    struct vmrun_error err = {0};
    /* 3 free, 1 of them promised to a mapping: 2 reusable, 8 to add. */
    int r = reserve(t, 2048, 10, &res, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.reused, 2);
    assert_int_equal(res.added, 8);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "16");
    /* The ledger holds the claim: 8 pages, from 8 to 16, for this VM. */
    assert_non_null(strstr(ledger(t), " 0 2048 held 8 16 8 memtest"));

    /* Undo twice: once back to 8, then nothing (the claim is gone). */
    assert_int_equal(memtest_undo_all(t, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    assert_null(strstr(ledger(t), "\nclaim "));
    assert_int_equal(memtest_undo_all(t, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
}

static void test_enough_free_pages_changes_nothing(void **state)
{
    struct memtest *t = *state;
    struct hugepage_reservation res;
    struct vmrun_error err = {0};
    assert_int_equal(reserve(t, 2048, 2, &res, &err), 0);
    assert_int_equal(res.added, 0);
    assert_int_equal(t->journal.seq, 0); /* nothing journaled: nothing changed */
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
}

/* What `vmrun check` is told (hugepages_need) is what the start then does
 * (hugepages_reserve): the same usable pages, the same shortfall added. */
static void test_need_is_what_reserve_does(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    struct hugepage_need hn;
    assert_int_equal(hugepages_for_size(19 << 20, 2048), 10); /* rounded up */
    assert_int_equal(hugepages_need(0, 2048, 2, &hn, &err), 0);
    assert_int_equal(hn.usable, 2);
    assert_int_equal(hn.shortfall, 0);
    assert_int_equal(hugepages_need(0, 2048, 10, &hn, &err), 0);
    assert_int_equal(hn.pool.free, 3);
    assert_int_equal(hn.usable, 2); /* 1 of the 3 free is promised to a mapping */
    assert_int_equal(hn.shortfall, 8);
    struct hugepage_reservation res;
    assert_int_equal(reserve(t, 2048, 10, &res, &err), 0);
    assert_int_equal(res.reused, hn.usable);
    assert_int_equal(res.added, hn.shortfall);
    assert_int_equal(memtest_undo_all(t, &err), 0);
    assert_int_equal(hugepages_need(0, 1048576, 1, &hn, &err), -ENOENT);
}

/* Two VMs in one pool: each stop gives back exactly its own pages, in
 * either order, and the pages someone else keeps stay. */
static void two_vms(struct memtest *a, int a_first)
{
    struct vmrun_error err = {0};
    struct hugepage_reservation res;
    setenv("VMRUN_RUN_DIR", a->dir, 1); /* one ledger for both */
    memtest_put(a->dir, POOL "nr_hugepages", "8");
    memtest_put(a->dir, POOL "free_hugepages", "0");
    struct memtest *b = memtest_new();
    snprintf(b->profile.name, sizeof(b->profile.name), "other");
    assert_int_equal(reserve(a, 2048, 6, &res, &err), 0);
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), "14");
    assert_int_equal(reserve(b, 2048, 2, &res, &err), 0);
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), "16");
    struct memtest *first = a_first ? a : b, *second = a_first ? b : a;
    assert_int_equal(memtest_undo_all(first, &err), 0);
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), a_first ? "10" : "14");
    assert_int_equal(memtest_undo_all(first, &err), 0); /* recover twice */
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), a_first ? "10" : "14");
    assert_int_equal(memtest_undo_all(second, &err), 0);
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), "8");
    assert_int_equal(memtest_undo_all(first, &err), 0);
    assert_int_equal(memtest_undo_all(second, &err), 0);
    assert_string_equal(memtest_get(a->dir, POOL "nr_hugepages"), "8");
    memtest_free(b);
    unsetenv("VMRUN_RUN_DIR");
}

static void test_two_vms_stop_in_start_order(void **state)
{
    two_vms(*state, 1);
}

static void test_two_vms_stop_in_reverse_order(void **state)
{
    two_vms(*state, 0);
}

/* A pending claim (its vmrun died between record and change) is settled
 * from the pool by whoever takes the lock next. */
static void test_pending_claim_is_settled(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    const char *id = "0123456789abcdef0123456789abcdef";
    /* Died after growing 8 -> 11 of an intended 8 -> 16. */
    memtest_put(t->dir, POOL "nr_hugepages", "11");
    memtest_put(t->dir, "/run/.hugepages.ledger", "claim %s 0 2048 pending 8 16 0 dead\n", id);
    struct hp_ledger l;
    assert_int_equal(hp_ledger_open(&l, NULL, NULL, &err), 0);
    hp_ledger_close(&l);
    assert_non_null(strstr(ledger(t), " 0 2048 held 8 16 3 dead"));
    cJSON *args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "node", 0);
    cJSON_AddNumberToObject(args, "page_kb", 2048);
    cJSON_AddStringToObject(args, "claim", id);
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    /* Died before growing: nothing is taken. */
    memtest_put(t->dir, "/run/.hugepages.ledger", "claim %s 0 2048 pending 8 16 0 dead\n", id);
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    cJSON_Delete(args);
}

static void test_damaged_ledger_changes_nothing(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    memtest_put(t->dir, "/run/.hugepages.ledger", "claim zz 0 2048 held\n");
    struct hugepage_reservation res;
    assert_int_equal(reserve(t, 2048, 10, &res, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "damaged at line 1"));
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
}

/* The record of a vmrun from before the ledger (count before + added). */
static void test_legacy_record(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    /* vmrun went 8 -> 16; another user then added 4: 20. */
    memtest_put(t->dir, POOL "nr_hugepages", "20");
    cJSON *args = cJSON_Parse("{\"node\":0,\"page_kb\":2048,\"before\":8,\"added\":8}");
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "12");
    /* Another user took pages away meanwhile: never below "before". */
    memtest_put(t->dir, POOL "nr_hugepages", "11");
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_string_equal(memtest_get(t->dir, POOL "nr_hugepages"), "8");
    cJSON_Delete(args);
}

static void test_missing_page_size_is_clear(void **state)
{
    struct memtest *t = *state;
    struct hugepage_reservation res;
    struct vmrun_error err = {0};
    assert_int_equal(reserve(t, 1048576, 1, &res, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "NUMA node 0 has no 1 GiB hugepage pool"));
}

static void test_malformed_record(void **state)
{
    (void)state;
    struct vmrun_error err = {0};
    cJSON *args = cJSON_Parse("{\"node\":0,\"page_kb\":2048,\"before\":-1,\"added\":2}");
    assert_int_equal(hugepages_undo(args, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "malformed"));
    cJSON_Delete(args);
    args = cJSON_Parse("{\"node\":0,\"page_kb\":2048,\"claim\":\"short\"}");
    assert_int_equal(hugepages_undo(args, &err), -EINVAL);
    cJSON_Delete(args);
}

static void test_node_choice(void **state)
{
    struct memtest *t = *state;
    struct vm_profile *p = &t->profile;
    int node = -7;
    char why[128];
    struct vmrun_error err = {0};

    /* Nothing to go by: node 0. */
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 0);

    /* An explicit node that does not exist. */
    p->memory.numa_node = 3;
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), -EINVAL);
    assert_non_null(strstr(err.msg, "memory.numa_node is 3"));
    assert_non_null(strstr(err.msg, "its nodes: 0-1"));
    p->memory.numa_node = 1;
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 1);
    p->memory.numa_node = -1;

    /* The first vCPU's node, from cpuN/nodeM ... */
    int cpus[] = {3, 0};
    memtest_set_vcpus(t, 2, cpus);
    memtest_put(t->dir, "/sys/devices/system/cpu/cpu3/node1/x", "%s", "");
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 1);
    /* ... or from the nodes' cpulists. */
    cpus[0] = 2;
    memtest_set_vcpus(t, 2, cpus);
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 1);

    /* A GPU wins over the vCPUs; a non-GPU device is no guide. */
    struct vm_pci pci[2] = {{.address = "0000:00:1f.3"}, {.address = "0000:01:00.0"}};
    p->pci = pci;
    p->n_pci = 2;
    memtest_put(t->dir, "/sys/bus/pci/devices/0000:00:1f.3/class", "0x040300\n");
    memtest_put(t->dir, "/sys/bus/pci/devices/0000:00:1f.3/numa_node", "1\n");
    memtest_put(t->dir, "/sys/bus/pci/devices/0000:01:00.0/class", "0x030000\n");
    memtest_put(t->dir, "/sys/bus/pci/devices/0000:01:00.0/numa_node", "0\n");
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 0);
    assert_non_null(strstr(why, "GPU 0000:01:00.0"));
    /* A GPU whose node is unknown (-1): back to the vCPUs. */
    memtest_put(t->dir, "/sys/bus/pci/devices/0000:01:00.0/numa_node", "-1\n");
    assert_int_equal(memory_pick_node(p, &node, why, sizeof(why), &err), 0);
    assert_int_equal(node, 1);
    p->pci = NULL;
    p->n_pci = 0;
}

static void test_find_hugetlbfs_mount(void **state)
{
    struct memtest *t = *state;
    char run[PATH_MAX + 8];
    snprintf(run, sizeof(run), "%s/run", t->dir);
    setenv("VMRUN_RUN_DIR", run, 1);
    memtest_put(t->dir, "/proc/meminfo", "MemTotal: 100 kB\nHugepagesize:       2048 kB\n");
    memtest_put(t->dir, "/proc/self/mountinfo",
                "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
                "40 1 0:40 / /mnt/ro rw - hugetlbfs hugetlbfs ro,pagesize=2M\n"
                "41 1 0:41 / %s/other/hugepages-2048kB rw - hugetlbfs hugetlbfs rw,pagesize=2M\n"
                "42 1 0:42 / /mnt/huge\\040pages rw,relatime shared:5 - hugetlbfs none "
                "rw,pagesize=2M\n"
                "43 1 0:43 / /mnt/gig rw,relatime - hugetlbfs none rw,pagesize=1024M\n"
                "44 1 0:44 / /dev/hugepages ro - hugetlbfs hugetlbfs rw\n",
                run);
    char dir[PATH_MAX];
    struct vmrun_error err = {0};
    assert_int_equal(hugetlbfs_find_mount(2048, dir, sizeof(dir), &err), 0);
    assert_string_equal(dir, "/mnt/huge pages");
    assert_int_equal(hugetlbfs_find_mount(1048576, dir, sizeof(dir), &err), 0);
    assert_string_equal(dir, "/mnt/gig");
    assert_int_equal(hugetlbfs_find_mount(16384, dir, sizeof(dir), &err), -ENOENT);
    /* No pagesize option: the default hugepage size. */
    memtest_put(t->dir, "/proc/self/mountinfo",
                "44 1 0:44 / /dev/hugepages rw - hugetlbfs hugetlbfs rw\n");
    assert_int_equal(hugetlbfs_find_mount(2048, dir, sizeof(dir), &err), 0);
    assert_string_equal(dir, "/dev/hugepages");
    unsetenv("VMRUN_RUN_DIR");
}

static void test_mount_and_file_undo_are_idempotent(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    char dir[PATH_MAX + 16], file[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/mnt", t->dir);
    snprintf(file, sizeof(file), "%s/f", dir);
    mkdir(dir, 0700);
    memtest_put(t->dir, "/mnt/f", "x");
    cJSON *fa = cJSON_CreateObject();
    cJSON_AddStringToObject(fa, "path", file);
    cJSON *ma = cJSON_CreateObject();
    cJSON_AddStringToObject(ma, "path", dir);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hugepage_file_undo(fa, &err), 0);
        /* Not a hugetlbfs here: only the directory is removed. */
        assert_int_equal(hugepage_mount_undo(ma, &err), 0);
    }
    assert_int_equal(access(dir, F_OK), -1);
    cJSON_Delete(fa);
    cJSON_Delete(ma);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpulist_forms),
        cmocka_unit_test_setup_teardown(test_reserve_only_the_shortfall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enough_free_pages_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_need_is_what_reserve_does, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_vms_stop_in_start_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_vms_stop_in_reverse_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_claim_is_settled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_ledger_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_page_size_is_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_hugetlbfs_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_and_file_undo_are_idempotent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
