/* The "disks" section of a profile: images and block devices, each with its
 * format, bus, media, cache and I/O modes, discard, iothread, boot index
 * and serial; and what QEMU's q35 refuses (a cdrom on virtio or NVMe, more
 * SATA disks than ports, aio "native" on a cached file). Pure, like the
 * rest of the parser. */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_sections.h"

#define SATA_PORTS 6

/* A disk serial is what the guest reads as the drive's serial number (and
 * what /dev/disk/by-id names in a Linux guest). virtio-blk holds 20 bytes,
 * SCSI and ATA 20 and 36, NVMe 20: 20 fits all. */
#define MAX_DISK_SERIAL 20

const char *const profile_disk_keys[] = {
    "path", "format",  "bus",      "media",     "readonly", "cache",
    "aio",  "discard", "iothread", "bootindex", "serial",   NULL,
};
static const char *const format_names[] = {"raw", "qcow2", NULL};
static const char *const bus_names[] = {"virtio", "scsi", "nvme", "sata", NULL};
static const char *const media_names[] = {"disk", "cdrom", NULL};
static const char *const cache_names[] = {"none",       "writeback", "writethrough",
                                          "directsync", "unsafe",    NULL};
static const char *const aio_names[] = {"threads", "native", "io_uring", NULL};
static const char *const discard_names[] = {"ignore", "unmap", NULL};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void parse_disk_serial(struct pj *pj, const cJSON *o, struct vm_disk *d)
{
    const cJSON *v = pj_member(o, "serial");
    if (v == NULL)
        return;
    size_t saved = pj_push_key(pj, "serial");
    const char *expected = "a disk serial of 1-20 printable ASCII characters";
    if (pj_string(pj, v, PJ_NONEMPTY, expected, &d->serial) > 0) {
        size_t n = strlen(d->serial);
        bool ok = n <= MAX_DISK_SERIAL;
        for (size_t i = 0; i < n && ok; i++)
            ok = d->serial[i] >= 0x20 && d->serial[i] < 0x7f;
        if (!ok) {
            char got[128];
            pj_describe(v, got, sizeof(got));
            pj_error(pj, v, "expected %s, got %s", expected, got);
            free(d->serial);
            d->serial = NULL;
        }
    }
    pj_pop(pj, saved);
}

void profile_parse_disks(struct pj *pj, const cJSON *root, struct vm_profile *p,
                         struct profile_where *w)
{
    struct pj_list l;
    p->disks =
        pj_list_open(pj, root, "disks", "an array of disks", VM_DISKS_MAX, sizeof(*p->disks), &l);
    if (p->disks == NULL)
        return;
    size_t saved = l.saved, n = l.n;
    w->disk_items = l.items;
    p->n_disks = n;
    unsigned sata = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = w->disk_items[i];
        struct vm_disk *d = &p->disks[i];
        d->bootindex = -1;
        size_t s2 = pj_push_index(pj, i);
        if (!pj_object(pj, o, profile_disk_keys)) {
            pj_pop(pj, s2);
            continue;
        }
        if (pj_member(o, "path") == NULL)
            pj_missing(pj, o, "path", "the path of a disk image or block device");
        pj_get_string(pj, o, "path", PJ_NONEMPTY, "the path of a disk image or block device",
                      &d->path);
        int v;
        if (pj_get_enum(pj, o, "format", format_names, &v) > 0)
            d->format = (enum vm_disk_format)v;
        else if (pj_member(o, "format") == NULL && d->path != NULL && ends_with(d->path, ".qcow2"))
            d->format = VM_DISK_QCOW2;
        if (pj_get_enum(pj, o, "bus", bus_names, &v) > 0)
            d->bus = (enum vm_disk_bus)v;
        if (pj_get_enum(pj, o, "media", media_names, &v) > 0)
            d->media = (enum vm_disk_media)v;
        pj_get_bool(pj, o, "readonly", &d->readonly);
        pj_get_bool(pj, o, "iothread", &d->iothread);
        int cache = -1, aio = -1, discard = -1;
        if (pj_get_enum(pj, o, "cache", cache_names, &cache) > 0)
            d->cache = strdup(cache_names[cache]);
        if (pj_get_enum(pj, o, "aio", aio_names, &aio) > 0)
            d->aio = strdup(aio_names[aio]);
        if (pj_get_enum(pj, o, "discard", discard_names, &discard) > 0)
            d->discard = strdup(discard_names[discard]);
        profile_parse_bootindex(pj, o, &d->bootindex);
        parse_disk_serial(pj, o, d);

        const cJSON *bus = pj_member(o, "bus") != NULL ? pj_member(o, "bus") : o;
        const char *bus_key = pj_member(o, "bus") != NULL ? "bus" : NULL;
        size_t s3 = bus_key != NULL ? pj_push_key(pj, bus_key) : pj->path_len;
        if (d->media == VM_MEDIA_CDROM && (d->bus == VM_BUS_VIRTIO || d->bus == VM_BUS_NVME))
            pj_error(pj, bus, "a cdrom needs bus \"sata\" or \"scsi\", not \"%s\"",
                     bus_names[d->bus]);
        if (d->iothread && (d->bus == VM_BUS_NVME || d->bus == VM_BUS_SATA))
            pj_error(pj, bus, "iothread is only for bus \"virtio\" and \"scsi\", not \"%s\"",
                     bus_names[d->bus]);
        if (d->bus == VM_BUS_SATA && ++sata == SATA_PORTS + 1)
            pj_error(pj, bus, "q35 has %d SATA ports and they are all taken", SATA_PORTS);
        pj_pop(pj, s3);
        /* QEMU refuses aio=native on a cached file. */
        if (aio == 1 && cache != 0 && cache != 3) {
            size_t s4 = pj_push_key(pj, "aio");
            pj_error(pj, pj_member(o, "aio"),
                     "\"native\" needs cache \"none\" or \"directsync\" (QEMU refuses it on a "
                     "cached file)");
            pj_pop(pj, s4);
        }
        pj_pop(pj, s2);
    }
    pj_pop(pj, saved);
}
