/* The step context's one helper (step.h). */
#include "journal/step.h"

#include <stdarg.h>
#include <stdio.h>

void host_prep_say(const struct host_prep *hp, const char *fmt, ...)
{
    if (hp == NULL || hp->say == NULL)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hp->say(hp->say_opaque, msg);
}
