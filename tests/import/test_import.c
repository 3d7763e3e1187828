/* Unit tests of the importer (launcher/import/): the safe reading of the
 * XML, what a note says and where, and the mappings checked on the JSON
 * itself, including those to keys this build's schema may lack (firmware
 * selection, TPM), with import_options.all_keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "import/import.h"
#include "profile/profile.h"

struct run {
    int rc;
    struct import_result res;
    struct diag_list diags;
    cJSON *json;
};

static struct run run_opts(const char *xml, bool all_keys)
{
    struct run r = {0};
    struct import_options opt = {.all_keys = all_keys};
    r.rc = import_domain("t.xml", xml, strlen(xml), &opt, &r.res, &r.diags);
    if (r.rc == 0)
        r.json = cJSON_Parse(r.res.profile);
    return r;
}

static struct run run(const char *xml)
{
    return run_opts(xml, false);
}

static void done(struct run *r)
{
    cJSON_Delete(r->json);
    if (r->rc == 0)
        import_result_free(&r->res);
    diag_list_free(&r->diags);
}

/* The JSON value at a dotted path ("cpu.hyperv.relaxed", "pci.0.address"). */
static const cJSON *at(const cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *part = strtok(buf, "."); part != NULL && j != NULL; part = strtok(NULL, ".")) {
        if (cJSON_IsArray(j))
            j = cJSON_GetArrayItem(j, atoi(part));
        else
            j = cJSON_GetObjectItemCaseSensitive(j, part);
    }
    return j;
}

static const char *str_at(const cJSON *j, const char *path)
{
    const char *s = cJSON_GetStringValue(at(j, path));
    if (s == NULL)
        fail_msg("no string at %s", path);
    return s;
}

/* The note on line `line` that mentions `what`, or fail. */
static const struct import_note *note(const struct run *r, unsigned line, const char *what)
{
    for (size_t i = 0; i < r->res.n_notes; i++)
        if (r->res.notes[i].line == line && strstr(r->res.notes[i].what, what) != NULL)
            return &r->res.notes[i];
    for (size_t i = 0; i < r->res.n_notes; i++)
        fprintf(stderr, "  note %u %s: %s\n", r->res.notes[i].line, r->res.notes[i].what,
                r->res.notes[i].why);
    fail_msg("no note at line %u about %s", line, what);
    return NULL;
}

#define DOMAIN(body)                                                                             \
    "<domain type='kvm'>\n<name>t</name>\n<memory unit='GiB'>4</memory>\n" body "</domain>\n"

static void test_refuses_doctype_at_once(void **state)
{
    (void)state;
    /* A billion laughs: refused at the DOCTYPE's line, before any entity
     * is declared, let alone expanded. */
    struct run r = run("<?xml version='1.0'?>\n<!DOCTYPE lolz [\n"
                       " <!ENTITY lol 'lol'>\n"
                       " <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
                       "]>\n<domain><name>&lol1;</name><memory>1</memory></domain>\n");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.diags.n_errors, 1);
    assert_int_equal(r.diags.items[0].line, 2);
    assert_non_null(strstr(r.diags.items[0].message, "DOCTYPE"));
    done(&r);
    /* An external entity is no better, and reads nothing. */
    r = run("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>\n"
            "<domain><name>&x;</name><memory>1</memory></domain>");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.diags.items[0].line, 1);
    done(&r);
    /* Without a DTD an entity is undefined: an error, not a substitution. */
    r = run("<domain>\n<name>&x;</name><memory>1</memory></domain>");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.diags.items[0].line, 2);
    assert_non_null(strstr(r.diags.items[0].message, "'x' not defined"));
    done(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct run r = run("<domain type='kvm'>\n  <name>x</name>\n  <memory>4");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.diags.items[0].line, 3);
    done(&r);
    r = run("<network><name>default</name></network>");
    assert_int_equal(r.rc, -EINVAL);
    assert_non_null(strstr(r.diags.items[0].message, "not <domain>"));
    done(&r);
    r = run("<domain><name>x</name></domain>");
    assert_int_equal(r.rc, -EINVAL);
    assert_non_null(strstr(r.diags.items[0].message, "no <memory>"));
    done(&r);
    r = run("just text");
    assert_int_equal(r.rc, -EINVAL);
    done(&r);
    /* Bigger than any domain XML: refused unread. */
    size_t big = IMPORT_MAX_BYTES + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, ' ', big);
    struct diag_list d = {0};
    struct import_result res;
    assert_int_equal(import_domain("big.xml", s, big, NULL, &res, &d), -EINVAL);
    assert_non_null(strstr(d.items[0].message, "more than"));
    diag_list_free(&d);
    free(s);
    /* A NUL byte, with its line. */
    static const char nul[] = "<domain>\n<name>a\0b</name></domain>";
    d = (struct diag_list){0};
    assert_int_equal(import_domain("nul.xml", nul, sizeof(nul) - 1, NULL, &res, &d), -EINVAL);
    assert_int_equal(d.items[0].line, 2);
    diag_list_free(&d);
}

static void test_unread_is_reported(void **state)
{
    (void)state;
    /* Whatever no mapper reads gets a line: an unknown element, an unknown
     * attribute of a known one. */
    struct run r = run(DOMAIN("<vcpu>2</vcpu>\n<frobnicator/>\n<devices>\n"
                              "<memballoon model='virtio'/>\n"
                              "<disk type='file' device='disk' snapshot='no'>\n"
                              "<source file='/a.img'/><target dev='vda' bus='virtio'/>\n"
                              "</disk>\n</devices>\n"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(note(&r, 5, "<frobnicator>")->kind, IMPORT_NOT_SUPPORTED);
    assert_int_equal(note(&r, 7, "<memballoon")->kind, IMPORT_NOT_SUPPORTED);
    assert_int_equal(note(&r, 8, "snapshot='no'")->kind, IMPORT_NOT_SUPPORTED);
    assert_int_equal(import_losses(&r.res), r.res.n_notes);
    for (size_t i = 1; i < r.res.n_notes; i++)
        assert_true(r.res.notes[i - 1].line <= r.res.notes[i].line);
    assert_string_equal(str_at(r.json, "disks.0.path"), "/a.img");
    done(&r);
}

static void test_complete_import_has_no_losses(void **state)
{
    (void)state;
    struct run r = run(DOMAIN("<vcpu placement='static'>4</vcpu>\n"
                              "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>\n"
                              "<features><acpi/><apic/></features>\n"
                              "<cpu mode='host-passthrough'>"
                              "<topology sockets='1' cores='2' threads='2'/></cpu>\n"
                              "<clock offset='localtime'/>\n<devices/>\n"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.n_notes, 0);
    assert_int_equal((int)cJSON_GetNumberValue(at(r.json, "cpu.cores")), 2);
    assert_string_equal(str_at(r.json, "qemu.machine"), "pc-q35-7.2");
    assert_string_equal(str_at(r.json, "memory.size"), "4G");
    done(&r);
}

static void test_names_and_sizes(void **state)
{
    (void)state;
    struct run r = run("<domain type='kvm'><name>Windows 11 (gaming)</name>"
                       "<memory unit='KB'>4096000</memory><vcpu>3</vcpu><devices/></domain>");
    assert_int_equal(r.rc, 0);
    assert_string_equal(str_at(r.json, "name"), "Windows-11--gaming-");
    assert_string_equal(r.res.name, "Windows-11--gaming-");
    /* 4096000 kB (1000s) is 3906.25 MiB: rounded up to a whole MiB. */
    assert_string_equal(str_at(r.json, "memory.size"), "3907M");
    /* libvirt's default topology: one socket per vCPU. */
    assert_int_equal((int)cJSON_GetNumberValue(at(r.json, "cpu.sockets")), 3);
    done(&r);
}

static void test_hyperv_needs(void **state)
{
    (void)state;
    /* stimer needs synic and time; synic needs vpindex, which is off: both
     * are left out with a note each, the rest carried over. */
    struct run r = run(DOMAIN("<features><hyperv mode='custom'>\n"
                              "<relaxed state='on'/>\n<synic state='on'/>\n"
                              "<stimer state='on'/>\n<vpindex state='off'/>\n"
                              "<spinlocks state='on' retries='4096'/>\n"
                              "</hyperv></features>\n<devices/>\n"));
    assert_int_equal(r.rc, 0);
    assert_true(cJSON_IsTrue(at(r.json, "cpu.hyperv.relaxed")));
    assert_null(at(r.json, "cpu.hyperv.synic"));
    assert_null(at(r.json, "cpu.hyperv.stimer"));
    assert_int_equal((int)cJSON_GetNumberValue(at(r.json, "cpu.hyperv.spinlocks")), 4096);
    note(&r, 6, "<synic>");
    note(&r, 7, "<stimer>");
    done(&r);
}

static void test_qemu_commandline(void **state)
{
    (void)state;
    struct run r = run(
        "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
        "<name>q</name><memory unit='GiB'>2</memory><devices/>\n<qemu:commandline>\n"
        "<qemu:arg value='-object'/>\n"
        "<qemu:arg value='{\"qom-type\":\"input-linux\",\"id\":\"k\",\"evdev\":\"/dev/input/k\"}'/>\n"
        "<qemu:arg value='-overcommit'/>\n<qemu:arg value='cpu-pm=on'/>\n"
        "<qemu:arg value='-device'/>\n<qemu:arg value='virtio-rng-pci'/>\n"
        "</qemu:commandline>\n</domain>\n");
    assert_int_equal(r.rc, 0);
    assert_string_equal(str_at(r.json, "input.0.evdev"), "/dev/input/k");
    assert_true(cJSON_IsTrue(at(r.json, "cpu.idle_in_guest")));
    assert_string_equal(str_at(r.json, "qemu.extra_args.0"), "-device");
    assert_string_equal(str_at(r.json, "qemu.extra_args.1"), "virtio-rng-pci");
    assert_int_equal(cJSON_GetArraySize(at(r.json, "qemu.extra_args")), 2);
    /* Carried over, with a warning: not a loss. */
    assert_int_equal(note(&r, 9, "<qemu:arg>")->kind, IMPORT_WARNING);
    assert_int_equal(import_losses(&r.res), 0);
    done(&r);
}

/* Firmware selection and the TPM against the schema decided for them
 * (firmware.type, secure_boot, enrolled_keys; tpm, tpm.model): written
 * whenever the schema has the keys, checked here on the JSON itself. */
static const char sb_xml[] =
    "<domain type='kvm'><name>w</name><memory unit='GiB'>4</memory>\n"
    "<os firmware='efi'>\n<type arch='x86_64' machine='q35'>hvm</type>\n<firmware>\n"
    "<feature enabled='yes' name='enrolled-keys'/>\n<feature enabled='yes' name='secure-boot'/>\n"
    "</firmware>\n<nvram>/var/lib/libvirt/qemu/nvram/w_VARS.fd</nvram>\n</os>\n"
    "<devices>\n<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>\n"
    "</devices></domain>\n";

static void test_firmware_and_tpm_schema(void **state)
{
    (void)state;
    struct run r = run_opts(sb_xml, true);
    assert_int_equal(r.rc, 0);
    assert_string_equal(str_at(r.json, "firmware.type"), "uefi");
    assert_true(cJSON_IsTrue(at(r.json, "firmware.secure_boot")));
    assert_true(cJSON_IsTrue(at(r.json, "firmware.enrolled_keys")));
    assert_null(at(r.json, "firmware.code"));
    assert_string_equal(str_at(r.json, "tpm.model"), "tis");
    assert_int_equal(note(&r, 11, "<tpm")->kind, IMPORT_MANUAL_STEP);
    note(&r, 8, "<nvram>");
    done(&r);
    /* With this build's schema: what it has, and a note for the rest. */
    r = run(sb_xml);
    assert_int_equal(r.rc, 0);
    if (profile_key_known("firmware.type")) {
        assert_string_equal(str_at(r.json, "firmware.type"), "uefi");
    } else {
        assert_string_equal(str_at(r.json, "firmware.code"), "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
        assert_string_equal(str_at(r.json, "firmware.vars_template"),
                            "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
    }
    if (!profile_key_known("tpm"))
        assert_int_equal(note(&r, 11, "<tpm")->kind, IMPORT_NOT_SUPPORTED);
    done(&r);
}

static void test_devices(void **state)
{
    (void)state;
    struct run r = run(DOMAIN(
        "<devices>\n"
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        "<address domain='0x0000' bus='0x0c' slot='0x00' function='0x3'/></source>"
        "<rom bar='off'/><boot order='1'/></hostdev>\n"
        "<hostdev mode='subsystem' type='usb'><source><vendor id='0x046d'/>"
        "<product id='0xc52b'/></source></hostdev>\n"
        "<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/>"
        "<model type='e1000e'/></interface>\n"
        "<input type='evdev'><source dev='/dev/input/by-id/kbd' grab='all' "
        "grabToggle='scrolllock' repeat='on'/></input>\n"
        "<shmem name='looking-glass'><model type='ivshmem-plain'/><size unit='M'>128</size>"
        "</shmem>\n"
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
        "<source file='/iso/win.iso'/><target dev='sda' bus='sata'/><readonly/></disk>\n"
        "<sound model='ich9'/>\n<audio id='1' type='pulseaudio'/>\n"
        "</devices>\n"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(str_at(r.json, "pci.0.address"), "0000:0c:00.3");
    assert_true(cJSON_IsFalse(at(r.json, "pci.0.rombar")));
    assert_int_equal((int)cJSON_GetNumberValue(at(r.json, "pci.0.bootindex")), 1);
    assert_string_equal(str_at(r.json, "usb.0.vendor"), "046d");
    assert_string_equal(str_at(r.json, "network.0.bridge"), "br0");
    assert_string_equal(str_at(r.json, "network.0.model"), "e1000e");
    assert_string_equal(str_at(r.json, "network.0.mac"), "52:54:00:aa:bb:cc");
    assert_string_equal(str_at(r.json, "input.0.grab_toggle"), "scrolllock");
    assert_string_equal(str_at(r.json, "looking_glass.resolution"), "3840x2160");
    assert_string_equal(str_at(r.json, "disks.0.media"), "cdrom");
    assert_string_equal(str_at(r.json, "audio.backend"), "pa");
    assert_string_equal(str_at(r.json, "audio.device"), "hda");
    assert_int_equal(note(&r, 9, "<shmem")->kind, IMPORT_MANUAL_STEP);
    done(&r);
}

static void test_notes_are_one_line(void **state)
{
    (void)state;
    /* A character reference puts a newline in an attribute value. */
    struct run r = run(DOMAIN("<devices><watchdog model='a&#10;b'/></devices>\n"));
    assert_int_equal(r.rc, 0);
    assert_null(strchr(r.res.notes[0].what, '\n'));
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_doctype_at_once),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_unread_is_reported),
        cmocka_unit_test(test_complete_import_has_no_losses),
        cmocka_unit_test(test_names_and_sizes),
        cmocka_unit_test(test_hyperv_needs),
        cmocka_unit_test(test_qemu_commandline),
        cmocka_unit_test(test_firmware_and_tpm_schema),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_notes_are_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
