#include "sys/random_id.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

int random_hex_id(char *id, size_t hex_len, struct vmrun_error *err)
{
    unsigned char raw[32];
    size_t want = hex_len / 2;
    if (want > sizeof(raw) || hex_len % 2 != 0)
        return vmrun_failx(err, EINVAL, "an id of %zu hex digits", hex_len);
    size_t got = 0;
    while (got < want) {
        ssize_t n = getrandom(raw + got, want - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "getrandom");
        got += (size_t)n;
    }
    for (size_t i = 0; i < want; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    id[hex_len] = '\0';
    return 0;
}
