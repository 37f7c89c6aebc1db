/* test_mn_file.c - unit tests for mn_file: regular files only (a FIFO is refused at once, not
 * waited on), bounded size, whole contents NUL-terminated. */
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

#include "mn_file.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_mn_file.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/file", f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void test_reads_regular_file(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    s_write(f->path, "name = \"x\";\n");
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 64, &buf, &len,
                                          &d), MN_OK);
    assert_int_equal(len, 12);
    assert_string_equal(buf, "name = \"x\";\n");
    free(buf);
}

static void test_fifo_refused_without_waiting(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(mkfifo(f->path, 0600), 0);
    /* No writer ever opens it: without O_NONBLOCK this call would never return. */
    assert_int_equal(mn_file_read_regular(f->path, "secret key file", MN_EKEY, 64, &buf, &len,
                                          &d), MN_EKEY);
    assert_null(buf);
    assert_non_null(strstr(d.what, "FIFO"));
    assert_non_null(strstr(d.what, "secret key file"));
    assert_string_equal(d.where, f->path);
    assert_true(d.hint[0] != '\0');
}

static void test_folder_refused(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    int fd = -1;
    size_t size = 0;
    assert_int_equal(mn_file_open_regular(f->dir, "configuration", MN_ECONFIG, 64, &fd, &size,
                                          &d), MN_ECONFIG);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(d.what, "a folder"));
}

static void test_too_large_refused(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    s_write(f->path, "0123456789");
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 10, &buf, &len,
                                          &d), MN_OK);
    free(buf);
    buf = NULL;
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 9, &buf, &len,
                                          &d), MN_ECONFIG);
    assert_null(buf);
    assert_non_null(strstr(d.what, "larger than the 9 bytes"));
}

static void test_missing_is_esys(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 10, &buf, &len,
                                          &d), MN_ESYS);
    assert_non_null(strstr(d.what, "cannot read the configuration"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_regular_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused_without_waiting, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_folder_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_large_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_is_esys, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
