#!/usr/bin/env python3
"""A reader that answers "unlabeled" for files it cannot parse (issue 19), as a real public TC260
reader does: otherwise it is the reference's adapter (`aigc-label adapter`, found through
$AIGC_LABEL). GB 45438 says nothing about broken files, so the suite charges this to its own
requirement SUITE-damaged-input, never to GB-6.1-b (conformance/tests/rules.rs).
"""
import json
import os
import subprocess
import sys

req = json.loads(sys.stdin.read())
ref = os.environ.get("AIGC_LABEL", "aigc-label")
r = subprocess.run([ref, "adapter"], input=json.dumps(req), capture_output=True, text=True)
if r.returncode != 0:
    print(json.dumps({"status": "error", "message": r.stderr.strip()[:500]}))
    sys.exit(0)
resp = json.loads(r.stdout)
if req.get("op") == "info":
    resp["persistent"] = False  # one request per process (no `serve` loop here)
    resp["name"] = "unlabeled-on-damage"
if req.get("op") == "read" and resp.get("status") in ("rejected", "error"):
    resp = {"status": "ok", "labels": [], "verdict": "unlabeled"}
print(json.dumps(resp))
