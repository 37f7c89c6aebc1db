/* mn_record.c - the RegistryRecord: encode, decode, destroy (see mn_record.h).
 *
 * Encoding borrows every part it is given (the report, the view's pseudonym and withheld list)
 * and only packs it; the agent name is copied so that it is NUL-terminated within its bounds.
 * Decoding checks the record's own fields (version, envelope id length, agent name length)
 * and leaves the report alone: the reader validates it if it wants to.
 */
#include "mn_record.h"

#include <assert.h>
#include <string.h>

#include "mn_message.h"

#define S_RECORD_VERSION 1

/* info and r into rec; rec borrows r, and agent (sizeof info->agent bytes) is the name's copy. */
static void s_fill(Meldnet__RegistryRecord *rec, const mn_record_info *info, const mn_report *r,
                   char *agent)
{
    memcpy(agent, info->agent, sizeof info->agent);
    agent[sizeof info->agent - 1] = '\0';
    rec->version = S_RECORD_VERSION;
    rec->registration = info->registration;
    rec->envelope_id.data = (uint8_t *)info->envelope_id;
    rec->envelope_id.len = sizeof info->envelope_id;
    rec->agent = agent;
    rec->accepted_ms = info->accepted_ms;
    rec->created_ms = info->created_ms;
    rec->report = (mn_report *)r; /* packed only, never changed */
}

int mn_record_encode(const mn_record_info *info, const mn_report *r, uint8_t **out, size_t *len)
{
    Meldnet__RegistryRecord rec = MELDNET__REGISTRY_RECORD__INIT;
    char agent[sizeof info->agent];

    assert(info && r && out && len);
    *out = NULL;
    *len = 0;
    s_fill(&rec, info, r, agent);
    return mn_message_pack(&rec.base, out, len);
}

int mn_record_encode_view(const mn_record_info *info, const mn_referral *view, uint8_t **out,
                          size_t *len)
{
    Meldnet__RegistryRecord rec = MELDNET__REGISTRY_RECORD__INIT;
    char agent[sizeof info->agent];

    assert(info && view && view->report && out && len);
    *out = NULL;
    *len = 0;
    s_fill(&rec, info, view->report, agent);
    rec.has_victim_pseudonym = view->has_victim_pseudonym;
    rec.victim_pseudonym = view->victim_pseudonym;
    rec.n_withheld = view->n_withheld;
    rec.withheld = view->withheld;
    rec.has_sharing = 1;
    rec.sharing = view->sharing;
    return mn_message_pack(&rec.base, out, len);
}

int mn_record_decode_all(const uint8_t *buf, size_t len, mn_record_info *info, mn_record **out,
                         mn_diag *d)
{
    int rc;
    Meldnet__RegistryRecord *rec = NULL;

    assert(info && out);
    *out = NULL;
    memset(info, 0, sizeof *info);
    rec = meldnet__registry_record__unpack(NULL, len, buf ? buf : (const uint8_t *)"");
    if (!rec) {
        rc = mn_diag_set(d, MN_EDECODE, "registry record",
                         "the bytes are not a RegistryRecord (damaged, or another message)");
        goto out;
    }
    if (rec->version != S_RECORD_VERSION) {
        rc = mn_diag_set(d, MN_EVERSION, "registry record",
                         "the record has version %u; this meldnet reads version %d", rec->version,
                         S_RECORD_VERSION);
        goto out;
    }
    if (rec->envelope_id.len != sizeof info->envelope_id ||
        strlen(rec->agent) >= sizeof info->agent) {
        rc = mn_diag_set(d, MN_EDECODE, "registry record",
                         "the record's envelope id or agent name has the wrong length");
        goto out;
    }
    info->registration = rec->registration;
    memcpy(info->envelope_id, rec->envelope_id.data, sizeof info->envelope_id);
    memcpy(info->agent, rec->agent, strlen(rec->agent) + 1);
    info->accepted_ms = rec->accepted_ms;
    info->created_ms = rec->created_ms;
    *out = rec;
    rec = NULL;
    rc = MN_OK;
out:
    mn_record_destroy(&rec);
    return rc;
}

int mn_record_decode(const uint8_t *buf, size_t len, mn_record_info *info, mn_report **report,
                     mn_diag *d)
{
    mn_record *rec = NULL;

    if (report)
        *report = NULL;
    int rc = mn_record_decode_all(buf, len, info, &rec, d);
    /* protobuf-c allocates each sub-message on its own, so the report can be taken out. */
    if (rc == MN_OK && report) {
        *report = rec->report;
        rec->report = NULL;
    }
    mn_record_destroy(&rec);
    return rc;
}

void mn_record_destroy(mn_record **rec_p)
{
    if (!rec_p || !*rec_p)
        return;
    mn_message_free(&(*rec_p)->base);
    *rec_p = NULL;
}
