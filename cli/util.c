/* File I/O, errors, key loading and prompts for the medcrypt command. */
/* For sync_file_range(2) (Linux); everything else here is POSIX. */
#define _GNU_SOURCE
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* The library's internals, as for bench/bench.c (linked into the same
 * program): the huge-page buffers of src/mem.c. */
#include "internal.h"

const char *cli_verb = "VERB";

/* Outputs refused because they exist (cli_outputs_existing). */
static atomic_int outputs_existing;

int cli_outputs_existing(void)
{
    return atomic_load(&outputs_existing);
}

/* Outputs that could not be created for want of permission, or on a
 * read-only file system (cli_outputs_unwritable). */
static atomic_int outputs_unwritable;

int cli_outputs_unwritable(void)
{
    return atomic_load(&outputs_unwritable);
}

/* Set while a progress line is on screen: messages clear it first. */
static atomic_bool progress_shown;

void cli_printable(char *s)
{
    /* A file name is anyone's bytes: an escape sequence would reach the
     * terminal, and a newline would forge a second line (a batch audit). */
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* The count on screen (cli_progress), guarded by progress_lock. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static int progress_count;

/* The first failed write of cli_say (under stdout's lock). */
static int say_errno;

void cli_say(const char *line)
{
    /* -v on a terminal with the progress line on it: the line is cleared
     * first, or "medcrypt: 3/16 filesa.pgm -> a.pgm.enc.png (...)" came
     * out (a review). Under the progress lock, the flag read there too,
     * so that no count is drawn between the clearing and the line (nor a
     * first count between reading the flag and the line). */
    pthread_mutex_lock(&progress_lock);
    if (atomic_load(&progress_shown) && isatty(STDOUT_FILENO)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    flockfile(stdout);
    printf("%s\n", line);
    if (fflush(stdout) != 0 && say_errno == 0)
        say_errno = errno; /* for cli_stdout_checked: its own errno is stale */
    funlockfile(stdout);
    pthread_mutex_unlock(&progress_lock);
}

/* Each message is formatted first and written with one call, so lines
 * from parallel workers never interleave. */
static void emit(const char *prefix, const char *file, const char *fmt, va_list ap)
{
    char msg[16384]; /* an output's label is two paths (label()), and then the message */
    int n = 0;
    /* read once: the prefix and the cleaning below must agree */
    bool shown = atomic_load(&progress_shown);
    size_t clear = shown ? 4 : 0; /* "\r\033[K" */

    if (file != NULL)
        n = snprintf(msg, sizeof msg, "%s%s%s: ", shown ? "\r\033[K" : "", prefix,
                     cli_input_name(file));
    else
        n = snprintf(msg, sizeof msg, "%s%s", shown ? "\r\033[K" : "", prefix);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    cli_printable(msg + clear);
    fflush(stdout);
    fprintf(stderr, "%s\n", msg);
}

void cli_error(const char *file, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(PROG ": ", file, fmt, ap);
    va_end(ap);
}

/* The count on screen. Workers finish in one order and may print in
 * another: a count lower than the one shown is dropped, or the line could
 * end at 15/16 after 16/16. */
void cli_progress(int done, int total)
{
    static struct timespec last;
    struct timespec now;

    pthread_mutex_lock(&progress_lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* At most ten times a second, and the last count always: 5,000 small
     * files were 5,000 rewrites of the line (a batch audit). */
    if (done > progress_count &&
        (done == total || progress_count == 0 ||
         (now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) >= 100000000L)) {
        progress_count = done;
        last = now;
        atomic_store(&progress_shown, true);
        fprintf(stderr, "\r" PROG ": %d/%d files", done, total);
        fflush(stderr);
    }
    pthread_mutex_unlock(&progress_lock);
}

void cli_progress_end(void)
{
    pthread_mutex_lock(&progress_lock);
    progress_count = 0;
    if (atomic_exchange(&progress_shown, false))
        fputs("\r\033[K", stderr);
    pthread_mutex_unlock(&progress_lock);
}

int cli_cores(void)
{
    return (int)mc__cores(); /* its CPU affinity: src/parallel.c */
}

void cli_hint(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(PROG ": hint: ", NULL, fmt, ap);
    va_end(ap);
}

/* What a verb printed on standard output (a key, a table, JSON, help) must
 * have reached it: "medcrypt info x > /dev/full" or a closed pipe is a
 * failure, exit 1, as in GNU's close_stdout (a verb that failed already
 * said why: one line per problem). */
int cli_stdout_checked(int rc)
{
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        /* a write that failed before (-v > /dev/full: cli_say) left
         * ferror set, and errno whatever came since ("Inappropriate ioctl
         * for device", from an isatty: a review) */
        if (errno == 0)
            errno = say_errno != 0 ? say_errno : EIO;
        cli_error(NULL, "standard output: write failed: %s", strerror(errno));
        return 1;
    }
    return rc;
}

int cli_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t got = read(fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || c == '\n')
            break;
        if (n + 1 >= size) { /* too long: the rest of the line is dropped */
            n = size; /* and the whole refused */
            continue;
        }
        buf[n++] = c;
    }
    if (n >= size) {
        sodium_memzero(buf, size);
        return CLI_LINE_LONG;
    }
    while (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return n > 0 ? CLI_LINE_OK : CLI_LINE_NONE;
}

/* Standard input, output and error closed by whoever started us (">&-",
 * "2>&-", a daemon's child; both programs call this first): the next files opened took their numbers,
 * and the -v lines, or a message, went into an output being written: a
 * cipher image that no longer decrypted, a decrypted image with a line
 * of text in it, exit 1 and nothing else said (a review). Each is opened
 * on /dev/null the other way round (as gnulib's stdopen), so that a
 * write there fails and is said, and a read fails. False if that cannot
 * be done: then nothing is written at all. */
bool cli_std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* the lowest number free: this one, the ones below being open */
        int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (got != fd) {
            if (got >= 0)
                close(got);
            return false;
        }
    }
    return true;
}

bool cli_ctx_new(mc_ctx **ctx)
{
    mc_err err = mc_ctx_new(ctx);

    /* out of memory, or libsodium's start failed: said as it is (it was
     * "cannot initialise the crypto library" for both) */
    if (err != MC_OK)
        cli_error(NULL, "%s", mc_strerror(err));
    return err == MC_OK;
}

bool cli_cut_short(const uint8_t *buf, size_t len, mc_err err)
{
    return mc__png_cut_short(buf, len, err);
}

void cli_hint_cut_short(void)
{
    cli_hint("%s", MC__CUT_SHORT_HINT);
}

void cli_no_core_dumps(void)
{
    const struct rlimit none = {0, 0};

    /* A crash must not write the keys and the images it held to disk,
     * whatever `ulimit -c` or systemd-coredump say, and no other process
     * of the same user may read this one's memory (ptrace, /proc/PID/mem);
     * the systemd unit's LimitCORE=0 covers only the server it starts (a
     * security audit). Both are hints: a failure changes nothing else. */
    (void)setrlimit(RLIMIT_CORE, &none);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int cli_version(void)
{
    printf("medcrypt %s (cipher format %d)\n", MC_VERSION_STRING, MC_FORMAT_VERSION);
    return 0;
}

/* A positive number with an optional K/M/G (binary) suffix. */
bool cli_parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return false;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    switch (*end) {
    case 'k': case 'K': if (v > max >> 10) return false; v <<= 10; end++; break;
    case 'm': case 'M': if (v > max >> 20) return false; v <<= 20; end++; break;
    case 'g': case 'G': if (v > max >> 30) return false; v <<= 30; end++; break;
    default: break;
    }
    if ((*end == 'i' || *end == 'B') && end[-1] > '9')
        end += *end == 'i' && end[1] == 'B' ? 2 : 1;
    if (*end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_max_pixels_arg(const char *verb, const char *arg, unsigned long long *max_pixels)
{
    static const unsigned long long most = CLI_MAX_PIXELS;

    if (!cli_parse_size(arg, most, max_pixels) || *max_pixels == 0) {
        cli_error(NULL, "%s: --max-pixels '%s': expected a number from 1 to %llu", verb, arg,
                  most);
        return false;
    }
    return true;
}

size_t cli_apply_max_pixels(mc_ctx *ctx, unsigned long long max_pixels)
{
    size_t room = (size_t)1 << 30;

    if (max_pixels == 0)
        return CLI_MAX_INPUT_BYTES;
    (void)mc_ctx_set_max_samples(ctx, max_pixels); /* 1..2^32: cannot fail */
    return 2 * max_pixels + room > CLI_MAX_INPUT_BYTES ? (size_t)(2 * max_pixels + room)
                                                       : CLI_MAX_INPUT_BYTES;
}

void cli_report(const char *file, const mc_ctx *ctx, mc_err err)
{
    const char *detail = mc_ctx_last_detail(ctx); /* e.g. the DICOM syntax, the key ids */

    cli_error(file, "%s%s%s", mc_strerror(err), detail[0] != '\0' ? ": " : "", detail);
    /* over the pixel cap, not a format's own limit (a BMP over 4 GiB),
     * and a cap that can still be raised */
    if (err == MC_ETOOBIG && mc_ctx_last_cap(ctx) != 0 && mc_ctx_last_cap(ctx) < CLI_MAX_PIXELS)
        cli_hint("raise the cap with --max-pixels N (N samples take N or 2N bytes of memory)");
}

/* The argument getopt stopped on. It has advanced optind past an element
 * whose last letter it took, but not past a cluster it is still inside
 * ("-scan.pgm": 's' refused, "can.pgm" left), so the element is
 * argv[optind] when that is an option cluster holding the letter, else
 * argv[optind - 1]. */
static const char *bad_element(int argc, char **argv, int letter)
{
    if (letter != 0 && optind < argc && argv[optind][0] == '-' && argv[optind][1] != '-' &&
        strchr(argv[optind] + 1, letter) != NULL)
        return argv[optind];
    return argv[optind - 1];
}

void cli_bad_option(const char *verb, const char *optstring, int argc, char **argv)
{
    const char *arg = bad_element(argc, argv, optopt);
    bool is_long = arg[1] == '-';
    /* getopt sets optopt to the option's letter (or a long option's value)
     * when it knows the option but its value is missing or unwanted, and
     * to the refused letter of a short option; an unknown long one is 0. */
    const char *letter = optopt > 0 && optopt < 256 ? strchr(optstring, optopt) : NULL;

    if (is_long && optopt != 0 && strchr(arg, '=') != NULL)
        cli_error(NULL, "%s: option '%.*s' takes no value", verb, (int)strcspn(arg, "="), arg);
    else if (is_long && optopt != 0)
        cli_error(NULL, "%s: option '%s' needs a value", verb, arg);
    else if (!is_long && letter != NULL && letter[1] == ':')
        cli_error(NULL, "%s: option '-%c' needs a value", verb, optopt);
    else if (!is_long && arg[2] != '\0' && strpbrk(arg, "0123456789") != NULL &&
             access(arg, F_OK) != 0)
        /* "-A234567890124", "-D1990-05-17", "-KMCK1-...": an identifier or
         * a key behind a mistyped letter is not echoed (DESIGN.md §1.1),
         * as "--aadhar=NUMBER" is not (found in review) */
        cli_error(NULL, "%s: unknown option '-%c' (in an argument not shown: it may hold an "
                        "identifier or a key)", verb, optopt);
    else if (!is_long && arg[2] != '\0')
        cli_error(NULL, "%s: unknown option '-%c' in '%s'", verb, optopt, arg);
    else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
        /* "medcrypt encrypt --version" alone prints the version (main.c);
         * with anything else it was "unknown option '--version'", which
         * the usage's "medcrypt [VERB] --version" contradicted */
        cli_error(NULL, "%s: '%s' stands alone: 'medcrypt %s' or 'medcrypt %s %s', nothing "
                        "else", verb, arg, arg, verb, arg);
    else /* the name only: "--aadhar=NUMBER" must not echo the number */
        cli_error(NULL, "%s: unknown option '%.*s'", verb,
                  is_long ? (int)strcspn(arg, "=") : (int)strlen(arg), arg);
    if (!is_long && access(arg, F_OK) == 0)
        cli_hint("for a file whose name starts with '-', write ./%s or put -- before it", arg);
    else
        cli_hint("run 'medcrypt %s --help'", verb);
}

bool cli_files_only(const char *verb, int argc, char **argv)
{
    /* Options end at the first file (POSIX; "+" in every verb's
     * optstring). One of ours after a file was read as a file name:
     * "encrypt c.png --max-pixels 1000" encrypted c.png under the default
     * cap and then failed on a file "--max-pixels". Refused before any
     * work instead, by every verb alike. After "--" every argument is a
     * file, and so is an argument that names an existing one. */
    for (int i = optind > 0 && strcmp(argv[optind - 1], "--") == 0 ? argc : optind; i < argc;
         i++) {
        struct stat st;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (argv[i][0] == '-' && argv[i][1] != '\0' && stat(argv[i], &st) != 0) {
            cli_error(NULL, "%s: option '%s' after the files: options come first", verb,
                      argv[i]);
            cli_hint("for a file whose name starts with '-', write ./%s or put -- before it",
                     argv[i]);
            return false;
        }
    }
    return true;
}

int cli_pixels_options(const char *verb, const char *help, int fail, int argc, char **argv,
                       unsigned long long *max_pixels)
{
    enum { OPT_PIXELS = 256 };
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"max-pixels", required_argument, NULL, OPT_PIXELS},
                                         {NULL, 0, NULL, 0}};
    static const char optstring[] = "+h";
    int c;

    *max_pixels = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(help, stdout); return 0;
        case OPT_PIXELS:
            if (!cli_max_pixels_arg(verb, optarg, max_pixels))
                return fail;
            break;
        default:
            cli_bad_option(verb, optstring, argc, argv);
            return fail;
        }
    }
    return cli_files_only(verb, argc, argv) ? -1 : fail;
}

/* An input "-" is standard input (every command reads it so): said so
 * in messages and results. */
const char *cli_input_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "standard input" : path;
}

const char *cli_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

bool cli_has_suffix_nocase(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

#define SNIFF_AT ((size_t)64 << 20)

/* A file over the cap: an input's "file too large"; a key's, what it is
 * not (-k given an image, the arguments swapped: "file too large" said
 * nothing of the key, a review). size < 0: not known (a pipe). */
static void too_large(const char *shown, bool input, long long size, size_t max)
{
    if (input) {
        if (size >= 0)
            cli_error(shown, "file too large (%lld bytes)", size);
        else
            cli_error(shown, "file too large");
        return;
    }
    if (size >= 0)
        cli_error(shown, "%s (%lld bytes: a key file is a few lines of text)",
                  mc_strerror(MC_EKEYTEXT), size);
    else
        cli_error(shown, "%s (over %zu KiB: a key file is a few lines of text)",
                  mc_strerror(MC_EKEYTEXT), max >> 10);
    cli_hint("-k takes the key file that keygen wrote; the images come after the options");
}

/* cli_read_file, and the stat of what was read (st_mode 0 if unknown). */
static bool read_file(const char *path, size_t max, uint8_t **out, size_t *out_len,
                      struct stat *read_st, bool input)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *shown = is_stdin ? "standard input" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 0, len = 0;
    uint8_t *buf = NULL;
    struct stat st;
    bool multi;

    if (fd < 0) {
        cli_error(path, "%s", strerror(errno));
        return false;
    }
    /* Nobody types an image: at a terminal '-' waited in silence for
     * bytes that would not come (a review), as writing one there is
     * refused (cmd_crypt.c's refuse_terminal). */
    if (is_stdin && input && isatty(STDIN_FILENO)) {
        cli_error(shown, "a terminal, not an image");
        cli_hint("give the image's file name, or redirect standard input from it ('- < FILE')");
        return false;
    }
    if (read_st != NULL)
        memset(read_st, 0, sizeof *read_st);
    if (fstat(fd, &st) == 0) {
        if (read_st != NULL)
            *read_st = st;
        if (S_ISDIR(st.st_mode)) {
            cli_error(shown, "is a directory");
            if (!input) /* a key: the hints below are about inputs */
                goto fail;
            /* a series in sub-folders: a shell's ** misses them without
             * bash's globstar, silently (a batch audit) */
            /* "{} +" for the verbs that take many files, "{} \;" else */
            multi = strcmp(cli_verb, "encrypt") == 0 || strcmp(cli_verb, "decrypt") == 0 ||
                    strcmp(cli_verb, "info") == 0;
            if (multi)
                cli_hint("give its files (%s/*); with those of its sub-folders: "
                         "find %s -type f -exec " PROG " %s OPTIONS {} +", shown, shown, cli_verb);
            else
                cli_hint("give one of its files; for each, sub-folders too: "
                         "find %s -type f -exec " PROG " %s OPTIONS {} \\;", shown, cli_verb);
            goto fail;
        }
        if (S_ISREG(st.st_mode)) {
            if ((uint64_t)st.st_size > max) {
                too_large(shown, input, (long long)st.st_size, max);
                goto fail;
            }
            cap = (size_t)st.st_size + 1; /* + 1: sees the end without growing */
        }
    }
    if (cap <= 1) /* a pipe, a terminal, or a file that does not tell its size */
        cap = 65536;
    if ((buf = mc__alloc_huge(cap)) == NULL) { /* few page faults (src/mem.c) */
        cli_error(shown, "out of memory");
        goto fail;
    }
    for (;;) {
        ssize_t n;
        if (len == cap) {
            uint8_t *p;
            if (cap > max) {
                too_large(shown, input, -1, max);
                goto fail;
            }
            /* A stream of no known size (a pipe, a device) that by 64 MiB
             * does not begin as any image medcrypt reads is not read on to
             * the 4 GiB cap: /dev/zero took 4.1 GB of memory before "file
             * too large" (a batch audit). A key file is read whole below
             * 64 KiB. */
            if (cap == SNIFF_AT && mc__image_sniff(buf, len) == MC_FORMAT_NONE) {
                cli_error(shown, "not an image medcrypt can read (none begins so; read %zu MiB, "
                                 "then stopped)", len >> 20);
                goto fail;
            }
            /* not realloc(), which would free the old block unwiped: it
             * holds part of an image or a key file */
            if ((p = mc__alloc_huge(cap * 2)) == NULL) {
                cli_error(shown, "out of memory");
                goto fail;
            }
            memcpy(p, buf, len);
            sodium_memzero(buf, len);
            mc__free_huge(buf);
            buf = p;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cli_error(shown, "%s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        too_large(shown, input, -1, max);
        goto fail;
    }
    /* every verb alike: "not an image" would send one looking for a
     * format (info, compare and analyze said so; a review) */
    if (len == 0 && input) {
        cli_error(shown, "empty file (0 bytes)");
        goto fail;
    }
    if (!is_stdin)
        close(fd);
    mc__huge_poison_after(buf, len); /* under ASan: a read past the file is caught */
    *out = buf;
    *out_len = len;
    return true;
fail:
    if (buf != NULL)
        sodium_memzero(buf, len);
    mc__free_huge(buf);
    if (!is_stdin)
        close(fd);
    return false;
}

bool cli_read_file(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
    return read_file(path, max, out, out_len, NULL, true);
}

/* A character device or a FIFO: written into, never replaced. */
static bool stream_mode(mode_t mode)
{
    return S_ISCHR(mode) || S_ISFIFO(mode);
}

static bool ours(uid_t uid)
{
    return uid == geteuid() || uid == 0;
}

/* Whether this user may create files in path's folder: false only for a
 * clear no (permission, a read-only file system), never for a doubt. */
static bool folder_writable(const char *path)
{
    char dir[4096];

    return !cli_folder_of(dir, path) || access(dir, W_OK) == 0 ||
           (errno != EACCES && errno != EPERM && errno != EROFS);
}

/* The name an output's messages start with: its path, or for an output
 * named after its input, "INPUT: output PATH", so that each line of a
 * batch begins with the input it is about, as its other lines do (a batch
 * audit: "x.enc.png: already exists" about input x and "x.enc.png:
 * already a cipher image" about input x.enc.png looked alike). */
#define LABEL_BYTES (2 * 4096 + 16)
static const char *label(char buf[LABEL_BYTES], const char *path, const char *from)
{
    if (strcmp(path, "-") == 0) /* an output: emit() would call "-" standard input */
        path = "standard output";
    if (from == NULL || from[0] == '\0')
        return path;
    snprintf(buf, LABEL_BYTES, "%s: output %s", from, path);
    return buf;
}

/* Whether the stream (device or FIFO) at path, st its stat(), may not be
 * written into, said on stderr. Only one the user named (-o) may be:
 * whoever can create files in a folder could otherwise plant a named pipe
 * where medcrypt puts a decrypted image by default and read it as it is
 * written (a security audit). And only the user's own, or root's
 * (/dev/null, /dev/stdout), reached through a link of theirs: a pipe
 * planted under the name given to keygen -o would take the key's only
 * copy. */
static bool stream_refused(const char *path, const struct stat *st, bool named, const char *from)
{
    char l[LABEL_BYTES];
    struct stat link;

    if (!named) {
        cli_error(label(l, path, from), "is a named pipe or a device: an output name medcrypt "
                                        "chose is never written into one (give it with -o to "
                                        "write there)");
        return true;
    }
    if (!ours(st->st_uid) || (lstat(path, &link) == 0 && S_ISLNK(link.st_mode) &&
                              !ours(link.st_uid))) {
        cli_error(label(l, path, from), "is a named pipe or a device of another user: not written "
                                        "into");
        return true;
    }
    return false;
}

bool cli_output_taken(const char *path, bool force, bool named, const char *from)
{
    char l[LABEL_BYTES];
    struct stat st;
    size_t n = strlen(path);
    bool exists;

    if (strcmp(path, "-") == 0)
        return false;
    /* One lstat, and a stat only through a symbolic link (a dangling one
     * is a name taken all the same): this runs for every output. */
    exists = lstat(path, &st) == 0;
    if (exists && S_ISLNK(st.st_mode) && stat(path, &st) != 0)
        st.st_mode = S_IFLNK;
    /* --force would not help: an output is a file, never a directory. */
    if ((n > 0 && path[n - 1] == '/') || (exists && S_ISDIR(st.st_mode))) {
        cli_error(label(l, path, from), "names a directory: the output must be a file");
        return true;
    }
    if (exists && stream_mode(st.st_mode))
        return stream_refused(path, &st, named, from);
    if (exists && !force && !folder_writable(path)) {
        /* --force would fail there too (a review) */
        cli_error(label(l, path, from), "already exists, in a folder you cannot write to");
        atomic_fetch_add(&outputs_unwritable, 1);
        return true;
    }
    if (exists && !force) {
        cli_error(label(l, path, from), "already exists (use --force to overwrite)");
        atomic_fetch_add(&outputs_existing, 1);
        return true;
    }
    return false;
}

bool cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return false;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The umask can only be read by setting it. Two workers doing that at
 * once could leave it at 0 (one reads the other's temporary 0 and
 * restores that), and the outputs after it world-writable: read it once. */
static mode_t process_umask;
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;

static void read_umask(void)
{
    process_umask = umask(0);
    umask(process_umask);
}

mode_t cli_mode(bool secret)
{
    pthread_once(&umask_once, read_umask);
    return (secret ? 0600 : 0666) & ~process_umask;
}

/* The temporary files being written (one slot per worker thread, and one
 * for the committer thread's names, COMMITTER_SLOT), removed if a signal
 * ends us. */
#define SLOTS (CLI_MAX_JOBS + 1)
#define COMMITTER_SLOT CLI_MAX_JOBS
#define SLOT_BYTES 4096
static atomic_char pending_tmp[SLOTS][SLOT_BYTES];
/* Those written and waiting for the committer (below), one slot per
 * place in its queue: removed too. */
#define COMMIT_QUEUE 16
static atomic_char queued_tmp[COMMIT_QUEUE][SLOT_BYTES];

/* A slot is read by the signal handler while other threads write it, so
 * its bytes are atomic (lock-free: async-signal-safe, C11 7.14.1.1): the
 * name's other bytes first, then its first byte, which says "a name is
 * here" (a sequentially consistent store; the handler's load of it sees
 * the bytes written before). Plain bytes and fences were a data race
 * under C11, which ThreadSanitizer found (the handler against a worker
 * moving a name to the committer's queue), and on a weakly ordered CPU
 * the handler could have read a moved name in neither slot and left a
 * temporary file behind. */
static void slot_set(atomic_char *slot, const char *name)
{
    size_t i = 1;

    for (; name[0] != '\0' && name[i] != '\0' && i + 1 < SLOT_BYTES; i++)
        atomic_store_explicit(&slot[i], name[i], memory_order_relaxed);
    atomic_store_explicit(&slot[i], '\0', memory_order_relaxed);
    atomic_store(&slot[0], name[0]);
}

static void slot_clear(atomic_char *slot)
{
    atomic_store(&slot[0], '\0');
}

/* In the handler: removes the file named in the slot, if any. */
static void slot_unlink(atomic_char *slot)
{
    char name[SLOT_BYTES];
    size_t i = 1;

    if ((name[0] = atomic_load(&slot[0])) == '\0')
        return;
    while (i + 1 < SLOT_BYTES &&
           (name[i] = atomic_load_explicit(&slot[i], memory_order_relaxed)) != '\0')
        i++;
    name[i] = '\0';
    unlink(name); /* async-signal-safe */
}
static atomic_int next_slot;
static _Thread_local int my_slot = -1;

/* Set by the handler before it removes the registered files: a worker
 * that creates a temporary file after that removes it itself
 * (create_tmp). The process is dying, but other threads run on until the
 * kernel stops them, and one may start its next file meanwhile (seen in
 * tests/robust.sh: a 0-byte orphan after SIGTERM). */
static atomic_bool terminating;
/* Set by a worker from before it reads `terminating` until its new file
 * is either kept (terminating was clear after the file existed) or
 * removed again: the handler waits for these windows to close before it
 * removes the registered files and lets the process die. Without the
 * wait, the handler could remove a registered name whose file did not
 * exist yet, and the kernel stop the worker after it created the file
 * but before it saw `terminating` (tests/robust.sh under load: about 1
 * run in 130 left a temporary file). */
static atomic_bool creating[SLOTS];
/* Set by a thread from before it reads `terminating` until a finished
 * output has its name and is counted in `placed` (put_in_place), with
 * the signals blocked on that thread meanwhile: the handler, on another
 * thread, waits for the window to close before it counts the outputs in
 * place. Without it, a signal between the naming and the count (on the
 * committer's own thread, during its close(2)) gave "interrupted: 1 of
 * 300 files written" over two files: 4 of 120 batches interrupted on a
 * disk (ext4); none of 360 since. */
static atomic_bool naming[SLOTS];

/* Waits (at most 100 ms: two signals at once on two workers each in its
 * window would otherwise wait for each other) until no worker but this
 * thread is creating or naming a file. clock_gettime is
 * async-signal-safe. */
static void wait_creations(void)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < SLOTS; i++) {
        while (i != my_slot && (atomic_load(&creating[i]) || atomic_load(&naming[i]))) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 100000000L)
                return;
        }
    }
}

/* Outputs put in place by this process, and the inputs of the batch
 * running (0: none): for the last word of an interrupted batch. */
static atomic_int placed, batch_total;

static void install_handlers(void);
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

void cli_batch_watch(int total)
{
    atomic_store(&batch_total, total);
    /* From the batch's start, not its first output's: a signal while the
     * first input was still being read (a slow disk, a named pipe) killed
     * the batch the default way, without the line (a review). */
    if (total > 0)
        pthread_once(&handlers_once, install_handlers);
}

/* s, then n in decimal, appended at msg + len (async-signal-safe). */
static size_t put_text(char *msg, size_t len, const char *s)
{
    while (*s != '\0')
        msg[len++] = *s++;
    return len;
}

static size_t put_count(char *msg, size_t len, int n)
{
    char digits[12];
    int k = 0;

    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) > 0 && k < (int)sizeof digits);
    while (k > 0)
        msg[len++] = digits[--k];
    return len;
}

/* "interrupted: 93 of 240 files written": what a log of a killed batch
 * had nothing of (a batch audit); outputs in place only, not those still
 * being written, which the handler removes. */
static void say_interrupted(void)
{
    char msg[160];
    size_t len = 0;
    int total = atomic_load(&batch_total);

    if (total == 0)
        return;
    if (atomic_load(&progress_shown))
        len = put_text(msg, len, "\r\033[K");
    len = put_text(msg, len, PROG ": interrupted: ");
    len = put_count(msg, len, atomic_load(&placed));
    len = put_text(msg, len, " of ");
    len = put_count(msg, len, total);
    len = put_text(msg, len, " files written, the others not (no partial file left)\n");
    (void)!write(STDERR_FILENO, msg, len);
}

static void on_signal(int sig)
{
    atomic_store(&terminating, true); /* lock-free: async-signal-safe */
    /* This thread, if it was creating a file, never resumes: the signal
     * raised below is delivered as soon as the handler returns. */
    wait_creations();
    for (int i = 0; i < SLOTS; i++)
        slot_unlink(pending_tmp[i]);
    for (int i = 0; i < COMMIT_QUEUE; i++)
        slot_unlink(queued_tmp[i]);
    say_interrupted();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A signal the process was started with ignored stays ignored: nohup(1)
 * ignores SIGHUP so that a batch outlives the terminal it was started
 * from, and a shell starts background jobs with SIGINT ignored so that
 * Ctrl-C reaches only the foreground one (POSIX, "Shell Command
 * Language", 2.11). Catching them anyway killed such a batch. */
static void catch_unless_ignored(int sig)
{
    struct sigaction old;

    if (sigaction(sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_IGN)
        return;
    signal(sig, on_signal);
}

static void install_handlers(void)
{
    catch_unless_ignored(SIGINT);
    catch_unless_ignored(SIGTERM);
    catch_unless_ignored(SIGHUP);
    signal(SIGPIPE, SIG_IGN);
}

/* pthread_once, not a flag tested and set: a second worker must not
 * create its temporary file until the handlers are in place. With a flag
 * it went on as soon as the first had set it, and a SIGTERM in between
 * would have killed the process the default way, leaving that file
 * behind (a window found reading the code; the orphans measured came
 * from the race create_tmp's window closes). */
static void guard_signals(void)
{
    if (my_slot < 0)
        my_slot = atomic_fetch_add(&next_slot, 1) % CLI_MAX_JOBS;
    pthread_once(&handlers_once, install_handlers);
}

/* The directory of path, whose first dir_len bytes name it ("." for 0). */
static void dir_of(char dir[4096], const char *path, int dir_len)
{
    if (dir_len == 0)
        snprintf(dir, 4096, ".");
    else
        snprintf(dir, 4096, "%.*s", dir_len, path);
}

bool cli_folder_of(char dir[4096], const char *path)
{
    int dir_len = (int)(cli_basename(path) - path);

    if (dir_len >= 4096)
        return false;
    dir_of(dir, path, dir_len);
    return true;
}

/* Makes the new directory entry durable (the file's data already is):
 * after a power loss the output is then there, not just not partial. Best
 * effort: some file systems refuse fsync on a directory. */
static void sync_dir(const char *path, int dir_len)
{
    char dir[4096];
    int fd;

    dir_of(dir, path, dir_len);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static bool link_unnamed(int fd, const char *path);

/* Creates the temporary file tmp (its 6 characters at offset x replaced
 * by random ones, as mkstemp does) and returns its descriptor; or, if
 * unnamed is an open unnamed file (open_unnamed), gives it that name and
 * returns 0. The name is registered for the signal handler *before* the
 * file exists, and the creation runs inside this slot's `creating`
 * window, which the handler waits for: either the handler finds the file
 * under the registered name, or this thread sees `terminating` and
 * removes the file itself, so no orphan is left. */
static int create_tmp(char *tmp, size_t x, int unnamed)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t r[6];
    int fd;

    for (int attempt = 0; attempt < 100; attempt++) {
        randombytes_buf(r, sizeof r);
        for (size_t i = 0; i < sizeof r; i++)
            tmp[x + i] = chars[r[i] % (sizeof chars - 1)];
        slot_set(pending_tmp[my_slot], tmp);
        atomic_store(&creating[my_slot], true);
        if (atomic_load(&terminating)) {
            errno = EINTR;
            fd = -1;
        } else if (unnamed >= 0) {
            fd = link_unnamed(unnamed, tmp) ? 0 : -1;
        } else {
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        /* Registered, then created, then the flag read (sequentially
         * consistent, and not moved across the call that created the
         * file); the handler sets the flag, waits for the window to
         * close, then reads the names: one of the two removes the file. */
        if (fd >= 0 && atomic_load(&terminating)) {
            if (unnamed < 0)
                close(fd);
            unlink(tmp);
            fd = -1;
            errno = EINTR;
        }
        atomic_store(&creating[my_slot], false);
        if (fd >= 0)
            return fd;
        slot_clear(pending_tmp[my_slot]);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

bool cli_write_fd(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Streamed output: pieces are gathered into a buffer of this size and
 * written in large calls (libspng hands over 8 KiB at a time). It is
 * allocated at the first piece, not when the file is opened: by then the
 * image has been encrypted or decrypted, and the block the stages copied
 * their groups into is free for it (src/mem.c keeps freed image-sized
 * blocks), one 2 MiB huge page fewer to fault in and zero. */
#define OUTPUT_BUFFER ((size_t)256 << 10)

struct cli_output {
    char path[4096];
    char tmp[4096];
    int fd;
    int dir_len;
    int err;      /* errno of the first failed write, or 0 */
    bool to_stdout;
    bool stream;  /* an existing device or FIFO, written into (cli_is_stream) */
    size_t used;
    size_t high;  /* bytes of buf ever written: what is wiped */
    off_t written, kicked; /* bytes in the file; of them, sent to disk */
    uint8_t *buf;          /* OUTPUT_BUFFER bytes, or NULL until needed */
    atomic_char *registered; /* where tmp is registered for the signal handler */
    bool force;            /* replace an existing file */
    bool unnamed;          /* O_TMPFILE: no name until put in place */
    char *announce;        /* a line for stdout once in place (-v), or NULL */
    char from[4096];       /* the input it is named after, or "" (label) */
};

/* The -v line of an output, once it is in place: whole, on stdout. */
static void announce(cli_output *o)
{
    if (o->announce != NULL)
        cli_say(o->announce);
}

void cli_output_announce(cli_output *o, const char *line)
{
    free(o->announce);
    o->announce = strdup(line); /* no memory: no line, the file is written */
}

/* /proc/self/fd/N: the name the kernel gives an open file. */
#define FD_PATH 32
static void fd_path(char self[FD_PATH], int fd)
{
    snprintf(self, FD_PATH, "/proc/self/fd/%d", fd);
}

/* An output with no name at all until it is complete (Linux's O_TMPFILE,
 * 3.11): a process killed while writing it, by SIGKILL, a crash or a
 * power loss, leaves nothing behind, where a named temporary file stays
 * as debris holding part of a cipher image or, for a decrypt, of the
 * plain one (the filesystem frees an unlinked inode once nothing holds
 * it). Its name comes from linkat(2) through /proc/self/fd (AT_EMPTY_PATH
 * would need CAP_DAC_READ_SEARCH), which, like link(2), never replaces a
 * file; with --force, whose atomic replacement of the old file is a
 * rename(2), the complete and synced file is first linked under a
 * temporary name (create_tmp): a SIGKILL while that link is made (about
 * once in ten three-kill trials of tests/robust.sh) leaves the whole
 * file under it, never part of one. Not used, and the named temporary
 * file below is, where the filesystem has no O_TMPFILE (FAT, NFS,
 * overlayfs before Linux 6.6...) or /proc is not mounted. */
static bool open_unnamed(cli_output *o)
{
#if defined(__linux__) && defined(O_TMPFILE)
    char dir[4096], self[FD_PATH];
    struct stat a, b;
    int fd;

    dir_of(dir, o->path, o->dir_len);
    if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) < 0)
        return false;
    fd_path(self, fd);
    if (fstat(fd, &a) != 0 || stat(self, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        close(fd);
        return false;
    }
    o->fd = fd;
    return true;
#else
    (void)o;
    return false;
#endif
}

/* Names the unnamed output (open_unnamed), never replacing a file:
 * EEXIST if path exists. */
static bool link_unnamed(int fd, const char *path)
{
    char self[FD_PATH];

    fd_path(self, fd);
    return linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0;
}

/* The longest part of an output's name in its temporary name
 * ".NAME.XXXXXX.tmp": 255 bytes in all, the NAME_MAX of Linux's
 * filesystems. */
#define TMP_BASE_MAX (255 - 12)

cli_output *cli_output_open(const char *path, mode_t mode, bool force, bool named,
                            const char *from)
{
    const char *base = cli_basename(path);
    char l[LABEL_BYTES];
    size_t tmp_base;
    struct stat st;
    bool exists;
    cli_output *o;

    if ((o = calloc(1, sizeof *o)) == NULL) {
        cli_error(label(l, path, from), "out of memory");
        return NULL;
    }
    if (from != NULL)
        snprintf(o->from, sizeof o->from, "%s", from);
    if (strcmp(path, "-") == 0) {
        o->to_stdout = true;
        o->fd = STDOUT_FILENO;
        snprintf(o->path, sizeof o->path, "standard output");
        return o;
    }
    /* A disk: neither written over nor, with --force, replaced by a file. */
    exists = stat(path, &st) == 0;
    if (exists && S_ISBLK(st.st_mode)) {
        cli_error(label(l, path, from), "is a block device: refusing to write an image over it");
        free(o);
        return NULL;
    }
    /* /dev/null, a named pipe, a process substitution's /dev/fd/N: written
     * into as they are, never replaced by a file (as root, renaming over
     * /dev/null would have replaced the device for the whole system). */
    if (exists && stream_mode(st.st_mode)) {
        struct stat opened;

        snprintf(o->path, sizeof o->path, "%s", path);
        if (stream_refused(path, &st, named, from)) {
            free(o);
            return NULL;
        }
        if ((o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
            cli_error(label(l, path, from), "cannot write there: %s", strerror(errno));
            free(o);
            return NULL;
        }
        /* the one checked, not one swapped in since */
        if (fstat(o->fd, &opened) != 0 || opened.st_dev != st.st_dev ||
            opened.st_ino != st.st_ino) {
            cli_error(label(l, path, from), "changed while being opened: not written into");
            close(o->fd);
            free(o);
            return NULL;
        }
        o->stream = true;
        return o;
    }
    o->dir_len = (int)(base - path);
    /* The temporary name is the output's and 12 bytes more: for a name of
     * 244 to 255 bytes, which fits, it did not ("File name too long" for
     * every --force, and on a filesystem without O_TMPFILE for every
     * output: a review). Its part of the name is cut to leave room, at a
     * UTF-8 character's start. */
    tmp_base = strlen(base);
    if (tmp_base > TMP_BASE_MAX) {
        tmp_base = TMP_BASE_MAX;
        while (tmp_base > 0 && ((unsigned char)base[tmp_base] & 0xC0) == 0x80)
            tmp_base--;
    }
    if ((size_t)snprintf(o->path, sizeof o->path, "%s", path) >= sizeof o->path ||
        (size_t)snprintf(o->tmp, sizeof o->tmp, "%.*s.%.*s.XXXXXX.tmp", o->dir_len, path,
                         (int)tmp_base, base) >= sizeof o->tmp) {
        cli_error(label(l, path, from), "file name too long");
        free(o);
        return NULL;
    }
    o->force = force;
    guard_signals();
    /* The slot is empty (each output clears it before the next opens) and
     * stays so for an unnamed one: nothing for the handler to remove. */
    o->registered = pending_tmp[my_slot];
    if (open_unnamed(o)) {
        o->unnamed = true;
    } else if ((o->fd = create_tmp(o->tmp, strlen(o->tmp) - 10, -1)) < 0) {
        /* a signal is ending the batch (create_tmp): its line says what
         * was written; "Interrupted system call" after it, about a file
         * it counts as not written, was noise (a review) */
        if (errno == EACCES || errno == EPERM || errno == EROFS)
            atomic_fetch_add(&outputs_unwritable, 1);
        if (!(errno == EINTR && atomic_load(&terminating)))
            cli_error(label(l, path, from), "cannot create a file there: %s", strerror(errno));
        free(o);
        return NULL;
    }
    if (fchmod(o->fd, mode) != 0) {
        cli_error(label(l, path, from), "write failed: %s", strerror(errno));
        cli_output_abort(o);
        return NULL;
    }
    return o;
}

/* Asks the kernel to start writing each further MiB of a file to disk
 * now, while the rest is still being encoded, so that the fsync of
 * cli_output_commit waits for less (Linux's sync_file_range(2); a hint,
 * the fsync still guarantees the file). */
#define WRITEBACK_STEP ((off_t)1 << 20)

/* Writes len bytes to the file unless a write already failed (then or
 * now: o->err keeps the first errno), and starts their writeback. */
static void output_bytes(cli_output *o, const uint8_t *data, size_t len)
{
    if (o->err != 0)
        return;
    if (!cli_write_fd(o->fd, data, len)) {
        o->err = errno;
        return;
    }
    o->written += (off_t)len;
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    if (!o->to_stdout && !o->stream && o->written - o->kicked >= WRITEBACK_STEP) {
        (void)sync_file_range(o->fd, o->kicked, o->written - o->kicked, SYNC_FILE_RANGE_WRITE);
        o->kicked = o->written;
    }
#endif
}

static void output_flush(cli_output *o)
{
    if (o->used > 0)
        output_bytes(o, o->buf, o->used);
    o->used = 0;
}

int cli_output_write(void *out, const uint8_t *data, size_t len)
{
    cli_output *o = out;

    if (o->err != 0)
        return -1;
    if (len > OUTPUT_BUFFER - o->used) {
        output_flush(o);
        if (len >= OUTPUT_BUFFER) { /* large: straight from the caller's buffer */
            output_bytes(o, data, len);
            return o->err == 0 ? 0 : -1;
        }
    }
    if (o->buf == NULL && (o->buf = mc__alloc_huge(OUTPUT_BUFFER)) == NULL) {
        o->err = ENOMEM;
        return -1;
    }
    memcpy(o->buf + o->used, data, len);
    o->used += len;
    if (o->used > o->high)
        o->high = o->used;
    return o->err == 0 ? 0 : -1;
}

bool cli_output_failed(const cli_output *o)
{
    return o->err != 0;
}

/* Wipes and frees the buffer: it may hold a plain image. */
static void output_release_buffer(cli_output *o)
{
    if (o->buf != NULL) {
        sodium_memzero(o->buf, o->high);
        mc__free_huge(o->buf);
        o->buf = NULL;
    }
}

static void output_free(cli_output *o)
{
    output_release_buffer(o);
    free(o->announce);
    free(o);
}

void cli_output_abort(cli_output *o)
{
    if (o == NULL)
        return;
    if (o->stream) {
        close(o->fd);
    } else if (!o->to_stdout) {
        if (o->fd >= 0)
            close(o->fd); /* an unnamed file is gone with it */
        if (!o->unnamed)
            unlink(o->tmp);
        slot_clear(o->registered);
    }
    output_free(o);
}

/* Gives the file at tmp the name path unless path exists (errno EEXIST):
 * no clobbering even if the file appeared while we worked. Linux's
 * renameat2(2) with RENAME_NOREPLACE does it in one step, on every local
 * filesystem since Linux 4.9, FAT and exFAT drives included, which have
 * no hard links. Where the filesystem refuses the flag (EINVAL: NFS,
 * some FUSE) or the kernel lacks the call, link(2), which never
 * replaces, then unlink(2) of the temporary name. */
static bool move_no_replace(const char *tmp, const char *path)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return true;
    if (errno != EINVAL && errno != ENOSYS)
        return false;
#endif
    if (link(tmp, path) != 0)
        return false;
    (void)unlink(tmp); /* the file is in place; a leftover name is only debris */
    return true;
}

/* With force, the unnamed output (open_unnamed) replaces path: linked
 * under a temporary name, registered in this thread's slot, then renamed
 * over path. */
static bool replace_with_unnamed(cli_output *o)
{
    bool ok;

    if (create_tmp(o->tmp, strlen(o->tmp) - 10, o->fd) < 0)
        return false;
    if (!(ok = rename(o->tmp, o->path) == 0)) {
        int e = errno;
        unlink(o->tmp);
        errno = e;
    }
    slot_clear(pending_tmp[my_slot]);
    return ok;
}

/* "write failed", and with --force over an existing file, that it is
 * still the old one (a full disk: it was, but nobody said so). */
static void write_failed(const cli_output *o, int errnum)
{
    struct stat st;
    bool kept = o->force && !o->stream && !o->to_stdout && lstat(o->path, &st) == 0;
    char l[LABEL_BYTES];

    cli_error(label(l, o->path, o->from), "write failed: %s%s", strerror(errnum),
              kept ? "; the file there before is left as it was" : "");
}

/* Closes the output's file; false, said, if the close reports a failed
 * write. */
static bool close_output(cli_output *o)
{
    int r = close(o->fd);

    o->fd = -1;
    if (r != 0)
        write_failed(o, errno);
    return r == 0;
}

/* Gives the written file its name: without force never replacing a file
 * (link_unnamed, move_no_replace: EEXIST), with force in place of the old
 * one (replace_with_unnamed, rename). */
static bool give_name(cli_output *o)
{
    if (o->unnamed)
        return o->force ? replace_with_unnamed(o) : link_unnamed(o->fd, o->path);
    return o->force ? rename(o->tmp, o->path) == 0 : move_no_replace(o->tmp, o->path);
}

/* Opens this thread's `naming` window: the handler's signals blocked
 * here (they go to another thread, whose handler waits for the window),
 * then the flag set, then `terminating` may be read. The thread has its
 * slot, as in create_tmp: the committer's, or that of the worker that
 * opened the output (cli_output_open, guard_signals). */
static void naming_window(sigset_t *old)
{
    sigset_t block;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, old);
    atomic_store(&naming[my_slot], true);
}

static void naming_closed(const sigset_t *old)
{
    atomic_store(&naming[my_slot], false);
    pthread_sigmask(SIG_SETMASK, old, NULL); /* a signal held meanwhile comes now */
}

/* Makes the written file durable and gives it its name (give_name). A
 * named temporary file is closed first, an unnamed one after: its
 * descriptor is its only name until then. False, said and the temporary
 * file removed, on failure. The directory entry is not yet synced
 * (sync_dir); o is not freed. */
static bool put_in_place(cli_output *o)
{
    char l[LABEL_BYTES];
    sigset_t old_mask;

    if (fsync(o->fd) != 0) {
        write_failed(o, errno);
        goto fail;
    }
    if (!o->unnamed && !close_output(o))
        goto fail;
    naming_window(&old_mask);
    if (atomic_load(&terminating)) { /* the handler counts, and removes tmp */
        naming_closed(&old_mask);
        goto fail;
    }
    if (!give_name(o)) {
        int e = errno;
        naming_closed(&old_mask);
        if (e == EEXIST && !o->force) {
            cli_error(label(l, o->path, o->from), "already exists (use --force to overwrite)");
            atomic_fetch_add(&outputs_existing, 1);
        } else if (!(e == EINTR && atomic_load(&terminating))) { /* as in cli_output_open */
            cli_error(label(l, o->path, o->from), "%s", strerror(e));
        }
        goto fail;
    }
    if (o->unnamed && !close_output(o)) { /* synced already: not seen on a local disk */
        naming_closed(&old_mask);
        unlink(o->path);
        goto fail;
    }
    slot_clear(o->registered);
    atomic_fetch_add(&placed, 1);
    naming_closed(&old_mask);
    announce(o);
    return true;
fail:
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (!o->unnamed)
        unlink(o->tmp);
    slot_clear(o->registered);
    return false;
}

/* The committer: while a batch runs, each finished output is handed to
 * this thread, which waits for the disk (put_in_place, sync_dir) while
 * the worker goes on with its next file. On a disk the two fsyncs of a
 * commit take 1-2 ms, the time to encrypt a third of a 512x512 16-bit
 * image, and a worker used to wait for them with its core idle:
 * docs/PERFORMANCE.md, "Batches on a disk". Each file is synced before it
 * gets its name, as alone, so a name never shows a partial file; the
 * directory, which makes the names themselves survive a power loss, is
 * synced once for a run of files in it: before the first file of another
 * directory, and before the batch ends (cli_committer_finish), so every
 * output is durable when the command exits. The queue is bounded (a
 * worker waits when it is full), and its temporary files stay registered
 * for the signal handler (queued_tmp) until they are in place. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t thread;
    bool running, closing;
    int head, count, failures;
    cli_output *item[COMMIT_QUEUE];
} committer = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void *commit_loop(void *arg)
{
    /* The directory with new entries not yet synced (path[0 .. len]). */
    char dirty[4096];
    int dirty_len = -1;

    (void)arg;
    my_slot = COMMITTER_SLOT; /* for the names of replace_with_unnamed */
    pthread_mutex_lock(&committer.lock);
    for (;;) {
        cli_output *c;
        bool ok;

        while (committer.count == 0 && !committer.closing)
            pthread_cond_wait(&committer.changed, &committer.lock);
        if (committer.count == 0)
            break;
        c = committer.item[committer.head];
        pthread_mutex_unlock(&committer.lock);
        if (dirty_len >= 0 && (c->dir_len != dirty_len ||
                               memcmp(c->path, dirty, (size_t)dirty_len) != 0)) {
            sync_dir(dirty, dirty_len);
            dirty_len = -1;
        }
        if ((ok = put_in_place(c))) {
            memcpy(dirty, c->path, (size_t)c->dir_len);
            dirty_len = c->dir_len;
        }
        output_free(c);
        pthread_mutex_lock(&committer.lock);
        /* Out of the queue only now: its slot held the registered name. */
        committer.head = (committer.head + 1) % COMMIT_QUEUE;
        committer.count--;
        committer.failures += !ok;
        pthread_cond_broadcast(&committer.changed);
    }
    pthread_mutex_unlock(&committer.lock);
    if (dirty_len >= 0)
        sync_dir(dirty, dirty_len);
    return NULL;
}

bool cli_committer_start(void)
{
    bool ok;

    pthread_mutex_lock(&committer.lock);
    ok = !committer.running &&
         pthread_create(&committer.thread, NULL, commit_loop, NULL) == 0;
    if (ok) {
        committer.running = true;
        committer.closing = false;
        committer.head = committer.count = committer.failures = 0;
    }
    pthread_mutex_unlock(&committer.lock);
    return ok;
}

int cli_committer_finish(void)
{
    int failures;

    pthread_mutex_lock(&committer.lock);
    committer.closing = true;
    pthread_cond_broadcast(&committer.changed);
    pthread_mutex_unlock(&committer.lock);
    pthread_join(committer.thread, NULL);
    pthread_mutex_lock(&committer.lock);
    committer.running = false;
    failures = committer.failures;
    pthread_mutex_unlock(&committer.lock);
    return failures;
}

/* Moves the registered name from the worker's slot to a queue slot, the
 * handler seeing the whole name in one of the two at every moment: the
 * new slot is set whole (slot_set: its first byte last), and the old
 * slot cleared only then, both sequentially consistent. */
static void move_registration(cli_output *o, atomic_char *slot)
{
    slot_clear(slot);
    slot_set(slot, o->unnamed ? "" : o->tmp); /* an unnamed file: none */
    slot_clear(o->registered);
    o->registered = slot;
}

/* Queues o for the committer if one runs; false if none does. */
static bool hand_over(cli_output *o)
{
    int i;

    pthread_mutex_lock(&committer.lock);
    if (!committer.running) {
        pthread_mutex_unlock(&committer.lock);
        return false;
    }
    while (committer.count == COMMIT_QUEUE)
        pthread_cond_wait(&committer.changed, &committer.lock);
    i = (committer.head + committer.count) % COMMIT_QUEUE;
    move_registration(o, queued_tmp[i]);
    committer.item[i] = o;
    committer.count++;
    pthread_cond_broadcast(&committer.changed);
    pthread_mutex_unlock(&committer.lock);
    return true;
}

bool cli_output_commit(cli_output *o)
{
    output_flush(o);
    if (o->err != 0) {
        write_failed(o, o->err);
        cli_output_abort(o);
        return false;
    }
    if (o->to_stdout) {
        cli_output_abort(o); /* frees */
        return true;
    }
    if (o->stream) { /* nothing to name: closed, and done */
        bool ok = close(o->fd) == 0;
        if (!ok)
            write_failed(o, errno);
        else
            announce(o);
        output_free(o);
        return ok;
    }
    /* The buffer is this worker's memory: wiped and freed now, for its
     * next file to reuse (src/mem.c), not when the file is in place. */
    output_release_buffer(o);
    if (hand_over(o))
        return true;
    if (!put_in_place(o)) {
        output_free(o);
        return false;
    }
    sync_dir(o->path, o->dir_len);
    output_free(o);
    return true;
}

bool cli_write_file(const char *path, const uint8_t *buf, size_t len, bool force, mode_t mode,
                    bool named)
{
    cli_output *o = cli_output_open(path, mode, force, named, NULL);

    if (o == NULL)
        return false;
    (void)cli_output_write(o, buf, len); /* a failure is reported by commit */
    return cli_output_commit(o);
}

/* The terminal's settings while a hidden prompt is up: a signal that
 * ends the process then (Ctrl-C at the prompt) puts echo back first, or
 * the shell was left typing blind. tcsetattr is async-signal-safe. */
static int prompt_fd = -1;
static struct termios prompt_saved;

static void on_prompt_signal(int sig)
{
    if (prompt_fd >= 0)
        tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

bool cli_prompt(const char *question, bool secret, char *buf, size_t size)
{
    struct sigaction was[sizeof prompt_signals / sizeof prompt_signals[0]] = {0};
    struct termios old, quiet;
    bool restore = false, ok = false;
    FILE *tty = fopen("/dev/tty", "r+");
    size_t n;

    if (tty == NULL)
        return false;
    /* Unbuffered: fgets() would read the line into the stream's own
     * buffer, which fclose() frees unwiped (a key, an Aadhaar number:
     * a security audit). One byte per read(2) is nothing for a line
     * typed by hand. */
    setvbuf(tty, NULL, _IONBF, 0);
    /* Echo off before the question: what is typed as soon as it shows
     * is never echoed. */
    if (secret && tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        prompt_saved = old;
        prompt_fd = fileno(tty);
        for (size_t i = 0; i < sizeof prompt_signals / sizeof prompt_signals[0]; i++) {
            struct sigaction sa = {.sa_handler = on_prompt_signal};
            sigemptyset(&sa.sa_mask);
            /* one started ignored (nohup, a background job) stays so */
            if (sigaction(prompt_signals[i], NULL, &was[i]) == 0 &&
                !(was[i].sa_flags & SA_SIGINFO) && was[i].sa_handler == SIG_IGN)
                continue;
            (void)sigaction(prompt_signals[i], &sa, NULL);
        }
        restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    fprintf(tty, "%s", question);
    fflush(tty);
    if (fgets(buf, (int)size, tty) != NULL) {
        n = strlen(buf);
        /* A line longer than buf: its rest was read as the next answer
         * (keygen asks again, and a long date of birth took two of its
         * three tries). It is read to its end now and the whole line
         * refused, as cli_read_line does: an empty answer, which the
         * caller's check rejects with what it expects. */
        if (n > 0 && buf[n - 1] != '\n' && !feof(tty)) {
            int c = getc(tty);
            if (c != '\n' && c != EOF) {
                while ((c = getc(tty)) != '\n' && c != EOF)
                    ;
                sodium_memzero(buf, size);
                n = 0;
            }
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        ok = true;
    }
    if (restore) {
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    if (prompt_fd >= 0) { /* the handlers above were set */
        for (size_t i = 0; i < sizeof prompt_signals / sizeof prompt_signals[0]; i++)
            (void)sigaction(prompt_signals[i], &was[i], NULL);
        prompt_fd = -1;
    }
    fclose(tty);
    return ok;
}

/* A key file other users can read is as good as given to them: ssh(1)
 * refuses such a private key. Here a warning, after the key is read (a
 * key folder shared by a team may be meant so), naming the file and its
 * mode as the descriptor read showed them, never its content; not for a
 * stream (a pipe, process substitution). The chmod hint only where the
 * name can be pasted as it is: not for /dev/stdin or /dev/fd/N (a
 * redirection), nor a name with a quote or a control character. */
static void warn_key_readable(const char *key_file, const struct stat *st)
{
    bool pasteable = strncmp(key_file, "/dev/", 5) != 0 && strncmp(key_file, "/proc/", 6) != 0 &&
                     strlen(key_file) < 1024;
    bool plain = true;

    if (!S_ISREG(st->st_mode) || (st->st_mode & (S_IRGRP | S_IROTH)) == 0)
        return;
    cli_error(key_file, "warning: other users can read this key file (mode %03o)",
              (unsigned)(st->st_mode & 0777));
    for (const unsigned char *c = (const unsigned char *)key_file; *c != '\0'; c++) {
        pasteable = pasteable && *c != '\'' && *c >= ' ' && *c != 0x7f;
        plain = plain && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789._/-+,=@%:",
                                *c) != NULL;
    }
    if (pasteable) /* "./-x.key": chmod would take "-x.key" for an option */
        cli_hint(plain ? "chmod 600 %s%s makes it yours alone" : "chmod 600 '%s%s' makes it "
                                                                "yours alone",
                 key_file[0] == '-' ? "./" : "", key_file);
}

/* The key's text (MCK1-...) rather than a file's name: one that parses,
 * or "MCK", a version digit and '-' with no '/' (one with a typo), or
 * "MCK", a version digit and then only letters, digits and the key
 * text's separators, at least 8 of them letters or digits: a key with a
 * typo written as readers take it, without hyphens or with spaces, was
 * echoed whole in "No such file or directory", and a paste cut short
 * (under 40) still was (found in review). Taken for a key only when no
 * such file exists (cli_load_key). A missing "mckay.key" or "mck1.key"
 * is a missing file. */
static bool looks_like_key(const char *arg)
{
    mc_key k;
    bool parsed = mc_key_parse(&k, arg) == MC_OK;
    size_t alnum = 0;
    bool only = true;

    mc_key_wipe(&k);
    if (parsed)
        return true;
    if (strncasecmp(arg, "MCK", 3) != 0 || !isdigit((unsigned char)arg[3]))
        return false;
    if (arg[4] == '-' && strchr(arg, '/') == NULL)
        return true;
    for (const char *c = arg + 4; *c != '\0'; c++) {
        if (isalnum((unsigned char)*c))
            alnum++;
        else if (*c != ' ' && *c != '\t' && *c != '-' && *c != '\r' && *c != '\n')
            only = false;
    }
    return only && alnum >= 8;
}

bool cli_load_key(const char *key_file, mc_key *key)
{
    struct stat st;
    const char *env;
    uint8_t *buf = NULL;
    size_t len = 0;
    char line[256];
    mc_err err;

    if (key_file != NULL) {
        /* The key itself where its file belongs: said without echoing it
         * (stderr goes to logs), and wiped from the arguments. */
        if (looks_like_key(key_file) && access(key_file, F_OK) != 0) {
            sodium_memzero((char *)key_file, strlen(key_file));
            cli_error(NULL, "-k takes a key file, not the key itself (not shown)");
            cli_hint("a key on the command line shows in ps and the shell's history: give its "
                     "file, or set MEDCRYPT_KEY");
            return false;
        }
        if (!read_file(key_file, 1 << 16, &buf, &len, &st, false))
            return false;
        err = mc_key_parse_file_text(key, (const char *)buf, len);
        sodium_memzero(buf, len);
        free(buf);
        if (err != MC_OK) {
            cli_error(key_file, "%s", mc_strerror(err));
            if (err == MC_EKEYMANY)
                cli_hint("one key per file: each key file's '# key id:' line says which "
                         "images it opens");
            return false;
        }
        if (strcmp(key_file, "-") != 0)
            warn_key_readable(key_file, &st);
        return true;
    }
    if ((env = getenv("MEDCRYPT_KEY")) != NULL && env[0] != '\0') {
        /* The key text, or a key file's content: MEDCRYPT_KEY="$(cat
         * patient.key)" is how a script passes it, as the API's key field
         * takes either. */
        if ((err = mc_key_parse(key, env)) != MC_OK) {
            /* A key file's content: its problem is the one told, as -k
             * tells it ("more than one key", a typo in the key line), not
             * the text's "not a medcrypt key" or "typo" (found in review) */
            mc_err file_err = mc_key_parse_file_text(key, env, strlen(env));
            if (file_err != MC_EKEYTEXT)
                err = file_err;
        }
        /* Read once: not kept in the environment for the process's
         * lifetime (its memory at exit, /proc/PID/environ for root) */
        sodium_memzero((char *)env, strlen(env)); /* the environment is writable */
        if (err != MC_OK) {
            cli_error("MEDCRYPT_KEY", "%s", mc_strerror(err));
            return false;
        }
        return true;
    }
    if (isatty(STDIN_FILENO)) {
        /* A typo is said and the key asked again, three times in all, as
         * keygen asks the Aadhaar number again; Ctrl-D ends it: "no key
         * typed", not the hint below about standard input, which was the
         * terminal (a review). */
        for (int tries = 0; tries < 3; tries++) {
            if (!cli_prompt("medcrypt key: ", true, line, sizeof line)) {
                sodium_memzero(line, sizeof line);
                cli_error(NULL, "no key typed");
                cli_hint("use -k KEYFILE or set MEDCRYPT_KEY");
                return false;
            }
            err = mc_key_parse(key, line);
            sodium_memzero(line, sizeof line);
            if (err == MC_OK)
                return true;
            cli_error(NULL, "key: %s", mc_strerror(err));
        }
        return false;
    }
    cli_error(NULL, "no key given");
    cli_hint("use -k KEYFILE or set MEDCRYPT_KEY; the key is asked for only when standard "
             "input is a terminal (not when it carries the image)");
    return false;
}
