/* What a UEFI variable store says about Secure Boot, read from the file
 * itself: an OVMF VARS file (a template or a VM's own copy) is a firmware
 * volume holding edk2's authenticated variable store, and whether the
 * platform key (PK) is there decides between "enrolled keys" (Secure Boot
 * enforces signatures as soon as the firmware starts) and "setup mode" (it
 * checks nothing until someone enrolls keys).
 *
 * The layout, as edk2 writes it (facts of the format, checked against
 * Debian's OVMF_VARS_4M{,.ms,.snakeoil}.fd): a firmware volume header
 * ("_FVH" at offset 40, its header length at 48), then a variable store
 * header (the authenticated-variables GUID, a size, format 0x5a, state
 * 0xfe, 28 bytes in all), then variables 4-byte aligned, each a 60-byte
 * header (start id 0x55aa, state, attributes, counters, time, name and data
 * sizes, vendor GUID) followed by its UTF-16 name and data. A variable is
 * live when its state is VAR_ADDED (0x3f), or VAR_ADDED in a deletion not
 * yet finished (0x3e) when no later copy replaced it.
 *
 * Read-only and bounded: every size is checked against the file. */
#ifndef VMRUN_OVMF_VARS_H
#define VMRUN_OVMF_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct ovmf_vars_state {
    bool pk, kek, db, dbx;  /* which Secure Boot variables are set */
    int secure_boot_enable; /* OVMF's SecureBootEnable: 1, 0; -1 absent */
    bool ms_windows_ca;     /* db trusts Microsoft's Windows CA (2011 or 2023) */
    bool ms_uefi_ca;        /* db trusts Microsoft's third-party UEFI CA */
    size_t n_variables;     /* live variables */
};

/* Parse a variable store from memory. 0, or -EINVAL with err saying what
 * is not as expected. Pure. */
int ovmf_vars_parse(const unsigned char *data, size_t len, struct ovmf_vars_state *out,
                    struct vmrun_error *err);

/* Read and parse the file at path (at most 64 MiB). */
int ovmf_vars_read(const char *path, struct ovmf_vars_state *out, struct vmrun_error *err);

/* The same from an open file (read from its current offset; path names it
 * in messages). */
int ovmf_vars_read_fd(int fd, const char *path, struct ovmf_vars_state *out,
                      struct vmrun_error *err);

/* True when Secure Boot would enforce: keys enrolled (PK) and not turned
 * off through SecureBootEnable. */
bool ovmf_vars_enforcing(const struct ovmf_vars_state *s);

/* One line for messages: "enrolled keys (PK, KEK, db, dbx; db trusts
 * Microsoft's Windows CA)" or "setup mode: no platform key (PK) enrolled". */
void ovmf_vars_describe(const struct ovmf_vars_state *s, char *buf, size_t len);

#endif
