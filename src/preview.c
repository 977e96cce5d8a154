/* Previews for people: an 8-bit PNG of an image, windowed like a DICOM
 * viewer would show it. Not lossless, never used for decryption.
 *
 * Mapping (per sample of the first frame):
 *   - DICOM, monochrome: stored value (Bits Stored, High Bit and Pixel
 *     Representation, PS3.5 §8.1.1 / PS3.3 C.7.6.3.1) -> modality rescale
 *     (PS3.3 C.11.1.1.2: slope·v + intercept) -> the linear VOI function
 *     of the first Window Center/Width (PS3.3 C.11.2.1.2.1), else the
 *     min..max of the rescaled values; MONOCHROME1 is inverted (PS3.3
 *     C.7.6.3.1.2: "minimum sample value is intended to be displayed as
 *     white");
 *   - other 16-bit images (and 16-bit DICOM RGB): min..max of the colour
 *     samples (alpha excluded) stretched to 0..255;
 *   - other 8-bit images: as they are;
 *   - alpha (gray+alpha, RGBA) is kept, 16-bit alpha scaled to 8 bits. */
#include "internal.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* How one colour sample maps to 0..255. */
struct mapping {
    bool dicom_mono;      /* decode stored value, rescale, window */
    unsigned shift;       /* high_bit + 1 - bits_stored */
    uint32_t mask;        /* (1 << bits_stored) - 1 */
    bool is_signed;
    double slope, intercept;
    bool window;          /* use center/width, else lo..hi */
    double center, width;
    double lo, hi;        /* value range for the min..max stretch */
    bool invert;          /* MONOCHROME1 */
    bool stretch;         /* 16-bit (or DICOM) values: stretch lo..hi */
};

static uint32_t raw_sample(const mc_image *img, size_t i)
{
    uint16_t v;

    if (img->bits == 8)
        return img->samples[i];
    memcpy(&v, img->samples + 2 * i, 2);
    return v;
}

/* PS3.5 §8.1.1: the stored value occupies bits high_bit-bits_stored+1 ..
 * high_bit; signed values are two's complement in bits_stored bits. */
static double stored_value(const struct mapping *m, uint32_t raw)
{
    uint32_t v = (raw >> m->shift) & m->mask;

    if (m->is_signed && (v & ((m->mask >> 1) + 1)) != 0)
        return (double)v - (double)m->mask - 1.0;
    return (double)v;
}

static double value_of(const struct mapping *m, uint32_t raw)
{
    if (!m->dicom_mono)
        return (double)raw;
    return stored_value(m, raw) * m->slope + m->intercept;
}

/* PS3.3 C.11.2.1.2.1, the LINEAR function, ymin = 0, ymax = 255. */
static double voi_linear(double x, double c, double w)
{
    if (x <= c - 0.5 - (w - 1.0) / 2.0)
        return 0.0;
    if (x > c - 0.5 + (w - 1.0) / 2.0)
        return 255.0;
    return ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
}

static uint8_t map_sample(const struct mapping *m, uint32_t raw)
{
    double y, x;

    if (!m->stretch && !m->dicom_mono)
        return (uint8_t)raw;
    x = value_of(m, raw);
    if (m->window)
        y = voi_linear(x, m->center, m->width);
    else if (m->hi > m->lo)
        y = (x - m->lo) / (m->hi - m->lo) * 255.0;
    else
        y = 0.0;
    if (!(y >= 0.0))
        y = 0.0; /* also NaN, from a file's odd slope or window */
    if (y > 255.0)
        y = 255.0;
    y = floor(y + 0.5);
    if (m->invert)
        y = 255.0 - y;
    return (uint8_t)y;
}

static bool is_alpha(const mc_image *img, size_t i)
{
    return (img->channels == 2 || img->channels == 4) && i % img->channels == img->channels - 1u;
}

/* lo..hi of the colour values of the first frame's n samples. */
static void value_range(const mc_image *img, size_t n, struct mapping *m)
{
    bool first = true;

    m->lo = m->hi = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (is_alpha(img, i))
            continue;
        v = value_of(m, raw_sample(img, i));
        if (first || v < m->lo)
            m->lo = v;
        if (first || v > m->hi)
            m->hi = v;
        first = false;
    }
}

static void dicom_mapping(const mc_image *img, const mc_dicom_info *di, struct mapping *m)
{
    unsigned bits = di->bits_stored, high = di->high_bit;

    /* Inconsistent or absent Bits Stored / High Bit: read the whole word. */
    if (bits == 0 || bits > img->bits || high >= img->bits || high + 1u < bits) {
        bits = img->bits;
        high = img->bits - 1u;
    }
    m->shift = high + 1u - bits;
    m->mask = bits >= 32 ? UINT32_MAX : (1u << bits) - 1u;
    m->is_signed = di->pixel_representation == 1;
    if (img->channels == 1) {
        m->dicom_mono = true;
        m->slope = di->rescale_slope != 0.0 && isfinite(di->rescale_slope) ? di->rescale_slope
                                                                           : 1.0;
        m->intercept = isfinite(di->rescale_intercept) ? di->rescale_intercept : 0.0;
        /* PS3.3 C.11.2.1.2.1: "Window Width (0028,1051) shall always be
         * greater than or equal to 1" (for LINEAR); else ignore it. */
        m->window = di->has_window && di->window_width >= 1.0 && isfinite(di->window_center);
        m->center = di->window_center;
        m->width = di->window_width;
        m->invert = strcmp(di->photometric, "MONOCHROME1") == 0;
    }
    m->stretch = img->bits == 16 || m->dicom_mono;
}

/* Fills the 8-bit preview image from the first frame of img. */
static void render(const mc_image *img, mc_image *pv)
{
    size_t n = pv->samples_len; /* 8-bit: one byte per sample */
    struct mapping m;
    mc_dicom_info di;

    memset(&m, 0, sizeof m);
    m.stretch = img->bits == 16;
    if (img->format == MC_FORMAT_DICOM && mc_image_dicom_info(img, &di) == MC_OK)
        dicom_mapping(img, &di, &m);
    if (m.stretch && !m.window)
        value_range(img, n, &m);
    for (size_t i = 0; i < n; i++) {
        uint32_t raw = raw_sample(img, i);
        if (is_alpha(img, i))
            pv->samples[i] = (uint8_t)(img->bits == 8 ? raw : (raw * 255u + 32767u) / 65535u);
        else
            pv->samples[i] = map_sample(&m, raw);
    }
}

mc_err mc_image_preview_png(mc_ctx *ctx, const mc_image *img, uint8_t **png, size_t *png_len)
{
    mc_image *pv = NULL;
    uint32_t frames, h;
    mc_err err;

    /* the preview is an image of its own, under the pixel cap and the
     * admission hook: their refusals' details are this call's only */
    mc__ctx_detail(ctx, "%s", "");
    if (ctx == NULL || img == NULL || png == NULL || png_len == NULL || img->samples == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    frames = img->frames >= 1 ? img->frames : 1;
    if (img->height % frames != 0)
        frames = 1;
    h = img->height / frames; /* the first frame */
    if ((err = mc__image_alloc(ctx, img->width, h, img->channels, 8, &pv)) != MC_OK)
        return err;
    if ((uint64_t)pv->samples_len * (img->bits / 8) > img->samples_len) {
        err = MC_EINVAL;
        goto out;
    }
    render(img, pv);
    err = mc__png_encode(pv, NULL, false, png, png_len);
out:
    mc_image_free(pv); /* wipes: the preview shows patient data */
    return err;
}
