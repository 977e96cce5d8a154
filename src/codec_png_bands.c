/*
 * PNGs in bands: plain ones filtered and deflated, large ones on all
 * cores; cipher ones stored.
 *
 * Decrypting a PNG (or a JPEG, which comes back as a PNG of its pixels)
 * ends in writing the plain image as a PNG, and that is most of the
 * command: filtering every row and deflating the result. Encrypting ends
 * in writing the cipher image, noise that is stored rather than
 * compressed, but still copied, checksummed (Adler-32 of the stream,
 * CRC-32 of every chunk) and, for 16-bit samples, byte-swapped. libspng's
 * encoder does either on one core, as one zlib stream fed row by row.
 *
 * A deflate stream (RFC 1951) can be cut into pieces made independently
 * and concatenated, as pigz does: each compressed piece but the last ends
 * with a sync flush, an empty stored block (§3.2.4) that leaves it on a
 * byte boundary without ending the stream; stored blocks are on one
 * already. The zlib stream's Adler-32 (RFC 1950 §2.2) is combined from
 * the pieces' own (adler32_combine). So every image is cut into bands of
 * whole rows, about BAND_BYTES each, on one thread per four bands at
 * most (a plain image), and a cipher image's on the calling thread alone
 * under MC__PNG_STORED_BANDS_MIN (internal.h).
 *
 * Until the fifty-first session a plain image under 1 MiB of samples,
 * and any plain image written without threads (mc__png_encode: the
 * previews), went through libspng's encoder instead, with the same
 * filter and zlib settings: the tenth session had found this writer
 * slower there (a 512x512 8-bit decrypt 7.9 -> 8.7 ms), its band-sized
 * buffers costing page faults at 4 us each on that machine. Since then
 * its checksums are libdeflate's, where zlib's (and libspng's) are
 * scalar code, and a band is filtered and deflated a slice of rows
 * (SLICE_BYTES) at a time, so its buffer of filtered rows is 32 KiB, not
 * 256 (a row, where one is longer). Its Paeth filter is a loop the
 * compiler vectorizes in 16-bit lanes; libspng's is a byte loop. On the
 * Intel host of the fifty-first session, alternating runs, the whole
 * `medcrypt decrypt` of the 512x512 8-bit CT's cipher image took
 * 4.5-4.7 ms against 5.4-5.6 ms, the 16-bit CT's 9.5-10.5 against
 * 11.7-12.6 ms (20 page faults more, 222), and each decrypted file came
 * out a little smaller (an IDAT chunk per band, not per 8 KiB).
 *
 * The checksums are libdeflate's (the same values as zlib's, in SIMD:
 * on the Intel host of the fiftieth session an 8 MiB cipher image's
 * Adler-32 and CRC-32 had been about 4 ms of zlib's in a 26 ms encrypt
 * of the 2048x2048 PGM; 21.5-23.4 ms against 26.0-31.1 ms since,
 * alternating runs).
 *
 * Whichever thread takes a band filters its rows and deflates them (a
 * plain image), or copies them into stored blocks (a cipher image), and
 * computes the band's Adler-32 and the CRC-32 of the IDAT chunk that will
 * carry it. The bands are taken in order, and the calling thread writes
 * the chunks in order as they become ready, between its own bands: the
 * write function is only ever called by the caller, and the other
 * threads wait rather than run more than a few bands ahead of it, so
 * only a few finished bands wait in memory.
 *
 * The file depends only on the image, never on the thread count: the
 * bands are the same on one thread. Its settings are codec_png.c's: for
 * a plain image PNG §9 filter type 4 (Paeth) on every row, zlib level 2,
 * strategy Z_RLE, 32 KiB window (MC__PNG_PLAIN_* in internal.h). With
 * Z_RLE a match reaches only the byte before, so a band compressed on its
 * own loses one match at its start, and its block header: a few bytes.
 * For a cipher image no filtering (type 0) and stored blocks, as zlib's
 * level 0 writes them.
 *
 * The filtered rows and the deflate state hold plain image bytes: they
 * are wiped before they are freed (zlib's state through an allocator
 * that wipes, since zlib frees it without).
 */
#include "internal.h"

#include <libdeflate.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Rows per band: about this many bytes. Small enough for 16 threads to
 * share a 2048x2048 16-bit image (32 bands), large enough that each
 * band's own block header and deflate call cost nothing. */
#define BAND_BYTES ((size_t)256 << 10)
/* A plain band is filtered and deflated a slice of whole rows of about
 * this many bytes at a time (a row wider than that alone). */
#define SLICE_BYTES ((size_t)32 << 10)
/* The widest row written in bands, a band of its own: its IDAT chunk
 * stays well under the 64 MiB a reader may take (codec_png.c's
 * CHUNK_SIZE_LIMIT), and its bytes go to zlib in one call (uInt). */
#define ROW_MAX ((size_t)16 << 20)
/* Around a band's compressed bytes: the chunk's length and type before,
 * the zlib header (first band), the Adler-32 (last band) and the CRC-32
 * after. */
#define CHUNK_ROOM (8 + 2 + 4 + 4)
/* RFC 1951 §3.2.4: a stored block holds at most 65535 bytes, after a
 * header byte (BFINAL, BTYPE 00) and LEN, NLEN (16-bit little-endian). */
#define STORED_MAX 65535u
#define STORED_HEAD 5u

size_t mc__png_bands_room_test; /* internal.h */

struct out_buf {
    uint8_t *p;
    size_t cap;
    /* The most bytes a band has put in it: what is wiped at the end,
     * not the whole capacity, whose untouched pages wiping would fault
     * in (a plain band compresses to about half its bound; a kept
     * block's other bytes were wiped by its last owner). */
    size_t used;
};

/* One band's chunk, ready to be written. */
struct band {
    struct out_buf buf; /* length, "IDAT", data; CRC added when written */
    size_t data_len;    /* the chunk's data so far */
    uint32_t crc;       /* CRC-32 of "IDAT" and the data so far */
    uint32_t adler;     /* Adler-32 of the band's filtered bytes */
    size_t raw_len;     /* its filtered bytes */
    bool ready;         /* under lock */
};

/* One thread's scratch, used by that thread only. */
struct lane {
    z_stream z;
    bool z_ready;
    uint8_t *filtered; /* a slice's rows, each after its filter byte */
    size_t filtered_used; /* the most bytes put in filtered */
    uint8_t *swapped;  /* 16-bit: rows in PNG byte order (two to filter) */
};

struct job {
    const mc_image *img;
    bool stored; /* a cipher image: no filter, stored blocks */
    size_t row_len, band_rows, slice_rows, bands, bpp, filtered_cap, out_cap;
    const uint8_t *zero_row; /* the "row" above the first one (PNG §9.2) */
    struct band *band;
    struct lane lane[MC_MAX_THREADS];
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a band finished, or written, or failed */
    size_t ahead;           /* how far past the next to write a thread may go */
    struct out_buf *spare;  /* written bands' buffers, for the next ones */
    bool kept;              /* the buffers from mc__alloc_huge (below) */
    size_t spares;          /* under lock */
    size_t written;         /* bands written (under lock: wait_turn reads it) */
    atomic_int err;         /* the first failure, MC_OK until then */
    atomic_size_t next;     /* the next band to take */
    /* The caller's alone: */
    mc_write_fn write;
    void *user;
    uint32_t adler; /* of the bands written */
};

static voidpf zalloc_wiped(voidpf opaque, uInt items, uInt size)
{
    size_t n = (size_t)items * size;
    max_align_t *p;

    (void)opaque;
    if (size != 0 && n / size != items)
        return Z_NULL;
    if ((p = malloc(sizeof *p + n)) == NULL)
        return Z_NULL;
    memcpy(p, &n, sizeof n);
    return p + 1;
}

static void zfree_wiped(voidpf opaque, voidpf ptr)
{
    max_align_t *p = (max_align_t *)ptr - 1;
    size_t n;

    (void)opaque;
    memcpy(&n, p, sizeof n);
    sodium_memzero(ptr, n);
    free(p);
}

static void fail(struct job *j, mc_err err)
{
    int expected = MC_OK;

    pthread_mutex_lock(&j->lock);
    atomic_compare_exchange_strong(&j->err, &expected, (int)err);
    pthread_cond_broadcast(&j->changed); /* no one waits for what will not come */
    pthread_mutex_unlock(&j->lock);
}

/* PNG §9.4, filter type 4 on one row: raw and prior in PNG byte order
 * (prior all zero above the first row), bpp bytes per complete pixel.
 * Each output byte depends only on the unfiltered rows, so the loop has
 * no carried dependency and the compiler vectorizes it. In 16-bit
 * arithmetic, which holds every value (|a + b - 2c| <= 510): with ints
 * GCC widened each byte to a 32-bit lane, and the loop took 2.4 times as
 * long (a test program, 512 KiB of rows: 770 against 320 us, SSE2). */
static void paeth_row(uint8_t *out, const uint8_t *raw, const uint8_t *prior, size_t len,
                      size_t bpp)
{
    size_t i;

    /* a = c = 0 left of the row: the predictor is b */
    for (i = 0; i < bpp && i < len; i++)
        out[i] = (uint8_t)(raw[i] - prior[i]);
    for (; i < len; i++) {
        int16_t a = raw[i - bpp], b = prior[i], c = prior[i - bpp];
        /* p = a + b - c; the distances |p - a| = |b - c|, |p - b| =
         * |a - c|, |p - c| = |(b - c) + (a - c)| */
        int16_t pa = (int16_t)(b - c), pb = (int16_t)(a - c), pc = (int16_t)(pa + pb), pred;
        pa = pa < 0 ? (int16_t)-pa : pa;
        pb = pb < 0 ? (int16_t)-pb : pb;
        pc = pc < 0 ? (int16_t)-pc : pc;
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        out[i] = (uint8_t)(raw[i] - pred);
    }
}

/* Rows y0 to y1 (not included), filtered, into the lane's buffer; their
 * byte count. */
static size_t filter_rows(const struct job *j, struct lane *l, size_t y0, size_t y1)
{
    const mc_image *img = j->img;
    uint8_t *o = l->filtered;
    const uint8_t *prior;

    if (img->bits == 16) {
        /* PNG §7.1: 16-bit samples big-endian; the image holds them in
         * host order. The row above the slice is swapped again here.
         * (l->swapped exists for 16-bit images only: no pointer is made
         * from it for 8-bit ones, NULL + row_len being undefined, which
         * the fuzz build's UBSan caught.) */
        uint8_t *prev_be = l->swapped, *cur_be = l->swapped + j->row_len;
        if (y0 > 0)
            mc__swap16(prev_be, img->samples + (y0 - 1) * j->row_len, j->row_len);
        prior = y0 > 0 ? prev_be : j->zero_row;
        for (size_t y = y0; y < y1; y++) {
            uint8_t *t;
            mc__swap16(cur_be, img->samples + y * j->row_len, j->row_len);
            *o++ = 4;
            paeth_row(o, cur_be, prior, j->row_len, j->bpp);
            o += j->row_len;
            prior = cur_be;
            t = prev_be, prev_be = cur_be, cur_be = t;
        }
    } else {
        prior = y0 > 0 ? img->samples + (y0 - 1) * j->row_len : j->zero_row;
        for (size_t y = y0; y < y1; y++) {
            const uint8_t *raw = img->samples + y * j->row_len;
            *o++ = 4;
            paeth_row(o, raw, prior, j->row_len, j->bpp);
            o += j->row_len;
            prior = raw;
        }
    }
    if ((size_t)(o - l->filtered) > l->filtered_used)
        l->filtered_used = (size_t)(o - l->filtered);
    return (size_t)(o - l->filtered);
}

static bool lane_ready(struct job *j, struct lane *l)
{
    if (j->img->bits == 16 && l->swapped == NULL &&
        (l->swapped = malloc(2 * j->row_len)) == NULL)
        return false;
    if (j->stored)
        return true;
    if (l->filtered == NULL && (l->filtered = malloc(j->filtered_cap)) == NULL)
        return false;
    if (!l->z_ready) {
        l->z.zalloc = zalloc_wiped;
        l->z.zfree = zfree_wiped;
        l->z.opaque = Z_NULL;
        /* raw deflate (negative window bits): the caller writes the
         * zlib header and the combined Adler-32 */
        if (deflateInit2(&l->z, MC__PNG_PLAIN_LEVEL, Z_DEFLATED, -15, 8,
                         MC__PNG_PLAIN_STRATEGY) != Z_OK)
            return false;
        l->z_ready = true;
    } else if (deflateReset(&l->z) != Z_OK) {
        return false;
    }
    return true;
}

/* Notes that a band put n bytes in buf (its chunk: length, type, data,
 * the Adler-32 of the last band, CRC), for the wipe at the end. */
static void note_used(struct out_buf *buf, size_t n)
{
    if (n > buf->cap)
        n = buf->cap;
    if (n > buf->used)
        buf->used = n;
}

/* A cipher image's chunk buffers on one thread are filled whole at once,
 * one or two of them at a time: from mc__alloc_huge, they follow the
 * huge-page line (a 2 MiB page where small pages are dear, pre-faulted
 * small pages where not) and go back to its kept blocks for the next
 * image. In a process's first image, a malloc block's pages were fresh
 * ones, each paying its first write (docs/PERFORMANCE.md, fifty-second
 * session: 512x512 8-bit encrypt 7.14 -> 6.18 ms on the AMD host). A
 * plain band fills about half of its bound, and bands on several threads
 * keep up to `ahead` buffers alive, each a 2 MiB page where pages are
 * dear: those stay malloc blocks. */
static void *buf_alloc(const struct job *j, size_t n)
{
    return j->kept ? mc__alloc_huge(n) : malloc(n);
}

static void buf_free(const struct job *j, void *p)
{
    if (j->kept)
        mc__free_huge(p);
    else
        free(p);
}

static bool take_buffer(struct job *j, struct out_buf *buf)
{
    pthread_mutex_lock(&j->lock);
    if (j->spares > 0)
        *buf = j->spare[--j->spares];
    pthread_mutex_unlock(&j->lock);
    if (buf->p != NULL)
        return true;
    buf->cap = j->out_cap;
    return (buf->p = buf_alloc(j, buf->cap)) != NULL;
}

/* Runs deflate over the lane's input with flush. zlib's bound (room,
 * the band's out_cap) is never exceeded in practice; if it were, the room
 * doubles. The room, not the buffer's size, is what zlib is given: a
 * spare buffer taken from another band may be larger, and a flush split
 * across calls for want of output space puts one more empty stored block
 * in the stream (zlib.h, deflate), so the bytes would depend on which
 * thread took which band (a review, with a tiny room forced). */
static bool deflate_some(struct band *bd, struct lane *l, int flush, size_t *room)
{
    for (;;) {
        size_t used;
        uint8_t *p;
        int zr = deflate(&l->z, flush);

        if (zr == Z_STREAM_ERROR)
            return false;
        /* zlib.h: done at Z_STREAM_END (Z_FINISH), or with output space
         * left (Z_NO_FLUSH: all input taken; Z_SYNC_FLUSH) */
        if (flush == Z_FINISH ? zr == Z_STREAM_END : l->z.avail_out > 0)
            return true;
        if (l->z.avail_out > 0)
            return false; /* Z_FINISH short of the end with room left: never */
        used = (size_t)(l->z.next_out - bd->buf.p);
        if (*room > (size_t)UINT_MAX / 2)
            return false;
        *room *= 2;
        if (bd->buf.cap < *room) {
            /* wiping the old block, as realloc would not */
            if ((p = malloc(*room)) == NULL) /* a plain band's: never kept (buf_alloc) */
                return false;
            memcpy(p, bd->buf.p, used);
            sodium_memzero(bd->buf.p, used > bd->buf.used ? used : bd->buf.used);
            free(bd->buf.p);
            bd->buf.p = p;
            bd->buf.cap = *room;
            bd->buf.used = used;
        }
        l->z.next_out = bd->buf.p + used;
        l->z.avail_out = (uInt)(*room - used - 8);
    }
}

/* Filters band b's rows and deflates them into its chunk, a slice of
 * rows at a time (SLICE_BYTES): the lane's buffer for the filtered rows
 * stays in the cache, and few pages are touched for it. zlib's output
 * does not depend on how its input is cut, so the band's bytes are those
 * of one deflate call over all its rows, which test_png_bands checks. */
static bool deflate_band(struct job *j, struct lane *l, size_t b)
{
    struct band *bd = &j->band[b];
    bool last = b + 1 == j->bands;
    size_t start = 8, y = b * j->band_rows, y_end = y + j->band_rows, room = j->out_cap;

    if (y_end > j->img->height)
        y_end = j->img->height;
    if (!take_buffer(j, &bd->buf))
        return false;
    memcpy(bd->buf.p + 4, "IDAT", 4);
    if (b == 0) {
        /* RFC 1950 §2.2: deflate with a 32 KiB window (0x78); FLEVEL 0,
         * as zlib writes it for Z_RLE; (0x7801 % 31) == 0 */
        bd->buf.p[8] = 0x78;
        bd->buf.p[9] = 0x01;
        start += 2;
    }
    l->z.next_out = bd->buf.p + start;
    l->z.avail_out = (uInt)(room - start - 8);
    bd->adler = 1;
    bd->raw_len = 0;
    while (y < y_end) {
        size_t y1 = y + j->slice_rows < y_end ? y + j->slice_rows : y_end;
        size_t n = filter_rows(j, l, y, y1);

        l->z.next_in = l->filtered;
        l->z.avail_in = (uInt)n;
        if (!deflate_some(bd, l, y1 < y_end ? Z_NO_FLUSH : last ? Z_FINISH : Z_SYNC_FLUSH,
                          &room))
            return false;
        bd->adler = libdeflate_adler32(bd->adler, l->filtered, n);
        bd->raw_len += n;
        y = y1;
    }
    bd->data_len = (size_t)(l->z.next_out - bd->buf.p) - 8;
    note_used(&bd->buf, 8 + bd->data_len + 8);
    bd->crc = libdeflate_crc32(0, bd->buf.p + 4, 4 + bd->data_len);
    return true;
}

/* Stored blocks being written: where the next byte goes, how many the
 * open block still takes, and how many of the band come after it. */
struct stored {
    uint8_t *o;
    size_t in_block, left;
    bool final; /* the stream's last band: its last block ends it */
};

static void stored_put(struct stored *s, const uint8_t *src, size_t n)
{
    while (n > 0) {
        size_t k;

        if (s->in_block == 0) {
            size_t len = s->left < STORED_MAX ? s->left : STORED_MAX;
            s->o[0] = s->final && len == s->left;
            s->o[1] = (uint8_t)len;
            s->o[2] = (uint8_t)(len >> 8);
            s->o[3] = (uint8_t)~len;
            s->o[4] = (uint8_t)(~len >> 8);
            s->o += STORED_HEAD;
            s->in_block = len;
            s->left -= len;
        }
        k = n < s->in_block ? n : s->in_block;
        memcpy(s->o, src, k);
        s->o += k;
        src += k;
        n -= k;
        s->in_block -= k;
    }
}

/* Band b's rows, each after filter type 0 (PNG §9.2: none), into stored
 * blocks in its chunk. */
static bool store_band(struct job *j, struct lane *l, size_t b)
{
    static const uint8_t none = 0;
    const mc_image *img = j->img;
    struct band *bd = &j->band[b];
    size_t y0 = b * j->band_rows, y1 = y0 + j->band_rows;
    struct stored s;
    uint8_t *start;
    uint32_t adler = 1; /* RFC 1950 §2.2: s1 starts at 1, s2 at 0 */

    if (y1 > img->height)
        y1 = img->height;
    if (!take_buffer(j, &bd->buf))
        return false;
    memcpy(bd->buf.p + 4, "IDAT", 4);
    s.o = bd->buf.p + 8;
    if (b == 0) { /* RFC 1950 §2.2, as for the plain images */
        *s.o++ = 0x78;
        *s.o++ = 0x01;
    }
    start = s.o;
    s.in_block = 0;
    s.left = bd->raw_len = (y1 - y0) * (j->row_len + 1);
    s.final = b + 1 == j->bands;
    for (size_t y = y0; y < y1; y++) {
        const uint8_t *row = img->samples + y * j->row_len;
        if (img->bits == 16) { /* PNG §7.1: big-endian */
            mc__swap16(l->swapped, row, j->row_len);
            row = l->swapped;
        }
        stored_put(&s, &none, 1);
        stored_put(&s, row, j->row_len);
    }
    /* the Adler-32 of the stored bytes, block by block */
    for (const uint8_t *p = start; p < s.o;) {
        size_t len = (size_t)p[1] | (size_t)p[2] << 8;
        adler = libdeflate_adler32(adler, p + STORED_HEAD, len);
        p += STORED_HEAD + len;
    }
    bd->adler = adler;
    bd->data_len = (size_t)(s.o - bd->buf.p) - 8;
    note_used(&bd->buf, 8 + bd->data_len + 8);
    bd->crc = libdeflate_crc32(0, bd->buf.p + 4, 4 + bd->data_len);
    return true;
}

static bool write_all(struct job *j, const uint8_t *p, size_t n)
{
    if (j->write(j->user, p, n) != 0) {
        fail(j, MC_EIO);
        return false;
    }
    return true;
}

/* The caller's: writes the ready bands that come next, in order. */
static void drain(struct job *j)
{
    for (;;) {
        struct band *bd;
        uint8_t *p;
        size_t len;

        pthread_mutex_lock(&j->lock);
        bd = j->written < j->bands && j->band[j->written].ready ? &j->band[j->written] : NULL;
        pthread_mutex_unlock(&j->lock);
        if (bd == NULL)
            return;
        p = bd->buf.p;
        if (atomic_load(&j->err) == MC_OK) {
            j->adler = (uint32_t)adler32_combine(j->adler, bd->adler, (z_off_t)bd->raw_len);
            if (j->written + 1 == j->bands) { /* the stream ends with its Adler-32 */
                mc__put_be32(p + 8 + bd->data_len, j->adler);
                bd->crc = libdeflate_crc32(bd->crc, p + 8 + bd->data_len, 4);
                bd->data_len += 4;
            }
            len = 8 + bd->data_len;
            mc__put_be32(p, (uint32_t)bd->data_len);
            mc__put_be32(p + len, bd->crc);
            (void)write_all(j, p, len + 4);
        }
        pthread_mutex_lock(&j->lock);
        j->spare[j->spares++] = bd->buf;
        bd->buf.p = NULL;
        j->written++;
        pthread_cond_broadcast(&j->changed);
        pthread_mutex_unlock(&j->lock);
    }
}

/* The caller's, once no band is left to take: writes the others' as they
 * become ready, until all are written or one failed. */
static void finish(struct job *j)
{
    bool more;

    do {
        drain(j);
        pthread_mutex_lock(&j->lock);
        while (atomic_load(&j->err) == MC_OK && j->written < j->bands &&
               !j->band[j->written].ready)
            pthread_cond_wait(&j->changed, &j->lock);
        more = atomic_load(&j->err) == MC_OK && j->written < j->bands;
        pthread_mutex_unlock(&j->lock);
    } while (more);
}

/* Another thread's, before it works on band b: waits while b is AHEAD
 * bands past the next to write, so that a caller slowed by its writes
 * does not leave the finished bands piling up in memory. False if a
 * band failed meanwhile. */
static bool wait_turn(struct job *j, size_t b)
{
    bool ok;

    pthread_mutex_lock(&j->lock);
    while (atomic_load(&j->err) == MC_OK && b >= j->written + j->ahead)
        pthread_cond_wait(&j->changed, &j->lock);
    ok = atomic_load(&j->err) == MC_OK;
    pthread_mutex_unlock(&j->lock);
    return ok;
}

/* A worker: takes the next band, one at a time, until none is left.
 * Bands taken in order keep the ones finished ahead of the next to write
 * (each holding a buffer) few. Worker 0 is the caller: it writes what is
 * ready after each of its bands, and the rest at the end. */
static void run_bands(struct job *j, unsigned worker)
{
    struct lane *l = &j->lane[worker];
    size_t b;

    while ((b = atomic_fetch_add(&j->next, 1)) < j->bands) {
        if (worker != 0 && !wait_turn(j, b))
            break;
        if (atomic_load(&j->err) != MC_OK)
            break;
        if (!lane_ready(j, l) ||
            !(j->stored ? store_band(j, l, b) : deflate_band(j, l, b))) {
            fail(j, MC_ENOMEM);
            break;
        }
        pthread_mutex_lock(&j->lock);
        j->band[b].ready = true;
        pthread_cond_broadcast(&j->changed);
        pthread_mutex_unlock(&j->lock);
        if (worker == 0)
            drain(j);
    }
    if (worker == 0)
        finish(j);
    /* zlib's and the filter's frames below this one held rows of a
     * plain image (not a cipher image's: stored, noise); glibc keeps an
     * ended thread's stack for the next thread, unwiped */
    if (!j->stored)
        mc__stack_wipe();
}

struct helper {
    struct job *job;
    unsigned worker;
};

static void *helper_main(void *p)
{
    struct helper *h = p;

    run_bands(h->job, h->worker);
    return NULL;
}

/* The caller and threads - 1 more on the bands. Not mc__parallel: the
 * caller must be one of the workers, since it alone writes and the others
 * wait for its writes. */
static void run_all(struct job *j, unsigned threads)
{
    pthread_t tid[MC_MAX_THREADS];
    struct helper h[MC_MAX_THREADS];
    unsigned started = 0;

    for (unsigned t = 1; t < threads; t++) {
        h[started] = (struct helper){j, started + 1};
        if (mc__thread_create(&tid[started], started + 1, helper_main, &h[started]) != 0)
            break; /* fewer threads; the caller takes their bands */
        started++;
    }
    run_bands(j, 0);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

/* PNG §5.3: a whole chunk, its length, type, data and CRC-32 (of the
 * type and data). */
static bool write_chunk(struct job *j, const char type[4], const uint8_t *data, size_t len)
{
    uint8_t head[8], tail[4];
    uint32_t crc;

    mc__put_be32(head, (uint32_t)len);
    memcpy(head + 4, type, 4);
    crc = libdeflate_crc32(0, head + 4, 4);
    if (len > 0)
        crc = libdeflate_crc32(crc, data, len);
    mc__put_be32(tail, crc);
    return write_all(j, head, sizeof head) && (len == 0 || write_all(j, data, len)) &&
           write_all(j, tail, sizeof tail);
}

/* The signature and PNG §11.2.2 IHDR; then the extra chunk if any (the
 * cipher image's mcRY). */
static bool write_head(struct job *j, uint8_t color_type, const mc__png_chunk *extra)
{
    uint8_t ihdr[13];

    mc__put_be32(ihdr, j->img->width);
    mc__put_be32(ihdr + 4, j->img->height);
    ihdr[8] = j->img->bits;
    ihdr[9] = color_type;
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering, one filter type per row */
    ihdr[12] = 0; /* not interlaced */
    return write_all(j, mc__png_signature, sizeof mc__png_signature) &&
           write_chunk(j, "IHDR", ihdr, sizeof ihdr) &&
           (extra == NULL || write_chunk(j, extra->type, extra->data, extra->len));
}

/* Whole rows, about BAND_BYTES; a row wider than that alone. */
size_t mc__png_band_rows(size_t row_len)
{
    return BAND_BYTES / row_len > 0 ? BAND_BYTES / row_len : 1;
}

size_t mc__png_bands(const mc_image *img, size_t row_len)
{
    /* A band is one IDAT chunk: rows wider than ROW_MAX go through
     * libspng's 8 KiB chunks instead. */
    if (row_len > ROW_MAX)
        return 0;
    return (img->height + mc__png_band_rows(row_len) - 1) / mc__png_band_rows(row_len);
}

mc_err mc__png_encode_bands_to(const mc_image *img, size_t row_len, uint8_t color_type,
                               const mc__png_chunk *extra, bool stored, unsigned threads,
                               mc_write_fn write, void *user)
{
    struct job *j;
    mc_err err;
    size_t raw_max;

    if ((j = calloc(1, sizeof *j)) == NULL)
        return MC_ENOMEM;
    j->img = img;
    j->row_len = row_len;
    j->bpp = (size_t)img->channels * (img->bits / 8);
    j->band_rows = mc__png_band_rows(row_len);
    j->bands = mc__png_bands(img, row_len);
    j->stored = stored;
    /* A band's rows with their filter bytes; no more than the image has
     * (a 1x1 cipher image would otherwise take a whole band's buffer). */
    raw_max = (j->band_rows < img->height ? j->band_rows : img->height) * (row_len + 1);
    j->slice_rows = SLICE_BYTES / (row_len + 1) > 0 ? SLICE_BYTES / (row_len + 1) : 1;
    if (j->slice_rows > j->band_rows)
        j->slice_rows = j->band_rows;
    j->filtered_cap = (j->slice_rows < img->height ? j->slice_rows : img->height) * (row_len + 1);
    if (stored) /* the bytes and their block headers */
        j->out_cap = raw_max + STORED_HEAD * ((raw_max + STORED_MAX - 1) / STORED_MAX) + CHUNK_ROOM;
    else /* zlib's bound for one call over raw_max bytes (with a zlib
          * header and trailer we do not write; the slices' calls make
          * the same stream as one), room for the sync flush's empty
          * stored block, and the chunk around them */
        j->out_cap = compressBound((uLong)raw_max) + 64 + CHUNK_ROOM;
    if (!stored && mc__png_bands_room_test >= 32)
        j->out_cap = mc__png_bands_room_test; /* tests: deflate_some's growing */
    j->write = write;
    j->user = user;
    j->adler = 1;
    atomic_init(&j->err, MC_OK);
    atomic_init(&j->next, 0);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->changed, NULL);
    j->band = calloc(j->bands, sizeof *j->band);
    j->spare = calloc(j->bands, sizeof *j->spare);
    if (!stored) /* the row above the first, for the filters */
        j->zero_row = calloc(1, row_len);
    if (j->band == NULL || j->spare == NULL || (!stored && j->zero_row == NULL)) {
        err = MC_ENOMEM;
        goto out;
    }
    /* At least four bands (about a MiB) per thread: a thread woken for
     * less can start after the caller has done the work (waking the idle
     * vCPU of docs/PERFORMANCE.md's virtual machine takes up to a few
     * ms), and it pays for its own buffers and deflate state. */
    if (threads > j->bands / 4)
        threads = (unsigned)(j->bands / 4);
    /* A cipher image's bands are only copies and checksums: under
     * MC__PNG_STORED_BANDS_MIN, the line below which the whole image went
     * to libspng before, the calling thread does them all. */
    if (stored && img->samples_len < MC__PNG_STORED_BANDS_MIN)
        threads = 1;
    if (threads < 1)
        threads = 1;
    if (threads > MC_MAX_THREADS)
        threads = MC_MAX_THREADS;
    j->kept = stored && threads == 1;
    if (write_head(j, color_type, extra)) {
        j->ahead = 2 * (size_t)threads + 2;
        run_all(j, threads);
    }
    if ((err = (mc_err)atomic_load(&j->err)) == MC_OK && j->written != j->bands)
        err = MC_ENOMEM; /* a band never made it (cannot happen without an error) */
    if (err == MC_OK && !write_chunk(j, "IEND", NULL, 0))
        err = MC_EIO;
out:
    for (unsigned t = 0; t < MC_MAX_THREADS; t++) {
        struct lane *l = &j->lane[t];
        if (l->z_ready)
            deflateEnd(&l->z);
        /* after a failure, all: a band may have stopped half-written */
        if (l->filtered != NULL)
            sodium_memzero(l->filtered, err == MC_OK ? l->filtered_used : j->filtered_cap);
        free(l->filtered);
        if (l->swapped != NULL)
            sodium_memzero(l->swapped, 2 * row_len);
        free(l->swapped);
    }
    for (size_t b = 0; j->band != NULL && b < j->bands; b++) {
        struct out_buf *o = &j->band[b].buf;
        if (o->p != NULL)
            sodium_memzero(o->p, err == MC_OK ? o->used : o->cap);
        buf_free(j, o->p);
    }
    for (size_t s = 0; j->spare != NULL && s < j->spares; s++) {
        sodium_memzero(j->spare[s].p, err == MC_OK ? j->spare[s].used : j->spare[s].cap);
        buf_free(j, j->spare[s].p);
    }
    pthread_cond_destroy(&j->changed);
    pthread_mutex_destroy(&j->lock);
    free(j->band);
    free(j->spare);
    free((void *)j->zero_row);
    free(j);
    return err;
}
