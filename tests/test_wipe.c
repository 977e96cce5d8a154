/* No block freed while a plain image is written to or read from a PNG
 * holds any of its bytes: every free() of the program's own code (the
 * library is linked in statically) goes through __wrap_free here
 * (-Wl,--wrap=free, tests/meson.build), which, while armed, looks in the
 * block for any 8-byte window of the image's samples, of its rows in
 * PNG byte order, or of its rows Paeth-filtered, before freeing it.
 *
 * The band writer (codec_png_bands.c) writes every plain PNG since the
 * fifty-first session, the decrypted ones included: its buffers of
 * filtered rows, its row swaps and zlib's state hold plain bytes and are
 * wiped before they are freed. A helper's review of that change found
 * that no test noticed a buffer freed unwiped (its `filtered_used` set to
 * 0 survived every test); this one does. The decoder's row buffers and
 * the room after the samples (codec_png_fast.c) and libspng's (its
 * allocator wipes, codec_png.c) likewise.
 *
 * The windows are taken at every eighth byte of each source, and each
 * freed block is searched at every byte: any run of 15 bytes or more of
 * a source left in a block holds one of them. Blocks freed by the shared
 * libraries themselves (zlib, libspng, libc) are not seen: what they
 * allocate is freed through the library's wiping allocators, which are
 * seen. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "png_chunk.h"

#include "internal.h"
#include "medcrypt.h"

void __real_free(void *p);
void __wrap_free(void *p);

static uint64_t *set; /* open addressing; 0 is empty (zero windows skipped) */
static size_t set_cap;
static atomic_bool armed;
static atomic_size_t dirty_blocks, dirty_windows;

static size_t slot(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)v & (set_cap - 1);
}

static void add(uint64_t v)
{
    size_t i = slot(v);

    while (set[i] != 0 && set[i] != v)
        i = (i + 1) & (set_cap - 1);
    set[i] = v;
}

static bool has(uint64_t v)
{
    for (size_t i = slot(v); set[i] != 0; i = (i + 1) & (set_cap - 1))
        if (set[i] == v)
            return true;
    return false;
}

void __wrap_free(void *p)
{
    if (p != NULL && atomic_load(&armed)) {
        size_t n = malloc_usable_size(p), hits = 0;
        const uint8_t *b = p;
        for (size_t i = 0; i + 8 <= n; i++) {
            uint64_t v;
            memcpy(&v, b + i, 8);
            hits += v != 0 && has(v);
        }
        if (hits > 0) {
            atomic_fetch_add(&dirty_blocks, 1);
            atomic_fetch_add(&dirty_windows, hits);
            fprintf(stderr, "# a %zu-byte block freed with %zu windows of the image\n", n, hits);
        }
    }
    __real_free(p);
}

static void add_windows(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        if (v != 0)
            add(v);
    }
}

/* A noise image (nothing in it repeats, no window is zero by design) and
 * the windows of its three forms. */
static mc_image *noise_image(mc_ctx *ctx, uint32_t w, uint32_t h, uint8_t c, uint8_t bits)
{
    mc_image *img = NULL;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)w << 32 | h);
    size_t n, row, bpp = (size_t)c * (bits / 8);
    uint8_t *be, *f;

    assert_int_equal(mc_image_new(ctx, w, h, c, bits, &img), MC_OK);
    n = img->samples_len;
    row = n / h;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        img->samples[i] = (uint8_t)(x >> 56);
    }
    be = malloc(n);
    f = malloc(n + h); /* a filter byte before each row */
    assert_non_null(be);
    assert_non_null(f);
    memcpy(be, img->samples, n);
    if (bits == 16)
        mc__swap16(be, img->samples, n);
    paeth_rows(f, be, NULL, h, row, bpp);
    set_cap = 1;
    while (set_cap < 8 * (3 * (n + h) / 8 + 1))
        set_cap <<= 1;
    __real_free(set);
    set = calloc(set_cap, sizeof *set);
    assert_non_null(set);
    add_windows(img->samples, n);
    add_windows(be, n);
    add_windows(f, n + h);
    sodium_memzero(be, n); /* the test's own copies: not what it looks for */
    sodium_memzero(f, n + h);
    free(be);
    free(f);
    return img;
}

/* The streamed PNG, gathered in the library's own growing buffer, which
 * wipes a block it outgrows (its blocks are searched like the rest), not
 * in tests/mem_sink.h's sink: realloc() would free that block unwiped and
 * unseen (a noise image's PNG holds its filtered rows, as zlib stores
 * them), and the heap hands that memory out again, to blocks whose
 * slack, never written, a search then reads. A write past fail_after
 * bytes fails (0: none), hold_ms after it was called. */
struct sink {
    mc__buf b;
    size_t fail_after;
    unsigned hold_ms;
};

static int sink_write(void *user, const uint8_t *data, size_t len)
{
    struct sink *k = user;

    if (k->fail_after > 0 && len > k->fail_after - k->b.len) {
        struct timespec t = {(time_t)(k->hold_ms / 1000), (long)(k->hold_ms % 1000) * 1000000L};
        while (nanosleep(&t, &t) != 0 && errno == EINTR)
            ;
        return -1;
    }
    return mc__buf_write(&k->b, data, len);
}

static void arm(void)
{
    mc__huge_cache_drop();
    atomic_store(&dirty_blocks, 0);
    atomic_store(&dirty_windows, 0);
    atomic_store(&armed, true);
}

static size_t disarm(void)
{
    /* The blocks kept for the next image (src/mem.c: mc__buf's outgrown
     * blocks, a cipher image's chunk buffers) are freed here, while
     * armed: their owners wiped them before keeping them. */
    mc__huge_cache_drop();
    atomic_store(&armed, false);
    return atomic_load(&dirty_blocks);
}

static const struct {
    uint32_t w, h;
    uint8_t c, bits;
} images[] = {
    {700, 300, 1, 8},    /* slices of 46 rows, one band */
    {600, 500, 3, 16},   /* rows swapped, seven bands */
    {1024, 1024, 1, 16}, /* eight bands: two threads */
    {40000, 3, 2, 16},   /* rows longer than a slice */
};

/* The band writer, into one buffer and streamed, on 1 and 2 threads. */
static void test_png_write_wipes(void **state)
{
    mc_ctx *ctx = NULL;

    (void)state;
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    for (size_t d = 0; d < sizeof images / sizeof images[0]; d++) {
        mc_image *img = noise_image(ctx, images[d].w, images[d].h, images[d].c, images[d].bits);
        size_t row = img->samples_len / img->height;
        for (unsigned threads = 1; threads <= 2; threads++) {
            uint8_t *png = NULL;
            size_t png_len;
            struct sink k = {{NULL, 0, 0, false}, 0, 0}, cut = k, grown = k, held = k;

            assert_true(mc__png_bands(img, row) >= 1);
            arm();
            assert_int_equal(mc__png_encode_mt(img, NULL, false, threads, &png, &png_len), MC_OK);
            assert_int_equal(mc__png_encode_mt_to(img, NULL, false, threads, sink_write, &k),
                             MC_OK);
            assert_int_equal(disarm(), 0);
            assert_int_equal(k.b.len, png_len);
            /* A write that fails half-way: the bands made by then, and
             * the buffers of those under way, are wiped on the way out. */
            cut.fail_after = png_len / 2;
            arm();
            assert_int_equal(mc__png_encode_mt_to(img, NULL, false, threads, sink_write, &cut),
                             MC_EIO);
            assert_int_equal(disarm(), 0);
            /* The first band's write fails, 200 ms after it began: by
             * then the other thread has made the bands after it that it
             * may run ahead (codec_png_bands.c, `ahead`), and those, made
             * and never written, are wiped on the way out with the rest
             * (the end's loop over the bands; without its wipe this
             * fails). Where the run is slower than that, fewer bands are
             * ahead, and none is left unwiped either way. */
            if (threads > 1 && mc__png_bands(img, row) >= 8) {
                held.fail_after = 64; /* past the signature and IHDR */
                held.hold_ms = 200;
                arm();
                assert_int_equal(
                    mc__png_encode_mt_to(img, NULL, false, threads, sink_write, &held), MC_EIO);
                assert_int_equal(disarm(), 0);
                assert_int_equal(held.b.len, 33);
            }
            /* zlib's room forced small: each block it outgrows is wiped
             * (deflate_some), and the result is the same file */
            mc__png_bands_room_test = 32;
            arm();
            assert_int_equal(
                mc__png_encode_mt_to(img, NULL, false, threads, sink_write, &grown), MC_OK);
            mc__png_bands_room_test = 0;
            assert_int_equal(disarm(), 0);
            assert_int_equal(grown.b.len, png_len);
            assert_memory_equal(grown.b.p, png, png_len);
            /* the test's own copies, wiped as noise_image's (above) */
            sodium_memzero(png, png_len);
            free(png);
            mc__buf_wipe(&k.b);
            mc__buf_wipe(&cut.b);
            mc__buf_wipe(&held.b);
            mc__buf_wipe(&grown.b);
        }
        mc_image_free(img);
    }
    mc_ctx_free(ctx);
}

/* A plain PNG read back, by codec_png_fast.c and by libspng alone, and
 * the image freed (mc_image_free wipes its samples). */
static void test_png_read_wipes(void **state)
{
    mc_ctx *ctx = NULL;

    (void)state;
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    for (size_t d = 0; d < sizeof images / sizeof images[0]; d++) {
        mc_image *img = noise_image(ctx, images[d].w, images[d].h, images[d].c, images[d].bits);
        uint8_t *png = NULL;
        size_t png_len;

        assert_int_equal(mc__png_encode_mt(img, NULL, false, 1, &png, &png_len), MC_OK);
        for (int no_fast = 0; no_fast <= 1; no_fast++) {
            mc_image *back = NULL;
            size_t taken = mc__png_fast_taken();

            ctx->png_no_fast = no_fast;
            arm();
            assert_int_equal(mc__png_decode(ctx, png, png_len, &back, NULL), MC_OK);
            assert_int_equal(back->samples_len, img->samples_len);
            assert_memory_equal(back->samples, img->samples, img->samples_len);
            mc_image_free(back);
            assert_int_equal(disarm(), 0);
            assert_int_equal(mc__png_fast_taken() - taken, no_fast ? 0 : 1);
        }
        ctx->png_no_fast = false;
        sodium_memzero(png, png_len);
        free(png);
        mc_image_free(img);
    }
    mc_ctx_free(ctx);
}

/* The check itself: a block freed with a run of the image in it is seen. */
static void test_dirty_block_seen(void **state)
{
    mc_ctx *ctx = NULL;
    mc_image *img;
    uint8_t *copy;

    (void)state;
    assert_int_equal(mc_ctx_new(&ctx), MC_OK);
    img = noise_image(ctx, 64, 64, 1, 8);
    copy = malloc(100);
    assert_non_null(copy);
    memcpy(copy, img->samples + 1001, 15); /* 15 bytes at an odd offset */
    memset(copy + 15, 0, 85);
    arm();
    free(copy);
    assert_int_equal(disarm(), 1);
    assert_true(atomic_load(&dirty_windows) >= 1);
    mc_image_free(img);
    mc_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirty_block_seen),
        cmocka_unit_test(test_png_write_wipes),
        cmocka_unit_test(test_png_read_wipes),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);

    __real_free(set);
    return r;
}
