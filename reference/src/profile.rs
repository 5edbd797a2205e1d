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

use crate::problem::{Problem, ProblemCode, Severity};

/// The profile text shipped with this build (`vectors/profile.yaml`).
pub const BUILTIN_PROFILE: &str = include_str!("../../vectors/profile.yaml");

/// Why a profile could not be loaded or a section of it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// The text is not a valid profile (YAML syntax, a missing severity, a section of the
    /// wrong shape), in words.
    Invalid(String),
    /// A profile file could not be read or is invalid.
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        what: String,
    },
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::Invalid(what) => write!(f, "{what}"),
            ProfileError::File { path, what } => write!(f, "{}: {what}", path.display()),
        }
    }
}

impl std::error::Error for ProfileError {}

/// Serialised as its message (reports and protocol answers carry errors as text).
impl serde::Serialize for ProfileError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// For callers that report errors as text (the CLI, the harness).
impl From<ProfileError> for String {
    fn from(e: ProfileError) -> String {
        e.to_string()
    }
}

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

    /// Load a profile from a YAML file: a regular file of at most
    /// [`MAX_METADATA_BYTES`](crate::limits::MAX_METADATA_BYTES), read once. A FIFO, a device
    /// or a sparse giant named as the profile (by a user, or planted in a vectors folder) is
    /// refused at once rather than blocking or filling memory.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let in_file = |what: String| ProfileError::File {
            path: path.to_path_buf(),
            what,
        };
        let bytes =
            crate::io::read_regular_file(path, crate::limits::MAX_METADATA_BYTES, "a profile")
                .map_err(|e| in_file(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            in_file(format!(
                "not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Profile::parse(&text).map_err(|e| in_file(e.to_string()))
    }

    /// Parse profile YAML text.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let document: Value =
            serde_saphyr::from_str(text).map_err(|e| ProfileError::Invalid(e.to_string()))?;
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("unnamed")
            .to_string();
        let mut severities = BTreeMap::new();
        if let Some(map) = document.get("severities").and_then(Value::as_object) {
            for (code, entry) in map {
                let entry: SeverityEntry = serde_json::from_value(entry.clone())
                    .map_err(|e| ProfileError::Invalid(format!("severities.{code}: {e}")))?;
                severities.insert(code.clone(), entry.severity);
            }
        }
        for code in ProblemCode::ALL {
            if !severities.contains_key(code.as_str()) {
                return Err(ProfileError::Invalid(format!(
                    "severities: no entry for problem code {code}"
                )));
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
    pub fn section<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProfileError> {
        let mut node = &self.document;
        for part in path.split('.') {
            node = node.get(part).ok_or_else(|| {
                ProfileError::Invalid(format!("profile {}: no section {path}", self.id))
            })?;
        }
        serde_json::from_value(node.clone())
            .map_err(|e| ProfileError::Invalid(format!("profile {} section {path}: {e}", self.id)))
    }

    /// The raw profile document (for reports that show the profile in force).
    pub fn document(&self) -> &Value {
        &self.document
    }
}

// Defined here rather than in `problem` so that `problem` does not depend on the profile.
impl Problem {
    /// A problem whose severity is looked up in the profile.
    pub fn new(profile: &Profile, code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            severity: profile.severity(code),
            message: message.into(),
        }
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
        assert!(
            err.to_string().contains("no entry for problem code"),
            "{err}"
        );
    }
}
