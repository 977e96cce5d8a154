/*
 * The cipher image: a standard PNG with the plain image's W, H, channels
 * and depth, and one private chunk "mcRY" (ancillary, private, reserved
 * bit clear, unsafe to copy: PNG spec §5.4) right after IHDR.
 *
 * Chunk data (all integers big-endian, as in PNG):
 *    0  8  magic "medcrypt"
 *    8  1  format version (3; 1 and 2 are still read)
 *    9  1  original format (mc_format)
 *   10  1  channels      11  1  bits per sample
 *   12  4  width         16  4  height (all frames)      20  4  frames
 *   24  8  key id        32 16  nonce N
 *   48  4  side-data length S                             52  4  zero
 *   56 32  tag T
 *   88  S  side data, encrypted
 * Bytes 0..56 are the header covered by T.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[8] = {'m', 'e', 'd', 'c', 'r', 'y', 'p', 't'};

void mc__header_mac_bytes(uint8_t out[MC_MAC_HEADER_BYTES], const mc__header *hdr)
{
    memcpy(out, MAGIC, 8);
    out[8] = hdr->version;
    out[9] = (uint8_t)hdr->format;
    out[10] = hdr->channels;
    out[11] = hdr->bits;
    mc__put_be32(out + 12, hdr->width);
    mc__put_be32(out + 16, hdr->height);
    mc__put_be32(out + 20, hdr->frames);
    memcpy(out + 24, hdr->key_id, MC_KEY_ID_BYTES);
    memcpy(out + 32, hdr->nonce, MC_NONCE_BYTES);
    mc__put_be32(out + 48, hdr->side_len);
    memset(out + 52, 0, 4);
}

void mc__header_pack(uint8_t out[MC_CHUNK_FIXED_BYTES], const mc__header *hdr)
{
    mc__header_mac_bytes(out, hdr);
    memcpy(out + MC_MAC_HEADER_BYTES, hdr->tag, MC_TAG_BYTES);
}

mc_err mc__header_unpack(mc__header *hdr, const uint8_t *chunk, size_t chunk_len)
{
    mc__header h;

    if (chunk_len < 9 || memcmp(chunk, MAGIC, 8) != 0)
        return MC_ETAMPERED;
    if (chunk[8] < 1 || chunk[8] > MC_FORMAT_VERSION) /* v1 is still read */
        return MC_EVERSION;
    if (chunk_len < MC_CHUNK_FIXED_BYTES)
        return MC_ETAMPERED;
    memset(&h, 0, sizeof h);
    h.version = chunk[8];
    h.format = (mc_format)chunk[9];
    h.channels = chunk[10];
    h.bits = chunk[11];
    h.width = mc__be32(chunk + 12);
    h.height = mc__be32(chunk + 16);
    h.frames = mc__be32(chunk + 20);
    memcpy(h.key_id, chunk + 24, MC_KEY_ID_BYTES);
    memcpy(h.nonce, chunk + 32, MC_NONCE_BYTES);
    h.side_len = mc__be32(chunk + 48);
    memcpy(h.tag, chunk + MC_MAC_HEADER_BYTES, MC_TAG_BYTES);
    if (h.format <= MC_FORMAT_NONE || h.format >= MC_FORMAT_COUNT ||
        mc__be32(chunk + 52) != 0 || h.frames == 0 || h.height % h.frames != 0 ||
        (uint64_t)h.side_len != chunk_len - MC_CHUNK_FIXED_BYTES)
        return MC_ETAMPERED;
    *hdr = h;
    return MC_OK;
}

/* The chunk's data (header, tag, encrypted side data), malloc'd. */
static mc_err chunk_make(const mc_image *img, const mc__header *hdr, mc__png_chunk *chunk)
{
    memset(chunk, 0, sizeof *chunk);
    memcpy(chunk->type, MC_CHUNK_TYPE, 5);
    chunk->len = MC_CHUNK_FIXED_BYTES + img->side_len;
    if ((chunk->data = malloc(chunk->len)) == NULL)
        return MC_ENOMEM;
    mc__header_pack(chunk->data, hdr);
    if (img->side_len > 0)
        memcpy(chunk->data + MC_CHUNK_FIXED_BYTES, img->side, img->side_len);
    return MC_OK;
}

/* Noise does not compress: no filtering, stored deflate blocks (fast =
 * true); a large image in bands on the context's threads. */
mc_err mc__container_write(const mc_ctx *ctx, const mc_image *img, const mc__header *hdr,
                           uint8_t **out, size_t *out_len)
{
    mc__png_chunk chunk;
    mc_err err;

    if ((err = chunk_make(img, hdr, &chunk)) != MC_OK)
        return err;
    err = mc__png_encode_mt(img, &chunk, true, mc__ctx_threads(ctx), out, out_len);
    free(chunk.data);
    return err;
}

mc_err mc__container_write_to(const mc_ctx *ctx, const mc_image *img, const mc__header *hdr,
                              mc_write_fn write, void *user)
{
    mc__png_chunk chunk;
    mc_err err;

    if ((err = chunk_make(img, hdr, &chunk)) != MC_OK)
        return err;
    err = mc__png_encode_mt_to(img, &chunk, true, mc__ctx_threads(ctx), write, user);
    free(chunk.data);
    return err;
}

/* IHDR is 13 bytes in every PNG (PNG §11.2.2) and comes first: a file
 * whose IHDR says another length has one damaged field, not a chunk list
 * that ends there. Its length is read as 13, so that the chunks after it
 * are found where they lie; returns whether it said otherwise (damaged:
 * the CRC does not cover the length field). A bit flipped there made a
 * cipher image "not a medcrypt cipher image" for decryption and, for 24
 * of its 32 bits, "modified or damaged" for mc_cipher_inspect (a review
 * of the public API). */
static bool ihdr_length_fixed(size_t len, size_t off, mc__png_chunk_view *c)
{
    if (off != 8 || c->len == 13 || memcmp(c->type, "IHDR", 4) != 0)
        return false;
    c->len = 13;
    c->whole = len >= 33;
    return true;
}

/* Walks the chunk list as far as it is intact, up to the first IEND (or
 * on past it, to the end of the intact chunks, if past_iend): how many
 * mcRY chunks it holds, whether the first comes before any IDAT, whether
 * an IDAT was reached (*idat), and where the first IEND ends (*end; 0 if
 * there is none). A chunk cut short counts by its header. */
static unsigned scan_chunks(const uint8_t *in, size_t len, bool past_iend, bool *before_idat,
                            bool *idat, size_t *end)
{
    mc__png_chunk_view c;
    unsigned found = 0;
    bool idat_seen = false;

    *before_idat = false;
    *end = 0;
    for (size_t off = 8; mc__png_chunk_at(in, len, off, &c); off += 12 + (size_t)c.len) {
        (void)ihdr_length_fixed(len, off, &c);
        if (memcmp(c.type, MC_CHUNK_TYPE, 4) == 0) {
            if (found++ == 0)
                *before_idat = !idat_seen;
        } else if (memcmp(c.type, "IDAT", 4) == 0) {
            idat_seen = true;
        } else if (memcmp(c.type, "IEND", 4) == 0) {
            if (c.whole && *end == 0)
                *end = off + 12 + (size_t)c.len;
            if (!past_iend)
                break;
        }
        if (!c.whole)
            break;
    }
    *idat = idat_seen;
    return found;
}

/* Past an IEND too: a cipher image with an empty IEND inserted after its
 * IHDR (an editor's "image" of no data; a mutation of the forty-seventh
 * round) is a damaged cipher image, which decryption and inspection call
 * modified, not a plain PNG that encryption would try to read (libspng:
 * "invalid chunk position"). A plain PNG's first mcRY, if any, past its
 * IEND still comes after its IDAT. */
bool mc_is_cipher_image(const uint8_t *in, size_t len)
{
    bool before_idat, idat;
    size_t end;
    return mc__png_sniff(in, len) && scan_chunks(in, len, true, &before_idat, &idat, &end) > 0 &&
           before_idat;
}

/* A critical chunk (PNG §5.4: bit 5 of its first byte clear) that
 * decryption's reader refuses: any but the IHDR that opens the file, PLTE
 * (libspng 0.7.3 reads one, or more, in any image and ignores it in
 * these), IDAT and IEND: an unknown one (an editor's), or a second IHDR.
 * Inspection took such a cipher image as intact, and `medcrypt info`
 * named the chunk as one decryption leaves out, while decryption refused
 * it as modified (forty-seventh mutation round). */
static bool critical_unread(const uint8_t *type, size_t off)
{
    return (type[0] & 0x20) == 0 && off != 8 && memcmp(type, "PLTE", 4) != 0 &&
           memcmp(type, "IDAT", 4) != 0 && memcmp(type, "IEND", 4) != 0;
}

/* Which of the chunks another program added added_chunks names: all
 * (mc_cipher_foreign_chunks, a second mcRY included), those decryption
 * refuses (critical_unread), or the others but medcrypt's own type. */
enum added { ADDED_ALL, ADDED_REFUSED, ADDED_READ };

/* Names into list the chunks of cipher image in that medcrypt does not
 * write, each type once, as far as the chunk list is whole, up to the
 * first IEND (anything after it is damage, which decryption refuses);
 * returns how many types it named (0: none; more than one when the list
 * ran out of room, "..."). */
static unsigned added_chunks(const uint8_t *in, size_t in_len, enum added which, char *list,
                             size_t size)
{
    struct mc__names names = {list, size, 0, false};
    mc__png_chunk_view c;
    unsigned count = 0;
    bool ours = false;

    list[0] = '\0';
    for (size_t off = 8; mc__png_chunk_at(in, in_len, off, &c) && c.whole;
         off += 12 + (size_t)c.len) {
        bool mcry = memcmp(c.type, MC_CHUNK_TYPE, 4) == 0;
        size_t before;
        char t[5];

        if (memcmp(c.type, "IEND", 4) == 0)
            break;
        if ((off == 8 && memcmp(c.type, "IHDR", 4) == 0) || memcmp(c.type, "IDAT", 4) == 0)
            continue;
        if (!ours && mcry) {
            ours = true;
            continue;
        }
        /* A CRC that fails is damage, not a chunk added: a program
         * writes its chunks whole, and a bit flipped in IDAT's type made
         * "JDAT" an added chunk (the tamper sweep of tests/robust.sh). */
        if (!mc__png_chunk_crc_ok(in + off, c.len))
            continue;
        if ((which == ADDED_REFUSED && !critical_unread(c.type, off)) ||
            (which == ADDED_READ && (critical_unread(c.type, off) || mcry)))
            continue;
        /* PNG §5.4: a type is four letters; anything else is shown as
         * '?', not sent to a terminal. */
        for (int i = 0; i < 4; i++)
            t[i] = (c.type[i] | 0x20) >= 'a' && (c.type[i] | 0x20) <= 'z' ? (char)c.type[i] : '?';
        t[4] = '\0';
        before = names.used;
        mc__names_add(&names, t);
        count += names.used != before; /* each type once */
    }
    return count;
}

void mc_cipher_foreign_chunks(const uint8_t *in, size_t in_len, char *list, size_t size)
{
    if (list == NULL || size == 0)
        return;
    list[0] = '\0';
    if (in != NULL && mc_is_cipher_image(in, in_len))
        (void)added_chunks(in, in_len, ADDED_ALL, list, size);
}

/* "Modified or damaged" alone said nothing of a chunk another program
 * added that PNG readers must refuse (an unknown critical chunk, a second
 * IHDR), which is the modification itself. Chunks it may add (a tEXt)
 * are no cause; they only tell that another program saved the file
 * again, so they are said as that. medcrypt's own chunk twice is
 * "modified" alone. A file cut short has its own hint, which a detail
 * would hide on the web pages. */
void mc__tampered_detail(const mc_ctx *ctx, const uint8_t *in, size_t in_len)
{
    char list[128];
    unsigned n;

    if (in == NULL || mc__png_cut_short(in, in_len, MC_ETAMPERED) ||
        !mc_is_cipher_image(in, in_len))
        mc__ctx_detail(ctx, "%s", "");
    else if ((n = added_chunks(in, in_len, ADDED_REFUSED, list, sizeof list)) > 0)
        mc__ctx_detail(ctx, "another program added %s PNG readers must refuse (%s)",
                       n == 1 ? "a chunk" : "chunks", list);
    else if (added_chunks(in, in_len, ADDED_READ, list, sizeof list) > 0)
        mc__ctx_detail(ctx, "another program has saved it since it was encrypted (it added %s)",
                       list);
    else
        mc__ctx_detail(ctx, "%s", "");
}

/* PNG color types medcrypt writes (PNG spec §11.2.2): channels, or 0. */
static uint8_t channels_of_color_type(uint8_t color_type)
{
    switch (color_type) {
    case 0: return 1; /* grey */
    case 4: return 2; /* grey + alpha */
    case 2: return 3; /* RGB */
    case 6: return 4; /* RGBA */
    default: return 0;
    }
}

/* IHDR's own colour type and bit depth are the header's C and D
 * (FORMAT.md §2), as mc__container_inspect requires: a palette or a grey
 * of 1, 2 or 4 bits decodes to C and D samples too, which left decryption
 * accepting what inspection called modified. IHDR is the first chunk of a
 * PNG libspng decoded. */
static bool ihdr_type_is(const uint8_t *in, const mc__header *hdr)
{
    return in[24] == hdr->bits && channels_of_color_type(in[25]) == hdr->channels;
}

/* MC_EVERSION's detail: which version, and what to do. Version 0 is
 * damage or another program's; above ours, most likely a newer medcrypt
 * (two sites on different releases), though a changed byte reads alike
 * until the tag is checked, which needs the version's own rules. */
static void version_detail(const mc_ctx *ctx, const uint8_t *chunk)
{
    if (chunk[8] > MC_FORMAT_VERSION)
        mc__ctx_detail(ctx, "format version %u, newer than this medcrypt reads (1 to %u): "
                            "update medcrypt", (unsigned)chunk[8], MC_FORMAT_VERSION);
    else
        mc__ctx_detail(ctx, "format version %u, which no medcrypt writes (1 to %u are read)",
                       (unsigned)chunk[8], MC_FORMAT_VERSION);
}

static mc_err inspect(const mc_ctx *ctx, const uint8_t *in, size_t in_len, mc__header *hdr_out)
{
    const uint8_t *chunk = NULL, *ihdr = NULL;
    size_t chunk_len = 0;
    mc__png_chunk_view c;
    unsigned found = 0;
    bool idat_seen = false, idat_named = false, idat_done = false, ended = false;
    bool damaged = false;
    mc__header hdr;
    mc_err err;

    if (!mc__png_sniff(in, in_len))
        return MC_ENOTCIPHER;
    /* As decryption tells them apart (mc__container_read): a PNG that
     * names a medcrypt chunk and is cut or broken is a damaged cipher
     * image; one that names none is not a cipher image if it is whole,
     * broken, or cut past its first IDAT (where the chunk would have had
     * to come); cut before, it cannot be told, and counts as damaged. */
    for (size_t off = 8; mc__png_chunk_at(in, in_len, off, &c); off += 12 + (size_t)c.len) {
        bool ihdr_len_bad = ihdr_length_fixed(in_len, off, &c);
        uint32_t n = c.len;
        const uint8_t *type = c.type;
        bool ours = memcmp(type, MC_CHUNK_TYPE, 4) == 0, is_idat = memcmp(type, "IDAT", 4) == 0;

        idat_named = idat_named || is_idat;
        if (!c.whole) { /* cut inside a chunk */
            found += ours;
            break;
        }
        if (ihdr_len_bad || !mc__png_chunk_crc_ok(in + off, n) ||
            (off == 8 && (memcmp(type, "IHDR", 4) != 0 || n != 13)) ||
            (n != 0 && memcmp(type, "IEND", 4) == 0) || /* IEND is empty (PNG §11.2.5) */
            critical_unread(type, off) ||
            (is_idat && idat_done)) { /* IDATs are consecutive (PNG §5.6) */
            damaged = true; /* a bit changed: go on counting medcrypt chunks */
        } else if (off == 8) {
            ihdr = type + 4;
        } else if (ours && found == 0 && !idat_seen) {
            chunk = type + 4;
            chunk_len = n;
        } else if (is_idat) {
            idat_seen = true;
        } else if (memcmp(type, "IEND", 4) == 0) {
            ended = off + 12 + n == in_len; /* nothing after it */
            break;
        }
        found += ours;
        idat_done = idat_done || (idat_seen && !is_idat);
    }
    if (found == 0 && (damaged || ended || idat_named))
        return MC_ENOTCIPHER;
    if (damaged || !ended || found != 1 || chunk == NULL || ihdr == NULL)
        return MC_ETAMPERED; /* cut, changed, or a second medcrypt chunk */
    if ((err = mc__header_unpack(&hdr, chunk, chunk_len)) != MC_OK) {
        if (err == MC_EVERSION)
            version_detail(ctx, chunk);
        return err;
    }
    /* The PNG geometry must be the header's, as decryption requires. */
    if (mc__be32(ihdr) != hdr.width || mc__be32(ihdr + 4) != hdr.height || ihdr[8] != hdr.bits ||
        channels_of_color_type(ihdr[9]) != hdr.channels)
        return MC_ETAMPERED;
    *hdr_out = hdr;
    return MC_OK;
}

/* What a file that is no cipher image is, when medcrypt reads it: the
 * plain image picked by mistake ("not a medcrypt cipher image" alone sent
 * a user who chose the original DICOM file to look for a damaged cipher
 * image: a review), or a cipher image another program saved again
 * without its chunk (a PNG; a chat app's JPEG). "" for anything else. */
static void not_cipher_detail(const mc_ctx *ctx, const uint8_t *in, size_t in_len)
{
    static const char *const what[MC_FORMAT_COUNT] = {
        [MC_FORMAT_PNG] = "a PNG image without medcrypt's data",
        [MC_FORMAT_PNM] = "a PGM/PPM image",
        [MC_FORMAT_BMP] = "a BMP image",
        [MC_FORMAT_JPEG] = "a JPEG image",
        [MC_FORMAT_DICOM] = "a DICOM file",
    };
    mc_format f = mc__image_sniff(in, in_len);

    mc__ctx_detail(ctx, "%s", f != MC_FORMAT_NONE && what[f] != NULL ? what[f] : "");
}

mc_err mc__container_inspect(const mc_ctx *ctx, const uint8_t *in, size_t in_len,
                             mc__header *hdr_out)
{
    mc_err err = inspect(ctx, in, in_len, hdr_out);

    /* A failure's detail is its own (MC_EVERSION's: which version;
     * MC_ENOTCIPHER's: what the file is; MC_ETAMPERED's: what another
     * program added); a success leaves the detail as it was, for a caller
     * who asks for the key id after a decryption's MC_EWRONGKEY. */
    if (err == MC_ENOTCIPHER)
        not_cipher_detail(ctx, in, in_len);
    else if (err == MC_ETAMPERED)
        mc__tampered_detail(ctx, in, in_len);
    else if (err != MC_OK && err != MC_EVERSION)
        mc__ctx_detail(ctx, "%s", "");
    return err;
}

mc_err mc__container_read(const mc_ctx *ctx, const uint8_t *in, size_t in_len, mc_image **out,
                          mc__header *hdr_out)
{
    mc__png_chunk want;
    mc__header hdr;
    mc_image *img = NULL;
    bool before_idat, idat;
    size_t end;
    mc_err err;

    memset(&want, 0, sizeof want);
    if (!mc__png_sniff(in, in_len)) {
        err = MC_ENOTCIPHER;
        goto out;
    }
    memcpy(want.type, MC_CHUNK_TYPE, 5);
    err = mc__png_decode(ctx, in, in_len, &img, &want);
    if (err == MC_ETOOBIG || err == MC_EBUSY) {
        /* Refused for its size before its samples were read. Said so
         * only of a cipher image inspection finds whole, its IHDR the
         * mcRY header's geometry; else its damage, as mc_cipher_inspect
         * says it: a bit flipped in the width (IHDR's CRC then fails), or
         * a width changed and the CRC made again (an API review: "image
         * too large", and mc_ctx_last_cap() offering a larger cap, where
         * inspection said modified). The size's detail stands only then:
         * inspection leaves it when it succeeds, and says its own when it
         * fails. */
        mc__header h;
        mc_err why = mc__container_inspect(ctx, in, in_len, &h);
        if (why != MC_OK)
            err = why;
        goto out;
    }
    if (err == MC_ENOMEM)
        goto out;
    if (err != MC_OK) {
        /* A PNG signature, then something broken or cut short: what
         * inspection of its chunk list says (FORMAT.md §5), not a cipher
         * image (no medcrypt chunk, and broken, whole, or cut past its
         * first IDAT: a plain PNG cut short is not "a modified cipher
         * image"), else a damaged one, its image data broken included.
         * It went by libspng's error and the chunks before the first
         * IEND, and so called "not a cipher image" a cipher image cut
         * inside a damaged-length IHDR (libspng's error for the length
         * is no truncation) and one with an IEND inserted before its
         * chunk, where inspection said modified (forty-seventh mutation
         * round). No detail of inspection's (ctx NULL): not_cipher_detail
         * below says what the file is. */
        mc__header h;
        err = inspect(NULL, in, in_len, &h) == MC_ENOTCIPHER ? MC_ENOTCIPHER : MC_ETAMPERED;
        goto out;
    }
    if (want.data == NULL) {
        err = MC_ENOTCIPHER;
        goto out;
    }
    if ((err = mc__header_unpack(&hdr, want.data, want.len)) != MC_OK) {
        if (err == MC_EVERSION)
            version_detail(ctx, want.data);
        goto out;
    }
    /* Exactly one mcRY, before the image data. Every medcrypt PNG ends
     * with its first IEND: anything cut or appended is a modification
     * (chunks after it too, even ending in a second IEND: found by
     * fuzz_container, regression second-iend). The PNG geometry must be
     * the header's. */
    if (scan_chunks(in, in_len, false, &before_idat, &idat, &end) != 1 || !before_idat ||
        end != in_len ||
        memcmp(in + in_len - sizeof mc__png_iend, mc__png_iend, sizeof mc__png_iend) != 0 ||
        hdr.width != img->width || hdr.height != img->height ||
        hdr.channels != img->channels || hdr.bits != img->bits ||
        !ihdr_type_is(in, &hdr)) {
        err = MC_ETAMPERED;
        goto out;
    }
    if (hdr.side_len > 0) {
        if ((img->side = malloc(hdr.side_len)) == NULL) {
            err = MC_ENOMEM;
            goto out;
        }
        memcpy(img->side, want.data + MC_CHUNK_FIXED_BYTES, hdr.side_len);
        img->side_len = hdr.side_len;
    }
    img->format = hdr.format;
    img->frames = hdr.frames;
    *hdr_out = hdr;
    *out = img;
    img = NULL;
out:
    if (err == MC_ENOTCIPHER)
        not_cipher_detail(ctx, in, in_len);
    else if (err == MC_ETAMPERED)
        mc__tampered_detail(ctx, in, in_len);
    free(want.data);
    mc_image_free(img);
    return err;
}
