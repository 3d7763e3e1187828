/* /proc/PID/stat (proc_stat.h). */
#include "sys/proc_stat.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sys/hostfile.h"
#include "sys/hostpath.h"

unsigned long long proc_start_time(pid_t pid)
{
    char path[PATH_MAX], buf[1024];
    if (host_path(path, sizeof(path), HOST_PROC, "/%d/stat", (int)pid) < 0 ||
        hostfile_read(path, buf, sizeof(buf)) < 0)
        return 0;
    /* The name (field 2) may hold anything: fields are counted after its
     * last ')'. Then state is field 3; starttime is field 22. */
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    unsigned long long t = 0;
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
               "%llu",
               &t) != 1)
        return 0;
    return t;
}
