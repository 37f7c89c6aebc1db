/* agent_config.c - agent.conf: its settings, defaults and bounds, for mn_conf to read; the
 * commented file keygen writes. */
#include "agent_config.h"

#include <stddef.h>
#include <stdio.h>

#include "mn_home.h"
#include "mn_wire.h"

#define S_OFF(field) offsetof(agent_config, field)

static const mn_conf_setting s_settings[] = {
    {.name = "name",
     .kind = MN_CONF_NAME,
     .offset = S_OFF(name),
     .example = "name = \"hotline-1\";"},
    {.name = "gateway",
     .kind = MN_CONF_ENDPOINT,
     .offset = S_OFF(gateway),
     .example = "gateway = \"tcp://HOST:7411\";",
     .hint = "write it as \"tcp://HOST:PORT\", e.g. \"tcp://127.0.0.1:7411\""},
    {.name = "gateway_key",
     .kind = MN_CONF_PATH,
     .offset = S_OFF(gateway_key),
     .def = "keys/gateway.pub"},
    {.name = "identity", .kind = MN_CONF_PATH, .offset = S_OFF(identity), .def = "keys/agent.key"},
    {.name = "spool", .kind = MN_CONF_PATH, .offset = S_OFF(spool), .def = "spool"},
    {.name = "window",
     .kind = MN_CONF_UNSIGNED,
     .offset = S_OFF(window),
     .idef = 32,
     .min = 1,
     .max = 1024},
    {.name = "spool_map_mb",
     .kind = MN_CONF_SIZE,
     .offset = S_OFF(spool_map_mb),
     .idef = 1024,
     .min = 16,
     .max = 1048576},
    {.name = "max_frame_bytes",
     .kind = MN_CONF_SIZE,
     .offset = S_OFF(max_frame_bytes),
     .idef = MN_WIRE_DEFAULT_MAX_FRAME,
     .min = 4096,
     .max = 16777216},
    {.name = "log_level", .kind = MN_CONF_LOG_LEVEL, .offset = S_OFF(log_level), .def = "info"},
};

static const mn_conf_spec s_spec = {
    .file = "agent.conf",
    .program = "meldnet-agent",
    .noun = "agent",
    .a_noun = "an agent",
    .home_env = AGENT_HOME_ENV,
    .endpoint_example = "tcp://127.0.0.1:7411",
    .taken_hint = "choose another --home; to replace the agent, move the old home aside after "
                  "its spool is delivered ('meldnet-agent status')",
    .size = sizeof(agent_config),
    .path_offset = S_OFF(path),
    .home_offset = S_OFF(home),
    .settings = s_settings,
    .n_settings = sizeof s_settings / sizeof s_settings[0],
};

const char *agent_config_home(const char *arg)
{
    return mn_home_dir(arg, AGENT_HOME_ENV, AGENT_HOME_DEFAULT);
}

int agent_config_load(const char *home, agent_config *out, mn_diag *d)
{
    return mn_conf_load(&s_spec, home, out, d);
}

int agent_config_write(const char *home, const char *name, const char *endpoint, mn_diag *d)
{
    char text[2048];
    int n = -1;
    if (name && endpoint) /* mn_conf_write says what is wrong with the others */
        n = snprintf(text, sizeof text,
                     "# agent.conf - configuration of meldnet-agent \"%s\", written by "
                     "'meldnet-agent keygen'.\n"
                     "# Relative paths are relative to this file's folder. Every setting but "
                     "name and gateway has a default.\n"
                     "\n"
                     "# This agent's name; the gateway knows it by this name and its keys.\n"
                     "name = \"%s\";\n"
                     "\n"
                     "# The gateway's ingest endpoint.\n"
                     "gateway = \"%s\";\n"
                     "\n"
                     "# The gateway's public line (its CURVE, signing and envelope keys).\n"
                     "gateway_key = \"keys/gateway.pub\";\n"
                     "\n"
                     "# This agent's secret identity (mode 0600).\n"
                     "identity = \"keys/agent.key\";\n"
                     "\n"
                     "# The durable outbox of sealed envelopes (LMDB, mode 0700).\n"
                     "spool = \"spool\";\n"
                     "\n"
                     "# Envelopes in flight at once (1 .. 1024).\n"
                     "# window = 32;\n"
                     "\n"
                     "# Largest size of the spool in MB (16 .. 1048576).\n"
                     "# spool_map_mb = 1024;\n"
                     "\n"
                     "# The gateway's max_frame_bytes: submit refuses larger envelopes before "
                     "queuing them.\n"
                     "# max_frame_bytes = %u;\n"
                     "\n"
                     "# Log level of 'run': err, warn, notice, info or debug.\n"
                     "# log_level = \"info\";\n",
                     name, name, endpoint, (unsigned)MN_WIRE_DEFAULT_MAX_FRAME);
    return mn_conf_write(&s_spec, home, name, endpoint,
                         n >= 0 && (size_t)n < sizeof text ? text : NULL, d);
}
