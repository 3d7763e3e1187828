/* What /proc says of a process that vmrun needs to tell it from a later
 * one with the same pid. */
#ifndef VMRUN_PROC_STAT_H
#define VMRUN_PROC_STAT_H

#include <sys/types.h>

/* The start time of a process (field 22 of /proc/PID/stat, in clock ticks
 * since boot), 0 when it is gone: a pid with the same start time is the
 * same process. */
unsigned long long proc_start_time(pid_t pid);

#endif
