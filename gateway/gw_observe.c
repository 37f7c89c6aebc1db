/* gw_observe.c - store figures on their own thread; rates and throughput history. */
#include "gw_observe.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mn_log.h"

#define S_INTERVAL_MS 1000
#define S_RATE_WINDOW_S 60

typedef struct s_figures {
    char name[MN_NAME_MAX + 1];
    uint64_t depth, oldest_ms, held;
} s_figures;

/* Counters at one moment, for rates over the last minute. */
typedef struct s_sample {
    uint64_t ms, received, accepted, rejected;
} s_sample;

struct gw_observe {
    gw_store *store;
    pthread_t thread;
    int started;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t wake;
    int stop;
    s_figures *partners; /* the names to look at, and their latest figures */
    size_t n_partners;
    uint64_t registrations, unrouted, held_total, map_bytes, used_bytes;
    int store_ok;
    /* The filling thread's alone: */
    s_sample samples[S_RATE_WINDOW_S + 1]; /* ring, one per fill */
    size_t n_samples, next_sample;
    uint64_t history[GW_HISTORY_POINTS]; /* ring of accepted per step */
    size_t n_history, next_history;
    uint64_t step_start_ms, step_start_accepted;
};

/* One look at the store: counts the store keeps and the first item of each queue lane, a few
 * pages whatever the backlog (reading every item would also fill the resident set). The lock
 * is held throughout; the only other taker is the once-a-second fill. */
static void s_look(gw_observe *o)
{
    int ok = 1;
    uint64_t regs = 0, unrouted = 0, held = 0;
    ok &= gw_store_registry_count(o->store, &regs) == MN_OK;
    ok &= gw_store_totals(o->store, &held, &unrouted) == MN_OK;
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n_partners; i++) {
        s_figures *f = &o->partners[i];
        ok &= gw_store_queue_depth(o->store, f->name, &f->depth, &f->oldest_ms) == MN_OK;
        ok &= gw_store_hold_depth(o->store, f->name, &f->held) == MN_OK;
    }
    ok &= gw_store_map_usage(o->store, &o->map_bytes, &o->used_bytes) == MN_OK;
    o->registrations = regs;
    o->unrouted = unrouted;
    o->held_total = held;
    if (o->store_ok && !ok)
        log_warn("observe", "cannot read the store's figures; metrics show the last ones");
    o->store_ok = ok;
    pthread_mutex_unlock(&o->lock);
}

static void *s_main(void *arg)
{
    gw_observe *o = arg;
    pthread_mutex_lock(&o->lock);
    while (!o->stop) {
        pthread_mutex_unlock(&o->lock);
        s_look(o);
        pthread_mutex_lock(&o->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += S_INTERVAL_MS / 1000;
        while (!o->stop && pthread_cond_timedwait(&o->wake, &o->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

int gw_observe_start(gw_store *store, gw_observe **out, mn_diag *d)
{
    gw_observe *o = calloc(1, sizeof *o);
    if (!o)
        return mn_diag_set(d, MN_ENOMEM, "observe", "out of memory");
    o->store = store;
    pthread_mutex_init(&o->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->wake, &ca);
    pthread_condattr_destroy(&ca);
    int err = pthread_create(&o->thread, NULL, s_main, o);
    if (err != 0) {
        gw_observe_stop(&o);
        errno = err;
        return mn_diag_set(d, MN_ESYS, "observe", "cannot start the store figures thread: %s",
                           strerror(err));
    }
    o->started = 1;
    *out = o;
    return MN_OK;
}

int gw_observe_set_partners(gw_observe *o, const gw_partner *partners, size_t n)
{
    s_figures *f = calloc(n ? n : 1, sizeof *f);
    if (!f)
        return MN_ENOMEM;
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i].name, sizeof f[i].name, "%s", partners[i].name);
        for (size_t k = 0; k < o->n_partners; k++) /* keep the last figures until the next look */
            if (strcmp(o->partners[k].name, f[i].name) == 0)
                f[i] = o->partners[k];
    }
    free(o->partners);
    o->partners = f;
    o->n_partners = n;
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->lock);
    return MN_OK;
}

static void s_fill_store(gw_observe *o, gw_snapshot *s)
{
    pthread_mutex_lock(&o->lock);
    s->store_open = o->store_ok;
    s->registrations = o->registrations;
    s->unrouted = o->unrouted;
    s->held_total = o->held_total;
    s->map_size_bytes = o->map_bytes;
    s->map_used_bytes = o->used_bytes;
    for (size_t i = 0; i < s->n_partners; i++) {
        gw_snap_partner *p = &s->partners[i];
        for (size_t k = 0; k < o->n_partners; k++) {
            if (strcmp(o->partners[k].name, p->name) == 0) {
                p->queue_depth = o->partners[k].depth;
                p->oldest_ms = o->partners[k].oldest_ms;
                p->held = o->partners[k].held;
                break; /* names are unique */
            }
        }
    }
    pthread_mutex_unlock(&o->lock);
}

/* Per-second rates between the oldest sample of the last minute and now. */
static void s_fill_rates(gw_observe *o, gw_snapshot *s)
{
    s_sample now = {s->now_ms, s->frames_received, s->accepted, s->rejected};
    const size_t cap = sizeof o->samples / sizeof o->samples[0];
    o->samples[o->next_sample] = now;
    o->next_sample = (o->next_sample + 1) % cap;
    if (o->n_samples < cap)
        o->n_samples++;
    const s_sample *old = &o->samples[(o->next_sample + cap - o->n_samples) % cap];
    double secs = (double)(now.ms - old->ms) / 1000.0;
    if (secs <= 0)
        return;
    s->rate_received = (double)(now.received - old->received) / secs;
    s->rate_accepted = (double)(now.accepted - old->accepted) / secs;
    s->rate_rejected = (double)(now.rejected - old->rejected) / secs;
}

/* One history point per GW_HISTORY_STEP_S: envelopes accepted in that step. */
static void s_fill_history(gw_observe *o, gw_snapshot *s)
{
    if (o->step_start_ms == 0) {
        o->step_start_ms = s->now_ms;
        o->step_start_accepted = s->accepted;
    }
    while (s->now_ms - o->step_start_ms >= GW_HISTORY_STEP_S * 1000ull) {
        o->history[o->next_history] = s->accepted - o->step_start_accepted;
        o->next_history = (o->next_history + 1) % GW_HISTORY_POINTS;
        if (o->n_history < GW_HISTORY_POINTS)
            o->n_history++;
        o->step_start_accepted = s->accepted; /* a long gap: its later steps count 0 */
        o->step_start_ms += GW_HISTORY_STEP_S * 1000ull;
    }
    size_t first = (o->next_history + GW_HISTORY_POINTS - o->n_history) % GW_HISTORY_POINTS;
    for (size_t i = 0; i < o->n_history; i++)
        s->history[i] = o->history[(first + i) % GW_HISTORY_POINTS];
    s->n_history = o->n_history;
}

void gw_observe_fill(gw_observe *o, gw_snapshot *s)
{
    s_fill_store(o, s);
    s_fill_rates(o, s);
    s_fill_history(o, s);
}

void gw_observe_stop(gw_observe **o_p)
{
    if (!o_p || !*o_p)
        return;
    gw_observe *o = *o_p;
    if (o->started) {
        pthread_mutex_lock(&o->lock);
        o->stop = 1;
        pthread_cond_signal(&o->wake);
        pthread_mutex_unlock(&o->lock);
        pthread_join(o->thread, NULL);
    }
    pthread_cond_destroy(&o->wake);
    pthread_mutex_destroy(&o->lock);
    free(o->partners);
    free(o);
    *o_p = NULL;
}
