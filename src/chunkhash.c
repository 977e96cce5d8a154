/*
 * Format v3's chunk digests (docs/FORMAT.md §4.1) hashed on a second
 * thread while a decoder is still filling the samples, front to back.
 *
 * The digests are SHA-512 of the plain sample bytes in 64 KiB chunks,
 * with no key, so they can be computed before the key is used. Decoding
 * a large PNG is zlib's inflate on one core, 35 ms for a 2048x2048 16-bit
 * CT, with the second core idle; hashing the chunks as the rows come in
 * takes the keyed hash of the encrypt (8 ms on one core) off the critical
 * path but for the last few chunks; libjpeg's decode of a large JPEG,
 * also on one core, likewise. codec_png.c and codec_jpeg.c start it for
 * the command's encryptions (mc_ctx.chunk_digests), cipher.c uses what
 * it left in the image (mc_image.digests).
 *
 * The decoder tells how many bytes are final (mc__chunk_hasher_ready);
 * the thread is woken once per WAKE_STEP, not per chunk: waking a thread
 * that sleeps on the other vCPU costs a few tens of microseconds on the
 * virtual machine of docs/PERFORMANCE.md. The mutex orders the decoder's
 * writes before the thread's reads. Chunks are claimed one at a time, so
 * that the decoder, once done, hashes the last ones with the thread.
 */
#include "internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>

#define WAKE_STEP ((size_t)512 << 10)
/* From this many bytes of samples: below, starting the thread costs
 * about what it saves. */
#define DIGESTS_MIN ((size_t)2 << 20)

struct mc__chunk_hasher {
    const uint8_t *samples;
    size_t len, chunks;
    uint8_t *digests; /* 64 bytes per chunk; derived from patient data */
    pthread_mutex_t lock;
    pthread_cond_t more;
    size_t ready;    /* bytes final (under lock) */
    size_t told;     /* ready when the thread was last told (decoder only) */
    bool stop;       /* under lock */
    atomic_size_t claimed; /* chunks handed out */
    atomic_bool failed;
    pthread_t thread;
};

/* Hashes chunks while there are any below `avail` not yet claimed. */
static void hash_claimed(mc__chunk_hasher *h, size_t avail)
{
    size_t i = atomic_load(&h->claimed);

    while (i < avail) {
        if (!atomic_compare_exchange_weak(&h->claimed, &i, i + 1))
            continue; /* i is now the current count */
        if (mc__sha512_chunks(h->digests, h->samples, h->len, MC_TREE_CHUNK, i, i + 1) != MC_OK)
            atomic_store(&h->failed, true);
        i = atomic_load(&h->claimed);
    }
}

static void *run(void *arg)
{
    mc__chunk_hasher *h = arg;

    pthread_mutex_lock(&h->lock);
    while (!h->stop && atomic_load(&h->claimed) < h->chunks) {
        /* Whole chunks only, but the last one once everything is final. */
        size_t avail = h->ready == h->len ? h->chunks : h->ready / MC_TREE_CHUNK;
        if (avail <= atomic_load(&h->claimed)) {
            pthread_cond_wait(&h->more, &h->lock);
            continue;
        }
        pthread_mutex_unlock(&h->lock);
        hash_claimed(h, avail);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static atomic_ulong started_count;

unsigned long mc__chunk_hashers_started(void)
{
    return atomic_load(&started_count);
}

mc__chunk_hasher *mc__chunk_hasher_start(const uint8_t *samples, size_t len)
{
    mc__chunk_hasher *h;

    if (samples == NULL || len == 0 || (h = calloc(1, sizeof *h)) == NULL)
        return NULL;
    h->samples = samples;
    h->len = len;
    atomic_init(&h->claimed, 0);
    atomic_init(&h->failed, false);
    h->chunks = mc__tree_chunks(len);
    if ((h->digests = malloc(h->chunks * 64)) == NULL)
        goto fail;
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&h->more, NULL) != 0) {
        pthread_mutex_destroy(&h->lock);
        goto fail;
    }
    if (mc__thread_create(&h->thread, 1, run, h) != 0) {
        pthread_cond_destroy(&h->more);
        pthread_mutex_destroy(&h->lock);
        goto fail;
    }
    atomic_fetch_add(&started_count, 1);
    return h;
fail:
    free(h->digests); /* nothing written yet */
    free(h);
    return NULL; /* the keyed hash then does it all, as without */
}

mc__chunk_hasher *mc__chunk_hasher_for(const mc_ctx *ctx, const mc_image *img)
{
    if (ctx == NULL || !ctx->chunk_digests || ctx->threads < 2 || img->samples_len < DIGESTS_MIN)
        return NULL;
    return mc__chunk_hasher_start(img->samples, img->samples_len);
}

void mc__chunk_hasher_ready(mc__chunk_hasher *h, size_t ready)
{
    if (ready > h->len)
        ready = h->len;
    if (ready - h->told < WAKE_STEP && ready < h->len)
        return;
    h->told = ready;
    pthread_mutex_lock(&h->lock);
    h->ready = ready;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
}

/* Joins the thread and frees all but the digests, which it returns. */
static uint8_t *stop_thread(mc__chunk_hasher *h, bool stop)
{
    uint8_t *digests = h->digests;

    pthread_mutex_lock(&h->lock);
    h->stop = stop;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->more);
    pthread_mutex_destroy(&h->lock);
    if (stop || atomic_load(&h->failed)) {
        sodium_memzero(digests, h->chunks * 64);
        free(digests);
        digests = NULL;
    }
    free(h);
    return digests;
}

uint8_t *mc__chunk_hasher_finish(mc__chunk_hasher *h, size_t *digests_len)
{
    size_t len = h->chunks * 64;
    uint8_t *digests;

    mc__chunk_hasher_ready(h, h->len);
    hash_claimed(h, h->chunks); /* the last ones, with the thread */
    digests = stop_thread(h, false);
    *digests_len = digests != NULL ? len : 0;
    return digests;
}

void mc__chunk_hasher_abort(mc__chunk_hasher *h)
{
    if (h != NULL)
        (void)stop_thread(h, true);
}
