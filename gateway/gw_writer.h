/* gw_writer.h - the writer's stage: one batch of verified envelopes, one transaction, receipts.
 *
 * Runs on the single writer thread. In ONE LMDB write transaction, for each job (acute ones
 * first: the caller orders them): dedup by envelope id and by keyed content digest, take a
 * registration number, and gw_dispatch (registry record sealed to the registry, one sealed and
 * signed item per bound partner, unrouted notes) with one ephemeral key per recipient for the
 * whole batch. Commit (fsync). Only then sign every Receipt; if the commit fails every job gets
 * a retryable STORE_FAILED reject instead. Each job leaves with its reply encoded.
 */
#ifndef GW_WRITER_H
#define GW_WRITER_H

#include <stddef.h>

#include "gw_dispatch.h"
#include "gw_job.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_key.h"

typedef struct gw_writer_deps {
    const mn_key *gateway;      /* signs receipts */
    gw_dispatch_deps dispatch;  /* sealers is set per batch by gw_writer_commit */
    gw_store *store;
    gw_stats *stats;
} gw_writer_deps;

typedef struct gw_writer_result {
    size_t committed; /* jobs registered or found duplicate in a committed transaction */
    size_t queued;    /* partner items written */
    int acute;        /* an acute item was queued */
} gw_writer_result;

/* Register jobs[0..n) as above. Never fails as a whole: the outcome is in each job's reply. */
void gw_writer_commit(const gw_writer_deps *deps, gw_job **jobs, size_t n,
                      gw_writer_result *res);

#endif
