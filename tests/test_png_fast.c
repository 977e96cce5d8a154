/* A plain PNG's pixels in one pass (src/codec_png_fast.c), and piece by
 * piece (src/codec_png_stream.c, mc_ctx's png_stream), against libspng
 * alone (mc_ctx's png_no_fast): the same result and the same samples for
 * every test image, for every filter type at every pixel size, and for
 * the files the fast path must decline, which libspng then decodes or
 * refuses as before; and a large image's chunk digests, hashed while it
 * is inflated piece by piece, those of its samples, declined or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spng.h>
#include <zlib.h>

#include "helpers.h"
#include "png_chunk.h"

#include "medcrypt.h"

#ifndef MC_TESTDATA
#error "MC_TESTDATA must name the test data directory"
#endif

static mc_ctx *ctx_fast, *ctx_spng, *ctx_stream;

/* Whether ISA-L is there to inflate piece by piece (meson found it,
 * scripts/deps.sh installs it, and it loads here): codec_png_stream.c
 * must then take what the one call takes. */
static bool streams;

static int setup(void **state)
{
    (void)state;
    if (mc_ctx_new(&ctx_fast) != MC_OK || mc_ctx_new(&ctx_spng) != MC_OK ||
        mc_ctx_new(&ctx_stream) != MC_OK)
        return -1;
    ctx_spng->png_no_fast = true;
    ctx_stream->png_stream = true;
#ifdef MC_LIBISAL_SONAME
    streams = dlopen(MC_LIBISAL_SONAME, RTLD_NOW | RTLD_LOCAL) != NULL;
#endif
    if (!streams)
        print_message("ISA-L not loadable: the piece-by-piece path is not tested\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mc_ctx_free(ctx_fast);
    mc_ctx_free(ctx_spng);
    mc_ctx_free(ctx_stream);
    return 0;
}

/* The channels medcrypt keeps for a PNG colour type that the fast path
 * may take (PNG §11.2.1: 0 gray, 2 RGB, 4 gray+alpha, 6 RGBA); 0 for
 * palette. */
static uint8_t channels_of(uint8_t color_type)
{
    switch (color_type) {
    case 0: return 1;
    case 2: return 3;
    case 4: return 2;
    case 6: return 4;
    default: return 0;
    }
}

/* Whether codec_png_fast.c itself takes buf (called directly, on an
 * image of the header's geometry, in one call or piece by piece); its
 * samples in *out if so. */
static bool fast_takes_as(const uint8_t *buf, size_t len, bool stream, mc_image **out)
{
    mc__png_chunk_view c;
    mc_image *img = NULL;
    size_t off = 8;
    uint8_t ch = channels_of(buf[25]);
    mc_err err = MC_OK;
    bool taken;

    *out = NULL;
    if (ch == 0 || buf[28] != 0 || (buf[24] != 8 && buf[24] != 16))
        return false; /* palette, Adam7 or under 8 bits: never offered */
    while (mc__png_chunk_at(buf, len, off, &c) && c.whole && memcmp(c.type, "IDAT", 4) != 0)
        off += 12 + (size_t)c.len;
    assert_int_equal(mc__image_alloc_room(NULL, mc__be32(buf + 16), mc__be32(buf + 20), ch,
                                          buf[24], mc__be32(buf + 20), &img),
                     MC_OK);
    taken = mc__png_fast_decode(buf, len, off, img, NULL, stream, &err);
    assert_int_equal(err, MC_OK);
    /* The room after the samples held filtered rows: wiped, taken or not. */
    for (uint32_t i = 0; i < img->height; i++)
        assert_int_equal(img->samples[img->samples_len + i], 0);
    if (taken)
        *out = img;
    else
        mc_image_free(img);
    return taken;
}

static bool fast_takes(const uint8_t *buf, size_t len, mc_image **out)
{
    mc_image *s = NULL;
    unsigned long s0 = mc__png_stream_taken();
    bool taken = fast_takes_as(buf, len, false, out);

    /* piece by piece: the same verdict, the same samples */
    assert_int_equal(fast_takes_as(buf, len, true, &s), taken);
    assert_int_equal(mc__png_stream_taken() - s0, taken && streams ? 1 : 0);
    if (taken)
        assert_memory_equal(s->samples, (*out)->samples, s->samples_len);
    mc_image_free(s);
    return taken;
}

/* buf decoded with the fast path allowed and with libspng alone: the
 * same result, the same samples. Returns whether mc__png_decode took
 * the fast path (its counter), which must be the fast path's own
 * verdict on a file libspng reads up to its pixel data. */
static bool check_same(const uint8_t *buf, size_t len, mc_err *result)
{
    mc_image *a = NULL, *b = NULL, *f = NULL, *s = NULL;
    unsigned long c0 = mc__png_fast_taken();
    mc_err ea = mc__png_decode(ctx_fast, buf, len, &a, NULL);
    unsigned long c1 = mc__png_fast_taken();
    mc_err eb = mc__png_decode(ctx_spng, buf, len, &b, NULL);
    unsigned long s0 = mc__png_stream_taken();
    mc_err es = mc__png_decode(ctx_stream, buf, len, &s, NULL);
    bool taken, in_decode = c1 - c0 == 1;

    assert_true(c1 - c0 <= 1);
    /* png_no_fast: never; png_stream: piece by piece what one call takes */
    assert_int_equal(mc__png_fast_taken(), c1 + (mc__png_stream_taken() - s0));
    assert_int_equal(mc__png_stream_taken() - s0, in_decode && streams ? 1 : 0);

    assert_int_equal(ea, eb);
    assert_int_equal(es, eb);
    if (ea == MC_OK) {
        assert_same_samples(a, b);
        assert_same_samples(s, b);
    }
    mc_image_free(s);
    taken = len > 28 && fast_takes(buf, len, &f);
    if (taken) { /* what it took, libspng reads the same */
        assert_int_equal(ea, MC_OK);
        assert_memory_equal(f->samples, b->samples, b->samples_len);
    }
    if (ea == MC_OK)
        assert_int_equal(in_decode, taken);
    mc_image_free(a);
    mc_image_free(b);
    mc_image_free(f);
    if (result != NULL)
        *result = ea;
    return in_decode;
}

static void check_file(const char *path, bool must_take)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    mc_err err;
    bool taken = check_same(buf, len, &err);

    assert_int_equal(err, MC_OK);
    if (must_take != taken)
        fail_msg("%s: the fast path %s it", path, taken ? "took" : "declined");
    free(buf);
}

/* Every PNG of the test data, and the 2048x2048 16-bit CT: all taken but
 * the palette image (testdata/README.md: none of them interlaced, each
 * one IDAT chunk and IEND after it). */
static void test_testdata(void **state)
{
    char path[1024];
    struct dirent *de;
    DIR *d;
    int seen = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/png", MC_TESTDATA);
    assert_non_null(d = opendir(path));
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/png/%s", MC_TESTDATA, de->d_name);
        check_file(path, strcmp(de->d_name, "palette_16_colors.png") != 0);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 10);
    snprintf(path, sizeof path, "%s/bench/ct_2048_16bit.png", MC_TESTDATA);
    check_file(path, true);
}

/* A PNG of random samples written by libspng with one filter type on
 * every row (or its adaptive choice), in IDAT chunks of libspng's size. */
static uint8_t *spng_png(uint32_t w, uint32_t h, uint8_t color_type, uint8_t bits, int filters,
                         size_t *len, uint8_t **samples, size_t *samples_len)
{
    spng_ctx *sc = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = w, .height = h, .bit_depth = bits,
                             .color_type = color_type};
    size_t n = (size_t)w * h * channels_of(color_type) * (bits / 8);
    uint8_t *raw = malloc(n), *out;
    int e;

    assert_non_null(sc);
    assert_non_null(raw);
    /* Smooth with noise, so that every filter has something to predict,
     * and Paeth's ties (PNG §9.4: a before b before c) come up. */
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)((i / 7) + (rand() & 63));
    assert_int_equal(spng_set_option(sc, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_option(sc, SPNG_FILTER_CHOICE, filters), 0);
    assert_int_equal(spng_set_ihdr(sc, &ihdr), 0);
    /* SPNG_FMT_RAW: 16-bit samples as PNG stores them, big-endian. */
    assert_int_equal(spng_encode_image(sc, raw, n, SPNG_FMT_RAW, SPNG_ENCODE_FINALIZE), 0);
    out = spng_get_png_buffer(sc, len, &e);
    assert_non_null(out);
    assert_int_equal(e, 0);
    spng_ctx_free(sc);
    if (bits == 16)
        mc__swap16(raw, raw, n); /* to the host order medcrypt keeps */
    *samples = raw;
    *samples_len = n;
    return out;
}

/* The filter type of each row (png_rows inflates the IDAT chunks). */
static void filter_types(const uint8_t *buf, size_t len, size_t row_bytes, uint32_t h,
                         uint8_t *types)
{
    uint8_t *rows = png_rows(buf, len, (row_bytes + 1) * h);

    for (uint32_t y = 0; y < h; y++)
        types[y] = rows[y * (row_bytes + 1)];
    free(rows);
}

/* Each filter type of PNG §9.2 at each pixel size (1, 2, 3, 4, 6 and 8
 * bytes), an odd width, the first row (no row above) included: the fast
 * path takes the file and gives the samples written. */
static void test_filters(void **state)
{
    static const uint8_t types[] = {0, 2, 4, 6};
    static const struct {
        int choice;
        int type; /* every row's, -1: libspng's choice */
    } filters[] = {{SPNG_FILTER_CHOICE_NONE, 0}, {SPNG_FILTER_CHOICE_SUB, 1},
                   {SPNG_FILTER_CHOICE_UP, 2},   {SPNG_FILTER_CHOICE_AVG, 3},
                   {SPNG_FILTER_CHOICE_PAETH, 4}, {SPNG_FILTER_CHOICE_ALL, -1}};

    (void)state;
    srand(11);
    for (size_t t = 0; t < sizeof types; t++)
        for (uint8_t bits = 8; bits <= 16; bits += 8)
            for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
                const uint32_t w = 61, h = 17;
                uint8_t row_types[17], *samples, *png;
                size_t len, n;
                mc_image *img = NULL;

                png = spng_png(w, h, types[t], bits, filters[f].choice, &len, &samples, &n);
                filter_types(png, len, n / h, h, row_types);
                /* libspng writes the first row with None or Sub whatever
                 * the choice (nothing above it); the rest as asked. */
                for (uint32_t y = 1; y < h; y++)
                    if (filters[f].type >= 0)
                        assert_int_equal(row_types[y], filters[f].type);
                assert_true(check_same(png, len, NULL));
                assert_true(fast_takes(png, len, &img));
                assert_int_equal(img->samples_len, n);
                assert_memory_equal(img->samples, samples, n);
                mc_image_free(img);
                free(png);
                free(samples);
            }
}

/* A PNG whose filtered rows are chosen here: each row's filter type
 * first, then rows[] unfiltered by the reader into the samples. The
 * first row uses every filter in turn across the images below. */
static void test_first_row(void **state)
{
    /* 4x2 gray 8-bit: row 0 with each filter type, row 1 Paeth. */
    static const uint8_t ihdr[13] = {0, 0, 0, 4, 0, 0, 0, 2, 8, 0, 0, 0, 0};
    uint8_t rows[10], z[64], png[256];
    uLongf z_len;
    size_t len;

    (void)state;
    for (uint8_t ft = 0; ft <= 4; ft++) {
        mc_image *img = NULL;
        const uint8_t r0[5] = {ft, 10, 20, 250, 7}, r1[5] = {4, 1, 2, 3, 4};
        memcpy(rows, r0, 5);
        memcpy(rows + 5, r1, 5);
        z_len = sizeof z;
        assert_int_equal(compress2(z, &z_len, rows, sizeof rows, 9), Z_OK);
        len = put_png(png, ihdr, NULL, NULL, 0, z, (uint32_t)z_len);
        assert_true(check_same(png, len, NULL));
        assert_true(fast_takes(png, len, &img));
        /* Row 0 by hand (PNG §9.2, the row above all zeros). */
        uint8_t e[4];
        for (int i = 0; i < 4; i++) {
            uint8_t a = i > 0 ? e[i - 1] : 0;
            uint8_t x = r0[1 + i];
            e[i] = ft == 0 || ft == 2 ? x : ft == 3 ? (uint8_t)(x + (a >> 1)) : (uint8_t)(x + a);
        }
        assert_memory_equal(img->samples, e, 4);
        mc_image_free(img);
    }
}

/* The pieces of a hand-made 5x3 gray 8-bit PNG. */
static const uint8_t small_ihdr[13] = {0, 0, 0, 5, 0, 0, 0, 3, 8, 0, 0, 0, 0};
static const uint8_t small_rows[18] = {1, 5, 6, 7, 8, 9,      /* Sub */
                                       2, 1, 1, 1, 1, 1,      /* Up */
                                       3, 200, 9, 8, 7, 6};   /* Average */

static size_t small_z(uint8_t *z, const uint8_t *rows, size_t n)
{
    uLongf z_len = 256;
    assert_int_equal(compress2(z, &z_len, rows, n, 9), Z_OK);
    return z_len;
}

/* sig, IHDR, then the given chunks (type, data, len; NULL type ends). */
struct piece {
    const char *type;
    const uint8_t *data;
    uint32_t len;
};

#define END {NULL, NULL, 0}

static size_t build(uint8_t *dst, const struct piece *p)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    size_t n = 8;

    memcpy(dst, sig, 8);
    n += put_chunk(dst + n, "IHDR", small_ihdr, 13);
    for (; p->type != NULL; p++)
        n += put_chunk(dst + n, p->type, p->data, p->len);
    return n;
}

/* What the fast path must decline, and what it may take, each decoded
 * the same with and without it. */
static void test_declines(void **state)
{
    static const uint8_t text[] = "Comment\0after the pixels";
    uint8_t z[256], bad[256], rows[24], png[1024];
    size_t zl, len;
    mc_err err;

    (void)state;
    zl = small_z(z, small_rows, sizeof small_rows);

    /* The plain file, and the same stream cut across two IDAT chunks. */
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    assert_true(check_same(png, len, &err));
    assert_int_equal(err, MC_OK);
    len = build(png, (struct piece[]){{"IDAT", z, 3},
                                      {"IDAT", NULL, 0},
                                      {"IDAT", z + 3, (uint32_t)zl - 3},
                                      {"IEND", NULL, 0},
                                      END});
    assert_true(check_same(png, len, &err));
    assert_int_equal(err, MC_OK);
    /* The zlib header across chunks, empty ones after the stream. */
    len = build(png, (struct piece[]){{"IDAT", z, 1},
                                      {"IDAT", NULL, 0},
                                      {"IDAT", z + 1, 1},
                                      {"IDAT", z + 2, (uint32_t)zl - 2},
                                      {"IDAT", NULL, 0},
                                      {"IEND", NULL, 0},
                                      END});
    assert_true(check_same(png, len, &err));
    assert_int_equal(err, MC_OK);
    /* Each byte in a chunk of its own. */
    {
        struct piece many[128];
        size_t i;
        assert_true(zl + 2 <= sizeof many / sizeof many[0]);
        for (i = 0; i < zl; i++)
            many[i] = (struct piece){"IDAT", z + i, 1};
        many[i++] = (struct piece){"IEND", NULL, 0};
        many[i] = (struct piece)END;
        len = build(png, many);
        assert_true(check_same(png, len, &err));
        assert_int_equal(err, MC_OK);
    }
    /* A zlib header libdeflate and zlib refuse: a preset dictionary
     * (RFC 1950 §2.2 FDICT), a window over 32 KiB (CINFO 8), a wrong
     * check (FCHECK), a method not deflate (CM 7). */
    {
        static const uint8_t heads[4][2] = {{0x78, 0x20}, {0x88, 0x1c}, {0x78, 0x9d}, {0x77, 0x09}};
        for (int i = 0; i < 4; i++) {
            assert_int_equal((heads[i][0] << 8 | heads[i][1]) % 31 == 0, i != 2);
            memcpy(bad, z, zl);
            memcpy(bad, heads[i], 2);
            len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl}, {"IEND", NULL, 0}, END});
            assert_false(check_same(png, len, &err));
            assert_int_not_equal(err, MC_OK);
        }
    }

    /* A wrong Adler-32: libspng is told to ignore it (codec_png.c), so
     * the file is libspng's, and decodes. */
    memcpy(bad, z, zl);
    bad[zl - 1] ^= 1;
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, &err));
    assert_int_equal(err, MC_OK);

    /* A chunk after the image data: libspng's, and it decodes. */
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl},
                                      {"tEXt", text, sizeof text - 1},
                                      {"IEND", NULL, 0},
                                      END});
    assert_false(check_same(png, len, &err));
    assert_int_equal(err, MC_OK);

    /* Refused by libspng, declined here: */
    /* a filter type past Paeth; */
    memcpy(rows, small_rows, sizeof small_rows);
    rows[6] = 5;
    zl = small_z(bad, rows, sizeof small_rows);
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, &err));
    assert_int_not_equal(err, MC_OK);
    /* a row short; */
    zl = small_z(bad, small_rows, sizeof small_rows - 1);
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, &err));
    assert_int_not_equal(err, MC_OK);
    /* an IDAT chunk after another chunk after the first; */
    zl = small_z(z, small_rows, sizeof small_rows);
    len = build(png, (struct piece[]){{"IDAT", z, 3},
                                      {"tEXt", text, sizeof text - 1},
                                      {"IDAT", z + 3, (uint32_t)zl - 3},
                                      {"IEND", NULL, 0},
                                      END});
    assert_false(check_same(png, len, &err));
    assert_int_not_equal(err, MC_OK);
    /* an IDAT chunk whose CRC is wrong, the only one or the last of three; */
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    png[8 + 25 + 8 + zl] ^= 1; /* the IDAT's CRC, after sig, IHDR, its header, data */
    assert_false(check_same(png, len, &err));
    assert_int_not_equal(err, MC_OK);
    len = build(png, (struct piece[]){{"IDAT", z, 3},
                                      {"IDAT", z + 3, 2},
                                      {"IDAT", z + 5, (uint32_t)zl - 5},
                                      {"IEND", NULL, 0},
                                      END});
    png[len - 12 - 1] ^= 1; /* the last IDAT's CRC, before IEND */
    assert_false(check_same(png, len, &err));
    assert_int_not_equal(err, MC_OK);

    /* Whatever libspng says, the same with and without (declined): */
    /* a row too many, */
    memcpy(rows, small_rows, sizeof small_rows);
    memcpy(rows + 18, small_rows, 6);
    zl = small_z(bad, rows, 24);
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, NULL));
    /* bytes after the zlib stream: one, four, one in an IDAT chunk of
     * its own; the Adler-32 cut by one to four bytes, */
    zl = small_z(bad, small_rows, sizeof small_rows);
    memset(bad + zl, 0, 4);
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl + 1}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, NULL));
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl + 4}, {"IEND", NULL, 0}, END});
    assert_false(check_same(png, len, NULL));
    len = build(png, (struct piece[]){{"IDAT", bad, (uint32_t)zl},
                                      {"IDAT", bad + zl, 1},
                                      {"IEND", NULL, 0},
                                      END});
    assert_false(check_same(png, len, NULL));
    for (uint32_t cut = 1; cut <= 4; cut++) {
        len = build(png,
                    (struct piece[]){{"IDAT", bad, (uint32_t)zl - cut}, {"IEND", NULL, 0}, END});
        assert_false(check_same(png, len, NULL));
    }
    /* an IEND with data or a wrong CRC, no IEND at all. */
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl}, {"IEND", text, 2}, END});
    assert_false(check_same(png, len, NULL));
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl}, {"IEND", NULL, 0}, END});
    png[len - 1] ^= 1;
    assert_false(check_same(png, len, NULL));
    len = build(png, (struct piece[]){{"IDAT", z, (uint32_t)zl}, END});
    assert_false(check_same(png, len, NULL));
}

/* The one difference kept (codec_png_fast.c): a deflate stream that
 * libdeflate reads and zlib refuses, here a dynamic block declaring 288
 * length codes (RFC 1951 §3.2.7 allows 286; a review built it, and
 * fuzz/regressions/fuzz_png/ keeps it with five more). The fast path
 * reads it; libspng alone refuses it; zlib, asked directly, refuses it. */
static void test_lenient_stream(void **state)
{
    static const uint8_t png[81] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
        0x00, 0xdc, 0x57, 0x50, 0x11, 0x00, 0x00, 0x00, 0x18, 0x49, 0x44, 0x41, 0x54, 0x78,
        0x01, 0xfd, 0xdf, 0x01, 0x09, 0x00, 0x00, 0x00, 0x80, 0xa0, 0xae, 0xf5, 0xff, 0x54,
        0x3d, 0xd1, 0x27, 0xb8, 0x00, 0x02, 0x8f, 0x01, 0x05, 0x84, 0xfd, 0x40, 0xb7, 0x00,
        0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    static const uint8_t samples[4] = {0x41, 0x41, 0x41, 0x41};
    uint8_t rows[16];
    uLongf n = sizeof rows;
    mc_image *img = NULL;
    unsigned long c0 = mc__png_fast_taken();

    (void)state;
    assert_int_equal(mc__png_decode(ctx_fast, png, sizeof png, &img, NULL), MC_OK);
    assert_int_equal(mc__png_fast_taken(), c0 + 1);
    assert_int_equal(img->samples_len, 4);
    assert_memory_equal(img->samples, samples, 4);
    mc_image_free(img);
    img = NULL;
    assert_int_equal(mc__png_decode(ctx_spng, png, sizeof png, &img, NULL), MC_EFORMAT);
    assert_null(img);
    assert_int_equal(uncompress(rows, &n, png + 41, 0x18), Z_DATA_ERROR);
    /* ISA-L refuses it; piece by piece declines, and the one call reads
     * it as before (a review: the verdict is the one call's). */
    c0 = mc__png_fast_taken();
    unsigned long s0 = mc__png_stream_taken();
    assert_int_equal(mc__png_decode(ctx_stream, png, sizeof png, &img, NULL), MC_OK);
    assert_int_equal(mc__png_fast_taken(), c0 + 1);
    assert_int_equal(mc__png_stream_taken(), s0);
    assert_memory_equal(img->samples, samples, 4);
    mc_image_free(img);
}

/* The one difference piece by piece keeps (codec_png_stream.c): ISA-L
 * reads a dynamic block whose distance code is incomplete (lengths 1
 * and 6: RFC 1951 §3.2.2's codes must be complete but for a single
 * one), which libdeflate and zlib refuse (a review built it). A 4x1
 * gray image, 41 42 43 44. */
static void test_isal_lenient(void **state)
{
    static const uint8_t ihdr[13] = {0, 0, 0, 4, 0, 0, 0, 1, 8, 0, 0, 0, 0};
    static const uint8_t z[86] = {
        0x78, 0x01, 0x05, 0xc1, 0x01, 0x40, 0x90, 0x00, 0x00, 0x00, 0xa0, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xea, 0x11, 0x40, 0x50, 0x48, 0x58, 0xe4, 0x3f, 0x02, 0x99,
        0x01, 0x0b};
    static const uint8_t samples[4] = {0x41, 0x42, 0x43, 0x44};
    uint8_t png[256], rows[16];
    uLongf n = sizeof rows;
    size_t len = put_png(png, ihdr, NULL, NULL, 0, z, sizeof z);
    mc_image *img = NULL;
    unsigned long s0 = mc__png_stream_taken();

    (void)state;
    assert_int_equal(uncompress(rows, &n, z, sizeof z), Z_DATA_ERROR);
    assert_int_equal(mc__png_decode(ctx_fast, png, len, &img, NULL), MC_EFORMAT);
    assert_int_equal(mc__png_decode(ctx_spng, png, len, &img, NULL), MC_EFORMAT);
    if (!streams) {
        assert_int_equal(mc__png_decode(ctx_stream, png, len, &img, NULL), MC_EFORMAT);
        return;
    }
    assert_int_equal(mc__png_decode(ctx_stream, png, len, &img, NULL), MC_OK);
    assert_int_equal(mc__png_stream_taken(), s0 + 1);
    assert_int_equal(img->samples_len, 4);
    assert_memory_equal(img->samples, samples, 4);
    mc_image_free(img);
}

/* The digests a large image's decode left (chunkhash.c) are those of
 * its samples. */
static void assert_digests(const mc_image *img)
{
    size_t n = mc__tree_chunks(img->samples_len) * 64;
    uint8_t *want = malloc(n);

    assert_non_null(want);
    assert_non_null(img->digests);
    assert_int_equal(img->digests_len, n);
    assert_int_equal(mc__sha512_chunks(want, img->samples, img->samples_len, MC_TREE_CHUNK, 0,
                                       mc__tree_chunks(img->samples_len)),
                     MC_OK);
    assert_memory_equal(img->digests, want, n);
    free(want);
}

/* A large image to be encrypted (chunk digests wanted, two threads, 2
 * MiB of samples and more: chunkhash.c) is inflated piece by piece,
 * each row undone and hashed on the second core meanwhile. Its digests
 * are its samples'; and where the stream turns out bad only after rows
 * were hashed, the hasher told of them is stopped and libspng's rows
 * hashed anew: a wrong Adler-32 (libspng ignores it and decodes), a
 * filter type past Paeth in the last row (libspng refuses). */
static void test_large_stream(void **state)
{
    const uint32_t w = 1024, h = 1088; /* 16-bit gray: 2.1 MiB of samples */
    const size_t row = (size_t)w * 2, raw_len = (row + 1) * h;
    uint8_t ihdr[13] = {0, 0, 4, 0, 0, 0, 4, 64, 16, 0, 0, 0, 0};
    uint8_t *rows = malloc(raw_len), *z, *png;
    uLongf z_len = compressBound((uLong)raw_len);
    size_t len;
    mc_ctx *ctx;
    mc_image *img = NULL, *ref = NULL;
    unsigned long s0, h0;

    (void)state;
    assert_non_null(rows);
    assert_non_null(z = malloc(z_len));
    assert_non_null(png = malloc(z_len + 64));
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    ctx->chunk_digests = true;
    ctx->threads = 2;
    srand(5);
    for (size_t y = 0; y < h; y++) {
        rows[y * (row + 1)] = (uint8_t)(y % 5); /* each filter type in turn */
        for (size_t i = 1; i <= row; i++)
            rows[y * (row + 1) + i] = (uint8_t)(rand() & 7);
    }
    assert_int_equal(compress2(z, &z_len, rows, (uLong)raw_len, 6), Z_OK);

    len = put_png(png, ihdr, NULL, NULL, 0, z, (uint32_t)z_len);
    s0 = mc__png_stream_taken();
    h0 = mc__chunk_hashers_started();
    assert_int_equal(mc__png_decode(ctx, png, len, &img, NULL), MC_OK);
    assert_int_equal(mc__png_stream_taken() - s0, streams ? 1 : 0);
    assert_int_equal(mc__chunk_hashers_started() - h0, 1);
    assert_int_equal(mc__png_decode(ctx_spng, png, len, &ref, NULL), MC_OK);
    assert_same_samples(img, ref);
    assert_digests(img);
    mc_image_free(img);
    img = NULL;

    /* The Adler-32 wrong: found after the last row. The hasher told of
     * every row is stopped, the one call declines too, and libspng's
     * rows go to a second hasher. */
    z[z_len - 1] ^= 1;
    len = put_png(png, ihdr, NULL, NULL, 0, z, (uint32_t)z_len);
    s0 = mc__png_stream_taken();
    h0 = mc__chunk_hashers_started();
    assert_int_equal(mc__png_decode(ctx, png, len, &img, NULL), MC_OK);
    assert_int_equal(mc__png_stream_taken(), s0);
    assert_int_equal(mc__chunk_hashers_started() - h0, streams ? 2 : 1);
    assert_same_samples(img, ref);
    assert_digests(img);
    mc_image_free(img);
    img = NULL;

    /* The last row's filter type 5. */
    rows[(h - 1) * (row + 1)] = 5;
    z_len = compressBound((uLong)raw_len);
    assert_int_equal(compress2(z, &z_len, rows, (uLong)raw_len, 6), Z_OK);
    len = put_png(png, ihdr, NULL, NULL, 0, z, (uint32_t)z_len);
    assert_int_equal(mc__png_decode(ctx, png, len, &img, NULL), MC_EFORMAT);
    assert_null(img);
    assert_int_equal(mc__png_stream_taken(), s0);

    mc_image_free(ref);
    mc_ctx_free(ctx);
    free(png);
    free(z);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testdata),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_first_row),
        cmocka_unit_test(test_declines),
        cmocka_unit_test(test_lenient_stream),
        cmocka_unit_test(test_isal_lenient),
        cmocka_unit_test(test_large_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
