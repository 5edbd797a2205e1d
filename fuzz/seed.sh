#!/usr/bin/env bash
# Seed every fuzz target's corpus with the inputs of all test vectors (vectors/**, without the
# manifests and generator scripts). Every target gets every input: a parser rejects foreign
# formats quickly, and libFuzzer keeps only the inputs that add coverage.
set -euo pipefail
cd "$(dirname "$0")"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^aigc-label-fuzz$')
for t in $targets; do
  mkdir -p "corpus/$t"
  find ../vectors -type f ! -name '*.yaml' ! -name '*.py' ! -name '*.sh' -print0 |
    while IFS= read -r -d '' f; do
      # Flatten the path into the name so that same-named vectors in different folders coexist.
      cp "$f" "corpus/$t/$(echo "${f#../vectors/}" | tr '/' '_')"
    done
done
echo "seeded: $targets"

# The text targets also get the XMP packets and label JSON texts found inside the vectors.
python3 - <<'PY'
import pathlib, re
root = pathlib.Path("../vectors")
xmp = re.compile(rb"(<\?xpacket begin.*?<\?xpacket end=[^>]*>|<x:xmpmeta.*?</x:xmpmeta>)", re.S)
label = re.compile(rb"\{[^{}]*(?:\{[^{}]*\}[^{}]*)?\"Label\"[^{}]*(?:\{[^{}]*\}[^{}]*)?\}")
n = 0
for f in root.rglob("*"):
    if not f.is_file() or f.suffix in (".py", ".sh"):
        continue
    data = f.read_bytes()
    for i, m in enumerate(xmp.findall(data)[:4]):
        pathlib.Path(f"corpus/xmp/x-{f.name}-{i}").write_bytes(m); n += 1
    for i, m in enumerate(label.findall(data)[:8]):
        pathlib.Path(f"corpus/label_json/j-{f.name}-{i}").write_bytes(m); n += 1
print(f"extracted {n} XMP packets and label texts")
PY

# The vectors hold few TIFFs: add small ones with each label carrier the TIFF reader knows
# (XMP tag 700, ImageDescription in IFD0, UserComment in an Exif IFD), in both byte orders.
python3 - <<'PY'
import pathlib, struct
label = b'{"AIGC":{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"1"}}'
xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>{}</TC260:AIGC>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
def tiff(order, ifd0, exif=None):
    e = "<" if order == b"II" else ">"
    out = bytearray(order + struct.pack(e + "HI", 42, 8))
    blobs, n0 = [], len(ifd0) + (1 if exif else 0)
    data_at = 8 + 2 + 12 * n0 + 4
    entries = []
    for tag, typ, value in ifd0:
        entries.append((tag, typ, len(value), data_at)); blobs.append(value)
        data_at += len(value) + len(value) % 2
    if exif:
        entries.append((0x8769, 4, 1, data_at))
    out += struct.pack(e + "H", n0)
    for tag, typ, count, off in sorted(entries):
        out += struct.pack(e + "HHII", tag, typ, count, off)
    out += struct.pack(e + "I", 0)
    for b in blobs:
        out += b + b"\0" * (len(b) % 2)
    if exif:
        uc = b"ASCII\0\0\0" + exif
        out += struct.pack(e + "HHHII", 1, 0x9286, 7, len(uc), len(out) + 2 + 12 + 4)
        out += struct.pack(e + "I", 0) + uc
    return bytes(out)
seeds = {
    "tiff-xmp-le": tiff(b"II", [(0x100, 3, b"\1\0"), (700, 7, xmp)]),
    "tiff-xmp-be": tiff(b"MM", [(700, 1, xmp)]),
    "tiff-description": tiff(b"II", [(0x10E, 2, label + b"\0")]),
    "tiff-usercomment": tiff(b"MM", [(0x10E, 2, b"a cat\0")], exif=label),
    "tiff-all": tiff(b"II", [(0x10E, 2, label + b"\0"), (700, 7, xmp)], exif=label),
}
for t in ("format_tiff", "implicit_read", "implicit_write"):
    for name, data in seeds.items():
        pathlib.Path(f"corpus/{t}/{name}.tif").write_bytes(data)
print(f"wrote {len(seeds)} TIFF seeds")
PY

# The forms of files over 4 GiB, small (issue 15): RF64 and BW64 WAV (ds64 chunk), BigTIFF
# with an XMP packet, and an MP4-like moov with a co64 table; for their format targets and the
# two detection targets.
python3 - <<'PY'
import pathlib, struct
xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>{"Label":"1"}</TC260:AIGC>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
def rf64(magic):
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    data = b"data\xff\xff\xff\xff" + b"\0\1" * 8
    aigc = b"AIGC" + struct.pack("<I", 12) + b'{"Label":"1"}'[:12]
    body = b"WAVE" + b"ds64" + struct.pack("<IQQQI", 28, 0, 16, 8, 0) + fmt + data + aigc
    riff = len(body)
    body = body[:8] + struct.pack("<IQ", 28, riff) + body[20:]
    return magic + b"\xff\xff\xff\xff" + body
def bigtiff():
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (700, 7, len(xmp), 16 + 8 + 20 * 3 + 8)]
    out = b"II+\0" + struct.pack("<HHQ", 8, 0, 16) + struct.pack("<Q", len(entries))
    for tag, typ, count, value in entries:
        out += struct.pack("<HHQQ", tag, typ, count, value)
    return out + struct.pack("<Q", 0) + xmp
def co64_mp4():
    box = lambda kind, body: struct.pack(">I", 8 + len(body)) + kind + body
    co64 = box(b"co64", struct.pack(">IIQ", 0, 1, 1 << 32))
    moov = box(b"moov", box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", co64)))))
    return box(b"ftyp", b"isom\0\0\0\0isom") + moov + box(b"mdat", b"\0" * 16)
seeds = {
    "format_wav": {"rf64.wav": rf64(b"RF64"), "bw64.wav": rf64(b"BW64")},
    "format_tiff": {"bigtiff.tif": bigtiff()},
    "format_mp4": {"co64.mp4": co64_mp4()},
}
for target, files in seeds.items():
    for t in (target, "implicit_read", "implicit_write"):
        pathlib.Path(f"corpus/{t}").mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            pathlib.Path(f"corpus/{t}/{name}").write_bytes(data)
print("wrote RF64, BW64, BigTIFF and co64 seeds")
PY
