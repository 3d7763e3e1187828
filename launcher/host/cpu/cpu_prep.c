/* The host-CPU step (cpu_prep.h). */
#include "host/cpu/cpu_prep.h"

#include <errno.h>
#include <limits.h>

#include "base/cpulist.h"
#include "host/cpu/governor.h"
#include "host/cpu/isolate.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

const struct journal_op cpu_journal_ops[] = {
    {"cpu-governor-claim", governor_claim_undo, governor_claim_describe},
    {"cpu-governor", governor_undo, governor_describe},
    {"cgroup-controller", isolate_controller_undo, isolate_controller_describe},
    {"cgroup-move", isolate_move_undo, isolate_move_describe},
    {"cgroup-cpuset", isolate_cpuset_undo, isolate_cpuset_describe},
    {"workqueue-cpumask", isolate_workqueue_undo, isolate_workqueue_describe},
    {"irq-affinity", isolate_irq_undo, isolate_irq_describe},
    {"isolate-claim", isolate_claim_undo, isolate_claim_describe},
    {NULL, NULL, NULL},
};

int cpu_online_set(struct cpuset_bits *out, struct vmrun_error *err)
{
    char path[PATH_MAX], text[8192];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/cpu/online") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs path too long");
    int r = hostfile_read(path, text, sizeof(text));
    if (r < 0)
        return vmrun_fail(err, -r, "read %s", path);
    if (cpulist_parse(text, out) < 0)
        return vmrun_failx(err, EINVAL, "%s: unexpected CPU list \"%s\"", path, text);
    return 0;
}

int cpu_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    int r = governor_apply(hp, err);
    if (r < 0)
        return r;
    return isolate_apply(hp, err);
}
