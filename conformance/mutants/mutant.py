#!/usr/bin/env python3
"""Mutant implementations: the reference with exactly one requirement broken.

    python3 mutant.py NAME            one request on stdin, one response on stdout (protocol 1)
    python3 mutant.py NAME serve      persistent mode: one request per line, one answer per line
    python3 mutant.py --list          the mutants: name, the requirement it breaks, collateral,
                                      reach (all, implicit or explicit: which label requests
                                      its defect can change), what it does, its formats
                                      ("every", or the media types); tab-separated

Each mutant is an otherwise correct implementation built on the reference command
(`aigc-label`, found through $AIGC_LABEL, then next to this repository's target/ folders, then
PATH) with one deliberate defect. `aigc-conform` runs the whole suite on each one
(conformance/tests/mutants.rs) and checks that the suite finds the defect: the run is
non-conformant and the failing requirements are exactly the one the mutant breaks (plus the
`collateral` ones named in the table, each with its reason). A suite that misses a mutant has a
hole. Standard library only.
"""
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
IMAGE = ["image/png"]
ALL_READ = None  # the reference's own media list


def reference_bin():
    env = os.environ.get("AIGC_LABEL")
    if env:
        return env
    for sub in ("target/debug/aigc-label", "target/release/aigc-label"):
        p = os.path.join(ROOT, sub)
        if os.path.exists(p):
            return p
    return shutil.which("aigc-label") or "aigc-label"


def ref(*args, check=True):
    r = subprocess.run([reference_bin(), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or f"aigc-label exited {r.returncode}")
    return r


class ReferenceServer:
    """The reference in persistent mode (`aigc-label adapter serve`), started once per mutant
    process and restarted if it dies: the mutants ask it for every correct answer, so a suite
    run costs one reference process per worker instead of one per request."""

    def __init__(self):
        self.proc = None
        self.count = 0

    def ask(self, request):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([reference_bin(), "adapter", "serve"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self.count += 1
        rid = f"mutant-{self.count}"
        try:
            self.proc.stdin.write(json.dumps(dict(request, id=rid), ensure_ascii=False) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError as e:
            self.proc = None
            raise RuntimeError(f"aigc-label adapter serve: {e}")
        if not line:
            self.proc = None
            raise RuntimeError("aigc-label adapter serve ended without an answer")
        resp = json.loads(line)
        if resp.pop("id", None) != rid:
            self.proc.kill()
            self.proc = None
            raise RuntimeError("aigc-label adapter serve answered another request")
        return resp


    def close(self):
        """End the server (at exit, so that no process outlives this adapter's request)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


REFERENCE = ReferenceServer()
atexit.register(REFERENCE.close)


def ref_adapter(request):
    # The harness's request id (persistent mode) is the mutant's to echo, not the reference's.
    return REFERENCE.ask({k: v for k, v in request.items() if k != "id"})


def read_json(path):
    return json.loads(ref("read", "--json", path).stdout)


# ---- PNG surgery (for the mutants that damage a PNG the reference wrote) ---------------------
def png_chunks(data):
    pos, out = 8, []
    while pos + 8 <= len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def png_build(chunks):
    body = b"".join(struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF) for k, d in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def png_add_text(path, text):
    chunks = png_chunks(open(path, "rb").read())
    chunks.insert(1, (b"tEXt", b"AIGC\0" + text.encode("latin-1", "replace")))
    open(path, "wb").write(png_build(chunks))


def png_replace_in_xmp(path, old, new):
    out = []
    for k, d in png_chunks(open(path, "rb").read()):
        if k == b"iTXt" and d.startswith(b"XML:com.adobe.xmp\0"):
            d = d.replace(old.encode(), new.encode())
        out.append((k, d))
    open(path, "wb").write(png_build(out))


def png_flip_pixel(path):
    chunks = png_chunks(open(path, "rb").read())
    idat = b"".join(d for k, d in chunks if k == b"IDAT")
    raw = bytearray(zlib.decompress(idat))
    raw[1] ^= 0x40  # first sample of the first row (byte 0 is the row's filter type)
    new = zlib.compress(bytes(raw))
    out, done = [], False
    for k, d in chunks:
        if k == b"IDAT":
            if not done:
                out.append((k, new))
                done = True
            continue
        out.append((k, d))
    open(path, "wb").write(png_build(out))


# ---- the mutants -------------------------------------------------------------------------------
def read_then(fn):
    """A reader mutant: the reference's read answer, then `fn(answer, reference report)`."""
    def handler(req):
        resp = ref_adapter(req)
        if resp.get("status") == "ok":
            fn(resp, read_json(req["input"]))
        return resp
    return handler


def codes(report, severity="error"):
    return {p["code"] for l in report["labels"] for p in l["problems"] if p["severity"] == severity} | {
        p["code"] for p in report["problems"] if p["severity"] == severity}


def accept_bad_label_value(resp, report):
    if resp["verdict"] == "invalid" and codes(report) <= {"label-value", "non-string-value"}:
        bad_label = any(not isinstance(l["fields"].get("Label"), str) or l["fields"].get("Label") not in ("1", "2", "3")
                        for l in report["labels"])
        if bad_label:
            resp["verdict"] = "valid"


def no_conflict(resp, report):
    if resp["verdict"] == "conflict":
        resp["verdict"] = "valid"


def prefix_bound(resp, report):
    # Reads `TC260:AIGC` by prefix: a wrong namespace URI goes unnoticed.
    if resp["verdict"] == "invalid" and codes(report) == {"xmp-wrong-namespace"}:
        resp["verdict"] = "valid"


def strict_charset(resp, report):
    if resp["verdict"] == "valid" and "charset" in codes(report, "warning"):
        resp["verdict"] = "invalid"


def strict_provider_code(resp, report):
    # Rejects a label whose ContentProducer/ContentPropagator fails the provider-code rule of
    # TC260-PG-20252A (length, alphabet, format 00, USCC check character), which the profile
    # grades as a warning (provider-code-invalid): the over-strict reading of the guide.
    if resp["verdict"] == "valid" and "provider-code-invalid" in codes(report, "warning"):
        resp["verdict"] = "invalid"


def trust_signatures(resp, report):
    # Parses SecurityData but never verifies it: every signature counts as verified, so a label
    # changed after signing reads as valid (breaks PG-202511A-sig).
    for label in resp.get("labels", []):
        sec = label.get("security")
        if not sec:
            continue
        for f in sec.get("fields", []):
            if f.get("status") == "failed":
                f["status"] = "verified"
        if sec.get("status") == "failed":
            sec["status"] = "verified"
    if resp["verdict"] == "invalid" and codes(report) == {"security-signature-failed"}:
        resp["verdict"] = "valid"


def never_verifies(resp, report):
    # Parses SecurityData but has no SM2 verifier: every signature it finds is "unsupported",
    # while the label itself is judged right (breaks PG-202511A-sig only: the verdict, which
    # CAC-10-2 rests on, stays the reference's).
    for label in resp.get("labels", []):
        sec = label.get("security")
        if sec and sec.get("status") in ("verified", "failed"):
            sec["status"] = "unsupported"
            for f in sec.get("fields", []):
                if f.get("status") in ("verified", "failed"):
                    f["status"] = "unsupported"


def hides_problem(code):
    """A reader that reports its problems (labels[].problems) but never notices `code`: the
    verdict is the reference's, so only the vectors that expect the code to be noticed fail."""
    def hide(resp, report):
        for label in resp.get("labels", []):
            if "problems" in label:
                label["problems"] = [c for c in label["problems"] if c != code]
    return hide


def json_anywhere(req):
    # Takes any JSON with a "Label" key as the label, whatever the field's name (breaks E a).
    resp = ref_adapter(req)
    if resp.get("status") == "ok" and resp["verdict"] == "unlabeled":
        data = open(req["input"], "rb").read()
        if b"Label" in data:
            resp["verdict"] = "valid"
            resp["labels"] = [{"carrier": "anywhere", "fields": {"Label": "1"}}]
    return resp


def with_note1(fields):
    """Annex E note 1: empty propagation elements take the production elements at first write."""
    f = dict(fields)
    if not f.get("ContentPropagator") and not f.get("PropagateID"):
        f["ContentPropagator"], f["PropagateID"] = f.get("ContentProducer", ""), f.get("ProduceID", "")
    return f


def implicit_only(handler):
    """Marks a generator mutant that passes every request for a visible label to the reference
    unchanged: its defect reaches only the label vectors without one (`reach` in --list)."""
    handler.reach = "implicit"
    return handler


def explicit_only(handler):
    """Marks a mutant that passes every request but those for a visible label to the reference
    unchanged: its defect reaches only the explicit-label vectors (`reach` in --list)."""
    handler.reach = "explicit"
    return handler


def label_with(mutate_fields=None, after=None, allow_invalid=False):
    """A generator mutant: the reference's label op with changed fields and/or a damaged output."""
    def handler(req):
        if req.get("explicit"):
            return ref_adapter(req)  # the defect is in the implicit label; visible labels are done right
        if mutate_fields:
            req = dict(req, fields=mutate_fields(dict(req["fields"])))
        if allow_invalid:
            # Otherwise correct: Annex E note 1 as the reference adapter applies it.
            req = dict(req, fields=with_note1(req["fields"]))
        if allow_invalid:
            args = ["embed", req["input"], "-o", req["output"], "--force", "--allow-invalid", "--fields", json.dumps(req["fields"])]
            r = ref(*args, check=False)
            if r.returncode != 0:
                return {"status": "rejected", "message": r.stderr.strip()}
            resp = {"status": "ok"}
        else:
            resp = ref_adapter(req)
        if resp.get("status") == "ok" and after:
            after(req)
        return resp
    return implicit_only(handler)


def keep_old_and_append(req):
    # Appends the new label next to the old one instead of replacing it (breaks 6.1 c): the
    # input kept as it is, the new label added in a second carrier of its format (PNG tEXt, JPEG
    # APP11, WAV LIST/INFO, AVI top-level chunk). Markdown has none: a second front-matter key
    # is payload (a user's front matter), so it would break 6.1 a too.
    # In TIFF, WebP and MP4/M4A the reference's output (the new label) gets the old label
    # back in a second carrier instead, with ExifTool (EXIF UserComment, XMP).
    old = read_json(req["input"])
    if old["labels"]:
        ext = os.path.splitext(req["output"])[1].lower()
        if ext in APPEND_OLD:
            old_json = json.dumps(old["labels"][0]["fields"], ensure_ascii=False, separators=(",", ":"))
            APPEND_OLD[ext](req["output"], old_json)
            return
        new_json = label_json(req["output"])
        append = APPEND_SECOND[ext]
        shutil.copy(req["input"], req["output"])
        append(req["output"], new_json)


def exiftool_add(tag_value):
    def add(path, text):
        run_tool("exiftool", "-config", TC260_CONFIG, "-q", "-overwrite_original", tag_value(text), path)
    return add


APPEND_OLD = {
    ".tif": exiftool_add(lambda t: '-EXIF:UserComment={"AIGC":' + t + "}"),
    ".tiff": exiftool_add(lambda t: '-EXIF:UserComment={"AIGC":' + t + "}"),
    ".webp": exiftool_add(lambda t: '-EXIF:UserComment={"AIGC":' + t + "}"),
    ".mp4": exiftool_add(lambda t: "-XMP-TC260:AIGC=" + t),
    ".m4a": exiftool_add(lambda t: "-XMP-TC260:AIGC=" + t),
}


def jpeg_add_app11(path, text):
    data = open(path, "rb").read()
    payload = b"AIGC" + text.encode()
    open(path, "wb").write(data[:2] + b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload + data[2:])


def riff_add(list_info):
    def add(path, text):
        data = open(path, "rb").read()
        chunks = riff_chunks(data)
        if list_info:
            sub = b"AIGC" + struct.pack("<I", len(text.encode()) + 1) + text.encode() + b"\0"
            chunks.append((b"LIST", b"INFO" + sub + (b"\0" if len(sub) & 1 else b"")))
        else:
            chunks.append((b"AIGC", text.encode()))
        open(path, "wb").write(riff_build(data[8:12], chunks))
    return add


APPEND_SECOND = {
    ".png": lambda path, text: png_add_text(path, text),
    ".jpg": lambda path, text: jpeg_add_app11(path, text),
    ".jpeg": lambda path, text: jpeg_add_app11(path, text),
    ".wav": lambda path, text: riff_add(True)(path, text),
    ".avi": lambda path, text: riff_add(False)(path, text),
}


def propagate_with(after=None, notice=None):
    """A platform mutant: the reference's propagate op, then a changed notice and/or output."""
    def handler(req):
        resp = ref_adapter(req)
        if resp.get("status") != "ok":
            return resp
        if notice:
            resp["notice"] = notice(req, resp)
        if after:
            after(req, resp)
        return resp
    return handler


def rewrite_label(path, change):
    rep = read_json(path)
    if len(rep["labels"]) != 1:
        return
    fields = dict(rep["labels"][0]["fields"])
    change(fields)
    ref("embed", path, "--in-place", "--allow-invalid", "--allow-empty", "--fields", json.dumps(fields))


def drop_producer(req, resp):
    rewrite_label(req["output"], lambda f: f.update(ContentProducer="", ProduceID="", ReservedCode1=""))


def keep_input_propagator(req, resp):
    src = read_json(req["input"])
    old = src["labels"][0]["fields"] if src["labels"] else {"ContentPropagator": "", "PropagateID": ""}
    rewrite_label(req["output"], lambda f: f.update(ContentPropagator=old.get("ContentPropagator", ""), PropagateID=old.get("PropagateID", "")))


def append_old_label(req, resp):
    # Keeps the producer's label and adds its own next to it, in a second carrier of the format.
    src = read_json(req["input"])
    ext = os.path.splitext(req["output"])[1].lower()
    if src["labels"] and ext == ".png":
        png_add_text(req["output"], src["labels"][0]["raw"])
    elif src["labels"] and ext in APPEND_SECOND:
        old = json.dumps(src["labels"][0]["fields"], ensure_ascii=False, separators=(",", ":"))
        APPEND_SECOND[ext](req["output"], old)


def declared_is(req, resp):
    return "is" if req.get("user_declared") and resp["notice"] == "possibly" else resp["notice"]


def ignore_trace(req, resp):
    if resp["notice"] == "suspected":
        shutil.copy(req["input"], req["output"])
        return "none"
    return resp["notice"]


def ignore_metadata(req, resp):
    # Never trusts metadata: what the reference calls "is" becomes "possibly" (declared) or "none".
    if resp["notice"] == "is":
        if req.get("user_declared"):
            rewrite_label(req["output"], lambda f: f.update(Label="2"))
            return "possibly"
        shutil.copy(req["input"], req["output"])
        return "none"
    return resp["notice"]


@implicit_only
def note1_handler(req):
    # The reference adapter applies Annex E note 1; this mutant writes the fields verbatim.
    if req.get("explicit"):
        return ref_adapter(req)
    args = ["embed", req["input"], "-o", req["output"], "--force", "--fields", json.dumps(req["fields"])]
    r = ref(*args, check=False)
    if r.returncode != 0:
        return {"status": "rejected", "message": r.stderr.strip()}
    return {"status": "ok"}


def label_fields(change):
    """A generator mutant over every format: the fields as asked (with Annex E note 1 applied),
    then `change(fields)`, written verbatim by the reference's embed."""
    def handler(req):
        resp = ref_adapter(req)  # otherwise correct: what the reference refuses is refused
        if req.get("explicit") or resp.get("status") != "ok":
            return resp
        fields = with_note1(req["fields"])
        change(fields, req["fields"])
        args = ["embed", req["input"], "-o", req["output"], "--force", "--allow-invalid", "--allow-empty", "--fields", json.dumps(fields)]
        r = ref(*args, check=False)
        if r.returncode != 0:
            return {"status": "rejected", "message": r.stderr.strip()}
        return {"status": "ok"}
    return implicit_only(handler)


def label_raw(text_of):
    """A generator mutant over every format: the label value written is `text_of(fields)` (the
    fields as asked, Annex E note 1 applied) instead of the canonical JSON."""
    def handler(req):
        resp = ref_adapter(req)  # otherwise correct: what the reference refuses is refused
        if req.get("explicit") or resp.get("status") != "ok":
            return resp
        fields = with_note1(req["fields"])
        args = ["embed", req["input"], "-o", req["output"], "--force", "--allow-invalid", "--allow-empty",
                "--raw-value", text_of(fields)]
        r = ref(*args, check=False)
        if r.returncode != 0:
            return {"status": "rejected", "message": r.stderr.strip()}
        return {"status": "ok"}
    return implicit_only(handler)


def without_reserved2(fields):
    return json.dumps({k: v for k, v in fields.items() if k != "ReservedCode2"}, ensure_ascii=False, separators=(",", ":"))


def set_field(key, value, only_if_asked=False):
    """`key` written as `value`; with `only_if_asked`, only where the request gave the key a
    value (so an empty propagation element is still filled by Annex E note 1: that is E-note1's
    mutant, not this one)."""
    def change(fields, asked):
        if not only_if_asked or asked.get(key):
            fields[key] = value
    return label_fields(change)


# ---- carrier mutants: the label the reference wrote, moved to a readable non-guide carrier -----
def label_json(path):
    """The canonical JSON text of the one label the reference wrote into `path`."""
    rep = read_json(path)
    return json.dumps(rep["labels"][0]["fields"], ensure_ascii=False, separators=(",", ":"))


def riff_chunks(data):
    """(id, payload, list type or None) of each top-level RIFF chunk."""
    pos, out = 12, []
    while pos + 8 <= len(data):
        cid, n = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + n]
        out.append((cid, body))
        pos += 8 + n + (n & 1)
    return out


def riff_build(form, chunks):
    body = b"".join(c + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"") for c, b in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + form + body


def riff_without_aigc(chunks):
    """The chunks without a top-level AIGC chunk and without an AIGC sub-chunk of LIST/INFO (a
    LIST/INFO left empty goes too)."""
    out = []
    for cid, body in chunks:
        if cid == b"AIGC":
            continue
        if cid == b"LIST" and body[:4] == b"INFO":
            subs, pos = [], 4
            while pos + 8 <= len(body):
                sid, n = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
                if sid != b"AIGC":
                    subs.append(body[pos:pos + 8 + n + (n & 1)])
                pos += 8 + n + (n & 1)
            if not subs:
                continue
            body = b"INFO" + b"".join(subs)
        out.append((cid, body))
    return out


def move_label(move):
    """A generator mutant: the reference's label op, then `move(output path, label JSON)` puts the
    same label in a carrier the reference still reads (with its `nonstandard-carrier` note)
    instead of the practice guide's."""
    def handler(req):
        resp = ref_adapter(req)
        if req.get("explicit") or resp.get("status") != "ok":
            return resp
        move(req["output"], label_json(req["output"]))
        return resp
    return implicit_only(handler)


def wav_to_list_info(path, text):
    # The audio guide's carrier is a top-level RIFF chunk AIGC; this writes a LIST/INFO sub-chunk.
    data = open(path, "rb").read()
    chunks = riff_without_aigc(riff_chunks(data))
    sub = b"AIGC" + struct.pack("<I", len(text.encode()) + 1) + text.encode() + b"\0"
    sub += b"\0" if len(sub) & 1 else b""
    chunks.append((b"LIST", b"INFO" + sub))
    open(path, "wb").write(riff_build(data[8:12], chunks))


def avi_to_top_chunk(path, text):
    # The video guide's AVI carrier is a LIST/INFO sub-chunk AIGC; this writes the WAV carrier,
    # a top-level RIFF chunk AIGC.
    data = open(path, "rb").read()
    chunks = riff_without_aigc(riff_chunks(data))
    chunks.append((b"AIGC", text.encode()))
    open(path, "wb").write(riff_build(data[8:12], chunks))


def jpeg_to_app11(path, text):
    # The image guide's carrier is XMP (APP1); this drops the XMP segment holding the label and
    # writes an APP11 segment "AIGC" + JSON (the non-standard place of digest 9.19).
    data = open(path, "rb").read()
    pos, segs = 2, []
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xD9, 0xDA):
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        seg = data[pos:pos + 2 + n]
        if not (data[pos + 1] == 0xE1 and b"http://ns.adobe.com/xap/1.0/\0" in seg[:40] and b"tc260" in seg):
            segs.append(seg)
        pos += 2 + n
    payload = b"AIGC" + text.encode()
    app11 = b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    open(path, "wb").write(data[:2] + app11 + b"".join(segs) + data[pos:])


def md_to_json_string(path, text):
    # The text guide writes the AIGC front-matter key as a YAML mapping of the seven keys; this
    # writes the JSON text as a YAML string (AIGC: '{"Label":...}').
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i, in_fm = [], 0, False
    while i < len(lines):
        line = lines[i]
        if i == 0 and line.strip() == "---":
            in_fm = True
        elif in_fm and line.strip() == "---":
            in_fm = False
        elif in_fm and line.startswith("AIGC:"):
            out.append("AIGC: '" + text.replace("'", "''") + "'")
            i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")):
                i += 1
            continue
        out.append(line)
        i += 1
    open(path, "w", encoding="utf-8").write("\n".join(out))


# ---- payload mutants: the content itself changed while labelling, in every format ------------
def run_tool(*args):
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def alter_payload(src, dst, media):
    """`dst` = `src` with its content (what aigc_label::payload fingerprints) changed a little:
    one pixel, one dropped packet, a rotated page, a word of the document body."""
    family = media.split("/")[0]
    ext = os.path.splitext(dst)[1].lower()
    if family == "image":
        # One pixel painted (ImageMagick re-encodes in the same format).
        run_tool("convert", src, "-fill", "#ff00ff", "-draw", "point 0,0", dst)
    elif ext == ".wav":
        # One PCM sample byte flipped (a WAV can be a single packet: none to drop).
        data = open(src, "rb").read()
        chunks = [(c, bytes([b[0] ^ 0x40]) + b[1:] if c == b"data" and b else b) for c, b in riff_chunks(data)]
        open(dst, "wb").write(riff_build(data[8:12], chunks))
    elif family in ("audio", "video"):
        # The second packet of every stream dropped, everything else copied.
        run_tool("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", src, "-map", "0", "-c", "copy",
                 "-bsf", "noise=drop=eq(n\\,1)", "-f", ffmpeg_muxer(ext, media), dst)
    elif media == "application/pdf":
        run_tool("qpdf", src, "--rotate=+90", dst)
    elif ext in (".docx", ".xlsx", ".pptx", ".dotx", ".xltx", ".potx"):
        import zipfile
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename in ("word/document.xml", "xl/sharedStrings.xml", "ppt/slides/slide1.xml"):
                    data = data.replace(b"</w:t>", b"!</w:t>", 1).replace(b"</t>", b"!</t>", 1)
                zout.writestr(item, data)
    else:
        # Markdown and other text: one word of the body added.
        text = open(src, encoding="utf-8").read()
        open(dst, "w", encoding="utf-8").write(text.rstrip("\n") + " changed\n")


def ffmpeg_muxer(ext, media):
    return {".m4a": "ipod", ".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".flv": "flv",
            ".avi": "avi", ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg", ".opus": "opus", ".wav": "wav"}.get(
        ext, media.split("/")[1])


def alters_payload(req):
    # Changes the content while writing the label (breaks 6.1 a: the label is added to the file's
    # metadata, the content stays as generated), in every format.
    if req.get("explicit"):
        return ref_adapter(req)
    ext = os.path.splitext(req["output"])[1]
    tmp = req["output"] + ".altered" + ext
    try:
        alter_payload(req["input"], tmp, req.get("media", ""))
        return ref_adapter(dict(req, input=tmp))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


alters_payload.reach = "implicit"

TC260_NS = b"http://www.tc260.org.cn/ns/AIGC/1.0/"
WRONG_NS = b"http://www.tc260.org.cn/ns/AIGC/2.0/"  # same length: no container size changes


def wrong_namespace(req):
    # Binds the TC260 prefix to a wrong namespace URI (a "2.0" the guide does not define), in
    # every format whose label is XMP: the bytes are replaced in place (same length), PNG's
    # chunk CRC recomputed.
    if req.get("explicit"):
        return ref_adapter(req)
    resp = ref_adapter(req)
    if resp.get("status") != "ok":
        return resp
    out = req["output"]
    if open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n":
        png_replace_in_xmp(out, TC260_NS.decode(), WRONG_NS.decode())
    else:
        data = open(out, "rb").read()
        open(out, "wb").write(data.replace(TC260_NS, WRONG_NS))
    return resp


wrong_namespace.reach = "implicit"
XMP_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/tiff", "image/webp", "image/heic"]


TC260_CONFIG = os.path.join(ROOT, "vectors/tools/tc260.config")  # ExifTool's TC260 XMP namespace


def docx_lpstr(path, text):
    # The text guide writes the OOXML custom property as vt:lpwstr; this writes vt:lpstr.
    import zipfile
    tmp = path + ".lpstr"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "docProps/custom.xml":
                data = data.replace(b"<vt:lpwstr>", b"<vt:lpstr>").replace(b"</vt:lpwstr>", b"</vt:lpstr>")
            zout.writestr(item, data)
    os.replace(tmp, path)


def pdf_xmp_only(path, text):
    # The text guide's PDF carrier is the Info dictionary entry /AIGC; this removes it and writes
    # the label as XMP TC260:AIGC in the document's metadata stream instead, with ExifTool.
    run_tool("exiftool", "-config", TC260_CONFIG, "-q", "-overwrite_original", "-PDF:AIGC=",
             "-XMP-TC260:AIGC=" + text, path)


def mp4_to_xmp(path, text):
    # The guides' MP4/MOV/M4A carrier is an mdta key AIGC in moov/udta/meta (keys + ilst); this
    # writes the label as XMP TC260:AIGC with ExifTool (a uuid box, or moov/udta/XMP_ in a MOV)
    # and renames the mdta key the reference wrote (same length, so no box size changes), which
    # leaves the XMP as the only label.
    data = open(path, "rb").read()
    open(path, "wb").write(data.replace(b"mdtaAIGC", b"mdtaXXXX"))
    run_tool("exiftool", "-config", TC260_CONFIG, "-q", "-overwrite_original", "-XMP-TC260:AIGC=" + text, path)


def by_extension(moves):
    """One carrier move per file extension (the mutant's media list names only these)."""
    def move(path, text):
        moves[os.path.splitext(path)[1].lower()](path, text)
    return move


# name: (requirement broken, roles, media per op (None: the reference's), handler, collateral, what)
MUTANTS = {
    "read-accepts-bad-label-value": ("E-c", {"read": None}, read_then(accept_bad_label_value), [],
                                     "reports Label \"4\", \"0\", \"AIGC\" or a number as valid"),
    "read-ignores-conflicts": ("GB-6.1-c", {"read": None}, read_then(no_conflict), ["PG-202510A-carrier"],
                               "reports two different labels in one file as valid (collateral PG-202510A-carrier: "
                               "fmt-read-craft-both-different-wav is a trap of the audio guide's own carrier, its "
                               "top-level AIGC chunk disagreeing with the LIST/INFO variant)"),
    # A label the reference reads as invalid is never conformant (issue 19): accepting it breaks
    # the mandatory clause the problem is charged to (vectors/requirements.yaml problem_codes)
    # as well as the guide requirement.
    "read-prefix-bound-xmp": ("GB-6.1-b", {"read": None}, read_then(prefix_bound), ["PG-20259A-carrier"],
                              "trusts the TC260 prefix, ignoring the namespace URI"),
    "read-strict-charset": ("E-j", {"read": None}, read_then(strict_charset), [],
                            "treats the 'mainly' rule of Annex E j) as mandatory"),
    "read-strict-provider-code": ("PG-20252A-code", {"read": None}, read_then(strict_provider_code), [],
                                  "treats a provider code failing the PG-20252A check as an invalid label"),
    "read-misses-charset": ("E-j", {"read": None}, read_then(hides_problem("charset")), [],
                            "reports problems but never notices values outside the character set of Annex E j)"),
    "read-misses-provider-code": ("PG-20252A-code", {"read": None}, read_then(hides_problem("provider-code-invalid")), [],
                                  "reports problems but never checks a provider code against PG-20252A"),
    "read-json-anywhere": ("E-a", {"read": None}, json_anywhere, ["GB-6.1-a", "PG-20258A-carrier"],
                           "takes JSON with a Label key from any field, whatever its name (collateral GB-6.1-a and "
                           "PG-20258A-carrier: it also takes a YAML block in a Markdown body for front matter, "
                           "fmt-read-md-not-at-head-md)"),
    "read-ignores-signatures": ("CAC-10-2", {"read": None}, read_then(trust_signatures), ["PG-202511A-sig"],
                                "reports every SecurityData signature as verified without checking it"),
    "read-never-verifies": ("PG-202511A-sig", {"read": None}, read_then(never_verifies), [],
                            "reports every SM2 signature as unsupported instead of verifying it"),
    "label-writes-label-4": ("E-c", {"label": ALL_READ}, label_with(lambda f: dict(f, Label="4"), allow_invalid=True), [],
                             "writes Label \"4\" whatever was asked, on every format"),
    "label-empty-producer": ("E-d", {"label": ALL_READ}, set_field("ContentProducer", ""), [],
                             "leaves ContentProducer empty, on every format"),
    "label-empty-produce-id": ("E-e", {"label": ALL_READ}, set_field("ProduceID", ""), [],
                               "leaves ProduceID empty, on every format"),
    "label-fills-reserved1": ("E-f", {"label": ALL_READ}, set_field("ReservedCode1", "not-asked-for"), [],
                              "writes its own text into ReservedCode1, on every format"),
    "label-empty-propagator": ("E-g", {"label": ALL_READ}, set_field("ContentPropagator", "", only_if_asked=True), ["E-note1"],
                               "drops the ContentPropagator it was given, on every format (collateral E-note1: writer-explicit-propagator-kept checks that given propagation elements are kept at first write)"),
    "label-empty-propagate-id": ("E-h", {"label": ALL_READ}, set_field("PropagateID", "", only_if_asked=True), ["E-note1"],
                                 "drops the PropagateID it was given, on every format (collateral E-note1: writer-explicit-propagator-kept checks that given propagation elements are kept at first write)"),
    "label-fills-reserved2": ("E-i", {"label": ALL_READ}, set_field("ReservedCode2", "not-asked-for"), [],
                              "writes its own text into ReservedCode2, on every format"),
    "label-appends-second-label": ("GB-6.1-c", {"label": ["image/png", "image/jpeg", "image/tiff", "image/webp", "audio/wav", "audio/mp4",
                                                         "video/x-msvideo", "video/mp4"]},
                                   label_with(after=keep_old_and_append), [],
                                   "keeps the old label next to the new one, in a second carrier (PNG, JPEG, TIFF, WebP, WAV, M4A, AVI, MP4)"),
    "label-wrong-namespace": ("GB-6.1-b", {"label": XMP_IMAGES}, wrong_namespace, ["PG-20259A-carrier"],
                              "binds the TC260 prefix to a wrong namespace URI, in every XMP image format"),
    "label-drops-reserved2-key": ("E-b", {"label": ALL_READ}, label_raw(without_reserved2), [],
                                  "leaves the ReservedCode2 key out of the JSON (Annex E b: all seven keys), on every format"),
    "label-alters-payload": ("GB-6.1-a", {"label": ALL_READ}, alters_payload, [],
                             "changes the content while writing the label (a pixel, a packet, a page's rotation, a word), on every format"),
    "label-ignores-note1": ("E-note1", {"label": ALL_READ}, note1_handler, [],
                            "leaves empty propagation elements empty at first write, on every format"),
    "platform-drops-producer": ("CAC-10-2", {"propagate": None}, propagate_with(after=drop_producer), [],
                                "deletes the producer's elements when adding its own"),
    "platform-keeps-old-propagator": ("CAC-6-p2", {"propagate": None}, propagate_with(after=keep_input_propagator), [],
                                      "does not write its own propagation elements"),
    "platform-appends-second-label": ("GB-6.1-c", {"propagate": IMAGE}, propagate_with(after=append_old_label), [],
                                      "adds its label next to the producer's instead of updating it (PNG: the only format whose propagate vectors have a second carrier this mutant can write without changing the payload)"),
    "platform-declared-is-ai": ("CAC-6-2", {"propagate": None}, propagate_with(notice=declared_is), [],
                                "shows 'is AI' for a mere user declaration"),
    "platform-ignores-traces": ("CAC-6-3", {"propagate": None}, propagate_with(notice=ignore_trace), [],
                                "never looks for explicit labels or other traces"),
    "platform-ignores-metadata": ("CAC-6-1", {"propagate": None}, propagate_with(notice=ignore_metadata), [],
                                  "never treats verified metadata as verified"),
    # JPEG only: the other non-XMP image carriers the reference reads (EXIF UserComment in TIFF,
    # WebP) are the image guide's own Annex B alternatives (digest 3.8), so writing them is not a
    # clear carrier failure.
    "label-image-off-guide-carrier": ("PG-20259A-carrier", {"label": ["image/jpeg"]}, move_label(jpeg_to_app11), [],
                                      "writes the JPEG label into an APP11 segment (non-standard, digest 9.19) instead of XMP "
                                      "(the image guide's carrier)"),
    "label-audio-off-guide-carrier": ("PG-202510A-carrier", {"label": ["audio/wav", "audio/mp4"]},
                                      move_label(by_extension({".wav": wav_to_list_info, ".m4a": mp4_to_xmp})), [],
                                      "writes the audio label off the audio guide's carrier: a WAV LIST/INFO sub-chunk instead "
                                      "of a top-level AIGC chunk, M4A XMP instead of the mdta key"),
    "label-video-off-guide-carrier": ("PG-20257A-carrier", {"label": ["video/x-msvideo", "video/mp4", "video/quicktime"]},
                                      move_label(by_extension({".avi": avi_to_top_chunk, ".mp4": mp4_to_xmp, ".mov": mp4_to_xmp})), [],
                                      "writes the video label off the video guide's carrier: an AVI top-level AIGC chunk (the WAV "
                                      "carrier) instead of LIST/INFO, MP4/MOV XMP instead of the mdta key"),
    "label-text-off-guide-carrier": ("PG-20258A-carrier",
                                     {"label": ["text/markdown", "application/pdf",
                                                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]},
                                     move_label(by_extension({".md": md_to_json_string, ".pdf": pdf_xmp_only, ".docx": docx_lpstr})), [],
                                     "writes the document label off the text guide's carrier: Markdown AIGC as a JSON string "
                                     "instead of a YAML mapping, PDF XMP instead of the Info dictionary, DOCX vt:lpstr instead of vt:lpwstr"),
}




# ---- explicit-label mutants: an otherwise correct generator with one defect in the visible label
def explicit_label(make_visible):
    """A generator whose visible label is made by `make_visible(req, out)`; the implicit label is
    then written with the reference, as a correct implementation would."""
    def handler(req):
        if not req.get("explicit"):
            return ref_adapter(req)
        ext = os.path.splitext(req["output"])[1]
        tmp = req["output"] + ".visible" + ext
        make_visible(req, tmp)
        r = ref("embed", tmp, "-o", req["output"], "--force", "--fields", json.dumps(with_note1(req["fields"])), check=False)
        os.remove(tmp)
        if r.returncode != 0:
            return {"status": "error", "message": r.stderr.strip()}
        return {"status": "ok"}
    return explicit_only(handler)


def mark_args(req):
    e = req["explicit"]
    args = []
    if e.get("text"):
        args += ["--text", e["text"]]
    if e.get("kind"):
        args += ["--audio", e["kind"]]
    if e.get("position"):
        args += ["--position", e["position"]]
    for start, end in e.get("rounds") or []:
        args += ["--round", f"{start}-{end}"]
    return args


def mark_with(extra):
    def make(req, out):
        args = mark_args(req)
        for k, val in extra(req).items():
            if k in args:
                args[args.index(k) + 1] = val
            else:
                args += [k, val]
        ref("mark", req["input"], "-o", out, "--force", "--allow-nonconforming", *args)
    return make


def imagick_text(ratio, text=None, fill="white", plate="#000000a6"):
    """ImageMagick draws the label (white on a dark plate, bottom-right) with a point size of
    `ratio` x the shortest side, and `text` instead of the requested one when given (`fill`
    and `plate`: other colours)."""
    def make(req, out):
        w, h = map(int, subprocess.run(["identify", "-format", "%w %h", req["input"]], capture_output=True, text=True, check=True).stdout.split())
        font = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True).stdout
        size = max(6, int(min(w, h) * ratio))
        subprocess.run(["convert", req["input"], "-font", font, "-pointsize", str(size), "-fill", fill, "-undercolor", plate,
                        "-gravity", "southeast", "-annotate", "+12+12", text or req["explicit"].get("text") or "AI生成", out], check=True)
    return make


def long_first_rhythm(req, out):
    # 长短短短 (-··· , Morse 'B') instead of 短长短短 at the start: GB-5.3-c broken.
    rate = subprocess.run(["soxi", "-r", req["input"]], capture_output=True, text=True, check=True).stdout.strip()
    chans = subprocess.run(["soxi", "-c", req["input"]], capture_output=True, text=True, check=True).stdout.strip()
    tones = out + ".tones.wav"
    seq = []
    for i, d in enumerate([0.36, 0.12, 0.12, 0.12]):
        if i:
            seq += [":", "synth", "0.12", "sine", "0"]
        seq += ([":"] if seq else []) + ["synth", str(d), "sine", "800"]
    subprocess.run(["sox", "-n", "-r", rate, "-c", chans, "-b", "16", tones] + seq + ["vol", "0.6"], check=True)
    subprocess.run(["sox", tones, req["input"], out], check=True)
    os.remove(tones)


def faint_rhythm(req, out):
    # 短长短短 done right (800 Hz, 120 ms units) but at 0.0003 of full scale, some 28 dB under
    # the audio it is prepended to: found in the clean file, lost once white noise is added
    # 20 dB below the audio's level (the profile's distinguishability check): GB-5.3-f broken.
    rate = subprocess.run(["soxi", "-r", req["input"]], capture_output=True, text=True, check=True).stdout.strip()
    chans = subprocess.run(["soxi", "-c", req["input"]], capture_output=True, text=True, check=True).stdout.strip()
    tones, quiet = out + ".tones.wav", out + ".quiet.wav"
    seq = []
    for d in [0.12, 0.36, 0.12, 0.12]:
        seq += ([":"] if seq else []) + ["synth", str(d), "sine", "800", ":", "synth", "0.12", "sine", "0"]
    subprocess.run(["sox", "-n", "-r", rate, "-c", chans, "-b", "16", tones] + seq, check=True)
    subprocess.run(["sox", tones, quiet, "vol", "0.0003"], check=True)
    subprocess.run(["sox", quiet, req["input"], out], check=True)
    os.remove(tones)
    os.remove(quiet)


def ffmpeg_centre_text(req, out):
    # ffmpeg draws the requested wording, 8 % of the height, white on a dark plate, in the
    # centre of every frame: only the position (GB-5.4-e) is wrong. The plate keeps the text
    # readable over the busy centre of the test pattern (the reference's own centre rendering
    # was misread by OCR there, which charged GB-5.4-b as well).
    font = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True).stdout
    text = (req["explicit"].get("text") or "AI生成").replace("'", "")
    vf = (f"drawtext=fontfile={font}:text='{text}':fontsize=h*0.08:fontcolor=white:box=1:"
          "boxcolor=black@0.7:boxborderw=8:x=(w-tw)/2:y=(h-th)/2")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", req["input"], "-vf", vf, "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "copy", out], check=True)


def ffmpeg_text(text=None, size="h*0.08", where="x=w-tw-12:y=h-th-12", enable=None, style="Regular"):
    """ffmpeg drawtext on a dark plate: `text` instead of the requested wording, the font size,
    the place, and from when (`enable`, an ffmpeg expression) when given."""
    def make(req, out):
        font = subprocess.run(["fc-match", "-f", "%{file}", f"Noto Sans CJK SC:style={style}"], capture_output=True, text=True).stdout
        t = (text or req["explicit"].get("text") or "AI生成").replace("'", "")
        vf = (f"drawtext=fontfile={font}:text='{t}':fontsize={size}:fontcolor=white:box=1:"
              f"boxcolor=black@0.7:boxborderw=8:{where}" + (f":enable='{enable}'" if enable else ""))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", req["input"], "-vf", vf, "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        "-c:a", "copy", out], check=True)
    return make


def no_visible_label(req, out):
    # Writes the implicit label only: the visible label is missing altogether.
    shutil.copy(req["input"], out)


def text_buried(req, out):
    # The prompt inside the first paragraph's sentence, not as a prompt line of its own.
    text = open(req["input"], encoding="utf-8").read()
    prompt = req["explicit"].get("text") or "本内容由人工智能生成"
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":
        start = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    for i in range(start, len(lines)):
        if lines[i].strip() and not lines[i].startswith("#"):
            mid = len(lines[i]) // 2
            lines[i] = lines[i][:mid] + f"（{prompt}）" + lines[i][mid:]
            break
    open(out, "w", encoding="utf-8").write("\n".join(lines))


def soxi(path, flag):
    return subprocess.run(["soxi", flag, path], capture_output=True, text=True, check=True).stdout.strip()


def voice_or_reference(append):
    """A generator whose voice prompt is made by `append(req, out)` (sox, same rate, channels and
    16-bit samples as the input, so the original stays bit-exact before the prompt); rhythm
    requests are done right by the reference."""
    def make(req, out):
        if req["explicit"].get("kind") != "voice":
            mark_with(lambda r: {})(req, out)
            return
        append(req, out)
    return make


def first_round_only(req, out):
    # The reference's label, but for the first interaction round only: the file starts with
    # 短长短短 and the later rounds have none at their start or end (GB-5.3-d note 3 broken).
    # Requests without rounds are marked as the reference marks them.
    e = dict(req["explicit"])
    if e.get("rounds"):
        e["rounds"] = e["rounds"][:1]
    mark_with(lambda r: {})(dict(req, explicit=e), out)


def rhythm_or_reference(make_rhythm):
    """A generator whose rhythm label is made by `make_rhythm(req, out)`; voice prompts, and
    requests naming interaction rounds (a label per round), are done right by the reference."""
    def make(req, out):
        if req["explicit"].get("kind") == "voice" or req["explicit"].get("rounds"):
            mark_with(lambda r: {})(req, out)
            return
        make_rhythm(req, out)
    return make


def append_white_noise(req, out):
    # 4.7 s of white noise where the spoken prompt should be: GB-5.3-a (no voice label),
    # 5.3-b (no spoken wording) and 5.3-e (no speech to time) broken.
    rate, chans = soxi(req["input"], "-r"), soxi(req["input"], "-c")
    noise = out + ".noise.wav"
    subprocess.run(["sox", "-R", "-D", "-n", "-r", rate, "-c", chans, "-b", "16", noise, "synth", "4.7", "whitenoise", "vol", "0.3"], check=True)
    subprocess.run(["sox", "-D", req["input"], noise, out], check=True)
    os.remove(noise)


def append_fast_voice(req, out):
    # The bundled spoken prompt at 2.5x its tempo (pitch kept): about 340 字/min, GB-5.3-e broken.
    rate, chans = soxi(req["input"], "-r"), soxi(req["input"], "-c")
    voice = out + ".fast.wav"
    prompt = os.path.join(ROOT, "reference/assets/audio/voice-prompt-zh.wav")
    subprocess.run(["sox", "-D", prompt, "-r", rate, "-c", chans, "-b", "16", voice, "tempo", "-s", "2.5", "pad", "0.3", "0"], check=True)
    subprocess.run(["sox", "-D", req["input"], voice, out], check=True)
    os.remove(voice)


EXPLICIT = {
    "explicit-video-wording": ("GB-5.4-b", {"label": ["video/mp4"]}, explicit_label(ffmpeg_text(text="AI创作")), [],
                               "writes 'AI创作' (no generation element) on videos"),
    "explicit-video-late": ("GB-5.4-c", {"label": ["video/mp4"]}, explicit_label(ffmpeg_text(enable="gte(t,0.5)")), ["GB-5.4-g"],
                            "shows the video label from 0.5 s, not from the first frame (collateral GB-5.4-g: the 2 s are counted from the first frame)"),
    "explicit-video-small": ("GB-5.4-f", {"label": ["video/mp4"]}, explicit_label(ffmpeg_text(size="min(w\,h)*0.046")), [],
                             "draws the video label at about 4 % of the shortest side"),
    "explicit-text-buried": ("GB-5.1-c", {"label": ["text/markdown"]}, explicit_label(text_buried), ["GB-5.1-b"],
                             "puts the prompt inside a paragraph's sentence instead of at the start, middle or end (collateral GB-5.1-b: the reference counts only a line of its own as a prompt, so no prompt wording is found; GB-5.1-a is not tested: the changed sentence could hold a symbol prompt)"),
    "explicit-text-none": ("GB-5.1-a", {"label": ["text/markdown"]}, explicit_label(no_visible_label), ["GB-5.1-b", "GB-5.1-c"],
                           "adds no text prompt (collateral GB-5.1-b/c: no wording and no place can be found for a prompt that is not there)"),
    "explicit-image-none": ("GB-5.2-a", {"label": ["image/png"]}, explicit_label(no_visible_label), ["GB-5.2-b", "GB-5.2-c", "GB-5.2-e"],
                            "adds no image label (collateral GB-5.2-b/c/e: no wording, position or height of a label that is not there; as for video, a missing label fails every measurement of it)"),
    "explicit-video-none": ("GB-5.4-a", {"label": ["video/mp4"]}, explicit_label(no_visible_label), ["GB-5.4-b", "GB-5.4-c", "GB-5.4-e", "GB-5.4-f", "GB-5.4-g"],
                            "adds no video label (collateral GB-5.4-b/c/e/f/g: every measurement of a label that is not there fails)"),
    "explicit-voice-white-noise": ("GB-5.3-a", {"label": ["audio/wav"]}, explicit_label(voice_or_reference(append_white_noise)), ["GB-5.3-b", "GB-5.3-e"],
                                   "appends 4.7 s of white noise when asked for a voice prompt (collateral GB-5.3-b: no wording is spoken; GB-5.3-e: no speech to time)"),
    "explicit-voice-2-5x": ("GB-5.3-e", {"label": ["audio/wav"]}, explicit_label(voice_or_reference(append_fast_voice)), [],
                            "speaks the voice prompt at 2.5x the normal tempo"),
    "explicit-image-too-small": ("GB-5.2-e", {"label": ["image/png"]}, explicit_label(imagick_text(0.03)), [],
                                 "draws the image label at 3 % of the shortest side"),
    "explicit-image-centre": ("GB-5.2-c", {"label": ["image/png"]}, explicit_label(mark_with(lambda r: {"--position": "center"})), [],
                              "puts the image label in the centre"),
    "explicit-image-faint": ("GB-5.2-d", {"label": ["image/png"]}, explicit_label(imagick_text(0.09, fill="#b8b8b8", plate="#808080")), [],
                             "draws the right wording, large, at the corner, but light grey on mid grey (contrast ratio 2.0:1, colour difference ΔE 21)"),
    "explicit-image-wording": ("GB-5.2-b", {"label": ["image/png"]}, explicit_label(imagick_text(0.09, "AI创作")), [],
                               "writes 'AI创作' (no generation element) on images"),
    "explicit-text-wording": ("GB-5.1-b", {"label": ["text/markdown"]}, explicit_label(mark_with(lambda r: {"--text": "【提示】本内容由AI创作"})), ["GB-5.1-c"],
                              "writes a text prompt without 生成/合成 (collateral GB-5.1-c: only a conforming prompt counts as placed at the start, middle or end)"),
    "explicit-rhythm-long-first": ("GB-5.3-c", {"label": ["audio/wav"]}, explicit_label(rhythm_or_reference(long_first_rhythm)), ["GB-5.3-a"],
                                   "plays 长短短短 instead of 短长短短 (voice prompts are done right; collateral GB-5.3-a: a wrong rhythm is neither of the two audio labels 5.3 a allows)"),
    "explicit-rhythm-faint": ("GB-5.3-f", {"label": ["audio/wav"]}, explicit_label(rhythm_or_reference(faint_rhythm)), [],
                              "plays 短长短短 right but some 28 dB under the audio (voice prompts are done right)"),
    "explicit-rounds-first-only": ("GB-5.3-d", {"label": ["audio/wav"]}, explicit_label(first_round_only), [],
                                   "labels the first of the interaction rounds a request names, not the others (5.3 d note 3)"),
    "explicit-video-1-5s": ("GB-5.4-g", {"label": ["video/mp4"]}, explicit_label(mark_with(lambda r: {"--duration": "1.5"})), [],
                            "shows the video label for 1.5 s"),
    "explicit-video-centre": ("GB-5.4-e", {"label": ["video/mp4"]}, explicit_label(ffmpeg_centre_text), [],
                              "puts the video label (ffmpeg drawtext on a dark plate) in the centre of the frame"),
}
MUTANTS.update(EXPLICIT)


def info(name):
    breaks, media, _, _, what = MUTANTS[name]
    base = ref_adapter({"protocol": 1, "op": "info", "vector": "info"})
    roles = {"read": "reader", "label": "generator", "propagate": "platform"}
    return {
        "status": "ok",
        "name": f"mutant:{name}",
        "version": base.get("version", "0"),
        "roles": sorted({roles[op] for op in media}),
        "media": {op: (m if m is not None else base["media"].get(op, [])) for op, m in media.items()},
        # One python process per worker, the reference behind it in persistent mode too.
        "persistent": os.environ.get("AIGC_MUTANTS_PER_REQUEST") != "1",
        "breaks": breaks,
        "description": what,
    }


def answer(name, req):
    try:
        if req.get("op") == "info":
            return info(name)
        return MUTANTS[name][2](req)
    except Exception as e:  # a mutant fails like an implementation: status error with a message
        return {"status": "error", "message": f"{type(e).__name__}: {e}"}


def serve(name):
    """Persistent mode (PROTOCOL.md 1): one request per line, one answer per line carrying the
    request's id. The tools the mutants run (sox, ffmpeg, convert) inherit stderr as stdout, so
    nothing but answers reaches the harness's stream."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            req, resp = {}, {"status": "error", "message": f"not JSON: {e}"}
        else:
            resp = answer(name, req)
        if isinstance(req, dict) and "id" in req:
            resp["id"] = req["id"]
        answers.write(json.dumps(resp, ensure_ascii=False) + "\n")
        answers.flush()


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        for name, (breaks, media, handler, collateral, what) in MUTANTS.items():
            reach = getattr(handler, "reach", "all")
            # "every": the mutant declares the reference's whole media list for its ops.
            formats = "every" if all(m is None for m in media.values()) else ",".join(sorted({x for m in media.values() for x in m}))
            print(f"{name}\t{breaks}\t{','.join(collateral)}\t{reach}\t{what}\t{formats}")
        return
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in MUTANTS or sys.argv[2:] not in ([], ["serve"]):
        sys.exit(f"usage: mutant.py NAME [serve] | --list  (names: {', '.join(MUTANTS)})")
    name = sys.argv[1]
    if sys.argv[2:] == ["serve"]:
        serve(name)
        return
    print(json.dumps(answer(name, json.loads(sys.stdin.read())), ensure_ascii=False))


if __name__ == "__main__":
    main()
