/* libFuzzer harness for the UEFI variable store reader: a VM's own store
 * is written by the guest (through QEMU, as QEMU's user), so any bytes must
 * give a state or -EINVAL, never a crash, a read past the buffer or
 * undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/ovmf_vars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ovmf_vars_state s;
    struct vmrun_error err = {0};
    int r = ovmf_vars_parse(data, size, &s, &err);
    if (r != 0 && (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL))
        abort();
    if (r == 0 && s.n_variables > size / 60)
        abort(); /* every variable has a 60-byte header */
    char line[512];
    ovmf_vars_describe(&s, line, sizeof(line));
    return 0;
}
