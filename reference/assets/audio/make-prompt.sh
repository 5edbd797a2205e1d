#!/bin/sh
# Regenerates voice-prompt-zh.wav: the spoken prompt "本内容由人工智能生成" (10 字) used by
# `aigc-label mark` for the GB 45438 5.3 voice label.
#
# Why pinyin input: espeak-ng's cmn voice reads 人, 工 and 能 from Hanzi with wrong fallback
# phonemes; the cmn-latn-pinyin voice with tone numbers gives the right syllables and tones.
# Why -s 120: after trimming the silence espeak adds, the prompt lasts about 4.4 s, i.e. about
# 135 字/min, inside the 120-160 字/min "normal speech rate" of 5.3 e) note 4.
# Why 16 kHz mono 16-bit: speech needs no more, and the file stays under 200 KB; `mark`
# resamples it to the target's rate and channel count.
#
# Needs: espeak-ng, sox (Debian packages of the same names). The output is data (espeak-ng is
# GPL-3, its output is not covered).
set -eu
cd "$(dirname "$0")"
TMP=$(mktemp --suffix=.wav)
trap 'rm -f "$TMP"' EXIT
espeak-ng -v cmn-latn-pinyin -s 120 "ben3 nei4 rong2 you2 ren2 gong1 zhi4 neng2 sheng1 cheng2" -w "$TMP"
sox "$TMP" -r 16000 -c 1 -b 16 voice-prompt-zh.wav gain -1 \
  silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
soxi -D voice-prompt-zh.wav
