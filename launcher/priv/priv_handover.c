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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/text.h"
#include "priv/priv_drop.h"
#include "sys/hostpath.h"
#include "sys/safepath.h"

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

/* The major number the kernel gave a character driver (/proc/devices),
 * or -1 when it has none (the module is not loaded). */
static int char_major(const char *driver)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/devices") < 0)
        return -1;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[128];
    bool chars = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Character devices:", 18) == 0) {
            chars = true;
            continue;
        }
        if (strncmp(line, "Block devices:", 14) == 0)
            break;
        int major;
        char name[64];
        if (chars && sscanf(line, "%d %63s", &major, name) == 2 && strcmp(name, driver) == 0)
            return major;
    }
    return -1;
}

/* Is st the kind of file `kind` says (handover.h's enum)? why gets the
 * reason when not. */
static bool right_kind(enum handover_kind kind, const struct stat *st, char *why, size_t len)
{
    switch (kind) {
    case HANDOVER_OWN_FILE:
        if (S_ISREG(st->st_mode))
            return true;
        snprintf(why, len, "is not a regular file");
        return false;
    case HANDOVER_EVDEV: {
        /* input's major 13; evdev minors 64-95, then dynamic 256-1023
         * (joysticks and the legacy mice below 64 are not evdev). */
        unsigned mi = minor(st->st_rdev);
        if (S_ISCHR(st->st_mode) && major(st->st_rdev) == 13 &&
            ((mi >= 64 && mi < 96) || (mi >= 256 && mi < 1024)))
            return true;
        snprintf(why, len, "is not an evdev input device (a character device 13:64-95 or "
                           "13:256-1023)");
        return false;
    }
    case HANDOVER_VFIO_GROUP:
    case HANDOVER_KVMFR: {
        const char *driver = kind == HANDOVER_VFIO_GROUP ? "vfio" : "kvmfr";
        int m = char_major(driver);
        if (S_ISCHR(st->st_mode) && m >= 0 && (int)major(st->st_rdev) == m)
            return true;
        snprintf(why, len, "is not a %s device (a character device of the %s driver%s)", driver,
                 driver, m < 0 ? ", which is not loaded" : "");
        return false;
    }
    }
    return false;
}

/* Hand one file over to w for the VM's life, when w cannot already use it
 * as wanted. The path is resolved by the root-controlled walk
 * (sys/safepath.h), the kind checked on the fd it gives, and that fd is
 * what changes owner: a path someone else controls is refused, never
 * followed. The journal records the file's canonical path and inode, so
 * the undo gives back exactly this file. */
static int handover_one(struct host_prep *hp, const struct who *w, const char *what,
                        const char *path, int want, enum handover_kind kind, cJSON **record,
                        struct vmrun_error *err)
{
    char user[64];
    text_user(w->uid, user, sizeof(user));
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    int r = safe_resolve(path, &sp, err);
    if (r < 0)
        return vmrun_error_prefix(err, "cannot give %s %s to QEMU's user %s", what, path, user);
    if (!sp.root_controlled)
        return vmrun_failx(err, EPERM,
                           "%s %s: %s; vmrun gives QEMU's user access only to files on paths "
                           "root controls (name the device by a path under /dev)",
                           what, path, sp.why);
    char why[160];
    if (!right_kind(kind, &sp.st, why, sizeof(why)))
        return vmrun_failx(err, EINVAL, "%s %s %s", what, path, why);
    char real[PATH_MAX], self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", sp.fd);
    ssize_t n = readlink(self, real, sizeof(real) - 1);
    if (n <= 0 || real[0] != '/')
        return vmrun_fail(err, n < 0 ? errno : ENOENT, "where %s %s is", what, path);
    real[n] = '\0';
    if ((r = check_reach(w, real, user, err)) < 0)
        return r;
    if (may(w, &sp.st, want))
        return 0;

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "path", real);
    cJSON_AddNumberToObject(args, "uid", sp.st.st_uid);
    cJSON_AddNumberToObject(args, "gid", sp.st.st_gid);
    cJSON_AddNumberToObject(args, "mode", sp.st.st_mode & 07777);
    cJSON_AddNumberToObject(args, "to_uid", w->uid);
    cJSON_AddNumberToObject(args, "to_gid", w->gid);
    cJSON_AddNumberToObject(args, "dev", (double)sp.st.st_dev);
    cJSON_AddNumberToObject(args, "ino", (double)sp.st.st_ino);
    if (record != NULL && (*record = cJSON_Duplicate(args, true)) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal");
    }
    if ((r = journal_record(hp->journal, "chown", args, err)) < 0)
        return r;
    if (fchownat(sp.fd, "", w->uid, w->gid, AT_EMPTY_PATH) < 0)
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
        int r = handover_one(hp, &w, "vmrun's file", paths[i], WANT_R | WANT_W,
                             HANDOVER_OWN_FILE, NULL, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int priv_handover_node(struct host_prep *hp, const char *what, const char *path,
                       cJSON **record, struct vmrun_error *err)
{
    *record = NULL;
    if (hp->qemu_uid == geteuid())
        return 0;
    struct who w;
    who_init(&w, hp->qemu_uid, hp->qemu_gid);
    return handover_one(hp, &w, what, path, WANT_R | WANT_W, HANDOVER_EVDEV, record, err);
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

static const char *arg_str(const cJSON *args, const char *key);
static bool arg_num(const cJSON *args, const char *key, double *out);

/* Create the Looking Glass file for QEMU's user (priv_handover.h). */
static int make_looking_glass_shm(struct host_prep *hp, const char *vm, uid_t uid, gid_t gid,
                                  struct vmrun_error *err)
{
    char name[NAME_MAX + 1], path[PATH_MAX];
    snprintf(name, sizeof(name), LOOKING_GLASS_SHM_PREFIX "%s", vm);
    snprintf(path, sizeof(path), LOOKING_GLASS_SHM_DIR "/%s", name);
    cleanup_safe_path struct safe_path dir = {.fd = -1};
    int r = safe_resolve(LOOKING_GLASS_SHM_DIR, &dir, err);
    if (r < 0)
        return vmrun_error_prefix(err, "Looking Glass");
    if (!dir.root_controlled || !S_ISDIR(dir.st.st_mode))
        return vmrun_failx(err, EPERM, "Looking Glass: %s is not a directory root controls (%s)",
                           LOOKING_GLASS_SHM_DIR, dir.why);
    cleanup_close int dfd = safe_reopen(&dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return vmrun_fail(err, -dfd, "open %s", LOOKING_GLASS_SHM_DIR);

    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISREG(st.st_mode) && st.st_uid == uid && st.st_nlink == 1)
            return 0; /* QEMU's user's own file: theirs to use, and to keep */
        return vmrun_failx(err, EEXIST,
                           "Looking Glass: %s already exists and is not a file of QEMU's user "
                           "(uid %u): it is %s owned by uid %u. Remove it, or choose another "
                           "VM name",
                           path, (unsigned)uid,
                           S_ISLNK(st.st_mode)   ? "a symbolic link"
                           : S_ISREG(st.st_mode) ? "a regular file"
                                                 : "not a regular file",
                           (unsigned)st.st_uid);
    }
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "path", path);
    cJSON_AddNumberToObject(args, "uid", uid);
    if ((r = journal_record(hp->journal, "lgshm", args, err)) < 0)
        return r;
    cleanup_close int fd =
        openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "Looking Glass: create %s", path);
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0600) < 0)
        return vmrun_fail(err, errno, "Looking Glass: give %s to uid %u", path, (unsigned)uid);
    host_prep_say(hp, "created %s for Looking Glass", path);
    return journal_done(hp->journal, err);
}

static int lgshm_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = arg_str(args, "path");
    double uid;
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    if (path == NULL || !arg_num(args, "uid", &uid) || slash == NULL ||
        strncmp(path, LOOKING_GLASS_SHM_DIR "/", sizeof(LOOKING_GLASS_SHM_DIR)) != 0 ||
        strchr(slash + 1, '/') != NULL || slash != path + sizeof(LOOKING_GLASS_SHM_DIR) - 1)
        return vmrun_failx(err, EINVAL, "lgshm record without a %s/ path and uid",
                           LOOKING_GLASS_SHM_DIR);
    cleanup_close int dfd =
        open(LOOKING_GLASS_SHM_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", LOOKING_GLASS_SHM_DIR);
    struct stat st;
    if (fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "stat %s", path);
    /* Only the regular file of QEMU's user it was: whatever else is there
     * is not vmrun's to remove. */
    if (!S_ISREG(st.st_mode) || st.st_uid != (uid_t)uid)
        return 0;
    if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    return 0;
}

static void describe_lgshm(const cJSON *args, char *buf, size_t len)
{
    const char *path = arg_str(args, "path");
    snprintf(buf, len, "remove %s", path != NULL ? path : "?");
}

int priv_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    struct priv_target t;
    int r = priv_resolve_target(hp->profile, &t, err);
    if (r < 0)
        return r;
    hp->qemu_uid = t.uid;
    hp->qemu_gid = t.gid;
    const struct vm_profile *lp = hp->profile;
    if (lp != NULL && lp->looking_glass.present && lp->looking_glass.device != NULL &&
        strcmp(lp->looking_glass.device, "shm") == 0 &&
        (r = make_looking_glass_shm(hp, lp->name, t.uid, t.gid, err)) < 0) {
        priv_target_free(&t);
        return r;
    }
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
        if ((r = handover_one(hp, &w, "VFIO group", path, WANT_R | WANT_W, HANDOVER_VFIO_GROUP,
                              NULL, err)) < 0)
            return r;
    }
    if (hp->memory_file[0] != '\0' &&
        (r = handover_one(hp, &w, "the guest memory file", hp->memory_file, WANT_R | WANT_W,
                          HANDOVER_OWN_FILE, NULL, err)) < 0)
        return r;
    /* The profile's input devices are never handed over: QEMU reads the
     * virtual devices vmrun makes for them (host/input/input.h). */
    if (p != NULL && p->looking_glass.present && p->looking_glass.device != NULL &&
        p->looking_glass.device[0] == '/' &&
        (r = handover_one(hp, &w, "looking_glass.device", p->looking_glass.device,
                          WANT_R | WANT_W, HANDOVER_KVMFR, NULL, err)) < 0)
        return r;
    /* Disks, firmware, kernel, initrd and ROMs are not handed over: QEMU
     * gets them as fds, opened with the rights their paths deserve
     * (priv/priv_files.h). */
    if (p != NULL && p->qemu.accel == VM_ACCEL_KVM && (r = check_kvm(&w, user, err)) < 0)
        return r;
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
    double uid, gid, mode, dev, ino;
    if (path == NULL || path[0] != '/' || !arg_num(args, "uid", &uid) ||
        !arg_num(args, "gid", &gid) || !arg_num(args, "mode", &mode))
        return vmrun_failx(err, EINVAL, "chown record without path, uid, gid and mode");
    /* The same walk as the handover: a path that left root's control
     * since is not followed (whatever is there now is not what was handed
     * over). */
    struct vmrun_error ignored = {0};
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    int r = safe_resolve(path, &sp, &ignored);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0; /* gone with the VM (a removed memory file, a vfio group) */
    if (r < 0)
        return vmrun_failx(err, -r, "give %s back: %s", path, ignored.msg);
    if (!sp.root_controlled)
        return 0;
    /* A record with the inode names one file: another one there now (a
     * device node made anew) is the kernel's, not ours to change. */
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(args, "dev");
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(args, "ino");
    if (cJSON_IsNumber(jd) && cJSON_IsNumber(ji) && arg_num(args, "dev", &dev) &&
        arg_num(args, "ino", &ino) &&
        ((double)sp.st.st_dev != dev || (double)sp.st.st_ino != ino))
        return 0;
    if (fchownat(sp.fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0)
        return vmrun_fail(err, errno, "give %s back to uid %u", path, (unsigned)uid);
    /* chown clears set-id bits of regular files: put the mode back too.
     * Only a regular file or directory is reopened for fchmod (a device
     * node's mode is untouched by chown). */
    struct stat st;
    if (fstat(sp.fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    mode_t want = (mode_t)mode & 07777;
    if ((st.st_mode & 07777) == want || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return 0;
    cleanup_close int mfd = safe_reopen(&sp, O_RDONLY | O_NONBLOCK);
    if (mfd < 0)
        return vmrun_fail(err, -mfd, "open %s", path);
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
    {"lgshm", lgshm_undo, describe_lgshm},
    {NULL, NULL, NULL},
};
