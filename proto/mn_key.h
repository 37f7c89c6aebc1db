/* mn_key.h - party identities: generate, save (secret 0600), load, fingerprint, one-line public form.
 *
 * An identity holds three keypairs, all made by keygen:
 *   curve - X25519 for ZeroMQ CURVE (transport)
 *   sign  - Ed25519 for signatures (envelopes, receipts)
 *   box   - X25519 for payload encryption (envelopes to the gateway with crypto_box_seal;
 *           registry records and referrals in boxes with one ephemeral key per batch)
 * The secret halves live in sodium_malloc memory and are wiped by mn_key_destroy().
 *
 * Public line (one line of text, what an operator pastes to register a party):
 *   meldnet1 <role> <name> curve=<b64> sign=<b64> box=<b64>
 * where b64 is URL-safe base64 without padding (43 characters for 32 bytes) and role is one of
 * agent, partner, gateway, registry. Names are 1-64 characters of [A-Za-z0-9._-].
 *
 * Secret file (mode 0600; loading refuses a file that group or others can read):
 *   # meldnet secret identity - keep this file private (mode 0600)
 *   meldnet1-secret <role> <name> curve=<b64 32> sign=<b64 32-byte seed> box=<b64 32>
 * The public halves are derived from the secrets on load.
 */
#ifndef MN_KEY_H
#define MN_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

#define MN_KEY_BYTES 32         /* every public key, every X25519 secret, the Ed25519 seed */
#define MN_SIG_BYTES 64         /* Ed25519 signature */
#define MN_NAME_MAX 64          /* longest party name */
#define MN_FINGERPRINT_CHARS 16 /* hex characters in a fingerprint (without the NUL) */
#define MN_PUBLIC_LINE_MAX 256  /* a public line, NUL included */

typedef enum mn_role {
    MN_ROLE_AGENT = 0,
    MN_ROLE_PARTNER,
    MN_ROLE_GATEWAY,
    MN_ROLE_REGISTRY,
} mn_role;

/* The public half of an identity: plain data, copy freely. */
typedef struct mn_pubkey {
    mn_role role;
    char name[MN_NAME_MAX + 1];
    uint8_t curve[MN_KEY_BYTES];
    uint8_t sign[MN_KEY_BYTES];
    uint8_t box[MN_KEY_BYTES];
} mn_pubkey;

/* A whole identity, secret halves included. Opaque; secrets in sodium_malloc memory. */
typedef struct mn_key mn_key;

/* Initialise libsodium; call once before any other mn_ function. Returns MN_OK or MN_ECRYPTO. */
MN_NODISCARD int mn_crypto_init(void);

/* "agent" etc. and back. mn_role_parse returns MN_OK or MN_EINVAL. */
const char *mn_role_name(mn_role role);
MN_NODISCARD int mn_role_parse(const char *text, mn_role *out);

/* True when name is 1-MN_NAME_MAX characters of [A-Za-z0-9._-]. */
int mn_name_is_valid(const char *name);

/* Make a fresh identity. Caller owns *out. Returns MN_OK, MN_EINVAL (bad name), MN_ENOMEM. */
MN_NODISCARD int mn_key_generate(mn_role role, const char *name, mn_key **out, mn_diag *d);

/* Write the secret file at `path` (created 0600, crash-safe: temp, fsync, rename) and, when
 * pub_path is not NULL, the public line to pub_path (0644). Refuses to overwrite an existing
 * secret file (MN_EEXIST). Returns MN_OK, MN_EEXIST, MN_ESYS. */
MN_NODISCARD int mn_key_save(const mn_key *key, const char *path, const char *pub_path, mn_diag *d);

/* Load a secret file. Refuses a file that group or others may read (MN_EPERM, hint: chmod 600).
 * When path ends in ".key" and the file of the same name ending in ".pub" exists (keygen's
 * pair), its public line must be this identity's (same role and name, and the public halves the
 * secrets derive): otherwise MN_EKEY, "the key files do not belong together".
 * Caller owns *out. Returns MN_OK, MN_EPERM, MN_EKEY (malformed, diag names the line), MN_ESYS. */
MN_NODISCARD int mn_key_load(const char *path, mn_key **out, mn_diag *d);

/* Wipe and free *key_p, set it to NULL. NULL-safe; twice is harmless. */
void mn_key_destroy(mn_key **key_p);

/* Borrowed views, valid while key lives. */
const mn_pubkey *mn_key_public(const mn_key *key);
const uint8_t *mn_key_curve_secret(const mn_key *key); /* 32 bytes */
const uint8_t *mn_key_sign_secret(const mn_key *key);  /* 64 bytes, libsodium's sk form */
const uint8_t *mn_key_box_secret(const mn_key *key);   /* 32 bytes */

/* Format pub as a public line into buf (at least MN_PUBLIC_LINE_MAX bytes), no newline. */
void mn_pubkey_format(const mn_pubkey *pub, char *buf, size_t cap);

/* Parse a public line (leading/trailing whitespace and a trailing newline are ignored).
 * Returns MN_OK or MN_EKEY with the diag saying which part is wrong. */
MN_NODISCARD int mn_pubkey_parse(const char *line, mn_pubkey *out, mn_diag *d);

/* Read a file holding one public line (comments '#' and blank lines skipped).
 * Returns MN_OK, MN_EKEY, MN_ESYS. */
MN_NODISCARD int mn_pubkey_load(const char *path, mn_pubkey *out, mn_diag *d);

/* Write the public line plus newline to path (0644, crash-safe). Returns MN_OK or MN_ESYS. */
MN_NODISCARD int mn_pubkey_save(const mn_pubkey *pub, const char *path, mn_diag *d);

/* Fingerprint for logs: first 8 bytes of BLAKE2b-256(curve || sign || box), lowercase hex,
 * NUL-terminated into buf (at least MN_FINGERPRINT_CHARS + 1 bytes). Safe to log. */
void mn_pubkey_fingerprint(const mn_pubkey *pub, char *buf, size_t cap);

/* Fingerprint of a bare CURVE public key (all a ZAP request carries), in the same form: first
 * 8 bytes of BLAKE2b-256(curve), lowercase hex, into buf (at least MN_FINGERPRINT_CHARS + 1
 * bytes). It differs from the mn_pubkey_fingerprint of the identity that holds the key (that
 * one covers all three keys): use it only for keys no configured party has. Safe to log. */
void mn_curve_fingerprint(const uint8_t curve[MN_KEY_BYTES], char *buf, size_t cap);

/* Secret 32-byte symmetric key for keyed BLAKE2b digests (dedup, pseudonyms), in a 0600 file
 * holding one line "meldnet1-digest-key <b64>". Same rules as identities. */
typedef struct mn_secret32 mn_secret32;
MN_NODISCARD int mn_secret32_generate(mn_secret32 **out, mn_diag *d);

/* n bytes from the system's cryptographic random source (identities, not secrets). */
void mn_random_bytes(void *buf, size_t n);
MN_NODISCARD int mn_secret32_save(const mn_secret32 *s, const char *path, mn_diag *d);
MN_NODISCARD int mn_secret32_load(const char *path, mn_secret32 **out, mn_diag *d);
const uint8_t *mn_secret32_bytes(const mn_secret32 *s); /* borrowed, 32 bytes */
void mn_secret32_destroy(mn_secret32 **s_p);

#endif
