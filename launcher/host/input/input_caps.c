/* Input device capabilities (input_caps.h). */
#include "host/input/input_caps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/cleanup.h"

int input_caps_read(int fd, struct input_caps *c)
{
    memset(c, 0, sizeof(*c));
    int version;
    if (ioctl(fd, EVIOCGVERSION, &version) < 0)
        return -errno;
    if (ioctl(fd, EVIOCGNAME(sizeof(c->name) - 1), c->name) < 0)
        c->name[0] = '\0';
    if (ioctl(fd, EVIOCGID, &c->id) < 0)
        memset(&c->id, 0, sizeof(c->id));
    if (ioctl(fd, EVIOCGBIT(0, sizeof(c->ev)), c->ev) < 0)
        return -errno;
    static const struct {
        unsigned type;
        size_t off, len;
    } sets[] = {
        {EV_KEY, offsetof(struct input_caps, key), sizeof(((struct input_caps *)0)->key)},
        {EV_REL, offsetof(struct input_caps, rel), sizeof(((struct input_caps *)0)->rel)},
        {EV_ABS, offsetof(struct input_caps, abs), sizeof(((struct input_caps *)0)->abs)},
        {EV_MSC, offsetof(struct input_caps, msc), sizeof(((struct input_caps *)0)->msc)},
        {EV_LED, offsetof(struct input_caps, led), sizeof(((struct input_caps *)0)->led)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
        if (!input_bit(c->ev, sets[i].type))
            continue;
        uint8_t *bits = (uint8_t *)c + sets[i].off;
        if (ioctl(fd, EVIOCGBIT(sets[i].type, sets[i].len), bits) < 0)
            return -errno;
    }
    if (ioctl(fd, EVIOCGPROP(sizeof(c->prop)), c->prop) < 0)
        memset(c->prop, 0, sizeof(c->prop));
    for (unsigned a = 0; a <= ABS_MAX; a++)
        if (input_bit(c->abs, a) && ioctl(fd, EVIOCGABS(a), &c->absinfo[a]) < 0)
            input_bit_set(c->abs, a, false);
    for (unsigned a = 0; a <= ABS_MAX; a++)
        c->absinfo[a].value = 0; /* a state, not a capability */
    return 0;
}

static void or_bits(uint8_t *into, const uint8_t *from, size_t len)
{
    for (size_t i = 0; i < len; i++)
        into[i] |= from[i];
}

void input_caps_merge(struct input_caps *into, const struct input_caps *from)
{
    if (into->name[0] == '\0') {
        memcpy(into->name, from->name, sizeof(into->name));
        into->id = from->id;
    }
    or_bits(into->ev, from->ev, sizeof(into->ev));
    or_bits(into->key, from->key, sizeof(into->key));
    or_bits(into->rel, from->rel, sizeof(into->rel));
    or_bits(into->msc, from->msc, sizeof(into->msc));
    or_bits(into->led, from->led, sizeof(into->led));
    or_bits(into->prop, from->prop, sizeof(into->prop));
    for (unsigned a = 0; a <= ABS_MAX; a++)
        if (input_bit(from->abs, a) && !input_bit(into->abs, a)) {
            input_bit_set(into->abs, a, true);
            into->absinfo[a] = from->absinfo[a];
        }
}

void input_caps_for_virtual(struct input_caps *c)
{
    uint8_t keep[sizeof(c->ev)] = {0};
    static const unsigned kept[] = {EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC, EV_LED};
    for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
        if (input_bit(c->ev, kept[i]))
            input_bit_set(keep, kept[i], true);
    memcpy(c->ev, keep, sizeof(keep));
    input_bit_set(c->ev, EV_SYN, true);
    /* A set whose type is gone is gone with it. */
    if (!input_bit(c->ev, EV_KEY))
        memset(c->key, 0, sizeof(c->key));
    if (!input_bit(c->ev, EV_REL))
        memset(c->rel, 0, sizeof(c->rel));
    if (!input_bit(c->ev, EV_ABS)) {
        memset(c->abs, 0, sizeof(c->abs));
        memset(c->absinfo, 0, sizeof(c->absinfo));
    }
    if (!input_bit(c->ev, EV_MSC))
        memset(c->msc, 0, sizeof(c->msc));
    if (!input_bit(c->ev, EV_LED))
        memset(c->led, 0, sizeof(c->led));
}

void input_caps_generic(struct input_caps *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "keyboard and mouse");
    c->id.bustype = BUS_VIRTUAL;
    static const unsigned evs[] = {EV_SYN, EV_KEY, EV_REL, EV_MSC, EV_LED};
    for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
        input_bit_set(c->ev, evs[i], true);
    /* Every key of a keyboard (below the first button), and the keys
     * above the buttons that keyboards send (media, brightness, ...). */
    for (unsigned k = KEY_ESC; k < BTN_MISC; k++)
        input_bit_set(c->key, k, true);
    for (unsigned k = KEY_OK; k <= KEY_MICMUTE; k++)
        input_bit_set(c->key, k, true);
    for (unsigned b = BTN_LEFT; b <= BTN_TASK; b++)
        input_bit_set(c->key, b, true);
    static const unsigned rels[] = {REL_X, REL_Y, REL_WHEEL, REL_HWHEEL};
    for (size_t i = 0; i < ARRAY_SIZE(rels); i++)
        input_bit_set(c->rel, rels[i], true);
    input_bit_set(c->msc, MSC_SCAN, true);
    static const unsigned leds[] = {LED_NUML, LED_CAPSL, LED_SCROLLL};
    for (size_t i = 0; i < ARRAY_SIZE(leds); i++)
        input_bit_set(c->led, leds[i], true);
    input_bit_set(c->prop, INPUT_PROP_POINTER, true);
}

static bool all_zero(const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] != 0)
            return false;
    return true;
}

bool input_caps_empty(const struct input_caps *c)
{
    return all_zero(c->key, sizeof(c->key)) && all_zero(c->rel, sizeof(c->rel)) &&
           all_zero(c->abs, sizeof(c->abs));
}

bool input_caps_equal(const struct input_caps *a, const struct input_caps *b)
{
    if (strncmp(a->name, b->name, sizeof(a->name)) != 0 || memcmp(&a->id, &b->id, sizeof(a->id)) ||
        memcmp(a->ev, b->ev, sizeof(a->ev)) || memcmp(a->key, b->key, sizeof(a->key)) ||
        memcmp(a->rel, b->rel, sizeof(a->rel)) || memcmp(a->abs, b->abs, sizeof(a->abs)) ||
        memcmp(a->msc, b->msc, sizeof(a->msc)) || memcmp(a->led, b->led, sizeof(a->led)) ||
        memcmp(a->prop, b->prop, sizeof(a->prop)))
        return false;
    for (unsigned i = 0; i <= ABS_MAX; i++)
        if (input_bit(a->abs, i) &&
            (a->absinfo[i].minimum != b->absinfo[i].minimum ||
             a->absinfo[i].maximum != b->absinfo[i].maximum ||
             a->absinfo[i].fuzz != b->absinfo[i].fuzz || a->absinfo[i].flat != b->absinfo[i].flat ||
             a->absinfo[i].resolution != b->absinfo[i].resolution))
            return false;
    return true;
}

/* ---- the remembered form ------------------------------------------------ */

static cJSON *hex(const uint8_t *bits, size_t len)
{
    /* Trailing zero bytes are left out: short and readable. */
    while (len > 0 && bits[len - 1] == 0)
        len--;
    char buf[2 * INPUT_BITS_BYTES(KEY_MAX) + 1];
    for (size_t i = 0; i < len; i++)
        snprintf(buf + 2 * i, 3, "%02x", bits[i]);
    buf[2 * len] = '\0';
    return cJSON_CreateString(buf);
}

cJSON *input_caps_to_json(const struct input_caps *c)
{
    cJSON *j = cJSON_CreateObject();
    if (j == NULL)
        return NULL;
    cJSON_AddStringToObject(j, "name", c->name);
    const int ids[] = {c->id.bustype, c->id.vendor, c->id.product, c->id.version};
    cJSON_AddItemToObject(j, "id", cJSON_CreateIntArray(ids, 4));
    cJSON_AddItemToObject(j, "ev", hex(c->ev, sizeof(c->ev)));
    cJSON_AddItemToObject(j, "key", hex(c->key, sizeof(c->key)));
    cJSON_AddItemToObject(j, "rel", hex(c->rel, sizeof(c->rel)));
    cJSON_AddItemToObject(j, "abs", hex(c->abs, sizeof(c->abs)));
    cJSON_AddItemToObject(j, "msc", hex(c->msc, sizeof(c->msc)));
    cJSON_AddItemToObject(j, "led", hex(c->led, sizeof(c->led)));
    cJSON_AddItemToObject(j, "prop", hex(c->prop, sizeof(c->prop)));
    cJSON *abs = cJSON_AddArrayToObject(j, "absinfo");
    for (unsigned a = 0; a <= ABS_MAX; a++) {
        if (!input_bit(c->abs, a))
            continue;
        const struct input_absinfo *ai = &c->absinfo[a];
        const int v[] = {(int)a, ai->minimum, ai->maximum, ai->fuzz, ai->flat, ai->resolution};
        cJSON_AddItemToArray(abs, cJSON_CreateIntArray(v, 6));
    }
    return j;
}

static int unhex(const cJSON *j, const char *key, uint8_t *bits, size_t len)
{
    memset(bits, 0, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v))
        return -EINVAL;
    const char *s = v->valuestring;
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > len)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned byte = 0;
        for (int k = 0; k < 2; k++) {
            char ch = s[2 * i + (size_t)k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0)
                return -EINVAL;
            byte = byte * 16 + (unsigned)d;
        }
        bits[i] = (uint8_t)byte;
    }
    return 0;
}

/* A whole number in [min, max] from a JSON number. */
static bool whole(const cJSON *v, double min, double max, long *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max) ||
        v->valuedouble != (double)(long)v->valuedouble)
        return false;
    *out = (long)v->valuedouble;
    return true;
}

int input_caps_from_json(const cJSON *j, struct input_caps *c)
{
    memset(c, 0, sizeof(*c));
    if (!cJSON_IsObject(j))
        return -EINVAL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof(c->name))
        return -EINVAL;
    for (const char *p = name->valuestring; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return -EINVAL;
    snprintf(c->name, sizeof(c->name), "%s", name->valuestring);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsArray(id) || cJSON_GetArraySize(id) != 4)
        return -EINVAL;
    long v[4];
    for (int i = 0; i < 4; i++)
        if (!whole(cJSON_GetArrayItem(id, i), 0, 0xffff, &v[i]))
            return -EINVAL;
    c->id = (struct input_id){(uint16_t)v[0], (uint16_t)v[1], (uint16_t)v[2], (uint16_t)v[3]};
    if (unhex(j, "ev", c->ev, sizeof(c->ev)) < 0 || unhex(j, "key", c->key, sizeof(c->key)) < 0 ||
        unhex(j, "rel", c->rel, sizeof(c->rel)) < 0 ||
        unhex(j, "abs", c->abs, sizeof(c->abs)) < 0 ||
        unhex(j, "msc", c->msc, sizeof(c->msc)) < 0 ||
        unhex(j, "led", c->led, sizeof(c->led)) < 0 ||
        unhex(j, "prop", c->prop, sizeof(c->prop)) < 0)
        return -EINVAL;
    /* Every axis has its range, and every range an axis. */
    uint8_t seen[sizeof(c->abs)] = {0};
    const cJSON *axes = cJSON_GetObjectItemCaseSensitive(j, "absinfo");
    if (axes != NULL && !cJSON_IsArray(axes))
        return -EINVAL;
    const cJSON *ax;
    cJSON_ArrayForEach(ax, axes)
    {
        long f[6];
        if (!cJSON_IsArray(ax) || cJSON_GetArraySize(ax) != 6 ||
            !whole(cJSON_GetArrayItem(ax, 0), 0, ABS_MAX, &f[0]))
            return -EINVAL;
        for (int i = 1; i < 6; i++)
            if (!whole(cJSON_GetArrayItem(ax, i), -2147483648.0, 2147483647.0, &f[i]))
                return -EINVAL;
        unsigned code = (unsigned)f[0];
        if (!input_bit(c->abs, code) || input_bit(seen, code) || f[1] > f[2])
            return -EINVAL;
        input_bit_set(seen, code, true);
        c->absinfo[code] = (struct input_absinfo){.minimum = (int32_t)f[1],
                                                  .maximum = (int32_t)f[2],
                                                  .fuzz = (int32_t)f[3],
                                                  .flat = (int32_t)f[4],
                                                  .resolution = (int32_t)f[5]};
    }
    if (memcmp(seen, c->abs, sizeof(seen)) != 0)
        return -EINVAL;
    return 0;
}
