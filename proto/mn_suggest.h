/* mn_suggest.h - "did you mean": the known name nearest to a misspelt one.
 *
 * Used wherever input names something from a fixed list (config settings, log levels, report
 * fields), so that an unknown name is an error that offers the likely intended one.
 */
#ifndef MN_SUGGEST_H
#define MN_SUGGEST_H

#include <stddef.h>

/* Longest word, in bytes, that mn_suggest_distance() measures. */
#define MN_SUGGEST_MAX_LEN 64

/* Levenshtein edit distance between a and b, ignoring ASCII case. SIZE_MAX when either is
 * longer than MN_SUGGEST_MAX_LEN bytes. */
size_t mn_suggest_distance(const char *a, const char *b);

/* The candidate nearest to `word` when it is close enough to be a likely typo: at most
 * max(2, strlen(word) / 3) edits away, or beginning with `word` when that is 3 bytes or longer
 * ("data" -> "data_dir"; counts as 1 edit). Case is ignored; ties go to the earlier candidate.
 * Returns NULL when none is close, or when word is NULL.
 * Borrowed: the result is one of candidates[0 .. n-1]. */
const char *mn_suggest_closest(const char *word, const char *const *candidates, size_t n);

#endif
