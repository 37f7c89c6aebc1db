/* gw_store - the gateway's LMDB store: dedup, registration numbers, the sealed registry, the
 * partner queues.
 *
 * How it works: one LMDB environment in a directory (data.mdb + lock.mdb, mode 0600) with seven
 * named databases (see gw_store.h). Keys and numbers are big-endian so LMDB's byte order is
 * numeric order. Every value is copied out before its transaction ends: no LMDB pointer leaves
 * this file.
 *
 * Queue items are encoded here and nowhere else (s_item_*): a version byte, the fixed-width
 * fields, then each variable field behind its length. Decoding checks every length against
 * what is left and against the struct's limits, so a damaged value is MN_ESTORE, never a read
 * past its end. The partner and tag live in the key; the lane is in the key of the queue and in
 * the value (so an item released from the hold goes back to its own lane).
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
 * A store made before the partner queues existed opens read-only with empty queues; the
 * gateway's first (writable) open adds them.
 */
#include "gw_store.h"

#include <errno.h>
#include <lmdb.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mn_envelope.h"
#include "mn_key.h"

#define S_DIR_MAX 4096
#define S_KEY_FORMAT "format"
#define S_KEY_NEXT "next_registration"
#define S_KEY_NEXT_TAG "next_tag"
#define S_N_DBS 7
#define S_N_OLD_DBS 4 /* the databases every store has; the queue ones came later */

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
    int read_only;
    atomic_int writing; /* 1 while this process holds the write transaction */
    char dir[S_DIR_MAX];
};

struct gw_store_txn {
    gw_store *store;
    MDB_txn *txn;
};

/* --- helpers -------------------------------------------------------------------------------- */

static void s_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void s_put_u64be(uint8_t *p, uint64_t v)
{
    s_put_u32be(p, (uint32_t)(v >> 32));
    s_put_u32be(p + 4, (uint32_t)v);
}

static uint64_t s_get_u64be(const uint8_t *p)
{
    return (uint64_t)s_get_u32be(p) << 32 | s_get_u32be(p + 4);
}

/* Turn an LMDB error into our code and a diag a person can act on. */
static int s_fail(gw_store *store, mn_diag *d, int rc, const char *doing)
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
        mn_diag_set(d, MN_ESTORE, dir, "the store is damaged or not an LMDB store (%s): %s",
                    doing, mdb_strerror(rc));
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        return MN_ESTORE;
    case MDB_VERSION_MISMATCH:
        mn_diag_set(d, MN_EVERSION, dir, "the store was made by another LMDB version (%s)",
                    doing);
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
static int s_read_begin(gw_store *store, MDB_txn **txn)
{
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(store->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, txn);
    }
    return rc;
}

/* A registration value: u64be registration | u64be accepted_ms. */
static int s_decode_reg(const MDB_val *v, gw_registration *out)
{
    if (v->mv_size != 16)
        return MN_ESTORE;
    const uint8_t *p = v->mv_data;
    out->registration = s_get_u64be(p);
    out->accepted_ms = s_get_u64be(p + 8);
    return MN_OK;
}

static int s_dir_prepare(const char *dir, int read_only, mn_diag *d)
{
    struct stat st;
    char data[S_DIR_MAX + 16];
    int rc = MN_OK;

    if (read_only) {
        snprintf(data, sizeof data, "%s/data.mdb", dir);
        if (stat(data, &st) != 0) {
            if (errno == ENOENT) {
                rc = mn_diag_set(d, MN_ESTORE, dir,
                                 "no store at %s: start the gateway once or check data_dir", dir);
                mn_diag_hint(d, "the gateway creates the store on its first start; data_dir in "
                                "gateway.conf says where");
            } else {
                rc = mn_diag_sys(d, data, "cannot read the store");
            }
        }
        goto out;
    }
    if (mkdir(dir, 0700) == 0)
        goto out;
    if (errno != EEXIST) {
        rc = mn_diag_sys(d, dir, "cannot create the store directory");
        if (errno == ENOENT)
            mn_diag_hint(d, "create its parent folder first, or check data_dir in gateway.conf");
        goto out;
    }
    if (stat(dir, &st) != 0) {
        rc = mn_diag_sys(d, dir, "cannot use the store directory");
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_ESTORE, dir, "the store path exists and is not a directory");
        mn_diag_hint(d, "point data_dir at a directory (it is created if missing)");
    }
out:
    return rc;
}

/* Check the format record, or write it (and next_registration) into a fresh store. */
static int s_check_format(gw_store *store, MDB_txn *txn, mn_diag *d)
{
    MDB_val k = {sizeof S_KEY_FORMAT - 1, (void *)S_KEY_FORMAT};
    MDB_val v;
    int rc = mdb_get(txn, store->meta, &k, &v);

    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        if (store->read_only) {
            rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store has no format record");
            mn_diag_hint(d, "it is damaged or was never completely created: start the gateway "
                            "once, or restore it from backup");
            goto out;
        }
        rc = mdb_stat(txn, store->registry, &st);
        if (rc != 0) {
            rc = s_fail(store, d, rc, "reading the registry");
            goto out;
        }
        if (st.ms_entries != 0) {
            rc = mn_diag_set(d, MN_ESTORE, store->dir,
                             "the store has registrations but no format record");
            mn_diag_hint(d, "it is damaged: stop the gateway, move the data directory aside and "
                            "restore it from backup");
            goto out;
        }
        uint8_t fmt[4], next[8];
        s_put_u32be(fmt, GW_STORE_FORMAT);
        s_put_u64be(next, 1);
        MDB_val fv = {sizeof fmt, fmt};
        MDB_val nk = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
        MDB_val nv = {sizeof next, next};
        rc = mdb_put(txn, store->meta, &k, &fv, 0);
        if (rc == 0)
            rc = mdb_put(txn, store->meta, &nk, &nv, 0);
        if (rc != 0)
            rc = s_fail(store, d, rc, "creating the store");
        goto out;
    }
    if (rc != 0) {
        rc = s_fail(store, d, rc, "reading the format record");
        goto out;
    }
    if (v.mv_size != 4) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the format record is damaged (%zu bytes)",
                         v.mv_size);
        mn_diag_hint(d, "restore the data directory from backup");
        goto out;
    }
    uint32_t found = s_get_u32be(v.mv_data);
    if (found != GW_STORE_FORMAT) {
        rc = mn_diag_set(d, MN_EVERSION, store->dir,
                         "the store has format %u; this meldnet reads format %u", found,
                         GW_STORE_FORMAT);
        mn_diag_hint(d, "run the meldnet version that made this store, or move the data "
                        "directory aside to start a new one");
        goto out;
    }
    rc = MN_OK;
out:
    return rc;
}

/* --- open / close --------------------------------------------------------------------------- */

int gw_store_open(const char *dir, size_t map_size_mb, int read_only, gw_store **out,
                  mn_diag *d)
{
    gw_store *store = NULL;
    MDB_txn *txn = NULL;
    unsigned flags = MDB_NOTLS | (read_only ? MDB_RDONLY : 0);
    unsigned dbflags = read_only ? 0 : MDB_CREATE;
    int rc;

    *out = NULL;
    if (!dir || !dir[0] || strlen(dir) >= S_DIR_MAX) {
        rc = mn_diag_set(d, MN_EINVAL, "data_dir", "the store directory is empty or too long");
        goto out;
    }
    if (!read_only && map_size_mb == 0) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "map_size_mb must be at least 1");
        goto out;
    }
    if (map_size_mb > SIZE_MAX / (1024 * 1024)) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "map_size_mb %zu is too large for this machine",
                         map_size_mb);
        goto out;
    }
    rc = s_dir_prepare(dir, read_only, d);
    if (rc != MN_OK)
        goto out;

    store = calloc(1, sizeof *store);
    if (!store) {
        rc = mn_diag_set(d, MN_ENOMEM, dir, "out of memory opening the store");
        goto out;
    }
    snprintf(store->dir, sizeof store->dir, "%s", dir);
    store->read_only = read_only;
    atomic_init(&store->writing, 0);

    rc = mdb_env_create(&store->env);
    if (rc != 0) {
        store->env = NULL;
        rc = s_fail(store, d, rc, "creating the LMDB environment");
        goto out;
    }
    rc = mdb_env_set_maxdbs(store->env, S_N_DBS);
    /* read-only with 0: LMDB takes the size the writer recorded */
    if (rc == 0 && map_size_mb > 0)
        rc = mdb_env_set_mapsize(store->env, map_size_mb * 1024 * 1024);
    if (rc != 0) {
        rc = s_fail(store, d, rc, "configuring the LMDB environment");
        goto out;
    }
    rc = mdb_env_open(store->env, dir, flags, 0600);
    if (rc != 0) {
        rc = s_fail(store, d, rc, "opening the store");
        goto out;
    }
    if (!read_only) {
        int dead = 0;
        (void)mdb_reader_check(store->env, &dead); /* free slots of crashed readers */
    }

    rc = read_only ? s_read_begin(store, &txn) : mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0) {
        rc = s_fail(store, d, rc, "starting the first transaction");
        goto out;
    }
    const char *names[S_N_DBS] = {"meta", "by_id", "by_digest", "registry", "queue", "hold",
                                  "unrouted"};
    MDB_dbi *dbis[S_N_DBS] = {&store->meta, &store->by_id, &store->by_digest, &store->registry,
                              &store->queue, &store->hold, &store->unrouted};
    store->has_queues = 1;
    for (int i = 0; i < S_N_DBS && (i < S_N_OLD_DBS || store->has_queues); i++) {
        rc = mdb_dbi_open(txn, names[i], dbflags, dbis[i]);
        if (rc == MDB_NOTFOUND && read_only && i == S_N_OLD_DBS) {
            store->has_queues = 0; /* an older store: the gateway adds them on its next start */
            continue;
        }
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
            rc = mn_diag_set(d, MN_ESTORE, dir, "not a meldnet store: database \"%s\" is "
                             "missing or of another kind", names[i]);
            mn_diag_hint(d, "check data_dir in gateway.conf; it must be the gateway's own store");
            goto out;
        }
        if (rc != 0) {
            rc = s_fail(store, d, rc, "opening the databases");
            goto out;
        }
    }
    rc = s_check_format(store, txn, d);
    if (rc != MN_OK)
        goto out;
    /* commit also for read-only: it keeps the database handles in the environment */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        rc = s_fail(store, d, rc, "creating the store");
        goto out;
    }
    *out = store;
    store = NULL;
    rc = MN_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    gw_store_destroy(&store);
    return rc;
}

void gw_store_destroy(gw_store **store_p)
{
    if (!store_p || !*store_p)
        return;
    gw_store *store = *store_p;
    if (store->env)
        mdb_env_close(store->env);
    free(store);
    *store_p = NULL;
}

/* --- write transactions --------------------------------------------------------------------- */

int gw_store_begin(gw_store *store, gw_store_txn **txn_out, mn_diag *d)
{
    gw_store_txn *t = NULL;
    int expected = 0;
    int rc;

    *txn_out = NULL;
    if (store->read_only) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store is open read-only");
        mn_diag_hint(d, "only the gateway writes the store");
        goto out;
    }
    /* LMDB would block forever on a second write transaction from the same thread */
    if (!atomic_compare_exchange_strong(&store->writing, &expected, 1)) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "a write transaction is already open");
        mn_diag_hint(d, "this is a bug in the gateway: commit or abort the open batch first");
        goto out;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        atomic_store(&store->writing, 0);
        rc = mn_diag_set(d, MN_ENOMEM, store->dir, "out of memory starting a transaction");
        goto out;
    }
    t->store = store;
    rc = mdb_txn_begin(store->env, NULL, 0, &t->txn);
    if (rc != 0) {
        atomic_store(&store->writing, 0);
        free(t);
        t = NULL;
        rc = s_fail(store, d, rc, "starting a write transaction");
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

int gw_store_find_id(gw_store_txn *txn, const uint8_t id[16], gw_registration *out)
{
    return s_find(txn, txn->store->by_id, id, 16, out);
}

int gw_store_find_digest(gw_store_txn *txn, const uint8_t digest[32], gw_registration *out)
{
    return s_find(txn, txn->store->by_digest, digest, 32, out);
}

int gw_store_next_registration(gw_store_txn *txn, uint64_t *reg_out)
{
    MDB_val k = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
    MDB_val v;
    uint8_t buf[8];
    int rc = mdb_get(txn->txn, txn->store->meta, &k, &v);

    if (rc != 0 || v.mv_size != 8) {
        rc = MN_ESTORE;
        goto out;
    }
    uint64_t next = s_get_u64be(v.mv_data);
    if (next == 0 || next == UINT64_MAX) {
        rc = MN_ESTORE;
        goto out;
    }
    s_put_u64be(buf, next + 1);
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
                     const gw_registration *reg, const char *what, mn_diag *d)
{
    uint8_t buf[16];
    s_put_u64be(buf, reg->registration);
    s_put_u64be(buf + 8, reg->accepted_ms);
    MDB_val k = {key_len, (void *)key};
    MDB_val v = {sizeof buf, buf};
    int rc = mdb_put(txn->txn, dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        rc = mn_diag_set(d, MN_ESTORE, txn->store->dir, "%s is stored already", what);
        mn_diag_hint(d, "this is a bug in the gateway: look the %s up before registering; the "
                        "batch is refused and nothing was overwritten", what);
        return MN_ESTORE;
    }
    return rc == 0 ? MN_OK : s_fail(txn->store, d, rc, "storing a registration");
}

int gw_store_put_registration(gw_store_txn *txn, const uint8_t id[16], const uint8_t digest[32],
                              const gw_registration *reg, const uint8_t *sealed,
                              size_t sealed_len, mn_diag *d)
{
    uint8_t key[8];
    int rc;

    if (reg->registration == 0 || !sealed || sealed_len == 0) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir,
                         "a registration needs a number > 0 and a sealed record");
        goto out;
    }
    rc = s_put_reg(txn, txn->store->by_id, id, 16, reg, "envelope id", d);
    if (rc != MN_OK)
        goto out;
    rc = s_put_reg(txn, txn->store->by_digest, digest, 32, reg, "content digest", d);
    if (rc != MN_OK)
        goto out;
    s_put_u64be(key, reg->registration);
    MDB_val k = {sizeof key, key};
    MDB_val v = {sealed_len, (void *)sealed};
    int mrc = mdb_put(txn->txn, txn->store->registry, &k, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) {
        rc = mn_diag_set(d, MN_ESTORE, txn->store->dir,
                         "registration %llu is stored already",
                         (unsigned long long)reg->registration);
        mn_diag_hint(d, "this is a bug in the gateway: take numbers from "
                        "gw_store_next_registration; nothing was overwritten");
        goto out;
    }
    if (mrc != 0) {
        rc = s_fail(txn->store, d, mrc, "storing a registry record");
        goto out;
    }
    rc = MN_OK;
out:
    return rc;
}

int gw_store_put_alias(gw_store_txn *txn, const uint8_t id[16], const gw_registration *reg,
                       mn_diag *d)
{
    if (reg->registration == 0)
        return mn_diag_set(d, MN_EINVAL, txn->store->dir, "an alias needs a registration > 0");
    return s_put_reg(txn, txn->store->by_id, id, 16, reg, "envelope id", d);
}

int gw_store_commit(gw_store_txn **txn_p, mn_diag *d)
{
    int rc = MN_OK;
    if (!txn_p || !*txn_p)
        goto out;
    gw_store_txn *t = *txn_p;
    gw_store *store = t->store;
    int mrc = mdb_txn_commit(t->txn); /* frees the LMDB txn also on failure */
    atomic_store(&store->writing, 0);
    free(t);
    *txn_p = NULL;
    if (mrc != 0)
        rc = s_fail(store, d, mrc, "committing a batch");
out:
    return rc;
}

void gw_store_abort(gw_store_txn **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    gw_store_txn *t = *txn_p;
    mdb_txn_abort(t->txn);
    atomic_store(&t->store->writing, 0);
    free(t);
    *txn_p = NULL;
}

/* --- reading the registry ------------------------------------------------------------------- */

int gw_store_registry_count(gw_store *store, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    int rc = s_read_begin(store, &txn);
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

int gw_store_registry_get(gw_store *store, uint64_t reg, uint8_t **sealed, size_t *len)
{
    MDB_txn *txn = NULL;
    uint8_t key[8];
    MDB_val k = {sizeof key, key};
    MDB_val v;
    int rc;

    *sealed = NULL;
    *len = 0;
    s_put_u64be(key, reg);
    rc = s_read_begin(store, &txn);
    if (rc != 0) {
        txn = NULL;
        rc = MN_ESTORE;
        goto out;
    }
    rc = mdb_get(txn, store->registry, &k, &v);
    if (rc == MDB_NOTFOUND) {
        rc = MN_ENOTFOUND;
        goto out;
    }
    if (rc != 0 || v.mv_size == 0) {
        rc = MN_ESTORE;
        goto out;
    }
    *sealed = malloc(v.mv_size);
    if (!*sealed) {
        rc = MN_ENOMEM;
        goto out;
    }
    memcpy(*sealed, v.mv_data, v.mv_size);
    *len = v.mv_size;
    rc = MN_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int gw_store_registry_each(gw_store *store, int (*fn)(uint64_t reg, void *arg), void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = s_read_begin(store, &txn);
    if (rc != 0) {
        txn = NULL;
        rc = MN_ESTORE;
        goto out;
    }
    if (mdb_cursor_open(txn, store->registry, &cur) != 0) {
        cur = NULL;
        rc = MN_ESTORE;
        goto out;
    }
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        if (k.mv_size != 8) {
            rc = MN_ESTORE;
            goto out;
        }
        if (fn(s_get_u64be(k.mv_data), arg) != 0)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? MN_OK : MN_ESTORE;
out:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}
