/* gw_ingest.h - the ingest socket: receive envelopes, verify, register, acknowledge.
 *
 * One ROUTER socket (CURVE server, ZAP enforced) on the configured endpoint. gw_ingest_poll()
 * waits for frames, then handles one batch: every frame read without waiting (up to batch_max)
 * is checked (size, parse, agent = ZAP User-Id, signature, open, validate); refusals are
 * answered at once with a Reject; the valid ones are registered in ONE write transaction
 * (dedup by envelope id and by keyed content digest, registration number, then gw_dispatch:
 * registry record sealed to the registry key, one sealed item per bound partner) and their
 * signed Receipts are sent only after that transaction has committed (fsync). If the commit
 * fails, each gets a retryable STORE_FAILED reject.
 *
 * Flow control: an agent over its rate (a token bucket) gets a retryable RATE_LIMITED reject
 * before its signature is checked, so a flood costs little; when the data folder's free space
 * is under the floor, every new envelope gets a retryable OVERLOADED reject.
 *
 * Invariant: a Receipt leaves the gateway only for a registration that is on disk. A crash at
 * any point therefore loses only unacknowledged envelopes, which the agents send again.
 */
#ifndef GW_INGEST_H
#define GW_INGEST_H

#include <stddef.h>

#include "gw_config.h"
#include "gw_dispatch.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_error.h"
#include "mn_key.h"

typedef struct gw_ingest gw_ingest;

/* What ingest works with; all borrowed and must outlive the gw_ingest. */
typedef struct gw_ingest_deps {
    const mn_key *gateway;          /* CURVE server key, envelope box key, receipt signing key */
    const mn_secret32 *digest_key;  /* keyed content digest */
    gw_dispatch_deps dispatch;      /* registry record and partner items */
    gw_store *store;
    gw_stats *stats;
    size_t max_frame_bytes;
    unsigned batch_max;
    unsigned agent_rate_per_s;  /* token bucket per agent; 0: no limit */
    unsigned agent_burst;
    unsigned min_free_mb;       /* below this free space in data_dir: OVERLOADED; 0: no check */
    const char *data_dir;
    /* Called after a batch that queued partner items has committed (may be NULL). */
    void (*on_queued)(void *arg);
    void *on_queued_arg;
} gw_ingest_deps;

/* Create the socket and bind `listen`. The ZAP handler must already run on zmq_ctx.
 * Caller owns *out. Returns MN_OK, MN_EZMQ (with the endpoint in the diag), MN_ENOMEM. */
MN_NODISCARD int gw_ingest_new(void *zmq_ctx, const char *listen, const gw_ingest_deps *deps,
                               gw_ingest **out, mn_diag *d);

/* Replace the agent table used to check signatures (a copy). Call from the thread that polls.
 * Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_ingest_set_agents(gw_ingest *ing, const gw_agent *agents, size_t n);

/* The socket, for the caller's zmq_poll. */
void *gw_ingest_socket(gw_ingest *ing);

/* Handle one batch of what is waiting on the socket (non-blocking). Returns MN_OK. */
MN_NODISCARD int gw_ingest_handle(gw_ingest *ing);

/* Close the socket and free. NULL-safe; twice is harmless. */
void gw_ingest_destroy(gw_ingest **ing_p);

#endif
