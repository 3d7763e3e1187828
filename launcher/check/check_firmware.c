/* `vmrun check`: the firmware (the descriptor chosen and why, the Secure
 * Boot state of its variables, SMM) and the TPM (swtpm, the VM's TPM
 * state). The facts come from qemu/firmware.h, qemu/ovmf_vars.h and
 * supervisor/preflight.h, the same functions `vmrun start` asks before it
 * touches the host. Read-only. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/check.h"
#include "check/check_internal.h"
#include "host/tpm/tpm.h"
#include "priv/priv_drop.h"
#include "qemu/firmware.h"
#include "qemu/ovmf_vars.h"
#include "supervisor/preflight.h"

/* The Secure Boot state of a variable store, as a check item: the
 * template (fw given) or the VM's own store. */
static void check_vars(struct check_report *r, const struct vm_profile *p, const char *name,
                       const char *what, const char *path, const struct firmware_choice *fw)
{
    struct ovmf_vars_state vs;
    struct vmrun_error err = {0};
    int rc =
        fw != NULL ? firmware_template_state(p, fw, &vs, &err) : ovmf_vars_read(path, &vs, &err);
    if (rc < 0) {
        check_add(r, name, p->firmware.secure_boot ? CHECK_WARN : CHECK_PASS,
                  "cannot tell the Secure Boot state of %s %s: %s", what, path, err.msg);
        return;
    }
    char state[256];
    ovmf_vars_describe(&vs, state, sizeof(state));
    bool enforcing = ovmf_vars_enforcing(&vs);
    if (p->firmware.secure_boot && p->firmware.enrolled_keys && !enforcing) {
        struct check_item *it = check_add(r, name, CHECK_WARN, "%s %s: %s", what, path, state);
        check_hint(r, it,
                   "Secure Boot checks nothing in setup mode: enroll keys from the guest, or "
                   "remove the VM's store (while the VM is off) to start over from the template");
        return;
    }
    check_add(r, name, CHECK_PASS, "%s %s: %s", what, path, state);
}

static void check_smm(struct check_report *r, const struct vm_profile *p,
                      const struct firmware_choice *fw)
{
    if (!fw->smm) {
        check_add(r, "firmware.smm", CHECK_PASS, "not needed: the firmware does not require SMM");
        return;
    }
    if (p->qemu.accel == VM_ACCEL_TCG) {
        check_add(r, "firmware.smm", CHECK_PASS,
                  "SMM on (the firmware requires it%s); TCG emulates it",
                  fw->secure_flash ? ", and only SMM may write its variables" : "");
        return;
    }
    int smm = kvm_smm_supported();
    if (smm > 0) {
        check_add(r, "firmware.smm", CHECK_PASS,
                  "SMM on (the firmware requires it%s); KVM emulates it (KVM_CAP_X86_SMM)",
                  fw->secure_flash ? ", and only SMM may write its variables" : "");
    } else if (smm == 0) {
        struct check_item *it =
            check_add(r, "firmware.smm", CHECK_FAIL,
                      "the firmware requires SMM and this host's KVM does not emulate it "
                      "(no KVM_CAP_X86_SMM)");
        check_hint(r, it,
                   "boot a kernel built with CONFIG_KVM_SMM, or set firmware.secure_boot false, "
                   "or qemu.accel \"tcg\"");
    } else {
        check_add(r, "firmware.smm", CHECK_WARN,
                  "the firmware requires SMM; whether KVM emulates it cannot be asked: %s",
                  strerror(-smm));
    }
}

static void check_uefi(const struct vm_profile *p, struct check_report *r)
{
    struct firmware_choice fw;
    struct vmrun_error err = {0};
    int rc = firmware_choose(p, NULL, &fw, &err);
    if (rc < 0) {
        struct check_item *it = check_add(r, "firmware", CHECK_FAIL, "%s", err.msg);
        check_hint(r, it,
                   rc == -ENOENT ? "install the UEFI firmware (Debian: apt install ovmf)"
                                 : "fix the firmware section of the profile");
        return;
    }
    char req[96];
    firmware_describe_request(p, req, sizeof(req));
    if (p->firmware.code == NULL)
        check_add(r, "firmware", CHECK_PASS, "%s: descriptor %s (%s): code %s, variables from %s",
                  req, fw.descriptor, fw.why, fw.code, fw.vars_template);
    else
        check_add(r, "firmware", CHECK_PASS, "%s: %s", req, fw.why);

    if (fw.vars_template[0] != '\0')
        check_vars(r, p, "firmware.secure_boot", "variables template", fw.vars_template, &fw);
    char dir[PATH_MAX], copy[PATH_MAX + 16];
    struct stat cs, ts;
    if (vm_state_dir(p, dir, sizeof(dir)) == 0 &&
        snprintf(copy, sizeof(copy), "%s/OVMF_VARS.fd", dir) < (int)sizeof(copy) &&
        stat(copy, &cs) == 0) {
        int tfd = -1;
        bool have_ts = fw.vars_template[0] != '\0' &&
                       (p->firmware.vars_template == NULL
                            ? stat(fw.vars_template, &ts) == 0
                            : (tfd = firmware_open_profile_file(fw.vars_template, &ts)) >= 0);
        if (tfd >= 0)
            close(tfd);
        if (have_ts && ts.st_size != cs.st_size) {
            struct check_item *it = check_add(
                r, "firmware.vars", CHECK_FAIL,
                "the VM's variable store %s is %lld bytes and the template %s %lld: made for "
                "another build",
                copy, (long long)cs.st_size, fw.vars_template, (long long)ts.st_size);
            check_hint(r, it,
                       "remove %s to start over from the template (its boot entries are "
                       "lost)",
                       copy);
        } else {
            check_vars(r, p, "firmware.vars", "the VM's variable store", copy, NULL);
        }
    }
    check_smm(r, p, &fw);
}

static void check_tpm(const struct vm_profile *p, struct check_report *r)
{
    struct swtpm_facts sf;
    struct vmrun_error err = {0};
    int rc = swtpm_probe(&sf, &err);
    if (rc == -ENOENT) {
        struct check_item *it = check_add(r, "tpm", CHECK_FAIL, "%s", err.msg);
        check_hint(r, it, "apt install swtpm");
        return;
    }
    if (rc < 0) {
        struct check_item *it = check_add(r, "tpm", CHECK_FAIL, "%s", err.msg);
        check_hint(r, it, "install swtpm 0.7 or later (Debian 12: apt install swtpm)");
        return;
    }
    check_add(r, "tpm", CHECK_PASS, "%s, version %s, emulates a TPM 2.0 (%s interface)", sf.path,
              sf.version, p->tpm.model == VM_TPM_TIS ? "tpm-tis" : "tpm-crb");

    /* Whose the state must be: QEMU's user. */
    struct priv_target t;
    if (priv_resolve_target(p, &t, &err) < 0) {
        check_add(r, "tpm.state", CHECK_WARN, "cannot tell who QEMU will run as: %s", err.msg);
        return;
    }
    uid_t uid = t.change ? t.uid : geteuid();
    char user[64];
    snprintf(user, sizeof(user), "%s", t.user);
    priv_target_free(&t);
    char dir[PATH_MAX], state[PATH_MAX];
    if (vm_state_dir(p, dir, sizeof(dir)) < 0 || tpm_state_path(state, sizeof(state), dir) < 0) {
        check_add(r, "tpm.state", CHECK_FAIL, "the state directory path is too long");
        return;
    }
    rc = tpm_state_check(dir, uid, &err);
    if (rc == 0) {
        check_add(r, "tpm.state", CHECK_PASS, "%s is %s's, mode 0700: the TPM of earlier runs",
                  state, user[0] ? user : "QEMU's user");
    } else if (rc == -ENOENT) {
        check_add(r, "tpm.state", CHECK_PASS,
                  "%s does not exist yet: the first start makes it for %s (a new, empty TPM)",
                  state, user[0] ? user : "QEMU's user");
    } else {
        struct check_item *it = check_add(r, "tpm.state", CHECK_FAIL, "%s", err.msg);
        check_hint(r, it, "see above; vmrun never changes the owner or mode of the TPM state");
    }
}

void check_firmware_tpm(const struct vm_profile *p, struct check_report *r)
{
    if (p->firmware.type == VM_FIRMWARE_UEFI || p->firmware.code != NULL)
        check_uefi(p, r);
    else
        check_add(r, "firmware", CHECK_PASS, "BIOS: QEMU's own SeaBIOS");
    if (p->tpm.present)
        check_tpm(p, r);
}
