/* Ownership handover for the VM's life (priv_handover.h). */
#include "priv/priv_handover.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/priv_drop.h"
#include "sys/hostpath.h"

enum { WANT_R = 4, WANT_W = 2, WANT_X = 1 };

/* Who QEMU will be, for permission arithmetic. */
struct who {
    uid_t uid;
    gid_t gid;
    gid_t groups[256];
    int n;
};

static void who_init(struct who *w, uid_t uid, gid_t gid)
{
    w->uid = uid;
    w->gid = gid;
    w->n = 0;
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL) {
        int n = (int)(sizeof(w->groups) / sizeof(w->groups[0]));
        if (getgrouplist(pw->pw_name, gid, w->groups, &n) >= 0)
            w->n = n;
    }
}

static void who_from_target(struct who *w, const struct priv_target *t)
{
    w->uid = t->uid;
    w->gid = t->gid;
    w->n = 0;
    for (size_t i = 0; i < t->n_groups && i < sizeof(w->groups) / sizeof(w->groups[0]); i++)
        w->groups[w->n++] = t->groups[i];
}

/* The classic permission bits (ACLs are not consulted: a grant through an
 * ACL only makes a handover unnecessary, never wrong). */
static bool may(const struct who *w, const struct stat *st, int want)
{
    if (w->uid == 0)
        return true;
    unsigned bits;
    if (st->st_uid == w->uid) {
        bits = (st->st_mode >> 6) & 7;
    } else {
        bool in = st->st_gid == w->gid;
        for (int i = 0; i < w->n && !in; i++)
            in = w->groups[i] == st->st_gid;
        bits = in ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
    }
    return (bits & (unsigned)want) == (unsigned)want;
}

/* Search permission on every directory above an absolute, resolved path. */
static int check_reach(const struct who *w, const char *path, const char *user,
                       struct vmrun_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *slash = strrchr(dir, '/'); slash != NULL; slash = strrchr(dir, '/')) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        struct stat st;
        if (stat(dir, &st) < 0)
            return vmrun_fail(err, errno, "stat %s", dir);
        if (!may(w, &st, WANT_X))
            return vmrun_failx(err, EACCES,
                               "QEMU runs as %s and cannot reach %s: directory %s (mode %04o, "
                               "owner uid %u) does not let it through",
                               user, path, dir, (unsigned)(st.st_mode & 07777),
                               (unsigned)st.st_uid);
        if (slash == dir)
            break;
    }
    return 0;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL)
        snprintf(buf, len, "%s", pw->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

/* Hand one path over when w cannot already use it as wanted. */
static int handover_one(struct host_prep *hp, const struct who *w, const char *path, int want,
                        struct vmrun_error *err)
{
    char user[64], real[PATH_MAX];
    user_name(w->uid, user, sizeof(user));
    if (realpath(path, real) == NULL)
        return vmrun_fail(err, errno, "cannot hand %s over to QEMU's user %s", path, user);
    int r = check_reach(w, real, user, err);
    if (r < 0)
        return r;
    cleanup_close int fd = open(real, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", real);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", real);
    if (may(w, &st, want))
        return 0;

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "path", real);
    cJSON_AddNumberToObject(args, "uid", st.st_uid);
    cJSON_AddNumberToObject(args, "gid", st.st_gid);
    cJSON_AddNumberToObject(args, "mode", st.st_mode & 07777);
    cJSON_AddNumberToObject(args, "to_uid", w->uid);
    cJSON_AddNumberToObject(args, "to_gid", w->gid);
    if ((r = journal_record(hp->journal, "chown", args, err)) < 0)
        return r;
    if (fchownat(fd, "", w->uid, w->gid, AT_EMPTY_PATH) < 0)
        return vmrun_fail(err, errno, "hand %s over to %s (chown)", real, user);
    host_prep_say(hp, "handed %s over to %s", real, user);
    return journal_done(hp->journal, err);
}

int priv_handover(struct host_prep *hp, const char *const *paths, size_t n, struct vmrun_error *err)
{
    if (hp->qemu_uid == geteuid())
        return 0;
    struct who w;
    who_init(&w, hp->qemu_uid, hp->qemu_gid);
    for (size_t i = 0; i < n; i++) {
        if (paths[i] == NULL || paths[i][0] == '\0')
            continue;
        int r = handover_one(hp, &w, paths[i], WANT_R | WANT_W, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_readable(const struct who *w, const char *what, const char *path, const char *user,
                          struct vmrun_error *err)
{
    char real[PATH_MAX];
    if (path == NULL)
        return 0;
    if (realpath(path, real) == NULL)
        return vmrun_fail(err, errno, "%s %s", what, path);
    int r = check_reach(w, real, user, err);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(real, &st) < 0)
        return vmrun_fail(err, errno, "%s %s", what, real);
    if (!may(w, &st, WANT_R))
        return vmrun_failx(err, EACCES,
                           "QEMU runs as %s and cannot read the %s %s (mode %04o, owner uid %u); "
                           "make it readable (e.g. chmod o+r) or set run_as",
                           user, what, real, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    return 0;
}

static int check_kvm(const struct who *w, const char *user, struct vmrun_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    if (host_path(path, sizeof(path), HOST_DEV, "/kvm") < 0)
        return 0;
    if (stat(path, &st) < 0)
        return 0; /* no KVM at all: the host check reports that */
    if (may(w, &st, WANT_R | WANT_W))
        return 0;
    struct group *g = getgrgid(st.st_gid);
    return vmrun_failx(err, EACCES,
                       "QEMU runs as %s and cannot open %s (mode %04o, group %s): give /dev/kvm "
                       "to a group such as kvm with mode 0660 (a udev rule), or set run_as",
                       user, path, (unsigned)(st.st_mode & 07777), g != NULL ? g->gr_name : "root");
}

int priv_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    struct priv_target t;
    int r = priv_resolve_target(hp->profile, &t, err);
    if (r < 0)
        return r;
    hp->qemu_uid = t.uid;
    hp->qemu_gid = t.gid;
    if (!t.change) {
        priv_target_free(&t);
        return 0;
    }
    struct who w;
    who_from_target(&w, &t);
    char user[64];
    snprintf(user, sizeof(user), "%s", t.user);
    priv_target_free(&t);

    const struct vm_profile *p = hp->profile;
    char path[PATH_MAX];
    for (size_t i = 0; i < hp->n_vfio_groups; i++) {
        if (host_path(path, sizeof(path), HOST_DEV, "/vfio/%u", hp->vfio_groups[i]) < 0)
            return vmrun_failx(err, ENAMETOOLONG, "vfio group path");
        if ((r = handover_one(hp, &w, path, WANT_R | WANT_W, err)) < 0)
            return r;
    }
    if (hp->memory_file[0] != '\0' &&
        (r = handover_one(hp, &w, hp->memory_file, WANT_R | WANT_W, err)) < 0)
        return r;
    for (size_t i = 0; p != NULL && i < p->n_inputs; i++)
        if (p->inputs[i].evdev != NULL &&
            (r = handover_one(hp, &w, p->inputs[i].evdev, WANT_R | WANT_W, err)) < 0)
            return r;
    if (p != NULL && p->looking_glass.present && p->looking_glass.device != NULL &&
        p->looking_glass.device[0] == '/' &&
        (r = handover_one(hp, &w, p->looking_glass.device, WANT_R | WANT_W, err)) < 0)
        return r;
    for (size_t i = 0; p != NULL && i < p->n_disks; i++) {
        const struct vm_disk *d = &p->disks[i];
        bool ro = d->readonly || d->media == VM_MEDIA_CDROM;
        if (d->path != NULL &&
            (r = handover_one(hp, &w, d->path, ro ? WANT_R : WANT_R | WANT_W, err)) < 0)
            return r;
    }
    if (p != NULL) {
        if ((r = check_readable(&w, "kernel", p->boot.kernel, user, err)) < 0 ||
            (r = check_readable(&w, "initrd", p->boot.initrd, user, err)) < 0 ||
            (r = check_readable(&w, "firmware code", p->firmware.code, user, err)) < 0)
            return r;
        if (p->qemu.accel == VM_ACCEL_KVM && (r = check_kvm(&w, user, err)) < 0)
            return r;
    }
    return 0;
}

static const char *arg_str(const cJSON *args, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool arg_num(const cJSON *args, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0)
        return false;
    *out = v->valuedouble;
    return true;
}

int priv_chown_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = arg_str(args, "path");
    double uid, gid, mode;
    if (path == NULL || path[0] != '/' || !arg_num(args, "uid", &uid) ||
        !arg_num(args, "gid", &gid) || !arg_num(args, "mode", &mode))
        return vmrun_failx(err, EINVAL, "chown record without path, uid, gid and mode");
    cleanup_close int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* gone with the VM (a removed memory file, a vfio group) */
        return vmrun_fail(err, errno, "open %s", path);
    }
    if (fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0)
        return vmrun_fail(err, errno, "give %s back to uid %u", path, (unsigned)uid);
    /* chown clears set-id bits of regular files: put the mode back too.
     * Only regular files and directories may be opened for fchmod without
     * side effects; device modes are untouched by chown. */
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    mode_t want = (mode_t)mode & 07777;
    if ((st.st_mode & 07777) == want || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return 0;
    cleanup_close int mfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat ms;
    if (mfd < 0 || fstat(mfd, &ms) < 0)
        return vmrun_fail(err, errno, "open %s", path);
    if (ms.st_ino != st.st_ino || ms.st_dev != st.st_dev)
        return 0; /* replaced meanwhile: not the file we changed */
    if (fchmod(mfd, want) < 0)
        return vmrun_fail(err, errno, "restore the mode of %s", path);
    return 0;
}

static void describe_chown(const cJSON *args, char *buf, size_t len)
{
    const char *path = arg_str(args, "path");
    double uid = 0, gid = 0;
    arg_num(args, "uid", &uid);
    arg_num(args, "gid", &gid);
    snprintf(buf, len, "give %s back to %u:%u", path != NULL ? path : "?", (unsigned)uid,
             (unsigned)gid);
}

const struct journal_op priv_journal_ops[] = {
    {"chown", priv_chown_undo, describe_chown},
    {NULL, NULL, NULL},
};
