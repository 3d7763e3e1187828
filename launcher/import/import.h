/* vmrun import: a libvirt domain XML (`virsh dumpxml NAME`) turned into a
 * vmrun profile, with one note for everything that did not carry over.
 *
 * Pure: no file system, no host (but what the caller's usb_lookup, below,
 * says). The XML is read with libxml2 without
 * loading any DTD or external entity, with no entity substitution and a
 * DOCTYPE refused outright (a domain XML has none), so an entity bomb is an
 * error at its first line. The profile written always passes this build's
 * profile parser: import_domain() parses it before handing it out. */
#ifndef VMRUN_IMPORT_H
#define VMRUN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"

/* Domain XMLs are a few KiB to a few tens of KiB; past this the input is
 * not one, and is refused unread. */
#define IMPORT_MAX_BYTES (1024 * 1024)

enum import_kind {
    IMPORT_NOT_SUPPORTED, /* vmrun has no equivalent */
    IMPORT_HOST_SPECIFIC, /* names something of the libvirt host */
    IMPORT_MANUAL_STEP,   /* carried over once the user does something */
    IMPORT_WARNING,       /* carried over, but check it */
};

struct import_note {
    unsigned line;         /* the XML line of the element */
    enum import_kind kind;
    char *what;            /* "<memballoon model='virtio'>" */
    char *why;             /* one sentence, no final period */
};

struct import_result {
    char *profile; /* JSON text, ending in a newline */
    char *name;    /* the profile's name */
    struct import_note *notes; /* in line order */
    size_t n_notes;
};

/* The host USB device at bus and device number (libvirt's <source><address
 * bus= device=/>): 1 with its port path ("1-4.2") in port and a few words
 * on it ("046d:c52b Logitech USB Receiver") in what, 0 when there is
 * none. */
typedef int (*import_usb_lookup)(void *ctx, unsigned bus, unsigned device, char *port,
                                 size_t port_len, char *what, size_t what_len);

struct import_options {
    /* Write every key the mapping knows, even those this build's profile
     * schema lacks, and skip the final validation: for tests of the
     * mapping itself (a key another part of vmrun adds). */
    bool all_keys;
    /* Where a USB device named by bus and device number is plugged in now
     * (the import itself never looks at the host: the caller may); NULL:
     * such a device does not carry over. */
    import_usb_lookup usb_lookup;
    void *usb_ctx;
};

/* Import the domain XML in data (len bytes, not necessarily NUL-ended);
 * file names it in messages.
 * Returns 0 and fills *out (free with import_result_free);
 *   -EINVAL: not a usable domain XML; diags holds the error(s) with lines;
 *   -EPROTO: the profile written did not pass the profile parser (a defect
 *            of the mapping); diags holds the parser's errors;
 *   -ENOMEM. */
int import_domain(const char *file, const char *data, size_t len,
                  const struct import_options *opt, struct import_result *out,
                  struct diag_list *diags);

void import_result_free(struct import_result *r);

/* Notes that are losses (everything but warnings). */
size_t import_losses(const struct import_result *r);

/* "not supported", "host-specific", "needs a manual step", "warning". */
const char *import_kind_name(enum import_kind k);

#endif
