/* Shared helpers of the memory and CPU tests: a scratch directory, a fake
 * host tree under it, and a host_prep with a journal in it. */
#ifndef VMRUN_TEST_MEMTEST_H
#define VMRUN_TEST_MEMTEST_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan/hostprep.h"
#include "plan/undo.h"
#include "journal/journal.h"
#include "profile/profile.h"

struct memtest {
    char dir[1024]; /* scratch */
    char journal_path[1100];
    struct journal journal;
    struct vm_profile profile;
    struct host_prep hp;
    char said[8192]; /* everything hp->say was given, one line each */
    bool own_run_dir; /* VMRUN_RUN_DIR points into dir: unset it at the end */
};

static inline void memtest_say(void *opaque, const char *msg)
{
    struct memtest *t = opaque;
    size_t used = strlen(t->said);
    snprintf(t->said + used, sizeof(t->said) - used, "%s\n", msg);
}

/* mkdir -p for the directory part of path, then write content. */
static inline void memtest_put(const char *root, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void memtest_put(const char *root, const char *rel, const char *fmt, ...)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        perror(path);
        abort();
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* The content of root+rel, trailing newline removed ("<missing>" if none). */
static inline const char *memtest_get(const char *root, const char *rel)
{
    static char buf[8192];
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return "<missing>";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return buf;
}

static inline int memtest_rm_rf(const char *dir)
{
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static inline struct memtest *memtest_new(void)
{
    struct memtest *t = calloc(1, sizeof(*t));
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/vmrun-memtest-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(t->dir) == NULL)
        abort();
    snprintf(t->journal_path, sizeof(t->journal_path), "%s/journal", t->dir);
    struct vmrun_error err = {0};
    if (journal_open(&t->journal, t->journal_path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    /* The run root holds the hugepage ledger: one per fixture unless the
     * caller set VMRUN_RUN_DIR already (several fixtures sharing one). */
    if (getenv("VMRUN_RUN_DIR") == NULL) {
        char run[1100];
        snprintf(run, sizeof(run), "%s/run", t->dir);
        mkdir(run, 0755);
        setenv("VMRUN_RUN_DIR", run, 1);
        t->own_run_dir = true;
    }
    snprintf(t->profile.name, sizeof(t->profile.name), "memtest");
    t->profile.memory.numa_node = -1;
    t->hp.profile = &t->profile;
    t->hp.journal = &t->journal;
    t->hp.runtime_dir = t->dir;
    t->hp.say = memtest_say;
    t->hp.say_opaque = t;
    t->hp.numa_node = -1;
    return t;
}

/* A simulated host: the sysfs and procfs roots point at the fixture's own
 * tree (t->dir/sys, t->dir/proc) until memtest_fake_host_end(). */
static inline struct memtest *memtest_fake_host(void)
{
    struct memtest *t = memtest_new();
    char root[PATH_MAX + 8];
    snprintf(root, sizeof(root), "%s/sys", t->dir);
    setenv("VMRUN_SYSFS_ROOT", root, 1);
    snprintf(root, sizeof(root), "%s/proc", t->dir);
    setenv("VMRUN_PROCFS_ROOT", root, 1);
    return t;
}

static inline void memtest_free(struct memtest *t)
{
    if (t == NULL)
        return;
    journal_close(&t->journal);
    if (t->own_run_dir)
        unsetenv("VMRUN_RUN_DIR");
    free(t->profile.cpu.vcpus.cpus);
    free(t->profile.cpu.governor);
    memtest_rm_rf(t->dir);
    free(t);
}

/* Undo the whole journal (as `vmrun recover` does); returns its result. */
static inline void memtest_fake_host_end(struct memtest *t)
{
    memtest_free(t);
    unsetenv("VMRUN_SYSFS_ROOT");
    unsetenv("VMRUN_PROCFS_ROOT");
}

static inline int memtest_recover(struct memtest *t, struct vmrun_error *err)
{
    journal_close(&t->journal);
    return journal_recover(t->journal_path, NULL, NULL, err);
}

/* Undo every record of the journal without deleting it (can run twice). */
static inline int memtest_undo_all(struct memtest *t, struct vmrun_error *err)
{
    struct journal_entries e;
    int r = journal_load(t->journal_path, &e, err);
    if (r < 0)
        return r;
    r = journal_undo(&e, 0, NULL, NULL, err);
    journal_entries_free(&e);
    return r;
}

static inline void memtest_set_vcpus(struct memtest *t, size_t n, const int *cpus)
{
    free(t->profile.cpu.vcpus.cpus);
    t->profile.cpu.vcpus.cpus = calloc(n ? n : 1, sizeof(int));
    memcpy(t->profile.cpu.vcpus.cpus, cpus, n * sizeof(int));
    t->profile.cpu.vcpus.n = n;
}

#endif
