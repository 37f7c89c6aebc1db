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
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mn_bytes.h"
#include "mn_key.h"
#include "mn_lmdbcheck.h"
#include "mn_log.h"
#include "mn_time.h"

#define S_DIR_MAX 4096
#define S_KEY_FORMAT "format"
#define S_KEY_NEXT "next_registration"
#define S_KEY_NEXT_TAG "next_tag"
#define S_KEY_STORE_ID "store_id"
#define S_ID_KEY_MAX (MN_NAME_MAX + 1 + 16) /* by_id: agent NUL envelope id */
/* Per-partner item counts, kept in meta in the same transaction as the items: "queue_count" or
 * "hold_count", NUL, the partner's name -> u64be. S_KEY_COUNTS marks a store that has them
 * (added at the first read-write open of an older store). Counting keys instead would read
 * every leaf page of a queue, and items small enough to sit in their leaf (a short referral)
 * make that as dear as reading the items. */
#define S_KEY_COUNTS "counts_v1"
#define S_COUNT_QUEUE "queue_count"
#define S_COUNT_HOLD "hold_count"
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
    int created;    /* this open made the store (a fresh format record) */
    int read_only;
    void *map_start; /* LMDB's memory map of data.mdb (found in /proc/self/maps), or NULL */
    size_t map_len;
    /* Held with the write transaction. Threads take turns (the ingest writer and the delivery
     * loop); the same thread asking twice is a bug that LMDB would turn into a hang: the
     * error-checking mutex says EDEADLK instead. */
    pthread_mutex_t write_lock;
    char dir[S_DIR_MAX];
};

struct gw_store_txn {
    gw_store *store;
    MDB_txn *txn;
};

/* --- helpers -------------------------------------------------------------------------------- */

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

/* A read transaction with a cursor on dbi, for the _each walks. MN_OK, or MN_ESTORE with
 * nothing left open. s_cursor_end ends both. */
static int s_cursor_begin(gw_store *store, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **cur)
{
    *txn = NULL;
    *cur = NULL;
    if (s_read_begin(store, txn) != 0) {
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
static void s_cursor_end(MDB_txn *txn, MDB_cursor *cur)
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
        goto out;
    }
    /* LMDB makes lock.mdb and data.mdb together: a lock file alone means data.mdb was lost,
     * and opening would silently make a new, empty store. */
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    if (stat(data, &st) != 0 && errno == ENOENT) {
        snprintf(data, sizeof data, "%s/lock.mdb", dir);
        if (stat(data, &st) == 0) {
            rc = mn_diag_set(d, MN_ESTORE, dir, "the store's data.mdb is missing, but its "
                             "lock.mdb is there: the store existed and its data is gone");
            mn_diag_hint(d, "restore data.mdb from a backup; only to start an empty store on "
                            "purpose, also remove lock.mdb");
        }
    }
out:
    return rc;
}

/* Give a store its identity (16 random bytes) unless it has one: a fresh store, or one made
 * before stores had one (read-only opens leave it without). */
static int s_ensure_store_id(gw_store *store, MDB_txn *txn, mn_diag *d)
{
    MDB_val k = {sizeof S_KEY_STORE_ID - 1, (void *)S_KEY_STORE_ID};
    MDB_val v;
    int rc = mdb_get(txn, store->meta, &k, &v);
    if (rc == 0)
    {
        if (v.mv_size == GW_STORE_ID_BYTES)
            return MN_OK;
        mn_diag_set(d, MN_ESTORE, store->dir, "the store's identity record is damaged");
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        return MN_ESTORE;
    }
    if (rc != MDB_NOTFOUND)
        return s_fail(store, d, rc, "reading the store identity");
    if (store->read_only)
        return MN_OK;
    uint8_t id[GW_STORE_ID_BYTES];
    mn_random_bytes(id, sizeof id);
    MDB_val nv = {sizeof id, id};
    rc = mdb_put(txn, store->meta, &k, &nv, MDB_NOOVERWRITE);
    return rc == 0 ? MN_OK : s_fail(store, d, rc, "giving the store its identity");
}

/* Format 1 kept by_id by the envelope id alone; format 2 by agent and id, with the content
 * digest. Format 1 entries stay (their 16-byte keys are found as a fallback), so a store is
 * upgraded by writing the new number. */
static int s_upgrade_format(gw_store *store, MDB_txn *txn, MDB_val *k, mn_diag *d)
{
    uint8_t fmt[4];
    mn_bytes_put_u32be(fmt, GW_STORE_FORMAT);
    MDB_val fv = {sizeof fmt, fmt};
    int rc = mdb_put(txn, store->meta, k, &fv, 0);
    if (rc != 0)
        return s_fail(store, d, rc, "upgrading the store's format");
    log_notice("store", "store upgraded dir=%s format=%u", store->dir, GW_STORE_FORMAT);
    return MN_OK;
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
        mn_bytes_put_u32be(fmt, GW_STORE_FORMAT);
        mn_bytes_put_u64be(next, 1);
        MDB_val fv = {sizeof fmt, fmt};
        MDB_val nk = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
        MDB_val nv = {sizeof next, next};
        rc = mdb_put(txn, store->meta, &k, &fv, 0);
        if (rc == 0)
            rc = mdb_put(txn, store->meta, &nk, &nv, 0);
        if (rc != 0) {
            rc = s_fail(store, d, rc, "creating the store");
            goto out;
        }
        store->created = 1;
        rc = s_ensure_store_id(store, txn, d);
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
    uint32_t found = mn_bytes_get_u32be(v.mv_data);
    if (found == 1 && !store->read_only) {
        rc = s_upgrade_format(store, txn, &k, d);
        if (rc != MN_OK)
            goto out;
    } else if (found != GW_STORE_FORMAT && found != 1) {
        rc = mn_diag_set(d, MN_EVERSION, store->dir,
                         "the store has format %u; this meldnet reads format %u", found,
                         GW_STORE_FORMAT);
        mn_diag_hint(d, "run the meldnet version that made this store, or move the data "
                        "directory aside to start a new one");
        goto out;
    }
    rc = s_ensure_store_id(store, txn, d);
out:
    return rc;
}

/* --- open / close --------------------------------------------------------------------------- */

/* LMDB does not say where its map is (me_mapaddr is only set with MDB_FIXEDMAP): find the
 * mapping of the data file by its inode. Not found: release_map does nothing. */
static void s_find_map(gw_store *store)
{
    mdb_filehandle_t fd;
    struct stat st;
    char line[4096];
    if (mdb_env_get_fd(store->env, &fd) != 0 || fstat(fd, &st) != 0)
        return;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, inode;
        char dev[32];
        if (sscanf(line, "%lx-%lx %*s %*s %31s %lu", &start, &end, dev, &inode) == 4 &&
            inode == (unsigned long)st.st_ino && end - start > store->map_len) {
            store->map_start = (void *)start;
            store->map_len = end - start;
        }
    }
    fclose(maps);
}

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
static int s_counts_init(gw_store *store, MDB_txn *txn, mn_diag *d)
{
    MDB_val mk = {sizeof S_KEY_COUNTS - 1, (void *)S_KEY_COUNTS}, mv;
    int rc = mdb_get(txn, store->meta, &mk, &mv);
    if (rc == 0)
        return MN_OK;
    if (rc != MDB_NOTFOUND)
        return s_fail(store, d, rc, "reading the queue counts");
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
    /* Before LMDB maps it: a damaged file is an error here, not a SIGBUS or an abort later. */
    char data_path[S_DIR_MAX + 16];
    snprintf(data_path, sizeof data_path, "%s/data.mdb", dir);
    rc = mn_lmdbcheck_file(data_path, "store", NULL, d);
    if (rc == MN_ENOTFOUND)
        rc = MN_OK; /* a new store (s_dir_prepare refused a lost one) */
    if (rc != MN_OK)
        goto out;

    store = calloc(1, sizeof *store);
    if (!store) {
        rc = mn_diag_set(d, MN_ENOMEM, dir, "out of memory opening the store");
        goto out;
    }
    snprintf(store->dir, sizeof store->dir, "%s", dir);
    store->read_only = read_only;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&store->write_lock, &attr);
    pthread_mutexattr_destroy(&attr);

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
        s_find_map(store);
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
    if (rc == MN_OK && !read_only)
        rc = s_counts_init(store, txn, d);
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
    pthread_mutex_destroy(&store->write_lock);
    free(store);
    *store_p = NULL;
}

void gw_store_release_map(gw_store *store)
{
    /* MADV_DONTNEED on a shared file mapping drops only this process's page table entries. */
    if (store && store->map_start)
        (void)madvise(store->map_start, store->map_len, MADV_DONTNEED);
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
    MDB_val k = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
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
        mn_diag_hint(d, "this is a bug in the gateway: look the %s up before registering; the "
                        "batch is refused and nothing was overwritten", what);
        return MN_ESTORE;
    }
    return rc == 0 ? MN_OK : s_fail(txn->store, d, rc, "storing a registration");
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
    pthread_mutex_unlock(&t->store->write_lock);
    free(t);
    *txn_p = NULL;
}

/* --- identity and numbering ------------------------------------------------------------- */

int gw_store_identity(gw_store *store, gw_store_ident *out, mn_diag *d)
{
    MDB_txn *txn = NULL;
    MDB_val k = {sizeof S_KEY_STORE_ID - 1, (void *)S_KEY_STORE_ID};
    MDB_val nk = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
    MDB_val v;
    MDB_stat st;
    int rc = s_read_begin(store, &txn);
    memset(out, 0, sizeof *out);
    if (rc != 0) {
        txn = NULL;
        rc = s_fail(store, d, rc, "reading the store's identity");
        goto out;
    }
    rc = mdb_get(txn, store->meta, &k, &v);
    if (rc == 0 && v.mv_size == GW_STORE_ID_BYTES) {
        memcpy(out->id, v.mv_data, GW_STORE_ID_BYTES);
        out->has_id = 1;
    } else if (rc != MDB_NOTFOUND) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store's identity record is damaged");
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        goto out;
    }
    rc = mdb_get(txn, store->meta, &nk, &v);
    if (rc != 0 || v.mv_size != 8 || mn_bytes_get_u64be(v.mv_data) == 0) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store's next registration number is %s",
                         rc == MDB_NOTFOUND ? "missing" : "damaged");
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        goto out;
    }
    out->next_registration = mn_bytes_get_u64be(v.mv_data);
    if (mdb_stat(txn, store->registry, &st) != 0) {
        rc = s_fail(store, d, MDB_CORRUPTED, "counting the registrations");
        goto out;
    }
    out->registrations = st.ms_entries;
    out->created = store->created;
    rc = MN_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int gw_store_raise_next(gw_store *store, uint64_t next, mn_diag *d)
{
    gw_store_txn *txn = NULL;
    MDB_val nk = {sizeof S_KEY_NEXT - 1, (void *)S_KEY_NEXT};
    MDB_val v;
    uint8_t buf[8];
    int rc = gw_store_begin(store, &txn, d);
    if (rc != MN_OK)
        goto out;
    rc = mdb_get(txn->txn, store->meta, &nk, &v);
    if (rc != 0 || v.mv_size != 8) {
        rc = mn_diag_set(d, MN_ESTORE, store->dir, "the store's next registration number is %s",
                         rc == MDB_NOTFOUND ? "missing" : "damaged");
        goto out;
    }
    if (mn_bytes_get_u64be(v.mv_data) >= next) { /* never lower: that would reuse numbers */
        rc = MN_OK;
        goto out;
    }
    mn_bytes_put_u64be(buf, next);
    MDB_val nv = {sizeof buf, buf};
    rc = mdb_put(txn->txn, store->meta, &nk, &nv, 0);
    if (rc != 0) {
        rc = s_fail(store, d, rc, "raising the next registration number");
        goto out;
    }
    rc = gw_store_commit(&txn, d);
out:
    gw_store_abort(&txn);
    return rc;
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

/* Copy registration reg's sealed record out of dbi within txn. */
static int s_registry_copy(MDB_txn *txn, MDB_dbi dbi, uint64_t reg, uint8_t **sealed,
                           size_t *len)
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
    if (s_read_begin(store, &txn) != 0)
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
    int rc = s_cursor_begin(store, store->registry, &txn, &cur);
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
    s_cursor_end(txn, cur);
    return rc;
}

int gw_store_txn_registry_get(gw_store_txn *txn, uint64_t reg, uint8_t **sealed, size_t *len)
{
    return s_registry_copy(txn->txn, txn->store->registry, reg, sealed, len);
}

/* --- partner queues: keys and item values ---------------------------------------------------- */

#define S_LANE_ACUTE 0
#define S_LANE_NORMAL 1
#define S_TOPIC_MAX (sizeof ((gw_unrouted *)NULL)->topic - 1)
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
        return s_fail(txn->store, d, rc, "storing a queue item");
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
        rc = s_fail(txn->store, d, rc, "reading the tag counter");
        goto out;
    }
    mn_bytes_put_u64be(buf, next + 1);
    MDB_val nv = {sizeof buf, buf};
    rc = mdb_put(txn->txn, txn->store->meta, &k, &nv, 0);
    if (rc != 0) {
        rc = s_fail(txn->store, d, rc, "taking a tag");
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
static int s_item_load(gw_store_txn *txn, const MDB_val *v, const char *what,
                       const char *partner, uint64_t tag, gw_queue_item *out, mn_diag *d)
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
                       const uint8_t *to_key, size_t to_len, MDB_dbi from,
                       const uint8_t *from_key, size_t from_len, const char *doing, mn_diag *d)
{
    int rc = s_item_put(txn, to, to_key, to_len, it, MDB_NOOVERWRITE, d);
    if (rc != MN_OK)
        return rc;
    MDB_val k = {from_len, (void *)from_key};
    int mrc = mdb_del(txn->txn, from, &k, NULL);
    return mrc == 0 ? MN_OK : s_fail(txn->store, d, mrc, doing);
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
    return rc == 0 ? MN_OK : s_fail(txn->store, d, rc, "counting queue items");
}

int gw_store_queue_put(gw_store_txn *txn, gw_queue_item *item, mn_diag *d)
{
    uint8_t key[S_QKEY_MAX];
    uint64_t tag = 0;
    int rc;

    if (!mn_name_is_valid(item->partner) || !s_item_is_valid(item)) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir, "a queue item needs a partner name, a "
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
        return s_fail(txn->store, d, rc, "removing an acknowledged item");
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
        rc = s_fail(txn->store, d, mrc, "reading a held item");
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
    if ((rc = s_cursor_begin(store, dbi, &txn, &cur)) != MN_OK)
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
    s_cursor_end(txn, cur);
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
    int rc = s_cursor_begin(store, store->queue, &txn, &cur);
    int counted = rc == MN_OK && s_has_counts(store, txn);
    if (counted)
        rc = s_count_get(txn, store->meta, S_COUNT_QUEUE, partner, count);
    for (int lane = S_LANE_ACUTE; rc == MN_OK && lane <= S_LANE_NORMAL; lane++)
        rc = s_lane_figures(cur, partner, lane, counted ? NULL : count, oldest_enqueued_ms);
    s_cursor_end(txn, cur);
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
    int rc = s_cursor_begin(store, store->hold, &txn, &cur);
    if (rc == MN_OK && s_has_counts(store, txn)) {
        rc = s_count_get(txn, store->meta, S_COUNT_HOLD, partner, count);
    } else if (rc == MN_OK) { /* an older store opened read-only: count the keys */
        rc = s_count_keys(cur, key, n - 8, n, count);
    }
    s_cursor_end(txn, cur);
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
    if (s_read_begin(store, &txn) != 0)
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

int gw_store_map_usage(gw_store *store, uint64_t *map_bytes, uint64_t *used_bytes)
{
    MDB_envinfo info;
    MDB_stat st;
    *map_bytes = 0;
    *used_bytes = 0;
    if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
        return MN_ESTORE;
    *map_bytes = info.me_mapsize;
    *used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    return MN_OK;
}

int gw_store_hold_each(gw_store *store, int (*fn)(const gw_queue_item *item, void *arg),
                       void *arg)
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
    size_t kn = memchr(u->topic, 0, sizeof u->topic) ? s_ukey(key, u->registration, u->topic)
                                                      : 0;
    size_t rl = strnlen(u->reason, sizeof u->reason);
    int rc;

    if (kn == 0 || u->registration == 0 || rl >= sizeof u->reason) {
        rc = mn_diag_set(d, MN_EINVAL, txn->store->dir, "an unrouted entry needs a registration "
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
    rc = mrc == 0 ? MN_OK : s_fail(txn->store, d, mrc, "storing an unrouted topic");
out:
    return rc;
}

int gw_store_unrouted_each(gw_store *store, int (*fn)(const gw_unrouted *u, void *arg),
                           void *arg)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    gw_unrouted u;
    int rc, mrc;

    if (!store->has_queues)
        return MN_OK;
    if ((rc = s_cursor_begin(store, store->unrouted, &txn, &cur)) != MN_OK)
        return rc;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        size_t tl = k.mv_size - 8, rl = v.mv_size - 8;
        if (k.mv_size < 8 || tl > S_TOPIC_MAX || v.mv_size < 8 ||
            rl >= sizeof u.reason || memchr((uint8_t *)k.mv_data + 8, 0, tl) ||
            memchr((uint8_t *)v.mv_data + 8, 0, rl)) {
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
    s_cursor_end(txn, cur);
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
        return mn_diag_set(d, MN_ENOTFOUND, txn->store->dir, "registration %llu has no "
                           "unrouted topic \"%s\"", (unsigned long long)registration,
                           topic ? topic : "");
    return mrc == 0 ? MN_OK : s_fail(txn->store, d, mrc, "removing an unrouted topic");
}
