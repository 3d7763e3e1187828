/* The firmware a profile runs: chosen from QEMU's firmware descriptors.
 *
 * QEMU's firmware interop specification (docs/interop/firmware.json in
 * QEMU's source) has firmware packages describe each build in a JSON file:
 * what interface it offers (uefi), how it is mapped (two flash chips: code
 * and a variables template), the architectures and machine types it runs
 * on, and its features (secure-boot, enrolled-keys, requires-smm, ...).
 * Debian's ovmf package ships three for x86_64:
 *   40-edk2-x86_64-secure-enrolled.json  Secure Boot, SMM, Microsoft's keys
 *   50-edk2-x86_64-secure.json           Secure Boot, SMM, setup mode
 *   60-edk2-x86_64.json                  no Secure Boot, no SMM
 *
 * Search, as the specification says: every *.json of
 *   /usr/share/qemu/firmware   (the distribution's)
 *   /etc/qemu/firmware         (the administrator's)
 *   $XDG_CONFIG_HOME/qemu/firmware, else ~/.config/qemu/firmware (the
 *                              user's)
 * listed together and sorted by file name; a name in a more specific
 * directory hides the same name in a more general one, and an empty file
 * hides it altogether. The first descriptor that matches wins.
 *
 * Decided here:
 *   - Through sudo or pkexec (SUDO_UID/PKEXEC_UID set while vmrun is root)
 *     the user's directory is not searched at all: a descriptor names files
 *     root copies (the variables template) and QEMU runs, so only root's
 *     directories count. Run by root directly, root's own user directory is
 *     searched; run by an ordinary user, that user's. A descriptor file that
 *     is not owned by root or vmrun's user, or that others may write, is
 *     skipped with a reason.
 *   - A match: interface "uefi"; mapped into "flash" in split mode (code
 *     plus a variables template, both present on disk, raw or qcow2); a
 *     target "x86_64" whose machine glob matches the profile's machine.
 *     "q35" is QEMU's alias for its newest pc-q35-X.Y, so it matches only a
 *     glob that covers every pc-q35 version (such as "pc-q35-*"); name a
 *     versioned machine type to match a descriptor that lists versions.
 *     Features: "secure-boot" present exactly when firmware.secure_boot
 *     (and then "requires-smm" too: without SMM, guest code could rewrite
 *     the variables Secure Boot relies on); "enrolled-keys" exactly when
 *     firmware.enrolled_keys; builds that only work for confidential guests
 *     ("amd-sev-es", "amd-sev-snp", "intel-tdx") never.
 *   - firmware.code names the build: it is used as given, without a search.
 *     The descriptors are still read to learn what that file needs: one
 *     describing the same file (same inode) decides SMM ("requires-smm")
 *     and whether it is a Secure Boot build; with none, SMM and the secure
 *     flash follow firmware.secure_boot. A profile that asks for Secure
 *     Boot from a build described without it, or for enrolled keys from a
 *     template in setup mode, is refused (-EINVAL, a profile error).
 *
 * What a choice puts on the command line (cmdline.h): the code and the
 * VM's copy of the template as pflash drives, "smm=on" on -machine when the
 * build requires SMM, and, for a Secure Boot build with SMM,
 * "-global driver=cfi.pflash01,property=secure,value=on", so that only
 * code running in SMM may write the variables. */
#ifndef VMRUN_FIRMWARE_H
#define VMRUN_FIRMWARE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "profile/profile.h"

#define FIRMWARE_SYSTEM_DIR "/usr/share/qemu/firmware"
#define FIRMWARE_SYSADMIN_DIR "/etc/qemu/firmware"

/* Where descriptors are looked for, from general to specific. */
struct firmware_dirs {
    char dirs[3][PATH_MAX]; /* "" for a directory not searched */
    char note[256];         /* why the user's directory is not searched, or "" */
};

struct firmware_choice {
    bool uefi;                 /* false: QEMU's own BIOS; nothing below is set */
    char descriptor[PATH_MAX]; /* the descriptor chosen or consulted, or "" */
    char description[256];     /* its "description" */
    char code[PATH_MAX];
    char code_format[8];          /* "raw" | "qcow2" */
    char vars_template[PATH_MAX]; /* "" when there is none (code alone) */
    char vars_format[8];
    bool smm;              /* -machine smm=on */
    bool secure_flash;     /* only SMM may write the variables */
    char why[1024];        /* how it was chosen, one sentence */
    char considered[4096]; /* each descriptor found and what vmrun made of it */
};

/* The search path for this process (see above). */
void firmware_default_dirs(struct firmware_dirs *d);

/* Choose the firmware of p from the descriptors in d (NULL: the default
 * search path). Returns 0 with c filled; -ENOENT when no descriptor
 * matches (err lists what was found and why each did not fit: a host
 * problem); -EINVAL when the profile contradicts the files it names (err
 * says which and how to fix the profile); another negative errno for a
 * file that cannot be read. BIOS profiles always succeed (c->uefi false). */
int firmware_choose(const struct vm_profile *p, const struct firmware_dirs *d,
                    struct firmware_choice *c, struct vmrun_error *err);

/* Open a file a profile names (firmware.code, vars_template) to look at
 * it: when vmrun is root, only through a path root controls
 * (sys/safepath.h); else with the user's own rights. The fd (O_RDONLY)
 * with st filled, -EPERM when root must not look, or -errno. */
struct stat;
int firmware_open_profile_file(const char *path, struct stat *st);

/* The Secure Boot state of the chosen variables template (ovmf_vars.h),
 * read as vmrun may: a descriptor's as root, the profile's only through a
 * path root controls (when vmrun is root). */
struct ovmf_vars_state;
int firmware_template_state(const struct vm_profile *p, const struct firmware_choice *c,
                            struct ovmf_vars_state *out, struct vmrun_error *err);

/* "UEFI with Secure Boot and enrolled keys" and the like. */
void firmware_describe_request(const struct vm_profile *p, char *buf, size_t len);

#endif
