//! Expected failures with governance (`--waivers FILE`): who approved a deviation, why, and
//! until when. Expired waivers are ignored (with a warning); a waived vector that passes is
//! flagged so the waiver can be removed.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One approved expected failure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The vector id.
    pub id: String,
    /// Why the failure is accepted.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// Last day it applies, `YYYY-MM-DD` (UTC).
    pub expires: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    waivers: Vec<Waiver>,
}

/// The waivers in force, and the warnings about the others.
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    /// Active waivers.
    pub active: Vec<Waiver>,
    /// Expired or malformed entries, unknown vector ids.
    pub warnings: Vec<String>,
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl Waivers {
    /// Load a waiver file; `today` is `YYYY-MM-DD` (UTC) and `known` tells whether a vector id
    /// exists. A file that cannot be parsed is an error (the run must not silently lose them).
    pub fn load(path: &Path, today: &str, known: &dyn Fn(&str) -> bool) -> Result<Waivers, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: WaiverFile =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = Waivers::default();
        for entry in file.waivers {
            if !is_date(&entry.expires) {
                w.warnings.push(format!(
                    "waiver {}: expires {:?} is not a YYYY-MM-DD date; ignored",
                    entry.id, entry.expires
                ));
            } else if entry.expires.as_str() < today {
                // ISO dates compare correctly as strings.
                w.warnings.push(format!(
                    "waiver {}: expired on {} (approved by {}); ignored",
                    entry.id, entry.expires, entry.approved_by
                ));
            } else {
                if !known(&entry.id) {
                    w.warnings
                        .push(format!("waiver {}: no vector has this id", entry.id));
                }
                w.active.push(entry);
            }
        }
        Ok(w)
    }

    /// The active waiver of a vector.
    pub fn get(&self, id: &str) -> Option<&Waiver> {
        self.active.iter().find(|w| w.id == id)
    }
}
