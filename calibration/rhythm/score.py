#!/usr/bin/env python3
"""Score the reference's audio label detector on a set made by make.py.

Usage: score.py DIR AIGC_LABEL [--verbose]
Runs `AIGC_LABEL check FILE --media audio --json` on every case of DIR/manifest.json (with
`--original` and `--voice-text` for voice cases) and counts:
- rhythm cases: detected = the measurement holds a 短长短短 label (`measurements.rhythm`);
- voice cases: detected = the inserted segment is measured as speech (`measurements.voice`).
A conforming case must be detected, a negative must not; a conforming rhythm must also be
distinguishable (5.3 f: still found under the profile's added noise, `rhythm_under_noise`).
Prints one line per kind and the misses; exits 1 if any case is wrong, 2 if a file could not be
measured.
"""
import json
import os
import subprocess
import sys

VOICE_TEXT = "本内容由人工智能生成"


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    folder, tool = sys.argv[1], sys.argv[2]
    verbose = "--verbose" in sys.argv[3:]
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    tally = {}
    wrong, broken = [], []
    for c in cases:
        cmd = [tool, "check", os.path.join(folder, c["file"]), "--media", "audio", "--json"]
        if "original" in c:
            cmd += ["--original", os.path.join(folder, c["original"]), "--voice-text", VOICE_TEXT]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 2 or not r.stdout.strip():
            broken.append((c["name"], r.stderr.strip()))
            continue
        m = json.loads(r.stdout)["measurements"]
        got = (m.get("rhythm") is not None) if c["kind"] == "rhythm" else (m.get("voice") is not None)
        key = (c["kind"], "conforming" if c["expect"] else "negative")
        ok_n, n = tally.get(key, (0, 0))
        tally[key] = (ok_n + (got == c["expect"]), n + 1)
        detail = ""
        if c["kind"] == "rhythm":
            detail = " ".join(g["pattern"] for g in m.get("groups", []))[:120]
            noise = m.get("rhythm_under_noise")
            if got and c["expect"] and noise is not None:
                fk = ("rhythm", "distinguishable")
                ok_f, n_f = tally.get(fk, (0, 0))
                tally[fk] = (ok_f + bool(noise["survives"]), n_f + 1)
                if not noise["survives"]:
                    wrong.append((c["name"], c["params"], "lost under added noise (5.3 f): %s" % json.dumps(noise)))
        elif m.get("speech"):
            s = m["speech"]
            detail = "voiced %.2f spread %.3f held %.2f glide %.2f jump %.2f mod %.2f" % (
                s["voiced_fraction"], s["pitch_spread_octaves"], s["held_pitch_fraction"],
                s.get("glide_fraction", -1), s.get("jump_fraction", -1), s["syllable_modulation"])
        if got != c["expect"]:
            wrong.append((c["name"], c["params"], detail))
        elif verbose:
            print("  ok   %-36s %s" % (c["name"], detail))
    for (kind, side), (ok_n, n) in sorted(tally.items()):
        what = {"conforming": "detected", "negative": "rejected"}.get(side, "found again under noise")
        print("%-6s %-10s %3d/%-3d %s (%.1f %%)" % (kind, side, ok_n, n, what, 100.0 * ok_n / max(1, n)))
    for name, params, detail in wrong:
        print("  WRONG %-36s %s | %s" % (name, json.dumps(params, ensure_ascii=False), detail))
    for name, err in broken:
        print("  ERROR %-36s %s" % (name, err))
    total = sum(n for k, (_, n) in tally.items() if k[1] != "distinguishable")
    right = sum(r for k, (r, _) in tally.items() if k[1] != "distinguishable")
    print("total  %d/%d right" % (right, total))
    return 2 if broken else (1 if wrong else 0)


if __name__ == "__main__":
    sys.exit(main())
