/*
 * A plain PNG's pixels in one pass: the zlib stream of its IDAT chunks
 * inflated by libdeflate in one call, and the rows' filters (PNG §9)
 * undone here.
 *
 * Why. libspng inflates through zlib one row at a time, and zlib's fast
 * loop stops short of every row's end, so about half of each row goes
 * through its slow state machine. A 512x512 8-bit PNG's 256 KiB took
 * 1.0-1.2 ms that way in a fresh process against 0.32-0.43 ms for
 * libdeflate in one call (Debian 12's zlib 1.2.13 and libdeflate 1.14,
 * the Intel host of docs/PERFORMANCE.md): the largest part of the work
 * of `medcrypt encrypt` on such a file, whose goal is 3 ms in all
 * (issue 11, docs/PERFORMANCE.md "Whole process").
 *
 * What libspng still does. Everything but the pixel data: the signature,
 * IHDR and every chunk before the first IDAT are read and checked by
 * libspng before this runs (mc__png_decode), and any file this declines
 * is decoded by libspng as before, which then gives the samples or the
 * refusal and its message. A file both decode has the same samples
 * either way (inflating a deflate stream has one result), and this
 * declines at the first doubt:
 *
 *  - not a plain image medcrypt keeps as stored (gray, gray+alpha, RGB,
 *    RGBA at 8 or 16 bits, not interlaced: the caller's condition);
 *  - IDAT chunks not one run, or one cut short, longer than PNG's 2^31-1
 *    (§5.3) or with a wrong CRC-32;
 *  - anything after the run but an IEND chunk of no data with its CRC
 *    (ancillary chunks there are rare, and libspng's rules for them are
 *    libspng's);
 *  - a zlib stream (RFC 1950/1951) that libdeflate refuses, Adler-32
 *    included (libspng is told to ignore it: such a file is libspng's),
 *    that does not fill the rows exactly or leaves bytes unread;
 *  - a row whose filter type is not one of PNG's five.
 *
 * One difference is kept, knowingly: libdeflate reads a few malformed
 * deflate streams that zlib refuses (a fixed-Huffman block using length
 * symbols 286 or 287, a dynamic block declaring 288 length or 32
 * distance codes, a distance code empty or of one code used through its
 * missing half, a code-length repeat running past the end: a review
 * built each one, tests/test_png_fast.c keeps one). No encoder writes
 * them; telling them apart would take a second inflate. Such a file is
 * read here where libspng alone would refuse it, always to the same
 * samples; the fuzz target holds the two readers to that (the same
 * result, or this one's success where libspng refuses the data).
 *
 * The filtered rows are inflated into the image's own samples, which
 * have room for the rows' filter bytes after them, and each row is
 * undone into its place (no second image-sized buffer: a 2048x2048
 * 16-bit PNG's encrypt peaked at 31 MiB with one). In one call,
 * declining is decided before a single row is undone: libspng then
 * writes every sample anew, and the hasher has been told of none (piece
 * by piece, below, it may have been, and is stopped).
 * tests/test_png_fast.c and fuzz/fuzz_png.c compare the two decoders
 * (mc_ctx's png_no_fast turns this one off).
 *
 * A large image whose digests are hashed while it is decoded is inflated
 * piece by piece first, where ISA-L can be loaded (codec_png_stream.c):
 * the same checks, the rows undone as they come; what that does not
 * take, the one call decides.
 */
#include "internal.h"

#include <libdeflate.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Files taken, for the tests: that mc__png_decode does come here. */
static atomic_ulong taken_count;

unsigned long mc__png_fast_taken(void)
{
    return atomic_load(&taken_count);
}

/* PNG §5.3: a chunk's length is at most 2^31 - 1. */
#define CHUNK_LEN_MAX 0x7fffffffu

/* The run of IDAT chunks from off, which must be one, followed by a
 * bare IEND: their data's total length (0 if declined) and whether the
 * data lies in one piece (a single IDAT chunk). */
static size_t idat_run(const uint8_t *buf, size_t len, size_t off, const uint8_t **one)
{
    mc__png_chunk_view c;
    size_t total = 0, count = 0;

    *one = NULL;
    while (mc__png_chunk_at(buf, len, off, &c) && c.whole && c.len <= CHUNK_LEN_MAX) {
        if (memcmp(c.type, "IDAT", 4) != 0)
            break;
        if (!mc__png_chunk_crc_ok(buf + off, c.len) || total > SIZE_MAX - c.len)
            return 0;
        if (count++ == 0)
            *one = c.type + 4;
        total += c.len;
        off += 12 + (size_t)c.len;
    }
    if (count == 0 || !mc__png_chunk_at(buf, len, off, &c) || !c.whole || c.len != 0 ||
        memcmp(c.type, "IEND", 4) != 0 || !mc__png_chunk_crc_ok(buf + off, 0))
        return 0;
    if (count > 1)
        *one = NULL;
    return total;
}

/* The IDAT chunks' data from off in one buffer (count > 1). */
static void idat_gather(uint8_t *dst, const uint8_t *buf, size_t len, size_t off)
{
    mc__png_chunk_view c;

    while (mc__png_chunk_at(buf, len, off, &c) && memcmp(c.type, "IDAT", 4) == 0) {
        memcpy(dst, c.type + 4, c.len);
        dst += c.len;
        off += 12 + (size_t)c.len;
    }
}

/* PNG §9.4: the predictor of the Paeth filter. */
static inline uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);

    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

/* Undoes one row's filter (PNG §9.2, table 9.1) in place: r holds the
 * row's n filtered bytes, prev the row above already undone, or NULL
 * for the first row (§9.2: a row above the image is all zero bytes). bpp
 * is the bytes per complete pixel, the distance to "a". Inlined for each
 * pixel size (unfilter): with bpp a constant, GCC keeps r[i - bpp] in a
 * register (predictive commoning, -O3) instead of reloading what the
 * loop has just stored, which is the whole cost of Sub, Average and
 * Paeth on a 1-byte pixel. */
static inline __attribute__((always_inline)) void unfilter_bpp(uint8_t type, uint8_t *r,
                                                               const uint8_t *prev, size_t n,
                                                               size_t bpp)
{
    size_t i;

    switch (type) {
    case 1: /* Sub */
        for (i = bpp; i < n; i++)
            r[i] = (uint8_t)(r[i] + r[i - bpp]);
        break;
    case 2: /* Up */
        if (prev != NULL)
            for (i = 0; i < n; i++)
                r[i] = (uint8_t)(r[i] + prev[i]);
        break;
    case 3: /* Average */
        if (prev == NULL) {
            for (i = bpp; i < n; i++)
                r[i] = (uint8_t)(r[i] + (r[i - bpp] >> 1));
            break;
        }
        for (i = 0; i < bpp && i < n; i++)
            r[i] = (uint8_t)(r[i] + (prev[i] >> 1));
        for (; i < n; i++)
            r[i] = (uint8_t)(r[i] + (((unsigned)r[i - bpp] + prev[i]) >> 1));
        break;
    case 4: /* Paeth: with no row above, Paeth(a, 0, 0) is a, as Sub */
        if (prev == NULL) {
            for (i = bpp; i < n; i++)
                r[i] = (uint8_t)(r[i] + r[i - bpp]);
            break;
        }
        for (i = 0; i < bpp && i < n; i++)
            r[i] = (uint8_t)(r[i] + prev[i]);
        for (; i < n; i++)
            r[i] = (uint8_t)(r[i] + paeth(r[i - bpp], prev[i], prev[i - bpp]));
        break;
    default: /* None */
        break;
    }
}

static void unfilter(uint8_t type, uint8_t *r, const uint8_t *prev, size_t n, size_t bpp)
{
    switch (bpp) { /* PNG §7.2: 1, 2, 3, 4, 6 or 8 here */
    case 1:
        unfilter_bpp(type, r, prev, n, 1);
        break;
    case 2:
        unfilter_bpp(type, r, prev, n, 2);
        break;
    case 3:
        unfilter_bpp(type, r, prev, n, 3);
        break;
    case 4:
        unfilter_bpp(type, r, prev, n, 4);
        break;
    default:
        unfilter_bpp(type, r, prev, n, bpp);
        break;
    }
}

void mc__png_undo_row(mc_image *img, size_t y, uint8_t *cur, const uint8_t *prev)
{
    size_t row_len = img->samples_len / img->height, bpp = (size_t)img->channels * (img->bits / 8);
    const uint8_t *src = img->samples + y * (row_len + 1);
    uint8_t *dst = img->samples + y * row_len;

    memcpy(cur, src + 1, row_len);
    unfilter(src[0], cur, prev, row_len, bpp);
    if (img->bits == 16)
        mc__swap16(dst, cur, row_len); /* PNG's big-endian to host order */
    else
        memcpy(dst, cur, row_len);
}

bool mc__png_fast_decode(const uint8_t *buf, size_t len, size_t idat_off, mc_image *img,
                         mc__chunk_hasher **hasher, bool stream, mc_err *err)
{
    struct libdeflate_decompressor *d = NULL;
    const uint8_t *z;
    uint8_t *gathered = NULL, *rows = NULL, *cur, *prev;
    size_t z_len, row_len, raw_len, bpp, in_used = 0, out_used = 0;
    enum libdeflate_result r;
    mc__chunk_hasher *none = NULL;
    bool taken = false;

    *err = MC_OK;
    if (hasher == NULL)
        hasher = &none;
    if (img->height == 0 || img->samples_len % img->height != 0)
        return false;
    row_len = img->samples_len / img->height;
    bpp = (size_t)img->channels * (img->bits / 8);
    if (bpp == 0 || img->samples_len > SIZE_MAX - img->height || row_len > SIZE_MAX / 2)
        return false;
    /* Each row with its filter byte in front: the samples and the room
     * of height bytes after them (mc__image_alloc_room). */
    raw_len = img->samples_len + img->height;
    if ((z_len = idat_run(buf, len, idat_off, &z)) == 0)
        return false;
    /* Two rows, for the one being undone and the one above it (PNG's
     * byte order both: a 16-bit row goes to the samples swapped). */
    if ((rows = malloc(2 * row_len)) == NULL) {
        *err = MC_ENOMEM;
        taken = true;
        goto out;
    }
    if (stream) { /* piece by piece (codec_png_stream.c), where ISA-L loads */
        switch (mc__png_stream_decode(buf, len, idat_off, img, hasher, rows)) {
        case MC__STREAM_TAKEN:
            taken = true;
            atomic_fetch_add(&taken_count, 1);
            goto out;
        case MC__STREAM_ENOMEM:
            *err = MC_ENOMEM;
            taken = true;
            goto out;
        case MC__STREAM_NOT_TAKEN:
            break; /* in one call, below, which decides */
        }
    }
    if (z == NULL) {
        /* Image-sized, filled at once: src/mem.c. A fresh malloc block
         * of a 2048x2048 16-bit CT's 4.7 MB faulted in page by page: its
         * encrypt took 50 ms on the AMD host, 36.5 ms with this block
         * (docs/PERFORMANCE.md, "What each change bought"). */
        if ((gathered = mc__alloc_huge(z_len)) == NULL) {
            *err = MC_ENOMEM;
            taken = true;
            goto out;
        }
        /* under ASan a read past the stream is caught, as in malloc's
         * exact-size block before */
        mc__huge_poison_after(gathered, z_len);
        idat_gather(gathered, buf, len, idat_off);
        z = gathered;
    }
    if ((d = libdeflate_alloc_decompressor()) == NULL) {
        *err = MC_ENOMEM;
        taken = true;
        goto out;
    }
    r = libdeflate_zlib_decompress_ex(d, z, z_len, img->samples, raw_len, &in_used, &out_used);
    if (r != LIBDEFLATE_SUCCESS || in_used != z_len || out_used != raw_len)
        goto out;
    for (size_t y = 0; y < img->height; y++)
        if (img->samples[y * (row_len + 1)] > 4)
            goto out;

    /* From here on the file is this decoder's: nothing below can fail.
     * Row y's filtered bytes start at y * (row_len + 1) + 1 and its
     * samples at y * row_len: each row moves down by y + 1 bytes, into
     * bytes whose filtered content is already used, and ends before the
     * next row's filtered bytes begin. */
    cur = rows;
    prev = NULL;
    for (size_t y = 0; y < img->height; y++) {
        mc__png_undo_row(img, y, cur, prev);
        if (*hasher != NULL)
            mc__chunk_hasher_ready(*hasher, (y + 1) * row_len);
        prev = cur;
        cur = cur == rows ? rows + row_len : rows;
    }
    taken = true;
    atomic_fetch_add(&taken_count, 1);
out:
    libdeflate_free_decompressor(d);
    /* The room after the samples held filtered rows of the image. */
    sodium_memzero(img->samples + img->samples_len, img->height);
    if (rows != NULL) {
        sodium_memzero(rows, 2 * row_len);
        free(rows);
    }
    if (gathered != NULL) {
        sodium_memzero(gathered, z_len);
        mc__free_huge(gathered);
    }
    return taken;
}
