/* gw_dispatch.c - registry record, partner items and unrouted notes for one registration.
 *
 * Everything here runs inside the caller's write transaction: either the registration and all
 * its items are committed together, or none of them is. Each recipient gets its own redacted
 * copy (gw_route_redact), sealed to its own key; the gateway cannot read back what it wrote.
 */
#include "gw_dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "gw_route.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_message.h"
#include "mn_referral.h"

#define REGISTRY_RECIPIENT "registry"

/* The registry and each partner: a handful of recipients per batch, found by a linear scan. */
struct gw_dispatch_sealers {
    mn_box_sealer **sealer;
    size_t n;
    size_t cap;
};

int gw_dispatch_sealers_new(gw_dispatch_sealers **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? MN_OK : MN_ENOMEM;
}

void gw_dispatch_sealers_destroy(gw_dispatch_sealers **s_p)
{
    if (!s_p || !*s_p)
        return;
    gw_dispatch_sealers *s = *s_p;
    for (size_t i = 0; i < s->n; i++)
        mn_box_sealer_destroy(&s->sealer[i]);
    free(s->sealer);
    free(s);
    *s_p = NULL;
}

/* Seal to box_pub with this batch's sealer for it (made on first use), or alone. */
static int s_seal(const gw_dispatch_deps *deps, const uint8_t box_pub[MN_KEY_BYTES],
                  const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len)
{
    gw_dispatch_sealers *s = deps->sealers;
    if (!s)
        return mn_box_seal(box_pub, plain, len, out, out_len);
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(mn_box_sealer_recipient(s->sealer[i]), box_pub, MN_KEY_BYTES) == 0)
            return mn_box_sealer_seal(s->sealer[i], plain, len, out, out_len);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        mn_box_sealer **grown = realloc(s->sealer, cap * sizeof *grown);
        if (!grown)
            return MN_ENOMEM;
        s->sealer = grown;
        s->cap = cap;
    }
    int rc = mn_box_sealer_new(box_pub, &s->sealer[s->n]);
    if (rc != MN_OK)
        return rc;
    return mn_box_sealer_seal(s->sealer[s->n++], plain, len, out, out_len);
}

/* RegistryRecord around the registry's own redacted view, sealed to the registry. */
static int s_registry_record(const gw_dispatch_deps *deps, const mn_report *r,
                             const mn_record_info *info, uint8_t **sealed, size_t *sealed_len,
                             mn_diag *d)
{
    uint8_t key[32];
    mn_referral *view = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_topics none = {.n = 0};
    gw_route_recipient_key(deps->pseudonym_key, REGISTRY_RECIPIENT, key);
    int rc = gw_route_redact(r, info->registration, info->accepted_ms, REGISTRY_RECIPIENT,
                             GW_PARTNER_REGISTRY, MELDNET__SHARING_LEVEL__FULL, 0, &none, "", key,
                             &view);
    sodium_memzero(key, sizeof key);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, "registry", "cannot build the registry record");
        goto out;
    }
    Meldnet__RegistryRecord rec = MELDNET__REGISTRY_RECORD__INIT;
    rec.version = 1;
    rec.registration = info->registration;
    rec.envelope_id.data = (uint8_t *)info->envelope_id;
    rec.envelope_id.len = sizeof info->envelope_id;
    rec.agent = (char *)info->agent;
    rec.accepted_ms = info->accepted_ms;
    rec.created_ms = info->created_ms;
    rec.report = view->report;
    rec.has_victim_pseudonym = view->has_victim_pseudonym;
    rec.victim_pseudonym = view->victim_pseudonym;
    rec.n_withheld = view->n_withheld;
    rec.withheld = view->withheld;
    rec.has_sharing = 1;
    rec.sharing = view->sharing;
    if (mn_message_pack(&rec.base, &plain, &plain_len) != MN_OK) {
        rc = mn_diag_set(d, MN_ENOMEM, "registry", "no memory for the registry record");
        goto out;
    }
    rc = s_seal(deps, deps->registry->box, plain, plain_len, sealed, sealed_len);
    if (rc != MN_OK)
        mn_diag_set(d, rc, "registry", "cannot seal the registry record");
out:
    mn_plain_free(plain, plain_len);
    mn_referral_destroy(&view);
    return rc;
}

/* One partner's item: redact, seal to the partner, sign the delivery input, queue. */
static int s_queue_target(gw_store_txn *txn, const gw_dispatch_deps *deps, const mn_report *r,
                          uint64_t registration, uint64_t accepted_ms,
                          const gw_route_target *t, gw_dispatch_result *res, mn_diag *d)
{
    uint8_t key[32];
    mn_referral *ref = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_delivery dl;
    gw_queue_item item;
    memset(&dl, 0, sizeof dl);
    memset(&item, 0, sizeof item);

    gw_route_recipient_key(deps->pseudonym_key, t->partner->name, key);
    int rc = gw_route_redact(r, registration, accepted_ms, t->partner->name, t->partner->kind,
                             t->sharing, t->overriding, &t->topics, t->rules, key, &ref);
    sodium_memzero(key, sizeof key);
    if (rc == MN_OK)
        rc = mn_referral_encode(ref, &plain, &plain_len);
    if (rc == MN_OK)
        rc = s_seal(deps, t->partner->pub.box, plain, plain_len, &dl.sealed, &dl.sealed_len);
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
    snprintf(item.partner, sizeof item.partner, "%s", t->partner->name);
    item.acute = r->has_acute_danger && r->acute_danger;
    item.registration = registration;
    item.enqueued_ms = mn_now_ms();
    mn_topics_join(&t->topics, ",", item.topics, sizeof item.topics);
    item.sealed = dl.sealed;
    item.sealed_len = dl.sealed_len;
    memcpy(item.signature, dl.signature, sizeof item.signature);
    rc = gw_store_queue_put(txn, &item, d);
    item.sealed = NULL; /* still owned by dl */
    if (rc == MN_OK) {
        res->items++;
        res->acute |= item.acute;
    }
out:
    mn_plain_free(plain, plain_len);
    mn_referral_destroy(&ref);
    mn_delivery_clear(&dl);
    return rc;
}

static int s_unrouted(gw_store_txn *txn, uint64_t registration, const char *topic,
                      const char *reason, gw_dispatch_result *res, mn_diag *d)
{
    gw_unrouted u;
    memset(&u, 0, sizeof u);
    u.registration = registration;
    snprintf(u.topic, sizeof u.topic, "%s", topic);
    u.held_ms = mn_now_ms();
    snprintf(u.reason, sizeof u.reason, "%s", reason);
    int rc = gw_store_unrouted_put(txn, &u, d);
    if (rc == MN_OK)
        res->unrouted++;
    return rc;
}

/* Queue the targets of match m; note topics nobody is bound to. */
static int s_route(gw_store_txn *txn, const gw_dispatch_deps *deps, const mn_report *r,
                   uint64_t registration, uint64_t accepted_ms, const gw_route_match *m,
                   gw_dispatch_result *res, mn_diag *d)
{
    const gw_config *cfg = deps->cfg;
    gw_route_target *targets = calloc(cfg->n_partners ? cfg->n_partners : 1, sizeof *targets);
    size_t n_targets = 0;
    mn_topics unbound;
    int rc = MN_OK;
    if (!targets)
        return mn_diag_set(d, MN_ENOMEM, "route", "no memory for routing");
    gw_route_plan(cfg->rules, m, cfg->partners, cfg->n_partners, targets, &n_targets, &unbound);
    for (size_t i = 0; rc == MN_OK && i < n_targets; i++)
        rc = s_queue_target(txn, deps, r, registration, accepted_ms, &targets[i], res, d);
    for (size_t i = 0; rc == MN_OK && i < unbound.n; i++)
        rc = s_unrouted(txn, registration, unbound.name[i], "no partner is bound to this topic",
                        res, d);
    free(targets);
    return rc;
}

int gw_dispatch_register(gw_store_txn *txn, const gw_dispatch_deps *deps, const mn_report *r,
                         const mn_record_info *info, const uint8_t digest[32],
                         gw_dispatch_result *res, mn_diag *d)
{
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char today[11];
    gw_route_match m;
    memset(res, 0, sizeof *res);

    int rc = s_registry_record(deps, r, info, &sealed, &sealed_len, d);
    if (rc == MN_OK) {
        gw_registration reg = {.registration = info->registration,
                               .accepted_ms = info->accepted_ms};
        rc = gw_store_put_registration(txn, info->envelope_id, digest, &reg, sealed, sealed_len,
                                       d);
    }
    free(sealed);
    if (rc != MN_OK)
        return rc;

    mn_time_format_day(mn_now_ms(), today, sizeof today);
    gw_route_evaluate(deps->cfg->rules, deps->cfg->n_rules, r, today, &m);
    if (m.topics.n == 0)
        return s_unrouted(txn, info->registration, "", "no routing rule matched", res, d);
    return s_route(txn, deps, r, info->registration, info->accepted_ms, &m, res, d);
}

int gw_dispatch_reroute(gw_store_txn *txn, const gw_dispatch_deps *deps, const mn_report *r,
                        uint64_t registration, uint64_t accepted_ms, const char *topic,
                        gw_dispatch_result *res, mn_diag *d)
{
    gw_route_match m;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    m.topics.n = 1;
    snprintf(m.topics.name[0], sizeof m.topics.name[0], "%s", topic);
    m.rule_of[0] = -1; /* released by an operator, not chosen by a rule now */
    size_t before = res->items;
    int rc = s_route(txn, deps, r, registration, accepted_ms, &m, res, d);
    if (rc != MN_OK)
        return rc;
    if (res->items == before)
        return mn_diag_set(d, MN_ENOTFOUND, topic,
                           "no partner is bound to this topic yet; bind one, then release");
    return gw_store_unrouted_remove(txn, registration, topic, d);
}
