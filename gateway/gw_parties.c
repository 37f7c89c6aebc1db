/* gw_parties - the agent and partner folders: one small file per party, loaded and checked.
 *
 * How it works: agents and partners are not in gateway.conf: each is one small file
 * agents_dir/NAME.conf or partners_dir/NAME.conf, so adding or revoking one is a file operation
 * plus a reload. Both folders are read by one loader (s_load_dir) that differs only in the file
 * parser, and the two parsers share what they check alike (s_party_*: settings, name, key).
 *
 * Revoked parties (revoked = true; in their file) are loaded like the others, with revoked = 1:
 * they count in every uniqueness check, so a revoked key can never come back under another
 * name, and they are skipped by the lookups that admit or serve (gw_config_find_agent,
 * _by_curve, gw_config_find_partner); the _any lookups are for managing the files.
 *
 * Invariants: loaded agents and partners are each sorted by name with unique names and unique
 * CURVE keys (revoked ones included), each of its own role and named like its file; no partner
 * shares a CURVE key with an agent (gw_parties_check); every partner has 1..GW_BINDINGS_MAX
 * bindings with distinct, valid topics or patterns and a sharing level; no partner is called
 * "registry" (the registry's own recipient name: its pseudonym key). Errors name file:line
 * (libconfig's source line) in diag.where.
 */
#include "gw_parties.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw_conf_util.h"
#include "mn_delivery.h"
#include "mn_referral.h"
#include "mn_suggest.h"

/* Required settings first (s_party_settings), then the optional ones. */
static const char *const s_agent_keys[] = {"name", "key", "region", "revoked", "revoked_at"};
#define S_N_AGENT_KEYS (sizeof s_agent_keys / sizeof s_agent_keys[0])

static const char *const s_partner_keys[] = {"name",     "key",     "kind",
                                             "bindings", "revoked", "revoked_at"};
#define S_N_PARTNER_KEYS (sizeof s_partner_keys / sizeof s_partner_keys[0])
#define S_N_PARTNER_REQUIRED 4
static const char *const s_binding_keys[] = {"topic", "sharing"};
#define S_N_BINDING_KEYS (sizeof s_binding_keys / sizeof s_binding_keys[0])

/* Configurable partner kinds, in enum order from GW_PARTNER_POLICE. */
static const char *const s_kind_names[] = {"police",  "care",    "research",
                                           "hotline", "shelter", "other"};
#define S_N_KINDS (sizeof s_kind_names / sizeof s_kind_names[0])
static const char *const s_sharing_names[] = {"full", "pseudonymous", "statistics"};
_Static_assert(S_N_KINDS == GW_PARTNER_OTHER - GW_PARTNER_POLICE + 1,
               "s_kind_names has one name per configurable kind");

/* --- agent and partner folders -------------------------------------------------------------- */

/* What differs between the agents and the partners folder. */
struct s_party {
    const char *noun;    /* "agent" */
    const char *plural;  /* "agents" */
    const char *setting; /* "agents_dir" */
    size_t size;         /* of one gw_agent / gw_partner */
    int (*load)(const char *path, const char *stem, void *out, mn_diag *d);
    int (*by_name)(const void *a, const void *b);
};

/* One party's identity, for the duplicate checks across both kinds. Revoked parties are
 * checked like the others: their names stay taken by their files, and their keys are retired
 * for good, so a leaked key cannot come back under a new name. */
struct s_party_ref {
    const char *noun;
    const char *name;
    const char *source;
    const uint8_t *curve;
    int revoked;
};

static int s_agent_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_agent *)a)->name, ((const gw_agent *)b)->name);
}

static int s_partner_by_name(const void *a, const void *b)
{
    return strcmp(((const gw_partner *)a)->name, ((const gw_partner *)b)->name);
}

static int s_ref_by_curve(const void *a, const void *b)
{
    const struct s_party_ref *x = a, *y = b;
    return memcmp(x->curve, y->curve, MN_KEY_BYTES);
}

/* Names unique within one kind (refs sorted by name), CURVE keys unique across all refs.
 * Sorts refs by key. */
static int s_check_unique(struct s_party_ref *refs, size_t n, int names_sorted, mn_diag *d)
{
    int rc = MN_OK;

    for (size_t i = 1; names_sorted && i < n; i++) {
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
            rc = mn_diag_set(d, MN_ECONFIG, refs[i].source,
                             "%s \"%s\" is defined twice "
                             "(also in %s)",
                             refs[i].noun, refs[i].name, refs[i - 1].source);
            mn_diag_hint(d, "remove one of the two files");
            goto out;
        }
    }
    if (n < 2)
        goto out;
    qsort(refs, n, sizeof *refs, s_ref_by_curve);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(refs[i - 1].curve, refs[i].curve, MN_KEY_BYTES) != 0)
            continue;
        const struct s_party_ref *a = &refs[i - 1], *b = &refs[i];
        /* name the pair the same way whatever the sort left: agents first, then by name */
        int cmp = strcmp(a->noun, b->noun);
        if (cmp > 0 || (cmp == 0 && strcmp(a->name, b->name) > 0)) {
            const struct s_party_ref *t = a;
            a = b;
            b = t;
        }
        /* "(revoked: ...)" says why an old file still matters */
        char why[MN_NAME_MAX + 64] = "";
        if (a->revoked || b->revoked)
            snprintf(why, sizeof why, " (%s \"%s\" is revoked: its key is retired for good)",
                     a->revoked ? a->noun : b->noun, a->revoked ? a->name : b->name);
        if (strcmp(a->noun, b->noun) == 0) {
            rc = mn_diag_set(d, MN_EKEY, b->source,
                             "%ss \"%s\" and \"%s\" have the same "
                             "CURVE key%s",
                             a->noun, a->name, b->name, why);
            mn_diag_hint(d,
                         "every %s needs its own identity: run meldnet-%s keygen on "
                         "the second %s's machine and add its line",
                         a->noun, a->noun, a->noun);
        } else {
            rc = mn_diag_set(d, MN_EKEY, b->source, "%s \"%s\" has the CURVE key of %s \"%s\"%s",
                             b->noun, b->name, a->noun, a->name, why);
            mn_diag_hint(d,
                         "every party needs its own identity: run meldnet-%s keygen on the "
                         "%s's own machine and add its line",
                         b->noun, b->noun);
        }
        goto out;
    }
out:
    return rc;
}

/* Load every NAME.conf of dir_path with kind->load, sorted by name. Caller owns *out. */
static int s_load_dir(const char *dir_path, const struct s_party *kind, void **out, size_t *n_out,
                      mn_diag *d)
{
    DIR *dir = NULL;
    char *list = NULL;
    size_t count = 0, cap = 0;
    int rc = MN_OK;

    *out = NULL;
    *n_out = 0;
    dir = opendir(dir_path);
    if (!dir) {
        if (errno == ENOENT) {
            rc = mn_diag_set(d, MN_ECONFIG, dir_path, "the %s folder does not exist", kind->plural);
            mn_diag_hint(d,
                         "create it (mkdir -m 700 %s) or set %s in gateway.conf; "
                         "meldnetctl init makes one",
                         dir_path, kind->setting);
        } else {
            rc = mn_diag_sys(d, dir_path, "cannot read the %s folder", kind->plural);
        }
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) {
            if (errno != 0) {
                rc = mn_diag_sys(d, dir_path, "cannot read the %s folder", kind->plural);
                goto out;
            }
            break;
        }
        size_t len = strlen(e->d_name);
        /* NAME.conf only: dot files (editors, temp files of atomic writes) are skipped */
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
            continue;
        char path[GW_PATH_MAX];
        char stem[GW_PATH_MAX];
        int pn = snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        if (pn < 0 || (size_t)pn >= sizeof path || len - 5 > MN_NAME_MAX) {
            rc = mn_diag_set(d, MN_ECONFIG, dir_path, "%s file name too long: %s", kind->noun,
                             e->d_name);
            mn_diag_hint(d, "%s names have at most %d characters", kind->noun, MN_NAME_MAX);
            goto out;
        }
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = mn_diag_sys(d, path, "cannot read the %s file", kind->noun);
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = mn_diag_set(d, MN_ECONFIG, path, "not a regular file");
            mn_diag_hint(d, "%s holds only %s files NAME.conf; move this away", kind->setting,
                         kind->noun);
            goto out;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *nl = realloc(list, ncap * kind->size);
            if (!nl) {
                rc = mn_diag_set(d, MN_ENOMEM, dir_path, "out of memory loading %s", kind->plural);
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        rc = kind->load(path, stem, list + count * kind->size, d);
        if (rc != MN_OK)
            goto out;
        count++;
    }
    if (count > 1)
        qsort(list, count, kind->size, kind->by_name);
    *out = list;
    *n_out = count;
    list = NULL;
out:
    if (dir)
        closedir(dir);
    free(list);
    return rc;
}

int gw_parties_check(const gw_agent *agents, size_t n_agents, const gw_partner *partners,
                     size_t n_partners, mn_diag *d)
{
    struct s_party_ref *refs = NULL;
    size_t n = n_agents + n_partners;
    int rc = MN_OK;

    if (n < 2)
        goto out;
    refs = malloc(n * sizeof *refs);
    if (!refs) {
        rc = mn_diag_set(d, MN_ENOMEM, "parties", "out of memory checking keys");
        goto out;
    }
    for (size_t i = 0; i < n_agents; i++)
        refs[i] = (struct s_party_ref){"agent", agents[i].name, agents[i].source,
                                       agents[i].pub.curve, agents[i].revoked};
    for (size_t i = 0; i < n_partners; i++)
        refs[n_agents + i] = (struct s_party_ref){"partner", partners[i].name, partners[i].source,
                                                  partners[i].pub.curve, partners[i].revoked};
    /* names: each kind is sorted on its own, and the two lists never meet in one run */
    if (n_partners == 0 || n_agents == 0) {
        rc = s_check_unique(refs, n, 1, d);
        goto out;
    }
    rc = s_check_unique(refs, n_agents, 1, d);
    if (rc == MN_OK)
        rc = s_check_unique(refs + n_agents, n_partners, 1, d);
    if (rc == MN_OK)
        rc = s_check_unique(refs, n, 0, d); /* keys across both kinds */
out:
    free(refs);
    return rc;
}

/* --- agents --------------------------------------------------------------------------------- */

int gw_parties_region_is_valid(const char *region)
{
    size_t len = strlen(region);
    if (len == 0 || len > MN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)region[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

static int s_party_string(const config_setting_t *s, const char *path, const char **out, mn_diag *d)
{
    char where[256];
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        gw_conf_util_where(where, sizeof where, path, s);
        mn_diag_set(d, MN_ECONFIG, where, "%s must be a string, not %s", config_setting_name(s),
                    gw_conf_util_type_name(config_setting_type(s)));
        mn_diag_hint(d, "write it in double quotes: %s = \"...\";", config_setting_name(s));
        return MN_ECONFIG;
    }
    *out = config_setting_get_string(s);
    return MN_OK;
}

/* Start reading a party file: source = path; relative @include paths resolve against its
 * folder. */
static int s_party_read(config_t *lc, const char *path, char *source, size_t cap, mn_diag *d)
{
    char dir[GW_PATH_MAX];
    snprintf(source, cap, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return gw_conf_util_read(lc, path, slash ? dir : ".", d);
}

/* Sort a party file's settings by name: found[i] is the one called keys[i], NULL when absent.
 * Any other name is an unknown `what` ("agent setting"; `list` names them all); the first
 * n_required keys must be there (`missing_hint` says what such a file holds). */
static int s_party_settings(const config_t *lc, const char *path, const char *what,
                            const char *const *keys, size_t n, size_t n_required, const char *list,
                            const char *missing_hint, const config_setting_t **found, mn_diag *d)
{
    char where[256];
    const config_setting_t *root = config_root_setting(lc);

    for (size_t j = 0; j < n; j++)
        found[j] = NULL;
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        size_t j = 0;
        while (j < n && strcmp(name, keys[j]) != 0)
            j++;
        if (j == n) {
            gw_conf_util_where(where, sizeof where, path, s);
            return gw_conf_util_unknown(d, where, what, name, keys, n, list);
        }
        found[j] = s;
    }
    for (size_t j = 0; j < n_required; j++) {
        if (!found[j]) {
            int rc = mn_diag_set(d, MN_ECONFIG, path, "missing setting \"%s\"", keys[j]);
            mn_diag_hint(d, "%s", missing_hint);
            return rc;
        }
    }
    return MN_OK;
}

/* "an agent", "a partner". */
static const char *s_article(mn_role role)
{
    return role == MN_ROLE_AGENT ? "an" : "a";
}

/* A party file's name setting: a valid name, the same as the file's stem. */
static int s_party_name(mn_role role, const char *name, const char *stem, const char *path,
                        const config_setting_t *name_s, mn_diag *d)
{
    const char *noun = mn_role_name(role);
    char where[256];
    int rc;

    gw_conf_util_where(where, sizeof where, path, name_s);
    if (!mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s name \"%.*s\" is not valid", noun, MN_NAME_MAX,
                         name);
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        return rc;
    }
    if (strcmp(name, stem) != 0) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "%s name \"%s\" differs from the file name", noun,
                         name);
        mn_diag_hint(d,
                     "%s %s called NAME lives in NAME.conf: rename the file to %s.conf or "
                     "fix the name",
                     s_article(role), noun, name);
        return rc;
    }
    return MN_OK;
}

/* A party file's key setting: the public line of the `role` party called name, into *pub. */
static int s_party_key(mn_role role, const char *key, const char *name, const char *path,
                       const config_setting_t *key_s, mn_pubkey *pub, mn_diag *d)
{
    const char *noun = mn_role_name(role);
    char where[256];
    int rc;

    gw_conf_util_where(where, sizeof where, path, key_s);
    rc = mn_pubkey_parse(key, pub, d);
    if (rc != MN_OK) {
        /* keep mn_key's what and hint, but point at the line */
        if (d)
            snprintf(d->where, sizeof d->where, "%s", where);
        return rc;
    }
    if (pub->role != role) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key is of %s %s, not of %s %s",
                         s_article(pub->role), mn_role_name(pub->role), s_article(role), noun);
        mn_diag_hint(d,
                     "paste the public line the %s printed (meldnet-%s keygen); it starts "
                     "with \"meldnet1 %s %s\"",
                     noun, noun, noun, name);
        return rc;
    }
    if (strcmp(pub->name, name) != 0) {
        rc = mn_diag_set(d, MN_EKEY, where, "the key line names \"%s\", the file names \"%s\"",
                         pub->name, name);
        mn_diag_hint(d,
                     "each %s's key line carries its name: use the line of %s \"%s\", or "
                     "rename the %s",
                     noun, noun, name, noun);
        return rc;
    }
    return MN_OK;
}

int gw_parties_time_is_valid(const char *text)
{
    /* "YYYY-MM-DDTHH:MM:SSZ": digits where the template has 'd', the rest literally */
    static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!text || strlen(text) != GW_TIME_CHARS)
        return 0;
    for (size_t i = 0; i < GW_TIME_CHARS; i++) {
        if (form[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != form[i])
            return 0;
    }
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    int day = (text[8] - '0') * 10 + (text[9] - '0');
    int hour = (text[11] - '0') * 10 + (text[12] - '0');
    int minute = (text[14] - '0') * 10 + (text[15] - '0');
    int second = (text[17] - '0') * 10 + (text[18] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
           second <= 60;
}

/* A party file's optional revoked / revoked_at settings (either may be NULL: absent). */
static int s_party_revoked(const config_setting_t *revoked_s, const config_setting_t *at_s,
                           const char *path, int *revoked, char *at, size_t at_cap, mn_diag *d)
{
    char where[256];
    const char *text = NULL;
    int rc;

    *revoked = 0;
    at[0] = '\0';
    if (revoked_s) {
        gw_conf_util_where(where, sizeof where, path, revoked_s);
        if (config_setting_type(revoked_s) != CONFIG_TYPE_BOOL) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "revoked must be true or false, not %s",
                             gw_conf_util_type_name(config_setting_type(revoked_s)));
            mn_diag_hint(d, "write revoked = true; without quotes (or remove the line)");
            return rc;
        }
        *revoked = config_setting_get_bool(revoked_s) ? 1 : 0;
    }
    if (!at_s)
        return MN_OK;
    if ((rc = s_party_string(at_s, path, &text, d)) != MN_OK)
        return rc;
    gw_conf_util_where(where, sizeof where, path, at_s);
    if (!gw_parties_time_is_valid(text)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "revoked_at \"%.*s\" is not a UTC time",
                         GW_TIME_CHARS + 8, text);
        mn_diag_hint(d, "write it as revoked_at = \"2026-11-22T10:00:00Z\"; (UTC, to the second), "
                        "or remove the line");
        return MN_ECONFIG;
    }
    if (!*revoked) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "revoked_at without revoked = true");
        mn_diag_hint(d, "a party that is back in service has no revoked_at: remove the line, "
                        "or set revoked = true; to revoke it");
        return rc;
    }
    snprintf(at, at_cap, "%s", text);
    return MN_OK;
}

/* Load one agent file; stem is its file name without ".conf". */
static int s_load_agent(const char *path, const char *stem, void *item, mn_diag *d)
{
    config_t lc;
    char where[256];
    const config_setting_t *set[S_N_AGENT_KEYS];
    const char *name = NULL, *key = NULL, *region = GW_AGENT_DEFAULT_REGION;
    gw_agent *out = item;
    int rc;

    config_init(&lc);
    memset(out, 0, sizeof *out);
    if ((rc = s_party_read(&lc, path, out->source, sizeof out->source, d)) != MN_OK ||
        (rc = s_party_settings(&lc, path, "agent setting", s_agent_keys, S_N_AGENT_KEYS, 2,
                               "name, key, region, revoked, revoked_at",
                               "an agent file holds: name = \"NAME\"; key = \"meldnet1 agent "
                               "NAME ...\"; region = \"REGION\"; (meldnetctl agent add writes "
                               "one)",
                               set, d)) != MN_OK)
        goto out;
    const config_setting_t *name_s = set[0], *key_s = set[1], *region_s = set[2];
    const config_setting_t *revoked_s = set[3], *revoked_at_s = set[4];
    if ((rc = s_party_string(name_s, path, &name, d)) != MN_OK ||
        (rc = s_party_string(key_s, path, &key, d)) != MN_OK ||
        (region_s && (rc = s_party_string(region_s, path, &region, d)) != MN_OK))
        goto out;

    if ((rc = s_party_name(MN_ROLE_AGENT, name, stem, path, name_s, d)) != MN_OK ||
        (rc = s_party_key(MN_ROLE_AGENT, key, name, path, key_s, &out->pub, d)) != MN_OK)
        goto out;
    if (region_s && !gw_parties_region_is_valid(region)) {
        gw_conf_util_where(where, sizeof where, path, region_s);
        rc = mn_diag_set(d, MN_ECONFIG, where,
                         "region is empty, too long or has quotes or "
                         "control characters");
        mn_diag_hint(d, "write a region of 1-%d plain characters, e.g. \"Oost-Nederland\"",
                     MN_NAME_MAX);
        goto out;
    }
    rc = s_party_revoked(revoked_s, revoked_at_s, path, &out->revoked, out->revoked_at,
                         sizeof out->revoked_at, d);
    if (rc != MN_OK)
        goto out;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->region, sizeof out->region, "%s", region);
    rc = MN_OK;
out:
    config_destroy(&lc);
    return rc;
}

static const struct s_party s_agents_kind = {"agent",          "agents",     "agents_dir",
                                             sizeof(gw_agent), s_load_agent, s_agent_by_name};

/* What a load returns: list when rc is MN_OK, else NULL with list freed and *n 0. */
static void *s_loaded(int rc, void *list, size_t *n)
{
    if (rc == MN_OK)
        return list;
    free(list);
    *n = 0;
    return NULL;
}

int gw_parties_load_agents(const char *agents_dir, gw_agent **agents, size_t *n, mn_diag *d)
{
    void *list = NULL;
    int rc = s_load_dir(agents_dir, &s_agents_kind, &list, n, d);
    if (rc == MN_OK)
        rc = gw_parties_check(list, *n, NULL, 0, d);
    *agents = s_loaded(rc, list, n);
    return rc;
}

/* --- partners ------------------------------------------------------------------------------- */

const char *gw_partner_kind_name(int kind)
{
    if (kind >= GW_PARTNER_POLICE && kind < GW_PARTNER_POLICE + (int)S_N_KINDS)
        return s_kind_names[kind - GW_PARTNER_POLICE];
    if (kind == GW_PARTNER_REGISTRY)
        return "registry";
    return "unknown";
}

int gw_partner_kind_parse(const char *text, int *kind)
{
    for (size_t i = 0; text && i < S_N_KINDS; i++) {
        if (strcmp(text, s_kind_names[i]) == 0) {
            *kind = GW_PARTNER_POLICE + (int)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

void gw_parties_hint_topic(mn_diag *d)
{
    mn_diag_hint(d,
                 "a topic is 1-%d characters of a-z 0-9 . _ - (\"police.acute\"); a pattern "
                 "is a topic followed by \".*\" (\"care.*\") or \"*\" for every topic",
                 MN_TOPIC_MAX);
}

static void s_hint_sharing(mn_diag *d, const char *text)
{
    const char *near = mn_suggest_closest(text, s_sharing_names, 3);
    if (near)
        mn_diag_hint(d, "did you mean \"%s\"? levels: " GW_SHARING_LIST, near);
    else
        mn_diag_hint(d, "levels: " GW_SHARING_LIST);
}

/* One element of "bindings" into out; seen: the bindings before it (for duplicates). */
static int s_load_binding(const config_setting_t *b, const char *path, const gw_binding *seen,
                          size_t n_seen, gw_binding *out, mn_diag *d)
{
    char where[256];
    const config_setting_t *topic_s = NULL, *sharing_s = NULL;
    const char *topic = NULL, *sharing = NULL;
    int rc = MN_OK;

    gw_conf_util_where(where, sizeof where, path, b);
    if (!config_setting_is_group(b)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "a binding must be a group, not %s",
                         gw_conf_util_type_name(config_setting_type(b)));
        mn_diag_hint(d, "write each as { topic = \"police.acute\"; sharing = \"full\"; }");
        goto out;
    }
    for (int i = 0; i < config_setting_length(b); i++) {
        const config_setting_t *m = config_setting_get_elem(b, (unsigned)i);
        const char *n = config_setting_name(m);
        if (strcmp(n, "topic") == 0) {
            topic_s = m;
        } else if (strcmp(n, "sharing") == 0) {
            sharing_s = m;
        } else {
            gw_conf_util_where(where, sizeof where, path, m);
            rc = gw_conf_util_unknown(d, where, "binding setting", n, s_binding_keys,
                                      S_N_BINDING_KEYS, "topic, sharing");
            goto out;
        }
    }
    if (!topic_s || !sharing_s) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "the binding has no %s",
                         !topic_s ? "topic" : "sharing");
        mn_diag_hint(d, "write each as { topic = \"police.acute\"; sharing = \"full\"; }");
        goto out;
    }
    if ((rc = s_party_string(topic_s, path, &topic, d)) != MN_OK ||
        (rc = s_party_string(sharing_s, path, &sharing, d)) != MN_OK)
        goto out;
    gw_conf_util_where(where, sizeof where, path, topic_s);
    if (!mn_topic_pattern_is_valid(topic)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "topic \"%.*s\" is not a topic or pattern",
                         MN_TOPIC_MAX, topic);
        gw_parties_hint_topic(d);
        goto out;
    }
    for (size_t i = 0; i < n_seen; i++) {
        if (strcmp(seen[i].topic, topic) == 0) {
            rc = mn_diag_set(d, MN_ECONFIG, where, "topic \"%s\" is bound twice", topic);
            mn_diag_hint(d, "keep one binding per topic, with the sharing level it needs");
            goto out;
        }
    }
    gw_conf_util_where(where, sizeof where, path, sharing_s);
    if (mn_sharing_parse(sharing, &out->sharing) != MN_OK) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "sharing \"%.*s\" is not a sharing level",
                         MN_TOPIC_MAX, sharing);
        s_hint_sharing(d, sharing);
        goto out;
    }
    snprintf(out->topic, sizeof out->topic, "%s", topic);
out:
    return rc;
}

static int s_load_bindings(const config_setting_t *s, const char *path, gw_partner *out, mn_diag *d)
{
    char where[256];
    int rc = MN_OK;

    gw_conf_util_where(where, sizeof where, path, s);
    if (!config_setting_is_list(s)) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "bindings must be a list, not %s",
                         gw_conf_util_type_name(config_setting_type(s)));
        mn_diag_hint(d, "write bindings = ( { topic = \"police.acute\"; sharing = \"full\"; }, "
                        "... ); with round brackets");
        goto out;
    }
    int n = config_setting_length(s);
    if (n < 1 || n > GW_BINDINGS_MAX) {
        rc = mn_diag_set(d, MN_ECONFIG, where, "a partner has 1 to %d bindings, not %d",
                         GW_BINDINGS_MAX, n);
        mn_diag_hint(d, n < 1 ? "bind the partner to the topics it may receive"
                              : "use patterns such as \"care.*\" to bind many topics at once");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        rc = s_load_binding(config_setting_get_elem(s, (unsigned)i), path, out->bindings,
                            out->n_bindings, &out->bindings[out->n_bindings], d);
        if (rc != MN_OK)
            goto out;
        out->n_bindings++;
    }
out:
    return rc;
}

/* Load one partner file; stem is its file name without ".conf". */
static int s_load_partner(const char *path, const char *stem, void *item, mn_diag *d)
{
    config_t lc;
    char where[256];
    const config_setting_t *set[S_N_PARTNER_KEYS];
    const char *name = NULL, *key = NULL, *kind = NULL;
    gw_partner *out = item;
    int rc;

    config_init(&lc);
    memset(out, 0, sizeof *out);
    if ((rc = s_party_read(&lc, path, out->source, sizeof out->source, d)) != MN_OK ||
        (rc = s_party_settings(&lc, path, "partner setting", s_partner_keys, S_N_PARTNER_KEYS,
                               S_N_PARTNER_REQUIRED,
                               "name, key, kind, bindings, revoked, revoked_at",
                               "a partner file holds: name = \"NAME\"; key = \"meldnet1 partner "
                               "NAME ...\"; kind = \"police\"; bindings = ( { topic = \"...\"; "
                               "sharing = \"...\"; } ); (meldnetctl partner add writes one)",
                               set, d)) != MN_OK)
        goto out;
    const config_setting_t *name_s = set[0], *key_s = set[1], *kind_s = set[2];
    const config_setting_t *bindings_s = set[3], *revoked_s = set[4], *revoked_at_s = set[5];
    if ((rc = s_party_string(name_s, path, &name, d)) != MN_OK ||
        (rc = s_party_string(key_s, path, &key, d)) != MN_OK ||
        (rc = s_party_string(kind_s, path, &kind, d)) != MN_OK)
        goto out;

    if ((rc = s_party_name(MN_ROLE_PARTNER, name, stem, path, name_s, d)) != MN_OK)
        goto out;
    if (strcmp(name, GW_PARTNER_RESERVED_NAME) == 0) {
        gw_conf_util_where(where, sizeof where, path, name_s);
        rc = mn_diag_set(d, MN_ECONFIG, where, "\"%s\" is reserved for the registry itself", name);
        mn_diag_hint(d, "give the partner another name (its key line carries the name: make "
                        "new keys with meldnet-partner keygen OTHER-NAME)");
        goto out;
    }
    if ((rc = s_party_key(MN_ROLE_PARTNER, key, name, path, key_s, &out->pub, d)) != MN_OK)
        goto out;
    gw_conf_util_where(where, sizeof where, path, kind_s);
    if (gw_partner_kind_parse(kind, &out->kind) != MN_OK) {
        const char *near = mn_suggest_closest(kind, s_kind_names, S_N_KINDS);
        rc = mn_diag_set(d, MN_ECONFIG, where, "kind \"%.*s\" is not a partner kind", MN_NAME_MAX,
                         kind);
        if (near)
            mn_diag_hint(d, "did you mean \"%s\"? kinds: " GW_PARTNER_KIND_LIST, near);
        else
            mn_diag_hint(d, "kinds: " GW_PARTNER_KIND_LIST);
        goto out;
    }
    rc = s_load_bindings(bindings_s, path, out, d);
    if (rc != MN_OK)
        goto out;
    rc = s_party_revoked(revoked_s, revoked_at_s, path, &out->revoked, out->revoked_at,
                         sizeof out->revoked_at, d);
    if (rc != MN_OK)
        goto out;
    snprintf(out->name, sizeof out->name, "%s", name);
    rc = MN_OK;
out:
    config_destroy(&lc);
    return rc;
}

static const struct s_party s_partners_kind = {"partner",      "partners",
                                               "partners_dir", sizeof(gw_partner),
                                               s_load_partner, s_partner_by_name};

int gw_parties_load_partners(const char *partners_dir, gw_partner **partners, size_t *n, mn_diag *d)
{
    void *list = NULL;
    int rc = s_load_dir(partners_dir, &s_partners_kind, &list, n, d);
    if (rc == MN_OK)
        rc = gw_parties_check(NULL, 0, list, *n, d);
    *partners = s_loaded(rc, list, n);
    return rc;
}

/* --- one file ------------------------------------------------------------------------------- */

/* path = dir/NAME.conf, where dir must be a folder. Returns MN_OK, MN_ESYS, MN_EINVAL. */
static int s_party_path(const char *dir, const struct s_party *kind, const char *name, char *path,
                        size_t cap, mn_diag *d)
{
    struct stat st;
    int rc = MN_OK;
    int pn = snprintf(path, cap, "%s/%s.conf", dir, name);

    if (pn < 0 || (size_t)pn >= cap) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the %s folder path is too long", kind->plural);
        goto out;
    }
    if (stat(dir, &st) != 0) {
        rc = mn_diag_sys(d, dir, "cannot use the %s folder", kind->plural);
        mn_diag_hint(d, "create it (mkdir -m 700 %s) or check %s in gateway.conf", dir,
                     kind->setting);
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = mn_diag_set(d, MN_EINVAL, dir, "the %s folder is not a folder", kind->plural);
        mn_diag_hint(d, "check %s in gateway.conf", kind->setting);
        goto out;
    }
out:
    return rc;
}

/* Load dir/NAME.conf alone into item (kind->load). Returns MN_OK, MN_ENOTFOUND (no such file),
 * MN_EINVAL (a bad name), or what the load returns. */
static int s_load_one(const char *dir, const struct s_party *kind, const char *name, void *item,
                      mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc;

    if (!name || !mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "name", "%s name \"%.*s\" is not valid", kind->noun,
                         MN_NAME_MAX, name ? name : "");
        mn_diag_hint(d, "names are 1-%d characters of A-Z a-z 0-9 . _ -", MN_NAME_MAX);
        return rc;
    }
    if ((rc = s_party_path(dir, kind, name, path, sizeof path, d)) != MN_OK)
        return rc;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return mn_diag_sys(d, path, "cannot read the %s file", kind->noun);
        rc = mn_diag_set(d, MN_ENOTFOUND, path, "there is no %s \"%s\"", kind->noun, name);
        mn_diag_hint(d, "`meldnetctl %s list` shows the names", kind->noun);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mn_diag_set(d, MN_ECONFIG, path, "not a regular file");
        mn_diag_hint(d, "%s holds only %s files NAME.conf; move this away", kind->setting,
                     kind->noun);
        return rc;
    }
    return kind->load(path, name, item, d);
}

static const struct s_party *s_kind_of(mn_role role)
{
    return role == MN_ROLE_AGENT ? &s_agents_kind : &s_partners_kind;
}

int gw_parties_path(const char *dir, mn_role role, const char *name, char *path, size_t cap,
                    mn_diag *d)
{
    return s_party_path(dir, s_kind_of(role), name, path, cap, d);
}

int gw_parties_load_one_agent(const char *agents_dir, const char *name, gw_agent *out, mn_diag *d)
{
    return s_load_one(agents_dir, &s_agents_kind, name, out, d);
}

int gw_parties_load_one_partner(const char *partners_dir, const char *name, gw_partner *out,
                                mn_diag *d)
{
    return s_load_one(partners_dir, &s_partners_kind, name, out, d);
}

/* --- lookups -------------------------------------------------------------------------------- */

const gw_agent *gw_parties_find_agent(const gw_agent *agents, size_t n, const char *name)
{
    gw_agent key;
    if (!agents || !name || strlen(name) > MN_NAME_MAX || n == 0)
        return NULL;
    memset(&key, 0, sizeof key);
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, agents, n, sizeof *agents, s_agent_by_name);
}

const gw_agent *gw_parties_find_agent_by_curve(const gw_agent *agents, size_t n,
                                               const uint8_t curve[MN_KEY_BYTES])
{
    for (size_t i = 0; agents && curve && i < n; i++)
        if (memcmp(agents[i].pub.curve, curve, MN_KEY_BYTES) == 0)
            return &agents[i];
    return NULL;
}

const gw_partner *gw_parties_find_partner(const gw_partner *partners, size_t n, const char *name)
{
    if (!partners || !name || strlen(name) > MN_NAME_MAX || n == 0)
        return NULL;
    /* by hand rather than bsearch: a gw_partner as the key would be 5 KiB on the stack */
    for (size_t lo = 0, hi = n; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, partners[mid].name);
        if (cmp == 0)
            return &partners[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const gw_partner *gw_parties_find_partner_by_curve(const gw_partner *partners, size_t n,
                                                   const uint8_t curve[MN_KEY_BYTES])
{
    for (size_t i = 0; partners && curve && i < n; i++)
        if (memcmp(partners[i].pub.curve, curve, MN_KEY_BYTES) == 0)
            return &partners[i];
    return NULL;
}
