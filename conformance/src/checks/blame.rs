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
//! The mutant test (tests/mutants.rs) relies on this to show that a defect is found exactly
//! where it is.

use super::ids;
use crate::vector::{Notice, Op, Vector};

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
