/* agent_spool_open.c - agent_spool: make, check, open and close a spool (the module's other
 * file, agent_spool.c, writes and reads the items; agent_spool_impl.h).
 *
 * A spool is made only by keygen and new-spool (agent_spool_create). An open afterwards takes a
 * missing or empty data.mdb for a lost spool (never makes a new one), and checks data.mdb before
 * LMDB maps it, so a damaged file is an error with a hint, not a crash.
 */
#include "agent_spool.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "agent_spool_impl.h"
#include "mn_bytes.h"
#include "mn_lmdbcheck.h"

#define S_KIND "meldnet-agent-spool"
#define S_NAMED_DBS 5
#define S_MAX_DBS 8

/* --- open / destroy ----------------------------------------------------------------------- */

/* The hint for a spool that was made once and is gone or empty now. */
#define S_LOST_HINT                                                                                \
    "restore the spool directory from a backup: reports queued in it have not "                    \
    "reached the gateway. Only to start with an empty spool on purpose, run "                      \
    "'meldnet-agent new-spool'"

/* The hint for a spool that is there but damaged. */
#define S_DAMAGED_HINT                                                                             \
    "move the spool directory aside (keep it: its queued reports may still "                       \
    "be saved from it) and restore the spool from a backup, or start an "                          \
    "empty one with 'meldnet-agent new-spool'"

/* create: make dir 0700 when missing. Refuse a dir that is not a directory or that others may
 * enter, and a data file that others may read. */
static int s_prepare_dir(const char *dir, int create, mn_diag *d)
{
    struct stat st;
    char path[PATH_MAX];
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mn_diag_sys(d, dir, "cannot create the spool directory");
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return mn_diag_sys(d, dir, "cannot read the spool directory");
        int rc = mn_diag_set(d, MN_ESTORE, dir,
                             "the spool directory is missing: the reports "
                             "queued in it are not here");
        mn_diag_hint(d, S_LOST_HINT);
        return rc;
    }
    if (!S_ISDIR(st.st_mode))
        return mn_diag_set(d, MN_ESTORE, dir, "the spool path is not a directory");
    if (st.st_mode & 077) {
        int rc = mn_diag_set(d, MN_EPERM, dir,
                             "the spool directory may be entered by group or others (mode %03o)",
                             (unsigned)(st.st_mode & 0777));
        mn_diag_hint(d, "run 'chmod 700 %s'", dir);
        return rc;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, dir, "the spool path is too long");
    if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        int rc = mn_diag_set(d, MN_EPERM, path,
                             "the spool file may be read by group or others (mode %03o)",
                             (unsigned)(st.st_mode & 0777));
        mn_diag_hint(d, "run 'chmod 600 %s'", path);
        return rc;
    }
    return MN_OK;
}

/* Check data.mdb before LMDB maps it (a damaged file would crash us). A spool is made only by
 * keygen and new-spool (create); afterwards a missing or empty data.mdb means the spool was
 * lost, and mdb_env_open would silently make a new, empty one. */
static int s_check_file(const char *dir, int create, mn_diag *d)
{
    char path[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, dir, "the spool path is too long");
    int missing = stat(path, &st) != 0;
    if (missing && errno != ENOENT)
        return mn_diag_sys(d, path, "cannot read the spool file");
    int empty = !missing && S_ISREG(st.st_mode) && st.st_size == 0;
    if (create && (missing || empty))
        return MN_OK;
    if (create) {
        int rc = mn_diag_set(d, MN_EEXIST, dir, "a spool is there already");
        mn_diag_hint(d, "nothing to make: the agent uses it. If it is damaged, move the spool "
                        "directory aside first (keep it), then make a new one");
        return rc;
    }
    if (missing) {
        int rc = mn_diag_set(d, MN_ESTORE, dir,
                             "the spool's data.mdb is missing: the reports "
                             "queued in it are not here");
        mn_diag_hint(d, S_LOST_HINT);
        return rc;
    }
    int rc = mn_lmdbcheck_file(path, "spool", NULL, d);
    if (rc == MN_ESTORE && empty)
        mn_diag_hint(d, S_LOST_HINT);
    else if (rc == MN_ESTORE)
        mn_diag_hint(d, S_DAMAGED_HINT);
    return rc;
}

/* create: make the databases that are missing (a new spool); else they must all be there. */
static int s_open_dbs(agent_spool *spool, MDB_txn *txn, int create, mn_diag *d)
{
    static const char *const names[S_NAMED_DBS] = {"meta", "items", "frames", "by_id", "queue"};
    MDB_dbi *dbis[S_NAMED_DBS] = {&spool->meta, &spool->items, &spool->frames, &spool->by_id,
                                  &spool->queue};
    for (int i = 0; i < S_NAMED_DBS; i++) {
        int mrc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0, dbis[i]);
        if (mrc == MDB_NOTFOUND) {
            int rc = mn_diag_set(d, MN_ESTORE, spool->dir,
                                 "this LMDB store is not a complete "
                                 "agent spool (no \"%s\" database)",
                                 names[i]);
            mn_diag_hint(d,
                         "point 'spool' in agent.conf at the agent's own spool directory; if "
                         "it is, the spool is damaged: %s",
                         S_DAMAGED_HINT);
            return rc;
        }
        if (mrc == MDB_INCOMPATIBLE) {
            int rc = mn_diag_set(d, MN_ESTORE, spool->dir, "this LMDB store is not an agent spool");
            mn_diag_hint(d, "point 'spool' in agent.conf at the agent's own spool directory");
            return rc;
        }
        if (mrc != 0)
            return agent_spool_mdb_fail(spool, d, mrc, "opening its databases");
    }
    return MN_OK;
}

/* Check the meta records; create: write them into a fresh store. */
static int s_check_meta(agent_spool *spool, MDB_txn *txn, int create, mn_diag *d)
{
    MDB_val k = {6, "format"};
    MDB_val v;
    MDB_val kind_k = {4, "kind"};
    MDB_val kind_v;
    int mrc = mdb_get(txn, spool->meta, &k, &v);
    if (mrc == MDB_NOTFOUND && !create) {
        int rc = mn_diag_set(d, MN_ESTORE, spool->dir, "the spool has no format record");
        mn_diag_hint(d, "the spool is damaged: %s", S_DAMAGED_HINT);
        return rc;
    }
    if (mrc == MDB_NOTFOUND) {
        /* Fresh only if nothing but our (just created) databases is there. */
        MDB_dbi main_dbi;
        MDB_stat st;
        if ((mrc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
            (mrc = mdb_stat(txn, main_dbi, &st)) != 0)
            return agent_spool_mdb_fail(spool, d, mrc, "reading its catalogue");
        if (st.ms_entries != S_NAMED_DBS) {
            int rc = mn_diag_set(d, MN_ESTORE, spool->dir,
                                 "this LMDB store is not an agent spool (no format record)");
            mn_diag_hint(d, "point 'spool' in agent.conf at the agent's own spool directory");
            return rc;
        }
        uint8_t fmt[4];
        uint8_t next[8];
        mn_bytes_put_u32be(fmt, AGENT_SPOOL_FORMAT);
        mn_bytes_put_u64be(next, 1);
        MDB_val fv = {sizeof fmt, fmt};
        MDB_val nk = {8, "next_seq"};
        MDB_val nv = {sizeof next, next};
        kind_v = (MDB_val){sizeof S_KIND - 1, S_KIND};
        if ((mrc = mdb_put(txn, spool->meta, &kind_k, &kind_v, 0)) != 0 ||
            (mrc = mdb_put(txn, spool->meta, &k, &fv, 0)) != 0 ||
            (mrc = mdb_put(txn, spool->meta, &nk, &nv, 0)) != 0)
            return agent_spool_mdb_fail(spool, d, mrc, "writing the format record");
        return MN_OK;
    }
    if (mrc != 0)
        return agent_spool_mdb_fail(spool, d, mrc, "reading the format record");
    mrc = mdb_get(txn, spool->meta, &kind_k, &kind_v);
    if (mrc != 0 || kind_v.mv_size != sizeof S_KIND - 1 ||
        memcmp(kind_v.mv_data, S_KIND, sizeof S_KIND - 1) != 0) {
        int rc = mn_diag_set(d, MN_ESTORE, spool->dir,
                             "this LMDB store is not an agent spool (it may be a gateway store)");
        mn_diag_hint(d, "point 'spool' in agent.conf at the agent's own spool directory");
        return rc;
    }
    if (v.mv_size != 4)
        return mn_diag_set(d, MN_ESTORE, spool->dir, "the spool's format record is damaged");
    uint32_t format = mn_bytes_get_u32be(v.mv_data);
    if (format != AGENT_SPOOL_FORMAT) {
        int rc = mn_diag_set(d, MN_EVERSION, spool->dir,
                             "the spool has format %u; this meldnet-agent reads format %u",
                             (unsigned)format, (unsigned)AGENT_SPOOL_FORMAT);
        mn_diag_hint(d, "run the meldnet-agent version that wrote it until its queue is "
                        "delivered, or move the spool aside");
        return rc;
    }
    return MN_OK;
}

static int s_open(const char *dir, size_t map_size_mb, int create, agent_spool **out, mn_diag *d)
{
    int rc = MN_OK;
    int mrc;
    agent_spool *spool = NULL;
    MDB_txn *txn = NULL;

    if (!dir || !out || !dir[0])
        return mn_diag_set(d, MN_EINVAL, "", "no spool directory given");
    *out = NULL;
    if (map_size_mb == 0)
        map_size_mb = AGENT_SPOOL_DEFAULT_MAP_MB;
    if (map_size_mb > SIZE_MAX / (1024 * 1024))
        return mn_diag_set(d, MN_EINVAL, dir, "spool map size %zu MB is too large", map_size_mb);
    if ((rc = s_prepare_dir(dir, create, d)) != MN_OK ||
        (rc = s_check_file(dir, create, d)) != MN_OK)
        goto out;
    spool = calloc(1, sizeof *spool);
    if (!spool) {
        rc = mn_diag_set(d, MN_ENOMEM, dir, "no memory for the spool");
        goto out;
    }
    if ((size_t)snprintf(spool->dir, sizeof spool->dir, "%s", dir) >= sizeof spool->dir) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the spool path is too long");
        goto out;
    }
    if ((mrc = mdb_env_create(&spool->env)) != 0) {
        spool->env = NULL;
        rc = agent_spool_mdb_fail(spool, d, mrc, "creating the environment");
        goto out;
    }
    if ((mrc = mdb_env_set_maxdbs(spool->env, S_MAX_DBS)) != 0 ||
        (mrc = mdb_env_set_mapsize(spool->env, map_size_mb * 1024 * 1024)) != 0 ||
        (mrc = mdb_env_open(spool->env, dir, 0, 0600)) != 0) {
        rc = agent_spool_mdb_fail(spool, d, mrc, "opening");
        goto out;
    }
    int dead = 0;
    (void)mdb_reader_check(spool->env, &dead); /* clear slots of crashed readers */
    /* Opening an existing spool reads only (a read transaction, committed to keep the database
     * handles): `status` and `submit` on a full disk get that far, and a damaged spool is not
     * written to. */
    if ((rc = agent_spool_txn_begin(spool, !create, &txn, d)) != MN_OK)
        goto out;
    if ((rc = s_open_dbs(spool, txn, create, d)) != MN_OK)
        goto out;
    if ((rc = s_check_meta(spool, txn, create, d)) != MN_OK)
        goto out;
    rc = agent_spool_txn_end(spool, &txn, rc, d);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (rc == MN_OK)
        *out = spool;
    else
        agent_spool_destroy(&spool);
    return rc;
}

int agent_spool_is_short_of_space(const agent_spool *spool)
{
    return spool && spool->short_of_space;
}

int agent_spool_open(const char *dir, size_t map_size_mb, agent_spool **out, mn_diag *d)
{
    return s_open(dir, map_size_mb, 0, out, d);
}

int agent_spool_create(const char *dir, size_t map_size_mb, agent_spool **out, mn_diag *d)
{
    return s_open(dir, map_size_mb, 1, out, d);
}

void agent_spool_destroy(agent_spool **spool_p)
{
    if (!spool_p || !*spool_p)
        return;
    agent_spool *spool = *spool_p;
    if (spool->env)
        mdb_env_close(spool->env);
    free(spool);
    *spool_p = NULL;
}
