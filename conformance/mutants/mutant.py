#!/usr/bin/env python3
"""Mutant implementations: the reference with exactly one requirement broken.

    python3 mutant.py NAME            one request on stdin, one response on stdout (protocol 1)
    python3 mutant.py NAME serve      persistent mode: one request per line, one answer per line
    python3 mutant.py --list          the mutants: name, the requirement it breaks, collateral,
                                      reach (all, implicit or explicit: which label requests
                                      its defect can change), what it does; tab-separated

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
    # Appends the new label next to the old one instead of replacing it (breaks 6.1 c).
    old = read_json(req["input"])
    if old["labels"]:
        raw_new = read_json(req["output"])["labels"][0]["raw"]
        shutil.copy(req["input"], req["output"])
        png_add_text(req["output"], raw_new)


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
    src = read_json(req["input"])
    if src["labels"] and req["output"].endswith(".png"):
        png_add_text(req["output"], src["labels"][0]["raw"])


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
    "label-appends-second-label": ("GB-6.1-c", {"label": IMAGE}, label_with(after=keep_old_and_append), [],
                                   "keeps the old label and appends the new one"),
    "label-wrong-namespace": ("GB-6.1-b", {"label": IMAGE},
                              label_with(after=lambda r: png_replace_in_xmp(r["output"], "http://www.tc260.org.cn/ns/AIGC/1.0/", "http://ns.adobe.com/xap/1.0/tc/")), ["PG-20259A-carrier"],
                              "binds the TC260 prefix to a wrong namespace URI"),
    "label-drops-reserved2-key": ("E-b", {"label": ALL_READ}, label_raw(without_reserved2), [],
                                  "leaves the ReservedCode2 key out of the JSON (Annex E b: all seven keys), on every format"),
    "label-alters-payload": ("GB-6.1-a", {"label": IMAGE}, label_with(after=lambda r: png_flip_pixel(r["output"])), [],
                             "changes a pixel while writing the label"),
    "label-ignores-note1": ("E-note1", {"label": ALL_READ}, note1_handler, [],
                            "leaves empty propagation elements empty at first write, on every format"),
    "platform-drops-producer": ("CAC-10-2", {"propagate": None}, propagate_with(after=drop_producer), [],
                                "deletes the producer's elements when adding its own"),
    "platform-keeps-old-propagator": ("CAC-6-p2", {"propagate": None}, propagate_with(after=keep_input_propagator), [],
                                      "does not write its own propagation elements"),
    "platform-appends-second-label": ("GB-6.1-c", {"propagate": IMAGE}, propagate_with(after=append_old_label), [],
                                      "adds its label next to the producer's instead of updating it"),
    "platform-declared-is-ai": ("CAC-6-2", {"propagate": None}, propagate_with(notice=declared_is), [],
                                "shows 'is AI' for a mere user declaration"),
    "platform-ignores-traces": ("CAC-6-3", {"propagate": None}, propagate_with(notice=ignore_trace), [],
                                "never looks for explicit labels or other traces"),
    "platform-ignores-metadata": ("CAC-6-1", {"propagate": None}, propagate_with(notice=ignore_metadata), [],
                                  "never treats verified metadata as verified"),
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


def imagick_text(ratio, text=None):
    """ImageMagick draws the label (white on a dark plate, bottom-right) with a point size of
    `ratio` x the shortest side, and `text` instead of the requested one when given."""
    def make(req, out):
        w, h = map(int, subprocess.run(["identify", "-format", "%w %h", req["input"]], capture_output=True, text=True, check=True).stdout.split())
        font = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True).stdout
        size = max(6, int(min(w, h) * ratio))
        subprocess.run(["convert", req["input"], "-font", font, "-pointsize", str(size), "-fill", "white", "-undercolor", "#000000a6",
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


def rhythm_or_reference(make_rhythm):
    """A generator whose rhythm label is made by `make_rhythm(req, out)`; voice prompts are
    done right by the reference."""
    def make(req, out):
        if req["explicit"].get("kind") == "voice":
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
    "explicit-text-buried": ("GB-5.1-c", {"label": ["text/markdown"]}, explicit_label(text_buried), ["GB-5.1-a", "GB-5.1-b"],
                             "puts the prompt inside a paragraph's sentence instead of at the start, middle or end (collateral GB-5.1-a/b: the reference counts only a line of its own as a prompt, so no prompt and no prompt wording is found)"),
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
    "explicit-image-wording": ("GB-5.2-b", {"label": ["image/png"]}, explicit_label(imagick_text(0.09, "AI创作")), [],
                               "writes 'AI创作' (no generation element) on images"),
    "explicit-text-wording": ("GB-5.1-b", {"label": ["text/markdown"]}, explicit_label(mark_with(lambda r: {"--text": "【提示】本内容由AI创作"})), ["GB-5.1-c"],
                              "writes a text prompt without 生成/合成 (collateral GB-5.1-c: only a conforming prompt counts as placed at the start, middle or end)"),
    "explicit-rhythm-long-first": ("GB-5.3-c", {"label": ["audio/wav"]}, explicit_label(rhythm_or_reference(long_first_rhythm)), ["GB-5.3-a"],
                                   "plays 长短短短 instead of 短长短短 (voice prompts are done right; collateral GB-5.3-a: a wrong rhythm is neither of the two audio labels 5.3 a allows)"),
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
        for name, (breaks, _, handler, collateral, what) in MUTANTS.items():
            reach = getattr(handler, "reach", "all")
            print(f"{name}\t{breaks}\t{','.join(collateral)}\t{reach}\t{what}")
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
