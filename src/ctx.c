/* The context: options shared by calls; and the calls for the caller's
 * own secrets and for the process-wide buffer cache (src/mem.c). */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>

mc_err mc_ctx_new(mc_ctx **out)
{
    mc_ctx *ctx;

    if (out == NULL)
        return MC_EINVAL;
    if (sodium_init() < 0)
        return MC_ECRYPTO;
    if ((ctx = calloc(1, sizeof *ctx)) == NULL)
        return MC_ENOMEM;
    ctx->max_samples = MC_DEFAULT_MAX_SAMPLES;
    ctx->threads = 1;
    *out = ctx;
    return MC_OK;
}

void mc_ctx_free(mc_ctx *ctx)
{
    free(ctx);
}

mc_err mc_ctx_set_max_samples(mc_ctx *ctx, uint64_t max_samples)
{
    if (ctx == NULL || max_samples == 0)
        return MC_EINVAL;
    ctx->max_samples = max_samples;
    return MC_OK;
}

mc_err mc_ctx_set_admit(mc_ctx *ctx, mc_admit_fn admit, void *user)
{
    if (ctx == NULL)
        return MC_EINVAL;
    ctx->admit = admit;
    ctx->admit_user = user;
    return MC_OK;
}

mc_err mc_ctx_set_threads(mc_ctx *ctx, unsigned threads)
{
    if (ctx == NULL)
        return MC_EINVAL;
    if (threads == 0)
        threads = mc__cores();
    ctx->threads = threads < MC_MAX_THREADS ? threads : MC_MAX_THREADS;
    return MC_OK;
}

uint64_t mc_ctx_max_samples(const mc_ctx *ctx)
{
    return ctx != NULL ? ctx->max_samples : MC_DEFAULT_MAX_SAMPLES;
}

const char *mc_version(void)
{
    return MC_VERSION_STRING;
}

void mc_free(void *p)
{
    free(p);
}

/* sodium_memzero: a wipe the compiler may not drop as a dead store, which
 * a memset before free() is (C11 5.1.2.3's as-if rule). */
void mc_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        sodium_memzero(p, len);
}

void mc_free_wiped(void *p, size_t len)
{
    mc_wipe(p, len);
    free(p);
}

void mc_release_memory(void)
{
    mc__huge_cache_drop();
}
