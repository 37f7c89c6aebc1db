/* mn_bytes.h - big-endian integers in byte buffers, for canonical signing inputs and records.
 *
 * Static inline, no module behind it: the signing inputs (mn_envelope, mn_delivery), the
 * gateway's store records (gw_store) and the agent's spool records (agent_spool) write and read
 * their fixed-width fields with these. The put functions return the position after what they
 * wrote, so a writer can chain them; the caller has checked that the buffer is large enough.
 */
#ifndef MN_BYTES_H
#define MN_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint8_t *mn_bytes_put_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *mn_bytes_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *mn_bytes_put_u64be(uint8_t *p, uint64_t v)
{
    p = mn_bytes_put_u32be(p, (uint32_t)(v >> 32));
    return mn_bytes_put_u32be(p, (uint32_t)v);
}

/* Copy n bytes of data (NULL allowed when n is 0). */
static inline uint8_t *mn_bytes_put(uint8_t *p, const void *data, size_t n)
{
    if (n > 0)
        memcpy(p, data, n);
    return p + n;
}

static inline uint16_t mn_bytes_get_u16be(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t mn_bytes_get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t mn_bytes_get_u64be(const uint8_t *p)
{
    return (uint64_t)mn_bytes_get_u32be(p) << 32 | mn_bytes_get_u32be(p + 4);
}

#endif
