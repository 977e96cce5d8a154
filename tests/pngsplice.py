#!/usr/bin/env python3
"""Splices PNG chunks into a copy of a PNG, as another program would.

    pngsplice.py IN OUT [WHERE:TYPE[=TEXT | :HEX]]...

WHERE is "ihdr" (right after IHDR, the first chunk) or "iend" (right
before the IEND that must end IN); chunks go in the order given. The
chunk's data is TEXT (Python escapes: "Comment\\0x") or HEX
("07ea0c0708000000"), or empty; its CRC is made right (PNG §5.3). For
the shell suites (cli.sh, cli_analyze.sh, web_api.sh), which each spliced
chunks with a copy of the same few lines. Exit 2 with a message on a bad
argument or an IN that does not end with IEND.
"""
import codecs
import struct
import sys
import zlib


def chunk(ctype, data):
    return (struct.pack(">I", len(data)) + ctype + data +
            struct.pack(">I", zlib.crc32(ctype + data) & 0xffffffff))


def parse(arg):
    where, _, rest = arg.partition(":")
    if where not in ("ihdr", "iend") or len(rest) < 4:
        raise ValueError("want WHERE:TYPE[=TEXT | :HEX], WHERE ihdr or iend: " + arg)
    ctype, rest = rest[:4].encode("latin-1"), rest[4:]
    if rest.startswith("="):
        data = codecs.decode(rest[1:], "unicode_escape").encode("latin-1")
    elif rest.startswith(":"):
        data = bytes.fromhex(rest[1:])
    elif rest == "":
        data = b""
    else:
        raise ValueError("want WHERE:TYPE[=TEXT | :HEX]: " + arg)
    return where, chunk(ctype, data)


def main(argv):
    if len(argv) < 3:
        raise ValueError("usage: pngsplice.py IN OUT [WHERE:TYPE[=TEXT | :HEX]]...")
    png = open(argv[1], "rb").read()
    end = len(png) - 12
    if png[12:16] != b"IHDR" or png[end + 4:end + 8] != b"IEND":
        raise ValueError(argv[1] + ": not a PNG that opens with IHDR and ends with IEND")
    after_ihdr, before_iend = b"", b""
    for arg in argv[3:]:
        where, c = parse(arg)
        if where == "ihdr":
            after_ihdr += c
        else:
            before_iend += c
    with open(argv[2], "wb") as out:
        out.write(png[:33] + after_ihdr + png[33:end] + before_iend + png[end:])


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (OSError, ValueError) as e:
        sys.stderr.write("pngsplice.py: %s\n" % e)
        sys.exit(2)
