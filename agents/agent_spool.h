/* agent_spool.h - the agent's durable outbox: sealed envelopes in LMDB until a receipt comes.
 *
 * The only agent module that includes lmdb.h (its files: agent_spool.c, agent_spool_open.c;
 * agent_spool_impl.h). A spool is a directory (created 0700, its files 0600) holding one LMDB
 * environment with named databases:
 *   meta      "format" -> u32be AGENT_SPOOL_FORMAT; "next_seq" -> u64be (first seq is 1)
 *   items     u64be seq -> one item (state, ids, times, receipt or reject, the frame)
 *   by_id     envelope id (16 bytes) -> u64be seq
 *   queue     u64be seq -> u64be next_try_ms, for exactly the items in state queued
 * An item holds the encoded ToGateway frame (mn_wire_encode_envelope): already sealed to the
 * gateway and signed, so the spool never holds a report in clear and a stolen agent machine
 * cannot read its own spool. An acknowledged item keeps its metadata but drops its frame (the
 * gateway holds the report now); a rejected item keeps its frame.
 *
 * Durability: every write transaction is committed with fsync before the call returns (the
 * environment is never opened with MDB_NOSYNC), so a report agent_spool_add() has accepted
 * survives a crash or power loss.
 *
 * Sequence numbers go inside the signed envelope, so they are reserved before the envelope is
 * made (agent_spool_reserve_seq), then used by agent_spool_add. A reservation that is never
 * used leaves a gap; seqs are unique and increasing, not dense.
 *
 * Several processes may use one spool at once (a `submit` while `run` runs): LMDB serialises
 * the writers, every write transaction here is short, and readers never block. A marking
 * call on an item another process has already finished is a harmless no-op.
 *
 * Caveats: one process must not open the same spool twice (an LMDB rule). Times are wall-clock
 * ms since the Unix epoch (they outlive the process); see agent_spool_due for clock jumps.
 */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "mn_envelope.h"
#include "mn_error.h"

#define AGENT_SPOOL_FORMAT 1
#define AGENT_SPOOL_DEFAULT_MAP_MB 1024
#define AGENT_SPOOL_DETAIL_MAX 256 /* reject detail kept, NUL included */
#define AGENT_SPOOL_FRAME_MAX (64u * 1024 * 1024)

typedef struct agent_spool agent_spool;

typedef enum agent_spool_state {
    AGENT_SPOOL_QUEUED = 1,       /* waiting for a receipt; sent zero or more times */
    AGENT_SPOOL_ACKNOWLEDGED = 2, /* a verified receipt came back; final */
    AGENT_SPOOL_REJECTED = 3,     /* a reject that sending again cannot cure; final */
} agent_spool_state;

/* One item, copied out of the store. */
typedef struct agent_spool_item {
    uint64_t seq;
    agent_spool_state state;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    uint64_t created_ms;   /* when the envelope was sealed */
    uint32_t attempts;     /* times sent (a try that found no gateway counts too) */
    uint64_t last_sent_ms; /* the last of those; 0: never */
    uint64_t next_try_ms;  /* queued: send (again) from this time on; 0: at once */
    uint64_t registration; /* acknowledged: the gateway's registration number */
    int receipt_status;    /* acknowledged: enum mn_receipt_status, else 0 */
    uint64_t accepted_ms;  /* acknowledged: when the gateway first registered it */
    int reject_reason;     /* last reject (enum mn_reject_reason); 0: none */
    char reject_detail[AGENT_SPOOL_DETAIL_MAX];
    uint8_t *frame;   /* the ToGateway bytes when asked for (malloc, caller frees with */
    size_t frame_len; /* agent_spool_item_clear); NULL/0 otherwise or once acknowledged */
} agent_spool_item;

/* "queued", "acknowledged", "rejected"; "?" for anything else. */
const char *agent_spool_state_name(agent_spool_state state);

/* Free item->frame and zero the item. NULL-safe; twice is harmless. */
void agent_spool_item_clear(agent_spool_item *item);

/* Free an array from agent_spool_due (its frames too) and set *items_p to NULL. NULL-safe. */
void agent_spool_items_free(agent_spool_item **items_p, size_t n);

/* Open the spool in `dir`, made before by agent_spool_create. Checks data.mdb before LMDB maps
 * it (mn_lmdbcheck): a spool whose directory or data.mdb is missing, whose data.mdb is empty
 * (0 bytes: it was lost, not made) or damaged is MN_ESTORE with a hint (restore it from a
 * backup; `meldnet-agent new-spool` starts an empty one on purpose), never a new empty spool
 * and never a crash. map_size_mb bounds the store (0: AGENT_SPOOL_DEFAULT_MAP_MB). Refuses a
 * directory that group or others may enter (MN_EPERM, hint chmod 700), a file that is not an
 * LMDB spool (MN_ESTORE, the file is left untouched) and a spool of another format
 * (MN_EVERSION). Caller owns *out.
 * Returns MN_OK, MN_ESYS, MN_EPERM, MN_ESTORE, MN_EVERSION, MN_ENOMEM. */
MN_NODISCARD int agent_spool_open(const char *dir, size_t map_size_mb, agent_spool **out,
                                  mn_diag *d);

/* Make a new, empty spool in `dir` (made 0700 when missing; its files are created 0600) and open
 * it: only where no spool is (no data.mdb, or one of 0 bytes). For keygen and new-spool.
 * Returns what agent_spool_open returns, and MN_EEXIST when a data.mdb with content is there
 * (it is left untouched). */
MN_NODISCARD int agent_spool_create(const char *dir, size_t map_size_mb, agent_spool **out,
                                    mn_diag *d);

/* 1 when the last write that failed found no room (the spool's map is full, or the disk, a
 * quota or a file size limit: MDB_MAP_FULL, ENOSPC, EDQUOT, EFBIG), until a write succeeds.
 * Such a failure loses nothing and passes once there is room again: `run` retries. */
int agent_spool_is_short_of_space(const agent_spool *spool);

/* Close and free *spool_p, set it to NULL. NULL-safe; twice is harmless. */
void agent_spool_destroy(agent_spool **spool_p);

/* Reserve the next sequence number (durably: it is never handed out again).
 * Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int agent_spool_reserve_seq(agent_spool *spool, uint64_t *seq_out, mn_diag *d);

/* Store a new queued item: `frame` (frame_len bytes, copied) is the encoded ToGateway message
 * of the envelope with this seq (reserved before), id and created_ms. next_try_ms: when `run`
 * may send it (0: at once; a process that sends it itself passes a later time so another
 * process does not send it at the same moment). Durable on return (fsync).
 * Returns MN_OK, MN_EINVAL (seq 0 or not reserved, empty or oversized frame), MN_EEXIST (seq or
 * id stored already), MN_ESTORE (hint names a full spool). */
MN_NODISCARD int agent_spool_add(agent_spool *spool, uint64_t seq,
                                 const uint8_t id[MN_ENVELOPE_ID_BYTES], uint64_t created_ms,
                                 const uint8_t *frame, size_t frame_len, uint64_t next_try_ms,
                                 mn_diag *d);

/* Copy out the item with this seq / this envelope id; with_frame: also its frame (when it still
 * has one). The caller clears *out. Returns MN_OK, MN_ENOTFOUND, MN_ESTORE, MN_ENOMEM. */
MN_NODISCARD int agent_spool_get(agent_spool *spool, uint64_t seq, int with_frame,
                                 agent_spool_item *out, mn_diag *d);
MN_NODISCARD int agent_spool_find_id(agent_spool *spool, const uint8_t id[MN_ENVELOPE_ID_BYTES],
                                     int with_frame, agent_spool_item *out, mn_diag *d);

/* Call fn for every item in ascending seq order, without frames, until fn returns non-zero.
 * `item` is borrowed for the call only. fn runs inside a read transaction and must not call
 * other agent_spool functions. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int agent_spool_each(agent_spool *spool,
                                  int (*fn)(const agent_spool_item *item, void *arg), void *arg,
                                  mn_diag *d);

/* Items per state. */
typedef struct agent_spool_counts {
    uint64_t queued;
    uint64_t acknowledged;
    uint64_t rejected;
} agent_spool_counts;

/* Count the items per state. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int agent_spool_count(agent_spool *spool, agent_spool_counts *out, mn_diag *d);

/* Number of queued items (cheap: no scan). Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int agent_spool_queued(agent_spool *spool, uint64_t *n_out, mn_diag *d);

/* Copy out, with frames, up to `max` queued items that are due: next_try_ms <= now_ms, oldest
 * (lowest seq) first. An item whose next_try_ms lies more than max_ahead_ms after now_ms also
 * counts as due: the wall clock went back (0 turns that off). Caller owns *items_out (free
 * with agent_spool_items_free(items, *n_out)); *items_out is NULL when *n_out is 0.
 * Returns MN_OK, MN_ESTORE, MN_ENOMEM. */
MN_NODISCARD int agent_spool_due(agent_spool *spool, uint64_t now_ms, uint64_t max_ahead_ms,
                                 size_t max, agent_spool_item **items_out, size_t *n_out,
                                 mn_diag *d);

/* The earliest next_try_ms of any queued item, in *when_ms; MN_ENOTFOUND when none is queued.
 * Returns MN_OK, MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int agent_spool_next_due(agent_spool *spool, uint64_t *when_ms, mn_diag *d);

/* A send to record: the item was sent at sent_ms; try again from next_try_ms. */
typedef struct agent_spool_sent {
    uint64_t seq;
    uint64_t next_try_ms;
} agent_spool_sent;

/* Record sends in one transaction: attempts + 1, last_sent_ms = sent_ms, next_try_ms. Items no
 * longer queued (or gone) are skipped. Returns MN_OK or MN_ESTORE. */
MN_NODISCARD int agent_spool_mark_sent(agent_spool *spool, const agent_spool_sent *sent, size_t n,
                                       uint64_t sent_ms, mn_diag *d);

/* A verified receipt to record. */
typedef struct agent_spool_ack {
    uint64_t seq;
    int status; /* MN_RECEIPT_ACCEPTED or MN_RECEIPT_DUPLICATE */
    uint64_t registration;
    uint64_t accepted_ms;
} agent_spool_ack;

/* Record receipts in one transaction: state acknowledged, the receipt fields kept, the frame
 * dropped, the item leaves the queue. An item acknowledged already keeps its first receipt,
 * except that ACCEPTED replaces DUPLICATE for the same registration (a resend's DUPLICATE can
 * overtake the first ACCEPTED). For each ack, changed[i] (when changed is not NULL) is set to 1
 * when the item was queued before. Items not found are skipped (changed 0).
 * Returns MN_OK, MN_EINVAL (bad status or registration 0), MN_ESTORE. */
MN_NODISCARD int agent_spool_mark_acknowledged(agent_spool *spool, const agent_spool_ack *acks,
                                               size_t n, int *changed, mn_diag *d);

/* Record a reject that sending again cannot cure: state rejected, reason and detail kept (detail
 * may be NULL; it is cut to AGENT_SPOOL_DETAIL_MAX - 1 bytes), the item leaves the queue.
 * Returns MN_OK (also when the item is not queued any more: nothing changes), MN_ENOTFOUND,
 * MN_ESTORE. */
MN_NODISCARD int agent_spool_mark_rejected(agent_spool *spool, uint64_t seq, int reason,
                                           const char *detail, mn_diag *d);

/* Make a queued item due at once (next_try_ms = min(next_try_ms, now_ms)): a process that
 * claimed it with a later next_try_ms gives it up. Returns MN_OK (also when not queued any
 * more), MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int agent_spool_mark_due(agent_spool *spool, uint64_t seq, uint64_t now_ms,
                                      mn_diag *d);

/* Record a retryable reject: the item stays queued, reason and detail are kept, and it is due
 * again at next_try_ms. Returns MN_OK (also when not queued any more), MN_ENOTFOUND, MN_ESTORE. */
MN_NODISCARD int agent_spool_mark_retry(agent_spool *spool, uint64_t seq, int reason,
                                        const char *detail, uint64_t next_try_ms, mn_diag *d);

/* Remove a rejected item (its record, frame and id) for good: the person who made the report
 * has corrected and submitted it again, or decided not to. Only a rejected item is removed.
 * Returns MN_OK, MN_ENOTFOUND, MN_EINVAL (the item is queued or acknowledged; hint says why it
 * stays), MN_ESTORE. */
MN_NODISCARD int agent_spool_forget(agent_spool *spool, uint64_t seq, mn_diag *d);

#endif
