#!/usr/bin/env bash
# Regenerates the per-format carrier vectors of this folder with real tools:
#   plain.*          unlabelled inputs for `label` vectors (ImageMagick, sox, ffmpeg, heif-enc, python zipfile)
#   <tool>-*.*       files labelled by an independent writer for `read` vectors
#                    (ExifTool with ../../tools/tc260.config, ffmpeg -metadata, python zipfile)
#   craft-*.*        hand-built carriers no tool writes (../../tools/craft.py)
# Everything is tiny (a few KB) and reproducible: -fflags +bitexact, -strip, sox -R (fixed seed)
# -D (no dither); encoder versions are recorded in ../../TOOLS.
set -euo pipefail
cd "$(dirname "$0")"
T=../../tools
CFG=$T/tc260.config
P=001191110102MACQD9K64010000
ID=0123456789abcdef0123456789abcdef
J="{\"Label\":\"1\",\"ContentProducer\":\"$P\",\"ProduceID\":\"$ID\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"$P\",\"PropagateID\":\"$ID\",\"ReservedCode2\":\"\"}"
J3="${J/\"Label\":\"1\"/\"Label\":\"3\"}"
FF="ffmpeg -v error -y -nostdin"
BX="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ---- images --------------------------------------------------------------------------------
convert -size 24x16 gradient:'#204080'-'#e0c040' -strip -define png:exclude-chunks=date,time "$tmp/src.png"
cp "$tmp/src.png" plain.png
convert "$tmp/src.png" -strip -quality 80 plain.jpg
convert "$tmp/src.png" -strip -define webp:lossless=false plain.webp
convert "$tmp/src.png" -strip plain.gif
convert "$tmp/src.png" -strip -compress none plain.tif
heif-enc -q 50 -o plain.heic "$tmp/src.png" >/dev/null
for ext in png jpg webp gif tif heic; do
  cp plain.$ext exiftool-xmp.$ext
  exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$J" exiftool-xmp.$ext
done
# JPEG EXIF UserComment with the wrapped form (Huawei/Tencent style, image guide Annex B).
cp plain.jpg exiftool-usercomment.jpg
exiftool -q -overwrite_original "-UserComment={\"AIGC\":$J}" exiftool-usercomment.jpg
# XMP Label 1 and UserComment Label 3 in one file: conflicting labels (6.1 c).
cp exiftool-xmp.jpg exiftool-xmp-usercomment-conflict.jpg
exiftool -q -overwrite_original "-UserComment={\"AIGC\":$J3}" exiftool-xmp-usercomment-conflict.jpg
# APP11 'AIGC'+JSON before APP0 (image-aigc-metadata npm #26; trap 10).
printf 'AIGC%s' "$J" > "$tmp/app11"; python3 $T/craft.py jpeg-app plain.jpg craft-app11.jpg 11 "$tmp/app11"

# ---- audio ---------------------------------------------------------------------------------
sox -R -D -n -r 8000 -c 1 -b 16 plain.wav synth 0.25 sine 440
$FF -f lavfi -i "sine=frequency=440:duration=0.25:sample_rate=8000" $BX -c:a libmp3lame -b:a 16k -id3v2_version 4 plain.mp3
$FF -i plain.wav $BX -c:a flac plain.flac
$FF -i plain.wav $BX -c:a libvorbis -q:a 0 plain.ogg
$FF -f lavfi -i "sine=frequency=440:duration=0.25:sample_rate=48000" $BX -c:a libopus -b:a 16k plain.opus
$FF -f lavfi -i "sine=frequency=440:duration=0.25:sample_rate=8000" $BX -c:a aac -b:a 16k plain.m4a
$FF -i plain.mp3 -c copy -map_metadata -1 $BX -metadata "AIGC=$J" -id3v2_version 4 ffmpeg-id3v24.mp3
$FF -i plain.mp3 -c copy -map_metadata -1 $BX -metadata "AIGC=$J" -id3v2_version 3 ffmpeg-id3v23.mp3
$FF -i plain.flac -c copy $BX -metadata "AIGC=$J" ffmpeg.flac
$FF -i plain.ogg -c copy $BX -metadata "AIGC=$J" ffmpeg.ogg
$FF -i plain.opus -c copy $BX -metadata "AIGC=$J" ffmpeg.opus
$FF -i plain.m4a -c copy $BX -metadata "AIGC=$J" -movflags use_metadata_tags ffmpeg.m4a
# WAV: the audio guide's top-level AIGC chunk, ffmpeg's LIST/INFO variant, and both (trap 13).
python3 $T/craft.py wav-chunk plain.wav craft-aigc-chunk.wav AIGC "$J"
python3 $T/craft.py wav-info plain.wav craft-list-info.wav AIGC "$J"
python3 $T/craft.py wav-info craft-aigc-chunk.wav craft-both-different.wav AIGC "$J3"

# ---- video ---------------------------------------------------------------------------------
SRC="-f lavfi -i testsrc=duration=0.4:size=32x24:rate=5 -f lavfi -i sine=frequency=440:duration=0.4:sample_rate=8000"
$FF $SRC $BX -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 16k -movflags +faststart plain.mp4
$FF -i plain.mp4 -c copy $BX plain-moov-last.mp4
$FF -i plain.mp4 -c copy $BX plain.mov
$FF $SRC $BX -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a libvorbis plain.mkv
$FF $SRC $BX -c:v libvpx -b:v 50k -c:a libopus -b:a 16k plain.webm
$FF $SRC $BX -c:v mpeg4 -c:a pcm_s16le plain.avi
$FF $SRC $BX -c:v flv1 -c:a nellymoser plain.flv 2>/dev/null || $FF $SRC $BX -c:v flv1 -an plain.flv
$FF -i plain.mp4 -c copy $BX -metadata "AIGC=$J" -movflags use_metadata_tags ffmpeg.mp4
$FF -i plain.mp4 -c copy $BX -metadata "AIGC=$J" -metadata "title=clip" -movflags use_metadata_tags+faststart ffmpeg-keys-first.mp4
$FF -i plain.mov -c copy $BX -metadata "AIGC=$J" -movflags use_metadata_tags ffmpeg.mov
$FF -i plain.mkv -c copy $BX -metadata "AIGC=$J" ffmpeg.mkv
$FF -i plain.webm -c copy $BX -metadata "AIGC=$J" ffmpeg.webm
$FF -i plain.flv -c copy $BX -metadata "AIGC=$J" ffmpeg.flv
# Without -movflags use_metadata_tags ffmpeg silently drops the key (trap 13): no label.
$FF -i plain.mp4 -c copy $BX -metadata "AIGC=$J" ffmpeg-no-movflags.mp4
# AVI: stock ffmpeg cannot write an INFO AIGC chunk; the video guide's LIST/INFO carrier by hand.
python3 $T/craft.py wav-info plain.avi craft-list-info.avi AIGC "$J"
# ExifTool's XMP uuid box in MP4 (trap 12; XMP fallback).
cp plain.mp4 exiftool-xmp.mp4
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$J" exiftool-xmp.mp4

# ---- documents -----------------------------------------------------------------------------
python3 $T/make_docs.py "$J"
cp plain.pdf exiftool-info.pdf
exiftool -config "$CFG" -q -overwrite_original "-PDF:AIGC=$J" exiftool-info.pdf
cp plain.pdf exiftool-xmp.pdf
exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$J" exiftool-xmp.pdf
