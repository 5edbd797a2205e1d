#!/usr/bin/env bash
# Install the system tools the tests and the suite use, when they are missing.
# Debian packages (apt-get) plus mutagen, PyYAML and gmssl for whichever python3 is first on PATH.
# Idempotent and quiet when everything is there already.
set -euo pipefail

# command -> Debian package that provides it
declare -A NEED=(
  [exiftool]=libimage-exiftool-perl
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [sox]=sox
  [tesseract]=tesseract-ocr
  [convert]=imagemagick
  [compare]=imagemagick
  [espeak-ng]=espeak-ng
  [mediainfo]=mediainfo
  [qpdf]=qpdf
  [pdfinfo]=poppler-utils
  [heif-enc]=libheif-examples
  [cwebp]=webp
  [mkvinfo]=mkvtoolnix
  [fc-list]=fontconfig
  [gs]=ghostscript
  [heif-convert]=libheif-examples
  [pdftoppm]=poppler-utils
  [chromium]=chromium
  [openssl]=openssl
  [bc]=bc                 # vectors/explicit/make.sh (regen-check)
  # the headless page test of `aigc-label serve` (reference/tests/serve_page.rs)
  [chromedriver]=chromium-driver
  [cjpeg]=libjpeg-turbo-progs
  [djpeg]=libjpeg-turbo-progs
  # the harness's sandbox for adapters under test (aigc-conform run --isolation bwrap)
  [bwrap]=bubblewrap
)
# files -> package (data packages without a command)
declare -A NEED_FILES=(
  [/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata]=tesseract-ocr-chi-sim
  [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]=fonts-noto-cjk
  [/usr/lib/x86_64-linux-gnu/sox/libsox_fmt_mp3.so]=libsox-fmt-mp3
  # CJK fonts of the OCR calibration set (calibration/ocr/make.py, scripts/calibrate-ocr.sh)
  [/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc]=fonts-wqy-zenhei
  [/usr/share/fonts/truetype/wqy/wqy-microhei.ttc]=fonts-wqy-microhei
  [/usr/share/fonts/truetype/arphic/ukai.ttc]=fonts-arphic-ukai
  [/usr/share/fonts/truetype/arphic/uming.ttc]=fonts-arphic-uming
  [/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf]=fonts-droid-fallback
  # OpenCV (a dependency of rapidocr-onnxruntime, below) loads libGL and GLib at import
  [/usr/lib/x86_64-linux-gnu/libGL.so.1]=libgl1
  [/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0]=libglib2.0-0
)

missing=()
for cmd in "${!NEED[@]}"; do
  # /usr/local/bin/convert may be a stand-in on some machines: require the Debian one.
  if [ "$cmd" = convert ] || [ "$cmd" = compare ]; then
    [ -x "/usr/bin/$cmd" ] || missing+=("${NEED[$cmd]}")
  elif ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("${NEED[$cmd]}")
  fi
done
for f in "${!NEED_FILES[@]}"; do
  [ -e "$f" ] || missing+=("${NEED_FILES[$f]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "install-deps: installing Debian packages: $pkgs" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs python3-mutagen python3-yaml >/dev/null
fi

# pip for the python3 on PATH (Debian's python3 comes without it).
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "install-deps: installing python3-pip" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
fi

# The tests call `python3` as found on PATH (which may not be Debian's): give it mutagen, PyYAML,
# gmssl (a pure-Python SM2/SM3, the independent signer in reference/tests/security.rs and
# vectors/implicit/security/make.py; not packaged by Debian), jpeglib (libjpeg's DCT
# coefficients, the independent decoder of tests/explicit_jpeg.rs) and jsonschema (the
# scan-line schema test); maturin, pytest and dask[distributed] build and test the Python
# package (scripts/test-python.sh); Pillow draws the OCR calibration set (calibration/ocr/make.py).
for mod in mutagen:mutagen yaml:pyyaml gmssl:gmssl==3.2.2 jpeglib:jpeglib jsonschema:jsonschema \
           maturin:maturin pytest:pytest distributed:dask[distributed] PIL:pillow; do
  if ! python3 -c "import ${mod%%:*}" >/dev/null 2>&1; then
    echo "install-deps: installing ${mod#*:} for $(command -v python3)" >&2
    python3 -m pip install -q "${mod#*:}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${mod#*:}"
  fi
done

# The reference's first OCR engine (vectors/profile.yaml explicit.ocr.engines): PP-OCRv4 Chinese
# recognition on ONNX Runtime; the wheel ships its models, nothing is downloaded at run time. It
# supports Python < 3.13 only: where it cannot be installed, the reference reads with tesseract
# and says so in the reading's note.
if ! python3 -c "import rapidocr_onnxruntime" >/dev/null 2>&1; then
  echo "install-deps: installing rapidocr-onnxruntime for $(command -v python3)" >&2
  python3 -m pip install -q rapidocr-onnxruntime==1.4.4 2>/dev/null \
    || python3 -m pip install -q --break-system-packages rapidocr-onnxruntime==1.4.4 \
    || echo "install-deps: rapidocr-onnxruntime could not be installed: OCR falls back to tesseract" >&2
fi
