/* Access ACLs as extended attributes (priv_acl.h). */
#include "priv/priv_acl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#define XATTR_ACL "system.posix_acl_access"
#define ACL_VERSION 2u
/* The kernel's tags (include/uapi/linux/posix_acl.h). */
enum { TAG_USER_OBJ = 0x01, TAG_USER = 0x02, TAG_GROUP_OBJ = 0x04, TAG_GROUP = 0x08,
       TAG_MASK = 0x10, TAG_OTHER = 0x20 };
#define NO_ID 0xffffffffu

struct entry {
    uint16_t tag, perm;
    uint32_t id;
};

static void self_path(int fd, char *buf, size_t len)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int priv_acl_read(int fd, struct priv_acl *out)
{
    char p[64];
    self_path(fd, p, sizeof(p));
    out->len = 0;
    ssize_t n = getxattr(p, XATTR_ACL, out->data, sizeof(out->data));
    if (n < 0)
        return errno == ENODATA ? 0 : -errno;
    out->len = (size_t)n;
    return 0;
}

int priv_acl_write(int fd, const struct priv_acl *a)
{
    char p[64];
    self_path(fd, p, sizeof(p));
    if (a->len == 0)
        return removexattr(p, XATTR_ACL) == 0 || errno == ENODATA ? 0 : -errno;
    return setxattr(p, XATTR_ACL, a->data, a->len, 0) == 0 ? 0 : -errno;
}

/* Little-endian on disk and in the attribute, whatever the host. */
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static int decode(const struct priv_acl *a, struct entry *e, size_t max, size_t *n)
{
    if (a->len < 4 || (a->len - 4) % 8 != 0 || get32(a->data) != ACL_VERSION ||
        (a->len - 4) / 8 > max)
        return -EINVAL;
    *n = (a->len - 4) / 8;
    for (size_t i = 0; i < *n; i++) {
        const unsigned char *p = a->data + 4 + 8 * i;
        e[i].tag = (uint16_t)(p[0] | p[1] << 8);
        e[i].perm = (uint16_t)(p[2] | p[3] << 8);
        e[i].id = get32(p + 4);
    }
    return 0;
}

static void encode(const struct entry *e, size_t n, struct priv_acl *out)
{
    put32(out->data, ACL_VERSION);
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = out->data + 4 + 8 * i;
        p[0] = (unsigned char)e[i].tag;
        p[1] = (unsigned char)(e[i].tag >> 8);
        p[2] = (unsigned char)e[i].perm;
        p[3] = (unsigned char)(e[i].perm >> 8);
        put32(p + 4, e[i].id);
    }
    out->len = 4 + 8 * n;
}

int priv_acl_grant_user(const struct priv_acl *cur, mode_t mode, uid_t uid, unsigned perms,
                        struct priv_acl *out)
{
    enum { MAX = (PRIV_ACL_MAX - 4) / 8 };
    struct entry e[MAX];
    size_t n = 0;
    if (cur->len > 0) {
        int r = decode(cur, e, MAX, &n);
        if (r < 0)
            return r;
    } else {
        /* The minimal ACL a mode stands for. */
        e[n++] = (struct entry){TAG_USER_OBJ, (uint16_t)((mode >> 6) & 7), NO_ID};
        e[n++] = (struct entry){TAG_GROUP_OBJ, (uint16_t)((mode >> 3) & 7), NO_ID};
        e[n++] = (struct entry){TAG_OTHER, (uint16_t)(mode & 7), NO_ID};
    }
    /* The user's entry: widened, or added in its sorted place. */
    size_t at = n;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (e[i].tag == TAG_USER && e[i].id == uid) {
            e[i].perm |= (uint16_t)perms;
            found = true;
            break;
        }
        if (e[i].tag > TAG_USER || (e[i].tag == TAG_USER && e[i].id > uid)) {
            at = i;
            break;
        }
    }
    if (!found) {
        if (n == MAX)
            return -E2BIG;
        memmove(&e[at + 1], &e[at], (n - at) * sizeof(e[0]));
        e[at] = (struct entry){TAG_USER, (uint16_t)perms, (uint32_t)uid};
        n++;
    }
    /* The mask lets the whole group class through as it asks (what
     * setfacl computes), and exists once there is a named entry. */
    uint16_t mask = 0;
    size_t mask_at = n;
    for (size_t i = 0; i < n; i++) {
        if (e[i].tag == TAG_USER || e[i].tag == TAG_GROUP_OBJ || e[i].tag == TAG_GROUP)
            mask |= e[i].perm;
        if (e[i].tag == TAG_MASK)
            mask_at = i;
    }
    if (mask_at == n) {
        for (mask_at = 0; mask_at < n && e[mask_at].tag < TAG_MASK; mask_at++)
            ;
        if (n == MAX)
            return -E2BIG;
        memmove(&e[mask_at + 1], &e[mask_at], (n - mask_at) * sizeof(e[0]));
        n++;
    }
    e[mask_at] = (struct entry){TAG_MASK, mask, NO_ID};
    encode(e, n, out);
    return 0;
}

void priv_acl_to_hex(const struct priv_acl *a, char *hex, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < a->len && o + 3 <= len; i++, o += 2)
        snprintf(hex + o, 3, "%02x", a->data[i]);
    if (len > 0)
        hex[o < len ? o : len - 1] = '\0';
}

int priv_acl_from_hex(const char *hex, struct priv_acl *out)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > sizeof(out->data) || strspn(hex, "0123456789abcdef") != n)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        out->data[i] = (unsigned char)v;
    }
    out->len = n / 2;
    return 0;
}
