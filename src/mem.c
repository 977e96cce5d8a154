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
 * Only whole aligned 2 MiB ranges can be huge pages, so buffers from a
 * line up are allocated 2 MiB-aligned and rounded up to a multiple of 2
 * MiB (mc__alloc_huge). The price is resident memory (the touched part of
 * such a buffer counts in 2 MiB steps) and the kernel's zeroing of a
 * whole 2 MiB where a small buffer needs a few pages. Where the line is
 * depends on the machine, so it is measured (below):
 *
 * - Where a small page is dear, the line is at 32 KiB. On the virtual
 *   machine of the first fifteen sessions a 4 KiB page cost about 4 us
 *   more at the program's first access to it, even after the kernel had
 *   populated it and copied a file into it, and a huge page did not: a
 *   228 KB file read and checked (CRC-32) took 620-670 us in pre-faulted
 *   small pages against 210-220 us in a huge page, a 73 KB one 250-320
 *   against 180-230 us (a test program); the 512x512 8-bit PNG encrypt
 *   5.38 -> 5.11 ms with a 73 KB input when the line went from 256 to 64
 *   KiB, a batch of 16 512x512 16-bit PNGs with -j 2 36.3 -> 35.2 ms.
 * - Where it is cheap, at 1 MiB. On the Intel host of the seventeenth
 *   session a pre-faulted page costs 0.7-0.9 us and nothing more at its
 *   first access, while the kernel takes about 300 us to zero a huge
 *   page: a 512x512 8-bit PNG encrypt took 3.85 ms with the line at 32
 *   KiB and 3.39 ms at 1 MiB, its decrypt 5.82 against 5.22 ms (201
 *   alternating rounds); the 2048x2048 PGM's the same either way.
 *
 * The measure is the first pre-faulting (below) of at least 32 KiB in
 * the process, of at most its first 64 KiB, with a first write to each
 * page, timed: more than 4 us a page is a dear page (5.5 us on the first
 * machine; on the second 0.8-1.5 us, 1.1-1.6 us with both workers of a
 * batch faulting at once, 3.1 us once in a few dozen runs). The write
 * counts since the AMD host of the fifty-second session (a Firecracker
 * guest, pvm in its kernel's symbols): there the kernel maps a page in
 * 0.8 us, the program's first write to it then takes 4.5 us more, and an
 * unmapped page costs 10 us as a fault (a test program). Timed without
 * the write it was judged cheap (1.5 us), and each 256 KiB buffer of a
 * one-file encrypt cost 64 such writes instead of one 2 MiB huge page
 * (90-220 us there, zeroing included).
 * Until then a buffer under 1 MiB is a small one, and is the one timed
 * (its first 64 KiB), by the thread's CPU time (a preemption is not
 * counted). Where they say dear and the buffer has pages past them, it
 * is given a huge page instead, its small block freed (its mapped pages
 * kept in glibc's heap, or unmapped where glibc had mapped the block on
 * its own): the first such buffer of a decrypt is the 262 KB cipher PNG
 * read in, whose other 48 pages would cost 5 us each on the host above.
 * A buffer of 64 KiB or less, measured whole, stays. One made under
 * strace or perf only puts the line at 32 KiB, where it was for every
 * machine before: the bytes are the same either way.
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
 * The smaller, pre-faulted blocks (from 16 KiB, under the line) are kept
 * the same way, and given only to small requests.
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
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_usable_size */
#endif
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define MC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define MC_ASAN 1
#endif
#endif
#if defined(MC_ASAN) && defined(__GLIBC__)
#include <sanitizer/asan_interface.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define POPULATE_MIN ((size_t)16 << 10)
#define MEASURE_MAX ((size_t)64 << 10) /* the pages the line is measured on */
#define LINE_DEAR MC__HUGE_MIN_DEAR   /* the line where small pages are dear */
#define LINE_CHEAP MC__HUGE_MIN_CHEAP /* and where they are not */
#define DEAR_NS_PER_PAGE 4000
#define PAGE ((size_t)4096) /* the smallest page: a range rounded to it is valid on any */
#define CACHE_SLOTS 16
#define CACHE_BLOCK_MAX ((size_t)8 << 20)
#define CACHE_TOTAL_MAX ((size_t)32 << 20)

/* The line: 0 until measured, then LINE_DEAR or LINE_CHEAP (or what a
 * test set); and what the measurement found, for medcrypt bench. */
static _Atomic size_t line;
static _Atomic uint32_t measured_ns_per_page;
unsigned mc__huge_page_ns_test; /* internal.h */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    size_t size; /* malloc_usable_size(p) */
    bool huge;   /* 2 MiB-aligned and hinted, or a small pre-faulted block */
} cache[CACHE_SLOTS];
static size_t cache_total;

/* The smallest kept block of the kind asked for that holds len bytes, or
 * NULL. */
static void *cache_take(size_t len, bool huge)
{
    void *p = NULL;
    int best = -1;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].p != NULL && cache[i].size >= len && cache[i].huge == huge &&
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

#ifdef MADV_POPULATE_WRITE
/* The thread's CPU time, which counts the kernel's work on its pages but
 * not a preemption in the middle of it: by the wall clock, with two busy
 * loops on the two vCPUs, 9 of 200 processes on a cheap machine judged
 * it dear (a review). */
static uint64_t now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* The whole pages of [p, p + len), faulted in writable. The first such
 * call of at least LINE_DEAR bytes measures the line on its first
 * MEASURE_MAX bytes, timed with a first write to each page, before it
 * maps the rest; true if there is a rest and the line it set is at len or
 * under: the caller then takes a huge page for the buffer instead (its
 * first pages, mapped, go back to the heap). */
static bool populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t start = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(PAGE - 1);

    if (p == NULL || end <= start)
        return false;
    if (end - start >= LINE_DEAR && atomic_load_explicit(&line, memory_order_relaxed) == 0) {
        uintptr_t mid = end - start > MEASURE_MAX ? start + MEASURE_MAX : end;
        uint64_t t0 = now_ns(), ns, per_page;
        size_t expected = 0, set;
        /* A hint: an older kernel refuses it (EINVAL), and where nothing
         * can be measured the line is where it was for every machine
         * before. */
        bool refused = madvise((void *)start, mid - start, MADV_POPULATE_WRITE) != 0;

        /* and the program's first write to each page, which is what
         * costs on some virtual machines even after the kernel mapped it
         * (above); the buffer is fresh, its bytes not yet anyone's */
        for (uintptr_t a = start; a < mid; a += PAGE)
            *(volatile uint8_t *)a = 0;
        ns = now_ns() - t0;
        per_page = mc__huge_page_ns_test != 0 ? mc__huge_page_ns_test : ns / ((mid - start) / PAGE);
        set = refused || per_page > DEAR_NS_PER_PAGE ? LINE_DEAR : LINE_CHEAP;
        if (atomic_compare_exchange_strong(&line, &expected, set)) /* the first measure stands */
            atomic_store(&measured_ns_per_page,
                         refused ? 0 : (uint32_t)(per_page < UINT32_MAX ? per_page : UINT32_MAX));
        /* pages left to map, and a huge page would hold them: better
         * that (a 57 KB PNG read in, all of it measured, stays; one of
         * 158 KB is 0.3 ms faster whole, its encrypt on the host above) */
        if (mid < end && len >= mc__huge_min())
            return true;
        start = mid;
    }
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE); /* a hint, as above */
    return false;
#else
    (void)p;
    (void)len;
    return false;
#endif
}

size_t mc__huge_min(void)
{
    size_t l = atomic_load_explicit(&line, memory_order_relaxed);

#ifdef MADV_POPULATE_WRITE
    return l != 0 ? l : LINE_CHEAP; /* until measured */
#else
    return l != 0 ? l : LINE_DEAR; /* nothing to measure with */
#endif
}

unsigned mc__huge_page_ns(void)
{
    return atomic_load(&measured_ns_per_page);
}

size_t mc__huge_min_set(size_t l)
{
    return atomic_exchange(&line, l);
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

/* A block from the line up: a kept one, or a new one 2 MiB-aligned and
 * hinted. */
static void *huge_block(size_t len)
{
    size_t cap;
    void *p;

    if (len > SIZE_MAX - HUGE_PAGE)
        return NULL;
    cap = (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (cap <= CACHE_BLOCK_MAX && (p = cache_take(len, true)) != NULL)
        return p; /* aligned and hinted when it was first allocated */
    if ((p = aligned_alloc(HUGE_PAGE, cap)) != NULL)
        hint_huge(p, cap);
    return p;
}

void *mc__alloc_huge(size_t len)
{
    void *p, *q;

    /* Until the line is measured, mc__huge_min() is LINE_CHEAP: the
     * buffer under it is a small one and populate() measures. */
    if (len >= mc__huge_min())
        return huge_block(len);
    /* A kept small block: its pages are in use already. */
    if (len >= POPULATE_MIN && (p = cache_take(len, false)) != NULL)
        return p;
    /* aligned_alloc: the size a multiple of the alignment */
    p = aligned_alloc(64, len == 0 ? 64 : (len + 63) & ~(size_t)63);
    if (len < POPULATE_MIN || !populate(p, len))
        return p;
    /* Measured dear, with pages left: a huge page instead, the small
     * block's first pages back to the heap; where none can be had, the
     * small block, its rest mapped now (the line is set). */
    if ((q = huge_block(len)) == NULL) {
        (void)populate(p, len);
        return p;
    }
    free(p);
    return q;
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
        n += cache[i].p != NULL && cache[i].huge != small;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void mc__huge_poison_after(void *p, size_t used)
{
#if defined(MC_ASAN) && defined(__GLIBC__)
    size_t size = p != NULL ? malloc_usable_size(p) : 0; /* ASan's: the size asked for */

    if (used < size)
        ASAN_POISON_MEMORY_REGION((uint8_t *)p + used, size - used);
#else
    (void)p;
    (void)used;
#endif
}

void mc__free_huge(void *p)
{
#ifdef __GLIBC__
    size_t size;
    bool huge, small;

    if (p == NULL)
        return;
#ifdef MC_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, malloc_usable_size(p)); /* mc__huge_poison_after */
#endif
    /* Only blocks as mc__alloc_huge makes them (2 MiB-aligned, at least
     * 2 MiB, from the line; 64-byte aligned from 16 KiB below it): the
     * usable size is what the block really holds, whatever length its
     * owner last knew it by (an adopted file buffer holds a shorter
     * image). A small block is told from a huge one by its size, as the
     * line may have moved since it was made. */
    size = malloc_usable_size(p);
    /* A block of cap bytes holds a little more (malloc's rounding): an
     * 8 MiB one, a 2048x2048 16-bit image's, is kept too (it was not). */
    huge = ((uintptr_t)p & (HUGE_PAGE - 1)) == 0 && size >= HUGE_PAGE &&
           size < CACHE_BLOCK_MAX + HUGE_PAGE;
    small = !huge && ((uintptr_t)p & 63) == 0 && size >= POPULATE_MIN &&
            size < LINE_CHEAP + 2 * PAGE;
    if (huge || small) {
        int smalls = 0;
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++)
            smalls += cache[i].p != NULL && !cache[i].huge;
        /* Small blocks take at most half the slots: a server's growing
         * upload buffers must not crowd out the image-sized ones. */
        for (int i = 0; i < CACHE_SLOTS && cache_total + size <= CACHE_TOTAL_MAX &&
                        (huge || smalls < CACHE_SLOTS / 2);
             i++)
            if (cache[i].p == NULL) {
                cache[i].p = p;
                cache[i].size = size;
                cache[i].huge = huge;
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
