/* ctl_json.h - meldnetctl: the JSON its --json listings print (jansson).
 *
 * Building a listing either yields the whole document or nothing: an item that cannot be made
 * or appended drops the array, and the caller reports "out of memory" once.
 */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <jansson.h>

/* Append item to arr, taking both. Returns arr, or NULL (arr released) when item is NULL or
 * cannot be appended; a NULL arr stays NULL. For loops: `arr = ctl_json_append(arr, item)`. */
json_t *ctl_json_append(json_t *arr, json_t *item);

/* Print doc (taken) on stdout, indented by 2, keys in insertion order, with a newline.
 * Returns 0, or -1 when doc is NULL or memory ran out (nothing printed). */
int ctl_json_print(json_t *doc);

#endif
