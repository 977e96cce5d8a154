/* Many inputs on all cores: a small worker pool with a progress line. */
#include "cli.h"
#include "internal.h" /* mc__thread_create */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

struct pool {
    char **inputs;
    int n;
    bool (*fn)(void *arg, const char *input);
    void *arg;
    atomic_int next, done, failures;
    bool progress;
};

static void *worker(void *p)
{
    struct pool *pool = p;
    int i;

    while ((i = atomic_fetch_add(&pool->next, 1)) < pool->n) {
        bool ok = pool->fn(pool->arg, pool->inputs[i]);
        int done = atomic_fetch_add(&pool->done, 1) + 1;
        if (!ok)
            atomic_fetch_add(&pool->failures, 1);
        if (pool->progress)
            cli_progress(done, pool->n);
    }
    return NULL;
}

int cli_batch(int jobs, char **inputs, int n, bool (*fn)(void *arg, const char *input),
              void *arg)
{
    pthread_t tid[CLI_MAX_JOBS];
    struct pool pool = {.inputs = inputs, .n = n, .fn = fn, .arg = arg};
    int started = 0, failures;
    bool committing;

    atomic_init(&pool.next, 0);
    atomic_init(&pool.done, 0);
    atomic_init(&pool.failures, 0);
    /* A progress line only where a person watches, and only for batches. */
    pool.progress = n > 1 && isatty(STDERR_FILENO);
    /* A batch's workers leave the waits for the disk to one thread
     * (cli_committer_start): a file's commit overlaps the next file.
     * Started before the workers, while the other cores are still idle:
     * created after them, on a machine whose cores they already fill, a
     * 16-file -j 2 batch took 39.7 instead of 36.1 ms (docs/
     * PERFORMANCE.md, twelfth session). */
    committing = n > 1 && cli_committer_start();
    if (n > 1)
        cli_batch_watch(n);
    if (jobs > n)
        jobs = n;
    if (jobs > CLI_MAX_JOBS)
        jobs = CLI_MAX_JOBS;
    for (int t = 1; t < jobs; t++) {
        if (mc__thread_create(&tid[started], (unsigned)t, worker, &pool) != 0)
            break; /* fewer threads; the calling thread still works */
        started++;
    }
    worker(&pool);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    failures = atomic_load(&pool.failures);
    if (committing)
        failures += cli_committer_finish();
    cli_batch_watch(0);
    if (pool.progress)
        cli_progress_end();
    return failures;
}
