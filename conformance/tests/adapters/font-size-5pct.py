#!/usr/bin/env python3
"""A generator adapter for the harness's own tests (issue 19): it labels images the way a real
public AIGC toolkit does, drawing "AI生成" with Pillow at a FONT SIZE of exactly 5 % of the
shortest side (white on a dark plate, bottom-right). Its glyphs measure about 4.6 %: the
verdict on GB-5.2-e hangs on the reading of 文字高度.
"""
import json
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def answer(req):
    if req.get("op") == "info":
        return {"status": "ok", "name": "font-size-5pct", "version": "0",
                "roles": ["generator"], "media": {"label": ["image/png"]},
                "persistent": False}
    if req.get("op") != "label":
        return {"status": "error", "message": "only label"}
    im = Image.open(req["input"]).convert("RGB")
    w, h = im.size
    size = round(0.05 * min(w, h))
    font = ImageFont.truetype(FONT, size)
    d = ImageDraw.Draw(im, "RGBA")
    text = (req.get("explicit") or {}).get("text") or "AI生成"
    b = d.textbbox((0, 0), text, font=font)
    pad, margin = size // 4, max(8, min(w, h) // 50)
    x, y = w - margin - pad - b[2], h - margin - pad - b[3]
    d.rectangle((x + b[0] - pad, y + b[1] - pad, x + b[2] + pad, y + b[3] + pad), fill=(0, 0, 0, 160))
    d.text((x, y), text, font=font, fill=(255, 255, 255, 255))
    im.save(req["output"], "PNG")
    return {"status": "ok"}


sys.stdout.write(json.dumps(answer(json.loads(sys.stdin.read()))) + "\n")
