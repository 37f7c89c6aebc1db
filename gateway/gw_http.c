/* gw_http.c - the operators' HTTP endpoint (libmicrohttpd): /metrics, /healthz, /readyz, /.
 *
 * libmicrohttpd runs one internal polling thread (epoll on Linux), so requests are answered
 * one at a time from the latest snapshot, and a flood of connections meets the connection
 * limits and the idle timeout instead of new threads. The snapshot is shared by reference
 * count: publish makes its copy outside the lock and only swaps pointers inside it; a request
 * takes a reference under the lock and renders outside it, so neither side waits for the
 * other's work. Whoever drops the last reference frees the copy.
 *
 * Slow clients. libmicrohttpd's timeout is an idle timeout: a client that sends one byte of a
 * header every few seconds (slowloris) would hold its connection for ever. So every connection
 * is also watched (MHD_OPTION_NOTIFY_CONNECTION): its request must be received and answered
 * within S_REQUEST_MAX_S of the connection's start, or of the end of its previous request
 * (MHD_OPTION_NOTIFY_COMPLETED). A watcher thread shuts down (shutdown(), never close(): the
 * descriptor is libmicrohttpd's) a connection past that deadline; libmicrohttpd then sees it
 * end and closes it. libmicrohttpd reports a connection CLOSED before it closes the descriptor,
 * and both sides hold s_watch_lock, so a descriptor that was closed and reused is never shut.
 * With at most S_MAX_PER_IP connections from one address, a few trickling addresses cannot
 * take every slot, and the slots they take come back within S_REQUEST_MAX_S.
 *
 * Caveats: the endpoint has no authentication and no TLS. Bind it to loopback or a management
 * network; it shows party names and counts, never report content.
 */
#include "gw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gw_metrics.h"
#include "gw_statuspage.h"
#include "mn_log.h"
#include "mn_time.h"

/* Enough for a few scrapers, a wall screen and a curl. Connections over a limit are accepted
 * and closed at once; the per-address limit keeps one client from taking every slot, idle
 * ones are dropped after the timeout, and a request may take S_REQUEST_MAX_S in all. */
#define S_MAX_CONNECTIONS 64u
#define S_MAX_PER_IP 8u
#define S_IDLE_TIMEOUT_S 10u
#define S_REQUEST_MAX_S 10u
#define S_WATCH_INTERVAL_MS 250
#define S_PEER_MAX 64

/* One open connection and when its current request must be done (under gw_http.watch_lock). */
typedef struct s_watch {
    int fd;
    int shut;
    uint64_t deadline_ms; /* monotonic */
    char peer[S_PEER_MAX];
    struct s_watch *prev, *next;
} s_watch;

static const char s_plain[] = "text/plain; charset=utf-8";
static const char s_prometheus[] = "text/plain; version=0.0.4; charset=utf-8";
static const char s_html[] = "text/html; charset=utf-8";

/* A published copy; refs (under gw_http.lock) counts gw_http.snap and requests rendering it. */
typedef struct s_shared {
    gw_snapshot snap;
    unsigned refs;
} s_shared;

struct gw_http {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    s_shared *snap;             /* latest published copy; NULL until the first publish */
    atomic_int serving;         /* 0 while starting: libmicrohttpd's messages go to start_err */
    char start_err[256];        /* its first message while starting, for the diag */
    mn_log_limit log_limit;     /* its messages once serving: a client can cause them */
    pthread_mutex_t watch_lock; /* the watched connections and the watcher's stop flag */
    pthread_cond_t watch_wake;
    s_watch *watched;
    int watch_stop;
    int watcher_started;
    pthread_t watcher;
    mn_log_limit slow_limit;  /* connections cut for taking too long */
    atomic_uint_fast64_t cut; /* how many */
};

typedef union s_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} s_sockaddr;

/* What a route answers: status, Content-Type and a malloc'd body (NULL: out of memory). */
typedef struct s_reply {
    unsigned int status;
    const char *type;
    char *body;
} s_reply;

/* ---- listen address ------------------------------------------------------------------- */

/* 1-65535, decimal digits only: "09464" is fine, "+9464", "9464 " and "0" are not. */
static int s_parse_port(const char *text, uint16_t *port)
{
    unsigned long v = 0;
    if (*text == '\0' || strlen(text) > 5)
        return 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return 0;
    *port = (uint16_t)v;
    return 1;
}

/* Split "HOST:PORT" or "[HOST]:PORT". An unbracketed host with a colon is refused: in
 * "::1:9464" the port cannot be told from the address. */
static int s_split(const char *text, char *host, size_t cap, const char **port)
{
    const char *start = text, *end;
    if (text[0] == '[') {
        start = text + 1;
        end = strchr(start, ']');
        if (!end || end[1] != ':')
            return 0;
        *port = end + 2;
    } else {
        end = strrchr(text, ':');
        if (!end || memchr(text, ':', (size_t)(end - text)))
            return 0;
        *port = end + 1;
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap)
        return 0;
    memcpy(host, start, n);
    host[n] = '\0';
    return 1;
}

static int s_parse_listen(const char *text, s_sockaddr *a, int *ipv6)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_text;
    uint16_t port;
    memset(a, 0, sizeof *a);
    if (!text || !s_split(text, host, sizeof host, &port_text) || !s_parse_port(port_text, &port))
        return 0;
    *ipv6 = text[0] == '[';
    if (*ipv6) {
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons(port);
        return inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1;
    }
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons(port);
    return inet_pton(AF_INET, host, &a->in4.sin_addr) == 1;
}

/* ---- replies -------------------------------------------------------------------------- */

static s_reply s_text(unsigned int status, const char *text)
{
    return (s_reply){status, s_plain, strdup(text)};
}

static s_reply s_rendered(const char *type, char *body)
{
    return (s_reply){MHD_HTTP_OK, type, body};
}

static s_reply s_healthz(const gw_snapshot *s)
{
    (void)s;
    return s_text(MHD_HTTP_OK, "ok\n");
}

static s_reply s_readyz(const gw_snapshot *s)
{
    char text[1024]; /* every reason fits, storage ones included */
    if (!s)
        return s_text(MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
    if (gw_snapshot_is_ready(s))
        return s_text(MHD_HTTP_OK, "ready\n");
    gw_snapshot_not_ready_text(s, "\n", text, sizeof text - 1); /* one line per reason */
    strcat(text, "\n");
    return s_text(MHD_HTTP_SERVICE_UNAVAILABLE, text);
}

static s_reply s_metrics(const gw_snapshot *s)
{
    if (!s)
        return s_text(MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
    return s_rendered(s_prometheus, gw_metrics_render(s));
}

static s_reply s_page(const gw_snapshot *s)
{
    if (!s)
        return s_text(MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
    return s_rendered(s_html, gw_statuspage_render(s));
}

static const struct {
    const char *path;
    s_reply (*answer)(const gw_snapshot *s);
} s_routes[] = {
    {"/metrics", s_metrics},
    {"/healthz", s_healthz},
    {"/readyz", s_readyz},
    {"/", s_page},
};

/* The latest copy with a reference for the caller, or NULL before the first publish. */
static s_shared *s_acquire(gw_http *h)
{
    pthread_mutex_lock(&h->lock);
    s_shared *sh = h->snap;
    if (sh)
        sh->refs++;
    pthread_mutex_unlock(&h->lock);
    return sh;
}

/* Drop a reference; the last one frees the copy. NULL-safe. */
static void s_release(gw_http *h, s_shared *sh)
{
    if (!sh)
        return;
    pthread_mutex_lock(&h->lock);
    int last = --sh->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last) {
        gw_snapshot_clear(&sh->snap);
        free(sh);
    }
}

static s_reply s_route(gw_http *h, const char *url)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (strcmp(url, s_routes[i].path) != 0)
            continue;
        s_shared *sh = s_acquire(h);
        s_reply r = s_routes[i].answer(sh ? &sh->snap : NULL);
        s_release(h, sh);
        return r;
    }
    return s_text(MHD_HTTP_NOT_FOUND, "not found\n");
}

static int s_add_headers(struct MHD_Response *resp, const char *type, int allow)
{
    return MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
           MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
           MHD_add_response_header(resp, "Content-Security-Policy",
                                   "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src data:") == MHD_YES &&
           MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES &&
           (!allow || MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_YES);
}

/* Queue r and give its body to libmicrohttpd. Out of memory for the body: a static 500. */
static enum MHD_Result s_send(struct MHD_Connection *c, s_reply r, int allow)
{
    static char oom[] = "out of memory\n";
    struct MHD_Response *resp;
    if (r.body) {
        resp = MHD_create_response_from_buffer(strlen(r.body), r.body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(r.body);
    } else {
        r = (s_reply){MHD_HTTP_INTERNAL_SERVER_ERROR, s_plain, NULL};
        resp = MHD_create_response_from_buffer(sizeof oom - 1, oom, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_NO;
    if (s_add_headers(resp, r.type, allow))
        ret = MHD_queue_response(c, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Every request is answered on its first call: no route takes a body (libmicrohttpd discards
 * one that was sent, and closes that connection). */
static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_send(c, s_text(MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n"), 1);
    return s_send(c, s_route(cls, url), 0);
}

/* ---- the total time of a request ----------------------------------------------------- */

static void s_format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "unknown";
    unsigned port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, cap, sa && sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* A connection starts (watch it) or ends (forget it); libmicrohttpd's thread. */
static void s_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe)
{
    gw_http *h = cls;
    s_watch *w = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!w)
            return;
        pthread_mutex_lock(&h->watch_lock);
        if (w->prev)
            w->prev->next = w->next;
        else
            h->watched = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&h->watch_lock);
        free(w);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    w = fd ? calloc(1, sizeof *w) : NULL;
    if (!w)
        return; /* not watched: only the idle timeout bounds it */
    w->fd = fd->connect_fd;
    w->deadline_ms = mn_mono_ms() + S_REQUEST_MAX_S * 1000u;
    s_format_peer(addr ? addr->client_addr : NULL, w->peer, sizeof w->peer);
    pthread_mutex_lock(&h->watch_lock);
    w->next = h->watched;
    if (w->next)
        w->next->prev = w;
    h->watched = w;
    pthread_mutex_unlock(&h->watch_lock);
    *socket_context = w;
}

/* A request is done: the next one on this connection gets its own S_REQUEST_MAX_S. */
static void s_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    gw_http *h = cls;
    (void)req_cls;
    (void)toe;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    s_watch *w = info ? info->socket_context : NULL;
    if (!w)
        return;
    pthread_mutex_lock(&h->watch_lock);
    w->deadline_ms = mn_mono_ms() + S_REQUEST_MAX_S * 1000u;
    pthread_mutex_unlock(&h->watch_lock);
}

/* Shut down every connection past its deadline (caller holds watch_lock). */
static void s_cut_late(gw_http *h, uint64_t now)
{
    for (s_watch *w = h->watched; w; w = w->next) {
        if (w->shut || now < w->deadline_ms)
            continue;
        w->shut = 1;
        if (shutdown(w->fd, SHUT_RDWR) != 0)
            continue;
        atomic_fetch_add(&h->cut, 1);
        mn_log_ratelimited(&h->slow_limit, 10, MN_LOG_WARN, "http",
                           "request took too long, connection closed peer=%s limit_s=%u", w->peer,
                           S_REQUEST_MAX_S);
    }
}

static void *s_watcher(void *arg)
{
    gw_http *h = arg;
    mn_log_set_nonblocking();
    pthread_mutex_lock(&h->watch_lock);
    while (!h->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += S_WATCH_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&h->watch_wake, &h->watch_lock, &until);
        s_cut_late(h, mn_mono_ms());
    }
    pthread_mutex_unlock(&h->watch_lock);
    return NULL;
}

/* The watcher's condition variable waits on the monotonic clock, as the deadlines do. */
static int s_watch_init(gw_http *h)
{
    pthread_condattr_t attr;
    if (pthread_mutex_init(&h->watch_lock, NULL) != 0)
        return -1;
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
             pthread_cond_init(&h->watch_wake, &attr) != 0;
    pthread_condattr_destroy(&attr);
    if (rc == 0)
        return 0;
fail:
    pthread_mutex_destroy(&h->watch_lock);
    return -1;
}

static void s_watcher_stop(gw_http *h)
{
    if (!h->watcher_started)
        return;
    pthread_mutex_lock(&h->watch_lock);
    h->watch_stop = 1;
    pthread_cond_signal(&h->watch_wake);
    pthread_mutex_unlock(&h->watch_lock);
    pthread_join(h->watcher, NULL);
    h->watcher_started = 0;
}

/* ---- start and stop ------------------------------------------------------------------- */

static void s_mhd_log(void *cls, const char *fmt, va_list ap) MN_PRINTF(2, 0);

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    gw_http *h = cls;
    char line[256], quoted[300];
    mn_log_set_nonblocking(); /* libmicrohttpd's thread: scrapes must not wait for stderr */
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    if (!atomic_load(&h->serving)) {
        if (h->start_err[0] == '\0')
            snprintf(h->start_err, sizeof h->start_err, "%s", line);
        return;
    }
    mn_log_quote(line, quoted, sizeof quoted);
    mn_log_ratelimited(&h->log_limit, 10, MN_LOG_WARN, "http", "libmicrohttpd: \"%s\"", quoted);
}

static void s_free(gw_http *h)
{
    if (!h)
        return;
    s_watcher_stop(h);
    if (h->daemon)
        MHD_stop_daemon(h->daemon); /* no request runs after it: h->snap holds the only ref */
    s_release(h, h->snap);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->watch_wake);
    pthread_mutex_destroy(&h->watch_lock);
    free(h);
}

/* errno after a failed MHD_start_daemon is what bind() or listen() left (libmicrohttpd's own
 * clean-up keeps it); without one, its logged message says what went wrong. */
static int s_listen_failed(mn_diag *d, const char *where_text, const char *why, int err)
{
    mn_diag_set(d, MN_ESYS, "metrics_listen", "cannot listen on %s: %s", where_text,
                err      ? strerror(err)
                : why[0] ? why
                         : "libmicrohttpd did not start");
    if (d)
        d->sys_errno = err;
    if (err == EADDRNOTAVAIL || err == EINVAL)
        mn_diag_hint(d, "use an address of this host for metrics_listen, e.g. 127.0.0.1:9464");
    else if (err == EACCES)
        mn_diag_hint(d, "ports below 1024 need privileges: use a higher port for metrics_listen");
    else
        mn_diag_hint(d, "use another port for metrics_listen, or stop the process that listens "
                        "on it (ss -ltnp shows which)");
    return MN_ESYS;
}

int gw_http_start(const char *listen, gw_http **out, mn_diag *d)
{
    s_sockaddr addr;
    int ipv6 = 0;
    char quoted[300];
    *out = NULL;
    mn_log_quote(listen, quoted, sizeof quoted);
    if (!s_parse_listen(listen, &addr, &ipv6)) {
        mn_diag_set(d, MN_EINVAL, "metrics_listen", "\"%s\" is not an address and port", quoted);
        mn_diag_hint(d, "write HOST:PORT with an IPv4 address, or [IPv6]:PORT, and a port "
                        "1-65535, e.g. 127.0.0.1:9464 or [::1]:9464");
        return MN_EINVAL;
    }
    gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return mn_diag_set(d, MN_ENOMEM, "metrics_listen", "no memory for the HTTP endpoint");
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return mn_diag_set(d, MN_ENOMEM, "metrics_listen", "cannot make a mutex");
    }
    if (s_watch_init(h) != 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return mn_diag_set(d, MN_ENOMEM, "metrics_listen", "cannot make a mutex");
    }
    atomic_init(&h->serving, 0);
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* The logger first: libmicrohttpd applies options in order and logs while it starts. */
    uint16_t port = ntohs(ipv6 ? addr.in6.sin6_port : addr.in4.sin_port);
    h->daemon =
        MHD_start_daemon(flags, port, NULL, NULL, s_handle, h, MHD_OPTION_EXTERNAL_LOGGER,
                         s_mhd_log, h, MHD_OPTION_SOCK_ADDR, &addr.sa, MHD_OPTION_CONNECTION_LIMIT,
                         S_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, S_MAX_PER_IP,
                         MHD_OPTION_CONNECTION_TIMEOUT, S_IDLE_TIMEOUT_S,
                         MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, h,
                         MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, h, MHD_OPTION_END);
    if (!h->daemon) {
        int err = errno;
        int rc = s_listen_failed(d, quoted, h->start_err, err);
        s_free(h);
        return rc;
    }
    int err = pthread_create(&h->watcher, NULL, s_watcher, h);
    if (err != 0) {
        errno = err; /* pthread_create returns it instead */
        int rc = mn_diag_sys(d, "metrics_listen", "cannot start the HTTP watcher thread");
        s_free(h);
        return rc;
    }
    h->watcher_started = 1;
    atomic_store(&h->serving, 1);
    log_notice("http", "serving /metrics /healthz /readyz / listen=%s", quoted);
    *out = h;
    return MN_OK;
}

int gw_http_publish(gw_http *h, const gw_snapshot *s)
{
    s_shared *copy = calloc(1, sizeof *copy);
    if (!copy)
        return MN_ENOMEM;
    if (gw_snapshot_copy(&copy->snap, s) != MN_OK) {
        free(copy);
        return MN_ENOMEM;
    }
    copy->refs = 1; /* h->snap's */
    pthread_mutex_lock(&h->lock);
    s_shared *old = h->snap;
    h->snap = copy;
    pthread_mutex_unlock(&h->lock);
    s_release(h, old);
    return MN_OK;
}

uint64_t gw_http_requests_cut(gw_http *h)
{
    return h ? atomic_load(&h->cut) : 0;
}

void gw_http_stop(gw_http **h_p)
{
    if (!h_p)
        return;
    s_free(*h_p);
    *h_p = NULL;
}
