/* Typed reading of a cJSON document with diagnostics: the layer between
 * cJSON and the profile schema (profile_parse.c). Every reader checks one
 * value, reports what is wrong with its file, line, column and JSON path,
 * and tells the caller whether the value was present. Internal to the
 * profile parser. */
#ifndef VMRUN_PROFILE_JSON_H
#define VMRUN_PROFILE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/diag.h"
#include "profile/jsonpos.h"

/* Past this many errors a file is clearly not a profile: stop listing. */
#define PJ_MAX_ERRORS 100
/* Longest string value accepted (paths, command lines, descriptions). */
#define PJ_MAX_STRING 4096

struct pj {
    const char *file;
    struct diag_list *diags;
    struct jsonpos_map pos;
    char path[512];
    size_t path_len;
    unsigned n_errors;
};

/* String checks (every string is also refused with a control character,
 * or longer than PJ_MAX_STRING bytes). */
enum {
    PJ_NONEMPTY = 1 << 0,
    PJ_NAME = 1 << 1,    /* only [A-Za-z0-9_.-]: read by QEMU as a bare word */
    PJ_NOCOMMA = 1 << 2, /* QEMU splits this value on ',' with no escape */
    PJ_ABSPATH = 1 << 3, /* starts with '/' */
};

/* Path stack: push returns the length to restore with pj_pop. */
size_t pj_push_key(struct pj *pj, const char *key);
size_t pj_push_index(struct pj *pj, size_t i);
void pj_pop(struct pj *pj, size_t saved);

/* Diagnostics at a node's value (or its key), under the current path. */
void pj_error(struct pj *pj, const cJSON *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pj_error_key(struct pj *pj, const cJSON *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pj_warning(struct pj *pj, const cJSON *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pj_error_at(struct pj *pj, struct jsonpos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short, quoted, escaped description of a value for "got ..." */
void pj_describe(const cJSON *node, char *buf, size_t len);
/* s quoted as JSON, cut to about 40 characters. */
void pj_quote(const char *s, char *buf, size_t len);

/* The closest of the candidates to word, or NULL when none is close. */
const char *pj_suggest(const char *word, const char *const *candidates);

/* First member named key (exact, case-sensitive). */
const cJSON *pj_member(const cJSON *obj, const char *key);

/* Check that node (at the current path) is an object whose keys are all in
 * known (NULL-terminated) and none repeated; unknown keys get the nearest
 * known key suggested. Returns false, after a diagnostic, when node is not
 * an object. */
bool pj_object(struct pj *pj, const cJSON *node, const char *const *known);

/* Readers of one value at the current path: 1 valid, -1 invalid (reported). */
int pj_bool(struct pj *pj, const cJSON *node, bool *out);
int pj_int(struct pj *pj, const cJSON *node, int64_t min, int64_t max, const char *expected,
           int64_t *out);
int pj_string(struct pj *pj, const cJSON *node, unsigned flags, const char *expected, char **out);
/* One of names (NULL-terminated); *out is its index. */
int pj_enum(struct pj *pj, const cJSON *node, const char *const *names, int *out);

/* The same for member key of obj, with the path pushed for the check: 0
 * when obj has no such member (out untouched). */
int pj_get_bool(struct pj *pj, const cJSON *obj, const char *key, bool *out);
int pj_get_int(struct pj *pj, const cJSON *obj, const char *key, int64_t min, int64_t max,
               const char *expected, int64_t *out);
int pj_get_string(struct pj *pj, const cJSON *obj, const char *key, unsigned flags,
                  const char *expected, char **out);
int pj_get_enum(struct pj *pj, const cJSON *obj, const char *key, const char *const *names,
                int *out);

/* A required member key of parent is missing: an error at parent, with the
 * path at key. */
void pj_missing(struct pj *pj, const cJSON *parent, const char *key, const char *expected);

/* Whether node is an array; when not, an error saying expected. */
bool pj_is_array(struct pj *pj, const cJSON *node, const char *expected);
/* The number of members of array (or object) a. */
size_t pj_array_len(const cJSON *a);
/* Caps on list lengths: far above any real machine, low enough that the
 * checks between entries stay cheap on any input. True, after an error,
 * when n is over max. */
bool pj_too_long(struct pj *pj, const cJSON *a, size_t n, size_t max);
/* a's members as a NULL-terminated array (free() it), *n their number;
 * NULL when out of memory. */
const cJSON **pj_items(const cJSON *a, size_t *n);

/* A list section of the profile ("disks", "pci", ...): its array, its
 * members and the path pushed at its key. */
struct pj_list {
    const cJSON *array;
    const cJSON **items; /* NULL-terminated; free() it */
    size_t n;
    size_t saved; /* pj_pop(pj, saved) once the entries are read */
};

/* Open root's list key: an array (else an error saying expected) of at
 * most max entries. Returns a zeroed table of n + 1 entries of elem bytes
 * for the caller's structs, with *l filled and the path at key; NULL when
 * the key is absent or after an error, with the path as it was. */
void *pj_list_open(struct pj *pj, const cJSON *root, const char *key, const char *expected,
                   size_t max, size_t elem, struct pj_list *l);

/* One hex digit's value, or -1. */
int pj_hexval(char c);
/* Exactly n hex digits at s into *out. */
bool pj_hexn(const char *s, size_t n, unsigned *out);

#endif
