/* DICOM Part 10 files with native (uncompressed) pixel data.
 *
 * References: PS3.10 §7.1 (preamble, "DICM", File Meta Information),
 * PS3.5 §7 (data elements, explicit and implicit VR, sequences), §7.5
 * (items and delimiters), §8.1 (pixel data encoding), §8.2 (encapsulated
 * pixel data), PS3.5 Annex A (transfer syntaxes), PS3.6 Table A-1 (UIDs),
 * PS3.3 C.7.6.3 (Image Pixel module).
 *
 * Decryption must give back the file byte for byte (DESIGN §5). The
 * samples are the Pixel Data value (frames stacked, planar configuration
 * 1 turned into interleaved samples, 16-bit words little-endian in the
 * file, host order in mc_image); every other byte of the file travels
 * verbatim as side data (docs/FORMAT.md §3):
 *   MC_SIDE_DICOM_HEAD  bytes 0 .. the first byte of the Pixel Data value
 *                       (preamble, "DICM", meta group, every element
 *                       before Pixel Data, Pixel Data's tag, VR, length);
 *   MC_SIDE_DICOM_TAIL  bytes after the Rows·Columns·Samples·Frames sample
 *                       bytes to the end of the file (the pad byte of an
 *                       odd length, trailing elements, padding); absent
 *                       when empty.
 * The encoder re-reads the recorded head to lay the samples out again, so
 * head, samples and tail always agree. */
#include "internal.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREAMBLE_BYTES 128u
#define MAX_DEPTH 64u /* nested sequences; deeper files: MC_EFORMAT */
#define UNDEFINED_LENGTH 0xFFFFFFFFu

#define TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define TAG_ITEM TAG(0xFFFE, 0xE000)
#define TAG_ITEM_END TAG(0xFFFE, 0xE00D)
#define TAG_SEQ_END TAG(0xFFFE, 0xE0DD)
#define TAG_TRANSFER_SYNTAX TAG(0x0002, 0x0010)
#define TAG_SAMPLES TAG(0x0028, 0x0002)
#define TAG_PHOTOMETRIC TAG(0x0028, 0x0004)
#define TAG_PLANAR TAG(0x0028, 0x0006)
#define TAG_FRAMES TAG(0x0028, 0x0008)
#define TAG_ROWS TAG(0x0028, 0x0010)
#define TAG_COLUMNS TAG(0x0028, 0x0011)
#define TAG_BITS_ALLOCATED TAG(0x0028, 0x0100)
#define TAG_BITS_STORED TAG(0x0028, 0x0101)
#define TAG_HIGH_BIT TAG(0x0028, 0x0102)
#define TAG_PIXEL_REP TAG(0x0028, 0x0103)
#define TAG_WINDOW_CENTER TAG(0x0028, 0x1050)
#define TAG_WINDOW_WIDTH TAG(0x0028, 0x1051)
#define TAG_RESCALE_INTERCEPT TAG(0x0028, 0x1052)
#define TAG_RESCALE_SLOPE TAG(0x0028, 0x1053)
#define TAG_PIXEL_DATA TAG(0x7FE0, 0x0010)

/* ------------------------------------------------------------------ */
/* The detail message (mc_ctx_last_detail).                            */

/* Thread-local rather than per context: one context may be shared by
 * threads (the CLI's -j workers, the web server's), and each must read
 * the detail of its own last call. */
static _Thread_local char last_detail[256];
/* mc_ctx_last_cap(): the cap an MC_ETOOBIG's image went over, set with
 * its detail (mc__ctx_cap) and forgotten with any other, so that the
 * two always speak of the same failure. */
static _Thread_local uint64_t last_cap;

void mc__ctx_detail(const mc_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx == NULL)
        return; /* an internal re-parse: nothing to tell */
    last_cap = 0;
    va_start(ap, fmt);
    vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
    /* Printable ASCII only: a detail may quote a file's bytes (a
     * Photometric Interpretation, a transfer syntax UID), and a caller
     * prints it into a log or onto a terminal, where a newline would
     * forge a line and an ESC drive the terminal. */
    for (char *p = last_detail; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
}

const char *mc_ctx_last_detail(const mc_ctx *ctx)
{
    (void)ctx;
    return last_detail;
}

void mc__ctx_cap(const mc_ctx *ctx, uint64_t cap)
{
    if (ctx != NULL)
        last_cap = cap;
}

uint64_t mc_ctx_last_cap(const mc_ctx *ctx)
{
    (void)ctx;
    return last_cap;
}

/* ------------------------------------------------------------------ */
/* Transfer syntaxes (PS3.6 Table A-1).                                */

enum ts_kind {
    TS_IMPLICIT_LE, /* native, supported */
    TS_EXPLICIT_LE, /* native, supported */
    TS_EXPLICIT_BE, /* retired: data set big endian */
    TS_DEFLATE,     /* data set deflated (RFC 1951) */
    TS_ENCAPSULATED,/* explicit VR LE data set, compressed pixel data */
    TS_UNKNOWN
};

struct ts_entry {
    const char *uid, *name;
    enum ts_kind kind;
};

#define JPEG_TS(n, name) {"1.2.840.10008.1.2.4." n, name, TS_ENCAPSULATED}
static const struct ts_entry TRANSFER_SYNTAXES[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", TS_IMPLICIT_LE},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", TS_EXPLICIT_LE},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian",
     TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", TS_DEFLATE},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian (retired)", TS_EXPLICIT_BE},
    JPEG_TS("50", "JPEG Baseline (Process 1)"),
    JPEG_TS("51", "JPEG Extended (Process 2 & 4)"),
    JPEG_TS("52", "JPEG Extended (Process 3 & 5) (retired)"),
    JPEG_TS("53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)"),
    JPEG_TS("54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)"),
    JPEG_TS("55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)"),
    JPEG_TS("56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)"),
    JPEG_TS("57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
    JPEG_TS("58", "JPEG Lossless, Non-Hierarchical (Process 15) (retired)"),
    JPEG_TS("59", "JPEG Extended, Hierarchical (Process 16 & 18) (retired)"),
    JPEG_TS("60", "JPEG Extended, Hierarchical (Process 17 & 19) (retired)"),
    JPEG_TS("61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (retired)"),
    JPEG_TS("62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (retired)"),
    JPEG_TS("63", "JPEG Full Progression, Hierarchical (Process 24 & 26) (retired)"),
    JPEG_TS("64", "JPEG Full Progression, Hierarchical (Process 25 & 27) (retired)"),
    JPEG_TS("65", "JPEG Lossless, Hierarchical (Process 28) (retired)"),
    JPEG_TS("66", "JPEG Lossless, Hierarchical (Process 29) (retired)"),
    JPEG_TS("70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 "
                  "[Selection Value 1])"),
    JPEG_TS("80", "JPEG-LS Lossless Image Compression"),
    JPEG_TS("81", "JPEG-LS Lossy (Near-Lossless) Image Compression"),
    JPEG_TS("90", "JPEG 2000 Image Compression (Lossless Only)"),
    JPEG_TS("91", "JPEG 2000 Image Compression"),
    JPEG_TS("92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"),
    JPEG_TS("93", "JPEG 2000 Part 2 Multi-component Image Compression"),
    JPEG_TS("94", "JPIP Referenced"),
    JPEG_TS("95", "JPIP Referenced Deflate"),
    JPEG_TS("100", "MPEG2 Main Profile / Main Level"),
    JPEG_TS("100.1", "Fragmentable MPEG2 Main Profile / Main Level"),
    JPEG_TS("101", "MPEG2 Main Profile / High Level"),
    JPEG_TS("101.1", "Fragmentable MPEG2 Main Profile / High Level"),
    JPEG_TS("102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
    JPEG_TS("102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1"),
    JPEG_TS("103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
    JPEG_TS("103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
    JPEG_TS("104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
    JPEG_TS("104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
    JPEG_TS("105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
    JPEG_TS("105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
    JPEG_TS("106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
    JPEG_TS("106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
    JPEG_TS("107", "HEVC/H.265 Main Profile / Level 5.1"),
    JPEG_TS("108", "HEVC/H.265 Main 10 Profile / Level 5.1"),
    JPEG_TS("110", "JPEG XL Lossless"),
    JPEG_TS("111", "JPEG XL JPEG Recompression"),
    JPEG_TS("112", "JPEG XL"),
    JPEG_TS("201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
    JPEG_TS("202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless "
                   "Only)"),
    JPEG_TS("203", "High-Throughput JPEG 2000 Image Compression"),
    JPEG_TS("204", "JPIP HTJ2K Referenced"),
    JPEG_TS("205", "JPIP HTJ2K Referenced Deflate"),
    {"1.2.840.10008.1.2.5", "RLE Lossless", TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation (retired)", TS_UNKNOWN},
    {"1.2.840.10008.1.2.6.2", "XML Encoding (retired)", TS_UNKNOWN},
    {"1.2.840.10008.1.2.7.1", "SMPTE ST 2110-20 Uncompressed Progressive Active Video",
     TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.7.2", "SMPTE ST 2110-20 Uncompressed Interlaced Active Video",
     TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.7.3", "SMPTE ST 2110-30 PCM Digital Audio", TS_ENCAPSULATED},
};

static const struct ts_entry TS_UNKNOWN_ENTRY = {"", "unknown transfer syntax", TS_UNKNOWN};

static const struct ts_entry *ts_lookup(const char *uid)
{
    for (size_t i = 0; i < sizeof TRANSFER_SYNTAXES / sizeof TRANSFER_SYNTAXES[0]; i++)
        if (strcmp(TRANSFER_SYNTAXES[i].uid, uid) == 0)
            return &TRANSFER_SYNTAXES[i];
    return &TS_UNKNOWN_ENTRY;
}

static bool ts_native(const struct ts_entry *ts)
{
    return ts->kind == TS_IMPLICIT_LE || ts->kind == TS_EXPLICIT_LE;
}

/* ------------------------------------------------------------------ */
/* The parse: meta group, then the data set down to the Pixel Data.    */

struct enc {
    bool implicit; /* PS3.5 §7.1.3 */
    bool be;       /* explicit VR big endian (retired; described only) */
};

struct elem {
    uint32_t tag;
    char vr[3];    /* "" in implicit VR and for item tags */
    uint32_t len;  /* UNDEFINED_LENGTH or the value length */
    size_t value;  /* offset of the value */
};

/* What a parse found. Offsets are into the parsed buffer. */
struct dicom {
    const mc_ctx *ctx; /* for the detail message, may be NULL */
    const uint8_t *buf;
    size_t len;
    char uid[65];
    const struct ts_entry *ts;
    size_t dataset;    /* offset of the first data-set element */
    /* Image Pixel module, top level of the data set only (an Icon Image
     * Sequence item has its own Rows, Columns and Pixel Data). */
    bool have_rows, have_columns, have_samples, have_bits, have_photometric;
    uint16_t rows, columns, samples, bits_allocated, bits_stored, high_bit;
    uint16_t pixel_rep, planar;
    bool have_bits_stored, have_high_bit;
    uint32_t frames;
    char photometric[17];
    bool have_center, have_width;
    double center, width, intercept, slope;
    bool have_pixel;
    size_t pixel_value;     /* offset of its value */
    uint32_t pixel_len;     /* UNDEFINED_LENGTH when encapsulated */
    bool in_tail;           /* walking the elements after Pixel Data */
};

/* Colour stored plane by plane (Planar Configuration 1, PS3.3 C.7.6.3.1.3):
 * every red sample, then every green, then every blue; medcrypt's samples
 * interleave them. */
static bool is_planar(const struct dicom *d)
{
    return d->samples == 3 && d->planar == 1;
}

static uint16_t rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, bool be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned tag_group(uint32_t tag)
{
    return tag >> 16;
}

static unsigned tag_element(uint32_t tag)
{
    return tag & 0xFFFFu;
}

/* PS3.5 §7.1.2: these VRs have 2 reserved bytes and a 32-bit length;
 * every other VR a 16-bit length. */
static bool vr_long(const char *vr)
{
    static const char *const LONG[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                       "UC", "UN", "UR", "UT", "SV", "UV"};
    for (size_t i = 0; i < sizeof LONG / sizeof LONG[0]; i++)
        if (memcmp(vr, LONG[i], 2) == 0)
            return true;
    return false;
}

static bool vr_valid(const uint8_t *p)
{
    return p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z';
}

/* One of the VRs PS3.5 §6.2 defines (Table 6.2-1), not two capitals
 * that merely look like one. */
static bool vr_known(const uint8_t *p)
{
    static const char VRS[] = "AEASATCSDADSDTFDFLISLOLTOBODOFOLOVOWPNSH"
                              "SLSQSSSTSVTMUCUIULUNURUSUTUV";

    for (size_t i = 0; i + 1 < sizeof VRS; i += 2)
        if (p[0] == VRS[i] && p[1] == VRS[i + 1])
            return true;
    return false;
}

/* Reads the element header at *pos (tag, VR, length) without checking
 * that the value fits. Items and delimiters (group FFFE) have no VR in
 * either encoding (PS3.5 §7.5). */
static mc_err read_header(const struct dicom *d, struct enc enc, size_t pos, size_t end,
                          struct elem *e)
{
    const uint8_t *p = d->buf + pos;
    size_t avail = end - pos;

    if (avail < 8) {
        mc__ctx_detail(d->ctx, "element at offset %zu: the file ends inside its header", pos);
        return MC_ETRUNCATED;
    }
    e->tag = (uint32_t)rd16(p, enc.be) << 16 | rd16(p + 2, enc.be);
    e->vr[0] = '\0';
    if (enc.implicit || tag_group(e->tag) == 0xFFFE) {
        e->len = rd32(p + 4, enc.be);
        e->value = pos + 8;
        return MC_OK;
    }
    if (!vr_valid(p + 4) || (d->in_tail && !vr_known(p + 4))) {
        /* No tag named: without a valid VR these 4 bytes are most likely
         * not a tag but the middle of a value (a name, say), and the
         * detail never quotes a value. After the Pixel Data value, two
         * capitals that are none of PS3.5's VRs are junk too, kept
         * verbatim (docs/FORMAT.md §3), not an element to refuse. */
        mc__ctx_detail(d->ctx, "at offset %zu: not an element (no valid VR after the tag)",
                       pos);
        return MC_EFORMAT;
    }
    memcpy(e->vr, p + 4, 2);
    e->vr[2] = '\0';
    if (!vr_long(e->vr)) {
        e->len = rd16(p + 6, enc.be);
        e->value = pos + 8;
        return MC_OK;
    }
    if (avail < 12) {
        mc__ctx_detail(d->ctx, "element at offset %zu: the file ends inside its header", pos);
        return MC_ETRUNCATED;
    }
    e->len = rd32(p + 8, enc.be);
    e->value = pos + 12;
    return MC_OK;
}

/* A defined-length value must end inside its container: the file
 * (truncated) or the enclosing item or sequence (malformed). */
static mc_err check_fits(const struct dicom *d, const struct elem *e, size_t end)
{
    if (e->len <= end - e->value)
        return MC_OK;
    if (end == d->len) {
        mc__ctx_detail(d->ctx, "element (%04X,%04X) at offset %zu: length %u past the end of "
                       "the file", tag_group(e->tag), tag_element(e->tag), e->value,
                       (unsigned)e->len);
        return MC_ETRUNCATED;
    }
    mc__ctx_detail(d->ctx, "element (%04X,%04X) at offset %zu: length %u past the end of its "
                   "item", tag_group(e->tag), tag_element(e->tag), e->value, (unsigned)e->len);
    return MC_EFORMAT;
}

/* A value as a trimmed string (CS, IS, DS: PS3.5 §6.2, padded with
 * spaces; some writers pad with NUL). */
static void value_string(const struct dicom *d, const struct elem *e, char *out, size_t size)
{
    size_t n = e->len < size - 1 ? e->len : size - 1;
    const uint8_t *v = d->buf + e->value;
    size_t a = 0;

    while (a < n && v[a] == ' ')
        a++;
    while (n > a && (v[n - 1] == ' ' || v[n - 1] == '\0'))
        n--;
    memcpy(out, v + a, n - a);
    out[n - a] = '\0';
}

/* The first value of a DS (decimal string, PS3.5 §6.2), or false. */
static bool first_decimal(const struct dicom *d, const struct elem *e, double *out)
{
    char s[80], *end;
    double v;

    value_string(d, e, s, sizeof s);
    if ((end = strchr(s, '\\')) != NULL)
        *end = '\0';
    if (s[0] == '\0')
        return false;
    v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

static mc_err attr_us(struct dicom *d, const struct elem *e, struct enc enc, uint16_t *out,
                      bool *have)
{
    if (e->len == 0)
        return MC_OK; /* present but empty (type 2): as if absent */
    if (e->len != 2) {
        mc__ctx_detail(d->ctx, "element (%04X,%04X) has length %u, not 2 (US)",
                       tag_group(e->tag), tag_element(e->tag), (unsigned)e->len);
        return MC_EFORMAT;
    }
    *out = rd16(d->buf + e->value, enc.be);
    if (have != NULL)
        *have = true;
    return MC_OK;
}

/* Number of Frames (0028,0008): IS, an integer string (PS3.5 §6.2 says
 * at most 12 bytes; up to 63 are read, as FORMAT.md §3 says, for writers
 * that pad it); a longer value is refused, not cut to the buffer. */
static mc_err attr_frames(struct dicom *d, const struct elem *e)
{
    char s[64], *end;
    long v;

    value_string(d, e, s, sizeof s);
    v = strtol(s, &end, 10);
    if (e->len >= sizeof s || s[0] == '\0' || *end != '\0' || v < 1 || v > INT32_MAX) {
        mc__ctx_detail(d->ctx, "Number of Frames (0028,0008) is not a positive integer");
        return MC_EFORMAT;
    }
    d->frames = (uint32_t)v;
    return MC_OK;
}

/* Records the pixel-module attributes (data-set top level only). Only
 * these values are ever read: no other element value, so no patient
 * identifier, leaves the parser. */
static mc_err record_attr(struct dicom *d, const struct elem *e, struct enc enc)
{
    switch (e->tag) {
    case TAG_ROWS: return attr_us(d, e, enc, &d->rows, &d->have_rows);
    case TAG_COLUMNS: return attr_us(d, e, enc, &d->columns, &d->have_columns);
    case TAG_SAMPLES: return attr_us(d, e, enc, &d->samples, &d->have_samples);
    case TAG_PLANAR: return attr_us(d, e, enc, &d->planar, NULL);
    case TAG_BITS_ALLOCATED: return attr_us(d, e, enc, &d->bits_allocated, &d->have_bits);
    case TAG_BITS_STORED: return attr_us(d, e, enc, &d->bits_stored, &d->have_bits_stored);
    case TAG_HIGH_BIT: return attr_us(d, e, enc, &d->high_bit, &d->have_high_bit);
    case TAG_PIXEL_REP: return attr_us(d, e, enc, &d->pixel_rep, NULL);
    case TAG_FRAMES: return attr_frames(d, e);
    case TAG_PHOTOMETRIC:
        value_string(d, e, d->photometric, sizeof d->photometric);
        d->have_photometric = true;
        return MC_OK;
    case TAG_WINDOW_CENTER: d->have_center = first_decimal(d, e, &d->center); return MC_OK;
    case TAG_WINDOW_WIDTH: d->have_width = first_decimal(d, e, &d->width); return MC_OK;
    case TAG_RESCALE_INTERCEPT:
        if (!first_decimal(d, e, &d->intercept))
            d->intercept = 0.0;
        return MC_OK;
    case TAG_RESCALE_SLOPE:
        if (!first_decimal(d, e, &d->slope))
            d->slope = 1.0;
        return MC_OK;
    default: return MC_OK;
    }
}

static mc_err parse_sequence(struct dicom *d, struct enc enc, size_t pos, size_t end,
                             bool undefined, unsigned depth, size_t *next);

/* PS3.5 §A.4: encapsulated pixel data is a sequence of items of defined
 * length (Basic Offset Table, fragments) closed by (FFFE,E0DD). */
static mc_err skip_fragments(struct dicom *d, struct enc enc, size_t pos, size_t end,
                             size_t *next)
{
    struct elem e;
    mc_err err;

    for (;;) {
        if ((err = read_header(d, (struct enc){true, enc.be}, pos, end, &e)) != MC_OK)
            return err;
        if (e.tag == TAG_SEQ_END) {
            *next = e.value;
            return MC_OK;
        }
        if (e.tag != TAG_ITEM || e.len == UNDEFINED_LENGTH) {
            mc__ctx_detail(d->ctx, "encapsulated Pixel Data: bad fragment at offset %zu", pos);
            return MC_EFORMAT;
        }
        if ((err = check_fits(d, &e, end)) != MC_OK)
            return err;
        pos = e.value + e.len;
    }
}

/* Whether an element of undefined length holds a sequence: SQ, or UN
 * (PS3.5 §6.2.2: its value is then an implicit VR LE sequence), or, in
 * implicit VR, anything but Pixel Data (PS3.5 §7.1.3: only SQ and
 * encapsulated Pixel Data may have undefined length). */
static bool undefined_is_sequence(const struct elem *e, struct enc enc, struct enc *inner)
{
    *inner = enc;
    if (e->tag == TAG_PIXEL_DATA)
        return false;
    if (enc.implicit)
        return true;
    if (strcmp(e->vr, "SQ") == 0)
        return true;
    if (strcmp(e->vr, "UN") == 0) {
        *inner = (struct enc){true, false};
        return true;
    }
    return false;
}

/* One element inside a data set (not Pixel Data at the top level): skips
 * its value, parsing sequences. *next: the offset after it. */
static mc_err parse_value(struct dicom *d, struct enc enc, const struct elem *e, size_t end,
                          unsigned depth, size_t *next)
{
    struct enc inner;
    mc_err err;

    if (e->len == UNDEFINED_LENGTH) {
        if (undefined_is_sequence(e, enc, &inner))
            return parse_sequence(d, inner, e->value, end, true, depth + 1, next);
        if (e->tag == TAG_PIXEL_DATA)
            return skip_fragments(d, enc, e->value, end, next);
        mc__ctx_detail(d->ctx, "element (%04X,%04X) of VR %s has undefined length",
                       tag_group(e->tag), tag_element(e->tag), e->vr);
        return MC_EFORMAT;
    }
    if ((err = check_fits(d, e, end)) != MC_OK)
        return err;
    if (!enc.implicit && strcmp(e->vr, "SQ") == 0)
        return parse_sequence(d, enc, e->value, e->value + e->len, false, depth + 1, next);
    *next = e->value + e->len;
    return MC_OK;
}

/* A data set: the top level (depth 0, ends at Pixel Data or the end of
 * the file) or an item's (ends at `end` if defined, else at (FFFE,E00D)).
 * Depth is bounded by MAX_DEPTH, checked in parse_sequence(). */
static mc_err parse_dataset(struct dicom *d, struct enc enc, size_t pos, size_t end,
                            bool undefined, unsigned depth, size_t *next)
{
    struct elem e;
    mc_err err;

    for (;;) {
        if (pos == end && !undefined) {
            *next = pos;
            return MC_OK; /* at depth 0: a data set without Pixel Data */
        }
        if ((err = read_header(d, enc, pos, end, &e)) != MC_OK)
            return err;
        if (e.tag == TAG_ITEM_END && undefined && depth > 0) {
            *next = e.value; /* PS3.5 §7.5.2: item delimitation */
            return MC_OK;
        }
        if (tag_group(e.tag) == 0xFFFE) {
            mc__ctx_detail(d->ctx, "unexpected (FFFE,%04X) at offset %zu", tag_element(e.tag),
                           pos);
            return MC_EFORMAT;
        }
        if (depth == 0 && e.tag == TAG_PIXEL_DATA && !d->in_tail) {
            d->have_pixel = true;
            d->pixel_value = e.value;
            d->pixel_len = e.len;
            *next = e.value;
            return MC_OK;
        }
        if (depth == 0 && e.len != UNDEFINED_LENGTH && !d->in_tail) {
            if ((err = check_fits(d, &e, end)) != MC_OK || (err = record_attr(d, &e, enc)) != MC_OK)
                return err;
        }
        if ((err = parse_value(d, enc, &e, end, depth, &pos)) != MC_OK)
            return err;
    }
}

/* PS3.5 §7.5: items (FFFE,E000) of defined or undefined length, the
 * sequence itself of defined length (ends at `end`) or undefined
 * (ends with (FFFE,E0DD)). */
static mc_err parse_sequence(struct dicom *d, struct enc enc, size_t pos, size_t end,
                             bool undefined, unsigned depth, size_t *next)
{
    struct enc item_enc = {true, enc.be}; /* item tags have no VR */
    struct elem e;
    mc_err err;

    if (depth > MAX_DEPTH) {
        mc__ctx_detail(d->ctx, "sequences nested more than %u deep", MAX_DEPTH);
        return MC_EFORMAT;
    }
    for (;;) {
        if (pos == end && !undefined) {
            *next = pos;
            return MC_OK;
        }
        if ((err = read_header(d, item_enc, pos, end, &e)) != MC_OK)
            return err;
        if (e.tag == TAG_SEQ_END && undefined) {
            *next = e.value;
            return MC_OK;
        }
        if (e.tag != TAG_ITEM) {
            mc__ctx_detail(d->ctx, "expected an item (FFFE,E000) at offset %zu", pos);
            return MC_EFORMAT;
        }
        if (e.len == UNDEFINED_LENGTH) {
            err = parse_dataset(d, enc, e.value, end, true, depth, &pos);
        } else {
            if ((err = check_fits(d, &e, end)) != MC_OK)
                return err;
            err = parse_dataset(d, enc, e.value, e.value + e.len, false, depth, &pos);
        }
        if (err != MC_OK)
            return err;
    }
}

/* A transfer syntax UID as shown to people: only UID characters (PS3.5
 * §9.1: digits and '.'), anything else as '?'. */
static void copy_uid(char out[65], const uint8_t *v, size_t n)
{
    size_t k = 0;

    while (n > 0 && (v[n - 1] == '\0' || v[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n && k < 64; i++)
        out[k++] = (char)(((v[i] >= '0' && v[i] <= '9') || v[i] == '.') ? v[i] : '?');
    out[k] = '\0';
}

/* PS3.10 §7.1: the File Meta Information, group 0002, always explicit
 * VR little endian, right after the preamble and "DICM". */
static mc_err parse_meta(struct dicom *d)
{
    const struct enc enc = {false, false};
    size_t pos = PREAMBLE_BYTES + 4;
    bool have_ts = false;
    struct elem e;
    mc_err err;

    while (d->len - pos >= 2 && rd16(d->buf + pos, false) == 0x0002) {
        if ((err = read_header(d, enc, pos, d->len, &e)) != MC_OK)
            return err;
        if (e.len == UNDEFINED_LENGTH) {
            mc__ctx_detail(d->ctx, "meta element (0002,%04X) has undefined length",
                           tag_element(e.tag));
            return MC_EFORMAT;
        }
        if ((err = check_fits(d, &e, d->len)) != MC_OK)
            return err;
        if (e.tag == TAG_TRANSFER_SYNTAX) {
            copy_uid(d->uid, d->buf + e.value, e.len);
            have_ts = true;
        }
        pos = e.value + e.len;
    }
    if (!have_ts) {
        mc__ctx_detail(d->ctx, "no Transfer Syntax UID (0002,0010) in the File Meta "
                       "Information");
        return pos == d->len ? MC_ETRUNCATED : MC_EFORMAT;
    }
    d->ts = ts_lookup(d->uid);
    d->dataset = pos;
    return MC_OK;
}

bool mc__dicom_sniff(const uint8_t *buf, size_t len)
{
    /* PS3.10 §7.1: 128-byte preamble, then the prefix "DICM". */
    return buf != NULL && len >= PREAMBLE_BYTES + 4 &&
           memcmp(buf + PREAMBLE_BYTES, "DICM", 4) == 0;
}

/* PS3.10 §7.1: the File Meta Information, whose elements are all of
 * group 0002 and in Explicit VR Little Endian, follows "DICM" at once.
 * A file that says that much (the group, then a VR) is DICOM whatever its
 * free-form preamble holds: a 1×1 PNG or a small PGM there must not be
 * encrypted in place of a data set the reader refuses (a compressed one,
 * say). "DICM" at offset 128 alone may lie inside another format's bytes
 * (fuzz/regressions/fuzz_bmp/bmp-with-DICM-at-128), and so may "DICM"
 * and 02 00 (bmp-with-DICM-0002-no-VR-at-128, found by the smoke fuzz of
 * fuzz_bmp: such a BMP was refused as a broken DICOM file) and two
 * capitals that are no VR ("KK", fuzz_pnm). */
bool mc__dicom_declared(const uint8_t *buf, size_t len)
{
    return mc__dicom_sniff(buf, len) && len - (PREAMBLE_BYTES + 4) >= 6 &&
           rd16(buf + PREAMBLE_BYTES + 4, false) == 0x0002 && vr_known(buf + PREAMBLE_BYTES + 8);
}

/* Parses the meta group and, for little-endian (and big-endian) data
 * sets, the top level down to the Pixel Data element. */
static mc_err parse_file(struct dicom *d, const mc_ctx *ctx, const uint8_t *buf, size_t len)
{
    struct enc enc = {false, false};
    size_t next;
    mc_err err;

    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    d->buf = buf;
    d->len = len;
    d->frames = 1;
    d->slope = 1.0;
    d->ts = &TS_UNKNOWN_ENTRY;
    if (!mc__dicom_sniff(buf, len)) {
        mc__ctx_detail(ctx, "no \"DICM\" prefix after the 128-byte preamble");
        return MC_EFORMAT;
    }
    if ((err = parse_meta(d)) != MC_OK)
        return err;
    switch (d->ts->kind) {
    case TS_IMPLICIT_LE: enc.implicit = true; break;
    case TS_EXPLICIT_LE: case TS_ENCAPSULATED: break;
    case TS_EXPLICIT_BE: enc.be = true; break;
    default: return MC_OK; /* deflated or unknown: the data set is opaque */
    }
    return parse_dataset(d, enc, d->dataset, len, false, 0, &next);
}

/* ------------------------------------------------------------------ */
/* Validation: what medcrypt encrypts.                                 */

static mc_err unsupported_ts(const struct dicom *d)
{
    const char *why = d->ts->kind == TS_EXPLICIT_BE ? "big endian"
                      : d->ts->kind == TS_DEFLATE   ? "deflated"
                      : d->ts->kind == TS_UNKNOWN   ? "not known to medcrypt"
                                                    : "compressed";
    /* What to do about it, in the same line: every DICOM toolkit converts
     * to the native syntax medcrypt reads. */
    mc__ctx_detail(d->ctx,
                   "transfer syntax %s (%s) is %s: not supported; convert it to Explicit VR "
                   "Little Endian first (e.g. gdcmconv --raw IN OUT)",
                   d->uid, d->ts->name, why);
    return MC_EUNSUPPORTED;
}

static mc_err check_photometric(const struct dicom *d)
{
    const char *p = d->photometric;

    if (d->samples == 1 && (strcmp(p, "MONOCHROME1") == 0 || strcmp(p, "MONOCHROME2") == 0))
        return MC_OK;
    if (d->samples == 3 && strcmp(p, "RGB") == 0)
        return MC_OK;
    if (strcmp(p, "PALETTE COLOR") == 0 || strncmp(p, "YBR_", 4) == 0 || strcmp(p, "HSV") == 0 ||
        strcmp(p, "ARGB") == 0 || strcmp(p, "CMYK") == 0) {
        mc__ctx_detail(d->ctx, "Photometric Interpretation %s is not supported (only "
                       "MONOCHROME1, MONOCHROME2 and RGB)", p);
        return MC_EUNSUPPORTED;
    }
    mc__ctx_detail(d->ctx, "Photometric Interpretation \"%.16s\" does not fit Samples per "
                   "Pixel %u", p, (unsigned)d->samples);
    return MC_EFORMAT;
}

static mc_err check_bits(struct dicom *d)
{
    if (d->bits_allocated != 8 && d->bits_allocated != 16) {
        mc__ctx_detail(d->ctx, "Bits Allocated %u is not supported (only 8 and 16)",
                       (unsigned)d->bits_allocated);
        return MC_EUNSUPPORTED;
    }
    /* PS3.3 C.7.6.3.1: defaults only where a file leaves them out. */
    if (!d->have_bits_stored)
        d->bits_stored = d->bits_allocated;
    if (!d->have_high_bit)
        d->high_bit = (uint16_t)(d->bits_stored - 1u);
    if (d->bits_stored < 1 || d->bits_stored > d->bits_allocated ||
        d->high_bit >= d->bits_allocated || d->high_bit + 1u < d->bits_stored) {
        mc__ctx_detail(d->ctx, "Bits Stored %u / High Bit %u do not fit Bits Allocated %u",
                       (unsigned)d->bits_stored, (unsigned)d->high_bit,
                       (unsigned)d->bits_allocated);
        return MC_EFORMAT;
    }
    if (d->pixel_rep > 1) {
        mc__ctx_detail(d->ctx, "Pixel Representation %u is neither 0 nor 1",
                       (unsigned)d->pixel_rep);
        return MC_EFORMAT;
    }
    return MC_OK;
}

/* An image too large, in DICOM's own terms: over the cap, whose product
 * can pass 64 bits (Rows, Columns and Frames as written: then said as
 * such); or, within a cap raised that far, frames stacked past the 32-bit
 * height of one image, the image model's own limit, which no cap lifts
 * (an API review: "4587450000 samples; the pixel cap is 1099511627776"). */
static void too_big_detail(const struct dicom *d, const mc_ctx *ctx)
{
    uint64_t n;
    bool over = __builtin_mul_overflow((uint64_t)d->rows * d->columns,
                                       (uint64_t)d->frames * d->samples, &n);

    if ((uint64_t)d->rows * d->frames > UINT32_MAX && !over && n <= mc_ctx_max_samples(ctx)) {
        mc__ctx_detail(ctx, "Rows %u x Number of Frames %u = %llu rows: more than the "
                            "4294967295 an image holds (its frames are stacked)",
                       (unsigned)d->rows, (unsigned)d->frames,
                       (unsigned long long)d->rows * d->frames);
        return;
    }
    if (over)
        mc__ctx_detail(ctx, "Rows %u x Columns %u x Frames %u x Samples %u: more than 2^64 "
                       "samples; the pixel cap is %llu", (unsigned)d->rows, (unsigned)d->columns,
                       (unsigned)d->frames, (unsigned)d->samples,
                       (unsigned long long)mc_ctx_max_samples(ctx));
    else
        mc__ctx_detail(ctx, "Rows %u x Columns %u x Frames %u x Samples %u = %llu samples; "
                       "the pixel cap is %llu", (unsigned)d->rows, (unsigned)d->columns,
                       (unsigned)d->frames, (unsigned)d->samples, (unsigned long long)n,
                       (unsigned long long)mc_ctx_max_samples(ctx));
    mc__ctx_cap(ctx, mc_ctx_max_samples(ctx));
}

/* The Image Pixel module against itself and the pixel cap; *samples_len:
 * the sample bytes the Pixel Data must hold. */
static mc_err check_pixel_module(struct dicom *d, const mc_ctx *ctx, size_t *samples_len)
{
    mc_err err;

    if (!ts_native(d->ts))
        return unsupported_ts(d);
    if (!d->have_pixel) {
        mc__ctx_detail(ctx, "no Pixel Data (7FE0,0010) at the top level of the data set");
        return MC_EFORMAT;
    }
    if (!d->have_rows || !d->have_columns || !d->have_samples || !d->have_bits ||
        !d->have_photometric) {
        mc__ctx_detail(ctx, "the Image Pixel module lacks Rows, Columns, Samples per Pixel, "
                       "Bits Allocated or Photometric Interpretation");
        return MC_EFORMAT;
    }
    if (d->samples != 1 && d->samples != 3) {
        mc__ctx_detail(ctx, "Samples per Pixel %u is not supported (only 1 and 3)",
                       (unsigned)d->samples);
        return MC_EUNSUPPORTED;
    }
    if ((err = check_photometric(d)) != MC_OK || (err = check_bits(d)) != MC_OK)
        return err;
    if (d->samples == 3 && d->planar > 1) {
        mc__ctx_detail(ctx, "Planar Configuration %u is neither 0 nor 1", (unsigned)d->planar);
        return MC_EFORMAT;
    }
    if (d->pixel_len == UNDEFINED_LENGTH) {
        mc__ctx_detail(ctx, "encapsulated Pixel Data in the native transfer syntax %s", d->uid);
        return MC_EFORMAT;
    }
    if (d->rows == 0 || d->columns == 0) {
        mc__ctx_detail(ctx, "Rows %u, Columns %u, Number of Frames %u: no image",
                       (unsigned)d->rows, (unsigned)d->columns, (unsigned)d->frames);
        return MC_EFORMAT;
    }
    if ((uint64_t)d->rows * d->frames > UINT32_MAX) { /* a 32-bit height */
        too_big_detail(d, ctx);
        return MC_ETOOBIG;
    }
    if (ctx == NULL) {
        /* A recorded head read again (parse_head: encoding, the DICOM
         * facts of a decoded or decrypted image). Its image passed the
         * cap of the context it was decoded under, which may be above the
         * default: no cap here (with the default's, an image decoded
         * under a raised cap never encoded back), only the size. */
        uint64_t n = (uint64_t)d->columns * ((uint64_t)d->rows * d->frames) * d->samples;
        if (n > SIZE_MAX / 2)
            return MC_ETOOBIG;
        *samples_len = (size_t)n * (d->bits_allocated / 8u);
    } else if ((err = mc__geometry_check(ctx, d->columns, (uint32_t)d->rows * d->frames,
                                         (uint8_t)d->samples, (uint8_t)d->bits_allocated,
                                         samples_len)) != MC_OK) {
        if (err == MC_ETOOBIG)
            too_big_detail(d, ctx);
        return err;
    }
    /* PS3.5 §8.1.1 / §7.1.1: the value holds exactly the samples, plus one
     * pad byte when their count of bytes is odd. */
    if (d->pixel_len != *samples_len && !(*samples_len % 2 == 1 && d->pixel_len == *samples_len + 1)) {
        mc__ctx_detail(ctx, "Pixel Data holds %u bytes, but Rows x Columns x Samples x Frames "
                       "x bytes = %zu", (unsigned)d->pixel_len, *samples_len);
        return MC_EFORMAT;
    }
    return MC_OK;
}

/* The elements after the Pixel Data value travel verbatim and are not
 * interpreted, but a file cut inside them is refused as truncated (an
 * element header or value running past the end). Trailing bytes that are
 * not elements at all (zero padding, junk some writers leave) are kept
 * as they are: refusing them would gain nothing, since they come back
 * byte for byte. */
static mc_err check_tail(struct dicom *d, size_t from)
{
    struct enc enc = {d->ts->kind == TS_IMPLICIT_LE, false};
    size_t next, i;
    mc_err err;

    for (i = from; i < d->len && d->buf[i] == 0; i++)
        ;
    if (i == d->len)
        return MC_OK; /* nothing, or zero padding only */
    d->in_tail = true;
    err = parse_dataset(d, enc, from, d->len, false, 0, &next);
    d->in_tail = false;
    if (err == MC_ETRUNCATED)
        return err;
    mc__ctx_detail(d->ctx, "%s", ""); /* not an error: forget the walk's detail */
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Samples: file layout <-> mc_image layout.                           */

/* PS3.3 C.7.6.3.1.3: planar configuration 1 stores each frame as three
 * planes; mc_image interleaves. Index of sample (pixel i, channel k) of
 * frame f in the file. */
static size_t file_index(size_t pixel, unsigned k, size_t frame_pixels, unsigned c, bool planar)
{
    size_t f = pixel / frame_pixels, i = pixel % frame_pixels;

    if (!planar)
        return pixel * c + k;
    return f * frame_pixels * c + (size_t)k * frame_pixels + i;
}

static void samples_from_file(mc_image *img, const uint8_t *src, bool planar)
{
    size_t frame_pixels = (size_t)img->width * (img->height / img->frames);
    size_t n_pixels = (size_t)img->width * img->height;
    unsigned c = img->channels;

    /* Interleaved, and 16-bit words little-endian like the host's
     * (internal.h refuses other hosts): the file's bytes are the samples. */
    if (!planar) {
        memcpy(img->samples, src, img->samples_len);
        return;
    }
    for (size_t p = 0; p < n_pixels; p++)
        for (unsigned k = 0; k < c; k++) {
            size_t s = file_index(p, k, frame_pixels, c, planar), t = p * c + k;
            if (img->bits == 8) {
                img->samples[t] = src[s];
            } else {
                uint16_t v = (uint16_t)(src[2 * s] | src[2 * s + 1] << 8); /* LE in the file */
                memcpy(img->samples + 2 * t, &v, 2);
            }
        }
}

static void samples_to_file(const mc_image *img, uint8_t *dst, bool planar)
{
    size_t frame_pixels = (size_t)img->width * (img->height / img->frames);
    size_t n_pixels = (size_t)img->width * img->height;
    unsigned c = img->channels;

    if (!planar) { /* as in samples_from_file */
        memcpy(dst, img->samples, img->samples_len);
        return;
    }
    for (size_t p = 0; p < n_pixels; p++)
        for (unsigned k = 0; k < c; k++) {
            size_t s = file_index(p, k, frame_pixels, c, planar), t = p * c + k;
            if (img->bits == 8) {
                dst[s] = img->samples[t];
            } else {
                uint16_t v;
                memcpy(&v, img->samples + 2 * t, 2);
                dst[2 * s] = (uint8_t)v;
                dst[2 * s + 1] = (uint8_t)(v >> 8);
            }
        }
}

/* ------------------------------------------------------------------ */
/* Decoding and encoding.                                              */

/* Parses a whole file and checks everything a decoder relies on: the
 * Pixel Data value at d->pixel_value holds *samples_len sample bytes. */
static mc_err locate(struct dicom *d, const mc_ctx *ctx, const uint8_t *buf, size_t len,
                     size_t *samples_len)
{
    mc_err err;

    if ((err = parse_file(d, ctx, buf, len)) != MC_OK) {
        /* A broken data set in a syntax we refuse anyway: name the syntax. */
        if (d->ts != &TS_UNKNOWN_ENTRY && !ts_native(d->ts))
            return unsupported_ts(d);
        return err;
    }
    if ((err = check_pixel_module(d, ctx, samples_len)) != MC_OK)
        return err;
    if (d->pixel_len > len - d->pixel_value) {
        mc__ctx_detail(ctx, "Pixel Data (%u bytes at offset %zu) runs past the end of the file",
                       (unsigned)d->pixel_len, d->pixel_value);
        return MC_ETRUNCATED;
    }
    return check_tail(d, d->pixel_value + d->pixel_len);
}

/* The head and tail of the file as side data (the file comment says
 * which bytes). */
static mc_err add_side(mc_image *img, const struct dicom *d, const uint8_t *buf, size_t len,
                       size_t samples_len)
{
    size_t tail = len - d->pixel_value - samples_len;
    mc_err err;

    if ((err = mc__side_add(img, MC_SIDE_DICOM_HEAD, buf, d->pixel_value)) != MC_OK)
        return err;
    if (tail > 0)
        return mc__side_add(img, MC_SIDE_DICOM_TAIL, buf + d->pixel_value + samples_len, tail);
    return MC_OK;
}

mc_err mc__dicom_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out)
{
    struct dicom d;
    mc_image *img = NULL;
    size_t samples_len;
    mc_err err;

    if (ctx == NULL || out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    if ((err = locate(&d, ctx, buf, len, &samples_len)) != MC_OK)
        return err;
    if ((err = mc__image_alloc(ctx, d.columns, (uint32_t)d.rows * d.frames, (uint8_t)d.samples,
                               (uint8_t)d.bits_allocated, &img)) != MC_OK)
        return err;
    img->format = MC_FORMAT_DICOM;
    img->frames = d.frames;
    samples_from_file(img, buf + d.pixel_value, is_planar(&d));
    if ((err = add_side(img, &d, buf, len, samples_len)) != MC_OK)
        goto out;
    *out = img;
    img = NULL;
out:
    mc_image_free(img);
    return err;
}

mc_err mc__dicom_decode_in_place(const mc_ctx *ctx, uint8_t *buf, size_t len, mc_image **out)
{
    struct dicom d;
    mc_image *img;
    size_t samples_len;
    mc_err err;

    if (ctx == NULL || out == NULL)
        return MC_EINVAL;
    /* Anything the ordinary decoder would refuse, or lay out otherwise
     * (planes to interleave), is left to it: it says what is wrong, and
     * tries the other codecs whose signature the bytes may also carry. */
    if (buf == NULL || !mc__dicom_sniff(buf, len) ||
        locate(&d, ctx, buf, len, &samples_len) != MC_OK || is_planar(&d))
        return MC_EUNSUPPORTED;
    mc__ctx_detail(ctx, "%s", "");
    if ((img = calloc(1, sizeof *img)) == NULL)
        return MC_ENOMEM;
    img->width = d.columns;
    img->height = (uint32_t)d.rows * d.frames;
    img->frames = d.frames;
    img->channels = (uint8_t)d.samples;
    img->bits = (uint8_t)d.bits_allocated;
    img->format = MC_FORMAT_DICOM;
    /* The side data first, while the head and tail are still there. */
    if ((err = add_side(img, &d, buf, len, samples_len)) != MC_OK) {
        mc_image_free(img); /* buf is still the caller's, untouched */
        return err;
    }
    /* From here on buf is the image's: the Pixel Data value is the
     * samples as they are (samples_from_file). */
    mc__image_adopt(img, buf, len, d.pixel_value, samples_len);
    *out = img;
    return MC_OK;
}

/* Re-reads a recorded head: it must end exactly where the Pixel Data
 * value begins, and describe an image medcrypt supports. */
static mc_err parse_head(struct dicom *d, const uint8_t *head, size_t head_len,
                         size_t *samples_len)
{
    mc_err err;

    if ((err = parse_file(d, NULL, head, head_len)) != MC_OK)
        return err;
    if (!d->have_pixel || d->pixel_value != head_len)
        return MC_EFORMAT;
    return check_pixel_module(d, NULL, samples_len);
}

/* The file an image is written back as: its recorded head (re-read, and
 * checked to describe these samples), the samples, its tail. */
struct rebuild {
    const uint8_t *head, *tail;
    size_t head_len, tail_len;
    bool planar;
};

static mc_err plan_rebuild(const mc_image *img, struct rebuild *r)
{
    size_t samples_len;
    struct dicom d;
    mc_err err;

    if (img == NULL || img->samples == NULL)
        return MC_EINVAL;
    memset(r, 0, sizeof *r);
    if (!mc__side_find(img->side, img->side_len, MC_SIDE_DICOM_HEAD, &r->head, &r->head_len))
        return MC_EUNSUPPORTED; /* a DICOM file is only rebuilt from its own head */
    mc__side_find(img->side, img->side_len, MC_SIDE_DICOM_TAIL, &r->tail, &r->tail_len);
    if ((err = parse_head(&d, r->head, r->head_len, &samples_len)) != MC_OK)
        return err;
    /* The head must describe these samples. */
    if (img->width != d.columns || img->height != (uint32_t)d.rows * d.frames ||
        img->frames != d.frames || img->channels != d.samples || img->bits != d.bits_allocated ||
        img->samples_len != samples_len || d.pixel_len - samples_len > r->tail_len)
        return MC_EFORMAT;
    if (samples_len > SIZE_MAX - r->head_len || r->tail_len > SIZE_MAX - r->head_len - samples_len)
        return MC_ETOOBIG;
    r->planar = is_planar(&d);
    return MC_OK;
}

mc_err mc__dicom_encode(const mc_image *img, uint8_t **out, size_t *out_len)
{
    struct rebuild r;
    size_t total;
    uint8_t *p;
    mc_err err;

    if (out == NULL || out_len == NULL)
        return MC_EINVAL;
    if ((err = plan_rebuild(img, &r)) != MC_OK)
        return err;
    total = r.head_len + img->samples_len + r.tail_len;
    if ((p = mc__alloc_huge(total)) == NULL) /* image-sized: src/mem.c */
        return MC_ENOMEM;
    memcpy(p, r.head, r.head_len);
    samples_to_file(img, p + r.head_len, r.planar);
    if (r.tail_len > 0)
        memcpy(p + r.head_len + img->samples_len, r.tail, r.tail_len);
    *out = p;
    *out_len = total;
    return MC_OK;
}

mc_err mc__dicom_encode_to(const mc_image *img, mc_write_fn write, void *user)
{
    struct rebuild r;
    uint8_t *planes = NULL;
    mc_err err;

    if (write == NULL)
        return MC_EINVAL;
    if ((err = plan_rebuild(img, &r)) != MC_OK)
        return err;
    /* Interleaved samples are the file's bytes (samples_to_file) and go
     * out as they lie; planes are laid out first (small colour images). */
    if (r.planar) {
        if ((planes = malloc(img->samples_len)) == NULL)
            return MC_ENOMEM;
        samples_to_file(img, planes, true);
    }
    err = write(user, r.head, r.head_len) == 0 &&
                  write(user, planes != NULL ? planes : img->samples, img->samples_len) == 0 &&
                  (r.tail_len == 0 || write(user, r.tail, r.tail_len) == 0)
              ? MC_OK
              : MC_EIO;
    if (planes != NULL) {
        sodium_memzero(planes, img->samples_len); /* plain samples */
        free(planes);
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* Descriptions (medcrypt info, previews).                             */

static void fill_info(const struct dicom *d, bool supported, mc_dicom_info *info)
{
    memset(info, 0, sizeof *info);
    memcpy(info->transfer_syntax, d->uid, sizeof info->transfer_syntax);
    info->transfer_syntax_name = d->ts->name;
    info->supported = supported;
    info->compressed = d->ts->kind != TS_IMPLICIT_LE && d->ts->kind != TS_EXPLICIT_LE;
    info->pixel_module = d->have_rows && d->have_columns;
    memcpy(info->photometric, d->photometric, sizeof info->photometric);
    info->rows = d->rows;
    info->columns = d->columns;
    info->frames = d->frames;
    info->samples_per_pixel = d->samples;
    info->bits_allocated = d->bits_allocated;
    info->bits_stored = d->have_bits_stored ? d->bits_stored : d->bits_allocated;
    info->high_bit = d->have_high_bit ? d->high_bit
                     : info->bits_stored > 0 ? (uint16_t)(info->bits_stored - 1u) : 0;
    info->pixel_representation = d->pixel_rep;
    info->planar_configuration = d->planar;
    info->has_window = d->have_center && d->have_width;
    info->window_center = d->center;
    info->window_width = d->width;
    info->rescale_intercept = d->intercept;
    info->rescale_slope = d->slope;
}

mc_err mc_dicom_inspect(mc_ctx *ctx, const uint8_t *buf, size_t len, mc_dicom_info *info)
{
    mc_ctx ic;
    struct dicom d;
    size_t samples_len;
    bool supported;
    mc_err err;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (ctx == NULL || info == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    /* A description allocates nothing for the pixels: the caller's
     * admission hook (mc_ctx_set_admit) is not asked, which could block
     * or refuse and so call a supported file unsupported. */
    ic = *ctx;
    ic.admit = NULL;
    ctx = &ic;
    mc__ctx_detail(ctx, "%s", "");
    err = parse_file(&d, ctx, buf, len);
    if (err != MC_OK && (d.ts == &TS_UNKNOWN_ENTRY || ts_native(d.ts)))
        return err; /* not DICOM, or a broken file medcrypt would read */
    if (err != MC_OK) {
        /* A data set we cannot walk, in a syntax we refuse anyway: the
         * transfer syntax is still worth telling. */
        d.have_rows = d.have_columns = false;
    }
    mc__ctx_detail(ctx, "%s", "");
    /* A data set cut short in a syntax we refuse: the syntax is the reason
     * all the same (a cut RLE file was "encryptable: no" with no reason;
     * mutation testing, eighteenth round). */
    if (err != MC_OK)
        (void)unsupported_ts(&d);
    supported = err == MC_OK && check_pixel_module(&d, ctx, &samples_len) == MC_OK;
    if (supported && d.pixel_len > len - d.pixel_value) {
        mc__ctx_detail(ctx, "Pixel Data runs past the end of the file");
        supported = false;
    }
    if (supported && check_tail(&d, d.pixel_value + d.pixel_len) != MC_OK)
        supported = false; /* check_tail() said why */
    fill_info(&d, supported, info);
    return MC_OK;
}

mc_err mc_image_dicom_info(const mc_image *img, mc_dicom_info *info)
{
    const uint8_t *head;
    size_t head_len, samples_len;
    struct dicom d;
    mc_err err;

    if (img != NULL && img->spent)
        return MC_ESTATE; /* encrypted in place: as every call on it says */
    if (img == NULL || info == NULL || img->format != MC_FORMAT_DICOM ||
        !mc__side_find(img->side, img->side_len, MC_SIDE_DICOM_HEAD, &head, &head_len))
        return MC_EINVAL;
    if ((err = parse_head(&d, head, head_len, &samples_len)) != MC_OK)
        return err;
    fill_info(&d, true, info);
    return MC_OK;
}
