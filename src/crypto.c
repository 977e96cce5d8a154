/*
 * SHA-512 (FIPS 180-4), HMAC-SHA-512 (RFC 2104, vectors in RFC 4231) and
 * HKDF-SHA-512 (RFC 5869) over two libraries that give the same bytes;
 * and Philox4x32-10 from Random123.
 *
 * Bulk data (the keyed hash over an image's samples, at least
 * mc__openssl_min_bytes of it) goes through OpenSSL's libcrypto: its
 * SHA-512 assembly is about 1.6x faster than libsodium's portable C, and
 * that hash is the pipeline's floor (DESIGN §3). Everything small (keys,
 * key processing, subkeys, the keyed hash of a small image) goes through
 * libsodium: loading libcrypto (ossl.c, about 3 ms) and its first EVP
 * fetch, which registers every algorithm of its default provider (1-2 ms
 * more), would add half again to a process that encrypts a 512x512 image
 * in 8.5 ms (docs/PERFORMANCE.md, "Whole process"). Once a program has
 * paid that (mc__openssl_warm, which the command runs on a second thread
 * for a large input or a batch), images from 64 KiB up go through
 * OpenSSL too. Only OpenSSL's EVP APIs are used: SHA512_* and HMAC_CTX
 * are deprecated in OpenSSL 3.0.
 * tests/test_kat.c runs the RFC vectors through both.
 */
#include "internal.h"
#include "ossl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <sodium.h>

#include <Random123/philox.h>

/* 8 MiB: from there on an image that finds OpenSSL not yet loaded waits
 * for it. Loading it and its first fetch take 4-5 ms; its SHA-512 and
 * ChaCha20 save about 1 ns a byte on one core (0.6 and 0.35), half that
 * on two. Whole `medcrypt encrypt` on the 2-vCPU VM (p25 of 12-20, with
 * OpenSSL against libsodium alone): 2 MiB 20.3 against 14.5 ms, 4 MiB
 * 26.5 against 21.9, 8 MiB 37.3 against 36.3 (one thread: 38.0 against
 * 39.7), 16 MiB 55.8 against 63.0, 32 MiB 104.6 against 112.4. Smaller
 * images use it only once it is there (mc__openssl_warm). A variable so
 * that tests can force either library. */
size_t mc__openssl_min_bytes = (size_t)8 << 20;

/* Set once mc__openssl_warm has paid OpenSSL's start-up: from then on
 * images from 64 KiB up (a batch's small files) take its faster hash. */
static atomic_bool openssl_warm;
#define WARM_MIN_BYTES ((size_t)64 << 10)

bool mc__openssl_pays(size_t bytes)
{
    return bytes >= mc__openssl_min_bytes ||
           (bytes >= WARM_MIN_BYTES && atomic_load_explicit(&openssl_warm, memory_order_relaxed));
}

bool mc__use_openssl(size_t bytes)
{
    /* Loads libcrypto the first time a large image asks; a machine
     * without it runs everything on libsodium. */
    return mc__openssl_pays(bytes) && mc__ossl() != NULL;
}

void mc__openssl_warm(void)
{
    const struct mc__ossl *o = mc__ossl();
    EVP_MD *md;
    EVP_MAC *mac;
    EVP_CIPHER *chacha;

    if (o == NULL)
        return;
    md = o->EVP_MD_fetch(NULL, "SHA512", NULL);
    mac = o->EVP_MAC_fetch(NULL, "HMAC", NULL);
    chacha = o->EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
    if (md != NULL && mac != NULL && chacha != NULL)
        atomic_store(&openssl_warm, true);
    o->EVP_MD_free(md);
    o->EVP_MAC_free(mac);
    o->EVP_CIPHER_free(chacha);
}

/* ------------------------------------------------------------------ */
/* SHA-512 (FIPS 180-4): small inputs only, libsodium                  */

mc_err mc__sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len)
{
    return mc__sha512_2(out, msg, msg_len, NULL, 0);
}

mc_err mc__sha512_2(uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len)
{
    crypto_hash_sha512_state st; /* secret: wiped */

    if (out == NULL || (a == NULL && a_len != 0) || (b == NULL && b_len != 0))
        return MC_EINVAL;
    crypto_hash_sha512_init(&st);
    if (a_len != 0)
        crypto_hash_sha512_update(&st, a, a_len);
    if (b_len != 0)
        crypto_hash_sha512_update(&st, b, b_len);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
    return MC_OK;
}

/* Chunks [first, last) of the keyed hash's tree (format v3): OpenSSL's
 * SHA-512 when the image is bulk data, libsodium's otherwise; one fetched
 * digest and one context for the whole range (a fetch per 64 KiB chunk
 * would cost a lookup in OpenSSL's method store each time). Thread-safe. */
mc_err mc__sha512_chunks(uint8_t *digests, const uint8_t *msg, size_t len, size_t chunk,
                         size_t first, size_t last, bool openssl)
{
    const struct mc__ossl *o = openssl ? mc__ossl() : NULL;
    EVP_MD *md = NULL;
    EVP_MD_CTX *ctx = NULL;
    unsigned int n = 0;
    mc_err err = MC_OK;

    if (digests == NULL || msg == NULL || chunk == 0)
        return MC_EINVAL;
    if (openssl && (o == NULL || (md = o->EVP_MD_fetch(NULL, "SHA512", NULL)) == NULL ||
                    (ctx = o->EVP_MD_CTX_new()) == NULL)) {
        err = MC_ECRYPTO;
        goto out;
    }
    for (size_t i = first; i < last && err == MC_OK; i++) {
        size_t off = i * chunk, k = len - off < chunk ? len - off : chunk;
        if (!openssl)
            err = mc__sha512(digests + 64 * i, msg + off, k);
        else if (o->EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
                 o->EVP_DigestUpdate(ctx, msg + off, k) != 1 ||
                 o->EVP_DigestFinal_ex(ctx, digests + 64 * i, &n) != 1 || n != 64)
            err = MC_ECRYPTO;
    }
out:
    if (o != NULL) {
        o->EVP_MD_CTX_free(ctx); /* cleanses the hash state */
        o->EVP_MD_free(md);
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* HMAC-SHA-512 (RFC 2104; RFC 4231 vectors)                           */

struct mc__hmac {
    const struct mc__ossl *o;            /* OpenSSL (bulk), or NULL: */
    EVP_MAC_CTX *ctx;                    /* its context */
    crypto_auth_hmacsha512_state sodium; /* libsodium; secret: wiped */
};

/* OpenSSL reads a NULL key as "keep the previous key", which fails on a
 * fresh context; RFC 2104 allows an empty key (it is zero-padded to the
 * block), so an empty key is passed as a non-NULL pointer of length 0. */
static const uint8_t empty_key[1];

static mc_err openssl_hmac_init(mc__hmac *obj, const uint8_t *key, size_t key_len)
{
    const struct mc__ossl *o = mc__ossl();
    EVP_MAC *mac;
    char digest[] = "SHA512";
    /* OSSL_PARAM's initialisers are macros: no call into libcrypto. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, sizeof digest - 1),
        OSSL_PARAM_END};
    mc_err err = MC_ECRYPTO;

    /* Fetched on every call: simple and thread-safe; once per image. */
    if (o == NULL || (mac = o->EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return MC_ECRYPTO;
    obj->o = o;
    if ((obj->ctx = o->EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    if (o->EVP_MAC_init(obj->ctx, key, key_len, params) != 1)
        goto out;
    err = MC_OK;
out:
    o->EVP_MAC_free(mac); /* the context keeps its own reference */
    return err;
}

mc_err mc__hmac_init(mc__hmac **h, const uint8_t *key, size_t key_len, size_t msg_len)
{
    mc__hmac *obj;
    mc_err err;

    if (h == NULL || (key == NULL && key_len != 0))
        return MC_EINVAL;
    if (key_len == 0)
        key = empty_key;
    if ((obj = calloc(1, sizeof *obj)) == NULL)
        return MC_ENOMEM;
    if (mc__use_openssl(msg_len)) {
        if ((err = openssl_hmac_init(obj, key, key_len)) != MC_OK) {
            mc__hmac_free(obj);
            return err;
        }
    } else {
        crypto_auth_hmacsha512_init(&obj->sodium, key, key_len);
    }
    *h = obj;
    return MC_OK;
}

mc_err mc__hmac_update(mc__hmac *h, const uint8_t *msg, size_t msg_len)
{
    if (h == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if (msg_len == 0)
        return MC_OK;
    if (h->ctx == NULL) {
        crypto_auth_hmacsha512_update(&h->sodium, msg, msg_len);
        return MC_OK;
    }
    return h->o->EVP_MAC_update(h->ctx, msg, msg_len) == 1 ? MC_OK : MC_ECRYPTO;
}

mc_err mc__hmac_final(mc__hmac *h, uint8_t out[64])
{
    size_t len = 0;
    mc_err err = MC_ECRYPTO;

    if (h == NULL)
        return MC_EINVAL;
    if (out == NULL) {
        err = MC_EINVAL;
        goto out;
    }
    if (h->ctx == NULL) {
        crypto_auth_hmacsha512_final(&h->sodium, out);
        err = MC_OK;
    } else if (h->o->EVP_MAC_final(h->ctx, out, &len, 64) == 1 && len == 64) {
        err = MC_OK;
    }
out:
    mc__hmac_free(h); /* the contract: final always consumes h */
    return err;
}

void mc__hmac_free(mc__hmac *h)
{
    if (h == NULL)
        return;
    if (h->o != NULL)
        h->o->EVP_MAC_CTX_free(h->ctx); /* cleanses OpenSSL's copy of the key */
    sodium_memzero(&h->sodium, sizeof h->sodium);
    free(h);
}

mc_err mc__hmac_sha512(uint8_t out[64], const uint8_t *key, size_t key_len, const uint8_t *msg,
                       size_t msg_len)
{
    mc__hmac *h = NULL;
    mc_err err;

    if (out == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if ((err = mc__hmac_init(&h, key, key_len, msg_len)) != MC_OK)
        return err;
    if ((err = mc__hmac_update(h, msg, msg_len)) != MC_OK) {
        mc__hmac_free(h);
        return err;
    }
    return mc__hmac_final(h, out);
}

/* ------------------------------------------------------------------ */
/* HKDF-SHA-512 (RFC 5869: extract, then expand)                        */

mc_err mc__hkdf_sha512(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *salt, size_t salt_len, const char *info)
{
    uint8_t prk[64], t[64]; /* secret: wiped */
    crypto_auth_hmacsha512_state st; /* secret: wiped */
    size_t info_len, done = 0;
    uint8_t i = 0;

    /* RFC 5869 §2.3: L <= 255 * HashLen. */
    if (out == NULL || out_len == 0 || out_len > 255 * 64 || (ikm == NULL && ikm_len != 0) ||
        (salt == NULL && salt_len != 0) || info == NULL)
        return MC_EINVAL;
    info_len = strlen(info);

    /* §2.2 extract: PRK = HMAC(salt, IKM). An absent salt is HashLen zero
     * bytes, which is what HMAC makes of an empty key: the same thing. */
    crypto_auth_hmacsha512_init(&st, salt_len != 0 ? salt : empty_key, salt_len);
    crypto_auth_hmacsha512_update(&st, ikm_len != 0 ? ikm : empty_key, ikm_len);
    crypto_auth_hmacsha512_final(&st, prk);
    /* §2.3 expand: T(i) = HMAC(PRK, T(i-1) || info || i), i = 1, 2, ... */
    while (done < out_len) {
        size_t n = out_len - done < sizeof t ? out_len - done : sizeof t;
        i++;
        crypto_auth_hmacsha512_init(&st, prk, sizeof prk);
        if (i > 1)
            crypto_auth_hmacsha512_update(&st, t, sizeof t);
        crypto_auth_hmacsha512_update(&st, (const uint8_t *)info, info_len);
        crypto_auth_hmacsha512_update(&st, &i, 1);
        crypto_auth_hmacsha512_final(&st, t);
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(t, sizeof t);
    sodium_memzero(&st, sizeof st);
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Philox4x32-10 (Salmon et al., SC'11; Random123)                       */

void mc__philox(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2])
{
    philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x32_key_t k = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32_R(10, c, k);

    out[0] = r.v[0];
    out[1] = r.v[1];
    out[2] = r.v[2];
    out[3] = r.v[3];
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void mc__philox_stream(uint8_t *out, size_t n_blocks, const uint32_t key[2], uint32_t c1,
                       uint32_t c2, uint32_t c3)
{
    philox4x32_key_t k = {{key[0], key[1]}};

    /* Block i is Philox(ctr = {i, c1, c2, c3}): the block index is the
     * low counter word, so a stream of up to 2^32 blocks never repeats a
     * counter. Words are written little-endian whatever the host. */
    for (size_t i = 0; i < n_blocks; i++) {
        philox4x32_ctr_t c = {{(uint32_t)i, c1, c2, c3}};
        philox4x32_ctr_t r = philox4x32_R(10, c, k);

        for (int w = 0; w < 4; w++)
            store_le32(out + 16 * i + 4 * (size_t)w, r.v[w]);
    }
}
