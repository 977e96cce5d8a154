/* Cipher container (container.c + cipher.c): mc_cipher_inspect and
 * mc_cipher_foreign_chunks without a key, mc_decrypt_image and
 * mc_decrypt_file under the fixed key of the seeds (fuzz/mkseeds.c). A
 * mutated cipher image may be rejected in any way, but never crash, leak
 * or hang; what decrypts must be consistent, and what inspect names a
 * cipher image decryption never calls "not a cipher image" (an mcRY chunk
 * after another unknown chunk was: libspng 0.7.3 lists only the first,
 * docs/MUTATIONS.md, fourteenth round). */
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
    /* The chunks another program added, named for a note: a list that
     * ends within its buffer (short of room: whole types, then "..."),
     * of letters, '?' and the separators alone (it goes to a terminal),
     * and none for what is no cipher image. */
    {
        char list[24];
        mc_cipher_foreign_chunks(data, size, list, sizeof list);
        FUZZ_CHECK(memchr(list, '\0', sizeof list) != NULL);
        for (const char *p = list; *p != '\0'; p++)
            FUZZ_CHECK(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || *p == '?' || *p == ',' ||
                       *p == ' ' || *p == '.');
        FUZZ_CHECK(list[0] == '\0' || mc_is_cipher_image(data, size));
    }
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
