/* gw_party_file.h - writing the agent and partner files: add, rewrite, revoke.
 *
 * Every write is crash-safe (temp file, fsync, rename, fsync the folder) and checks what a
 * load would check of the one file (gw_parties.h describes the files), so the gateway never
 * meets a file written here that it refuses. None of these look at the other files of the
 * folder: keeping names and keys unique is the caller's job (meldnetctl checks against a loaded
 * configuration), and a load refuses the folder if it was not done.
 */
#ifndef GW_PARTY_FILE_H
#define GW_PARTY_FILE_H

#include "gw_parties.h"
#include "mn_error.h"
#include "mn_key.h"

/* Write a new agent file agents_dir/NAME.conf (crash-safe), not revoked; never replaces one.
 * region NULL or "": GW_AGENT_DEFAULT_REGION.
 * Returns MN_OK, MN_EEXIST, MN_ESYS, MN_EINVAL (bad name / region, a key of another party). */
MN_NODISCARD int gw_party_file_write_agent(const char *agents_dir, const char *name,
                                           const char *region, const mn_pubkey *pub, mn_diag *d);

/* Write partners_dir/NAME.conf (crash-safe) from a public line, kind and bindings, not revoked
 * (whatever p->revoked says); never replaces one. Returns MN_OK, MN_EEXIST, MN_ESYS,
 * MN_EINVAL. */
MN_NODISCARD int gw_party_file_write_partner(const char *partners_dir, const gw_partner *p,
                                             mn_diag *d);

/* Write agents_dir/a->name.conf (crash-safe: temp file, fsync, rename, fsync the folder) from
 * a's name, region (empty: "unknown"), pub and, when a->revoked, "revoked = true;" with
 * a->revoked_at (empty: left out). Replaces the file when it exists (comments written by hand
 * are lost), creates it when not. Checks what gw_party_file_write_agent checks, and
 * revoked_at's form. It does not check the folder for another party with the same key: callers
 * do that against a loaded configuration (gw_config_find_*_by_curve_any), and a load refuses
 * the folder if they did not. Returns MN_OK, MN_ESYS, MN_EINVAL. */
MN_NODISCARD int gw_party_file_rewrite_agent(const char *agents_dir, const gw_agent *a, mn_diag *d);

/* The same for a partner file partners_dir/p->name.conf (kind, bindings kept as given). */
MN_NODISCARD int gw_party_file_rewrite_partner(const char *partners_dir, const gw_partner *p,
                                               mn_diag *d);

/* Revoke agent `name`: read agents_dir/NAME.conf alone, and rewrite it (as
 * gw_party_file_rewrite_agent) with revoked = true and revoked_at (NULL: now, UTC), keeping its
 * name, region and key. When out is not NULL it gets the agent as written (or as found, when it
 * was revoked already). Returns MN_OK; MN_EEXIST when it is revoked already (nothing written);
 * MN_ENOTFOUND when there is no such file; MN_ECONFIG / MN_EKEY when the file does not load;
 * MN_EINVAL (a bad name or revoked_at), MN_ESYS. */
MN_NODISCARD int gw_party_file_revoke_agent(const char *agents_dir, const char *name,
                                            const char *revoked_at, gw_agent *out, mn_diag *d);

/* The same for partner `name` in partners_dir, keeping its kind and bindings too (and
 * MN_ENOMEM). */
MN_NODISCARD int gw_party_file_revoke_partner(const char *partners_dir, const char *name,
                                              const char *revoked_at, gw_partner *out, mn_diag *d);

#endif
