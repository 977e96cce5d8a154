/*
 * Stage 5, logistic diffusion, and stage 6, the XChaCha20 layer. Both XOR
 * a keystream, so each is its own inverse.
 */
#include "internal.h"

#include <sodium.h>
#include <string.h>

/* Keystream in blocks of MC_LOGISTIC_BLOCK_BYTES, block b from the orbit
 * (MC_STAGE_LOGISTIC, b): each step gives the low 32 bits of x's binary64
 * representation, as 4 little-endian bytes. The low mantissa bits are the
 * ones finite precision has mixed most; the high ones follow the map's
 * non-uniform (arcsine) density. */
/* One block's keystream XORed into p[0..n). */
static void xor_block(uint8_t *p, size_t n, mc__logistic *m)
{
    size_t i = 0;

    for (; i + 4 <= n; i += 4) {
        uint32_t u = mc__low32(mc__logistic_next(m)), v;
        memcpy(&v, p + i, 4);
        v ^= u;
        memcpy(p + i, &v, 4);
    }
    if (i < n) {
        uint32_t u = mc__low32(mc__logistic_next(m));
        for (size_t k = 0; i < n; i++, k++)
            p[i] ^= (uint8_t)(u >> (8 * k));
    }
}

/* LANES full blocks at once, their orbits interleaved: independent
 * multiplication chains keep the FPU busy and fill SIMD lanes. The same
 * operations in the same order per orbit: the same bits as xor_block. */
#define LANES 8

static void xor_lanes(uint8_t *p, const uint8_t sm[64], uint64_t first)
{
    const size_t B = MC_LOGISTIC_BLOCK_BYTES;
    double x[LANES], r[LANES];

    for (unsigned l = 0; l < LANES; l++) {
        mc__logistic m;
        mc__logistic_seed(&m, sm, MC_STAGE_LOGISTIC, first + l);
        x[l] = m.x;
        r[l] = m.r;
    }
    for (size_t i = 0; i < B; i += 4) {
        for (unsigned l = 0; l < LANES; l++) {
            uint32_t v;
            x[l] = r[l] * x[l] * (1.0 - x[l]);
            memcpy(&v, p + l * B + i, 4);
            v ^= mc__low32(x[l]);
            memcpy(p + l * B + i, &v, 4);
        }
    }
    sodium_memzero(x, sizeof x);
    sodium_memzero(r, sizeof r);
}

void mc__logistic_xor(uint8_t *buf, size_t len, const uint8_t sm[64])
{
    const size_t B = MC_LOGISTIC_BLOCK_BYTES;
    size_t n_blocks = (len + B - 1) / B, b = 0;
    mc__logistic m = {0.0, 0.0};

    for (; b + LANES <= len / B; b += LANES)
        xor_lanes(buf + b * B, sm, b);
    for (; b < n_blocks; b++) {
        mc__logistic_seed(&m, sm, MC_STAGE_LOGISTIC, b);
        xor_block(buf + b * B, (b + 1 < n_blocks) ? B : len - b * B, &m);
    }
    sodium_memzero(&m, sizeof m);
}

/* XChaCha20 (libsodium) under K_stream, nonce = T[0..24]. The samples use
 * block counters from 0, the side data from block_counter onwards. */
void mc__xchacha_xor(uint8_t *buf, size_t len, uint64_t block_counter,
                     const uint8_t k_stream[32], const uint8_t tag[MC_TAG_BYTES])
{
    if (len == 0)
        return;
    crypto_stream_xchacha20_xor_ic(buf, buf, (unsigned long long)len, tag, block_counter,
                                   k_stream);
}
