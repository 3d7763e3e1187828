/* Pieces shared by the subcommands: loading a profile with its messages,
 * and printing status lines. */
#ifndef VMRUN_CLI_COMMON_H
#define VMRUN_CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "profile/profile.h"

/* Load and validate the profile named by arg (a path or a name), with
 * root's trust rules (priv/trust.h); trust_profile is --trust-profile.
 * Prints every diagnostic or the error; returns 0 or the exit code for bad
 * input (2). *path receives the resolved path. */
int cli_load_profile(const char *arg, bool trust_profile, struct vm_profile *p, char *path,
                     size_t len);

/* The help line of --trust-profile, shared by the commands that take it. */
#define CLI_TRUST_PROFILE_HELP                                                                     \
    "  --trust-profile  as root: use a profile root does not control (root vouches for\n"          \
    "                   it; refused through sudo or pkexec)\n"

/* The QEMU argv of a profile with the default host facts (what print-cmd
 * shows). What the builder refuses is something the profile says: the
 * reason is printed, naming `what` (the profile as the user gave it), and
 * the exit code for bad input is returned; 0 on success. */
struct argv_list;
int cli_build_default_argv(const struct vm_profile *p, const char *what, struct argv_list *a);

/* Choose the firmware (qemu/firmware.h), printing why when it fails:
 * 0; VMRUN_EXIT_USAGE when the profile contradicts the files it names;
 * VMRUN_EXIT_FAILURE when no firmware of this host fits. */
struct firmware_choice;
int cli_choose_firmware(const struct vm_profile *p, const char *what, struct firmware_choice *fw);

/* cli_build_default_argv() with the firmware already chosen (NULL: the
 * profile's firmware.code as given, nothing from the descriptors). */
int cli_build_argv_with_firmware(const struct vm_profile *p, const char *what,
                                 const struct firmware_choice *fw, struct argv_list *a);

/* Options of the commands that take only --json (and --help) and at most
 * one NAME (name != NULL) or none (name == NULL). Returns 0 to go on, -1
 * when help was printed (exit 0), or the exit code for bad usage. */
int cli_parse_json_flag(int argc, char **argv, const char *cmd, bool *json, const char **name,
                        void (*help)(FILE *));

/* "vmrun: " + message on stderr. */
void cli_say(void *opaque, const char *msg);

/* After a run of VM name that could not put the host back completely: what
 * is left (the steps that did not undo) and how to finish, on stderr. */
void cli_say_left(const char *name, const char *left);

/* May the caller act on the VM name (stop, recover, vmrun usb)? Through
 * sudo or pkexec only on the VMs they started (priv/access.h). 0, or
 * VMRUN_EXIT_FAILURE after saying why not. */
int cli_may_manage(const char *name);

/* Sends req (taken) to the running VM name's supervisor on its request
 * channel (supervisor/control.h) and prints the answer: its "message" on
 * stdout when "ok", its "error" on stderr otherwise. VMRUN_EXIT_OK or
 * VMRUN_EXIT_FAILURE. */
int cli_control_request(const char *name, cJSON *req, int timeout_ms);

/* Is name a valid VM name (the profile's rules)? Prints why not. */
bool cli_valid_name(const char *name);

#endif
