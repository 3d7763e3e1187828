/* Real hugepages on this host's node 0: reservation, placement, release,
 * the shortfall path and crash recovery. Run through run-real.sh, which
 * restores the pool whatever happens here. Needs root and hugetlbfs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "host/memory/hugepages.h"
#include "host/memory/memory_prep.h"
#include "memtest.h"

#define NR "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
#define FREE "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"

static unsigned long read_ul(const char *path)
{
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    unsigned long v = 0;
    assert_int_equal(fscanf(f, "%lu", &v), 1);
    fclose(f);
    return v;
}

static void write_ul(const char *path, unsigned long v)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fprintf(f, "%lu", v);
    assert_int_equal(fclose(f), 0);
}

/* The test's own pages: others' pages vmrun must leave alone. */
static unsigned long pool_at_start;
#define OTHERS 8

static int setup(void **state)
{
    pool_at_start = read_ul(NR);
    write_ul(NR, pool_at_start + OTHERS);
    if (read_ul(NR) != pool_at_start + OTHERS)
        return -1;
    *state = memtest_new();
    return 0;
}

static int teardown(void **state)
{
    struct memtest *t = *state;
    struct vmrun_error err = {0};
    (void)memtest_recover(t, &err);
    memtest_free(t);
    write_ul(NR, pool_at_start);
    return 0;
}

/* Count the pages of `path` mapped in this process, per node, from
 * /proc/self/numa_maps. Returns the number of nodes holding any. */
static int numa_maps_pages(const char *path, unsigned long per_node[8], bool *huge)
{
    memset(per_node, 0, 8 * sizeof(unsigned long));
    *huge = false;
    FILE *f = fopen("/proc/self/numa_maps", "re");
    assert_non_null(f);
    char line[4096];
    char key[PATH_MAX + 8];
    snprintf(key, sizeof(key), "file=%s ", path);
    int nodes = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, key) == NULL)
            continue;
        *huge = strstr(line, " huge ") != NULL;
        for (char *p = line; (p = strstr(p, " N")) != NULL; p++) {
            unsigned n;
            unsigned long c;
            if (sscanf(p, " N%u=%lu", &n, &c) == 2 && n < 8) {
                per_node[n] += c;
                nodes++;
            }
        }
    }
    fclose(f);
    return nodes;
}

static void test_reserve_place_release(void **state)
{
    struct memtest *t = *state;
    t->profile.memory.size = 64ULL << 20; /* 32 pages: 8 reused, 24 added */
    t->profile.memory.hugepage_kb = 2048;
    unsigned long nr0 = read_ul(NR), free0 = read_ul(FREE);
    assert_int_equal(free0, OTHERS);

    struct vmrun_error err = {0};
    int r = memory_prepare(&t->hp, &err);
    if (r < 0)
        fail_msg("memory_prepare: %s", err.msg);
    assert_int_equal(t->hp.numa_node, 0);
    assert_true(t->hp.memory_file[0] == '/');
    assert_int_equal(read_ul(NR), nr0 + 32 - OTHERS);
    assert_int_equal(read_ul(FREE), 0); /* every page is in the file now */
    assert_non_null(strstr(t->said, "8 reused, 24 added"));

    /* What QEMU does: map the file (no prealloc) and find the pages there,
     * all huge, all on node 0. */
    int fd = open(t->hp.memory_file, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    size_t size = 64ULL << 20;
    volatile char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    for (size_t off = 0; off < size; off += 2 << 20)
        (void)m[off];
    unsigned long per_node[8];
    bool huge;
    assert_int_equal(numa_maps_pages(t->hp.memory_file, per_node, &huge), 1);
    assert_true(huge);
    assert_int_equal(per_node[0], 32);
    assert_int_equal(read_ul(FREE), 0); /* mapping allocated nothing new */
    munmap((void *)m, size);
    close(fd);

    /* After the VM: the file goes, the pool shrinks by what was added and
     * the test's own 8 pages are back, free. */
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s", t->hp.memory_file);
    r = memtest_undo_all(t, &err);
    if (r < 0)
        fail_msg("undo: %s", err.msg);
    assert_int_equal(read_ul(NR), nr0);
    assert_int_equal(read_ul(FREE), OTHERS);
    assert_int_equal(access(file, F_OK), -1);
    /* Undo again: nothing changes. */
    r = memtest_undo_all(t, &err);
    if (r < 0)
        fail_msg("second undo: %s", err.msg);
    assert_int_equal(read_ul(NR), nr0);
    assert_int_equal(read_ul(FREE), OTHERS);
}

static void test_shortfall(void **state)
{
    struct memtest *t = *state;
    t->profile.memory.size = 64ULL << 30; /* more than this host has */
    t->profile.memory.hugepage_kb = 2048;
    unsigned long nr0 = read_ul(NR), free0 = read_ul(FREE);

    struct vmrun_error err = {0};
    int r = memory_prepare(&t->hp, &err);
    assert_int_equal(r, -ENOMEM);
    print_message("shortfall message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "wanted 32768 (64 GiB)"));
    assert_non_null(strstr(err.msg, "got "));
    assert_non_null(strstr(err.msg, "of free memory"));
    assert_non_null(strstr(err.msg, "the largest reservation that would succeed now is"));
    assert_non_null(strstr(err.msg, "after compacting memory"));
    /* Given back before the message was written. */
    assert_int_equal(read_ul(NR), nr0);
    assert_int_equal(read_ul(FREE), free0);
    assert_string_equal(t->hp.memory_file, "");
    /* And the plan's undo of the same journal changes nothing more. */
    r = memtest_recover(t, &err);
    assert_int_equal(r, 0);
    assert_int_equal(read_ul(NR), nr0);
}

static void test_undo_of_change_that_never_happened(void **state)
{
    (void)state;
    unsigned long nr0 = read_ul(NR);
    /* Recorded, then crashed before writing: the pool is still at "before". */
    cJSON *args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "node", 0);
    cJSON_AddNumberToObject(args, "page_kb", 2048);
    cJSON_AddNumberToObject(args, "before", (double)nr0);
    cJSON_AddNumberToObject(args, "added", 100);
    struct vmrun_error err = {0};
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_int_equal(read_ul(NR), nr0);
    /* The record of an earlier run whose "before" is now below the pool
     * (others added pages since): takes nothing under its own "added". */
    cJSON_ReplaceItemInObject(args, "before", cJSON_CreateNumber((double)nr0 - OTHERS));
    cJSON_ReplaceItemInObject(args, "added", cJSON_CreateNumber(0));
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_int_equal(read_ul(NR), nr0);
    cJSON_Delete(args);
}

/* A crash right after each journaled change (the journal's kill hook); then
 * `vmrun recover` (journal_recover) must put the pool back. */
static void test_crash_then_recover(void **state)
{
    struct memtest *t = *state;
    unsigned long nr0 = read_ul(NR), free0 = read_ul(FREE);
    for (int step = 1; step <= 3; step++) {
        struct memtest *c = memtest_new();
        c->profile.memory.size = 32ULL << 20;
        c->profile.memory.hugepage_kb = 2048;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char n[16];
            snprintf(n, sizeof(n), "%d", step);
            setenv("VMRUN_TEST_KILL_AFTER", n, 1);
            struct vmrun_error err = {0};
            (void)memory_prepare(&c->hp, &err);
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_not_equal(read_ul(NR), nr0); /* the crash left pages behind */
        struct vmrun_error err = {0};
        int r = memtest_recover(c, &err);
        if (r < 0)
            fail_msg("recover after step %d: %s", step, err.msg);
        assert_int_equal(read_ul(NR), nr0);
        assert_int_equal(read_ul(FREE), free0);
        memtest_free(c);
    }
    (void)t;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "needs root (real hugepages)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserve_place_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undo_of_change_that_never_happened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shortfall, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
