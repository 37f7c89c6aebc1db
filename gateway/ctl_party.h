/* ctl_party.h - meldnetctl agent and partner: register, revoke and list the parties.
 *
 *   agent add|revoke|list     agents/NAME.conf in the gateway home
 *   partner add|revoke|list   partners/NAME.conf, with the partner's kind and bindings
 *
 * add and revoke write the party's file crash-safe (gw_config) and make a gateway running from
 * the home reload (ctl_reload); list reads the files only. A revoked key stays retired: no
 * party can be added with it again.
 */
#ifndef CTL_PARTY_H
#define CTL_PARTY_H

/* `meldnetctl agent add|revoke|list ...` (argv[0] is the group's label, argv[1] the
 * subcommand). Returns the exit status: 0 success, 1 failure, 2 usage error. */
int ctl_cmd_agent(int argc, char **argv);

/* `meldnetctl partner add|revoke|list ...`, as ctl_cmd_agent. */
int ctl_cmd_partner(int argc, char **argv);

#endif
