/*
 * medcrypt — authenticated chaotic encryption of medical images.
 *
 * The one public header. Conventions (see docs/API.md):
 *   - every function that can fail returns an mc_err; MC_OK is 0;
 *   - mc_strerror() never returns NULL;
 *   - out-parameters are written only on success;
 *   - sizes travel next to their pointers; fixed sizes are in brackets;
 *   - *_free(NULL) is a no-op; process-wide state: the idempotent
 *     sodium_init() done by mc_ctx_new(), a cache of freed image buffers
 *     (mc_release_memory()), the huge-page line measured at the first
 *     image buffer, and libjpeg once loaded (docs/API.md).
 */
#ifndef MEDCRYPT_H
#define MEDCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, as medcrypt.pc's: the minor number grows with
 * each addition to this header (a call, an error code), the soname's
 * major number with an incompatible change. mc_version() is the version
 * of the library the program runs against. */
#define MC_VERSION_STRING "0.4.0"
#define MC_FORMAT_VERSION 3 /* written; versions 1 and 2 are still read */

#define MC_KEY_BYTES      32  /* K: 256-bit key */
#define MC_KEY_ID_BYTES   8   /* public short hash of K, in every cipher image */
#define MC_NONCE_BYTES    16  /* random, public, stored in the cipher image */
#define MC_TAG_BYTES      32  /* synthetic IV and integrity tag */
#define MC_KEY_TEXT_BYTES 68  /* "MCK1-" + 7 groups of 8 + 6 '-' + NUL */
#define MC_KEY_FILE_TEXT_BYTES 256 /* mc_key_file_text: comments, key, NUL */
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
    MC_ETOOBIG,         /* over the pixel cap, or a format's own size limit */
    MC_ENOTCIPHER,      /* a PNG without medcrypt's chunk */
    MC_EVERSION,        /* cipher image of an unknown format version */
    MC_EWRONGKEY,       /* key id in the cipher image is not this key's */
    MC_ETAMPERED,       /* the cipher image was modified or damaged */
    MC_EAADHAAR_LENGTH, /* Aadhaar: not 12 digits (and spaces, hyphens) */
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
    MC_ESTATE,          /* object used after a fatal error: an image encrypted in place */
    MC_ECRYPTO,         /* the crypto library failed */
    MC_EBUSY,           /* the context's admission function refused the image */
    MC_EAADHAAR_CHAR,   /* Aadhaar: a character other than a digit, space or hyphen */
    MC_EKEYMANY,        /* a key file holding two different keys */
    MC_ERR_COUNT /* not a code: how many there are in this header; it grows
                    with new codes (appended), so a table sized by it in a
                    program fits the header it was built against only */
} mc_err;

/* A human-readable, lower-case message without a final period. Never NULL. */
const char *mc_strerror(mc_err err);

/* ------------------------------------------------------------------ */
/* Context: options shared by the calls that take it.                  */

typedef struct mc_ctx mc_ctx;

mc_err mc_ctx_new(mc_ctx **out);
void mc_ctx_free(mc_ctx *ctx);
/* Largest W·H·C accepted by every decoder (MC_DEFAULT_MAX_SAMPLES); 1 or
 * more (0 is MC_EINVAL: there is no "no cap"). ctx may be NULL only where
 * a call says so (mc_ctx_max_samples, mc_ctx_last_detail and
 * mc_ctx_last_cap read a NULL one as the defaults). */
mc_err mc_ctx_set_max_samples(mc_ctx *ctx, uint64_t max_samples);
uint64_t mc_ctx_max_samples(const mc_ctx *ctx);
/* Threads one image's encryption or decryption may use (default 1; 0 =
 * every core the process may use, its CPU affinity as nproc(1) counts
 * them; at most 64). The cipher bytes are the same for any count: only
 * the stages whose blocks are independent run in parallel. */
mc_err mc_ctx_set_threads(mc_ctx *ctx, unsigned threads);
/* For a server that budgets its memory: admit (NULL: none, the default)
 * is called with the bytes of the samples of each image the context is
 * about to decode or create (mc_image_decode*, the decryptions,
 * mc_encrypt_file, mc_image_new, mc_image_preview_png, and mc_analyze for
 * a given cipher image, which it decodes and decrypts), once the pixel
 * cap has passed it and before anything is allocated for it; it returns
 * 0 to go on, anything else to refuse, and the call then fails with
 * MC_EBUSY (the detail names the size). It may block (to wait for memory)
 * and is called on the calling thread. It is a gate, not a reservation:
 * a decode usually asks twice for the same image (when the header is
 * read, then before the samples are allocated), there is no matching
 * release, and the figure is the samples' bytes, while a call's peak is
 * up to about three times that (the file, the samples, the output).
 * `medcrypt serve --max-memory` (web/server.c) reserves in the hook the
 * samples' bytes times a multiple per route, keeps the largest figure one
 * request was asked for rather than adding them up, and releases it when
 * the request ends. mc_encrypt_image does not call it (the image exists
 * already; its copy is the caller's to budget). */
typedef int (*mc_admit_fn)(void *user, uint64_t sample_bytes);
mc_err mc_ctx_set_admit(mc_ctx *ctx, mc_admit_fn admit, void *user);

/* ------------------------------------------------------------------ */
/* Patient identifiers and keys (docs/FORMAT.md §1).                   */

typedef struct mc_key {
    uint8_t bytes[MC_KEY_BYTES]; /* secret: wipe with mc_key_wipe() */
} mc_key;

/* Validates an Aadhaar number (spaces and hyphens allowed) and writes the
 * 12 digits, NUL-terminated, to digits (may be NULL; personal data: wipe
 * it with mc_wipe()). */
mc_err mc_aadhaar_check(const char *aadhaar, char digits[13]);
/* "XXXX XXXX 1234": the only form in which an Aadhaar number is shown. */
mc_err mc_aadhaar_mask(const char *aadhaar, char masked[MC_AADHAAR_MASKED_BYTES]);
/* Validates a date of birth YYYY-MM-DD: a real date, 1900-01-01..today,
 * today being the date in the time zone furthest ahead (UTC+14), so that a
 * date already begun anywhere (India included) is never "in the future". */
mc_err mc_dob_check(const char *dob);

/* A fresh key from the identifiers and 32 bytes of OS randomness: the
 * same identifiers give another key every time, so a key cannot be made
 * again from the patient's data. Keep it: losing it loses the images. */
mc_err mc_key_generate(mc_key *key, const char *aadhaar, const char *dob) MC_WARN_UNUSED;
/* "MCK1-XXXXXXXX-..." (Crockford base32 of K and a 3-byte checksum).
 * Secret: wipe it with mc_wipe(). */
void mc_key_to_text(const mc_key *key, char text[MC_KEY_TEXT_BYTES]);
/* Tolerates spaces, hyphens, case and Crockford's O/I/L look-alikes. */
mc_err mc_key_parse(mc_key *key, const char *text) MC_WARN_UNUSED;
/* Reads a key file's text: '#' lines are comments, the first other line
 * is the key; other lines after it are not read, but a second, different
 * key there (a line starting "MCK" and a digit) is MC_EKEYMANY. On failure *key is
 * left as it was. */
mc_err mc_key_parse_file_text(mc_key *key, const char *buf, size_t len) MC_WARN_UNUSED;
/* A key file's text, as `medcrypt keygen -o` writes it: a comment line
 * saying what it is, "# key id: ...", "# created: " and the UTC time,
 * then the key text; every line ends in '\n'. Secret: wipe it. */
mc_err mc_key_file_text(const mc_key *key, char text[MC_KEY_FILE_TEXT_BYTES]);
/* The same with a line naming whose key it is, "# for Aadhaar XXXX XXXX
 * 1234" (mc_aadhaar_mask's: never the number), after the first: a folder
 * of patients' key files can then be told apart. aadhaar: the number the
 * key was made from (checked as mc_aadhaar_check does), or NULL for no
 * such line. */
mc_err mc_key_file_text_for(const mc_key *key, const char *aadhaar,
                            char text[MC_KEY_FILE_TEXT_BYTES]);
void mc_key_id(const mc_key *key, uint8_t id[MC_KEY_ID_BYTES]);
void mc_key_id_hex(const mc_key *key, char hex[MC_KEY_ID_HEX_BYTES]);
void mc_key_wipe(mc_key *key);

/* ------------------------------------------------------------------ */
/* Images.                                                             */

typedef enum mc_format {
    MC_FORMAT_NONE = 0,
    MC_FORMAT_PNG = 1,
    MC_FORMAT_PNM = 2,   /* PGM/PPM, binary (P5/P6) or plain (P2/P3) */
    MC_FORMAT_BMP = 3,   /* Windows bitmap: 1/4/8-bit palette, 16/24/32 bit */
    MC_FORMAT_JPEG = 4,  /* decoded; encoded back as a PNG (lossless) */
    MC_FORMAT_DICOM = 5, /* Part 10, uncompressed transfer syntaxes */
    MC_FORMAT_COUNT
} mc_format;

/* The format's short name: "png", "pnm", "bmp", "jpeg", "dicom" ("none"
 * otherwise). An output file's extension is mc_image_info.extension. */
const char *mc_format_name(mc_format format);

typedef struct mc_image_info {
    uint32_t width;    /* pixels per row */
    uint32_t height;   /* rows (all frames stacked) */
    uint32_t frames;   /* frames stacked in height (1 for most formats) */
    uint8_t channels;  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    uint8_t bits;      /* 8 or 16 bits per sample */
    mc_format format;  /* the file format it came from (a JPEG goes back as
                        * a PNG: see extension) */
    const char *extension; /* of the bytes mc_image_encode writes: "png",
                            * "pgm", "ppm", "bmp", "dcm"; static */
} mc_image_info;

typedef struct mc_image mc_image;

/* A zeroed image of the given geometry (checked against the pixel cap:
 * MC_ETOOBIG); width and height at least 1, channels 1 to 4, bits 8 or
 * 16, else MC_EINVAL. Its format is MC_FORMAT_PNG, its name NULL. */
mc_err mc_image_new(mc_ctx *ctx, uint32_t width, uint32_t height, uint8_t channels,
                    uint8_t bits, mc_image **out);
void mc_image_free(mc_image *img);
void mc_image_get_info(const mc_image *img, mc_image_info *info);
/* Samples, row-major, interleaved channels; 16-bit samples are uint16_t in
 * host byte order. Length in bytes = W·H·C·(bits/8). */
uint8_t *mc_image_samples(mc_image *img, size_t *len);
const uint8_t *mc_image_samples_const(const mc_image *img, size_t *len);

/* Decodes a file's bytes (format detected from its content; a DICOM
 * file, "DICM" and its File Meta group after the 128-byte preamble, is
 * read as DICOM or refused, whatever image its preamble holds). name, if
 * not NULL, is the file's base name, kept as encrypted side data. */
mc_err mc_image_decode(mc_ctx *ctx, const uint8_t *buf, size_t len, const char *name,
                       mc_image **out) MC_WARN_UNUSED;
/* As mc_image_decode, taking buf (malloc'd) over whatever the outcome:
 * where the format allows (binary PGM/PPM, uncompressed DICOM), buf
 * becomes the image's sample buffer, decoded where it lies, with no second
 * copy of the image; else it is decoded as by mc_image_decode, then wiped
 * and freed. */
mc_err mc_image_decode_owned(mc_ctx *ctx, uint8_t *buf, size_t len, const char *name,
                             mc_image **out) MC_WARN_UNUSED;
/* Encodes the image in its own format. *out is malloc'd: free with
 * mc_free(). */
mc_err mc_image_encode(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
    MC_WARN_UNUSED;
/* Where streamed output goes: called with consecutive pieces of the file
 * in order, always from the thread that made the call, even where the
 * work runs on several; returns 0 on success, anything else to stop, and
 * the call then fails with MC_EIO. Cipher images, PNG and binary PGM/PPM
 * come in pieces of up to a few hundred KiB; a DICOM file's pixel data
 * and a BMP file in one piece as large as they are. */
typedef int (*mc_write_fn)(void *user, const uint8_t *data, size_t len);
/* As mc_image_encode, the file handed to write piece by piece (PNG and
 * binary PGM/PPM never held whole in memory; the other formats in one
 * piece). On failure some pieces may have been written: discard them.
 * A decrypted file streamed: mc_decrypt_image, then this (and
 * mc_image_name() for the name it was encrypted under). */
mc_err mc_image_encode_to(mc_ctx *ctx, const mc_image *img, mc_write_fn write, void *user)
    MC_WARN_UNUSED;
/* Encodes the samples as a lossless PNG (whatever the original format). */
mc_err mc_image_encode_png(mc_ctx *ctx, const mc_image *img, uint8_t **out, size_t *out_len)
    MC_WARN_UNUSED;
/* The original file name kept with the image, or NULL. */
const char *mc_image_name(const mc_image *img);

const char *mc_version(void);

void mc_free(void *p);
/* Wipes len bytes at p (NULL or 0: nothing) in a way the compiler keeps,
 * as a memset() before free() is not: for a decrypted file's bytes, a key
 * text, an Aadhaar number's digits. mc_free_wiped() wipes, then frees
 * (mc_free() cannot wipe: it does not know the length). */
void mc_wipe(void *p, size_t len);
void mc_free_wiped(void *p, size_t len);
/* Loads libjpeg now rather than at the first JPEG (it is dlopen()ed, see
 * docs/API.md): for a process that then sandboxes itself. MC_OK (also
 * where libjpeg is linked in), or MC_EUNSUPPORTED with the loader's
 * reason as mc_ctx_last_detail(). */
mc_err mc_preload_jpeg(const mc_ctx *ctx);
/* Gives back the freed image-sized buffers the library keeps for the next
 * image (up to 32 MiB, wiped when they were freed): after a batch, or
 * before a leak checker's report. Thread-safe; later calls allocate anew. */
void mc_release_memory(void);

/* ------------------------------------------------------------------ */
/* Encryption (format version 3, docs/FORMAT.md).                      */

/* Encrypts the bytes of an image file (any supported format) into a cipher
 * PNG. *out is malloc'd: free with mc_free(). A cipher image is refused
 * (MC_EUNSUPPORTED, see mc_is_cipher_image). */
mc_err mc_encrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       const char *name, uint8_t **out, size_t *out_len) MC_WARN_UNUSED;
/* Decrypts a cipher PNG back to the bytes of the original file format.
 * MC_EWRONGKEY: the image was encrypted under another key.
 * MC_ETAMPERED: the image was modified or damaged; no output (but a
 * change to the type of medcrypt's chunk itself leaves a PNG without it:
 * MC_ENOTCIPHER, docs/FORMAT.md §5).
 * info (may be NULL) describes the restored image. */
mc_err mc_decrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       uint8_t **out, size_t *out_len, mc_image_info *info) MC_WARN_UNUSED;

/* Image-level calls, for callers that hold decoded images. */
mc_err mc_encrypt_image(mc_ctx *ctx, const mc_key *key, const mc_image *plain, uint8_t **out,
                        size_t *out_len) MC_WARN_UNUSED;
mc_err mc_decrypt_image(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                        mc_image **out) MC_WARN_UNUSED;
/* As mc_encrypt_image, without a copy: img's samples and side data are
 * encrypted where they are. For callers that hold one large image at a
 * time. After the call, whatever it returned (a failure too may have
 * encrypted part of the samples), the image is spent: only fit for
 * mc_image_free. Encrypting, encoding, previewing, analysing or
 * measuring it again (mc_plane_of, mc_cipher_stream) answers MC_ESTATE;
 * to retry, decode the file again. mc_image_get_info, mc_image_name and
 * the samples' accessors still answer: the geometry is unchanged, the
 * samples are cipher samples. */
mc_err mc_encrypt_image_inplace(mc_ctx *ctx, const mc_key *key, mc_image *img, uint8_t **out,
                                size_t *out_len) MC_WARN_UNUSED;

/* As mc_encrypt_image_inplace, but the cipher PNG is handed to write
 * piece by piece as it is encoded, never held whole in memory: for a
 * caller that writes it to a file or a socket (the medcrypt command does).
 * On failure some pieces may have been written: discard them; the image
 * is spent as above (MC_ESTATE if retried), so decode the file again. */
mc_err mc_encrypt_image_inplace_to(mc_ctx *ctx, const mc_key *key, mc_image *img,
                                   mc_write_fn write, void *user) MC_WARN_UNUSED;

/* Public facts about a cipher PNG, readable without the key. version:
 * the format version it was written in (3; 1 and 2 from earlier
 * medcrypt, still decrypted). They are not authenticated (only a
 * decryption proves them). mc_cipher_inspect reads the chunk list alone
 * (IHDR, medcrypt's chunk, every chunk's CRC, IEND last): nothing is
 * inflated or allocated, so it is instant for any size and the pixel cap
 * does not apply. A cut, changed or extended cipher image is
 * MC_ETAMPERED, as decryption would say; a PNG without medcrypt's chunk
 * MC_ENOTCIPHER, a plain PNG cut short past the start of its image data
 * included (docs/FORMAT.md §5). */
typedef struct mc_cipher_info {
    uint8_t version;
    uint8_t key_id[MC_KEY_ID_BYTES];
    mc_image_info image; /* geometry and original format */
} mc_cipher_info;

mc_err mc_cipher_inspect(mc_ctx *ctx, const uint8_t *in, size_t in_len, mc_cipher_info *info)
    MC_WARN_UNUSED;

/* Whether in is a cipher image, intact or damaged: a PNG whose chunk list
 * holds medcrypt's chunk before the image data (an IEND inserted before
 * it, too). Only the chunk headers
 * are read, nothing is decoded or checked: cheap enough to ask of every
 * input. mc_encrypt_file() refuses such an input (MC_EUNSUPPORTED): its
 * medcrypt chunk would not travel inside a second layer, and the first
 * could never be decrypted again. in may be NULL if in_len is 0. */
bool mc_is_cipher_image(const uint8_t *in, size_t in_len);

/* The chunks of a cipher image that medcrypt does not write: the types of
 * all but IHDR, its own chunk, IDAT and IEND, each once, in file order,
 * as "tEXt, tIME", into list (size bytes, NUL-terminated; short of room,
 * whole types and "..." as mc_png_dropped_chunks below). Another program
 * added them (an editor's tIME, a caption in a tEXt, perhaps naming
 * someone): they are not authenticated, since the tag covers what the
 * image decodes to and medcrypt's chunk, not how the PNG holds it
 * (docs/FORMAT.md §2), and decryption does not copy them (a decrypted
 * PNG's metadata comes from the authenticated side data); an unknown
 * critical one (first letter upper case), a second IHDR or one between
 * IDATs makes decryption and mc_cipher_inspect refuse the image as
 * modified, and is named all the same. "" for a cipher image with none
 * and for anything else; a type that is not four letters (PNG §5.4) is
 * shown with '?' for each other byte. From the chunk headers, as far as
 * the chunk list is whole; a chunk whose CRC fails is damage, not an
 * addition, and is not named. For a note to the user; a decryption or
 * inspection that refuses the image as modified says what another program
 * added in mc_ctx_last_detail(). */
void mc_cipher_foreign_chunks(const uint8_t *in, size_t in_len, char *list, size_t size);

/* A PNG's metadata that will not come back on decryption: the types of
 * its ancillary chunks that its cipher image does not carry (those that
 * would no longer hold for the decrypted PNG, such as a palette image's
 * bKGD or a 4-bit grey image's tRNS; damaged ones; unknown ones unsafe
 * to copy; beyond 8 MiB of them: docs/FORMAT.md §3), each once, as
 * "bKGD, prVT", into list (size bytes, NUL-terminated; a type that does
 * not fit whole is left out, with those after it, and the list then ends
 * "..." to say so: "bKGD, ..."; with under 4 bytes of room, where not
 * even "..." fits, it is always ""). Text, pHYs, gAMA, iCCP... travel
 * encrypted in the side data and come back. "" for a PNG with none and
 * for anything else. From the chunk headers and CRCs alone. For a note to the
 * user: the pixels come back exactly, these do not. */
void mc_png_dropped_chunks(const uint8_t *in, size_t in_len, char *list, size_t size);
/* The same for a JPEG's file bytes: its metadata segments, none of which
 * its cipher image carries (the samples are encrypted; decryption writes
 * a PNG), named once each as "EXIF (orientation 6), ICC profile, XMP,
 * IPTC, comment, JFIF resolution, APP12". Returns the EXIF orientation if
 * it is 2..8 (viewers show such a JPEG turned or mirrored, the decrypted
 * PNG as stored), else 0; "" and 0 for anything but a JPEG. Short of
 * room, whole names and "..." as above (under 4 bytes, ""). list may be
 * NULL (size 0) for the orientation alone. */
unsigned mc_jpeg_dropped_markers(const uint8_t *in, size_t in_len, char *list, size_t size);

/* ------------------------------------------------------------------ */
/* Formats and previews (issue 5: BMP, JPEG, DICOM).                   */

/* The detail of the calling thread's last failure, to print after
 * mc_strerror()'s text; "" when there is none. Never contains a patient
 * identifier. Set by:
 *  - mc_image_decode(), mc_image_decode_owned() (and mc_encrypt_file(),
 *    which decodes) and mc_dicom_inspect(): why a file was refused, e.g.
 *    "transfer syntax 1.2.840.10008.1.2.4.50 (JPEG Baseline (Process 1))
 *    is compressed: not supported"; mc_dicom_inspect() also leaves the
 *    reason a file it describes is not supported (supported = 0, MC_OK),
 *    e.g. its size over the pixel cap;
 *  - mc_decrypt_image(), mc_decrypt_file() and mc_analyze()
 *    (mc_analyze_ex(), a given cipher image) for MC_EWRONGKEY: the image's
 *    key id and the key's, both public;
 *  - every call that meets an image over the pixel cap (those above, and
 *    mc_image_new() and mc_image_preview_png()) for MC_ETOOBIG: the
 *    image's size and the cap, "512 x 512 pixels = 262144 samples; the
 *    pixel cap is 30000" (or the format's own limit it exceeds); for
 *    MC_EBUSY, the admission hook's refusal, its size;
 *  - the decryptions, mc_analyze() and mc_cipher_inspect() for
 *    MC_EVERSION: "format version 9, newer than this medcrypt reads (1 to
 *    3): update medcrypt";
 *  - mc_analyze() for MC_EINVAL when the given cipher image is of another
 *    size than the plain image: both sizes;
 *  - the decryptions, mc_analyze() and mc_cipher_inspect() for
 *    MC_ETAMPERED: what another program added to the cipher image:
 *    chunks PNG readers must refuse (an unknown critical one, a second
 *    IHDR), the modification itself, "another program added a chunk PNG
 *    readers must refuse (CgBI)"; else ancillary ones, "another program
 *    has saved it since it was encrypted (it added tEXt)"; else "" (and
 *    "" for a file cut short);
 *  - the decryptions, mc_analyze() and mc_cipher_inspect() for
 *    MC_ENOTCIPHER: what the file is when it is an image medcrypt reads
 *    ("a DICOM file", "a PGM/PPM image", "a BMP image", "a JPEG image",
 *    "a PNG image without medcrypt's data"), else "".
 * Each of them clears it at its start, before its arguments are checked,
 * but mc_cipher_inspect(), which sets it when it fails (empty but for
 * MC_EVERSION, MC_ETAMPERED and MC_ENOTCIPHER) and leaves it as it was when it
 * succeeds (so that a key id can be asked for after a decryption's
 * MC_EWRONGKEY, and that decryption's detail printed). Like errno it is
 * thread-local, so threads sharing one context each read their own; ctx
 * is not used (kept for the API's shape). Read it right after the failed call (other calls
 * leave it as it was). */
const char *mc_ctx_last_detail(const mc_ctx *ctx);
/* Which limit the calling thread's last MC_ETOOBIG went over: the pixel
 * cap it exceeded (mc_ctx_max_samples() at the time, in samples), or 0
 * when it was a format's own limit (a BMP over 4 GiB, side data too large
 * for a PNG chunk, libspng's limits) that no raised cap would lift, so a
 * program knows whether to offer a larger cap without reading the
 * detail's words. Set and cleared with mc_ctx_last_detail(), read the
 * same way: right after the failed call, in the thread that made it (and
 * after an mc_dicom_inspect() whose file is over the cap: supported 0,
 * MC_OK). ctx is not used; NULL is fine. */
uint64_t mc_ctx_last_cap(const mc_ctx *ctx);

/* An 8-bit PNG of the image for people to look at (not lossless): *png is
 * malloc'd, free with mc_free(). Gray stays gray (+alpha kept), RGB(A)
 * stays RGB(A). 8-bit samples are copied as they are; 16-bit samples are
 * stretched from their min..max to 0..255. DICOM images (also decrypted
 * ones) use the file's first Window Center/Width on the rescaled values
 * (PS3.3 C.11.2.1.2), else min..max; Pixel Representation (signed) and
 * MONOCHROME1 (inverted) are honoured. Multi-frame images: the first
 * frame only. */
mc_err mc_image_preview_png(mc_ctx *ctx, const mc_image *img, uint8_t **png, size_t *png_len)
    MC_WARN_UNUSED;

/* What medcrypt sees in a DICOM Part 10 file: the transfer syntax and the
 * Image Pixel module (PS3.3 C.7.6.3) — never a patient identifier or any
 * other element value. */
typedef struct mc_dicom_info {
    char transfer_syntax[65];        /* UID (0002,0010), NUL-terminated */
    const char *transfer_syntax_name; /* "Explicit VR Little Endian"...; never NULL */
    int supported;        /* 1: medcrypt encrypts this file's pixels */
    int compressed;       /* 1: encapsulated/deflated/big endian syntax */
    int pixel_module;     /* 1: the fields below were read from the data set */
    char photometric[17]; /* (0028,0004), e.g. "MONOCHROME2" */
    uint32_t rows, columns, frames;
    uint16_t samples_per_pixel, bits_allocated, bits_stored, high_bit;
    uint16_t pixel_representation; /* 0 unsigned, 1 signed (two's complement) */
    uint16_t planar_configuration; /* 0 RGBRGB..., 1 RRR...GGG...BBB... */
    int has_window;                /* window_center/width valid */
    double window_center, window_width;
    double rescale_intercept, rescale_slope; /* 0 and 1 when absent */
} mc_dicom_info;

/* Describes a DICOM file's bytes, including files whose transfer syntax
 * medcrypt does not support (then supported = 0 and the pixel module
 * fields are filled when the data set is not deflated: little or big
 * endian, native or compressed).
 * MC_EFORMAT: not DICOM Part 10 or unreadable; MC_ETRUNCATED: a DICOM file
 * cut short before its transfer syntax and pixel module could be read (a
 * file cut inside its pixel data is described, supported = 0). */
mc_err mc_dicom_inspect(mc_ctx *ctx, const uint8_t *buf, size_t len, mc_dicom_info *info)
    MC_WARN_UNUSED;
/* The same facts for an image decoded from, or decrypted back to, DICOM.
 * MC_EINVAL if the image is not of DICOM origin, MC_ESTATE once it was
 * encrypted in place. */
mc_err mc_image_dicom_info(const mc_image *img, mc_dicom_info *info) MC_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* Security analysis (issue 6).                                        */
/*
 * The measurements of the image-encryption literature (docs/METRICS.md
 * gives each formula, its ideal value and its reference). Every per-image
 * metric works on one channel of an image, 8 or 16 bits per sample.
 *
 * Honest note: these statistics describe the cipher image; they do not
 * prove security. medcrypt's confidentiality rests on XChaCha20 and its
 * integrity on HMAC-SHA-512 (docs/SECURITY.md); the chaotic stages are
 * measured so their contribution can be seen, stage by stage.
 */

typedef struct mc_analysis mc_analysis;

/* Runs the whole analysis of a plain image.
 * key NULL: a fresh random key is used (the report says so).
 * cipher_png NULL: the plain image is encrypted under the key; otherwise
 * the cipher metrics are computed on this cipher PNG (which must have the
 * plain image's geometry, else MC_EINVAL with both sizes in the detail,
 * before any measurement), and, with a key, the decryption metrics too.
 * Deterministic sampling uses the default seed (MC_ANALYSIS_DEFAULT_SEED).
 * Free *out with mc_analysis_free(). */
mc_err mc_analyze(mc_ctx *ctx, const mc_key *key, const mc_image *plain,
                  const uint8_t *cipher_png, size_t cipher_len, mc_analysis **out)
    MC_WARN_UNUSED;
/* One JSON object (docs/METRICS.md §JSON); NUL-terminated, *out_len
 * excludes the NUL (out_len may be NULL here and below). *out is
 * malloc'd: free with mc_free(). */
mc_err mc_analysis_json(const mc_analysis *a, char **out, size_t *out_len) MC_WARN_UNUSED;
/* One self-contained HTML page (inline SVG plots, inline CSS, no script,
 * no external resource). malloc'd, NUL-terminated: free with mc_free(). */
mc_err mc_analysis_html(const mc_analysis *a, char **out, size_t *out_len) MC_WARN_UNUSED;
/* The text table of `medcrypt analyze`: value, ideal, critical value,
 * pass/fail. malloc'd, NUL-terminated: free with mc_free(). */
mc_err mc_analysis_text(const mc_analysis *a, char **out, size_t *out_len) MC_WARN_UNUSED;
/* Whether the cipher image measured decrypts, under the key, to the plain
 * image: 1 (always for medcrypt's own encryption), 0 (a given cipher image
 * of another image: its decryption figures compare two images, and the
 * reports warn at the top), or -1 when it was not decrypted (a given
 * cipher image without a key). The JSON's "cipher_decrypts_to_plain", for
 * a program to warn without parsing. */
int mc_analysis_cipher_matches(const mc_analysis *a);
void mc_analysis_free(mc_analysis *a);

#define MC_ANALYSIS_DEFAULT_SEED 20130601u

/* Options of mc_analyze_ex(); zero-initialise, then set what you need. */
typedef struct mc_analysis_options {
    uint64_t seed;     /* random pairs, local-entropy blocks, flipped bits */
    int use_seed;      /* 0: MC_ANALYSIS_DEFAULT_SEED */
    int no_stages;     /* 1: skip the per-stage analysis (faster) */
    int no_timing;     /* 1: skip the timing runs */
} mc_analysis_options;
mc_err mc_analyze_ex(mc_ctx *ctx, const mc_key *key, const mc_image *plain,
                     const uint8_t *cipher_png, size_t cipher_len,
                     const mc_analysis_options *opt, mc_analysis **out) MC_WARN_UNUSED;

/* One channel of an image, without copying: sample i of row y is
 * samples[(y·width + x)·stride] as uint8_t (bits 8) or uint16_t in host
 * order (bits 16). The metrics take planes of at most
 * MC_PLANE_MAX_SAMPLES samples (width·height), else MC_EINVAL. */
#define MC_PLANE_MAX_SAMPLES ((uint64_t)1 << 32)
typedef struct mc_plane {
    const void *samples; /* first sample of the channel */
    uint32_t width, height;
    uint32_t stride;     /* samples from one pixel to the next (channels) */
    uint8_t bits;        /* 8 or 16 */
} mc_plane;
/* The plane of channel c of img (c < channels). */
mc_err mc_plane_of(const mc_image *img, unsigned channel, mc_plane *out);

/* Histogram: hist[v] = number of samples equal to v; n_bins must be
 * 2^bits (256 or 65536). */
mc_err mc_metric_histogram(const mc_plane *p, uint64_t *hist, size_t n_bins);
/* Chi-square statistic of a histogram against the uniform distribution:
 * sum over bins of (o_i - e)^2 / e, e = total / n_bins. */
mc_err mc_metric_chi_square(const uint64_t *hist, size_t n_bins, double *chi2);
/* Shannon entropy (bits per sample) of a histogram: -sum p_i log2 p_i;
 * at most log2(n_bins) (8 or 16). */
mc_err mc_metric_entropy(const uint64_t *hist, size_t n_bins, double *bits);
/* The entropy of n_samples uniformly random samples of `bits` bits: its
 * mean and the one-sided critical value (random data gives an entropy
 * >= *h_star with probability 1 - alpha): the mean exact (each count
 * Binomial), the variance from Poisson counts conditioned on their sum
 * (docs/METRICS.md). */
mc_err mc_entropy_critical(uint64_t n_samples, uint8_t bits, double alpha, double *mean,
                           double *h_star);
/* Local Shannon entropy (Wu et al. 2013): the mean entropy of k
 * non-overlapping blocks of block_pixels pixels (square: side
 * floor(sqrt(block_pixels))), placed at random from seed. k = 30 and
 * block_pixels = 1936 (44x44) in the paper. MC_EINVAL if the image cannot
 * hold k non-overlapping blocks. */
mc_err mc_metric_local_entropy(const mc_plane *p, unsigned k, unsigned block_pixels,
                               uint64_t seed, double *mean);
/* Reference interval for the local entropy of uniformly random images of
 * this size and depth at significance alpha: mu -+ Phi^-1(1-alpha/2)
 * sigma/sqrt(k), with mu and sigma the mean and standard deviation of one
 * block's entropy estimated from n_trials·k simulated blocks (seeded). */
mc_err mc_local_entropy_reference(uint32_t width, uint32_t height, uint8_t bits, unsigned k,
                                  unsigned block_pixels, unsigned n_trials, double alpha,
                                  uint64_t seed, double *lo, double *hi);

typedef enum mc_direction {
    MC_DIR_HORIZONTAL = 0, /* (x, y) and (x+1, y) */
    MC_DIR_VERTICAL = 1,   /* (x, y) and (x, y+1) */
    MC_DIR_DIAGONAL = 2    /* (x, y) and (x+1, y+1) */
} mc_direction;
/* Pearson correlation of adjacent samples in a direction. n_pairs 0: all
 * adjacent pairs (deterministic); otherwise n_pairs pairs drawn at random
 * (with replacement) from seed. NAN (undefined) when a side has zero
 * variance, e.g. a constant image. */
mc_err mc_metric_correlation(const mc_plane *p, mc_direction dir, size_t n_pairs, uint64_t seed,
                             double *r);
/* Pearson correlation of two sequences of n values (NAN if one is
 * constant). */
mc_err mc_metric_pearson(const double *x, const double *y, size_t n, double *r);
/* The n_pairs random pairs themselves (for scatter plots): x[i], y[i]. */
mc_err mc_metric_pairs(const mc_plane *p, mc_direction dir, size_t n_pairs, uint64_t seed,
                       uint32_t *x, uint32_t *y);

/* NPCR and UACI (percent) between two planes of the same geometry:
 * NPCR = 100/T · #{i : a_i != b_i}, UACI = 100/T · sum |a_i - b_i| / F,
 * F = 2^bits - 1, T = number of samples. */
mc_err mc_metric_npcr_uaci(const mc_plane *a, const mc_plane *b, double *npcr, double *uaci);
/* Wu, Noonan, Agaian (2011) critical values for n_samples samples of
 * `bits` bits at significance alpha (0.05, 0.01, 0.001, ...); NPCR's from
 * the exact binomial tail where under 20 equal samples are expected
 * (docs/METRICS.md):
 * NPCR passes if NPCR >= *npcr_star (percent); UACI passes if it lies in
 * [*uaci_lo, *uaci_hi] (percent). */
mc_err mc_npcr_critical(uint64_t n_samples, uint8_t bits, double alpha, double *npcr_star);
mc_err mc_uaci_critical(uint64_t n_samples, uint8_t bits, double alpha, double *uaci_lo,
                        double *uaci_hi);
/* Pearson correlation of two planes of the same geometry, sample by
 * sample (key sensitivity: plain vs wrongly decrypted). */
mc_err mc_metric_cross_correlation(const mc_plane *a, const mc_plane *b, double *r);
/* Percentage of differing bits between two buffers (avalanche effect). */
mc_err mc_metric_bit_difference(const uint8_t *a, const uint8_t *b, size_t len, double *percent);
/* MSE and PSNR (dB, peak 2^bits - 1); *psnr is INFINITY when MSE is 0. */
mc_err mc_metric_mse_psnr(const mc_plane *a, const mc_plane *b, double *mse, double *psnr);
/* Mean SSIM (Wang et al. 2004) over 8x8 windows sliding by 4 pixels, K1 =
 * 0.01, K2 = 0.03, L = 2^bits - 1 (docs/METRICS.md). */
mc_err mc_metric_ssim(const mc_plane *a, const mc_plane *b, double *ssim);

/* Stream of cipher samples for external randomness tests (dieharder,
 * ent; docs/METRICS.md §Cipher stream): the plain image encrypted with the
 * first `stages` stages (1 scrambling, 2 + Henon, 3 + logistic, 4 all),
 * under nonces first_nonce, first_nonce + 1, ... (a 16-byte little-endian
 * counter), the cipher samples concatenated into out (out_len bytes; the
 * last image is cut). */
mc_err mc_cipher_stream(const mc_key *key, const mc_image *plain, int stages,
                        uint64_t first_nonce, uint8_t *out, size_t out_len);

/* Distributions. */
/* Phi^-1(p): the standard normal quantile, 0 < p < 1 (|error| < 1e-12;
 * for p under 6e-311, subnormal, within 2e-9 relative: docs/METRICS.md). */
double mc_normal_quantile(double p);
/* Upper-tail probability P(X >= x) of a chi-square with df degrees of
 * freedom (regularized incomplete gamma Q(df/2, x/2); past df = 2e7,
 * Wilson–Hilferty's approximation). NAN unless df is finite and positive
 * and x a number. */
double mc_chi2_sf(double x, double df);
/* Critical value: the x with P(X >= x) = alpha (293.2478 for df = 255,
 * alpha = 0.05). NAN unless df is finite and positive and 0 < alpha < 1. */
double mc_chi2_critical(double df, double alpha);


#ifdef __cplusplus
}
#endif
#endif /* MEDCRYPT_H */
