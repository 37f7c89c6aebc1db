/* test_mn_lmdbcheck.c - unit tests for mn_lmdbcheck: a real LMDB file made here (named databases,
 * small and overflow values, several commits), then cut and zeroed at every page; the check
 * must call each damage an error with a hint, and every file it passes must open and read
 * through LMDB without a crash.
 *
 * Each test gets its own mkdtemp directory; the store is rebuilt from the pristine copy for every
 * case.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mn_lmdbcheck.h"

typedef struct fixture {
    char dir[64];
    char env[96];   /* the store under test */
    char data[128]; /* its data.mdb */
    uint8_t *pristine;
    size_t pristine_len;
} fixture;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static uint8_t *s_read_file(const char *path, size_t *len)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
    fclose(fp);
    *len = (size_t)st.st_size;
    return buf;
}

/* Make an LMDB store like ours: three named databases, small values and values of several pages,
 * written in a few transactions (so both meta pages are used and some pages are free). */
static void s_make_store(const char *dir, int items, int big_every)
{
    MDB_env *env = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 256u * 1024 * 1024), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    static const char *const names[3] = {"meta", "items", "frames"};
    uint8_t big[9000];
    for (int round = 0; round < 3; round++) {
        MDB_txn *txn = NULL;
        assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
        for (int n = 0; n < 3; n++) {
            MDB_dbi dbi;
            assert_int_equal(mdb_dbi_open(txn, names[n], MDB_CREATE, &dbi), 0);
            for (int i = round * items; i < (round + 1) * items; i++) {
                char key[32];
                snprintf(key, sizeof key, "%s-%06d", names[n], i);
                memset(big, 'a' + i % 26, sizeof big);
                MDB_val k = {strlen(key), key};
                /* every big_every'th frame spans overflow pages */
                int is_big = n == 2 && i % big_every == 0;
                MDB_val v = {is_big ? sizeof big : 40u + (size_t)(i % 50), big};
                assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
            }
            if (round > 0) { /* free some pages */
                char key[32];
                snprintf(key, sizeof key, "%s-%06d", names[n], round);
                MDB_val k = {strlen(key), key};
                assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
            }
        }
        assert_int_equal(mdb_txn_commit(txn), 0);
    }
    mdb_env_close(env);
}

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_mn_lmdbcheck.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->env, sizeof f->env, "%s/store", f->dir);
    snprintf(f->data, sizeof f->data, "%s/data.mdb", f->env);
    if (mkdir(f->env, 0700) != 0)
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f->pristine);
    free(f);
    return 0;
}

/* Build the store once and keep its bytes; s_restore puts them back. */
static void s_pristine(fixture *f, int items)
{
    s_make_store(f->env, items, 8);
    f->pristine = s_read_file(f->data, &f->pristine_len);
}

static void s_restore(fixture *f)
{
    char lock[160];
    snprintf(lock, sizeof lock, "%s/lock.mdb", f->env);
    unlink(lock);
    s_write_file(f->data, f->pristine, f->pristine_len);
}

/* Open the store read-only and read every record of every database. The point is that this
 * returns at all (no SIGBUS, no abort): whatever LMDB says is fine. */
static void s_read_all(const fixture *f)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL, *sub = NULL;
    MDB_dbi main_dbi, dbi;
    MDB_val k, v, sk, sv;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    if (mdb_env_open(env, f->env, MDB_RDONLY, 0600) != 0 ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        goto out;
    if (mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 || mdb_cursor_open(txn, main_dbi, &cur) != 0)
        goto out;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[64];
        if (k.mv_size == 0 || k.mv_size >= sizeof name)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if (strlen(name) != k.mv_size || mdb_dbi_open(txn, name, 0, &dbi) != 0 ||
            mdb_cursor_open(txn, dbi, &sub) != 0)
            continue;
        for (int r = mdb_cursor_get(sub, &sk, &sv, MDB_FIRST); r == 0;
             r = mdb_cursor_get(sub, &sk, &sv, MDB_NEXT))
            ;
        mdb_cursor_close(sub);
        sub = NULL;
    }
out:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* The check on the damaged file: MN_OK (then LMDB must read it without crashing) or MN_ESTORE
 * with a where, a what and a hint. Returns the code. */
static int s_check_case(const fixture *f, const char *label)
{
    mn_diag d = {0};
    mn_lmdbcheck_info info;
    int rc = mn_lmdbcheck_file(f->data, "store", &info, &d);
    if (rc == MN_OK) {
        assert_true(info.complete);
        s_read_all(f);
        return rc;
    }
    if (rc != MN_ESTORE)
        fail_msg("%s: code %d (%s)", label, rc, d.what);
    assert_string_equal(d.where, f->data);
    assert_non_null(strstr(d.what, "store file"));
    assert_non_null(strstr(d.hint, "backup"));
    return rc;
}

static void test_pristine_store_passes(void **state)
{
    fixture *f = *state;
    mn_lmdbcheck_info info;
    mn_diag d = {0};
    s_pristine(f, 60);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", &info, &d), MN_OK);
    assert_int_equal(info.page_bytes, (uint32_t)sysconf(_SC_PAGESIZE));
    assert_int_equal(info.file_bytes, f->pristine_len);
    assert_true(info.file_bytes >= 2u * info.page_bytes);
    assert_true(info.txnid >= 3);
    assert_true(info.pages_walked > 10);
    assert_true(info.complete);
    /* a NULL info is fine, and the check wrote nothing */
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", NULL, &d), MN_OK);
    size_t len = 0;
    uint8_t *after = s_read_file(f->data, &len);
    assert_int_equal(len, f->pristine_len);
    assert_memory_equal(after, f->pristine, len);
    free(after);
}

static void test_missing_empty_and_not_a_file(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char path[160];
    snprintf(path, sizeof path, "%s/nothing.mdb", f->dir);
    assert_int_equal(mn_lmdbcheck_file(path, "spool", NULL, &d), MN_ENOTFOUND);
    assert_int_equal(d.code, 0); /* diag untouched */

    s_write_file(path, (const uint8_t *)"", 0);
    assert_int_equal(mn_lmdbcheck_file(path, "spool", NULL, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "spool file is empty"));
    assert_non_null(strstr(d.hint, "backup"));

    assert_int_equal(mn_lmdbcheck_file(f->env, "spool", NULL, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "not a regular file"));

    char link[160];
    snprintf(link, sizeof link, "%s/link.mdb", f->dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(mn_lmdbcheck_file(link, "spool", NULL, &d), MN_ESTORE);

    uint8_t junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    s_write_file(path, junk, sizeof junk);
    assert_int_equal(mn_lmdbcheck_file(path, "spool", NULL, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "meta page 0"));
}

/* Every cut is found damaged, or else takes off only pages nothing refers to (LMDB does not
 * write every page up to its last one: see mn_lmdbcheck.h) and LMDB reads the rest whole. A cut
 * inside the meta pages, or through the main tree's pages, is always found. */
static void test_every_truncation_is_an_error(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    mn_lmdbcheck_info info;
    s_pristine(f, 60);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", &info, &d), MN_OK);
    uint64_t need = (info.last_page + 1) * info.page_bytes;
    unsigned cuts = 0, found = 0;
    /* every 512 bytes: inside the meta pages, at page boundaries, inside data pages */
    for (uint64_t len = 1; len < need; len += (len < 3 * info.page_bytes ? 100 : 512)) {
        char label[64];
        s_restore(f);
        assert_int_equal(truncate(f->data, (off_t)len), 0);
        snprintf(label, sizeof label, "cut at %llu", (unsigned long long)len);
        int rc = s_check_case(f, label); /* MN_OK: LMDB has read all of it, no crash */
        if (len < 2 * info.page_bytes && rc != MN_ESTORE)
            fail_msg("%s of %llu: inside the meta pages, not found damaged", label,
                     (unsigned long long)need);
        cuts++;
        found += rc == MN_ESTORE;
    }
    /* nearly every cut of a store this size goes through a page in use */
    assert_true(found * 10 >= cuts * 9);
    s_restore(f);
    assert_int_equal(truncate(f->data, (off_t)(3 * info.page_bytes)), 0);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", NULL, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "it ends at byte"));
}

static void s_zero_page(const fixture *f, uint64_t pgno, uint32_t psize)
{
    uint8_t *zero = calloc(1, psize);
    assert_non_null(zero);
    int fd = open(f->data, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, zero, psize, (off_t)(pgno * psize)), (ssize_t)psize);
    close(fd);
    free(zero);
}

static void test_zeroed_pages(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    mn_lmdbcheck_info info;
    s_pristine(f, 60);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", &info, &d), MN_OK);
    /* the meta pages */
    for (uint64_t m = 0; m < 2; m++) {
        s_restore(f);
        s_zero_page(f, m, info.page_bytes);
        assert_int_equal(s_check_case(f, "zeroed meta"), MN_ESTORE);
    }
    /* every other page: in use, it is found; free, LMDB never reads it */
    int found = 0;
    for (uint64_t p = 2; p <= info.last_page; p++) {
        char label[64];
        snprintf(label, sizeof label, "zeroed page %llu", (unsigned long long)p);
        s_restore(f);
        s_zero_page(f, p, info.page_bytes);
        found += s_check_case(f, label) == MN_ESTORE;
    }
    assert_true(found > 10);
}

static void test_other_version_and_page_size(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    s_pristine(f, 5);
    /* meta 0: version at 20, page size at 40 (after the 16-byte page header) */
    uint32_t v = 2;
    s_restore(f);
    int fd = open(f->data, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &v, sizeof v, 20), (ssize_t)sizeof v);
    close(fd);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", NULL, &d), MN_EVERSION);
    assert_true(d.hint[0] != '\0');

    uint32_t ps = 3000;
    s_restore(f);
    fd = open(f->data, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &ps, sizeof ps, 40), (ssize_t)sizeof ps);
    close(fd);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", NULL, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "page size"));
}

static void test_walk_is_bounded(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    mn_lmdbcheck_info info;
    s_pristine(f, 60);
    assert_int_equal(mn_lmdbcheck_file(f->data, "store", &info, &d), MN_OK);
    assert_true(info.complete);
    uint64_t all = info.pages_walked;
    assert_true(all > 20);
    /* a smaller budget: fewer pages read, and it says so */
    assert_int_equal(mn_lmdbcheck_file_bounded(f->data, "store", 8, &info, &d), MN_OK);
    assert_true(info.pages_walked <= 16);
    assert_false(info.complete);
    /* a budget of 0 reads one page: the check cannot be turned off by accident */
    assert_int_equal(mn_lmdbcheck_file_bounded(f->data, "store", 0, &info, &d), MN_OK);
    assert_int_equal(info.pages_walked, 1);
}

/* Commit small random changes to the store for about `ms` milliseconds (another process). */
static int s_writer(const char *dir, int ms)
{
    MDB_env *env = NULL;
    MDB_dbi dbi;
    uint8_t val[3000];
    memset(val, 'w', sizeof val);
    if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 4) != 0 ||
        mdb_env_set_mapsize(env, 256u * 1024 * 1024) != 0 ||
        mdb_env_open(env, dir, MDB_NOSYNC, 0600) != 0)
        return 1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned seed = 1;
    do {
        MDB_txn *txn = NULL;
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
            mdb_dbi_open(txn, "items", MDB_CREATE, &dbi) != 0)
            return 1;
        for (int i = 0; i < 40; i++) {
            char key[32];
            seed = seed * 1103515245u + 12345u;
            snprintf(key, sizeof key, "w-%05u", (seed >> 8) % 3000);
            MDB_val k = {strlen(key), key};
            MDB_val v = {1 + (seed >> 4) % sizeof val, val};
            if (seed & 0x100)
                (void)mdb_del(txn, dbi, &k, NULL);
            else if (mdb_put(txn, dbi, &k, &v, 0) != 0)
                return 1;
        }
        if (mdb_txn_commit(txn) != 0)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    mdb_env_close(env);
    return 0;
}

static void test_store_written_meanwhile_is_not_damaged(void **state)
{
    fixture *f = *state;
    s_pristine(f, 60);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(s_writer(f->env, 2000));
    int checks = 0, bad = 0, status = 0;
    char what[512] = "";
    while (waitpid(pid, &status, WNOHANG) == 0) {
        mn_diag d = {0};
        if (mn_lmdbcheck_file(f->data, "store", NULL, &d) != MN_OK) {
            bad++;
            snprintf(what, sizeof what, "%s", d.what);
        }
        checks++;
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    if (bad)
        fail_msg("%d of %d checks of a store being written said: %s", bad, checks, what);
    assert_true(checks > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pristine_store_passes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_empty_and_not_a_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_is_an_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_zeroed_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_other_version_and_page_size, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_walk_is_bounded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_written_meanwhile_is_not_damaged, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
