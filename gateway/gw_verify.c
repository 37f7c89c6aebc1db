/* gw_verify.c - decode, verify, open, validate, digest: everything before the transaction. */
#include "gw_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_envelope.h"
#include "mn_report.h"
#include "mn_wire.h"

int gw_verify_job(const gw_verify_deps *deps, gw_job *job)
{
    mn_reject rj;
    mn_diag d;
    char detail[sizeof d.where + sizeof d.what + 8];
    uint8_t *plain = NULL;
    size_t plain_len = 0;

    if (mn_wire_decode_to_gateway(zmq_msg_data(&job->payload), zmq_msg_size(&job->payload),
                                  deps->max_frame_bytes, &job->env, &rj) != MN_OK) {
        mn_envelope_clear(&job->env);
        gw_job_answer_reject(job, deps->stats, &rj);
        return MN_EDECODE;
    }
    /* The frame's bytes are in env now. */
    zmq_msg_close(&job->payload);
    zmq_msg_init(&job->payload);
    if (strcmp(job->env.agent, job->agent) != 0) {
        snprintf(detail, sizeof detail,
                 "envelope names agent \"%s\" but this connection is authenticated as \"%s\"",
                 job->env.agent, job->agent);
        gw_job_reject(job, deps->stats, MN_REJECT_AGENT_MISMATCH, detail);
        return MN_EINVAL;
    }
    if (mn_envelope_verify(&job->env, job->agent_sign) != MN_OK) {
        gw_job_reject(job, deps->stats, MN_REJECT_BAD_SIGNATURE,
                      "signature does not verify with the agent's configured signing key");
        return MN_ECRYPTO;
    }
    mn_diag_clear(&d);
    if (mn_envelope_open(&job->env, deps->gateway, MN_REPORT_MAX_BYTES, &plain, &plain_len, &d) !=
        MN_OK) {
        gw_job_reject(job, deps->stats, MN_REJECT_CANNOT_OPEN,
                      "sealed report does not open with this gateway's envelope key; check the "
                      "agent's copy of gateway.pub");
        return MN_ECRYPTO;
    }
    int rc = mn_report_decode(plain, plain_len, MN_REPORT_MAX_BYTES, &job->report, &d);
    mn_plain_free(plain, plain_len);
    if (rc == MN_OK)
        rc = mn_report_validate(job->report, &d);
    if (rc != MN_OK) {
        snprintf(detail, sizeof detail, "%s%s%s", d.where, d.where[0] ? ": " : "", d.what);
        gw_job_reject(job, deps->stats, MN_REJECT_INVALID_REPORT, detail);
        return MN_EINVAL;
    }
    if (mn_report_digest(job->report, job->agent, mn_secret32_bytes(deps->digest_key),
                         job->digest) != MN_OK) {
        gw_job_reject(job, deps->stats, MN_REJECT_OVERLOADED, "gateway out of memory");
        return MN_ENOMEM;
    }
    /* The sealed bytes are not needed any more: registration keeps only the plaintext's
     * derived records, sealed anew per recipient. */
    free(job->env.sealed);
    job->env.sealed = NULL;
    job->env.sealed_len = 0;
    job->acute = job->report->has_acute_danger && job->report->acute_danger;
    return MN_OK;
}
