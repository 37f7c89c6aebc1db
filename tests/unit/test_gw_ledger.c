/* test_gw_ledger.c - the registration ledger: written and read back, a torn or damaged slot,
 * a damaged or strange file, and every decision gw_ledger_check makes. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_ledger.h"
#include "mn_key.h"

typedef struct fixture {
    char root[64];
    char path[128]; /* root/registrations.ledger */
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/test_gw_ledger.XXXXXX");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/registrations.ledger", f->root);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static gw_ledger_mark s_mark(uint8_t id_byte, uint64_t issued)
{
    gw_ledger_mark m;
    memset(m.store_id, id_byte, sizeof m.store_id);
    m.issued = issued;
    return m;
}

static void s_flip(const char *path, long at)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_written_and_read(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    gw_ledger_mark m = s_mark(0xab, 0), got;
    gw_ledger *l = NULL;
    struct stat st;

    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_ENOTFOUND);
    assert_int_equal(gw_ledger_open(f->path, &m, &l, &d), MN_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_OK);
    assert_memory_equal(got.store_id, m.store_id, sizeof m.store_id);
    assert_int_equal(got.issued, 0);

    for (uint64_t i = 1; i <= 5; i++) /* each note is readable before any sync */
        assert_int_equal(gw_ledger_note(l, i * 10, &d), MN_OK);
    assert_int_equal(gw_ledger_note(l, 7, &d), MN_OK); /* never lowered */
    assert_int_equal(gw_ledger_issued(l), 50);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_OK);
    assert_int_equal(got.issued, 50);
    assert_int_equal(gw_ledger_sync(l, &d), MN_OK);
    gw_ledger_close(&l);
    assert_null(l);
    gw_ledger_close(&l); /* twice is harmless */

    /* opened again it goes on from the file's sequence */
    m.issued = 50;
    assert_int_equal(gw_ledger_open(f->path, &m, &l, &d), MN_OK);
    assert_int_equal(gw_ledger_note(l, 51, &d), MN_OK);
    gw_ledger_close(&l);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_OK);
    assert_int_equal(got.issued, 51);
}

/* A write torn by a power cut damages one slot: the other still says the mark before it. */
static void test_torn_slot(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    gw_ledger_mark m = s_mark(1, 3), got;
    gw_ledger *l = NULL;
    assert_int_equal(gw_ledger_open(f->path, &m, &l, &d), MN_OK);
    assert_int_equal(gw_ledger_note(l, 4, &d), MN_OK);
    gw_ledger_close(&l);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_OK);
    assert_int_equal(got.issued, 4);
    /* damage the slot that holds 4: find it by its text */
    char slot[2][129];
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fread(slot[i], 1, 128, fp), 128);
        slot[i][128] = '\0';
    }
    fclose(fp);
    long at = strstr(slot[0], "issued=4 ") ? 0 : 128;
    assert_non_null(strstr(slot[at ? 1 : 0], "issued=4 "));
    s_flip(f->path, at + 40);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_OK);
    assert_int_equal(got.issued, 3);
    /* both damaged: reported, with a hint, never taken as none */
    s_flip(f->path, (at ? 0 : 128) + 40);
    mn_diag_clear(&d);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "damaged"));
    assert_true(d.hint[0] != '\0');
}

static void test_strange_files(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    gw_ledger_mark got;
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs("meldnet-ledger 1 store=00 issued=1\n", fp);
    fclose(fp);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_ESTORE);
    assert_int_equal(truncate(f->path, 0), 0);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_ESTORE);
    /* a FIFO is refused at once, not waited on */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(mkfifo(f->path, 0600), 0);
    mn_diag_clear(&d);
    assert_int_equal(gw_ledger_read(f->path, &got, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "not a regular file"));
}

static void test_store_is_absent(void **state)
{
    fixture *f = *state;
    char data[128];
    assert_true(gw_ledger_store_is_absent(f->root)); /* no data.mdb */
    snprintf(data, sizeof data, "%s/data.mdb", f->root);
    FILE *fp = fopen(data, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_true(gw_ledger_store_is_absent(f->root)); /* empty */
    fp = fopen(data, "w");
    assert_non_null(fp);
    fputs("x", fp);
    fclose(fp);
    assert_false(gw_ledger_store_is_absent(f->root));
}

static gw_store_ident s_store(uint8_t id_byte, uint64_t next, uint64_t registrations)
{
    gw_store_ident s = {.has_id = 1, .next_registration = next, .registrations = registrations};
    memset(s.id, id_byte, sizeof s.id);
    return s;
}

static void s_refused(int rc, const mn_diag *d, const char *what, const char *hint)
{
    assert_int_equal(rc, MN_ESTORE);
    assert_non_null(strstr(d->what, what));
    assert_non_null(strstr(d->hint, hint));
}

static void test_check_decides(void **state)
{
    (void)state;
    mn_diag d = {0};
    const char *p = "registrations.ledger", *home = "gw";
    gw_ledger_mark m = s_mark(7, 9);
    gw_store_ident same = s_store(7, 10, 9), ahead = s_store(7, 12, 11), older = s_store(7, 7, 6),
                   other = s_store(8, 10, 9), fresh = s_store(8, 1, 0);

    /* a new gateway: no ledger, a fresh store */
    assert_int_equal(gw_ledger_check(p, home, 0, NULL, 0, &fresh, &d), MN_OK);
    /* no ledger, a store with registrations */
    s_refused(gw_ledger_check(p, home, 0, NULL, 0, &same, &d), &d, "ledger is missing",
              "store continue --home gw");
    /* agreeing, or the store ahead (the ledger lost its last second) */
    assert_int_equal(gw_ledger_check(p, home, 1, &m, 0, &same, &d), MN_OK);
    assert_int_equal(gw_ledger_check(p, home, 1, &m, 0, &ahead, &d), MN_OK);
    /* missing or empty where numbers were given */
    s_refused(gw_ledger_check(p, home, 1, &m, 1, &fresh, &d), &d, "up to MN-00000009",
              "store new --home gw");
    /* older: a restored copy */
    s_refused(gw_ledger_check(p, home, 1, &m, 0, &older, &d), &d, "older",
              "goes on from MN-00000010");
    /* another store */
    s_refused(gw_ledger_check(p, home, 1, &m, 0, &other, &d), &d, "another store",
              "store continue --home gw");
    /* a ledger that gave nothing yet allows any store */
    gw_ledger_mark none = s_mark(7, 0);
    assert_int_equal(gw_ledger_check(p, home, 1, &none, 1, &fresh, &d), MN_OK);
    assert_int_equal(gw_ledger_check(p, home, 1, &none, 0, &other, &d), MN_OK);
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_written_and_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_torn_slot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_strange_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_is_absent, s_setup, s_teardown),
        cmocka_unit_test(test_check_decides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
