/* medcrypt analyze: the security analysis of an image (issue 6,
 * docs/METRICS.md). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

static const char ANALYZE_HELP[] =
    "Usage: medcrypt analyze [--json] [--report OUT.html] [-k KEYFILE] [--seed N]\n"
    "                        [--force] [--max-pixels N] PLAIN [CIPHER]\n"
    "\n"
    "Measures what the image-encryption literature measures, for the plain image\n"
    "PLAIN (any format medcrypt reads) and its cipher image: histogram, chi-square\n"
    "with its critical value, global and local Shannon entropy, correlation of\n"
    "adjacent samples (horizontal, vertical, diagonal; all pairs and 2000 random\n"
    "pairs), NPCR and UACI with the Wu-Noonan-Agaian critical values, avalanche\n"
    "for a one-bit change of the plain image and of the key, key sensitivity,\n"
    "MSE/PSNR/SSIM of the decrypted image, timing, and the same statistics after\n"
    "each stage of the pipeline (scrambling, + Henon, + logistic, + XChaCha20).\n"
    "\n"
    "CIPHER, if given, is a cipher image of PLAIN: its statistics are measured\n"
    "instead of those of a fresh encryption, and with its key it is decrypted\n"
    "too (a warning if it is not PLAIN's). The differential, avalanche, key and\n"
    "stage figures always come from medcrypt's own encryptions of PLAIN.\n"
    "The key comes from -k, else $MEDCRYPT_KEY; without either a fresh random\n"
    "key is used (no prompt), and the output says so.\n"
    "\n"
    "Options:\n"
    "        --json            print one JSON object instead of the table\n"
    "        --report OUT.html\n"
    "                          also write a self-contained HTML report with\n"
    "                          plots ('-': the report alone on standard output)\n"
    "    -k, --key KEYFILE     the key file (else $MEDCRYPT_KEY, else a fresh\n"
    "                          random key)\n"
    "        --seed N          seed of the random pairs, blocks and flipped bits\n"
    "                          (default 20130601): same seed, same result\n"
    "    -f, --force           replace an existing report or stream file\n"
    "        --max-pixels N    largest image, in samples W*H*C; K, M, G = 2^10,\n"
    "                          2^20, 2^30 (default 256M; at most 4G)\n"
    "    -h, --help            this help\n"
    "\n"
    "Cipher stream for external randomness tests (dieharder, ent):\n"
    "    medcrypt analyze --stream MB [--stage STAGE] [-k KEYFILE] -o OUT PLAIN\n"
    "writes MB megabytes (1 to 2^30) of cipher samples to OUT ('-': a pipe):\n"
    "PLAIN encrypted again and again under nonces 0, 1, 2, ... with the stages\n"
    "up to STAGE (scrambling, henon, logistic or xchacha20, the default: the\n"
    "whole cipher). scripts/stream_tests.sh runs ent and dieharder on each\n"
    "stage's stream.\n"
    "\n"
    "The statistics describe the cipher image; they do not prove security.\n"
    "medcrypt's security rests on XChaCha20 and HMAC-SHA-512 (docs/SECURITY.md).\n";

static const char *const STAGE_NAMES[] = {"scrambling", "henon", "logistic", "xchacha20"};

/* --stream: MB megabytes of cipher samples to output. */
static int write_stream(mc_ctx *ctx, size_t max_input, const mc_key *key,
                        const char *plain_path, const char *output, bool force, uint64_t mb,
                        int stages)
{
    uint8_t *buf = NULL, *out = NULL;
    size_t len = 0, out_len, img_len = 0, per_chunk;
    uint64_t left = mb << 20;
    bool to_stdout = strcmp(output, "-") == 0;
    cli_output *file = NULL;
    mc_image *plain = NULL;
    int rc = 1;
    mc_err err;

    /* Up to a pebibyte, as good as endless: the stream is made and
     * written chunk by chunk, to a file as to standard output (a file was
     * built whole in memory first, and held to 4096 megabytes for it). */
    if (mb == 0 || mb > ((uint64_t)1 << 30)) {
        cli_error(NULL, "analyze: --stream takes 1 to 1073741824 megabytes");
        return 1;
    }
    if (to_stdout && isatty(STDOUT_FILENO)) {
        cli_error(NULL, "refusing to write binary data to a terminal");
        return 1;
    }
    if (!cli_read_file(plain_path, max_input, &buf, &len))
        return 1;
    if ((err = mc_image_decode(ctx, buf, len, NULL, &plain)) != MC_OK) {
        cli_report(plain_path, ctx, err);
        goto out;
    }
    (void)mc_image_samples_const(plain, &img_len);
    /* Chunks of whole images (at least one), so that chunk i starts at
     * nonce i * per_chunk and the stream is the one mc_cipher_stream
     * gives in a single call: MB megabytes exactly, the last image cut.
     * (It was 16 MiB chunks, each from a fresh nonce: MB rounded up to
     * 16, "--stream 1 -o -" wrote 16 MiB; found in mutation testing.) */
    per_chunk = img_len < ((size_t)16 << 20) ? ((size_t)16 << 20) / img_len : 1;
    out_len = per_chunk * img_len;
    if (out_len > left)
        out_len = (size_t)left;
    if ((out = malloc(out_len)) == NULL) {
        cli_error(NULL, "out of memory");
        goto out;
    }
    if (to_stdout) {
        signal(SIGPIPE, SIG_IGN);
        /* Unbuffered: when the reader has had enough, nothing is left for
         * the exit's check of standard output (main.c) to fail on. */
        setvbuf(stdout, NULL, _IONBF, 0);
    } else if ((file = cli_output_open(output, cli_mode(true), force, true, NULL)) == NULL) {
        goto out;
    }
    for (uint64_t i = 0; left > 0; i++) {
        size_t n = left < out_len ? (size_t)left : out_len;
        if ((err = mc_cipher_stream(key, plain, stages, i * per_chunk, out, n)) != MC_OK) {
            cli_error(plain_path, "%s", mc_strerror(err));
            goto out;
        }
        left -= n;
        if (file != NULL) {
            if (cli_output_write(file, out, n) != 0)
                break; /* said by cli_output_commit, which removes the file */
        } else if (fwrite(out, 1, n, stdout) != n || fflush(stdout) != 0) {
            if (errno == EPIPE) {
                rc = 0; /* the reader had enough */
                clearerr(stdout);
            } else
                cli_error("standard output", "%s", strerror(errno));
            goto out;
        }
    }
    if (file != NULL) {
        bool ok = cli_output_commit(file);
        file = NULL;
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    cli_output_abort(file);
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    if (out != NULL) { /* under --stage scrambling, the plain samples moved */
        sodium_memzero(out, out_len);
        free(out);
    }
    mc_image_free(plain);
    return rc;
}

static bool parse_seed(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] == '\0' || s[0] == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

int cmd_analyze(int argc, char **argv)
{
    enum { OPT_JSON = 256, OPT_REPORT, OPT_SEED, OPT_STREAM, OPT_STAGE, OPT_PIXELS };
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},  {"report", required_argument, NULL, OPT_REPORT},
        {"key", required_argument, NULL, 'k'},  {"seed", required_argument, NULL, OPT_SEED},
        {"force", no_argument, NULL, 'f'},      {"help", no_argument, NULL, 'h'},
        {"stream", required_argument, NULL, OPT_STREAM},
        {"stage", required_argument, NULL, OPT_STAGE},
        {"output", required_argument, NULL, 'o'},
        {"max-pixels", required_argument, NULL, OPT_PIXELS},
        {NULL, 0, NULL, 0}};
    static const char optstring[] = "+k:o:fh";
    const char *output = NULL;
    uint64_t stream_mb = 0;
    int stages = 4;
    const char *key_file = NULL, *report = NULL, *plain_path, *cipher_path = NULL, *env;
    bool json = false, force = false, have_key = false, stage_given = false;
    uint8_t *plain_buf = NULL, *cipher_buf = NULL;
    size_t plain_len = 0, cipher_len = 0, out_len = 0, max_input;
    unsigned long long max_pixels = 0;
    mc_analysis_options opt = {0};
    mc_analysis *an = NULL;
    mc_image *plain = NULL;
    mc_ctx *ctx = NULL;
    char *text = NULL;
    mc_key key; /* secret */
    int c, rc = 1;
    mc_err err;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_REPORT: report = optarg; break;
        case OPT_SEED:
            if (!parse_seed(optarg, &opt.seed)) {
                cli_error(NULL, "analyze: --seed takes a non-negative integer, not '%s'", optarg);
                return 1;
            }
            opt.use_seed = 1;
            break;
        case 'k': key_file = optarg; break;
        case 'o': output = optarg; break;
        case OPT_STREAM:
            if (!parse_seed(optarg, &stream_mb)) {
                cli_error(NULL, "analyze: --stream takes a number of megabytes, not '%s'",
                          optarg);
                return 1;
            }
            if (stream_mb == 0) { /* else "--stream and -o go together", -o given */
                cli_error(NULL, "analyze: --stream takes 1 to 1073741824 megabytes");
                return 1;
            }
            break;
        case OPT_STAGE:
            stage_given = true;
            stages = 0;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, STAGE_NAMES[i]) == 0)
                    stages = i + 1;
            if (stages == 0) {
                cli_error(NULL, "analyze: unknown stage '%s'", optarg);
                cli_hint("stages: scrambling, henon, logistic, xchacha20");
                return 1;
            }
            break;
        case 'f': force = true; break;
        case 'h': fputs(ANALYZE_HELP, stdout); return 0;
        case OPT_PIXELS:
            if (!cli_max_pixels_arg("analyze", optarg, &max_pixels))
                return 1;
            break;
        default:
            cli_bad_option("analyze", optstring, argc, argv);
            return 1;
        }
    }
    if (!cli_files_only("analyze", argc, argv))
        return 1;
    if (argc - optind < 1 || argc - optind > 2) {
        cli_error(NULL, "analyze: expected PLAIN [CIPHER], got %d file%s", argc - optind,
                  argc - optind == 1 ? "" : "s");
        cli_hint("run 'medcrypt analyze --help'");
        return 1;
    }
    plain_path = argv[optind];
    if (argc - optind == 2)
        cipher_path = argv[optind + 1];
    if ((stream_mb > 0) != (output != NULL) || (stream_mb > 0 && cipher_path != NULL)) {
        cli_error(NULL, "analyze: --stream MB and -o OUT go together, with PLAIN only");
        cli_hint("run 'medcrypt analyze --help'");
        return 1;
    }
    /* Accepted and then ignored, they were: a report asked for and not
     * written, exit 0. */
    if (stream_mb > 0 && (report != NULL || json || opt.use_seed)) {
        cli_error(NULL, "analyze: --stream writes the stream alone: not with --report, --json "
                        "or --seed");
        return 1;
    }
    /* "-k - -": the key took standard input whole, and PLAIN then read
     * nothing ("-: not an image medcrypt can read", as preview said
     * before it refused this too). */
    if (key_file != NULL && strcmp(key_file, "-") == 0 &&
        (strcmp(plain_path, "-") == 0 || (cipher_path != NULL && strcmp(cipher_path, "-") == 0))) {
        cli_error(NULL, "analyze: standard input can be read only once: the key (-k -) or "
                        "a FILE '-', not both");
        return 1;
    }
    if (cipher_path != NULL && strcmp(plain_path, "-") == 0 && strcmp(cipher_path, "-") == 0) {
        cli_error(NULL, "analyze: standard input can be read only once: PLAIN or CIPHER '-', "
                        "not both");
        return 1;
    }
    if (stage_given && stream_mb == 0) {
        cli_error(NULL, "analyze: --stage goes with --stream (the analysis measures every "
                        "stage)");
        return 1;
    }
    /* The key file is an input too: replaced, its key is gone. Before
     * "already exists (use --force)", which would be wrong advice. */
    if (key_file != NULL &&
        ((output != NULL && cli_same_file(key_file, output)) ||
         (report != NULL && cli_same_file(key_file, report)))) {
        cli_error(key_file, "an output would overwrite the key file (-k)");
        return 1;
    }
    /* The input first: "already exists (use --force)" would be wrong
     * advice for an output that is the input. */
    if (output != NULL) {
        if (strcmp(output, "-") != 0 && cli_same_file(output, plain_path)) {
            cli_error(output, "the output would overwrite the input");
            return 1;
        }
        if (cli_output_taken(output, force, true, NULL))
            return 1;
    }
    if (report != NULL &&
        (cli_same_file(report, plain_path) ||
         (cipher_path != NULL && cli_same_file(report, cipher_path)))) {
        cli_error(report, "the report would overwrite an input");
        return 1;
    }
    if (report != NULL && cli_output_taken(report, force, true, NULL))
        return 1;
    /* MEDCRYPT_KEY as for every verb that takes a key (a review: set for
     * a session, it was ignored here, and a given cipher image went
     * undecrypted); never a prompt, a random key being the default. */
    if (key_file != NULL || ((env = getenv("MEDCRYPT_KEY")) != NULL && env[0] != '\0')) {
        if (!cli_load_key(key_file, &key))
            return 1;
        have_key = true;
    }
    if (!cli_ctx_new(&ctx))
        goto out;
    max_input = cli_apply_max_pixels(ctx, max_pixels);
    if (output != NULL) {
        mc_key rnd_key = {{0}}; /* secret */
        if (!have_key)
            randombytes_buf(rnd_key.bytes, sizeof rnd_key.bytes);
        rc = write_stream(ctx, max_input, have_key ? &key : &rnd_key, plain_path, output, force,
                          stream_mb, stages);
        sodium_memzero(&rnd_key, sizeof rnd_key);
        goto out;
    }
    if (!cli_read_file(plain_path, max_input, &plain_buf, &plain_len))
        goto out;
    /* Its statistics would be reported as a plain image's (a flat
     * histogram, no correlation): not what the user meant. */
    if (mc_is_cipher_image(plain_buf, plain_len)) {
        cli_error(plain_path, "a medcrypt cipher image: analyze takes the plain image");
        cli_hint("to measure a cipher image, give it after its plain image: medcrypt analyze "
                 "-k KEYFILE PLAIN CIPHER");
        goto out;
    }
    if ((err = mc_image_decode(ctx, plain_buf, plain_len, NULL, &plain)) != MC_OK) {
        cli_report(plain_path, ctx, err);
        goto out;
    }
    if (cipher_path != NULL) {
        mc_cipher_info ci;
        mc_image_info pi;
        if (!cli_read_file(cipher_path, max_input, &cipher_buf, &cipher_len))
            goto out;
        if ((err = mc_cipher_inspect(ctx, cipher_buf, cipher_len, &ci)) != MC_OK) {
            cli_report(cipher_path, ctx, err); /* MC_EVERSION's detail: which version */
            if (err == MC_ENOTCIPHER)
                cli_hint("CIPHER is a cipher image written by 'medcrypt encrypt'");
            goto out;
        }
        mc_image_get_info(plain, &pi);
        if (ci.image.width != pi.width || ci.image.height != pi.height ||
            ci.image.channels != pi.channels || ci.image.bits != pi.bits) {
            /* which size is which, said (a review: "A against B" read
             * either way) */
            cli_error(cipher_path, "not a cipher image of %s (it holds %ux%u, %u channel%s, "
                                   "%u bits; %s is %ux%u, %u channel%s, %u bits)",
                      plain_path, ci.image.width, ci.image.height, ci.image.channels,
                      ci.image.channels == 1 ? "" : "s", ci.image.bits, plain_path, pi.width,
                      pi.height, pi.channels, pi.channels == 1 ? "" : "s", pi.bits);
            goto out;
        }
    }
    err = mc_analyze_ex(ctx, have_key ? &key : NULL, plain, cipher_buf, cipher_len, &opt, &an);
    if (err != MC_OK) {
        /* the given cipher image's own faults (wrong key, with both key
         * ids; modified; over the cap), else PLAIN's */
        cli_report(cipher_path != NULL && (err == MC_EWRONGKEY || err == MC_ETAMPERED ||
                                           err == MC_ETOOBIG)
                       ? cipher_path
                       : plain_path,
                   ctx, err);
        goto out;
    }
    /* Said on stderr too: in the table it went into a report file or a
     * pipe unseen (a review). The analysis stands, exit 0: its cipher
     * figures are the given image's all the same. */
    if (cipher_path != NULL && mc_analysis_cipher_matches(an) == 0)
        cli_error(cipher_path, "warning: does not decrypt to %s under this key: the "
                               "decryption figures compare two different images",
                  cli_input_name(plain_path)); /* made printable with the line */
    if (report != NULL) {
        if ((err = mc_analysis_html(an, &text, &out_len)) != MC_OK) {
            cli_error(report, "%s", mc_strerror(err));
            goto out;
        }
        if (!cli_write_file(report, (const uint8_t *)text, out_len, force, cli_mode(true), true))
            goto out;
        sodium_memzero(text, out_len); /* the plain image's histogram and pixels */
        mc_free(text);
        text = NULL;
        /* --report -: the page is standard output's, whole (a table or
         * JSON after it would make both unreadable). */
        if (strcmp(report, "-") == 0) {
            rc = 0;
            goto out;
        }
    }
    err = json ? mc_analysis_json(an, &text, &out_len) : mc_analysis_text(an, &text, &out_len);
    if (err != MC_OK) {
        cli_error(NULL, "%s", mc_strerror(err));
        goto out;
    }
    if (fwrite(text, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
        cli_error("standard output", "%s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (have_key)
        sodium_memzero(&key, sizeof key);
    if (plain_buf != NULL) {
        sodium_memzero(plain_buf, plain_len); /* plain patient data */
        free(plain_buf);
    }
    free(cipher_buf);
    if (text != NULL)
        sodium_memzero(text, out_len);
    mc_free(text);
    mc_analysis_free(an);
    mc_image_free(plain);
    mc_ctx_free(ctx);
    return rc;
}
