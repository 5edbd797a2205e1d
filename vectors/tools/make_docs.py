#!/usr/bin/env python3
"""Document inputs for vectors/implicit/formats (standard library only).

    make_docs.py LABEL_JSON     (run in the target folder)

Writes plain.pdf (a minimal one-page PDF with a classic xref table), plain.docx (the minimal
WordprocessingML package), python-custom.docx (docProps/custom.xml property AIGC written the way
the Python OOXML labeller of implementations-in-the-wild #30 does), plain.md and the three
Markdown front-matter dialects seen in public repositories (#33 a, b, c).
"""
import json
import sys
import zipfile

LABEL = json.loads(sys.argv[1])


def pdf():
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 4 0 R >>",
        None,  # content stream
        b"<< /Producer (make_docs.py) >>",
    ]
    content = b"0.2 0.4 0.8 rg 8 8 56 56 re f"
    objs[3] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open("plain.pdf", "wb") as f:
        f.write(bytes(out))


CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "{extra}</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "{extra}</Relationships>"
)
DOC = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>"
)


def docx(path, custom=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("[Content_Types].xml", "_rels/.rels", "word/document.xml", "docProps/custom.xml"):
            info = zipfile.ZipInfo(name, date_time=(2025, 9, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name == "[Content_Types].xml":
                extra = (
                    '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
                    if custom
                    else ""
                )
                z.writestr(info, CT.format(extra=extra))
            elif name == "_rels/.rels":
                extra = (
                    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>'
                    if custom
                    else ""
                )
                z.writestr(info, RELS.format(extra=extra))
            elif name == "word/document.xml":
                z.writestr(info, DOC)
            elif custom:
                z.writestr(info, custom)


def custom_xml(value):
    esc = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="AIGC">'
        f"<vt:lpwstr>{esc}</vt:lpwstr></property></Properties>"
    )


def markdown():
    body = "# Report\n\nA paragraph of text.\n"
    with open("plain.md", "w", encoding="utf-8") as f:
        f.write(body)
    # (a) keys alphabetically sorted, 2-space indent, single-quoted values (#33 a).
    a = dict(sorted(LABEL.items()))
    a["ContentProducer"] = a["ContentPropagator"] = "001191110102MAD55U9H0F10002"
    with open("md-dialect-a.md", "w", encoding="utf-8") as f:
        f.write("---\ntitle: 'Report'\nAIGC:\n" + "".join(f"  {k}: '{v}'\n" for k, v in a.items()) + "---\n" + body)
    # (b) Annex order, 4-space indent, Label double-quoted, the others unquoted (#33 b).
    b = dict(LABEL)
    b["ContentProducer"] = b["ContentPropagator"] = "001191440300708461136T1XGW3"
    b["ProduceID"] = b["PropagateID"] = "0123456789abcdef0123456789abcdef_fedcba9876543210fedcba9876543210"
    lines = []
    for k, v in b.items():
        if k == "Label":
            lines.append(f'    {k}: "{v}"\n')
        elif v == "":
            lines.append(f"    {k}: ''\n")
        else:
            lines.append(f"    {k}: {v}\n")
    with open("md-dialect-b.md", "w", encoding="utf-8") as f:
        f.write("---\nAIGC:\n" + "".join(lines) + "---\n" + body)
    # (c) MiniMax Agent: Label AIGC (not an enum value), a producer name with spaces (#33 c).
    with open("md-dialect-c.md", "w", encoding="utf-8") as f:
        f.write(
            "---\nAIGC:\n  Label: AIGC\n  ContentProducer: Minimax Agent AI\n  ProduceID: '00000000000000000000000000000000'\n"
            "  ReservedCode1: ''\n  ContentPropagator: Minimax Agent AI\n  PropagateID: '00000000000000000000000000000000'\n"
            "  ReservedCode2: ''\n---\n" + body
        )
    # (d) the text guide's YAML block, but after the first paragraph instead of at the file head
    # (PG-20258A §6.5 puts front matter at the head): not front matter, so no label.
    with open("md-not-at-head.md", "w", encoding="utf-8") as f:
        f.write(body + "\n---\nAIGC:\n" + "".join(f"  {k}: '{v}'\n" for k, v in LABEL.items()) + "---\n")


pdf()
docx("plain.docx")
docx("python-custom.docx", custom_xml(json.dumps(LABEL, separators=(",", ":"), ensure_ascii=False)))
markdown()
