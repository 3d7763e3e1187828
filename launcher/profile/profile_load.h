/* Finding, reading and parsing a profile file: the file-system side of
 * profiles, around the pure profile_parse().
 *
 * Lookup: an argument containing '/' or ending in ".json" is a path, used as
 * given. Otherwise NAME.json is looked for in the invoking user's
 * configuration directory, then in /etc/vmrun/:
 *   - $XDG_CONFIG_HOME/vmrun/, or ~/.config/vmrun/ without it;
 *   - through sudo (SUDO_USER set, running as root) or pkexec (PKEXEC_UID),
 *     the invoking user's ~/.config/vmrun/ when XDG_CONFIG_HOME is unset or
 *     points into root's home (sudo may keep root's environment).
 * Relative paths inside a profile (disks[].path, firmware.code,
 * firmware.vars_template, boot.kernel, boot.initrd, pci[].rom) are made
 * absolute against the directory of the profile file as it was named, so a
 * profile and its images can move together. */
#ifndef VMRUN_PROFILE_LOAD_H
#define VMRUN_PROFILE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/error.h"
#include "profile/profile.h"

#ifndef VMRUN_SYSCONF_PROFILE_DIR
#define VMRUN_SYSCONF_PROFILE_DIR "/etc/vmrun"
#endif

/* The file arg names. Returns 0 with path filled; -ENOENT (err lists the
 * places looked at) when a name is found nowhere; -ENAMETOOLONG. A path
 * argument is returned as given, whether or not it exists. */
int profile_resolve(const char *arg, char *path, size_t len, struct vmrun_error *err);

/* The same, asking exists() whether a candidate is there (root asks with
 * the invoking user's rights about the user's own directory). */
typedef bool (*profile_exists_fn)(const char *path, void *opaque);
int profile_resolve_with(const char *arg, profile_exists_fn exists, void *opaque, char *path,
                         size_t len, struct vmrun_error *err);

/* Read a whole profile from fd (a regular file of at most
 * PROFILE_MAX_BYTES; anything else is refused unread). path names it in
 * messages. 0 with *buf (caller frees) and *len, or a negative errno. */
int profile_read_fd(int fd, const char *path, char **buf, size_t *len, struct vmrun_error *err);

/* Parse bytes read from path, then make its relative paths absolute
 * against path's directory. Returns as profile_load(). */
int profile_load_bytes(const char *path, const char *buf, size_t len, struct vm_profile *out,
                       struct diag_list *diags, struct vmrun_error *err);

/* Resolve, read (refusing anything but a regular file of at most
 * PROFILE_MAX_BYTES) and parse, with the caller's own rights and no trust
 * check: for an ordinary user and for tests. As root, vmrun loads
 * profiles through priv/profile_open.h instead. Messages name the file as the user gave it
 * (a path argument) or as resolved (a name).
 * Returns 0 (diags may hold warnings); -EINVAL with every problem in diags
 * for a bad profile; another negative errno with err set when the file
 * cannot be found or read. *out is zeroed on failure. */
int profile_load(const char *arg, struct vm_profile *out, struct diag_list *diags,
                 struct vmrun_error *err);

/* Make each relative path of p absolute against dir (an absolute
 * directory). Returns 0 or -ENOMEM / -ENAMETOOLONG with err set. */
int profile_resolve_paths(struct vm_profile *p, const char *dir, struct vmrun_error *err);

#endif
