/*
 * Stages whose blocks are independent (Philox-seeded orbits, XChaCha20's
 * block counter, the keyed hash's chunks) run on several threads. Each
 * index of [0, n) is handled exactly once, by the same code as in a
 * serial run, so the result is the same bytes whatever the thread count
 * and whichever thread takes which range (tests/test_cipher.c checks it).
 *
 * The ranges are handed out as the threads ask for them, a few per
 * thread, not split in equal halves up front: a thread just created may
 * start milliseconds late (on the 2-vCPU virtual machine of docs/
 * PERFORMANCE.md, waking the idle vCPU took 0.1-3.3 ms, against 3-9 ms
 * of work for a 2048x2048 image's keyed hash or stages), and two threads
 * do not always run at the same speed. With equal halves the caller then
 * waited for the late one's whole half; now it takes more ranges itself.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

/* Ranges per thread: enough for the early threads to take over a late
 * one's share, few enough that handing them out costs nothing (one
 * atomic add per range of at least `grain` items). */
#define RANGES_PER_THREAD 8

struct pool {
    mc__range_fn fn;
    void *arg;
    size_t n, range, ranges; /* items, items per range, ranges */
    atomic_size_t next;      /* the next range to hand out */
};

struct worker {
    struct pool *pool;
    unsigned index;
};

static void *work(void *p)
{
    struct worker *w = p;
    struct pool *pool = w->pool;
    size_t i;

    while ((i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed)) < pool->ranges) {
        size_t begin = i * pool->range;
        size_t end = pool->n - begin < pool->range ? pool->n : begin + pool->range;
        pool->fn(pool->arg, begin, end, w->index);
    }
    return NULL;
}

void mc__parallel(unsigned threads, size_t n, size_t grain, mc__range_fn fn, void *arg)
{
    struct worker w[MC_MAX_THREADS];
    pthread_t tid[MC_MAX_THREADS];
    bool started[MC_MAX_THREADS] = {false};
    struct pool pool = {.fn = fn, .arg = arg, .n = n};
    size_t per;

    if (grain == 0)
        grain = 1;
    if (threads > MC_MAX_THREADS)
        threads = MC_MAX_THREADS;
    /* Not worth a thread below two grains each. */
    if (threads > n / (2 * grain))
        threads = (unsigned)(n / (2 * grain));
    if (threads <= 1) {
        if (n > 0)
            fn(arg, 0, n, 0);
        return;
    }
    /* Ranges of whole grains (the range functions rely on it), about
     * RANGES_PER_THREAD per thread. */
    per = n / ((size_t)threads * RANGES_PER_THREAD);
    pool.range = (per + grain - 1) / grain * grain;
    if (pool.range < grain)
        pool.range = grain;
    pool.ranges = (n + pool.range - 1) / pool.range;
    atomic_init(&pool.next, 0);
    for (unsigned t = 0; t < threads; t++)
        w[t] = (struct worker){.pool = &pool, .index = t};
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, work, &w[t]) == 0;
    work(&w[0]); /* the caller takes ranges too, and any a failed thread would have */
    for (unsigned t = 1; t < threads; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
}

/* The cores this process may run on: its CPU affinity, which taskset(1)
 * or a container's cpuset narrow, as nproc(1) counts them. The machine's
 * online cores (sysconf) would put several threads on one core there.
 * sysconf's count where the affinity cannot be read (a mask over 1024
 * CPUs does not fit cpu_set_t). */
unsigned mc__cores(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
