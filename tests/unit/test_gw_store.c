/* test_gw_store - the gateway's LMDB store: create, numbering, dedup lookups, durability, errors.
 *
 * Fixtures for damaged stores are made without lmdb.h (gw_store.c is the only file that
 * includes it): a data.mdb of garbage bytes (MN_ESTORE), and a real store whose format value
 * is patched in the file (MN_EVERSION). LMDB keeps no checksums, so the patched store opens and
 * shows the other format, as a store written by a future meldnet would.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "gw_store.h"

static const char *s_self; /* argv[0]: this program, run again as a reader */

struct fixture {
    char root[64];  /* mkdtemp folder */
    char dir[128];  /* root/store: not created by the fixture */
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
        gw_registration r = {reg, 1700000000000ull + i};
        assert_int_equal(gw_store_put_registration(txn, id, dg, &r, rec, sizeof rec, &d), MN_OK);
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
    assert_int_equal(gw_store_find_id(txn, id, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_ENOTFOUND);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    r.accepted_ms = 1712345678901ull;
    const uint8_t rec[] = "sealed-record";
    assert_int_equal(gw_store_put_registration(txn, id, dg, &r, rec, sizeof rec, &d), MN_OK);
    /* visible inside the same transaction */
    assert_int_equal(gw_store_find_id(txn, id, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    assert_int_equal(got.accepted_ms, 1712345678901ull);
    assert_int_equal(gw_store_find_digest(txn, dg, &got), MN_OK);
    assert_int_equal(got.registration, 1);
    /* same content, new id: an alias to the same registration */
    assert_int_equal(gw_store_put_alias(txn, id2, &r, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);

    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    memset(&got, 0, sizeof got);
    assert_int_equal(gw_store_find_id(txn, id2, &got), MN_OK);
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
    assert_int_equal(gw_store_put_registration(txn, id, dg2, &r, rec, sizeof rec, &d),
                     MN_ESTORE);
    assert_non_null(strstr(d.what, "envelope id"));
    assert_int_equal(gw_store_put_alias(txn, id, &r, &d), MN_ESTORE);
    /* number 0 and an empty record are refused */
    gw_registration zero = {0, 1};
    uint8_t id9[16];
    s_id(id9, 9);
    assert_int_equal(gw_store_put_registration(txn, id9, dg2, &zero, rec, sizeof rec, &d),
                     MN_EINVAL);
    assert_int_equal(gw_store_put_registration(txn, id9, dg2, &r, rec, 0, &d), MN_EINVAL);
    gw_store_abort(&txn);

    /* a registration number that is taken already */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    gw_registration one = {1, 5};
    assert_int_equal(gw_store_put_registration(txn, id9, dg2, &one, rec, sizeof rec, &d),
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
    gw_registration r = {0, 1}, got;
    uint64_t count = 1;

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_OK);
    s_id(id, 5);
    s_digest(dg, 5);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
    assert_int_equal(gw_store_put_registration(txn, id, dg, &r, rec, sizeof rec, &d), MN_OK);
    gw_store_abort(&txn);
    assert_null(txn);
    gw_store_abort(&txn); /* NULL-safe */
    gw_store_abort(NULL);

    assert_int_equal(gw_store_registry_count(store, &count), MN_OK);
    assert_int_equal(count, 0);
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, id, &got), MN_ENOTFOUND);
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
    assert_int_equal(gw_store_find_id(txn, id, &got), MN_OK);
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
    assert_string_equal(d.where, f->dir);
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
static int s_patch_format(const char *dir, uint8_t to)
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
    static const uint8_t pat[] = {'f', 'o', 'r', 'm', 'a', 't', 0, 0, 0, 1};
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
    assert_true(s_patch_format(f->dir, 2) >= 1);

    assert_int_equal(gw_store_open(f->dir, 16, 0, &store, &d), MN_EVERSION);
    assert_null(store);
    assert_int_equal(d.code, MN_EVERSION);
    assert_non_null(strstr(d.what, "format 2"));
    assert_non_null(strstr(d.what, "format 1"));
    assert_true(d.hint[0] != '\0');
    assert_int_equal(gw_store_open(f->dir, 0, 1, &store, &d), MN_EVERSION);
    assert_null(store);
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
    s_register(store, 1000, 1);                                      /* committed before */
    assert_int_equal(gw_store_begin(store, &txn, &d), MN_OK);
    for (i = 0; i < 64 && rc == MN_OK; i++) {
        uint8_t id[16], dg[32];
        gw_registration r = {0, 1};
        s_id(id, i);
        s_digest(dg, i);
        assert_int_equal(gw_store_next_registration(txn, &r.registration), MN_OK);
        rc = gw_store_put_registration(txn, id, dg, &r, rec, big, &d);
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

/* Child mode of test_reader_while_writing: open DIR read-only and check the count. */
static int s_count_readonly(const char *dir, const char *want)
{
    gw_store *ro = NULL;
    mn_diag d = {0};
    uint64_t count = 0;
    int ok = gw_store_open(dir, 0, 1, &ro, &d) == MN_OK &&
             gw_store_registry_count(ro, &count) == MN_OK &&
             count == strtoull(want, NULL, 10);
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
        cmocka_unit_test_setup_teardown(test_find_by_id_digest_and_alias, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nothing_is_overwritten, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_reopen_count_each_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_write_txn_at_a_time, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reader_while_writing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_missing_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_other_format_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("gw_store", tests, NULL, NULL);
}
