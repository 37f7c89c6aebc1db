/* gw_store.h - the gateway's LMDB store: dedup, registration numbers, the sealed registry.
 *
 * The only file that includes lmdb.h. Named databases:
 *   meta       "format" -> u32be 1; "next_registration" -> u64be
 *   by_id      envelope id (16 bytes) -> u64be registration | u64be accepted_ms
 *   by_digest  keyed content digest (32 bytes) -> u64be registration | u64be accepted_ms
 *   registry   u64be registration -> record sealed to the registry's box key (opaque here)
 * Nothing in it is readable without the registry's secret key: ids are random, digests keyed.
 *
 * Transactions: one write transaction per batch (gw_store_begin .. gw_store_commit); commit
 * returns only after LMDB has fsynced (the store is opened without MDB_NOSYNC), so a receipt
 * sent after it survives any crash. Only one write transaction at a time (LMDB's rule).
 * Readers (meldnetctl) may run in other processes while the gateway writes.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

#define GW_STORE_FORMAT 1

typedef struct gw_store gw_store;
typedef struct gw_store_txn gw_store_txn;

typedef struct gw_registration {
    uint64_t registration;
    uint64_t accepted_ms;
} gw_registration;

/* Open or create the store in dir (created 0700 if missing). Checks the format record: another
 * version gives MN_EVERSION. read_only: for tools, never creates. Caller owns *out.
 * Returns MN_OK, MN_ESTORE, MN_EVERSION, MN_ESYS. */
MN_NODISCARD int gw_store_open(const char *dir, size_t map_size_mb, int read_only,
                               gw_store **out, mn_diag *d);

/* Close and free. NULL-safe; twice is harmless. */
void gw_store_destroy(gw_store **store_p);

/* Begin the one write transaction. Caller must commit or abort it. Returns MN_OK, MN_ESTORE. */
MN_NODISCARD int gw_store_begin(gw_store *store, gw_store_txn **txn_out, mn_diag *d);

/* Look up by envelope id / by content digest inside txn. Returns MN_OK (filled) or
 * MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int gw_store_find_id(gw_store_txn *txn, const uint8_t id[16], gw_registration *out);
MN_NODISCARD int gw_store_find_digest(gw_store_txn *txn, const uint8_t digest[32],
                                      gw_registration *out);

/* Take the next registration number (starting at 1) inside txn. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_next_registration(gw_store_txn *txn, uint64_t *reg_out);

/* Record a new registration: by_id[id], by_digest[digest] and registry[reg] = sealed record.
 * Returns MN_OK, MN_ESTORE (MN_ESTORE with "map full" in the diag when the map is full). */
MN_NODISCARD int gw_store_put_registration(gw_store_txn *txn, const uint8_t id[16],
                                           const uint8_t digest[32], const gw_registration *reg,
                                           const uint8_t *sealed, size_t sealed_len, mn_diag *d);

/* Record another envelope id for an existing registration (same content, new id). */
MN_NODISCARD int gw_store_put_alias(gw_store_txn *txn, const uint8_t id[16],
                                    const gw_registration *reg, mn_diag *d);

/* Commit (durable on return) / abort; both free *txn_p and set it to NULL. NULL-safe. */
MN_NODISCARD int gw_store_commit(gw_store_txn **txn_p, mn_diag *d);
void gw_store_abort(gw_store_txn **txn_p);

/* Number of registrations. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_registry_count(gw_store *store, uint64_t *count);

/* Copy out the sealed record of one registration. Caller owns *sealed (free()).
 * Returns MN_OK, MN_ENOTFOUND, MN_ESTORE, MN_ENOMEM. */
MN_NODISCARD int gw_store_registry_get(gw_store *store, uint64_t reg, uint8_t **sealed,
                                       size_t *len);

/* Call fn for every registration in ascending order, stopping when fn returns non-zero.
 * Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_registry_each(gw_store *store,
                                        int (*fn)(uint64_t reg, void *arg), void *arg);

#endif
