/* PNG decoder (codec_png.c over libspng): decode, re-encode, re-decode. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_image *img = NULL;
    mc__png_chunk want = {.type = MC_CHUNK_TYPE};

    if (!mc__png_sniff(data, size))
        return 0;
    if (mc__png_decode(fuzz_ctx(), data, size, &img, NULL) == MC_OK) {
        fuzz_check_decoded(img, data, size, false);
        mc_image_free(img);
    }
    /* The container's path: the same decoder asked for the private chunk. */
    if (mc__png_decode(fuzz_ctx(), data, size, &img, &want) == MC_OK) {
        FUZZ_CHECK(want.data != NULL || want.len == 0);
        mc_image_free(img);
    }
    free(want.data);
    return 0;
}
