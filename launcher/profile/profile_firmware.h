/* Parsers of the "firmware" and "tpm" sections (profile_firmware.c), called
 * by profile_parse.c in document order. Internal to the profile parser. */
#ifndef VMRUN_PROFILE_FIRMWARE_H
#define VMRUN_PROFILE_FIRMWARE_H

#include <cjson/cJSON.h>

#include "profile/profile.h"
#include "profile/profile_json.h"

/* The keys of each section (for profile_key_known()). */
extern const char *const profile_firmware_keys[];
extern const char *const profile_tpm_keys[];

/* firmware.type ("bios" | "uefi"), secure_boot, enrolled_keys (default:
 * secure_boot), code, vars_template. type defaults to "bios" without the
 * section and to "uefi" when any of the other keys is given. */
void profile_parse_firmware(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* tpm: an object (present = on) with model "crb" (default) or "tis". */
void profile_parse_tpm(struct pj *pj, const cJSON *root, struct vm_profile *p);

#endif
