/* BMP decoder (codec_bmp.c): decode, then the file must come back byte for
 * byte from the samples and side data. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL;
    mc_err err;

    if (!mc__bmp_sniff(data, size))
        return 0;
    /* the detail as mc_image_decode clears it (mc__bmp_decode leaves it) */
    mc__ctx_detail(fuzz_ctx(), "%s", "");
    err = mc__bmp_decode(fuzz_ctx(), data, size, &img);
    fuzz_check_cap(fuzz_ctx(), err);
    if (err == MC_OK) {
        fuzz_check_decoded(img, data, size, true);
        mc_image_free(img);
    }
    return 0;
}
