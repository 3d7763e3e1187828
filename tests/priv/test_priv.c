/* Who QEMU runs as, the drop itself (in a forked child), and the journaled
 * ownership handover with its undo. Needs root (skipped otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/journal.h"
#include "priv/caller.h"
#include "plan/hostprep.h"
#include "plan/undo.h"
#include "priv/priv_drop.h"
#include "priv/priv_handover.h"
#include "priv/priv_notify.h"

static const uid_t NOBODY = 65534;
static gid_t nogroup;
static char dir[64];

static void clear_env(void)
{
    unsetenv("SUDO_UID");
    unsetenv("SUDO_GID");
    unsetenv("PKEXEC_UID");
    unsetenv("VMRUN_DEV_ROOT");
    unsetenv("VMRUN_PROCFS_ROOT");
}

static int setup(void **state)
{
    struct passwd *pw = getpwuid(NOBODY);
    if (pw == NULL)
        return -1;
    nogroup = pw->pw_gid;
    snprintf(dir, sizeof(dir), "/tmp/vmrun-priv-test-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    chmod(dir, 0755);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
    clear_env();
    return system(cmd) == 0 ? 0 : -1;
}

static void make(const char *rel, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static struct stat st_of(const char *rel)
{
    char p[256];
    struct stat st = {0};
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    assert_int_equal(lstat(p, &st), 0);
    return st;
}

static void test_resolve_target(void **state)
{
    clear_env();
    struct vm_profile p = {0};
    snprintf(p.name, sizeof(p.name), "t");
    p.qemu.accel = VM_ACCEL_TCG;
    struct priv_target t;
    struct vmrun_error err = {0};

    /* Root run directly: QEMU stays root, nothing changes. */
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    assert_false(t.change);
    assert_int_equal(t.uid, 0);
    assert_int_equal(t.source, PRIV_FROM_SELF);
    priv_target_free(&t);

    setenv("SUDO_UID", "65534", 1);
    setenv("SUDO_GID", "65534", 1);
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    assert_true(t.change);
    assert_int_equal(t.uid, NOBODY);
    assert_int_equal(t.gid, 65534);
    assert_int_equal(t.source, PRIV_FROM_SUDO);
    assert_string_equal(t.user, "nobody");
    assert_true(t.n_groups >= 1);
    priv_target_free(&t);

    setenv("SUDO_UID", "12abc", 1);
    assert_int_equal(priv_resolve_target(&p, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "SUDO_UID"));
    priv_target_free(&t);
    clear_env();

    setenv("PKEXEC_UID", "65534", 1);
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    assert_int_equal(t.uid, NOBODY);
    assert_int_equal(t.gid, nogroup);
    assert_int_equal(t.source, PRIV_FROM_PKEXEC);
    priv_target_free(&t);

    /* run_as wins over the caller. */
    p.run_as = (char *)"root";
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    assert_false(t.change);
    priv_target_free(&t);
    p.run_as = (char *)"no-such-user-xyz";
    assert_int_equal(priv_resolve_target(&p, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "run_as"));
    assert_non_null(strstr(err.msg, "no-such-user-xyz"));
    priv_target_free(&t);
    clear_env();
}

static void test_kvm_group_added(void **state)
{
    clear_env();
    char devroot[128], kvm[160];
    snprintf(devroot, sizeof(devroot), "%s/dev-kvm", dir);
    assert_int_equal(mkdir(devroot, 0755), 0);
    snprintf(kvm, sizeof(kvm), "%s/kvm", devroot);
    int fd = open(kvm, O_WRONLY | O_CREAT | O_CLOEXEC, 0660);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chown(kvm, 0, 4242), 0);
    assert_int_equal(chmod(kvm, 0660), 0);
    setenv("VMRUN_DEV_ROOT", devroot, 1);

    struct vm_profile p = {0};
    p.qemu.accel = VM_ACCEL_KVM;
    p.run_as = (char *)"nobody";
    struct priv_target t;
    struct vmrun_error err = {0};
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    bool found = false;
    for (size_t i = 0; i < t.n_groups; i++)
        found = found || t.groups[i] == 4242;
    assert_true(found);
    priv_target_free(&t);

    /* TCG does not need it. */
    p.qemu.accel = VM_ACCEL_TCG;
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    for (size_t i = 0; i < t.n_groups; i++)
        assert_int_not_equal(t.groups[i], 4242);
    priv_target_free(&t);
    clear_env();
}

static void test_memlock_bytes(void **state)
{
    struct vm_profile p = {0};
    p.memory.size = 16ull << 30;
    assert_int_equal(priv_memlock_bytes(&p), 0);
    p.n_pci = 2;
    assert_true(priv_memlock_bytes(&p) == (17ull << 30));
    p.memory.size = UINT64_MAX - 5;
    assert_true(priv_memlock_bytes(&p) == UINT64_MAX);
    struct vmrun_error err = {0};
    assert_int_equal(priv_set_memlock(0, &err), 0);
}

/* The drop in a child, as the supervisor does it, then what the kernel
 * says about the child. */
static void test_drop_in_child(void **state)
{
    clear_env();
    struct vm_profile p = {0};
    p.run_as = (char *)"nobody";
    struct priv_target t;
    struct vmrun_error err = {0};
    assert_int_equal(priv_resolve_target(&p, &t, &err), 0);
    assert_true(t.change);
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct vmrun_error cerr = {0};
        char out[4096] = "";
        if (priv_drop(&t, &cerr) < 0) {
            snprintf(out, sizeof(out), "drop: %s", cerr.msg);
        } else {
            FILE *f = fopen("/proc/self/status", "re");
            char line[256];
            while (f != NULL && fgets(line, sizeof(line), f) != NULL)
                if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0 ||
                    strncmp(line, "Uid", 3) == 0)
                    strncat(out, line, sizeof(out) - strlen(out) - 1);
            if (f != NULL)
                fclose(f);
            /* A second verification after the fact still holds. */
            if (priv_verify(&t, &cerr) < 0)
                snprintf(out, sizeof(out), "verify: %s", cerr.msg);
        }
        if (write(pfd[1], out, strlen(out)) < 0)
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    char buf[2048] = "";
    ssize_t got = 0, n;
    while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_null(strstr(buf, "drop:"));
    assert_null(strstr(buf, "verify:"));
    assert_non_null(strstr(buf, "Uid:\t65534\t65534\t65534\t65534"));
    assert_non_null(strstr(buf, "CapEff:\t0000000000000000"));
    assert_non_null(strstr(buf, "CapPrm:\t0000000000000000"));
    assert_non_null(strstr(buf, "CapBnd:\t0000000000000000"));
    assert_non_null(strstr(buf, "CapAmb:\t0000000000000000"));
    assert_non_null(strstr(buf, "NoNewPrivs:\t1"));
    priv_target_free(&t);

    /* And a target that is not the caller fails verification as root. */
    t.change = true;
    t.uid = NOBODY;
    t.gid = nogroup;
    t.groups = NULL;
    t.n_groups = 0;
    assert_int_equal(priv_verify(&t, &err), -EPERM);
    assert_non_null(strstr(err.msg, "uids are 0/0/0"));
}

static void open_hp(struct host_prep *hp, struct journal *j, struct vmrun_error *err)
{
    char jp[256];
    snprintf(jp, sizeof(jp), "%s/journal", dir);
    assert_int_equal(journal_open(j, jp, err), 0);
    memset(hp, 0, sizeof(*hp));
    hp->journal = j;
    hp->qemu_uid = NOBODY;
    hp->qemu_gid = nogroup;
}

/* Does rel's access ACL hold an entry for user uid with perms? */
static bool acl_grants(const char *rel, uid_t uid, unsigned perms)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    unsigned char buf[1024];
    ssize_t n = getxattr(p, "system.posix_acl_access", buf, sizeof(buf));
    for (ssize_t i = 4; i + 8 <= n; i += 8) {
        unsigned tag = buf[i] | buf[i + 1] << 8, perm = buf[i + 2] | buf[i + 3] << 8;
        uint32_t id = buf[i + 4] | buf[i + 5] << 8 | buf[i + 6] << 16 | (uint32_t)buf[i + 7] << 24;
        if (tag == 0x02 && id == uid && (perm & perms) == perms)
            return true;
    }
    return false;
}

static ssize_t acl_bytes(const char *rel, unsigned char *buf, size_t len)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    ssize_t n = getxattr(p, "system.posix_acl_access", buf, len);
    return n < 0 && errno == ENODATA ? 0 : n;
}

static void test_handover_and_undo(void **state)
{
    clear_env();
    make("vars.fd", 0600);
    make("setid", 04755);
    make("open.log", 0666);
    char a[256], b[256], c[256], lnk[256], missing[256];
    snprintf(a, sizeof(a), "%s/vars.fd", dir);
    snprintf(b, sizeof(b), "%s/setid", dir);
    snprintf(c, sizeof(c), "%s/open.log", dir);
    snprintf(lnk, sizeof(lnk), "%s/link", dir);
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    assert_int_equal(symlink("setid", lnk), 0);

    struct journal j;
    struct host_prep hp;
    struct vmrun_error err = {0};
    open_hp(&hp, &j, &err);
    /* setid has an ACL of its own already (a group entry). */
    unsigned char was[64] = {2, 0, 0, 0, 0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
                             0x04, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
                             0x08, 0, 4, 0, 0x2a, 0, 0, 0,
                             0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
                             0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(setxattr(b, "system.posix_acl_access", was, 44, 0), 0);
    struct stat setid_before = st_of("setid");
    const char *paths[] = {a, lnk, c};
    assert_int_equal(priv_handover(&hp, paths, 3, &err), 0);
    /* An ACL entry, not the owner: QEMU's user cannot chmod it. */
    assert_int_equal(st_of("vars.fd").st_uid, 0);
    assert_true(acl_grants("vars.fd", NOBODY, 6));
    assert_int_equal(st_of("setid").st_uid, 0);
    assert_true(acl_grants("setid", NOBODY, 6)); /* the link's target */
    assert_int_equal(st_of("link").st_uid, 0);
    assert_int_equal(st_of("open.log").st_uid, 0); /* already usable: untouched */
    unsigned char buf[1024];
    assert_int_equal(acl_bytes("open.log", buf, sizeof(buf)), 0);
    /* Whatever became of the mode meanwhile is undone. */
    assert_int_equal(chmod(a, 0666), 0);

    const char *bad[] = {missing};
    assert_true(priv_handover(&hp, bad, 1, &err) < 0);
    assert_non_null(strstr(err.msg, "missing"));
    journal_close(&j);

    struct journal_entries e;
    assert_int_equal(journal_load(j.path, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.items[0].op, "chown");
    assert_string_equal(cJSON_GetObjectItem(e.items[1].args, "path")->valuestring, b);
    assert_non_null(journal_find_op("chown"));
    /* Undo twice: idempotent. */
    assert_int_equal(journal_undo(&e, 0, NULL, NULL, &err), 0);
    assert_int_equal(journal_undo(&e, 0, NULL, NULL, &err), 0);
    assert_int_equal(st_of("vars.fd").st_uid, 0);
    assert_int_equal(st_of("vars.fd").st_mode & 07777, 0600);
    assert_int_equal(acl_bytes("vars.fd", buf, sizeof(buf)), 0); /* no ACL, as before */
    assert_int_equal(st_of("setid").st_uid, 0);
    assert_int_equal(st_of("setid").st_mode & 07777, setid_before.st_mode & 07777);
    assert_int_equal(acl_bytes("setid", buf, sizeof(buf)), 44); /* its own ACL, exactly */
    assert_memory_equal(buf, was, 44);
    /* A file gone by the time of the undo is fine. */
    unlink(a);
    assert_int_equal(journal_undo(&e, 0, NULL, NULL, &err), 0);
    journal_entries_free(&e);
    /* A record without its fields is an error, not a crash. */
    cJSON *args = cJSON_CreateObject();
    assert_int_equal(priv_chown_undo(args, &err), -EINVAL);
    cJSON_Delete(args);
    unlink(j.path);
}

static void test_handover_unreachable(void **state)
{
    char sub[256], f[300];
    snprintf(sub, sizeof(sub), "%s/private", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(f, sizeof(f), "%s/disk.img", sub);
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    struct journal j;
    struct host_prep hp;
    struct vmrun_error err = {0};
    open_hp(&hp, &j, &err);
    const char *paths[] = {f};
    assert_int_equal(priv_handover(&hp, paths, 1, &err), -EACCES);
    assert_non_null(strstr(err.msg, "cannot reach"));
    assert_non_null(strstr(err.msg, "mode 0700"));
    journal_close(&j);
    unlink(j.path);
}

static void test_prepare(void **state)
{
    clear_env();
    /* A simulated /dev with one vfio group, a memory file, a runtime dir. */
    char devroot[256], vfio[300], run[256], mem[256], qdir[300], kernel[256];
    snprintf(devroot, sizeof(devroot), "%s/dev", dir);
    snprintf(vfio, sizeof(vfio), "%s/vfio", devroot);
    assert_int_equal(mkdir(devroot, 0755), 0);
    assert_int_equal(mkdir(vfio, 0755), 0);
    snprintf(vfio, sizeof(vfio), "%s/vfio/7", devroot);
    /* A regular file where the group's device node should be. */
    int fd = open(vfio, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    close(fd);
    /* The kernel's list of character drivers, with vfio at major 240. */
    char procroot[256], devices[300];
    snprintf(procroot, sizeof(procroot), "%s/proc", dir);
    assert_int_equal(mkdir(procroot, 0755), 0);
    snprintf(devices, sizeof(devices), "%s/devices", procroot);
    FILE *df = fopen(devices, "we");
    assert_non_null(df);
    fputs("Character devices:\n  1 mem\n 13 input\n240 vfio\n\nBlock devices:\n  8 sd\n", df);
    fclose(df);
    setenv("VMRUN_PROCFS_ROOT", procroot, 1);
    snprintf(mem, sizeof(mem), "%s/guest-mem", dir);
    fd = open(mem, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    close(fd);
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
    fd = open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    close(fd);
    snprintf(run, sizeof(run), "%s/run", dir);
    assert_int_equal(mkdir(run, 0700), 0);
    setenv("VMRUN_DEV_ROOT", devroot, 1);

    struct vm_profile p = {0};
    snprintf(p.name, sizeof(p.name), "t");
    p.qemu.accel = VM_ACCEL_TCG;
    setenv("SUDO_UID", "65534", 1);

    struct journal j;
    struct host_prep hp;
    struct vmrun_error err = {0};
    open_hp(&hp, &j, &err);
    hp.profile = &p;
    hp.runtime_dir = run;
    hp.qemu_uid = 0;
    snprintf(hp.memory_file, sizeof(hp.memory_file), "%s", mem);
    hp.vfio_groups[0] = 7;
    hp.n_vfio_groups = 1;

    /* Only a character device of the vfio driver is handed over. */
    assert_int_equal(priv_prepare(&hp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "is not a vfio device"));
    unlink(vfio);
    assert_int_equal(mknod(vfio, S_IFCHR | 0600, makedev(13, 64)), 0); /* an evdev node */
    assert_int_equal(priv_prepare(&hp, &err), -EINVAL);
    unlink(vfio);
    assert_int_equal(mknod(vfio, S_IFCHR | 0600, makedev(240, 7)), 0);
    /* The kernel is not priv_prepare's: QEMU gets it as an fd
     * (priv_files.h), so nothing is handed over for it. */
    p.boot.kernel = kernel;
    assert_int_equal(priv_prepare(&hp, &err), 0);
    assert_int_equal(hp.qemu_uid, NOBODY);

    struct stat st;
    assert_int_equal(stat(vfio, &st), 0);
    assert_int_equal(st.st_uid, 0); /* an ACL entry for QEMU's user instead */
    unsigned char acl[1024];
    assert_true(getxattr(vfio, "system.posix_acl_access", acl, sizeof(acl)) > 0);
    assert_int_equal(stat(mem, &st), 0);
    assert_true(st.st_uid == NOBODY ||
                getxattr(mem, "system.posix_acl_access", acl, sizeof(acl)) > 0);
    /* QEMU's QMP is an inherited socket: the runtime directory stays root's
     * alone, and nothing in it is QEMU's user's. */
    snprintf(qdir, sizeof(qdir), "%s/qemu", run);
    assert_int_equal(stat(qdir, &st), -1);
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_mode & 07777, 0700);

    /* A KVM guest whose user cannot open /dev/kvm: refused with the fix. */
    char kvm[300];
    snprintf(kvm, sizeof(kvm), "%s/kvm", devroot);
    fd = open(kvm, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    close(fd);
    p.qemu.accel = VM_ACCEL_KVM;
    assert_int_equal(priv_prepare(&hp, &err), -EACCES);
    assert_non_null(strstr(err.msg, "/kvm"));
    p.qemu.accel = VM_ACCEL_TCG;

    journal_close(&j);
    assert_int_equal(host_prep_undo(j.path, NULL, NULL, &err), 0);
    assert_int_equal(stat(vfio, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(stat(mem, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(access(j.path, F_OK), -1);

    /* Root run directly: nothing is handed over. */
    clear_env();
    open_hp(&hp, &j, &err);
    hp.profile = &p;
    hp.runtime_dir = run;
    snprintf(hp.memory_file, sizeof(hp.memory_file), "%s", mem);
    assert_int_equal(priv_prepare(&hp, &err), 0);
    assert_int_equal(hp.qemu_uid, 0);
    assert_int_equal(j.seq, 0);
    journal_close(&j);
    unlink(j.path);
}

static bool read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return true;
}

/* notify_user runs the notifier as the invoking user with their session
 * bus, and never as root. A script stands in for notify-send. */
/* What vmrun believes of its environment as root (priv/caller.h). */
static int judge(const struct caller_facts *f, const char *const *env)
{
    struct vmrun_error err = {0};
    int r = priv_judge_caller((char *const *)env, f, &err);
    if (r < 0)
        assert_non_null(strstr(err.msg, "SETENV"));
    return r;
}

static void test_judge_caller(void **state)
{
    (void)state;
    struct caller_facts by_user = {.parent_ruid = 1000, .parent = 4242};
    struct caller_facts by_root = {.parent_ruid = 0, .parent = 4242};
    struct caller_facts adopted = {.parent_ruid = 0, .parent = 1, .has_loginuid = true,
                                   .loginuid = 1000};
    /* sudo as it is: the caller's uid, and nothing else. */
    const char *sudo[] = {"SUDO_UID=1000", "SUDO_GID=1000", "PATH=/usr/bin", NULL};
    assert_int_equal(judge(&by_user, sudo), 0);
    /* The caller chose SUDO_UID (or emptied it, or left it out). */
    const char *forged[] = {"SUDO_UID=0", NULL};
    assert_int_equal(judge(&by_user, forged), -EPERM);
    const char *empty[] = {"SUDO_UID=", NULL};
    assert_int_equal(judge(&by_user, empty), -EPERM);
    const char *none[] = {"PATH=/usr/bin", NULL};
    assert_int_equal(judge(&by_user, none), -EPERM);
    const char *other[] = {"SUDO_UID=1001", NULL};
    assert_int_equal(judge(&by_user, other), -EPERM);
    /* Twice, whoever the parent is. */
    const char *twice[] = {"SUDO_UID=1000", "SUDO_UID=0", NULL};
    assert_int_equal(judge(&by_user, twice), -EPERM);
    assert_int_equal(judge(&by_root, twice), -EPERM);
    const char *pk_twice[] = {"PKEXEC_UID=1000", "PKEXEC_UID=1000", NULL};
    assert_int_equal(judge(&by_root, pk_twice), -EPERM);
    /* pkexec replaced itself with vmrun: the parent is the caller's. */
    const char *pkexec[] = {"PKEXEC_UID=1000", NULL};
    assert_int_equal(judge(&by_user, pkexec), 0);
    /* The loader's variables from an ordinary caller; root's own are
     * root's business. */
    const char *ld[] = {"SUDO_UID=1000", "LD_PRELOAD=/x.so", NULL};
    assert_int_equal(judge(&by_user, ld), -EPERM);
    assert_int_equal(judge(&by_root, ld), 0);
    const char *gconv[] = {"SUDO_UID=1000", "GCONV_PATH=/x", NULL};
    assert_int_equal(judge(&by_user, gconv), -EPERM);
    /* Root's parent may say who the caller is (root's shell, run0). */
    assert_int_equal(judge(&by_root, sudo), 0);
    assert_int_equal(judge(&by_root, none), 0);
    /* SUDO_USER must be SUDO_UID's name. */
    const char *user0[] = {"SUDO_UID=1000", "SUDO_USER=root", NULL};
    assert_int_equal(judge(&by_root, user0), -EPERM);
    /* Adopted by init, said to be root, in another user's session. */
    assert_int_equal(judge(&adopted, forged), -EPERM);
    assert_int_equal(judge(&adopted, empty), -EPERM);
    assert_int_equal(judge(&adopted, none), 0);
    assert_int_equal(judge(&adopted, sudo), 0);
}

static void test_notify(void **state)
{
    clear_env();
    char box[256], script[300], out[300];
    snprintf(box, sizeof(box), "%s/notify", dir);
    assert_int_equal(mkdir(box, 0777), 0);
    assert_int_equal(chmod(box, 0777), 0);
    snprintf(out, sizeof(out), "%s/out", box);
    snprintf(script, sizeof(script), "%s/notify-send", box);
    FILE *f = fopen(script, "we");
    assert_non_null(f);
    fprintf(
        f, "#!/bin/sh\n{ id -u; echo \"$DBUS_SESSION_BUS_ADDRESS\"; printf '%%s|' \"$@\"; } > %s\n",
        out);
    fclose(f);
    assert_int_equal(chmod(script, 0755), 0);
    setenv("VMRUN_NOTIFY_SEND", script, 1);

    /* No terminal: stdin and stderr away from any tty for the call. */
    int saved_in = dup(STDIN_FILENO), saved_err = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDERR_FILENO);

    notify_user("VM gaming stopped", "no reason");
    bool ran_as_root = access(out, F_OK) == 0;

    setenv("SUDO_UID", "65534", 1);
    notify_user("VM gaming stopped", "the guest powered off");

    dup2(saved_in, STDIN_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_in);
    close(saved_err);
    close(devnull);

    assert_false(ran_as_root);
    char buf[1024];
    assert_true(read_file(out, buf, sizeof(buf)));
    assert_non_null(strstr(buf, "65534\n"));
    assert_non_null(strstr(buf, "unix:path=/run/user/65534/bus"));
    assert_non_null(strstr(buf, "-a|vmrun|"));
    assert_non_null(strstr(buf, "VM gaming stopped|the guest powered off|"));
    clear_env();
    unsetenv("VMRUN_NOTIFY_SEND");
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_target),    cmocka_unit_test(test_kvm_group_added),
        cmocka_unit_test(test_memlock_bytes),     cmocka_unit_test(test_drop_in_child),
        cmocka_unit_test(test_handover_and_undo), cmocka_unit_test(test_handover_unreachable),
        cmocka_unit_test(test_prepare),           cmocka_unit_test(test_notify),
        cmocka_unit_test(test_judge_caller),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
