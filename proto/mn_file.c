/* mn_file.c - open and read a regular file of bounded size without ever blocking on it. */
#include "mn_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
        mn_diag_hint(d, "put the real file there (a %s is read as an ordinary file), or point "
                        "the setting at it", noun);
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
            rc = mn_diag_set(d, code, path, "the %s is larger than the %zu bytes a %s may be",
                             noun, max_bytes, noun);
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
