/* partner_config.c - partner.conf: its settings, defaults and bounds, for mn_conf to read; the
 * commented file keygen writes; topic lists for --topics. */
#include "partner_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mn_home.h"

#define S_OFF(field) offsetof(partner_config, field)

static const mn_conf_setting s_settings[] = {
    {.name = "name",
     .kind = MN_CONF_NAME,
     .offset = S_OFF(name),
     .example = "name = \"police-midden\";"},
    {.name = "gateway",
     .kind = MN_CONF_ENDPOINT,
     .offset = S_OFF(gateway),
     .example = "gateway = \"tcp://HOST:7412\";",
     .hint = "write it as \"tcp://HOST:PORT\" (the gateway's delivery_listen), e.g. "
             "\"tcp://127.0.0.1:7412\""},
    {.name = "gateway_key",
     .kind = MN_CONF_PATH,
     .offset = S_OFF(gateway_key),
     .def = "keys/gateway.pub"},
    {.name = "identity",
     .kind = MN_CONF_PATH,
     .offset = S_OFF(identity),
     .def = "keys/partner.key"},
    {.name = "state", .kind = MN_CONF_PATH, .offset = S_OFF(state), .def = "state"},
    {.name = "credit",
     .kind = MN_CONF_UNSIGNED,
     .offset = S_OFF(credit),
     .idef = PARTNER_CREDIT_DEFAULT,
     .min = 1,
     .max = MN_CREDIT_MAX},
    {.name = "max_frame_bytes",
     .kind = MN_CONF_SIZE,
     .offset = S_OFF(max_frame_bytes),
     .idef = PARTNER_FRAME_DEFAULT,
     .min = 65536,
     .max = 268435456},
    {.name = "log_level", .kind = MN_CONF_LOG_LEVEL, .offset = S_OFF(log_level), .def = "info"},
};

static const mn_conf_spec s_spec = {
    .file = "partner.conf",
    .program = "meldnet-partner",
    .noun = "partner",
    .a_noun = "a partner",
    .home_env = PARTNER_HOME_ENV,
    .endpoint_example = "tcp://127.0.0.1:7412",
    .taken_hint = "choose another --home, or move the old home aside first",
    .size = sizeof(partner_config),
    .path_offset = S_OFF(path),
    .home_offset = S_OFF(home),
    .settings = s_settings,
    .n_settings = sizeof s_settings / sizeof s_settings[0],
};

const char *partner_config_home(const char *arg)
{
    return mn_home_dir(arg, PARTNER_HOME_ENV, PARTNER_HOME_DEFAULT);
}

int partner_config_load(const char *home, partner_config *out, mn_diag *d)
{
    return mn_conf_load(&s_spec, home, out, d);
}

int partner_config_write(const char *home, const char *name, const char *endpoint, mn_diag *d)
{
    char text[2560];
    int n = -1;
    if (name && endpoint) /* mn_conf_write says what is wrong with the others */
        n = snprintf(text, sizeof text,
                     "# partner.conf - configuration of meldnet-partner \"%s\",\n"
                     "# written by 'meldnet-partner keygen'. Relative paths are relative to "
                     "this file's folder.\n"
                     "# Every setting but name and gateway has a default.\n"
                     "\n"
                     "# This partner's name; the gateway knows it by this name and its keys.\n"
                     "name = \"%s\";\n"
                     "\n"
                     "# The gateway's delivery endpoint (its delivery_listen setting).\n"
                     "gateway = \"%s\";\n"
                     "\n"
                     "# The gateway's public line: its CURVE key, and the signing key each "
                     "delivery is checked with.\n"
                     "gateway_key = \"keys/gateway.pub\";\n"
                     "\n"
                     "# This partner's secret identity (mode 0600): referrals are sealed to its "
                     "box key.\n"
                     "identity = \"keys/partner.key\";\n"
                     "\n"
                     "# What listen has delivered: state/delivered/MN-NNNNNNNN markers, the "
                     "last delivery.\n"
                     "state = \"state\";\n"
                     "\n"
                     "# Deliveries in flight when listen is given no --credit (1 .. %d).\n"
                     "# credit = %d;\n"
                     "\n"
                     "# Largest message accepted from the gateway (65536 .. 268435456). A larger "
                     "one drops the\n"
                     "# connection, so keep it above the size of the largest referral.\n"
                     "# max_frame_bytes = %u;\n"
                     "\n"
                     "# Log level of 'listen': err, warn, notice, info or debug.\n"
                     "# log_level = \"info\";\n",
                     name, name, endpoint, MN_CREDIT_MAX, PARTNER_CREDIT_DEFAULT,
                     (unsigned)PARTNER_FRAME_DEFAULT);
    return mn_conf_write(&s_spec, home, name, endpoint,
                         n >= 0 && (size_t)n < sizeof text ? text : NULL, d);
}

/* --- topics ------------------------------------------------------------------------------- */

int partner_topics_parse(const char *list, mn_topics *out, mn_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!list)
        return MN_OK;
    const char *p = list;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return MN_OK;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        size_t n = (size_t)(b - a);
        char item[MN_TOPIC_MAX + 1];
        if (n == 0) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "an empty topic in \"%s\"", list);
            mn_diag_hint(d, "separate topics with single commas: police.acute,care.utrecht");
            return rc;
        }
        if (n > MN_TOPIC_MAX) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics",
                                 "a topic of %zu characters; at most "
                                 "%d",
                                 n, MN_TOPIC_MAX);
            mn_diag_hint(d, "topics are 1-%d characters of a-z 0-9 . _ -", MN_TOPIC_MAX);
            return rc;
        }
        memcpy(item, a, n);
        item[n] = '\0';
        if (!mn_topic_pattern_is_valid(item)) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "\"%.*s\" is not a topic", (int)n, a);
            mn_diag_hint(d,
                         "topics are 1-%d characters of a-z 0-9 . _ - (lower case), or a "
                         "pattern \"prefix.*\" or \"*\"",
                         MN_TOPIC_MAX);
            return rc;
        }
        for (size_t i = 0; i < out->n; i++) {
            if (strcmp(out->name[i], item) == 0) {
                int rc = mn_diag_set(d, MN_EINVAL, "--topics", "\"%s\" is given twice", item);
                mn_diag_hint(d, "name each topic once");
                return rc;
            }
        }
        if (out->n == MN_TOPICS_MAX) {
            int rc = mn_diag_set(d, MN_EINVAL, "--topics", "more than %d topics", MN_TOPICS_MAX);
            mn_diag_hint(d, "use a pattern such as care.* , or leave --topics out to get every "
                            "bound topic");
            return rc;
        }
        memcpy(out->name[out->n++], item, n + 1);
        if (!comma)
            break;
        p = comma + 1;
    }
    return MN_OK;
}
