/* Writing PNG chunks by hand, for tests that build PNGs medcrypt does not
 * write (test_codecs.c, test_cipher.c). */
#ifndef MC_TEST_PNG_CHUNK_H
#define MC_TEST_PNG_CHUNK_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

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

#endif
