/* gw_verify.h - the crypto workers' stage: from a received frame to a report ready to register.
 *
 * Runs on the worker threads, one job at a time, sharing nothing but read-only keys: decode the
 * frame (one ToGateway, size limits), check that the envelope names the authenticated agent,
 * verify the signature with the key the agent had when the frame arrived, open the sealed
 * report with the gateway's box key, decode and validate it, and take its keyed content digest.
 * Any refusal becomes the job's Reject; on success the job holds the report (plaintext, in
 * memory only), its digest and whether it is acute.
 */
#ifndef GW_VERIFY_H
#define GW_VERIFY_H

#include <stddef.h>

#include "gw_job.h"
#include "gw_stats.h"
#include "mn_key.h"

typedef struct gw_verify_deps {
    const mn_key *gateway;         /* box key the envelopes are sealed to */
    const mn_secret32 *digest_key; /* keyed content digest */
    gw_stats *stats;
    size_t max_frame_bytes;
} gw_verify_deps;

/* Check job (route, payload, agent, agent_sign set by the receive thread). Returns MN_OK when
 * the job is ready for the writer; otherwise the job holds its Reject (job->reply) and the
 * return says which check failed (MN_EDECODE, MN_ECRYPTO, MN_EINVAL, MN_ENOMEM). */
int gw_verify_job(const gw_verify_deps *deps, gw_job *job);

#endif
