/*
 * OpenSSL's libcrypto as a table of functions, loaded on first use by the
 * benchmark (ossl.c says why). Internal: never installed.
 */
#ifndef MC_OSSL_H
#define MC_OSSL_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Every libcrypto function called through the loaded library, and nothing
 * else: the benchmark's HMAC-SHA-512 reference (bench/bench.c). The
 * cipher's SHA-512 and ChaCha20 are linked in instead (crypto.c). */
#define MC__OSSL_FUNCTIONS(X)                                                                 \
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
