/* mn_tool.h - what the hostile test clients (mn-rawsend, mn-rawpartner) share: their number
 * options and their CURVE DEALER socket to the gateway.
 *
 * Header-only (static inline): each .c file in tests/tools/ is one program linked with
 * libmeldnet.a, and these few lines are test tooling, not library API. Messages go to stderr
 * prefixed with the program's name, as the tools' own do.
 */
#ifndef MN_TOOL_H
#define MN_TOOL_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include <zmq.h>

#include "mn_cli.h"
#include "mn_client.h"
#include "mn_error.h"
#include "mn_key.h"

/* A whole decimal number in [min, max], no sign (mn_cli_parse_uint). 0 or -1. */
static inline int mn_tool_parse_long(const char *text, long min, long max, long *out)
{
    unsigned long v;
    int rc = mn_cli_parse_uint(text, (unsigned long)min, (unsigned long)max, &v);
    return rc == MN_OK ? (*out = (long)v, 0) : -1;
}

/* A whole decimal number >= 0, no sign. 0 or -1. */
static inline int mn_tool_parse_u64(const char *text, uint64_t *out)
{
    unsigned long v;
    int rc = mn_cli_parse_uint(text, 0, ULONG_MAX, &v);
    return rc == MN_OK ? (*out = v, 0) : -1;
}

/* --timeout-ms: 1..3600000 into *out. 0, or 2 (a usage error) after saying what is wrong. */
static inline int mn_tool_parse_timeout_ms(const char *prog, const char *text, long *out)
{
    if (mn_tool_parse_long(text, 1, 3600 * 1000L, out) == 0)
        return 0;
    fprintf(stderr, "%s: --timeout-ms: a number of milliseconds, 1..3600000\n", prog);
    return 2;
}

/* After getopt_long (optind): 0 when no operand is left, else 2 after naming the first. */
static inline int mn_tool_no_operands(const char *prog, int argc, char **argv, int first)
{
    if (first == argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[first]);
    return 2;
}

/* A DEALER socket in zctx that is a CURVE client of server_curve as `identity`, with
 * ZMQ_LINGER linger_ms, ZMQ_SNDTIMEO sndtimeo_ms and ZMQ_MAXMSGSIZE max_msg_bytes (-1: no
 * limit); not connected yet. Returns the socket (zmq_close it), or NULL with zmq_errno() set. */
static inline void *mn_tool_dealer(void *zctx, const mn_key *identity,
                                   const uint8_t server_curve[MN_KEY_BYTES], int linger_ms,
                                   int sndtimeo_ms, int64_t max_msg_bytes)
{
    void *s = zctx ? zmq_socket(zctx, ZMQ_DEALER) : NULL;
    if (s && (zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof linger_ms) != 0 ||
              zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo_ms, sizeof sndtimeo_ms) != 0 ||
              zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg_bytes, sizeof max_msg_bytes) != 0 ||
              mn_client_curve(s, identity, server_curve) != 0)) {
        int err = zmq_errno();
        zmq_close(s);
        errno = err;
        return NULL;
    }
    return s;
}

/* Say that the ZeroMQ socket could not be set up (zmq_errno()). Returns MN_EZMQ. */
static inline int mn_tool_zmq_failed(const char *prog)
{
    fprintf(stderr, "%s: cannot set up the ZeroMQ socket: %s\n", prog, zmq_strerror(zmq_errno()));
    return MN_EZMQ;
}

/* Connect `socket` to endpoint; when that fails, say so with `example`, an endpoint of the
 * right form, as the hint. Returns MN_OK or MN_EZMQ. */
static inline int mn_tool_connect(const char *prog, void *socket, const char *endpoint,
                                  const char *example)
{
    if (zmq_connect(socket, endpoint) == 0)
        return MN_OK;
    fprintf(stderr, "%s: %s: cannot connect: %s\n", prog, endpoint, zmq_strerror(zmq_errno()));
    fprintf(stderr, "%s: hint: endpoints look like %s\n", prog, example);
    return MN_EZMQ;
}

#endif
