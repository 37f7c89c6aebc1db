/* gw_store_queue.c - gw_store: the partner queues, the hold, their per-partner counts, and
 * the unrouted topics (see gw_store_impl.h for the module's other files).
 *
 * Queue items are encoded here and nowhere else (s_item_*): a version byte, the fixed-width
 * fields, then each variable field behind its length. Decoding checks every length against
 * what is left and against the struct's limits, so a damaged value is MN_ESTORE, never a read
 * past its end. The partner and tag live in the key; the lane is in the key of the queue and in
 * the value (so an item released from the hold goes back to its own lane).
 */
#include "gw_store.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_store_impl.h"
#include "mn_bytes.h"
#include "mn_key.h"
#include "mn_time.h"

#define S_KEY_NEXT_TAG "next_tag"
/* Per-partner item counts, kept in meta in the same transaction as the items: "queue_count" or
 * "hold_count", NUL, the partner's name -> u64be. S_KEY_COUNTS marks a store that has them
 * (added at the first read-write open of an older store). Counting keys instead would read
 * every leaf page of a queue, and items small enough to sit in their leaf (a short referral)
 * make that as dear as reading the items. */
#define S_KEY_COUNTS "counts_v1"
#define S_COUNT_QUEUE "queue_count"
#define S_COUNT_HOLD "hold_count"

/* --- per-partner counts --------------------------------------------------------------------- */

/* "kind NUL partner" into buf; its length, 0 for a name that cannot be a key. */
static size_t s_count_key(uint8_t *buf, size_t cap, const char *kind, const char *partner)
{
    size_t k = strlen(kind) + 1, n = partner ? strnlen(partner, MN_NAME_MAX + 1) : 0;
    if (n == 0 || n > MN_NAME_MAX || k + n > cap)
        return 0;
    memcpy(buf, kind, k); /* with its NUL */
    memcpy(buf + k, partner, n);
    return k + n;
}

/* The count under key k (from s_count_key) as of txn. MN_OK (0 when there is none) or
 * MN_ESTORE. */
static int s_count_read(MDB_txn *txn, MDB_dbi meta, MDB_val *k, uint64_t *count)
{
    MDB_val v;
    *count = 0;
    int rc = mdb_get(txn, meta, k, &v);
    if (rc == MDB_NOTFOUND)
        return MN_OK;
    if (rc != 0 || v.mv_size != 8)
        return MN_ESTORE;
    *count = mn_bytes_get_u64be(v.mv_data);
    return MN_OK;
}

/* A partner's count of `kind` as of txn. MN_OK (0 when there is none) or MN_ESTORE. */
static int s_count_get(MDB_txn *txn, MDB_dbi meta, const char *kind, const char *partner,
                       uint64_t *count)
{
    uint8_t key[32 + MN_NAME_MAX];
    MDB_val k = {s_count_key(key, sizeof key, kind, partner), key};
    *count = 0;
    return k.mv_size == 0 ? MN_OK : s_count_read(txn, meta, &k, count);
}

/* Per-partner counts of one database's keys ("partner NUL ..."), added to *tally. */
typedef struct s_tally {
    char partner[MN_NAME_MAX + 1];
    uint64_t n;
} s_tally;

static int s_tally_keys(MDB_txn *txn, MDB_dbi dbi, s_tally **tally, size_t *n_tally)
{
    MDB_cursor *cur = NULL;
    MDB_val k;
    if (mdb_cursor_open(txn, dbi, &cur) != 0)
        return MN_ESTORE;
    int mrc = mdb_cursor_get(cur, &k, NULL, MDB_FIRST), rc = MN_OK;
    for (; mrc == 0 && rc == MN_OK; mrc = mdb_cursor_get(cur, &k, NULL, MDB_NEXT)) {
        const char *name = k.mv_data;
        size_t len = strnlen(name, k.mv_size);
        if (len == 0 || len > MN_NAME_MAX || len == k.mv_size) {
            rc = MN_ESTORE;
            break;
        }
        if (*n_tally == 0 || strncmp((*tally)[*n_tally - 1].partner, name, len + 1) != 0) {
            s_tally *grown = realloc(*tally, (*n_tally + 1) * sizeof *grown);
            if (!grown) {
                rc = MN_ENOMEM;
                break;
            }
            *tally = grown;
            memset(&grown[*n_tally], 0, sizeof *grown);
            memcpy(grown[*n_tally].partner, name, len);
            (*n_tally)++;
        }
        (*tally)[*n_tally - 1].n++; /* keys are sorted: a partner's keys are together */
    }
    mdb_cursor_close(cur);
    if (rc == MN_OK && mrc != MDB_NOTFOUND && mrc != 0)
        rc = MN_ESTORE;
    return rc;
}

/* Write one database's tally as `kind` counts. */
static int s_tally_write(gw_store *store, MDB_txn *txn, const char *kind, const s_tally *t,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t key[32 + MN_NAME_MAX], buf[8];
        MDB_val k = {s_count_key(key, sizeof key, kind, t[i].partner), key};
        mn_bytes_put_u64be(buf, t[i].n);
        MDB_val v = {sizeof buf, buf};
        if (k.mv_size == 0 || mdb_put(txn, store->meta, &k, &v, 0) != 0)
            return MN_ESTORE;
    }
    return MN_OK;
}

/* A store from before the counts: count every queue and hold once (keys only) and mark it. */
int gw_store_counts_init(gw_store *store, MDB_txn *txn, mn_diag *d)
{
    MDB_val mk = {sizeof S_KEY_COUNTS - 1, (void *)S_KEY_COUNTS}, mv;
    int rc = mdb_get(txn, store->meta, &mk, &mv);
    if (rc == 0)
        return MN_OK;
    if (rc != MDB_NOTFOUND)
        return gw_store_fail(store, d, rc, "reading the queue counts");
    s_tally *tally = NULL;
    size_t n = 0;
    rc = s_tally_keys(txn, store->queue, &tally, &n);
    if (rc == MN_OK)
        rc = s_tally_write(store, txn, S_COUNT_QUEUE, tally, n);
    free(tally);
    tally = NULL;
    n = 0;
    if (rc == MN_OK)
        rc = s_tally_keys(txn, store->hold, &tally, &n);
    if (rc == MN_OK)
        rc = s_tally_write(store, txn, S_COUNT_HOLD, tally, n);
    free(tally);
    uint8_t one = 1;
    MDB_val ov = {1, &one};
    if (rc == MN_OK && mdb_put(txn, store->meta, &mk, &ov, 0) != 0)
        rc = MN_ESTORE;
    if (rc != MN_OK)
        return mn_diag_set(d, rc, store->dir, "cannot count the partner queues");
    return MN_OK;
}

/* --- partner queues: keys and item values ---------------------------------------------------- */

#define S_LANE_ACUTE 0
#define S_LANE_NORMAL 1
#define S_TOPIC_MAX (sizeof((gw_unrouted *)NULL)->topic - 1)
#define S_QKEY_MAX (MN_NAME_MAX + 1 + 1 + 8) /* partner NUL lane tag */
#define S_UKEY_MAX (8 + S_TOPIC_MAX)         /* registration topic */

#define S_ITEM_VERSION 1
#define S_ITEM_FLAG_ACUTE 0x01
/* u8 version | u8 flags | u64be registration | u64be enqueued_ms | u32be attempts
 * | u32be nacks | u64be next_try_ms | u64be held_ms | signature (64) */
#define S_ITEM_FIXED (1 + 1 + 8 + 8 + 4 + 4 + 8 + 8 + 64)
/* ... then u16be len(topics) | topics | u16be len(reason) | reason | u32be len(sealed) | sealed */
#define S_ITEM_MIN (S_ITEM_FIXED + 2 + 2 + 4 + 1)

/* "partner NUL [lane] tag" into buf (S_QKEY_MAX); lane < 0 leaves it out (the hold's key).
 * Returns the length, 0 for a partner name that cannot be a key. */
static size_t s_qkey(uint8_t *buf, const char *partner, int lane, uint64_t tag)
{
    size_t n = partner ? strnlen(partner, MN_NAME_MAX + 1) : 0;
    if (n == 0 || n > MN_NAME_MAX)
        return 0;
    memcpy(buf, partner, n);
    buf[n++] = 0;
    if (lane >= 0)
        buf[n++] = (uint8_t)lane;
    mn_bytes_put_u64be(buf + n, tag);
    return n + 8;
}

/* Split a queue (with_lane) or hold key into partner, lane and tag. MN_OK or MN_ESTORE. */
static int s_qkey_parse(const MDB_val *k, int with_lane, gw_queue_item *out, int *lane)
{
    const uint8_t *p = k->mv_data;
    size_t tail = 1 + (with_lane ? 1 : 0) + 8; /* NUL [lane] tag */
    if (k->mv_size < tail + 1 || k->mv_size > tail + MN_NAME_MAX)
        return MN_ESTORE;
    size_t n = k->mv_size - tail;
    if (p[n] != 0 || memchr(p, 0, n) != NULL)
        return MN_ESTORE;
    memcpy(out->partner, p, n);
    out->partner[n] = '\0';
    *lane = with_lane ? p[n + 1] : -1;
    if (with_lane && *lane != S_LANE_ACUTE && *lane != S_LANE_NORMAL)
        return MN_ESTORE;
    out->tag = mn_bytes_get_u64be(p + k->mv_size - 8);
    return MN_OK;
}

static size_t s_item_size(const gw_queue_item *it)
{
    return S_ITEM_FIXED + 2 + strlen(it->topics) + 2 + strlen(it->reason) + 4 + it->sealed_len;
}

/* The text fields must be NUL-terminated within their arrays, the sealed bytes present. */
static int s_item_is_valid(const gw_queue_item *it)
{
    return it->registration != 0 && it->sealed && it->sealed_len > 0 &&
           it->sealed_len <= UINT32_MAX - S_ITEM_MIN &&
           memchr(it->topics, 0, sizeof it->topics) != NULL &&
           memchr(it->reason, 0, sizeof it->reason) != NULL;
}

/* Write the value of it into p (s_item_size bytes). */
static void s_item_write(uint8_t *p, const gw_queue_item *it)
{
    size_t tl = strlen(it->topics), rl = strlen(it->reason);
    p[0] = S_ITEM_VERSION;
    p[1] = it->acute ? S_ITEM_FLAG_ACUTE : 0;
    mn_bytes_put_u64be(p + 2, it->registration);
    mn_bytes_put_u64be(p + 10, it->enqueued_ms);
    mn_bytes_put_u32be(p + 18, it->attempts);
    mn_bytes_put_u32be(p + 22, it->nacks);
    mn_bytes_put_u64be(p + 26, it->next_try_ms);
    mn_bytes_put_u64be(p + 34, it->held_ms);
    memcpy(p + 42, it->signature, 64);
    p += S_ITEM_FIXED;
    p = mn_bytes_put(mn_bytes_put_u16be(p, (uint16_t)tl), it->topics, tl);
    p = mn_bytes_put(mn_bytes_put_u16be(p, (uint16_t)rl), it->reason, rl);
    mn_bytes_put(mn_bytes_put_u32be(p, (uint32_t)it->sealed_len), it->sealed, it->sealed_len);
}

/* A u16be length and that many bytes of text (no NUL, shorter than cap), followed by at least
 * `after` more bytes: into dst, NUL-terminated; *p and *left move past it. */
static int s_get_text(const uint8_t **p, size_t *left, size_t after, char *dst, size_t cap)
{
    size_t n = mn_bytes_get_u16be(*p);
    if (n >= cap || *left < 2 + n + after || memchr(*p + 2, 0, n))
        return MN_ESTORE;
    memcpy(dst, *p + 2, n);
    dst[n] = '\0';
    *p += 2 + n;
    *left -= 2 + n;
    return MN_OK;
}

/* Decode a value into out (partner and tag are the caller's, from the key). copy_sealed 0:
 * out->sealed stays NULL (only sealed_len is set). Every length is checked before use.
 * Returns MN_OK, MN_ESTORE (damaged), MN_ENOMEM. */
static int s_item_decode(const MDB_val *v, gw_queue_item *out, int copy_sealed)
{
    const uint8_t *p = v->mv_data;
    size_t left = v->mv_size;
    size_t sl;

    if (left < S_ITEM_MIN || p[0] != S_ITEM_VERSION || (p[1] & ~S_ITEM_FLAG_ACUTE) != 0)
        return MN_ESTORE;
    out->acute = (p[1] & S_ITEM_FLAG_ACUTE) != 0;
    out->registration = mn_bytes_get_u64be(p + 2);
    out->enqueued_ms = mn_bytes_get_u64be(p + 10);
    out->attempts = mn_bytes_get_u32be(p + 18);
    out->nacks = mn_bytes_get_u32be(p + 22);
    out->next_try_ms = mn_bytes_get_u64be(p + 26);
    out->held_ms = mn_bytes_get_u64be(p + 34);
    memcpy(out->signature, p + 42, 64);
    if (out->registration == 0)
        return MN_ESTORE;
    p += S_ITEM_FIXED;
    left -= S_ITEM_FIXED;

    if (s_get_text(&p, &left, 2, out->topics, sizeof out->topics) != MN_OK ||
        s_get_text(&p, &left, 4, out->reason, sizeof out->reason) != MN_OK)
        return MN_ESTORE;
    sl = mn_bytes_get_u32be(p);
    if (sl == 0 || left - 4 != sl)
        return MN_ESTORE;
    out->sealed_len = sl;
    out->sealed = NULL;
    if (copy_sealed) {
        out->sealed = malloc(sl);
        if (!out->sealed)
            return MN_ENOMEM;
        memcpy(out->sealed, p + 4, sl);
    }
    return MN_OK;
}

void gw_queue_item_clear(gw_queue_item *item)
{
    if (!item)
        return;
    free(item->sealed);
    memset(item, 0, sizeof *item);
}

/* Store it under key in dbi (flags: 0 or MDB_NOOVERWRITE). */
static int s_item_put(gw_store_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t key_len,
                      const gw_queue_item *it, unsigned flags, mn_diag *d)
{
    MDB_val k = {key_len, (void *)key};
    MDB_val v = {s_item_size(it), NULL};
    int rc = mdb_put(txn->txn, dbi, &k, &v, flags | MDB_RESERVE);
    if (rc == MDB_KEYEXIST) {
        mn_diag_set(d, MN_ESTORE, txn->store->dir, "item %s/%llu is stored already", it->partner,
                    (unsigned long long)it->tag);
        mn_diag_hint(d, "this is a bug in the gateway: tags come from gw_store_queue_put; "
                        "nothing was overwritten");
        return MN_ESTORE;
    }
    if (rc != 0)
        return gw_store_fail(txn->store, d, rc, "storing a queue item");
    s_item_write(v.mv_data, it);
    return MN_OK;
}

static int s_damaged(gw_store *store, mn_diag *d, const char *what, const char *partner,
                     uint64_t tag)
{
    mn_diag_set(d, MN_ESTORE, store->dir, "%s %s/%llu is damaged", what, partner,
                (unsigned long long)tag);
    mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from backup");
    return MN_ESTORE;
}

/* Take the next tag (starting at 1) inside txn. */
static int s_next_tag(gw_store_txn *txn, uint64_t *tag, mn_diag *d)
{
    MDB_val k = {sizeof S_KEY_NEXT_TAG - 1, (void *)S_KEY_NEXT_TAG};
    MDB_val v;
    uint8_t buf[8];
    uint64_t next = 1;
    int rc = mdb_get(txn->txn, txn->store->meta, &k, &v);

    if (rc == 0) {
        if (v.mv_size != 8 || (next = mn_bytes_get_u64be(v.mv_data)) == 0 || next == UINT64_MAX) {
            rc = mn_diag_set(d, MN_ESTORE, txn->store->dir, "the tag counter is damaged");
            mn_diag_hint(d, "restore the data directory from backup");
            goto out;
        }
    } else if (rc != MDB_NOTFOUND) {
        rc = gw_store_fail(txn->store, d, rc, "reading the tag counter");
        goto out;
    }
    mn_bytes_put_u64be(buf, next + 1);
    MDB_val nv = {sizeof buf, buf};
    rc = mdb_put(txn->txn, txn->store->meta, &k, &nv, 0);
    if (rc != 0) {
        rc = gw_store_fail(txn->store, d, rc, "taking a tag");
        goto out;
    }
    *tag = next;
    rc = MN_OK;
out:
    return rc;
}

/* Find partner's item `tag` in either lane of the queue: fills key, *key_len and v.
 * Returns MN_OK, MN_ENOTFOUND, MN_ESTORE. */
static int s_queue_find(gw_store_txn *txn, const char *partner, uint64_t tag, uint8_t *key,
                        size_t *key_len, MDB_val *v)
{
    for (int lane = S_LANE_ACUTE; lane <= S_LANE_NORMAL; lane++) {
        size_t n = s_qkey(key, partner, lane, tag);
        if (n == 0)
            return MN_ENOTFOUND;
        MDB_val k = {n, key};
        int rc = mdb_get(txn->txn, txn->store->queue, &k, v);
        if (rc == 0) {
            *key_len = n;
            return MN_OK;
        }
        if (rc != MDB_NOTFOUND)
            return MN_ESTORE;
    }
    return MN_ENOTFOUND;
}

static int s_not_queued(gw_store_txn *txn, mn_diag *d, const char *where, const char *partner,
                        uint64_t tag)
{
    mn_diag_set(d, MN_ENOTFOUND, txn->store->dir, "no item %llu in %s of partner \"%s\"",
                (unsigned long long)tag, where, partner ? partner : "");
    return MN_ENOTFOUND;
}

/* s_queue_find for an operation on the item: the diag says what is missing. MN_OK,
 * MN_ENOTFOUND or MN_ESTORE. */
static int s_queue_locate(gw_store_txn *txn, const char *partner, uint64_t tag, uint8_t *key,
                          size_t *key_len, MDB_val *v, mn_diag *d)
{
    int rc = s_queue_find(txn, partner, tag, key, key_len, v);
    if (rc == MN_ENOTFOUND)
        return s_not_queued(txn, d, "the queue", partner, tag);
    if (rc != MN_OK)
        return mn_diag_set(d, MN_ESTORE, txn->store->dir, "cannot read a queue item");
    return MN_OK;
}

/* Decode the value of partner's item `tag` into out, sealed bytes copied (caller clears out);
 * `what` ("queue item", "held item") names it when it is damaged. MN_OK, MN_ESTORE,
 * MN_ENOMEM. */
static int s_item_load(gw_store_txn *txn, const MDB_val *v, const char *what, const char *partner,
                       uint64_t tag, gw_queue_item *out, mn_diag *d)
{
    int rc = s_item_decode(v, out, 1);
    if (rc == MN_ENOMEM)
        return mn_diag_set(d, rc, txn->store->dir, "out of memory");
    if (rc != MN_OK)
        return s_damaged(txn->store, d, what, partner, tag);
    snprintf(out->partner, sizeof out->partner, "%s", partner);
    out->tag = tag;
    return MN_OK;
}

/* Move it between the queue and the hold: store it under to_key of `to` (never over another
 * item), then delete from_key of `from`. `doing` names the move in a diag. */
static int s_item_move(gw_store_txn *txn, const gw_queue_item *it, MDB_dbi to,
                       const uint8_t *to_key, size_t to_len, MDB_dbi from, const uint8_t *from_key,
                       size_t from_len, const char *doing, mn_diag *d)
{
    int rc = s_item_put(txn, to, to_key, to_len, it, MDB_NOOVERWRITE, d);
    if (rc != MN_OK)
        return rc;
    MDB_val k = {from_len, (void *)from_key};
    int mrc = mdb_del(txn->txn, from, &k, NULL);
    return mrc == 0 ? MN_OK : gw_store_fail(txn->store, d, mrc, doing);
}

/* --- partner queues: operations -------------------------------------------------------------- */

/* Add delta (+1, -1) to a partner's count of `kind`, within the write transaction. */
static int s_count_add(gw_store_txn *txn, const char *kind, const char *partner, int delta,
                       mn_diag *d)
{
    uint8_t key[32 + MN_NAME_MAX], buf[8];
    uint64_t count = 0;
    MDB_val k = {s_count_key(key, sizeof key, kind, partner), key};
    if (k.mv_size == 0 || s_count_read(txn->txn, txn->store->meta, &k, &count) != MN_OK)
        return mn_diag_set(d, MN_ESTORE, txn->store->dir, "the %s of %s is damaged", kind,
                           partner ? partner : "?");
    count = delta < 0 ? (count > 0 ? count - 1 : 0) : count + 1;
    mn_bytes_put_u64be(buf, count);
    MDB_val v = {sizeof buf, buf};
    int rc = mdb_put(txn->txn, txn->store->meta, &k, &v, 0);
    return rc == 0 ? MN_OK : gw_store_fail(txn->store, d, rc, "counting queue items");
}

int gw_store_queue_put(gw_store_txn *txn, gw_queue_item *item, mn_diag *d)
{
    uint8_t key[S_QKEY_MAX];
    uint64_t tag = 0;
    int rc;

    if (!mn_name_is_valid(item->partner) || !s_item_is_valid(item)) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir,
                         "a queue item needs a partner name, a "
                         "registration > 0, sealed bytes and terminated texts");
        mn_diag_hint(d, "this is a bug in the gateway: the item was not stored");
        goto out;
    }
    rc = s_next_tag(txn, &tag, d);
    if (rc != MN_OK)
        goto out;
    item->tag = tag;
    size_t n = s_qkey(key, item->partner, item->acute ? S_LANE_ACUTE : S_LANE_NORMAL, tag);
    rc = s_item_put(txn, txn->store->queue, key, n, item, MDB_NOOVERWRITE, d);
    if (rc == MN_OK)
        rc = s_count_add(txn, S_COUNT_QUEUE, item->partner, +1, d);
out:
    return rc;
}

int gw_store_queue_get(gw_store_txn *txn, const char *partner, uint64_t tag, gw_queue_item *out)
{
    uint8_t key[S_QKEY_MAX];
    size_t key_len = 0;
    MDB_val v;

    memset(out, 0, sizeof *out);
    int rc = s_queue_find(txn, partner, tag, key, &key_len, &v);
    if (rc != MN_OK)
        goto out;
    rc = s_item_decode(&v, out, 1);
    if (rc != MN_OK) {
        gw_queue_item_clear(out);
        goto out;
    }
    snprintf(out->partner, sizeof out->partner, "%s", partner);
    out->tag = tag;
out:
    return rc;
}

int gw_store_queue_update(gw_store_txn *txn, const gw_queue_item *item, mn_diag *d)
{
    gw_queue_item cur;
    uint8_t key[S_QKEY_MAX];
    size_t key_len = 0;
    MDB_val v;
    int rc;

    memset(&cur, 0, sizeof cur);
    if (memchr(item->reason, 0, sizeof item->reason) == NULL) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir, "the item's reason is not terminated");
        goto out;
    }
    /* a copy: the put below may reuse the space v points into */
    if ((rc = s_queue_locate(txn, item->partner, item->tag, key, &key_len, &v, d)) != MN_OK ||
        (rc = s_item_load(txn, &v, "queue item", item->partner, item->tag, &cur, d)) != MN_OK)
        goto out;
    cur.attempts = item->attempts;
    cur.nacks = item->nacks;
    cur.next_try_ms = item->next_try_ms;
    cur.deferred_ms = item->deferred_ms;
    snprintf(cur.reason, sizeof cur.reason, "%s", item->reason);
    rc = s_item_put(txn, txn->store->queue, key, key_len, &cur, 0, d);
out:
    gw_queue_item_clear(&cur);
    return rc;
}

int gw_store_queue_ack(gw_store_txn *txn, const char *partner, uint64_t tag, mn_diag *d)
{
    uint8_t key[S_QKEY_MAX];
    size_t key_len = 0;
    MDB_val v;
    int rc = s_queue_locate(txn, partner, tag, key, &key_len, &v, d);

    if (rc != MN_OK)
        return rc;
    MDB_val k = {key_len, key};
    rc = mdb_del(txn->txn, txn->store->queue, &k, NULL);
    if (rc != 0)
        return gw_store_fail(txn->store, d, rc, "removing an acknowledged item");
    return s_count_add(txn, S_COUNT_QUEUE, partner, -1, d);
}

int gw_store_queue_hold(gw_store_txn *txn, const char *partner, uint64_t tag, const char *reason,
                        mn_diag *d)
{
    gw_queue_item it;
    uint8_t key[S_QKEY_MAX], hkey[S_QKEY_MAX];
    size_t key_len = 0;
    MDB_val v;
    int rc;

    memset(&it, 0, sizeof it);
    if ((rc = s_queue_locate(txn, partner, tag, key, &key_len, &v, d)) != MN_OK ||
        (rc = s_item_load(txn, &v, "queue item", partner, tag, &it, d)) != MN_OK)
        goto out;
    snprintf(it.reason, sizeof it.reason, "%s", reason ? reason : "");
    it.held_ms = mn_now_ms();
    size_t hn = s_qkey(hkey, partner, -1, tag);
    rc = s_item_move(txn, &it, txn->store->hold, hkey, hn, txn->store->queue, key, key_len,
                     "moving an item to the hold queue", d);
    if (rc == MN_OK)
        rc = s_count_add(txn, S_COUNT_QUEUE, partner, -1, d);
    if (rc == MN_OK)
        rc = s_count_add(txn, S_COUNT_HOLD, partner, +1, d);
out:
    gw_queue_item_clear(&it);
    return rc;
}

int gw_store_hold_release(gw_store_txn *txn, const char *partner, uint64_t tag, mn_diag *d)
{
    gw_queue_item it;
    uint8_t key[S_QKEY_MAX], hkey[S_QKEY_MAX];
    MDB_val v;
    int rc;

    memset(&it, 0, sizeof it);
    size_t hn = s_qkey(hkey, partner, -1, tag);
    MDB_val hk = {hn, hkey};
    int mrc = hn ? mdb_get(txn->txn, txn->store->hold, &hk, &v) : MDB_NOTFOUND;
    if (mrc == MDB_NOTFOUND) {
        rc = s_not_queued(txn, d, "the hold queue", partner, tag);
        goto out;
    }
    if (mrc != 0) {
        rc = gw_store_fail(txn->store, d, mrc, "reading a held item");
        goto out;
    }
    if ((rc = s_item_load(txn, &v, "held item", partner, tag, &it, d)) != MN_OK)
        goto out;
    it.attempts = 0;
    it.nacks = 0;
    it.next_try_ms = 0;
    it.held_ms = 0;
    it.reason[0] = '\0';
    size_t n = s_qkey(key, partner, it.acute ? S_LANE_ACUTE : S_LANE_NORMAL, tag);
    rc = s_item_move(txn, &it, txn->store->queue, key, n, txn->store->hold, hkey, hn,
                     "releasing a held item", d);
    if (rc == MN_OK)
        rc = s_count_add(txn, S_COUNT_HOLD, partner, -1, d);
    if (rc == MN_OK)
        rc = s_count_add(txn, S_COUNT_QUEUE, partner, +1, d);
out:
    gw_queue_item_clear(&it);
    return rc;
}

/* Call fn for each item of dbi whose key starts with prefix (all when prefix_len is 0), in
 * key order; with_lane: queue keys, else hold keys. */
static int s_items_each(gw_store *store, MDB_dbi dbi, int with_lane, const uint8_t *prefix,
                        size_t prefix_len, int (*fn)(const gw_queue_item *item, void *arg),
                        void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    gw_queue_item *it = NULL;
    MDB_val k = {prefix_len, (void *)prefix}, v;
    int rc, mrc;

    if (!store->has_queues)
        return MN_OK;
    it = calloc(1, sizeof *it); /* ~1.5 KiB: not on the caller's stack */
    if (!it)
        return MN_ENOMEM;
    if ((rc = gw_store_cursor_begin(store, dbi, &txn, &cur)) != MN_OK)
        goto out;
    mrc = prefix_len ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                     : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        int lane;
        if (prefix_len && (k.mv_size < prefix_len || memcmp(k.mv_data, prefix, prefix_len)))
            break;
        if (s_qkey_parse(&k, with_lane, it, &lane) != MN_OK) {
            rc = MN_ESTORE;
            goto out;
        }
        rc = s_item_decode(&v, it, 1);
        if (rc == MN_OK && with_lane && it->acute != (lane == S_LANE_ACUTE))
            rc = MN_ESTORE;
        if (rc != MN_OK)
            goto out;
        int stop = fn(it, arg);
        gw_queue_item_clear(it);
        if (stop)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? MN_OK : MN_ESTORE;
out:
    if (it)
        gw_queue_item_clear(it);
    free(it);
    gw_store_cursor_end(txn, cur);
    return rc;
}

/* "partner NUL": the prefix of every queue and hold key of partner. 0 for an impossible name. */
static size_t s_prefix(uint8_t *buf, const char *partner)
{
    size_t n = partner ? strnlen(partner, MN_NAME_MAX + 1) : 0;
    if (n == 0 || n > MN_NAME_MAX)
        return 0;
    memcpy(buf, partner, n);
    buf[n] = 0;
    return n + 1;
}

int gw_store_queue_each(gw_store *store, const char *partner,
                        int (*fn)(const gw_queue_item *item, void *arg), void *arg)
{
    uint8_t prefix[MN_NAME_MAX + 1];
    size_t n = s_prefix(prefix, partner);
    if (n == 0)
        return MN_OK; /* no such partner can have items */
    return s_items_each(store, store->queue, 1, prefix, n, fn, arg);
}

/* Add to *count the keys of key_len bytes that start with key[0..prefix_len) (a store without
 * counts). MN_OK or MN_ESTORE. */
static int s_count_keys(MDB_cursor *cur, const uint8_t *key, size_t prefix_len, size_t key_len,
                        uint64_t *count)
{
    MDB_val k = {prefix_len, (void *)key};
    int mrc = mdb_cursor_get(cur, &k, NULL, MDB_SET_RANGE);
    while (mrc == 0 && k.mv_size == key_len && memcmp(k.mv_data, key, prefix_len) == 0) {
        (*count)++;
        mrc = mdb_cursor_get(cur, &k, NULL, MDB_NEXT);
    }
    return mrc == 0 || mrc == MDB_NOTFOUND ? MN_OK : MN_ESTORE;
}

/* The enqueue time of the first (lowest tag, so oldest) item of a lane, lowered into *oldest;
 * with count not NULL (a store without counts) also count the lane's keys. */
static int s_lane_figures(MDB_cursor *cur, const char *partner, int lane, uint64_t *count,
                          uint64_t *oldest)
{
    uint8_t key[S_QKEY_MAX];
    size_t n = s_qkey(key, partner, lane, 0) - 8; /* "partner NUL lane" */
    MDB_val k = {n, key}, v;
    gw_queue_item it;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == 0 && k.mv_size == n + 8 && memcmp(k.mv_data, key, n) == 0) {
        memset(&it, 0, sizeof it);
        int rc = s_item_decode(&v, &it, 0);
        uint64_t enqueued = it.enqueued_ms;
        gw_queue_item_clear(&it);
        if (rc != MN_OK)
            return rc;
        if (*oldest == 0 || enqueued < *oldest)
            *oldest = enqueued;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return MN_ESTORE;
    return count ? s_count_keys(cur, key, n, n + 8, count) : MN_OK;
}

/* Whether the store keeps per-partner counts (S_KEY_COUNTS). */
static int s_has_counts(gw_store *store, MDB_txn *txn)
{
    MDB_val k = {sizeof S_KEY_COUNTS - 1, (void *)S_KEY_COUNTS}, v;
    return mdb_get(txn, store->meta, &k, &v) == 0;
}

int gw_store_queue_depth(gw_store *store, const char *partner, uint64_t *count,
                         uint64_t *oldest_enqueued_ms)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    *count = 0;
    *oldest_enqueued_ms = 0;
    size_t n = partner ? strnlen(partner, MN_NAME_MAX + 1) : 0;
    if (n == 0 || n > MN_NAME_MAX || !store->has_queues)
        return MN_OK;
    int rc = gw_store_cursor_begin(store, store->queue, &txn, &cur);
    int counted = rc == MN_OK && s_has_counts(store, txn);
    if (counted)
        rc = s_count_get(txn, store->meta, S_COUNT_QUEUE, partner, count);
    for (int lane = S_LANE_ACUTE; rc == MN_OK && lane <= S_LANE_NORMAL; lane++)
        rc = s_lane_figures(cur, partner, lane, counted ? NULL : count, oldest_enqueued_ms);
    gw_store_cursor_end(txn, cur);
    return rc;
}

int gw_store_hold_depth(gw_store *store, const char *partner, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint8_t key[S_QKEY_MAX];
    *count = 0;
    size_t n = s_qkey(key, partner, -1, 0);
    if (n == 0 || !store->has_queues)
        return MN_OK;
    int rc = gw_store_cursor_begin(store, store->hold, &txn, &cur);
    if (rc == MN_OK && s_has_counts(store, txn)) {
        rc = s_count_get(txn, store->meta, S_COUNT_HOLD, partner, count);
    } else if (rc == MN_OK) { /* an older store opened read-only: count the keys */
        rc = s_count_keys(cur, key, n - 8, n, count);
    }
    gw_store_cursor_end(txn, cur);
    return rc;
}

int gw_store_totals(gw_store *store, uint64_t *held, uint64_t *unrouted)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    *held = 0;
    *unrouted = 0;
    if (!store->has_queues)
        return MN_OK;
    if (gw_store_read_begin(store, &txn) != 0)
        return MN_ESTORE;
    int rc = MN_ESTORE;
    if (mdb_stat(txn, store->hold, &st) == 0) {
        *held = st.ms_entries;
        if (mdb_stat(txn, store->unrouted, &st) == 0) {
            *unrouted = st.ms_entries;
            rc = MN_OK;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

int gw_store_hold_each(gw_store *store, int (*fn)(const gw_queue_item *item, void *arg), void *arg)
{
    return s_items_each(store, store->hold, 0, NULL, 0, fn, arg);
}

/* --- unrouted topics ------------------------------------------------------------------------- */

/* "registration topic" into buf (S_UKEY_MAX); 0 for a topic too long. */
static size_t s_ukey(uint8_t *buf, uint64_t registration, const char *topic)
{
    size_t n = strnlen(topic, S_TOPIC_MAX + 1);
    if (n > S_TOPIC_MAX)
        return 0;
    mn_bytes_put_u64be(buf, registration);
    memcpy(buf + 8, topic, n);
    return 8 + n;
}

int gw_store_unrouted_put(gw_store_txn *txn, const gw_unrouted *u, mn_diag *d)
{
    uint8_t key[S_UKEY_MAX];
    uint8_t val[8 + GW_REASON_MAX];
    size_t kn = memchr(u->topic, 0, sizeof u->topic) ? s_ukey(key, u->registration, u->topic) : 0;
    size_t rl = strnlen(u->reason, sizeof u->reason);
    int rc;

    if (kn == 0 || u->registration == 0 || rl >= sizeof u->reason) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir,
                         "an unrouted entry needs a registration "
                         "> 0 and terminated texts");
        mn_diag_hint(d, "this is a bug in the gateway: the entry was not stored");
        goto out;
    }
    mn_bytes_put_u64be(val, u->held_ms);
    memcpy(val + 8, u->reason, rl);
    MDB_val k = {kn, key};
    MDB_val v = {8 + rl, val};
    /* the same topic of the same registration again (a re-route that found nobody): the
     * newer note replaces the older one */
    int mrc = mdb_put(txn->txn, txn->store->unrouted, &k, &v, 0);
    rc = mrc == 0 ? MN_OK : gw_store_fail(txn->store, d, mrc, "storing an unrouted topic");
out:
    return rc;
}

int gw_store_unrouted_each(gw_store *store, int (*fn)(const gw_unrouted *u, void *arg), void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    gw_unrouted u;
    int rc, mrc;

    if (!store->has_queues)
        return MN_OK;
    if ((rc = gw_store_cursor_begin(store, store->unrouted, &txn, &cur)) != MN_OK)
        return rc;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        size_t tl = k.mv_size - 8, rl = v.mv_size - 8;
        if (k.mv_size < 8 || tl > S_TOPIC_MAX || v.mv_size < 8 || rl >= sizeof u.reason ||
            memchr((uint8_t *)k.mv_data + 8, 0, tl) || memchr((uint8_t *)v.mv_data + 8, 0, rl)) {
            rc = MN_ESTORE;
            goto out;
        }
        memset(&u, 0, sizeof u);
        u.registration = mn_bytes_get_u64be(k.mv_data);
        memcpy(u.topic, (uint8_t *)k.mv_data + 8, tl);
        u.held_ms = mn_bytes_get_u64be(v.mv_data);
        memcpy(u.reason, (uint8_t *)v.mv_data + 8, rl);
        if (fn(&u, arg) != 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? MN_OK : MN_ESTORE;
out:
    gw_store_cursor_end(txn, cur);
    return rc;
}

int gw_store_unrouted_remove(gw_store_txn *txn, uint64_t registration, const char *topic,
                             mn_diag *d)
{
    uint8_t key[S_UKEY_MAX];
    size_t kn = topic ? s_ukey(key, registration, topic) : 0;
    MDB_val k = {kn, key};
    int mrc = kn ? mdb_del(txn->txn, txn->store->unrouted, &k, NULL) : MDB_NOTFOUND;

    if (mrc == MDB_NOTFOUND)
        return mn_diag_set(d, MN_ENOTFOUND, txn->store->dir,
                           "registration %llu has no "
                           "unrouted topic \"%s\"",
                           (unsigned long long)registration, topic ? topic : "");
    return mrc == 0 ? MN_OK : gw_store_fail(txn->store, d, mrc, "removing an unrouted topic");
}
