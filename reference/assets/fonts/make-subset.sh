#!/bin/sh
# Regenerates label-cjk-subset.otf: the glyphs of the default explicit-label prompts plus
# printable ASCII, cut from Debian's Noto Sans CJK SC Bold (fonts-noto-cjk, SIL OFL-1.1).
#
# Why a subset: rendered labels must be byte-identical across machines (golden tests), and the
# full TTC is 20 MB. Why renamed: OFL-1.1 reserves nothing for "Noto" but Google holds the
# trademark and Adobe reserves "Source"; a modified font under a new family name is the safe
# reading (see OFL.txt beside this file).
#
# Needs: fonttools (`pip install fonttools` or Debian python3-fonttools), fonts-noto-cjk.
set -eu
cd "$(dirname "$0")"
SRC=${NOTO_CJK_TTC:-/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc}
# TTC face 2 is "Noto Sans CJK SC" in Debian 12's fonts-noto-cjk (fc-query lists the faces).
FACE=2
# Every character a default prompt or a wording example in reference/src/explicit/wording.rs
# uses; keep the two in sync (a unit test checks that the font covers the defaults).
TEXT='本内容由人工智能生成合成提示【】：，。、／'
pyftsubset "$SRC" --font-number=$FACE \
  --text="$TEXT" --unicodes='U+0020-007E' \
  --layout-features='kern' --no-hinting --desubroutinize \
  --name-IDs='*' --name-languages='*' \
  --output-file=label-cjk-subset.otf.tmp
# Rename the family (name IDs 1, 4, 6, 16) so the subset is not presented as Noto.
python3 - label-cjk-subset.otf.tmp <<'PY'
import sys
from fontTools.ttLib import TTFont
f = TTFont(sys.argv[1])
names = {1: "AIGC Label Subset", 4: "AIGC Label Subset Bold", 6: "AIGCLabelSubset-Bold",
         16: "AIGC Label Subset", 17: "Bold", 2: "Bold", 3: "AIGCLabelSubset-Bold;derived-from-NotoSansCJKsc-Bold"}
for rec in list(f["name"].names):
    if rec.nameID in names:
        rec.string = names[rec.nameID]
if "CFF " in f:
    cff = f["CFF "].cff
    cff.fontNames = ["AIGCLabelSubset-Bold"]
f.save(sys.argv[1])
PY
mv label-cjk-subset.otf.tmp label-cjk-subset.otf
ls -l label-cjk-subset.otf
