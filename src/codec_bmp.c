/* Microsoft BMP (DIB) files: BITMAPINFOHEADER (Windows 3.x) and its
 * successors BITMAPV2/V3 (52/56 bytes), BITMAPV4HEADER and BITMAPV5HEADER.
 *
 * References: Microsoft Learn, "Bitmap Storage", BITMAPFILEHEADER,
 * BITMAPINFOHEADER, BITMAPV4HEADER, BITMAPV5HEADER (wingdi.h), cited as
 * "BMP:". All integers are little-endian.
 *
 * Read: 1/4/8-bit palette images (expanded: gray if every palette entry
 * the pixels use has R = G = B, else RGB), 16-bit (BI_RGB 5-5-5 and
 * BI_BITFIELDS 5-6-5 or 5-5-5, expanded to 8-bit RGB), 24-bit BGR, 32-bit
 * BGRA/BGRX (BI_RGB or BI_BITFIELDS with the standard masks), bottom-up
 * and top-down. RLE, embedded JPEG/PNG, CMYK and OS/2 headers are
 * refused as MC_EUNSUPPORTED.
 *
 * Decryption must give back the file byte for byte, so what the samples
 * do not say travels as side data (docs/FORMAT.md §3):
 *   MC_SIDE_BMP_HEADER   bytes 0 .. bfOffBits: file header, info header,
 *                        masks, palette and any gap, verbatim;
 *   MC_SIDE_BMP_TRAILER  bytes after the pixel array (ICC profile, junk),
 *                        verbatim, if any;
 *   MC_SIDE_BMP_RESIDUAL the pixel-array bits the samples do not fix:
 *                        XOR of the file's pixel array with the canonical
 *                        one rebuilt from the samples (non-zero row
 *                        padding, unused bits, bit 15 of 5-5-5 pixels,
 *                        the X byte of BGRX with a zero alpha mask, and
 *                        the index chosen among duplicate palette
 *                        colours), as sparse runs; absent when zero. */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define FILE_HEADER_BYTES 14u /* BMP: BITMAPFILEHEADER */

/* BMP: BITMAPINFOHEADER biCompression values. */
enum {
    BI_RGB = 0,
    BI_RLE8 = 1,
    BI_RLE4 = 2,
    BI_BITFIELDS = 3,
    BI_JPEG = 4,
    BI_PNG = 5,
    BI_ALPHABITFIELDS = 6, /* Windows CE; masks as BI_BITFIELDS plus alpha */
    BI_CMYK = 11,
    BI_CMYKRLE8 = 12,
    BI_CMYKRLE4 = 13
};

/* How the pixel array is laid out. */
enum bmp_kind {
    KIND_PALETTE, /* 1, 4, 8 bits: palette indices */
    KIND_555,     /* 16 bits: x rrrrr ggggg bbbbb */
    KIND_565,     /* 16 bits: rrrrr gggggg bbbbb */
    KIND_BGR,     /* 24 bits */
    KIND_BGRX     /* 32 bits: B, G, R, then alpha (or unused) */
};

struct bmp_header {
    uint32_t off;      /* bfOffBits: start of the pixel array */
    uint32_t hdr_size; /* biSize */
    uint32_t width, height;
    bool top_down;     /* negative biHeight */
    uint16_t bpp;
    enum bmp_kind kind;
    bool alpha_mask;   /* 32-bit BI_BITFIELDS with alpha mask 0xff000000 */
    bool bgrx_rgb;     /* 32-bit BI_RGB: the 4th byte may be alpha */
    uint32_t n_colors; /* palette entries the indices may use */
    size_t pal_off;
    uint64_t stride;   /* bytes per row, a multiple of 4 */
    uint64_t array_len;
};

struct palette {
    uint32_t n;
    uint8_t rgb[256][3];
    bool gray; /* every entry the pixels use has R = G = B */
};

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* BMP: biSize tells the header version. 40 BITMAPINFOHEADER, 52 and 56
 * the V2/V3 extensions (masks in the header), 108 V4, 124 V5; 12
 * (BITMAPCOREHEADER) and 64 (OS/2 2.x, or its short form of 16, which
 * ImageMagick writes as "OS/2 2.x") are real but not supported. */
static bool info_size_os2(uint32_t s)
{
    return s == 12 || s == 16 || s == 64;
}

static bool info_size_known(uint32_t s)
{
    return info_size_os2(s) || s == 40 || s == 52 || s == 56 || s == 108 || s == 124;
}

bool mc__bmp_sniff(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len < 2 || buf[0] != 'B' || buf[1] != 'M')
        return false;
    /* Too short to tell: let the decoder call it truncated. */
    return len < FILE_HEADER_BYTES + 4 || info_size_known(mc__le32(buf + FILE_HEADER_BYTES));
}

/* The masks of BI_BITFIELDS: in the 12 (16 for BI_ALPHABITFIELDS) bytes
 * after a 40-byte header, or inside the V2+ headers (BMP: "bV4RedMask").
 * Only the standard layouts are supported. */
static mc_err read_masks(const mc_ctx *ctx, const uint8_t *buf, size_t len,
                         struct bmp_header *h, uint32_t compression, size_t *masks_end)
{
    size_t at = FILE_HEADER_BYTES + 40;
    uint32_t r, g, b, a = 0;
    bool has_a;

    *masks_end = FILE_HEADER_BYTES + h->hdr_size;
    if (h->hdr_size == 40)
        *masks_end += compression == BI_ALPHABITFIELDS ? 16 : 12;
    has_a = h->hdr_size >= 56 || compression == BI_ALPHABITFIELDS;
    /* A 52-byte V2 header holds the R, G and B masks only: with
     * BI_ALPHABITFIELDS the A mask follows it, where it follows the
     * 40-byte header's three (found by fuzz_bmp: read past a 69-byte
     * file). */
    if (*masks_end < at + (has_a ? 16 : 12))
        *masks_end = at + (has_a ? 16 : 12);
    if (*masks_end > len) {
        mc__ctx_detail(ctx, "the file ends inside the bit-field masks");
        return MC_ETRUNCATED;
    }
    r = mc__le32(buf + at);
    g = mc__le32(buf + at + 4);
    b = mc__le32(buf + at + 8);
    if (has_a)
        a = mc__le32(buf + at + 12);
    if (h->bpp == 16 && a == 0 && r == 0x7c00 && g == 0x03e0 && b == 0x001f) {
        h->kind = KIND_555;
        return MC_OK;
    }
    if (h->bpp == 16 && a == 0 && r == 0xf800 && g == 0x07e0 && b == 0x001f) {
        h->kind = KIND_565;
        return MC_OK;
    }
    if (h->bpp == 32 && r == 0x00ff0000 && g == 0x0000ff00 && b == 0x000000ff &&
        (a == 0 || a == 0xff000000)) {
        h->kind = KIND_BGRX;
        h->alpha_mask = a != 0;
        return MC_OK;
    }
    mc__ctx_detail(ctx,
                   "%u-bit bit fields R %08x G %08x B %08x A %08x are not supported "
                   "(only 5-5-5, 5-6-5 and 8-8-8-8)",
                   (unsigned)h->bpp, (unsigned)r, (unsigned)g, (unsigned)b, (unsigned)a);
    return MC_EUNSUPPORTED; /* other masks (or bit counts) */
}

/* Parses and checks the headers in buf[0..len). whole_file: buf is the
 * whole file, so the pixel array and bfSize are checked against len; else
 * buf is a recorded header (MC_SIDE_BMP_HEADER) and must end exactly at
 * bfOffBits. Dimensions are not checked against the pixel cap here. */
static mc_err parse_header(const mc_ctx *ctx, const uint8_t *buf, size_t len, bool whole_file,
                           struct bmp_header *h)
{
    int32_t w, hh;
    uint32_t compression, clr_used, planes;
    size_t data_start;
    mc_err err;

    memset(h, 0, sizeof *h);
    if (len < 2 || buf[0] != 'B' || buf[1] != 'M')
        return MC_EFORMAT;
    if (len < FILE_HEADER_BYTES + 4)
        return MC_ETRUNCATED;
    h->off = mc__le32(buf + 10);
    h->hdr_size = mc__le32(buf + FILE_HEADER_BYTES);
    if (info_size_os2(h->hdr_size)) {
        mc__ctx_detail(ctx, "OS/2 bitmap header (%u bytes) is not supported",
                       (unsigned)h->hdr_size);
        return MC_EUNSUPPORTED; /* 3-byte palette entries, other fields */
    }
    if (!info_size_known(h->hdr_size)) {
        mc__ctx_detail(ctx, "unknown info header size %u", (unsigned)h->hdr_size);
        return MC_EFORMAT;
    }
    if (len < FILE_HEADER_BYTES + (size_t)h->hdr_size) {
        mc__ctx_detail(ctx, "the file ends inside the info header");
        return MC_ETRUNCATED;
    }
    /* BMP: BITMAPFILEHEADER bfSize is the file size. Larger than what we
     * hold: the file was cut (writers that put 0 or less are tolerated;
     * the bytes themselves travel in MC_SIDE_BMP_HEADER). */
    if (whole_file && mc__le32(buf + 2) > len) {
        mc__ctx_detail(ctx, "bfSize says %u bytes, the file has %zu", (unsigned)mc__le32(buf + 2),
                       len);
        return MC_ETRUNCATED;
    }

    /* BMP: BITMAPINFOHEADER. biWidth > 0; biHeight < 0 means top-down
     * (INT32_MIN has no magnitude in 32 bits: refused). */
    w = (int32_t)mc__le32(buf + 18);
    hh = (int32_t)mc__le32(buf + 22);
    planes = le16(buf + 26);
    h->bpp = (uint16_t)le16(buf + 28);
    compression = mc__le32(buf + 30);
    clr_used = mc__le32(buf + 46);
    if (w <= 0 || hh == 0 || hh == INT32_MIN) {
        mc__ctx_detail(ctx, "invalid dimensions %ld x %ld", (long)w, (long)hh);
        return MC_EFORMAT;
    }
    if (planes != 1) {
        mc__ctx_detail(ctx, "biPlanes is %u, not 1", (unsigned)planes);
        return MC_EFORMAT;
    }
    h->width = (uint32_t)w;
    h->top_down = hh < 0;
    h->height = (uint32_t)(hh < 0 ? -hh : hh);

    switch (compression) {
    case BI_RGB:
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS:
        break;
    case BI_RLE8:
    case BI_RLE4:
    case BI_JPEG:
    case BI_PNG:
    case BI_CMYK:
    case BI_CMYKRLE8:
    case BI_CMYKRLE4:
        mc__ctx_detail(ctx, "compression %s is not supported (only uncompressed BI_RGB and "
                            "BI_BITFIELDS)",
                       compression == BI_RLE8   ? "BI_RLE8 (run-length)"
                       : compression == BI_RLE4 ? "BI_RLE4 (run-length)"
                       : compression == BI_JPEG ? "BI_JPEG (embedded JPEG)"
                       : compression == BI_PNG  ? "BI_PNG (embedded PNG)"
                                                : "CMYK");
        return MC_EUNSUPPORTED; /* compressed or CMYK pixel data */
    default:
        mc__ctx_detail(ctx, "unknown compression %u", (unsigned)compression);
        return MC_EFORMAT;
    }

    data_start = FILE_HEADER_BYTES + h->hdr_size;
    switch (h->bpp) {
    case 1:
    case 4:
    case 8:
        if (compression != BI_RGB) {
            mc__ctx_detail(ctx, "bit fields with %u bits per pixel", (unsigned)h->bpp);
            return MC_EFORMAT; /* BMP: bit fields need 16 or 32 bits */
        }
        h->kind = KIND_PALETTE;
        /* BMP: biClrUsed 0 means 2^biBitCount entries; entries past
         * 2^biBitCount cannot be indexed (kept in the header bytes). */
        h->n_colors = clr_used == 0 || clr_used > (1u << h->bpp) ? 1u << h->bpp : clr_used;
        h->pal_off = data_start;
        data_start += (size_t)h->n_colors * 4; /* RGBQUAD: B, G, R, reserved */
        break;
    case 16:
        if (compression == BI_RGB) {
            h->kind = KIND_555; /* BMP: "5 bits for each color, 1 unused" */
        } else if ((err = read_masks(ctx, buf, len, h, compression, &data_start)) != MC_OK) {
            return err;
        }
        break;
    case 24:
        if (compression != BI_RGB) {
            mc__ctx_detail(ctx, "24-bit bit fields are not supported");
            return MC_EUNSUPPORTED;
        }
        h->kind = KIND_BGR;
        break;
    case 32:
        if (compression == BI_RGB) {
            h->kind = KIND_BGRX;
            h->bgrx_rgb = true;
        } else if ((err = read_masks(ctx, buf, len, h, compression, &data_start)) != MC_OK) {
            return err;
        }
        break;
    case 0:  /* BI_JPEG/BI_PNG only */
    case 2:  /* Windows CE */
    case 64: /* scRGB */
        mc__ctx_detail(ctx, "%u bits per pixel is not supported (1, 4, 8, 16, 24, 32 are)",
                       (unsigned)h->bpp);
        return MC_EUNSUPPORTED;
    default:
        mc__ctx_detail(ctx, "invalid bits per pixel %u", (unsigned)h->bpp);
        return MC_EFORMAT;
    }

    if (whole_file && h->off > len) {
        mc__ctx_detail(ctx, "pixel data offset %u is past the end of the file (%zu bytes)",
                       (unsigned)h->off, len);
        return MC_ETRUNCATED;
    }
    /* The masks and the palette lie before the pixel array. */
    if (h->off < data_start || (!whole_file && h->off != len)) {
        mc__ctx_detail(ctx, "pixel data offset %u overlaps the headers or palette",
                       (unsigned)h->off);
        return MC_EFORMAT;
    }
    /* BMP: BITMAPV5HEADER bV5CSType PROFILE_EMBEDDED ('MBED'): the
     * profile lies bV5ProfileData bytes from the info header. */
    if (whole_file && h->hdr_size == 124 && mc__le32(buf + FILE_HEADER_BYTES + 56) == 0x4d424544) {
        uint64_t end = (uint64_t)FILE_HEADER_BYTES + mc__le32(buf + FILE_HEADER_BYTES + 112) +
                       mc__le32(buf + FILE_HEADER_BYTES + 116);
        if (end > len) {
            mc__ctx_detail(ctx, "the embedded ICC profile runs past the end of the file");
            return MC_ETRUNCATED;
        }
    }
    /* BMP: rows are padded to 4 bytes. width < 2^31, bpp <= 32: no
     * overflow; stride * height is formed after the pixel cap. */
    h->stride = (((uint64_t)h->width * h->bpp + 31) / 32) * 4;
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Pixels.                                                             */

static uint32_t index_at(const uint8_t *row, uint32_t x, unsigned bpp)
{
    uint64_t bit = (uint64_t)x * bpp;
    unsigned shift = 8 - bpp - (unsigned)(bit % 8); /* BMP: leftmost pixel in the high bits */
    return (row[bit / 8] >> shift) & ((1u << bpp) - 1);
}

static uint8_t expand5(uint32_t v)
{
    return (uint8_t)(v << 3 | v >> 2);
}

static uint8_t expand6(uint32_t v)
{
    return (uint8_t)(v << 2 | v >> 4);
}

/* One file row to samples. Indices were checked against the palette. */
static void decode_row(const struct bmp_header *h, const struct palette *pal, uint8_t channels,
                       const uint8_t *row, uint8_t *dst)
{
    for (uint32_t x = 0; x < h->width; x++) {
        const uint8_t *p;
        uint32_t v;
        switch (h->kind) {
        case KIND_PALETTE:
            p = pal->rgb[index_at(row, x, h->bpp)];
            if (channels == 1) {
                *dst++ = p[0];
            } else {
                memcpy(dst, p, 3);
                dst += 3;
            }
            break;
        case KIND_555:
        case KIND_565:
            v = le16(row + 2 * (size_t)x);
            if (h->kind == KIND_555) {
                *dst++ = expand5(v >> 10 & 31);
                *dst++ = expand5(v >> 5 & 31);
            } else {
                *dst++ = expand5(v >> 11 & 31);
                *dst++ = expand6(v >> 5 & 63);
            }
            *dst++ = expand5(v & 31);
            break;
        case KIND_BGR:
        case KIND_BGRX:
            p = row + (size_t)x * (h->kind == KIND_BGR ? 3 : 4);
            *dst++ = p[2];
            *dst++ = p[1];
            *dst++ = p[0];
            if (channels == 4)
                *dst++ = p[3];
            break;
        }
    }
}

/* Lowest palette index holding a colour, or -1. Palettes have at most
 * 256 entries: a linear search per distinct miss would do, but images are
 * large, so a small table for gray and a sorted list for colour. */
struct lookup {
    int16_t gray[256];
    uint32_t key[256]; /* R << 16 | G << 8 | B, then index << 24 sorts ties */
    uint32_t n;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void lookup_init(struct lookup *lk, const struct palette *pal)
{
    for (int i = 0; i < 256; i++)
        lk->gray[i] = -1;
    lk->n = pal->n;
    for (uint32_t i = pal->n; i-- > 0;) {
        const uint8_t *c = pal->rgb[i];
        if (c[0] == c[1] && c[1] == c[2])
            lk->gray[c[0]] = (int16_t)i; /* descending: the lowest wins */
    }
    /* Colour in the high 24 bits, index in the low 8: sorting orders
     * equal colours by index. */
    for (uint32_t i = 0; i < pal->n; i++)
        lk->key[i] = (uint32_t)pal->rgb[i][0] << 24 | (uint32_t)pal->rgb[i][1] << 16 |
                     (uint32_t)pal->rgb[i][2] << 8 | i;
    qsort(lk->key, lk->n, sizeof lk->key[0], cmp_u32);
}

static int lookup_rgb(const struct lookup *lk, const uint8_t rgb[3])
{
    uint32_t want = (uint32_t)rgb[0] << 24 | (uint32_t)rgb[1] << 16 | (uint32_t)rgb[2] << 8;
    uint32_t lo = 0, hi = lk->n;

    while (lo < hi) { /* first key >= want */
        uint32_t mid = lo + (hi - lo) / 2;
        if (lk->key[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < lk->n && (lk->key[lo] & 0xffffff00u) == want)
        return (int)(lk->key[lo] & 0xff);
    return -1;
}

/* The canonical file row for samples: lowest palette index of each
 * colour, zero padding and unused bits, bit 15 of 5-5-5 clear, X byte of
 * BGRX zero. False if a sample has no exact representation. */
static bool encode_row(const struct bmp_header *h, const struct lookup *lk, uint8_t channels,
                       const uint8_t *src, uint8_t *row)
{
    memset(row, 0, (size_t)h->stride);
    for (uint32_t x = 0; x < h->width; x++) {
        uint8_t *p;
        int idx;
        uint32_t r, g, b;
        switch (h->kind) {
        case KIND_PALETTE: {
            uint64_t bit = (uint64_t)x * h->bpp;
            idx = channels == 1 ? lk->gray[src[0]] : lookup_rgb(lk, src);
            src += channels;
            if (idx < 0)
                return false;
            row[bit / 8] |= (uint8_t)(idx << (8 - h->bpp - bit % 8));
            break;
        }
        case KIND_555:
        case KIND_565:
            r = src[0] >> 3;
            g = h->kind == KIND_555 ? src[1] >> 3 : src[1] >> 2;
            b = src[2] >> 3;
            if (expand5(r) != src[0] || expand5(b) != src[2] ||
                (h->kind == KIND_555 ? expand5(g) : expand6(g)) != src[1])
                return false;
            put_le16(row + 2 * (size_t)x,
                     h->kind == KIND_555 ? r << 10 | g << 5 | b : r << 11 | g << 5 | b);
            src += 3;
            break;
        case KIND_BGR:
        case KIND_BGRX:
            p = row + (size_t)x * (h->kind == KIND_BGR ? 3 : 4);
            p[0] = src[2];
            p[1] = src[1];
            p[2] = src[0];
            if (channels == 4)
                p[3] = src[3];
            src += channels;
            break;
        }
    }
    return true;
}

/* File row y holds image row y (top-down) or height - 1 - y. */
static size_t image_row(const struct bmp_header *h, uint32_t y)
{
    return h->top_down ? y : h->height - 1 - y;
}

static void read_palette(const uint8_t *buf, const struct bmp_header *h, struct palette *pal)
{
    memset(pal, 0, sizeof *pal);
    pal->n = h->n_colors;
    for (uint32_t i = 0; i < pal->n; i++) {
        const uint8_t *q = buf + h->pal_off + 4 * (size_t)i; /* RGBQUAD */
        pal->rgb[i][0] = q[2];
        pal->rgb[i][1] = q[1];
        pal->rgb[i][2] = q[0];
    }
}

/* The channel count, from the pixels themselves (before any allocation):
 * palette images are gray if every entry the pixels use is gray (and
 * every index must name an entry); 32-bit BI_RGB has alpha unless every
 * 4th byte is zero — BMP: BITMAPINFOHEADER says that byte is "not used",
 * and writers that know nothing of alpha leave it zero, so all-zero is
 * "no alpha" (an image that is all transparent would show nothing). */
static mc_err channels_of(const mc_ctx *ctx, const struct bmp_header *h, const uint8_t *array,
                          struct palette *pal, uint8_t *channels)
{
    bool used[256] = {false};

    switch (h->kind) {
    case KIND_PALETTE:
        for (uint32_t y = 0; y < h->height; y++) {
            const uint8_t *row = array + y * h->stride;
            for (uint32_t x = 0; x < h->width; x++)
                used[index_at(row, x, h->bpp)] = true;
        }
        pal->gray = true;
        for (uint32_t i = 0; i < 256; i++) {
            if (!used[i])
                continue;
            if (i >= pal->n) {
                mc__ctx_detail(ctx, "palette index %u past the %u palette entries", (unsigned)i,
                               (unsigned)pal->n);
                return MC_EFORMAT;
            }
            if (pal->rgb[i][0] != pal->rgb[i][1] || pal->rgb[i][1] != pal->rgb[i][2])
                pal->gray = false;
        }
        *channels = pal->gray ? 1 : 3;
        return MC_OK;
    case KIND_BGRX:
        *channels = 3;
        if (h->alpha_mask) {
            *channels = 4;
        } else if (h->bgrx_rgb) {
            for (uint64_t i = 3; i < h->array_len; i += 4) /* stride = 4·width */
                if (array[i] != 0) {
                    *channels = 4;
                    break;
                }
        }
        return MC_OK;
    default:
        *channels = 3;
        return MC_OK;
    }
}

/* ------------------------------------------------------------------ */
/* The residual record: runs of (gap BE32, length BE32, bytes) over the  */
/* pixel array, XOR of the file's bytes and the canonical ones.          */

struct runs {
    mc__buf b;        /* the record */
    size_t head;      /* offset of the open run's header */
    uint64_t end;     /* pixel-array offset after the open run */
    bool open;
};

#define RUN_MERGE_GAP 8u /* shorter zero gaps join runs (a header is 8 bytes) */

static void runs_close(struct runs *r)
{
    if (r->open)
        mc__put_be32(r->b.p + r->head + 4, (uint32_t)(r->b.len - r->head - 8));
    r->open = false;
}

/* Adds diff[0..n) found at pixel-array offset pos. Offsets fit in 32 bits:
 * the array is at most ~4 · 2^28 bytes under the pixel cap. */
static bool runs_add(struct runs *r, uint64_t pos, const uint8_t *diff, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t at = pos + i;
        if (diff[i] == 0)
            continue;
        if (r->open && at - r->end < RUN_MERGE_GAP) {
            size_t fill = (size_t)(at - r->end);
            if (!mc__buf_reserve(&r->b, fill + 1))
                return false;
            memset(r->b.p + r->b.len, 0, fill);
            r->b.len += fill;
        } else {
            uint64_t prev = r->end;
            runs_close(r);
            if (!mc__buf_reserve(&r->b, 9))
                return false;
            r->head = r->b.len;
            mc__put_be32(r->b.p + r->b.len, (uint32_t)(at - prev));
            r->b.len += 8; /* length filled in by runs_close */
            r->open = true;
        }
        r->b.p[r->b.len++] = diff[i];
        r->end = at + 1;
    }
    return true;
}

/* XORs a residual record into a pixel array; false if malformed. */
static bool runs_apply(const uint8_t *rec, size_t rec_len, uint8_t *array, uint64_t array_len)
{
    uint64_t pos = 0;
    size_t off = 0;

    while (off < rec_len) {
        uint32_t gap, n;
        if (rec_len - off < 8)
            return false;
        gap = mc__be32(rec + off);
        n = mc__be32(rec + off + 4);
        off += 8;
        pos += gap;
        if (n > rec_len - off || pos > array_len || n > array_len - pos)
            return false;
        for (uint32_t i = 0; i < n; i++)
            array[pos + i] ^= rec[off + i];
        off += n;
        pos += n;
    }
    return true;
}

/* ------------------------------------------------------------------ */

mc_err mc__bmp_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out)
{
    struct bmp_header h;
    struct palette pal;
    struct lookup lk;
    struct runs res = {{NULL, 0, 0, false}, 0, 0, false};
    mc_image *img = NULL;
    uint8_t *canon = NULL;
    const uint8_t *array;
    uint8_t channels;
    size_t row_len;
    mc_err err;

    if (out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    if ((err = parse_header(ctx, buf, len, true, &h)) != MC_OK)
        return err;
    /* The pixel cap first (a 100000 x 100000 header in a small file is
     * "too big", not "truncated"), at the fewest channels possible. */
    if ((err = mc__geometry_check(ctx, h.width, h.height, 1, 8, NULL)) != MC_OK)
        return err; /* with the size and the cap as the detail */
    /* BMP: biSizeImage and bfSize are 32-bit, so no BMP pixel array is
     * larger (checked before multiplying: the cap can be raised). */
    if (h.stride > UINT32_MAX / h.height) {
        /* said: "image too large" was all, and it read "(exceeds the
         * pixel cap)" then, under a cap the image does not exceed (found
         * in mutation testing) */
        mc__ctx_detail(ctx, "a BMP's pixel array is at most 4 GiB (its sizes are 32-bit), and %u "
                            "rows of %llu bytes are more",
                       (unsigned)h.height, (unsigned long long)h.stride);
        return MC_ETOOBIG;
    }
    h.array_len = h.stride * h.height;
    if (h.array_len > len - h.off) {
        mc__ctx_detail(ctx, "the pixel array needs %llu bytes from offset %u, the file has %zu",
                       (unsigned long long)h.array_len, (unsigned)h.off, len);
        return MC_ETRUNCATED;
    }
    array = buf + h.off;
    memset(&pal, 0, sizeof pal);
    memset(&lk, 0, sizeof lk);
    if (h.kind == KIND_PALETTE)
        read_palette(buf, &h, &pal);
    if ((err = channels_of(ctx, &h, array, &pal, &channels)) != MC_OK)
        return err;
    if ((err = mc__geometry_check(ctx, h.width, h.height, channels, 8, NULL)) != MC_OK)
        return err;
    if ((err = mc__image_alloc(ctx, h.width, h.height, channels, 8, &img)) != MC_OK)
        return err;
    img->format = MC_FORMAT_BMP;
    row_len = (size_t)h.width * channels;
    if (h.kind == KIND_PALETTE)
        lookup_init(&lk, &pal);
    if ((canon = malloc((size_t)h.stride)) == NULL) {
        err = MC_ENOMEM;
        goto out;
    }

    for (uint32_t y = 0; y < h.height; y++) {
        const uint8_t *row = array + y * h.stride;
        uint8_t *dst = img->samples + image_row(&h, y) * row_len;
        decode_row(&h, &pal, channels, row, dst);
        /* What the samples do not fix: the file row XOR its canonical
         * rebuild (canon is reused for the difference). */
        if (!encode_row(&h, &lk, channels, dst, canon)) {
            err = MC_EFORMAT; /* cannot happen: decoded samples re-encode */
            goto out;
        }
        for (size_t i = 0; i < h.stride; i++)
            canon[i] ^= row[i];
        if (!runs_add(&res, y * h.stride, canon, (size_t)h.stride)) {
            err = MC_ENOMEM;
            goto out;
        }
    }
    runs_close(&res);

    if ((err = mc__side_add(img, MC_SIDE_BMP_HEADER, buf, h.off)) != MC_OK)
        goto out;
    if (len - h.off > h.array_len &&
        (err = mc__side_add(img, MC_SIDE_BMP_TRAILER, array + h.array_len,
                            len - h.off - (size_t)h.array_len)) != MC_OK)
        goto out;
    if (res.b.len > 0 &&
        (err = mc__side_add(img, MC_SIDE_BMP_RESIDUAL, res.b.p, res.b.len)) != MC_OK)
        goto out;
    *out = img;
    img = NULL;
out:
    if (canon != NULL)
        sodium_memzero(canon, (size_t)h.stride); /* a row of patient data */
    free(canon);
    mc__buf_wipe(&res.b);
    mc_image_free(img);
    return err;
}

/* ------------------------------------------------------------------ */
/* Encoding.                                                           */

/* A header for an image that did not come from a BMP file: gray as 8-bit
 * with a gray palette, RGB as 24-bit (both BITMAPINFOHEADER), RGBA as
 * 32-bit BITMAPV4HEADER BI_BITFIELDS with an alpha mask, so that it reads
 * back as RGBA even if every alpha is zero. Bottom-up, 2835 pixels per
 * metre (72 dpi). */
static mc_err canonical_header(const mc_image *img, uint8_t **hdr, size_t *hdr_len)
{
    uint32_t bpp = img->channels == 1 ? 8 : img->channels == 3 ? 24 : 32;
    uint32_t info = img->channels == 4 ? 108 : 40;
    uint32_t n_pal = img->channels == 1 ? 256 : 0;
    uint64_t stride = (((uint64_t)img->width * bpp + 31) / 32) * 4;
    uint64_t array = stride * img->height;
    size_t len = FILE_HEADER_BYTES + info + 4 * (size_t)n_pal;
    uint8_t *p;

    if (img->width > INT32_MAX || img->height > INT32_MAX || array > UINT32_MAX - len)
        return MC_ETOOBIG;
    if ((p = calloc(1, len)) == NULL)
        return MC_ENOMEM;
    p[0] = 'B';
    p[1] = 'M';
    mc__put_le32(p + 2, (uint32_t)(len + array)); /* bfSize */
    mc__put_le32(p + 10, (uint32_t)len);          /* bfOffBits */
    mc__put_le32(p + 14, info);
    mc__put_le32(p + 18, img->width);
    mc__put_le32(p + 22, img->height); /* positive: bottom-up */
    put_le16(p + 26, 1);
    put_le16(p + 28, bpp);
    mc__put_le32(p + 30, img->channels == 4 ? BI_BITFIELDS : BI_RGB);
    mc__put_le32(p + 34, (uint32_t)array);
    mc__put_le32(p + 38, 2835);
    mc__put_le32(p + 42, 2835);
    mc__put_le32(p + 46, n_pal);
    if (img->channels == 4) { /* BMP: BITMAPV4HEADER masks, LCS_sRGB */
        mc__put_le32(p + 54, 0x00ff0000);
        mc__put_le32(p + 58, 0x0000ff00);
        mc__put_le32(p + 62, 0x000000ff);
        mc__put_le32(p + 66, 0xff000000);
        mc__put_le32(p + 70, 0x73524742); /* 'sRGB' */
    }
    for (uint32_t i = 0; i < n_pal; i++)
        p[FILE_HEADER_BYTES + info + 4 * i] = p[FILE_HEADER_BYTES + info + 4 * i + 1] =
            p[FILE_HEADER_BYTES + info + 4 * i + 2] = (uint8_t)i;
    *hdr = p;
    *hdr_len = len;
    return MC_OK;
}

/* Builds the pixel array from the samples (canonical rows), or fails
 * with MC_EFORMAT if a sample cannot be written under this header. */
static mc_err build_array(const struct bmp_header *h, const struct lookup *lk,
                          const mc_image *img, uint8_t *array)
{
    size_t row_len = (size_t)img->width * img->channels;

    for (uint32_t y = 0; y < h->height; y++)
        if (!encode_row(h, lk, img->channels, img->samples + image_row(h, y) * row_len,
                        array + y * h->stride))
            return MC_EFORMAT; /* e.g. a colour the palette lacks */
    return MC_OK;
}

/* Whether an array decodes to the image's samples (after a residual was
 * applied: it must not change what the samples say). */
static mc_err array_matches(const struct bmp_header *h, const struct palette *pal,
                            const mc_image *img, const uint8_t *array, bool *match)
{
    size_t row_len = (size_t)img->width * img->channels;
    uint8_t *tmp;

    *match = true;
    if ((tmp = malloc(row_len)) == NULL)
        return MC_ENOMEM;
    for (uint32_t y = 0; y < h->height && *match; y++) {
        const uint8_t *row = array + y * h->stride;
        if (h->kind == KIND_PALETTE)
            for (uint32_t x = 0; x < h->width; x++)
                if (index_at(row, x, h->bpp) >= pal->n)
                    *match = false;
        if (!*match)
            break;
        decode_row(h, pal, img->channels, row, tmp);
        *match = memcmp(tmp, img->samples + image_row(h, y) * row_len, row_len) == 0;
    }
    sodium_memzero(tmp, row_len);
    free(tmp);
    return MC_OK;
}

mc_err mc__bmp_encode(const mc_image *img, uint8_t **out, size_t *out_len)
{
    struct bmp_header h;
    struct palette pal;
    struct lookup lk;
    const uint8_t *rec_hdr = NULL, *trailer = NULL, *res = NULL;
    size_t hdr_len = 0, trailer_len = 0, res_len = 0, total = 0;
    uint8_t *own_hdr = NULL, *file = NULL, *array;
    const uint8_t *hdr;
    mc_err err;

    if (img == NULL || out == NULL || out_len == NULL || img->samples == NULL ||
        img->width == 0 || img->height == 0 ||
        img->samples_len != (size_t)img->width * img->height * img->channels * (img->bits / 8))
        return MC_EINVAL;
    if (img->bits != 8 || img->channels == 2)
        return MC_EUNSUPPORTED; /* BMP has no 16-bit samples, no gray+alpha */

    if (mc__side_find(img->side, img->side_len, MC_SIDE_BMP_HEADER, &rec_hdr, &hdr_len)) {
        hdr = rec_hdr;
    } else {
        if ((err = canonical_header(img, &own_hdr, &hdr_len)) != MC_OK)
            return err;
        hdr = own_hdr;
    }
    /* The recorded header must describe this image: it was read from the
     * file these samples came from. */
    if ((err = parse_header(NULL, hdr, hdr_len, false, &h)) != MC_OK)
        goto out;
    if (h.width != img->width || h.height != img->height ||
        (h.kind == KIND_PALETTE && img->channels == 4) ||
        (h.kind == KIND_BGRX && img->channels == 1) ||
        ((h.kind == KIND_BGR || h.kind == KIND_555 || h.kind == KIND_565) && img->channels != 3) ||
        (h.alpha_mask && img->channels != 4)) {
        err = MC_EFORMAT;
        goto out;
    }
    memset(&pal, 0, sizeof pal);
    memset(&lk, 0, sizeof lk);
    if (h.kind == KIND_PALETTE) {
        read_palette(hdr, &h, &pal);
        lookup_init(&lk, &pal);
    }
    if (h.stride > UINT32_MAX / h.height) { /* as in mc__bmp_decode */
        err = MC_ETOOBIG;
        goto out;
    }
    h.array_len = h.stride * h.height;
    mc__side_find(img->side, img->side_len, MC_SIDE_BMP_TRAILER, &trailer, &trailer_len);
    if (h.array_len > SIZE_MAX - hdr_len - trailer_len) {
        err = MC_ETOOBIG;
        goto out;
    }
    total = hdr_len + (size_t)h.array_len + trailer_len;
    /* Image-sized: huge pages, not a fault per 4 KiB (src/mem.c). */
    if ((file = mc__alloc_huge(total)) == NULL) {
        err = MC_ENOMEM;
        goto out;
    }
    memcpy(file, hdr, hdr_len);
    array = file + hdr_len;
    if ((err = build_array(&h, &lk, img, array)) != MC_OK)
        goto out;
    if (mc__side_find(img->side, img->side_len, MC_SIDE_BMP_RESIDUAL, &res, &res_len)) {
        bool match;
        if (!runs_apply(res, res_len, array, h.array_len)) {
            err = MC_EFORMAT;
            goto out;
        }
        /* A residual never changes what the samples say; if the caller
         * changed the samples since decoding, the samples win. */
        if ((err = array_matches(&h, &pal, img, array, &match)) != MC_OK)
            goto out;
        if (!match && (err = build_array(&h, &lk, img, array)) != MC_OK)
            goto out;
    }
    if (trailer_len > 0)
        memcpy(array + h.array_len, trailer, trailer_len);
    *out = file;
    *out_len = total;
    file = NULL;
out:
    if (file != NULL) {
        sodium_memzero(file, total);
        free(file);
    }
    free(own_hdr);
    return err;
}
