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

struct xor_job {
    uint8_t *buf;
    size_t len;
    const uint8_t *sm;
    uint64_t counter;
    const uint8_t *key, *nonce;
};

/* Blocks [begin, end) of the logistic keystream. */
static void logistic_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    const struct xor_job *j = arg;
    const size_t B = MC_LOGISTIC_BLOCK_BYTES;
    size_t n_blocks = (j->len + B - 1) / B, full = j->len / B, b = begin;
    mc__logistic m = {0.0, 0.0};
    (void)worker;

    for (; b + LANES <= end && b + LANES <= full; b += LANES)
        xor_lanes(j->buf + b * B, j->sm, b);
    for (; b < end; b++) {
        mc__logistic_seed(&m, j->sm, MC_STAGE_LOGISTIC, b);
        xor_block(j->buf + b * B, (b + 1 < n_blocks) ? B : j->len - b * B, &m);
    }
    sodium_memzero(&m, sizeof m);
}

void mc__logistic_xor(uint8_t *buf, size_t len, const uint8_t sm[64], unsigned threads)
{
    const size_t B = MC_LOGISTIC_BLOCK_BYTES;
    struct xor_job j = {.buf = buf, .len = len, .sm = sm};

    mc__parallel(threads, (len + B - 1) / B, LANES, logistic_range, &j);
}

/* 64-byte XChaCha20 blocks [begin, end). */
static void xchacha_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    const struct xor_job *j = arg;
    size_t from = begin * 64, to = end * 64 < j->len ? end * 64 : j->len;
    (void)worker;

    if (to > from)
        mc__chacha20_xor_ic(j->buf + from, to - from, j->nonce + 16, j->counter + begin, j->key);
}

/* XChaCha20 under K_stream, nonce = T[0..24]: ChaCha20 under the subkey
 * HChaCha20(K_stream, T[0..16]) with nonce T[16..24] (the construction
 * of draft-irtf-cfrg-xchacha §2.3, with the original ChaCha's 64-bit
 * counter and 8-byte nonce, as libsodium's crypto_stream_xchacha20 is;
 * crypto.c runs it on OpenSSL's ChaCha20 where linked in). The samples
 * use block counters from 0, the side data from block_counter onwards.
 * The keystream of block c does not depend on blocks before it, so
 * ranges of blocks can run on separate threads (grain: 4 KiB). */
void mc__xchacha_xor(uint8_t *buf, size_t len, uint64_t block_counter,
                     const uint8_t k_stream[32], const uint8_t tag[MC_TAG_BYTES],
                     unsigned threads)
{
    uint8_t subkey[32]; /* secret: wiped */
    struct xor_job j = {.buf = buf, .len = len, .counter = block_counter, .key = subkey,
                        .nonce = tag};

    if (len == 0)
        return;
    crypto_core_hchacha20(subkey, tag, k_stream, NULL);
    mc__parallel(threads, (len + 63) / 64, 64, xchacha_range, &j);
    sodium_memzero(subkey, sizeof subkey);
}
