#!/bin/sh
# Regenerates the chapter-5 (explicit label) vectors in this folder with independent tools:
# ImageMagick (images), sox and ffmpeg/libmp3lame (audio), ffmpeg drawtext/libx264 (video),
# printf (text). Nothing here is made by aigc-label, so the vectors check the reference's
# detector against other software rather than against itself.
#
# Needs: imagemagick, sox, ffmpeg (with libx264, libmp3lame), espeak-ng, the bundled font subset.
# Reproducible: sox runs with -R (fixed random seeds: the pink and white noise) and -D (no
# dither), PNGs carry no dates, ffmpeg writes -bitexact containers. The bytes still depend on the
# versions of x264 and LAME (vectors/TOOLS records them; vectors/tools/regen-check.py compares
# decoded content when they differ).
set -eu
cd "$(dirname "$0")"
FONT=../../reference/assets/fonts/label-cjk-subset.otf
VOICE=../../reference/assets/audio/voice-prompt-zh.wav
# PNGs without time chunks or properties that change from run to run.
PNG="-strip -define png:exclude-chunks=date,time"
FFX="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# ---- text (5.1) ---------------------------------------------------------------------------
printf '第一段正文。\n\n第二段正文。\n\n第三段正文。\n' > text-original.txt
printf -- '---\ntitle: 示例\n---\n# 标题\n\n正文一。\n\n正文二。\n' > text-original.md
printf '【提示】本内容由人工智能生成\n\n第一段正文。\n\n第二段正文。\n\n第三段正文。\n' > text-start.txt
printf '第一段正文。\n\n第二段正文。\n\n本内容由AI合成\n\n第三段正文。\n' > text-middle.txt
printf '第一段正文。\n\n第二段正文。\n\n第三段正文。\n\n本内容由人工智能生成\n' > text-end.txt
printf -- '---\ntitle: 示例\n---\n人工智能生成\n\n# 标题\n\n正文。\n' > text-front-matter.md
printf 'AI\n\n第一段正文。\n\n第二段正文。\n\n第三段正文。\n' > text-bare-ai.txt
printf 'AI创作\n\n第一段正文。\n\n第二段正文。\n\n第三段正文。\n' > text-ai-chuangzuo.txt
printf 'ＡＩ生成\n\n第一段正文。\n\n第二段正文。\n\n第三段正文。\n' > text-fullwidth-ai.txt
# Markdown inputs that already carry a non-conforming prompt (for the generator's negatives).
printf -- '---\ntitle: 示例\n---\nAI\n\n# 标题\n\n正文一。\n' > text-bare-ai.md
printf -- '---\ntitle: 示例\n---\nAI创作\n\n# 标题\n\n正文一。\n' > text-ai-chuangzuo.md
printf -- '---\ntitle: 示例\n---\n# 标题\n\n%s本内容由AI生成，%s\n' \
  "$(printf '这是一段很长的正文，%.0s' 1 2 3 4 5 6 7 8)" "$(printf '正文继续，%.0s' 1 2 3 4 5 6 7 8)" > text-buried.md

# ---- images (5.2) -------------------------------------------------------------------------
# Glyph height is the profile's glyph-bbox reading: rows holding pixels at >= 50 % coverage.
# ImageMagick measures it independently: black text on white, grey threshold at 50 %, trim.
ink_height() { # pointsize -> ink height in px of "AI生成"
  convert -size 2000x400 xc:white -font "$FONT" -pointsize "$1" -fill black \
    -annotate +20+300 'AI生成' -colorspace gray -threshold 50% -trim -format '%h' info:
}
pointsize_for() { # exact ink height -> smallest pointsize (0.1 steps) giving it
  want=$1
  ps=$(echo "$want / 0.95 - 2" | bc -l)
  i=0
  while [ $i -lt 80 ]; do
    h=$(ink_height "$ps")
    if [ "$h" -eq "$want" ]; then echo "$ps"; return 0; fi
    if [ "$h" -gt "$want" ]; then break; fi
    ps=$(echo "$ps + 0.1" | bc -l); i=$((i + 1))
  done
  echo "no pointsize gives $want px" >&2; return 1
}
PS50=$(pointsize_for 50)
PS49=$(pointsize_for 49)
echo "pointsize for 50 px ink: $PS50, for 49 px: $PS49"
for geo in 1600x1000 1000x1600; do
  convert -size $geo xc:'#33aa66' $PNG img-base-$geo.png
  # Shortest side 1000 px: 50 px = 5.0 % (pass), 49 px = 4.9 % (fail). Label in the centre.
  convert img-base-$geo.png -font "$FONT" -fill white -gravity center \
    -pointsize "$PS50" -annotate +0+0 'AI生成' $PNG img-center-5.0pct-$geo.png
  convert img-base-$geo.png -font "$FONT" -fill white -gravity center \
    -pointsize "$PS49" -annotate +0+0 'AI生成' $PNG img-center-4.9pct-$geo.png
done
# Edge and corner positives at 5.0 %, a bare "AI" badge and "AI创作" in the corner.
convert img-base-1600x1000.png -font "$FONT" -fill white -gravity southeast \
  -pointsize "$PS50" -annotate +20+20 'AI生成' $PNG img-corner-5.0pct.png
convert img-base-1600x1000.png -font "$FONT" -fill white -gravity north \
  -pointsize "$PS50" -annotate +0+20 'AI合成' $PNG img-top-edge-5.0pct.png
convert img-base-1600x1000.png -font "$FONT" -fill white -gravity southeast \
  -pointsize 80 -annotate +20+20 'AI' $PNG img-corner-bare-ai.png
# 创 and 作 are not in the subset: the full Noto Sans CJK SC Bold from fonts-noto-cjk.
convert img-base-1600x1000.png -font Noto-Sans-CJK-SC-Bold -fill white -gravity southeast \
  -pointsize 80 -annotate +20+20 'AI创作' $PNG img-corner-ai-chuangzuo.png

# ---- audio (5.3) --------------------------------------------------------------------------
tone() { sox -R -D -n -r 16000 -c 1 -b 16 "$T/$1.wav" synth "$2" sine 800 fade t 0.005 "$2" 0.005; }
gap() { sox -R -D -n -r 16000 -c 1 -b 16 "$T/$1.wav" trim 0 "$2"; }
tone dot 0.12; tone dash 0.36; gap g 0.12; gap sep 0.3
sox -R -D -n -r 16000 -c 1 -b 16 audio-original.wav synth 3 pinknoise vol 0.03
# 短长短短 at the start, then the content.
sox -R -D "$T/dot.wav" "$T/g.wav" "$T/dash.wav" "$T/g.wav" "$T/dot.wav" "$T/g.wav" "$T/dot.wav" \
  "$T/sep.wav" audio-original.wav audio-rhythm-start.wav
# 长短短短 (Morse "B"): not the label.
sox -R -D "$T/dash.wav" "$T/g.wav" "$T/dot.wav" "$T/g.wav" "$T/dot.wav" "$T/g.wav" "$T/dot.wav" \
  "$T/sep.wav" audio-original.wav audio-rhythm-lsss.wav
# A single 2 s 440 Hz decaying beep (one implementation's fallback): not the label.
sox -R -D -n -r 16000 -c 1 -b 16 "$T/beep.wav" synth 2 sine 440 fade q 0.01 2 1.9 vol 0.5
sox -R -D "$T/beep.wav" "$T/sep.wav" audio-original.wav audio-single-beep.wav
# 短长短短 at the end, MP3 at 64 kbit/s with added noise: lossy coding must not hide it.
sox -R -D audio-original.wav "$T/sep.wav" "$T/dot.wav" "$T/g.wav" "$T/dash.wav" "$T/g.wav" \
  "$T/dot.wav" "$T/g.wav" "$T/dot.wav" "$T/end.wav"
sox -R -D "$T/end.wav" -p synth whitenoise vol 0.02 | sox -R -D -m "$T/end.wav" - "$T/end-noisy.wav"
ffmpeg -v error -y -i "$T/end-noisy.wav" $FFX -c:a libmp3lame -b:a 64k audio-rhythm-end-noisy.mp3
# The bundled spoken prompt appended (same rate as the original after sox's resampling).
sox -R -D "$VOICE" -r 16000 -c 1 -b 16 "$T/voice.wav"
sox -R -D audio-original.wav "$T/sep.wav" "$T/voice.wav" audio-voice-end.wav
# The same prompt spoken 2.5x too fast (about 340 字/min): 5.3 e) fails.
sox -R -D "$T/voice.wav" "$T/fast.wav" tempo -s 2.5
sox -R -D audio-original.wav "$T/sep.wav" "$T/fast.wav" audio-voice-fast.wav
# A voice assistant's answers in three interaction rounds (5.3 d note 3), espeak-ng Mandarin,
# 1.5 s of silence before each round: audio-rounds.wav. The rounds, as the label vector's
# request names them, are printed to audio-rounds.txt (seconds). Then the same audio with
# 短长短短 (made by sox as above) before every round, and before the first round only.
i=0
for say in "今天北京晴，最高气温二十度。" "明天有小雨，出门请带伞。" "还有什么可以帮您？"; do
  i=$((i + 1))
  espeak-ng -v cmn -w "$T/say$i.raw.wav" "$say"
  sox -R -D "$T/say$i.raw.wav" -r 16000 -c 1 -b 16 "$T/say$i.wav" vol 0.7
done
gap quiet 1.5; gap tail 0.5
sox -R -D "$T/dot.wav" "$T/g.wav" "$T/dash.wav" "$T/g.wav" "$T/dot.wav" "$T/g.wav" "$T/dot.wav" \
  "$T/sep.wav" "$T/lsss.wav"
sox -R -D "$T/quiet.wav" "$T/say1.wav" "$T/quiet.wav" "$T/say2.wav" "$T/quiet.wav" \
  "$T/say3.wav" "$T/tail.wav" audio-rounds.wav
sox -R -D "$T/quiet.wav" "$T/lsss.wav" "$T/say1.wav" "$T/quiet.wav" "$T/lsss.wav" "$T/say2.wav" \
  "$T/quiet.wav" "$T/lsss.wav" "$T/say3.wav" "$T/tail.wav" audio-rounds-every.wav
sox -R -D "$T/quiet.wav" "$T/lsss.wav" "$T/say1.wav" "$T/quiet.wav" "$T/say2.wav" \
  "$T/quiet.wav" "$T/say3.wav" "$T/tail.wav" audio-rounds-first-only.wav
awk -v a="$(soxi -D "$T/say1.wav")" -v b="$(soxi -D "$T/say2.wav")" -v c="$(soxi -D "$T/say3.wav")" \
  'BEGIN { s = 1.5; printf "%.3f-%.3f\n", s, s + a; s += a + 1.5;
           printf "%.3f-%.3f\n", s, s + b; s += b + 1.5; printf "%.3f-%.3f\n", s, s + c }' \
  > audio-rounds.txt

# ---- video (5.4) --------------------------------------------------------------------------
# 320x240 at 25 fps, 3 s; the label is drawn by ffmpeg drawtext with the bundled font at
# fontsize 20 (about 17 px of ink, 7 % of 240 px) in the bottom-right corner.
vid() { # name enable-expression size
  ffmpeg -v error -y -f lavfi -i "color=c=0x33aa66:s=$3:r=25:d=3" \
    -vf "drawtext=fontfile=$FONT:text='AI生成':fontsize=20:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4:x=w-tw-10:y=h-th-10:enable='$2'" \
    $FFX -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p "$1"
}
ffmpeg -v error -y -f lavfi -i "color=c=0x33aa66:s=320x240:r=25:d=3" $FFX -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p video-original.mp4
ffmpeg -v error -y -f lavfi -i "color=c=0x33aa66:s=240x320:r=25:d=3" $FFX -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p video-original-portrait.mp4
vid video-label-2.0s.mp4 'lt(t,2.0)' 320x240
vid video-label-1.9s.mp4 'lt(t,1.9)' 320x240
vid video-label-from-0.5s.mp4 'gte(t,0.5)' 320x240
vid video-label-all-portrait.mp4 '1' 240x320
du -sh .
