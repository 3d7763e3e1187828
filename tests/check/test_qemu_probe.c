/* qemu_probe.h: version, help-listing and machine-listing parsing (pure), the PATH lookup,
 * and the bounded exec, run against /bin/sh scripts written here so every
 * outcome (output, failure, a hang) is certain. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "check/check.h"
#include "qemu/qemu_probe.h"

static char dir[] = "/tmp/vmrun-qemu-probe-XXXXXX";

static void write_script(const char *name, const char *body, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static void test_parse_version(void **state)
{
    (void)state;
    struct qemu_version v;
    assert_int_equal(qemu_parse_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n"
                                        "Copyright (c) 2003-2022 Fabrice Bellard\n",
                                        &v),
                     0);
    assert_int_equal(v.major, 7);
    assert_int_equal(v.minor, 2);
    assert_int_equal(v.micro, 22);
    assert_int_equal(qemu_parse_version("QEMU emulator version 8.1.0\n", &v), 0);
    assert_int_equal(v.major, 8);
    assert_int_equal(v.minor, 1);
    assert_int_equal(v.micro, 0);
    assert_int_equal(qemu_parse_version("QEMU emulator version 6.2", &v), 0);
    assert_int_equal(v.micro, 0);
    assert_int_equal(qemu_parse_version("not a qemu\n", &v), -EINVAL);
    assert_int_equal(qemu_parse_version("QEMU emulator version x.y\n", &v), -EINVAL);
    assert_int_equal(qemu_parse_version("", &v), -EINVAL);

    struct qemu_version a = {6, 2, 0}, b = {7, 2, 22}, c = {7, 10, 0};
    assert_true(qemu_version_cmp(&a, &b) < 0);
    assert_true(qemu_version_cmp(&b, &a) > 0);
    assert_true(qemu_version_cmp(&b, &c) < 0); /* 7.10 is newer than 7.2 */
    assert_int_equal(qemu_version_cmp(&b, &b), 0);
}

static void test_help_lists(void **state)
{
    (void)state;
    const char *audio = "Available audio drivers:\nnone\nalsa\ndbus\noss\n";
    assert_true(qemu_help_lists(audio, "alsa"));
    assert_true(qemu_help_lists(audio, "oss"));
    assert_false(qemu_help_lists(audio, "pa"));
    assert_false(qemu_help_lists(audio, "als")); /* whole lines only */
    assert_false(qemu_help_lists(audio, "drivers"));
    assert_true(qemu_help_lists("gtk \r\n", "gtk")); /* trailing blanks */
    assert_false(qemu_help_lists("", "gtk"));
}

static void test_machine_parse(void **state)
{
    (void)state;
    /* QEMU 11.1 (excerpt): old types deprecated, an alias, the default. */
    const char *eleven = "Supported machines are:\n"
                         "microvm              microvm (i386)\n"
                         "pc-q35-9.2           Standard PC (Q35 + ICH9, 2009)\n"
                         "pc-q35-8.1           Standard PC (Q35 + ICH9, 2009) (deprecated)\n"
                         "pc-q35-5.2           Standard PC (Q35 + ICH9, 2009) (deprecated)\n"
                         "q35                  Standard PC (Q35 + ICH9, 2009) (alias of "
                         "pc-q35-11.1)\n"
                         "pc-q35-11.1          Standard PC (Q35 + ICH9, 2009)\n"
                         "pc-q35-10.0          Standard PC (Q35 + ICH9, 2009)\n"
                         "none                 empty machine\n";
    struct qemu_machine_info mi;
    qemu_machine_parse(eleven, "pc-q35-9.2", &mi);
    assert_true(mi.listed);
    assert_false(mi.deprecated);
    /* Numbers, not text: 11.1 is newer than 9.2 and 10.0, 5.2 the oldest. */
    assert_string_equal(mi.newest_q35, "pc-q35-11.1");
    assert_string_equal(mi.oldest_q35, "pc-q35-5.2");
    qemu_machine_parse(eleven, "pc-q35-8.1", &mi);
    assert_true(mi.listed);
    assert_true(mi.deprecated);
    qemu_machine_parse(eleven, "pc-q35-3.1", &mi);
    assert_false(mi.listed);
    qemu_machine_parse(eleven, "pc-q35-9", &mi); /* whole names only */
    assert_false(mi.listed);
    qemu_machine_parse(eleven, "q35", &mi);
    assert_true(mi.listed);
    assert_false(mi.deprecated);

    /* QEMU 7.2: nothing newer than itself. */
    const char *seven = "Supported machines are:\n"
                        "q35                  Standard PC (Q35 + ICH9, 2009) (alias of "
                        "pc-q35-7.2)\n"
                        "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)\n"
                        "pc-q35-2.10          Standard PC (Q35 + ICH9, 2009)\n"
                        "pc-q35-2.4           Standard PC (Q35 + ICH9, 2009)\n";
    qemu_machine_parse(seven, "pc-q35-10.1", &mi);
    assert_false(mi.listed);
    assert_string_equal(mi.newest_q35, "pc-q35-7.2");
    assert_string_equal(mi.oldest_q35, "pc-q35-2.4");

    qemu_machine_parse("", "pc-q35-7.2", &mi);
    assert_false(mi.listed);
    assert_string_equal(mi.newest_q35, "");
}

static void test_min_version(void **state)
{
    (void)state;
    struct vm_profile p = {0};
    unsigned ma = 0, mi = 0;
    const char *why = NULL;
    check_qemu_min_version(&p, &ma, &mi, &why);
    assert_int_equal(ma, 6);
    assert_int_equal(mi, 2);
    assert_non_null(why);
    /* pipewire goes to the "pa" driver: no newer QEMU needed. */
    p.audio.present = true;
    p.audio.backend = VM_AUDIO_PIPEWIRE;
    check_qemu_min_version(&p, &ma, &mi, NULL);
    assert_int_equal(ma, 6);
    assert_int_equal(mi, 2);
}

static void test_find_binary(void **state)
{
    (void)state;
    char path[4096], found[4096];
    write_script("fake-qemu", "echo hi", path, sizeof(path));
    char noexec[4096];
    write_script("not-exec", "echo hi", noexec, sizeof(noexec));
    assert_int_equal(chmod(noexec, 0644), 0);

    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char newpath[8192];
    snprintf(newpath, sizeof(newpath), "/nonexistent:%s", dir);
    setenv("PATH", newpath, 1);
    if (geteuid() == 0) {
        /* Root never looks in the caller's PATH: only in the fixed one of
         * root's directories (sys/child_env.h). */
        assert_int_equal(qemu_find_binary("fake-qemu", found, sizeof(found)), -ENOENT);
        assert_int_equal(qemu_find_binary("sh", found, sizeof(found)), 0);
        assert_true(strcmp(found, "/usr/bin/sh") == 0 || strcmp(found, "/bin/sh") == 0 ||
                    strcmp(found, "/usr/local/bin/sh") == 0);
    } else {
        assert_int_equal(qemu_find_binary("fake-qemu", found, sizeof(found)), 0);
        assert_string_equal(found, path);
        assert_int_equal(qemu_find_binary("not-exec", found, sizeof(found)), -EACCES);
    }
    assert_int_equal(qemu_find_binary("no-such-qemu", found, sizeof(found)), -ENOENT);
    if (old != NULL) {
        setenv("PATH", old, 1);
        free(old);
    }
    assert_int_equal(qemu_find_binary(path, found, sizeof(found)), 0);
    assert_int_equal(qemu_find_binary("/nonexistent/qemu", found, sizeof(found)), -ENOENT);
    assert_int_equal(qemu_find_binary("", found, sizeof(found)), -ENOENT);
}

static void test_probe_output(void **state)
{
    (void)state;
    char path[4096], out[64];
    struct vmrun_error err = {0};

    write_script("q-ok",
                 "[ \"$1\" = --version ] || exit 3\n"
                 "echo 'QEMU emulator version 9.9.1'\necho err >&2",
                 path, sizeof(path));
    const char *version[] = {"--version", NULL};
    assert_int_equal(qemu_probe_output(path, version, out, sizeof(out), &err), 0);
    assert_string_equal(out, "QEMU emulator version 9.9.1\n");

    /* More output than fits: truncated, and the child still finishes. */
    write_script("q-long", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done", path,
                 sizeof(path));
    assert_int_equal(qemu_probe_output(path, version, out, sizeof(out), &err), 0);
    assert_int_equal(strlen(out), sizeof(out) - 1);
    assert_memory_equal(out, "line-0\nline-1\n", 14);

    /* A failing binary: its exit status in the message. */
    write_script("q-fail", "exit 3", path, sizeof(path));
    assert_int_equal(qemu_probe_output(path, version, out, sizeof(out), &err), -EIO);
    assert_non_null(strstr(err.msg, "exit status 3"));

    /* Two arguments reach the child. */
    write_script("q-args", "echo \"$1|$2|$#\"", path, sizeof(path));
    const char *help[] = {"-audiodev", "help", NULL};
    assert_int_equal(qemu_probe_output(path, help, out, sizeof(out), &err), 0);
    assert_string_equal(out, "-audiodev|help|2\n");

    /* A binary that hangs is killed at the timeout, not waited for. */
    write_script("q-hang", "exec sleep 600", path, sizeof(path));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(qemu_probe_output(path, version, out, sizeof(out), &err), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= QEMU_PROBE_TIMEOUT_MS - 100 && ms < QEMU_PROBE_TIMEOUT_MS + 3000);

    assert_int_equal(qemu_probe_output("/nonexistent/qemu", version, out, sizeof(out), &err),
                     -ENOENT);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_version), cmocka_unit_test(test_help_lists),
        cmocka_unit_test(test_min_version),   cmocka_unit_test(test_find_binary),
        cmocka_unit_test(test_probe_output),  cmocka_unit_test(test_machine_parse),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
