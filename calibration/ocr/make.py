#!/usr/bin/env python3
"""OCR calibration set for the explicit-label wording check (GB-5.2-b images, GB-5.4-b video).

Labels drawn by renderers that share no code with the reference (Pillow, ImageMagick `convert`,
ffmpeg `drawtext`), in several CJK fonts shipped by Debian, on light/dark plates, with outlines or
bare on flat backgrounds, over flat, gradient and busy backgrounds, at 240p, 360p and 720p (and
portrait), with glyph heights 5.0-7 % of the shortest side. Negatives (「AI创作」, bare "AI",
"生成" without an AI element, garbage) must not read as conforming.

    make.py manifest            write cases.json (deterministic: seeded)
    make.py render DIR [IDS..]  render every case (or the listed ids) of cases.json into DIR

The images are made at run time (scripts/calibrate-ocr.sh); only the manifest is committed.
"""

import json
import os
import random
import subprocess
import sys

from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "cases.json")

# Debian CJK fonts: name -> (file, face index for Pillow; ffmpeg and ImageMagick take the
# first face, the Japanese one of the Noto collections, which draws these hanzi alike).
# Installed by scripts/install-deps.sh.
FONTS = {
    "noto-sans": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    "noto-sans-bold": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    "noto-serif": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "wqy-zenhei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    "wqy-microhei": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    "arphic-ukai": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    "arphic-uming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    "droid-fallback": ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
}

# Fonts without Latin letters (checked with `fc-query --format '%{charset}'`).
NO_LATIN = {"droid-fallback"}

POSITIVE = ["AI生成", "AI生成", "AI生成", "AI合成", "人工智能生成", "由AI生成", "本内容由AI生成", "人工智能合成"]
# (text, the parts the reading must contain to count as read, the parts it must lack)
NEGATIVE = [
    ("AI创作", ["创作"], ["生成", "合成"]),
    ("AI", [], ["生成", "合成"]),
    ("生成", ["生成"], ["AI"]),
    ("内容生成", ["生成"], ["AI"]),
    ("AI制作", [], ["生成", "合成"]),
    ("ABC123", [], ["生成", "合成"]),
    ("人工智能", [], ["生成", "合成"]),
]
SIZES = [(320, 240), (640, 360), (1280, 720), (360, 640)]
STYLES = ["plate-dark", "plate-light", "outline", "outline-dark", "bare"]
BACKGROUNDS = ["flat", "gradient", "busy"]
ANCHORS = ["bottom-right", "bottom-left", "top-left", "top-right", "bottom"]


def manifest():
    rng = random.Random(19)
    cases = []

    def add(**c):
        if c["font"] in NO_LATIN and any(ch.isascii() and ch.isalnum() for ch in c["text"]):
            # Droid Sans Fallback has no Latin letters: "AI" would be drawn as two empty boxes
            # (no renderer here falls back to another font), a label no person reads as AI.
            # WenQuanYi Micro Hei is Droid Sans Fallback with Latin added.
            c["font"] = "wqy-microhei"
        c["id"] = "%03d-%s-%s-%dx%d-%s" % (
            len(cases),
            c["renderer"],
            c["style"],
            c["size"][0],
            c["size"][1],
            "pos" if c["conforms"] else "neg",
        )
        cases.append(c)

    # The case: a public tool's ffmpeg drawtext at fontsize = 5 % of 240 (12 px) with a
    # 3 px black border, white text, on a 240-line video.
    for bg in ["flat", "busy"]:
        add(renderer="ffmpeg-video", font="noto-sans", text="AI生成", conforms=True, size=[320, 240],
            style="outline", stroke=3, background=bg, anchor="bottom-right", font_px=12,
            height_pct=None)
    renderers = ["pillow", "imagemagick", "ffmpeg", "ffmpeg-video"]
    n_pos, n_neg = 200, 60
    for i in range(n_pos + n_neg):
        positive = i < n_pos
        renderer = renderers[i % 4]
        size = SIZES[(i // 4) % len(SIZES)] if rng.random() < 0.9 else rng.choice(SIZES)
        style = rng.choice(STYLES)
        background = rng.choice(BACKGROUNDS)
        if style == "bare" and background == "busy":
            # Bare text over a busy photo is not legible to a person either: not calibration.
            background = rng.choice(["flat", "gradient"])
        c = dict(
            renderer=renderer,
            font=rng.choice(list(FONTS)),
            size=list(size),
            style=style,
            stroke=rng.choice([1, 2, 3]) if style.startswith("outline") else 0,
            background=background,
            anchor=rng.choice(ANCHORS),
            height_pct=rng.choice([5.0, 5.0, 5.5, 6.0, 6.5, 7.0]),
            font_px=None,
        )
        if renderer.startswith("ffmpeg") and c["font"] == "arphic-uming" and c["stroke"]:
            # ffmpeg's stroker fails on UMing ("Could not set tabsize"): its sister face.
            c["font"] = "arphic-ukai"
        if positive:
            c.update(text=rng.choice(POSITIVE), conforms=True)
        else:
            text, contain, lack = NEGATIVE[i % len(NEGATIVE)]
            c.update(text=text, conforms=False, reads_contain=contain, reads_lack=lack)
        add(**c)
    doc = {
        "about": "OCR calibration cases (calibration/ocr/make.py manifest). Each case is "
        "rendered at run time by `make.py render`; scripts/calibrate-ocr.sh checks every one "
        "with `aigc-label check --json --original` and prints the rate. conforms: the wording "
        "is conforming (GB-5.2-b / 5.4-b must pass); otherwise it must not pass, and what was "
        "read must contain reads_contain and lack reads_lack.",
        "cases": cases,
    }
    with open(MANIFEST, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("%d cases (%d conforming) -> %s" % (len(cases), sum(c["conforms"] for c in cases), MANIFEST))


def font_px_for(case):
    """Font size in px whose ink height of the case's text is the case's height (the profile's
    glyph-bbox reading), measured with FreeType through Pillow."""
    if case.get("font_px"):
        return case["font_px"]
    short = min(case["size"])
    target = case["height_pct"] / 100.0 * short
    path, index = FONTS[case["font"]]
    px = max(6, int(target))
    while px < 400:
        f = ImageFont.truetype(path, px, index=index)
        box = f.getbbox(case["text"])
        if box[3] - box[1] >= target:
            return px
        px += 1
    return px


def background(case, rng):
    w, h = case["size"]
    kind = case["background"]
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    if kind == "flat":
        img.paste(tuple(rng.randrange(60, 200) for _ in range(3)), (0, 0, w, h))
    elif kind == "gradient":
        a = [rng.randrange(0, 255) for _ in range(3)]
        b = [rng.randrange(0, 255) for _ in range(3)]
        for x in range(w):
            t = x / max(1, w - 1)
            d.line([(x, 0), (x, h)], fill=tuple(int(a[k] + (b[k] - a[k]) * t) for k in range(3)))
    else:
        # A "photo": overlapping shapes in many colours, lines and fine noise.
        img.paste(tuple(rng.randrange(0, 255) for _ in range(3)), (0, 0, w, h))
        for _ in range(60):
            x0, y0 = rng.randrange(-w // 4, w), rng.randrange(-h // 4, h)
            x1, y1 = x0 + rng.randrange(w // 20, w // 2), y0 + rng.randrange(h // 20, h // 2)
            fill = tuple(rng.randrange(0, 255) for _ in range(3))
            (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=fill)
        for _ in range(40):
            d.line([(rng.randrange(w), rng.randrange(h)), (rng.randrange(w), rng.randrange(h))],
                   fill=tuple(rng.randrange(0, 255) for _ in range(3)), width=rng.choice([1, 2, 3]))
        noise = Image.effect_noise((w, h), 40).convert("RGB")
        img = Image.blend(img, noise, 0.15)
    return img


def layout(case, px):
    """Top-left of the text's ink box, the ink size, and the plate padding (inside the edge
    band: 3 % of each side from its edge)."""
    path, index = FONTS[case["font"]]
    f = ImageFont.truetype(path, px, index=index)
    l, t, r, b = f.getbbox(case["text"])
    tw, th = r - l, b - t
    w, h = case["size"]
    pad = max(2, px // 4) + case.get("stroke", 0)
    mx, my = int(0.03 * w) + pad, int(0.03 * h) + pad
    a = case["anchor"]
    x = mx if "left" in a else (w - mx - tw if "right" in a else (w - tw) // 2)
    y = my if a.startswith("top") else h - my - th
    return x, y, tw, th, l, t, pad


def colours(case):
    dark_text = case["style"] in ("plate-light", "outline-dark")
    fg, outline = ((0, 0, 0), (255, 255, 255)) if dark_text else ((255, 255, 255), (0, 0, 0))
    if case["style"] == "bare":
        # Bare text: the colour that contrasts with the flat/gradient background under it.
        fg = (255, 255, 255) if case["_bg_luma"] < 128 else (0, 0, 0)
    return fg, outline


def render(case, out_dir):
    rng = random.Random(case["id"])
    base = background(case, rng)
    px = font_px_for(case)
    x, y, tw, th, l, t, pad = layout(case, px)
    region = base.crop((max(0, x - pad), max(0, y - pad), x + tw + pad, y + th + pad)).convert("L")
    hist = region.histogram()
    case["_bg_luma"] = sum(i * n for i, n in enumerate(hist)) / max(1, sum(hist))
    fg, outline = colours(case)
    stem = os.path.join(out_dir, case["id"])
    video = case["renderer"] == "ffmpeg-video"
    orig = stem + ".orig.png"
    base.save(orig)
    plate = None
    if case["style"] == "plate-dark":
        plate = ((0, 0, 0), 0.6)
    elif case["style"] == "plate-light":
        plate = ((255, 255, 255), 0.75)
    stroke = case.get("stroke", 0)
    path, index = FONTS[case["font"]]
    text = case["text"]
    if case["renderer"] == "pillow":
        img = base.convert("RGBA")
        layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        if plate:
            d.rectangle([x - pad, y - pad, x + tw + pad, y + th + pad],
                        fill=plate[0] + (int(255 * plate[1]),))
        f = ImageFont.truetype(path, px, index=index)
        d.text((x - l, y - t), text, font=f, fill=fg + (255,), stroke_width=stroke,
               stroke_fill=outline + (255,))
        Image.alpha_composite(img, layer).convert("RGB").save(stem + ".png")
        return stem + ".png", orig
    if case["renderer"] == "imagemagick":
        cmd = ["convert", orig]
        if plate:
            c = "rgba(%d,%d,%d,%.2f)" % (plate[0] + (plate[1],))
            cmd += ["-fill", c, "-draw", "rectangle %d,%d %d,%d" % (x - pad, y - pad, x + tw + pad, y + th + pad)]
        cmd += ["-font", path, "-pointsize", str(px), "-density", "72", "-gravity", "NorthWest"]
        pos = "+%d+%d" % (x - l, y - t)
        if stroke:
            cmd += ["-stroke", "rgb(%d,%d,%d)" % outline, "-strokewidth", str(2 * stroke),
                    "-fill", "rgb(%d,%d,%d)" % fg, "-annotate", pos, text, "-stroke", "none"]
        cmd += ["-fill", "rgb(%d,%d,%d)" % fg, "-annotate", pos, text, stem + ".png"]
        subprocess.run(cmd, check=True)
        return stem + ".png", orig
    # ffmpeg drawtext (a still image, or a 1 s video at 10 fps with a slowly moving background).
    esc = text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
    dt = "drawtext=fontfile=%s:text='%s':fontsize=%d:fontcolor=0x%02x%02x%02x:x=%d:y=%d" % (
        path, esc, px, fg[0], fg[1], fg[2], x - l, y - t)
    if plate:
        dt += ":box=1:boxcolor=0x%02x%02x%02x@%.2f:boxborderw=%d" % (plate[0] + (plate[1], pad))
    if stroke:
        dt += ":borderw=%d:bordercolor=0x%02x%02x%02x" % ((stroke,) + outline)
    # ffmpeg and ImageMagick lay the text out themselves (their own notion of the top of the
    # text): the ink lands within a few pixels of Pillow's, always inside the edge band.
    if not video:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", orig, "-vf", dt, "-frames:v", "1",
                        stem + ".png"], check=True)
        return stem + ".png", orig
    orig_v = stem + ".orig.mp4"
    pan = "scroll=horizontal=0.002,format=yuv420p"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate", "10", "-i", orig,
                    "-t", "1", "-vf", pan, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    orig_v], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", orig_v, "-vf", dt, "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", stem + ".mp4"], check=True)
    return stem + ".mp4", orig_v


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "manifest":
        manifest()
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "render":
        out = sys.argv[2]
        os.makedirs(out, exist_ok=True)
        ids = set(sys.argv[3:])
        with open(MANIFEST, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        for c in cases:
            if ids and c["id"] not in ids:
                continue
            labelled, orig = render(c, out)
            print("%s\t%s\t%s" % (c["id"], labelled, orig))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
