//! Which requirement a failed check counts against.
//!
//! A vector names the requirements it exercises, but one vector can exercise several (a label
//! vector checks the carrier, the Annex E values and 6.1 c at once). Charging every failure to
//! all of them would blur the report: an implementation that writes Label "4" would "fail"
//! the carrier requirement too. So each failed check is attributed:
//!
//! 1. an explicit override in the vector's `blame:` map (exact check name, then its prefix,
//!    e.g. `output.fields.ContentPropagator`, then `output.fields`);
//! 2. otherwise the check's own candidates (the requirement that the check is about: the Annex E
//!    element of a field, 6.1 c for a second label, the Art. 6 case of a notice, the requirement
//!    whose `problem_codes` include what the reference found in the output), narrowed to the
//!    vector's requirements when they intersect;
//! 3. otherwise the vector's requirements.
//!
//! One exception keeps reader and judge in step (issue 19): a label the reference reads as
//! invalid, conflict or unlabeled is charged, without narrowing, to every requirement whose
//! `problem_codes` list a problem the profile grades `error` (always a mandatory clause among
//! them), and a problem graded lower never to a mandatory one ([`Charges`]).
//!
//! The mutant test (tests/mutants.rs) relies on this to show that a defect is found exactly
//! where it is.

use std::collections::HashMap;

use super::ids;
use crate::vector::{Kind, Level, Notice, Op, Requirement, Vector, Verdict};
use aigc_label::{ProblemCode, Profile, Severity};

/// A failed check: what is wrong, and the requirements it counts against.
#[derive(Debug, Clone)]
pub struct Finding {
    /// For the report.
    pub text: String,
    /// Requirement ids.
    pub blame: Vec<String>,
}

impl Finding {
    /// A finding with its attribution.
    pub fn new(text: impl Into<String>, blame: Vec<String>) -> Finding {
        Finding {
            text: text.into(),
            blame,
        }
    }
}

/// The requirements a failure of `check` counts against, given the check's own candidates.
pub fn of(v: &Vector, check: &str, candidates: &[&str]) -> Vec<String> {
    let mut key = check;
    loop {
        if let Some(ids) = v.blame.get(key) {
            return ids.clone();
        }
        match key.rfind('.') {
            Some(i) => key = &key[..i],
            None => break,
        }
    }
    if candidates.is_empty() {
        return v.requirements.clone();
    }
    let inside: Vec<String> = candidates
        .iter()
        .filter(|c| v.requirements.iter().any(|r| r == *c))
        .map(|c| c.to_string())
        .collect();
    if inside.is_empty() {
        candidates.iter().map(|c| c.to_string()).collect()
    } else {
        inside
    }
}

/// The Measures Art. 6 case a notice level belongs to.
pub fn notice_candidates(n: Notice) -> &'static [&'static str] {
    match n {
        Notice::Is => &[ids::CAC_6_1],
        Notice::Possibly => &[ids::CAC_6_2],
        Notice::Suspected => &[ids::CAC_6_3],
        Notice::None => &[],
    }
}

/// The requirement an output field is about: for a generator, the Annex E element; for a
/// platform, Art. 10 ¶2 (producer elements kept) or Art. 6 ¶2 (propagation elements added).
pub fn field_candidates(op: Op, key: &str, notice: Option<Notice>) -> Vec<&'static str> {
    match op {
        Op::Propagate => match key {
            "Label" => notice.map(notice_candidates).unwrap_or(&[]).to_vec(),
            "ContentProducer" | "ProduceID" | "ReservedCode1" => vec![ids::CAC_10_2],
            "ContentPropagator" | "PropagateID" | "ReservedCode2" => vec![ids::CAC_6_P2],
            _ => vec![],
        },
        _ => match key {
            "Label" => vec![ids::E_C],
            "ContentProducer" => vec![ids::E_D],
            "ProduceID" => vec![ids::E_E],
            "ReservedCode1" => vec![ids::E_F],
            "ContentPropagator" => vec![ids::E_G],
            "PropagateID" => vec![ids::E_H],
            "ReservedCode2" => vec![ids::E_I],
            _ => vec![],
        },
    }
}

/// What a problem the reference finds is charged to, and at which level: the catalogue's
/// `problem_codes` (vectors/requirements.yaml) read through the profile's severity of the code.
///
/// The one rule of issue 19: the reader's severity and the judge's level come from the same
/// profile entry. A problem the profile grades `error` (the reference reads the label as
/// invalid) is charged to every requirement listing it, among them at least one mandatory
/// clause (lint, tests/rules.rs); a problem graded lower is charged only to the non-mandatory
/// ones, so a deliberate lower grade can never make an implementation non-conformant.
#[derive(Debug, Clone, Default)]
pub struct Charges {
    /// Problem code → the requirements listing it, in catalogue order.
    by_code: HashMap<String, Vec<String>>,
    /// Requirement id → whether a failure of it is a non-conformance (a mandatory clause, not a
    /// suite requirement).
    binding: HashMap<String, bool>,
}

impl Charges {
    /// From the requirement catalogue.
    pub fn from_catalogue(requirements: &[Requirement]) -> Charges {
        let mut c = Charges::default();
        for r in requirements.iter().filter(|r| !r.retired) {
            c.binding.insert(
                r.id.clone(),
                r.level == Level::Mandatory && r.kind == Kind::Standard,
            );
            for code in &r.problem_codes {
                c.by_code
                    .entry(code.clone())
                    .or_default()
                    .push(r.id.clone());
            }
        }
        c
    }

    /// Whether a failure charged to `id` makes an implementation non-conformant (a mandatory
    /// clause of the standard or the Measures; not a suite requirement).
    pub fn is_binding(&self, id: &str) -> bool {
        self.binding.get(id).copied().unwrap_or(false)
    }

    /// The requirements a problem with `code`, graded `severity` by the profile, is charged to.
    pub fn charge(&self, code: &str, severity: Severity) -> Vec<String> {
        let all = self.by_code.get(code).cloned().unwrap_or_default();
        if severity == Severity::Error {
            all
        } else {
            all.into_iter().filter(|id| !self.is_binding(id)).collect()
        }
    }

    /// The mandatory requirements listing `code` (empty: the catalogue breaks the rule).
    pub fn mandatory_homes(&self, code: &str) -> Vec<String> {
        self.charge(code, Severity::Error)
            .into_iter()
            .filter(|id| self.is_binding(id))
            .collect()
    }
}

/// The read verdict a vector marked `profile_choice` expects under `profile`: `invalid`
/// (`conflict` when conflicting-labels is among the codes) once one of its problem codes is
/// graded `error`, else `valid`. None when the choice names no problem code (only profile keys
/// such as `platform.unknown_producer`, shown in reports but not deciding a verdict).
pub fn profile_verdict(v: &Vector, profile: &Profile) -> Option<Verdict> {
    let codes: Vec<ProblemCode> = v
        .profile_choice
        .iter()
        .filter_map(|n| problem_code(n))
        .collect();
    if codes.is_empty() {
        return None;
    }
    let mut verdict = Verdict::Valid;
    for code in codes {
        if profile.severity(code) == Severity::Error {
            if code == ProblemCode::ConflictingLabels {
                return Some(Verdict::Conflict);
            }
            verdict = Verdict::Invalid;
        }
    }
    Some(verdict)
}

/// A problem code by its kebab-case name.
pub fn problem_code(name: &str) -> Option<ProblemCode> {
    ProblemCode::ALL.into_iter().find(|c| c.as_str() == name)
}
