#!/usr/bin/env python3
# Writes vectors/implicit/formats/vectors.yaml: read vectors for files labelled by other tools and
# label vectors (write into a plain file; relabel a labelled file) for every format. Expectations
# come from the standard and the practice guides' placements (digest §3.8), not from any
# implementation: a tool-written label must read back as the JSON the tool was given.
import json, os

P = "001191110102MACQD9K64010000"; ID = "0123456789abcdef0123456789abcdef"
J = {"Label": "1", "ContentProducer": P, "ProduceID": ID, "ReservedCode1": "", "ContentPropagator": P, "PropagateID": ID, "ReservedCode2": ""}
J3 = dict(J, Label="3")
# The label the implementation is asked to write (different producer, so relabelling is visible).
L = {"Label": "1", "ContentProducer": "00119144030008867405X210001", "ProduceID": "vec-0001", "ReservedCode1": "",
     "ContentPropagator": "00119144030008867405X210001", "PropagateID": "vec-0001", "ReservedCode2": ""}

MEDIA = {"jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif", "tif": "image/tiff", "heic": "image/heic",
         "png": "image/png", "wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
         "opus": "audio/ogg", "m4a": "audio/mp4", "mp4": "video/mp4", "mov": "video/quicktime",
         "mkv": "video/x-matroska", "webm": "video/webm", "avi": "video/x-msvideo", "flv": "video/x-flv",
         "pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "md": "text/markdown"}
GUIDE = {"image": "PG-20259A-carrier", "audio": "PG-202510A-carrier", "video": "PG-20257A-carrier",
         "application": "PG-20258A-carrier", "text": "PG-20258A-carrier"}
def guide(f): return GUIDE[MEDIA[f.rsplit(".", 1)[1]].split("/")[0]]

# file, class, bug_class, verdict, labels, description, provenance
READ = [
    ("exiftool-xmp.png", "positive", "carrier", "valid", [J], "PNG iTXt XMP TC260:AIGC written by ExifTool", "ImageMagick + ExifTool"),
    ("exiftool-xmp.jpg", "positive", "carrier", "valid", [J], "JPEG APP1 XMP TC260:AIGC", "ImageMagick + ExifTool"),
    ("exiftool-usercomment.jpg", "positive", "alternative-carrier", "valid", [J], "JPEG EXIF UserComment with the wrapped form (image guide Annex B; Huawei, Tencent)", "ImageMagick + ExifTool"),
    ("exiftool-xmp-usercomment-conflict.jpg", "negative", "conflicting-labels", "conflict", None, "XMP Label 1 and UserComment Label 3 in one JPEG (6.1 c)", "ImageMagick + ExifTool"),
    ("craft-app11.jpg", "boundary", "alternative-carrier", "valid", [J], "APP11 segment 'AIGC'+JSON before APP0 (image-aigc-metadata #26; trap 10): a non-standard blob (digest 9.19), no guide carrier; the suite expects readers to read it (profile choice: nonstandard-carrier, a warning)", "ImageMagick + tools/craft.py"),
    ("exiftool-xmp.webp", "positive", "carrier", "valid", [J], "WebP 'XMP ' chunk", "ImageMagick + ExifTool"),
    ("exiftool-xmp.gif", "positive", "carrier", "valid", [J], "GIF XMP application extension", "ImageMagick + ExifTool"),
    ("exiftool-xmp.tif", "positive", "carrier", "valid", [J], "TIFF tag 700 XMLPacket", "ImageMagick + ExifTool"),
    ("exiftool-xmp.heic", "positive", "carrier", "valid", [J], "HEIC XMP metadata item", "heif-enc + ExifTool"),
    ("ffmpeg-id3v24.mp3", "positive", "carrier", "valid", [J], "MP3 ID3v2.4 TXXX AIGC, UTF-8 (ffmpeg default)", "ffmpeg"),
    ("ffmpeg-id3v23.mp3", "positive", "id3-version", "valid", [J], "MP3 ID3v2.3 TXXX AIGC (ffmpeg -id3v2_version 3; trap 14)", "ffmpeg"),
    ("ffmpeg.flac", "positive", "carrier", "valid", [J], "FLAC VORBIS_COMMENT AIGC=", "sox + ffmpeg"),
    ("ffmpeg.ogg", "positive", "carrier", "valid", [J], "Ogg Vorbis comment AIGC=", "sox + ffmpeg"),
    ("ffmpeg.opus", "positive", "carrier", "valid", [J], "Ogg Opus OpusTags AIGC=", "ffmpeg"),
    ("ffmpeg.m4a", "positive", "carrier", "valid", [J], "M4A moov/udta/meta keys+ilst AIGC (ffmpeg use_metadata_tags)", "ffmpeg"),
    ("craft-aigc-chunk.wav", "positive", "carrier", "valid", [J], "WAV top-level RIFF chunk AIGC (audio guide placement)", "sox + tools/craft.py"),
    ("craft-list-info.wav", "boundary", "alternative-carrier", "valid", [J], "WAV LIST/INFO/AIGC only (the ffmpeg-visible tool variant, not the audio guide's top-level chunk; trap 13): readable, noted (profile choice: nonstandard-carrier, a warning)", "sox + tools/craft.py"),
    ("craft-both-different.wav", "negative", "conflicting-labels", "conflict", None, "WAV top-level AIGC chunk Label 1 and LIST/INFO/AIGC Label 3", "sox + tools/craft.py"),
    ("ffmpeg.mp4", "positive", "carrier", "valid", [J], "MP4 moov/udta/meta keys+ilst AIGC, moov last", "ffmpeg"),
    ("ffmpeg-keys-first.mp4", "positive", "mp4-layout", "valid", [J], "MP4 faststart with other keys (major_brand, title, ...) before AIGC (trap 12)", "ffmpeg"),
    ("ffmpeg.mov", "positive", "carrier", "valid", [J], "MOV moov/udta/meta keys+ilst AIGC", "ffmpeg"),
    ("ffmpeg-no-movflags.mp4", "negative", "silent-loss", "unlabeled", None, "ffmpeg -metadata AIGC without -movflags use_metadata_tags writes nothing (trap 13): no label", "ffmpeg"),
    ("exiftool-xmp.mp4", "boundary", "alternative-carrier", "valid", [J], "MP4 XMP uuid box BE7ACFCB... written by ExifTool (trap 12): not the video guide's carrier; readable, noted (profile choice: nonstandard-carrier, a warning)", "ffmpeg + ExifTool"),
    ("ffmpeg.mkv", "positive", "carrier", "valid", [J], "Matroska Tags/SimpleTag AIGC", "ffmpeg"),
    ("ffmpeg.webm", "positive", "carrier", "valid", [J], "WebM Tags/SimpleTag AIGC", "ffmpeg"),
    ("ffmpeg.flv", "positive", "carrier", "valid", [J], "FLV onMetaData AIGC", "ffmpeg"),
    ("craft-list-info.avi", "positive", "carrier", "valid", [J], "AVI LIST/INFO/AIGC (video guide; stock ffmpeg cannot write it)", "ffmpeg + tools/craft.py"),
    ("exiftool-info.pdf", "positive", "carrier", "valid", [J], "PDF Info dictionary /AIGC", "tools/make_docs.py + ExifTool"),
    ("exiftool-xmp.pdf", "boundary", "alternative-carrier", "valid", [J], "PDF with the label only in the XMP metadata stream (TC260 namespace), not in the Info dictionary the text guide names: readable, noted (profile choice: nonstandard-carrier, a warning)", "tools/make_docs.py + ExifTool"),
    ("python-custom.docx", "positive", "carrier", "valid", [J], "DOCX docProps/custom.xml property AIGC (Python labeller #30)", "tools/make_docs.py (python zipfile)"),
    ("md-dialect-a.md", "positive", "front-matter-dialect", "valid", [dict(sorted(dict(J, ContentProducer="001191110102MAD55U9H0F10002", ContentPropagator="001191110102MAD55U9H0F10002").items()))], "front matter, keys sorted, single-quoted values (#33 a)", "tools/make_docs.py"),
    ("md-dialect-b.md", "positive", "front-matter-dialect", "valid", [dict(J, ContentProducer="001191440300708461136T1XGW3", ContentPropagator="001191440300708461136T1XGW3", ProduceID="0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210", PropagateID="0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210")], "front matter, Annex order, 4-space indent, unquoted values (#33 b)", "tools/make_docs.py"),
    ("md-dialect-c.md", "negative", "label-enum", "invalid", None, "front matter with Label: AIGC (MiniMax Agent #33 c)", "tools/make_docs.py"),
    ("md-not-at-head.md", "negative", "carrier-position", "unlabeled", None, "the text guide's YAML block after the first paragraph, not at the file head (PG-20258A §6.5): not front matter, no label", "tools/make_docs.py"),
]
for ext in ["jpg", "webp", "gif", "tif", "heic", "wav", "mp3", "flac", "ogg", "opus", "m4a", "mp4", "mov", "mkv", "webm", "avi", "flv", "pdf", "docx", "md"]:
    READ.append((f"plain.{ext}", "negative", "no-label", "unlabeled", None, f"unlabelled {ext.upper()} made by a real tool", "make.sh"))
LABEL = [f"plain.{e}" for e in ["png", "jpg", "webp", "gif", "tif", "heic", "wav", "mp3", "flac", "ogg", "opus", "m4a", "mp4", "mov", "mkv", "webm", "avi", "flv", "pdf", "docx", "md"]] + ["plain-moov-last.mp4"]
RELABEL = ["exiftool-xmp.png", "exiftool-xmp.jpg", "exiftool-xmp-usercomment-conflict.jpg", "craft-app11.jpg", "exiftool-xmp.webp", "exiftool-xmp.gif",
           "exiftool-xmp.tif", "exiftool-xmp.heic", "ffmpeg-id3v23.mp3", "ffmpeg.flac", "ffmpeg.ogg", "ffmpeg.opus", "ffmpeg.m4a",
           "craft-both-different.wav", "craft-list-info.wav", "ffmpeg-keys-first.mp4", "exiftool-xmp.mp4", "ffmpeg.mkv", "ffmpeg.webm",
           "ffmpeg.flv", "craft-list-info.avi", "exiftool-info.pdf", "python-custom.docx", "md-dialect-c.md"]

# Negative read vectors that are traps of a guide's own carrier (issue 18: the guide-carrier
# requirements' negatives are these, not labels in other carriers, which readers may read).
GUIDE_TRAP = {"craft-both-different.wav", "ffmpeg-no-movflags.mp4", "md-not-at-head.md"}
def q(v): return json.dumps(v, ensure_ascii=False)
def flow(d): return "{" + ", ".join(f"{k}: {q(v)}" for k, v in d.items()) + "}"
def slug(f): return f.replace(".", "-")
out = ["# Per-format carrier vectors. Inputs: make.sh (real tools; see its header). Generated by",
       "# tools/gen_formats_manifest.py from its tables; expectations follow digest §3.8.", "vectors:"]
for f, cls, bug, verdict, labels, desc, prov in READ:
    ext = f.rsplit(".", 1)[1]
    reqs = {"conflict": "GB-6.1-c", "unlabeled": "GB-6.1-a", "invalid": "E-c"}.get(verdict, f"GB-6.1-b, {guide(f)}")
    choice = []
    if cls == "boundary" and verdict == "valid":
        # A label outside the guides' carriers (issue 18): reading it is what this suite expects,
        # not a clause of GB 45438 or a guide, so a reader that misses it is charged to the suite
        # requirement, and its expectation is the profile's grading of nonstandard-carrier.
        reqs, choice = "SUITE-profile-reading", ["nonstandard-carrier"]
    if f in GUIDE_TRAP:
        reqs += f", {guide(f)}"
    out += [f"  - id: fmt-read-{slug(f)}", f"    requirements: [{reqs}]",
            f"    class: {cls}", f"    bug_class: {bug}", f"    provenance: {q(prov + '; make.sh')}", f"    description: {q(desc)}",
            "    op: read", f"    media: {MEDIA[ext]}", f"    input: {f}"]
    if choice:
        out.append(f"    profile_choice: [{', '.join(choice)}]")
    out += ["    expect:", "      status: ok", f"      verdict: {verdict}"]
    if labels:
        out.append("      labels:")
        out += [f"        - {flow(l)}" for l in labels]
for f in LABEL:
    ext = f.rsplit(".", 1)[1]
    out += [f"  - id: fmt-label-{slug(f)}", f"    requirements: [GB-6.1-a, GB-6.1-b, E-a, {guide(f)}]", "    class: positive", "    bug_class: write-carrier",
            f"    provenance: {q('unlabelled input from make.sh; fields chosen by the suite')}",
            f"    description: {q('write the label into an unlabelled ' + ext.upper() + ' in the practice guide carrier, every other byte kept')}",
            "    op: label", f"    media: {MEDIA[ext]}", f"    input: {f}", "    request:", f"      fields: {flow(L)}", "      explicit: null",
            "    expect:", "      status: ok", "      output:", "        verdict: valid", f"        fields: {flow(L)}",
            "        label_count: 1", "        same_format: true", "        payload_unchanged: true"]
for f in RELABEL:
    ext = f.rsplit(".", 1)[1]
    out += [f"  - id: fmt-relabel-{slug(f)}", f"    requirements: [GB-6.1-c, {guide(f)}]", "    class: positive", "    bug_class: append-instead-of-replace",
            f"    provenance: {q('labelled input from make.sh; fields chosen by the suite')}",
            f"    description: {q('label a file that already carries a label (' + f + '): the output keeps exactly one label, the new one (overwrite, never append)')}",
            "    op: label", f"    media: {MEDIA[ext]}", f"    input: {f}", "    request:", f"      fields: {flow(L)}", "      explicit: null",
            "    expect:", "      status: ok", "      output:", "        verdict: valid", f"        fields: {flow(L)}",
            "        label_count: 1", "        same_format: true", "        payload_unchanged: true"]
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "implicit", "formats", "vectors.yaml")
open(path, "w").write("\n".join(out) + "\n")
print(len(READ), "read,", len(LABEL), "label,", len(RELABEL), "relabel vectors")
