/* gw_conn.c - socket monitor thread and the table of open connections on one listening socket.
 *
 * libzmq (4.3, v1 monitor) sends each event as two frames: 16-bit event + 32-bit value, then an
 * endpoint. ACCEPTED, DISCONNECTED and CLOSED carry the connection's descriptor; the handshake
 * events do not (FAILED_PROTOCOL carries a ZMQ_PROTOCOL_ERROR_*, FAILED_NO_DETAIL an errno,
 * FAILED_AUTH the ZAP status, SUCCEEDED 0).
 *
 * The table is indexed by descriptor (Linux hands out the lowest free one, so it stays small).
 * An entry is FREE, OPEN or GONE. GONE remembers that the descriptor's connection ended, so a
 * message read after its end is not taken for a new connection; a FREE entry may hold a note
 * that overtook its ACCEPTED (see s_note). Invariants, under c->lock: n_open = OPEN entries;
 * n_unnoted = OPEN entries that carried no message; n_handshaking = accepted connections with
 * no handshake outcome yet, at most n_unnoted (no connection carries a message before its
 * handshake is done; s_remove keeps it so).
 *
 * The peer's address. libzmq owns the descriptor and may close it before this thread reads
 * the ACCEPTED (a peer that sends garbage at once is gone in microseconds), and then reuse it.
 * So the thread reads all waiting events first and calls getpeername only for an ACCEPTED
 * whose end is not among them; otherwise the peer stays unknown rather than being the next
 * connection's. A fast failure is therefore often logged with peer=unknown.
 *
 * Naming the peer of a failed handshake. FAILED_PROTOCOL and FAILED_NO_DETAIL carry no
 * descriptor, but the engine that fails reports the failure and then, in the same call on its
 * I/O thread, DISCONNECTED with its descriptor. So a failure is counted at once, kept pending,
 * and logged with the next DISCONNECTED of a connection that never carried a message. With one
 * I/O thread (the default; the gateway does not change it) nothing comes between the two; with
 * more, a concurrent end can take the name. When none can be named: peer=unknown.
 *
 * Silent drops. A peer whose first byte is not 0xFF (HTTP, TLS, random bytes) is taken for
 * ZMTP 1.0, which libzmq 4.3 refuses on a ZAP socket with no handshake event at all: only
 * DISCONNECTED. Such an end is counted as malformed (detail=not_zmtp3) when every connection
 * that carried no message is still handshaking (n_handshaking >= n_unnoted): then it cannot be
 * an admitted but idle peer, nor one that ZAP refused. When it might be, it is not counted:
 * rather miss one than blame an idle agent.
 *
 * Shedding (gw_conn.h: unauthenticated connections). Each ACCEPTED is checked against the
 * bounds at once, under the lock, by a walk of the table (it holds a few entries per open
 * descriptor, and the walk stops early only when nothing is over a bound). A connection shut
 * down for it is marked `shed`: its end (often with FAILED_NO_DETAIL before it) is then not
 * counted or logged as malformed again. So a failure is counted when its connection ends, not
 * when it is reported.
 *
 * Caveats: a peer that connects and closes without a word (port scanner, TCP health check)
 * gets FAILED_NO_DETAIL and is counted as malformed. Under a flood the monitor may drop events
 * (high-water mark): an entry whose end was lost stays open until its descriptor is accepted
 * again, and the counts above drift until the table empties. A connection accepted before
 * gw_conn_start is never in the table. ZMQ_SRCFD is deprecated; if a libzmq drops it, notes
 * do nothing and no party's connection can be closed.
 */
#include "gw_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "gw_auth.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_time.h"

#define S_LOG "auth"
#define S_EVENTS                                                                                   \
    (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED |                              \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
#define S_POLL_MS 100      /* how long a stop may wait: see gw_conn_stop */
#define S_EVENT_HWM 65536  /* events queued for the thread before libzmq drops them */
#define S_FD_MAX (1 << 20) /* descriptors above this are not tracked */
#define S_PEER_MAX 64      /* "[v6 address]:port" */
#define S_ENDPOINT_MAX 128
#define S_WARN_PER_MINUTE 30
#define S_BATCH 64    /* events read at once, before any peer is looked up */
#define S_FD_LOW 4096 /* a descriptor limit below this is worth a warning */

enum { S_FREE = 0, S_OPEN, S_GONE };

typedef struct s_entry {
    int state;
    int noted; /* carried a message, so past the handshake; when FREE: a note waiting for the
                * connection's ACCEPTED, with the party already in `party` */
    int shut;  /* shut down by gw_conn_close_party; libzmq has yet to drop it */
    int shed;  /* shut down while unauthenticated (over a bound); its end is not malformed */
    uint64_t accepted_ms; /* monotonic, when this thread read its ACCEPTED */
    struct sockaddr_storage addr;
    socklen_t addr_len; /* 0: peer unknown */
    char peer[S_PEER_MAX];
    char party[MN_NAME_MAX + 1];
} s_entry;

/* One monitor event; addr is the peer looked up right after reading an ACCEPTED. */
typedef struct s_event {
    int event;
    uint32_t value;
    char endpoint[S_ENDPOINT_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len; /* 0: unknown */
} s_event;

/* A handshake failure waiting for its connection's end (monitor thread only). */
typedef struct s_failure {
    int active;
    int event;
    uint32_t value;
    char endpoint[S_ENDPOINT_MAX];
} s_failure;

struct gw_conn {
    void *socket; /* watched; borrowed */
    void *pair;   /* the monitor's receiving end; used by the thread only once it runs */
    char role[16];
    char monitor_endpoint[96];
    gw_stats *stats;
    pthread_t thread;
    int thread_started;
    int monitoring;
    atomic_int stop;
    pthread_mutex_t lock; /* guards everything below */
    s_entry *table;       /* indexed by descriptor */
    size_t cap;
    uint64_t n_open;
    size_t n_unnoted;
    size_t n_handshaking;
    unsigned per_address; /* bounds on unauthenticated connections (gw_conn_set_limits) */
    unsigned total;
    s_failure pending;      /* monitor thread only: not under the lock */
    s_event batch[S_BATCH]; /* monitor thread only */
};

static mn_log_limit s_malformed_limit;
static mn_log_limit s_shed_limit;

/* --- peers -------------------------------------------------------------------------------- */

static void s_format_peer(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    snprintf(out, cap, "unknown");
    if (len == 0)
        return;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        if (inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip))
            snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip))
            snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    }
}

/* The peer of fd now; addr_len 0 when it has none (closed, not a socket, not TCP). */
static socklen_t s_peer_of(int fd, struct sockaddr_storage *ss)
{
    socklen_t len = sizeof *ss;
    memset(ss, 0, sizeof *ss);
    if (getpeername(fd, (struct sockaddr *)ss, &len) != 0)
        return 0;
    if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
        return 0;
    return len;
}

/* Same address family, address and port. */
static int s_same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* The source a bound counts by: an IPv4 address (also one mapped into IPv6), or an IPv6 /64,
 * the least one host is given (it could take a fresh address for every connection). */
static int s_source(const struct sockaddr_storage *a, uint8_t out[8])
{
    memset(out, 0, 8);
    if (a->ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)a)->sin_addr, 4);
        return 4;
    }
    const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(x)) {
        memcpy(out, x->s6_addr + 12, 4);
        return 4;
    }
    memcpy(out, x->s6_addr, 8);
    return 6;
}

/* The same source (any port): see s_source. */
static int s_same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    uint8_t x[8], y[8];
    return s_source(a, x) == s_source(b, y) && memcmp(x, y, sizeof x) == 0;
}

static void s_set_peer(s_entry *e, const struct sockaddr_storage *ss, socklen_t len)
{
    e->addr = *ss;
    e->addr_len = len;
    s_format_peer(ss, len, e->peer, sizeof e->peer);
}

/* --- the table (caller holds the lock) ---------------------------------------------------- */

static s_entry *s_at(gw_conn *c, int fd)
{
    return fd >= 0 && (size_t)fd < c->cap ? &c->table[fd] : NULL;
}

/* The entry for fd, growing the table to hold it. NULL when fd is out of range or no memory. */
static s_entry *s_slot(gw_conn *c, int fd)
{
    if (fd < 0 || fd >= S_FD_MAX)
        return NULL;
    if ((size_t)fd >= c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        s_entry *t = realloc(c->table, cap * sizeof *t);
        if (!t)
            return NULL;
        memset(t + c->cap, 0, (cap - c->cap) * sizeof *t);
        c->table = t;
        c->cap = cap;
    }
    return &c->table[fd];
}

/* Open e for a connection just accepted, keeping a note that came before its ACCEPTED. */
static void s_open(gw_conn *c, s_entry *e)
{
    int noted = e->state == S_FREE && e->noted;
    char party[MN_NAME_MAX + 1];
    snprintf(party, sizeof party, "%s", noted ? e->party : "");
    memset(e, 0, sizeof *e);
    e->state = S_OPEN;
    e->noted = noted;
    snprintf(e->party, sizeof e->party, "%s", party);
    snprintf(e->peer, sizeof e->peer, "unknown");
    c->n_open++;
    if (!noted)
        c->n_unnoted++;
}

static void s_remove(gw_conn *c, s_entry *e)
{
    c->n_open--;
    if (!e->noted)
        c->n_unnoted--;
    e->state = S_GONE;
    e->noted = 0;
    e->party[0] = '\0';
    if (c->n_handshaking > c->n_unnoted)
        c->n_handshaking = c->n_unnoted;
}

static void s_set_noted(gw_conn *c, s_entry *e)
{
    if (e->noted)
        return;
    e->noted = 1;
    c->n_unnoted--;
}

/* --- log lines ---------------------------------------------------------------------------- */

/* Each code by its libzmq name: {code, "code"}. */
#define S_PROTOCOL_ERROR(code)                                                                     \
    {                                                                                              \
        code, #code                                                                                \
    }

static const struct {
    uint32_t code;
    const char *name;
} s_protocol_errors[] = {
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA),
    S_PROTOCOL_ERROR(ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED),
};

/* "detail=NAME" and, for an errno, ` error="text"`. */
static void s_describe(int event, uint32_t value, char *out, size_t cap)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        char text[128], quoted[160];
        if (strerror_r((int)value, text, sizeof text) != 0)
            snprintf(text, sizeof text, "errno %u", (unsigned)value);
        mn_log_quote(text, quoted, sizeof quoted);
        snprintf(out, cap, "detail=HANDSHAKE_FAILED_NO_DETAIL error=\"%s\"", quoted);
        return;
    }
    if (event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        snprintf(out, cap, "detail=not_zmtp3"); /* dropped without an event, see the top */
        return;
    }
    for (size_t i = 0; i < sizeof s_protocol_errors / sizeof s_protocol_errors[0]; i++) {
        if (s_protocol_errors[i].code == value) {
            snprintf(out, cap, "detail=%s", s_protocol_errors[i].name);
            return;
        }
    }
    snprintf(out, cap, "detail=ZMQ_PROTOCOL_ERROR_0x%08x", (unsigned)value);
}

static void s_log_malformed(const gw_conn *c, const s_failure *f, const char *peer)
{
    char endpoint[S_ENDPOINT_MAX], detail[256];
    mn_log_quote(f->endpoint, endpoint, sizeof endpoint); /* libzmq's text: keep it one line */
    s_describe(f->event, f->value, detail, sizeof detail);
    mn_log_ratelimited(&s_malformed_limit, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                       "handshake refused cause=%s role=%s endpoint=%s peer=%s %s",
                       gw_refusal_name(GW_REFUSAL_MALFORMED), c->role, endpoint, peer, detail);
}

/* A pending failure that no connection could be given. */
static void s_flush_pending(gw_conn *c)
{
    if (!c->pending.active)
        return;
    gw_stats_count_refusal(c->stats, GW_REFUSAL_MALFORMED);
    s_log_malformed(c, &c->pending, "unknown");
    c->pending.active = 0;
}

/* --- bounds on unauthenticated connections (caller holds the lock) ------------------------ */

/* Open, no message yet, not shut down, a known peer, and young enough to be handshaking. */
static int s_is_unauthenticated(const s_entry *e, uint64_t now_ms)
{
    return e->state == S_OPEN && !e->noted && !e->shut && e->addr_len &&
           now_ms - e->accepted_ms < GW_AUTH_HANDSHAKE_MS;
}

/* Shut fd down for being over a bound, if it still joins us to the recorded peer (the
 * descriptor is libzmq's: never close() it). Counted and logged, rate-limited. */
static void s_shed(gw_conn *c, int fd, s_entry *e, unsigned from_address, unsigned in_all)
{
    struct sockaddr_storage now;
    e->shut = 1; /* no longer counts against a bound, whatever happens next */
    if (!s_peer_of(fd, &now) || !s_same_peer(&now, &e->addr))
        return; /* gone already; a reused descriptor is another connection */
    if (shutdown(fd, SHUT_RDWR) != 0)
        return;
    e->shed = 1;
    gw_stats_count_refusal(c->stats, GW_REFUSAL_HANDSHAKE_LIMIT);
    mn_log_ratelimited(&s_shed_limit, S_WARN_PER_MINUTE, MN_LOG_WARN, S_LOG,
                       "handshake refused cause=%s role=%s peer=%s unauthenticated_from_address=%u "
                       "unauthenticated=%u per_address_max=%u max=%u",
                       gw_refusal_name(GW_REFUSAL_HANDSHAKE_LIMIT), c->role, e->peer, from_address,
                       in_all, c->per_address, c->total);
}

/* After `newest` was accepted: shut down the oldest unauthenticated connection of its address
 * while that address is over per_address, then the oldest of all while all are over total. */
static void s_shed_excess(gw_conn *c, const s_entry *newest)
{
    uint64_t now = mn_mono_ms();
    for (;;) {
        unsigned n_all = 0, n_addr = 0;
        int oldest = -1, oldest_addr = -1;
        for (size_t fd = 0; fd < c->cap; fd++) {
            const s_entry *e = &c->table[fd];
            if (!s_is_unauthenticated(e, now))
                continue;
            n_all++;
            if (oldest < 0 || e->accepted_ms < c->table[oldest].accepted_ms)
                oldest = (int)fd;
            if (!newest->addr_len || !s_same_address(&e->addr, &newest->addr))
                continue;
            n_addr++;
            if (oldest_addr < 0 || e->accepted_ms < c->table[oldest_addr].accepted_ms)
                oldest_addr = (int)fd;
        }
        int victim = n_addr > c->per_address ? oldest_addr : n_all > c->total ? oldest : -1;
        if (victim < 0)
            return;
        s_shed(c, victim, &c->table[victim], n_addr, n_all);
    }
}

/* --- events (monitor thread) -------------------------------------------------------------- */

static void s_handshake_done(gw_conn *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_handshaking > 0)
        c->n_handshaking--;
    pthread_mutex_unlock(&c->lock);
}

static void s_on_accepted(gw_conn *c, const s_event *ev)
{
    int fd = (int)ev->value;
    pthread_mutex_lock(&c->lock);
    s_entry *e = s_slot(c, fd);
    if (e && e->state == S_OPEN)
        s_remove(c, e); /* its end was never reported: this is a new connection */
    if (e) {
        s_open(c, e);
        e->accepted_ms = mn_mono_ms();
        if (ev->addr_len)
            s_set_peer(e, &ev->addr, ev->addr_len);
        if (!e->noted) /* a noted one is past its handshake already */
            c->n_handshaking++;
        if (!e->noted && e->addr_len)
            s_shed_excess(c, e);
    }
    pthread_mutex_unlock(&c->lock);
    if (!e)
        log_warn(S_LOG, "cannot track a connection role=%s fd=%d", c->role, fd);
}

/* A failure with a detail: count and log it when its connection ends (see the top). */
static void s_on_failed(gw_conn *c, const s_event *ev)
{
    s_handshake_done(c);
    s_flush_pending(c);
    c->pending.active = 1;
    c->pending.event = ev->event;
    c->pending.value = ev->value;
    snprintf(c->pending.endpoint, sizeof c->pending.endpoint, "%s", ev->endpoint);
}

/* Would an end of this un-noted connection be a drop during the handshake? */
static int s_is_silent_drop(const gw_conn *c)
{
    return c->n_handshaking > 0 && c->n_handshaking >= c->n_unnoted;
}

/* What an end means for the pending failure and the count (caller holds the lock). */
enum { S_END_PLAIN, S_END_PENDING, S_END_SILENT };

static int s_classify_end(gw_conn *c, const s_entry *e, int event)
{
    int open = e && e->state == S_OPEN;
    int unnoted = open && !e->noted;
    if (c->pending.active && (unnoted || (!open && event == ZMQ_EVENT_DISCONNECTED)))
        return S_END_PENDING;
    if (unnoted && !c->pending.active && s_is_silent_drop(c))
        return S_END_SILENT;
    return S_END_PLAIN;
}

static void s_on_gone(gw_conn *c, const s_event *ev)
{
    char peer[S_PEER_MAX] = "unknown";
    pthread_mutex_lock(&c->lock);
    s_entry *e = s_at(c, (int)ev->value);
    int end = s_classify_end(c, e, ev->event);
    /* Shut down by us (over a bound: counted then; or idle at a revocation): its failure is
     * ours, not a malformed handshake. */
    int shed = e && e->state == S_OPEN && (e->shed || e->shut);
    if (end == S_END_SILENT)
        c->n_handshaking--;
    if (e && e->state == S_OPEN) {
        snprintf(peer, sizeof peer, "%s", e->peer);
        s_remove(c, e);
    } else if (e) {
        /* A connection we never saw accepted (made before the monitor): drop its note. */
        e->state = S_GONE;
        e->noted = 0;
    }
    pthread_mutex_unlock(&c->lock);

    if (end == S_END_PENDING) {
        if (!shed) {
            gw_stats_count_refusal(c->stats, GW_REFUSAL_MALFORMED);
            s_log_malformed(c, &c->pending, peer);
        }
        c->pending.active = 0;
    } else if (end == S_END_SILENT && !shed) {
        s_failure f = {1, ev->event, 0, ""};
        snprintf(f.endpoint, sizeof f.endpoint, "%s", ev->endpoint);
        gw_stats_count_refusal(c->stats, GW_REFUSAL_MALFORMED);
        s_log_malformed(c, &f, peer);
    }
}

static void s_dispatch(gw_conn *c, const s_event *ev)
{
    switch (ev->event) {
    case ZMQ_EVENT_ACCEPTED: s_on_accepted(c, ev); break;
    case ZMQ_EVENT_DISCONNECTED:
    case ZMQ_EVENT_CLOSED: s_on_gone(c, ev); break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: /* ZAP said no: gw_auth counted and logged it */
        s_handshake_done(c);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: s_on_failed(c, ev); break;
    default: break;
    }
}

/* Read one event without waiting. Returns 1 when one was read into *ev, 0 when none was
 * waiting or it was not an event, -1 when the monitor stopped (or the context is ending). */
static int s_read_event(gw_conn *c, s_event *ev)
{
    zmq_msg_t head, ep;
    zmq_msg_init(&head);
    zmq_msg_init(&ep);
    int rc = 0;
    if (zmq_msg_recv(&head, c->pair, ZMQ_DONTWAIT) < 0) {
        rc = zmq_errno() == ETERM ? -1 : 0;
        goto out;
    }
    /* The two frames travel as one message: the second is there once the first is. */
    if (!zmq_msg_more(&head) || zmq_msg_recv(&ep, c->pair, 0) < 0 || zmq_msg_size(&head) != 6)
        goto out;
    uint16_t event;
    memcpy(&event, zmq_msg_data(&head), sizeof event);
    memcpy(&ev->value, (const uint8_t *)zmq_msg_data(&head) + 2, sizeof ev->value);
    ev->event = event;
    ev->addr_len = 0;
    size_t n =
        zmq_msg_size(&ep) < sizeof ev->endpoint - 1 ? zmq_msg_size(&ep) : sizeof ev->endpoint - 1;
    memcpy(ev->endpoint, zmq_msg_data(&ep), n);
    ev->endpoint[n] = '\0';
    rc = event == ZMQ_EVENT_MONITOR_STOPPED ? -1 : 1;
out:
    zmq_msg_close(&head);
    zmq_msg_close(&ep);
    return rc;
}

/* Does an event after batch[i] end the connection on the same descriptor? */
static int s_ends_later(const s_event *batch, size_t n, size_t i)
{
    for (size_t j = i + 1; j < n; j++)
        if ((batch[j].event == ZMQ_EVENT_DISCONNECTED || batch[j].event == ZMQ_EVENT_CLOSED) &&
            batch[j].value == batch[i].value)
            return 1;
    return 0;
}

/* Look up the peers of the accepted connections in a batch, at once. libzmq may have closed
 * (and reused) a descriptor before we read its ACCEPTED: when its end is in the batch already,
 * getpeername would name whoever has the descriptor now, so the peer stays unknown. */
static void s_lookup_peers(s_event *batch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (batch[i].event == ZMQ_EVENT_ACCEPTED && !s_ends_later(batch, n, i))
            batch[i].addr_len = s_peer_of((int)batch[i].value, &batch[i].addr);
}

/* Read what is waiting (up to S_BATCH events) and handle it. Returns 1 when stopped. */
static int s_handle_batch(gw_conn *c)
{
    size_t n = 0;
    int rc = 0;
    while (n < S_BATCH && (rc = s_read_event(c, &c->batch[n])) != 0) {
        if (rc < 0)
            break;
        n++;
    }
    s_lookup_peers(c->batch, n);
    for (size_t i = 0; i < n; i++)
        s_dispatch(c, &c->batch[i]);
    return rc < 0;
}

static void *s_thread(void *arg)
{
    gw_conn *c = arg;
    int stopped = 0;
    mn_log_set_nonblocking(); /* the bounds must hold whatever the log does */
    while (!stopped) {
        zmq_pollitem_t item = {c->pair, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, S_POLL_MS);
        if (rc > 0)
            stopped = s_handle_batch(c);
        else if (rc == 0)
            stopped = atomic_load(&c->stop);
        else
            stopped = zmq_errno() != EINTR;
    }
    s_flush_pending(c);
    return NULL;
}

/* --- API ---------------------------------------------------------------------------------- */

static int s_open_monitor(gw_conn *c, void *zmq_ctx, mn_diag *d)
{
    int linger = 0, hwm = S_EVENT_HWM;
    c->pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    /* Connect before the monitor binds (inproc allows it), so no event is sent to nobody. */
    if (!c->pair || zmq_setsockopt(c->pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->pair, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_connect(c->pair, c->monitor_endpoint) != 0)
        return mn_diag_set(d, MN_EZMQ, c->monitor_endpoint, "cannot open the %s monitor: %s",
                           c->role, zmq_strerror(zmq_errno()));
    if (zmq_socket_monitor(c->socket, c->monitor_endpoint, S_EVENTS) != 0)
        return mn_diag_set(d, MN_EZMQ, c->monitor_endpoint, "cannot monitor the %s socket: %s",
                           c->role, zmq_strerror(zmq_errno()));
    c->monitoring = 1;
    return MN_OK;
}

int gw_conn_start(void *zmq_ctx, void *socket, const char *role, gw_stats *stats, gw_conn **out,
                  mn_diag *d)
{
    gw_conn *c = calloc(1, sizeof *c);
    if (!c)
        return mn_diag_set(d, MN_ENOMEM, role, "no memory for the connection table");
    pthread_mutex_init(&c->lock, NULL);
    atomic_init(&c->stop, 0);
    c->socket = socket;
    c->stats = stats;
    c->per_address = GW_CONN_PER_ADDRESS_DEFAULT;
    c->total = GW_CONN_TOTAL_DEFAULT;
    snprintf(c->role, sizeof c->role, "%s", role);
    /* The address makes the name unique when one context watches several sockets. */
    snprintf(c->monitor_endpoint, sizeof c->monitor_endpoint, "inproc://gw-conn-%s-%p", c->role,
             (void *)c);
    int rc = s_open_monitor(c, zmq_ctx, d);
    int err = rc == MN_OK ? pthread_create(&c->thread, NULL, s_thread, c) : 0;
    if (err) {
        errno = err; /* pthread_create returns it instead */
        rc = mn_diag_sys(d, c->role, "cannot start the connection monitor thread");
    }
    if (rc != MN_OK) {
        gw_conn_stop(&c);
        return rc;
    }
    c->thread_started = 1;
    *out = c;
    return MN_OK;
}

/* Record party on fd's entry (caller holds the lock). An OPEN entry is the message's own
 * connection. A FREE one has not had its ACCEPTED read yet (libzmq sends it before the
 * connection can carry anything, but our thread may be behind): the note waits for it, as
 * the next ACCEPTED read for fd is this connection's. A GONE one may be a message that outlived
 * its connection or a new connection not yet read: the note is dropped, the next one counts. */
static void s_note(gw_conn *c, s_entry *e, const char *party)
{
    if (e->state == S_GONE || e->shut)
        return;
    if (e->state == S_OPEN)
        s_set_noted(c, e);
    else
        e->noted = 1;
    if (strcmp(e->party, party) != 0)
        snprintf(e->party, sizeof e->party, "%s", party);
}

void gw_conn_set_limits(gw_conn *c, unsigned per_address, unsigned total)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    if (per_address)
        c->per_address = per_address;
    if (total)
        c->total = total;
    pthread_mutex_unlock(&c->lock);
}

void gw_conn_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warn("gateway", "cannot read the descriptor limit error=\"%s\"", strerror(errno));
        return;
    }
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    unsigned long long now = rl.rlim_cur == RLIM_INFINITY ? ~0ULL : rl.rlim_cur;
    if (now < S_FD_LOW)
        log_warn("gateway",
                 "descriptor limit is low, each connection takes one: raise "
                 "LimitNOFILE of the service (or ulimit -n) to %u or more open_files_max=%llu "
                 "hard_max=%llu",
                 S_FD_LOW, now,
                 rl.rlim_max == RLIM_INFINITY ? ~0ULL : (unsigned long long)rl.rlim_max);
    else
        log_notice("gateway", "descriptor limit open_files_max=%llu was=%llu", now,
                   was == RLIM_INFINITY ? ~0ULL : (unsigned long long)was);
}

void gw_conn_note(gw_conn *c, const zmq_msg_t *msg, const char *party)
{
    if (!c || !msg || !party)
        return;
    int fd = zmq_msg_get(msg, ZMQ_SRCFD);
    if (fd < 0)
        return;
    pthread_mutex_lock(&c->lock);
    s_entry *e = s_at(c, fd);
    if (!e)
        e = s_slot(c, fd); /* a first message that overtook its ACCEPTED; rare */
    if (e)
        s_note(c, e, party);
    pthread_mutex_unlock(&c->lock);
}

uint64_t gw_conn_open_count(gw_conn *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t n = c->n_open;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static int s_is_partys(const s_entry *e, const char *party)
{
    return e->state == S_OPEN && e->noted && !e->shut && strcmp(e->party, party) == 0;
}

int gw_conn_party_connected(gw_conn *c, const char *party)
{
    if (!c || !party)
        return 0;
    int found = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t fd = 0; fd < c->cap && !found; fd++)
        found = s_is_partys(&c->table[fd], party);
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Shut fd down if it still joins us to the recorded peer. The descriptor is libzmq's: it may
 * have been closed and reused since the entry was made, so never close() it ourselves. */
static int s_shut(gw_conn *c, int fd, s_entry *e)
{
    struct sockaddr_storage now;
    e->shut = 1; /* either way it is no longer the party's: a reused fd belongs to another */
    if (!e->addr_len || !s_peer_of(fd, &now) || !s_same_peer(&now, &e->addr)) {
        log_info(S_LOG, "connection not closed role=%s party=%s peer=%s reason=%s", c->role,
                 e->party, e->peer, e->addr_len ? "peer-changed" : "peer-unknown");
        return 0;
    }
    if (shutdown(fd, SHUT_RDWR) != 0) {
        log_warn(S_LOG, "cannot close a connection role=%s party=%s peer=%s error=\"%s\"", c->role,
                 e->party, e->peer, zmq_strerror(errno));
        return 0;
    }
    log_info(S_LOG, "closed connection role=%s party=%s peer=%s", c->role,
             e->party[0] ? e->party : "-", e->peer);
    return 1;
}

size_t gw_conn_close_party(gw_conn *c, const char *party)
{
    if (!c || !party)
        return 0;
    size_t closed = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t fd = 0; fd < c->cap; fd++)
        if (s_is_partys(&c->table[fd], party))
            closed += (size_t)s_shut(c, (int)fd, &c->table[fd]);
    pthread_mutex_unlock(&c->lock);
    return closed;
}

size_t gw_conn_close_idle(gw_conn *c)
{
    if (!c)
        return 0;
    size_t closed = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t fd = 0; fd < c->cap; fd++) {
        s_entry *e = &c->table[fd];
        if (e->state == S_OPEN && !e->noted && !e->shut)
            closed += (size_t)s_shut(c, (int)fd, e);
    }
    pthread_mutex_unlock(&c->lock);
    if (closed)
        log_notice(S_LOG,
                   "closed connections that carried no message yet; a revoked party's "
                   "idle one may be among them, the others reconnect by themselves role=%s "
                   "count=%zu",
                   c->role, closed);
    return closed;
}

void gw_conn_stop(gw_conn **c_p)
{
    if (!c_p || !*c_p)
        return;
    gw_conn *c = *c_p;
    /* Stopping sends MONITOR_STOPPED, but libzmq closes its end with no linger and the event is
     * often lost; the flag ends the thread at its next poll timeout. */
    if (c->monitoring)
        (void)zmq_socket_monitor(c->socket, NULL, 0);
    atomic_store(&c->stop, 1);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    if (c->pair)
        zmq_close(c->pair);
    pthread_mutex_destroy(&c->lock);
    free(c->table);
    free(c);
    *c_p = NULL;
}
