/* Starting a helper program (QEMU, swtpm) as its own process, the one way
 * vmrun does it.
 *
 * The child gets its own process group (Ctrl-C on the terminal reaches the
 * supervisor alone, which stops the guest in order), an empty signal mask,
 * whatever the caller's setup step gives it (file descriptors, stdin,
 * limits), then drops to the target user (priv_drop.h), asks to be killed
 * when vmrun dies, and execs. Whatever fails in the child before exec is
 * sent back over a close-on-exec pipe: spawn_child() returns only once the
 * exec has happened or failed, with the child's own sentence in err. */
#ifndef VMRUN_PRIV_SPAWN_H
#define VMRUN_PRIV_SPAWN_H

#include <sys/types.h>

#include "base/error.h"
#include "priv/priv_drop.h"

struct spawn_spec {
    const char *exe; /* the absolute path to exec */
    char *const *argv;
    char *const *envp;
    /* NULL, or a step run in the child before the credential change: it
     * may only make async-signal-safe calls, and says why it failed in
     * err (returning -1). */
    int (*setup)(void *ctx, struct vmrun_error *err);
    void *ctx;
    /* NULL or not ->change: the child keeps vmrun's identity. */
    const struct priv_target *target;
    /* Added to the sentence when exec fails, e.g. " (Debian: apt install
     * swtpm)"; NULL for none. */
    const char *exec_hint;
};

/* Start the program; its pid in *pid. Fails (nothing running, the child
 * reaped) when a step before exec or the exec itself failed. */
int spawn_child(const struct spawn_spec *spec, pid_t *pid, struct vmrun_error *err);

#endif
