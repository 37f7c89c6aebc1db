/* gw_http.h - the operators' HTTP endpoint (libmicrohttpd): /metrics, /healthz, /readyz, /.
 *
 *   /metrics  Prometheus text (gw_metrics_render) of the latest snapshot
 *   /healthz  200 "ok": the process is alive and serving HTTP
 *   /readyz   200 "ready" when the store is open, the sockets are bound and the gateway is not
 *             overloaded; else 503 and one line per reason
 *   /         the status page (gw_statuspage_render)
 * Anything else: 404; methods other than GET and HEAD: 405. Responses carry
 * Cache-Control: no-store and a Content-Security-Policy that allows nothing to load.
 *
 * libmicrohttpd runs its own thread; the main thread publishes a new snapshot once a second
 * (a copy, under a mutex) and requests render from the latest one.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw_snapshot.h"
#include "mn_error.h"

typedef struct gw_http gw_http;

/* Serve on `listen`, "HOST:PORT" with HOST an IPv4 address or [IPv6] (e.g. "127.0.0.1:9464",
 * "[::1]:9464"). Until the first publish, /metrics and / answer 503 and /readyz says why.
 * Caller owns *out. Returns MN_OK, MN_EINVAL (not an address; d says how to write one) or
 * MN_ESYS (cannot listen, e.g. the port is taken; d names the setting metrics_listen). */
MN_NODISCARD int gw_http_start(const char *listen, gw_http **out, mn_diag *d);

/* Replace the snapshot the endpoint serves with a copy of s. Thread-safe. MN_OK or MN_ENOMEM
 * (the old one stays). */
MN_NODISCARD int gw_http_publish(gw_http *h, const gw_snapshot *s);

/* Stop serving and free. NULL-safe; sets *h_p to NULL. */
void gw_http_stop(gw_http **h_p);

/* Connections closed so far because their request took longer than the endpoint allows in all
 * (10 s: slow clients, slowloris). Thread-safe. 0 for NULL. */
uint64_t gw_http_requests_cut(gw_http *h);

#endif
