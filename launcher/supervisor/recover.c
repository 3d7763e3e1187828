#include "supervisor/recover.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "plan/hostprep.h"
#include "supervisor/runtime.h"
#include "sys/hostpath.h"

/* True when pid is a QEMU started for this VM: one of its arguments is the
 * `-name NAME,debug-threads=on` value the argv builder writes. Guards
 * against a recycled pid. */
static bool is_our_qemu(pid_t pid, const char *name)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/%ld/cmdline", (long)pid) < 0)
        return false;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char buf[16384], want[128];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    snprintf(want, sizeof(want), "%s,debug-threads=on", name);
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
        if (strcmp(buf + i, want) == 0)
            return true;
    return false;
}

int vm_recover(const char *name, void (*say)(void *, const char *), void *opaque,
               struct vmrun_error *err)
{
    enum runtime_state st = runtime_probe(name, NULL);
    if (st == RUNTIME_ABSENT)
        return 0;
    if (st == RUNTIME_RUNNING)
        return vmrun_failx(err, EBUSY, "'%s' is running; stop it with 'vmrun stop %s'", name, name);

    /* Hold the VM's lock for the whole recovery: a start of the same name
     * (or a second recover) waits for it instead of undoing the same
     * journal at the same time, or finding its directory removed. */
    struct vm_runtime rt;
    int r = runtime_lock_stale(name, &rt, err);
    if (r == -ENOENT)
        return 0;
    if (r == -EBUSY)
        return vmrun_failx(err, EBUSY, "'%s' is running; stop it with 'vmrun stop %s'", name, name);
    if (r < 0)
        return r;
    char journal[PATH_MAX];
    runtime_path(journal, sizeof(journal), name, "journal");
    pid_t qemu = runtime_read_pid(name, "qemu.pid");
    if (qemu > 0 && is_our_qemu(qemu, name)) {
        vmrun_say(say, opaque, "QEMU (pid %ld) outlived its supervisor: killing it", (long)qemu);
        kill(qemu, SIGKILL);
        for (int i = 0; i < 50 && kill(qemu, 0) == 0; i++)
            usleep(100000);
    }
    r = host_prep_undo(journal, say, opaque, err);
    if (r < 0) {
        close(rt.lock_fd); /* the directory and journal stay for a later try */
        return r;
    }
    runtime_release(&rt);
    return 0;
}
