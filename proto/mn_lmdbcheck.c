/* mn_lmdbcheck.c - check an LMDB data file before it is mapped (what and why in mn_lmdbcheck.h).
 *
 * The layout read here is LMDB 0.9's (mdb.c, MDB_DATA_VERSION 1) on a 64-bit host: a page
 * starts with a 16-byte header (u64 pgno, u16 pad, u16 flags, u16 lower, u16 upper; for an
 * overflow page lower+upper are one u32 page count), then u16 node offsets. A meta page holds,
 * after its header: u32 magic, u32 version, u64 address, u64 map size, two 48-byte database
 * records (u32 pad = page size in the first, u16 flags, u16 depth, u64 branch, leaf and
 * overflow page counts, u64 entries, u64 root), u64 last page, u64 txnid. A node is u16 lo,
 * u16 hi, u16 flags, u16 key size, the key, then (leaf) the data: lo|hi<<16 is the data size,
 * or (branch) lo|hi<<16|flags<<32 is the child page. Fields are read with memcpy at their
 * offsets, never through structs, so nothing depends on this compiler's padding.
 */
#include "mn_lmdbcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAGIC 0xBEEFC0DEu
#define S_VERSION 1u
#define S_PAGEHDR 16
#define S_META_MAGIC (S_PAGEHDR + 0)
#define S_META_VERSION (S_PAGEHDR + 4)
#define S_META_DBS (S_PAGEHDR + 24)
#define S_DB_BYTES 48
#define S_DB_ROOT 40
#define S_META_LAST_PG (S_META_DBS + 2 * S_DB_BYTES)
#define S_META_TXNID (S_META_LAST_PG + 8)
#define S_META_BYTES (S_META_TXNID + 8)
#define S_NODE_HDR 8
#define S_P_INVALID UINT64_MAX
#define S_NUM_METAS 2
#define S_TRIES 5 /* walks of a store that another process writes meanwhile */

/* page flags */
#define S_P_BRANCH 0x01u
#define S_P_LEAF 0x02u
#define S_P_OVERFLOW 0x04u
#define S_P_META 0x08u
#define S_P_LEAF2 0x20u
/* node flags */
#define S_F_BIGDATA 0x01u
#define S_F_SUBDATA 0x02u
#define S_F_DUPDATA 0x04u

typedef struct s_check {
    int fd;
    const char *path;
    const char *what;
    uint64_t size;
    uint32_t psize;
    uint64_t last;
    uint8_t *page;
    uint32_t page_cap; /* bytes allocated at page: a retry may read another page size */
    uint64_t *todo;    /* pages still to visit: a FIFO of at most budget */
    size_t head, tail;
    uint64_t walked;
    size_t budget;  /* page headers to read at most */
    int overflowed; /* a page was not queued because the budget was spent */
    mn_diag *d;
} s_check;

static uint16_t s_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t s_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t s_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The file is damaged: say what and where, and what to do. */
static int s_damaged(s_check *c, const char *fmt, ...) MN_PRINTF(2, 3);
static int s_damaged(s_check *c, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rc = mn_diag_set(c->d, MN_ESTORE, c->path, "the %s file is damaged: %s", c->what, what);
    mn_diag_hint(c->d,
                 "restore the %s from a backup; keep the damaged copy (move the directory "
                 "aside, do not delete it) so nothing in it is lost for good",
                 c->what);
    return rc;
}

/* Read len bytes at off; a short read means the file ends there. */
static int s_read(s_check *c, uint64_t off, uint8_t *buf, size_t len, const char *doing)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(c->fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mn_diag_sys(c->d, c->path, "cannot read the %s file (%s)", c->what, doing);
        if (n == 0)
            return s_damaged(c, "it ends at byte %llu, inside %s", (unsigned long long)(off + got),
                             doing);
        got += (size_t)n;
    }
    return MN_OK;
}

/* --- meta pages --------------------------------------------------------------------------- */

static int s_read_meta(s_check *c, int i, uint64_t off, uint8_t meta[S_META_BYTES])
{
    char doing[32];
    snprintf(doing, sizeof doing, "meta page %d", i);
    int rc = s_read(c, off, meta, S_META_BYTES, doing);
    if (rc != MN_OK)
        return rc;
    if (!(s_u16(meta + 10) & S_P_META) || s_u32(meta + S_META_MAGIC) != S_MAGIC)
        return s_damaged(c, "meta page %d is not an LMDB meta page (zeroed or overwritten)", i);
    if (s_u32(meta + S_META_VERSION) != S_VERSION) {
        int r = mn_diag_set(c->d, MN_EVERSION, c->path,
                            "the %s file has LMDB data version %u; this program reads version %u",
                            c->what, (unsigned)s_u32(meta + S_META_VERSION), S_VERSION);
        mn_diag_hint(c->d,
                     "open it with the meldnet version that wrote it, or restore the %s "
                     "from a backup",
                     c->what);
        return r;
    }
    return MN_OK;
}

static int s_psize_ok(uint32_t p)
{
    return p >= 512 && p <= 65536 && (p & (p - 1)) == 0;
}

/* --- the walk ----------------------------------------------------------------------------- */

static int s_queue(s_check *c, uint64_t pgno)
{
    if (pgno < S_NUM_METAS || pgno > c->last)
        return s_damaged(c, "a page number %llu lies outside the file's pages 2..%llu",
                         (unsigned long long)pgno, (unsigned long long)c->last);
    if (c->tail >= c->budget) {
        c->overflowed = 1;
        return MN_OK;
    }
    c->todo[c->tail++] = pgno;
    return MN_OK;
}

/* A database record (48 bytes): queue its root unless the database is empty. */
static int s_queue_db(s_check *c, const uint8_t *db)
{
    uint64_t root = s_u64(db + S_DB_ROOT);
    return root == S_P_INVALID ? MN_OK : s_queue(c, root);
}

static int s_check_overflow(s_check *c, uint64_t pgno, uint64_t dsize)
{
    uint8_t hdr[S_PAGEHDR];
    if (pgno < S_NUM_METAS || pgno > c->last)
        return s_damaged(c, "a record points at page %llu, outside pages 2..%llu",
                         (unsigned long long)pgno, (unsigned long long)c->last);
    if (c->walked >= c->budget) {
        c->overflowed = 1; /* the budget is spent: a big store is only checked near its roots */
        return MN_OK;
    }
    int rc = s_read(c, pgno * c->psize, hdr, sizeof hdr, "an overflow page");
    if (rc != MN_OK)
        return rc;
    uint64_t n = s_u32(hdr + 12);
    c->walked++;
    if (s_u64(hdr) != pgno || !(s_u16(hdr + 10) & S_P_OVERFLOW) || n == 0 ||
        n > c->last - pgno + 1 || n * c->psize < dsize + S_PAGEHDR)
        return s_damaged(c, "overflow page %llu is damaged (zeroed or overwritten)",
                         (unsigned long long)pgno);
    return MN_OK;
}

/* One branch or leaf page: its header and its nodes; queue its children and sub-databases. */
static int s_check_page(s_check *c, uint64_t pgno)
{
    int rc = s_read(c, pgno * c->psize, c->page, c->psize, "a B-tree page");
    if (rc != MN_OK)
        return rc;
    c->walked++;
    const uint8_t *p = c->page;
    unsigned flags = s_u16(p + 10);
    unsigned lower = s_u16(p + 12), upper = s_u16(p + 14);
    int branch = (flags & S_P_BRANCH) != 0, leaf = (flags & S_P_LEAF) != 0;
    if (s_u64(p) != pgno || branch == leaf || (flags & (S_P_OVERFLOW | S_P_META)))
        return s_damaged(c,
                         "page %llu is not the B-tree page it should be (zeroed or "
                         "overwritten)",
                         (unsigned long long)pgno);
    if (flags & S_P_LEAF2)
        return MN_OK; /* fixed-size duplicates: no nodes (meldnet does not use them) */
    if (lower < S_PAGEHDR || lower > upper || upper > c->psize || (lower - S_PAGEHDR) % 2)
        return s_damaged(c, "page %llu has a damaged header (lower %u)", (unsigned long long)pgno,
                         lower);
    unsigned n = (lower - S_PAGEHDR) / 2;
    for (unsigned i = 0; i < n; i++) {
        unsigned off = s_u16(p + S_PAGEHDR + 2 * i);
        if (off < upper || off > c->psize - S_NODE_HDR)
            return s_damaged(c, "page %llu has a record outside the page (record %u)",
                             (unsigned long long)pgno, i);
        const uint8_t *node = p + off;
        uint64_t lohi = (uint64_t)s_u16(node) | (uint64_t)s_u16(node + 2) << 16;
        unsigned nflags = s_u16(node + 4), ksize = s_u16(node + 6);
        uint64_t end = (uint64_t)off + S_NODE_HDR + ksize;
        if (end > c->psize)
            return s_damaged(c, "page %llu has a key past the page's end (record %u)",
                             (unsigned long long)pgno, i);
        if (branch) {
            if ((rc = s_queue(c, lohi | (uint64_t)nflags << 32)) != MN_OK)
                return rc;
            continue;
        }
        const uint8_t *data = node + S_NODE_HDR + ksize;
        if (nflags & S_F_BIGDATA) {
            if (end + 8 > c->psize)
                return s_damaged(c, "page %llu has a damaged record (%u)", (unsigned long long)pgno,
                                 i);
            if ((rc = s_check_overflow(c, s_u64(data), lohi)) != MN_OK)
                return rc;
            continue;
        }
        if (end + lohi > c->psize)
            return s_damaged(c, "page %llu has a value past the page's end (record %u)",
                             (unsigned long long)pgno, i);
        if ((nflags & S_F_SUBDATA) && lohi >= S_DB_BYTES && (rc = s_queue_db(c, data)) != MN_OK)
            return rc;
    }
    return MN_OK;
}

/* --- the check ---------------------------------------------------------------------------- */

int mn_lmdbcheck_file(const char *path, const char *what, mn_lmdbcheck_info *info, mn_diag *d)
{
    return mn_lmdbcheck_file_bounded(path, what, MN_LMDBCHECK_PAGE_BUDGET, info, d);
}

/* The txnid of the newest meta, or 0 when a meta cannot be read. */
static uint64_t s_newest_txnid(s_check *c)
{
    uint8_t meta[S_META_BYTES];
    uint64_t newest = 0;
    for (int i = 0; i < S_NUM_METAS; i++) {
        if (pread(c->fd, meta, sizeof meta, (off_t)i * c->psize) != (ssize_t)sizeof meta)
            return 0;
        if (s_u64(meta + S_META_TXNID) > newest)
            newest = s_u64(meta + S_META_TXNID);
    }
    return newest;
}

/* One pass: the meta pages, the size, the walk. *txnid: the txnid of the meta it used (0 when
 * it failed before choosing one). */
static int s_check_once(s_check *c, mn_lmdbcheck_info *info, uint64_t *txnid)
{
    uint8_t meta[S_NUM_METAS][S_META_BYTES];
    struct stat st;
    int rc;

    *txnid = 0;
    c->head = c->tail = 0;
    c->walked = 0;
    c->overflowed = 0;
    if (fstat(c->fd, &st) != 0)
        return mn_diag_sys(c->d, c->path, "cannot read the %s file", c->what);
    if (!S_ISREG(st.st_mode))
        return mn_diag_set(c->d, MN_ESTORE, c->path, "the %s file is not a regular file", c->what);
    c->size = (uint64_t)st.st_size;
    if (c->size == 0) {
        rc = mn_diag_set(c->d, MN_ESTORE, c->path,
                         "the %s file is empty (0 bytes): what it "
                         "held is gone",
                         c->what);
        mn_diag_hint(c->d,
                     "restore the %s from a backup; keep the empty file's directory aside "
                     "for analysis",
                     c->what);
        return rc;
    }
    if ((rc = s_read_meta(c, 0, 0, meta[0])) != MN_OK)
        return rc;
    c->psize = s_u32(meta[0] + S_META_DBS); /* the free database's pad holds the page size */
    if (!s_psize_ok(c->psize))
        return s_damaged(c, "meta page 0 records a page size of %u bytes", c->psize);
    if ((rc = s_read_meta(c, 1, c->psize, meta[1])) != MN_OK)
        return rc;
    if (s_u32(meta[1] + S_META_DBS) != c->psize)
        return s_damaged(c, "its meta pages disagree on the page size (%u and %u)", c->psize,
                         s_u32(meta[1] + S_META_DBS));
    /* LMDB uses the meta with the higher txnid (mdb_env_pick_meta). */
    const uint8_t *m =
        s_u64(meta[1] + S_META_TXNID) > s_u64(meta[0] + S_META_TXNID) ? meta[1] : meta[0];
    c->last = s_u64(m + S_META_LAST_PG);
    if (c->last < S_NUM_METAS - 1 || c->last > UINT64_MAX / c->psize - 1)
        return s_damaged(c, "its meta page names last page %llu", (unsigned long long)c->last);
    /* The file may end before the last page the meta names: LMDB does not write a page that a
     * transaction took and freed again (a loose page), and never reads it. What the trees
     * refer to must be there: the walk reads it (a cut through it: "it ends at byte ...").
     * The meta pages must be whole. */
    if (c->size < S_NUM_METAS * (uint64_t)c->psize)
        return s_damaged(c, "it is cut short: %llu bytes, less than its two meta pages",
                         (unsigned long long)c->size);
    *txnid = s_u64(m + S_META_TXNID);
    if (c->page_cap < c->psize) {
        free(c->page);
        c->page_cap = 0;
        if (!(c->page = malloc(c->psize)))
            return mn_diag_set(c->d, MN_ENOMEM, c->path, "out of memory checking the %s file",
                               c->what);
        c->page_cap = c->psize;
    }
    rc = MN_OK;
    for (int i = 0; i < 2 && rc == MN_OK; i++)
        rc = s_queue_db(c, m + S_META_DBS + i * S_DB_BYTES);
    while (rc == MN_OK && c->head < c->tail)
        rc = s_check_page(c, c->todo[c->head++]);
    if (rc == MN_OK && info) {
        info->file_bytes = c->size;
        info->page_bytes = c->psize;
        info->last_page = c->last;
        info->txnid = *txnid;
        info->pages_walked = c->walked;
        info->complete = !c->overflowed;
    }
    return rc;
}

int mn_lmdbcheck_file_bounded(const char *path, const char *what, size_t max_pages,
                              mn_lmdbcheck_info *info, mn_diag *d)
{
    s_check c = {.fd = -1,
                 .path = path,
                 .what = what ? what : "store",
                 .d = d,
                 .budget = max_pages ? max_pages : 1};
    int rc = MN_OK;

    if (info)
        memset(info, 0, sizeof *info);
    c.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (c.fd < 0) {
        if (errno == ENOENT)
            return MN_ENOTFOUND;
        if (errno == ELOOP)
            return mn_diag_set(d, MN_ESTORE, path, "the %s file is a symbolic link", c.what);
        return mn_diag_sys(d, path, "cannot open the %s file", c.what);
    }
    c.todo = c.budget <= SIZE_MAX / sizeof *c.todo ? malloc(c.budget * sizeof *c.todo) : NULL;
    if (!c.todo) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory checking the %s file", c.what);
        goto out;
    }
    /* Another process (the running gateway) may commit while we read: the pages of the
     * snapshot we walk can be reused from its second commit after that snapshot on. A walk
     * that fails while the newest txnid moved is repeated; one that keeps meeting commits is
     * given up (the store is in use and was sound when that program opened it): only the
     * meta pages and the size were checked then. */
    for (int tries = 0;; tries++) {
        uint64_t used = 0;
        rc = s_check_once(&c, info, &used);
        if (rc != MN_ESTORE || used == 0 || s_newest_txnid(&c) == used)
            break;
        if (tries == S_TRIES - 1) {
            mn_diag_clear(d);
            if (info) {
                info->file_bytes = c.size;
                info->page_bytes = c.psize;
                info->last_page = c.last;
                info->txnid = used;
                info->pages_walked = c.walked;
                info->complete = 0;
            }
            rc = MN_OK;
            break;
        }
    }
out:
    free(c.page);
    free(c.todo);
    close(c.fd);
    return rc;
}
