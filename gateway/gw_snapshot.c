/* gw_snapshot.c - a snapshot of the gateway: taken from gw_stats, copied, and run/status.json
 * (write and parse).
 *
 * The JSON is a superset of what gw_stats_write wrote before snapshots existed: the same names
 * and shapes for the old fields (tests, the bench and scripts read them), the new ones after.
 * The u64 fields are listed once in tables (name, offset) that both directions use, so writer
 * and parser cannot drift apart: the counters in GW_COUNTERS (gw_counters.h), the times and
 * the per-agent and per-partner figures here.
 *
 * Counts are written as JSON integers; a count above INT64_MAX (never in practice) is written
 * as INT64_MAX rather than wrapping negative. Non-finite reals are written as 0 (JSON has no
 * NaN and jansson refuses to make one).
 */
#include "gw_snapshot.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_file.h"
#include "mn_time.h"
#include "mn_version.h"

/* --- field tables ----------------------------------------------------------------------- */

typedef struct s_field {
    const char *name;
    size_t offset; /* of a uint64_t */
} s_field;

#define S_SNAP(name, field)                                                                        \
    {                                                                                              \
        name, offsetof(gw_snapshot, field)                                                         \
    }
#define S_AGENT(field)                                                                             \
    {                                                                                              \
#field, offsetof(gw_snap_agent, field)                                                     \
    }
#define S_PARTNER(field)                                                                           \
    {                                                                                              \
#field, offsetof(gw_snap_partner, field)                                                   \
    }

/* The times, before the counters of GW_JSON_HEAD (gw_stats_write's order). */
static const s_field s_times[] = {
    S_SNAP("started_ms", started_ms),
    S_SNAP("written_ms", now_ms),
};

#define S_COUNTER(...) GW_COUNTER_ROW(gw_snapshot, __VA_ARGS__)

static const gw_counter s_counters[] = {GW_COUNTERS(S_COUNTER)};

const gw_counter_table gw_snapshot_counters = {s_counters,
                                               sizeof s_counters / sizeof s_counters[0]};

static const s_field s_agent_counts[] = {
    S_AGENT(last_seen_ms),
    S_AGENT(accepted),
    S_AGENT(duplicates),
    S_AGENT(rejected),
};

static const s_field s_partner_counts[] = {
    S_PARTNER(queue_depth),  S_PARTNER(oldest_ms), S_PARTNER(held),  S_PARTNER(deliveries),
    S_PARTNER(redeliveries), S_PARTNER(acks),      S_PARTNER(nacks),
};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t *s_u64_at(void *base, const s_field *f)
{
    return (uint64_t *)(void *)((char *)base + f->offset);
}

static const uint64_t *s_u64_at_c(const void *base, const s_field *f)
{
    return (const uint64_t *)(const void *)((const char *)base + f->offset);
}

/* --- counters, and a snapshot's start from gw_stats ------------------------------------- */

uint64_t gw_snapshot_counter(const gw_snapshot *s, const gw_counter *c)
{
    uint64_t v;
    memcpy(&v, (const char *)s + c->offset, sizeof v);
    return v;
}

static void s_hist_take(const gw_hist *h, gw_snap_hist *out)
{
    out->bounds = h->bounds;
    out->n_bounds = h->n_bounds;
    for (size_t i = 0; i <= h->n_bounds; i++)
        out->bucket[i] = atomic_load(&h->bucket[i]);
    out->count = atomic_load(&h->count);
    out->sum = (double)atomic_load(&h->sum_micro) / 1e6;
}

/* The copy of a STATS figure of GW_COUNTERS. */
#define S_TAKE(field, where, ...) GW_COUNTER_IF_STATS(where, out->field = atomic_load(&st->field);)

void gw_snapshot_from_stats(const gw_stats *st, gw_snapshot *out, const char *state)
{
    memset(out, 0, sizeof *out);
    snprintf(out->version, sizeof out->version, "%s", MN_VERSION);
    snprintf(out->state, sizeof out->state, "%s", state);
    out->pid = (int)getpid();
    out->now_ms = mn_now_ms();
    out->started_ms = st->started_ms;
    GW_COUNTERS(S_TAKE)
    for (int i = 0; i <= MN_REJECT_REASON_MAX; i++)
        out->rejected_by_reason[i] = atomic_load(&st->rejected_by_reason[i]);
    for (int i = 0; i < GW_REFUSAL_COUNT; i++)
        out->handshakes_refused_by_cause[i] = atomic_load(&st->handshakes_refused_by_cause[i]);
    for (int i = 0; i < GW_STAGE_COUNT; i++) {
        out->stage_ns[i] = atomic_load(&st->stage_ns[i]);
        out->stage_items[i] = atomic_load(&st->stage_items[i]);
    }
    s_hist_take(&st->ack_latency, &out->ack_latency);
    s_hist_take(&st->batch_size, &out->batch_size);
}

/* --- readiness ------------------------------------------------------------------------- */

int gw_snapshot_is_ready(const gw_snapshot *s)
{
    return s->store_open && s->sockets_bound && !s->overloaded && !s->disk_low &&
           !s->commits_failing;
}

void gw_snapshot_not_ready_text(const gw_snapshot *s, const char *sep, char *out, size_t cap)
{
    size_t n = 0;
    const char *next = "";
    out[0] = '\0';
    if (!s->store_open) {
        n += (size_t)snprintf(out + n, cap - n, "store not open");
        next = sep;
    }
    if (!s->sockets_bound && n < cap) {
        n += (size_t)snprintf(out + n, cap - n, "%ssockets not bound", next);
        next = sep;
    }
    if (s->overloaded && n < cap) {
        n += (size_t)snprintf(out + n, cap - n,
                              "%soverloaded: %" PRIu64 " envelopes in flight of %" PRIu64, next,
                              s->inflight, s->inflight_max);
        next = sep;
    }
    if (s->disk_low && n < cap) {
        n += (size_t)snprintf(out + n, cap - n,
                              "%sstorage: free space %" PRIu64 " MB is below min_free_mb %" PRIu64
                              ": every new report is refused until there is room (free space "
                              "on the data folder's disk, or lower min_free_mb)",
                              next, s->free_mb, s->min_free_mb);
        next = sep;
    }
    if (s->commits_failing && n < cap)
        snprintf(out + n, cap - n,
                 "%sstorage: the last commits to the store failed: reports are refused and "
                 "agents retry (the log says why: a full store needs a larger map_size_mb)",
                 next);
}

/* --- clear and copy --------------------------------------------------------------------- */

static void s_hist_clear(gw_snap_hist *h)
{
    free(h->bounds_owned);
    h->bounds_owned = NULL;
}

void gw_snapshot_clear(gw_snapshot *s)
{
    if (!s)
        return;
    free(s->agents);
    free(s->partners);
    s_hist_clear(&s->ack_latency);
    s_hist_clear(&s->batch_size);
    memset(s, 0, sizeof *s);
}

/* Duplicate `n` items of `size` bytes; NULL for none. *failed set when memory ran out. */
static void *s_dup(const void *src, size_t n, size_t size, int *failed)
{
    if (!src || n == 0)
        return NULL;
    void *p = calloc(n, size);
    if (!p) {
        *failed = 1;
        return NULL;
    }
    memcpy(p, src, n * size);
    return p;
}

/* dst is a byte copy of src: give it its own bounds when src owned them. */
static void s_hist_own(gw_snap_hist *dst, const gw_snap_hist *src, int *failed)
{
    dst->bounds_owned = NULL;
    if (!src->bounds_owned)
        return;
    dst->bounds_owned = s_dup(src->bounds_owned, src->n_bounds, sizeof(double), failed);
    dst->bounds = dst->bounds_owned;
    if (!dst->bounds_owned)
        dst->n_bounds = 0;
}

int gw_snapshot_copy(gw_snapshot *dst, const gw_snapshot *src)
{
    int failed = 0;
    *dst = *src;
    dst->agents = s_dup(src->agents, src->n_agents, sizeof *src->agents, &failed);
    dst->partners = s_dup(src->partners, src->n_partners, sizeof *src->partners, &failed);
    s_hist_own(&dst->ack_latency, &src->ack_latency, &failed);
    s_hist_own(&dst->batch_size, &src->batch_size, &failed);
    if (!dst->agents)
        dst->n_agents = 0;
    if (!dst->partners)
        dst->n_partners = 0;
    if (failed) {
        gw_snapshot_clear(dst);
        return MN_ENOMEM;
    }
    return MN_OK;
}

/* --- to JSON ---------------------------------------------------------------------------- */

/* Set obj[key] = v (taking v); a NULL v or a failed set marks *failed. */
static void s_put(json_t *obj, const char *key, json_t *v, int *failed)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *failed = 1;
}

static void s_append(json_t *arr, json_t *v, int *failed)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *failed = 1;
}

static json_t *s_int(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v);
}

static json_t *s_real(double v)
{
    return json_real(isfinite(v) ? v : 0.0);
}

static void s_put_fields(json_t *obj, const void *base, const s_field *f, size_t n, int *failed)
{
    for (size_t i = 0; i < n; i++)
        s_put(obj, f[i].name, s_int(*s_u64_at_c(base, &f[i])), failed);
}

/* The counters of t at place json_at, in table order. */
static void s_put_counters(json_t *obj, const gw_snapshot *s, const gw_counter_table *t,
                           int json_at, int *failed)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].json_at == json_at)
            s_put(obj, t->items[i].name, s_int(gw_snapshot_counter(s, &t->items[i])), failed);
}

static json_t *s_reasons_json(const gw_snapshot *s, int *failed)
{
    json_t *o = json_object();
    for (int i = 1; o && i <= MN_REJECT_REASON_MAX; i++)
        s_put(o, mn_reject_reason_name(i), s_int(s->rejected_by_reason[i]), failed);
    return o;
}

static json_t *s_causes_json(const gw_snapshot *s, int *failed)
{
    json_t *o = json_object();
    for (int i = 0; o && i < GW_REFUSAL_COUNT; i++)
        s_put(o, gw_refusal_name(i), s_int(s->handshakes_refused_by_cause[i]), failed);
    return o;
}

static json_t *s_stages_json(const gw_snapshot *s, int *failed)
{
    json_t *o = json_object();
    for (int i = 0; o && i < GW_STAGE_COUNT; i++) {
        json_t *st = json_object();
        s_put(st, "ns", s_int(s->stage_ns[i]), failed);
        s_put(st, "items", s_int(s->stage_items[i]), failed);
        s_put(o, gw_stage_name(i), st, failed);
    }
    return o;
}

static json_t *s_hist_json(const gw_snap_hist *h, int *failed)
{
    json_t *o = json_object();
    json_t *bounds = json_array();
    json_t *buckets = json_array();
    size_t nb = h->bounds && h->n_bounds <= GW_HIST_MAX_BUCKETS ? h->n_bounds : 0;
    for (size_t i = 0; bounds && i < nb; i++)
        s_append(bounds, s_real(h->bounds[i]), failed);
    for (size_t i = 0; buckets && i <= nb; i++)
        s_append(buckets, s_int(h->bucket[i]), failed);
    s_put(o, "bounds", bounds, failed);
    s_put(o, "buckets", buckets, failed);
    s_put(o, "count", s_int(h->count), failed);
    s_put(o, "sum", s_real(h->sum), failed);
    return o;
}

static json_t *s_history_json(const gw_snapshot *s, int *failed)
{
    json_t *a = json_array();
    size_t n = s->n_history <= GW_HISTORY_POINTS ? s->n_history : GW_HISTORY_POINTS;
    for (size_t i = 0; a && i < n; i++)
        s_append(a, s_int(s->history[i]), failed);
    return a;
}

static json_t *s_agent_json(const gw_snap_agent *a, int *failed)
{
    json_t *o = json_object();
    s_put(o, "name", json_string(a->name), failed);
    s_put(o, "region", json_string(a->region), failed);
    s_put(o, "revoked", json_boolean(a->revoked), failed);
    s_put(o, "connected", json_boolean(a->connected), failed);
    s_put_fields(o, a, s_agent_counts, S_COUNT(s_agent_counts), failed);
    return o;
}

static json_t *s_partner_json(const gw_snap_partner *p, int *failed)
{
    json_t *o = json_object();
    s_put(o, "name", json_string(p->name), failed);
    s_put(o, "kind", json_string(p->kind), failed);
    s_put(o, "revoked", json_boolean(p->revoked), failed);
    s_put(o, "connected", json_boolean(p->connected), failed);
    s_put_fields(o, p, s_partner_counts, S_COUNT(s_partner_counts), failed);
    return o;
}

static json_t *s_agents_json(const gw_snapshot *s, int *failed)
{
    json_t *a = json_array();
    for (size_t i = 0; a && s->agents && i < s->n_agents; i++)
        s_append(a, s_agent_json(&s->agents[i], failed), failed);
    return a;
}

static json_t *s_partners_json(const gw_snapshot *s, int *failed)
{
    json_t *a = json_array();
    for (size_t i = 0; a && s->partners && i < s->n_partners; i++)
        s_append(a, s_partner_json(&s->partners[i], failed), failed);
    return a;
}

/* The fields gw_stats_write wrote, by the same names, in its order. */
static void s_put_old(json_t *root, const gw_snapshot *s, const gw_counter_table *t, int *failed)
{
    s_put(root, "state", json_string(s->state), failed);
    s_put(root, "pid", json_integer(s->pid), failed);
    s_put(root, "listen", json_string(s->listen), failed);
    s_put_fields(root, s, s_times, S_COUNT(s_times), failed);
    s_put_counters(root, s, t, GW_JSON_HEAD, failed);
    s_put(root, "rejected_by_reason", s_reasons_json(s, failed), failed);
    s_put_counters(root, s, t, GW_JSON_MIDDLE, failed);
    s_put(root, "stages", s_stages_json(s, failed), failed);
}

static void s_put_new(json_t *root, const gw_snapshot *s, const gw_counter_table *t, int *failed)
{
    s_put(root, "delivery_listen", json_string(s->delivery_listen), failed);
    s_put(root, "metrics_listen", json_string(s->metrics_listen), failed);
    s_put(root, "store_open", json_boolean(s->store_open), failed);
    s_put(root, "sockets_bound", json_boolean(s->sockets_bound), failed);
    s_put(root, "overloaded", json_boolean(s->overloaded), failed);
    s_put(root, "disk_low", json_boolean(s->disk_low), failed);
    s_put(root, "commits_failing", json_boolean(s->commits_failing), failed);
    s_put_counters(root, s, t, GW_JSON_TAIL, failed);
    s_put(root, "handshakes_refused_by_cause", s_causes_json(s, failed), failed);
    s_put(root, "ack_latency", s_hist_json(&s->ack_latency, failed), failed);
    s_put(root, "batch_size", s_hist_json(&s->batch_size, failed), failed);
    s_put(root, "history_step_s", json_integer(GW_HISTORY_STEP_S), failed);
    s_put(root, "history", s_history_json(s, failed), failed);
    s_put(root, "rate_received", s_real(s->rate_received), failed);
    s_put(root, "rate_accepted", s_real(s->rate_accepted), failed);
    s_put(root, "rate_rejected", s_real(s->rate_rejected), failed);
    s_put(root, "agents", s_agents_json(s, failed), failed);
    s_put(root, "partners", s_partners_json(s, failed), failed);
}

char *gw_snapshot_json(const gw_snapshot *s)
{
    return gw_snapshot_json_with(s, &gw_snapshot_counters);
}

char *gw_snapshot_json_with(const gw_snapshot *s, const gw_counter_table *counters)
{
    int failed = 0;
    char *text = NULL;
    json_t *root = json_object();
    if (!root)
        return NULL;
    /* version first: the one thing a person looks for at the top */
    s_put(root, "version", json_string(s->version), &failed);
    s_put_old(root, s, counters, &failed);
    s_put_new(root, s, counters, &failed);
    /* 15 digits: the bounds read 0.0025, not 0.0025000000000000001, and still parse back to
     * the same doubles as gw_stats' tables */
    if (!failed) /* never a file with fields silently missing */
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    return text;
}

int gw_snapshot_write(const gw_snapshot *s, const char *run_dir, mn_diag *d)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/status.json", run_dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return mn_diag_set(d, MN_EINVAL, run_dir, "path too long");
    char *text = gw_snapshot_json(s);
    if (!text)
        return mn_diag_set(d, MN_ENOMEM, path, "out of memory");
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the NUL; a newline in its place */
    int rc = mn_file_write_atomic(path, text, len + 1, 0644, d);
    free(text);
    return rc;
}

/* --- parse ------------------------------------------------------------------------------ */

/* Where in the document a parse is: "" at the top, "partners[1]", "stages.receive". */
typedef struct s_at {
    char path[160];
} s_at;

/* A path too long for its buffer (never, with our names) ends in "...": still readable. */
static void s_at_fit(s_at *at, int n)
{
    if (n < 0 || (size_t)n >= sizeof at->path)
        memcpy(at->path + sizeof at->path - 4, "...", 4);
}

static void s_at_key(s_at *child, const s_at *parent, const char *key)
{
    s_at_fit(child, snprintf(child->path, sizeof child->path, "%s%s%s", parent->path,
                             parent->path[0] ? "." : "", key));
}

static void s_at_index(s_at *child, const s_at *parent, size_t i)
{
    s_at_fit(child, snprintf(child->path, sizeof child->path, "%s[%zu]", parent->path, i));
}

static const char *s_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return json_integer_value(v) < 0 ? "a negative integer" : "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* MN_EDECODE for member `key` of `at` (key NULL: at itself). */
static int s_bad(mn_diag *d, const s_at *at, const char *key, const char *want, const json_t *v)
{
    s_at here = *at;
    if (key)
        s_at_key(&here, at, key);
    return mn_diag_set(d, MN_EDECODE, here.path[0] ? here.path : "status", "expected %s, found %s",
                       want, s_type_name(v));
}

static int s_u64_value(const json_t *v, const s_at *at, const char *key, uint64_t *out, mn_diag *d)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return s_bad(d, at, key, "a non-negative integer", v);
    *out = (uint64_t)json_integer_value(v);
    return MN_OK;
}

/* obj[key] into *out when present. */
static int s_get_u64(const json_t *obj, const s_at *at, const char *key, uint64_t *out, mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    return v ? s_u64_value(v, at, key, out, d) : MN_OK;
}

static int s_get_fields(const json_t *obj, const s_at *at, void *base, const s_field *f, size_t n,
                        mn_diag *d)
{
    for (size_t i = 0; i < n; i++) {
        int rc = s_get_u64(obj, at, f[i].name, s_u64_at(base, &f[i]), d);
        if (rc != MN_OK)
            return rc;
    }
    return MN_OK;
}

static int s_get_real(const json_t *obj, const s_at *at, const char *key, double *out, mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return MN_OK;
    if (!json_is_number(v))
        return s_bad(d, at, key, "a number", v);
    *out = json_number_value(v);
    return MN_OK;
}

/* A flag: true/false as written, 0/1 accepted too (a hand-written or scripted file). */
static int s_get_bool(const json_t *obj, const s_at *at, const char *key, int *out, mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return MN_OK;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_integer(v))
        *out = json_integer_value(v) != 0;
    else
        return s_bad(d, at, key, "true or false", v);
    return MN_OK;
}

static int s_get_str(const json_t *obj, const s_at *at, const char *key, char *out, size_t cap,
                     mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return MN_OK;
    if (!json_is_string(v))
        return s_bad(d, at, key, "a string", v);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v)) {
        s_at here;
        s_at_key(&here, at, key);
        return mn_diag_set(d, MN_EDECODE, here.path,
                           "expected a string of at most %zu "
                           "characters without NUL, found %zu characters",
                           cap - 1, json_string_length(v));
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return MN_OK;
}

static int s_get_int(const json_t *obj, const s_at *at, const char *key, int *out, mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return MN_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return s_bad(d, at, key, "a process id", v);
    *out = (int)json_integer_value(v);
    return MN_OK;
}

/* obj[key] as an object or array (want), or NULL when absent; wrong type: MN_EDECODE. */
static int s_get_container(const json_t *obj, const s_at *at, const char *key, json_type want,
                           const json_t **out, mn_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return MN_OK;
    if (json_typeof(v) != want)
        return s_bad(d, at, key, want == JSON_OBJECT ? "an object" : "an array", v);
    *out = v;
    return MN_OK;
}

/* {"BAD_SIGNATURE": n, ...}: names we do not know (a newer gateway) are ignored. */
static int s_parse_reasons(const json_t *root, const s_at *at, gw_snapshot *s, mn_diag *d)
{
    const json_t *o;
    s_at here;
    int rc = s_get_container(root, at, "rejected_by_reason", JSON_OBJECT, &o, d);
    s_at_key(&here, at, "rejected_by_reason");
    for (int i = 1; rc == MN_OK && o && i <= MN_REJECT_REASON_MAX; i++)
        rc = s_get_u64(o, &here, mn_reject_reason_name(i), &s->rejected_by_reason[i], d);
    return rc;
}

static int s_parse_causes(const json_t *root, const s_at *at, gw_snapshot *s, mn_diag *d)
{
    const json_t *o;
    s_at here;
    int rc = s_get_container(root, at, "handshakes_refused_by_cause", JSON_OBJECT, &o, d);
    s_at_key(&here, at, "handshakes_refused_by_cause");
    for (int i = 0; rc == MN_OK && o && i < GW_REFUSAL_COUNT; i++)
        rc = s_get_u64(o, &here, gw_refusal_name(i), &s->handshakes_refused_by_cause[i], d);
    return rc;
}

static int s_parse_stages(const json_t *root, const s_at *at, gw_snapshot *s, mn_diag *d)
{
    const json_t *o, *st;
    s_at here, stage;
    int rc = s_get_container(root, at, "stages", JSON_OBJECT, &o, d);
    s_at_key(&here, at, "stages");
    for (int i = 0; rc == MN_OK && o && i < GW_STAGE_COUNT; i++) {
        rc = s_get_container(o, &here, gw_stage_name(i), JSON_OBJECT, &st, d);
        s_at_key(&stage, &here, gw_stage_name(i));
        if (rc == MN_OK && st)
            rc = s_get_u64(st, &stage, "ns", &s->stage_ns[i], d);
        if (rc == MN_OK && st)
            rc = s_get_u64(st, &stage, "items", &s->stage_items[i], d);
    }
    return rc;
}

/* Point h->bounds to `table` when the parsed bounds equal it, else keep them in bounds_owned. */
static int s_hist_adopt(gw_snap_hist *h, const double *vals, size_t n, const double *table,
                        size_t table_n)
{
    h->n_bounds = n;
    if (n == 0) {
        h->bounds = NULL;
        return MN_OK;
    }
    if (n == table_n && memcmp(vals, table, n * sizeof(double)) == 0) {
        h->bounds = table;
        return MN_OK;
    }
    h->bounds_owned = malloc(n * sizeof(double));
    if (!h->bounds_owned)
        return MN_ENOMEM;
    memcpy(h->bounds_owned, vals, n * sizeof(double));
    h->bounds = h->bounds_owned;
    return MN_OK;
}

static int s_parse_bounds(const json_t *arr, const s_at *at, double *vals, size_t *n, mn_diag *d)
{
    s_at here, item;
    s_at_key(&here, at, "bounds");
    if (json_array_size(arr) > GW_HIST_MAX_BUCKETS)
        return mn_diag_set(d, MN_EDECODE, here.path, "expected at most %d bounds, found %zu",
                           GW_HIST_MAX_BUCKETS, json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        s_at_index(&item, &here, i);
        if (!json_is_number(v))
            return s_bad(d, &item, NULL, "a number", v);
        vals[i] = json_number_value(v);
    }
    *n = json_array_size(arr);
    return MN_OK;
}

static int s_parse_buckets(const json_t *arr, const s_at *at, size_t n_bounds, uint64_t *bucket,
                           mn_diag *d)
{
    s_at here, item;
    s_at_key(&here, at, "buckets");
    if (json_array_size(arr) != n_bounds + 1)
        return mn_diag_set(d, MN_EDECODE, here.path,
                           "expected %zu buckets (one per bound and "
                           "+Inf), found %zu",
                           n_bounds + 1, json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        s_at_index(&item, &here, i);
        int rc = s_u64_value(json_array_get(arr, i), &item, NULL, &bucket[i], d);
        if (rc != MN_OK)
            return rc;
    }
    return MN_OK;
}

static int s_parse_hist(const json_t *root, const s_at *at, const char *key, gw_snap_hist *h,
                        const double *table, size_t table_n, mn_diag *d)
{
    const json_t *o, *bounds = NULL, *buckets = NULL;
    double vals[GW_HIST_MAX_BUCKETS];
    size_t n = 0;
    s_at here;
    s_at_key(&here, at, key);
    int rc = s_get_container(root, at, key, JSON_OBJECT, &o, d);
    if (rc != MN_OK || !o)
        return rc;
    rc = s_get_container(o, &here, "bounds", JSON_ARRAY, &bounds, d);
    if (rc == MN_OK)
        rc = s_get_container(o, &here, "buckets", JSON_ARRAY, &buckets, d);
    if (rc == MN_OK && bounds)
        rc = s_parse_bounds(bounds, &here, vals, &n, d);
    if (rc == MN_OK && buckets)
        rc = s_parse_buckets(buckets, &here, n, h->bucket, d);
    if (rc == MN_OK)
        rc = s_get_u64(o, &here, "count", &h->count, d);
    if (rc == MN_OK)
        rc = s_get_real(o, &here, "sum", &h->sum, d);
    if (rc == MN_OK)
        rc = s_hist_adopt(h, vals, n, table, table_n);
    return rc;
}

/* "history": the newest GW_HISTORY_POINTS points when a file holds more. */
static int s_parse_history(const json_t *root, const s_at *at, gw_snapshot *s, mn_diag *d)
{
    const json_t *a;
    s_at here, item;
    int rc = s_get_container(root, at, "history", JSON_ARRAY, &a, d);
    if (rc != MN_OK || !a)
        return rc;
    s_at_key(&here, at, "history");
    size_t n = json_array_size(a);
    size_t skip = n > GW_HISTORY_POINTS ? n - GW_HISTORY_POINTS : 0;
    for (size_t i = skip; i < n; i++) {
        s_at_index(&item, &here, i);
        rc = s_u64_value(json_array_get(a, i), &item, NULL, &s->history[i - skip], d);
        if (rc != MN_OK)
            return rc;
    }
    s->n_history = n - skip;
    return MN_OK;
}

static int s_parse_agent(const json_t *o, const s_at *at, void *item, mn_diag *d)
{
    gw_snap_agent *a = item;
    if (!json_is_object(o))
        return s_bad(d, at, NULL, "an object", o);
    int rc = s_get_str(o, at, "name", a->name, sizeof a->name, d);
    if (rc == MN_OK)
        rc = s_get_str(o, at, "region", a->region, sizeof a->region, d);
    if (rc == MN_OK)
        rc = s_get_bool(o, at, "revoked", &a->revoked, d);
    if (rc == MN_OK)
        rc = s_get_bool(o, at, "connected", &a->connected, d);
    if (rc == MN_OK)
        rc = s_get_fields(o, at, a, s_agent_counts, S_COUNT(s_agent_counts), d);
    return rc;
}

static int s_parse_partner(const json_t *o, const s_at *at, void *item, mn_diag *d)
{
    gw_snap_partner *p = item;
    if (!json_is_object(o))
        return s_bad(d, at, NULL, "an object", o);
    int rc = s_get_str(o, at, "name", p->name, sizeof p->name, d);
    if (rc == MN_OK)
        rc = s_get_str(o, at, "kind", p->kind, sizeof p->kind, d);
    if (rc == MN_OK)
        rc = s_get_bool(o, at, "revoked", &p->revoked, d);
    if (rc == MN_OK)
        rc = s_get_bool(o, at, "connected", &p->connected, d);
    if (rc == MN_OK)
        rc = s_get_fields(o, at, p, s_partner_counts, S_COUNT(s_partner_counts), d);
    return rc;
}

/* root[key], an array of objects, into a fresh array of n items of `size` bytes, each by
 * `parse`. *items is set as soon as it is allocated, so a failure part-way leaves it to
 * gw_snapshot_clear. Absent or empty: *items stays NULL. */
static int s_parse_list(const json_t *root, const s_at *at, const char *key, size_t size,
                        int (*parse)(const json_t *, const s_at *, void *, mn_diag *), void **items,
                        size_t *n, mn_diag *d)
{
    const json_t *a;
    s_at here, item;
    int rc = s_get_container(root, at, key, JSON_ARRAY, &a, d);
    if (rc != MN_OK || !a || json_array_size(a) == 0)
        return rc;
    char *list = calloc(json_array_size(a), size);
    *items = list;
    if (!list)
        return MN_ENOMEM;
    *n = json_array_size(a);
    s_at_key(&here, at, key);
    for (size_t i = 0; rc == MN_OK && i < *n; i++) {
        s_at_index(&item, &here, i);
        rc = parse(json_array_get(a, i), &item, list + i * size, d);
    }
    return rc;
}

static int s_parse_scalars(const json_t *root, const s_at *at, gw_snapshot *s, mn_diag *d)
{
    int rc = s_get_str(root, at, "version", s->version, sizeof s->version, d);
    if (rc == MN_OK)
        rc = s_get_str(root, at, "state", s->state, sizeof s->state, d);
    if (rc == MN_OK)
        rc = s_get_int(root, at, "pid", &s->pid, d);
    if (rc == MN_OK)
        rc = s_get_str(root, at, "listen", s->listen, sizeof s->listen, d);
    if (rc == MN_OK)
        rc = s_get_str(root, at, "delivery_listen", s->delivery_listen, sizeof s->delivery_listen,
                       d);
    if (rc == MN_OK)
        rc = s_get_str(root, at, "metrics_listen", s->metrics_listen, sizeof s->metrics_listen, d);
    if (rc == MN_OK)
        rc = s_get_bool(root, at, "store_open", &s->store_open, d);
    if (rc == MN_OK)
        rc = s_get_bool(root, at, "sockets_bound", &s->sockets_bound, d);
    if (rc == MN_OK)
        rc = s_get_bool(root, at, "overloaded", &s->overloaded, d);
    if (rc == MN_OK)
        rc = s_get_bool(root, at, "disk_low", &s->disk_low, d);
    if (rc == MN_OK)
        rc = s_get_bool(root, at, "commits_failing", &s->commits_failing, d);
    if (rc == MN_OK)
        rc = s_get_real(root, at, "rate_received", &s->rate_received, d);
    if (rc == MN_OK)
        rc = s_get_real(root, at, "rate_accepted", &s->rate_accepted, d);
    if (rc == MN_OK)
        rc = s_get_real(root, at, "rate_rejected", &s->rate_rejected, d);
    return rc;
}

/* The counters of t, in the order they are written (so the first bad one is the one named).
 * An absent one is left as it is. */
static int s_get_counters(const json_t *root, const s_at *at, gw_snapshot *s,
                          const gw_counter_table *t, mn_diag *d)
{
    static const int places[] = {GW_JSON_HEAD, GW_JSON_MIDDLE, GW_JSON_TAIL};
    for (size_t p = 0; p < S_COUNT(places); p++) {
        for (size_t i = 0; i < t->n; i++) {
            const gw_counter *c = &t->items[i];
            const json_t *v = json_object_get(root, c->name);
            uint64_t n = 0;
            if (c->json_at != places[p] || !v)
                continue;
            int rc = s_u64_value(v, at, c->name, &n, d);
            if (rc != MN_OK)
                return rc;
            memcpy((char *)s + c->offset, &n, sizeof n);
        }
    }
    return MN_OK;
}

static int s_parse_counts(const json_t *root, const s_at *at, gw_snapshot *s,
                          const gw_counter_table *t, mn_diag *d)
{
    int rc = s_get_fields(root, at, s, s_times, S_COUNT(s_times), d);
    if (rc == MN_OK)
        rc = s_get_counters(root, at, s, t, d);
    if (rc == MN_OK)
        rc = s_parse_reasons(root, at, s, d);
    if (rc == MN_OK)
        rc = s_parse_causes(root, at, s, d);
    if (rc == MN_OK)
        rc = s_parse_stages(root, at, s, d);
    return rc;
}

static int s_parse_root(const json_t *root, gw_snapshot *s, const gw_counter_table *t, mn_diag *d)
{
    const s_at top = {""};
    if (!json_is_object(root))
        return s_bad(d, &top, NULL, "an object", root);
    int rc = s_parse_scalars(root, &top, s, d);
    if (rc == MN_OK)
        rc = s_parse_counts(root, &top, s, t, d);
    if (rc == MN_OK)
        rc = s_parse_hist(root, &top, "ack_latency", &s->ack_latency, gw_ack_latency_bounds,
                          gw_ack_latency_n_bounds, d);
    if (rc == MN_OK)
        rc = s_parse_hist(root, &top, "batch_size", &s->batch_size, gw_batch_size_bounds,
                          gw_batch_size_n_bounds, d);
    if (rc == MN_OK)
        rc = s_parse_history(root, &top, s, d);
    void *agents = NULL, *partners = NULL;
    if (rc == MN_OK)
        rc = s_parse_list(root, &top, "agents", sizeof *s->agents, s_parse_agent, &agents,
                          &s->n_agents, d);
    s->agents = agents;
    if (rc == MN_OK)
        rc = s_parse_list(root, &top, "partners", sizeof *s->partners, s_parse_partner, &partners,
                          &s->n_partners, d);
    s->partners = partners;
    return rc;
}

int gw_snapshot_parse(const char *json, gw_snapshot *out, mn_diag *d)
{
    return gw_snapshot_parse_with(json, &gw_snapshot_counters, out, d);
}

int gw_snapshot_parse_with(const char *json, const gw_counter_table *counters, gw_snapshot *out,
                           mn_diag *d)
{
    json_error_t err;
    memset(out, 0, sizeof *out);
    json_t *root = json ? json_loads(json, 0, &err) : NULL;
    if (!root) {
        if (!json)
            return mn_diag_set(d, MN_EDECODE, "status", "no text");
        char where[64];
        snprintf(where, sizeof where, "line %d column %d", err.line, err.column);
        return mn_diag_set(d, MN_EDECODE, where, "not JSON: %s", err.text);
    }
    int rc = s_parse_root(root, out, counters, d);
    if (rc == MN_ENOMEM)
        mn_diag_set(d, MN_ENOMEM, "status", "out of memory");
    if (rc != MN_OK)
        gw_snapshot_clear(out);
    json_decref(root);
    return rc;
}
