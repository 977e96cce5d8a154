/* The benchmark behind `medcrypt bench` (issue 11). */
#ifndef MC_BENCH_H
#define MC_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "medcrypt.h" /* mc_ctx */

struct bench_opts {
    bool json;   /* one JSON object instead of the table */
    int threads; /* batch threads; 0 = all cores */
    int repeat;  /* runs per figure (median taken) */
    bool tiny;   /* images 16x smaller per side: for the test suite */
};

/* Prints the results to out; 0 on success, else nonzero after saying
 * why on stderr. */
int mc_bench_run(const struct bench_opts *opts, FILE *out);

/* process.c: `medcrypt bench --process`, the whole commands timed as
 * processes against reference processes on the same files. files (n of
 * them, may be 0) are measured besides the generated images; dir (NULL:
 * $TMPDIR or /tmp) is where the work directory is made. 0 on success. */
int mc_bench_process(const struct bench_opts *opts, const char *dir, char **files, int n,
                     FILE *out);
/* The XChaCha20-Poly1305 reference process: the bytes of file `in`
 * sealed under a random key (libsodium) and written to `out`, fsync'd.
 * 0 on success. */
int mc_bench_aead_file(const char *in, const char *out);

/* A batch's speed-up on N threads over one, in memory (no process start,
 * no files): medcrypt's encryption of N images, each on a thread of its
 * own, against one thread doing them all, and the machine's own
 * references over the same images, which say what it gives to parallel
 * work at all. */
struct bench_speedups {
    uint32_t side;           /* images of side x side 16-bit samples */
    int threads, per_thread; /* as asked: `threads` images, each per_thread times */
    double medcrypt, aead, hmac; /* NAN where not measured */
    const char *missing;     /* NULL, or why some are NAN */
};
/* The speed-ups of a batch not measured: all NAN, and why. */
struct bench_speedups mc_bench_speedups_none(uint32_t side, int threads, int per_thread,
                                             const char *why);
/* bench.c, for process.c: medians of `repeat` alternating runs after a
 * warm-up. 0 when measured (the HMAC's NAN without OpenSSL's libcrypto,
 * and said in missing); -1, all NAN, where memory or a thread is
 * refused. */
int mc_bench_batch_in_memory(mc_ctx *ctx, uint32_t side, int threads, int per_thread,
                             int repeat, struct bench_speedups *out);

/* bench.c, shared with process.c. Seconds on the monotonic clock since
 * this process first read it. */
double mc_bench_now(void);
/* qsort's comparison of doubles, ascending. */
int mc_bench_cmp_double(const void *a, const void *b);
/* The median of n (>= 1) values sorted ascending. */
double mc_bench_median_sorted(const double *s, int n);
/* The CPU model from /proc/cpuinfo, or "unknown". */
void mc_bench_cpu_model(char *out, size_t size);
/* A JSON string of a label, a path or the CPU model: quotes and
 * backslashes escaped, control characters dropped. */
void mc_bench_json_str(FILE *o, const char *s);
/* "name":v with `decimals` decimals, or "name":null where v is not
 * finite (a figure that could not be computed: JSON has no nan or inf). */
void mc_bench_json_num(FILE *o, const char *name, int decimals, double v);
/* A speed-up as "1.23x" in buf ("1.23 x" if spaced, as --process's
 * goals print theirs), or "-" where it could not be computed (not
 * finite); returns buf. */
const char *mc_bench_text_x(char buf[32], double v, bool spaced);
/* a / b, or NAN where b is not above 0 (a figure measured as 0 s, as a
 * clock coarser than the work gives it): printed as null or "-". */
double mc_bench_ratio(double a, double b);

#endif
