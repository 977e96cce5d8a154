/*
 * Known-answer tests of the primitives, through medcrypt's own wrappers:
 * one table of published vectors per primitive, one loop.
 *
 *   SHA-512        FIPS 180-4 / NIST CSRC "SHA-512" examples (plus the
 *                  NIST one-million-'a' message)
 *   HMAC-SHA-512   RFC 4231 §4.2-4.8, test cases 1-7
 *   HKDF-SHA-512   RFC 5869 defines SHA-256/SHA-1 vectors only: the inputs
 *                  of its A.1 and A.3 run with SHA-512, values from Python's
 *                  hmac/hashlib (and `openssl kdf ... HKDF` for A.1), plus
 *                  an RFC 5869 extract/expand written here on mc__hmac_sha512
 *   ChaCha20       RFC 8439 §2.4.2; the 64-bit counter against libsodium
 *   Philox4x32-10  Random123 tests/kat_vectors (zero, all-ones, pi inputs)
 *   Verhoeff       Verhoeff (1969); Wikipedia's worked example 236 -> 3
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "internal.h"
#include "ossl.h"
#include "stack_search.h"

/* Test-side hex decoder: the vectors are typed as in their documents. */
static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;

    for (; hex[0] != '\0'; hex += 2) {
        unsigned v;
        assert_true(hex[1] != '\0');
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* SHA-512, FIPS 180-4                                                 */

struct sha_vec {
    const char *msg;  /* repeated `repeat` times */
    size_t repeat;
    const char *digest;
};

static const struct sha_vec sha_vecs[] = {
    {"abc", 1,
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {"", 1,
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
    /* 448 bits */
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
     "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"},
    /* 896 bits */
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
     "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
    /* one million 'a' */
    {"a", 1000000,
     "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
     "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"},
};

static uint8_t *repeat_msg(const char *s, size_t repeat, size_t *len)
{
    size_t l = strlen(s);
    uint8_t *m = malloc(l * repeat + 1); /* +1: malloc(0) may return NULL */

    assert_non_null(m);
    for (size_t i = 0; i < repeat; i++)
        memcpy(m + i * l, s, l);
    *len = l * repeat;
    return m;
}

/* Both libraries behind crypto.c: OpenSSL's SHA-512 and ChaCha20, linked
 * in (where the build has them), and libsodium's, which mc__sodium_only
 * selects. Each test runs once with each. */
static const bool backends[] = {true, false}; /* libsodium, OpenSSL */
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* Runs a table of vectors once with each library. */
static void with_each_backend(void (*vectors)(void))
{
    for (size_t b = 0; b < N_BACKENDS; b++) {
        mc__sodium_only = backends[b];
        vectors();
    }
    mc__sodium_only = false;
}

static void sha512_vectors(void)
{
    for (size_t v = 0; v < sizeof sha_vecs / sizeof sha_vecs[0]; v++) {
        uint8_t expect[64], got[64];
        size_t len;
        uint8_t *msg = repeat_msg(sha_vecs[v].msg, sha_vecs[v].repeat, &len);

        assert_int_equal(unhex(expect, sizeof expect, sha_vecs[v].digest), 64);
        memset(got, 0, sizeof got);
        assert_int_equal(mc__sha512(got, msg, len), MC_OK);
        assert_memory_equal(got, expect, 64);

        /* SHA-512(a || b) for every kind of split, including empty halves. */
        size_t splits[] = {0, 1, len / 2, len > 0 ? len - 1 : 0, len};
        for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
            size_t a = splits[s] < len ? splits[s] : len;
            memset(got, 0, sizeof got);
            assert_int_equal(mc__sha512_2(got, msg, a, msg + a, len - a), MC_OK);
            assert_memory_equal(got, expect, 64);
        }
        free(msg);
    }
    /* An empty message may come as NULL. */
    {
        uint8_t expect[64], got[64];
        unhex(expect, sizeof expect, sha_vecs[1].digest);
        assert_int_equal(mc__sha512(got, NULL, 0), MC_OK);
        assert_memory_equal(got, expect, 64);
        assert_int_equal(mc__sha512_2(got, NULL, 0, NULL, 0), MC_OK);
        assert_memory_equal(got, expect, 64);
        assert_int_equal(mc__sha512(got, NULL, 1), MC_EINVAL);
        assert_int_equal(mc__sha512_2(got, (const uint8_t *)"a", 1, NULL, 1), MC_EINVAL);
        assert_int_equal(mc__sha512_2(got, NULL, 1, (const uint8_t *)"a", 1), MC_EINVAL);
    }
}

static void test_sha512(void **state)
{
    (void)state;
    with_each_backend(sha512_vectors);
}

/* ------------------------------------------------------------------ */
/* HMAC-SHA-512, RFC 4231                                              */

struct hmac_vec {
    const char *key_hex; /* or NULL: key_len bytes of key_fill */
    uint8_t key_fill;
    size_t key_len;
    const char *data_hex; /* or NULL: data_len bytes of data_fill, or data_text */
    const char *data_text;
    uint8_t data_fill;
    size_t data_len;
    size_t out_len; /* 16 for test case 5 (truncated to 128 bits) */
    const char *mac;
};

static const struct hmac_vec hmac_vecs[] = {
    /* 1 */ {NULL, 0x0b, 20, NULL, "Hi There", 0, 0, 64,
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    /* 2: key shorter than the block */
    {"4a656665", 0, 0, NULL, "what do ya want for nothing?", 0, 0, 64,
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    /* 3 */ {NULL, 0xaa, 20, NULL, NULL, 0xdd, 50, 64,
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
     "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
    /* 4 */ {"0102030405060708090a0b0c0d0e0f10111213141516171819", 0, 0, NULL, NULL, 0xcd,
     50, 64,
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
     "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
    /* 5: truncated to 128 bits */
    {NULL, 0x0c, 20, NULL, "Test With Truncation", 0, 0, 16,
     "415fad6271580a531d4179bc891d87a6"},
    /* 6: key larger than the block (hashed first) */
    {NULL, 0xaa, 131, NULL, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0, 64,
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
    /* 7: key and data larger than the block */
    {NULL, 0xaa, 131, NULL,
     "This is a test using a larger than block-size key and a larger than block-size data. "
     "The key needs to be hashed before being used by the HMAC algorithm.",
     0, 0, 64,
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
    /* Not in RFC 4231: keys at the block's edge. A key of exactly 128
     * bytes is used as it is (only a longer one is hashed), one of 129 is
     * hashed. Python: hmac.new(b'\xaa' * n, b'Hi There', hashlib.sha512). */
    {NULL, 0xaa, 128, NULL, "Hi There", 0, 0, 64,
     "17eb09b3d3c0f3ac497c608347e1d5b5df5e4b062bfd56c191c8499f24a3a9d1"
     "c3dfb449d01f4c9ca316b6b8d6a6299bad883d0bffe11c88c60d7daed6feeb48"},
    {NULL, 0xaa, 129, NULL, "Hi There", 0, 0, 64,
     "da329f7dbde1631286451a0404a7cc75656497f5fc8ecc2ed1c384e3a8368524"
     "3bf1792cc06c745a466f50c04c99cc5a7fbe1a67e4bbdcf922f1ee4108b3e328"},
};

/* OpenSSL's libcrypto is loaded on first use for the benchmark's
 * reference (src/ossl.c): it must load here, every function resolve, and
 * HMAC(EVP_sha512()) give RFC 4231's bytes through the table. A library
 * that is missing, or is not libcrypto, gives no table. */
static void test_openssl_loaded(void **state)
{
    const struct mc__ossl *o = mc__ossl();
    struct mc__ossl t, zero;
    uint8_t got[EVP_MAX_MD_SIZE], expect[64];
    unsigned int len = 0;

    (void)state;
    assert_non_null(o);
    assert_ptr_equal(mc__ossl(), o); /* loaded once */
    /* RTLD_LOCAL (src/dl.c): its functions stay out of the global scope,
     * where they could resolve another library's references (this test
     * links no libcrypto of its own). */
    assert_null(dlsym(RTLD_DEFAULT, "EVP_MD_fetch"));
    /* RFC 4231 §4.3 (test case 2), through HMAC() as bench uses it. */
    unhex(expect, sizeof expect,
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    assert_non_null(o->HMAC(o->EVP_sha512(), "Jefe", 4,
                            (const unsigned char *)"what do ya want for nothing?", 28, got,
                            &len));
    assert_int_equal(len, 64);
    assert_memory_equal(got, expect, 64);

    memset(&zero, 0, sizeof zero);
    memset(&t, 0xa5, sizeof t);
    assert_false(mc__ossl_open("libmedcrypt-no-such-library.so.0", &t));
    assert_memory_equal(&t, &zero, sizeof t);
    memset(&t, 0xa5, sizeof t);
    assert_false(mc__ossl_open("libz.so.1", &t)); /* loads, but has no HMAC */
    assert_memory_equal(&t, &zero, sizeof t);
    assert_false(mc__ossl_open(NULL, &t));
    assert_false(mc__ossl_open(MC_LIBCRYPTO_SONAME, NULL));
    assert_true(mc__ossl_open(MC_LIBCRYPTO_SONAME, &t)); /* the same library again */
    assert_ptr_equal(t.HMAC, o->HMAC);
}

/* The loader under both tables (src/dl.c): every name found, or nothing
 * and a reason naming what is missing. */
static void test_dl_load(void **state)
{
    static const char *const names[] = {"crc32", "adler32"};
    static const char *const missing[] = {"crc32", "adler32", "HMAC"};
    void *syms[3];
    char why[256];

    (void)state;
    assert_true(mc__dl_load("libz.so.1", names, syms, 2, why, sizeof why));
    assert_non_null(syms[0]);
    assert_non_null(syms[1]);
    assert_string_equal(why, "");

    memset(syms, 0xa5, sizeof syms);
    assert_false(mc__dl_load("libz.so.1", missing, syms, 3, why, sizeof why));
    assert_null(syms[0]); /* nothing half-filled: the two found before it too */
    assert_null(syms[1]);
    assert_null(syms[2]);
    assert_string_equal(why, "libz.so.1: no function HMAC");

    memset(syms, 0xa5, sizeof syms);
    assert_false(mc__dl_load("libmedcrypt-no-such-library.so.0", names, syms, 2, why,
                             sizeof why));
    assert_null(syms[0]);
    assert_null(syms[1]);
    assert_non_null(strstr(why, "libmedcrypt-no-such-library.so.0")); /* dlerror's text */
    assert_false(mc__dl_load(NULL, names, syms, 2, NULL, 0));
}


static void hmac_vectors(void)
{
    for (size_t v = 0; v < sizeof hmac_vecs / sizeof hmac_vecs[0]; v++) {
        const struct hmac_vec *t = &hmac_vecs[v];
        uint8_t key[256], data[256], expect[64], got[64], got2[64];
        size_t key_len, data_len;

        if (t->key_hex != NULL) {
            key_len = unhex(key, sizeof key, t->key_hex);
        } else {
            key_len = t->key_len;
            memset(key, t->key_fill, key_len);
        }
        if (t->data_text != NULL) {
            data_len = strlen(t->data_text);
            assert_true(data_len <= sizeof data);
            memcpy(data, t->data_text, data_len);
        } else {
            data_len = t->data_len;
            memset(data, t->data_fill, data_len);
        }
        assert_int_equal(unhex(expect, sizeof expect, t->mac), t->out_len);

        memset(got, 0, sizeof got);
        assert_int_equal(mc__hmac_sha512(got, key, key_len, data, data_len), MC_OK);
        assert_memory_equal(got, expect, t->out_len);

        /* Streaming, in pieces of several sizes (with empty updates), must
         * give the same 64 bytes as the one-shot call. */
        const size_t pieces[] = {1, 3, 7, 64, 129};
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            mc__hmac *h = NULL;
            assert_int_equal(mc__hmac_init(&h, key, key_len), MC_OK);
            assert_non_null(h);
            for (size_t off = 0; off < data_len; off += pieces[p]) {
                size_t n = data_len - off < pieces[p] ? data_len - off : pieces[p];
                assert_int_equal(mc__hmac_update(h, data + off, n), MC_OK);
                assert_int_equal(mc__hmac_update(h, NULL, 0), MC_OK);
            }
            memset(got2, 0, sizeof got2);
            assert_int_equal(mc__hmac_final(h, got2), MC_OK); /* frees h */
            assert_memory_equal(got2, got, 64);
        }
    }
    mc__hmac_free(NULL); /* a no-op */
    /* Init then free without final must not leak (checked under ASan). */
    {
        mc__hmac *h = NULL;
        assert_int_equal(mc__hmac_init(&h, (const uint8_t *)"k", 1), MC_OK);
        mc__hmac_free(h);
    }
}

static void test_hmac_sha512(void **state)
{
    (void)state;
    with_each_backend(hmac_vectors);
}

/* An empty key is allowed by RFC 2104 (zero-padded to the block size).
 * Value from Python: hmac.new(b'', b'abc', hashlib.sha512). */
static void test_hmac_empty_key(void **state)
{
    uint8_t expect[64], got[64];

    (void)state;
    unhex(expect, sizeof expect,
          "29689f6b79a8dd686068c2eeae97fd8769ad3ba65cb5381f838358a8045a358e"
          "e3ba1739c689c7805e31734fb6072f87261d1256995370d55725cba00d10bdd0");
    for (size_t b = 0; b < N_BACKENDS; b++) {
        mc__sodium_only = backends[b];
        memset(got, 0, sizeof got);
        assert_int_equal(mc__hmac_sha512(got, NULL, 0, (const uint8_t *)"abc", 3), MC_OK);
        mc__sodium_only = false;
        assert_memory_equal(got, expect, 64);
    }
}

/* ------------------------------------------------------------------ */
/* HKDF-SHA-512, RFC 5869                                              */

/* RFC 5869 §2.2-2.3 written out on our one-shot HMAC (mc__hmac_sha512,
 * on OpenSSL's SHA-512 where it is linked, checked against RFC 4231
 * above), as an independent reference
 * for mc__hkdf_sha512, which runs on libsodium's streaming
 * crypto_auth_hmacsha512 (a review found this comment naming OpenSSL's
 * EVP_KDF, which medcrypt does not use). */
static void ref_hkdf(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len)
{
    static const uint8_t zeros[64];
    uint8_t prk[64], t[64], buf[64 + 256 + 1];
    size_t t_len = 0, done = 0;

    assert_true(info_len <= 256);
    if (salt_len == 0) { /* §2.2: "if not provided, it is set to a string of HashLen zeros" */
        salt = zeros;
        salt_len = sizeof zeros;
    }
    assert_int_equal(mc__hmac_sha512(prk, salt, salt_len, ikm, ikm_len), MC_OK);
    for (unsigned i = 1; done < out_len; i++) {
        size_t n = 0;
        memcpy(buf, t, t_len);
        n += t_len;
        memcpy(buf + n, info, info_len);
        n += info_len;
        buf[n++] = (uint8_t)i;
        assert_int_equal(mc__hmac_sha512(t, prk, sizeof prk, buf, n), MC_OK);
        t_len = 64;
        size_t take = out_len - done < 64 ? out_len - done : 64;
        memcpy(out + done, t, take);
        done += take;
    }
}

struct hkdf_vec {
    const char *ikm, *salt, *info; /* hex; info hex must be ASCII without NUL */
    size_t len;
    const char *okm;
};

/* RFC 5869 A.1 and A.3 inputs (A.1's info f0..f9 is not a C string: its
 * text twin is below), with SHA-512. Values: Python hmac/hashlib; A.1's
 * also from `openssl kdf -kdfopt digest:SHA512 ... HKDF`. */
static const struct hkdf_vec hkdf_vecs[] = {
    /* A.3 inputs: empty salt, empty info */
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
     "f5fa02b18298a72a8c23898a8703472c6eb179dc204c03425c970e3b164bf90f"
     "ff22d04836d0e2343bac"},
};

static void test_hkdf_sha512(void **state)
{
    uint8_t ikm[80], salt[80], out[255 * 64], ref[255 * 64];

    (void)state;
    /* Literal vectors. */
    for (size_t v = 0; v < sizeof hkdf_vecs / sizeof hkdf_vecs[0]; v++) {
        uint8_t expect[256], info[128];
        size_t ikm_len = unhex(ikm, sizeof ikm, hkdf_vecs[v].ikm);
        size_t salt_len = unhex(salt, sizeof salt, hkdf_vecs[v].salt);
        size_t info_len = unhex(info, sizeof info - 1, hkdf_vecs[v].info);
        info[info_len] = '\0';
        assert_int_equal(unhex(expect, sizeof expect, hkdf_vecs[v].okm), hkdf_vecs[v].len);
        assert_int_equal(mc__hkdf_sha512(out, hkdf_vecs[v].len, ikm, ikm_len,
                                         salt_len ? salt : NULL, salt_len, (const char *)info),
                         MC_OK);
        assert_memory_equal(out, expect, hkdf_vecs[v].len);
    }

    /* Reference on our HMAC: RFC 5869 A.1's IKM and salt; lengths around
     * the 64-byte block of T(i) and the RFC's maximum 255 * HashLen. */
    const char *infos[] = {"", "medcrypt-v1 key-id", "medcrypt-v1 mac"};
    const size_t lens[] = {1, 8, 42, 64, 65, 200, 255 * 64};
    size_t ikm_len = unhex(ikm, sizeof ikm, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    size_t salt_len = unhex(salt, sizeof salt, "000102030405060708090a0b0c");
    for (size_t i = 0; i < sizeof infos / sizeof infos[0]; i++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            for (int with_salt = 0; with_salt < 2; with_salt++) {
                size_t sl = with_salt ? salt_len : 0;
                memset(out, 0, lens[l]);
                assert_int_equal(mc__hkdf_sha512(out, lens[l], ikm, ikm_len, salt, sl, infos[i]),
                                 MC_OK);
                ref_hkdf(ref, lens[l], ikm, ikm_len, salt, sl, (const uint8_t *)infos[i],
                         strlen(infos[i]));
                assert_memory_equal(out, ref, lens[l]);
            }
        }
    }
    /* A shorter output is a prefix of a longer one (same PRK, same T(i)). */
    assert_int_equal(mc__hkdf_sha512(ref, 200, ikm, ikm_len, salt, salt_len, "x"), MC_OK);
    assert_int_equal(mc__hkdf_sha512(out, 65, ikm, ikm_len, salt, salt_len, "x"), MC_OK);
    assert_memory_equal(out, ref, 65);
    /* RFC 5869 §2.3: L <= 255 * HashLen; and L = 0 is refused. */
    assert_int_equal(mc__hkdf_sha512(out, 255 * 64 + 1, ikm, ikm_len, salt, salt_len, "x"),
                     MC_EINVAL);
    assert_int_equal(mc__hkdf_sha512(out, 0, ikm, ikm_len, salt, salt_len, "x"), MC_EINVAL);
}

/* RFC 5869 A.1 inputs with SHA-512 (info f0..f9 has no NUL, so it fits the
 * C-string info). Python: hkdf(b'\x0b'*22, bytes(range(13)),
 * bytes(range(0xf0,0xfa)), 42); the same from `openssl kdf`. */
static void test_hkdf_sha512_a1(void **state)
{
    uint8_t ikm[22], salt[13], expect[42], out[42];
    char info[11];

    (void)state;
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (char)(0xf0 + i);
    info[10] = '\0';
    unhex(expect, sizeof expect,
          "832390086cda71fb47625bb5ceb168e4c8e26a1a16ed34d9fc7fe92c14815793"
          "38da362cb8d9f925d7cb");
    assert_int_equal(mc__hkdf_sha512(out, sizeof out, ikm, sizeof ikm, salt, sizeof salt, info),
                     MC_OK);
    assert_memory_equal(out, expect, sizeof out);
}

/* ------------------------------------------------------------------ */
/* ChaCha20, RFC 8439 §2.4.2, with the original 64-bit counter          */

/* RFC 8439 §2.4.2: key 00..1f, nonce 00:00:00:00 00:00:00:4a 00:00:00:00,
 * counter 1. In the original ChaCha's layout (mc__chacha20_xor_ic) state
 * words 12-13 are the 64-bit counter and 14-15 the 8-byte nonce: the
 * IETF nonce's first word is the counter's high word (0 here), its last 8
 * bytes the nonce. Then, with libsodium's crypto_stream_chacha20_xor_ic
 * as the reference, the low counter word's overflow (OpenSSL's
 * ChaCha20_ctr32 counts in 32 bits, crypto.c carries by hand) and
 * lengths that end inside a block. */
static void test_chacha20(void **state)
{
    static const char plain[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
                                "only one tip for the future, sunscreen would be it.";
    static const uint8_t nonce[8] = {0, 0, 0, 0x4a, 0, 0, 0, 0};
    static const uint64_t starts[] = {0, 1, 0xfffffffeu, 0xffffffffu, 0x1fffffffdu};
    static const size_t lens[] = {1, 63, 64, 65, 128, 200, 4096 + 7};
    uint8_t key[32], expect[114], got[114], *a, *b;

    (void)state;
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    assert_int_equal(strlen(plain), sizeof expect);
    unhex(expect, sizeof expect,
          "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
          "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
          "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
          "5af90bbf74a35be6b40b8eedf2785e42874d");
    a = malloc(4096 + 7);
    b = malloc(4096 + 7);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t be = 0; be < N_BACKENDS; be++) {
        mc__sodium_only = backends[be];
        memcpy(got, plain, sizeof got);
        mc__chacha20_xor_ic(got, sizeof got, nonce, 1, key);
        assert_memory_equal(got, expect, sizeof expect);
        /* In two calls, the second from block 2: the same bytes. */
        memcpy(got, plain, sizeof got);
        mc__chacha20_xor_ic(got, 64, nonce, 1, key);
        mc__chacha20_xor_ic(got + 64, sizeof got - 64, nonce, 2, key);
        assert_memory_equal(got, expect, sizeof expect);
        mc__chacha20_xor_ic(got, 0, nonce, 1, key); /* nothing */
        assert_memory_equal(got, expect, sizeof expect);

        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
            for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                for (size_t i = 0; i < lens[l]; i++)
                    a[i] = b[i] = (uint8_t)(i * 7);
                crypto_stream_chacha20_xor_ic(a, a, lens[l], nonce, starts[s], key);
                mc__chacha20_xor_ic(b, lens[l], nonce, starts[s], key);
                assert_memory_equal(a, b, lens[l]);
            }
    }
    mc__sodium_only = false;
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ */
/* Arguments the wrappers refuse, and no secret left on the stack      */

/* What the wrappers cannot use is refused (MC_EINVAL) before anything is
 * read or written through it, with either library: a NULL output, a NULL
 * key or message that has a length, a chunk of 0 bytes. mc__hmac_final
 * refuses a NULL output and still consumes its state (ASan: no leak).
 * Mutation testing, forty-sixth round (crypto.c: each of these checks
 * dropped; the OpenSSL path read through NULL or answered MC_ECRYPTO). */
static void primitive_arguments(void)
{
    static const uint8_t msg[3] = {'a', 'b', 'c'};
    uint8_t out[64], digests[2 * 64], expect[64];
    mc__hmac *h = NULL;

    assert_int_equal(mc__sha512(NULL, msg, sizeof msg), MC_EINVAL);
    assert_int_equal(mc__sha512_2(NULL, msg, 1, msg + 1, 2), MC_EINVAL);
    assert_int_equal(mc__sha512_chunks(digests, msg, sizeof msg, 0, 0, 1), MC_EINVAL);
    assert_int_equal(mc__sha512_chunks(NULL, msg, sizeof msg, 2, 0, 2), MC_EINVAL);
    assert_int_equal(mc__sha512_chunks(digests, NULL, sizeof msg, 2, 0, 2), MC_EINVAL);
    /* Chunks of 2 bytes: "ab", then the short "c". */
    assert_int_equal(mc__sha512_chunks(digests, msg, sizeof msg, 2, 0, 2), MC_OK);
    assert_int_equal(mc__sha512(expect, msg, 2), MC_OK);
    assert_memory_equal(digests, expect, 64);
    assert_int_equal(mc__sha512(expect, msg + 2, 1), MC_OK);
    assert_memory_equal(digests + 64, expect, 64);

    assert_int_equal(mc__hmac_init(NULL, msg, sizeof msg), MC_EINVAL);
    assert_int_equal(mc__hmac_init(&h, NULL, 5), MC_EINVAL);
    assert_null(h);
    assert_int_equal(mc__hmac_sha512(out, NULL, 5, msg, sizeof msg), MC_EINVAL);
    assert_int_equal(mc__hmac_sha512(out, msg, sizeof msg, NULL, 1), MC_EINVAL);
    assert_int_equal(mc__hmac_sha512(NULL, msg, sizeof msg, msg, sizeof msg), MC_EINVAL);
    /* A refused update leaves the state as it was. */
    assert_int_equal(mc__hmac_init(&h, msg, sizeof msg), MC_OK);
    assert_int_equal(mc__hmac_update(NULL, msg, sizeof msg), MC_EINVAL);
    assert_int_equal(mc__hmac_update(h, NULL, 1), MC_EINVAL);
    assert_int_equal(mc__hmac_update(h, msg, sizeof msg), MC_OK);
    assert_int_equal(mc__hmac_final(h, out), MC_OK);
    assert_int_equal(mc__hmac_sha512(expect, msg, sizeof msg, msg, sizeof msg), MC_OK);
    assert_memory_equal(out, expect, 64);
    assert_int_equal(mc__hmac_init(&h, msg, sizeof msg), MC_OK);
    assert_int_equal(mc__hmac_final(h, NULL), MC_EINVAL); /* h consumed all the same */
    assert_int_equal(mc__hmac_final(NULL, out), MC_EINVAL);
}

static void test_primitive_arguments(void **state)
{
    (void)state;
    with_each_backend(primitive_arguments);
}

/* No key left on the stack. The primitives hold secrets in their frames
 * (crypto.c's "secret: wiped": ChaCha20's key words, HMAC's key padded to
 * the block and XORed with the pads, OpenSSL's SHA-512 state with the
 * message's last block, HKDF's PRK and T(i)) and wipe them before they
 * return: what is left below the caller's frame, where the next frame or
 * a core dump finds it, is searched for the secret's bytes. Each call
 * runs 2 KiB below the test's frame (stack_call_deeper), where the
 * search looks. Not under the sanitizers (tests/stack_search.h).
 * Mutation testing, forty-sixth round (crypto.c: the wipes of OpenSSL's
 * SHA-512 state, of HMAC's key copy and pad, and of ChaCha20's key words
 * dropped). */

struct secret_call {
    int what; /* 0 SHA-512, 1 HMAC, 2 ChaCha20, 3 HKDF */
    const uint8_t *secret;
    size_t len;
    uint8_t *buf; /* 256 bytes */
};

static __attribute__((noinline)) void secret_call_run(void *arg)
{
    static const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct secret_call *c = arg;
    uint8_t out[64];
    mc__hmac *h = NULL;

    switch (c->what) {
    case 0: /* the secret is the message: its last block stays in the state */
        assert_int_equal(mc__sha512(out, c->secret, c->len), MC_OK);
        break;
    case 1: /* init alone: an update's or final's frames would cover its frame */
        assert_int_equal(mc__hmac_init(&h, c->secret, c->len), MC_OK);
        mc__hmac_free(h);
        break;
    case 2:
        mc__chacha20_xor_ic(c->buf, 256, nonce, 5, c->secret);
        break;
    default:
        assert_int_equal(mc__hkdf_sha512(out, sizeof out, c->secret, c->len, NULL, 0, "k"),
                         MC_OK);
        break;
    }
}

static void test_no_key_left_on_stack(void **state)
{
    uint8_t secret[100], opad[32], ipad[32], buf[256];
    (void)state;
    STACK_SEARCH_SKIP_UNDER_SANITIZERS();
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(0x80 + i * 37);
    for (size_t i = 0; i < sizeof opad; i++) {
        opad[i] = secret[i] ^ 0x5c;
        ipad[i] = secret[i] ^ 0x36;
    }
    for (size_t b = 0; b < N_BACKENDS; b++)
        for (int what = 0; what < 4; what++) {
            struct secret_call c = {what, secret, what == 0 ? 100 : 32, buf};
            /* libsodium's own ChaCha20 leaves key words in its frames (in
             * libsodium 1.0.18: its code, not crypto.c's) */
            if (what == 2 && backends[b])
                continue;
            memset(buf, 0x11, sizeof buf);
            mc__sodium_only = backends[b];
            stack_clear();
            stack_call_deeper(secret_call_run, &c);
            mc__sodium_only = false;
            if (stack_holds(secret, 32))
                fail_msg("call %d (%s): the key's bytes left on the stack", what,
                         backends[b] ? "libsodium" : "OpenSSL");
            if (what == 0 && stack_holds(secret + 68, 32))
                fail_msg("SHA-512 (%s): the message's last bytes left on the stack",
                         backends[b] ? "libsodium" : "OpenSSL");
            if (what == 1 && (stack_holds(opad, sizeof opad) || stack_holds(ipad, sizeof ipad)))
                fail_msg("HMAC (%s): the padded key left on the stack",
                         backends[b] ? "libsodium" : "OpenSSL");
        }
}

/* ------------------------------------------------------------------ */
/* Philox4x32-10, Random123 kat_vectors                                */

struct philox_vec {
    uint32_t ctr[4], key[2], out[4];
};

static const struct philox_vec philox_vecs[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_philox(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof philox_vecs / sizeof philox_vecs[0]; v++) {
        uint32_t got[4] = {0};
        mc__philox(got, philox_vecs[v].ctr, philox_vecs[v].key);
        assert_memory_equal(got, philox_vecs[v].out, sizeof got);
    }
}

static void test_philox_stream_layout(void **state)
{
    const uint32_t key[2] = {0xa4093822, 0x299f31d0};
    const uint32_t c1 = 0x85a308d3, c2 = 0x13198a2e, c3 = 0x03707344;
    uint8_t stream[16 * 5 + 1];

    (void)state;
    /* Block 0 of the all-zero stream is the first KAT, words little-endian. */
    {
        const uint32_t zero[2] = {0, 0};
        const uint8_t expect[16] = {0xd5, 0xe8, 0x27, 0x66, 0x8d, 0xc5, 0x69, 0xe1,
                                    0x4c, 0xac, 0x57, 0xbc, 0xd8, 0xdb, 0x00, 0x9b};
        mc__philox_stream(stream, 1, zero, 0, 0, 0);
        assert_memory_equal(stream, expect, 16);
    }
    /* Block i is Philox(ctr = {i, c1, c2, c3}); nothing past n_blocks. */
    memset(stream, 0x5a, sizeof stream);
    mc__philox_stream(stream, 5, key, c1, c2, c3);
    for (uint32_t i = 0; i < 5; i++) {
        const uint32_t ctr[4] = {i, c1, c2, c3};
        uint32_t w[4];
        uint8_t le[16];
        mc__philox(w, ctr, key);
        for (int j = 0; j < 16; j++)
            le[j] = (uint8_t)(w[j / 4] >> (8 * (j % 4)));
        assert_memory_equal(stream + 16 * i, le, 16);
    }
    assert_int_equal(stream[80], 0x5a);
}

/* ------------------------------------------------------------------ */
/* Verhoeff (1969)                                                     */

struct verhoeff_vec {
    const char *digits;
    bool valid;
};

/* Valid numbers: prefix + check digit from an independent Python
 * implementation of the published tables (236 -> 3 is Wikipedia's worked
 * example; 12345 -> 1 and 123456789012 -> 0 appear in common references). */
static const struct verhoeff_vec verhoeff_vecs[] = {
    {"2363", true},          {"2364", false},         {"2336", false},
    {"123451", true},        {"123452", false},       {"123456789010", true},
    {"123456789011", false}, {"234567890124", true},  {"234567890125", false},
    {"234567890214", false}, {"999999999999", true},  {"500000000006", true},
    {"284651937057", true},  {"876543210988", true},  {"034567890128", true},
    {"134567890129", true},  {"134567890128", false}, {"2a63", false},
};

static void test_verhoeff_table(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof verhoeff_vecs / sizeof verhoeff_vecs[0]; v++) {
        const char *d = verhoeff_vecs[v].digits;
        size_t n = strlen(d);
        assert_int_equal(mc__verhoeff_valid(d, n), verhoeff_vecs[v].valid);
        if (verhoeff_vecs[v].valid)
            assert_int_equal(mc__verhoeff_digit(d, n - 1), d[n - 1] - '0');
    }
    assert_int_equal(mc__verhoeff_digit("236", 3), 3);
    assert_int_equal(mc__verhoeff_digit("2a6", 3), -1);
    assert_false(mc__verhoeff_valid("", 0));
}

/* Every single-digit substitution and every transposition of adjacent
 * (different) digits of a valid 12-digit number is detected: the property
 * Verhoeff's scheme was designed for. */
static void test_verhoeff_detects(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof verhoeff_vecs / sizeof verhoeff_vecs[0]; v++) {
        char d[13];
        if (!verhoeff_vecs[v].valid || strlen(verhoeff_vecs[v].digits) != 12)
            continue;
        memcpy(d, verhoeff_vecs[v].digits, 13);
        for (int i = 0; i < 12; i++) {
            const char orig = d[i];
            for (char c = '0'; c <= '9'; c++) {
                d[i] = c;
                assert_int_equal(mc__verhoeff_valid(d, 12), c == orig);
            }
            d[i] = orig;
        }
        for (int i = 0; i + 1 < 12; i++) {
            if (d[i] == d[i + 1])
                continue;
            char t = d[i];
            d[i] = d[i + 1];
            d[i + 1] = t;
            assert_false(mc__verhoeff_valid(d, 12));
            d[i + 1] = d[i];
            d[i] = t;
        }
        assert_true(mc__verhoeff_valid(d, 12));
    }
}

/* The appended check digit is the only one that validates, for prefixes
 * built from a simple deterministic sequence. */
static void test_verhoeff_digit(void **state)
{
    char d[13];
    uint32_t x = 12345;

    (void)state;
    for (int round = 0; round < 500; round++) {
        for (int i = 0; i < 11; i++) {
            x = x * 1103515245u + 12345u;
            d[i] = (char)('0' + (x >> 16) % 10);
        }
        int c = mc__verhoeff_digit(d, 11);
        assert_in_range(c, 0, 9);
        for (int k = 0; k <= 9; k++) {
            d[11] = (char)('0' + k);
            assert_int_equal(mc__verhoeff_valid(d, 12), k == c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha512),
        cmocka_unit_test(test_openssl_loaded),
        cmocka_unit_test(test_dl_load),
        cmocka_unit_test(test_hmac_sha512),
        cmocka_unit_test(test_hmac_empty_key),
        cmocka_unit_test(test_hkdf_sha512),
        cmocka_unit_test(test_hkdf_sha512_a1),
        cmocka_unit_test(test_chacha20),
        cmocka_unit_test(test_primitive_arguments),
        cmocka_unit_test(test_no_key_left_on_stack),
        cmocka_unit_test(test_philox),
        cmocka_unit_test(test_philox_stream_layout),
        cmocka_unit_test(test_verhoeff_table),
        cmocka_unit_test(test_verhoeff_detects),
        cmocka_unit_test(test_verhoeff_digit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
