//! What the implementation claims (its `info` answer), checked against the one list of media
//! type names in `vectors/profile.yaml` (`media:`), and summarised for every report: roles, media
//! per op, and what it did not claim (issue 10, "honest scope").

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::vector::{Op, Suite};
use aigc_label::protocol::{InfoResponse, Role};
use aigc_label::Profile;

/// The ops of protocol v1 that `info` declares media for.
const OPS: [Op; 3] = [Op::Read, Op::Label, Op::Propagate];

/// The `media:` section of the profile: the valid names and the refused other names of the same
/// formats (alias → canonical name).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MediaNames {
    /// Valid names, as the vectors spell them.
    pub types: Vec<String>,
    /// Other names of the same formats, refused with the canonical one suggested.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

impl MediaNames {
    /// The profile's `media:` section.
    pub fn of(profile: &Profile) -> Result<MediaNames, String> {
        profile
            .section("media")
            .map_err(|e| format!("{e} (vectors/profile.yaml needs the media: list)"))
    }

    /// Whether `name` is valid (media types are case-insensitive, RFC 2045).
    pub fn is_valid(&self, name: &str) -> bool {
        self.types.iter().any(|t| t.eq_ignore_ascii_case(name))
    }

    /// The valid name closest to an unknown one: its canonical name if it is a known alias, else
    /// the nearest by edit distance.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let lower = name.to_ascii_lowercase();
        if let Some((_, canonical)) = self.aliases.iter().find(|(a, _)| **a == lower) {
            return Some(canonical);
        }
        nearest(&lower, self.types.iter().map(String::as_str))
    }
}

/// Levenshtein distance (characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidate nearest to `name` by edit distance (the first on ties); `None` when the list is
/// empty.
pub fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.min_by_key(|c| edit_distance(name, &c.to_ascii_lowercase()))
}

/// " (did you mean X?)" or nothing.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default()
}

/// Refuse an `info` answer that names an unknown op or media type: a harness error naming each
/// wrong name with the nearest valid one.
pub fn check_info(info: &InfoResponse, names: &MediaNames) -> Result<(), String> {
    let mut problems = Vec::new();
    let ops: Vec<&str> = OPS.iter().map(|o| o.as_str()).collect();
    for (op, list) in &info.media {
        if !ops.contains(&op.as_str()) {
            problems.push(format!(
                "media declared for unknown op {op:?}{}",
                did_you_mean(nearest(op, ops.iter().copied()))
            ));
        }
        for m in list.iter().filter(|m| !names.is_valid(m)) {
            let hint = match names.aliases.get(&m.to_ascii_lowercase()) {
                Some(c) => format!(" ({m} is another name of {c}; declare {c})"),
                None => did_you_mean(names.suggest(m)),
            };
            problems.push(format!("{op}: unknown media type {m:?}{hint}"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the adapter's info answer names media the suite does not know:\n  {}\nthe valid names are the media.types list of vectors/profile.yaml (also in conformance/PROTOCOL.md)",
        problems.join("\n  ")
    ))
}

/// The claimed scope, as every report shows it first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClaimedScope {
    /// Roles declared.
    pub roles: Vec<String>,
    /// Media declared per op.
    pub media: BTreeMap<String, Vec<String>>,
    /// What the suite tests and the implementation did not claim, one line each (e.g. "label:
    /// role generator not claimed", "read: video/mp4 not claimed").
    pub not_claimed: Vec<String>,
}

impl ClaimedScope {
    /// From the `info` answer and the suite (the media types its vectors use, per op).
    pub fn of(info: &InfoResponse, suite: &Suite) -> ClaimedScope {
        let roles: Vec<String> = info.roles.iter().map(|r| Role::as_str(*r).into()).collect();
        let mut not_claimed = Vec::new();
        for op in OPS {
            let role = op.role();
            if !roles.iter().any(|r| r == role) {
                not_claimed.push(format!(
                    "{}: role {role} not claimed (all {} vectors not applicable)",
                    op.as_str(),
                    op.as_str()
                ));
                continue;
            }
            let declared: &[String] = info.media.get(op.as_str()).map_or(&[], |m| m);
            let used: BTreeSet<&str> = suite
                .vectors
                .iter()
                .filter(|v| v.op == op)
                .filter_map(|v| v.media.as_deref())
                .collect();
            let missing: Vec<&str> = used
                .into_iter()
                .filter(|m| !declared.iter().any(|d| d.eq_ignore_ascii_case(m)))
                .collect();
            if !missing.is_empty() {
                not_claimed.push(format!(
                    "{}: {} not claimed",
                    op.as_str(),
                    missing.join(", ")
                ));
            }
        }
        ClaimedScope {
            roles,
            media: info
                .media
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            not_claimed,
        }
    }

    /// One line per op for the text reports: "read: image/png, image/jpeg".
    pub fn media_lines(&self) -> Vec<String> {
        OPS.iter()
            .map(|op| {
                let list = self.media.get(op.as_str()).map_or(&[][..], |m| m);
                let shown = if list.is_empty() {
                    "(none)".to_string()
                } else {
                    list.join(", ")
                };
                format!("{}: {shown}", op.as_str())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> MediaNames {
        let profile = Profile::parse(aigc_label::profile::BUILTIN_PROFILE).unwrap();
        MediaNames::of(&profile).unwrap()
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("audio/mp3", "audio/mp4"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn aliases_beat_edit_distance() {
        let n = names();
        // audio/mp4 is one edit away from audio/mp3, but mp3 files are audio/mpeg.
        assert_eq!(n.suggest("audio/mp3"), Some("audio/mpeg"));
        assert_eq!(n.suggest("AUDIO/X-WAV"), Some("audio/wav"));
        assert_eq!(n.suggest("image/pgn"), Some("image/png"));
        assert!(n.is_valid("Image/PNG"));
        assert!(!n.is_valid("audio/mp3"));
    }

    #[test]
    fn every_alias_points_at_a_valid_name() {
        let n = names();
        for (alias, canonical) in &n.aliases {
            assert!(n.is_valid(canonical), "{alias} -> {canonical}");
            assert!(!n.is_valid(alias), "{alias} is both valid and an alias");
        }
    }
}
