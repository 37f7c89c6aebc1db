/* gw_statuspage.h - the status page at / : one self-contained HTML page for a wall screen.
 *
 * No scripts, no external assets, no fetches: the page is rendered from a snapshot (inline CSS,
 * the throughput chart as inline SVG) and reloads itself every GW_STATUSPAGE_REFRESH_S seconds.
 * It shows throughput over the last minutes, per partner the queue depth and the age of the
 * oldest item, silent agents, and rejects by reason. Every name is HTML-escaped.
 */
#ifndef GW_STATUSPAGE_H
#define GW_STATUSPAGE_H

#include "gw_snapshot.h"

#define GW_STATUSPAGE_REFRESH_S 5
/* An agent is listed as silent when it has sent nothing for this long (or never since start). */
#define GW_SILENT_AFTER_S (15 * 60)

/* The page for s. Caller frees. NULL when out of memory. */
char *gw_statuspage_render(const gw_snapshot *s);

#endif
