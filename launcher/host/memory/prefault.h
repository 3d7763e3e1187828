/* The guest's memory file on hugetlbfs, placed on one NUMA node and
 * populated before QEMU starts.
 *
 * vmrun creates the file, maps it, binds the mapping to the node
 * (mbind MPOL_BIND) and populates it with several threads pinned to that
 * node's CPUs; then unmaps it. The pages stay in the file, so QEMU maps an
 * already-populated file (prealloc=off) and starts at once, and the pages
 * are where the policy put them, whatever CPU QEMU's threads later run on.
 *
 * Journal ops: "hugepage-mount" (a private hugetlbfs mount when the host has
 * none of the right page size; undone by umount + rmdir) and
 * "hugepage-file" (undone by unlink, which returns the pages to the pool). */
#ifndef VMRUN_PREFAULT_H
#define VMRUN_PREFAULT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "journal/journal.h"

/* Find a hugetlbfs mount whose page size is page_kb in /proc/self/mountinfo.
 * Returns 0 with its path in buf, -ENOENT when there is none. */
int hugetlbfs_find_mount(unsigned page_kb, char *buf, size_t len, struct vmrun_error *err);

/* Mount a private hugetlbfs of page_kb at dir (created), journaled. */
int hugetlbfs_mount_private(struct journal *j, const char *dir, unsigned page_kb,
                            struct vmrun_error *err);

/* Create (exclusively) the file at path with `size` bytes, journaled.
 * Returns the open fd (O_RDWR|O_CLOEXEC) in *fd. */
int hugepage_file_create(struct journal *j, const char *path, uint64_t size, int *fd,
                         struct vmrun_error *err);

/* Called about ten times a second while prefaulting, once it has taken more
 * than a second, and a last time with done == total. */
typedef void (*prefault_progress_fn)(void *opaque, uint64_t done, uint64_t total);

struct prefault_stats {
    unsigned threads;
    double seconds;
};

/* Map `size` bytes of the hugetlbfs file fd, bind them to `node` (-1: no
 * binding), populate them with `threads` threads (0: one per CPU of the
 * node, at most 16) pinned to the node's CPUs, unmap. */
int prefault_file(int fd, uint64_t size, int node, unsigned threads, prefault_progress_fn progress,
                  void *opaque, struct prefault_stats *stats, struct vmrun_error *err);

/* A one-line progress bar on stderr, redrawn in place (opaque unused). */
void prefault_progress_stderr(void *opaque, uint64_t done, uint64_t total);

/* Journal ops. */
int hugepage_mount_undo(const cJSON *args, struct vmrun_error *err);
void hugepage_mount_describe(const cJSON *args, char *buf, size_t len);
int hugepage_file_undo(const cJSON *args, struct vmrun_error *err);
void hugepage_file_describe(const cJSON *args, char *buf, size_t len);

#endif
