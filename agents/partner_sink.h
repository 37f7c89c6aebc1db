/* partner_sink.h - where meldnet-partner puts a referral: a file per registration in a folder
 * (--out), or a command that gets the JSON on stdin (--exec); idempotent by registration.
 *
 * --out DIR: the referral JSON goes to DIR/MN-00000042.json (mode 0600; temp file ".MN-...tmp-*",
 *   fsync, rename, fsync of DIR), then the registration's marker is written (partner_state.h).
 *   A registration with a marker, or whose file exists, is a duplicate: acknowledged, nothing
 *   written. Whoever takes files out of DIR may move them away: the marker still stops a second
 *   copy.
 * --exec CMD: `/bin/sh -c CMD` runs with the JSON on stdin and, in its environment,
 *   MELDNET_REGISTRATION (MN-00000042), MELDNET_TOPICS (comma-joined), MELDNET_ATTEMPT,
 *   MELDNET_ACUTE (1 or 0) and MELDNET_PARTNER (this partner's name); stdout and stderr are
 *   listen's. Exit status 0: the marker is written, then the delivery is acknowledged. Exit 75
 *   (EX_TEMPFAIL: "try again later"), or a command that cannot be started: deferred. Any other
 *   status, a signal, or running longer than the timeout (SIGTERM, then SIGKILL after 5 s):
 *   refused with a reason ("command exited 3"), so the gateway sends it again later.
 * Deferred vs refused: a write of the --out file that fails (disk full, a file size limit, an I/O
 *   error) is deferred, not refused: the referral is fine, the partner's storage is not, and it
 *   passes by itself. The gateway retries a deferred item for hours (a transient nack) and holds
 *   a refused one after a few nacks.
 *   A registration with a marker is a duplicate: acknowledged, the command is not run.
 *
 * Caveats: after a crash between a command's exit 0 and its marker, the command runs once more
 * for that registration: commands must be idempotent by MELDNET_REGISTRATION (the gateway's
 * delivery is at least once anyway). The JSON holds the referral in clear: DIR and whatever CMD
 * writes must be protected like the partner's other case files.
 */
#ifndef PARTNER_SINK_H
#define PARTNER_SINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_delivery.h"
#include "mn_error.h"
#include "partner_state.h"

#define PARTNER_EXEC_TIMEOUT_DEFAULT_S 300
#define PARTNER_FILE_NAME_MAX 64 /* "MN-" + 20 digits + "-" + 20 digits + ".json" + NUL */

typedef enum { PARTNER_SINK_OUT = 1, PARTNER_SINK_EXEC = 2 } partner_sink_mode;

typedef struct partner_sink_config {
    partner_sink_mode mode;
    const char *out_dir;         /* OUT: copied; made (0700) when missing */
    const char *command;         /* EXEC: copied */
    const char *partner;         /* this partner's name, for MELDNET_PARTNER; copied */
    unsigned exec_timeout_s;     /* EXEC: 0 means PARTNER_EXEC_TIMEOUT_DEFAULT_S */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop a running command;
                                          may be NULL; borrowed */
} partner_sink_config;

typedef struct partner_sink partner_sink;

/* What the sink is given besides the JSON: the signed, checked facts of the delivery. */
typedef struct partner_sink_item {
    uint64_t registration;
    uint64_t accepted_ms;    /* when the gateway registered it (the referral says); 0: unknown */
    const mn_topics *topics; /* borrowed */
    uint32_t attempt;
    int acute;
} partner_sink_item;

typedef enum {
    PARTNER_SINK_STORED = 1,  /* written, or the command exited 0: acknowledge */
    PARTNER_SINK_DUPLICATE,   /* delivered before: acknowledge, nothing done */
    PARTNER_SINK_REFUSED,     /* not stored; the reason says why: nack */
    PARTNER_SINK_INTERRUPTED, /* stopped by a signal while the command ran: neither (the gateway
                                 sends it again) */
    PARTNER_SINK_DEFERRED,    /* not stored, because this side's storage cannot take it now
                                 (disk full, exit 75); the reason says why: transient nack */
} partner_sink_outcome;

/* "stored", "duplicate", "refused", "interrupted", "deferred". */
const char *partner_sink_outcome_name(partner_sink_outcome o);

/* Make a sink. state is borrowed and must outlive it. OUT: the folder is made when missing and
 * must be a writable folder. Caller owns *out. Returns MN_OK, MN_EINVAL, MN_ESYS (hint: what to
 * fix), MN_ENOMEM. */
MN_NODISCARD int partner_sink_new(const partner_sink_config *cfg, partner_state *state,
                                  partner_sink **out, mn_diag *d);

/* NULL-safe; twice is harmless. */
void partner_sink_destroy(partner_sink **sink_p);

/* "MN-00000042.json" into buf (at least PARTNER_FILE_NAME_MAX bytes). */
void partner_sink_file_name(uint64_t registration, char *buf, size_t cap);

/* True when the registration was delivered before (its marker, or in OUT mode its file). */
int partner_sink_has(const partner_sink *sink, uint64_t registration);

/* Store one referral (json: len bytes, the referral in clear; borrowed, not kept). Writes the
 * marker after a successful store; records a refusal (or deferral) in the state. On REFUSED and
 * DEFERRED, reason (cap bytes) says why, for the nack and the log: never content. Never fails
 * otherwise. */
partner_sink_outcome partner_sink_put(partner_sink *sink, const partner_sink_item *it,
                                      const char *json, size_t len, char *reason, size_t cap);

/* Record a refusal decided before the sink (a delivery that does not verify or open). */
void partner_sink_note_refusal(partner_sink *sink, const partner_sink_item *it, const char *reason);

#endif
