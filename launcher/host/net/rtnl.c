/* One rtnetlink request and its answer (rtnl.h). */
#include "host/net/rtnl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

#define RTNL_BUF 16384

/* Send one request and read until its answer: the ack, an error, or (for
 * a GET) the message, copied into reply. Returns 0 or a negative errno. */
static int transact(struct nlmsghdr *req, char *reply, size_t reply_len, size_t *got)
{
    cleanup_close int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock < 0)
        return -errno;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    req->nlmsg_seq = 1;
    if (sendto(sock, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    /* The kernel answers at once; a bound keeps a lost answer from
     * hanging vmrun. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[RTNL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        ssize_t n = recv(sock, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        /* NLMSG_NEXT steps through a char pointer, which clang's
         * -Wcast-align rejects; messages are NLMSG_ALIGN-ed, and n
         * stays signed so a short last message ends the walk. */
        for (struct nlmsghdr *h = (void *)buf;
             n >= (ssize_t)sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= (size_t)n;
             n -= (ssize_t)NLMSG_ALIGN(h->nlmsg_len),
                             h = (void *)((unsigned char *)h + NLMSG_ALIGN(h->nlmsg_len))) {
            if (h->nlmsg_seq != req->nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                    return -EPROTO;
                return e->error; /* 0: the ack */
            }
            if (reply == NULL || h->nlmsg_len > reply_len)
                return -EPROTO;
            memcpy(reply, h, h->nlmsg_len);
            *got = h->nlmsg_len;
            return 0;
        }
    }
}

/* The kernel's RTA_NEXT and IFLA_RTA step through char pointers, which
 * clang's -Wcast-align rejects; netlink attributes are 4-byte aligned by
 * the protocol (RTA_ALIGN), so stepping through void is exact. */
static const struct rtattr *rta_next(const struct rtattr *a, int *len)
{
    *len -= (int)RTA_ALIGN(a->rta_len);
    return (const void *)((const unsigned char *)a + RTA_ALIGN(a->rta_len));
}

static uint32_t rta_u32(const struct rtattr *a)
{
    uint32_t v;
    memcpy(&v, RTA_DATA(a), sizeof(v));
    return v;
}

static void parse_tun(const struct rtattr *data, struct rtnl_link *out)
{
    int len = (int)RTA_PAYLOAD(data);
    for (const struct rtattr *a = RTA_DATA(data); RTA_OK(a, len); a = rta_next(a, &len)) {
        if (a->rta_type == IFLA_TUN_OWNER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
            out->has_owner = true;
            out->owner = rta_u32(a);
        } else if (a->rta_type == IFLA_TUN_GROUP && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
            out->has_group = true;
            out->group = rta_u32(a);
        } else if (a->rta_type == IFLA_TUN_TYPE && RTA_PAYLOAD(a) >= 1) {
            /* IFF_TAP is 2, IFF_TUN 1 */
            out->tap = *(const uint8_t *)RTA_DATA(a) == 2;
        } else if (a->rta_type == IFLA_TUN_PERSIST && RTA_PAYLOAD(a) >= 1) {
            out->persist = *(const uint8_t *)RTA_DATA(a) != 0;
        }
    }
}

int rtnl_link_get(int ifindex, const char *name, struct rtnl_link *out)
{
    memset(out, 0, sizeof(*out));
    struct {
        struct nlmsghdr h;
        struct ifinfomsg ifi;
        char attrs[64];
    } req = {
        .h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
              .nlmsg_type = RTM_GETLINK,
              .nlmsg_flags = NLM_F_REQUEST},
        .ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
    };
    if (ifindex <= 0) {
        size_t n = name != NULL ? strlen(name) : 0;
        if (n == 0 || n >= IFNAMSIZ)
            return -ENODEV;
        struct rtattr *a = (void *)((unsigned char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
        a->rta_type = IFLA_IFNAME;
        a->rta_len = (unsigned short)RTA_LENGTH(n + 1);
        memcpy(RTA_DATA(a), name, n + 1);
        req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
    }
    char reply[RTNL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t got = 0;
    int r = transact(&req.h, reply, sizeof(reply), &got);
    if (r < 0)
        return r == -ENOENT ? -ENODEV : r;
    const struct nlmsghdr *h = (const struct nlmsghdr *)reply;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return -EPROTO;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    out->ifindex = ifi->ifi_index;
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a =
             (const void *)((const unsigned char *)ifi + NLMSG_ALIGN(sizeof(*ifi)));
         RTA_OK(a, len); a = rta_next(a, &len)) {
        if (a->rta_type == IFLA_IFNAME)
            snprintf(out->name, sizeof(out->name), "%.*s", (int)RTA_PAYLOAD(a),
                     (const char *)RTA_DATA(a));
        if (a->rta_type != IFLA_LINKINFO)
            continue;
        int ilen = (int)RTA_PAYLOAD(a);
        for (const struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = rta_next(i, &ilen)) {
            if (i->rta_type == IFLA_INFO_KIND)
                snprintf(out->kind, sizeof(out->kind), "%.*s", (int)RTA_PAYLOAD(i),
                         (const char *)RTA_DATA(i));
            else if (i->rta_type == IFLA_INFO_DATA)
                parse_tun(i, out);
        }
    }
    return 0;
}

int rtnl_link_delete(int ifindex)
{
    if (ifindex <= 0)
        return -ENODEV;
    struct {
        struct nlmsghdr h;
        struct ifinfomsg ifi;
    } req = {
        .h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
              .nlmsg_type = RTM_DELLINK,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK},
        .ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
    };
    int r = transact(&req.h, NULL, 0, NULL);
    return r == -ENOENT ? -ENODEV : r;
}

unsigned long rtnl_netns_id(void)
{
    struct stat st;
    return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}
