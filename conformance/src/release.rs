//! Vector releases: the semver version of the vector set (`vectors/RELEASE`, separate from the
//! crate version; history in `vectors/CHANGELOG.md`) and a content hash per vector and per
//! requirement, so that two reports can be compared vector by vector (`aigc-conform diff`) and a
//! site can tell which stored results a new release affects (`aigc-conform impact`).
//!
//! The vector hash covers what decides the verdict: the input bytes and the manifest entry
//! (id, requirements, class, op, media, request, expectations, blame...), canonicalised as JSON
//! with sorted keys so that reformatting a manifest, moving an entry or re-ordering keys does not
//! change it, while any change of an expectation or of one input byte does.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

use crate::vector::{hex, Requirement, Suite, Vector};

/// File in the vectors folder holding the release version (one line, semver).
pub const RELEASE_FILE: &str = "RELEASE";

/// Domain tag of the vector hash; bump the digit if the hashed material ever changes.
const VECTOR_HASH_TAG: &[u8] = b"aigc-conform vector v1\0";
/// Domain tag of the requirement hash.
const REQUIREMENT_HASH_TAG: &[u8] = b"aigc-conform requirement v1\0";

/// Whether `s` is a semantic version `MAJOR.MINOR.PATCH` with an optional `-pre` tag
/// (no leading zeros, pre-release identifiers `[0-9A-Za-z-]` separated by dots).
pub fn is_semver(s: &str) -> bool {
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let number = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    parts.len() == 3 && parts.iter().all(number) && pre_ok
}

/// The release version of the vectors folder `root`, from `root/RELEASE`.
pub fn load_release(root: &Path) -> Result<String, String> {
    let path = root.join(RELEASE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let version = text.trim();
    if !is_semver(version) {
        return Err(format!(
            "{}: {version:?} is not a semantic version (MAJOR.MINOR.PATCH)",
            path.display()
        ));
    }
    Ok(version.to_string())
}

/// `value` as JSON text with every object's keys sorted and no whitespace: the canonical form
/// hashed (independent of manifest key order and YAML formatting).
pub fn canonical_json(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, &Value> = map.iter().collect();
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Length-prefixed (u64 big-endian) update, so that no two (entry, input) pairs hash alike.
fn update_framed(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// SHA-256 (hex) of one vector: its canonical manifest entry and its input's bytes.
/// `root` is the vectors folder the vector was loaded from.
pub fn vector_sha256(root: &Path, v: &Vector) -> Result<String, String> {
    let entry = serde_json::to_value(v).map_err(|e| format!("vector {}: {e}", v.id))?;
    let input = v.input_path(root);
    let bytes = std::fs::read(&input)
        .map_err(|e| format!("vector {}: input {}: {e}", v.id, input.display()))?;
    let mut h = Sha256::new();
    h.update(VECTOR_HASH_TAG);
    update_framed(&mut h, canonical_json(&entry).as_bytes());
    update_framed(&mut h, &bytes);
    Ok(hex(&h.finalize()))
}

/// SHA-256 (hex) of one requirement's catalogue entry (text, clause, level, problem codes...;
/// not its line number).
pub fn requirement_sha256(r: &Requirement) -> String {
    let entry = serde_json::to_value(r).unwrap_or(Value::Null);
    let mut h = Sha256::new();
    h.update(REQUIREMENT_HASH_TAG);
    update_framed(&mut h, canonical_json(&entry).as_bytes());
    hex(&h.finalize())
}

/// Everything that identifies a vector release: the version and the hash of every vector and
/// requirement.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ReleaseIndex {
    /// The release version (`vectors/RELEASE`), or `None` when the folder has no RELEASE file.
    pub release: Option<String>,
    /// Vector id → content hash.
    pub vectors: BTreeMap<String, String>,
    /// Vector id → requirement ids it names.
    pub vector_requirements: BTreeMap<String, Vec<String>>,
    /// Requirement id → catalogue-entry hash.
    pub requirements: BTreeMap<String, String>,
    /// SHA-256 of the whole vector tree (as `suite.vectors_sha256` of a report).
    pub tree_sha256: String,
}

impl ReleaseIndex {
    /// Index a loaded suite. A vector whose input cannot be read is an error naming it.
    pub fn of_suite(suite: &Suite) -> Result<ReleaseIndex, String> {
        let mut vectors = BTreeMap::new();
        let mut vector_requirements = BTreeMap::new();
        for v in &suite.vectors {
            vectors.insert(v.id.clone(), vector_sha256(&suite.root, v)?);
            vector_requirements.insert(v.id.clone(), v.requirements.clone());
        }
        let requirements = suite
            .requirements
            .iter()
            .map(|r| (r.id.clone(), requirement_sha256(r)))
            .collect();
        Ok(ReleaseIndex {
            release: load_release(&suite.root).ok(),
            vectors,
            vector_requirements,
            requirements,
            tree_sha256: crate::vector::tree_sha256(&suite.root),
        })
    }

    /// Load the suite at `root` and index it; load errors are refused.
    pub fn load(root: &Path) -> Result<ReleaseIndex, String> {
        let (suite, errors) = Suite::load(root);
        if let Some(e) = errors.first() {
            return Err(format!(
                "the vectors at {} do not load: {e} (run `aigc-conform lint`)",
                root.display()
            ));
        }
        Self::of_suite(&suite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn semver() {
        for ok in ["0.1.0", "1.0.0", "10.20.30", "1.0.0-rc.1", "2.0.0-alpha-2"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "1.0",
            "01.0.0",
            "1.0.0-",
            "1..0",
            "v1.0.0",
            "1.0.0-a..b",
            "",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn canonical_form_ignores_key_order_only() {
        let a = json!({"b": 1, "a": {"y": [1, "x"], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, "x"]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#);
        let c = json!({"a": {"x": null, "y": ["x", 1]}, "b": 1});
        assert_ne!(canonical_json(&a), canonical_json(&c));
    }
}
