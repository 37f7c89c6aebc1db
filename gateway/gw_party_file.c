/* gw_party_file - writing the agent and partner files: add, rewrite, revoke.
 *
 * A file is written whole from a checked party (s_check_agent, s_check_partner check what the
 * loader in gw_parties would refuse), so what meldnetctl writes always loads; a revocation
 * loads the one file, marks it and writes it again with everything else kept.
 */
#include "gw_party_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mn_delivery.h"
#include "mn_file.h"
#include "mn_referral.h"

/* path = dir/NAME.conf for a new party file: dir must be a folder, the file must not exist.
 * Returns MN_OK, MN_EEXIST, MN_ESYS, MN_EINVAL. */
static int s_new_party_file(const char *dir, mn_role role, const char *name, char *path, size_t cap,
                            mn_diag *d)
{
    struct stat st;
    int rc = gw_parties_path(dir, role, name, path, cap, d);

    if (rc == MN_OK && lstat(path, &st) == 0) {
        rc = mn_diag_set(d, MN_EEXIST, path, "%s \"%s\" exists already", mn_role_name(role), name);
        mn_diag_hint(d,
                     "to give it a new key, revoke it (meldnetctl %s revoke %s), then add "
                     "it again with the new line",
                     mn_role_name(role), name);
    }
    return rc;
}

/* The current time, UTC, as revoked_at takes it. */
static void s_utc_now(char out[GW_TIME_CHARS + 1])
{
    struct tm tm;
    time_t now = time(NULL);
    if (!gmtime_r(&now, &tm) ||
        strftime(out, GW_TIME_CHARS + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != GW_TIME_CHARS)
        snprintf(out, GW_TIME_CHARS + 1, "1970-01-01T00:00:00Z");
}

/* A revoked_at given by a caller (not read from a file). Returns MN_OK or MN_EINVAL. */
static int s_check_revoked_at(const char *at, mn_diag *d)
{
    if (gw_parties_time_is_valid(at))
        return MN_OK;
    int rc = mn_diag_set(d, MN_EINVAL, "revoked_at", "\"%.*s\" is not a UTC time",
                         GW_TIME_CHARS + 8, at);
    mn_diag_hint(d, "write it as 2026-11-22T10:00:00Z");
    return rc;
}

/* The revocation lines of a party file: "" or "revoked = true;\n" and maybe revoked_at. */
static int s_revoked_text(int revoked, const char *at, char *out, size_t cap, mn_diag *d)
{
    int rc;
    out[0] = '\0';
    if (!revoked)
        return MN_OK;
    if (at[0] && (rc = s_check_revoked_at(at, d)) != MN_OK)
        return rc;
    if (at[0])
        snprintf(out, cap, "revoked = true;\nrevoked_at = \"%s\";\n", at);
    else
        snprintf(out, cap, "revoked = true;\n");
    return MN_OK;
}

/* What an agent file needs: a valid name and region, an agent key line of that name. */
static int s_check_agent(const char *name, const char *region, const mn_pubkey *pub, mn_diag *d)
{
    int rc = MN_OK;
    if (!name || !mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "agent name \"%s\" is not valid", name ? name : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
    } else if (!gw_parties_region_is_valid(region)) {
        rc = mn_diag_set(d, MN_EINVAL, "region",
                         "region is too long or has quotes or control "
                         "characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
    } else if (pub->role != MN_ROLE_AGENT || strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EINVAL, "key",
                         "the key line is of %s \"%s\", not of agent "
                         "\"%s\"",
                         mn_role_name(pub->role), pub->name, name);
        mn_diag_hint(d,
                     "paste the public line agent \"%s\" printed; it starts with "
                     "\"meldnet1 agent %s\"",
                     name, name);
    }
    return rc;
}

/* Write the agent file at path (checked: s_check_agent). */
static int s_write_agent_file(const char *path, const char *name, const char *region,
                              const mn_pubkey *pub, int revoked, const char *revoked_at, mn_diag *d)
{
    char line[MN_PUBLIC_LINE_MAX];
    char rev[64 + GW_TIME_CHARS];
    char text[1024];
    int rc = s_revoked_text(revoked, revoked_at, rev, sizeof rev, d);

    if (rc != MN_OK)
        return rc;
    mn_pubkey_format(pub, line, sizeof line);
    int pn = snprintf(text, sizeof text,
                      "# agent %s - %s\n"
                      "name = \"%s\";\n"
                      "key = \"%s\";\n"
                      "region = \"%s\";\n"
                      "%s",
                      name,
                      revoked ? "revoked by meldnetctl agent revoke: the gateway refuses its key"
                              : "written by meldnetctl agent add",
                      name, line, region, rev);
    if (pn < 0 || (size_t)pn >= sizeof text)
        return mn_diag_set(d, MN_EINVAL, path, "the agent file would be too long");
    return mn_file_write_atomic(path, text, (size_t)pn, 0644, d);
}

int gw_party_file_write_agent(const char *agents_dir, const char *name, const char *region,
                              const mn_pubkey *pub, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc;

    if (!region || !region[0])
        region = GW_AGENT_DEFAULT_REGION;
    if ((rc = s_check_agent(name, region, pub, d)) != MN_OK ||
        (rc = s_new_party_file(agents_dir, MN_ROLE_AGENT, name, path, sizeof path, d)) != MN_OK)
        return rc;
    return s_write_agent_file(path, name, region, pub, 0, "", d);
}

int gw_party_file_rewrite_agent(const char *agents_dir, const gw_agent *a, mn_diag *d)
{
    char path[GW_PATH_MAX];
    const char *region = a->region[0] ? a->region : GW_AGENT_DEFAULT_REGION;
    int rc;

    if (!memchr(a->name, 0, sizeof a->name) || !memchr(a->region, 0, sizeof a->region) ||
        !memchr(a->revoked_at, 0, sizeof a->revoked_at))
        return mn_diag_set(d, MN_EINVAL, "agent", "a field of the agent is not terminated");
    if ((rc = s_check_agent(a->name, region, &a->pub, d)) != MN_OK ||
        (rc = gw_parties_path(agents_dir, MN_ROLE_AGENT, a->name, path, sizeof path, d)) != MN_OK)
        return rc;
    return s_write_agent_file(path, a->name, region, &a->pub, a->revoked, a->revoked_at, d);
}

/* What a partner file needs: a valid name, a partner key line of that name, a kind and
 * 1..GW_BINDINGS_MAX distinct, valid bindings. */
static int s_check_partner(const gw_partner *p, mn_diag *d)
{
    int rc = MN_OK;

    if (!memchr(p->name, 0, sizeof p->name) || !memchr(p->revoked_at, 0, sizeof p->revoked_at))
        return mn_diag_set(d, MN_EINVAL, "partner", "a field of the partner is not terminated");
    if (!mn_name_is_valid(p->name) || strcmp(p->name, GW_PARTNER_RESERVED_NAME) == 0) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "partner name \"%.*s\" is not valid%s", MN_NAME_MAX,
                         p->name,
                         strcmp(p->name, GW_PARTNER_RESERVED_NAME) == 0
                             ? " (reserved for the registry)"
                             : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        goto out;
    }
    if (p->pub.role != MN_ROLE_PARTNER || strcmp(p->pub.name, p->name) != 0) {
        rc = mn_diag_set(d, MN_EINVAL, "key",
                         "the key line is of %s \"%s\", not of partner "
                         "\"%s\"",
                         mn_role_name(p->pub.role), p->pub.name, p->name);
        mn_diag_hint(d,
                     "paste the public line partner \"%s\" printed; it starts with "
                     "\"meldnet1 partner %s\"",
                     p->name, p->name);
        goto out;
    }
    if (p->kind < GW_PARTNER_POLICE || p->kind > GW_PARTNER_OTHER) {
        rc = mn_diag_set(d, MN_EINVAL, "kind", "not a partner kind (%d)", p->kind);
        mn_diag_hint(d, "kinds: " GW_PARTNER_KIND_LIST);
        goto out;
    }
    if (p->n_bindings < 1 || p->n_bindings > GW_BINDINGS_MAX) {
        rc = mn_diag_set(d, MN_EINVAL, "bindings", "a partner has 1 to %d bindings, not %zu",
                         GW_BINDINGS_MAX, p->n_bindings);
        mn_diag_hint(d, "bind the partner to the topics it may receive: --bind TOPIC=SHARING");
        goto out;
    }
    for (size_t i = 0; i < p->n_bindings; i++) {
        const gw_binding *b = &p->bindings[i];
        if (!memchr(b->topic, 0, sizeof b->topic) || !mn_topic_pattern_is_valid(b->topic)) {
            rc = mn_diag_set(d, MN_EINVAL, "bindings",
                             "topic \"%.*s\" is not a topic or "
                             "pattern",
                             MN_TOPIC_MAX, b->topic);
            gw_parties_hint_topic(d);
            goto out;
        }
        int level = 0; /* a level is valid when its name parses back to it */
        if (mn_sharing_parse(mn_sharing_name(b->sharing), &level) != MN_OK || level != b->sharing) {
            rc = mn_diag_set(d, MN_EINVAL, "bindings",
                             "topic \"%s\": sharing level %d is not "
                             "one of " GW_SHARING_LIST,
                             b->topic, b->sharing);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->bindings[k].topic, b->topic) == 0) {
                rc = mn_diag_set(d, MN_EINVAL, "bindings", "topic \"%s\" is bound twice", b->topic);
                mn_diag_hint(d, "keep one binding per topic, with the sharing level it needs");
                goto out;
            }
        }
    }
out:
    return rc;
}

/* Write the partner file at path (checked: s_check_partner). */
static int s_write_partner_file(const char *path, const gw_partner *p, mn_diag *d)
{
    char line[MN_PUBLIC_LINE_MAX];
    char rev[64 + GW_TIME_CHARS];
    char text[4096];
    size_t len = 0;
    int rc = s_revoked_text(p->revoked, p->revoked_at, rev, sizeof rev, d);
    int pn;

    if (rc != MN_OK)
        return rc;
    mn_pubkey_format(&p->pub, line, sizeof line);
    pn = snprintf(text, sizeof text,
                  "# partner %s - %s\n"
                  "name = \"%s\";\n"
                  "key = \"%s\";\n"
                  "kind = \"%s\";\n"
                  "bindings = (\n",
                  p->name,
                  p->revoked ? "revoked by meldnetctl partner revoke: the gateway refuses its key"
                             : "written by meldnetctl partner add",
                  p->name, line, gw_partner_kind_name(p->kind));
    for (size_t i = 0; pn >= 0 && (size_t)pn < sizeof text - len && i < p->n_bindings; i++) {
        len += (size_t)pn;
        pn = snprintf(text + len, sizeof text - len,
                      "    { topic = \"%s\"; sharing = \"%s\"; }%s\n", p->bindings[i].topic,
                      mn_sharing_name(p->bindings[i].sharing), i + 1 < p->n_bindings ? "," : "");
    }
    if (pn >= 0 && (size_t)pn < sizeof text - len) {
        len += (size_t)pn;
        pn = snprintf(text + len, sizeof text - len, ");\n%s", rev);
    }
    if (pn < 0 || (size_t)pn >= sizeof text - len)
        return mn_diag_set(d, MN_EINVAL, path, "the partner file would be too long");
    len += (size_t)pn;
    return mn_file_write_atomic(path, text, len, 0644, d);
}

int gw_party_file_write_partner(const char *partners_dir, const gw_partner *p, mn_diag *d)
{
    char path[GW_PATH_MAX];
    gw_partner fresh;
    int rc;

    if ((rc = s_check_partner(p, d)) != MN_OK ||
        (rc = s_new_party_file(partners_dir, MN_ROLE_PARTNER, p->name, path, sizeof path, d)) !=
            MN_OK)
        return rc;
    /* a new partner is never revoked, whatever the caller left in those fields */
    fresh = *p;
    fresh.revoked = 0;
    fresh.revoked_at[0] = '\0';
    return s_write_partner_file(path, &fresh, d);
}

int gw_party_file_rewrite_partner(const char *partners_dir, const gw_partner *p, mn_diag *d)
{
    char path[GW_PATH_MAX];
    int rc;

    if ((rc = s_check_partner(p, d)) != MN_OK ||
        (rc = gw_parties_path(partners_dir, MN_ROLE_PARTNER, p->name, path, sizeof path, d)) !=
            MN_OK)
        return rc;
    return s_write_partner_file(path, p, d);
}

/* revoked_at as given (checked), or now. */
static int s_revoked_at(const char *given, char out[GW_TIME_CHARS + 1], mn_diag *d)
{
    if (!given) {
        s_utc_now(out);
        return MN_OK;
    }
    int rc = s_check_revoked_at(given, d);
    if (rc != MN_OK)
        return rc;
    snprintf(out, GW_TIME_CHARS + 1, "%s", given);
    return MN_OK;
}

int gw_party_file_revoke_agent(const char *agents_dir, const char *name, const char *revoked_at,
                               gw_agent *out, mn_diag *d)
{
    gw_agent a;
    char at[GW_TIME_CHARS + 1];
    int rc;

    if ((rc = s_revoked_at(revoked_at, at, d)) != MN_OK ||
        (rc = gw_parties_load_one_agent(agents_dir, name, &a, d)) != MN_OK)
        return rc;
    if (a.revoked) {
        rc = mn_diag_set(d, MN_EEXIST, a.source, "agent \"%s\" is revoked already%s%s%s", name,
                         a.revoked_at[0] ? " (since " : "", a.revoked_at,
                         a.revoked_at[0] ? ")" : "");
        mn_diag_hint(d, "nothing to do; `meldnetctl agent add %s \"LINE\"` puts it back", name);
    } else {
        a.revoked = 1;
        snprintf(a.revoked_at, sizeof a.revoked_at, "%s", at);
        rc = gw_party_file_rewrite_agent(agents_dir, &a, d);
    }
    if (out && (rc == MN_OK || rc == MN_EEXIST))
        *out = a;
    return rc;
}

int gw_party_file_revoke_partner(const char *partners_dir, const char *name, const char *revoked_at,
                                 gw_partner *out, mn_diag *d)
{
    char at[GW_TIME_CHARS + 1];
    int rc = s_revoked_at(revoked_at, at, d);
    gw_partner *p = NULL;

    if (rc != MN_OK)
        goto out;
    p = malloc(sizeof *p); /* 5 KiB: not on the stack */
    if (!p) {
        rc = mn_diag_set(d, MN_ENOMEM, partners_dir, "out of memory");
        goto out;
    }
    if ((rc = gw_parties_load_one_partner(partners_dir, name, p, d)) != MN_OK)
        goto out;
    if (p->revoked) {
        rc = mn_diag_set(d, MN_EEXIST, p->source, "partner \"%s\" is revoked already%s%s%s", name,
                         p->revoked_at[0] ? " (since " : "", p->revoked_at,
                         p->revoked_at[0] ? ")" : "");
        mn_diag_hint(d, "nothing to do; `meldnetctl partner add %s \"LINE\"` puts it back", name);
    } else {
        p->revoked = 1;
        snprintf(p->revoked_at, sizeof p->revoked_at, "%s", at);
        rc = gw_party_file_rewrite_partner(partners_dir, p, d);
    }
    if (out && (rc == MN_OK || rc == MN_EEXIST))
        *out = *p;
out:
    free(p);
    return rc;
}
