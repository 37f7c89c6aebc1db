/* gw_auth.c - ZAP handler thread (RFC 27).
 *
 * Request frames:  version "1.0", request id, domain, address, routing id, mechanism,
 *                  credentials (CURVE: the client's 32-byte public key).
 * Reply frames:    version "1.0", request id, status code, status text, user id, metadata.
 * A request that is not well formed gets no 200 under any path: when it cannot even be answered
 * (no version or id) it is dropped, and libzmq keeps that handshake from completing.
 */
#include "gw_auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

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
    s_party *partners;    /* domain GW_AUTH_PARTNER_DOMAIN */
    size_t n_partners;
};

static mn_log_limit s_refuse_limit;

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
    int hb_ivl = 5000, hb_timeout = 15000, hb_ttl = 15000;
    void *socket = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!socket)
        return mn_diag_set(d, MN_EZMQ, listen, "cannot create a socket: %s",
                           zmq_strerror(zmq_errno()));
    int rc = gw_auth_secure_server(socket, curve_secret, domain, d);
    if (rc == MN_OK &&
        (zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
         zmq_setsockopt(socket, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
         zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_msg_bytes, sizeof max_msg_bytes) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
         zmq_setsockopt(socket, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof hb_ttl) != 0))
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot set socket options: %s",
                         zmq_strerror(zmq_errno()));
    if (rc == MN_OK && zmq_bind(socket, listen) != 0) {
        rc = mn_diag_set(d, MN_EZMQ, listen, "cannot listen: %s", zmq_strerror(zmq_errno()));
        mn_diag_hint(d, "is another gateway running on this port? change '%s' in the "
                        "configuration or stop the other process", setting);
    }
    if (rc != MN_OK) {
        zmq_close(socket);
        return rc;
    }
    *out = socket;
    return MN_OK;
}

/* Short, non-reversible tag of a client key for logs. */
static void s_key_tag(const uint8_t *key, size_t len, char out[17])
{
    uint8_t h[8];
    crypto_generichash(h, sizeof h, key, len, NULL, 0);
    sodium_bin2hex(out, 17, h, sizeof h);
}

/* Decide on one request. Fills name on success. Returns the status code. */
static int s_is_domain(const zmq_msg_t *frame, const char *domain)
{
    size_t n = zmq_msg_size((zmq_msg_t *)frame);
    return n == strlen(domain) && memcmp(zmq_msg_data((zmq_msg_t *)frame), domain, n) == 0;
}

static int s_decide(gw_auth *auth, zmq_msg_t *f, char *name, size_t name_cap, const char **why)
{
    int partner_domain = s_is_domain(&f[2], GW_AUTH_PARTNER_DOMAIN);
    if (!partner_domain && !s_is_domain(&f[2], GW_AUTH_DOMAIN)) {
        *why = "wrong-domain";
        return 400;
    }
    if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5)) {
        *why = "not-curve";
        return 400;
    }
    if (zmq_msg_size(&f[6]) != MN_KEY_BYTES) {
        *why = "bad-credentials";
        return 400;
    }
    const uint8_t *key = zmq_msg_data(&f[6]);
    int status = 400;
    *why = "unknown-key";
    pthread_mutex_lock(&auth->lock);
    const s_party *parties = partner_domain ? auth->partners : auth->agents;
    size_t n = partner_domain ? auth->n_partners : auth->n_agents;
    for (size_t i = 0; i < n; i++) {
        if (sodium_memcmp(parties[i].curve, key, MN_KEY_BYTES) == 0) {
            snprintf(name, name_cap, "%s", parties[i].name);
            status = 200;
            *why = "ok";
            break;
        }
    }
    pthread_mutex_unlock(&auth->lock);
    return status;
}

static int s_send(void *socket, const void *data, size_t len, int more)
{
    return zmq_send(socket, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

static void s_handle(gw_auth *auth)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0;
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
        if (n < ZAP_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n < 2)
        goto out; /* nothing to answer to; a REP socket must still reply, so send an empty 500 */

    char name[MN_NAME_MAX + 1] = "";
    const char *why = "malformed";
    int status = 500;
    if (n == ZAP_FRAMES && zmq_msg_size(&f[0]) == 3 && memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0)
        status = s_decide(auth, f, name, sizeof name, &why);

    char code[4];
    snprintf(code, sizeof code, "%d", status);
    int failed = s_send(auth->socket, "1.0", 3, 1) ||
                 s_send(auth->socket, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) ||
                 s_send(auth->socket, code, 3, 1) ||
                 s_send(auth->socket, why, strlen(why), 1) ||
                 s_send(auth->socket, name, status == 200 ? strlen(name) : 0, 1) ||
                 s_send(auth->socket, "", 0, 0);
    if (failed)
        log_warn("zap", "cannot answer a ZAP request: %s", zmq_strerror(zmq_errno()));

    char addr[64] = "?";
    if (n >= 4) {
        size_t alen = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), alen);
        addr[alen] = '\0';
    }
    if (status == 200) {
        atomic_fetch_add(&auth->stats->handshakes_accepted, 1);
        log_info("zap", "admitted peer=%s address=%s", name, addr);
    } else {
        char tag[17] = "-";
        if (n == ZAP_FRAMES && zmq_msg_size(&f[6]) > 0)
            s_key_tag(zmq_msg_data(&f[6]), zmq_msg_size(&f[6]), tag);
        atomic_fetch_add(&auth->stats->handshakes_refused, 1);
        mn_log_ratelimited(&s_refuse_limit, 30, MN_LOG_WARN, "zap",
                           "refused handshake reason=%s key=%s address=%s", why, tag, addr);
    }
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
        rc = mn_diag_sys(d, "zap", "cannot start the ZAP thread");
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
