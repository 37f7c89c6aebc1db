/* test_mn_file.c - unit tests for mn_file: regular files only (a FIFO is refused at once, not
 * waited on), bounded size, whole contents NUL-terminated; crash-safe writes. */
#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "mn_file.h"
#include "mn_file_fixture.h"

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

/* The write tests leave files of their own names: remove everything in the directory. */
static int s_teardown_all(void **state)
{
    fixture *f = *state;
    DIR *dir = opendir(f->dir);
    if (dir) {
        struct dirent *e;
        char path[600];
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_path(const fixture *f, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->dir, name);
}

static void test_reads_regular_file(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    s_write(f->path, "name = \"x\";\n");
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 64, &buf, &len, &d),
                     MN_OK);
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
    assert_int_equal(mn_file_read_regular(f->path, "secret key file", MN_EKEY, 64, &buf, &len, &d),
                     MN_EKEY);
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
    assert_int_equal(mn_file_open_regular(f->dir, "configuration", MN_ECONFIG, 64, &fd, &size, &d),
                     MN_ECONFIG);
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
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 10, &buf, &len, &d),
                     MN_OK);
    free(buf);
    buf = NULL;
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 9, &buf, &len, &d),
                     MN_ECONFIG);
    assert_null(buf);
    assert_non_null(strstr(d.what, "larger than the 9 bytes"));
}

static void test_missing_is_esys(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(mn_file_read_regular(f->path, "configuration", MN_ECONFIG, 10, &buf, &len, &d),
                     MN_ESYS);
    assert_non_null(strstr(d.what, "cannot read the configuration"));
}

static void test_file_write_atomic(void **state)
{
    fixture *f = *state;
    char path[300], text[64];
    mn_diag d;

    s_path(f, "state", path, sizeof path);
    assert_int_equal(mn_file_write_atomic(path, "one\n", 4, 0640, &d), MN_OK);
    assert_int_equal(file_mode(path), 0640);
    file_read_small(path, text, sizeof text);
    assert_string_equal(text, "one\n");
    assert_int_equal(mn_file_write_atomic(path, "two!\n", 5, 0600, &d), MN_OK);
    assert_int_equal(file_mode(path), 0600);
    file_read_small(path, text, sizeof text);
    assert_string_equal(text, "two!\n");
    assert_int_equal(mn_file_write_atomic(path, "", 0, 0600, &d), MN_OK);
    assert_int_equal(file_read_small(path, text, sizeof text), 0);
    assert_int_equal(file_count_entries(f->dir), 1);

    /* Relative path in the current directory. */
    char cwd[300];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(mn_file_write_atomic("rel", "r", 1, 0600, &d), MN_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(file_count_entries(f->dir), 2);

    /* A directory that does not exist, and a path naming a directory. */
    s_path(f, "no/such/dir/file", path, sizeof path);
    mn_diag_clear(&d);
    assert_int_equal(mn_file_write_atomic(path, "x", 1, 0600, &d), MN_ESYS);
    assert_int_equal(d.code, MN_ESYS);
    assert_int_equal(d.sys_errno, ENOENT);
    s_path(f, "", path, sizeof path);
    assert_int_equal(mn_file_write_atomic(path, "x", 1, 0600, &d), MN_ESYS);
    assert_int_equal(file_count_entries(f->dir), 2);
}

static void test_file_write_exclusive(void **state)
{
    fixture *f = *state;
    char path[300], text[64];
    mn_diag d;

    s_path(f, "secret", path, sizeof path);
    assert_int_equal(mn_file_write_exclusive(path, "one\n", 4, 0600, &d), MN_OK);
    assert_int_equal(file_mode(path), 0600);
    file_read_small(path, text, sizeof text);
    assert_string_equal(text, "one\n");
    /* Never over an existing file; no temporary file is left behind. */
    mn_diag_clear(&d);
    assert_int_equal(mn_file_write_exclusive(path, "two!\n", 5, 0600, &d), MN_EEXIST);
    assert_int_equal(d.code, MN_EEXIST);
    file_read_small(path, text, sizeof text);
    assert_string_equal(text, "one\n");
    assert_int_equal(file_count_entries(f->dir), 1);
    s_path(f, "no/such/dir/file", path, sizeof path);
    assert_int_equal(mn_file_write_exclusive(path, "x", 1, 0600, &d), MN_ESYS);
    assert_int_equal(file_count_entries(f->dir), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_regular_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused_without_waiting, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_folder_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_large_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_is_esys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_write_atomic, s_setup, s_teardown_all),
        cmocka_unit_test_setup_teardown(test_file_write_exclusive, s_setup, s_teardown_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
