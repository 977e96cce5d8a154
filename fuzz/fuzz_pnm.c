/* PGM/PPM decoder (codec_pnm.c): decode, then the file must come back byte
 * for byte from the samples and side data. The in-place decoder
 * (mc_image_decode_owned, which takes a copy of the input over) must give
 * the same image, or the same error, as mc_image_decode. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL, *ref = NULL, *owned = NULL;
    uint8_t *copy;
    mc_err err, err_owned;

    if (!mc__pnm_sniff(data, size))
        return 0;
    if (mc__pnm_decode(fuzz_ctx(), data, size, &img) == MC_OK) {
        fuzz_check_decoded(img, data, size, true);
        mc_image_free(img);
    }

    err = mc_image_decode(fuzz_ctx(), data, size, NULL, &ref);
    fuzz_check_cap(fuzz_ctx(), err);
    FUZZ_CHECK((copy = malloc(size > 0 ? size : 1)) != NULL);
    memcpy(copy, data, size);
    err_owned = mc_image_decode_owned(fuzz_ctx(), copy, size, NULL, &owned); /* takes copy */
    FUZZ_CHECK(err_owned == err);
    fuzz_check_cap(fuzz_ctx(), err);
    if (err == MC_OK) {
        FUZZ_CHECK(same_samples(ref, owned));
        FUZZ_CHECK(ref->format == owned->format && ref->side_len == owned->side_len &&
                   (ref->side_len == 0 || memcmp(ref->side, owned->side, ref->side_len) == 0));
        mc_image_free(owned);
        mc_image_free(ref);
    }
    return 0;
}
