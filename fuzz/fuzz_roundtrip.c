/* Round trip (cipher.c, container.c, the stages): a random image from the
 * input's first bytes -> mc_encrypt_image -> mc_decrypt_image must give
 * the same samples; with one cipher byte changed it must fail or (never
 * seen) still give the same samples. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t chans[4] = {1, 2, 3, 4};
    mc_ctx *ctx = fuzz_ctx();
    mc_key key;
    mc_image *img = NULL, *back = NULL;
    uint8_t *cipher = NULL, *samples;
    size_t cipher_len = 0, len;
    uint32_t w, h, flip;
    uint8_t c, bits;
    mc_err err;

    if (size < 8)
        return 0;
    w = 1 + (data[0] | (data[1] & 1) << 8) % 300; /* crosses the 4096-sample blocks */
    h = 1 + data[2] % 64;
    c = chans[data[3] & 3];
    bits = (data[3] & 4) ? 16 : 8;
    flip = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16;
    data += 7;
    size -= 7;
    fuzz_key(&key);
    FUZZ_CHECK(mc_image_new(ctx, w, h, c, bits, &img) == MC_OK);
    samples = mc_image_samples(img, &len);
    for (size_t i = 0; i < len; i++)
        samples[i] = data[i % size];
    FUZZ_CHECK(mc_encrypt_image(ctx, &key, img, &cipher, &cipher_len) == MC_OK);
    FUZZ_CHECK(mc_decrypt_image(ctx, &key, cipher, cipher_len, &back) == MC_OK);
    FUZZ_CHECK(same_samples(img, back));
    mc_image_free(back);
    back = NULL;

    cipher[flip % cipher_len] ^= (uint8_t)(1u << (flip >> 20 & 7));
    err = mc_decrypt_image(ctx, &key, cipher, cipher_len, &back);
    if (err == MC_OK) {
        FUZZ_CHECK(same_samples(img, back));
        mc_image_free(back);
    }
    mc_free(cipher);
    mc_image_free(img);
    return 0;
}
