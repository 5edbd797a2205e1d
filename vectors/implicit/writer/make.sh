#!/usr/bin/env bash
# The unlabelled input of the generator-role vectors (ImageMagick).
set -euo pipefail
cd "$(dirname "$0")"
convert -size 16x16 xc:'#aa6633' -strip -define png:exclude-chunks=date,time plain.png
