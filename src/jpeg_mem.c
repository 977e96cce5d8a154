/* libjpeg's memory, wiped before it is freed. libjpeg allocates through
 * its own memory manager (jmemmgr.c over malloc), which frees its pools
 * as they are: a core dump after a JPEG encrypt held the last rows of the
 * decoded image in freed heap (a review, docs/SECURITY.md). The manager is
 * an object of method pointers that libjpeg calls through (libjpeg.txt,
 * "Memory management"; structure.txt: "the memory manager ... can be
 * replaced"), so every allocation it hands out is noted here, by pool,
 * and wiped when its pool is freed (jpeg_finish_decompress frees
 * JPOOL_IMAGE; jpeg_destroy_decompress the rest). libjpeg's own allocator
 * still allocates: its alignment and row padding, which its SIMD code
 * relies on, stay its own.
 *
 * What is noted: alloc_small and alloc_large blocks (Huffman state, bit
 * buffers, coefficient blocks); the rows of alloc_sarray and alloc_barray
 * (the upsampling, colour conversion and context rows: the samples),
 * each run of rows at a fixed stride as one span with the padding between
 * them; and the rows of virtual arrays (a progressive JPEG's coefficients
 * for the whole image) as access_virt_* returns them. The notes hold
 * pointers only. */
#include "internal.h"

#include <stddef.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <sodium.h>

struct span {
    uint8_t *p;
    size_t n;
    int pool;
};

struct varr {
    void *handle; /* jvirt_sarray_ptr or jvirt_barray_ptr */
    int pool;
    size_t row_bytes;
    JDIMENSION rows;
    uint8_t **row; /* rows[rows], as accessed; NULL until then */
};

struct track {
    struct jpeg_memory_mgr orig; /* libjpeg's methods */
    struct span *spans;
    size_t n_spans, cap_spans;
    struct varr *varrs;
    size_t n_varrs, cap_varrs;
};

static struct track *track_of(j_common_ptr cinfo)
{
    return cinfo->client_data;
}

/* Out of memory for a note: libjpeg's own out-of-memory error (it does
 * not return), so that nothing is handed out unnoted. */
static void no_room(j_common_ptr cinfo)
{
    cinfo->err->msg_code = JERR_OUT_OF_MEMORY;
    cinfo->err->msg_parm.i[0] = 0;
    (*cinfo->err->error_exit)(cinfo);
}

static void note(j_common_ptr cinfo, void *p, size_t n, int pool)
{
    struct track *t = track_of(cinfo);

    if (p == NULL || n == 0)
        return;
    if (t->n_spans == t->cap_spans) {
        size_t cap = t->cap_spans ? 2 * t->cap_spans : 64;
        struct span *s = realloc(t->spans, cap * sizeof *s); /* pointers only */
        if (s == NULL)
            no_room(cinfo);
        t->spans = s;
        t->cap_spans = cap;
    }
    t->spans[t->n_spans++] = (struct span){p, n, pool};
}

/* An array of rows of row_bytes each: runs at one stride (rows of one
 * chunk, padded by libjpeg to its SIMD alignment) as one span from the
 * first row to the end of the last one's stride; a lone row as itself. */
static void note_rows(j_common_ptr cinfo, void **rows, JDIMENSION n, size_t row_bytes, int pool)
{
    JDIMENSION i = 0;

    while (i < n) {
        uint8_t *first = rows[i];
        size_t stride = row_bytes;
        JDIMENSION k = i + 1;

        if (k < n && (uint8_t *)rows[k] > first &&
            (size_t)((uint8_t *)rows[k] - first) >= row_bytes &&
            (size_t)((uint8_t *)rows[k] - first) <= row_bytes + 256) {
            stride = (size_t)((uint8_t *)rows[k] - first);
            while (k < n && (uint8_t *)rows[k] == (uint8_t *)rows[k - 1] + stride)
                k++;
        }
        note(cinfo, first, (size_t)(k - i - 1) * stride + (k - i > 1 ? stride : row_bytes), pool);
        i = k;
    }
}

static void *alloc_small(j_common_ptr cinfo, int pool, size_t n)
{
    void *p = track_of(cinfo)->orig.alloc_small(cinfo, pool, n);
    note(cinfo, p, n, pool);
    return p;
}

static void *alloc_large(j_common_ptr cinfo, int pool, size_t n)
{
    void *p = track_of(cinfo)->orig.alloc_large(cinfo, pool, n);
    note(cinfo, p, n, pool);
    return p;
}

static JSAMPARRAY alloc_sarray(j_common_ptr cinfo, int pool, JDIMENSION per_row, JDIMENSION rows)
{
    JSAMPARRAY a = track_of(cinfo)->orig.alloc_sarray(cinfo, pool, per_row, rows);
    note_rows(cinfo, (void **)a, rows, (size_t)per_row * sizeof(JSAMPLE), pool);
    return a;
}

static JBLOCKARRAY alloc_barray(j_common_ptr cinfo, int pool, JDIMENSION per_row, JDIMENSION rows)
{
    JBLOCKARRAY a = track_of(cinfo)->orig.alloc_barray(cinfo, pool, per_row, rows);
    note_rows(cinfo, (void **)a, rows, (size_t)per_row * sizeof(JBLOCK), pool);
    return a;
}

static void note_varr(j_common_ptr cinfo, void *handle, int pool, size_t row_bytes,
                      JDIMENSION rows)
{
    struct track *t = track_of(cinfo);
    uint8_t **row;

    if (t->n_varrs == t->cap_varrs) {
        size_t cap = t->cap_varrs ? 2 * t->cap_varrs : 8;
        struct varr *v = realloc(t->varrs, cap * sizeof *v);
        if (v == NULL)
            no_room(cinfo);
        t->varrs = v;
        t->cap_varrs = cap;
    }
    if ((row = calloc(rows > 0 ? rows : 1, sizeof *row)) == NULL)
        no_room(cinfo);
    t->varrs[t->n_varrs++] = (struct varr){handle, pool, row_bytes, rows, row};
}

static void note_access(j_common_ptr cinfo, void *handle, void **rows, JDIMENSION start,
                        JDIMENSION n)
{
    struct track *t = track_of(cinfo);

    for (size_t i = 0; i < t->n_varrs; i++) {
        struct varr *v = &t->varrs[i];
        if (v->handle != handle)
            continue;
        for (JDIMENSION r = 0; r < n && start + r < v->rows; r++)
            v->row[start + r] = rows[r];
        return;
    }
}

static jvirt_sarray_ptr request_virt_sarray(j_common_ptr cinfo, int pool, boolean pre_zero,
                                            JDIMENSION per_row, JDIMENSION rows,
                                            JDIMENSION maxaccess)
{
    jvirt_sarray_ptr h =
        track_of(cinfo)->orig.request_virt_sarray(cinfo, pool, pre_zero, per_row, rows, maxaccess);
    note_varr(cinfo, h, pool, (size_t)per_row * sizeof(JSAMPLE), rows);
    return h;
}

static jvirt_barray_ptr request_virt_barray(j_common_ptr cinfo, int pool, boolean pre_zero,
                                            JDIMENSION per_row, JDIMENSION rows,
                                            JDIMENSION maxaccess)
{
    jvirt_barray_ptr h =
        track_of(cinfo)->orig.request_virt_barray(cinfo, pool, pre_zero, per_row, rows, maxaccess);
    note_varr(cinfo, h, pool, (size_t)per_row * sizeof(JBLOCK), rows);
    return h;
}

static JSAMPARRAY access_virt_sarray(j_common_ptr cinfo, jvirt_sarray_ptr h, JDIMENSION start,
                                     JDIMENSION n, boolean writable)
{
    JSAMPARRAY a = track_of(cinfo)->orig.access_virt_sarray(cinfo, h, start, n, writable);
    note_access(cinfo, h, (void **)a, start, n);
    return a;
}

static JBLOCKARRAY access_virt_barray(j_common_ptr cinfo, jvirt_barray_ptr h, JDIMENSION start,
                                      JDIMENSION n, boolean writable)
{
    JBLOCKARRAY a = track_of(cinfo)->orig.access_virt_barray(cinfo, h, start, n, writable);
    note_access(cinfo, h, (void **)a, start, n);
    return a;
}

/* Wipes and forgets what pool holds (all pools: pool < 0). */
static void wipe_pool(struct track *t, int pool)
{
    size_t keep = 0;

    for (size_t i = 0; i < t->n_spans; i++) {
        if (pool < 0 || t->spans[i].pool == pool)
            sodium_memzero(t->spans[i].p, t->spans[i].n);
        else
            t->spans[keep++] = t->spans[i];
    }
    t->n_spans = keep;
    keep = 0;
    for (size_t i = 0; i < t->n_varrs; i++) {
        struct varr *v = &t->varrs[i];
        if (pool < 0 || v->pool == pool) {
            for (JDIMENSION r = 0; r < v->rows; r++)
                if (v->row[r] != NULL)
                    sodium_memzero(v->row[r], v->row_bytes);
            free(v->row);
        } else {
            t->varrs[keep++] = *v;
        }
    }
    t->n_varrs = keep;
}

static void free_pool(j_common_ptr cinfo, int pool)
{
    struct track *t = track_of(cinfo);

    wipe_pool(t, pool);
    t->orig.free_pool(cinfo, pool);
}

static void self_destruct(j_common_ptr cinfo)
{
    struct track *t = track_of(cinfo);
    void (*destruct)(j_common_ptr) = t->orig.self_destruct;

    wipe_pool(t, -1);
    free(t->spans);
    free(t->varrs);
    free(t);
    cinfo->client_data = NULL;
    destruct(cinfo);
}

bool mc__jpeg_track(struct jpeg_common_struct *cinfo)
{
    struct track *t;

    if (cinfo == NULL || cinfo->mem == NULL || (t = calloc(1, sizeof *t)) == NULL)
        return false;
    t->orig = *cinfo->mem;
    cinfo->client_data = t;
    cinfo->mem->alloc_small = alloc_small;
    cinfo->mem->alloc_large = alloc_large;
    cinfo->mem->alloc_sarray = alloc_sarray;
    cinfo->mem->alloc_barray = alloc_barray;
    cinfo->mem->request_virt_sarray = request_virt_sarray;
    cinfo->mem->request_virt_barray = request_virt_barray;
    cinfo->mem->access_virt_sarray = access_virt_sarray;
    cinfo->mem->access_virt_barray = access_virt_barray;
    cinfo->mem->free_pool = free_pool;
    cinfo->mem->self_destruct = self_destruct;
    return true;
}
