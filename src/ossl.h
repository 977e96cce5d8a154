/*
 * OpenSSL's libcrypto as a table of functions, loaded on first use
 * (ossl.c says why). Internal: never installed.
 */
#ifndef MC_OSSL_H
#define MC_OSSL_H

#include <stdbool.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Every libcrypto function medcrypt calls through the loaded library, and
 * nothing else: HMAC over bulk data (crypto.c), ChaCha20 (stage_v2.c),
 * the start-up the command runs early (cli/cmd_crypt.c) and the
 * benchmark's reference (bench/bench.c). SHA-512 is linked in instead
 * (crypto.c). */
#define MC__OSSL_FUNCTIONS(X)                                                                 \
    X(OPENSSL_init_crypto)                                                                    \
    X(EVP_MAC_fetch)                                                                          \
    X(EVP_MAC_free)                                                                           \
    X(EVP_MAC_CTX_new)                                                                        \
    X(EVP_MAC_CTX_free)                                                                       \
    X(EVP_MAC_init)                                                                           \
    X(EVP_MAC_update)                                                                         \
    X(EVP_MAC_final)                                                                          \
    X(EVP_CIPHER_fetch)                                                                       \
    X(EVP_CIPHER_free)                                                                        \
    X(EVP_CIPHER_CTX_new)                                                                     \
    X(EVP_CIPHER_CTX_free)                                                                    \
    X(EVP_EncryptInit_ex2)                                                                    \
    X(EVP_EncryptUpdate)                                                                      \
    X(EVP_sha512)                                                                             \
    X(HMAC)

struct mc__ossl {
#define MC__OSSL_FIELD(f) __typeof__(&f) f;
    MC__OSSL_FUNCTIONS(MC__OSSL_FIELD)
#undef MC__OSSL_FIELD
};

/* The table, libcrypto loaded on the first call (thread-safe); NULL if
 * it cannot be loaded, and then on every call. */
const struct mc__ossl *mc__ossl(void);

/* Loads the library `soname` and fills *t; false (and *t zeroed) if the
 * library or any function is missing. mc__ossl's work, for tests. */
bool mc__ossl_open(const char *soname, struct mc__ossl *t);

#endif
