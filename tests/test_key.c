/*
 * Patient identifiers and keys (DESIGN §1.1): Aadhaar validation and
 * masking, date of birth, key derivation (golden vector), key generation,
 * key text, key files and the key id.
 *
 * The golden values below come from an independent Python 3 reference of
 * the byte-exact specification in src/key.c (hashlib/hmac for SHA-512,
 * HMAC and HKDF; Philox4x32-10 written from Salmon et al. 2011 and checked
 * against Random123's three kat_vectors before use):
 *
 *   M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
 *   def philox(c, k):                       # 10 rounds
 *       for r in range(10):
 *           if r: k = [(k[0] + W0) & 0xffffffff, (k[1] + W1) & 0xffffffff]
 *           p0, p1 = M0 * c[0], M1 * c[2]
 *           c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & 0xffffffff,
 *                (p0 >> 32) ^ c[3] ^ k[1], p0 & 0xffffffff]
 *       return c
 *   le = lambda b: struct.unpack('<I', b)[0]
 *   def derive(digits, dob, rnd):
 *       seed = sha512(b'medcrypt-keygen-v1' + b'\0' + digits + b'\0' + dob
 *                     + b'\0' + rnd).digest()
 *       k = [le(seed[0:4]), le(seed[4:8])]
 *       s = b''.join(struct.pack('<4I', *philox([i, le(seed[8:12]),
 *               le(seed[12:16]), le(seed[16:20])], k)) for i in range(64))
 *       return sha512(s + seed).digest()[:32]
 *   def key_text(K):                        # Crockford base32, big-endian bits
 *       n = int.from_bytes(K + sha512(b'MCK1' + K).digest()[:3], 'big')
 *       c = ''.join('0123456789ABCDEFGHJKMNPQRSTVWXYZ'[(n >> 5 * (55 - i)) & 31]
 *                   for i in range(56))
 *       return 'MCK1-' + '-'.join(c[i:i + 8] for i in range(0, 56, 8))
 *   key id = RFC 5869 HKDF-SHA-512 (hmac.new extract/expand), IKM = K,
 *            salt b'medcrypt-v1', info b'medcrypt-v1 key-id', L = 8
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "internal.h"
#include "stack_search.h"

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

static void key_counting(mc_key *k) /* K = 00 01 02 ... 1f */
{
    for (int i = 0; i < MC_KEY_BYTES; i++)
        k->bytes[i] = (uint8_t)i;
}

/* ------------------------------------------------------------------ */
/* Aadhaar                                                             */

struct aadhaar_case {
    const char *in;
    mc_err err;
};

/* The valid numbers' check digits were computed with an independent Python
 * Verhoeff implementation (and are rechecked by test_kat). */
static const struct aadhaar_case aadhaar_cases[] = {
    {"2345 6789 0124", MC_OK},
    {"234567890124", MC_OK},
    {"2345-6789-0124", MC_OK},
    {" 2345 - 6789--0124 ", MC_OK}, /* separators anywhere */
    {"9999 9999 9999", MC_OK},
    {"2345 6789 012", MC_EAADHAAR_LENGTH},    /* 11 digits */
    {"2345 6789 01245", MC_EAADHAAR_LENGTH},  /* 13 digits */
    {"2345 6789 0124 5678 9012", MC_EAADHAAR_LENGTH},
    {"2345 6789 012a", MC_EAADHAAR_CHAR},     /* letters */
    {"2345 6789 O124", MC_EAADHAAR_CHAR},     /* a letter O for a zero */
    {"ABCD EFGH IJKL", MC_EAADHAAR_CHAR},
    {"2345.6789.0124", MC_EAADHAAR_CHAR},     /* other separators */
    {"2345\t6789\t0124", MC_EAADHAAR_CHAR},
    {"2345 6789 0124 5678 x", MC_EAADHAAR_CHAR},   /* a stray character, wherever */
    {"", MC_EAADHAAR_LENGTH},
    {"   ", MC_EAADHAAR_LENGTH},
    {"0345 6789 0128", MC_EAADHAAR_FIRST},    /* Verhoeff-valid, first digit 0 */
    {"1345 6789 0129", MC_EAADHAAR_FIRST},    /* Verhoeff-valid, first digit 1 */
    {"2345 6789 0125", MC_EAADHAAR_CHECK},
    {"2345 6789 0214", MC_EAADHAAR_CHECK},    /* adjacent transposition */
    {"3345 6789 0124", MC_EAADHAAR_CHECK},
};

static void test_aadhaar_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof aadhaar_cases / sizeof aadhaar_cases[0]; i++) {
        char digits[13];
        memset(digits, '#', sizeof digits);
        mc_err err = mc_aadhaar_check(aadhaar_cases[i].in, digits);
        if (err != aadhaar_cases[i].err)
            fail_msg("\"%s\": %s, expected %s", aadhaar_cases[i].in, mc_strerror(err),
                     mc_strerror(aadhaar_cases[i].err));
        if (err == MC_OK) {
            /* The digits without separators, NUL-terminated. */
            char expect[13];
            size_t n = 0;
            for (const char *s = aadhaar_cases[i].in; *s; s++)
                if (*s >= '0' && *s <= '9')
                    expect[n++] = *s;
            expect[n] = '\0';
            assert_string_equal(digits, expect);
        } else {
            for (size_t j = 0; j < sizeof digits; j++) /* untouched on error */
                assert_int_equal(digits[j], '#');
        }
        /* digits may be NULL: same answer. */
        assert_int_equal(mc_aadhaar_check(aadhaar_cases[i].in, NULL), aadhaar_cases[i].err);
    }
    assert_int_equal(mc_aadhaar_check(NULL, NULL), MC_EINVAL);
}

static void test_aadhaar_mask(void **state)
{
    char masked[MC_AADHAAR_MASKED_BYTES];

    (void)state;
    assert_int_equal(mc_aadhaar_mask("2345 6789 0124", masked), MC_OK);
    assert_string_equal(masked, "XXXX XXXX 0124");
    assert_int_equal(mc_aadhaar_mask("9999-9999-9999", masked), MC_OK);
    assert_string_equal(masked, "XXXX XXXX 9999");
    /* Invalid numbers: the same errors as mc_aadhaar_check, masked untouched. */
    memset(masked, '#', sizeof masked);
    assert_int_equal(mc_aadhaar_mask("2345 6789 0125", masked), MC_EAADHAAR_CHECK);
    assert_int_equal(mc_aadhaar_mask("0345 6789 0128", masked), MC_EAADHAAR_FIRST);
    assert_int_equal(mc_aadhaar_mask("2345 6789", masked), MC_EAADHAAR_LENGTH);
    for (size_t j = 0; j < sizeof masked; j++)
        assert_int_equal(masked[j], '#');
    assert_int_equal(mc_aadhaar_mask(NULL, masked), MC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Date of birth                                                       */

struct dob_case {
    const char *dob;
    mc_err err;
};

/* Today is pinned to 2024-06-15. */
static const struct dob_case dob_cases[] = {
    {"1990-05-17", MC_OK},
    {"2023-02-29", MC_EDOB_INVALID}, /* 2023 is not a leap year */
    {"2024-02-29", MC_OK},
    {"1900-02-29", MC_EDOB_INVALID}, /* century not divisible by 400 */
    {"2000-02-29", MC_OK},           /* divisible by 400 */
    {"1899-12-31", MC_EDOB_RANGE},
    {"0000-01-01", MC_EDOB_RANGE},
    {"1900-01-01", MC_OK},
    {"2024-06-14", MC_OK},
    {"2024-06-15", MC_OK},            /* today */
    {"2024-06-16", MC_EDOB_FUTURE},   /* tomorrow */
    {"2024-07-01", MC_EDOB_FUTURE},
    {"2025-01-01", MC_EDOB_FUTURE},
    {"9999-12-31", MC_EDOB_FUTURE},
    {"2024-04-31", MC_EDOB_INVALID},
    {"2024-13-01", MC_EDOB_INVALID},
    {"2024-00-10", MC_EDOB_INVALID},
    {"2024-01-32", MC_EDOB_INVALID},
    {"2024-01-00", MC_EDOB_INVALID},
    {"1990-5-17", MC_EDOB_FORMAT},
    {"17-05-1990", MC_EDOB_FORMAT},
    {"1990/05/17", MC_EDOB_FORMAT},
    {"19900517", MC_EDOB_FORMAT},
    {"", MC_EDOB_FORMAT},
    {"garbage", MC_EDOB_FORMAT},
    {"1990-05-17x", MC_EDOB_FORMAT},
    {" 1990-05-17", MC_EDOB_FORMAT},
    {"1990-05-17 ", MC_EDOB_FORMAT},
    {"1990-05-1", MC_EDOB_FORMAT},
    {"+990-05-17", MC_EDOB_FORMAT},
};

static void test_dob_pinned(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dob_cases / sizeof dob_cases[0]; i++) {
        mc_err err = mc__dob_check_at(dob_cases[i].dob, 2024, 6, 15);
        if (err != dob_cases[i].err)
            fail_msg("\"%s\": %s, expected %s", dob_cases[i].dob, mc_strerror(err),
                     mc_strerror(dob_cases[i].err));
    }
    /* Today's boundary at a year end. */
    assert_int_equal(mc__dob_check_at("2023-12-31", 2023, 12, 31), MC_OK);
    assert_int_equal(mc__dob_check_at("2024-01-01", 2023, 12, 31), MC_EDOB_FUTURE);
    assert_int_equal(mc__dob_check_at(NULL, 2024, 6, 15), MC_EINVAL);
    assert_int_equal(mc_dob_check(NULL), MC_EINVAL);
}

/* Today is the date at UTC+14: at 2026-12-03 20:00 UTC it is 01:30 on the
 * 4th in India, and a child born then must get a key; the 5th has begun
 * nowhere. The date rolls over at 10:00 UTC. */
static void test_dob_time_zone(void **state)
{
    const time_t t_2026_12_03 = 1796256000; /* 2026-12-03T00:00:00Z */
    (void)state;
    assert_int_equal(mc__dob_check_time("2026-12-04", t_2026_12_03 + 20 * 3600), MC_OK);
    assert_int_equal(mc__dob_check_time("2026-12-05", t_2026_12_03 + 20 * 3600),
                     MC_EDOB_FUTURE);
    assert_int_equal(mc__dob_check_time("2026-12-03", t_2026_12_03), MC_OK);
    assert_int_equal(mc__dob_check_time("2026-12-04", t_2026_12_03 + 10 * 3600 - 1),
                     MC_EDOB_FUTURE);
    assert_int_equal(mc__dob_check_time("2026-12-04", t_2026_12_03 + 10 * 3600), MC_OK);
    assert_int_equal(mc__dob_check_time("2026-12-04", (time_t)-1), MC_EINVAL);
}

static void utc_date(time_t t, char out[11])
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_int_equal(strftime(out, 11, "%Y-%m-%d", &tm), 10);
}

/* With the real clock: today where the date is furthest ahead (UTC+14) is
 * accepted, and so today in India (UTC+5:30) and in UTC; the day after it
 * is refused. */
static void test_dob_clock(void **state)
{
    (void)state;
    for (int attempt = 0;; attempt++) {
        char ahead[11], india[11], utc[11], tomorrow[11], after[11];
        time_t now = time(NULL);
        utc_date(now + 14 * 3600, ahead);
        utc_date(now + 5 * 3600 + 1800, india);
        utc_date(now, utc);
        utc_date(now + 14 * 3600 + 86400, tomorrow);
        mc_err e_ahead = mc_dob_check(ahead), e_india = mc_dob_check(india);
        mc_err e_utc = mc_dob_check(utc), e_tomorrow = mc_dob_check(tomorrow);
        utc_date(time(NULL) + 14 * 3600, after);
        if (strcmp(ahead, after) != 0 && attempt < 3)
            continue; /* midnight at UTC+14 passed during the test: ask again */
        assert_int_equal(e_ahead, MC_OK);
        assert_int_equal(e_india, MC_OK);
        assert_int_equal(e_utc, MC_OK);
        assert_int_equal(e_tomorrow, MC_EDOB_FUTURE);
        break;
    }
    assert_int_equal(mc_dob_check("1990-05-17"), MC_OK);
    assert_int_equal(mc_dob_check("2023-02-29"), MC_EDOB_INVALID);
}

/* ------------------------------------------------------------------ */
/* Key derivation                                                      */

static const char golden_digits[12] = {'2', '3', '4', '5', '6', '7', '8', '9', '0', '1', '2', '4'};
static const char golden_dob[10] = {'1', '9', '9', '0', '-', '0', '5', '-', '1', '7'};
/* K for Aadhaar 234567890124, DOB 1990-05-17, rnd = 00 01 ... 1f (Python
 * reference above: derive(b'234567890124', b'1990-05-17', bytes(range(32)))). */
static const char golden_k_hex[] =
    "0a887baf9357f74d951d28fb1f989599e1ad269f50901d0beca5637c1e5af644";

static void test_key_derive_golden(void **state)
{
    uint8_t rnd[32], expect[32];
    mc_key k;

    (void)state;
    for (int i = 0; i < 32; i++)
        rnd[i] = (uint8_t)i;
    unhex(expect, sizeof expect, golden_k_hex);
    memset(&k, 0, sizeof k);
    assert_int_equal(mc__key_derive(&k, golden_digits, golden_dob, rnd), MC_OK);
    assert_memory_equal(k.bytes, expect, 32);
}

/* Every input byte matters: changing any one of them changes K. */
static void test_key_derive_sensitivity(void **state)
{
    uint8_t rnd[32];
    char digits[12], dob[10];
    mc_key base, k;

    (void)state;
    for (int i = 0; i < 32; i++)
        rnd[i] = (uint8_t)i;
    memcpy(digits, golden_digits, 12);
    memcpy(dob, golden_dob, 10);
    assert_int_equal(mc__key_derive(&base, digits, dob, rnd), MC_OK);

    for (int i = 0; i < 12; i++) {
        char orig = digits[i];
        digits[i] = orig == '9' ? '0' : (char)(orig + 1);
        assert_int_equal(mc__key_derive(&k, digits, dob, rnd), MC_OK);
        assert_memory_not_equal(k.bytes, base.bytes, MC_KEY_BYTES);
        digits[i] = orig;
    }
    for (int i = 0; i < 10; i++) {
        char orig = dob[i];
        dob[i] = (char)(orig ^ 1);
        assert_int_equal(mc__key_derive(&k, digits, dob, rnd), MC_OK);
        assert_memory_not_equal(k.bytes, base.bytes, MC_KEY_BYTES);
        dob[i] = orig;
    }
    for (int i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit++) {
            rnd[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(mc__key_derive(&k, digits, dob, rnd), MC_OK);
            assert_memory_not_equal(k.bytes, base.bytes, MC_KEY_BYTES);
            rnd[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* And it is deterministic. */
    assert_int_equal(mc__key_derive(&k, digits, dob, rnd), MC_OK);
    assert_memory_equal(k.bytes, base.bytes, MC_KEY_BYTES);
    assert_int_equal(mc__key_derive(NULL, digits, dob, rnd), MC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Key generation                                                      */

static void test_key_generate(void **state)
{
    mc_key a, b, sentinel;
    static const uint8_t zero[MC_KEY_BYTES];

    (void)state;
    assert_int_equal(mc_key_generate(&a, "2345 6789 0124", "1990-05-17"), MC_OK);
    assert_int_equal(mc_key_generate(&b, "2345 6789 0124", "1990-05-17"), MC_OK);
    /* Fresh OS randomness each time: the same patient gets a new key. */
    assert_memory_not_equal(a.bytes, b.bytes, MC_KEY_BYTES);
    assert_memory_not_equal(a.bytes, zero, MC_KEY_BYTES);

    /* Invalid identifiers: their own error, key untouched. */
    const struct {
        const char *aadhaar, *dob;
        mc_err err;
    } bad[] = {
        {"2345 6789 012", "1990-05-17", MC_EAADHAAR_LENGTH},
        {"1345 6789 0129", "1990-05-17", MC_EAADHAAR_FIRST},
        {"2345 6789 0125", "1990-05-17", MC_EAADHAAR_CHECK},
        {"2345 6789 0124", "1990-5-17", MC_EDOB_FORMAT},
        {"2345 6789 0124", "2023-02-29", MC_EDOB_INVALID},
        {"2345 6789 0124", "9999-01-01", MC_EDOB_FUTURE},
        {"2345 6789 0124", "1899-12-31", MC_EDOB_RANGE},
        {"2345 6789 0125", "garbage", MC_EAADHAAR_CHECK}, /* Aadhaar checked first */
        {NULL, "1990-05-17", MC_EINVAL},
        {"2345 6789 0124", NULL, MC_EINVAL},
    };
    memset(&sentinel, 0xa5, sizeof sentinel);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_key k = sentinel;
        assert_int_equal(mc_key_generate(&k, bad[i].aadhaar, bad[i].dob), bad[i].err);
        assert_memory_equal(&k, &sentinel, sizeof k);
    }
    assert_int_equal(mc_key_generate(NULL, "2345 6789 0124", "1990-05-17"), MC_EINVAL);

    mc_key_wipe(&a);
    assert_memory_equal(a.bytes, zero, MC_KEY_BYTES);
    mc_key_wipe(&b);
}

/* ------------------------------------------------------------------ */
/* Key text                                                            */

/* K = 00 01 ... 1f (Python reference above: key_text(bytes(range(32)))). */
static const char golden_text[] =
    "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH";
/* K = golden_k_hex: key_text(derive(...)). */
static const char golden_text_2[] =
    "MCK1-1A47QBWK-AZVMV58X-53XHZ64N-K7GTT9MZ-A281T2ZC-MNHQR7JT-YS2E313C";

static void test_key_text_golden(void **state)
{
    char text[MC_KEY_TEXT_BYTES];
    mc_key k, parsed;

    (void)state;
    key_counting(&k);
    mc_key_to_text(&k, text);
    assert_string_equal(text, golden_text);
    assert_int_equal(mc_key_parse(&parsed, golden_text), MC_OK);
    assert_memory_equal(parsed.bytes, k.bytes, MC_KEY_BYTES);

    unhex(k.bytes, sizeof k.bytes, golden_k_hex);
    mc_key_to_text(&k, text);
    assert_string_equal(text, golden_text_2);
}

static void test_key_text_shape_and_round_trip(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    for (int iter = 0; iter < 100; iter++) {
        char text[MC_KEY_TEXT_BYTES];
        mc_key k, parsed;

        randombytes_buf(k.bytes, sizeof k.bytes);
        memset(text, 0x7f, sizeof text);
        mc_key_to_text(&k, text);

        /* "MCK1-" then 7 groups of 8 Crockford characters split by '-'. */
        assert_int_equal(strlen(text), MC_KEY_TEXT_BYTES - 1);
        assert_int_equal(strlen(text), 67);
        assert_memory_equal(text, "MCK1-", 5);
        for (int i = 4; i < 67; i++) {
            if ((i - 4) % 9 == 0)
                assert_int_equal(text[i], '-');
            else
                assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", text[i]));
        }
        memset(&parsed, 0, sizeof parsed);
        assert_int_equal(mc_key_parse(&parsed, text), MC_OK);
        assert_memory_equal(parsed.bytes, k.bytes, MC_KEY_BYTES);
    }
}

/* Rewrites golden_text with a per-character transform of the data part
 * (after "MCK1"), keeping or replacing separators. */
static void variant(char *out, const char *sep, bool lower, bool lookalikes)
{
    const char *s = golden_text;
    char *o = out;

    memcpy(o, s, 4);
    o += 4;
    for (s += 4; *s; s++) {
        char c = *s;
        if (c == '-') {
            strcpy(o, sep);
            o += strlen(sep);
            continue;
        }
        if (lookalikes && c == '0')
            c = 'O';
        else if (lookalikes && c == '1')
            c = (s - golden_text) % 2 ? 'I' : 'L';
        if (lower && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        *o++ = c;
    }
    *o = '\0';
}

static void test_key_text_tolerant(void **state)
{
    char text[256];
    mc_key expect, k;

    (void)state;
    key_counting(&expect);
    const struct {
        const char *sep;
        bool lower, lookalikes;
    } forms[] = {
        {"-", true, false},  /* lower case */
        {" ", false, false}, /* spaces instead of hyphens */
        {"", false, false},  /* no separators */
        {"\t", true, true},  /* tabs, lower case, O for 0 and I/L for 1 */
        {"-", false, true},
        {" - ", false, false},
        {"\r\n", false, false},
    };
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        variant(text, forms[f].sep, forms[f].lower, forms[f].lookalikes);
        memset(&k, 0, sizeof k);
        if (mc_key_parse(&k, text) != MC_OK)
            fail_msg("\"%s\" not parsed", text);
        assert_memory_equal(k.bytes, expect.bytes, MC_KEY_BYTES);
    }
    /* The golden text holds both '0' and '1', so the look-alike forms above
     * really exercised O and I/L. */
    assert_non_null(strchr(golden_text + 4, '0'));
    assert_non_null(strchr(golden_text + 4, '1'));
    /* Lower-case prefix, separators around it. */
    strcpy(text, "  mck1");
    strcat(text, golden_text + 4);
    strcat(text, "\n");
    assert_int_equal(mc_key_parse(&k, text), MC_OK);
    assert_memory_equal(k.bytes, expect.bytes, MC_KEY_BYTES);
}

static int crockford_value(char c)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'O')
        return 0;
    if (c == 'I' || c == 'L')
        return 1;
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Every single-character substitution in the 56 data characters is
 * detected as a typo, MC_EKEYCHECK, whether the new character is a valid
 * one or not; never MC_OK with another key. (A changed character changes K or the
 * 24-bit checksum; for a fixed text the outcome is deterministic.) */
static void test_key_text_typos(void **state)
{
    const char repl[] = {'0', '1', '7', 'A', 'M', 'Z', 'z', 'o', 'U', 'u', '*', '.'};
    const char *texts[] = {golden_text, golden_text_2};
    mc_key sentinel;

    (void)state;
    memset(&sentinel, 0xa5, sizeof sentinel);
    for (size_t t = 0; t < 2; t++) {
        char text[MC_KEY_TEXT_BYTES];
        int positions = 0;
        strcpy(text, texts[t]);
        for (size_t i = 5; i < 67; i++) {
            if (text[i] == '-')
                continue;
            positions++;
            const char orig = text[i];
            for (size_t r = 0; r < sizeof repl; r++) {
                int v = crockford_value(repl[r]);
                if (v == crockford_value(orig))
                    continue; /* the same value: not a typo */
                mc_key k = sentinel;
                text[i] = repl[r];
                mc_err err = mc_key_parse(&k, text);
                if (err != MC_EKEYCHECK)
                    fail_msg("\"%s\": %s", text, mc_strerror(err));
                assert_memory_equal(&k, &sentinel, sizeof k);
            }
            text[i] = orig;
        }
        assert_int_equal(positions, 56);
        mc_key k;
        assert_int_equal(mc_key_parse(&k, text), MC_OK); /* restored */
    }
}

static void test_key_text_errors(void **state)
{
    char text[256];
    mc_key sentinel, k;

    (void)state;
    memset(&sentinel, 0xa5, sizeof sentinel);
    const struct {
        const char *text;
        mc_err err;
    } cases[] = {
        {"", MC_EKEYTEXT},
        {"garbage", MC_EKEYTEXT},
        {"MCK", MC_EKEYTEXT},
        /* "MCK1" read: a key, mistyped */
        {"MCK1", MC_EKEYCHECK},
        {"MCK1-", MC_EKEYCHECK},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYR",
         MC_EKEYCHECK}, /* last character missing */
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X", MC_EKEYCHECK},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH0",
         MC_EKEYCHECK}, /* one too many */
        {"MCK2-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
         MC_EKEYVERSION},
        {"MCK0-000G40R4", MC_EKEYVERSION}, /* the version is read before the length */
        {"MCK9", MC_EKEYVERSION},
        {"MCX1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
         MC_EKEYTEXT},
        {"MCKA-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
         MC_EKEYTEXT},
        {"000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH", MC_EKEYTEXT},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRU",
         MC_EKEYCHECK}, /* U is not Crockford */
        {"MCK1-000G40R4_0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
         MC_EKEYCHECK}, /* '_' is not a separator */
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRJ",
         MC_EKEYCHECK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        k = sentinel;
        mc_err err = mc_key_parse(&k, cases[i].text);
        if (err != cases[i].err)
            fail_msg("\"%s\": %s, expected %s", cases[i].text, mc_strerror(err),
                     mc_strerror(cases[i].err));
        assert_memory_equal(&k, &sentinel, sizeof k);
    }
    /* Every truncation of the golden text fails. */
    for (size_t len = 0; len < strlen(golden_text); len++) {
        memcpy(text, golden_text, len);
        text[len] = '\0';
        k = sentinel;
        mc_err err = mc_key_parse(&k, text);
        /* Shorter than "MCK1": not a key; longer: a key cut short. */
        assert_int_equal(err, len < 4 ? MC_EKEYTEXT : MC_EKEYCHECK);
        assert_memory_equal(&k, &sentinel, sizeof k);
    }
    assert_int_equal(mc_key_parse(NULL, golden_text), MC_EINVAL);
    assert_int_equal(mc_key_parse(&k, NULL), MC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Key files                                                           */

static mc_err parse_file(mc_key *k, const char *s)
{
    return mc_key_parse_file_text(k, s, strlen(s));
}

/* mc_key_file_text writes what mc_key_parse_file_text reads back: three
 * comment lines (what it is, the key id, the UTC time), then the key. */
static void test_key_file_write(void **state)
{
    char text[MC_KEY_FILE_TEXT_BYTES], id[MC_KEY_ID_HEX_BYTES], line[80], k[MC_KEY_TEXT_BYTES];
    mc_key key, back;
    (void)state;

    memset(key.bytes, 0x5a, sizeof key.bytes);
    assert_int_equal(mc_key_file_text(&key, text), MC_OK);
    mc_key_id_hex(&key, id);
    mc_key_to_text(&key, k);
    assert_non_null(strstr(text, "# medcrypt key: keep it secret, keep it safe; it alone decrypts\n"));
    snprintf(line, sizeof line, "\n# key id: %s\n# created: ", id);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "Z\n%s\n", k);
    assert_non_null(strstr(text, line));
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_int_equal(mc_key_parse_file_text(&back, text, strlen(text)), MC_OK);
    assert_memory_equal(back.bytes, key.bytes, MC_KEY_BYTES);
    assert_int_equal(mc_key_file_text(NULL, text), MC_EINVAL);
}

/* mc_key_file_text_for adds whose key it is, masked, after the first
 * line; a number that is not an Aadhaar number (or would smuggle text
 * into the comment) is refused, and the file still reads back. */
static void test_key_file_write_for(void **state)
{
    char text[MC_KEY_FILE_TEXT_BYTES], id[MC_KEY_ID_HEX_BYTES], line[80];
    mc_key key, back;
    (void)state;

    memset(key.bytes, 0x3c, sizeof key.bytes);
    assert_int_equal(mc_key_file_text_for(&key, "2345 6789 0124", text), MC_OK);
    mc_key_id_hex(&key, id);
    snprintf(line, sizeof line, "it alone decrypts\n# for Aadhaar XXXX XXXX 0124\n# key id: %s\n",
             id);
    assert_non_null(strstr(text, line));
    assert_null(strstr(text, "2345"));
    assert_null(strstr(text, "6789"));
    assert_int_equal(mc_key_parse_file_text(&back, text, strlen(text)), MC_OK);
    assert_memory_equal(back.bytes, key.bytes, MC_KEY_BYTES);
    assert_int_equal(mc_key_file_text_for(&key, "2345 6789 0123", text), MC_EAADHAAR_CHECK);
    assert_int_equal(mc_key_file_text_for(&key, "2345 6789 0124\nMCK1-", text),
                     MC_EAADHAAR_CHAR);
    assert_int_equal(mc_key_file_text_for(&key, NULL, text), MC_OK);
    assert_null(strstr(text, "# for Aadhaar"));
}

static void test_key_file_text(void **state)
{
    char buf[512];
    mc_key expect, k, sentinel;

    (void)state;
    key_counting(&expect);
    memset(&sentinel, 0xa5, sizeof sentinel);

    const char *good[] = {
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
        "# medcrypt key\n# key id: 1f60ed538cc0209f\n\n"
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
        "\r\n  # indented comment\r\n\t\r\n"
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\r\n",
        "  MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH  \n"
        "garbage after the key line is not read\n",
        /* Windows Notepad's UTF-8 byte order mark, at the start only */
        "\xef\xbb\xbf# medcrypt key\n"
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\r\n",
        "\xef\xbb\xbfMCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
        /* the same key twice (a file pasted into itself) is no choice */
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
        "# again\n"
        "  mck1 000g40r4 0m30e209 185gr38e 1w8124gk 2gahc5rr 34d1p70x 3rfpkyrh\r\n",
        /* a note that only starts like a key */
        "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
        "MCKinley ward, CT room 2\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        k = sentinel;
        if (parse_file(&k, good[i]) != MC_OK)
            fail_msg("key file %zu not parsed", i);
        assert_memory_equal(k.bytes, expect.bytes, MC_KEY_BYTES);
    }

    const struct {
        const char *text;
        mc_err err;
    } bad[] = {
        {"", MC_EKEYTEXT},
        {"\n\n\r\n", MC_EKEYTEXT},
        {"# only a comment\n", MC_EKEYTEXT},
        {"not a key\n"
         "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
         MC_EKEYTEXT}, /* the first non-comment line is the key */
        {"MCK2-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
         MC_EKEYVERSION},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRJ\n",
         MC_EKEYCHECK},
        /* two key files joined with cat: which patient's? */
        {"# key id: 1f60ed538cc0209f\n"
         "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
         "# key id: 6f0d1e2a3b4c5d6e\n"
         "MCK1-CH458XWM-X285PYDM-9ZH76BV8-7AN7C7ZB-BBZF2JHP-M5A9RNWV-8YW9R7JV\n",
         MC_EKEYMANY},
        /* a second key line mistyped, of another version, or too long is
         * still a second key */
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
         "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRJ\n",
         MC_EKEYMANY},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
         "mck2-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH",
         MC_EKEYMANY},
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
         "MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH"
         "                                                                    "
         "                                                                    "
         "                                                                    "
         "x\n",
         MC_EKEYMANY},
        /* version 0 is a version too: the lowest digit, not only 2-9 */
        {"MCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n"
         "MCK0-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
         MC_EKEYMANY},
        {"\n\xef\xbb\xbfMCK1-000G40R4-0M30E209-185GR38E-1W8124GK-2GAHC5RR-34D1P70X-3RFPKYRH\n",
         MC_EKEYTEXT}, /* a byte order mark only opens a file */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = sentinel;
        assert_int_equal(parse_file(&k, bad[i].text), bad[i].err);
        assert_memory_equal(&k, &sentinel, sizeof k);
    }

    /* Not NUL-terminated: only len bytes are read. */
    memcpy(buf, golden_text, sizeof golden_text - 1);
    memcpy(buf + sizeof golden_text - 1, "XYZ", 3);
    assert_int_equal(mc_key_parse_file_text(&k, buf, sizeof golden_text - 1), MC_OK);
    assert_memory_equal(k.bytes, expect.bytes, MC_KEY_BYTES);
    /* three bytes more: the key with "XY" after it, a key mistyped */
    assert_int_equal(mc_key_parse_file_text(&k, buf, sizeof golden_text + 2), MC_EKEYCHECK);

    /* A NUL byte inside the key line. */
    memcpy(buf, golden_text, sizeof golden_text);
    buf[20] = '\0';
    assert_int_equal(mc_key_parse_file_text(&k, buf, sizeof golden_text - 1), MC_EKEYTEXT);

    /* A NUL byte inside a second key line: not the same key, even when
     * what comes before the NUL is. */
    {
        size_t n = sizeof golden_text - 1;
        memcpy(buf, golden_text, n);
        buf[n] = '\n';
        memcpy(buf + n + 1, golden_text, n);
        memcpy(buf + 2 * n + 1, "\0XY\n", 4);
        k = sentinel;
        assert_int_equal(mc_key_parse_file_text(&k, buf, 2 * n + 5), MC_EKEYMANY);
        assert_memory_equal(&k, &sentinel, sizeof k);
        /* without the NUL, the same key twice is one key */
        assert_int_equal(mc_key_parse_file_text(&k, buf, 2 * n + 1), MC_OK);
    }

    /* The key line is at most 256 bytes: one of 256 is read (and is no
     * key), one of 257 is not read at all. */
    {
        char line[300];
        memset(line, 'x', sizeof line);
        memcpy(line, "MCK1", 4);
        assert_int_equal(mc_key_parse_file_text(&k, line, 256), MC_EKEYCHECK);
        assert_int_equal(mc_key_parse_file_text(&k, line, 257), MC_EKEYTEXT);
    }

    assert_int_equal(mc_key_parse_file_text(&k, NULL, 0), MC_EKEYTEXT);
    assert_int_equal(mc_key_parse_file_text(&k, NULL, 5), MC_EINVAL);
    assert_int_equal(mc_key_parse_file_text(NULL, golden_text, 10), MC_EINVAL);
}

/* The 64 KiB bound: the same valid file, padded with comment lines, is read
 * at exactly 64 KiB and refused one byte over. */
static void test_key_file_size_cap(void **state)
{
    const size_t cap = 64 * 1024;
    char *buf = malloc(cap + 1);
    size_t key_len = sizeof golden_text - 1;
    mc_key k, expect;

    (void)state;
    assert_non_null(buf);
    key_counting(&expect);
    memcpy(buf, golden_text, key_len);
    buf[key_len] = '\n';
    buf[key_len + 1] = '#';
    memset(buf + key_len + 2, 'c', cap + 1 - key_len - 2);
    assert_int_equal(mc_key_parse_file_text(&k, buf, cap), MC_OK);
    assert_memory_equal(k.bytes, expect.bytes, MC_KEY_BYTES);
    assert_int_equal(mc_key_parse_file_text(&k, buf, cap + 1), MC_EKEYTEXT);
    free(buf);
}

/* No key left on the stack by the calls that make, read or write one:
 * not a 4-byte word of the key, of its text (past "MCK1-"), of the
 * Aadhaar number's hidden eight digits or of the date of birth, which
 * their frames and those of the SHA-512, Philox, HKDF and snprintf under
 * them held: each call wipes its own and clears the stack below it
 * before it returns (mc__stack_wipe). Each runs 2 KiB below the test's
 * frame, where the search looks. A dropped wipe of the key in
 * mc_key_generate, mc_key_to_text or mc_key_parse fails it, and so does
 * a clear that clears nothing. Not under the sanitizers
 * (tests/stack_search.h). */
struct key_call {
    int call;
    mc_key *key, *again;
    char *text, *file, *hex;
};

#define KEY_CALLS 6
static const char *const key_call_names[KEY_CALLS] = {
    "mc_key_generate",      "mc_key_to_text",         "mc_key_parse",
    "mc_key_file_text_for", "mc_key_parse_file_text", "mc_key_id_hex"};

static void key_call_run(void *arg)
{
    static const char aadhaar[] = "2345 6789 0124", dob[] = "1990-05-17";
    struct key_call *c = arg;

    switch (c->call) {
    case 0: assert_int_equal(mc_key_generate(c->key, aadhaar, dob), MC_OK); break;
    case 1: mc_key_to_text(c->key, c->text); break;
    case 2: assert_int_equal(mc_key_parse(c->again, c->text), MC_OK); break;
    case 3: assert_int_equal(mc_key_file_text_for(c->key, aadhaar, c->file), MC_OK); break;
    case 4:
        assert_int_equal(mc_key_parse_file_text(c->again, c->file, strlen(c->file)), MC_OK);
        break;
    default: mc_key_id_hex(c->key, c->hex); break;
    }
}

static void test_no_key_left_on_stack(void **state)
{
    static const char hidden[] = "23456789", dob[] = "1990-05-17";
    char text[MC_KEY_TEXT_BYTES], file[MC_KEY_FILE_TEXT_BYTES], hex[MC_KEY_ID_HEX_BYTES];
    mc_key key, again;
    struct key_call c = {0, &key, &again, text, file, hex};
    (void)state;
    STACK_SEARCH_SKIP_UNDER_SANITIZERS();
    for (c.call = 0; c.call < KEY_CALLS; c.call++) {
        const char *name = key_call_names[c.call];
        stack_clear();
        stack_call_deeper(key_call_run, &c);
        /* the key's binary words; its text's groups of 8 and the
         * identifiers as they are copied, byte by byte (their words
         * would match public text: "-05-" in a May timestamp) */
        if (stack_holds_words(key.bytes, MC_KEY_BYTES))
            fail_msg("%s: a word of the key left on the stack", name);
        for (size_t g = 5; c.call > 0 && g + 8 < MC_KEY_TEXT_BYTES; g += 9)
            if (stack_holds((const uint8_t *)text + g, 8))
                fail_msg("%s: a group of the key's text left on the stack", name);
        if (stack_holds((const uint8_t *)hidden, 8) || stack_holds((const uint8_t *)dob, 10))
            fail_msg("%s: the identifiers left on the stack", name);
        /* and the stack below the call's level is cleared, from below
         * its own frames on (mc__stack_wipe): without the clear, the
         * marks past the frames of the SHA-512s and snprintf stay */
        stack_mark();
        key_call_run(&c);
        if (stack_runs_of_from(STACK_MARK_BYTE, STACK_MARK_DEEP) != 0)
            fail_msg("%s: %zu bytes of the marked stack below it not cleared", name,
                     stack_runs_of_from(STACK_MARK_BYTE, STACK_MARK_DEEP));
    }
    assert_memory_equal(again.bytes, key.bytes, MC_KEY_BYTES);
    mc_key_wipe(&key);
    mc_key_wipe(&again);
}

/* ------------------------------------------------------------------ */
/* Key id                                                              */

static void test_key_id(void **state)
{
    uint8_t id[MC_KEY_ID_BYTES], id2[MC_KEY_ID_BYTES], hkdf[MC_KEY_ID_BYTES];
    uint8_t expect[MC_KEY_ID_BYTES];
    char hex[MC_KEY_ID_HEX_BYTES];
    mc_key k;

    (void)state;
    key_counting(&k);
    /* Python: HKDF-SHA-512(IKM = 00..1f, salt "medcrypt-v1",
     * info "medcrypt-v1 key-id", L = 8). */
    unhex(expect, sizeof expect, "1f60ed538cc0209f");
    mc_key_id(&k, id);
    assert_memory_equal(id, expect, sizeof id);
    mc_key_id(&k, id2);
    assert_memory_equal(id, id2, sizeof id);
    /* The same derivation as the subkeys' (docs/FORMAT.md §Subkeys). */
    assert_int_equal(mc__hkdf_sha512(hkdf, sizeof hkdf, k.bytes, MC_KEY_BYTES,
                                     (const uint8_t *)"medcrypt-v1", 11, "medcrypt-v1 key-id"),
                     MC_OK);
    assert_memory_equal(id, hkdf, sizeof id);

    memset(hex, 'X', sizeof hex);
    mc_key_id_hex(&k, hex);
    assert_string_equal(hex, "1f60ed538cc0209f");

    /* Keys one bit apart have different ids. */
    for (int i = 0; i < MC_KEY_BYTES * 8; i++) {
        mc_key k2 = k;
        k2.bytes[i / 8] ^= (uint8_t)(1u << (i % 8));
        mc_key_id(&k2, id2);
        assert_memory_not_equal(id, id2, sizeof id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aadhaar_check),
        cmocka_unit_test(test_aadhaar_mask),
        cmocka_unit_test(test_dob_pinned),
        cmocka_unit_test(test_dob_time_zone),
        cmocka_unit_test(test_dob_clock),
        cmocka_unit_test(test_key_derive_golden),
        cmocka_unit_test(test_key_derive_sensitivity),
        cmocka_unit_test(test_key_generate),
        cmocka_unit_test(test_key_text_golden),
        cmocka_unit_test(test_key_text_shape_and_round_trip),
        cmocka_unit_test(test_key_text_tolerant),
        cmocka_unit_test(test_key_text_typos),
        cmocka_unit_test(test_key_text_errors),
        cmocka_unit_test(test_key_file_text),
        cmocka_unit_test(test_key_file_write_for),
        cmocka_unit_test(test_key_file_write),
        cmocka_unit_test(test_key_file_size_cap),
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_no_key_left_on_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
