/* PNG through libspng 0.7.3: decode every standard color type and depth to
 * medcrypt's image model, encode gray/GA/RGB/RGBA at 8 or 16 bits, and
 * carry one private chunk (medcrypt's container) right after IHDR.
 *
 * References: PNG Specification, Third Edition (W3C), cited as "PNG §";
 * libspng's docs (decode.md, encode.md, chunk.md). */
#define _GNU_SOURCE /* memmem */
#include "internal.h"

#include <sodium.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h> /* Z_RLE */

/* PNG §5.2: the 8-byte signature. */
const uint8_t mc__png_signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
const uint8_t mc__png_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

bool mc__png_cut_short(const uint8_t *buf, size_t len, mc_err err)
{
    return err == MC_ETAMPERED && buf != NULL &&
           memmem(buf, len, mc__png_iend, sizeof mc__png_iend) == NULL;
}

/* libspng allocates through these: each block remembers its size, so
 * that it is wiped when freed. libspng's row buffers hold plain pixels
 * (a PNG being encrypted, one written after decryption), and plain samples
 * in temporary buffers are wiped on every path (docs/SECURITY.md). The
 * size sits WIPE_HEAD bytes ahead, which keeps malloc's alignment. */
#define WIPE_HEAD 16

/* Set when a block for libspng (or the zlib under it) could not be had on
 * this thread. libspng reports zlib's Z_MEM_ERROR as SPNG_EZLIB_INIT or
 * SPNG_EIDAT_STREAM, not SPNG_EMEM: without this an allocation failure
 * read as "not an image medcrypt can read", "invalid argument", or, for
 * a cipher image, "modified or damaged" (an out-of-memory review).
 * Cleared at the start of each decode and encode. */
static _Thread_local bool alloc_failed;

static void *wipe_malloc(size_t size)
{
    uint8_t *p;

    if (size > SIZE_MAX - WIPE_HEAD || (p = malloc(size + WIPE_HEAD)) == NULL) {
        alloc_failed = true;
        return NULL;
    }
    memcpy(p, &size, sizeof size);
    return p + WIPE_HEAD;
}

static void wipe_free(void *ptr)
{
    uint8_t *p = ptr;
    size_t size;

    if (p == NULL)
        return;
    memcpy(&size, p - WIPE_HEAD, sizeof size);
    sodium_memzero(p, size);
    free(p - WIPE_HEAD);
}

static void *wipe_calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    if ((p = wipe_malloc(n * size)) != NULL)
        memset(p, 0, n * size);
    return p;
}

/* A new block and the old one wiped: realloc would free the old one
 * unwiped where it moves it. */
static void *wipe_realloc(void *ptr, size_t size)
{
    uint8_t *q;
    size_t old;

    if (ptr == NULL)
        return wipe_malloc(size);
    memcpy(&old, (uint8_t *)ptr - WIPE_HEAD, sizeof old);
    if ((q = wipe_malloc(size)) == NULL)
        return NULL;
    memcpy(q, ptr, old < size ? old : size);
    wipe_free(ptr);
    return q;
}

static struct spng_alloc wiping_alloc = {wipe_malloc, wipe_realloc, wipe_calloc, wipe_free};

/* libspng limits (decode.md, "Decoding untrusted files"): the ancillary
 * chunks it knows (text, ICC profiles...) are held in memory, so bound
 * each one and their total. The pixel data is bounded separately by the
 * pixel cap. A plain PNG's kept chunks are at most 8 MiB (png_meta.c).
 * Unknown chunks, a cipher image's own among them, are read through and
 * their CRCs checked, but not held (mc__png_decode): ours holds the
 * encrypted side data, which the writer lets grow to PNG's largest chunk
 * (extra_ok: a multi-image PGM's later images, a DICOM file's elements),
 * and take_chunk copies it from the file once. */
#define CHUNK_SIZE_LIMIT ((size_t)64 << 20)
#define CHUNK_CACHE_LIMIT ((size_t)256 << 20)

/* PNG §11.2.1: width and height are at most 2^31 - 1. */
#define PNG_MAX_DIMENSION 0x7fffffffu

/* Cipher images are noise: filtering cannot predict it and deflate cannot
 * shrink it, so both only cost time (DESIGN §2, "Container"). Since the
 * fiftieth session codec_png_bands.c writes every cipher image's stored
 * blocks itself, with libdeflate's Adler-32 and CRC-32; libspng, with the
 * settings below, only one whose rows are over 16 MiB (ROW_MAX there).
 * Measured on a 2048x2048 16-bit noise image (8 MiB of samples; 2-core
 * dev machine, libspng 0.7.3 + zlib 1.2.13, progressive rows, no
 * filtering, best of 5, three runs):
 *     level 0 (stored):  8404292 bytes,  12-18 ms
 *     level 1:           8405557 bytes, 197-269 ms
 *     (libspng defaults: 8405572 bytes, 338-379 ms)
 * Level 0 is 11-22x faster than level 1 and even 1265 bytes smaller; both
 * are ordinary zlib streams every viewer reads. */
#define FAST_COMPRESSION_LEVEL 0
/* And the smallest deflate state zlib allows (window 512 bytes, memLevel
 * 1): stored blocks use neither the window nor the hash, but zlib
 * allocates both and clears the hash table at every deflateReset. At the
 * defaults (32 KiB window, memLevel 8) that is 26 page faults more per
 * image, each about 12 us on the VM of docs/PERFORMANCE.md: 512x512 8-bit
 * encrypt 11.8-12.3 -> 11.1-11.7 ms (A/B, three rounds of 40). The price
 * is a stored block per row instead of per 32 KiB, 5 bytes each: 263,269
 * -> 265,789 bytes (+1.0 %) for 512x512 8-bit, +0.19 % for 2048x2048
 * 16-bit. */
#define FAST_MEM_LEVEL 1
#define FAST_WINDOW_BITS 9
/* Plain (decrypted) images: the Paeth filter on every row, and zlib's
 * Z_RLE strategy (matches only against the byte before, then Huffman
 * coding; "designed to be almost as fast as Z_HUFFMAN_ONLY, but give
 * better compression for PNG image data", zlib.h). Encoding alone, best
 * of 3, on the VM of docs/PERFORMANCE.md:
 *                           level 2, default strategy    Z_RLE
 *     2048x2048 16-bit CT   148 ms, 3,961,047 bytes      108 ms, 3,941,587
 *     512x512 16-bit CT     8.9 ms,   191,655            7.5 ms,   178,563
 *     512x512 8-bit CT      3.5 ms,    66,241            2.8 ms,    56,642
 *     100x100 RGB image                   410                          277
 * and the large one decodes in 86-109 ms instead of 114. libspng's
 * defaults (level 6, each row filtered five ways to pick one) take 814 ms
 * for 3,888,333 bytes. Paeth rather than that adaptive choice: the same
 * size within 1 % in 70 % of the time (151 against 215 ms at level 2, an
 * earlier session). Up alone encodes the large CT in 78 ms and decodes it in
 * 40, but 1.5-10 % larger on the CTs and 2-4 times on colour images. A
 * smaller window only slows Z_RLE down (zlib slides it more often: 304 ms
 * with 512 bytes), so it keeps zlib's default window and memory level.
 * With Z_RLE the level only has to be above 0. Since the fifty-first
 * session codec_png_bands.c writes every plain image with these settings
 * (in bands, a large one on all cores; until then, from 1 MiB of samples);
 * libspng, with the settings below, only one whose rows are over 16 MiB. */
#define PLAIN_COMPRESSION_LEVEL MC__PNG_PLAIN_LEVEL /* internal.h: codec_png_bands.c too */
#define PLAIN_FILTERS SPNG_FILTER_CHOICE_PAETH
#define PLAIN_STRATEGY MC__PNG_PLAIN_STRATEGY
_Static_assert(MC__PNG_PLAIN_STRATEGY == Z_RLE, "internal.h spells zlib's Z_RLE");

bool mc__png_sniff(const uint8_t *buf, size_t len)
{
    return buf != NULL && len >= sizeof mc__png_signature &&
           memcmp(buf, mc__png_signature, sizeof mc__png_signature) == 0;
}

/* libspng's error codes in medcrypt's terms. Truncation gets its own code
 * so that callers can tell "the download was cut short" from "this was
 * never a valid PNG"; what a damaged cipher image means is the container's
 * decision, not the codec's. */
static mc_err map_spng_error(int e)
{
    switch (e) {
    case SPNG_OK:
        return MC_OK;
    case SPNG_IO_EOF:
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT:
        return MC_ETRUNCATED;
    case SPNG_EMEM:
        return MC_ENOMEM;
    case SPNG_EUSER_WIDTH:
    case SPNG_EUSER_HEIGHT:
    case SPNG_EOVERFLOW:
    case SPNG_ECHUNK_LIMITS: /* an ancillary chunk over CHUNK_*_LIMIT */
        return MC_ETOOBIG;
    default:
        /* CRC mismatch, bad zlib stream, bad or misplaced chunk, invalid
         * IHDR values, ...: not a PNG medcrypt can read. */
        return MC_EFORMAT;
    }
}

/* Where the first IDAT chunk starts, once libspng has read the chunks
 * before it; 0 if the walk meets IEND or the end of buf first. */
static size_t first_idat(const uint8_t *buf, size_t len)
{
    mc__png_chunk_view c;

    for (size_t off = sizeof mc__png_signature; mc__png_chunk_at(buf, len, off, &c) && c.whole;
         off += 12 + (size_t)c.len) {
        if (memcmp(c.type, "IDAT", 4) == 0)
            return off;
        if (memcmp(c.type, "IEND", 4) == 0)
            break;
    }
    return 0;
}

/* libspng accepts a file whose IEND chunk lacks some of its 4 CRC bytes
 * (observed with 0.7.3: a file cut 1 to 4 bytes short decodes without
 * error). Walk the chunk framing (PNG §5.3: length, type, data, CRC) to
 * check that IEND is complete; the CRCs themselves were checked by
 * libspng. Runs after a successful decode, so the framing is known good up
 * to the image data. */
static mc_err check_iend_complete(const uint8_t *buf, size_t len)
{
    size_t off = sizeof mc__png_signature;

    while (len - off >= 8) {
        uint32_t chunk_len = mc__be32(buf + off);
        bool iend = memcmp(buf + off + 4, "IEND", 4) == 0;
        if ((uint64_t)chunk_len + 12 > len - off)
            return MC_ETRUNCATED;
        off += (size_t)chunk_len + 12;
        if (iend)
            return MC_OK;
    }
    return MC_ETRUNCATED;
}

/* The samples medcrypt keeps for each PNG color type (PNG §11.2.1 table
 * 11.1): gray, gray+alpha, RGB, RGBA as stored (SPNG_FMT_PNG: no
 * conversion, 16-bit in host order); gray at 1/2/4 bits scaled to 8 bits
 * by libspng's SPNG_FMT_G8 (v * 255 / (2^depth - 1), PNG §13.12); palette
 * expanded to RGB, or RGBA when a tRNS chunk gives the entries alpha. */
struct png_layout {
    int fmt;
    int flags;
    uint8_t channels, bits;
};

static mc_err layout_of(spng_ctx *sc, const struct spng_ihdr *ihdr, struct png_layout *lay,
                        int *e_out)
{
    struct spng_trns trns;
    int e;

    memset(lay, 0, sizeof *lay);
    switch (ihdr->color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
        lay->channels = 1;
        if (ihdr->bit_depth < 8) {
            lay->fmt = SPNG_FMT_G8;
            lay->bits = 8;
            return MC_OK;
        }
        break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        lay->channels = 2;
        break;
    case SPNG_COLOR_TYPE_TRUECOLOR:
        lay->channels = 3;
        break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
        lay->channels = 4;
        break;
    case SPNG_COLOR_TYPE_INDEXED:
        /* spng_get_trns reads the chunks ahead of the first IDAT. */
        e = spng_get_trns(sc, &trns);
        if (e == SPNG_OK) {
            lay->fmt = SPNG_FMT_RGBA8;
            lay->flags = SPNG_DECODE_TRNS;
            lay->channels = 4;
        } else if (e == SPNG_ECHUNKAVAIL) {
            lay->fmt = SPNG_FMT_RGB8;
            lay->channels = 3;
        } else {
            *e_out = e; /* for the detail */
            return map_spng_error(e);
        }
        lay->bits = 8;
        return MC_OK;
    default:
        return MC_EFORMAT; /* libspng validated IHDR: cannot happen */
    }
    lay->fmt = SPNG_FMT_PNG;
    lay->bits = ihdr->bit_depth; /* 8 or 16 here (PNG §11.2.1) */
    return MC_OK;
}

static bool chunk_type_ok(const char type[5])
{
    /* PNG §5.3: four ASCII letters. */
    for (int i = 0; i < 4; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return type[4] == '\0';
}

/* A cipher image's chunks, each whole up to and including the first
 * IEND, each CRC-32 checked here (libdeflate's, as the rest of medcrypt
 * checks them: mc__png_chunk_crc_ok): then libspng is told not to work
 * them out again (SPNG_CRC_USE for both kinds), which it does with
 * zlib's scalar crc32 (8 % of the CPU of a 2048x2048 16-bit decrypt;
 * its time 22.4 -> 21.6 ms on the AMD host of docs/PERFORMANCE.md, "What
 * each change bought"). Anything else
 * (a chunk cut short, a CRC that fails) and libspng checks every one as
 * before, and refuses the file with its own error; a file both accept is
 * read the same either way. libspng's other checks (a length past
 * 2^31 - 1, chunk order, IHDR's fields) do not depend on the setting.
 * One thing does: libspng 0.7.3 also leaves out the zlib streams'
 * Adler-32 where the action is SPNG_CRC_USE, which the context's
 * SPNG_CTX_IGNORE_ADLER32 (below) does for every cipher image anyway;
 * without that flag the Adler-32 would be checked or not as this says. */
static bool crcs_checked(const uint8_t *buf, size_t len)
{
    mc__png_chunk_view c;

    for (size_t off = sizeof mc__png_signature; mc__png_chunk_at(buf, len, off, &c);
         off += 12 + (size_t)c.len) {
        if (!c.whole || !mc__png_chunk_crc_ok(buf + off, c.len))
            return false;
        if (memcmp(c.type, "IEND", 4) == 0)
            return true;
    }
    return false;
}

/* Copies the first chunk of the given type before IEND, found in the
 * file itself: libspng has read every chunk up to IEND by now, and each
 * one's CRC has been checked, by crcs_checked or else by libspng
 * (SPNG_CRC_ERROR for ancillary chunks too). Not from
 * libspng's list of unknown chunks (SPNG_KEEP_UNKNOWN_CHUNKS), as it
 * was: spng_get_unknown_chunks of libspng 0.7.3 fills in only the
 * list's first entry, so an mcRY chunk after another unknown chunk,
 * which FORMAT.md lets a cipher image carry, read as no chunk at all and
 * the image as "not a medcrypt cipher image" while `medcrypt info` named
 * it one (found by mutation testing, docs/MUTATIONS.md). Present but
 * empty gives a non-NULL 1-byte allocation with len 0, so "absent"
 * stays data == NULL. */
static mc_err take_chunk(const uint8_t *buf, size_t buf_len, const char type[4],
                         uint8_t **data, size_t *len)
{
    mc__png_chunk_view c;

    *data = NULL;
    *len = 0;
    for (size_t off = sizeof mc__png_signature; mc__png_chunk_at(buf, buf_len, off, &c) && c.whole;
         off += 12 + (size_t)c.len) {
        if (memcmp(c.type, "IEND", 4) == 0)
            break;
        if (memcmp(c.type, type, 4) != 0)
            continue;
        if ((*data = malloc(c.len > 0 ? c.len : 1)) == NULL)
            return MC_ENOMEM;
        if (c.len > 0)
            memcpy(*data, c.type + 4, c.len);
        *len = c.len;
        break;
    }
    return MC_OK;
}

/* Decodes the rows of a non-interlaced image one by one (progressive
 * decoding, decode.md), in order, telling the hasher how far the samples
 * are final; 16-bit rows are swapped to host order as they come. */
static mc_err decode_rows(spng_ctx *sc, mc_image *img, int fmt, int flags, bool swap16,
                          mc__chunk_hasher *hasher)
{
    size_t row_len = img->samples_len / img->height;
    struct spng_row_info info;
    int e;

    if ((e = spng_decode_image(sc, NULL, 0, fmt, flags | SPNG_DECODE_PROGRESSIVE)) != SPNG_OK)
        return map_spng_error(e);
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *row = img->samples + (size_t)y * row_len;
        if ((e = spng_get_row_info(sc, &info)) != SPNG_OK)
            return map_spng_error(e);
        if (info.row_num != y)
            return MC_EFORMAT; /* not in order: cannot happen without Adam7 */
        e = spng_decode_row(sc, row, row_len);
        /* SPNG_EOI comes with the last row. */
        if (e != SPNG_OK && !(e == SPNG_EOI && y + 1 == img->height))
            return map_spng_error(e == SPNG_EOI ? SPNG_EIDAT_TOO_SHORT : e);
        if (swap16)
            mc__swap16(row, row, row_len);
        mc__chunk_hasher_ready(hasher, (size_t)(y + 1) * row_len);
    }
    return MC_OK;
}

mc_err mc__png_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out,
                      mc__png_chunk *want)
{
    spng_ctx *sc = NULL;
    struct spng_ihdr ihdr;
    struct png_layout lay;
    mc__chunk_hasher *hasher = NULL;
    mc_image *img = NULL;
    uint8_t *chunk = NULL;
    size_t chunk_len = 0, samples_len, spng_len;
    mc_err err;
    bool swap16, fast, digests, stream;
    int e = SPNG_OK, fmt;

    if (out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    if (want != NULL && !chunk_type_ok(want->type))
        return MC_EINVAL;
    if (!mc__png_sniff(buf, len))
        return MC_EFORMAT;
    /* The zlib stream's Adler-32 is not computed: the CRC-32 of every
     * IDAT chunk, which is checked (libspng's default for critical
     * chunks; below for ours), covers the same bytes compressed and
     * more, and for a cipher image the tag covers the samples. A stream
     * whose chunks arrived intact but whose Adler-32 is wrong was
     * written so by its encoder; its samples are still what the file
     * holds. Wuffs' PNG decoder skips it too by default. The check cost
     * 3 % of a decryption, and 0.16 ms per 512 KiB of samples of a
     * plain PNG encrypted (zlib 1.2.13's scalar Adler-32). */
    alloc_failed = false;
    if ((sc = spng_ctx_new2(&wiping_alloc, SPNG_CTX_IGNORE_ADLER32)) == NULL)
        return MC_ENOMEM;

    /* libspng's own limit on a side is PNG's (§11.2.2); the pixel cap is
     * mc__geometry_check's, after the header is read and before anything
     * is allocated for the image. With the cap as libspng's limit too, a
     * cap below one side (--max-pixels 100 for a 512 x 512 image) was
     * refused by libspng without the size the other readers give (a
     * review). It is set with the chunk limits. */
    if ((e = spng_set_image_limits(sc, PNG_MAX_DIMENSION, PNG_MAX_DIMENSION)) != SPNG_OK ||
        (e = spng_set_chunk_limits(sc, CHUNK_SIZE_LIMIT, CHUNK_CACHE_LIMIT)) != SPNG_OK) {
        err = map_spng_error(e);
        goto out;
    }
    if (want != NULL) {
        /* Refuse a damaged ancillary chunk rather than let libspng drop
         * it silently (its default, decode.md "Error handling"): a cipher
         * image whose chunk was hit must not look like "not a cipher
         * image". Unknown chunks are not kept (libspng's default): ours
         * is read from the file (take_chunk), and kept it was one more
         * copy of the side data, counted against the limits above, which
         * had to grow to the file's length for a PGM of many images to
         * decrypt at all (a review); a 16 MiB PGM of two images decrypted
         * in 177 ms kept, 141 ms not. */
        int action = crcs_checked(buf, len) ? SPNG_CRC_USE : SPNG_CRC_ERROR;
        if ((e = spng_set_crc_action(sc, action, action)) != SPNG_OK) {
            err = map_spng_error(e);
            goto out;
        }
    }
    if ((e = spng_set_png_buffer(sc, buf, len)) != SPNG_OK) {
        err = map_spng_error(e);
        goto out;
    }

    /* IHDR only (chunk.md): the declared size is checked against the pixel
     * cap before anything is allocated for it. */
    if ((e = spng_get_ihdr(sc, &ihdr)) != SPNG_OK) {
        err = map_spng_error(e);
        goto out;
    }
    if ((err = layout_of(sc, &ihdr, &lay, &e)) != MC_OK)
        goto out;
    if ((err = mc__geometry_check(ctx, ihdr.width, ihdr.height, lay.channels, lay.bits,
                                  &samples_len)) != MC_OK)
        goto out;
    /* The layout above and libspng must agree on the size of the output. */
    if ((e = spng_decoded_image_size(sc, lay.fmt, &spng_len)) != SPNG_OK) {
        err = map_spng_error(e);
        goto out;
    }
    if (spng_len != samples_len) {
        err = MC_EFORMAT;
        goto out;
    }

    fast = want == NULL && ihdr.interlace_method == 0 && lay.fmt == SPNG_FMT_PNG &&
           (ctx == NULL || !ctx->png_no_fast);
    /* Room for the filter bytes of the rows inflated in place. */
    if ((err = mc__image_alloc_room(ctx, ihdr.width, ihdr.height, lay.channels, lay.bits,
                                    fast ? ihdr.height : 0, &img)) != MC_OK)
        goto out;
    /* Decodes straight into the image (deinterlacing Adam7 if needed).
     * 16-bit samples as stored (SPNG_FMT_RAW, big-endian), then swapped
     * to host order here in one loop the compiler vectorizes: libspng's
     * own swap (SPNG_FMT_PNG) is a byte loop. */
    swap16 = lay.fmt == SPNG_FMT_PNG && lay.bits == 16;
    fmt = swap16 ? SPNG_FMT_RAW : lay.fmt;
    /* A large PNG to be encrypted has its chunk digests hashed while it
     * is decoded (chunkhash.c); not a cipher image (want), nor Adam7,
     * whose rows come pass by pass. */
    digests = want == NULL && ihdr.interlace_method == 0;
    if (digests)
        hasher = mc__chunk_hasher_for(ctx, img);
    /* A plain image's pixel data in one call (codec_png_fast.c), once
     * libspng has read and checked every chunk before it, as its own
     * decode would first; a file declined there is libspng's, from the
     * first IDAT on. Not a cipher image: its decoding is bound by the
     * stages and the hash, and a refused one has its own messages
     * (container.c). */
    if (fast) {
        size_t idat_off;
        if ((e = spng_decode_chunks(sc)) != SPNG_OK) {
            err = map_spng_error(e);
            goto out;
        }
        idat_off = first_idat(buf, len);
        /* Piece by piece while a hasher takes the rows (codec_png_stream.c). */
        stream = hasher != NULL || (ctx != NULL && ctx->png_stream);
        if (idat_off != 0 && mc__png_fast_decode(buf, len, idat_off, img, &hasher, stream, &err)) {
            if (err != MC_OK)
                goto out;
            goto decoded;
        }
        /* declined after the hasher was told of rows: it was stopped */
        if (digests && hasher == NULL)
            hasher = mc__chunk_hasher_for(ctx, img);
    }
    if (hasher != NULL) {
        if ((err = decode_rows(sc, img, fmt, lay.flags, swap16, hasher)) != MC_OK)
            goto out;
    } else {
        if ((e = spng_decode_image(sc, img->samples, img->samples_len, fmt, lay.flags)) !=
            SPNG_OK) {
            err = map_spng_error(e);
            goto out;
        }
        if (swap16)
            mc__swap16(img->samples, img->samples, img->samples_len);
    }
    /* Read on to IEND (decode.md: spng_decode_chunks), so that a file cut
     * after its image data or a bad CRC there is still an error. */
    if ((e = spng_decode_chunks(sc)) != SPNG_OK) {
        err = map_spng_error(e);
        goto out;
    }
decoded: /* here too when codec_png_fast.c took the pixels and checked IEND */
    if (hasher != NULL) { /* every sample final, by either decoder */
        img->digests = mc__chunk_hasher_finish(hasher, &img->digests_len);
        hasher = NULL;
    }
    if ((err = check_iend_complete(buf, len)) != MC_OK)
        goto out;
    if (want != NULL && (err = take_chunk(buf, len, want->type, &chunk, &chunk_len)) != MC_OK)
        goto out;

    img->format = MC_FORMAT_PNG;
    if (want != NULL) {
        want->data = chunk;
        want->len = chunk_len;
        chunk = NULL;
    }
    *out = img;
    img = NULL;
out:
    /* libspng's "zlib init error" or "IDAT stream error" (or any other)
     * after a block was refused: out of memory, not a bad file. */
    if (err != MC_OK && alloc_failed)
        err = MC_ENOMEM;
    /* An ancillary chunk longer than libspng's limit, in a cipher image:
     * a changed length (one flipped byte), not a large image, which
     * MC_ETOOBIG would tell the caller (with no size in the detail); the
     * container decides what broken means (an API audit). */
    if (err == MC_ETOOBIG && e == SPNG_ECHUNK_LIMITS && want != NULL)
        err = MC_EFORMAT;
    /* libspng's own limits, which no raised cap lifts (mc_ctx_last_cap()
     * stays 0): said, as the other readers say theirs (an API review:
     * "image too large" alone for 2^29 x 1 RGBA pixels of 16 bits, whose
     * rows of 4 GiB overflow libspng's arithmetic, under any cap). IHDR
     * is where libspng read it, the first chunk. */
    if (err == MC_ETOOBIG && e == SPNG_ECHUNK_LIMITS) /* a plain PNG's: not seen so far */
        mc__ctx_detail(ctx, "libspng: %s", spng_strerror(e));
    else if (err == MC_ETOOBIG && e != SPNG_OK && len >= 24)
        mc__ctx_detail(ctx, "%u x %u pixels: more than the PNG reader takes (libspng: %s)",
                       (unsigned)mc__be32(buf + 16), (unsigned)mc__be32(buf + 20),
                       spng_strerror(e));
    /* Why a plain PNG was refused, as the other readers say it: "not an
     * image medcrypt can read" alone left a user with a bad CRC or a
     * missing PLTE guessing (a review). */
    if (err == MC_EFORMAT && want == NULL && e != SPNG_OK)
        mc__ctx_detail(ctx, "libspng: %s", spng_strerror(e));
    mc__chunk_hasher_abort(hasher); /* before the samples it reads go */
    free(chunk);
    mc_image_free(img); /* wipes partially decoded samples */
    spng_ctx_free(sc);
    return err;
}

static int color_type_of(uint8_t channels)
{
    switch (channels) {
    case 1:
        return SPNG_COLOR_TYPE_GRAYSCALE;
    case 2:
        return SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    case 3:
        return SPNG_COLOR_TYPE_TRUECOLOR;
    default:
        return SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    }
}

/* The image must be what its fields say: the encoder reads exactly
 * W·H·C·bits/8 bytes. */
static bool image_consistent(const mc_image *img, size_t *row_len)
{
    uint64_t row, total;

    if (img->samples == NULL || img->width == 0 || img->height == 0 ||
        img->width > PNG_MAX_DIMENSION || img->height > PNG_MAX_DIMENSION ||
        img->channels < 1 || img->channels > 4 || (img->bits != 8 && img->bits != 16))
        return false;
    row = (uint64_t)img->width * img->channels * (img->bits / 8); /* < 2^35 */
    if (row > SIZE_MAX || img->height > UINT64_MAX / row)
        return false;
    total = row * img->height;
    if (total != img->samples_len)
        return false;
    *row_len = (size_t)row;
    return true;
}

/* The extra chunk to write, if any: PNG §5.3, a chunk's length is at
 * most 2^31 - 1. */
static bool extra_ok(const mc__png_chunk *extra)
{
    return extra == NULL || (chunk_type_ok(extra->type) && extra->len <= MC__PNG_MAX_CHUNK &&
                             (extra->data != NULL || extra->len == 0));
}

/* Where libspng's writes go (spng_set_png_stream): the caller's
 * mc_write_fn, piece by piece. */
struct png_sink {
    mc_write_fn write;
    void *user;
    bool failed;
};

static int sink_write(spng_ctx *sc, void *user, void *data, size_t n)
{
    struct png_sink *o = user;

    (void)sc;
    if (o->write(o->user, data, n) != 0) {
        o->failed = true;
        return SPNG_IO_ERROR;
    }
    return 0;
}

/* libspng's error in medcrypt's terms, the sink's own failure first. */
static mc_err encode_error(int e, const struct png_sink *o)
{
    if (o->failed)
        return MC_EIO;
    return e == SPNG_EMEM || alloc_failed ? MC_ENOMEM : MC_EINVAL;
}

static mc_err encode(const mc_image *img, const mc__png_chunk *extra, bool fast,
                     struct png_sink *o)
{
    spng_ctx *sc = NULL;
    struct spng_ihdr ihdr;
    struct spng_unknown_chunk chunk;
    size_t row_len;
    uint8_t *swapped = NULL;
    mc_err err = MC_OK;
    int e;

    if (!image_consistent(img, &row_len) || !extra_ok(extra))
        return MC_EINVAL;
    alloc_failed = false;
    if ((sc = spng_ctx_new2(&wiping_alloc, SPNG_CTX_ENCODER)) == NULL)
        return MC_ENOMEM;

    memset(&ihdr, 0, sizeof ihdr);
    ihdr.width = img->width;
    ihdr.height = img->height;
    ihdr.bit_depth = img->bits;
    ihdr.color_type = (uint8_t)color_type_of(img->channels);
    ihdr.interlace_method = SPNG_INTERLACE_NONE;

#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((e = (call)) != SPNG_OK) {                                                             \
            err = encode_error(e, o);                                                              \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    /* Rows with their filter bytes, plus (stored deflate in IDAT chunks
     * of 8 KiB) about 17 bytes per 8 KiB, the chunk and the headers; a
     * compressed plain image takes less, and more would still fit by
     * growing. */
    TRY(spng_set_png_stream(sc, sink_write, o));
    if (fast) {
        TRY(spng_set_option(sc, SPNG_FILTER_CHOICE, SPNG_FILTER_CHOICE_NONE));
        TRY(spng_set_option(sc, SPNG_IMG_COMPRESSION_LEVEL, FAST_COMPRESSION_LEVEL));
        TRY(spng_set_option(sc, SPNG_IMG_MEM_LEVEL, FAST_MEM_LEVEL));
        TRY(spng_set_option(sc, SPNG_IMG_WINDOW_BITS, FAST_WINDOW_BITS));
    } else {
        TRY(spng_set_option(sc, SPNG_FILTER_CHOICE, PLAIN_FILTERS));
        TRY(spng_set_option(sc, SPNG_IMG_COMPRESSION_LEVEL, PLAIN_COMPRESSION_LEVEL));
        TRY(spng_set_option(sc, SPNG_IMG_COMPRESSION_STRATEGY, PLAIN_STRATEGY));
    }
    TRY(spng_set_ihdr(sc, &ihdr));
    if (extra != NULL) {
        memset(&chunk, 0, sizeof chunk);
        memcpy(chunk.type, extra->type, 4);
        chunk.length = extra->len;
        chunk.data = extra->data; /* only read; must outlive sc (chunk.md) */
        chunk.location = SPNG_AFTER_IHDR;
        TRY(spng_set_unknown_chunks(sc, &chunk, 1));
    }

    /* Row by row from the image's own buffer: no second copy of the
     * samples. PNG §7.1 stores 16-bit samples big-endian: 8-bit rows go
     * as they are, 16-bit rows are swapped here into one row buffer, in
     * a loop the compiler vectorizes, and handed over as SPNG_FMT_RAW
     * (PNG byte order). libspng's own swap (SPNG_FMT_PNG) is a byte
     * loop: a quarter of the encoding time of a 2048×2048 16-bit image.
     * tests/test_codecs.c checks the raw IDAT bytes. */
    if (img->bits == 16 && (swapped = malloc(row_len)) == NULL) {
        err = MC_ENOMEM;
        goto out;
    }
    TRY(spng_encode_image(sc, NULL, 0, SPNG_FMT_RAW,
                          SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE));
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *row = img->samples + (size_t)y * row_len;
        if (swapped != NULL) {
            mc__swap16(swapped, row, row_len);
            row = swapped;
        }
        e = spng_encode_row(sc, row, row_len);
        if (e == SPNG_EOI && y + 1 == img->height)
            break;
        if (e != SPNG_OK) {
            err = encode_error(e, o);
            goto out;
        }
    }
#undef TRY

out:
    if (swapped != NULL) /* a row of a plain image, when decrypting */
        sodium_memzero(swapped, row_len);
    free(swapped);
    spng_ctx_free(sc);
    /* libspng's and zlib's frames below this one held part of a row (a
     * core dump after a decrypt to PNG found 320 bytes of the plain image
     * there: a review); a cipher image (fast) is noise */
    if (!fast)
        mc__stack_wipe();
    return err;
}

/* In bands on up to `threads` threads (codec_png_bands.c); rows over
 * 16 MiB (ROW_MAX there) through libspng: the same settings. */
static mc_err encode_mt(const mc_image *img, const mc__png_chunk *extra, bool fast,
                        unsigned threads, struct png_sink *o)
{
    size_t row_len;

    if (!image_consistent(img, &row_len))
        return MC_EINVAL;
    if (mc__png_bands(img, row_len) == 0)
        return encode(img, extra, fast, o);
    if (!extra_ok(extra))
        return MC_EINVAL;
    return mc__png_encode_bands_to(img, row_len, (uint8_t)color_type_of(img->channels), extra,
                                   fast, threads, o->write, o->user);
}

/* Into one buffer (mc__png_encode_mt), on threads >= 1. */
static mc_err encode_whole(const mc_image *img, const mc__png_chunk *extra, bool fast,
                           unsigned threads, uint8_t **out, size_t *out_len)
{
    mc__buf b = {NULL, 0, 0, false};
    struct png_sink o = {mc__buf_write, &b, false};
    size_t row_len, raw;
    mc_err err;

    if (img == NULL || out == NULL || out_len == NULL)
        return MC_EINVAL;
    /* One buffer sized from the image up front: a cipher image does not
     * compress (its rows with their filter bytes, plus 5 bytes per stored
     * block of up to 64 KiB and 12 per IDAT chunk, or 17 per 8 KiB chunk
     * where libspng writes it); a compressed plain image takes less.
     * libspng's own buffer (SPNG_ENCODE_TO_BUFFER) grows by realloc from
     * nothing: for an 8 MiB cipher image a chain of copies and a page
     * fault per 4 KiB. */
    if (image_consistent(img, &row_len) && (raw = (row_len + 1) * img->height) < SIZE_MAX / 2 &&
        !mc__buf_reserve(&b, raw + raw / 256 + (extra != NULL ? extra->len : 0) + 4096))
        return MC_ENOMEM;
    /* Through the band writer, whatever the threads: the one writer of
     * every PNG (codec_png_bands.c). */
    err = encode_mt(img, extra, fast, threads, &o);
    if (err == MC_EIO && b.nomem)
        err = MC_ENOMEM;
    if (err != MC_OK) {
        mc__buf_wipe(&b); /* part of a plain image, when decrypting */
        return err;
    }
    *out = b.p;
    *out_len = b.len;
    return MC_OK;
}

/* Without threads: the band writer on the calling thread alone. */
mc_err mc__png_encode(const mc_image *img, const mc__png_chunk *extra, bool fast, uint8_t **out,
                      size_t *out_len)
{
    return mc__png_encode_mt(img, extra, fast, 1, out, out_len);
}

mc_err mc__png_encode_to(const mc_image *img, const mc__png_chunk *extra, bool fast,
                         mc_write_fn write, void *user)
{
    return mc__png_encode_mt_to(img, extra, fast, 1, write, user);
}

mc_err mc__png_encode_mt(const mc_image *img, const mc__png_chunk *extra, bool fast,
                         unsigned threads, uint8_t **out, size_t *out_len)
{
    return encode_whole(img, extra, fast, threads > 0 ? threads : 1, out, out_len);
}

mc_err mc__png_encode_mt_to(const mc_image *img, const mc__png_chunk *extra, bool fast,
                            unsigned threads, mc_write_fn write, void *user)
{
    struct png_sink o = {write, user, false};

    if (img == NULL || write == NULL)
        return MC_EINVAL;
    return encode_mt(img, extra, fast, threads > 0 ? threads : 1, &o);
}
