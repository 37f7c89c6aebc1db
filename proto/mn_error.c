/* mn_error.c - error code table and diag helpers. */
#include "mn_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct s_entry {
    int code;
    const char *name;
    const char *meaning;
    const char *hint;
};

static const struct s_entry s_table[] = {
    {MN_OK, "MN_OK", "success", "nothing to do"},
    {MN_ESYS, "MN_ESYS", "a system call failed",
     "check the path, its permissions and free disk space"},
    {MN_ENOMEM, "MN_ENOMEM", "out of memory", "free memory or lower the configured limits"},
    {MN_EINVAL, "MN_EINVAL", "invalid argument or input", "see --help for the expected form"},
    {MN_ECONFIG, "MN_ECONFIG", "the configuration is wrong",
     "fix the named setting; examples/gateway.conf documents every setting"},
    {MN_EKEY, "MN_EKEY", "a key file or key line is wrong",
     "make keys with 'keygen' and paste public lines whole, as printed"},
    {MN_EPERM, "MN_EPERM", "a secret file is readable by others",
     "run 'chmod 600' on the file (and check who else could have read it)"},
    {MN_ECRYPTO, "MN_ECRYPTO", "a signature does not verify or a box does not open",
     "check that both sides use the right, current public keys"},
    {MN_EDECODE, "MN_EDECODE", "bytes do not decode as the expected message",
     "the peer speaks another protocol or the data is damaged"},
    {MN_ETOOBIG, "MN_ETOOBIG", "input over its size limit",
     "make it smaller (fewer or smaller attachments) or raise the limit"},
    {MN_EVERSION, "MN_EVERSION", "a message or store of another version",
     "upgrade the older side; docs/PROTOCOL.md lists the versions"},
    {MN_ESTORE, "MN_ESTORE", "the LMDB store failed",
     "check free disk space and the data directory; restore from backup if it is damaged"},
    {MN_ENOTFOUND, "MN_ENOTFOUND", "no such item", "check the name or number"},
    {MN_EREPORT, "MN_EREPORT", "the report fails validation",
     "fix the named field; docs/report.schema.json describes every field"},
    {MN_ETIMEOUT, "MN_ETIMEOUT", "a deadline passed",
     "check that the peer runs and is reachable; the item stays queued"},
    {MN_EZMQ, "MN_EZMQ", "a ZeroMQ call failed", "check the endpoint address and port"},
    {MN_EEXIST, "MN_EEXIST", "it exists already", "choose another name or remove the old one"},
};

static const struct s_entry *s_find(int code)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++)
        if (s_table[i].code == code)
            return &s_table[i];
    return NULL;
}

const char *mn_err_name(int code)
{
    const struct s_entry *e = s_find(code);
    return e ? e->name : "MN_E?";
}

const char *mn_err_meaning(int code)
{
    const struct s_entry *e = s_find(code);
    return e ? e->meaning : "unknown error";
}

const char *mn_err_hint(int code)
{
    const struct s_entry *e = s_find(code);
    return e ? e->hint : "report this as a bug";
}

static int s_vset(mn_diag *d, int code, int err, const char *where, const char *fmt, va_list ap)
    MN_PRINTF(5, 0);

static int s_vset(mn_diag *d, int code, int err, const char *where, const char *fmt, va_list ap)
{
    if (!d)
        return code;
    d->code = code;
    d->sys_errno = err;
    d->hint[0] = '\0';
    snprintf(d->where, sizeof d->where, "%s", where ? where : "");
    if (fmt)
        vsnprintf(d->what, sizeof d->what, fmt, ap);
    else
        snprintf(d->what, sizeof d->what, "%s", mn_err_meaning(code));
    if (err) {
        size_t n = strlen(d->what);
        snprintf(d->what + n, sizeof d->what - n, ": %s", strerror(err));
    }
    return code;
}

int mn_diag_set(mn_diag *d, int code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_vset(d, code, 0, where, fmt, ap);
    va_end(ap);
    return rc;
}

int mn_diag_sys(mn_diag *d, const char *where, const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    int rc = s_vset(d, MN_ESYS, err, where, fmt, ap);
    va_end(ap);
    errno = err;
    return rc;
}

void mn_diag_hint(mn_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->hint, sizeof d->hint, fmt, ap);
    va_end(ap);
}

void mn_diag_clear(mn_diag *d)
{
    if (d)
        memset(d, 0, sizeof *d);
}

void mn_diag_print(const char *prog, const mn_diag *d)
{
    if (!d || d->code == MN_OK)
        return;
    if (d->where[0])
        fprintf(stderr, "%s: %s: %s\n", prog, d->where,
                d->what[0] ? d->what : mn_err_meaning(d->code));
    else
        fprintf(stderr, "%s: %s\n", prog, d->what[0] ? d->what : mn_err_meaning(d->code));
    fprintf(stderr, "%s: hint: %s\n", prog, d->hint[0] ? d->hint : mn_err_hint(d->code));
}
