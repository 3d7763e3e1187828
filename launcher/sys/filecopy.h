/* Copying an open file into a new file of vmrun's own (the UEFI variable
 * store made from its template, the log of a detached run kept). */
#ifndef VMRUN_FILECOPY_H
#define VMRUN_FILECOPY_H

#include "base/error.h"

/* Copy what is left to read of in (from names it in messages) into a new
 * file to, 0600 and the caller's, made exclusively and never through a
 * link; removed again when the copy fails half way. 0 or a negative errno
 * with err set. */
int file_copy_new(int in, const char *from, const char *to, struct vmrun_error *err);

#endif
