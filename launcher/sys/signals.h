/* Signals a user can send to root's vmrun, and what children start with.
 *
 * A user cannot signal a root process directly, but through others:
 * sudo (whose process keeps the caller's real uid, so the caller may
 * signal it) relays HUP, INT, QUIT, TERM, TSTP, USR1, USR2, PIPE and
 * WINCH to the command, and answers ALRM by ending the command (HUP, TERM,
 * then KILL); a terminal sends INT, QUIT and TSTP to its foreground, and
 * TTIN and TTOU stop a background job that reads or writes it. Of those,
 * INT, TERM and HUP are how a user stops a VM (the supervisor turns them
 * into an orderly stop); every other one must neither end root's vmrun
 * half way nor stop it while it holds a lock other users wait for. So as
 * root vmrun ignores QUIT, TSTP, TTIN, TTOU, USR1, USR2 and PIPE (a write
 * to a closed pipe fails with EPIPE instead), and the supervisor of a VM
 * started through sudo or pkexec runs in a session of its own, where
 * nothing sudo or the terminal sends reaches it (supervisor/session.h). */
#ifndef VMRUN_SIGNALS_H
#define VMRUN_SIGNALS_H

/* Ignore what a user can make sudo or a terminal send, but the stop
 * signals (above). */
void signals_shield(void);

/* Every signal at its default disposition: in a child, before exec, so
 * QEMU and helpers start as programs expect (async-signal-safe). */
void signals_default_all(void);

#endif
