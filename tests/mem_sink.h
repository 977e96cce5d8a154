/* A memory sink for the streaming calls (mc_write_fn), shared by the
 * unit tests; include after <cmocka.h>. */
#ifndef MC_TEST_MEM_SINK_H
#define MC_TEST_MEM_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An mc_write_fn that gathers the pieces in memory (p, len; free p), and
 * fails (returns -1) once it would hold more than fail_after bytes. A
 * writer that failed is not called again: what comes after a hole in the
 * file is of no use, and a caller's writer (a socket, a file on a full
 * disk) may not expect it. */
struct mem_sink {
    uint8_t *p;
    size_t len, fail_after;
    unsigned calls;
    bool failed;
};

static inline int mem_sink_write(void *user, const uint8_t *data, size_t len)
{
    struct mem_sink *k = user;
    uint8_t *p;

    assert_false(k->failed);
    if (len > k->fail_after - k->len) {
        k->failed = true;
        return -1;
    }
    assert_non_null(p = realloc(k->p, k->len + len > 0 ? k->len + len : 1));
    if (len > 0)
        memcpy(p + k->len, data, len);
    k->p = p;
    k->len += len;
    k->calls++;
    return 0;
}

#endif
