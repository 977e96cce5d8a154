#!/usr/bin/env python3
"""Hostile input files for medcrypt (issue 9, "Bad-input suite").

    python3 tests/bad/gen.py OUTDIR [--testdata DIR] [--cipher CIPHER.png]

Writes every hostile file into OUTDIR, each named for what it is:

    plain_*.EXT   must be refused by `medcrypt encrypt`
    cipher_*.png  must be refused by `medcrypt decrypt` (made from CIPHER,
                  a real cipher image the runner makes with the binary;
                  every edit keeps the PNG CRCs right, so the container
                  checks themselves are tested, not only the CRC)

and, into OUTDIR/ok/, the well-formed files the hostile ones are cut or
edited from: the runner checks that those are accepted, so that each
refusal is due to the damage and not to a base file medcrypt never read.

Python 3 standard library only; deterministic (no randomness).
"""
import os
import struct
import sys
import zlib

SIG = b'\x89PNG\r\n\x1a\n'


# ---------------------------------------------------------------------
# PNG

def chunk(ctype, data, crc=None):
    if crc is None:
        crc = zlib.crc32(ctype + data) & 0xffffffff
    return struct.pack('>I', len(data)) + ctype + data + struct.pack('>I', crc)


def ihdr(w, h, depth=8, ctype=0, interlace=0):
    return chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, interlace))


def png(w, h, depth=8, ctype=0, rows=None, raw=None, idat=None):
    """A PNG; raw = the filtered scanlines (default: zeros for all rows)."""
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    rowlen = (w * ch * depth + 7) // 8
    if raw is None:
        n = h if rows is None else rows
        raw = b''.join(b'\x00' + bytes((x * 7 + y * 13) & 255 for x in range(rowlen))
                       for y in range(n))
    if idat is None:
        idat = zlib.compress(raw, 9)
    return SIG + ihdr(w, h, depth, ctype) + chunk(b'IDAT', idat) + chunk(b'IEND', b'')


def chunks(d):
    """[(type, offset of the length field, data length)] of a PNG."""
    i, out = 8, []
    while i + 12 <= len(d):
        n, = struct.unpack('>I', d[i:i + 4])
        out.append((d[i + 4:i + 8], i, n))
        i += 12 + n
    return out


def find(d, ctype):
    for t, off, n in chunks(d):
        if t == ctype:
            return off, n
    raise ValueError('no %r chunk' % ctype)


# ---------------------------------------------------------------------
# PGM / PPM

def pgm(w=4, h=3, maxval=255, magic=b'P5'):
    if magic in (b'P5', b'P6'):
        ch = 3 if magic == b'P6' else 1
        bps = 2 if maxval > 255 else 1
        raster = bytes((i * 5) & 255 for i in range(w * h * ch * bps))
    else:
        raster = b''
    return magic + b'\n%d %d\n%d\n' % (w, h, maxval) + raster


# ---------------------------------------------------------------------
# BMP (BITMAPFILEHEADER + BITMAPINFOHEADER)

def bmp(w=4, h=3, bpp=8, off=None, size_field=None, palette=None, pixels=None):
    if palette is None:
        palette = b''.join(bytes((i, i, i, 0)) for i in range(256)) if bpp == 8 else b''
    rowlen = ((abs(w) * bpp + 31) // 32) * 4 if bpp > 0 else 4
    if pixels is None:
        # At most 4 KiB: a huge header must not make a huge file.
        pixels = bytes((i * 3) & 255 for i in range(min(rowlen * abs(h), 4096)))
    hdr_len = 14 + 40 + len(palette)
    if off is None:
        off = hdr_len
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, bpp, 0, len(pixels), 2835, 2835,
                       len(palette) // 4, 0)
    total = hdr_len + len(pixels)
    fh = b'BM' + struct.pack('<IHHI', total if size_field is None else size_field, 0, 0, off)
    return fh + info + palette + pixels


# ---------------------------------------------------------------------
# DICOM Part 10, explicit VR little endian (PS3.5 §7.1.2)

EXPLICIT = b'1.2.840.10008.1.2.1\x00'
LONG_VRS = (b'OB', b'OW', b'OF', b'SQ', b'UT', b'UN', b'OD', b'OL', b'UC', b'UR', b'OV')


def el(group, elem, vr, value, length=None):
    """One explicit VR LE element; length overrides the length field."""
    n = len(value) if length is None else length
    if vr in LONG_VRS:
        return struct.pack('<HH', group, elem) + vr + b'\x00\x00' + struct.pack('<I', n) + value
    return struct.pack('<HH', group, elem) + vr + struct.pack('<H', n) + value


def us(group, elem, v):
    return el(group, elem, b'US', struct.pack('<H', v))


def meta():
    body = (el(0x0002, 0x0001, b'OB', b'\x00\x01') +
            el(0x0002, 0x0002, b'UI', b'1.2.840.10008.5.1.4.1.1.7\x00') +
            el(0x0002, 0x0003, b'UI', b'1.2.3.4.5.6.7.8.9\x00') +
            el(0x0002, 0x0010, b'UI', EXPLICIT))
    return el(0x0002, 0x0000, b'UL', struct.pack('<I', len(body))) + body


def dicom(rows=4, cols=4, bits=16, frames=None, pixel_len=None, before_pixels=b'',
          pixels=None, tail=b''):
    """A small MONOCHROME2 image; returns (bytes, offset of the pixel value)."""
    ds = (el(0x0008, 0x0060, b'CS', b'OT') +
          el(0x0010, 0x0010, b'PN', b'TEST^HOSTILE') +
          us(0x0028, 0x0002, 1) +
          el(0x0028, 0x0004, b'CS', b'MONOCHROME2 '))
    if frames is not None:
        ds += el(0x0028, 0x0008, b'IS', (b'%d' % frames).ljust(2, b' '))
    ds += (us(0x0028, 0x0010, rows) + us(0x0028, 0x0011, cols) +
           us(0x0028, 0x0100, bits) + us(0x0028, 0x0101, min(bits, 16)) +
           us(0x0028, 0x0102, max(min(bits, 16) - 1, 0)) + us(0x0028, 0x0103, 0))
    ds += before_pixels
    if pixels is None:
        n = rows * cols * (frames or 1) * max(bits, 8) // 8
        pixels = bytes((i * 11) & 255 for i in range(n))
    head = b'\x00' * 128 + b'DICM' + meta() + ds
    vr = b'OW' if bits > 8 else b'OB'
    pe = el(0x7FE0, 0x0010, vr, b'', length=len(pixels) if pixel_len is None else pixel_len)
    return head + pe + pixels + tail, len(head) + len(pe)


# ---------------------------------------------------------------------
# The files

def plain_files(td):
    out = {}
    ok = {}

    # Empty and wrong magic.
    out['plain_empty.png'] = b''
    out['plain_empty.dcm'] = b''
    base = png(8, 4)
    ok['ok_8x4.png'] = base
    out['plain_magic_png_one_byte_off.png'] = b'\x89PNX' + base[4:]
    out['plain_magic_pnm_P7.pgm'] = b'P7' + pgm()[2:]
    out['plain_magic_bmp_BX.bmp'] = b'BX' + bmp()[2:]
    out['plain_magic_dicm_missing.dcm'] = b'\x00' * 128 + b'DICX' + dicom()[0][132:]
    out['plain_magic_text.jpg'] = b'Patient notes, not an image.\n'
    out['plain_magic_jpeg_soi_only_then_junk.jpg'] = b'\xff\xd8' + b'\x00' * 200

    # PNG: truncated at each structure boundary.
    ihdr_end = 8 + 25
    idat_off, idat_n = find(base, b'IDAT')
    iend_off, _ = find(base, b'IEND')
    out['plain_png_trunc_in_signature.png'] = base[:5]
    out['plain_png_trunc_after_signature.png'] = base[:8]
    out['plain_png_trunc_in_ihdr.png'] = base[:8 + 12]
    out['plain_png_trunc_after_ihdr.png'] = base[:ihdr_end]
    out['plain_png_trunc_in_idat_header.png'] = base[:idat_off + 6]
    out['plain_png_trunc_in_idat_data.png'] = base[:idat_off + 8 + idat_n // 2]
    out['plain_png_trunc_before_iend.png'] = base[:iend_off]
    out['plain_png_trunc_in_iend.png'] = base[:iend_off + 8]
    # PNG: dimensions, data, CRCs, zlib.
    bomb = zlib.compress(b'\x00' * (1 << 20), 9)  # 1 MiB of zeros in ~1 KB
    out['plain_png_bomb_100000x100000.png'] = (SIG + ihdr(100000, 100000) + chunk(b'IDAT', bomb) +
                                               chunk(b'IEND', b''))
    out['plain_png_bomb_65535x65535_rgba16.png'] = (SIG + ihdr(65535, 65535, 16, 6) +
                                                    chunk(b'IDAT', bomb) + chunk(b'IEND', b''))
    out['plain_png_width_zero.png'] = SIG + ihdr(0, 4) + chunk(b'IDAT', bomb) + chunk(b'IEND', b'')
    out['plain_png_width_2pow31.png'] = (SIG + ihdr(0x80000000, 1) + chunk(b'IDAT', bomb) +
                                         chunk(b'IEND', b''))
    out['plain_png_idat_short_half_rows.png'] = png(100, 100, rows=50)
    # Within the pixel cap, but ~1 KB of data for 16384x16384: must not
    # take long or hold much after the data runs out.
    out['plain_png_idat_short_16384x16384.png'] = (SIG + ihdr(16384, 16384) + chunk(b'IDAT', bomb) +
                                                   chunk(b'IEND', b''))
    out['plain_png_idat_missing.png'] = SIG + ihdr(8, 4) + chunk(b'IEND', b'')
    out['plain_png_crc_ihdr.png'] = (SIG + ihdr(8, 4)[:-4] + b'\xde\xad\xbe\xef' +
                                     base[ihdr_end:])
    bad_idat = bytearray(base)
    bad_idat[idat_off + 8 + idat_n + 3] ^= 0x55  # the IDAT CRC
    out['plain_png_crc_idat.png'] = bytes(bad_idat)
    out['plain_png_bad_zlib.png'] = (SIG + ihdr(8, 4) + chunk(b'IDAT', b'\x78\x9c' + b'\xff' * 40) +
                                     chunk(b'IEND', b''))
    out['plain_png_bad_zlib_header.png'] = (SIG + ihdr(8, 4) +
                                            chunk(b'IDAT', b'\x00\x00' + base[idat_off + 10:
                                                                             idat_off + 8 + idat_n]) +
                                            chunk(b'IEND', b''))
    out['plain_png_bad_filter_type_9.png'] = png(8, 4, raw=b''.join(b'\x09' + bytes(8)
                                                                    for _ in range(4)))
    out['plain_png_depth_3.png'] = png(8, 4, depth=3, raw=bytes(4 * 4))
    out['plain_png_color_type_5.png'] = (SIG + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 4, 8, 5,
                                                                          0, 0, 0)) +
                                         base[ihdr_end:])
    out['plain_png_palette_without_plte.png'] = (SIG + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 4,
                                                                                 8, 3, 0, 0, 0)) +
                                                 base[ihdr_end:])
    out['plain_png_chunk_length_2pow31.png'] = (base[:idat_off] + struct.pack('>I', 0x7fffffff) +
                                                base[idat_off + 4:])

    # PGM / PPM.
    p5 = pgm(4, 3)
    ok['ok_4x3.pgm'] = p5
    hdr_len = len(b'P5\n4 3\n255\n')
    out['plain_pgm_trunc_magic_only.pgm'] = b'P5'
    out['plain_pgm_trunc_in_header.pgm'] = b'P5\n4 3\n'
    out['plain_pgm_trunc_header_no_raster.pgm'] = p5[:hdr_len]
    out['plain_pgm_trunc_in_raster.pgm'] = p5[:hdr_len + 5]
    p6 = pgm(4, 3, magic=b'P6')
    ok['ok_4x3.ppm'] = p6
    out['plain_ppm_trunc_header_no_raster.ppm'] = p6[:hdr_len]
    out['plain_ppm_trunc_in_raster.ppm'] = p6[:hdr_len + 20]
    out['plain_pgm_maxval_0.pgm'] = b'P5\n4 3\n0\n' + bytes(12)
    out['plain_pgm_maxval_70000.pgm'] = b'P5\n4 3\n70000\n' + bytes(24)
    out['plain_pgm_p2_sample_above_maxval.pgm'] = b'P2\n2 2\n255\n0 1 300 2\n'
    out['plain_pgm_p2_negative_sample.pgm'] = b'P2\n2 2\n255\n0 1 -3 2\n'
    out['plain_pgm_p2_too_few_samples.pgm'] = b'P2\n2 2\n255\n0 1 3\n'
    out['plain_pgm_size_overflow_65536x65537.pgm'] = b'P5\n65536 65537\n255\n' + bytes(64)
    out['plain_pgm_size_overflow_2pow32x1.pgm'] = b'P5\n4294967297 1\n255\n' + bytes(64)
    out['plain_pgm_size_20_digits.pgm'] = b'P5\n99999999999999999999 1\n255\n' + bytes(64)
    out['plain_pgm_width_zero.pgm'] = b'P5\n0 3\n255\n'
    out['plain_ppm_p3_sample_above_maxval.ppm'] = b'P3\n1 1\n15\n1 2 16\n'

    # BMP.
    b8 = bmp(4, 3, 8)
    ok['ok_4x3_8bit.bmp'] = b8
    out['plain_bmp_trunc_in_file_header.bmp'] = b8[:7]
    out['plain_bmp_trunc_after_file_header.bmp'] = b8[:14]
    out['plain_bmp_trunc_in_info_header.bmp'] = b8[:30]
    out['plain_bmp_trunc_after_info_header.bmp'] = b8[:54]
    out['plain_bmp_trunc_in_palette.bmp'] = b8[:54 + 512]
    out['plain_bmp_trunc_after_palette.bmp'] = b8[:54 + 1024]
    out['plain_bmp_trunc_in_pixels.bmp'] = b8[:54 + 1024 + 5]
    out['plain_bmp_negative_width.bmp'] = bmp(-4, 3, 24)
    out['plain_bmp_huge_width_height.bmp'] = bmp(0x7fffffff, 0x7fffffff, 24)
    out['plain_bmp_huge_height_negative.bmp'] = bmp(4, -0x80000000, 24)
    out['plain_bmp_100000x100000.bmp'] = bmp(100000, 100000, 24)
    out['plain_bmp_offset_past_eof.bmp'] = bmp(4, 3, 24, off=1 << 20)
    out['plain_bmp_offset_2pow32_minus_1.bmp'] = bmp(4, 3, 24, off=0xffffffff)
    out['plain_bmp_bpp_0.bmp'] = bmp(4, 3, 0)
    out['plain_bmp_bpp_7.bmp'] = bmp(4, 3, 7)
    out['plain_bmp_bpp_64.bmp'] = bmp(4, 3, 64)
    out['plain_bmp_palette_index_past_palette.bmp'] = bmp(4, 3, 8, palette=bytes(8),
                                                          pixels=b'\xff' * 12)
    info_huge = bytearray(b8)
    struct.pack_into('<I', info_huge, 14, 0x7ffffff0)  # biSize
    out['plain_bmp_info_header_size_huge.bmp'] = bytes(info_huge)

    # DICOM.
    dcm, px = dicom()
    ok['ok_4x4.dcm'] = dcm
    meta_end = 132 + len(meta())
    out['plain_dcm_trunc_in_preamble.dcm'] = dcm[:64]
    out['plain_dcm_trunc_after_preamble.dcm'] = dcm[:128]
    out['plain_dcm_trunc_after_dicm.dcm'] = dcm[:132]
    out['plain_dcm_trunc_in_meta_group.dcm'] = dcm[:132 + 30]
    out['plain_dcm_trunc_after_meta_group.dcm'] = dcm[:meta_end]
    out['plain_dcm_trunc_in_element_header.dcm'] = dcm[:meta_end + 8 + 2 + 5]
    out['plain_dcm_trunc_in_pixel_header.dcm'] = dcm[:px - 6]
    out['plain_dcm_trunc_in_pixel_data.dcm'] = dcm[:px + 7]
    out['plain_dcm_element_length_past_eof.dcm'] = dicom(
        before_pixels=el(0x0029, 0x0010, b'LO', b'X', length=0xfff0))[0]
    out['plain_dcm_long_element_length_2pow32_minus_2.dcm'] = dicom(
        before_pixels=el(0x0029, 0x1010, b'OB', b'\x00\x00', length=0xfffffffe))[0]
    out['plain_dcm_pixel_length_past_eof.dcm'] = dicom(pixel_len=1 << 20)[0]
    out['plain_dcm_pixels_shorter_than_rows_cols.dcm'] = dicom(pixels=bytes(16))[0]
    out['plain_dcm_pixels_longer_than_rows_cols.dcm'] = dicom(pixels=bytes(4 * 4 * 2 * 3))[0]
    out['plain_dcm_frames_3_pixels_for_1.dcm'] = dicom(frames=3, pixels=bytes(4 * 4 * 2))[0]
    out['plain_dcm_frames_0.dcm'] = dicom(frames=0, pixels=bytes(4 * 4 * 2))[0]
    out['plain_dcm_rows_cols_65535.dcm'] = dicom(rows=65535, cols=65535, pixels=bytes(64))[0]
    # Sequences nested 10000 deep (undefined lengths, properly closed).
    depth = 10000
    sq_open = struct.pack('<HH', 0x0040, 0x0275) + b'SQ\x00\x00' + b'\xff\xff\xff\xff'
    item_open = struct.pack('<HHI', 0xfffe, 0xe000, 0xffffffff)
    item_close = struct.pack('<HHI', 0xfffe, 0xe00d, 0)
    sq_close = struct.pack('<HHI', 0xfffe, 0xe0dd, 0)
    nest = (sq_open + item_open) * depth + (item_close + sq_close) * depth
    out['plain_dcm_sequences_nested_10000_deep.dcm'] = dicom(before_pixels=nest)[0]
    # Defined lengths, 10000 deep: each level's length encloses the rest.
    heads = []
    inner = 0  # length of what the current level encloses
    for _ in range(depth):  # from the innermost level out
        heads.append(struct.pack('<HHI', 0xfffe, 0xe000, inner))
        inner += 8
        heads.append(struct.pack('<HH', 0x0040, 0x0275) + b'SQ\x00\x00' + struct.pack('<I', inner))
        inner += 12
    out['plain_dcm_sequences_nested_10000_deep_defined.dcm'] = dicom(
        before_pixels=b''.join(reversed(heads)))[0]
    never = (struct.pack('<HH', 0x0040, 0x0275) + b'SQ\x00\x00' + b'\xff\xff\xff\xff' + item_open +
             el(0x0008, 0x0100, b'SH', b'CODE') * 50)
    out['plain_dcm_undefined_length_never_ends.dcm'] = dicom()[0][:px - 12] + never
    out['plain_dcm_bits_allocated_12.dcm'] = dicom(bits=12)[0]
    out['plain_dcm_bits_allocated_32.dcm'] = dicom(bits=32)[0]
    out['plain_dcm_bits_allocated_0.dcm'] = dicom(bits=0, pixels=bytes(16))[0]
    out['plain_dcm_no_transfer_syntax.dcm'] = (b'\x00' * 128 + b'DICM' +
                                               el(0x0002, 0x0000, b'UL', struct.pack('<I', 0)) +
                                               dcm[meta_end:])
    out['plain_dcm_no_pixel_data.dcm'] = dcm[:px - 12]

    # JPEG: cut at each marker of a real one.
    jpg_path = os.path.join(td, 'jpeg', 'rgb_100x100.jpg') if td else None
    if jpg_path and os.path.exists(jpg_path):
        j = open(jpg_path, 'rb').read()
        ok['ok_rgb_100x100.jpg'] = j
        sof = j.find(b'\xff\xc0')
        if sof < 0:
            sof = j.find(b'\xff\xc2')
        sos = j.find(b'\xff\xda')
        sos_len, = struct.unpack('>H', j[sos + 2:sos + 4])
        scan = sos + 2 + sos_len
        out['plain_jpeg_trunc_after_soi.jpg'] = j[:2]
        out['plain_jpeg_trunc_before_sof.jpg'] = j[:sof]
        out['plain_jpeg_trunc_in_sof.jpg'] = j[:sof + 6]
        out['plain_jpeg_trunc_before_sos.jpg'] = j[:sos]
        out['plain_jpeg_trunc_after_sos_header.jpg'] = j[:scan]
        out['plain_jpeg_trunc_mid_scan.jpg'] = j[:scan + (len(j) - scan) // 2]
        out['plain_jpeg_trunc_before_eoi.jpg'] = j[:-2]
        huge = bytearray(j)
        struct.pack_into('>HH', huge, sof + 5, 65500, 65500)  # height, width
        out['plain_jpeg_sof_65500x65500.jpg'] = bytes(huge)
        zero = bytearray(j)
        struct.pack_into('>H', zero, sof + 7, 0)  # width 0
        out['plain_jpeg_sof_width_0.jpg'] = bytes(zero)
    return out, ok


def fix(d, off):
    """Recomputes the CRC of the chunk whose length field is at off."""
    n, = struct.unpack('>I', d[off:off + 4])
    d[off + 8 + n:off + 12 + n] = struct.pack('>I', zlib.crc32(bytes(d[off + 4:off + 8 + n])) &
                                               0xffffffff)


def cipher_files(c):
    out = {}
    m_off, m_n = find(c, b'mcRY')
    i_off, i_n = find(c, b'IDAT')
    data = c[m_off + 8:m_off + 8 + m_n]
    mcry = c[m_off:m_off + 12 + m_n]
    idat = c[i_off:i_off + 12 + i_n]
    head = c[:m_off]               # signature + IHDR
    rest = c[m_off + 12 + m_n:]    # IDAT + IEND
    S, = struct.unpack('>I', data[48:52])

    def with_data(d):
        return head + chunk(b'mcRY', bytes(d)) + rest

    def field(offset, fmt, value):
        d = bytearray(data)
        struct.pack_into(fmt, d, offset, value)
        return with_data(d)

    out['cipher_mcry_cut_at_eof.png'] = c[:m_off + 8 + m_n // 2]
    out['cipher_mcry_cut_header_only.png'] = with_data(data[:40])
    out['cipher_mcry_cut_side_data.png'] = with_data(data[:88 + S // 2])
    out['cipher_mcry_cut_to_zero.png'] = with_data(b'')
    out['cipher_side_length_too_big_by_1.png'] = field(48, '>I', S + 1)
    out['cipher_side_length_2pow32_minus_1.png'] = field(48, '>I', 0xffffffff)
    out['cipher_side_length_too_small_by_1.png'] = field(48, '>I', S - 1)
    out['cipher_side_length_zero.png'] = field(48, '>I', 0)
    out['cipher_width_disagrees_with_ihdr.png'] = field(12, '>I',
                                                         struct.unpack('>I', data[12:16])[0] + 1)
    out['cipher_height_disagrees_with_ihdr.png'] = field(16, '>I', 0x7fffffff)
    out['cipher_channels_5.png'] = field(10, 'B', 5)
    out['cipher_bits_12.png'] = field(11, 'B', 12)
    out['cipher_frames_0.png'] = field(20, '>I', 0)
    out['cipher_frames_not_dividing_height.png'] = field(20, '>I', 7)
    out['cipher_reserved_nonzero.png'] = field(52, '>I', 1)
    out['cipher_original_format_9.png'] = field(9, 'B', 9)
    out['cipher_version_4.png'] = field(8, 'B', 4)
    # A v3 cipher image relabelled v2 or v1: the version is under the tag.
    out['cipher_version_2_downgrade.png'] = field(8, 'B', 2)
    out['cipher_version_1_downgrade.png'] = field(8, 'B', 1)
    out['cipher_version_0.png'] = field(8, 'B', 0)
    out['cipher_magic_wrong.png'] = with_data(b'medcrypX' + data[8:])
    out['cipher_two_mcry_chunks.png'] = head + mcry + mcry + rest
    out['cipher_mcry_after_idat.png'] = head + idat + mcry + chunk(b'IEND', b'')
    out['cipher_mcry_missing.png'] = head + rest
    out['cipher_ihdr_width_changed.png'] = bytes(bytearray(head[:16]) +
                                                 struct.pack('>I', struct.unpack(
                                                     '>I', head[16:20])[0] + 1)) + head[20:]
    d = bytearray(out['cipher_ihdr_width_changed.png'])
    fix(d, 8)
    out['cipher_ihdr_width_changed.png'] = bytes(d) + mcry + rest
    out['cipher_idat_cut.png'] = head + mcry + chunk(b'IDAT', c[i_off + 8:i_off + 8 + i_n // 2]) + \
        chunk(b'IEND', b'')
    out['cipher_iend_missing.png'] = head + mcry + idat
    out['cipher_bytes_after_iend.png'] = c + b'\x00' * 16
    out['cipher_idat_bomb_1mib_zeros.png'] = head + mcry + chunk(
        b'IDAT', zlib.compress(b'\x00' * (1 << 20), 9)) + chunk(b'IEND', b'')
    return out


def main():
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    outdir, td, cipher = args[0], None, None
    i = 1
    while i < len(args):
        if args[i] == '--testdata':
            td = args[i + 1]
        elif args[i] == '--cipher':
            cipher = args[i + 1]
        else:
            sys.stderr.write('gen.py: unknown argument %s\n' % args[i])
            return 2
        i += 2
    files, ok = plain_files(td)
    if cipher:
        files.update(cipher_files(open(cipher, 'rb').read()))
    os.makedirs(os.path.join(outdir, 'ok'), exist_ok=True)
    for name, d in sorted(files.items()):
        with open(os.path.join(outdir, name), 'wb') as f:
            f.write(d)
    for name, d in sorted(ok.items()):
        with open(os.path.join(outdir, 'ok', name), 'wb') as f:
            f.write(d)
    print(len(files))
    return 0


if __name__ == '__main__':
    sys.exit(main())
