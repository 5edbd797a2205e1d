#!/usr/bin/env python3
"""A small, independent GB 45438-2025 implicit-label adapter for PNG (python3, stdlib only).

Protocol: conformance/PROTOCOL.md. One JSON request on stdin -> one JSON response on stdout;
with the argument `serve`, one request per line (persistent mode).

What it does, honestly:
- read: walks the PNG chunks; finds the label in the XMP packet (iTXt `XML:com.adobe.xmp`,
  property TC260:AIGC, element or attribute form, found by regex - not an XML parser) and in
  tEXt/iTXt chunks whose keyword is `AIGC`; judges each value against Annex E (seven string keys,
  Label 1/2/3); different values -> conflict.
- label: copies the PNG, drops every label carrier it knows (the whole XMP chunk if it holds a
  TC260:AIGC property - other XMP properties in that packet are lost, a known limitation) and
  writes one fresh XMP packet right after IHDR.
"""
import json
import re
import struct
import sys
import zlib

PNG_SIG = b"\x89PNG\r\n\x1a\n"
NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
KEYS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
        "ContentPropagator", "PropagateID", "ReservedCode2"]


class Rejected(Exception):
    pass


def chunks(data):
    if not data.startswith(PNG_SIG):
        raise Rejected("not a PNG file")
    pos = 8
    while pos < len(data):
        if pos + 12 > len(data):
            raise Rejected("truncated chunk header at byte %d" % pos)
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if pos + 12 + n > len(data):
            raise Rejected("chunk %r at byte %d runs past the end of the file" % (kind, pos))
        yield kind, data[pos + 8:pos + 8 + n], data[pos:pos + 12 + n]
        pos += 12 + n
        if kind == b"IEND":
            return
    raise Rejected("no IEND chunk")


def text_of(kind, body):
    """(keyword, text) of a tEXt/zTXt/iTXt chunk."""
    kw, _, rest = body.partition(b"\0")
    if kind == b"tEXt":
        return kw.decode("latin-1"), rest.decode("latin-1")
    if kind == b"zTXt":
        return kw.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
    comp, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _tkw, _, text = rest.partition(b"\0")
    if comp:
        text = zlib.decompress(text)
    return kw.decode("latin-1"), text.decode("utf-8")


def unescape(s):
    return (s.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<")
            .replace("&gt;", ">").replace("&amp;", "&"))


def xmp_values(packet):
    """TC260:AIGC values of an XMP packet (any prefix bound to the TC260 namespace)."""
    prefixes = re.findall(r'xmlns:([\w.-]+)\s*=\s*["\']' + re.escape(NS.rstrip("/")) + r'/?["\']', packet)
    out = []
    for p in prefixes:
        p = re.escape(p)
        out += [unescape(v) for v in re.findall(r"<%s:AIGC>(.*?)</%s:AIGC>" % (p, p), packet, re.S)]
        out += [unescape(v) for v in re.findall(r'%s:AIGC\s*=\s*"([^"]*)"' % p, packet)]
    return out


def carriers(data):
    found = []
    for kind, body, _raw in chunks(data):
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        try:
            kw, text = text_of(kind, body)
        except Exception as e:  # broken compressed text
            raise Rejected("unreadable %r chunk: %s" % (kind, e))
        if kind == b"iTXt" and kw == "XML:com.adobe.xmp":
            found += [("png/iTXt/XMP", v) for v in xmp_values(text)]
        elif kw.upper() == "AIGC":
            found.append(("png/%s/%s" % (kind.decode(), kw), text))
    return found


def judge(text):
    """(fields, valid) of one label value."""
    try:
        obj = json.loads(text)
    except ValueError:
        return {}, False
    if isinstance(obj, dict) and list(obj.keys()) == ["AIGC"]:
        obj = obj["AIGC"]
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except ValueError:
                return {}, False
    if not isinstance(obj, dict):
        return {}, False
    valid = all(isinstance(obj.get(k), str) for k in KEYS if k not in ("ReservedCode1", "ReservedCode2"))
    valid = valid and obj.get("Label") in ("1", "2", "3")
    valid = valid and all(isinstance(v, str) for v in obj.values())
    return obj, valid


def op_read(req):
    with open(req["input"], "rb") as f:
        data = f.read()
    labels = []
    judged = []
    for carrier, text in carriers(data):
        fields, valid = judge(text)
        labels.append({"fields": fields, "carrier": carrier})
        judged.append((fields, valid, text.strip()))
    if not labels:
        verdict = "unlabeled"
    elif any((j[0] or j[2]) != (judged[0][0] or judged[0][2]) for j in judged):
        verdict = "conflict"
    elif len(judged) == 1 and judged[0][1]:
        # 6.1 c) keeps only one copy: identical copies are invalid (profile duplicate-label).
        verdict = "valid"
    else:
        verdict = "invalid"
    return {"status": "ok", "labels": labels, "verdict": verdict}


def xmp_chunk(json_text):
    esc = json_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    packet = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
              '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description rdf:about="" xmlns:TC260="%s"><TC260:AIGC>%s</TC260:AIGC></rdf:Description>'
              '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>' % (NS, esc))
    body = b"XML:com.adobe.xmp\0\0\0\0\0" + packet.encode("utf-8")
    return struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xffffffff)


def op_label(req):
    if req.get("explicit"):
        return {"status": "unsupported", "message": "explicit labels are not implemented"}
    fields = req.get("fields") or {}
    if not all(isinstance(fields.get(k), str) for k in KEYS) or fields.get("Label") not in ("1", "2", "3"):
        return {"status": "rejected", "message": "the fields do not make a valid Annex E label"}
    json_text = json.dumps({k: fields[k] for k in KEYS}, ensure_ascii=False, separators=(",", ":"))
    with open(req["input"], "rb") as f:
        data = f.read()
    out = [PNG_SIG]
    for kind, body, raw in chunks(data):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            kw, text = text_of(kind, body)
            if kw.upper() == "AIGC" or (kw == "XML:com.adobe.xmp" and xmp_values(text)):
                continue  # a label carrier: dropped, replaced below
        out.append(raw)
        if kind == b"IHDR":
            out.append(xmp_chunk(json_text))
    with open(req["output"], "wb") as f:
        f.write(b"".join(out))
    return {"status": "ok"}


def op_info(_req):
    return {"status": "ok", "name": "python-stdlib-example", "version": "0.1",
            "roles": ["reader", "generator"],
            "media": {"read": ["image/png"], "label": ["image/png"]},
            "persistent": True}


OPS = {"info": op_info, "read": op_read, "label": op_label}


def answer(line):
    """The response to one request line; the request's id (persistent mode) is echoed."""
    response = respond(line)
    try:
        req_id = json.loads(line).get("id")
    except Exception:
        req_id = None
    if isinstance(req_id, str):
        response["id"] = req_id
    return response


def respond(line):
    try:
        req = json.loads(line)
        op = OPS.get(req.get("op"))
        if op is None:
            return {"status": "unsupported", "message": "op %r not implemented" % req.get("op")}
        if req.get("op") != "info" and req.get("media") not in (None, "image/png"):
            return {"status": "unsupported", "message": "only image/png"}
        return op(req)
    except Rejected as e:
        return {"status": "rejected", "message": str(e)}
    except Exception as e:  # never crash: report the failure as the protocol's error status
        return {"status": "error", "message": "%s: %s" % (type(e).__name__, e)}


def main():
    if sys.argv[1:] == ["serve"]:
        for line in sys.stdin:
            if line.strip():
                sys.stdout.write(json.dumps(answer(line), ensure_ascii=False) + "\n")
                sys.stdout.flush()
    else:
        sys.stdout.write(json.dumps(answer(sys.stdin.read()), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
