/* Aadhaar and date-of-birth parsers (aadhaar.c, dob.c). The input is split
 * at the first NUL: an Aadhaar number, then a date. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 2);
    char digits[13], masked[MC_AADHAAR_MASKED_BYTES];
    const char *dob;
    mc_err ck, mk;

    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = s[size + 1] = '\0';
    dob = s + strlen(s) + 1;

    ck = mc_aadhaar_check(s, digits);
    mk = mc_aadhaar_mask(s, masked);
    if (ck == MC_OK) {
        FUZZ_CHECK(strlen(digits) == 12);
        FUZZ_CHECK(mc__verhoeff_valid(digits, 12));
        FUZZ_CHECK(digits[0] >= '2' && digits[0] <= '9');
        /* "XXXX XXXX 1234": only the last four digits ever shown. */
        FUZZ_CHECK(mk == MC_OK);
        FUZZ_CHECK(memcmp(masked, "XXXX XXXX ", 10) == 0);
        FUZZ_CHECK(memcmp(masked + 10, digits + 8, 4) == 0 && masked[14] == '\0');
    }
    (void)mc_dob_check(dob);
    (void)mc__dob_check_at(s, 2026, 11, 25);
    if (mc__dob_check_at(dob, 2000, 2, 29) == MC_OK) {
        FUZZ_CHECK(strlen(dob) == 10);
        /* valid on 2000-02-29 stays valid later */
        FUZZ_CHECK(mc__dob_check_at(dob, 2100, 12, 31) == MC_OK);
    }
    free(s);
    return 0;
}
