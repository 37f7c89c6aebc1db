/* mn_lmdbcheck.h - check an LMDB data file before it is mapped, so damage is an error, not a crash.
 *
 * LMDB maps data.mdb and trusts it: a file cut short gives SIGBUS when a page past its end is
 * read, a page of zeros where a B-tree page should be gives MDB_CORRUPTED at best and an
 * assertion (abort) at worst, and mdb_env_open on a file of 0 bytes quietly makes a new, empty
 * environment. The gateway store (gw_store) and the agent spool (agent_spool) call
 * mn_lmdbcheck_file before mdb_env_open; it only reads the file (pread, no mmap, no lock) and
 * never writes.
 *
 * What it checks, against LMDB's on-disk format (liblmdb 0.9.x, MDB_DATA_VERSION 1, which is
 * native-endian):
 * - both meta pages (pages 0 and 1): page flags P_META, magic 0xBEEFC0DE, version 1, a page
 *   size that is a power of two from 512 to 64 KiB, the same in both; the meta LMDB would use
 *   is the one with the higher txnid;
 * - the file holds both meta pages. It may end before mm_last_pg: LMDB never writes a page
 *   that a transaction took and freed again (a loose page) and never reads it, so a file one
 *   or more pages short of mm_last_pg is sound (seen: a spool written by `run` while `submit`
 *   checked it). A cut through a page the trees refer to is found by the walk;
 * - the roots of the free-page and main databases lie in 2..mm_last_pg and each is a page whose
 *   header names that page number and that is a branch or leaf page;
 * - then, breadth-first from those roots and from the root of every named database found in
 *   the main database, the headers of up to MN_LMDBCHECK_PAGE_BUDGET pages (page number,
 *   kind, node offsets inside the page, child and overflow page numbers <= mm_last_pg).
 *
 * A store another process writes meanwhile (meldnetctl while the gateway runs) is read without
 * LMDB's reader lock, so the pages of the snapshot being walked may be reused by its second
 * commit after that snapshot: a walk that fails while the newest txnid moved is repeated, and
 * after a few such tries only the meta pages and the size count (info->complete is 0). A walk
 * that fails while nothing was committed is damage.
 *
 * Caveats: the walk is bounded, so a store larger than the budget (the gateway's store can be
 * gigabytes; the budget covers the top levels of every tree, and all of a small agent spool) can
 * still hold a damaged page further down, and a page with a correct header can hold damaged
 * records. LMDB then returns MDB_CORRUPTED or MDB_PAGE_NOTFOUND when that page is read (the
 * callers report MN_ESTORE), and for some damage it still asserts. Page contents (keys and
 * values) are not checked: that is the callers' decoding. A file damaged while a program has it
 * mapped is not caught here. Only what LMDB 0.9 writes with MDB_DATA_VERSION 1 is accepted.
 */
#ifndef MN_LMDBCHECK_H
#define MN_LMDBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

/* Pages whose headers the walk reads at most (4096 pages: 16 MiB of 4 KiB pages read once). */
#define MN_LMDBCHECK_PAGE_BUDGET 4096

/* What the check found, for logs and tests. */
typedef struct mn_lmdbcheck_info {
    uint64_t file_bytes;   /* size of the data file */
    uint32_t page_bytes;   /* page size recorded in the meta pages */
    uint64_t last_page;    /* mm_last_pg of the meta in use */
    uint64_t txnid;        /* its transaction id */
    uint64_t pages_walked; /* page headers the walk checked */
    int complete;          /* 1: the walk reached every page of every tree within the budget */
} mn_lmdbcheck_info;

/* Check the LMDB data file `path` (a data.mdb) before it is opened. `what` names it for a
 * person ("store", "spool") in the diag. info may be NULL.
 * Returns MN_OK; MN_ENOTFOUND when the file does not exist (diag untouched: the caller knows
 * whether one should be there); MN_ESTORE when it is empty, not a regular file, not an LMDB
 * file, cut short or damaged (the diag says which and where, with a hint to restore it from
 * backup and keep the damaged copy); MN_ESYS when it cannot be read; MN_ENOMEM. */
MN_NODISCARD int mn_lmdbcheck_file(const char *path, const char *what, mn_lmdbcheck_info *info,
                                   mn_diag *d);

/* mn_lmdbcheck_file with another bound: read at most max_pages page headers in the walk, and at
 * most as many overflow page headers (0 counts as 1). For tests and tools. */
MN_NODISCARD int mn_lmdbcheck_file_bounded(const char *path, const char *what, size_t max_pages,
                                           mn_lmdbcheck_info *info, mn_diag *d);

#endif
