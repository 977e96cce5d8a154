/*
 * Aadhaar numbers: 12 digits, the first 2-9, the last a Verhoeff check
 * digit (UIDAI). An Aadhaar number is personal data: copies of its digits
 * are wiped after use and it is only ever shown masked (DESIGN §1.1).
 */
#include "internal.h"

#include <string.h>

#include <sodium.h>

/* Verhoeff, "Error detecting decimal codes" (1969): multiplication in the
 * dihedral group D5, a position-dependent permutation p^(i mod 8), and the
 * group inverse. It detects every single-digit error and every transposition
 * of adjacent digits, which a mod-10 sum does not. */
static const uint8_t verhoeff_d[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
};
static const uint8_t verhoeff_p[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
};
static const uint8_t verhoeff_inv[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The running product over digits[0..n), rightmost digit at position
 * first_pos; -1 if a character is not a digit. */
static int verhoeff_sum(const char *digits, size_t n, size_t first_pos)
{
    unsigned c = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = digits[n - 1 - i];
        if (!is_digit(ch))
            return -1;
        c = verhoeff_d[c][verhoeff_p[(i + first_pos) % 8][ch - '0']];
    }
    return (int)c;
}

bool mc__verhoeff_valid(const char *digits, size_t n)
{
    /* The check digit is at position 0; the product must be the identity. */
    if (digits == NULL || n < 2)
        return false;
    return verhoeff_sum(digits, n, 0) == 0;
}

int mc__verhoeff_digit(const char *digits, size_t n)
{
    int c;

    /* The digit to append will take position 0, so the given digits start
     * at position 1. Returns -1 on a non-digit. */
    if (digits == NULL)
        return -1;
    if ((c = verhoeff_sum(digits, n, 1)) < 0)
        return -1;
    return verhoeff_inv[c];
}

/* Collects the digits of an Aadhaar number written with optional spaces and
 * hyphens and validates them. out receives 12 digits + NUL on success. */
static mc_err aadhaar_digits(const char *aadhaar, char out[13])
{
    size_t n = 0;

    /* A stray character first, wherever it is, as the web form's script
     * says it: a letter O for a zero, a dot, a tab. */
    for (const char *s = aadhaar; *s != '\0'; s++)
        if (*s != ' ' && *s != '-' && !is_digit(*s))
            return MC_EAADHAAR_CHAR;
    for (const char *s = aadhaar; *s != '\0'; s++) {
        if (*s == ' ' || *s == '-')
            continue;
        if (n == 12)
            return MC_EAADHAAR_LENGTH;
        out[n++] = *s;
    }
    out[n] = '\0';
    if (n != 12)
        return MC_EAADHAAR_LENGTH;
    if (out[0] == '0' || out[0] == '1')
        return MC_EAADHAAR_FIRST;
    if (!mc__verhoeff_valid(out, 12))
        return MC_EAADHAAR_CHECK;
    return MC_OK;
}

mc_err mc_aadhaar_check(const char *aadhaar, char digits[13])
{
    char tmp[13]; /* secret: personal data, wiped */
    mc_err err;

    if (aadhaar == NULL)
        return MC_EINVAL;
    if ((err = aadhaar_digits(aadhaar, tmp)) != MC_OK)
        goto out;
    if (digits != NULL)
        memcpy(digits, tmp, sizeof tmp);
out:
    sodium_memzero(tmp, sizeof tmp);
    return err;
}

mc_err mc_aadhaar_mask(const char *aadhaar, char masked[MC_AADHAAR_MASKED_BYTES])
{
    char tmp[13]; /* secret: personal data, wiped */
    mc_err err;

    if (aadhaar == NULL || masked == NULL)
        return MC_EINVAL;
    if ((err = aadhaar_digits(aadhaar, tmp)) != MC_OK)
        goto out;
    memcpy(masked, "XXXX XXXX ", 10);
    memcpy(masked + 10, tmp + 8, 4);
    masked[14] = '\0';
out:
    sodium_memzero(tmp, sizeof tmp);
    return err;
}
