/* A small QMP client over a unix socket.
 *
 * The state machine follows QEMU's own python client: read the greeting,
 * negotiate with qmp_capabilities, then send commands each carrying a unique
 * "id" and wait for the reply with that id. Asynchronous events are queued
 * apart for the caller to drain; replies with an id we did not send (or one
 * we stopped waiting for) are dropped; an error reply without an id ends the
 * session.
 *
 * Functions return 0 (or a count, where said) or a negative errno; the
 * reason, as a sentence, is available from qmp_last_error(). Nothing here
 * prints or exits.
 *
 * Timeouts are in milliseconds, measured on CLOCK_MONOTONIC from the call;
 * a negative timeout waits without limit.
 *
 * Signals: a signal that interrupts a wait (EINTR) never fails a call; the
 * wait resumes with the time left until the same deadline. So a supervisor's
 * handlers only set flags, and the flags are looked at when the call returns,
 * at the latest when its timeout expires; the protocol is never left half
 * way through a message.
 *
 * The session ends (and every later call returns the same error and message)
 * when QEMU closes the socket (-EPIPE, or -ECONNRESET), sends a line that is
 * not a QMP message (-EBADMSG), a line longer than QMP_MAX_MESSAGE
 * (-EMSGSIZE), or an error without an id (-EPROTO: QEMU's answer to input it
 * could not parse, after which the two sides no longer agree). Events
 * received before the end stay queued: drain them after an error too (the
 * SHUTDOWN event usually arrives just before QEMU closes the socket).
 * A timeout (-ETIMEDOUT) does not end the session: a late reply is dropped.
 *
 * One client is used by one thread at a time. */
#ifndef VMRUN_QMP_H
#define VMRUN_QMP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* QEMU runs as an ordinary user and may say anything: what it sends is
 * bounded in bytes, so a QEMU that floods events or sends huge lines keeps
 * the (root) client within a few MiB.
 *
 * A longer line is a protocol error. The largest reply vmrun asks for is
 * query-cpus-fast, under 200 bytes per vCPU (about 180 KiB for 1024). */
#define QMP_MAX_MESSAGE (512 * 1024)

/* Events queued and not drained beyond these are dropped, oldest first, so
 * a caller that never drains cannot grow memory without bound. */
#define QMP_MAX_QUEUED_EVENTS 256
#define QMP_MAX_QUEUED_BYTES (256 * 1024)

/* An event whose message is longer keeps its name but loses its data (no
 * event vmrun reads carries more than a few hundred bytes). */
#define QMP_MAX_EVENT_BYTES 4096

struct qmp_client;

struct qmp_event {
    char *name;                /* "SHUTDOWN", "POWERDOWN", ... */
    cJSON *data;               /* may be NULL */
    long long ts_sec, ts_usec; /* QEMU's timestamp; 0 when it sent none */
};

/* Connect to the unix socket at path, retrying until timeout_ms passes (QEMU
 * creates the socket a little after it starts), read the greeting and
 * negotiate capabilities, all within timeout_ms. The socket is SOCK_CLOEXEC.
 * When the socket never accepted a connection, returns the last connect()
 * error (-ENOENT: never created; -ECONNREFUSED: nobody listening). On failure
 * *out is untouched and qmp_last_error(NULL) gives the reason. */
int qmp_connect(const char *path, int timeout_ms, struct qmp_client **out);

/* Use an already-connected stream socket (tests: one end of a socketpair):
 * greeting and capabilities as above. Takes the fd, also on failure; it is
 * made non-blocking and close-on-exec. */
int qmp_open_fd(int fd, int timeout_ms, struct qmp_client **out);

/* Close the socket and free everything, queued events included. NULL is
 * accepted. */
void qmp_close(struct qmp_client *c);

/* The fd, for poll() in a supervisor loop (POLLIN, then qmp_pump). */
int qmp_fd(const struct qmp_client *c);

/* QEMU's version from the greeting: major, minor, micro. */
void qmp_version(const struct qmp_client *c, int *major, int *minor, int *micro);

/* Execute cmd with optional args (a JSON object; ownership is taken, also on
 * failure; NULL for none) and wait up to timeout_ms for its reply. On success
 * *ret (if not NULL) receives the "return" value, which the caller frees with
 * cJSON_Delete (on failure *ret is NULL). A QMP error reply gives -EREMOTEIO
 * with its class and desc in the last error; the session goes on. No reply in
 * time gives -ETIMEDOUT. Events that arrive meanwhile are queued. */
int qmp_execute(struct qmp_client *c, const char *cmd, cJSON *args, cJSON **ret, int timeout_ms);

/* qmp_execute(), with one file descriptor passed to QEMU alongside the
 * command (SCM_RIGHTS on the first bytes of it): what `add-fd` and `getfd`
 * take. The socket must be a unix socket QEMU reads descriptors from (a
 * socketpair QEMU inherited, a unix socket chardev). fd stays the caller's:
 * QEMU receives its own copy, and the caller closes theirs when it likes. */
int qmp_execute_fd(struct qmp_client *c, const char *cmd, cJSON *args, int fd, cJSON **ret,
                   int timeout_ms);

/* Read whatever is available on the socket without blocking (after poll()
 * said it is readable) and queue events. Returns 0, or the error that ended
 * the session (-EPIPE when QEMU closed the socket): stop polling the fd then,
 * but drain the queue. */
int qmp_pump(struct qmp_client *c);

/* Wait up to timeout_ms for an event to be queued (0: do not wait). Returns 1
 * when the queue is not empty, 0 on timeout, or the error that ended the
 * session (once the queue is empty). */
int qmp_wait_event(struct qmp_client *c, int timeout_ms);

/* Pop the oldest queued event into *ev (caller frees with qmp_event_free).
 * Returns 1 when one was popped, 0 when the queue is empty. */
int qmp_next_event(struct qmp_client *c, struct qmp_event *ev);
void qmp_event_free(struct qmp_event *ev);

/* The last error of c, as a sentence ("" when none). With c == NULL: why the
 * last qmp_connect/qmp_open_fd of the calling thread failed. */
const char *qmp_last_error(const struct qmp_client *c);

#endif
