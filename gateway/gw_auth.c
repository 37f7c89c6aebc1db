/* gw_auth.c - ZAP handler thread (RFC 27).
 *
 * Request frames:  version "1.0", request id, domain, address, routing id, mechanism,
 *                  credentials (CURVE: the client's 32-byte public key).
 * Reply frames:    version "1.0", request id, status code, status text, user id, metadata.
 * A request that is not well formed gets no 200 under any path: when it cannot even be answered
 * (no version or id) it is dropped, and libzmq keeps that handshake from completing.
 *
 * The thread logs through mn_log's queue (mn_log_set_nonblocking): every handshake waits for
 * its answer, so it must never wait for stderr. Admissions are logged at info, at most
 * S_ADMISSIONS_PER_MINUTE a minute.
 *
 * Every refusal has a cause (enum gw_refusal), counted with gw_stats_count_refusal and logged,
 * rate-limited per cause, as one warning line of key=value fields:
 *   auth: handshake refused cause=revoked_key role=agent party=district-utrecht
 *         peer=127.0.0.1 key=0123456789abcdef curve=- domain=meldnet
 * cause: unknown_key (no party has the key), revoked_key (a revoked party of this domain has
 * it), wrong_party (a party of the other domain has it, or the domain is not one of ours, or
 * the mechanism is not CURVE), malformed (a request or credentials that do not parse). role and
 * party name whose key it is ("-" when nobody's); peer is the request's Address frame; key is
 * the party's mn_pubkey_fingerprint (what `meldnetctl agent list` shows) or, for a key no
 * party has, mn_curve_fingerprint of the bare CURVE key; for such a key, curve is the key itself
 * as the public line writes it (curve=<b64>), so an operator can find whose line it is (a
 * public key: safe to log). The reply's status text is the cause.
 */
#include "gw_auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mn_b64.h"
#include "mn_log.h"

/* libzmq 4.3 implements this option but declares it only in its draft API; Debian's zmq.h
 * leaves it out. The value is fixed by libzmq (zmq_draft.h) and tests/unit/test_gw_auth.c
 * proves the library honours it: without a handler, a client with the server key gets nothing
 * through. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7

typedef struct s_party {
    uint8_t curve[MN_KEY_BYTES];
    char name[MN_NAME_MAX + 1];
    char fingerprint[MN_FINGERPRINT_CHARS + 1]; /* mn_pubkey_fingerprint: as `list` shows it */
    int revoked;                                /* known, but refused (revoked_key) */
} s_party;

struct gw_auth {
    void *socket;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    gw_stats *stats;
    pthread_mutex_t lock; /* guards both tables */
    s_party *agents;      /* domain GW_AUTH_DOMAIN */
    size_t n_agents;
    s_party *partners; /* domain GW_AUTH_PARTNER_DOMAIN */
    size_t n_partners;
};

/* One limit per cause, so a flood of unknown keys cannot hide a revoked party knocking. Only
 * the handler thread uses them. */
#define S_REFUSALS_PER_MINUTE 30
static mn_log_limit s_refuse_limit[GW_REFUSAL_COUNT];
/* Admissions: an agent that reconnects in a loop must not fill the log either. */
#define S_ADMISSIONS_PER_MINUTE 60
static mn_log_limit s_admit_limit;

int gw_auth_secure_server(void *socket, const uint8_t curve_secret[MN_KEY_BYTES],
                          const char *domain, mn_diag *d)
{
    int one = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, curve_secret, MN_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return mn_diag_set(d, MN_EZMQ, "zap", "cannot make a CURVE server socket: %s",
                           zmq_strerror(zmq_errno()));
    return MN_OK;
}

int gw_auth_listen(void *zmq_ctx, const char *listen, const uint8_t curve_secret[MN_KEY_BYTES],
                   const char *domain, int64_t max_msg_bytes, const char *setting, void **out,
                   mn_diag *d)
{
    int linger = 0, one = 1;
    int hb_ivl = 5000, hb_timeout = 15000, hb_ttl = 15000, handshake_ms = GW_AUTH_HANDSHAKE_MS;
    void *socket = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!socket)
        return mn_diag_set(d, MN_EZMQ, listen, "cannot create a socket: %s",
                           zmq_strerror(zmq_errno()));
    int rc = gw_auth_secure_server(socket, curve_secret, domain, d);
    if (rc == MN_OK &&
        (zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
         zmq_setsockopt(socket, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
         zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_msg_bytes, sizeof max_msg_bytes) != 0 ||
         zmq_setsockopt(socket, ZMQ_HANDSHAKE_IVL, &handshake_ms, sizeof handshake_ms) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof hb_ttl) != 0))
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot set socket options: %s",
                         zmq_strerror(zmq_errno()));
    if (rc == MN_OK && zmq_bind(socket, listen) != 0) {
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot listen: %s", zmq_strerror(zmq_errno()));
        mn_diag_hint(d,
                     "is another gateway running on this port? change '%s' in the "
                     "configuration or stop the other process",
                     setting);
    }
    if (rc != MN_OK) {
        zmq_close(socket);
        return rc;
    }
    *out = socket;
    return MN_OK;
}

/* The outcome of one request: the reply, the counter and the log line. */
typedef struct s_verdict {
    int status;                         /* 200, 400 (refused) or 500 (malformed request) */
    int cause;                          /* enum gw_refusal, when not 200 */
    const char *role;                   /* whose key: "agent", "partner"; "-" when unknown */
    char party[MN_NAME_MAX + 1];        /* the party with that key, or "-" */
    char key[MN_FINGERPRINT_CHARS + 1]; /* its fingerprint, or "-" */
    char curve[48];                     /* a key no party has, as a public line writes it */
} s_verdict;

static int s_is(const zmq_msg_t *frame, const char *text)
{
    size_t n = zmq_msg_size((zmq_msg_t *)frame);
    return n == strlen(text) && memcmp(zmq_msg_data((zmq_msg_t *)frame), text, n) == 0;
}

static void s_refuse(s_verdict *v, int status, int cause)
{
    v->status = status;
    v->cause = cause;
}

/* A key no party has: its fingerprint and the key as a public line writes it. */
static void s_unknown_key(s_verdict *v, const uint8_t key[MN_KEY_BYTES])
{
    mn_curve_fingerprint(key, v->key, sizeof v->key);
    mn_b64_encode(key, MN_KEY_BYTES, v->curve, sizeof v->curve);
}

/* The entry of parties[0..n) with this key, or NULL. */
static const s_party *s_find(const s_party *parties, size_t n, const uint8_t *key)
{
    for (size_t i = 0; i < n; i++)
        if (sodium_memcmp(parties[i].curve, key, MN_KEY_BYTES) == 0)
            return &parties[i];
    return NULL;
}

/* Decide on one request of n_frames frames (the first ZAP_FRAMES in f). Order of the checks:
 * a request we cannot read is malformed (500); then the domain and the mechanism (wrong party);
 * then the key: in this domain's table and not revoked admits, revoked is revoked_key, in the
 * other domain's table is wrong_party, nowhere is unknown_key. */
static void s_decide(gw_auth *auth, zmq_msg_t *f, int n_frames, s_verdict *v)
{
    /* refused unless the one admitting branch below says otherwise: fail closed */
    v->status = 400;
    v->cause = GW_REFUSAL_UNKNOWN_KEY;
    v->role = "-";
    snprintf(v->party, sizeof v->party, "-");
    snprintf(v->key, sizeof v->key, "-");
    snprintf(v->curve, sizeof v->curve, "-");

    /* version, request id, domain, address, routing id, mechanism: in every request */
    if (n_frames < ZAP_FRAMES - 1 || !s_is(&f[0], "1.0")) {
        s_refuse(v, 500, GW_REFUSAL_MALFORMED);
        return;
    }
    int partner_domain = s_is(&f[2], GW_AUTH_PARTNER_DOMAIN);
    if (!partner_domain && !s_is(&f[2], GW_AUTH_DOMAIN)) {
        s_refuse(v, 400, GW_REFUSAL_WRONG_PARTY); /* a socket that is not ours */
        if (n_frames == ZAP_FRAMES && s_is(&f[5], "CURVE") && zmq_msg_size(&f[6]) == MN_KEY_BYTES)
            s_unknown_key(v, zmq_msg_data(&f[6]));
        return;
    }
    if (!s_is(&f[5], "CURVE")) {
        s_refuse(v, 400, GW_REFUSAL_WRONG_PARTY); /* NULL or PLAIN: no party of ours */
        return;
    }
    if (n_frames != ZAP_FRAMES || zmq_msg_size(&f[6]) != MN_KEY_BYTES) {
        s_refuse(v, 400, GW_REFUSAL_MALFORMED);
        return;
    }
    const uint8_t *key = zmq_msg_data(&f[6]);
    const char *own_role = partner_domain ? "partner" : "agent";
    const char *other_role = partner_domain ? "agent" : "partner";

    pthread_mutex_lock(&auth->lock);
    const s_party *own = partner_domain ? s_find(auth->partners, auth->n_partners, key)
                                        : s_find(auth->agents, auth->n_agents, key);
    const s_party *other = NULL;
    if (!own)
        other = partner_domain ? s_find(auth->agents, auth->n_agents, key)
                               : s_find(auth->partners, auth->n_partners, key);
    const s_party *found = own ? own : other;
    if (found) {
        snprintf(v->party, sizeof v->party, "%s", found->name);
        snprintf(v->key, sizeof v->key, "%s", found->fingerprint);
    }
    if (own && !own->revoked) {
        v->role = own_role;
        v->status = 200;
    } else if (own) {
        v->role = own_role;
        s_refuse(v, 400, GW_REFUSAL_REVOKED_KEY);
    } else if (other) {
        v->role = other_role; /* a partner on the agents' socket, or the reverse */
        s_refuse(v, 400, GW_REFUSAL_WRONG_PARTY);
    } else {
        s_refuse(v, 400, GW_REFUSAL_UNKNOWN_KEY);
    }
    pthread_mutex_unlock(&auth->lock);
    if (!found)
        s_unknown_key(v, key);
}

static int s_send(void *socket, const void *data, size_t len, int more)
{
    return zmq_send(socket, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

/* Frame f as text fit for a log line (the address, the domain: libzmq's, but still input). */
static void s_frame_text(const zmq_msg_t *f, char *out, size_t cap)
{
    char raw[128];
    size_t n = zmq_msg_size((zmq_msg_t *)f);
    if (n > sizeof raw - 1)
        n = sizeof raw - 1;
    memcpy(raw, zmq_msg_data((zmq_msg_t *)f), n);
    raw[n] = '\0';
    mn_log_quote(n ? raw : "-", out, cap);
}

static void s_handle(gw_auth *auth)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0, total = 0;
    int more = 1;
    /* Read every frame of the request, keeping the first ZAP_FRAMES. */
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, auth->socket, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        total++;
        if (n < ZAP_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n < 2)
        goto out; /* nothing to answer to; a REP socket must still reply, so send an empty 500 */

    s_verdict v;
    s_decide(auth, f, total, &v);

    /* count and log before the reply: whoever sees the handshake fail sees the count too */
    char peer[64] = "-", domain[64] = "-";
    if (n >= 4)
        s_frame_text(&f[3], peer, sizeof peer);
    if (n >= 3)
        s_frame_text(&f[2], domain, sizeof domain);
    if (v.status == 200) {
        atomic_fetch_add(&auth->stats->handshakes_accepted, 1);
        mn_log_ratelimited(&s_admit_limit, S_ADMISSIONS_PER_MINUTE, MN_LOG_INFO, "auth",
                           "admitted peer=%s address=%s role=%s key=%s", v.party, peer, v.role,
                           v.key);
    } else {
        gw_stats_count_refusal(auth->stats, v.cause);
        mn_log_ratelimited(&s_refuse_limit[v.cause], S_REFUSALS_PER_MINUTE, MN_LOG_WARN, "auth",
                           "handshake refused cause=%s role=%s party=%s peer=%s key=%s "
                           "curve=%s domain=%s",
                           gw_refusal_name(v.cause), v.role, v.party, peer, v.key, v.curve, domain);
    }

    const char *text = v.status == 200 ? "OK" : gw_refusal_name(v.cause);
    char code[4];
    snprintf(code, sizeof code, "%d", v.status);
    int failed = s_send(auth->socket, "1.0", 3, 1) ||
                 s_send(auth->socket, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) ||
                 s_send(auth->socket, code, 3, 1) || s_send(auth->socket, text, strlen(text), 1) ||
                 s_send(auth->socket, v.party, v.status == 200 ? strlen(v.party) : 0, 1) ||
                 s_send(auth->socket, "", 0, 0);
    if (failed)
        log_warn("auth", "cannot answer a ZAP request: %s", zmq_strerror(zmq_errno()));
out:
    if (n < 2 && n > 0) {
        /* Keep the REP socket's send/receive lockstep intact. */
        (void)s_send(auth->socket, "", 0, 0);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void *s_thread(void *arg)
{
    gw_auth *auth = arg;
    /* Every handshake waits for this thread: a log nobody reads must not stop them. */
    mn_log_set_nonblocking();
    while (!atomic_load(&auth->stop)) {
        zmq_pollitem_t item = {auth->socket, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 200);
        if (rc > 0 && (item.revents & ZMQ_POLLIN))
            s_handle(auth);
        else if (rc < 0 && zmq_errno() == ETERM)
            break;
    }
    return NULL;
}

int gw_auth_start(void *zmq_ctx, gw_stats *stats, gw_auth **out, mn_diag *d)
{
    int rc = MN_ENOMEM;
    gw_auth *auth = calloc(1, sizeof *auth);
    if (!auth)
        goto fail;
    pthread_mutex_init(&auth->lock, NULL);
    atomic_init(&auth->stop, 0);
    auth->stats = stats;
    auth->socket = zmq_socket(zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (!auth->socket || zmq_setsockopt(auth->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(auth->socket, ZAP_ENDPOINT) != 0) {
        rc = mn_diag_set(d, MN_EZMQ, ZAP_ENDPOINT, "cannot start the ZAP handler: %s",
                         zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&auth->thread, NULL, s_thread, auth) != 0) {
        rc = mn_diag_sys(d, "auth", "cannot start the ZAP thread");
        goto fail;
    }
    auth->thread_started = 1;
    *out = auth;
    return MN_OK;
fail:
    gw_auth_destroy(&auth);
    return rc;
}

/* Swap in a new table under the lock; the old one is freed outside it. */
static void s_swap(gw_auth *auth, s_party **table, size_t *count, s_party *parties, size_t n)
{
    pthread_mutex_lock(&auth->lock);
    s_party *old = *table;
    *table = parties;
    *count = n;
    pthread_mutex_unlock(&auth->lock);
    free(old);
}

int gw_auth_set_agents(gw_auth *auth, const gw_agent *agents, size_t n)
{
    s_party *parties = calloc(n ? n : 1, sizeof *parties);
    if (!parties)
        return MN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(parties[i].curve, agents[i].pub.curve, MN_KEY_BYTES);
        snprintf(parties[i].name, sizeof parties[i].name, "%s", agents[i].name);
        mn_pubkey_fingerprint(&agents[i].pub, parties[i].fingerprint,
                              sizeof parties[i].fingerprint);
        parties[i].revoked = agents[i].revoked ? 1 : 0;
    }
    s_swap(auth, &auth->agents, &auth->n_agents, parties, n);
    return MN_OK;
}

int gw_auth_set_partners(gw_auth *auth, const gw_partner *partners, size_t n)
{
    s_party *parties = calloc(n ? n : 1, sizeof *parties);
    if (!parties)
        return MN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(parties[i].curve, partners[i].pub.curve, MN_KEY_BYTES);
        snprintf(parties[i].name, sizeof parties[i].name, "%s", partners[i].name);
        mn_pubkey_fingerprint(&partners[i].pub, parties[i].fingerprint,
                              sizeof parties[i].fingerprint);
        parties[i].revoked = partners[i].revoked ? 1 : 0;
    }
    s_swap(auth, &auth->partners, &auth->n_partners, parties, n);
    return MN_OK;
}

void gw_auth_destroy(gw_auth **auth_p)
{
    if (!auth_p || !*auth_p)
        return;
    gw_auth *auth = *auth_p;
    atomic_store(&auth->stop, 1);
    if (auth->thread_started)
        pthread_join(auth->thread, NULL);
    if (auth->socket)
        zmq_close(auth->socket);
    pthread_mutex_destroy(&auth->lock);
    free(auth->agents);
    free(auth->partners);
    free(auth);
    *auth_p = NULL;
}
