/* The XML side of the importer: finding elements and attributes, marking
 * what a mapper read, the notes, and the final report of what nothing read.
 * A node is marked read through libxml2's _private pointer, which libxml2
 * leaves to applications. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import_internal.h"

static char read_mark;
#define READ ((void *)&read_mark)

static bool is_libvirt(xmlNodePtr n)
{
    return n->type == XML_ELEMENT_NODE && n->ns == NULL;
}

xmlNodePtr imp_next(xmlNodePtr c, const char *name)
{
    for (c = c->next; c != NULL; c = c->next)
        if (is_libvirt(c) && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

xmlNodePtr imp_kid(xmlNodePtr n, const char *name)
{
    if (n == NULL)
        return NULL;
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        if (is_libvirt(c) && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

char *imp_keep(struct imp *im, char *s)
{
    if (s == NULL) {
        im->oom = true;
        return NULL;
    }
    if (im->n_arena == im->cap_arena) {
        size_t cap = im->cap_arena ? im->cap_arena * 2 : 64;
        char **a = realloc(im->arena, cap * sizeof(*a));
        if (a == NULL) {
            free(s);
            im->oom = true;
            return NULL;
        }
        im->arena = a;
        im->cap_arena = cap;
    }
    im->arena[im->n_arena++] = s;
    return s;
}

static xmlAttrPtr find_attr(xmlNodePtr n, const char *name)
{
    if (n == NULL)
        return NULL;
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

static const char *attr_value(struct imp *im, xmlAttrPtr a)
{
    xmlChar *v = xmlNodeListGetString(im->doc, a->children, 1);
    if (v == NULL)
        return imp_keep(im, strdup(""));
    return imp_keep(im, (char *)v);
}

const char *imp_peek(struct imp *im, xmlNodePtr n, const char *name)
{
    xmlAttrPtr a = find_attr(n, name);
    return a != NULL ? attr_value(im, a) : NULL;
}

const char *imp_attr(struct imp *im, xmlNodePtr n, const char *name)
{
    xmlAttrPtr a = find_attr(n, name);
    if (a == NULL)
        return NULL;
    a->_private = READ;
    return attr_value(im, a);
}

const char *imp_text(struct imp *im, xmlNodePtr n)
{
    imp_use(n);
    xmlChar *v = xmlNodeGetContent(n);
    if (v == NULL)
        return imp_keep(im, strdup(""));
    char *s = (char *)v;
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
        s[--len] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, len - lead + 1);
    return imp_keep(im, s);
}

void imp_use(xmlNodePtr n)
{
    if (n != NULL)
        n->_private = READ;
}

void imp_use_all(xmlNodePtr n)
{
    if (n == NULL)
        return;
    n->_private = READ;
    if (n->type == XML_ELEMENT_NODE)
        for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
            a->_private = READ;
    for (xmlNodePtr c = n->children; c != NULL; c = c->next)
        imp_use_all(c);
}

bool imp_used(xmlNodePtr n)
{
    return n != NULL && n->_private == READ;
}

int imp_onoff(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "on") == 0 || strcmp(s, "yes") == 0)
        return 1;
    if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0)
        return 0;
    return -1;
}

bool imp_path_ok(const char *s)
{
    if (s == NULL || s[0] != '/' || strlen(s) > 4000)
        return false;
    for (const char *c = s; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* "<name key='value'>": the element and the attribute that tells which one
 * it is, as a user would find it in the file. */
static void describe(struct imp *im, xmlNodePtr n, char *buf, size_t len)
{
    static const char *const keys[] = {"type", "model", "name", "bus", "device", "mode", "dev"};
    char name[96];
    if (n->ns != NULL && n->ns->prefix != NULL)
        snprintf(name, sizeof(name), "%s:%s", (const char *)n->ns->prefix, (const char *)n->name);
    else
        snprintf(name, sizeof(name), "%s", (const char *)n->name);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        xmlAttrPtr a = find_attr(n, keys[i]);
        if (a == NULL)
            continue;
        const char *v = attr_value(im, a);
        snprintf(buf, len, "<%s %s='%.60s'>", name, keys[i], v != NULL ? v : "");
        return;
    }
    snprintf(buf, len, "<%s>", name);
}

/* A note is one line of text: control characters from the XML (a
 * character reference such as &#10; survives parsing) become '?'. */
static void one_line(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static void add_note_str(struct imp *im, unsigned line, enum import_kind kind, const char *what,
                         const char *why)
{
    if (im->n_notes == im->cap_notes) {
        size_t cap = im->cap_notes ? im->cap_notes * 2 : 32;
        struct import_note *n = realloc(im->notes, cap * sizeof(*n));
        if (n == NULL) {
            im->oom = true;
            return;
        }
        im->notes = n;
        im->cap_notes = cap;
    }
    struct import_note *note = &im->notes[im->n_notes];
    note->line = line;
    note->kind = kind;
    note->what = strdup(what);
    note->why = strdup(why);
    if (note->what == NULL || note->why == NULL) {
        free(note->what);
        free(note->why);
        im->oom = true;
        return;
    }
    one_line(note->what);
    one_line(note->why);
    im->n_notes++;
}

__attribute__((format(printf, 5, 0))) static void add_note(struct imp *im, unsigned line,
                                                            enum import_kind kind,
                                                            const char *what, const char *fmt,
                                                            va_list ap)
{
    char why[1024];
    vsnprintf(why, sizeof(why), fmt, ap);
    add_note_str(im, line, kind, what, why);
}

void imp_note(struct imp *im, xmlNodePtr n, enum import_kind kind, const char *fmt, ...)
{
    char what[192];
    describe(im, n, what, sizeof(what));
    va_list ap;
    va_start(ap, fmt);
    add_note(im, (unsigned)xmlGetLineNo(n), kind, what, fmt, ap);
    va_end(ap);
    imp_use_all(n);
}

void imp_note_attr(struct imp *im, xmlNodePtr n, const char *name, enum import_kind kind,
                   const char *fmt, ...)
{
    /* The element by its name only: the attribute says the rest. */
    char el[160], what[320];
    if (n->ns != NULL && n->ns->prefix != NULL)
        snprintf(el, sizeof(el), "<%s:%s>", (const char *)n->ns->prefix, (const char *)n->name);
    else
        snprintf(el, sizeof(el), "<%s>", (const char *)n->name);
    const char *v = imp_attr(im, n, name);
    snprintf(what, sizeof(what), "%s %s='%.60s'", el, name, v != NULL ? v : "");
    va_list ap;
    va_start(ap, fmt);
    add_note(im, (unsigned)xmlGetLineNo(n), kind, what, fmt, ap);
    va_end(ap);
}

void imp_report_unread(struct imp *im, xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!imp_used(c)) {
            imp_note(im, c, IMPORT_NOT_SUPPORTED, "vmrun has no equivalent");
            continue;
        }
        for (xmlAttrPtr a = c->properties; a != NULL; a = a->next) {
            if (a->_private == READ)
                continue;
            char name[96];
            if (a->ns != NULL && a->ns->prefix != NULL)
                snprintf(name, sizeof(name), "%s:%s", (const char *)a->ns->prefix,
                         (const char *)a->name);
            else
                snprintf(name, sizeof(name), "%s", (const char *)a->name);
            if (a->ns == NULL) {
                imp_note_attr(im, c, name, IMPORT_NOT_SUPPORTED, "vmrun has no equivalent");
            } else {
                a->_private = READ;
                char el[160], what[320];
                describe(im, c, el, sizeof(el));
                snprintf(what, sizeof(what), "%s %s", el, name);
                add_note_str(im, (unsigned)xmlGetLineNo(c), IMPORT_NOT_SUPPORTED, what,
                             "vmrun has no equivalent");
            }
        }
        imp_report_unread(im, c);
    }
}
