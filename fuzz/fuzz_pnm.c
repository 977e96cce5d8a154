/* PGM/PPM decoder (codec_pnm.c): decode, then the file must come back byte
 * for byte from the samples and side data. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL;

    if (!mc__pnm_sniff(data, size))
        return 0;
    if (mc__pnm_decode(fuzz_ctx(), data, size, &img) == MC_OK) {
        fuzz_check_decoded(img, data, size, true);
        mc_image_free(img);
    }
    return 0;
}
