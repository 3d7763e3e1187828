/* Random hex identifiers for the ledgers' claims (hugepages, governor):
 * unique enough that two vmrun processes never pick the same one, with no
 * state of their own. */
#ifndef VMRUN_RANDOM_ID_H
#define VMRUN_RANDOM_ID_H

#include <stddef.h>

#include "base/error.h"

/* Fill id with hex_len random hex digits and a NUL (id holds hex_len + 1;
 * hex_len even, at most 64). Returns 0 or a negative errno from
 * getrandom(2). */
int random_hex_id(char *id, size_t hex_len, struct vmrun_error *err);

#endif
