/* mn_message.c - protobuf-c helpers: pack, bounded unpack, and a wipe driven by the
 * descriptors so every field of every message is covered before it is freed. */
#include "mn_message.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int mn_message_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);

    *out = NULL;
    *len = 0;
    if (!buf)
        return MN_ENOMEM;
    *len = protobuf_c_message_pack(m, buf);
    *out = buf;
    return MN_OK;
}

int mn_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                      size_t max_len, const char *noun, ProtobufCMessage **out, mn_diag *d)
{
    *out = NULL;
    if (len > max_len)
        return mn_diag_set(d, MN_ETOOBIG, noun, "the %s is %zu bytes, over the limit of %zu bytes",
                           noun, len, max_len);
    if (!buf && len > 0)
        return mn_diag_set(d, MN_EDECODE, noun, "there are no %s bytes", noun);
    *out = protobuf_c_message_unpack(desc, NULL, len, buf ? buf : (const uint8_t *)"");
    if (!*out)
        return mn_diag_set(d, MN_EDECODE, noun,
                           "the bytes are not a protobuf %s (damaged, or another message)",
                           desc->short_name);
    return MN_OK;
}

/* --- wiping ------------------------------------------------------------------------------- */

static size_t s_scalar_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    default: return 0;
    }
}

static void s_wipe_value(const ProtobufCFieldDescriptor *f, void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char *s = *(char **)p;
        if (s && s != (const char *)f->default_value)
            sodium_memzero(s, strlen(s));
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = p;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (!def || b->data != def->data))
            sodium_memzero(b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = *(ProtobufCMessage **)p;
        if (sub)
            mn_message_wipe(sub);
        break;
    }
    default: sodium_memzero(p, s_scalar_size(f->type)); break;
    }
}

void mn_message_wipe(ProtobufCMessage *m)
{
    if (!m)
        return;
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        char *member = (char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            char *arr = *(char **)member;
            size_t elem = f->type == PROTOBUF_C_TYPE_STRING    ? sizeof(char *)
                          : f->type == PROTOBUF_C_TYPE_BYTES   ? sizeof(ProtobufCBinaryData)
                          : f->type == PROTOBUF_C_TYPE_MESSAGE ? sizeof(ProtobufCMessage *)
                                                               : s_scalar_size(f->type);
            for (size_t k = 0; arr && k < n; k++)
                s_wipe_value(f, arr + k * elem);
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
            continue;
        s_wipe_value(f, member);
    }
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].data)
            sodium_memzero(m->unknown_fields[i].data, m->unknown_fields[i].len);
}

void mn_message_free(ProtobufCMessage *m)
{
    if (!m)
        return;
    mn_message_wipe(m);
    protobuf_c_message_free_unpacked(m, NULL);
}
