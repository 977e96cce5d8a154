/*
 * Stages whose blocks are independent (Philox-seeded orbits, XChaCha20's
 * block counter, the keyed hash's chunks) run on several threads. Each
 * index of [0, n) is handled exactly once, by the same code as in a
 * serial run, so the result is the same bytes whatever the thread count
 * and whichever thread takes which range (tests/test_cipher.c checks it).
 *
 * The ranges are handed out as the threads ask for them, a few per
 * thread, not split in equal halves up front: two threads do not always
 * run at the same speed (a virtual machine's vCPUs, a core shared with
 * another program), and with equal halves the caller waited for the slow
 * one's whole half; now it takes more ranges itself.
 *
 * Threads are started with mc__thread_create, which puts each on a core
 * of its own (below): left to itself, Linux put a process's new thread on
 * the creating thread's busy core, where it waited 0.1-4 ms for the next
 * scheduler tick to move it.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* A new thread of a process that has just started, or has slept, is put
 * by Linux on the core of the thread that creates it when all cores look
 * alike to the scheduler: the creator's recent load is low, so its busy
 * core counts as idle as the others. There the new thread waits until
 * the creator is preempted or the next tick's load balancing moves it:
 * 0.1-4 ms (a 250 Hz tick). On the 2-vCPU virtual machine of docs/
 * PERFORMANCE.md it happened to the second worker of most 16-file
 * batches that followed a one-worker batch (started 1.4-1.9 ms after the
 * first, medians of 30, up to 4 ms), and every time to a test program
 * that sleeps 55 ms and creates a thread (0.7-3.2 ms, against 0.1 ms
 * when told the other vCPU).
 *
 * So a thread is created with an affinity of one core, the nth of the
 * creator's cores counted from the one it runs on (nth 1: the next), and
 * once running it takes back all the creator's cores, so that it is not
 * pinned: the scheduler may still move it later. (Should that core be
 * busy with another program, the thread waits there for its turn, as it
 * would have on its creator's.) Where the cores cannot be read or there
 * is one, it is a plain pthread_create. */
struct start {
    void *(*fn)(void *);
    void *arg;
    cpu_set_t cores; /* the creator's */
};

static void *run_placed(void *p)
{
    struct start st = *(struct start *)p;

    free(p);
    (void)sched_setaffinity(0, sizeof st.cores, &st.cores); /* else it stays where it is */
    return st.fn(st.arg);
}

/* The nth of `cores` after the calling thread's, cyclically; -1 where it
 * would be the caller's own or the caller's is unknown. */
static int nth_core(const cpu_set_t *cores, unsigned nth)
{
    int here = sched_getcpu(), count = CPU_COUNT(cores), c = here;

    if (here < 0 || here >= CPU_SETSIZE || count < 2 || nth % (unsigned)count == 0)
        return -1;
    for (unsigned k = nth % (unsigned)count; k > 0;) {
        c = (c + 1) % CPU_SETSIZE;
        k -= CPU_ISSET(c, cores) != 0;
    }
    return c;
}

int mc__thread_create(pthread_t *thread, unsigned nth, void *(*fn)(void *), void *arg)
{
    struct start *st = malloc(sizeof *st);
    pthread_attr_t attr;
    cpu_set_t one;
    int core, err;

    if (st == NULL || sched_getaffinity(0, sizeof st->cores, &st->cores) != 0 ||
        (core = nth_core(&st->cores, nth)) < 0 || pthread_attr_init(&attr) != 0) {
        free(st);
        return pthread_create(thread, NULL, fn, arg);
    }
    st->fn = fn;
    st->arg = arg;
    CPU_ZERO(&one);
    CPU_SET(core, &one);
    err = pthread_attr_setaffinity_np(&attr, sizeof one, &one);
    if (err == 0)
        err = pthread_create(thread, &attr, run_placed, st);
    pthread_attr_destroy(&attr);
    if (err != 0) { /* the core refused (a cpuset changed meanwhile): as without */
        free(st);
        err = pthread_create(thread, NULL, fn, arg);
    }
    return err;
}

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

/* The range functions' frames, below the caller's, held what they worked
 * on: plain samples, which the stage kernels spill to the stack (the v2
 * transposes, 16 vectors of 16 bytes; a review found 256 bytes of a
 * decrypted image there at exit, and in the server's idle workers; the
 * v1 stages under other compilers, tests/test_cipher.c). Cleared once per
 * thread and pass, in every thread that ran ranges (mc__stack_wipe):
 * glibc keeps a finished thread's stack for the next thread, unwiped. */

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
    mc__stack_wipe();
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
        if (n > 0) {
            fn(arg, 0, n, 0);
            mc__stack_wipe();
        }
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
        started[t] = mc__thread_create(&tid[t], t, work, &w[t]) == 0;
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
