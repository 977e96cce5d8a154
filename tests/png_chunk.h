/* Writing PNG chunks by hand, for tests that build PNGs medcrypt does not
 * write (test_codecs.c, test_cipher.c, test_png_fast.c), reading back
 * the rows of one, and Paeth-filtering rows as the spec does
 * (test_codecs.c, test_wipe.c). */
#ifndef MC_TEST_PNG_CHUNK_H
#define MC_TEST_PNG_CHUNK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "internal.h"

/* A PNG chunk with its CRC (PNG §5.3) written at dst; its length. */
static inline size_t put_chunk(uint8_t *dst, const char type[4], const uint8_t *data, uint32_t len)
{
    mc__put_be32(dst, len);
    memcpy(dst + 4, type, 4);
    if (len > 0)
        memcpy(dst + 8, data, len);
    mc__put_be32(dst + 8 + len, (uint32_t)crc32(0, dst + 4, len + 4));
    return 12 + len;
}

/* A whole PNG at dst (its length): the signature, IHDR, one more chunk
 * before the image data when type is not NULL, one IDAT, IEND. */
static inline size_t put_png(uint8_t *dst, const uint8_t ihdr[13], const char *type,
                             const uint8_t *data, uint32_t len, const uint8_t *idat,
                             uint32_t idat_len)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    size_t n = 8;

    memcpy(dst, sig, 8);
    n += put_chunk(dst + n, "IHDR", ihdr, 13);
    if (type != NULL)
        n += put_chunk(dst + n, type, data, len);
    n += put_chunk(dst + n, "IDAT", idat, idat_len);
    n += put_chunk(dst + n, "IEND", NULL, 0);
    return n;
}

/* The zlib stream of a PNG's IDAT chunks inflated (its Adler-32
 * checked by zlib's uncompress): raw_len bytes, each row's filter type
 * then its bytes; free it. */
static inline uint8_t *png_rows(const uint8_t *png, size_t png_len, size_t raw_len)
{
    uint8_t *idat, *raw;
    size_t off = 8, idat_len = 0;
    uLongf got = (uLongf)raw_len;

    assert_non_null(idat = malloc(png_len));
    assert_non_null(raw = malloc(raw_len + 1));
    while (off + 12 <= png_len) {
        uint32_t len = mc__be32(png + off);
        assert_true(off + 12 + len <= png_len);
        if (memcmp(png + off + 4, "IDAT", 4) == 0) {
            memcpy(idat + idat_len, png + off + 8, len);
            idat_len += len;
        }
        off += 12 + len;
    }
    assert_int_equal(uncompress(raw, &got, idat, idat_len), Z_OK);
    assert_int_equal(got, raw_len);
    free(idat);
    return raw;
}

/* PNG §9.4, filter type 4, written from the spec: the reference the
 * band writer is held to. n_rows rows of row_len bytes in PNG byte order
 * (rows), the first below up (NULL: a row of zeros, §9.2), into out, each
 * after its filter byte: (row_len + 1) * n_rows bytes. */
static inline void paeth_rows(uint8_t *out, const uint8_t *rows, const uint8_t *up,
                              size_t n_rows, size_t row_len, size_t bpp)
{
    for (size_t y = 0; y < n_rows; y++) {
        const uint8_t *cur = rows + y * row_len, *above = y > 0 ? cur - row_len : up;
        *out++ = 4;
        for (size_t i = 0; i < row_len; i++) {
            int a = i >= bpp ? cur[i - bpp] : 0, b = above != NULL ? above[i] : 0;
            int c = i >= bpp && above != NULL ? above[i - bpp] : 0;
            int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
            int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            *out++ = (uint8_t)(cur[i] - pred);
        }
    }
}

#endif
