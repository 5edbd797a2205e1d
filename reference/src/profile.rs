//! The interpretation profile: every point GB 45438-2025 leaves open, as data.
//!
//! The profile lives in `vectors/profile.yaml` (one place, versioned with the vectors) and is
//! compiled into the binary so that the reference works from any directory; `--profile FILE`
//! (and [`Profile::load`]) replaces it at run time. Code asks the profile; it never hard-codes
//! a threshold or a severity.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::label::{ProblemCode, Severity};

/// The profile text shipped with this build (`vectors/profile.yaml`).
pub const BUILTIN_PROFILE: &str = include_str!("../../vectors/profile.yaml");

/// A loaded interpretation profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile id and version, as written in the file (`id:`), for reports.
    pub id: String,
    severities: BTreeMap<String, Severity>,
    /// The whole document, for the sections that other modules read with [`Profile::section`].
    document: Value,
}

#[derive(Deserialize)]
struct SeverityEntry {
    severity: Severity,
}

impl Profile {
    /// The profile compiled into this build. Panics only if the shipped file is malformed,
    /// which a unit test rules out.
    pub fn builtin() -> Profile {
        static BUILTIN: OnceLock<Profile> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Profile::parse(BUILTIN_PROFILE).expect("vectors/profile.yaml is valid"))
            .clone()
    }

    /// Load a profile from a YAML file.
    pub fn load(path: &Path) -> Result<Profile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Profile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse profile YAML text.
    pub fn parse(text: &str) -> Result<Profile, String> {
        let document: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("unnamed")
            .to_string();
        let mut severities = BTreeMap::new();
        if let Some(map) = document.get("severities").and_then(Value::as_object) {
            for (code, entry) in map {
                let entry: SeverityEntry = serde_json::from_value(entry.clone())
                    .map_err(|e| format!("severities.{code}: {e}"))?;
                severities.insert(code.clone(), entry.severity);
            }
        }
        for code in ProblemCode::ALL {
            if !severities.contains_key(code.as_str()) {
                return Err(format!("severities: no entry for problem code {code}"));
            }
        }
        Ok(Profile {
            id,
            severities,
            document,
        })
    }

    /// The severity the profile gives a problem code.
    pub fn severity(&self, code: ProblemCode) -> Severity {
        self.severities
            .get(code.as_str())
            .copied()
            .unwrap_or(Severity::Error)
    }

    /// A typed section of the profile by dotted path, e.g. `explicit.image`.
    pub fn section<T: DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let mut node = &self.document;
        for part in path.split('.') {
            node = node
                .get(part)
                .ok_or_else(|| format!("profile {}: no section {path}", self.id))?;
        }
        serde_json::from_value(node.clone())
            .map_err(|e| format!("profile {} section {path}: {e}", self.id))
    }

    /// The raw profile document (for reports that show the profile in force).
    pub fn document(&self) -> &Value {
        &self.document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profile_parses_and_covers_every_problem_code() {
        let p = Profile::parse(BUILTIN_PROFILE).unwrap();
        assert_eq!(p.severity(ProblemCode::LabelValue), Severity::Error);
        assert_eq!(p.severity(ProblemCode::Charset), Severity::Warning);
    }

    #[test]
    fn missing_code_is_rejected() {
        let err =
            Profile::parse("id: x\nseverities:\n  not-json: {severity: error}\n").unwrap_err();
        assert!(err.contains("no entry for problem code"), "{err}");
    }
}
