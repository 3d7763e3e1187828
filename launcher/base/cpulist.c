/* CPU sets and their kernel text forms (cpulist.h). */
#include "base/cpulist.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cpuset_zero(struct cpuset_bits *s)
{
    memset(s, 0, sizeof(*s));
}

void cpuset_add(struct cpuset_bits *s, unsigned cpu)
{
    if (cpu < CPUSET_MAX)
        s->w[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

void cpuset_del(struct cpuset_bits *s, unsigned cpu)
{
    if (cpu < CPUSET_MAX)
        s->w[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool cpuset_has(const struct cpuset_bits *s, unsigned cpu)
{
    return cpu < CPUSET_MAX && (s->w[cpu / 64] >> (cpu % 64)) & 1;
}

size_t cpuset_count(const struct cpuset_bits *s)
{
    size_t n = 0;
    for (size_t i = 0; i < CPUSET_MAX / 64; i++)
        n += (size_t)__builtin_popcountll(s->w[i]);
    return n;
}

bool cpuset_empty(const struct cpuset_bits *s)
{
    return cpuset_count(s) == 0;
}

bool cpuset_equal(const struct cpuset_bits *a, const struct cpuset_bits *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

bool cpuset_intersects(const struct cpuset_bits *a, const struct cpuset_bits *b)
{
    for (size_t i = 0; i < CPUSET_MAX / 64; i++)
        if (a->w[i] & b->w[i])
            return true;
    return false;
}

void cpuset_remove_all(struct cpuset_bits *a, const struct cpuset_bits *b)
{
    for (size_t i = 0; i < CPUSET_MAX / 64; i++)
        a->w[i] &= ~b->w[i];
}

int cpuset_next(const struct cpuset_bits *s, unsigned from)
{
    for (unsigned c = from; c < CPUSET_MAX; c++)
        if (cpuset_has(s, c))
            return (int)c;
    return -1;
}

static int parse_cpu(const char **p, unsigned *out)
{
    if (!isdigit((unsigned char)**p))
        return -EINVAL;
    unsigned long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (unsigned long)(**p - '0');
        if (v >= CPUSET_MAX)
            return -EINVAL;
        (*p)++;
    }
    *out = (unsigned)v;
    return 0;
}

int cpulist_parse(const char *text, struct cpuset_bits *out)
{
    cpuset_zero(out);
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        unsigned lo, hi;
        if (parse_cpu(&p, &lo) < 0)
            return -EINVAL;
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_cpu(&p, &hi) < 0 || hi < lo)
                return -EINVAL;
        }
        for (unsigned c = lo; c <= hi; c++)
            cpuset_add(out, c);
        if (*p == ',') {
            p++;
            continue;
        }
        while (isspace((unsigned char)*p))
            p++;
        return *p == '\0' ? 0 : -EINVAL;
    }
}

int cpulist_format(const struct cpuset_bits *s, char *buf, size_t len)
{
    if (len == 0)
        return -ENAMETOOLONG;
    size_t used = 0;
    buf[0] = '\0';
    int c = cpuset_next(s, 0);
    while (c >= 0) {
        int end = c;
        while (end + 1 < CPUSET_MAX && cpuset_has(s, (unsigned)end + 1))
            end++;
        int n = end == c ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", c)
                         : snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, end);
        if (n < 0 || (size_t)n >= len - used)
            return -ENAMETOOLONG;
        used += (size_t)n;
        c = end + 1 < CPUSET_MAX ? cpuset_next(s, (unsigned)end + 1) : -1;
    }
    return 0;
}

int cpumask_parse(const char *text, struct cpuset_bits *out)
{
    cpuset_zero(out);
    const char *start = text;
    while (isspace((unsigned char)*start))
        start++;
    const char *end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    /* Walk the hex digits from the least significant end. */
    unsigned bit = 0;
    for (const char *p = end; p > start;) {
        p--;
        if (*p == ',')
            continue;
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return -EINVAL;
        for (int b = 0; b < 4; b++, bit++)
            if (d & (1 << b)) {
                if (bit >= CPUSET_MAX)
                    return -EINVAL;
                cpuset_add(out, bit);
            }
    }
    return 0;
}

int cpumask_format(const struct cpuset_bits *s, unsigned groups, char *buf, size_t len)
{
    int last = -1;
    for (int c = 0; c < CPUSET_MAX; c++)
        if (cpuset_has(s, (unsigned)c))
            last = c;
    unsigned need = last < 0 ? 1 : (unsigned)last / 32 + 1;
    if (groups < need)
        groups = need;
    if (groups > CPUSET_MAX / 32)
        groups = CPUSET_MAX / 32;
    size_t used = 0;
    for (unsigned g = groups; g-- > 0;) {
        uint32_t v = (uint32_t)(s->w[g / 2] >> ((g % 2) * 32));
        int n = snprintf(buf + used, len - used, "%s%08x", used ? "," : "", v);
        if (n < 0 || (size_t)n >= len - used)
            return -ENAMETOOLONG;
        used += (size_t)n;
    }
    return 0;
}
