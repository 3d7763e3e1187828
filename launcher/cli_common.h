/* Pieces shared by the subcommands: loading a profile with its messages,
 * and printing status lines. */
#ifndef VMRUN_CLI_COMMON_H
#define VMRUN_CLI_COMMON_H

#include <stdbool.h>

#include "profile.h"

/* Load and validate the profile named by arg (a path or a name). Prints
 * every diagnostic or the error; returns 0 or an exit code (2 for bad input,
 * 1 for other failures). *path receives the resolved path. */
int cli_load_profile(const char *arg, struct vm_profile *p, char *path, size_t len);

/* "vmrun: " + message on stderr. */
void cli_say(void *opaque, const char *msg);

/* Is name a valid VM name (the profile's rules)? Prints why not. */
bool cli_valid_name(const char *name);

#endif
