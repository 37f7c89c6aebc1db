/* gw_ledger - the registration ledger (see gw_ledger.h for the why and the format). */
#include "gw_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_envelope.h"
#include "mn_file.h"

#define S_SLOT 128 /* bytes per slot; a line is shorter, padded with spaces, ends in '\n' */
#define S_MAGIC "meldnet-ledger 1 "
#define S_PATH_MAX 4096

struct gw_ledger {
    pthread_mutex_t lock;
    int fd;
    gw_ledger_mark mark; /* the latest noted */
    uint64_t seq;        /* of the latest slot written */
    int dirty;           /* written since the last fsync */
    char path[S_PATH_MAX];
};

void gw_ledger_id_text(const uint8_t id[GW_STORE_ID_BYTES], char *buf)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < GW_STORE_ID_BYTES; i++) {
        buf[2 * i] = hex[id[i] >> 4];
        buf[2 * i + 1] = hex[id[i] & 15];
    }
    buf[2 * GW_STORE_ID_BYTES] = '\0';
}

/* FNV-1a: catches a torn or damaged slot; nothing here is secret or adversarial. */
static uint64_t s_check(const char *text, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void s_slot_format(const gw_ledger_mark *m, uint64_t seq, char slot[S_SLOT])
{
    char id[2 * GW_STORE_ID_BYTES + 1];
    gw_ledger_id_text(m->store_id, id);
    int n = snprintf(slot, S_SLOT, S_MAGIC "store=%s issued=%" PRIu64 " seq=%" PRIu64, id,
                     m->issued, seq);
    n += snprintf(slot + n, S_SLOT - (size_t)n, " check=%016" PRIx64, s_check(slot, (size_t)n));
    memset(slot + n, ' ', S_SLOT - 1 - (size_t)n);
    slot[S_SLOT - 1] = '\n';
}

static int s_hex_id(const char *text, uint8_t id[GW_STORE_ID_BYTES])
{
    for (size_t i = 0; i < 2 * GW_STORE_ID_BYTES; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            id[i / 2] = (uint8_t)(v << 4);
        else
            id[i / 2] |= (uint8_t)v;
    }
    return 0;
}

/* One slot: 0 and *m, *seq filled when it is whole and its checksum holds, else -1. */
static int s_slot_parse(const char *slot, gw_ledger_mark *m, uint64_t *seq)
{
    char line[S_SLOT];
    memcpy(line, slot, S_SLOT);
    if (line[S_SLOT - 1] != '\n')
        return -1;
    line[S_SLOT - 1] = '\0';
    const char *check = strstr(line, " check=");
    if (strncmp(line, S_MAGIC "store=", sizeof S_MAGIC - 1 + 6) != 0 || !check)
        return -1;
    uint64_t want = s_check(line, (size_t)(check - line));
    char id[2 * GW_STORE_ID_BYTES + 1];
    unsigned long long issued, sq, got;
    int used = 0;
    if (sscanf(line, S_MAGIC "store=%32s issued=%llu seq=%llu check=%16llx%n", id, &issued, &sq,
               &got, &used) != 4 ||
        strlen(id) != 2 * GW_STORE_ID_BYTES || got != want)
        return -1;
    for (size_t i = (size_t)used; i < S_SLOT - 1; i++)
        if (line[i] != ' ')
            return -1;
    if (s_hex_id(id, m->store_id) != 0)
        return -1;
    m->issued = issued;
    *seq = sq;
    return 0;
}

static int s_read(const char *path, gw_ledger_mark *out, uint64_t *seq_out, mn_diag *d)
{
    char buf[2 * S_SLOT];
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MN_ENOTFOUND;
        return mn_diag_sys(d, path, "cannot read the registration ledger");
    }
    int rc = MN_OK;
    if (fstat(fd, &st) != 0) {
        rc = mn_diag_sys(d, path, "cannot read the registration ledger");
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof buf ||
        pread(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
        rc = mn_diag_set(d, MN_ESTORE, path, "the registration ledger is damaged (%s)",
                         !S_ISREG(st.st_mode) ? "not a regular file" : "wrong size");
        goto damaged;
    }
    gw_ledger_mark a, b;
    uint64_t sa = 0, sb = 0;
    int ok_a = s_slot_parse(buf, &a, &sa) == 0, ok_b = s_slot_parse(buf + S_SLOT, &b, &sb) == 0;
    if (!ok_a && !ok_b) {
        rc = mn_diag_set(d, MN_ESTORE, path,
                         "the registration ledger is damaged (no valid "
                         "record)");
        goto damaged;
    }
    int take_a = ok_a && (!ok_b || sa >= sb);
    *out = take_a ? a : b;
    if (seq_out)
        *seq_out = take_a ? sa : sb;
    goto out;
damaged:
    mn_diag_hint(d, "the ledger says up to which registration number this gateway has "
                    "numbered; restore it from backup, or, if it is lost, see \"Registration "
                    "numbers\" in docs/OPERATING.md before you start the gateway");
out:
    close(fd);
    return rc;
}

int gw_ledger_read(const char *path, gw_ledger_mark *out, mn_diag *d)
{
    return s_read(path, out, NULL, d);
}

int gw_ledger_store_is_absent(const char *data_dir)
{
    char path[S_PATH_MAX + 16];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", data_dir);
    if (stat(path, &st) != 0)
        return errno == ENOENT;
    return S_ISREG(st.st_mode) && st.st_size == 0;
}

static void s_reg(uint64_t n, char *buf, size_t cap)
{
    mn_registration_format(n, buf, cap);
}

int gw_ledger_check(const char *ledger_path, const char *home, int has_mark,
                    const gw_ledger_mark *mark, int absent, const gw_store_ident *store, mn_diag *d)
{
    char issued[32], upto[32], next[32], ours[2 * GW_STORE_ID_BYTES + 1],
        theirs[2 * GW_STORE_ID_BYTES + 1];
    uint64_t store_upto = store->next_registration - 1;
    s_reg(has_mark ? mark->issued : 0, issued, sizeof issued);
    s_reg(store_upto, upto, sizeof upto);
    s_reg((has_mark && mark->issued > store_upto ? mark->issued : store_upto) + 1, next,
          sizeof next);
    gw_ledger_id_text(store->id, theirs);
    if (has_mark)
        gw_ledger_id_text(mark->store_id, ours);

    if (!has_mark) {
        if (store->registrations == 0 && store->next_registration == 1)
            return MN_OK; /* a new gateway: the ledger starts with this store */
        mn_diag_set(d, MN_ESTORE, ledger_path,
                    "the registration ledger is missing, but the store has given numbers up "
                    "to %s: this gateway cannot tell whether they are all",
                    upto);
        mn_diag_hint(d,
                     "restore the ledger from backup; or, if this store is the latest one, "
                     "run `meldnetctl store continue --home %s` (numbering goes on after "
                     "%s)",
                     home, upto);
        return MN_ESTORE;
    }
    if (mark->issued == 0)
        return MN_OK; /* no number given yet: none can be given twice */
    if (absent) {
        mn_diag_set(d, MN_ESTORE, ledger_path,
                    "the store is missing or empty, but this gateway has already given "
                    "registration numbers up to %s; a new store would give them again and "
                    "partners would take new reports for ones they have",
                    issued);
        mn_diag_hint(d,
                     "restore the data folder from the latest backup and run `meldnetctl "
                     "store continue --home %s`, or start an empty store with `meldnetctl "
                     "store new --home %s`; numbering goes on after %s either way",
                     home, home, issued);
        return MN_ESTORE;
    }
    if (memcmp(mark->store_id, store->id, GW_STORE_ID_BYTES) != 0) {
        mn_diag_set(d, MN_ESTORE, ledger_path,
                    "the data folder holds another store (%.8s…, numbered up to %s) than the "
                    "one this gateway numbers with (%.8s…, up to %s)",
                    theirs, upto, ours, issued);
        mn_diag_hint(d,
                     "put the right store back; or, to go on with this one, run `meldnetctl "
                     "store continue --home %s` (numbering goes on from %s)",
                     home, next);
        return MN_ESTORE;
    }
    if (store_upto < mark->issued) {
        mn_diag_set(d, MN_ESTORE, ledger_path,
                    "the store is older than what this gateway has acknowledged: it numbers "
                    "up to %s, but numbers up to %s were given (a restored copy?)",
                    upto, issued);
        mn_diag_hint(d,
                     "to go on with this store, run `meldnetctl store continue --home %s`: "
                     "numbering goes on from %s, so no number is given twice (reports "
                     "registered after the copy was made are not in it)",
                     home, next);
        return MN_ESTORE;
    }
    return MN_OK;
}

int gw_ledger_inspect(const char *ledger_path, const char *data_dir, gw_ledger_view *v, mn_diag *d)
{
    gw_store *store = NULL;
    memset(v, 0, sizeof *v);
    v->store.next_registration = 1;
    int rc = gw_ledger_read(ledger_path, &v->mark, d);
    if (rc == MN_ENOTFOUND)
        memset(&v->mark, 0, sizeof v->mark);
    else if (rc != MN_OK)
        return rc;
    v->has_mark = rc == MN_OK;
    v->absent = gw_ledger_store_is_absent(data_dir);
    if (v->absent)
        return MN_OK;
    rc = gw_store_open(data_dir, 0, 1, &store, d);
    if (rc == MN_OK)
        rc = gw_store_identity(store, &v->store, d);
    gw_store_destroy(&store);
    if (rc == MN_OK && !v->store.has_id && v->has_mark) /* it gets one at the next start */
        memcpy(v->store.id, v->mark.store_id, sizeof v->store.id);
    return rc;
}

/* Write the slot after the latest (no fsync). Under l->lock. */
static int s_write_slot(gw_ledger *l, const gw_ledger_mark *m, mn_diag *d)
{
    char slot[S_SLOT];
    uint64_t seq = l->seq + 1;
    s_slot_format(m, seq, slot);
    if (pwrite(l->fd, slot, S_SLOT, (off_t)(seq % 2) * S_SLOT) != S_SLOT)
        return mn_diag_sys(d, l->path, "cannot write the registration ledger");
    l->seq = seq;
    l->dirty = 1;
    return MN_OK;
}

int gw_ledger_open(const char *path, const gw_ledger_mark *mark, gw_ledger **out, mn_diag *d)
{
    char both[2 * S_SLOT];
    gw_ledger_mark old;
    uint64_t seq = 0;
    *out = NULL;
    if (strlen(path) >= S_PATH_MAX)
        return mn_diag_set(d, MN_EINVAL, path, "the ledger's path is too long");
    if (s_read(path, &old, &seq, NULL) != MN_OK)
        seq = 0;
    /* Both slots the same mark, each at the place of its sequence number (s_write_slot
     * overwrites the older one): whichever survives says it. */
    s_slot_format(mark, seq + 1, both + ((seq + 1) % 2) * S_SLOT);
    s_slot_format(mark, seq + 2, both + ((seq + 2) % 2) * S_SLOT);
    int rc = mn_file_write_atomic(path, both, sizeof both, 0600, d);
    if (rc != MN_OK)
        return rc;
    gw_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return mn_diag_set(d, MN_ENOMEM, path, "out of memory");
    l->fd = open(path, O_RDWR | O_CLOEXEC);
    if (l->fd < 0) {
        rc = mn_diag_sys(d, path, "cannot open the registration ledger");
        free(l);
        return rc;
    }
    pthread_mutex_init(&l->lock, NULL);
    l->mark = *mark;
    l->seq = seq + 2;
    snprintf(l->path, sizeof l->path, "%s", path);
    *out = l;
    return MN_OK;
}

int gw_ledger_note(gw_ledger *l, uint64_t issued, mn_diag *d)
{
    int rc = MN_OK;
    pthread_mutex_lock(&l->lock);
    if (issued > l->mark.issued) {
        gw_ledger_mark m = l->mark;
        m.issued = issued;
        rc = s_write_slot(l, &m, d);
        if (rc == MN_OK)
            l->mark = m;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int gw_ledger_sync(gw_ledger *l, mn_diag *d)
{
    int rc = MN_OK;
    pthread_mutex_lock(&l->lock);
    if (l->dirty) {
        if (fdatasync(l->fd) == 0)
            l->dirty = 0;
        else
            rc = mn_diag_sys(d, l->path, "cannot write the registration ledger to disk");
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

uint64_t gw_ledger_issued(gw_ledger *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t v = l->mark.issued;
    pthread_mutex_unlock(&l->lock);
    return v;
}

void gw_ledger_close(gw_ledger **l_p)
{
    if (!l_p || !*l_p)
        return;
    gw_ledger *l = *l_p;
    (void)fdatasync(l->fd);
    close(l->fd);
    pthread_mutex_destroy(&l->lock);
    free(l);
    *l_p = NULL;
}
