/*
 * The web application's byte buffers (web/buf.c): what every page and
 * every upload passes through. Escaping (HTML, JSON), base64 (RFC 4648
 * §10's vectors), templates, growth that keeps the bytes and the NUL,
 * and, under AddressSanitizer, the slack past the NUL poisoned, so that a
 * decoder reading past an upload's end is caught in the ASan suite.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http.h" /* web_sanitize_name (web/api.c) */
#include "web.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* The buffer holds exactly `want`, NUL-terminated, and (under ASan) no
 * byte past the NUL can be read. */
static void assert_buf(const struct buf *b, const char *want, size_t want_len)
{
    assert_false(b->oom);
    assert_int_equal(b->len, want_len);
    assert_non_null(b->p);
    assert_memory_equal(b->p, want, want_len);
    assert_int_equal(b->p[b->len], '\0');
    assert_true(b->cap > b->len);
#ifdef TEST_ASAN
    assert_false(__asan_address_is_poisoned(b->p + b->len));
    if (b->cap > b->len + 1) {
        assert_true(__asan_address_is_poisoned(b->p + b->len + 1));
        assert_true(__asan_address_is_poisoned(b->p + b->cap - 1));
    }
#endif
}

static void test_put_grows_and_keeps(void **state)
{
    struct buf b = {0};
    char want[5000];
    size_t n = 0;

    (void)state;
    buf_put(&b, "", 0); /* present, even if empty (an empty upload) */
    assert_buf(&b, "", 0);
    /* Lengths that straddle every doubling of the block (256 → 8 KiB). */
    for (size_t step = 1; n + step < sizeof want; step += 7) {
        for (size_t i = 0; i < step; i++)
            want[n + i] = (char)('a' + (n + i) % 26);
        buf_put(&b, want + n, step);
        n += step;
        assert_buf(&b, want, n);
    }
    assert_true(n > 4096);
    buf_wipe(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

/* A put of exactly the room left: the NUL needs one byte more, so the
 * block grows (web/buf.c's reserve: room for n bytes and the NUL), from
 * an empty buffer and from a partly filled one. A length no block can
 * hold (doubling it would overflow size_t) fails the buffer without
 * reading the data, and a failed buffer stays failed and unchanged. */
static void test_put_exact_room(void **state)
{
    struct buf b = {0};
    const char *never_read = "x";
    char fill[600];

    (void)state;
    memset(fill, 'q', sizeof fill);
    buf_put(&b, fill, 256); /* the first block's whole size */
    assert_buf(&b, fill, 256);
    buf_wipe(&b);

    buf_put(&b, fill, 100);
    assert_int_equal(b.cap, 256);
    buf_put(&b, fill + 100, 156); /* the first block's room, less the NUL's byte */
    assert_buf(&b, fill, 256);
    assert_int_equal(b.cap, 512);
    buf_put(&b, fill + 256, 255); /* 512 - 256 - 1: fits with its NUL */
    assert_buf(&b, fill, 511);
    assert_int_equal(b.cap, 512);

    buf_put(&b, never_read, SIZE_MAX / 2);
    assert_true(b.oom);
    assert_int_equal(b.len, 511);
    buf_put(&b, "y", 1);
    buf_printf(&b, "%d", 7);
    assert_int_equal(b.len, 511);
    assert_int_equal(b.cap, 512);
    buf_wipe(&b);
    assert_false(b.oom);
}

/* The sizes the pages show: bytes below 1 KiB, KiB below 1 MiB. */
static void test_human_size(void **state)
{
    static const struct {
        uint64_t n;
        const char *want;
    } cases[] = {
        {0, "0 bytes"},
        {1023, "1023 bytes"},
        {1024, "1.0 KiB"},
        {1536, "1.5 KiB"},
        {(1 << 20) - 1, "1024.0 KiB"},
        {1 << 20, "1.0 MiB"},
        {(uint64_t)5 << 30, "5120.0 MiB"},
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        web_human_size(out, sizeof out, cases[i].n);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_printf(void **state)
{
    struct buf b = {0};
    char big[600];

    (void)state;
    buf_printf(&b, "%s", ""); /* present, even if empty, as buf_put's */
    assert_buf(&b, "", 0);
    buf_printf(&b, "%s=%d;", "x", -42);
    assert_buf(&b, "x=-42;", 6);
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big); /* past the first block */
    assert_int_equal(b.len, 6 + 2 + sizeof big - 1);
    assert_memory_equal(b.p, "x=-42;[", 7);
    assert_int_equal(b.p[b.len - 1], ']');
    assert_buf(&b, b.p, b.len);
    buf_wipe(&b);
}

static void test_html_escapes(void **state)
{
    struct buf b = {0};
    static const char want[] = "a&amp;b&lt;i&gt;&quot;x&quot;&#39;y&#39; \xc3\xa9";

    (void)state;
    buf_html(&b, "a&b<i>\"x\"'y' \xc3\xa9");
    assert_buf(&b, want, sizeof want - 1);
    buf_wipe(&b);
}

static void test_json_escapes(void **state)
{
    struct buf b = {0};
    static const char want[] = "\"q\\\"b\\\\n\\u000a\\u0001\\u007f \xe0\xa4\x85\"";

    (void)state;
    buf_json(&b, "q\"b\\n\n\x01\x7f \xe0\xa4\x85");
    assert_buf(&b, want, sizeof want - 1);
    buf_wipe(&b);
}

/* web_sanitize_name (web/api.c): the name a download gets, from an
 * upload's file name or the "name" field. The base name after the last
 * '/' or '\\' (browsers on Windows send the path: the directory, which
 * may name the patient, must not travel), no leading dots (no hidden or
 * ".." name), other bytes than [A-Za-z0-9._-] as '_' but for UTF-8
 * letters (a name in Devanagari came back as underscores: a review), whose
 * invisible and direction-changing characters are not letters here; cut
 * to size - 1 bytes, never inside a letter, and never written past size;
 * "image" when nothing is left. Mutation testing, second round. */
static void test_sanitize_name(void **state)
{
    static const char *const cases[][2] = {
        {"C:\\Users\\Dr Rao\\SHARMA_R.png", "SHARMA_R.png"},
        {"studies/2026/ct 001.dcm", "ct_001.dcm"},
        {"..\\..\\etc/passwd", "passwd"},
        {"...hidden.pgm", "hidden.pgm"},
        {"..", "image"},
        {"dir/", "image"},
        {"", "image"},
        {"a\xc3\xa9" "b;c\"d.png", "a\xc3\xa9" "b_c_d.png"},
        /* "रोगी.pgm": three-byte letters, kept */
        {"\xe0\xa4\xb0\xe0\xa5\x8b\xe0\xa4\x97\xe0\xa5\x80.pgm",
         "\xe0\xa4\xb0\xe0\xa5\x8b\xe0\xa4\x97\xe0\xa5\x80.pgm"},
        {"\xf0\x9f\x93\xb7.png", "\xf0\x9f\x93\xb7.png"}, /* U+1F4F7, four bytes */
        {"a\xe2\x80\xaegnp.exe", "a___gnp.exe"},            /* U+202E, right-to-left */
        {"a\xe2\x80\x8b" "b\xef\xbb\xbf" "c", "a___b___c"}, /* zero width, BOM */
        {"a\xc2\x85" "b\xc2\xad" "c", "a__b__c"},          /* C1 NEL, soft hyphen */
        /* blank or invisible (a review of the first cut): a tag
         * character, a variation selector, the Hangul filler, the
         * ideographic and no-break spaces, a noncharacter, private use */
        {"\xf3\xa0\x80\x81" "t\xef\xb8\x8f", "____t___"},
        {"\xe3\x85\xa4\xe3\x80\x80" "x\xc2\xa0", "______x__"},
        {"\xef\xbf\xbf" "y\xf3\xb0\x80\x80" "z\xee\x80\x80", "___y____z___"},
        {"\xf0\x9f\xbf\xbe", "____"}, /* U+1FFFE, a noncharacter */
        {"a\xc0\x80" "b\xe0\x80\xaf" "c", "a__b___c"},    /* overlong */
        {"a\xed\xa0\x80" "b\xf4\x90\x80\x80", "a___b____"}, /* surrogate, > U+10FFFF */
        {"a\xe0\xa4", "a__"},                              /* cut short */
        {"\xa4\xb0" "b", "__b"},                            /* continuation bytes alone */
    };
    char out[32];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        web_sanitize_name(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
    /* cut to size - 1, nothing written past size */
    memset(out, 'Z', sizeof out);
    web_sanitize_name("abcdefghijklmnopqrstuvwxyz", out, 8);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(out[8], 'Z');
    /* a letter that does not fit whole is left out, and all after it */
    memset(out, 'Z', sizeof out);
    web_sanitize_name("abcde\xe0\xa4\xb0" "f", out, 8);
    assert_string_equal(out, "abcde");
    assert_int_equal(out[6], 'Z');
    web_sanitize_name("abcd\xe0\xa4\xb0" "f", out, 8);
    assert_string_equal(out, "abcd\xe0\xa4\xb0");
}

/* RFC 4648 §10, padded, and a length across the first block. */
static void test_base64_vectors(void **state)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    uint8_t bytes[300];
    struct buf b = {0};

    (void)state;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        buf_base64(&b, (const uint8_t *)in[i], strlen(in[i]));
        assert_buf(&b, out[i], strlen(out[i]));
        buf_wipe(&b);
    }
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 7);
    buf_puts(&b, "data:");
    buf_base64(&b, bytes, sizeof bytes);
    assert_int_equal(b.len, 5 + 400);
    assert_buf(&b, b.p, b.len);
    buf_wipe(&b);
}

static void test_template(void **state)
{
    const struct web_asset *a = web_asset_find("pages/keyfile_field.html");
    const char *const vars[] = {"keyfile_invalid", "aria-invalid=\"true\"",
                                "keyfile_error", "<b>&", NULL};
    const char *const unset[] = {"keyfile_error", NULL, NULL};
    struct buf b = {0};

    (void)state;
    assert_non_null(a);
    assert_non_null(memmem(a->data, a->len, "{{&keyfile_invalid}}", 20));
    assert_non_null(memmem(a->data, a->len, "{{keyfile_error}}", 17));

    buf_template(&b, "pages/keyfile_field.html", vars);
    assert_buf(&b, b.p, b.len);
    assert_null(strstr(b.p, "{{"));
    assert_non_null(strstr(b.p, "accept=\".key,text/plain\" aria-invalid=\"true\"\n"));
    assert_non_null(strstr(b.p, "aria-live=\"polite\">&lt;b&gt;&amp;</p>"));
    buf_wipe(&b);

    /* Unknown and NULL values become empty. */
    buf_template(&b, "pages/keyfile_field.html", unset);
    assert_null(strstr(b.p, "{{"));
    assert_non_null(strstr(b.p, "aria-live=\"polite\"></p>"));
    assert_int_equal(b.len, a->len - strlen("{{&keyfile_invalid}}") - strlen("{{keyfile_error}}"));
    buf_wipe(&b);

    /* A missing asset is a build error, reported as a failure. */
    buf_template(&b, "pages/no_such_page.html", vars);
    assert_true(b.oom);
    buf_put(&b, "x", 1); /* a failed buffer stays failed, and empty */
    assert_true(b.oom);
    assert_int_equal(b.len, 0);
    buf_wipe(&b);
    assert_false(b.oom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_grows_and_keeps),
        cmocka_unit_test(test_put_exact_room),
        cmocka_unit_test(test_human_size),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_html_escapes),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_sanitize_name),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
