/* Where each value of a parsed JSON document sits in its text.
 *
 * cJSON keeps no positions, so after a successful parse this scanner walks
 * the raw text in document order alongside the cJSON tree and records the
 * line and column of every value and of every object member's key. Lines
 * and columns are 1-based; a column counts characters (UTF-8 sequences), so
 * it matches what an editor shows. The scanner trusts nothing: if the text
 * and the tree ever disagree it stops, and the nodes it did not reach have
 * no position (jsonpos_lookup fails) instead of a wrong one. */
#ifndef VMRUN_JSONPOS_H
#define VMRUN_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct jsonpos {
    unsigned line, col; /* 0, 0: unknown */
};

struct jsonpos_entry {
    const cJSON *node;
    struct jsonpos key;   /* the member's key; unknown for array elements and the root */
    struct jsonpos value; /* the first character of the value */
};

struct jsonpos_map {
    struct jsonpos_entry *e; /* sorted by node after jsonpos_build */
    size_t n, cap;
};

/* Record the positions of root and everything below it; text and len are
 * what root was parsed from. Returns 0, or -ENOMEM (the map is then
 * partial). */
int jsonpos_build(struct jsonpos_map *m, const char *text, size_t len, const cJSON *root);

/* The positions of node; false when the scanner did not reach it. */
bool jsonpos_lookup(const struct jsonpos_map *m, const cJSON *node, struct jsonpos *key,
                    struct jsonpos *value);

/* Line and column of byte offset off in text (off <= len). */
struct jsonpos jsonpos_at(const char *text, size_t len, size_t off);

void jsonpos_free(struct jsonpos_map *m);

/* Check that text is one strict JSON (RFC 8259) value and nothing else.
 * cJSON's error pointer is only near a syntax error (often one past it) and
 * says nothing of what is wrong, so the parser asks this checker first.
 * Returns true when the text is well formed; otherwise false with *at the
 * first offending character and msg what was expected there. depth_max
 * bounds nesting (cJSON's own limit). */
bool jsonpos_check_syntax(const char *text, size_t len, unsigned depth_max, struct jsonpos *at,
                          char *msg, size_t msg_len);

#endif
