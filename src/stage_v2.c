/*
 * Format v2, stages 3 to 6 in one pass over cache-sized blocks
 * (docs/FORMAT.md §5). Format v1 ran each stage as its own pass over the
 * whole image, and its permutation as three (Fisher–Yates, transpose,
 * Fisher–Yates): seven passes over memory, the Fisher–Yates swaps a chain
 * of dependent loads and stores. Here every block of P = 4096 samples is
 * made once, while it sits in L1, and in place:
 *
 *   scrambling  the full blocks, in the keyed order π (Fisher–Yates on a
 *            logistic orbit), form groups of 128; a group is copied aside
 *            (1 MiB at most) and each of its blocks is rebuilt from 128
 *            chunks of 32 samples, chunk c from group member i + f[c]: so
 *            every block draws on 128 blocks from all over the image. The
 *            members are rotated by keyed amounts first, so that chunks
 *            side by side come from unrelated places of their blocks
 *            (unrelated image columns). The
 *            128 × 32 block is transposed, so neighbours come from
 *            different chunks, and its 32 rows are taken in a keyed order
 *            and rotated by keyed amounts, so the next row's neighbour is
 *            not the same chunk either;
 *   Hénon    word pairs rotate per lane and exchange masked bits, driven
 *            by 8 interleaved orbits per block;
 *   logistic XOR with a keystream of 16 interleaved orbits per block;
 *   XChaCha20 the same keystream bytes as format v1 (HChaCha20 once, then
 *            ChaCha20 at the block's counter; OpenSSL's, linked in,
 *            3× faster here than libsodium's, gives the same bytes).
 *
 * Groups are independent: they run on threads, and on x86-64 the block
 * kernel has an AVX2 and an AVX-512 copy, chosen at run time, with the
 * same IEEE-754 operations in the same order (no FMA), so the same bits.
 */
#include "internal.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#define P MC_V2_BLOCK_SAMPLES      /* samples per block */
/* A chunk is 16 bytes: C = 16 / bps samples; a block has NC = P / C
 * chunks, and after the transpose C rows of NC samples. */
#define CHUNK_BYTES 16u
#define C_OF(bps) (CHUNK_BYTES / (bps))     /* samples per chunk = rows */
#define NC_OF(bps) (P * (bps) / CHUNK_BYTES) /* chunks per block = row length */
#define MAX_ROWS 16u
#define MAX_NC 512u
#define GROUP 128u                 /* blocks per group */
#define HLANES 8u                  /* Hénon orbits per block */
#define LLANES 16u                 /* logistic orbits per block */
#define AUX ((uint64_t)1 << 40)    /* orbit indices of the one-off orbits */
#define GOLDEN 0x9E3779B97F4A7C15ull
#define MC_INLINE static inline __attribute__((always_inline))
#define MANTISSA ((1ull << 52) - 1)

struct scratch;

struct mc__v2 {
    const uint8_t *sm;
    size_t n, nf, ng;      /* samples, full blocks, groups */
    unsigned bps;          /* bytes per sample */
    int stages;
    bool inverse;
    uint8_t *buf;          /* the samples, transformed in place */
    uint32_t *pi;          /* keyed order of the full blocks */
    uint16_t *rot;         /* per position p in π: row rotations (MAX_ROWS) */
    uint8_t *order;        /* per position p in π: row mask */
    uint16_t *shift;       /* per position p in π: rotation of its block */
    uint8_t subkey[32];    /* HChaCha20(K_stream, T[0..16]) */
    uint8_t nonce8[8];     /* T[16..24] */
    struct scratch **scratch; /* one per worker */
    unsigned n_scratch;
};

/* ------------------------------------------------------------------ */
/* Little helpers; loads and stores go through memcpy (no aliasing).   */

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian host (internal.h) */
    return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static inline uint32_t pick(mc__logistic *m, uint32_t bound)
{
    uint32_t u = mc__low32(mc__logistic_next(m));
    return (uint32_t)(((uint64_t)u * bound) >> 32);
}

/* Rotates every D-bit lane of w left by r (0 <= r < D) without a
 * multiplication, so the loop over words vectorizes. */
MC_INLINE uint64_t rotl_lanes(uint64_t w, unsigned r, unsigned D)
{
    uint64_t lo = (1ull << r) - 1; /* low r bits of each lane */
    lo |= lo << D;
    lo |= lo << 2 * D;
    if (D == 8)
        lo |= lo << 32;
    return ((w << r) & ~lo) | ((w >> (D - r)) & lo);
}

/* ------------------------------------------------------------------ */
/* Orbits: the lanes of a block run interleaved, four to a vector (GCC  */
/* and Clang vector extensions: the same IEEE operation on each lane,   */
/* two SSE2 halves or one AVX2 register).                               */

typedef double v4d __attribute__((vector_size(32)));
typedef uint64_t v4u __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));
typedef uint32_t v4w __attribute__((vector_size(16)));

/* x, r of orbits (logistic, first .. first + 4·nv − 1) after the
 * transient; lane l is element l % 4 of vector l / 4. */
MC_INLINE void logistic_lanes_seed(v4d *x, v4d *r, unsigned nv, const uint8_t sm[64],
                                   uint64_t first)
{
    double xs[LLANES], rs[LLANES];

    for (unsigned l = 0; l < 4 * nv; l++) {
        uint32_t w[4];
        mc__stage_philox(w, sm, MC_STAGE_LOGISTIC, first + l);
        xs[l] = 0.001 + 0.998 * mc__unit(w[0], w[1]);
        rs[l] = 3.9999 + 0.0001 * ((double)w[2] * 0x1p-32); /* as mc__logistic_seed_v2 */
        sodium_memzero(w, sizeof w);
    }
    memcpy(x, xs, nv * sizeof *x);
    memcpy(r, rs, nv * sizeof *r);
    for (unsigned i = 0; i < MC_TRANSIENT; i++)
        for (unsigned j = 0; j < nv; j++)
            x[j] = r[j] * x[j] * (1.0 - x[j]);
    sodium_memzero(xs, sizeof xs);
    sodium_memzero(rs, sizeof rs);
}

/* One Hénon step on 4 lanes: the map and escape rule of mc__henon_next,
 * the escape as a bit select so the lanes need no branch. */
#define HENON_STEP(x, y)                                                                       \
    do {                                                                                       \
        const v4d two_ = {2.0, 2.0, 2.0, 2.0}, back_ = {0.1, 0.1, 0.1, 0.1};                  \
        v4d nx_ = 1.0 - 1.4 * (x) * (x) + (y), ny_ = 0.3 * (x);                                \
        v4i ok_ = (nx_ > -two_) & (nx_ < two_);                                                \
        (x) = (v4d)(((v4i)nx_ & ok_) | ((v4i)back_ & ~ok_));                                  \
        (y) = (v4d)((v4i)ny_ & ok_);                                                           \
    } while (0)

/* The map alone, as HENON_STEP when no lane leaves (−2, 2); a lane that
 * does is noted in out (all ones) instead of being sent back. The select
 * is off the chain of dependent operations from one x to the next: 16
 * cycles a step where HENON_STEP's takes about 22. */
#define HENON_STEP_NOTED(x, y, out)                                                            \
    do {                                                                                       \
        const v4d two_ = {2.0, 2.0, 2.0, 2.0};                                                 \
        v4d nx_ = 1.0 - 1.4 * (x) * (x) + (y), ny_ = 0.3 * (x);                                \
        (out) |= ~((nx_ > -two_) & (nx_ < two_));                                              \
        (x) = nx_;                                                                             \
        (y) = ny_;                                                                             \
    } while (0)

bool mc__v2_henon_checked; /* tests: every block's masks by HENON_STEP too */
const double *mc__v2_henon_start; /* tests: 8 x then 8 y, for every block */

/* ------------------------------------------------------------------ */
/* Stage 4: Hénon bit scrambling of one block of len bytes.            */

/* h[i] for pair i < half: lane i mod 8, step i / 8 after the transient;
 * h = (52-bit mantissa of x) · GOLDEN mod 2^64.
 *
 * With ks, for a block of 16·half bytes, a multiple of 128 (every full
 * block), also stage 5's keystream of the block (16·half bytes), as
 * logistic_block makes it: per Hénon step (8 pairs, 128 bytes) two
 * logistic steps (64 bytes each). Both maps are chains of dependent
 * multiplications, each step waiting for the one before: one after the
 * other, each left the core idle most of the time (the logistic map
 * alone took 0.66 ms of the 2048x2048 16-bit pass); stepped in one loop,
 * one chain's operations fill the other's waits, and henon_pairs XORs
 * the keystream in as each pair of words passes, instead of a pass of
 * its own: the pass 0.2-0.5 ms shorter. Each orbit runs exactly as
 * before: the same bytes. */
MC_INLINE void henon_masks(uint64_t *h, size_t half, uint8_t *ks, const uint8_t sm[64],
                           uint64_t k)
{
    double xs[HLANES], ys[HLANES];
    v4d x[2], y[2], lx[LLANES / 4], lr[LLANES / 4];
    const v4u mant = {MANTISSA, MANTISSA, MANTISSA, MANTISSA};
    size_t steps = (half + HLANES - 1) / HLANES;
    v4i out = {0, 0, 0, 0}; /* lanes that left (−2, 2) */

    for (unsigned l = 0; l < HLANES; l++) {
        uint32_t w[4];
        mc__stage_philox(w, sm, MC_STAGE_HENON, k * HLANES + l);
        xs[l] = (mc__unit(w[0], w[1]) - 0.5) * 0.2;
        ys[l] = (mc__unit(w[2], w[3]) - 0.5) * 0.06;
        sodium_memzero(w, sizeof w);
    }
    if (mc__v2_henon_start != NULL) { /* tests: orbits started by hand */
        memcpy(xs, mc__v2_henon_start, sizeof xs);
        memcpy(ys, mc__v2_henon_start + HLANES, sizeof ys);
    }
    memcpy(x, xs, sizeof x);
    memcpy(y, ys, sizeof y);
    if (ks != NULL)
        logistic_lanes_seed(lx, lr, LLANES / 4, sm, k * LLANES);
    for (unsigned i = 0; i < MC_TRANSIENT; i++) {
        HENON_STEP_NOTED(x[0], y[0], out);
        HENON_STEP_NOTED(x[1], y[1], out);
    }
    for (size_t s = 0; s < steps; s++) {
        v4u h0, h1;
        HENON_STEP_NOTED(x[0], y[0], out);
        HENON_STEP_NOTED(x[1], y[1], out);
        h0 = ((v4u)x[0] & mant) * GOLDEN;
        h1 = ((v4u)x[1] & mant) * GOLDEN;
        memcpy(h + s * HLANES, &h0, sizeof h0);
        memcpy(h + s * HLANES + 4, &h1, sizeof h1);
        if (ks != NULL)
            for (unsigned t = 0; t < 2; t++) {
                uint8_t *q = ks + (2 * s + t) * LLANES * 4;
                for (unsigned j = 0; j < LLANES / 4; j++) {
                    v4w d;
                    lx[j] = lr[j] * lx[j] * (1.0 - lx[j]);
                    d = __builtin_convertvector((v4u)lx[j], v4w); /* low 32 bits */
                    memcpy(q + 16 * j, &d, sizeof d);
                }
            }
    }
    /* A lane left (−2, 2): never seen from the seeds' boxes (the tests
     * walk every box's orbits), but the rule is part of the map, so the
     * masks are made again with it, from the seeds. */
    if ((out[0] | out[1] | out[2] | out[3]) != 0 || mc__v2_henon_checked) {
        memcpy(x, xs, sizeof x);
        memcpy(y, ys, sizeof y);
        for (unsigned i = 0; i < MC_TRANSIENT; i++) {
            HENON_STEP(x[0], y[0]);
            HENON_STEP(x[1], y[1]);
        }
        for (size_t s = 0; s < steps; s++) {
            v4u h0, h1;
            HENON_STEP(x[0], y[0]);
            HENON_STEP(x[1], y[1]);
            h0 = ((v4u)x[0] & mant) * GOLDEN;
            h1 = ((v4u)x[1] & mant) * GOLDEN;
            memcpy(h + s * HLANES, &h0, sizeof h0);
            memcpy(h + s * HLANES + 4, &h1, sizeof h1);
        }
    }
    sodium_memzero(xs, sizeof xs);
    sodium_memzero(ys, sizeof ys);
    sodium_memzero(x, sizeof x);
    sodium_memzero(y, sizeof y);
    if (ks != NULL) {
        sodium_memzero(lx, sizeof lx);
        sodium_memzero(lr, sizeof lr);
    }
}

/* Tests: one block's Hénon masks (no keystream), by the portable
 * kernel's copy of henon_masks: the escape rule of its lane selects is
 * checked against mc__henon_next on orbits started by hand. */
void mc__v2_henon_masks(uint64_t *h, size_t half, const uint8_t sm[64], uint64_t k)
{
    henon_masks(h, half, NULL, sm, k);
}

/* rotl_lanes on four words at once (w, r: v4u). */
#define ROTL_LANES4(w, r, D)                                                                   \
    do {                                                                                       \
        const v4u one_ = {1, 1, 1, 1};                                                         \
        v4u lo_ = (one_ << (r)) - 1;                                                           \
        lo_ |= lo_ << (D);                                                                     \
        lo_ |= lo_ << 2 * (D);                                                                 \
        if ((D) == 8)                                                                          \
            lo_ |= lo_ << 32;                                                                  \
        (w) = (((w) << (r)) & ~lo_) | (((w) >> ((D) - (r))) & lo_);                            \
    } while (0)

/* Stage 5 on the words of pairs i .. i+3 (a) and their partners (c):
 * the block's logistic keystream from henon_masks, at the same bytes. */
MC_INLINE void xor_keystream(v4u *a, v4u *c, const uint8_t *ks, size_t i, size_t half)
{
    v4u ka, kc;

    memcpy(&ka, ks + 8 * i, sizeof ka);
    memcpy(&kc, ks + 8 * (i + half), sizeof kc);
    *a ^= ka;
    *c ^= kc;
}

/* Pair i: words i and i + half. r1 = bits 60.. of h, r2 = bits 56.., each
 * mod D; forward: rotate every lane of a by r1 and of c by r2, then
 * exchange the bits h selects; backward the reverse. */
MC_INLINE void henon_pairs(uint8_t *p, size_t half, const uint64_t *h, unsigned D,
                           bool inverse, const uint8_t *ks)
{
    size_t i = 0;

    for (; i + 4 <= half; i += 4) {
        v4u a, c, m, t, r1, r2;
        memcpy(&a, p + 8 * i, sizeof a);
        memcpy(&c, p + 8 * (i + half), sizeof c);
        memcpy(&m, h + i, sizeof m);
        if (ks != NULL && inverse) /* stage 5 undone first */
            xor_keystream(&a, &c, ks, i, half);
        r1 = (m >> 60) & (D - 1);
        r2 = (m >> 56) & (D - 1);
        if (inverse) {
            r1 = (D - r1) & (D - 1);
            r2 = (D - r2) & (D - 1);
        } else {
            ROTL_LANES4(a, r1, D);
            ROTL_LANES4(c, r2, D);
        }
        t = (a ^ c) & m;
        a ^= t;
        c ^= t;
        if (inverse) {
            ROTL_LANES4(a, r1, D);
            ROTL_LANES4(c, r2, D);
        }
        if (ks != NULL && !inverse) /* stage 5 after stage 4 */
            xor_keystream(&a, &c, ks, i, half);
        memcpy(p + 8 * i, &a, sizeof a);
        memcpy(p + 8 * (i + half), &c, sizeof c);
    }
    for (; i < half; i++) { /* short blocks (never with ks: see henon_masks) */
        uint64_t a = ld64(p + 8 * i), c = ld64(p + 8 * (i + half)), m = h[i], t;
        unsigned r1 = (unsigned)(m >> 60) & (D - 1), r2 = (unsigned)(m >> 56) & (D - 1);
        if (!inverse) {
            a = rotl_lanes(a, r1, D);
            c = rotl_lanes(c, r2, D);
        }
        t = (a ^ c) & m;
        a ^= t;
        c ^= t;
        if (inverse) {
            a = rotl_lanes(a, (D - r1) & (D - 1), D);
            c = rotl_lanes(c, (D - r2) & (D - 1), D);
        }
        st64(p + 8 * i, a);
        st64(p + 8 * (i + half), c);
    }
}

/* The words and bytes that no pair covers (only in a short last block):
 * the first step after the transient of orbit (Hénon, AUX + k) rotates
 * them: the odd last word by r1, the tail bytes (whole samples) by r2. */
static void henon_leftover(uint8_t *p, size_t len, unsigned D, const uint8_t sm[64], uint64_t k,
                           bool inverse)
{
    size_t q = len / 8, e = len % 8;
    mc__henon m;
    uint64_t h, v = 0;
    unsigned r1, r2;

    if (q % 2 == 0 && e == 0)
        return;
    mc__henon_seed(&m, sm, AUX + k);
    h = (mc__bits(mc__henon_next(&m)) & MANTISSA) * GOLDEN;
    r1 = (unsigned)(h >> 60) & (D - 1);
    r2 = (unsigned)(h >> 56) & (D - 1);
    if (inverse) {
        r1 = (D - r1) & (D - 1);
        r2 = (D - r2) & (D - 1);
    }
    if (q % 2 == 1)
        st64(p + 8 * (q - 1), rotl_lanes(ld64(p + 8 * (q - 1)), r1, D));
    if (e > 0) {
        memcpy(&v, p + 8 * q, e); /* whole samples: lanes stay whole */
        v = rotl_lanes(v, r2, D);
        memcpy(p + 8 * q, &v, e);
    }
    sodium_memzero(&m, sizeof m);
    sodium_memzero(&h, sizeof h);
    sodium_memzero(&v, sizeof v);
}

/* ------------------------------------------------------------------ */
/* Stage 5: logistic keystream of one block.                           */

/* Word i (4 bytes, little-endian) of block k: low 32 bits of step i / 16
 * of orbit (logistic, 16k + i mod 16). */
MC_INLINE void logistic_block(uint8_t *p, size_t len, const uint8_t sm[64], uint64_t k)
{
    v4d x[LLANES / 4], r[LLANES / 4];
    size_t full = len / (4 * LLANES);

    logistic_lanes_seed(x, r, LLANES / 4, sm, k * LLANES);
    for (size_t s = 0; s < full; s++) {
        uint8_t *q = p + s * LLANES * 4;
        for (unsigned j = 0; j < LLANES / 4; j++) {
            v4w d;
            x[j] = r[j] * x[j] * (1.0 - x[j]);
            memcpy(&d, q + 16 * j, sizeof d);
            d ^= __builtin_convertvector((v4u)x[j], v4w); /* low 32 bits */
            memcpy(q + 16 * j, &d, sizeof d);
        }
    }
    if (full * LLANES * 4 < len) { /* a short last block */
        double xs[LLANES], rs[LLANES];
        size_t at = full * LLANES * 4;
        memcpy(xs, x, sizeof xs);
        memcpy(rs, r, sizeof rs);
        for (unsigned l = 0; l < LLANES && at < len; l++, at += 4) {
            uint32_t u;
            xs[l] = rs[l] * xs[l] * (1.0 - xs[l]);
            u = mc__low32(xs[l]);
            for (unsigned b = 0; b < 4 && at + b < len; b++)
                p[at + b] ^= (uint8_t)(u >> (8 * b));
        }
        sodium_memzero(xs, sizeof xs);
        sodium_memzero(rs, sizeof rs);
    }
    sodium_memzero(x, sizeof x);
    sodium_memzero(r, sizeof r);
}

/* ------------------------------------------------------------------ */
/* One block, all stages.                                              */

struct scratch {
    uint16_t g[P];             /* a block's chunks (bytes when 8-bit) */
    uint16_t t[P];             /* the transposed block */
    uint64_t h[P * 2 / 16 + HLANES];
    uint8_t ks[P * 2];         /* a block's logistic keystream (henon_masks) */
    uint32_t off[MAX_NC];      /* the group's chunk offsets (member_offsets) */
    uint8_t *group;            /* GROUP blocks */
};

/* Chunk c of the block at position i of a group of G comes from member
 * (i + f[c]) mod G (rotated, see one_group), at the same place: at this
 * offset in the group, given ib = i·B and gb = G·B (B = P·bps). From
 * off[c] rather than f[c]: one addition and a wrap per chunk, where the
 * member index, its wrap and a multiplication took a fifth of the
 * scrambling's time (perf). */
MC_INLINE size_t chunk_at(const uint32_t *off, size_t c, size_t ib, size_t gb)
{
    size_t o = ib + off[c];
    return o < gb ? o : o - gb;
}

/* dst (cols × rows) = transpose of src (rows × cols), elements of bps
 * bytes; rows and cols multiples of 16. */
#if defined(__x86_64__)
/* 8 × 8 16-bit elements in 8 registers: three rounds of interleaves. */
#define TR8X8_EPI16(r)                                                                         \
    do {                                                                                       \
        __m128i a_[8], b_[8];                                                                  \
        for (int q_ = 0; q_ < 4; q_++) {                                                       \
            a_[2 * q_] = _mm_unpacklo_epi16(r[2 * q_], r[2 * q_ + 1]);                         \
            a_[2 * q_ + 1] = _mm_unpackhi_epi16(r[2 * q_], r[2 * q_ + 1]);                     \
        }                                                                                      \
        for (int q_ = 0; q_ < 2; q_++) {                                                       \
            b_[4 * q_] = _mm_unpacklo_epi32(a_[4 * q_], a_[4 * q_ + 2]);                       \
            b_[4 * q_ + 1] = _mm_unpackhi_epi32(a_[4 * q_], a_[4 * q_ + 2]);                   \
            b_[4 * q_ + 2] = _mm_unpacklo_epi32(a_[4 * q_ + 1], a_[4 * q_ + 3]);               \
            b_[4 * q_ + 3] = _mm_unpackhi_epi32(a_[4 * q_ + 1], a_[4 * q_ + 3]);               \
        }                                                                                      \
        for (int q_ = 0; q_ < 4; q_++) {                                                       \
            r[2 * q_] = _mm_unpacklo_epi64(b_[q_], b_[q_ + 4]);                                \
            r[2 * q_ + 1] = _mm_unpackhi_epi64(b_[q_], b_[q_ + 4]);                            \
        }                                                                                      \
    } while (0)

MC_INLINE void transpose(uint8_t *dst, const uint8_t *src, size_t rows, size_t cols,
                         unsigned bps)
{
    if (bps == 2) {
        for (size_t r0 = 0; r0 < rows; r0 += 8)
            for (size_t c0 = 0; c0 < cols; c0 += 8) {
                __m128i r[8];
                for (int q = 0; q < 8; q++)
                    r[q] = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * ((r0 + q) * cols + c0)));
                TR8X8_EPI16(r);
                for (int q = 0; q < 8; q++)
                    _mm_storeu_si128((__m128i *)(void *)(dst + 2 * ((c0 + q) * rows + r0)), r[q]);
            }
    } else {
        /* 16 × 16 bytes: interleave row pairs into 16-bit pairs, then two
         * 8 × 8 transposes of those pairs. */
        for (size_t r0 = 0; r0 < rows; r0 += 16)
            for (size_t c0 = 0; c0 < cols; c0 += 16) {
                __m128i x[16], lo[8], hi[8];
                for (int q = 0; q < 16; q++)
                    x[q] = _mm_loadu_si128((const __m128i *)(const void *)(src + (r0 + q) * cols + c0));
                for (int q = 0; q < 8; q++) {
                    lo[q] = _mm_unpacklo_epi8(x[2 * q], x[2 * q + 1]);
                    hi[q] = _mm_unpackhi_epi8(x[2 * q], x[2 * q + 1]);
                }
                TR8X8_EPI16(lo);
                TR8X8_EPI16(hi);
                for (int q = 0; q < 8; q++) {
                    _mm_storeu_si128((__m128i *)(void *)(dst + (c0 + q) * rows + r0), lo[q]);
                    _mm_storeu_si128((__m128i *)(void *)(dst + (c0 + 8 + q) * rows + r0), hi[q]);
                }
            }
    }
}
#else
MC_INLINE void transpose(uint8_t *dst, const uint8_t *src, size_t rows, size_t cols,
                         unsigned bps)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            memcpy(dst + (c * rows + r) * bps, src + (r * cols + c) * bps, bps);
}
#endif

/* The pass's larger copies (whole blocks, 8 KiB for 16-bit samples; the
 * rotated rows and members, of any length) by the C library's memcpy,
 * glibc's best for the CPU. Inlined into the kernels, GCC made them
 * `rep movsq` in the AVX-512 one, the pass's hottest instructions (perf),
 * and inline moves in the AVX2 one: 2048x2048 16-bit on the Intel host of
 * the seventeenth session, the forward pass 6.4 -> 5.9 ms (AVX-512) and
 * 7.1 -> 6.1 ms (AVX2), the inverse 6.9 -> 5.4 ms and 6.0 -> 5.7 ms. Not
 * inlined, nor cloned for a constant size. The 16-byte chunks stay
 * inline: one vector move each. */
#if defined(__clang__) /* no noclone: clang makes no constant-size clones */
__attribute__((noinline))
#else
__attribute__((noinline, noclone))
#endif
static void copy_block(uint8_t *dst, const uint8_t *src, size_t len)
{
    memcpy(dst, src, len);
}

/* Stage 3 for position i of a group of G (its members copied to group),
 * with C = 16/bps, NC = 4096/C:
 *   g[c·C + j] = member (i + f[c]) mod G, sample c·C + j      (NC × C)
 *   t[j·NC + c] = g[c·C + j]                                (C × NC)
 *   dst[r·NC + x] = t[(r ⊕ e)·NC + ((x + m_r) mod NC)]
 * with m_0..m_{C−1} (distinct), e the position's row rotations and row
 * mask. */
MC_INLINE void gather_block(const struct mc__v2 *v, size_t p, size_t i, size_t G,
                            const uint8_t *group, uint8_t *dst, struct scratch *s, unsigned bps)
{
    const size_t C = C_OF(bps), NC = NC_OF(bps), R = NC * bps; /* R: bytes per row */
    const size_t B = P * bps, ib = i * B, gb = G * B;
    uint8_t *g = (uint8_t *)s->g, *t = (uint8_t *)s->t;
    const uint16_t *m = v->rot + p * MAX_ROWS;
    const unsigned e = v->order[p];

    /* The next block's chunks (each in its own line) asked for in the
     * same loop: as a second loop of its own, 0.4-0.6 ms more of the
     * 2048x2048 16-bit pass (5.9 against 5.5 ms with AVX-512, 6.2
     * against 5.5 ms with AVX2, on the Intel host of the seventeenth
     * session), for the loop and the addresses computed twice. */
    if (i + 1 < G)
        for (size_t c = 0; c < NC; c++) {
            memcpy(g + c * CHUNK_BYTES, group + chunk_at(s->off, c, ib, gb), CHUNK_BYTES);
            __builtin_prefetch(group + chunk_at(s->off, c, ib + B, gb));
        }
    else
        for (size_t c = 0; c < NC; c++)
            memcpy(g + c * CHUNK_BYTES, group + chunk_at(s->off, c, ib, gb), CHUNK_BYTES);
    transpose(t, g, NC, C, bps);
    for (size_t r = 0; r < C; r++) {
        const uint8_t *row = t + (r ^ e) * R;
        size_t x = m[r] * bps;
        copy_block(dst + r * R, row + x, R - x);
        copy_block(dst + r * R + R - x, row, x);
    }
}

/* Its inverse, from the undone block src: rows back, transpose back,
 * chunks back to their members. */
MC_INLINE void scatter_block(const struct mc__v2 *v, size_t p, size_t i, size_t G,
                             uint8_t *group, const uint8_t *src, struct scratch *s,
                             unsigned bps)
{
    const size_t C = C_OF(bps), NC = NC_OF(bps), R = NC * bps;
    const size_t ib = i * P * bps, gb = G * P * bps;
    uint8_t *g = (uint8_t *)s->g, *t = (uint8_t *)s->t;
    const uint16_t *m = v->rot + p * MAX_ROWS;
    const unsigned e = v->order[p];

    for (size_t r = 0; r < C; r++) {
        uint8_t *row = t + (r ^ e) * R;
        size_t x = m[r] * bps;
        copy_block(row + x, src + r * R, R - x);
        copy_block(row, src + r * R + R - x, x);
    }
    transpose(g, t, C, NC, bps);
    for (size_t c = 0; c < NC; c++)
        memcpy(group + chunk_at(s->off, c, ib, gb), g + c * CHUNK_BYTES, CHUNK_BYTES);
}

/* Fisher–Yates over the t samples of the short last block, orbit
 * (permutation, AUX); the inverse replays the swaps backwards. */
static void shuffle_tail(uint8_t *p, size_t t, unsigned bps, const uint8_t sm[64], bool inverse)
{
    uint16_t j[P];
    mc__logistic m;

    if (t < 2)
        return;
    mc__logistic_seed_v2(&m, sm, MC_STAGE_PERM, AUX);
    for (size_t i = t - 1; i >= 1; i--)
        j[i] = (uint16_t)pick(&m, (uint32_t)(i + 1));
    for (size_t s = 1; s < t; s++) {
        size_t i = inverse ? s : t - s, o = j[i];
        if (bps == 1) {
            uint8_t x = p[i];
            p[i] = p[o];
            p[o] = x;
        } else {
            uint16_t x, y;
            memcpy(&x, p + 2 * i, 2);
            memcpy(&y, p + 2 * o, 2);
            memcpy(p + 2 * i, &y, 2);
            memcpy(p + 2 * o, &x, 2);
        }
    }
    sodium_memzero(&m, sizeof m);
    sodium_memzero(j, sizeof j);
}

/* Stage 6 on block k's len bytes: ChaCha20 from block counter
 * k·P·bps/64 (crypto.c: OpenSSL's, linked in, or libsodium's). */
static void keystream(const struct mc__v2 *v, uint8_t *p, size_t len, size_t k)
{
    mc__chacha20_xor_ic(p, len, v->nonce8, (uint64_t)k * P * v->bps / 64, v->subkey);
}

/* Stages 4–6 on block k's len bytes at p (forward or backward). */
MC_INLINE void mix_block(const struct mc__v2 *v, uint8_t *p, size_t len, size_t k,
                         struct scratch *s)
{
    const unsigned D = 8 * v->bps;
    size_t half = len / 8 / 2;
    /* Stage 5 in stage 4's loop for every full block (henon_masks makes
     * its keystream, henon_pairs XORs it in); apart for a short one. */
    uint8_t *ks = v->stages >= MC_STAGES_LOGISTIC && len % 128 == 0 ? s->ks : NULL;
    bool apart = v->stages >= MC_STAGES_LOGISTIC && ks == NULL;

    if (v->inverse && v->stages >= MC_STAGES_ALL)
        keystream(v, p, len, k);
    if (v->inverse && apart)
        logistic_block(p, len, v->sm, k);
    if (v->stages >= MC_STAGES_HENON) {
        if (v->inverse) /* nothing left over in a full block */
            henon_leftover(p, len, D, v->sm, k, true);
        henon_masks(s->h, half, ks, v->sm, k);
        if (D == 8)
            henon_pairs(p, half, s->h, 8, v->inverse, ks);
        else
            henon_pairs(p, half, s->h, 16, v->inverse, ks);
        if (!v->inverse)
            henon_leftover(p, len, D, v->sm, k, false);
    }
    if (!v->inverse && apart)
        logistic_block(p, len, v->sm, k);
    if (!v->inverse && v->stages >= MC_STAGES_ALL)
        keystream(v, p, len, k);
}

/* f for group g of G members: f[0] = 0, f[c+1] = f[c] + d (mod G) with
 * d in [1, G−1] from logistic orbit (permutation, 2^41 + g). Chunks side
 * by side come from different members, and since the steps d vary, from
 * about NC·G different pairs of members, not G: with the same step
 * everywhere, the covariance of a few dozen pairs of image bands showed
 * as a correlation of neighbours of up to 0.04 in the scrambled CT.
 * Kept as off[c] = f[c]·B + c·CHUNK_BYTES, chunk c's byte offset in
 * member f[c] of a group whose members are B bytes (chunk_at). */
static void member_offsets(uint32_t *off, size_t nc, size_t G, size_t B, const uint8_t sm[64],
                           size_t g)
{
    mc__logistic m;
    size_t f = 0;

    off[0] = 0;
    mc__logistic_seed_v2(&m, sm, MC_STAGE_PERM, ((uint64_t)1 << 41) + g);
    for (size_t c = 1; c < nc; c++) {
        size_t d = G > 1 ? 1 + pick(&m, (uint32_t)(G - 1)) : 0;
        f = f + d < G ? f + d : f + d - G;
        off[c] = (uint32_t)(f * B + c * CHUNK_BYTES);
    }
    sodium_memzero(&m, sizeof m);
}

/* Group gi: its members (positions GROUP·gi ..) copied aside, each
 * block rebuilt from them and written to its slot π[p] (forward); or each
 * slot undone into the copy, which then goes back (backward). The slots
 * are the members' own, so once the members are aside (forward), or
 * until they come back (backward), a block is built and mixed where it
 * belongs: no copy through a scratch block (8 MiB fewer bytes moved for
 * a 2048x2048 16-bit image, the pass 0.1 ms shorter). */
MC_INLINE void one_group(const struct mc__v2 *v, size_t gi, struct scratch *s, unsigned bps)
{
    const size_t first = gi * GROUP, G = v->nf - first < GROUP ? v->nf - first : GROUP;
    const size_t B = P * bps;

    member_offsets(s->off, NC_OF(bps), G, B, v->sm, gi);
    if (!v->inverse) {
        for (size_t j = 0; j < G; j++) { /* member j, rotated left by z */
            const uint8_t *src = v->buf + v->pi[first + j] * B;
            size_t z = v->shift[first + j] * bps;
            copy_block(s->group + j * B, src + z, B - z);
            copy_block(s->group + j * B + B - z, src, z);
        }
        for (size_t i = 0; i < G; i++) {
            size_t k = v->pi[first + i];
            gather_block(v, first + i, i, G, s->group, v->buf + k * B, s, bps);
            mix_block(v, v->buf + k * B, B, k, s);
        }
    } else {
        for (size_t i = 0; i < G; i++) {
            size_t k = v->pi[first + i];
            mix_block(v, v->buf + k * B, B, k, s);
            scatter_block(v, first + i, i, G, s->group, v->buf + k * B, s, bps);
        }
        for (size_t j = 0; j < G; j++) { /* rotated back right by z */
            uint8_t *dst = v->buf + v->pi[first + j] * B;
            size_t z = v->shift[first + j] * bps;
            copy_block(dst + z, s->group + j * B, B - z);
            copy_block(dst, s->group + j * B + B - z, z);
        }
    }
}

/* The short last block (slot nf): Fisher–Yates, then stages 4–6. */
static void tail_block(const struct mc__v2 *v, struct scratch *s)
{
    const size_t len = (v->n - v->nf * P) * v->bps;
    uint8_t *p = v->buf + v->nf * P * v->bps;

    if (!v->inverse)
        shuffle_tail(p, len / v->bps, v->bps, v->sm, false);
    mix_block(v, p, len, v->nf, s);
    if (v->inverse)
        shuffle_tail(p, len / v->bps, v->bps, v->sm, true);
}

/* Work items [begin, end): groups, then the tail block if any. The
 * kernel three times: for any x86-64, for AVX2 and for AVX-512. Same
 * source, same IEEE operations in the same order; only the instructions
 * differ. */
MC_INLINE void items(const struct mc__v2 *v, size_t begin, size_t end, struct scratch *s)
{
    for (size_t gi = begin; gi < end; gi++) {
        if (gi == v->ng)
            tail_block(v, s);
        else if (v->bps == 1)
            one_group(v, gi, s, 1);
        else
            one_group(v, gi, s, 2);
    }
}

static void items_generic(const struct mc__v2 *v, size_t begin, size_t end, struct scratch *s)
{
    items(v, begin, end, s);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_CLONE 1
/* Whether AVX2 may be used (the CPU has it and the OS saves its state):
 * from glibc's table (<sys/platform/x86.h>, glibc 2.33), filled by the
 * dynamic loader at start-up anyway. __builtin_cpu_supports brings in
 * libgcc's own detector, a constructor that runs CPUID about twelve times
 * in every process: 80 us on the VM of docs/PERFORMANCE.md, where each
 * CPUID is a trap to the hypervisor (6.5 us), for every command. */
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define AVX2_USABLE() CPU_FEATURE_ACTIVE(AVX2)
#endif
#endif
#ifndef AVX2_USABLE
#define AVX2_USABLE() __builtin_cpu_supports("avx2")
#endif
__attribute__((target("avx2"))) static void items_avx2(const struct mc__v2 *v, size_t begin,
                                                       size_t end, struct scratch *s)
{
    items(v, begin, end, s);
}

/* The same source once more for AVX-512 (F, VL, BW, DQ): its 32 vector
 * registers and two-source permutes take the scrambling's transposes and
 * row moves from 3.6 to 2.95 ms for a 2048x2048 16-bit image on the Intel
 * host of the seventeenth session, Henon and the logistic map 0.1 ms each
 * (docs/PERFORMANCE.md). The same IEEE operations in the same order, no
 * FMA (-ffp-contract=off): the same bytes, which test_v2_stages checks
 * against the other two kernels. */
#ifdef CPU_FEATURE_ACTIVE
/* x86_cpu_active() of <sys/platform/x86.h>, with the bit shifted as
 * unsigned: glibc's shifts an int 1, which for AVX512VL, bit 31, is
 * undefined behaviour (UBSan stops the tests there). */
static inline bool feature_active(unsigned index)
{
    const unsigned per_leaf = 8 * sizeof(unsigned) * 4, per_reg = 8 * sizeof(unsigned);
    const struct cpuid_feature *leaf = __x86_get_cpuid_feature_leaf(index / per_leaf);
    unsigned reg = index & (per_leaf - 1);

    return (leaf->active_array[reg / per_reg] & (1u << (reg & (per_reg - 1)))) != 0;
}
#define AVX512_USABLE()                                                                       \
    (feature_active(x86_cpu_AVX512F) && feature_active(x86_cpu_AVX512VL) &&                   \
     feature_active(x86_cpu_AVX512BW) && feature_active(x86_cpu_AVX512DQ))
#else
#define AVX512_USABLE()                                                                       \
    (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&               \
     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
#endif
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void
items_avx512(const struct mc__v2 *v, size_t begin, size_t end, struct scratch *s)
{
    items(v, begin, end, s);
}
#endif

bool mc__v2_generic_only; /* tests: the portable kernel */
bool mc__v2_no_avx512;    /* tests: the AVX2 kernel where AVX-512 would run */
_Atomic unsigned mc__v2_kernels_ran; /* tests: which ran (a few times a pass) */

bool mc__v2_avx2_usable(void)
{
#ifdef HAVE_AVX2_CLONE
    return AVX2_USABLE();
#else
    return false;
#endif
}

static void items_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    struct mc__v2 *v = arg;
    struct scratch *s = v->scratch[worker]; /* worker < threads = n_scratch (below) */
    unsigned ran = MC__V2_KERNEL_GENERIC;

#ifdef HAVE_AVX2_CLONE
    if (!mc__v2_generic_only && !mc__v2_no_avx512 && AVX512_USABLE()) {
        items_avx512(v, begin, end, s);
        ran = MC__V2_KERNEL_AVX512;
    } else if (!mc__v2_generic_only && mc__v2_avx2_usable()) {
        items_avx2(v, begin, end, s);
        ran = MC__V2_KERNEL_AVX2;
    } else
#endif
        items_generic(v, begin, end, s);
    atomic_fetch_or_explicit(&mc__v2_kernels_ran, ran, memory_order_relaxed);
    /* The kernels' frames held plain samples (the transposes spill 16
     * vectors of 16 bytes): mc__parallel clears them after the pass. */
}

/* ------------------------------------------------------------------ */
/* The keyed block order and row moves, the two directions.            */

/* π by Fisher–Yates on orbit (block order, 0); then each position p has
 * its own orbit (block order, 1 + p) for its C row rotations, distinct (a
 * partial Fisher–Yates of 0..NC−1: two rows rotated alike would put the
 * same chunk in the same column, and a chunk's samples are neighbours in
 * the image), then one more output for its row mask (bits 0–3) and its
 * block rotation (bits 4–15). */
static const uint16_t IDENTITY[MAX_NC] = {
#define I4(n) n, n + 1, n + 2, n + 3
#define I16(n) I4(n), I4(n + 4), I4(n + 8), I4(n + 12)
#define I64(n) I16(n), I16(n + 16), I16(n + 32), I16(n + 48)
    I64(0), I64(64), I64(128), I64(192), I64(256), I64(320), I64(384), I64(448)
#undef I64
#undef I16
#undef I4
};

static void block_keys(struct mc__v2 *v)
{
    const size_t C = C_OF(v->bps), NC = NC_OF(v->bps);
    uint16_t t[MAX_NC];
    mc__logistic m;

    for (size_t k = 0; k < v->nf; k++)
        v->pi[k] = (uint32_t)k;
    mc__logistic_seed_v2(&m, v->sm, MC_STAGE_PERM_BLOCKS, 0);
    for (size_t k = v->nf - 1; k >= 1; k--) {
        size_t j = pick(&m, (uint32_t)(k + 1));
        uint32_t x = v->pi[k];
        v->pi[k] = v->pi[j];
        v->pi[j] = x;
    }
    for (size_t p = 0; p < v->nf; p++) {
        uint16_t *rot = v->rot + p * MAX_ROWS;
        uint32_t u;
        memcpy(t, IDENTITY, NC * sizeof *t);
        mc__logistic_seed_v2(&m, v->sm, MC_STAGE_PERM_BLOCKS, 1 + (uint64_t)p);
        for (size_t r = 0; r < C; r++) {
            size_t j = r + pick(&m, (uint32_t)(NC - r));
            uint16_t x = t[r];
            t[r] = t[j];
            t[j] = x;
            rot[r] = t[r];
        }
        u = mc__low32(mc__logistic_next(&m));
        v->order[p] = (uint8_t)(u & (C - 1));
        v->shift[p] = (uint16_t)((u >> 4) & (P - 1));
    }
    sodium_memzero(&m, sizeof m);
    sodium_memzero(t, sizeof t);
}

static void scratch_free(struct scratch *s, size_t group_bytes)
{
    if (s == NULL)
        return;
    if (s->group != NULL) {
        sodium_memzero(s->group, group_bytes); /* plain or scrambled samples */
        mc__free_huge(s->group);
    }
    sodium_memzero(s, sizeof *s);
    free(s);
}

static struct scratch *scratch_new(size_t group_bytes)
{
    /* C11: the size must be a multiple of the alignment. */
    struct scratch *s = aligned_alloc(64, (sizeof *s + 63) / 64 * 64);

    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof *s);
    if (group_bytes > 0 && (s->group = mc__alloc_huge(group_bytes)) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

mc_err mc__v2_run(uint8_t *buf, size_t n, unsigned bps, const uint8_t sm[64],
                  const uint8_t k_stream[32], const uint8_t tag[MC_TAG_BYTES], int stages,
                  bool inverse, unsigned threads)
{
    struct scratch *scratch[MC_MAX_THREADS] = {NULL};
    struct mc__v2 *v;
    size_t nf = n / P, n_items, group_bytes;
    mc_err err = MC_ENOMEM;

    if (n == 0)
        return MC_OK;
    if ((v = calloc(1, sizeof *v)) == NULL)
        return MC_ENOMEM;
    v->sm = sm;
    v->n = n;
    v->nf = nf;
    v->ng = (nf + GROUP - 1) / GROUP;
    v->bps = bps;
    v->stages = stages;
    v->inverse = inverse;
    v->buf = buf;
    n_items = v->ng + (n % P != 0);
    group_bytes = (nf < GROUP ? nf : GROUP) * P * bps;
    if (nf > 0 && ((v->pi = malloc(nf * sizeof *v->pi)) == NULL ||
                   (v->rot = malloc(nf * MAX_ROWS * sizeof *v->rot)) == NULL ||
                   (v->order = malloc(nf)) == NULL ||
                   (v->shift = malloc(nf * sizeof *v->shift)) == NULL))
        goto out;
    if (stages >= MC_STAGES_ALL) {
        crypto_core_hchacha20(v->subkey, tag, k_stream, NULL);
        memcpy(v->nonce8, tag + 16, 8);
    }
    /* Everything is allocated before the first sample changes, so a
     * failure leaves the image as it was. mc__parallel runs at most
     * min(threads, MC_MAX_THREADS) workers; each takes its own scratch. */
    if (threads < 1)
        threads = 1;
    v->n_scratch = threads < MC_MAX_THREADS ? threads : MC_MAX_THREADS;
    if (v->n_scratch > n_items)
        v->n_scratch = (unsigned)n_items;
    for (unsigned i = 0; i < v->n_scratch; i++)
        if ((scratch[i] = scratch_new(group_bytes)) == NULL)
            goto out;
    v->scratch = scratch;
    if (nf > 0)
        block_keys(v);
    mc__parallel(v->n_scratch, n_items, 1, items_range, v);
    err = MC_OK;
out:
    for (unsigned i = 0; i < MC_MAX_THREADS; i++)
        scratch_free(scratch[i], group_bytes);
    if (v->pi != NULL)
        sodium_memzero(v->pi, nf * sizeof *v->pi);
    if (v->rot != NULL)
        sodium_memzero(v->rot, nf * MAX_ROWS * sizeof *v->rot);
    if (v->order != NULL)
        sodium_memzero(v->order, nf);
    if (v->shift != NULL)
        sodium_memzero(v->shift, nf * sizeof *v->shift);
    free(v->pi);
    free(v->rot);
    free(v->order);
    free(v->shift);
    sodium_memzero(v, sizeof *v);
    free(v);
    return err;
}
