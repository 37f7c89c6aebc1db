/* test_gw_store - the gateway's LMDB store: create, numbering, dedup lookups, durability, errors,
 * partner queues (lanes, bookkeeping, hold and release, unrouted topics).
 *
 * Fixtures for damaged stores are made without lmdb.h (in the gateway only gw_store's files
 * include it): a data.mdb of garbage bytes (MN_ESTORE), and a real store whose format value
 * is patched in the file (MN_EVERSION). LMDB keeps no checksums, so the patched store opens and
 * shows the other format, as a store written by a future meldnet would. Damaged queue items are
 * made the same way: a length or version inside a real item's value is patched in data.mdb.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "gw_store.h"
#include "mn_key.h"

static const char *s_self; /* argv[0]: this program, run again as a reader */

struct fixture {
    char root[64]; /* mkdtemp folder */
    char dir[128]; /* root/store: not created by the fixture */
};

static int s_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/test_gw_store.XXXXXX");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "%s/store", f->root);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void s_id(uint8_t id[16], unsigned n)
{
    memset(id, 0, 16);
    id[0] = 0xe1;
    id[15] = (uint8_t)n;
    id[14] = (uint8_t)(n >> 8);
}

static void s_digest(uint8_t dg[32], unsigned n)
{
    memset(dg, 0, 32);
    dg[0] = 0xd1;
    dg[31] = (uint8_t)n;
    dg[30] = (uint8_t)(n >> 8);
}

/* Register n new reports in one committed transaction; returns the last number. */
static uint64_t s_register(gw_store *store, unsigned first, unsigned n)
{
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint64_t reg = 0;
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    for (unsigned i = first; i < first + n; i++) {
        uint8_t id[16], dg[32], rec[40];
        s_id(id, i);
        s_digest(dg, i);
        memset(rec, (int)i, sizeof rec);
        assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);
        gw_registration r = {.registration = reg, .accepted_ms = 1700000000000ull + i};
        assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg, &r, rec, sizeof rec,
                                                   &d),
                         MN_OK);
    }
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    assert_null(txn);
    return reg;
}

static void test_open_creates_private_store(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};
    struct stat st;
    char path[256];
    uint64_t count = 99;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_non_null(store);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 0);
    gw_store_destroy(&store);
    assert_null(store);
    gw_store_destroy(&store); /* twice is harmless */
    gw_store_destroy(NULL);

    /* an existing store reopens, also read-only */
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    gw_store_destroy(&store);
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_OK);
    gw_store_destroy(&store);
}

static void test_numbering_starts_at_one(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint64_t reg = 0;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);
    assert_int_equal(reg, 1);
    assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);
    assert_int_equal(reg, 2);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);
    assert_int_equal(reg, 3);
    gw_store_abort(&txn);
    assert_null(txn);
    gw_store_destroy(&store);
}

/* A second thread's transaction waits for the first; the same thread twice is refused. */
typedef struct s_turn {
    gw_store *store;
    uint64_t reg;
    int rc;
} s_turn;

static void *s_take_turn(void *arg)
{
    s_turn *t = arg;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    t->rc = gw_store_begin(t->store, &txn, &d);
    if (t->rc == MN_OK && (t->rc = gw_store_next_registration(txn, &t->reg)) == MN_OK)
        t->rc = gw_store_commit(&txn, &d);
    gw_store_abort(&txn);
    return NULL;
}

static void test_threads_take_turns(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL, *second = NULL;
    mn_diag d = {0};
    uint64_t reg = 0;
    pthread_t other;
    s_turn turn = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &second, &d), MN_ESTORE);
    assert_null(second);
    turn.store = store;
    assert_int_equal(pthread_create(&other, NULL, s_take_turn, &turn), 0);
    assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);
    assert_int_equal(reg, 1);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    pthread_join(other, NULL);
    assert_int_equal(turn.rc, MN_OK);
    assert_int_equal(turn.reg, 2); /* it began after the commit, not beside it */
    gw_store_destroy(&store);
}

static void test_find_by_id_digest_and_alias(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t id[16], id2[16], dg[32];
    gw_registration r = {0}, got = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_id(id, 1);
    s_id(id2, 2);
    s_digest(dg, 1);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    r.accepted_ms = 1712345678901ull;
    const uint8_t rec[] = "sealed-record";
    assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg, &r, rec, sizeof rec, &d),
                     MN_OK);
    /* visible inside the same transaction */
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    assert_int_equal(got.accepted_ms, 1712345678901ull);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    /* same content, new id: an alias to the same registration */
    assert_int_equal(gw_store_put_alias(txn, "school-a", id2, dg, &r, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    memset(&got, 0, sizeof got);
    assert_int_equal(gw_store_find_id(txn, "school-a", id2, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    assert_int_equal(got.accepted_ms, 1712345678901ull);
    gw_store_abort(&txn);

    uint64_t count = 0;
    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 1); /* an alias is not a registration */
    gw_store_destroy(&store);
}

static void test_nothing_is_overwritten(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t id[16], dg[32], dg2[32], rec[8] = {1};
    gw_registration r = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_register(store, 1, 1);
    s_id(id, 1);
    s_digest(dg, 1);
    s_digest(dg2, 77);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    /* an envelope id that is registered already */
    assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg2, &r, rec, sizeof rec, &d),
                     MN_ESTORE);
    assert_non_null(strstr(d.what, "envelope id"));
    assert_int_equal(gw_store_put_alias(txn, "school-a", id, dg, &r, &d), MN_ESTORE);
    /* number 0 and an empty record are refused */
    gw_registration zero = {.registration = 0, .accepted_ms = 1};
    uint8_t id9[16];
    s_id(id9, 9);
    assert_int_equal(gw_store_put_registration(txn, "school-a", id9, dg2, &zero, rec, sizeof rec,
                                               &d),
                     MN_EINVAL);
    assert_int_equal(gw_store_put_registration(txn, "school-a", id9, dg2, &r, rec, 0, &d),
                     MN_EINVAL);
    gw_store_abort(&txn);

    /* a registration number that is taken already */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    gw_registration one = {.registration = 1, .accepted_ms = 5};
    assert_int_equal(gw_store_put_registration(txn, "school-a", id9, dg2, &one, rec, sizeof rec,
                                               &d),
                     MN_ESTORE);
    gw_store_abort(&txn);

    uint8_t *sealed = NULL;
    size_t len = 0;
    assert_int_equal(gw_store_registry_get(store, 1, &sealed, &len), MN_OK);
    assert_int_equal(len, 40);
    assert_int_equal(sealed[0], 1);
    free(sealed);
    gw_store_destroy(&store);
}

static void test_abort_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t id[16], dg[32], rec[4] = {9, 9, 9, 9};
    gw_registration r = {.registration = 0, .accepted_ms = 1}, got;
    uint64_t count = 1;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_id(id, 5);
    s_digest(dg, 5);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg, &r, rec, sizeof rec, &d),
                     MN_OK);
    gw_store_abort(&txn);
    assert_null(txn);
    gw_store_abort(&txn); /* NULL-safe */
    gw_store_abort(NULL);

    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 0);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    assert_int_equal(r.registration, 1); /* the aborted number is handed out again */
    gw_store_abort(&txn);
    gw_store_destroy(&store);
}

struct each_state {
    uint64_t seen[16];
    size_t n;
    size_t stop_after;
};

static int s_each_cb(uint64_t reg, void *arg)
{
    struct each_state *e = arg;
    e->seen[e->n++] = reg;
    return e->stop_after && e->n >= e->stop_after;
}

static void test_commit_reopen_count_each_get(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};
    uint64_t count = 0;
    uint8_t *sealed = NULL;
    size_t len = 0;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(s_register(store, 1, 3), 3);
    assert_int_equal(s_register(store, 4, 9), 12); /* 12 keeps byte order = number order */
    gw_store_destroy(&store);

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 12);

    struct each_state e = {{0}, 0, 0};
    assert_int_equal(gw_store_registry_each(store, s_each_cb, &e), MN_OK);
    assert_int_equal(e.n, 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(e.seen[i], i + 1);
    struct each_state stop = {{0}, 0, 2};
    assert_int_equal(gw_store_registry_each(store, s_each_cb, &stop), MN_OK);
    assert_int_equal(stop.n, 2);

    assert_int_equal(gw_store_registry_get(store, 7, &sealed, &len), MN_OK);
    assert_int_equal(len, 40);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(sealed[i], 7);
    free(sealed);
    sealed = (uint8_t *)"x";
    assert_int_equal(gw_store_registry_get(store, 13, &sealed, &len), MN_ENOTFOUND);
    assert_null(sealed);
    assert_int_equal(gw_store_registry_get(store, 0, &sealed, &len), MN_ENOTFOUND);

    /* lookups survive the reopen */
    gw_store_txn *txn = NULL;
    uint8_t id[16], dg[32];
    gw_registration got;
    s_id(id, 10);
    s_digest(dg, 10);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_OK);
    assert_int_equal(got.registration, 10);
    assert_int_equal(got.accepted_ms, 1700000000010ull);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_OK);
    assert_int_equal(got.registration, 10);
    assert_int_equal(gw_store_next_registration(txn, &got.registration), MN_OK);
    assert_int_equal(got.registration, 13);
    gw_store_abort(&txn);
    gw_store_destroy(&store);

    /* and a read-only open sees the same */
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_OK);
    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 12);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_ESTORE);
    assert_null(txn);
    assert_non_null(strstr(d.what, "read-only"));
    gw_store_destroy(&store);
}

static void test_one_write_txn_at_a_time(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *t1 = NULL, *t2 = NULL;
    mn_diag d = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &t1, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &t2, &d), MN_ESTORE);
    assert_null(t2);
    assert_int_equal(gw_store_commit(&t1, &d), MN_OK);
    assert_int_equal(gw_store_commit(&t1, &d), MN_OK); /* NULL-safe */
    assert_int_equal(gw_store_begin(store, &t2, &d), MN_OK);
    gw_store_abort(&t2);
    gw_store_destroy(&store);
}

/* A reader in another process counts while this one holds the write transaction. */
static void test_reader_while_writing(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint64_t reg = 0;
    int status = 0;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_register(store, 1, 2);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &reg), MN_OK);

    /* the child execs this program as a reader (see main): after fork only exec is clean */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp(s_self, s_self, "--count-readonly", f->dir, "2", (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);
}

static void test_read_only_missing_store(void **state)
{
    struct fixture *f = *state;
    gw_store *store = (gw_store *)&store;
    mn_diag d = {0};
    struct stat st;

    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_ESTORE);
    assert_null(store);
    assert_non_null(strstr(d.what, "no store at"));
    assert_non_null(strstr(d.what, "start the gateway once or check data_dir"));
    assert_int_not_equal(stat(f->dir, &st), 0); /* read-only never creates */

    /* an empty folder is no store either */
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "no store at"));
}

static void s_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void test_garbage_store(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};
    char path[256];
    uint8_t junk[16384];

    assert_int_equal(mkdir(f->dir, 0700), 0);
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    s_write_file(path, junk, sizeof junk);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_ESTORE);
    assert_null(store);
    assert_non_null(strstr(d.what, "damaged"));
    assert_string_equal(d.where, path);
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_ESTORE);
    assert_null(store);

    /* a file where the folder should be */
    char file[256];
    snprintf(file, sizeof file, "%s/plainfile", f->root);
    s_write_file(file, "x", 1);
    assert_int_not_equal(gw_store_open(file, 16, 0, &store, &d), MN_OK);
    assert_null(store);
}

/* Patch every "format" record in data.mdb from value 1 to `to`; returns how many. */
static int s_patch_format(const char *dir, uint8_t from, uint8_t to)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 0);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    rewind(fp);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    const uint8_t pat[] = {'f', 'o', 'r', 'm', 'a', 't', 0, 0, 0, from};
    int n = 0;
    for (long i = 0; i + (long)sizeof pat <= size; i++) {
        if (memcmp(buf + i, pat, sizeof pat) == 0) {
            buf[i + sizeof pat - 1] = to;
            n++;
        }
    }
    rewind(fp);
    assert_int_equal(fwrite(buf, 1, (size_t)size, fp), (size_t)size);
    assert_int_equal(fclose(fp), 0);
    free(buf);
    return n;
}

static void test_other_format_version(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    gw_store_destroy(&store);
    assert_true(s_patch_format(f->dir, 2, 3) >= 1);

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_EVERSION);
    assert_null(store);
    assert_int_equal(d.code, MN_EVERSION);
    assert_non_null(strstr(d.what, "format 3"));
    assert_non_null(strstr(d.what, "format 2"));
    assert_true(d.hint[0] != '\0');
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_EVERSION);
    assert_null(store);
}

/* An envelope id is its agent's: another agent's use of the same id finds nothing, and the
 * entry says which content the id stood for. */
static void test_ids_are_per_agent(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t id[16], dg[32], dg2[32];
    gw_registration r = {0}, got = {0};
    const uint8_t rec[] = "sealed-record";

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_id(id, 1);
    s_digest(dg, 1);
    s_digest(dg2, 2);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg, &r, rec, sizeof rec, &d),
                     MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_OK);
    assert_true(got.has_digest);
    assert_memory_equal(got.digest, dg, 32);
    assert_int_equal(gw_store_find_id(txn, "school-b", id, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_find_id(txn, "school-", id, &got), MN_ENOTFOUND);
    /* the other agent may use the same id for its own report */
    gw_registration r2 = {0};
    assert_int_equal(gw_store_next_registration(txn, &r2.registration), MN_OK);
    assert_int_equal(gw_store_put_registration(txn, "school-b", id, dg2, &r2, rec, sizeof rec, &d),
                     MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-b", id, &got), MN_OK);
    assert_int_equal(got.registration, 2);
    /* a name that is empty or too long has no ids */
    char long_name[MN_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_int_equal(gw_store_find_id(txn, "", id, &got), MN_ESTORE);
    assert_int_equal(gw_store_put_alias(txn, long_name, id, dg, &r, &d), MN_EINVAL);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);
}

/* A format-1 store (ids without their agent) is upgraded by the gateway's open; its old ids
 * are still found, so a resend after the upgrade is no second registration. */
static void test_format_1_upgraded(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t id[16], dg[32];
    gw_registration r = {0}, got = {0};
    const uint8_t rec[] = "sealed-record";

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_id(id, 7);
    s_digest(dg, 7);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    assert_int_equal(gw_store_put_registration(txn, "school-a", id, dg, &r, rec, sizeof rec, &d),
                     MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);
    assert_true(s_patch_format(f->dir, 2, 1) >= 1);

    /* read-only: read as it is, nothing written */
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_OK);
    gw_store_destroy(&store);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    gw_store_destroy(&store);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, "school-a", id, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    gw_store_abort(&txn);
    gw_store_destroy(&store);
}

/* A store has an identity from its creation on, kept across opens; the next number can be
 * raised (a restored store goes on after what it gave) but never lowered. */
static void test_identity_and_raise_next(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};
    gw_store_ident a, b;
    static const uint8_t zero[GW_STORE_ID_BYTES];

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_identity(store, &a, &d), MN_OK);
    assert_true(a.has_id);
    assert_true(a.created);
    assert_memory_not_equal(a.id, zero, sizeof zero);
    assert_int_equal(a.next_registration, 1);
    assert_int_equal(a.registrations, 0);
    s_register(store, 1, 3);
    gw_store_destroy(&store);

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_identity(store, &b, &d), MN_OK);
    assert_false(b.created);
    assert_memory_equal(a.id, b.id, sizeof a.id);
    assert_int_equal(b.next_registration, 4);
    assert_int_equal(b.registrations, 3);
    assert_int_equal(gw_store_raise_next(store, 100, &d), MN_OK);
    assert_int_equal(gw_store_raise_next(store, 50, &d), MN_OK); /* never lowered */
    assert_int_equal(gw_store_identity(store, &b, &d), MN_OK);
    assert_int_equal(b.next_registration, 100);
    assert_int_equal(s_register(store, 10, 1), 100);
    gw_store_destroy(&store);

    /* another store has another identity */
    char other[512];
    snprintf(other, sizeof other, "%s/other", f->root);
    assert_int_equal(gw_store_open(other, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_identity(store, &b, &d), MN_OK);
    assert_memory_not_equal(a.id, b.id, sizeof a.id);
    gw_store_destroy(&store);
}

static void test_map_full(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    size_t big = 64 * 1024;
    uint8_t *rec = calloc(1, big);
    int rc = MN_OK;
    unsigned i;

    assert_non_null(rec);
    assert_int_equal(gw_store_open(f->dir, 1, 0, &store, &d), MN_OK); /* a 1 MiB map */
    s_register(store, 1000, 1);                                       /* committed before */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    for (i = 0; i < 64 && rc == MN_OK; i++) {
        uint8_t id[16], dg[32];
        gw_registration r = {.registration = 0, .accepted_ms = 1};
        s_id(id, i);
        s_digest(dg, i);
        assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
        rc = gw_store_put_registration(txn, "school-a", id, dg, &r, rec, big, &d);
    }
    assert_int_equal(rc, MN_ESTORE);
    assert_true(i < 64);
    assert_non_null(strstr(d.what, "store is full: raise map_size_mb"));
    gw_store_abort(&txn);
    free(rec);

    /* what was committed before is still there */
    uint64_t count = 0;
    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 1);
    gw_store_destroy(&store);
}

static void test_bad_arguments(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    mn_diag d = {0};

    assert_int_equal(gw_store_open("", 16, 0, &store, &d), MN_EINVAL);
    assert_null(store);
    assert_int_equal(gw_store_open(f->dir, 0, 0, &store, &d), MN_EINVAL);
    assert_null(store);
    char deep[256];
    snprintf(deep, sizeof deep, "%s/no/such/parent", f->root);
    assert_int_equal(gw_store_open(deep, 16, 0, &store, &d), MN_ESYS);
    assert_int_equal(d.sys_errno, ENOENT);
    assert_null(store);
}

/* --- partner queues ------------------------------------------------------------------------ */

/* A queue item for partner with distinctive content derived from n. */
static void s_item(gw_queue_item *it, const char *partner, uint64_t reg, int acute, unsigned n)
{
    memset(it, 0, sizeof *it);
    snprintf(it->partner, sizeof it->partner, "%s", partner);
    it->acute = acute;
    it->registration = reg;
    it->enqueued_ms = 1700000000000ull + n;
    snprintf(it->topics, sizeof it->topics, "%s,hotline.regio-%u",
             acute ? "police.acute" : "care.regio", n);
    it->sealed_len = 40 + n;
    it->sealed = malloc(it->sealed_len);
    assert_non_null(it->sealed);
    for (size_t i = 0; i < it->sealed_len; i++)
        it->sealed[i] = (uint8_t)(n * 7 + i);
    for (size_t i = 0; i < sizeof it->signature; i++) /* no item's is a shift of another's */
        it->signature[i] = (uint8_t)(n * 37 + i * 11 + 0x5a);
}

/* Put one item in its own committed transaction; returns its tag. */
static uint64_t s_put(gw_store *store, const char *partner, uint64_t reg, int acute, unsigned n)
{
    gw_store_txn *txn = NULL;
    gw_queue_item it;
    mn_diag d = {0};
    s_item(&it, partner, reg, acute, n);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    uint64_t tag = it.tag;
    gw_queue_item_clear(&it);
    return tag;
}

/* got equals the item s_item made from (partner, reg, acute, n), sealed bytes included. */
static void s_check_item(const gw_queue_item *got, const char *partner, uint64_t reg, int acute,
                         unsigned n)
{
    gw_queue_item want;
    s_item(&want, partner, reg, acute, n);
    assert_string_equal(got->partner, want.partner);
    assert_int_equal(got->acute, want.acute);
    assert_int_equal(got->registration, want.registration);
    assert_int_equal(got->enqueued_ms, want.enqueued_ms);
    assert_string_equal(got->topics, want.topics);
    assert_int_equal(got->sealed_len, want.sealed_len);
    assert_non_null(got->sealed);
    assert_memory_equal(got->sealed, want.sealed, want.sealed_len);
    assert_memory_equal(got->signature, want.signature, sizeof want.signature);
    gw_queue_item_clear(&want);
}

struct items_seen {
    gw_queue_item items[16];
    size_t n;
    size_t stop_after;
};

/* Keep a copy of each item (the sealed bytes too: the callee must copy to keep). */
static int s_items_cb(const gw_queue_item *item, void *arg)
{
    struct items_seen *e = arg;
    assert_true(e->n < 16);
    gw_queue_item *c = &e->items[e->n++];
    *c = *item;
    c->sealed = malloc(item->sealed_len);
    assert_non_null(c->sealed);
    memcpy(c->sealed, item->sealed, item->sealed_len);
    return e->stop_after && e->n >= e->stop_after;
}

static void s_items_clear(struct items_seen *e)
{
    for (size_t i = 0; i < e->n; i++)
        gw_queue_item_clear(&e->items[i]);
    e->n = 0;
}

static void test_queue_put_each_order(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    gw_queue_item it[4];
    struct items_seen *e = calloc(1, sizeof *e);

    assert_non_null(e);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    /* one batch: normal, acute, normal, acute for "police"; names that share a prefix */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    for (unsigned i = 0; i < 4; i++) {
        s_item(&it[i], "police", 10 + i, i % 2, i);
        assert_int_equal(gw_store_queue_put(txn, &it[i], &d), MN_OK);
        assert_int_equal(it[i].tag, i + 1);
    }
    gw_queue_item other, other2;
    s_item(&other, "police-midden", 20, 1, 9);
    s_item(&other2, "polic", 21, 0, 8);
    assert_int_equal(gw_store_queue_put(txn, &other, &d), MN_OK);
    assert_int_equal(gw_store_queue_put(txn, &other2, &d), MN_OK);
    assert_int_equal(other.tag, 5);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    /* acute lane first (tags 2, 4), then normal (1, 3) */
    assert_int_equal(gw_store_queue_each(store, "police", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 4);
    static const unsigned order[] = {1, 3, 0, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e->items[i].tag, order[i] + 1);
        s_check_item(&e->items[i], "police", 10 + order[i], order[i] % 2, order[i]);
        assert_int_equal(e->items[i].attempts, 0);
        assert_int_equal(e->items[i].next_try_ms, 0);
        assert_string_equal(e->items[i].reason, "");
    }
    s_items_clear(e);
    e->stop_after = 1;
    assert_int_equal(gw_store_queue_each(store, "police", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 1);
    assert_int_equal(e->items[0].tag, 2);
    s_items_clear(e);
    e->stop_after = 0;
    assert_int_equal(gw_store_queue_each(store, "police-midden", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 1);
    s_check_item(&e->items[0], "police-midden", 20, 1, 9);
    s_items_clear(e);
    assert_int_equal(gw_store_queue_each(store, "nobody", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 0);
    assert_int_equal(gw_store_queue_each(store, "", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 0);

    for (unsigned i = 0; i < 4; i++)
        gw_queue_item_clear(&it[i]);
    gw_queue_item_clear(&other);
    gw_queue_item_clear(&other2);
    gw_queue_item_clear(&other2); /* twice is harmless */
    gw_queue_item_clear(NULL);
    free(e);
    gw_store_destroy(&store);
}

static void test_queue_bad_items(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    gw_queue_item it;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    s_item(&it, "bad name", 1, 0, 1);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_EINVAL);
    gw_queue_item_clear(&it);
    s_item(&it, "", 1, 0, 1);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_EINVAL);
    gw_queue_item_clear(&it);
    s_item(&it, "police", 0, 0, 1);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_EINVAL);
    gw_queue_item_clear(&it);
    s_item(&it, "police", 1, 0, 1);
    free(it.sealed);
    it.sealed = NULL;
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_EINVAL);
    gw_queue_item_clear(&it);
    s_item(&it, "police", 1, 0, 1);
    memset(it.reason, 'x', sizeof it.reason); /* not terminated */
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_EINVAL);
    gw_queue_item_clear(&it);
    /* the longest texts fit */
    s_item(&it, "p", 1, 0, 1);
    memset(it.topics, 't', sizeof it.topics - 1);
    memset(it.reason, 'r', sizeof it.reason - 1);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_OK);
    gw_queue_item got;
    assert_int_equal(gw_store_queue_get(txn, "p", it.tag, &got), MN_OK);
    assert_int_equal(strlen(got.topics), sizeof got.topics - 1);
    assert_int_equal(strlen(got.reason), sizeof got.reason - 1);
    gw_queue_item_clear(&got);
    gw_queue_item_clear(&it);
    gw_store_abort(&txn);
    gw_store_destroy(&store);
}

static void test_queue_get_update_ack(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    gw_queue_item got;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    uint64_t t1 = s_put(store, "care-noord", 5, 0, 1);
    uint64_t t2 = s_put(store, "care-noord", 6, 1, 2);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_get(txn, "care-noord", t2, &got), MN_OK);
    assert_int_equal(got.tag, t2);
    s_check_item(&got, "care-noord", 6, 1, 2);
    got.attempts = 3;
    got.nacks = 2;
    got.next_try_ms = 1700000099999ull;
    snprintf(got.reason, sizeof got.reason, "disk full at the partner");
    got.registration = 999; /* not bookkeeping: not rewritten */
    assert_int_equal(gw_store_queue_update(txn, &got, &d), MN_OK);
    gw_queue_item_clear(&got);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_get(txn, "care-noord", t2, &got), MN_OK);
    s_check_item(&got, "care-noord", 6, 1, 2);
    assert_int_equal(got.attempts, 3);
    assert_int_equal(got.nacks, 2);
    assert_int_equal(got.next_try_ms, 1700000099999ull);
    assert_string_equal(got.reason, "disk full at the partner");
    gw_queue_item_clear(&got);

    /* ack, and ack twice */
    assert_int_equal(gw_store_queue_ack(txn, "care-noord", t1, &d), MN_OK);
    assert_int_equal(gw_store_queue_ack(txn, "care-noord", t1, &d), MN_ENOTFOUND);
    assert_int_equal(d.code, MN_ENOTFOUND);
    assert_int_equal(gw_store_queue_get(txn, "care-noord", t1, &got), MN_ENOTFOUND);
    assert_null(got.sealed);
    /* the wrong partner, an unknown tag, an impossible name */
    assert_int_equal(gw_store_queue_ack(txn, "care-zuid", t2, &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_queue_ack(txn, "care-noord", 77, &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_queue_get(txn, "", t2, &got), MN_ENOTFOUND);
    gw_queue_item upd;
    s_item(&upd, "care-noord", 6, 1, 2);
    upd.tag = 77;
    assert_int_equal(gw_store_queue_update(txn, &upd, &d), MN_ENOTFOUND);
    gw_queue_item_clear(&upd);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    uint64_t count = 0, oldest = 0;
    assert_int_equal(gw_store_queue_depth(store, "care-noord", &count, &oldest), MN_OK);
    assert_int_equal(count, 1);
    gw_store_destroy(&store);
}

static void test_hold_and_release(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    struct items_seen *e = calloc(1, sizeof *e);
    gw_queue_item got;

    assert_non_null(e);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    uint64_t tn = s_put(store, "police", 1, 0, 1);
    uint64_t ta = s_put(store, "police", 2, 1, 2);
    uint64_t tz = s_put(store, "zorg", 3, 0, 3);

    /* the acute one was nacked a few times, then held */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_get(txn, "police", ta, &got), MN_OK);
    got.attempts = 4;
    got.nacks = 3;
    got.next_try_ms = 5;
    assert_int_equal(gw_store_queue_update(txn, &got, &d), MN_OK);
    gw_queue_item_clear(&got);
    uint64_t before = (uint64_t)time(NULL) * 1000 - 1000;
    assert_int_equal(gw_store_queue_hold(txn, "police", ta, "nacked 3 times: bad key", &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "zorg", tz, NULL, &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "police", ta, "again", &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_queue_get(txn, "police", ta, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_queue_each(store, "police", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 1);
    assert_int_equal(e->items[0].tag, tn);
    s_items_clear(e);

    assert_int_equal(gw_store_hold_each(store, s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 2);
    assert_string_equal(e->items[0].partner, "police");
    assert_int_equal(e->items[0].tag, ta);
    s_check_item(&e->items[0], "police", 2, 1, 2);
    assert_string_equal(e->items[0].reason, "nacked 3 times: bad key");
    assert_int_equal(e->items[0].attempts, 4);
    assert_int_equal(e->items[0].nacks, 3);
    assert_true(e->items[0].held_ms >= before);
    assert_string_equal(e->items[1].partner, "zorg");
    assert_string_equal(e->items[1].reason, "");
    s_items_clear(e);
    e->stop_after = 1;
    assert_int_equal(gw_store_hold_each(store, s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 1);
    s_items_clear(e);
    e->stop_after = 0;

    /* release: back in its own (acute) lane, attempts and nacks reset, due at once */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_hold_release(txn, "police", ta, &d), MN_OK);
    assert_int_equal(gw_store_hold_release(txn, "police", ta, &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_hold_release(txn, "police", tn, &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_hold_release(txn, "", ta, &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_queue_each(store, "police", s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 2);
    assert_int_equal(e->items[0].tag, ta);
    s_check_item(&e->items[0], "police", 2, 1, 2);
    assert_int_equal(e->items[0].attempts, 0);
    assert_int_equal(e->items[0].nacks, 0);
    assert_int_equal(e->items[0].next_try_ms, 0);
    assert_int_equal(e->items[0].held_ms, 0);
    assert_int_equal(e->items[1].tag, tn);
    s_items_clear(e);
    assert_int_equal(gw_store_hold_each(store, s_items_cb, e), MN_OK);
    assert_int_equal(e->n, 1);
    assert_string_equal(e->items[0].partner, "zorg");
    s_items_clear(e);
    free(e);
    gw_store_destroy(&store);
}

static void test_queue_depth_oldest(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint64_t count = 9, oldest = 9;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
    assert_int_equal(count, 0);
    assert_int_equal(oldest, 0);

    /* the oldest is in the normal lane, behind a newer acute item */
    static const uint64_t when[] = {1500, 1300, 1400};
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    for (unsigned i = 0; i < 3; i++) {
        gw_queue_item it;
        s_item(&it, "police", 1 + i, i == 0, i);
        it.enqueued_ms = when[i];
        assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_OK);
        gw_queue_item_clear(&it);
    }
    gw_queue_item it;
    s_item(&it, "police-oost", 9, 0, 9);
    it.enqueued_ms = 100;
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_OK);
    gw_queue_item_clear(&it);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
    assert_int_equal(count, 3);
    assert_int_equal(oldest, 1300);
    assert_int_equal(gw_store_queue_depth(store, "police-oost", &count, &oldest), MN_OK);
    assert_int_equal(count, 1);
    assert_int_equal(oldest, 100);
    assert_int_equal(gw_store_queue_depth(store, "nobody", &count, &oldest), MN_OK);
    assert_int_equal(count, 0);
    assert_int_equal(oldest, 0);

    /* a held item no longer counts */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "police", 2, "too old", &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
    assert_int_equal(count, 2);
    assert_int_equal(oldest, 1400);
    uint64_t held = 9, unrouted = 9;
    assert_int_equal(gw_store_hold_depth(store, "police", &held), MN_OK);
    assert_int_equal(held, 1);
    assert_int_equal(gw_store_hold_depth(store, "police-oost", &held), MN_OK);
    assert_int_equal(held, 0);
    assert_int_equal(gw_store_totals(store, &held, &unrouted), MN_OK);
    assert_int_equal(held, 1);
    assert_int_equal(unrouted, 0);

    /* released, it counts again; an ack takes it off; an aborted batch changes nothing */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_hold_release(txn, "police", 2, &d), MN_OK);
    assert_int_equal(gw_store_queue_ack(txn, "police", 1, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_ack(txn, "police", 2, &d), MN_OK);
    gw_store_abort(&txn);
    assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
    assert_int_equal(count, 2);
    assert_int_equal(oldest, 1300);
    assert_int_equal(gw_store_hold_depth(store, "police", &held), MN_OK);
    assert_int_equal(held, 0);
    gw_store_destroy(&store);

    /* the counts are in the store: a reopened one (read-only too) knows them */
    for (int ro = 0; ro <= 1; ro++) {
        assert_int_equal(gw_store_open(f->dir, 16, ro, &store, &d), MN_OK);
        assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
        assert_int_equal(count, 2);
        assert_int_equal(gw_store_queue_depth(store, "police-oost", &count, &oldest), MN_OK);
        assert_int_equal(count, 1);
        gw_store_destroy(&store);
    }
}

/* Delete every key of meta that starts with one of prefixes (raw LMDB, as an older gateway's
 * store would lack them). */
static void s_meta_forget(const char *dir, const char *const *prefixes, size_t n)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 16u << 20), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_cursor_open(txn, meta, &cur), 0);
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        for (size_t i = 0; i < n; i++)
            if (k.mv_size >= strlen(prefixes[i]) &&
                memcmp(k.mv_data, prefixes[i], strlen(prefixes[i])) == 0)
                assert_int_equal(mdb_cursor_del(cur, 0), 0);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A store from before the counts: read-only it is counted key by key, and the gateway's
 * read-write open adds the counts. */
static void test_queue_counts_added_to_older_store(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint64_t count = 0, oldest = 0, held = 0;
    static const char *const prefixes[] = {"counts_v1", "queue_count", "hold_count"};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    for (unsigned i = 0; i < 5; i++)
        (void)s_put(store, i < 3 ? "police" : "zorg", 1 + i, i == 0, i);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "zorg", 5, "x", &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);
    s_meta_forget(f->dir, prefixes, 3);

    for (int ro = 1; ro >= 0; ro--) { /* read-only first: it must not need the counts */
        assert_int_equal(gw_store_open(f->dir, 16, ro, &store, &d), MN_OK);
        assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
        assert_int_equal(count, 3);
        assert_int_equal(gw_store_queue_depth(store, "zorg", &count, &oldest), MN_OK);
        assert_int_equal(count, 1);
        assert_int_equal(gw_store_hold_depth(store, "zorg", &held), MN_OK);
        assert_int_equal(held, 1);
        gw_store_destroy(&store);
    }
    /* the counts are back and go on from there */
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    (void)s_put(store, "zorg", 9, 0, 9);
    assert_int_equal(gw_store_queue_depth(store, "zorg", &count, &oldest), MN_OK);
    assert_int_equal(count, 2);
    gw_store_destroy(&store);
}

struct unrouted_seen {
    gw_unrouted u[8];
    size_t n;
};

static int s_unrouted_cb(const gw_unrouted *u, void *arg)
{
    struct unrouted_seen *e = arg;
    assert_true(e->n < 8);
    e->u[e->n++] = *u;
    return 0;
}

static void s_unrouted_put(gw_store_txn *txn, uint64_t reg, const char *topic, uint64_t ms,
                           const char *reason)
{
    gw_unrouted u;
    mn_diag d = {0};
    memset(&u, 0, sizeof u);
    u.registration = reg;
    snprintf(u.topic, sizeof u.topic, "%s", topic);
    u.held_ms = ms;
    snprintf(u.reason, sizeof u.reason, "%s", reason);
    assert_int_equal(gw_store_unrouted_put(txn, &u, &d), MN_OK);
}

static void test_unrouted(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    struct unrouted_seen e = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(gw_store_unrouted_each(store, s_unrouted_cb, &e), MN_OK);
    assert_int_equal(e.n, 0);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    s_unrouted_put(txn, 42, "hotline.friesland", 1000, "no partner is bound to this topic");
    s_unrouted_put(txn, 7, "", 900, "no routing rule matched");
    s_unrouted_put(txn, 42, "care.friesland", 1001, "no partner is bound to this topic");
    s_unrouted_put(txn, 300, "shelter.coordination", 1002, "");
    /* bad entries are refused */
    gw_unrouted bad;
    memset(&bad, 0, sizeof bad);
    snprintf(bad.topic, sizeof bad.topic, "x");
    assert_int_equal(gw_store_unrouted_put(txn, &bad, &d), MN_EINVAL);
    bad.registration = 1;
    memset(bad.reason, 'r', sizeof bad.reason);
    assert_int_equal(gw_store_unrouted_put(txn, &bad, &d), MN_EINVAL);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_unrouted_each(store, s_unrouted_cb, &e), MN_OK);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.u[0].registration, 7);
    assert_string_equal(e.u[0].topic, "");
    assert_string_equal(e.u[0].reason, "no routing rule matched");
    assert_int_equal(e.u[0].held_ms, 900);
    assert_int_equal(e.u[1].registration, 42);
    assert_string_equal(e.u[1].topic, "care.friesland");
    assert_string_equal(e.u[2].topic, "hotline.friesland");
    assert_int_equal(e.u[2].held_ms, 1000);
    assert_int_equal(e.u[3].registration, 300); /* numeric, not text order */
    assert_string_equal(e.u[3].reason, "");

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_unrouted_remove(txn, 42, "hotline.friesland", &d), MN_OK);
    assert_int_equal(gw_store_unrouted_remove(txn, 42, "hotline.friesland", &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_unrouted_remove(txn, 43, "care.friesland", &d), MN_ENOTFOUND);
    assert_int_equal(gw_store_unrouted_remove(txn, 7, "", &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    e.n = 0;
    assert_int_equal(gw_store_unrouted_each(store, s_unrouted_cb, &e), MN_OK);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.u[0].topic, "care.friesland");
    gw_store_destroy(&store);
}

static void test_queue_abort_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    gw_queue_item it;
    uint64_t count = 9, oldest = 9;
    struct unrouted_seen e = {0};

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    uint64_t held = s_put(store, "police", 1, 0, 1);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "police", held, "nacked", &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    s_item(&it, "police", 2, 1, 2);
    assert_int_equal(gw_store_queue_put(txn, &it, &d), MN_OK);
    assert_int_equal(it.tag, 2);
    gw_queue_item_clear(&it);
    assert_int_equal(gw_store_hold_release(txn, "police", held, &d), MN_OK);
    s_unrouted_put(txn, 2, "hotline.zeeland", 5, "no partner");
    gw_store_abort(&txn);

    assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_OK);
    assert_int_equal(count, 0);
    assert_int_equal(gw_store_unrouted_each(store, s_unrouted_cb, &e), MN_OK);
    assert_int_equal(e.n, 0);
    struct items_seen *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(gw_store_hold_each(store, s_items_cb, h), MN_OK);
    assert_int_equal(h->n, 1); /* still held */
    s_items_clear(h);
    free(h);
    /* the aborted tag is handed out again */
    assert_int_equal(s_put(store, "police", 3, 0, 3), 2);
    gw_store_destroy(&store);
}

static void test_queue_reopen_keeps_all(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    struct items_seen *e = calloc(1, sizeof *e);
    struct unrouted_seen u = {0};
    uint64_t count = 0, oldest = 0;

    assert_non_null(e);
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_register(store, 1, 2);
    s_put(store, "police", 1, 1, 1);
    uint64_t t2 = s_put(store, "police", 2, 0, 2);
    s_put(store, "onderzoek", 2, 0, 3);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_queue_hold(txn, "police", t2, "too old", &d), MN_OK);
    s_unrouted_put(txn, 2, "hotline.utrecht", 77, "no partner");
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_store_destroy(&store);

    for (int ro = 0; ro <= 1; ro++) {
        assert_int_equal(gw_store_open(f->dir, ro ? 0 : 16, ro, &store, &d), MN_OK);
        assert_int_equal(gw_store_queue_each(store, "police", s_items_cb, e), MN_OK);
        assert_int_equal(e->n, 1);
        s_check_item(&e->items[0], "police", 1, 1, 1);
        s_items_clear(e);
        assert_int_equal(gw_store_queue_depth(store, "onderzoek", &count, &oldest), MN_OK);
        assert_int_equal(count, 1);
        assert_int_equal(gw_store_hold_each(store, s_items_cb, e), MN_OK);
        assert_int_equal(e->n, 1);
        s_check_item(&e->items[0], "police", 2, 0, 2);
        assert_string_equal(e->items[0].reason, "too old");
        s_items_clear(e);
        u.n = 0;
        assert_int_equal(gw_store_unrouted_each(store, s_unrouted_cb, &u), MN_OK);
        assert_int_equal(u.n, 1);
        assert_string_equal(u.u[0].topic, "hotline.utrecht");
        gw_store_destroy(&store);
    }
    /* tags go on where they were */
    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    assert_int_equal(s_put(store, "police", 3, 0, 4), 4);
    gw_store_destroy(&store);
    free(e);
}

static void test_txn_registry_get(void **state)
{
    struct fixture *f = *state;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_diag d = {0};
    uint8_t *sealed = NULL;
    size_t len = 0;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_register(store, 1, 3);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_txn_registry_get(txn, 2, &sealed, &len), MN_OK);
    assert_int_equal(len, 40);
    assert_int_equal(sealed[0], 2);
    free(sealed);
    sealed = (uint8_t *)"x";
    assert_int_equal(gw_store_txn_registry_get(txn, 4, &sealed, &len), MN_ENOTFOUND);
    assert_null(sealed);
    assert_int_equal(len, 0);
    gw_store_abort(&txn);
    gw_store_destroy(&store);
}

/* Patch data.mdb wherever the signature of s_item(n) appears: `at` bytes after its end
 * (0: the topics length) get `bytes`. Returns how many places. */
static int s_patch_item(const char *dir, unsigned n, long at, const uint8_t *bytes, size_t len)
{
    gw_queue_item it;
    char path[256];
    int count = 0;
    s_item(&it, "x", 1, 0, n);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    rewind(fp);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    for (long i = 0; i + 64 <= size; i++) {
        long p = i + 64 + at;
        if (p >= 0 && p + (long)len <= size && memcmp(buf + i, it.signature, 64) == 0) {
            memcpy(buf + p, bytes, len);
            count++;
        }
    }
    rewind(fp);
    assert_int_equal(fwrite(buf, 1, (size_t)size, fp), (size_t)size);
    assert_int_equal(fclose(fp), 0);
    free(buf);
    gw_queue_item_clear(&it);
    return count;
}

/* The length of the topics of s_item(n, normal lane) for n = 11 and 12. */
#define S_TL 27

/* A damaged item is MN_ESTORE everywhere it is read, never a read past its end. */
static void test_damaged_items(void **state)
{
    struct fixture *f = *state;
    static const struct {
        long at; /* from the end of the signature */
        uint8_t bytes[4];
        size_t len;
    } cases[] = {
        {0, {0xff, 0xff}, 2},                        /* topics length past the end */
        {0, {0x04, 0x4c}, 2},                        /* topics length 1100: over the limit */
        {-64 - 42, {7}, 1},                          /* another version */
        {-64 - 41, {0x80}, 1},                       /* unknown flag */
        {2 + S_TL, {0xff, 0xff}, 2},                 /* reason length past the end */
        {2 + S_TL + 2, {0x7f, 0xff, 0xff, 0xff}, 4}, /* sealed length past the end */
        {2 + S_TL + 2, {0, 0, 0, 0}, 4},             /* sealed length 0 */
        {2 + 3, {0}, 1},                             /* a NUL inside the topics */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gw_store *store = NULL;
        gw_store_txn *txn = NULL;
        mn_diag d = {0};
        gw_queue_item got;
        uint64_t count = 0, oldest = 0;
        struct items_seen *e = calloc(1, sizeof *e);
        char cmd[256];

        assert_non_null(e);
        s_item(&got, "x", 1, 0, 11);
        assert_int_equal(strlen(got.topics), S_TL);
        gw_queue_item_clear(&got);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
        uint64_t tag = s_put(store, "police", 1, 0, 11); /* topics "care.regio,hotline.regio-11" */
        uint64_t held = s_put(store, "zorg", 1, 0, 12);
        assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
        /* no reason: both items have the same layout */
        assert_int_equal(gw_store_queue_hold(txn, "zorg", held, NULL, &d), MN_OK);
        assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
        gw_store_destroy(&store);

        if (s_patch_item(f->dir, 11, cases[c].at, cases[c].bytes, cases[c].len) < 1 ||
            s_patch_item(f->dir, 12, cases[c].at, cases[c].bytes, cases[c].len) < 1)
            fail_msg("case %zu: item not found in data.mdb", c);
        assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
        if (gw_store_queue_each(store, "police", s_items_cb, e) != MN_ESTORE)
            fail_msg("case %zu: queue_each did not see the damage", c);
        assert_int_equal(e->n, 0);
        assert_int_equal(gw_store_queue_depth(store, "police", &count, &oldest), MN_ESTORE);
        assert_int_equal(gw_store_hold_each(store, s_items_cb, e), MN_ESTORE);
        assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
        assert_int_equal(gw_store_queue_get(txn, "police", tag, &got), MN_ESTORE);
        assert_null(got.sealed);
        got.tag = tag;
        snprintf(got.partner, sizeof got.partner, "police");
        assert_int_equal(gw_store_queue_update(txn, &got, &d), MN_ESTORE);
        assert_non_null(strstr(d.what, "damaged"));
        assert_int_equal(gw_store_queue_hold(txn, "police", tag, "x", &d), MN_ESTORE);
        assert_int_equal(gw_store_hold_release(txn, "zorg", held, &d), MN_ESTORE);
        /* an ack needs no decoding: the damaged item can be removed */
        assert_int_equal(gw_store_queue_ack(txn, "police", tag, &d), MN_OK);
        gw_store_abort(&txn);
        gw_store_destroy(&store);
        free(e);
    }
}

/* Child mode of test_reader_while_writing: open DIR read-only and check the count. */
static int s_count_readonly(const char *dir, const char *want)
{
    gw_store *ro = NULL;
    mn_diag d = {0};
    uint64_t count = 0;
    int ok = gw_store_open(dir, 0, 1, &ro, &d) == MN_OK &&
             gw_store_registry_count(ro, &count) == MN_OK && count == strtoull(want, NULL, 10);
    if (!ok)
        fprintf(stderr, "reader: %s: %s (count %llu)\n", d.where, d.what,
                (unsigned long long)count);
    gw_store_destroy(&ro);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--count-readonly") == 0)
        return s_count_readonly(argv[2], argv[3]);
    s_self = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_private_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_numbering_starts_at_one, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_threads_take_turns, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_find_by_id_digest_and_alias, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nothing_is_overwritten, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_reopen_count_each_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_write_txn_at_a_time, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reader_while_writing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_missing_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_other_format_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ids_are_per_agent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_format_1_upgraded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_identity_and_raise_next, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_put_each_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bad_items, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_get_update_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hold_and_release, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_depth_oldest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_counts_added_to_older_store, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unrouted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_abort_leaves_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_reopen_keeps_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_txn_registry_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_items, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("gw_store", tests, NULL, NULL);
}
