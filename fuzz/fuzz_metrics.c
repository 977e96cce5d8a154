/* The analysis (metrics.c, report.c): every metric of the public header
 * on a small image built from the input, the distributions' functions on
 * arguments taken from it, and, for the smallest images, the whole
 * analysis with its JSON, HTML and text. The metrics are written by hand
 * (DESIGN.md), and until this target only the unit tests' chosen images
 * reached them: here a 1x1 image, a constant one, a 16-bit one with two
 * values and odd block sizes do.
 *
 * Input: byte 0 flags (bit 0: 16 bits; bit 1: the whole analysis; bits
 * 2-6: how, at check_analysis), 1: width - 1 (mod 24), 2: height - 1
 * (mod 24), 3: channels - 1 (mod 4), 4-5: local entropy's k and block,
 * 6-7: pairs and direction, 8-15: a count of samples (its top 6 bits its
 * length e, the next e bits the count), 16-23 and 24-31: two doubles, as
 * bytes (NaN, infinities and subnormals included); then the samples,
 * repeated to fill the image. Checked: each value in its range (a
 * percentage in [0, 100], an entropy in [0, bits], a correlation in
 * [-1, 1] or NaN), a plane compared with itself gives its ideal, the
 * critical values are ordered and the chi-square's is the inverse of its
 * tail, and the JSON and the HTML hold no NaN or infinity (JSON has
 * none; the page says n/a or the infinity sign), the text no NaN. */
#include "common.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <strings.h>

#define EPS 1e-9

/* The little-endian 64-bit word at p, from internal.h's 32-bit halves. */
static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)mc__le32(p + 4) << 32 | mc__le32(p);
}

static double as_double(const uint8_t *p)
{
    uint64_t v = le64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static bool in(double v, double lo, double hi)
{
    return v >= lo - EPS && v <= hi + EPS;
}

static void check_plane(const mc_plane *p, const mc_plane *other, const uint8_t *hdr)
{
    size_t n_bins = (size_t)1 << p->bits, n = (size_t)p->width * p->height;
    uint64_t *hist = calloc(n_bins, sizeof *hist), total = 0;
    double chi2, h, r, npcr, uaci, mse, psnr, ssim, mean;
    unsigned k = 1 + hdr[4] % 6, block = 1 + hdr[5] % 40;
    size_t n_pairs = hdr[6] % 3 == 0 ? 0 : 1 + hdr[6] % 50;
    mc_direction dir = (mc_direction)(hdr[7] % 3);
    uint32_t xs[64], ys[64];

    FUZZ_CHECK(hist != NULL);
    FUZZ_CHECK(mc_metric_histogram(p, hist, n_bins) == MC_OK);
    for (size_t i = 0; i < n_bins; i++)
        total += hist[i];
    FUZZ_CHECK(total == n);
    FUZZ_CHECK(mc_metric_chi_square(hist, n_bins, &chi2) == MC_OK);
    /* At most every sample in one bin: (K - 1) T. */
    FUZZ_CHECK(isfinite(chi2) && in(chi2, 0, (double)(n_bins - 1) * (double)n * (1 + EPS)));
    FUZZ_CHECK(mc_metric_entropy(hist, n_bins, &h) == MC_OK);
    FUZZ_CHECK(in(h, 0, p->bits) && h <= log2((double)n) + EPS);
    free(hist);

    for (int d = 0; d < 3; d++) {
        if (mc_metric_correlation(p, (mc_direction)d, n_pairs, le64(hdr + 8), &r) == MC_OK)
            FUZZ_CHECK(isnan(r) || in(r, -1, 1));
    }
    if (n_pairs > 0 && mc_metric_pairs(p, dir, n_pairs, le64(hdr + 8), xs, ys) == MC_OK) {
        for (size_t i = 0; i < n_pairs; i++)
            FUZZ_CHECK(xs[i] < n_bins && ys[i] < n_bins);
    }
    if (mc_metric_local_entropy(p, k, block, le64(hdr + 8), &mean) == MC_OK)
        FUZZ_CHECK(in(mean, 0, p->bits) && mean <= log2((double)block) + EPS);

    /* Against itself: the ideal of each comparison. */
    FUZZ_CHECK(mc_metric_npcr_uaci(p, p, &npcr, &uaci) == MC_OK);
    FUZZ_CHECK(npcr == 0.0 && uaci == 0.0);
    FUZZ_CHECK(mc_metric_mse_psnr(p, p, &mse, &psnr) == MC_OK);
    FUZZ_CHECK(mse == 0.0 && isinf(psnr) && psnr > 0);
    if (mc_metric_cross_correlation(p, p, &r) == MC_OK)
        FUZZ_CHECK(isnan(r) || fabs(r - 1.0) < EPS);
    if (mc_metric_ssim(p, p, &ssim) == MC_OK)
        FUZZ_CHECK(fabs(ssim - 1.0) < EPS);

    /* Against another channel of the same image. */
    FUZZ_CHECK(mc_metric_npcr_uaci(p, other, &npcr, &uaci) == MC_OK);
    FUZZ_CHECK(in(npcr, 0, 100) && in(uaci, 0, 100) && (npcr > 0 || uaci == 0));
    FUZZ_CHECK(mc_metric_mse_psnr(p, other, &mse, &psnr) == MC_OK);
    FUZZ_CHECK(mse >= 0 && isfinite(mse) && (mse == 0 ? isinf(psnr) : isfinite(psnr)));
    if (mc_metric_cross_correlation(p, other, &r) == MC_OK)
        FUZZ_CHECK(isnan(r) || in(r, -1, 1));
    if (mc_metric_ssim(p, other, &ssim) == MC_OK)
        FUZZ_CHECK(in(ssim, -1, 1));
}

/* The distributions, on arguments from the input: they must answer (no
 * endless loop), in range, and agree with each other where defined. */
static void check_distributions(const uint8_t *hdr, uint8_t bits)
{
    /* Counts of samples of any size up to 2^32 (--max-pixels' largest),
     * log-uniform: the top 6 bits give the length e, the next e bits the
     * count (so that every count of e bits can be given). */
    unsigned e = (unsigned)(hdr[15] >> 2) % 33;
    uint64_t n = e == 0 ? 0 : (le64(hdr + 8) << 6) >> (64 - e);
    double u = as_double(hdr + 16), v = as_double(hdr + 24), mean, star, lo, hi, x, q;

    /* A level above one half puts a one-sided critical value on the
     * other side of the mean: only finite there. */
    if (mc_entropy_critical(n, bits, u, &mean, &star) == MC_OK) {
        FUZZ_CHECK(in(mean, 0, bits) && mean <= log2((double)n) + EPS);
        FUZZ_CHECK(isfinite(star) && (u > 0.5 || star <= mean + EPS));
        /* From 256 samples per bin, mean - H* is z sd[H] with sd[H]
         * within 5 % of sqrt((K - 1) / 2) / (T ln 2). */
        if (n >= ((uint64_t)256 << bits) && u >= 1e-12 && u <= 0.4) {
            double k = (double)((uint32_t)1 << bits);
            double sd = sqrt((k - 1) / 2) / ((double)n * log(2.0));
            double r = (mean - star) / (-mc_normal_quantile(u) * sd);
            FUZZ_CHECK(r > 0.95 && r < 1.05);
        }
    }
    if (mc_npcr_critical(n, bits, u, &star) == MC_OK)
        FUZZ_CHECK(isfinite(star) && (u > 0.5 || star <= 100.0));
    if (mc_uaci_critical(n, bits, u, &lo, &hi) == MC_OK)
        FUZZ_CHECK(isfinite(lo) && isfinite(hi) && lo <= hi);

    q = mc_normal_quantile(u);
    if (u > 0 && u < 1) {
        FUZZ_CHECK(isfinite(q));
        /* Phi(q) = u, relative to the smaller tail. */
        if (u >= 1e-300 && u <= 1 - 1e-15) {
            double tail = u <= 0.5 ? 0.5 * erfc(-q / sqrt(2.0)) : 0.5 * erfc(q / sqrt(2.0));
            double want = u <= 0.5 ? u : 1.0 - u;
            FUZZ_CHECK(fabs(tail - want) <= 1e-9 * want);
        }
    } else {
        FUZZ_CHECK(isnan(q) || isinf(q));
    }

    x = mc_chi2_sf(u, v);
    FUZZ_CHECK(isnan(x) || in(x, 0, 1));
    if (v > 0 && isfinite(v) && !isnan(u))
        FUZZ_CHECK(!isnan(x));
    /* The critical value inverts the tail, for the degrees of freedom of
     * the analysis (255, 65535, up to 2^20), any fewer, and any level a
     * user asks. Under one degree of freedom the root can lie below the
     * least normal double, where the denormals are too coarse to hold
     * it: then the tail at DBL_MIN must be within the level already. */
    if (v > 0 && v <= 1048576 && u >= 1e-12 && u <= 1 - 1e-12) {
        x = mc_chi2_critical(v, u);
        FUZZ_CHECK(isfinite(x) && x >= 0);
        if (x >= DBL_MIN)
            FUZZ_CHECK(fabs(mc_chi2_sf(x, v) - u) <= 1e-6 * u);
        else
            FUZZ_CHECK(mc_chi2_sf(DBL_MIN, v) <= u * (1 + 1e-6));
    }
}

/* The word w ("nan", "inf") on its own, in any case, as printf writes a
 * NaN or an infinity ("Noonan" and "Information" are not). */
static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);

    for (const char *p = s; *p != '\0'; p++) {
        if (strncasecmp(p, w, n) == 0 && (p == s || !isalpha((unsigned char)p[-1])) &&
            !isalpha((unsigned char)p[n]))
            return true;
    }
    return false;
}

/* The whole analysis. Flags (byte 0): bit 2 without the stages; bit 3
 * with a cipher image given, as `medcrypt analyze --cipher` and the
 * analysis page take one: of this image (bit 4: of this image with its
 * first sample changed, which decrypts to another), with one of its bytes
 * flipped (bit 5, at byte 4's position), without its key (bit 6). */
static void check_analysis(mc_ctx *ctx, mc_image *img, uint8_t flags, uint8_t where)
{
    mc_key key;
    mc_analysis *a = NULL;
    mc_analysis_options opt = {.no_stages = (flags & 4) != 0, .no_timing = 1};
    char *json = NULL, *html = NULL, *text = NULL;
    uint8_t *cipher = NULL, *s;
    size_t len, cipher_len = 0;
    bool other = (flags & 0x10) != 0, no_key = (flags & 0x40) != 0;
    mc_err err;

    fuzz_key(&key);
    if (flags & 8) {
        s = mc_image_samples(img, &len);
        s[0] ^= other; /* the cipher of another image... */
        FUZZ_CHECK(mc_encrypt_image(ctx, &key, img, &cipher, &cipher_len) == MC_OK);
        s[0] ^= other; /* ...than the one analysed */
        if (flags & 0x20)
            cipher[where % cipher_len] ^= 0x20;
    }
    err = mc_analyze_ex(ctx, no_key ? NULL : &key, img, cipher, cipher_len, &opt, &a);
    /* Only a changed cipher image may be refused. */
    FUZZ_CHECK(err == MC_OK || (flags & 0x28) == 0x28);
    if (err != MC_OK) {
        mc_free(cipher);
        return;
    }
    FUZZ_CHECK(mc_analysis_json(a, &json, &len) == MC_OK && strlen(json) == len);
    FUZZ_CHECK(!has_word(json, "nan") && !has_word(json, "inf"));
    /* Whether a given cipher image decrypts to the plain one: known only
     * with the key. */
    if (cipher != NULL && no_key)
        FUZZ_CHECK(strstr(json, "\"cipher_decrypts_to_plain\":null") != NULL);
    else if (cipher != NULL && !(flags & 0x20))
        FUZZ_CHECK(strstr(json, other ? "\"cipher_decrypts_to_plain\":false"
                                      : "\"cipher_decrypts_to_plain\":true") != NULL);
    FUZZ_CHECK(mc_analysis_html(a, &html, &len) == MC_OK && strlen(html) == len);
    FUZZ_CHECK(!has_word(html, "nan") && !has_word(html, "inf"));
    FUZZ_CHECK(mc_analysis_text(a, &text, &len) == MC_OK && strlen(text) == len);
    /* The text table says "inf" for an exact decryption's PSNR, as its
     * ideal: an undefined value is "n/a" there. */
    FUZZ_CHECK(!has_word(text, "nan"));
    mc_free(json);
    mc_free(html);
    mc_free(text);
    mc_free(cipher);
    mc_analysis_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[32] = {0};
    const uint8_t *body = data + (size < sizeof hdr ? size : sizeof hdr);
    size_t body_len = size - (size_t)(body - data), len;
    mc_ctx *ctx = fuzz_ctx();
    mc_image *img = NULL;
    uint8_t *s, bits, channels;
    uint32_t w, h;

    memcpy(hdr, data, size < sizeof hdr ? size : sizeof hdr);
    bits = hdr[0] & 1 ? 16 : 8;
    w = 1 + hdr[1] % 24;
    h = 1 + hdr[2] % 24;
    channels = (uint8_t)(1 + hdr[3] % 4);
    FUZZ_CHECK(mc_image_new(ctx, w, h, channels, bits, &img) == MC_OK);
    s = mc_image_samples(img, &len);
    for (size_t i = 0; i < len && body_len > 0; i++)
        s[i] = body[i % body_len];

    for (unsigned c = 0; c < channels; c++) {
        mc_plane p, other;
        FUZZ_CHECK(mc_plane_of(img, c, &p) == MC_OK);
        FUZZ_CHECK(mc_plane_of(img, (c + 1) % channels, &other) == MC_OK);
        check_plane(&p, &other, hdr);
    }
    check_distributions(hdr, bits);
    /* The whole analysis encrypts the image some 20 times: only the
     * smallest, to keep the executions many. */
    if ((hdr[0] & 2) && (uint64_t)w * h * channels <= 64)
        check_analysis(ctx, img, hdr[0], hdr[4]);
    mc_image_free(img);
    return 0;
}
