/*
 * The chaotic maps of format v1 and how each block's orbit is seeded.
 *
 * Every orbit starts from Philox4x32-10 keyed by the seed material SM
 * (docs/FORMAT.md §Seeding): a counter-based generator computes block b's
 * seed without blocks 0..b-1, so blocks are independent (parallel, SIMD
 * lanes) and no orbit runs long enough to fall into the short cycles that
 * finite-precision chaotic orbits end in.
 *
 * Bit-exactness: only IEEE-754 binary64 +, -, * in a fixed order; the
 * build uses -ffp-contract=off so no FMA changes a rounding.
 */
#include "internal.h"

#include <sodium.h>

#include <string.h>

/* SM as 16 little-endian words w[0..15]. Stage s uses key (w[2s], w[2s+1])
 * and counter (block_lo, block_hi, w[8+2s], w[9+2s]). */
void mc__stage_philox(uint32_t out[4], const uint8_t sm[64], int stage, uint64_t block)
{
    uint32_t key[2], ctr[4];

    key[0] = mc__le32(sm + 8 * stage);
    key[1] = mc__le32(sm + 8 * stage + 4);
    ctr[0] = (uint32_t)block;
    ctr[1] = (uint32_t)(block >> 32);
    ctr[2] = mc__le32(sm + 32 + 8 * stage);
    ctr[3] = mc__le32(sm + 32 + 8 * stage + 4);
    mc__philox(out, ctr, key);
}

/* Logistic map x' = r·x·(1−x), r in [r0, r0 + span), near 4: the chaotic
 * end of the parameter range (May 1976). x0 in [0.001, 0.999) avoids the
 * fixed point 0 and its preimage 1. */
static void logistic_seed(mc__logistic *m, const uint8_t sm[64], int stage, uint64_t block,
                          double r0, double span)
{
    uint32_t w[4];
    unsigned i;

    mc__stage_philox(w, sm, stage, block);
    m->x = 0.001 + 0.998 * mc__unit(w[0], w[1]);
    m->r = r0 + span * ((double)w[2] * 0x1p-32);
    for (i = 0; i < MC_TRANSIENT; i++)
        (void)mc__logistic_next(m);
    sodium_memzero(w, sizeof w);
}

/* Format v1: r in [3.99, 4). */
void mc__logistic_seed(mc__logistic *m, const uint8_t sm[64], int stage, uint64_t block)
{
    logistic_seed(m, sm, stage, block, 3.99, 0.01);
}

/* Format v2: r in [3.9999, 4). The logistic map has periodic windows
 * throughout [3.99, 4) (r = 3.9903… is inside a period-10 window): about
 * 0.5 % of v1's r values send an orbit into an attracting cycle within
 * 1000 steps. Within 10^-4 of 4 the windows are too narrow to matter
 * (none found in 10^5 random r over 5000 steps but for three
 * near-coincidences). */
void mc__logistic_seed_v2(mc__logistic *m, const uint8_t sm[64], int stage, uint64_t block)
{
    logistic_seed(m, sm, stage, block, 3.9999, 0.0001);
}

/* Hénon map (Hénon 1976) with the classic a = 1.4, b = 0.3:
 * x' = 1 − a·x² + y, y' = b·x. Orbits start in a small box around the
 * origin, inside the attractor's basin. */
#define HENON_A 1.4
#define HENON_B 0.3

void mc__henon_seed(mc__henon *m, const uint8_t sm[64], uint64_t block)
{
    uint32_t w[4];
    unsigned i;

    mc__stage_philox(w, sm, MC_STAGE_HENON, block);
    m->x = (mc__unit(w[0], w[1]) - 0.5) * 0.2;  /* [-0.1, 0.1) */
    m->y = (mc__unit(w[2], w[3]) - 0.5) * 0.06; /* [-0.03, 0.03) */
    for (i = 0; i < MC_TRANSIENT; i++)
        (void)mc__henon_next(m);
}

double mc__henon_next(mc__henon *m)
{
    double x = 1.0 - HENON_A * m->x * m->x + m->y;
    m->y = HENON_B * m->x;
    /* Defined escape hatch: finite-precision orbits never leave the
     * attractor's neighbourhood in practice (tests count this), but the
     * format says what happens if one did, so every decoder agrees. */
    if (!(x > -2.0 && x < 2.0)) {
        x = 0.1;
        m->y = 0.0;
    }
    m->x = x;
    return x;
}
