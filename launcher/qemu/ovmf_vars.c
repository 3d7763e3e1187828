/* Reading a UEFI variable store (ovmf_vars.h). */
#include "qemu/ovmf_vars.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

#define MAX_VARS_FILE (64u << 20)
#define FVH_SIGNATURE_AT 40
#define FVH_HEADER_LENGTH_AT 48
#define STORE_HEADER_SIZE 28
#define VAR_HEADER_SIZE 60
#define VAR_START_ID 0x55aa
#define VAR_ADDED 0x3f
#define VAR_ADDED_IN_DELETION 0x3e

/* GUIDs as they lie in the file (the first three fields little-endian). */
static const unsigned char auth_store_guid[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                                  0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
static const unsigned char global_guid[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                              0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
static const unsigned char image_security_guid[16] = {
    0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f};
static const unsigned char sb_enable_guid[16] = {0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45,
                                                 0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44};

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Is the UTF-16LE name (size bytes, NUL-terminated or not) the ASCII word? */
static bool name_is(const unsigned char *name, size_t size, const char *word)
{
    size_t n = strlen(word);
    if (size < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (name[2 * i] != (unsigned char)word[i] || name[2 * i + 1] != 0)
            return false;
    /* Nothing but the terminating NUL may follow. */
    return size == 2 * n || (size >= 2 * n + 2 && name[2 * n] == 0 && name[2 * n + 1] == 0);
}

static bool contains(const unsigned char *data, size_t len, const char *text)
{
    size_t n = strlen(text);
    return n <= len && memmem(data, len, text, n) != NULL;
}

/* A live variable seen in the store. Later copies of a name replace earlier
 * ones, so each flag is simply the last live copy's. */
static void note_variable(struct ovmf_vars_state *s, const unsigned char *guid,
                          const unsigned char *name, size_t name_size, const unsigned char *data,
                          size_t data_size)
{
    if (memcmp(guid, global_guid, 16) == 0) {
        if (name_is(name, name_size, "PK"))
            s->pk = true;
        else if (name_is(name, name_size, "KEK"))
            s->kek = true;
    } else if (memcmp(guid, image_security_guid, 16) == 0) {
        if (name_is(name, name_size, "db")) {
            s->db = true;
            /* The certificates' subject names lie in the data as plain
             * ASCII (DER printable strings). */
            s->ms_windows_ca = contains(data, data_size, "Microsoft Windows Production PCA 2011") ||
                               contains(data, data_size, "Windows UEFI CA 2023");
            s->ms_uefi_ca = contains(data, data_size, "Microsoft Corporation UEFI CA 2011") ||
                            contains(data, data_size, "Microsoft UEFI CA 2023");
        } else if (name_is(name, name_size, "dbx")) {
            s->dbx = true;
        }
    } else if (memcmp(guid, sb_enable_guid, 16) == 0 &&
               name_is(name, name_size, "SecureBootEnable") && data_size >= 1) {
        s->secure_boot_enable = data[0] != 0;
    }
}

int ovmf_vars_parse(const unsigned char *data, size_t len, struct ovmf_vars_state *out,
                    struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    out->secure_boot_enable = -1;
    if (len < FVH_HEADER_LENGTH_AT + 2 || memcmp(data + FVH_SIGNATURE_AT, "_FVH", 4) != 0)
        return vmrun_failx(err, EINVAL, "not a UEFI firmware volume (no \"_FVH\" signature)");
    size_t store = le16(data + FVH_HEADER_LENGTH_AT);
    if (store < FVH_HEADER_LENGTH_AT + 2 || store + STORE_HEADER_SIZE > len)
        return vmrun_failx(err, EINVAL, "the firmware volume header is cut short");
    if (memcmp(data + store, auth_store_guid, 16) != 0)
        return vmrun_failx(err, EINVAL,
                           "no authenticated variable store after the volume header (a store "
                           "without Secure Boot variables)");
    size_t store_size = le32(data + store + 16);
    size_t end = store + store_size;
    if (store_size < STORE_HEADER_SIZE || end > len)
        end = len; /* a size past the file: read what is there */

    for (size_t off = store + STORE_HEADER_SIZE; off + VAR_HEADER_SIZE <= end;) {
        const unsigned char *h = data + off;
        if (le16(h) != VAR_START_ID)
            break; /* the free space that follows the last variable */
        unsigned state = h[2];
        size_t name_size = le32(h + 36), data_size = le32(h + 40);
        const unsigned char *guid = h + 44;
        if (name_size > end - off - VAR_HEADER_SIZE ||
            data_size > end - off - VAR_HEADER_SIZE - name_size)
            return vmrun_failx(err, EINVAL, "a variable at offset %zu runs past the store", off);
        const unsigned char *name = h + VAR_HEADER_SIZE;
        if (state == VAR_ADDED || state == VAR_ADDED_IN_DELETION) {
            out->n_variables++;
            note_variable(out, guid, name, name_size, name + name_size, data_size);
        }
        off += VAR_HEADER_SIZE + name_size + data_size;
        off = (off + 3) & ~(size_t)3;
    }
    return 0;
}

int ovmf_vars_read(const char *path, struct ovmf_vars_state *out, struct vmrun_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", path);
    return ovmf_vars_read_fd(fd, path, out, err);
}

int ovmf_vars_read_fd(int fd, const char *path, struct ovmf_vars_state *out,
                      struct vmrun_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return vmrun_failx(err, EINVAL, "%s is not a regular file", path);
    if (st.st_size > (off_t)MAX_VARS_FILE)
        return vmrun_failx(err, EFBIG, "%s is larger than a variable store can be", path);
    size_t len = (size_t)st.st_size;
    cleanup_free unsigned char *buf = malloc(len + 1);
    if (buf == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory reading %s", path);
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vmrun_fail(err, errno, "read %s", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    int r = ovmf_vars_parse(buf, got, out, err);
    if (r < 0)
        return vmrun_error_prefix(err, "%s", path);
    return 0;
}

bool ovmf_vars_enforcing(const struct ovmf_vars_state *s)
{
    return s->pk && s->secure_boot_enable != 0;
}

void ovmf_vars_describe(const struct ovmf_vars_state *s, char *buf, size_t len)
{
    if (!s->pk) {
        snprintf(buf, len,
                 "setup mode: no platform key (PK) enrolled, so Secure Boot checks "
                 "nothing until keys are enrolled");
        return;
    }
    char set[64] = "PK";
    if (s->kek)
        strcat(set, ", KEK");
    if (s->db)
        strcat(set, ", db");
    if (s->dbx)
        strcat(set, ", dbx");
    const char *trust = s->ms_windows_ca && s->ms_uefi_ca ? "; db trusts Microsoft's Windows "
                                                            "and third-party UEFI CAs"
                        : s->ms_windows_ca                ? "; db trusts Microsoft's Windows CA"
                        : s->ms_uefi_ca ? "; db trusts Microsoft's third-party UEFI CA"
                                        : "; no Microsoft CA in db: Windows will not boot";
    snprintf(buf, len, "enrolled keys (%s%s)%s", set, trust,
             s->secure_boot_enable == 0 ? ", but Secure Boot is turned off (SecureBootEnable 0)"
                                        : "");
}
