#!/usr/bin/env python3
"""Regenerates the TC260-PG-202511A security-data vectors of this folder and their manifest.

    python3 make.py [--fresh]  (ImageMagick, ExifTool, ffmpeg, OpenSSL >= 3 with SM2, gmssl from PyPI)

Each vector is a small PNG whose label (XMP TC260:AIGC, written by ExifTool with
../../tools/tc260.config), or for MiniMax's own carrier an MP4 labelled by ffmpeg, carries SecurityData in ReservedCode1 and/or ReservedCode2. The
signatures are made by two independent SM2 implementations, never by the reference:
gmssl (pure Python, fixed test keys and fixed nonces, so those files are reproducible) and the
OpenSSL command line (`openssl dgst -sm3 -sign … -sigopt distid:1234567812345678`; OpenSSL's SM2
nonces are random, so its signature is kept in openssl-der.sig.hex and reused while it verifies;
`--fresh` makes a new one). Every signature meant to verify is checked with `openssl dgst -verify` here, and every
tampered one is checked to fail there, before a file is written.

The expectations (`vectors.yaml`) follow from how each case is built, per digest §3.9 and the
profile (`security:` in ../../profile.yaml): the signed message is the role's fields as JSON
members joined by commas (Annex A.1); a changed signed field or a foreign key -> `failed`, the
error-severity problem security-signature-failed, verdict invalid; RSA or an unknown algorithm ->
`unsupported` and SecurityData that is not JSON -> `malformed`, neither changes the verdict;
no SecurityData -> `absent`.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from gmssl import func, sm2, sm3

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = os.path.join(HERE, "..", "..", "tools", "tc260.config")
SM3_WITH_SM2 = "1.2.156.10197.1.501"
USER_ID = "1234567812345678"

P = "001191110102MACQD9K64010000"  # the producer code of the other vectors
PLATFORM = "001191440300708461136T1XGW3"  # a propagator (Tencent's code, digest §5)
ID = "0123456789abcdef0123456789abcdef"

# Test keys (private scalars, hex). Never used for anything but these vectors.
PRODUCER_KEY = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
OTHER_KEY = "6b1f0a2e5c3d4f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a"
PLATFORM_KEY = "1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100fedc"


def public_of(d):
    """x‖y (128 hex) of the private scalar d, by gmssl's point multiplication."""
    return sm2.CryptSM2(public_key="", private_key=d)._kg(int(d, 16), sm2.default_ecc_table["g"])


def message(fields, names):
    """Annex A.1: the fields as JSON members, joined by commas, without braces."""
    return ",".join(f"{json.dumps(n)}:{json.dumps(fields[n], ensure_ascii=False)}" for n in names)


PRODUCER_FIELDS = ["Label", "ContentProducer", "ProduceID"]
PROPAGATOR_FIELDS = ["Label", "ContentPropagator", "PropagateID"]  # profile security.signed_fields


def gmssl_sign(d, msg, salt):
    """r‖s (128 hex) by gmssl's sign_with_sm3 (user id 1234567812345678), nonce fixed per case."""
    k = hashlib.sha256((d + salt).encode()).hexdigest()
    c = sm2.CryptSM2(public_key=public_of(d), private_key=d)
    return c.sign_with_sm3(msg.encode(), k)


def der(raw):
    """DER SEQUENCE { INTEGER r, INTEGER s } of r‖s hex."""
    def integer(h):
        b = bytes.fromhex(h).lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return b"\x02" + bytes([len(b)]) + b
    body = integer(raw[:64]) + integer(raw[64:])
    return (b"\x30" + bytes([len(body)]) + body).hex()


def spki(pub):
    """SubjectPublicKeyInfo (id-ecPublicKey, curve SM2) of x‖y, as DER hex."""
    return "3059301306072a8648ce3d020106082a811ccf5501822d03420004" + pub


def compressed(pub):
    return ("03" if int(pub[-2:], 16) & 1 else "02") + pub[:64]


def pkcs8_pem(d):
    """The PKCS#8 PEM OpenSSL itself writes for an SM2 key (same DER layout as genpkey)."""
    import base64
    body = ("308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420" + d
            + "a14403420004" + public_of(d))
    b64 = base64.b64encode(bytes.fromhex(body)).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def openssl(args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True)


def openssl_sign(d, msg, tmp):
    key = os.path.join(tmp, "k.pem")
    open(key, "w").write(pkcs8_pem(d))
    r = openssl(["dgst", "-sm3", "-sign", key, "-sigopt", f"distid:{USER_ID}"], msg.encode())
    assert r.returncode == 0, r.stderr
    return r.stdout.hex()


def openssl_verifies(pub, msg, sig_hex, tmp):
    """`openssl dgst -verify` of a DER or r‖s signature under the point x‖y."""
    pem = os.path.join(tmp, "pub.pem")
    r = openssl(["pkey", "-pubin", "-inform", "DER", "-out", pem], bytes.fromhex(spki(pub)))
    assert r.returncode == 0, r.stderr
    sig = os.path.join(tmp, "sig")
    open(sig, "wb").write(bytes.fromhex(sig_hex if sig_hex.startswith("30") else der(sig_hex)))
    msgf = os.path.join(tmp, "msg")
    open(msgf, "wb").write(msg.encode())
    r = openssl(["dgst", "-sm3", "-verify", pem, "-sigopt", f"distid:{USER_ID}", "-signature", sig, msgf])
    return r.returncode == 0 and b"Verified OK" in r.stdout


def security_data(entries, pubsd="PubSD", extra=None, sd_type="TC260PG"):
    sd = {"Type": sd_type, "Version": 1, pubsd: entries}
    sd.update(extra or {})
    return json.dumps({"SecurityData": sd}, separators=(",", ":"))


def ds(sig, tbs="Md", alg=SM3_WITH_SM2, key_id="1"):
    e = {"Type": "DS", "KeyID": key_id, "AlgID": alg, "TBSData": {"Type": tbs}, "Signature": sig}
    if key_id is None:
        del e["KeyID"]
    return e


def pubkey(value, alg=SM3_WITH_SM2, key_id="1"):
    e = {"Type": "PubKey", "KeyID": key_id, "AlgID": alg, "KeyValue": value}
    if key_id is None:
        del e["KeyID"]
    return e


def fields(**changes):
    f = {"Label": "1", "ContentProducer": P, "ProduceID": ID, "ReservedCode1": "",
         "ContentPropagator": P, "PropagateID": ID, "ReservedCode2": ""}
    f.update(changes)
    return f


def build(tmp):
    """Every case: (id, file, label fields, expected security status, verdict, class, bug class, what)."""
    cases = []
    pub, other_pub, platform_pub = public_of(PRODUCER_KEY), public_of(OTHER_KEY), public_of(PLATFORM_KEY)
    m = message(fields(), PRODUCER_FIELDS)

    def check(p, msg, sig, want):
        assert openssl_verifies(p, msg, sig, tmp) == want, (msg, sig, want)

    cases.append(("absent", fields(), "absent", "valid", "positive", "baseline",
                  "no SecurityData (empty reserved fields): nothing to verify, not a problem (Annex E f, i optional)"))

    # OpenSSL's SM2 nonces are random: keep the committed signature while it still verifies, so
    # that a rerun reproduces every file (`--fresh` signs anew).
    kept = os.path.join(HERE, "openssl-der.sig.hex")
    sig = open(kept).read().strip() if os.path.exists(kept) and "--fresh" not in sys.argv else ""
    if not sig or not openssl_verifies(pub, m, sig, tmp):
        sig = openssl_sign(PRODUCER_KEY, m, tmp)
        open(kept, "w").write(sig + "\n")
    check(pub, m, sig, True)
    cases.append(("openssl-der", fields(ReservedCode1=security_data([pubkey(spki(pub)), ds(sig.upper())])),
                  "verified", "valid", "positive", "signature-interop",
                  "OpenSSL DER signature over the A.1 message, key as a SubjectPublicKeyInfo: verified"))

    raw = gmssl_sign(PRODUCER_KEY, m, "raw")
    check(pub, m, raw, True)
    cases.append(("gmssl-raw", fields(ReservedCode1=security_data([pubkey(pub), ds(raw)])),
                  "verified", "valid", "positive", "signature-interop",
                  "gmssl r||s signature, key as raw x||y (64 bytes): verified"))

    cases.append(("compressed-key", fields(ReservedCode1=security_data([pubkey(compressed(pub)), ds(der(raw))])),
                  "verified", "valid", "positive", "signature-interop",
                  "the same gmssl signature in DER, key as a compressed point (02/03 || x): verified"))

    mm_fields = fields(ContentProducer="MiniMax", ContentPropagator="MiniMax", ProduceID="285431094123456789",
                       PropagateID="285431094123456789")
    mm_msg = message(mm_fields, PRODUCER_FIELDS)
    mm_sig = gmssl_sign(PRODUCER_KEY, mm_msg, "minimax")
    check(pub, mm_msg, mm_sig, True)
    # A binding entry shaped like MiniMax's: an SM3 hash (OID 1.2.156.10197.1.401) of some content
    # bytes; MiniMax names no content selection, so no reader can recompute it.
    content_hash = sm3.sm3_hash(func.bytes_to_list(b"content bytes")).upper()
    binding = [{"BType": "0", "Md": content_hash, "AlgID": "1.2.156.10197.1.401"}]
    mm_sd = security_data([ds(der(mm_sig).upper(), tbs="LabelMataData", key_id=None),
                           pubkey("00" + pub[:64].upper(), key_id=None)], extra={"Binding": binding})
    cases.append(("minimax-spellings", dict(mm_fields, ReservedCode1=mm_sd), "verified", "valid", "positive",
                  "vendor-spelling",
                  "MiniMax's spellings: TBSData Type LabelMataData, key a bare x padded with 00, no KeyID, "
                  "a Binding member (content binding reported not checked): verified"))

    # The same MiniMax label where MiniMax writes it: an MP4 (moov/udta/meta keys AIGC, written by
    # ffmpeg as the video guide's Annex A command does), once intact and once with ProduceID changed.
    cases.append(("minimax-video", dict(mm_fields, ReservedCode1=mm_sd), "verified", "valid", "positive",
                  "vendor-spelling", "the MiniMax-spelled signed label in an MP4 written by ffmpeg: verified", "mp4"))
    mm_flipped = dict(mm_fields, ProduceID="285431094123456780", PropagateID="285431094123456780", ReservedCode1=mm_sd)
    check(pub, message(mm_flipped, PRODUCER_FIELDS), mm_sig, False)
    cases.append(("minimax-video-tampered", mm_flipped, "failed", "invalid", "negative", "tampered-label",
                  "the same MP4 label with the last digit of ProduceID changed after signing: failed (error)", "mp4"))

    signed = security_data([pubkey(pub), ds(der(raw))])
    changed = fields(ContentProducer=PLATFORM, ContentPropagator=PLATFORM, ReservedCode1=signed)
    check(pub, message(changed, PRODUCER_FIELDS), der(raw), False)
    cases.append(("producer-changed", changed, "failed", "invalid", "negative", "tampered-label",
                  "ContentProducer replaced by another valid code after signing: failed (error)"))

    flipped_id = "1" + ID[1:]
    flipped = fields(ProduceID=flipped_id, PropagateID=flipped_id, ReservedCode1=signed)
    check(pub, message(flipped, PRODUCER_FIELDS), der(raw), False)
    cases.append(("produceid-flipped", flipped, "failed", "invalid", "negative", "tampered-label",
                  "one character of ProduceID changed after signing: failed (error)"))

    check(other_pub, m, raw, False)
    cases.append(("wrong-key", fields(ReservedCode1=security_data([pubkey("04" + other_pub), ds(der(raw))])),
                  "failed", "invalid", "negative", "wrong-key",
                  "signed with one key, another valid SM2 key in KeyValue: failed (error)"))

    rsa = "1.2.840.113549.1.1.11"
    fake_rsa = hashlib.sha256(b"not an RSA signature").hexdigest() * 16  # 256 bytes, shape only
    cases.append(("rsa-honor", fields(ReservedCode1=security_data([pubkey("30820122" + "00" * 8, alg=rsa),
                                                                   ds(fake_rsa, alg=rsa)], pubsd="PubSd")),
                  "unsupported", "valid", "positive", "unsupported-algorithm",
                  "an RSA/SHA-256 block spelled PubSd as in Honor JPEGs (signature bytes are shape only): "
                  "unsupported, never failed"))

    cases.append(("unknown-algorithm", fields(ReservedCode1=security_data([pubkey(pub, alg="1.2.156.10197.1.999"),
                                                                           ds(raw, alg="1.2.156.10197.1.999")])),
                  "unsupported", "valid", "positive", "unsupported-algorithm",
                  "a valid SM2 signature declared with an unknown AlgID: unsupported, never failed"))

    truncated = security_data([pubkey(pub), ds(der(raw))])[:90]
    cases.append(("malformed-json", fields(ReservedCode1=truncated), "malformed", "valid", "positive",
                  "malformed-security-data",
                  "ReservedCode1 starts a SecurityData object but is cut off (not JSON): malformed, "
                  "a warning only (reserved content is free-form)"))

    prop = fields(ContentPropagator=PLATFORM, PropagateID="p-42", ReservedCode1=signed)
    pm = message(prop, PROPAGATOR_FIELDS)
    psig = gmssl_sign(PLATFORM_KEY, pm, "platform")
    check(platform_pub, pm, psig, True)
    prop["ReservedCode2"] = security_data([pubkey("04" + platform_pub), ds(der(psig))])
    cases.append(("propagator-signed", prop, "verified", "valid", "positive", "propagator-signature",
                  "producer signature in ReservedCode1 and the platform's over Label, ContentPropagator, "
                  "PropagateID in ReservedCode2 (profile security.signed_fields [L]): both verified"))

    prop_changed = dict(prop, PropagateID="p-43")
    check(platform_pub, message(prop_changed, PROPAGATOR_FIELDS), der(psig), False)
    cases.append(("propagator-changed", prop_changed, "failed", "invalid", "negative", "tampered-label",
                  "PropagateID changed after the platform signed: ReservedCode2 failed (error)"))
    return cases


def write_png(path, value, base):
    subprocess.run(["cp", base, path], check=True)
    subprocess.run(["exiftool", "-config", CFG, "-q", "-overwrite_original", f"-XMP-TC260:AIGC={value}", path],
                   check=True)
    back = subprocess.run(["exiftool", "-config", CFG, "-s3", "-XMP-TC260:AIGC", path], capture_output=True,
                          text=True, check=True).stdout.rstrip("\n")
    assert back == value, f"{path}: ExifTool read back {back!r}"


WRITERS = {"png": "ImageMagick + ExifTool (TC260 config)", "mp4": "ffmpeg (-metadata AIGC, -movflags use_metadata_tags)"}
MEDIA = {"png": "image/png", "mp4": "video/mp4"}


def write_mp4(path, value):
    """A 1-frame MP4 labelled by ffmpeg (bit-exact, so reruns give the same bytes)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x3366aa:s=16x16:r=1:d=1",
                    "-c:v", "mpeg4", "-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1",
                    "-metadata", f"AIGC={value}", "-movflags", "use_metadata_tags", path], check=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base.png")
        subprocess.run(["convert", "-size", "16x16", "xc:#3366aa", "-strip", "-define",
                        "png:exclude-chunks=date,time", base], check=True)
        cases = build(tmp)
        out = ["# TC260-PG-202511A security data in ReservedCode1/2 (digest 3.9). Generated by make.py, which",
               "# signs with gmssl and OpenSSL (never the reference) and states how each case is built.",
               "# Expectations follow from that construction and the profile's security: section.",
               "vectors:"]
        for cid, f, status, verdict, cls, bug, what, *fmt in cases:
            ext = fmt[0] if fmt else "png"
            name = f"sec-{cid}.{ext}"
            value = json.dumps(f, separators=(",", ":"), ensure_ascii=False)
            if ext == "mp4":
                write_mp4(os.path.join(HERE, name), value)
            else:
                write_png(os.path.join(HERE, name), value, base)
            out += [f"  - id: security-{cid}",
                    # A label the reference reads as invalid (a signature that does not verify)
                    # is charged to a mandatory clause too (issue 19): Measures Art. 10 ¶2.
                    "    requirements: [PG-202511A-sig, CAC-10-2]" if verdict == "invalid"
                    else "    requirements: [PG-202511A-sig]",
                    f"    class: {cls}",
                    f"    bug_class: {bug}",
                    f'    provenance: "{WRITERS[ext]}; signatures by gmssl 3.2.2 / OpenSSL; make.py"',
                    f"    description: {json.dumps(what, ensure_ascii=False)}",
                    "    op: read",
                    f"    media: {MEDIA[ext]}",
                    f"    input: {name}",
                    "    expect:",
                    "      status: ok",
                    f"      verdict: {verdict}",
                    "      labels:",
                    f"        - {json.dumps(f, ensure_ascii=False)}",
                    f"      security: [{status}]"]
        open(os.path.join(HERE, "vectors.yaml"), "w").write("\n".join(out) + "\n")
        print(f"{len(cases)} vectors written", file=sys.stderr)


if __name__ == "__main__":
    main()
