#!/usr/bin/env bash
# Regenerates the robustness vectors: damaged copies of the carrier vectors' files (tools/craft.py
# truncates and patches bytes at the offsets named here) and two resource bombs made with python.
# The expected outcome is a clean rejection or error, never a crash or a hang.
set -euo pipefail
cd "$(dirname "$0")"
C="python3 ../tools/craft.py"
F=../implicit/formats
A=../implicit/annex-e
$C truncate $A/j-bare.png png-truncated-in-xmp.png 120
$C patch-u32be $A/j-bare.png png-chunk-length-huge.png 33 2147483000
$C truncate $F/exiftool-xmp.jpg jpeg-truncated-in-app1.jpg 200
python3 - <<'PY'
import struct
d = bytearray(open("../implicit/formats/exiftool-xmp.jpg", "rb").read())
# first APPn segment after SOI: length field at offset 4; make it run past the end of the file
d[4:6] = struct.pack(">H", 0xFFF0)
open("jpeg-segment-past-eof.jpg", "wb").write(d[:4000] if len(d) > 4000 else d)
# WAV: the AIGC chunk's size field claims 1 GiB
w = bytearray(open("../implicit/formats/craft-aigc-chunk.wav", "rb").read())
i = w.rfind(b"AIGC")
w[i + 4:i + 8] = struct.pack("<I", 1 << 30)
open("wav-chunk-past-eof.wav", "wb").write(w)
# MP3: ID3v2 tag size (syncsafe) claims ~256 MiB
m = bytearray(open("../implicit/formats/ffmpeg-id3v24.mp3", "rb").read())
m[6:10] = bytes([0x7F, 0x7F, 0x7F, 0x7F])
open("mp3-id3-size-absurd.mp3", "wb").write(m)
# MP4: the first box (ftyp) claims a 64-bit size of 2^62
p = bytearray(open("../implicit/formats/ffmpeg-keys-first.mp4", "rb").read())
open("mp4-truncated-in-moov.mp4", "wb").write(p[:300])
q = p[:]
q[0:4] = struct.pack(">I", 1)
q[8:8] = struct.pack(">Q", 1 << 62)
open("mp4-box-size-huge.mp4", "wb").write(q)
# Deterministic garbage that starts like a PNG / a RIFF WAVE
open("garbage-png-signature.png", "wb").write(b"\x89PNG\r\n\x1a\n" + bytes((i * 37 + 11) % 256 for i in range(512)))
open("garbage-riff.wav", "wb").write(b"RIFF\xff\xff\xff\x7fWAVE" + bytes((i * 53 + 7) % 256 for i in range(512)))
# OOXML zip bomb: docProps/custom.xml inflates to 64 MiB of spaces
import zipfile, io
src = zipfile.ZipFile("../implicit/formats/python-custom.docx")
with zipfile.ZipFile("docx-zip-bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == "docProps/custom.xml":
            data = data.replace(b"<Properties", b" " * (64 << 20) + b"<Properties", 1)
        z.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 9, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
# PDF whose startxref points past the end of the file
pdf = open("../implicit/formats/exiftool-info.pdf", "rb").read()
i = pdf.rfind(b"startxref")
open("pdf-startxref-past-eof.pdf", "wb").write(pdf[:i] + b"startxref\n99999999\n%%EOF\n")
# XMP nested 10 000 elements deep inside a PNG
nest = "<b>" * 10000 + "</b>" * 10000
open("deep.xmp", "w").write("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description>" + nest + "</rdf:Description></rdf:RDF></x:xmpmeta>")
PY
$C png-xmp $F/../annex-e/plain.png xmp-nesting-bomb.png deep.xmp && rm deep.xmp
$C truncate $F/exiftool-xmp.gif gif-truncated.gif 60
$C truncate $F/ffmpeg.mkv mkv-truncated-in-tags.mkv 150
