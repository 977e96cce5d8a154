/* Netpbm PGM and PPM: binary (P5, P6) and plain (P2, P3), 8 or 16 bits.
 *
 * References: the netpbm man pages pgm(5), ppm(5) and the behaviour of
 * netpbm's own reader (libpm's pm_getc/pm_getuint), cited as "pgm(5)".
 *
 * Decryption must give back the file byte for byte (DESIGN §5), so what
 * the samples do not say travels as side data:
 *   MC_SIDE_PNM_HEADER  the header verbatim, from 'P' through the single
 *                       whitespace after maxval (comments, spacing, maxval);
 *   MC_SIDE_PNM_RASTER  plain formats only, and only when the raster text
 *                       is not in the canonical layout this encoder writes
 *                       (one image row per line, single spaces): the text
 *                       verbatim;
 *   MC_SIDE_PNM_TRAILER anything after the raster (a second image of a
 *                       multi-image file, a final newline...), verbatim. */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pnm_header {
    char kind;        /* '2', '3', '5' or '6' */
    uint32_t width, height;
    uint32_t maxval;  /* 1..65535 */
    uint8_t channels; /* 1 (P2, P5) or 3 (P3, P6) */
    uint8_t bits;     /* 8 if maxval < 256, else 16 (pgm(5)) */
    size_t raster_off; /* first byte after the header */
};

/* A cursor over the file's bytes. */
struct cursor {
    const uint8_t *p;
    size_t len, pos;
};

#define END (-1) /* end of data */

static bool is_space(int c)
{
    /* pgm(5): "White space" is blanks, TABs, CRs, LFs (netpbm also takes
     * VT and FF, as C's isspace does). */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_plain(char kind)
{
    return kind == '2' || kind == '3';
}

/* A netpbm magic number "P" and a kind, then whitespace or at once a
 * comment (pgm(5): a comment may stand anywhere before the raster; netpbm
 * reads "P5#..."); its kind, or 0. */
static char magic_kind(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len < 3 || buf[0] != 'P' || !(is_space(buf[2]) || buf[2] == '#'))
        return 0;
    return (char)buf[1];
}

bool mc__pnm_sniff(const uint8_t *buf, size_t len)
{
    char kind = magic_kind(buf, len);

    return kind == '2' || kind == '3' || kind == '5' || kind == '6';
}

bool mc__pnm_kin(const mc_ctx *ctx, const uint8_t *buf, size_t len)
{
    char kind = magic_kind(buf, len);

    if (kind == '1' || kind == '4')
        mc__ctx_detail(ctx, "a PBM bitmap (P%c): medcrypt reads PGM (P2, P5) and PPM (P3, P6)",
                       kind);
    else if (kind == '7')
        mc__ctx_detail(ctx, "a PAM image (P7): medcrypt reads PGM (P2, P5) and PPM (P3, P6)");
    else
        return false;
    return true;
}

/* pgm(5): "any characters from a '#' through the next carriage return or
 * newline character, is a comment and is ignored" — anywhere before the
 * raster, even inside what looks like a token. As in netpbm's pm_getc(), a
 * comment reads as the CR or LF that ends it. */
static int next_char(struct cursor *c)
{
    int ch;

    if (c->pos >= c->len)
        return END;
    ch = c->p[c->pos++];
    if (ch != '#')
        return ch;
    while (c->pos < c->len && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
        c->pos++;
    if (c->pos >= c->len)
        return END;
    return c->p[c->pos++];
}

/* Why read_uint refused a number: for mc_ctx_last_detail(). */
enum uint_fault { FAULT_NONE, FAULT_JUNK, FAULT_OVER, FAULT_JOINED };

static const char *fault_text(enum uint_fault f)
{
    switch (f) {
    case FAULT_JUNK: return "not a decimal number";
    case FAULT_OVER: return "more than 65535"; /* a sample (pgm(5)) */
    case FAULT_JOINED: return "not followed by whitespace";
    default: return "unreadable";
    }
}

/* An unsigned decimal (pgm(5): "formatted as ASCII characters in
 * decimal"), after optional whitespace and comments. *start and *end (may
 * be NULL) receive the offsets of its digits. The delimiter after the
 * digits is consumed and must be whitespace (or a comment); at_end_ok says
 * whether the data may end right after the digits instead. On MC_EFORMAT
 * *fault says why. */
static mc_err read_uint(struct cursor *c, uint32_t max, bool at_end_ok, uint32_t *value,
                        size_t *start, size_t *end, enum uint_fault *fault)
{
    uint32_t v = 0;
    int ch;

    *fault = FAULT_NONE;
    do
        ch = next_char(c);
    while (ch != END && is_space(ch));
    if (ch == END)
        return MC_ETRUNCATED;
    if (!is_digit(ch)) {
        *fault = FAULT_JUNK; /* "junk where an unsigned integer should be" */
        return MC_EFORMAT;
    }
    if (start != NULL)
        *start = c->pos - 1;
    for (;;) {
        if (v > (max - (uint32_t)(ch - '0')) / 10) {
            *fault = FAULT_OVER; /* over max: no need to read further */
            return MC_EFORMAT;
        }
        v = v * 10 + (uint32_t)(ch - '0');
        if (c->pos >= c->len || !is_digit(c->p[c->pos]))
            break;
        ch = c->p[c->pos++];
    }
    if (end != NULL)
        *end = c->pos;
    ch = next_char(c);
    if (ch == END && !at_end_ok)
        return MC_ETRUNCATED;
    if (ch != END && !is_space(ch)) {
        *fault = FAULT_JOINED;
        return MC_EFORMAT;
    }
    *value = v;
    return MC_OK;
}

/* One header field, with the detail of a failure (ctx NULL: none). */
static mc_err header_field(const mc_ctx *ctx, struct cursor *c, const char *name, uint32_t max,
                           uint32_t *v)
{
    enum uint_fault fault;
    mc_err err = read_uint(c, max, false, v, NULL, NULL, &fault);

    if (err == MC_ETRUNCATED)
        mc__ctx_detail(ctx, "the file ends in the header, at its %s", name);
    else if (err != MC_OK && fault == FAULT_OVER) /* netpbm: an unsigned int; pgm(5) */
        mc__ctx_detail(ctx, "the header's %s is more than %u%s", name, (unsigned)max,
                       max == 65535 ? " (pgm(5))" : "");
    else if (err != MC_OK)
        mc__ctx_detail(ctx, "the header's %s is %s", name, fault_text(fault));
    return err;
}

/* Magic, width, height, maxval and the single whitespace that ends the
 * header (pgm(5): "A single whitespace character (usually a newline)");
 * the raster starts right after it. ctx: for the detail of a failure
 * (NULL: a re-parse, nothing to tell). */
static mc_err parse_header(const mc_ctx *ctx, const uint8_t *buf, size_t len,
                           struct pnm_header *h)
{
    struct cursor c = {buf, len, 2};
    uint32_t v;
    mc_err err;

    if (!mc__pnm_sniff(buf, len))
        return MC_EFORMAT;
    h->kind = (char)buf[1];
    h->channels = (h->kind == '2' || h->kind == '5') ? 1 : 3;
    /* netpbm keeps dimensions in an unsigned int; more is not an image. */
    if ((err = header_field(ctx, &c, "width", UINT32_MAX, &v)) != MC_OK)
        return err;
    h->width = v;
    if ((err = header_field(ctx, &c, "height", UINT32_MAX, &v)) != MC_OK)
        return err;
    h->height = v;
    /* pgm(5): "Must be less than 65536 and more than zero." The delimiter
     * after maxval is consumed by read_uint; the raster is what follows. */
    if ((err = header_field(ctx, &c, "maxval", 65535, &v)) != MC_OK)
        return err;
    if (v == 0) {
        mc__ctx_detail(ctx, "the header's maxval is 0 (pgm(5): 1 to 65535)");
        return MC_EFORMAT;
    }
    h->maxval = v;
    h->bits = v < 256 ? 8 : 16;
    h->raster_off = c.pos;
    return MC_OK;
}

static void put_sample(uint8_t *samples, unsigned bits, size_t i, uint32_t v)
{
    if (bits == 8) {
        samples[i] = (uint8_t)v;
    } else {
        uint16_t s = (uint16_t)v;
        memcpy(samples + 2 * i, &s, 2); /* host order */
    }
}

static uint32_t get_sample(const uint8_t *samples, unsigned bits, size_t i)
{
    uint16_t s;

    if (bits == 8)
        return samples[i];
    memcpy(&s, samples + 2 * i, 2);
    return s;
}

/* The largest value a sample of `bits` can hold: the maxval of a raster
 * that needs no check. */
static uint32_t full_maxval(unsigned bits)
{
    return bits == 8 ? 255u : 65535u;
}

/* Whether every sample of a binary raster of len bytes (16-bit:
 * big-endian) is at most h's maxval (pgm(5)). Below the full range, one
 * read-only pass that vectorizes (8 MB in about a millisecond). */
static bool raster_within(const uint8_t *p, size_t len, const struct pnm_header *h)
{
    uint32_t top = 0;

    if (h->maxval == full_maxval(h->bits))
        return true;
    if (h->bits == 8) {
        for (size_t i = 0; i < len; i++)
            top = p[i] > top ? p[i] : top;
    } else {
        for (size_t i = 0; i + 1 < len; i += 2) {
            uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
            top = v > top ? v : top;
        }
    }
    return top <= h->maxval;
}

/* The detail of a sample above maxval: where it is, as x and y from the
 * top left (0-based, as image viewers show them), and its channel. */
static void over_maxval(const mc_ctx *ctx, const struct pnm_header *h, size_t i, uint32_t v)
{
    size_t pixel = i / h->channels;
    char channel[24] = "";

    if (h->channels > 1)
        snprintf(channel, sizeof channel, ", channel %zu", i % h->channels);
    mc__ctx_detail(ctx, "the sample at x %zu, y %zu%s is %u, above the header's maxval %u "
                   "(pgm(5))", pixel % h->width, pixel / h->width, channel, (unsigned)v,
                   (unsigned)h->maxval);
}

/* P5/P6 raster: bytes, or 16-bit big-endian ("most significant byte
 * first", pgm(5)), each at most maxval. */
static mc_err binary_raster(const mc_ctx *ctx, const uint8_t *p, size_t avail,
                            const struct pnm_header *h, mc_image *img, size_t *used)
{
    if (avail < img->samples_len)
        return MC_ETRUNCATED; /* the caller checked it first, and said so */
    if (!raster_within(p, img->samples_len, h)) {
        /* Found again, one sample at a time: an error path only. */
        for (size_t i = 0; i < img->samples_len / (h->bits / 8); i++) {
            uint32_t v = h->bits == 8 ? p[i] : (uint32_t)p[2 * i] << 8 | p[2 * i + 1];
            if (v > h->maxval) {
                over_maxval(ctx, h, i, v);
                break;
            }
        }
        return MC_EFORMAT;
    }
    if (h->bits == 8)
        memcpy(img->samples, p, img->samples_len);
    else
        mc__swap16(img->samples, p, img->samples_len); /* to host order */
    *used = img->samples_len;
    return MC_OK;
}

/* Whether the bytes between two samples are what the canonical layout has
 * there: a space inside a row, a newline between rows. */
static bool canonical_gap(const uint8_t *p, size_t from, size_t to, size_t i, size_t row_n)
{
    if (i == 0)
        return to == from; /* the raster starts with the first digit */
    return to - from == 1 && p[from] == (i % row_n == 0 ? '\n' : ' ');
}

/* P2/P3 raster: n decimal samples separated by whitespace (comments
 * allowed, as netpbm's reader allows them). *used is the length of the
 * raster text: through the last digit, plus the newline after it if there
 * is one (the canonical layout ends every row with one). *canonical says
 * whether that text is exactly what encode_plain() writes. */
static mc_err plain_raster(const mc_ctx *ctx, const uint8_t *p, size_t avail,
                           const struct pnm_header *h, size_t n, uint8_t *samples, size_t *used,
                           bool *canonical)
{
    struct cursor c = {p, avail, 0};
    size_t prev_end = 0, start, end = 0, row_n = (size_t)h->width * h->channels;
    enum uint_fault fault;
    bool canon = true;
    uint32_t v;
    mc_err err;

    for (size_t i = 0; i < n; i++) {
        if ((err = read_uint(&c, 65535, true, &v, &start, &end, &fault)) != MC_OK) {
            if (err == MC_ETRUNCATED)
                mc__ctx_detail(ctx, "the raster ends after %zu of its %zu samples", i, n);
            else
                mc__ctx_detail(ctx, "sample %zu of the raster is %s", i + 1, fault_text(fault));
            return err;
        }
        if (v > h->maxval) {
            over_maxval(ctx, h, i, v);
            return MC_EFORMAT; /* pgm(5): each gray value is 0..maxval */
        }
        /* Canonical digits: no leading zeros ("007" reads as 7). */
        if (canon && (!canonical_gap(p, prev_end, start, i, row_n) ||
                      (end - start > 1 && p[start] == '0')))
            canon = false;
        put_sample(samples, h->bits, i, v);
        prev_end = end;
    }
    if (end < avail && p[end] == '\n')
        end++;
    else
        canon = false;
    *used = end;
    *canonical = canon;
    return MC_OK;
}

uint32_t mc__pnm_maxval(const mc_image *img)
{
    struct pnm_header h;
    const uint8_t *hdr;
    size_t len;

    if (img == NULL || img->format != MC_FORMAT_PNM ||
        !mc__side_find(img->side, img->side_len, MC_SIDE_PNM_HEADER, &hdr, &len) ||
        parse_header(NULL, hdr, len, &h) != MC_OK)
        return 0;
    return h.maxval;
}

mc_err mc__pnm_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out)
{
    struct pnm_header h;
    mc_image *img = NULL;
    size_t used = 0, n, tail, samples_len, avail;
    bool canonical = true;
    mc_err err;

    if (out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    if (!mc__pnm_sniff(buf, len))
        return MC_EFORMAT;
    if ((err = parse_header(ctx, buf, len, &h)) != MC_OK)
        return err;
    /* The pixel cap before any allocation. */
    if ((err = mc__geometry_check(ctx, h.width, h.height, h.channels, h.bits, &samples_len)) !=
        MC_OK)
        return err;
    /* Nor may a short file buy a large allocation: the raster needs
     * samples_len bytes (binary), or n digits and n - 1 separators
     * (plain). n >= 1, and n <= SIZE_MAX / 2 (mc__geometry_check). */
    n = samples_len / (h.bits / 8);
    avail = len - h.raster_off;
    if (avail < (is_plain(h.kind) ? 2 * n - 1 : samples_len)) {
        if (is_plain(h.kind))
            mc__ctx_detail(ctx, "%zu samples need at least %zu bytes, the file has %zu after the "
                           "header", n, 2 * n - 1, avail);
        else
            mc__ctx_detail(ctx, "the raster needs %zu bytes, the file has %zu after the header",
                           samples_len, avail);
        return MC_ETRUNCATED;
    }
    if ((err = mc__image_alloc(ctx, h.width, h.height, h.channels, h.bits, &img)) != MC_OK)
        return err;
    img->format = MC_FORMAT_PNM;

    if (is_plain(h.kind))
        err = plain_raster(ctx, buf + h.raster_off, avail, &h, n, img->samples, &used,
                           &canonical);
    else
        err = binary_raster(ctx, buf + h.raster_off, avail, &h, img, &used);
    if (err != MC_OK)
        goto out;

    if ((err = mc__side_add(img, MC_SIDE_PNM_HEADER, buf, h.raster_off)) != MC_OK)
        goto out;
    if (!canonical &&
        (err = mc__side_add(img, MC_SIDE_PNM_RASTER, buf + h.raster_off, used)) != MC_OK)
        goto out;
    /* Multi-image files (pgm(5): "A PGM file consists of a sequence of one
     * or more PGM images"): medcrypt encrypts the first image and keeps
     * the rest as it is, in the encrypted side data. */
    tail = len - h.raster_off - used;
    if (tail > 0 &&
        (err = mc__side_add(img, MC_SIDE_PNM_TRAILER, buf + h.raster_off + used, tail)) != MC_OK)
        goto out;

    *out = img;
    img = NULL;
out:
    mc_image_free(img);
    return err;
}

/* A binary PGM/PPM decoded where it lies: the raster is moved to the
 * front of buf and swapped to host order there, and buf becomes the
 * image's sample buffer. No second image-sized buffer, no page faults for
 * one (docs/PERFORMANCE.md, "Whole process"). A maxval below the full 8
 * or 16 bits (4095 for a 12-bit CT) is checked first (pgm(5): no sample
 * above it), before buf is touched. MC_EUNSUPPORTED, with buf untouched,
 * for every other file, and for one with a sample above maxval: decode it
 * the ordinary way (which says what is wrong). */
mc_err mc__pnm_decode_in_place(const mc_ctx *ctx, uint8_t *buf, size_t len, mc_image **out)
{
    struct pnm_header h;
    mc_image *img = NULL;
    size_t samples_len, tail;
    mc_err err;

    if (out == NULL)
        return MC_EINVAL;
    if (buf == NULL || !mc__pnm_sniff(buf, len) || parse_header(NULL, buf, len, &h) != MC_OK ||
        is_plain(h.kind) ||
        mc__geometry_check(ctx, h.width, h.height, h.channels, h.bits, &samples_len) != MC_OK ||
        len - h.raster_off < samples_len || !raster_within(buf + h.raster_off, samples_len, &h))
        return MC_EUNSUPPORTED; /* the ordinary decoder says what is wrong */
    if ((img = calloc(1, sizeof *img)) == NULL)
        return MC_ENOMEM;
    img->width = h.width;
    img->height = h.height;
    img->frames = 1;
    img->channels = h.channels;
    img->bits = h.bits;
    img->format = MC_FORMAT_PNM;
    /* The side data first, while the header and trailer are still there. */
    tail = len - h.raster_off - samples_len;
    if ((err = mc__side_add(img, MC_SIDE_PNM_HEADER, buf, h.raster_off)) != MC_OK ||
        (tail > 0 && (err = mc__side_add(img, MC_SIDE_PNM_TRAILER,
                                         buf + h.raster_off + samples_len, tail)) != MC_OK)) {
        mc_image_free(img); /* buf is still the caller's, untouched */
        return err;
    }
    /* From here on buf is the image's. */
    mc__image_adopt(img, buf, len, h.raster_off, samples_len);
    if (h.bits == 16) /* big-endian to host order */
        mc__swap16(img->samples, img->samples, samples_len);
    *out = img;
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Encoding.                                                           */

/* The output buffer, sized up front in mc__pnm_encode() for the worst
 * case (cap), so the writers below need no checks of their own. */
struct outbuf {
    uint8_t *p;
    size_t len, cap;
};

static void out_bytes(struct outbuf *o, const void *data, size_t len)
{
    memcpy(o->p + o->len, data, len);
    o->len += len;
}

static size_t put_decimal(uint8_t *dst, uint32_t v)
{
    char tmp[10];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)tmp[n - 1 - i];
    return n;
}

/* The canonical plain raster: one image row per line, samples separated
 * by single spaces, every line ending with '\n'. */
static void encode_plain(struct outbuf *o, const mc_image *img)
{
    size_t row_n = (size_t)img->width * img->channels;
    size_t n = img->samples_len / (img->bits / 8);

    for (size_t i = 0; i < n; i++) {
        o->len += put_decimal(o->p + o->len, get_sample(img->samples, img->bits, i));
        o->p[o->len++] = (i + 1) % row_n == 0 ? '\n' : ' ';
    }
}

/* A recorded plain raster is reused only if it still reads as the image's
 * samples: the caller may have changed them since decoding, and then the
 * samples win over the recorded layout. */
static mc_err recorded_raster_matches(const mc_image *img, const struct pnm_header *h,
                                      const uint8_t *text, size_t text_len, bool *match)
{
    uint8_t *tmp;
    size_t used, n = img->samples_len / (img->bits / 8);
    bool canonical;
    mc_err err;

    *match = false;
    if ((tmp = malloc(img->samples_len)) == NULL)
        return MC_ENOMEM;
    err = plain_raster(NULL, text, text_len, h, n, tmp, &used, &canonical);
    if (err == MC_OK)
        *match = used == text_len && memcmp(tmp, img->samples, img->samples_len) == 0;
    else if (err != MC_ENOMEM)
        err = MC_OK; /* unreadable record: ignore it, write canonically */
    sodium_memzero(tmp, img->samples_len); /* the plain image (a security audit) */
    free(tmp);
    return err;
}

/* What mc__pnm_encode writes: the header, then the raster (binary
 * samples, the recorded plain raster, or a canonical plain one), then the
 * trailer recorded at decoding. */
struct pnm_plan {
    struct pnm_header h;
    const uint8_t *hdr, *raster, *trailer;
    size_t hdr_len, raster_len, trailer_len, body;
    bool use_raster;
    char canon_hdr[64];
};

static mc_err plan_encoding(const mc_image *img, struct pnm_plan *pl)
{
    size_t n;
    mc_err err;

    memset(pl, 0, sizeof *pl);
    if (img == NULL || img->samples == NULL || (img->bits != 8 && img->bits != 16) ||
        img->width == 0 || img->height == 0)
        return MC_EINVAL;
    if (img->channels != 1 && img->channels != 3)
        return MC_EUNSUPPORTED; /* no alpha in PGM/PPM */
    /* The samples must be exactly W·H·C (w·h fits in 64 bits; n does not
     * need to be multiplied). */
    n = img->samples_len / (img->bits / 8);
    if (n * (img->bits / 8) != img->samples_len || n % img->channels != 0 ||
        (uint64_t)img->width * img->height != n / img->channels)
        return MC_EINVAL;

    if (mc__side_find(img->side, img->side_len, MC_SIDE_PNM_HEADER, &pl->hdr, &pl->hdr_len)) {
        /* The recorded header must describe this image: it was read from
         * the file these samples came from. */
        if (parse_header(NULL, pl->hdr, pl->hdr_len, &pl->h) != MC_OK ||
            pl->h.raster_off != pl->hdr_len || pl->h.width != img->width ||
            pl->h.height != img->height || pl->h.channels != img->channels ||
            pl->h.bits != img->bits)
            return MC_EFORMAT;
    } else {
        int k = snprintf(pl->canon_hdr, sizeof pl->canon_hdr, "P%c\n%u %u\n%u\n",
                         img->channels == 1 ? '5' : '6', (unsigned)img->width,
                         (unsigned)img->height, full_maxval(img->bits));
        if (k < 0 || (size_t)k >= sizeof pl->canon_hdr)
            return MC_EINVAL;
        pl->hdr = (const uint8_t *)pl->canon_hdr;
        pl->hdr_len = (size_t)k;
        if ((err = parse_header(NULL, pl->hdr, pl->hdr_len, &pl->h)) != MC_OK)
            return err;
    }
    /* pgm(5): no sample above maxval. Only an image that did not come from
     * this header can break this. */
    if (pl->h.maxval != full_maxval(img->bits))
        for (size_t i = 0; i < n; i++)
            if (get_sample(img->samples, img->bits, i) > pl->h.maxval)
                return MC_EFORMAT;

    if (is_plain(pl->h.kind) && mc__side_find(img->side, img->side_len, MC_SIDE_PNM_RASTER,
                                              &pl->raster, &pl->raster_len)) {
        if ((err = recorded_raster_matches(img, &pl->h, pl->raster, pl->raster_len,
                                           &pl->use_raster)) != MC_OK)
            return err;
    }
    mc__side_find(img->side, img->side_len, MC_SIDE_PNM_TRAILER, &pl->trailer,
                  &pl->trailer_len);

    /* Output size: plain samples take at most 5 digits and a separator. */
    if (!is_plain(pl->h.kind))
        pl->body = img->samples_len;
    else if (pl->use_raster)
        pl->body = pl->raster_len;
    else if (n > SIZE_MAX / 6)
        return MC_ETOOBIG;
    else
        pl->body = n * 6;
    if (pl->body > SIZE_MAX - pl->hdr_len || pl->trailer_len > SIZE_MAX - pl->hdr_len - pl->body)
        return MC_ETOOBIG;
    return MC_OK;
}

/* The text forms (P2/P3), built whole: a plain sample's width varies. */
static mc_err encode_text(const mc_image *img, const struct pnm_plan *pl, uint8_t **out,
                          size_t *out_len)
{
    struct outbuf o = {NULL, 0, 0};

    o.cap = pl->hdr_len + pl->body + pl->trailer_len;
    if ((o.p = mc__alloc_huge(o.cap)) == NULL) /* image-sized: src/mem.c */
        return MC_ENOMEM;
    out_bytes(&o, pl->hdr, pl->hdr_len);
    if (pl->use_raster)
        out_bytes(&o, pl->raster, pl->raster_len);
    else
        encode_plain(&o, img);
    if (pl->trailer_len > 0)
        out_bytes(&o, pl->trailer, pl->trailer_len);
    *out = o.p;
    *out_len = o.len;
    return MC_OK;
}

/* The binary forms (P5/P6) piece by piece: the header, the samples, the
 * trailer. 16-bit samples are big-endian in the file (pgm(5)): swapped
 * through a small buffer. */
static mc_err write_binary(const mc_image *img, const struct pnm_plan *pl, mc_write_fn write,
                           void *user)
{
    uint8_t chunk[64 << 10]; /* plain samples: wiped */
    mc_err err = MC_OK;

    if (write(user, pl->hdr, pl->hdr_len) != 0)
        return MC_EIO;
    if (img->bits == 8) {
        if (write(user, img->samples, img->samples_len) != 0)
            return MC_EIO;
    } else {
        for (size_t off = 0; off < img->samples_len && err == MC_OK; off += sizeof chunk) {
            size_t left = img->samples_len - off, n = left < sizeof chunk ? left : sizeof chunk;
            mc__swap16(chunk, img->samples + off, n);
            if (write(user, chunk, n) != 0)
                err = MC_EIO;
        }
        sodium_memzero(chunk, sizeof chunk);
        if (err != MC_OK)
            return err;
    }
    if (pl->trailer_len > 0 && write(user, pl->trailer, pl->trailer_len) != 0)
        return MC_EIO;
    return MC_OK;
}

mc_err mc__pnm_encode(const mc_image *img, uint8_t **out, size_t *out_len)
{
    struct pnm_plan pl;
    mc__buf b = {NULL, 0, 0, false};
    mc_err err;

    if (out == NULL || out_len == NULL)
        return MC_EINVAL;
    if ((err = plan_encoding(img, &pl)) != MC_OK)
        return err;
    if (is_plain(pl.h.kind))
        return encode_text(img, &pl, out, out_len);
    /* Sized exactly up front: the writes below cannot fail. */
    if (!mc__buf_reserve(&b, pl.hdr_len + pl.body + pl.trailer_len))
        return MC_ENOMEM;
    if ((err = write_binary(img, &pl, mc__buf_write, &b)) != MC_OK) {
        if (b.nomem)
            err = MC_ENOMEM;
        mc__buf_wipe(&b);
        return err;
    }
    *out = b.p;
    *out_len = b.len;
    return MC_OK;
}

mc_err mc__pnm_encode_to(const mc_image *img, mc_write_fn write, void *user)
{
    struct pnm_plan pl;
    uint8_t *buf = NULL;
    size_t len = 0;
    mc_err err;

    if (write == NULL)
        return MC_EINVAL;
    if ((err = plan_encoding(img, &pl)) != MC_OK)
        return err;
    if (!is_plain(pl.h.kind))
        return write_binary(img, &pl, write, user);
    if ((err = encode_text(img, &pl, &buf, &len)) != MC_OK)
        return err;
    err = write(user, buf, len) == 0 ? MC_OK : MC_EIO;
    sodium_memzero(buf, len);
    free(buf);
    return err;
}
