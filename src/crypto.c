/*
 * Thin wrappers over OpenSSL 3 libcrypto's EVP interfaces: SHA-512
 * (FIPS 180-4), HMAC-SHA-512 (RFC 2104, vectors in RFC 4231) and
 * HKDF-SHA-512 (RFC 5869); and Philox4x32-10 from Random123.
 *
 * Why OpenSSL and not libsodium for these: its SHA-512 assembly is about
 * 1.6x faster than libsodium's portable C here, and the keyed hash over
 * every sample is the pipeline's floor (DESIGN §3). Only the EVP APIs are
 * used: SHA512_* and HMAC_CTX are deprecated in OpenSSL 3.0.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <Random123/philox.h>

/* ------------------------------------------------------------------ */
/* SHA-512 (FIPS 180-4)                                                */

mc_err mc__sha512(uint8_t out[64], const uint8_t *msg, size_t msg_len)
{
    unsigned int len = 0;

    if (out == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if (EVP_Digest(msg, msg_len, out, &len, EVP_sha512(), NULL) != 1 || len != 64)
        return MC_ECRYPTO;
    return MC_OK;
}

mc_err mc__sha512_2(uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len)
{
    EVP_MD_CTX *md;
    unsigned int len = 0;
    mc_err err = MC_ECRYPTO;

    if (out == NULL || (a == NULL && a_len != 0) || (b == NULL && b_len != 0))
        return MC_EINVAL;
    if ((md = EVP_MD_CTX_new()) == NULL)
        return MC_ENOMEM;
    if (EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1)
        goto out;
    if (a_len != 0 && EVP_DigestUpdate(md, a, a_len) != 1)
        goto out;
    if (b_len != 0 && EVP_DigestUpdate(md, b, b_len) != 1)
        goto out;
    if (EVP_DigestFinal_ex(md, out, &len) != 1 || len != 64)
        goto out;
    err = MC_OK;
out:
    EVP_MD_CTX_free(md); /* EVP_MD_CTX_free cleanses the hash state */
    return err;
}

/* ------------------------------------------------------------------ */
/* HMAC-SHA-512 (RFC 2104; RFC 4231 vectors)                           */

struct mc__hmac {
    EVP_MAC_CTX *ctx; /* holds the padded key: freed (and cleansed) by OpenSSL */
};

/* OpenSSL reads a NULL key as "keep the previous key", which fails on a
 * fresh context; RFC 2104 allows an empty key (it is zero-padded to the
 * block), so an empty key is passed as a non-NULL pointer of length 0. */
static const uint8_t empty_key[1];

mc_err mc__hmac_init(mc__hmac **h, const uint8_t *key, size_t key_len)
{
    EVP_MAC *mac = NULL;
    mc__hmac *obj = NULL;
    OSSL_PARAM params[2];
    char digest[] = "SHA512";
    mc_err err = MC_ECRYPTO;

    if (h == NULL || (key == NULL && key_len != 0))
        return MC_EINVAL;
    if (key_len == 0)
        key = empty_key;
    /* Fetched on every call: simple and thread-safe; the cost matters only
     * for many tiny MACs, which medcrypt does not do. */
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        goto out;
    if ((obj = calloc(1, sizeof *obj)) == NULL) {
        err = MC_ENOMEM;
        goto out;
    }
    if ((obj->ctx = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(obj->ctx, key, key_len, params) != 1)
        goto out;
    *h = obj;
    obj = NULL;
    err = MC_OK;
out:
    mc__hmac_free(obj);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    return err;
}

mc_err mc__hmac_update(mc__hmac *h, const uint8_t *msg, size_t msg_len)
{
    if (h == NULL || (msg == NULL && msg_len != 0))
        return MC_EINVAL;
    if (msg_len == 0)
        return MC_OK;
    return EVP_MAC_update(h->ctx, msg, msg_len) == 1 ? MC_OK : MC_ECRYPTO;
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
    if (EVP_MAC_final(h->ctx, out, &len, 64) == 1 && len == 64)
        err = MC_OK;
out:
    mc__hmac_free(h); /* the contract: final always consumes h */
    return err;
}

void mc__hmac_free(mc__hmac *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
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
/* HKDF-SHA-512 (RFC 5869: extract, then expand)                        */

mc_err mc__hkdf_sha512(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *salt, size_t salt_len, const char *info)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[5], *p = params;
    char digest[] = "SHA512";
    size_t info_len;
    mc_err err = MC_ECRYPTO;

    /* RFC 5869 §2.3: L <= 255 * HashLen. */
    if (out == NULL || out_len == 0 || out_len > 255 * 64 || (ikm == NULL && ikm_len != 0) ||
        (salt == NULL && salt_len != 0) || info == NULL)
        return MC_EINVAL;
    if (ikm_len == 0)
        ikm = empty_key;
    info_len = strlen(info);

    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
        goto out;
    if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
        goto out;
    /* The default mode is extract-and-expand (RFC 5869 §2.2 and §2.3).
     * An absent salt is the same as HashLen zero bytes (§2.2), which is
     * also what HMAC makes of an empty key: leave it out when empty. */
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len != 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len != 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
        goto out;
    err = MC_OK;
out:
    EVP_KDF_CTX_free(kctx); /* cleanses the PRK and its copy of the IKM */
    EVP_KDF_free(kdf);
    return err;
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
