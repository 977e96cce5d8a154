/* Format detection and dispatch: one table row per codec. A new codec
 * (BMP, JPEG, DICOM) is one more row; nothing else here changes. */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MC_SIDE_NAME holds at most this many bytes (the usual NAME_MAX). */
#define NAME_MAX_BYTES 255u

struct codec {
    mc_format format;
    /* NULL where medcrypt only writes the format (or not at all yet). */
    bool (*sniff)(const uint8_t *buf, size_t len);
    /* NULL, or true where the bytes are this format beyond doubt: its
     * decoder's refusal is then the answer, no other codec is tried. */
    bool (*declared)(const uint8_t *buf, size_t len);
    mc_err (*decode)(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out);
    /* Written back as a plain PNG (png_encode, png_encode_to below),
     * with the context's threads; the two functions then unused. */
    bool as_png;
    /* NULL where the format cannot be written back. */
    mc_err (*encode)(const mc_image *img, uint8_t **out, size_t *out_len);
    /* Streamed, piece by piece; NULL: encode, then one write. */
    mc_err (*encode_to)(const mc_image *img, mc_write_fn write, void *user);
};

/* The pixels, and the ancillary chunks (text, pHYs, iCCP...) that
 * travel in the side data (png_meta.c). */
static mc_err png_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out)
{
    mc_image *img = NULL;
    mc_err err;

    if ((err = mc__png_decode(ctx, buf, len, &img, NULL)) != MC_OK)
        return err;
    if ((err = mc__png_meta_record(img, buf, len)) != MC_OK) {
        mc_image_free(img);
        return err;
    }
    *out = img;
    return MC_OK;
}

/* Plain images (PNG, and JPEG's pixels) are filtered and compressed,
 * which pays off on real images, unlike on cipher noise; a large one on
 * the context's threads (codec_png_bands.c); a PNG's ancillary chunks
 * back in place. */
static mc_err png_encode(const mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
{
    return mc__png_encode_meta(img, mc__ctx_threads(ctx), out, out_len);
}

static mc_err png_encode_to(const mc_ctx *ctx, const mc_image *img, mc_write_fn write,
                            void *user)
{
    return mc__png_encode_meta_to(img, mc__ctx_threads(ctx), write, user);
}

/* Sniffed in this order: the first whose sniff accepts the bytes decodes
 * them. Signatures do not overlap ("\x89PNG" vs "P2".."P6"). */
static const struct codec codecs[] = {
    /* DICOM first: its 128-byte preamble is free-form (PS3.10 §7.1 lets it
     * hold e.g. a TIFF header); "DICM" at offset 128 is its signature. */
    {MC_FORMAT_DICOM, mc__dicom_sniff, mc__dicom_declared, mc__dicom_decode, false,
     mc__dicom_encode, mc__dicom_encode_to},
    {MC_FORMAT_PNG, mc__png_sniff, NULL, png_decode, true, NULL, NULL},
    {MC_FORMAT_PNM, mc__pnm_sniff, NULL, mc__pnm_decode, false, mc__pnm_encode,
     mc__pnm_encode_to},
    {MC_FORMAT_BMP, mc__bmp_sniff, NULL, mc__bmp_decode, false, mc__bmp_encode, NULL}, /* "BM" */
    /* JPEG is lossy: its decoded pixels come back as a lossless PNG. */
    {MC_FORMAT_JPEG, mc__jpeg_sniff, NULL, mc__jpeg_decode, true, NULL, NULL}, /* FF D8 FF */
};

#define N_CODECS (sizeof codecs / sizeof codecs[0])

static const struct codec *codec_for(mc_format format)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (codecs[i].format == format)
            return &codecs[i];
    return NULL;
}

/* The base name: what follows the last '/' (or '\\', which browsers on
 * Windows have sent in uploads), so a directory never travels in the
 * cipher image. At most NAME_MAX_BYTES, cut on a UTF-8 character
 * boundary. */
static void base_name(const char *name, const char **base, size_t *len)
{
    const char *b = name;
    size_t n;

    for (const char *p = name; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    n = strlen(b);
    if (n > NAME_MAX_BYTES) {
        n = NAME_MAX_BYTES;
        /* back off over continuation bytes (10xxxxxx) of a cut character */
        while (n > 0 && ((unsigned char)b[n] & 0xc0) == 0x80)
            n--;
    }
    *base = b;
    *len = n;
}

static mc_err attach_name(mc_image *img, const char *name)
{
    const char *base;
    size_t len;
    mc_err err;

    base_name(name, &base, &len);
    if (len == 0)
        return MC_OK; /* "dir/": no name to keep */
    if ((err = mc__side_add(img, MC_SIDE_NAME, base, len)) != MC_OK)
        return err;
    return mc__image_name_from_side(img);
}

mc_format mc__image_sniff(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (codecs[i].sniff != NULL && codecs[i].sniff(buf, len))
            return codecs[i].format;
    return MC_FORMAT_NONE;
}

mc_err mc_image_decode(mc_ctx *ctx, const uint8_t *buf, size_t len, const char *name,
                       mc_image **out)
{
    mc_image *img = NULL;
    mc_err err, refusal = MC_EFORMAT; /* includes len == 0 */
    char detail[256] = "";
    uint64_t cap = 0; /* the refusal's mc_ctx_last_cap(), kept with its detail */
    bool tried = false;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (ctx == NULL || out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    for (size_t i = 0; i < N_CODECS; i++) {
        const struct codec *c = &codecs[i];
        if (c->sniff == NULL || !c->sniff(buf, len))
            continue;
        /* Signatures can overlap: "DICM" at offset 128 may lie inside a
         * valid BMP, PNG or PGM (found by fuzz_bmp, regression
         * fuzz/regressions/fuzz_bmp/bmp-with-DICM-at-128). Try the next
         * codec whose signature matches. But a file that declares itself
         * (a DICOM File Meta group after "DICM") is that format: its
         * refusal stands, whatever image its preamble holds. If none
         * succeeds, the last refusal is reported: the other signatures
         * are at offset 0, the file's own first bytes, and a cut PGM
         * with "DICM" in its pixels is told it is cut, not that it lacks
         * a Transfer Syntax UID. */
        if ((err = c->decode(ctx, buf, len, &img)) != MC_OK) {
            refusal = err;
            snprintf(detail, sizeof detail, "%s", mc_ctx_last_detail(ctx));
            cap = mc_ctx_last_cap(ctx);
            tried = true;
            if (c->declared != NULL && c->declared(buf, len))
                break;
            continue;
        }
        if (name != NULL && (err = attach_name(img, name)) != MC_OK) {
            mc_image_free(img);
            return err;
        }
        /* A codec tried before (a "DICM" at offset 128 of a BMP) may have
         * left its refusal: a success empties the detail. */
        mc__ctx_detail(ctx, "%s", "");
        *out = img;
        return MC_OK;
    }
    if (!tried && mc__pnm_kin(ctx, buf, len))
        return MC_EUNSUPPORTED;
    /* "DICM" with no preamble before it: a DICOM file, cut of (or written
     * without) the 128 bytes PS3.10 §7.1 puts first; it was refused with
     * no detail at all (a review). */
    if (!tried && len >= 4 && memcmp(buf, "DICM", 4) == 0) {
        mc__ctx_detail(ctx, "\"DICM\" at offset 0: a DICOM file has a 128-byte preamble before "
                            "it (DICOM PS3.10 7.1)");
        return MC_EFORMAT;
    }
    mc__ctx_detail(ctx, "%s", detail);
    mc__ctx_cap(ctx, cap);
    return refusal;
}

mc_err mc_image_decode_owned(mc_ctx *ctx, uint8_t *buf, size_t len, const char *name,
                             mc_image **out)
{
    mc_image *img = NULL;
    mc_err err;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (ctx == NULL || out == NULL || (buf == NULL && len > 0)) {
        err = MC_EINVAL;
        goto out;
    }
    /* DICOM first, as in mc_image_decode: its preamble may hold anything.
     * Either decoder in place answers MC_EUNSUPPORTED, buf untouched,
     * for what it leaves to the ordinary decoders. */
    if ((err = mc__dicom_sniff(buf, len) ? mc__dicom_decode_in_place(ctx, buf, len, &img)
                                         : mc__pnm_decode_in_place(ctx, buf, len, &img)) !=
        MC_EUNSUPPORTED) {
        if (err != MC_OK)
            goto out;
        buf = NULL; /* the image's samples now */
        mc__ctx_detail(ctx, "%s", "");
        if (name != NULL && (err = attach_name(img, name)) != MC_OK) {
            mc_image_free(img);
            return err;
        }
        *out = img;
        return MC_OK;
    }
    err = mc_image_decode(ctx, buf, len, name, out);
out:
    if (buf != NULL) /* plain patient data */
        sodium_memzero(buf, len);
    mc__free_huge(buf);
    return err;
}

mc_err mc_image_encode(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
{
    const struct codec *c;

    if (ctx == NULL || img == NULL || out == NULL || out_len == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    if ((c = codec_for(img->format)) != NULL && c->as_png)
        return png_encode(ctx, img, out, out_len);
    if (c == NULL || c->encode == NULL)
        return MC_EUNSUPPORTED;
    return c->encode(img, out, out_len);
}

mc_err mc_image_encode_to(mc_ctx *ctx, const mc_image *img, mc_write_fn write, void *user)
{
    const struct codec *c;
    uint8_t *buf = NULL;
    size_t len = 0;
    mc_err err;

    if (ctx == NULL || img == NULL || write == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    if ((c = codec_for(img->format)) != NULL && c->as_png)
        return png_encode_to(ctx, img, write, user);
    if (c == NULL || c->encode == NULL)
        return MC_EUNSUPPORTED;
    if (c->encode_to != NULL)
        return c->encode_to(img, write, user);
    /* The rest (BMP, text PNM) whole, in one write; a plain image: wiped. */
    if ((err = c->encode(img, &buf, &len)) != MC_OK)
        return err;
    err = write(user, buf, len) == 0 ? MC_OK : MC_EIO;
    sodium_memzero(buf, len);
    mc__free_huge(buf);
    return err;
}

mc_err mc_image_encode_png(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
{
    if (ctx == NULL || img == NULL || out == NULL || out_len == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    return png_encode(ctx, img, out, out_len);
}
