/*
 * SHA-512 (FIPS 180-4), HMAC-SHA-512 (RFC 2104, vectors in RFC 4231),
 * HKDF-SHA-512 (RFC 5869) and ChaCha20 (RFC 8439's block function, with
 * the original 64-bit counter) over two libraries that give the same
 * bytes; and Philox4x32-10 from Random123.
 *
 * The two primitives that run over every byte of an image are OpenSSL's
 * assembly, linked in from libcrypto.a (meson.build, MC_OPENSSL_LINKED):
 * the low-level SHA512_Init/Update/Final, about 1.55x faster than
 * libsodium's portable C (the keyed hash over the samples is the
 * pipeline's floor, DESIGN §3), and ChaCha20_ctr32, the function
 * OpenSSL's EVP ChaCha20 cipher calls, 3x faster than libsodium's on the
 * machine of docs/PERFORMANCE.md (AVX-512; libsodium's stops at AVX2).
 * SHA512_* are deprecated in OpenSSL 3.0 in favour of EVP_Digest*, and
 * ChaCha20_ctr32 is in no public header; but EVP is what costs: loading
 * libcrypto (about 3 ms) and its first fetch, which registers every
 * algorithm of its default provider (1-2 ms more), would add half again
 * to a process that encrypts a 512x512 image in 7.5 ms (docs/
 * PERFORMANCE.md, "Whole process"); the functions linked in run the same
 * assembly with no start-up at all, for every image from the first byte.
 * HMAC-SHA-512 is RFC 2104 written on that SHA-512. Where no static
 * libcrypto has them (or meson's -Dopenssl_linked=disabled, as CI's fuzz
 * build), libsodium gives the same bytes; and mc__sodium_only makes every
 * call here take libsodium, so that the tests of any build run both.
 * tests/test_kat.c runs the RFC vectors through both.
 */
#ifdef MC_OPENSSL_LINKED
/* SHA512_* are declared deprecated (above, why they are used); before
 * the first OpenSSL header, which reads it. */
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef MC_OPENSSL_LINKED
#include <openssl/sha.h>
#endif
#include <sodium.h>

#include <Random123/philox.h>

#ifdef MC_OPENSSL_LINKED
/* OpenSSL's include/crypto/chacha.h, not installed: out[0..len) =
 * inp[0..len) XOR the ChaCha20 keystream from block counter[0] on, key
 * and counter as little-endian words (RFC 8439 §2.3: state words 4-11
 * and 12-15). Any len; the caller carries counter[0]'s overflow. */
void ChaCha20_ctr32(unsigned char *out, const unsigned char *inp, size_t len,
                    const unsigned int key[8], const unsigned int counter[4]);
#endif

bool mc__sodium_only;

/* ------------------------------------------------------------------ */
/* SHA-512 (FIPS 180-4): OpenSSL's, linked in; else libsodium's          */

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
#ifdef MC_OPENSSL_LINKED
    if (!mc__sodium_only) {
        SHA512_CTX o; /* secret: wiped */
        /* These return 1; they have no way to fail on valid arguments,
         * but their contract has one. */
        bool ok = SHA512_Init(&o) == 1 && (a_len == 0 || SHA512_Update(&o, a, a_len) == 1) &&
                  (b_len == 0 || SHA512_Update(&o, b, b_len) == 1) && SHA512_Final(out, &o) == 1;
        sodium_memzero(&o, sizeof o);
        return ok ? MC_OK : MC_ECRYPTO;
    }
#endif
    crypto_hash_sha512_init(&st);
    if (a_len != 0)
        crypto_hash_sha512_update(&st, a, a_len);
    if (b_len != 0)
        crypto_hash_sha512_update(&st, b, b_len);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
    return MC_OK;
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

#define HMAC_BLOCK 128 /* SHA-512's block size, B in RFC 2104 */

struct mc__hmac {
#ifdef MC_OPENSSL_LINKED
    bool openssl;                       /* inner/outer below, else sodium */
    SHA512_CTX inner, outer;            /* secret: wiped */
#endif
    crypto_auth_hmacsha512_state sodium; /* secret: wiped */
};

/* libsodium reads a NULL key of length 0 as an empty key, as RFC 2104
 * allows (zero-padded to the block); a non-NULL pointer all the same. */
static const uint8_t empty_key[1];

#ifdef MC_OPENSSL_LINKED
/* RFC 2104 §2: H(K XOR opad, H(K XOR ipad, text)), K hashed first when
 * longer than the block, then zero-padded to it. */
static bool openssl_hmac_init(mc__hmac *h, const uint8_t *key, size_t key_len)
{
    uint8_t k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK]; /* secret: wiped */
    bool ok = true;

    if (key_len > HMAC_BLOCK)
        ok = mc__sha512(k, key, key_len) == MC_OK;
    else
        memcpy(k, key, key_len);
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && SHA512_Init(&h->inner) == 1 && SHA512_Update(&h->inner, pad, HMAC_BLOCK) == 1;
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && SHA512_Init(&h->outer) == 1 && SHA512_Update(&h->outer, pad, HMAC_BLOCK) == 1;
    sodium_memzero(k, sizeof k);
    sodium_memzero(pad, sizeof pad);
    return ok;
}
#endif

mc_err mc__hmac_init(mc__hmac **h, const uint8_t *key, size_t key_len)
{
    mc__hmac *obj;

    if (h == NULL || (key == NULL && key_len != 0))
        return MC_EINVAL;
    if (key_len == 0)
        key = empty_key;
    if ((obj = calloc(1, sizeof *obj)) == NULL)
        return MC_ENOMEM;
#ifdef MC_OPENSSL_LINKED
    if (!mc__sodium_only) {
        obj->openssl = true;
        if (!openssl_hmac_init(obj, key, key_len)) {
            mc__hmac_free(obj);
            return MC_ECRYPTO;
        }
        *h = obj;
        return MC_OK;
    }
#endif
    crypto_auth_hmacsha512_init(&obj->sodium, key, key_len);
    *h = obj;
    return MC_OK;
}

mc_err mc__hmac_update(mc__hmac *h, const uint8_t *msg, size_t msg_len)
{
    if (h == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if (msg_len == 0)
        return MC_OK;
#ifdef MC_OPENSSL_LINKED
    if (h->openssl)
        return SHA512_Update(&h->inner, msg, msg_len) == 1 ? MC_OK : MC_ECRYPTO;
#endif
    crypto_auth_hmacsha512_update(&h->sodium, msg, msg_len);
    return MC_OK;
}

mc_err mc__hmac_final(mc__hmac *h, uint8_t out[64])
{
    mc_err err = MC_OK;

    if (h == NULL)
        return MC_EINVAL;
    if (out == NULL) {
        err = MC_EINVAL;
        goto out;
    }
#ifdef MC_OPENSSL_LINKED
    if (h->openssl) {
        uint8_t inner[64]; /* secret: wiped */
        if (SHA512_Final(inner, &h->inner) != 1 || SHA512_Update(&h->outer, inner, 64) != 1 ||
            SHA512_Final(out, &h->outer) != 1)
            err = MC_ECRYPTO;
        sodium_memzero(inner, sizeof inner);
        goto out;
    }
#endif
    crypto_auth_hmacsha512_final(&h->sodium, out);
out:
    mc__hmac_free(h); /* the contract: final always consumes h */
    return err;
}

void mc__hmac_free(mc__hmac *h)
{
    if (h == NULL)
        return;
    sodium_memzero(h, sizeof *h); /* both states hold the padded key */
    free(h);
}

mc_err mc__hmac_sha512(uint8_t out[64], const uint8_t *key, size_t key_len, const uint8_t *msg,
                       size_t msg_len)
{
    mc__hmac *h = NULL;
    mc_err err;

    if (out == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if ((err = mc__hmac_init(&h, key, key_len)) != MC_OK)
        return err;
    if ((err = mc__hmac_update(h, msg, msg_len)) != MC_OK) {
        mc__hmac_free(h);
        return err;
    }
    return mc__hmac_final(h, out);
}

/* ------------------------------------------------------------------ */
/* ChaCha20 with a 64-bit block counter (the original ChaCha, as
 * libsodium's crypto_stream_chacha20 and XChaCha20 use it)             */

void mc__chacha20_xor_ic(uint8_t *p, size_t len, const uint8_t nonce[8], uint64_t ic,
                         const uint8_t key[32])
{
#ifdef MC_OPENSSL_LINKED
    if (!mc__sodium_only) {
        /* State words 12-15: the 64-bit counter, low word first, then
         * the 8-byte nonce; OpenSSL's counter[1] is the counter's high
         * word here, carried by hand as its EVP cipher does. */
        unsigned int k[8], ctr[4] = {(uint32_t)ic, (uint32_t)(ic >> 32), mc__le32(nonce),
                                      mc__le32(nonce + 4)}; /* k: secret, wiped */

        for (int i = 0; i < 8; i++)
            k[i] = mc__le32(key + 4 * i);
        while (len > 0) {
            /* Blocks left before the low word wraps: 2^32 - ctr[0]. */
            uint64_t room = (((uint64_t)1 << 32) - ctr[0]) * 64;
            size_t n = len < room ? len : (size_t)room;

            ChaCha20_ctr32(p, p, n, k, ctr);
            p += n;
            len -= n;
            if (len > 0) { /* n = room: the low word wrapped */
                ctr[0] = 0;
                ctr[1]++;
            }
        }
        sodium_memzero(k, sizeof k);
        return;
    }
#endif
    crypto_stream_chacha20_xor_ic(p, p, len, nonce, ic, key);
}

void mc__stack_wipe(void)
{
    sodium_stackzero(MC__STACK_WIPE);
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
            mc__put_le32(out + 16 * i + 4 * (size_t)w, r.v[w]);
    }
}
