/* main.c - meldnet-gateway: argv, configuration, keys, signals, start-up; nothing else. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gw_auth.h"
#include "gw_config.h"
#include "gw_conn.h"
#include "gw_deliver.h"
#include "gw_http.h"
#include "gw_ingest.h"
#include "gw_ledger.h"
#include "gw_observe.h"
#include "gw_parties.h"
#include "gw_snapshot.h"
#include "gw_stats.h"
#include "gw_store.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_process.h"
#include "mn_time.h"

#define PROG "meldnet-gateway"
#define STATUS_INTERVAL_MS 1000
/* How often the store's mapped pages are handed back to the page cache (gw_store_release_map):
 * the gateway's resident set stays its own memory, not a copy of every page it has read. */
#define RELEASE_INTERVAL_MS 100

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_reload;

static void s_on_stop(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_on_hup(int sig)
{
    (void)sig;
    s_reload = 1;
}

static void s_usage(FILE *to)
{
    fprintf(
        to,
        "usage: " PROG " [--home DIR | -c FILE] [-n] [--log-level LEVEL] [--log-format FMT]\n"
        "\n"
        "The meldnet gateway: receives sealed report envelopes from agents over ZeroMQ +\n"
        "CURVE, registers each once in its LMDB store, and answers with signed receipts.\n"
        "\n"
        "  --home DIR         gateway home made by 'meldnetctl init' (uses DIR/gateway.conf);\n"
        "                     default $MELDNET_HOME, then ./meldnet-home\n"
        "  -c, --config FILE  configuration file (instead of --home)\n"
        "  -n, --check        check the configuration, the keys and that the store agrees\n"
        "                     with the registration ledger, then exit\n"
        "  --log-level LEVEL  err, warn, notice, info (default) or debug\n"
        "  --log-format FMT   text (default: time level component message key=value) or\n"
        "                     json (one object per line); both to stderr\n"
        "  -h, --help         this help\n"
        "\n"
        "Signals: SIGINT/SIGTERM stop cleanly (the batch in hand is committed and acknowledged);\n"
        "SIGHUP reloads the agents and partners directories (add or revoke one without a restart;\n"
        "a revoked party's open connections are closed). `meldnetctl agent revoke NAME` and\n"
        "friends send it.\n"
        "\n"
        "Operators: http://<metrics_listen>/metrics (Prometheus), /healthz, /readyz and / (a\n"
        "status page); `meldnetctl status`, `top`, `queues`, `agents`.\n");
}

static int s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s_on_stop;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = s_on_hup;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* Everything the running gateway holds; freed by s_gateway_close. */
typedef struct s_gateway {
    gw_config *cfg;
    mn_key *key;
    mn_pubkey registry;
    mn_secret32 *digest_key;
    mn_secret32 *pseudonym_key;
    gw_store *store;
    gw_ledger *ledger;
    gw_stats stats;
    void *zctx;
    gw_auth *auth;
    gw_ingest *ingest;
    gw_deliver *deliver;
    gw_observe *observe;
    gw_http *http;
} s_gateway;

static int s_load_keys(s_gateway *gw, mn_diag *d)
{
    int rc = mn_key_load(gw->cfg->identity, &gw->key, d);
    if (rc != MN_OK)
        return rc;
    if (mn_key_public(gw->key)->role != MN_ROLE_GATEWAY) {
        rc = mn_diag_set(d, MN_EKEY, gw->cfg->identity, "this is a %s identity, not a gateway's",
                         mn_role_name(mn_key_public(gw->key)->role));
        mn_diag_hint(d, "point 'identity' at the gateway key made by 'meldnetctl init'");
        return rc;
    }
    rc = mn_pubkey_load(gw->cfg->registry_key, &gw->registry, d);
    if (rc != MN_OK)
        return rc;
    if (gw->registry.role != MN_ROLE_REGISTRY) {
        rc = mn_diag_set(d, MN_EKEY, gw->cfg->registry_key,
                         "this is a %s public key, not the registry's",
                         mn_role_name(gw->registry.role));
        mn_diag_hint(d, "point 'registry_key' at the registry's public line (registry.pub)");
        return rc;
    }
    rc = mn_secret32_load(gw->cfg->digest_key, &gw->digest_key, d);
    if (rc != MN_OK)
        return rc;
    return mn_secret32_load(gw->cfg->pseudonym_key, &gw->pseudonym_key, d);
}

static void s_gateway_close(s_gateway *gw)
{
    gw_http_stop(&gw->http);
    gw_ingest_destroy(&gw->ingest);
    gw_deliver_destroy(&gw->deliver);
    gw_auth_destroy(&gw->auth);
    if (gw->zctx)
        zmq_ctx_term(gw->zctx);
    gw->zctx = NULL;
    gw_observe_stop(&gw->observe);
    gw_ledger_close(&gw->ledger);
    gw_store_destroy(&gw->store);
    mn_secret32_destroy(&gw->digest_key);
    mn_secret32_destroy(&gw->pseudonym_key);
    mn_key_destroy(&gw->key);
    gw_config_destroy(&gw->cfg);
}

static void s_on_queued(void *arg)
{
    gw_deliver_wake(arg);
}

/* Open the store only when the ledger agrees with it (gw_ledger.h): a missing, emptied, other
 * or older store is refused before it can give a number twice. */
static int s_open_store(s_gateway *gw, mn_diag *d)
{
    gw_ledger_mark mark;
    gw_store_ident ident;
    int has_mark = 0;
    int rc = gw_ledger_read(gw->cfg->ledger_file, &mark, d);
    if (rc == MN_OK)
        has_mark = 1;
    else if (rc != MN_ENOTFOUND)
        return rc;
    int absent = gw_ledger_store_is_absent(gw->cfg->data_dir);
    if (has_mark && absent && mark.issued > 0) /* refuse before opening creates a new store */
        return gw_ledger_check(gw->cfg->ledger_file, gw->cfg->home, 1, &mark, 1,
                               &(gw_store_ident){.next_registration = 1}, d);
    rc = gw_store_open(gw->cfg->data_dir, gw->cfg->map_size_mb, 0, &gw->store, d);
    if (rc == MN_OK)
        rc = gw_store_identity(gw->store, &ident, d);
    if (rc == MN_OK)
        rc = gw_ledger_check(gw->cfg->ledger_file, gw->cfg->home, has_mark, &mark, absent, &ident,
                             d);
    if (rc != MN_OK)
        return rc;
    gw_ledger_mark now = {.issued = ident.next_registration - 1};
    memcpy(now.store_id, ident.id, sizeof now.store_id);
    return gw_ledger_open(gw->cfg->ledger_file, &now, &gw->ledger, d);
}

/* For -n: would the gateway start with this store and ledger? Reads only. */
static int s_check_store(s_gateway *gw, mn_diag *d)
{
    gw_ledger_view v;
    int rc = gw_ledger_inspect(gw->cfg->ledger_file, gw->cfg->data_dir, &v, d);
    if (rc != MN_OK)
        return rc;
    return gw_ledger_check(gw->cfg->ledger_file, gw->cfg->home, v.has_mark, &v.mark, v.absent,
                           &v.store, d);
}

static int s_start(s_gateway *gw, mn_diag *d)
{
    int rc = s_open_store(gw, d);
    if (rc == MN_OK)
        rc = gw_observe_start(gw->store, &gw->observe, d);
    if (rc == MN_OK &&
        gw_observe_set_partners(gw->observe, gw->cfg->partners, gw->cfg->n_partners) != MN_OK)
        rc = mn_diag_set(d, MN_ENOMEM, "observe", "out of memory");
    /* Metrics early: a port that is taken is a configuration error to see at start. */
    if (rc == MN_OK && strcmp(gw->cfg->metrics_listen, "off") != 0)
        rc = gw_http_start(gw->cfg->metrics_listen, &gw->http, d);
    if (rc != MN_OK)
        return rc;
    gw->zctx = zmq_ctx_new();
    if (!gw->zctx)
        return mn_diag_set(d, MN_EZMQ, "zmq", "cannot create a ZeroMQ context");
    /* ZAP first: the ingest socket must never accept a handshake before it can be checked. */
    rc = gw_auth_start(gw->zctx, &gw->stats, &gw->auth, d);
    if (rc == MN_OK)
        rc = gw_auth_set_agents(gw->auth, gw->cfg->agents, gw->cfg->n_agents);
    if (rc == MN_OK)
        rc = gw_auth_set_partners(gw->auth, gw->cfg->partners, gw->cfg->n_partners);
    if (rc != MN_OK)
        return rc;
    gw_deliver_deps ddeps = {
        .store = gw->store,
        .stats = &gw->stats,
        .gateway = gw->key,
        .redelivery_ms = gw->cfg->redelivery_ms,
        .max_nacks = gw->cfg->max_nacks,
        .transient_retry_hours = gw->cfg->transient_retry_hours,
        .max_item_age_hours = gw->cfg->max_item_age_hours,
    };
    rc = gw_deliver_new(gw->zctx, gw->cfg->delivery_listen, &ddeps, &gw->deliver, d);
    if (rc == MN_OK)
        rc = gw_deliver_set_partners(gw->deliver, gw->cfg->partners, gw->cfg->n_partners);
    if (rc != MN_OK)
        return rc;
    gw_ingest_deps deps = {
        .gateway = gw->key,
        .digest_key = gw->digest_key,
        .dispatch = {.cfg = gw->cfg,
                     .gateway = gw->key,
                     .registry = &gw->registry,
                     .pseudonym_key = mn_secret32_bytes(gw->pseudonym_key)},
        .store = gw->store,
        .ledger = gw->ledger,
        .stats = &gw->stats,
        .max_frame_bytes = gw->cfg->max_frame_bytes,
        .batch_max = gw->cfg->batch_max,
        .workers = gw->cfg->workers,
        .inflight_max = gw->cfg->inflight_max,
        .agent_inflight_max = gw->cfg->agent_inflight_max,
        .agent_rate_per_s = gw->cfg->agent_rate_per_s,
        .agent_burst = gw->cfg->agent_burst,
        .min_free_mb = gw->cfg->min_free_mb,
        .handshakes_per_address_max = gw->cfg->handshakes_per_address_max,
        .handshakes_max = gw->cfg->handshakes_max,
        .data_dir = gw->cfg->data_dir,
        .on_queued = s_on_queued,
        .on_queued_arg = gw->deliver,
    };
    rc = gw_ingest_new(gw->zctx, gw->cfg->listen, &deps, &gw->ingest, d);
    if (rc == MN_OK)
        rc = gw_ingest_set_agents(gw->ingest, gw->cfg->agents, gw->cfg->n_agents);
    return rc;
}

/* After a reload (gw->cfg holds the new tables, the old ones are given): close the open
 * connections of every party that was admitted and is not any more (revoked or removed); ZAP
 * refuses their next handshake. */
static void s_close_dropped(s_gateway *gw, const gw_agent *agents, size_t n,
                            const gw_partner *partners, size_t m)
{
    for (size_t i = 0; i < n; i++) {
        const gw_agent *a = &agents[i];
        if (a->revoked || gw_config_find_agent(gw->cfg, a->name))
            continue;
        size_t closed = gw_ingest_close_agent(gw->ingest, a->name);
        log_notice("auth", "agent no longer admitted party=%s connections_closed=%zu", a->name,
                   closed);
    }
    for (size_t i = 0; i < m; i++) {
        const gw_partner *p = &partners[i];
        if (p->revoked || gw_config_find_partner(gw->cfg, p->name))
            continue;
        size_t closed = gw_deliver_close_partner(gw->deliver, p->name);
        log_notice("auth", "partner no longer admitted party=%s connections_closed=%zu", p->name,
                   closed);
    }
}

/* SIGHUP: re-read the agents and partners directories; keep the old tables unless both load. */
static void s_reload_parties(s_gateway *gw)
{
    mn_diag d;
    mn_diag_clear(&d);
    gw_agent *agents = NULL;
    gw_partner *partners = NULL;
    size_t n = 0, m = 0;
    int rc = gw_parties_load_agents(gw->cfg->agents_dir, &agents, &n, &d);
    if (rc == MN_OK)
        rc = gw_parties_load_partners(gw->cfg->partners_dir, &partners, &m, &d);
    if (rc == MN_OK)
        rc = gw_auth_set_agents(gw->auth, agents, n);
    if (rc == MN_OK)
        rc = gw_auth_set_partners(gw->auth, partners, m);
    if (rc == MN_OK)
        rc = gw_ingest_set_agents(gw->ingest, agents, n);
    if (rc == MN_OK)
        rc = gw_deliver_set_partners(gw->deliver, partners, m);
    if (rc == MN_OK)
        rc = gw_observe_set_partners(gw->observe, partners, m);
    if (rc != MN_OK) {
        log_err("config", "reload failed, keeping the previous agents and partners: %s: %s (%s)",
                d.where, d.what, mn_err_hint(rc));
        free(agents);
        free(partners);
        return;
    }
    gw_agent *old_agents = gw->cfg->agents;
    gw_partner *old_partners = gw->cfg->partners;
    size_t old_n = gw->cfg->n_agents, old_m = gw->cfg->n_partners;
    /* The writer routes with cfg->partners: swap between its batches. */
    gw_ingest_config_lock(gw->ingest);
    gw->cfg->agents = agents;
    gw->cfg->n_agents = n;
    gw->cfg->partners = partners;
    gw->cfg->n_partners = m;
    gw_ingest_config_unlock(gw->ingest);
    s_close_dropped(gw, old_agents, old_n, old_partners, old_m);
    free(old_agents);
    free(old_partners);
    atomic_fetch_add(&gw->stats.reloads, 1);
    log_notice("config", "reloaded agents=%zu partners=%zu", n, m);
}

/* One snapshot a second: to run/status.json (meldnetctl) and to the HTTP endpoint. */
static void s_write_status(s_gateway *gw, const char *state)
{
    gw_snapshot s;
    mn_diag d;
    mn_diag_clear(&d);
    gw_snapshot_from_stats(&gw->stats, &s, state);
    snprintf(s.listen, sizeof s.listen, "%s", gw->cfg->listen);
    snprintf(s.delivery_listen, sizeof s.delivery_listen, "%s", gw->cfg->delivery_listen);
    snprintf(s.metrics_listen, sizeof s.metrics_listen, "%s", gw->cfg->metrics_listen);
    s.sockets_bound = gw->ingest && gw->deliver;
    s.inflight_max = gw->cfg->inflight_max;
    s.overloaded = s.inflight >= s.inflight_max;
    s.http_requests_cut = gw_http_requests_cut(gw->http);
    if (gw->ingest)
        gw_ingest_snapshot(gw->ingest, &s);
    if (gw->deliver)
        gw_deliver_snapshot(gw->deliver, &s);
    gw_observe_fill(gw->observe, &s);
    if (gw_snapshot_write(&s, gw->cfg->run_dir, &d) != MN_OK)
        log_warn("status", "cannot write status: %s: %s", d.where, d.what);
    if (gw->http && gw_http_publish(gw->http, &s) != MN_OK)
        log_warn("status", "out of memory: the metrics endpoint shows an older snapshot");
    gw_snapshot_clear(&s);
}

static void s_sync_ledger(s_gateway *gw)
{
    static mn_log_limit limit;
    mn_diag d;
    mn_diag_clear(&d);
    if (gw_ledger_sync(gw->ledger, &d) != MN_OK)
        mn_log_ratelimited(&limit, 10, MN_LOG_ERR, "store", "%s: %s (tried again in a second)",
                           d.where, d.what);
}

static int s_serve(s_gateway *gw)
{
    uint64_t next_status = 0, next_release = 0;
    log_notice("gateway", "listening endpoint=%s agents=%zu delivery=%s partners=%zu",
               gw->cfg->listen, gw->cfg->n_agents, gw->cfg->delivery_listen, gw->cfg->n_partners);
    while (!s_stop) {
        zmq_pollitem_t items[3] = {
            {gw_ingest_socket(gw->ingest), 0, ZMQ_POLLIN, 0},
            {NULL, gw_ingest_reply_fd(gw->ingest), ZMQ_POLLIN, 0},
            {gw_deliver_socket(gw->deliver), 0, ZMQ_POLLIN, 0},
        };
        int timeout = gw_deliver_next_timeout_ms(gw->deliver, 200);
        if (zmq_poll(items, 3, timeout) < 0 && zmq_errno() != EINTR) {
            log_err("gateway", "poll failed: %s", zmq_strerror(zmq_errno()));
            return 1;
        }
        /* Receipts first: they are the agents' proof, and they free room in the pipeline. */
        if (items[1].revents & ZMQ_POLLIN)
            gw_ingest_flush(gw->ingest);
        /* Partners next: their acks free credit and are committed before more goes out. */
        if ((items[2].revents & ZMQ_POLLIN) && gw_deliver_handle(gw->deliver) != MN_OK)
            log_warn("gateway", "delivery bookkeeping not stored; will retry");
        if ((items[0].revents & ZMQ_POLLIN) && gw_ingest_handle(gw->ingest) != MN_OK)
            log_warn("gateway", "ingest failed");
        if (gw_deliver_pump(gw->deliver) != MN_OK)
            log_warn("gateway", "delivery round failed; will retry");
        if (s_reload) {
            s_reload = 0;
            s_reload_parties(gw);
        }
        if (mn_mono_ms() >= next_release) {
            gw_store_release_map(gw->store);
            next_release = mn_mono_ms() + RELEASE_INTERVAL_MS;
        }
        if (mn_mono_ms() >= next_status) {
            s_sync_ledger(gw);
            s_write_status(gw, "running");
            next_status = mn_mono_ms() + STATUS_INTERVAL_MS;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'L'},
        {"log-format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home = NULL, *config = NULL, *level = NULL, *format = NULL;
    int check_only = 0, c;
    if (mn_process_harden_main(PROG) != 0) /* before any secret is in memory */
        return 1;
    while ((c = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'H': home = optarg; break;
        case 'c': config = optarg; break;
        case 'n': check_only = 1; break;
        case 'L': level = optarg; break;
        case 'F': format = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        s_usage(stderr);
        return 2;
    }
    char path[PATH_MAX];
    if (!config) {
        if (!home)
            home = getenv("MELDNET_HOME");
        if (!home)
            home = "meldnet-home";
        snprintf(path, sizeof path, "%s/gateway.conf", home);
        config = path;
    }

    if (format) {
        enum mn_log_format f;
        if (mn_log_parse_format(format, &f) != MN_OK) {
            fprintf(stderr, PROG ": unknown log format '%s' (text or json)\n", format);
            return 2;
        }
        mn_log_set_format(f);
    }

    s_gateway gw;
    memset(&gw, 0, sizeof gw);
    mn_diag d;
    mn_diag_clear(&d);
    int rc = mn_crypto_init();
    if (rc != MN_OK) {
        fprintf(stderr, PROG ": cannot initialise libsodium\n");
        return 1;
    }
    rc = gw_config_load(config, &gw.cfg, &d);
    if (rc == MN_OK) {
        enum mn_log_level lvl;
        const char *want = level ? level : gw.cfg->log_level;
        if (mn_log_parse_level(want, &lvl) != MN_OK) {
            fprintf(stderr, PROG ": unknown log level '%s' (err, warn, notice, info, debug)\n",
                    want);
            gw_config_destroy(&gw.cfg);
            return 2;
        }
        mn_log_set_level(lvl);
        rc = s_load_keys(&gw, &d);
    }
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        s_gateway_close(&gw);
        return 1;
    }
    gw_config_warn_free_space(gw.cfg); /* -n and start: a floor above the free space */
    if (check_only && s_check_store(&gw, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        s_gateway_close(&gw);
        return 1;
    }
    if (check_only) {
        gw_config_warn_acute_unbound(gw.cfg); /* a warning: the configuration still loads */
        printf("%s: configuration OK: listen=%s agents=%zu\n", config, gw.cfg->listen,
               gw.cfg->n_agents);
        s_gateway_close(&gw);
        return 0;
    }
    gw_stats_init(&gw.stats);
    gw_conn_raise_fd_limit();
    if (s_install_signals() != 0) {
        perror(PROG ": sigaction");
        s_gateway_close(&gw);
        return 1;
    }
    rc = s_start(&gw, &d);
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        s_gateway_close(&gw);
        return 1;
    }
    mn_log_set_nonblocking(); /* the serving loop must not wait for a stalled stderr either */
    int exit_code = s_serve(&gw);
    /* What was received is committed and answered before the gateway goes. */
    gw_ingest_stop(gw.ingest);
    s_write_status(&gw, "stopped");
    log_notice("gateway", "stopped accepted=%llu duplicates=%llu rejected=%llu",
               (unsigned long long)atomic_load(&gw.stats.accepted),
               (unsigned long long)atomic_load(&gw.stats.duplicates),
               (unsigned long long)atomic_load(&gw.stats.rejected));
    s_gateway_close(&gw);
    return exit_code;
}
