//! Building the report: one [`VectorResult`] per vector as it runs, then [`Report::build`] grades
//! every requirement and adds the provenance.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

use super::{
    AdapterInfo, HashedFile, ProfileInfo, Report, RequirementResult, Selection, SuiteInfo,
    VectorResult,
};
use crate::adapter::{resolve_program, Exchange};
use crate::checks::{self, Evaluation, Outcome};
use crate::meta;
use crate::scope::ClaimedScope;
use crate::session::{Filter, Session};
use crate::vector::{Requirement, Suite, Vector};
use crate::verdict::{self, RequirementCounts, RunFacts, Tally, VectorOutcome};
use crate::waivers::Waiver;

/// When the run started and finished (seconds since the epoch).
#[derive(Debug, Clone, Copy)]
pub struct RunTimes {
    /// Start.
    pub started: f64,
    /// End.
    pub finished: f64,
}

impl VectorResult {
    /// A result for `v` before anything ran (a harness error until recorded otherwise).
    pub fn new(v: &Vector, waiver: Option<Waiver>, reproduce: String) -> VectorResult {
        VectorResult {
            id: v.id.clone(),
            location: v.location(),
            requirements: v.requirements.clone(),
            op: v.op.as_str().into(),
            media: v.media.clone(),
            class: format!("{:?}", v.class).to_lowercase(),
            description: v.description.clone(),
            outcome: Outcome::HarnessError,
            message: None,
            findings: Vec::new(),
            blame: Vec::new(),
            unmeasured: Vec::new(),
            waiver,
            unexpected_pass: false,
            expected: Value::Null,
            actual: Value::Null,
            diff: String::new(),
            request: Value::Null,
            response: None,
            stderr: String::new(),
            duration_ms: 0.0,
            reproduce,
            content_sha256: None,
        }
    }

    /// Record the checks' judgement; `changes` are writes the adapter made beside the input.
    pub fn record(&mut self, v: &Vector, eval: Evaluation, suite: &Suite, changes: Vec<String>) {
        self.outcome = eval.outcome;
        self.findings = eval.findings;
        // Blame only lands on requirements the catalogue has; otherwise the vector's own take
        // it, so that a failure is never lost.
        self.blame = eval
            .blame
            .into_iter()
            .filter(|id| suite.requirements.iter().any(|r| &r.id == id))
            .collect();
        if self.blame.is_empty() && eval.outcome.is_failure() {
            self.blame = v.requirements.clone();
        }
        self.unmeasured = eval.unmeasured;
        if eval.outcome != Outcome::Pass {
            self.diff = checks::diff(&eval.expected, &eval.actual);
        }
        self.expected = eval.expected;
        self.actual = eval.actual;
        if !changes.is_empty() {
            self.outcome = Outcome::WroteOutside;
            self.blame = v.requirements.clone();
            self.findings.insert(
                0,
                format!("wrote outside its scratch folder: {}", changes.join(", ")),
            );
        }
        if self.waiver.is_some() && self.outcome == Outcome::Pass {
            self.unexpected_pass = true;
        }
    }

    /// Record the request and what came back (evidence for the report).
    pub fn record_exchange(&mut self, request: Value, exchange: Exchange) {
        if let Err(f) = &exchange.response {
            self.message = Some(f.to_string());
        }
        self.response = exchange.response.ok();
        self.stderr = exchange.stderr;
        self.duration_ms = exchange.elapsed.as_secs_f64() * 1000.0;
        self.request = request;
    }
}

/// The level a requirement's verdict is graded at in the overall verdict: its own, except that
/// a suite requirement (`kind: suite`) never makes an implementation non-conformant.
pub fn graded_level(req: &Requirement) -> crate::vector::Level {
    match req.kind {
        crate::vector::Kind::Suite => crate::vector::Level::Recommended,
        crate::vector::Kind::Standard => req.level,
    }
}

/// The verdict of one requirement from the vectors that speak for it.
fn grade(req: &Requirement, suite: &Suite, vectors: &[VectorResult]) -> RequirementResult {
    // A requirement with no vector of its own still gets a verdict when a failure is charged
    // to it (checks::blame).
    let has_vectors = suite
        .vectors
        .iter()
        .any(|v| v.requirements.contains(&req.id))
        || vectors.iter().any(|v| v.blame.contains(&req.id));
    // A vector speaks for the requirements it names and for any its failure is charged to.
    let mine: Vec<&VectorResult> = vectors
        .iter()
        .filter(|v| v.requirements.contains(&req.id) || v.blame.contains(&req.id))
        .collect();
    let outcomes: Vec<VectorOutcome> = mine
        .iter()
        .map(|v| VectorOutcome {
            outcome: outcome_for(v, &req.id),
            waived: v.waiver.is_some(),
        })
        .collect();
    RequirementResult {
        requirement: req.clone(),
        verdict: verdict::requirement_verdict(req, has_vectors, &outcomes),
        counts: RequirementCounts::of(&outcomes),
        vectors: mine.iter().map(|v| v.id.clone()).collect(),
        not_applicable: mine
            .iter()
            .filter(|v| v.outcome == Outcome::NotApplicable)
            .map(|v| v.id.clone())
            .collect(),
    }
}

/// What vector `v` says about requirement `id`.
pub fn outcome_for(v: &VectorResult, id: &str) -> Outcome {
    let charged_elsewhere = !v.blame.is_empty() && !v.blame.iter().any(|b| b == id);
    if v.outcome.is_failure() && charged_elsewhere {
        // A failure charged to other requirements (checks::blame) does not fail this one; it
        // measured this one only if the oracle says so.
        if v.unmeasured.iter().any(|u| u == id) {
            Outcome::Inconclusive
        } else {
            Outcome::Pass
        }
    } else if v.outcome == Outcome::Pass && v.unmeasured.iter().any(|u| u == id) {
        // The vector passed on its other requirements; this one it did not measure.
        Outcome::Inconclusive
    } else {
        v.outcome
    }
}

/// The implementation's provenance: its command, executable and script hashes, mode, `info`.
fn adapter_info(session: &Session) -> AdapterInfo {
    let id = session.implementation.identity();
    let executable = id.argv.first().and_then(|p| resolve_program(p));
    let argument_files = id
        .argv
        .iter()
        .skip(1)
        .filter_map(|a| {
            let p = Path::new(a);
            p.is_file().then(|| HashedFile {
                path: a.clone(),
                sha256: meta::file_sha256(p).unwrap_or_default(),
            })
        })
        .collect();
    AdapterInfo {
        command: id.command,
        reference: id.reference,
        executable_sha256: executable.as_deref().and_then(meta::file_sha256),
        executable: executable.map(|p| p.display().to_string()),
        argument_files,
        mode: session.implementation.mode().into(),
        isolation: session.isolation().as_str().into(),
        info: session.info_raw.clone(),
    }
}

impl Report {
    /// Grade every requirement of the catalogue from `vectors` (the selected vectors' results,
    /// in suite order) and add the provenance of the run.
    pub fn build(
        session: &Session,
        filter: &Filter,
        vectors: Vec<VectorResult>,
        times: RunTimes,
    ) -> Report {
        let suite = &session.suite;
        let requirements: Vec<RequirementResult> = suite
            .requirements
            .iter()
            .map(|req| grade(req, suite, &vectors))
            .collect();
        // A suite requirement (kind: suite) is never a non-conformance to a clause: its failure
        // counts as an observation at most (issue 19).
        let graded: Vec<_> = requirements
            .iter()
            .map(|r| (graded_level(&r.requirement), r.verdict))
            .collect();
        let partial = filter.is_subset() || vectors.len() < suite.vectors.len();
        let tally = tally(&vectors, suite.vectors.len(), partial);
        let overall = verdict::overall_of_run(
            &graded,
            RunFacts {
                partial,
                harness_errors: tally.harness_errors,
            },
        );
        let mut counts = BTreeMap::new();
        for v in &vectors {
            *counts.entry(v.outcome.as_str().to_string()).or_insert(0) += 1;
        }
        let mut warnings = session.waivers.warnings.clone();
        for v in vectors.iter().filter(|v| v.unexpected_pass) {
            warnings.push(format!(
                "unexpected pass: {} is waived but passes; remove the waiver",
                v.id
            ));
        }
        let root = &session.vectors_dir;
        Report {
            report_format: super::REPORT_FORMAT,
            tool: format!("aigc-conform {}", env!("CARGO_PKG_VERSION")),
            suite: SuiteInfo {
                version: env!("CARGO_PKG_VERSION").into(),
                root: root.display().to_string(),
                // Taken before the adapter ran: the tree the run was judged on.
                vectors_sha256: session.vectors_sha256.clone(),
                files: crate::vector::all_files(root).len(),
                vector_count: suite.vectors.len(),
                release: crate::release::load_release(root).ok(),
            },
            profile: ProfileInfo {
                id: session.profile.id.clone(),
                sha256: meta::file_sha256(&root.join("profile.yaml")).unwrap_or_default(),
                readings: aigc_label::explicit::readings::ReadingsProfile::from_profile(
                    &session.profile,
                )
                .map(|r| r.binding_lines())
                .unwrap_or_default(),
            },
            adapter: adapter_info(session),
            machine: meta::machine(),
            started: meta::rfc3339(times.started),
            finished: meta::rfc3339(times.finished),
            duration_s: (times.finished - times.started).max(0.0),
            limits: session.limits,
            scope: ClaimedScope::of(&session.info, suite),
            selection: Selection {
                filter: filter.text.clone(),
                exact: filter.exact,
                requirements: filter.requirements.clone(),
                ops: filter.ops.clone(),
                media: filter.media.clone(),
                skip: filter.skip.clone(),
                partial,
                selected: vectors.len(),
                total: suite.vectors.len(),
                shard: filter.shard.map(|(k, n)| format!("{k}/{n}")),
            },
            overall,
            headline: verdict::headline(overall, &tally),
            counts,
            requirements,
            vectors,
            warnings,
            cannot_be_tested: session.info_failure.clone(),
            certification: None,
        }
    }
}

/// The vector counts behind the headline.
pub fn tally(vectors: &[VectorResult], total: usize, partial: bool) -> Tally {
    let mut t = Tally {
        selected: vectors.len(),
        total,
        partial,
        ..Tally::default()
    };
    for v in vectors {
        t.add(v.outcome, v.waiver.is_some());
    }
    t
}
