/* medcrypt bench: speed as ratios to standard primitives, in one run. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static const char HELP[] =
    "Usage: medcrypt bench [--json] [--threads N] [--repeat N] [--tiny]\n"
    "       medcrypt bench --process [--dir DIR] [--json] [--threads N] [--repeat N]\n"
    "                      [--tiny] [FILE...]\n"
    "\n"
    "Measures, in memory, encryption and decryption of generated images (512x512\n"
    "8-bit gray, 2048x2048 16-bit gray, 512x512 8-bit RGB), each stage on its own\n"
    "and PNG encode/decode of the cipher image, and prints each as a ratio to\n"
    "references measured in the same run on the same bytes: libsodium's\n"
    "XChaCha20-Poly1305, one OpenSSL HMAC-SHA-512 pass, memcpy. Medians of\n"
    "repeated runs after a warm-up. Then a batch of images on 1 and N threads.\n"
    "\n"
    "With --process, times the whole commands instead, as processes: medcrypt\n"
    "encrypt and decrypt of a generated 2048x2048 16-bit PGM, a 512x512 8-bit PNG\n"
    "and each FILE given, against 'openssl dgst -sha512' and an XChaCha20-Poly1305\n"
    "process (this program as 'medcrypt bench --aead-file IN OUT') on the same\n"
    "files, and 'true'; then a batch of 16 512x512 16-bit PNGs with -j 1 and -j N.\n"
    "The commands alternate, round after round. Peak RSS of each; every decrypted\n"
    "file is checked against its original. Then the batch in memory: medcrypt's\n"
    "encryption of 2 images of its size on 1 thread and on 2, and the\n"
    "XChaCha20-Poly1305 and HMAC-SHA-512 references on the same, whose speed-ups\n"
    "say what the machine gives to parallel work at all. The speed goals at the end\n"
    "(docs/PERFORMANCE.md), met or not; a FILE of a goal's kind (a 512x512\n"
    "8-bit gray PNG, a 2048x2048 16-bit PGM) is held to that goal too. The files\n"
    "are made in a new directory in DIR (default $TMPDIR or /tmp), removed at\n"
    "the end.\n"
    "\n"
    "Options:\n"
    "    --json        one JSON object on standard output\n"
    "    --threads N   threads of the *_threads rows (one image on N threads, at\n"
    "                  most 64) and of the batch (with --process: its -j N)\n"
    "                  (default: the cores this process may use; --process: at\n"
    "                  least 2)\n"
    "    --repeat N    runs per figure (default 15)\n"
    "    --tiny        images 16 times smaller per side (a quick check)\n"
    "    --process     time the commands as processes (above)\n"
    "    --dir DIR     where --process makes its files (tmpfs or a disk)\n"
    "    -h, --help    this help\n";

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},         {"threads", required_argument, NULL, 't'},
        {"repeat", required_argument, NULL, 'r'}, {"tiny", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},         {"process", no_argument, NULL, 'P'},
        {"dir", required_argument, NULL, 'd'},    {"aead-file", required_argument, NULL, 'A'},
        {NULL, 0, NULL, 0}};
    static const char optstring[] = "+h";
    struct bench_opts o = {.json = false, .threads = 0, .repeat = 15, .tiny = false};
    const char *dir = NULL, *aead_in = NULL;
    bool process = false;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'J': o.json = true; break;
        case 'T': o.tiny = true; break;
        case 't':
            if (!parse_int(optarg, 1, 256, &o.threads)) {
                cli_error(NULL, "bench: --threads takes a number from 1 to 256");
                return 1;
            }
            break;
        case 'r':
            if (!parse_int(optarg, 1, 1000, &o.repeat)) {
                cli_error(NULL, "bench: --repeat takes a number from 1 to 1000");
                return 1;
            }
            break;
        case 'P': process = true; break;
        case 'd': dir = optarg; break;
        case 'A': aead_in = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        default:
            cli_bad_option("bench", optstring, argc, argv);
            return 1;
        }
    }
    if (aead_in != NULL) { /* the reference process of --process */
        if (optind + 1 != argc) {
            cli_error(NULL, "bench: --aead-file takes IN and OUT");
            return 1;
        }
        return mc_bench_aead_file(aead_in, argv[optind]) == 0 ? 0 : 1;
    }
    /* Options end at the first FILE: one after it ("--process a.png
     * --json") is refused as every verb refuses it, not read as a file
     * after the test images were made. */
    if (process && !cli_files_only("bench", argc, argv))
        return 1;
    if (process)
        return mc_bench_process(&o, dir, argv + optind, argc - optind, stdout) == 0 ? 0 : 1;
    if (dir != NULL) {
        cli_error(NULL, "bench: --dir goes with --process");
        return 1;
    }
    if (optind < argc) {
        cli_error(NULL, "bench: unexpected argument '%s'", argv[optind]);
        return 1;
    }
    return mc_bench_run(&o, stdout) == 0 ? 0 : 1; /* it says why it failed */
}
