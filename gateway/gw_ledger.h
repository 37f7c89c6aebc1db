/* gw_ledger.h - the registration ledger: which store the gateway numbers with, and the highest
 * registration number it has given, kept in a small file outside the store.
 *
 * Partners deduplicate by registration number. A store that is lost, emptied or restored from
 * an older copy would number from an earlier point again, and partners would acknowledge the
 * new reports as duplicates and never write them. The ledger remembers what the store alone
 * cannot: at start the gateway compares it with the store (gw_ledger_check) and refuses to
 * serve from a store that is missing, empty, another one, or behind what it has acknowledged.
 * `meldnetctl store continue` (go on with the store that is there) and `meldnetctl store new`
 * (start an empty one) set things right, numbering after the ledger's mark either way.
 *
 * The file (0600) has two slots of one text line each, written in turn; each line carries a
 * sequence number and a checksum, and the reader takes the valid slot with the higher sequence,
 * so a write torn by a power cut leaves the other slot readable:
 *
 *   meldnet-ledger 1 store=<32 hex> issued=<n> seq=<n> check=<16 hex>
 *
 * Writes. gw_ledger_open writes the mark durably (fsync, and of the folder). Afterwards
 * gw_ledger_note writes each new mark without waiting for the disk (the gateway calls it after
 * a batch is committed, before its receipts go out) and gw_ledger_sync (once a second, and at
 * close) makes it durable: a killed process loses nothing (the kernel has the write), a power
 * cut may lose the last second, after which the store is ahead of the ledger, which is fine.
 *
 * Caveats: restoring the ledger together with the store from the same old backup hides the
 * gap from the gateway; partners then see a number again with another registration time and
 * keep both (PROTOCOL.md 13.7). Back up the store, never restore the ledger.
 */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H

#include <stdint.h>

#include "gw_store.h"
#include "mn_error.h"

typedef struct gw_ledger gw_ledger;

/* What the ledger says: the store's identity and the highest number given (0: none yet). */
typedef struct gw_ledger_mark {
    uint8_t store_id[GW_STORE_ID_BYTES];
    uint64_t issued;
} gw_ledger_mark;

/* Read the ledger at path. Returns MN_OK (filled), MN_ENOTFOUND (no file: diag untouched),
 * MN_ESTORE (damaged: neither slot is valid), MN_ESYS. */
MN_NODISCARD int gw_ledger_read(const char *path, gw_ledger_mark *out, mn_diag *d);

/* Is the store in data_dir missing or empty (no data.mdb, or one of 0 bytes)? Such a store
 * would be created anew by opening it. */
int gw_ledger_store_is_absent(const char *data_dir);

/* Decide whether the gateway may number with `store` given the ledger (has_mark 0: there is
 * none). MN_OK, or MN_ESTORE with a diag that says what happened and which meldnetctl command
 * sets it right (home: for the hint). `absent`: the store was missing or empty before it was
 * opened. */
MN_NODISCARD int gw_ledger_check(const char *ledger_path, const char *home, int has_mark,
                                 const gw_ledger_mark *mark, int absent,
                                 const gw_store_ident *store, mn_diag *d);

/* What the ledger and the store say, read without writing anything. */
typedef struct gw_ledger_view {
    int has_mark; /* the ledger exists (else: mark is zero) */
    gw_ledger_mark mark;
    int absent;           /* no store, or an empty data.mdb */
    gw_store_ident store; /* when !absent (an older store without identity: the ledger's) */
} gw_ledger_view;

/* Fill *v from the ledger at ledger_path and the store in data_dir (opened read-only).
 * Returns MN_OK, or as gw_ledger_read / gw_store_open (diag filled). */
MN_NODISCARD int gw_ledger_inspect(const char *ledger_path, const char *data_dir, gw_ledger_view *v,
                                   mn_diag *d);

/* Create or open the ledger at path and write `mark` durably. Caller owns *out.
 * Returns MN_OK, MN_ESYS, MN_ENOMEM. */
MN_NODISCARD int gw_ledger_open(const char *path, const gw_ledger_mark *mark, gw_ledger **out,
                                mn_diag *d);

/* Note that numbers up to `issued` are given (ignored unless higher than the mark). Written at
 * once, made durable by gw_ledger_sync. Any thread. Returns MN_OK or MN_ESYS (the write failed:
 * the gateway logs it; the next note or sync tries again). */
MN_NODISCARD int gw_ledger_note(gw_ledger *l, uint64_t issued, mn_diag *d);

/* Make the noted mark durable (nothing to do when it is). Any thread. MN_OK or MN_ESYS. */
MN_NODISCARD int gw_ledger_sync(gw_ledger *l, mn_diag *d);

/* The mark as last noted. */
uint64_t gw_ledger_issued(gw_ledger *l);

/* Sync, close, free. NULL-safe; sets *l_p to NULL. */
void gw_ledger_close(gw_ledger **l_p);

/* "0123…" (32 hex digits) of a store identity into buf (>= 33 bytes). */
void gw_ledger_id_text(const uint8_t id[GW_STORE_ID_BYTES], char *buf);

#endif
