/*
 * Keys (DESIGN §1.1): generation from the patient's identifiers and fresh
 * OS randomness, the key text "MCK1-..." with its checksum, key files and
 * the public key id.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* ------------------------------------------------------------------ */
/* Derivation                                                          */

#define KEYGEN_LABEL "medcrypt-keygen-v1"
#define KEYGEN_LABEL_LEN (sizeof KEYGEN_LABEL - 1)
#define KEYGEN_BLOCKS 64u /* 64 Philox blocks of 16 bytes = 1024 bytes */

/*
 * Key derivation, format v1 (docs/FORMAT.md §Key generation). Byte-exact:
 *
 *   seed = SHA-512( "medcrypt-keygen-v1"        18 ASCII bytes, no NUL
 *                   || 0x00 || digits           the 12 Aadhaar digits, ASCII
 *                   || 0x00 || dob              "YYYY-MM-DD", 10 ASCII bytes
 *                   || 0x00 || rnd )            32 bytes of OS randomness
 *                                               (75 bytes hashed in all)
 *   Philox4x32-10 (Random123), key = { LE32(seed[0..4]), LE32(seed[4..8]) },
 *     block i (i = 0..63) from ctr = { i, LE32(seed[8..12]),
 *                                      LE32(seed[12..16]), LE32(seed[16..20]) },
 *     each block's four output words written little-endian:
 *     stream = block 0 || block 1 || ... || block 63    (1024 bytes)
 *   K = SHA-512( stream || seed )[0..32]
 *
 * The fixed-length fields and the 0x00 separators make the encoding of
 * (digits, dob, rnd) unambiguous. Philox is a generator, not a source of
 * secrecy: its key has 64 bits and its counter 128, so the stream alone
 * carries at most 192 bits of the seed. Hashing the seed along with the
 * stream keeps all 256 bits of OS randomness in K.
 */
mc_err mc__key_derive(mc_key *key, const char digits[12], const char dob[10],
                      const uint8_t rnd[32])
{
    uint8_t msg[KEYGEN_LABEL_LEN + 1 + 12 + 1 + 10 + 1 + 32]; /* secret */
    uint8_t seed[64];                                        /* secret */
    uint8_t stream[16 * KEYGEN_BLOCKS];                      /* secret */
    uint8_t k[64];                                           /* secret */
    uint32_t pkey[2];                                        /* secret */
    uint8_t *p = msg;
    mc_err err;

    if (key == NULL || digits == NULL || dob == NULL || rnd == NULL)
        return MC_EINVAL;

    memcpy(p, KEYGEN_LABEL, KEYGEN_LABEL_LEN);
    p += KEYGEN_LABEL_LEN;
    *p++ = 0x00;
    memcpy(p, digits, 12);
    p += 12;
    *p++ = 0x00;
    memcpy(p, dob, 10);
    p += 10;
    *p++ = 0x00;
    memcpy(p, rnd, 32);
    if ((err = mc__sha512(seed, msg, sizeof msg)) != MC_OK)
        goto out;

    pkey[0] = mc__le32(seed + 0);
    pkey[1] = mc__le32(seed + 4);
    mc__philox_stream(stream, KEYGEN_BLOCKS, pkey, mc__le32(seed + 8), mc__le32(seed + 12),
                      mc__le32(seed + 16));
    if ((err = mc__sha512_2(k, stream, sizeof stream, seed, sizeof seed)) != MC_OK)
        goto out;
    memcpy(key->bytes, k, MC_KEY_BYTES);
out:
    sodium_memzero(msg, sizeof msg);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(stream, sizeof stream);
    sodium_memzero(k, sizeof k);
    sodium_memzero(pkey, sizeof pkey);
    mc__stack_wipe();
    return err;
}

mc_err mc_key_generate(mc_key *key, const char *aadhaar, const char *dob)
{
    char digits[13];  /* secret: personal data */
    uint8_t rnd[32];  /* secret */
    mc_key k;         /* secret */
    mc_err err;

    if (key == NULL || aadhaar == NULL || dob == NULL)
        return MC_EINVAL;
    if ((err = mc_aadhaar_check(aadhaar, digits)) != MC_OK)
        goto out;
    if ((err = mc_dob_check(dob)) != MC_OK)
        goto out;
    /* Idempotent; needed before randombytes_buf (libsodium docs). */
    if (sodium_init() < 0) {
        err = MC_ERANDOM;
        goto out;
    }
    /* Why: an Aadhaar number and a birth date hold ~50 bits and are known
     * to many; the key's secrecy comes from these 256 bits. */
    randombytes_buf(rnd, sizeof rnd);
    if ((err = mc__key_derive(&k, digits, dob, rnd)) != MC_OK)
        goto out;
    *key = k;
out:
    sodium_memzero(digits, sizeof digits);
    sodium_memzero(rnd, sizeof rnd);
    sodium_memzero(&k, sizeof k);
    mc__stack_wipe();
    return err;
}

void mc_key_wipe(mc_key *key)
{
    if (key != NULL)
        sodium_memzero(key, sizeof *key);
}

/* ------------------------------------------------------------------ */
/* Key text: "MCK1-" + Crockford base32 of K || C, C = SHA-512("MCK1" || K)[0..3] */

#define KEYTEXT_PREFIX "MCK1"
#define KEYTEXT_PREFIX_LEN 4
#define KEYTEXT_CHECK_BYTES 3
#define KEYTEXT_RAW_BYTES (MC_KEY_BYTES + KEYTEXT_CHECK_BYTES) /* 35 */
#define KEYTEXT_CHARS 56 /* 35 * 8 / 5: no padding bits */
#define KEYTEXT_GROUP 8

/* Crockford's base32 (https://www.crockford.com/base32.html): no I, L, O, U,
 * so that 1/I/L and 0/O cannot be confused. */
static const char crockford[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The value of a Crockford character, case-insensitive, with its
 * look-alikes (O -> 0, I and L -> 1); -1 for anything else (U included).
 * The key text is secret: the scan has no early exit, so its length does
 * not depend on the character. */
static int crockford_value(char c)
{
    int v = -1;

    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (int i = 0; i < 32; i++)
        v = crockford[i] == c ? i : v;
    v = c == 'O' ? 0 : v;
    v = c == 'I' || c == 'L' ? 1 : v;
    return v;
}

static mc_err key_check(uint8_t check[KEYTEXT_CHECK_BYTES], const uint8_t k[MC_KEY_BYTES])
{
    uint8_t h[64]; /* derived from K: 3 bytes are printed, the rest is wiped */
    mc_err err;

    if ((err = mc__sha512_2(h, (const uint8_t *)KEYTEXT_PREFIX, KEYTEXT_PREFIX_LEN, k,
                            MC_KEY_BYTES)) == MC_OK)
        memcpy(check, h, KEYTEXT_CHECK_BYTES);
    sodium_memzero(h, sizeof h);
    return err;
}

mc_err mc_key_file_text_for(const mc_key *key, const char *aadhaar,
                            char text[MC_KEY_FILE_TEXT_BYTES])
{
    char k[MC_KEY_TEXT_BYTES], id[MC_KEY_ID_HEX_BYTES], when[32]; /* k: secret */
    char masked[MC_AADHAAR_MASKED_BYTES], whose[48] = "";
    time_t now = time(NULL);
    struct tm tm;
    mc_err err;
    int n;

    if (key == NULL || text == NULL)
        return MC_EINVAL;
    if (aadhaar != NULL) {
        if ((err = mc_aadhaar_mask(aadhaar, masked)) != MC_OK)
            return err;
        snprintf(whose, sizeof whose, "# for Aadhaar %s\n", masked);
    }
    mc_key_to_text(key, k);
    if (k[0] == '\0')
        return MC_EINVAL;
    mc_key_id_hex(key, id);
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(when, sizeof when, "unknown");
    n = snprintf(text, MC_KEY_FILE_TEXT_BYTES,
                 "# medcrypt key: keep it secret, keep it safe; it alone decrypts\n"
                 "%s# key id: %s\n# created: %s\n%s\n",
                 whose, id, when, k);
    sodium_memzero(k, sizeof k);
    mc__stack_wipe(); /* snprintf's frames held the key's text */
    return n > 0 && n < MC_KEY_FILE_TEXT_BYTES ? MC_OK : MC_EINVAL;
}

mc_err mc_key_file_text(const mc_key *key, char text[MC_KEY_FILE_TEXT_BYTES])
{
    return mc_key_file_text_for(key, NULL, text);
}

void mc_key_to_text(const mc_key *key, char text[MC_KEY_TEXT_BYTES])
{
    uint8_t raw[KEYTEXT_RAW_BYTES]; /* secret */
    uint32_t acc = 0;               /* secret */
    unsigned bits = 0;
    size_t n = 0;                   /* data characters written */
    char *t = text;

    if (text == NULL)
        return;
    text[0] = '\0';
    if (key == NULL)
        return;
    memcpy(raw, key->bytes, MC_KEY_BYTES);
    if (key_check(raw + MC_KEY_BYTES, key->bytes) != MC_OK)
        goto out; /* text stays "" */

    memcpy(t, KEYTEXT_PREFIX, KEYTEXT_PREFIX_LEN);
    t += KEYTEXT_PREFIX_LEN;
    /* Big-endian bit order: the first character holds the top 5 bits of
     * raw[0]. */
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            if (n % KEYTEXT_GROUP == 0)
                *t++ = '-';
            *t++ = crockford[(acc >> bits) & 31];
            n++;
        }
        acc &= (1u << bits) - 1;
    }
    *t = '\0';
out:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(&acc, sizeof acc);
    mc__stack_wipe();
}

static bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n';
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

mc_err mc_key_parse(mc_key *key, const char *text)
{
    /* The text without separators; only the first sizeof clean characters
     * are kept, n counts them all. */
    char clean[KEYTEXT_PREFIX_LEN + KEYTEXT_CHARS]; /* secret */
    uint8_t raw[KEYTEXT_RAW_BYTES];                  /* secret */
    uint8_t check[KEYTEXT_CHECK_BYTES];              /* secret-derived */
    uint32_t acc = 0;                                /* secret */
    unsigned bits = 0;
    size_t n = 0, r = 0;
    mc_err err = MC_EKEYTEXT;

    if (key == NULL || text == NULL)
        return MC_EINVAL;
    for (const char *s = text; *s != '\0'; s++) {
        if (is_separator(*s))
            continue;
        if (n < sizeof clean)
            clean[n] = *s;
        n++;
    }

    /* The prefix is checked as text before any decoding: "MCK" then the
     * version digit, which is not key data. */
    if (n < KEYTEXT_PREFIX_LEN || upper(clean[0]) != 'M' || upper(clean[1]) != 'C' ||
        upper(clean[2]) != 'K')
        goto out;
    if (clean[3] != '1') {
        if (clean[3] >= '0' && clean[3] <= '9')
            err = MC_EKEYVERSION;
        goto out;
    }
    /* "MCK1" read: a medcrypt key, mistyped. A character missing, one too
     * many or one that is not Crockford's is a typo as much as a wrong
     * one, and is told as one (a clinician who dropped a character was
     * told "not a medcrypt key"). */
    err = MC_EKEYCHECK;
    if (n != sizeof clean)
        goto out; /* truncated or too long */

    for (size_t i = KEYTEXT_PREFIX_LEN; i < sizeof clean; i++) {
        int v = crockford_value(clean[i]);
        if (v < 0)
            goto out;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            raw[r++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* 56 * 5 = 280 bits = 35 bytes exactly: r == sizeof raw, bits == 0. */
    if ((err = key_check(check, raw)) != MC_OK)
        goto out;
    if (sodium_memcmp(check, raw + MC_KEY_BYTES, KEYTEXT_CHECK_BYTES) != 0) {
        err = MC_EKEYCHECK;
        goto out;
    }
    memcpy(key->bytes, raw, MC_KEY_BYTES);
    err = MC_OK;
out:
    sodium_memzero(clean, sizeof clean);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(check, sizeof check);
    sodium_memzero(&acc, sizeof acc);
    mc__stack_wipe();
    return err;
}

/* ------------------------------------------------------------------ */
/* Key files                                                           */

#define KEYFILE_MAX_BYTES (64u * 1024u) /* a key file is ~100 bytes */
#define KEYFILE_MAX_LINE 256u

/* A line after the key that is a key too: "MCK" and a version digit, in
 * any case, as mc_key_parse reads it. The same key again is no choice and
 * passes. */
static bool other_key_line(const mc_key *first, const char *text, size_t n)
{
    char line[KEYFILE_MAX_LINE + 1]; /* secret: a key text */
    mc_key k;                        /* secret */
    bool other;

    if (n < 4 || upper(text[0]) != 'M' || upper(text[1]) != 'C' || upper(text[2]) != 'K' ||
        text[3] < '0' || text[3] > '9')
        return false;
    if (n > KEYFILE_MAX_LINE || memchr(text, '\0', n) != NULL)
        return true;
    memcpy(line, text, n);
    line[n] = '\0';
    other = mc_key_parse(&k, line) != MC_OK ||
            sodium_memcmp(k.bytes, first->bytes, MC_KEY_BYTES) != 0;
    sodium_memzero(line, sizeof line);
    sodium_memzero(&k, sizeof k);
    return other;
}

mc_err mc_key_parse_file_text(mc_key *key, const char *buf, size_t len)
{
    char line[KEYFILE_MAX_LINE + 1]; /* secret: the key text */
    mc_key first;                    /* secret */
    size_t pos = 0;
    bool have_key = false;
    mc_err err = MC_EKEYTEXT;

    if (key == NULL || (buf == NULL && len != 0))
        return MC_EINVAL;
    if (len > KEYFILE_MAX_BYTES)
        return MC_EKEYTEXT;
    /* A UTF-8 byte order mark, as Windows Notepad saves a file. */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;

    while (pos < len) {
        size_t start = pos, end;

        while (pos < len && buf[pos] != '\n')
            pos++;
        end = pos;
        pos++; /* past the '\n' (or past the end) */

        while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
            start++;
        while (end > start && (buf[end - 1] == '\r' || buf[end - 1] == ' ' ||
                               buf[end - 1] == '\t'))
            end--;
        if (start == end || buf[start] == '#')
            continue; /* blank line or comment */

        if (have_key) {
            /* Text after the key is a note and is not read, unless it is
             * another key: two patients' keys in one file (key files
             * joined with cat) would have us pick one silently. */
            if (other_key_line(&first, buf + start, end - start)) {
                err = MC_EKEYMANY;
                break;
            }
            continue;
        }
        /* The first other line is the key, whatever it holds. */
        if (end - start > KEYFILE_MAX_LINE || memchr(buf + start, '\0', end - start) != NULL)
            break; /* err stays MC_EKEYTEXT */
        memcpy(line, buf + start, end - start);
        line[end - start] = '\0';
        if ((err = mc_key_parse(&first, line)) != MC_OK)
            break;
        have_key = true;
    }
    if (err == MC_OK)
        *key = first; /* on every failure the caller's key is left as it was */
    sodium_memzero(line, sizeof line);
    sodium_memzero(&first, sizeof first);
    mc__stack_wipe();
    return err;
}

/* ------------------------------------------------------------------ */
/* Key id                                                              */

/* Must match mc__subkeys_derive (cipher.c, docs/FORMAT.md §Subkeys): HKDF
 * salt "medcrypt-v1", info "medcrypt-v1 key-id". The id is public (in every
 * cipher image); HKDF's one-wayness keeps it from telling anything about
 * K beyond "same key or not". */
#define KDF_SALT "medcrypt-v1"
#define KDF_INFO_KEY_ID "medcrypt-v1 key-id"

void mc_key_id(const mc_key *key, uint8_t id[MC_KEY_ID_BYTES])
{
    if (id == NULL)
        return;
    if (key == NULL ||
        mc__hkdf_sha512(id, MC_KEY_ID_BYTES, key->bytes, MC_KEY_BYTES,
                        (const uint8_t *)KDF_SALT, sizeof KDF_SALT - 1,
                        KDF_INFO_KEY_ID) != MC_OK)
        memset(id, 0, MC_KEY_ID_BYTES); /* should not happen; never garbage */
    mc__stack_wipe();
}

void mc_key_id_hex(const mc_key *key, char hex[MC_KEY_ID_HEX_BYTES])
{
    uint8_t id[MC_KEY_ID_BYTES]; /* public */

    if (hex == NULL)
        return;
    mc_key_id(key, id);
    sodium_bin2hex(hex, MC_KEY_ID_HEX_BYTES, id, sizeof id);
}
