/*
 * OpenSSL's libcrypto as a shared library, loaded with dlopen(3) by
 * `medcrypt bench` alone, for its reference: one HMAC-SHA-512 pass
 * through OpenSSL's public API (issue 11 defines it so).
 *
 * Why not link it: libcrypto carries the tables of every algorithm of its
 * default provider, about 17,000 pointers that the dynamic loader
 * relocates, and so copies, at the start of every process that links it
 * (348 KiB of pages, 90 page faults). Measured on a program that only
 * prints a line: 3.3 -> 4.8 ms with libcrypto linked in statically, 6.7 ms
 * linked dynamically (docs/PERFORMANCE.md, "Whole process"). The cipher
 * needs none of it: the SHA-512 and ChaCha20 assembly it runs are linked
 * in from libcrypto.a without the provider machinery (crypto.c). So
 * nothing but the benchmark loads libcrypto (about 3 ms, and 1-2 ms more
 * for its first fetch). If it cannot be loaded, mc__ossl() returns NULL
 * and the benchmark says so.
 *
 * The table's types are taken from OpenSSL's own declarations
 * (__typeof__), so a prototype cannot drift from the headers it was
 * built against; the soname (MC_LIBCRYPTO_SONAME, from meson) is the
 * major version those headers belong to.
 */
#include "ossl.h"

#include "internal.h"

#include <pthread.h>
#include <string.h>

#ifndef MC_LIBCRYPTO_SONAME
#error "meson defines MC_LIBCRYPTO_SONAME (the libcrypto the headers belong to)"
#endif

static struct mc__ossl table;
static const struct mc__ossl *loaded; /* &table once every symbol resolved */
static pthread_once_t once = PTHREAD_ONCE_INIT;

bool mc__ossl_open(const char *soname, struct mc__ossl *t)
{
#define MC__OSSL_NAME(f) #f,
    static const char *const names[] = {MC__OSSL_FUNCTIONS(MC__OSSL_NAME)};
#undef MC__OSSL_NAME
    void *sym[sizeof names / sizeof names[0]];
    size_t i = 0;

    if (t == NULL)
        return false;
    memset(t, 0, sizeof *t);
    /* OpenSSL registers clean-up at exit: the library stays loaded. */
    if (!mc__dl_load(soname, names, sym, sizeof names / sizeof names[0], NULL, 0))
        return false;
#define MC__OSSL_SET(f) memcpy(&t->f, &sym[i++], sizeof t->f);
    MC__OSSL_FUNCTIONS(MC__OSSL_SET)
#undef MC__OSSL_SET
    return true;
}

static void load(void)
{
    if (mc__ossl_open(MC_LIBCRYPTO_SONAME, &table))
        loaded = &table;
}

const struct mc__ossl *mc__ossl(void)
{
    /* pthread_once orders the table's writes before every caller's
     * reads: any thread may be the first. */
    pthread_once(&once, load);
    return loaded;
}
