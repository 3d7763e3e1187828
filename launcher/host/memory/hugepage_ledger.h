/* The hugepage ledger: which pages in the kernel's pools vmrun added, and
 * for which VM, so that several VMs starting and stopping in any order (and
 * `vmrun recover` run any number of times) leave every pool exactly as it
 * was.
 *
 * Where: one file for the whole host, <run root>/.hugepages.ledger
 * (/run/vmrun/.hugepages.ledger: on tmpfs, so it goes with a reboot, as the
 * runtime pools do), one line per claim. Under which lock: an exclusive
 * flock on <run root>/.hugepages.lock, a file that is never replaced (the
 * ledger is rewritten with rename(), which a lock on it would not survive).
 * Every reader and writer of the ledger and every change vmrun makes to a
 * pool's size holds that lock; a VM's start holds it from reading the pool
 * until its pages are in its memory file, so no other vmrun sees those pages
 * as free in between.
 *
 * A claim is added to a VM's journal record ("hugepages-reserve" names the
 * claim's id) and kept in two states:
 *   pending  written before the pool is grown, with the node's persistent
 *            page count before ("before") and the count aimed at
 *            ("target"). The pool may or may not have changed.
 *   held     the change is over and "added" pages are the claim's.
 * A process writes "pending", grows the pool, then writes "held", all
 * under the lock; so a pending claim seen by anyone who takes the lock
 * belongs to a vmrun that died between record and change. Taking the lock
 * settles it at once: the pages it added are the node's count now minus
 * "before" (at most target - before). That is exact unless something other
 * than vmrun resized the pool between the crash and the settling; no other
 * vmrun can have, since each settles first.
 *
 * The undo of a claim lowers the node's persistent count by exactly its
 * "added" and removes it: undoing twice finds no claim the second time and
 * changes nothing. Pages still in use when the count is lowered become
 * surplus pages, which the kernel frees when their user lets go, so the
 * order in which VMs stop does not matter. */
#ifndef VMRUN_HUGEPAGE_LEDGER_H
#define VMRUN_HUGEPAGE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define HP_CLAIM_ID_LEN 32 /* hex digits */

struct hp_claim {
    char id[HP_CLAIM_ID_LEN + 1];
    char vm[65];
    int node;
    unsigned page_kb;
    bool pending;
    unsigned long before; /* persistent count of the node's pool before */
    unsigned long target; /* the count the change aimed at */
    unsigned long added;  /* held: the pages this claim added */
};

struct hp_ledger {
    int lock_fd; /* -1: not open */
    char path[4096];
    struct hp_claim *claims;
    size_t n, cap;
};

/* How long hp_ledger_open() waits for the lock at most, in seconds. */
#define HP_LEDGER_WAIT_S 300

/* Take the lock (waiting for it, HP_LEDGER_WAIT_S at most: -ETIMEDOUT
 * then, naming the holder's pid; `waiting`, if not NULL, is called once
 * before a wait), read the ledger, settle any pending claim a dead vmrun
 * left. Close with hp_ledger_close(), which drops the lock. */
int hp_ledger_open(struct hp_ledger *l, void (*waiting)(void *opaque), void *opaque,
                   struct vmrun_error *err);
void hp_ledger_close(struct hp_ledger *l);

/* Write the ledger back (a new file renamed over the old one). */
int hp_ledger_save(struct hp_ledger *l, struct vmrun_error *err);

/* A new random claim id. */
int hp_ledger_new_id(char id[HP_CLAIM_ID_LEN + 1], struct vmrun_error *err);

struct hp_claim *hp_ledger_find(struct hp_ledger *l, const char *id);
int hp_ledger_add(struct hp_ledger *l, const struct hp_claim *c, struct vmrun_error *err);
void hp_ledger_remove(struct hp_ledger *l, struct hp_claim *c);

/* Pages vmrun's claims hold in one pool. */
unsigned long hp_ledger_held(const struct hp_ledger *l, int node, unsigned page_kb);

/* Read the ledger without the lock, for reports (`vmrun check`): a
 * snapshot that may be a moment old. Missing ledger: no claims. */
int hp_ledger_peek(struct hp_ledger *l, struct vmrun_error *err);

#endif
