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
#include "priv/priv_acl.h"
#include "priv/priv_drop.h"
#include "priv/user_dir.h"
#include "sys/dirs.h"
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

static const char *arg_str(const cJSON *args, const char *key);
static bool arg_num(const cJSON *args, const char *key, double *out);

/* ---- one VM at a time per device node ------------------------------------ */

/* Two VMs given the same node at once would each record the ACL the other
 * had just changed, and, stopping in the wrong order, leave one user's
 * entry on it for good. A device node (an evdev QEMU grabs, a VFIO group,
 * a kvmfr device) is one VM's at a time: <run dir>/.devices/MAJ:MIN names
 * the VM that has it, and its supervisor holds a lock on that file for its
 * life (released by the kernel when it dies). A claim of a VM whose
 * supervisor died, with a journal still to undo, keeps the node from
 * everyone until `vmrun recover` has given it back. */
#define DEVICE_CLAIM_DIR "/.devices"
#define MAX_DEVICE_CLAIMS 64
static int device_claim_fds[MAX_DEVICE_CLAIMS];
static dev_t device_claim_rdev[MAX_DEVICE_CLAIMS];
static size_t n_device_claims;

static int claim_device(struct host_prep *hp, const struct stat *st, const char *real,
                        struct vmrun_error *err)
{
    const char *vm = hp->profile != NULL ? hp->profile->name : "";
    for (size_t i = 0; i < n_device_claims; i++)
        if (device_claim_rdev[i] == st->st_rdev)
            return 0; /* this supervisor has it already */
    char dir[PATH_MAX], name[64], path[PATH_MAX + 64], other[PROFILE_NAME_MAX + 2];
    if (host_path(dir, sizeof(dir), HOST_RUN, DEVICE_CLAIM_DIR) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "run directory path too long");
    int r = dir_make(dir, 0700, err);
    if (r < 0)
        return r;
    snprintf(name, sizeof(name), "%u:%u", major(st->st_rdev), minor(st->st_rdev));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n_device_claims == MAX_DEVICE_CLAIMS)
        return vmrun_failx(err, E2BIG, "more than %d devices for one VM", MAX_DEVICE_CLAIMS);
    cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", path);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    ssize_t n;
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        if (errno != EAGAIN && errno != EACCES)
            return vmrun_fail(err, errno, "lock %s", path);
        n = pread(fd, other, sizeof(other) - 1, 0);
        other[n > 0 ? n : 0] = '\0';
        return vmrun_failx(err, EBUSY, "%s is the VM '%s''s now: a device is one VM's at a time",
                           real, other[0] ? other : "?");
    }
    n = pread(fd, other, sizeof(other) - 1, 0);
    other[n > 0 ? n : 0] = '\0';
    if (other[0] != '\0' && strcmp(other, vm) != 0) {
        char journal[PATH_MAX];
        if (host_path(journal, sizeof(journal), HOST_RUN, "/%s/journal", other) == 0 &&
            access(journal, F_OK) == 0)
            return vmrun_failx(err, EBUSY,
                               "%s was the VM '%s''s, whose supervisor died before giving it "
                               "back; run 'vmrun recover %s' first",
                               real, other, other);
    }
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "path", path);
    cJSON_AddStringToObject(args, "vm", vm);
    if ((r = journal_record(hp->journal, "device-claim", args, err)) < 0)
        return r;
    size_t len = strlen(vm);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, vm, len, 0) != (ssize_t)len)
        return vmrun_fail(err, errno, "write %s", path);
    device_claim_rdev[n_device_claims] = st->st_rdev;
    device_claim_fds[n_device_claims++] = steal_fd(&fd);
    return journal_done(hp->journal, err);
}

/* The claim file goes when it still names the VM (its lock goes with the
 * supervisor's descriptor, or is a dead one's). */
static int device_claim_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = arg_str(args, "path");
    const char *vm = arg_str(args, "vm");
    if (path == NULL || vm == NULL || strstr(path, DEVICE_CLAIM_DIR "/") == NULL)
        return vmrun_failx(err, EINVAL, "malformed device-claim record");
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", path);
    char who[PROFILE_NAME_MAX + 2];
    ssize_t n = pread(fd, who, sizeof(who) - 1, 0);
    who[n > 0 ? n : 0] = '\0';
    if (strcmp(who, vm) == 0 && unlink(path) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    return 0;
}

static void describe_device_claim(const cJSON *args, char *buf, size_t len)
{
    const char *path = arg_str(args, "path");
    snprintf(buf, len, "let go of the device claim %s", path != NULL ? path : "?");
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

    if (kind != HANDOVER_OWN_FILE && (r = claim_device(hp, &sp.st, real, err)) < 0)
        return r;
    /* Access is given by an ACL entry for QEMU's user: the file keeps its
     * owner, so that user can neither chmod it nor set ACLs of their own
     * on it while the VM runs. Only where the file system has no ACLs
     * (hugetlbfs) does the file change owner. Either way the journal
     * keeps owner, group, mode and ACL, and the undo puts back exactly
     * those. */
    struct priv_acl cur, granted;
    int ra = priv_acl_read(sp.fd, &cur);
    if (ra < 0 && ra != -EOPNOTSUPP)
        return vmrun_fail(err, -ra, "read the ACL of %s", real);
    if (ra == 0 && (r = priv_acl_grant_user(&cur, sp.st.st_mode, w->uid,
                                            (unsigned)want & 6, &granted)) < 0)
        return vmrun_fail(err, -r, "the ACL of %s", real);
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
    if (ra == 0) {
        char hex[PRIV_ACL_MAX * 2 + 1];
        priv_acl_to_hex(&cur, hex, sizeof(hex));
        cJSON_AddStringToObject(args, "acl", hex);
    }
    if (record != NULL && (*record = cJSON_Duplicate(args, true)) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal");
    }
    if ((r = journal_record(hp->journal, "chown", args, err)) < 0)
        return r;
    r = ra == 0 ? priv_acl_write(sp.fd, &granted) : -EOPNOTSUPP;
    if (r == 0) {
        host_prep_say(hp, "gave %s access to %s (an ACL entry)", user, real);
    } else if (r == -EOPNOTSUPP) {
        if (fchownat(sp.fd, "", w->uid, w->gid, AT_EMPTY_PATH) < 0)
            return vmrun_fail(err, errno, "hand %s over to %s (chown)", real, user);
        host_prep_say(hp, "handed %s over to %s", real, user);
    } else {
        return vmrun_fail(err, -r, "give %s access to %s (ACL)", user, real);
    }
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


/* The Looking Glass file older vmruns made in /dev/shm (op "lgshm"), for
 * their journals: removed when it is still the regular file of QEMU's
 * user's it was. */
#define LEGACY_LG_DIR "/dev/shm"

static int lgshm_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = arg_str(args, "path");
    double uid;
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    if (path == NULL || !arg_num(args, "uid", &uid) || slash == NULL ||
        strncmp(path, LEGACY_LG_DIR "/", sizeof(LEGACY_LG_DIR)) != 0 ||
        strchr(slash + 1, '/') != NULL || slash != path + sizeof(LEGACY_LG_DIR) - 1)
        return vmrun_failx(err, EINVAL, "lgshm record without a %s/ path and uid",
                           LEGACY_LG_DIR);
    cleanup_close int dfd =
        open(LEGACY_LG_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", LEGACY_LG_DIR);
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
    /* The console sockets and the Looking Glass memory: QEMU's user's
     * alone (priv/user_dir.h). */
    if (hp->profile != NULL && user_dir_needed(hp->profile) &&
        (r = user_dir_prepare(hp, t.uid, t.gid, err)) < 0) {
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
    struct stat st = sp.st;
    if ((st.st_uid != (uid_t)uid || st.st_gid != (gid_t)gid) &&
        fchownat(sp.fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0)
        return vmrun_fail(err, errno, "give %s back to uid %u", path, (unsigned)uid);
    /* The ACL as it was (none: none), then the mode: an ACL sets the
     * group bits from its mask, and chown clears set-id bits. A record
     * without "acl" is an older vmrun's: there was no ACL to restore. */
    const char *hex = arg_str(args, "acl");
    if (hex != NULL) {
        struct priv_acl was;
        if (priv_acl_from_hex(hex, &was) < 0)
            return vmrun_failx(err, EINVAL, "chown record of %s with a malformed ACL", path);
        int r2 = priv_acl_write(sp.fd, &was);
        if (r2 < 0 && r2 != -EOPNOTSUPP)
            return vmrun_fail(err, -r2, "restore the ACL of %s", path);
    }
    if (fstat(sp.fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    mode_t want = (mode_t)mode & 07777;
    if ((st.st_mode & 07777) == want)
        return 0;
    /* chmod through the descriptor's /proc link: a device node is not
     * opened (opening a device may do things). */
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", sp.fd);
    if (chmod(self, want) < 0)
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
    {"user-dir", user_dir_undo, user_dir_describe},
    {"device-claim", device_claim_undo, describe_device_claim},
    {NULL, NULL, NULL},
};
