/* Status lines through the caller's callback (say.h). */
#include "base/say.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/error.h"

void vmrun_say(void (*say)(void *opaque, const char *msg), void *opaque, const char *fmt, ...)
{
    if (say == NULL)
        return;
    char msg[VMRUN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    say(opaque, msg);
}
