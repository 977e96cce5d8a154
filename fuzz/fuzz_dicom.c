/* DICOM Part 10 reader (codec_dicom.c): mc_dicom_inspect on anything, then
 * decode; a decoded file must come back byte for byte, whole
 * (mc_image_encode) and streamed (mc_image_encode_to) alike. The in-place
 * decoder (mc_image_decode_owned, which takes a copy of the input over)
 * must give the same image, or the same error, as mc_image_decode. */
#include "common.h"

/* Gathers mc_image_encode_to's pieces. */
struct sink {
    uint8_t *p;
    size_t len;
};

static int sink_write(void *user, const uint8_t *data, size_t len)
{
    struct sink *k = user;
    uint8_t *p = realloc(k->p, k->len + len > 0 ? k->len + len : 1);

    FUZZ_CHECK(p != NULL);
    memcpy(p + k->len, data, len);
    k->p = p;
    k->len += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mc_ctx *ctx = fuzz_ctx();
    mc_dicom_info info;
    mc_image *img = NULL, *ref = NULL, *owned = NULL;
    uint8_t *copy;
    mc_err err, err_owned;

    if (mc_dicom_inspect(ctx, data, size, &info) == MC_OK) {
        FUZZ_CHECK(info.transfer_syntax_name != NULL);
        FUZZ_CHECK(memchr(info.transfer_syntax, '\0', sizeof info.transfer_syntax) != NULL);
        FUZZ_CHECK(memchr(info.photometric, '\0', sizeof info.photometric) != NULL);
    }
    (void)mc_ctx_last_detail(ctx);
    if (!mc__dicom_sniff(data, size))
        return 0;
    if (mc__dicom_decode(ctx, data, size, &img) == MC_OK) {
        struct sink k = {NULL, 0};
        FUZZ_CHECK(mc_image_dicom_info(img, &info) == MC_OK);
        fuzz_check_decoded(img, data, size, true);
        FUZZ_CHECK(mc_image_encode_to(ctx, img, sink_write, &k) == MC_OK);
        FUZZ_CHECK(k.len == size && memcmp(k.p, data, size) == 0);
        free(k.p);
        mc_image_free(img);
    }

    err = mc_image_decode(ctx, data, size, NULL, &ref);
    fuzz_check_cap(ctx, err);
    FUZZ_CHECK((copy = malloc(size > 0 ? size : 1)) != NULL);
    memcpy(copy, data, size);
    err_owned = mc_image_decode_owned(ctx, copy, size, NULL, &owned); /* takes copy */
    FUZZ_CHECK(err_owned == err);
    fuzz_check_cap(ctx, err);
    if (err == MC_OK) {
        FUZZ_CHECK(same_samples(ref, owned));
        FUZZ_CHECK(ref->format == owned->format && ref->frames == owned->frames &&
                   ref->side_len == owned->side_len &&
                   (ref->side_len == 0 || memcmp(ref->side, owned->side, ref->side_len) == 0));
        mc_image_free(owned);
        mc_image_free(ref);
    }
    return 0;
}
