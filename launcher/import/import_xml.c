/* Reading the XML: libxml2 with everything that could reach outside the
 * bytes given turned off. No DTD is loaded (no XML_PARSE_DTDLOAD), no
 * entity is substituted (no XML_PARSE_NOENT), nothing is fetched from the
 * network (XML_PARSE_NONET), libxml2's own limits stay on (no
 * XML_PARSE_HUGE), and a DOCTYPE is refused at its line: libvirt writes
 * none, and an internal subset is where entity bombs ("billion laughs")
 * and external entities live. */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <string.h>

#include "import/import_xml.h"

struct read_ctx {
    const char *file;
    struct diag_list *diags;
    bool failed;
    bool doctype;
};

/* The parser's error, as a diagnostic at its line and column. Read from the
 * context after the parse rather than through a structured error callback:
 * the callback's type changed in libxml2 2.12 (it takes a const xmlError *),
 * and no one function fits both; xmlCtxtGetLastError's result fits a
 * const pointer in every version. The last error is where reading
 * stopped (a truncated file: "Premature end of data in tag ...", after the
 * complaint about the half-written attribute). */
static void report_error(struct read_ctx *rc, xmlParserCtxtPtr ctxt)
{
    const xmlError *e = xmlCtxtGetLastError(ctxt);
    if (e == NULL || e->level < XML_ERR_ERROR) {
        diag_add(rc->diags, DIAG_ERROR, rc->file, (unsigned)ctxt->input->line, 0, "",
                 "not well-formed XML");
        return;
    }
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "malformed XML");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (char *c = msg; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    diag_add(rc->diags, DIAG_ERROR, rc->file, e->line > 0 ? (unsigned)e->line : 0,
             e->int2 > 0 ? (unsigned)e->int2 : 0, "", "not well-formed XML: %s", msg);
}

static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                           const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    xmlParserCtxtPtr ctxt = ctx;
    struct read_ctx *rc = ctxt->_private;
    if (!rc->failed) {
        rc->failed = rc->doctype = true;
        diag_add(rc->diags, DIAG_ERROR, rc->file, (unsigned)xmlSAX2GetLineNumber(ctxt), 0, "",
                 "a <!DOCTYPE> declaration: a libvirt domain XML has none, and vmrun reads no "
                 "DTD or entity declaration");
    }
    xmlStopParser(ctxt);
}

int import_xml_read(const char *file, const char *data, size_t len, xmlDocPtr *out,
                    struct diag_list *diags)
{
    *out = NULL;
    if (len > IMPORT_MAX_BYTES) {
        diag_add(diags, DIAG_ERROR, file, 0, 0, "",
                 "more than %d bytes; a libvirt domain XML is a few KiB", IMPORT_MAX_BYTES);
        return -EINVAL;
    }
    if (len == 0) {
        diag_add(diags, DIAG_ERROR, file, 0, 0, "", "empty; expected a libvirt domain XML");
        return -EINVAL;
    }
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
    if (ctxt == NULL)
        return -ENOMEM;
    struct read_ctx rc = {.file = file, .diags = diags};
    ctxt->_private = &rc;
    ctxt->sax->internalSubset = refuse_doctype;
    /* No XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR or
     * XML_PARSE_HUGE. BIG_LINES: line numbers past 65535 stay right. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR |
                                XML_PARSE_BIG_LINES);
    xmlParseDocument(ctxt);
    xmlDocPtr doc = ctxt->myDoc;
    bool ok = ctxt->wellFormed && !rc.failed && doc != NULL;
    if (!ok && !rc.failed)
        report_error(&rc, ctxt);
    xmlFreeParserCtxt(ctxt);
    if (!ok) {
        xmlFreeDoc(doc);
        return -EINVAL;
    }
    *out = doc;
    return 0;
}
