/* Memory sizes as profiles write them: "16G", "512M", "2M", "1G". */
#ifndef VMRUN_SIZE_H
#define VMRUN_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parse a size: decimal digits, then an optional unit K, M, G or T (either
 * case; powers of 1024, as QEMU reads them), optionally followed by "iB" or
 * "B" ("16G", "16GiB", "16gb" are the same). No sign, no fraction, no
 * spaces; a bare number is bytes.
 * Returns 0, -EINVAL for anything else, -ERANGE when it exceeds 2^64-1. */
int size_parse(const char *s, uint64_t *out);

/* The shortest exact spelling: "16G", "512M", "1536K", "100" (bytes). */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
