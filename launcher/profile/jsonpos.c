#include "profile/jsonpos.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct scanner {
    const unsigned char *s;
    size_t len, off;
    unsigned line, col;
    struct jsonpos_map *m;
    int r; /* -ENOMEM once an entry could not be stored */
};

static void advance(struct scanner *sc)
{
    unsigned char c = sc->s[sc->off++];
    if (c == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((c & 0xc0) != 0x80) {
        /* UTF-8 continuation bytes do not start a new character. */
        sc->col++;
    }
}

static bool at_end(const struct scanner *sc)
{
    return sc->off >= sc->len;
}

/* cJSON skips every byte <= 32 between tokens, not only JSON's four
 * whitespace characters; so must the scanner to stay in step. */
static void skip_space(struct scanner *sc)
{
    while (!at_end(sc) && sc->s[sc->off] <= 32)
        advance(sc);
}

static bool eat(struct scanner *sc, char c)
{
    skip_space(sc);
    if (at_end(sc) || sc->s[sc->off] != (unsigned char)c)
        return false;
    advance(sc);
    return true;
}

static struct jsonpos here(const struct scanner *sc)
{
    return (struct jsonpos){sc->line, sc->col};
}

static void record(struct scanner *sc, const cJSON *node, struct jsonpos key, struct jsonpos value)
{
    struct jsonpos_map *m = sc->m;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct jsonpos_entry *e = realloc(m->e, cap * sizeof(*e));
        if (e == NULL) {
            sc->r = -ENOMEM;
            return;
        }
        m->e = e;
        m->cap = cap;
    }
    m->e[m->n++] = (struct jsonpos_entry){node, key, value};
}

/* A string token, as cJSON delimits it: up to the first '"' that is not
 * escaped. */
static bool skip_string(struct scanner *sc)
{
    if (at_end(sc) || sc->s[sc->off] != '"')
        return false;
    advance(sc);
    while (!at_end(sc) && sc->s[sc->off] != '"') {
        if (sc->s[sc->off] == '\\') {
            advance(sc);
            if (at_end(sc))
                return false;
        }
        advance(sc);
    }
    if (at_end(sc))
        return false;
    advance(sc);
    return true;
}

static bool skip_literal(struct scanner *sc, const char *lit)
{
    size_t n = strlen(lit);
    if (sc->len - sc->off < n || memcmp(sc->s + sc->off, lit, n) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        advance(sc);
    return true;
}

static bool scan_value(struct scanner *sc, const cJSON *node, struct jsonpos key)
{
    skip_space(sc);
    if (at_end(sc))
        return false;
    record(sc, node, key, here(sc));
    const struct jsonpos none = {0, 0};

    switch (node->type & 0xff) {
    case cJSON_False:
        return skip_literal(sc, "false");
    case cJSON_True:
        return skip_literal(sc, "true");
    case cJSON_NULL:
        return skip_literal(sc, "null");
    case cJSON_Number: {
        /* The characters cJSON hands to strtod. */
        size_t start = sc->off;
        while (!at_end(sc) && strchr("0123456789+-.eE", sc->s[sc->off]) != NULL &&
               sc->s[sc->off] != '\0')
            advance(sc);
        return sc->off > start;
    }
    case cJSON_String:
        return skip_string(sc);
    case cJSON_Array:
        if (!eat(sc, '['))
            return false;
        for (const cJSON *c = node->child; c != NULL; c = c->next) {
            if (!scan_value(sc, c, none))
                return false;
            if (c->next != NULL && !eat(sc, ','))
                return false;
        }
        return eat(sc, ']');
    case cJSON_Object:
        if (!eat(sc, '{'))
            return false;
        for (const cJSON *c = node->child; c != NULL; c = c->next) {
            skip_space(sc);
            struct jsonpos k = here(sc);
            if (!skip_string(sc) || !eat(sc, ':') || !scan_value(sc, c, k))
                return false;
            if (c->next != NULL && !eat(sc, ','))
                return false;
        }
        return eat(sc, '}');
    default:
        return false;
    }
}

static int cmp_entry(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct jsonpos_entry *)a)->node;
    uintptr_t y = (uintptr_t)((const struct jsonpos_entry *)b)->node;
    return x < y ? -1 : x > y;
}

int jsonpos_build(struct jsonpos_map *m, const char *text, size_t len, const cJSON *root)
{
    struct scanner sc = {.s = (const unsigned char *)text, .len = len, .line = 1, .col = 1, .m = m};
    /* cJSON skips a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        sc.off = 3;
    if (root != NULL)
        scan_value(&sc, root, (struct jsonpos){0, 0});
    if (m->n > 1)
        qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
    return sc.r;
}

bool jsonpos_lookup(const struct jsonpos_map *m, const cJSON *node, struct jsonpos *key,
                    struct jsonpos *value)
{
    struct jsonpos_entry probe = {.node = node};
    const struct jsonpos_entry *e =
        m->n > 0 ? bsearch(&probe, m->e, m->n, sizeof(*m->e), cmp_entry) : NULL;
    if (e == NULL) {
        if (key != NULL)
            *key = (struct jsonpos){0, 0};
        if (value != NULL)
            *value = (struct jsonpos){0, 0};
        return false;
    }
    if (key != NULL)
        *key = e->key;
    if (value != NULL)
        *value = e->value;
    return true;
}

struct jsonpos jsonpos_at(const char *text, size_t len, size_t off)
{
    struct scanner sc = {.s = (const unsigned char *)text, .len = len, .line = 1, .col = 1};
    if (off > len)
        off = len;
    while (sc.off < off)
        advance(&sc);
    return here(&sc);
}

void jsonpos_free(struct jsonpos_map *m)
{
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
}

/* ---- strict syntax check ------------------------------------------------ */

struct checker {
    struct scanner sc;
    unsigned depth, depth_max;
    const char *why;
};

/* Only JSON's four whitespace characters may surround tokens. */
static void check_space(struct checker *ck)
{
    while (!at_end(&ck->sc) && strchr(" \t\n\r", ck->sc.s[ck->sc.off]) != NULL &&
           ck->sc.s[ck->sc.off] != '\0')
        advance(&ck->sc);
}

static bool fail(struct checker *ck, const char *why)
{
    ck->why = why;
    return false;
}

static int peek(const struct checker *ck)
{
    return at_end(&ck->sc) ? -1 : ck->sc.s[ck->sc.off];
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool check_string(struct checker *ck)
{
    struct scanner start = ck->sc;
    advance(&ck->sc); /* the opening quote */
    for (;;) {
        int c = peek(ck);
        if (c < 0) {
            ck->sc = start;
            return fail(ck, "a string is never closed (a missing '\"'?)");
        }
        if (c == '"') {
            advance(&ck->sc);
            return true;
        }
        if (c < 0x20)
            return fail(ck, c == '\n' ? "a line break inside a string (a missing '\"'?)"
                                      : "a control character inside a string; write it as an "
                                        "escape such as \\t");
        if (c == '\\') {
            advance(&ck->sc);
            c = peek(ck);
            if (c >= 0 && strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
                advance(&ck->sc);
                continue;
            }
            if (c != 'u')
                return fail(ck, "an unknown escape in a string; JSON knows \\\" \\\\ \\/ \\b "
                                "\\f \\n \\r \\t and \\uXXXX");
            advance(&ck->sc);
            for (int i = 0; i < 4; i++) {
                c = peek(ck);
                if (c < 0 || strchr("0123456789abcdefABCDEF", c) == NULL || c == '\0')
                    return fail(ck, "\\u needs four hex digits");
                advance(&ck->sc);
            }
            continue;
        }
        advance(&ck->sc);
    }
}

static bool check_number(struct checker *ck)
{
    if (peek(ck) == '-')
        advance(&ck->sc);
    if (peek(ck) == '0') {
        advance(&ck->sc);
        if (is_digit(peek(ck)))
            return fail(ck, "a number with a leading zero");
    } else if (is_digit(peek(ck))) {
        while (is_digit(peek(ck)))
            advance(&ck->sc);
    } else {
        return fail(ck, "expected a digit after '-'");
    }
    if (peek(ck) == '.') {
        advance(&ck->sc);
        if (!is_digit(peek(ck)))
            return fail(ck, "expected a digit after the decimal point");
        while (is_digit(peek(ck)))
            advance(&ck->sc);
    }
    if (peek(ck) == 'e' || peek(ck) == 'E') {
        advance(&ck->sc);
        if (peek(ck) == '+' || peek(ck) == '-')
            advance(&ck->sc);
        if (!is_digit(peek(ck)))
            return fail(ck, "expected a digit in the exponent");
        while (is_digit(peek(ck)))
            advance(&ck->sc);
    }
    return true;
}

static bool check_value(struct checker *ck);

static bool check_container(struct checker *ck, bool object)
{
    const int close = object ? '}' : ']';
    if (++ck->depth > ck->depth_max)
        return fail(ck, "objects and arrays nested too deeply");
    advance(&ck->sc); /* '{' or '[' */
    check_space(ck);
    if (peek(ck) == close) {
        advance(&ck->sc);
        ck->depth--;
        return true;
    }
    for (;;) {
        check_space(ck);
        if (object) {
            if (peek(ck) != '"')
                return fail(ck, peek(ck) == '}' ? "expected a key after ','; JSON allows no "
                                                  "comma before '}'"
                                                : "expected a key in double quotes");
            if (!check_string(ck))
                return false;
            check_space(ck);
            if (peek(ck) != ':')
                return fail(ck, "expected ':' after the key");
            advance(&ck->sc);
            check_space(ck);
        } else if (peek(ck) == ']') {
            return fail(ck, "expected a value after ','; JSON allows no comma before ']'");
        }
        if (!check_value(ck))
            return false;
        check_space(ck);
        int c = peek(ck);
        if (c == close) {
            advance(&ck->sc);
            ck->depth--;
            return true;
        }
        if (c != ',')
            return fail(ck, object ? "expected ',' or '}' (a missing ','?)"
                                   : "expected ',' or ']' (a missing ','?)");
        advance(&ck->sc);
    }
}

static bool check_value(struct checker *ck)
{
    check_space(ck);
    int c = peek(ck);
    switch (c) {
    case '{':
        return check_container(ck, true);
    case '[':
        return check_container(ck, false);
    case '"':
        return check_string(ck);
    case 't':
        return skip_literal(&ck->sc, "true") || fail(ck, "expected a value (lowercase true?)");
    case 'f':
        return skip_literal(&ck->sc, "false") || fail(ck, "expected a value (lowercase false?)");
    case 'n':
        return skip_literal(&ck->sc, "null") || fail(ck, "expected a value (lowercase null?)");
    default:
        if (c == '-' || is_digit(c))
            return check_number(ck);
        if (c == '\'')
            return fail(ck, "JSON strings take double quotes, not single quotes");
        return fail(ck, c < 0 ? "the file ends where a value was expected"
                              : "expected a value (a string, number, object, array, true, "
                                "false or null)");
    }
}

bool jsonpos_check_syntax(const char *text, size_t len, unsigned depth_max, struct jsonpos *at,
                          char *msg, size_t msg_len)
{
    struct checker ck = {
        .sc = {.s = (const unsigned char *)text, .len = len, .line = 1, .col = 1},
        .depth_max = depth_max,
    };
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ck.sc.off = 3;
    bool ok = check_value(&ck);
    if (ok) {
        check_space(&ck);
        if (!at_end(&ck.sc))
            ok = fail(&ck, "expected the end of the file after the closing '}'");
    }
    if (ok)
        return true;
    *at = here(&ck.sc);
    snprintf(msg, msg_len, "%s", ck.why);
    return false;
}
