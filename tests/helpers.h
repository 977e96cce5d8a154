/* Small helpers shared by the cmocka tests (header-only on purpose: each
 * test is one executable). */
#ifndef MC_TEST_HELPERS_H
#define MC_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "internal.h"
#include "mem_sink.h"

/* One library context for a whole group of tests: pass ctx_setup and
 * ctx_teardown to cmocka_run_group_tests(). */
static mc_ctx *ctx __attribute__((unused));

static inline int ctx_setup(void **state)
{
    (void)state;
    return mc_ctx_new(&ctx) == MC_OK ? 0 : -1;
}

static inline int ctx_teardown(void **state)
{
    (void)state;
    mc_ctx_free(ctx);
    return 0;
}

static inline uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    *len = 0;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline uint8_t *read_testdata(const char *rel, size_t *len)
{
    char path[1024];
    uint8_t *buf;

    *len = 0;
    snprintf(path, sizeof path, "%s/%s", MC_TESTDATA, rel);
    buf = read_file(path, len);
    if (buf == NULL)
        fail_msg("cannot read %s", path);
    return buf;
}

static inline void sha256_hex(char hex[65], const uint8_t *buf, size_t len)
{
    uint8_t d[32];
    crypto_hash_sha256(d, buf, len);
    sodium_bin2hex(hex, 65, d, sizeof d);
}

/* A deterministic test key 00 01 .. 1f (or offset by k). */
static inline void test_key(mc_key *key, uint8_t k)
{
    for (int i = 0; i < MC_KEY_BYTES; i++)
        key->bytes[i] = (uint8_t)(i + k);
}

/* A smooth, image-like test pattern (gradients plus a disk), so that the
 * plain image has the strong neighbour correlation of a real one. */
static inline void fill_pattern(mc_image *img, uint32_t seed)
{
    uint32_t w = img->width, h = img->height, c = img->channels;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < c; k++) {
                uint32_t v = (x * 3 + y * 5 + k * 40 + seed) +
                             (((x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) <
                               (w * h) / 8) ? 90u : 0u);
                size_t i = ((size_t)y * w + x) * c + k;
                if (img->bits == 8)
                    img->samples[i] = (uint8_t)v;
                else
                    ((uint16_t *)(void *)img->samples)[i] = (uint16_t)(v * 257u);
            }
}

/* Same geometry and the same samples. */
static inline void assert_same_samples(const mc_image *a, const mc_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    assert_int_equal(a->bits, b->bits);
    assert_int_equal(a->samples_len, b->samples_len);
    assert_memory_equal(a->samples, b->samples, a->samples_len);
}

/* A decode for an encrypt (dc: chunk_digests, two threads) left format
 * v3's chunk digests of these samples in img: the SHA-512 of each 64 KiB
 * chunk (chunkhash.c). */
static inline void assert_chunk_digests(const mc_image *img, const uint8_t *samples, size_t len)
{
    size_t chunks = mc__tree_chunks(len);
    uint8_t digest[64];

    assert_non_null(img->digests);
    assert_int_equal(img->digests_len, chunks * 64);
    for (size_t i = 0; i < chunks; i++) {
        size_t off = i * MC_TREE_CHUNK;
        size_t n = len - off < MC_TREE_CHUNK ? len - off : MC_TREE_CHUNK;
        assert_int_equal(mc__sha512(digest, samples + off, n), MC_OK);
        assert_memory_equal(img->digests + 64 * i, digest, 64);
    }
}

/* ... and none when dc runs one thread, or for a plain decode (the
 * shared ctx). Leaves dc on two threads. */
static inline void assert_no_digests_otherwise(mc_ctx *dc, const uint8_t *buf, size_t len)
{
    mc_image *img = NULL;

    assert_int_equal(mc_ctx_set_threads(dc, 1), MC_OK);
    assert_int_equal(mc_image_decode(dc, buf, len, NULL, &img), MC_OK);
    assert_null(img->digests);
    mc_image_free(img);
    img = NULL;
    assert_int_equal(mc_ctx_set_threads(dc, 2), MC_OK);
    assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &img), MC_OK);
    assert_null(img->digests);
    mc_image_free(img);
}

#endif
