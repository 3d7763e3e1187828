#include "profile/profile_json.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t pj_push_key(struct pj *pj, const char *key)
{
    size_t saved = pj->path_len;
    int n = snprintf(pj->path + saved, sizeof(pj->path) - saved, "%s%s", saved > 0 ? "." : "", key);
    if (n > 0)
        pj->path_len = strnlen(pj->path, sizeof(pj->path));
    return saved;
}

size_t pj_push_index(struct pj *pj, size_t i)
{
    size_t saved = pj->path_len;
    int n = snprintf(pj->path + saved, sizeof(pj->path) - saved, "[%zu]", i);
    if (n > 0)
        pj->path_len = strnlen(pj->path, sizeof(pj->path));
    return saved;
}

void pj_pop(struct pj *pj, size_t saved)
{
    pj->path_len = saved;
    pj->path[saved] = '\0';
}

static void vreport(struct pj *pj, enum diag_level level, struct jsonpos at, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));
static void vreport(struct pj *pj, enum diag_level level, struct jsonpos at, const char *fmt,
                    va_list ap)
{
    if (level == DIAG_ERROR) {
        if (pj->n_errors == PJ_MAX_ERRORS) {
            diag_add(pj->diags, DIAG_ERROR, pj->file, at.line, at.col, "",
                     "too many errors; not looking any further");
            pj->n_errors++;
        }
        if (pj->n_errors > PJ_MAX_ERRORS) {
            pj->diags->n_errors++; /* still counted: the profile stays refused */
            return;
        }
        pj->n_errors++;
    }
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    diag_add(pj->diags, level, pj->file, at.line, at.col, pj->path, "%s", msg);
}

static struct jsonpos value_pos(const struct pj *pj, const cJSON *node)
{
    struct jsonpos v;
    jsonpos_lookup(&pj->pos, node, NULL, &v);
    return v;
}

void pj_error(struct pj *pj, const cJSON *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(pj, DIAG_ERROR, value_pos(pj, node), fmt, ap);
    va_end(ap);
}

void pj_error_key(struct pj *pj, const cJSON *node, const char *fmt, ...)
{
    struct jsonpos k;
    jsonpos_lookup(&pj->pos, node, &k, NULL);
    va_list ap;
    va_start(ap, fmt);
    vreport(pj, DIAG_ERROR, k, fmt, ap);
    va_end(ap);
}

void pj_warning(struct pj *pj, const cJSON *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(pj, DIAG_WARNING, value_pos(pj, node), fmt, ap);
    va_end(ap);
}

void pj_error_at(struct pj *pj, struct jsonpos at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(pj, DIAG_ERROR, at, fmt, ap);
    va_end(ap);
}

void pj_quote(const char *s, char *buf, size_t len)
{
    /* Room for the quotes, "...", one escape and the NUL. */
    if (len < 16) {
        if (len > 0)
            buf[0] = '\0';
        return;
    }
    size_t at = 0, chars = 0;
    buf[at++] = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        bool starts_char = (*c & 0xc0) != 0x80;
        /* Room is checked on every byte: a run of UTF-8 continuation
         * bytes starts no character but still takes space. */
        if ((starts_char && chars == 40) || at + 12 > len) {
            memcpy(buf + at, "...", 3);
            at += 3;
            break;
        }
        chars += starts_char;
        if (*c == '"' || *c == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)*c;
        } else if (*c == '\n') {
            memcpy(buf + at, "\\n", 2);
            at += 2;
        } else if (*c == '\t') {
            memcpy(buf + at, "\\t", 2);
            at += 2;
        } else if (*c < 0x20 || *c == 0x7f) {
            at += (size_t)snprintf(buf + at, len - at, "\\u%04x", *c);
        } else {
            buf[at++] = (char)*c;
        }
    }
    buf[at++] = '"';
    buf[at] = '\0';
}

/* A whole number that fits in int64_t (no libm: the profile library links
 * cJSON only). NaN fails every comparison. */
static bool integral(double v)
{
    return v >= -9.2e18 && v <= 9.2e18 && (double)(int64_t)v == v;
}

void pj_describe(const cJSON *node, char *buf, size_t len)
{
    switch (node->type & 0xff) {
    case cJSON_False:
        snprintf(buf, len, "false");
        return;
    case cJSON_True:
        snprintf(buf, len, "true");
        return;
    case cJSON_NULL:
        snprintf(buf, len, "null");
        return;
    case cJSON_Number: {
        double v = node->valuedouble;
        if (integral(v) && v > -1e15 && v < 1e15)
            snprintf(buf, len, "%.0f", v);
        else
            snprintf(buf, len, "%g", v);
        return;
    }
    case cJSON_String:
        pj_quote(node->valuestring, buf, len);
        return;
    case cJSON_Array:
        snprintf(buf, len, "an array");
        return;
    case cJSON_Object:
        snprintf(buf, len, "an object");
        return;
    default:
        snprintf(buf, len, "an unknown value");
        return;
    }
}

/* Optimal string alignment distance (Levenshtein plus transpositions),
 * ignoring case; words longer than 64 characters are never close. */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 1000;
    unsigned d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            unsigned cost = ca != cb;
            unsigned best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

const char *pj_suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    unsigned best_d = 1000;
    for (const char *const *c = candidates; *c != NULL; c++) {
        unsigned d = edit_distance(word, *c);
        /* Short words are close only one edit apart; otherwise two. */
        unsigned limit = strlen(*c) <= 4 ? 1 : 2;
        if (d <= limit && d < best_d) {
            best = *c;
            best_d = d;
        }
    }
    return best;
}

const cJSON *pj_member(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    for (const cJSON *c = obj->child; c != NULL; c = c->next)
        if (c->string != NULL && strcmp(c->string, key) == 0)
            return c;
    return NULL;
}

static void list_names(const char *const *names, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (const char *const *n = names; *n != NULL && at < len; n++) {
        int w = snprintf(buf + at, len - at, "%s\"%s\"", n == names ? "" : ", ", *n);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

bool pj_object(struct pj *pj, const cJSON *node, const char *const *known)
{
    char got[128];
    if (!cJSON_IsObject(node)) {
        pj_describe(node, got, sizeof(got));
        pj_error(pj, node, "expected an object ({ ... }), got %s", got);
        return false;
    }
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        const char *key = c->string != NULL ? c->string : "";
        char quoted[128];
        pj_quote(key, quoted, sizeof(quoted));
        bool is_known = false;
        for (const char *const *k = known; *k != NULL; k++)
            is_known |= strcmp(*k, key) == 0;
        /* The path names the member as written, quoted when it is not a
         * plain word, so that a strange key cannot garble the message. */
        size_t saved;
        if (key[0] != '\0' && strspn(key, "abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$") == strlen(key))
            saved = pj_push_key(pj, key);
        else
            saved = pj_push_key(pj, quoted);
        if (!is_known && pj->n_errors > PJ_MAX_ERRORS) {
            /* No longer listed: spare the search for a suggestion. */
            pj_error_key(pj, c, "unknown key");
        } else if (!is_known) {
            const char *s = pj_suggest(key, known);
            if (s != NULL) {
                pj_error_key(pj, c, "unknown key %s; did you mean \"%s\"?", quoted, s);
            } else {
                char names[1024];
                list_names(known, names, sizeof(names));
                pj_error_key(pj, c, "unknown key %s; expected one of %s", quoted, names);
            }
        } else {
            for (const cJSON *e = node->child; e != c; e = e->next) {
                if (e->string != NULL && strcmp(e->string, key) == 0) {
                    struct jsonpos first;
                    jsonpos_lookup(&pj->pos, e, &first, NULL);
                    pj_error_key(pj, c, "duplicate key %s (first given at line %u)", quoted,
                                 first.line);
                    break;
                }
            }
        }
        pj_pop(pj, saved);
    }
    return true;
}

int pj_bool(struct pj *pj, const cJSON *node, bool *out)
{
    if (!cJSON_IsBool(node)) {
        char got[128];
        pj_describe(node, got, sizeof(got));
        pj_error(pj, node, "expected true or false, got %s", got);
        return -1;
    }
    *out = cJSON_IsTrue(node);
    return 1;
}

int pj_int(struct pj *pj, const cJSON *node, int64_t min, int64_t max, const char *expected,
           int64_t *out)
{
    char got[128];
    pj_describe(node, got, sizeof(got));
    double v = node->valuedouble;
    if (!cJSON_IsNumber(node) || !integral(v) || v < (double)min) {
        pj_error(pj, node, "expected %s, got %s", expected, got);
        return -1;
    }
    if (v > (double)max) {
        pj_error(pj, node, "expected %s, got %s (the largest allowed is %" PRId64 ")", expected,
                 got, max);
        return -1;
    }
    *out = (int64_t)v;
    return 1;
}

int pj_string(struct pj *pj, const cJSON *node, unsigned flags, const char *expected, char **out)
{
    char got[128];
    pj_describe(node, got, sizeof(got));
    if (!cJSON_IsString(node) || node->valuestring == NULL) {
        pj_error(pj, node, "expected %s, got %s", expected, got);
        return -1;
    }
    const char *s = node->valuestring;
    size_t n = strlen(s);
    if (n > PJ_MAX_STRING) {
        pj_error(pj, node, "expected %s of at most %d bytes, got %zu bytes", expected,
                 PJ_MAX_STRING, n);
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            pj_error(pj, node, "expected %s, got %s, which contains a control character (U+%04X)",
                     expected, got, *c);
            return -1;
        }
    }
    if ((flags & PJ_NONEMPTY) && n == 0) {
        pj_error(pj, node, "expected %s, got an empty string", expected);
        return -1;
    }
    if ((flags & PJ_NAME) && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789_.-") != n) {
        pj_error(pj, node, "expected %s (letters, digits, '_', '.' and '-' only), got %s", expected,
                 got);
        return -1;
    }
    if ((flags & PJ_NOCOMMA) && strchr(s, ',') != NULL) {
        pj_error(pj, node, "expected %s without ',' (QEMU would split the value there), got %s",
                 expected, got);
        return -1;
    }
    if ((flags & PJ_ABSPATH) && s[0] != '/') {
        pj_error(pj, node, "expected %s (an absolute path, starting with '/'), got %s", expected,
                 got);
        return -1;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        pj_error(pj, node, "out of memory");
        return -1;
    }
    free(*out);
    *out = copy;
    return 1;
}

int pj_enum(struct pj *pj, const cJSON *node, const char *const *names, int *out)
{
    char got[128], list[512];
    pj_describe(node, got, sizeof(got));
    list_names(names, list, sizeof(list));
    if (cJSON_IsString(node) && node->valuestring != NULL) {
        for (int i = 0; names[i] != NULL; i++) {
            if (strcmp(names[i], node->valuestring) == 0) {
                *out = i;
                return 1;
            }
        }
        const char *s = pj_suggest(node->valuestring, names);
        if (s != NULL) {
            pj_error(pj, node, "expected one of %s, got %s; did you mean \"%s\"?", list, got, s);
            return -1;
        }
    }
    pj_error(pj, node, "expected one of %s, got %s", list, got);
    return -1;
}

int pj_get_bool(struct pj *pj, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = pj_member(obj, key);
    if (v == NULL)
        return 0;
    size_t saved = pj_push_key(pj, key);
    int r = pj_bool(pj, v, out);
    pj_pop(pj, saved);
    return r;
}

int pj_get_int(struct pj *pj, const cJSON *obj, const char *key, int64_t min, int64_t max,
               const char *expected, int64_t *out)
{
    const cJSON *v = pj_member(obj, key);
    if (v == NULL)
        return 0;
    size_t saved = pj_push_key(pj, key);
    int r = pj_int(pj, v, min, max, expected, out);
    pj_pop(pj, saved);
    return r;
}

int pj_get_string(struct pj *pj, const cJSON *obj, const char *key, unsigned flags,
                  const char *expected, char **out)
{
    const cJSON *v = pj_member(obj, key);
    if (v == NULL)
        return 0;
    size_t saved = pj_push_key(pj, key);
    int r = pj_string(pj, v, flags, expected, out);
    pj_pop(pj, saved);
    return r;
}

int pj_get_enum(struct pj *pj, const cJSON *obj, const char *key, const char *const *names,
                int *out)
{
    const cJSON *v = pj_member(obj, key);
    if (v == NULL)
        return 0;
    size_t saved = pj_push_key(pj, key);
    int r = pj_enum(pj, v, names, out);
    pj_pop(pj, saved);
    return r;
}

void pj_missing(struct pj *pj, const cJSON *parent, const char *key, const char *expected)
{
    size_t saved = pj_push_key(pj, key);
    pj_error(pj, parent, "required key is missing; expected %s", expected);
    pj_pop(pj, saved);
}

bool pj_is_array(struct pj *pj, const cJSON *node, const char *expected)
{
    if (cJSON_IsArray(node))
        return true;
    char got[128];
    pj_describe(node, got, sizeof(got));
    pj_error(pj, node, "expected %s, got %s", expected, got);
    return false;
}

size_t pj_array_len(const cJSON *a)
{
    size_t n = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next)
        n++;
    return n;
}

bool pj_too_long(struct pj *pj, const cJSON *a, size_t n, size_t max)
{
    if (n <= max)
        return false;
    pj_error(pj, a, "expected at most %zu entries, got %zu", max, n);
    return true;
}

const cJSON **pj_items(const cJSON *a, size_t *n)
{
    *n = pj_array_len(a);
    const cJSON **items = calloc(*n + 1, sizeof(*items));
    if (items == NULL)
        return NULL;
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next)
        items[i++] = c;
    return items;
}

void *pj_list_open(struct pj *pj, const cJSON *root, const char *key, const char *expected,
                   size_t max, size_t elem, struct pj_list *l)
{
    memset(l, 0, sizeof(*l));
    l->array = pj_member(root, key);
    if (l->array == NULL)
        return NULL;
    l->saved = pj_push_key(pj, key);
    size_t n = pj_array_len(l->array);
    void *table = NULL;
    if (!pj_is_array(pj, l->array, expected) || pj_too_long(pj, l->array, n, max))
        goto fail;
    l->items = pj_items(l->array, &l->n);
    table = calloc(l->n + 1, elem);
    if (l->items == NULL || table == NULL) {
        pj_error(pj, l->array, "out of memory");
        goto fail;
    }
    return table;
fail:
    free(table);
    free(l->items);
    l->items = NULL;
    l->n = 0;
    pj_pop(pj, l->saved);
    return NULL;
}

int pj_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool pj_hexn(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = pj_hexval(s[i]);
        if (d < 0)
            return false;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return true;
}
