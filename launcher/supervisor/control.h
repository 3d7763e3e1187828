/* Requests to a running supervisor from other vmrun commands: `vmrun usb
 * NAME attach ...` asks the supervisor of NAME, which holds QEMU's QMP
 * connection and the VM's journal, to act, and waits for its answer.
 *
 * The channel is a unix stream socket in the VM's runtime directory,
 * <run dir>/NAME/control. That directory is root's and 0700 (runtime.h),
 * so only root reaches the socket; the supervisor also checks each peer's
 * credentials (SO_PEERCRED: the supervisor's own uid). The requester has
 * done its own checks first (who may use the VM: priv/access.h); the
 * supervisor trusts the request no further than root's word, and still
 * checks every value in it.
 *
 * One request per connection: one line of JSON (at most
 * CONTROL_MAX_REQUEST bytes), answered with one line of JSON, then closed.
 * The supervisor answers within its main loop, one request at a time, and
 * gives a peer that sends nothing CONTROL_READ_TIMEOUT_MS. */
#ifndef VMRUN_CONTROL_H
#define VMRUN_CONTROL_H

#include <cjson/cJSON.h>

#include "base/error.h"

#define CONTROL_SOCKET "control"
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_REPLY (64 * 1024)
#define CONTROL_READ_TIMEOUT_MS 2000

/* ---- the supervisor's side ---- */

/* Create and listen on <dir>/control (mode 0600). Returns the listening fd
 * (non-blocking, close-on-exec) or a negative errno with err. */
int control_listen(const char *dir, struct vmrun_error *err);

/* Answer a request: returns the reply object (the caller sends and frees
 * it), or NULL for a request it does not know. */
typedef cJSON *(*control_handler)(void *ctx, const cJSON *request);

/* Accept the connections waiting on lfd (after poll() said it is
 * readable) and answer each through handler. Never fails: a peer that is
 * not allowed, sends nothing or sends garbage is closed with an error
 * reply where one can be sent. */
void control_serve(int lfd, control_handler handler, void *ctx);

/* A reply: {"ok": false, "error": msg}. */
cJSON *control_error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the requester's side ---- */

/* Send request (taken, also on failure) to the supervisor of VM name and
 * wait up to timeout_ms for the reply (the caller frees *reply). 0;
 * -ENOENT/-ECONNREFUSED when no supervisor listens (the VM is not running
 * or predates the channel); another negative errno with err. */
int control_call(const char *name, cJSON *request, cJSON **reply, int timeout_ms,
                 struct vmrun_error *err);

#endif
