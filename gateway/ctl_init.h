/* ctl_init.h - meldnetctl init and keygen: make a gateway home, make an identity.
 *
 *   init     a new gateway home: gateway.conf from the commented template, the gateway
 *            identity, the digest and pseudonym keys, the registry's keypair, the folders
 *   keygen   one identity (any role) as NAME.key (secret, 0600) and NAME.pub
 *
 * Neither touches an existing home or key: init wants a missing or empty folder, keygen never
 * overwrites a file.
 */
#ifndef CTL_INIT_H
#define CTL_INIT_H

/* `meldnetctl init [--home DIR] [--listen EP] [--delivery-listen EP] [--metrics-listen HP]`
 * (argv[0] is the command's label). Returns the exit status: 0 made, 1 failed (said on
 * stderr; a home made half-way is named for removal), 2 usage error. */
int ctl_cmd_init(int argc, char **argv);

/* `meldnetctl keygen --role ROLE --name NAME --out DIR`: prints the public line on stdout.
 * Returns the exit status (0, 1, 2). */
int ctl_cmd_keygen(int argc, char **argv);

#endif
