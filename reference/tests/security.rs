//! TC260-PG-202511A security data against independent SM2 implementations: signatures made by
//! OpenSSL (`openssl dgst -sm3 -sign … -sigopt distid:1234567812345678`) and by the pure-Python
//! `gmssl` package verify in the reference; the reference's own signatures (`embed --sign-key`,
//! `propagate --sign-key`) verify in OpenSSL and gmssl; one changed character of a signed field
//! makes the status `failed` and the label invalid.

use crate::common;

use aigc_label::implicit::Verdict;
use aigc_label::security::Status;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PRODUCER: &str = "001191110102MACQD9K64010000";
const PLATFORM: &str = "001191440300708461136T1XGW3";
const PRODUCE_ID: &str = "0123456789abcdef0123456789abcdef";
const USER_ID: &str = "1234567812345678";

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/install-deps.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A fresh SM2 key made by OpenSSL, with its SubjectPublicKeyInfo (DER).
fn openssl_key(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let key = dir.join(format!("{name}.pem"));
    run(Command::new("openssl")
        .args(["genpkey", "-algorithm", "SM2", "-out"])
        .arg(&key));
    let spki = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key));
    (key, spki)
}

fn openssl_sign(dir: &Path, key: &Path, message: &str) -> Vec<u8> {
    let msg = dir.join("msg");
    std::fs::write(&msg, message).unwrap();
    run(Command::new("openssl")
        .args(["dgst", "-sm3", "-sign"])
        .arg(key)
        .args(["-sigopt", &format!("distid:{USER_ID}")])
        .arg(&msg))
}

/// `openssl dgst -verify` of a DER signature; true on "Verified OK".
fn openssl_verify(dir: &Path, key: &Path, message: &str, der: &[u8]) -> bool {
    let (msg, sig, public) = (dir.join("vmsg"), dir.join("vsig"), dir.join("pub.pem"));
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, der).unwrap();
    run(Command::new("openssl")
        .args(["pkey", "-pubout", "-out"])
        .arg(&public)
        .arg("-in")
        .arg(key));
    Command::new("openssl")
        .args(["dgst", "-sm3", "-verify"])
        .arg(&public)
        .args(["-sigopt", &format!("distid:{USER_ID}"), "-signature"])
        .arg(&sig)
        .arg(&msg)
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verified OK"))
        .unwrap_or(false)
}

/// Run a Python snippet with gmssl; stdin is the JSON `args`, stdout is returned.
fn gmssl(code: &str, args: Value) -> String {
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(args.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "gmssl (pip install gmssl; scripts/install-deps.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn message(label: &str, producer: &str, id: &str) -> String {
    format!(r#""Label":"{label}","ContentProducer":"{producer}","ProduceID":"{id}""#)
}

/// SecurityData with one key and one label signature.
fn security_data(key_hex: &str, sig_hex: &str) -> String {
    json!({"SecurityData": {"Type": "TC260PG", "Version": 1, "PubSD": [
        {"Type": "PubKey", "AlgID": "1.2.156.10197.1.501", "KeyValue": key_hex},
        {"Type": "DS", "AlgID": "1.2.156.10197.1.501", "TBSData": {"Type": "Md"}, "Signature": sig_hex},
    ]}})
    .to_string()
}

fn label_json(produce_id: &str, rc1: &str) -> String {
    json!({"Label": "1", "ContentProducer": PRODUCER, "ProduceID": produce_id, "ReservedCode1": rc1,
           "ContentPropagator": PRODUCER, "PropagateID": produce_id, "ReservedCode2": ""})
    .to_string()
}

fn png(dir: &Path) -> PathBuf {
    let p = dir.join("in.png");
    run(Command::new("convert")
        .args(["-size", "8x8", "xc:#3366aa"])
        .arg(&p));
    p
}

/// Embed `json`, read it back: (file verdict, security status of the single label).
fn embed_and_read(dir: &Path, json: &str) -> (Verdict, Status) {
    let out = dir.join("out.png");
    common::embed(&png(dir), &out, json);
    let r = common::read(&out);
    assert_eq!(r.labels.len(), 1);
    (r.verdict, r.labels[0].security.status)
}

#[test]
fn openssl_signatures_verify_and_one_changed_character_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (key, spki) = openssl_key(dir.path(), "producer");
    let der = openssl_sign(dir.path(), &key, &message("1", PRODUCER, PRODUCE_ID));
    let rc1 = security_data(&hex(&spki), &hex(&der).to_uppercase());
    assert_eq!(
        embed_and_read(dir.path(), &label_json(PRODUCE_ID, &rc1)),
        (Verdict::Valid, Status::Verified)
    );
    // The same signature with the key as the bare uncompressed point (last 65 bytes of the SPKI).
    let point = &spki[spki.len() - 65..];
    let rc1_point = security_data(&hex(point), &hex(&der));
    assert_eq!(
        embed_and_read(dir.path(), &label_json(PRODUCE_ID, &rc1_point)),
        (Verdict::Valid, Status::Verified)
    );
    // Flip one character of ProduceID after signing.
    let flipped = format!("1{}", &PRODUCE_ID[1..]);
    assert_eq!(
        embed_and_read(dir.path(), &label_json(&flipped, &rc1)),
        (Verdict::Invalid, Status::Failed)
    );
    // Another OpenSSL key in KeyValue: the signature does not verify.
    let (_, other) = openssl_key(dir.path(), "other");
    let wrong = security_data(&hex(&other), &hex(&der));
    assert_eq!(
        embed_and_read(dir.path(), &label_json(PRODUCE_ID, &wrong)),
        (Verdict::Invalid, Status::Failed)
    );
}

const GMSSL_SIGN: &str = r#"
import json, sys
from gmssl import sm2
a = json.load(sys.stdin)
pub = sm2.CryptSM2(public_key="", private_key=a["d"])._kg(int(a["d"], 16), sm2.default_ecc_table["g"])
c = sm2.CryptSM2(public_key=pub, private_key=a["d"])
sig = c.sign_with_sm3(a["m"].encode(), a["k"])
print(json.dumps({"pub": pub, "sig": sig}))
"#;

const GMSSL_VERIFY: &str = r#"
import json, sys
from gmssl import sm2
a = json.load(sys.stdin)
print(sm2.CryptSM2(public_key=a["pub"], private_key="").verify_with_sm3(a["sig"], a["m"].encode()))
"#;

#[test]
fn gmssl_raw_signatures_verify() {
    let dir = tempfile::tempdir().unwrap();
    let m = message("1", PRODUCER, PRODUCE_ID);
    let out: Value = serde_json::from_str(&gmssl(
        GMSSL_SIGN,
        json!({"d": "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
               "k": "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21", "m": m}),
    ))
    .unwrap();
    let (public, sig) = (out["pub"].as_str().unwrap(), out["sig"].as_str().unwrap());
    assert_eq!((public.len(), sig.len()), (128, 128), "x‖y and r‖s in hex");
    // gmssl's own forms: the key as raw x‖y (64 bytes), the signature as raw r‖s.
    let rc1 = security_data(public, sig);
    assert_eq!(
        embed_and_read(dir.path(), &label_json(PRODUCE_ID, &rc1)),
        (Verdict::Valid, Status::Verified)
    );
    // MiniMax's key form: the bare x padded with 00 (either y is tried).
    let minimax = security_data(&format!("00{}", &public[..64]), sig);
    assert_eq!(
        embed_and_read(dir.path(), &label_json(PRODUCE_ID, &minimax)),
        (Verdict::Valid, Status::Verified)
    );
    assert_eq!(
        embed_and_read(
            dir.path(),
            &label_json("0123456789abcdef0123456789abcdeF", &rc1)
        ),
        (Verdict::Invalid, Status::Failed)
    );
}

/// (r, s) of a DER SM2 signature as r‖s hex, for gmssl.
fn der_to_raw(der: &[u8]) -> String {
    assert_eq!(der[0], 0x30);
    let mut pos = 2;
    let mut parts = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[pos], 0x02);
        let n = der[pos + 1] as usize;
        let v = &der[pos + 2..pos + 2 + n];
        let v = if v.len() == 33 { &v[1..] } else { v };
        parts.push(format!("{:0>64}", hex(v)));
        pos += 2 + n;
    }
    parts.concat()
}

/// The (message, DER signature, key hex) of a reserved field as `read --json` reports it.
fn signature_of(report: &Value, field: &str) -> (String, Vec<u8>, String) {
    let label = &report["labels"][0];
    let slot = label["security"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .unwrap();
    assert_eq!(slot["status"], "verified", "{slot}");
    let sd: Value = serde_json::from_str(label["fields"][field].as_str().unwrap()).unwrap();
    let ds = sd["SecurityData"]["PubSD"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Type"] == "DS")
        .unwrap();
    (
        slot["signed"].as_str().unwrap().to_string(),
        unhex(ds["Signature"].as_str().unwrap()),
        slot["key"].as_str().unwrap().to_string(),
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&run(Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .args(["read", "--json"])
        .arg(path)))
    .unwrap()
}

#[test]
fn reference_signatures_verify_in_openssl_and_gmssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (producer_key, _) = openssl_key(d, "producer");
    let (platform_key, _) = openssl_key(d, "platform");
    let input = png(d);
    let signed = d.join("signed.png");
    run(Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .arg("embed")
        .arg(&input)
        .arg("-o")
        .arg(&signed)
        .args([
            "--label",
            "1",
            "--producer",
            PRODUCER,
            "--produce-id",
            PRODUCE_ID,
        ])
        .arg("--sign-key")
        .arg(&producer_key));
    let report = read_json(&signed);
    assert_eq!(report["verdict"], "valid", "{report}");
    let (m, der, key) = signature_of(&report, "ReservedCode1");
    assert_eq!(m, message("1", PRODUCER, PRODUCE_ID));
    assert!(
        openssl_verify(d, &producer_key, &m, &der),
        "OpenSSL rejects the reference's signature"
    );
    assert!(!openssl_verify(
        d,
        &producer_key,
        &m.replace(PRODUCE_ID, "x"),
        &der
    ));
    let gm = gmssl(
        GMSSL_VERIFY,
        json!({"pub": &key[2..], "sig": der_to_raw(&der), "m": m}),
    );
    assert_eq!(gm, "True", "gmssl rejects the reference's signature");

    // The platform signs its own elements in ReservedCode2; the producer's signature stays.
    let published = d.join("published.png");
    run(Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .arg("propagate")
        .arg(&signed)
        .arg("-o")
        .arg(&published)
        .args(["--propagator", PLATFORM, "--propagate-id", "p-42"])
        .arg("--sign-key")
        .arg(&platform_key));
    let report = read_json(&published);
    assert_eq!(report["verdict"], "valid", "{report}");
    assert_eq!(report["labels"][0]["security"]["status"], "verified");
    signature_of(&report, "ReservedCode1");
    let (m2, der2, _) = signature_of(&report, "ReservedCode2");
    assert_eq!(
        m2,
        format!(r#""Label":"1","ContentPropagator":"{PLATFORM}","PropagateID":"p-42""#)
    );
    assert!(openssl_verify(d, &platform_key, &m2, &der2));

    // A tampered copy: PropagateID changed after signing -> failed, invalid.
    let mut fields = report["labels"][0]["fields"].clone();
    fields["PropagateID"] = json!("p-43");
    let tampered = d.join("tampered.png");
    common::embed(&published, &tampered, &fields.to_string());
    let r = common::read(&tampered);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.labels[0].security.status, Status::Failed);
    assert!(r.labels[0]
        .problems
        .iter()
        .any(|p| p.code == aigc_label::ProblemCode::SecuritySignatureFailed));
}

#[test]
fn sign_key_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let input = png(dir.path());
    let not_a_key = dir.path().join("k.pem");
    std::fs::write(
        &not_a_key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .arg("embed")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("o.png"))
        .args([
            "--label",
            "1",
            "--producer",
            PRODUCER,
            "--produce-id",
            "1",
            "--sign-key",
        ])
        .arg(&not_a_key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("k.pem") && err.contains("PKCS#8"), "{err}");
    assert!(!dir.path().join("o.png").exists());
}

#[test]
fn a_second_platform_replaces_the_first_platforms_signature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (platform_key, _) = openssl_key(d, "platform");
    let labelled = d.join("labelled.png");
    common::embed(&png(d), &labelled, &label_json(PRODUCE_ID, ""));
    let first = d.join("first.png");
    let second = d.join("second.png");
    let propagate = |input: &Path, output: &Path, id: &str, key: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aigc-label"));
        cmd.arg("propagate").arg(input).arg("-o").arg(output).args([
            "--force",
            "--propagator",
            PLATFORM,
            "--propagate-id",
            id,
        ]);
        if let Some(k) = key {
            cmd.arg("--sign-key").arg(k);
        }
        run(&mut cmd);
        read_json(output)
    };
    let r = propagate(&labelled, &first, "p-1", Some(&platform_key));
    assert_eq!(
        r["labels"][0]["security"]["fields"][1]["status"],
        "verified"
    );
    // A later platform without a key: the first platform's signature over PropagateID p-1 would
    // fail against p-2, so it is not carried over.
    let r = propagate(&first, &second, "p-2", None);
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(r["labels"][0]["fields"]["ReservedCode2"], "");
    assert_eq!(r["labels"][0]["security"]["status"], "absent");
}
