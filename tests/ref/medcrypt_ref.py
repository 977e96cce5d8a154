#!/usr/bin/env python3
"""medcrypt_ref: an independent reference decryptor for medcrypt formats v3, v2 and v1.

Written from docs/FORMAT.md alone (not from the C sources), with the Python
standard library only, so that the test suite can check that the document is
enough to decrypt the C library's cipher images.

Usage:
    medcrypt_ref.py decrypt KEY CIPHER.png OUT    KEY: key text, or a key file
    medcrypt_ref.py selftest                      known-answer tests
    medcrypt_ref.py golden [golden_vN.inc]        FORMAT.md section 6 vectors
    medcrypt_ref.py example [DIR]                 FORMAT.md section 6 worked example:
                                                  its text, or its key, plain and
                                                  cipher files written into DIR
    medcrypt_ref.py samples IMAGE.png             print W H C D and a SHA-256
                                                  of the samples (for tests)

`decrypt` reads format versions 3 and 2 (FORMAT.md 4.8; 3 with the chunked
keyed hash of 4.1) and 1 (4.4-4.6), chosen by the version byte of the mcRY
chunk; any other version is refused ("unsupported format version").
`golden` takes the format version from the file's name: golden_v3.inc is
checked with the version 3 forward pipeline, golden_v2.inc with version 2,
golden_v1.inc with version 1; without an argument it reads
../golden_v3.inc next to this script.

Exit status 0 on success, 1 with one line on stderr on failure ("wrong key",
"the cipher image was modified or damaged", ...).

Clarity over speed: ChaCha20 in pure Python is slow, which is fine for the
images of the tests (the largest golden vectors, about half a million
samples, take a few seconds each).

Where docs/FORMAT.md is silent, the reference assumes (and marks in the
code): the key prefix is "MCK1" without look-alikes; key files skip blank
and indented '#' lines; other ancillary PNG chunks are ignored; a failed
container check is "modified or damaged".

`decrypt` rebuilds every original format as FORMAT.md section 3 says: PGM/PPM,
BMP and DICOM files byte for byte, PNG and JPEG as a PNG of the samples with a
PNG's kept chunks (records 5 and 6) written back.
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
    if text.startswith("\ufeff"):
        text = text[1:]                # a UTF-8 byte order mark (FORMAT 1.2)
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


def png_write(w, h, c, d, be_data, extra_chunks=(), level=6):
    """A minimal PNG: IHDR, extra chunks, one IDAT (filter 0, zlib at
    `level`; 0 is stored blocks, as medcrypt writes), IEND."""
    rowbytes = w * c * d // 8
    raw = b"".join(b"\x00" + be_data[y * rowbytes:(y + 1) * rowbytes] for y in range(h))
    out = PNG_SIG + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, d, CHANNELS_TO_COLOR[c],
                                                    0, 0, 0))
    for ctype, cdata in extra_chunks:
        out += _png_chunk(ctype, cdata)
    return out + _png_chunk(b"IDAT", zlib.compress(raw, level)) + _png_chunk(b"IEND", b"")


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
    def __init__(self, w, s, b, version=1):
        o0, o1, o2, _ = philox_sb(w, s, b)
        self.x = 0.001 + 0.998 * unit(o0, o1)
        if version >= 2:
            self.r = 3.9999 + 0.0001 * (o2 * TWO_M32)   # FORMAT 4.3, version 2
        else:
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
# Version 2: the four stages in blocks (FORMAT 4.8)
#
# The sample buffer is cut into nf full blocks of P = 4096 samples and, if
# n_s = n - nf*P > 0, a short last block k = nf. Stage 1 is a permutation
# (scrambling) of chunks of 16 bytes (C = 16/(D/8) samples, NC = P/C per
# block) over groups of 128 full blocks; stages 2 and 3 act on each block
# (slot) on its own, with orbits numbered by the slot k.

V2_GROUP = 128          # positions (blocks) per group
V2_CHUNK_BYTES = 16     # stage 1 moves chunks of 16 bytes: C = 16/(D/8) samples
V2_HENON_ORBITS = 8
V2_LOGISTIC_ORBITS = 16
V2_SHORT = 1 << 40      # orbit index base of the short block (stages 0 and 2)
V2_OFFSETS = 1 << 41    # orbit index base of the member offsets (stage 0, + g)


def v2_chunk(bits):
    """(C, NC): samples per chunk and chunks per block of stage 1 (FORMAT 4.8)."""
    c = V2_CHUNK_BYTES // (bits // 8)
    return c, PERM_BLOCK // c


def logistic_outputs(w, s, b, count, version):
    """out32 of the first `count` steps after the transient of the logistic
    orbit (s, b) of `version` (FORMAT 4.3), as a list; the same arithmetic
    as LogisticOrbit, without a method call per step."""
    if count <= 0:
        return []
    orbit = LogisticOrbit(w, s, b, version)
    x, r = orbit.x, orbit.r
    xs = [0.0] * count
    for i in range(count):
        t = r * x
        x = t * (1.0 - x)
        xs[i] = x
    # low 32 bits of each binary64: the first little-endian word of its 8 bytes
    return list(struct.unpack("<%dI" % (2 * count), struct.pack("<%dd" % count, *xs))[0::2])


def henon_outputs(w, s, b, count):
    """The outputs h of the first `count` steps after the transient of the
    Hénon orbit (s, b) (FORMAT 4.3), as a list."""
    if count <= 0:
        return []
    orbit = HenonOrbit(w, s, b)
    x, y = orbit.x, orbit.y
    A, B = HenonOrbit.A, HenonOrbit.B
    xs = [0.0] * count
    for i in range(count):
        x, y = (1.0 - (A * x) * x) + y, B * x
        if not (-2.0 < x < 2.0):
            x, y = 0.1, 0.0
        xs[i] = x
    m52 = (1 << 52) - 1
    return [((v & m52) * 0x9E3779B97F4A7C15) & M64
            for v in struct.unpack("<%dQ" % count, struct.pack("<%dd" % count, *xs))]


def _pick(orbit, n):
    """pick(N) = (out32(step) * N) >> 32 on `orbit` (FORMAT 4.8)."""
    return (orbit.out32() * n) >> 32


class V2Keys:
    """Block keys (FORMAT 4.8): pi from the logistic orbit (1, 0), and per
    position p, from its own logistic orbit (1, 1 + p), the C distinct row
    rotations m[p] (each < NC, a partial Fisher-Yates), the row XOR e[p]
    (< C) and the member rotation z[p] (< P)."""

    def __init__(self, w, nf, C, NC):
        self.pi, self.m, self.e, self.z = list(range(nf)), [], [], []
        if nf < 1:
            return
        orbit = LogisticOrbit(w, 1, 0, 2)
        for k in range(nf - 1, 0, -1):
            j = _pick(orbit, k + 1)
            self.pi[k], self.pi[j] = self.pi[j], self.pi[k]
        for p in range(nf):
            orbit = LogisticOrbit(w, 1, 1 + p, 2)
            t = list(range(NC))
            m = []
            for r in range(C):
                j = r + _pick(orbit, NC - r)
                t[r], t[j] = t[j], t[r]
                m.append(t[r])
            u = orbit.out32()
            self.m.append(m)
            self.e.append(u % C)
            self.z.append((u >> 4) % PERM_BLOCK)


def v2_member_offsets(w, g, G, NC):
    """f[0 .. NC-1] of group g with G members, from the logistic orbit
    (0, 2^41 + g) (FORMAT 4.8)."""
    f = [0] * NC
    if G <= 1:
        return f                                   # d = 0 throughout: no step drawn
    orbit = LogisticOrbit(w, 0, V2_OFFSETS + g, 2)
    for c in range(1, NC):
        d = 1 + _pick(orbit, G - 1)
        f[c] = (f[c - 1] + d) % G
    return f


def _v2_scramble_block(chunks, m, e, C, NC):
    """One output block from its NC chunks of C samples (FORMAT 4.8 stage 1):
    A, the transpose B (C rows of NC), then the rows of B in the order
    r XOR e, rotated left by m[r]."""
    a = []
    for ch in chunks:
        a += ch
    b = [a[x::C] for x in range(C)]                 # B[NC x + c] = A[C c + x]
    out = []
    for r in range(C):
        row, s = b[r ^ e], m[r]
        out += row[s:] + row[:s]                    # out[NC r + y] = B[NC (r^e) + (y + m[r]) mod NC]
    return out


def _v2_unscramble_block(block, m, e, C, NC):
    """The inverse of _v2_scramble_block: the NC chunks of a block."""
    b = [None] * C
    for r in range(C):
        row, s = block[NC * r:NC * (r + 1)], m[r]
        b[r ^ e] = row[NC - s:] + row[:NC - s]
    flat = []
    for row in b:
        flat += row
    # A[C c + x] = B[NC x + c]: chunk c is flat[c::NC]
    return [flat[c::NC] for c in range(NC)]


def scramble_v2(w, samples, bits, inverse=False):
    """Stage 1 of version 2 on a list of samples of `bits` (8 or 16) bits
    each (the chunk size depends on it); returns a new list."""
    P, n = PERM_BLOCK, len(samples)
    C, NC = v2_chunk(bits)
    nf = n // P
    src = list(samples)
    out = list(samples)
    keys = V2Keys(w, nf, C, NC)
    for g in range((nf + V2_GROUP - 1) // V2_GROUP):
        G = min(V2_GROUP, nf - V2_GROUP * g)
        base = V2_GROUP * g
        f = v2_member_offsets(w, g, G, NC)
        if not inverse:
            # member_j[s] = (input block pi[128g + j])[(s + z_{128g+j}) mod P]
            members = []
            for j in range(G):
                blk = keys.pi[base + j] * P
                z = keys.z[base + j]
                members.append(src[blk + z:blk + P] + src[blk:blk + z])
            for i in range(G):
                p = base + i
                chunks = [members[(i + f[c]) % G][C * c:C * (c + 1)] for c in range(NC)]
                slot = keys.pi[p] * P
                out[slot:slot + P] = _v2_scramble_block(chunks, keys.m[p], keys.e[p], C, NC)
        else:
            members = [[None] * P for _ in range(G)]
            for i in range(G):
                p = base + i
                slot = keys.pi[p] * P
                chunks = _v2_unscramble_block(src[slot:slot + P], keys.m[p], keys.e[p], C, NC)
                for c in range(NC):
                    members[(i + f[c]) % G][C * c:C * (c + 1)] = chunks[c]
            for j in range(G):
                blk = keys.pi[base + j] * P
                z = keys.z[base + j]
                rot = members[j]                    # rot[s] = block[(s + z) mod P]
                out[blk:blk + P] = rot[P - z:] + rot[:P - z]
    n_s = n - nf * P
    if n_s >= 2:
        # the short last block: a Fisher-Yates shuffle with the orbit (0, 2^40)
        us = logistic_outputs(w, 0, V2_SHORT, n_s - 1, 2)
        swaps = [(i, (u * (i + 1)) >> 32) for i, u in zip(range(n_s - 1, 0, -1), us)]
        if inverse:
            swaps.reverse()
        base = nf * P
        for i, j in swaps:
            out[base + i], out[base + j] = out[base + j], out[base + i]
    return out


def _lane_masks(d):
    """For r < d: (mask of the bits that rotl_d(., r) shifts left within
    their lane, mask of the bits that wrap around), over a 64-bit word."""
    rep = sum(1 << s for s in range(0, 64, d))                # 1 in each lane's bit 0
    return [((((1 << (d - r)) - 1) * rep), (((1 << r) - 1) * rep) << (d - r))
            for r in range(d)]


LANE_MASKS = {8: _lane_masks(8), 16: _lane_masks(16)}


def rotl_lanes(v, r, d):
    """rotl_D(v, r) of FORMAT 4.8: every d-bit lane of the 64-bit v rotated
    left by r (0 <= r < d)."""
    if r == 0:
        return v
    keep, wrap = LANE_MASKS[d][r]
    return ((v & keep) << r) | ((v & wrap) >> (d - r))


def _v2_henon_block(w, words, k, d, inverse):
    """Stage 2 of version 2 on block k's q words (a list, changed in place)."""
    q = len(words)
    half = q // 2
    hs = [henon_outputs(w, 2, V2_HENON_ORBITS * k + l, (half - l + 7) // 8)
          for l in range(V2_HENON_ORBITS)]
    for i in range(half):
        h = hs[i % 8][i // 8]
        r1, r2 = (h >> 60) % d, (h >> 56) % d
        if not inverse:
            a = rotl_lanes(words[i], r1, d)
            c = rotl_lanes(words[i + half], r2, d)
            t = (a ^ c) & h
            words[i], words[i + half] = a ^ t, c ^ t
        else:
            t = (words[i] ^ words[i + half]) & h
            words[i] = rotl_lanes(words[i] ^ t, (d - r1) % d, d)
            words[i + half] = rotl_lanes(words[i + half] ^ t, (d - r2) % d, d)


def henon_v2(w, data, bits, inverse=False):
    """Stage 2 of version 2 (stage id 2) on the L sample bytes; new bytes."""
    d = bits
    blen = PERM_BLOCK * d // 8
    out = bytearray()
    for k in range((len(data) + blen - 1) // blen):
        blk = data[k * blen:(k + 1) * blen]
        L = len(blk)
        q = L // 8
        words = list(struct.unpack("<%dQ" % q, blk[:q * 8]))
        _v2_henon_block(w, words, k, d, inverse)
        e = L % 8
        tail = b""
        if q % 2 == 1 or e > 0:
            # leftovers of the short block: the Henon orbit (2, 2^40 + k)
            h = henon_outputs(w, 2, V2_SHORT + k, 1)[0]
            if q % 2 == 1:
                r = (h >> 60) % d
                words[q - 1] = rotl_lanes(words[q - 1], (d - r) % d if inverse else r, d)
            if e > 0:
                r = (h >> 56) % d
                v = int.from_bytes(blk[q * 8:], "little")
                v = rotl_lanes(v, (d - r) % d if inverse else r, d)
                tail = (v & ((1 << (8 * e)) - 1)).to_bytes(e, "little")
        out += struct.pack("<%dQ" % q, *words) + tail
    return bytes(out)


def diffuse_v2(w, data, bits):
    """Stage 3 of version 2 (stage id 3): XOR with the logistic keystream
    of 16 interleaved orbits per block (self-inverse)."""
    blen = PERM_BLOCK * bits // 8
    ks = bytearray()
    for k in range((len(data) + blen - 1) // blen):
        L = min(blen, len(data) - k * blen)
        nw = (L + 3) // 4
        words = [0] * nw
        for l in range(V2_LOGISTIC_ORBITS):
            # keystream word i comes from orbit l = i mod 16, step i // 16 + 1
            words[l::V2_LOGISTIC_ORBITS] = logistic_outputs(
                w, 3, V2_LOGISTIC_ORBITS * k + l, (nw - l + 15) // 16, 2)
        ks += struct.pack("<%dI" % nw, *words)[:L]
    return xor_bytes(data, ks)


# ---------------------------------------------------------------------------
# The mcRY chunk (FORMAT 2)

CHUNK_TYPE = b"mcRY"
FORMAT_VERSIONS = (1, 2, 3)     # FORMAT 2 and 5.1: 3 is written, 1 and 2 still read
TREE_CHUNK = 65536              # FORMAT 4.1, version 3


def keyed_hash(k_mac, version, header, plain_le, side):
    """T of FORMAT 4.1: HMAC over the sample bytes (versions 1 and 2) or
    over the SHA-512 digests of their 64 KiB chunks (version 3)."""
    if version >= 3:
        m = b"".join(hashlib.sha512(plain_le[i:i + TREE_CHUNK]).digest()
                     for i in range(0, len(plain_le), TREE_CHUNK))
    else:
        m = plain_le
    return hmac.new(k_mac, header + m + side, "sha512").digest()[0:32]
FORMAT_NAMES = {1: "PNG", 2: "PGM/PPM", 3: "BMP", 4: "JPEG", 5: "DICOM"}


class McHeader:
    def __init__(self, cdata):
        # FORMAT 5.1 names no error for a bad magic or a short chunk; like
        # the C library, the reference calls the image damaged.
        if len(cdata) < 88 or cdata[0:8] != b"medcrypt":
            raise Tampered()
        self.version = cdata[8]
        if self.version not in FORMAT_VERSIONS:
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
    # FORMAT 5 step 2: under another key id, go on with K's in its place in
    # the header; a tag that then holds says the id was changed (step 5).
    other_id = not hmac.compare_digest(sub.key_id, hdr.key_id)
    header = hdr.header[:24] + sub.key_id + hdr.header[32:] if other_id else hdr.header
    try:
        be = png_decode_pixels(chunks, hdr.width, hdr.height, hdr.channels, hdr.bits)
    except PngError:
        raise Tampered()
    cipher_le = be if hdr.bits == 8 else swap16(be)
    L = len(cipher_le)

    w = sm_words(seed_material(sub.chaos, hdr.tag))
    nonce24 = hdr.tag[0:24]
    # Stage 4: XChaCha20 (both versions, FORMAT 4.7)
    x = xor_bytes(cipher_le, xchacha20_keystream(sub.stream, nonce24, 0, L))
    side = xor_bytes(hdr.side, xchacha20_keystream(sub.stream, nonce24, (L + 63) // 64,
                                                   len(hdr.side)))
    if hdr.version >= 2:
        # FORMAT 4.8 and 5.4: logistic XOR, Henon inverse, scrambling inverse
        x = diffuse_v2(w, x, hdr.bits)
        x = henon_v2(w, x, hdr.bits, inverse=True)
        samples = scramble_v2(w, le_to_samples(x, hdr.bits), hdr.bits, inverse=True)
    else:
        # Stage 3: logistic XOR
        x = diffuse(w, x)
        # Stage 2: Henon inverse
        x = henon(w, x, hdr.bits, inverse=True)
        # Stage 1: permutation inverse
        samples = permute(w, le_to_samples(x, hdr.bits), inverse=True)
    plain_le = samples_to_le(samples, hdr.bits)

    tag = keyed_hash(sub.mac, hdr.version, header, plain_le, side)
    tag_ok = hmac.compare_digest(tag, hdr.tag)
    if other_id and not tag_ok:
        raise WrongKey()
    if not tag_ok or other_id:
        raise Tampered()
    return Plain(hdr, samples, parse_side_data(side))


def encrypt_samples(k, hdr_fields, samples, side, version=3):
    """Forward pipeline (used by `golden`) of format `version` (1, 2 or 3):
    returns (mcRY data, cipher samples as LE bytes, dict of stage outputs)."""
    if version not in FORMAT_VERSIONS:
        raise RefError("unsupported format version")
    sub = Subkeys(k)
    (orig, c, d, width, height, frames, nonce) = hdr_fields
    header = (b"medcrypt" + bytes([version, orig, c, d])
              + struct.pack(">III", width, height, frames)
              + sub.key_id + nonce + struct.pack(">II", len(side), 0))
    plain_le = samples_to_le(samples, d)
    tag = keyed_hash(sub.mac, version, header, plain_le, side)
    w = sm_words(seed_material(sub.chaos, tag))
    stages = {"plain": plain_le}
    if version >= 2:
        s1 = samples_to_le(scramble_v2(w, samples, d), d)       # FORMAT 4.8
        s2 = henon_v2(w, s1, d)
        s3 = diffuse_v2(w, s2, d)
    else:
        s1 = samples_to_le(permute(w, samples), d)           # FORMAT 4.4-4.6
        s2 = henon(w, s1, d)
        s3 = diffuse(w, s2)
    stages["permute"] = s1
    stages["henon"] = s2
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
        return plain.record(4)  # FORMAT 3: the raster text, verbatim
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
    if hdr.orig_format == 3:
        return bmp_rebuild(plain)
    if hdr.orig_format == 5:
        return dicom_rebuild(plain)
    if hdr.orig_format not in (1, 4):
        raise RefError("unknown original format %d" % hdr.orig_format)
    # PNG, and JPEG (its decoded pixels, DESIGN.md): a lossless PNG, with a
    # PNG's kept chunks: record 5 right after IHDR, record 6 before IEND
    if hdr.bits == 8:
        be = bytes(plain.samples)
    else:
        be = struct.pack(">%dH" % len(plain.samples), *plain.samples)
    before, after = (png_chunk_record(plain.record(t)) if hdr.orig_format == 1 else b""
                     for t in (5, 6))
    out = png_write(hdr.width, hdr.height, hdr.channels, hdr.bits, be)
    ihdr_end = 8 + 25
    return out[:ihdr_end] + before + out[ihdr_end:-12] + after + out[-12:]


def png_chunk_record(rec):
    """Record 5 or 6 (FORMAT 3): whole chunks with ancillary types and
    correct CRCs, written back verbatim; left out otherwise."""
    if not rec:
        return b""
    pos = 0
    while pos < len(rec):
        if pos + 12 > len(rec):
            return b""
        n, = struct.unpack_from(">I", rec, pos)
        ctype = rec[pos + 4:pos + 8]
        if (pos + 12 + n > len(rec) or not ctype.isalpha() or not ctype[0:1].islower()
                or zlib.crc32(rec[pos + 4:pos + 8 + n]) & M32
                != struct.unpack_from(">I", rec, pos + 8 + n)[0]):
            return b""
        pos += 12 + n
    return rec


def bmp_rebuild(plain):
    """FORMAT 3, format 3: record 16 ‖ pixel array ‖ record 17, the pixel
    array the canonical one XOR record 18."""
    hdr, head = plain.hdr, plain.record(16)
    if head is None or len(head) < 54 or head[0:2] != b"BM":
        raise RefError("BMP side data without a valid header record")
    bi_size, = struct.unpack_from("<I", head, 14)
    bi_height, = struct.unpack_from("<i", head, 22)
    bpp, = struct.unpack_from("<H", head, 28)
    compression, = struct.unpack_from("<I", head, 30)
    w, h, c = hdr.width, hdr.height, hdr.channels
    row_len = (w * bpp + 31) // 32 * 4
    arr = bytearray(row_len * h)
    s = plain.samples
    if bpp <= 8:
        used, = struct.unpack_from("<I", head, 46)
        entries = used if 0 < used <= (1 << bpp) else 1 << bpp
        base = 14 + bi_size
        # the lowest index of each colour (B, G, R)
        index = {}
        for i in range(entries - 1, -1, -1):
            index[bytes(head[base + 4 * i:base + 4 * i + 3])] = i
    if bpp == 16:
        masks = (struct.unpack_from("<III", head, 54) if compression == 3
                 else (0x7C00, 0x03E0, 0x001F))
        fields = [(m, bin(m).count("1"), (m & -m).bit_length() - 1) for m in masks]
    for y in range(h):
        row = (y if bi_height < 0 else h - 1 - y) * row_len
        for x in range(w):
            px = s[(y * w + x) * c:(y * w + x + 1) * c]
            if bpp <= 8:
                colour = bytes([px[0]] * 3) if c == 1 else bytes([px[2], px[1], px[0]])
                bit = x * bpp
                arr[row + bit // 8] |= index[colour] << (8 - bpp - bit % 8)
            elif bpp == 16:
                v = 0
                for (mask, k, shift), sample in zip(fields, px):
                    v |= (sample >> (8 - k)) << shift
                struct.pack_into("<H", arr, row + 2 * x, v)
            elif bpp == 24:
                arr[row + 3 * x:row + 3 * x + 3] = bytes([px[2], px[1], px[0]])
            elif bpp == 32:
                arr[row + 4 * x:row + 4 * x + 4] = bytes([px[2], px[1], px[0],
                                                           px[3] if c == 4 else 0])
            else:
                raise RefError("BMP of %d bits per pixel" % bpp)
    res, pos, at = plain.record(18) or b"", 0, 0
    while pos < len(res):
        gap, n = struct.unpack_from(">II", res, pos)
        at += gap
        for i in range(n):
            arr[at + i] ^= res[pos + 8 + i]
        pos += 8 + n
        at += n
    return head + bytes(arr) + (plain.record(17) or b"")


DICOM_LONG_VRS = (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN",
                  b"UR", b"UT", b"UV")


def _dicom_elements(buf, pos, end, explicit, top, found):
    """Walks data elements from pos (FORMAT 3, format 5, PS3.5 7.1) until
    end, an item or sequence delimiter, or the top-level Pixel Data;
    records top-level (0028,0006) in found; returns where it stopped."""
    while pos < end:
        group, elem = struct.unpack_from("<HH", buf, pos)
        if group == 0xFFFE:  # item, item / sequence delimiter: 4-byte length
            length, = struct.unpack_from("<I", buf, pos + 4)
            if elem in (0xE00D, 0xE0DD):
                return pos + 8
            pos += 8
            if length == 0xFFFFFFFF:
                pos = _dicom_elements(buf, pos, end, explicit, False, found)
            else:
                pos += length
            continue
        exp = explicit or group == 0x0002
        vr = buf[pos + 4:pos + 6] if exp else None
        if exp and vr in DICOM_LONG_VRS:
            length, = struct.unpack_from("<I", buf, pos + 8)
            pos += 12
        elif exp:
            length, = struct.unpack_from("<H", buf, pos + 6)
            pos += 8
        else:
            length, = struct.unpack_from("<I", buf, pos + 4)
            pos += 8
        if top and (group, elem) == (0x7FE0, 0x0010):
            return pos
        if length == 0xFFFFFFFF:
            # undefined length: items to the sequence delimiter (UN: implicit)
            pos = _dicom_elements(buf, pos, end, explicit and vr != b"UN", False, found)
            continue
        if top and (group, elem) == (0x0028, 0x0006):
            found["planar"], = struct.unpack_from("<H", buf, pos)
        pos += length
    return pos


def dicom_rebuild(plain):
    """FORMAT 3, format 5: record 48 ‖ pixel data ‖ record 49, planar
    configuration 1 de-interleaved per frame."""
    hdr, head = plain.hdr, plain.record(48)
    if head is None or head[128:132] != b"DICM":
        raise RefError("DICOM side data without a valid head record")
    # the meta group's Transfer Syntax UID says implicit or explicit VR
    ts = b""
    pos = 132
    while pos < len(head) and struct.unpack_from("<H", head, pos)[0] == 0x0002:
        vr = head[pos + 4:pos + 6]
        if vr in DICOM_LONG_VRS:
            length, = struct.unpack_from("<I", head, pos + 8)
            start = pos + 12
        else:
            length, = struct.unpack_from("<H", head, pos + 6)
            start = pos + 8
        if struct.unpack_from("<H", head, pos + 2)[0] == 0x0010:
            ts = head[start:start + length].rstrip(b"\0 ")
        pos = start + length
    found = {"planar": 0}
    if _dicom_elements(head, 132, len(head), ts != b"1.2.840.10008.1.2", True, found) != len(head):
        raise RefError("DICOM head record does not end at the Pixel Data value")
    s = plain.samples
    if found["planar"] == 1 and hdr.channels > 1:
        c, per_frame = hdr.channels, hdr.width * (hdr.height // hdr.frames)
        out = []
        for f in range(hdr.frames):
            frame = s[f * per_frame * c:(f + 1) * per_frame * c]
            for k in range(c):
                out.extend(frame[k::c])
        s = out
    data = bytes(s) if hdr.bits == 8 else struct.pack("<%dH" % len(s), *s)
    return head + data + (plain.record(49) or b"")


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
    # Version 2 (FORMAT 4.8): 130 full blocks (two groups, G = 128 and 2)
    # and a short block of 17 samples; blocks with a leftover word and tail
    big = [(i * 7919) & 0xFFFF for i in range(130 * 4096 + 17)]
    for d in (8, 16):
        _check("v2 scrambling inverse, %d-bit, two groups and a short block" % d,
               scramble_v2(wsm, scramble_v2(wsm, big, d), d, inverse=True), big, r)
        _check("v2 scrambling is a permutation, %d-bit" % d,
               sorted(scramble_v2(wsm, list(range(3 * 4096 + 5)), d)),
               list(range(3 * 4096 + 5)), r)
    one = list(range(4096 + 3))                      # nf = 1: a group of one member
    _check("v2 scrambling inverse, one full block",
           scramble_v2(wsm, scramble_v2(wsm, one, 8), 8, inverse=True), one, r)
    for d, nbytes in ((8, 2 * 4096 + 13), (16, 8192 + 2 * 11), (16, 8192 + 2 * 4)):
        data = bytes((i * 37 + 11) & 0xFF for i in range(nbytes))
        _check("v2 henon inverse, %d-bit lanes, %d bytes" % (d, nbytes),
               henon_v2(wsm, henon_v2(wsm, data, d), d, inverse=True), data, r)
    _check("v2 rotl_lanes", (rotl_lanes(0x8001_4002_0180_00FF, 3, 8),
                             rotl_lanes(0x8001_4002_0180_00FF, 5, 16)),
           (0x0408_0210_0804_00FF, 0x0030_0048_3000_1FE0), r)
    # rotl_lanes(v, r) == the v1 lane_rot with the same r in every lane of g
    vv = 0xF00D_CAFE_1234_8765
    _check("v2 rotl_lanes == v1 lane_rot with a uniform g",
           [rotl_lanes(vv, rr, d) for d in (8, 16) for rr in range(d)],
           [lane_rot(vv, rr * sum(1 << z for z in range(0, 64, d)), 0, d)
            for d in (8, 16) for rr in range(d)], r)
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
        if cmd == "example":
            return cmd_example(args)
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


def golden_version(path):
    """The format version of a golden vector file, from its name:
    golden_v3.inc -> 3, golden_v1.inc -> 1 (golden_vN[anything])."""
    import re
    m = re.match(r"golden_v(\d+)", os.path.basename(path))
    if not m:
        raise RefError("%s: cannot tell the format version from the file name "
                       "(expected golden_vN.inc)" % path)
    v = int(m.group(1))
    if v not in FORMAT_VERSIONS:
        raise RefError("%s: unsupported format version %d" % (path, v))
    return v


def cmd_golden(args):
    if len(args) > 1:
        raise RefError("usage: medcrypt_ref.py golden [golden_vN.inc]")
    path = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "..", "golden_v3.inc")
    version = golden_version(path)
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
        chunk, _, stages = encrypt_samples(key, (1, c, d, w, h, 1, nonce), samples, side,
                                           version)
        got = [hashlib.sha256(stages[k]).hexdigest()
               for k in ("permute", "henon", "logistic", "xchacha")]
        got.append(hashlib.sha256(chunk).hexdigest())
        want = stage_hashes + [chunk_hash]
        names = ["permutation", "henon", "logistic", "xchacha20", "chunk"]
        bad = [n for n, g, v in zip(names, got, want) if g != v]
        if bad:
            failed += 1
            print("FAIL golden v%d %dx%d C=%d D=%d: %s differ"
                  % (version, w, h, c, d, ", ".join(bad)))
        else:
            print("ok   golden v%d %dx%d C=%d D=%d: 4 stages and the chunk"
                  % (version, w, h, c, d))
        # the forward pipeline's result must decrypt again
        png = png_write(w, h, c, d, swap16(stages["xchacha"]) if d == 16 else stages["xchacha"],
                        [(CHUNK_TYPE, chunk)])
        if decrypt(key, png).samples != samples:
            failed += 1
            print("FAIL golden v%d %dx%d C=%d D=%d: round trip" % (version, w, h, c, d))
    print("%d passed, %d failed" % (len(vectors) - failed, failed))
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# The worked example of FORMAT 6 (`example`): every value a decryptor
# computes, for a 5x3 16-bit PGM small enough to print whole, and the
# block keys of a golden image with full blocks. docs/FORMAT.md holds this
# command's output verbatim; tests/ref_check.sh checks that it still does,
# and that the C decryptor turns the printed cipher PNG into the printed
# PGM.

EXAMPLE_KEY = bytes(range(32))
EXAMPLE_NONCE = bytes(range(0xA0, 0xB0))
EXAMPLE_W, EXAMPLE_H = 5, 3
EXAMPLE_PGM_HEADER = b"P5\n5 3\n65535\n"
EXAMPLE_NAME = b"example.pgm"


def example_files():
    """(key text, plain PGM bytes, cipher PNG bytes) of the worked example."""
    samples = [0x1001 * i for i in range(EXAMPLE_W * EXAMPLE_H)]
    plain = EXAMPLE_PGM_HEADER + b"".join(struct.pack(">H", v) for v in samples)
    side = (struct.pack(">HI", 2, len(EXAMPLE_PGM_HEADER)) + EXAMPLE_PGM_HEADER +
            struct.pack(">HI", 1, len(EXAMPLE_NAME)) + EXAMPLE_NAME)
    chunk, cipher, stages = encrypt_samples(
        EXAMPLE_KEY, (2, 1, 16, EXAMPLE_W, EXAMPLE_H, 1, EXAMPLE_NONCE), samples, side, 3)
    png = png_write(EXAMPLE_W, EXAMPLE_H, 1, 16, swap16(cipher), [(CHUNK_TYPE, chunk)], level=0)
    return samples, plain, side, chunk, stages, png


def _hex_lines(label, data, indent=4, width=32):
    """label, then the bytes in hex, `width` bytes a line, 2-byte groups."""
    lines = [label]
    for i in range(0, len(data), width):
        part = data[i:i + width].hex()
        lines.append(" " * indent + " ".join(part[j:j + 4] for j in range(0, len(part), 4)))
    return lines


def _words(ws, fmt="%08x"):
    return " ".join(fmt % v for v in ws)


def cmd_example(args):
    if len(args) > 1:
        raise RefError("usage: medcrypt_ref.py example [DIR]")
    samples, plain, side, chunk, stages, png = example_files()
    if args:
        # the key, the plain file and the cipher image, for a decryptor to try
        for name, data in (("example.key", (key_to_text(EXAMPLE_KEY) + "\n").encode()),
                           ("example.pgm", plain), ("example.pgm.enc.png", png)):
            with open(os.path.join(args[0], name), "wb") as f:
                f.write(data)
        return 0
    sub = Subkeys(EXAMPLE_KEY)
    header = chunk[0:56]
    tag = chunk[56:88]
    w = sm_words(seed_material(sub.chaos, tag))
    n = len(samples)
    L = 2 * n
    out = []
    add = out.append
    add("K = 00 01 02 ... 1f (bytes 0 to 31)")
    add("key text      " + key_to_text(EXAMPLE_KEY))
    out += _hex_lines("K_mac (1.3)", sub.mac)
    out += _hex_lines("K_chaos", sub.chaos)
    out += _hex_lines("K_stream", sub.stream)
    add("key id        " + sub.key_id.hex())
    add("")
    add("Philox4x32-10, ctr (c0, c1, c2, c3), key (k0, k1) -> (o0, o1, o2, o3):")
    for ctr, key in (((0, 0, 0, 0), (0, 0)),
                     ((M32, M32, M32, M32), (M32, M32)),
                     ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
                      (0xA4093822, 0x299F31D0))):
        add("    (%s), (%s) -> %s" % (_words(ctr), _words(key), _words(philox4x32_10(ctr, key))))
    add("")
    add("The plain file, example.pgm (%d bytes: a P5 header, then %d samples" % (len(plain), n))
    add("0x1001 * i, i = 0 .. %d, 16-bit big-endian):" % (n - 1))
    out += _hex_lines("", plain)[1:]
    out += _hex_lines("sample bytes (section 3: little-endian), L = %d" % L, stages["plain"])
    out += _hex_lines("side data, S = %d: record 2 (the PGM header), record 1 (the name)"
                      % len(side), side)
    add("nonce N       " + EXAMPLE_NONCE.hex())
    out += _hex_lines("header (mcRY bytes 0..56; version 3, original format 2, C = 1, D = 16,"
                      " W = 5, H = 3, F = 1)", header)
    out += _hex_lines("D_0 = SHA-512(sample bytes) (4.1, version 3: m = 1 chunk)",
                      hashlib.sha512(stages["plain"]).digest())
    out += _hex_lines("T (4.1)", tag)
    add("sm[0..16] (4.2)")
    add("    " + _words(w[0:8]))
    add("    " + _words(w[8:16]))
    add("")
    add("Stage 1 (4.8): nf = 0, so only the short block: n_s = %d samples, shuffled" % n)
    add("with the logistic orbit (0, 2^40); its out32 for i = %d down to 1:" % (n - 1))
    us = logistic_outputs(w, 0, V2_SHORT, n - 1, 2)
    for i in range(0, len(us), 7):
        add("    " + _words(us[i:i + 7]))
    add("    j = " + " ".join("%d" % ((u * (i + 1)) >> 32)
                             for u, i in zip(us, range(n - 1, 0, -1))))
    out += _hex_lines("after stage 1", stages["permute"])
    q = L // 8
    h0 = henon_outputs(w, 2, 0, 1)[0]
    hs = henon_outputs(w, 2, V2_SHORT, 1)[0]
    add("Stage 2: q = %d words, half = %d, %d bytes left over. Pair 0: h = the first" % (
        q, q // 2, L % 8))
    add("output of the Henon orbit (2, 0) = %016x (r1 = %d, r2 = %d); the" % (
        h0, (h0 >> 60) % 16, (h0 >> 56) % 16))
    add("odd word and the 6 bytes: h of the orbit (2, 2^40) = %016x" % hs)
    add("(w[2] rotated by %d, the 6 bytes by %d)" % ((hs >> 60) % 16, (hs >> 56) % 16))
    out += _hex_lines("after stage 2", stages["henon"])
    ks = [logistic_outputs(w, 3, l, 1, 2)[0] for l in range((L + 3) // 4)]
    add("Stage 3: keystream words 0 .. %d, the first out32 of the logistic orbits" % (len(ks) - 1))
    add("(3, 0) .. (3, %d):" % (len(ks) - 1))
    add("    " + _words(ks))
    out += _hex_lines("after stage 3", stages["logistic"])
    out += _hex_lines("Stage 4: XChaCha20 keystream from block counter 0 (4.7)",
                      xchacha20_keystream(sub.stream, tag[0:24], 0, L))
    out += _hex_lines("cipher sample bytes (little-endian)", stages["xchacha"])
    out += _hex_lines("encrypted side data (keystream from block counter %d)" % ((L + 63) // 64),
                      chunk[88:])
    out += _hex_lines("The cipher image, example.pgm.enc.png (%d bytes: IHDR, mcRY, one IDAT of"
                      " stored deflate, IEND):" % len(png), png)
    add("")
    # a golden image with full blocks (section 6 list): the block keys
    gw, gh, gc, gd = 64, 65, 3, 8
    gs = fill_pattern(gw, gh, gc, gd, GOLDEN_SEED)
    gside = struct.pack(">HI", 1, 10) + b"golden.png"
    gchunk, _, gstages = encrypt_samples(EXAMPLE_KEY, (1, gc, gd, gw, gh, 1, EXAMPLE_NONCE),
                                         gs, gside, 3)
    gw_ = sm_words(seed_material(sub.chaos, gchunk[56:88]))
    C, NC = v2_chunk(gd)
    nf = len(gs) // PERM_BLOCK
    keys = V2Keys(gw_, nf, C, NC)
    add("Full blocks: the golden image %dx%d, C = %d, D = %d (fill_pattern, seed 7;" % (
        gw, gh, gc, gd))
    add("n = %d samples: nf = %d full blocks in one group, G = %d, n_s = %d)" % (
        len(gs), nf, nf, len(gs) - nf * PERM_BLOCK))
    add("T             " + gchunk[56:88].hex())
    add("pi            " + " ".join("%d" % v for v in keys.pi))
    for p in range(nf):
        add("p = %d: e = %2d, z = %4d, m = %s" % (p, keys.e[p], keys.z[p],
                                                   " ".join("%d" % v for v in keys.m[p])))
    f = v2_member_offsets(gw_, 0, nf, NC)
    add("f[0..16] of group 0: " + " ".join("%d" % v for v in f[:16]))
    for name in ("permute", "henon", "logistic", "xchacha"):
        add("SHA-256 after %-9s %s" % (name, hashlib.sha256(gstages[name]).hexdigest()))
    print("\n".join("    " + l if l else "" for l in out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
