/* <devices>: disks, network interfaces, passed-through PCI and USB
 * devices, evdev input, Looking Glass shared memory, sound, TPM, display,
 * serial port, and what vmrun lays out itself (controllers, addresses). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "import/import_internal.h"
#include "profile/profile.h"

#define SATA_PORTS 6

/* Guest-side addresses and the controllers of libvirt's PCI topology: vmrun
 * lays out its own; they are counted for one summary note. */
static void guest_address(struct imp *im, xmlNodePtr dev)
{
    imp_each(a, dev, "address")
    {
        if (imp_used(a))
            continue;
        imp_use_all(a);
        if (im->guest_addresses++ == 0)
            im->first_address_line = (unsigned)xmlGetLineNo(a);
    }
    imp_each(a, dev, "alias") imp_use_all(a); /* a running domain's names */
}

static int parse_boot_order(struct imp *im, xmlNodePtr dev)
{
    xmlNodePtr b = imp_kid(dev, "boot");
    if (b == NULL || imp_used(b)) /* a repeated order, already noted */
        return -1;
    imp_use(b);
    imp_attr(im, b, "loadparm");
    const char *o = imp_attr(im, b, "order");
    long v = o != NULL ? strtol(o, NULL, 10) : -1;
    if (v < 0 || v > 9999) {
        imp_note(im, b, IMPORT_NOT_SUPPORTED, "a boot order is 0-9999");
        return -1;
    }
    return (int)v;
}

/* libvirt refuses a domain that gives one boot order to two devices, and
 * vmrun's profile check refuses a bootindex used twice: the first device in
 * the XML keeps it, a later one is noted. Only disks and PCI devices count,
 * the devices vmrun boots from. */
static void note_repeated_boot_orders(struct imp *im, xmlNodePtr devs)
{
    unsigned char seen[10000 / 8 + 1] = {0};
    for (xmlNodePtr c = devs->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->ns != NULL)
            continue;
        const char *name = (const char *)c->name;
        const char *type = imp_peek(im, c, "type");
        if (strcmp(name, "disk") != 0 &&
            !(strcmp(name, "hostdev") == 0 && type != NULL && strcmp(type, "pci") == 0))
            continue;
        xmlNodePtr b = imp_kid(c, "boot");
        const char *o = b != NULL ? imp_peek(im, b, "order") : NULL;
        long v = o != NULL ? strtol(o, NULL, 10) : -1;
        if (v < 0 || v > 9999) /* parse_boot_order notes it */
            continue;
        unsigned char bit = (unsigned char)(1u << (v % 8));
        if (seen[v / 8] & bit)
            imp_note(im, b, IMPORT_NOT_SUPPORTED,
                     "boot order %ld is already given to a device before it", v);
        seen[v / 8] |= bit;
    }
}

/* ---- disks ----------------------------------------------------------------------- */

struct disk {
    xmlNodePtr el;
    cJSON *json;
    int bus_rank;      /* libvirt's disk bus order, for <os><boot dev=...> */
    const char *dev;   /* target dev, e.g. "sda" */
    bool cdrom;
    bool ordered;      /* <boot order> given */
};

/* libvirt keeps disks sorted by bus (its enum order) and then by target
 * name; <boot dev='hd'> means the first disk of that order. */
static int bus_rank(const char *bus)
{
    static const char *const order[] = {"ide", "fdc", "scsi", "virtio", "xen", "usb", "uml",
                                        "sata", "sd"};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        if (bus != NULL && strcmp(bus, order[i]) == 0)
            return (int)i;
    return 99;
}

static int disk_cmp(const struct disk *a, const struct disk *b)
{
    if (a->bus_rank != b->bus_rank)
        return a->bus_rank - b->bus_rank;
    size_t la = a->dev ? strlen(a->dev) : 0, lb = b->dev ? strlen(b->dev) : 0;
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a->dev ? a->dev : "", b->dev ? b->dev : "");
}

static void map_disk_driver(struct imp *im, xmlNodePtr d, cJSON *o, bool *drop)
{
    xmlNodePtr drv = imp_kid(d, "driver");
    const char *type = NULL, *cache = NULL, *io = NULL;
    if (drv != NULL) {
        imp_use(drv);
        const char *name = imp_attr(im, drv, "name");
        if (name != NULL && strcmp(name, "qemu") != 0)
            imp_note_attr(im, drv, "name", IMPORT_NOT_SUPPORTED, "vmrun's disks are QEMU's");
        type = imp_attr(im, drv, "type");
        cache = imp_attr(im, drv, "cache");
        io = imp_attr(im, drv, "io");
        const char *discard = imp_attr(im, drv, "discard");
        const char *iothread = imp_attr(im, drv, "iothread");
        static const char *const caches[] = {"none", "writeback", "writethrough", "directsync",
                                             "unsafe"};
        bool cache_ok = false;
        for (size_t i = 0; cache != NULL && i < ARRAY_SIZE(caches); i++)
            cache_ok |= strcmp(cache, caches[i]) == 0;
        if (cache != NULL && strcmp(cache, "default") != 0 && !cache_ok)
            imp_note_attr(im, drv, "cache", IMPORT_NOT_SUPPORTED, "not a cache mode vmrun knows");
        else if (cache_ok)
            imp_set_str(im, o, "cache", cache);
        if (io != NULL && (strcmp(io, "native") == 0 || strcmp(io, "threads") == 0 ||
                           strcmp(io, "io_uring") == 0)) {
            bool uncached = cache != NULL &&
                            (strcmp(cache, "none") == 0 || strcmp(cache, "directsync") == 0);
            if (strcmp(io, "native") == 0 && !uncached)
                imp_note_attr(im, drv, "io", IMPORT_NOT_SUPPORTED,
                              "\"native\" needs cache \"none\" or \"directsync\" (QEMU falls "
                              "back to threads, as it did under libvirt)");
            else
                imp_set_str(im, o, "aio", io);
        } else if (io != NULL && strcmp(io, "default") != 0) {
            imp_note_attr(im, drv, "io", IMPORT_NOT_SUPPORTED, "not an I/O mode vmrun knows");
        }
        if (discard != NULL && (strcmp(discard, "unmap") == 0 || strcmp(discard, "ignore") == 0))
            imp_set_str(im, o, "discard", discard);
        else if (discard != NULL)
            imp_note_attr(im, drv, "discard", IMPORT_NOT_SUPPORTED, "not a discard mode");
        if (iothread != NULL)
            imp_set_bool(im, o, "iothread", true);
        static const char *const others[] = {"detect_zeroes", "queues", "queue_size",
                                             "error_policy", "rerror_policy", "copy_on_read",
                                             "ioeventfd", "event_idx", "metadata_cache"};
        for (size_t i = 0; i < ARRAY_SIZE(others); i++)
            if (imp_peek(im, drv, others[i]) != NULL)
                imp_note_attr(im, drv, others[i], IMPORT_NOT_SUPPORTED,
                              "vmrun leaves this at QEMU's default");
    }
    if (type == NULL || strcmp(type, "raw") == 0)
        imp_set_str(im, o, "format", "raw");
    else if (strcmp(type, "qcow2") == 0)
        imp_set_str(im, o, "format", "qcow2");
    else {
        imp_note(im, d, IMPORT_NOT_SUPPORTED,
                 "a %s image: vmrun opens raw and qcow2 (convert it with qemu-img convert)", type);
        *drop = true;
    }
}

/* The file or device of a disk of type "file" or "block", or NULL (noted)
 * when there is none vmrun can open. */
static const char *disk_source(struct imp *im, xmlNodePtr d, const char *type, bool cdrom)
{
    xmlNodePtr src = imp_kid(d, "source");
    const char *path = NULL;
    if (src != NULL) {
        imp_use(src);
        path = imp_attr(im, src, strcmp(type, "file") == 0 ? "file" : "dev");
        imp_attr(im, src, "index");
        if (imp_peek(im, src, "startupPolicy") != NULL)
            imp_note_attr(im, src, "startupPolicy", IMPORT_NOT_SUPPORTED,
                          "vmrun opens every disk it lists");
    }
    if (path == NULL || *path == '\0') {
        imp_note(im, d, IMPORT_NOT_SUPPORTED,
                 "an empty %s: vmrun's disks have a file (add one with \"media\": \"cdrom\" "
                 "when there is an image to insert)",
                 cdrom ? "CD-ROM drive" : "disk");
        return NULL;
    }
    if (!imp_path_ok(path)) {
        imp_note(im, d, IMPORT_NOT_SUPPORTED, "the source is not an absolute path");
        return NULL;
    }
    return path;
}

static void map_disk_serial(struct imp *im, xmlNodePtr d, cJSON *o)
{
    xmlNodePtr ser = imp_kid(d, "serial");
    if (ser == NULL)
        return;
    const char *s = imp_text(im, ser);
    size_t sl = strlen(s);
    bool ok = sl >= 1 && sl <= 20;
    for (size_t i = 0; i < sl && ok; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f;
    if (!ok)
        imp_note(im, ser, IMPORT_NOT_SUPPORTED, "a disk serial is 1-20 printable ASCII characters");
    else if (!imp_known(im, "disks[].serial"))
        imp_note(im, ser, IMPORT_NOT_SUPPORTED, "this vmrun has no disks[].serial");
    else
        imp_set_str(im, o, "serial", s);
}

/* One <disk>: 1 with *out filled (its profile entry in out->json, not yet
 * in the profile), 0 when it does not carry over (noted), -ENOMEM. *sata
 * counts the SATA ports taken. */
static int map_disk(struct imp *im, xmlNodePtr d, unsigned *sata, struct disk *out)
{
    const char *type = imp_attr(im, d, "type");
    const char *device = imp_attr(im, d, "device");
    imp_use(d);
    guest_address(im, d);
    xmlNodePtr bs = imp_kid(d, "backingStore");
    if (bs != NULL)
        imp_use_all(bs); /* what libvirt found in the image itself */
    bool cdrom = device != NULL && strcmp(device, "cdrom") == 0;
    /* A whole drive given to the guest as a SCSI LUN (often its system
     * disk): vmrun has no SCSI passthrough, so it becomes a raw disk of the
     * same device on the same bus, which boots the same data. */
    bool lun = device != NULL && strcmp(device, "lun") == 0;
    if (device != NULL && strcmp(device, "disk") != 0 && !cdrom && !lun) {
        imp_note(im, d, IMPORT_NOT_SUPPORTED, "vmrun has disks and CD-ROMs only");
        return 0;
    }
    if (type == NULL || (strcmp(type, "file") != 0 && strcmp(type, "block") != 0)) {
        imp_note(im, d, IMPORT_NOT_SUPPORTED,
                 "vmrun opens image files and block devices; not this disk type");
        return 0;
    }
    const char *path = disk_source(im, d, type, cdrom);
    if (path == NULL)
        return 0;
    xmlNodePtr tgt = imp_kid(d, "target");
    const char *bus = NULL, *dev = NULL;
    if (tgt != NULL) {
        imp_use(tgt);
        bus = imp_attr(im, tgt, "bus");
        dev = imp_attr(im, tgt, "dev");
        if (imp_peek(im, tgt, "removable") != NULL)
            imp_note_attr(im, tgt, "removable", IMPORT_NOT_SUPPORTED, "vmrun's disks are fixed");
        imp_attr(im, tgt, "rotation_rate");
    }
    const char *pbus = NULL;
    if (bus == NULL || strcmp(bus, "virtio") == 0)
        pbus = "virtio";
    else if (strcmp(bus, "sata") == 0 || strcmp(bus, "ide") == 0)
        pbus = "sata";
    else if (strcmp(bus, "scsi") == 0)
        pbus = "scsi";
    if (pbus == NULL || (cdrom && strcmp(pbus, "virtio") == 0)) {
        imp_note(im, d, IMPORT_NOT_SUPPORTED,
                 "vmrun's disks are on virtio, SCSI or SATA (a CD-ROM on SCSI or SATA)");
        return 0;
    }
    if (strcmp(pbus, "sata") == 0 && ++*sata > SATA_PORTS) {
        imp_note(im, d, IMPORT_NOT_SUPPORTED, "q35 has %d SATA ports, all taken", SATA_PORTS);
        return 0;
    }
    bool drop = false;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return -ENOMEM;
    imp_set_str(im, o, "path", path);
    imp_set_str(im, o, "format", "raw");
    imp_set_str(im, o, "bus", "virtio");
    map_disk_driver(im, d, o, &drop);
    if (drop) {
        cJSON_Delete(o);
        return 0;
    }
    if (bus != NULL && strcmp(bus, "ide") == 0)
        imp_note_attr(im, tgt, "bus", IMPORT_WARNING,
                      "IDE becomes SATA: q35 has AHCI only (the guest sees the same disk on "
                      "a new controller)");
    imp_set_str(im, o, "bus", pbus);
    if (cdrom)
        imp_set_str(im, o, "media", "cdrom");
    xmlNodePtr ro = imp_kid(d, "readonly");
    if (ro != NULL) {
        imp_use(ro);
        if (!cdrom)
            imp_set_bool(im, o, "readonly", true);
    }
    cJSON *io = cJSON_GetObjectItemCaseSensitive(o, "iothread");
    if (io != NULL && strcmp(pbus, "sata") == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(o, "iothread");
    if (strcmp(pbus, "scsi") == 0 && im->scsi_iothread)
        imp_set_bool(im, o, "iothread", true);
    map_disk_serial(im, d, o);
    int order = parse_boot_order(im, d);
    if (order >= 0)
        imp_set_num(im, o, "bootindex", order);
    static const char *const lost[] = {"shareable", "transient", "wwn",    "vendor",
                                       "product",   "blockio",   "iotune", "encryption",
                                       "geometry",  "auth",      "mirror"};
    for (size_t i = 0; i < ARRAY_SIZE(lost); i++) {
        xmlNodePtr e = imp_kid(d, lost[i]);
        if (e != NULL)
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "vmrun has no such disk setting");
    }
    /* Last: a note on the element counts all of it as read. */
    if (lun) {
        imp_note(im, d, IMPORT_WARNING,
                 "a drive given as a SCSI LUN becomes a raw disk of %s on %s (vmrun has no SCSI "
                 "passthrough): the guest reads and writes the same data and boots from it, "
                 "but sees a disk QEMU emulates, not the drive's own SCSI commands (SMART, "
                 "vendor commands, its model and serial: give disks[].serial the drive's "
                 "serial if the guest must see it)",
                 path, strcmp(pbus, "scsi") == 0 ? "virtio-scsi" : pbus);
        static const char *const passthrough[] = {"sgio", "rawio"};
        for (size_t i = 0; i < ARRAY_SIZE(passthrough); i++)
            if (imp_peek(im, d, passthrough[i]) != NULL)
                imp_note_attr(im, d, passthrough[i], IMPORT_NOT_SUPPORTED,
                              "a setting of SCSI passthrough, which vmrun does not do");
    }
    *out = (struct disk){.el = d,
                         .json = o,
                         .bus_rank = bus_rank(bus ? bus : "virtio"),
                         .dev = dev,
                         .cdrom = cdrom,
                         .ordered = order >= 0};
    return 1;
}

/* libvirt's boot order for a domain that gives no device a <boot order>
 * (any_order false): <os><boot dev=...> gives boot indexes 1, 2, ... to the
 * first disk of each kind, in libvirt's own disk order (disk_cmp); with no
 * <boot dev> either (and no direct kernel boot), it boots the first disk
 * ("hd"). The <boot dev> elements are read in any case. */
static void emulate_os_boot(struct imp *im, xmlNodePtr devs, xmlNodePtr os, struct disk *disks,
                            size_t nd, bool any_order)
{
    for (xmlNodePtr c = devs->children; c != NULL && !any_order; c = c->next)
        any_order = c->type == XML_ELEMENT_NODE && imp_kid(c, "boot") != NULL;
    int next = 1;
    if (imp_kid(os, "boot") == NULL && !any_order && imp_kid(os, "kernel") == NULL) {
        struct disk *best = NULL;
        for (size_t i = 0; i < nd; i++)
            if (!disks[i].cdrom && (best == NULL || disk_cmp(&disks[i], best) < 0))
                best = &disks[i];
        if (best != NULL)
            imp_set_num(im, best->json, "bootindex", 1);
    }
    imp_each(b, os, "boot")
    {
        const char *dev = imp_attr(im, b, "dev");
        imp_use(b);
        if (any_order || dev == NULL)
            continue;
        bool want_cd = strcmp(dev, "cdrom") == 0;
        if (strcmp(dev, "hd") != 0 && !want_cd) {
            imp_note(im, b, IMPORT_NOT_SUPPORTED,
                     "vmrun boots from disks and passed-through devices (bootindex)");
            continue;
        }
        struct disk *best = NULL;
        for (size_t i = 0; i < nd; i++)
            if (disks[i].cdrom == want_cd && (best == NULL || disk_cmp(&disks[i], best) < 0))
                best = &disks[i];
        if (best != NULL)
            imp_set_num(im, best->json, "bootindex", next);
        next++;
    }
}

static void map_disks(struct imp *im, xmlNodePtr devs, xmlNodePtr os)
{
    size_t n = 0;
    imp_each(d, devs, "disk") n++;
    cleanup_free struct disk *disks = calloc(n + 1, sizeof(*disks));
    if (disks == NULL) {
        im->oom = true;
        return;
    }
    size_t nd = 0;
    unsigned sata = 0;
    bool any_order = false;
    cJSON *arr = NULL;
    imp_each(d, devs, "disk")
    {
        int r = map_disk(im, d, &sata, &disks[nd]);
        if (r < 0) {
            im->oom = true;
            return;
        }
        if (r == 0)
            continue;
        any_order |= disks[nd].ordered;
        if (arr == NULL)
            arr = imp_array(im, im->prof, "disks");
        cJSON_AddItemToArray(arr, disks[nd].json);
        nd++;
    }
    emulate_os_boot(im, devs, os, disks, nd, any_order);
}

/* ---- network ----------------------------------------------------------------------- */

static bool mac_ok(const char *s)
{
    if (s == NULL || strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != ':')
                return false;
        } else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL) {
            return false;
        }
    }
    int first = (int)strtol((char[3]){s[0], s[1], '\0'}, NULL, 16);
    return (first & 1) == 0;
}

static bool ifname_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n >= 1 && n <= 15 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void map_interfaces(struct imp *im, xmlNodePtr devs)
{
    imp_each(i, devs, "interface")
    {
        const char *type = imp_attr(im, i, "type");
        imp_use(i);
        guest_address(im, i);
        imp_attr(im, i, "trustGuestRxFilters");
        cJSON *o = cJSON_CreateObject();
        if (o == NULL) {
            im->oom = true;
            return;
        }
        xmlNodePtr src = imp_kid(i, "source");
        bool keep = true;
        if (type != NULL && strcmp(type, "bridge") == 0) {
            const char *br = src != NULL ? imp_attr(im, src, "bridge") : NULL;
            imp_use(src);
            if (ifname_ok(br)) {
                imp_set_str(im, o, "type", "bridge");
                imp_set_str(im, o, "bridge", br);
            } else {
                imp_note(im, i, IMPORT_NOT_SUPPORTED, "not a bridge name vmrun can use");
                keep = false;
            }
        } else if (type != NULL && strcmp(type, "network") == 0) {
            const char *net = src != NULL ? imp_attr(im, src, "network") : NULL;
            imp_use(src);
            imp_set_str(im, o, "type", "user");
            imp_note(im, i, IMPORT_HOST_SPECIFIC,
                     "libvirt's network \"%s\" becomes QEMU's user networking (NAT, no inbound "
                     "connections); to stay on the libvirt network's bridge use \"type\": "
                     "\"bridge\" with its bridge (virsh net-info %s)",
                     net != NULL ? net : "?", net != NULL ? net : "NAME");
        } else if (type != NULL && strcmp(type, "user") == 0) {
            imp_set_str(im, o, "type", "user");
        } else if (type != NULL && strcmp(type, "direct") == 0) {
            imp_set_str(im, o, "type", "user");
            imp_note(im, src != NULL ? src : i, IMPORT_HOST_SPECIFIC,
                     "a macvtap on the host's %s becomes QEMU's user networking: vmrun has no "
                     "macvtap (put the host interface in a bridge and use \"type\": \"bridge\")",
                     src != NULL && imp_peek(im, src, "dev") ? imp_peek(im, src, "dev") : "NIC");
        } else if (type != NULL && strcmp(type, "ethernet") == 0) {
            xmlNodePtr tgt = imp_kid(i, "target");
            const char *dev = tgt != NULL ? imp_attr(im, tgt, "dev") : NULL;
            imp_use(tgt);
            if (ifname_ok(dev)) {
                imp_set_str(im, o, "type", "tap");
                imp_set_str(im, o, "tap", dev);
            } else {
                imp_note(im, i, IMPORT_NOT_SUPPORTED, "a tap needs its interface name");
                keep = false;
            }
        } else {
            imp_note(im, i, IMPORT_NOT_SUPPORTED,
                     "vmrun's networks are user, bridge and an existing tap");
            keep = false;
        }
        if (!keep) {
            cJSON_Delete(o);
            continue;
        }
        xmlNodePtr mac = imp_kid(i, "mac");
        if (mac != NULL) {
            imp_use(mac);
            const char *a = imp_attr(im, mac, "address");
            if (mac_ok(a))
                imp_set_str(im, o, "mac", a);
            else
                imp_note(im, mac, IMPORT_NOT_SUPPORTED,
                         "not a unicast MAC address; QEMU picks one");
        }
        xmlNodePtr model = imp_kid(i, "model");
        if (model != NULL) {
            imp_use(model);
            const char *m = imp_attr(im, model, "type");
            static const struct {
                const char *libvirt, *qemu;
            } models[] = {{"virtio", "virtio-net-pci"}, {"e1000e", "e1000e"}, {"e1000", "e1000"},
                          {"rtl8139", "rtl8139"},        {"e1000-82545em", "e1000-82545em"},
                          {"virtio-net-pci", "virtio-net-pci"}, {"vmxnet3", "vmxnet3"}};
            const char *q = NULL;
            for (size_t k = 0; m != NULL && k < ARRAY_SIZE(models); k++)
                if (strcmp(models[k].libvirt, m) == 0)
                    q = models[k].qemu;
            if (q == NULL)
                imp_note(im, model, IMPORT_NOT_SUPPORTED, "a NIC model vmrun does not know; "
                                                          "virtio-net-pci is used");
            else if (strcmp(q, "virtio-net-pci") != 0)
                imp_set_str(im, o, "model", q);
        } else {
            /* libvirt's default for q35 is rtl8139 on older versions and
             * virtio with newer ones; say it. */
            imp_set_str(im, o, "model", "rtl8139");
        }
        xmlNodePtr tgt = imp_kid(i, "target");
        if (tgt != NULL)
            imp_use_all(tgt); /* the tap name libvirt made */
        xmlNodePtr drv = imp_kid(i, "driver");
        if (drv != NULL) {
            imp_use(drv);
            const char *name = imp_attr(im, drv, "name");
            if (name != NULL && strcmp(name, "vhost") != 0)
                imp_note_attr(im, drv, "name", IMPORT_NOT_SUPPORTED,
                              "vmrun uses vhost on tap networks under KVM");
            for (xmlAttrPtr a = drv->properties; a != NULL; a = a->next)
                if (a->_private == NULL && a->ns == NULL)
                    imp_note_attr(im, drv, (const char *)a->name, IMPORT_NOT_SUPPORTED,
                                  "vmrun leaves this at QEMU's default");
            for (xmlNodePtr c = drv->children; c != NULL; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                    imp_note(im, c, IMPORT_NOT_SUPPORTED, "vmrun leaves this at QEMU's default");
        }
        xmlNodePtr boot = imp_kid(i, "boot");
        if (boot != NULL)
            imp_note(im, boot, IMPORT_NOT_SUPPORTED, "vmrun does not boot from the network");
        xmlNodePtr link = imp_kid(i, "link");
        if (link != NULL) {
            imp_use(link);
            if (imp_onoff(imp_attr(im, link, "state")) == 0 ||
                (imp_peek(im, link, "state") != NULL &&
                 strcmp(imp_peek(im, link, "state"), "down") == 0))
                imp_note(im, link, IMPORT_NOT_SUPPORTED, "vmrun's links are up");
        }
        cJSON_AddItemToArray(imp_array(im, im->prof, "network"), o);
    }
}

/* ---- passed-through devices ------------------------------------------------------------ */

static bool hexattr(struct imp *im, xmlNodePtr n, const char *name, unsigned max, unsigned *out)
{
    const char *s = imp_attr(im, n, name);
    if (s == NULL)
        return false;
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (end == s || *end != '\0' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static void map_pci_hostdev(struct imp *im, xmlNodePtr h)
{
    xmlNodePtr src = imp_kid(h, "source");
    xmlNodePtr a = imp_kid(src, "address");
    unsigned dom = 0, bus, slot, fn;
    imp_use(src);
    imp_use(a);
    hexattr(im, a, "domain", 0xffff, &dom);
    if (a == NULL || !hexattr(im, a, "bus", 0xff, &bus) || !hexattr(im, a, "slot", 0x1f, &slot) ||
        !hexattr(im, a, "function", 7, &fn)) {
        imp_note(im, h, IMPORT_NOT_SUPPORTED, "not a PCI host address vmrun can read");
        return;
    }
    imp_attr(im, src, "writeFiltering");
    char addr[16];
    snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", dom, bus, slot, fn);
    cJSON *arr = imp_array(im, im->prof, "pci");
    for (cJSON *e = arr != NULL ? arr->child : NULL; e != NULL; e = e->next) {
        const char *other = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "address"));
        if (other != NULL && strcmp(other, addr) == 0) {
            imp_note(im, h, IMPORT_NOT_SUPPORTED, "%s is already passed through", addr);
            return;
        }
    }
    cJSON *o = imp_push_obj(im, arr);
    if (o == NULL)
        return;
    imp_set_str(im, o, "address", addr);
    xmlNodePtr rom = imp_kid(h, "rom");
    if (rom != NULL) {
        imp_use(rom);
        const char *file = imp_attr(im, rom, "file");
        int bar = imp_onoff(imp_attr(im, rom, "bar"));
        int enabled = imp_onoff(imp_attr(im, rom, "enabled"));
        if (file != NULL && imp_path_ok(file))
            imp_set_str(im, o, "rom", file);
        else if (file != NULL)
            imp_note_attr(im, rom, "file", IMPORT_NOT_SUPPORTED, "not an absolute path");
        if (bar == 0 || enabled == 0) {
            if (imp_known(im, "pci[].rombar"))
                imp_set_bool(im, o, "rombar", false);
            else
                imp_note(im, rom, IMPORT_NOT_SUPPORTED, "this vmrun has no pci[].rombar");
        }
    }
    int order = parse_boot_order(im, h);
    if (order >= 0)
        imp_set_num(im, o, "bootindex", order);
    xmlNodePtr drv = imp_kid(h, "driver");
    if (drv != NULL) {
        imp_use(drv);
        const char *name = imp_attr(im, drv, "name");
        if (name != NULL && strcmp(name, "vfio") != 0)
            imp_note_attr(im, drv, "name", IMPORT_NOT_SUPPORTED, "vmrun passes devices with VFIO");
    }
    xmlNodePtr teaming = imp_kid(h, "teaming");
    if (teaming != NULL)
        imp_note(im, teaming, IMPORT_NOT_SUPPORTED, "vmrun has no NIC teaming");
}

/* A rule for the port a device is plugged into, from libvirt's address
 * form (<address bus= device=/>): the bus and device numbers name one
 * enumeration of a device, gone at its next replug, so what carries over is
 * where that device is plugged in now, when the caller can look
 * (import_options.usb_lookup: the host the import runs on). */
static void map_usb_address(struct imp *im, xmlNodePtr h, xmlNodePtr addr)
{
    unsigned bus = 0, dev = 0;
    bool ok = addr != NULL && hexattr(im, addr, "bus", 255, &bus) &&
              hexattr(im, addr, "device", 255, &dev) && bus > 0 && dev > 0;
    if (addr != NULL)
        imp_use_all(addr);
    char port[32] = "", what[256] = "";
    if (!ok || im->opt->usb_lookup == NULL || !imp_known(im, "usb[].port") ||
        im->opt->usb_lookup(im->opt->usb_ctx, bus, dev, port, sizeof(port), what,
                            sizeof(what)) != 1) {
        if (ok)
            imp_note(im, h, IMPORT_HOST_SPECIFIC,
                     "a USB device by its bus and device number (%u, %u), which change at every "
                     "replug and name no device on this host now; write a rule by its vendor "
                     "and product, or by the port it is plugged into (its name under "
                     "/sys/bus/usb/devices)",
                     bus, dev);
        else
            imp_note(im, h, IMPORT_HOST_SPECIFIC,
                     "a USB device with neither ids nor an address; write a rule by its vendor "
                     "and product, or by its port");
        return;
    }
    cJSON *o = imp_push_obj(im, imp_array(im, im->prof, "usb"));
    imp_set_str(im, o, "port", port);
    imp_note(im, h, IMPORT_WARNING,
             "bus %u device %u is, on this host now, %s: written as a rule for port %s, which "
             "takes whatever is plugged in there (check it is the port meant)",
             bus, dev, what, port);
}

/* A rule by vendor and product; one per pair, which takes every device
 * that has them. */
static void map_usb_ids(struct imp *im, xmlNodePtr h, unsigned vid, unsigned pid)
{
    cJSON *arr = imp_array(im, im->prof, "usb");
    char vs[5], ps[5];
    snprintf(vs, sizeof(vs), "%04x", vid);
    snprintf(ps, sizeof(ps), "%04x", pid);
    for (cJSON *e = arr != NULL ? arr->child : NULL; e != NULL; e = e->next) {
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "vendor"));
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "product"));
        if (a != NULL && b != NULL && strcmp(a, vs) == 0 && strcmp(b, ps) == 0) {
            imp_note(im, h, IMPORT_WARNING,
                     "a second %s:%s: the rule written for the first takes every device with "
                     "these ids",
                     vs, ps);
            return;
        }
    }
    cJSON *o = imp_push_obj(im, arr);
    imp_set_str(im, o, "vendor", vs);
    imp_set_str(im, o, "product", ps);
}

static void map_usb_hostdev(struct imp *im, xmlNodePtr h)
{
    xmlNodePtr src = imp_kid(h, "source");
    xmlNodePtr v = imp_kid(src, "vendor"), p = imp_kid(src, "product");
    imp_use(src);
    if (src != NULL)
        imp_attr(im, src, "startupPolicy");
    unsigned vid, pid;
    imp_use(v);
    imp_use(p);
    xmlNodePtr ha = imp_kid(src, "address");
    if (v == NULL || p == NULL || !hexattr(im, v, "id", 0xffff, &vid) ||
        !hexattr(im, p, "id", 0xffff, &pid)) {
        map_usb_address(im, h, ha);
    } else {
        if (ha != NULL)
            imp_use_all(ha); /* with ids, the ids decide */
        map_usb_ids(im, h, vid, pid);
    }
    xmlNodePtr boot = imp_kid(h, "boot");
    if (boot != NULL)
        imp_note(im, boot, IMPORT_NOT_SUPPORTED, "vmrun does not boot from USB devices");
}

static void map_hostdevs(struct imp *im, xmlNodePtr devs)
{
    imp_each(h, devs, "hostdev")
    {
        const char *mode = imp_attr(im, h, "mode");
        const char *type = imp_attr(im, h, "type");
        imp_attr(im, h, "managed");
        imp_use(h);
        guest_address(im, h);
        if (mode != NULL && strcmp(mode, "subsystem") != 0) {
            imp_note(im, h, IMPORT_NOT_SUPPORTED, "vmrun passes PCI and USB devices only");
            continue;
        }
        if (type != NULL && strcmp(type, "pci") == 0)
            map_pci_hostdev(im, h);
        else if (type != NULL && strcmp(type, "usb") == 0)
            map_usb_hostdev(im, h);
        else
            imp_note(im, h, IMPORT_NOT_SUPPORTED, "vmrun passes PCI and USB devices only");
    }
}

/* ---- input ---------------------------------------------------------------------------- */

static void map_inputs(struct imp *im, xmlNodePtr devs)
{
    static const char *const toggles[] = {"ctrl-ctrl",  "alt-alt",        "shift-shift",
                                          "meta-meta",  "scrolllock",     "ctrl-scrolllock"};
    imp_each(i, devs, "input")
    {
        const char *type = imp_attr(im, i, "type");
        const char *bus = imp_attr(im, i, "bus");
        imp_use(i);
        guest_address(im, i);
        if (type != NULL && strcmp(type, "evdev") == 0) {
            xmlNodePtr src = imp_kid(i, "source");
            imp_use(src);
            const char *dev = src != NULL ? imp_attr(im, src, "dev") : NULL;
            if (!imp_path_ok(dev)) {
                imp_note(im, i, IMPORT_NOT_SUPPORTED, "an evdev device needs an absolute path");
                continue;
            }
            cJSON *o = imp_push_obj(im, imp_array(im, im->prof, "input"));
            imp_set_str(im, o, "evdev", dev);
            const char *toggle = imp_attr(im, src, "grabToggle");
            bool ok = false;
            for (size_t k = 0; toggle != NULL && k < ARRAY_SIZE(toggles); k++)
                ok |= strcmp(toggle, toggles[k]) == 0;
            if (ok)
                imp_set_str(im, o, "grab_toggle", toggle);
            else if (toggle != NULL)
                imp_note_attr(im, src, "grabToggle", IMPORT_NOT_SUPPORTED,
                              "not a grab toggle QEMU knows");
            /* vmrun's hotkey moves all of the VM's input devices
             * together (what grab='all' asks of libvirt), and the
             * keyboard's own repeats reach the guest (repeat='on'). */
            imp_attr(im, src, "grab");
            const char *repeat = imp_attr(im, src, "repeat");
            if (imp_onoff(repeat) == 0)
                imp_note_attr(im, src, "repeat", IMPORT_NOT_SUPPORTED,
                              "vmrun's evdev devices repeat keys");
            continue;
        }
        bool ps2 = bus == NULL || strcmp(bus, "ps2") == 0;
        if (type != NULL && (strcmp(type, "mouse") == 0 || strcmp(type, "keyboard") == 0) && ps2)
            continue; /* q35's own PS/2 controller */
        imp_note(im, i, IMPORT_NOT_SUPPORTED,
                 "vmrun adds no emulated keyboard, mouse or tablet: use evdev (\"input\"), a "
                 "passed-through USB controller or a display");
    }
}

/* ---- Looking Glass, sound, TPM, display, serial ------------------------------------------ */

/* The resolutions vmrun knows, smallest first; the shared memory of each
 * is profile_looking_glass_size(). */
static const char *const lg_resolutions[] = {"1024x768",  "1920x1080", "2560x1440",
                                             "3840x2160", "6400x3600", "7680x4320",
                                             "15360x8640"};

/* The resolution giving exactly bytes of shared memory, or NULL. */
const char *imp_lg_resolution(uint64_t bytes)
{
    for (size_t i = 0; i < ARRAY_SIZE(lg_resolutions); i++) {
        unsigned w, h;
        sscanf(lg_resolutions[i], "%ux%u", &w, &h);
        if (profile_looking_glass_size(w, h) == bytes)
            return lg_resolutions[i];
    }
    return NULL;
}

static void map_shmem(struct imp *im, xmlNodePtr devs)
{
    imp_each(s, devs, "shmem")
    {
        const char *name = imp_attr(im, s, "name");
        imp_use(s);
        guest_address(im, s);
        if (cJSON_GetObjectItemCaseSensitive(imp_section(im, "looking_glass"), "resolution") !=
            NULL) {
            imp_note(im, s, IMPORT_NOT_SUPPORTED, "vmrun has one shared-memory device");
            continue;
        }
        xmlNodePtr model = imp_kid(s, "model");
        const char *m = model != NULL ? imp_attr(im, model, "type") : NULL;
        imp_use(model);
        if (m != NULL && strcmp(m, "ivshmem-plain") != 0) {
            imp_note(im, s, IMPORT_NOT_SUPPORTED,
                     "vmrun's shared memory is ivshmem-plain (Looking Glass)");
            continue;
        }
        xmlNodePtr size = imp_kid(s, "size");
        uint64_t bytes = 4ULL << 20; /* libvirt's default */
        if (size != NULL) {
            const char *unit = imp_attr(im, size, "unit");
            const char *txt = imp_text(im, size);
            uint64_t mul = 1;
            if (unit == NULL || strcmp(unit, "M") == 0 || strcmp(unit, "MiB") == 0)
                mul = 1ULL << 20;
            else if (strcmp(unit, "K") == 0 || strcmp(unit, "KiB") == 0 || strcmp(unit, "k") == 0)
                mul = 1024;
            else if (strcmp(unit, "G") == 0 || strcmp(unit, "GiB") == 0)
                mul = 1ULL << 30;
            else if (strcmp(unit, "b") == 0 || strcmp(unit, "bytes") == 0)
                mul = 1;
            bytes = strtoull(txt, NULL, 10) * mul;
        }
        const char *res = imp_lg_resolution(bytes);
        if (res == NULL) {
            imp_note(im, s, IMPORT_NOT_SUPPORTED,
                     "vmrun sizes Looking Glass memory from a resolution (16M, 32M, 64M, "
                     "128M, 256M, 512M or 1G); add \"looking_glass\" by hand");
            continue;
        }
        cJSON *lg = imp_section(im, "looking_glass");
        imp_set_str(im, lg, "resolution", res);
        imp_set_str(im, lg, "device", "shm");
        xmlNodePtr server = imp_kid(s, "server");
        if (server != NULL)
            imp_note(im, server, IMPORT_NOT_SUPPORTED, "vmrun has no ivshmem server");
        imp_note(im, s, IMPORT_MANUAL_STEP,
                 "the shared memory is /run/vmrun/.user/%s/looking-glass under vmrun "
                 "(a directory only the VM's user can enter), not /dev/shm/%s: start the "
                 "Looking Glass client with -f /run/vmrun/.user/%s/looking-glass (%s gives "
                 "the same %llu MiB)",
                 im->name, name != NULL ? name : "?", im->name, res,
                 (unsigned long long)(bytes >> 20));
    }
}

static void map_sound(struct imp *im, xmlNodePtr devs)
{
    bool have = false;
    imp_each(s, devs, "sound")
    {
        const char *model = imp_attr(im, s, "model");
        imp_use(s);
        guest_address(im, s);
        imp_each(c, s, "codec")
        {
            const char *t = imp_attr(im, c, "type");
            imp_use(c);
            if (t != NULL && strcmp(t, "duplex") != 0)
                imp_note(im, c, IMPORT_NOT_SUPPORTED, "vmrun's HDA codec is hda-duplex");
        }
        imp_each(a, s, "audio") imp_use_all(a);
        const char *dev = NULL;
        if (model != NULL && (strcmp(model, "ich9") == 0 || strcmp(model, "ich6") == 0 ||
                              strcmp(model, "ich7") == 0))
            dev = "hda";
        else if (model != NULL && strcmp(model, "ac97") == 0)
            dev = "ac97";
        else if (model != NULL && strcmp(model, "usb") == 0)
            dev = "usb";
        if (dev == NULL || have) {
            imp_note(im, s, IMPORT_NOT_SUPPORTED,
                     have ? "vmrun has one sound device" : "vmrun's sound devices are HDA (ICH9), "
                                                           "USB audio and AC97");
            continue;
        }
        have = true;
        cJSON *audio = imp_section(im, "audio");
        imp_set_str(im, audio, "device", dev);
        if (strcmp(model, "ich9") != 0 && strcmp(dev, "hda") == 0)
            imp_note_attr(im, s, "model", IMPORT_WARNING,
                          "becomes ICH9 HDA (ich9-intel-hda): the guest sees a new sound "
                          "controller");
    }
    imp_each(a, devs, "audio")
    {
        const char *type = imp_attr(im, a, "type");
        imp_use(a);
        imp_attr(im, a, "id");
        imp_attr(im, a, "timerPeriod");
        for (xmlNodePtr c = a->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                imp_use_all(c); /* per-direction tuning: QEMU's defaults */
        if (!have)
            continue; /* no sound device: nothing plays through it */
        cJSON *audio = imp_section(im, "audio");
        const char *be = NULL;
        if (type == NULL || strcmp(type, "pipewire") == 0)
            be = "pipewire";
        else if (strcmp(type, "pulseaudio") == 0)
            be = "pa";
        else if (strcmp(type, "alsa") == 0)
            be = "alsa";
        else if (strcmp(type, "none") == 0)
            be = "none";
        if (be != NULL) {
            imp_set_str(im, audio, "backend", be);
            if (imp_peek(im, a, "serverName") != NULL)
                imp_note_attr(im, a, "serverName", IMPORT_HOST_SPECIFIC,
                              "QEMU finds the sound server of the user it runs as");
        } else {
            imp_set_str(im, audio, "backend", strcmp(type, "jack") == 0 ? "pipewire" : "none");
            imp_note(im, a, IMPORT_NOT_SUPPORTED,
                     "vmrun's sound goes to PipeWire, PulseAudio or ALSA; this becomes \"%s\"",
                     strcmp(type, "jack") == 0 ? "pipewire" : "none");
        }
        break;
    }
    for (xmlNodePtr a = imp_kid(devs, "audio"); a != NULL; a = imp_next(a, "audio"))
        if (!imp_used(a))
            imp_note(im, a, IMPORT_NOT_SUPPORTED, "vmrun has one sound backend");
}

static void map_tpm(struct imp *im, xmlNodePtr devs)
{
    bool have = false;
    imp_each(t, devs, "tpm")
    {
        const char *model = imp_attr(im, t, "model");
        imp_use(t);
        guest_address(im, t);
        xmlNodePtr be = imp_kid(t, "backend");
        const char *type = be != NULL ? imp_attr(im, be, "type") : NULL;
        const char *version = be != NULL ? imp_attr(im, be, "version") : NULL;
        imp_use(be);
        if (have) {
            imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun has one TPM");
            continue;
        }
        if (type == NULL || strcmp(type, "emulator") != 0) {
            imp_note(im, t, IMPORT_HOST_SPECIFIC,
                     "the host's own TPM passed through; vmrun emulates a TPM 2.0 with swtpm");
            continue;
        }
        if (version != NULL && strcmp(version, "2.0") != 0) {
            imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun emulates TPM 2.0 only");
            continue;
        }
        const char *m = model == NULL || strcmp(model, "tpm-crb") == 0   ? "crb"
                        : strcmp(model, "tpm-tis") == 0                  ? "tis"
                                                                         : NULL;
        if (m == NULL) {
            imp_note(im, t, IMPORT_NOT_SUPPORTED, "vmrun's TPMs are CRB and TIS");
            continue;
        }
        if (!imp_known(im, "tpm")) {
            imp_note(im, t, IMPORT_NOT_SUPPORTED,
                     "this vmrun has no TPM: the guest starts without one (Windows 11 needs "
                     "one)");
            continue;
        }
        have = true;
        cJSON *tpm = imp_section(im, "tpm");
        /* The model is said even when it is the default: an empty "tpm"
         * would be dropped with the other empty sections. */
        if (imp_known(im, "tpm.model"))
            imp_set_str(im, tpm, "model", m);
        if (be != NULL)
            for (xmlNodePtr c = be->children; c != NULL; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                    imp_use_all(c); /* encryption, profile: swtpm's setup */
        imp_attr(im, be, "persistent_state");
        imp_note(im, t, IMPORT_MANUAL_STEP,
                 "vmrun's TPM starts empty: the guest's keys (BitLocker, Windows Hello) are in "
                 "libvirt's swtpm state, /var/lib/libvirt/swtpm/UUID/; suspend BitLocker in the "
                 "guest before the move");
    }
}

static void map_display(struct imp *im, xmlNodePtr devs)
{
    xmlNodePtr g = imp_kid(devs, "graphics");
    xmlNodePtr v = imp_kid(devs, "video");
    const char *vmodel = NULL;
    if (v != NULL) {
        imp_use(v);
        guest_address(im, v);
        xmlNodePtr m = imp_kid(v, "model");
        vmodel = m != NULL ? imp_attr(im, m, "type") : NULL;
        imp_use_all(m);
        for (xmlNodePtr o = imp_next(v, "video"); o != NULL; o = imp_next(o, "video"))
            imp_note(im, o, IMPORT_NOT_SUPPORTED, "vmrun adds one display adapter");
    }
    bool novideo = vmodel != NULL && strcmp(vmodel, "none") == 0;
    const char *display = "none";
    if (g != NULL) {
        const char *type = imp_attr(im, g, "type");
        imp_use(g);
        for (xmlNodePtr c = g->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE && c->ns == NULL &&
                strcmp((const char *)c->name, "gl") != 0)
                imp_use_all(c); /* listen, image, channel: vmrun's fixed settings */
        if (type != NULL && (strcmp(type, "spice") == 0 || strcmp(type, "vnc") == 0 ||
                             strcmp(type, "sdl") == 0)) {
            if (novideo) {
                imp_note(im, g, IMPORT_NOT_SUPPORTED,
                         "%s without a video device (input and sound only): vmrun's displays "
                         "come with a VGA, so the display is left out",
                         type);
            } else {
                display = type;
                imp_use_all(g);
                imp_note(im, g, IMPORT_WARNING,
                         "becomes vmrun's \"%s\" display%s: its own address, port and options",
                         type,
                         strcmp(type, "spice") == 0 || strcmp(type, "vnc") == 0
                             ? " (a unix socket in /run/vmrun/.user/NAME/, which only the VM's "
                               "user can reach; no TCP port)"
                             : "");
            }
        } else {
            imp_note(im, g, IMPORT_NOT_SUPPORTED, "vmrun's displays are spice, vnc, gtk and sdl");
        }
        for (xmlNodePtr o = imp_next(g, "graphics"); o != NULL; o = imp_next(o, "graphics"))
            imp_note(im, o, IMPORT_NOT_SUPPORTED, "vmrun has one display");
    }
    if (strcmp(display, "none") != 0 && vmodel != NULL && strcmp(vmodel, "vga") != 0)
        imp_note(im, v, IMPORT_WARNING,
                 "the guest gets a standard VGA, not a %s adapter", vmodel);
    else if (strcmp(display, "none") == 0 && v != NULL && !novideo)
        imp_note(im, v, IMPORT_NOT_SUPPORTED,
                 "a video adapter without a display: vmrun adds none (the passed-through GPU "
                 "or Looking Glass shows the guest)");
    imp_set_str(im, im->prof, "display", display);
}

static void map_serial(struct imp *im, xmlNodePtr devs)
{
    xmlNodePtr s = imp_kid(devs, "serial");
    xmlNodePtr c = imp_kid(devs, "console");
    if (s == NULL && c == NULL) {
        imp_set_str(im, im->prof, "serial", "none");
        return;
    }
    bool seen = false;
    for (xmlNodePtr e = imp_kid(devs, "serial"); e != NULL; e = imp_next(e, "serial")) {
        if (seen) {
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "vmrun has one serial port");
            continue;
        }
        seen = true;
        const char *type = imp_attr(im, e, "type");
        imp_use_all(e);
        guest_address(im, e);
        if (type != NULL && strcmp(type, "pty") == 0)
            imp_note(im, e, IMPORT_WARNING,
                     "the serial console goes to /var/lib/vmrun/%s/serial.log instead of a pty",
                     im->name);
        else if (type != NULL && strcmp(type, "file") != 0 && strcmp(type, "stdio") != 0)
            imp_note(im, e, IMPORT_NOT_SUPPORTED,
                     "vmrun's serial port goes to a log file or the terminal");
    }
    for (xmlNodePtr e = c; e != NULL; e = imp_next(e, "console")) {
        xmlNodePtr t = imp_kid(e, "target");
        const char *tt = t != NULL ? imp_peek(im, t, "type") : NULL;
        if (tt == NULL || strcmp(tt, "serial") == 0) {
            imp_use_all(e); /* the same port as <serial> */
            seen = true;
        } else {
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "vmrun has no virtio console");
        }
    }
    imp_set_str(im, im->prof, "serial", seen ? "log" : "none");
}

/* ---- what vmrun lays out itself, and what it has not --------------------------------------- */

static void map_controllers(struct imp *im, xmlNodePtr devs)
{
    imp_each(c, devs, "controller")
    {
        const char *type = imp_attr(im, c, "type");
        const char *model = imp_peek(im, c, "model");
        if (type != NULL && strcmp(type, "scsi") == 0) {
            imp_use(c);
            imp_attr(im, c, "index");
            imp_attr(im, c, "model");
            guest_address(im, c);
            if (model != NULL && strcmp(model, "virtio-scsi") != 0) {
                imp_note(im, c, IMPORT_NOT_SUPPORTED,
                         "vmrun's SCSI controller is virtio-scsi; the guest sees that one");
                continue;
            }
            xmlNodePtr drv = imp_kid(c, "driver");
            if (drv != NULL) {
                imp_use(drv);
                if (imp_attr(im, drv, "iothread") != NULL)
                    im->scsi_iothread = true;
                for (xmlAttrPtr a = drv->properties; a != NULL; a = a->next)
                    if (a->_private == NULL && a->ns == NULL)
                        imp_note_attr(im, drv, (const char *)a->name, IMPORT_NOT_SUPPORTED,
                                      "vmrun leaves this at QEMU's default");
            }
            continue;
        }
        if (type != NULL && strcmp(type, "pci") == 0) {
            /* libvirt's PCIe topology: counted with the addresses. */
            imp_use_all(c);
            if (im->guest_addresses++ == 0)
                im->first_address_line = (unsigned)xmlGetLineNo(c);
            continue;
        }
        /* USB (vmrun adds qemu-xhci when it needs one), SATA (q35's
         * AHCI), virtio-serial (for channels, reported themselves), IDE
         * (the i440fx's): nothing to carry over. */
        if (type != NULL && (strcmp(type, "usb") == 0 || strcmp(type, "sata") == 0 ||
                             strcmp(type, "virtio-serial") == 0 || strcmp(type, "ide") == 0)) {
            imp_use_all(c);
            continue;
        }
        imp_note(im, c, IMPORT_NOT_SUPPORTED, "vmrun has no such controller");
    }
}

static void map_rest(struct imp *im, xmlNodePtr devs)
{
    static const struct {
        const char *el, *why;
    } lost[] = {
        {"memballoon", "vmrun adds no balloon device; the guest keeps all of its memory"},
        {"rng", "vmrun adds no virtio RNG (add -device virtio-rng-pci in qemu.extra_args)"},
        {"watchdog", "vmrun adds no watchdog"},
        {"channel", "vmrun adds no guest channels (SPICE agent, QEMU guest agent)"},
        {"redirdev", "vmrun has no SPICE USB redirection"},
        {"smartcard", "vmrun has no smartcard device"},
        {"filesystem", "vmrun shares no host directory (virtiofs, 9p)"},
        {"hub", "vmrun adds no USB hub"},
        {"iommu", "vmrun adds no virtual IOMMU"},
        {"vsock", "vmrun adds no vsock device"},
        {"panic", "vmrun adds no panic device (Hyper-V's is hv-crash in cpu.hyperv)"},
        {"parallel", "vmrun has no parallel port"},
        {"lease", "libvirt's lock manager"},
        {"crypto", "vmrun has no crypto device"},
        {"pstore", "vmrun has no pstore device"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(lost); i++)
        imp_each(e, devs, lost[i].el)
        {
            if (imp_used(e))
                continue;
            const char *m = imp_peek(im, e, "model");
            if (strcmp(lost[i].el, "memballoon") == 0 && m != NULL && strcmp(m, "none") == 0) {
                imp_use_all(e);
                continue;
            }
            imp_note(im, e, IMPORT_NOT_SUPPORTED, "%s", lost[i].why);
        }
    xmlNodePtr emu = imp_kid(devs, "emulator");
    if (emu != NULL) {
        const char *path = imp_text(im, emu);
        const char *base = strrchr(path, '/');
        base = base != NULL ? base + 1 : path;
        if (strcmp(base, "qemu-system-x86_64") != 0)
            imp_note(im, emu, IMPORT_HOST_SPECIFIC,
                     "vmrun runs qemu-system-x86_64 from PATH; name another in qemu.binary");
    }
}

void imp_map_devices(struct imp *im)
{
    xmlNodePtr devs = imp_kid(im->dom, "devices");
    xmlNodePtr os = imp_kid(im->dom, "os");
    if (devs == NULL) {
        imp_set_str(im, im->prof, "display", "none");
        imp_set_str(im, im->prof, "serial", "none");
        return;
    }
    imp_use(devs);
    note_repeated_boot_orders(im, devs);
    /* Controllers first: a SCSI controller's iothread is its disks'. */
    map_controllers(im, devs);
    map_hostdevs(im, devs);
    map_disks(im, devs, os);
    map_interfaces(im, devs);
    map_inputs(im, devs);
    map_sound(im, devs);
    map_tpm(im, devs);
    map_display(im, devs);
    map_serial(im, devs);
    map_shmem(im, devs);
    map_rest(im, devs);
}
