/*
 * Stage 4, Hénon bit scrambling: a bijection on the bits of the samples,
 * done with 64-bit word operations (8 samples of 8 bits or 4 of 16 bits
 * per word, SWAR style), never bit by bit.
 *
 * Two moves, both driven by the Hénon orbit:
 *   - every sample is rotated by r bits inside itself (r < D), so bits
 *     change significance and the histogram spreads;
 *   - bits then cross sample boundaries: word i and word i + q/2 of a block
 *     exchange the bits selected by a 64-bit mask, so each sample trades
 *     bits with a sample of a distant word.
 * Both keep neighbouring samples independent (no sample's bits are split
 * over two neighbours), which a plain word rotation would not.
 *
 * The buffer is read as little-endian 64-bit words in blocks of
 * MC_HENON_BLOCK_WORDS (the last may be shorter), each with its own orbit
 * (MC_STAGE_HENON, block b). For the pair (i, i + half), one step gives
 *     h  = (mantissa of x) · 0x9E3779B97F4A7C15  (mod 2^64)
 *     r1 = (h >> 58) mod D,   r2 = (h >> 52) mod D
 *     a = rot_D(a, r1);  c = rot_D(c, r2);  t = (a ^ c) & h;  a ^= t;  c ^= t
 * where rot_D rotates every D-bit lane left. With q odd, the last word's
 * lanes rotate by (h >> 58) mod D of one more step. The len % 8 tail bytes
 * (whole samples) rotate by (h >> 58) mod D of the first step of orbit
 * block n_blocks. The inverse exchanges again (an involution), then
 * rotates right.
 */
#include "internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define GOLDEN 0x9E3779B97F4A7C15ull
#define MANTISSA ((1ull << 52) - 1)

/* Rotates each D-bit lane of w left by r (0 <= r < D), D = 8 or 16. */
static inline uint64_t lanes_rotl(uint64_t w, unsigned r, unsigned bits)
{
    const uint64_t ones = bits == 8 ? 0x0101010101010101ull : 0x0001000100010001ull;
    const uint64_t lane = bits == 8 ? 0xFFull : 0xFFFFull;
    uint64_t hi = ((lane << r) & lane) * ones, lo = ((1ull << r) - 1) * ones;
    return ((w << r) & hi) | ((w >> (bits - r)) & lo);
}

/* Rotates each D-bit lane by its own amount: bits shift..shift+log2(D)-1
 * of the lane in amounts. A SWAR barrel shifter: step s rotates by 2^s
 * the lanes whose bit s is set. Right rotation undoes left. */
static inline uint64_t lanes_rot_var(uint64_t w, uint64_t amounts, unsigned shift, unsigned bits,
                                     bool right)
{
    const uint64_t ones = bits == 8 ? 0x0101010101010101ull : 0x0001000100010001ull;
    const uint64_t lane = bits == 8 ? 0xFFull : 0xFFFFull;
    const unsigned steps = bits == 8 ? 3 : 4;

    for (unsigned s = 0; s < steps; s++) {
        unsigned k = 1u << s;
        uint64_t sel = ((amounts >> (shift + s)) & ones) * lane;
        uint64_t rot = lanes_rotl(w, right ? bits - k : k, bits);
        w = (w & ~sel) | (rot & sel);
    }
    return w;
}

static inline uint64_t step(mc__henon *m)
{
    return (mc__bits(mc__henon_next(m)) & MANTISSA) * GOLDEN;
}

/* The rotation amounts: h through SplitMix64's finaliser step (Steele et
 * al. 2014), so they are not the exchange mask's bits. */
static inline uint64_t spread(uint64_t h)
{
    return (h ^ (h >> 31)) * 0xBF58476D1CE4E5B9ull;
}

/* Applies one block's moves, given its orbit outputs h[i·stride]. */
static inline void apply(uint64_t *w, size_t q, unsigned bits, const uint64_t *h, size_t stride,
                         bool inverse)
{
    size_t half = q / 2;

    for (size_t i = 0; i < half; i++) {
        uint64_t hi = h[i * stride], g = spread(hi), a = w[i], c = w[i + half], t;
        if (!inverse) {
            a = lanes_rot_var(a, g, 0, bits, false);
            c = lanes_rot_var(c, g, bits / 2, bits, false);
        }
        t = (a ^ c) & hi;
        a ^= t;
        c ^= t;
        if (inverse) {
            a = lanes_rot_var(a, g, 0, bits, true);
            c = lanes_rot_var(c, g, bits / 2, bits, true);
        }
        w[i] = a;
        w[i + half] = c;
    }
    if (q & 1)
        w[q - 1] = lanes_rot_var(w[q - 1], spread(h[half * stride]), 0, bits, inverse);
}

/* apply() with its parameters made constants, one copy per case, so the
 * compiler can unroll the lane rotations and vectorize the pairs. */
static void apply_block(uint64_t *w, size_t q, unsigned bits, const uint64_t *h, bool inverse)
{
    if (bits == 8 && !inverse)
        apply(w, q, 8, h, 1, false);
    else if (bits == 8)
        apply(w, q, 8, h, 1, true);
    else if (!inverse)
        apply(w, q, 16, h, 1, false);
    else
        apply(w, q, 16, h, 1, true);
}

/* One block: its orbit (one step per pair, one more if q is odd). */
static void block(uint64_t *w, size_t q, unsigned bits, const uint8_t sm[64], uint64_t b,
                  bool inverse)
{
    uint64_t h[MC_HENON_BLOCK_WORDS / 2 + 1];
    mc__henon m;

    mc__henon_seed(&m, sm, b);
    for (size_t i = 0; i < q / 2 + (q & 1); i++)
        h[i] = step(&m);
    apply_block(w, q, bits, h, inverse);
    sodium_memzero(&m, sizeof m);
    sodium_memzero(h, sizeof h);
}

/* LANES full blocks at once: their orbits interleaved (independent chains
 * of dependent multiplications), then each block's moves. Same
 * operations per orbit, same bits as block(). */
#define LANES 8

static void block_lanes(uint8_t *p, unsigned bits, const uint8_t sm[64], uint64_t first,
                        bool inverse)
{
    const size_t Q = MC_HENON_BLOCK_WORDS;
    static_assert(MC_HENON_BLOCK_WORDS % 2 == 0, "full blocks have no odd word");
    uint64_t h[MC_HENON_BLOCK_WORDS / 2 * LANES], w[MC_HENON_BLOCK_WORDS];
    mc__henon m[LANES];

    for (unsigned l = 0; l < LANES; l++)
        mc__henon_seed(&m[l], sm, first + l);
    for (size_t i = 0; i < Q / 2; i++)
        for (unsigned l = 0; l < LANES; l++)
            h[l * (Q / 2) + i] = step(&m[l]);
    for (unsigned l = 0; l < LANES; l++) {
        memcpy(w, p + l * Q * 8, sizeof w); /* little-endian host (internal.h) */
        apply_block(w, Q, bits, h + l * (Q / 2), inverse);
        memcpy(p + l * Q * 8, w, sizeof w);
    }
    sodium_memzero(m, sizeof m);
    sodium_memzero(h, sizeof h);
    sodium_memzero(w, sizeof w);
}

static void tail(uint8_t *p, size_t t, unsigned bits, const uint8_t sm[64], uint64_t b,
                 bool inverse)
{
    uint64_t v = 0, g;
    mc__henon m;

    mc__henon_seed(&m, sm, b);
    g = spread(step(&m));
    memcpy(&v, p, t); /* little-endian host (internal.h); t < 8, whole samples */
    v = lanes_rot_var(v, g, 0, bits, inverse);
    memcpy(p, &v, t);
    sodium_memzero(&m, sizeof m);
    sodium_memzero(&v, sizeof v);
}

struct henon_job {
    uint8_t *buf;
    size_t len;
    unsigned bits;
    const uint8_t *sm;
    bool inverse;
};

/* Word blocks [begin, end). */
static void henon_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    const struct henon_job *j = arg;
    const size_t Q = MC_HENON_BLOCK_WORDS;
    size_t words = j->len / 8, n_blocks = (words + Q - 1) / Q, b = begin;
    uint64_t w[MC_HENON_BLOCK_WORDS];
    (void)worker;

    for (; b + LANES <= end && b + LANES <= words / Q; b += LANES)
        block_lanes(j->buf + b * Q * 8, j->bits, j->sm, b, j->inverse);
    for (; b < end; b++) {
        size_t q = (b + 1 < n_blocks || words % Q == 0) ? Q : words % Q;
        uint8_t *p = j->buf + b * Q * 8;
        memcpy(w, p, q * 8); /* little-endian host (internal.h) */
        block(w, q, j->bits, j->sm, b, j->inverse);
        memcpy(p, w, q * 8);
    }
    sodium_memzero(w, sizeof w);
}

static void henon(uint8_t *buf, size_t len, unsigned bps, const uint8_t sm[64], bool inverse,
                  unsigned threads)
{
    const size_t Q = MC_HENON_BLOCK_WORDS;
    size_t n_blocks = (len / 8 + Q - 1) / Q;
    struct henon_job j = {.buf = buf, .len = len, .bits = 8 * bps, .sm = sm, .inverse = inverse};

    mc__parallel(threads, n_blocks, LANES, henon_range, &j);
    if (len % 8 != 0)
        tail(buf + len / 8 * 8, len % 8, 8 * bps, sm, n_blocks, inverse);
}

void mc__henon_forward(uint8_t *buf, size_t len, unsigned bytes_per_sample, const uint8_t sm[64],
                       unsigned threads)
{
    henon(buf, len, bytes_per_sample, sm, false, threads);
}

void mc__henon_inverse(uint8_t *buf, size_t len, unsigned bytes_per_sample, const uint8_t sm[64],
                       unsigned threads)
{
    henon(buf, len, bytes_per_sample, sm, true, threads);
}
