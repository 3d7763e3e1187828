/* Reading the arguments of a journal record back (for undo functions). A
 * record can come from a damaged or hand-edited journal, so every field is
 * checked for presence, type and range. */
#ifndef VMRUN_OPARGS_H
#define VMRUN_OPARGS_H

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>

static inline int oparg_long(const cJSON *args, const char *key, long min, long max, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    if (!cJSON_IsNumber(v))
        return -EINVAL;
    double d = v->valuedouble;
    if (!(d >= (double)min && d <= (double)max) || (double)(long)d != d)
        return -EINVAL;
    *out = (long)d;
    return 0;
}

static inline const char *oparg_string(const cJSON *args, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

#endif
