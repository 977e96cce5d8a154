/* DICOM Part 10 reader (codec_dicom.c): mc_dicom_inspect on anything, then
 * decode; a decoded file must come back byte for byte. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_ctx *ctx = fuzz_ctx();
    mc_dicom_info info;
    mc_image *img = NULL;

    if (mc_dicom_inspect(ctx, data, size, &info) == MC_OK) {
        FUZZ_CHECK(info.transfer_syntax_name != NULL);
        FUZZ_CHECK(memchr(info.transfer_syntax, '\0', sizeof info.transfer_syntax) != NULL);
        FUZZ_CHECK(memchr(info.photometric, '\0', sizeof info.photometric) != NULL);
    }
    (void)mc_ctx_last_detail(ctx);
    if (!mc__dicom_sniff(data, size))
        return 0;
    if (mc__dicom_decode(ctx, data, size, &img) == MC_OK) {
        FUZZ_CHECK(mc_image_dicom_info(img, &info) == MC_OK);
        fuzz_check_decoded(img, data, size, true);
        mc_image_free(img);
    }
    return 0;
}
