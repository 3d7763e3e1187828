/* The profile as text: two-space indentation like the example profiles,
 * arrays of numbers and strings on one line, every object member on its
 * own line. cJSON prints strings and numbers; this only lays them out. */
#include <stdlib.h>
#include <string.h>

#include "import/import_internal.h"

struct buf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        puts_(b, "  ");
}

static void scalar(struct buf *b, const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (s == NULL) {
        b->oom = true;
        return;
    }
    puts_(b, s);
    free(s);
}

static bool all_scalars(const cJSON *a)
{
    for (const cJSON *c = a->child; c != NULL; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            return false;
    return true;
}

static void value(struct buf *b, const cJSON *v, int depth)
{
    if (cJSON_IsObject(v)) {
        if (v->child == NULL) {
            puts_(b, "{}");
            return;
        }
        puts_(b, "{\n");
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            indent(b, depth + 1);
            cJSON *key = cJSON_CreateString(c->string);
            if (key == NULL) {
                b->oom = true;
                return;
            }
            scalar(b, key);
            cJSON_Delete(key);
            puts_(b, ": ");
            value(b, c, depth + 1);
            puts_(b, c->next != NULL ? ",\n" : "\n");
        }
        indent(b, depth);
        puts_(b, "}");
    } else if (cJSON_IsArray(v)) {
        if (all_scalars(v)) {
            puts_(b, "[");
            for (const cJSON *c = v->child; c != NULL; c = c->next) {
                scalar(b, c);
                if (c->next != NULL)
                    puts_(b, ", ");
            }
            puts_(b, "]");
            return;
        }
        puts_(b, "[\n");
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            indent(b, depth + 1);
            value(b, c, depth + 1);
            puts_(b, c->next != NULL ? ",\n" : "\n");
        }
        indent(b, depth);
        puts_(b, "]");
    } else {
        scalar(b, v);
    }
}

char *imp_json_print(const cJSON *root)
{
    struct buf b = {0};
    value(&b, root, 0);
    puts_(&b, "\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
