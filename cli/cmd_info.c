/* medcrypt info / preview: what medcrypt sees in a file, and a picture of
 * it for people. Neither ever prints a patient identifier: info shows the
 * geometry, the DICOM transfer syntax and the Image Pixel module values
 * only, never another element's value. */
#include "cli.h"
#include "internal.h" /* mc__pnm_maxval */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PREVIEW_SUFFIX ".preview.png"

static const char INFO_HELP[] =
    "Usage: medcrypt info [--max-pixels N] FILE...\n"
    "\n"
    "Prints what medcrypt sees in each FILE: the format, width x height,\n"
    "channels, bits per sample and frames. For DICOM also the transfer syntax\n"
    "(UID and name), photometric interpretation, bits stored, signed or unsigned,\n"
    "planar configuration, and whether medcrypt can encrypt it (compressed\n"
    "transfer syntaxes are described but not supported). For a cipher image:\n"
    "the format version, the key id and the original format and geometry (no key\n"
    "needed), and any chunks another program added to it (not verified).\n"
    "\n"
    "info never prints a patient identifier: no DICOM element value other than\n"
    "the transfer syntax, the Image Pixel module and the display window (VOI LUT\n"
    "module: Window Center and Width) is shown.\n"
    "\n"
    "Options:\n"
    "        --max-pixels N    largest plain image read, in samples W*H*C; K, M, G =\n"
    "                          2^10, 2^20, 2^30 (default 256M; at most 4G). A cipher\n"
    "                          image or DICOM file is described at any size.\n"
    "    -h, --help            this help\n"
    "\n"
    "Exit status: 0 if every FILE was described (a DICOM file medcrypt cannot\n"
    "encrypt is still described, with the reason), 1 if any could not be read.\n";

static const char PREVIEW_HELP[] =
    "Usage: medcrypt preview [-k KEYFILE] [-o OUTPUT.png] [--force] [--max-pixels N]\n"
    "                        FILE\n"
    "\n"
    "Writes an 8-bit PNG of FILE for people to look at (not lossless: use\n"
    "'medcrypt decrypt' for the exact image). DICOM images are shown with the\n"
    "file's first Window Center/Width (else their min..max), rescaled values,\n"
    "signed samples and MONOCHROME1 inverted as a DICOM viewer would; other\n"
    "16-bit images are stretched from min..max; 8-bit images are copied; alpha\n"
    "is kept. A multi-frame image shows its first frame.\n"
    "\n"
    "If FILE is a cipher image, it is decrypted first (the key is needed);\n"
    "chunks another program added to it are not verified, and a note names them.\n"
    "\n"
    "Options:\n"
    "    -k, --key KEYFILE     the key file, '-' for standard input (else\n"
    "                          $MEDCRYPT_KEY, else a prompt)\n"
    "    -o, --output OUTPUT   output PNG (default FILE.preview.png); '-': standard\n"
    "                          output\n"
    "    -f, --force           replace an existing output file\n"
    "        --max-pixels N    largest image, in samples W*H*C; K, M, G = 2^10,\n"
    "                          2^20, 2^30 (default 256M; at most 4G)\n"
    "    -h, --help            this help\n";

/* ------------------------------------------------------------------ */
/* info                                                                */

/* A DICOM that is not read (inspected only) may say any Samples per
 * Pixel: a count without a name is only a count (any other was called
 * "4 channels (RGBA)", found by mutation testing's sixth round). */
static const char *channels_word(unsigned c, char buf[32])
{
    switch (c) {
    case 1: return "1 channel (gray)";
    case 2: return "2 channels (gray+alpha)";
    case 3: return "3 channels (RGB)";
    case 4: return "4 channels (RGBA)";
    default: snprintf(buf, 32, "%u channels", c); return buf;
    }
}

static void print_geometry(const mc_image_info *ii)
{
    char word[32];

    printf("%ux%u, %s, %u-bit", (unsigned)ii->width,
           (unsigned)(ii->frames > 1 ? ii->height / ii->frames : ii->height),
           channels_word(ii->channels, word), (unsigned)ii->bits);
    if (ii->frames > 1)
        printf(", %u frames (stacked: %ux%u)", (unsigned)ii->frames, (unsigned)ii->width,
               (unsigned)ii->height);
    else
        printf(", 1 frame");
}

/* Only characters a CS value may hold (PS3.5 §6.2: upper case, digits,
 * space, underscore); anything else is shown as '?'. */
static void print_cs(const char *s)
{
    for (; *s != '\0'; s++)
        putchar((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == ' ' || *s == '_'
                    ? *s : '?');
}

static void print_dicom(const mc_dicom_info *di, const char *reason)
{
    printf("  transfer syntax: %s (%s)\n", di->transfer_syntax, di->transfer_syntax_name);
    if (di->pixel_module) {
        printf("  photometric interpretation: ");
        print_cs(di->photometric);
        printf("\n  rows %u, columns %u, samples per pixel %u, frames %u\n",
               (unsigned)di->rows, (unsigned)di->columns, (unsigned)di->samples_per_pixel,
               (unsigned)di->frames);
        printf("  bits allocated %u, bits stored %u, high bit %u, %s\n",
               (unsigned)di->bits_allocated, (unsigned)di->bits_stored, (unsigned)di->high_bit,
               di->pixel_representation == 1 ? "signed" : "unsigned");
        if (di->samples_per_pixel > 1)
            printf("  planar configuration: %u (%s)\n", (unsigned)di->planar_configuration,
                   di->planar_configuration == 1 ? "RRR...GGG...BBB..." : "RGBRGB...");
        if (di->has_window)
            printf("  window: center %g, width %g\n", di->window_center, di->window_width);
    }
    if (di->supported)
        printf("  encryptable: yes (the pixel data becomes the cipher image, the rest of the "
               "file travels encrypted with it)\n");
    else
        printf("  encryptable: no%s%s\n", reason[0] != '\0' ? ": " : "", reason);
}

static void print_cipher(const mc_cipher_info *ci)
{
    char hex[2 * MC_KEY_ID_BYTES + 1];

    sodium_bin2hex(hex, sizeof hex, ci->key_id, MC_KEY_ID_BYTES);
    printf("medcrypt cipher image, format version %u, key id %s, original format %s (.%s), ",
           (unsigned)ci->version, hex, mc_format_name(ci->image.format), ci->image.extension);
    print_geometry(&ci->image);
    putchar('\n');
}

/* A plain image medcrypt reads: format and geometry. */
static bool info_plain(mc_ctx *ctx, const char *path, const uint8_t *buf, size_t len)
{
    mc_image *img = NULL;
    mc_image_info ii;
    uint32_t maxval;
    mc_err err;

    if ((err = mc_image_decode(ctx, buf, len, NULL, &img)) != MC_OK) {
        cli_report(path, ctx, err);
        return false;
    }
    mc_image_get_info(img, &ii);
    maxval = mc__pnm_maxval(img);
    mc_image_free(img);
    printf("%s: %s, ", path, mc_format_name(ii.format));
    print_geometry(&ii);
    /* a 12-bit CT as a PGM is 16-bit samples of maxval 4095 */
    if (maxval != 0 && maxval != 255 && maxval != 65535)
        printf(", maxval %u", (unsigned)maxval);
    /* What the PNG's own IHDR says (PNG §11.2.1: bit depth at byte 24,
     * colour type at 25), where medcrypt widens it: the decrypted PNG is
     * 8-bit RGB(A) or 8-bit grey, with the same pixels. */
    if (ii.format == MC_FORMAT_PNG && len >= 26) {
        if (buf[25] == 3)
            printf(", stored as %u-bit palette indices", (unsigned)buf[24]);
        else if (buf[25] == 0 && buf[24] < 8)
            printf(", stored as %u-bit gray", (unsigned)buf[24]);
    }
    putchar('\n');
    return true;
}

static bool info_one(mc_ctx *ctx, size_t max_input, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    mc_cipher_info ci;
    mc_dicom_info di;
    char word[32];
    bool ok = true;
    mc_err err;
    char shown[4096]; /* the name on stdout: control characters as '?' */
    char foreign[96];

    if (!cli_read_file(path, max_input, &buf, &len))
        return false;
    snprintf(shown, sizeof shown, "%s", cli_input_name(path));
    cli_printable(shown);
    path = shown;
    if ((err = mc_cipher_inspect(ctx, buf, len, &ci)) == MC_OK) {
        printf("%s: ", path);
        print_cipher(&ci);
        mc_cipher_foreign_chunks(buf, len, foreign, sizeof foreign);
        if (foreign[0] != '\0')
            printf("  chunks another program added: %s (not verified; decryption does not "
                   "copy them)\n", foreign);
    } else if (err == MC_EVERSION || err == MC_ETAMPERED) {
        /* A cipher image with a byte appended or cut is one still: not a
         * plain PNG of noise. */
        cli_report(path, ctx, err); /* MC_EVERSION's detail: which version */
        if (cli_cut_short(buf, len, err))
            cli_hint_cut_short();
        ok = false;
    } else if (mc_dicom_inspect(ctx, buf, len, &di) == MC_OK) {
        printf("%s: dicom", path);
        if (di.pixel_module) {
            printf(", %ux%u, %s, %u-bit, %u frame%s", (unsigned)di.columns, (unsigned)di.rows,
                   channels_word(di.samples_per_pixel, word), (unsigned)di.bits_allocated,
                   (unsigned)di.frames, di.frames == 1 ? "" : "s");
        }
        putchar('\n');
        print_dicom(&di, mc_ctx_last_detail(ctx));
    } else {
        ok = info_plain(ctx, path, buf, len);
    }
    sodium_memzero(buf, len); /* may be a plain patient image */
    free(buf);
    return ok;
}

int cmd_info(int argc, char **argv)
{
    unsigned long long max_pixels;
    mc_ctx *ctx = NULL;
    size_t max_input;
    int rc, failures = 0;

    if ((rc = cli_pixels_options("info", INFO_HELP, 1, argc, argv, &max_pixels)) >= 0)
        return rc;
    if (optind == argc) {
        cli_error(NULL, "info: no input file");
        cli_hint("run 'medcrypt info --help'");
        return 1;
    }
    /* "-" twice: the second read found nothing and said "not an image"
     * (a review); refused, as encrypt and compare refuse it */
    for (int i = optind, seen = 0; i < argc; i++)
        if (strcmp(argv[i], "-") == 0 && seen++ > 0) {
            cli_error(NULL, "info: standard input can be read only once");
            return 1;
        }
    if (!cli_ctx_new(&ctx))
        return 1;
    max_input = cli_apply_max_pixels(ctx, max_pixels);
    for (int i = optind; i < argc; i++)
        failures += !info_one(ctx, max_input, argv[i]);
    mc_ctx_free(ctx);
    return failures == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* preview                                                             */

struct preview_opts {
    const char *key_file, *output;
    bool force;
    bool named; /* output given with -o (not NAME.preview.png) */
    unsigned long long max_pixels; /* 0: the default cap */
};

/* The image to preview: decrypted if buf is a cipher image. */
static bool load_image(mc_ctx *ctx, const struct preview_opts *o, const char *path,
                       const uint8_t *buf, size_t len, mc_image **img)
{
    mc_cipher_info ci;
    mc_key key;
    mc_err err;

    if ((err = mc_cipher_inspect(ctx, buf, len, &ci)) == MC_ETAMPERED || err == MC_EVERSION) {
        cli_report(path, ctx, err); /* MC_EVERSION's detail: which version */
        if (cli_cut_short(buf, len, err))
            cli_hint_cut_short();
        return false;
    }
    if (err == MC_OK) {
        if (!cli_load_key(o->key_file, &key))
            return false;
        err = mc_decrypt_image(ctx, &key, buf, len, img);
        mc_key_wipe(&key);
        if (err != MC_OK) {
            /* no cut-short hint: inspect, above, refuses a file without
             * its IEND (found by mutation testing, eighteenth round) */
            cli_report(path, ctx, err);
            return false;
        }
        return true;
    }
    if ((err = mc_image_decode(ctx, buf, len, NULL, img)) != MC_OK) {
        cli_report(path, ctx, err);
        return false;
    }
    return true;
}

static bool preview_one(const struct preview_opts *o, const char *path, const char *output)
{
    uint8_t *buf = NULL, *png = NULL;
    size_t len = 0, png_len = 0;
    mc_image *img = NULL;
    mc_ctx *ctx = NULL;
    bool ok = false;
    mc_err err;

    if (!cli_ctx_new(&ctx))
        return false;
    if (!cli_read_file(path, cli_apply_max_pixels(ctx, o->max_pixels), &buf, &len) ||
        !load_image(ctx, o, path, buf, len, &img))
        goto out;
    if ((err = mc_image_preview_png(ctx, img, &png, &png_len)) != MC_OK) {
        cli_error(path, "preview: %s", mc_strerror(err));
        goto out;
    }
    /* The preview shows the patient's image: written like a decrypted one. */
    ok = cli_write_file(output, png, png_len, o->force, cli_mode(true), o->named);
    if (ok) { /* "" for a plain image */
        char added[96];
        mc_cipher_foreign_chunks(buf, len, added, sizeof added);
        if (added[0] != '\0')
            cli_error(path, CLI_ADDED_CHUNKS_NOTE, added);
    }
out:
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    if (png != NULL) {
        sodium_memzero(png, png_len);
        mc_free(png);
    }
    mc_image_free(img);
    mc_ctx_free(ctx);
    return ok;
}

int cmd_preview(int argc, char **argv)
{
    enum { OPT_PIXELS = 256 };
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},     {"help", no_argument, NULL, 'h'},
        {"max-pixels", required_argument, NULL, OPT_PIXELS}, {NULL, 0, NULL, 0}};
    static const char optstring[] = "+k:o:fh";
    struct preview_opts o = {NULL, NULL, false, false, 0};
    char *output = NULL;
    const char *input;
    int c, rc = 1;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'k': o.key_file = optarg; break;
        case 'o': o.output = optarg; break;
        case 'f': o.force = true; break;
        case 'h': fputs(PREVIEW_HELP, stdout); return 0;
        case OPT_PIXELS:
            if (!cli_max_pixels_arg("preview", optarg, &o.max_pixels))
                return 1;
            break;
        default:
            cli_bad_option("preview", optstring, argc, argv);
            return 1;
        }
    }
    if (!cli_files_only("preview", argc, argv))
        return 1;
    if (argc - optind != 1) {
        cli_error(NULL, "preview: give exactly one FILE");
        cli_hint("run 'medcrypt preview --help'");
        return 1;
    }
    input = argv[optind];
    if (o.output == NULL && strcmp(input, "-") == 0) {
        cli_error(NULL, "preview: standard input needs -o OUTPUT.png");
        return 1;
    }
    if (o.output == NULL) {
        size_t n = strlen(input) + sizeof PREVIEW_SUFFIX;
        if ((output = malloc(n)) == NULL) {
            cli_error(NULL, "out of memory");
            return 1;
        }
        snprintf(output, n, "%s%s", input, PREVIEW_SUFFIX);
    }
    o.named = o.output != NULL;
    o.output = o.output != NULL ? o.output : output;
    if (strcmp(input, "-") == 0 && o.key_file != NULL && strcmp(o.key_file, "-") == 0) {
        cli_error(NULL, "preview: standard input can be read only once: the key (-k -) or "
                        "the FILE '-', not both");
        goto out;
    }
    /* Fail early, before any work, if the output is the input (before
     * "already exists": it does) or taken. */
    if (cli_same_file(input, o.output)) {
        cli_error(input, "the output would overwrite the input");
        goto out;
    }
    if (o.key_file != NULL && cli_same_file(o.key_file, o.output)) {
        cli_error(o.output, "the output would overwrite the key file (-k)");
        goto out;
    }
    if (cli_output_taken(o.output, o.force, o.named, NULL))
        goto out;
    rc = preview_one(&o, input, o.output) ? 0 : 1;
out:
    free(output);
    return rc;
}
