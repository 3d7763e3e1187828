/* A machine-wide lock of vmrun's: an exclusive flock on a file of root's
 * that is never replaced, waited for a bounded time.
 *
 * No process may keep every other vmrun waiting for ever: a holder works
 * for seconds (it cannot be stopped by the user it works for, see
 * sys/signals.h), and a waiter gives up after the time given, naming the
 * holder, whose pid the holder writes into the file. */
#ifndef VMRUN_LOCKFILE_H
#define VMRUN_LOCKFILE_H

#include "base/error.h"

/* Open (creating, 0600) and lock path, waiting at most wait_s seconds;
 * waiting(opaque), when given, is called once before a wait. Returns the
 * locked fd (close it to let go), -ETIMEDOUT with err naming the holder,
 * or another negative errno. */
int lockfile_take(const char *path, int wait_s, void (*waiting)(void *opaque), void *opaque,
                  struct vmrun_error *err);

#endif
