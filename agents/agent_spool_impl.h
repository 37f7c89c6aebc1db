/* agent_spool_impl.h - what the files of agent_spool share, included by them and nothing else:
 * the spool's struct and its transaction helpers.
 *
 * agent_spool is one module in two files, by job: agent_spool_open.c makes, checks, opens and
 * closes a spool; agent_spool.c writes and reads its items. agent_spool.h is the module's only
 * public header.
 */
#ifndef AGENT_SPOOL_IMPL_H
#define AGENT_SPOOL_IMPL_H

#include <limits.h>
#include <lmdb.h>

#include "agent_spool.h"

struct agent_spool {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi items;
    MDB_dbi frames;
    MDB_dbi by_id;
    MDB_dbi queue;
    int short_of_space; /* the last failed write found no room; cleared by a commit */
    char dir[PATH_MAX];
};

/* An LMDB failure mrc as MN_ESTORE, with a hint that fits the cause; `doing` says what was being
 * done. spool may be NULL; else it notes whether the failure was a lack of room
 * (agent_spool_is_short_of_space). Returns MN_ESTORE. */
MN_NODISCARD int agent_spool_mdb_fail(agent_spool *spool, mn_diag *d, int mrc, const char *doing);

/* Begin a transaction, a read-only one when read_only; when another process grew the map,
 * adopt its size. A write transaction clears the short-of-space note. Returns MN_OK, or
 * MN_ESTORE with *txn NULL. */
MN_NODISCARD int agent_spool_txn_begin(agent_spool *spool, int read_only, MDB_txn **txn,
                                       mn_diag *d);

/* Commit (fsync before return) or, when rc is not MN_OK, abort. Returns rc or the commit's
 * error. *txn is NULL afterwards. */
MN_NODISCARD int agent_spool_txn_end(agent_spool *spool, MDB_txn **txn, int rc, mn_diag *d);

#endif
