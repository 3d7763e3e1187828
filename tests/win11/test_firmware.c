/* Unit tests: choosing the firmware from descriptors (qemu/firmware.c),
 * reading variable stores (qemu/ovmf_vars.c), the TPM state directory
 * (host/tpm/tpm_state.c). Descriptors and files live in a temporary tree;
 * Debian's own OVMF files are read where they are installed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/tpm/tpm.h"
#include "profile/profile.h"
#include "qemu/firmware.h"
#include "qemu/ovmf_vars.h"

static char root[PATH_MAX];
static struct firmware_dirs dirs;

static void put_file(const char *rel, const char *content, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
}

/* A descriptor in dir ("share", "etc" or "user"): UEFI in flash, code and
 * variables in the tree, machines and features as given. */
static void descriptor(const char *dir, const char *name, const char *code, const char *vars,
                       const char *machines, const char *features)
{
    char rel[PATH_MAX], text[4096];
    snprintf(rel, sizeof(rel), "%s/%s", dir, name);
    snprintf(text, sizeof(text),
             "{\"description\": \"%s\", \"interface-types\": [\"uefi\"],"
             " \"mapping\": {\"device\": \"flash\","
             " \"executable\": {\"filename\": \"%s/%s\", \"format\": \"raw\"},"
             " \"nvram-template\": {\"filename\": \"%s/%s\", \"format\": \"raw\"}},"
             " \"targets\": [{\"architecture\": \"x86_64\", \"machines\": [%s]}],"
             " \"features\": [%s], \"tags\": []}",
             name, root, code, root, vars, machines, features);
    put_file(rel, text, 0644);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/vmrun-test-firmware.XXXXXX");
    assert_non_null(mkdtemp(root));
    const char *sub[] = {"share", "etc", "user", "fw", "vm"};
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", root, sub[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    put_file("fw/code.fd", "code", 0644);
    put_file("fw/code-sb.fd", "code-sb", 0644);
    put_file("fw/vars.fd", "vars", 0644);
    put_file("fw/vars-ms.fd", "vars-ms", 0644);
    memset(&dirs, 0, sizeof(dirs));
    snprintf(dirs.dirs[0], sizeof(dirs.dirs[0]), "%s/share", root);
    snprintf(dirs.dirs[1], sizeof(dirs.dirs[1]), "%s/etc", root);
    snprintf(dirs.dirs[2], sizeof(dirs.dirs[2]), "%s/user", root);
    /* Debian's three, in the distribution's directory. */
    descriptor("share", "40-secure-enrolled.json", "fw/code-sb.fd", "fw/vars-ms.fd",
               "\"pc-q35-*\"", "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    descriptor("share", "50-secure.json", "fw/code-sb.fd", "fw/vars.fd", "\"pc-q35-*\"",
               "\"requires-smm\", \"secure-boot\"");
    descriptor("share", "60-plain.json", "fw/code.fd", "fw/vars.fd",
               "\"pc-i440fx-*\", \"pc-q35-*\"", "\"acpi-s3\"");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void uefi_profile(struct vm_profile *p, bool sb, bool keys)
{
    memset(p, 0, sizeof(*p));
    strcpy(p->name, "fw");
    p->firmware.type = VM_FIRMWARE_UEFI;
    p->firmware.secure_boot = sb;
    p->firmware.enrolled_keys = keys;
}

static void chosen(const struct vm_profile *p, const char *descriptor_name, bool smm)
{
    struct firmware_choice c;
    struct vmrun_error err = {0};
    int r = firmware_choose(p, &dirs, &c, &err);
    if (r != 0)
        fail_msg("firmware_choose: %s", err.msg);
    const char *base = strrchr(c.descriptor, '/');
    assert_non_null(base);
    assert_string_equal(base + 1, descriptor_name);
    assert_true(c.uefi);
    assert_int_equal(c.smm, smm);
    assert_int_equal(c.secure_flash, smm && p->firmware.secure_boot);
}

static void refused(const struct vm_profile *p, int want, const char *msg_part)
{
    struct firmware_choice c;
    struct vmrun_error err = {0};
    int r = firmware_choose(p, &dirs, &c, &err);
    assert_int_equal(r, want);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
}

static void test_features(void **state)
{
    (void)state;
    struct vm_profile p;
    uefi_profile(&p, true, true);
    chosen(&p, "40-secure-enrolled.json", true);
    uefi_profile(&p, true, false);
    chosen(&p, "50-secure.json", true);
    uefi_profile(&p, false, false);
    chosen(&p, "60-plain.json", false);

    struct firmware_choice c;
    struct vmrun_error err = {0};
    uefi_profile(&p, true, true);
    assert_int_equal(firmware_choose(&p, &dirs, &c, &err), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/fw/code-sb.fd", root);
    assert_string_equal(c.code, want);
    snprintf(want, sizeof(want), "%s/fw/vars-ms.fd", root);
    assert_string_equal(c.vars_template, want);
    assert_string_equal(c.code_format, "raw");
    assert_non_null(strstr(c.why, "the first descriptor, in file-name order"));

    /* BIOS: nothing to choose. */
    memset(&p, 0, sizeof(p));
    assert_int_equal(firmware_choose(&p, &dirs, &c, &err), 0);
    assert_false(c.uefi);
}

/* The specification's order: by file name across the directories; a more
 * specific directory replaces a name; an empty file hides it. */
static void test_order_and_hiding(void **state)
{
    (void)state;
    struct vm_profile p;
    uefi_profile(&p, true, true);
    /* An earlier name in /etc wins over the distribution's 40-. */
    descriptor("etc", "30-admin.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-q35-*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    chosen(&p, "30-admin.json", true);
    /* The user's file of the same name replaces it: no longer a match. */
    descriptor("user", "30-admin.json", "fw/code.fd", "fw/vars.fd", "\"pc-q35-*\"", "");
    chosen(&p, "40-secure-enrolled.json", true);
    /* An empty file hides the distribution's descriptor. */
    put_file("user/40-secure-enrolled.json", "", 0644);
    refused(&p, -ENOENT, "no firmware descriptor offers UEFI with Secure Boot and enrolled keys");
    refused(&p, -ENOENT, "user/40-secure-enrolled.json: empty: hides");
    refused(&p, -ENOENT, "share/50-secure.json: no enrolled-keys");
    refused(&p, -ENOENT, "share/60-plain.json: no secure-boot");
    refused(&p, -ENOENT, "apt install ovmf");
    /* The user's directory is not searched: the distribution's counts. */
    struct firmware_dirs saved = dirs;
    dirs.dirs[2][0] = '\0';
    chosen(&p, "30-admin.json", true);
    dirs = saved;

    /* Only files their owner alone may write are read. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/user/40-secure-enrolled.json", root);
    unlink(path);
    snprintf(path, sizeof(path), "%s/user/30-admin.json", root);
    unlink(path);
    descriptor("user", "20-writable.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-q35-*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    snprintf(path, sizeof(path), "%s/user/20-writable.json", root);
    chmod(path, 0666);
    chosen(&p, "30-admin.json", true);
    unlink(path);
    snprintf(path, sizeof(path), "%s/etc/30-admin.json", root);
    unlink(path);
}

static void test_matching(void **state)
{
    (void)state;
    struct vm_profile p;
    uefi_profile(&p, true, true);
    /* "q35" is QEMU's newest pc-q35: only a glob covering them all fits. */
    char path[PATH_MAX];
    descriptor("etc", "10-versioned.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-q35-7.*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    chosen(&p, "40-secure-enrolled.json", true);
    p.qemu.machine = (char *)"pc-q35-7.2";
    chosen(&p, "10-versioned.json", true);
    p.qemu.machine = (char *)"pc-q35-8.0";
    chosen(&p, "40-secure-enrolled.json", true);
    p.qemu.machine = NULL;
    snprintf(path, sizeof(path), "%s/etc/10-versioned.json", root);
    unlink(path);

    /* Secure Boot without requires-smm would let the guest rewrite its keys. */
    descriptor("etc", "10-no-smm.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-q35-*\"",
               "\"enrolled-keys\", \"secure-boot\"");
    /* Builds for confidential guests, other mappings and missing files. */
    descriptor("etc", "11-sev.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-q35-*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\", \"amd-sev-es\"");
    descriptor("etc", "12-missing.json", "fw/nope.fd", "fw/vars-ms.fd", "\"pc-q35-*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    descriptor("etc", "13-i440fx.json", "fw/code-sb.fd", "fw/vars-ms.fd", "\"pc-i440fx-*\"",
               "\"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
    put_file("etc/14-memory.json",
             "{\"interface-types\": [\"uefi\"], \"mapping\": {\"device\": \"memory\","
             " \"filename\": \"/x.fd\"}, \"targets\": [{\"architecture\": \"x86_64\","
             " \"machines\": [\"pc-q35-*\"]}], \"features\": [\"secure-boot\"]}",
             0644);
    put_file("etc/15-stateless.json",
             "{\"interface-types\": [\"uefi\"], \"mapping\": {\"device\": \"flash\","
             " \"mode\": \"stateless\", \"executable\": {\"filename\": \"/x.fd\"}},"
             " \"targets\": [{\"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"]}],"
             " \"features\": [\"secure-boot\"]}",
             0644);
    put_file("etc/16-bios.json",
             "{\"interface-types\": [\"bios\"], \"mapping\": {\"device\": \"memory\","
             " \"filename\": \"/bios.bin\"}, \"targets\": [], \"features\": []}",
             0644);
    put_file("etc/17-broken.json", "{ not json", 0644);
    chosen(&p, "40-secure-enrolled.json", true);
    /* Each is listed with its reason when nothing fits. */
    put_file("user/40-secure-enrolled.json", "", 0644);
    refused(&p, -ENOENT, "10-no-smm.json: secure-boot without requires-smm");
    refused(&p, -ENOENT, "11-sev.json: a build for confidential guests");
    refused(&p, -ENOENT, "12-missing.json: its executable");
    refused(&p, -ENOENT, "13-i440fx.json: no x86_64 target for machine \"q35\"");
    refused(&p, -ENOENT, "14-memory.json: mapped as \"memory\", not into flash");
    refused(&p, -ENOENT, "15-stateless.json: flash mode \"stateless\"");
    refused(&p, -ENOENT, "16-bios.json: not UEFI");
    refused(&p, -ENOENT, "17-broken.json: not valid JSON");
    const char *names[] = {"10-no-smm", "11-sev",  "12-missing", "13-i440fx",
                           "14-memory", "15-stateless", "16-bios", "17-broken"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/etc/%s.json", root, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/user/40-secure-enrolled.json", root);
    unlink(path);
}

/* firmware.code names the build; a descriptor of the same file (through a
 * symlink, as Debian's .ms.fd is) says what it needs. */
static void test_explicit_code(void **state)
{
    (void)state;
    char code[PATH_MAX], plain[PATH_MAX], vars[PATH_MAX], vars_ms[PATH_MAX], other[PATH_MAX];
    snprintf(code, sizeof(code), "%s/vm/link-to-sb.fd", root);
    snprintf(plain, sizeof(plain), "%s/fw/code.fd", root);
    snprintf(vars, sizeof(vars), "%s/fw/vars.fd", root);
    snprintf(vars_ms, sizeof(vars_ms), "%s/fw/vars-ms.fd", root);
    snprintf(other, sizeof(other), "%s/vm/undescribed.fd", root);
    char target[PATH_MAX];
    snprintf(target, sizeof(target), "%s/fw/code-sb.fd", root);
    assert_int_equal(symlink(target, code), 0);
    put_file("vm/undescribed.fd", "x", 0644);

    struct vm_profile p;
    struct firmware_choice c;
    struct vmrun_error err = {0};
    /* A Secure Boot build without secure_boot: it still gets its SMM. */
    uefi_profile(&p, false, false);
    p.firmware.code = code;
    assert_int_equal(firmware_choose(&p, &dirs, &c, &err), 0);
    assert_string_equal(c.code, code);
    assert_true(c.smm);
    assert_true(c.secure_flash);
    assert_non_null(strstr(c.descriptor, "40-secure-enrolled.json"));
    assert_non_null(strstr(c.why, "it requires SMM"));

    /* Secure Boot asked of a build described without it. */
    uefi_profile(&p, true, false);
    p.firmware.code = plain;
    refused(&p, -EINVAL, "is a build without Secure Boot (so says");

    /* Enrolled keys asked of a template in setup mode (a real store). */
    const char *setup = "/usr/share/OVMF/OVMF_VARS_4M.fd";
    if (access(setup, R_OK) == 0) {
        uefi_profile(&p, true, true);
        p.firmware.code = code;
        p.firmware.vars_template = (char *)setup;
        refused(&p, -EINVAL, "has no keys enrolled (setup mode)");
    }

    /* Described by nothing: SMM follows secure_boot. */
    uefi_profile(&p, true, false);
    p.firmware.code = other;
    p.firmware.vars_template = vars;
    assert_int_equal(firmware_choose(&p, &dirs, &c, &err), 0);
    assert_true(c.smm && c.secure_flash);
    assert_string_equal(c.vars_template, vars);
    assert_non_null(strstr(c.why, "no descriptor describes it"));
    uefi_profile(&p, false, false);
    p.firmware.code = other;
    assert_int_equal(firmware_choose(&p, &dirs, &c, &err), 0);
    assert_false(c.smm || c.secure_flash);
    assert_string_equal(c.vars_template, "");
    (void)vars_ms;
}

static void test_default_dirs(void **state)
{
    (void)state;
    struct firmware_dirs d;
    setenv("XDG_CONFIG_HOME", "/home/someone/.cfg", 1);
    unsetenv("SUDO_UID");
    unsetenv("PKEXEC_UID");
    firmware_default_dirs(&d);
    assert_string_equal(d.dirs[0], "/usr/share/qemu/firmware");
    assert_string_equal(d.dirs[1], "/etc/qemu/firmware");
    assert_string_equal(d.dirs[2], "/home/someone/.cfg/qemu/firmware");
    if (geteuid() == 0 && getuid() == 0) {
        /* Root through sudo: the user's directory is not searched. */
        setenv("SUDO_UID", "1000", 1);
        firmware_default_dirs(&d);
        assert_string_equal(d.dirs[2], "");
        assert_non_null(strstr(d.note, "not searched through sudo or pkexec"));
        unsetenv("SUDO_UID");
        setenv("PKEXEC_UID", "1000", 1);
        firmware_default_dirs(&d);
        assert_string_equal(d.dirs[2], "");
        unsetenv("PKEXEC_UID");
    }
    unsetenv("XDG_CONFIG_HOME");
}

/* ---- variable stores ------------------------------------------------------ */

static void test_debian_vars(void **state)
{
    (void)state;
    struct ovmf_vars_state s;
    struct vmrun_error err = {0};
    if (access("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", R_OK) != 0)
        skip();
    assert_int_equal(ovmf_vars_read("/usr/share/OVMF/OVMF_VARS_4M.fd", &s, &err), 0);
    assert_false(s.pk);
    assert_false(ovmf_vars_enforcing(&s));
    char line[256];
    ovmf_vars_describe(&s, line, sizeof(line));
    assert_non_null(strstr(line, "setup mode"));

    assert_int_equal(ovmf_vars_read("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", &s, &err), 0);
    assert_true(s.pk && s.kek && s.db && s.dbx);
    assert_true(s.ms_windows_ca && s.ms_uefi_ca);
    /* Set to 1 up to OVMF 2025.02, absent from 2026.08 on: either way the
     * firmware enforces (test_debian_stores). */
    assert_true(s.secure_boot_enable != 0);
    assert_true(ovmf_vars_enforcing(&s));
    ovmf_vars_describe(&s, line, sizeof(line));
    assert_string_equal(line, "enrolled keys (PK, KEK, db, dbx; db trusts Microsoft's Windows "
                              "and third-party UEFI CAs)");

    assert_int_equal(ovmf_vars_read("/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", &s, &err), 0);
    assert_true(s.pk && s.db);
    assert_false(s.ms_windows_ca);
    ovmf_vars_describe(&s, line, sizeof(line));
    assert_non_null(strstr(line, "no Microsoft CA in db: Windows will not boot"));

    /* Not a variable store at all. */
    assert_int_equal(ovmf_vars_read("/usr/share/OVMF/OVMF_CODE_4M.fd", &s, &err), -EINVAL);
}

/* Every variable store template Debian shipped, 2022.11 to 2026.08
 * (tests/win11/stores/README.md), read and described. SecureBootEnable is
 * 1 in the enrolled templates up to 2025.02 and absent from 2026.08 on;
 * edk2 creates it as 1 at the first boot when a PK is enrolled, so an
 * absent one enforces exactly as 1 does, and the description is the same. */
static void test_debian_stores(void **state)
{
    (void)state;
    static const char setup[] = "setup mode: no platform key (PK) enrolled, so Secure Boot "
                                "checks nothing until keys are enrolled";
    static const char ms[] = "enrolled keys (PK, KEK, db, dbx; db trusts Microsoft's Windows "
                             "and third-party UEFI CAs)";
    static const char snakeoil[] = "enrolled keys (PK, KEK, db, dbx; no Microsoft CA in db: "
                                   "Windows will not boot)";
    static const struct {
        const char *file;
        int secure_boot_enable;
        bool enforcing;
        const char *describe;
    } stores[] = {
        {"debian-2022.11/OVMF_VARS.fd", -1, false, setup},
        {"debian-2022.11/OVMF_VARS.ms.fd", 1, true, ms},
        {"debian-2022.11/OVMF_VARS_4M.fd", -1, false, setup},
        {"debian-2022.11/OVMF_VARS_4M.ms.fd", 1, true, ms},
        {"debian-2022.11/OVMF_VARS_4M.snakeoil.fd", 1, true, snakeoil},
        {"debian-2025.02/OVMF_VARS_4M.fd", -1, false, setup},
        {"debian-2025.02/OVMF_VARS_4M.ms.fd", 1, true, ms},
        {"debian-2025.02/OVMF_VARS_4M.snakeoil.fd", 1, true, snakeoil},
        {"debian-2026.08/OVMF_VARS_4M.fd", -1, false, setup},
        {"debian-2026.08/OVMF_VARS_4M.ms.fd", -1, true, ms},
        /* 2026.08's snakeoil template enrolls no dbx. */
        {"debian-2026.08/OVMF_VARS_4M.snakeoil.fd", -1, true,
         "enrolled keys (PK, KEK, db; no Microsoft CA in db: Windows will not boot)"},
    };
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        char path[PATH_MAX], line[256];
        snprintf(path, sizeof(path), "%s/tests/win11/stores/%s", VMRUN_TEST_SOURCE_DIR,
                 stores[i].file);
        struct ovmf_vars_state s;
        struct vmrun_error err = {0};
        int r = ovmf_vars_read(path, &s, &err);
        if (r != 0)
            fail_msg("%s: %s", stores[i].file, err.msg);
        ovmf_vars_describe(&s, line, sizeof(line));
        if (s.secure_boot_enable != stores[i].secure_boot_enable ||
            ovmf_vars_enforcing(&s) != stores[i].enforcing || strcmp(line, stores[i].describe) != 0)
            fail_msg("%s: SecureBootEnable %d, enforcing %d, \"%s\"; expected %d, %d, \"%s\"",
                     stores[i].file, s.secure_boot_enable, ovmf_vars_enforcing(&s), line,
                     stores[i].secure_boot_enable, stores[i].enforcing, stores[i].describe);
    }
}

static size_t corpus(const char *name, unsigned char *buf, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/tests/win11/corpus/%s", VMRUN_TEST_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, len, f);
    fclose(f);
    return n;
}

static void test_vars_edge_cases(void **state)
{
    (void)state;
    unsigned char buf[8192];
    struct ovmf_vars_state s;
    struct vmrun_error err = {0};
    size_t n = corpus("enrolled", buf, sizeof(buf));
    assert_int_equal(ovmf_vars_parse(buf, n, &s, &err), 0);
    assert_true(s.pk && s.kek && s.db && s.dbx && s.ms_windows_ca);
    assert_false(s.ms_uefi_ca);
    n = corpus("pk-deleted", buf, sizeof(buf));
    assert_int_equal(ovmf_vars_parse(buf, n, &s, &err), 0);
    assert_false(s.pk); /* a deleted PK is no key */
    n = corpus("sb-disabled", buf, sizeof(buf));
    assert_int_equal(ovmf_vars_parse(buf, n, &s, &err), 0);
    assert_true(s.pk);
    assert_false(ovmf_vars_enforcing(&s));
    n = corpus("truncated-variable", buf, sizeof(buf));
    assert_int_equal(ovmf_vars_parse(buf, n, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "runs past the store"));
    n = corpus("not-a-volume", buf, sizeof(buf));
    assert_int_equal(ovmf_vars_parse(buf, n, &s, &err), -EINVAL);
    assert_int_equal(ovmf_vars_parse(buf, 10, &s, &err), -EINVAL);
}

/* ---- the TPM state directory ---------------------------------------------- */

static void test_tpm_state(void **state)
{
    (void)state;
    char vm[PATH_MAX], path[PATH_MAX];
    snprintf(vm, sizeof(vm), "%s/vm", root);
    struct vmrun_error err = {0};
    uid_t me = geteuid();
    assert_int_equal(tpm_state_check(vm, me, &err), -ENOENT);
    char nowhere[PATH_MAX];
    snprintf(nowhere, sizeof(nowhere), "%s/no-such-vm", root);
    assert_int_equal(tpm_state_check(nowhere, me, &err), -ENOENT);

    assert_int_equal(tpm_state_prepare(vm, me, getegid(), path, sizeof(path), &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_uid, me);
    assert_int_equal(tpm_state_check(vm, me, &err), 0);
    /* Kept as it is: a second prepare changes nothing. */
    assert_int_equal(tpm_state_prepare(vm, me, getegid(), path, sizeof(path), &err), 0);

    assert_int_equal(tpm_state_check(vm, me + 1, &err), -EPERM);
    assert_non_null(strstr(err.msg, "chown -R"));
    chmod(path, 0750);
    assert_int_equal(tpm_state_check(vm, me, &err), -EPERM);
    assert_non_null(strstr(err.msg, "has mode 0750"));
    assert_int_equal(tpm_state_prepare(vm, me, getegid(), path, sizeof(path), &err), -EPERM);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750); /* never "fixed" behind the user's back */
    rmdir(path);

    /* A symlink or a file in its place. */
    assert_int_equal(symlink("/tmp", path), 0);
    assert_int_equal(tpm_state_check(vm, me, &err), -EPERM);
    assert_non_null(strstr(err.msg, "is not a directory"));
    assert_int_equal(tpm_state_prepare(vm, me, getegid(), path, sizeof(path), &err), -EPERM);
    unlink(path);
    put_file("vm/tpm", "", 0600);
    assert_int_equal(tpm_state_check(vm, me, &err), -EPERM);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),      cmocka_unit_test(test_order_and_hiding),
        cmocka_unit_test(test_matching),      cmocka_unit_test(test_explicit_code),
        cmocka_unit_test(test_default_dirs),  cmocka_unit_test(test_debian_vars),
        cmocka_unit_test(test_debian_stores), cmocka_unit_test(test_vars_edge_cases),
        cmocka_unit_test(test_tpm_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
