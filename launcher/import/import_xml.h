/* Reading a domain XML safely with libxml2 (import_xml.c). */
#ifndef VMRUN_IMPORT_XML_H
#define VMRUN_IMPORT_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "base/diag.h"
#include "import/import.h"

/* Parse len bytes; 0 and *out (free with xmlFreeDoc), or -EINVAL with the
 * first problem in diags (its line and column), or -ENOMEM. */
int import_xml_read(const char *file, const char *data, size_t len, xmlDocPtr *out,
                    struct diag_list *diags);

#endif
