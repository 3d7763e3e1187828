/* The "network" section of a profile: the guest's network interfaces, each
 * user networking, a tap vmrun makes on a bridge, or an existing tap, with
 * its MAC address and device model. Pure, like the rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "profile/profile_sections.h"

const char *const profile_net_keys[] = {"type", "bridge", "tap", "mac", "model", NULL};
static const char *const net_type_names[] = {"user", "bridge", "tap", NULL};

static bool parse_mac(const char *s, char *out, size_t len)
{
    unsigned b[6];
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        if (!pj_hexn(s + 3 * i, 2, &b[i]) || (i < 5 && s[3 * i + 2] != ':'))
            return false;
    }
    snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return true;
}

static void parse_ifname(struct pj *pj, const cJSON *o, const char *key, char **out)
{
    const cJSON *v = pj_member(o, key);
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, key);
    const char *expected = "a network interface name (1-15 of [A-Za-z0-9_.-])";
    if (pj_string(pj, v, PJ_NONEMPTY | PJ_NAME, expected, out) > 0 && strlen(*out) > 15) {
        char got[128];
        pj_describe(v, got, sizeof(got));
        pj_error(pj, v, "expected %s, got %s", expected, got);
    }
    pj_pop(pj, saved);
}

void profile_parse_network(struct pj *pj, const cJSON *root, struct vm_profile *p,
                           struct profile_where *w)
{
    struct pj_list l;
    p->nets = pj_list_open(pj, root, "network", "an array of network interfaces", VM_NETS_MAX,
                           sizeof(*p->nets), &l);
    if (p->nets == NULL)
        return;
    size_t saved = l.saved, n = l.n;
    w->net_items = l.items;
    p->n_nets = n;
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = w->net_items[i];
        struct vm_net *net = &p->nets[i];
        size_t s2 = pj_push_index(pj, i);
        if (!pj_object(pj, o, profile_net_keys)) {
            pj_pop(pj, s2);
            continue;
        }
        int type;
        if (pj_get_enum(pj, o, "type", net_type_names, &type) > 0)
            net->type = (enum vm_net_type)type;
        parse_ifname(pj, o, "bridge", &net->bridge);
        parse_ifname(pj, o, "tap", &net->tap);
        const char *need = net->type == VM_NET_BRIDGE ? "bridge"
                           : net->type == VM_NET_TAP  ? "tap"
                                                      : NULL;
        if (need != NULL && pj_member(o, need) == NULL)
            pj_missing(pj, o, need, "a network interface name");
        const char *const ifkeys[] = {"bridge", "tap"};
        for (size_t k = 0; k < ARRAY_SIZE(ifkeys); k++) {
            const cJSON *v = pj_member(o, ifkeys[k]);
            if (v != NULL && (need == NULL || strcmp(need, ifkeys[k]) != 0)) {
                size_t s3 = pj_push_key(pj, ifkeys[k]);
                pj_error(pj, v, "is only for type \"%s\", and this interface is type \"%s\"",
                         ifkeys[k], net_type_names[net->type]);
                pj_pop(pj, s3);
            }
        }
        const cJSON *mac = pj_member(o, "mac");
        if (mac != NULL) {
            size_t s3 = pj_push_key(pj, "mac");
            const char *expected = "a unicast MAC address \"xx:xx:xx:xx:xx:xx\"";
            cleanup_free char *s = NULL;
            if (pj_string(pj, mac, PJ_NONEMPTY, expected, &s) > 0) {
                char norm[18];
                char got[128];
                pj_describe(mac, got, sizeof(got));
                if (!parse_mac(s, norm, sizeof(norm)) || (pj_hexval(norm[1]) & 1) != 0)
                    pj_error(pj, mac, "expected %s, got %s", expected, got);
                else
                    net->mac = strdup(norm);
            }
            pj_pop(pj, s3);
        }
        pj_get_string(pj, o, "model", PJ_NONEMPTY | PJ_NAME,
                      "a QEMU network device model such as \"virtio-net-pci\"", &net->model);
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}
