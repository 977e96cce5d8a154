/* medcrypt: protect medical images for telemedicine (DESIGN §4). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char USAGE[] =
    "Usage:\n"
    "    medcrypt keygen  [--aadhaar NUMBER] [--dob YYYY-MM-DD] [-o KEYFILE]\n"
    "                     [--force]\n"
    "    medcrypt encrypt [-k KEYFILE] [-o OUTPUT | -O DIR] [-f | --skip-existing]\n"
    "                     [-j N] [-v] [--max-pixels N] INPUT...\n"
    "    medcrypt decrypt [-k KEYFILE] [-o OUTPUT | -O DIR] [-f | --skip-existing]\n"
    "                     [-j N] [-v] [--max-pixels N] CIPHER...\n"
    "    medcrypt info    [--max-pixels N] FILE...\n"
    "    medcrypt preview [-k KEYFILE] [-o OUT.png] [--force] [--max-pixels N] FILE\n"
    "    medcrypt compare [--max-pixels N] IMAGE1 IMAGE2\n"
    "    medcrypt analyze [--json] [--report OUT.html] [-k KEYFILE] [--seed N]\n"
    "                     [--force] [--max-pixels N] PLAIN [CIPHER]\n"
    "    medcrypt analyze --stream MB [--stage STAGE] [-k KEYFILE] -o OUT PLAIN\n"
    "    medcrypt serve   [--listen 127.0.0.1:8080] [--max-upload BYTES]\n"
    "                     [--threads N] [--timeout SEC] [--max-connections N]\n"
    "                     [--per-ip N] [--max-pixels N] [--max-memory BYTES]\n"
    "    medcrypt bench   [--json] [--threads N] [--repeat N] [--tiny]\n"
    "    medcrypt bench   --process [--dir DIR] [FILE...]\n"
    "    medcrypt VERB --help\n"
    "    medcrypt [VERB] --version\n"
    "\n"
    "Encrypts an image (DICOM, PNG, PGM/PPM, BMP, JPEG) into a cipher image: a PNG\n"
    "of noise of the same size and depth that only the key turns back into the\n"
    "exact original.\n"
    "The key is generated for the patient from the Aadhaar number and the date\n"
    "of birth plus fresh randomness; keep it: nothing else can decrypt.\n"
    "\n"
    "The key comes from -k KEYFILE, or the MEDCRYPT_KEY environment variable (the\n"
    "key, or a key file's content: MEDCRYPT_KEY=\"$(cat patient.key)\"), or a\n"
    "prompt on the terminal (never from a command-line argument).\n"
    "\n"
    "Example:\n"
    "    $ medcrypt keygen --aadhaar \"2345 6789 0124\" --dob 1990-05-17 -o patient.key\n"
    "    $ medcrypt encrypt -k patient.key scan.pgm        # writes scan.pgm.enc.png\n"
    "    $ medcrypt decrypt -k patient.key -o copy.pgm scan.pgm.enc.png\n"
    "    (without -o: scan.pgm, never replacing one that exists without --force)\n"
    "\n"
    "Exit status: 0 on success, 1 on any failure (compare: 1 when the images\n"
    "differ, 2 on a failure, as cmp). Each problem is one line on stderr,\n"
    "'medcrypt: FILE: problem', some followed by a line 'medcrypt: hint: ...'\n"
    "that says what to do.\n";

/* `medcrypt serve` runs medcrypt-serve, installed beside this program
 * (cli/serve_main.c says why it is a program of its own). Looked up next
 * to /proc/self/exe, not in PATH: the one built or installed with this
 * medcrypt. The process keeps its PID, so signals and systemd work as if
 * medcrypt itself served. */
static int cmd_serve_exec(int argc, char **argv)
{
    static const char NAME[] = "medcrypt-serve";
    char self[PATH_MAX], path[PATH_MAX + sizeof NAME];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *slash;

    (void)argc;
    if (n <= 0) {
        cli_error(NULL, "serve: cannot find this program's directory: %s", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    snprintf(path, sizeof path, "%.*s/%s", slash != NULL ? (int)(slash - self) : 0, self, NAME);
    /* argv[0] was "serve" (the verb): `ps` and /proc/PID/cmdline then
     * showed "serve --listen ...", which neither `ps aux | grep medcrypt`
     * nor an operator reading the list could tell for ours. The command as
     * typed instead; the process's name (comm) is medcrypt-serve. argv[argc]
     * is NULL. */
    argv[0] = (char *)"medcrypt serve";
    execv(path, argv);
    cli_error(NULL, "serve: cannot run %s: %s", path, strerror(errno));
    cli_hint("the web application is the program %s, installed beside medcrypt", NAME);
    return 1;
}

static const struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
} verbs[] = {
    {"keygen", cmd_keygen},   {"encrypt", cmd_encrypt}, {"decrypt", cmd_decrypt},
    {"info", cmd_info},       {"preview", cmd_preview}, {"analyze", cmd_analyze},
    {"compare", cmd_compare}, {"serve", cmd_serve_exec},  {"bench", cmd_bench},
    {NULL, NULL},
};

static const struct verb *find_verb(const char *name)
{
    for (const struct verb *v = verbs; v->name != NULL; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

static int run_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (!cli_std_fds_open())
        return 1;
    return cli_stdout_checked(run_main(argc, argv));
}

static int run_main(int argc, char **argv)
{
    const struct verb *v;
    const char *verb;

    cli_no_core_dumps();
#ifdef __GLIBC__
    /* Image-sized buffers straight from mmap and back to the system when
     * freed. glibc otherwise raises its mmap threshold after each large
     * free, and the next image-sized buffers then stay in the heap: the
     * peak RSS of encrypting a 2048x2048 16-bit image drops from 34 to
     * 26 MiB with this (docs/PERFORMANCE.md). Smaller blocks (a batch's
     * 512x512 images, the stages' group copies) stay in the heap once
     * freed: with glibc's 128 KiB trim threshold each free gave their pages
     * back and the next file faulted them in again (-j 1 over 16 such
     * files: 10 % faster with this; peak RSS unchanged). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif

    if (argc < 2) {
        fputs(USAGE, stderr);
        return 1;
    }
    verb = argv[1];
    cli_verb = verb;
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        if (strcmp(verb, "help") == 0 && argc > 2 && (v = find_verb(argv[2])) != NULL) {
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            return v->run(2, args);
        }
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0)
        return cli_version();
    if ((v = find_verb(verb)) != NULL) {
        /* "medcrypt encrypt --version": the one version, as --help is
         * each verb's (only alone: elsewhere it could be an option's
         * value, "-o --version"). */
        if (argc == 3 && (strcmp(argv[2], "--version") == 0 || strcmp(argv[2], "-V") == 0))
            return cli_version();
        return v->run(argc - 1, argv + 1);
    }
    /* "medcrypt --aadhaar=2345... --dob=..." (keygen forgotten), a key
     * or a number where the verb goes: not echoed (DESIGN.md §1.1) */
    if (strpbrk(verb, "0123456789") != NULL)
        cli_error(NULL, "unknown command (not shown: it may hold an identifier or a key)");
    else
        cli_error(NULL, "unknown command '%s'", verb);
    cli_hint("run 'medcrypt --help' for the list of commands");
    return 1;
}
