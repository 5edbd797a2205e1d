//! `aigc-conform lint`: check the vector tree before anyone runs it.
//!
//! Errors (the run would be wrong): unparsable or mistyped YAML, duplicate or malformed ids,
//! unknown requirement ids, missing input files, label requests without fields. Warnings
//! (coverage gaps): a machine-testable requirement without a positive and a negative vector, a
//! procedural one without evidence text. Every message names the file and, where known, the line.
//! The requirement ids the harness's own code names (`checks::ids`) must be in the catalogue too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::blame::{self, Charges};
use crate::vector::{Kind, LoadError, Op, Suite, Testable, Vector, VectorClass, Verdict};
use aigc_label::{ProblemCode, Profile};

/// Findings of a lint.
#[derive(Debug, Default)]
pub struct Lint {
    /// Problems that make the suite wrong.
    pub errors: Vec<LoadError>,
    /// Coverage gaps and style problems.
    pub warnings: Vec<LoadError>,
}

fn err(file: &Path, line: usize, message: String) -> LoadError {
    LoadError {
        file: file.to_path_buf(),
        line,
        message,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Lint the tree at `suite.root` (already loaded; `load_errors` from [`Suite::load`]).
pub fn lint(suite: &Suite, load_errors: Vec<LoadError>) -> Lint {
    let mut l = Lint {
        errors: load_errors,
        warnings: Vec::new(),
    };
    let req_file = PathBuf::from("requirements.yaml");
    let mut req_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &suite.requirements {
        if let Some(first) = req_seen.insert(&r.id, r.line) {
            l.errors.push(err(
                &req_file,
                r.line,
                format!("duplicate requirement id {} (first at line {first})", r.id),
            ));
        }
        if !["H", "M", "L"].contains(&r.confidence.as_str()) {
            l.errors.push(err(
                &req_file,
                r.line,
                format!("{}: confidence {:?} is not H, M or L", r.id, r.confidence),
            ));
        }
        if r.testable == Testable::Procedural && r.evidence.is_none() {
            l.warnings.push(err(
                &req_file,
                r.line,
                format!("{}: procedural requirement without evidence text", r.id),
            ));
        }
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for v in &suite.vectors {
        let at = |m: String| err(&v.manifest, v.line, format!("{}: {m}", v.id));
        if let Some(first) = seen.insert(&v.id, v.location()) {
            l.errors
                .push(at(format!("duplicate vector id (first at {first})")));
        }
        if !valid_id(&v.id) {
            l.errors.push(at("id must match [a-z0-9-]+".into()));
        }
        if v.requirements.is_empty() {
            l.errors.push(at("no requirement ids".into()));
        }
        for r in &v.requirements {
            match suite.requirement(r) {
                None => l.errors.push(at(format!("unknown requirement id {r}"))),
                Some(q) if q.retired => l.warnings.push(at(format!("requirement {r} is retired"))),
                _ => {}
            }
        }
        for (check, ids) in &v.blame {
            for r in ids {
                if suite.requirement(r).is_none() {
                    l.errors
                        .push(at(format!("blame {check}: unknown requirement id {r}")));
                }
            }
        }
        if !v.input_path(&suite.root).is_file() {
            l.errors.push(at(format!(
                "input file {} does not exist",
                v.input_path(&suite.root).display()
            )));
        }
        if let Some(m) = &v.media {
            if !m.contains('/') {
                l.errors.push(at(format!(
                    "media {m:?} is not a media type (type/subtype)"
                )));
            }
        }
        if v.op == Op::Label && !v.request.contains_key("fields") {
            l.errors
                .push(at("label vector without request.fields".into()));
        }
        l.errors.extend(check_explicit_keys(v).into_iter().map(&at));
        if let Some(codes) = &v.expect.problems {
            if v.op != Op::Read {
                l.errors
                    .push(at("expect.problems applies to read vectors".into()));
            }
            for c in codes {
                if !aigc_label::ProblemCode::ALL.iter().any(|k| k.as_str() == c) {
                    l.errors.push(at(format!(
                        "expect.problems: {c:?} is not a problem code of the reference \
                         (vectors/profile.yaml problems:)"
                    )));
                }
            }
        }
        if v.op == Op::Read && v.expect.output.is_some() {
            l.errors
                .push(at("expect.output applies to label/propagate vectors".into()));
        }
        if v.op != Op::Read && (v.expect.verdict.is_some() || v.expect.labels.is_some()) {
            l.errors.push(at(
                "expect.verdict/labels apply to read vectors (use expect.output)".into(),
            ));
        }
    }
    for r in suite.requirements.iter().filter(|r| !r.retired) {
        let classes: Vec<VectorClass> = suite
            .vectors
            .iter()
            .filter(|v| v.requirements.contains(&r.id))
            .map(|v| v.class)
            .collect();
        if r.kind == Kind::Suite {
            // A suite requirement is about how an implementation behaves (damaged files, grading),
            // not about a label being right or wrong: any vector will do.
            if r.testable == Testable::Machine && classes.is_empty() {
                l.warnings.push(err(
                    &req_file,
                    r.line,
                    format!(
                        "{}: machine-testable suite requirement without a vector",
                        r.id
                    ),
                ));
            }
        } else if r.testable == Testable::Machine {
            let pos = classes.contains(&VectorClass::Positive);
            let neg = classes.contains(&VectorClass::Negative);
            if !pos || !neg {
                l.warnings.push(err(
                    &req_file,
                    r.line,
                    format!(
                        "{}: machine-testable but has {} positive and {} negative vectors (needs at least one of each)",
                        r.id,
                        if pos { "some" } else { "no" },
                        if neg { "some" } else { "no" }
                    ),
                ));
            }
        }
    }
    let profile = Profile::load(&suite.root.join("profile.yaml")).unwrap_or_else(|e| {
        l.errors
            .push(err(Path::new("profile.yaml"), 0, format!("profile: {e}")));
        Profile::builtin()
    });
    l.errors.extend(check_one_rule(suite, &profile));
    l.errors
        .extend(check_code_ids(suite, crate::checks::ids::ALL));
    l.errors.extend(check_reference_ids(
        suite,
        aigc_label::explicit::requirements::ALL,
    ));
    l
}

/// The one rule of issue 19, as lint errors: every problem code the reference can report has a
/// mandatory clause among the requirements listing it (so an error is never only an
/// observation), the catalogue names no unknown code, a read vector that expects a label to be
/// rejected (`invalid`, `conflict`, `unlabeled`) names a mandatory clause, and a vector's
/// `profile_choice` names known codes or profile keys and agrees with the profile's grading.
pub fn check_one_rule(suite: &Suite, profile: &Profile) -> Vec<LoadError> {
    let req_file = Path::new("requirements.yaml");
    let mut errors = Vec::new();
    let charges = Charges::from_catalogue(&suite.requirements);
    for r in &suite.requirements {
        for code in &r.problem_codes {
            if blame::problem_code(code).is_none() {
                errors.push(err(
                    req_file,
                    r.line,
                    format!(
                        "{}: problem code {code} is not a reference problem code",
                        r.id
                    ),
                ));
            }
        }
    }
    for code in ProblemCode::ALL {
        if charges.mandatory_homes(code.as_str()).is_empty() {
            errors.push(err(
                req_file,
                0,
                format!(
                    "problem code {code} is listed by no mandatory requirement: graded error, it would make an output invalid that no clause judges non-conformant"
                ),
            ));
        }
    }
    for v in &suite.vectors {
        errors.extend(check_vector_rule(v, &charges, profile));
    }
    errors
}

fn check_vector_rule(v: &Vector, charges: &Charges, profile: &Profile) -> Vec<LoadError> {
    let at = |m: String| err(&v.manifest, v.line, format!("{}: {m}", v.id));
    let mut errors = Vec::new();
    for name in &v.profile_choice {
        let known = blame::problem_code(name).is_some()
            || profile.section::<serde_json::Value>(name).is_ok();
        if !known {
            errors.push(at(format!(
                "profile_choice {name} is neither a problem code nor a key of the profile"
            )));
        }
    }
    if v.op == Op::Read {
        if let (Some(choice), Some(written)) =
            (blame::profile_verdict(v, profile), v.expect.verdict)
        {
            if choice != written {
                errors.push(at(format!(
                    "expect.verdict {written:?} disagrees with the profile's grading of {} ({choice:?})",
                    v.profile_choice.join(", ")
                )));
            }
        }
        let rejects = matches!(
            v.expect.verdict,
            Some(Verdict::Invalid | Verdict::Conflict | Verdict::Unlabeled)
        );
        if rejects && !v.requirements.iter().any(|r| charges.is_binding(r)) {
            errors.push(at(format!(
                "expects {:?} but names no mandatory clause: a reader that accepts it would only be an observation (issue 19)",
                v.expect.verdict.unwrap_or(Verdict::Invalid)
            )));
        }
    }
    errors
}

/// `expect.output.explicit` keys the oracle would not compare for the vector's media (so the
/// expectation would only look asserted), and a voice prompt asked for without its text (the
/// checker needs the words: there is no packaged Mandarin recogniser). One message each.
pub fn check_explicit_keys(v: &crate::vector::Vector) -> Vec<String> {
    use crate::checks::oracle::{explicit_key_requirement, EXPLICIT_STEERING_KEYS};
    let Some(want) = v.expect.output.as_ref().and_then(|o| o.explicit.as_ref()) else {
        return Vec::new();
    };
    let modality = v
        .media
        .as_deref()
        .and_then(|m| m.split('/').next())
        .unwrap_or("");
    let mut out = Vec::new();
    if let Ok(serde_json::Value::Object(keys)) = serde_json::to_value(want) {
        for key in keys.keys() {
            if !EXPLICIT_STEERING_KEYS.contains(&key.as_str())
                && explicit_key_requirement(key, modality).is_none()
            {
                out.push(format!(
                    "expect.output.explicit.{key} is not compared by the oracle for {modality} \
                     (remove it, or add its comparison in checks/oracle.rs)"
                ));
            }
        }
    }
    let asks_voice = v
        .request
        .get("explicit")
        .and_then(|e| e.get("kind"))
        .and_then(|k| k.as_str())
        == Some("voice")
        || want.audio_label == Some(crate::vector::AudioLabel::Voice);
    let request_text = v
        .request
        .get("explicit")
        .and_then(|e| e.get("text"))
        .and_then(|t| t.as_str());
    if asks_voice && want.voice_text.is_none() && request_text.is_none() {
        out.push(
            "a voice prompt is asked for without its text (request.explicit.text or \
             expect.output.explicit.voice_text): GB-5.3-b/e cannot be judged"
                .into(),
        );
    }
    if v.request
        .get("explicit")
        .and_then(|e| e.get("rounds"))
        .is_some()
    {
        let parsed: Option<Vec<[f64; 2]>> =
            v.explicit_rounds().and_then(|rs| rs.into_iter().collect());
        match parsed {
            Some(rs) if !rs.is_empty() => {
                if let Err(e) = aigc_label::explicit::audio::check_rounds(&rs, f64::INFINITY) {
                    out.push(format!("request.explicit.rounds: {e}"));
                }
            }
            _ => out.push(
                "request.explicit.rounds must be a non-empty list of [start, end] seconds".into(),
            ),
        }
        if !v.requirements.iter().any(|r| r == "GB-5.3-d") {
            out.push(
                "request.explicit.rounds are judged under GB-5.3-d (note 3): the vector must \
                 name it"
                    .into(),
            );
        }
    }
    out
}

/// Requirement ids named in code (`ids`, from `checks::ids`) that the catalogue lacks or has
/// retired: each is an error naming the constants' file.
pub fn check_code_ids(suite: &Suite, ids: &[&str]) -> Vec<LoadError> {
    check_ids_in(
        suite,
        "conformance/src/checks/ids.rs",
        "the harness's code",
        ids,
    )
}

/// Requirement ids named in the reference's explicit-label verdicts (`ids`, from
/// `aigc_label::explicit::requirements`) that the catalogue lacks or has retired.
pub fn check_reference_ids(suite: &Suite, ids: &[&str]) -> Vec<LoadError> {
    check_ids_in(
        suite,
        "reference/src/explicit/requirements.rs",
        "the reference's explicit-label code",
        ids,
    )
}

/// Each id of `ids` (constants in `file`, used by `user`) that the catalogue lacks or has
/// retired, as an error naming `file`.
fn check_ids_in(suite: &Suite, file: &str, user: &str, ids: &[&str]) -> Vec<LoadError> {
    let file = Path::new(file);
    ids.iter()
        .filter_map(|id| match suite.requirements.iter().find(|r| r.id == *id) {
            None => Some(format!(
                "requirement id {id} is used by {user} but is not in requirements.yaml"
            )),
            Some(r) if r.retired => Some(format!(
                "requirement id {id} is used by {user} but is retired"
            )),
            Some(_) => None,
        })
        .map(|m| err(file, 0, m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_keys_not_compared_and_voice_without_text_fail_lint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let (suite, errors) = Suite::load(&root);
        assert!(errors.is_empty(), "{errors:?}");
        // Every requirement a key is charged to is in the catalogue.
        let keys = [
            "present",
            "wording",
            "place",
            "line",
            "position",
            "text_height_px",
            "min_height_ratio",
            "height_ok",
            "audio_label",
            "pattern",
            "speech_rate_chars_per_min",
            "speech_rate_ok",
            "first_shown_s",
            "shown_from_start_s",
            "min_shown_from_start_s",
            "start_ok",
            "duration_ok",
        ];
        for key in keys {
            let mut used = 0;
            for m in ["text", "image", "audio", "video"] {
                if let Some(r) = crate::checks::oracle::explicit_key_requirement(key, m) {
                    assert!(suite.requirement(r).is_some(), "{key} {m}: {r}");
                    used += 1;
                }
            }
            assert!(used > 0, "{key} is compared for no modality");
        }
        // The shipped vectors are clean.
        for v in &suite.vectors {
            assert!(
                check_explicit_keys(v).is_empty(),
                "{}: {:?}",
                v.id,
                check_explicit_keys(v)
            );
        }
        let voice = suite
            .vectors
            .iter()
            .find(|v| v.id == "explicit-label-audio-voice")
            .expect("voice vector");
        // A calibration-only key, and a key of another modality, are rejected.
        let mut bad = voice.clone();
        let e = bad
            .expect
            .output
            .as_mut()
            .unwrap()
            .explicit
            .as_mut()
            .unwrap();
        e.ocr = Some(true);
        e.min_height_ratio = Some(0.05);
        let found = check_explicit_keys(&bad);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found.iter().any(|m| m.contains("explicit.ocr")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|m| m.contains("min_height_ratio")),
            "{found:?}"
        );
        // A voice prompt without its text anywhere is rejected.
        let mut mute = voice.clone();
        mute.expect
            .output
            .as_mut()
            .unwrap()
            .explicit
            .as_mut()
            .unwrap()
            .voice_text = None;
        if let Some(serde_json::Value::Object(e)) = mute.request.get_mut("explicit") {
            e.remove("text");
        }
        let found = check_explicit_keys(&mute);
        assert!(
            found.iter().any(|m| m.contains("without its text")),
            "{found:?}"
        );
    }

    /// `request.explicit.rounds` is parsed once (`Vector::explicit_rounds`): lint refuses a
    /// list with any malformed or out-of-order entry, or a vector that does not name GB-5.3-d;
    /// the oracle judges the well-formed entries.
    #[test]
    fn malformed_interaction_rounds_fail_lint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let (suite, errors) = Suite::load(&root);
        assert!(errors.is_empty(), "{errors:?}");
        let v = suite
            .vectors
            .iter()
            .find(|v| v.id == "explicit-label-audio-rounds")
            .expect("rounds vector");
        let good = v.explicit_rounds().expect("rounds");
        assert_eq!(good.len(), 3);
        assert!(good.iter().all(Option::is_some));
        let with = |rounds: serde_json::Value| {
            let mut bad = v.clone();
            if let Some(serde_json::Value::Object(e)) = bad.request.get_mut("explicit") {
                e.insert("rounds".into(), rounds);
            }
            bad
        };
        for rounds in [
            serde_json::json!([[1.5, 6.4], ["7.9", 12.4]]),
            serde_json::json!([[1.5]]),
            serde_json::json!([]),
            serde_json::json!("1.5-6.4"),
            serde_json::json!([[6.4, 1.5]]),
            serde_json::json!([[1.0, 5.0], [4.0, 8.0]]),
        ] {
            let found = check_explicit_keys(&with(rounds.clone()));
            assert!(
                found.iter().any(|m| m.contains("request.explicit.rounds")),
                "{rounds}: {found:?}"
            );
        }
        // One malformed entry: the oracle keeps the other.
        let partial = with(serde_json::json!([[1.5, 6.4], ["7.9", 12.4]]));
        let parsed = partial.explicit_rounds().expect("a list");
        assert_eq!(parsed, vec![Some([1.5, 6.4]), None]);
        let mut unnamed = v.clone();
        unnamed.requirements.retain(|r| r != "GB-5.3-d");
        assert!(check_explicit_keys(&unnamed)
            .iter()
            .any(|m| m.contains("GB-5.3-d")));
    }

    #[test]
    fn a_misspelt_id_in_code_fails_lint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let (suite, errors) = Suite::load(&root);
        assert!(errors.is_empty(), "{errors:?}");
        // The ids the code uses are all known: lint is clean of code-id errors.
        assert!(check_code_ids(&suite, crate::checks::ids::ALL).is_empty());
        // One misspelt id (as a constant would carry it) is an error naming the file.
        let found = check_code_ids(&suite, &["GB-6.1-c", "GB-6.1-cc"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().contains("GB-6.1-cc"), "{}", found[0]);
        assert!(
            found[0].to_string().contains("checks/ids.rs"),
            "{}",
            found[0]
        );
        // And through the whole lint: a catalogue without an id the code uses fails.
        let mut short = suite.clone();
        short
            .requirements
            .retain(|r| r.id != crate::checks::ids::GB_6_1_C);
        let l = lint(&short, Vec::new());
        assert!(
            l.errors.iter().any(|e| e.message.contains("GB-6.1-c")),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn a_misspelt_id_in_the_references_explicit_code_fails_lint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let (suite, errors) = Suite::load(&root);
        assert!(errors.is_empty(), "{errors:?}");
        let ids = aigc_label::explicit::requirements::ALL;
        // The ids the reference's verdicts use are all known, and there are as many as it names.
        assert!(check_reference_ids(&suite, ids).is_empty());
        assert!(ids.len() >= 17, "{ids:?}");
        // A misspelt id in that list is an error naming the reference's constants file.
        let mut misspelt = ids.to_vec();
        misspelt.push("GB-5.2-bb");
        let found = check_reference_ids(&suite, &misspelt);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().contains("GB-5.2-bb"), "{}", found[0]);
        assert!(
            found[0]
                .to_string()
                .contains("reference/src/explicit/requirements.rs"),
            "{}",
            found[0]
        );
        // And through the whole lint: a catalogue without an id the verdicts use fails.
        let mut short = suite.clone();
        short
            .requirements
            .retain(|r| r.id != aigc_label::explicit::requirements::GB_5_2_B);
        let l = lint(&short, Vec::new());
        assert!(
            l.errors.iter().any(|e| e.message.contains("GB-5.2-b")
                && e.to_string().contains("explicit/requirements.rs")),
            "{:?}",
            l.errors
        );
    }
}
