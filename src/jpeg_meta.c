/* A JPEG's metadata, which its cipher image does not carry (the decoded
 * samples are what is encrypted, and decryption writes a PNG: FORMAT.md
 * §3): named, so that the user is told at encryption, not surprised at
 * decryption. An EXIF orientation other than 1 matters most: viewers turn
 * the JPEG for display, and the decrypted PNG, which has no such tag,
 * shows the pixels as stored.
 *
 * References: ITU-T T.81 Annex B (markers and segment lengths); JFIF 1.02
 * (APP0); CIPA DC-008 (Exif 2.3) §4.5.4, §4.6.2 (APP1, the TIFF header,
 * IFD0 and its Orientation tag 0x0112); ICC.1 Annex B.4 (APP2
 * "ICC_PROFILE"); XMP part 3 §1.1.3 (APP1 "http://ns.adobe.com/xap/1.0/"). */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static unsigned get16(const uint8_t *p, bool le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The Orientation (1..8) in IFD0 of an Exif segment's TIFF data, else 0. */
static unsigned exif_orientation(const uint8_t *tiff, size_t len)
{
    bool le;
    uint32_t ifd;
    unsigned count;

    if (len < 8 || (memcmp(tiff, "II*\0", 4) != 0 && memcmp(tiff, "MM\0*", 4) != 0))
        return 0;
    le = tiff[0] == 'I';
    ifd = get32(tiff + 4, le);
    if (ifd > len || len - ifd < 2)
        return 0;
    count = get16(tiff + ifd, le);
    for (size_t i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + 12 * i;
        unsigned value;

        if (at > len || len - at < 12)
            return 0;
        /* tag 0x0112, type SHORT (3), count 1: the value in the entry */
        if (get16(tiff + at, le) != 0x0112)
            continue;
        if (get16(tiff + at + 2, le) != 3 || get32(tiff + at + 4, le) != 1)
            return 0;
        value = get16(tiff + at + 8, le);
        return value >= 1 && value <= 8 ? value : 0;
    }
    return 0;
}

unsigned mc_jpeg_dropped_markers(const uint8_t *in, size_t len, char *list, size_t size)
{
    char none[1];
    struct mc__names n = {list, size, 0, false};
    unsigned orientation = 0;
    size_t at = 2;

    if (list == NULL || size == 0) { /* the orientation alone */
        n.list = none;
        n.size = sizeof none;
    }
    n.list[0] = '\0';
    if (in == NULL || len < 4 || in[0] != 0xff || in[1] != 0xd8)
        return 0;
    /* The segments before the scan (T.81 B.2.4); a marker may be preceded
     * by fill bytes 0xFF (B.1.1.2). What follows the first SOS is entropy
     * coded data and the later scans' tables: metadata comes first. */
    while (at + 4 <= len) {
        unsigned marker, seglen;
        const uint8_t *body;
        size_t blen;

        if (in[at] != 0xff)
            break;
        while (at < len && in[at] == 0xff)
            at++;
        if (at + 3 > len)
            break;
        marker = in[at++];
        if (marker == 0xd9 || marker == 0xda) /* EOI, SOS */
            break;
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
            continue; /* TEM, RSTn: no length */
        seglen = get16(in + at, false);
        if (seglen < 2 || seglen > len - at)
            break;
        body = in + at + 2;
        blen = seglen - 2;
        at += seglen;

        if (marker == 0xfe) {
            mc__names_add(&n, "comment");
        } else if (marker == 0xe0) {
            /* JFIF: version and density. Density units 0 give only an
             * aspect ratio, 1:1 nothing at all; dots per inch or per cm
             * are a physical size, which the PNG does not carry. */
            if (blen >= 12 && memcmp(body, "JFIF", 5) == 0 && body[7] != 0)
                mc__names_add(&n, "JFIF resolution");
        } else if (marker == 0xe1 && blen >= 6 && memcmp(body, "Exif\0", 5) == 0) {
            unsigned o = exif_orientation(body + 6, blen - 6);
            char what[32];

            if (o > 1 && orientation == 0)
                orientation = o;
            if (o > 1)
                snprintf(what, sizeof what, "EXIF (orientation %u)", o);
            mc__names_add(&n, o > 1 ? what : "EXIF");
        } else if (marker == 0xe1 && blen >= 29 &&
                   memcmp(body, "http://ns.adobe.com/xap/1.0/", 29) == 0) {
            mc__names_add(&n, "XMP");
        } else if (marker == 0xe2 && blen >= 12 && memcmp(body, "ICC_PROFILE", 12) == 0) {
            mc__names_add(&n, "ICC profile");
        } else if (marker == 0xed && blen >= 14 && memcmp(body, "Photoshop 3.0", 14) == 0) {
            mc__names_add(&n, "IPTC");
        } else if (marker >= 0xe0 && marker <= 0xef && marker != 0xee) {
            /* APP14 "Adobe" says how the colours were coded: read by
             * libjpeg, and true of the samples it gives; not metadata */
            char what[8];

            snprintf(what, sizeof what, "APP%u", marker - 0xe0);
            mc__names_add(&n, what);
        }
    }
    return orientation;
}
