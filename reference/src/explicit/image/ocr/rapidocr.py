"""Read text-line images with RapidOCR (PP-OCRv4 Chinese/English recognition on ONNX Runtime).

Run by aigc-label (reference/src/explicit/image/ocr/rapid.rs) as `python3 -c SCRIPT IMAGE...`:
every IMAGE is one cropped label line; each is recognised as one line (no detection: the
reference has already found and cropped the label), all in one batch, so the model is loaded
once per call. Prints one JSON object per image, in order: {"text": ..., "score": ...}.

The PyPI package `rapidocr-onnxruntime` ships its models inside the wheel; nothing is
downloaded at run time. When it is not installed, prints {"missing": why} and exits 3, so the
caller can fall back to another engine and say why.
"""

import json
import sys


def main():
    try:
        import cv2
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as e:
        sys.stdout.write(json.dumps({"missing": "rapidocr-onnxruntime is not installed (%s)" % e}))
        sys.stdout.write("\n")
        return 3
    images = []
    for path in sys.argv[1:]:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            sys.stderr.write("cannot read %s\n" % path)
            return 2
        images.append(img)
    # Two threads at most: the machine's other checks run beside this one.
    engine = RapidOCR(intra_op_num_threads=2, inter_op_num_threads=1)
    results, _ = engine.text_rec(images) if images else ([], 0)
    for text, score in results:
        line = json.dumps({"text": text, "score": round(float(score), 4)}, ensure_ascii=False)
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
