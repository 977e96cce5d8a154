/*
 * medcrypt bench: where the time goes, as ratios to references measured in
 * the same run on the same bytes (libsodium's XChaCha20-Poly1305, one
 * OpenSSL HMAC-SHA-512 pass, memcpy). In memory only: no file I/O.
 *
 * Each figure is the median of `repeat` runs after one warm-up run.
 */
#include "bench.h"

#include "internal.h"
#include "ossl.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Seconds since this process first read the clock (that reading's whole
 * second): a double of the seconds since boot keeps no nanoseconds after
 * 2^53 ns of uptime (104 days; its unit is then 2 ns, 15 ns after three
 * years), and every difference of two would carry that much noise. */
static _Atomic long long clock_base = -1;

double mc_bench_now(void)
{
    struct timespec t;
    long long none = -1;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (atomic_load_explicit(&clock_base, memory_order_relaxed) < 0)
        atomic_compare_exchange_strong(&clock_base, &none, (long long)t.tv_sec);
    return (double)((long long)t.tv_sec - atomic_load_explicit(&clock_base, memory_order_relaxed)) +
           (double)t.tv_nsec * 1e-9;
}

int mc_bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n sorted values: the middle one, or for an even n the
 * mean of the two middle ones (not the upper one: of 2 runs, the slower). */
double mc_bench_median_sorted(const double *s, int n)
{
    return (s[(n - 1) / 2] + s[n / 2]) / 2;
}

/* A test image: smooth gradients (like anatomy) plus Philox noise, from a
 * fixed seed, so every run measures the same bytes. */
static mc_err make_image(mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                         mc_image **out)
{
    static const uint32_t key[2] = {0x6d656463, 0x72797074}; /* "medcrypt" */
    mc_image *img;
    mc_err err;

    if ((err = mc__image_alloc(ctx, w, h, c, bits, &img)) != MC_OK)
        return err;
    for (size_t i = 0; i < img->samples_len / (bits / 8); i++) {
        uint32_t r[4], ctr[4] = {(uint32_t)i, 0, 0, 0};
        size_t x = (i / c) % w, y = (i / c) / w;
        uint32_t v;
        mc__philox(r, ctr, key);
        v = (uint32_t)(x * 7 + y * 3) + (r[0] & 15);
        if (bits == 8)
            img->samples[i] = (uint8_t)v;
        else
            ((uint16_t *)(void *)img->samples)[i] = (uint16_t)(v * 16);
    }
    *out = img;
    return MC_OK;
}

/* Runs fn `repeat` times after a warm-up and returns the median (s);
 * prep (may be NULL) runs before each, untimed (e.g. fresh input). */
typedef void (*bench_fn)(void *arg);
static double measure_prep(bench_fn prep, bench_fn fn, void *arg, int repeat)
{
    double *t = malloc((size_t)repeat * sizeof *t), median;

    if (t == NULL)
        return -1.0;
    if (prep != NULL)
        prep(arg);
    fn(arg); /* warm-up: page faults, caches, lazy init */
    for (int r = 0; r < repeat; r++) {
        double t0;
        if (prep != NULL)
            prep(arg);
        t0 = mc_bench_now();
        fn(arg);
        t[r] = mc_bench_now() - t0;
    }
    qsort(t, (size_t)repeat, sizeof *t, mc_bench_cmp_double);
    median = mc_bench_median_sorted(t, repeat);
    free(t);
    return median;
}

static double measure(bench_fn fn, void *arg, int repeat)
{
    return measure_prep(NULL, fn, arg, repeat);
}

/* a - b, the time of a step measured as the increment of one median over
 * another; 0 where it is below the clock's nanosecond. Two medians of
 * the same count of clock ticks (a clock coarser than the step) differ
 * by the rounding of their subtractions, 1e-16 s or so: kept, that was a
 * step of "0.0000 ms" at 5.8e11 MB/s. */
static double increment(double a, double b)
{
    return a - b >= 1e-9 ? a - b : 0;
}

struct job {
    mc_ctx *ctx;
    mc_image *img;    /* the plain image (never modified) */
    mc_image *work;   /* a working copy */
    uint8_t *buf;     /* scratch as long as the samples (+ AEAD tag) */
    uint8_t *cipher;  /* encoded cipher PNG */
    uint8_t *saved;   /* cipher samples, to decrypt afresh each run */
    size_t cipher_len;
    mc__header hdr;
    mc_key key;
    uint8_t sm[64];
    int stage;
    unsigned threads; /* per image */
};

static void copy_in(struct job *j)
{
    memcpy(j->work->samples, j->img->samples, j->img->samples_len);
}

static void f_memcpy(void *a)
{
    struct job *j = a;
    memcpy(j->buf, j->img->samples, j->img->samples_len);
}

static void f_aead(void *a)
{
    struct job *j = a;
    static const uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(j->buf, &clen, j->img->samples,
                                               j->img->samples_len, NULL, 0, NULL, n,
                                               j->key.bytes);
}

/* OpenSSL's libcrypto (src/ossl.c loads it), for the HMAC reference. */
static const struct mc__ossl *ossl;

/* One OpenSSL HMAC-SHA-512 pass through its public API, as issue 11
 * defines the reference (the library's HMAC runs the same SHA-512
 * assembly, linked in: crypto.c). */
static void f_hmac(void *a)
{
    struct job *j = a;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int len;
    (void)ossl->HMAC(ossl->EVP_sha512(), j->key.bytes, MC_KEY_BYTES, j->img->samples,
                     j->img->samples_len, mac, &len);
}

static void f_encrypt(void *a)
{
    struct job *j = a;
    static const uint8_t nonce[MC_NONCE_BYTES];
    (void)mc__encrypt_inplace(&j->key, j->work, nonce, MC_STAGES_ALL, &j->hdr, j->threads);
}

/* Untimed preparations: the plain samples, or the saved cipher samples. */
static void f_copy(void *a)
{
    copy_in(a);
}

static void f_restore(void *a)
{
    struct job *j = a;
    memcpy(j->work->samples, j->saved, j->work->samples_len);
}

/* Encrypts a fresh copy and keeps the cipher samples for f_restore. */
static void encrypt_and_save(struct job *j)
{
    copy_in(j);
    f_encrypt(j);
    memcpy(j->saved, j->work->samples, j->work->samples_len);
}

static void f_decrypt(void *a)
{
    struct job *j = a;
    (void)mc__decrypt_inplace(&j->key, j->work, &j->hdr, j->threads);
}

/* The keyed hash T as encryption computes it (format v3: SHA-512 of each
 * 64 KiB chunk, then HMAC-SHA-512 over the digests), with the subkeys
 * and SM around it: encryption with no stage run (the samples are left
 * as they are). The table's keyed_hash row is this less key_processing
 * (f_seed, the same subkeys and SM), not the OpenSSL reference. */
static void f_hash(void *a)
{
    struct job *j = a;
    static const uint8_t nonce[MC_NONCE_BYTES];
    mc__header hdr;
    (void)mc__encrypt_inplace(&j->key, j->work, nonce, 0, &hdr, j->threads);
}

static void f_seed(void *a)
{
    struct job *j = a;
    mc__subkeys sk;
    if (mc__subkeys_derive(&sk, &j->key) == MC_OK)
        (void)mc__seed_material(j->sm, sk.chaos, j->hdr.tag);
    mc__subkeys_wipe(&sk);
}

/* Format v2 runs stages 3–6 in one pass: stage i is timed as that pass
 * stopped after it; the table shows each stage as the increment over the
 * one before. */
static void f_stage(void *a)
{
    struct job *j = a;
    mc_image *w = j->work;
    unsigned bps = w->bits / 8;
    (void)mc__v2_run(w->samples, w->samples_len / bps, bps, j->sm, j->key.bytes, j->hdr.tag,
                     MC_STAGES_PERM + j->stage, false, j->threads);
}

static void f_encrypt_v1(void *a)
{
    struct job *j = a;
    static const uint8_t nonce[MC_NONCE_BYTES];
    mc__header hdr;
    (void)mc__encrypt_inplace_v(&j->key, j->work, nonce, 1, MC_STAGES_ALL, &hdr, j->threads);
}

static void f_png_encode(void *a)
{
    struct job *j = a;
    free(j->cipher);
    j->cipher = NULL;
    (void)mc__container_write(j->ctx, j->work, &j->hdr, &j->cipher, &j->cipher_len);
}

static void f_png_decode(void *a)
{
    struct job *j = a;
    mc_image *img = NULL;
    mc__header hdr;
    if (mc__container_read(j->ctx, j->cipher, j->cipher_len, &img, &hdr) == MC_OK)
        mc_image_free(img);
}

/* Batch throughput. Each of N threads has an image of its own (a copy
 * in memory of its own: a reference reading one shared buffer from both
 * threads would be helped by the shared cache, as no batch of files is)
 * and encrypts it `rounds` times, or runs a reference over it; one thread
 * alone goes through all N images as many times, the same work. */
enum batch_kind { BATCH_ENCRYPT, BATCH_AEAD, BATCH_HMAC, BATCH_KINDS };

struct batch {
    struct job *jobs; /* this thread's: its own, or all of them */
    int n_jobs, rounds;
    enum batch_kind kind;
};

static void *batch_worker(void *arg)
{
    struct batch *b = arg;
    for (int r = 0; r < b->rounds; r++)
        for (int i = 0; i < b->n_jobs; i++) {
            struct job *j = &b->jobs[i];
            if (b->kind == BATCH_AEAD) {
                f_aead(j);
            } else if (b->kind == BATCH_HMAC) {
                f_hmac(j);
            } else {
                copy_in(j);
                f_encrypt(j);
            }
        }
    return NULL;
}

/* One run of the batch over jobs[0..n) (s), or -1: on n threads, one
 * image each, or all of them on one thread. */
static double batch_once(struct job *jobs, int n, bool parallel, int rounds,
                         enum batch_kind kind)
{
    pthread_t tid[256];
    struct batch b[256];
    int threads = parallel ? n : 1, started = 0;
    double t0 = mc_bench_now();

    for (int i = 0; i < threads; i++) {
        b[i] = parallel ? (struct batch){&jobs[i], 1, rounds, kind}
                        : (struct batch){jobs, n, rounds, kind};
        if (mc__thread_create(&tid[i], (unsigned)i, batch_worker, &b[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    return started == threads ? mc_bench_now() - t0 : -1.0;
}

/* `threads` copies of img, each `per_thread` times, on one thread and on
 * `threads`: medians of `repeat` alternating runs after a warm-up, into
 * t[kind][0] (one thread) and t[kind][1]. Encryption, then the AEAD and
 * HMAC references over the same images, which tell what the machine
 * itself gives to parallel work (shared caches, memory bandwidth, a
 * virtual machine's vCPUs). Without OpenSSL's libcrypto (ossl NULL) the
 * HMAC's are NAN. */
static int batch_times(mc_ctx *ctx, const mc_image *img, int threads, int per_thread,
                       int repeat, double t[BATCH_KINDS][2])
{
    struct job jobs[256];
    double *runs[BATCH_KINDS][2] = {{NULL}};
    /* Without libcrypto the HMAC reference, the last kind, is not run */
    int n = 0, rc = -1, kinds = ossl != NULL ? BATCH_KINDS : BATCH_HMAC;

    _Static_assert(BATCH_HMAC + 1 == BATCH_KINDS, "the HMAC reference is the last kind");
    t[BATCH_HMAC][0] = t[BATCH_HMAC][1] = NAN;
    if (threads > 256)
        threads = 256;
    memset(jobs, 0, sizeof jobs);
    for (; n < threads; n++) {
        jobs[n].ctx = ctx;
        jobs[n].threads = 1; /* one image per thread */
        for (int k = 0; k < MC_KEY_BYTES; k++)
            jobs[n].key.bytes[k] = (uint8_t)k;
        if (mc__image_copy(img, &jobs[n].img) != MC_OK ||
            mc__image_alloc(ctx, img->width, img->height, img->channels, img->bits,
                            &jobs[n].work) != MC_OK ||
            (jobs[n].buf = malloc(img->samples_len + crypto_aead_xchacha20poly1305_ietf_ABYTES)) ==
                NULL) {
            n++;
            goto out;
        }
    }
    for (int k = 0; k < BATCH_KINDS; k++)
        for (int p = 0; p < 2; p++)
            if ((runs[k][p] = malloc((size_t)repeat * sizeof *runs[k][p])) == NULL)
                goto out;
    for (int r = -1; r < repeat; r++) /* r = -1: the warm-up */
        for (int k = 0; k < kinds; k++)
            for (int p = 0; p < 2; p++) {
                double s;
                if ((s = batch_once(jobs, threads, p, per_thread, (enum batch_kind)k)) < 0)
                    goto out;
                if (r >= 0)
                    runs[k][p][r] = s;
            }
    for (int k = 0; k < kinds; k++)
        for (int p = 0; p < 2; p++) {
            qsort(runs[k][p], (size_t)repeat, sizeof *runs[k][p], mc_bench_cmp_double);
            t[k][p] = mc_bench_median_sorted(runs[k][p], repeat);
        }
    rc = 0;
out:
    for (int k = 0; k < BATCH_KINDS; k++)
        for (int p = 0; p < 2; p++)
            free(runs[k][p]);
    for (int i = 0; i < n; i++) {
        mc_image_free(jobs[i].img);
        mc_image_free(jobs[i].work);
        free(jobs[i].buf); /* cipher bytes */
    }
    return rc;
}

struct bench_speedups mc_bench_speedups_none(uint32_t side, int threads, int per_thread,
                                             const char *why)
{
    return (struct bench_speedups){.side = side, .threads = threads, .per_thread = per_thread,
                                   .medcrypt = NAN, .aead = NAN, .hmac = NAN, .missing = why};
}

int mc_bench_batch_in_memory(mc_ctx *ctx, uint32_t side, int threads, int per_thread,
                             int repeat, struct bench_speedups *out)
{
    mc_image *img = NULL;
    double t[BATCH_KINDS][2];
    int rc = -1;

    *out = mc_bench_speedups_none(side, threads, per_thread, "out of memory, or a thread refused");
    /* Only the HMAC reference needs libcrypto: without it the other two
     * are measured, and the third said missing. */
    ossl = mc__ossl();
    if (make_image(ctx, side, side, 1, 16, &img) == MC_OK &&
        batch_times(ctx, img, threads, per_thread, repeat, t) == 0) {
        out->medcrypt = mc_bench_ratio(t[BATCH_ENCRYPT][0], t[BATCH_ENCRYPT][1]);
        out->aead = mc_bench_ratio(t[BATCH_AEAD][0], t[BATCH_AEAD][1]);
        out->hmac = mc_bench_ratio(t[BATCH_HMAC][0], t[BATCH_HMAC][1]);
        out->missing = ossl == NULL ? "HMAC-SHA-512: no libcrypto (" MC_LIBCRYPTO_SONAME ")" : NULL;
        rc = 0;
    }
    mc_image_free(img);
    return rc;
}

void mc_bench_cpu_model(char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(out, size, "unknown");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            colon += 2;
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, size, "%s", colon);
            break;
        }
    }
    fclose(f);
}

void mc_bench_json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', o);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, o);
    }
    fputc('"', o);
}

void mc_bench_json_num(FILE *o, const char *name, int decimals, double v)
{
    if (isfinite(v))
        fprintf(o, "\"%s\":%.*f", name, decimals, v);
    else
        fprintf(o, "\"%s\":null", name);
}

double mc_bench_ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

/* A figure of the table, or "-" where it could not be computed. */
static void text_num(FILE *o, int decimals, double v)
{
    if (isfinite(v))
        fprintf(o, " %10.*f", decimals, v);
    else
        fprintf(o, " %10s", "-");
}

const char *mc_bench_text_x(char buf[32], double v, bool spaced)
{
    if (isfinite(v))
        snprintf(buf, 32, spaced ? "%.2f x" : "%.2fx", v);
    else
        snprintf(buf, 32, "-");
    return buf;
}

struct row {
    const char *name;
    double seconds;
};

static int bench_image(mc_ctx *ctx, const struct bench_opts *o, const char *label, uint32_t w,
                       uint32_t h, uint8_t c, uint8_t bits, unsigned threads, FILE *out,
                       bool first)
{
    static const char *const stage_names[] = {"scrambling", "henon", "logistic", "xchacha20"};
    struct job j;
    struct row rows[24];
    /* The row whose work does not grow with the image (key processing:
     * the subkeys and the seed material): no MB/s, which would only be
     * the image's size over a constant. */
    int fixed = -1;
    int n = 0, rc = 1;
    double ref_aead, ref_hmac, ref_copy, mb;

    memset(&j, 0, sizeof j);
    j.ctx = ctx;
    j.threads = 1;
    for (int k = 0; k < MC_KEY_BYTES; k++)
        j.key.bytes[k] = (uint8_t)k;
    if (make_image(ctx, w, h, c, bits, &j.img) != MC_OK ||
        mc__image_alloc(ctx, w, h, c, bits, &j.work) != MC_OK ||
        (j.buf = malloc(j.img->samples_len + crypto_aead_xchacha20poly1305_ietf_ABYTES)) ==
            NULL ||
        (j.saved = malloc(j.img->samples_len)) == NULL)
        goto out;
    mb = (double)j.img->samples_len / 1e6;

    ref_copy = measure(f_memcpy, &j, o->repeat);
    ref_aead = measure(f_aead, &j, o->repeat);
    ref_hmac = measure(f_hmac, &j, o->repeat);
    rows[n++] = (struct row){"encrypt", measure_prep(f_copy, f_encrypt, &j, o->repeat)};
    encrypt_and_save(&j); /* saved = cipher samples, hdr = its header */
    rows[n++] = (struct row){"decrypt", measure_prep(f_restore, f_decrypt, &j, o->repeat)};
    copy_in(&j);
    {
        double keys = measure(f_seed, &j, o->repeat);
        double hash = measure(f_hash, &j, o->repeat);
        rows[n++] = (struct row){"keyed_hash", increment(hash, keys)};
        rows[n++] = (struct row){"key_processing", keys};
        fixed = n - 1;
    }
    for (double before = 0; j.stage < 4; j.stage++) {
        double t = measure(f_stage, &j, o->repeat);
        rows[n++] = (struct row){stage_names[j.stage], increment(t, before)};
        before = t;
    }
    rows[n++] = (struct row){"encrypt_v1", measure_prep(f_copy, f_encrypt_v1, &j, o->repeat)};
    encrypt_and_save(&j);
    rows[n++] = (struct row){"png_encode", measure(f_png_encode, &j, o->repeat)};
    rows[n++] = (struct row){"png_decode", measure(f_png_decode, &j, o->repeat)};
    /* One image on several threads: the same bytes, the stages split by
     * groups of blocks and the keyed hash by its 64 KiB chunks (v3). */
    j.threads = threads;
    rows[n++] = (struct row){"encrypt_threads",
                             measure_prep(f_copy, f_encrypt, &j, o->repeat)};
    encrypt_and_save(&j);
    rows[n++] = (struct row){"decrypt_threads",
                             measure_prep(f_restore, f_decrypt, &j, o->repeat)};

    if (o->json) {
        fprintf(out, "%s{\"name\":", first ? "" : ",");
        mc_bench_json_str(out, label);
        fprintf(out,
                ",\"width\":%u,\"height\":%u,\"channels\":%u,\"bits\":%u,\"bytes\":%zu,"
                "\"threads\":%u,"
                "\"reference\":{\"memcpy_ms\":%.4f,\"xchacha20poly1305_ms\":%.4f,"
                "\"hmac_sha512_ms\":%.4f},\"results\":[",
                w, h, c, bits, j.img->samples_len, threads, ref_copy * 1e3, ref_aead * 1e3,
                ref_hmac * 1e3);
        for (int i = 0; i < n; i++) {
            fprintf(out, "%s{\"name\":", i ? "," : "");
            mc_bench_json_str(out, rows[i].name);
            fprintf(out, ",\"ms\":%.4f,", rows[i].seconds * 1e3);
            mc_bench_json_num(out, "mb_per_s", 2,
                              i == fixed ? NAN : mc_bench_ratio(mb, rows[i].seconds));
            fputc(',', out);
            mc_bench_json_num(out, "x_aead", 3, mc_bench_ratio(rows[i].seconds, ref_aead));
            fputc(',', out);
            mc_bench_json_num(out, "x_hmac", 3, mc_bench_ratio(rows[i].seconds, ref_hmac));
            fputc(',', out);
            mc_bench_json_num(out, "x_memcpy", 2, mc_bench_ratio(rows[i].seconds, ref_copy));
            fputc('}', out);
        }
        fputs("]}", out);
    } else {
        fprintf(out, "\n%s: %ux%u, %u channel(s), %u-bit, %.2f MB of samples "
                     "(*_threads rows: %u thread%s)\n",
                label, w, h, c, bits, mb, threads, threads == 1 ? "" : "s");
        fprintf(out, "  references: memcpy %.3f ms, XChaCha20-Poly1305 %.3f ms, "
                     "HMAC-SHA-512 (OpenSSL) %.3f ms\n",
                ref_copy * 1e3, ref_aead * 1e3, ref_hmac * 1e3);
        fprintf(out, "  %-16s %10s %10s %10s %10s %10s\n", "step", "ms", "MB/s", "x AEAD",
                "x HMAC", "x memcpy");
        for (int i = 0; i < n; i++) {
            fprintf(out, "  %-16s %10.3f", rows[i].name, rows[i].seconds * 1e3);
            text_num(out, 1, i == fixed ? NAN : mc_bench_ratio(mb, rows[i].seconds));
            text_num(out, 2, mc_bench_ratio(rows[i].seconds, ref_aead));
            text_num(out, 2, mc_bench_ratio(rows[i].seconds, ref_hmac));
            text_num(out, 1, mc_bench_ratio(rows[i].seconds, ref_copy));
            fputc('\n', out);
        }
    }
    rc = 0;
out:
    mc_image_free(j.img);
    mc_image_free(j.work);
    free(j.buf);
    free(j.saved);
    free(j.cipher);
    return rc;
}

int mc_bench_run(const struct bench_opts *o, FILE *out)
{
    static const struct {
        const char *label;
        uint32_t w, h;
        uint8_t c, bits;
    } images[] = {
        {"ct_512_8bit", 512, 512, 1, 8},
        {"ct_2048_16bit", 2048, 2048, 1, 16},
        {"rgb_512_8bit", 512, 512, 3, 8},
    };
    char cpu[256];
    struct rusage ru;
    mc_ctx *ctx = NULL;
    mc_image *batch_img = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* the machine's, as printed */
    int threads = o->threads > 0 ? o->threads : (int)mc__cores(); /* those we may use */
    double t[BATCH_KINDS][2];
    uint32_t side = o->tiny ? 32 : 512;
    int rc = 1;

    if ((ossl = mc__ossl()) == NULL) {
        fputs("medcrypt: bench: cannot load OpenSSL's libcrypto (" MC_LIBCRYPTO_SONAME
              "), which the HMAC-SHA-512 reference is measured with\n",
              stderr);
        return 1;
    }
    if (mc_ctx_new(&ctx) != MC_OK)
        goto out;
    mc_bench_cpu_model(cpu, sizeof cpu);
    /* Where this process put its huge-page line (src/mem.c): measured by
     * its first pre-faulting of a buffer, this one. */
    mc__free_huge(mc__alloc_huge((size_t)256 << 10));
    if (o->json) {
        fputs("{\"version\":\"" MC_VERSION_STRING "\",\"machine\":{\"cpu\":", out);
        mc_bench_json_str(out, cpu);
        fprintf(out, ",\"cores\":%ld,\"huge_pages_from_kib\":%zu,\"small_page_ns\":%u},"
                     "\"repeat\":%d,\"images\":[",
                cores, mc__huge_min() >> 10, mc__huge_page_ns(), o->repeat);
    } else {
        fprintf(out, "medcrypt %s bench: %s, %ld cores, median of %d runs after a warm-up\n",
                MC_VERSION_STRING, cpu, cores, o->repeat);
        if (mc__huge_page_ns() > 0)
            fprintf(out, "buffers from %zu KiB take huge pages (a small page was pre-faulted "
                         "and first written in %.1f us here: %s)\n",
                    mc__huge_min() >> 10, mc__huge_page_ns() / 1000.0,
                    mc__huge_min() == MC__HUGE_MIN_DEAR ? "dear" : "cheap");
        else
            fprintf(out, "buffers from %zu KiB take huge pages (not measured: this kernel "
                         "pre-faults no pages)\n",
                    mc__huge_min() >> 10);
    }
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        uint32_t w = o->tiny ? images[i].w / 16 : images[i].w;
        uint32_t h = o->tiny ? images[i].h / 16 : images[i].h;
        /* One image takes at most MC_MAX_THREADS (mc__parallel): the
         * *_threads rows say what they ran on, not what was asked. */
        if (bench_image(ctx, o, images[i].label, w, h, images[i].c, images[i].bits,
                        (unsigned)(threads < MC_MAX_THREADS ? threads : MC_MAX_THREADS), out,
                        i == 0) != 0)
            goto out;
    }
    /* Batch scaling: independent images on 1 and on N threads. */
    if (make_image(ctx, side, side, 1, 16, &batch_img) != MC_OK)
        goto out;
    if (batch_times(ctx, batch_img, threads, 4, o->repeat, t) != 0)
        goto out;
    getrusage(RUSAGE_SELF, &ru);
    if (o->json) {
        fprintf(out,
                "],\"batch\":{\"width\":%u,\"height\":%u,\"bits\":16,\"images\":%d,"
                "\"threads\":%d,\"one_thread_s\":%.6f,\"n_threads_s\":%.6f,",
                side, side, 4 * threads, threads, t[BATCH_ENCRYPT][0], t[BATCH_ENCRYPT][1]);
        mc_bench_json_num(out, "speedup", 3,
                          mc_bench_ratio(t[BATCH_ENCRYPT][0], t[BATCH_ENCRYPT][1]));
        fputc(',', out);
        mc_bench_json_num(out, "xchacha20poly1305_speedup", 3,
                          mc_bench_ratio(t[BATCH_AEAD][0], t[BATCH_AEAD][1]));
        fputc(',', out);
        mc_bench_json_num(out, "hmac_sha512_speedup", 3,
                          mc_bench_ratio(t[BATCH_HMAC][0], t[BATCH_HMAC][1]));
        fprintf(out, "},\"peak_rss_kib\":%ld}\n", ru.ru_maxrss);
    } else {
        char x[3][32];
        fprintf(out, "\nbatch: %d %ux%u 16-bit image%s, each encrypted 4 times: 1 thread %.2f ms, "
                     "%d thread%s %.2f ms, speed-up %s\n",
                threads, side, side, threads == 1 ? "" : "s", t[BATCH_ENCRYPT][0] * 1e3, threads,
                threads == 1 ? "" : "s", t[BATCH_ENCRYPT][1] * 1e3,
                mc_bench_text_x(x[0], mc_bench_ratio(t[BATCH_ENCRYPT][0], t[BATCH_ENCRYPT][1]),
                                false));
        fprintf(out, "  the machine on the same images, same threads: XChaCha20-Poly1305 "
                     "speed-up %s, HMAC-SHA-512 %s\n",
                mc_bench_text_x(x[1], mc_bench_ratio(t[BATCH_AEAD][0], t[BATCH_AEAD][1]), false),
                mc_bench_text_x(x[2], mc_bench_ratio(t[BATCH_HMAC][0], t[BATCH_HMAC][1]), false));
        fprintf(out, "peak RSS of this process: %ld KiB\n", ru.ru_maxrss);
    }
    rc = 0;
out:
    /* Every failure past libcrypto's is a refused allocation or thread. */
    if (rc != 0)
        fputs("medcrypt: bench: out of memory\n", stderr);
    mc_image_free(batch_img);
    mc_ctx_free(ctx);
    return rc;
}
