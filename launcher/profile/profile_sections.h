/* The sections of the profile schema, one file each (as import/ is laid
 * out), called by the tree walker in profile_parse.c in document order. Each
 * reads its key of the root into struct vm_profile with the checked readers
 * of profile_json.h and owns its key table, which profile_key_known() lists;
 * what it read that a check across sections needs goes into struct
 * profile_where. The firmware and tpm, access and handoff sections have
 * their own headers. Internal to the profile parser. */
#ifndef VMRUN_PROFILE_SECTIONS_H
#define VMRUN_PROFILE_SECTIONS_H

#include "profile/profile.h"
#include "profile/profile_json.h"

/* What the checks across keys need besides the values: the nodes the values
 * came from, to report at. A section fills what it read; profile_parse.c
 * frees the item arrays. */
struct profile_where {
    const cJSON *qemu_accel, *cpu, *cpu_model, *vcpus, *emulator, *iothreads, *hyperv, *vendor_id,
        *isolate, *dedicated, *idle_in_guest;
    const cJSON **vcpu_items, **pci_items, **disk_items, **net_items, **usb_items;
    bool topology_given;
};

/* "bootindex" of a pci[] or disks[] entry into *out (untouched when
 * absent); profile_parse.c checks that no two devices share one. */
void profile_parse_bootindex(struct pj *pj, const cJSON *obj, int *out);

/* name (by default the file name without ".json"), uuid and run_as
 * (profile_identity.c). */
void profile_parse_name(struct pj *pj, const cJSON *root, const char *file, struct vm_profile *p);
void profile_parse_uuid(struct pj *pj, const cJSON *root, struct vm_profile *p);
void profile_parse_run_as(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* qemu and boot (profile_qemu.c). */
extern const char *const profile_qemu_keys[];
extern const char *const profile_boot_keys[];
void profile_parse_qemu(struct pj *pj, const cJSON *root, struct vm_profile *p,
                        struct profile_where *w);
void profile_parse_boot(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* cpu (profile_cpu.c): every key but hyperv's object form and features,
 * which it hands to the two above. */
extern const char *const profile_cpu_keys[];
extern const char *const profile_pin_keys[];
void profile_parse_cpu(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w);
/* What spans cpu and qemu.accel (topology against pinning, KVM-only keys,
 * threads sharing a vCPU's CPU); after every section is read. */
void profile_check_cpu(struct pj *pj, struct vm_profile *p, const struct profile_where *w);

/* cpu.hyperv given as an object (profile_hyperv.c); node is that object,
 * the path is at "cpu.hyperv". */
void profile_parse_hyperv(struct pj *pj, const cJSON *node, struct vm_profile *p);

/* cpu.features (profile_cpu_features.c); the path is at "cpu.features". */
void profile_parse_cpu_features(struct pj *pj, const cJSON *node, struct vm_profile *p);

/* memory (profile_memory.c); missing is an error. */
extern const char *const profile_memory_keys[];
void profile_parse_memory(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* pci[] (profile_pci.c). */
extern const char *const profile_pci_keys[];
void profile_parse_pci(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w);

/* disks[] (profile_disks.c). */
extern const char *const profile_disk_keys[];
void profile_parse_disks(struct pj *pj, const cJSON *root, struct vm_profile *p,
                         struct profile_where *w);

/* network[] (profile_network.c). */
extern const char *const profile_net_keys[];
void profile_parse_network(struct pj *pj, const cJSON *root, struct vm_profile *p,
                           struct profile_where *w);

/* usb[] (profile_usb.c). */
extern const char *const profile_usb_keys[];
void profile_parse_usb(struct pj *pj, const cJSON *root, struct vm_profile *p,
                       struct profile_where *w);

/* input[] (profile_input.c). */
extern const char *const profile_input_keys[];
void profile_parse_input(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* audio (profile_audio.c). */
extern const char *const profile_audio_keys[];
void profile_parse_audio(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* looking_glass (profile_looking_glass.c). */
extern const char *const profile_looking_glass_keys[];
void profile_parse_looking_glass(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* shutdown (profile_shutdown.c); its default timeout when absent. */
extern const char *const profile_shutdown_keys[];
void profile_parse_shutdown(struct pj *pj, const cJSON *root, struct vm_profile *p);

/* smbios (profile_smbios.c); the path is at "smbios". */
void profile_parse_smbios(struct pj *pj, const cJSON *node, struct vm_profile *p);

#endif
