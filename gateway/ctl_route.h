/* ctl_route.h - meldnetctl route test: dry-run the routing rules on a report file. */
#ifndef CTL_ROUTE_H
#define CTL_ROUTE_H

/* `meldnetctl route test FILE.json [--home DIR]` (argv[0] is the group's label, argv[1] the
 * subcommand): the topics the report reaches, by which rule, and what each partner would
 * receive, on stdout; changes nothing. Returns the exit status: 0, 1 failure, 2 usage error. */
int ctl_cmd_route(int argc, char **argv);

#endif
