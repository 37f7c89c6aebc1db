/* gw_stage_fixture.h - what the pipeline stage tests share (test_gw_verify, test_gw_writer,
 * test_gw_dispatch, test_gw_deliver): a temp folder, example reports, parties, sealed envelopes
 * and jobs, all made with the real code (libsodium keys, mn_envelope, mn_wire).
 *
 * Header-only (static inline), like tests/tools/mn_tool.h: each test file is one program.
 * Include it after <cmocka.h>. Reports come from $MN_SRCDIR/examples (default ".").
 */
#ifndef GW_STAGE_FIXTURE_H
#define GW_STAGE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "gw_config.h"
#include "gw_job.h"
#include "gw_report_fixture.h"
#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_report.h"
#include "mn_time.h"
#include "mn_wire.h"

#define STAGE_AGENT "school-a"

/* A fresh folder /tmp/<name>.XXXXXX into buf (cap >= 64). */
static inline void stage_tmpdir(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "/tmp/%s.XXXXXX", name);
    assert_non_null(mkdtemp(buf));
}

/* Remove a folder made by stage_tmpdir, and everything in it. */
static inline void stage_rmdir(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Make r acute (with its reason) or not. */
static inline void stage_set_acute(mn_report *r, int acute)
{
    r->has_acute_danger = 1;
    r->acute_danger = acute ? 1 : 0;
    fixture_set(&r->acute_reason, acute ? "Dreiging vanavond." : NULL);
}

static inline mn_key *stage_key(mn_role role, const char *name)
{
    mn_key *k = NULL;
    assert_int_equal(mn_key_generate(role, name, &k, NULL), MN_OK);
    return k;
}

/* A partner bound to one topic (add more with stage_bind). */
static inline gw_partner stage_partner(const char *name, int kind, const mn_key *key,
                                       const char *topic, int sharing)
{
    gw_partner p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.kind = kind;
    p.pub = *mn_key_public(key);
    snprintf(p.bindings[0].topic, sizeof p.bindings[0].topic, "%s", topic);
    p.bindings[0].sharing = sharing;
    p.n_bindings = 1;
    return p;
}

static inline void stage_bind(gw_partner *p, const char *topic, int sharing)
{
    assert_true(p->n_bindings < GW_BINDINGS_MAX);
    snprintf(p->bindings[p->n_bindings].topic, sizeof p->bindings[0].topic, "%s", topic);
    p->bindings[p->n_bindings++].sharing = sharing;
}

/* Sign env again with agent's key (after the test changed a signed field). */
static inline void stage_resign(mn_envelope *env, const mn_key *agent)
{
    uint8_t *input = NULL;
    size_t len = 0;
    assert_int_equal(mn_envelope_signing_input(env, &input, &len), MN_OK);
    assert_int_equal(crypto_sign_detached(env->signature, NULL, input, len,
                                          mn_key_sign_secret(agent)),
                     0);
    free(input);
}

/* Seal plain (len bytes) to gateway_box as agent, created at created_ms; the envelope keeps
 * `id` when it is not NULL (signed again), else a fresh one. Fills *env (caller clears). */
static inline void stage_seal_bytes(const mn_key *agent, const uint8_t gateway_box[MN_KEY_BYTES],
                                    const uint8_t *plain, size_t len, uint64_t created_ms,
                                    const uint8_t *id, mn_envelope *env)
{
    static uint64_t seq;
    mn_diag d;
    mn_diag_clear(&d);
    assert_int_equal(mn_envelope_seal(agent, gateway_box, plain, len, ++seq, created_ms, env, &d),
                     MN_OK);
    if (id) {
        memcpy(env->id, id, sizeof env->id);
        stage_resign(env, agent);
    }
}

/* The same for a report. */
static inline void stage_seal(const mn_key *agent, const uint8_t gateway_box[MN_KEY_BYTES],
                              const mn_report *r, uint64_t created_ms, const uint8_t *id,
                              mn_envelope *env)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    assert_int_equal(mn_report_encode(r, &plain, &len), MN_OK);
    stage_seal_bytes(agent, gateway_box, plain, len, created_ms, id, env);
    mn_plain_free(plain, len);
}

/* A job as the receive thread hands it to the workers: the frame, the connection's agent
 * name and the signing key that agent has now. Caller owns it (gw_job_free). */
static inline gw_job *stage_job_frame(const char *agent, const uint8_t sign[MN_KEY_BYTES],
                                      const uint8_t *frame, size_t len)
{
    gw_job *job = NULL;
    assert_int_equal(gw_job_new(&job), MN_OK);
    zmq_msg_close(&job->payload);
    assert_int_equal(zmq_msg_init_size(&job->payload, len), 0);
    if (len)
        memcpy(zmq_msg_data(&job->payload), frame, len);
    snprintf(job->agent, sizeof job->agent, "%s", agent);
    memcpy(job->agent_sign, sign, MN_KEY_BYTES);
    return job;
}

/* The same for an envelope (encoded into one ToGateway frame). */
static inline gw_job *stage_job(const char *agent, const uint8_t sign[MN_KEY_BYTES],
                                const mn_envelope *env)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(mn_wire_encode_envelope(env, &frame, &len), MN_OK);
    gw_job *job = stage_job_frame(agent, sign, frame, len);
    free(frame);
    return job;
}

/* Decode the job's answer (it must have one). */
static inline void stage_reply(const gw_job *job, mn_from_gateway *out)
{
    mn_diag d;
    mn_diag_clear(&d);
    assert_non_null(job->reply);
    assert_int_equal(mn_wire_decode_from_gateway(job->reply, job->reply_len,
                                                 MN_WIRE_DEFAULT_MAX_FRAME, out, &d),
                     MN_OK);
}

#endif
