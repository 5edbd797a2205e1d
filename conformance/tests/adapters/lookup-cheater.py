#!/usr/bin/env python3
"""A cheating adapter, kept for the harness's own tests (issue 10, "Done when").

It has no label reader at all. It answers `read` requests by looking up the public golden
expectations: first by the request's vector id, then by the SHA-256 of the input file, in a
table made from vectors/**/*.yaml. Anything it cannot look up gets a confident nonsense answer
(a made-up valid label). A practice run (golden vectors, public ids) cannot tell it from a
working reader; an official run (fresh instances, opaque ids) must find it non-conformant.

Usage:
  lookup-cheater.py --build-table VECTORS_DIR TABLE.json   make the table (what a vendor ships)
  lookup-cheater.py TABLE.json                             serve from the shipped table
  lookup-cheater.py                                        read ../../../vectors directly
(`serve` as the last argument: persistent mode, one request per line.)
"""
import glob
import hashlib
import json
import os
import sys

import yaml


def build_table(vectors_dir):
    """{"by_id": {id: expect}, "by_sha256": {input sha256: expect}, "media": [...]}"""
    by_id, by_sha, media = {}, {}, set()
    pattern = os.path.join(vectors_dir, "**", "*.yaml")
    for manifest in sorted(glob.glob(pattern, recursive=True)):
        try:
            doc = yaml.safe_load(open(manifest, encoding="utf-8"))
        except Exception:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("vectors"), list):
            continue
        for v in doc["vectors"]:
            if v.get("op") != "read":
                continue
            expect = v.get("expect") or {}
            by_id[v["id"]] = expect
            if v.get("media"):
                media.add(v["media"])
            path = os.path.join(os.path.dirname(manifest), v.get("input", ""))
            try:
                with open(path, "rb") as f:
                    by_sha[hashlib.sha256(f.read()).hexdigest()] = expect
            except OSError:
                pass
    return {"by_id": by_id, "by_sha256": by_sha, "media": sorted(media)}


def load_table():
    args = [a for a in sys.argv[1:] if not a.startswith("-") and a != "serve"]
    if args:
        with open(args[0], encoding="utf-8") as f:
            return json.load(f)
    here = os.path.dirname(os.path.abspath(__file__))
    return build_table(os.path.join(here, "..", "..", "..", "vectors"))


NONSENSE = {"status": "ok", "verdict": "valid", "labels": [{"carrier": "lookup", "fields": {
    "Label": "1", "ContentProducer": "cheater", "ProduceID": "0", "ReservedCode1": "",
    "ContentPropagator": "cheater", "PropagateID": "0", "ReservedCode2": ""}}]}


def answer_from(expect):
    status = expect.get("status", "ok")
    if status in ("rejected", "rejected-or-error"):
        return {"status": "rejected", "message": "looked up"}
    labels = [{"carrier": "lookup", "fields": f} for f in (expect.get("labels") or [])]
    security = expect.get("security")
    if security and len(security) == len(labels):
        for lab, s in zip(labels, security):
            lab["security"] = {"status": s}
    if expect.get("problems") and labels:
        labels[0]["problems"] = list(expect["problems"])
    return {"status": "ok", "verdict": expect.get("verdict", "unlabeled"), "labels": labels}


def answer(req, table):
    if req.get("op") == "info":
        return {"status": "ok", "name": "lookup-cheater", "version": "0", "roles": ["reader"],
                "media": {"read": table["media"]}, "persistent": True}
    if req.get("op") != "read":
        return {"status": "unsupported", "message": "reader only"}
    expect = table["by_id"].get(req.get("vector"))
    if expect is None:
        try:
            with open(req.get("input", ""), "rb") as f:
                expect = table["by_sha256"].get(hashlib.sha256(f.read()).hexdigest())
        except OSError:
            expect = None
    return NONSENSE if expect is None else answer_from(expect)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--build-table":
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            json.dump(build_table(sys.argv[2]), f)
        return
    table = load_table()
    if "serve" in sys.argv[1:]:
        # Persistent mode (PROTOCOL.md): one request per line, one answer per line.
        # Each answer echoes its request's id (protocol v1, persistent mode).
        for line in sys.stdin:
            req = json.loads(line)
            response = answer(req, table)
            if "id" in req:
                response["id"] = req["id"]
            sys.stdout.write(json.dumps(response) + "\n")
            sys.stdout.flush()
        return
    req = json.loads(sys.stdin.read())
    print(json.dumps(answer(req, table)))


if __name__ == "__main__":
    main()
