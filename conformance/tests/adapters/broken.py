#!/usr/bin/env python3
"""A deliberately broken adapter for the harness's own tests.

Usage: broken.py MODE [persistent] [serve]. It answers `info` correctly, misbehaves in MODE on
one target vector, and answers every other request with status `error` (so the run goes on and
the other vectors get ordinary outcomes).
"""
import json
import os
import shutil
import signal
import sys
import time

MODE = sys.argv[1]
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
PERSISTENT = "persistent" in sys.argv[2:]
READ_TARGET = "implicit-png-read-xmp-valid"
LABEL_TARGET = "implicit-png-label-plain"


def answer(req):
    """Return the response text to print, or act out the failure."""
    if req.get("op") == "info":
        return json.dumps({"status": "ok", "name": "broken-" + MODE, "version": "0",
                           "roles": ["reader", "generator"],
                           "media": {"read": ["image/png"], "label": ["image/png"]},
                           "persistent": PERSISTENT})
    vid = req.get("vector")
    if vid == READ_TARGET:
        if MODE == "crash":
            sys.stderr.write("broken adapter: crashing on purpose\n")
            sys.stderr.flush()
            os._exit(3)
        if MODE == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        if MODE == "hang":
            # An hour: far beyond both the run's --timeout (10 s) and any slowness of the machine,
            # so a harness that waited for the process instead of killing it cannot pass.
            time.sleep(3600)
        if MODE == "garbage":
            return "this is not JSON"
        if MODE == "invalid-schema":
            return json.dumps({"status": "ok", "labels": "none", "verdict": "maybe"})
        if MODE == "huge":
            return "x" * (2 << 20)
        if MODE.startswith("problems-"):
            # The right label, with `problems` (protocol v1, optional: a list of codes) as a
            # string, as a list of numbers, or as it should be (an empty list: the control).
            problems = {"problems-not-a-list": "charset", "problems-not-strings": [7],
                        "problems-a-list": []}[MODE]
            fields = {"Label": "1", "ContentProducer": "001191110102MACQD9K64010000",
                      "ProduceID": "20250901-0001", "ReservedCode1": "",
                      "ContentPropagator": "001191110102MACQD9K64010000",
                      "PropagateID": "20250901-0001", "ReservedCode2": ""}
            return json.dumps({"status": "ok", "verdict": "valid",
                               "labels": [{"fields": fields, "carrier": "png/iTXt/XMP",
                                           "problems": problems}]})
    if vid == LABEL_TARGET:
        # The input is a private copy (the harness never says where the vectors are): a labelled
        # file comes from this adapter's own folder (a copy of vectors/implicit/png/xmp-valid.png).
        labelled = os.path.join(FIXTURES, "xmp-valid.png")
        if MODE == "wrong-label":
            # A labelled file, but with another label than the one requested.
            shutil.copyfile(labelled, req["output"])
            return json.dumps({"status": "ok"})
        if MODE == "missing-output":
            return json.dumps({"status": "ok"})
        if MODE == "writes-outside":
            # The folder to litter is the next argument (the test names a vectors folder).
            with open(os.path.join(sys.argv[2], "stray-output.png"), "wb") as f:
                f.write(b"not allowed here")
            shutil.copyfile(labelled, req["output"])
            return json.dumps({"status": "ok"})
    return json.dumps({"status": "error", "message": "broken test adapter (%s)" % MODE})


def with_id(req, text):
    """Echo the request id (persistent mode) into a JSON object answer."""
    try:
        obj = json.loads(text)
    except ValueError:
        return text
    if isinstance(obj, dict) and isinstance(req.get("id"), str):
        obj["id"] = req["id"]
        return json.dumps(obj)
    return text


if "serve" in sys.argv[2:]:
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.write(with_id(req, answer(req)) + "\n")
        sys.stdout.flush()
else:
    sys.stdout.write(answer(json.loads(sys.stdin.read())) + "\n")
