/* The image model: geometry, samples in one caller-visible buffer, and
 * format-specific side data kept as typed records. */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mc_ctx_last_detail() of MC_ETOOBIG: the size and the cap, so that
 * whoever meets it knows by how much (the command line's --max-pixels,
 * the server's, mc_ctx_set_max_samples); or, within a cap raised that
 * far, more than a size_t holds. W·H fits in 64 bits (both are 32-bit);
 * times C it may not. */
static void too_big(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint64_t max)
{
    uint64_t n = (uint64_t)w * h;
    char channels[32] = "";

    if (c > 1)
        snprintf(channels, sizeof channels, " x %u channels", (unsigned)c);
    if (n <= max / c) {
        /* the machine's limit, not the cap's (an API review: "the pixel
         * cap is 18446744073709551615" under 1.8e19 samples) */
        mc__ctx_detail(ctx, "%u x %u pixels%s = %llu samples: more than this machine can "
                            "address", (unsigned)w, (unsigned)h, channels,
                       (unsigned long long)(n * c));
        return;
    }
    if (n > UINT64_MAX / c)
        mc__ctx_detail(ctx, "%u x %u pixels%s; the pixel cap is %llu samples", (unsigned)w,
                       (unsigned)h, channels, (unsigned long long)max);
    else
        mc__ctx_detail(ctx, "%u x %u pixels%s = %llu samples; the pixel cap is %llu",
                       (unsigned)w, (unsigned)h, channels, (unsigned long long)(n * c),
                       (unsigned long long)max);
    mc__ctx_cap(ctx, max);
}

mc_err mc__geometry_check(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                          size_t *samples_len)
{
    uint64_t max = mc_ctx_max_samples(ctx);
    uint64_t n;

    if (w == 0 || h == 0) {
        mc__ctx_detail(ctx, "%u x %u pixels: no image", (unsigned)w, (unsigned)h);
        return MC_EFORMAT;
    }
    if (c < 1 || c > 4 || (bits != 8 && bits != 16))
        return MC_EFORMAT;
    /* Overflow checked before multiplying: a tiny header must not buy a
     * huge allocation (the pixel cap applies before any malloc). */
    if ((uint64_t)h > max / w || (n = (uint64_t)w * h) > max / c || n * c > SIZE_MAX / 2) {
        too_big(ctx, w, h, c, max);
        return MC_ETOOBIG;
    }
    n *= c;
    /* The caller's memory budget, last: after the cap, before any
     * allocation (mc_ctx_set_admit). */
    if (ctx != NULL && ctx->admit != NULL && ctx->admit(ctx->admit_user, n * (bits / 8)) != 0) {
        mc__ctx_detail(ctx, "%u x %u pixels = %llu bytes of samples, not admitted now",
                       (unsigned)w, (unsigned)h, (unsigned long long)(n * (bits / 8)));
        return MC_EBUSY;
    }
    if (samples_len != NULL)
        *samples_len = (size_t)n * (bits / 8);
    return MC_OK;
}

/* 16-bit samples between the files' big-endian order (PNG §7.1, pgm(5))
 * and the host's little-endian one (internal.h): swaps the bytes of each
 * pair. dst may be src (in place). One branch-free loop that the compiler
 * vectorizes, also in place: a call or a branch per sample cost
 * milliseconds per 8 MiB. */
void mc__swap16(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint16_t v;
        memcpy(&v, src + i, 2);
        v = (uint16_t)(v >> 8 | v << 8);
        memcpy(dst + i, &v, 2);
    }
}

mc_err mc__image_alloc(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                       mc_image **out)
{
    return mc__image_alloc_room(ctx, w, h, c, bits, 0, out);
}

mc_err mc__image_alloc_room(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                            size_t room, mc_image **out)
{
    mc_image *img;
    size_t len;
    mc_err err;

    if ((err = mc__geometry_check(ctx, w, h, c, bits, &len)) != MC_OK)
        return err;
    if (room > SIZE_MAX - len)
        return MC_ENOMEM;
    if ((img = calloc(1, sizeof *img)) == NULL)
        return MC_ENOMEM;
    if ((img->samples = mc__alloc_huge(len + room)) == NULL) {
        free(img);
        return MC_ENOMEM;
    }
    memset(img->samples, 0, len + room); /* what a decoder does not write is 0 */
    img->width = w;
    img->height = h;
    img->frames = 1;
    img->channels = c;
    img->bits = bits;
    img->samples_len = len;
    img->format = MC_FORMAT_PNG;
    *out = img;
    return MC_OK;
}

/* A deep copy: samples and side data (the name is not copied; it is
 * derived from the side data when needed). */
mc_err mc__image_copy(const mc_image *src, mc_image **out)
{
    mc_image *img;

    if ((img = calloc(1, sizeof *img)) == NULL)
        return MC_ENOMEM;
    *img = *src;
    img->samples = NULL;
    img->side = NULL;
    img->name = NULL;
    img->digests = NULL; /* the original's; the copy is hashed when needed */
    img->digests_len = 0;
    if ((img->samples = mc__alloc_huge(src->samples_len)) == NULL ||
        (src->side_len > 0 && (img->side = malloc(src->side_len)) == NULL)) {
        mc_image_free(img);
        return MC_ENOMEM;
    }
    memcpy(img->samples, src->samples, src->samples_len);
    if (src->side_len > 0)
        memcpy(img->side, src->side, src->side_len);
    *out = img;
    return MC_OK;
}

/* The block keeps its size. It used to be shrunk to the samples with
 * realloc, which for the file buffers of mc__alloc_huge (2 MiB-aligned
 * mappings from the huge-page line up, see src/mem.c) gave back nothing:
 * the pages already touched stay resident as a huge page. But the
 * shrunk block went back to mc__free_huge too small for the next file of
 * a batch (the samples without their header), so every DICOM or PGM
 * file of a batch read itself into a fresh mapping whose huge page the
 * kernel had to zero:
 * a quarter of the CPU time of a batch of 512x512 16-bit DICOM files
 * (perf; docs/PERFORMANCE.md, "Memory"). */
void mc__image_adopt(mc_image *img, uint8_t *buf, size_t len, size_t off, size_t samples_len)
{
    memmove(buf, buf + off, samples_len);
    sodium_memzero(buf + samples_len, len - samples_len);
    img->samples = buf;
    img->samples_len = samples_len;
}

mc_err mc_image_new(mc_ctx *ctx, uint32_t width, uint32_t height, uint8_t channels, uint8_t bits,
                    mc_image **out)
{
    /* A geometry no image has is the caller's mistake, not a file's
     * (MC_EFORMAT is for file contents). The detail is this call's only:
     * an earlier call's is not left for a failure here (an API audit). */
    if (ctx != NULL)
        mc__ctx_detail(ctx, "%s", "");
    if (ctx == NULL || out == NULL || width == 0 || height == 0 || channels < 1 ||
        channels > 4 || (bits != 8 && bits != 16))
        return MC_EINVAL;
    return mc__image_alloc(ctx, width, height, channels, bits, out);
}

void mc_image_free(mc_image *img)
{
    if (img == NULL)
        return;
    /* Samples and side data may be patient data: wipe before freeing. */
    if (img->samples != NULL)
        sodium_memzero(img->samples, img->samples_len);
    if (img->side != NULL)
        sodium_memzero(img->side, img->side_len);
    if (img->name != NULL)
        sodium_memzero(img->name, strlen(img->name));
    mc__image_drop_digests(img);
    mc__free_huge(img->samples);
    free(img->side);
    free(img->name);
    free(img);
}

static const char *extension_of(const mc_image *img)
{
    switch (img->format) {
    case MC_FORMAT_PNM:
        return img->channels == 1 ? "pgm" : "ppm";
    case MC_FORMAT_BMP:
        return "bmp";
    case MC_FORMAT_JPEG:
        return "png"; /* decoded JPEG pixels come back as a lossless PNG */
    case MC_FORMAT_DICOM:
        return "dcm";
    default:
        return "png";
    }
}

void mc_image_get_info(const mc_image *img, mc_image_info *info)
{
    if (img == NULL || info == NULL)
        return;
    info->width = img->width;
    info->height = img->height;
    info->frames = img->frames;
    info->channels = img->channels;
    info->bits = img->bits;
    info->format = img->format;
    info->extension = extension_of(img);
}

void mc__image_drop_digests(mc_image *img)
{
    if (img->digests != NULL)
        sodium_memzero(img->digests, img->digests_len);
    free(img->digests);
    img->digests = NULL;
    img->digests_len = 0;
}

uint8_t *mc_image_samples(mc_image *img, size_t *len)
{
    if (img == NULL)
        return NULL;
    mc__image_drop_digests(img); /* the caller may change the samples */
    if (len != NULL)
        *len = img->samples_len;
    return img->samples;
}

const uint8_t *mc_image_samples_const(const mc_image *img, size_t *len)
{
    if (img == NULL)
        return NULL;
    if (len != NULL)
        *len = img->samples_len;
    return img->samples;
}

const char *mc_image_name(const mc_image *img)
{
    return img != NULL ? img->name : NULL;
}

const char *mc_format_name(mc_format format)
{
    switch (format) {
    case MC_FORMAT_PNG:
        return "png";
    case MC_FORMAT_PNM:
        return "pnm";
    case MC_FORMAT_BMP:
        return "bmp";
    case MC_FORMAT_JPEG:
        return "jpeg";
    case MC_FORMAT_DICOM:
        return "dicom";
    default:
        return "none";
    }
}

/* Side-data records: type (u16 BE), length (u32 BE), bytes. */
#define SIDE_RECORD_HEAD 6u

mc_err mc__side_add(mc_image *img, uint16_t type, const void *data, size_t len)
{
    uint8_t *p;
    size_t need;

    if (len > UINT32_MAX - SIDE_RECORD_HEAD || img->side_len > UINT32_MAX - SIDE_RECORD_HEAD - len)
        return MC_ETOOBIG;
    need = img->side_len + SIDE_RECORD_HEAD + len;
    if ((p = malloc(need)) == NULL)
        return MC_ENOMEM;
    if (img->side_len > 0) {
        memcpy(p, img->side, img->side_len);
        sodium_memzero(img->side, img->side_len);
    }
    free(img->side);
    img->side = p;
    p += img->side_len;
    p[0] = (uint8_t)(type >> 8);
    p[1] = (uint8_t)type;
    mc__put_be32(p + 2, (uint32_t)len);
    if (len > 0)
        memcpy(p + SIDE_RECORD_HEAD, data, len);
    img->side_len = need;
    return MC_OK;
}

static bool side_walk(const uint8_t *side, size_t side_len, uint16_t type, const uint8_t **data,
                      size_t *len)
{
    size_t off = 0;

    while (off < side_len) {
        uint16_t t;
        uint32_t l;
        if (side_len - off < SIDE_RECORD_HEAD)
            return false;
        t = (uint16_t)(side[off] << 8 | side[off + 1]);
        l = (uint32_t)side[off + 2] << 24 | (uint32_t)side[off + 3] << 16 |
            (uint32_t)side[off + 4] << 8 | side[off + 5];
        off += SIDE_RECORD_HEAD;
        if (l > side_len - off)
            return false;
        if (type != 0 && t == type) {
            *data = side + off;
            *len = l;
            return true;
        }
        off += l;
    }
    return type == 0;
}

bool mc__side_find(const uint8_t *side, size_t side_len, uint16_t type, const uint8_t **data,
                   size_t *len)
{
    if (side == NULL || type == 0)
        return false;
    return side_walk(side, side_len, type, data, len);
}

bool mc__side_valid(const uint8_t *side, size_t side_len)
{
    const uint8_t *d;
    size_t l;

    if (side_len == 0)
        return true;
    return side != NULL && side_walk(side, side_len, 0, &d, &l);
}

mc_err mc__image_name_from_side(mc_image *img)
{
    const uint8_t *d;
    size_t l;
    char *name;

    if (img->name != NULL) /* a file name may name the patient */
        sodium_memzero(img->name, strlen(img->name));
    free(img->name);
    img->name = NULL;
    if (!mc__side_find(img->side, img->side_len, MC_SIDE_NAME, &d, &l))
        return MC_OK;
    if ((name = malloc(l + 1)) == NULL)
        return MC_ENOMEM;
    memcpy(name, d, l);
    name[l] = '\0';
    if (strlen(name) != l) { /* an embedded NUL: not a name */
        sodium_memzero(name, l);
        free(name);
        return MC_OK;
    }
    img->name = name;
    return MC_OK;
}
