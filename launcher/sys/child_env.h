/* The environment of the programs vmrun runs.
 *
 * Run through sudo -E, an env_keep or SETENV rule, or any wrapper that
 * keeps the caller's variables, root's vmrun holds an environment the
 * caller wrote: PATH, LD_*, locale and plugin paths, XDG_* directories.
 * None of it reaches a program root runs. modprobe, the QEMU probes and
 * QEMU itself get a fixed environment built here, and a bare program name
 * is looked up in a fixed PATH of root's directories, never the caller's.
 * (The notifier that runs as the user builds its own, priv_notify.h.)
 *
 * Run by an ordinary user, vmrun lends nothing: its children keep the
 * user's own environment and PATH. */
#ifndef VMRUN_CHILD_ENV_H
#define VMRUN_CHILD_ENV_H

#include <stdbool.h>
#include <stddef.h>

/* Where root's children are looked up, and their PATH. */
#define CHILD_ENV_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* True when vmrun's children must get the fixed environment (vmrun runs
 * with root's effective uid). */
bool child_env_is_fixed(void);

/* The environment for a child of root: PATH=CHILD_ENV_PATH and LC_ALL=C
 * only. For an ordinary user: environ. */
char *const *child_env_plain(void);

/* Find a program the way execvp would, but over CHILD_ENV_PATH when the
 * environment is fixed (else the caller's PATH). A name with '/' is taken
 * as it is. 0 with out filled, -ENOENT, -EACCES (only non-executable
 * matches), -ENAMETOOLONG. */
int child_find_program(const char *name, char *out, size_t len);

/* A fixed environment assembled for one child: "NAME=value" strings kept
 * in storage of its own. */
struct child_env {
    char *v[16];
    size_t n;
    char buf[4096];
    size_t used;
};

/* Start from PATH and LC_ALL as above. */
void child_env_init(struct child_env *e);

/* Add NAME=value (ignored when value is NULL or there is no room). */
void child_env_set(struct child_env *e, const char *name, const char *value);

#endif
