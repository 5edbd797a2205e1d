#!/usr/bin/env python3
"""Hand-built container bytes for the interop traps that no real tool writes.

Standard library only, so that a standards body can rerun it anywhere. Every function takes an
input file made by a real tool (ImageMagick, sox, ffmpeg) and adds exactly the structure named,
nothing else. Used by the make.sh scripts beside the vectors; see their comments for which
vector each output is.

    craft.py png-itxt IN OUT KEYWORD TEXT      add an iTXt chunk (uncompressed) after IHDR
    craft.py png-text IN OUT KEYWORD TEXT      add a tEXt chunk (Latin-1) after IHDR
    craft.py png-ztxt IN OUT KEYWORD TEXT      add a zTXt chunk after IHDR
    craft.py png-xmp IN OUT PACKET_FILE        add an iTXt XML:com.adobe.xmp chunk after IHDR
    craft.py wav-chunk IN OUT ID TEXT          append a top-level RIFF chunk, patch the RIFF size
    craft.py wav-info IN OUT ID TEXT           append a LIST/INFO chunk holding one sub-chunk
    craft.py jpeg-app IN OUT N PAYLOAD_FILE    insert an APPn segment right after SOI
    craft.py truncate IN OUT N                 keep the first N bytes
    craft.py patch-u32be IN OUT OFFSET VALUE   overwrite 4 bytes big-endian at OFFSET
    craft.py json-file OUT TEXT                write TEXT to a file (UTF-8, no newline)
"""
import struct
import sys
import zlib


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_insert_after_ihdr(png, chunk):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    ihdr_len = struct.unpack(">I", png[8:12])[0]
    end = 8 + 12 + ihdr_len
    return png[:end] + chunk + png[end:]


def riff_append(data, chunk):
    assert data[:4] == b"RIFF"
    out = data + chunk
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def riff_chunk(cid, payload):
    cid = cid.encode("latin-1")
    assert len(cid) == 4
    pad = b"\0" if len(payload) % 2 else b""
    return cid + struct.pack("<I", len(payload)) + payload + pad


def main(argv):
    op = argv[1]
    if op in ("png-itxt", "png-text", "png-ztxt"):
        _, _, src, dst, keyword, text = argv
        kw = keyword.encode("latin-1") + b"\0"
        if op == "png-itxt":
            chunk = png_chunk(b"iTXt", kw + b"\0\0\0\0" + text.encode("utf-8"))
        elif op == "png-text":
            chunk = png_chunk(b"tEXt", kw + text.encode("latin-1"))
        else:
            chunk = png_chunk(b"zTXt", kw + b"\0" + zlib.compress(text.encode("latin-1")))
        write(dst, png_insert_after_ihdr(read(src), chunk))
    elif op == "png-xmp":
        _, _, src, dst, packet_file = argv
        chunk = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + read(packet_file))
        write(dst, png_insert_after_ihdr(read(src), chunk))
    elif op == "wav-chunk":
        _, _, src, dst, cid, text = argv
        write(dst, riff_append(read(src), riff_chunk(cid, text.encode("utf-8"))))
    elif op == "wav-info":
        _, _, src, dst, cid, text = argv
        sub = riff_chunk(cid, text.encode("utf-8") + b"\0")
        write(dst, riff_append(read(src), b"LIST" + struct.pack("<I", 4 + len(sub)) + b"INFO" + sub))
    elif op == "jpeg-app":
        _, _, src, dst, n, payload_file = argv
        data = read(src)
        assert data[:2] == b"\xff\xd8", "not a JPEG"
        payload = read(payload_file)
        seg = bytes([0xFF, 0xE0 + int(n)]) + struct.pack(">H", len(payload) + 2) + payload
        write(dst, data[:2] + seg + data[2:])
    elif op == "truncate":
        _, _, src, dst, n = argv
        write(dst, read(src)[: int(n)])
    elif op == "patch-u32be":
        _, _, src, dst, offset, value = argv
        data = bytearray(read(src))
        o = int(offset)
        data[o : o + 4] = struct.pack(">I", int(value) & 0xFFFFFFFF)
        write(dst, bytes(data))
    elif op == "json-file":
        _, _, dst, text = argv
        write(dst, text.encode("utf-8"))
    else:
        sys.exit(f"craft.py: unknown operation {op}")


if __name__ == "__main__":
    main(sys.argv)
