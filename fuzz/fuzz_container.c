/* Cipher container (container.c + cipher.c): mc_cipher_inspect without a
 * key, mc_decrypt_image and mc_decrypt_file under the fixed key of the
 * seeds (fuzz/mkseeds.c). A mutated cipher image may be rejected in any
 * way, but never crash, leak or hang; what decrypts must be consistent,
 * and what inspect names a cipher image decryption never calls "not a
 * cipher image" (an mcRY chunk after another unknown chunk was: libspng
 * 0.7.3 lists only the first, docs/MUTATIONS.md, fourteenth round). */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_ctx *ctx = fuzz_ctx();
    mc_cipher_info ci;
    mc_key key;
    mc_image *img = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    mc_image_info info;
    mc_err err;

    fuzz_key(&key);
    bool inspected = mc_cipher_inspect(ctx, data, size, &ci) == MC_OK;
    if (inspected) {
        FUZZ_CHECK(ci.version >= 1 && ci.version <= MC_FORMAT_VERSION);
        FUZZ_CHECK(ci.image.extension != NULL);
    }
    err = mc_decrypt_image(ctx, &key, data, size, &img);
    FUZZ_CHECK(!(inspected && err == MC_ENOTCIPHER));
    if (err == MC_OK) {
        FUZZ_CHECK(img->samples_len ==
                   (size_t)img->width * img->height * img->channels * (img->bits / 8));
        /* what decrypts, inspect (the chunk list alone) describes */
        FUZZ_CHECK(inspected && ci.image.width == img->width && ci.image.height == img->height &&
                   ci.image.channels == img->channels && ci.image.bits == img->bits &&
                   ci.image.frames == img->frames && ci.image.format == img->format);
        mc_image_free(img);
    }
    err = mc_decrypt_file(ctx, &key, data, size, &out, &out_len, &info);
    FUZZ_CHECK(!(inspected && err == MC_ENOTCIPHER));
    if (err == MC_OK) {
        FUZZ_CHECK(out != NULL || out_len == 0);
        mc_free(out);
    } else {
        FUZZ_CHECK(err < MC_ERR_COUNT);
    }
    return 0;
}
