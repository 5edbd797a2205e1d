#!/usr/bin/env python3
"""GB 45438-2025 adapter built on ExifTool (images) and ffprobe/ffmpeg (audio/video).

An independent implementation of `read` and `label` (conformance/PROTOCOL.md): the container
work is done by ExifTool 12.x with the TC260 XMP namespace declared in tc260.config beside this
file, and by FFmpeg for MP4/MOV/M4A/MP3 (`AIGC` format tag). Only the Annex E judgement of the
JSON value is written here. Known failures against the suite: conformance/adapters/README.md.
"""
import json
import os
import resource
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "tc260.config")
KEYS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
        "ContentPropagator", "PropagateID", "ReservedCode2"]
IMAGE = ["image/png", "image/jpeg", "image/webp", "image/tiff"]
AV = ["video/mp4", "video/quicktime", "audio/mp4", "audio/mpeg"]


# The adapter's own bound on one tool call: CPU seconds, not wall time, so that it holds on a
# loaded machine. Ordinary calls use well under a second; ExifTool on 10 000 nested XMP elements
# uses over a minute.
CPU_LIMIT_S = 10


class GaveUp(Exception):
    """A tool exceeded the adapter's CPU bound: the adapter ends with a failure exit status."""


def limit_cpu():
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S + 1))


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       preexec_fn=limit_cpu)
    if p.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise GaveUp("%s exceeded the adapter's bound of %d CPU seconds" % (cmd[0], CPU_LIMIT_S))
    return p.returncode, p.stdout, p.stderr


def judge(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return {}, False
    if isinstance(obj, dict) and list(obj) == ["AIGC"]:
        obj = obj["AIGC"]
    if not isinstance(obj, dict):
        return {}, False
    ok = all(isinstance(obj.get(k), str) for k in ("Label", "ContentProducer", "ProduceID",
                                                    "ContentPropagator", "PropagateID"))
    ok = ok and obj.get("Label") in ("1", "2", "3") and all(isinstance(v, str) for v in obj.values())
    return obj, ok


def is_av(req):
    media = req.get("media") or ""
    return media in AV or os.path.splitext(req["input"])[1].lower() in (".mp4", ".mov", ".m4a", ".mp3")


def found_values(req):
    """[(carrier, text)] or raises ValueError(message) when the file cannot be parsed."""
    path = req["input"]
    if is_av(req):
        code, out, err = run(["ffprobe", "-v", "error", "-show_entries", "format_tags",
                              "-of", "json", path])
        if code != 0:
            raise ValueError(err.strip() or "ffprobe failed")
        tags = json.loads(out).get("format", {}).get("tags", {})
        return [("ffprobe/format/" + k, v) for k, v in tags.items() if "AIGC" in k.upper()]
    code, out, err = run(["exiftool", "-config", CONFIG, "-j", "-G1", "-a", "-struct",
                          "-XMP-TC260:AIGC", "-PNG:all", "-EXIF:UserComment", "-Error", "-Warning", path])
    if code != 0 and not out.strip():
        raise ValueError(err.strip() or "exiftool failed")
    tags = json.loads(out)[0]
    if "ExifTool:Error" in tags:
        raise ValueError(tags["ExifTool:Error"])
    # ExifTool exits 0 on a truncated PNG and only warns; a reader must refuse such a file.
    warning = str(tags.get("ExifTool:Warning", ""))
    if "Corrupted" in warning or "Truncated" in warning:
        raise ValueError(warning)
    values = []
    for k, v in tags.items():
        if k == "XMP-TC260:AIGC" or (k.startswith("PNG:") and "AIGC" in k.split(":", 1)[1].upper()):
            for one in (v if isinstance(v, list) else [v]):
                values.append((k, one if isinstance(one, str) else json.dumps(one)))
    return values


def op_read(req):
    try:
        values = found_values(req)
    except ValueError as e:
        return {"status": "rejected", "message": str(e)}
    judged = [(c, judge(t), t.strip()) for c, t in values]
    labels = [{"fields": f, "carrier": c} for c, (f, _ok), _t in judged]
    if not labels:
        verdict = "unlabeled"
    elif len({json.dumps(f or t, sort_keys=True) for _c, (f, _o), t in judged}) > 1:
        verdict = "conflict"
    elif len(judged) == 1 and judged[0][1][1]:
        # 6.1 c) keeps only one copy: identical copies are invalid (profile duplicate-label).
        verdict = "valid"
    else:
        verdict = "invalid"
    return {"status": "ok", "labels": labels, "verdict": verdict}


def op_label(req):
    if req.get("explicit"):
        return {"status": "unsupported", "message": "explicit labels are not implemented"}
    fields = req.get("fields") or {}
    if not all(isinstance(fields.get(k), str) for k in KEYS) or fields.get("Label") not in ("1", "2", "3"):
        return {"status": "rejected", "message": "the fields do not make a valid Annex E label"}
    value = json.dumps({k: fields[k] for k in KEYS}, separators=(",", ":"))
    src, dst = req["input"], req["output"]
    if os.path.exists(dst):
        os.remove(dst)
    if is_av(req):
        cmd = ["ffmpeg", "-v", "error", "-i", src, "-map", "0", "-c", "copy",
               "-metadata", "AIGC=" + value, "-movflags", "use_metadata_tags", "-y", dst]
    else:
        # Drop the PNG text-chunk carrier, write the XMP property (ExifTool replaces it in place).
        cmd = ["exiftool", "-config", CONFIG, "-q", "-PNG:AIGC=", "-XMP-TC260:AIGC=" + value,
               "-o", dst, src]
    code, _out, err = run(cmd)
    if code != 0:
        return {"status": "rejected", "message": err.strip() or "write failed"}
    return {"status": "ok"}


def op_info(_req):
    return {"status": "ok", "name": "exiftool-ffmpeg-example", "version": "0.1",
            "roles": ["reader", "generator"],
            "media": {"read": IMAGE + AV, "label": IMAGE + AV},
            "persistent": False}


def main():
    try:
        req = json.loads(sys.stdin.read())
        op = {"info": op_info, "read": op_read, "label": op_label}.get(req.get("op"))
        resp = op(req) if op else {"status": "unsupported", "message": "op not implemented"}
    except GaveUp as e:
        sys.stderr.write("exiftool adapter: %s\n" % e)
        sys.exit(3)
    except Exception as e:
        resp = {"status": "error", "message": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(resp))


if __name__ == "__main__":
    main()
