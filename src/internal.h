/*
 * Library internals shared across src/ files. Never installed.
 * Cross-file names carry the mc__ prefix.
 */
#ifndef MC_INTERNAL_H
#define MC_INTERNAL_H

#include "medcrypt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* The chaotic stages are specified on IEEE-754 binary64 and on the
 * little-endian byte order of samples; refuse to build where that does
 * not hold rather than produce incompatible cipher images. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "medcrypt format v1 code assumes a little-endian host"
#endif
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "medcrypt needs double arithmetic evaluated in double (no x87)"
#endif

struct mc_ctx {
    uint64_t max_samples;
    unsigned threads; /* per image, for the stages that run in parallel */
    /* Set where an encrypt follows the decode (the command's encrypt,
     * mc_encrypt_file): a large PNG's or JPEG's chunk digests are hashed
     * while it is decoded (chunkhash.c). */
    bool chunk_digests;
    /* A plain PNG's pixels always through libspng, never through
     * codec_png_fast.c: for the tests and the fuzz target that hold the
     * two to the same samples. */
    bool png_no_fast;
    /* A plain PNG's pixels inflated piece by piece (codec_png_stream.c)
     * whatever its size, not only while a large one is hashed: for the
     * tests and the fuzz target that hold it to libspng's samples. */
    bool png_stream;
    mc_admit_fn admit; /* mc_ctx_set_admit, or NULL */
    void *admit_user;
};
/* The threads an image's work may use; 1 without a context. */
static inline unsigned mc__ctx_threads(const mc_ctx *ctx)
{
    return ctx != NULL ? ctx->threads : 1;
}
/* codec_dicom.c: sets the calling thread's mc_ctx_last_detail() text
 * (printf-style; "%s", "" clears it). Nothing is recorded when ctx is NULL
 * (internal re-parses). Never a patient identifier. */
void mc__ctx_detail(const mc_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* codec_dicom.c: after the mc__ctx_detail of an image over the pixel
 * cap, records the cap for mc_ctx_last_cap() (the next detail clears it).
 * Nothing when ctx is NULL, as above. */
void mc__ctx_cap(const mc_ctx *ctx, uint64_t cap);

/* dl.c: loads the library `soname` (dlopen, RTLD_NOW | RTLD_LOCAL, never
 * closed) and finds names[0 .. n] in it: syms[i] is the address of
 * names[i]. False, syms zeroed and why (if not NULL) saying what failed,
 * if the library or any name is missing. A caller turns each address into
 * its typed function pointer with memcpy: POSIX says dlsym's result is
 * the function's address, and ISO C has no cast for it. */
bool mc__dl_load(const char *soname, const char *const names[], void *syms[], size_t n,
                 char *why, size_t why_len);

/* Side data: format-specific bytes that travel, encrypted, with the
 * samples (docs/FORMAT.md §Side data). Records are (type u16 BE, length
 * u32 BE, bytes). */
enum mc_side_type {
    MC_SIDE_NAME = 1,       /* original base name, UTF-8 */
    MC_SIDE_PNM_HEADER = 2, /* PNM header bytes up to the raster, verbatim */
    MC_SIDE_PNM_TRAILER = 3, /* PNM bytes after the raster, verbatim */
    MC_SIDE_PNM_RASTER = 4,  /* plain (P2/P3) raster text, verbatim, only
                                when not in the canonical layout */
    MC_SIDE_PNG_BEFORE = 5,  /* a PNG's ancillary chunks before its first
                                IDAT, verbatim (png_meta.c) */
    MC_SIDE_PNG_AFTER = 6,   /* and those after it */
    /* Ranges reserved per codec (docs/FORMAT.md §3 lists each type):
     * BMP 16..31, JPEG 32..47, DICOM 48..63. */
    MC_SIDE_BMP_FIRST = 16,
    MC_SIDE_BMP_HEADER = 16,   /* BMP bytes 0..bfOffBits, verbatim */
    MC_SIDE_BMP_TRAILER = 17,  /* BMP bytes after the pixel array, verbatim */
    MC_SIDE_BMP_RESIDUAL = 18, /* pixel-array bits the samples do not fix:
                                  XOR with the canonical rebuild, as runs */
    MC_SIDE_JPEG_FIRST = 32,
    MC_SIDE_DICOM_FIRST = 48,
    MC_SIDE_DICOM_HEAD = 48, /* DICOM bytes before the Pixel Data value:
                                preamble, "DICM", meta, all elements and the
                                Pixel Data element's own tag/VR/length */
    MC_SIDE_DICOM_TAIL = 49  /* DICOM bytes after rows·cols·spp·frames
                                sample bytes: pad byte, trailing elements */
};

struct mc_image {
    uint32_t width, height, frames;
    uint8_t channels, bits;
    mc_format format;
    uint8_t *samples; /* W·H·C·bits/8 bytes, 16-bit in host order */
    size_t samples_len;
    uint8_t *side;    /* side-data records, or NULL */
    size_t side_len;
    char *name;       /* decoded copy of MC_SIDE_NAME, or NULL */
    /* Format v3's chunk digests of the samples as decoded (64 bytes per
     * MC_TREE_CHUNK), or NULL: only while the samples are unchanged, so
     * dropped (mc__image_drop_digests) before anything may write them. */
    uint8_t *digests;
    size_t digests_len;
    /* Encrypted in place (mc_encrypt_image_inplace*, whatever it
     * returned): its samples are no longer the image's, so every call
     * that would read them as such answers MC_ESTATE. A retry after a
     * failed streamed write would otherwise encrypt cipher samples again,
     * with MC_OK, into an image that never decrypts. */
    bool spent;
};

/* Format v3's keyed hash is over the SHA-512 digests of the samples in
 * chunks of this many bytes (docs/FORMAT.md §4.1), the last one shorter. */
#define MC_TREE_CHUNK ((size_t)1 << 16)

static inline size_t mc__tree_chunks(size_t samples_len)
{
    return (samples_len + MC_TREE_CHUNK - 1) / MC_TREE_CHUNK;
}

/* chunkhash.c: the chunk digests of len bytes at samples hashed on a
 * second thread while a decoder fills them front to back. start gives
 * NULL if the thread cannot be had (the keyed hash then does it all);
 * ready says the first `ready` bytes are final; finish waits for the
 * rest and returns the digests (malloc, *digests_len bytes) or NULL;
 * abort stops without them. Both free the hasher. */
typedef struct mc__chunk_hasher mc__chunk_hasher;
mc__chunk_hasher *mc__chunk_hasher_start(const uint8_t *samples, size_t len);
/* A hasher for img's samples where ctx asks for one (chunk_digests, two
 * threads or more) and the image is large enough to gain from it; NULL
 * otherwise. For a decoder that fills the samples front to back. */
mc__chunk_hasher *mc__chunk_hasher_for(const mc_ctx *ctx, const mc_image *img);
/* How many hashers have been started in this process (tests). */
unsigned long mc__chunk_hashers_started(void);
void mc__chunk_hasher_ready(mc__chunk_hasher *h, size_t ready);
uint8_t *mc__chunk_hasher_finish(mc__chunk_hasher *h, size_t *digests_len);
void mc__chunk_hasher_abort(mc__chunk_hasher *h);

/* codec.c: which image medcrypt reads buf begins as (a codec's
 * signature; a cipher image is a PNG), MC_FORMAT_NONE for none: a stream
 * that is none, /dev/zero, need not be read to its end (cli_read_file);
 * a file decryption refuses is said to be a DICOM file (container.c). */
mc_format mc__image_sniff(const uint8_t *buf, size_t len);

/* image.c */
/* mem.c: malloc() for a buffer that is about to be filled: from the
 * line mc__huge_min() up 2 MiB-aligned and hinted for transparent huge
 * pages before its first touch (fewer page faults; a hint only), below
 * that 64-byte aligned and, from 16 KiB, its pages faulted in at once.
 * The line is MC__HUGE_MIN_DEAR or MC__HUGE_MIN_CHEAP, as the process
 * measures its first pre-faulting (src/mem.c); mc__huge_min_set() sets it
 * for a test (0: measure again) and returns what it was (0: not measured
 * yet). Free with mc__free_huge(). */
#define MC__HUGE_MIN_DEAR ((size_t)32 << 10)
#define MC__HUGE_MIN_CHEAP ((size_t)1 << 20)
size_t mc__huge_min(void);
/* What the measurement found: nanoseconds per small page pre-faulted and
 * first written, or 0 (not measured, or refused). */
unsigned mc__huge_page_ns(void);
size_t mc__huge_min_set(size_t line);
/* Tests: when not 0, what the measure takes a page to cost (ns) in place
 * of the time it took, so that both of its outcomes can be run. */
extern unsigned mc__huge_page_ns_test;
void *mc__alloc_huge(size_t len);
/* free() for blocks from mc__alloc_huge (any malloc block is fine): a few
 * freed image-sized blocks, and small ones from 16 KiB in at most half
 * the slots, are kept for the next image of a batch. Wipe what was
 * written first, as before free(). */
void mc__free_huge(void *p);
/* Under AddressSanitizer, marks the bytes of such a block from `used` on
 * (its rounding up, and room a reader keeps to see the end) as not to be
 * touched, so that a decoder reading past a file's last byte is caught
 * as it is in the fuzzers' exact-size buffers; mc__free_huge clears the
 * mark. Nothing otherwise. */
void mc__huge_poison_after(void *p, size_t used);
/* Gives the kept blocks back (medcrypt bench --process, before it forks
 * the commands it measures). */
void mc__huge_cache_drop(void);
/* How many blocks are kept, small ones (under the line when they were
 * made) or the others; for tests. */
int mc__huge_cache_count(bool small);
/* A growing byte buffer (start with {0}); nomem is set when growing
 * failed. Old blocks are wiped before they are freed: they may hold a
 * plain image. */
typedef struct mc__buf {
    uint8_t *p;
    size_t len, cap;
    bool nomem;
} mc__buf;
/* Room for `more` bytes after len; false (and nomem) without memory. */
bool mc__buf_reserve(mc__buf *b, size_t more);
/* An mc_write_fn that appends to the mc__buf user. */
int mc__buf_write(void *user, const uint8_t *data, size_t len);
/* Wipes and frees the block; the buffer is empty again. */
void mc__buf_wipe(mc__buf *b);

/* Swaps the bytes of each 16-bit sample (big-endian files, little-endian
 * host); dst may be src. */
void mc__swap16(uint8_t *dst, const uint8_t *src, size_t len);
mc_err mc__image_alloc(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                       mc_image **out);
/* The same with room more bytes after the samples (not counted in
 * samples_len, zeroed as the samples are): a decoder's working space,
 * which it wipes. */
mc_err mc__image_alloc_room(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                            size_t room, mc_image **out);
mc_err mc__image_copy(const mc_image *src, mc_image **out);
/* The last step of decoding a file where it lies (mc_image_decode_owned):
 * the samples_len bytes at offset off of buf (len bytes, from malloc) moved
 * to its start, the rest wiped (headers and trailers, copied into the side
 * data before), and the block (its size unchanged) given to img as its
 * samples. */
void mc__image_adopt(mc_image *img, uint8_t *buf, size_t len, size_t off, size_t samples_len);
/* Wipes and frees img's chunk digests, if any (mc_image.digests). */
void mc__image_drop_digests(mc_image *img);
mc_err mc__geometry_check(const mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits,
                          size_t *samples_len);
mc_err mc__side_add(mc_image *img, uint16_t type, const void *data, size_t len);
/* Finds the first record of a type; returns false if absent. */
bool mc__side_find(const uint8_t *side, size_t side_len, uint16_t type, const uint8_t **data,
                   size_t *len);
/* Checks the records are well formed (lengths inside the buffer). */
bool mc__side_valid(const uint8_t *side, size_t side_len);
/* Sets img->name from the side data (after decryption). */
mc_err mc__image_name_from_side(mc_image *img);

/* crypto.c: SHA-512 (FIPS 180-4) and ChaCha20 on OpenSSL's assembly,
 * linked in (or libsodium's where the build has no static libcrypto),
 * HMAC (RFC 2104/4231) on that SHA-512, HKDF (RFC 5869) on libsodium:
 * the same bytes either way. Tests set mc__sodium_only to run every call
 * on libsodium (not thread-safe to change while others hash). */
extern bool mc__sodium_only;
typedef struct mc__hmac mc__hmac;
mc_err mc__sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len);
mc_err mc__sha512_2(uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len);
mc_err mc__hmac_sha512(uint8_t out[64], const uint8_t *key, size_t key_len, const uint8_t *msg,
                       size_t msg_len);
/* SHA-512 of chunks [first, last) of `chunk` bytes of msg (the last one
 * of msg may be shorter) into digests + 64 * i (format v3's keyed hash). */
mc_err mc__sha512_chunks(uint8_t *digests, const uint8_t *msg, size_t len, size_t chunk,
                         size_t first, size_t last);
mc_err mc__hmac_init(mc__hmac **h, const uint8_t *key, size_t key_len);
mc_err mc__hmac_update(mc__hmac *h, const uint8_t *msg, size_t msg_len);
mc_err mc__hmac_final(mc__hmac *h, uint8_t out[64]); /* frees h */
void mc__hmac_free(mc__hmac *h);
mc_err mc__hkdf_sha512(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *salt, size_t salt_len, const char *info);
/* p[0..len) XOR the ChaCha20 keystream of (key, 8-byte nonce) from 64-byte
 * block ic on, with the original 64-bit block counter: the bytes of
 * libsodium's crypto_stream_chacha20_xor_ic. Thread-safe. */
void mc__chacha20_xor_ic(uint8_t *p, size_t len, const uint8_t nonce[8], uint64_t ic,
                         const uint8_t key[32]);

/* The little-endian 32-bit word at p, and v stored so (keys, counters,
 * file headers). */
static inline uint32_t mc__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void mc__put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The big-endian 32-bit word at p (PNG chunk lengths, side records), and
 * v stored so. */
static inline uint32_t mc__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void mc__put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Philox4x32-10 (Random123): one 16-byte block, words little-endian. */
void mc__philox(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]);
/* Writes n_blocks blocks of Philox output with ctr = {i, c1, c2, c3}. */
void mc__philox_stream(uint8_t *out, size_t n_blocks, const uint32_t key[2], uint32_t c1,
                       uint32_t c2, uint32_t c3);

/* aadhaar.c */
bool mc__verhoeff_valid(const char *digits, size_t n);
int mc__verhoeff_digit(const char *digits, size_t n); /* check digit to append */

/* key.c: deterministic part of key generation, for known-answer tests. */
mc_err mc__key_derive(mc_key *key, const char digits[12], const char dob[10],
                      const uint8_t rnd[32]);
/* dob.c: today's date, or the clock, is a parameter so tests can pin it.
 * _time takes a POSIX time and checks against its date at UTC+14. */
mc_err mc__dob_check_at(const char *dob, int year, int month, int day);
mc_err mc__dob_check_time(const char *dob, time_t now);

/* cipher.c: subkeys (docs/FORMAT.md §Subkeys) */
typedef struct mc__subkeys {
    uint8_t mac[64];    /* secret */
    uint8_t chaos[32];  /* secret */
    uint8_t stream[32]; /* secret */
    uint8_t key_id[MC_KEY_ID_BYTES]; /* public */
} mc__subkeys;
mc_err mc__subkeys_derive(mc__subkeys *sk, const mc_key *key);
void mc__subkeys_wipe(mc__subkeys *sk);

/* The seed material SM (64 bytes) from K_chaos and T. */
mc_err mc__seed_material(uint8_t sm[64], const uint8_t k_chaos[32],
                         const uint8_t tag[MC_TAG_BYTES]);

/* chaos.c: the maps and their per-block seeding. */
enum mc__stage_id {
    MC_STAGE_PERM = 0,       /* samples inside a block */
    MC_STAGE_PERM_BLOCKS = 1,/* order of the full blocks */
    MC_STAGE_HENON = 2,
    MC_STAGE_LOGISTIC = 3
};
/* Four Philox words for (stage, block) under SM. */
void mc__stage_philox(uint32_t out[4], const uint8_t sm[64], int stage, uint64_t block);
/* A double in [0,1) from two words (53 bits). */
static inline double mc__unit(uint32_t hi, uint32_t lo)
{
    uint64_t u = (uint64_t)hi << 21 | lo >> 11; /* 53 bits, exact */
    return (double)u * 0x1p-53;
}
/* The binary64 representation; its low 32 bits are an orbit's output. */
static inline uint64_t mc__bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline uint32_t mc__low32(double x)
{
    return (uint32_t)mc__bits(x);
}

typedef struct mc__logistic {
    double x, r;
} mc__logistic;
void mc__logistic_seed(mc__logistic *m, const uint8_t sm[64], int stage, uint64_t block);
/* The same for format v2: r in [3.9999, 4) (chaos.c says why). */
void mc__logistic_seed_v2(mc__logistic *m, const uint8_t sm[64], int stage, uint64_t block);
static inline double mc__logistic_next(mc__logistic *m)
{
    m->x = m->r * m->x * (1.0 - m->x);
    return m->x;
}

typedef struct mc__henon {
    double x, y;
} mc__henon;
void mc__henon_seed(mc__henon *m, const uint8_t sm[64], uint64_t block);
double mc__henon_next(mc__henon *m);

/* metrics.c: ln Gamma(1 + a) for 0 <= a < 1, to a few units in the last
 * place (the chi-square tail under two degrees of freedom needs it where
 * lgamma(1 + a) loses a to rounding); exposed for its known answers. */
double mc__lgamma1p(double a);

/* parallel.c: fn(arg, begin, end, worker) over [0, n) on up to `threads`
 * threads (the caller's included), in ranges that start at multiples of
 * grain (and end at one, or at n), handed out as the threads ask; worker
 * (0 for the caller, < threads) tells which thread runs the range, for
 * per-thread scratch space. */
#define MC_MAX_THREADS 64
typedef void (*mc__range_fn)(void *arg, size_t begin, size_t end, unsigned worker);
void mc__parallel(unsigned threads, size_t n, size_t grain, mc__range_fn fn, void *arg);

/* parallel.c: the cores this process may run on (its CPU affinity), the
 * default thread count. */
unsigned mc__cores(void);

/* parallel.c: pthread_create(thread, NULL, fn, arg), the new thread
 * started on the nth core after the caller's (1: the next; threads
 * started together take 1, 2, ...) and then free to move: without it a
 * new thread could wait milliseconds on its creator's busy core. */
int mc__thread_create(pthread_t *thread, unsigned nth, void *(*fn)(void *), void *arg);

/* Stage block sizes (docs/FORMAT.md): part of format v1. */
#define MC_PERM_BLOCK_SAMPLES 4096u
#define MC_HENON_BLOCK_WORDS 512u
#define MC_LOGISTIC_BLOCK_BYTES 4096u
#define MC_TRANSIENT 16u

/* stage_v2.c: format v2's stages 3–6 in one pass over blocks of
 * MC_V2_BLOCK_SAMPLES samples (docs/FORMAT.md §5), in place: encryption
 * (inverse false) or decryption of the n_samples samples in buf. stages
 * as for mc__encrypt_inplace (the XChaCha20 layer only with
 * MC_STAGES_ALL). Allocates all it needs before it changes a sample:
 * MC_ENOMEM leaves buf as it was. */
#define MC_V2_BLOCK_SAMPLES 4096u
mc_err mc__v2_run(uint8_t *buf, size_t n_samples, unsigned bytes_per_sample,
                  const uint8_t sm[64], const uint8_t k_stream[32],
                  const uint8_t tag[MC_TAG_BYTES], int stages, bool inverse, unsigned threads);
/* Tests: true makes stage_v2.c use its portable kernel, not the AVX2 or
 * AVX-512 one; the second, its AVX2 kernel where AVX-512 would run; the
 * third, make every block's Hénon masks again with the escape rule at
 * each step (the way taken when a lane leaves (-2, 2)); the fourth, when
 * not NULL, the starts of every block's 8 Hénon orbits (8 x, then 8 y)
 * instead of the seeds'. mc__v2_henon_masks: one block's masks for its
 * half pairs, into h of half rounded up to a multiple of 8 words (mask
 * i: lane i mod 8, step i / 8 after the transient). */
extern bool mc__v2_generic_only;
extern bool mc__v2_no_avx512;
/* Tests: the kernels that ran since a test last set it to 0, one bit each,
 * so that the tests comparing the kernels' bytes know they compared two
 * kernels (a hook that stopped working went unseen: the kernels give the
 * same bytes by design). */
#define MC__V2_KERNEL_GENERIC 1u
#define MC__V2_KERNEL_AVX2 2u
#define MC__V2_KERNEL_AVX512 4u
extern _Atomic unsigned mc__v2_kernels_ran;
/* Whether the AVX2 kernel is built and may run here (glibc's CPU features,
 * which its tunables can mask): the kernel choice asks it, and so do the
 * tests. */
bool mc__v2_avx2_usable(void);
extern bool mc__v2_henon_checked;
extern const double *mc__v2_henon_start;
void mc__v2_henon_masks(uint64_t *h, size_t half, const uint8_t sm[64], uint64_t k);

/* stage_perm.c: sample permutation, bytes_per_sample 1 or 2. */
mc_err mc__perm_forward(uint8_t *buf, size_t n_samples, unsigned bytes_per_sample,
                        const uint8_t sm[64], unsigned threads);
mc_err mc__perm_inverse(uint8_t *buf, size_t n_samples, unsigned bytes_per_sample,
                        const uint8_t sm[64], unsigned threads);
/* stage_henon.c: bit scrambling over the sample bytes (len a multiple of
 * bytes_per_sample). */
void mc__henon_forward(uint8_t *buf, size_t len, unsigned bytes_per_sample, const uint8_t sm[64],
                       unsigned threads);
void mc__henon_inverse(uint8_t *buf, size_t len, unsigned bytes_per_sample, const uint8_t sm[64],
                       unsigned threads);
/* stage_xor.c: logistic keystream (an involution) and XChaCha20 layer. */
void mc__logistic_xor(uint8_t *buf, size_t len, const uint8_t sm[64], unsigned threads);
void mc__xchacha_xor(uint8_t *buf, size_t len, uint64_t block_counter,
                     const uint8_t k_stream[32], const uint8_t tag[MC_TAG_BYTES],
                     unsigned threads);

/* cipher.c: the pipeline, in place on img's samples and side data.
 * stages: how many stages to run (for analysis and golden vectors):
 * MC_STAGES_ALL for the format. */
enum {
    MC_STAGES_PERM = 1,
    MC_STAGES_HENON = 2,
    MC_STAGES_LOGISTIC = 3,
    MC_STAGES_ALL = 4
};
typedef struct mc__header {
    uint8_t version;
    mc_format format;
    uint8_t channels, bits;
    uint32_t width, height, frames;
    uint8_t key_id[MC_KEY_ID_BYTES];
    uint8_t nonce[MC_NONCE_BYTES];
    uint8_t tag[MC_TAG_BYTES];
    uint32_t side_len;
} mc__header;
/* Encrypts img in place; fills hdr (nonce given by the caller). The
 * current format version; mc__encrypt_inplace_v writes an older one (v1
 * golden vectors, compatibility tests). */
mc_err mc__encrypt_inplace(const mc_key *key, mc_image *img, const uint8_t nonce[MC_NONCE_BYTES],
                           int stages, mc__header *hdr, unsigned threads);
mc_err mc__encrypt_inplace_v(const mc_key *key, mc_image *img,
                             const uint8_t nonce[MC_NONCE_BYTES], int version, int stages,
                             mc__header *hdr, unsigned threads);
/* After MC_EWRONGKEY: both key ids in mc_ctx_last_detail(). */
void mc__wrong_key_detail(const mc_ctx *ctx, const mc__header *hdr, const mc_key *key);
/* After MC_ETAMPERED (container.c): what another program added to the
 * cipher image in mc_ctx_last_detail(): a chunk PNG readers must refuse,
 * "another program added a chunk PNG readers must refuse (CgBI)", else
 * ancillary ones, "another program has saved it since it was encrypted
 * (it added tEXt)"; "" if none, or if the file is cut short (the front
 * ends say that: MC__CUT_SHORT_HINT) or no cipher image. */
void mc__tampered_detail(const mc_ctx *ctx, const uint8_t *in, size_t in_len);
/* Decrypts in place and verifies the tag; wipes the samples on failure. */
mc_err mc__decrypt_inplace(const mc_key *key, mc_image *img, const mc__header *hdr,
                           unsigned threads);
/* Analysis only (key sensitivity): undoes the stages under a key without
 * checking the key id or the tag. Never used to release plain images. */
mc_err mc__decrypt_unverified(const mc_key *key, mc_image *img, const mc__header *hdr,
                              unsigned threads);

/* container.c */
#define MC_CHUNK_TYPE "mcRY"
#define MC_CHUNK_FIXED_BYTES 88u
/* PNG §5.3: a chunk's data is at most 2^31 - 1 bytes; medcrypt's chunk
 * holds MC_CHUNK_FIXED_BYTES and the side data. */
#define MC__PNG_MAX_CHUNK ((size_t)0x7fffffff)
#define MC_MAC_HEADER_BYTES 56u
void mc__header_pack(uint8_t out[MC_CHUNK_FIXED_BYTES], const mc__header *hdr);
mc_err mc__header_unpack(mc__header *hdr, const uint8_t *chunk, size_t chunk_len);
/* Bytes covered by the tag ahead of the samples (docs/FORMAT.md). */
void mc__header_mac_bytes(uint8_t out[MC_MAC_HEADER_BYTES], const mc__header *hdr);
/* Writes the cipher PNG of an encrypted image. */
mc_err mc__container_write(const mc_ctx *ctx, const mc_image *img, const mc__header *hdr,
                           uint8_t **out, size_t *out_len);
/* The same PNG, streamed to write (see mc_write_fn). */
mc_err mc__container_write_to(const mc_ctx *ctx, const mc_image *img, const mc__header *hdr,
                              mc_write_fn write, void *user);
/* The header of a cipher image from its chunk list alone (every chunk's
 * CRC, IHDR against the header, one mcRY before IDAT, IEND last): nothing
 * inflated, nothing allocated. MC_ENOTCIPHER, MC_ETAMPERED, MC_EVERSION;
 * ctx's detail is then its own (MC_EVERSION's says which version, the
 * others' is empty), and as it was after a success. */
mc_err mc__container_inspect(const mc_ctx *ctx, const uint8_t *in, size_t in_len,
                             mc__header *hdr);
/* Reads a cipher PNG: the encrypted image (format from the header) and
 * the header. */
mc_err mc__container_read(const mc_ctx *ctx, const uint8_t *in, size_t in_len, mc_image **img,
                          mc__header *hdr);

/* codec_png.c. Extra chunk (may be NULL) is written after IHDR.
 * level: zlib level; filter: false = no filtering (for noise). */
typedef struct mc__png_chunk {
    char type[5];
    uint8_t *data; /* malloc'd on read */
    size_t len;
} mc__png_chunk;
mc_err mc__png_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out,
                      mc__png_chunk *want);
/* fast: a cipher image (no filter, stored blocks), else a plain one
 * (Paeth, zlib's Z_RLE), written in bands on the calling thread
 * (codec_png_bands.c) as by mc__png_encode_mt. */
mc_err mc__png_encode(const mc_image *img, const mc__png_chunk *extra, bool fast, uint8_t **out,
                      size_t *out_len);
/* The same, streamed to write; MC_EIO if write fails. */
mc_err mc__png_encode_to(const mc_image *img, const mc__png_chunk *extra, bool fast,
                         mc_write_fn write, void *user);
/* As the two above, on up to `threads` threads (codec_png_bands.c),
 * with the same settings. The bytes do not depend on `threads`; write is
 * only called by the calling thread. */
mc_err mc__png_encode_mt(const mc_image *img, const mc__png_chunk *extra, bool fast,
                         unsigned threads, uint8_t **out, size_t *out_len);
mc_err mc__png_encode_mt_to(const mc_image *img, const mc__png_chunk *extra, bool fast,
                            unsigned threads, mc_write_fn write, void *user);
/* zlib's settings for plain images (why: codec_png.c): level 2 and
 * strategy Z_RLE (3, zlib.h), with the default window and memory level. */
#define MC__PNG_PLAIN_LEVEL 2
#define MC__PNG_PLAIN_STRATEGY 3
/* codec_png_bands.c: every image is written in bands; a cipher image
 * (stored: its noise stored as it is) on several threads from this many
 * sample bytes, under which a band's work is too short for a thread
 * woken for it; mc__png_bands is how many (0 for rows over 16 MiB,
 * written through libspng; row_len is the image's bytes per row),
 * mc__png_encode_bands_to writes them, extra (or NULL) after IHDR. */
#define MC__PNG_STORED_BANDS_MIN ((size_t)16 << 20)
size_t mc__png_bands(const mc_image *img, size_t row_len);
/* The rows of each band but the last, for rows of row_len bytes. */
size_t mc__png_band_rows(size_t row_len);
/* Tests: from 32, a plain band's room for its compressed bytes in place
 * of zlib's bound, so that growing it is exercised (0: the bound). */
extern size_t mc__png_bands_room_test;
mc_err mc__png_encode_bands_to(const mc_image *img, size_t row_len, uint8_t color_type,
                               const mc__png_chunk *extra, bool stored, unsigned threads,
                               mc_write_fn write, void *user);
bool mc__png_sniff(const uint8_t *buf, size_t len);
/* One chunk of a PNG's chunk list (PNG §5.3: length, type, data, CRC):
 * mc__png_chunk_at gives the one at off (off <= len: 8 in a file, 0 in a
 * record of chunks), or false where fewer than 8 bytes are left (not even
 * its length and type). whole: its data and CRC lie within the buffer,
 * and the next chunk starts at off + 12 + len; if not, the list is cut
 * inside this one. mc__png_chunk_crc_ok: a whole chunk's CRC holds (n: its
 * data's length). */
typedef struct mc__png_chunk_view {
    const uint8_t *type; /* then its data */
    uint32_t len;        /* of the data */
    bool whole;
} mc__png_chunk_view;
bool mc__png_chunk_at(const uint8_t *in, size_t len, size_t off, mc__png_chunk_view *c);
bool mc__png_chunk_crc_ok(const uint8_t *chunk, uint32_t n);
/* codec_png_fast.c: the pixels of the plain PNG buf, whose chunks before
 * the first IDAT (at idat_off) libspng has read and checked, decoded into
 * img (8- or 16-bit samples as stored, host order, not interlaced; its
 * samples allocated with img->height bytes of room after them, which are
 * wiped), telling *hasher (if hasher and *hasher are not NULL) how far
 * they are final. stream: inflated piece by piece where ISA-L can be
 * loaded (codec_png_stream.c), and in one call by libdeflate where that
 * does not take the file. False if declined: the samples may have been
 * written, and libspng decodes the file into them anew. Either way a
 * hasher told of rows that were then written anew has been stopped and
 * *hasher is NULL (the caller may start another for libspng's rows).
 * True if taken, with *err MC_OK or MC_ENOMEM. */
bool mc__png_fast_decode(const uint8_t *buf, size_t len, size_t idat_off, mc_image *img,
                         mc__chunk_hasher **hasher, bool stream, mc_err *err);
/* Row y of img's rows inflated in place (row y's filter byte and filtered
 * bytes at y * (row_len + 1), rows above it done) undone into its samples
 * at y * row_len; cur and prev are row_len bytes each, prev row y - 1's
 * unfiltered bytes in PNG's byte order, NULL for the first row. */
void mc__png_undo_row(mc_image *img, size_t y, uint8_t *cur, const uint8_t *prev);
/* How many files mc__png_fast_decode has taken in this process (tests),
 * and how many of those codec_png_stream.c inflated. */
unsigned long mc__png_fast_taken(void);
unsigned long mc__png_stream_taken(void);
/* codec_png_stream.c: mc__png_fast_decode's pixels inflated by ISA-L
 * piece by piece, each row undone as soon as it is whole and *hasher
 * told (if not NULL). The IDAT run from idat_off is checked already
 * (whole chunks, CRCs, a bare IEND after it). rows: 2 * row_len bytes.
 * NOT_TAKEN: ISA-L not loaded, or a doubt: the one call decides (the
 * samples may have been written; a hasher told of rows has been stopped
 * and *hasher is NULL). */
enum mc__stream_result { MC__STREAM_TAKEN, MC__STREAM_ENOMEM, MC__STREAM_NOT_TAKEN };
enum mc__stream_result mc__png_stream_decode(const uint8_t *buf, size_t len, size_t idat_off,
                                             mc_image *img, mc__chunk_hasher **hasher,
                                             uint8_t *rows);
/* png_meta.c: a list "a, b, c" in a caller's buffer, for a note to the
 * user (the metadata a PNG or a JPEG loses): each name once, whole or
 * not at all, and none after the first that does not fit; the list then
 * ends ", ..." (or is "..."), names taken back to make room, if size
 * allows 4 bytes. */
struct mc__names {
    char *list; /* NUL-terminated, "" to start with */
    size_t size, used;
    bool full;
};
void mc__names_add(struct mc__names *n, const char *name);
/* png_meta.c: a plain PNG's ancillary chunks that its decrypted PNG can
 * carry, added to img's side data (records MC_SIDE_PNG_BEFORE, _AFTER;
 * in: the file img was decoded from); and img written as a PNG with them
 * back in place, as mc__png_encode_mt(_to) with a plain image's settings
 * (without such records, exactly that). */
mc_err mc__png_meta_record(mc_image *img, const uint8_t *in, size_t len);
mc_err mc__png_encode_meta(const mc_image *img, unsigned threads, uint8_t **out, size_t *out_len);
mc_err mc__png_encode_meta_to(const mc_image *img, unsigned threads, mc_write_fn write,
                              void *user);
/* PNG §5.2: the 8 bytes every PNG file starts with (codec_png.c). */
extern const uint8_t mc__png_signature[8];
/* PNG §11.2.5: the IEND chunk, whole (it has no data): the last 12 bytes
 * of every PNG medcrypt writes. */
extern const uint8_t mc__png_iend[12];
/* A cipher image refused as MC_ETAMPERED with no end chunk anywhere
 * (every cipher image ends with one; bytes after it are another damage):
 * cut short, as by an interrupted transfer. Looked for only after a
 * refusal, not in every cipher image. The command and the server say so
 * with MC__CUT_SHORT_HINT ("modified or damaged" is right, but a receiver
 * can act on this). */
bool mc__png_cut_short(const uint8_t *buf, size_t len, mc_err err);
#define MC__CUT_SHORT_HINT                                                                   \
    "it has no end chunk (IEND): cut short, as by an interrupted transfer? Fetch it again"

/* codec_bmp.c, codec_jpeg.c, codec_dicom.c (issue 5); JPEG is decode
 * only (decrypted JPEG pixels come back as a lossless PNG). */
bool mc__bmp_sniff(const uint8_t *buf, size_t len);
mc_err mc__bmp_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out);
mc_err mc__bmp_encode(const mc_image *img, uint8_t **out, size_t *out_len);
/* How much of the stack below a frame sodium_stackzero() clears after a
 * library has worked on plain samples there (libspng, zlib): their
 * frames take a few KiB. Unoptimised (-O0, meson's --buildtype=debug)
 * the stages' AVX2 kernel alone takes about 35 KiB of stack: every
 * vector of its inlined helpers gets a slot of its own (henon_pairs'
 * frame 16 KiB, items_avx2's 17 KiB; gdb, forty-seventh session), and a
 * v2 decrypt left 96 bytes of plain samples 1.4 KiB past a 32 KiB clear
 * (test_cipher's test_no_plain_left_on_stack). Such a build clears
 * 64 KiB; an optimised one keeps 32 KiB, as every extra page cleared is
 * one more the process faults in. */
#ifdef __OPTIMIZE__
#define MC__STACK_WIPE (32u * 1024u)
#else
#define MC__STACK_WIPE (64u * 1024u)
#endif
/* MC__STACK_WIPE bytes of the dead frames below the caller's, cleared
 * after a library or a pass has worked on plain samples there (the PNG
 * writers, mc__parallel), and before a call that held keys returns
 * (crypto.c). For keys: the calls under it
 * wipe what they keep, but some of libsodium's leave words of their keys
 * and outputs in their frames (1.0.18: HChaCha20, its ChaCha20; found by
 * programs calling them alone), and so may OpenSSL's assembly. In
 * medcrypt the next calls' frames and mc__parallel's clear had covered
 * them, by the chance of the layout; this makes it the call's own doing
 * (test_cipher's test_key_calls_clear_stack, test_key's
 * test_no_key_left_on_stack). Worker threads clear their own stacks
 * (parallel.c). About a microsecond. */
void mc__stack_wipe(void);

/* jpeg_mem.c: libjpeg's memory manager, wrapped so that every block it
 * hands out is wiped before its pool is freed (libjpeg frees as it is).
 * Call right after jpeg_CreateDecompress; takes cinfo->client_data.
 * false: out of memory, nothing installed. */
struct jpeg_common_struct;
bool mc__jpeg_track(struct jpeg_common_struct *cinfo);
bool mc__jpeg_sniff(const uint8_t *buf, size_t len);
mc_err mc__jpeg_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out);
bool mc__dicom_sniff(const uint8_t *buf, size_t len);
/* "DICM" followed by an element of group 0002: the file is DICOM beyond
 * doubt, and no other codec is tried when it cannot be read. */
bool mc__dicom_declared(const uint8_t *buf, size_t len);
mc_err mc__dicom_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out);
mc_err mc__dicom_encode(const mc_image *img, uint8_t **out, size_t *out_len);
mc_err mc__dicom_encode_to(const mc_image *img, mc_write_fn write, void *user);
/* Decodes buf, which it takes over, with the Pixel Data value moved to
 * its start as the samples: interleaved native files (the common case).
 * MC_EUNSUPPORTED, buf untouched and still the caller's, for anything
 * else, including a file mc__dicom_decode would refuse. */
mc_err mc__dicom_decode_in_place(const mc_ctx *ctx, uint8_t *buf, size_t len, mc_image **out);

/* codec_pnm.c */
mc_err mc__pnm_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out);
/* Decodes a binary PGM/PPM with a full maxval where it lies, taking buf
 * (malloc'd) over as the samples; MC_EUNSUPPORTED with buf untouched for
 * any other file. */
mc_err mc__pnm_decode_in_place(const mc_ctx *ctx, uint8_t *buf, size_t len, mc_image **out);
mc_err mc__pnm_encode(const mc_image *img, uint8_t **out, size_t *out_len);
/* The same, streamed to write (binary PGM/PPM piece by piece; the text
 * forms whole, in one call); MC_EIO if write fails. */
mc_err mc__pnm_encode_to(const mc_image *img, mc_write_fn write, void *user);
bool mc__pnm_sniff(const uint8_t *buf, size_t len);
/* Netpbm's other formats (PBM P1/P4, PAM P7), which medcrypt does not
 * read: true, with the detail set, for MC_EUNSUPPORTED rather than "not
 * an image". */
bool mc__pnm_kin(const mc_ctx *ctx, const uint8_t *buf, size_t len);
/* A PNM image's maxval (its header kept in the side data), for saying
 * that 16-bit samples hold 12 bits (4095); 0 for any other image. */
uint32_t mc__pnm_maxval(const mc_image *img);

#endif /* MC_INTERNAL_H */
