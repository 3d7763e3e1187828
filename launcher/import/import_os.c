/* <os> (machine, firmware, direct kernel boot, boot order), <sysinfo> and
 * <clock>. Firmware follows the profile schema this build has: with
 * firmware.type, <os firmware='efi'> and Secure Boot map to it; without
 * it, to explicit OVMF files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "import/import_internal.h"
#include "profile/profile.h"

/* Debian's OVMF, used when the XML leaves the choice to libvirt and this
 * vmrun has no firmware.type to leave it to vmrun. */
#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define OVMF_CODE_SB "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
#define OVMF_VARS_SB "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* A versioned q35 type keeps the guest's chipset exactly as it was (what
 * Windows ties its activation to), where the QEMU that will run it has the
 * type (import_options.machine_lookup); where it does not (QEMU drops them
 * six years on, and has none newer than itself), its newest versioned type,
 * so the chipset changes once and then stays put across QEMU updates, as
 * libvirt's did. */
static void map_versioned_machine(struct imp *im, xmlNodePtr t, const char *machine)
{
    cJSON *q = imp_section(im, "qemu");
    struct import_machine a = {.has = 1};
    if (im->opt->machine_lookup != NULL)
        im->opt->machine_lookup(im->opt->machine_ctx, machine, &a);
    if (a.has == -1) {
        imp_set_str(im, q, "machine", machine);
        imp_note_attr(im, t, "machine", IMPORT_WARNING,
                      "kept, though %s could not be asked whether it has it (%s): vmrun check "
                      "says whether the QEMU that runs the VM has it",
                      a.qemu, a.why);
    } else if (a.has == 1) {
        imp_set_str(im, q, "machine", machine);
        if (a.deprecated)
            imp_note_attr(im, t, "machine", IMPORT_WARNING,
                          "kept; %s calls it deprecated (it warns at every start, and a later "
                          "QEMU drops it; vmrun check then says so): \"%s\" is its newest",
                          a.qemu, a.newest[0] != '\0' ? a.newest : "q35");
    } else {
        if (a.newest[0] != '\0')
            imp_set_str(im, q, "machine", a.newest);
        const char *to = a.newest[0] != '\0' ? a.newest : "q35";
        imp_note_attr(im, t, "machine", IMPORT_HOST_SPECIFIC,
                      "%s has no machine type %s (its q35 types are %s to %s): the guest gets "
                      "%s, its newest (another version of the chipset: Windows may find new "
                      "devices and ask to be activated again)",
                      a.qemu, machine, a.oldest[0] != '\0' ? a.oldest : "none", to, to);
    }
}

static void map_machine(struct imp *im, xmlNodePtr os)
{
    xmlNodePtr t = imp_kid(os, "type");
    if (t == NULL)
        return;
    const char *hvm = imp_text(im, t);
    const char *arch = imp_attr(im, t, "arch");
    const char *machine = imp_attr(im, t, "machine");
    if (strcmp(hvm, "hvm") != 0 || (arch != NULL && strcmp(arch, "x86_64") != 0)) {
        imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun runs x86_64 hardware-virtualised guests");
        return;
    }
    if (machine == NULL)
        return;
    size_t n = strlen(machine);
    bool word = n <= 64 &&
                strspn(machine, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
    if (word && strncmp(machine, "pc-q35-", 7) == 0)
        map_versioned_machine(im, t, machine);
    else if (strcmp(machine, "q35") == 0)
        ; /* vmrun's default */
    else
        imp_note_attr(im, t, "machine", IMPORT_NOT_SUPPORTED,
                      "vmrun's PCIe layout needs a q35 machine; the guest gets q35 (a new "
                      "chipset: Windows finds new devices and may ask to be activated again)");
}

/* Secure Boot and enrolled keys as <os firmware='efi'> asks for them. */
struct fw_want {
    int secure_boot, enrolled_keys; /* -1: not said */
};

static void read_fw_features(struct imp *im, xmlNodePtr os, struct fw_want *w)
{
    xmlNodePtr fw = imp_kid(os, "firmware");
    if (fw == NULL)
        return;
    imp_use(fw);
    imp_each(f, fw, "feature")
    {
        imp_use(f);
        const char *name = imp_attr(im, f, "name");
        int en = imp_onoff(imp_attr(im, f, "enabled"));
        if (name != NULL && strcmp(name, "secure-boot") == 0)
            w->secure_boot = en;
        else if (name != NULL && strcmp(name, "enrolled-keys") == 0)
            w->enrolled_keys = en;
        else
            imp_note(im, f, IMPORT_NOT_SUPPORTED, "vmrun cannot select firmware by this feature");
    }
}

static void map_firmware(struct imp *im, xmlNodePtr os)
{
    cJSON *fw = imp_section(im, "firmware");
    const char *autosel = imp_attr(im, os, "firmware");
    xmlNodePtr loader = imp_kid(os, "loader");
    xmlNodePtr nvram = imp_kid(os, "nvram");
    struct fw_want w = {-1, -1};
    read_fw_features(im, os, &w);
    const char *code = NULL;
    int secure = -1;
    if (loader != NULL) {
        const char *type = imp_attr(im, loader, "type");
        imp_attr(im, loader, "readonly");
        secure = imp_onoff(imp_attr(im, loader, "secure"));
        const char *fmt = imp_attr(im, loader, "format");
        code = imp_text(im, loader);
        if (type != NULL && strcmp(type, "rom") == 0) {
            imp_note(im, loader, IMPORT_NOT_SUPPORTED,
                     "a custom BIOS ROM; vmrun boots SeaBIOS or OVMF from pflash");
            code = NULL;
        } else if (fmt != NULL && strcmp(fmt, "raw") != 0) {
            imp_note(im, loader, IMPORT_NOT_SUPPORTED, "vmrun reads raw firmware images only");
            code = NULL;
        } else if (*code != '\0' && !imp_path_ok(code)) {
            imp_note(im, loader, IMPORT_NOT_SUPPORTED, "not an absolute path");
            code = NULL;
        }
        if (code != NULL && *code == '\0')
            code = NULL;
        const char *stateless = imp_peek(im, loader, "stateless");
        if (imp_onoff(stateless) == 1)
            imp_note_attr(im, loader, "stateless", IMPORT_NOT_SUPPORTED,
                          "vmrun keeps a variable store per VM");
    }
    if (secure == 1 && w.secure_boot < 0)
        w.secure_boot = 1;
    /* Keys are enrolled only in Secure Boot builds (their descriptors list
     * both features): asking for the keys is asking for Secure Boot, and
     * keys with Secure Boot off match no firmware at all. */
    if (w.enrolled_keys == 1 && w.secure_boot < 0) {
        w.secure_boot = 1;
        imp_note(im, os, IMPORT_WARNING,
                 "enrolled keys come only with Secure Boot: the profile turns Secure Boot on");
    } else if (w.enrolled_keys == 1 && w.secure_boot == 0) {
        w.enrolled_keys = -1;
        imp_note(im, os, IMPORT_NOT_SUPPORTED,
                 "enrolled keys with Secure Boot off: no firmware build offers that");
    }
    bool efi = (autosel != NULL && strcmp(autosel, "efi") == 0) || code != NULL;
    if (autosel != NULL && strcmp(autosel, "efi") != 0 && strcmp(autosel, "bios") != 0)
        imp_note_attr(im, os, "firmware", IMPORT_NOT_SUPPORTED, "vmrun knows BIOS and UEFI");
    bool typed = imp_known(im, "firmware.type");
    if (efi && typed && (code == NULL || autosel != NULL)) {
        /* vmrun picks the build from QEMU's firmware descriptors, as
         * libvirt did. */
        imp_set_str(im, fw, "type", "uefi");
        if (w.secure_boot >= 0 && imp_known(im, "firmware.secure_boot"))
            imp_set_bool(im, fw, "secure_boot", w.secure_boot == 1);
        if (w.enrolled_keys >= 0 && imp_known(im, "firmware.enrolled_keys"))
            imp_set_bool(im, fw, "enrolled_keys", w.enrolled_keys == 1);
        if (code != NULL)
            imp_note(im, loader, IMPORT_WARNING,
                     "libvirt's choice of firmware file is not kept: vmrun chooses from QEMU's "
                     "firmware descriptors (firmware.type \"uefi\")");
    } else if (efi) {
        bool sb = w.secure_boot == 1;
        if (code == NULL) {
            code = sb ? OVMF_CODE_SB : OVMF_CODE;
            imp_note_attr(im, os, "firmware", IMPORT_HOST_SPECIFIC,
                          "libvirt chose the firmware; the profile names Debian's %s", code);
        }
        imp_set_str(im, fw, "code", code);
        if (typed && sb && imp_known(im, "firmware.secure_boot"))
            imp_set_bool(im, fw, "secure_boot", true);
        else if (sb)
            imp_note(im, loader != NULL ? loader : os, IMPORT_NOT_SUPPORTED,
                     "Secure Boot: this vmrun does not set up SMM and a secure flash, so the "
                     "firmware runs without it");
    } else if (w.secure_boot == 1) {
        imp_note(im, os, IMPORT_NOT_SUPPORTED, "Secure Boot needs UEFI firmware");
    }
    if (nvram != NULL) {
        const char *tmpl = imp_attr(im, nvram, "template");
        imp_attr(im, nvram, "templateFormat");
        imp_attr(im, nvram, "format");
        const char *path = imp_text(im, nvram);
        bool have_code = cJSON_GetObjectItemCaseSensitive(fw, "code") != NULL;
        if (tmpl != NULL && imp_path_ok(tmpl) && have_code)
            imp_set_str(im, fw, "vars_template", tmpl);
        else if (tmpl == NULL && have_code && code != NULL &&
                 (strcmp(code, OVMF_CODE) == 0 || strcmp(code, OVMF_CODE_SB) == 0))
            imp_set_str(im, fw, "vars_template",
                        strcmp(code, OVMF_CODE) == 0 ? OVMF_VARS : OVMF_VARS_SB);
        if (*path != '\0' && (have_code || efi))
            imp_note(im, nvram, IMPORT_MANUAL_STEP,
                     "the guest's UEFI variables (its boot entries) are in %s: copy it to "
                     "/var/lib/vmrun/%s/OVMF_VARS.fd before the first start, or the guest starts "
                     "from a fresh variable store",
                     path, im->name);
    } else if (efi && cJSON_GetObjectItemCaseSensitive(fw, "code") != NULL &&
               cJSON_GetObjectItemCaseSensitive(fw, "vars_template") == NULL) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fw, "code"));
        if (c != NULL && strcmp(c, OVMF_CODE) == 0)
            imp_set_str(im, fw, "vars_template", OVMF_VARS);
        else if (c != NULL && strcmp(c, OVMF_CODE_SB) == 0)
            imp_set_str(im, fw, "vars_template", OVMF_VARS_SB);
    }
}

static void map_kernel(struct imp *im, xmlNodePtr os)
{
    static const char *const els[] = {"kernel", "initrd", "cmdline"};
    cJSON *boot = imp_section(im, "boot");
    bool kernel = false;
    for (size_t i = 0; i < ARRAY_SIZE(els); i++) {
        xmlNodePtr e = imp_kid(os, els[i]);
        if (e == NULL)
            continue;
        const char *v = imp_text(im, e);
        if (i == 0 && imp_path_ok(v))
            kernel = true;
        if (i < 2 && !imp_path_ok(v)) {
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "not an absolute path");
            continue;
        }
        if (i > 0 && !kernel) {
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "needs <kernel>");
            continue;
        }
        char *s = imp_keep(im, strdup(v));
        if (s == NULL)
            return;
        /* Profile strings hold no control characters (DEL included). */
        for (char *c = s; *c != '\0'; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = ' ';
        imp_set_str(im, boot, els[i], s);
    }
    xmlNodePtr dtb = imp_kid(os, "dtb");
    if (dtb != NULL)
        imp_note(im, dtb, IMPORT_NOT_SUPPORTED, "no device tree on x86");
}

static void map_boot_order(struct imp *im, xmlNodePtr os)
{
    /* <boot dev=...> is read with the devices (import_devices.c), which
     * turn it into boot indexes as libvirt does. */
    xmlNodePtr menu = imp_kid(os, "bootmenu");
    if (menu != NULL) {
        imp_use(menu);
        imp_attr(im, menu, "enable");
        imp_attr(im, menu, "timeout");
    }
    xmlNodePtr bios = imp_kid(os, "bios");
    if (bios != NULL)
        imp_note(im, bios, IMPORT_NOT_SUPPORTED, "vmrun sets no BIOS options");
    xmlNodePtr acpi = imp_kid(os, "acpi");
    if (acpi != NULL)
        imp_note(im, acpi, IMPORT_NOT_SUPPORTED,
                 "extra ACPI tables: add -acpitable through qemu.extra_args");
}

/* <sysinfo type='smbios'>, applied when <os><smbios mode='sysinfo'/>. */
static void map_sysinfo(struct imp *im, xmlNodePtr os)
{
    xmlNodePtr sm = imp_kid(os, "smbios");
    if (sm != NULL) {
        imp_use(sm);
        const char *mode = imp_attr(im, sm, "mode");
        if (mode != NULL && strcmp(mode, "sysinfo") == 0)
            im->sysinfo_applied = true;
        else if (mode != NULL && strcmp(mode, "host") == 0)
            imp_note(im, sm, IMPORT_HOST_SPECIFIC,
                     "the host's own SMBIOS strings: copy the ones you need from dmidecode into "
                     "the profile's \"smbios\"");
    }
    static const struct {
        const char *el;
        int type;
    } blocks[] = {{"bios", SMBIOS_BIOS},
                  {"system", SMBIOS_SYSTEM},
                  {"baseBoard", SMBIOS_BASEBOARD},
                  {"chassis", SMBIOS_CHASSIS}};
    imp_each(si, im->dom, "sysinfo")
    {
        const char *type = imp_peek(im, si, "type");
        if (type == NULL || strcmp(type, "smbios") != 0) {
            imp_note(im, si, IMPORT_NOT_SUPPORTED, "vmrun sets SMBIOS strings only");
            continue;
        }
        if (!im->sysinfo_applied) {
            imp_note(im, si, IMPORT_WARNING,
                     "not applied by libvirt either (no <smbios mode='sysinfo'/> in <os>)");
            continue;
        }
        imp_use(si);
        imp_attr(im, si, "type");
        if (!imp_known(im, "smbios")) {
            imp_note(im, si, IMPORT_NOT_SUPPORTED, "this vmrun has no \"smbios\"");
            continue;
        }
        cJSON *smb = imp_section(im, "smbios");
        for (size_t b = 0; b < ARRAY_SIZE(blocks); b++) {
            xmlNodePtr blk = imp_kid(si, blocks[b].el);
            if (blk == NULL)
                continue;
            imp_use(blk);
            const struct profile_smbios_type *ty = &profile_smbios_types[blocks[b].type];
            cJSON *o = NULL;
            imp_each(e, blk, "entry")
            {
                imp_use(e);
                const char *name = imp_attr(im, e, "name");
                const char *v = imp_text(im, e);
                if (name != NULL && blocks[b].type == SMBIOS_SYSTEM && strcmp(name, "uuid") == 0) {
                    const char *u = cJSON_GetStringValue(
                        cJSON_GetObjectItemCaseSensitive(im->prof, "uuid"));
                    if (u == NULL || strcasecmp(u, v) != 0)
                        imp_note(im, e, IMPORT_NOT_SUPPORTED,
                                 "the SMBIOS UUID is the domain's <uuid> (\"uuid\")");
                    continue;
                }
                bool field = false;
                for (int f = 0; name != NULL && ty->fields[f] != NULL; f++)
                    field |= strcmp(ty->fields[f], name) == 0;
                size_t vl = strlen(v);
                bool clean = vl >= 1 && vl <= 256;
                for (size_t i = 0; i < vl && clean; i++)
                    clean = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
                if (!field || !clean) {
                    imp_note(im, e, IMPORT_NOT_SUPPORTED,
                             field ? "not a string vmrun can pass" : "vmrun cannot set this "
                                                                     "SMBIOS field");
                    continue;
                }
                if (strcmp(name, "release") == 0) {
                    unsigned a, c;
                    char tail;
                    if (sscanf(v, "%u.%u%c", &a, &c, &tail) != 2 || a > 255 || c > 255) {
                        imp_note(im, e, IMPORT_NOT_SUPPORTED, "a BIOS release is MAJOR.MINOR");
                        continue;
                    }
                }
                if (o == NULL)
                    o = imp_set_obj(im, smb, ty->key);
                imp_set_str(im, o, name, v);
            }
        }
        xmlNodePtr oem = imp_kid(si, "oemStrings");
        if (oem != NULL)
            imp_note(im, oem, IMPORT_NOT_SUPPORTED, "vmrun sets no OEM strings (SMBIOS type 11)");
    }
}

void imp_map_os(struct imp *im)
{
    xmlNodePtr os = imp_kid(im->dom, "os");
    if (os != NULL) {
        imp_use(os);
        map_machine(im, os);
        map_firmware(im, os);
        map_kernel(im, os);
        map_boot_order(im, os);
    }
    map_sysinfo(im, os);
}

/* ---- <clock> ---------------------------------------------------------------------- */

void imp_map_clock(struct imp *im)
{
    xmlNodePtr clock = imp_kid(im->dom, "clock");
    if (clock == NULL)
        return;
    imp_use(clock);
    const char *offset = imp_attr(im, clock, "offset");
    /* vmrun: local time under KVM (Windows), UTC under TCG (Linux). */
    const char *vmrun = im->kvm ? "localtime" : "utc";
    if (offset != NULL && strcmp(offset, vmrun) != 0)
        imp_note_attr(im, clock, "offset", IMPORT_NOT_SUPPORTED,
                      "vmrun runs the guest's clock in %s time", im->kvm ? "local" : "UTC");
    static const char *const zone[] = {"timezone", "adjustment", "basis"};
    for (size_t i = 0; i < ARRAY_SIZE(zone); i++)
        if (imp_peek(im, clock, zone[i]) != NULL)
            imp_note_attr(im, clock, zone[i], IMPORT_NOT_SUPPORTED,
                          "vmrun's guest clock starts from the host's time (%s)",
                          im->kvm ? "local" : "UTC");
    imp_each(t, clock, "timer")
    {
        imp_use(t);
        const char *name = imp_attr(im, t, "name");
        int present = imp_onoff(imp_attr(im, t, "present"));
        const char *tick = imp_attr(im, t, "tickpolicy");
        if (name == NULL) {
            imp_note(im, t, IMPORT_NOT_SUPPORTED, "a timer without a name");
            continue;
        }
        if (strcmp(name, "rtc") == 0 || strcmp(name, "pit") == 0) {
            /* vmrun: -rtc driftfix=slew (catchup) and kvm-pit delay. */
            const char *same = strcmp(name, "rtc") == 0 ? "catchup" : "delay";
            const char *track = imp_attr(im, t, "track");
            if (present == 0)
                imp_note(im, t, IMPORT_NOT_SUPPORTED, "the %s is always there", name);
            else if (tick != NULL && strcmp(tick, same) != 0)
                imp_note_attr(im, t, "tickpolicy", IMPORT_NOT_SUPPORTED,
                              "vmrun's %s tick policy is \"%s\"", name, same);
            if (track != NULL && strcmp(track, "guest") != 0)
                imp_note_attr(im, t, "track", IMPORT_NOT_SUPPORTED,
                              "the RTC follows the guest's clock");
        } else if (strcmp(name, "hpet") == 0) {
            if (present == 1)
                imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun's machine has no HPET (hpet=off)");
        } else if (strcmp(name, "hypervclock") == 0) {
            /* hv-time, with the Hyper-V flags (import_cpu.c). */
        } else if (strcmp(name, "kvmclock") == 0) {
            if (present >= 0) {
                cJSON *cpu = imp_section(im, "cpu");
                cJSON *f = cJSON_GetObjectItemCaseSensitive(cpu, "features");
                if (f == NULL)
                    f = imp_set_obj(im, cpu, "features");
                imp_set_bool(im, f, "kvmclock", present == 1);
            }
        } else if (strcmp(name, "tsc") == 0) {
            const char *mode = imp_attr(im, t, "mode");
            if (present == 0)
                imp_note(im, t, IMPORT_NOT_SUPPORTED, "the TSC is always there");
            if (imp_peek(im, t, "frequency") != NULL)
                imp_note_attr(im, t, "frequency", IMPORT_NOT_SUPPORTED,
                              "vmrun leaves the TSC at the host's frequency");
            if (mode != NULL && strcmp(mode, "native") != 0 && strcmp(mode, "auto") != 0)
                imp_note_attr(im, t, "mode", IMPORT_NOT_SUPPORTED, "the TSC runs natively");
        } else {
            imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun cannot set this timer");
        }
    }
}
