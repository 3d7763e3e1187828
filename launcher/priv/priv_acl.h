/* POSIX access ACLs of the files handed to QEMU's user (priv_handover.h):
 * read as they are, one entry added for that user, and written back
 * exactly as they were afterwards.
 *
 * The ACL is the kernel's extended attribute system.posix_acl_access, in
 * its binary form (a version-2 header, then entries of tag, permissions
 * and id, sorted by tag and id); no library is needed to add one entry and
 * to put the bytes back. The attribute is reached through the inode an
 * O_PATH descriptor names (/proc/self/fd/N), never by path again. */
#ifndef VMRUN_PRIV_ACL_H
#define VMRUN_PRIV_ACL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PRIV_ACL_MAX 2048 /* bytes: 255 entries */

struct priv_acl {
    unsigned char data[PRIV_ACL_MAX];
    size_t len; /* 0: the inode has no access ACL (its mode is all) */
};

/* The access ACL of the inode fd names. 0 (len 0 when there is none), or
 * -EOPNOTSUPP when its file system has no ACLs, or another -errno. */
int priv_acl_read(int fd, struct priv_acl *out);

/* Give the inode fd names the ACL a (len 0: remove its ACL; its mode
 * stays as it is). 0 or -errno. */
int priv_acl_write(int fd, const struct priv_acl *a);

/* The ACL `cur` (or, when it is empty, the one equal to `mode`) with an
 * entry for user uid granting perms (4 read, 2 write, 1 execute) added to
 * whatever that user's entry had, and the mask widened to let it through.
 * 0, or -EINVAL when cur is not a well-formed ACL, -E2BIG when full. */
int priv_acl_grant_user(const struct priv_acl *cur, mode_t mode, uid_t uid, unsigned perms,
                        struct priv_acl *out);

/* As lowercase hex (for the journal), and back. */
void priv_acl_to_hex(const struct priv_acl *a, char *hex, size_t len);
int priv_acl_from_hex(const char *hex, struct priv_acl *out);

#endif
