/* Copying an open file into a new one (filecopy.h). */
#include "sys/filecopy.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/cleanup.h"

int file_copy_new(int in, const char *from, const char *to, struct vmrun_error *err)
{
    cleanup_close int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0)
        return vmrun_fail(err, errno, "create %s", to);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            int e = errno;
            unlink(to);
            return vmrun_fail(err, e, "write %s", to);
        }
    if (n < 0) {
        int e = errno;
        unlink(to);
        return vmrun_fail(err, e, "read %s", from);
    }
    return 0;
}
