/* gw_store_impl.h - what the files of gw_store share, included by them and nothing else: the
 * store's structs and a few LMDB helpers.
 *
 * gw_store is one module in three files, by job: gw_store_open.c opens, checks, upgrades and
 * closes the store and reads its identity; gw_store.c holds the write transactions, the dedup
 * lookups and the registry; gw_store_queue.c the partner queues, their per-partner counts and
 * the unrouted topics. gw_store.h is the module's only public header.
 */
#ifndef GW_STORE_IMPL_H
#define GW_STORE_IMPL_H

#include <lmdb.h>
#include <pthread.h>

#include "gw_store.h"

#define GW_STORE_DIR_MAX 4096
#define GW_STORE_KEY_NEXT "next_registration"

struct gw_store {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi by_id;
    MDB_dbi by_digest;
    MDB_dbi registry;
    MDB_dbi queue;
    MDB_dbi hold;
    MDB_dbi unrouted;
    int has_queues; /* 0 only for an older store opened read-only: its queues are empty */
    int created;    /* this open made the store (a fresh format record) */
    int read_only;
    void *map_start; /* LMDB's memory map of data.mdb (found in /proc/self/maps), or NULL */
    size_t map_len;
    /* Held with the write transaction. Threads take turns (the ingest writer and the delivery
     * loop); the same thread asking twice is a bug that LMDB would turn into a hang: the
     * error-checking mutex says EDEADLK instead. */
    pthread_mutex_t write_lock;
    char dir[GW_STORE_DIR_MAX];
};

struct gw_store_txn {
    gw_store *store;
    MDB_txn *txn;
};

/* Turn an LMDB error rc into our code and a diag a person can act on; `doing` says what was
 * being done ("opening the store"). store may be NULL. Returns MN_ESTORE, MN_EVERSION or
 * MN_ESYS (errno kept). */
MN_NODISCARD int gw_store_fail(gw_store *store, mn_diag *d, int rc, const char *doing);

/* Begin a read transaction; when another process grew the map, adopt its size and retry.
 * Returns 0 or LMDB's error. */
MN_NODISCARD int gw_store_read_begin(gw_store *store, MDB_txn **txn);

/* A read transaction with a cursor on dbi, for the _each walks. MN_OK, or MN_ESTORE with
 * nothing left open. gw_store_cursor_end ends both; it is NULL-safe for either. */
MN_NODISCARD int gw_store_cursor_begin(gw_store *store, MDB_dbi dbi, MDB_txn **txn,
                                       MDB_cursor **cur);
void gw_store_cursor_end(MDB_txn *txn, MDB_cursor *cur);

/* A store from before the per-partner queue counts: count every queue and hold once (keys
 * only) and mark the store as counted, within txn (gw_store_open's first writable open).
 * Returns MN_OK, MN_ENOMEM, MN_ESTORE or another code of gw_store_fail. */
MN_NODISCARD int gw_store_counts_init(gw_store *store, MDB_txn *txn, mn_diag *d);

#endif
