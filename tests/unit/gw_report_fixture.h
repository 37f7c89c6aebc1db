/* gw_report_fixture.h - what the routing, redaction and stage tests share: a report from
 * examples/, changing one of its strings, a partner with one or two bindings. Header-only (like
 * gw_home_fixture.h): each test program includes it once.
 */
#ifndef GW_REPORT_FIXTURE_H
#define GW_REPORT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_parties.h"
#include "mn_report.h"

/* examples/<name>, parsed and validated (MN_SRCDIR names the source tree). Caller owns it
 * (mn_report_destroy). */
static inline mn_report *fixture_load(const char *name)
{
    const char *dir = getenv("MN_SRCDIR");
    char path[1024];
    mn_report *r = NULL;
    mn_diag d;
    mn_diag_clear(&d);
    snprintf(path, sizeof path, "%s/examples/%s", dir ? dir : ".", name);
    if (mn_report_load_json(path, &r, &d) != MN_OK)
        fail_msg("cannot load %s: %s: %s (set MN_SRCDIR to the source tree)", path, d.where,
                 d.what);
    return r;
}

static inline char *fixture_dup(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

/* Replace a string field of a report (its own malloc block, as mn_report_destroy expects). */
static inline void fixture_set(char **field, const char *value)
{
    free(*field);
    *field = value ? fixture_dup(value) : NULL;
}

/* A partner bound to topic1 (and topic2 unless NULL) at the given sharing levels. */
static inline gw_partner fixture_partner(const char *name, int kind, const char *topic1,
                                         int sharing1, const char *topic2, int sharing2)
{
    gw_partner p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.kind = kind;
    snprintf(p.bindings[0].topic, sizeof p.bindings[0].topic, "%s", topic1);
    p.bindings[0].sharing = sharing1;
    p.n_bindings = 1;
    if (topic2) {
        snprintf(p.bindings[1].topic, sizeof p.bindings[1].topic, "%s", topic2);
        p.bindings[1].sharing = sharing2;
        p.n_bindings = 2;
    }
    return p;
}

#endif
