/* PNG decoder (codec_png.c over libspng): decode, re-encode, re-decode;
 * a plain image's pixels through codec_png_fast.c (in one call, and
 * piece by piece through codec_png_stream.c) and through libspng alone,
 * which must agree on the samples, and on the result but for the
 * malformed streams libdeflate or ISA-L reads and zlib refuses;
 * and the ancillary chunks that travel with the pixels (png_meta.c): the
 * list named as not kept, and the records, which must come back the same
 * from the PNG written with them. */
#include "common.h"

#include <zlib.h>

/* The record of type t, or an empty one. */
static void side_of(const mc_image *img, uint8_t t, const uint8_t **d, size_t *n)
{
    if (img->side == NULL || !mc__side_find(img->side, img->side_len, t, d, n)) {
        *d = NULL;
        *n = 0;
    }
}

static bool same_side(const mc_image *a, const mc_image *b, uint8_t t)
{
    const uint8_t *da, *db;
    size_t na, nb;

    side_of(a, t, &da, &na);
    side_of(b, t, &db, &nb);
    return na == nb && (na == 0 || memcmp(da, db, na) == 0);
}

/* Whether zlib refuses the zlib stream of the file's IDAT chunks, as
 * libspng reads it (window of 32 KiB): the one way codec_png_fast.c may
 * read a file libspng refuses is libdeflate reading a stream zlib does
 * not. */
static bool zlib_refuses(const uint8_t *data, size_t size)
{
    mc__png_chunk_view c;
    uint8_t *z = malloc(size > 0 ? size : 1), out[4096];
    size_t z_len = 0;
    z_stream s;
    int r;

    FUZZ_CHECK(z != NULL);
    for (size_t off = 8; mc__png_chunk_at(data, size, off, &c) && c.whole &&
                         memcmp(c.type, "IEND", 4) != 0;
         off += 12 + c.len)
        if (memcmp(c.type, "IDAT", 4) == 0) {
            memcpy(z + z_len, c.type + 4, c.len);
            z_len += c.len;
        }
    memset(&s, 0, sizeof s);
    FUZZ_CHECK(inflateInit(&s) == Z_OK);
    s.next_in = z;
    s.avail_in = (uInt)z_len;
    do {
        s.next_out = out;
        s.avail_out = sizeof out;
        r = inflate(&s, Z_NO_FLUSH);
    } while (r == Z_OK);
    inflateEnd(&s);
    free(z);
    return r == Z_DATA_ERROR;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL, *again = NULL;
    mc__png_chunk want = {.type = MC_CHUNK_TYPE};
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    char list[48], all[8192];
    size_t n;
    mc_err err;

    if (!mc__png_sniff(data, size))
        return 0;
    err = mc__png_decode(fuzz_ctx(), data, size, &img, NULL);
    /* The same file with libspng alone (png_no_fast): codec_png_fast.c
     * declines what it doubts, and libspng decodes that as before. */
    {
        static mc_ctx *spng_only;
        mc_image *ref = NULL;
        if (spng_only == NULL) {
            FUZZ_CHECK(mc_ctx_new(&spng_only) == MC_OK);
            FUZZ_CHECK(mc_ctx_set_max_samples(spng_only, FUZZ_MAX_SAMPLES) == MC_OK);
            spng_only->png_no_fast = true;
        }
        mc_err ref_err = mc__png_decode(spng_only, data, size, &ref, NULL);
        /* The same result, or libdeflate's success where zlib refuses
         * the stream (codec_png_fast.c says which streams). */
        FUZZ_CHECK(ref_err == err ||
                   (err == MC_OK && ref_err == MC_EFORMAT && zlib_refuses(data, size)));
        FUZZ_CHECK(err != MC_OK || ref_err != MC_OK || same_samples(img, ref));
        /* Piece by piece (png_stream: codec_png_stream.c, ISA-L): the
         * one call's result and samples, or a success where that
         * refuses and zlib refuses the stream (ISA-L's leniency:
         * codec_png_stream.c). Against libspng it then holds by the
         * checks above: the same result as the one call, or a success
         * where libspng refuses too. */
        static mc_ctx *streamed;
        mc_image *s = NULL;
        if (streamed == NULL) {
            FUZZ_CHECK(mc_ctx_new(&streamed) == MC_OK);
            FUZZ_CHECK(mc_ctx_set_max_samples(streamed, FUZZ_MAX_SAMPLES) == MC_OK);
            streamed->png_stream = true;
        }
        mc_err s_err = mc__png_decode(streamed, data, size, &s, NULL);
        FUZZ_CHECK(s_err == err ||
                   (s_err == MC_OK && err == MC_EFORMAT && zlib_refuses(data, size)));
        FUZZ_CHECK(s_err != MC_OK || err != MC_OK || same_samples(s, img));
        mc_image_free(s);
        mc_image_free(ref);
    }
    if (err == MC_OK) {
        fuzz_check_decoded(img, data, size, false);
        mc_image_free(img);
        img = NULL;
    }
    /* The container's path: the same decoder asked for the private chunk. */
    if (mc__png_decode(fuzz_ctx(), data, size, &img, &want) == MC_OK) {
        FUZZ_CHECK(want.data != NULL || want.len == 0);
        mc_image_free(img);
        img = NULL;
    }
    free(want.data);

    /* The note's list: NUL-terminated within its buffer, whole names;
     * one cut short says so (", ..." or "...") after names that begin
     * the whole list (a larger buffer's). The "..." came in 5300ea8 and
     * the check before it, strlen % 6 == 4, aborted on every PNG with
     * eight or more types not kept (regression many-dropped-types). */
    memset(list, 'x', sizeof list);
    mc_png_dropped_chunks(data, size, list, sizeof list);
    mc_png_dropped_chunks(data, size, all, sizeof all);
    FUZZ_CHECK(memchr(list, '\0', sizeof list) != NULL);
    n = strlen(list);
    if (strcmp(list, all) != 0) {
        FUZZ_CHECK(strcmp(list, "...") == 0 ||
                   (n > 5 && strcmp(list + n - 5, ", ...") == 0));
        n = n > 5 ? n - 5 : 0;
        FUZZ_CHECK(n == 0 || (memcmp(list, all, n) == 0 && all[n] == ','));
    }
    FUZZ_CHECK(n % 6 == 4 || n == 0); /* "tRNS, bKGD" */

    /* The whole reader (pixels and kept chunks), written back as a PNG
     * with its chunks and read again: the same samples, the same
     * records (what is kept once is kept again, unchanged). */
    err = mc_image_decode(fuzz_ctx(), data, size, NULL, &img);
    fuzz_check_cap(fuzz_ctx(), err);
    if (err != MC_OK || img->format != MC_FORMAT_PNG) {
        mc_image_free(img);
        return 0;
    }
    err = mc_image_encode(fuzz_ctx(), img, &enc, &enc_len);
    FUZZ_CHECK(err == MC_OK);
    FUZZ_CHECK(mc_image_decode(fuzz_ctx(), enc, enc_len, NULL, &again) == MC_OK);
    FUZZ_CHECK(same_samples(img, again));
    FUZZ_CHECK(same_side(img, again, MC_SIDE_PNG_BEFORE));
    FUZZ_CHECK(same_side(img, again, MC_SIDE_PNG_AFTER));
    mc_image_free(again);
    mc_free(enc);
    mc_image_free(img);
    return 0;
}
