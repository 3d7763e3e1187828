/* Parsing the keys of the display handoff and of device health: the
 * "handoff" object and pci[].reset_method (profiles/README.md). Internal to
 * the profile parser (profile_parse.c), which calls these with the JSON
 * path at the parent object. */
#ifndef VMRUN_PROFILE_HANDOFF_H
#define VMRUN_PROFILE_HANDOFF_H

#include <cjson/cJSON.h>

#include "profile/profile.h"
#include "profile/profile_json.h"

/* The kernel's reset method names (sysfs reset_method), NULL-terminated. */
extern const char *const profile_reset_method_names[];

/* The keys of the "handoff" object, NULL-terminated. */
extern const char *const profile_handoff_keys[];

/* "handoff" of root into p->handoff (defaults when absent). */
void profile_parse_handoff(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* "reset_method" of a pci[] entry: a method name or an array of them, kept
 * space-separated in *out (untouched when absent). */
void profile_parse_reset_method(struct pj *pj, const cJSON *entry, char **out);

#endif
