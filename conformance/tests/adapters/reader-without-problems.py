#!/usr/bin/env python3
"""A reader that answers as the reference does but reports no `problems` (protocol v1 leaves
them optional): the vectors that expect a soft-rule problem to be noticed cannot measure it,
so their requirements must come out "not tested", never passed. One request per process; the
reference is $AIGC_LABEL (the harness tests set it)."""
import json
import os
import subprocess
import sys

request = sys.stdin.read()
answer = subprocess.run([os.environ.get("AIGC_LABEL", "aigc-label"), "adapter"], input=request,
                        capture_output=True, text=True, check=True).stdout
response = json.loads(answer)
if json.loads(request).get("op") == "info":
    response["persistent"] = False
for label in response.get("labels", []):
    label.pop("problems", None)
print(json.dumps(response, ensure_ascii=False))
