/* JPEG decoder (codec_jpeg.c over libjpeg-turbo): decode only (JPEG pixels
 * come back as a lossless PNG, which must decode to the same samples). */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL;

    if (!mc__jpeg_sniff(data, size))
        return 0;
    if (mc__jpeg_decode(fuzz_ctx(), data, size, &img) == MC_OK) {
        fuzz_check_decoded(img, data, size, false);
        mc_image_free(img);
    }
    return 0;
}
