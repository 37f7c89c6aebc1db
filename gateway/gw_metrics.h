/* gw_metrics.h - a snapshot in the Prometheus text exposition format (version 0.0.4).
 *
 * Every family has HELP and TYPE lines; counters end in _total; times are seconds, sizes bytes;
 * labels are bounded: reason (the reject reasons), cause (gw_refusal), stage (gw_stage), partner
 * and agent (the configured names, never anything from a report). docs/OPERATING.md lists the
 * families.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include "gw_snapshot.h"

/* The exposition text of s. Caller frees. NULL when out of memory. */
char *gw_metrics_render(const gw_snapshot *s);

/* gw_metrics_render with the counters of `counters` (borrowed) instead of
 * gw_snapshot_counters: each in the family its metric names, at the place its metric_at says
 * (gw_counters.h), in table order within a place. Caller frees. NULL when out of memory. */
char *gw_metrics_render_with(const gw_snapshot *s, const gw_counter_table *counters);

#endif
