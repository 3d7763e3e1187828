/* systemctl for the display handoff: internal to host/display. */
#ifndef VMRUN_DISPLAY_UNITS_H
#define VMRUN_DISPLAY_UNITS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct unit_state {
    char id[256];    /* the unit's own name (an alias resolved) */
    char load[32];   /* "loaded", "not-found", ... */
    char active[32]; /* "active", "inactive", "failed", ... */
    char said[256];  /* what else systemctl printed (without systemd: why) */
};

/* systemctl show of unit (user: NULL for the system manager, else the
 * user whose manager is asked). */
int unit_query(const char *unit, const char *user, unsigned timeout_s, struct unit_state *st,
               struct vmrun_error *err);

/* Running, or on its way: what a stop would end. */
bool unit_running(const struct unit_state *st);

/* systemctl [--user --machine=USER@] VERB -- unit, within timeout_s; err
 * says what is stuck or what systemctl said. */
int unit_run(const char *verb, const char *unit, const char *user, unsigned timeout_s,
             struct vmrun_error *err);

#endif
