/* Memory for image-sized data: huge-page hints, and a growing buffer
 * that wipes what it leaves behind.
 *
 * Huge pages.
 * A fresh 8 MiB buffer is 2048 pages of 4 KiB, and each first touch is a
 * page fault: on the virtual machines this was measured on (docs/
 * PERFORMANCE.md, "Whole process"), the faults of the three image-sized
 * buffers of one `medcrypt encrypt` cost more than the keyed hash. Asking
 * for transparent huge pages (madvise(2), MADV_HUGEPAGE; honoured when
 * /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise",
 * ignored otherwise) turns every aligned 2 MiB of the buffer into one
 * fault. The buffer itself stays an ordinary malloc() block.
 *
 * Only whole aligned 2 MiB ranges can be huge pages, so buffers from 32
 * KiB up are allocated 2 MiB-aligned and rounded up to a multiple of 2
 * MiB (mc__alloc_huge): a 512 KiB buffer that would take 128 faults of
 * about 12 us each there takes one. The price is resident memory: the
 * touched part of such a buffer counts in 2 MiB steps, and the kernel
 * zeroes a whole 2 MiB (about 0.1 ms) where a small buffer would need a
 * few pages. Up to the eighth session the line was at 256 KiB (64 pages,
 * under a microsecond each on bare metal). It is lower because on the
 * virtual machine a 4 KiB page costs about 4 us more at the program's
 * first access to it, even after the kernel has populated it and copied
 * a file into it, and a huge page does not: a 228 KB file read and
 * checked (CRC-32) took 620-670 us in pre-faulted small pages against
 * 210-220 us in a huge page, a 73 KB one 250-320 against 180-230 us (a
 * test program). Measured on the whole command: a 512x512 8-bit PNG
 * encrypt 5.38 -> 5.11 ms (a 73 KB input) and 5.59 -> 5.20 ms (48 KB),
 * a batch of 16 512x512 16-bit PNGs (228 KB each) with -j 2 36.3 -> 35.2
 * ms. A file read in is freed once decoded, and its huge page then
 * serves the output staging, which needs one anyway. On bare metal the
 * 32-256 KiB buffers would pay a few tens of microseconds instead.
 *
 * Smaller buffers, from 16 KiB, are pre-faulted instead: one
 * madvise(MADV_POPULATE_WRITE) (Linux 5.14) maps all their pages in one
 * system call, with no trap per page. On the virtual machine of
 * docs/PERFORMANCE.md a page costs 5.5 us that way against 14.7 us as a
 * fault; the 74 KB input of a 512x512 PNG encrypt takes 18 such pages.
 * Only worth it for a buffer that is filled at once, which is what
 * mc__alloc_huge is for; an older kernel refuses the advice (EINVAL) and
 * the pages fault as before.
 *
 * A batch of small images.
 * Each 512x512 image takes three such blocks (its samples, the stages'
 * group copy, the output staging), each its own 2 MiB mapping: mapped,
 * faulted as a huge page (about 150 us here) and unmapped again for every
 * file. mc__free_huge keeps a few freed blocks of up to 8 MiB (32 MiB in
 * all) for the next mc__alloc_huge instead; their owners wiped them
 * before letting go (what they wrote, which is all that was ever in
 * them). Leaving the freed blocks to glibc's heap instead (a higher mmap
 * threshold) was tried: it reused them badly, and a batch of 16 files
 * peaked at 43 MiB instead of 11.
 *
 * The smaller, pre-faulted blocks (16 KiB up to 32 KiB) are kept the
 * same way, and given only to small requests.
 * On the virtual machine the first write to a page the process has not
 * used before is what costs, pre-faulted or not: reading a 228 KB file
 * into such a buffer (when the line above was at 256 KiB) took 300-380
 * us against 10 us into one used before
 * (a test program, 2026-12-02), and in a batch glibc's heap gave each of
 * a thread's first five files a fresh one. Only 64-byte aligned blocks,
 * as this file hands out. */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_usable_size */
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN MC__HUGE_MIN /* internal.h */
#define POPULATE_MIN ((size_t)16 << 10)
#define PAGE ((size_t)4096) /* the smallest page: a range rounded to it is valid on any */
#define CACHE_SLOTS 16
#define CACHE_BLOCK_MAX ((size_t)8 << 20)
#define CACHE_TOTAL_MAX ((size_t)32 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    size_t size; /* malloc_usable_size(p) */
} cache[CACHE_SLOTS];
static size_t cache_total;

/* The smallest kept block that holds len bytes and is smaller than
 * below, or NULL. */
static void *cache_take(size_t len, size_t below)
{
    void *p = NULL;
    int best = -1;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].p != NULL && cache[i].size >= len && cache[i].size < below &&
            (best < 0 || cache[i].size < cache[best].size))
            best = i;
    if (best >= 0) {
        p = cache[best].p;
        cache_total -= cache[best].size;
        cache[best].p = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    return p;
}

/* The whole pages of [p, p + len), faulted in writable in one call. */
static void populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t start = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(PAGE - 1);

    if (p != NULL && end > start)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE); /* a hint */
#else
    (void)p;
    (void)len;
#endif
}

static void hint_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(HUGE_PAGE - 1);

    if (p != NULL && end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE); /* a hint: errors ignored */
#else
    (void)p;
    (void)len;
#endif
}

void *mc__alloc_huge(size_t len)
{
    size_t cap;
    void *p;

    if (len < HUGE_MIN) {
        /* A kept small block: its pages are in use already. */
        if (len >= POPULATE_MIN && (p = cache_take(len, HUGE_MIN)) != NULL)
            return p;
        /* aligned_alloc: the size a multiple of the alignment */
        p = aligned_alloc(64, len == 0 ? 64 : (len + 63) & ~(size_t)63);
        if (len >= POPULATE_MIN)
            populate(p, len);
        return p;
    }
    if (len > SIZE_MAX - HUGE_PAGE)
        return NULL;
    cap = (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (cap <= CACHE_BLOCK_MAX && (p = cache_take(len, SIZE_MAX)) != NULL)
        return p; /* aligned and hinted when it was first allocated */
    if ((p = aligned_alloc(HUGE_PAGE, cap)) != NULL)
        hint_huge(p, cap);
    return p;
}

void mc__huge_cache_drop(void)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache[i].p);
        cache[i].p = NULL;
    }
    cache_total = 0;
    pthread_mutex_unlock(&cache_lock);
}

int mc__huge_cache_count(bool small)
{
    int n = 0;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        n += cache[i].p != NULL && (cache[i].size < HUGE_MIN) == small;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void mc__free_huge(void *p)
{
#ifdef __GLIBC__
    size_t size;
    bool huge, small;

    if (p == NULL)
        return;
    /* Only blocks as mc__alloc_huge makes them (2 MiB-aligned from 256
     * KiB; 64-byte aligned from 16 KiB below that): the usable size is
     * what the block really holds, whatever length its owner last knew it
     * by (an adopted file buffer holds a shorter image). */
    size = malloc_usable_size(p);
    huge = ((uintptr_t)p & (HUGE_PAGE - 1)) == 0 && size >= HUGE_MIN && size <= CACHE_BLOCK_MAX;
    small = ((uintptr_t)p & 63) == 0 && size >= POPULATE_MIN && size < HUGE_MIN;
    if (huge || small) {
        int smalls = 0;
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++)
            smalls += cache[i].p != NULL && cache[i].size < HUGE_MIN;
        /* Small blocks take at most half the slots: a server's growing
         * upload buffers must not crowd out the image-sized ones. */
        for (int i = 0; i < CACHE_SLOTS && cache_total + size <= CACHE_TOTAL_MAX &&
                        (huge || smalls < CACHE_SLOTS / 2);
             i++)
            if (cache[i].p == NULL) {
                cache[i].p = p;
                cache[i].size = size;
                cache_total += size;
                p = NULL;
                break;
            }
        pthread_mutex_unlock(&cache_lock);
    }
#endif
    free(p);
}

/* Not realloc: the old block may hold plain image data, and it is wiped
 * before it goes back. Doubles from 256 bytes until `more` fits. */
bool mc__buf_reserve(mc__buf *b, size_t more)
{
    uint8_t *q;
    size_t cap;

    if (b->cap - b->len >= more)
        return true;
    cap = b->cap < 256 ? 256 : b->cap;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->nomem = true;
            return false;
        }
        cap *= 2;
    }
    if ((q = mc__alloc_huge(cap)) == NULL) {
        b->nomem = true;
        return false;
    }
    if (b->len > 0)
        memcpy(q, b->p, b->len);
    if (b->p != NULL)
        sodium_memzero(b->p, b->cap);
    mc__free_huge(b->p);
    b->p = q;
    b->cap = cap;
    return true;
}

int mc__buf_write(void *user, const uint8_t *data, size_t len)
{
    mc__buf *b = user;

    if (!mc__buf_reserve(b, len))
        return -1;
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

void mc__buf_wipe(mc__buf *b)
{
    if (b->p != NULL)
        sodium_memzero(b->p, b->cap);
    mc__free_huge(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
