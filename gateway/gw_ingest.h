/* gw_ingest.h - the ingest pipeline: receive, verify on every core, register in group commits,
 * acknowledge after the commit.
 *
 *   receive (caller's thread) ─▶ verify workers (one per core) ─▶ writer (one) ─▶ receive
 *
 * The caller's thread owns the ROUTER socket (CURVE server, ZAP enforced): gw_ingest_handle
 * reads frames and does only the cheap checks (one frame, authenticated agent, per-agent token
 * bucket, free-space floor, room in the pipeline); a refusal is answered at once, anything else
 * goes to the workers (gw_verify: decode, signature, open, validate, digest). The writer takes
 * what has arrived, acute reports first, up to batch_max, and registers it in ONE write
 * transaction (gw_writer); every receipt of the batch is signed after that commit. Replies come
 * back to the caller's thread through a queue whose fd (gw_ingest_reply_fd) the caller polls;
 * gw_ingest_flush sends them.
 *
 * Flow control: at most inflight_max envelopes are between receive and reply, and at most
 * agent_inflight_max of one agent (so a flood cannot make the others wait behind it); beyond
 * that, and below the free-space floor, new envelopes get a retryable OVERLOADED reject, so memory stays
 * bounded whatever the load. An agent over its rate gets a retryable RATE_LIMITED reject before
 * any crypto is spent on it.
 *
 * Invariant: a Receipt leaves the gateway only for a registration that is on disk. A crash at
 * any point therefore loses only unacknowledged envelopes, which the agents send again.
 */
#ifndef GW_INGEST_H
#define GW_INGEST_H

#include <stddef.h>

#include "gw_config.h"
#include "gw_dispatch.h"
#include "gw_ledger.h"
#include "gw_snapshot.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_error.h"
#include "mn_key.h"

typedef struct gw_ingest gw_ingest;

/* What ingest works with; all borrowed and must outlive the gw_ingest. */
typedef struct gw_ingest_deps {
    const mn_key *gateway;         /* CURVE server key, envelope box key, receipt signing key */
    const mn_secret32 *digest_key; /* keyed content digest */
    gw_dispatch_deps dispatch;     /* registry record and partner items */
    gw_store *store;
    gw_ledger *ledger; /* told the highest number of each committed batch */
    gw_stats *stats;
    size_t max_frame_bytes;
    unsigned batch_max;
    unsigned workers;            /* verify threads; 0: one per core */
    unsigned inflight_max;       /* envelopes between receive and reply, at most */
    unsigned agent_inflight_max; /* of those, from one agent; 0: inflight_max */
    unsigned agent_rate_per_s;   /* token bucket per agent; 0: no limit */
    unsigned agent_burst;
    unsigned min_free_mb; /* below this free space in data_dir: OVERLOADED; 0: no check */
    unsigned handshakes_per_address_max; /* gw_conn_set_limits; 0: its default */
    unsigned handshakes_max;
    const char *data_dir;
    /* Called from gw_ingest_flush after a batch that queued partner items (may be NULL). */
    void (*on_queued)(void *arg);
    void *on_queued_arg;
} gw_ingest_deps;

/* Create the socket, bind `listen`, start the worker and writer threads. The ZAP handler must
 * already run on zmq_ctx. Caller owns *out. Returns MN_OK, MN_EZMQ (with the endpoint in the
 * diag), MN_ENOMEM, MN_ESYS (threads). */
MN_NODISCARD int gw_ingest_new(void *zmq_ctx, const char *listen, const gw_ingest_deps *deps,
                               gw_ingest **out, mn_diag *d);

/* Replace the agent table used to check signatures (a copy; revoked agents are kept for their
 * counters but may not submit). Call from the caller's thread; envelopes already received keep
 * the key they arrived under; an agent keeps its rate bucket and counters across a reload.
 * Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_ingest_set_agents(gw_ingest *ing, const gw_agent *agents, size_t n);

/* Fill s->agents (every agent in the table: counters, last seen, connected) and
 * s->connected_agents. Caller's thread; s->agents is left NULL when out of memory. */
void gw_ingest_snapshot(gw_ingest *ing, gw_snapshot *s);

/* Close the open connections of agent `name` (revoked or removed), and every connection that
 * has carried no message yet, as one of them may be its idle one (gw_conn_close_idle).
 * Returns how many. */
size_t gw_ingest_close_agent(gw_ingest *ing, const char *name);

/* The writer and the workers read the configuration's partners and rules (deps.dispatch.cfg)
 * for the whole of each batch. Hold this lock while replacing them (a SIGHUP reload): it waits
 * for the batch in hand, and the next batch waits for the unlock. */
void gw_ingest_config_lock(gw_ingest *ing);
void gw_ingest_config_unlock(gw_ingest *ing);

/* The socket and the reply queue's fd, for the caller's zmq_poll (both ZMQ_POLLIN). */
void *gw_ingest_socket(gw_ingest *ing);
int gw_ingest_reply_fd(gw_ingest *ing);

/* Read what is waiting on the socket (non-blocking, bounded) into the pipeline. Returns MN_OK. */
MN_NODISCARD int gw_ingest_handle(gw_ingest *ing);

/* Send the replies that are ready; tell on_queued about partner items committed since. */
void gw_ingest_flush(gw_ingest *ing);

/* Stop taking frames, let the workers and the writer finish what they hold (committed and
 * acknowledged), send the last replies and join the threads. Twice is harmless. */
void gw_ingest_stop(gw_ingest *ing);

/* Stop (if not yet), close the socket and free. NULL-safe; twice is harmless. */
void gw_ingest_destroy(gw_ingest **ing_p);

#endif
