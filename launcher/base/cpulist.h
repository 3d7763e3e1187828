/* Sets of host CPUs and the two text forms the kernel uses for them:
 * lists ("0-3,8,10-11": cpulist, cpuset.cpus, smp_affinity_list) and hex
 * masks in 32-bit comma-separated groups ("00000000,000000ff": workqueue
 * cpumask, smp_affinity). */
#ifndef VMRUN_CPULIST_H
#define VMRUN_CPULIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX 4096

struct cpuset_bits {
    uint64_t w[CPUSET_MAX / 64];
};

void cpuset_zero(struct cpuset_bits *s);
void cpuset_add(struct cpuset_bits *s, unsigned cpu);
void cpuset_del(struct cpuset_bits *s, unsigned cpu);
bool cpuset_has(const struct cpuset_bits *s, unsigned cpu);
size_t cpuset_count(const struct cpuset_bits *s);
bool cpuset_empty(const struct cpuset_bits *s);
bool cpuset_equal(const struct cpuset_bits *a, const struct cpuset_bits *b);
bool cpuset_intersects(const struct cpuset_bits *a, const struct cpuset_bits *b);
/* a = a & ~b */
void cpuset_remove_all(struct cpuset_bits *a, const struct cpuset_bits *b);
/* Next member >= from, or -1. */
int cpuset_next(const struct cpuset_bits *s, unsigned from);

/* "0-3,8" (whitespace around it allowed; "" is the empty set).
 * Returns 0 or -EINVAL (also for CPUs >= CPUSET_MAX). */
int cpulist_parse(const char *text, struct cpuset_bits *out);
/* Shortest list form ("0-3,8"; "" for the empty set). 0 or -ENAMETOOLONG. */
int cpulist_format(const struct cpuset_bits *s, char *buf, size_t len);

/* Kernel hex mask: groups of 8 hex digits separated by commas, most
 * significant first; leading groups may be omitted. */
int cpumask_parse(const char *text, struct cpuset_bits *out);
/* Written with as many 32-bit groups as `groups` (at least the ones needed),
 * so the result has the same shape as what the kernel showed. */
int cpumask_format(const struct cpuset_bits *s, unsigned groups, char *buf, size_t len);

#endif
