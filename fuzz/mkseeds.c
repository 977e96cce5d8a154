/* Writes seeds: key texts (fuzz_key), an Aadhaar number and a date
 * (fuzz_aadhaar, fuzz_multipart), and cipher images for fuzz_container:
 * each image file given, encrypted under the fuzzers' fixed key
 * (fuzz/common.h), and the first one again with an unknown ancillary
 * chunk before its mcRY chunk, which readers ignore (FORMAT.md). Usage:
 * mkseeds OUTDIR [FILE...] (files over the pixel cap are skipped). */
#include "common.h"
#include "../tests/png_chunk.h" /* put_chunk */

#include <errno.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
    }
    fclose(f);
    return buf;
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* The cipher image with a private chunk "prVt" (PNG §5.4: ancillary,
 * private, safe to copy) right after IHDR, before mcRY, as a tool that
 * adds its own chunk there could leave it. */
static void write_with_chunk_first(const char *dir, const char *name, const uint8_t *png,
                                   size_t len)
{
    static const uint8_t chunk_data[] = "added by another tool";
    size_t n = sizeof chunk_data - 1, at = 8 + 25; /* signature, IHDR */
    uint8_t *out;

    if (len < at || (out = malloc(len + 12 + n)) == NULL)
        return;
    memcpy(out, png, at);
    put_chunk(out + at, "prVt", chunk_data, (uint32_t)n);
    memcpy(out + at + 12 + n, png + at, len - at);
    write_file(dir, name, out, len + 12 + n);
    free(out);
}

int main(int argc, char **argv)
{
    mc_key key;
    int written = 0;
    char text[MC_KEY_TEXT_BYTES], file[256], aadhaar[32] = "23456789012";
    int n;

    if (argc < 2) {
        fprintf(stderr, "usage: mkseeds OUTDIR [FILE...]\n");
        return 1;
    }
    fuzz_key(&key);
    mc_key_to_text(&key, text);
    write_file(argv[1], "key-text", text, strlen(text));
    n = snprintf(file, sizeof file, "# medcrypt key\n# id: test\n%s\n", text);
    write_file(argv[1], "key-file", file, (size_t)n);
    aadhaar[11] = (char)('0' + mc__verhoeff_digit(aadhaar, 11));
    write_file(argv[1], "aadhaar", aadhaar, 12);
    n = snprintf(file, sizeof file, "%.4s %.4s %.4s%c1990-05-17", aadhaar, aadhaar + 4,
                 aadhaar + 8, '\0');
    write_file(argv[1], "aadhaar-dob", file, (size_t)n);
    for (int i = 2; i < argc; i++) {
        size_t len = 0, out_len = 0;
        uint8_t *in = slurp(argv[i], &len), *out = NULL;
        char name[64];

        if (in == NULL ||
            mc_encrypt_file(fuzz_ctx(), &key, in, len, "seed", &out, &out_len) != MC_OK) {
            free(in);
            continue;
        }
        snprintf(name, sizeof name, "cipher-%d.png", i - 1);
        write_file(argv[1], name, out, out_len);
        written++;
        if (i == 2) {
            write_with_chunk_first(argv[1], "cipher-1-chunk-first.png", out, out_len);
            written++;
        }
        free(in);
        mc_free(out);
    }
    printf("mkseeds: %d cipher seeds\n", written);
    return 0;
}
