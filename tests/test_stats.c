/*
 * The stages' statistics on a real CT (a sanity check, not the analysis
 * suite): what each stage is supposed to do, it does.
 *   - scrambling moves samples only: same histogram, correlation gone
 *     (to |r| < 0.03: it moves 16-byte chunks);
 *   - Hénon moves bits only: it spreads the histogram but cannot make it
 *     uniform (it keeps the number of 1 bits), neighbours stay independent;
 *   - the full cipher: entropy > 7.99 bits, |horizontal correlation| < 0.01.
 */
#include "helpers.h"

#include <math.h>

static double entropy8(const uint8_t *s, size_t n)
{
    size_t hist[256] = {0};
    double e = 0.0;
    for (size_t i = 0; i < n; i++)
        hist[s[i]]++;
    for (int v = 0; v < 256; v++)
        if (hist[v] > 0) {
            double p = (double)hist[v] / (double)n;
            e -= p * log2(p);
        }
    return e;
}

/* Pearson correlation of horizontally adjacent samples, all pairs. */
static double corr_h(const uint8_t *s, uint32_t w, uint32_t h)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x + 1 < w; x++) {
            double a = s[(size_t)y * w + x], b = s[(size_t)y * w + x + 1];
            sx += a;
            sy += b;
            sxx += a * a;
            syy += b * b;
            sxy += a * b;
            n += 1;
        }
    return (n * sxy - sx * sy) / sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

static void test_ct_statistics(void **state)
{
    mc_ctx *ctx = NULL;
    size_t len;
    uint8_t *buf = read_testdata("png/ct_512_8bit.png", &len);
    uint8_t nonce[MC_NONCE_BYTES] = {0};
    mc_image *plain = NULL, *img = NULL;
    mc__header hdr;
    mc_key key;
    static const char *const names[] = {"scrambled:", "+ Henon:", "+ logistic:", "+ XChaCha20:"};
    double e_plain, c_plain;
    (void)state;

    test_key(&key, 0);
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &plain), MC_OK);
    assert_int_equal(plain->bits, 8);
    assert_int_equal(plain->channels, 1);
    e_plain = entropy8(plain->samples, plain->samples_len);
    c_plain = corr_h(plain->samples, plain->width, plain->height);
    printf("plain:      entropy %.4f  corr_h %+.4f\n", e_plain, c_plain);
    assert_true(c_plain > 0.8); /* a real image: neighbours alike */

    for (int s = MC_STAGES_PERM; s <= MC_STAGES_ALL; s++) {
        double e, c;
        assert_int_equal(mc_image_decode(ctx, buf, len, NULL, &img), MC_OK);
        assert_int_equal(mc__encrypt_inplace(&key, img, nonce, s, &hdr, 1), MC_OK);
        e = entropy8(img->samples, img->samples_len);
        c = corr_h(img->samples, img->width, img->height);
        printf("%-12s entropy %.4f  corr_h %+.4f\n", names[s - 1], e, c);
        if (s == MC_STAGES_PERM)
            assert_true(fabs(e - e_plain) < 1e-12); /* a permutation */
        else if (s == MC_STAGES_HENON)
            assert_true(e > e_plain + 1.0); /* bits spread, no diffusion yet */
        else
            assert_true(e > 7.99);
        /* The scrambling alone moves 16-byte chunks: two chunks side by
         * side pair their samples in every row, so the horizontal
         * correlation of the scrambled CT varies between keys with a
         * standard deviation of about 0.01 (docs/FORMAT.md §4.8): 3 of
         * them allowed, also after the Hénon stage (it moves bits
         * inside samples and between distant words, not between
         * neighbours). With the diffusion: that of random data. */
        assert_true(fabs(c) < (s <= MC_STAGES_HENON ? 0.03 : 0.01));
        mc_image_free(img);
    }
    mc_image_free(plain);
    mc_ctx_free(ctx);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
