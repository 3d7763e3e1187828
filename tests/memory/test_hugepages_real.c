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
#include <sys/stat.h>
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
/* Free pages in the pool when a test starts: the 8 the setup adds, and any
 * another user of this host keeps there (or leaked). */
static unsigned long others;
#define OTHERS others

static int setup(void **state)
{
    pool_at_start = read_ul(NR);
    write_ul(NR, pool_at_start + 8);
    if (read_ul(NR) != pool_at_start + 8)
        return -1;
    others = read_ul(FREE);
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

/* A's size: all the free pages reused and 24 added. */
#define A_SIZE (((uint64_t)others + 24) << 21)

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
    t->profile.memory.size = A_SIZE; /* the free pages reused, 24 added */
    t->profile.memory.hugepage_kb = 2048;
    unsigned long nr0 = read_ul(NR), free0 = read_ul(FREE);
    assert_int_equal(free0, OTHERS);

    struct vmrun_error err = {0};
    int r = memory_prepare(&t->hp, &err);
    if (r < 0)
        fail_msg("memory_prepare: %s", err.msg);
    assert_int_equal(t->hp.numa_node, 0);
    assert_true(t->hp.memory_file[0] == '/');
    assert_int_equal(read_ul(NR), nr0 + 24);
    assert_int_equal(read_ul(FREE), 0); /* every page is in the file now */
    char said[64];
    snprintf(said, sizeof(said), "%lu reused, 24 added", others);
    assert_non_null(strstr(t->said, said));

    /* What QEMU does: map the file (no prealloc) and find the pages there,
     * all huge, all on node 0. */
    int fd = open(t->hp.memory_file, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    size_t size = A_SIZE;
    volatile char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    for (size_t off = 0; off < size; off += 2 << 20)
        (void)m[off];
    unsigned long per_node[8];
    bool huge;
    assert_int_equal(numa_maps_pages(t->hp.memory_file, per_node, &huge), 1);
    assert_true(huge);
    assert_int_equal(per_node[0], others + 24);
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
    assert_non_null(strstr(err.msg, "node 0 has "));
    assert_non_null(strstr(err.msg, "in free blocks of 2 MiB or more"));
    assert_non_null(strstr(err.msg, "the largest reservation that would succeed now is"));
    assert_non_null(strstr(err.msg, "after compacting node 0"));
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
    /* Journaled, then crashed before the claim was written: the ledger
     * knows no such claim and the undo changes nothing, however often. */
    cJSON *args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "node", 0);
    cJSON_AddNumberToObject(args, "page_kb", 2048);
    cJSON_AddStringToObject(args, "claim", "00000000000000000000000000000001");
    cJSON_AddNumberToObject(args, "pages", 100);
    struct vmrun_error err = {0};
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_int_equal(hugepages_undo(args, &err), 0);
    assert_int_equal(read_ul(NR), nr0);
    cJSON_Delete(args);
}

/* ---- crashes, and two VMs sharing the pool ---------------------------- */

/* Where a prepare can be killed: after journal record N (the journal's
 * hook), or at a named point inside the hugepage step. */
struct crash {
    int after;         /* VMRUN_TEST_KILL_AFTER, 0: none */
    const char *point; /* VMRUN_TEST_KILL_AT, NULL: none */
};

static void crash_name(const struct crash *c, char *buf, size_t len)
{
    if (c->point != NULL)
        snprintf(buf, len, "at %s", c->point);
    else
        snprintf(buf, len, "after journal step %d", c->after);
}

static unsigned journal_records(const struct memtest *t)
{
    FILE *f = fopen(t->journal_path, "re");
    if (f == NULL)
        return 0;
    unsigned n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* What on this host could make a prepare take another path than the test
 * expects: others using the pool or a hugetlbfs mount appearing. */
static void describe_host(char *buf, size_t len)
{
    snprintf(buf, len, "node 0's 2 MiB pool: nr %lu, free %lu; hugetlbfs mounts:", read_ul(NR),
             read_ul(FREE));
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[1024];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, " - hugetlbfs ") == NULL)
            continue;
        char mnt[512];
        if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, " %s", mnt);
        }
    }
    if (f != NULL)
        fclose(f);
}

/* Prepare t's guest memory in a child that is killed at c; the child must
 * die by SIGKILL. A child that finished means the prepare took another
 * path than the test's dry run did, which only a busy host causes: say
 * what the host looks like instead of a bare assertion. */
static void prepare_and_crash(struct memtest *t, const struct crash *c, unsigned expected_steps)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char n[16];
        if (c->after > 0) {
            snprintf(n, sizeof(n), "%d", c->after);
            setenv("VMRUN_TEST_KILL_AFTER", n, 1);
        }
        if (c->point != NULL)
            setenv("VMRUN_TEST_KILL_AT", c->point, 1);
        struct vmrun_error err = {0};
        int r = memory_prepare(&t->hp, &err);
        if (r < 0)
            fprintf(stderr, "child: memory_prepare: %s\n", err.msg);
        _exit(r < 0 ? 1 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        char where[96], host[2048];
        crash_name(c, where, sizeof(where));
        describe_host(host, sizeof(host));
        fail_msg("the prepare was to be killed %s but %s after %u journal records (a dry run "
                 "made %u). Its path depends on the pool and mounts this test set up; another "
                 "user of this host's hugepages (not holding /run/lock/vmrun-hugepages.lock) "
                 "changed them. Now: %s",
                 where, WIFEXITED(status) ? "exited" : "died otherwise", journal_records(t),
                 expected_steps, host);
    }
}

/* Recover twice: the second must find nothing to do. */
static void recover_twice(struct memtest *t, const char *what)
{
    struct vmrun_error err = {0};
    for (int i = 0; i < 2; i++)
        if (memtest_undo_all(t, &err) < 0)
            fail_msg("%s: recover %d: %s", what, i + 1, err.msg);
}

static struct memtest *vm(const char *name, uint64_t size)
{
    struct memtest *t = memtest_new();
    snprintf(t->profile.name, sizeof(t->profile.name), "%s", name);
    t->profile.memory.size = size;
    t->profile.memory.hugepage_kb = 2048;
    return t;
}

static void assert_pool(unsigned long nr, unsigned long free_pages, const char *when)
{
    unsigned long got_nr = read_ul(NR), got_free = read_ul(FREE);
    if (got_nr != nr || got_free != free_pages)
        fail_msg("%s: node 0's pool is nr %lu free %lu, expected nr %lu free %lu (when nr and "
                 "free are off by the same amount, something on this host other than the test, "
                 "and not holding /run/lock/vmrun-hugepages.lock, resized the pool meanwhile)",
                 when, got_nr, got_free, nr, free_pages);
}

/* The journaled steps of a prepare on this host (reservation, mount,
 * file), counted in a run that is not killed and then undone. */
static unsigned dry_run_steps(void)
{
    struct memtest *t = vm("hp-dry", A_SIZE);
    struct vmrun_error err = {0};
    if (memory_prepare(&t->hp, &err) < 0)
        fail_msg("dry run: %s", err.msg);
    unsigned n = journal_records(t);
    recover_twice(t, "dry run");
    memtest_free(t);
    return n;
}

static size_t crash_points(struct crash *out, unsigned steps)
{
    size_t n = 0;
    out[n++] = (struct crash){.point = "hugepages-claimed"};
    out[n++] = (struct crash){.point = "hugepages-grown"};
    for (unsigned i = 1; i <= steps; i++)
        out[n++] = (struct crash){.after = (int)i};
    return n;
}

/* One VM killed at every point of its prepare, then recovered twice: the
 * pool is where it began each time. */
static void test_crash_then_recover(void **state)
{
    (void)state;
    unsigned long nr0 = read_ul(NR), free0 = read_ul(FREE);
    unsigned steps = dry_run_steps();
    assert_true(steps >= 2); /* the reservation and the file, at least */
    print_message("a start journals %u steps here; killing it at each and at 2 points inside the reservation\n", steps);
    struct crash points[16];
    size_t n = crash_points(points, steps);
    for (size_t i = 0; i < n; i++) {
        char where[96];
        crash_name(&points[i], where, sizeof(where));
        struct memtest *c = vm("hp-crash", A_SIZE);
        prepare_and_crash(c, &points[i], steps);
        recover_twice(c, where);
        assert_pool(nr0, free0, where);
        memtest_free(c);
    }
}

/* Two VMs on node 0, A (every free page reused, 24 added) and
 * B (32 MiB: 16 added), started A then B, stopped in either order. */
static void two_vms(bool a_first)
{
    unsigned long nr0 = read_ul(NR);
    struct memtest *a = vm("hp-a", A_SIZE), *b = vm("hp-b", 32ULL << 20);
    struct vmrun_error err = {0};
    if (memory_prepare(&a->hp, &err) < 0)
        fail_msg("A: %s", err.msg);
    char said[64];
    snprintf(said, sizeof(said), "%lu reused, 24 added", others);
    assert_non_null(strstr(a->said, said));
    if (memory_prepare(&b->hp, &err) < 0)
        fail_msg("B: %s", err.msg);
    assert_non_null(strstr(b->said, "0 reused, 16 added"));
    assert_pool(nr0 + 40, 0, "A and B running");
    struct memtest *first = a_first ? a : b, *second = a_first ? b : a;
    recover_twice(first, a_first ? "stop A" : "stop B");
    /* A gone: B's 16 pages in use, the others' 8 free. B gone: A's 32. */
    if (a_first)
        assert_pool(nr0 + 16, OTHERS, "B still running");
    else
        assert_pool(nr0 + 24, 0, "A still running");
    recover_twice(second, "stop the other");
    assert_pool(nr0, OTHERS, "both stopped");
    memtest_free(a);
    memtest_free(b);
}

static void test_two_vms_stop_a_then_b(void **state)
{
    (void)state;
    two_vms(true);
}

static void test_two_vms_stop_b_then_a(void **state)
{
    (void)state;
    two_vms(false);
}

/* A runs while B crashes at every point of its start (and is recovered
 * twice); and B starts while A's crashed start is still unrecovered (B's
 * ledger lock settles A's claim). The pool ends where it began. */
static void test_two_vms_with_crashes(void **state)
{
    (void)state;
    unsigned long nr0 = read_ul(NR);
    unsigned steps = dry_run_steps();
    struct crash points[16];
    size_t n = crash_points(points, steps);
    struct vmrun_error err = {0};
    for (size_t i = 0; i < n; i++) {
        char where[96], what[160];
        crash_name(&points[i], where, sizeof(where));

        struct memtest *a = vm("hp-a", A_SIZE), *b = vm("hp-b", 32ULL << 20);
        if (memory_prepare(&a->hp, &err) < 0)
            fail_msg("A: %s", err.msg);
        prepare_and_crash(b, &points[i], steps);
        snprintf(what, sizeof(what), "B killed %s, recovered, A running", where);
        recover_twice(b, what);
        assert_pool(nr0 + 24, 0, what);
        recover_twice(a, "stop A");
        assert_pool(nr0, OTHERS, "A stopped too");
        memtest_free(a);
        memtest_free(b);

        a = vm("hp-a", A_SIZE);
        b = vm("hp-b", 32ULL << 20);
        prepare_and_crash(a, &points[i], steps);
        if (memory_prepare(&b->hp, &err) < 0)
            fail_msg("B after A was killed %s: %s", where, err.msg);
        snprintf(what, sizeof(what), "A killed %s, B started, A recovered", where);
        recover_twice(a, what);
        recover_twice(b, "stop B");
        assert_pool(nr0, OTHERS, what);
        memtest_free(a);
        memtest_free(b);
    }
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "needs root (real hugepages)\n");
        return 77;
    }
    /* One ledger for every fixture: they are VMs of one host. */
    char run[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(run, sizeof(run), "%s/run", tmp != NULL ? tmp : "/tmp");
    mkdir(run, 0755);
    setenv("VMRUN_RUN_DIR", run, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserve_place_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undo_of_change_that_never_happened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_vms_stop_a_then_b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_vms_stop_b_then_a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_vms_with_crashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shortfall, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
