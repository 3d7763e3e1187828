/* Firmware and TPM checks before the host is touched (preflight.h). */
#include "supervisor/preflight.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/tpm/tpm.h"
#include "qemu/qemu_probe.h"
#include "qemu/qemu_usb.h"
#include "sys/hostpath.h"
#include "sys/seams.h"

int swtpm_probe(struct swtpm_facts *f, struct vmrun_error *err)
{
    memset(f, 0, sizeof(*f));
    int r = qemu_find_binary(SWTPM_BINARY, f->path, sizeof(f->path));
    if (r < 0)
        return vmrun_failx(err, ENOENT,
                           "swtpm, the TPM emulator, is not installed (not in PATH): install it "
                           "(Debian: apt install swtpm), or remove \"tpm\" from the profile");
    const char *args[] = {"socket", "--print-capabilities", NULL};
    char out[4096];
    if ((r = qemu_probe_output(f->path, args, out, sizeof(out), err)) < 0)
        return r;
    cJSON *caps = cJSON_Parse(out);
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(caps, "version");
    snprintf(f->version, sizeof(f->version), "%s",
             cJSON_IsString(version) ? version->valuestring : "unknown");
    const cJSON *feat;
    cJSON_ArrayForEach(feat, cJSON_GetObjectItemCaseSensitive(caps, "features"))
    {
        if (cJSON_IsString(feat) && strcmp(feat->valuestring, "tpm-2.0") == 0)
            f->tpm2 = true;
    }
    cJSON_Delete(caps);
    if (!f->tpm2)
        return vmrun_failx(err, ENOTSUP,
                           "%s (version %s) does not emulate a TPM 2.0 (no \"tpm-2.0\" in its "
                           "--print-capabilities): install a newer swtpm (0.7 or later)",
                           f->path, f->version);
    return 0;
}

int kvm_smm_supported(void)
{
    /* Test seam: a KVM without SMM cannot be had on the test machines. */
    if (seam_value(SEAM_KVM_NO_SMM) != NULL)
        return 0;
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/kvm") < 0)
        return -ENAMETOOLONG;
    cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM);
    if (r < 0)
        return -errno;
    return r > 0;
}

int vm_state_dir(const struct vm_profile *p, char *buf, size_t len)
{
    return host_path(buf, len, HOST_STATE, "/%s", p->name);
}

static int check_vars_copy(const struct vm_profile *p, const struct firmware_choice *fw,
                           struct vmrun_error *err)
{
    if (!fw->uefi || fw->vars_template[0] == '\0')
        return 0;
    char dir[PATH_MAX], copy[PATH_MAX];
    if (vm_state_dir(p, dir, sizeof(dir)) < 0 ||
        snprintf(copy, sizeof(copy), "%s/OVMF_VARS.fd", dir) >= (int)sizeof(copy))
        return vmrun_failx(err, ENAMETOOLONG, "the state directory path is too long");
    struct stat cs, ts;
    if (stat(copy, &cs) < 0)
        return 0; /* made at the first start */
    if (p->firmware.vars_template != NULL) {
        /* The profile's: looked at only as firmware.c may (root-controlled). */
        int fd = firmware_open_profile_file(fw->vars_template, &ts);
        if (fd < 0)
            return 0; /* opening it at the start says why */
        close(fd);
    } else if (stat(fw->vars_template, &ts) < 0) {
        return 0;
    }
    if (cs.st_size == ts.st_size)
        return 0;
    return vmrun_failx(err, EEXIST,
                       "the VM's UEFI variable store %s is %lld bytes, but the firmware's "
                       "template %s is %lld: the store was made for another build (a 2 MB and "
                       "a 4 MB flash do not mix); to start over from the template, remove %s "
                       "(the boot entries in it are lost)",
                       copy, (long long)cs.st_size, fw->vars_template, (long long)ts.st_size, copy);
}

/* usb[] rules are followed by handing QEMU each device's node
 * (qemu/qemu_usb.h): a QEMU that cannot take one would never get a device. */
static int check_usb_fd_form(const struct vm_profile *p, struct vmrun_error *err)
{
    if (p->n_usb == 0)
        return 0;
    char missing[512];
    struct vmrun_error perr = {0};
    int r = qemu_usb_probe(qemu_binary_name(p), missing, sizeof(missing), &perr);
    /* A binary that does not answer in time (a loaded host) is not a
     * no: the supervisor asks the QEMU that runs, and says so there. */
    if (r == 0)
        return vmrun_failx(err, ENOTSUP,
                           "usb[] cannot be followed: %s (vmrun check says what this host has)",
                           missing);
    return 0;
}

/* A SPICE display needs QEMU's SPICE support, which Debian 13 and later
 * ship as a module package of their own: without it QEMU would refuse
 * -spice only after the host was prepared. */
static int check_spice(const struct vm_profile *p, struct vmrun_error *err)
{
    if (p->display != VM_DISPLAY_SPICE)
        return 0;
    int has = qemu_has_spice(qemu_binary_name(p), err);
    if (has < 0)
        return has;
    if (has == 0)
        return vmrun_failx(err, ENOTSUP,
                           "display \"spice\": %s has no SPICE support (it does not answer "
                           "-spice help): " QEMU_SPICE_PACKAGES,
                           qemu_binary_name(p));
    return 0;
}

int vm_preflight(const struct vm_profile *p, uid_t qemu_uid, struct firmware_choice *fw,
                 struct vmrun_error *err)
{
    int r = check_spice(p, err);
    if (r < 0)
        return r;
    r = firmware_choose(p, NULL, fw, err);
    if (r < 0)
        return r;
    if (fw->smm && p->qemu.accel == VM_ACCEL_KVM && kvm_smm_supported() == 0)
        return vmrun_failx(err, ENOTSUP,
                           "the firmware (%s) needs SMM, and this host's KVM does not emulate "
                           "it (KVM_CAP_X86_SMM: a kernel built without CONFIG_KVM_SMM): boot a "
                           "kernel with it, or set firmware.secure_boot false (Windows 11 then "
                           "refuses to install), or qemu.accel \"tcg\"",
                           fw->code);
    if ((r = check_vars_copy(p, fw, err)) < 0)
        return r;
    if ((r = check_usb_fd_form(p, err)) < 0)
        return r;
    if (!p->tpm.present)
        return 0;
    struct swtpm_facts sf;
    if ((r = swtpm_probe(&sf, err)) < 0)
        return r;
    char dir[PATH_MAX];
    if (vm_state_dir(p, dir, sizeof(dir)) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "the state directory path is too long");
    r = tpm_state_check(dir, qemu_uid, err);
    if (r == -ENOENT)
        return 0; /* made at the start */
    return r;
}
