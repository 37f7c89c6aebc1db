/* gw_parties.h - the gateway's parties: agents and partners, one small file each.
 *
 * An agent file agents_dir/NAME.conf:
 *   name = "district-utrecht";
 *   key = "meldnet1 agent district-utrecht curve=... sign=... box=...";
 *   region = "Midden-Nederland";   # optional, default "unknown"
 *
 * A partner file partners_dir/NAME.conf:
 *   name = "police-midden";
 *   key = "meldnet1 partner police-midden curve=... sign=... box=...";
 *   kind = "police";            # police | care | research | hotline | shelter | other
 *   bindings = ( { topic = "police.acute"; sharing = "full"; },
 *                { topic = "hotline.*";    sharing = "pseudonymous"; } );
 * A binding's topic is a topic or a pattern ("care.*", "*"); sharing is full, pseudonymous or
 * statistics. The bindings are the partner's permission: it never receives another topic.
 *
 * Revocation: either kind of file may also say
 *   revoked = true;                          # optional, default false
 *   revoked_at = "2026-11-22T10:00:00Z";     # optional, only with revoked = true; UTC, for the
 *                                            # record (meldnetctl ... revoke writes it)
 * A revoked party stays in the loaded tables with revoked = 1, so listings show it and the ZAP
 * handler can say "revoked" rather than "unknown"; nothing admits it. Its name and its CURVE
 * key stay taken: no other party may use that key (the folder fails to load), and the name
 * comes back only by rewriting the same file (meldnetctl agent add NAME LINE).
 *
 * This module loads the folders and single files and looks parties up in loaded tables;
 * gw_party_file writes, rewrites and revokes the files; gw_config holds the loaded tables of a
 * running gateway (gw_config_find_agent, ...).
 */
#ifndef GW_PARTIES_H
#define GW_PARTIES_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"

#define GW_PATH_MAX 4096
#define GW_TIME_CHARS 20 /* "2026-11-22T10:00:00Z" */

/* An agent file without a region gets this one. */
#define GW_AGENT_DEFAULT_REGION "unknown"

/* The registry's recipient name (pseudonym key derivation): no partner may take it. */
#define GW_PARTNER_RESERVED_NAME "registry"

/* The configurable partner kinds and the sharing levels of a binding, for hints. */
#define GW_PARTNER_KIND_LIST "police, care, research, hotline, shelter, other"
#define GW_SHARING_LIST "full, pseudonymous, statistics"

typedef struct gw_agent {
    char name[MN_NAME_MAX + 1];
    char region[MN_NAME_MAX + 1];
    mn_pubkey pub;
    char source[GW_PATH_MAX];           /* the file it came from, for messages */
    int revoked;                        /* 1: revoked = true; in its file: never admitted */
    char revoked_at[GW_TIME_CHARS + 1]; /* its revoked_at, or "" */
} gw_agent;

enum gw_partner_kind {
    GW_PARTNER_POLICE = 1,
    GW_PARTNER_CARE,
    GW_PARTNER_RESEARCH,
    GW_PARTNER_HOTLINE,
    GW_PARTNER_SHELTER,
    GW_PARTNER_OTHER,
    GW_PARTNER_REGISTRY, /* not configurable: the registry as a recipient */
};

typedef struct gw_binding {
    char topic[64 + 1]; /* topic or pattern */
    int sharing;        /* MELDNET__SHARING_LEVEL__FULL / PSEUDONYMOUS / STATISTICS */
} gw_binding;

#define GW_BINDINGS_MAX 16

typedef struct gw_partner {
    char name[MN_NAME_MAX + 1];
    int kind; /* enum gw_partner_kind */
    mn_pubkey pub;
    gw_binding bindings[GW_BINDINGS_MAX];
    size_t n_bindings;
    char source[GW_PATH_MAX];
    int revoked; /* 1: revoked = true; in its file: never admitted or served */
    char revoked_at[GW_TIME_CHARS + 1]; /* its revoked_at, or "" */
} gw_partner;

/* Load every agent file NAME.conf of agents_dir (for gw_config_load, reload and `meldnetctl
 * agent list`), revoked ones included (revoked = 1), sorted by name. Checks: name = file name =
 * key line's name, role agent, a valid region, names and CURVE keys unique among the agents
 * (revoked ones too); an unknown setting is an error with a "did you mean". Caller owns
 * *agents (free()); on an error *agents is NULL and *n 0. Returns MN_OK, MN_ECONFIG / MN_EKEY
 * (diag file:line), MN_ESYS, MN_ENOMEM. */
MN_NODISCARD int gw_parties_load_agents(const char *agents_dir, gw_agent **agents, size_t *n,
                                        mn_diag *d);

/* Load only the partners of partners_dir (reload, meldnetctl), revoked ones included. Caller
 * owns *partners (free()). Checks: name = file name = key line's name, role partner, known
 * kind, 1..GW_BINDINGS_MAX bindings with valid topics/patterns and sharing levels, CURVE keys
 * unique among partners (revoked ones too), no partner called GW_PARTNER_RESERVED_NAME.
 * Returns as gw_parties_load_agents. */
MN_NODISCARD int gw_parties_load_partners(const char *partners_dir, gw_partner **partners,
                                          size_t *n, mn_diag *d);

/* Check agents and partners as loaded apart (either may be NULL with n 0) together: names
 * unique within each kind, CURVE keys unique across both, revoked ones included (a key that
 * is both an agent's and a partner's would let one party act as the other). Borrows both.
 * Returns MN_OK, MN_ECONFIG (a name twice), MN_EKEY (a key twice), MN_ENOMEM. */
MN_NODISCARD int gw_parties_check(const gw_agent *agents, size_t n_agents,
                                  const gw_partner *partners, size_t n_partners, mn_diag *d);

/* Load agents_dir/NAME.conf alone into *out, checked as gw_parties_load_agents checks one file
 * (not against the others). Returns MN_OK; MN_ENOTFOUND (no such file); MN_EINVAL (a bad name,
 * agents_dir not a folder); MN_ECONFIG / MN_EKEY (not a regular file, or it does not load);
 * MN_ESYS; MN_ENOMEM. */
MN_NODISCARD int gw_parties_load_one_agent(const char *agents_dir, const char *name, gw_agent *out,
                                           mn_diag *d);

/* The same for partners_dir/NAME.conf. */
MN_NODISCARD int gw_parties_load_one_partner(const char *partners_dir, const char *name,
                                             gw_partner *out, mn_diag *d);

/* path = dir/NAME.conf, where dir must be a folder of parties of `role` (MN_ROLE_AGENT or
 * MN_ROLE_PARTNER: the messages name the folder); name is not checked. Returns MN_OK, MN_ESYS
 * (dir cannot be used), MN_EINVAL (path too long for cap, dir not a folder). */
MN_NODISCARD int gw_parties_path(const char *dir, mn_role role, const char *name, char *path,
                                 size_t cap, mn_diag *d);

/* Lookups in a loaded table (sorted by name, as the loads leave it; NULL with n 0 is an empty
 * table). They return revoked parties too: gw_config_find_agent etc. leave those out where a
 * party is admitted or served. Borrowed: an entry of the table, NULL when absent. */
const gw_agent *gw_parties_find_agent(const gw_agent *agents, size_t n, const char *name);
const gw_agent *gw_parties_find_agent_by_curve(const gw_agent *agents, size_t n,
                                               const uint8_t curve[MN_KEY_BYTES]);
const gw_partner *gw_parties_find_partner(const gw_partner *partners, size_t n, const char *name);
const gw_partner *gw_parties_find_partner_by_curve(const gw_partner *partners, size_t n,
                                                   const uint8_t curve[MN_KEY_BYTES]);

/* "police" etc. and back (MN_OK or MN_EINVAL). The name of GW_PARTNER_REGISTRY is "registry",
 * of anything else "unknown"; neither parses. */
const char *gw_partner_kind_name(int kind);
MN_NODISCARD int gw_partner_kind_parse(const char *text, int *kind);

/* True when text is a time as revoked_at takes it: "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
int gw_parties_time_is_valid(const char *text);

/* True when region is 1..MN_NAME_MAX characters without quotes, backslashes or control
 * characters (it is written into a file between double quotes). */
int gw_parties_region_is_valid(const char *region);

/* Add the hint on what a binding's topic or pattern looks like to d. */
void gw_parties_hint_topic(mn_diag *d);

#endif
