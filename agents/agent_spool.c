/* agent_spool.c - the agent's durable outbox in LMDB (layout and rules in agent_spool.h): its
 * items, written and read. agent_spool_open.c makes, checks and opens a spool (agent_spool_impl.h).
 *
 * Frames live in their own database so the per-item records stay small: scans (status, counts,
 * due) touch only small records, and marking an item rewrites ~80 bytes, never the frame.
 *
 * Item record (all integers big-endian; the meta "format" record versions this layout):
 *   u8 state | u8 receipt_status | u16 reject_reason | u32 attempts | id[16]
 *   | u64 created_ms | u64 last_sent_ms | u64 next_try_ms | u64 registration | u64 accepted_ms
 *   | u16 detail_len | detail
 *
 * Invariants, kept by every write transaction: an item is in `queue` exactly when its state is
 * queued, with the same next_try_ms; `by_id` maps every item's id to its seq; `frames` holds a
 * frame for every item that is not acknowledged.
 */
#include "agent_spool.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_spool_impl.h"
#include "mn_bytes.h"

#define S_HEADER_BYTES 66

/* --- small helpers ------------------------------------------------------------------------ */

const char *agent_spool_state_name(agent_spool_state state)
{
    switch (state) {
    case AGENT_SPOOL_QUEUED: return "queued";
    case AGENT_SPOOL_ACKNOWLEDGED: return "acknowledged";
    case AGENT_SPOOL_REJECTED: return "rejected";
    }
    return "?";
}

void agent_spool_item_clear(agent_spool_item *item)
{
    if (!item)
        return;
    free(item->frame);
    memset(item, 0, sizeof *item);
}

void agent_spool_items_free(agent_spool_item **items_p, size_t n)
{
    if (!items_p || !*items_p)
        return;
    for (size_t i = 0; i < n; i++)
        agent_spool_item_clear(&(*items_p)[i]);
    free(*items_p);
    *items_p = NULL;
}

/* No room to write: the spool's map is full, or the disk (or a quota or file size limit). */
static int s_no_room(int mrc)
{
    return mrc == MDB_MAP_FULL || mrc == ENOSPC || mrc == EFBIG || mrc == EDQUOT;
}

/* An LMDB failure as MN_ESTORE, with a hint that fits the cause. */
int agent_spool_mdb_fail(agent_spool *spool, mn_diag *d, int mrc, const char *doing)
{
    int rc = mn_diag_set(d, MN_ESTORE, spool ? spool->dir : "", "spool: %s: %s", doing,
                         mdb_strerror(mrc));
    if (spool) /* this failure's cause: another one (damage, a bug) is no lack of room */
        spool->short_of_space = s_no_room(mrc);
    if (mrc == MDB_MAP_FULL)
        mn_diag_hint(d, "the spool is full: let 'meldnet-agent run' deliver the queue, or raise "
                        "spool_map_mb in agent.conf");
    else if (s_no_room(mrc))
        mn_diag_hint(d, "the disk that holds the spool is full: free space there. Nothing queued "
                        "is lost; 'meldnet-agent run' goes on by itself once there is room");
    else if (mrc == MDB_INVALID || mrc == MDB_VERSION_MISMATCH || mrc == MDB_CORRUPTED)
        mn_diag_hint(d, "this is not a readable spool; move the directory aside (keep it for "
                        "analysis) and start a new one");
    return rc;
}

static int s_corrupt(const agent_spool *spool, mn_diag *d, uint64_t seq, const char *what)
{
    int rc = mn_diag_set(d, MN_ESTORE, spool->dir, "spool item seq=%llu is damaged: %s",
                         (unsigned long long)seq, what);
    mn_diag_hint(d, "copy the spool directory aside for analysis; the other items can still be "
                    "sent");
    return rc;
}

/* agent_spool_add found a seq or an id taken that cannot be: say what happened and what to do
 * (the code's own hint, "choose another name", would not fit). */
static int s_reused(const agent_spool *spool, mn_diag *d, const char *fmt, ...) MN_PRINTF(3, 4);
static int s_reused(const agent_spool *spool, mn_diag *d, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rc = mn_diag_set(d, MN_EEXIST, spool->dir, "the report was not queued: %s", what);
    mn_diag_hint(d, "the reports already in the spool are safe. Run 'meldnet-agent status' and "
                    "give its output to whoever looks after this computer; then submit the report "
                    "again");
    return rc;
}

/* --- item records ------------------------------------------------------------------------- */

static size_t s_detail_len(const char *detail)
{
    return detail ? strnlen(detail, AGENT_SPOOL_DETAIL_MAX - 1) : 0;
}

static void s_encode(const agent_spool_item *it, uint8_t *p)
{
    size_t dl = s_detail_len(it->reject_detail);
    p[0] = (uint8_t)it->state;
    p[1] = (uint8_t)it->receipt_status;
    mn_bytes_put_u16be(p + 2, (uint16_t)it->reject_reason);
    mn_bytes_put_u32be(p + 4, it->attempts);
    memcpy(p + 8, it->id, MN_ENVELOPE_ID_BYTES);
    mn_bytes_put_u64be(p + 24, it->created_ms);
    mn_bytes_put_u64be(p + 32, it->last_sent_ms);
    mn_bytes_put_u64be(p + 40, it->next_try_ms);
    mn_bytes_put_u64be(p + 48, it->registration);
    mn_bytes_put_u64be(p + 56, it->accepted_ms);
    mn_bytes_put_u16be(p + 64, (uint16_t)dl);
    memcpy(p + S_HEADER_BYTES, it->reject_detail, dl);
}

/* Decode a record into *out (frame left NULL). Returns MN_OK or MN_ESTORE. */
static int s_decode(const agent_spool *spool, uint64_t seq, const MDB_val *v, agent_spool_item *out,
                    mn_diag *d)
{
    const uint8_t *p = v->mv_data;
    memset(out, 0, sizeof *out);
    if (v->mv_size < S_HEADER_BYTES)
        return s_corrupt(spool, d, seq, "record too short");
    size_t dl = mn_bytes_get_u16be(p + 64);
    if (dl >= AGENT_SPOOL_DETAIL_MAX || v->mv_size != S_HEADER_BYTES + dl)
        return s_corrupt(spool, d, seq, "record length does not match");
    if (p[0] < AGENT_SPOOL_QUEUED || p[0] > AGENT_SPOOL_REJECTED)
        return s_corrupt(spool, d, seq, "unknown state");
    out->seq = seq;
    out->state = (agent_spool_state)p[0];
    out->receipt_status = p[1];
    out->reject_reason = mn_bytes_get_u16be(p + 2);
    out->attempts = mn_bytes_get_u32be(p + 4);
    memcpy(out->id, p + 8, MN_ENVELOPE_ID_BYTES);
    out->created_ms = mn_bytes_get_u64be(p + 24);
    out->last_sent_ms = mn_bytes_get_u64be(p + 32);
    out->next_try_ms = mn_bytes_get_u64be(p + 40);
    out->registration = mn_bytes_get_u64be(p + 48);
    out->accepted_ms = mn_bytes_get_u64be(p + 56);
    memcpy(out->reject_detail, p + S_HEADER_BYTES, dl);
    out->reject_detail[dl] = '\0';
    return MN_OK;
}

/* Write the record of `it` under its seq, and keep `queue` in step with its state. */
static int s_put_item(agent_spool *spool, MDB_txn *txn, const agent_spool_item *it, mn_diag *d)
{
    uint8_t kbuf[8];
    uint8_t rec[S_HEADER_BYTES + AGENT_SPOOL_DETAIL_MAX];
    uint8_t when[8];
    mn_bytes_put_u64be(kbuf, it->seq);
    s_encode(it, rec);
    MDB_val k = {sizeof kbuf, kbuf};
    MDB_val v = {S_HEADER_BYTES + s_detail_len(it->reject_detail), rec};
    int mrc = mdb_put(txn, spool->items, &k, &v, 0);
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "writing an item");
    if (it->state == AGENT_SPOOL_QUEUED) {
        mn_bytes_put_u64be(when, it->next_try_ms);
        MDB_val w = {sizeof when, when};
        mrc = mdb_put(txn, spool->queue, &k, &w, 0);
    } else {
        mrc = mdb_del(txn, spool->queue, &k, NULL);
        if (mrc == MDB_NOTFOUND)
            mrc = 0;
    }
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "updating the queue");
    return MN_OK;
}

/* Read item `seq` inside txn. Returns MN_OK, MN_ENOTFOUND (diag untouched), MN_ESTORE,
 * MN_ENOMEM. */
static int s_get_in(agent_spool *spool, MDB_txn *txn, uint64_t seq, int with_frame,
                    agent_spool_item *out, mn_diag *d)
{
    uint8_t kbuf[8];
    mn_bytes_put_u64be(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf};
    MDB_val v;
    int mrc = mdb_get(txn, spool->items, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return MN_ENOTFOUND;
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "reading an item");
    int rc = s_decode(spool, seq, &v, out, d);
    if (rc != MN_OK || !with_frame)
        return rc;
    mrc = mdb_get(txn, spool->frames, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        if (out->state == AGENT_SPOOL_ACKNOWLEDGED)
            return MN_OK;
        return s_corrupt(spool, d, seq, "its frame is missing");
    }
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "reading a frame");
    out->frame = malloc(v.mv_size ? v.mv_size : 1);
    if (!out->frame)
        return mn_diag_set(d, MN_ENOMEM, spool->dir, "no memory for a %zu-byte frame", v.mv_size);
    memcpy(out->frame, v.mv_data, v.mv_size);
    out->frame_len = v.mv_size;
    return MN_OK;
}

/* --- transactions ------------------------------------------------------------------------- */

int agent_spool_txn_begin(agent_spool *spool, int read_only, MDB_txn **txn, mn_diag *d)
{
    int mrc = mdb_txn_begin(spool->env, NULL, read_only ? MDB_RDONLY : 0, txn);
    if (mrc == MDB_MAP_RESIZED) {
        /* Another process (with a larger spool_map_mb) grew the map: adopt its size. */
        mrc = mdb_env_set_mapsize(spool->env, 0);
        if (mrc == 0)
            mrc = mdb_txn_begin(spool->env, NULL, read_only ? MDB_RDONLY : 0, txn);
    }
    if (mrc != 0) {
        *txn = NULL;
        return agent_spool_mdb_fail(spool, d, mrc, "starting a transaction");
    }
    if (!read_only)
        spool->short_of_space = 0; /* a write begins: only its own failure may say "no room" */
    return MN_OK;
}

/* Commit (fsync before return) or, when rc is not MN_OK, abort. Returns rc or the commit's
 * error. *txn is NULL afterwards. */
int agent_spool_txn_end(agent_spool *spool, MDB_txn **txn, int rc, mn_diag *d)
{
    if (!*txn)
        return rc;
    if (rc != MN_OK) {
        mdb_txn_abort(*txn);
        *txn = NULL;
        return rc;
    }
    int mrc = mdb_txn_commit(*txn);
    *txn = NULL;
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "committing");
    spool->short_of_space = 0;
    return MN_OK;
}

/* --- writing ------------------------------------------------------------------------------ */

static int s_read_next_seq(agent_spool *spool, MDB_txn *txn, uint64_t *next, mn_diag *d)
{
    MDB_val k = {8, "next_seq"};
    MDB_val v;
    int mrc = mdb_get(txn, spool->meta, &k, &v);
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "reading next_seq");
    if (v.mv_size != 8)
        return mn_diag_set(d, MN_ESTORE, spool->dir, "the spool's next_seq record is damaged");
    *next = mn_bytes_get_u64be(v.mv_data);
    return MN_OK;
}

int agent_spool_reserve_seq(agent_spool *spool, uint64_t *seq_out, mn_diag *d)
{
    MDB_txn *txn = NULL;
    uint64_t next = 0;
    uint8_t buf[8];
    int rc = agent_spool_txn_begin(spool, 0, &txn, d);
    if (rc != MN_OK)
        goto out;
    if ((rc = s_read_next_seq(spool, txn, &next, d)) != MN_OK)
        goto out;
    mn_bytes_put_u64be(buf, next + 1);
    MDB_val k = {8, "next_seq"};
    MDB_val v = {sizeof buf, buf};
    int mrc = mdb_put(txn, spool->meta, &k, &v, 0);
    if (mrc != 0)
        rc = agent_spool_mdb_fail(spool, d, mrc, "writing next_seq");
out:
    rc = agent_spool_txn_end(spool, &txn, rc, d);
    if (rc == MN_OK)
        *seq_out = next;
    return rc;
}

int agent_spool_add(agent_spool *spool, uint64_t seq, const uint8_t id[MN_ENVELOPE_ID_BYTES],
                    uint64_t created_ms, const uint8_t *frame, size_t frame_len,
                    uint64_t next_try_ms, mn_diag *d)
{
    MDB_txn *txn = NULL;
    uint64_t next = 0;
    uint8_t kbuf[8];
    int mrc;
    int rc = MN_OK;

    if (!frame || frame_len == 0 || frame_len > AGENT_SPOOL_FRAME_MAX)
        return mn_diag_set(d, MN_EINVAL, spool->dir, "a frame of %zu bytes cannot be spooled",
                           frame_len);
    if ((rc = agent_spool_txn_begin(spool, 0, &txn, d)) != MN_OK)
        goto out;
    if ((rc = s_read_next_seq(spool, txn, &next, d)) != MN_OK)
        goto out;
    if (seq == 0 || seq >= next) {
        rc = mn_diag_set(d, MN_EINVAL, spool->dir, "seq %llu was not reserved",
                         (unsigned long long)seq);
        goto out;
    }
    mn_bytes_put_u64be(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf};
    MDB_val v;
    if ((mrc = mdb_get(txn, spool->items, &k, &v)) != MDB_NOTFOUND) {
        if (mrc)
            rc = agent_spool_mdb_fail(spool, d, mrc, "checking the seq");
        else
            rc = s_reused(spool, d,
                          "its next free seq %llu is taken already: the spool is "
                          "damaged or was put back from an older copy",
                          (unsigned long long)seq);
        goto out;
    }
    MDB_val idk = {MN_ENVELOPE_ID_BYTES, (void *)id};
    MDB_val idv = {sizeof kbuf, kbuf};
    mrc = mdb_put(txn, spool->by_id, &idk, &idv, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) {
        rc = s_reused(spool, d,
                      "this envelope id is in the spool already (seq %llu): the spool "
                      "is damaged or the report was sealed twice",
                      (unsigned long long)seq);
        goto out;
    }
    if (mrc != 0) {
        rc = agent_spool_mdb_fail(spool, d, mrc, "indexing the id");
        goto out;
    }
    MDB_val fv = {frame_len, (void *)frame};
    if ((mrc = mdb_put(txn, spool->frames, &k, &fv, 0)) != 0) {
        rc = agent_spool_mdb_fail(spool, d, mrc, "storing the frame");
        goto out;
    }
    agent_spool_item it = {0};
    it.seq = seq;
    it.state = AGENT_SPOOL_QUEUED;
    memcpy(it.id, id, MN_ENVELOPE_ID_BYTES);
    it.created_ms = created_ms;
    it.next_try_ms = next_try_ms;
    rc = s_put_item(spool, txn, &it, d);
out:
    return agent_spool_txn_end(spool, &txn, rc, d);
}

/* s_get_in (without the frame) for a batch update, which skips a seq that is not in the spool:
 * then MN_OK with *it zeroed (seq 0, no state). */
static int s_get_or_none(agent_spool *spool, MDB_txn *txn, uint64_t seq, agent_spool_item *it,
                         mn_diag *d)
{
    int rc = s_get_in(spool, txn, seq, 0, it, d);
    if (rc == MN_ENOTFOUND) {
        memset(it, 0, sizeof *it);
        rc = MN_OK;
    }
    return rc;
}

int agent_spool_mark_sent(agent_spool *spool, const agent_spool_sent *sent, size_t n,
                          uint64_t sent_ms, mn_diag *d)
{
    MDB_txn *txn = NULL;
    int rc = MN_OK;
    if (n == 0)
        return MN_OK;
    if ((rc = agent_spool_txn_begin(spool, 0, &txn, d)) != MN_OK)
        goto out;
    for (size_t i = 0; i < n && rc == MN_OK; i++) {
        agent_spool_item it;
        rc = s_get_or_none(spool, txn, sent[i].seq, &it, d);
        if (rc != MN_OK || it.state != AGENT_SPOOL_QUEUED)
            continue;
        if (it.attempts < UINT32_MAX)
            it.attempts++;
        it.last_sent_ms = sent_ms;
        it.next_try_ms = sent[i].next_try_ms;
        rc = s_put_item(spool, txn, &it, d);
    }
out:
    return agent_spool_txn_end(spool, &txn, rc, d);
}

static int s_delete_frame(agent_spool *spool, MDB_txn *txn, uint64_t seq, mn_diag *d)
{
    uint8_t kbuf[8];
    mn_bytes_put_u64be(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf};
    int mrc = mdb_del(txn, spool->frames, &k, NULL);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return agent_spool_mdb_fail(spool, d, mrc, "dropping a frame");
    return MN_OK;
}

int agent_spool_mark_acknowledged(agent_spool *spool, const agent_spool_ack *acks, size_t n,
                                  int *changed, mn_diag *d)
{
    MDB_txn *txn = NULL;
    int rc = MN_OK;
    for (size_t i = 0; i < n; i++) {
        if (changed)
            changed[i] = 0;
        if ((acks[i].status != MN_RECEIPT_ACCEPTED && acks[i].status != MN_RECEIPT_DUPLICATE) ||
            acks[i].registration == 0)
            return mn_diag_set(d, MN_EINVAL, spool->dir,
                               "a receipt with status %d and "
                               "registration %llu cannot be recorded",
                               acks[i].status, (unsigned long long)acks[i].registration);
    }
    if (n == 0)
        return MN_OK;
    if ((rc = agent_spool_txn_begin(spool, 0, &txn, d)) != MN_OK)
        goto out;
    for (size_t i = 0; i < n && rc == MN_OK; i++) {
        agent_spool_item it;
        rc = s_get_or_none(spool, txn, acks[i].seq, &it, d);
        if (rc != MN_OK)
            break;
        if (it.seq == 0)
            continue;
        if (it.state == AGENT_SPOOL_ACKNOWLEDGED) {
            /* Keep the first receipt, but the gateway's ACCEPTED says more than a DUPLICATE it
             * gave to a resend of the same envelope. */
            if (it.receipt_status == MN_RECEIPT_DUPLICATE &&
                acks[i].status == MN_RECEIPT_ACCEPTED && it.registration == acks[i].registration) {
                it.receipt_status = MN_RECEIPT_ACCEPTED;
                it.accepted_ms = acks[i].accepted_ms;
                rc = s_put_item(spool, txn, &it, d);
            }
            continue;
        }
        /* A signed receipt wins over an earlier reject too: the gateway has registered it. */
        it.state = AGENT_SPOOL_ACKNOWLEDGED;
        it.receipt_status = acks[i].status;
        it.registration = acks[i].registration;
        it.accepted_ms = acks[i].accepted_ms;
        it.next_try_ms = 0;
        if ((rc = s_put_item(spool, txn, &it, d)) != MN_OK)
            break;
        rc = s_delete_frame(spool, txn, it.seq, d);
        if (changed)
            changed[i] = 1;
    }
out:
    rc = agent_spool_txn_end(spool, &txn, rc, d);
    if (rc != MN_OK && changed)
        memset(changed, 0, n * sizeof *changed);
    return rc;
}

enum s_mark { S_MARK_REJECTED, S_MARK_RETRY, S_MARK_DUE };

/* Shared by mark_rejected, mark_retry and mark_due: only a queued item changes. */
static int s_mark(agent_spool *spool, uint64_t seq, enum s_mark how, int reason, const char *detail,
                  uint64_t when_ms, mn_diag *d)
{
    MDB_txn *txn = NULL;
    agent_spool_item it;
    int rc = agent_spool_txn_begin(spool, 0, &txn, d);
    if (rc != MN_OK)
        goto out;
    rc = s_get_in(spool, txn, seq, 0, &it, d);
    if (rc == MN_ENOTFOUND) {
        rc = mn_diag_set(d, MN_ENOTFOUND, spool->dir, "no spool item seq=%llu",
                         (unsigned long long)seq);
        goto out;
    }
    if (rc != MN_OK || it.state != AGENT_SPOOL_QUEUED)
        goto out;
    if (how == S_MARK_DUE) {
        if (it.next_try_ms <= when_ms)
            goto out; /* nothing to change */
        it.next_try_ms = when_ms;
    } else {
        size_t dl = s_detail_len(detail);
        it.reject_reason = reason;
        if (dl)
            memcpy(it.reject_detail, detail, dl);
        it.reject_detail[dl] = '\0';
        if (how == S_MARK_REJECTED) {
            it.state = AGENT_SPOOL_REJECTED;
            it.next_try_ms = 0;
        } else {
            it.next_try_ms = when_ms;
        }
    }
    rc = s_put_item(spool, txn, &it, d);
out:
    return agent_spool_txn_end(spool, &txn, rc, d);
}

int agent_spool_mark_rejected(agent_spool *spool, uint64_t seq, int reason, const char *detail,
                              mn_diag *d)
{
    return s_mark(spool, seq, S_MARK_REJECTED, reason, detail, 0, d);
}

int agent_spool_mark_retry(agent_spool *spool, uint64_t seq, int reason, const char *detail,
                           uint64_t next_try_ms, mn_diag *d)
{
    return s_mark(spool, seq, S_MARK_RETRY, reason, detail, next_try_ms, d);
}

int agent_spool_mark_due(agent_spool *spool, uint64_t seq, uint64_t now_ms, mn_diag *d)
{
    return s_mark(spool, seq, S_MARK_DUE, 0, NULL, now_ms, d);
}

int agent_spool_forget(agent_spool *spool, uint64_t seq, mn_diag *d)
{
    MDB_txn *txn = NULL;
    agent_spool_item it;
    uint8_t kbuf[8];
    int mrc;
    int rc = agent_spool_txn_begin(spool, 0, &txn, d);
    if (rc != MN_OK)
        goto out;
    rc = s_get_in(spool, txn, seq, 0, &it, d);
    if (rc == MN_ENOTFOUND) {
        rc = mn_diag_set(d, MN_ENOTFOUND, spool->dir, "no report seq=%llu in the spool",
                         (unsigned long long)seq);
        mn_diag_hint(d, "'meldnet-agent status' lists the reports with their seq");
        goto out;
    }
    if (rc != MN_OK)
        goto out;
    if (it.state != AGENT_SPOOL_REJECTED) {
        rc = mn_diag_set(d, MN_EINVAL, spool->dir,
                         "report seq=%llu is %s, not refused: only a "
                         "refused report can be forgotten",
                         (unsigned long long)seq, agent_spool_state_name(it.state));
        mn_diag_hint(d, it.state == AGENT_SPOOL_QUEUED
                            ? "it is still waiting to reach the gateway: leave it to "
                              "'meldnet-agent run'"
                            : "the gateway has it; its record here is kept as proof");
        goto out;
    }
    mn_bytes_put_u64be(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf};
    MDB_val idk = {MN_ENVELOPE_ID_BYTES, it.id};
    if ((mrc = mdb_del(txn, spool->items, &k, NULL)) != 0 ||
        ((mrc = mdb_del(txn, spool->by_id, &idk, NULL)) != 0 && mrc != MDB_NOTFOUND) ||
        ((mrc = mdb_del(txn, spool->queue, &k, NULL)) != 0 && mrc != MDB_NOTFOUND)) {
        rc = agent_spool_mdb_fail(spool, d, mrc, "removing a refused report");
        goto out;
    }
    rc = s_delete_frame(spool, txn, seq, d);
out:
    return agent_spool_txn_end(spool, &txn, rc, d);
}

/* --- reading ------------------------------------------------------------------------------ */

/* Read one item in a read-only transaction: item `seq`, or when id is not NULL the item of that
 * envelope id. */
static int s_read_item(agent_spool *spool, uint64_t seq, const uint8_t *id, int with_frame,
                       agent_spool_item *out, mn_diag *d)
{
    MDB_txn *txn = NULL;
    memset(out, 0, sizeof *out);
    int rc = agent_spool_txn_begin(spool, 1, &txn, d);
    if (rc != MN_OK)
        goto out;
    if (id) {
        MDB_val k = {MN_ENVELOPE_ID_BYTES, (void *)id};
        MDB_val v;
        int mrc = mdb_get(txn, spool->by_id, &k, &v);
        if (mrc == MDB_NOTFOUND) {
            rc = mn_diag_set(d, MN_ENOTFOUND, spool->dir, "no spool item with this envelope id");
            goto out;
        }
        if (mrc != 0) {
            rc = agent_spool_mdb_fail(spool, d, mrc, "looking up an id");
            goto out;
        }
        if (v.mv_size != 8) {
            rc = mn_diag_set(d, MN_ESTORE, spool->dir, "the spool's id index is damaged");
            goto out;
        }
        seq = mn_bytes_get_u64be(v.mv_data);
    }
    rc = s_get_in(spool, txn, seq, with_frame, out, d);
    if (rc == MN_ENOTFOUND)
        rc = id ? s_corrupt(spool, d, seq, "the id index names a missing item")
                : mn_diag_set(d, MN_ENOTFOUND, spool->dir, "no spool item seq=%llu",
                              (unsigned long long)seq);
out:
    mdb_txn_abort(txn);
    if (rc != MN_OK)
        agent_spool_item_clear(out);
    return rc;
}

int agent_spool_get(agent_spool *spool, uint64_t seq, int with_frame, agent_spool_item *out,
                    mn_diag *d)
{
    return s_read_item(spool, seq, NULL, with_frame, out, d);
}

int agent_spool_find_id(agent_spool *spool, const uint8_t id[MN_ENVELOPE_ID_BYTES], int with_frame,
                        agent_spool_item *out, mn_diag *d)
{
    return s_read_item(spool, 0, id, with_frame, out, d);
}

/* One step of a walk over a database: returns <0 an error, 0 go on, >0 stop. */
typedef int s_walk_fn(agent_spool *spool, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                      void *arg, mn_diag *d);

/* Walk a database in key order, in a read-only transaction of its own. */
static int s_walk(agent_spool *spool, MDB_dbi dbi, s_walk_fn *fn, void *arg, mn_diag *d)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = agent_spool_txn_begin(spool, 1, &txn, d);
    if (rc != MN_OK)
        return rc;
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc != 0) {
        rc = agent_spool_mdb_fail(spool, d, mrc, "opening a cursor");
        goto out;
    }
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int r = fn(spool, txn, &k, &v, arg, d);
        if (r < 0)
            rc = r;
        if (r != 0)
            break;
    }
    if (rc == MN_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = agent_spool_mdb_fail(spool, d, mrc, "reading");
    mdb_cursor_close(cur);
out:
    mdb_txn_abort(txn);
    return rc;
}

static int s_seq_of(agent_spool *spool, const MDB_val *k, uint64_t *seq, mn_diag *d)
{
    if (k->mv_size != 8)
        return mn_diag_set(d, MN_ESTORE, spool->dir, "the spool holds a key of %zu bytes",
                           k->mv_size);
    *seq = mn_bytes_get_u64be(k->mv_data);
    return MN_OK;
}

struct s_each_ctx {
    int (*fn)(const agent_spool_item *item, void *arg);
    void *arg;
    agent_spool_counts *counts;
};

static int s_each_one(agent_spool *spool, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                      void *arg, mn_diag *d)
{
    struct s_each_ctx *ctx = arg;
    agent_spool_item it;
    uint64_t seq = 0;
    (void)txn;
    int rc = s_seq_of(spool, k, &seq, d);
    if (rc == MN_OK)
        rc = s_decode(spool, seq, v, &it, d);
    if (rc != MN_OK)
        return rc;
    if (ctx->counts) {
        if (it.state == AGENT_SPOOL_QUEUED)
            ctx->counts->queued++;
        else if (it.state == AGENT_SPOOL_ACKNOWLEDGED)
            ctx->counts->acknowledged++;
        else
            ctx->counts->rejected++;
    }
    return ctx->fn && ctx->fn(&it, ctx->arg) ? 1 : 0;
}

int agent_spool_each(agent_spool *spool, int (*fn)(const agent_spool_item *item, void *arg),
                     void *arg, mn_diag *d)
{
    struct s_each_ctx ctx = {fn, arg, NULL};
    return s_walk(spool, spool->items, s_each_one, &ctx, d);
}

int agent_spool_count(agent_spool *spool, agent_spool_counts *out, mn_diag *d)
{
    memset(out, 0, sizeof *out);
    struct s_each_ctx ctx = {NULL, NULL, out};
    int rc = s_walk(spool, spool->items, s_each_one, &ctx, d);
    if (rc != MN_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

int agent_spool_queued(agent_spool *spool, uint64_t *n_out, mn_diag *d)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    int rc = agent_spool_txn_begin(spool, 1, &txn, d);
    if (rc == MN_OK) {
        int mrc = mdb_stat(txn, spool->queue, &st);
        if (mrc != 0)
            rc = agent_spool_mdb_fail(spool, d, mrc, "counting the queue");
        else
            *n_out = st.ms_entries;
    }
    mdb_txn_abort(txn);
    return rc;
}

/* A walk of the queue: with items, agent_spool_due (copy out what is due, up to max);
 * without, agent_spool_next_due (the earliest next_try_ms). */
struct s_due_ctx {
    uint64_t now_ms;
    uint64_t max_ahead_ms;
    size_t max;
    agent_spool_item *items;
    size_t n;
    uint64_t earliest;
    int any;
};

static int s_due_one(agent_spool *spool, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                     void *arg, mn_diag *d)
{
    struct s_due_ctx *ctx = arg;
    uint64_t seq = 0;
    int rc = s_seq_of(spool, k, &seq, d);
    if (rc != MN_OK)
        return rc;
    if (v->mv_size != 8)
        return s_corrupt(spool, d, seq, "its queue entry is damaged");
    uint64_t when = mn_bytes_get_u64be(v->mv_data);
    if (!ctx->items) {
        if (!ctx->any || when < ctx->earliest)
            ctx->earliest = when;
        ctx->any = 1;
        return 0;
    }
    int due = when <= ctx->now_ms || (ctx->max_ahead_ms && when - ctx->now_ms > ctx->max_ahead_ms);
    if (!due)
        return 0;
    rc = s_get_in(spool, txn, seq, 1, &ctx->items[ctx->n], d);
    if (rc == MN_ENOTFOUND)
        return s_corrupt(spool, d, seq, "the queue names a missing item");
    if (rc != MN_OK)
        return rc;
    ctx->n++;
    return ctx->n == ctx->max ? 1 : 0;
}

int agent_spool_due(agent_spool *spool, uint64_t now_ms, uint64_t max_ahead_ms, size_t max,
                    agent_spool_item **items_out, size_t *n_out, mn_diag *d)
{
    struct s_due_ctx ctx = {.now_ms = now_ms, .max_ahead_ms = max_ahead_ms, .max = max};
    *items_out = NULL;
    *n_out = 0;
    if (max == 0)
        return MN_OK;
    if (max > SIZE_MAX / sizeof *ctx.items)
        return mn_diag_set(d, MN_EINVAL, spool->dir, "too many items asked for");
    ctx.items = calloc(max, sizeof *ctx.items);
    if (!ctx.items)
        return mn_diag_set(d, MN_ENOMEM, spool->dir, "no memory for %zu items", max);
    int rc = s_walk(spool, spool->queue, s_due_one, &ctx, d);
    if (rc != MN_OK || ctx.n == 0) {
        agent_spool_items_free(&ctx.items, ctx.n);
        return rc;
    }
    *items_out = ctx.items;
    *n_out = ctx.n;
    return MN_OK;
}

int agent_spool_next_due(agent_spool *spool, uint64_t *when_ms, mn_diag *d)
{
    struct s_due_ctx ctx = {0};
    int rc = s_walk(spool, spool->queue, s_due_one, &ctx, d);
    if (rc == MN_OK && !ctx.any)
        return MN_ENOTFOUND;
    if (rc == MN_OK)
        *when_ms = ctx.earliest;
    return rc;
}
