/* state.json: what a running supervisor publishes about its VM for
 * `vmrun status` and `vmrun list`. Written atomically (rename). */
#ifndef VMRUN_VMSTATE_H
#define VMRUN_VMSTATE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "profile/profile.h"
#include "qemu/pin.h"

struct vm_state {
    char name[PROFILE_NAME_MAX + 1];
    char state[16]; /* preparing | running | stopping */
    char profile[PATH_MAX];
    pid_t supervisor_pid;
    pid_t qemu_pid;
    time_t started_at;
    struct qemu_threads threads;
    uint64_t memory_bytes;
    unsigned hugepage_kb;
    int numa_node;
    char memory_file[PATH_MAX];
    unsigned vfio_groups[64];
    size_t n_vfio_groups;
};

/* Serialise; the profile adds the pinning asked for. Caller frees. */
char *vm_state_to_json(const struct vm_state *st, const struct vm_profile *p);

/* Parse state.json text. Returns 0 or -EINVAL. */
int vm_state_from_json(const char *text, struct vm_state *st);

#endif
