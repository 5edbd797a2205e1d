#!/bin/sh
# Regenerates the PNG inputs of the manifests in this folder (ImageMagick `convert` + python3
# stdlib). The label chunks are written byte by byte here, from the text of Annex E and the image
# guide PG-20259A (XMP packet in an iTXt chunk, keyword XML:com.adobe.xmp, property TC260:AIGC),
# never by the reference implementation, so the reference is checked against independent bytes.
set -eu
cd "$(dirname "$0")"

# A 4x4 solid image with no ancillary chunks (no dates: the files must be reproducible).
convert -size 4x4 xc:'#3366cc' -strip -define png:exclude-chunks=all \
    +set date:create +set date:modify plain.png

python3 - <<'PY'
import struct, zlib

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

def chunks(png):
    pos, out = 8, []
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        out.append(png[pos:pos + 12 + n])
        pos += 12 + n
    return out

def insert_after_ihdr(png, *extra):
    cs = chunks(png)
    return png[:8] + cs[0] + b"".join(extra) + b"".join(cs[1:])

def xmp_itxt(json_text):
    esc = json_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    packet = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
              '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
              '<TC260:AIGC>' + esc + '</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    # iTXt: keyword \0, compression flag 0, method 0, language \0, translated keyword \0, text
    return chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + packet.encode("utf-8"))

# Annex E b) key order; ContentPropagator/PropagateID equal to the producer's (Annex E note 1).
def label(value, produce_id="20250901-0001"):
    return ('{"Label":"%s","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"%s",'
            '"ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"%s",'
            '"ReservedCode2":""}' % (value, produce_id, produce_id))

plain = open("plain.png", "rb").read()
open("xmp-valid.png", "wb").write(insert_after_ihdr(plain, xmp_itxt(label("1"))))
open("xmp-label-4.png", "wb").write(insert_after_ihdr(plain, xmp_itxt(label("4"))))
# Two labels that differ (ProduceID): XMP plus a tEXt chunk with keyword AIGC.
open("conflict.png", "wb").write(insert_after_ihdr(
    plain, xmp_itxt(label("1")), chunk(b"tEXt", b"AIGC\0" + label("1", "20250901-0002").encode())))
# The label under a keyword without "AIGC" (Annex E a): not a label at all.
open("wrong-keyword.png", "wb").write(insert_after_ihdr(
    plain, chunk(b"tEXt", b"Comment\0" + label("1").encode())))
# Annex E b)/c): ProduceID missing; Label as a JSON number instead of a string.
missing = label("1").replace('"ProduceID":"20250901-0001",', '')
open("xmp-missing-produceid.png", "wb").write(insert_after_ihdr(plain, xmp_itxt(missing)))
open("xmp-label-numeric.png", "wb").write(insert_after_ihdr(plain, xmp_itxt(label("1").replace('"Label":"1"', '"Label":1'))))
# Cut inside the XMP chunk: the container is broken.
valid = open("xmp-valid.png", "rb").read()
open("truncated.png", "wb").write(valid[:60])
PY
