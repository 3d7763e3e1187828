/* Loading kernel modules (modprobe.h). */
#include "sys/modprobe.h"

#include <errno.h>
#include <limits.h>

#include "sys/child_env.h"
#include "sys/run_cmd.h"

#define MODPROBE_TIMEOUT_MS 30000

int host_modprobe(const char *module, const char *why, struct vmrun_error *err)
{
    char modprobe[PATH_MAX];
    if (child_find_program("modprobe", modprobe, sizeof(modprobe)) < 0)
        return vmrun_failx(err, ENOENT, "modprobe is not installed (in %s): cannot load %s, %s",
                           CHILD_ENV_PATH, module, why);
    const char *const argv[] = {modprobe, module, NULL};
    struct cmd_result res;
    int r = run_cmd(argv, (const char *const *)child_env_plain(), MODPROBE_TIMEOUT_MS, &res, err);
    if (r < 0)
        return vmrun_failx(err, ENOENT, "modprobe %s did not finish: %s", module, err->msg);
    if (res.status != 0)
        return vmrun_failx(err, ENOENT, "modprobe %s failed (exit status %d%s%s): %s", module,
                           res.status, res.output[0] ? ": " : "", res.output, why);
    return 0;
}
