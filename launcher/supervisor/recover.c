#include "supervisor/recover.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "plan/hostprep.h"
#include "supervisor/runtime.h"
#include "sys/hostpath.h"

/* True when pid is a QEMU started for this runtime directory: its command
 * line names our QMP socket. Guards against a recycled pid. */
static bool is_our_qemu(pid_t pid, const char *qmp_path)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/%ld/cmdline", (long)pid) < 0)
        return false;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    return strstr(buf, qmp_path) != NULL;
}

int vm_recover(const char *name, void (*say)(void *, const char *), void *opaque,
               struct vmrun_error *err)
{
    enum runtime_state st = runtime_probe(name, NULL);
    if (st == RUNTIME_ABSENT)
        return 0;
    if (st == RUNTIME_RUNNING)
        return vmrun_failx(err, EBUSY, "'%s' is running; stop it with 'vmrun stop %s'", name, name);

    char qmp[PATH_MAX], journal[PATH_MAX];
    runtime_path(qmp, sizeof(qmp), name, "qemu/qmp.sock");
    runtime_path(journal, sizeof(journal), name, "journal");
    pid_t qemu = runtime_read_pid(name, "qemu.pid");
    if (qemu > 0 && is_our_qemu(qemu, qmp)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "QEMU (pid %ld) outlived its supervisor: killing it",
                 (long)qemu);
        if (say != NULL)
            say(opaque, msg);
        kill(qemu, SIGKILL);
        for (int i = 0; i < 50 && kill(qemu, 0) == 0; i++)
            usleep(100000);
    }
    int r = host_prep_undo(journal, say, opaque, err);
    if (r < 0)
        return r;
    return runtime_remove_stale(name, err);
}
