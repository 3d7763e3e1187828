/* Status lines: library code tells its caller what it is doing through a
 * callback (void (*say)(void *opaque, const char *msg)), which the CLI
 * prints; a NULL callback says nothing. */
#ifndef VMRUN_SAY_H
#define VMRUN_SAY_H

/* Format one line and hand it to say, when say is not NULL. */
void vmrun_say(void (*say)(void *opaque, const char *msg), void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
