/*
 * BMP and JPEG codecs (issue 5): every test image, BMPs generated here in
 * every supported layout, byte-exact round trips through encryption, and
 * hostile headers.
 *
 * Where the expected samples come from:
 *   - the BMP test images were checked with an independent reader
 *     (Python, struct + zlib, when writing this test):
 *     ct_512_8bit_palette.bmp holds png/ct_512_8bit.png's samples,
 *     ct_512_1bit.bmp is that image thresholded (v >= 101 -> 255, else 0),
 *     rgb_24bit_100x100.bmp and rgba_32bit_100x100.bmp hold
 *     png/rgb_100x100.png's and png/rgba_100x100.png's samples (the latter
 *     with a real alpha channel in the 4th byte of BI_RGB pixels);
 *   - generated BMPs are written by make_bmp() below, from the format
 *     description, not by the codec;
 *   - JPEG samples: the SHA-256 of djpeg's output (libjpeg-turbo-progs
 *     2.1.5, `djpeg -pnm`, raster only), and a decode in this test with
 *     jpeglib's API called directly (the same library as the codec, but a
 *     separate code path: it checks our setup, not libjpeg itself).
 */
#include "helpers.h"

#include <jpeglib.h>

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static mc_image *decode_ok_in(mc_ctx *c, const uint8_t *buf, size_t len)
{
    mc_image *img = NULL;
    assert_int_equal(mc_image_decode(c, buf, len, NULL, &img), MC_OK);
    return img;
}

static mc_image *decode_ok(const uint8_t *buf, size_t len)
{
    return decode_ok_in(ctx, buf, len);
}

static mc_image *decode_testdata(const char *rel)
{
    size_t len;
    uint8_t *buf = read_testdata(rel, &len);
    mc_image *img = decode_ok(buf, len);
    free(buf);
    return img;
}

static void assert_geometry(const mc_image *img, uint32_t w, uint32_t h, uint8_t c)
{
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    assert_int_equal(img->channels, c);
    assert_int_equal(img->bits, 8);
    assert_int_equal(img->frames, 1);
    assert_int_equal(img->samples_len, (size_t)w * h * c);
}

/* Encrypts and decrypts file bytes; returns the restored bytes. */
static uint8_t *crypt_round_trip(const uint8_t *buf, size_t len, const char *name,
                                 size_t *out_len, mc_image_info *info)
{
    mc_key key;
    uint8_t *cipher = NULL, *back = NULL;
    size_t clen = 0;

    test_key(&key, 0);
    assert_int_equal(mc_encrypt_file(ctx, &key, buf, len, name, &cipher, &clen), MC_OK);
    assert_true(mc__png_sniff(cipher, clen));
    assert_int_equal(mc_decrypt_file(ctx, &key, cipher, clen, &back, out_len, info), MC_OK);
    mc_free(cipher);
    return back;
}

/* ------------------------------------------------------------------ */
/* BMP test images.                                                    */

struct bmp_file {
    const char *name;
    uint32_t w, h;
    uint8_t c;
};

static const struct bmp_file BMP_FILES[] = {
    {"ct_512_1bit.bmp", 512, 512, 1},
    {"ct_512_8bit_palette.bmp", 512, 512, 1},
    {"rgb_24bit_100x100.bmp", 100, 100, 3},
    {"rgba_32bit_100x100.bmp", 100, 100, 4},
};

static void test_bmp_files(void **state)
{
    (void)state;
    mc_image *png, *bmp;

    for (size_t i = 0; i < sizeof BMP_FILES / sizeof BMP_FILES[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "bmp/%s", BMP_FILES[i].name);
        bmp = decode_testdata(rel);
        assert_geometry(bmp, BMP_FILES[i].w, BMP_FILES[i].h, BMP_FILES[i].c);
        assert_int_equal(bmp->format, MC_FORMAT_BMP);
        mc_image_free(bmp);
    }

    png = decode_testdata("png/ct_512_8bit.png");
    bmp = decode_testdata("bmp/ct_512_8bit_palette.bmp");
    assert_memory_equal(bmp->samples, png->samples, png->samples_len);
    mc_image_free(bmp);
    bmp = decode_testdata("bmp/ct_512_1bit.bmp");
    for (size_t i = 0; i < png->samples_len; i++)
        assert_int_equal(bmp->samples[i], png->samples[i] >= 101 ? 255 : 0);
    mc_image_free(bmp);
    mc_image_free(png);

    png = decode_testdata("png/rgb_100x100.png");
    bmp = decode_testdata("bmp/rgb_24bit_100x100.bmp");
    assert_memory_equal(bmp->samples, png->samples, png->samples_len);
    mc_image_free(bmp);
    mc_image_free(png);

    png = decode_testdata("png/rgba_100x100.png");
    bmp = decode_testdata("bmp/rgba_32bit_100x100.bmp");
    assert_int_equal(png->channels, 4);
    assert_memory_equal(bmp->samples, png->samples, png->samples_len);
    mc_image_free(bmp);
    mc_image_free(png);
}

/* Decrypt(encrypt(file)) is the file, byte for byte; so is
 * encode(decode(file)) without encryption. */
static void test_bmp_files_byte_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BMP_FILES / sizeof BMP_FILES[0]; i++) {
        char rel[256];
        size_t len, back_len = 0;
        uint8_t *buf, *back;
        mc_image_info info;
        mc_image *img;

        snprintf(rel, sizeof rel, "bmp/%s", BMP_FILES[i].name);
        buf = read_testdata(rel, &len);
        back = crypt_round_trip(buf, len, BMP_FILES[i].name, &back_len, &info);
        assert_int_equal(back_len, len);
        assert_memory_equal(back, buf, len);
        assert_int_equal(info.format, MC_FORMAT_BMP);
        assert_string_equal(info.extension, "bmp");
        mc_free(back);

        img = decode_ok(buf, len);
        assert_int_equal(mc_image_encode(ctx, img, &back, &back_len), MC_OK);
        assert_int_equal(back_len, len);
        assert_memory_equal(back, buf, len);
        mc_free(back);
        mc_image_free(img);
        free(buf);
    }
}

/* ------------------------------------------------------------------ */
/* Generated BMPs: a writer from the format description.               */

enum layout {
    L_PAL1,
    L_PAL4,
    L_PAL8_GRAY,
    L_PAL8_COLOR,
    L_RGB555,     /* 16-bit BI_RGB */
    L_BF565,      /* 16-bit BI_BITFIELDS, masks after a 40-byte header */
    L_BGR24,
    L_BGRA32,     /* 32-bit BI_RGB, alpha in the 4th byte */
    L_BGRX32,     /* 32-bit BI_RGB, 4th byte zero: RGB */
    L_V5_BGRA32,  /* BITMAPV5HEADER, BI_BITFIELDS with an alpha mask */
    L_V4_BGRX32,  /* BITMAPV4HEADER, BI_BITFIELDS, no alpha mask */
    L_COUNT
};

struct gen {
    enum layout layout;
    uint32_t w, h;
    bool top_down;
    /* oddities real files have, all to be restored byte for byte */
    bool junk_padding;  /* non-zero padding and unused bits */
    bool dup_palette;   /* duplicate palette colours, both used */
    bool junk_x;        /* non-zero bit 15 (5-5-5) or X byte (V4 BGRX) */
    uint32_t gap;       /* bytes between the palette/masks and the pixels */
    uint32_t trailer;   /* bytes after the pixel array */
};

static unsigned bpp_of(enum layout l)
{
    switch (l) {
    case L_PAL1: return 1;
    case L_PAL4: return 4;
    case L_PAL8_GRAY:
    case L_PAL8_COLOR: return 8;
    case L_RGB555:
    case L_BF565: return 16;
    case L_BGR24: return 24;
    default: return 32;
    }
}

static uint8_t channels_of(enum layout l)
{
    switch (l) {
    case L_PAL1:
    case L_PAL8_GRAY: return 1;
    case L_BGRA32:
    case L_V5_BGRA32: return 4;
    default: return 3;
    }
}

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return *x >> 8;
}

/* Palette entry i as R, G, B. 1-bit: black/white (gray); 4-bit: colours;
 * 8-bit gray: i; 8-bit colour: a mix. With dup_palette, entry n-1 repeats
 * entry 0's colour. */
static void pal_entry(const struct gen *g, uint32_t i, uint8_t rgb[3])
{
    uint32_t n = 1u << bpp_of(g->layout);
    uint32_t k = g->dup_palette && i == n - 1 ? 0 : i;
    switch (g->layout) {
    case L_PAL1: rgb[0] = rgb[1] = rgb[2] = (uint8_t)(k ? 255 : 0); break;
    case L_PAL8_GRAY: rgb[0] = rgb[1] = rgb[2] = (uint8_t)k; break;
    default:
        rgb[0] = (uint8_t)(k * 37);
        rgb[1] = (uint8_t)(k * 11 + 5);
        rgb[2] = (uint8_t)(255 - k);
    }
}

static uint8_t x5(uint32_t v) { return (uint8_t)(v << 3 | v >> 2); }
static uint8_t x6(uint32_t v) { return (uint8_t)(v << 2 | v >> 4); }

/* Writes a BMP and the samples a reader must see. */
static uint8_t *make_bmp(const struct gen *g, size_t *len, uint8_t **samples)
{
    unsigned bpp = bpp_of(g->layout);
    uint8_t c = channels_of(g->layout);
    uint32_t info = g->layout == L_V5_BGRA32 ? 124 : g->layout == L_V4_BGRX32 ? 108 : 40;
    uint32_t n_pal = bpp <= 8 ? 1u << bpp : 0;
    uint32_t masks = g->layout == L_BF565 ? 12 : 0;
    uint32_t stride = ((g->w * bpp + 31) / 32) * 4;
    uint32_t off = 14 + info + masks + 4 * n_pal + g->gap;
    uint32_t total = off + stride * g->h + g->trailer;
    uint32_t seed = g->w * 131 + g->h * 7 + g->layout;
    uint8_t *f = calloc(total, 1), *s = calloc((size_t)g->w * g->h * c, 1);
    bool compress = g->layout == L_BF565 || g->layout == L_V5_BGRA32 || g->layout == L_V4_BGRX32;

    assert_non_null(f);
    assert_non_null(s);
    f[0] = 'B';
    f[1] = 'M';
    put32(f + 2, total);
    put32(f + 10, off);
    put32(f + 14, info);
    put32(f + 18, g->w);
    put32(f + 22, g->top_down ? (uint32_t)-(int32_t)g->h : g->h);
    put16(f + 26, 1);
    put16(f + 28, bpp);
    put32(f + 30, compress ? 3 : 0);
    put32(f + 34, stride * g->h);
    put32(f + 46, n_pal);
    if (g->layout == L_BF565) {
        put32(f + 54, 0xf800);
        put32(f + 58, 0x07e0);
        put32(f + 62, 0x001f);
    } else if (info > 40) {
        put32(f + 54, 0x00ff0000);
        put32(f + 58, 0x0000ff00);
        put32(f + 62, 0x000000ff);
        put32(f + 66, g->layout == L_V5_BGRA32 ? 0xff000000 : 0);
        put32(f + 70, 0x73524742); /* LCS_sRGB */
    }
    for (uint32_t i = 0; i < n_pal; i++) {
        uint8_t rgb[3];
        pal_entry(g, i, rgb);
        f[14 + info + 4 * i] = rgb[2];
        f[15 + info + 4 * i] = rgb[1];
        f[16 + info + 4 * i] = rgb[0];
        f[17 + info + 4 * i] = (uint8_t)(i * 3); /* reserved byte: kept */
    }
    for (uint32_t i = 0; i < g->gap; i++)
        f[off - g->gap + i] = (uint8_t)(0xa0 + i);
    for (uint32_t i = 0; i < g->trailer; i++)
        f[off + stride * g->h + i] = (uint8_t)(0x50 + i);

    for (uint32_t fy = 0; fy < g->h; fy++) {
        uint8_t *row = f + off + (size_t)fy * stride;
        uint32_t y = g->top_down ? fy : g->h - 1 - fy;
        uint8_t *dst = s + (size_t)y * g->w * c;
        for (uint32_t x = 0; x < g->w; x++) {
            uint32_t v = lcg(&seed);
            uint8_t rgb[3];
            if (bpp <= 8) {
                uint32_t idx = v % (1u << bpp);
                uint32_t bit = x * bpp;
                if (g->dup_palette && x % 2 == 1)
                    idx = (1u << bpp) - 1; /* the duplicate of entry 0 */
                row[bit / 8] |= (uint8_t)(idx << (8 - bpp - bit % 8));
                pal_entry(g, idx, rgb);
                memcpy(dst, rgb, c);
                dst += c;
            } else if (bpp == 16) {
                uint32_t p = v & 0xffff;
                if (g->layout == L_RGB555) {
                    p &= g->junk_x ? 0xffff : 0x7fff;
                    *dst++ = x5(p >> 10 & 31);
                    *dst++ = x5(p >> 5 & 31);
                } else {
                    *dst++ = x5(p >> 11);
                    *dst++ = x6(p >> 5 & 63);
                }
                *dst++ = x5(p & 31);
                put16(row + 2 * x, p);
            } else {
                uint8_t *px = row + (size_t)x * (bpp / 8);
                px[0] = (uint8_t)v;         /* B */
                px[1] = (uint8_t)(v >> 8);  /* G */
                px[2] = (uint8_t)(v >> 16); /* R */
                *dst++ = px[2];
                *dst++ = px[1];
                *dst++ = px[0];
                if (bpp == 32) {
                    bool alpha = g->layout == L_BGRA32 || g->layout == L_V5_BGRA32;
                    /* BI_RGB: a non-zero 4th byte is alpha (the codec's
                     * rule), so junk X bytes only with a mask saying so */
                    bool junk = g->junk_x && g->layout == L_V4_BGRX32;
                    px[3] = alpha ? (uint8_t)(x * 50 + y) : junk ? (uint8_t)(x + 1) : 0;
                    if (g->layout == L_BGRA32 && x == 0 && y == 0)
                        px[3] = 7; /* never all zero: it is alpha */
                    if (alpha)
                        *dst++ = px[3];
                }
            }
        }
        if (g->junk_padding) {
            /* every bit of the row past the last pixel */
            uint32_t bits = g->w * bpp;
            if (bits % 8 != 0)
                row[bits / 8] |= (uint8_t)((1u << (8 - bits % 8)) - 1);
            for (uint32_t i = (bits + 7) / 8; i < stride; i++)
                row[i] = (uint8_t)(0xe0 + i);
        }
    }
    *len = total;
    *samples = s;
    return f;
}

static void gen_one(const struct gen *g)
{
    size_t len, back_len = 0;
    uint8_t *samples, *back;
    uint8_t *file = make_bmp(g, &len, &samples);
    mc_image *img = NULL;
    mc_image_info info;

    if (mc_image_decode(ctx, file, len, NULL, &img) != MC_OK)
        fail_msg("layout %d %ux%u top_down %d: decode failed", g->layout, g->w, g->h,
                 g->top_down);
    assert_geometry(img, g->w, g->h, channels_of(g->layout));
    assert_memory_equal(img->samples, samples, img->samples_len);
    {
        /* the residual record exists only when the file has bits the
         * samples do not fix */
        const uint8_t *d;
        size_t n;
        bool has = mc__side_find(img->side, img->side_len, MC_SIDE_BMP_RESIDUAL, &d, &n);
        if (!g->junk_padding && !g->dup_palette && !g->junk_x)
            assert_false(has);
        if ((g->junk_padding && g->w * bpp_of(g->layout) % 32 != 0) ||
            (g->dup_palette && g->w >= 2) || (g->junk_x && g->layout == L_V4_BGRX32))
            assert_true(has);
        /* the trailer's, only when there are bytes after the pixels */
        has = mc__side_find(img->side, img->side_len, MC_SIDE_BMP_TRAILER, &d, &n);
        assert_true(has == (g->trailer > 0));
    }
    assert_int_equal(mc_image_encode(ctx, img, &back, &back_len), MC_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, file, len);
    mc_free(back);
    mc_image_free(img);

    back = crypt_round_trip(file, len, "gen.bmp", &back_len, &info);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, file, len);
    mc_free(back);
    free(file);
    free(samples);
}

/* Widths 1..5 cover every padding length at every depth; heights 1..3,
 * both row orders; then the oddities one at a time and all together. */
static void test_bmp_generated(void **state)
{
    (void)state;
    for (int l = 0; l < L_COUNT; l++)
        for (uint32_t w = 1; w <= 5; w++)
            for (uint32_t h = 1; h <= 3; h++)
                for (int td = 0; td <= 1; td++) {
                    struct gen g = {(enum layout)l, w, h, td == 1, false, false, false, 0, 0};
                    gen_one(&g);
                    g.junk_padding = true;
                    gen_one(&g);
                    g.junk_padding = false;
                    g.junk_x = true;
                    gen_one(&g);
                    g.junk_x = false;
                    g.gap = 3;
                    g.trailer = 5;
                    gen_one(&g);
                    if (bpp_of(g.layout) <= 8) {
                        g.gap = g.trailer = 0;
                        g.dup_palette = true;
                        gen_one(&g);
                    }
                    g.junk_padding = g.junk_x = true;
                    g.gap = 2;
                    g.trailer = 1;
                    gen_one(&g);
                }
    /* larger, with a residual spread over many rows */
    struct gen big = {L_PAL4, 301, 77, false, true, true, false, 0, 9};
    gen_one(&big);
    big.layout = L_RGB555;
    big.junk_x = true;
    gen_one(&big);
}

/* An image that never was a BMP gets a canonical BMP that reads back as
 * the same samples (gray, RGB, RGBA). */
static void test_bmp_encode_canonical(void **state)
{
    (void)state;
    for (uint8_t c = 1; c <= 4; c++) {
        for (uint32_t w = 1; w <= 5; w++) {
            mc_image *img = NULL, *back = NULL;
            uint8_t *bmp = NULL;
            size_t len = 0;
            assert_int_equal(mc_image_new(ctx, w, 3, c, 8, &img), MC_OK);
            fill_pattern(img, c + w);
            img->format = MC_FORMAT_BMP;
            if (c == 2) {
                assert_int_equal(mc_image_encode(ctx, img, &bmp, &len), MC_EUNSUPPORTED);
                mc_image_free(img);
                continue;
            }
            if (c == 4)
                memset(img->samples, 0, img->samples_len); /* alpha all 0 stays RGBA */
            assert_int_equal(mc_image_encode(ctx, img, &bmp, &len), MC_OK);
            assert_true(mc__bmp_sniff(bmp, len));
            /* bfSize, biSizeImage; RGBA's colour space LCS_sRGB (BMP:
             * BITMAPV4HEADER bV4CSType) */
            uint32_t bpp = c == 1 ? 8 : c == 3 ? 24 : 32, stride = (w * bpp + 31) / 32 * 4;
            assert_int_equal(mc__le32(bmp + 2), len);
            assert_int_equal(mc__le32(bmp + 34), stride * 3);
            if (c == 4)
                assert_int_equal(mc__le32(bmp + 70), 0x73524742u); /* 'sRGB' */
            back = decode_ok(bmp, len);
            assert_geometry(back, w, 3, c);
            assert_memory_equal(back->samples, img->samples, img->samples_len);
            mc_free(bmp);
            mc_image_free(back);
            mc_image_free(img);
        }
    }
}

/* ------------------------------------------------------------------ */
/* BMP errors.                                                         */

static mc_err bmp_err(const uint8_t *buf, size_t len)
{
    mc_image *img = NULL;
    mc_err err = mc__bmp_decode(ctx, buf, len, &img);
    if (err == MC_OK)
        mc_image_free(img);
    return err;
}

/* bmp_err of the first `cut` bytes of buf, in a block of their size:
 * ASan sees a read past them. */
static mc_err bmp_err_cut(const uint8_t *buf, size_t cut)
{
    uint8_t *part = malloc(cut);
    mc_err err;

    memcpy(part, buf, cut);
    err = bmp_err(part, cut);
    free(part);
    return err;
}

static void test_bmp_truncated(void **state)
{
    (void)state;
    static const char *files[] = {"bmp/ct_512_1bit.bmp", "bmp/rgb_24bit_100x100.bmp"};
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *buf = read_testdata(files[f], &len);
        /* each header boundary, inside the palette, the pixel array */
        size_t cuts[] = {2, 13, 14, 17, 18, 30, 53, 54, 58, 61, 62, 63, len / 2, len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
            assert_int_equal(bmp_err_cut(buf, cuts[i]), MC_ETRUNCATED);
        /* Through the library: "B" alone is not recognised as BMP. */
        mc_image *img = NULL;
        assert_int_equal(mc_image_decode(ctx, buf, 1, NULL, &img), MC_EFORMAT);
        assert_int_equal(mc_image_decode(ctx, buf, 40, NULL, &img), MC_ETRUNCATED);
        /* "BM" and less than the info header's size field: BMP all the
         * same, cut (in a block of that size: nothing read past it) */
        for (size_t cut = 2; cut < 18; cut++) {
            uint8_t *part = malloc(cut);
            memcpy(part, buf, cut);
            assert_int_equal(mc_image_decode(ctx, part, cut, NULL, &img), MC_ETRUNCATED);
            free(part);
        }
        /* bfSize honest but the pixel array short (bfSize patched) */
        put32(buf + 2, (uint32_t)(len - 10));
        assert_int_equal(bmp_err(buf, len - 10), MC_ETRUNCATED);
        free(buf);
    }
}

/* The file and info headers of a 1x1 BMP (BMP: BITMAPFILEHEADER,
 * BITMAPINFOHEADER): bfSize `size` (0, as some writers put, or the
 * file's), bfOffBits `off`, an info header of `info` bytes, `bpp` bits
 * per pixel under `compression`, biSizeImage 4 (one padded row). */
static void bmp_1x1_header(uint8_t *f, uint32_t size, uint32_t off, uint32_t info, uint16_t bpp,
                           uint32_t compression)
{
    f[0] = 'B';
    f[1] = 'M';
    put32(f + 2, size);
    put32(f + 10, off);
    put32(f + 14, info);
    put32(f + 18, 1);
    put32(f + 22, 1);
    put16(f + 26, 1);
    put16(f + 28, bpp);
    put32(f + 30, compression);
    put32(f + 34, 4);
}

/* A 1x1 BMP: an info header of `info` bytes (40, 52, 56, 108 or 124),
 * `bpp` bits per pixel under `compression`, and as many of the R, G, B,
 * A masks as fit at offset 54: inside a V2+ header (52 bytes hold
 * three), or after a 40-byte one (three for BI_BITFIELDS, four for
 * BI_ALPHABITFIELDS: BMP, BITMAPINFOHEADER); then the pixel's 4 bytes,
 * one padded row. f holds at least 14 + 124 + 16 + 4 bytes; the file's
 * length is returned. */
static size_t tiny_bmp(uint8_t *f, uint32_t info, uint16_t bpp, uint32_t compression,
                       const uint32_t masks[4], const uint8_t px[4])
{
    size_t after = info == 40 && compression == 3 ? 12 : info == 40 && compression == 6 ? 16 : 0;
    size_t off = 14 + info + after;

    memset(f, 0, off + 4);
    bmp_1x1_header(f, (uint32_t)(off + 4), (uint32_t)off, info, bpp, compression);
    for (int i = 0; i < 4 && masks != NULL; i++)
        if (54 + 4 * (size_t)i + 4 <= off)
            put32(f + 54 + 4 * i, masks[i]);
    memcpy(f + off, px, 4);
    return off + 4;
}

/* The info headers between V1 and V4 and the bit-field layouts: a
 * BITMAPV3INFOHEADER (56 bytes) holds an alpha mask; 16-bit masks with
 * alpha (A1R5G5B5) and 32-bit ones whose alpha is not the top byte are
 * not read as the layouts medcrypt knows. */
static void test_bmp_masks(void **state)
{
    static const uint32_t BGRA[4] = {0x00ff0000u, 0x0000ff00u, 0x000000ffu, 0xff000000u};
    static const uint32_t A555[4] = {0x7c00u, 0x03e0u, 0x001fu, 0x8000u};
    static const uint32_t A565[4] = {0xf800u, 0x07e0u, 0x001fu, 0x10000u};
    static const uint32_t BGRA_LOW[4] = {0x00ff0000u, 0x0000ff00u, 0x000000ffu, 0x80000000u};
    uint8_t f[14 + 124 + 16 + 4];
    mc_image *img = NULL;
    size_t n;

    (void)state;
    n = tiny_bmp(f, 56, 32, 3, BGRA, (const uint8_t *)"\x10\x20\x30\x80");
    assert_int_equal(mc__bmp_decode(ctx, f, n, &img), MC_OK);
    assert_int_equal(img->channels, 4);
    assert_memory_equal(img->samples, "\x30\x20\x10\x80", 4);
    mc_image_free(img);
    img = NULL;
    n = tiny_bmp(f, 56, 16, 3, A555, (const uint8_t *)"\x1f\x80\0\0");
    assert_int_equal(bmp_err(f, n), MC_EUNSUPPORTED);
    assert_non_null(strstr(mc_ctx_last_detail(ctx), "A 00008000 are not supported"));
    n = tiny_bmp(f, 56, 16, 3, A565, (const uint8_t *)"\x1f\0\0\0");
    assert_int_equal(bmp_err(f, n), MC_EUNSUPPORTED);
    n = tiny_bmp(f, 56, 32, 3, BGRA_LOW, (const uint8_t *)"\x10\x20\x30\x80");
    assert_int_equal(bmp_err(f, n), MC_EUNSUPPORTED);
    /* in a V2 header, which has no room for the alpha mask, the same
     * masks are 5-5-5 (bit 15 of the pixel, set, is kept aside) */
    n = tiny_bmp(f, 52, 16, 3, A555, (const uint8_t *)"\x1f\x80\0\0");
    assert_int_equal(mc__bmp_decode(ctx, f, n, &img), MC_OK);
    assert_memory_equal(img->samples, "\0\0\xff", 3);
    mc_image_free(img);
}

/* A generated BMP (*file, *len) and its image, decoded. */
static mc_image *decode_gen(const struct gen *g, uint8_t **file, size_t *len)
{
    uint8_t *samples;

    *file = make_bmp(g, len, &samples);
    free(samples);
    return decode_ok(*file, *len);
}

/* The image of a generated BMP, decoded, as one of `channels` channels
 * that keeps its side data (the recorded header) and as much of each
 * pixel as it holds (the rest 255): what a caller who changed the image
 * would hand the encoder. */
static mc_err encode_relabelled(const struct gen *g, uint8_t channels)
{
    size_t len, out_len = 0;
    uint8_t *out = NULL, *file;
    mc_image *img = decode_gen(g, &file, &len), *other = NULL;
    mc_err err;

    assert_int_equal(mc_image_new(ctx, g->w, g->h, channels, 8, &other), MC_OK);
    for (size_t i = 0; i < (size_t)g->w * g->h; i++)
        for (uint8_t k = 0; k < channels; k++)
            other->samples[i * channels + k] =
                k < img->channels ? img->samples[i * img->channels + k] : 255;
    other->format = MC_FORMAT_BMP;
    other->side = img->side;
    other->side_len = img->side_len;
    img->side = NULL;
    img->side_len = 0;
    err = mc_image_encode(ctx, other, &out, &out_len);
    if (err == MC_OK)
        mc_free(out);
    mc_image_free(other);
    mc_image_free(img);
    free(file);
    return err;
}

/* img's side data replaced by a recorded header alone: the first len
 * bytes of file. */
static void set_header_side(mc_image *img, const uint8_t *file, size_t len)
{
    free(img->side);
    img->side = NULL;
    img->side_len = 0;
    assert_int_equal(mc__side_add(img, MC_SIDE_BMP_HEADER, file, len), MC_OK);
}

/* The encoder against side data that does not fit the image: a recorded
 * header for other channels, or longer than its bfOffBits; a residual
 * record whose run lies past the pixel array; samples a 5-5-5 pixel
 * cannot hold. And samples changed since decoding, under a residual
 * that picked among duplicate palette colours: the samples win. */
static void test_bmp_encode_checks(void **state)
{
    struct gen bgra = {L_V5_BGRA32, 2, 1, false, false, false, false, 0, 0};
    struct gen bgrx = {L_BGRX32, 2, 1, false, false, false, false, 0, 0};
    struct gen pal = {L_PAL8_COLOR, 3, 1, false, false, true, false, 0, 0};
    struct gen rgb555 = {L_RGB555, 3, 2, false, false, false, false, 0, 0};
    size_t len, out_len = 0;
    uint8_t *out = NULL, *file;
    mc_image *img, *back;
    uint8_t rgb[3];

    (void)state;
    assert_int_equal(encode_relabelled(&bgra, 4), MC_OK);
    assert_int_equal(encode_relabelled(&bgra, 3), MC_EFORMAT); /* its alpha mask */
    assert_int_equal(encode_relabelled(&bgrx, 3), MC_OK);
    assert_int_equal(encode_relabelled(&bgrx, 1), MC_EFORMAT);
    assert_int_equal(encode_relabelled(&pal, 4), MC_EFORMAT);

    /* a recorded header 4 bytes longer than bfOffBits (into the pixels) */
    img = decode_gen(&bgrx, &file, &len);
    {
        uint32_t off = mc__le32(file + 10);
        set_header_side(img, file, off + 4);
        assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_EFORMAT);
        assert_null(out);
        /* the right header, and a residual run that starts past the
         * pixel array (one row of two BGRX pixels: 8 bytes) */
        set_header_side(img, file, off);
        assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_OK);
        mc_free(out);
        out = NULL;
        uint8_t rec[8];
        mc__put_be32(rec, 8 + 1); /* the array is 8 bytes */
        mc__put_be32(rec + 4, 0);
        assert_int_equal(mc__side_add(img, MC_SIDE_BMP_RESIDUAL, rec, sizeof rec), MC_OK);
        assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_EFORMAT);
        assert_null(out);
    }
    mc_image_free(img);
    free(file);

    /* 5-5-5 holds 5 bits a channel, replicated to 8: 1 is no such value */
    img = decode_gen(&rgb555, &file, &len);
    img->samples[0] = 1;
    assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_EFORMAT);
    assert_null(out);
    mc_image_free(img);
    free(file);

    /* pixel 1 uses entry 255, entry 0's duplicate (the residual records
     * the choice); changed to entry 5's colour, it is written as such */
    img = decode_gen(&pal, &file, &len);
    pal_entry(&pal, 5, rgb);
    memcpy(img->samples + 3, rgb, 3);
    assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_OK);
    back = decode_ok(out, out_len);
    assert_memory_equal(back->samples, img->samples, img->samples_len);
    mc_image_free(back);
    mc_free(out);
    mc_image_free(img);
    free(file);

    /* 130 gray entries, entry 129 a duplicate of entry 2: the residual of
     * the one pixel (index 129, canonically 2) is 129 ^ 2 = 131. Changed
     * to black (canonically 0), the residual would make it index 131,
     * past the palette: the samples are written as they are. */
    uint8_t gray[14 + 40 + 130 * 4 + 4] = {0};
    bmp_1x1_header(gray, sizeof gray, 14 + 40 + 130 * 4, 40, 8, 0);
    put32(gray + 46, 130);
    for (uint32_t i = 0; i < 130; i++)
        memset(gray + 54 + 4 * i, i == 129 ? 2 : (int)i, 3);
    gray[sizeof gray - 4] = 129;
    img = decode_ok(gray, sizeof gray);
    assert_int_equal(img->samples[0], 2);
    img->samples[0] = 0;
    assert_int_equal(mc_image_encode(ctx, img, &out, &out_len), MC_OK);
    back = decode_ok(out, out_len);
    assert_int_equal(back->samples[0], 0);
    mc_image_free(back);
    mc_free(out);
    mc_image_free(img);
}

/* A 4x2 24-bit BMP to mutate. */
static uint8_t *small_bmp(size_t *len)
{
    struct gen g = {L_BGR24, 4, 2, false, false, false, false, 0, 0};
    uint8_t *samples;
    uint8_t *f = make_bmp(&g, len, &samples);
    free(samples);
    return f;
}

static void test_bmp_hostile(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = small_bmp(&len);
    uint8_t *orig = malloc(len);
    memcpy(orig, b, len);
    assert_int_equal(bmp_err(b, len), MC_OK);

#define RESET() memcpy(b, orig, len)
    put32(b + 18, 0); /* width 0 */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    assert_string_equal(mc_ctx_last_detail(ctx), "invalid dimensions 0 x 2");
    RESET();
    put32(b + 18, (uint32_t)-4); /* negative width */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
    put32(b + 22, 0); /* height 0 */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
    put32(b + 22, 0x80000000u); /* INT32_MIN */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
    put32(b + 18, 100000); /* 100000 x 100000 in a tiny file */
    put32(b + 22, 100000);
    assert_int_equal(bmp_err(b, len), MC_ETOOBIG);
    put32(b + 22, (uint32_t)-100000); /* top-down too */
    assert_int_equal(bmp_err(b, len), MC_ETOOBIG);
    RESET();
    put32(b + 18, 0x7fffffff); /* widest possible row */
    assert_int_equal(bmp_err(b, len), MC_ETOOBIG);
    RESET();
    put16(b + 28, 7); /* bits per pixel */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    put16(b + 28, 2); /* Windows CE 2-bit: real, unsupported */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    put16(b + 28, 0);
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    put16(b + 28, 64); /* scRGB */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    RESET();
    put16(b + 26, 2); /* planes */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    put16(b + 26, 0);
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
    put32(b + 10, (uint32_t)len + 1); /* offset past EOF */
    assert_int_equal(bmp_err(b, len), MC_ETRUNCATED);
    put32(b + 10, 0xfffffff0u);
    assert_int_equal(bmp_err(b, len), MC_ETRUNCATED);
    put32(b + 10, 20); /* offset inside the info header */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
    put32(b + 2, (uint32_t)len + 1); /* bfSize past EOF */
    assert_int_equal(bmp_err(b, len), MC_ETRUNCATED);
    RESET();
    put32(b + 30, 1); /* BI_RLE8, named in the error's detail */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    assert_non_null(strstr(mc_ctx_last_detail(ctx), "BI_RLE8"));
    put32(b + 30, 4); /* BI_JPEG */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    put32(b + 30, 11); /* BI_CMYK */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    assert_non_null(strstr(mc_ctx_last_detail(ctx), "CMYK"));
    put32(b + 30, 99);
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    put32(b + 30, 3); /* BI_BITFIELDS at 24 bits */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    RESET();
    put32(b + 14, 12); /* OS/2 BITMAPCOREHEADER */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    put32(b + 14, 16); /* OS/2 2.x, short form: named too (was "not an image") */
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    assert_string_equal(mc_ctx_last_detail(ctx), "OS/2 bitmap header (16 bytes) is not supported");
    put32(b + 14, 41); /* no such header */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    put32(b + 14, 0xffffffffu);
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    RESET();
#undef RESET
    free(b);
    free(orig);

    /* 16-bit bit fields other than 5-6-5 / 5-5-5 */
    struct gen g = {L_BF565, 3, 2, false, false, false, false, 0, 0};
    uint8_t *s;
    b = make_bmp(&g, &len, &s);
    free(s);
    put32(b + 54, 0xf000);
    assert_int_equal(bmp_err(b, len), MC_EUNSUPPORTED);
    free(b);

    /* A 52-byte V2 header holds three masks; with BI_ALPHABITFIELDS the
     * fourth follows it. A 1x1 BGRA pixel after them reads back; the file
     * cut inside that fourth mask is truncated (fuzz_bmp found it read
     * past such a file's end). */
    uint8_t v2[74] = {0};
    bmp_1x1_header(v2, sizeof v2, 70, 52, 32, 6); /* BI_ALPHABITFIELDS */
    put32(v2 + 54, 0x00ff0000u);
    put32(v2 + 58, 0x0000ff00u);
    put32(v2 + 62, 0x000000ffu);
    put32(v2 + 66, 0xff000000u);
    memcpy(v2 + 70, "\x10\x20\x30\x80", 4); /* B, G, R, A */
    mc_image *v2_img = NULL;
    assert_int_equal(mc__bmp_decode(ctx, v2, sizeof v2, &v2_img), MC_OK);
    assert_int_equal(v2_img->channels, 4);
    assert_memory_equal(v2_img->samples, "\x30\x20\x10\x80", 4);
    mc_image_free(v2_img);
    put32(v2 + 2, 0); /* bfSize 0, as some writers put: not the cut it would tell */
    for (size_t cut = 54; cut < 70; cut++)
        assert_int_equal(bmp_err_cut(v2, cut), MC_ETRUNCATED);

    /* a palette index past biClrUsed */
    struct gen p = {L_PAL8_GRAY, 3, 2, false, false, false, false, 0, 0};
    b = make_bmp(&p, &len, &s);
    free(s);
    put32(b + 30, 3); /* bit fields need 16 or 32 bits (BMP) */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    assert_string_equal(mc_ctx_last_detail(ctx), "bit fields with 8 bits per pixel");
    put32(b + 30, 0);
    put32(b + 46, 2); /* 2 colours; the pixels use more */
    assert_int_equal(bmp_err(b, len), MC_EFORMAT);
    {
        /* exactly one more: the highest index used is biClrUsed */
        uint32_t off = (uint32_t)b[10] | (uint32_t)b[11] << 8, top = 0;
        for (uint32_t y = 0; y < 2; y++)
            for (uint32_t x = 0; x < 3; x++)
                top = b[off + 4 * y + x] > top ? b[off + 4 * y + x] : top;
        assert_true(top > 0);
        put32(b + 46, top);
        assert_int_equal(bmp_err(b, len), MC_EFORMAT);
        assert_non_null(strstr(mc_ctx_last_detail(ctx), "palette"));
        put32(b + 46, top + 1);
        assert_int_equal(bmp_err(b, len), MC_OK);
        /* more colours than 8 bits index: as many as they can (BMP), the
         * 256-entry palette read, no more */
        put32(b + 46, 300);
        assert_int_equal(bmp_err(b, len), MC_OK);
    }
    free(b);

    /* A BITMAPV5HEADER with its ICC profile embedded after the pixels
     * (CSType PROFILE_EMBEDDED): a file that ends inside the profile is
     * cut, one that ends with it is whole. 1x1, 24 bits. */
    uint8_t v5[14 + 124 + 4 + 4] = {0};
    bmp_1x1_header(v5, 0, 14 + 124, 124, 24, 0); /* bfSize 0: the profile tells the cut */
    put32(v5 + 14 + 56, 0x4d424544u); /* 'MBED' */
    put32(v5 + 14 + 112, 124 + 4);    /* from the info header's start */
    put32(v5 + 14 + 116, 4);
    memcpy(v5 + 138, "\x01\x02\x03\x00icc!", 8);
    assert_int_equal(bmp_err(v5, sizeof v5), MC_OK);
    assert_int_equal(bmp_err_cut(v5, sizeof v5 - 1), MC_ETRUNCATED);

    /* the pixel cap, lowered: a 4x2 RGB image is 24 samples */
    mc_ctx *small = NULL;
    mc_image *img = NULL;
    b = small_bmp(&len);
    assert_int_equal(mc_ctx_new(&small), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(small, 23), MC_OK);
    assert_int_equal(mc__bmp_decode(small, b, len, &img), MC_ETOOBIG);
    assert_int_equal(mc_ctx_last_cap(small), 23);
    assert_int_equal(mc_ctx_set_max_samples(small, 24), MC_OK);
    assert_int_equal(mc_image_decode(small, b, len, NULL, &img), MC_OK);
    assert_int_equal(mc_ctx_last_cap(small), 0); /* a success clears it */
    mc_image_free(img);
    img = NULL;

    /* BMP's own limit (its sizes are 32-bit) is not the cap: 1 x 2^30+1
     * 24-bit pixels, rows of 4 bytes, under a cap of 2^31 (the reader
     * checks the cap at one channel first, then its 4 GiB): MC_ETOOBIG,
     * and mc_ctx_last_cap() 0, so that no program offers a larger cap
     * that would not help (the command's hint) */
    static const uint8_t tall[56] = {'B', 'M', [10] = 54, [14] = 40, [18] = 1,
                                     [22] = 1, [25] = 0x40, [26] = 1, [28] = 24};
    assert_int_equal(mc_ctx_set_max_samples(small, (uint64_t)1 << 31), MC_OK);
    assert_int_equal(mc__bmp_decode(small, tall, sizeof tall, &img), MC_ETOOBIG);
    assert_non_null(strstr(mc_ctx_last_detail(small), "a BMP's pixel array is at most 4 GiB"));
    assert_int_equal(mc_ctx_last_cap(small), 0);
    /* the same file under the default cap, which it exceeds first */
    assert_int_equal(mc_ctx_set_max_samples(small, MC_DEFAULT_MAX_SAMPLES), MC_OK);
    assert_int_equal(mc__bmp_decode(small, tall, sizeof tall, &img), MC_ETOOBIG);
    assert_int_equal(mc_ctx_last_cap(small), MC_DEFAULT_MAX_SAMPLES);
    assert_null(img);
    mc_ctx_free(small);
    free(b);
}

/* ------------------------------------------------------------------ */
/* JPEG.                                                               */

struct jpeg_file {
    const char *name;
    uint32_t w, h;
    uint8_t c;
    const char *djpeg_sha256; /* of `djpeg -pnm`'s raster */
};

static const struct jpeg_file JPEG_FILES[] = {
    {"ct_512_gray.jpg", 512, 512, 1,
     "e4d2f9846da70fb4ebfe3e45cfca942532c3fd48839d5ad8d4386c86e35af96d"},
    {"rgb_100x100.jpg", 100, 100, 3,
     "e0b1a561989d6f7148b4e4b0990c34751271852383a7135c8a620940f1744e06"},
};

struct ref_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void ref_error_exit(j_common_ptr cinfo)
{
    longjmp(((struct ref_err *)(void *)cinfo->err)->jump, 1);
}

/* The reference decode: jpeglib called directly, defaults throughout. */
static uint8_t *ref_decode(const uint8_t *buf, size_t len, size_t *out_len)
{
    struct jpeg_decompress_struct ci;
    struct ref_err err;
    uint8_t *out;
    size_t row;

    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = ref_error_exit;
    if (setjmp(err.jump))
        fail_msg("reference decode failed");
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    jpeg_start_decompress(&ci);
    row = (size_t)ci.output_width * ci.output_components;
    *out_len = row * ci.output_height;
    out = malloc(*out_len);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = out + row * ci.output_scanline;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return out;
}

static void test_jpeg_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof JPEG_FILES / sizeof JPEG_FILES[0]; i++) {
        const struct jpeg_file *jf = &JPEG_FILES[i];
        char rel[256], hex[65];
        size_t len, ref_len, back_len = 0;
        uint8_t *buf, *ref, *back;
        mc_image *img, *png;
        mc_image_info info;

        snprintf(rel, sizeof rel, "jpeg/%s", jf->name);
        buf = read_testdata(rel, &len);
        img = decode_ok(buf, len);
        assert_geometry(img, jf->w, jf->h, jf->c);
        assert_int_equal(img->format, MC_FORMAT_JPEG);
        sha256_hex(hex, img->samples, img->samples_len);
        assert_string_equal(hex, jf->djpeg_sha256);
        ref = ref_decode(buf, len, &ref_len);
        assert_int_equal(ref_len, img->samples_len);
        assert_memory_equal(ref, img->samples, ref_len);

        /* decryption gives a lossless PNG of those samples */
        back = crypt_round_trip(buf, len, jf->name, &back_len, &info);
        assert_true(mc__png_sniff(back, back_len));
        assert_int_equal(info.format, MC_FORMAT_JPEG);
        assert_string_equal(info.extension, "png");
        png = decode_ok(back, back_len);
        assert_int_equal(png->format, MC_FORMAT_PNG);
        assert_geometry(png, jf->w, jf->h, jf->c);
        assert_memory_equal(png->samples, ref, ref_len);

        mc_free(back);
        mc_image_free(png);
        mc_image_free(img);
        free(ref);
        free(buf);
    }
}

static mc_err jpeg_err(const uint8_t *buf, size_t len)
{
    mc_image *img = NULL;
    mc_err err = mc_image_decode(ctx, buf, len, NULL, &img);
    if (err == MC_OK)
        mc_image_free(img);
    return err;
}

/* Offset of the first marker FF xx (T.81 B.1.1.3) of a kind, or 0. */
static size_t find_marker(const uint8_t *b, size_t len, uint8_t m)
{
    for (size_t i = 2; i + 1 < len; i++)
        if (b[i] == 0xff && b[i + 1] == m)
            return i;
    return 0;
}

static void test_jpeg_errors(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof JPEG_FILES / sizeof JPEG_FILES[0]; f++) {
        char rel[256];
        size_t len, sos;
        uint8_t *buf;

        snprintf(rel, sizeof rel, "jpeg/%s", JPEG_FILES[f].name);
        buf = read_testdata(rel, &len);
        sos = find_marker(buf, len, 0xda);
        assert_true(sos > 0);
        /* Cut anywhere: in the headers, in the scan, before EOI. Never a
         * garbage image. Cut in the entropy-coded data or before EOI is
         * "truncated" (libjpeg: premature end of file). */
        for (size_t cut = 3; cut < len; cut += (cut < sos + 32 ? 1 : 97)) {
            mc_err e = jpeg_err(buf, cut);
            assert_int_not_equal(e, MC_OK);
            if (cut > sos + 20)
                assert_int_equal(e, MC_ETRUNCATED);
        }
        assert_int_equal(jpeg_err(buf, len - 2), MC_ETRUNCATED); /* no EOI */
        assert_string_equal(mc_ctx_last_detail(ctx), "libjpeg: Premature end of JPEG file");
        assert_int_equal(jpeg_err(buf, len - 1), MC_ETRUNCATED);

        /* T.81 B.2.2: sample precision 12 */
        size_t sof = find_marker(buf, len, 0xc0);
        assert_true(sof > 0);
        buf[sof + 4] = 12;
        assert_int_equal(jpeg_err(buf, len), MC_EUNSUPPORTED);
        buf[sof + 4] = 8;
        /* lossless (SOF3) */
        buf[sof + 1] = 0xc3;
        assert_int_equal(jpeg_err(buf, len), MC_EUNSUPPORTED);
        buf[sof + 1] = 0xc0;

        /* the pixel cap */
        mc_ctx *small = NULL;
        mc_image *img = NULL;
        assert_int_equal(mc_ctx_new(&small), MC_OK);
        assert_int_equal(mc_ctx_set_max_samples(small, 1000), MC_OK);
        assert_int_equal(mc_image_decode(small, buf, len, NULL, &img), MC_ETOOBIG);
        mc_ctx_free(small);
        free(buf);
    }

    /* garbage after FF D8 FF */
    uint8_t junk[600];
    uint32_t x = 99;
    junk[0] = 0xff;
    junk[1] = 0xd8;
    junk[2] = 0xff;
    for (size_t i = 3; i < sizeof junk; i++)
        junk[i] = (uint8_t)lcg(&x);
    assert_int_not_equal(jpeg_err(junk, sizeof junk), MC_OK);
    assert_int_not_equal(jpeg_err(junk, 3), MC_OK);
    memset(junk + 3, 0, sizeof junk - 3);
    assert_int_not_equal(jpeg_err(junk, sizeof junk), MC_OK);
}

/* How make_jpeg_as codes: JPEG_PROGRESSIVE, T.81 Annex G (libjpeg's
 * jpeg_simple_progression scans); JPEG_ARITHMETIC, Annex D instead of
 * Huffman codes. 0: baseline. */
enum { JPEG_PROGRESSIVE = 1, JPEG_ARITHMETIC = 2 };

/* A JPEG written here (libjpeg, quality 90) of a smooth pattern with
 * noise: w x h, 1 or 3 channels, in the colour space `space` (libjpeg's
 * default for the input, JCS_UNKNOWN: YCbCr for 3 channels), coded as
 * `coding` says. */
static uint8_t *make_jpeg_as(uint32_t w, uint32_t h, int c, J_COLOR_SPACE space, int coding,
                             size_t *len)
{
    struct jpeg_compress_struct ci;
    struct ref_err err;
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    uint8_t *row = malloc((size_t)w * (size_t)c), *copy;

    assert_non_null(row);
    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = ref_error_exit;
    if (setjmp(err.jump))
        fail_msg("reference encode failed");
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out, &out_len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    if (space != JCS_UNKNOWN)
        jpeg_set_colorspace(&ci, space);
    jpeg_set_quality(&ci, 90, TRUE);
    if (coding & JPEG_PROGRESSIVE)
        jpeg_simple_progression(&ci);
    ci.arith_code = (coding & JPEG_ARITHMETIC) != 0;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < h) {
        JSAMPROW r = row;
        for (size_t i = 0; i < (size_t)w * (size_t)c; i++) {
            uint32_t noise = (uint32_t)(i * 2654435761u) ^ (ci.next_scanline * 40503u);
            noise *= 2246822519u;
            row[i] = (uint8_t)((i / (size_t)c + ci.next_scanline) / 8 + (noise >> 28));
        }
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    /* ours, in a malloc block: jpeg_mem_dest's belongs to libjpeg */
    copy = malloc(out_len);
    assert_non_null(copy);
    memcpy(copy, out, out_len);
    free(out);
    *len = out_len;
    return copy;
}

static uint8_t *make_jpeg(uint32_t w, uint32_t h, int c, size_t *len)
{
    return make_jpeg_as(w, h, c, JCS_UNKNOWN, 0, len);
}

/* A large JPEG decoded for an encrypt (mc_ctx.chunk_digests, on two
 * threads) has its chunk digests hashed while libjpeg decodes it
 * (chunkhash.c): they are the SHA-512 of its 64 KiB chunks of the
 * decoded samples, which are libjpeg's own. A single thread, a decode
 * not followed by an encrypt or a small JPEG gets none; a JPEG cut in its
 * scan or just before EOI (an error after the last scanline) is refused
 * as before, the thread stopped (ASan, helgrind). */
static void test_jpeg_digests_while_decoding(void **state)
{
    /* gray, RGB whose rows straddle the chunks, the 2 MiB threshold */
    static const uint32_t sizes[][3] = {{2048, 1100, 1}, {1001, 777, 3}, {2048, 1024, 1}};
    mc_ctx *dc = NULL;
    (void)state;
    assert_int_equal(mc_ctx_new(&dc), MC_OK);
    assert_int_equal(mc_ctx_set_threads(dc, 2), MC_OK);
    dc->chunk_digests = true;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len, ref_len;
        uint8_t *jpg = make_jpeg(sizes[s][0], sizes[s][1], (int)sizes[s][2], &len);
        uint8_t *ref = ref_decode(jpg, len, &ref_len);
        mc_image *img = NULL;

        assert_int_equal(mc_image_decode(dc, jpg, len, NULL, &img), MC_OK);
        assert_int_equal(img->samples_len, ref_len);
        assert_memory_equal(img->samples, ref, ref_len);
        assert_chunk_digests(img, ref, ref_len);
        mc_image_free(img);
        img = NULL;
        assert_no_digests_otherwise(dc, jpg, len);
        /* Cut in its scan, or only its EOI missing. */
        assert_int_equal(mc_image_decode(dc, jpg, len / 2, NULL, &img), MC_ETRUNCATED);
        assert_null(img);
        assert_int_equal(mc_image_decode(dc, jpg, len - 2, NULL, &img), MC_ETRUNCATED);
        assert_null(img);
        free(ref);
        free(jpg);
    }
    /* Under 2 MiB of samples: none. */
    {
        size_t len;
        uint8_t *buf = read_testdata("jpeg/ct_512_gray.jpg", &len);
        mc_image *img = NULL;
        assert_int_equal(mc_image_decode(dc, buf, len, NULL, &img), MC_OK);
        assert_null(img->digests);
        mc_image_free(img);
        free(buf);
    }
    mc_ctx_free(dc);
}

/* Progressive and arithmetic-coded JPEGs (T.81 Annexes G and D: SOF2,
 * SOF9, SOF10): their samples are libjpeg's own, and an encrypt of one
 * decrypts to them. A progressive JPEG's coefficients are gathered over
 * its scans in a virtual array, whose rows jpeg_mem.c notes as they are
 * reached, before the first row comes out. With libjpeg's memory capped
 * (JPEGMEM, libjpeg.txt "Memory management"), that array does not fit
 * and libjpeg, built without a temporary-file store, says "Backing store
 * not supported": out of memory, not a corrupt file. (Each progressive
 * image is taller than the window of 5 block rows per sampling factor
 * that libjpeg's block smoothing reads at once, jdcoefct.c: an array no
 * taller is kept whole whatever the cap.) */
static void test_jpeg_progressive_arithmetic(void **state)
{
    static const struct { uint32_t w, h; int c, coding; uint8_t sof; } CASES[] = {
        {97, 61, 1, JPEG_PROGRESSIVE, 0xc2},
        {45, 171, 3, JPEG_PROGRESSIVE, 0xc2},
        {300, 257, 3, JPEG_PROGRESSIVE, 0xc2},
        {53, 29, 3, JPEG_ARITHMETIC, 0xc9},
        {40, 77, 1, JPEG_PROGRESSIVE | JPEG_ARITHMETIC, 0xca},
    };
    (void)state;

    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        size_t n, ref_len, back_len = 0;
        uint8_t *jpg = make_jpeg_as(CASES[i].w, CASES[i].h, CASES[i].c, JCS_UNKNOWN,
                                    CASES[i].coding, &n);
        uint8_t *ref, *back;
        mc_image *img, *png;
        mc_image_info info;

        assert_true(find_marker(jpg, n, CASES[i].sof) > 0);
        assert_int_equal(find_marker(jpg, n, 0xc0), 0);
        img = decode_ok(jpg, n);
        assert_geometry(img, CASES[i].w, CASES[i].h, (uint8_t)CASES[i].c);
        ref = ref_decode(jpg, n, &ref_len);
        assert_int_equal(ref_len, img->samples_len);
        assert_memory_equal(img->samples, ref, ref_len);

        back = crypt_round_trip(jpg, n, "progressive.jpg", &back_len, &info);
        png = decode_ok(back, back_len);
        assert_geometry(png, CASES[i].w, CASES[i].h, (uint8_t)CASES[i].c);
        assert_memory_equal(png->samples, ref, ref_len);

        /* 1000 bytes for libjpeg (JPEGMEM counts thousands) */
        if (CASES[i].coding & JPEG_PROGRESSIVE) {
            assert_int_equal(setenv("JPEGMEM", "1", 1), 0);
            assert_int_equal(jpeg_err(jpg, n), MC_ENOMEM);
            assert_string_equal(mc_ctx_last_detail(ctx), "libjpeg: Backing store not supported");
            assert_int_equal(unsetenv("JPEGMEM"), 0);
            assert_int_equal(jpeg_err(jpg, n), MC_OK);
        }

        mc_free(back);
        mc_image_free(png);
        mc_image_free(img);
        free(ref);
        free(jpg);
    }
}

/* A corrupt scan (bytes of the entropy-coded data replaced by a marker
 * or junk): libjpeg's warnings are errors here. */
static void test_jpeg_corrupt_scan(void **state)
{
    (void)state;
    size_t len, sos;
    uint8_t *buf = read_testdata("jpeg/ct_512_gray.jpg", &len);

    sos = find_marker(buf, len, 0xda);
    /* an RST marker where none is expected: "corrupt JPEG data" */
    buf[len / 2] = 0xff;
    buf[len / 2 + 1] = 0xd0;
    assert_true(len / 2 > sos);
    assert_int_equal(jpeg_err(buf, len), MC_EFORMAT);
    free(buf);
}

/* mc_jpeg_dropped_markers: a JPEG's metadata segments, none of which its
 * cipher image carries, named once each; the EXIF orientation returned
 * when viewers would turn or mirror the image. The segments spliced in
 * after SOI change nothing in the samples. */
static size_t put_segment(uint8_t *p, uint8_t marker, const void *body, size_t n)
{
    p[0] = 0xff;
    p[1] = marker;
    p[2] = (uint8_t)((n + 2) >> 8);
    p[3] = (uint8_t)(n + 2);
    memcpy(p + 4, body, n);
    return n + 4;
}

static void test_jpeg_dropped_markers(void **state)
{
    /* Exif: "MM" TIFF header, IFD0 at 8 with one entry, Orientation
     * (0x0112) SHORT 1 = 6 (CIPA DC-008 §4.6.2) */
    static const uint8_t exif_be[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
                                      0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,
                                      0, 0, 0, 0};
    /* the same little endian with Orientation 1, and one with a count
     * running past the segment */
    static const uint8_t exif_le[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                      1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                                      0, 0, 0, 0};
    static const uint8_t exif_cut[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                       9, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0};
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    static const char icc[] = "ICC_PROFILE\0\1\1profile";
    static const char ps[] = "Photoshop 3.0\0" "8BIM";
    static const uint8_t jfif_dpi[] = {'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 72, 0, 72, 0, 0};
    size_t len, n, at;
    uint8_t *orig = read_testdata("jpeg/ct_512_gray.jpg", &len);
    uint8_t *buf = malloc(len + 1024);
    char list[128];
    mc_image *a, *b;
    (void)state;

    assert_non_null(buf);
    /* testdata's JPEG: JFIF with no physical density, nothing else */
    assert_int_equal(mc_jpeg_dropped_markers(orig, len, list, sizeof list), 0);
    assert_string_equal(list, "");

    n = 2;
    memcpy(buf, orig, 2);
    n += put_segment(buf + n, 0xe0, jfif_dpi, sizeof jfif_dpi);
    n += put_segment(buf + n, 0xe1, exif_be, sizeof exif_be);
    n += put_segment(buf + n, 0xe1, exif_le, sizeof exif_le);
    n += put_segment(buf + n, 0xe1, xmp, sizeof xmp - 1);
    n += put_segment(buf + n, 0xe2, icc, sizeof icc - 1);
    n += put_segment(buf + n, 0xe2, icc, sizeof icc - 1); /* a second ICC chunk */
    n += put_segment(buf + n, 0xed, ps, sizeof ps - 1);
    n += put_segment(buf + n, 0xee, "Adobe\0\0\0\0\0\0\0", 12); /* colour coding: not named */
    n += put_segment(buf + n, 0xec, "Ducky", 5);
    buf[n++] = 0xff; /* fill bytes before a marker (T.81 B.1.1.2) */
    n += put_segment(buf + n, 0xfe, "scanned by", 10);
    at = n;
    memcpy(buf + n, orig + 2, len - 2);
    n += len - 2;
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 6);
    assert_string_equal(list, "JFIF resolution, EXIF (orientation 6), XMP, ICC profile, IPTC, "
                              "APP12, comment");
    /* no room: whole names only, and "..." for those left out */
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, 38), 6);
    assert_string_equal(list, "JFIF resolution, ...");
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, 43), 6);
    assert_string_equal(list, "JFIF resolution, EXIF (orientation 6), ...");
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, 15), 6);
    assert_string_equal(list, "...");
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, 3), 6);
    assert_string_equal(list, ""); /* not even that */
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, NULL, 0), 6); /* the orientation alone */
    /* cut inside the comment: what came before is named */
    assert_int_equal(mc_jpeg_dropped_markers(buf, at - 3, list, sizeof list), 6);
    assert_string_equal(list, "JFIF resolution, EXIF (orientation 6), XMP, ICC profile, IPTC, "
                              "APP12");
    /* the samples are those of the JPEG without the segments */
    a = decode_ok(orig, len);
    b = decode_ok(buf, n);
    assert_int_equal(a->samples_len, b->samples_len);
    assert_memory_equal(a->samples, b->samples, a->samples_len);
    mc_image_free(a);
    mc_image_free(b);

    /* Orientation 1 (as stored), and an IFD running past its segment: no
     * orientation, the EXIF still named */
    n = 2;
    n += put_segment(buf + n, 0xe1, exif_le, sizeof exif_le);
    memcpy(buf + n, orig + 2, len - 2);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n + len - 2, list, sizeof list), 0);
    assert_string_equal(list, "EXIF");
    n = 2;
    n += put_segment(buf + n, 0xe1, exif_cut, sizeof exif_cut);
    memcpy(buf + n, orig + 2, len - 2);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n + len - 2, list, sizeof list), 0);
    assert_string_equal(list, "EXIF");
    /* a plain APP1 after an APP12: both named ("APP1" is part of
     * "APP12", and was taken as named already: found in review) */
    n = 2;
    n += put_segment(buf + n, 0xec, "Ducky", 5);
    n += put_segment(buf + n, 0xe1, "other", 5);
    memcpy(buf + n, orig + 2, len - 2);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n + len - 2, list, sizeof list), 0);
    assert_string_equal(list, "APP12, APP1");

    /* anything but a JPEG */
    assert_int_equal(mc_jpeg_dropped_markers((const uint8_t *)"P5\n1 1\n255\n\0", 13, list,
                                             sizeof list), 0);
    assert_string_equal(list, "");
    assert_int_equal(mc_jpeg_dropped_markers(NULL, 0, list, sizeof list), 0);
    assert_string_equal(list, "");
    free(buf);
    free(orig);
}

/* mc_jpeg_dropped_markers at its edges (mutation testing, second round):
 * an Orientation that is not a SHORT, or is 9, is no orientation; of two
 * EXIF orientations the first is returned; a segment that ends exactly
 * at the end of the data is read, and so is an empty one after fill
 * bytes there; RST7 has no length, as RST0..6; and what does not begin
 * with SOI is not a JPEG. */
static void test_jpeg_dropped_markers_edges(void **state)
{
    static const uint8_t exif_long[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                        1, 0, 0x12, 0x01, 4, 0, 1, 0, 0, 0, 6, 0, 0, 0,
                                        0, 0, 0, 0}; /* Orientation as a LONG of 6 */
    static const uint8_t exif_9[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                     1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 9, 0, 0, 0,
                                     0, 0, 0, 0}; /* Orientation 9 */
    uint8_t exif_6[sizeof exif_9], exif_3[sizeof exif_9], buf[256];
    char list[128];
    size_t n;
    (void)state;

    memcpy(exif_6, exif_9, sizeof exif_9);
    exif_6[24] = 6;
    memcpy(exif_3, exif_9, sizeof exif_9);
    exif_3[24] = 3;
    buf[0] = 0xff;
    buf[1] = 0xd8;

    n = 2 + put_segment(buf + 2, 0xe1, exif_long, sizeof exif_long);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "EXIF");
    n = 2 + put_segment(buf + 2, 0xe1, exif_9, sizeof exif_9);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "EXIF");
    n = 2 + put_segment(buf + 2, 0xe1, exif_6, sizeof exif_6);
    n += put_segment(buf + n, 0xe1, exif_3, sizeof exif_3);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 6);
    assert_string_equal(list, "EXIF (orientation 6), EXIF (orientation 3)");

    /* a comment ending at the very end of the data (no EOI) */
    n = 2 + put_segment(buf + 2, 0xfe, "ab", 2);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "comment");
    /* fill bytes, then an empty comment, at the very end */
    buf[2] = 0xff;
    n = 3 + put_segment(buf + 3, 0xfe, "", 0);
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "comment");
    /* RST7 (no length), then a comment, then EOI */
    buf[2] = 0xff;
    buf[3] = 0xd7;
    n = 4 + put_segment(buf + 4, 0xfe, "ab", 2);
    buf[n++] = 0xff;
    buf[n++] = 0xd9;
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "comment");
    /* not SOI: not a JPEG, nothing named */
    buf[1] = 0x00;
    assert_int_equal(mc_jpeg_dropped_markers(buf, n, list, sizeof list), 0);
    assert_string_equal(list, "");
}

/* jpeg_mem.c over a stand-in for libjpeg's memory manager that checks,
 * when a pool is freed, that no byte of data written into what it handed
 * out for that pool is left: what libjpeg's own frees would leave in the
 * heap. Its sample rows
 * are padded to 64 bytes as libjpeg-turbo pads them for its SIMD code. */
struct fake_block {
    uint8_t *p;
    size_t n;
    int pool;
    bool pointers; /* an array of row pointers: not data, and an address
                    * may hold the byte 0xa5 */
};
static struct fake_block fake_blocks[160];
static size_t fake_n;
static int fake_freed_dirty; /* data bytes (0xa5) found not wiped at free_pool */

static uint8_t *fake_alloc(int pool, size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    assert_true(fake_n < sizeof fake_blocks / sizeof fake_blocks[0]);
    fake_blocks[fake_n++] = (struct fake_block){p, n, pool, false};
    return p;
}

static void *fake_alloc_pointers(int pool, size_t n)
{
    void *p = fake_alloc(pool, n);
    fake_blocks[fake_n - 1].pointers = true;
    return p;
}

static void *fake_alloc_small(j_common_ptr c, int pool, size_t n)
{
    (void)c;
    return fake_alloc(pool, n);
}

static JSAMPARRAY fake_alloc_sarray(j_common_ptr c, int pool, JDIMENSION per_row, JDIMENSION rows)
{
    size_t stride = ((size_t)per_row + 63) / 64 * 64;
    JSAMPARRAY a = fake_alloc_pointers(pool, rows * sizeof *a);
    uint8_t *chunk = fake_alloc(pool, stride * rows);
    (void)c;
    for (JDIMENSION r = 0; r < rows; r++)
        a[r] = chunk + r * stride;
    return a;
}

static JBLOCKARRAY fake_alloc_barray(j_common_ptr c, int pool, JDIMENSION per_row, JDIMENSION rows)
{
    JBLOCKARRAY a = fake_alloc_pointers(pool, rows * sizeof *a);
    JBLOCKROW chunk = (JBLOCKROW)fake_alloc(pool, (size_t)per_row * rows * sizeof(JBLOCK));
    (void)c;
    for (JDIMENSION r = 0; r < rows; r++)
        a[r] = chunk + (size_t)r * per_row;
    return a;
}

/* A virtual array is its whole buffer at once here (jmemnobs.c too). */
static jvirt_barray_ptr fake_request_virt_barray(j_common_ptr c, int pool, boolean zero,
                                                 JDIMENSION per_row, JDIMENSION rows,
                                                 JDIMENSION maxaccess)
{
    (void)zero;
    (void)maxaccess;
    return (jvirt_barray_ptr)fake_alloc_barray(c, pool, per_row, rows);
}

static JBLOCKARRAY fake_access_virt_barray(j_common_ptr c, jvirt_barray_ptr h, JDIMENSION start,
                                           JDIMENSION n, boolean writable)
{
    (void)c;
    (void)n;
    (void)writable;
    return (JBLOCKARRAY)h + start;
}

static void fake_free_pool(j_common_ptr c, int pool)
{
    size_t keep = 0;
    (void)c;
    for (size_t i = 0; i < fake_n; i++) {
        if (fake_blocks[i].pool != pool) {
            fake_blocks[keep++] = fake_blocks[i];
            continue;
        }
        for (size_t k = 0; k < fake_blocks[i].n && !fake_blocks[i].pointers; k++)
            fake_freed_dirty += fake_blocks[i].p[k] == 0xa5;
        free(fake_blocks[i].p);
    }
    fake_n = keep;
}

static void fake_self_destruct(j_common_ptr c)
{
    fake_free_pool(c, JPOOL_IMAGE);
    fake_free_pool(c, JPOOL_PERMANENT);
}

static void test_jpeg_memory_wiped(void **state)
{
    static const struct jpeg_memory_mgr FAKE_MEM = {
        .alloc_small = fake_alloc_small,
        .alloc_large = fake_alloc_small,
        .alloc_sarray = fake_alloc_sarray,
        .alloc_barray = fake_alloc_barray,
        .request_virt_barray = fake_request_virt_barray,
        .access_virt_barray = fake_access_virt_barray,
        .free_pool = fake_free_pool,
        .self_destruct = fake_self_destruct,
    };
    struct jpeg_memory_mgr mem = FAKE_MEM;
    struct jpeg_decompress_struct ci;
    j_common_ptr c = (j_common_ptr)&ci;
    uint8_t *small, *large, *perm;
    JSAMPARRAY rows, one;
    JBLOCKARRAY blocks;
    jvirt_barray_ptr coef, coef2;
    (void)state;

    memset(&ci, 0, sizeof ci);
    ci.mem = &mem;
    assert_true(mc__jpeg_track(c));
    /* what libjpeg's decoder fills: Huffman state, a coefficient buffer,
     * sample rows (the padding too: SIMD writes past the width), a lone
     * row, block rows, and a virtual array of the whole image's
     * coefficients, reached row by row */
    small = ci.mem->alloc_small(c, JPOOL_IMAGE, 100);
    large = ci.mem->alloc_large(c, JPOOL_IMAGE, 5000);
    perm = ci.mem->alloc_small(c, JPOOL_PERMANENT, 40);
    rows = ci.mem->alloc_sarray(c, JPOOL_IMAGE, 100, 8);
    one = ci.mem->alloc_sarray(c, JPOOL_IMAGE, 64, 1);
    blocks = ci.mem->alloc_barray(c, JPOOL_IMAGE, 3, 2);
    coef = ci.mem->request_virt_barray(c, JPOOL_IMAGE, TRUE, 4, 6, 1);
    /* a second component's (a YCbCr progressive JPEG has three) */
    coef2 = ci.mem->request_virt_barray(c, JPOOL_IMAGE, TRUE, 2, 3, 1);
    memset(small, 0xa5, 100);
    memset(large, 0xa5, 5000);
    memset(perm, 0xa5, 40);
    memset(rows[0], 0xa5, 8 * 128); /* every row with its padding */
    memset(one[0], 0xa5, 64);
    memset(blocks[0], 0xa5, 2 * 3 * sizeof(JBLOCK));
    for (JDIMENSION r = 0; r < 6; r += 2) {
        JBLOCKARRAY a = ci.mem->access_virt_barray(c, coef, r, 2, TRUE);
        memset(a[0], 0xa5, 4 * sizeof(JBLOCK));
        memset(a[1], 0xa5, 4 * sizeof(JBLOCK));
    }
    for (JDIMENSION r = 0; r < 3; r++)
        memset(ci.mem->access_virt_barray(c, coef2, r, 1, TRUE)[0], 0xa5, 2 * sizeof(JBLOCK));
    /* jpeg_finish_decompress frees the image pool: all of it wiped, the
     * permanent pool not yet freed nor wiped */
    ci.mem->free_pool(c, JPOOL_IMAGE);
    assert_int_equal(fake_freed_dirty, 0);
    assert_int_equal(perm[0], 0xa5);
    /* jpeg_destroy_decompress: the rest */
    ci.mem->self_destruct(c);
    assert_int_equal(fake_freed_dirty, 0);
    assert_int_equal(fake_n, 0);
    assert_null(ci.client_data);

    /* Destroyed straight after an error (libjpeg's error_exit, then
     * jpeg_destroy_decompress): the image pool was never freed on its
     * own, and libjpeg's self_destruct frees it without calling
     * free_pool: its blocks and its virtual arrays' rows (always in
     * that pool) are wiped all the same. */
    mem = FAKE_MEM; /* mc__jpeg_track put its methods in */
    assert_true(mc__jpeg_track(c));
    /* more blocks than jpeg_mem.c's first list of notes holds (64) */
    for (int i = 0; i < 100; i++)
        memset(ci.mem->alloc_small(c, i % 2 ? JPOOL_IMAGE : JPOOL_PERMANENT, 24), 0xa5, 24);
    large = ci.mem->alloc_large(c, JPOOL_IMAGE, 3000);
    coef = ci.mem->request_virt_barray(c, JPOOL_IMAGE, TRUE, 3, 2, 1);
    memset(large, 0xa5, 3000);
    memset(ci.mem->access_virt_barray(c, coef, 0, 2, TRUE)[0], 0xa5, 2 * 3 * sizeof(JBLOCK));
    ci.mem->self_destruct(c);
    assert_int_equal(fake_freed_dirty, 0);
    assert_int_equal(fake_n, 0);
    assert_null(ci.client_data);
}

/* CMYK: written here with jpeglib's compressor. */
static void test_jpeg_cmyk(void **state)
{
    (void)state;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    uint8_t row[8 * 4];

    memset(row, 0x40, sizeof row);
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &mem, &mem_len);
    ci.image_width = 8;
    ci.image_height = 8;
    ci.input_components = 4;
    ci.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    assert_int_equal(jpeg_err(mem, mem_len), MC_EUNSUPPORTED);
    assert_non_null(strstr(mc_ctx_last_detail(ctx), "CMYK"));
    free(mem);
}

/* mc_ctx_set_admit's hook that admits everything and notes what it was
 * asked (the first four requests) and how often. */
struct admit_log {
    size_t calls;
    uint64_t bytes[4];
};

static int admit_note(void *user, uint64_t sample_bytes)
{
    struct admit_log *log = user;
    if (log->calls < 4)
        log->bytes[log->calls] = sample_bytes;
    log->calls++;
    return 0;
}

/* The decoder's cases that the test images do not reach (mutation
 * testing, fifth round: codec_jpeg.c survived without each of them):
 *   - a datastream of markers and no frame (SOI, tables, EOI: libjpeg's
 *     JERR_NO_IMAGE) is truncated, as a file cut before its frame;
 *   - a JFIF segment of major version 2 is only libjpeg's warning
 *     JWRN_JFIF_MAJOR, which says nothing of the pixels: decoded;
 *   - a JPEG whose components are RGB, not YCbCr (T.81 leaves the colour
 *     space to the application; libjpeg writes Adobe's marker for it) is
 *     decoded to RGB, libjpeg's own samples;
 *   - the pixel cap counts samples, all three of an RGB pixel:
 *     rgb_100x100.jpg is 30000, refused under a cap of 29999; and the
 *     memory hook (mc_ctx_set_admit) is asked for its 30000 sample bytes
 *     each time, also when the header is read, before libjpeg allocates
 *     its buffers (a check of the header with one channel asked for
 *     10000 there: the cap still held, checked again before the samples
 *     are allocated). */
static void test_jpeg_decoder_edges(void **state)
{
    size_t len, sof, at, n, ref_len;
    uint8_t *buf = read_testdata("jpeg/ct_512_gray.jpg", &len), *cut, *jpg, *ref;
    mc_image *img = NULL;
    mc_ctx *capped = NULL;

    (void)state;
    sof = find_marker(buf, len, 0xc0);
    assert_true(sof > 0);
    assert_non_null(cut = malloc(sof + 2));
    memcpy(cut, buf, sof); /* SOI, JFIF, DQT: all before the frame */
    cut[sof] = 0xff;
    cut[sof + 1] = 0xd9; /* EOI */
    assert_int_equal(jpeg_err(cut, sof + 2), MC_ETRUNCATED);
    assert_string_equal(mc_ctx_last_detail(ctx), "libjpeg: JPEG datastream contains no image");
    assert_int_equal(jpeg_err(cut, 4), MC_ETRUNCATED); /* SOI EOI */
    free(cut);

    /* JFIF 2.01: APP0 (FF E0, its length), "JFIF\0", then the major
     * version byte */
    at = find_marker(buf, sof, 0xe0);
    assert_true(at > 0);
    assert_memory_equal(buf + at + 4, "JFIF\0", 5);
    at += 4 + 5;
    assert_int_equal(buf[at], 1);
    buf[at] = 2;
    img = decode_ok(buf, len);
    assert_geometry(img, 512, 512, 1);
    ref = ref_decode(buf, len, &ref_len);
    assert_memory_equal(img->samples, ref, ref_len);
    mc_image_free(img);
    free(ref);
    free(buf);

    jpg = make_jpeg_as(48, 40, 3, JCS_RGB, 0, &n);
    img = decode_ok(jpg, n);
    assert_geometry(img, 48, 40, 3);
    ref = ref_decode(jpg, n, &ref_len);
    assert_int_equal(ref_len, img->samples_len);
    assert_memory_equal(img->samples, ref, ref_len);
    mc_image_free(img);
    free(ref);
    free(jpg);

    buf = read_testdata("jpeg/rgb_100x100.jpg", &len);
    assert_int_equal(mc_ctx_new(&capped), MC_OK);
    assert_int_equal(mc_ctx_set_max_samples(capped, 29999), MC_OK);
    img = NULL;
    assert_int_equal(mc_image_decode(capped, buf, len, NULL, &img), MC_ETOOBIG);
    assert_null(img);
    assert_int_equal(mc_ctx_set_max_samples(capped, 30000), MC_OK);
    img = decode_ok_in(capped, buf, len);
    assert_geometry(img, 100, 100, 3);
    mc_image_free(img);
    {
        struct admit_log log = {0, {0}};
        assert_int_equal(mc_ctx_set_admit(capped, admit_note, &log), MC_OK);
        img = decode_ok_in(capped, buf, len);
        mc_image_free(img);
        assert_true(log.calls >= 1 && log.calls <= 4);
        for (size_t i = 0; i < log.calls; i++)
            assert_int_equal(log.bytes[i], 30000);
    }
    mc_ctx_free(capped);
    free(buf);
}

/* mc_image_encode_to writes exactly mc_image_encode's file, and fails
 * with MC_EIO, writing nothing more, when the sink fails: at its first
 * byte, half-way or at its last (a PGM's trailer: mutation testing,
 * sixteenth round). Frees img. */
static void assert_streams_as_whole(mc_image *img)
{
    uint8_t *whole = NULL;
    size_t whole_len;
    struct mem_sink k = {NULL, 0, SIZE_MAX, 0, false};

    assert_int_equal(mc_image_encode(ctx, img, &whole, &whole_len), MC_OK);
    assert_int_equal(mc_image_encode_to(ctx, img, mem_sink_write, &k), MC_OK);
    assert_int_equal(k.len, whole_len);
    assert_memory_equal(k.p, whole, whole_len);
    for (int cut = 0; cut < 3; cut++) {
        /* mem_sink_write fails the test if written to after it failed */
        struct mem_sink bad = {NULL, 0, cut == 0 ? 0 : cut == 1 ? whole_len / 2 : whole_len - 1,
                               0, false};
        assert_int_equal(mc_image_encode_to(ctx, img, mem_sink_write, &bad), MC_EIO);
        assert_true(bad.failed);
        free(bad.p);
    }
    assert_int_equal(mc_image_encode_to(ctx, img, NULL, &k), MC_EINVAL);
    free(k.p);
    free(whole);
    mc_image_free(img);
}

/* The same for every format (streamed: PNG, binary PGM/PPM, DICOM
 * interleaved or planar; whole: text PNM, BMP; JPEG's PNG) and for PNM
 * files with a trailer, binary 16-bit and plain. */
static void test_encode_streamed(void **state)
{
    static const char *files[] = {
        "png/ct_512_16bit.png", "png/rgba_100x100.png", "pnm/ct_512_8bit.pgm",
        "pnm/ct_small_12bit.pgm", "pnm/rgb_100x100.ppm", "pnm/ascii_8x8.pgm",
        "pnm/ascii_4x3.ppm", "bmp/ct_512_8bit_palette.bmp", "dicom/ct_small_explicit_le.dcm",
        "dicom/rgb_16bit_2frames.dcm", "dicom/rgb_planar1_80x60.dcm",
        "dicom/mr_small_implicit_le.dcm", "jpeg/rgb_100x100.jpg"};

    static const char bin16[] = "P5\n3 1\n65535\n\x01\x02\x03\x04\x05\x06P5 1 1 255\n\x07",
                      plain[] = "P2 2 1 9\n1 9\n\n# end\n";
    static const struct {
        const char *p;
        size_t len;
    } trailed[] = {{bin16, sizeof bin16 - 1}, {plain, sizeof plain - 1}};

    (void)state;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        assert_streams_as_whole(decode_testdata(files[f]));
    for (size_t f = 0; f < sizeof trailed / sizeof trailed[0]; f++) {
        mc_image *img = NULL;
        assert_int_equal(mc_image_decode(ctx, (const uint8_t *)trailed[f].p, trailed[f].len, NULL,
                                         &img), MC_OK);
        assert_streams_as_whole(img);
    }
}

/* mc_image_decode_owned: the same image (samples, side data, name) as
 * mc_image_decode, whether decoded in place (binary PGM/PPM with or
 * without a trailer, a full maxval or 4095; native DICOM with interleaved
 * samples, one frame or several, implicit or explicit VR, a tail or
 * none) or not (text PNM, PNG, planar DICOM); the same error for a bad
 * file (a compressed or big-endian DICOM, a cut one, a sample above
 * maxval); the buffer is always taken (ASan's leak check). */
static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *q = malloc(len > 0 ? len : 1);
    assert_non_null(q);
    memcpy(q, p, len);
    return q;
}

static void test_decode_owned(void **state)
{
    static const char *files[] = {"pnm/ct_512_8bit.pgm", "pnm/rgb_100x100.ppm",
                                  "pnm/ct_small_12bit.pgm", "pnm/ascii_8x8.pgm",
                                  "png/ct_small_16bit.png", "dicom/ct_small_explicit_le.dcm",
                                  "dicom/ct_512_explicit_le.dcm", "dicom/rgb_16bit_2frames.dcm",
                                  "dicom/mr_small_implicit_le.dcm", "dicom/rgb_8bit_100x100.dcm",
                                  "dicom/rgb_planar1_80x60.dcm"};
    static const char *refused[] = {"dicom/unsupported/big_endian_mr.dcm",
                                    "dicom/unsupported/deflate_8bit.dcm",
                                    "dicom/unsupported/rle_mr.dcm"};
    /* 16-bit, full maxval, 3x2, with a second image after it (a trailer). */
    static const uint8_t gen16[] = "P5\n3 2\n65535\n\x01\x02\x03\x04\x05\x06\x07\x08"
                                   "\x09\x0a\x0b\x0cP5\n1 1\n255\n\x07";
    (void)state;
    for (size_t f = 0; f <= sizeof files / sizeof files[0]; f++) {
        size_t len;
        uint8_t *buf = f < sizeof files / sizeof files[0]
                           ? read_testdata(files[f], &len)
                           : dup_bytes(gen16, (len = sizeof gen16 - 1));
        mc_image *a = NULL, *b = NULL;
        assert_int_equal(mc_image_decode(ctx, buf, len, "x.pgm", &a), MC_OK);
        assert_int_equal(mc_image_decode_owned(ctx, dup_bytes(buf, len), len, "x.pgm", &b), MC_OK);
        assert_int_equal(a->format, b->format);
        assert_same_samples(a, b);
        assert_int_equal(a->side_len, b->side_len);
        if (a->side_len > 0)
            assert_memory_equal(a->side, b->side, a->side_len);
        assert_string_equal(mc_image_name(a), mc_image_name(b));
        mc_image_free(a);
        mc_image_free(b);
        /* cut short: the same error, and the buffer is still taken */
        assert_int_equal(mc_image_decode_owned(ctx, dup_bytes(buf, len / 2), len / 2, NULL, &b),
                         mc_image_decode(ctx, buf, len / 2, NULL, &a));
        /* a success after a refusal that gave a reason: the detail is
         * this call's, none (mutation testing, nineteenth round: the
         * in-place decoders' success left the last refusal's) */
        assert_int_equal(mc_image_decode(ctx, (const uint8_t *)"DICM", 4, NULL, &a), MC_EFORMAT);
        assert_string_not_equal(mc_ctx_last_detail(ctx), "");
        assert_int_equal(mc_image_decode_owned(ctx, dup_bytes(buf, len), len, NULL, &b), MC_OK);
        assert_string_equal(mc_ctx_last_detail(ctx), "");
        mc_image_free(b);
        free(buf);
    }
    for (size_t f = 0; f < sizeof refused / sizeof refused[0]; f++) {
        size_t len;
        uint8_t *buf = read_testdata(refused[f], &len);
        mc_image *a = NULL, *b = NULL;
        mc_err want = mc_image_decode(ctx, buf, len, NULL, &a);
        char detail[256];

        assert_int_not_equal(want, MC_OK);
        snprintf(detail, sizeof detail, "%s", mc_ctx_last_detail(ctx));
        assert_int_equal(mc_image_decode_owned(ctx, dup_bytes(buf, len), len, NULL, &b), want);
        assert_string_equal(mc_ctx_last_detail(ctx), detail); /* e.g. the transfer syntax */
        assert_null(b);
        free(buf);
    }
    {
        mc_image *none = NULL;
        assert_int_equal(mc_image_decode_owned(ctx, NULL, 0, NULL, &none), MC_EFORMAT);
        assert_null(none);
    }
    {
        /* maxval 4095 (12-bit) and 200: in place, or, with one sample
         * above maxval, refused as mc_image_decode refuses it */
        static const uint8_t ok12[] = "P5\n2 1\n4095\n\x0f\xff\x00\x01";
        static const uint8_t bad12[] = "P5\n2 1\n4095\n\x0f\xff\x10\x00";
        static const uint8_t bad8[] = "P5\n3 1\n200\n\x00\xc8\xc9";
        mc_image *a = NULL, *b = NULL;
        uint8_t *buf = dup_bytes(ok12, sizeof ok12 - 1);
        uint16_t v[2];
        size_t n;

        assert_int_equal(mc_image_decode_owned(ctx, buf, sizeof ok12 - 1, NULL, &b), MC_OK);
        assert_ptr_equal(mc_image_samples(b, &n), buf); /* where it lay */
        assert_int_equal(n, 4);
        memcpy(v, buf, sizeof v); /* host order */
        assert_int_equal(v[0], 4095);
        assert_int_equal(v[1], 1);
        mc_image_free(b);
        b = NULL;
        assert_int_equal(mc_image_decode(ctx, bad12, sizeof bad12 - 1, NULL, &a), MC_EFORMAT);
        assert_int_equal(
            mc_image_decode_owned(ctx, dup_bytes(bad12, sizeof bad12 - 1), sizeof bad12 - 1,
                                  NULL, &b),
            MC_EFORMAT);
        assert_null(b);
        assert_int_equal(
            mc_image_decode_owned(ctx, dup_bytes(bad8, sizeof bad8 - 1), sizeof bad8 - 1, NULL,
                                  &b),
            MC_EFORMAT);
        assert_null(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_streamed),
        cmocka_unit_test(test_decode_owned),
        cmocka_unit_test(test_bmp_files),
        cmocka_unit_test(test_bmp_files_byte_exact),
        cmocka_unit_test(test_bmp_generated),
        cmocka_unit_test(test_bmp_encode_canonical),
        cmocka_unit_test(test_bmp_truncated),
        cmocka_unit_test(test_bmp_hostile),
        cmocka_unit_test(test_bmp_masks),
        cmocka_unit_test(test_bmp_encode_checks),
        cmocka_unit_test(test_jpeg_files),
        cmocka_unit_test(test_jpeg_errors),
        cmocka_unit_test(test_jpeg_corrupt_scan),
        cmocka_unit_test(test_jpeg_progressive_arithmetic),
        cmocka_unit_test(test_jpeg_digests_while_decoding),
        cmocka_unit_test(test_jpeg_cmyk),
        cmocka_unit_test(test_jpeg_decoder_edges),
        cmocka_unit_test(test_jpeg_dropped_markers),
        cmocka_unit_test(test_jpeg_dropped_markers_edges),
        cmocka_unit_test(test_jpeg_memory_wiped),
    };
    return cmocka_run_group_tests(tests, ctx_setup, ctx_teardown);
}
