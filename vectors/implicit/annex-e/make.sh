#!/usr/bin/env bash
# Regenerates the Annex E value vectors of this folder: one small PNG per JSON variant.
# The image is made by ImageMagick; the label is written by ExifTool (an independent writer,
# TC260 namespace from ../../tools/tc260.config) or, for the XMP/PNG traps no tool writes, by
# ../../tools/craft.py (hand-built bytes, standard library only). Deterministic: no dates.
set -euo pipefail
cd "$(dirname "$0")"
T=../../tools
CFG=$T/tc260.config
base=$(mktemp --suffix=.png); trap 'rm -f "$base" "$base.xmp" "$base.args"' EXIT
: > "$base.args"
convert -size 16x16 xc:'#3366aa' -strip -define png:exclude-chunks=date,time "$base"

P=001191110102MACQD9K64010000
ID=0123456789abcdef0123456789abcdef
# The canonical bare object J of digest §8 (Annex E b) key order, compact, all strings).
J="{\"Label\":\"1\",\"ContentProducer\":\"$P\",\"ProduceID\":\"$ID\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"$P\",\"PropagateID\":\"$ID\",\"ReservedCode2\":\"\"}"
with_label() { # with_label FIELD-REPLACEMENT: J with "Label":"1" replaced
  printf '%s' "${J/\"Label\":\"1\"/$1}"
}
xmp() { # xmp OUT VALUE : ExifTool writes XMP-TC260:AIGC (element form) into a copy of the base PNG
  cp "$base" "$1"
  case "$2" in
    # An argument file holds one argument per line: a value with a newline is written directly.
    *$'\n'*) exiftool -config "$CFG" -q -overwrite_original "-XMP-TC260:AIGC=$2" "$1" ;;
    # Otherwise queued, and written by one ExifTool process below (same bytes, a fraction of the
    # start-up time).
    *) printf '%s\n' "-XMP-TC260:AIGC=$2" "$1" -execute >> "$base.args" ;;
  esac
}

xmp j-bare.png "$J"
xmp j-wrapped.png "{\"AIGC\": $J}"
xmp j-python-separators.png "$(printf '%s' "$J" | sed 's/","/", "/g; s/":"/": "/g')"
xmp j-pretty.png "$(printf '%s' "$J" | sed 's/{/{\n  /; s/","/",\n  "/g; s/}/\n}/')"
xmp j-reordered.png "{\"ContentProducer\":\"$P\",\"ContentPropagator\":\"$P\",\"Label\":\"1\",\"ProduceID\":\"$ID\",\"PropagateID\":\"$ID\",\"ReservedCode1\":\"\",\"ReservedCode2\":\"\"}"
xmp label-2.png "$(with_label '"Label":"2"')"
xmp label-3.png "$(with_label '"Label":"3"')"
xmp label-0.png "$(with_label '"Label":"0"')"
xmp label-4.png "$(with_label '"Label":"4"')"
xmp label-aigc.png "$(with_label '"Label":"AIGC"')"
xmp label-number.png "$(with_label '"Label":1')"
xmp label-empty.png "$(with_label '"Label":""')"
xmp missing-produceid.png "{\"Label\":\"1\",\"ContentProducer\":\"$P\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"$P\",\"PropagateID\":\"$ID\",\"ReservedCode2\":\"\"}"
xmp missing-reserved.png "{\"Label\":\"1\",\"ContentProducer\":\"$P\",\"ProduceID\":\"$ID\",\"ContentPropagator\":\"$P\",\"PropagateID\":\"$ID\"}"
xmp two-fields-only.png "{\"Label\":\"1\",\"ContentProducer\":\"$P\"}"
xmp duplicate-key.png "$(with_label '"Label":"1","Label":"3"')"
xmp single-quotes.png "$(printf '%s' "$J" | tr '"' "'")"
xmp truncated-json.png "${J:0:60}"
xmp not-object.png "[\"1\",\"$P\"]"
xmp charset-chinese-producer.png "${J//\"ContentProducer\":\"$P\"/\"ContentProducer\":\"豆包\"}"
xmp charset-space.png "${J//\"ContentProducer\":\"$P\"/\"ContentProducer\":\"Minimax Agent AI\"}"
xmp ids-slash-underscore.png "${J//$ID/tos-cn-i-a9rns2rl98/ab_cd-0123456789abcdef}"
SD='{\"Type\":\"1\",\"Version\":\"1.0\"}' # a SecurityData object as a JSON string (PG-202511A)
xmp escaped-quote-value.png "${J/\"ReservedCode1\":\"\"/\"ReservedCode1\":\"$SD\"}"
xmp reserved-sha1.png "${J/\"ReservedCode1\":\"\"/\"ReservedCode1\":\"e862483430d978cbf828b8b24296ef9328d843a0\"}"
xmp unicode-escape.png "${J/\"ProduceID\":\"$ID\"/\"ProduceID\":\"\\u0041BC\"}"
xmp extra-field.png "${J/\"ReservedCode2\":\"\"/\"ReservedCode2\":\"\",\"Model\":\"x1\"}"
xmp reserved-number.png "${J/\"ReservedCode1\":\"\"/\"ReservedCode1\":-183015675558052179}"
xmp legacy-tencent.png '{"AIGC":{"ServiceProvider":"Tencent","ServiceUser":"u1","Time":"1735660800","ContentId":"c1"}}'
xmp producer-name.png "${J//$P/doubao}"
xmp producer-code-bad-check.png "${J//$P/001191110102MACQD9K64110000}"
xmp producer-code-26.png "${J//$P/00119111010MACQD9K64010000}"
xmp producer-number.png "${J//\"ContentProducer\":\"$P\"/\"ContentProducer\":1191110102}"
xmp missing-propagator.png "{\"Label\":\"1\",\"ContentProducer\":\"$P\",\"ProduceID\":\"$ID\",\"ReservedCode1\":\"\",\"PropagateID\":\"$ID\",\"ReservedCode2\":\"\"}"
xmp propagateid-number.png "${J//\"PropagateID\":\"$ID\"/\"PropagateID\":42}"
xmp reserved2-number.png "${J/\"ReservedCode2\":\"\"/\"ReservedCode2\":7}"
xmp reserved2-set.png "${J/\"ReservedCode2\":\"\"/\"ReservedCode2\":\"computer,1|human,0|\"}"
# E a): the JSON stored under a property whose name does not contain AIGC (dc:description).
exiftool -config "$CFG" -@ "$base.args" -common_args -q -overwrite_original
cp "$base" no-aigc-key.png && exiftool -q -overwrite_original "-XMP-dc:Description=$J" no-aigc-key.png

# Hand-built XMP packets (craft.py), for forms ExifTool does not write.
esc=$(printf '%s' "$J" | sed 's/"/\&quot;/g')
RDF='xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
NS='http://www.tc260.org.cn/ns/AIGC/1.0/'
packet() { printf '%s' "$2" > "$base.xmp"; python3 $T/craft.py png-xmp "$base" "$1" "$base.xmp"; }
# Real Doubao/Jimeng layout (implementations-in-the-wild #1): XML declaration first, empty begin, '??>'.
packet doubao-packet.png "<?xml version=\"1.0\" encoding=\"UTF-8\"?><?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"??><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:TC260=\"$NS\"><TC260:AIGC>$esc</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
# Attribute form (Exempi/cntc260, PicWish, #5/#24).
packet attribute-form.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:TC260=\"$NS\" TC260:AIGC=\"$esc\"/></rdf:RDF></x:xmpmeta>"
# Another prefix bound to the right URI (trap 3).
packet other-prefix.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:aigc=\"$NS\"><aigc:AIGC>$esc</aigc:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
# The right prefix bound to a wrong URI (jiemojiemo toolkit #15, trap 3).
packet wrong-namespace.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:TC260=\"http://ns.adobe.com/xap/1.0/tc/\" TC260:AIGC=\"$esc\"/></rdf:RDF></x:xmpmeta>"
# JSON quotes not entity-escaped in element text (felix-tool #22) and CDATA (trap 4).
packet raw-quotes.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:TC260=\"$NS\"><TC260:AIGC>$J</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
packet cdata.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:TC260=\"$NS\"><TC260:AIGC><![CDATA[$J]]></TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
# One XMP property per field, Label "AIGC" (TrustPic sample generator #38).
packet per-field-properties.png "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF $RDF><rdf:Description rdf:about=\"\" xmlns:AIGC=\"$NS\"><AIGC:Label>AIGC</AIGC:Label><AIGC:ContentProducer>$P</AIGC:ContentProducer><AIGC:ProduceID>$ID</AIGC:ProduceID></rdf:Description></rdf:RDF></x:xmpmeta>"
# PNG text chunks with keyword AIGC (image guide Annex B; Doubao other exports #3). The guide's
# Annex B form is the wrapped value, as Annex E b) prints it (digest 3.8, corrected 2026-12-02);
# the bare form is Doubao's deviation.
python3 $T/craft.py png-text "$base" text-chunk-wrapped.png AIGC "{\"AIGC\": $J}"
python3 $T/craft.py png-text "$base" text-chunk-bare.png AIGC "$J"
python3 $T/craft.py png-ztxt "$base" ztxt-chunk-wrapped.png AIGC "{\"AIGC\":$J}"
python3 $T/craft.py png-itxt "$base" itxt-chunk-bare.png AIGC "$J"
# Two labels in one file (6.1 c): XMP plus a tEXt copy, same values and different values.
python3 $T/craft.py png-text j-bare.png two-labels-same.png AIGC "$J"
python3 $T/craft.py png-text j-bare.png two-labels-different.png AIGC "$(with_label '"Label":"3"')"
cp "$base" plain.png
