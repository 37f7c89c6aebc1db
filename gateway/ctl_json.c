/* ctl_json.c - meldnetctl: the JSON its --json listings print. */
#include "ctl_json.h"

#include <stdio.h>
#include <stdlib.h>

json_t *ctl_json_append(json_t *arr, json_t *item)
{
    if (!arr) {
        json_decref(item);
        return NULL;
    }
    /* json_array_append_new takes item even when it fails */
    if (!item || json_array_append_new(arr, item) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int ctl_json_print(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}
