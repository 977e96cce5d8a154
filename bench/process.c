/*
 * medcrypt bench --process: the commands as a user runs them (process
 * start, read, decode, encrypt, PNG write, fsync, rename), timed against
 * reference processes on the same files in the same run (issue 11, "How it
 * will be checked"):
 *
 *   - `openssl dgst -sha512 FILE`: one SHA-512 pass over the file;
 *   - an XChaCha20-Poly1305 process: this program as `medcrypt bench
 *     --aead-file FILE OUT` (read, seal with libsodium, write, fsync);
 *   - `true`: what starting any process costs on this machine.
 *
 * The batch goal (-j 2 over -j 1) compares medcrypt with itself, so the
 * batch is also run in memory on 2 threads against one, with the
 * XChaCha20-Poly1305 and HMAC-SHA-512 references over the same images:
 * what this machine gives to parallel work at all (bench.c).
 *
 * Every command runs once per round and the rounds alternate, so that a
 * drift of the machine's speed (common on virtual machines) hits every
 * command alike. Elapsed time from posix_spawn to wait and CPU time from
 * wait4(2); peak RSS from wait4 of the warm-up rounds' forked runs
 * (run_once). No file leaves the work directory, which is removed.
 */
#include "bench.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <spawn.h>
#include <spng.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMPFS_MAGIC_NUMBER 0x01021994 /* linux/magic.h */
#define MAX_ARGS 48
#define MAX_FILES 8
#define BATCH_FILES 16
/* true; four per file (the generated two and those given); the batch with
 * -j 1, -j N and (for the goal, when N is not 2) -j 2 */
#define MAX_CMDS (1 + 4 * (MAX_FILES + 2) + 3)
#define WARMUP_ROUNDS 2
/* A command's label names its file: the longest prefix and a file name
 * of up to 255 bytes fit, so that the JSON's labels are whole. */
#define LABEL_BYTES (sizeof "XChaCha20-Poly1305 process, " + 255)

struct cmd {
    char label[LABEL_BYTES];
    char *argv[MAX_ARGS];
    int argc;
    const char *outputs[BATCH_FILES]; /* removed before each run, untimed */
    int n_outputs;
    double *ms;    /* elapsed, one per round */
    double *cpu;   /* user + system, one per round */
    long rss_kib;  /* the largest peak RSS of the warm-up runs */
    int failures;
};

/* One measured file: the generated ones and those given. */
struct item {
    char path[PATH_MAX];
    char name[256];   /* base name, for the report */
    char cipher[PATH_MAX], restored[PATH_MAX], sealed[PATH_MAX];
    size_t bytes, sample_bytes;
    struct cmd *dgst, *aead, *enc, *dec;
    bool same_samples, same_bytes;
    bool like_pgm, like_png; /* of the goals' own kind (a file given) */
};

struct run {
    char dir[PATH_MAX];
    char self[PATH_MAX], openssl[PATH_MAX], truth[PATH_MAX];
    char key[PATH_MAX];
    struct cmd cmds[MAX_CMDS];
    int n_cmds, rounds;
    struct item items[MAX_FILES + 2];
    int n_items;
    char batch[BATCH_FILES][PATH_MAX], batch_out[BATCH_FILES][PATH_MAX];
    char jobs_n[16]; /* -j of the parallel batch, as an argument */
    int n_batch, threads;
    uint32_t batch_side;
    struct cmd *true_cmd, *batch_one, *batch_n;
    struct cmd *batch_two; /* -j 2, issue 11's goal: batch_n when N is 2 */
    /* The batch in memory on 2 threads against one, after the rounds (2
     * images of its size, each encrypted half as many times as it has
     * files): what is left of the speed-up without process start and
     * files, and what the machine's own references get (bench.c). */
    struct bench_speedups in_memory;
};

/* The value below which a fraction q of the runs lie, interpolated
 * linearly between the two nearest ranks (so q = 0.5 is the median for
 * an even count too: the mean of the two middle runs, not the upper). */
static double quantile(const double *v, int n, double q)
{
    double *s = malloc((size_t)n * sizeof *s), r, pos;
    int lo;

    if (s == NULL)
        return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, mc_bench_cmp_double);
    pos = q * (n - 1);
    lo = (int)pos;
    r = lo + 1 < n ? s[lo] + (pos - lo) * (s[lo + 1] - s[lo]) : s[lo];
    free(s);
    return r;
}

/* A program on PATH, as execv(3) needs it; false if there is none. */
static bool find_program(const char *name, char out[PATH_MAX])
{
    const char *path = getenv("PATH");

    if (path == NULL || *path == '\0')
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        if (len > 0 && (size_t)snprintf(out, PATH_MAX, "%.*s/%s", (int)len, path, name) <
                           PATH_MAX &&
            access(out, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

/* out = dir/name, the name from a printf format; false if too long. */
static bool in_dir(char out[PATH_MAX], const char *dir, const char *fmt, ...)
{
    char name[128], d[PATH_MAX]; /* d: out may lie in the same struct as dir */
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(d, sizeof d, "%s", dir);
    return n >= 0 && (size_t)n < sizeof name &&
           (size_t)snprintf(out, PATH_MAX, "%s/%s", d, name) < PATH_MAX;
}

/* A command: its label, then its argv, ending with (char *)NULL, as
 * execl(3)'s. */
static struct cmd *add_cmd(struct run *r, const char *label, ...)
{
    struct cmd *c;
    va_list ap;
    const char *a;

    if (r->n_cmds == MAX_CMDS)
        return NULL;
    c = &r->cmds[r->n_cmds];
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    if ((c->ms = calloc((size_t)r->rounds, sizeof *c->ms)) == NULL ||
        (c->cpu = calloc((size_t)r->rounds, sizeof *c->cpu)) == NULL) {
        free(c->ms);
        return NULL;
    }
    va_start(ap, label);
    while ((a = va_arg(ap, const char *)) != NULL && c->argc < MAX_ARGS - 1)
        c->argv[c->argc++] = (char *)a;
    va_end(ap);
    r->n_cmds++;
    return c;
}

extern char **environ;

/* The command started as hyperfine or Python's subprocess start one:
 * posix_spawn(3), vfork-like, so that nothing of this process is copied
 * for the child or, at its exec, released again. Forked from here, every
 * command took about 0.2-0.3 ms longer on the machine of docs/
 * PERFORMANCE.md (`true` 1.00 ms forked, 0.78 ms spawned; timestamps
 * around fork, execv and wait4: the fork itself 0.11 ms, 0.03 ms in a
 * small program, and the child's exec, which releases its copy of this
 * process's 40 mappings, 0.18 ms longer), time that belongs to this
 * benchmark, not to the command. */
static pid_t spawn(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    bool ok;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    ok = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0 &&
         posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) == 0 &&
         posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0) == 0 &&
         posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    return ok ? pid : -1;
}

/* Runs the command once, its output to /dev/null; false if it failed.
 * The timed rounds spawn it (above); the warm-up rounds fork it, for its
 * peak RSS: a vfork-like child reports this process's peak RSS as its
 * own (exec takes over the high-water mark of the memory it leaves), a
 * forked child only this process's RSS at the fork, a few MiB (the figure
 * of `true`), below any medcrypt command's. */
static bool run_once(struct cmd *c, int round, int rounds)
{
    struct rusage ru;
    double t0, t1;
    int status;
    pid_t pid;
    bool timed = round >= 0 && round < rounds;

    /* A new output each time, as a user's would be: replacing a file would
     * add the freeing of the old one's blocks (on ext4 in rename(2), up
     * to 5 ms for 8 MB), which `openssl dgst` does not pay. */
    for (int i = 0; i < c->n_outputs; i++)
        unlink(c->outputs[i]);
    t0 = 1e3 * mc_bench_now();
    if (timed) {
        pid = spawn(c->argv);
    } else if ((pid = fork()) == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execv(c->argv[0], c->argv);
        _exit(127);
    }
    if (pid < 0)
        return false;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return false;
    t1 = 1e3 * mc_bench_now();
    if (timed) {
        c->ms[round] = t1 - t0;
        c->cpu[round] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
    } else if (ru.ru_maxrss > c->rss_kib) {
        c->rss_kib = ru.ru_maxrss;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool write_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    bool ok = fd >= 0;

    while (ok && len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok) {
            data += n;
            len -= (size_t)n;
        }
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    return ok;
}

/* The file's bytes with `extra` bytes of room after them. */
static bool read_file(const char *path, uint8_t **out, size_t *len, size_t extra)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (buf = mc__alloc_huge((size_t)st.st_size + extra + 1)) == NULL)
        goto fail;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return true;
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return false;
}

int mc_bench_aead_file(const char *in, const char *out)
{
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    uint8_t *buf = NULL;
    unsigned long long sealed_len;
    size_t len;
    int fd = -1, rc = 1;

    if (sodium_init() < 0 ||
        !read_file(in, &buf, &len, crypto_aead_xchacha20poly1305_ietf_ABYTES))
        goto out;
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    randombytes_buf(nonce, sizeof nonce);
    /* In place (libsodium allows c == m), in a buffer from mc__alloc_huge
     * as medcrypt's own: the comparison is of the work, not of page
     * faults (about 15 us each on a virtual machine). */
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf, &sealed_len, buf, len, NULL, 0, NULL, nonce,
                                               key);
    if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto out;
    for (size_t done = 0; done < sealed_len;) {
        ssize_t n = write(fd, buf + done, (size_t)sealed_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        done += (size_t)n;
    }
    if (fsync(fd) == 0)
        rc = 0;
out:
    if (fd >= 0 && close(fd) != 0)
        rc = 1;
    sodium_memzero(key, sizeof key);
    free(buf);
    return rc;
}

/* A CT-like slice: air (0) around an elliptic body of soft tissue with a
 * denser ring and a round organ, and a little noise (Philox, from the
 * seed). Like a real CT it compresses to about a third as PNG, so the
 * PNG decode costs what it costs on real slices (the gradients of
 * `medcrypt bench`'s in-memory images compress to two thirds). */
static mc_err phantom(mc_ctx *ctx, uint32_t side, uint8_t bits, uint32_t seed, mc_image **out)
{
    const uint32_t key[2] = {0x7068616e, seed}; /* "phan" */
    const double c = (side - 1) / 2.0;
    mc_image *img;
    mc_err err;

    if ((err = mc_image_new(ctx, side, side, 1, bits, &img)) != MC_OK)
        return err;
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t x = 0; x < side; x++) {
            uint32_t r[4], ctr[4] = {x, y, 0, 0}, v = 0;
            double dx = (x - c) / c, dy = (y - c) / c;
            double body = dx * dx / 0.81 + dy * dy / 0.56;
            double organ = (dx + 0.3) * (dx + 0.3) + (dy - 0.1) * (dy - 0.1);
            mc__philox(r, ctr, key);
            if (body < 1.0) {
                v = body > 0.85 ? 3000 : organ < 0.04 ? 1400 : 1000 + (uint32_t)(200 * dy);
                v += r[0] & 63; /* noise: 6 of 12 bits */
            }
            if (bits == 8)
                img->samples[(size_t)y * side + x] = (uint8_t)(v >> 4);
            else
                ((uint16_t *)(void *)img->samples)[(size_t)y * side + x] = (uint16_t)v;
        }
    *out = img;
    return MC_OK;
}

/* A PNG as most tools write it: libspng's defaults (each row's filter
 * chosen adaptively, zlib level 6), as libpng's; medcrypt's own plain
 * PNGs take Paeth on every row, slower to decode (src/codec_png.c). */
static bool write_png(const char *path, const mc_image *img)
{
    struct spng_ihdr ihdr = {.width = img->width, .height = img->height,
                             .bit_depth = img->bits, .color_type = SPNG_COLOR_TYPE_GRAYSCALE};
    spng_ctx *sc = spng_ctx_new(SPNG_CTX_ENCODER);
    uint8_t *be = malloc(img->samples_len); /* 16-bit samples big-endian, as in the file */
    FILE *f = fopen(path, "wb");
    bool ok = sc != NULL && be != NULL && f != NULL;

    if (ok) {
        if (img->bits == 16)
            mc__swap16(be, img->samples, img->samples_len);
        else
            memcpy(be, img->samples, img->samples_len);
        ok = spng_set_png_file(sc, f) == 0 && spng_set_ihdr(sc, &ihdr) == 0 &&
             spng_encode_image(sc, be, img->samples_len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0;
    }
    spng_ctx_free(sc);
    if (f != NULL && fclose(f) != 0)
        ok = false;
    free(be);
    return ok;
}

/* A generated slice written as a PGM or a PNG. */
static bool make_file(mc_ctx *ctx, const char *path, uint32_t side, uint8_t bits, mc_format format,
                      uint32_t seed)
{
    mc_image *img = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    bool ok;

    if (phantom(ctx, side, bits, seed, &img) != MC_OK)
        return false;
    if (format == MC_FORMAT_PNG) {
        ok = write_png(path, img);
    } else {
        img->format = format;
        ok = mc_image_encode(ctx, img, &bytes, &len) == MC_OK &&
             write_file(path, bytes, len, 0644);
    }
    mc_free(bytes);
    mc_image_free(img);
    return ok;
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && dot != name ? dot + 1 : "out";
}

static bool add_item(struct run *r, mc_ctx *ctx, const char *path)
{
    struct item *it = &r->items[r->n_items];
    const char *base = strrchr(path, '/');
    mc_image *img = NULL;
    mc_image_info info;
    uint8_t *buf;
    size_t len;

    base = base != NULL ? base + 1 : path;
    if (realpath(path, it->path) == NULL || !read_file(it->path, &buf, &len, 0)) {
        fprintf(stderr, "medcrypt: bench: %s: cannot read it\n", path);
        return false;
    }
    if (mc_image_decode(ctx, buf, len, NULL, &img) != MC_OK) {
        fprintf(stderr, "medcrypt: bench: %s: not an image medcrypt reads\n", path);
        free(buf);
        return false;
    }
    mc_image_get_info(img, &info);
    /* A file given of the very kind a goal names is held to it too. */
    it->like_pgm = info.format == MC_FORMAT_PNM && info.width == 2048 && info.height == 2048 &&
                   info.channels == 1 && info.bits == 16;
    it->like_png = info.format == MC_FORMAT_PNG && info.width == 512 && info.height == 512 &&
                   info.channels == 1 && info.bits == 8;
    it->bytes = len;
    it->sample_bytes = (size_t)info.width * info.height * info.channels * (info.bits / 8);
    mc_image_free(img);
    free(buf);
    snprintf(it->name, sizeof it->name, "%s", base);
    if (!in_dir(it->cipher, r->dir, "%d.enc.png", r->n_items) ||
        !in_dir(it->restored, r->dir, "%d.restored.%.16s", r->n_items, extension(base)) ||
        !in_dir(it->sealed, r->dir, "%d.sealed", r->n_items))
        return false;
    r->n_items++;
    return true;
}

/* The decrypted file against its original: the same samples, and whether
 * the same bytes (PGM, DICOM; a PNG may be re-encoded). */
static void verify(mc_ctx *ctx, struct item *it)
{
    uint8_t *a = NULL, *b = NULL;
    size_t a_len, b_len, sa, sb;
    mc_image *ia = NULL, *ib = NULL;

    it->same_samples = it->same_bytes = false;
    if (!read_file(it->path, &a, &a_len, 0) || !read_file(it->restored, &b, &b_len, 0))
        goto out;
    it->same_bytes = a_len == b_len && memcmp(a, b, a_len) == 0;
    if (mc_image_decode(ctx, a, a_len, NULL, &ia) == MC_OK &&
        mc_image_decode(ctx, b, b_len, NULL, &ib) == MC_OK) {
        const uint8_t *pa = mc_image_samples_const(ia, &sa), *pb = mc_image_samples_const(ib, &sb);
        it->same_samples = sa == sb && memcmp(pa, pb, sa) == 0;
    }
out:
    mc_image_free(ia);
    mc_image_free(ib);
    free(a);
    free(b);
}

/* The work directory, its generated images and the key. */
static bool prepare(struct run *r, const struct bench_opts *o, mc_ctx *ctx, const char *dir,
                    char **files, int n)
{
    const char *tmp = dir != NULL ? dir : getenv("TMPDIR");
    uint32_t big = o->tiny ? 128 : 2048, small = o->tiny ? 32 : 512;
    char path[PATH_MAX], text[MC_KEY_TEXT_BYTES], body[MC_KEY_TEXT_BYTES + 96];
    mc_key key;
    bool ok;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if ((size_t)snprintf(r->dir, sizeof r->dir, "%s/medcrypt-bench.XXXXXX", tmp) >= sizeof r->dir ||
        mkdtemp(r->dir) == NULL) {
        fprintf(stderr, "medcrypt: bench: cannot make a directory in %s: %s\n", tmp,
                strerror(errno));
        r->dir[0] = '\0';
        return false;
    }
    /* Its real path, as realpath() gives the generated files' (cleanup). */
    if (realpath(r->dir, path) == NULL)
        return false;
    snprintf(r->dir, sizeof r->dir, "%s", path);
    /* A key for a made-up patient (the Aadhaar number of the examples). */
    if (mc_key_generate(&key, "2345 6789 0124", "1990-05-17") != MC_OK)
        return false;
    mc_key_to_text(&key, text);
    mc_key_wipe(&key);
    snprintf(body, sizeof body, "# medcrypt bench key\n%s\n", text);
    sodium_memzero(text, sizeof text);
    ok = in_dir(r->key, r->dir, "bench.key") &&
         write_file(r->key, (const uint8_t *)body, strlen(body), 0600);
    sodium_memzero(body, sizeof body);
    if (!ok)
        goto cannot_write;
    if (!in_dir(path, r->dir, "phantom_%u_16bit.pgm", big) ||
        !make_file(ctx, path, big, 16, MC_FORMAT_PNM, 1) || !add_item(r, ctx, path) ||
        !in_dir(path, r->dir, "phantom_%u_8bit.png", small) ||
        !make_file(ctx, path, small, 8, MC_FORMAT_PNG, 2) || !add_item(r, ctx, path))
        goto cannot_write;
    for (int i = 0; i < n; i++)
        if (!add_item(r, ctx, files[i]))
            return false;
    r->batch_side = small;
    r->n_batch = o->tiny ? 4 : BATCH_FILES;
    for (int i = 0; i < r->n_batch; i++)
        if (!in_dir(r->batch[i], r->dir, "phantom_batch_%02d.png", i) ||
            !in_dir(r->batch_out[i], r->dir, "phantom_batch_%02d.png.enc.png", i) ||
            !make_file(ctx, r->batch[i], small, 16, MC_FORMAT_PNG, 100 + (uint32_t)i))
            goto cannot_write;
    return true;
cannot_write:
    fprintf(stderr, "medcrypt: bench: cannot write the test files in %s\n", r->dir);
    return false;
}

static void cleanup(struct run *r)
{
    if (r->dir[0] == '\0')
        return;
    for (int i = 0; i < r->n_items; i++) {
        struct item *it = &r->items[i];
        unlink(it->cipher);
        unlink(it->restored);
        unlink(it->sealed);
        if (strncmp(it->path, r->dir, strlen(r->dir)) == 0) /* generated, not given */
            unlink(it->path);
    }
    for (int i = 0; i < r->n_batch; i++) {
        unlink(r->batch[i]);
        unlink(r->batch_out[i]);
    }
    unlink(r->key);
    if (rmdir(r->dir) != 0)
        fprintf(stderr, "medcrypt: bench: %s: left behind: %s\n", r->dir, strerror(errno));
}

static bool plan(struct run *r)
{
    char label[LABEL_BYTES];

    snprintf(r->jobs_n, sizeof r->jobs_n, "%d", r->threads);
    if ((r->true_cmd = add_cmd(r, "true", r->truth, (char *)NULL)) == NULL)
        return false;
    for (int i = 0; i < r->n_items; i++) {
        struct item *it = &r->items[i];
        if (r->openssl[0] != '\0') {
            snprintf(label, sizeof label, "openssl dgst -sha512 %s", it->name);
            if ((it->dgst = add_cmd(r, label, r->openssl, "dgst", "-sha512", it->path,
                                    (char *)NULL)) == NULL)
                return false;
        }
        snprintf(label, sizeof label, "XChaCha20-Poly1305 process, %s", it->name);
        if ((it->aead = add_cmd(r, label, r->self, "bench", "--aead-file", it->path, it->sealed,
                                (char *)NULL)) == NULL)
            return false;
        snprintf(label, sizeof label, "medcrypt encrypt %s", it->name);
        if ((it->enc = add_cmd(r, label, r->self, "encrypt", "-k", r->key, "-o", it->cipher,
                               it->path, (char *)NULL)) == NULL)
            return false;
        snprintf(label, sizeof label, "medcrypt decrypt %s", it->name);
        if ((it->dec = add_cmd(r, label, r->self, "decrypt", "-k", r->key, "-o", it->restored,
                               it->cipher, (char *)NULL)) == NULL)
            return false;
        it->aead->outputs[it->aead->n_outputs++] = it->sealed;
        it->enc->outputs[it->enc->n_outputs++] = it->cipher;
        it->dec->outputs[it->dec->n_outputs++] = it->restored;
    }
    snprintf(label, sizeof label, "medcrypt encrypt -j 1, %d files", r->n_batch);
    if ((r->batch_one = add_cmd(r, label, r->self, "encrypt", "-k", r->key, "-j", "1",
                                (char *)NULL)) == NULL)
        return false;
    snprintf(label, sizeof label, "medcrypt encrypt -j %d, %d files", r->threads, r->n_batch);
    if ((r->batch_n = add_cmd(r, label, r->self, "encrypt", "-k", r->key, "-j", r->jobs_n,
                              (char *)NULL)) == NULL)
        return false;
    /* The goal is -j 2 against -j 1 ("on 2 cores"), whatever N is. */
    r->batch_two = r->batch_n;
    if (r->threads != 2) {
        snprintf(label, sizeof label, "medcrypt encrypt -j 2, %d files", r->n_batch);
        if ((r->batch_two = add_cmd(r, label, r->self, "encrypt", "-k", r->key, "-j", "2",
                                    (char *)NULL)) == NULL)
            return false;
    }
    for (int i = 0; i < r->n_batch; i++) {
        r->batch_one->argv[r->batch_one->argc++] = r->batch[i];
        r->batch_n->argv[r->batch_n->argc++] = r->batch[i];
        r->batch_one->outputs[r->batch_one->n_outputs++] = r->batch_out[i];
        r->batch_n->outputs[r->batch_n->n_outputs++] = r->batch_out[i];
        if (r->batch_two != r->batch_n) {
            r->batch_two->argv[r->batch_two->argc++] = r->batch[i];
            r->batch_two->outputs[r->batch_two->n_outputs++] = r->batch_out[i];
        }
    }
    return true;
}

/* NAN for a command not run (no openssl): null in the JSON. */
static double median(const struct cmd *c, int rounds)
{
    return c != NULL ? quantile(c->ms, rounds, 0.5) : NAN;
}

/* Issue 11's goals for whole commands, from this run: items[0] is the
 * generated 2048x2048 16-bit PGM, items[1] the 512x512 8-bit PNG (both
 * 16 times smaller per side with --tiny: then the figures are not the
 * goals' own); then each file given of a goal's kind, which the goal
 * holds too (an image of one's own, a PNG written with other filters). */
struct goal {
    char what[96];
    const char *file; /* a file given, or NULL for the generated images */
    double value, limit;
    const char *unit;
    bool at_most;
};

#define MAX_GOALS (5 + 2 * MAX_FILES)

static void goal(struct goal *g, const char *what, const char *file, double value,
                 double limit, const char *unit, bool at_most)
{
    *g = (struct goal){.file = file, .value = value, .limit = limit, .unit = unit,
                       .at_most = at_most};
    snprintf(g->what, sizeof g->what, "%s", what);
}

/* The two goals against `openssl dgst -sha512` (none without openssl). */
static int pgm_goals(const struct run *r, const struct item *it, const char *file,
                     struct goal *g)
{
    double dgst = median(it->dgst, r->rounds);
    char what[96];

    if (!(dgst > 0))
        return 0;
    snprintf(what, sizeof what, "encrypt of %.40s, x openssl dgst -sha512",
             file != NULL ? file : "the 2048x2048 16-bit PGM");
    goal(&g[0], what, file, median(it->enc, r->rounds) / dgst, 2.0, "x", true);
    goal(&g[1], file != NULL ? "decrypt of its cipher image, likewise"
                             : "decrypt of its cipher image, x openssl dgst -sha512",
         file, median(it->dec, r->rounds) / dgst, 2.0, "x", true);
    return 2;
}

/* The 3 ms of a whole encrypt of a 512x512 8-bit PNG. */
static int png_goal(const struct run *r, const struct item *it, const char *file,
                    struct goal *g)
{
    char what[96];

    snprintf(what, sizeof what, "encrypt of %.40s, whole process",
             file != NULL ? file : "the 512x512 8-bit PNG");
    goal(g, what, file, median(it->enc, r->rounds), 3.0, "ms", true);
    return 1;
}

static int goals(const struct run *r, struct goal g[MAX_GOALS])
{
    const struct item *big = &r->items[0], *small = &r->items[1];
    int n = 0;

    n += pgm_goals(r, big, NULL, &g[n]);
    n += png_goal(r, small, NULL, &g[n]);
    goal(&g[n++], "peak RSS of the PGM's encrypt, MiB (2 x samples + 16 MiB)", NULL,
         (double)big->enc->rss_kib / 1024.0,
         (2.0 * (double)big->sample_bytes + 16.0 * 1048576.0) / 1048576.0, "MiB", true);
    goal(&g[n++], "batch of 16-bit PNGs, -j 2 speed-up over -j 1", NULL,
         median(r->batch_one, r->rounds) / median(r->batch_two, r->rounds), 1.8, "x", false);
    for (int i = 2; i < r->n_items; i++) {
        const struct item *it = &r->items[i];
        if (it->like_pgm)
            n += pgm_goals(r, it, it->name, &g[n]);
        if (it->like_png)
            n += png_goal(r, it, it->name, &g[n]);
    }
    return n;
}

static bool goal_met(const struct goal *g)
{
    return g->at_most ? g->value <= g->limit : g->value >= g->limit;
}

static void json_num(FILE *out, const char *name, double v)
{
    fputc(',', out);
    mc_bench_json_num(out, name, 4, v);
}

static void report_json(const struct run *r, const char *cpu, long cores, bool tmpfs, FILE *out)
{
    double t0 = median(r->true_cmd, r->rounds);
    struct goal g[MAX_GOALS];

    fputs("{\"version\":\"" MC_VERSION_STRING "\",\"machine\":{\"cpu\":", out);
    mc_bench_json_str(out, cpu);
    fprintf(out, ",\"cores\":%ld},\"rounds\":%d,\"dir\":{\"path\":", cores, r->rounds);
    mc_bench_json_str(out, r->dir);
    fprintf(out, ",\"tmpfs\":%s},\"commands\":[", tmpfs ? "true" : "false");
    for (int i = 0; i < r->n_cmds; i++) {
        const struct cmd *c = &r->cmds[i];
        fputs(i ? ",{\"name\":" : "{\"name\":", out);
        mc_bench_json_str(out, c->label);
        json_num(out, "median_ms", quantile(c->ms, r->rounds, 0.5));
        json_num(out, "p25_ms", quantile(c->ms, r->rounds, 0.25));
        json_num(out, "min_ms", quantile(c->ms, r->rounds, 0.0));
        json_num(out, "cpu_ms", quantile(c->cpu, r->rounds, 0.5));
        fprintf(out, ",\"peak_rss_kib\":%ld,\"failures\":%d}", c->rss_kib, c->failures);
    }
    fputs("],\"files\":[", out);
    for (int i = 0; i < r->n_items; i++) {
        const struct item *it = &r->items[i];
        double enc = median(it->enc, r->rounds), dec = median(it->dec, r->rounds);
        double dgst = median(it->dgst, r->rounds), aead = median(it->aead, r->rounds);
        fputs(i ? ",{\"file\":" : "{\"file\":", out);
        mc_bench_json_str(out, it->name);
        fprintf(out, ",\"bytes\":%zu,\"sample_bytes\":%zu", it->bytes, it->sample_bytes);
        json_num(out, "encrypt_ms", enc);
        json_num(out, "decrypt_ms", dec);
        json_num(out, "openssl_dgst_ms", dgst);
        json_num(out, "aead_process_ms", aead);
        json_num(out, "encrypt_x_dgst", enc / dgst);
        json_num(out, "decrypt_x_dgst", dec / dgst);
        json_num(out, "encrypt_x_aead_process", enc / aead);
        json_num(out, "encrypt_minus_true_ms", enc - t0);
        fprintf(out,
                ",\"encrypt_peak_rss_kib\":%ld,\"rss_goal_kib\":%zu,\"same_samples\":%s,"
                "\"same_bytes\":%s}",
                it->enc->rss_kib, (2 * it->sample_bytes + ((size_t)16 << 20)) / 1024,
                it->same_samples ? "true" : "false", it->same_bytes ? "true" : "false");
    }
    fprintf(out,
            "],\"batch\":{\"files\":%d,\"width\":%u,\"height\":%u,\"bits\":16,\"threads\":%d",
            r->n_batch, r->batch_side, r->batch_side, r->threads);
    json_num(out, "one_ms", median(r->batch_one, r->rounds));
    json_num(out, "n_ms", median(r->batch_n, r->rounds));
    json_num(out, "speedup", median(r->batch_one, r->rounds) / median(r->batch_n, r->rounds));
    fprintf(out, ",\"in_memory\":{\"threads\":%d,\"images\":%d,\"each\":%d,\"width\":%u,"
                 "\"height\":%u",
            r->in_memory.threads, r->in_memory.threads, r->in_memory.per_thread,
            r->in_memory.side, r->in_memory.side);
    json_num(out, "speedup", r->in_memory.medcrypt);
    json_num(out, "xchacha20poly1305_speedup", r->in_memory.aead);
    json_num(out, "hmac_sha512_speedup", r->in_memory.hmac);
    fputs(",\"missing\":", out);
    if (r->in_memory.missing != NULL)
        mc_bench_json_str(out, r->in_memory.missing);
    else
        fputs("null", out);
    fputs("}},\"goals\":[", out);
    for (int i = 0, n = goals(r, g); i < n; i++) {
        fputs(i ? ",{\"goal\":" : "{\"goal\":", out);
        mc_bench_json_str(out, g[i].what);
        fputs(",\"file\":", out);
        if (g[i].file != NULL)
            mc_bench_json_str(out, g[i].file);
        else
            fputs("null", out);
        json_num(out, "value", g[i].value);
        json_num(out, "limit", g[i].limit);
        fprintf(out, ",\"at_most\":%s,\"met\":%s}", g[i].at_most ? "true" : "false",
                goal_met(&g[i]) ? "true" : "false");
    }
    fputs("]}\n", out);
}

static void report_text(const struct run *r, const char *cpu, long cores, bool tmpfs, FILE *out)
{
    double t0 = median(r->true_cmd, r->rounds);
    struct goal g[MAX_GOALS];

    fprintf(out,
            "medcrypt %s bench --process: %s, %ld cores; files in %s (%s)\n"
            "median and p25 of %d alternating rounds after %d warm-up rounds; each command\n"
            "started with posix_spawn, its peak RSS from the warm-up rounds, which fork\n\n",
            MC_VERSION_STRING, cpu, cores, r->dir, tmpfs ? "tmpfs" : "not tmpfs", r->rounds,
            WARMUP_ROUNDS);
    fprintf(out, "  %-50s %9s %9s %9s %9s\n", "command", "median ms", "p25 ms", "CPU ms",
            "RSS MiB");
    for (int i = 0; i < r->n_cmds; i++) {
        const struct cmd *c = &r->cmds[i];
        fprintf(out, "  %-50.50s %9.2f %9.2f %9.2f %9.1f%s\n", c->label,
                quantile(c->ms, r->rounds, 0.5), quantile(c->ms, r->rounds, 0.25),
                quantile(c->cpu, r->rounds, 0.5), (double)c->rss_kib / 1024.0,
                c->failures ? "  FAILED" : "");
    }
    fputs("\n", out);
    for (int i = 0; i < r->n_items; i++) {
        const struct item *it = &r->items[i];
        double enc = median(it->enc, r->rounds), dec = median(it->dec, r->rounds);
        double dgst = median(it->dgst, r->rounds), aead = median(it->aead, r->rounds);
        fprintf(out, "%s (%zu bytes, %zu of samples):\n", it->name, it->bytes,
                it->sample_bytes);
        if (dgst > 0)
            fprintf(out, "  encrypt %.2f x openssl dgst, decrypt %.2f x\n", enc / dgst,
                    dec / dgst);
        fprintf(out, "  encrypt %.2f x the XChaCha20-Poly1305 process, %.2f ms more than true\n",
                enc / aead, enc - t0);
        fprintf(out, "  decrypted: %s, %s\n",
                it->same_samples ? "the same samples" : "DIFFERENT SAMPLES",
                it->same_bytes ? "the same bytes" : "the file re-encoded");
    }
    fprintf(out, "\nthe speed goals of docs/PERFORMANCE.md (median)%s:\n",
            r->batch_side < 512 ? ", on images too small (--tiny) to mean anything" : "");
    for (int i = 0, n = goals(r, g); i < n; i++)
        fprintf(out, "  %-62s %7.2f %-3s (%s %.1f) %s\n", g[i].what, g[i].value, g[i].unit,
                g[i].at_most ? "at most" : "at least", g[i].limit,
                goal_met(&g[i]) ? "met" : "NOT MET");
    {
        const struct bench_speedups *m = &r->in_memory;
        char x[3][32];
        fprintf(out,
                "  the batch in memory, %d %ux%u 16-bit images %d times each, on %d threads\n"
                "  against one (no process start, no files): medcrypt %s; the machine's own\n"
                "  XChaCha20-Poly1305 %s, HMAC-SHA-512 %s on the same (what it gives to\n"
                "  parallel work)%s%s\n",
                m->threads, m->side, m->side, m->per_thread, m->threads,
                mc_bench_text_x(x[0], m->medcrypt, true), mc_bench_text_x(x[1], m->aead, true),
                mc_bench_text_x(x[2], m->hmac, true), m->missing != NULL ? "; not measured: " : "",
                m->missing != NULL ? m->missing : "");
    }
    if (r->openssl[0] == '\0')
        fputs("  encrypt and decrypt of the PGM, x openssl dgst -sha512: not measured (no\n"
              "  'openssl' on PATH)\n",
              out);
    if (!tmpfs)
        fputs("\nnot on tmpfs: every output of medcrypt above was made durable before its\n"
              "command ended (fsync of the file, then of its folder: docs/SECURITY.md),\n"
              "about 0.5 ms a file on the ext4 disk of docs/PERFORMANCE.md; on tmpfs\n"
              "(--dir /dev/shm) that costs nothing\n",
              out);
}

int mc_bench_process(const struct bench_opts *o, const char *dir, char **files, int n, FILE *out)
{
    struct run *r = calloc(1, sizeof *r);
    mc_ctx *ctx = NULL;
    char cpu[256];
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* the machine's, as printed */
    unsigned usable;
    struct statfs fs;
    bool tmpfs, ok = true;
    ssize_t len;
    int rc = 1;

    if (r == NULL)
        return 1;
    if (n > MAX_FILES) {
        fprintf(stderr, "medcrypt: bench: at most %d files\n", MAX_FILES);
        goto out;
    }
    r->rounds = o->repeat;
    /* -j N: the cores this process (and so each command) may use, at
     * least 2 so that the batch compares something. */
    usable = mc__cores();
    r->threads = o->threads > 0 ? o->threads : (int)(usable > 1 ? usable : 2);
    if ((len = readlink("/proc/self/exe", r->self, sizeof r->self - 1)) <= 0) {
        fputs("medcrypt: bench: cannot find this program (/proc/self/exe)\n", stderr);
        goto out;
    }
    r->self[len] = '\0';
    if (!find_program("true", r->truth)) {
        fputs("medcrypt: bench: no 'true' program on PATH\n", stderr);
        goto out;
    }
    if (!find_program("openssl", r->openssl)) {
        fputs("medcrypt: bench: no 'openssl' on PATH (Debian: openssl): "
              "its SHA-512 reference is left out\n",
              stderr);
        r->openssl[0] = '\0';
    }
    if (mc_ctx_new(&ctx) != MC_OK || !prepare(r, o, ctx, dir, files, n) || !plan(r))
        goto out;
    mc__huge_cache_drop(); /* the test images' blocks: not in the children's RSS */
    for (int round = -WARMUP_ROUNDS; round < r->rounds; round++)
        for (int i = 0; i < r->n_cmds; i++)
            if (!run_once(&r->cmds[i], round, r->rounds))
                r->cmds[i].failures++;
    for (int i = 0; i < r->n_cmds; i++)
        if (r->cmds[i].failures > 0) {
            fprintf(stderr, "medcrypt: bench: '%s' failed %d times\n", r->cmds[i].label,
                    r->cmds[i].failures);
            ok = false;
        }
    /* The batch in memory, as many encryptions as the batch has files,
     * on the goal's 2 threads. No check of its own: what it could not
     * measure is printed as such (missing), the goals as they are. Not
     * run after a failed command: the run's figures are void. */
    if (ok)
        (void)mc_bench_batch_in_memory(ctx, r->batch_side, 2, r->n_batch / 2, r->rounds,
                                       &r->in_memory);
    else
        r->in_memory = mc_bench_speedups_none(r->batch_side, 2, r->n_batch / 2,
                                              "a command failed");
    for (int i = 0; i < r->n_items; i++) {
        verify(ctx, &r->items[i]);
        if (!r->items[i].same_samples) {
            fprintf(stderr, "medcrypt: bench: %s: decrypted samples differ\n",
                    r->items[i].name);
            ok = false;
        }
    }
    tmpfs = statfs(r->dir, &fs) == 0 && (unsigned long)fs.f_type == TMPFS_MAGIC_NUMBER;
    mc_bench_cpu_model(cpu, sizeof cpu);
    if (o->json)
        report_json(r, cpu, cores, tmpfs, out);
    else
        report_text(r, cpu, cores, tmpfs, out);
    rc = ok ? 0 : 1;
out:
    cleanup(r);
    for (int i = 0; i < r->n_cmds; i++) {
        free(r->cmds[i].ms);
        free(r->cmds[i].cpu);
    }
    mc_ctx_free(ctx);
    free(r);
    return rc;
}
