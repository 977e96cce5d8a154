/*
 * Stages whose blocks are independent (Philox-seeded orbits, XChaCha20's
 * block counter) run on several threads. Each index of [0, n) is handled
 * exactly once, by the same code as in a serial run, so the result is the
 * same bytes whatever the thread count (tests/test_cipher.c checks it).
 */
#include "internal.h"

#include <pthread.h>

struct range {
    mc__range_fn fn;
    void *arg;
    size_t begin, end;
};

static void *run_range(void *p)
{
    struct range *r = p;
    r->fn(r->arg, r->begin, r->end);
    return NULL;
}

void mc__parallel(unsigned threads, size_t n, size_t grain, mc__range_fn fn, void *arg)
{
    struct range r[MC_MAX_THREADS];
    pthread_t tid[MC_MAX_THREADS];
    bool started[MC_MAX_THREADS] = {false};
    size_t chunk;

    if (grain == 0)
        grain = 1;
    if (threads > MC_MAX_THREADS)
        threads = MC_MAX_THREADS;
    /* Not worth a thread below two grains each. */
    if (threads > n / (2 * grain))
        threads = (unsigned)(n / (2 * grain));
    if (threads <= 1) {
        fn(arg, 0, n);
        return;
    }
    chunk = (n / threads + grain - 1) / grain * grain;
    for (unsigned t = 0; t < threads; t++) {
        r[t].fn = fn;
        r[t].arg = arg;
        r[t].begin = t * chunk < n ? t * chunk : n;
        r[t].end = (t + 1) * chunk < n && t + 1 < threads ? (t + 1) * chunk : n;
    }
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, run_range, &r[t]) == 0;
    run_range(&r[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            run_range(&r[t]); /* no thread: same work, here */
    }
}
