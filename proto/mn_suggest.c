/* mn_suggest.c - edit distance and the nearest known name, for "did you mean" hints. */
#include "mn_suggest.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

size_t mn_suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[MN_SUGGEST_MAX_LEN + 1];
    if (la > MN_SUGGEST_MAX_LEN || lb > MN_SUGGEST_MAX_LEN)
        return SIZE_MAX;
    /* One row of the DP table: row[j] is the distance of a[0..i) to b[0..j). */
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + (same ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *mn_suggest_closest(const char *word, const char *const *candidates, size_t n)
{
    if (!word)
        return NULL;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    size_t len = strlen(word);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    for (size_t i = 0; i < n; i++) {
        size_t dist = mn_suggest_distance(word, candidates[i]);
        if (dist > 1 && len >= 3 && strncasecmp(candidates[i], word, len) == 0)
            dist = 1;
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
