/* ctl_queue - meldnetctl queue and hold (see ctl_queue.h). */
#include "ctl_queue.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_common.h"
#include "ctl_registry.h"
#include "gw_config.h"
#include "gw_dispatch.h"
#include "gw_store.h"
#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_record.h"
#include "mn_time.h"

static const char s_usage_queue[] =
    "usage: meldnetctl queue list [--home DIR]\n"
    "\n"
    "list  per partner: items waiting, age of the oldest, items held.\n"
    "\n"
    "`meldnetctl queue list --help` explains it.\n";

static const char s_usage_queue_list[] =
    "usage: meldnetctl queue list [--home DIR]\n"
    "\n"
    "Print one line per configured partner, sorted by name:\n"
    "  PARTNER N items oldest=AGE held=N\n"
    "N items are waiting for delivery or for the partner's ack; oldest is the age of the\n"
    "oldest of them (12s, 5m03s, 2h10m, 3d04h; \"-\" when none); held counts the items in its\n"
    "hold queue (`hold list`). A partner with held items that is no longer configured is\n"
    "listed too, marked (not configured). Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_hold[] =
    "usage: meldnetctl hold list [--home DIR]\n"
    "       meldnetctl hold release PARTNER TAG [TAG...] [--home DIR]\n"
    "       meldnetctl hold release [PARTNER] --all [--reason TEXT] [--home DIR]\n"
    "       meldnetctl hold release unrouted REG TOPIC --registry-key FILE [--home DIR]\n"
    "\n"
    "list     the topics no partner was bound to, and the items partners refused too often\n"
    "         or did not take in time\n"
    "release  put held items back in their partner's queue (by tag, or all of them), or route\n"
    "         an unrouted topic again\n"
    "\n"
    "`meldnetctl hold list --help` and `meldnetctl hold release --help` explain each.\n";

static const char s_usage_hold_list[] =
    "usage: meldnetctl hold list [--home DIR]\n"
    "\n"
    "Print two sections. \"unrouted: N\", then one line per topic of a registration that no\n"
    "partner was bound to (topic=- when no rule matched at all):\n"
    "  MN-00000042 topic=hotline.friesland held=TIME reason=\"...\"\n"
    "then \"held: N\", then one line per held item (nacked max_nacks times, deferred by the\n"
    "partner for transient_retry_hours, or older than max_item_age_hours):\n"
    "  PARTNER TAG MN-00000042 topics=T[,T...] nacks=N held=TIME reason=\"...\"\n"
    "Times are UTC, ISO 8601. Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_hold_release[] =
    "usage: meldnetctl hold release PARTNER TAG [TAG...] [--home DIR]\n"
    "       meldnetctl hold release [PARTNER] --all [--reason TEXT] [--home DIR]\n"
    "       meldnetctl hold release unrouted REG TOPIC --registry-key FILE [--home DIR]\n"
    "\n"
    "PARTNER TAG [TAG...]\n"
    "               move held items TAG of PARTNER (see `hold list`) back to its queue, each\n"
    "               in its own lane, with attempts and nacks reset and due at once; all of\n"
    "               them or, when one is not held, none. The running gateway delivers them on\n"
    "               its next pump; fix what made the partner refuse them first, or they are\n"
    "               held again.\n"
    "[PARTNER] --all\n"
    "               the same for every held item of PARTNER, or of every partner when no\n"
    "               PARTNER is given (after a bad day: the partner's disk is free again).\n"
    "  --reason TEXT  only the held items whose reason (as `hold list` shows it) contains\n"
    "               TEXT, e.g. --reason \"No space left\"; implies --all.\n"
    "               Each released item is printed, then how many.\n"
    "unrouted REG TOPIC\n"
    "               route topic TOPIC of registration REG (MN-00000042 or 42) again: after\n"
    "               you bound a partner to TOPIC (partner add, reload), this opens the\n"
    "               registry's record with the registry's secret key FILE and queues an item\n"
    "               for every partner now bound to TOPIC, in one transaction that also removes\n"
    "               the unrouted entry. Needs the gateway identity and keys/pseudonym.key.\n"
    "\n"
    "options:\n"
    "  --all                 every held item (of PARTNER, or of every partner)\n"
    "  --reason TEXT         only held items whose reason contains TEXT; implies --all\n"
    "  --registry-key FILE   the registry's secret key file (0600), for unrouted\n"
    "  --home DIR            the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help            this help\n";

/* --- hold ----------------------------------------------------------------------------------- */

/* Text another party wrote (a partner's nack reason), quoted: \" \\ and control characters
 * escaped, so it can neither break the line nor drive the terminal. */
static void s_print_quoted(const char *text)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* A held item, as hold list prints it. */
typedef struct s_held {
    char partner[MN_NAME_MAX + 1];
    uint64_t tag;
    uint64_t registration;
    char topics[GW_TOPICS_TEXT_MAX];
    uint32_t nacks;
    uint64_t held_ms;
    char reason[GW_REASON_MAX];
} s_held;

/* A growing array of `size`-byte entries the callbacks below fill. */
typedef struct s_list {
    void *items;
    size_t n, cap, size;
    int failed; /* out of memory */
} s_list;

static void *s_list_add(s_list *l)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        void *ni = realloc(l->items, ncap * l->size);
        if (!ni) {
            l->failed = 1;
            return NULL;
        }
        l->items = ni;
        l->cap = ncap;
    }
    return (char *)l->items + l->n++ * l->size;
}

static int s_collect_unrouted(const gw_unrouted *u, void *arg)
{
    gw_unrouted *e = s_list_add(arg);
    if (!e)
        return 1;
    *e = *u;
    return 0;
}

static int s_collect_held(const gw_queue_item *item, void *arg)
{
    s_held *e = s_list_add(arg);
    if (!e)
        return 1;
    snprintf(e->partner, sizeof e->partner, "%s", item->partner);
    e->tag = item->tag;
    e->registration = item->registration;
    snprintf(e->topics, sizeof e->topics, "%s", item->topics);
    e->nacks = item->nacks;
    e->held_ms = item->held_ms;
    snprintf(e->reason, sizeof e->reason, "%s", item->reason);
    return 0;
}

/* Read every unrouted entry and held item. Caller frees both lists' items. */
static int s_read_holds(gw_store *store, const char *data_dir, s_list *unrouted, s_list *held,
                        mn_diag *d)
{
    int rc = gw_store_unrouted_each(store, s_collect_unrouted, unrouted);
    if (rc == MN_OK && !unrouted->failed)
        rc = gw_store_hold_each(store, s_collect_held, held);
    if (rc == MN_OK && (unrouted->failed || held->failed))
        rc = MN_ENOMEM;
    if (rc != MN_OK) {
        mn_diag_set(d, rc, data_dir, "cannot read the hold queues");
        if (rc == MN_ESTORE)
            mn_diag_hint(d, "the store is damaged: stop the gateway, move the data directory "
                            "aside and restore it from backup");
    }
    return rc;
}

static int s_hold_list(int argc, char **argv)
{
    s_list unrouted = {NULL, 0, 0, sizeof(gw_unrouted), 0};
    s_list held = {NULL, 0, 0, sizeof(s_held), 0};
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    char regtext[32], when[48];
    mn_diag d = {0};

    int rc = ctl_home_command(argc, argv, "hold list", s_usage_hold_list, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK ||
        s_read_holds(store, cfg->data_dir, &unrouted, &held, &d) != MN_OK)
        goto out;
    printf("unrouted: %zu\n", unrouted.n);
    for (size_t i = 0; i < unrouted.n; i++) {
        const gw_unrouted *u = (const gw_unrouted *)unrouted.items + i;
        mn_registration_format(u->registration, regtext, sizeof regtext);
        ctl_time_iso(u->held_ms, when, sizeof when);
        printf("%s topic=%s held=%s reason=", regtext, u->topic[0] ? u->topic : "-", when);
        s_print_quoted(u->reason);
        putchar('\n');
    }
    printf("held: %zu\n", held.n);
    for (size_t i = 0; i < held.n; i++) {
        const s_held *h = (const s_held *)held.items + i;
        mn_registration_format(h->registration, regtext, sizeof regtext);
        ctl_time_iso(h->held_ms, when, sizeof when);
        printf("%s %" PRIu64 " %s topics=%s nacks=%" PRIu32 " held=%s reason=", h->partner, h->tag,
               regtext, h->topics[0] ? h->topics : "-", h->nacks, when);
        s_print_quoted(h->reason);
        putchar('\n');
    }
    if (fflush(stdout) != 0) {
        mn_diag_sys(&d, "stdout", "cannot write the list");
        goto out;
    }
    if (unrouted.n)
        fprintf(stderr,
                "%s: bind a partner to a topic (partner add, reload), then `meldnetctl "
                "hold release unrouted REG TOPIC --registry-key FILE`\n",
                CTL_PROG);
    if (held.n)
        fprintf(stderr,
                "%s: when the partner can take its items again: `meldnetctl hold "
                "release PARTNER TAG [TAG...]`, or all of them: `meldnetctl hold release PARTNER "
                "--all`\n",
                CTL_PROG);
    rc = CTL_EXIT_OK;
out:
    free(unrouted.items);
    free(held.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}

/* TAG: a positive decimal number. */
static int s_parse_tag(const char *text, uint64_t *tag)
{
    uint64_t v = 0;
    if (!text[0])
        return MN_EINVAL;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return MN_EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0)
        return MN_EINVAL;
    *tag = v;
    return MN_OK;
}

/* Which held items a release takes: explicit tags of one partner, or every item (of one
 * partner, or of all) whose reason contains a text. */
typedef struct s_release_sel {
    const char *partner; /* NULL: every partner (only with all) */
    const uint64_t *tags;
    size_t n_tags;
    int all;
    const char *reason; /* NULL or "": any */
} s_release_sel;

typedef struct s_release_pick {
    const s_release_sel *sel;
    s_list *picked; /* of s_held: partner and tag */
} s_release_pick;

static int s_pick_held(const gw_queue_item *item, void *arg)
{
    s_release_pick *p = arg;
    const s_release_sel *sel = p->sel;
    if (sel->partner && strcmp(item->partner, sel->partner) != 0)
        return 0;
    if (sel->reason && sel->reason[0] && !strstr(item->reason, sel->reason))
        return 0;
    return s_collect_held(item, p->picked);
}

/* A released item, for the lines printed once the release is committed. */
typedef struct s_released {
    s_held h;
    int acute;
} s_released;

/* Note one released item (back in its queue, in txn) on list done. */
static int s_note_released(gw_store_txn *txn, const gw_config *cfg, const char *partner,
                           uint64_t tag, s_list *done, mn_diag *d)
{
    gw_queue_item item;
    int rc = gw_store_queue_get(txn, partner, tag, &item);
    if (rc != MN_OK)
        return mn_diag_set(d, rc, cfg->data_dir,
                           "the released item %s/%" PRIu64 " cannot be "
                           "read",
                           partner, tag);
    s_released *r = s_list_add(done);
    if (r) {
        memset(r, 0, sizeof *r);
        snprintf(r->h.partner, sizeof r->h.partner, "%s", partner);
        r->h.tag = tag;
        r->h.registration = item.registration;
        snprintf(r->h.topics, sizeof r->h.topics, "%s", item.topics);
        r->acute = item.acute;
    }
    gw_queue_item_clear(&item);
    return r ? MN_OK : mn_diag_set(d, MN_ENOMEM, cfg->data_dir, "out of memory");
}

/* Release the selected held items in one transaction: every one of them or none. */
static int s_release_held(const char *home, const s_release_sel *sel, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    s_list picked = {NULL, 0, 0, sizeof(s_held), 0};
    s_list done = {NULL, 0, 0, sizeof(s_released), 0};
    s_release_pick pick = {sel, &picked};
    char regtext[32];
    int rc;

    if ((rc = ctl_load_config(home, &cfg, d)) != MN_OK ||
        (rc = ctl_open_store_rw(cfg, &store, d)) != MN_OK)
        goto out;
    if (sel->all) {
        /* Read first: one transaction at a time, and the list is what the operator asked for. */
        rc = gw_store_hold_each(store, s_pick_held, &pick);
        if (rc == MN_OK && picked.failed)
            rc = MN_ENOMEM;
        if (rc != MN_OK) {
            mn_diag_set(d, rc, cfg->data_dir, "cannot read the hold queues");
            goto out;
        }
        if (picked.n == 0) {
            rc = mn_diag_set(d, MN_ENOTFOUND, cfg->data_dir, "no held item%s%s%s%s%s",
                             sel->partner ? " of partner " : "", sel->partner ? sel->partner : "",
                             sel->reason ? " with \"" : "", sel->reason ? sel->reason : "",
                             sel->reason ? "\" in its reason" : "");
            mn_diag_hint(d, "`meldnetctl hold list` shows the held items and their reasons");
            goto out;
        }
    }
    if ((rc = gw_store_begin(store, &txn, d)) != MN_OK)
        goto out;
    size_t n = sel->all ? picked.n : sel->n_tags;
    for (size_t i = 0; i < n; i++) {
        const s_held *h = sel->all ? (const s_held *)picked.items + i : NULL;
        const char *partner = h ? h->partner : sel->partner;
        uint64_t tag = h ? h->tag : sel->tags[i];
        rc = gw_store_hold_release(txn, partner, tag, d);
        if (rc == MN_ENOTFOUND)
            mn_diag_hint(d, "nothing was released; `meldnetctl hold list` shows the held items: "
                            "PARTNER TAG MN-...");
        if (rc == MN_OK)
            rc = s_note_released(txn, cfg, partner, tag, &done, d);
        if (rc != MN_OK)
            goto out;
    }
    if ((rc = gw_store_commit(&txn, d)) != MN_OK)
        goto out;
    const char *missing = NULL;
    for (size_t i = 0; i < done.n; i++) {
        const s_released *r = (const s_released *)done.items + i;
        mn_registration_format(r->h.registration, regtext, sizeof regtext);
        printf("released %s %" PRIu64 " %s topics=%s lane=%s: back in its queue, attempts and "
               "nacks reset, due now\n",
               r->h.partner, r->h.tag, regtext, r->h.topics, r->acute ? "acute" : "normal");
        if (!missing && !gw_config_find_partner(cfg, r->h.partner))
            missing = r->h.partner;
    }
    printf("released %zu held item%s; the running gateway delivers %s on its next pump\n", done.n,
           done.n == 1 ? "" : "s", done.n == 1 ? "it" : "them");
    if (missing)
        fprintf(stderr,
                "%s: warning: partner \"%s\" is not in %s: nothing delivers its queue "
                "until it is added again\n",
                CTL_PROG, missing, cfg->partners_dir);
    rc = MN_OK;
out:
    gw_store_abort(&txn);
    free(picked.items);
    free(done.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

struct s_find_unrouted {
    uint64_t registration;
    const char *topic;
    int found;
};

static int s_find_unrouted_cb(const gw_unrouted *u, void *arg)
{
    struct s_find_unrouted *f = arg;
    if (u->registration == f->registration && strcmp(u->topic, f->topic) == 0)
        f->found = 1;
    return f->found;
}

static int s_release_unrouted(const char *home, uint64_t reg, const char *topic,
                              const char *key_path, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    gw_store_txn *txn = NULL;
    mn_key *regkey = NULL, *gateway = NULL;
    mn_secret32 *pseudonym = NULL;
    mn_record *rec = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    mn_record_info info;
    mn_pubkey registry_pub;
    gw_dispatch_result res;
    char regtext[32];
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    if ((rc = ctl_registry_key_load(key_path, &regkey, d)) != MN_OK ||
        (rc = ctl_load_config(home, &cfg, d)) != MN_OK ||
        (rc = ctl_registry_key_check(cfg, regkey, key_path, 1, &registry_pub, d)) != MN_OK ||
        (rc = mn_key_load(cfg->identity, &gateway, d)) != MN_OK ||
        (rc = mn_secret32_load(cfg->pseudonym_key, &pseudonym, d)) != MN_OK ||
        (rc = ctl_open_store_rw(cfg, &store, d)) != MN_OK)
        goto out;
    struct s_find_unrouted find = {reg, topic, 0};
    if ((rc = gw_store_unrouted_each(store, s_find_unrouted_cb, &find)) != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read the unrouted topics");
        goto out;
    }
    if (!find.found) {
        rc = mn_diag_set(d, MN_ENOTFOUND, regtext,
                         "no unrouted topic \"%s\" for this "
                         "registration",
                         topic);
        mn_diag_hint(d, "`meldnetctl hold list` shows the unrouted topics: MN-... topic=...");
        goto out;
    }
    /* one transaction: read the record, queue the items, remove the entry */
    if ((rc = gw_store_begin(store, &txn, d)) != MN_OK)
        goto out;
    rc = gw_store_txn_registry_get(txn, reg, &sealed, &sealed_len);
    if (rc == MN_ENOTFOUND) {
        ctl_registry_no_registration(store, reg, d);
        goto out;
    }
    if (rc != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read registration %s", regtext);
        goto out;
    }
    rc = ctl_registry_record_open(regkey, key_path, reg, sealed, sealed_len, &info, &rec, d);
    if (rc != MN_OK)
        goto out;
    gw_dispatch_deps deps = {cfg, gateway, &registry_pub, mn_secret32_bytes(pseudonym), NULL};
    rc = gw_dispatch_reroute(txn, &deps, rec->report, reg, info.accepted_ms, topic, &res, d);
    if (rc == MN_ENOTFOUND) {
        mn_diag_set(d, MN_ENOTFOUND, topic, "no partner in %s is bound to this topic yet",
                    cfg->partners_dir);
        mn_diag_hint(d,
                     "bind one first (meldnetctl partner add NAME \"LINE\" --kind KIND "
                     "--bind %s=SHARING), reload the gateway, then release again",
                     topic);
        goto out;
    }
    if (rc != MN_OK || (rc = gw_store_commit(&txn, d)) != MN_OK)
        goto out;
    printf("routed %s topic=%s: %zu item%s queued%s; the unrouted entry is removed\n", regtext,
           topic, res.items, res.items == 1 ? "" : "s", res.acute ? " in the acute lane" : "");
    printf("the running gateway delivers them on its next pump once it knows the partner "
           "(reload it after partner add)\n");
    rc = MN_OK;
out:
    gw_store_abort(&txn);
    mn_record_destroy(&rec);
    free(sealed);
    mn_secret32_destroy(&pseudonym);
    mn_key_destroy(&gateway);
    mn_key_destroy(&regkey);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_hold_release(int argc, char **argv)
{
    const char *home = NULL, *key_path = NULL, *reason = NULL;
    const ctl_opt opts[] = {{"registry-key", &key_path},
                            {"reason", &reason},
                            {"home", &home},
                            {NULL, NULL}};
    uint64_t reg = 0;
    mn_diag d = {0};

    int all = ctl_take_flag(&argc, argv, "--all") > 0;
    int rc = ctl_options(argc, argv, "hold release", s_usage_hold_release, opts, -1, NULL);
    if (rc != CTL_GO_ON)
        return rc;
    int n = argc - optind;
    char **op = argv + optind;
    if (reason) {
        if (!reason[0])
            return ctl_usage_error("hold release", "%s",
                                   "--reason needs a text that the held "
                                   "items' reasons contain (hold list shows them)");
        all = 1;
    }
    if (n == 3 && strcmp(op[0], "unrouted") == 0 && !all) {
        if (mn_registration_parse(op[1], &reg) != MN_OK || reg == 0)
            return ctl_usage_error("hold release",
                                   "\"%s\" is not a registration number like "
                                   "MN-00000042 or 42",
                                   op[1]);
        if (strcmp(op[2], "-") == 0)
            return ctl_usage_error("hold release", "%s",
                                   "topic - means no rule matched the "
                                   "report: there is no topic to bind a partner to; change the "
                                   "routes so one matches (route test shows it)");
        if (!mn_topic_is_valid(op[2]))
            return ctl_usage_error("hold release",
                                   "\"%s\" is not a topic (hold list shows "
                                   "them)",
                                   op[2]);
        if (!key_path)
            return ctl_usage_error("hold release", "%s",
                                   "--registry-key FILE is required to "
                                   "route again: the record is sealed to the registry");
        if (s_release_unrouted(ctl_home(home), reg, op[2], key_path, &d) != MN_OK)
            return ctl_fail(&d);
        return CTL_EXIT_OK;
    }
    if (key_path)
        return ctl_usage_error("hold release", "%s",
                               "--registry-key is only for `hold release "
                               "unrouted REG TOPIC`");
    if (all ? n > 1 : n < 2)
        return ctl_usage_error("hold release", "%s",
                               all ? "with --all give at most a PARTNER, "
                                     "no tags"
                                   : "give PARTNER TAG [TAG...], [PARTNER] --all, or "
                                     "unrouted REG TOPIC");
    if (n > 0 && !mn_name_is_valid(op[0]))
        return ctl_usage_error("hold release", "\"%s\" is not a partner name", op[0]);
    uint64_t *tags = n > 1 ? calloc((size_t)n - 1, sizeof *tags) : NULL;
    if (n > 1 && !tags) {
        mn_diag_set(&d, MN_ENOMEM, "hold release", "out of memory for %d tags", n - 1);
        return ctl_fail(&d);
    }
    size_t n_tags = 0;
    for (int i = 1; i < n; i++) {
        uint64_t tag;
        if (s_parse_tag(op[i], &tag) != MN_OK) {
            free(tags);
            return ctl_usage_error("hold release",
                                   "TAG \"%s\" is not a tag (a number; hold "
                                   "list shows them)",
                                   op[i]);
        }
        size_t k = 0;
        while (k < n_tags && tags[k] != tag)
            k++;
        if (k == n_tags) /* a tag named twice is released once */
            tags[n_tags++] = tag;
    }
    s_release_sel sel = {n > 0 ? op[0] : NULL, tags, n_tags, all, reason};
    rc = s_release_held(ctl_home(home), &sel, &d);
    free(tags);
    return rc == MN_OK ? CTL_EXIT_OK : ctl_fail(&d);
}

int ctl_cmd_hold(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"list", s_hold_list, CTL_PROG " hold list"},
        {"release", s_hold_release, CTL_PROG " hold release"},
    };
    return ctl_group(argc, argv, "hold", s_usage_hold, subs, sizeof subs / sizeof subs[0],
                     "list, release");
}

/* --- queue ---------------------------------------------------------------------------------- */

/* One row of queue list. */
typedef struct s_queue_row {
    char partner[MN_NAME_MAX + 1];
    int configured;
    uint64_t held;
} s_queue_row;

static int s_count_held(const gw_queue_item *item, void *arg)
{
    s_list *rows = arg;
    s_queue_row *r = NULL;
    for (size_t i = 0; i < rows->n && !r; i++)
        if (strcmp(((s_queue_row *)rows->items)[i].partner, item->partner) == 0)
            r = (s_queue_row *)rows->items + i;
    if (!r) { /* held for a partner no longer configured */
        r = s_list_add(rows);
        if (!r)
            return 1;
        memset(r, 0, sizeof *r);
        snprintf(r->partner, sizeof r->partner, "%s", item->partner);
    }
    r->held++;
    return 0;
}

static int s_queue_list(int argc, char **argv)
{
    s_list rows = {NULL, 0, 0, sizeof(s_queue_row), 0};
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    char age[32];
    mn_diag d = {0};

    int rc = ctl_home_command(argc, argv, "queue list", s_usage_queue_list, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK)
        goto out;
    for (size_t i = 0; i < cfg->n_partners; i++) {
        s_queue_row *r = s_list_add(&rows);
        if (!r) {
            mn_diag_set(&d, MN_ENOMEM, cfg->data_dir, "out of memory");
            goto out;
        }
        memset(r, 0, sizeof *r);
        snprintf(r->partner, sizeof r->partner, "%s", cfg->partners[i].name);
        r->configured = 1;
    }
    int src = gw_store_hold_each(store, s_count_held, &rows);
    if (src != MN_OK || rows.failed) {
        mn_diag_set(&d, src != MN_OK ? src : MN_ENOMEM, cfg->data_dir,
                    "cannot read the hold queues");
        goto out;
    }
    uint64_t now = mn_now_ms();
    for (size_t i = 0; i < rows.n; i++) {
        const s_queue_row *r = (const s_queue_row *)rows.items + i;
        uint64_t depth = 0, oldest = 0;
        if (gw_store_queue_depth(store, r->partner, &depth, &oldest) != MN_OK) {
            mn_diag_set(&d, MN_ESTORE, cfg->data_dir, "cannot read the queue of partner \"%s\"",
                        r->partner);
            mn_diag_hint(&d, "the store is damaged: stop the gateway, move the data directory "
                             "aside and restore it from backup");
            goto out;
        }
        if (depth)
            mn_age_format(now > oldest ? now - oldest : 0, age, sizeof age);
        else
            snprintf(age, sizeof age, "-");
        printf("%s %" PRIu64 " item%s oldest=%s held=%" PRIu64 "%s\n", r->partner, depth,
               depth == 1 ? "" : "s", age, r->held, r->configured ? "" : " (not configured)");
    }
    if (rows.n == 0)
        fprintf(stderr, "%s: no partners yet: add one with `meldnetctl partner add`\n", CTL_PROG);
    rc = CTL_EXIT_OK;
out:
    free(rows.items);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}

int ctl_cmd_queue(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"list", s_queue_list, CTL_PROG " queue list"},
    };
    return ctl_group(argc, argv, "queue", s_usage_queue, subs, sizeof subs / sizeof subs[0],
                     "list");
}
