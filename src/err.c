/* Error messages: lower case, no final period (age's "one voice"). */
#include "medcrypt.h"

static const char *const messages[MC_ERR_COUNT] = {
    [MC_OK] = "success",
    [MC_ENOMEM] = "out of memory",
    [MC_EINVAL] = "invalid argument",
    [MC_EIO] = "input/output error",
    [MC_EFORMAT] = "not an image medcrypt can read",
    [MC_ETRUNCATED] = "the file is truncated",
    [MC_EUNSUPPORTED] = "unsupported image variant",
    [MC_ETOOBIG] = "image too large",
    [MC_ENOTCIPHER] = "not a medcrypt cipher image",
    [MC_EVERSION] = "cipher image of an unsupported format version",
    [MC_EWRONGKEY] = "wrong key",
    [MC_ETAMPERED] = "the cipher image was modified or damaged",
    [MC_EAADHAAR_LENGTH] = "Aadhaar number must be 12 digits (spaces and hyphens allowed)",
    [MC_EAADHAAR_FIRST] = "Aadhaar number cannot start with 0 or 1",
    /* what Verhoeff's digit catches: one digit changed, two adjacent swapped */
    [MC_EAADHAAR_CHECK] =
        "Aadhaar number fails its check digit (a digit is mistyped, or two are swapped)",
    [MC_EDOB_FORMAT] = "date of birth must be written YYYY-MM-DD",
    [MC_EDOB_INVALID] = "date of birth is not a real calendar date",
    [MC_EDOB_FUTURE] = "date of birth is in the future",
    [MC_EDOB_RANGE] = "date of birth is before 1900-01-01",
    [MC_EKEYTEXT] = "not a medcrypt key",
    [MC_EKEYCHECK] = "the key has a typo: a character is wrong, missing or extra",
    [MC_EKEYVERSION] = "key of an unsupported version",
    [MC_ERANDOM] = "the operating system gave no randomness",
    [MC_ESTATE] = "object used after a fatal error",
    [MC_ECRYPTO] = "the crypto library failed",
    [MC_EBUSY] = "busy: not enough memory for this image now",
    [MC_EAADHAAR_CHAR] = "Aadhaar number may hold only digits, spaces and hyphens",
    [MC_EKEYMANY] = "the key file holds more than one key",
};

const char *mc_strerror(mc_err err)
{
    if ((unsigned)err >= MC_ERR_COUNT || messages[err] == NULL)
        return "unknown error";
    return messages[err];
}
