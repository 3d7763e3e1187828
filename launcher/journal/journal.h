/* The host-change journal: /run/vmrun/NAME/journal.
 *
 * Every change vmrun makes to the host is first appended here, as one line
 * of JSON naming the operation and what undoes it, and fsync'd; only then is
 * the change made. So after any crash the journal lists a superset of what
 * was changed, and `vmrun recover` can put the host back. Because a record
 * can exist for a change that never happened (crash between record and
 * change), every undo is idempotent and accepts a change that was never
 * made or only half made.
 *
 * Record: {"seq":N,"op":"pci-bind","args":{...}}\n
 * A torn last line (a crash during the write) is ignored on load.
 *
 * Test hooks (fault injection, used by the test suite):
 *   VMRUN_TEST_KILL_AFTER=N   journal_done() of record N raises SIGKILL
 *   VMRUN_TEST_FAIL_AFTER=N   journal_done() of record N returns -EIO
 */
#ifndef VMRUN_JOURNAL_H
#define VMRUN_JOURNAL_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"

struct journal {
    int fd; /* -1 when closed */
    char path[PATH_MAX];
    unsigned seq; /* seq of the last record written */
};

struct journal_entry {
    unsigned seq;
    char *op;
    cJSON *args;
};

struct journal_entries {
    struct journal_entry *items;
    size_t n;
};

/* An operation's undo: idempotent; returns 0 or a negative errno with err
 * set. `describe` fills a one-line description for reports. */
struct journal_op {
    const char *name;
    int (*undo)(const cJSON *args, struct vmrun_error *err);
    void (*describe)(const cJSON *args, char *buf, size_t len);
};

/* Open (creating, mode 0600) the journal for appending; seq continues after
 * what is already there. */
int journal_open(struct journal *j, const char *path, struct vmrun_error *err);
void journal_close(struct journal *j);

/* Append {op, args} and fsync before returning. Takes ownership of args. */
int journal_record(struct journal *j, const char *op, cJSON *args, struct vmrun_error *err);

/* Call right after the change a record announced has been made. Runs the
 * fault-injection hooks; returns 0 normally. */
int journal_done(struct journal *j, struct vmrun_error *err);

/* Read every complete record. Missing file: 0 entries. */
int journal_load(const char *path, struct journal_entries *out, struct vmrun_error *err);
void journal_entries_free(struct journal_entries *e);

#endif
