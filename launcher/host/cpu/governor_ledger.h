/* The governor ledger: what each CPU's cpufreq governor was before any VM
 * changed it, and which VMs want which governor on it now, so that VMs
 * stopping in any order leave every CPU with the host's own governor.
 *
 * Each VM used to journal the governor it found and put that back: with A
 * (performance) and then B (powersave) on the same CPUs, stopping A first
 * gave them A's "previous" (schedutil) while B ran, and stopping B then
 * gave them B's "previous" (performance): the host's schedutil was lost.
 *
 * One file for the host, <run root>/.governors.ledger (on tmpfs: it goes
 * with a reboot, as the governors do), read and written under an exclusive
 * flock on <run root>/.governors.lock (sys/lockfile.h). Lines:
 *   host PATH GOVERNOR         the host's governor of the CPU whose
 *                              scaling_governor file is PATH (the path,
 *                              not the CPU number: a test's simulated
 *                              sysfs is another CPU)
 *   claim ID PATH GOVERNOR VM  a VM wants GOVERNOR there; later lines are
 *                              later claims
 * A claim's first on a CPU records the host's governor. Giving a claim up
 * sets each of its CPUs to the latest other claim's governor there, or,
 * with none left, back to the host's, and forgets the host line. The
 * ledger is written before the governors are, and a claim is removed only
 * once its CPUs are set, so a crash at any point leaves a claim for
 * `vmrun recover` to give up, and giving up twice changes nothing. */
#ifndef VMRUN_GOVERNOR_LEDGER_H
#define VMRUN_GOVERNOR_LEDGER_H

#include <limits.h>
#include <stddef.h>

#include "base/error.h"

#define GOV_LEDGER_WAIT_S 300
#define GOV_CLAIM_ID_LEN 32

struct gov_line {
    char kind;       /* 'h' host, 'c' claim */
    char id[GOV_CLAIM_ID_LEN + 1];
    char path[PATH_MAX];
    char governor[64];
    char vm[65];
};

struct gov_ledger {
    int lock_fd;
    char path[PATH_MAX];
    struct gov_line *lines;
    size_t n, cap;
};

int gov_ledger_open(struct gov_ledger *l, struct vmrun_error *err);
void gov_ledger_close(struct gov_ledger *l);
int gov_ledger_save(struct gov_ledger *l, struct vmrun_error *err);

/* The host line of path, NULL when none. */
struct gov_line *gov_ledger_host(struct gov_ledger *l, const char *path);
/* The latest claim on path, NULL when none. */
struct gov_line *gov_ledger_latest(struct gov_ledger *l, const char *path);
int gov_ledger_add(struct gov_ledger *l, const struct gov_line *line, struct vmrun_error *err);
void gov_ledger_remove(struct gov_ledger *l, struct gov_line *line);

#endif
