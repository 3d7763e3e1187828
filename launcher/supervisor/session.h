/* The supervisor of a VM started through sudo or pkexec, in a session of
 * its own.
 *
 * sudo relays to the process it ran the signals the caller sends sudo
 * (the caller may: sudo keeps their real uid), and answers SIGALRM by
 * ending that process with HUP, TERM and then KILL; a terminal sends
 * INT, QUIT and TSTP to its foreground process group. The process that
 * holds the host's changes, and locks other users wait for, must be
 * reached by none of that but a request to stop. So vmrun, started in
 * the foreground through sudo or pkexec, forks: the child becomes the
 * supervisor, in a new session (no terminal, no process group of sudo's),
 * and the parent stays behind as what sudo and the terminal see. The
 * parent relays INT, TERM and HUP to the supervisor (an orderly stop, as
 * before), ignores the rest (sys/signals.h), and exits with the
 * supervisor's exit code. If the parent is killed, the supervisor is told
 * to stop (SIGTERM, the kernel's parent-death signal): the VM stops in
 * order and the host is put back, never left to `vmrun recover`.
 * The supervisor keeps the terminal as its output. */
#ifndef VMRUN_SESSION_H
#define VMRUN_SESSION_H

/* Run fn(arg) as described; returns its exit code (1 when the supervisor
 * could not be started). When the supervisor died of a signal, the calling
 * process ends with the same signal. */
int supervise_in_own_session(int (*fn)(void *arg), void *arg);

#endif
