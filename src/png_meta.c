/* A PNG's ancillary chunks (text, pHYs, gAMA, iCCP, tIME, eXIf...): which
 * travel, encrypted, in the side data of its cipher image and come back
 * into the decrypted PNG (records MC_SIDE_PNG_BEFORE and _AFTER,
 * docs/FORMAT.md §3), and which cannot (mc_png_dropped_chunks, for the
 * user's note). The pixels come back exactly either way; this keeps the
 * rest of what the file said about them. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include <libdeflate.h>

/* Kept chunks take at most this much side data: a PNG with 100 MB of
 * text still encrypts, its excess chunks named as not kept. */
#define META_MAX_BYTES ((size_t)8 << 20)

/* PNG §5.4: the first letter's case says critical (upper) or
 * ancillary; the fourth's, unsafe (upper) or safe to copy. */
static bool letters(const uint8_t t[4])
{
    for (int i = 0; i < 4; i++)
        if (!((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z'))
            return false;
    return true;
}

/* A chunk type of four letters whose first is lower case: ancillary. */
static bool ancillary(const uint8_t t[4])
{
    return letters(t) && (t[0] & 0x20) != 0;
}

/* Ancillary chunks of PNG (third edition, §11.3) and of its registered
 * extensions whose meaning medcrypt knows holds for the decrypted image:
 * it has the original's pixels, so what they say of them is still true,
 * whatever their safe-to-copy bit (which is about editors that change the
 * image). */
static bool known(const uint8_t t[4])
{
    static const char names[][5] = {"cHRM", "gAMA", "iCCP", "sRGB", "cICP", "mDCV", "cLLI",
                                    "eXIf", "pHYs", "sPLT", "tIME", "tEXt", "zTXt", "iTXt",
                                    "oFFs", "pCAL", "sCAL", "sTER", "gIFg", "gIFx"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (memcmp(t, names[i], 4) == 0)
            return true;
    return false;
}

/* The chunks that speak of sample values in the image's own terms. */
static bool in_sample_terms(const uint8_t t[4])
{
    return memcmp(t, "tRNS", 4) == 0 || memcmp(t, "bKGD", 4) == 0 || memcmp(t, "sBIT", 4) == 0;
}

/* tRNS, bKGD and sBIT of a grey image under 8 bits, rewritten for the
 * decrypted PNG, which holds the samples widened to 8 bits as v · 255 /
 * (2^depth − 1) (PNG §13.12; 255, 85 or 17 times v, exact). tRNS and bKGD
 * give a grey level (PNG §11.3, two bytes): scaled the same way, it names
 * the same pixels and the same background. sBIT gives the significant
 * bits: the widening replicates the old bits from the top (17 · v is v in
 * both nibbles), so the original's sBIT holds unchanged. A level the old
 * depth cannot hold, or an sBIT of 0 or above that depth, is the file's
 * error, and is not kept. out, if not NULL, gets the chunk as written
 * back (12 + its n bytes, the same length). */
static bool widened(const uint8_t *chunk, uint32_t n, uint8_t depth, uint8_t *out)
{
    const uint8_t *t = chunk + 4, *d = chunk + 8;
    unsigned top = (1u << depth) - 1, v;

    if (memcmp(t, "sBIT", 4) == 0) {
        if (n != 1 || d[0] == 0 || d[0] > depth)
            return false;
        if (out != NULL)
            memcpy(out, chunk, 13);
        return true;
    }
    if (n != 2 || (v = (unsigned)d[0] << 8 | d[1]) > top)
        return false;
    if (out != NULL) {
        memcpy(out, chunk, 8);
        out[8] = 0;
        out[9] = (uint8_t)(v * (255 / top));
        mc__put_be32(out + 10, libdeflate_crc32(0, out + 4, 6));
    }
    return true;
}

/* Whether this chunk, of a PNG whose IHDR has this colour type and bit
 * depth, comes back in the decrypted PNG. That PNG has the same colour
 * type and depth, except a palette image (RGB or RGBA: PLTE is gone) and
 * grey under 8 bits (widened to 8). A palette's tRNS, bKGD, sBIT and hIST
 * speak of palette indices and entries, and would lie: not kept (its
 * tRNS is its alpha channel now); a low-bit grey's are rewritten
 * (widened). Unknown chunks are kept only when safe to copy (PNG §5.4):
 * the IDAT is written anew. The chunk is whole (12 + n bytes). */
static bool kept(const uint8_t *chunk, uint32_t n, uint8_t color_type, uint8_t depth)
{
    const uint8_t *t = chunk + 4;

    if (!ancillary(t) || memcmp(t, MC_CHUNK_TYPE, 4) == 0)
        return false; /* critical (the image itself), or medcrypt's own */
    if (in_sample_terms(t)) {
        if (color_type == 0 && depth < 8)
            return widened(chunk, n, depth, NULL);
        return color_type != 3;
    }
    if (memcmp(t, "hIST", 4) == 0)
        return false; /* palette images only */
    return known(t) || (t[3] & 0x20) != 0;
}

/* libdeflate's CRC-32 (PCLMULQDQ where the CPU has it), not zlib's
 * crc32_z, a table loop: it checks every IDAT of a plain PNG the fast
 * path reads (codec_png_fast.c), about 1 % of a 512x512 PNG's whole
 * encrypt in a profile with zlib's. Its length is a size_t,
 * where zlib's crc32 took a uInt and n + 4 wrapped for a length of
 * 0xfffffffc or more (a chunk PNG §5.3 forbids, whole only in a 4 GiB
 * file) and checked 0-3 bytes (an audit, found on paper). */
bool mc__png_chunk_crc_ok(const uint8_t *chunk, uint32_t n)
{
    return libdeflate_crc32(0, chunk + 4, (size_t)n + 4) == mc__be32(chunk + 8 + n);
}

bool mc__png_chunk_at(const uint8_t *in, size_t len, size_t off, mc__png_chunk_view *c)
{
    if (len - off < 8)
        return false;
    c->len = mc__be32(in + off);
    c->type = in + off + 4;
    c->whole = len - off >= 12 && c->len <= len - off - 12;
    return true;
}

/* Walks a PNG's chunks after IHDR up to IEND, calling fn for each
 * ancillary one with where it lies (before or after the first IDAT) and
 * whether it is kept (META_MAX_BYTES counted in file order). */
static void walk(const uint8_t *in, size_t len,
                 void (*fn)(void *user, const uint8_t *chunk, const uint8_t *type, size_t n,
                            bool before_idat, bool keep),
                 void *user)
{
    mc__png_chunk_view c;
    uint8_t color_type = in[25], depth = in[24]; /* IHDR, first (PNG §5.6) */
    uint8_t rewritten[14];
    size_t total = 0;
    bool before = true;

    for (size_t off = 8; mc__png_chunk_at(in, len, off, &c); off += 12 + (size_t)c.len) {
        if (memcmp(c.type, "IEND", 4) == 0)
            break;
        if (memcmp(c.type, "IDAT", 4) == 0)
            before = false;
        else if (ancillary(c.type)) {
            const uint8_t *chunk = in + off;
            bool keep = c.whole && kept(chunk, c.len, color_type, depth) &&
                        mc__png_chunk_crc_ok(chunk, c.len) &&
                        12 + (size_t)c.len <= META_MAX_BYTES - total;
            if (keep)
                total += 12 + (size_t)c.len;
            /* a low-bit grey's tRNS, bKGD, sBIT: in the widened terms */
            if (keep && color_type == 0 && depth < 8 && in_sample_terms(c.type) &&
                widened(chunk, c.len, depth, rewritten))
                chunk = rewritten;
            fn(user, chunk, c.type, c.whole ? 12 + (size_t)c.len : 0, before, keep);
        }
        if (!c.whole)
            break;
    }
}

struct records {
    mc__buf before, after;
};

static void collect(void *user, const uint8_t *chunk, const uint8_t *type, size_t n,
                    bool before_idat, bool keep)
{
    struct records *r = user;

    (void)type;
    if (keep)
        (void)mc__buf_write(before_idat ? &r->before : &r->after, chunk, n);
}

mc_err mc__png_meta_record(mc_image *img, const uint8_t *in, size_t len)
{
    struct records r = {{NULL, 0, 0, false}, {NULL, 0, 0, false}};
    mc_err err = MC_OK;

    if (len < 33 || !mc__png_sniff(in, len))
        return MC_OK;
    walk(in, len, collect, &r);
    if (r.before.nomem || r.after.nomem)
        err = MC_ENOMEM;
    else if (r.before.len > 0)
        err = mc__side_add(img, MC_SIDE_PNG_BEFORE, r.before.p, r.before.len);
    if (err == MC_OK && r.after.len > 0)
        err = mc__side_add(img, MC_SIDE_PNG_AFTER, r.after.p, r.after.len);
    mc__buf_wipe(&r.before); /* text chunks may name the patient */
    mc__buf_wipe(&r.after);
    return err;
}

/* Whether the list "a, b, c" holds name as one of its items, or as one
 * with a note ("EXIF (orientation 6)" holds "EXIF"), but not as a part of
 * another ("APP1" is not in "APP12"). */
static bool names_have(const char *list, const char *name, size_t len)
{
    for (const char *p = list; (p = strstr(p, name)) != NULL; p++)
        if ((p == list || (p >= list + 2 && p[-2] == ',' && p[-1] == ' ')) &&
            (p[len] == '\0' || p[len] == ',' || p[len] == ' '))
            return true;
    return false;
}

void mc__names_add(struct mc__names *n, const char *name)
{
    size_t len = strlen(name);

    if (n->full || names_have(n->list, name, len))
        return; /* named once */
    if (n->used + (n->used ? 2 : 0) + len + 1 > n->size) {
        /* ", " name NUL must fit whole; none after it, and the list says
         * there are more ("tRNS, bKGD, ..."), whole names taken back
         * until that fits: a list cut short must not read as all (an
         * X-Medcrypt-Not-Kept header named 16 types of 20, a review). */
        n->full = true;
        while (n->used > 0 && n->used + 5 + 1 > n->size) {
            char *comma = n->list + n->used;

            while (comma > n->list && !(comma[0] == ',' && comma[1] == ' '))
                comma--;
            n->used = (size_t)(comma - n->list);
            n->list[n->used] = '\0';
        }
        if ((n->used > 0 ? 5 : 3) + 1 <= n->size)
            n->used += (size_t)snprintf(n->list + n->used, n->size - n->used, "%s",
                                        n->used > 0 ? ", ..." : "...");
        return;
    }
    n->used += (size_t)snprintf(n->list + n->used, n->size - n->used, "%s%s",
                                n->used ? ", " : "", name);
}

struct dropped {
    struct mc__names names;
    bool palette;
};

static void name_dropped(void *user, const uint8_t *chunk, const uint8_t *type, size_t n,
                         bool before_idat, bool keep)
{
    struct dropped *d = user;
    char t[5];

    (void)chunk;
    (void)n;
    (void)before_idat;
    /* a palette's tRNS is its alpha channel now: kept, in the pixels */
    if (keep || (d->palette && memcmp(type, "tRNS", 4) == 0))
        return;
    memcpy(t, type, 4);
    t[4] = '\0';
    mc__names_add(&d->names, t);
}

void mc_png_dropped_chunks(const uint8_t *in, size_t len, char *list, size_t size)
{
    struct dropped d = {{list, size, 0, false}, false};

    if (list == NULL || size == 0)
        return;
    list[0] = '\0';
    if (in == NULL || len < 33 || !mc__png_sniff(in, len))
        return;
    d.palette = in[25] == 3;
    walk(in, len, name_dropped, &d);
}

/* ------------------------------------------------------------------ */
/* Writing them back.                                                  */

/* Whether rec is a sequence of whole ancillary chunks, as
 * mc__png_meta_record writes it. The side data is authenticated, so only
 * a key holder could have written another; such a record is left out
 * rather than written into the PNG. */
static bool record_ok(const uint8_t *rec, size_t len)
{
    mc__png_chunk_view c;

    for (size_t off = 0; off < len; off += 12 + (size_t)c.len)
        if (!mc__png_chunk_at(rec, len, off, &c) || !c.whole || !ancillary(c.type) ||
            !mc__png_chunk_crc_ok(rec + off, c.len))
            return false;
    return true;
}

/* Passes the encoder's bytes on, with the records spliced in: `before`
 * after the signature and IHDR (33 bytes), `after` before IEND (the last
 * 12 bytes, held back until the end). */
struct splice {
    mc_write_fn write;
    void *user;
    const uint8_t *before, *after;
    size_t before_len, after_len, head;
    uint8_t held[12];
    size_t held_len;
    bool failed;
};

static int pass(struct splice *s, const uint8_t *data, size_t n)
{
    if (n > 0 && !s->failed && s->write(s->user, data, n) != 0)
        s->failed = true;
    return s->failed ? -1 : 0;
}

static int splice_write(void *user, const uint8_t *data, size_t n)
{
    struct splice *s = user;

    if (s->head > 0) {
        size_t k = n < s->head ? n : s->head;
        if (pass(s, data, k) != 0)
            return -1;
        data += k;
        n -= k;
        s->head -= k;
        if (s->head == 0 && pass(s, s->before, s->before_len) != 0)
            return -1;
    }
    if (n >= sizeof s->held) {
        if (pass(s, s->held, s->held_len) != 0 || pass(s, data, n - sizeof s->held) != 0)
            return -1;
        memcpy(s->held, data + n - sizeof s->held, sizeof s->held);
        s->held_len = sizeof s->held;
    } else if (n > 0) {
        size_t out = s->held_len + n > sizeof s->held ? s->held_len + n - sizeof s->held : 0;
        if (pass(s, s->held, out) != 0)
            return -1;
        memmove(s->held, s->held + out, s->held_len - out);
        s->held_len -= out;
        memcpy(s->held + s->held_len, data, n);
        s->held_len += n;
    }
    return 0;
}

mc_err mc__png_encode_meta_to(const mc_image *img, unsigned threads, mc_write_fn write,
                              void *user)
{
    struct splice s;
    size_t blen = 0, alen = 0;
    const uint8_t *b = NULL, *a = NULL;
    mc_err err;

    if (img->format == MC_FORMAT_PNG && img->side != NULL) {
        if (!mc__side_find(img->side, img->side_len, MC_SIDE_PNG_BEFORE, &b, &blen) ||
            !record_ok(b, blen))
            b = NULL, blen = 0;
        if (!mc__side_find(img->side, img->side_len, MC_SIDE_PNG_AFTER, &a, &alen) ||
            !record_ok(a, alen))
            a = NULL, alen = 0;
    }
    if (blen == 0 && alen == 0)
        return mc__png_encode_mt_to(img, NULL, false, threads, write, user);
    memset(&s, 0, sizeof s);
    s.write = write;
    s.user = user;
    s.before = b;
    s.before_len = blen;
    s.after = a;
    s.after_len = alen;
    s.head = 8 + 25; /* the signature, IHDR (PNG §5.2, §11.2.2) */
    err = mc__png_encode_mt_to(img, NULL, false, threads, splice_write, &s);
    if (err == MC_OK && (s.head != 0 || s.held_len != sizeof mc__png_iend ||
                         memcmp(s.held, mc__png_iend, sizeof mc__png_iend) != 0))
        err = MC_EINVAL; /* not the PNG the encoder writes: cannot happen */
    if (err == MC_OK && (pass(&s, s.after, s.after_len) != 0 ||
                         pass(&s, mc__png_iend, sizeof mc__png_iend) != 0))
        err = MC_EIO;
    return err;
}

mc_err mc__png_encode_meta(const mc_image *img, unsigned threads, uint8_t **out, size_t *out_len)
{
    mc__buf buf = {NULL, 0, 0, false};
    const uint8_t *d;
    size_t n;
    mc_err err;

    /* Most images have none: then straight into one buffer sized up
     * front (mc__png_encode_mt). */
    if (!(img->format == MC_FORMAT_PNG && img->side != NULL &&
          (mc__side_find(img->side, img->side_len, MC_SIDE_PNG_BEFORE, &d, &n) ||
           mc__side_find(img->side, img->side_len, MC_SIDE_PNG_AFTER, &d, &n))))
        return mc__png_encode_mt(img, NULL, false, threads, out, out_len);
    err = mc__png_encode_meta_to(img, threads, mc__buf_write, &buf);
    if (err == MC_EIO && buf.nomem)
        err = MC_ENOMEM;
    if (err != MC_OK) {
        mc__buf_wipe(&buf); /* part of a plain image */
        return err;
    }
    *out = buf.p;
    *out_len = buf.len;
    return MC_OK;
}
