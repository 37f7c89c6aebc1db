/* mn-rawsend - a hostile test client: sends one crafted frame per mode and prints the reply.
 *
 * Connects to the gateway like an agent (DEALER, CURVE with the agent's transport key, the
 * gateway's server key from its public line) and sends frames an honest agent never would:
 * wrong agent names, broken signatures, boxes that do not open, oversize and garbage frames,
 * other protocol versions. Each reply prints as one line on stdout:
 *
 *   receipt status=accepted|duplicate registration=MN-00000042 verified=yes|no
 *   reject reason=BAD_SIGNATURE retryable=0|1 detail="..."
 *
 * verified=yes means the receipt's signature verifies with the gateway's signing key and its id
 * is the id of the envelope just sent. When the gateway refuses the CURVE/ZAP handshake the line
 * is "handshake refused status=N" (N the ZAP status code) and no reply can come.
 *
 * Frames go out one at a time: each waits for its reply (at most --timeout-ms) before the next.
 * --created-ms / --created-offset-s set the envelopes' created_ms (signed like any other field),
 * for the gateway's handling of stale and future timestamps.
 *
 * Caveats: this tool exists to break things. Point it only at a gateway you run for testing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "meldnet.pb-c.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_report.h"
#include "mn_time.h"
#include "mn_tool.h"
#include "mn_wire.h"

#define PROG "mn-rawsend"
#define S_EXIT_NO_REPLY 3
#define S_MONITOR_ENDPOINT "inproc://mn-rawsend-monitor"
#define S_GARBAGE_MAX 48

typedef enum {
    S_VALID,
    S_AGENT_MISMATCH,
    S_BAD_SIGNATURE,
    S_BAD_SEAL,
    S_OVERSIZE,
    S_GARBAGE,
    S_BAD_VERSION,
    S_RESEND,
    S_BAD_ID,
    S_INVALID_REPORT,
    S_UNDECODABLE_REPORT,
    S_TRUNCATED,
    S_MULTI_FRAME,
    S_ABSURD_LENGTH,
    S_REPLAY,
    S_RESIGN,
} s_mode;

static const struct {
    const char *name;
    s_mode mode;
    int needs_report; /* seals the --report file */
    const char *help;
} s_modes[] = {
    {"valid", S_VALID, 1, "a correct envelope"},
    {"agent-mismatch", S_AGENT_MISMATCH, 1,
     "envelope.agent = --as-agent NAME, signed with our own key"},
    {"bad-signature", S_BAD_SIGNATURE, 1, "one signature byte flipped"},
    {"bad-seal", S_BAD_SEAL, 1, "sealed replaced by random bytes of its length, signed"},
    {"oversize", S_OVERSIZE, 0, "a frame of --size + 1 random bytes"},
    {"garbage", S_GARBAGE, 0, "a few random bytes that are no protobuf message"},
    {"bad-version", S_BAD_VERSION, 1, "a valid envelope in a ToGateway of version 2"},
    {"resend", S_RESEND, 1, "the same valid envelope twice, both replies"},
    {"bad-id", S_BAD_ID, 1, "envelope id of 15 bytes"},
    {"invalid-report", S_INVALID_REPORT, 0,
     "a signed envelope whose Report decodes but fails validation (no form)"},
    {"undecodable-report", S_UNDECODABLE_REPORT, 0,
     "a signed envelope whose sealed bytes are no Report"},
    {"truncated", S_TRUNCATED, 1, "a valid frame cut off halfway"},
    {"multi-frame", S_MULTI_FRAME, 1, "a valid envelope followed by a second frame"},
    {"absurd-length", S_ABSURD_LENGTH, 0, "protobuf claiming a 4 GiB envelope field"},
    {"replay", S_REPLAY, 1,
     "an envelope made and signed by the agent of --other-key, sent on our connection"},
    {"resign", S_RESIGN, 1,
     "an envelope sealed by the agent of --other-key, re-signed as ours (its id and sealed "
     "bytes kept)"},
};
#define S_N_MODES (sizeof s_modes / sizeof s_modes[0])

typedef struct s_opts {
    const char *endpoint;
    const char *key_path;
    const char *gateway_key_path;
    const char *report_path;
    const char *as_agent;
    const char *other_key_path;
    int has_id; /* --id */
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    int mode_index;
    long timeout_ms;
    long count;
    long window;
    size_t size;
    int unique;
    int verbose;
    enum { S_CREATED_NOW, S_CREATED_AT, S_CREATED_OFFSET } created; /* envelope.created_ms */
    uint64_t created_ms;                                            /* S_CREATED_AT */
    long long created_off_s; /* S_CREATED_OFFSET: seconds from now, either sign */
} s_opts;

/* What a run shares: keys, sockets, the report bytes, the connection state the monitor saw. */
typedef struct s_ctx {
    const s_opts *o;
    mn_key *agent;
    mn_key *other; /* --other-key: the agent whose envelope is replayed */
    mn_pubkey gateway;
    mn_report *parsed; /* the --report file, kept for --unique */
    char *narrative;   /* its narrative as loaded (owned), for --unique */
    uint8_t *report;
    size_t report_len;
    void *zctx;
    void *dealer;
    void *monitor;
    int connected;
    int handshake_ok;
    int dropped; /* the connection was closed after it was up */
    int refused; /* the gateway refused the handshake (ZAP) */
    uint32_t refused_status;
} s_ctx;

static void s_usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --endpoint EP --key AGENT.key --gateway-key GATEWAY.pub --mode MODE\n"
            "                  [--report FILE.json] [--as-agent NAME] [--timeout-ms N]\n"
            "                  [--count N] [--size N] [--unique] [--verbose]\n"
            "                  [--created-ms MS | --created-offset-s S]\n"
            "\n"
            "A hostile test client: connects like an agent (CURVE DEALER) and sends crafted\n"
            "frames, printing one line per reply:\n"
            "  receipt status=accepted|duplicate registration=MN-... verified=yes|no\n"
            "  reject reason=NAME retryable=0|1 detail=\"...\"\n"
            "  handshake refused status=N        (the gateway refused our key)\n"
            "\n"
            "  --endpoint EP        gateway ingest endpoint, e.g. tcp://127.0.0.1:7411\n"
            "  --key FILE           the agent's secret identity (keys/agent.key)\n"
            "  --gateway-key FILE   the gateway's public line (keys/gateway.pub)\n"
            "  --report FILE        report JSON to seal (modes that send a report)\n"
            "  --as-agent NAME      put NAME in envelope.agent (re-signed with our key)\n"
            "  --other-key FILE     with --mode replay/resign: the agent that made the envelope\n"
            "  --id HEX             the envelope id (32 hex digits) instead of a random one\n"
            "  --timeout-ms N       wait at most N ms for each reply (default 5000)\n"
            "  --count N            repeat the mode N times, fresh envelopes (default 1)\n"
            "  --window N           with --count and mode valid: keep up to N envelopes in\n"
            "                       flight and print one summary line at the end (load)\n"
            "  --size N             oversize: the limit to exceed (default %u)\n"
            "  --unique             add a random tag to the report's narrative for each\n"
            "                       envelope, so the gateway's content dedup sees new reports\n"
            "  --created-ms MS      envelope.created_ms = MS (ms since the Unix epoch, UTC)\n"
            "                       instead of the current time\n"
            "  --created-offset-s S envelope.created_ms = now + S seconds; S may be negative:\n"
            "                       -3456000 is 40 days ago, 86400 a day ahead\n"
            "  --verbose            say on stderr what is sent\n"
            "\n"
            "Modes:\n",
            (unsigned)MN_WIRE_DEFAULT_MAX_FRAME);
    for (size_t i = 0; i < S_N_MODES; i++)
        fprintf(to, "  %-20s %s\n", s_modes[i].name, s_modes[i].help);
    fprintf(to, "\nExit status: 0 every reply arrived, 1 failure, 2 usage error,\n"
                "3 a reply did not arrive within --timeout-ms (or the handshake was refused).\n");
}

#define S_OFFSET_MAX_S (1000LL * 366 * 24 * 3600)

/* Signed seconds, at most about 1000 years either way. 0 or -1. */
static int s_parse_offset_s(const char *text, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < -S_OFFSET_MAX_S || v > S_OFFSET_MAX_S)
        return -1;
    *out = v;
    return 0;
}

/* envelope.created_ms for this run: now, --created-ms, or now + --created-offset-s (at least 0). */
static uint64_t s_created_ms(const s_opts *o)
{
    uint64_t now = mn_now_ms();
    if (o->created == S_CREATED_AT)
        return o->created_ms;
    if (o->created == S_CREATED_NOW)
        return now;
    if (o->created_off_s >= 0)
        return now + (uint64_t)o->created_off_s * 1000;
    uint64_t back = (uint64_t)(-o->created_off_s) * 1000;
    return back < now ? now - back : 0;
}

/* 32 hex digits into 16 bytes. 0 or -1. */
static int s_parse_id(const char *text, uint8_t id[MN_ENVELOPE_ID_BYTES])
{
    if (strlen(text) != 2 * MN_ENVELOPE_ID_BYTES)
        return -1;
    for (size_t i = 0; i < MN_ENVELOPE_ID_BYTES; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)text[2 * i]) || !isxdigit((unsigned char)text[2 * i + 1]) ||
            sscanf(text + 2 * i, "%2x", &v) != 1)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int s_parse_args(int argc, char **argv, s_opts *o)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"key", required_argument, NULL, 'k'},
        {"gateway-key", required_argument, NULL, 'g'},
        {"report", required_argument, NULL, 'r'},
        {"mode", required_argument, NULL, 'm'},
        {"as-agent", required_argument, NULL, 'a'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'c'},
        {"other-key", required_argument, NULL, 'O'},
        {"id", required_argument, NULL, 'i'},
        {"window", required_argument, NULL, 'w'},
        {"size", required_argument, NULL, 's'},
        {"unique", no_argument, NULL, 'u'},
        {"created-ms", required_argument, NULL, 'C'},
        {"created-offset-s", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mode = NULL;
    long v = 0;
    int c;

    memset(o, 0, sizeof *o);
    o->mode_index = -1;
    o->timeout_ms = 5000;
    o->count = 1;
    o->window = 1;
    o->size = MN_WIRE_DEFAULT_MAX_FRAME;
    while ((c = getopt_long(argc, argv, "e:k:g:r:m:a:t:c:w:s:O:i:C:o:uvh", opts, NULL)) != -1) {
        switch (c) {
        case 'e': o->endpoint = optarg; break;
        case 'k': o->key_path = optarg; break;
        case 'g': o->gateway_key_path = optarg; break;
        case 'r': o->report_path = optarg; break;
        case 'm': mode = optarg; break;
        case 'a': o->as_agent = optarg; break;
        case 'O': o->other_key_path = optarg; break;
        case 'u': o->unique = 1; break;
        case 'i':
            if (s_parse_id(optarg, o->id) != 0) {
                fprintf(stderr, PROG ": --id: 32 hex digits (16 bytes)\n");
                return 2;
            }
            o->has_id = 1;
            break;
        case 'v': o->verbose = 1; break;
        case 'h': s_usage(stdout); return 1;
        case 't':
            if (mn_tool_parse_timeout_ms(PROG, optarg, &o->timeout_ms) != 0)
                return 2;
            break;
        case 'c':
            if (mn_tool_parse_long(optarg, 1, 1000000, &o->count) != 0) {
                fprintf(stderr, PROG ": --count: a number, 1..1000000\n");
                return 2;
            }
            break;
        case 'w':
            if (mn_tool_parse_long(optarg, 1, 4096, &o->window) != 0) {
                fprintf(stderr, PROG ": --window: a number, 1..4096\n");
                return 2;
            }
            break;
        case 's':
            if (mn_tool_parse_long(optarg, 0, 256L * 1024 * 1024, &v) != 0) {
                fprintf(stderr, PROG ": --size: a number of bytes, 0..268435456\n");
                return 2;
            }
            o->size = (size_t)v;
            break;
        case 'C':
        case 'o':
            if (o->created != S_CREATED_NOW) {
                fprintf(stderr, PROG ": --created-ms and --created-offset-s: one of them, once\n");
                return 2;
            }
            if (c == 'C' ? mn_tool_parse_u64(optarg, &o->created_ms) != 0
                         : s_parse_offset_s(optarg, &o->created_off_s) != 0) {
                fprintf(stderr, c == 'C' ? PROG ": --created-ms: milliseconds since the epoch, "
                                                "a number >= 0\n"
                                         : PROG ": --created-offset-s: seconds from now, e.g. "
                                                "-3456000 or 86400, within 1000 years\n");
                return 2;
            }
            o->created = c == 'C' ? S_CREATED_AT : S_CREATED_OFFSET;
            break;
        default: s_usage(stderr); return 2;
        }
    }
    if (mn_tool_no_operands(PROG, argc, argv, optind) != 0)
        return 2;
    if (!o->endpoint || !o->key_path || !o->gateway_key_path || !mode) {
        fprintf(stderr, PROG ": --endpoint, --key, --gateway-key and --mode are required "
                             "(see --help)\n");
        return 2;
    }
    for (size_t i = 0; i < S_N_MODES; i++)
        if (strcmp(mode, s_modes[i].name) == 0)
            o->mode_index = (int)i;
    if (o->mode_index < 0) {
        fprintf(stderr, PROG ": unknown mode \"%s\" (see --help for the list)\n", mode);
        return 2;
    }
    if (s_modes[o->mode_index].needs_report && !o->report_path) {
        fprintf(stderr, PROG ": mode %s needs --report FILE.json\n", mode);
        return 2;
    }
    if ((s_modes[o->mode_index].mode == S_REPLAY || s_modes[o->mode_index].mode == S_RESIGN) &&
        !o->other_key_path) {
        fprintf(stderr, PROG ": --mode replay needs --other-key AGENT.key\n");
        return 2;
    }
    if (s_modes[o->mode_index].mode == S_AGENT_MISMATCH && !o->as_agent) {
        fprintf(stderr, PROG ": mode agent-mismatch needs --as-agent NAME\n");
        return 2;
    }
    if (o->as_agent && strlen(o->as_agent) > MN_NAME_MAX) {
        fprintf(stderr, PROG ": --as-agent: at most %d characters\n", MN_NAME_MAX);
        return 2;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building frames */

static void s_hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    for (; i < n && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * i] = '\0';
}

static int s_sign(mn_envelope *env, const mn_key *key)
{
    uint8_t *input = NULL;
    size_t len = 0;
    int rc = mn_envelope_signing_input(env, &input, &len);
    if (rc != MN_OK)
        return rc;
    if (crypto_sign_detached(env->signature, NULL, input, len, mn_key_sign_secret(key)) != 0)
        rc = MN_ECRYPTO;
    free(input);
    return rc;
}

/* A Report that decodes but breaks a schema rule: a reporter and no form of exploitation. */
static int s_invalid_report(uint8_t **out, size_t *len)
{
    Meldnet__Report r = MELDNET__REPORT__INIT;
    Meldnet__Reporter who = MELDNET__REPORTER__INIT;
    who.has_kind = 1;
    who.kind = MELDNET__REPORTER_KIND__PROFESSIONAL;
    r.reporter = &who;
    r.has_acute_danger = 1;
    r.acute_danger = 1; /* and no acute_reason */
    *len = meldnet__report__get_packed_size(&r);
    *out = malloc(*len ? *len : 1);
    if (!*out)
        return MN_ENOMEM;
    meldnet__report__pack(&r, *out);
    return MN_OK;
}

/* --unique: the loaded narrative plus " [test TAG]", re-encoded into cx->report. */
static int s_make_unique(s_ctx *cx)
{
    uint8_t tag[8];
    char hex[2 * sizeof tag + 1];
    const char *base = cx->narrative ? cx->narrative : "";
    size_t cap = strlen(base) + sizeof hex + 16;
    char *text = malloc(cap);

    if (!text)
        return MN_ENOMEM;
    randombytes_buf(tag, sizeof tag);
    s_hex(tag, sizeof tag, hex, sizeof hex);
    snprintf(text, cap, "%s%s[test %s]", base, *base ? " " : "", hex);
    free(cx->parsed->narrative);
    cx->parsed->narrative = text;
    mn_plain_free(cx->report, cx->report_len);
    cx->report = NULL;
    return mn_report_encode(cx->parsed, &cx->report, &cx->report_len);
}

/* Seal the report bytes for this mode into a signed envelope (with --as-agent applied). */
static int s_make_envelope(s_ctx *cx, s_mode mode, uint64_t seq, mn_envelope *env)
{
    mn_diag d = {0};
    uint8_t *plain = cx->report;
    size_t plain_len = cx->report_len;
    uint8_t junk[32];
    uint8_t *made = NULL;
    int rc = MN_OK;

    if (mode == S_INVALID_REPORT) {
        rc = s_invalid_report(&made, &plain_len);
        if (rc != MN_OK)
            return rc;
        plain = made;
    } else if (mode == S_UNDECODABLE_REPORT) {
        randombytes_buf(junk, sizeof junk);
        junk[0] = 0xff; /* wire type 7 does not exist: never a valid protobuf message */
        plain = junk;
        plain_len = sizeof junk;
    } else if (cx->o->unique && cx->parsed) {
        rc = s_make_unique(cx);
        if (rc != MN_OK)
            return rc;
        plain = cx->report;
        plain_len = cx->report_len;
    }
    int by_other = mode == S_REPLAY || mode == S_RESIGN;
    rc = mn_envelope_seal(by_other ? cx->other : cx->agent, cx->gateway.box, plain, plain_len, seq,
                          s_created_ms(cx->o), env, &d);
    free(made);
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        return rc;
    }
    int resign = 0;
    if (cx->o->has_id) {
        memcpy(env->id, cx->o->id, sizeof env->id);
        resign = 1;
    }
    if (mode == S_RESIGN) {
        snprintf(env->agent, sizeof env->agent, "%s", mn_key_public(cx->agent)->name);
        resign = 1;
    }
    if (cx->o->as_agent) {
        snprintf(env->agent, sizeof env->agent, "%s", cx->o->as_agent);
        resign = 1;
    }
    if (resign)
        rc = s_sign(env, mode == S_REPLAY && !cx->o->as_agent ? cx->other : cx->agent);
    return rc;
}

/* Unpack an encoded ToGateway, let fn change it, pack it again (for what mn_wire never makes). */
static int s_repack(uint8_t **frame, size_t *len, void (*fn)(Meldnet__ToGateway *msg))
{
    Meldnet__ToGateway *msg = meldnet__to_gateway__unpack(NULL, *len, *frame);
    if (!msg)
        return MN_EDECODE;
    fn(msg);
    size_t n = meldnet__to_gateway__get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        meldnet__to_gateway__free_unpacked(msg, NULL);
        return MN_ENOMEM;
    }
    *len = meldnet__to_gateway__pack(msg, buf);
    meldnet__to_gateway__free_unpacked(msg, NULL);
    free(*frame);
    *frame = buf;
    return MN_OK;
}

static void s_set_version_2(Meldnet__ToGateway *msg)
{
    msg->version = 2;
}

static void s_short_id(Meldnet__ToGateway *msg)
{
    if (msg->envelope && msg->envelope->id.len > 0)
        msg->envelope->id.len -= 1;
}

/* One frame of random bytes. */
static int s_random_frame(size_t n, int not_protobuf, uint8_t **frame, size_t *len)
{
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return MN_ENOMEM;
    randombytes_buf(buf, n);
    if (not_protobuf && n > 0)
        buf[0] = 0xff; /* wire type 7 */
    *frame = buf;
    *len = n;
    return MN_OK;
}

/* The frame for one iteration; env (when the mode sends an envelope) keeps its id. */
static int s_build(s_ctx *cx, s_mode mode, uint64_t seq, mn_envelope *env, int *has_env,
                   uint8_t **frame, size_t *len)
{
    int rc = MN_OK;

    *has_env = 0;
    if (mode == S_OVERSIZE)
        return s_random_frame(cx->o->size + 1, 0, frame, len);
    if (mode == S_GARBAGE)
        return s_random_frame(1 + randombytes_uniform(S_GARBAGE_MAX), 1, frame, len);
    if (mode == S_ABSURD_LENGTH) {
        /* version = 1, then field 2 (envelope) with a length of 2^32 - 1 and no bytes. */
        static const uint8_t absurd[] = {0x08, 0x01, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f};
        *frame = malloc(sizeof absurd);
        if (!*frame)
            return MN_ENOMEM;
        memcpy(*frame, absurd, sizeof absurd);
        *len = sizeof absurd;
        return MN_OK;
    }

    rc = s_make_envelope(cx, mode, seq, env);
    if (rc != MN_OK)
        return rc;
    *has_env = 1;
    if (mode == S_BAD_SIGNATURE) {
        env->signature[0] ^= 0x01;
    } else if (mode == S_BAD_SEAL) {
        randombytes_buf(env->sealed, env->sealed_len);
        rc = s_sign(env, cx->agent);
        if (rc != MN_OK)
            return rc;
    }
    rc = mn_wire_encode_envelope(env, frame, len);
    if (rc != MN_OK)
        return rc;
    if (mode == S_BAD_VERSION)
        rc = s_repack(frame, len, s_set_version_2);
    else if (mode == S_BAD_ID)
        rc = s_repack(frame, len, s_short_id);
    else if (mode == S_TRUNCATED)
        *len /= 2;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The connection */

static int s_connect(s_ctx *cx)
{
    int linger = 0;

    cx->zctx = zmq_ctx_new();
    cx->dealer =
        mn_tool_dealer(cx->zctx, cx->agent, cx->gateway.curve, linger, (int)cx->o->timeout_ms, -1);
    if (!cx->dealer)
        goto fail;
    /* The monitor tells "refused by ZAP" from "no gateway there" for the messages below. */
    if (zmq_socket_monitor(cx->dealer, S_MONITOR_ENDPOINT,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        goto fail;
    cx->monitor = zmq_socket(cx->zctx, ZMQ_PAIR);
    if (!cx->monitor || zmq_setsockopt(cx->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(cx->monitor, S_MONITOR_ENDPOINT) != 0)
        goto fail;
    return mn_tool_connect(PROG, cx->dealer, cx->o->endpoint, "tcp://127.0.0.1:7411");
fail:
    return mn_tool_zmq_failed(PROG);
}

static void s_disconnect(s_ctx *cx)
{
    if (cx->dealer) {
        (void)zmq_socket_monitor(cx->dealer, NULL, 0);
        zmq_close(cx->dealer);
    }
    if (cx->monitor)
        zmq_close(cx->monitor);
    if (cx->zctx)
        zmq_ctx_term(cx->zctx);
    cx->dealer = cx->monitor = cx->zctx = NULL;
}

/* Read one monitor event (two frames: u16 event | u32 value, then the endpoint). */
static void s_monitor_event(s_ctx *cx)
{
    zmq_msg_t m;
    uint16_t event = 0;
    uint32_t value = 0;
    int more = 0;
    size_t more_len = sizeof more;

    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, cx->monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    if (zmq_msg_size(&m) >= 6) {
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        memcpy(&value, (uint8_t *)zmq_msg_data(&m) + 2, sizeof value);
    }
    zmq_msg_close(&m);
    /* Drain the rest of the event (the endpoint frame). */
    while (zmq_getsockopt(cx->monitor, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, cx->monitor, 0) < 0)
            more = 0;
        zmq_msg_close(&m);
    }
    switch (event) {
    case ZMQ_EVENT_CONNECTED: cx->connected = 1; break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: cx->handshake_ok = 1; break;
    case ZMQ_EVENT_DISCONNECTED: cx->dropped = cx->connected; break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        cx->refused = 1;
        cx->refused_status = value;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        if (cx->o->verbose)
            fprintf(stderr, PROG ": handshake failed (event 0x%x, value 0x%x)\n", event, value);
        break;
    default: break;
    }
}

/* "\"" and "\\" escaped, control characters as '?', so a detail stays on one line. */
static void s_print_quoted(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            putchar('?');
        else
            putchar(ch);
    }
    putchar('"');
}

static int s_print_reply(const s_ctx *cx, const uint8_t *buf, size_t len, const mn_envelope *env,
                         int has_env)
{
    mn_from_gateway from;
    mn_diag d = {0};
    char reg[32];

    if (mn_wire_decode_from_gateway(buf, len, MN_WIRE_DEFAULT_MAX_FRAME, &from, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        return MN_EDECODE;
    }
    if (from.kind == MN_FROM_RECEIPT) {
        const mn_receipt *r = &from.receipt;
        int verified = mn_receipt_verify(r, cx->gateway.sign) == MN_OK && has_env &&
                       sodium_memcmp(r->id, env->id, MN_ENVELOPE_ID_BYTES) == 0;
        const char *status = r->status == MN_RECEIPT_ACCEPTED    ? "accepted"
                             : r->status == MN_RECEIPT_DUPLICATE ? "duplicate"
                                                                 : "unknown";
        mn_registration_format(r->registration, reg, sizeof reg);
        printf("receipt status=%s registration=%s verified=%s\n", status, reg,
               verified ? "yes" : "no");
    } else {
        const mn_reject *rj = &from.reject;
        printf("reject reason=%s retryable=%d detail=", mn_reject_reason_name(rj->reason),
               rj->retryable ? 1 : 0);
        s_print_quoted(rj->detail);
        putchar('\n');
    }
    fflush(stdout);
    return MN_OK;
}

/* Wait for one reply frame and print it. Returns MN_OK, MN_ETIMEOUT (nothing within the
 * timeout, or the handshake was refused), MN_EDECODE (a reply that is not one valid frame). */
static int s_await_reply(s_ctx *cx, const mn_envelope *env, int has_env)
{
    uint64_t deadline = mn_mono_ms() + (uint64_t)cx->o->timeout_ms;
    zmq_msg_t m;
    int rc = MN_ETIMEOUT;

    while (!cx->refused) {
        uint64_t now = mn_mono_ms();
        if (now >= deadline)
            break;
        zmq_pollitem_t items[2] = {
            {cx->dealer, 0, ZMQ_POLLIN, 0},
            {cx->monitor, 0, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 2, (long)(deadline - now)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            fprintf(stderr, PROG ": zmq_poll: %s\n", zmq_strerror(zmq_errno()));
            return MN_EZMQ;
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_monitor_event(cx);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, cx->dealer, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        if (zmq_msg_more(&m)) {
            fprintf(stderr, PROG ": the gateway sent a multi-part message; the protocol allows "
                                 "exactly one frame\n");
            zmq_msg_close(&m);
            return MN_EDECODE;
        }
        rc = s_print_reply(cx, zmq_msg_data(&m), zmq_msg_size(&m), env, has_env);
        zmq_msg_close(&m);
        return rc;
    }
    if (cx->refused) {
        printf("handshake refused status=%" PRIu32 "\n", cx->refused_status);
        fflush(stdout);
    } else {
        fprintf(stderr, PROG ": no reply within %ld ms (%s%s)\n", cx->o->timeout_ms,
                cx->handshake_ok ? "connected and authenticated"
                : cx->connected  ? "connected, no CURVE handshake"
                                 : "no connection",
                cx->dropped ? "; the gateway closed the connection" : "");
    }
    return MN_ETIMEOUT;
}

static int s_send(s_ctx *cx, const uint8_t *frame, size_t len, const mn_envelope *env, int has_env)
{
    if (cx->o->verbose) {
        char hex[2 * MN_ENVELOPE_ID_BYTES + 1] = "-";
        if (has_env)
            s_hex(env->id, MN_ENVELOPE_ID_BYTES, hex, sizeof hex);
        fprintf(stderr, PROG ": sending %s frame of %zu bytes id=%s\n",
                s_modes[cx->o->mode_index].name, len, hex);
    }
    int multi = s_modes[cx->o->mode_index].mode == S_MULTI_FRAME;
    if (zmq_send(cx->dealer, frame, len, multi ? ZMQ_SNDMORE : 0) < 0 ||
        (multi && zmq_send(cx->dealer, "x", 1, 0) < 0)) {
        fprintf(stderr, PROG ": cannot send: %s\n", zmq_strerror(zmq_errno()));
        return zmq_errno() == EAGAIN ? MN_ETIMEOUT : MN_EZMQ;
    }
    return MN_OK;
}

/* One iteration: build, send, await; resend sends the same frame a second time. */
static int s_iteration(s_ctx *cx, uint64_t seq)
{
    s_mode mode = s_modes[cx->o->mode_index].mode;
    mn_envelope env;
    int has_env = 0;
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc;

    memset(&env, 0, sizeof env);
    rc = s_build(cx, mode, seq, &env, &has_env, &frame, &len);
    if (rc != MN_OK) {
        fprintf(stderr, PROG ": cannot build the %s frame: %s\n", s_modes[cx->o->mode_index].name,
                mn_err_meaning(rc));
        goto out;
    }
    for (int round = 0; round < (mode == S_RESEND ? 2 : 1); round++) {
        rc = s_send(cx, frame, len, &env, has_env);
        if (rc == MN_OK)
            rc = s_await_reply(cx, &env, has_env);
        if (rc != MN_OK)
            break;
    }
out:
    free(frame);
    mn_envelope_clear(&env);
    return rc;
}

static int s_load(s_ctx *cx)
{
    mn_diag d = {0};
    int rc;

    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, PROG ": cannot initialise libsodium\n");
        return MN_ECRYPTO;
    }
    rc = mn_key_load(cx->o->key_path, &cx->agent, &d);
    if (rc == MN_OK && cx->o->other_key_path)
        rc = mn_key_load(cx->o->other_key_path, &cx->other, &d);
    if (rc == MN_OK)
        rc = mn_pubkey_load(cx->o->gateway_key_path, &cx->gateway, &d);
    if (rc == MN_OK && s_modes[cx->o->mode_index].needs_report) {
        rc = mn_report_load_json(cx->o->report_path, &cx->parsed, &d);
        if (rc == MN_OK)
            rc = mn_report_encode(cx->parsed, &cx->report, &cx->report_len);
        if (rc == MN_OK && cx->parsed->narrative) {
            cx->narrative = strdup(cx->parsed->narrative);
            if (!cx->narrative)
                rc = MN_ENOMEM;
        }
    }
    if (rc != MN_OK)
        mn_diag_print(PROG, &d);
    return rc;
}

/* --window: many valid envelopes, up to `window` in flight; replies are matched by count, and
 * every receipt's signature is checked. Prints one summary line. */
static int s_bulk(s_ctx *cx)
{
    long sent = 0, replies = 0, accepted = 0, duplicate = 0, rejected = 0, unverified = 0;
    uint64_t deadline = mn_mono_ms() + (uint64_t)cx->o->timeout_ms;
    int rc = MN_OK;
    while (replies < cx->o->count && !cx->refused) {
        while (sent < cx->o->count && sent - replies < cx->o->window) {
            mn_envelope env;
            int has_env = 0;
            uint8_t *frame = NULL;
            size_t len = 0;
            memset(&env, 0, sizeof env);
            rc = s_build(cx, S_VALID, (uint64_t)sent + 1, &env, &has_env, &frame, &len);
            if (rc == MN_OK && zmq_send(cx->dealer, frame, len, 0) < 0)
                rc = MN_EZMQ;
            free(frame);
            mn_envelope_clear(&env);
            if (rc != MN_OK)
                return rc;
            sent++;
        }
        uint64_t now = mn_mono_ms();
        if (now >= deadline) {
            rc = MN_ETIMEOUT;
            break;
        }
        zmq_pollitem_t items[2] = {{cx->dealer, 0, ZMQ_POLLIN, 0}, {cx->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)(deadline - now)) < 0)
            continue;
        if (items[1].revents & ZMQ_POLLIN)
            s_monitor_event(cx);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, cx->dealer, 0) >= 0) {
            mn_from_gateway from;
            if (mn_wire_decode_from_gateway(zmq_msg_data(&m), zmq_msg_size(&m),
                                            MN_WIRE_DEFAULT_MAX_FRAME, &from, NULL) == MN_OK) {
                replies++;
                /* Progress resets the deadline: it bounds silence, not the whole run. */
                deadline = mn_mono_ms() + (uint64_t)cx->o->timeout_ms;
                if (from.kind == MN_FROM_REJECT)
                    rejected++;
                else if (mn_receipt_verify(&from.receipt, cx->gateway.sign) != MN_OK)
                    unverified++;
                else if (from.receipt.status == MN_RECEIPT_ACCEPTED)
                    accepted++;
                else
                    duplicate++;
            }
        }
        zmq_msg_close(&m);
    }
    printf("bulk sent=%ld replies=%ld accepted=%ld duplicate=%ld rejected=%ld unverified=%ld\n",
           sent, replies, accepted, duplicate, rejected, unverified);
    fflush(stdout);
    if (rc == MN_OK && (rejected || unverified))
        rc = MN_ECRYPTO;
    return rc;
}

int main(int argc, char **argv)
{
    s_opts o;
    s_ctx cx;
    int rc;
    int code = 1;

    rc = s_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    memset(&cx, 0, sizeof cx);
    cx.o = &o;
    if (s_load(&cx) != MN_OK || s_connect(&cx) != MN_OK)
        goto out;
    if (o.window > 1 && s_modes[o.mode_index].mode == S_VALID) {
        rc = s_bulk(&cx);
    } else {
        for (long i = 0; i < o.count; i++) {
            rc = s_iteration(&cx, (uint64_t)i + 1);
            if (rc != MN_OK)
                break;
        }
    }
    code = rc == MN_OK ? 0 : rc == MN_ETIMEOUT ? S_EXIT_NO_REPLY : 1;
out:
    s_disconnect(&cx);
    mn_plain_free(cx.report, cx.report_len);
    if (cx.narrative)
        mn_plain_free((uint8_t *)cx.narrative, strlen(cx.narrative));
    mn_report_destroy(&cx.parsed);
    mn_key_destroy(&cx.agent);
    mn_key_destroy(&cx.other);
    return code;
}
