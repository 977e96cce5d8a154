/*
 * A large plain PNG's pixel data inflated piece by piece, each row
 * undone as soon as it is whole, so that the chunk digests of the
 * encrypt (chunkhash.c) are hashed on the second core while the rest is
 * still being inflated.
 *
 * Why. libdeflate inflates the whole stream in one call
 * (codec_png_fast.c) and has no interface for less; the digests'
 * thread then waits for it. For testdata/bench/ct_2048_16bit.png that is
 * 14 ms of inflate with the second core idle, then the rows undone and
 * the 8 MiB hashed: the encrypt took 36.7 ms, 2.2 x `openssl dgst
 * -sha512` of the file (docs/PERFORMANCE.md). ISA-L's isal_inflate
 * (Intel's Intelligent Storage Acceleration Library, Debian's
 * libisal-dev) is as fast as libdeflate here and stops wherever its
 * output space ends, keeping the 32 KiB window of history in its own
 * state (igzip_lib.h: "next_out points to an empty output buffer"), so
 * the rows behind it may be rewritten in place. zlib inflates the same
 * stream in 30 ms. Only where a hasher runs (ctx->threads >= 2, 2 MiB of
 * samples or more: chunkhash.c): a small image gains nothing from the
 * pieces, and libdeflate's one call is faster by a little.
 *
 * The same checks as the one call's (codec_png_fast.c lists them): the
 * zlib header as RFC 1950 §2.2 and libdeflate have it (method 8, a
 * window of at most 32 KiB, the check bits, no preset dictionary); the
 * Adler-32 after the deflate data, checked by ISA-L
 * (ISAL_ZLIB_NO_HDR_VER); the rows filled exactly, nothing after the
 * stream but empty IDAT chunks; every row's filter type one of PNG's
 * five. This path never refuses a file: at any doubt, or an error of
 * ISA-L's, the one call decides as it would have alone (libdeflate and
 * ISA-L each read some malformed deflate streams the other refuses: a
 * review). A doubt found after rows were undone and the hasher told of
 * them stops that hasher first (its digests would be of samples written
 * anew), and the one call goes on without one: the keyed hash then
 * hashes the image itself. One difference stays: ISA-L reads some
 * malformed streams that libdeflate and zlib refuse (incomplete Huffman
 * codes: tests/test_png_fast.c keeps one), so such a large image is
 * read when encrypted on two threads and refused on one. No encoder
 * writes them; telling them apart would take a second inflate. The fuzz
 * target holds this path to that rule (mc_ctx's png_stream sends every
 * plain PNG here).
 *
 * ISA-L is loaded with dlopen(3) at the first such PNG (as libjpeg is,
 * codec_jpeg.c): most runs never need it, and each library the loader
 * maps costs every process start about 0.1 ms on the hosts of
 * docs/PERFORMANCE.md. Where it cannot be loaded, or medcrypt was built
 * without it, the pixels are inflated in one call as before; a load that
 * failed is not tried again in the process (ISA-L is only a speed-up).
 * Its soname stands for its ABI: struct inflate_state is allocated at
 * the size of the headers the build found.
 */
#include "internal.h"

#include <stdatomic.h>

static atomic_ulong stream_count;

unsigned long mc__png_stream_taken(void)
{
    return atomic_load(&stream_count);
}

#ifdef MC_LIBISAL_SONAME
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Output per call: the rows of a piece are undone, and the hasher told,
 * before the next is inflated. ISA-L copies its 32 KiB window aside at
 * every return, so pieces much smaller cost more (64 KiB: +0.2 ms for
 * 8 MiB); much larger, and the hasher waits longer at the start. */
#define PIECE ((size_t)256 << 10)

#define ISAL_FUNCTIONS(X)                                                                     \
    X(isal_inflate_init)                                                                      \
    X(isal_inflate)

struct isal_lib {
#define ISAL_FIELD(f) __typeof__(&f) f;
    ISAL_FUNCTIONS(ISAL_FIELD)
#undef ISAL_FIELD
};

static struct isal_lib lib;
static bool lib_tried, lib_loaded; /* under lib_lock */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* Loaded once; a failure is no error, only the slower path, and is not
 * paid again at every large PNG. */
static const struct isal_lib *isal_lib(void)
{
#define ISAL_NAME(f) #f,
    static const char *const names[] = {ISAL_FUNCTIONS(ISAL_NAME)};
#undef ISAL_NAME
    void *sym[sizeof names / sizeof names[0]];
    size_t i = 0;
    bool ok;

    pthread_mutex_lock(&lib_lock);
    if (!lib_tried) {
        lib_tried = true;
        if (mc__dl_load(MC_LIBISAL_SONAME, names, sym, sizeof names / sizeof names[0], NULL, 0)) {
#define ISAL_SET(f) memcpy(&lib.f, &sym[i++], sizeof lib.f);
            ISAL_FUNCTIONS(ISAL_SET)
#undef ISAL_SET
            lib_loaded = true;
        }
    }
    ok = lib_loaded;
    pthread_mutex_unlock(&lib_lock);
    return ok ? &lib : NULL;
}

/* The IDAT chunks' data, one chunk at a time (the run is checked). */
struct idat_cursor {
    const uint8_t *buf;
    size_t len, off; /* off: the next chunk */
};

static bool next_data(struct idat_cursor *c, const uint8_t **data, uint32_t *n)
{
    mc__png_chunk_view v;

    if (!mc__png_chunk_at(c->buf, c->len, c->off, &v) || memcmp(v.type, "IDAT", 4) != 0)
        return false;
    *data = v.type + 4;
    *n = v.len;
    c->off += 12 + (size_t)v.len;
    return true;
}

/* RFC 1950 §2.2: the two header bytes, which may lie in two chunks. The
 * checks are libdeflate's (and zlib's): CM 8, CINFO at most 7, FCHECK,
 * FDICT clear. On return *data and *n are the rest of the chunk. */
static bool zlib_header_ok(struct idat_cursor *c, const uint8_t **data, uint32_t *n)
{
    uint8_t h[2];
    size_t got = 0;

    *n = 0;
    while (got < 2) {
        if (*n == 0) {
            if (!next_data(c, data, n))
                return false;
            continue;
        }
        h[got++] = **data;
        (*data)++;
        (*n)--;
    }
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((unsigned)h[0] << 8 | h[1]) % 31 == 0 &&
           (h[1] & 0x20) == 0;
}

enum mc__stream_result mc__png_stream_decode(const uint8_t *buf, size_t len, size_t idat_off,
                                             mc_image *img, mc__chunk_hasher **hasher,
                                             uint8_t *rows)
{
    const struct isal_lib *isal = isal_lib();
    struct idat_cursor in = {buf, len, idat_off};
    struct inflate_state *st = NULL;
    const size_t row_len = img->samples_len / img->height;
    const size_t raw_len = img->samples_len + img->height; /* rows with filter bytes */
    const uint8_t *data;
    uint8_t *cur = rows, *prev = NULL;
    size_t produced = 0, y = 0;
    uint32_t n;
    enum mc__stream_result result = MC__STREAM_NOT_TAKEN;

    if (isal == NULL || !zlib_header_ok(&in, &data, &n))
        return MC__STREAM_NOT_TAKEN;
    /* Its history and tables hold pixel data: wiped below. */
    if ((st = malloc(sizeof *st)) == NULL)
        return MC__STREAM_ENOMEM;
    isal->isal_inflate_init(st);
    st->crc_flag = ISAL_ZLIB_NO_HDR_VER; /* the header is read above */
    st->next_in = (uint8_t *)(uintptr_t)data;
    st->avail_in = n;
    while (st->block_state != ISAL_BLOCK_FINISH) {
        size_t room, out_before = produced;
        uint32_t in_before;
        int state_before;
        /* The next chunk once this one is taken (its bits may still be
         * in ISA-L's state: without more, it is called all the same). */
        while (st->avail_in == 0 && next_data(&in, &data, &n)) {
            st->next_in = (uint8_t *)(uintptr_t)data;
            st->avail_in = n;
        }
        room = raw_len - produced;
        in_before = st->avail_in;
        state_before = (int)st->block_state;
        st->next_out = img->samples + produced;
        st->avail_out = (uint32_t)(room < PIECE ? room : PIECE);
        if (isal->isal_inflate(st) != ISAL_DECOMP_OK)
            goto out;
        produced = (size_t)(st->next_out - img->samples);
        /* Each whole row undone where it lies (codec_png_fast.c: a row's
         * samples end before the next row's filtered bytes begin). */
        for (; y < img->height && (y + 1) * (row_len + 1) <= produced; y++) {
            if (img->samples[y * (row_len + 1)] > 4)
                goto out;
            mc__png_undo_row(img, y, cur, prev);
            if (*hasher != NULL)
                mc__chunk_hasher_ready(*hasher, (y + 1) * row_len);
            prev = cur;
            cur = cur == rows ? rows + row_len : rows;
        }
        /* Nothing taken, nothing given, no step: the data ended early
         * (no chunk left), or there is more than the rows hold. */
        if (st->avail_in == in_before && produced == out_before &&
            (int)st->block_state == state_before)
            goto out;
    }
    /* Bytes after the Adler-32 may be in ISA-L's bit buffer, not in
     * avail_in (read_in_length: its bits not yet used; under 8 of them
     * are the last deflate byte's padding, left there when the stream
     * came a byte at a time). */
    if (produced != raw_len || st->avail_in != 0 || st->read_in_length >= 8)
        goto out;
    while (next_data(&in, &data, &n)) /* after the stream: empty chunks only */
        if (n != 0)
            goto out;
    result = MC__STREAM_TAKEN;
    atomic_fetch_add(&stream_count, 1);
out:
    sodium_memzero(st, sizeof *st);
    free(st);
    /* Rows told to the hasher that the one call, or libspng, is now to
     * write anew. */
    if (result == MC__STREAM_NOT_TAKEN && *hasher != NULL && y > 0) {
        mc__chunk_hasher_abort(*hasher);
        *hasher = NULL;
    }
    return result;
}

#else

enum mc__stream_result mc__png_stream_decode(const uint8_t *buf, size_t len, size_t idat_off,
                                             mc_image *img, mc__chunk_hasher **hasher,
                                             uint8_t *rows)
{
    (void)buf, (void)len, (void)idat_off, (void)img, (void)hasher, (void)rows;
    return MC__STREAM_NOT_TAKEN;
}

#endif
