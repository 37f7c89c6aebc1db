/* gw_store.h - the gateway's LMDB store: dedup, registration numbers, the sealed registry.
 *
 * The only module that includes lmdb.h (its files: gw_store.c, gw_store_open.c,
 * gw_store_queue.c; gw_store_impl.h). Named databases:
 *   meta       "format" -> u32be 2; "next_registration" -> u64be; "store_id" -> 16 random bytes
 *   by_id      agent NUL envelope id (16 bytes) -> u64be registration | u64be accepted_ms
 *              | content digest (32); a format-1 store also has id-only keys (16 bytes) -> the
 *              first 16 bytes
 *   by_digest  keyed digest of agent and content (32 bytes) -> u64be registration | u64be
 *              accepted_ms
 *   registry   u64be registration -> record sealed to the registry's box key (opaque here)
 *   queue      partner NUL | u8 lane (0 acute, 1 normal) | u64be tag -> queue item
 *   hold       partner NUL | u64be tag -> queue item (held: nacked too often, or too old)
 *   unrouted   u64be registration | topic -> u64be held_ms | reason (a topic nobody is bound to)
 * Nothing in it is readable without the registry's or a partner's secret key: ids are random,
 * digests keyed, queue items sealed to their partner.
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

#define GW_STORE_FORMAT 2 /* 1: by_id by envelope id alone (upgraded at a writable open) */
#define GW_STORE_ID_BYTES 16

typedef struct gw_store gw_store;
typedef struct gw_store_txn gw_store_txn;

typedef struct gw_registration {
    uint64_t registration;
    uint64_t accepted_ms;
    int has_digest; /* by_id entries: the content the id was first used for */
    uint8_t digest[32];
} gw_registration;

/* Who a store is and how far it has numbered: see gw_ledger.h. */
typedef struct gw_store_ident {
    int has_id; /* 0 only for an older store opened read-only */
    uint8_t id[GW_STORE_ID_BYTES];
    uint64_t next_registration; /* the number the next registration gets */
    uint64_t registrations;     /* records in the registry */
    int created;                /* this open created the store */
} gw_store_ident;

/* Open or create the store in dir (created 0700 if missing). Checks the format record: another
 * version gives MN_EVERSION. read_only: for tools, never creates. Caller owns *out.
 * Returns MN_OK, MN_ESTORE, MN_EVERSION, MN_ESYS. */
MN_NODISCARD int gw_store_open(const char *dir, size_t map_size_mb, int read_only, gw_store **out,
                               mn_diag *d);

/* Close and free. NULL-safe; twice is harmless. */
void gw_store_destroy(gw_store **store_p);

/* Give the pages of the memory map back to the kernel's page cache. Reads fault them in again
 * from the cache (nothing is read from disk twice, nothing changes: the map is read-only and
 * LMDB writes with pwrite), so this is safe at any time, from any thread. Without it every item
 * a partner ever drained stays in the gateway's resident set. */
void gw_store_release_map(gw_store *store);

/* Begin the one write transaction, waiting while another thread holds it (the ingest writer
 * and the delivery loop take turns); commit or abort it on the same thread. A thread that
 * begins a second one gets MN_ESTORE (a bug: LMDB would hang). Returns MN_OK, MN_ESTORE. */
MN_NODISCARD int gw_store_begin(gw_store *store, gw_store_txn **txn_out, mn_diag *d);

/* The store's identity, next number and count. Returns MN_OK or MN_ESTORE (diag filled). */
MN_NODISCARD int gw_store_identity(gw_store *store, gw_store_ident *out, mn_diag *d);

/* Make the next registration number at least `next` (never lower it), in its own write
 * transaction: a store restored from an older copy goes on after the numbers it already gave.
 * Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_raise_next(gw_store *store, uint64_t next, mn_diag *d);

/* Look up by the sending agent's envelope id (out->digest: the content it was used for, when
 * has_digest) / by content digest inside txn. Returns MN_OK (filled) or MN_ENOTFOUND,
 * MN_ESTORE. */
MN_NODISCARD int gw_store_find_id(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                                  gw_registration *out);
MN_NODISCARD int gw_store_find_digest(gw_store_txn *txn, const uint8_t digest[32],
                                      gw_registration *out);

/* Take the next registration number (starting at 1) inside txn. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_next_registration(gw_store_txn *txn, uint64_t *reg_out);

/* Record a new registration: by_id[agent, id], by_digest[digest] and registry[reg] = sealed
 * record. Returns MN_OK, MN_EINVAL, MN_ESTORE (with "store is full" in the diag when the map is
 * full). */
MN_NODISCARD int gw_store_put_registration(gw_store_txn *txn, const char *agent,
                                           const uint8_t id[16], const uint8_t digest[32],
                                           const gw_registration *reg, const uint8_t *sealed,
                                           size_t sealed_len, mn_diag *d);

/* Record another envelope id of the same agent for an existing registration (same content,
 * new id). */
MN_NODISCARD int gw_store_put_alias(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                                    const uint8_t digest[32], const gw_registration *reg,
                                    mn_diag *d);

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
MN_NODISCARD int gw_store_registry_each(gw_store *store, int (*fn)(uint64_t reg, void *arg),
                                        void *arg);

/* --- partner queues ------------------------------------------------------------------------ */

#define GW_TOPICS_TEXT_MAX 1100 /* comma-joined topics of one item */
#define GW_REASON_MAX 256

/* One queued delivery. The sealed referral and signature are made at enqueue time. */
typedef struct gw_queue_item {
    char partner[65];
    uint64_t tag; /* unique per store, assigned by gw_store_queue_put */
    int acute;    /* lane 0: delivered before every normal item */
    uint64_t registration;
    uint64_t enqueued_ms;
    uint32_t attempts; /* deliveries so far */
    uint32_t nacks;
    uint64_t next_try_ms;            /* not delivered before this (0: at once) */
    char topics[GW_TOPICS_TEXT_MAX]; /* comma-joined */
    char reason[GW_REASON_MAX];      /* last nack reason / why held */
    union {                          /* one stored field: an item is in the queue or in the hold */
        uint64_t held_ms;            /* hold: when it went there */
        uint64_t deferred_ms;        /* queue: when the partner first deferred it (transient nack);
                                 0: it has not; cleared by a release */
    };
    uint8_t *sealed; /* owned (free) */
    size_t sealed_len;
    uint8_t signature[64];
} gw_queue_item;

/* Free item->sealed and zero it. NULL-safe. */
void gw_queue_item_clear(gw_queue_item *item);

/* Add an item (item->tag is set). Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_queue_put(gw_store_txn *txn, gw_queue_item *item, mn_diag *d);

/* Call fn with each item of `partner`'s queue, acute lane first, ascending tag within a lane, in
 * a read transaction; items are copies the callee may keep only by copying again (they are
 * cleared after fn returns). Stop when fn returns non-zero. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_queue_each(gw_store *store, const char *partner,
                                     int (*fn)(const gw_queue_item *item, void *arg), void *arg);

/* Read one item by tag (fills *out; caller clears). MN_OK, MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int gw_store_queue_get(gw_store_txn *txn, const char *partner, uint64_t tag,
                                    gw_queue_item *out);

/* Rewrite an item's bookkeeping (attempts, nacks, next_try_ms, reason, deferred_ms) by
 * partner+tag. */
MN_NODISCARD int gw_store_queue_update(gw_store_txn *txn, const gw_queue_item *item, mn_diag *d);

/* Remove an acknowledged item. MN_OK, MN_ENOTFOUND (already gone: ack twice), MN_ESTORE. */
MN_NODISCARD int gw_store_queue_ack(gw_store_txn *txn, const char *partner, uint64_t tag,
                                    mn_diag *d);

/* Move an item to the partner's hold queue with a reason. MN_OK, MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int gw_store_queue_hold(gw_store_txn *txn, const char *partner, uint64_t tag,
                                     const char *reason, mn_diag *d);

/* Items in a partner's queue and the enqueue time of the oldest (0 when empty): the count the
 * store keeps with the items and the first item of each lane, so cheap behind any backlog (an
 * older store opened read-only is counted key by key). MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_queue_depth(gw_store *store, const char *partner, uint64_t *count,
                                      uint64_t *oldest_enqueued_ms);

/* Items in a partner's hold queue (as cheap). MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_hold_depth(gw_store *store, const char *partner, uint64_t *count);

/* Items held (all partners) and unrouted topics waiting, from the databases' entry counts.
 * MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_totals(gw_store *store, uint64_t *held, uint64_t *unrouted);

/* The map's size and the bytes in use (up to the last page written), for the operators.
 * MN_OK or MN_ESTORE. */
MN_NODISCARD int gw_store_map_usage(gw_store *store, uint64_t *map_bytes, uint64_t *used_bytes);

/* Every held item of every partner (fn as in queue_each). */
MN_NODISCARD int gw_store_hold_each(gw_store *store,
                                    int (*fn)(const gw_queue_item *item, void *arg), void *arg);

/* Move a held item back to its queue: attempts and nacks reset, due at once.
 * MN_OK, MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int gw_store_hold_release(gw_store_txn *txn, const char *partner, uint64_t tag,
                                       mn_diag *d);

/* A topic of a registration that no partner is bound to (or no rule matched: topic ""). */
typedef struct gw_unrouted {
    uint64_t registration;
    char topic[65];
    uint64_t held_ms;
    char reason[GW_REASON_MAX];
} gw_unrouted;

MN_NODISCARD int gw_store_unrouted_put(gw_store_txn *txn, const gw_unrouted *u, mn_diag *d);
MN_NODISCARD int gw_store_unrouted_each(gw_store *store, int (*fn)(const gw_unrouted *u, void *arg),
                                        void *arg);
/* Remove one entry (after it was routed by a release). MN_OK, MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int gw_store_unrouted_remove(gw_store_txn *txn, uint64_t registration,
                                          const char *topic, mn_diag *d);

/* Read-only access for tools that route (meldnetctl hold release): a registry record inside a
 * write transaction. Caller owns *sealed (free()). MN_OK, MN_ENOTFOUND, MN_ESTORE, MN_ENOMEM. */
MN_NODISCARD int gw_store_txn_registry_get(gw_store_txn *txn, uint64_t reg, uint8_t **sealed,
                                           size_t *len);

#endif
