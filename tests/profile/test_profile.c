/* The profile parser and loader: example profiles, every bad profile of
 * bad.tsv at its exact position, defaults, sizes, positions, lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/diag.h"
#include "profile/jsonpos.h"
#include "profile/profile.h"
#include "profile/profile_json.h"
#include "profile/profile_load.h"
#include "base/size.h"

static const char *source_dir(void)
{
    const char *s = getenv("VMRUN_SOURCE_DIR");
    return s != NULL ? s : VMRUN_TEST_SOURCE_DIR;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            cap = cap * 2 + 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    return buf;
}

static int parse_str(const char *file, const char *json, struct vm_profile *p, struct diag_list *d)
{
    return profile_parse(file, json, strlen(json), p, d);
}

static void print_diags(const struct diag_list *d)
{
    diag_print_all(d, stderr);
}

/* ---- example profiles ---------------------------------------------------- */

static void load_example(const char *name, struct vm_profile *p)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/profiles/%s.json", source_dir(), name);
    struct diag_list d = {0};
    struct vmrun_error err = {0};
    int r = profile_load(path, p, &d, &err);
    if (r != 0 || d.n != 0) {
        print_diags(&d);
        fprintf(stderr, "%s: %s\n", path, err.msg);
    }
    assert_int_equal(r, 0);
    assert_int_equal(d.n, 0); /* not even a warning */
    diag_list_free(&d);
}

static void test_examples_all_parse(void **state)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/profiles", source_dir());
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(len - 5), e->d_name);
        struct vm_profile p;
        load_example(name, &p);
        assert_string_equal(p.name, name);
        profile_free(&p);
        n++;
    }
    closedir(dp);
    assert_true(n >= 3);
}

static void test_example_gaming(void **state)
{
    struct vm_profile p;
    load_example("gaming", &p);
    assert_int_equal(p.cpu.sockets, 1);
    assert_int_equal(p.cpu.cores, 3);
    assert_int_equal(p.cpu.threads, 2);
    assert_int_equal(profile_vcpu_count(&p), 6);
    const int vcpus[] = {3, 9, 4, 10, 5, 11};
    assert_int_equal(p.cpu.vcpus.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(p.cpu.vcpus.cpus[i], vcpus[i]);
    assert_int_equal(p.cpu.emulator.n, 2);
    assert_true(p.cpu.hyperv && p.cpu.hide_hypervisor);
    assert_string_equal(p.cpu.vendor_id, "1234567890ab");
    assert_string_equal(p.cpu.governor, "performance");
    assert_int_equal(p.memory.size, UINT64_C(16) << 30);
    assert_int_equal(p.memory.hugepage_kb, 2048);
    assert_int_equal(p.memory.numa_node, -1);
    assert_int_equal(p.n_pci, 5);
    assert_string_equal(p.pci[3].address, "0000:01:00.3");
    assert_int_equal(p.pci[3].func, 3);
    assert_int_equal(p.pci[0].bootindex, -1);
    assert_string_equal(p.pci[4].address, "0000:04:00.0");
    assert_int_equal(p.pci[4].bootindex, 1);
    assert_string_equal(p.firmware.code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
    /* The receiver's keyboard and mouse: one device, by its ids. */
    assert_int_equal(p.n_inputs, 1);
    assert_true(p.inputs[0].by_ids && p.inputs[0].required);
    assert_int_equal(p.inputs[0].vendor, 0x046d);
    assert_int_equal(p.inputs[0].product, 0xc52b);
    assert_null(p.inputs[0].serial);
    assert_null(p.inputs[0].device);
    assert_string_equal(p.inputs[0].grab_toggle, "ctrl-ctrl");
    assert_int_equal(p.n_nets, 1);
    assert_int_equal(p.nets[0].type, VM_NET_USER);
    assert_int_equal(p.display, VM_DISPLAY_NONE);
    profile_free(&p);
}

static void test_example_demo(void **state)
{
    struct vm_profile p;
    load_example("demo", &p);
    assert_int_equal(p.qemu.accel, VM_ACCEL_TCG);
    assert_string_equal(p.cpu.model, "qemu64");
    /* Only pin.vcpus: 1 socket x 2 cores x 1 thread. */
    assert_int_equal(p.cpu.sockets, 1);
    assert_int_equal(p.cpu.cores, 2);
    assert_int_equal(p.cpu.threads, 1);
    assert_int_equal(p.memory.size, UINT64_C(256) << 20);
    assert_int_equal(p.memory.hugepage_kb, 0);
    assert_int_equal(p.serial, VM_SERIAL_STDIO);
    assert_string_equal(p.boot.kernel, "/var/cache/vmrun/demo-guest/vmlinux");
    assert_int_equal(p.shutdown.timeout_s, 20);
    profile_free(&p);
}

/* ---- bad profiles -------------------------------------------------------- */

struct expect {
    char file[128];
    unsigned line, col;
    char path[128];
    char fragment[256];
    bool matched;
};

static size_t read_table(struct expect **out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/tests/profile/bad.tsv", source_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct expect *t = NULL;
    size_t n = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        t = realloc(t, (n + 1) * sizeof(*t));
        assert_non_null(t);
        struct expect *e = &t[n++];
        memset(e, 0, sizeof(*e));
        char *f1 = strtok(line, "\t"), *f2 = strtok(NULL, "\t"), *f3 = strtok(NULL, "\t"),
             *f4 = strtok(NULL, "\t");
        assert_non_null(f4);
        snprintf(e->file, sizeof(e->file), "%s", f1);
        assert_int_equal(sscanf(f2, "%u:%u", &e->line, &e->col), 2);
        snprintf(e->path, sizeof(e->path), "%s", strcmp(f3, "-") == 0 ? "" : f3);
        snprintf(e->fragment, sizeof(e->fragment), "%s", f4);
    }
    fclose(f);
    *out = t;
    return n;
}

static void test_bad_profiles(void **state)
{
    struct expect *t;
    size_t n = read_table(&t);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/tests/profile/bad", source_dir());
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    int files = 0, failures = 0;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        files++;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t dlen;
        char *data = slurp(path, &dlen);
        struct vm_profile p;
        struct diag_list d = {0};
        int r = profile_parse(e->d_name, data, dlen, &p, &d);
        free(data);
        size_t expected = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(t[i].file, e->d_name) != 0)
                continue;
            expected++;
            bool found = false;
            for (size_t k = 0; k < d.n && !found; k++) {
                const struct diag *g = &d.items[k];
                found = g->level == DIAG_ERROR && g->line == t[i].line && g->col == t[i].col &&
                        strcmp(g->path, t[i].path) == 0 &&
                        strstr(g->message, t[i].fragment) != NULL &&
                        strcmp(g->file, e->d_name) == 0;
            }
            if (!found) {
                fprintf(stderr, "%s: no error at %u:%u %s \"%s\"; got:\n", e->d_name, t[i].line,
                        t[i].col, t[i].path, t[i].fragment);
                print_diags(&d);
                failures++;
            }
            t[i].matched = true;
        }
        if (expected == 0) {
            fprintf(stderr, "%s: not in bad.tsv\n", e->d_name);
            failures++;
        }
        if (r != -EINVAL || d.n_errors != expected) {
            fprintf(stderr, "%s: returned %d with %zu errors, expected -EINVAL and %zu:\n",
                    e->d_name, r, d.n_errors, expected);
            print_diags(&d);
            failures++;
        }
        diag_list_free(&d);
    }
    closedir(dp);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].matched) {
            fprintf(stderr, "bad.tsv names %s, which does not exist\n", t[i].file);
            failures++;
        }
    }
    free(t);
    assert_true(files >= 40);
    assert_int_equal(failures, 0);
}

/* All errors of a file, in document order, not only the first. */
static void test_all_errors_reported(void **state)
{
    const char *json = "{\n"
                       "  \"cpu\": { \"cores\": 0, \"threads\": \"two\", \"hyperv\": 1 },\n"
                       "  \"memory\": { \"size\": \"1X\" },\n"
                       "  \"disks\": [ { \"path\": \"\" }, { \"bus\": \"ide\" } ],\n"
                       "  \"dispaly\": \"none\"\n"
                       "}\n";
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(parse_str("multi.json", json, &p, &d), -EINVAL);
    const char *want[] = {
        "multi.json:2:21: cpu.cores: expected the number of cores (integer >= 1), got 0",
        "multi.json:2:35: cpu.threads: expected the number of threads (integer >= 1), got "
        "\"two\"",
        "multi.json:2:52: cpu.hyperv: expected true, false or an object of Hyper-V enlightenments, got 1",
        "multi.json:3:23: memory.size: expected a size such as \"16G\" or \"512M\", or a number "
        "of bytes, got \"1X\"",
        "multi.json:4:24: disks[0].path: expected the path of a disk image or block device, got "
        "an empty string",
        "multi.json:4:30: disks[1].path: required key is missing; expected the path of a disk "
        "image or block device",
        "multi.json:4:39: disks[1].bus: expected one of \"virtio\", \"scsi\", \"nvme\", \"sata\", "
        "got \"ide\"",
        "multi.json:5:3: dispaly: unknown key \"dispaly\"; did you mean \"display\"?",
    };
    if (d.n != ARRAY_SIZE(want))
        print_diags(&d);
    assert_int_equal(d.n, ARRAY_SIZE(want));
    assert_int_equal(d.n_errors, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        char buf[512];
        diag_format(&d.items[i], buf, sizeof(buf));
        assert_string_equal(buf, want[i]);
    }
    /* A failed parse leaves nothing behind. */
    assert_null(p.disks);
    assert_int_equal(p.n_disks, 0);
    diag_list_free(&d);
}

static void test_error_cap(void **state)
{
    /* Thousands of unknown keys: listed up to the cap, still refused. */
    size_t cap = 64 * 1024;
    char *json = malloc(cap);
    assert_non_null(json);
    size_t at = (size_t)snprintf(json, cap, "{\"memory\":{\"size\":\"1G\"}");
    for (int i = 0; i < 3000; i++)
        at += (size_t)snprintf(json + at, cap - at, ",\"k%d\":%d", i, i);
    snprintf(json + at, cap - at, "}");
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(parse_str("many.json", json, &p, &d), -EINVAL);
    assert_int_equal(d.n, PJ_MAX_ERRORS + 1);
    assert_true(d.n_errors >= 3000);
    assert_non_null(strstr(d.items[d.n - 1].message, "too many errors"));
    diag_list_free(&d);
    free(json);
}

/* ---- defaults and values ------------------------------------------------- */

static void test_defaults(void **state)
{
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(
        parse_str("/etc/vmrun/small-vm.json", "{\"memory\":{\"size\":536870912}}", &p, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(p.name, "small-vm");
    assert_null(p.qemu.binary); /* the builder's default */
    assert_int_equal(p.qemu.accel, VM_ACCEL_KVM);
    assert_int_equal(p.cpu.sockets * p.cpu.cores * p.cpu.threads, 1);
    assert_int_equal(p.memory.size, 512u << 20);
    assert_int_equal(p.memory.hugepage_kb, 0);
    assert_int_equal(p.memory.numa_node, -1);
    assert_int_equal(p.display, VM_DISPLAY_NONE);
    assert_int_equal(p.serial, VM_SERIAL_LOG);
    assert_int_equal(p.shutdown.timeout_s, PROFILE_DEFAULT_TIMEOUT_S);
    assert_int_equal(p.cpu.governor_scope, VM_GOVERNOR_VM_CPUS);
    assert_false(p.looking_glass.present);
    assert_false(p.audio.present);
    assert_null(p.run_as);
    assert_int_equal(p.firmware.type, VM_FIRMWARE_BIOS);
    assert_false(p.firmware.secure_boot || p.firmware.enrolled_keys);
    assert_false(p.tpm.present);
    profile_free(&p);
}

/* firmware.type's default follows the keys given; enrolled_keys follows
 * secure_boot; tpm is on when present. */
static void test_firmware_and_tpm(void **state)
{
    static const struct {
        const char *firmware;
        enum vm_firmware_type type;
        bool secure_boot, enrolled_keys;
    } cases[] = {
        {"{}", VM_FIRMWARE_BIOS, false, false},
        {"{\"type\":\"bios\"}", VM_FIRMWARE_BIOS, false, false},
        {"{\"type\":\"bios\",\"secure_boot\":false}", VM_FIRMWARE_BIOS, false, false},
        {"{\"type\":\"uefi\"}", VM_FIRMWARE_UEFI, false, false},
        {"{\"secure_boot\":true}", VM_FIRMWARE_UEFI, true, true},
        {"{\"secure_boot\":true,\"enrolled_keys\":false}", VM_FIRMWARE_UEFI, true, false},
        {"{\"secure_boot\":false}", VM_FIRMWARE_UEFI, false, false},
        {"{\"code\":\"/c.fd\"}", VM_FIRMWARE_UEFI, false, false},
        {"{\"code\":\"/c.fd\",\"vars_template\":\"/v.fd\",\"secure_boot\":true}",
         VM_FIRMWARE_UEFI, true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"memory\":{\"size\":\"1G\"},\"firmware\":%s}",
                 cases[i].firmware);
        struct vm_profile p;
        struct diag_list d = {0};
        int r = parse_str("fw.json", json, &p, &d);
        if (r != 0 || d.n != 0) {
            print_diags(&d);
            fail_msg("%s", json);
        }
        assert_int_equal(p.firmware.type, cases[i].type);
        assert_int_equal(p.firmware.secure_boot, cases[i].secure_boot);
        assert_int_equal(p.firmware.enrolled_keys, cases[i].enrolled_keys);
        profile_free(&p);
        diag_list_free(&d);
    }

    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(parse_str("t.json", "{\"memory\":{\"size\":\"1G\"},\"tpm\":{}}", &p, &d), 0);
    assert_true(p.tpm.present);
    assert_int_equal(p.tpm.model, VM_TPM_CRB);
    profile_free(&p);
    assert_int_equal(
        parse_str("t.json", "{\"memory\":{\"size\":\"1G\"},\"tpm\":{\"model\":\"tis\"}}", &p,
                  &d),
        0);
    assert_true(p.tpm.present);
    assert_int_equal(p.tpm.model, VM_TPM_TIS);
    profile_free(&p);
    diag_list_free(&d);
}

static void test_values(void **state)
{
    const char *json =
        "{\"name\":\"x\",\"memory\":{\"size\":\"4G\",\"hugepages\":\"1G\",\"numa_node\":1,"
        "\"drop_caches\":true},"
        "\"cpu\":{\"sockets\":2,\"cores\":2,\"threads\":1,\"isolate\":true,"
        "\"pin\":{\"vcpus\":[1,2,3,4],\"emulator\":[0],\"iothreads\":[0]},"
        "\"governor\":\"performance\",\"governor_scope\":\"all\"},"
        "\"pci\":[{\"address\":\"0A:1f.0\",\"take_group\":true,\"rom\":\"vbios.rom\"}],"
        "\"disks\":[{\"path\":\"win,1.qcow2\",\"bus\":\"scsi\",\"iothread\":true},"
        "{\"path\":\"/iso/w.iso\",\"media\":\"cdrom\",\"bus\":\"sata\",\"format\":\"raw\"}],"
        "\"network\":[{\"type\":\"tap\",\"tap\":\"tap0\",\"mac\":\"52:54:00:AB:cd:01\","
        "\"model\":\"e1000e\"}],"
        "\"usb\":[{\"vendor\":\"046D\",\"product\":\"c52b\"}],"
        "\"audio\":{\"device\":\"usb\"},"
        "\"looking_glass\":{\"resolution\":\"2560x1440\",\"device\":\"shm\"},"
        "\"run_as\":\"alice\",\"display\":\"spice\",\"serial\":\"none\"}";
    struct vm_profile p;
    struct diag_list d = {0};
    int r = parse_str("x.json", json, &p, &d);
    if (r != 0)
        print_diags(&d);
    assert_int_equal(r, 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(p.memory.hugepage_kb, 1048576);
    assert_int_equal(p.memory.numa_node, 1);
    assert_true(p.memory.drop_caches);
    assert_int_equal(profile_vcpu_count(&p), 4);
    assert_true(p.cpu.isolate);
    assert_int_equal(p.cpu.governor_scope, VM_GOVERNOR_ALL_CPUS);
    assert_string_equal(p.pci[0].address, "0000:0a:1f.0");
    assert_int_equal(p.pci[0].bus, 10);
    assert_int_equal(p.pci[0].slot, 31);
    assert_true(p.pci[0].take_group);
    assert_string_equal(p.pci[0].rom, "vbios.rom"); /* the parser keeps paths as written */
    assert_string_equal(p.disks[0].path, "win,1.qcow2");
    assert_int_equal(p.disks[0].format, VM_DISK_QCOW2); /* from the name */
    assert_int_equal(p.disks[1].format, VM_DISK_RAW);
    assert_int_equal(p.disks[1].media, VM_MEDIA_CDROM);
    assert_string_equal(p.nets[0].mac, "52:54:00:ab:cd:01");
    assert_string_equal(p.nets[0].tap, "tap0");
    assert_true(p.usb[0].ids);
    assert_int_equal(p.usb[0].vendor, 0x046d);
    assert_int_equal(p.usb[0].product, 0xc52b);
    assert_null(p.usb[0].serial);
    assert_null(p.usb[0].port);
    assert_int_equal(p.usb[0].class_code, -1);
    assert_true(p.usb_present);
    assert_true(p.audio.present);
    assert_int_equal(p.audio.backend, VM_AUDIO_PIPEWIRE);
    assert_string_equal(p.audio.device, "usb");
    assert_int_equal(p.looking_glass.width, 2560);
    assert_int_equal(p.looking_glass.size, UINT64_C(64) << 20);
    assert_string_equal(p.looking_glass.device, "shm");
    assert_string_equal(p.run_as, "alice");
    profile_free(&p);
}

/* usb[]: each kind of rule, and the key alone (a controller without rules). */
static void test_usb_rules(void **state)
{
    (void)state;
    struct vm_profile p;
    struct diag_list d = {0};
    int r = parse_str("x.json",
                      "{\"memory\":{\"size\":\"1G\"},\"usb\":["
                      "{\"vendor\":\"045e\",\"product\":\"0B12\",\"serial\":\"3039373130\"},"
                      "{\"port\":\"3-2\"},{\"port\":\"1-4.2.1\",\"class\":\"audio\"},"
                      "{\"class\":\"vendor\"}]}",
                      &p, &d);
    if (r != 0)
        print_diags(&d);
    assert_int_equal(r, 0);
    assert_int_equal(p.n_usb, 4);
    assert_true(p.usb[0].ids);
    assert_int_equal(p.usb[0].product, 0x0b12);
    assert_string_equal(p.usb[0].serial, "3039373130");
    assert_false(p.usb[1].ids);
    assert_string_equal(p.usb[1].port, "3-2");
    assert_int_equal(p.usb[1].class_code, -1);
    assert_string_equal(p.usb[2].port, "1-4.2.1");
    assert_int_equal(p.usb[2].class_code, 0x01);
    assert_int_equal(p.usb[3].class_code, 0xff);
    assert_string_equal(profile_usb_class_name(0x03), "hid");
    assert_null(profile_usb_class_name(0x09));
    profile_free(&p);

    r = parse_str("x.json", "{\"memory\":{\"size\":\"1G\"},\"usb\":[]}", &p, &d);
    assert_int_equal(r, 0);
    assert_true(p.usb_present);
    assert_int_equal(p.n_usb, 0);
    profile_free(&p);
    r = parse_str("x.json", "{\"memory\":{\"size\":\"1G\"}}", &p, &d);
    assert_int_equal(r, 0);
    assert_false(p.usb_present);
    profile_free(&p);
    diag_list_free(&d);
}

/* The display handoff and reset methods: defaults and values. */
static void test_handoff_values(void **state)
{
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(parse_str("x.json",
                               "{\"memory\":{\"size\":\"1G\"},\"pci\":[{\"address\":\"01:00.0\"}],"
                               "\"handoff\":{}}",
                               &p, &d),
                     0);
    assert_true(p.handoff.present);
    assert_int_equal(p.handoff.display_manager, VM_DM_AUTO);
    assert_null(p.handoff.display_manager_unit);
    assert_int_equal(p.handoff.n_session_units, 0);
    assert_false(p.handoff.kill_holders);
    assert_int_equal(p.handoff.timeout_s, PROFILE_HANDOFF_DEFAULT_TIMEOUT_S);
    assert_null(p.pci[0].reset_method);
    profile_free(&p);

    const char *json =
        "{\"memory\":{\"size\":\"1G\"},"
        "\"pci\":[{\"address\":\"01:00.0\",\"reset_method\":\"bus\"},"
        "{\"address\":\"01:00.1\",\"reset_method\":[\"device_specific\",\"flr\"]}],"
        "\"handoff\":{\"display_manager\":\"sddm.service\",\"session_units\":"
        "[\"plasma-workspace.target\",\"app@x.service\"],\"kill_holders\":true,\"timeout\":60}}";
    int r = parse_str("x.json", json, &p, &d);
    if (r != 0)
        print_diags(&d);
    assert_int_equal(r, 0);
    assert_int_equal(p.handoff.display_manager, VM_DM_UNIT);
    assert_string_equal(p.handoff.display_manager_unit, "sddm.service");
    assert_int_equal(p.handoff.n_session_units, 2);
    assert_string_equal(p.handoff.session_units[1], "app@x.service");
    assert_true(p.handoff.kill_holders);
    assert_int_equal(p.handoff.timeout_s, 60);
    assert_string_equal(p.pci[0].reset_method, "bus");
    assert_string_equal(p.pci[1].reset_method, "device_specific flr");
    profile_free(&p);

    assert_int_equal(parse_str("x.json",
                               "{\"memory\":{\"size\":\"1G\"},\"pci\":[{\"address\":\"01:00.0\"}],"
                               "\"handoff\":{\"display_manager\":\"none\"}}",
                               &p, &d),
                     0);
    assert_int_equal(p.handoff.display_manager, VM_DM_NONE);
    profile_free(&p);
    diag_list_free(&d);
}

static void test_pin_overlap_is_a_warning(void **state)
{
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(parse_str("w.json",
                               "{\"memory\":{\"size\":\"1G\"},\"cpu\":{\"pin\":{\"vcpus\":[2,3],"
                               "\"emulator\":[3]}}}",
                               &p, &d),
                     0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.n_errors, 0);
    char buf[256];
    diag_format(&d.items[0], buf, sizeof(buf));
    assert_non_null(strstr(buf, "w.json:1:65: warning: cpu.pin.emulator[0]: host CPU 3"));
    diag_list_free(&d);
    profile_free(&p);
}

static void test_nul_and_size_limit(void **state)
{
    struct vm_profile p;
    struct diag_list d = {0};
    assert_int_equal(profile_parse("n.json", "{\n \0}", 5, &p, &d), -EINVAL);
    assert_int_equal(d.items[0].line, 2);
    assert_int_equal(d.items[0].col, 2);
    diag_list_free(&d);
    char *big = calloc(PROFILE_MAX_BYTES + 2, 1);
    assert_non_null(big);
    assert_int_equal(profile_parse("b.json", big, PROFILE_MAX_BYTES + 1, &p, &d), -EINVAL);
    free(big);
    diag_list_free(&d);
}

/* ---- sizes, positions, suggestions --------------------------------------- */

static void test_size_parse(void **state)
{
    uint64_t v;
    assert_int_equal(size_parse("16G", &v), 0);
    assert_int_equal(v, UINT64_C(16) << 30);
    assert_int_equal(size_parse("512M", &v), 0);
    assert_int_equal(v, UINT64_C(512) << 20);
    assert_int_equal(size_parse("2m", &v), 0);
    assert_int_equal(v, UINT64_C(2) << 20);
    assert_int_equal(size_parse("1GiB", &v), 0);
    assert_int_equal(v, UINT64_C(1) << 30);
    assert_int_equal(size_parse("3KB", &v), 0);
    assert_int_equal(v, 3072);
    assert_int_equal(size_parse("1T", &v), 0);
    assert_int_equal(v, UINT64_C(1) << 40);
    assert_int_equal(size_parse("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(size_parse("18446744073709551615", &v), 0);
    assert_int_equal(size_parse("18446744073709551616", &v), -ERANGE);
    assert_int_equal(size_parse("16777216T", &v), -ERANGE);
    const char *bad[] = {"", "G", "-1G", "1.5G", "16 G", "16Gb ", "16X", "16GiBs", "0x10", " 1"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(size_parse(bad[i], &v), -EINVAL);
    char buf[32];
    size_format(UINT64_C(16) << 30, buf, sizeof(buf));
    assert_string_equal(buf, "16G");
    size_format(UINT64_C(1536) << 20, buf, sizeof(buf));
    assert_string_equal(buf, "1536M");
    size_format(1000, buf, sizeof(buf));
    assert_string_equal(buf, "1000");
}

static void test_jsonpos(void **state)
{
    const char *text = "{\r\n  \"é\": [1, {\"k\" :\n\t\"v\"}],\n  \"b\": true }";
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    struct jsonpos_map m = {0};
    assert_int_equal(jsonpos_build(&m, text, strlen(text), root), 0);
    struct jsonpos k, v;
    assert_true(jsonpos_lookup(&m, root, &k, &v));
    assert_int_equal(v.line, 1);
    assert_int_equal(v.col, 1);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "é");
    assert_true(jsonpos_lookup(&m, arr, &k, &v));
    assert_int_equal(k.line, 2);
    assert_int_equal(k.col, 3);
    assert_int_equal(v.col, 8); /* "é" is one character, two bytes */
    const cJSON *obj = cJSON_GetArrayItem(arr, 1);
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(obj, "k");
    assert_true(jsonpos_lookup(&m, inner, &k, &v));
    assert_int_equal(k.line, 2);
    assert_int_equal(k.col, 13);
    assert_int_equal(v.line, 3);
    assert_int_equal(v.col, 2);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "b");
    assert_true(jsonpos_lookup(&m, b, &k, &v));
    assert_int_equal(v.line, 4);
    assert_int_equal(v.col, 8);
    jsonpos_free(&m);
    cJSON_Delete(root);

    struct jsonpos at = jsonpos_at("ab\ncd", 5, 4);
    assert_int_equal(at.line, 2);
    assert_int_equal(at.col, 2);
}

static void test_syntax_checker(void **state)
{
    struct {
        const char *text;
        bool ok;
        unsigned line, col;
    } cases[] = {
        {"{}", true, 0, 0},
        {" [1, -0.5e+3, \"a\\u00e9\", true, false, null] ", true, 0, 0},
        {"{\"a\":1,}", false, 1, 8},
        {"[1,]", false, 1, 4},
        {"{\"a\" 1}", false, 1, 6},
        {"{\"a\":01}", false, 1, 7},
        {"{\"a\":\"x\\q\"}", false, 1, 9},
        {"{\"a\":TRUE}", false, 1, 6},
        {"{\"a\":1}}", false, 1, 8},
        {"\x01{}", false, 1, 1},
        {"[[[[", false, 1, 5},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct jsonpos at;
        char msg[256];
        bool ok =
            jsonpos_check_syntax(cases[i].text, strlen(cases[i].text), 1000, &at, msg, sizeof(msg));
        if (ok != cases[i].ok)
            fprintf(stderr, "case %zu: %s\n", i, cases[i].text);
        assert_int_equal(ok, cases[i].ok);
        if (!ok) {
            if (at.line != cases[i].line || at.col != cases[i].col)
                fprintf(stderr, "case %zu: at %u:%u: %s\n", i, at.line, at.col, msg);
            assert_int_equal(at.line, cases[i].line);
            assert_int_equal(at.col, cases[i].col);
        }
    }
    struct jsonpos at;
    char msg[256];
    assert_false(jsonpos_check_syntax("[[[[1]]]]", 9, 3, &at, msg, sizeof(msg)));
    assert_non_null(strstr(msg, "nested too deeply"));
}

static void test_suggest(void **state)
{
    const char *const keys[] = {"sockets", "cores", "threads", "pin", "model", NULL};
    assert_string_equal(pj_suggest("cors", keys), "cores");
    assert_string_equal(pj_suggest("Cores", keys), "cores");
    assert_string_equal(pj_suggest("thraeds", keys), "threads");
    assert_string_equal(pj_suggest("pins", keys), "pin");
    assert_null(pj_suggest("memory", keys));
    assert_null(pj_suggest("x", keys));
}

static void test_looking_glass_size(void **state)
{
    assert_int_equal(profile_looking_glass_size(1920, 1080), UINT64_C(32) << 20);
    assert_int_equal(profile_looking_glass_size(2560, 1440), UINT64_C(64) << 20);
    assert_int_equal(profile_looking_glass_size(3840, 2160), UINT64_C(128) << 20);
}

static void test_diag_format(void **state)
{
    struct diag_list d = {0};
    diag_add(&d, DIAG_ERROR, "gaming.json", 14, 7, "cpu.pin.vcpus[3]",
             "expected a host CPU number (integer >= 0), got \"%s\"", "x");
    diag_add(&d, DIAG_WARNING, "g.json", 1, 2, "cpu", "hm");
    diag_add(&d, DIAG_ERROR, "g.json", 0, 0, "", "cannot tell");
    char buf[256];
    diag_format(&d.items[0], buf, sizeof(buf));
    assert_string_equal(buf, "gaming.json:14:7: cpu.pin.vcpus[3]: expected a host CPU number "
                             "(integer >= 0), got \"x\"");
    diag_format(&d.items[1], buf, sizeof(buf));
    assert_string_equal(buf, "g.json:1:2: warning: cpu: hm");
    diag_format(&d.items[2], buf, sizeof(buf));
    assert_string_equal(buf, "g.json: cannot tell");
    assert_int_equal(d.n_errors, 2);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    diag_print_all(&d, f);
    fclose(f);
    assert_string_equal(out, "gaming.json:14:7: cpu.pin.vcpus[3]: expected a host CPU number "
                             "(integer >= 0), got \"x\"\n"
                             "g.json:1:2: warning: cpu: hm\n"
                             "g.json: cannot tell\n");
    free(out);
    diag_list_free(&d);
}

/* ---- lookup and loading -------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vmrun-profile-test.XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_resolve(void **state)
{
    char dir[PATH_MAX], path[PATH_MAX], file[PATH_MAX];
    struct vmrun_error err = {0};
    snprintf(dir, sizeof(dir), "%s/xdg/vmrun", tmpdir);
    snprintf(path, sizeof(path), "%s/xdg", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof(file), "%s/work.json", dir);
    write_file(file, "{\"memory\":{\"size\":\"1G\"}}");

    unsetenv("SUDO_USER");
    unsetenv("PKEXEC_UID");
    setenv("XDG_CONFIG_HOME", path, 1);
    assert_int_equal(profile_resolve("work", path, sizeof(path), &err), 0);
    assert_string_equal(path, file);

    /* Paths are used as given, found or not. */
    assert_int_equal(profile_resolve("work.json", path, sizeof(path), &err), 0);
    assert_string_equal(path, "work.json");
    assert_int_equal(profile_resolve("./x", path, sizeof(path), &err), 0);
    assert_string_equal(path, "./x");

    assert_int_equal(profile_resolve("no-such-vm", path, sizeof(path), &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/xdg/vmrun/no-such-vm.json"));
    assert_non_null(strstr(err.msg, VMRUN_SYSCONF_PROFILE_DIR "/no-such-vm.json"));

    /* Through sudo, root's XDG_CONFIG_HOME is not the user's. */
    if (geteuid() == 0) {
        setenv("SUDO_USER", "nobody", 1);
        setenv("XDG_CONFIG_HOME", "/root/.config", 1);
        assert_int_equal(profile_resolve("no-such-vm", path, sizeof(path), &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/.config/vmrun/no-such-vm.json"));
        unsetenv("XDG_CONFIG_HOME");
        assert_int_equal(profile_resolve("no-such-vm", path, sizeof(path), &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/.config/vmrun/no-such-vm.json"));
        unsetenv("SUDO_USER");
    }
    unsetenv("XDG_CONFIG_HOME");
}

static void test_load_relative_paths(void **state)
{
    char path[PATH_MAX], expect[PATH_MAX];
    snprintf(path, sizeof(path), "%s/rel.json", tmpdir);
    write_file(path, "{\"memory\":{\"size\":\"1G\"},"
                     "\"firmware\":{\"code\":\"./fw/CODE.fd\",\"vars_template\":\"/abs/VARS.fd\"},"
                     "\"boot\":{\"kernel\":\"k/vmlinuz\",\"initrd\":\"initrd.img\"},"
                     "\"pci\":[{\"address\":\"01:00.0\",\"rom\":\"vbios.rom\"}],"
                     "\"disks\":[{\"path\":\"vm:1.img\"}]}");
    struct vm_profile p;
    struct diag_list d = {0};
    struct vmrun_error err = {0};
    assert_int_equal(profile_load(path, &p, &d, &err), 0);
    assert_string_equal(p.name, "rel");
    snprintf(expect, sizeof(expect), "%s/fw/CODE.fd", tmpdir);
    assert_string_equal(p.firmware.code, expect);
    assert_string_equal(p.firmware.vars_template, "/abs/VARS.fd");
    snprintf(expect, sizeof(expect), "%s/k/vmlinuz", tmpdir);
    assert_string_equal(p.boot.kernel, expect);
    snprintf(expect, sizeof(expect), "%s/initrd.img", tmpdir);
    assert_string_equal(p.boot.initrd, expect);
    snprintf(expect, sizeof(expect), "%s/vbios.rom", tmpdir);
    assert_string_equal(p.pci[0].rom, expect);
    snprintf(expect, sizeof(expect), "%s/vm:1.img", tmpdir);
    assert_string_equal(p.disks[0].path, expect);
    profile_free(&p);

    /* A relative profile path: relative to the current directory. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir("/tmp"), 0);
    assert_int_equal(profile_load(path + strlen("/tmp/"), &p, &d, &err), 0);
    snprintf(expect, sizeof(expect), "%s/initrd.img", tmpdir);
    assert_string_equal(p.boot.initrd, expect);
    profile_free(&p);
    assert_int_equal(chdir(cwd), 0);
    diag_list_free(&d);
}

static void test_load_refusals(void **state)
{
    char path[PATH_MAX];
    struct vm_profile p;
    struct diag_list d = {0};
    struct vmrun_error err = {0};

    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    assert_int_equal(profile_load(path, &p, &d, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing.json"));

    assert_int_equal(profile_load(tmpdir, &p, &d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(d.n, 0);

    snprintf(path, sizeof(path), "%s/big.json", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, PROFILE_MAX_BYTES + 1), 0);
    close(fd);
    assert_int_equal(profile_load(path, &p, &d, &err), -EFBIG);

    /* A bad profile: -EINVAL, and the diagnostics name the path given. */
    snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
    write_file(path, "{\"memory\":{\"size\":\"1G\"},\"cpu\":{\"cores\":-2}}");
    assert_int_equal(profile_load(path, &p, &d, &err), -EINVAL);
    assert_int_equal(d.n_errors, 1);
    assert_string_equal(d.items[0].file, path);
    diag_list_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_all_parse),
        cmocka_unit_test(test_firmware_and_tpm),
        cmocka_unit_test(test_example_gaming),
        cmocka_unit_test(test_example_demo),
        cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_usb_rules),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_handoff_values),
        cmocka_unit_test(test_pin_overlap_is_a_warning),
        cmocka_unit_test(test_nul_and_size_limit),
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_jsonpos),
        cmocka_unit_test(test_syntax_checker),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_looking_glass_size),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test_setup_teardown(test_resolve, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_relative_paths, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_refusals, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
