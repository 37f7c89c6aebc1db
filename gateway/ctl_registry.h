/* ctl_registry.h - meldnetctl registry count|show, and opening a registry record.
 *
 *   registry count   the number of registrations in the store
 *   registry show    one record opened with the registry's secret key, printed as JSON
 *
 * The gateway seals each registration's record (mn_record) to the registry's box key
 * (keys/registry.pub); only the registry's secret key (registry-secret/registry.key, made by
 * init) opens it. `hold release unrouted` opens records the same way (ctl_queue).
 */
#ifndef CTL_REGISTRY_H
#define CTL_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_store.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_record.h"

/* `meldnetctl registry count|show ...` (argv[0] is the group's label, argv[1] the
 * subcommand). Returns the exit status: 0 success, 1 failure, 2 usage error. */
int ctl_cmd_registry(int argc, char **argv);

/* Load the registry's secret key from key_path; a key of another role is MN_EKEY with a hint.
 * Caller owns *key. Returns MN_OK, MN_EKEY, or as mn_key_load. */
MN_NODISCARD int ctl_registry_key_load(const char *key_path, mn_key **key, mn_diag *d);

/* key must be the one the gateway seals records to (cfg->registry_key), for a clear message
 * before any record is touched (MN_EKEY). required: the public file must load (else it is only
 * compared when it loads). Fills *pub when not NULL. Returns MN_OK, MN_EKEY, or as
 * mn_pubkey_load when required. */
MN_NODISCARD int ctl_registry_key_check(const gw_config *cfg, const mn_key *key,
                                        const char *key_path, int required, mn_pubkey *pub,
                                        mn_diag *d);

/* Open the sealed record of registration reg (sealed_len bytes, borrowed) with the registry's
 * key (key_path names it in messages), decode it, and check that it is the record of reg from
 * a valid agent name. Caller owns *rec (mn_record_destroy; its report is rec->report) and gets
 * its info in *info. Returns MN_OK, the error of mn_box_open (it does not open: wrong key or
 * damaged), or MN_EDECODE / MN_EVERSION / MN_ENOMEM (mn_record_decode_all; inconsistent). */
MN_NODISCARD int ctl_registry_record_open(const mn_key *key, const char *key_path, uint64_t reg,
                                          const uint8_t *sealed, size_t sealed_len,
                                          mn_record_info *info, mn_record **rec, mn_diag *d);

/* "no such registration" for reg in d, naming how many the store holds. Returns
 * MN_ENOTFOUND. */
int ctl_registry_no_registration(gw_store *store, uint64_t reg, mn_diag *d);

#endif
