/*
 * SHA-512 (FIPS 180-4), HMAC-SHA-512 (RFC 2104, vectors in RFC 4231) and
 * HKDF-SHA-512 (RFC 5869) over two libraries that give the same bytes;
 * and Philox4x32-10 from Random123.
 *
 * SHA-512 is OpenSSL's: its low-level SHA512_Init/Update/Final, linked in
 * from libcrypto.a (meson.build, MC_OPENSSL_SHA512). Its assembly is about
 * 1.55x faster than libsodium's portable C, and the keyed hash over an
 * image's samples is the pipeline's floor (DESIGN §3). Those functions are
 * deprecated in OpenSSL 3.0 in favour of EVP_Digest*, but EVP is what
 * costs: loading libcrypto (ossl.c, about 3 ms) and its first fetch,
 * which registers every algorithm of its default provider (1-2 ms more),
 * would add half again to a process that encrypts a 512x512 image in
 * 7.5 ms (docs/PERFORMANCE.md, "Whole process"); the low-level functions
 * run the same assembly with no start-up at all. Where no static
 * libcrypto has them, libsodium's SHA-512 gives the same bytes.
 *
 * HMAC over bulk data (the keyed hash of formats v1 and v2, at least
 * mc__openssl_min_bytes of it) goes through OpenSSL's EVP_MAC, loaded on
 * demand; everything small (keys, key processing, subkeys, the HMAC over
 * format v3's chunk digests) through libsodium. Once a program has paid
 * OpenSSL's start-up (mc__openssl_warm, which the command runs on a
 * second thread for a large input or a batch), images from 64 KiB up go
 * through OpenSSL too.
 * tests/test_kat.c runs the RFC vectors through both.
 */
#ifdef MC_OPENSSL_SHA512
/* SHA512_* are declared deprecated (above, why they are used); before
 * the first OpenSSL header, which reads it. */
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include "internal.h"
#include "ossl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#ifdef MC_OPENSSL_SHA512
#include <openssl/sha.h>
#endif
#include <sodium.h>

#include <Random123/philox.h>

/* 16 MiB: from there on an image that finds OpenSSL not yet loaded waits
 * for it. Loading it and its first fetch take 4-5 ms, and since SHA-512
 * runs OpenSSL's assembly without it, what it still buys is its ChaCha20
 * (AVX-512 where the CPU has it; libsodium's stops at AVX2), about
 * 0.35 ns a byte on one core, half that on two; and the EVP HMAC of
 * formats v1/v2. Whole `medcrypt encrypt` / `decrypt` of PGMs on the
 * 2-vCPU VM (medians of 10-20 alternating runs, with OpenSSL against
 * libsodium alone, sixth session): 8 MiB encrypt 37.6 against 37.3 ms,
 * decrypt 40.1 against 35.4; 16 MiB encrypt 64.9 against 67.3, decrypt
 * 63.4 against 61.9; 32 MiB encrypt 102.1 against 97.9, decrypt 84.1
 * against 87.9. (With OpenSSL's SHA-512 behind the same dlopen, the
 * fourth session found it paid from 8 MiB.) Smaller images use it only
 * once it is there (mc__openssl_warm). A variable so that tests can
 * force either library. */
size_t mc__openssl_min_bytes = (size_t)16 << 20;

/* Set once mc__openssl_warm has paid OpenSSL's start-up: from then on
 * images from 64 KiB up (a batch's small files) take its faster ChaCha20
 * (and, in formats v1/v2, its HMAC). */
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
    EVP_MAC *mac;
    EVP_CIPHER *chacha;

    if (o == NULL)
        return;
    mac = o->EVP_MAC_fetch(NULL, "HMAC", NULL);
    chacha = o->EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
    if (mac != NULL && chacha != NULL)
        atomic_store(&openssl_warm, true);
    o->EVP_MAC_free(mac);
    o->EVP_CIPHER_free(chacha);
}

/* ------------------------------------------------------------------ */
/* SHA-512 (FIPS 180-4): OpenSSL's, linked in; else libsodium's          */

mc_err mc__sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len)
{
    return mc__sha512_2(out, msg, msg_len, NULL, 0);
}

mc_err mc__sha512_2(uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len)
{
#ifdef MC_OPENSSL_SHA512
    SHA512_CTX st; /* secret: wiped */
#else
    crypto_hash_sha512_state st; /* secret: wiped */
#endif
    bool ok = true;

    if (out == NULL || (a == NULL && a_len != 0) || (b == NULL && b_len != 0))
        return MC_EINVAL;
#ifdef MC_OPENSSL_SHA512
    /* These return 1; they have no way to fail on valid arguments, but
     * their contract has one. */
    ok = SHA512_Init(&st) == 1 && (a_len == 0 || SHA512_Update(&st, a, a_len) == 1) &&
         (b_len == 0 || SHA512_Update(&st, b, b_len) == 1) && SHA512_Final(out, &st) == 1;
#else
    crypto_hash_sha512_init(&st);
    if (a_len != 0)
        crypto_hash_sha512_update(&st, a, a_len);
    if (b_len != 0)
        crypto_hash_sha512_update(&st, b, b_len);
    crypto_hash_sha512_final(&st, out);
#endif
    sodium_memzero(&st, sizeof st);
    return ok ? MC_OK : MC_ECRYPTO;
}

/* Chunks [first, last) of the keyed hash's tree (format v3). Thread-safe. */
mc_err mc__sha512_chunks(uint8_t *digests, const uint8_t *msg, size_t len, size_t chunk,
                         size_t first, size_t last)
{
    mc_err err = MC_OK;

    if (digests == NULL || msg == NULL || chunk == 0)
        return MC_EINVAL;
    for (size_t i = first; i < last && err == MC_OK; i++) {
        size_t off = i * chunk, k = len - off < chunk ? len - off : chunk;
        err = mc__sha512(digests + 64 * i, msg + off, k);
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
