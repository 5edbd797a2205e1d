#!/usr/bin/env python3
"""Regenerate every vector into a temporary folder and compare with the committed files.

    python3 vectors/tools/regen-check.py [--vectors DIR] [--only AREA]... [--keep DIR] [--record-tools]

Copies the sources of the vector tree (make scripts, manifests, tools, catalogue, profile, the
reference's assets the scripts read) into a fresh folder, runs every make script there in
dependency order, and compares each committed vector file with the regenerated one:
- identical bytes: reproduced;
- different bytes while the third-party tools (vectors/TOOLS) are the recorded versions: FAIL
  (a make script is not deterministic);
- different bytes with other tool versions: the decoded content is compared instead (pixels
  through ImageMagick, audio/video frames through ffmpeg's framemd5, and every label JSON found
  in the bytes); equal decoded content is reported, a difference fails.
A committed vector no script makes, or a file a script makes that is not committed, fails too.

--vectors checks another copy of the tree (default: the folder holding this script's tools/);
--only runs the named make scripts (e.g. implicit/png) and checks only their folders.
--record-tools rewrites vectors/TOOLS with this machine's versions (after re-making vectors).
Exit status: 0 reproduced, 1 differences, 2 could not run.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

VECTORS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# Dependency order: robustness damages files made by implicit/formats and implicit/annex-e.
SCRIPTS = ["implicit/png", "implicit/annex-e", "implicit/formats", "implicit/writer",
           "platform", "explicit", "robustness", "implicit/security"]
# Files of the vector tree that are written by hand, not by a make script.
SOURCE_NAMES = {"make.sh", "README.md", "CHANGELOG.md", "RELEASE", "TOOLS", "calibration.json",
                "requirements.yaml", "profile.yaml", "FORMAT.md",
                # implicit/security: the generator, and the OpenSSL signature it reuses while it
                # verifies (OpenSSL's SM2 nonces are random; see make.py)
                "make.py", "openssl-der.sig.hex"}
# Debian packages whose versions decide the bytes of the encoded vectors.
TOOL_PACKAGES = ["imagemagick", "libmagickcore-*", "sox", "libsox3", "ffmpeg", "libavcodec[0-9]*",
                 "libavformat[0-9]*", "libx264-*", "libx265-*", "libmp3lame0", "libvorbisenc2",
                 "libopus0", "libvpx*", "libheif1", "libheif-examples", "libwebp7",
                 "libimage-exiftool-perl", "libpng16-16*", "zlib1g", "python3", "bc",
                 "espeak-ng", "espeak-ng-data"]
IMAGES = {".png", ".jpg", ".gif", ".tif", ".webp", ".heic"}
AV = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".mp4", ".mov", ".mkv", ".webm",
      ".avi", ".flv"}


def is_source(rel):
    name = os.path.basename(rel)
    return (rel.startswith("tools" + os.sep) or name in SOURCE_NAMES or name.endswith(".yaml"))


def walk(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def tool_versions():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + TOOL_PACKAGES,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        return "dpkg-query unavailable: tool versions unknown\n"
    # Patterns also list known-but-absent packages (empty version): only installed ones count.
    return "".join(sorted(set(l.strip() + "\n" for l in out.splitlines()
                              if len(l.strip().split(" ")) == 2)))


def decoded(path):
    """A digest of what a file shows or plays, plus every label JSON in its bytes."""
    ext = os.path.splitext(path)[1].lower()
    h = hashlib.sha256()
    if ext in IMAGES:
        r = subprocess.run(["convert", path, "rgba:-"], capture_output=True)
        h.update(r.stdout if r.returncode == 0 else b"undecodable")
    elif ext in AV:
        r = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0",
                            "-f", "framemd5", "-"], capture_output=True)
        h.update(r.stdout if r.returncode == 0 else b"undecodable")
    else:
        return None
    data = open(path, "rb").read()
    for label in sorted(set(re.findall(rb'\{[^{}]{0,400}"Label"[^{}]{0,600}\}', data))):
        h.update(label)
    return h.hexdigest()


def main():
    global VECTORS
    args = sys.argv[1:]
    keep, only = None, []
    while args:
        a = args.pop(0)
        if a == "--keep":
            keep = args.pop(0)
        elif a == "--vectors":
            VECTORS = os.path.abspath(args.pop(0))
        elif a == "--only":
            only.append(args.pop(0).strip("/"))
        elif a == "--record-tools":
            args.insert(0, a)
            break
        else:
            print(__doc__)
            return 2
    scripts = [s for s in SCRIPTS if not only or s in only]
    in_scope = lambda rel: not only or any(rel.startswith(s + os.sep) for s in only)
    repo = os.path.dirname(VECTORS)
    if "--record-tools" in args:
        open(os.path.join(VECTORS, "TOOLS"), "w").write(
            "# Versions of the tools the committed vectors were made with (regen-check.py).\n"
            + tool_versions())
        print("wrote vectors/TOOLS")
        return 0
    recorded = open(os.path.join(VECTORS, "TOOLS")).read().split("\n", 1)[1] \
        if os.path.exists(os.path.join(VECTORS, "TOOLS")) else ""
    same_tools = recorded == tool_versions()
    work = keep or tempfile.mkdtemp(prefix="aigc-regen-")
    try:
        dst = os.path.join(work, "vectors")
        committed = [r for r in walk(VECTORS) if not is_source(r) and in_scope(r)]
        for rel in walk(VECTORS):
            if is_source(rel):
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                shutil.copy2(os.path.join(VECTORS, rel), os.path.join(dst, rel))
        assets = os.path.join(repo, "reference", "assets")
        if os.path.isdir(assets):  # the explicit vectors' font and voice prompt
            shutil.copytree(assets, os.path.join(work, "reference", "assets"))
        env = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8", SOURCE_DATE_EPOCH="1756684800")
        for s in scripts:
            t = time.time()
            r = subprocess.run(["bash", os.path.join(dst, s, "make.sh")], env=env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"regen-check: {s}/make.sh failed ({r.returncode}):\n{r.stderr}")
                return 2
            print(f"made {s} in {time.time() - t:.1f} s")
        made = [r for r in walk(dst) if not is_source(r) and in_scope(r)]
        problems, decoded_only = [], []
        if not only:
            found = sorted(os.path.dirname(r) for r in walk(VECTORS)
                           if os.path.basename(r) == "make.sh")
            for d in sorted(set(found) - set(SCRIPTS)):
                problems.append(f"{d}/make.sh: not in regen-check.py's SCRIPTS, so never checked")
        for rel in committed:
            a, b = os.path.join(VECTORS, rel), os.path.join(dst, rel)
            if not os.path.exists(b):
                problems.append(f"{rel}: committed but made by no script")
            elif open(a, "rb").read() != open(b, "rb").read():
                if same_tools:
                    problems.append(f"{rel}: different bytes with the recorded tool versions")
                else:
                    da, db = decoded(a), decoded(b)
                    if da is not None and da == db:
                        decoded_only.append(rel)
                    else:
                        problems.append(f"{rel}: different bytes and different decoded content")
        for rel in sorted(set(made) - set(committed)):
            problems.append(f"{rel}: made by a script but not committed")
        if not same_tools:
            print("tool versions differ from vectors/TOOLS; decoded content compared where bytes differ")
        for rel in decoded_only:
            print(f"same decoded content, other bytes: {rel}")
        for p in problems:
            print(f"DIFFERS {p}")
        print(f"regen-check: {len(committed)} committed vector files, "
              f"{len(committed) - len(problems) - len(decoded_only)} byte-identical, "
              f"{len(decoded_only)} decoded-identical, {len(problems)} problems")
        return 1 if problems else 0
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
