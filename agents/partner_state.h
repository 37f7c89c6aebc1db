/* partner_state.h - what meldnet-partner has delivered: one marker per registration, and the
 * last delivery and the last refusal, as small files in the state folder.
 *
 *   STATE/delivered/MN-00000042   marker of a delivered registration
 *   STATE/delivered/MN-00000042-1733580000123
 *                                 marker of another registration that got number 42 again
 *                                 (registered at that ms: a replaced gateway store)
 *   STATE/last-delivery           the latest delivery
 *   STATE/last-refusal            the latest delivery that was refused (nacked), and why
 *
 * Each is a short text file of key=value lines (registration, at_ms, attempt, via, topics,
 * reason), written crash-safely (temp file, fsync, rename, fsync of the folder), mode 0600. They
 * hold registration numbers, topic names and times: never referral content.
 *
 * A marker is the idempotency record: a registration with a marker is acknowledged again without
 * being written or run again, so a redelivery never produces a second output. A registration is
 * its number and the time the gateway registered it (accepted_ms, in the marker): a number that
 * comes again with another time is another report, never taken for a duplicate. A marker is
 * written only after the output is durable (or the command exited 0), so a crash between the two
 * means at most one more write or run, never a lost referral.
 *
 * Caveats: the folder grows by one small file per registration; `status` counts them by reading
 * the folder. Removing a marker makes its registration deliverable once more, should the gateway
 * send it again.
 */
#ifndef PARTNER_STATE_H
#define PARTNER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

#define PARTNER_STATE_TOPICS_MAX 1100 /* comma-joined topics */
#define PARTNER_STATE_REASON_MAX 256

typedef struct partner_state partner_state;

/* One delivery or refusal, as recorded. */
typedef struct partner_state_entry {
    uint64_t registration;
    uint64_t accepted_ms;                  /* when the gateway registered it; 0: not known */
    uint64_t variant;                      /* 0, or accepted_ms of a number given again */
    uint64_t at_ms;                        /* ms since the Unix epoch */
    uint32_t attempt;                      /* the gateway's attempt number */
    char via[8];                           /* "out" or "exec" */
    char topics[PARTNER_STATE_TOPICS_MAX]; /* comma-joined */
    char reason[PARTNER_STATE_REASON_MAX]; /* refusals only */
} partner_state_entry;

typedef struct partner_state_summary {
    uint64_t delivered; /* markers */
    int has_last;
    partner_state_entry last;
    int has_refusal;
    partner_state_entry refusal;
} partner_state_summary;

/* Open the state folder `dir`; create = 1 makes it (and delivered/) with mode 0700 when
 * missing. Caller owns *out. Returns MN_OK, MN_ESYS (cannot create or read it), MN_ENOMEM,
 * MN_EINVAL (path too long). */
MN_NODISCARD int partner_state_open(const char *dir, int create, partner_state **out, mn_diag *d);

/* NULL-safe; twice is harmless. */
void partner_state_destroy(partner_state **st_p);

/* True when the registration has a marker. */
int partner_state_has(const partner_state *st, uint64_t registration);

/* True when (registration, variant) has a marker; *accepted_ms (may be NULL) gets the time in it
 * (0 for a marker written before markers kept it). */
int partner_state_find(const partner_state *st, uint64_t registration, uint64_t variant,
                       uint64_t *accepted_ms);

/* Write the marker of e->registration (and e->variant) and make e the last delivery (both
 * crash-safe).
 * Returns MN_OK, MN_ESYS, MN_EINVAL. */
MN_NODISCARD int partner_state_mark(partner_state *st, const partner_state_entry *e, mn_diag *d);

/* Record e as the last refusal. Returns MN_OK, MN_ESYS. */
MN_NODISCARD int partner_state_note_refusal(partner_state *st, const partner_state_entry *e,
                                            mn_diag *d);

/* Count the markers and read the last delivery and refusal. Returns MN_OK, MN_ESYS. */
MN_NODISCARD int partner_state_summarize(const partner_state *st, partner_state_summary *out,
                                         mn_diag *d);

/* Take the folder's lock (STATE/listen.lock, flock), held until destroy, so that one listen
 * runs per home: two sessions of one partner would end each other's subscription. Returns
 * MN_OK, MN_EEXIST (another process holds it; the diag names its pid when known), MN_ESYS. */
MN_NODISCARD int partner_state_lock(partner_state *st, mn_diag *d);

/* The folder, borrowed. */
const char *partner_state_dir(const partner_state *st);

#endif
