/* ctl_party - meldnetctl agent and partner (see ctl_party.h). */
#include "ctl_party.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_common.h"
#include "ctl_json.h"
#include "ctl_reload.h"
#include "gw_config.h"
#include "gw_party_file.h"
#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_referral.h"

static const char s_usage_agent[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "       meldnetctl agent revoke NAME [--home DIR]\n"
    "       meldnetctl agent list [--json] [--home DIR]\n"
    "\n"
    "add     register agent NAME by the public line it printed (meldnet-agent keygen); writes\n"
    "        agents/NAME.conf. A revoked NAME comes back, with LINE's key.\n"
    "revoke  mark agents/NAME.conf revoked: the gateway refuses its key from then on.\n"
    "list    print the agents: name, region, key fingerprint, active or revoked.\n"
    "\n"
    "add and revoke make a gateway running from the home reload (SIGHUP).\n"
    "`meldnetctl agent add --help` (revoke, list) explains each.\n";

static const char s_usage_agent_add[] =
    "usage: meldnetctl agent add NAME \"LINE\" [--region REGION] [--home DIR]\n"
    "\n"
    "Register agent NAME: LINE is the public line the agent printed, whole, in quotes\n"
    "(\"meldnet1 agent NAME curve=... sign=... box=...\"). Writes agents/NAME.conf in the\n"
    "home. Refuses a NAME that is registered and not revoked, and a key that another agent or\n"
    "a partner has, revoked ones included: a revoked key is never taken into use again.\n"
    "\n"
    "A revoked NAME comes back: agents/NAME.conf is written again without \"revoked\", with\n"
    "LINE's key and the region it had (or --region). LINE may be the key it had, or a new one:\n"
    "to replace a lost or leaked key, revoke the agent, make a new identity on its machine\n"
    "(meldnet-agent keygen) and add that line; the old key then is unknown to the gateway.\n"
    "\n"
    "Then a gateway running from the home (run/status.json) reloads: \"reloaded the running\n"
    "gateway (pid N)\"; else \"the gateway is not running; it applies this at start\".\n"
    "\n"
    "options:\n"
    "  --region REGION   the agent's region (police unit / care region; default \"unknown\",\n"
    "                    or the region it had when it comes back)\n"
    "  --home DIR        the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help        this help\n";

static const char s_usage_agent_revoke[] =
    "usage: meldnetctl agent revoke NAME [--home DIR]\n"
    "\n"
    "Revoke agent NAME: write agents/NAME.conf again (crash-safe) with revoked = true; and\n"
    "revoked_at = the time now (UTC), keeping its name, region and key. The gateway refuses a\n"
    "handshake with that key from its next reload on (counted and logged as\n"
    "cause=revoked_key) and takes no more reports from the agent; what it sent before stays\n"
    "registered. The key stays retired: no agent or partner can be added with it.\n"
    "`meldnetctl agent add NAME \"LINE\"` brings the agent back.\n"
    "\n"
    "Then a gateway running from the home reloads, as after `agent add`. An agent that is\n"
    "revoked already stays as it is: that is said, the running gateway reloads all the same,\n"
    "and the exit status is 0. An unknown NAME is an error (exit 1).\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_agent_list[] =
    "usage: meldnetctl agent list [--json] [--home DIR]\n"
    "\n"
    "Print one line per agent: name, region, key fingerprint (the fingerprint the gateway\n"
    "logs) and STATUS (active, or revoked: the gateway refuses its key), sorted by name, after\n"
    "a header line.\n"
    "\n"
    "options:\n"
    "  --json       print a JSON array instead, one object per agent: name, region,\n"
    "               fingerprint, revoked (true or false), revoked_at (UTC time, or null)\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_partner[] =
    "usage: meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING [--bind ...]\n"
    "                              [--home DIR]\n"
    "       meldnetctl partner revoke NAME [--home DIR]\n"
    "       meldnetctl partner list [--json] [--home DIR]\n"
    "\n"
    "add     register partner NAME by the public line it printed (meldnet-partner keygen), with\n"
    "        its kind and the topics it may receive; writes partners/NAME.conf. A revoked NAME\n"
    "        comes back, with LINE's key.\n"
    "revoke  mark partners/NAME.conf revoked: the gateway refuses its key and delivers nothing\n"
    "        to it from then on.\n"
    "list    print the partners: name, kind, key fingerprint, active or revoked, bindings.\n"
    "\n"
    "add and revoke make a gateway running from the home reload (SIGHUP).\n"
    "`meldnetctl partner add --help` (revoke, list) explains each.\n";

static const char s_usage_partner_add[] =
    "usage: meldnetctl partner add NAME \"LINE\" --kind KIND --bind TOPIC=SHARING [--bind ...]\n"
    "                              [--home DIR]\n"
    "\n"
    "Register partner NAME: LINE is the public line the partner printed, whole, in quotes\n"
    "(\"meldnet1 partner NAME curve=... sign=... box=...\"). Writes partners/NAME.conf in the\n"
    "home. Refuses a NAME that is registered and not revoked, and a key an agent or another\n"
    "partner has, revoked ones included.\n"
    "\n"
    "A revoked NAME comes back: partners/NAME.conf is written again without \"revoked\", with\n"
    "LINE's key (the one it had, or a new one) and the kind and bindings it had; --kind and\n"
    "--bind, when given, replace them (all bindings at once).\n"
    "\n"
    "Then a gateway running from the home (run/status.json) reloads: \"reloaded the running\n"
    "gateway (pid N)\"; else \"the gateway is not running; it applies this at start\".\n"
    "\n"
    "options:\n"
    "  --kind KIND            police, care, research, hotline, shelter or other: which consent\n"
    "                         flag of a report lets identifying fields reach it\n"
    "  --bind TOPIC=SHARING   a topic it may receive (\"police.acute\"), "
    "or a pattern (\"care.*\",\n"
    "                         \"*\"), and how much it sees of those reports: full, pseudonymous\n"
    "                         or statistics. Once per topic, 1-16 times. The partner never\n"
    "                         receives a topic it is not bound to.\n"
    "  --home DIR             the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help             this help\n";

static const char s_usage_partner_revoke[] =
    "usage: meldnetctl partner revoke NAME [--home DIR]\n"
    "\n"
    "Revoke partner NAME: write partners/NAME.conf again (crash-safe) with revoked = true; and\n"
    "revoked_at = the time now (UTC), keeping its name, key, kind and bindings. The gateway\n"
    "refuses a handshake with that key from its next reload on (counted and logged as\n"
    "cause=revoked_key) and delivers nothing more to the partner. The key stays retired: no\n"
    "agent or partner can be added with it. `meldnetctl partner add NAME \"LINE\"` brings the\n"
    "partner back.\n"
    "\n"
    "Then a gateway running from the home reloads, as after `partner add`. A partner that is\n"
    "revoked already stays as it is: that is said, the running gateway reloads all the same,\n"
    "and the exit status is 0. An unknown NAME is an error (exit 1).\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_partner_list[] =
    "usage: meldnetctl partner list [--json] [--home DIR]\n"
    "\n"
    "Print one line per partner: name, kind, key fingerprint (the fingerprint the gateway\n"
    "logs), STATUS (active, or revoked: refused, delivered nothing) and bindings\n"
    "(TOPIC=SHARING, comma-separated), sorted by name, after a header line.\n"
    "\n"
    "options:\n"
    "  --json       print a JSON array instead, one object per partner: name, kind,\n"
    "               fingerprint, revoked (true or false), revoked_at (UTC time, or null),\n"
    "               bindings ([{\"topic\", \"sharing\"}])\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

/* --- agent ---------------------------------------------------------------------------------- */

/* Print a JSON value on stdout (one document, a newline). Takes ownership of v. Returns MN_OK
 * or MN_ENOMEM. */
static int s_print_json(json_t *v, mn_diag *d)
{
    if (ctl_json_print(v) != 0)
        return mn_diag_set(d, MN_ENOMEM, "json", "out of memory printing JSON");
    return MN_OK;
}

/* "revoked_at" of a party: its time, or null. */
static json_t *s_json_time(const char *at)
{
    return at[0] ? json_string(at) : json_null();
}

/* LINE of `meldnetctl ROLE add NAME "LINE"`: the public line of the `role` party called name,
 * into *pub. */
static int s_parse_line(const char *line, mn_role role, const char *name, mn_pubkey *pub,
                        mn_diag *d)
{
    const char *noun = mn_role_name(role);
    int rc = mn_pubkey_parse(line, pub, d);
    if (rc != MN_OK)
        return rc;
    if (pub->role != role) {
        rc = mn_diag_set(d, MN_EKEY, "LINE", "this is the public line of a%s %s, not of a%s %s",
                         pub->role == MN_ROLE_AGENT ? "n" : "", mn_role_name(pub->role),
                         role == MN_ROLE_AGENT ? "n" : "", noun);
        mn_diag_hint(d,
                     "paste the line the %s printed (meldnet-%s keygen); it starts with "
                     "\"meldnet1 %s %s\"",
                     noun, noun, noun, name);
        return rc;
    }
    if (strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, "LINE", "the line is of %s \"%s\", not \"%s\"", noun,
                         pub->name, name);
        mn_diag_hint(d, "add it as `meldnetctl %s add %s ...`, or paste %s %s's own line", noun,
                     pub->name, noun, name);
        return rc;
    }
    return MN_OK;
}

/* MN_EEXIST when a party other than the `role` party called name has the CURVE key `curve`,
 * revoked ones included (a revoked key stays retired); else MN_OK. */
static int s_key_taken(const gw_config *cfg, const uint8_t *curve, mn_role role, const char *name,
                       mn_diag *d)
{
    const gw_agent *a = gw_config_find_agent_by_curve_any(cfg, curve);
    const gw_partner *p = gw_config_find_partner_by_curve_any(cfg, curve);
    const char *noun = mn_role_name(role);

    if (a && (role != MN_ROLE_AGENT || strcmp(a->name, name) != 0)) {
        mn_diag_set(d, MN_EEXIST, a->source, "this key belongs to agent \"%s\" already%s", a->name,
                    a->revoked ? " (revoked: its key is retired for good)" : "");
    } else if (p && (role != MN_ROLE_PARTNER || strcmp(p->name, name) != 0)) {
        mn_diag_set(d, MN_EEXIST, p->source, "this key belongs to partner \"%s\" already%s",
                    p->name, p->revoked ? " (revoked: its key is retired for good)" : "");
    } else {
        return MN_OK;
    }
    mn_diag_hint(d,
                 "every party needs its own identity: run meldnet-%s keygen on the %s's own "
                 "machine and add its line",
                 noun, noun);
    return MN_EEXIST;
}

/* What stops `ROLE add NAME "LINE"`: a party of that role and name that is registered and not
 * revoked (active: its file; NULL when there is none, or it is revoked and so may come back),
 * or another party with LINE's CURVE key (s_key_taken). MN_EEXIST with the diag filled, or
 * MN_OK. */
static int s_add_conflict(const gw_config *cfg, mn_role role, const char *name, const char *active,
                          const uint8_t *curve, mn_diag *d)
{
    if (!active)
        return s_key_taken(cfg, curve, role, name, d);
    mn_diag_set(d, MN_EEXIST, active, "%s \"%s\" exists already", mn_role_name(role), name);
    if (role == MN_ROLE_AGENT)
        mn_diag_hint(d,
                     "to give it a new key: `meldnetctl agent revoke %s`, then `meldnetctl "
                     "agent add %s \"NEW LINE\"`",
                     name, name);
    else
        mn_diag_hint(d,
                     "to change its key, kind or bindings: `meldnetctl partner revoke %s`, "
                     "then `meldnetctl partner add %s ...` again",
                     name, name);
    return MN_EEXIST;
}

/* The note when a revoked party comes back with the key it had: if that key was why it was
 * revoked, it must not come back. */
static void s_note_same_key(mn_role role, const char *name)
{
    fprintf(stderr,
            "%s: note: %s %s is back with the key it had when it was revoked; if that "
            "key was lost or leaked, revoke it again and add the line of a new identity\n",
            CTL_PROG, mn_role_name(role), name);
}

/* The same public keys (curve, sign and box). */
static int s_same_keys(const mn_pubkey *a, const mn_pubkey *b)
{
    return memcmp(a->curve, b->curve, MN_KEY_BYTES) == 0 &&
           memcmp(a->sign, b->sign, MN_KEY_BYTES) == 0 && memcmp(a->box, b->box, MN_KEY_BYTES) == 0;
}

/* After an add or revoke wrote `path`: tell a running gateway. Returns an exit status. */
static int s_apply(const gw_config *cfg, const char *path)
{
    mn_diag d = {0};
    if (ctl_reload_apply(cfg->run_dir, path, &d) != MN_OK)
        return ctl_fail(&d);
    return CTL_EXIT_OK;
}

/* `meldnetctl agent revoke NAME` and `meldnetctl partner revoke NAME` (role says which): rewrite
 * the party's file revoked, say what was done, and tell a running gateway. A party revoked
 * already is said to be so, and the gateway is told all the same. */
static int s_revoke(int argc, char **argv, mn_role role, const char *usage)
{
    const char *home = NULL;
    const ctl_opt opts[] = {{"home", &home}, {NULL, NULL}};
    const int is_agent = role == MN_ROLE_AGENT;
    const char *noun = mn_role_name(role);
    const char *other = mn_role_name(is_agent ? MN_ROLE_PARTNER : MN_ROLE_AGENT);
    char cmd[32], operands[64], fp[MN_FINGERPRINT_CHARS + 1], detail[MN_NAME_MAX + 16];
    const mn_pubkey *pub;
    const char *revoked_at, *source;
    gw_config *cfg = NULL;
    gw_agent *a = NULL;
    gw_partner *p = NULL;
    mn_diag d = {0};
    int vrc, done = 0;

    snprintf(cmd, sizeof cmd, "%s revoke", noun);
    snprintf(operands, sizeof operands, "give the NAME of the %s to revoke", noun);
    int rc = ctl_options(argc, argv, cmd, usage, opts, 1, operands);
    if (rc != CTL_GO_ON)
        return rc;
    const char *name = argv[optind];
    if (!mn_name_is_valid(name))
        return ctl_usage_error(cmd, "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -", name);
    if (ctl_load_config(ctl_home(home), &cfg, &d) != MN_OK)
        goto out;
    int as_agent = gw_config_find_agent_any(cfg, name) != NULL;
    int as_partner = gw_config_find_partner_any(cfg, name) != NULL;
    if (is_agent ? !as_agent : !as_partner) {
        mn_diag_set(&d, MN_ENOTFOUND, is_agent ? cfg->agents_dir : cfg->partners_dir,
                    "there is no %s \"%s\"", noun, name);
        if (is_agent ? as_partner : as_agent)
            mn_diag_hint(&d, "\"%s\" is a%s %s: `meldnetctl %s revoke %s`", name,
                         is_agent ? "" : "n", other, other, name);
        else
            mn_diag_hint(&d, "`meldnetctl %s list` shows the names", noun);
        goto out;
    }
    /* the party as written, or as found when it was revoked already */
    if (is_agent) {
        a = calloc(1, sizeof *a);
        if (!a) {
            mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
            goto out;
        }
        vrc = gw_party_file_revoke_agent(cfg->agents_dir, name, NULL, a, &d);
        pub = &a->pub;
        revoked_at = a->revoked_at;
        source = a->source;
        snprintf(detail, sizeof detail, "region=%s", a->region);
    } else {
        p = calloc(1, sizeof *p);
        if (!p) {
            mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
            goto out;
        }
        vrc = gw_party_file_revoke_partner(cfg->partners_dir, name, NULL, p, &d);
        pub = &p->pub;
        revoked_at = p->revoked_at;
        source = p->source;
        snprintf(detail, sizeof detail, "kind=%s", gw_partner_kind_name(p->kind));
    }
    if (vrc != MN_OK && vrc != MN_EEXIST)
        goto out;
    mn_pubkey_fingerprint(pub, fp, sizeof fp);
    if (vrc == MN_EEXIST)
        printf("%s %s is revoked already%s%s; nothing changed (%s)\n", noun, name,
               revoked_at[0] ? " since " : "", revoked_at, source);
    else
        printf("revoked %s %s %s fingerprint=%s revoked_at=%s (%s)\n", noun, name, detail, fp,
               revoked_at, source);
    rc = s_apply(cfg, source); /* says itself why it failed */
    done = 1;
out:
    if (!done)
        rc = ctl_fail(&d);
    gw_config_destroy(&cfg);
    free(a);
    free(p);
    return rc;
}

static int s_agent_add(int argc, char **argv)
{
    const char *home = NULL, *region = NULL;
    const ctl_opt opts[] = {{"region", &region}, {"home", &home}, {NULL, NULL}};
    char fp[MN_FINGERPRINT_CHARS + 1], path[GW_PATH_MAX + MN_NAME_MAX + 8];
    gw_config *cfg = NULL;
    mn_pubkey pub;
    mn_diag d = {0};

    int rc = ctl_options(argc, argv, "agent add", s_usage_agent_add, opts, 2,
                         "give the agent's NAME and its public \"LINE\"");
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    const char *name = argv[optind], *line = argv[optind + 1];
    if (!mn_name_is_valid(name))
        return ctl_usage_error("agent add", "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . _ -",
                               name);
    if (s_parse_line(line, MN_ROLE_AGENT, name, &pub, &d) != MN_OK ||
        ctl_load_config(ctl_home(home), &cfg, &d) != MN_OK)
        goto out;
    snprintf(path, sizeof path, "%s/%s.conf", cfg->agents_dir, name);
    const gw_agent *same = gw_config_find_agent_any(cfg, name);
    if (s_add_conflict(cfg, MN_ROLE_AGENT, name, same && !same->revoked ? same->source : NULL,
                       pub.curve, &d) != MN_OK)
        goto out;
    mn_pubkey_fingerprint(&pub, fp, sizeof fp);
    if (same) {
        /* back from revoked: the same file, without revoked, with LINE's key */
        gw_agent back = *same;
        int same_key = s_same_keys(&same->pub, &pub);
        back.pub = pub;
        if (region && region[0])
            snprintf(back.region, sizeof back.region, "%s", region);
        back.revoked = 0;
        back.revoked_at[0] = '\0';
        if (gw_party_file_rewrite_agent(cfg->agents_dir, &back, &d) != MN_OK)
            goto out;
        printf("restored agent %s region=%s fingerprint=%s key=%s (%s)\n", name, back.region, fp,
               same_key ? "unchanged" : "new", path);
        if (same_key)
            s_note_same_key(MN_ROLE_AGENT, name);
    } else {
        if (gw_party_file_write_agent(cfg->agents_dir, name, region, &pub, &d) != MN_OK)
            goto out;
        printf("added agent %s region=%s fingerprint=%s (%s)\n", name,
               region && region[0] ? region : "unknown", fp, path);
    }
    rc = s_apply(cfg, path);
    gw_config_destroy(&cfg);
    return rc;
out:
    gw_config_destroy(&cfg);
    return ctl_fail(&d);
}

static int s_agent_revoke(int argc, char **argv)
{
    return s_revoke(argc, argv, MN_ROLE_AGENT, s_usage_agent_revoke);
}

/* One agent as a JSON object (NULL when memory ran out). */
static json_t *s_agent_json(const gw_agent *a)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    mn_pubkey_fingerprint(&a->pub, fp, sizeof fp);
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", a->name, "region", a->region,
                     "fingerprint", fp, "revoked", a->revoked, "revoked_at",
                     s_json_time(a->revoked_at));
}

static int s_agent_list(int argc, char **argv)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    int json = ctl_take_flag(&argc, argv, "--json");
    int rc = ctl_home_command(argc, argv, "agent list", s_usage_agent_list, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_OK;
    if (json) {
        json_t *all = json_array();
        for (size_t i = 0; all && i < cfg->n_agents; i++)
            all = ctl_json_append(all, s_agent_json(&cfg->agents[i]));
        if (s_print_json(all, &d) != MN_OK)
            rc = ctl_fail(&d);
    } else {
        printf("%-24s %-24s %-16s %s\n", "NAME", "REGION", "FINGERPRINT", "STATUS");
        for (size_t i = 0; i < cfg->n_agents; i++) {
            const gw_agent *a = &cfg->agents[i];
            mn_pubkey_fingerprint(&a->pub, fp, sizeof fp);
            printf("%-24s %-24s %-16s %s\n", a->name, a->region, fp,
                   a->revoked ? "revoked" : "active");
        }
    }
    if (cfg->n_agents == 0)
        fprintf(stderr, "%s: no agents yet: add one with `meldnetctl agent add NAME \"LINE\"`\n",
                CTL_PROG);
    gw_config_destroy(&cfg);
    return rc;
}

int ctl_cmd_agent(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"add", s_agent_add, CTL_PROG " agent add"},
        {"revoke", s_agent_revoke, CTL_PROG " agent revoke"},
        {"list", s_agent_list, CTL_PROG " agent list"},
    };
    return ctl_group(argc, argv, "agent", s_usage_agent, subs, sizeof subs / sizeof subs[0],
                     "add, revoke, list");
}

/* --- partner -------------------------------------------------------------------------------- */

/* "TOPIC=SHARING" into b. A topic is a topic, "x.*" or "*" (as gw_config checks it again).
 * Returns MN_OK, or MN_EINVAL with why in why[]. */
static int s_bind_parse(const char *text, gw_binding *b, char *why, size_t cap)
{
    const char *eq = strchr(text, '=');
    char topic[MN_TOPIC_MAX + 1];

    if (!eq || eq == text || !eq[1]) {
        snprintf(why, cap, "--bind \"%s\": write TOPIC=SHARING, e.g. police.acute=full", text);
        return MN_EINVAL;
    }
    size_t n = (size_t)(eq - text);
    if (n > MN_TOPIC_MAX) {
        snprintf(why, cap, "--bind \"%s\": the topic is longer than %d characters", text,
                 MN_TOPIC_MAX);
        return MN_EINVAL;
    }
    memcpy(topic, text, n);
    topic[n] = '\0';
    if (!mn_topic_pattern_is_valid(topic)) {
        snprintf(why, cap,
                 "--bind \"%s\": \"%s\" is not a topic (a-z 0-9 . _ -, e.g. "
                 "police.acute) or pattern (care.*, *)",
                 text, topic);
        return MN_EINVAL;
    }
    if (mn_sharing_parse(eq + 1, &b->sharing) != MN_OK) {
        snprintf(why, cap,
                 "--bind \"%s\": sharing \"%s\" is not full, pseudonymous or "
                 "statistics",
                 text, eq + 1);
        return MN_EINVAL;
    }
    snprintf(b->topic, sizeof b->topic, "%s", topic);
    return MN_OK;
}

/* "topic=sharing,topic=sharing" of p into buf. */
static void s_bindings_text(const gw_partner *p, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_bindings && o < cap; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s=%s", i ? "," : "", p->bindings[i].topic,
                         mn_sharing_name(p->bindings[i].sharing));
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

static int s_partner_add(int argc, char **argv)
{
    const char *home = NULL, *kind_text = NULL;
    const char *binds[GW_BINDINGS_MAX];
    const ctl_opt opts[] = {{"kind", &kind_text}, {"home", &home}, {NULL, NULL}};
    ctl_multi bind = {"bind", binds, 0, GW_BINDINGS_MAX};
    char fp[MN_FINGERPRINT_CHARS + 1], why[256], list[GW_BINDINGS_MAX * 96];
    char path[GW_PATH_MAX + MN_NAME_MAX + 8];
    gw_config *cfg = NULL;
    gw_partner *p = NULL;
    mn_diag d = {0}, load_d = {0};
    int same_key = 0;

    int rc = ctl_options_multi(argc, argv, "partner add", s_usage_partner_add, opts, &bind, 2,
                               "give the partner's NAME and its public \"LINE\"");
    if (rc != CTL_GO_ON)
        return rc;
    const char *name = argv[optind], *line = argv[optind + 1];
    if (!mn_name_is_valid(name))
        return ctl_usage_error("partner add",
                               "NAME \"%s\": use 1-64 characters of A-Z a-z 0-9 . "
                               "_ -",
                               name);
    /* The home, once: a revoked partner may come back with the kind and bindings it had, so
     * whether --kind and --bind are required depends on it. A home that does not load is said
     * after the arguments and LINE have been checked (load_d). */
    int loaded = ctl_load_config(ctl_home(home), &cfg, &load_d) == MN_OK;
    const gw_partner *same = loaded ? gw_config_find_partner_any(cfg, name) : NULL;
    int keep = same && same->revoked;
    rc = CTL_EXIT_USAGE;
    if (!kind_text && !keep) {
        ctl_usage_error("partner add", "%s",
                        "--kind KIND is required (police, care, research, "
                        "hotline, shelter or other)");
        goto out;
    }
    if (bind.n == 0 && !keep) {
        ctl_usage_error("partner add", "%s",
                        "give at least one --bind TOPIC=SHARING: the topics "
                        "the partner may receive");
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = CTL_EXIT_FAIL;
        mn_diag_set(&d, MN_ENOMEM, name, "out of memory");
        goto out;
    }
    if (kind_text && gw_partner_kind_parse(kind_text, &p->kind) != MN_OK) {
        ctl_usage_error("partner add",
                        "--kind \"%s\": use police, care, research, hotline, "
                        "shelter or other",
                        kind_text);
        goto out;
    }
    for (size_t i = 0; i < bind.n; i++) {
        if (s_bind_parse(binds[i], &p->bindings[i], why, sizeof why) != MN_OK) {
            ctl_usage_error("partner add", "%s", why);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->bindings[k].topic, p->bindings[i].topic) == 0) {
                ctl_usage_error("partner add",
                                "topic \"%s\" is bound twice: one --bind per "
                                "topic",
                                p->bindings[i].topic);
                goto out;
            }
        }
    }
    p->n_bindings = bind.n;
    rc = CTL_EXIT_FAIL;
    snprintf(p->name, sizeof p->name, "%s", name);
    if (s_parse_line(line, MN_ROLE_PARTNER, name, &p->pub, &d) != MN_OK)
        goto out;
    if (!loaded) {
        d = load_d;
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s.conf", cfg->partners_dir, name);
    if (s_add_conflict(cfg, MN_ROLE_PARTNER, name, same && !same->revoked ? same->source : NULL,
                       p->pub.curve, &d) != MN_OK)
        goto out;
    if (same) {
        /* back from revoked: its kind and bindings unless given, LINE's key, not revoked */
        same_key = s_same_keys(&same->pub, &p->pub);
        if (!kind_text)
            p->kind = same->kind;
        if (bind.n == 0) {
            memcpy(p->bindings, same->bindings, sizeof p->bindings);
            p->n_bindings = same->n_bindings;
        }
        p->revoked = 0;
        p->revoked_at[0] = '\0';
        if (gw_party_file_rewrite_partner(cfg->partners_dir, p, &d) != MN_OK)
            goto out;
    } else if (gw_party_file_write_partner(cfg->partners_dir, p, &d) != MN_OK) {
        goto out;
    }
    mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
    s_bindings_text(p, list, sizeof list);
    if (same)
        printf("restored partner %s kind=%s fingerprint=%s key=%s bindings=%s (%s)\n", name,
               gw_partner_kind_name(p->kind), fp, same_key ? "unchanged" : "new", list, path);
    else
        printf("added partner %s kind=%s fingerprint=%s bindings=%s (%s)\n", name,
               gw_partner_kind_name(p->kind), fp, list, path);
    if (same && same_key)
        s_note_same_key(MN_ROLE_PARTNER, name);
    rc = s_apply(cfg, path);
out:
    gw_config_destroy(&cfg);
    free(p);
    if (rc == CTL_EXIT_FAIL && d.code != MN_OK)
        return ctl_fail(&d);
    return rc;
}

static int s_partner_revoke(int argc, char **argv)
{
    return s_revoke(argc, argv, MN_ROLE_PARTNER, s_usage_partner_revoke);
}

/* One partner as a JSON object (NULL when memory ran out). */
static json_t *s_partner_json(const gw_partner *p)
{
    char fp[MN_FINGERPRINT_CHARS + 1];
    json_t *bindings = json_array();
    for (size_t i = 0; bindings && i < p->n_bindings; i++)
        bindings = ctl_json_append(bindings,
                                   json_pack("{s:s, s:s}", "topic", p->bindings[i].topic, "sharing",
                                             mn_sharing_name(p->bindings[i].sharing)));
    if (!bindings)
        return NULL;
    mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "name", p->name, "kind",
                     gw_partner_kind_name(p->kind), "fingerprint", fp, "revoked", p->revoked,
                     "revoked_at", s_json_time(p->revoked_at), "bindings", bindings);
}

static int s_partner_list(int argc, char **argv)
{
    char fp[MN_FINGERPRINT_CHARS + 1], list[GW_BINDINGS_MAX * 96];
    gw_config *cfg = NULL;
    mn_diag d = {0};

    int json = ctl_take_flag(&argc, argv, "--json");
    int rc = ctl_home_command(argc, argv, "partner list", s_usage_partner_list, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_OK;
    if (json) {
        json_t *all = json_array();
        for (size_t i = 0; all && i < cfg->n_partners; i++)
            all = ctl_json_append(all, s_partner_json(&cfg->partners[i]));
        if (s_print_json(all, &d) != MN_OK)
            rc = ctl_fail(&d);
    } else {
        printf("%-24s %-10s %-16s %-7s %s\n", "NAME", "KIND", "FINGERPRINT", "STATUS", "BINDINGS");
        for (size_t i = 0; i < cfg->n_partners; i++) {
            const gw_partner *p = &cfg->partners[i];
            mn_pubkey_fingerprint(&p->pub, fp, sizeof fp);
            s_bindings_text(p, list, sizeof list);
            printf("%-24s %-10s %-16s %-7s %s\n", p->name, gw_partner_kind_name(p->kind), fp,
                   p->revoked ? "revoked" : "active", list);
        }
    }
    if (cfg->n_partners == 0)
        fprintf(stderr,
                "%s: no partners yet: add one with `meldnetctl partner add NAME "
                "\"LINE\" --kind KIND --bind TOPIC=SHARING`\n",
                CTL_PROG);
    gw_config_destroy(&cfg);
    return rc;
}

int ctl_cmd_partner(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"add", s_partner_add, CTL_PROG " partner add"},
        {"revoke", s_partner_revoke, CTL_PROG " partner revoke"},
        {"list", s_partner_list, CTL_PROG " partner list"},
    };
    return ctl_group(argc, argv, "partner", s_usage_partner, subs, sizeof subs / sizeof subs[0],
                     "add, revoke, list");
}
