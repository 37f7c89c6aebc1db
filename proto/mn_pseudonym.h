/* mn_pseudonym.h - victim pseudonyms: the normalised input and the keyed hash over it.
 *
 * A victim pseudonym (docs/PROTOCOL.md §13.6) is keyed BLAKE2b-128 under a per-recipient key of
 *     "v2|" + normalised name + "|" + normalised date of birth
 * so the same victim, however a reporter wrote the name, gets one pseudonym per recipient, and
 * recipients cannot link their pseudonyms to each other's.
 *
 * Name normalisation (mn_pseudonym_name):
 *   - case folded; the letters of Latin-1 Supplement, Latin Extended-A and the Romanian
 *     comma-below letters folded to their base letters (é->e, Ç->c, ø->o, ł->l, đ->d, ı->i),
 *     ligatures spelled out (ß->ss, æ->ae, œ->oe, ĳ->ij, þ->th); Greek and Cyrillic
 *     capitals lowered; combining marks (U+0300-U+036F) dropped, so a decomposed "e" + U+0301
 *     equals a composed "é";
 *   - apostrophes (' ` ´ ‘ ’ ʼ) and invisible characters (soft hyphen, zero-width joiners)
 *     dropped, joining what they stand between: "O'Brien" = "OBrien", "d'Ancona" = "dAncona";
 *   - hyphens and dashes, whitespace (also no-break spaces), dots, commas and every other
 *     punctuation separate words: "Smits-Hoogendoorn" = "Smits Hoogendoorn" (a double surname
 *     is written both ways), "A.B. de Vries" = "A B de Vries";
 *   - the words sorted (by their bytes) and joined by one space, so name order does not matter:
 *     "de Vries, Anna" = "Anna de Vries" = "anna  DE vries" -> "anna de vries".
 * Other characters (other scripts, symbols outside these blocks) are kept as they are; bytes
 * that are not UTF-8 are kept as single characters.
 *
 * Date normalisation (mn_pseudonym_date): YYYY-MM-DD. The gateway only ever sees that form
 * (mn_report_validate refuses any other), but the module takes what a person types elsewhere:
 * Y-M-D and, in Dutch order, D-M-Y with a four-digit year and '-', '/', '.' or ' ' between the
 * parts (1 or 2 digits for day and month), and YYYYMMDD. Anything else is kept as written,
 * trimmed.
 *
 * Caveats: normalisation links exact matches only; misspellings ("Jaiden") make another
 * pseudonym. Changing anything here changes every pseudonym: bump the "v2|" tag with it.
 */
#ifndef MN_PSEUDONYM_H
#define MN_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

/* Bytes of a victim pseudonym (Referral.victim_pseudonym, RegistryRecord). */
#define MN_PSEUDONYM_BYTES 16

/* Room mn_pseudonym_date needs: "YYYY-MM-DD" and its NUL, or the trimmed input (at most this
 * long; longer inputs are cut, which only matters for text that is no date at all). */
#define MN_PSEUDONYM_DATE_MAX 64

/* The per-recipient pseudonym key: keyed BLAKE2b-256 of "meldnet-pseudonym-v1:" + recipient
 * under the 32-byte master pseudonym key. Writes 32 bytes to out. */
void mn_pseudonym_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32]);

/* The normalised form of `name` (see above) into out, NUL-terminated; it is never longer than
 * the input, so out_size >= strlen(name) + 1 always suffices. Returns MN_OK, MN_EINVAL when
 * out_size is too small (out is then ""), MN_ENOMEM. Scratch copies are wiped. */
MN_NODISCARD int mn_pseudonym_name(const char *name, char *out, size_t out_size);

/* The normalised form of a date of birth into out (see above). NULL gives "". */
void mn_pseudonym_date(const char *date, char out[MN_PSEUDONYM_DATE_MAX]);

/* The victim pseudonym of (name, date_of_birth) under recipient_key (from
 * mn_pseudonym_recipient_key); either may be NULL. Returns MN_OK with out written,
 * MN_ENOTFOUND when both normalise to nothing (no pseudonym: it would link every victim
 * without a name), MN_ENOMEM. */
MN_NODISCARD int mn_pseudonym_derive(const uint8_t recipient_key[32], const char *name,
                                     const char *date_of_birth, uint8_t out[MN_PSEUDONYM_BYTES]);

#endif
