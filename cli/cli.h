/* The medcrypt command: shared helpers of the verbs. */
#ifndef MC_CLI_H
#define MC_CLI_H

#include "medcrypt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "medcrypt"

/* One voice on stderr: "medcrypt: FILE: problem" or "medcrypt: problem";
 * a FILE "-" is named "standard input" (cli_input_name). */
void cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "medcrypt X (cipher format N)" on stdout; returns 0. */
int cli_version(void);
/* The batch running, of total inputs (0 when it ends): a signal that
 * stops it then says how many files were written. */
void cli_batch_watch(int total);
/* Control characters of s as '?' (file names in messages and -v lines). */
void cli_printable(char *s);
/* A whole line on stdout (-v): one call, so the workers' lines never
 * interleave. */
void cli_say(const char *line);
/* The folder that holds path ("." for a bare name), for stat or open;
 * false if it does not fit. */
bool cli_folder_of(char dir[4096], const char *path);
/* The verb running ("encrypt"), for hints that give a command line. */
extern const char *cli_verb;
/* A line from fd, one byte per read(2): no stdio buffer keeps a copy of
 * an identifier, and what follows the line stays unread. CLI_LINE_OK,
 * CLI_LINE_NONE for an empty or missing line, CLI_LINE_LONG for one that
 * does not fit (read to its end, and the buffer wiped). */
enum { CLI_LINE_OK, CLI_LINE_NONE, CLI_LINE_LONG };
int cli_read_line(int fd, char *buf, size_t size);
/* mc_ctx_new, its failure said on stderr (mc_strerror). */
bool cli_ctx_new(mc_ctx **ctx);
/* Whether err, for a cipher image's bytes, is MC_ETAMPERED with no end
 * chunk (IEND) anywhere: cut short; and the hint to say so (fetch it
 * again), for decrypt, info and preview alike. */
bool cli_cut_short(const uint8_t *buf, size_t len, mc_err err);
void cli_hint_cut_short(void);
/* The note after a cipher image holding chunks another program added was
 * decrypted (decrypt, preview; %s: their types, mc_cipher_foreign_chunks):
 * nothing vouches for them, and the output has none of them. */
#define CLI_ADDED_CHUNKS_NOTE                                                                \
    "note: chunks another program added (%s) are not verified and were not copied; the "  \
    "image itself is verified"
/* Standard input, output or error closed at start: opened on /dev/null,
 * so that no file opened later takes its number (util.c). False if that
 * cannot be done. */
bool cli_std_fds_open(void);
/* No core dump, and not dumpable (no ptrace by the same user): called
 * first by both programs, which hold keys and images. */
void cli_no_core_dumps(void);
/* rc, or 1 (said on stderr) if standard output could not be written:
 * what main returns, as GNU's close_stdout. */
int cli_stdout_checked(int rc);
/* A number with an optional K/M/G (binary) suffix, at most max. */
bool cli_parse_size(const char *s, unsigned long long max, unsigned long long *out);

/* The largest --max-pixels: 4G samples. */
#define CLI_MAX_PIXELS ((unsigned long long)1 << 32)

/* The largest input file read: the default pixel cap's worth of 16-bit
 * samples plus room for headers (DICOM side data, PNG overhead). */
#define CLI_MAX_INPUT_BYTES ((size_t)3 << 30)
/* --max-pixels N of the verbs that read images: 1 to 2^32 samples (as
 * serve takes it). Parses optarg into *max_pixels, or says why not and
 * returns false. */
bool cli_max_pixels_arg(const char *verb, const char *arg, unsigned long long *max_pixels);
/* Sets the cap (0: leave the default) on ctx and returns the largest
 * input file to read under it: CLI_MAX_INPUT_BYTES, or the raised cap's
 * worth of 16-bit samples plus the same room. */
size_t cli_apply_max_pixels(mc_ctx *ctx, unsigned long long max_pixels);
/* "medcrypt: FILE: message: detail" for an error of a call on ctx, and
 * after an image over the pixel cap the hint at --max-pixels. */
void cli_report(const char *file, const mc_ctx *ctx, mc_err err);
/* After getopt_long returned '?' (opterr = 0): names the option it refused
 * ("unknown option '-s' in '-scan.pgm'", "option '-k' needs a value") and
 * hints at --help, or at ./NAME when the argument is an existing file. */
void cli_bad_option(const char *verb, const char *optstring, int argc, char **argv);
/* After getopt_long: false (said) if an argument after the first file
 * looks like an option (starts with '-', names no file, before any "--"):
 * options come first, in every verb. */
bool cli_files_only(const char *verb, int argc, char **argv);
/* The options of a verb that takes only --help and --max-pixels N (info,
 * compare): -1 to go on with its files from argv[optind], else the exit
 * status: 0 once help is printed, fail after a bad option (said). */
int cli_pixels_options(const char *verb, const char *help, int fail, int argc, char **argv,
                       unsigned long long *max_pixels);

/* Reads a whole file ("-" = stdin). On failure prints the error and
 * returns false. max: refuse files larger than this. */
bool cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* write(2) until all of buf is written (EINTR retried); false with errno
 * set. No stdio buffer keeps a copy (a key). */
bool cli_write_fd(int fd, const uint8_t *buf, size_t len);
/* Writes buf to path through a temporary file in the same directory
 * (with no name where the filesystem allows), given its name only once
 * complete and synced: never a partial file under the final name.
 * Without force an existing file is never replaced. "-" = stdout. named:
 * the user gave path (-o), and it may then be their own named pipe or a
 * device (/dev/null, /dev/fd/N of a process substitution), written into;
 * a name medcrypt chose never is (cli_output_taken). */
bool cli_write_file(const char *path, const uint8_t *buf, size_t len, bool force, mode_t mode,
                    bool named);
/* The same, streamed: cli_output_open creates the temporary file, with
 * no name where the filesystem allows (or takes standard output for "-"),
 * from: the input the output is named after, or NULL (its messages then
 * begin "INPUT: output PATH: ", as the input's own lines do),
 * cli_output_write (an mc_write_fn) adds to it, and cli_output_commit
 * gives it its name (never replacing a file without force) or
 * cli_output_abort removes it. Open and commit print their errors; both
 * commit and abort free the object. */
typedef struct cli_output cli_output;
cli_output *cli_output_open(const char *path, mode_t mode, bool force, bool named,
                            const char *from);
int cli_output_write(void *out, const uint8_t *data, size_t len);
/* Whether a write to it has failed (cli_output_commit then reports it). */
bool cli_output_failed(const cli_output *out);
bool cli_output_commit(cli_output *out);
/* A line to print on stdout once the output is in place (-v): never for a
 * file that a failure, or a signal, left unwritten. */
void cli_output_announce(cli_output *out, const char *line);
void cli_output_abort(cli_output *out);
/* Between start and finish, cli_output_commit hands each file to a
 * thread that makes it durable and puts it in place while the caller goes
 * on; it then returns true, and a failure of that thread is said there
 * and counted in what finish returns (after waiting for every file).
 * start returns false (commits stay in the caller) if the thread cannot
 * be started. */
bool cli_committer_start(void);
int cli_committer_finish(void);
/* Whether an output path cannot be written, said on stderr: a directory
 * (with or without --force), an existing file without --force, a named
 * pipe or a device unless the user named it (named) and it is theirs or
 * root's (/dev/null). "-" never is. from: as for cli_output_open. */
bool cli_output_taken(const char *path, bool force, bool named, const char *from);
/* How many outputs were refused so far because they exist. */
int cli_outputs_existing(void);
/* How many outputs could not be created where they were to go: no
 * permission there, or a read-only file system. */
int cli_outputs_unwritable(void);
/* True if a and b name the same existing file. */
bool cli_same_file(const char *a, const char *b);
/* The mode for new files: 0666 or 0600 (secret), minus the umask. */
mode_t cli_mode(bool secret);

/* Runs fn(arg, input) for each input on up to jobs threads (a progress
 * line on a terminal); returns the number of failures. fn must be
 * thread-safe. */
#define CLI_MAX_JOBS 64
int cli_batch(int jobs, char **inputs, int n, bool (*fn)(void *arg, const char *input),
              void *arg);
/* "medcrypt: 3/16 files" on stderr, redrawn in place; _end clears it. */
void cli_progress(int done, int total);
void cli_progress_end(void);
/* The cores this process may use, its CPU affinity (at least 1). */
int cli_cores(void);

/* The key: -k FILE, else $MEDCRYPT_KEY, else a prompt on the terminal. */
bool cli_load_key(const char *key_file, mc_key *key);
/* Reads a line from the terminal with echo off (secret) or on. */
bool cli_prompt(const char *question, bool secret, char *buf, size_t size);

const char *cli_basename(const char *path);
const char *cli_input_name(const char *path); /* "-": "standard input" */
bool cli_has_suffix_nocase(const char *s, const char *suffix); /* ASCII case ignored */

/* One verb each: argv[0] is the verb; each handles --help itself. */
int cmd_keygen(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_info(int argc, char **argv);    /* cmd_info.c (issue 5) */
int cmd_preview(int argc, char **argv); /* cmd_info.c (issue 5) */
int cmd_compare(int argc, char **argv); /* cmd_compare.c */
int cmd_analyze(int argc, char **argv); /* cmd_analyze.c (issue 6) */
int cmd_serve(int argc, char **argv);   /* cmd_serve.c (issue 7) */
int cmd_bench(int argc, char **argv);   /* cmd_bench.c (issue 11) */

#endif
