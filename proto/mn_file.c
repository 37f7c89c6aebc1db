/* mn_file.c - open and read a regular file of bounded size without ever blocking on it; write
 * one crash-safely (temp file, fsync, rename, fsync the directory). */
#include "mn_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is not a regular file is, in words. */
static const char *s_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int mn_file_open_regular(const char *path, const char *noun, int code, size_t max_bytes,
                         int *fd_out, size_t *size_out, mn_diag *d)
{
    int rc = MN_OK;
    struct stat st;
    /* O_NONBLOCK: an open of a FIFO returns at once instead of waiting for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    *fd_out = -1;
    *size_out = 0;
    if (fd < 0) {
        rc = mn_diag_sys(d, path, "cannot read the %s", noun);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = mn_diag_sys(d, path, "cannot look at the %s", noun);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mn_diag_set(d, code, path, "the %s is %s, not a regular file", noun,
                         s_kind(st.st_mode));
        mn_diag_hint(d,
                     "put the real file there (a %s is read as an ordinary file), or point "
                     "the setting at it",
                     noun);
        goto out;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        rc = mn_diag_set(d, code, path,
                         "the %s is %lld bytes, larger than the %zu bytes a %s may be", noun,
                         (long long)st.st_size, max_bytes, noun);
        mn_diag_hint(d, "this is not the right file, or something was pasted into it by "
                        "mistake; restore it from a backup or make it again");
        goto out;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        rc = mn_diag_sys(d, path, "cannot read the %s", noun);
        goto out;
    }
    *fd_out = fd;
    *size_out = (size_t)st.st_size;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int mn_file_read_regular(const char *path, const char *noun, int code, size_t max_bytes,
                         char **buf_out, size_t *len_out, mn_diag *d)
{
    int fd = -1;
    size_t size = 0, len = 0;
    char *buf = NULL;
    *buf_out = NULL;
    *len_out = 0;
    int rc = mn_file_open_regular(path, noun, code, max_bytes, &fd, &size, d);
    if (rc != MN_OK)
        goto out;
    buf = malloc(max_bytes + 1);
    if (!buf) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory reading the %s", noun);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, max_bytes + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = mn_diag_sys(d, path, "cannot read the %s", noun);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max_bytes) { /* it grew since fstat */
            rc = mn_diag_set(d, code, path, "the %s is larger than the %zu bytes a %s may be", noun,
                             max_bytes, noun);
            goto out;
        }
    }
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Crash-safe writes */

static int s_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    /* Some file systems cannot fsync a directory; there is nothing more we can do there. */
    if (rc < 0 && (errno == EINVAL || errno == ENOTSUP))
        rc = 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Temp file in the target's directory, fsync, then rename over the target or, when exclusive,
 * link to it (link fails with EEXIST instead of replacing), then fsync the directory. */
static int s_write_atomic(const char *path, const void *data, size_t len, int mode, int exclusive,
                          mn_diag *d)
{
    int rc = MN_OK;
    int fd = -1;
    int cfd = -1;
    int have_tmp = 0;
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;

    if (*base == '\0') {
        errno = EISDIR;
        rc = mn_diag_sys(d, path, "cannot write a file at a directory path");
        goto out;
    }
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, base) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        rc = mn_diag_sys(d, path, "cannot make a temporary file name");
        goto out;
    }
    if (exclusive && access(path, F_OK) == 0) {
        rc = mn_diag_set(d, MN_EEXIST, path, "file exists already; refusing to overwrite it");
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mn_diag_sys(d, path, "cannot create a temporary file in %s", dir);
        goto out;
    }
    have_tmp = 1;
    if (fchmod(fd, (mode_t)mode) < 0 || s_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        rc = mn_diag_sys(d, path, "cannot write temporary file %s", tmp);
        goto out;
    }
    cfd = fd;
    fd = -1;
    if (close(cfd) < 0) {
        rc = mn_diag_sys(d, path, "cannot write temporary file %s", tmp);
        goto out;
    }
    if (exclusive) {
        if (link(tmp, path) < 0) {
            if (errno == EEXIST)
                rc = mn_diag_set(d, MN_EEXIST, path,
                                 "file exists already; refusing to overwrite it");
            else
                rc = mn_diag_sys(d, path, "cannot create the file");
            goto out;
        }
        /* The temp name is removed below; the directory is fsynced after that. */
    } else {
        if (rename(tmp, path) < 0) {
            rc = mn_diag_sys(d, path, "cannot rename %s into place", tmp);
            goto out;
        }
        have_tmp = 0;
    }
    if (have_tmp) {
        (void)unlink(tmp);
        have_tmp = 0;
    }
    if (s_fsync_dir(dir) < 0) {
        rc = mn_diag_sys(d, path, "cannot fsync directory %s", dir);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        (void)unlink(tmp);
    return rc;
}

int mn_file_write_atomic(const char *path, const void *data, size_t len, int mode, mn_diag *d)
{
    return s_write_atomic(path, data, len, mode, 0, d);
}

int mn_file_write_exclusive(const char *path, const void *data, size_t len, int mode, mn_diag *d)
{
    return s_write_atomic(path, data, len, mode, 1, d);
}
