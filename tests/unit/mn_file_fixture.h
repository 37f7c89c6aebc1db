/* mn_file_fixture.h - what the unit tests of files on disk share (test_mn_file, test_mn_key):
 * read a small file back, its permission bits, how many entries a folder holds. Header-only:
 * each test program includes it once.
 */
#ifndef MN_FILE_FIXTURE_H
#define MN_FILE_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file's first cap - 1 bytes into buf, NUL-terminated; returns how many. */
static inline size_t file_read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
    return (size_t)n;
}

/* The permission bits of path (0600, ...). */
static inline mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Entries of the folder other than "." and "..": what a failed write would leave behind. */
static inline int file_count_entries(const char *dirpath)
{
    int n = 0;
    DIR *dir = opendir(dirpath);
    struct dirent *e;
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

#endif
