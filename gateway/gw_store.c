/* gw_store - the gateway's LMDB store: dedup, registration numbers, the sealed registry, the
 * partner queues. This file: the LMDB helpers, write transactions, dedup and the registry.
 *
 * How it works: one LMDB environment in a directory (data.mdb + lock.mdb, mode 0600) with seven
 * named databases (see gw_store.h). Keys and numbers are big-endian so LMDB's byte order is
 * numeric order. Every value is copied out before its transaction ends: no LMDB pointer leaves
 * the module (gw_store.c, gw_store_open.c, gw_store_queue.c; gw_store_impl.h says who does
 * what).
 *
 * Invariants:
 * - meta "format" is GW_STORE_FORMAT; meta "next_registration" is the next number to hand out
 *   (1 in a fresh store), and it moves only inside a write transaction, so an aborted batch
 *   gives its numbers back and a committed one never hands them out twice. meta "next_tag"
 *   (absent until the first item: 1) does the same for queue tags; a tag is never reused, also
 *   not across queue and hold.
 * - Nothing is overwritten: by_id, by_digest and registry are written with MDB_NOOVERWRITE, so
 *   a bug upstream fails the batch instead of replacing a registration; so are new queue and
 *   hold entries (only gw_store_queue_update rewrites an item, in place).
 * - The environment uses MDB_NOTLS: read transactions are not tied to a thread, so the gateway
 *   may read (count, get, each) from any thread, also while its writer holds the write
 *   transaction, and a callback of an _each function may itself read.
 *
 * Caveats: LMDB forbids opening the same environment twice in one process; other processes
 * (meldnetctl) may open it read-only at any time, and for a short write (hold release) while
 * the gateway runs: LMDB serialises writers across processes. A map that is full fails the
 * batch (MN_ESTORE, "store is full"): raise map_size_mb and restart; nothing committed is lost.
 */
#include "gw_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_store_impl.h"
#include "mn_bytes.h"
#include "mn_key.h"

#define S_ID_KEY_MAX (MN_NAME_MAX + 1 + 16) /* by_id: agent NUL envelope id */

/* --- helpers -------------------------------------------------------------------------------- */

/* Turn an LMDB error into our code and a diag a person can act on. */
int gw_store_fail(gw_store *store, mn_diag *d, int rc, const char *doing)
{
    const char *dir = store ? store->dir : "";
    switch (rc) {
    case MDB_MAP_FULL:
        mn_diag_set(d, MN_ESTORE, dir, "store is full: raise map_size_mb (while %s)", doing);
        mn_diag_hint(d, "raise map_size_mb in gateway.conf and restart the gateway; nothing "
                        "committed is lost, the agents resend what was not acknowledged");
        return MN_ESTORE;
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PANIC:
        mn_diag_set(d, MN_ESTORE, dir, "the store is damaged or not an LMDB store (%s): %s", doing,
                    mdb_strerror(rc));
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        return MN_ESTORE;
    case MDB_VERSION_MISMATCH:
        mn_diag_set(d, MN_EVERSION, dir, "the store was made by another LMDB version (%s)", doing);
        mn_diag_hint(d, "open it with the meldnet build that made it, or restore a backup");
        return MN_EVERSION;
    default:
        if (rc > 0) {
            errno = rc;
            return mn_diag_sys(d, dir, "%s", doing);
        }
        return mn_diag_set(d, MN_ESTORE, dir, "%s: %s", doing, mdb_strerror(rc));
    }
}

/* Begin a read transaction; when another process grew the map, adopt its size and retry. */
int gw_store_read_begin(gw_store *store, MDB_txn **txn)
{
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(store->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn);
    }
    return rc;
}

/* A read transaction with a cursor on dbi, for the _each walks. MN_OK, or MN_ESTORE with
 * nothing left open. s_cursor_end ends both. */
int gw_store_cursor_begin(gw_store *store, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **cur)
{
    *txn = NULL;
    *cur = NULL;
    if (gw_store_read_begin(store, txn) != 0) {
        *txn = NULL;
        return MN_ESTORE;
    }
    if (mdb_cursor_open(*txn, dbi, cur) != 0) {
        *cur = NULL;
        mdb_txn_abort(*txn);
        *txn = NULL;
        return MN_ESTORE;
    }
    return MN_OK;
}

/* NULL-safe for either. */
void gw_store_cursor_end(MDB_txn *txn, MDB_cursor *cur)
{
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
}

/* A registration value: u64be registration | u64be accepted_ms, and in by_id (format 2) the
 * content digest the id was first used for. */
static int s_decode_reg(const MDB_val *v, gw_registration *out)
{
    if (v->mv_size != 16 && v->mv_size != 48)
        return MN_ESTORE;
    const uint8_t *p = v->mv_data;
    out->registration = mn_bytes_get_u64be(p);
    out->accepted_ms = mn_bytes_get_u64be(p + 8);
    out->has_digest = v->mv_size == 48;
    if (out->has_digest)
        memcpy(out->digest, p + 16, 32);
    else
        memset(out->digest, 0, sizeof out->digest);
    return MN_OK;
}

/* --- write transactions --------------------------------------------------------------------- */

int gw_store_begin(gw_store *store, gw_store_txn **txn_out, mn_diag *d)
{
    gw_store_txn *t = NULL;
    int rc;

    *txn_out = NULL;
    if (store->read_only) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store is open read-only");
        mn_diag_hint(d, "only the gateway writes the store");
        goto out;
    }
    /* Waits while another thread writes; fails if this thread already does. */
    if (pthread_mutex_lock(&store->write_lock) != 0) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "a write transaction is already open");
        mn_diag_hint(d, "this is a bug in the gateway: commit or abort the open batch first");
        goto out;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        pthread_mutex_unlock(&store->write_lock);
        rc = mn_diag_set(d, MN_ENOMEM, store->dir, "out of memory starting a transaction");
        goto out;
    }
    t->store = store;
    rc = mdb_txn_begin(store->env, NULL, 0, &t->txn);
    if (rc != 0) {
        pthread_mutex_unlock(&store->write_lock);
        free(t);
        t = NULL;
        rc = gw_store_fail(store, d, rc, "starting a write transaction");
        goto out;
    }
    *txn_out = t;
    rc = MN_OK;
out:
    return rc;
}

static int s_find(gw_store_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t key_len,
                  gw_registration *out)
{
    MDB_val k = {key_len, (void *)key};
    MDB_val v;
    int rc = mdb_get(txn->txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return MN_ENOTFOUND;
    if (rc != 0)
        return MN_ESTORE;
    return s_decode_reg(&v, out);
}

/* by_id's key: the sending agent's name, NUL, the envelope id. An id is the agent's own, so
 * another agent's id cannot point at it. 0 when the name is empty or too long. */
static size_t s_id_key(uint8_t *buf, const char *agent, const uint8_t id[16])
{
    size_t n = agent ? strnlen(agent, MN_NAME_MAX + 1) : 0;
    if (n == 0 || n > MN_NAME_MAX)
        return 0;
    memcpy(buf, agent, n);
    buf[n] = 0;
    memcpy(buf + n + 1, id, 16);
    return n + 1 + 16;
}

int gw_store_find_id(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                     gw_registration *out)
{
    uint8_t key[S_ID_KEY_MAX];
    size_t len = s_id_key(key, agent, id);
    if (len == 0)
        return MN_ESTORE;
    int rc = s_find(txn, txn->store->by_id, key, len, out);
    if (rc != MN_ENOTFOUND)
        return rc;
    /* A format-1 entry (the id alone), written before ids were kept per agent. */
    return s_find(txn, txn->store->by_id, id, 16, out);
}

int gw_store_find_digest(gw_store_txn *txn, const uint8_t digest[32], gw_registration *out)
{
    return s_find(txn, txn->store->by_digest, digest, 32, out);
}

int gw_store_next_registration(gw_store_txn *txn, uint64_t *reg_out)
{
    MDB_val k = {sizeof GW_STORE_KEY_NEXT - 1, (void *)GW_STORE_KEY_NEXT};
    MDB_val v;
    uint8_t buf[8];
    int rc = mdb_get(txn->txn, txn->store->meta, &k, &v);

    if (rc != 0 || v.mv_size != 8) {
        rc = MN_ESTORE;
        goto out;
    }
    uint64_t next = mn_bytes_get_u64be(v.mv_data);
    if (next == 0 || next == UINT64_MAX) {
        rc = MN_ESTORE;
        goto out;
    }
    mn_bytes_put_u64be(buf, next + 1);
    MDB_val nv = {sizeof buf, buf};
    if (mdb_put(txn->txn, txn->store->meta, &k, &nv, 0) != 0) {
        rc = MN_ESTORE;
        goto out;
    }
    *reg_out = next;
    rc = MN_OK;
out:
    return rc;
}

static int s_put_reg(gw_store_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t key_len,
                     const gw_registration *reg, const uint8_t *digest, const char *what,
                     mn_diag *d)
{
    uint8_t buf[48];
    mn_bytes_put_u64be(buf, reg->registration);
    mn_bytes_put_u64be(buf + 8, reg->accepted_ms);
    if (digest)
        memcpy(buf + 16, digest, 32);
    MDB_val k = {key_len, (void *)key};
    MDB_val v = {digest ? 48 : 16, buf};
    int rc = mdb_put(txn->txn, dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        rc = mn_diag_set(d, MN_ESTORE, txn->store->dir, "%s is stored already", what);
        mn_diag_hint(d,
                     "this is a bug in the gateway: look the %s up before registering; the "
                     "batch is refused and nothing was overwritten",
                     what);
        return MN_ESTORE;
    }
    return rc == 0 ? MN_OK : gw_store_fail(txn->store, d, rc, "storing a registration");
}

/* by_id[agent, id] = registration with the digest the id stands for. */
static int s_put_id(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                    const uint8_t digest[32], const gw_registration *reg, mn_diag *d)
{
    uint8_t key[S_ID_KEY_MAX];
    size_t len = s_id_key(key, agent, id);
    if (len == 0)
        return mn_diag_set(d, MN_EINVAL, txn->store->dir,
                           "an envelope id needs its agent's name (1 to %d characters)",
                           MN_NAME_MAX);
    return s_put_reg(txn, txn->store->by_id, key, len, reg, digest, "envelope id", d);
}

int gw_store_put_registration(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                              const uint8_t digest[32], const gw_registration *reg,
                              const uint8_t *sealed, size_t sealed_len, mn_diag *d)
{
    uint8_t key[8];
    int rc;

    if (reg->registration == 0 || !sealed || sealed_len == 0) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir,
                         "a registration needs a number > 0 and a sealed record");
        goto out;
    }
    rc = s_put_id(txn, agent, id, digest, reg, d);
    if (rc != MN_OK)
        goto out;
    rc = s_put_reg(txn, txn->store->by_digest, digest, 32, reg, NULL, "content digest", d);
    if (rc != MN_OK)
        goto out;
    mn_bytes_put_u64be(key, reg->registration);
    MDB_val k = {sizeof key, key};
    MDB_val v = {sealed_len, (void *)sealed};
    int mrc = mdb_put(txn->txn, txn->store->registry, &k, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) {
        rc = mn_diag_set(d, MN_ESTORE, txn->store->dir, "registration %llu is stored already",
                         (unsigned long long)reg->registration);
        mn_diag_hint(d, "this is a bug in the gateway: take numbers from "
                        "gw_store_next_registration; nothing was overwritten");
        goto out;
    }
    if (mrc != 0) {
        rc = gw_store_fail(txn->store, d, mrc, "storing a registry record");
        goto out;
    }
    rc = MN_OK;
out:
    return rc;
}

int gw_store_put_alias(gw_store_txn *txn, const char *agent, const uint8_t id[16],
                       const uint8_t digest[32], const gw_registration *reg, mn_diag *d)
{
    if (reg->registration == 0)
        return mn_diag_set(d, MN_EINVAL, txn->store->dir, "an alias needs a registration > 0");
    return s_put_id(txn, agent, id, digest, reg, d);
}

int gw_store_commit(gw_store_txn **txn_p, mn_diag *d)
{
    int rc = MN_OK;
    if (!txn_p || !*txn_p)
        goto out;
    gw_store_txn *t = *txn_p;
    gw_store *store = t->store;
    int mrc = mdb_txn_commit(t->txn); /* frees the LMDB txn also on failure */
    pthread_mutex_unlock(&store->write_lock);
    free(t);
    *txn_p = NULL;
    if (mrc != 0)
        rc = gw_store_fail(store, d, mrc, "committing a batch");
out:
    return rc;
}

void gw_store_abort(gw_store_txn **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    gw_store_txn *t = *txn_p;
    mdb_txn_abort(t->txn);
    pthread_mutex_unlock(&t->store->write_lock);
    free(t);
    *txn_p = NULL;
}

/* --- reading the registry ------------------------------------------------------------------- */

int gw_store_registry_count(gw_store *store, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    int rc = gw_store_read_begin(store, &txn);
    if (rc != 0) {
        txn = NULL;
        rc = MN_ESTORE;
        goto out;
    }
    if (mdb_stat(txn, store->registry, &st) != 0) {
        rc = MN_ESTORE;
        goto out;
    }
    *count = st.ms_entries;
    rc = MN_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* Copy registration reg's sealed record out of dbi within txn. */
static int s_registry_copy(MDB_txn *txn, MDB_dbi dbi, uint64_t reg, uint8_t **sealed, size_t *len)
{
    uint8_t key[8];
    MDB_val k = {sizeof key, key};
    MDB_val v;

    *sealed = NULL;
    *len = 0;
    mn_bytes_put_u64be(key, reg);
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return MN_ENOTFOUND;
    if (rc != 0 || v.mv_size == 0)
        return MN_ESTORE;
    *sealed = malloc(v.mv_size);
    if (!*sealed)
        return MN_ENOMEM;
    memcpy(*sealed, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return MN_OK;
}

int gw_store_registry_get(gw_store *store, uint64_t reg, uint8_t **sealed, size_t *len)
{
    MDB_txn *txn = NULL;
    *sealed = NULL;
    *len = 0;
    if (gw_store_read_begin(store, &txn) != 0)
        return MN_ESTORE;
    int rc = s_registry_copy(txn, store->registry, reg, sealed, len);
    mdb_txn_abort(txn);
    return rc;
}

int gw_store_registry_each(gw_store *store, int (*fn)(uint64_t reg, void *arg), void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = gw_store_cursor_begin(store, store->registry, &txn, &cur);
    if (rc != MN_OK)
        return rc;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        if (k.mv_size != 8) {
            rc = MN_ESTORE;
            goto out;
        }
        if (fn(mn_bytes_get_u64be(k.mv_data), arg) != 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? MN_OK : MN_ESTORE;
out:
    gw_store_cursor_end(txn, cur);
    return rc;
}

int gw_store_txn_registry_get(gw_store_txn *txn, uint64_t reg, uint8_t **sealed, size_t *len)
{
    return s_registry_copy(txn->txn, txn->store->registry, reg, sealed, len);
}
