/* Shared by the parts of the importer: the state of one import, the XML
 * helpers that mark what was read, and the notes. Every element and
 * attribute a mapper reads is marked; at the end, whatever no mapper read
 * is reported as not carried over (import_walk.c), so nothing of the XML is
 * dropped without a line saying so. */
#ifndef VMRUN_IMPORT_INTERNAL_H
#define VMRUN_IMPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdint.h>

#include "import/import.h"

#define LIBVIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

struct imp {
    const char *file;
    const struct import_options *opt;
    xmlDocPtr doc;
    xmlNodePtr dom; /* <domain> */
    cJSON *prof;    /* the profile being written */
    bool oom;

    struct import_note *notes;
    size_t n_notes, cap_notes;
    /* Strings handed out by the helpers, freed at the end. */
    char **arena;
    size_t n_arena, cap_arena;

    /* What several mappers need to know. */
    bool kvm;              /* domain type='kvm' */
    char name[65];         /* the profile's name */
    unsigned n_vcpus;
    unsigned n_iothreads;
    bool hugepages;
    bool want_hv_time;     /* <timer name='hypervclock' present='yes'/> */
    bool want_hv_crash;    /* <panic model='hyperv'/> */
    bool sysinfo_applied;  /* <os><smbios mode='sysinfo'/> */
    unsigned guest_addresses, first_address_line; /* summarised in one note */
    bool scsi_iothread;    /* a virtio-scsi controller with an iothread */
};

/* ---- XML (import_walk.c) ---------------------------------------------- */

/* First element child of n named name, in no namespace (libvirt's own). */
xmlNodePtr imp_kid(xmlNodePtr n, const char *name);
/* The next sibling element named name after c. */
xmlNodePtr imp_next(xmlNodePtr c, const char *name);
#define imp_each(c, parent, name) \
    for (xmlNodePtr c = imp_kid((parent), (name)); c != NULL; c = imp_next(c, (name)))

/* An attribute's value, marking it read; NULL when absent. */
const char *imp_attr(struct imp *im, xmlNodePtr n, const char *name);
/* The same without marking it. */
const char *imp_peek(struct imp *im, xmlNodePtr n, const char *name);
/* The element's text, trimmed, marking the element read; "" when empty. */
const char *imp_text(struct imp *im, xmlNodePtr n);
/* Mark the element read (not its attributes or children). */
void imp_use(xmlNodePtr n);
/* Mark the element, its attributes and everything inside read. */
void imp_use_all(xmlNodePtr n);
bool imp_used(xmlNodePtr n);

/* A note about element n (and everything in it, now marked read). */
void imp_note(struct imp *im, xmlNodePtr n, enum import_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A note about attribute name of n (now marked read). */
void imp_note_attr(struct imp *im, xmlNodePtr n, const char *name, enum import_kind kind,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Elements and attributes no mapper read, reported at the end. */
void imp_report_unread(struct imp *im, xmlNodePtr n);

/* "on"/"yes" -> 1, "off"/"no" -> 0, else -1. */
int imp_onoff(const char *s);
/* An absolute path of at most 4000 bytes without control characters: a
 * file name from the XML that the profile may carry. */
bool imp_path_ok(const char *s);
/* A string kept until the import ends. */
char *imp_keep(struct imp *im, char *s);

/* ---- the profile being written (import_domain.c) ------------------------ */

/* The member key of the profile's root, an object created on first use. */
cJSON *imp_section(struct imp *im, const char *key);
/* Add to an object or array; out of memory is remembered. */
void imp_set_str(struct imp *im, cJSON *obj, const char *key, const char *value);
void imp_set_num(struct imp *im, cJSON *obj, const char *key, double value);
void imp_set_bool(struct imp *im, cJSON *obj, const char *key, bool value);
cJSON *imp_set_obj(struct imp *im, cJSON *obj, const char *key);
cJSON *imp_array(struct imp *im, cJSON *obj, const char *key);
cJSON *imp_push_obj(struct imp *im, cJSON *array);
/* Is key (a dotted path, profile_key_known's form) one the profile can
 * take? Always yes with import_options.all_keys. */
bool imp_known(struct imp *im, const char *path);

/* ---- the mappers ---------------------------------------------------------- */

void imp_map_cpu(struct imp *im);      /* vcpu, cpu, cputune, iothreads, hyperv, kvm */
void imp_map_memory(struct imp *im);   /* memory, memoryBacking, numatune */
void imp_map_os(struct imp *im);       /* os, sysinfo, firmware */
void imp_map_clock(struct imp *im);    /* clock and timers */
void imp_map_devices(struct imp *im);  /* devices */
void imp_map_qemu_args(struct imp *im); /* qemu:commandline */

/* The Looking Glass resolution vmrun knows whose shared memory is exactly
 * bytes (import_devices.c), or NULL. */
const char *imp_lg_resolution(uint64_t bytes);

/* Pretty JSON text of the profile (import_json.c). NULL when out of memory. */
char *imp_json_print(const cJSON *root);

#endif
