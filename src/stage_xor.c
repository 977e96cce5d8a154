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
void mc__logistic_xor(uint8_t *buf, size_t len, const uint8_t sm[64])
{
    const size_t B = MC_LOGISTIC_BLOCK_BYTES;
    size_t n_blocks = (len + B - 1) / B;
    mc__logistic m = {0.0, 0.0};

    for (size_t b = 0; b < n_blocks; b++) {
        uint8_t *p = buf + b * B;
        size_t n = (b + 1 < n_blocks) ? B : len - b * B, i = 0;
        mc__logistic_seed(&m, sm, MC_STAGE_LOGISTIC, b);
        for (; i + 4 <= n; i += 4) {
            uint32_t u = mc__low32(mc__logistic_next(&m)), v;
            memcpy(&v, p + i, 4);
            v ^= u;
            memcpy(p + i, &v, 4);
        }
        if (i < n) {
            uint32_t u = mc__low32(mc__logistic_next(&m));
            for (size_t k = 0; i < n; i++, k++)
                p[i] ^= (uint8_t)(u >> (8 * k));
        }
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
