/* Reading and writing the small one-value files of sysfs, procfs and
 * cgroupfs ("2048\n", "performance\n", "0-3\n").
 *
 * Writes are one write() of the whole value, as the kernel expects; the
 * errno the kernel returns (EINVAL, EBUSY, ENOSPC...) is passed back
 * unchanged so callers can tell a refused value from a missing file. In a
 * simulated host (a temp tree of regular files) the file is also truncated
 * to the new value, which the real pseudo file systems neither need nor
 * want. */
#ifndef VMRUN_HOSTFILE_H
#define VMRUN_HOSTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Read the whole file into buf (NUL-terminated), trailing whitespace
 * removed. Returns 0 or a negative errno (-EFBIG when it does not fit). */
int hostfile_read(const char *path, char *buf, size_t len);

/* Read one unsigned decimal number. -EINVAL when the file holds anything
 * else. */
int hostfile_read_ulong(const char *path, unsigned long *out);

/* Read one signed decimal number (numa_node holds -1). */
int hostfile_read_long(const char *path, long *out);

/* Write value in one write(). Returns 0 or a negative errno. */
int hostfile_write(const char *path, const char *value);

int hostfile_write_ulong(const char *path, unsigned long value);

bool hostfile_exists(const char *path);

/* vmrun's own small files (state.json, what it remembers of a VM): write
 * content into dir/.name.tmp (mode 0600, never through a link), then
 * rename it over dir/name, so a reader sees the old file or the new one,
 * never half of one. 0 or a negative errno. */
int hostfile_replace(const char *dir, const char *name, const char *content);

#endif
