/* gw_conf_util.h - what the gateway's libconfig readers share (gw_config for gateway.conf,
 * gw_parties for the agent and partner files): where a setting is, an unknown name with a
 * "did you mean", the name of a setting's type, and reading a file whole.
 *
 * Folder-private: for gateway/ files that read libconfig files; it includes libconfig.h, so
 * the headers of the modules that use it do not have to.
 */
#ifndef GW_CONF_UTIL_H
#define GW_CONF_UTIL_H

#include <libconfig.h>
#include <stddef.h>

#include "mn_error.h"

/* The type of a libconfig setting (CONFIG_TYPE_*) as a message says it: "a string", "a list",
 * "true/false", ... ("nothing" for a type it does not know). A static string. */
const char *gw_conf_util_type_name(int type);

/* "file:line" of setting s into buf (cap bytes): file is the one libconfig names (an
 * @include) or `path`. A file name too long for buf keeps its end ("...agents/x.conf:3") and
 * the line. */
void gw_conf_util_where(char *buf, size_t cap, const char *path, const config_setting_t *s);

/* Set d to an unknown `kind` ("setting", "agent setting") called name at where, with a hint:
 * "did you mean" the closest of cands[0..n) when one is close, and `list`, the known names as
 * text. Returns MN_ECONFIG. */
MN_NODISCARD int gw_conf_util_unknown(mn_diag *d, const char *where, const char *kind,
                                      const char *name, const char *const *cands, size_t n,
                                      const char *list);

/* Read path whole (a regular file of at most MN_CONF_FILE_MAX_BYTES: a FIFO must not hang -n)
 * and parse it from memory into lc (config_init'ed by the caller, who also destroys it);
 * relative @include paths resolve against dir. Returns MN_OK; MN_ECONFIG (not a regular file,
 * too large, a NUL byte, a syntax error at file:line, an @include that cannot be read);
 * MN_ESYS (cannot read path; errno kept in d); MN_ENOMEM. */
MN_NODISCARD int gw_conf_util_read(config_t *lc, const char *path, const char *dir, mn_diag *d);

#endif
