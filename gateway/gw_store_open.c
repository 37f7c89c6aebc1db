/* gw_store_open.c - gw_store: open, check, upgrade and close the store; its identity and
 * numbering (see gw_store_impl.h for the module's other files).
 *
 * Before LMDB maps data.mdb it is checked (mn_lmdbcheck), so a damaged file is an error with a
 * hint, not a SIGBUS; a lock.mdb without its data.mdb is a lost store, never a new empty one.
 * A format-1 store is upgraded at the first writable open (its by_id entries stay readable).
 * A store made before the partner queues existed opens read-only with empty queues; the
 * gateway's first (writable) open adds them.
 */
#include "gw_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gw_store_impl.h"
#include "mn_bytes.h"
#include "mn_key.h"
#include "mn_lmdbcheck.h"
#include "mn_log.h"

#define S_KEY_FORMAT "format"
#define S_KEY_STORE_ID "store_id"
#define S_N_DBS 7
#define S_N_OLD_DBS 4 /* the databases every store has; the queue ones came later */

/* --- the directory and the format records --------------------------------------------------- */

static int s_dir_prepare(const char *dir, int read_only, mn_diag *d)
{
    struct stat st;
    char data[GW_STORE_DIR_MAX + 16];
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
            rc = mn_diag_set(d, MN_ESTORE, dir,
                             "the store's data.mdb is missing, but its "
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
    if (rc == 0) {
        if (v.mv_size == GW_STORE_ID_BYTES)
            return MN_OK;
        mn_diag_set(d, MN_ESTORE, store->dir, "the store's identity record is damaged");
        mn_diag_hint(d, "stop the gateway, move the data directory aside and restore it from "
                        "backup");
        return MN_ESTORE;
    }
    if (rc != MDB_NOTFOUND)
        return gw_store_fail(store, d, rc, "reading the store identity");
    if (store->read_only)
        return MN_OK;
    uint8_t id[GW_STORE_ID_BYTES];
    mn_random_bytes(id, sizeof id);
    MDB_val nv = {sizeof id, id};
    rc = mdb_put(txn, store->meta, &k, &nv, MDB_NOOVERWRITE);
    return rc == 0 ? MN_OK : gw_store_fail(store, d, rc, "giving the store its identity");
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
        return gw_store_fail(store, d, rc, "upgrading the store's format");
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
            rc = gw_store_fail(store, d, rc, "reading the registry");
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
        MDB_val nk = {sizeof GW_STORE_KEY_NEXT - 1, (void *)GW_STORE_KEY_NEXT};
        MDB_val nv = {sizeof next, next};
        rc = mdb_put(txn, store->meta, &k, &fv, 0);
        if (rc == 0)
            rc = mdb_put(txn, store->meta, &nk, &nv, 0);
        if (rc != 0) {
            rc = gw_store_fail(store, d, rc, "creating the store");
            goto out;
        }
        store->created = 1;
        rc = s_ensure_store_id(store, txn, d);
        goto out;
    }
    if (rc != 0) {
        rc = gw_store_fail(store, d, rc, "reading the format record");
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

int gw_store_open(const char *dir, size_t map_size_mb, int read_only, gw_store **out, mn_diag *d)
{
    gw_store *store = NULL;
    MDB_txn *txn = NULL;
    unsigned flags = MDB_NOTLS | (read_only ? MDB_RDONLY : 0);
    unsigned dbflags = read_only ? 0 : MDB_CREATE;
    int rc;

    *out = NULL;
    if (!dir || !dir[0] || strlen(dir) >= GW_STORE_DIR_MAX) {
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
    char data_path[GW_STORE_DIR_MAX + 16];
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
        rc = gw_store_fail(store, d, rc, "creating the LMDB environment");
        goto out;
    }
    rc = mdb_env_set_maxdbs(store->env, S_N_DBS);
    /* read-only with 0: LMDB takes the size the writer recorded */
    if (rc == 0 && map_size_mb > 0)
        rc = mdb_env_set_mapsize(store->env, map_size_mb * 1024 * 1024);
    if (rc != 0) {
        rc = gw_store_fail(store, d, rc, "configuring the LMDB environment");
        goto out;
    }
    rc = mdb_env_open(store->env, dir, flags, 0600);
    if (rc != 0) {
        rc = gw_store_fail(store, d, rc, "opening the store");
        goto out;
    }
    if (!read_only) {
        int dead = 0;
        (void)mdb_reader_check(store->env, &dead); /* free slots of crashed readers */
        s_find_map(store);
    }

    rc = read_only ? gw_store_read_begin(store, &txn) : mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0) {
        rc = gw_store_fail(store, d, rc, "starting the first transaction");
        goto out;
    }
    const char *names[S_N_DBS] = {"meta",  "by_id", "by_digest", "registry",
                                  "queue", "hold",  "unrouted"};
    MDB_dbi *dbis[S_N_DBS] = {&store->meta,  &store->by_id, &store->by_digest, &store->registry,
                              &store->queue, &store->hold,  &store->unrouted};
    store->has_queues = 1;
    for (int i = 0; i < S_N_DBS && (i < S_N_OLD_DBS || store->has_queues); i++) {
        rc = mdb_dbi_open(txn, names[i], dbflags, dbis[i]);
        if (rc == MDB_NOTFOUND && read_only && i == S_N_OLD_DBS) {
            store->has_queues = 0; /* an older store: the gateway adds them on its next start */
            continue;
        }
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
            rc = mn_diag_set(d, MN_ESTORE, dir,
                             "not a meldnet store: database \"%s\" is "
                             "missing or of another kind",
                             names[i]);
            mn_diag_hint(d, "check data_dir in gateway.conf; it must be the gateway's own store");
            goto out;
        }
        if (rc != 0) {
            rc = gw_store_fail(store, d, rc, "opening the databases");
            goto out;
        }
    }
    rc = s_check_format(store, txn, d);
    if (rc == MN_OK && !read_only)
        rc = gw_store_counts_init(store, txn, d);
    if (rc != MN_OK)
        goto out;
    /* commit also for read-only: it keeps the database handles in the environment */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        rc = gw_store_fail(store, d, rc, "creating the store");
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

/* --- identity and numbering ------------------------------------------------------------- */

int gw_store_identity(gw_store *store, gw_store_ident *out, mn_diag *d)
{
    MDB_txn *txn = NULL;
    MDB_val k = {sizeof S_KEY_STORE_ID - 1, (void *)S_KEY_STORE_ID};
    MDB_val nk = {sizeof GW_STORE_KEY_NEXT - 1, (void *)GW_STORE_KEY_NEXT};
    MDB_val v;
    MDB_stat st;
    int rc = gw_store_read_begin(store, &txn);
    memset(out, 0, sizeof *out);
    if (rc != 0) {
        txn = NULL;
        rc = gw_store_fail(store, d, rc, "reading the store's identity");
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
        rc = gw_store_fail(store, d, MDB_CORRUPTED, "counting the registrations");
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
    MDB_val nk = {sizeof GW_STORE_KEY_NEXT - 1, (void *)GW_STORE_KEY_NEXT};
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
        rc = gw_store_fail(store, d, rc, "raising the next registration number");
        goto out;
    }
    rc = gw_store_commit(&txn, d);
out:
    gw_store_abort(&txn);
    return rc;
}
