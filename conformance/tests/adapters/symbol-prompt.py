#!/usr/bin/env python3
"""A generator whose visible label on text is a general symbol (🤖 on a line of its own) and
no text prompt; everything else is the reference's (one request per process; the reference is
$AIGC_LABEL, which the harness tests set). GB 45438 5.1 a) allows a symbol, which the suite
cannot recognise: 5.1 a must come out "not tested", not passed and not failed."""
import json
import os
import subprocess
import sys

REF = os.environ.get("AIGC_LABEL", "aigc-label")
request = json.loads(sys.stdin.read())


def reference(req):
    out = subprocess.run([REF, "adapter"], input=json.dumps(req), capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


if request.get("op") == "label" and request.get("explicit") and request.get("media", "").startswith("text/"):
    text = open(request["input"], encoding="utf-8").read()
    symbol = request["output"] + ".symbol" + os.path.splitext(request["input"])[1]
    with open(symbol, "w", encoding="utf-8") as f:
        f.write("🤖\n\n" + text)
    r = subprocess.run([REF, "embed", symbol, "-o", request["output"], "--force",
                        "--fields", json.dumps(request["fields"])], capture_output=True, text=True)
    os.remove(symbol)
    answer = {"status": "ok"} if r.returncode == 0 else {"status": "error", "message": r.stderr}
else:
    answer = reference(request)
    if request.get("op") == "info":
        answer["persistent"] = False
print(json.dumps(answer, ensure_ascii=False))
