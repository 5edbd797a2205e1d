//! Verdicts per requirement and overall, graded by requirement level (vectors/FORMAT.md).

use serde::Serialize;

use crate::checks::Outcome;
use crate::vector::{Level, Requirement, Testable};

/// The verdict of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementVerdict {
    /// Every applicable vector passes.
    Pass,
    /// A vector fails (crashes and timeouts included).
    Fail,
    /// Failures, all covered by active waivers.
    Waived,
    /// Every vector is outside the implementation's declared roles/media.
    NotApplicable,
    /// No vector exists for it.
    NotTested,
    /// Procedural: an auditor judges it from evidence.
    NotTestedProcedural,
    /// It has vectors, but none was selected by the filter.
    NotRun,
    /// Retired id, listed for stability.
    Retired,
}

impl RequirementVerdict {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequirementVerdict::Pass => "pass",
            RequirementVerdict::Fail => "fail",
            RequirementVerdict::Waived => "waived",
            RequirementVerdict::NotApplicable => "not-applicable",
            RequirementVerdict::NotTested => "not-tested",
            RequirementVerdict::NotTestedProcedural => "not-tested-procedural",
            RequirementVerdict::NotRun => "not-run",
            RequirementVerdict::Retired => "retired",
        }
    }
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// No requirement fails.
    Conformant,
    /// Only recommended/permitted requirements fail, or failures are waived.
    ConformantWithObservations,
    /// A mandatory requirement fails.
    NonConformant,
}

impl Overall {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Conformant => "conformant",
            Overall::ConformantWithObservations => "conformant-with-observations",
            Overall::NonConformant => "non-conformant",
        }
    }

    /// Process exit status of `aigc-conform run`.
    pub fn exit_code(self) -> u8 {
        match self {
            Overall::NonConformant => 1,
            _ => 0,
        }
    }
}

/// What the verdict needs to know about one vector run.
#[derive(Debug, Clone, Copy)]
pub struct VectorOutcome {
    /// Its outcome.
    pub outcome: Outcome,
    /// Whether an active waiver covers a failure.
    pub waived: bool,
}

/// Verdict of one requirement from its vectors' outcomes. `has_vectors` says whether the suite
/// has any vector for it (selected or not).
pub fn requirement_verdict(
    req: &Requirement,
    has_vectors: bool,
    outcomes: &[VectorOutcome],
) -> RequirementVerdict {
    if req.retired {
        return RequirementVerdict::Retired;
    }
    if !has_vectors {
        return match req.testable {
            Testable::Procedural => RequirementVerdict::NotTestedProcedural,
            Testable::Machine => RequirementVerdict::NotTested,
        };
    }
    if outcomes.is_empty() {
        return RequirementVerdict::NotRun;
    }
    // A harness error says nothing about the implementation; it is reported, not graded.
    let graded: Vec<&VectorOutcome> = outcomes
        .iter()
        .filter(|o| o.outcome != Outcome::HarnessError)
        .collect();
    if graded.iter().any(|o| o.outcome.is_failure() && !o.waived) {
        RequirementVerdict::Fail
    } else if graded.iter().any(|o| o.outcome.is_failure()) {
        RequirementVerdict::Waived
    } else if graded.iter().all(|o| o.outcome == Outcome::NotApplicable) {
        RequirementVerdict::NotApplicable
    } else {
        RequirementVerdict::Pass
    }
}

/// Overall verdict from every requirement's level and verdict.
pub fn overall(verdicts: &[(Level, RequirementVerdict)]) -> Overall {
    if verdicts
        .iter()
        .any(|(l, v)| *l == Level::Mandatory && *v == RequirementVerdict::Fail)
    {
        Overall::NonConformant
    } else if verdicts
        .iter()
        .any(|(_, v)| matches!(v, RequirementVerdict::Fail | RequirementVerdict::Waived))
    {
        Overall::ConformantWithObservations
    } else {
        Overall::Conformant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(level: Level) -> Requirement {
        Requirement {
            id: "X".into(),
            clause: "c".into(),
            level,
            testable: Testable::Machine,
            confidence: "H".into(),
            zh: "z".into(),
            en: "e".into(),
            how: None,
            evidence: None,
            retired: false,
            note: None,
            problem_codes: Vec::new(),
            kind: Default::default(),
            line: 0,
        }
    }

    fn o(outcome: Outcome, waived: bool) -> VectorOutcome {
        VectorOutcome { outcome, waived }
    }

    #[test]
    fn grading() {
        let r = req(Level::Mandatory);
        assert_eq!(
            requirement_verdict(&r, false, &[]),
            RequirementVerdict::NotTested
        );
        assert_eq!(
            requirement_verdict(&r, true, &[]),
            RequirementVerdict::NotRun
        );
        let pass = o(Outcome::Pass, false);
        let crash = o(Outcome::Crash, false);
        let na = o(Outcome::NotApplicable, false);
        assert_eq!(
            requirement_verdict(&r, true, &[pass, na]),
            RequirementVerdict::Pass
        );
        assert_eq!(
            requirement_verdict(&r, true, &[na, na]),
            RequirementVerdict::NotApplicable
        );
        assert_eq!(
            requirement_verdict(&r, true, &[pass, crash]),
            RequirementVerdict::Fail
        );
        assert_eq!(
            requirement_verdict(&r, true, &[pass, o(Outcome::Fail, true)]),
            RequirementVerdict::Waived
        );
        use RequirementVerdict as V;
        assert_eq!(
            overall(&[(Level::Mandatory, V::Fail)]),
            Overall::NonConformant
        );
        assert_eq!(
            overall(&[(Level::Recommended, V::Fail), (Level::Mandatory, V::Pass)]),
            Overall::ConformantWithObservations
        );
        assert_eq!(overall(&[(Level::Mandatory, V::Pass)]), Overall::Conformant);
    }
}
