#!/usr/bin/env bash
# Seed every fuzz target's corpus with the inputs of all test vectors (vectors/**, without the
# manifests and generator scripts). Every target gets every input: a parser rejects foreign
# formats quickly, and libFuzzer keeps only the inputs that add coverage.
set -euo pipefail
cd "$(dirname "$0")"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^aigc-label-fuzz$')
for t in $targets; do
  mkdir -p "corpus/$t"
  find ../vectors -type f ! -name '*.yaml' ! -name '*.py' ! -name '*.sh' -print0 |
    while IFS= read -r -d '' f; do
      # Flatten the path into the name so that same-named vectors in different folders coexist.
      cp "$f" "corpus/$t/$(echo "${f#../vectors/}" | tr '/' '_')"
    done
done
echo "seeded: $targets"

# The text targets also get the XMP packets and label JSON texts found inside the vectors.
python3 - <<'PY'
import pathlib, re
root = pathlib.Path("../vectors")
xmp = re.compile(rb"(<\?xpacket begin.*?<\?xpacket end=[^>]*>|<x:xmpmeta.*?</x:xmpmeta>)", re.S)
label = re.compile(rb"\{[^{}]*(?:\{[^{}]*\}[^{}]*)?\"Label\"[^{}]*(?:\{[^{}]*\}[^{}]*)?\}")
n = 0
for f in root.rglob("*"):
    if not f.is_file() or f.suffix in (".py", ".sh"):
        continue
    data = f.read_bytes()
    for i, m in enumerate(xmp.findall(data)[:4]):
        pathlib.Path(f"corpus/xmp/x-{f.name}-{i}").write_bytes(m); n += 1
    for i, m in enumerate(label.findall(data)[:8]):
        pathlib.Path(f"corpus/label_json/j-{f.name}-{i}").write_bytes(m); n += 1
print(f"extracted {n} XMP packets and label texts")
PY
