/* The guest's LEDs over QEMU's VNC server (vnc_led.h). */
#include "host/input/vnc_led.h"

#include <errno.h>
#include <string.h>

/* QEMU's pseudo-encoding for the keyboard LED state. */
#define ENC_QEMU_LED_STATE (-261)

enum stage {
    ST_VERSION,    /* "RFB 003.00x\n" */
    ST_NSEC,       /* how many security types */
    ST_SECTYPES,   /* the types, one byte each */
    ST_SECRESULT,  /* 0: fine */
    ST_SERVERINIT, /* width, height, pixel format, name length */
    ST_MSG,        /* a server message's type */
    ST_FBU,        /* padding, number of rectangles */
    ST_RECT,       /* x, y, w, h, encoding */
    ST_LED,        /* the state byte */
    ST_CUTTEXT,    /* padding, length */
    ST_COLOURMAP,  /* padding, first colour, number of colours */
    ST_SKIP,       /* v->skip bytes, then ST_MSG */
    ST_DEAD,
};

void vnc_led_init(struct vnc_led *v)
{
    memset(v, 0, sizeof(*v));
    v->stage = ST_VERSION;
    v->need = 12;
    v->state = -1;
}

static void expect(struct vnc_led *v, int stage, size_t need)
{
    v->stage = stage;
    v->need = need;
    v->got = 0;
}

static int die(struct vnc_led *v, const char *why)
{
    v->stage = ST_DEAD;
    v->error = why;
    return -EPROTO;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void put(uint8_t *reply, size_t *len, const void *bytes, size_t n)
{
    if (*len + n <= VNC_LED_REPLY_MAX) {
        memcpy(reply + *len, bytes, n);
        *len += n;
    }
}

/* The next message, or what is left to pass over first. */
static void next_message(struct vnc_led *v)
{
    if (v->skip > 0) {
        v->stage = ST_SKIP;
        return;
    }
    expect(v, ST_MSG, 1);
}

/* One complete fixed-size part is in v->buf: act on it. */
static int step(struct vnc_led *v, uint8_t *reply, size_t *rlen)
{
    const uint8_t *b = v->buf;
    switch (v->stage) {
    case ST_VERSION:
        if (memcmp(b, "RFB 003.", 8) != 0 || b[11] != '\n')
            return die(v, "QEMU's VNC server did not greet as RFB 3.x");
        put(reply, rlen, "RFB 003.008\n", 12);
        expect(v, ST_NSEC, 1);
        return 0;
    case ST_NSEC:
        if (b[0] == 0)
            return die(v, "QEMU's VNC server refused the connection");
        v->rects = b[0];
        v->none_offered = 0;
        expect(v, ST_SECTYPES, 1);
        return 0;
    case ST_SECTYPES:
        if (b[0] == 1)
            v->none_offered = 1;
        if (--v->rects > 0) {
            expect(v, ST_SECTYPES, 1);
            return 0;
        }
        if (!v->none_offered)
            return die(v, "QEMU's VNC server offers no connection without authentication");
        put(reply, rlen, "\x01", 1);
        expect(v, ST_SECRESULT, 4);
        return 0;
    case ST_SECRESULT:
        if (be32(b) != 0)
            return die(v, "QEMU's VNC server refused the connection");
        put(reply, rlen, "\x01", 1); /* ClientInit: shared */
        expect(v, ST_SERVERINIT, 24);
        return 0;
    case ST_SERVERINIT: {
        /* SetEncodings: the LED state alone. */
        static const uint8_t enc[8] = {2, 0, 0, 1, 0xff, 0xff, 0xfe, 0xfb};
        put(reply, rlen, enc, sizeof(enc));
        v->skip = be32(b + 20); /* the desktop name */
        next_message(v);
        return 0;
    }
    case ST_MSG:
        switch (b[0]) {
        case 0:
            expect(v, ST_FBU, 3);
            return 0;
        case 1:
            expect(v, ST_COLOURMAP, 5);
            return 0;
        case 2: /* Bell */
            expect(v, ST_MSG, 1);
            return 0;
        case 3:
            expect(v, ST_CUTTEXT, 7);
            return 0;
        default:
            return die(v, "QEMU's VNC server sent a message vmrun did not ask for");
        }
    case ST_FBU:
        v->rects = be16(b + 1);
        if (v->rects == 0)
            expect(v, ST_MSG, 1);
        else
            expect(v, ST_RECT, 12);
        return 0;
    case ST_RECT:
        if ((int32_t)be32(b + 8) != ENC_QEMU_LED_STATE)
            return die(v, "QEMU's VNC server sent a picture vmrun did not ask for");
        expect(v, ST_LED, 1);
        return 0;
    case ST_LED: {
        int was = v->state;
        v->state = b[0] & (VNC_LED_SCROLL | VNC_LED_NUM | VNC_LED_CAPS);
        if (--v->rects > 0)
            expect(v, ST_RECT, 12);
        else
            expect(v, ST_MSG, 1);
        return v->state != was;
    }
    case ST_CUTTEXT:
        v->skip = be32(b + 3);
        next_message(v);
        return 0;
    case ST_COLOURMAP:
        v->skip = (uint64_t)be16(b + 3) * 6;
        next_message(v);
        return 0;
    default:
        return die(v, "the VNC conversation is over");
    }
}

int vnc_led_feed(struct vnc_led *v, const uint8_t *data, size_t len, uint8_t *reply,
                 size_t *reply_len)
{
    *reply_len = 0;
    int changed = 0;
    while (len > 0) {
        if (v->stage == ST_DEAD)
            return -EPROTO;
        if (v->stage == ST_SKIP) {
            size_t n = v->skip < len ? (size_t)v->skip : len;
            v->skip -= n;
            data += n;
            len -= n;
            if (v->skip == 0)
                expect(v, ST_MSG, 1);
            continue;
        }
        size_t n = v->need - v->got;
        if (n > len)
            n = len;
        memcpy(v->buf + v->got, data, n);
        v->got += n;
        data += n;
        len -= n;
        if (v->got < v->need)
            break;
        int r = step(v, reply, reply_len);
        if (r < 0)
            return r;
        changed |= r;
    }
    return v->stage == ST_DEAD ? -EPROTO : changed;
}
