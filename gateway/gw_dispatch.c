/* gw_dispatch.c - registry record, partner items and unrouted notes for one registration.
 *
 * Everything here runs inside the caller's write transaction: either the registration and all
 * its items are committed together, or none of them is. Each recipient gets its own redacted
 * copy (gw_redact_view), sealed to its own key; the gateway cannot read back what it wrote.
 */
#include "gw_dispatch.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_redact.h"
#include "gw_route.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_record.h"
#include "mn_referral.h"
#include "mn_time.h"

#define REGISTRY_RECIPIENT "registry"

/* The registry and each partner: a handful of recipients per batch, found by a linear scan. */
struct gw_dispatch_sealers {
    pthread_mutex_t lock; /* finding or adding a sealer; sealing itself needs no lock */
    mn_box_sealer **sealer;
    size_t n;
    size_t cap;
};

int gw_dispatch_sealers_new(gw_dispatch_sealers **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return MN_ENOMEM;
    pthread_mutex_init(&(*out)->lock, NULL);
    return MN_OK;
}

void gw_dispatch_sealers_destroy(gw_dispatch_sealers **s_p)
{
    if (!s_p || !*s_p)
        return;
    gw_dispatch_sealers *s = *s_p;
    for (size_t i = 0; i < s->n; i++)
        mn_box_sealer_destroy(&s->sealer[i]);
    free(s->sealer);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *s_p = NULL;
}

/* The batch's sealer for box_pub, made on first use. Returns MN_OK, MN_ENOMEM, MN_ECRYPTO. */
static int s_sealer_for(gw_dispatch_sealers *s, const uint8_t box_pub[MN_KEY_BYTES],
                        mn_box_sealer **out)
{
    int rc = MN_OK;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (memcmp(mn_box_sealer_recipient(s->sealer[i]), box_pub, MN_KEY_BYTES) == 0) {
            *out = s->sealer[i];
            goto out;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        mn_box_sealer **grown = realloc(s->sealer, cap * sizeof *grown);
        if (!grown) {
            rc = MN_ENOMEM;
            goto out;
        }
        s->sealer = grown;
        s->cap = cap;
    }
    rc = mn_box_sealer_new(box_pub, &s->sealer[s->n]);
    if (rc == MN_OK)
        *out = s->sealer[s->n++];
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Seal to box_pub with this batch's sealer for it, or alone. A sealer is read-only once made,
 * so the workers that prepare one batch seal with it at the same time. */
static int s_seal(const gw_dispatch_deps *deps, const uint8_t box_pub[MN_KEY_BYTES],
                  const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len)
{
    mn_box_sealer *sealer = NULL;
    if (!deps->sealers)
        return mn_box_seal(box_pub, plain, len, out, out_len);
    int rc = s_sealer_for(deps->sealers, box_pub, &sealer);
    if (rc != MN_OK)
        return rc;
    return mn_box_sealer_seal(sealer, plain, len, out, out_len);
}

/* What a redacted view becomes: packed (a RegistryRecord around it when info is set, else the
 * Referral itself) and sealed. */
typedef struct s_packing {
    const gw_dispatch_deps *deps;
    const uint8_t *box_pub;
    const mn_record_info *info; /* registry only */
    uint8_t **sealed;
    size_t *sealed_len;
} s_packing;

static int s_pack_seal(const mn_referral *view, void *arg)
{
    s_packing *p = arg;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int rc;
    if (p->info)
        rc = mn_record_encode_view(p->info, view, &plain, &plain_len);
    else
        rc = mn_referral_encode(view, &plain, &plain_len);
    if (rc == MN_OK)
        rc = s_seal(p->deps, p->box_pub, plain, plain_len, p->sealed, p->sealed_len);
    mn_plain_free(plain, plain_len);
    return rc;
}

/* RegistryRecord around the registry's own redacted view, sealed to the registry. */
static int s_registry_record(const gw_dispatch_deps *deps, const mn_report *r,
                             const mn_record_info *info, uint8_t **sealed, size_t *sealed_len,
                             mn_diag *d)
{
    uint8_t key[32];
    mn_topics none = {.n = 0};
    s_packing p = {deps, deps->registry->box, info, sealed, sealed_len};
    gw_redact_recipient_key(deps->pseudonym_key, REGISTRY_RECIPIENT, key);
    int rc = gw_redact_view(r, info->registration, info->accepted_ms, REGISTRY_RECIPIENT,
                            GW_PARTNER_REGISTRY, MELDNET__SHARING_LEVEL__FULL, 0, &none, "", key,
                            s_pack_seal, &p);
    sodium_memzero(key, sizeof key);
    if (rc != MN_OK)
        mn_diag_set(d, rc, "registry", "cannot build the registry record");
    return rc;
}

/* One partner's item: redact, seal to the partner, sign the delivery input. */
static int s_prepare_target(const gw_dispatch_deps *deps, const mn_report *r, uint64_t registration,
                            uint64_t accepted_ms, const gw_route_target *t, gw_queue_item *item,
                            mn_diag *d)
{
    uint8_t key[32];
    mn_delivery dl;
    memset(&dl, 0, sizeof dl);
    memset(item, 0, sizeof *item);
    s_packing p = {deps, t->partner->pub.box, NULL, &dl.sealed, &dl.sealed_len};

    gw_redact_recipient_key(deps->pseudonym_key, t->partner->name, key);
    int rc = gw_redact_view(r, registration, accepted_ms, t->partner->name, t->partner->kind,
                            t->sharing, t->overriding, &t->topics, t->rules, key, s_pack_seal, &p);
    sodium_memzero(key, sizeof key);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, t->partner->name, "cannot build the referral");
        goto out;
    }
    dl.topics = t->topics;
    dl.registration = registration;
    rc = mn_delivery_sign(&dl, t->partner->name, deps->gateway);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, t->partner->name, "cannot sign the delivery");
        goto out;
    }
    snprintf(item->partner, sizeof item->partner, "%s", t->partner->name);
    item->acute = r->has_acute_danger && r->acute_danger;
    item->registration = registration;
    mn_topics_join(&t->topics, ",", item->topics, sizeof item->topics);
    item->sealed = dl.sealed; /* moved */
    item->sealed_len = dl.sealed_len;
    dl.sealed = NULL;
    memcpy(item->signature, dl.signature, sizeof item->signature);
out:
    mn_delivery_clear(&dl);
    return rc;
}

static int s_add_unrouted(gw_dispatch_prepared *p, uint64_t registration, const char *topic,
                          const char *reason)
{
    gw_unrouted *grown = realloc(p->unrouted, (p->n_unrouted + 1) * sizeof *grown);
    if (!grown)
        return MN_ENOMEM;
    p->unrouted = grown;
    gw_unrouted *u = &p->unrouted[p->n_unrouted++];
    memset(u, 0, sizeof *u);
    u->registration = registration;
    snprintf(u->topic, sizeof u->topic, "%s", topic);
    snprintf(u->reason, sizeof u->reason, "%s", reason);
    return MN_OK;
}

/* Append item to the comma-joined list unless it is there or does not fit. */
static void s_join(char *list, size_t cap, const char *item)
{
    size_t len = strlen(list), n = strlen(item);
    for (const char *t = list; *t;) {
        size_t tlen = strcspn(t, ",");
        if (tlen == n && strncmp(t, item, n) == 0)
            return;
        t += tlen + (t[tlen] ? 1 : 0);
    }
    if (n && len + (len ? 1 : 0) + n + 1 <= cap)
        snprintf(list + len, cap - len, "%s%s", len ? "," : "", item);
}

/* Note in p when `topic`, unbound, came from an acute rule (asking acute = true) of m: an acute
 * report nobody receives. A topic a rule released by an operator (rule_of -1) is no alarm. */
static void s_note_acute_unrouted(const gw_config *cfg, const gw_route_match *m, const char *topic,
                                  gw_dispatch_prepared *p)
{
    for (size_t i = 0; i < m->topics.n; i++) {
        int rule = m->rule_of[i];
        if (strcmp(m->topics.name[i], topic) != 0 || rule < 0 || (size_t)rule >= cfg->n_rules ||
            cfg->rules[rule].acute != 1)
            continue;
        p->acute_unrouted = 1;
        s_join(p->acute_topics, sizeof p->acute_topics, topic);
        s_join(p->acute_rules, sizeof p->acute_rules, cfg->rules[rule].name);
    }
}

/* Items for the targets of match m; unrouted notes for topics nobody is bound to. */
static int s_prepare_route(const gw_dispatch_deps *deps, const mn_report *r, uint64_t registration,
                           uint64_t accepted_ms, const gw_route_match *m, gw_dispatch_prepared *p,
                           mn_diag *d)
{
    const gw_config *cfg = deps->cfg;
    size_t cap = cfg->n_partners ? cfg->n_partners : 1;
    gw_route_target *targets = calloc(cap, sizeof *targets);
    p->items = calloc(cap, sizeof *p->items);
    size_t n_targets = 0;
    mn_topics unbound;
    int rc = MN_OK;
    if (!targets || !p->items) {
        free(targets);
        return mn_diag_set(d, MN_ENOMEM, "route", "no memory for routing");
    }
    gw_route_plan(cfg->rules, m, cfg->partners, cfg->n_partners, targets, &n_targets, &unbound);
    for (size_t i = 0; rc == MN_OK && i < n_targets; i++) {
        rc = s_prepare_target(deps, r, registration, accepted_ms, &targets[i],
                              &p->items[p->n_items], d);
        if (rc == MN_OK)
            p->n_items++;
    }
    for (size_t i = 0; rc == MN_OK && i < unbound.n; i++) {
        rc = s_add_unrouted(p, registration, unbound.name[i], "no partner is bound to this topic");
        if (rc != MN_OK)
            mn_diag_set(d, rc, "route", "no memory for routing");
        else
            s_note_acute_unrouted(cfg, m, unbound.name[i], p);
    }
    free(targets);
    return rc;
}

int gw_dispatch_prepare(const gw_dispatch_deps *deps, const mn_report *r,
                        const mn_record_info *info, gw_dispatch_prepared *p, mn_diag *d)
{
    char today[11];
    gw_route_match m;
    memset(p, 0, sizeof *p);
    int rc = s_registry_record(deps, r, info, &p->record, &p->record_len, d);
    if (rc != MN_OK)
        return rc;
    mn_time_format_day(mn_now_ms(), today, sizeof today);
    gw_route_evaluate(deps->cfg->rules, deps->cfg->n_rules, r, today, &m);
    if (m.topics.n == 0) {
        rc = s_add_unrouted(p, info->registration, "", "no routing rule matched");
        return rc == MN_OK ? MN_OK : mn_diag_set(d, rc, "route", "no memory for routing");
    }
    return s_prepare_route(deps, r, info->registration, info->accepted_ms, &m, p, d);
}

/* Queue the items and note the unrouted topics of p. */
static int s_store_routes(gw_store_txn *txn, gw_dispatch_prepared *p, gw_dispatch_result *res,
                          mn_diag *d)
{
    uint64_t now = mn_now_ms();
    int rc = MN_OK;
    for (size_t i = 0; rc == MN_OK && i < p->n_items; i++) {
        p->items[i].enqueued_ms = now;
        rc = gw_store_queue_put(txn, &p->items[i], d);
        if (rc == MN_OK) {
            res->items++;
            res->acute |= p->items[i].acute;
        }
    }
    for (size_t i = 0; rc == MN_OK && i < p->n_unrouted; i++) {
        p->unrouted[i].held_ms = now;
        rc = gw_store_unrouted_put(txn, &p->unrouted[i], d);
        if (rc == MN_OK)
            res->unrouted++;
    }
    return rc;
}

int gw_dispatch_store(gw_store_txn *txn, const mn_record_info *info, const uint8_t digest[32],
                      gw_dispatch_prepared *p, gw_dispatch_result *res, mn_diag *d)
{
    memset(res, 0, sizeof *res);
    gw_registration reg = {.registration = info->registration, .accepted_ms = info->accepted_ms};
    int rc = gw_store_put_registration(txn, info->agent, info->envelope_id, digest, &reg, p->record,
                                       p->record_len, d);
    if (rc != MN_OK)
        return rc;
    return s_store_routes(txn, p, res, d);
}

void gw_dispatch_prepared_clear(gw_dispatch_prepared *p)
{
    if (!p)
        return;
    free(p->record);
    for (size_t i = 0; i < p->n_items; i++)
        free(p->items[i].sealed);
    free(p->items);
    free(p->unrouted);
    memset(p, 0, sizeof *p);
}

int gw_dispatch_reroute(gw_store_txn *txn, const gw_dispatch_deps *deps, const mn_report *r,
                        uint64_t registration, uint64_t accepted_ms, const char *topic,
                        gw_dispatch_result *res, mn_diag *d)
{
    gw_route_match m;
    gw_dispatch_prepared p;
    memset(&m, 0, sizeof m);
    memset(&p, 0, sizeof p);
    memset(res, 0, sizeof *res);
    m.topics.n = 1;
    snprintf(m.topics.name[0], sizeof m.topics.name[0], "%s", topic);
    m.rule_of[0] = -1; /* released by an operator, not chosen by a rule now */
    int rc = s_prepare_route(deps, r, registration, accepted_ms, &m, &p, d);
    if (rc == MN_OK)
        rc = s_store_routes(txn, &p, res, d);
    gw_dispatch_prepared_clear(&p);
    if (rc != MN_OK)
        return rc;
    if (res->items == 0)
        return mn_diag_set(d, MN_ENOTFOUND, topic,
                           "no partner is bound to this topic yet; bind one, then release");
    return gw_store_unrouted_remove(txn, registration, topic, d);
}
