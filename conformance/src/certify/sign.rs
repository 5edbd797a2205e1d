//! The signature of a report folder: `manifest.json` (SHA-256 of every report file, of the
//! canonical JSON of report.json, and of every file of the vectors folder the run used) and
//! `report.sig`, an SM2-with-SM3 signature over the exact bytes of `manifest.json`.
//!
//! `report.sig` is three lines, so that every byte of it is checked:
//! `SM2-SM3 <user id>`, the signer's public key (uncompressed SEC1, lower-case hex), the
//! signature (DER, lower-case hex).

use serde_json::{json, Map, Value};
use sm2::dsa::signature::Signer;
use sm2::dsa::{Signature, SigningKey};
use std::path::Path;

use super::keys;
use crate::release::canonical_json;

/// Name of the manifest file.
pub const MANIFEST: &str = "manifest.json";
/// Name of the signature file.
pub const SIGNATURE: &str = "report.sig";
/// `format` of the manifest.
pub const MANIFEST_FORMAT: &str = "aigc-conform-signed-report-1";
/// First word of report.sig.
pub const ALGORITHM: &str = "SM2-SM3";

/// The report files a signature covers: every regular file of `dir` but the manifest and the
/// signature, sorted.
pub fn report_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == MANIFEST || name == SIGNATURE {
            continue;
        }
        if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            names.push(name);
        } else {
            return Err(format!(
                "{}: only regular files can be signed ({name} is not)",
                dir.display()
            ));
        }
    }
    names.sort();
    Ok(names)
}

/// SHA-256 of every file of the vectors folder, by path relative to it.
pub fn vector_file_hashes(vectors: &Path) -> Map<String, Value> {
    // `all_files` gives paths relative to `vectors`.
    crate::vector::all_files(vectors)
        .into_iter()
        .filter_map(|rel| {
            let sha = crate::meta::file_sha256(&vectors.join(&rel))?;
            Some((rel.to_string_lossy().into_owned(), Value::String(sha)))
        })
        .collect()
}

/// The manifest of `dir` (a written report) for the vectors folder `vectors`.
pub fn manifest(dir: &Path, vectors: &Path) -> Result<Value, String> {
    let report_path = dir.join("report.json");
    let text = std::fs::read_to_string(&report_path)
        .map_err(|e| format!("{}: {e}", report_path.display()))?;
    let report: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report_path.display()))?;
    let mut files = Map::new();
    for name in report_files(dir)? {
        let sha = crate::meta::file_sha256(&dir.join(&name))
            .ok_or_else(|| format!("{}: cannot be read", dir.join(&name).display()))?;
        files.insert(name, Value::String(sha));
    }
    Ok(json!({
        "format": MANIFEST_FORMAT,
        "report_id": report.pointer("/certification/report_id").cloned().unwrap_or(Value::Null),
        "report_json_canonical_sha256": crate::meta::sha256(canonical_json(&report).as_bytes()),
        "files": files,
        "vectors_sha256": report.pointer("/suite/vectors_sha256").cloned().unwrap_or(Value::Null),
        "vector_files": vector_file_hashes(vectors),
    }))
}

/// The text of report.sig.
pub fn signature_text(user_id: &str, public_hex: &str, signature_hex: &str) -> String {
    format!("{ALGORITHM} {user_id}\n{public_hex}\n{signature_hex}\n")
}

/// Sign the report in `dir` with the private key at `key`: write `manifest.json` and
/// `report.sig`.
pub fn sign_report(dir: &Path, vectors: &Path, key: &Path) -> Result<(), String> {
    let secret = keys::load_private(key)?;
    let manifest = manifest(dir, vectors)?;
    let bytes = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    let signing = SigningKey::new(keys::USER_ID, &secret)
        .map_err(|e| format!("{}: unusable SM2 key: {e}", key.display()))?;
    let signature: Signature = signing
        .try_sign(bytes.as_bytes())
        .map_err(|e| format!("SM2 signing failed: {e}"))?;
    let text = signature_text(
        keys::USER_ID,
        &keys::public_hex(&secret.public_key()),
        &crate::vector::hex(signature.to_der().as_bytes()),
    );
    write_atomic(&dir.join(MANIFEST), bytes.as_bytes())?;
    write_atomic(&dir.join(SIGNATURE), text.as_bytes())?;
    Ok(())
}

/// Write via a temporary file and rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
