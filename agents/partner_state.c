/* partner_state.c - delivery markers and the last delivery / refusal, as small files. */
#include "partner_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_envelope.h"
#include "mn_file.h"

#define S_PATH_MAX 4096

struct partner_state {
    char dir[S_PATH_MAX];
    char delivered[S_PATH_MAX];
    int lock_fd; /* -1 when not locked */
};

static int s_mkdir(const char *path, mn_diag *d)
{
    struct stat sb;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return mn_diag_sys(d, path, "cannot create the state folder");
    if (stat(path, &sb) != 0)
        return mn_diag_sys(d, path, "cannot read the state folder");
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return mn_diag_sys(d, path, "the state folder is not a folder");
    }
    return MN_OK;
}

int partner_state_open(const char *dir, int create, partner_state **out, mn_diag *d)
{
    int rc = MN_OK;
    partner_state *st = calloc(1, sizeof *st);
    struct stat sb;

    *out = NULL;
    if (!st)
        return mn_diag_set(d, MN_ENOMEM, dir, "no memory for the state");
    st->lock_fd = -1;
    if ((size_t)snprintf(st->dir, sizeof st->dir, "%s", dir) >= sizeof st->dir ||
        (size_t)snprintf(st->delivered, sizeof st->delivered, "%s/delivered", dir) >=
            sizeof st->delivered) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the state path is too long");
        goto out;
    }
    if (create) {
        if ((rc = s_mkdir(st->dir, d)) != MN_OK || (rc = s_mkdir(st->delivered, d)) != MN_OK)
            goto out;
    } else if (stat(st->dir, &sb) != 0) {
        rc = mn_diag_sys(d, st->dir, "cannot read the state folder");
        mn_diag_hint(d, "check 'state' in partner.conf; 'meldnet-partner listen' makes it");
        goto out;
    }
out:
    if (rc == MN_OK)
        *out = st;
    else
        free(st);
    return rc;
}

void partner_state_destroy(partner_state **st_p)
{
    if (!st_p || !*st_p)
        return;
    if ((*st_p)->lock_fd >= 0)
        close((*st_p)->lock_fd); /* releases the flock */
    free(*st_p);
    *st_p = NULL;
}

int partner_state_lock(partner_state *st, mn_diag *d)
{
    char path[S_PATH_MAX + 32];
    char pid[32];
    if (st->lock_fd >= 0)
        return MN_OK;
    if ((size_t)snprintf(path, sizeof path, "%s/listen.lock", st->dir) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, st->dir, "the state path is too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mn_diag_sys(d, path, "cannot open the lock file");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ssize_t n = read(fd, pid, sizeof pid - 1);
        close(fd);
        if (err != EWOULDBLOCK) {
            errno = err;
            return mn_diag_sys(d, path, "cannot lock the state folder");
        }
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        int rc = mn_diag_set(d, MN_EEXIST, st->dir,
                             "another 'meldnet-partner listen' uses this "
                             "home%s%s%s",
                             pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        mn_diag_hint(d, "run one listen per partner: two sessions of one partner end each "
                        "other's subscription");
        return rc;
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n) {
        /* Only informative: the lock itself is held. */
    }
    st->lock_fd = fd;
    return MN_OK;
}

const char *partner_state_dir(const partner_state *st)
{
    return st->dir;
}

static int s_marker_path(const partner_state *st, uint64_t reg, uint64_t variant, char *out,
                         size_t cap)
{
    char name[32];
    mn_registration_format(reg, name, sizeof name);
    int n = variant
                ? snprintf(out, cap, "%s/%s-%llu", st->delivered, name, (unsigned long long)variant)
                : snprintf(out, cap, "%s/%s", st->delivered, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int s_read_entry(const char *path, partner_state_entry *e, int *found, mn_diag *d);

int partner_state_find(const partner_state *st, uint64_t registration, uint64_t variant,
                       uint64_t *accepted_ms)
{
    char path[S_PATH_MAX + 64];
    partner_state_entry e;
    int found = 0;
    if (accepted_ms)
        *accepted_ms = 0;
    if (s_marker_path(st, registration, variant, path, sizeof path) != 0)
        return 0;
    if (s_read_entry(path, &e, &found, NULL) != MN_OK || !found) {
        struct stat sb; /* unreadable, but there: a marker all the same */
        return stat(path, &sb) == 0;
    }
    if (accepted_ms)
        *accepted_ms = e.accepted_ms;
    return 1;
}

int partner_state_has(const partner_state *st, uint64_t registration)
{
    return partner_state_find(st, registration, 0, NULL);
}

/* The entry as key=value lines into buf; returns the length or -1 when it does not fit. */
static int s_format(const partner_state_entry *e, char *buf, size_t cap)
{
    char reg[32];
    mn_registration_format(e->registration, reg, sizeof reg);
    int n = snprintf(buf, cap, "registration=%s\nat_ms=%llu\nattempt=%u\nvia=%s\ntopics=%s\n", reg,
                     (unsigned long long)e->at_ms, (unsigned)e->attempt, e->via, e->topics);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    if (e->accepted_ms) {
        int m = snprintf(buf + n, cap - (size_t)n, "accepted_ms=%llu\n",
                         (unsigned long long)e->accepted_ms);
        if (m < 0 || (size_t)m >= cap - (size_t)n)
            return -1;
        n += m;
    }
    if (e->reason[0]) {
        int m = snprintf(buf + n, cap - (size_t)n, "reason=%s\n", e->reason);
        if (m < 0 || (size_t)m >= cap - (size_t)n)
            return -1;
        for (int i = n + 7; i < n + m - 1; i++) /* one line, whatever the reason holds */
            if (buf[i] == '\n' || buf[i] == '\r')
                buf[i] = ' ';
        n += m;
    }
    return n;
}

static int s_write_entry(const char *path, const partner_state_entry *e, mn_diag *d)
{
    char buf[2048];
    int n = s_format(e, buf, sizeof buf);
    if (n < 0)
        return mn_diag_set(d, MN_EINVAL, path, "the state entry is too long");
    return mn_file_write_atomic(path, buf, (size_t)n, 0600, d);
}

int partner_state_mark(partner_state *st, const partner_state_entry *e, mn_diag *d)
{
    char path[S_PATH_MAX + 64];
    int rc;
    if (e->registration == 0)
        return mn_diag_set(d, MN_EINVAL, st->dir, "registration 0 is never delivered");
    if (s_marker_path(st, e->registration, e->variant, path, sizeof path) != 0)
        return mn_diag_set(d, MN_EINVAL, st->delivered, "the marker path is too long");
    if ((rc = s_write_entry(path, e, d)) != MN_OK)
        return rc;
    if ((size_t)snprintf(path, sizeof path, "%s/last-delivery", st->dir) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, st->dir, "the state path is too long");
    return s_write_entry(path, e, d);
}

int partner_state_note_refusal(partner_state *st, const partner_state_entry *e, mn_diag *d)
{
    char path[S_PATH_MAX + 32];
    if ((size_t)snprintf(path, sizeof path, "%s/last-refusal", st->dir) >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, st->dir, "the state path is too long");
    return s_write_entry(path, e, d);
}

/* Read an entry file; *found = 0 when it does not exist. Unknown keys are skipped. */
static int s_read_entry(const char *path, partner_state_entry *e, int *found, mn_diag *d)
{
    char line[2048];
    memset(e, 0, sizeof *e);
    *found = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return MN_OK;
        return mn_diag_sys(d, path, "cannot read the state file");
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "registration") == 0) {
            if (mn_registration_parse(v, &e->registration) != MN_OK)
                e->registration = 0;
        } else if (strcmp(k, "at_ms") == 0) {
            e->at_ms = strtoull(v, NULL, 10);
        } else if (strcmp(k, "accepted_ms") == 0) {
            e->accepted_ms = strtoull(v, NULL, 10);
        } else if (strcmp(k, "attempt") == 0) {
            e->attempt = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(k, "via") == 0) {
            snprintf(e->via, sizeof e->via, "%s", v);
        } else if (strcmp(k, "topics") == 0) {
            snprintf(e->topics, sizeof e->topics, "%s", v);
        } else if (strcmp(k, "reason") == 0) {
            snprintf(e->reason, sizeof e->reason, "%s", v);
        }
    }
    fclose(f);
    *found = e->registration != 0;
    return MN_OK;
}

int partner_state_summarize(const partner_state *st, partner_state_summary *out, mn_diag *d)
{
    char path[S_PATH_MAX + 32];
    int rc;
    memset(out, 0, sizeof *out);
    DIR *dir = opendir(st->delivered);
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir)) != NULL)
            if (strncmp(de->d_name, "MN-", 3) == 0)
                out->delivered++;
        closedir(dir);
    } else if (errno != ENOENT) {
        return mn_diag_sys(d, st->delivered, "cannot read the folder of delivery markers");
    }
    snprintf(path, sizeof path, "%s/last-delivery", st->dir);
    if ((rc = s_read_entry(path, &out->last, &out->has_last, d)) != MN_OK)
        return rc;
    snprintf(path, sizeof path, "%s/last-refusal", st->dir);
    return s_read_entry(path, &out->refusal, &out->has_refusal, d);
}
