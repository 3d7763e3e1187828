/* Profile trust: which files vmrun believes under sudo/pkexec and as root.
 * Builds real directory trees under /etc/vmrun (where profiles for sudo
 * must be) and under /run (root-owned, 0755, so a trusted chain exists)
 * and changes owners, hence needs root (skipped otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "priv/profile_open.h"
#include "priv/trust.h"

static char root[64];    /* under /etc/vmrun */
static char outside[64]; /* under /run: root's, but not where sudo's profiles are */
static bool made_etc;
static const uid_t other_uid = 65534;

static void path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", root, rel);
}

static void make_file(const char *rel, mode_t mode, uid_t owner)
{
    char p[256];
    path(p, sizeof(p), rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{}\n", 3), 3);
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
    assert_int_equal(chown(p, owner, (gid_t)-1), 0);
}

static void make_dir(const char *rel, mode_t mode, uid_t owner)
{
    char p[256];
    path(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, mode), 0);
    assert_int_equal(chmod(p, mode), 0);
    assert_int_equal(chown(p, owner, (gid_t)-1), 0);
}

static void make_link(const char *rel, const char *target)
{
    char p[256];
    path(p, sizeof(p), rel);
    assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
    made_etc = mkdir(TRUST_PROFILE_DIR, 0755) == 0;
    snprintf(root, sizeof(root), "%s/.trust-test-XXXXXX", TRUST_PROFILE_DIR);
    snprintf(outside, sizeof(outside), "/run/vmrun-trust-XXXXXX");
    if (mkdtemp(root) == NULL || mkdtemp(outside) == NULL)
        return -1;
    chmod(root, 0755);
    chmod(outside, 0755);
    make_dir("etc", 0755, 0);
    make_file("etc/good.json", 0644, 0);
    make_file("etc/user-owned.json", 0644, other_uid);
    make_file("etc/world-writable.json", 0666, 0);
    make_file("etc/group-writable.json", 0664, 0);
    make_dir("home", 0755, other_uid);
    make_file("home/vm.json", 0644, other_uid);
    make_file("home/rootfile.json", 0644, 0);
    make_dir("tmp", 01777, 0);
    make_file("tmp/vm.json", 0644, 0);
    make_link("etc/link-to-home.json", "../home/vm.json");
    make_link("home/link-to-good.json", "../etc/good.json");
    make_link("etc/rel-good.json", "good.json");
    make_link("etc/abs-good.json", "/nonexistent");
    char abs[256], p[256];
    path(abs, sizeof(abs), "etc/good.json");
    path(p, sizeof(p), "etc/abs-good.json");
    unlink(p);
    assert_int_equal(symlink(abs, p), 0);
    make_link("etc/loop.json", "loop.json");
    make_dir("etc/sub", 0755, 0);
    make_file("etc/sub/bin", 0755, 0);
    make_file("etc/sub/userbin", 0755, other_uid);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s' '%s'", root, outside);
    int r = system(cmd) == 0 ? 0 : -1;
    if (made_etc)
        rmdir(TRUST_PROFILE_DIR);
    return r;
}

static int check(const char *rel, struct vmrun_error *err)
{
    char p[256];
    path(p, sizeof(p), rel);
    memset(err, 0, sizeof(*err));
    return trust_check_path(p, err);
}

static void test_path_rules(void **state)
{
    struct vmrun_error err;
    assert_int_equal(check("etc/good.json", &err), 0);
    assert_int_equal(check("etc/rel-good.json", &err), 0);
    assert_int_equal(check("etc/abs-good.json", &err), 0);
    assert_int_equal(check("etc/sub/../good.json", &err), 0);

    assert_int_equal(check("etc/user-owned.json", &err), -EPERM);
    assert_non_null(strstr(err.msg, "owned by uid 65534"));
    assert_int_equal(check("etc/world-writable.json", &err), -EPERM);
    assert_non_null(strstr(err.msg, "writable by others (mode 0666)"));
    assert_int_equal(check("etc/group-writable.json", &err), -EPERM);
    assert_non_null(strstr(err.msg, "its group"));
    /* A root-owned file in a directory a user owns: the user can replace it. */
    assert_int_equal(check("home/rootfile.json", &err), -EPERM);
    assert_non_null(strstr(err.msg, "/home is owned by uid 65534"));
    /* In a sticky /tmp-like directory nobody else can replace a file of
     * root's: accepted; a user's file there is refused. */
    assert_int_equal(check("tmp/vm.json", &err), 0);
    make_file("tmp/user.json", 0644, other_uid);
    assert_int_equal(check("tmp/user.json", &err), -EPERM);
    make_link("tmp/link.json", "../etc/good.json");
    assert_int_equal(check("tmp/link.json", &err), 0); /* root's link: followed */
    /* A trusted symlink to an untrusted file, and an untrusted symlink to a
     * trusted file: both refused. */
    assert_int_equal(check("etc/link-to-home.json", &err), -EPERM);
    assert_int_equal(check("home/link-to-good.json", &err), -EPERM);
    assert_int_equal(check("etc/loop.json", &err), -ELOOP);
    assert_int_equal(check("etc/missing.json", &err), -ENOENT);
    assert_int_equal(check("etc", &err), -EISDIR);
    assert_int_equal(check("etc/good.json/x", &err), -ENOTDIR);
}

static void test_relative_path(void **state)
{
    char cwd[4096], p[256];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    path(p, sizeof(p), "etc");
    assert_int_equal(chdir(p), 0);
    struct vmrun_error err = {0};
    assert_int_equal(trust_check_path("good.json", &err), 0);
    assert_int_equal(trust_check_path("./user-owned.json", &err), -EPERM);
    assert_int_equal(chdir(cwd), 0);
}

static const char *good_profile = "{\"name\": \"t\", \"memory\": {\"size\": \"64M\"}}\n";

static void write_rel(const char *rel, const char *text, mode_t mode, uid_t owner)
{
    char p[256];
    if (rel[0] == '/')
        snprintf(p, sizeof(p), "%s", rel);
    else
        path(p, sizeof(p), rel);
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
    assert_int_equal(chown(p, owner, (gid_t)-1), 0);
}

static int load(const char *rel, bool vouch, struct vm_profile *prof, struct diag_list *d,
                struct vmrun_error *err)
{
    char p[256], out[4096];
    if (rel[0] == '/')
        snprintf(p, sizeof(p), "%s", rel);
    else
        path(p, sizeof(p), rel);
    memset(err, 0, sizeof(*err));
    memset(d, 0, sizeof(*d));
    struct profile_open_opts o = {.root_vouches = vouch};
    int r = priv_load_profile(p, &o, prof, out, sizeof(out), d, err);
    if (r == 0)
        profile_free(prof);
    return r;
}

static void test_profile_under_sudo(void **state)
{
    setenv("SUDO_UID", "65534", 1);
    setenv("SUDO_GID", "65534", 1);
    assert_int_equal(trust_mode(), TRUST_DELEGATED);
    write_rel("etc/t.json", good_profile, 0644, 0);
    write_rel("home/t.json", good_profile, 0644, other_uid);
    struct vm_profile prof;
    struct diag_list d;
    struct vmrun_error err;

    assert_int_equal(load("home/t.json", false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "sudo or pkexec"));
    assert_non_null(strstr(err.msg, "/etc/vmrun/t.json"));
    assert_non_null(strstr(err.msg, "owned by uid 65534"));
    /* The same bytes under a root-owned 0755 chain are accepted. */
    assert_int_equal(load("etc/t.json", false, &prof, &d, &err), 0);
    /* --trust-profile is not the caller's to give. */
    assert_int_equal(load("home/t.json", true, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "--trust-profile"));
    /* Through /dev/stdin, /dev/fd or /proc: refused, whatever fd 0 is. */
    assert_int_equal(load("/dev/stdin", false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "/proc"));
    assert_int_equal(load("/proc/self/fd/0", false, &prof, &d, &err), -EPERM);

    /* A root-only file (with errors, or without): refused to a user who
     * cannot read it, and nothing of it is shown. */
    write_rel("etc/secret.json", "{\"name\": \"t\", \"memory\": {\"size\": \"SECRET\"}}", 0600, 0);
    assert_int_equal(load("etc/secret.json", false, &prof, &d, &err), -EACCES);
    assert_int_equal(d.n, 0);
    assert_null(strstr(err.msg, "SECRET"));
    assert_non_null(strstr(err.msg, "you cannot read it"));
    write_rel("etc/secret.json", good_profile, 0600, 0);
    assert_int_equal(load("etc/secret.json", false, &prof, &d, &err), -EACCES);

    /* Root's own file outside /etc/vmrun: root-owned is not root-written,
     * so through sudo it is refused; root itself may use it. */
    char p[256];
    snprintf(p, sizeof(p), "%s/t.json", outside);
    write_rel(p, good_profile, 0644, 0);
    assert_int_equal(load(p, false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "not under " TRUST_PROFILE_DIR));
    /* Readable by the user: the problems are theirs to see. */
    write_rel("etc/secret.json", "{\"name\": \"t\", \"memory\": {\"size\": \"SECRET\"}}", 0644, 0);
    assert_int_equal(load("etc/secret.json", false, &prof, &d, &err), -EINVAL);
    assert_true(d.n > 0);
    diag_list_free(&d);

    /* pkexec is the same as sudo. */
    unsetenv("SUDO_UID");
    setenv("PKEXEC_UID", "65534", 1);
    assert_int_equal(load("etc/user-owned.json", false, &prof, &d, &err), -EPERM);
    unsetenv("PKEXEC_UID");
    unsetenv("SUDO_GID");
}

static void test_profile_as_root(void **state)
{
    assert_int_equal(trust_mode(), TRUST_ROOT);
    write_rel("home/t.json", good_profile, 0644, other_uid);
    write_rel("etc/t.json", good_profile, 0644, 0);
    struct vm_profile prof;
    struct diag_list d;
    struct vmrun_error err;
    /* Root running a profile it does not control: refused, unless root
     * vouches for it. */
    assert_int_equal(load("home/t.json", false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "--trust-profile"));
    assert_int_equal(load("home/t.json", true, &prof, &d, &err), 0);
    assert_int_equal(load("etc/t.json", false, &prof, &d, &err), 0);
    char p[256];
    snprintf(p, sizeof(p), "%s/t.json", outside);
    write_rel(p, good_profile, 0644, 0);
    assert_int_equal(load(p, false, &prof, &d, &err), 0);

    /* vmrun's own state directory (what QEMU and the guest write): never
     * a profile, not even when root vouches. */
    char statedir[256];
    snprintf(statedir, sizeof(statedir), "%s/state", outside);
    assert_int_equal(mkdir(statedir, 0711), 0);
    setenv("VMRUN_STATE_DIR", statedir, 1);
    snprintf(p, sizeof(p), "%s/state/serial.log", outside);
    write_rel(p, good_profile, 0600, 0);
    assert_int_equal(load(p, false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "nothing there is ever a profile"));
    assert_int_equal(load(p, true, &prof, &d, &err), -EPERM);
    assert_null(strstr(err.msg, "--trust-profile"));
    unsetenv("VMRUN_STATE_DIR");

    /* A binary path must itself be root-controlled, vouched for or not. */
    char text[512], bin[256];
    path(bin, sizeof(bin), "etc/sub/userbin");
    snprintf(text, sizeof(text),
             "{\"name\": \"t\", \"qemu\": {\"binary\": \"%s\"}, \"memory\": {\"size\": \"64M\"}}",
             bin);
    write_rel("etc/bin.json", text, 0644, 0);
    assert_int_equal(load("etc/bin.json", false, &prof, &d, &err), -EPERM);
    assert_non_null(strstr(err.msg, "qemu.binary"));
    path(bin, sizeof(bin), "etc/sub/bin");
    snprintf(text, sizeof(text),
             "{\"name\": \"t\", \"qemu\": {\"binary\": \"%s\"}, \"memory\": {\"size\": \"64M\"}}",
             bin);
    write_rel("etc/bin.json", text, 0644, 0);
    assert_int_equal(load("etc/bin.json", false, &prof, &d, &err), 0);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root\n");
        return 77;
    }
    unsetenv("SUDO_UID");
    unsetenv("PKEXEC_UID");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_profile_under_sudo),
        cmocka_unit_test(test_profile_as_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
