/* mn-flood - a hostile test client: many unauthenticated TCP connections to one endpoint.
 *
 * Opens --count TCP connections to --connect HOST:PORT (a loopback address only), each from
 * --bind ADDRESS (default 127.0.0.2, so a defence by source address can tell the flood from an
 * honest agent on 127.0.0.1), and holds them until --hold-ms have passed; then it closes them
 * and prints two lines: when every connection has been started,
 *
 *   flood connecting done opened=N
 *
 * when every connect has come through or failed (the server accepted it, or the kernel holds
 * it in the listen backlog),
 *
 *   flood settled connected=N
 *
 * when the server has answered (sent its greeting) or closed every connection,
 *
 *   flood served
 *
 * and at the end
 *
 *   flood opened=N connected=N closed_by_peer=N refused=N sent_bytes=N
 *
 * What each connection sends (--mode):
 *   silent     nothing: a half-open handshake that waits for the server's greeting forever
 *   greeting   a ZMTP 3.0 greeting for the CURVE mechanism (as a client), then nothing
 *   oversized  that greeting, then a command frame whose header announces --frame-bytes bytes,
 *              then --frame-bytes - 1 of them (so the frame never completes): what a peer
 *              without a key can make a server hold before the CURVE handshake is done
 *   trickle    not ZeroMQ: the start of an HTTP GET, then one more byte of a header that never
 *              ends every --trickle-ms (default 1000): a slowloris against an HTTP endpoint
 * Bytes from the server are read and dropped. Nothing reconnects: a connection the server closes
 * stays closed (counted as closed_by_peer). The tool ends by itself after --hold-ms (plus the
 * time to connect, at most --hold-ms as well).
 *
 * Exit status: 0 when at least one connection was made, 1 when none, 2 on a usage error.
 *
 * Caveats: this tool exists to break things. It refuses any target outside 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mn_tool.h"

#define PROG "mn-flood"
#define S_GREETING_BYTES 64
#define S_HEADER_BYTES 9 /* flags + 8-byte length */
#define S_CHUNK 65536

enum { S_SILENT, S_GREETING, S_OVERSIZED, S_TRICKLE };

/* The start of an HTTP request whose last header never ends (mode trickle). */
static const char s_http_head[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

typedef struct s_conn {
    int fd;
    int connected;
    int closed;
    int answered;     /* the server sent something (its greeting): it has accepted the connection */
    uint64_t to_send; /* bytes still to write (greeting, header, payload) */
    uint64_t sent;
    uint64_t next_trickle_ms; /* mode trickle: when the next byte goes */
} s_conn;

typedef struct s_opts {
    struct sockaddr_in target;
    struct sockaddr_in source;
    long count;
    long hold_ms;
    long trickle_ms;
    int mode;
    uint64_t frame_bytes;
} s_opts;

static void s_usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --connect 127.0.0.1:PORT [--bind 127.0.0.2] [--count N]\n"
            "                [--mode silent|greeting|oversized|trickle] [--frame-bytes N]\n"
            "                [--trickle-ms MS] [--hold-ms MS]\n"
            "\n"
            "Opens N TCP connections (default 100, at most 20000) from the --bind address to a\n"
            "ZeroMQ endpoint on loopback, holds them for --hold-ms (default 10000), and prints\n"
            "\"flood opened=N connected=N closed_by_peer=N refused=N sent_bytes=N\".\n"
            "  silent     send nothing\n"
            "  greeting   a ZMTP 3.0 CURVE greeting, then nothing (default)\n"
            "  oversized  the greeting and a command frame announcing --frame-bytes (default\n"
            "             6291456), all but its last byte\n"
            "  trickle    an HTTP GET whose headers never end: one byte every --trickle-ms\n"
            "             (default 1000)\n"
            "Only 127.0.0.0/8 addresses are accepted. A test tool: it exists to break things.\n");
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "127.x.y.z" (and ":PORT" when port is non-NULL) into a; loopback only. 0 or -1. */
static int s_parse_addr(const char *text, struct sockaddr_in *a, int with_port)
{
    char host[INET_ADDRSTRLEN + 1];
    const char *colon = strrchr(text, ':');
    size_t n = with_port ? (colon ? (size_t)(colon - text) : 0) : strlen(text);
    long port = 0;
    if (n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    if (with_port && mn_tool_parse_long(colon + 1, 1, 65535, &port) != 0)
        return -1;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return -1;
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127 ? 0 : -1;
}

/* The 64-byte ZMTP 3.0 greeting of a CURVE client (RFC 23/ZMTP). */
static void s_greeting(uint8_t g[S_GREETING_BYTES])
{
    memset(g, 0, S_GREETING_BYTES);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3; /* version 3.0 */
    memcpy(g + 12, "CURVE", 5);
    /* g[32] = 0: as-server false; the filler stays zero */
}

/* Byte `off` of what a connection sends: greeting, then the frame header, then payload. */
static void s_fill(const s_opts *o, uint64_t off, uint8_t *buf, size_t n)
{
    if (o->mode == S_TRICKLE) {
        for (size_t i = 0; i < n; i++, off++)
            buf[i] = off < sizeof s_http_head - 1 ? (uint8_t)s_http_head[off] : (uint8_t)'a';
        return;
    }
    uint8_t head[S_GREETING_BYTES + S_HEADER_BYTES];
    s_greeting(head);
    head[S_GREETING_BYTES] = 0x06; /* a command frame with an 8-byte length */
    for (int i = 0; i < 8; i++)
        head[S_GREETING_BYTES + 1 + i] = (uint8_t)(o->frame_bytes >> (56 - 8 * i));
    for (size_t i = 0; i < n; i++, off++)
        buf[i] = off < sizeof head ? head[off] : (uint8_t)'x';
}

static uint64_t s_total_bytes(const s_opts *o)
{
    if (o->mode == S_SILENT)
        return 0;
    if (o->mode == S_GREETING)
        return S_GREETING_BYTES;
    if (o->mode == S_TRICKLE)
        return sizeof s_http_head - 1;
    return S_GREETING_BYTES + S_HEADER_BYTES + o->frame_bytes - 1;
}

/* Start a non-blocking connect; fd -1 when the socket could not be made (counted refused). */
static void s_open(const s_opts *o, s_conn *c)
{
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->to_send = s_total_bytes(o);
    if (c->fd < 0)
        return;
    (void)setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(c->fd, (const struct sockaddr *)&o->source, sizeof o->source) != 0 ||
        (connect(c->fd, (const struct sockaddr *)&o->target, sizeof o->target) != 0 &&
         errno != EINPROGRESS)) {
        close(c->fd);
        c->fd = -1;
    }
}

static void s_close(s_conn *c, int by_peer)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->closed = by_peer;
}

/* Write what the connection still has to send, as far as the socket takes it. */
static void s_write(const s_opts *o, s_conn *c, uint64_t *sent_total)
{
    uint8_t buf[S_CHUNK];
    while (c->to_send > 0) {
        size_t n = c->to_send < sizeof buf ? (size_t)c->to_send : sizeof buf;
        s_fill(o, c->sent, buf, n);
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                s_close(c, 1);
            return;
        }
        c->sent += (uint64_t)w;
        c->to_send -= (uint64_t)w;
        *sent_total += (uint64_t)w;
    }
}

/* Read and drop what the server sent; EOF or an error closes the connection. */
static void s_read(s_conn *c)
{
    uint8_t buf[4096];
    ssize_t r;
    while ((r = recv(c->fd, buf, sizeof buf, 0)) > 0)
        c->answered = 1;
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        s_close(c, 1);
}

/* Mode trickle: one more byte when its time has come. */
static void s_trickle(const s_opts *o, s_conn *c, uint64_t now, uint64_t *sent_total)
{
    if (o->mode != S_TRICKLE || c->fd < 0 || !c->connected || c->to_send > 0 ||
        now < c->next_trickle_ms)
        return;
    c->next_trickle_ms = now + (uint64_t)o->trickle_ms;
    c->to_send = 1;
    s_write(o, c, sent_total);
}

static void s_event(const s_opts *o, s_conn *c, short revents, uint64_t *sent_total)
{
    if (!c->connected && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(c->fd);
            c->fd = -1; /* never connected: refused, not closed_by_peer */
            return;
        }
        c->connected = 1;
    }
    if (c->fd >= 0 && (revents & POLLIN))
        s_read(c);
    if (c->fd >= 0 && (revents & (POLLERR | POLLHUP)) && !(revents & POLLIN))
        s_close(c, 1);
    if (c->fd >= 0 && c->connected && (revents & POLLOUT))
        s_write(o, c, sent_total);
}

/* Poll every open connection until `until_ms`. */
static void s_run(const s_opts *o, s_conn *conns, struct pollfd *pfds, long *map, uint64_t until_ms,
                  uint64_t *sent_total)
{
    for (uint64_t now = s_now_ms(); now < until_ms; now = s_now_ms()) {
        nfds_t n = 0;
        for (long i = 0; i < o->count; i++) {
            s_conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            short ev = POLLIN;
            if (!c->connected || c->to_send > 0)
                ev |= POLLOUT;
            map[n] = i;
            pfds[n++] = (struct pollfd){c->fd, ev, 0};
        }
        if (n == 0)
            return;
        int wait = (int)(until_ms - now < 200 ? until_ms - now : 200);
        if (poll(pfds, n, wait) < 0)
            continue;
        for (nfds_t k = 0; k < n; k++)
            if (pfds[k].revents && conns[map[k]].fd == pfds[k].fd)
                s_event(o, &conns[map[k]], pfds[k].revents, sent_total);
        for (nfds_t k = 0; k < n; k++)
            s_trickle(o, &conns[map[k]], s_now_ms(), sent_total);
    }
}

static int s_parse(int argc, char **argv, s_opts *o)
{
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"bind", required_argument, NULL, 'b'},
        {"count", required_argument, NULL, 'n'},
        {"mode", required_argument, NULL, 'm'},
        {"frame-bytes", required_argument, NULL, 'f'},
        {"hold-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"trickle-ms", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int c, have_target = 0;
    long v;
    memset(o, 0, sizeof *o);
    o->count = 100;
    o->hold_ms = 10000;
    o->trickle_ms = 1000;
    o->mode = S_GREETING;
    o->frame_bytes = 6291456;
    (void)s_parse_addr("127.0.0.2", &o->source, 0);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (s_parse_addr(optarg, &o->target, 1) != 0)
                goto usage;
            have_target = 1;
            break;
        case 'b':
            if (s_parse_addr(optarg, &o->source, 0) != 0)
                goto usage;
            break;
        case 'n':
            if (mn_tool_parse_long(optarg, 1, 20000, &o->count) != 0)
                goto usage;
            break;
        case 'm':
            if (strcmp(optarg, "silent") == 0)
                o->mode = S_SILENT;
            else if (strcmp(optarg, "greeting") == 0)
                o->mode = S_GREETING;
            else if (strcmp(optarg, "oversized") == 0)
                o->mode = S_OVERSIZED;
            else if (strcmp(optarg, "trickle") == 0)
                o->mode = S_TRICKLE;
            else
                goto usage;
            break;
        case 'f':
            if (mn_tool_parse_long(optarg, 256, 1L << 30, &v) != 0)
                goto usage;
            o->frame_bytes = (uint64_t)v;
            break;
        case 't':
            if (mn_tool_parse_timeout_ms(PROG, optarg, &o->hold_ms) != 0)
                return 2;
            break;
        case 'r':
            if (mn_tool_parse_timeout_ms(PROG, optarg, &o->trickle_ms) != 0)
                return 2;
            break;
        case 'h': s_usage(stdout); return 1;
        default: goto usage;
        }
    }
    if (mn_tool_no_operands(PROG, argc, argv, optind) != 0)
        return 2;
    if (have_target)
        return 0;
usage:
    fprintf(stderr, PROG ": give --connect 127.x.y.z:PORT; addresses must be in 127.0.0.0/8\n");
    s_usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    s_opts o;
    int rc = s_parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    /* One descriptor per connection: take what the hard limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    s_conn *conns = calloc((size_t)o.count, sizeof *conns);
    struct pollfd *pfds = calloc((size_t)o.count, sizeof *pfds);
    long *map = calloc((size_t)o.count, sizeof *map);
    if (!conns || !pfds || !map) {
        fprintf(stderr, PROG ": out of memory\n");
        free(conns);
        free(pfds);
        free(map);
        return 1;
    }
    uint64_t sent = 0, start = s_now_ms();
    /* Open them all first (in steps, serving those already open between the steps), so the
     * server meets the whole flood at once; never take longer than hold-ms to do it. */
    for (long i = 0; i < o.count; i++) {
        s_open(&o, &conns[i]);
        if (i % 64 == 63)
            s_run(&o, conns, pfds, map, s_now_ms() + 1, &sent);
        if (s_now_ms() - start > (uint64_t)o.hold_ms) {
            for (long j = i + 1; j < o.count; j++)
                conns[j].fd = -1;
            break;
        }
    }
    long started = 0;
    for (long i = 0; i < o.count; i++)
        started += conns[i].fd >= 0 || conns[i].connected;
    printf("flood connecting done opened=%ld\n", started);
    fflush(stdout);
    /* Then hold them; say once when every connect has come through (or failed): a server
     * that does not accept leaves them waiting in its listen backlog, then in SYN retries. */
    uint64_t end = s_now_ms() + (uint64_t)o.hold_ms;
    int told = 0, told_served = 0;
    for (uint64_t now = s_now_ms(); now < end; now = s_now_ms()) {
        s_run(&o, conns, pfds, map, now + 100 < end ? now + 100 : end, &sent);
        long waiting = 0, up = 0, unserved = 0;
        for (long i = 0; i < o.count; i++) {
            waiting += conns[i].fd >= 0 && !conns[i].connected;
            up += conns[i].connected;
            unserved += conns[i].fd >= 0 && !conns[i].answered;
        }
        if (!told_served && unserved == 0) {
            printf("flood served\n");
            fflush(stdout);
            told_served = 1;
        }
        if (!told && waiting == 0) {
            printf("flood settled connected=%ld\n", up);
            fflush(stdout);
            told = 1;
        }
    }
    long opened = 0, connected = 0, by_peer = 0, refused = 0;
    for (long i = 0; i < o.count; i++) {
        s_conn *c = &conns[i];
        opened += c->fd >= 0 || c->connected || c->closed;
        connected += c->connected;
        by_peer += c->closed && c->connected;
        refused += !c->connected;
        if (c->fd >= 0)
            close(c->fd);
    }
    printf("flood opened=%ld connected=%ld closed_by_peer=%ld refused=%ld sent_bytes=%llu\n",
           opened, connected, by_peer, refused, (unsigned long long)sent);
    fflush(stdout);
    free(conns);
    free(pfds);
    free(map);
    return connected > 0 ? 0 : 1;
}
