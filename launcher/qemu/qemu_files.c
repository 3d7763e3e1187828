/* QEMU's files on the host (qemu_files.h). */
#include "qemu/qemu_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "priv/priv_files.h"
#include "qemu/ovmf_vars.h"
#include "qemu/qcow2.h"
#include "qemu/qemu_fds.h"
#include "qemu/qemu_probe.h"
#include "qemu/qemu_sandbox.h"
#include "sys/dirs.h"
#include "sys/filecopy.h"
#include "sys/hostpath.h"

/* The VM's own UEFI variable store, made once from the template. The
 * template is a path the profile names: opened with the rights it deserves
 * (priv/priv_files.h), so a template that is a user's link to a file of
 * root's copies nothing the user could not read. The copy is vmrun's own,
 * root's, 0600: QEMU gets it as an fd and never by path. */
static int copy_vars_template(const struct qemu_files_ctx *c, const char *to,
                              struct vmrun_error *err)
{
    if (c->p->firmware.vars_template == NULL) {
        /* The template of a descriptor root trusts (qemu/firmware.h): a
         * file of the firmware package, which may be a symlink (Debian's
         * .ms.fd files are). */
        cleanup_close int in = open(c->fw->vars_template, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
            return vmrun_fail(err, errno, "open the variables template %s", c->fw->vars_template);
        return file_copy_new(in, c->fw->vars_template, to, err);
    }
    cleanup_close int in =
        priv_open_for_qemu(c->target, "firmware.vars_template", c->p->firmware.vars_template,
                           O_RDONLY, PRIV_FILE_REGULAR, false, err);
    if (in < 0)
        return in;
    return file_copy_new(in, c->p->firmware.vars_template, to, err);
}

/* The VM's variable store is kept from run to run, so it may no longer say
 * what the profile asks for (made before Secure Boot was asked for, or the
 * guest cleared its keys): say so, the run goes on. */
static void warn_vars_state(const struct qemu_files_ctx *c, const struct vm_host_facts *h)
{
    if (h->ovmf_vars == NULL || !c->p->firmware.secure_boot)
        return;
    struct ovmf_vars_state vs;
    struct vmrun_error verr = {0};
    if (ovmf_vars_read(h->ovmf_vars, &vs, &verr) < 0)
        return;
    char what[256];
    ovmf_vars_describe(&vs, what, sizeof(what));
    if (c->p->firmware.enrolled_keys && !ovmf_vars_enforcing(&vs))
        vmrun_say(
            c->say, c->say_opaque,
            "warning: the VM's UEFI variable store %s is in %s; to start over from %s, remove "
            "it while the VM is off",
            h->ovmf_vars, what, c->fw->vars_template);
}

/* Where QEMU's files go: the runtime directory for what lives as long as
 * the run, the state directory for what outlives it (the UEFI variables:
 * the guest's boot entries live there, so they are made once from the
 * template and kept; the serial log). The same layout `vmrun print-cmd`
 * shows. */
int qemu_state_dir_make(const char *name, char *dir, size_t len, struct vmrun_error *err)
{
    int r = host_path(dir, len, HOST_STATE, "/%s", name);
    if (r < 0)
        return vmrun_fail(err, -r, "state directory");
    /* 0711: QEMU, when it runs as the invoking user, reaches the files
     * handed over to it here without being able to list or add any; set,
     * whatever the caller's umask (sys/dirs.h). */
    if ((r = dir_make_all(host_root(HOST_STATE), 0755, dir_root_mode(HOST_STATE), err)) < 0 ||
        (r = dir_make(dir, 0711, err)) < 0)
        return r;
    return 0;
}

int qemu_files_prepare(const struct qemu_files_ctx *c, struct vm_host_facts *h,
                       struct vm_host_facts_storage *st, struct vmrun_error *err)
{
    char dir[PATH_MAX];
    int r = qemu_state_dir_make(c->p->name, dir, sizeof(dir), err);
    if (r < 0)
        return r;
    vm_host_facts_default(h, st, c->p, c->runtime_dir, dir);
    vm_host_facts_set_firmware(h, st, c->p, c->fw);
    h->memory_file = c->memory_file;
    if (h->serial_log == NULL)
        return vmrun_failx(err, ENAMETOOLONG, "paths under %s are too long", c->runtime_dir);
    /* After the state directory exists: the answer is cached there. */
    h->sandbox = qemu_supports_sandbox(c->p->qemu.binary);
    qemu_probe_facts(c->p, h);
    if (h->ovmf_vars != NULL && access(h->ovmf_vars, F_OK) < 0) {
        if ((r = copy_vars_template(c, h->ovmf_vars, err)) < 0)
            return r;
        vmrun_say(c->say, c->say_opaque, "created the VM's UEFI variable store %s from %s",
                  h->ovmf_vars, c->fw->vars_template);
    }
    warn_vars_state(c, h);
    return 0;
}

/* A qcow2 disk whose backing file QEMU could not find (qemu/qcow2.h). */
static int refuse_relative_backing(int fd, const char *what, const char *path,
                                   struct vmrun_error *err)
{
    char backing[1024];
    if (qcow2_backing_file(fd, backing, sizeof(backing)) != 1 || backing[0] == '/' ||
        strchr(backing, ':') != NULL) /* absolute, or a protocol QEMU knows */
        return 0;
    char msg[VMRUN_ERROR_MSG_MAX - 80];
    qcow2_relative_backing_message(msg, sizeof(msg), path, backing);
    return vmrun_failx(err, EINVAL, "%s: %s", what, msg);
}

/* Every file QEMU is handed as an fd (qemu/cmdline.h), opened in the order
 * of their numbers: a path the profile names with the rights it deserves
 * (priv/priv_files.h), vmrun's own files (UEFI variables, serial log) by
 * vmrun, in its own directory, never through a link. */
int qemu_files_open(const struct qemu_files_ctx *c, const struct vm_host_facts *h,
                    struct qemu_fds *fds, struct vmrun_error *err)
{
    for (size_t i = 0; i < h->n_files; i++) {
        const struct qemu_file *f = &h->files[i];
        int fd;
        if (f->from_profile) {
            bool reopens = f->role == QEMU_FILE_KERNEL || f->role == QEMU_FILE_INITRD ||
                           f->role == QEMU_FILE_ROM;
            unsigned kinds = PRIV_FILE_REGULAR | (f->role == QEMU_FILE_DISK ? PRIV_FILE_BLOCK : 0);
            char what[64];
            snprintf(what, sizeof(what), "%.*s", (int)strcspn(f->what, ":"), f->what);
            fd = priv_open_for_qemu(c->target, what, f->path, f->access, kinds, reopens, err);
            if (fd < 0)
                return fd;
            if (f->role == QEMU_FILE_DISK && c->p->disks[f->index].format == VM_DISK_QCOW2 &&
                refuse_relative_backing(fd, what, f->path, err) < 0) {
                close(fd);
                return -EINVAL;
            }
            if (f->direct && qemu_fds_set_direct(fd, what, f->path, err) < 0) {
                close(fd);
                return -EINVAL;
            }
        } else {
            int flags = f->access | O_CLOEXEC | O_NOCTTY;
            /* vmrun's own files are never reached through a link; a
             * descriptor's firmware code is a file of the firmware package,
             * named by a descriptor root trusts (qemu/firmware.h), and may
             * be a symlink (Debian's .ms.fd files are). */
            if (f->role != QEMU_FILE_FIRMWARE_CODE)
                flags |= O_NOFOLLOW;
            /* The serial log is the guest's words: made anew for each run
             * and owned by QEMU's user (root's only when QEMU is), so it
             * is never a file root wrote, nor one the last run's user can
             * still read. */
            if (f->role == QEMU_FILE_SERIAL_LOG) {
                flags |= O_CREAT | O_EXCL;
                if (unlink(f->path) < 0 && errno != ENOENT)
                    return vmrun_fail(err, errno, "remove the last run's %s", f->path);
            }
            fd = open(f->path, flags, 0600);
            if (fd < 0)
                return vmrun_fail(err, errno, "open %s", f->path);
            const struct priv_target *t = c->target;
            if (f->role == QEMU_FILE_SERIAL_LOG && t != NULL && t->change &&
                fchown(fd, t->uid, t->gid) < 0) {
                int e = errno;
                close(fd);
                return vmrun_fail(err, e, "give %s to QEMU's user %s", f->path, t->user);
            }
            struct stat st;
            if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return vmrun_failx(err, EINVAL, "%s is not a regular file", f->path);
            }
        }
        /* The read-only twin is the same open file's inode, reopened. */
        int twin = -1;
        if (f->ro_fd >= 0) {
            char self[64];
            snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
            twin = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | (f->direct ? O_DIRECT : 0));
            if (twin < 0) {
                int e = errno;
                close(fd);
                return vmrun_fail(err, e, "reopen %s read-only", f->path);
            }
        }
        int target = qemu_fds_add(fds, fd, f->what);
        if (target != f->fd) {
            if (twin >= 0)
                close(twin);
            return vmrun_failx(err, EINVAL, "internal error: %s must be QEMU's fd %d, not %d",
                               f->what, f->fd, target);
        }
        if (twin >= 0 && (target = qemu_fds_add(fds, twin, "the same, read-only")) != f->ro_fd)
            return vmrun_failx(err, EINVAL, "internal error: %s's twin must be QEMU's fd %d",
                               f->what, f->ro_fd);
    }
    return 0;
}
