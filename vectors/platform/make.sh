#!/usr/bin/env bash
# Regenerates the platform-role (Measures Art. 6) inputs, per media family, with real tools:
# ImageMagick/ffmpeg/sox make the content, ExifTool and ffmpeg write the producer's label.
set -euo pipefail
cd "$(dirname "$0")"
T=../tools
CFG=$T/tc260.config
P=001191110102MACQD9K64010000
ID=0123456789abcdef0123456789abcdef
A=00119144030008867405X220001     # a first platform (Jimeng's propagation code, digest §5)
lab() { # lab LABEL PROPAGATOR PROPAGATEID [RC1]
  printf '{"Label":"%s","ContentProducer":"%s","ProduceID":"%s","ReservedCode1":"%s","ContentPropagator":"%s","PropagateID":"%s","ReservedCode2":""}' "$1" "$P" "$ID" "${4:-e862483430d978cbf828b8b24296ef9328d843a0}" "$2" "$3"
}
J=$(lab 1 "$P" "$ID")
FF="ffmpeg -v error -y -nostdin -fflags +bitexact -flags:a +bitexact -flags:v +bitexact"
convert -size 48x32 xc:'#5080b0' -strip -define png:exclude-chunks=date,time plain.png
# An image with a visible label burnt in by ImageMagick and no metadata (Art. 6(3) input).
FONT=$(fc-list :lang=zh file | grep -m1 -i 'NotoSansCJK-Regular' | cut -d: -f1)
convert -size 320x200 xc:'#5080b0' -font "$FONT" -pointsize 28 -fill white -undercolor '#00000099' \
  -gravity southeast -annotate +8+8 'AI生成' -strip -define png:exclude-chunks=date,time explicit-only.png
for f in producer repropagated invalid conflict; do cp plain.png $f.png; done
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$J" producer.png
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$(lab 1 "$A" plat-a-17)" repropagated.png
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$(lab 4 "$P" "$ID")" invalid.png
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$J" conflict.png
python3 $T/craft.py png-text conflict.png conflict.png.tmp AIGC "$(lab 3 "$P" "$ID")" && mv conflict.png.tmp conflict.png

$FF -f lavfi -i "sine=frequency=440:duration=0.25:sample_rate=8000" -c:a libmp3lame -b:a 16k plain.mp3
$FF -i plain.mp3 -c copy -metadata "AIGC=$J" producer.mp3

$FF -f lavfi -i testsrc=duration=0.4:size=32x24:rate=5 -c:v libx264 -preset ultrafast -pix_fmt yuv420p plain.mp4
$FF -i plain.mp4 -c copy -metadata "AIGC=$J" -movflags use_metadata_tags producer.mp4

printf '# Notes\n\nSome text.\n' > plain.md
printf '本内容由AI生成\n\n# Notes\n\nSome text.\n' > explicit-only.md
{ printf -- '---\nAIGC:\n'; printf '%s' "$J" | python3 -c 'import json,sys; [print(f"  {k}: \"{v}\"") for k,v in json.load(sys.stdin).items()]'; printf -- '---\n# Notes\n\nSome text.\n'; } > producer.md
python3 $T/make_docs.py "$J" >/dev/null && rm -f md-dialect-*.md md-not-at-head.md plain.docx python-custom.docx
cp plain.pdf producer.pdf && exiftool -config "$CFG" -q -overwrite_original "-PDF:AIGC=$J" producer.pdf
