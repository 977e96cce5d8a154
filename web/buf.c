/* Byte buffers, escaping and templates for the web application. */
#include "web.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Under AddressSanitizer the bytes of a block past its NUL are poisoned,
 * as the command's file buffers are (mc__huge_poison_after): an upload is
 * parsed where it lies, in its field's buffer, and a decoder reading past
 * its end would otherwise read the slack of a doubled block unnoticed. */
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define WEB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define WEB_ASAN 1
#endif
#endif
#ifdef WEB_ASAN
#include <sanitizer/asan_interface.h>

static void tail_open(struct buf *b)
{
    if (b->p != NULL)
        ASAN_UNPOISON_MEMORY_REGION(b->p, b->cap);
}

static void tail_close(struct buf *b)
{
    if (b->p != NULL)
        ASAN_POISON_MEMORY_REGION(b->p + b->len + 1, b->cap - b->len - 1);
}
#else
static void tail_open(struct buf *b) { (void)b; }
static void tail_close(struct buf *b) { (void)b; }
#endif

const struct web_asset *web_asset_find(const char *name)
{
    for (const struct web_asset *a = web_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* Room for n more bytes and the terminating NUL. Grows by copying into a
 * new block and wiping the old one: the buffer may hold secrets. On true
 * the whole block is writable; the writer ends with tail_close. */
static bool reserve(struct buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->oom)
        return false;
    if (n < b->cap - b->len && b->p != NULL) {
        tail_open(b);
        return true;
    }
    if (n > SIZE_MAX / 2 - b->len - 1) {
        b->oom = true;
        return false;
    }
    cap = b->cap < 256 ? 256 : b->cap;
    while (cap - b->len <= n)
        cap *= 2;
    if ((p = malloc(cap)) == NULL) {
        b->oom = true;
        return false;
    }
    if (b->p != NULL) {
        tail_open(b);
        memcpy(p, b->p, b->len);
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0';
    return true;
}

void buf_put(struct buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    tail_close(b);
}

void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    tail_close(b);
}

void buf_html(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default: buf_put(b, s, 1);
        }
    }
}

void buf_json(struct buf *b, const char *s)
{
    buf_put(b, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\u%04x", c);
        else
            buf_put(b, s, 1);
    }
    buf_put(b, "\"", 1);
}

void buf_base64(struct buf *b, const uint8_t *data, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);

    if (!reserve(b, n))
        return;
    sodium_bin2base64(b->p + b->len, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    b->len += n - 1; /* n counts the NUL */
    tail_close(b);
}

void web_human_size(char *out, size_t size, uint64_t n)
{
    if (n >= (uint64_t)1 << 20)
        snprintf(out, size, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1024)
        snprintf(out, size, "%.1f KiB", (double)n / 1024);
    else
        snprintf(out, size, "%" PRIu64 " bytes", n);
}

void buf_wipe(struct buf *b)
{
    if (b->p != NULL) {
        tail_open(b);
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void buf_template(struct buf *b, const char *asset, const char *const *vars)
{
    const struct web_asset *a = web_asset_find(asset);
    const char *s, *end, *open, *close;

    if (a == NULL) {
        b->oom = true; /* a build error: reported as a failure */
        return;
    }
    s = (const char *)a->data;
    end = s + a->len;
    while (s < end) {
        bool raw;
        size_t n;

        open = strstr(s, "{{");
        if (open == NULL) {
            buf_put(b, s, (size_t)(end - s));
            break;
        }
        buf_put(b, s, (size_t)(open - s));
        close = strstr(open + 2, "}}");
        if (close == NULL) {
            buf_put(b, open, (size_t)(end - open));
            break;
        }
        raw = open[2] == '&';
        n = (size_t)(close - open - 2 - raw);
        for (const char *const *v = vars; v != NULL && v[0] != NULL; v += 2) {
            if (strlen(v[0]) == n && memcmp(v[0], open + 2 + raw, n) == 0) {
                if (v[1] == NULL)
                    break;
                if (raw)
                    buf_puts(b, v[1]);
                else
                    buf_html(b, v[1]);
                break;
            }
        }
        s = close + 2;
    }
}
