/* ctl - meldnetctl: make and inspect a gateway home (init, keygen, agents, partners, routes,
 * queues and holds, registry, status). This file is the dispatcher: the top-level options and
 * help, and the table of command groups; each group lives in a ctl_<group>.c of its own, the
 * helpers they share in ctl_common.c.
 *
 * Every command works on a gateway home (see gw_config.h for its layout), named by --home,
 * else $MELDNET_HOME, else ./meldnet-home. Commands that only read (agent and partner list,
 * route test, queue list, hold list, registry, status) may run while the gateway runs: the
 * store is opened read-only. `hold release` writes one short transaction while the gateway
 * runs (LMDB serialises the two writers); the gateway delivers what it released on its next
 * pump.
 *
 * Output: results on stdout (a public line, a number, JSON), progress notes and warnings on
 * stderr. Exit 0 on success, 1 on failure, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>

#include "ctl_common.h"
#include "ctl_init.h"
#include "ctl_party.h"
#include "ctl_queue.h"
#include "ctl_registry.h"
#include "ctl_route.h"
#include "ctl_store.h"
#include "ctl_views.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_process.h"

static const char s_usage[] =
    "usage: meldnetctl [--home DIR] COMMAND [ARGS]\n"
    "\n"
    "Make and inspect a meldnet gateway home.\n"
    "\n"
    "commands:\n"
    "  init --home DIR [--listen EP] [--delivery-listen EP]\n"
    "                                            make a new gateway home with fresh keys\n"
    "  keygen --role ROLE --name NAME --out DIR  make an identity: DIR/NAME.key, DIR/NAME.pub\n"
    "  agent add NAME \"LINE\" [--region R]        register an agent by its public line\n"
    "  agent revoke NAME                         refuse an agent's key from now on\n"
    "  agent list [--json]                       the agents: region, fingerprint, revoked\n"
    "  partner add NAME \"LINE\" --kind K --bind TOPIC=SHARING [--bind ...]\n"
    "                                            register a partner and what it may receive\n"
    "  partner revoke NAME                       refuse a partner's key, deliver no more\n"
    "  partner list [--json]                     the partners: kind, fingerprint, revoked\n"
    "  route test FILE.json                      which topics and partners a report reaches\n"
    "  queue list                                per partner: items waiting, oldest age, held\n"
    "  hold list                                 unrouted topics and held items\n"
    "  hold release PARTNER TAG [TAG...]         held items back to their partner's queue\n"
    "  hold release [PARTNER] --all [--reason TEXT]\n"
    "                                            every held item (of PARTNER; whose reason\n"
    "                                            holds TEXT) back to its queue\n"
    "  hold release unrouted REG TOPIC --registry-key FILE\n"
    "                                            route an unrouted topic again\n"
    "  registry count                            number of registrations\n"
    "  registry show REG --registry-key FILE     open one registry record, print it as JSON\n"
    "  store status|continue|new                 the store and the registration ledger: after\n"
    "                                            a lost or restored store, go on without\n"
    "                                            giving a registration number twice\n"
    "  status [--json]                           the running gateway on one screen: rates,\n"
    "                                            queues, silent agents, storage\n"
    "  top                                       the same, live (q quits)\n"
    "  queues [--json]                           per partner: depth, oldest, held, deliveries\n"
    "  agents [--json]                           per agent: last seen, counts, revoked\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help; `meldnetctl COMMAND --help` explains one command\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const ctl_command cmds[] = {
        {"init", ctl_cmd_init, CTL_PROG " init"},
        {"keygen", ctl_cmd_keygen, CTL_PROG " keygen"},
        {"agent", ctl_cmd_agent, CTL_PROG " agent"},
        {"partner", ctl_cmd_partner, CTL_PROG " partner"},
        {"route", ctl_cmd_route, CTL_PROG " route"},
        {"queue", ctl_cmd_queue, CTL_PROG " queue"},
        {"hold", ctl_cmd_hold, CTL_PROG " hold"},
        {"registry", ctl_cmd_registry, CTL_PROG " registry"},
        {"store", ctl_cmd_store, CTL_PROG " store"},
        {"status", ctl_cmd_status, CTL_PROG " status"},
        {"top", ctl_cmd_top, CTL_PROG " top"},
        {"queues", ctl_cmd_queues, CTL_PROG " queues"},
        {"agents", ctl_cmd_agents, CTL_PROG " agents"},
    };
    int c;
    if (mn_process_harden_main(CTL_PROG) != 0) /* before any secret is in memory */
        return CTL_EXIT_FAIL;

    /* "+": stop at the command; its options are parsed by the command */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': ctl_home_set(optarg); break;
        case 'h': fputs(s_usage, stdout); return CTL_EXIT_OK;
        default: fputs(s_usage, stderr); return CTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return CTL_EXIT_USAGE;
    }
    const ctl_command *cmd = ctl_command_find(cmds, sizeof cmds / sizeof cmds[0], argv[optind]);
    if (!cmd)
        return ctl_usage_error("",
                               "unknown command \"%s\" (init, keygen, agent, partner, route, "
                               "queue, hold, registry, store, status, top, queues, agents)",
                               argv[optind]);
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", CTL_PROG);
        return CTL_EXIT_FAIL;
    }
    char **sub = argv + optind;
    sub[0] = (char *)cmd->label;
    return cmd->run(argc - optind, sub);
}
