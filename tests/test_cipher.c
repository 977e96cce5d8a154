/*
 * Formats v3, v2 and v1: golden vectors, stage inverses, round trips on every PNG and
 * PNM in ../shared/testdata and on generated edge cases, and every way a
 * cipher image can be wrong (wrong key, modified bytes, truncation, lying
 * header fields).
 */
#define _GNU_SOURCE /* cpu_set_t: test_thread_create */
#include "helpers.h"
#include "png_chunk.h"
#include "stack_search.h"

#include <spng.h>

#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

static mc_image *make_image(uint32_t w, uint32_t h, uint8_t c, uint8_t bits, uint32_t seed)
{
    mc_image *img = NULL;
    assert_int_equal(mc__image_alloc(ctx, w, h, c, bits, &img), MC_OK);
    fill_pattern(img, seed);
    return img;
}

/* ------------------------------------------------------------------ */
/* Golden vectors: key 00..1f, nonce a0..af, a generated image with the
 * side-data record NAME "golden.png". SHA-256 of the samples after each
 * stage (little-endian sample bytes) and of the whole mcRY chunk. Any
 * change to a stage, the seeding, the KDF or the header changes them: a
 * deliberate change bumps the format version. */
struct golden {
    uint32_t w, h;
    uint8_t c, bits;
    const char *stage[4]; /* after perm, + Henon, + logistic, + XChaCha20 */
    const char *chunk;
};

static const struct golden GOLDEN_V1[] = {
#include "golden_v1.inc"
};

/* Format v2: also a block exactly (4096 samples), two groups of blocks
 * exactly (130 blocks), and two groups with a short last block. The last
 * two (in every version): a full block and a short one of 2 samples
 * (1366x3), of 1 sample (241x17), where a Fisher–Yates of 2 samples, a
 * 1-byte Hénon tail (v1) and a logistic keystream of 1 or 2 bytes (v2)
 * are done or not (mutation testing, fourth round). */
static const struct golden GOLDEN_V2[] = {
#include "golden_v2.inc"
};

/* Format v3 (v2's stages, the keyed hash over chunk digests): the same
 * sizes; 700x777 8-bit is 9 chunks of 64 KiB, 1024x520 16-bit 17 chunks.
 * Every vector is checked through libsodium and through OpenSSL. */
static const struct golden GOLDEN_V3[] = {
#include "golden_v3.inc"
};

static void golden_one(const struct golden *g, int version, bool print, bool *all_ok)
{
    uint8_t nonce[MC_NONCE_BYTES];
    char hex[65];
    mc_key key;
    bool ok = true;

    test_key(&key, 0);
    for (int i = 0; i < MC_NONCE_BYTES; i++)
        nonce[i] = (uint8_t)(0xa0 + i);
    if (print)
        printf("    { %u, %u, %u, %u, {", g->w, g->h, g->c, g->bits);
    for (int s = 1; s <= MC_STAGES_ALL; s++) {
        mc_image *img = make_image(g->w, g->h, g->c, g->bits, 7);
        mc__header hdr;
        assert_int_equal(mc__side_add(img, MC_SIDE_NAME, "golden.png", 10), MC_OK);
        assert_int_equal(mc__encrypt_inplace_v(&key, img, nonce, version, s, &hdr, 1), MC_OK);
        sha256_hex(hex, img->samples, img->samples_len);
        if (print)
            printf("%s\"%s\"", s > 1 ? ",\n        " : "\n        ", hex);
        ok &= strcmp(hex, g->stage[s - 1]) == 0;
        if (s == MC_STAGES_ALL) {
            size_t n = MC_CHUNK_FIXED_BYTES + img->side_len;
            uint8_t *chunk = malloc(n);
            mc__header_pack(chunk, &hdr);
            memcpy(chunk + MC_CHUNK_FIXED_BYTES, img->side, img->side_len);
            sha256_hex(hex, chunk, n);
            if (print)
                printf("},\n      \"%s\" },\n", hex);
            ok &= strcmp(hex, g->chunk) == 0;
            free(chunk);
        }
        mc_image_free(img);
    }
    *all_ok &= ok;
}

static void test_golden_vectors(void **state)
{
    static const bool backends[] = {true, false}; /* libsodium, OpenSSL */
    bool ok = true;
    (void)state;
    /* Prints the tables in golden_v*.inc's syntax (on the first pass),
     * for review when a deliberate format change needs new values. */
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        mc__sodium_only = backends[b];
        if (b == 0)
            printf("  format v3\n");
        for (size_t i = 0; i < sizeof GOLDEN_V3 / sizeof GOLDEN_V3[0]; i++)
            golden_one(&GOLDEN_V3[i], 3, b == 0, &ok);
        if (b == 0)
            printf("  format v2\n");
        for (size_t i = 0; i < sizeof GOLDEN_V2 / sizeof GOLDEN_V2[0]; i++)
            golden_one(&GOLDEN_V2[i], 2, b == 0, &ok);
        if (b == 0)
            printf("  format v1\n");
        for (size_t i = 0; i < sizeof GOLDEN_V1 / sizeof GOLDEN_V1[0]; i++)
            golden_one(&GOLDEN_V1[i], 1, b == 0, &ok);
    }
    mc__sodium_only = false;
    assert_true(ok);
}

/* ------------------------------------------------------------------ */
/* Each stage's inverse undoes it, for lengths around every block edge. */

static void test_stage_inverses(void **state)
{
    static const size_t lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 4095, 4096, 4097, 8191,
                                  8192, 8193, 12289, 3 * 4096 * 2 + 5, 70000};
    uint8_t sm[64];
    (void)state;
    for (int i = 0; i < 64; i++)
        sm[i] = (uint8_t)(i * 37 + 11);
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        size_t len = lens[t];
        uint8_t *a = malloc(len), *b = malloc(len);
        randombytes_buf(a, len);
        memcpy(b, a, len);
        for (unsigned bps = 1; bps <= 2; bps++) {
            size_t n = len / bps;
            if (n == 0)
                continue;
            assert_int_equal(mc__perm_forward(b, n, bps, sm, 1), MC_OK);
            if (n > 16)
                assert_memory_not_equal(a, b, n * bps);
            assert_int_equal(mc__perm_inverse(b, n, bps, sm, 1), MC_OK);
            assert_memory_equal(a, b, len);
        }
        for (unsigned bps = 1; bps <= 2; bps++) {
            size_t whole = len / bps * bps;
            mc__henon_forward(b, whole, bps, sm, 1);
            if (whole >= 8)
                assert_memory_not_equal(a, b, whole);
            mc__henon_inverse(b, whole, bps, sm, 1);
            assert_memory_equal(a, b, len);
        }
        mc__logistic_xor(b, len, sm, 1);
        assert_memory_not_equal(a, b, len);
        mc__logistic_xor(b, len, sm, 1);
        assert_memory_equal(a, b, len);
        free(a);
        free(b);
    }
}

/* The permutation only moves samples: the histogram is unchanged. */
static void test_perm_is_permutation(void **state)
{
    const size_t n = 3 * 4096 + 123;
    uint16_t *s = malloc(n * 2);
    uint8_t sm[64] = {1, 2, 3};
    uint8_t *seen = calloc(n, 1);
    (void)state;
    for (size_t i = 0; i < n; i++)
        s[i] = (uint16_t)i;
    assert_int_equal(mc__perm_forward((uint8_t *)s, n, 2, sm, 1), MC_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(s[i] < n);
        assert_int_equal(seen[s[i]], 0);
        seen[s[i]] = 1;
    }
    free(s);
    free(seen);
}

/* The v1 stages leave every byte past the buffer they are given as it
 * was, and undo: lengths whose block count is a multiple of the 8 blocks
 * done at once, the last of them short (a 1-byte Hénon tail in the third),
 * so that the short block must not be done as a full one. Mutation
 * testing, fourth round (stage_perm.c, stage_henon.c, stage_xor.c: the
 * 8-block path taken for the short last block). */
static void test_stages_stay_in_buffer(void **state)
{
    static const size_t lens[] = {8 * 4096 - 24, 16 * 4096 - 48, 8 * 4096 - 7};
    const size_t guard = 16 * 4096;
    uint8_t sm[64];
    (void)state;
    for (int i = 0; i < 64; i++)
        sm[i] = (uint8_t)(i * 29 + 3);
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++)
        for (unsigned bps = 1; bps <= 2; bps++) {
            size_t n = lens[t] / bps, whole = n * bps;
            uint8_t *a = malloc(whole + guard), *b = malloc(whole + guard);
            assert_non_null(a);
            assert_non_null(b);
            for (size_t i = 0; i < whole + guard; i++)
                a[i] = (uint8_t)(i * 131 + 7);
            memcpy(b, a, whole + guard);
            assert_int_equal(mc__perm_forward(b, n, bps, sm, 1), MC_OK);
            assert_memory_equal(b + whole, a + whole, guard);
            mc__henon_forward(b, whole, bps, sm, 1);
            assert_memory_equal(b + whole, a + whole, guard);
            mc__logistic_xor(b, whole, sm, 1);
            assert_memory_equal(b + whole, a + whole, guard);
            assert_memory_not_equal(a, b, whole);
            mc__logistic_xor(b, whole, sm, 1);
            mc__henon_inverse(b, whole, bps, sm, 1);
            assert_int_equal(mc__perm_inverse(b, n, bps, sm, 1), MC_OK);
            assert_memory_equal(a, b, whole + guard);
            free(a);
            free(b);
        }
}

/* Format v2: every stage count undoes, the portable kernel (and
 * libsodium's ChaCha20) gives the AVX2 kernel's (and OpenSSL's) bytes,
 * and the scrambling only moves samples; for sample counts around every
 * block edge, the group edge (128 blocks) and an odd tail. */
static void test_v2_stages(void **state)
{
    static const size_t counts[] = {1, 2, 3, 7, 17, 4095, 4096, 4097, 8192, 12289,
                                    127 * 4096 + 1, 128 * 4096, 128 * 4096 + 4095,
                                    130 * 4096, 257 * 4096 + 33};
    uint8_t sm[64], ks[32], tag[MC_TAG_BYTES];
    (void)state;
    randombytes_buf(sm, sizeof sm);
    randombytes_buf(ks, sizeof ks);
    randombytes_buf(tag, sizeof tag);
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        for (unsigned bps = 1; bps <= 2; bps++) {
            size_t n = counts[t], len = n * bps;
            uint8_t *plain = malloc(len), *a = malloc(len), *b = malloc(len);
            assert_non_null(plain);
            assert_non_null(a);
            assert_non_null(b);
            for (size_t i = 0; i < len; i++) /* smooth, like an image */
                plain[i] = (uint8_t)(i / 64);
            for (int s = MC_STAGES_PERM; s <= MC_STAGES_ALL; s++) {
                unsigned ran, ran_generic, ran_no512;
                memcpy(a, plain, len);
                memcpy(b, plain, len);
                mc__v2_generic_only = false;
                mc__v2_kernels_ran = 0;
                assert_int_equal(mc__v2_run(a, n, bps, sm, ks, tag, s, false, 1), MC_OK);
                ran = mc__v2_kernels_ran;
                mc__v2_generic_only = mc__sodium_only = true;
                mc__v2_kernels_ran = 0;
                assert_int_equal(mc__v2_run(b, n, bps, sm, ks, tag, s, false, 3), MC_OK);
                ran_generic = mc__v2_kernels_ran;
                mc__v2_generic_only = mc__sodium_only = false;
                assert_memory_equal(a, b, len);
                /* the AVX2 kernel where the AVX-512 one ran (the same
                 * where the CPU has no AVX-512) */
                memcpy(b, plain, len);
                mc__v2_no_avx512 = true;
                mc__v2_kernels_ran = 0;
                assert_int_equal(mc__v2_run(b, n, bps, sm, ks, tag, s, false, 2), MC_OK);
                ran_no512 = mc__v2_kernels_ran;
                mc__v2_no_avx512 = false;
                assert_memory_equal(a, b, len);
                /* and they were the kernels named: one each, the portable
                 * one where asked, never AVX-512 where it was not to run;
                 * where AVX2 may run, not the portable one by default
                 * (mutation testing, forty-sixth round: the hooks ignored
                 * went unseen, the kernels giving the same bytes) */
                assert_int_equal(ran_generic, MC__V2_KERNEL_GENERIC);
                assert_true(ran == MC__V2_KERNEL_GENERIC || ran == MC__V2_KERNEL_AVX2 ||
                            ran == MC__V2_KERNEL_AVX512);
                assert_true(ran_no512 == MC__V2_KERNEL_GENERIC ||
                            ran_no512 == MC__V2_KERNEL_AVX2);
                if (ran != MC__V2_KERNEL_AVX512)
                    assert_int_equal(ran_no512, ran);
                if (mc__v2_avx2_usable()) {
                    assert_int_not_equal(ran, MC__V2_KERNEL_GENERIC);
                    assert_int_equal(ran_no512, MC__V2_KERNEL_AVX2);
                }
                /* the Hénon masks made again with the escape rule checked
                 * at every step: the same (no lane leaves (-2, 2)) */
                memcpy(b, plain, len);
                mc__v2_henon_checked = true;
                assert_int_equal(mc__v2_run(b, n, bps, sm, ks, tag, s, false, 1), MC_OK);
                mc__v2_henon_checked = false;
                assert_memory_equal(a, b, len);
                if (n >= 64)
                    assert_memory_not_equal(a, plain, len);
                if (s == MC_STAGES_PERM) { /* a permutation: same histogram */
                    uint32_t ha[256] = {0}, hb[256] = {0};
                    for (size_t i = 0; i < len; i++) {
                        ha[plain[i]]++;
                        hb[a[i]]++;
                    }
                    if (bps == 1)
                        assert_memory_equal(ha, hb, sizeof ha);
                }
                assert_int_equal(mc__v2_run(a, n, bps, sm, ks, tag, s, true, 2), MC_OK);
                assert_memory_equal(a, plain, len);
            }
            free(plain);
            free(a);
            free(b);
        }
    }
}

/* Format v2's stage 5 is the keystream FORMAT.md §5 defines, in full
 * blocks (made in stage 4's loop) and in the short last one (made apart):
 * word i (4 bytes, little-endian) of block k is the low 32 bits of step
 * i / 16 of logistic orbit 16k + i mod 16, an orbit as
 * mc__logistic_seed_v2 starts it. Stage 5 is the last of the stages up
 * to it, an XOR: the pass with it and the pass without it differ by the
 * keystream. Short blocks of 63 and 62 bytes take the 16th orbit's word
 * in part (3 and 2 bytes). Mutation testing, forty-sixth round
 * (stage_v2.c: logistic_block's short block without its 16th word). */
static void test_v2_logistic_keystream(void **state)
{
    static const struct {
        size_t n;
        unsigned bps;
    } cases[] = {{4096 + 63, 1}, {2 * 4096 + 31, 2}, {60, 1}, {4096, 2}};
    uint8_t sm[64], ks[32], tag[MC_TAG_BYTES];
    (void)state;
    for (int i = 0; i < 64; i++)
        sm[i] = (uint8_t)(i * 53 + 5);
    memset(ks, 7, sizeof ks);
    memset(tag, 9, sizeof tag);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const size_t n = cases[t].n, len = n * cases[t].bps, block = 4096 * cases[t].bps;
        uint8_t *a = malloc(len), *b = malloc(len);
        assert_non_null(a);
        assert_non_null(b);
        for (size_t i = 0; i < len; i++)
            a[i] = b[i] = (uint8_t)(i * 13);
        assert_int_equal(
            mc__v2_run(a, n, cases[t].bps, sm, ks, tag, MC_STAGES_HENON, false, 1), MC_OK);
        assert_int_equal(
            mc__v2_run(b, n, cases[t].bps, sm, ks, tag, MC_STAGES_LOGISTIC, false, 1), MC_OK);
        for (size_t k = 0; k * block < len; k++) {
            const size_t at = k * block, bytes = len - at < block ? len - at : block;
            mc__logistic m[16];
            for (unsigned l = 0; l < 16; l++)
                mc__logistic_seed_v2(&m[l], sm, MC_STAGE_LOGISTIC, 16 * (uint64_t)k + l);
            for (size_t i = 0; 4 * i < bytes; i++) {
                uint32_t u = mc__low32(mc__logistic_next(&m[i % 16]));
                for (size_t j = 4 * i; j < 4 * i + 4 && j < bytes; j++)
                    if ((uint8_t)(a[at + j] ^ b[at + j]) != (uint8_t)(u >> (8 * (j % 4))))
                        fail_msg("%zu samples of %u bytes: byte %zu of block %zu not the "
                                 "keystream's", n, cases[t].bps, j, k);
            }
        }
        free(a);
        free(b);
    }
}

/* mc__v2_run's workers: a thread count of 0 runs as 1, and there are no
 * more workers, each with its group copy (1 MiB of 16-bit samples), than
 * work items: an image of one group takes one copy however many threads
 * are asked for, and gives the same bytes. Mutation testing, forty-sixth
 * round (stage_v2.c: 0 threads not raised to 1, no scratch for the one
 * worker; the workers not capped at the work items, a group copy each). */
static void test_v2_workers(void **state)
{
    const size_t n = 128 * 4096, len = n * 2; /* one group of 16-bit blocks */
    static const unsigned threads[] = {0, 8};
    uint8_t sm[64] = {3}, ks[32] = {4}, tag[MC_TAG_BYTES] = {5};
    uint8_t *a = malloc(len), *b = malloc(len);
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        a[i] = (uint8_t)(i / 64);
    memcpy(b, a, len);
    assert_int_equal(mc__v2_run(a, n, 2, sm, ks, tag, MC_STAGES_ALL, false, 1), MC_OK);
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        uint8_t *c = malloc(len);
        assert_non_null(c);
        memcpy(c, b, len);
        mc__huge_cache_drop();
        assert_int_equal(mc__v2_run(c, n, 2, sm, ks, tag, MC_STAGES_ALL, false, threads[t]),
                         MC_OK);
        assert_memory_equal(c, a, len);
        /* the one group copy, kept by src/mem.c */
        assert_int_equal(mc__huge_cache_count(false) + mc__huge_cache_count(true), 1);
        free(c);
    }
    mc__huge_cache_drop();
    free(a);
    free(b);
}

/* A v2 block is built from 128 chunks of 128 different blocks: after the
 * scrambling alone, horizontally neighbouring samples of a smooth image
 * are no longer neighbours. The image is a ramp (value = row), so a pair
 * from the same place would differ by at most 1. */
static void test_v2_scrambling_spreads(void **state)
{
    const size_t w = 1024, h = 1024, n = w * h;
    uint16_t *s = malloc(n * 2);
    uint8_t sm[64] = {9, 8, 7}, ks[32] = {0}, tag[MC_TAG_BYTES] = {0};
    size_t close = 0;
    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (uint16_t)(i / w);
    assert_int_equal(mc__v2_run((uint8_t *)s, n, 2, sm, ks, tag, MC_STAGES_PERM, false, 1),
                     MC_OK);
    for (size_t i = 0; i + 1 < n; i++)
        close += (size_t)(abs((int)s[i] - (int)s[i + 1]) <= 1);
    /* Random pairs of rows are within 1 of each other with probability
     * about 3/1024; chunk-mates would make it 1/128 more. */
    assert_true(close < n / 100);
    free(s);
}

/* Hénon orbits from every seed box stay on the attractor (the escape
 * hatch in chaos.c is never taken) and their outputs spread. */
static void test_henon_orbits_bounded(void **state)
{
    uint8_t sm[64];
    (void)state;
    randombytes_buf(sm, sizeof sm);
    for (uint64_t b = 0; b < 2000; b++) {
        mc__henon m;
        mc__henon_seed(&m, sm, b);
        for (int i = 0; i < 512; i++) {
            double x = mc__henon_next(&m);
            assert_true(x > -1.5 && x < 1.5);
            assert_false(m.x == 0.1 && m.y == 0.0);
        }
    }
}

/* The escape rule of the Hénon map (FORMAT.md, "Hénon orbit"): a step
 * whose x' is not strictly inside (-2, 2) gives x' = 0.1, y' = 0. No
 * orbit from the seed boxes takes it (above), so it is checked here on
 * states set by hand, at both ends exactly and past them; inside, the
 * step is the map, y' = b·x of the x before it. */
static void test_henon_escape_rule(void **state)
{
    static const struct {
        double x, y;
        bool escapes;
    } cases[] = {
        {0.0, -3.0, true},   /* x' = -2 exactly */
        {0.0, 1.0, true},    /* x' = 2 exactly */
        {2.0, 0.0, true},    /* x' = -4.6 */
        {0.0, -2.999, false}, /* x' = -1.999 */
        {0.0, 0.999, false},  /* x' = 1.999 */
        {0.5, 0.25, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mc__henon m = {.x = cases[i].x, .y = cases[i].y};
        double want_x = 1.0 - 1.4 * cases[i].x * cases[i].x + cases[i].y;
        double got = mc__henon_next(&m);

        if (cases[i].escapes) {
            assert_true(got == 0.1 && m.x == 0.1 && m.y == 0.0);
        } else {
            assert_true(got == want_x && m.x == want_x);
            assert_true(m.y == 0.3 * cases[i].x);
        }
    }
}

/* The v2 and v3 kernels' copy of the map and its escape rule (the lane
 * selects of stage_v2.c's HENON_STEP, and HENON_STEP_NOTED, which notes
 * an escape so that the masks are made again by HENON_STEP): their masks
 * from orbits started by hand, some leaving (-2, 2) at their first step,
 * at either end exactly or past it, some never, and each lane alone
 * escaping, against mc__henon_next (FORMAT.md: h = (bits(x') &
 * (2^52 - 1)) * 0x9E3779B97F4A7C15), by both ways the masks are made. */
static void test_v2_henon_escape_rule(void **state)
{
    static const double escaping[16] = {
        0.0, 0.0, 2.0, 0.05, -0.07, 0.0, 0.01, 0.0, /* x */
        1.0, -3.0, 0.0, 0.02, -0.01, 0.999, 0.0, -2.999, /* y */
    };
    static const double inside[16] = {
        0.05, -0.07, 0.01, 0.0, 0.09, -0.1, 0.03, -0.02,
        0.02, -0.01, 0.0, 0.03, -0.029, 0.011, 0.0, 0.029,
    };
    const size_t half = 100; /* 13 steps of 8 lanes, the last partly used */
    uint64_t got[104], want[104];
    uint8_t sm[64] = {5};
    double start[16];

    (void)state;
    for (int t = -2; t < 8; t++) { /* -2: escaping, -1: inside, l: lane l alone */
        memcpy(start, t == -2 ? escaping : inside, sizeof start);
        if (t >= 0) {
            start[t] = 0.0;
            start[8 + t] = 1.0; /* x' = 2 */
        }
        for (unsigned l = 0; l < 8; l++) {
            mc__henon m = {.x = start[l], .y = start[8 + l]};
            for (unsigned i = 0; i < MC_TRANSIENT; i++)
                (void)mc__henon_next(&m);
            for (size_t i = 0; i < 13; i++)
                want[i * 8 + l] = (mc__bits(mc__henon_next(&m)) & ((1ull << 52) - 1)) *
                                  0x9E3779B97F4A7C15ull;
        }
        for (int checked = 0; checked < 2; checked++) {
            memset(got, 0, sizeof got);
            mc__v2_henon_start = start;
            mc__v2_henon_checked = checked;
            mc__v2_henon_masks(got, half, sm, 7);
            mc__v2_henon_checked = false;
            mc__v2_henon_start = NULL;
            assert_memory_equal(got, want, sizeof want);
        }
    }
}

/* mc__parallel hands out ranges as threads ask (src/parallel.c): every
 * index exactly once, ranges starting at a multiple of the grain and
 * ending at one or at n, worker indices below the thread count. */
struct par_check {
    atomic_uint *seen;
    size_t n, grain;
    unsigned threads;
    atomic_bool bad;
};

static void par_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    struct par_check *c = arg;

    if (begin >= end || end > c->n || begin % c->grain != 0 ||
        (end % c->grain != 0 && end != c->n) || worker >= c->threads)
        atomic_store(&c->bad, true);
    for (size_t i = begin; i < end && i < c->n; i++)
        atomic_fetch_add(&c->seen[i], 1);
}

static void test_parallel_ranges(void **state)
{
    static const size_t ns[] = {0, 1, 7, 64, 65, 1000, 4099};
    static const size_t grains[] = {0, 1, 3, 8, 64};
    static const unsigned threads[] = {1, 2, 3, 8, MC_MAX_THREADS + 5};

    (void)state;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof grains / sizeof grains[0]; b++)
            for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                struct par_check c = {.n = ns[a], .grain = grains[b] ? grains[b] : 1,
                                      .threads = threads[t] < MC_MAX_THREADS ? threads[t]
                                                                             : MC_MAX_THREADS};
                c.seen = calloc(ns[a] + 1, sizeof *c.seen);
                assert_non_null(c.seen);
                atomic_init(&c.bad, false);
                mc__parallel(threads[t], ns[a], grains[b], par_range, &c);
                assert_false(atomic_load(&c.bad));
                for (size_t i = 0; i < ns[a]; i++)
                    assert_int_equal(atomic_load(&c.seen[i]), 1);
                free(c.seen);
            }
}

/* mc__thread_create (src/parallel.c) runs fn(arg) on a new thread that,
 * though started on one core, runs with all its creator's cores: the
 * whole machine's, or the ones a narrower affinity (taskset) leaves,
 * whichever nth it is given. */
struct thread_check {
    cpu_set_t cores;
    int got;
};

static void *thread_cores(void *p)
{
    struct thread_check *c = p;

    c->got = sched_getaffinity(0, sizeof c->cores, &c->cores);
    return p;
}

static void test_thread_create(void **state)
{
    static const unsigned nths[] = {0, 1, 2, 3, 64, 1000};
    cpu_set_t all, narrow;
    int first = -1, second = -1;

    (void)state;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&narrow);
    for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
        if (CPU_ISSET(c, &all)) {
            if (first < 0)
                first = c;
            else
                second = c;
            CPU_SET(c, &narrow);
        }
    for (int pass = 0; pass < 2; pass++) {
        /* The second pass on the first two cores only (one on a machine
         * of one core). */
        const cpu_set_t *want = pass == 0 ? &all : &narrow;
        assert_int_equal(sched_setaffinity(0, sizeof *want, want), 0);
        for (size_t i = 0; i < sizeof nths / sizeof nths[0]; i++) {
            struct thread_check c = {.got = -1};
            pthread_t t;
            void *ret = NULL;
            assert_int_equal(mc__thread_create(&t, nths[i], thread_cores, &c), 0);
            assert_int_equal(pthread_join(t, &ret), 0);
            assert_ptr_equal(ret, &c);
            assert_int_equal(c.got, 0);
            if (!CPU_EQUAL(&c.cores, want))
                fail_msg("nth %u: the thread has %d cores, its creator %d", nths[i],
                         CPU_COUNT(&c.cores), CPU_COUNT(want));
        }
    }
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
}

/* Any thread count gives the same cipher bytes and decrypts with any
 * other: sizes cross every parallel split (stage blocks, 64 KiB of
 * XChaCha20, transpose tiles of 64 blocks, odd tails). */
static void test_threads_same_bytes(void **state)
{
    /* Width, height, channels, bits, format version. The first is large
     * enough for threads in every parallel section (72 chunks of the
     * keyed hash, 6 groups of stages 3-6 and a short last block); the
     * next three test the edges. The last is format v1 (read, no longer
     * written): 200 blocks of its permutation, 4 tiles of its block
     * transpose, so that the transpose is split between threads as its
     * other passes are (mutation testing, fourth round: stage_perm.c, a
     * tile range one block short, had run on threads only with 3). */
    static const uint32_t sizes[][5] = {{2048, 1152, 1, 16, MC_FORMAT_VERSION},
                                        {1024, 600, 1, 16, MC_FORMAT_VERSION},
                                        {700, 333, 3, 8, MC_FORMAT_VERSION},
                                        {129, 257, 1, 8, MC_FORMAT_VERSION},
                                        {1024, 800, 1, 8, 1}};
    uint8_t nonce[MC_NONCE_BYTES] = {7};
    mc_key key;
    (void)state;
    test_key(&key, 5);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const uint32_t *z = sizes[s];
        mc_image *ref = make_image(z[0], z[1], (uint8_t)z[2], (uint8_t)z[3], 11);
        mc_image *plain = make_image(z[0], z[1], (uint8_t)z[2], (uint8_t)z[3], 11);
        mc__header href, h;
        assert_int_equal(
            mc__encrypt_inplace_v(&key, ref, nonce, (int)z[4], MC_STAGES_ALL, &href, 1), MC_OK);
        for (unsigned t = 2; t <= 8; t += 3) {
            mc_image *img = make_image(z[0], z[1], (uint8_t)z[2], (uint8_t)z[3], 11);
            assert_int_equal(
                mc__encrypt_inplace_v(&key, img, nonce, (int)z[4], MC_STAGES_ALL, &h, t), MC_OK);
            assert_memory_equal(h.tag, href.tag, MC_TAG_BYTES);
            assert_memory_equal(img->samples, ref->samples, ref->samples_len);
            assert_int_equal(mc__decrypt_inplace(&key, img, &h, 9 - t), MC_OK);
            assert_memory_equal(img->samples, plain->samples, plain->samples_len);
            mc_image_free(img);
        }
        mc_image_free(ref);
        mc_image_free(plain);
    }
}

/* A 1024x1024 16-bit gray PNG, Adam7-interlaced, every sample 0x1234,
 * written here since medcrypt writes no interlaced PNG: 2 MiB of
 * samples, so large enough to be hashed while decoded, were it not
 * interlaced. */
static uint8_t *adam7_png(size_t *len)
{
    /* Adam7 passes of a 1024x1024 image (PNG §8.2): width, height. */
    static const uint32_t pass[7][2] = {{128, 128}, {128, 128}, {256, 128}, {256, 256},
                                        {512, 256}, {512, 512}, {1024, 512}};
    static const uint8_t ihdr[13] = {0, 0, 4, 0, 0, 0, 4, 0, 16, 0, 0, 0, 1}; /* Adam7 */
    size_t raw_len = 0, k = 0, n = 8;
    uLongf z_len;
    uint8_t *raw, *z, *out;

    for (int i = 0; i < 7; i++)
        raw_len += (size_t)pass[i][1] * (1 + 2 * (size_t)pass[i][0]);
    raw = malloc(raw_len);
    assert_non_null(raw);
    for (int i = 0; i < 7; i++)
        for (uint32_t y = 0; y < pass[i][1]; y++) {
            raw[k++] = 0; /* filter: none */
            for (uint32_t x = 0; x < pass[i][0]; x++) {
                raw[k++] = 0x12;
                raw[k++] = 0x34;
            }
        }
    z_len = compressBound(raw_len);
    z = malloc(z_len);
    assert_non_null(z);
    assert_int_equal(compress(z, &z_len, raw, raw_len), Z_OK);
    out = malloc(8 + 25 + 12 + z_len + 12);
    assert_non_null(out);
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    n += put_chunk(out + n, "IHDR", ihdr, sizeof ihdr);
    n += put_chunk(out + n, "IDAT", z, (uint32_t)z_len);
    n += put_chunk(out + n, "IEND", NULL, 0);
    free(raw);
    free(z);
    *len = n;
    return out;
}

/* Chunk digests that do not cover the samples (one chunk's worth for an
 * image of three) are not used: the keyed hash is over the samples' own
 * digests, so the image decrypts (it would be refused as modified, its
 * tag over the wrong digests). Mutation testing, second round (cipher.c:
 * keyed_hash's digests_len check loosened). */
static void test_digests_wrong_length_ignored(void **state)
{
    mc_image *plain = make_image(256, 600, 1, 8, 5), *img = NULL; /* 150 KiB: 3 chunks */
    uint8_t nonce[MC_NONCE_BYTES] = {9};
    mc__header h;
    mc_key key;
    (void)state;
    test_key(&key, 0);

    assert_int_equal(mc__tree_chunks(plain->samples_len), 3);
    assert_int_equal(mc__image_copy(plain, &img), MC_OK);
    assert_non_null(img->digests = calloc(2, 64));
    img->digests_len = 2 * 64;
    assert_int_equal(mc__encrypt_inplace(&key, img, nonce, MC_STAGES_ALL, &h, 1), MC_OK);
    assert_null(img->digests);
    assert_int_equal(mc__decrypt_inplace(&key, img, &h, 1), MC_OK);
    assert_memory_equal(img->samples, plain->samples, plain->samples_len);
    mc_image_free(img);
    mc_image_free(plain);
}

/* The threads of this process now (Linux: /proc/self/task), or 0 where
 * there is no /proc. */
static size_t threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Until the process has `want` threads again: a joined thread leaves
 * /proc a moment after pthread_join returns. One never stopped fails it
 * after 10 s (a bound on waiting for an event, not on speed). */
static void assert_threads_back_to(size_t want)
{
    const struct timespec pause = {0, 1000000};

    for (int i = 0; i < 10000 && threads_now() > want; i++)
        nanosleep(&pause, NULL);
    assert_int_equal(threads_now(), want);
}

/* A large PNG decoded for an encrypt (mc_ctx.chunk_digests, on two
 * threads) has its chunk digests hashed while it is decoded: they are the
 * SHA-512 of its 64 KiB chunks, so the tag and the cipher bytes are those
 * of the same image hashed by the encrypt itself. Anything that may
 * change the samples drops them; an interlaced PNG, a small one, a single
 * thread or a decode not followed by an encrypt gets none; a PNG cut in
 * its image data is refused as before, its hashing thread joined. */
static void test_digests_while_decoding(void **state)
{
    /* 16-bit gray (rows swapped as they come), 8-bit RGB with a width
     * whose rows straddle the chunks, and the 2 MiB threshold exactly. */
    static const uint32_t sizes[][4] = {{1024, 1100, 1, 16}, {1001, 777, 3, 8}, {1024, 1024, 2, 8}};
    uint8_t nonce[MC_NONCE_BYTES] = {3};
    mc_ctx *dc = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 6);
    assert_int_equal(mc_ctx_new(&dc), MC_OK);
    assert_int_equal(mc_ctx_set_threads(dc, 2), MC_OK);
    dc->chunk_digests = true;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        mc_image *plain = make_image(sizes[s][0], sizes[s][1], (uint8_t)sizes[s][2],
                                     (uint8_t)sizes[s][3], 21);
        mc_image *ref = NULL, *img = NULL, *other = NULL;
        uint8_t *png = NULL;
        size_t png_len;
        mc__header href, h;

        assert_int_equal(mc__png_encode(plain, NULL, false, &png, &png_len), MC_OK);
        assert_int_equal(mc_image_decode(dc, png, png_len, NULL, &img), MC_OK);
        assert_memory_equal(img->samples, plain->samples, plain->samples_len);
        assert_chunk_digests(img, plain->samples, plain->samples_len);
        /* The same cipher image as the image hashed by the encrypt. */
        assert_int_equal(mc__image_copy(plain, &ref), MC_OK);
        ref->format = img->format;
        assert_int_equal(mc__encrypt_inplace(&key, ref, nonce, MC_STAGES_ALL, &href, 2), MC_OK);
        assert_int_equal(mc__encrypt_inplace(&key, img, nonce, MC_STAGES_ALL, &h, 2), MC_OK);
        assert_null(img->digests); /* dropped before the stages */
        assert_memory_equal(h.tag, href.tag, MC_TAG_BYTES);
        assert_memory_equal(img->samples, ref->samples, ref->samples_len);
        assert_int_equal(mc__decrypt_inplace(&key, img, &h, 2), MC_OK);
        assert_memory_equal(img->samples, plain->samples, plain->samples_len);
        mc_image_free(img);
        img = NULL;
        /* A mutable pointer to the samples drops them; a copy has none. */
        assert_int_equal(mc_image_decode(dc, png, png_len, NULL, &img), MC_OK);
        assert_int_equal(mc__image_copy(img, &other), MC_OK);
        assert_null(other->digests);
        assert_non_null(mc_image_samples(img, NULL));
        assert_null(img->digests);
        mc_image_free(other);
        mc_image_free(img);
        img = NULL;
        /* One thread, or a plain decode: none. */
        assert_no_digests_otherwise(dc, png, png_len);
        /* Cut in the middle of its image data: refused, the thread
         * stopped (ASan, helgrind) and joined: one not stopped waits on
         * for rows that never come, or hashes samples as they are freed
         * (ASan saw neither). */
        size_t threads = threads_now();
        assert_int_not_equal(mc_image_decode(dc, png, png_len / 2, NULL, &img), MC_OK);
        assert_null(img);
        assert_threads_back_to(threads);
        free(png);
        mc_image_free(ref);
        mc_image_free(plain);
    }
    /* Interlaced: its rows come pass by pass, not in order; decoded as
     * before, with no digests. */
    {
        mc_image *img = NULL;
        size_t png_len, n;
        uint8_t *png = adam7_png(&png_len);
        const uint8_t *smp;
        assert_int_equal(mc_image_decode(dc, png, png_len, NULL, &img), MC_OK);
        assert_null(img->digests);
        smp = mc_image_samples_const(img, &n);
        assert_int_equal(n, (size_t)1024 * 1024 * 2);
        for (size_t i = 0; i < n; i += 2) {
            uint16_t v;
            memcpy(&v, smp + i, 2);
            if (v != 0x1234)
                fail_msg("sample %zu is %04x", i / 2, v);
        }
        mc_image_free(img);
        free(png);
    }
    /* Under 2 MiB of samples: none (starting the thread costs what it
     * would save). */
    {
        mc_image *small = make_image(512, 512, 1, 16, 4), *img = NULL;
        uint8_t *png = NULL;
        size_t png_len;
        assert_int_equal(mc__png_encode(small, NULL, false, &png, &png_len), MC_OK);
        assert_int_equal(mc_image_decode(dc, png, png_len, NULL, &img), MC_OK);
        assert_null(img->digests);
        mc_image_free(img);
        mc_image_free(small);
        free(png);
    }
    mc_ctx_free(dc);
}

/* The keyed hash and the XChaCha20 layer run on OpenSSL's assembly,
 * linked in, or on libsodium (mc__sodium_only; crypto.c): the same
 * cipher bytes, tag and plain image back either way, for each format
 * version, with the other library on the way back. */
static void test_libraries_same_bytes(void **state)
{
    static const uint32_t sizes[][4] = {{1024, 600, 1, 16}, {100, 77, 3, 8}};
    uint8_t nonce[MC_NONCE_BYTES] = {9};
    mc_key key;

    (void)state;
    test_key(&key, 6);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int version = 1; version <= MC_FORMAT_VERSION; version++) {
            mc_image *img[2], *plain = make_image(sizes[s][0], sizes[s][1],
                                                  (uint8_t)sizes[s][2], (uint8_t)sizes[s][3], 3);
            mc__header h[2];
            for (int b = 0; b < 2; b++) {
                img[b] = make_image(sizes[s][0], sizes[s][1], (uint8_t)sizes[s][2],
                                    (uint8_t)sizes[s][3], 3);
                mc__sodium_only = b == 0; /* libsodium, OpenSSL */
                assert_int_equal(mc__encrypt_inplace_v(&key, img[b], nonce, version,
                                                       MC_STAGES_ALL, &h[b], 2),
                                 MC_OK);
            }
            assert_memory_equal(h[0].tag, h[1].tag, MC_TAG_BYTES);
            assert_memory_equal(img[0]->samples, img[1]->samples, img[0]->samples_len);
            for (int b = 0; b < 2; b++) {
                mc__sodium_only = b != 0; /* the other one */
                assert_int_equal(mc__decrypt_inplace(&key, img[b], &h[b], 1), MC_OK);
                assert_memory_equal(img[b]->samples, plain->samples, plain->samples_len);
                mc_image_free(img[b]);
            }
            mc_image_free(plain);
        }
    }
    mc__sodium_only = false;
}

/* mc_encrypt_image_inplace_to: the cipher PNG streamed to a sink
 * decrypts to the plain image; a sink that fails gives MC_EIO. */
static void test_encrypt_streamed(void **state)
{
    mc_ctx *ctx = NULL;
    mc_image *plain = make_image(300, 200, 1, 16, 4), *img = make_image(300, 200, 1, 16, 4);
    mc_image *back = NULL;
    struct mem_sink k = {NULL, 0, SIZE_MAX, 0, false}, bad = {NULL, 0, 0, 0, false};
    mc_key key;

    (void)state;
    test_key(&key, 8);
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    assert_int_equal(mc_encrypt_image_inplace_to(ctx, &key, img, mem_sink_write, &k), MC_OK);
    assert_int_equal(mc_decrypt_image(ctx, &key, k.p, k.len, &back), MC_OK);
    assert_int_equal(back->samples_len, plain->samples_len);
    assert_memory_equal(back->samples, plain->samples, plain->samples_len);
    mc_image_free(back);
    /* written as in memory (FORMAT.md §2: no filtering, stored deflate
     * blocks), so as long as that cipher image of the same image: the
     * stream's compressed and filtered went unseen (mutation testing,
     * forty-seventh round) */
    {
        uint8_t *mem = NULL;
        size_t mem_len = 0;
        assert_int_equal(mc_encrypt_image(ctx, &key, plain, &mem, &mem_len), MC_OK);
        assert_int_equal(k.len, mem_len);
        free(mem);
    }
    mc_image_free(img);
    img = make_image(300, 200, 1, 16, 4);
    assert_int_equal(mc_encrypt_image_inplace_to(ctx, &key, img, mem_sink_write, &bad), MC_EIO);
    assert_int_equal(mc_encrypt_image_inplace_to(ctx, &key, img, NULL, &k), MC_EINVAL);
    free(k.p);
    mc_image_free(img);
    mc_image_free(plain);
    mc_ctx_free(ctx);
}

/* ------------------------------------------------------------------ */
/* Round trips. */

static void roundtrip_file(const char *rel, bool byte_equal)
{
    size_t len, clen, dlen;
    uint8_t *buf = read_testdata(rel, &len), *cipher = NULL, *back = NULL;
    mc_image *plain = NULL, *dec = NULL, *cimg = NULL;
    mc_image_info info;
    mc_key key, other;

    test_key(&key, 0);
    test_key(&other, 1);
    assert_int_equal(mc_image_decode(ctx, buf, len, rel, &plain), MC_OK);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, rel, &cipher, &clen), MC_OK);

    /* The cipher image is an ordinary PNG of the same geometry. */
    assert_int_equal(mc__png_decode(ctx, cipher, clen, &cimg, NULL), MC_OK);
    assert_int_equal(cimg->width, plain->width);
    assert_int_equal(cimg->height, plain->height);
    assert_int_equal(cimg->channels, plain->channels);
    assert_int_equal(cimg->bits, plain->bits);
    if (plain->samples_len > 64)
        assert_memory_not_equal(cimg->samples, plain->samples, plain->samples_len);

    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &dlen, &info), MC_OK);
    assert_int_equal(info.format, plain->format);
    if (byte_equal) {
        assert_int_equal(dlen, len);
        assert_memory_equal(back, buf, len);
    }
    assert_int_equal(mc_image_decode(ctx, back, dlen, NULL, &dec), MC_OK);
    assert_same_samples(plain, dec);

    /* The name travels encrypted with the image. */
    mc_image_free(dec);
    dec = NULL;
    assert_int_equal(mc_decrypt_image(ctx, &key, cipher, clen, &dec), MC_OK);
    assert_non_null(mc_image_name(dec));
    assert_string_equal(mc_image_name(dec), strrchr(rel, '/') + 1);

    assert_int_equal(mc_decrypt_file(ctx, &other, cipher, clen, &back, &dlen, NULL),
                     MC_EWRONGKEY);
    {
        /* the image's key id, then the key's (mutation testing, sixteenth round) */
        char theirs[MC_KEY_ID_HEX_BYTES], ours[MC_KEY_ID_HEX_BYTES], want[160];
        mc_key_id_hex(&key, theirs);
        mc_key_id_hex(&other, ours);
        snprintf(want, sizeof want, "the image was encrypted under key id %s, this key's id is %s",
                 theirs, ours);
        assert_string_equal(mc_ctx_last_detail(ctx), want);
    }
    free(buf);
    free(cipher);
    free(back);
    mc_image_free(plain);
    mc_image_free(dec);
    mc_image_free(cimg);
}

static void test_roundtrip_testdata_png(void **state)
{
    static const char *files[] = {
        "png/ct_512_16bit.png", "png/ct_512_8bit.png", "png/ct_small_16bit.png",
        "png/edge_13x1_rgb8.png", "png/edge_1x13_gray16.png", "png/edge_1x1_gray8.png",
        "png/edge_33x17_rgba16.png", "png/gray_alpha_8bit_512.png", "png/palette_16_colors.png",
        "png/rgb_100x100.png", "png/rgb_16bit_100x100.png", "png/rgba_100x100.png"};
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        roundtrip_file(files[i], false);
}

/* mc_cipher_inspect gives a cipher image's geometry as the plain image's
 * own, frames included (mutation testing, sixteenth round: a frame count
 * of 1 for every image lived): a 2-frame 100 x 100 RGB DICOM. */
static void test_inspect_frames(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("dicom/rgb_16bit_2frames.dcm", &len), *cipher = NULL;
    mc_image *plain = NULL;
    mc_image_info pi;
    mc_cipher_info ci;
    mc_key key;
    (void)state;

    test_key(&key, 0);
    assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &plain), MC_OK);
    mc_image_get_info(plain, &pi);
    assert_int_equal(pi.frames, 2);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, NULL, &cipher, &clen), MC_OK);
    assert_int_equal(mc_cipher_inspect(ctx, cipher, clen, &ci), MC_OK);
    assert_int_equal(ci.image.frames, 2);
    assert_int_equal(ci.image.width, pi.width);
    assert_int_equal(ci.image.height, pi.height);
    assert_int_equal(ci.image.channels, 3);
    assert_int_equal(ci.image.bits, 16);
    assert_int_equal(ci.image.format, MC_FORMAT_DICOM);
    /* and decryption gives the frames back (mutation testing,
     * forty-seventh round: the header's frames left unset went unseen) */
    {
        mc_image *back = NULL;
        mc_image_info bi;
        assert_int_equal(mc_decrypt_image(ctx, &key, cipher, clen, &back), MC_OK);
        mc_image_get_info(back, &bi);
        assert_int_equal(bi.frames, 2);
        assert_int_equal(bi.height, pi.height);
        mc_image_free(back);
    }
    free(buf);
    free(cipher);
    mc_image_free(plain);
}

static void test_roundtrip_testdata_pnm(void **state)
{
    static const char *files[] = {"pnm/ascii_4x3.ppm",  "pnm/ascii_8x8.pgm",
                                  "pnm/ct_512_8bit.pgm", "pnm/ct_small_12bit.pgm",
                                  "pnm/rgb_100x100.ppm", "pnm/rgb_16bit_100x100.ppm"};
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        roundtrip_file(files[i], true);
}

static void roundtrip_image(uint32_t w, uint32_t h, uint8_t c, uint8_t bits)
{
    mc_image *plain = make_image(w, h, c, bits, w * 31 + h), *dec = NULL;
    uint8_t *cipher = NULL;
    size_t clen;
    mc_key key;

    test_key(&key, 3);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &clen), MC_OK);
    assert_int_equal(mc_decrypt_image(ctx, &key, cipher, clen, &dec), MC_OK);
    assert_same_samples(plain, dec);
    free(cipher);
    mc_image_free(plain);
    mc_image_free(dec);
}

static void test_roundtrip_generated(void **state)
{
    static const uint32_t sizes[][2] = {{1, 1},   {1, 13},  {13, 1},   {2, 2},   {3, 5},
                                        {33, 17}, {64, 64}, {65, 63},  {1, 4097}, {4097, 1},
                                        {127, 129}, {300, 301}};
    (void)state;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (uint8_t c = 1; c <= 4; c++)
            for (uint8_t bits = 8; bits <= 16; bits += 8)
                roundtrip_image(sizes[s][0], sizes[s][1], c, bits);
}

/* Two encryptions of one image differ (fresh nonce), both decrypt. */
/* Format v1 cipher images (written before v2) still decrypt through the
 * public calls, with every sample size and a short last block. */
/* Versions 1 and 2, written by earlier medcrypt, still decrypt. */
static void test_older_versions_read(void **state)
{
    static const uint32_t sizes[][4] = {{300, 200, 1, 8}, {100, 100, 1, 16}, {64, 65, 3, 8}};
    uint8_t nonce[MC_NONCE_BYTES] = {3};
    mc_key key;
    (void)state;
    test_key(&key, 2);
    for (size_t v = 0; v < 2 * (sizeof sizes / sizeof sizes[0]); v++) {
        size_t s = v / 2;
        int version = 1 + (int)(v % 2);
        mc_image *img = make_image(sizes[s][0], sizes[s][1], (uint8_t)sizes[s][2],
                                   (uint8_t)sizes[s][3], 5);
        mc_image *plain = make_image(sizes[s][0], sizes[s][1], (uint8_t)sizes[s][2],
                                     (uint8_t)sizes[s][3], 5);
        mc_image *out = NULL;
        mc_cipher_info info;
        mc__header hdr;
        uint8_t *png = NULL;
        size_t len = 0;
        assert_int_equal(mc__encrypt_inplace_v(&key, img, nonce, version, MC_STAGES_ALL, &hdr, 1),
                         MC_OK);
        assert_int_equal(mc__container_write(ctx, img, &hdr, &png, &len), MC_OK);
        assert_int_equal(mc_cipher_inspect(ctx, png, len, &info), MC_OK);
        assert_int_equal(info.version, version);
        assert_int_equal(mc_decrypt_image(ctx, &key, png, len, &out), MC_OK);
        assert_memory_equal(out->samples, plain->samples, plain->samples_len);
        mc_image_free(out);
        mc_image_free(img);
        mc_image_free(plain);
        free(png);
    }
}

static void test_nonce_fresh(void **state)
{
    mc_image *plain = make_image(20, 20, 1, 8, 1);
    uint8_t *c1, *c2;
    size_t l1, l2;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &c1, &l1), MC_OK);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &c2, &l2), MC_OK);
    assert_true(l1 != l2 || memcmp(c1, c2, l1) != 0);
    free(c1);
    free(c2);
    mc_image_free(plain);
}

/* ------------------------------------------------------------------ */
/* Tampering. */

static uint8_t *small_cipher(size_t *len)
{
    mc_image *plain = make_image(5, 3, 3, 8, 9);
    uint8_t *cipher = NULL;
    mc_key key;
    test_key(&key, 0);
    assert_int_equal(mc__side_add(plain, MC_SIDE_NAME, "tiny.png", 8), MC_OK);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, len), MC_OK);
    mc_image_free(plain);
    return cipher;
}

/* Every single-byte change and every truncation of a cipher file is
 * refused; none decrypts, and none is "too large" (the high byte of
 * mcRY's length, 2^24 more, went over libspng's chunk limit and was
 * MC_ETOOBIG, with no size in the detail: an API audit). */
static void test_every_byte_and_truncation(void **state)
{
    size_t len;
    uint8_t *cipher = small_cipher(&len), *copy = malloc(len);
    mc_image *img = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_decrypt_image(ctx, &key, cipher, len, &img), MC_OK);
    mc_image_free(img);
    for (size_t i = 0; i < len; i++) {
        for (int delta = 1; delta <= 255; delta += delta == 1 ? 63 : 64) { /* 1 64 128 192 */
            mc_err e;
            memcpy(copy, cipher, len);
            copy[i] = (uint8_t)(copy[i] + delta);
            img = NULL;
            e = mc_decrypt_image(ctx, &key, copy, len, &img);
            if (e == MC_OK || e == MC_ETOOBIG)
                fail_msg("byte %zu changed by %d: %s", i, delta, mc_strerror(e));
            assert_null(img);
        }
    }
    for (size_t n = 0; n < len; n++) {
        img = NULL;
        assert_int_not_equal(mc_decrypt_image(ctx, &key, cipher, n, &img), MC_OK);
        assert_null(img);
    }
    free(cipher);
    free(copy);
}

/* Re-writes a valid container with one thing changed and a correct CRC,
 * as a deliberate attacker would. */
enum lie { LIE_SAMPLE, LIE_NONCE, LIE_TAG, LIE_KEYID, LIE_VERSION, LIE_DOWNGRADE, LIE_FORMAT,
           LIE_SIDE, LIE_FRAMES };

static mc_err decrypt_with_lie(enum lie lie)
{
    mc_image *plain = make_image(40, 30, 1, 16, 5), *img = NULL, *out = NULL;
    uint8_t nonce[MC_NONCE_BYTES] = {0};
    uint8_t *png = NULL;
    size_t len;
    mc__header hdr;
    mc_key key;
    mc_err err;

    test_key(&key, 0);
    assert_int_equal(mc__side_add(plain, MC_SIDE_NAME, "lie.png", 7), MC_OK);
    assert_int_equal(mc__encrypt_inplace(&key, plain, nonce, MC_STAGES_ALL, &hdr, 1), MC_OK);
    switch (lie) {
    case LIE_SAMPLE: plain->samples[100] ^= 1; break;
    case LIE_NONCE: hdr.nonce[3] ^= 0x10; break;
    case LIE_TAG: hdr.tag[31] ^= 0x80; break;
    case LIE_KEYID: hdr.key_id[0] ^= 1; break;
    case LIE_VERSION: hdr.version = MC_FORMAT_VERSION + 1; break;
    case LIE_DOWNGRADE: hdr.version = 1; break; /* v2 samples read as v1 */
    case LIE_FORMAT: hdr.format = MC_FORMAT_PNM; break;
    case LIE_SIDE: plain->side[plain->side_len - 1] ^= 4; break;
    case LIE_FRAMES: hdr.frames = 2; break;
    }
    assert_int_equal(mc__container_write(ctx, plain, &hdr, &png, &len), MC_OK);
    /* The detail is the call's own: neither one left by an earlier call
     * nor a wrong key's ids for a modified image (mutation testing,
     * sixteenth round). */
    mc__ctx_detail(ctx, "%s", "a detail of an earlier call");
    err = mc_decrypt_image(ctx, &key, png, len, &out);
    if (err == MC_ETAMPERED)
        assert_string_equal(mc_ctx_last_detail(ctx), "");
    /* which version, and what to do (a review: the message alone) */
    if (err == MC_EVERSION) {
        mc_cipher_info ci;
        char want[128];
        snprintf(want, sizeof want, "format version %d, newer than this medcrypt reads (1 to %d): "
                                    "update medcrypt", MC_FORMAT_VERSION + 1, MC_FORMAT_VERSION);
        assert_string_equal(mc_ctx_last_detail(ctx), want);
        mc__ctx_detail(ctx, "%s", "");
        assert_int_equal(mc_cipher_inspect(ctx, png, len, &ci), MC_EVERSION);
        assert_string_equal(mc_ctx_last_detail(ctx), want);
        /* version 0: no medcrypt's */
        free(png);
        hdr.version = 0;
        assert_int_equal(mc__container_write(ctx, plain, &hdr, &png, &len), MC_OK);
        assert_int_equal(mc_cipher_inspect(ctx, png, len, &ci), MC_EVERSION);
        snprintf(want, sizeof want, "format version 0, which no medcrypt writes (1 to %d are "
                                    "read)", MC_FORMAT_VERSION);
        assert_string_equal(mc_ctx_last_detail(ctx), want);
        /* and inspection leaves another call's detail alone when it
         * succeeds; when it fails, the detail is its own (none): `info a
         * b` printed file a's detail with file b's "modified" */
        mc__ctx_detail(ctx, "%s", "a detail of an earlier call");
        free(png);
        hdr.version = MC_FORMAT_VERSION;
        assert_int_equal(mc__container_write(ctx, plain, &hdr, &png, &len), MC_OK);
        assert_int_equal(mc_cipher_inspect(ctx, png, len, &ci), MC_OK);
        assert_string_equal(mc_ctx_last_detail(ctx), "a detail of an earlier call");
        assert_int_equal(mc_cipher_inspect(ctx, png, len - 1, &ci), MC_ETAMPERED);
        assert_string_equal(mc_ctx_last_detail(ctx), "");
        mc__ctx_detail(ctx, "%s", "a detail of an earlier call");
        assert_int_equal(mc_cipher_inspect(ctx, NULL, 1, &ci), MC_EINVAL);
        assert_string_equal(mc_ctx_last_detail(ctx), "");
    }
    if (err != MC_OK)
        assert_null(out);
    mc_image_free(out);
    mc_image_free(plain);
    mc_image_free(img);
    free(png);
    return err;
}

static void test_lying_fields(void **state)
{
    (void)state;
    assert_int_equal(decrypt_with_lie(LIE_SAMPLE), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_NONCE), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_TAG), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_SIDE), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_FORMAT), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_FRAMES), MC_ETAMPERED);
    /* The key id is under the tag too: under the right key a changed id
     * is a modified image, not "wrong key" and a key that does not
     * exist (a wrong key: roundtrip_file, on every testdata file). */
    assert_int_equal(decrypt_with_lie(LIE_KEYID), MC_ETAMPERED);
    assert_int_equal(decrypt_with_lie(LIE_VERSION), MC_EVERSION);
    /* The version is under the tag: v2 samples undone as v1 fail it. */
    assert_int_equal(decrypt_with_lie(LIE_DOWNGRADE), MC_ETAMPERED);
}

/* mc__decrypt_unverified (the analysis' key sensitivity: a cipher image
 * undone under a key one bit off) runs the stages backwards without the
 * tag's check: under the right key the plain samples and side data come
 * back; under another, neither does (mutation testing, sixteenth round:
 * the stages not undone at all went unseen). */
static void test_decrypt_unverified(void **state)
{
    mc_image *plain = make_image(40, 30, 3, 8, 9), *img = NULL;
    uint8_t nonce[MC_NONCE_BYTES] = {7};
    mc__header hdr;
    mc_key key, other;
    (void)state;

    test_key(&key, 0);
    test_key(&other, 1);
    assert_int_equal(mc__side_add(plain, MC_SIDE_NAME, "u.png", 5), MC_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(mc__image_copy(plain, &img), MC_OK);
        assert_int_equal(mc__encrypt_inplace(&key, img, nonce, MC_STAGES_ALL, &hdr, 1), MC_OK);
        assert_int_equal(mc__decrypt_unverified(k == 0 ? &key : &other, img, &hdr, 1), MC_OK);
        if (k == 0) {
            assert_memory_equal(img->samples, plain->samples, plain->samples_len);
            assert_memory_equal(img->side, plain->side, plain->side_len);
        } else {
            assert_memory_not_equal(img->samples, plain->samples, plain->samples_len);
        }
        mc_image_free(img);
    }
    mc_image_free(plain);
}

/* The name travels encrypted as a side record; one with a NUL inside is
 * no name (it would be cut there, "a" for "a\0b.png") and decrypts to
 * none, while a plain name comes back as it went (the embedded NUL's
 * check was dropped by a mutation unseen: seventeenth round). */
static void test_name_with_nul(void **state)
{
    /* each name, its length (NUL included where there is one), and what
     * the decrypted image's name is: NULL for none */
    static const struct {
        const char *name;
        size_t len;
        const char *back;
    } cases[] = {
        {"scan 1.png", sizeof "scan 1.png" - 1, "scan 1.png"},
        {"a\0b.png", sizeof "a\0b.png" - 1, NULL},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_image *plain = make_image(6, 4, 1, 8, 3), *img = NULL;
        uint8_t *cipher = NULL;
        size_t len;
        mc_key key;

        test_key(&key, 0);
        assert_int_equal(mc__side_add(plain, MC_SIDE_NAME, cases[k].name, cases[k].len), MC_OK);
        assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &len), MC_OK);
        assert_int_equal(mc_decrypt_image(ctx, &key, cipher, len, &img), MC_OK);
        if (cases[k].back != NULL)
            assert_string_equal(mc_image_name(img), cases[k].back);
        else
            assert_null(mc_image_name(img));
        mc_image_free(img);
        mc_image_free(plain);
        free(cipher);
    }
}

/* Offset of the first chunk of a type in a PNG, or 0. */
static size_t chunk_at(const uint8_t *png, size_t len, const char *type)
{
    size_t off = 8;
    while (off + 12 <= len) {
        size_t n = (size_t)png[off] << 24 | (size_t)png[off + 1] << 16 |
                   (size_t)png[off + 2] << 8 | png[off + 3];
        if (memcmp(png + off + 4, type, 4) == 0)
            return off;
        off += 12 + n;
    }
    return 0;
}

/* A cipher image as medcrypt writes it: its medcrypt chunk at *at, right
 * after IHDR, and its IEND at *iend, past the image data; the chunk's
 * whole length (12 + data) is returned. */
static size_t layout_as_written(const uint8_t *cipher, size_t len, size_t *at, size_t *iend)
{
    size_t n;

    *at = chunk_at(cipher, len, MC_CHUNK_TYPE);
    *iend = chunk_at(cipher, len, "IEND");
    n = 12 + mc__be32(cipher + *at);
    assert_true(*at == 33 && *iend > *at + n);
    return n;
}

/* The tag covers what a cipher image decodes to, not its PNG encoding
 * (FORMAT.md §2, SECURITY.md): the same image written with other row
 * filters (Sub and Up, where medcrypt writes None), zlib's level 9 instead
 * of stored blocks, and its image data split into two IDAT chunks, is
 * another file that decrypts to the same samples. */
static void test_reencoded_cipher(void **state)
{
    static const struct {
        uint32_t w, h;
        uint8_t c, bits;
    } cases[] = {{37, 23, 3, 8}, {29, 17, 1, 16}};
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_image *plain = make_image(cases[k].w, cases[k].h, cases[k].c, cases[k].bits, 40 + k);
        mc_image *dec = NULL;
        uint8_t *cipher = NULL, *raw, *filtered, *z, *png;
        size_t len, at, ihdr, n, bpp = (size_t)cases[k].c * cases[k].bits / 8;
        size_t row = 1 + cases[k].w * bpp, raw_len = row * cases[k].h, idat_len = 0, m = 8;
        uLongf z_len;
        mc_key key;

        test_key(&key, 0);
        assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &len), MC_OK);
        raw = malloc(raw_len);
        filtered = malloc(raw_len);
        z_len = compressBound((uLong)raw_len);
        z = malloc(z_len);
        png = malloc(len + z_len + 64);
        assert_non_null(raw);
        assert_non_null(filtered);
        assert_non_null(z);
        assert_non_null(png);
        /* the image data: every IDAT's data, one zlib stream */
        {
            uint8_t *cat = malloc(len);
            z_stream zs;
            assert_non_null(cat);
            for (size_t off = 8; off + 12 <= len;) {
                size_t c = mc__be32(cipher + off);
                if (memcmp(cipher + off + 4, "IDAT", 4) == 0) {
                    memcpy(cat + idat_len, cipher + off + 8, c);
                    idat_len += c;
                }
                off += 12 + c;
            }
            memset(&zs, 0, sizeof zs);
            assert_int_equal(inflateInit(&zs), Z_OK);
            zs.next_in = cat;
            zs.avail_in = (uInt)idat_len;
            zs.next_out = raw;
            zs.avail_out = (uInt)raw_len;
            assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
            assert_int_equal(zs.total_out, raw_len);
            inflateEnd(&zs);
            free(cat);
        }
        /* rows refiltered: Sub on even rows, Up on odd ones (PNG §9.2) */
        for (size_t y = 0; y < cases[k].h; y++) {
            const uint8_t *cur = raw + y * row + 1, *up = raw + (y - (y > 0)) * row + 1;
            uint8_t *out = filtered + y * row;
            assert_int_equal(raw[y * row], 0); /* medcrypt writes filter None */
            out[0] = y % 2 == 0 ? 1 : 2;
            for (size_t i = 0; i < row - 1; i++)
                out[1 + i] = y % 2 == 0 ? (uint8_t)(cur[i] - (i >= bpp ? cur[i - bpp] : 0))
                                        : (uint8_t)(cur[i] - (y > 0 ? up[i] : 0));
        }
        assert_int_equal(compress2(z, &z_len, filtered, (uLong)raw_len, 9), Z_OK);
        /* signature, IHDR and mcRY as they were, two IDATs, IEND */
        ihdr = chunk_at(cipher, len, "IHDR");
        at = chunk_at(cipher, len, MC_CHUNK_TYPE);
        assert_true(ihdr == 8 && at > ihdr);
        n = 12 + mc__be32(cipher + at);
        memcpy(png, cipher, at + n);
        m = at + n;
        m += put_chunk(png + m, "IDAT", z, (uint32_t)(z_len / 2));
        m += put_chunk(png + m, "IDAT", z + z_len / 2, (uint32_t)(z_len - z_len / 2));
        m += put_chunk(png + m, "IEND", NULL, 0);
        assert_true(m != len || memcmp(png, cipher, m) != 0);
        assert_int_equal(mc_decrypt_image(ctx, &key, png, m, &dec), MC_OK);
        assert_same_samples(plain, dec);
        mc_image_free(dec);
        mc_image_free(plain);
        free(png);
        free(z);
        free(filtered);
        free(raw);
        free(cipher);
    }
}

/* The chunks another program added to a cipher image (FORMAT.md §2: not
 * authenticated, left out by decryption) are named for a note: a tEXt
 * before medcrypt's chunk and again after the image data, a tIME, a type
 * that is no four letters; none for medcrypt's own chunks, for a cipher
 * image as written, for a plain PNG, or past a cut. */
static void test_foreign_chunks(void **state)
{
    static const uint8_t text[] = "Comment\0another patient";
    mc_image *plain = make_image(7, 5, 1, 8, 61), *dec = NULL;
    size_t len, at, n, m, iend, out_len = 0;
    uint8_t *cipher = NULL, *png, *out = NULL;
    char list[64];
    mc_key key;
    (void)state;

    test_key(&key, 0);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &len), MC_OK);
    memset(list, 'x', sizeof list);
    mc_cipher_foreign_chunks(cipher, len, list, sizeof list);
    assert_string_equal(list, "");
    png = malloc(len + 256);
    assert_non_null(png);
    /* signature and IHDR, tEXt, medcrypt's chunk and the image data, tIME,
     * tEXt again, a type with a digit, IEND */
    at = chunk_at(cipher, len, MC_CHUNK_TYPE);
    iend = chunk_at(cipher, len, "IEND");
    assert_true(at == 33 && iend > at);
    memcpy(png, cipher, 33);
    m = 33 + put_chunk(png + 33, "tEXt", text, sizeof text - 1);
    memcpy(png + m, cipher + at, iend - at);
    m += iend - at;
    m += put_chunk(png + m, "tIME", (const uint8_t[]){7, 234, 12, 7, 8, 0, 0}, 7);
    m += put_chunk(png + m, "tEXt", text, sizeof text - 1);
    n = m;
    m += put_chunk(png + m, "pr1V", NULL, 0);
    m += put_chunk(png + m, "IEND", NULL, 0);
    mc_cipher_foreign_chunks(png, m, list, sizeof list);
    assert_string_equal(list, "tEXt, tIME, pr?V");
    /* decrypted as if they were not there: the image, and no metadata */
    assert_int_equal(mc_decrypt_image(ctx, &key, png, m, &dec), MC_OK);
    assert_same_samples(plain, dec);
    assert_int_equal(mc_image_encode(ctx, dec, &out, &out_len), MC_OK);
    assert_int_equal(chunk_at(out, out_len, "tEXt") + chunk_at(out, out_len, "tIME"), 0);
    /* short of room: whole types, then "..." */
    mc_cipher_foreign_chunks(png, m, list, 11);
    assert_string_equal(list, "tEXt, ...");
    mc_cipher_foreign_chunks(png, m, list, 3);
    assert_string_equal(list, "");
    /* cut inside the last added chunk: the ones before it */
    mc_cipher_foreign_chunks(png, n + 6, list, sizeof list);
    assert_string_equal(list, "tEXt, tIME");
    /* a plain PNG with a tEXt: not a cipher image */
    mc_cipher_foreign_chunks(out, out_len, list, sizeof list);
    assert_string_equal(list, "");
    memcpy(png + 33 + 4, "IDAT", 4); /* medcrypt's chunk now after an IDAT: none */
    mc_cipher_foreign_chunks(png, m, list, sizeof list);
    assert_string_equal(list, "");
    mc_cipher_foreign_chunks(NULL, 0, list, sizeof list);
    assert_string_equal(list, "");
    mc_cipher_foreign_chunks(cipher, len, NULL, 0); /* nothing to write into */
    mc_image_free(dec);
    mc_image_free(plain);
    free(out);
    free(png);
    free(cipher);
}

/* Exactly one mcRY, before IDAT: a copy of it appended after the image
 * data, or the chunk moved there, is a modification. */
static void test_chunk_layout(void **state)
{
    size_t len, at, n, iend;
    uint8_t *cipher = small_cipher(&len), *edit = malloc(2 * len);
    mc_image *img = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    at = chunk_at(cipher, len, MC_CHUNK_TYPE);
    iend = chunk_at(cipher, len, "IEND");
    assert_true(at > 0 && iend > at);
    n = 12 + ((size_t)cipher[at + 2] << 8 | cipher[at + 3]);
    /* duplicate: ... IDAT, mcRY, IEND */
    memcpy(edit, cipher, iend);
    memcpy(edit + iend, cipher + at, n);
    memcpy(edit + iend + n, cipher + iend, len - iend);
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, len + n, &img), MC_ETAMPERED);
    /* moved: IHDR, IDAT, mcRY, IEND */
    memcpy(edit, cipher, at);
    memcpy(edit + at, cipher + at + n, iend - at - n);
    memcpy(edit + iend - n, cipher + at, n);
    memcpy(edit + iend, cipher + iend, len - iend);
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, len, &img), MC_ETAMPERED);
    /* an unrelated ancillary chunk (tEXt) inserted is harmless */
    {
        static const uint8_t text[] = {0, 0, 0, 5, 't', 'E', 'X', 't', 'a', 0, 'b', 'c', 'd',
                                       0x41, 0xbc, 0x7e, 0x6f}; /* CRC-32 */
        memcpy(edit, cipher, iend);
        memcpy(edit + iend, text, sizeof text);
        memcpy(edit + iend + sizeof text, cipher + iend, len - iend);
        assert_int_equal(mc_decrypt_image(ctx, &key, edit, len + sizeof text, &img), MC_OK);
        mc_image_free(img);
    }
    /* and so are unknown ones (FORMAT.md: readers ignore other ancillary
     * chunks), before mcRY and between it and IDAT: libspng 0.7.3 lists
     * only the first unknown chunk, and one before ours hid it: "not a
     * medcrypt cipher image", where mc_cipher_inspect read it */
    {
        mc_image *plain = NULL;
        size_t m = at;

        assert_int_equal(mc_decrypt_image(ctx, &key, cipher, len, &plain), MC_OK);
        memcpy(edit, cipher, at);
        m += put_chunk(edit + m, "teSt", (const uint8_t *)"before", 6);
        memcpy(edit + m, cipher + at, n);
        m += n;
        m += put_chunk(edit + m, "prVt", (const uint8_t *)"after", 5);
        memcpy(edit + m, cipher + at + n, len - at - n);
        m += len - at - n;
        assert_int_equal(mc_decrypt_image(ctx, &key, edit, m, &img), MC_OK);
        assert_int_equal(img->samples_len, plain->samples_len);
        assert_memory_equal(img->samples, plain->samples, plain->samples_len);
        mc_image_free(img);
        mc_image_free(plain);
    }
    free(cipher);
    free(edit);
}

/* Inspection and decryption (under test key 0) both refuse png (n bytes)
 * as modified, and neither gives an image; each with this detail unless
 * detail is NULL. what names the case in a failure. */
static void refused_as_modified(const uint8_t *png, size_t n, const char *what,
                                const char *detail)
{
    char seen[256];
    mc_cipher_info ci;
    mc_image *img = NULL;
    mc_key key;
    mc_err err;

    test_key(&key, 0);
    err = mc_cipher_inspect(ctx, png, n, &ci);
    snprintf(seen, sizeof seen, "%s", mc_ctx_last_detail(ctx));
    if (err != MC_ETAMPERED || (detail != NULL && strcmp(seen, detail) != 0))
        fail_msg("%s: inspect %s, detail '%s'", what, mc_strerror(err), seen);
    err = mc_decrypt_image(ctx, &key, png, n, &img);
    snprintf(seen, sizeof seen, "%s", mc_ctx_last_detail(ctx));
    if (err != MC_ETAMPERED || (detail != NULL && strcmp(seen, detail) != 0))
        fail_msg("%s: decrypt %s, detail '%s'", what, mc_strerror(err), seen);
    assert_null(img);
}

/* A cipher image re-encoded with another colour type or bit depth (a PNG
 * optimiser turns a small RGB image into a palette one): FORMAT.md §2
 * wants IHDR's colour type and depth to be C's and D's, and
 * mc_cipher_inspect refuses it; decryption must say the same (it
 * decrypted it, while inspect called it modified). */
static void test_ihdr_colour_type_as_inspect(void **state)
{
    size_t len, at, n, idat, raw_len = 3 * (1 + 5 * 3), plen = 0, out = 8;
    uint8_t *cipher = small_cipher(&len), raw[3 * (1 + 5 * 3)], idx[3 * (1 + 5)],
            plte[3 * 15], ihdr[13], z[256], *edit;
    uLongf zlen = sizeof z;
    (void)state;
    at = chunk_at(cipher, len, MC_CHUNK_TYPE);
    idat = chunk_at(cipher, len, "IDAT");
    assert_true(at > 0 && idat > at);
    n = 12 + mc__be32(cipher + at);
    assert_int_equal(uncompress(raw, &(uLongf){raw_len}, cipher + idat + 8, mc__be32(cipher + idat)),
                     Z_OK);
    for (size_t y = 0; y < 3; y++) { /* filter type 0, as medcrypt writes */
        idx[y * 6] = 0;
        for (size_t x = 0; x < 5; x++) {
            const uint8_t *px = raw + y * 16 + 1 + 3 * x;
            size_t i = 0;
            while (i < plen && memcmp(plte + 3 * i, px, 3) != 0)
                i++;
            if (i == plen)
                memcpy(plte + 3 * plen++, px, 3);
            idx[y * 6 + 1 + x] = (uint8_t)i;
        }
    }
    assert_int_equal(compress(z, &zlen, idx, sizeof idx), Z_OK);
    assert_non_null(edit = malloc(len + 512));
    memcpy(edit, cipher, 8);
    memcpy(ihdr, cipher + 16, 13);
    ihdr[8] = 8;
    ihdr[9] = 3; /* palette */
    out += put_chunk(edit + out, "IHDR", ihdr, 13);
    memcpy(edit + out, cipher + at, n);
    out += n;
    out += put_chunk(edit + out, "PLTE", plte, (uint32_t)(3 * plen));
    out += put_chunk(edit + out, "IDAT", z, (uint32_t)zlen);
    out += put_chunk(edit + out, "IEND", NULL, 0);
    refused_as_modified(edit, out, "a palette image's IHDR", NULL);
    free(edit);
    free(cipher);
}

/* A bit flipped in IHDR's width or height makes the image seem too large
 * for the pixel cap, which libspng checks before IHDR's CRC: it is still
 * a modification, not "image too large". A cipher image that really is
 * over the cap stays MC_ETOOBIG. */
static void test_ihdr_flip_not_too_big(void **state)
{
    size_t len;
    uint8_t *cipher = small_cipher(&len);
    mc_image *img = NULL;
    mc_ctx *small = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    /* 5 x 3 x 3 samples under a cap of 1000: a flipped high bit of the
     * width or the height (+2^24) goes far over it. */
    assert_int_equal(mc_ctx_new(&small), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(small, 1000), MC_OK);
    assert_int_equal(mc_decrypt_image(small, &key, cipher, len, &img), MC_OK);
    mc_image_free(img);
    img = NULL;
    for (size_t at = 16; at < 24; at += 4) { /* the high bytes of width, height */
        cipher[at] ^= 1;
        assert_int_equal(mc_decrypt_image(small, &key, cipher, len, &img), MC_ETAMPERED);
        cipher[at] ^= 1;
    }
    assert_int_equal(mc_ctx_set_max_samples(small, 10), MC_OK);
    assert_int_equal(mc_decrypt_image(small, &key, cipher, len, &img), MC_ETOOBIG);
    mc_ctx_free(small);
    free(cipher);
}

/* A writer that takes `left` pieces, then fails (a socket that drops). */
static int failing_write(void *user, const uint8_t *data, size_t len)
{
    int *left = user;
    (void)data;
    (void)len;
    return (*left)-- > 0 ? 0 : -1;
}

/* An image encrypted in place is spent, whatever the call returned: a
 * retry must not encrypt cipher samples again into an image that never
 * decrypts (MC_OK before), nor encode them as the plain image. */
static void test_spent_image(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("pnm/ct_small_12bit.pgm", &len), *cipher = NULL, *out = NULL,
            *plain = NULL;
    mc_image *img = NULL;
    mc_key key;
    int left = 3;
    (void)state;
    test_key(&key, 0);

    assert_int_equal(mc_image_decode(ctx, buf, len, "ct.pgm", &img), MC_OK);
    assert_int_equal(mc_encrypt_image_inplace(ctx, &key, img, &cipher, &clen), MC_OK);
    assert_int_equal(mc_encrypt_image_inplace(ctx, &key, img, &out, &len), MC_ESTATE);
    assert_int_equal(mc_encrypt_image(ctx, &key, img, &out, &len), MC_ESTATE);
    assert_int_equal(mc_image_encode(ctx, img, &out, &len), MC_ESTATE);
    assert_int_equal(mc_image_encode_png(ctx, img, &out, &len), MC_ESTATE);
    assert_null(out);
    {
        /* streamed: refused before a byte is written (mutation testing,
         * nineteenth round: the check dropped, the cipher samples went
         * out as a PGM) */
        int pieces = 8;
        assert_int_equal(mc_image_encode_to(ctx, img, failing_write, &pieces), MC_ESTATE);
        assert_int_equal(pieces, 8);
    }
    {
        /* measured again: its samples are the cipher's now (a review
         * found these two answering MC_OK) */
        mc_plane pl;
        uint8_t stream[64];
        assert_int_equal(mc_plane_of(img, 0, &pl), MC_ESTATE);
        assert_int_equal(mc_cipher_stream(&key, img, MC_STAGES_ALL, 0, stream, sizeof stream),
                         MC_ESTATE);
    }
    mc_image_free(img);
    /* the first cipher is whole */
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &plain, &len, NULL), MC_OK);
    free(plain);
    free(cipher);

    /* a streamed write that fails part way: spent too */
    len = 0;
    free(buf);
    buf = read_testdata("pnm/ct_small_12bit.pgm", &len);
    assert_int_equal(mc_image_decode(ctx, buf, len, "ct.pgm", &img), MC_OK);
    assert_int_equal(mc_encrypt_image_inplace_to(ctx, &key, img, failing_write, &left), MC_EIO);
    assert_int_equal(mc_encrypt_image(ctx, &key, img, &out, &clen), MC_ESTATE);
    assert_int_equal(mc_encrypt_image_inplace_to(ctx, &key, img, failing_write, &left),
                     MC_ESTATE);
    mc_image_free(img);
    free(buf);

    /* a DICOM image's facts too: MC_ESTATE, not MC_EINVAL, which says
     * "not a DICOM image" (an API audit) */
    {
        mc_dicom_info di;
        buf = read_testdata("dicom/ct_small_explicit_le.dcm", &len);
        assert_int_equal(mc_image_decode(ctx, buf, len, "ct.dcm", &img), MC_OK);
        assert_int_equal(mc_image_dicom_info(img, &di), MC_OK);
        assert_int_equal(mc_encrypt_image_inplace(ctx, &key, img, &cipher, &clen), MC_OK);
        assert_int_equal(mc_image_dicom_info(img, &di), MC_ESTATE);
        free(cipher);
        mc_image_free(img);
        free(buf);
    }
}

/* The medcrypt chunk's fixed fields that inspect checks without the key
 * (it cannot check the tag): an edit to one of them, its chunk CRC made
 * right, is refused by inspect as by decryption. */
static void test_inspect_header_fields(void **state)
{
    size_t len, clen, off = 8;
    uint8_t *buf = read_testdata("png/ct_512_8bit.png", &len), *cipher = NULL, *bad, *d;
    mc_cipher_info ci;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, "ct.png", &cipher, &clen), MC_OK);
    while (memcmp(cipher + off + 4, "mcRY", 4) != 0) {
        off += 12 + mc__be32(cipher + off);
        assert_true(off + 12 <= clen);
    }
    uint32_t n = mc__be32(cipher + off);
    assert_true(n >= MC_CHUNK_FIXED_BYTES);
    assert_non_null(bad = malloc(clen));

    const struct {
        size_t at;      /* offset in the chunk's data */
        uint32_t value; /* written big-endian, 1 or 4 bytes */
        int bytes;
        const char *what;
    } edits[] = {
        {9, MC_FORMAT_NONE, 1, "format none"},
        {9, MC_FORMAT_COUNT, 1, "format past the last"},
        {20, 0, 4, "zero frames"},
        {20, 3, 4, "frames not dividing the height"},
        {48, 0, 4, "side data length not the chunk's"}, /* a PNG's side data is not empty */
        {48, 0xffffffffu, 4, "side data length past the chunk"},
        {52, 1, 4, "reserved bytes not zero"},
        {52, 0x01000000u, 4, "reserved first byte not zero"},
    };
    assert_true(n > MC_CHUNK_FIXED_BYTES); /* else the side-length edit is no edit */
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(bad, cipher, clen);
        d = bad + off + 8;
        if (edits[i].bytes == 1)
            d[edits[i].at] = (uint8_t)edits[i].value;
        else
            mc__put_be32(d + edits[i].at, edits[i].value);
        mc__put_be32(d + n, (uint32_t)crc32(0, bad + off + 4, n + 4));
        mc_err e = mc_cipher_inspect(ctx, bad, clen, &ci);
        if (e != MC_ETAMPERED)
            fail_msg("%s: inspect says %s", edits[i].what, mc_strerror(e));
        e = mc_decrypt_image(ctx, &key, bad, clen, &(mc_image *){NULL});
        if (e != MC_ETAMPERED)
            fail_msg("%s: decryption says %s", edits[i].what, mc_strerror(e));
    }
    free(bad);
    free(cipher);
    free(buf);
}

/* mc_cipher_inspect reads the chunk list alone: the facts under any
 * pixel cap, and a damaged chunk, a cut or an appended byte refused as
 * decryption refuses them. */
static void test_inspect_chunks_only(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("png/ct_512_8bit.png", &len), *cipher = NULL, *bad;
    mc_ctx *tiny = NULL;
    mc_cipher_info ci;
    mc_key key;
    uint8_t id[MC_KEY_ID_BYTES];
    (void)state;
    test_key(&key, 0);
    mc_key_id(&key, id);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, "ct.png", &cipher, &clen), MC_OK);

    assert_int_equal(mc_ctx_new(&tiny), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(tiny, 10), MC_OK);
    assert_int_equal(mc_cipher_inspect(tiny, cipher, clen, &ci), MC_OK); /* no cap */
    assert_int_equal(ci.version, MC_FORMAT_VERSION);
    assert_memory_equal(ci.key_id, id, MC_KEY_ID_BYTES);
    assert_int_equal(ci.image.width, 512);
    assert_int_equal(ci.image.height, 512);
    assert_int_equal(ci.image.channels, 1);
    assert_int_equal(ci.image.bits, 8);
    assert_int_equal(ci.image.format, MC_FORMAT_PNG);
    assert_string_equal(ci.image.extension, "png");
    /* A cipher image is not encrypted again: its chunk would not travel
     * inside a second layer, and the first could never be opened. */
    {
        uint8_t *twice = NULL;
        size_t twice_len = 0;
        assert_int_equal(mc_encrypt_file(ctx, &key, cipher, clen, "ct.png.enc.png", &twice,
                                         &twice_len),
                         MC_EUNSUPPORTED);
        assert_null(twice);
        assert_string_equal(mc_ctx_last_detail(ctx),
                            "already a medcrypt cipher image: not encrypted again (decrypt it "
                            "first)");
    }

    assert_non_null(bad = malloc(clen + 64));
    /* a chunk and a second IEND after the IEND: a modification, for
     * decryption too (it once checked only the last 12 bytes) */
    memcpy(bad, cipher, clen);
    {
        size_t n = clen;
        n += put_chunk(bad + n, "tEXt", (const uint8_t *)"k\0v", 3);
        n += put_chunk(bad + n, "IEND", NULL, 0);
        refused_as_modified(bad, n, "a tEXt and an IEND after IEND", NULL);
    }
    memcpy(bad, cipher, clen);
    bad[clen / 2] ^= 0x01; /* inside IDAT: its CRC fails */
    assert_int_equal(mc_cipher_inspect(ctx, bad, clen, &ci), MC_ETAMPERED);
    /* under a cap its size exceeds too, decryption says what inspection
     * says (it said "too large", its samples not read) */
    assert_int_equal(mc_decrypt_image(tiny, &key, bad, clen, &(mc_image *){NULL}), MC_ETAMPERED);
    assert_int_equal(mc_ctx_last_cap(tiny), 0);
    assert_string_equal(mc_ctx_last_detail(tiny), "");
    /* whole, it is too large for that cap, and the cap is said */
    assert_int_equal(mc_decrypt_image(tiny, &key, cipher, clen, &(mc_image *){NULL}), MC_ETOOBIG);
    assert_int_equal(mc_ctx_last_cap(tiny), 10);
    memcpy(bad, cipher, clen);
    bad[clen] = 0; /* one byte appended after IEND */
    assert_int_equal(mc_cipher_inspect(ctx, bad, clen + 1, &ci), MC_ETAMPERED);
    assert_int_equal(mc_cipher_inspect(ctx, cipher, clen - 1, &ci), MC_ETAMPERED); /* cut */
    assert_int_equal(mc_cipher_inspect(ctx, cipher, 40, &ci), MC_ETAMPERED);
    /* IHDR's width changed, its CRC made right: not the header's geometry */
    memcpy(bad, cipher, clen);
    mc__put_be32(bad + 16, 511);
    mc__put_be32(bad + 29, (uint32_t)crc32(0, bad + 12, 17));
    refused_as_modified(bad, clen, "IHDR's width 511", NULL);
    /* and made larger, over the cap: modified, not "too large" with a
     * larger cap to offer (an API review: decryption refused the fake
     * size before it looked further, and the analysis of a given cipher
     * image the same) */
    mc__put_be32(bad + 16, 60000);
    mc__put_be32(bad + 29, (uint32_t)crc32(0, bad + 12, 17));
    assert_int_equal(mc_cipher_inspect(ctx, bad, clen, &ci), MC_ETAMPERED);
    assert_int_equal(mc_decrypt_image(tiny, &key, bad, clen, &(mc_image *){NULL}), MC_ETAMPERED);
    assert_int_equal(mc_ctx_last_cap(tiny), 0);
    assert_int_equal(mc_decrypt_image(ctx, &key, bad, clen, &(mc_image *){NULL}), MC_ETAMPERED);
    {
        mc_image *plain = NULL;
        mc_analysis *a = NULL;
        assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &plain), MC_OK);
        assert_int_equal(mc_analyze(tiny, &key, plain, bad, clen, &a), MC_ETAMPERED);
        assert_null(a);
        mc_image_free(plain);
    }
    assert_int_equal(mc_cipher_inspect(ctx, buf, len, &ci), MC_ENOTCIPHER);
    /* a signature alone is cut short, as decryption says too */
    refused_as_modified(cipher, 8, "the signature alone", NULL);

    free(bad);
    mc_ctx_free(tiny);
    free(cipher);
    free(buf);
}

/* mc_png_dropped_chunks: a PNG's ancillary chunks its decrypted PNG
 * cannot carry, each type named once for the user (docs/FORMAT.md §3):
 * a palette's bKGD (an index; its tRNS is kept, as alpha, and not
 * named), a 4-bit grey's tRNS and bKGD when they are not a grey level
 * (one byte here), unknown unsafe-to-copy ones, damaged ones; critical
 * chunks never. */
static void test_png_dropped_chunks(void **state)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    uint8_t png[512], ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 1, 8, 3, 0, 0, 0};
    char list[64];
    size_t n = 0, bad;
    (void)state;

    memcpy(png, sig, 8);
    n = 8;
    n += put_chunk(png + n, "IHDR", ihdr, 13);
    n += put_chunk(png + n, "gAMA", (const uint8_t *)"\0\0\xb1\x8f", 4);
    n += put_chunk(png + n, "PLTE", (const uint8_t *)"\1\2\3\4\5\6", 6);
    n += put_chunk(png + n, "tRNS", (const uint8_t *)"\x80", 1);
    n += put_chunk(png + n, "bKGD", (const uint8_t *)"\1", 1);
    n += put_chunk(png + n, "tEXt", (const uint8_t *)"a\0b", 3);
    n += put_chunk(png + n, "prVT", (const uint8_t *)"x", 1); /* unknown, unsafe to copy */
    n += put_chunk(png + n, "prVt", (const uint8_t *)"x", 1); /* unknown, safe: kept */
    n += put_chunk(png + n, "IDAT", (const uint8_t *)"x", 1);
    bad = n;
    n += put_chunk(png + n, "iTXt", (const uint8_t *)"c\0\0\0\0d", 6);
    png[n - 1] ^= 1; /* its CRC */
    n += put_chunk(png + n, "IEND", NULL, 0);
    mc_png_dropped_chunks(png, n, list, sizeof list);
    assert_string_equal(list, "bKGD, prVT, iTXt"); /* palette: its tRNS is its alpha now */
    png[8 + 8 + 9] = 2;                            /* RGB 8-bit: the same layout back */
    mc_png_dropped_chunks(png, n, list, sizeof list);
    assert_string_equal(list, "prVT, iTXt");
    png[8 + 8 + 8] = 4;                            /* grey 4-bit: widened to 8 */
    png[8 + 8 + 9] = 0;
    mc_png_dropped_chunks(png, n, list, sizeof list);
    assert_string_equal(list, "tRNS, bKGD, prVT, iTXt");
    /* Short of room: whole types, then "..." for those left out (a list
     * cut short read as all of them). */
    mc_png_dropped_chunks(png, n, list, 11); /* room for two types only */
    assert_string_equal(list, "tRNS, ...");
    mc_png_dropped_chunks(png, n, list, 17); /* two types and ", ..." */
    assert_string_equal(list, "tRNS, bKGD, ...");
    mc_png_dropped_chunks(png, n, list, 23); /* all four exactly */
    assert_string_equal(list, "tRNS, bKGD, prVT, iTXt");
    mc_png_dropped_chunks(png, n, list, 22); /* one byte short of them */
    assert_string_equal(list, "tRNS, bKGD, prVT, ...");
    mc_png_dropped_chunks(png, n, list, 15); /* two types, ", ..." one short: one type back */
    assert_string_equal(list, "tRNS, ...");
    mc_png_dropped_chunks(png, n, list, 5); /* one type and its NUL */
    assert_string_equal(list, "...");
    mc_png_dropped_chunks(png, n, list, 4); /* "..." exactly (twenty-second round) */
    assert_string_equal(list, "...");
    mc_png_dropped_chunks(png, n, list, 3); /* not even "..." */
    assert_string_equal(list, "");
    mc_png_dropped_chunks(png, bad + 9, list, sizeof list); /* cut inside the iTXt */
    assert_string_equal(list, "tRNS, bKGD, prVT, iTXt");
    mc_png_dropped_chunks((const uint8_t *)"P5\n1 1\n255\n\0", 13, list, sizeof list);
    assert_string_equal(list, "");
    mc_png_dropped_chunks(NULL, 0, list, sizeof list);
    assert_string_equal(list, "");

    /* Every known type that is unsafe to copy (its fourth letter upper
     * case) is kept all the same: it speaks of the pixels, which come back
     * exact (mutation testing, twenty-second round: cICP, mDCV, sTER
     * taken off the list, no check failed). */
    {
        static const char *const unsafe_known[] = {"cHRM", "gAMA", "iCCP", "sRGB",
                                                   "cICP", "mDCV", "cLLI", "sPLT",
                                                   "tIME", "pCAL", "sCAL", "sTER"};
        uint8_t all[8 + 25 + 12 * 13 + 13 + 12];
        size_t m = 8;
        memcpy(all, sig, 8);
        ihdr[9] = 2; /* RGB 8-bit */
        m += put_chunk(all + m, "IHDR", ihdr, 13);
        for (size_t i = 0; i < sizeof unsafe_known / sizeof unsafe_known[0]; i++)
            m += put_chunk(all + m, unsafe_known[i], (const uint8_t *)"x", 1);
        m += put_chunk(all + m, "IDAT", (const uint8_t *)"x", 1);
        m += put_chunk(all + m, "IEND", NULL, 0);
        assert_int_equal(m, sizeof all);
        mc_png_dropped_chunks(all, m, list, sizeof list);
        assert_string_equal(list, "");
    }
}

/* The chunk of type t in the PNG (whole: length, type, data, CRC), or
 * NULL; *before: whether it comes before the first IDAT. */
static const uint8_t *find_chunk(const uint8_t *png, size_t len, const char t[4], bool *before)
{
    *before = true;
    for (size_t off = 8; off + 12 <= len; off += 12 + mc__be32(png + off)) {
        if (memcmp(png + off + 4, "IDAT", 4) == 0)
            *before = false;
        if (memcmp(png + off + 4, t, 4) == 0)
            return png + off;
    }
    return NULL;
}

/* The chunk of type t of the PNG came back in the decrypted PNG byte
 * for byte; whether it lies before the first IDAT there. */
static bool chunk_came_back(const uint8_t *png, size_t n, const uint8_t *back, size_t blen,
                            const char t[4])
{
    bool where;
    const uint8_t *orig = find_chunk(png, n, t, &where);
    const uint8_t *got = find_chunk(back, blen, t, &where);

    assert_non_null(orig);
    if (got == NULL)
        fail_msg("%.4s was not kept", t);
    assert_memory_equal(got, orig, 12 + mc__be32(orig));
    return where;
}

/* A PNG's ancillary chunks travel encrypted in the side data and come
 * back, byte for byte and on their side of IDAT, in the decrypted PNG
 * (they were dropped: text, pHYs, iCCP, a 16-bit image's sBIT...); those
 * it cannot carry do not. */
static void test_png_metadata_kept(void **state)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    uint8_t png[1024], ihdr[13] = {0, 0, 0, 3, 0, 0, 0, 2, 16, 2, 0, 0, 0}; /* 3x2 RGB16 */
    uint8_t raw[2 * (1 + 3 * 6)], z[256];
    uLongf zlen = sizeof z;
    uint8_t *cipher = NULL, *back = NULL;
    size_t n, clen, blen;
    const char *kept[] = {"gAMA", "pHYs", "sBIT", "tRNS", "tEXt", "prVt", "tIME", "zTXt"};
    const bool before[] = {true, true, true, true, true, true, false, false};
    mc_image_info info;
    mc_key key;
    bool where;
    (void)state;
    test_key(&key, 0);

    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = i % 19 == 0 ? 0 : (uint8_t)(i * 37); /* filter 0, then samples */
    assert_int_equal(compress(z, &zlen, raw, sizeof raw), Z_OK);
    memcpy(png, sig, 8);
    n = 8;
    n += put_chunk(png + n, "IHDR", ihdr, 13);
    n += put_chunk(png + n, "gAMA", (const uint8_t *)"\0\0\xb1\x8f", 4);
    n += put_chunk(png + n, "pHYs", (const uint8_t *)"\0\0\x0b\x13\0\0\x0b\x13\1", 9);
    n += put_chunk(png + n, "sBIT", (const uint8_t *)"\x0c\x0c\x0c", 3);
    n += put_chunk(png + n, "tRNS", (const uint8_t *)"\0\1\0\2\0\3", 6);
    n += put_chunk(png + n, "tEXt", (const uint8_t *)"Comment\0study 42", 16);
    n += put_chunk(png + n, "prVt", (const uint8_t *)"safe", 4);
    n += put_chunk(png + n, "prVT", (const uint8_t *)"unsafe", 6);
    n += put_chunk(png + n, "IDAT", z, (uint32_t)zlen);
    n += put_chunk(png + n, "tIME", (const uint8_t *)"\x07\xea\x0c\x03\x0a\0\0", 7);
    n += put_chunk(png + n, "zTXt", (const uint8_t *)"k\0\0x\x9c\x03\0\0\0\0\1", 11);
    n += put_chunk(png + n, "IEND", NULL, 0);

    assert_int_equal(mc_encrypt_file(ctx, &key, png, n, "meta.png", &cipher, &clen), MC_OK);
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &blen, &info), MC_OK);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        assert_int_equal(chunk_came_back(png, n, back, blen, kept[i]), before[i]);
    assert_null(find_chunk(back, blen, "prVT", &where));
    /* the pixels are the original's, and the file decodes again */
    {
        mc_image *a = NULL, *b = NULL;
        const uint8_t *sa, *sb;
        size_t la, lb;
        assert_int_equal(mc_image_decode(ctx, png, n, NULL, &a), MC_OK);
        assert_int_equal(mc_image_decode(ctx, back, blen, NULL, &b), MC_OK);
        sa = mc_image_samples_const(a, &la);
        sb = mc_image_samples_const(b, &lb);
        assert_int_equal(la, 36);
        assert_int_equal(lb, la);
        assert_memory_equal(sa, sb, la);
        mc_image_free(a);
        mc_image_free(b);
    }
    free(cipher);
    free(back);
}

/* A grey PNG of 8 or 16 bits keeps its depth: its tRNS, bKGD and sBIT
 * come back as they were, not rewritten as a low-bit grey's are
 * (mutation testing, twenty-second round: rewritten at 16 bits, a tRNS
 * of 0x1234 came back as level 0). */
static void test_png_grey16_levels(void **state)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    static const char *const types[] = {"sBIT", "tRNS", "bKGD"};
    uint8_t png[256], ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 1, 16, 0, 0, 0, 0}; /* 2x1 grey 16 */
    uint8_t raw[5] = {0, 0x12, 0x34, 0xab, 0xcd}, z[64], *cipher = NULL, *back = NULL;
    uLongf zlen = sizeof z;
    size_t n = 8, clen, blen;
    mc_ctx *ctx = NULL;
    mc_image_info info;
    mc_key key;
    (void)state;

    test_key(&key, 0);
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    assert_int_equal(compress(z, &zlen, raw, sizeof raw), Z_OK);
    memcpy(png, sig, 8);
    n += put_chunk(png + n, "IHDR", ihdr, 13);
    n += put_chunk(png + n, "sBIT", (const uint8_t *)"\x0c", 1);
    n += put_chunk(png + n, "tRNS", (const uint8_t *)"\x12\x34", 2);
    n += put_chunk(png + n, "bKGD", (const uint8_t *)"\xab\xcd", 2);
    n += put_chunk(png + n, "IDAT", z, (uint32_t)zlen);
    n += put_chunk(png + n, "IEND", NULL, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, png, n, "g16.png", &cipher, &clen), MC_OK);
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &blen, &info), MC_OK);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        (void)chunk_came_back(png, n, back, blen, types[i]);
    free(cipher);
    free(back);
    mc_ctx_free(ctx);
}

/* A grey PNG under 8 bits comes back widened to 8 bits (v · 255 /
 * (2^depth − 1)); its tRNS and bKGD grey levels come back scaled the
 * same way, so that they name the same pixels and background, and its
 * sBIT unchanged (the old bits are the top bits of the new). They used
 * to be dropped (a review). A level the old depth cannot hold, or an
 * sBIT above it, is the file's error: dropped, and named. */
static void test_png_low_bit_grey_metadata(void **state)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    static const struct {
        uint8_t depth;
        uint8_t trns[2], bkgd[2], sbit; /* in the original's terms */
        uint8_t trns8, bkgd8;           /* the widened levels */
    } cases[] = {
        {4, {0, 3}, {0, 15}, 3, 51, 255},
        {2, {0, 1}, {0, 2}, 2, 85, 170},
        {1, {0, 1}, {0, 0}, 1, 255, 0},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t png[512], ihdr[13] = {0, 0, 0, 4, 0, 0, 0, 2, cases[k].depth, 0, 0, 0, 0};
        uint8_t raw[2 * 3], z[64], want[14], *cipher = NULL, *back = NULL;
        size_t row = 1 + (4 * cases[k].depth + 7) / 8; /* filter byte, 4 pixels */
        uLongf zlen = sizeof z;
        size_t n = 8, clen, blen;
        const uint8_t *got;
        char list[64];
        bool where;
        mc_key key;
        struct spng_trns trns;
        struct spng_bkgd bkgd;
        struct spng_sbit sbit;
        spng_ctx *sc;
        test_key(&key, 0);

        memset(raw, 0, sizeof raw); /* two rows: filter 0, then the levels */
        raw[1] = 0x12;
        assert_int_equal(compress(z, &zlen, raw, 2 * row), Z_OK);
        memcpy(png, sig, 8);
        n += put_chunk(png + n, "IHDR", ihdr, 13);
        n += put_chunk(png + n, "sBIT", &cases[k].sbit, 1);
        n += put_chunk(png + n, "tRNS", cases[k].trns, 2);
        n += put_chunk(png + n, "bKGD", cases[k].bkgd, 2);
        n += put_chunk(png + n, "IDAT", z, (uint32_t)zlen);
        n += put_chunk(png + n, "IEND", NULL, 0);
        mc_png_dropped_chunks(png, n, list, sizeof list);
        assert_string_equal(list, "");
        assert_int_equal(mc_encrypt_file(ctx, &key, png, n, "grey.png", &cipher, &clen), MC_OK);
        assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &blen, NULL), MC_OK);
        assert_int_equal(back[24], 8); /* widened */
        put_chunk(want, "tRNS", (const uint8_t[]){0, cases[k].trns8}, 2);
        assert_non_null(got = find_chunk(back, blen, "tRNS", &where));
        assert_memory_equal(got, want, 14);
        put_chunk(want, "bKGD", (const uint8_t[]){0, cases[k].bkgd8}, 2);
        assert_non_null(got = find_chunk(back, blen, "bKGD", &where));
        assert_memory_equal(got, want, 14);
        put_chunk(want, "sBIT", &cases[k].sbit, 1);
        assert_non_null(got = find_chunk(back, blen, "sBIT", &where));
        assert_memory_equal(got, want, 13);
        /* and a PNG reader takes them so */
        assert_non_null(sc = spng_ctx_new(0));
        assert_int_equal(spng_set_png_buffer(sc, back, blen), 0);
        assert_int_equal(spng_get_trns(sc, &trns), 0);
        assert_int_equal(trns.gray, cases[k].trns8);
        assert_int_equal(spng_get_bkgd(sc, &bkgd), 0);
        assert_int_equal(bkgd.gray, cases[k].bkgd8);
        assert_int_equal(spng_get_sbit(sc, &sbit), 0);
        assert_int_equal(sbit.grayscale_bits, cases[k].sbit);
        spng_ctx_free(sc);
        free(cipher);
        free(back);

        /* out of the old depth's range: the file's error, not kept */
        n = 8;
        n += put_chunk(png + n, "IHDR", ihdr, 13);
        n += put_chunk(png + n, "sBIT", (const uint8_t[]){(uint8_t)(cases[k].depth + 1)}, 1);
        n += put_chunk(png + n, "tRNS", (const uint8_t[]){0, (uint8_t)(1u << cases[k].depth)}, 2);
        n += put_chunk(png + n, "bKGD", (const uint8_t[]){1, 0}, 2);
        n += put_chunk(png + n, "IDAT", z, (uint32_t)zlen);
        n += put_chunk(png + n, "IEND", NULL, 0);
        mc_png_dropped_chunks(png, n, list, sizeof list);
        assert_string_equal(list, "sBIT, tRNS, bKGD");
        assert_int_equal(mc_encrypt_file(ctx, &key, png, n, "grey.png", &cipher, &clen), MC_OK);
        assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &blen, NULL), MC_OK);
        assert_null(find_chunk(back, blen, "sBIT", &where));
        assert_null(find_chunk(back, blen, "tRNS", &where));
        assert_null(find_chunk(back, blen, "bKGD", &where));
        free(cipher);
        free(back);
    }
}

/* A low-bit grey's sBIT of 0 and a tRNS that is not two bytes are the
 * file's errors (PNG §11.3.2.1, §11.3.3.5): not kept (the tRNS would be
 * rewritten as two bytes under a length of three), and named. Kept
 * chunks take at most 8 MiB (META_MAX_BYTES), whole: a chunk of exactly
 * that is kept, one byte more is named. Mutation testing, second round. */
static void test_png_dropped_chunks_limits(void **state)
{
    uint8_t ihdr[13] = {0, 0, 0, 4, 0, 0, 0, 2, 4, 0, 0, 0, 0}; /* 4x2 grey, 4 bits */
    size_t big = ((size_t)8 << 20) - 12, n;
    uint8_t *png = malloc(big + 1 + 256), *text = malloc(big + 1);
    char list[64];
    (void)state;

    assert_non_null(png);
    assert_non_null(text);
    memset(text, 'a', big + 1);
    n = put_png(png, ihdr, "sBIT", (const uint8_t *)"\0", 1, (const uint8_t *)"x", 1);
    mc_png_dropped_chunks(png, n, list, sizeof list);
    assert_string_equal(list, "sBIT");
    n = put_png(png, ihdr, "tRNS", (const uint8_t *)"\0\3\0", 3, (const uint8_t *)"x", 1);
    mc_png_dropped_chunks(png, n, list, sizeof list);
    assert_string_equal(list, "tRNS");

    for (size_t extra = 0; extra < 2; extra++) {
        n = put_png(png, ihdr, "tEXt", text, (uint32_t)(big + extra), (const uint8_t *)"x", 1);
        mc_png_dropped_chunks(png, n, list, sizeof list);
        assert_string_equal(list, extra == 0 ? "" : "tEXt");
    }
    /* Only kept chunks count: 8 MiB of an unknown unsafe chunk, dropped,
     * leaves the whole 8 MiB for a tEXt after it (mutation testing,
     * twenty-second round: every chunk counted, the tEXt was dropped). */
    {
        static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
        uint8_t *two = malloc(2 * big + 256);
        size_t m = 8;
        assert_non_null(two);
        memcpy(two, sig, 8);
        m += put_chunk(two + m, "IHDR", ihdr, 13);
        m += put_chunk(two + m, "prVT", text, (uint32_t)big);
        m += put_chunk(two + m, "tEXt", text, (uint32_t)big);
        m += put_chunk(two + m, "IDAT", (const uint8_t *)"x", 1);
        m += put_chunk(two + m, "IEND", NULL, 0);
        mc_png_dropped_chunks(two, m, list, sizeof list);
        assert_string_equal(list, "prVT");
        free(two);
    }
    free(text);
    free(png);
}

/* Side data past libspng's 256 MiB of chunks: a PGM of many images (a CT
 * series as one netpbm stream) keeps the later ones as its trailer, and
 * its cipher image used to encrypt and then never decrypt ("modified or
 * damaged": the reader's chunk cache limit; a review). Now read back
 * whole. About 1 GiB of memory and seconds of work: in the release build
 * only (ASan's shadow and redzones would triple both). */
static void test_side_data_past_256_mib(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    skip();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    skip();
#endif
#endif
    size_t n = ((size_t)256 << 20) + 4096, len, clen;
    mc_image *plain = make_image(4, 4, 1, 8, 3), *back = NULL;
    uint8_t *trailer = malloc(n), *cipher = NULL;
    const uint8_t *got;
    mc_key key;
    (void)state;
    test_key(&key, 0);

    assert_non_null(trailer);
    for (size_t i = 0; i < n; i++)
        trailer[i] = (uint8_t)(i * 31 + (i >> 20));
    plain->format = MC_FORMAT_PNM;
    assert_int_equal(mc__side_add(plain, MC_SIDE_PNM_TRAILER, trailer, n), MC_OK);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &clen), MC_OK);
    assert_true(clen > n);
    assert_int_equal(mc_decrypt_image(ctx, &key, cipher, clen, &back), MC_OK);
    assert_same_samples(plain, back);
    assert_true(mc__side_find(back->side, back->side_len, MC_SIDE_PNM_TRAILER, &got, &len));
    assert_int_equal(len, n);
    assert_memory_equal(got, trailer, n);
    mc_image_free(back);
    mc_free(cipher);
    free(trailer);
    mc_image_free(plain);
}

/* Side data that medcrypt's chunk cannot hold (PNG bounds a chunk at
 * 2^31 - 1 bytes, 88 of them the header's) is refused before any sample
 * is touched: MC_ETOOBIG, the samples as they were. Only the length is
 * read before the refusal, so no 2 GiB is needed. */
static void test_side_data_too_large(void **state)
{
    mc_image *plain = make_image(8, 4, 1, 8, 11), *same = make_image(8, 4, 1, 8, 11);
    uint8_t nonce[MC_NONCE_BYTES] = {0};
    mc__header hdr;
    mc_key key;
    (void)state;
    test_key(&key, 0);

    assert_null(plain->side);
    plain->side_len = 0x7fffffffu - MC_CHUNK_FIXED_BYTES + 1;
    assert_int_equal(mc__encrypt_inplace_v(&key, plain, nonce, MC_FORMAT_VERSION, MC_STAGES_ALL,
                                           &hdr, 1),
                     MC_ETOOBIG);
    plain->side_len = 0;
    assert_same_samples(same, plain);
    /* and the image, untouched, still encrypts */
    assert_int_equal(mc__encrypt_inplace_v(&key, plain, nonce, MC_FORMAT_VERSION, MC_STAGES_ALL,
                                           &hdr, 1),
                     MC_OK);
    mc_image_free(plain);
    mc_image_free(same);
}

/* A record of PNG chunks that is not whole ancillary chunks with their
 * CRCs (only a key holder could have written one: the side data is
 * authenticated) is left out of the decrypted PNG, which stays valid; a
 * good record beside it is written. */
static void test_png_metadata_bad_record(void **state)
{
    mc_image *plain = make_image(4, 3, 1, 8, 7), *a = NULL;
    uint8_t good[64], bad[64], *cipher = NULL, *back = NULL;
    size_t glen, blen, clen, len;
    bool where;
    mc_key key;
    (void)state;
    test_key(&key, 0);

    plain->format = MC_FORMAT_PNG;
    glen = put_chunk(good, "tEXt", (const uint8_t *)"a\0b", 3);
    blen = put_chunk(bad, "IDAT", (const uint8_t *)"x", 1); /* critical: refused */
    assert_int_equal(mc__side_add(plain, MC_SIDE_PNG_BEFORE, bad, blen), MC_OK);
    assert_int_equal(mc__side_add(plain, MC_SIDE_PNG_AFTER, good, glen), MC_OK);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &clen), MC_OK);
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &len, NULL), MC_OK);
    {
        /* one IDAT only: the encoder's (the record's was left out) */
        int idats = 0;
        for (size_t off = 8; off + 12 <= len; off += 12 + mc__be32(back + off))
            idats += memcmp(back + off + 4, "IDAT", 4) == 0 &&
                     memcmp(back + off + 8, "x", 1) == 0 && mc__be32(back + off) == 1;
        assert_int_equal(idats, 0);
    }
    assert_non_null(find_chunk(back, len, "tEXt", &where));
    assert_false(where); /* after IDAT, as recorded */
    assert_int_equal(mc_image_decode(ctx, back, len, NULL, &a), MC_OK); /* a valid PNG */
    mc_image_free(a);
    free(back);
    free(cipher);
    /* a chunk whose CRC does not hold: refused too */
    mc_image_free(plain);
    plain = make_image(4, 3, 1, 8, 7);
    plain->format = MC_FORMAT_PNG;
    good[glen - 1] ^= 1;
    assert_int_equal(mc__side_add(plain, MC_SIDE_PNG_BEFORE, good, glen), MC_OK);
    assert_int_equal(mc_encrypt_image(ctx, &key, plain, &cipher, &clen), MC_OK);
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, &len, NULL), MC_OK);
    assert_null(find_chunk(back, len, "tEXt", &where));
    free(back);
    free(cipher);
    mc_image_free(plain);
}

/* A 4 x 3 image carrying these side data bytes, encrypted, then
 * decrypted: what decryption says, and the image it gives. */
static mc_err side_round_trip(const mc_key *key, const char *bytes, size_t len, mc_image **back)
{
    mc_image *plain = make_image(4, 3, 1, 8, 7);
    uint8_t *cipher = NULL;
    size_t clen;
    mc_err e;

    assert_non_null(plain->side = malloc(len));
    memcpy(plain->side, bytes, len);
    plain->side_len = len;
    assert_int_equal(mc_encrypt_image(ctx, key, plain, &cipher, &clen), MC_OK);
    e = mc_decrypt_image(ctx, key, cipher, clen, back);
    mc_free(cipher);
    mc_image_free(plain);
    return e;
}

/* Side data that is authentic (its tag holds: written by a key holder)
 * but is not a sequence of whole records is refused as damaged
 * (MC_ETAMPERED), as mc__decrypt_inplace says: cut inside a record's
 * header, a record running past the end, stray bytes after a good record.
 * Mutation testing, second round (cipher.c: the mc__side_valid check
 * dropped), and image.c's side_walk bounds. */
static void test_side_data_malformed(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\0\1\0", 3},
        {"\0\1\0\0\0", 5},
        {"\0\1\0\0\0\3ab", 8},
        {"\0\1\0\0\0\2ab\0", 9},
        {"\0\1\0\0\0\2ab\0\1\0\0\0\1", 14},
    };
    static const char whole[] = "\0\1\0\0\0\2ab\0\1\0\0\0\0";
    mc_image *back = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_false(mc__side_valid((const uint8_t *)cases[i].bytes, cases[i].len));
        assert_int_equal(side_round_trip(&key, cases[i].bytes, cases[i].len, &back),
                         MC_ETAMPERED);
        assert_null(back);
    }
    /* and the same records whole are taken */
    assert_true(mc__side_valid((const uint8_t *)whole, 14));
    assert_int_equal(side_round_trip(&key, whole, 14, &back), MC_OK);
    assert_int_equal(back->side_len, 14);
    assert_memory_equal(back->side, whole, 14);
    mc_image_free(back);
}

/* A copy of a cipher image at out with medcrypt's chunk's data replaced
 * by n bytes of data, its CRC made right; the copy's length. */
static size_t with_medcrypt_data(const uint8_t *cipher, size_t len, const uint8_t *data,
                                 uint32_t n, uint8_t *out)
{
    size_t at = chunk_at(cipher, len, MC_CHUNK_TYPE), old;
    assert_true(at > 0);
    old = 12 + (size_t)mc__be32(cipher + at);
    memcpy(out, cipher, at);
    put_chunk(out + at, MC_CHUNK_TYPE, data, n);
    memcpy(out + at + 12 + n, cipher + at + old, len - at - old);
    return len - old + 12 + n;
}

/* medcrypt's chunk must start with its magic (FORMAT.md §5), and one too
 * short for the header is modified whatever bytes follow it (mutation
 * testing, forty-seventh round): the tag (§4.1) covers the header with
 * medcrypt's own magic, not the file's, so a changed magic with its CRC
 * made right decrypted when the check was dropped; and a chunk of the
 * magic alone, read one byte further, took its CRC's first byte for the
 * version ("format version 90"). */
static void test_header_magic_and_length(void **state)
{
    static const uint32_t cut[] = {8, 9, MC_CHUNK_FIXED_BYTES - 1};
    size_t len, at, m;
    uint32_t n;
    uint8_t *cipher = small_cipher(&len), *edit, *data;
    mc_image *img = NULL;
    char what[64];
    mc_key key;
    (void)state;

    test_key(&key, 0);
    at = chunk_at(cipher, len, MC_CHUNK_TYPE);
    n = mc__be32(cipher + at);
    assert_true(at > 0 && n > MC_CHUNK_FIXED_BYTES);
    assert_non_null(edit = malloc(len));
    assert_non_null(data = malloc(n));
    /* the data as it was: the same file, which decrypts */
    memcpy(data, cipher + at + 8, n);
    assert_int_equal(with_medcrypt_data(cipher, len, data, n, edit), len);
    assert_memory_equal(edit, cipher, len);
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, len, &img), MC_OK);
    mc_image_free(img);
    img = NULL;
    for (size_t i = 0; i < 8; i++) { /* "medcrypt" with one letter's case changed */
        memcpy(data, cipher + at + 8, n);
        data[i] ^= 0x20;
        m = with_medcrypt_data(cipher, len, data, n, edit);
        snprintf(what, sizeof what, "magic byte %zu changed", i);
        refused_as_modified(edit, m, what, NULL);
    }
    /* the magic alone; with version 3; all but the tag's last byte */
    for (size_t k = 0; k < sizeof cut / sizeof cut[0]; k++) {
        memcpy(data, cipher + at + 8, n);
        m = with_medcrypt_data(cipher, len, data, cut[k], edit);
        snprintf(what, sizeof what, "medcrypt's chunk of %u bytes", cut[k]);
        refused_as_modified(edit, m, what, NULL);
    }
    free(data);
    free(edit);
    free(cipher);
}

/* mc_cipher_inspect refuses, from the chunk list alone, what decryption
 * refuses (mutation testing, forty-seventh round: inspect's tests changed
 * IHDR's width and colour type and cut the file as written; its checks
 * of these went unseen): IHDR's height or bit depth not the header's, an
 * IHDR that is no "IHDR" (its CRC made right), medcrypt's chunk after the
 * image data, and that file cut inside medcrypt's chunk (a damaged cipher
 * image, not "not a cipher image"). */
static void test_inspect_as_decryption(void **state)
{
    static const struct {
        size_t at;
        uint8_t value;
        const char *what;
    } ihdr_edits[] = {
        {23, 4, "height 4, not 3"}, /* IHDR's data from 16: W, H, depth at 24 */
        {24, 16, "bit depth 16, not 8"},
        {15, 'r', "type IHDr"},
    };
    size_t len, at, n, iend;
    uint8_t *cipher = small_cipher(&len), *edit;
    mc_cipher_info ci;
    (void)state;

    assert_non_null(edit = malloc(len));
    assert_int_equal(mc_cipher_inspect(ctx, cipher, len, &ci), MC_OK);
    for (size_t k = 0; k < sizeof ihdr_edits / sizeof ihdr_edits[0]; k++) {
        memcpy(edit, cipher, len);
        edit[ihdr_edits[k].at] = ihdr_edits[k].value;
        mc__put_be32(edit + 29, (uint32_t)crc32(0, edit + 12, 17));
        refused_as_modified(edit, len, ihdr_edits[k].what, NULL);
    }
    /* moved: IHDR, IDAT, mcRY, IEND */
    n = layout_as_written(cipher, len, &at, &iend);
    memcpy(edit, cipher, at);
    memcpy(edit + at, cipher + at + n, iend - at - n);
    memcpy(edit + iend - n, cipher + at, n);
    memcpy(edit + iend, cipher + iend, len - iend);
    refused_as_modified(edit, len, "mcRY after the image data", NULL);
    /* and cut inside that chunk, past its header: it names mcRY */
    refused_as_modified(edit, iend - n + 20, "mcRY after the image data, cut inside it", NULL);
    free(edit);
    free(cipher);
}

/* A chunk inserted into a cipher image: inspection says what decryption
 * says. An unknown critical chunk (before medcrypt's chunk or after the
 * image data), a second IHDR and a chunk between IDATs make both refuse
 * it as modified; a PLTE,
 * which the reader ignores in these images, and an ancillary chunk leave
 * it whole, and mc_cipher_foreign_chunks names them (inspection took the
 * first two as intact, and `medcrypt info` named them as left out: found
 * after the forty-seventh mutation round). */
static void test_inserted_chunk_as_decryption(void **state)
{
    static const uint8_t ihdr2[13] = {0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0};
    static const struct {
        const char *type;
        const uint8_t *data;
        uint32_t n;
        bool after; /* before IEND, else right after IHDR */
        mc_err want;
    } cases[] = {
        {"ABCD", NULL, 0, false, MC_ETAMPERED},
        {"ABCD", NULL, 0, true, MC_ETAMPERED},
        {"IHDR", ihdr2, 13, false, MC_ETAMPERED},
        {"PLTE", (const uint8_t *)"\0\0\0", 3, false, MC_OK},
        {"PLTE", (const uint8_t *)"\0\0\0", 3, true, MC_OK},
        {"tIME", (const uint8_t *)"\x07\xea\x0c\x07\x08\0\0", 7, true, MC_OK},
    };
    size_t len;
    uint8_t *cipher = small_cipher(&len), *edit = malloc(len + 64);
    mc_cipher_info ci;
    mc_image *img = NULL;
    char list[32];
    mc_key key;
    mc_err ei, ed;
    (void)state;

    test_key(&key, 0);
    assert_non_null(edit);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t at = cases[k].after ? len - 12 : 33, m = at;
        memcpy(edit, cipher, at);
        m += put_chunk(edit + m, cases[k].type, cases[k].data, cases[k].n);
        memcpy(edit + m, cipher + at, len - at);
        m += len - at;
        ei = mc_cipher_inspect(ctx, edit, m, &ci);
        ed = mc_decrypt_image(ctx, &key, edit, m, &img);
        if (ei != cases[k].want || ed != cases[k].want)
            fail_msg("%s %s: inspect %s, decrypt %s, want %s", cases[k].type,
                     cases[k].after ? "before IEND" : "after IHDR", mc_strerror(ei),
                     mc_strerror(ed), mc_strerror(cases[k].want));
        mc_cipher_foreign_chunks(edit, m, list, sizeof list);
        assert_string_equal(list, cases[k].type);
        mc_image_free(img);
        img = NULL;
    }
    /* a chunk between two IDATs (PNG §5.6: they are consecutive): the
     * image data split by a tEXt, here an empty IDAT after it (inspection
     * took it as intact: a review) */
    {
        size_t m = len - 12;
        memcpy(edit, cipher, m);
        m += put_chunk(edit + m, "tEXt", (const uint8_t *)"a\0b", 3);
        m += put_chunk(edit + m, "IDAT", NULL, 0);
        memcpy(edit + m, cipher + len - 12, 12);
        m += 12;
        refused_as_modified(edit, m, "a tEXt between IDATs", NULL);
    }
    free(edit);
    free(cipher);
}

/* A cipher image refused as modified says, in mc_ctx_last_detail(), what
 * another program added to it: a chunk PNG readers must refuse (an
 * unknown critical one), which is the modification itself, named before
 * any other and alone; else the ancillary ones it added (a tEXt), said as
 * a sign that it saved the file again, not as the cause (both said only
 * "modified or damaged"). Inspection, the chunk list's checks in
 * decryption, the tag's and the analysis of a given cipher image each say
 * it, each type once and "a chunk" for one type given twice; a file
 * with none, one whose only extra chunk is medcrypt's own again, one
 * whose medcrypt chunk was moved past the image data (no cipher image to
 * mc_is_cipher_image), and one cut short (whose own hint a detail would
 * hide on the web pages) keep an empty detail. */
static void test_tampered_detail_names_added_chunks(void **state)
{
    size_t len, at, iend, m;
    uint8_t *cipher = small_cipher(&len), *edit = malloc(len + 2048);
    mc_image *plain = make_image(5, 3, 3, 8, 9), *img = NULL;
    mc_analysis *a = NULL;
    mc_cipher_info ci;
    mc_key key;
    (void)state;

    test_key(&key, 0);
    assert_non_null(edit);
    assert_int_equal(mc__side_add(plain, MC_SIDE_NAME, "tiny.png", 8), MC_OK);
    (void)layout_as_written(cipher, len, &at, &iend);
    memcpy(edit, cipher, 33);
    m = 33 + put_chunk(edit + 33, "ABCD", NULL, 0);
    memcpy(edit + m, cipher + 33, len - 33);
    m += len - 33;
    refused_as_modified(edit, m, "ABCD after IHDR",
                        "another program added a chunk PNG readers must refuse (ABCD)");
    /* 40 ancillary chunks first, two unknown critical ones after them
     * (one twice): those two alone, each once (the list of all would be
     * cut before them) */
    memcpy(edit, cipher, 33);
    m = 33;
    for (int k = 0; k < 40; k++) {
        char t[5] = {'t', 'a', (char)('a' + k % 26), (char)('a' + k / 26), '\0'};
        m += put_chunk(edit + m, t, NULL, 0);
    }
    m += put_chunk(edit + m, "CgBI", NULL, 0);
    m += put_chunk(edit + m, "ABCD", NULL, 0);
    m += put_chunk(edit + m, "CgBI", NULL, 0);
    memcpy(edit + m, cipher + 33, len - 33);
    m += len - 33;
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, m, &img), MC_ETAMPERED);
    assert_string_equal(mc_ctx_last_detail(ctx),
                        "another program added chunks PNG readers must refuse (CgBI, ABCD)");
    /* a tEXt after IHDR and a byte of the tag changed (its CRC made
     * right): the chunk list passes, the tag does not */
    memcpy(edit, cipher, 33);
    m = 33 + put_chunk(edit + 33, "tEXt", (const uint8_t *)"a\0b", 3);
    memcpy(edit + m, cipher + 33, len - 33);
    edit[m + 8 + 56] ^= 1; /* mcRY's data, byte 56: the tag (FORMAT.md §2) */
    mc__put_be32(edit + m + 8 + mc__be32(edit + m),
                 (uint32_t)crc32(0, edit + m + 4, mc__be32(edit + m) + 4));
    m += len - 33;
    assert_int_equal(mc_cipher_inspect(ctx, edit, m, &ci), MC_OK);
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, m, &img), MC_ETAMPERED);
    assert_string_equal(mc_ctx_last_detail(ctx),
                        "another program has saved it since it was encrypted (it added tEXt)");
    assert_int_equal(mc_analyze(ctx, &key, plain, edit, m, &a), MC_ETAMPERED);
    assert_string_equal(mc_ctx_last_detail(ctx),
                        "another program has saved it since it was encrypted (it added tEXt)");
    assert_null(a);
    /* the same, cut short: the cut is what a receiver can act on */
    refused_as_modified(edit, m - 12, "cut short", "");
    /* a bit flipped in IDAT's type: damage (its CRC fails), not a chunk
     * another program added (robust.sh's tamper sweep met "JDAT") */
    memcpy(edit, cipher, len);
    edit[at + 12 + mc__be32(cipher + at) + 4] ^= 0x03; /* the chunk after mcRY */
    assert_memory_equal(edit + at + 12 + mc__be32(cipher + at) + 4, "JDAT", 4);
    refused_as_modified(edit, len, "JDAT", "");
    /* medcrypt's chunk again before IEND: "modified" alone (it is no
     * other program's), though mc_cipher_foreign_chunks names it */
    memcpy(edit, cipher, iend);
    m = iend + 12 + mc__be32(cipher + at); /* the whole chunk, copied after IDAT */
    memcpy(edit + iend, cipher + at, m - iend);
    memcpy(edit + m, cipher + iend, 12);
    m += 12;
    refused_as_modified(edit, m, "mcRY twice", "");
    {
        char list[32];
        mc_cipher_foreign_chunks(edit, m, list, sizeof list);
        assert_string_equal(list, MC_CHUNK_TYPE);
    }
    /* one unknown critical chunk given twice, nothing else added: one
     * type, named once, in the singular (a mutation that counted every
     * chunk, not every type, said "chunks" here: forty-eighth round) */
    memcpy(edit, cipher, 33);
    m = 33 + put_chunk(edit + 33, "CgBI", NULL, 0);
    m += put_chunk(edit + m, "CgBI", NULL, 0);
    memcpy(edit + m, cipher + 33, len - 33);
    m += len - 33;
    refused_as_modified(edit, m, "CgBI twice",
                        "another program added a chunk PNG readers must refuse (CgBI)");
    /* medcrypt's chunk moved after the image data, a tEXt added after
     * IHDR: no cipher image to mc_is_cipher_image (its chunk is not
     * before IDAT), so nothing is named, as mc_cipher_foreign_chunks
     * names nothing (a mutation that dropped that gate named the tEXt:
     * forty-eighth round) */
    {
        size_t n = layout_as_written(cipher, len, &at, &iend);
        memcpy(edit, cipher, 33);
        m = 33 + put_chunk(edit + 33, "tEXt", (const uint8_t *)"a\0b", 3);
        memcpy(edit + m, cipher + 33 + n, iend - 33 - n); /* the image data */
        m += iend - 33 - n;
        memcpy(edit + m, cipher + 33, n); /* medcrypt's chunk */
        m += n;
        memcpy(edit + m, cipher + iend, len - iend);
        m += len - iend;
        assert_int_equal(m, len + 15);
        refused_as_modified(edit, m, "mcRY after the image data, a tEXt added", "");
    }
    /* the tag changed, nothing added */
    memcpy(edit, cipher, len);
    edit[at + 8 + 56] ^= 1;
    mc__put_be32(edit + at + 8 + mc__be32(edit + at),
                 (uint32_t)crc32(0, edit + at + 4, mc__be32(edit + at) + 4));
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, len, &img), MC_ETAMPERED);
    assert_string_equal(mc_ctx_last_detail(ctx), "");
    assert_null(img);
    mc_image_free(plain);
    free(edit);
    free(cipher);
}

/* A file ends with its first IEND, the 12-byte chunk (FORMAT.md §2): an
 * IEND that holds a byte, its CRC right, is a modification, for
 * mc_cipher_inspect as for decryption (inspect took any IEND that ended
 * the file, and said success: found in the forty-seventh mutation
 * round). */
static void test_iend_with_data(void **state)
{
    size_t len, m;
    uint8_t *cipher = small_cipher(&len), *edit = malloc(len + 1);
    mc_cipher_info ci;
    mc_image *img = NULL;
    mc_key key;
    (void)state;

    test_key(&key, 0);
    assert_non_null(edit);
    assert_int_equal(chunk_at(cipher, len, "IEND"), len - 12);
    memcpy(edit, cipher, len - 12);
    m = len - 12 + put_chunk(edit + len - 12, "IEND", (const uint8_t *)"x", 1);
    assert_int_equal(mc_decrypt_image(ctx, &key, edit, m, &img), MC_ETAMPERED);
    assert_null(img);
    assert_int_equal(mc_cipher_inspect(ctx, edit, m, &ci), MC_ETAMPERED);
    /* and a plain PNG so ended is still no cipher image, for both */
    {
        size_t plen;
        uint8_t *plain = read_testdata("png/rgb_100x100.png", &plen), *p2 = malloc(plen + 1);
        assert_non_null(p2);
        assert_int_equal(chunk_at(plain, plen, "IEND"), plen - 12);
        memcpy(p2, plain, plen - 12);
        m = plen - 12 + put_chunk(p2 + plen - 12, "IEND", (const uint8_t *)"x", 1);
        assert_int_equal(mc_cipher_inspect(ctx, p2, m, &ci), MC_ENOTCIPHER);
        assert_int_equal(mc_decrypt_image(ctx, &key, p2, m, &img), MC_ENOTCIPHER);
        assert_null(img);
        free(p2);
        free(plain);
    }
    free(edit);
    free(cipher);
}

/* Whether a file that names no medcrypt chunk is "not a cipher image" or
 * damaged, inspection and decryption agree (mutation testing,
 * forty-seventh round): not a cipher image when it is whole (an IHDR and
 * IEND alone too), broken (IHDR's CRC wrong, cut before its IDAT), or cut
 * past its IDAT (inside IEND); a cipher image whose IHDR length field
 * says other than 13, cut right after that IHDR, is broken the same way.
 * Cut inside that IHDR, both call it damaged, as any cut before an IDAT,
 * and a cipher image with an IEND inserted before its chunk too. */
static void test_not_cipher_or_damaged(void **state)
{
    size_t plen, len, m;
    uint8_t *plain = read_testdata("png/rgb_100x100.png", &plen), *cipher = small_cipher(&len);
    uint8_t *edit = malloc(plen + len);
    mc_cipher_info ci;
    mc_image *img = NULL;
    mc_key key;
    const char *what = NULL;
    (void)state;

    test_key(&key, 0);
    assert_non_null(edit);
    assert_int_equal(chunk_at(plain, plen, "IEND"), plen - 12);
    for (int k = 0; k < 5; k++) {
        const uint8_t *p = edit;
        mc_err ei, ed;
        switch (k) {
        case 0:
            memcpy(edit, plain, 33);
            m = 33 + put_chunk(edit + 33, "IEND", NULL, 0);
            what = "IHDR and IEND";
            break;
        case 1:
            memcpy(edit, plain, plen);
            edit[29] ^= 1;
            m = 40;
            what = "IHDR's CRC wrong, cut before IDAT's type";
            break;
        case 2:
        case 3:
            p = plain;
            m = plen - (k == 2 ? 1 : 6);
            what = k == 2 ? "cut inside IEND's CRC" : "cut inside IEND's type";
            break;
        default:
            memcpy(edit, cipher, 33);
            edit[11] ^= 0x10; /* IHDR's length 29 */
            m = 33;
            what = "a cipher image's IHDR length 29, cut after it";
            break;
        }
        ei = mc_cipher_inspect(ctx, p, m, &ci);
        ed = mc_decrypt_image(ctx, &key, p, m, &img);
        if (ei != MC_ENOTCIPHER || ed != MC_ENOTCIPHER)
            fail_msg("%s: inspect %s, decrypt %s", what, mc_strerror(ei),
                     mc_strerror(ed));
        assert_null(img);
    }
    /* cut inside that IHDR: damaged, as any cut before an IDAT, for
     * decryption too (it said "not a cipher image": libspng's error for
     * the length is no truncation) */
    refused_as_modified(edit, 32, "cut inside an IHDR of length 14", NULL);
    /* an empty IEND inserted right after a cipher image's IHDR: its
     * chunk list names medcrypt's chunk past that IEND; damaged for both
     * (decryption, which read only up to the first IEND, said "not a
     * cipher image"), and a cipher image for mc_is_cipher_image, so that
     * encryption refuses it as one (it stopped at that IEND, and
     * encryption tried it as a plain PNG: libspng's "invalid chunk
     * position") */
    memcpy(edit, cipher, 33);
    m = 33 + put_chunk(edit + 33, "IEND", NULL, 0);
    memcpy(edit + m, cipher + 33, len - 33);
    m += len - 33;
    refused_as_modified(edit, m, "an empty IEND after IHDR", NULL);
    assert_true(mc_is_cipher_image(edit, m));
    {
        uint8_t *out = NULL;
        size_t out_len = 0;
        assert_int_equal(mc_encrypt_file(ctx, &key, edit, m, NULL, &out, &out_len),
                         MC_EUNSUPPORTED);
        assert_null(out);
    }
    /* a plain PNG with the cipher image's chunks after its IEND: their
     * medcrypt chunk comes after its IDAT, so still no cipher image */
    memcpy(edit, plain, plen);
    memcpy(edit + plen, cipher + 33, len - 33);
    assert_false(mc_is_cipher_image(edit, plen + len - 33));
    free(edit);
    free(cipher);
    free(plain);
}

/* mc_cipher_foreign_chunks at its edges (mutation testing, forty-seventh
 * round): a type's letters from 'a' to 'z' in either case, their
 * neighbours '@', '[', '`' and '{' not; a chunk cut short and what
 * follows IEND not named; a second medcrypt chunk named (decryption reads
 * neither); a list of no room left as it was. And mc_is_cipher_image
 * says yes to a cipher image with a second mcRY after the image data or
 * an empty chunk typed IHDR before its own (damaged, but cipher images). */
static void test_foreign_chunks_edges(void **state)
{
    size_t len, at, n, iend, m, cut;
    uint8_t *cipher = small_cipher(&len), *png = malloc(2 * len + 256);
    char list[64], none[4] = "xyz";
    (void)state;

    assert_non_null(png);
    n = layout_as_written(cipher, len, &at, &iend);
    /* ... IDAT, zTXt, aZ@[, `{Az, IEND */
    memcpy(png, cipher, iend);
    m = iend + put_chunk(png + iend, "zTXt", (const uint8_t *)"k\0\0x", 4);
    cut = m + 10;
    m += put_chunk(png + m, "aZ@[", (const uint8_t *)"data", 4);
    m += put_chunk(png + m, "`{Az", NULL, 0);
    m += put_chunk(png + m, "IEND", NULL, 0);
    assert_true(mc_is_cipher_image(png, m));
    mc_cipher_foreign_chunks(png, m, list, sizeof list);
    assert_string_equal(list, "zTXt, aZ??, ??Az");
    mc_cipher_foreign_chunks(png, m, none, 0);
    assert_string_equal(none, "xyz");
    /* cut inside aZ@['s data: the one before it */
    mc_cipher_foreign_chunks(png, cut, list, sizeof list);
    assert_string_equal(list, "zTXt");
    /* a tIME after IEND: damage, not named */
    m += put_chunk(png + m, "tIME", (const uint8_t[]){7, 234, 12, 7, 8, 0, 0}, 7);
    mc_cipher_foreign_chunks(png, m, list, sizeof list);
    assert_string_equal(list, "zTXt, aZ??, ??Az");
    /* ... IDAT, mcRY again, IEND */
    memcpy(png, cipher, iend);
    memcpy(png + iend, cipher + at, n);
    memcpy(png + iend + n, cipher + iend, len - iend);
    assert_true(mc_is_cipher_image(png, len + n));
    mc_cipher_foreign_chunks(png, len + n, list, sizeof list);
    assert_string_equal(list, "mcRY");
    /* IHDR, an empty IHDR, mcRY, ... */
    memcpy(png, cipher, 33);
    m = 33 + put_chunk(png + 33, "IHDR", NULL, 0);
    memcpy(png + m, cipher + 33, len - 33);
    assert_true(mc_is_cipher_image(png, m + len - 33));
    free(png);
    free(cipher);
}

/* mc__container_read wants IHDR's geometry to be the header's, width and
 * bit depth included (mutation testing, forty-seventh round): an image of
 * zero samples, whose samples a 1-bit grey IHDR gives back alike, is
 * refused when written with a header of another width, or rewritten as
 * 1-bit grey. */
static void test_container_geometry(void **state)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    mc_image *img = make_image(8, 4, 1, 8, 1), *back = NULL;
    uint8_t *png = NULL, ihdr[13], rows[4 * 2] = {0}, z[64], *bits1;
    uLongf zlen = sizeof z;
    size_t len, at, n, m;
    mc_cipher_info ci;
    mc__header hdr, got;
    (void)state;

    memset(img->samples, 0, img->samples_len);
    memset(&hdr, 0, sizeof hdr);
    hdr.version = MC_FORMAT_VERSION;
    hdr.format = MC_FORMAT_PNG;
    hdr.channels = 1;
    hdr.bits = 8;
    hdr.width = 8;
    hdr.height = 4;
    hdr.frames = 1;
    assert_int_equal(mc__container_write(ctx, img, &hdr, &png, &len), MC_OK);
    assert_int_equal(mc__container_read(ctx, png, len, &back, &got), MC_OK);
    assert_true(back->width == 8 && back->height == 4 && back->bits == 8 && got.width == 8);
    mc_image_free(back);
    back = NULL;
    /* IHDR 1-bit grey (rows: a filter byte, one byte of 8 samples) */
    at = chunk_at(png, len, MC_CHUNK_TYPE);
    n = 12 + mc__be32(png + at);
    assert_int_equal(compress(z, &zlen, rows, sizeof rows), Z_OK);
    assert_non_null(bits1 = malloc(n + 256));
    memcpy(ihdr, png + 16, 13);
    ihdr[8] = 1;
    memcpy(bits1, sig, 8);
    m = 8 + put_chunk(bits1 + 8, "IHDR", ihdr, 13);
    memcpy(bits1 + m, png + at, n);
    m += n;
    m += put_chunk(bits1 + m, "IDAT", z, (uint32_t)zlen);
    m += put_chunk(bits1 + m, "IEND", NULL, 0);
    assert_int_equal(mc__container_read(ctx, bits1, m, &back, &got), MC_ETAMPERED);
    assert_null(back);
    assert_int_equal(mc_cipher_inspect(ctx, bits1, m, &ci), MC_ETAMPERED);
    free(bits1);
    free(png);
    png = NULL;
    /* a header of width 6 on an image of width 8 */
    hdr.width = 6;
    assert_int_equal(mc__container_write(ctx, img, &hdr, &png, &len), MC_OK);
    assert_int_equal(mc__container_read(ctx, png, len, &back, &got), MC_ETAMPERED);
    assert_null(back);
    assert_int_equal(mc_cipher_inspect(ctx, png, len, &ci), MC_ETAMPERED);
    free(png);
    mc_image_free(img);
}

/* A plain PNG is not a cipher image; garbage is not either. */
static void test_not_cipher(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("png/rgb_100x100.png", &len), *cipher = NULL;
    mc_image *img = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    /* mc_is_cipher_image: from the chunk list alone */
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, NULL, &cipher, &clen), MC_OK);
    assert_true(mc_is_cipher_image(cipher, clen));
    assert_true(mc_is_cipher_image(cipher, 33 + 8)); /* signature, IHDR, medcrypt's header */
    assert_false(mc_is_cipher_image(cipher, 33));    /* cut before its chunk: cannot tell */
    /* Cut short: a damaged cipher image once its chunk's header is there
     * (decryption and inspect agree), whatever follows */
    for (size_t n = 33 + 8; n < clen; n += (clen - 33) / 7) {
        char what[48];
        snprintf(what, sizeof what, "cut to %zu bytes", n);
        refused_as_modified(cipher, n, what, NULL);
    }
    /* One bit flipped in IHDR's length field (bytes 8..11): a modified
     * cipher image, as mc_decrypt_file's documentation and FORMAT.md §5
     * say (only a change to mcRY's type makes it "not a cipher image"),
     * and inspect and decryption say the same. Decryption said "not a
     * medcrypt cipher image" for all 32 bits, inspect for 8 of them (a
     * review of the public API). */
    for (size_t i = 8; i < 12; i++)
        for (int bit = 0; bit < 8; bit++) {
            mc_cipher_info ci;
            mc_err ei, ed;
            bool ic;
            cipher[i] ^= (uint8_t)(1u << bit);
            ic = mc_is_cipher_image(cipher, clen); /* intact or damaged */
            ei = mc_cipher_inspect(ctx, cipher, clen, &ci);
            ed = mc_decrypt_image(ctx, &key, cipher, clen, &img);
            cipher[i] ^= (uint8_t)(1u << bit);
            if (ei != MC_ETAMPERED || ed != MC_ETAMPERED || !ic)
                fail_msg("byte %zu bit %d: inspect %s, decrypt %s, is_cipher %d", i, bit,
                         mc_strerror(ei), mc_strerror(ed), ic);
        }
    assert_null(img);
    cipher[33 + 4] ^= 0x20;                          /* the chunk type's case changed */
    assert_false(mc_is_cipher_image(cipher, clen));
    free(cipher);
    /* A plain PNG cut short past the start of its IDAT is not a cipher
     * image, damaged or not: FORMAT.md, "a PNG without mcRY" (both said
     * "modified or damaged", and `medcrypt info` said it of a plain PNG).
     * This one's IDAT starts after IHDR (33 bytes); cut before it, a
     * medcrypt chunk could have followed: damaged. */
    assert_memory_equal(buf + 33 + 4, "IDAT", 4);
    assert_int_equal(mc_decrypt_image(ctx, &key, buf, 33 + 7, &img), MC_ETAMPERED);
    for (size_t n = 33 + 8; n < len; n += (len - 33) / 7) {
        mc_cipher_info ci;
        assert_int_equal(mc_cipher_inspect(ctx, buf, n, &ci), MC_ENOTCIPHER);
        assert_int_equal(mc_decrypt_image(ctx, &key, buf, n, &img), MC_ENOTCIPHER);
    }
    assert_null(img);
    assert_false(mc_is_cipher_image(buf, len));
    assert_false(mc_is_cipher_image((const uint8_t *)"P5\n1 1\n255\n\0", 13));
    assert_false(mc_is_cipher_image(NULL, 0));
    assert_int_equal(mc_decrypt_image(ctx, &key, buf, len, &img), MC_ENOTCIPHER);
    /* The detail says what the file is, when medcrypt reads it: the plain
     * image picked by mistake, or a cipher image saved again without its
     * chunk (a review: the original DICOM file chosen on the decrypt
     * page was "not a medcrypt cipher image" alone). */
    assert_string_equal(mc_ctx_last_detail(ctx), "a PNG image without medcrypt's data");
    assert_int_equal(mc_decrypt_image(ctx, &key, (const uint8_t *)"hello", 5, &img),
                     MC_ENOTCIPHER);
    assert_string_equal(mc_ctx_last_detail(ctx), "");
    assert_int_equal(mc_decrypt_image(ctx, &key, buf, 0, &img), MC_ENOTCIPHER);
    assert_null(img);
    free(buf);
    {
        static const char *const files[][2] = {
            {"dicom/ct_512_explicit_le.dcm", "a DICOM file"},
            {"pnm/ascii_8x8.pgm", "a PGM/PPM image"},
            {"bmp/ct_512_1bit.bmp", "a BMP image"},
            {"jpeg/rgb_100x100.jpg", "a JPEG image"},
        };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            mc_cipher_info ci;
            uint8_t *out = NULL;
            size_t out_len = 0;
            buf = read_testdata(files[i][0], &len);
            assert_int_equal(mc_decrypt_file(ctx, &key, buf, len, &out, &out_len, NULL),
                             MC_ENOTCIPHER);
            assert_string_equal(mc_ctx_last_detail(ctx), files[i][1]);
            /* cleared (an argument refused), then inspection's own */
            assert_int_equal(mc_decrypt_image(ctx, NULL, NULL, 0, NULL), MC_EINVAL);
            assert_string_equal(mc_ctx_last_detail(ctx), "");
            assert_int_equal(mc_cipher_inspect(ctx, buf, len, &ci), MC_ENOTCIPHER);
            assert_string_equal(mc_ctx_last_detail(ctx), files[i][1]);
            free(buf);
        }
    }
}

/* mc_ctx_set_admit: asked with an image's sample bytes before anything
 * is allocated for it; a refusal is MC_EBUSY, and nothing decoded. */
struct admit_log {
    uint64_t asked;
    int calls;
    int answer;
};

static int admit_cb(void *user, uint64_t sample_bytes)
{
    struct admit_log *l = user;
    l->asked = sample_bytes;
    l->calls++;
    return l->answer;
}

static void test_admit(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("png/ct_512_16bit.png", &len), *cipher = NULL;
    struct admit_log log = {0, 0, 1};
    mc_ctx *c = NULL;
    mc_image *img = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, NULL, &cipher, &clen), MC_OK);
    assert_int_equal(mc_ctx_new(&c), MC_OK);
    assert_int_equal(mc_ctx_set_admit(c, admit_cb, &log), MC_OK);
    assert_int_equal(mc_image_decode(c, buf, len, NULL, &img), MC_EBUSY);
    assert_null(img);
    assert_int_equal(log.asked, 512 * 512 * 2); /* 16-bit samples */
    assert_string_equal(mc_ctx_last_detail(c),
                        "512 x 512 pixels = 524288 bytes of samples, not admitted now");
    assert_int_equal(mc_decrypt_image(c, &key, cipher, clen, &img), MC_EBUSY);
    assert_int_equal(mc_image_new(c, 10, 10, 3, 8, &img), MC_EBUSY);
    assert_int_equal(log.asked, 300);
    /* over the pixel cap: refused as too big, before the budget is asked */
    log.calls = 0;
    assert_int_equal(mc_ctx_set_max_samples(c, 1000), MC_OK);
    assert_int_equal(mc_image_decode(c, buf, len, NULL, &img), MC_ETOOBIG);
    assert_int_equal(log.calls, 0);
    assert_int_equal(mc_ctx_set_max_samples(c, MC_DEFAULT_MAX_SAMPLES), MC_OK);
    log.answer = 0;
    assert_int_equal(mc_decrypt_image(c, &key, cipher, clen, &img), MC_OK);
    mc_image_free(img);
    assert_int_equal(mc_ctx_set_admit(c, NULL, NULL), MC_OK);
    assert_string_equal(mc_strerror(MC_EBUSY), "busy: not enough memory for this image now");
    mc_ctx_free(c);
    free(cipher);
    free(buf);
}

/* The context's options: their defaults, their ranges, and the NULLs
 * include/medcrypt.h allows or refuses. The thread count is read from
 * the context itself: the cipher bytes are the same for any count, so
 * nothing else shows whether 0 means every core or where it is capped
 * (MC_MAX_THREADS: the parallel sections' per-thread arrays). */
static void test_ctx_options(void **state)
{
    unsigned cores = mc__cores();
    mc_ctx *c;

    (void)state;
    assert_int_equal(mc_ctx_new(NULL), MC_EINVAL);
    assert_int_equal(mc_ctx_new(&c), MC_OK);
    assert_int_equal(c->threads, 1);
    assert_null(c->admit);
    assert_int_equal(mc_ctx_max_samples(c), MC_DEFAULT_MAX_SAMPLES);
    assert_int_equal(mc_ctx_max_samples(NULL), MC_DEFAULT_MAX_SAMPLES);

    assert_int_equal(mc_ctx_set_max_samples(c, 0), MC_EINVAL); /* no "no cap" */
    assert_int_equal(mc_ctx_max_samples(c), MC_DEFAULT_MAX_SAMPLES);
    assert_int_equal(mc_ctx_set_max_samples(c, 1), MC_OK);
    assert_int_equal(mc_ctx_max_samples(c), 1);
    assert_int_equal(mc_ctx_set_max_samples(NULL, 5), MC_EINVAL);

    assert_int_equal(mc_ctx_set_threads(c, 0), MC_OK); /* every core it may use */
    assert_int_equal(c->threads, cores < MC_MAX_THREADS ? cores : MC_MAX_THREADS);
    assert_int_equal(mc_ctx_set_threads(c, 1), MC_OK);
    assert_int_equal(c->threads, 1);
    assert_int_equal(mc_ctx_set_threads(c, MC_MAX_THREADS - 1), MC_OK);
    assert_int_equal(c->threads, MC_MAX_THREADS - 1);
    assert_int_equal(mc_ctx_set_threads(c, MC_MAX_THREADS), MC_OK);
    assert_int_equal(c->threads, MC_MAX_THREADS);
    assert_int_equal(mc_ctx_set_threads(c, MC_MAX_THREADS + 1), MC_OK);
    assert_int_equal(c->threads, MC_MAX_THREADS);
    assert_int_equal(mc_ctx_set_threads(c, UINT_MAX), MC_OK);
    assert_int_equal(c->threads, MC_MAX_THREADS);
    assert_int_equal(mc_ctx_set_threads(NULL, 2), MC_EINVAL);

    assert_int_equal(mc_ctx_set_admit(NULL, admit_cb, NULL), MC_EINVAL);
    mc_ctx_free(c);
    mc_ctx_free(NULL); /* as free(NULL) */
}

/* Every code has a message of its own (a user tells the errors apart by
 * them), and a value that is no code says so instead of reading past the
 * table (src/err.c). */
static void test_strerror(void **state)
{
    (void)state;
    for (int i = 0; i < MC_ERR_COUNT; i++) {
        const char *m = mc_strerror((mc_err)i);

        assert_non_null(m);
        assert_string_not_equal(m, "unknown error");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(m, mc_strerror((mc_err)j));
    }
    assert_string_equal(mc_strerror(MC_ERR_COUNT), "unknown error");
    assert_string_equal(mc_strerror((mc_err)-1), "unknown error");
    assert_string_equal(mc_strerror((mc_err)1000), "unknown error");
}

/* The pixel cap applies to encryption and decryption. */
/* Every call that sets mc_ctx_last_detail() and mc_ctx_last_cap()
 * clears them at its start, so that one failing on its arguments (or on
 * a spent image) does not leave an earlier call's (an API review: the
 * detail and cap of an earlier MC_ETOOBIG were read after these
 * MC_EINVALs, against API.md's "cleared at their start"). */
static void test_detail_cleared_before_arguments(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("png/ct_512_8bit.png", &len), *cipher = NULL, *out = NULL;
    mc_ctx *small = NULL;
    mc_image *img = NULL, *spent = NULL;
    mc_analysis *a = NULL;
    mc_key key;
    size_t out_len = 0;
    int step = 0;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, NULL, &cipher, &clen), MC_OK);
    assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &spent), MC_OK);
    assert_int_equal(mc_encrypt_image_inplace(ctx, &key, spent, &out, &out_len), MC_OK);
    mc_free(out);
    out = NULL;
    assert_int_equal(mc_ctx_new(&small), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(small, 100), MC_OK);
#define OVER_CAP_THEN(call, want)                                                              \
    do {                                                                                       \
        step++;                                                                                \
        assert_int_equal(mc_image_new(small, 11, 10, 1, 8, &img), MC_ETOOBIG);                 \
        assert_int_equal(mc_ctx_last_cap(small), 100);                                         \
        assert_int_equal((call), (want));                                                      \
        if (mc_ctx_last_cap(small) != 0 || mc_ctx_last_detail(small)[0] != '\0')               \
            fail_msg("call %d: the earlier refusal's detail left: '%s'", step,                 \
                     mc_ctx_last_detail(small));                                               \
    } while (0)
    OVER_CAP_THEN(mc_image_decode(small, buf, len, NULL, NULL), MC_EINVAL);
    OVER_CAP_THEN(mc_image_decode_owned(small, NULL, 0, NULL, NULL), MC_EINVAL);
    OVER_CAP_THEN(mc_encrypt_file(small, NULL, buf, len, NULL, &out, &out_len), MC_EINVAL);
    OVER_CAP_THEN(mc_decrypt_image(small, &key, cipher, clen, NULL), MC_EINVAL);
    OVER_CAP_THEN(mc_decrypt_file(small, &key, cipher, clen, NULL, &out_len, NULL), MC_EINVAL);
    OVER_CAP_THEN(mc_analyze(small, &key, NULL, NULL, 0, &a), MC_EINVAL);
    OVER_CAP_THEN(mc_analyze(small, &key, spent, NULL, 0, &a), MC_ESTATE);
    OVER_CAP_THEN(mc_dicom_inspect(small, buf, len, NULL), MC_EINVAL);
    OVER_CAP_THEN(mc_image_preview_png(small, NULL, &out, &out_len), MC_EINVAL);
    OVER_CAP_THEN(mc_image_preview_png(small, spent, &out, &out_len), MC_ESTATE);
    OVER_CAP_THEN(mc_image_new(small, 0, 10, 1, 8, &img), MC_EINVAL);
#undef OVER_CAP_THEN
    /* and a preview is an image under the cap: its refusal is its own */
    {
        mc_image *plain = NULL;
        assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &plain), MC_OK);
        assert_int_equal(mc_image_preview_png(small, plain, &out, &out_len), MC_ETOOBIG);
        assert_string_equal(mc_ctx_last_detail(small),
                            "512 x 512 pixels = 262144 samples; the pixel cap is 100");
        assert_int_equal(mc_ctx_last_cap(small), 100);
        assert_int_equal(mc_image_preview_png(ctx, plain, &out, &out_len), MC_OK);
        assert_int_equal(mc_ctx_last_cap(ctx), 0);
        mc_free(out);
        mc_image_free(plain);
    }
    assert_null(img);
    assert_null(a);
    mc_image_free(spent);
    mc_ctx_free(small);
    free(cipher);
    free(buf);
}

static void test_pixel_cap(void **state)
{
    size_t len, clen;
    uint8_t *buf = read_testdata("png/ct_512_8bit.png", &len), *cipher = NULL;
    mc_ctx *small = NULL;
    mc_image *img = NULL;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, NULL, &cipher, &clen), MC_OK);
    assert_int_equal(mc_ctx_new(&small), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(small, 512 * 511), MC_OK);
    assert_int_equal(mc_encrypt_file(small, &key, buf, len, NULL, &cipher, &clen), MC_ETOOBIG);
    /* the detail gives the size and the cap, for the user to act on */
    assert_string_equal(mc_ctx_last_detail(small),
                        "512 x 512 pixels = 262144 samples; the pixel cap is 261632");
    /* and which limit it was, without reading the words */
    assert_int_equal(mc_ctx_last_cap(small), 512 * 511);
    assert_int_equal(mc_decrypt_image(small, &key, cipher, clen, &img), MC_ETOOBIG);
    assert_string_equal(mc_ctx_last_detail(small),
                        "512 x 512 pixels = 262144 samples; the pixel cap is 261632");
    assert_int_equal(mc_ctx_last_cap(small), 512 * 511);
    assert_int_equal(mc_image_new(small, 1u << 20, 1u << 20, 1, 8, &img), MC_ETOOBIG);
    assert_int_equal(mc_ctx_last_cap(small), 512 * 511);
    /* a geometry no image has: the caller's mistake, with no detail (the
     * last call's was left: an API audit) */
    assert_int_equal(mc_image_new(small, 10, 10, 1, 12, &img), MC_EINVAL);
    assert_string_equal(mc_ctx_last_detail(small), "");
    assert_int_equal(mc_ctx_last_cap(small), 0);
    assert_int_equal(mc_image_new(ctx, 0, 10, 1, 8, &img), MC_EINVAL);
    assert_int_equal(mc_image_new(ctx, 10, 10, 5, 8, &img), MC_EINVAL);
    assert_int_equal(mc_image_new(ctx, 10, 10, 1, 12, &img), MC_EINVAL);
    assert_int_equal(mc_image_new(ctx, UINT32_MAX, UINT32_MAX, 4, 16, &img), MC_ETOOBIG);
    /* W·H·C past 64 bits: the product is not printed */
    assert_string_equal(mc_ctx_last_detail(ctx),
                        "4294967295 x 4294967295 pixels x 4 channels; the pixel cap is 268435456 samples");
    /* within a cap raised past what memory can address: the machine's
     * limit, no cap named or offered (an API review) */
    assert_int_equal(mc_ctx_set_max_samples(small, UINT64_MAX), MC_OK);
    assert_int_equal(mc_image_new(small, UINT32_MAX, UINT32_MAX, 1, 8, &img), MC_ETOOBIG);
    assert_string_equal(mc_ctx_last_detail(small), "4294967295 x 4294967295 pixels = "
                                                   "18446744065119617025 samples: more than "
                                                   "this machine can address");
    assert_int_equal(mc_ctx_last_cap(small), 0);
    assert_int_equal(mc_image_new(ctx, 1u << 16, 1u << 14, 3, 8, &img), MC_ETOOBIG);
    assert_string_equal(mc_ctx_last_detail(ctx), "65536 x 16384 pixels x 3 channels = "
                                                 "3221225472 samples; the pixel cap is 268435456");
    /* two channels are channels too (a mutation that named them only
     * from three went unseen: seventeenth round) */
    assert_int_equal(mc_image_new(ctx, 1u << 16, 1u << 14, 2, 8, &img), MC_ETOOBIG);
    assert_string_equal(mc_ctx_last_detail(ctx), "65536 x 16384 pixels x 2 channels = "
                                                 "2147483648 samples; the pixel cap is 268435456");
    assert_null(img);
    mc_ctx_free(small);
    free(cipher);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* No plain samples left on the stack: the stage kernels spill vectors of
 * samples to their frames (the v2 transposes, 256 bytes), and a decrypt
 * leaves them below its caller's frame, where a core dump or the next
 * frame finds them. A decrypt on one thread runs the kernels in the
 * caller's thread, so the caller's stack is what to search: it is
 * cleared first (so that what is found comes from this decrypt), then
 * searched for 16 bytes in a row of the plain image's one sample value,
 * which every state after the permutation also holds (the image is
 * constant). Not under ASan (tests/stack_search.h). */
static void test_no_plain_left_on_stack(void **state)
{
    static const uint32_t sizes[][2] = {{128, 8}, {96, 16}};
    uint8_t nonce[MC_NONCE_BYTES] = {9};
    mc_ctx *one = NULL;
    mc_key key;
    (void)state;
    STACK_SEARCH_SKIP_UNDER_SANITIZERS();
    test_key(&key, 4);
    assert_int_equal(mc_ctx_new(&one), MC_OK);
    assert_int_equal(mc_ctx_set_threads(one, 1), MC_OK);
    for (int version = 1; version <= MC_FORMAT_VERSION; version++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            mc_image *img = make_image(sizes[s][0], sizes[s][0], 1, (uint8_t)sizes[s][1], 1);
            mc_image *out = NULL;
            mc__header hdr;
            uint8_t *png = NULL;
            size_t len = 0;
            memset(img->samples, 0xa7, img->samples_len);
            stack_clear();
            assert_int_equal(
                mc__encrypt_inplace_v(&key, img, nonce, version, MC_STAGES_ALL, &hdr, 1), MC_OK);
            if (stack_runs_of(0xa7) != 0)
                fail_msg("format v%d, %u-bit encrypt: %zu bytes of plain samples left on the stack",
                         version, sizes[s][1], stack_runs_of(0xa7));
            assert_int_equal(mc__container_write(one, img, &hdr, &png, &len), MC_OK);
            stack_clear();
            assert_int_equal(mc_decrypt_image(one, &key, png, len, &out), MC_OK);
            if (stack_runs_of(0xa7) != 0)
                fail_msg("format v%d, %u-bit decrypt: %zu bytes of plain samples left on the stack",
                         version, sizes[s][1], stack_runs_of(0xa7));
            assert_int_equal(out->samples[0], 0xa7);
            mc_image_free(out);
            mc_image_free(img);
            free(png);
        }
    mc_ctx_free(one);
    /* On two threads, the caller takes ranges too (src/parallel.c,
     * work()), and its frames are cleared as the serial run's are:
     * 1280x1280 is 4 groups of the v2 pass. Mutation testing, fourth
     * round (parallel.c: work() without its stack_clear). */
    {
        mc_image *img = make_image(1280, 1280, 1, 8, 1);
        mc__header hdr;
        memset(img->samples, 0xa7, img->samples_len);
        stack_clear();
        assert_int_equal(mc__encrypt_inplace(&key, img, nonce, MC_STAGES_ALL, &hdr, 2), MC_OK);
        if (stack_runs_of(0xa7) != 0)
            fail_msg("two threads, encrypt: %zu bytes of plain samples left on the stack",
                     stack_runs_of(0xa7));
        stack_clear();
        assert_int_equal(mc__decrypt_inplace(&key, img, &hdr, 2), MC_OK);
        if (stack_runs_of(0xa7) != 0)
            fail_msg("two threads, decrypt: %zu bytes of plain samples left on the stack",
                     stack_runs_of(0xa7));
        assert_int_equal(img->samples[0], 0xa7);
        mc_image_free(img);
    }
}

/* No key left on the stack by an encryption or a decryption: not a 4-byte
 * word of the key, of its subkeys (MAC, chaos, stream) or of XChaCha20's
 * subkey (HChaCha20 of K_stream and T), in each format version, on one
 * thread and two: their frames held them (libsodium's HChaCha20 leaves
 * words of its key and output in its own), and the calls wipe them and
 * clear the stack below them before they return (mc__stack_wipe). Each
 * runs 2 KiB below the test's frame, where the search looks. A dropped
 * wipe of the subkeys fails it. Not under the sanitizers
 * (tests/stack_search.h). */
struct crypt_call {
    const mc_key *key;
    mc_image *img;
    mc__header *hdr;
    const uint8_t *nonce;
    int version;
    unsigned threads;
    bool decrypt;
};

static void crypt_call_run(void *arg)
{
    struct crypt_call *c = arg;

    if (c->decrypt)
        assert_int_equal(mc__decrypt_inplace(c->key, c->img, c->hdr, c->threads), MC_OK);
    else
        assert_int_equal(mc__encrypt_inplace_v(c->key, c->img, c->nonce, c->version,
                                               MC_STAGES_ALL, c->hdr, c->threads),
                         MC_OK);
}

static void test_no_key_left_on_stack(void **state)
{
    uint8_t nonce[MC_NONCE_BYTES] = {3};
    mc__subkeys sk;
    mc_key key;
    (void)state;
    STACK_SEARCH_SKIP_UNDER_SANITIZERS();
    test_key(&key, 5);
    assert_int_equal(mc__subkeys_derive(&sk, &key), MC_OK);
    for (int version = 1; version <= MC_FORMAT_VERSION; version++)
        for (unsigned threads = 1; threads <= 2; threads++) {
            mc_image *img = make_image(1280, 1280, 1, 8, 1);
            mc__header hdr;
            uint8_t hsub[32];
            struct crypt_call c = {&key, img, &hdr, nonce, version, threads, false};

            /* the tag first (the same image and nonce give the same), for
             * XChaCha20's subkey: made after the encryption, its own
             * frames would leave its words where the search looks */
            crypt_call_run(&c);
            crypto_core_hchacha20(hsub, hdr.tag, sk.stream, NULL);
            mc_image_free(img);
            c.img = img = make_image(1280, 1280, 1, 8, 1);
            for (int pass = 0; pass < 2; pass++) {
                const char *what;
                c.decrypt = pass == 1;
                stack_clear();
                stack_call_deeper(crypt_call_run, &c);
                what = stack_holds_words(key.bytes, MC_KEY_BYTES)       ? "the key"
                       : stack_holds_words(sk.mac, sizeof sk.mac)       ? "K_mac"
                       : stack_holds_words(sk.chaos, sizeof sk.chaos)   ? "K_chaos"
                       : stack_holds_words(sk.stream, sizeof sk.stream) ? "K_stream"
                       : stack_holds_words(hsub, sizeof hsub)           ? "XChaCha20's subkey"
                                                                        : NULL;
                if (what != NULL)
                    fail_msg("format v%d, %u thread(s), %s: a word of %s left on the stack",
                             version, threads, c.decrypt ? "decrypt" : "encrypt", what);
            }
            mc_image_free(img);
        }
    mc__subkeys_wipe(&sk);
}

/* The calls that hold keys clear the stack below them before they return
 * (mc__stack_wipe): the subkeys' derivation, which no parallel pass
 * follows, and an encryption and a decryption. The stack marked below
 * the level they are called from is cleared, from below their own frames
 * on (tests/stack_search.h). */
static void test_key_calls_clear_stack(void **state)
{
    uint8_t nonce[MC_NONCE_BYTES] = {4};
    mc_image *img;
    mc__header hdr;
    mc__subkeys sk;
    mc_key key;
    (void)state;
    STACK_SEARCH_SKIP_UNDER_SANITIZERS();
    img = make_image(64, 48, 1, 16, 2);
    test_key(&key, 6);
    for (int call = 0; call < 3; call++) {
        static const char *const names[] = {"mc__subkeys_derive", "encrypt", "decrypt"};
        stack_mark();
        if (call == 0)
            assert_int_equal(mc__subkeys_derive(&sk, &key), MC_OK);
        else if (call == 1)
            assert_int_equal(mc__encrypt_inplace(&key, img, nonce, MC_STAGES_ALL, &hdr, 1), MC_OK);
        else
            assert_int_equal(mc__decrypt_inplace(&key, img, &hdr, 1), MC_OK);
        if (stack_runs_of_from(STACK_MARK_BYTE, STACK_MARK_DEEP) != 0)
            fail_msg("%s: %zu bytes of the marked stack below it not cleared", names[call],
                     stack_runs_of_from(STACK_MARK_BYTE, STACK_MARK_DEEP));
    }
    mc__subkeys_wipe(&sk);
    mc_image_free(img);
}

/* The v2 pass's group copy (plain samples, forward) is wiped before its
 * block goes back to src/mem.c's kept blocks, which hand it out again:
 * the next request of its size gets the block, all zeros. Mutation
 * testing, fourth round (stage_v2.c: scratch_free's wipe skipped). */
static void test_no_plain_left_in_kept_blocks(void **state)
{
    const size_t n = 128 * 4096, group = n * 2; /* one group of 16-bit blocks: 1 MiB */
    uint8_t sm[64] = {4}, ks[32] = {5}, tag[MC_TAG_BYTES] = {6};
    uint8_t *s = malloc(group), *p;
    (void)state;
    assert_non_null(s);
    memset(s, 0xa7, group);
    mc__huge_cache_drop();
    assert_int_equal(mc__v2_run(s, n, 2, sm, ks, tag, MC_STAGES_ALL, false, 1), MC_OK);
    assert_int_equal(mc__huge_cache_count(false) + mc__huge_cache_count(true), 1);
    assert_non_null(p = mc__alloc_huge(group)); /* the group's block, kept */
    assert_int_equal(mc__huge_cache_count(false) + mc__huge_cache_count(true), 0);
    for (size_t i = 0; i < group; i++)
        if (p[i] != 0)
            fail_msg("byte %zu of a kept block is %#x, not wiped", i, p[i]);
    mc__free_huge(p);
    mc__huge_cache_drop();
    free(s);
}

static void test_avalanche(void **state)
{
    mc_image *a = make_image(64, 64, 1, 8, 3), *b = make_image(64, 64, 1, 8, 3);
    uint8_t nonce[MC_NONCE_BYTES] = {0};
    mc__header ha, hb;
    size_t diff = 0;
    mc_key key;
    (void)state;
    test_key(&key, 0);
    b->samples[2000] ^= 1;
    assert_int_equal(mc__encrypt_inplace(&key, a, nonce, MC_STAGES_LOGISTIC, &ha, 1), MC_OK);
    assert_int_equal(mc__encrypt_inplace(&key, b, nonce, MC_STAGES_LOGISTIC, &hb, 1), MC_OK);
    for (size_t i = 0; i < a->samples_len; i++)
        diff += (size_t)__builtin_popcount(a->samples[i] ^ b->samples[i]);
    /* 32768 bits: 50 % ± 2 % is far beyond 10 standard deviations. */
    assert_in_range(diff, 32768 * 48 / 100 / 1, 32768 * 52 / 100);
    mc_image_free(a);
    mc_image_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_vectors),
        cmocka_unit_test(test_stage_inverses),
        cmocka_unit_test(test_perm_is_permutation),
        cmocka_unit_test(test_stages_stay_in_buffer),
        cmocka_unit_test(test_v2_stages),
        cmocka_unit_test(test_v2_logistic_keystream),
        cmocka_unit_test(test_v2_workers),
        cmocka_unit_test(test_v2_scrambling_spreads),
        cmocka_unit_test(test_henon_orbits_bounded),
        cmocka_unit_test(test_henon_escape_rule),
        cmocka_unit_test(test_v2_henon_escape_rule),
        cmocka_unit_test(test_parallel_ranges),
        cmocka_unit_test(test_thread_create),
        cmocka_unit_test(test_threads_same_bytes),
        cmocka_unit_test(test_digests_while_decoding),
        cmocka_unit_test(test_digests_wrong_length_ignored),
        cmocka_unit_test(test_libraries_same_bytes),
        cmocka_unit_test(test_encrypt_streamed),
        cmocka_unit_test(test_roundtrip_testdata_png),
        cmocka_unit_test(test_roundtrip_testdata_pnm),
        cmocka_unit_test(test_roundtrip_generated),
        cmocka_unit_test(test_older_versions_read),
        cmocka_unit_test(test_nonce_fresh),
        cmocka_unit_test(test_every_byte_and_truncation),
        cmocka_unit_test(test_lying_fields),
        cmocka_unit_test(test_decrypt_unverified),
        cmocka_unit_test(test_inspect_frames),
        cmocka_unit_test(test_chunk_layout),
        cmocka_unit_test(test_reencoded_cipher),
        cmocka_unit_test(test_foreign_chunks),
        cmocka_unit_test(test_inserted_chunk_as_decryption),
        cmocka_unit_test(test_tampered_detail_names_added_chunks),
        cmocka_unit_test(test_ihdr_flip_not_too_big),
        cmocka_unit_test(test_ihdr_colour_type_as_inspect),
        cmocka_unit_test(test_not_cipher),
        cmocka_unit_test(test_header_magic_and_length),
        cmocka_unit_test(test_inspect_as_decryption),
        cmocka_unit_test(test_iend_with_data),
        cmocka_unit_test(test_not_cipher_or_damaged),
        cmocka_unit_test(test_foreign_chunks_edges),
        cmocka_unit_test(test_container_geometry),
        cmocka_unit_test(test_spent_image),
        cmocka_unit_test(test_inspect_chunks_only),
        cmocka_unit_test(test_inspect_header_fields),
        cmocka_unit_test(test_png_dropped_chunks),
        cmocka_unit_test(test_png_dropped_chunks_limits),
        cmocka_unit_test(test_png_grey16_levels),
        cmocka_unit_test(test_png_metadata_kept),
        cmocka_unit_test(test_png_low_bit_grey_metadata),
        cmocka_unit_test(test_side_data_past_256_mib),
        cmocka_unit_test(test_side_data_too_large),
        cmocka_unit_test(test_png_metadata_bad_record),
        cmocka_unit_test(test_side_data_malformed),
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_ctx_options),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_pixel_cap),
        cmocka_unit_test(test_detail_cleared_before_arguments),
        cmocka_unit_test(test_name_with_nul),
        cmocka_unit_test(test_avalanche),
        cmocka_unit_test(test_no_plain_left_on_stack),
        cmocka_unit_test(test_no_key_left_on_stack),
        cmocka_unit_test(test_key_calls_clear_stack),
        cmocka_unit_test(test_no_plain_left_in_kept_blocks),
    };
    /* MC_TEST_ONLY: a cmocka pattern (tests/meson.build: the thread
     * tests alone under ThreadSanitizer). */
    if (getenv("MC_TEST_ONLY") != NULL)
        cmocka_set_test_filter(getenv("MC_TEST_ONLY"));
    return cmocka_run_group_tests(tests, ctx_setup, ctx_teardown);
}
