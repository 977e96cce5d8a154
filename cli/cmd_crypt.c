/* medcrypt encrypt / decrypt: files in, files out, nothing lost. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h" /* mc__free_huge, mc_ctx.chunk_digests */

#define CIPHER_SUFFIX ".enc.png"

enum { OPT_PIXELS = 256, OPT_SKIP }; /* long options without a letter */

static const char ENCRYPT_HELP[] =
    "Usage: medcrypt encrypt [-k KEYFILE] [-o OUTPUT | -O DIR] [-f | --skip-existing]\n"
    "                        [-j N] [-v] [--max-pixels N] INPUT...\n"
    "\n"
    "Encrypts each INPUT image (DICOM Part 10 with uncompressed pixel data, PNG\n"
    "gray/gray+alpha/RGB/RGBA 8 or 16 bit, palette PNG, PGM/PPM P2/P3/P5/P6 up to\n"
    "16 bit, BMP 1/4/8-bit palette and 16/24/32 bit, JPEG gray or color) into a\n"
    "cipher PNG with the same width, height (DICOM frames stacked), channels and\n"
    "depth. A DICOM file's every other byte (patient name, ID, dates...) travels\n"
    "encrypted inside it and comes back byte for byte. The original format and\n"
    "file name travel encrypted inside it, and any change to it is detected on\n"
    "decryption. A JPEG's decoded pixels are encrypted, and it decrypts to a\n"
    "lossless PNG (scan.jpg.enc.png -> scan.jpg.png): writing a JPEG again would\n"
    "lose data. A PNG's metadata chunks (text, pHYs, iCCP...) travel encrypted\n"
    "too and come back; the few that would no longer hold (a palette image's\n"
    "bKGD...) are named in a note.\n"
    "\n"
    "Outputs go beside the inputs (scan.pgm -> scan.pgm.enc.png), or into -O's\n"
    "folder. A cipher image given as INPUT is refused, not encrypted again\n"
    "(encrypt * in a folder that holds both). The cipher image's file name is the\n"
    "input's, readable on its way: use -o when the name says who the patient is.\n"
    "\n"
    "Options:\n"
    "    -k, --key KEYFILE     the key file, '-' for standard input (else\n"
    "                          $MEDCRYPT_KEY, else a prompt)\n"
    "    -o, --output OUTPUT   output file, for a single INPUT; '-' = standard output\n"
    "    -O, --output-dir DIR  put the outputs in the folder DIR (it must exist)\n"
    "                          instead of beside the inputs (read-only media);\n"
    "                          two inputs of one name: the second is refused\n"
    "    -f, --force           replace existing output files\n"
    "        --skip-existing   leave an input whose output exists, and a cipher\n"
    "                          image, as done (a batch run again): no error\n"
    "    -v, --verbose         a line per file written on standard output:\n"
    "                          INPUT -> OUTPUT (key id ...), for a record\n"
    "    -j, --jobs N          cores to use: N files at once, or one file's\n"
    "                          stages on N threads (default and 0: all cores;\n"
    "                          more than 64 counts as 64)\n"
    "        --max-pixels N    largest image, in samples W*H*C; K, M, G = 2^10,\n"
    "                          2^20, 2^30 (default 256M: 16384 x 16384 gray;\n"
    "                          at most 4G)\n"
    "    -h, --help            this help\n"
    "\n"
    "INPUT '-' reads standard input (the output then goes to standard output\n"
    "unless -o is given: prefer -o OUTPUT to '> OUTPUT', whose empty file a\n"
    "failure leaves). An existing file is never overwritten without --force;\n"
    "outputs are written to a temporary file and named only when complete, so a\n"
    "failure leaves no partial file. OUTPUT may be a device or a named pipe of\n"
    "yours (/dev/null, a FIFO): it is written into, never replaced.\n";

static const char DECRYPT_HELP[] =
    "Usage: medcrypt decrypt [-k KEYFILE] [-o OUTPUT | -O DIR] [-f | --skip-existing]\n"
    "                        [-j N] [-v] [--max-pixels N] CIPHER...\n"
    "\n"
    "Decrypts each cipher PNG back to the exact original, in its original format\n"
    "(DICOM, PGM/PPM and BMP come back byte for byte; PNG sample for sample;\n"
    "JPEG as a lossless PNG of its decoded pixels). Refuses with 'wrong key' if\n"
    "the image was encrypted under another key, and with 'the cipher image was\n"
    "modified or damaged' if any sample or header byte changed; in both cases\n"
    "no output is written. Chunks another program added to a cipher image (a\n"
    "tEXt caption, a tIME) are not verified: they are not copied into the\n"
    "output, and a note names them.\n"
    "\n"
    "Outputs go beside the inputs, or into -O's folder: scan.pgm.enc.png ->\n"
    "scan.pgm; a copy saved twice, scan.pgm.enc (1).png, gives scan (1).pgm; a\n"
    "cipher image named otherwise gives NAME.dec.EXT (EXT of the original\n"
    "format). A name that is neither the original file's nor ends in its\n"
    "format's extension gets that extension: a DICOM in report.png.enc.png\n"
    "comes back as report.png.dcm.\n"
    "\n"
    "Options:\n"
    "    -k, --key KEYFILE     the key file, '-' for standard input (else\n"
    "                          $MEDCRYPT_KEY, else a prompt)\n"
    "    -o, --output OUTPUT   output file for a single CIPHER; '-' = standard output\n"
    "    -O, --output-dir DIR  put the outputs in the folder DIR (it must exist)\n"
    "                          instead of beside the inputs; two ciphers of one\n"
    "                          output name: one is refused, both named (the\n"
    "                          second, or with -j the one decrypted last)\n"
    "    -f, --force           replace existing output files\n"
    "        --skip-existing   leave a cipher whose output exists as done (a batch\n"
    "                          run again): no error\n"
    "    -v, --verbose         a line per file written on standard output:\n"
    "                          CIPHER -> OUTPUT (key id ...), for a record\n"
    "    -j, --jobs N          cores to use: N files at once, or one file's\n"
    "                          stages on N threads (default and 0: all cores;\n"
    "                          more than 64 counts as 64)\n"
    "        --max-pixels N    largest image, in samples W*H*C; K, M, G = 2^10,\n"
    "                          2^20, 2^30 (default 256M: 16384 x 16384 gray;\n"
    "                          at most 4G)\n"
    "    -h, --help            this help\n"
    "\n"
    "An existing file is never overwritten without --force, and a failure leaves\n"
    "no partial file. OUTPUT may be a device or a named pipe of yours: it is\n"
    "written into.\n";

struct job {
    bool decrypt;
    bool force;
    bool verbose;       /* -v: a line per file written, on stdout */
    bool skip_existing; /* --skip-existing */
    const char *output; /* -o, or NULL */
    const char *outdir; /* -O, or NULL: outputs beside their inputs */
    char key_id[MC_KEY_ID_HEX_BYTES];
    size_t max_input;   /* largest input file read, bytes */
    const mc_key *key;
    const char *key_file; /* -k FILE or NULL: never an output ('-' is none) */
    mc_ctx *ctx;
};

/* The output path for an input beside it when -o is not given; malloc'd.
 * ext is the original format's extension (decrypt) or NULL (encrypt:
 * fixed suffix). "-" for standard input. */
/* A cipher saved twice by a browser or a mail client: "scan.pgm.enc (1).png"
 * (any case; Chrome's) -> "scan (1).pgm", the copy's number kept where a
 * file manager puts it, and Firefox's "scan.pgm.enc(1).png" ->
 * "scan(1).pgm"; NULL if input is not so named (a batch audit: it came
 * back as "scan.pgm.enc (1).png.dec.pgm"). */
static char *copy_name(const char *input)
{
    const char *base = cli_basename(input), *open = strrchr(base, '('), *enc, *dot;
    const char *sep; /* Chrome's " (1)", Firefox's "(1)": kept as it came */
    size_t digits = 0, stem_len, n;
    char *out;

    if (open == NULL)
        return NULL;
    if ((size_t)(open - base) >= 5 && strncasecmp(open - 5, ".enc ", 5) == 0)
        enc = open - 5, sep = " ";
    else if ((size_t)(open - base) >= 4 && strncasecmp(open - 4, ".enc", 4) == 0)
        enc = open - 4, sep = "";
    else
        return NULL;
    while (open[1 + digits] >= '0' && open[1 + digits] <= '9' && digits < 4)
        digits++;
    if (digits == 0 || strcasecmp(open + 1 + digits, ").png") != 0 || enc == base)
        return NULL;
    stem_len = (size_t)(enc - input); /* "dir/scan.pgm" */
    dot = NULL;
    for (const char *c = base; c < enc; c++)
        if (*c == '.' && c != base)
            dot = c;
    n = strlen(input) + 8;
    if ((out = malloc(n)) == NULL)
        return NULL;
    if (dot != NULL)
        snprintf(out, n, "%.*s%s(%.*s)%.*s", (int)(dot - input), input, sep, (int)digits,
                 open + 1, (int)(input + stem_len - dot), dot);
    else
        snprintf(out, n, "%.*s%s(%.*s)", (int)stem_len, input, sep, (int)digits, open + 1);
    return out;
}

static char *output_beside(const char *input, bool decrypt, const char *ext)
{
    size_t n = strlen(input);
    char *out;

    if (strcmp(input, "-") == 0)
        return strdup("-");
    if (!decrypt) {
        if ((out = malloc(n + sizeof CIPHER_SUFFIX)) != NULL)
            snprintf(out, n + sizeof CIPHER_SUFFIX, "%s%s", input, CIPHER_SUFFIX);
        return out;
    }
    if (cli_has_suffix_nocase(input, CIPHER_SUFFIX) &&
        strlen(cli_basename(input)) > strlen(CIPHER_SUFFIX)) {
        /* "-.enc.png" decrypts to a file called "-", never to standard
         * output (found in review: the image went there, -O ignored). */
        if (n == strlen(CIPHER_SUFFIX) + 1 && input[0] == '-')
            return strdup("./-");
        return strndup(input, n - strlen(CIPHER_SUFFIX));
    }
    if ((out = copy_name(input)) != NULL)
        return out;
    if ((out = malloc(n + 6 + strlen(ext))) != NULL)
        snprintf(out, n + 6 + strlen(ext), "%s.dec.%s", input, ext);
    return out;
}

/* The same, in -O's folder when given: its name there. */
static char *default_output(const struct job *job, const char *input, const char *ext)
{
    char *beside = output_beside(input, job->decrypt, ext), *out;
    size_t dir_len, n;

    if (beside == NULL || job->outdir == NULL || strcmp(beside, "-") == 0)
        return beside;
    dir_len = strlen(job->outdir);
    while (dir_len > 1 && job->outdir[dir_len - 1] == '/')
        dir_len--;
    n = dir_len + strlen(cli_basename(beside)) + 2;
    if ((out = malloc(n)) != NULL)
        snprintf(out, n, "%.*s%s%s", (int)dir_len, job->outdir,
                 job->outdir[dir_len - 1] == '/' ? "" : "/", cli_basename(beside));
    free(beside);
    return out;
}

/* -v: "INPUT -> OUTPUT (key id ...)", or "(exists: skipped)", control
 * characters as '?'; printed whole on stdout once the file is in place
 * (cli_output_announce), so the workers' lines never interleave and none
 * names a file a failure or a signal left unwritten. */
static void verbose_line(char *line, size_t size, const struct job *job, const char *input,
                         const char *output, bool skipped)
{
    char how[64];

    if (skipped)
        snprintf(how, sizeof how, "exists: skipped");
    else
        snprintf(how, sizeof how, "key id %s", job->key_id);
    snprintf(line, size, "%s -> %s (%s)", cli_input_name(input),
             strcmp(output, "-") == 0 ? "standard output" : output, how);
    cli_printable(line);
}

/* Inputs skipped by --skip-existing: their outputs exist, or (encrypt)
 * they are cipher images already. */
static atomic_int skipped;

static bool skip_existing(const struct job *job, const char *input, const char *output)
{
    char line[3 * 4096];
    struct stat st;

    /* a file only: /dev/null or a pipe given with -o is written into */
    if (!job->skip_existing || strcmp(output, "-") == 0 || stat(output, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return false;
    atomic_fetch_add(&skipped, 1);
    if (job->verbose) {
        verbose_line(line, sizeof line, job, input, output, true);
        cli_say(line);
    }
    return true;
}

static bool refuse_terminal(const char *output, bool explicit_dash)
{
    if (strcmp(output, "-") == 0 && !explicit_dash && isatty(STDOUT_FILENO)) {
        cli_error(NULL, "refusing to write binary data to a terminal");
        cli_hint("redirect standard output, or force it with '-o -'");
        return true;
    }
    return false;
}

/* Writes img to path: encrypted into a cipher PNG, or (decrypting) in its
 * original format. Either way the file goes to the temporary output piece
 * by piece as it is encoded, never held whole in memory. True once the
 * file is in place. On failure *err is the library's error for the caller
 * to report, or MC_OK if the output's own failure was reported. */
static bool write_streamed(const struct job *job, const char *input, mc_image *img,
                           const char *path, mc_err *err)
{
    cli_output *o = cli_output_open(path, cli_mode(job->decrypt), job->force,
                                    job->output != NULL,
                                    job->output != NULL ? NULL : cli_input_name(input));
    char line[3 * 4096];

    *err = MC_OK;
    if (o == NULL)
        return false;
    if (job->decrypt)
        *err = mc_image_encode_to(job->ctx, img, cli_output_write, o);
    else
        *err = mc_encrypt_image_inplace_to(job->ctx, job->key, img, cli_output_write, o);
    /* A write failed: commit reports it and removes the file. Only if
     * the output saw it fail: commit would otherwise put the part
     * written in place, under the output's name and unreported (a
     * mutant of the band writer that called its allocation failures
     * MC_EIO showed it; no such MC_EIO comes from the library now), so
     * an MC_EIO of the library's own is reported as any other error. */
    if (*err == MC_EIO && cli_output_failed(o)) {
        *err = MC_OK;
        (void)cli_output_commit(o);
        return false;
    }
    if (*err != MC_OK) {
        cli_output_abort(o);
        return false;
    }
    if (job->verbose) {
        verbose_line(line, sizeof line, job, input, path, false);
        cli_output_announce(o, line);
    }
    return cli_output_commit(o);
}

/* The outputs of a batch's files so far, so that two inputs never write
 * one file: scan.jpg.enc.png and scan.jpg.png.enc.png both decrypt to
 * scan.jpg.png, x.dcm.enc.png and x.dcm.ENC.PNG to x.dcm, and with
 * --force the second replaced the first, whose only copy a routine
 * "rm *.enc.png" then deleted (a batch audit). The inputs' own places are
 * in the set from the start, so that no output replaces another input of
 * the run either, even with --force ("encrypt -f a.png a.png.enc.png"
 * replaced the user's a.png.enc.png, found in review); an input that is
 * a symbolic link adds its target's place too. An open-addressing set of
 * real folders and names, four times the inputs in size. */
static struct {
    pthread_mutex_t lock;
    struct claim {
        char *key;         /* the folder's real path, '/', the name */
        const char *input; /* whose output it is, or the input itself */
        bool is_input;     /* the place of an input, not of an output */
    } *slots;
    size_t mask; /* slots - 1, a power of two minus one */
} claims = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void claims_end(void)
{
    for (size_t i = 0; claims.slots != NULL && i <= claims.mask; i++)
        free(claims.slots[i].key);
    free(claims.slots);
    claims.slots = NULL;
}

/* output's folder resolved (./a, sub/../a and a link to the folder are
 * one place), then its name; malloc'd, or NULL. */
static char *place_of(const char *output)
{
    const char *base = cli_basename(output);
    char dir[4096], real[PATH_MAX], *key;
    size_t n;

    if (!cli_folder_of(dir, output))
        return NULL;
    if (realpath(dir, real) == NULL)
        return strdup(output);
    n = strlen(real) + strlen(base) + 2;
    if ((key = malloc(n)) != NULL)
        snprintf(key, n, "%s/%s", real, base);
    return key;
}

/* Puts key (taken over) into the set, under the lock; NULL if it was not
 * there, else the slot that holds it (key freed), whose fields are read
 * and changed under the lock only. */
static struct claim *claims_put(char *key, const char *input, bool is_input)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    struct claim *other = NULL;
    size_t i;

    for (const char *c = key; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211u;
    pthread_mutex_lock(&claims.lock);
    for (i = (size_t)h & claims.mask; claims.slots[i].key != NULL; i = (i + 1) & claims.mask)
        if (strcmp(claims.slots[i].key, key) == 0) {
            other = &claims.slots[i];
            break;
        }
    if (other == NULL)
        claims.slots[i] = (struct claim){key, input, is_input};
    pthread_mutex_unlock(&claims.lock);
    if (other != NULL)
        free(key);
    return other;
}

static void claims_start(char *const *inputs, int n)
{
    char real[PATH_MAX], *key;
    size_t cap = 4;

    while (cap < (size_t)n * 4)
        cap *= 2;
    if ((claims.slots = calloc(cap, sizeof *claims.slots)) == NULL)
        return; /* then each meets its output as before */
    claims.mask = cap - 1;
    for (int i = 0; i < n; i++) {
        if (strcmp(inputs[i], "-") == 0)
            continue;
        if ((key = place_of(inputs[i])) != NULL)
            (void)claims_put(key, inputs[i], true);
        if (realpath(inputs[i], real) != NULL && (key = place_of(real)) != NULL)
            (void)claims_put(key, inputs[i], true);
    }
}

/* Whether this run works on the input at path, which another input's
 * output would replace: encrypt on a plain image, decrypt on a cipher
 * image. One it refuses (a cipher image given to encrypt: "encrypt -f *"
 * beside the ciphers of a run before; a decrypted file given to decrypt)
 * is that earlier run's output, which --force replaces as it says. Read
 * whole to tell (a rare case); unreadable counts as worked on. */
static bool run_works_on(const struct job *job, const char *path)
{
    uint8_t *buf = NULL;
    struct stat st;
    bool read = false, cipher = false;
    FILE *f;

    if ((f = fopen(path, "rb")) == NULL)
        return true;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size <= job->max_input &&
        (buf = malloc((size_t)st.st_size)) != NULL) {
        read = fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size;
        cipher = read && mc_is_cipher_image(buf, (size_t)st.st_size);
        sodium_memzero(buf, (size_t)st.st_size); /* perhaps a plain image */
        free(buf);
    }
    fclose(f);
    return !read || cipher == job->decrypt;
}

/* False (said) if output is already another input's in this batch, or
 * another input that this run works on. */
static bool claim_output(const struct job *job, const char *input, const char *output)
{
    struct claim *slot;
    const char *holder;
    bool is_input;
    char *key;

    if (claims.slots == NULL || (key = place_of(output)) == NULL)
        return true; /* one input, or no memory: each meets its output as before */
    if ((slot = claims_put(key, input, false)) == NULL)
        return true;
    pthread_mutex_lock(&claims.lock);
    is_input = slot->is_input;
    holder = slot->input;
    pthread_mutex_unlock(&claims.lock);
    if (is_input && !run_works_on(job, holder)) {
        /* The place becomes this output's, first come first served as
         * any output's: a second output there is still refused. */
        pthread_mutex_lock(&claims.lock);
        if (slot->is_input) {
            slot->is_input = false;
            slot->input = input;
            holder = NULL;
        } else {
            holder = slot->input; /* another output took it meanwhile */
        }
        pthread_mutex_unlock(&claims.lock);
        if (holder == NULL)
            return true;
        is_input = false;
    }
    if (is_input) {
        if (strcmp(output, holder) == 0)
            cli_error(input, "its output %s is also an input of this run: not written",
                      output);
        else
            cli_error(input, "its output %s is %s, an input of this run: not written", output,
                      holder);
        cli_hint("give the outputs a folder of their own with -O FOLDER");
        return false;
    }
    cli_error(input, "its output %s is also that of %s in this run: not written", output,
              holder);
    cli_hint("%s it alone, with -o OUTPUT", job->decrypt ? "decrypt" : "encrypt");
    return false;
}

static void report(const struct job *job, const char *input, mc_err err, bool cut,
                   const mc_cipher_info *ci)
{
    cli_report(input, job->ctx, err);
    if (job->decrypt && err == MC_ENOTCIPHER)
        /* a cipher image an image viewer or a chat app saved again is a
         * plain PNG to us: its chunk is gone (a review) */
        cli_hint("decrypt takes a cipher image written by 'medcrypt encrypt', as it was sent "
                 "(saved again by another program, a viewer or a chat app, it loses its "
                 "medcrypt data)");
    if (job->decrypt && cut)
        cli_hint_cut_short();
    /* Each encryption on the pages makes a new key: which file is it? */
    if (job->decrypt && err == MC_EWRONGKEY && ci->version != 0) {
        char hex[MC_KEY_ID_HEX_BYTES];
        sodium_bin2hex(hex, sizeof hex, ci->key_id, MC_KEY_ID_BYTES);
        cli_hint("its key file says '# key id: %s': grep -l 'key id: %s' *.key finds it",
                 hex, hex);
    }
}

/* Extensions that say a file's format, as viewers and PACS importers go by
 * them; the first is the one added. A JPEG comes back as a PNG. */
static const char *const *format_extensions(mc_format format)
{
    static const char *const png[] = {"png", NULL}, *const pnm[] = {"pgm", "ppm", "pnm", NULL},
                             *const bmp[] = {"bmp", "dib", NULL},
                             *const dcm[] = {"dcm", "dicom", "dic", NULL};
    switch (format) {
    case MC_FORMAT_PNM: return pnm;
    case MC_FORMAT_BMP: return bmp;
    case MC_FORMAT_DICOM: return dcm;
    default: return png; /* PNG, and JPEG's lossless PNG */
    }
}

static bool says_format(const char *name, const mc_image_info *info)
{
    const char *dot = strrchr(cli_basename(name), '.');

    for (const char *const *e = format_extensions(info->format); dot != NULL && *e != NULL; e++)
        if (strcasecmp(dot + 1, *e) == 0)
            return true;
    return false;
}

/* A file written under -o whose name's extension claims another image
 * format than it holds (decrypt -o out.png of a PGM, encrypt -o c.jpg)
 * is written as asked, with a note: a viewer or a PACS importer going by
 * the name would fail on it, and nothing said so (a review). A name with
 * no extension (DICOM files often have none) or one that names no image
 * format (.enc, .bin) says nothing wrong. The formats medcrypt writes are
 * told by format_extensions, as decrypted_name tells them. */
static void note_extension(const struct job *job, const char *output, const mc_image *img)
{
    static const mc_format written_formats[] = {MC_FORMAT_PNG, MC_FORMAT_PNM, MC_FORMAT_BMP,
                                                MC_FORMAT_DICOM};
    /* image formats medcrypt writes none of: a JPEG comes back as a PNG */
    static const char *const others[] = {"jpg", "jpeg", "jpe", "tif", "tiff",
                                         "gif", "webp", "jp2", "j2k"};
    const char *dot = strrchr(cli_basename(output), '.'), *what;
    mc_image_info info = {.format = MC_FORMAT_PNG}; /* a cipher image */
    bool image_name = false;

    if (dot == NULL || strcmp(output, "-") == 0)
        return;
    if (job->decrypt)
        mc_image_get_info(img, &info);
    if (says_format(output, &info))
        return;
    for (size_t i = 0; i < sizeof written_formats / sizeof written_formats[0]; i++)
        image_name |= says_format(output, &(mc_image_info){.format = written_formats[i]});
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        image_name |= strcasecmp(dot + 1, others[i]) == 0;
    if (!image_name)
        return;
    what = info.format == MC_FORMAT_PNM     ? "a PGM/PPM file"
           : info.format == MC_FORMAT_BMP   ? "a BMP file"
           : info.format == MC_FORMAT_DICOM ? "a DICOM file"
                                            : "a PNG file";
    cli_error(output, "note: written as %s (%s), though its name ends in %s", what,
              !job->decrypt ? "a cipher image is a PNG"
              : info.format == MC_FORMAT_JPEG ? "a JPEG comes back as a PNG of its pixels"
                                              : "the original's format",
              dot);
}

/* The decrypted file's name when -o is not given: the cipher's name less
 * .enc.png (any case), or NAME.dec.EXT when it has no such suffix. That
 * name is kept if it is the original file's own (record 1: a DICOM called
 * IM000001 stays so) or ends in an extension of the original format;
 * otherwise the format's extension is added, so that a renamed cipher
 * does not bring a DICOM back as report.png (report.png.dcm) or a PGM
 * without an extension. A JPEG comes back as a lossless PNG of its pixels:
 * scan.jpg.enc.png -> scan.jpg.png, never a PNG called scan.jpg.
 * NULL (said) on failure. */
static char *decrypted_name(const struct job *job, const char *input, const mc_image_info *info,
                            const char *original)
{
    char *output = default_output(job, input, info->extension), *named;
    bool keep;
    size_t n;

    if (output == NULL) {
        cli_error(input, "out of memory");
        return NULL;
    }
    keep = says_format(output, info) ||
           (info->format != MC_FORMAT_JPEG && original != NULL &&
            strcmp(cli_basename(output), original) == 0);
    if (!keep) {
        n = strlen(output) + strlen(info->extension) + 2;
        if ((named = malloc(n)) == NULL) {
            cli_error(input, "out of memory");
            free(output);
            return NULL;
        }
        snprintf(named, n, "%s.%s", output, info->extension);
        free(output);
        output = named;
    }
    if (cli_same_file(input, output)) {
        cli_error(input, "the output would overwrite the input");
        free(output);
        return NULL;
    }
    return output;
}

/* The key file is an input too: replaced (--force), its key is gone,
 * and every image encrypted under it with it. Said before "already exists
 * (use --force)", which would be wrong advice. (-o: run() checks.) */
static bool output_is_key(const struct job *job, const char *input, const char *output)
{
    if (job->key_file == NULL || !cli_same_file(job->key_file, output))
        return false;
    cli_error(input, "its output %s is the key file (-k): not written", output);
    return true;
}

static bool process(const struct job *job, const char *input)
{
    uint8_t *in = NULL;
    size_t in_len = 0;
    char *output = NULL, dropped[96] = "";
    const char *dropped_what = "PNG metadata chunks";
    unsigned orientation = 0;
    mc_image *img = NULL;
    mc_image_info info;
    mc_cipher_info ci = {0};
    bool ok = false, cut = false;
    mc_err err;

    /* Fail early, before any work, if the output is known and taken. */
    if (job->output != NULL) {
        if (cli_same_file(input, job->output)) { /* before "already exists": it does */
            cli_error(input, "the output would overwrite the input");
            return false;
        }
        if (skip_existing(job, input, job->output))
            return true;
        if (cli_output_taken(job->output, job->force, true, NULL))
            return false;
    } else if (!job->decrypt) {
        if ((output = default_output(job, input, NULL)) == NULL) {
            cli_error(input, "out of memory");
            return false;
        }
        if (!claim_output(job, input, output))
            goto out;
        if (skip_existing(job, input, output)) {
            ok = true;
            goto out;
        }
        if (output_is_key(job, input, output) ||
            cli_output_taken(output, job->force, false, cli_input_name(input)))
            goto out;
    }
    if (!cli_read_file(input, job->max_input, &in, &in_len)) /* an empty one said so */
        goto out;
    /* "encrypt *" in a folder that holds cipher images too: they are not
     * encrypted again into NAME.enc.png.enc.png, a second layer nobody
     * asked for. */
    if (!job->decrypt && mc_is_cipher_image(in, in_len)) {
        mc__free_huge(in); /* cipher bytes: nothing to wipe */
        if (job->skip_existing) { /* done already: a batch run again */
            atomic_fetch_add(&skipped, 1);
            ok = true;
            goto out;
        }
        cli_error(input,
                  "already a medcrypt cipher image: not encrypted again (decrypt it first)");
        goto out;
    }
    /* The file's bytes are dropped as soon as they are decoded (or become
     * the samples): a large image is held once, and its output is
     * streamed. */
    if (!job->decrypt) {
        mc_png_dropped_chunks(in, in_len, dropped, sizeof dropped);
        if (dropped[0] == '\0') { /* not a PNG, or one whose chunks all travel */
            orientation = mc_jpeg_dropped_markers(in, in_len, dropped, sizeof dropped);
            dropped_what = "JPEG metadata";
        }
        /* The library takes the buffer over: a binary PGM/PPM is decoded
         * where it lies, anything else decoded, then wiped. */
        err = mc_image_decode_owned(job->ctx, in, in_len,
                                    strcmp(input, "-") == 0 ? NULL : cli_basename(input), &img);
    } else {
        err = mc_decrypt_image(job->ctx, job->key, in, in_len, &img);
        if (err == MC_EWRONGKEY) /* the image's key id, for the hint */
            (void)!mc_cipher_inspect(job->ctx, in, in_len, &ci);
        if (err == MC_OK) /* chunks another program added: named below */
            mc_cipher_foreign_chunks(in, in_len, dropped, sizeof dropped);
        cut = cli_cut_short(in, in_len, err);
        mc__free_huge(in); /* cipher bytes: nothing to wipe */
    }
    if (err != MC_OK) {
        report(job, input, err, cut, &ci);
        goto out;
    }
    if (job->decrypt && job->output == NULL) {
        mc_image_get_info(img, &info);
        if ((output = decrypted_name(job, input, &info, mc_image_name(img))) == NULL ||
            !claim_output(job, input, output))
            goto out;
        if (skip_existing(job, input, output)) {
            ok = true;
            goto out;
        }
        /* as encrypt's, which knows its name before the work: a folder
         * of that name is not "already exists (use --force)" */
        if (output_is_key(job, input, output) ||
            cli_output_taken(output, job->force, false, cli_input_name(input)))
            goto out;
    }
    ok = write_streamed(job, input, img, job->output != NULL ? job->output : output, &err);
    if (err != MC_OK)
        report(job, input, err, cut, &ci);
    if (ok && job->output != NULL)
        note_extension(job, job->output, img);

    /* Not a failure: said so that nobody first finds out at decryption;
     * and at decryption, what the cipher image held that no key vouches
     * for (a caption naming someone else, say). */
    if (ok && dropped[0] != '\0') {
        if (job->decrypt)
            cli_error(input, CLI_ADDED_CHUNKS_NOTE, dropped);
        else
            cli_error(input, "note: not kept: its %s %s (the pixels are kept exactly)",
                      dropped_what, dropped);
    }
    if (ok && orientation != 0)
        cli_hint("viewers show this JPEG turned or mirrored by its EXIF orientation %u; the "
                 "decrypted PNG shows it as stored", orientation);
out:
    mc_image_free(img); /* wipes the samples */
    free(output);
    return ok;
}

/* One input of a batch (thread-safe: job is read-only). Standard input
 * goes to standard output unless -o says otherwise. */
static bool process_one(void *arg, const char *input)
{
    const struct job *job = arg;

    if (strcmp(input, "-") == 0 && job->output == NULL) {
        struct job j = *job;
        j.output = "-";
        return process(&j, input);
    }
    return process(job, input);
}

struct input_id {
    dev_t dev, dir_dev;
    ino_t ino, dir_ino;
    const char *base;
    int index;
};

static int by_file_then_index(const void *a, const void *b)
{
    const struct input_id *x = a, *y = b;
    int c;

    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (x->dir_dev != y->dir_dev)
        return x->dir_dev < y->dir_dev ? -1 : 1;
    if (x->dir_ino != y->dir_ino)
        return x->dir_ino < y->dir_ino ? -1 : 1;
    if ((c = strcmp(x->base, y->base)) != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

static bool same_place(const struct input_id *x, const struct input_id *y)
{
    return x->dev == y->dev && x->ino == y->ino && x->dir_dev == y->dir_dev &&
           x->dir_ino == y->dir_ino && strcmp(x->base, y->base) == 0;
}

/* The folder that holds path: its stat. */
static bool stat_dir_of(const char *path, struct stat *st)
{
    char dir[4096];

    return cli_folder_of(dir, path) && stat(dir, st) == 0;
}

/* The same file given twice under one name in one folder (scan.pgm
 * ./scan.pgm sub/../scan.pgm) is done once: each repeat is dropped from
 * inputs[] with one line, and counted as a failure. Otherwise it met its
 * own output ("already exists") or, with --force, was done again. A hard
 * link in another folder, or under another name, is another input with
 * an output of its own (a batch audit: a snapshot's folder had no cipher
 * to send). Returns the repeats; *n is the new count. */
static int drop_repeats(char **inputs, int *n)
{
    struct input_id *ids = malloc((size_t)*n * sizeof *ids);
    bool *repeat = calloc((size_t)*n, sizeof *repeat);
    int m = 0, repeats = 0, kept = 0;
    struct stat st, dir;

    if (ids == NULL || repeat == NULL) { /* then each meets its output as before */
        free(ids);
        free(repeat);
        return 0;
    }
    for (int i = 0; i < *n; i++)
        if (strcmp(inputs[i], "-") != 0 && stat(inputs[i], &st) == 0 && S_ISREG(st.st_mode) &&
            stat_dir_of(inputs[i], &dir))
            ids[m++] = (struct input_id){st.st_dev, dir.st_dev, st.st_ino, dir.st_ino,
                                         cli_basename(inputs[i]), i};
    /* Sorted by file and place, then by position: in each run of one
     * file in one place, all but the first position are repeats. */
    qsort(ids, (size_t)m, sizeof *ids, by_file_then_index);
    for (int k = 1; k < m; k++)
        if (same_place(&ids[k], &ids[k - 1]))
            repeat[ids[k].index] = true;
    for (int i = 0; i < *n; i++) {
        if (repeat[i]) {
            cli_error(inputs[i], "given twice: the same file as an input before it, done once");
            repeats++;
        } else {
            inputs[kept++] = inputs[i];
        }
    }
    *n = kept;
    free(ids);
    free(repeat);
    return repeats;
}

/* A batch's last line, on a terminal only (a script has the exit status,
 * and -v): the progress line would otherwise leave nothing on screen,
 * and a partial batch (a glob that missed a folder) look like a whole one
 * (a batch audit). */
static void summary(const char *verb, int inputs, int failures)
{
    int skips = atomic_load(&skipped), done = inputs - failures - skips;
    char skips_text[64] = "", failures_text[64] = "";

    if (skips > 0)
        snprintf(skips_text, sizeof skips_text, ", %d skipped (done before)", skips);
    if (failures > 0)
        snprintf(failures_text, sizeof failures_text, ", %d failed (said above)", failures);
    cli_error(NULL, "%d of %d files %sed%s%s", done, inputs, verb, skips_text, failures_text);
}

static int run(int argc, char **argv, bool decrypt)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},     {"help", no_argument, NULL, 'h'},
        {"jobs", required_argument, NULL, 'j'}, {"max-pixels", required_argument, NULL, OPT_PIXELS},
        {"output-dir", required_argument, NULL, 'O'}, {"verbose", no_argument, NULL, 'v'},
        {"skip-existing", no_argument, NULL, OPT_SKIP}, {NULL, 0, NULL, 0}};
    static const char optstring[] = "+k:o:O:fhj:v";
    const char *verb = decrypt ? "decrypt" : "encrypt", *key_file = NULL;
    struct job job = {.decrypt = decrypt};
    unsigned long long max_pixels = 0;
    mc_key key;
    int c, failures = 0, n_inputs, stdin_inputs = 0, jobs = cli_cores(), files;
    long jobs_arg;
    int repeats;
    char *end;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            /* 0 is all cores, as mc_ctx_set_threads takes it; more than
             * CLI_MAX_JOBS (-j $(nproc) on a large server) gets that many,
             * where the disk, not the cores, is the limit anyway. */
            errno = 0;
            jobs_arg = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || jobs_arg < 0) {
                cli_error(NULL, "%s: -j takes a number of cores (0: all of them), not '%s'",
                          verb, optarg);
                return 1;
            }
            jobs = jobs_arg == 0 ? cli_cores()
                   : jobs_arg > CLI_MAX_JOBS ? CLI_MAX_JOBS : (int)jobs_arg;
            break;
        case OPT_PIXELS:
            if (!cli_max_pixels_arg(verb, optarg, &max_pixels))
                return 1;
            break;
        case 'k': key_file = optarg; break;
        case 'o': job.output = optarg; break;
        case 'O': job.outdir = optarg; break;
        case 'v': job.verbose = true; break;
        case OPT_SKIP: job.skip_existing = true; break;
        case 'f': job.force = true; break;
        case 'h': fputs(decrypt ? DECRYPT_HELP : ENCRYPT_HELP, stdout); return 0;
        default:
            cli_bad_option(verb, optstring, argc, argv);
            return 1;
        }
    }
    n_inputs = argc - optind;
    if (n_inputs == 0) {
        cli_error(NULL, "%s: no input file", verb);
        cli_hint("run 'medcrypt %s --help'", verb);
        return 1;
    }
    if (!cli_files_only(verb, argc, argv))
        return 1;
    if (job.output != NULL && n_inputs > 1) {
        cli_error(NULL, "%s: -o takes a single input; with several, outputs go beside them "
                        "or into -O FOLDER", verb);
        return 1;
    }
    if (job.output != NULL && job.outdir != NULL) {
        cli_error(NULL, "%s: -o names the output, -O its folder: give one of them", verb);
        return 1;
    }
    if (job.outdir != NULL) {
        struct stat st;
        /* a folder that cannot be reached is not "not a folder": say why
         * (an unsearchable parent: "Permission denied"; a review) */
        if (stat(job.outdir, &st) != 0) {
            if (errno == ENOENT)
                cli_error(job.outdir, "no such folder (-O takes an existing one)");
            else
                cli_error(job.outdir, "%s (-O)", strerror(errno));
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            cli_error(job.outdir, "not a folder (-O)");
            return 1;
        }
    }
    job.key_file = key_file;
    if (key_file != NULL && job.output != NULL && cli_same_file(key_file, job.output)) {
        cli_error(job.output, "the output would overwrite the key file (-k)");
        return 1;
    }
    if (job.skip_existing && job.force) {
        cli_error(NULL, "%s: --skip-existing keeps existing outputs, --force replaces them: "
                        "give one of them", verb);
        return 1;
    }
    for (int i = optind; i < argc; i++)
        stdin_inputs += strcmp(argv[i], "-") == 0;
    if (stdin_inputs > 1) {
        cli_error(NULL, "%s: standard input can be read only once", verb);
        return 1;
    }
    /* -O names each output after its input; standard input has no name,
     * and its output went to standard output, -O silently ignored. */
    if (stdin_inputs > 0 && job.outdir != NULL) {
        cli_error(NULL, "%s: -O names the outputs after their inputs, and standard input ('-') "
                        "has no name: give it -o OUTPUT in a command of its own", verb);
        return 1;
    }
    if (stdin_inputs > 0 && key_file != NULL && strcmp(key_file, "-") == 0) {
        cli_error(NULL, "%s: standard input can be read only once: the key (-k -) or the "
                        "input '-', not both", verb);
        return 1;
    }
    repeats = drop_repeats(argv + optind, &n_inputs);
    if (refuse_terminal(job.output != NULL ? job.output
                        : stdin_inputs ? "-" : "",
                        job.output != NULL))
        return 1;
    if (!cli_ctx_new(&job.ctx))
        return 1;
    job.max_input = cli_apply_max_pixels(job.ctx, max_pixels);
    /* -j N is the number of cores to use: N files at once, and the cores
     * not taken by parallel files go to each image's parallel stages (one
     * large image: N threads; many files: one each). So -j 1 is one core,
     * as with make. */
    files = jobs < n_inputs ? jobs : n_inputs;
    (void)mc_ctx_set_threads(job.ctx, (unsigned)(jobs / files));
    /* Each decoded image is encrypted next: a large PNG's chunk digests
     * are hashed on a second core while it is decoded (src/chunkhash.c). */
    job.ctx->chunk_digests = !decrypt;
    if (job.verbose && ((job.output != NULL && strcmp(job.output, "-") == 0) ||
                        (stdin_inputs > 0 && job.output == NULL))) {
        cli_error(NULL, "%s: -v writes its lines to standard output, which carries the image "
                        "here: give -o OUTPUT", verb);
        mc_ctx_free(job.ctx);
        return 1;
    }
    if (cli_load_key(key_file, &key)) {
        job.key = &key;
        mc_key_id_hex(&key, job.key_id); /* public: for -v */
        if (n_inputs > 1)
            claims_start(argv + optind, n_inputs);
        failures = cli_batch(files, argv + optind, n_inputs, process_one, &job);
        claims_end();
        mc_key_wipe(&key);
        if (n_inputs + repeats > 1 && isatty(STDERR_FILENO))
            summary(verb, n_inputs + repeats, failures + repeats);
        /* a batch run again after Ctrl-C: one line per file done before */
        if (n_inputs > 1 && !job.force && cli_outputs_existing() > 1)
            cli_hint("%d outputs exist already: --skip-existing leaves them as done, --force "
                     "replaces them", cli_outputs_existing());
        /* beside inputs on a read-only medium (a CD of a study) or in a
         * folder of someone else's: once, after the files' lines (a
         * review: --help names -O, the message did not) */
        if (job.output == NULL && job.outdir == NULL && cli_outputs_unwritable() > 0)
            cli_hint("-O DIR writes the outputs to a folder you can write to");
        failures += repeats;
    } else {
        failures = -1;
    }
    mc_ctx_free(job.ctx);
    return failures == 0 ? 0 : 1;
}

int cmd_encrypt(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_decrypt(int argc, char **argv)
{
    return run(argc, argv, true);
}
