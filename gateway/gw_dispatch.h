/* gw_dispatch.h - what one registration writes: the registry record, one sealed and signed
 * queue item per bound partner, and unrouted entries for topics nobody is bound to. Built
 * outside the transaction (gw_dispatch_prepare, on the workers, in parallel) and written inside
 * it (gw_dispatch_store, on the writer).
 *
 * Invariant: a report is registered and routed in the same LMDB write transaction, so there is
 * no moment at which it is registered but not queued for a partner its rules name.
 */
#ifndef GW_DISPATCH_H
#define GW_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_store.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_record.h"
#include "mn_report.h"

/* One ephemeral key per recipient for a whole batch (mn_box_sealer): the writer makes one set
 * per transaction and destroys it (wiping the keys) after the commit. */
typedef struct gw_dispatch_sealers gw_dispatch_sealers;

/* Caller owns *out. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_dispatch_sealers_new(gw_dispatch_sealers **out);
void gw_dispatch_sealers_destroy(gw_dispatch_sealers **s_p);

/* What dispatch works with; all borrowed. */
typedef struct gw_dispatch_deps {
    const gw_config *cfg;         /* rules and partners */
    const mn_key *gateway;        /* signs deliveries */
    const mn_pubkey *registry;    /* registry records are sealed to registry->box */
    const uint8_t *pseudonym_key; /* 32 bytes: master key of the victim pseudonyms */
    gw_dispatch_sealers *sealers; /* this batch's; NULL: a fresh ephemeral key per box */
} gw_dispatch_deps;

typedef struct gw_dispatch_result {
    size_t items;    /* queue items written */
    size_t unrouted; /* unrouted entries written */
    int acute;       /* some item went to the acute lane */
} gw_dispatch_result;

/* Everything of one registration that needs no transaction, built ahead (on the workers, in
 * parallel): the sealed registry record, each partner's sealed and signed item, unrouted notes. */
typedef struct gw_dispatch_prepared {
    uint8_t *record; /* registry record, sealed to the registry */
    size_t record_len;
    gw_queue_item *items; /* one per bound partner; tag and enqueued_ms set when stored */
    size_t n_items;
    gw_unrouted *unrouted; /* topics nobody is bound to ("" when no rule matched) */
    size_t n_unrouted;
    /* An acute report whose acute rule (a rule asking acute = true) emitted a topic nobody is
     * bound to: the alarm the writer raises once the registration is committed. */
    int acute_unrouted;
    char acute_topics[256]; /* those topics, comma-joined (cut short when they do not fit) */
    char acute_rules[256];  /* the rules that emitted them, comma-joined */
} gw_dispatch_prepared;

/* Build p for report r registered as info (deps->cfg must not change meanwhile): the registry
 * record (pseudonymised without register_identity consent) and every bound partner's item. Caller clears
 * p with gw_dispatch_prepared_clear whatever the result. Returns MN_OK, MN_ENOMEM, MN_ECRYPTO,
 * MN_EDECODE (diag filled). */
MN_NODISCARD int gw_dispatch_prepare(const gw_dispatch_deps *deps, const mn_report *r,
                                     const mn_record_info *info, gw_dispatch_prepared *p,
                                     mn_diag *d);

/* Write p inside txn: the registration under envelope id and digest, the items, the unrouted
 * notes. Returns MN_OK or MN_ESTORE (diag filled). */
MN_NODISCARD int gw_dispatch_store(gw_store_txn *txn, const mn_record_info *info,
                                   const uint8_t digest[32], gw_dispatch_prepared *p,
                                   gw_dispatch_result *res, mn_diag *d);

/* Free what p holds. NULL-safe; twice is harmless. */
void gw_dispatch_prepared_clear(gw_dispatch_prepared *p);

/* Route an unrouted topic again (after the operator bound a partner to it): queue items for
 * the partners now bound to `topic` and remove the unrouted entry. r is the registry's copy.
 * Returns MN_OK, MN_ENOTFOUND (no partner is bound to it yet), MN_ENOMEM, MN_ECRYPTO,
 * MN_ESTORE (diag filled). */
MN_NODISCARD int gw_dispatch_reroute(gw_store_txn *txn, const gw_dispatch_deps *deps,
                                     const mn_report *r, uint64_t registration,
                                     uint64_t accepted_ms, const char *topic,
                                     gw_dispatch_result *res, mn_diag *d);

#endif
