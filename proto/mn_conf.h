/* mn_conf.h - a client's configuration file (agent.conf, partner.conf): flat settings read with
 * libconfig against a table, and the file written once by keygen.
 *
 * The caller describes its struct with a table of settings (name, kind, offset of the field,
 * default, bounds); mn_conf_load zeroes the struct, applies every default, reads HOME/file and
 * sets what the file sets. Every setting has a kind that says how it is checked; an unknown
 * setting is an error with a "did you mean"; relative paths are resolved against the home.
 * Errors name file:line (libconfig's source line) in diag.where and end with a hint; the texts
 * name the program's own file, keygen and environment variable (mn_conf_spec).
 */
#ifndef MN_CONF_H
#define MN_CONF_H

#include <stddef.h>

#include "mn_error.h"
#include "mn_key.h"

#define MN_CONF_PATH_MAX 4096
#define MN_CONF_ENDPOINT_MAX 256
#define MN_CONF_LOG_LEVEL_MAX 16

typedef enum mn_conf_kind {
    MN_CONF_NAME,      /* a party name (mn_name_is_valid), required: char[MN_NAME_MAX + 1] */
    MN_CONF_ENDPOINT,  /* an endpoint (mn_conf_endpoint_is_valid), required:
                          char[MN_CONF_ENDPOINT_MAX] */
    MN_CONF_PATH,      /* not empty; relative to the home: char[MN_CONF_PATH_MAX], resolved */
    MN_CONF_LOG_LEVEL, /* err, warn, notice, info or debug: char[MN_CONF_LOG_LEVEL_MAX] */
    MN_CONF_UNSIGNED,  /* a whole number in [min, max]: unsigned */
    MN_CONF_SIZE,      /* a whole number in [min, max]: size_t */
} mn_conf_kind;

typedef struct mn_conf_setting {
    const char *name;
    mn_conf_kind kind;
    size_t offset;            /* of the field in the caller's struct */
    const char *def;          /* PATH, LOG_LEVEL: the default */
    long long idef, min, max; /* UNSIGNED, SIZE: the default and the bounds */
    const char *example;      /* NAME, ENDPOINT: the line a hint shows, "name = \"hotline-1\";" */
    const char *hint;         /* ENDPOINT: the hint when the value is not valid */
} mn_conf_setting;

/* One program's configuration. Every pointer is borrowed. */
typedef struct mn_conf_spec {
    const char *file;             /* "agent.conf", in the home */
    const char *program;          /* "meldnet-agent": the hints name its keygen */
    const char *noun;             /* "agent": "cannot read the agent configuration" */
    const char *a_noun;           /* "an agent": "this home has an agent already" */
    const char *home_env;         /* "MELDNET_AGENT_HOME", for the hint when there is no file */
    const char *endpoint_example; /* "tcp://127.0.0.1:7411", for keygen's hint */
    const char *taken_hint;       /* the hint when writing into a home that has one already */
    size_t size;                  /* of the caller's struct */
    size_t path_offset;           /* char[MN_CONF_PATH_MAX]: the file that was read */
    size_t home_offset;           /* char[MN_CONF_PATH_MAX]: its folder */
    const mn_conf_setting *settings;
    size_t n_settings;
} mn_conf_spec;

/* True when endpoint is a tcp:// or ipc:// endpoint of printable characters without quotes or
 * backslashes, shorter than MN_CONF_ENDPOINT_MAX. */
int mn_conf_endpoint_is_valid(const char *endpoint);

/* Read and check HOME/spec->file into out (a struct of spec->size bytes): defaults applied,
 * bounds checked, paths resolved. Returns MN_OK, MN_ECONFIG (diag "FILE:LINE" and what is
 * wrong), MN_ESYS (cannot read; the hint names keygen and spec->home_env). */
MN_NODISCARD int mn_conf_load(const mn_conf_spec *spec, const char *home, void *out, mn_diag *d);

/* Write HOME/spec->file for a new party `name` at `endpoint` (crash-safe, 0600): text is the
 * whole file, NULL when it did not fit its buffer. Returns MN_OK, MN_EINVAL (bad name or
 * endpoint, path or text too long), MN_EEXIST (hint spec->taken_hint), MN_ESYS. */
MN_NODISCARD int mn_conf_write(const mn_conf_spec *spec, const char *home, const char *name,
                               const char *endpoint, const char *text, mn_diag *d);

#endif
