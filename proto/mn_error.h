/* mn_error.h - error codes, their names, meanings and hints; the diag that carries details.
 *
 * A function that can fail returns int: MN_OK (0) or a negative enum mn_err. Where a person must
 * fix something (a config file, a key, a store), the function also fills an mn_diag with where
 * and what; only the top level prints it, with mn_diag_print().
 */
#ifndef MN_ERROR_H
#define MN_ERROR_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define MN_NODISCARD __attribute__((warn_unused_result))
#define MN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MN_NODISCARD
#define MN_PRINTF(f, a)
#endif

enum mn_err {
    MN_OK = 0,
    MN_ESYS = -1,       /* a system call failed; errno is in the diag */
    MN_ENOMEM = -2,     /* out of memory */
    MN_EINVAL = -3,     /* an argument or input is not valid */
    MN_ECONFIG = -4,    /* the configuration is wrong */
    MN_EKEY = -5,       /* a key file or key line is wrong */
    MN_EPERM = -6,      /* a secret file is readable by others */
    MN_ECRYPTO = -7,    /* a signature does not verify or a box does not open */
    MN_EDECODE = -8,    /* bytes do not decode as the expected message */
    MN_ETOOBIG = -9,    /* input over its size limit */
    MN_EVERSION = -10,  /* a message or store of another version */
    MN_ESTORE = -11,    /* the LMDB store failed */
    MN_ENOTFOUND = -12, /* no such item */
    MN_EREPORT = -13,   /* a report fails validation */
    MN_ETIMEOUT = -14,  /* a deadline passed */
    MN_EZMQ = -15,      /* a ZeroMQ call failed */
    MN_EEXIST = -16,    /* the thing to create exists already */
};

/* Details for a person: where (file:line, path, peer), what, and errno for MN_ESYS. */
typedef struct mn_diag {
    int code;        /* the enum mn_err that was returned */
    int sys_errno;   /* errno for MN_ESYS, else 0 */
    char where[256]; /* "gateway.conf:14", "/path/to/file", "report.victim.age_years" */
    char what[512];  /* one sentence, no report content */
    char hint[256];  /* a specific hint; empty: the code's hint from the table */
} mn_diag;

/* Name ("MN_EKEY"), meaning and hint for a code; never NULL. */
const char *mn_err_name(int code);
const char *mn_err_meaning(int code);
const char *mn_err_hint(int code);

/* Fill d (NULL-safe) and return code, so callers can write `return mn_diag_set(d, ...)`. */
int mn_diag_set(mn_diag *d, int code, const char *where, const char *fmt, ...) MN_PRINTF(4, 5);

/* Like mn_diag_set with code MN_ESYS, keeping the current errno. */
int mn_diag_sys(mn_diag *d, const char *where, const char *fmt, ...) MN_PRINTF(3, 4);

/* Set a specific hint on d (NULL-safe), printed instead of the code's general one. */
void mn_diag_hint(mn_diag *d, const char *fmt, ...) MN_PRINTF(2, 3);

/* Clear d (NULL-safe). */
void mn_diag_clear(mn_diag *d);

/* Print "prog: where: what" and "prog: hint: ..." to stderr. */
void mn_diag_print(const char *prog, const mn_diag *d);

#endif
