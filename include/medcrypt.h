/*
 * medcrypt — authenticated chaotic encryption of medical images.
 *
 * The one public header. Conventions (see docs/API.md):
 *   - every function that can fail returns an mc_err; MC_OK is 0;
 *   - mc_strerror() never returns NULL;
 *   - out-parameters are written only on success;
 *   - sizes travel next to their pointers; fixed sizes are in brackets;
 *   - *_free(NULL) is a no-op; there is no global state beyond the
 *     idempotent sodium_init() done by mc_ctx_new().
 */
#ifndef MEDCRYPT_H
#define MEDCRYPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MC_VERSION_STRING "0.1.0"
#define MC_FORMAT_VERSION 1

#define MC_KEY_BYTES      32  /* K: 256-bit key */
#define MC_KEY_ID_BYTES   8   /* public short hash of K, in every cipher image */
#define MC_NONCE_BYTES    16  /* random, public, stored in the cipher image */
#define MC_TAG_BYTES      32  /* synthetic IV and integrity tag */
#define MC_KEY_TEXT_BYTES 68  /* "MCK1-" + 7 groups of 8 + 6 '-' + NUL */
#define MC_KEY_ID_HEX_BYTES (2 * MC_KEY_ID_BYTES + 1)
#define MC_AADHAAR_MASKED_BYTES 15 /* "XXXX XXXX 1234" + NUL */

/* Default pixel cap: 2^28 samples (W·H·C), checked before any allocation. */
#define MC_DEFAULT_MAX_SAMPLES ((uint64_t)1 << 28)

#if defined(__GNUC__) || defined(__clang__)
#define MC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define MC_WARN_UNUSED
#endif

typedef enum mc_err {
    MC_OK = 0,
    MC_ENOMEM,          /* out of memory */
    MC_EINVAL,          /* invalid argument (a programming error) */
    MC_EIO,             /* read or write failed */
    MC_EFORMAT,         /* not an image medcrypt can read */
    MC_ETRUNCATED,      /* the file is truncated */
    MC_EUNSUPPORTED,    /* a valid image in a variant medcrypt does not support */
    MC_ETOOBIG,         /* dimensions exceed the pixel cap */
    MC_ENOTCIPHER,      /* a PNG without medcrypt's chunk */
    MC_EVERSION,        /* cipher image of an unknown format version */
    MC_EWRONGKEY,       /* key id in the cipher image is not this key's */
    MC_ETAMPERED,       /* the cipher image was modified or damaged */
    MC_EAADHAAR_LENGTH, /* Aadhaar: not 12 digits */
    MC_EAADHAAR_FIRST,  /* Aadhaar: first digit 0 or 1 */
    MC_EAADHAAR_CHECK,  /* Aadhaar: Verhoeff check digit fails */
    MC_EDOB_FORMAT,     /* date of birth not YYYY-MM-DD */
    MC_EDOB_INVALID,    /* not a real calendar date */
    MC_EDOB_FUTURE,     /* date of birth in the future */
    MC_EDOB_RANGE,      /* date of birth before 1900-01-01 */
    MC_EKEYTEXT,        /* not a medcrypt key */
    MC_EKEYCHECK,       /* key text has a typo (checksum mismatch) */
    MC_EKEYVERSION,     /* key text of an unknown version */
    MC_ERANDOM,         /* the operating system gave no randomness */
    MC_ESTATE,          /* object used after a fatal error */
    MC_ECRYPTO,         /* the crypto library failed */
    MC_ERR_COUNT
} mc_err;

/* A human-readable, lower-case message without a final period. Never NULL. */
const char *mc_strerror(mc_err err);

/* ------------------------------------------------------------------ */
/* Context: options shared by the calls that take it.                  */

typedef struct mc_ctx mc_ctx;

mc_err mc_ctx_new(mc_ctx **out);
void mc_ctx_free(mc_ctx *ctx);
/* Largest W·H·C accepted by every decoder (MC_DEFAULT_MAX_SAMPLES). */
mc_err mc_ctx_set_max_samples(mc_ctx *ctx, uint64_t max_samples);
uint64_t mc_ctx_max_samples(const mc_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Patient identifiers and keys (DESIGN §1.1).                         */

typedef struct mc_key {
    uint8_t bytes[MC_KEY_BYTES]; /* secret: wipe with mc_key_wipe() */
} mc_key;

/* Validates an Aadhaar number (spaces and hyphens allowed) and writes the
 * 12 digits, NUL-terminated, to digits (may be NULL). */
mc_err mc_aadhaar_check(const char *aadhaar, char digits[13]);
/* "XXXX XXXX 1234": the only form in which an Aadhaar number is shown. */
mc_err mc_aadhaar_mask(const char *aadhaar, char masked[MC_AADHAAR_MASKED_BYTES]);
/* Validates a date of birth YYYY-MM-DD: a real date, 1900-01-01..today (UTC). */
mc_err mc_dob_check(const char *dob);

/* A fresh key from the identifiers and 32 bytes of OS randomness. */
mc_err mc_key_generate(mc_key *key, const char *aadhaar, const char *dob) MC_WARN_UNUSED;
/* "MCK1-XXXXXXXX-..." (Crockford base32 of K and a 3-byte checksum). */
void mc_key_to_text(const mc_key *key, char text[MC_KEY_TEXT_BYTES]);
/* Tolerates spaces, hyphens, case and Crockford's O/I/L look-alikes. */
mc_err mc_key_parse(mc_key *key, const char *text) MC_WARN_UNUSED;
/* Reads a key file's text: '#' lines are comments, the first other line
 * is the key. */
mc_err mc_key_parse_file_text(mc_key *key, const char *buf, size_t len) MC_WARN_UNUSED;
void mc_key_id(const mc_key *key, uint8_t id[MC_KEY_ID_BYTES]);
void mc_key_id_hex(const mc_key *key, char hex[MC_KEY_ID_HEX_BYTES]);
void mc_key_wipe(mc_key *key);

/* ------------------------------------------------------------------ */
/* Images.                                                             */

typedef enum mc_format {
    MC_FORMAT_NONE = 0,
    MC_FORMAT_PNG = 1,
    MC_FORMAT_PNM = 2,   /* PGM/PPM, binary (P5/P6) or plain (P2/P3) */
    MC_FORMAT_BMP = 3,   /* reserved for the BMP codec */
    MC_FORMAT_JPEG = 4,  /* reserved for the JPEG codec */
    MC_FORMAT_DICOM = 5, /* reserved for the DICOM codec */
    MC_FORMAT_COUNT
} mc_format;

/* Short name ("png", "pnm", ...) and usual file extension ("png", "pgm"...). */
const char *mc_format_name(mc_format format);

typedef struct mc_image_info {
    uint32_t width;    /* pixels per row */
    uint32_t height;   /* rows (all frames stacked) */
    uint32_t frames;   /* frames stacked in height (1 for most formats) */
    uint8_t channels;  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    uint8_t bits;      /* 8 or 16 bits per sample */
    mc_format format;  /* the file format it came from / goes back to */
    const char *extension; /* "png", "pgm", "ppm", ... for output names */
} mc_image_info;

typedef struct mc_image mc_image;

/* A zeroed image of the given geometry (checked against the pixel cap). */
mc_err mc_image_new(mc_ctx *ctx, uint32_t width, uint32_t height, uint8_t channels,
                    uint8_t bits, mc_image **out);
void mc_image_free(mc_image *img);
void mc_image_get_info(const mc_image *img, mc_image_info *info);
/* Samples, row-major, interleaved channels; 16-bit samples are uint16_t in
 * host byte order. Length in bytes = W·H·C·(bits/8). */
uint8_t *mc_image_samples(mc_image *img, size_t *len);
const uint8_t *mc_image_samples_const(const mc_image *img, size_t *len);

/* Decodes a file's bytes (format detected from its content). name, if not
 * NULL, is the file's base name, kept as encrypted side data. */
mc_err mc_image_decode(mc_ctx *ctx, const uint8_t *buf, size_t len, const char *name,
                       mc_image **out) MC_WARN_UNUSED;
/* Encodes the image in its own format. *out is malloc'd: free with
 * mc_free(). */
mc_err mc_image_encode(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
    MC_WARN_UNUSED;
/* Encodes the samples as a lossless PNG (whatever the original format). */
mc_err mc_image_encode_png(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
    MC_WARN_UNUSED;
/* The original file name kept with the image, or NULL. */
const char *mc_image_name(const mc_image *img);

void mc_free(void *p);

/* ------------------------------------------------------------------ */
/* Encryption (format version 1, docs/FORMAT.md).                      */

/* Encrypts the bytes of an image file (any supported format) into a cipher
 * PNG. *out is malloc'd: free with mc_free(). */
mc_err mc_encrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       const char *name, uint8_t **out, size_t *out_len) MC_WARN_UNUSED;
/* Decrypts a cipher PNG back to the bytes of the original file format.
 * MC_EWRONGKEY: the image was encrypted under another key.
 * MC_ETAMPERED: the image was modified or damaged; no output.
 * info (may be NULL) describes the restored image. */
mc_err mc_decrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       uint8_t **out, size_t *out_len, mc_image_info *info) MC_WARN_UNUSED;

/* Image-level calls, for callers that hold decoded images. */
mc_err mc_encrypt_image(mc_ctx *ctx, const mc_key *key, const mc_image *plain, uint8_t **out,
                        size_t *out_len) MC_WARN_UNUSED;
mc_err mc_decrypt_image(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                        mc_image **out) MC_WARN_UNUSED;

/* Public facts about a cipher PNG, readable without the key. */
typedef struct mc_cipher_info {
    uint8_t version;
    uint8_t key_id[MC_KEY_ID_BYTES];
    mc_image_info image; /* geometry and original format */
} mc_cipher_info;

mc_err mc_cipher_inspect(mc_ctx *ctx, const uint8_t *in, size_t in_len, mc_cipher_info *info)
    MC_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* MEDCRYPT_H */
