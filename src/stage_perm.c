/*
 * Stage 3, chaotic scrambling: a keyed permutation of the samples, O(n),
 * exactly invertible, built from cache-sized pieces:
 *   1. inside each block of P = MC_PERM_BLOCK_SAMPLES samples (the last
 *      block may be shorter), Fisher–Yates (Durstenfeld 1964) driven by
 *      the block's own logistic orbit (stage MC_STAGE_PERM, block b);
 *   2. if there are nf = n / P ≥ 2 full blocks, a keyed block transpose of
 *      them: with π the Fisher–Yates shuffle of 0..nf−1 driven by orbit
 *      (MC_STAGE_PERM_BLOCKS, 0), out[o·nf + k] = in[π(k)·P + o]
 *      for k < nf, o < P; samples after the full blocks stay in place;
 *   3. then step 1 again, block b with orbit (MC_STAGE_PERM, 2^32 + b).
 * Step 1 spreads a block's samples over its P positions; step 2 sends the
 * P samples of a block to P places nf apart, so every new block holds
 * samples of all (or P random) old blocks; step 3 mixes them, so that
 * neighbours are random pairs from the whole image, not always from the
 * same two blocks. No random access per sample over the whole image:
 * every step works in cache-sized blocks or tiles.
 *
 * Fisher–Yates index j in [0, i] is (u·(i+1)) >> 32 for the orbit's
 * 32-bit output u (Lemire 2019, without rejection: a bias below
 * (i+1)/2^32, irrelevant for scrambling, and no division).
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t pick(mc__logistic *m, uint32_t bound)
{
    uint32_t u = mc__low32(mc__logistic_next(m));
    return (uint32_t)(((uint64_t)u * bound) >> 32);
}

/* j[i·stride] is the partner of position i, for i = count-1 down to 1;
 * none for a count of 0 or 1 (written as count - 1 >= 1, a count of 0
 * wrapped to SIZE_MAX: every caller passes 2 or more, but mutation
 * testing's fourth round noted the trap). */
static void indices(uint32_t *j, size_t stride, size_t count, mc__logistic *m)
{
    for (size_t i = count; i-- > 1;)
        j[i * stride] = pick(m, (uint32_t)(i + 1));
}

/* The same for LANES blocks at once, their orbits interleaved: a single
 * orbit is a chain of dependent multiplications, LANES independent ones
 * keep the multipliers busy (and let the compiler use SIMD lanes). Same
 * operations, same bits. j[i·LANES + l] belongs to block l. */
#define LANES 8

static void indices_lanes(uint32_t *j, const uint8_t sm[64], uint64_t first)
{
    double x[LANES], r[LANES];

    for (unsigned l = 0; l < LANES; l++) {
        mc__logistic m;
        mc__logistic_seed(&m, sm, MC_STAGE_PERM, first + l);
        x[l] = m.x;
        r[l] = m.r;
    }
    for (size_t i = MC_PERM_BLOCK_SAMPLES - 1; i >= 1; i--) {
        for (unsigned l = 0; l < LANES; l++) {
            x[l] = r[l] * x[l] * (1.0 - x[l]);
            j[i * LANES + l] = (uint32_t)(((uint64_t)mc__low32(x[l]) * (i + 1)) >> 32);
        }
    }
    sodium_memzero(x, sizeof x);
    sodium_memzero(r, sizeof r);
}

#define SWAP(T, base, a, b)                                                                    \
    do {                                                                                       \
        T *s_ = (T *)(void *)(base), t_ = s_[a];                                               \
        s_[a] = s_[b];                                                                         \
        s_[b] = t_;                                                                            \
    } while (0)

static void shuffle_block(uint8_t *base, size_t count, unsigned bps, const uint32_t *j,
                          size_t stride, bool inverse)
{
    if (!inverse) {
        for (size_t i = count; i-- > 1;) { /* as indices(): none for 0 or 1 */
            if (bps == 1)
                SWAP(uint8_t, base, i, j[i * stride]);
            else
                SWAP(uint16_t, base, i, j[i * stride]);
        }
    } else {
        for (size_t i = 1; i < count; i++) {
            if (bps == 1)
                SWAP(uint8_t, base, i, j[i * stride]);
            else
                SWAP(uint16_t, base, i, j[i * stride]);
        }
    }
}

/* π: the keyed order of the full blocks (Fisher–Yates on the identity). */
static void block_order(uint32_t *pi, uint32_t *j, size_t nf, const uint8_t sm[64])
{
    mc__logistic m;

    for (size_t k = 0; k < nf; k++)
        pi[k] = (uint32_t)k;
    if (nf > 1) {
        mc__logistic_seed(&m, sm, MC_STAGE_PERM_BLOCKS, 0);
        indices(j, 1, nf, &m);
        for (size_t k = nf - 1; k >= 1; k--) {
            uint32_t t = pi[k];
            pi[k] = pi[j[k]];
            pi[j[k]] = t;
        }
        sodium_memzero(&m, sizeof m);
    }
}

/* out[o·nf + k] = in[π(k)·P + o] (forward) or its inverse, in tiles of
 * TILE blocks × TILE offsets so both sides stay in cache. */
#define TILE 64u

/* Through a TILE×TILE buffer: both sides are then read and written in
 * runs of TILE contiguous samples. (Going straight from source to
 * destination strides by 8 KiB blocks on one side, and such power-of-two
 * strides all fall into the same few cache sets.) */
#define TRANSPOSE(T)                                                                           \
    static void transpose_##T(T *dst, const T *src, const uint32_t *pi, size_t nf,            \
                              size_t k_from, size_t k_to, bool inverse)                        \
    {                                                                                          \
        const size_t P = MC_PERM_BLOCK_SAMPLES;                                                \
        T tile[TILE][TILE]; /* tile[k][o] */                                                   \
        for (size_t k0 = k_from; k0 < k_to; k0 += TILE) {                                      \
            size_t nk = k0 + TILE < k_to ? TILE : k_to - k0;                                   \
            for (size_t o0 = 0; o0 < P; o0 += TILE) {                                          \
                if (!inverse) {                                                                \
                    for (size_t k = 0; k < nk; k++)                                            \
                        memcpy(tile[k], src + (size_t)pi[k0 + k] * P + o0, sizeof tile[k]);    \
                    for (size_t o = 0; o < TILE; o++)                                          \
                        for (size_t k = 0; k < nk; k++)                                        \
                            dst[(o0 + o) * nf + k0 + k] = tile[k][o];                          \
                } else {                                                                       \
                    for (size_t o = 0; o < TILE; o++)                                          \
                        for (size_t k = 0; k < nk; k++)                                        \
                            tile[k][o] = src[(o0 + o) * nf + k0 + k];                          \
                    for (size_t k = 0; k < nk; k++)                                            \
                        memcpy(dst + (size_t)pi[k0 + k] * P + o0, tile[k], sizeof tile[k]);    \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        sodium_memzero(tile, sizeof tile);                                                     \
    }
TRANSPOSE(uint8_t)
TRANSPOSE(uint16_t)

/* Blocks k_from..k_to (k_from a multiple of TILE). */
static void transpose(uint8_t *dst, const uint8_t *src, const uint32_t *pi, size_t nf,
                      size_t k_from, size_t k_to, unsigned bps, bool inverse)
{
    if (bps == 1)
        transpose_uint8_t(dst, src, pi, nf, k_from, k_to, inverse);
    else
        transpose_uint16_t((uint16_t *)(void *)dst, (const uint16_t *)(const void *)src, pi, nf,
                           k_from, k_to, inverse);
}

/* Step 1 (and 3): every block shuffled by its own orbit (stage 0, block
 * first + b). */
#define SECOND_PASS ((uint64_t)1 << 32)

struct shuffle_job {
    uint8_t *buf;
    size_t n;
    unsigned bps;
    const uint8_t *sm;
    uint64_t first;
    bool inverse;
};

/* Blocks [begin, end) of a shuffle pass. */
static void shuffle_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    const struct shuffle_job *s = arg;
    const size_t P = MC_PERM_BLOCK_SAMPLES;
    size_t n_blocks = (s->n + P - 1) / P, b = begin;
    uint32_t j[LANES * MC_PERM_BLOCK_SAMPLES]; /* 128 KiB: per thread, on its stack */
    mc__logistic m = {0.0, 0.0};
    (void)worker;

    for (; b + LANES <= end && b + LANES <= s->n / P; b += LANES) {
        indices_lanes(j, s->sm, s->first + b);
        for (unsigned l = 0; l < LANES; l++)
            shuffle_block(s->buf + (b + l) * P * s->bps, P, s->bps, j + l, LANES, s->inverse);
    }
    for (; b < end; b++) {
        size_t count = (b + 1 < n_blocks || s->n % P == 0) ? P : s->n % P;
        if (count < 2)
            continue;
        mc__logistic_seed(&m, s->sm, MC_STAGE_PERM, s->first + b);
        indices(j, 1, count, &m);
        shuffle_block(s->buf + b * P * s->bps, count, s->bps, j, 1, s->inverse);
    }
    sodium_memzero(&m, sizeof m);
    sodium_memzero(j, sizeof j);
}

/* A shuffle pass: every block by its own orbit, blocks on threads. */
static void shuffle_all(uint8_t *buf, size_t n, unsigned bps, const uint8_t sm[64],
                        uint64_t first, bool inverse, unsigned threads)
{
    const size_t P = MC_PERM_BLOCK_SAMPLES;
    struct shuffle_job s = {.buf = buf, .n = n, .bps = bps, .sm = sm, .first = first,
                            .inverse = inverse};

    mc__parallel(threads, (n + P - 1) / P, LANES, shuffle_range, &s);
}

struct transpose_job {
    uint8_t *dst;
    const uint8_t *src;
    const uint32_t *pi;
    size_t nf;
    unsigned bps;
    bool inverse;
};

/* Tiles of TILE blocks [begin, end): they write disjoint places. */
static void transpose_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    const struct transpose_job *t = arg;
    size_t k0 = begin * TILE, k1 = end * TILE < t->nf ? end * TILE : t->nf;
    (void)worker;

    if (k1 > k0)
        transpose(t->dst, t->src, t->pi, t->nf, k0, k1, t->bps, t->inverse);
}

static mc_err perm(uint8_t *buf, size_t n, unsigned bps, const uint8_t sm[64], bool inverse,
                   unsigned threads)
{
    const size_t P = MC_PERM_BLOCK_SAMPLES;
    size_t nf = n / P;
    uint32_t *j = NULL, *pi = NULL;
    uint8_t *tmp = NULL;
    struct transpose_job t;
    mc_err err = MC_ENOMEM;

    if (n < 2)
        return MC_OK;
    if (nf > 1 && ((j = malloc(nf * sizeof *j)) == NULL ||
                   (pi = malloc(nf * sizeof *pi)) == NULL ||
                   (tmp = malloc(nf * P * bps)) == NULL))
        goto out;
    t = (struct transpose_job){.dst = tmp, .src = buf, .pi = pi, .nf = nf, .bps = bps,
                               .inverse = inverse};
    if (!inverse)
        shuffle_all(buf, n, bps, sm, 0, false, threads);
    if (nf > 1) {
        if (inverse)
            shuffle_all(buf, n, bps, sm, SECOND_PASS, true, threads);
        block_order(pi, j, nf, sm);
        mc__parallel(threads, (nf + TILE - 1) / TILE, 1, transpose_range, &t);
        memcpy(buf, tmp, nf * P * bps);
        if (!inverse)
            shuffle_all(buf, n, bps, sm, SECOND_PASS, false, threads);
    }
    if (inverse)
        shuffle_all(buf, n, bps, sm, 0, true, threads);
    err = MC_OK;
out:
    /* Indices derive from secret SM; tmp holds scrambled plain samples. */
    if (j != NULL)
        sodium_memzero(j, nf * sizeof *j);
    if (pi != NULL)
        sodium_memzero(pi, nf * sizeof *pi);
    if (tmp != NULL)
        sodium_memzero(tmp, nf * P * bps);
    free(j);
    free(pi);
    free(tmp);
    return err;
}

mc_err mc__perm_forward(uint8_t *buf, size_t n_samples, unsigned bytes_per_sample,
                        const uint8_t sm[64], unsigned threads)
{
    return perm(buf, n_samples, bytes_per_sample, sm, false, threads);
}

mc_err mc__perm_inverse(uint8_t *buf, size_t n_samples, unsigned bytes_per_sample,
                        const uint8_t sm[64], unsigned threads)
{
    return perm(buf, n_samples, bytes_per_sample, sm, true, threads);
}
