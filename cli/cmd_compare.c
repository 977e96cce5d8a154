/* medcrypt compare: what two image files hold, sample by sample, whatever
 * their formats. cmp(1) says a decrypted PNG differs from its original,
 * and it does, byte for byte: the PNG is written anew; its samples do not
 * (a batch audit: an administrator checking a round trip with cmp saw
 * failures). */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* optind */

#include <sodium.h>

static const char HELP[] =
    "Usage: medcrypt compare [--max-pixels N] IMAGE1 IMAGE2\n"
    "\n"
    "Compares what two image files hold, sample by sample, whatever their\n"
    "formats: an original and the file decrypted from its cipher image, say.\n"
    "A DICOM, PGM/PPM or BMP comes back byte for byte (cmp says so too), but a\n"
    "PNG comes back as the same samples in a file written anew, and a JPEG as a\n"
    "PNG of its decoded pixels: cmp tells those apart, compare does not.\n"
    "\n"
    "Says 'the same samples' on standard output and exits 0 when the width,\n"
    "height, channels, bit depth and every sample agree; else says where they\n"
    "first differ and how many samples do (a signed DICOM's samples as their\n"
    "signed values), and exits 1. Exits 2 when a file cannot be read as an\n"
    "image (the problem on stderr), as cmp does.\n"
    "\n"
    "Options:\n"
    "        --max-pixels N    largest image, in samples W*H*C; K, M, G = 2^10,\n"
    "                          2^20, 2^30 (default 256M; at most 4G)\n"
    "    -h, --help            this help\n";

static bool load(mc_ctx *ctx, size_t max_input, const char *path, mc_image **img)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mc_err err;

    if (!cli_read_file(path, max_input, &buf, &len))
        return false;
    err = mc_image_decode(ctx, buf, len, NULL, img);
    sodium_memzero(buf, len); /* a plain patient image */
    free(buf);
    if (err != MC_OK) {
        cli_report(path, ctx, err);
        return false;
    }
    return true;
}

/* As info says it: a multi-frame image (DICOM) frame by frame. */
static void geometry(char *out, size_t size, const mc_image_info *i)
{
    char frames[32] = "";

    if (i->frames > 1)
        snprintf(frames, sizeof frames, ", %" PRIu32 " frames", i->frames);
    snprintf(out, size, "%" PRIu32 " x %" PRIu32 "%s, %u channel%s, %u-bit", i->width,
             i->frames > 1 ? i->height / i->frames : i->height, frames,
             (unsigned)i->channels, i->channels == 1 ? "" : "s", (unsigned)i->bits);
}

static unsigned sample_at(const uint8_t *s, unsigned bits, size_t i)
{
    if (bits == 16) {
        uint16_t v;
        memcpy(&v, s + 2 * i, 2); /* host order, as mc_image_samples gives them */
        return v;
    }
    return s[i];
}

/* How a sample is shown: a signed DICOM's as the stored value it holds
 * (PS3.5 section 8.1.1: two's complement in Bits Stored bits ending at
 * High Bit), as info and a viewer give it: "63536 against 63537" was a CT's
 * -2000 against -1999. Other samples as they are. */
struct shown {
    bool is_signed;
    unsigned shift, bits;
};

static void shown_of(const mc_image *img, const mc_image_info *ii, struct shown *sh)
{
    mc_dicom_info di;
    unsigned bits, high;

    memset(sh, 0, sizeof *sh);
    if (ii->format != MC_FORMAT_DICOM || mc_image_dicom_info(img, &di) != MC_OK ||
        di.pixel_representation != 1)
        return;
    bits = di.bits_stored;
    high = di.high_bit;
    if (bits == 0 || bits > ii->bits || high >= ii->bits || high + 1u < bits) {
        bits = ii->bits; /* inconsistent: the whole word, as preview reads it */
        high = ii->bits - 1u;
    }
    sh->is_signed = true;
    sh->shift = high + 1u - bits;
    sh->bits = bits;
}

static long shown_value(const struct shown *sh, unsigned raw)
{
    unsigned v;

    if (!sh->is_signed)
        return (long)raw;
    v = (raw >> sh->shift) & ((1u << sh->bits) - 1u);
    return (v >> (sh->bits - 1u)) != 0 ? (long)v - (1L << sh->bits) : (long)v;
}

/* 0 the same, 1 different (said on stdout). */
static int compare(const char *p1, const char *p2, mc_image *a, mc_image *b)
{
    mc_image_info ia, ib;
    char ga[96], gb[96], channel[32] = "", where[96];
    size_t la, lb, n, px, first = SIZE_MAX, differ = 0;
    const uint8_t *sa, *sb;
    struct shown sha, shb;

    mc_image_get_info(a, &ia);
    mc_image_get_info(b, &ib);
    geometry(ga, sizeof ga, &ia);
    geometry(gb, sizeof gb, &ib);
    if (ia.width != ib.width || ia.height != ib.height || ia.frames != ib.frames ||
        ia.channels != ib.channels || ia.bits != ib.bits) {
        printf("%s and %s differ: %s against %s\n", p1, p2, ga, gb);
        return 1;
    }
    sa = mc_image_samples_const(a, &la);
    sb = mc_image_samples_const(b, &lb);
    n = la / (ia.bits / 8);
    if (la == lb && memcmp(sa, sb, la) == 0) {
        printf("%s and %s: the same samples (%s)\n", p1, p2, ga);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (sample_at(sa, ia.bits, i) != sample_at(sb, ia.bits, i)) {
            if (first == SIZE_MAX)
                first = i;
            differ++;
        }
    px = first / ia.channels;
    if (ia.channels > 1)
        snprintf(channel, sizeof channel, ", channel %zu", first % ia.channels);
    if (ia.frames > 1) {
        size_t frame_h = ia.height / ia.frames, y = px / ia.width;
        snprintf(where, sizeof where, "frame %zu, x %zu, y %zu", y / frame_h + 1,
                 px % ia.width, y % frame_h);
    } else {
        snprintf(where, sizeof where, "x %zu, y %zu", px % ia.width, px / ia.width);
    }
    shown_of(a, &ia, &sha);
    shown_of(b, &ib, &shb);
    printf("%s and %s differ: %zu of %zu samples, the first at %s%s: %ld against %ld\n", p1, p2,
           differ, n, where, channel, shown_value(&sha, sample_at(sa, ia.bits, first)),
           shown_value(&shb, sample_at(sb, ia.bits, first)));
    return 1;
}

int cmd_compare(int argc, char **argv)
{
    unsigned long long max_pixels;
    mc_image *a = NULL, *b = NULL;
    mc_ctx *ctx = NULL;
    size_t max_input;
    int rc;

    /* failures are 2, as cmp(1)'s: 1 says the images differ */
    if ((rc = cli_pixels_options("compare", HELP, 2, argc, argv, &max_pixels)) >= 0)
        return rc;
    rc = 2;
    if (argc - optind != 2) {
        cli_error(NULL, "compare: takes two image files, not %d", argc - optind);
        cli_hint("run 'medcrypt compare --help'");
        return 2;
    }
    if (strcmp(argv[optind], "-") == 0 && strcmp(argv[optind + 1], "-") == 0) {
        cli_error(NULL, "compare: standard input can be read only once");
        return 2;
    }
    if (!cli_ctx_new(&ctx))
        return 2;
    max_input = cli_apply_max_pixels(ctx, max_pixels);
    if (load(ctx, max_input, argv[optind], &a) && load(ctx, max_input, argv[optind + 1], &b)) {
        /* the names on stdout: control characters as '?', as elsewhere */
        cli_printable(argv[optind]);
        cli_printable(argv[optind + 1]);
        rc = compare(cli_input_name(argv[optind]), cli_input_name(argv[optind + 1]), a, b);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("standard output", "write failed");
            rc = 2;
        }
    }
    mc_image_free(a); /* wipes the samples */
    mc_image_free(b);
    mc_ctx_free(ctx);
    return rc;
}
