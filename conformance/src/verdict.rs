//! Verdicts per requirement and overall, graded by requirement level (vectors/FORMAT.md).

use serde::Serialize;

use crate::checks::Outcome;
use crate::vector::{Level, Requirement, Testable};

/// The verdict of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementVerdict {
    /// No applicable vector fails, and at least one measured it and found it met.
    Pass,
    /// A mandatory (应) requirement: an applicable vector fails (crashes and timeouts included).
    Fail,
    /// A recommended (宜) or permitted (可) requirement: an applicable vector fails. Reported as
    /// an observation, not a failure (the standard does not oblige it).
    Observation,
    /// Failures, all covered by active waivers.
    Waived,
    /// No failure, but a vector behind it hit a harness error: its evidence is incomplete.
    Incomplete,
    /// Every vector is outside the implementation's declared roles/media.
    NotApplicable,
    /// Nothing measured it: no vector exists for it, or its vectors ran and the oracle could not
    /// judge it on any (each was inconclusive for it, e.g. a symbol-only text prompt).
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
            RequirementVerdict::Observation => "observation",
            RequirementVerdict::Waived => "waived",
            RequirementVerdict::Incomplete => "incomplete",
            RequirementVerdict::NotApplicable => "not-applicable",
            RequirementVerdict::NotTested => "not-tested",
            RequirementVerdict::NotTestedProcedural => "not-tested-procedural",
            RequirementVerdict::NotRun => "not-run",
            RequirementVerdict::Retired => "retired",
        }
    }

    /// Whether the verdict rests on at least one measurement of the implementation.
    pub fn is_measured(self) -> bool {
        matches!(
            self,
            RequirementVerdict::Pass
                | RequirementVerdict::Fail
                | RequirementVerdict::Observation
                | RequirementVerdict::Waived
        )
    }
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// Every vector of the suite was selected, and no requirement fails.
    Conformant,
    /// Only recommended/permitted requirements fail (observations), or failures are waived.
    ConformantWithObservations,
    /// A mandatory requirement fails (a subset of the vectors is enough to show that).
    NonConformant,
    /// A filter or subset ran: no statement about the whole suite, whatever the results.
    Partial,
    /// A harness error kept some vectors from being judged: never conformant.
    Incomplete,
    /// Nothing was measured: no selected vector is within the claimed scope, or every one was
    /// inconclusive.
    NoVerdict,
}

impl Overall {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Conformant => "conformant",
            Overall::ConformantWithObservations => "conformant-with-observations",
            Overall::NonConformant => "non-conformant",
            Overall::Partial => "partial",
            Overall::Incomplete => "incomplete",
            Overall::NoVerdict => "no-verdict",
        }
    }

    /// Process exit status of `aigc-conform run`: 0 conformant (with or without observations),
    /// or a partial run in which every selected vector passed; 1 non-conformant, or a partial
    /// run with a failure not covered by a waiver; 2 incomplete or no verdict.
    pub fn exit_code(self, unwaived_failures: bool) -> u8 {
        match self {
            Overall::NonConformant => 1,
            Overall::Partial if unwaived_failures => 1,
            Overall::Incomplete | Overall::NoVerdict => 2,
            _ => 0,
        }
    }
}

/// What the verdict needs to know about one vector run, for one requirement.
#[derive(Debug, Clone, Copy)]
pub struct VectorOutcome {
    /// Its outcome for the requirement (`Inconclusive` when the vector ran and did not measure
    /// it).
    pub outcome: Outcome,
    /// Whether an active waiver covers a failure.
    pub waived: bool,
}

/// Per requirement: how many of its vectors passed, failed, ... (report.json `counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequirementCounts {
    /// Measured and met.
    pub pass: usize,
    /// Failed, not waived.
    pub fail: usize,
    /// Failed, covered by a waiver.
    pub waived: usize,
    /// Outside the claimed scope.
    pub not_applicable: usize,
    /// Ran, but the oracle could not measure this requirement.
    pub inconclusive: usize,
    /// The harness could not run the vector.
    pub harness_error: usize,
}

impl RequirementCounts {
    /// Count the outcomes.
    pub fn of(outcomes: &[VectorOutcome]) -> RequirementCounts {
        let mut c = RequirementCounts::default();
        for o in outcomes {
            match o.outcome {
                Outcome::Pass => c.pass += 1,
                Outcome::NotApplicable => c.not_applicable += 1,
                Outcome::Inconclusive => c.inconclusive += 1,
                Outcome::HarnessError => c.harness_error += 1,
                _ if o.waived => c.waived += 1,
                _ => c.fail += 1,
            }
        }
        c
    }
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
    let c = RequirementCounts::of(outcomes);
    if c.fail > 0 {
        // Any applicable failure decides, whatever the other vectors say; the level decides
        // whether it is a failure or an observation.
        return match req.level {
            Level::Mandatory => RequirementVerdict::Fail,
            Level::Recommended | Level::Permitted => RequirementVerdict::Observation,
        };
    }
    if c.waived > 0 {
        RequirementVerdict::Waived
    } else if c.harness_error > 0 {
        // A harness error says nothing about the implementation, and hides what the vector
        // would have shown: never a pass, never "not applicable".
        RequirementVerdict::Incomplete
    } else if c.pass > 0 {
        RequirementVerdict::Pass
    } else if c.inconclusive > 0 {
        RequirementVerdict::NotTested
    } else {
        RequirementVerdict::NotApplicable
    }
}

/// Facts of the run besides the requirement verdicts.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFacts {
    /// A filter or subset selected fewer vectors than the suite has.
    pub partial: bool,
    /// Vectors that hit a harness error.
    pub harness_errors: usize,
}

/// Overall verdict of a whole, unfiltered run from every requirement's level and verdict.
pub fn overall(verdicts: &[(Level, RequirementVerdict)]) -> Overall {
    overall_of_run(verdicts, RunFacts::default())
}

/// Overall verdict from every requirement's level and verdict and the facts of the run.
pub fn overall_of_run(verdicts: &[(Level, RequirementVerdict)], facts: RunFacts) -> Overall {
    let any =
        |f: &dyn Fn(Level, RequirementVerdict) -> bool| verdicts.iter().any(|(l, v)| f(*l, *v));
    if any(&|l, v| l == Level::Mandatory && v == RequirementVerdict::Fail) {
        Overall::NonConformant
    } else if facts.harness_errors > 0 || any(&|_, v| v == RequirementVerdict::Incomplete) {
        Overall::Incomplete
    } else if !any(&|_, v| v.is_measured()) {
        Overall::NoVerdict
    } else if facts.partial {
        Overall::Partial
    } else if any(&|_, v| {
        matches!(
            v,
            RequirementVerdict::Fail | RequirementVerdict::Observation | RequirementVerdict::Waived
        )
    }) {
        Overall::ConformantWithObservations
    } else {
        Overall::Conformant
    }
}

/// Vector counts behind the headline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Vectors selected.
    pub selected: usize,
    /// Vectors in the suite.
    pub total: usize,
    /// Whether the selection is a subset.
    pub partial: bool,
    /// Passed.
    pub passed: usize,
    /// Failed (any failure outcome), not waived.
    pub failed: usize,
    /// Failed, waived.
    pub waived: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Inconclusive.
    pub inconclusive: usize,
    /// Harness errors.
    pub harness_errors: usize,
}

impl Tally {
    /// Count one vector's outcome.
    pub fn add(&mut self, outcome: Outcome, waived: bool) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::NotApplicable => self.not_applicable += 1,
            Outcome::Inconclusive => self.inconclusive += 1,
            Outcome::HarnessError => self.harness_errors += 1,
            _ if waived => self.waived += 1,
            _ => self.failed += 1,
        }
    }

    /// The counts that are not zero, besides passes and failures: "2 not applicable, 1 waived".
    fn others(&self) -> String {
        let parts: Vec<String> = [
            (self.waived, "waived"),
            (self.not_applicable, "not applicable"),
            (self.inconclusive, "inconclusive"),
            (self.harness_errors, "harness errors"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        parts.join(", ")
    }

    /// "3 passed, 2 failed, 1 not applicable".
    fn outcomes(&self) -> String {
        let mut s = format!("{} passed", self.passed);
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        let others = self.others();
        if !others.is_empty() {
            s.push_str(", ");
            s.push_str(&others);
        }
        s
    }
}

/// The one-line verdict every report format shows first, in both languages.
pub fn headline(o: Overall, t: &Tally) -> String {
    let run = if t.partial {
        format!("{} of {} vectors", t.selected, t.total)
    } else {
        format!("all {} vectors", t.total)
    };
    match o {
        Overall::Conformant => format!("符合 / conformant ({run}: {})", t.outcomes()),
        Overall::ConformantWithObservations => format!(
            "符合（有观察项）/ conformant with observations ({run}: {})",
            t.outcomes()
        ),
        Overall::NonConformant if t.partial => format!(
            "不符合 / non-conformant (partial run, {run}: {})",
            t.outcomes()
        ),
        Overall::NonConformant => format!("不符合 / non-conformant ({run}: {})", t.outcomes()),
        Overall::Partial if t.failed == 0 && t.passed == t.selected => {
            format!("部分运行 / partial: {run}, all passed")
        }
        Overall::Partial if t.failed == 0 => {
            format!("部分运行 / partial: {run}, none failed ({})", t.outcomes())
        }
        Overall::Partial => {
            let others = t.others();
            format!(
                "部分运行 / partial: {run}, {} failed ({} passed{}{others})",
                t.failed,
                t.passed,
                if others.is_empty() { "" } else { ", " }
            )
        }
        Overall::Incomplete => format!(
            "未完成 / incomplete: {} harness errors, no verdict ({run}: {})",
            t.harness_errors,
            t.outcomes()
        ),
        Overall::NoVerdict => format!(
            "无结论 / no verdict: nothing was measured ({run}: {})",
            t.outcomes()
        ),
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
            unmeasured: None,
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
            overall(&[
                (Level::Recommended, V::Observation),
                (Level::Mandatory, V::Pass)
            ]),
            Overall::ConformantWithObservations
        );
        assert_eq!(overall(&[(Level::Mandatory, V::Pass)]), Overall::Conformant);
    }

    #[test]
    fn one_failing_vector_among_passing_ones_fails_the_requirement() {
        let r = req(Level::Mandatory);
        let pass = o(Outcome::Pass, false);
        let outcomes = [pass, pass, o(Outcome::Fail, false), pass, pass];
        assert_eq!(
            requirement_verdict(&r, true, &outcomes),
            RequirementVerdict::Fail
        );
        let c = RequirementCounts::of(&outcomes);
        assert_eq!((c.pass, c.fail), (4, 1));
        // Whatever the order.
        let outcomes = [o(Outcome::Timeout, false), pass];
        assert_eq!(
            requirement_verdict(&r, true, &outcomes),
            RequirementVerdict::Fail
        );
    }

    #[test]
    fn permitted_and_recommended_failures_are_observations() {
        for level in [Level::Permitted, Level::Recommended] {
            let r = req(level);
            let v = requirement_verdict(
                &r,
                true,
                &[o(Outcome::Pass, false), o(Outcome::Fail, false)],
            );
            assert_eq!(v, RequirementVerdict::Observation, "{level:?}");
            assert_eq!(
                overall(&[(level, v), (Level::Mandatory, RequirementVerdict::Pass)]),
                Overall::ConformantWithObservations
            );
        }
    }

    #[test]
    fn unmeasured_is_not_tested_never_pass() {
        let r = req(Level::Mandatory);
        let inconclusive = o(Outcome::Inconclusive, false);
        let na = o(Outcome::NotApplicable, false);
        assert_eq!(
            requirement_verdict(&r, true, &[inconclusive, inconclusive, na]),
            RequirementVerdict::NotTested
        );
        // One real measurement is enough for a pass.
        assert_eq!(
            requirement_verdict(&r, true, &[inconclusive, o(Outcome::Pass, false)]),
            RequirementVerdict::Pass
        );
        let c = RequirementCounts::of(&[inconclusive, na]);
        assert_eq!((c.inconclusive, c.not_applicable, c.pass), (1, 1, 0));
        // A run in which nothing was measured has no verdict.
        assert_eq!(
            overall(&[(Level::Mandatory, RequirementVerdict::NotTested)]),
            Overall::NoVerdict
        );
        assert_eq!(
            overall(&[(Level::Mandatory, RequirementVerdict::NotApplicable)]),
            Overall::NoVerdict
        );
        assert_eq!(Overall::NoVerdict.exit_code(false), 2);
    }

    #[test]
    fn harness_errors_make_the_run_incomplete() {
        let r = req(Level::Mandatory);
        let he = o(Outcome::HarnessError, false);
        // Every vector a harness error: not "not applicable" (issue 18).
        assert_eq!(
            requirement_verdict(&r, true, &[he, he]),
            RequirementVerdict::Incomplete
        );
        assert_eq!(
            requirement_verdict(&r, true, &[he, o(Outcome::Pass, false)]),
            RequirementVerdict::Incomplete
        );
        use RequirementVerdict as V;
        let verdicts = [(Level::Mandatory, V::Pass)];
        let facts = RunFacts {
            partial: false,
            harness_errors: 1,
        };
        assert_eq!(overall_of_run(&verdicts, facts), Overall::Incomplete);
        assert_eq!(Overall::Incomplete.exit_code(false), 2);
        // A real mandatory failure still decides.
        let verdicts = [
            (Level::Mandatory, V::Fail),
            (Level::Mandatory, V::Incomplete),
        ];
        assert_eq!(overall_of_run(&verdicts, facts), Overall::NonConformant);
    }

    #[test]
    fn subsets_are_partial_never_conformant() {
        use RequirementVerdict as V;
        let facts = RunFacts {
            partial: true,
            harness_errors: 0,
        };
        for verdicts in [
            vec![(Level::Mandatory, V::Pass)],
            vec![
                (Level::Mandatory, V::Pass),
                (Level::Permitted, V::Observation),
            ],
        ] {
            assert_eq!(overall_of_run(&verdicts, facts), Overall::Partial);
        }
        assert_eq!(
            overall_of_run(&[(Level::Mandatory, V::Fail)], facts),
            Overall::NonConformant
        );
        assert_eq!(Overall::Partial.exit_code(false), 0);
        assert_eq!(Overall::Partial.exit_code(true), 1);
        let t = Tally {
            selected: 5,
            total: 218,
            partial: true,
            passed: 5,
            ..Tally::default()
        };
        assert_eq!(
            headline(Overall::Partial, &t),
            "部分运行 / partial: 5 of 218 vectors, all passed"
        );
        let t = Tally {
            passed: 3,
            failed: 2,
            ..t
        };
        assert_eq!(
            headline(Overall::Partial, &t),
            "部分运行 / partial: 5 of 218 vectors, 2 failed (3 passed)"
        );
    }
}
