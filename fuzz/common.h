/* Shared by the libFuzzer targets of fuzz/: one context with a small pixel
 * cap, a fixed key, and the checks that turn logic bugs into crashes. */
#ifndef MC_FUZZ_COMMON_H
#define MC_FUZZ_COMMON_H

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2^20 samples: large enough for every seed's geometry class, small
 * enough that a lying header cannot make the fuzzer spend its time in
 * malloc and memset. */
#define FUZZ_MAX_SAMPLES ((uint64_t)1 << 20)

/* A finding: print why, then abort() so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, \
                    __LINE__);                                                    \
            abort();                                                              \
        }                                                                         \
    } while (0)

static inline mc_ctx *fuzz_ctx(void)
{
    static mc_ctx *ctx;

    if (ctx == NULL) {
        FUZZ_CHECK(mc_ctx_new(&ctx) == MC_OK);
        FUZZ_CHECK(mc_ctx_set_max_samples(ctx, FUZZ_MAX_SAMPLES) == MC_OK);
    }
    return ctx;
}

/* mc_ctx_last_cap() right after a decode that returned err: the context's
 * cap exactly when the refusal's detail names the pixel cap, else 0 (a
 * format's own limit, another error, a success). */
static inline void fuzz_check_cap(const mc_ctx *ctx, mc_err err)
{
    bool named = err == MC_ETOOBIG && strstr(mc_ctx_last_detail(ctx), "the pixel cap is") != NULL;

    FUZZ_CHECK(mc_ctx_last_cap(ctx) == (named ? mc_ctx_max_samples(ctx) : 0));
}

/* The key every cipher seed (fuzz/mkseeds.c) is encrypted under: bytes
 * 0, 1, ..., 31. Not secret. */
static inline void fuzz_key(mc_key *key)
{
    for (unsigned i = 0; i < MC_KEY_BYTES; i++)
        key->bytes[i] = (uint8_t)i;
}

static inline bool same_samples(const mc_image *a, const mc_image *b)
{
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           a->bits == b->bits && a->samples_len == b->samples_len &&
           memcmp(a->samples, b->samples, a->samples_len) == 0;
}

/* A decoded image must be consistent, encode in its own format, and (for
 * the formats that promise it: PNM, BMP, DICOM) give back the input byte
 * for byte; what it encodes to must decode to the same samples. */
static inline void fuzz_check_decoded(const mc_image *img, const uint8_t *in, size_t in_len,
                                      bool byte_exact)
{
    mc_ctx *ctx = fuzz_ctx();
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    mc_image *again = NULL;
    mc_err err;

    FUZZ_CHECK(img->width > 0 && img->height > 0);
    FUZZ_CHECK(img->channels >= 1 && img->channels <= 4);
    FUZZ_CHECK(img->bits == 8 || img->bits == 16);
    FUZZ_CHECK((uint64_t)img->width * img->height * img->channels <= FUZZ_MAX_SAMPLES);
    FUZZ_CHECK(img->samples_len ==
               (size_t)img->width * img->height * img->channels * (img->bits / 8));
    err = mc_image_encode(ctx, img, &enc, &enc_len);
    if (byte_exact) {
        FUZZ_CHECK(err == MC_OK);
        if (enc_len != in_len || memcmp(enc, in, in_len) != 0) {
            fprintf(stderr, "fuzz: not restored byte for byte: %zu bytes in, %zu out\n", in_len,
                    enc_len);
            abort();
        }
    }
    if (err == MC_OK) {
        err = mc_image_decode(ctx, enc, enc_len, NULL, &again);
        /* Bytes that declare a DICOM file at offset 128 ("DICM", group
         * 0002, a VR: mc__dicom_declared) are read as DICOM only, by
         * design: a PGM or BMP whose own bytes say so there is refused
         * by mc_image_decode, though its own decoder reads it. */
        if (err != MC_OK && img->format != MC_FORMAT_DICOM && mc__dicom_declared(enc, enc_len)) {
            mc_free(enc);
            return;
        }
        FUZZ_CHECK(err == MC_OK);
        FUZZ_CHECK(same_samples(img, again));
        mc_image_free(again);
    }
    mc_free(enc);
}

#endif
