/*
 * Libraries loaded on first use with dlopen(3): OpenSSL's libcrypto for
 * the benchmark's reference (ossl.c), libjpeg for the first JPEG
 * (codec_jpeg.c). Each keeps a typed table of the functions it calls;
 * this is the part they share.
 */
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>

bool mc__dl_load(const char *soname, const char *const names[], void *syms[], size_t n,
                 char *why, size_t why_len)
{
    const char *e;
    void *lib;

    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (soname == NULL || syms == NULL)
        return false;
    /* RTLD_LOCAL: its symbols stay out of the global scope, where they
     * could resolve another library's references to a different version
     * of the same library. RTLD_NOW: every symbol found now, not at a
     * first call in the middle of a decode. The handle is never closed:
     * the callers' tables point into it. */
    if ((lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        e = dlerror();
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "%s", e != NULL ? e : soname);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if ((syms[i] = dlsym(lib, names[i])) == NULL) {
            if (why != NULL && why_len > 0)
                snprintf(why, why_len, "%s: no function %s", soname, names[i]);
            dlclose(lib);
            goto fail;
        }
    }
    return true;
fail:
    memset(syms, 0, n * sizeof syms[0]);
    return false;
}
