/* libFuzzer harness for `vmrun import`: any bytes give either a profile
 * that vmrun's own parser accepts, with notes of one line each, or -EINVAL
 * with at least one error; never -EPROTO (a profile vmrun would refuse), a
 * crash, a leak or undefined behaviour. The corpus is the synthetic XMLs. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "import/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag_list d = {0};
    struct import_result r;
    int rc = import_domain("fuzz.xml", (const char *)data, size, NULL, &r, &d);
    check(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc == -EINVAL)
        check(d.n_errors > 0);
    if (rc == 0) {
        check(r.profile != NULL && r.name != NULL);
        for (size_t i = 0; i < r.n_notes; i++) {
            check(strchr(r.notes[i].what, '\n') == NULL);
            check(strchr(r.notes[i].why, '\n') == NULL);
            check(i == 0 || r.notes[i - 1].line <= r.notes[i].line);
        }
        import_result_free(&r);
    }
    diag_list_free(&d);
    return 0;
}
