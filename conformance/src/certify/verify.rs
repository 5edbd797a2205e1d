//! `aigc-conform verify REPORT_DIR [--key PUB] [--vectors DIR]`: check a signed report
//! offline. Every check that fails adds a line naming the file (or vector) that differs; the
//! report verifies only when there is none.

use serde_json::Value;
use sm2::dsa::signature::Verifier;
use sm2::dsa::{Signature, VerifyingKey};
use std::path::Path;

use super::keys;
use super::sign::{self, ALGORITHM, MANIFEST, MANIFEST_FORMAT, SIGNATURE};
use crate::release::canonical_json;

/// The outcome of `verify`.
#[derive(Debug, Default)]
pub struct Verification {
    /// What was checked and held.
    pub notes: Vec<String>,
    /// What differs (empty: the report verifies).
    pub problems: Vec<String>,
}

impl Verification {
    /// Whether everything held.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Parse report.sig strictly (three lines, lower-case hex); the text must be exactly what
/// signing writes, so that any changed byte is caught.
fn parse_signature_file(text: &str) -> Result<(String, String, String), String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let [head, key, sig, ""] = lines.as_slice() else {
        return Err(format!("{SIGNATURE}: not three lines"));
    };
    let Some(user_id) = head.strip_prefix(&format!("{ALGORITHM} ")) else {
        return Err(format!(
            "{SIGNATURE}: the first line is not `{ALGORITHM} <user id>`"
        ));
    };
    let lower_hex = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !lower_hex(key) || !lower_hex(sig) {
        return Err(format!(
            "{SIGNATURE}: the key or signature line is not lower-case hex"
        ));
    }
    let parsed = (user_id.to_string(), key.to_string(), sig.to_string());
    if sign::signature_text(&parsed.0, &parsed.1, &parsed.2) != text {
        return Err(format!("{SIGNATURE}: not in the form signing writes"));
    }
    Ok(parsed)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// Verify the report folder `dir`.
pub fn verify(
    dir: &Path,
    key: Option<&Path>,
    vectors: Option<&Path>,
) -> Result<Verification, String> {
    let mut v = Verification::default();
    let manifest_bytes = std::fs::read(dir.join(MANIFEST)).map_err(|e| {
        format!(
            "{}: {e} (is this a signed report?)",
            dir.join(MANIFEST).display()
        )
    })?;
    let sig_text = std::fs::read_to_string(dir.join(SIGNATURE)).map_err(|e| {
        format!(
            "{}: {e} (is this a signed report?)",
            dir.join(SIGNATURE).display()
        )
    })?;
    let (user_id, key_hex, sig_hex) = match parse_signature_file(&sig_text) {
        Ok(p) => p,
        Err(e) => {
            v.problems.push(e);
            return Ok(v);
        }
    };
    // The key: the one given, which must be the signer's; else the embedded one.
    let embedded = unhex(&key_hex).and_then(|b| sm2::PublicKey::from_sec1_bytes(&b).ok());
    let public = match key {
        Some(path) => {
            let given = keys::load_public(path)?;
            if keys::public_hex(&given) != key_hex {
                v.problems.push(format!(
                    "{SIGNATURE}: signed by key {}…, not by the key in {} ({}…)",
                    &key_hex[..key_hex.len().min(16)],
                    path.display(),
                    &keys::public_hex(&given)[..16]
                ));
            }
            Some(given)
        }
        None => {
            v.notes.push(format!(
                "no --key given: checked against the public key inside {SIGNATURE} (SHA-256 {}); pass --key to check who signed",
                crate::meta::sha256(key_hex.as_bytes())
            ));
            embedded
        }
    };
    let signature = unhex(&sig_hex).and_then(|b| Signature::from_der(&b).ok());
    match (public, signature) {
        (Some(pk), Some(sig)) => {
            let ok = VerifyingKey::new(&user_id, pk)
                .map(|vk| vk.verify(&manifest_bytes, &sig).is_ok())
                .unwrap_or(false);
            if ok {
                v.notes.push(format!(
                    "{SIGNATURE}: SM2-SM3 signature over {MANIFEST} verifies"
                ));
            } else {
                v.problems.push(format!(
                    "{SIGNATURE}: the signature does not verify over {MANIFEST} ({MANIFEST} or {SIGNATURE} was changed, or another key signed)"
                ));
            }
        }
        (None, _) => v
            .problems
            .push(format!("{SIGNATURE}: the public key is not an SM2 point")),
        (_, None) => v
            .problems
            .push(format!("{SIGNATURE}: the signature is not DER")),
    }
    let manifest: Value = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(format!("{MANIFEST}: not JSON ({e})"));
            return Ok(v);
        }
    };
    if manifest.get("format").and_then(Value::as_str) != Some(MANIFEST_FORMAT) {
        v.problems
            .push(format!("{MANIFEST}: format is not {MANIFEST_FORMAT}"));
    }
    check_report_files(dir, &manifest, &mut v);
    if let Some(vectors) = vectors {
        check_vectors(dir, vectors, &manifest, &mut v);
    }
    Ok(v)
}

/// Every report file against the manifest, and no unlisted file.
fn check_report_files(dir: &Path, manifest: &Value, v: &mut Verification) {
    let listed = manifest
        .get("files")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, want) in &listed {
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            v.problems.push(format!(
                "{MANIFEST}: file name {name:?} is not a plain name"
            ));
            continue;
        }
        match crate::meta::file_sha256(&dir.join(name)) {
            None => v
                .problems
                .push(format!("{name}: missing (listed in the signed manifest)")),
            Some(got) if Some(got.as_str()) != want.as_str() => v.problems.push(format!(
                "{name}: SHA-256 {got} differs from the signed manifest ({})",
                want.as_str().unwrap_or("?")
            )),
            Some(_) => {}
        }
    }
    match sign::report_files(dir) {
        Ok(present) => {
            for name in present.iter().filter(|n| !listed.contains_key(*n)) {
                v.problems
                    .push(format!("{name}: not in the signed manifest"));
            }
        }
        Err(e) => v.problems.push(e),
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("report.json")) {
        match serde_json::from_str::<Value>(&text) {
            Ok(report) => {
                let canonical = crate::meta::sha256(canonical_json(&report).as_bytes());
                if manifest
                    .get("report_json_canonical_sha256")
                    .and_then(Value::as_str)
                    != Some(canonical.as_str())
                {
                    v.problems
                        .push("report.json: its canonical JSON differs from the signed one".into());
                }
                if report.pointer("/certification/report_id") != manifest.get("report_id") {
                    v.problems
                        .push("report.json: report_id differs from the signed manifest".into());
                }
            }
            Err(e) => v.problems.push(format!("report.json: not JSON ({e})")),
        }
    }
    if v.problems.is_empty() {
        v.notes.push(format!(
            "{} report files match the signed manifest",
            listed.len()
        ));
    }
}

/// The vectors folder against the manifest's per-file hashes, the report's per-vector content
/// hashes, and (official runs) the instances regenerated from the recorded seed.
fn check_vectors(dir: &Path, vectors: &Path, manifest: &Value, v: &mut Verification) {
    let before = v.problems.len();
    let signed = manifest
        .get("vector_files")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let now = sign::vector_file_hashes(vectors);
    for (rel, want) in &signed {
        match now.get(rel) {
            None => v.problems.push(format!("vectors/{rel}: missing")),
            Some(got) if got != want => v.problems.push(format!(
                "vectors/{rel}: SHA-256 {} differs from the vectors the report was made with ({})",
                got.as_str().unwrap_or("?"),
                want.as_str().unwrap_or("?")
            )),
            Some(_) => {}
        }
    }
    for rel in now.keys().filter(|k| !signed.contains_key(*k)) {
        v.problems.push(format!(
            "vectors/{rel}: not in the vectors the report was made with"
        ));
    }
    let tree = crate::vector::tree_sha256(vectors);
    if manifest.get("vectors_sha256").and_then(Value::as_str) != Some(tree.as_str()) {
        v.problems.push(format!(
            "vectors folder: SHA-256 {tree} differs from the report's suite.vectors_sha256"
        ));
    }
    // Per-vector content hashes, recomputed.
    let Ok(text) = std::fs::read_to_string(dir.join("report.json")) else {
        return;
    };
    let Ok(report) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    let (mut suite, errors) = crate::vector::Suite::load(vectors);
    if !errors.is_empty() {
        v.problems
            .push(format!("vectors folder: does not load ({})", errors[0]));
        return;
    }
    let seed = report
        .pointer("/certification/seed")
        .and_then(Value::as_u64);
    let official = report
        .pointer("/certification/mode")
        .and_then(Value::as_str)
        == Some("official");
    let regenerated = tempfile_dir();
    if let (true, Some(seed), Some(tmp)) = (official, seed, &regenerated) {
        match aigc_label::Profile::load(&vectors.join("profile.yaml"))
            .map_err(|e| e.to_string())
            .and_then(|p| crate::official::instantiate(&mut suite, &p, seed, tmp))
        {
            Ok(_) => v
                .notes
                .push(format!("official instances regenerated from seed {seed}")),
            Err(e) => v.problems.push(format!(
                "official instances: cannot regenerate from seed {seed}: {e}"
            )),
        }
    }
    let mut checked = 0;
    for rv in report
        .get("vectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(want)) = (
            rv.get("id").and_then(Value::as_str),
            rv.get("content_sha256").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(vec) = suite.vectors.iter().find(|x| x.id == id) else {
            v.problems.push(format!(
                "vector {id}: not in the vectors folder (or the seed's instances)"
            ));
            continue;
        };
        match crate::release::vector_sha256(&suite.root, vec) {
            Ok(got) if got == want => checked += 1,
            Ok(got) => v.problems.push(format!(
                "vector {id} ({}): content SHA-256 {got} differs from the report's {want}",
                vec.input_path(&suite.root).display()
            )),
            Err(e) => v.problems.push(format!("vector {id}: {e}")),
        }
    }
    if let Some(tmp) = regenerated {
        let _ = std::fs::remove_dir_all(tmp);
    }
    if v.problems.len() == before {
        v.notes.push(format!(
            "{} vector files and {checked} vector content hashes match",
            signed.len()
        ));
    }
}

/// A private temporary folder for regenerated instances.
fn tempfile_dir() -> Option<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "aigc-verify-{}-{}",
        std::process::id(),
        crate::certify::new_report_id()
    ));
    std::fs::create_dir_all(&d).ok().map(|_| d)
}
