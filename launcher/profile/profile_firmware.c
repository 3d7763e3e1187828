/* The "firmware" and "tpm" sections of a profile (profile_firmware.h).
 *
 * firmware: a profile asks for features (UEFI, Secure Boot, enrolled keys)
 * and vmrun picks the build from QEMU's firmware descriptors
 * (qemu/firmware.h); "code" and "vars_template" name a build instead. What
 * can be decided from the profile alone is checked here: a BIOS profile
 * with UEFI keys, enrolled keys without Secure Boot, a variables template
 * without the code it belongs to. What needs the files (does the named
 * code require SMM, does the template hold keys) is checked against the
 * host when the firmware is chosen.
 *
 * tpm: present turns on an emulated TPM 2.0 (swtpm); only its interface
 * model can be chosen. Pure, like the rest of the parser. */
#include "profile/profile_firmware.h"

#include <stdbool.h>
#include <stddef.h>

const char *const profile_firmware_keys[] = {
    "type", "secure_boot", "enrolled_keys", "code", "vars_template", NULL,
};
static const char *const firmware_type_names[] = {"bios", "uefi", NULL};
const char *const profile_tpm_keys[] = {"model", NULL};
static const char *const tpm_model_names[] = {"crb", "tis", NULL};

/* A key that only UEFI firmware has, given while firmware.type is "bios". */
static void bios_refuses(struct pj *pj, const cJSON *f, const char *key, const char *what)
{
    const cJSON *v = pj_member(f, key);
    size_t saved = pj_push_key(pj, key);
    pj_error(pj, v,
             "%s is UEFI's and firmware.type is \"bios\": set \"type\": \"uefi\" or "
             "remove it",
             what);
    pj_pop(pj, saved);
}

void profile_parse_firmware(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    p->firmware.type = VM_FIRMWARE_BIOS;
    const cJSON *f = pj_member(root, "firmware");
    if (f == NULL)
        return;
    size_t saved = pj_push_key(pj, "firmware");
    if (!pj_object(pj, f, profile_firmware_keys)) {
        pj_pop(pj, saved);
        return;
    }
    int type = -1;
    pj_get_enum(pj, f, "type", firmware_type_names, &type);
    pj_get_bool(pj, f, "secure_boot", &p->firmware.secure_boot);
    bool enrolled = p->firmware.secure_boot;
    bool enrolled_given = pj_get_bool(pj, f, "enrolled_keys", &enrolled) > 0;
    p->firmware.enrolled_keys = enrolled;
    pj_get_string(pj, f, "code", PJ_NONEMPTY, "the path of a UEFI firmware code file",
                  &p->firmware.code);
    pj_get_string(pj, f, "vars_template", PJ_NONEMPTY, "the path of a UEFI variables template",
                  &p->firmware.vars_template);

    /* Without a type, any key of UEFI's makes the firmware UEFI: naming a
     * build or asking for Secure Boot only makes sense there. */
    bool uefi_keys = pj_member(f, "code") != NULL || pj_member(f, "vars_template") != NULL ||
                     pj_member(f, "secure_boot") != NULL || pj_member(f, "enrolled_keys") != NULL;
    if (type == VM_FIRMWARE_UEFI || (type < 0 && uefi_keys))
        p->firmware.type = VM_FIRMWARE_UEFI;

    if (type == VM_FIRMWARE_BIOS) {
        if (pj_member(f, "code") != NULL)
            bios_refuses(pj, f, "code", "a firmware code file");
        if (pj_member(f, "vars_template") != NULL)
            bios_refuses(pj, f, "vars_template", "a variables template");
        if (p->firmware.secure_boot)
            bios_refuses(pj, f, "secure_boot", "Secure Boot");
        else if (enrolled_given && enrolled)
            bios_refuses(pj, f, "enrolled_keys", "a key store");
    } else if (enrolled_given && enrolled && !p->firmware.secure_boot) {
        size_t s2 = pj_push_key(pj, "enrolled_keys");
        pj_error(pj, pj_member(f, "enrolled_keys"),
                 "enrolled keys are for Secure Boot: set firmware.secure_boot true as well");
        pj_pop(pj, s2);
    }
    if (type != VM_FIRMWARE_BIOS && pj_member(f, "vars_template") != NULL &&
        pj_member(f, "code") == NULL) {
        size_t s2 = pj_push_key(pj, "vars_template");
        pj_error(pj, pj_member(f, "vars_template"),
                 "needs firmware.code: a variables template belongs to one firmware build");
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}

void profile_parse_tpm(struct pj *pj, const cJSON *root, struct vm_profile *p)
{
    const cJSON *t = pj_member(root, "tpm");
    if (t == NULL)
        return;
    size_t saved = pj_push_key(pj, "tpm");
    if (cJSON_IsBool(t)) {
        /* The common guess; say what the section looks like instead. */
        pj_error(pj, t,
                 "expected an object: {} turns on an emulated TPM 2.0, {\"model\": \"tis\"} "
                 "picks its interface; leave \"tpm\" out for none");
    } else if (pj_object(pj, t, profile_tpm_keys)) {
        p->tpm.present = true;
        p->tpm.model = VM_TPM_CRB;
        int model;
        if (pj_get_enum(pj, t, "model", tpm_model_names, &model) > 0)
            p->tpm.model = (enum vm_tpm_model)model;
    }
    pj_pop(pj, saved);
}
