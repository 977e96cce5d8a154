#!/usr/bin/env python3
"""medcrypt_ref: an independent reference decryptor for medcrypt format v1.

Written from docs/FORMAT.md alone (not from the C sources), with the Python
standard library only, so that the test suite can check that the document is
enough to decrypt the C library's cipher images.

Usage:
    medcrypt_ref.py decrypt KEY CIPHER.png OUT    KEY: key text, or a key file
    medcrypt_ref.py selftest                      known-answer tests
    medcrypt_ref.py golden                        FORMAT.md section 6 vectors
    medcrypt_ref.py samples IMAGE.png             print W H C D and a SHA-256
                                                  of the samples (for tests)

Exit status 0 on success, 1 with one line on stderr on failure ("wrong key",
"the cipher image was modified or damaged", ...).

Clarity over speed: ChaCha20 in pure Python is slow, which is fine for the
small images of the tests.

Where docs/FORMAT.md is silent, the reference assumes (and marks in the
code): the key prefix is "MCK1" without look-alikes; key files skip blank
and indented '#' lines; other ancillary PNG chunks are ignored; a failed
container check is "modified or damaged"; a plain PGM/PPM raster is one row
per line, values separated by single spaces, unless a side-data record of
type 4 (not in FORMAT.md) holds the raster text verbatim.
"""

import hashlib
import hmac
import os
import struct
import sys
import zlib

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


class RefError(Exception):
    """A failure with a one-line message for the user."""


class WrongKey(RefError):
    def __init__(self):
        super().__init__("wrong key")


class Tampered(RefError):
    def __init__(self):
        super().__init__("the cipher image was modified or damaged")


# ---------------------------------------------------------------------------
# Philox4x32-10 (Random123)

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85


def philox4x32_10(ctr, key):
    """ctr: 4 words, key: 2 words -> 4 output words."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + PHILOX_W0) & M32
            k1 = (k1 + PHILOX_W1) & M32
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & M32,
                          (p0 >> 32) ^ c3 ^ k1, p0 & M32)
    return c0, c1, c2, c3


def le32(b, off=0):
    return struct.unpack_from("<I", b, off)[0]


def philox_stream(key, c1, c2, c3, blocks):
    """Philox blocks i = 0..blocks-1 with ctr (i, c1, c2, c3), LE words."""
    out = bytearray()
    for i in range(blocks):
        out += struct.pack("<4I", *philox4x32_10((i, c1, c2, c3), key))
    return bytes(out)


# ---------------------------------------------------------------------------
# ChaCha20 (original, 64-bit counter, 64-bit nonce), HChaCha20, XChaCha20

def _rotl32(v, n):
    return ((v << n) & M32) | (v >> (32 - n))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32; s[d] = _rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M32; s[b] = _rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M32; s[d] = _rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M32; s[b] = _rotl32(s[b] ^ s[c], 7)


def _chacha_rounds(s):
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)


SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def chacha20_block(key, counter, nonce8):
    """Bernstein's ChaCha20: state words 12-13 = 64-bit block counter,
    14-15 = 8-byte nonce (libsodium crypto_stream_chacha20)."""
    init = (list(SIGMA) + list(struct.unpack("<8I", key)) +
            [counter & M32, (counter >> 32) & M32] +
            list(struct.unpack("<2I", nonce8)))
    s = list(init)
    _chacha_rounds(s)
    return struct.pack("<16I", *[(s[i] + init[i]) & M32 for i in range(16)])


def hchacha20(key, nonce16):
    s = list(SIGMA) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    _chacha_rounds(s)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20_keystream(key, nonce24, counter, length):
    """libsodium crypto_stream_xchacha20 keystream from block `counter`."""
    sub = hchacha20(key, nonce24[0:16])
    out = bytearray()
    while len(out) < length:
        out += chacha20_block(sub, counter, nonce24[16:24])
        counter += 1
    return bytes(out[:length])


def xor_bytes(a, b):
    """a XOR b over len(a) bytes (b at least as long)."""
    n = len(a)
    if n == 0:
        return b""
    return (int.from_bytes(a, "little") ^ int.from_bytes(b[:n], "little")).to_bytes(n, "little")


# ---------------------------------------------------------------------------
# HKDF-SHA-512 (RFC 5869)

def hkdf(ikm, salt, info, length, hashname="sha512"):
    prk = hmac.new(salt, ikm, hashname).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashname).digest()
        okm += t
        i += 1
    return okm[:length]


class Subkeys:
    """FORMAT 1.3."""

    def __init__(self, k):
        salt = b"medcrypt-v1"
        self.mac = hkdf(k, salt, b"medcrypt-v1 mac", 64)
        self.chaos = hkdf(k, salt, b"medcrypt-v1 chaos", 32)
        self.stream = hkdf(k, salt, b"medcrypt-v1 stream", 32)
        self.key_id = hkdf(k, salt, b"medcrypt-v1 key-id", 8)


# ---------------------------------------------------------------------------
# Key text (FORMAT 1.2)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def key_to_text(k):
    data = k + hashlib.sha512(b"MCK1" + k).digest()[0:3]
    v = int.from_bytes(data, "big")
    chars = "".join(CROCKFORD[(v >> (5 * (55 - i))) & 31] for i in range(56))
    return "MCK1-" + "-".join(chars[i:i + 8] for i in range(0, 56, 8))


def parse_key_text(text):
    s = "".join(ch for ch in text if ch not in " \t\r\n-").upper()
    if not s.startswith("MCK"):
        raise RefError("not a medcrypt key")
    # Assumption (as the C library): the look-alikes apply to the 56 base32
    # characters, not to the prefix: "MCKL-..." is not a key.
    if s[3:4] != "1":
        raise RefError("key text of an unknown version")
    body = s[4:].replace("O", "0").replace("I", "1").replace("L", "1")
    if len(body) != 56 or any(ch not in CROCKFORD for ch in body):
        raise RefError("not a medcrypt key")
    v = 0
    for ch in body:
        v = (v << 5) | CROCKFORD.index(ch)
    data = v.to_bytes(35, "big")
    k, check = data[0:32], data[32:35]
    if hashlib.sha512(b"MCK1" + k).digest()[0:3] != check:
        raise RefError("key text has a typo (checksum mismatch)")
    return k


def parse_key_file_text(text):
    """The key is on the first line that does not start with '#'.
    (Assumption, as the C library: leading blanks are ignored, so blank
    lines and indented '#' lines are skipped too.)"""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#") or line == "":
            continue
        return parse_key_text(line)
    raise RefError("not a medcrypt key")


# ---------------------------------------------------------------------------
# PNG (ISO/IEC 15948): reader for non-interlaced 8/16-bit images, writer

PNG_SIG = b"\x89PNG\r\n\x1a\n"
CHANNELS_TO_COLOR = {1: 0, 2: 4, 3: 2, 4: 6}
COLOR_TO_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


class PngError(RefError):
    pass


def png_chunks(data):
    """List of (type, data) and the number of bytes after IEND.
    Raises PngError on a bad signature, truncation or a CRC mismatch."""
    if data[0:8] != PNG_SIG:
        raise PngError("not a PNG file")
    pos, chunks = 8, []
    while True:
        if pos + 12 > len(data):
            raise PngError("truncated PNG")
        length, = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4:pos + 8]
        if length > 0x7FFFFFFF or pos + 12 + length > len(data):
            raise PngError("truncated PNG")
        cdata = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(ctype + cdata) & M32 != crc:
            raise PngError("PNG chunk CRC mismatch")
        chunks.append((ctype, cdata))
        pos += 12 + length
        if ctype == b"IEND":
            return chunks, len(data) - pos


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def png_unfilter(raw, height, rowbytes, bpp):
    """Undo the five PNG filter types; returns the unfiltered scanlines."""
    if len(raw) != height * (rowbytes + 1):
        raise PngError("PNG image data has the wrong size")
    out = bytearray(height * rowbytes)
    prev = bytearray(rowbytes)
    for y in range(height):
        ftype = raw[y * (rowbytes + 1)]
        line = bytearray(raw[y * (rowbytes + 1) + 1:(y + 1) * (rowbytes + 1)])
        if ftype == 0:
            pass
        elif ftype == 1:
            for i in range(bpp, rowbytes):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(rowbytes):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(rowbytes):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(rowbytes):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], upleft)) & 0xFF
        else:
            raise PngError("bad PNG filter type %d" % ftype)
        out[y * rowbytes:(y + 1) * rowbytes] = line
        prev = line
    return bytes(out)


class PngImage:
    """Decoded PNG: width, height, channels, bits, and `data`: the samples
    as big-endian bytes, row-major, channels interleaved (as in the stream)."""

    def __init__(self, width, height, channels, bits, data, chunks):
        self.width, self.height, self.channels, self.bits = width, height, channels, bits
        self.data = data
        self.chunks = chunks

    def samples(self):
        if self.bits == 8:
            return list(self.data)
        return list(struct.unpack(">%dH" % (len(self.data) // 2), self.data))


def png_parse_ihdr(cdata):
    if len(cdata) != 13:
        raise PngError("bad IHDR")
    w, h, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", cdata)
    if w == 0 or h == 0 or comp != 0 or filt != 0:
        raise PngError("bad IHDR")
    if interlace != 0:
        raise PngError("interlaced PNG not supported by the reference")
    if color not in COLOR_TO_CHANNELS or depth not in (8, 16):
        raise PngError("PNG colour type %d / depth %d not supported by the reference"
                       % (color, depth))
    return w, h, COLOR_TO_CHANNELS[color], depth


def png_decode_pixels(chunks, w, h, c, d):
    idat = b"".join(cd for ct, cd in chunks if ct == b"IDAT")
    try:
        dec = zlib.decompressobj()
        raw = dec.decompress(idat)
        if not dec.eof or dec.unused_data:
            raise PngError("bad PNG image data")
    except zlib.error:
        raise PngError("bad PNG image data")
    bpp = c * d // 8
    return png_unfilter(raw, h, w * bpp, bpp)


def png_read(data):
    """A general reader (any chunk order PNG allows) for 8/16-bit images."""
    chunks, _ = png_chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        raise PngError("PNG without IHDR")
    w, h, c, d = png_parse_ihdr(chunks[0][1])
    return PngImage(w, h, c, d, png_decode_pixels(chunks, w, h, c, d), chunks)


def _png_chunk(ctype, cdata):
    return (struct.pack(">I", len(cdata)) + ctype + cdata +
            struct.pack(">I", zlib.crc32(ctype + cdata) & M32))


def png_write(w, h, c, d, be_data, extra_chunks=()):
    """A minimal PNG: IHDR, extra chunks, one IDAT (filter 0), IEND."""
    rowbytes = w * c * d // 8
    raw = b"".join(b"\x00" + be_data[y * rowbytes:(y + 1) * rowbytes] for y in range(h))
    out = PNG_SIG + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, d, CHANNELS_TO_COLOR[c],
                                                    0, 0, 0))
    for ctype, cdata in extra_chunks:
        out += _png_chunk(ctype, cdata)
    return out + _png_chunk(b"IDAT", zlib.compress(raw, 6)) + _png_chunk(b"IEND", b"")


def swap16(data):
    """Swap the bytes of each 16-bit unit (big-endian <-> little-endian)."""
    b = bytearray(len(data))
    b[0::2] = data[1::2]
    b[1::2] = data[0::2]
    return bytes(b)


# ---------------------------------------------------------------------------
# Chaotic orbits (FORMAT 4.2, 4.3)

def seed_material(k_chaos, tag):
    ppg = philox_stream((le32(k_chaos, 0), le32(k_chaos, 4)),
                        le32(tag, 0), le32(tag, 4), le32(tag, 8), 16)
    a = hashlib.sha512(ppg).digest()
    b = hashlib.sha512(k_chaos + tag).digest()
    return bytes(x ^ y for x, y in zip(a, b))


def sm_words(sm):
    return struct.unpack("<16I", sm)


def philox_sb(w, s, b):
    return philox4x32_10((b & M32, b >> 32, w[8 + 2 * s], w[9 + 2 * s]),
                         (w[2 * s], w[2 * s + 1]))


TWO_M53 = 2.0 ** -53
TWO_M32 = 2.0 ** -32


def unit(hi, lo):
    return float(((hi << 21) | (lo >> 11)) & ((1 << 53) - 1)) * TWO_M53


def double_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


class LogisticOrbit:
    def __init__(self, w, s, b):
        o0, o1, o2, _ = philox_sb(w, s, b)
        self.x = 0.001 + 0.998 * unit(o0, o1)
        self.r = 3.99 + 0.01 * (o2 * TWO_M32)
        for _ in range(16):
            self._step()

    def _step(self):
        t = self.r * self.x
        self.x = t * (1.0 - self.x)

    def out32(self):
        self._step()
        return double_bits(self.x) & M32


class HenonOrbit:
    A = 1.4
    B = 0.3

    def __init__(self, w, s, b):
        o0, o1, o2, o3 = philox_sb(w, s, b)
        self.x = (unit(o0, o1) - 0.5) * 0.2
        self.y = (unit(o2, o3) - 0.5) * 0.06
        for _ in range(16):
            self._step()

    def _step(self):
        x = (1.0 - (self.A * self.x) * self.x) + self.y
        y = self.B * self.x
        if not (-2.0 < x < 2.0):
            x, y = 0.1, 0.0
        self.x, self.y = x, y

    def out(self):
        self._step()
        return ((double_bits(self.x) & ((1 << 52) - 1)) * 0x9E3779B97F4A7C15) & M64


# ---------------------------------------------------------------------------
# The stages: forward (for golden vectors) and inverse (for decryption)

PERM_BLOCK = 4096      # P, samples
HENON_BLOCK = 512      # Q, 64-bit words
DIFF_BLOCK = 4096      # bytes


def _shuffle_swaps(w, orbit_b, m):
    """The (i, j) swaps of a block of m samples, in order, with the logistic
    orbit (0, orbit_b)."""
    orbit = LogisticOrbit(w, 0, orbit_b)
    swaps = []
    for i in range(m - 1, 0, -1):
        u = orbit.out32()
        swaps.append((i, (u * (i + 1)) >> 32))
    return swaps


def _shuffle_pass(w, s, base, inverse):
    """Shuffle pass with base `base` (FORMAT 4.4), in place on list s."""
    n, P = len(s), PERM_BLOCK
    for b in range((n + P - 1) // P):
        first, m = b * P, min(P, n - b * P)
        if m < 2:
            continue
        swaps = _shuffle_swaps(w, base + b, m)
        if inverse:
            swaps.reverse()
        for i, j in swaps:
            s[first + i], s[first + j] = s[first + j], s[first + i]


def _block_order(w, nf):
    orbit = LogisticOrbit(w, 1, 0)
    pi = list(range(nf))
    for k in range(nf - 1, 0, -1):
        u = orbit.out32()
        j = (u * (k + 1)) >> 32
        pi[k], pi[j] = pi[j], pi[k]
    return pi


def _transpose(w, s, nf, inverse):
    """Step 2: new[o*nf + k] = old[pi[k]*P + o]; returns a new list."""
    P = PERM_BLOCK
    pi = _block_order(w, nf)
    out = s[:]
    for k in range(nf):
        for o in range(P):
            if inverse:
                out[pi[k] * P + o] = s[o * nf + k]
            else:
                out[o * nf + k] = s[pi[k] * P + o]
    return out


def permute(w, samples, inverse=False):
    """Stage 1 (stage ids 0 and 1) on a list of samples; returns a new list."""
    s = list(samples)
    nf = len(s) // PERM_BLOCK
    if not inverse:
        _shuffle_pass(w, s, 0, False)
        if nf >= 2:
            s = _transpose(w, s, nf, False)
            _shuffle_pass(w, s, 1 << 32, False)
    else:
        if nf >= 2:
            _shuffle_pass(w, s, 1 << 32, True)
            s = _transpose(w, s, nf, True)
        _shuffle_pass(w, s, 0, True)
    return s


def spread(h):
    return ((h ^ (h >> 31)) * 0xBF58476D1CE4E5B9) & M64


def lane_rot(v, g, z, d, inverse=False):
    """rot(v, g, z) of FORMAT 4.5: each d-bit lane of the 64-bit v rotated
    left (right if inverse) by bits z .. z+log2(d)-1 of the same lane of g."""
    mask = (1 << d) - 1
    out = 0
    for lane in range(64 // d):
        sh = lane * d
        x = (v >> sh) & mask
        r = (g >> (sh + z)) & (d - 1)
        if inverse:
            r = (d - r) % d
        if r:
            x = ((x << r) | (x >> (d - r))) & mask
        out |= x << sh
    return out


def henon(w, data, bits, inverse=False):
    """Stage 2 (stage id 2) on the L sample bytes, D-bit lanes; new bytes."""
    L, d = len(data), bits
    nw = L // 8
    words = list(struct.unpack("<%dQ" % nw, data[:nw * 8]))
    nblocks = (nw + HENON_BLOCK - 1) // HENON_BLOCK
    for b in range(nblocks):
        base = b * HENON_BLOCK
        q = min(HENON_BLOCK, nw - base)
        half = q // 2
        orbit = HenonOrbit(w, 2, b)
        for i in range(half):
            h = orbit.out()
            g = spread(h)
            i1, i2 = base + i, base + i + half
            if not inverse:
                a = lane_rot(words[i1], g, 0, d)
                c = lane_rot(words[i2], g, d // 2, d)
                t = (a ^ c) & h
                words[i1], words[i2] = a ^ t, c ^ t
            else:
                t = (words[i1] ^ words[i2]) & h
                words[i1] = lane_rot(words[i1] ^ t, g, 0, d, inverse=True)
                words[i2] = lane_rot(words[i2] ^ t, g, d // 2, d, inverse=True)
        if q % 2 == 1:
            g = spread(orbit.out())
            last = base + q - 1
            words[last] = lane_rot(words[last], g, 0, d, inverse)
    out = struct.pack("<%dQ" % nw, *words)
    t = L % 8
    if t > 0:
        v = int.from_bytes(data[nw * 8:], "little")
        g = spread(HenonOrbit(w, 2, nblocks).out())
        v = lane_rot(v, g, 0, d, inverse)
        out += (v & ((1 << (8 * t)) - 1)).to_bytes(t, "little")
    return out


def diffuse(w, data):
    """Stage 3 (stage id 3): XOR with the logistic keystream (self-inverse)."""
    ks = bytearray()
    for b in range((len(data) + DIFF_BLOCK - 1) // DIFF_BLOCK):
        m = min(DIFF_BLOCK, len(data) - b * DIFF_BLOCK)
        orbit = LogisticOrbit(w, 3, b)
        block = bytearray()
        while len(block) < m:
            block += struct.pack("<I", orbit.out32())
        ks += block[:m]
    return xor_bytes(data, ks)


def samples_to_le(samples, bits):
    if bits == 8:
        return bytes(samples)
    return struct.pack("<%dH" % len(samples), *samples)


def le_to_samples(data, bits):
    if bits == 8:
        return list(data)
    return list(struct.unpack("<%dH" % (len(data) // 2), data))


# ---------------------------------------------------------------------------
# The mcRY chunk (FORMAT 2)

CHUNK_TYPE = b"mcRY"
FORMAT_NAMES = {1: "PNG", 2: "PGM/PPM", 3: "BMP", 4: "JPEG", 5: "DICOM"}


class McHeader:
    def __init__(self, cdata):
        # FORMAT 5.1 names no error for a bad magic or a short chunk; like
        # the C library, the reference calls the image damaged.
        if len(cdata) < 88 or cdata[0:8] != b"medcrypt":
            raise Tampered()
        self.version = cdata[8]
        if self.version != 1:
            raise RefError("unsupported format version")
        (self.orig_format, self.channels, self.bits, self.width, self.height, self.frames
         ) = struct.unpack_from(">BBBIII", cdata, 9)
        self.key_id = cdata[24:32]
        self.nonce = cdata[32:48]
        self.side_len, reserved = struct.unpack_from(">II", cdata, 48)
        self.tag = cdata[56:88]
        if len(cdata) != 88 + self.side_len:
            raise Tampered()
        if reserved != 0:
            raise Tampered()
        if self.frames < 1 or self.height % self.frames != 0:
            raise Tampered()
        if self.channels not in (1, 2, 3, 4) or self.bits not in (8, 16):
            raise Tampered()
        self.header = cdata[0:56]
        self.side = cdata[88:]


def parse_side_data(side):
    recs, pos = [], 0
    while pos < len(side):
        if pos + 6 > len(side):
            raise RefError("malformed side data")
        rtype, rlen = struct.unpack_from(">HI", side, pos)
        if pos + 6 + rlen > len(side):
            raise RefError("malformed side data")
        recs.append((rtype, side[pos + 6:pos + 6 + rlen]))
        pos += 6 + rlen
    return recs


class Plain:
    """A decrypted image: header fields, samples (ints) and side records."""

    def __init__(self, hdr, samples, side_records):
        self.hdr, self.samples, self.side_records = hdr, samples, side_records

    def record(self, rtype):
        for t, v in self.side_records:
            if t == rtype:
                return v
        return None


def read_cipher(data):
    """Container checks (FORMAT 2 and 5.1); returns (McHeader, chunks).

    Assumption (FORMAT 2 says "right after IHDR comes mcRY, then IDAT, then
    IEND"): other ancillary chunks, which a PNG tool may add and which carry
    nothing medcrypt reads, are ignored wherever they are, as the C library
    does; mcRY must come once, before the first IDAT; the IDAT chunks must
    be consecutive; unknown critical chunks are refused."""
    try:
        chunks, trailing = png_chunks(data)
    except PngError:
        # A PNG whose chunks are cut or corrupted: is it ours at all?
        if data[0:8] != PNG_SIG:
            raise RefError("not a PNG file")
        raise Tampered()
    if not chunks or chunks[0][0] != b"IHDR":
        raise RefError("not a PNG file")
    types = [ct for ct, _ in chunks]
    if CHUNK_TYPE not in types:
        raise RefError("not a medcrypt cipher image (no mcRY chunk)")
    hdr = McHeader(chunks[types.index(CHUNK_TYPE)][1])
    if trailing != 0 or types.count(CHUNK_TYPE) != 1 or b"IDAT" not in types:
        raise Tampered()
    first = types.index(b"IDAT")
    last = len(types) - 1 - types[::-1].index(b"IDAT")
    if (types.index(CHUNK_TYPE) > first or any(t != b"IDAT" for t in types[first:last + 1])
            or chunks[-1][1] != b""):
        raise Tampered()
    for t in types[1:-1]:
        if t[0:1].isupper() and t not in (b"IDAT", b"PLTE"):
            raise Tampered()
    try:
        w, h, c, d = png_parse_ihdr(chunks[0][1])
    except PngError:
        raise Tampered()
    if (w, h, c, d) != (hdr.width, hdr.height, hdr.channels, hdr.bits):
        raise Tampered()
    return hdr, chunks


def decrypt(k, data):
    hdr, chunks = read_cipher(data)
    sub = Subkeys(k)
    if not hmac.compare_digest(sub.key_id, hdr.key_id):
        raise WrongKey()
    try:
        be = png_decode_pixels(chunks, hdr.width, hdr.height, hdr.channels, hdr.bits)
    except PngError:
        raise Tampered()
    cipher_le = be if hdr.bits == 8 else swap16(be)
    L = len(cipher_le)

    w = sm_words(seed_material(sub.chaos, hdr.tag))
    nonce24 = hdr.tag[0:24]
    # Stage 4: XChaCha20
    x = xor_bytes(cipher_le, xchacha20_keystream(sub.stream, nonce24, 0, L))
    side = xor_bytes(hdr.side, xchacha20_keystream(sub.stream, nonce24, (L + 63) // 64,
                                                   len(hdr.side)))
    # Stage 3: logistic XOR
    x = diffuse(w, x)
    # Stage 2: Henon inverse
    x = henon(w, x, hdr.bits, inverse=True)
    # Stage 1: permutation inverse
    samples = permute(w, le_to_samples(x, hdr.bits), inverse=True)
    plain_le = samples_to_le(samples, hdr.bits)

    tag = hmac.new(sub.mac, hdr.header + plain_le + side, "sha512").digest()[0:32]
    if not hmac.compare_digest(tag, hdr.tag):
        raise Tampered()
    return Plain(hdr, samples, parse_side_data(side))


def encrypt_samples(k, hdr_fields, samples, side):
    """Forward pipeline (used by `golden`): returns (mcRY data, cipher samples
    as LE bytes, dict of stage outputs)."""
    sub = Subkeys(k)
    (orig, c, d, width, height, frames, nonce) = hdr_fields
    header = (b"medcrypt" + bytes([1, orig, c, d]) + struct.pack(">III", width, height, frames)
              + sub.key_id + nonce + struct.pack(">II", len(side), 0))
    plain_le = samples_to_le(samples, d)
    tag = hmac.new(sub.mac, header + plain_le + side, "sha512").digest()[0:32]
    w = sm_words(seed_material(sub.chaos, tag))
    stages = {"plain": plain_le}
    s1 = samples_to_le(permute(w, samples), d)
    stages["permute"] = s1
    s2 = henon(w, s1, d)
    stages["henon"] = s2
    s3 = diffuse(w, s2)
    stages["logistic"] = s3
    L = len(s3)
    s4 = xor_bytes(s3, xchacha20_keystream(sub.stream, tag[0:24], 0, L))
    stages["xchacha"] = s4
    eside = xor_bytes(side, xchacha20_keystream(sub.stream, tag[0:24], (L + 63) // 64, len(side)))
    return header + tag + eside, s4, stages


# ---------------------------------------------------------------------------
# Output of a decrypted image

def pnm_raster(plain):
    hdr, head = plain.hdr, plain.record(2)
    if head is None or len(head) < 2 or head[0:1] != b"P" or head[1:2] not in b"2356":
        raise RefError("PGM/PPM side data without a valid header record")
    magic = head[1:2]
    if magic in (b"2", b"3") and plain.record(4) is not None:
        # NOT IN docs/FORMAT.md (section 3 lists types 1-3 only): the C
        # library stores a plain PGM/PPM raster whose text is not in the
        # canonical layout below verbatim, as a record of type 4.
        return plain.record(4)
    if magic in (b"5", b"6"):
        if hdr.bits == 8:
            return bytes(plain.samples)
        return struct.pack(">%dH" % len(plain.samples), *plain.samples)
    per_row = hdr.width * hdr.channels
    lines = []
    for y in range(hdr.height):
        row = plain.samples[y * per_row:(y + 1) * per_row]
        lines.append(" ".join(str(v) for v in row) + "\n")
    return "".join(lines).encode("ascii")


def restore_file(plain):
    """The bytes of the restored file."""
    hdr = plain.hdr
    if hdr.orig_format == 2:
        tail = plain.record(3) or b""
        return plain.record(2) + pnm_raster(plain) + tail
    if hdr.orig_format in (3, 5):
        # FORMAT.md defines no side-data records for BMP or DICOM files.
        raise RefError("original format %s: docs/FORMAT.md does not say how to rebuild it"
                       % FORMAT_NAMES[hdr.orig_format])
    if hdr.orig_format not in (1, 4):
        raise RefError("unknown original format %d" % hdr.orig_format)
    # PNG, and JPEG (its decoded pixels, DESIGN.md): a lossless PNG
    if hdr.bits == 8:
        be = bytes(plain.samples)
    else:
        be = struct.pack(">%dH" % len(plain.samples), *plain.samples)
    return png_write(hdr.width, hdr.height, hdr.channels, hdr.bits, be)


def load_key(arg):
    if os.path.isfile(arg):
        with open(arg, "r", encoding="utf-8", errors="replace") as f:
            return parse_key_file_text(f.read())
    return parse_key_text(arg)


def cmd_decrypt(args):
    if len(args) != 3:
        raise RefError("usage: medcrypt_ref.py decrypt KEY CIPHER.png OUT")
    k = load_key(args[0])
    try:
        with open(args[1], "rb") as f:
            data = f.read()
    except OSError as e:
        raise RefError("%s: %s" % (args[1], e.strerror))
    plain = decrypt(k, data)
    out = restore_file(plain)
    tmp = args[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, args[2])
    return 0


def cmd_samples(args):
    """Print "W H C D sha256" of a PNG's samples as big-endian bytes."""
    for path in args:
        with open(path, "rb") as f:
            img = png_read(f.read())
        print(img.width, img.height, img.channels, img.bits,
              hashlib.sha256(img.data).hexdigest())
    return 0


# ---------------------------------------------------------------------------
# Self test

def _check(name, got, want, results):
    ok = got == want
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        print("     got  %s\n     want %s" % (got, want))


def cmd_selftest(_args):
    r = []
    h = lambda ws: " ".join("%08x" % v for v in ws)
    # Random123 kat_vectors, philox4x32_10
    _check("philox4x32-10 zero", h(philox4x32_10((0, 0, 0, 0), (0, 0))),
           "6627e8d5 e169c58d bc57ac4c 9b00dbd8", r)
    _check("philox4x32-10 ones", h(philox4x32_10((M32,) * 4, (M32, M32))),
           "408f276d 41c83b0e a20bc7c6 6d5451fd", r)
    _check("philox4x32-10 pi",
           h(philox4x32_10((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344),
                           (0xa4093822, 0x299f31d0))),
           "d16cfe09 94fdcceb 5001e420 24126ea1", r)
    # RFC 8439 2.3.2, block function. Its state words 12..15 are
    # (counter 1, nonce 00000009 0000004a 00000000); in the original ChaCha20
    # layout (64-bit counter in words 12-13, 8-byte nonce in 14-15) that is
    # counter = 0x09000000_00000001 and nonce8 = 00 00 00 4a 00 00 00 00.
    key = bytes(range(32))
    _check("chacha20 block (RFC 8439 2.3.2)",
           chacha20_block(key, (0x09000000 << 32) | 1, bytes.fromhex("0000004a00000000")).hex(),
           "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
           "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e", r)
    # draft-irtf-cfrg-xchacha-03 2.2.1, HChaCha20
    _check("hchacha20 (draft-irtf-cfrg-xchacha 2.2.1)",
           hchacha20(key, bytes.fromhex("000000090000004a0000000031415927")).hex(),
           "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc", r)
    # XChaCha20 keystream from block counter 1, key 00..1f, nonce 00..17,
    # 80 bytes (crosses a block): computed with libsodium 1.0.18
    # crypto_stream_xchacha20_xor_ic on zero bytes.
    _check("xchacha20 keystream, counter 1 (libsodium)",
           xchacha20_keystream(key, bytes(range(24)), 1, 80).hex(),
           XCHACHA_IC1, r)
    # RFC 4231 test case 1, HMAC-SHA-512, and a hand-rolled HMAC vs hmac
    _check("hmac-sha512 (RFC 4231 case 1)",
           hmac.new(b"\x0b" * 20, b"Hi There", "sha512").hexdigest(),
           "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
           "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854", r)
    k = bytes(range(100, 200))
    ik = (k if len(k) <= 128 else hashlib.sha512(k).digest()).ljust(128, b"\0")
    manual = hashlib.sha512(bytes(b ^ 0x5C for b in ik) + hashlib.sha512(
        bytes(b ^ 0x36 for b in ik) + b"medcrypt").digest()).hexdigest()
    _check("hmac-sha512 by hand == hmac module", manual,
           hmac.new(k, b"medcrypt", "sha512").hexdigest(), r)
    # RFC 5869 A.1 (HKDF-SHA-256): the same hkdf() code as for SHA-512
    _check("hkdf (RFC 5869 A.1, SHA-256)",
           hkdf(b"\x0b" * 22, bytes(range(13)), bytes(range(0xf0, 0xfa)), 42, "sha256").hex(),
           "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
           "34007208d5b887185865", r)
    # HKDF-SHA-512 over two output blocks vs. a by-hand RFC 5869 expansion
    prk = hmac.new(b"salt", b"ikm", "sha512").digest()
    t1 = hmac.new(prk, b"info\x01", "sha512").digest()
    t2 = hmac.new(prk, t1 + b"info\x02", "sha512").digest()
    _check("hkdf-sha512 two blocks", hkdf(b"ikm", b"salt", b"info", 100).hex(),
           (t1 + t2)[:100].hex(), r)
    # Key text round trip and tolerance (FORMAT 1.2)
    kk = bytes(range(32))
    txt = key_to_text(kk)
    _check("key text round trip", parse_key_text(txt), kk, r)
    sloppy = "mck1 " + txt[5:].lower().replace("-", " ").replace("0", "o").replace("1", "l")
    _check("key text look-alikes", parse_key_text(sloppy), kk, r)
    typo = txt[:-1] + ("0" if txt[-1] != "0" else "2")
    try:
        parse_key_text(typo)
        _check("key text typo detected", "accepted", "rejected", r)
    except RefError:
        _check("key text typo detected", "rejected", "rejected", r)
    # PNG filters: encode rows with each filter type, decode them
    _check("png filters 0-4", _filter_selftest(), True, r)
    # Stage inverses
    wsm = sm_words(hashlib.sha512(b"selftest").digest())
    data = bytes((i * 37 + 11) & 0xFF for i in range(8 * 1030 + 6))
    for d in (8, 16):
        _check("henon inverse, %d-bit lanes" % d,
               henon(wsm, henon(wsm, data, d), d, inverse=True), data, r)
    smp = [(i * 7919) & 0xFFFF for i in range(3 * 4096 + 17)]  # nf = 3, a short block
    _check("permutation inverse", permute(wsm, permute(wsm, smp), inverse=True), smp, r)
    failed = r.count(False)
    print("%d passed, %d failed" % (len(r) - failed, failed))
    return 1 if failed else 0


XCHACHA_IC1 = ("9ec20f7f90d28dae334426cecb52a8e84b4728a5fdd61deb7f1a3fb63dadf559"
               "5e06b6e441670964d595ae59cf21536271bae2594774fb19079b933d8fe744f4"
               "b220ffb3089964852c5f26c15b6509a2")


def _filter_selftest():
    import random
    rnd = random.Random(1)
    width, channels, h = 7, 3, 5
    bpp, rowbytes = channels, width * channels
    rows = [bytes(rnd.randrange(256) for _ in range(rowbytes)) for _ in range(h)]
    raw = bytearray()
    prev = bytes(rowbytes)
    for y, line in enumerate(rows):
        ft = y % 5
        enc = bytearray(rowbytes)
        for i in range(rowbytes):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            cc = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) >> 1, paeth(a, b, cc)][ft]
            enc[i] = (line[i] - pred) & 0xFF
        raw += bytes([ft]) + enc
        prev = line
    return png_unfilter(bytes(raw), h, rowbytes, bpp) == b"".join(rows)


# ---------------------------------------------------------------------------

def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "decrypt":
            return cmd_decrypt(args)
        if cmd == "selftest":
            return cmd_selftest(args)
        if cmd == "samples":
            return cmd_samples(args)
        if cmd == "golden":
            return cmd_golden(args)
        raise RefError("unknown command %r" % cmd)
    except RefError as e:
        sys.stderr.write("%s\n" % e)
        return 1


# ---------------------------------------------------------------------------
# Golden vectors (FORMAT 6)
#
# Not stated in FORMAT.md, taken from the test code: the images are
# tests/helpers.h fill_pattern(img, 7); the header says original format 1
# (PNG) and F = 1; the chunk hash is over the mcRY chunk data (88 + S bytes,
# without length, type and CRC).

GOLDEN_SEED = 7


def fill_pattern(w, h, c, bits, seed):
    """tests/helpers.h fill_pattern(), in uint32_t arithmetic."""
    out = []
    for y in range(h):
        for x in range(w):
            dx, dy = (x - w // 2) & M32, (y - h // 2) & M32
            disk = 90 if ((dx * dx + dy * dy) & M32) < (w * h) // 8 else 0
            for k in range(c):
                v = (x * 3 + y * 5 + k * 40 + seed + disk) & M32
                out.append(v & 0xFF if bits == 8 else (v * 257) & 0xFFFF)
    return out


def parse_golden_inc(text):
    import re
    ents = re.findall(r'\{\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*\{\s*"(\w*)",\s*"(\w*)",'
                      r'\s*"(\w*)",\s*"(\w*)"\s*\},\s*"(\w*)"\s*\}', text)
    return [(tuple(int(v) for v in e[0:4]), list(e[4:8]), e[8]) for e in ents]


def cmd_golden(args):
    path = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "..", "golden_v1.inc")
    try:
        with open(path, "r", encoding="utf-8") as f:
            vectors = parse_golden_inc(f.read())
    except OSError as e:
        raise RefError("%s: %s" % (path, e.strerror))
    if not vectors:
        raise RefError("%s: no golden vectors found" % path)
    key = bytes(range(32))
    nonce = bytes(range(0xA0, 0xB0))
    side = struct.pack(">HI", 1, 10) + b"golden.png"
    failed = 0
    for (w, h, c, d), stage_hashes, chunk_hash in vectors:
        samples = fill_pattern(w, h, c, d, GOLDEN_SEED)
        chunk, _, stages = encrypt_samples(key, (1, c, d, w, h, 1, nonce), samples, side)
        got = [hashlib.sha256(stages[k]).hexdigest()
               for k in ("permute", "henon", "logistic", "xchacha")]
        got.append(hashlib.sha256(chunk).hexdigest())
        want = stage_hashes + [chunk_hash]
        names = ["permutation", "henon", "logistic", "xchacha20", "chunk"]
        bad = [n for n, g, v in zip(names, got, want) if g != v]
        if bad:
            failed += 1
            print("FAIL golden %dx%d C=%d D=%d: %s differ" % (w, h, c, d, ", ".join(bad)))
        else:
            print("ok   golden %dx%d C=%d D=%d: 4 stages and the chunk" % (w, h, c, d))
        # the forward pipeline's result must decrypt again
        png = png_write(w, h, c, d, swap16(stages["xchacha"]) if d == 16 else stages["xchacha"],
                        [(CHUNK_TYPE, chunk)])
        if decrypt(key, png).samples != samples:
            failed += 1
            print("FAIL golden %dx%d C=%d D=%d: round trip" % (w, h, c, d))
    print("%d passed, %d failed" % (len(vectors) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
