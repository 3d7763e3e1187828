/* systemctl for the display handoff (display_units.h). */
#include "host/display/display_units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys/child_env.h"
#include "sys/run_cmd.h"
#include "sys/seams.h"

/* A fixed environment: nothing of the caller's reaches systemctl. */
static const char *const env[] = {
    "PATH=" CHILD_ENV_PATH,
    "LC_ALL=C",
    "SYSTEMD_COLORS=0",
    NULL,
};

static const char *systemctl(void)
{
    const char *test = seam_value(SEAM_SYSTEMCTL);
    if (test != NULL)
        return test;
    /* Debian 12 merges /usr: both name the same file; older layouts have
     * only /bin/systemctl. */
    return access("/usr/bin/systemctl", X_OK) == 0 ? "/usr/bin/systemctl" : "/bin/systemctl";
}

/* argv: systemctl [--user --machine=USER@] --no-ask-password --no-pager ARGS... -- UNIT */
static int run(const char *const *args, size_t n_args, const char *unit, const char *user,
               unsigned timeout_s, struct cmd_result *res, struct vmrun_error *err)
{
    char machine[128];
    const char *argv[16];
    size_t n = 0;
    argv[n++] = systemctl();
    if (user != NULL) {
        snprintf(machine, sizeof(machine), "--machine=%s@", user);
        argv[n++] = "--user";
        argv[n++] = machine;
    }
    argv[n++] = "--no-ask-password";
    argv[n++] = "--no-pager";
    for (size_t k = 0; k < n_args && n < 12; k++)
        argv[n++] = args[k];
    argv[n++] = "--";
    argv[n++] = unit;
    argv[n] = NULL;
    return run_cmd(argv, env, (int)timeout_s * 1000, res, err);
}

int unit_query(const char *unit, const char *user, unsigned timeout_s, struct unit_state *st,
               struct vmrun_error *err)
{
    memset(st, 0, sizeof(*st));
    static const char *const args[] = {"show", "--property=Id,LoadState,ActiveState"};
    struct cmd_result res;
    int r = run(args, 2, unit, user, timeout_s, &res, err);
    if (r == -ETIMEDOUT)
        return vmrun_error_prefix(err, "asking systemd about %s%s%s", unit,
                                  user ? " of user " : "", user ? user : "");
    if (r < 0)
        return r;
    if (res.status != 0)
        return vmrun_failx(err, EIO, "systemctl show %s%s%s failed (exit status %d): %s", unit,
                           user ? " for user " : "", user ? user : "", res.status, res.output);
    char *save = NULL;
    for (char *line = strtok_r(res.output, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "Id=", 3) == 0)
            snprintf(st->id, sizeof(st->id), "%s", line + 3);
        else if (strncmp(line, "LoadState=", 10) == 0)
            snprintf(st->load, sizeof(st->load), "%s", line + 10);
        else if (strncmp(line, "ActiveState=", 12) == 0)
            snprintf(st->active, sizeof(st->active), "%s", line + 12);
        else if (st->said[0] == '\0')
            snprintf(st->said, sizeof(st->said), "%s", line);
    }
    if (st->id[0] == '\0')
        snprintf(st->id, sizeof(st->id), "%s", unit);
    return 0;
}

bool unit_running(const struct unit_state *st)
{
    return strcmp(st->active, "active") == 0 || strcmp(st->active, "activating") == 0 ||
           strcmp(st->active, "reloading") == 0;
}

int unit_run(const char *verb, const char *unit, const char *user, unsigned timeout_s,
             struct vmrun_error *err)
{
    const char *args[] = {verb};
    struct cmd_result res;
    int r = run(args, 1, unit, user, timeout_s, &res, err);
    char who[160] = "";
    if (user != NULL)
        snprintf(who, sizeof(who), " (the user unit of %s)", user);
    if (r == -ETIMEDOUT)
        return vmrun_failx(err, ETIMEDOUT,
                           "'systemctl %s %s'%s did not finish within %u s: the unit is still "
                           "%s ('systemctl%s status %s' shows what it waits for)",
                           verb, unit, who, timeout_s,
                           strcmp(verb, "stop") == 0 ? "stopping" : "starting",
                           user ? " --user" : "", unit);
    if (r < 0)
        return r;
    if (res.status != 0)
        return vmrun_failx(err, EIO, "'systemctl %s %s'%s failed (exit status %d)%s%s", verb, unit,
                           who, res.status, res.output[0] ? ": " : "", res.output);
    return 0;
}
