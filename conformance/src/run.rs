//! `aigc-conform run`: prepare a [`Session`], select the vectors, execute them (libtest-mimic
//! for parallelism and the `test result:` line), build the [`Report`], write it, and set the exit
//! status.

use libtest_mimic::{Arguments, Trial};
use std::path::PathBuf;
use std::sync::Arc;

use crate::checks::Outcome;
use crate::meta;
use crate::report::stable::Redaction;
use crate::report::{Report, RunTimes};
use crate::scope::{self, MediaNames};
use crate::session::{load_suite, Filter, Session, Setup};
use crate::verdict::Overall;

pub use crate::implementation::{absolutize, find_reference, shell_quote};
pub use crate::session::applicability;

/// Options of a run (the `run` subcommand's flags).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The vectors folder.
    pub vectors: PathBuf,
    /// Whether `--vectors` was given (then the reproduce command repeats it).
    pub vectors_given: bool,
    /// Adapter command; `None` runs the reference.
    pub adapter: Option<String>,
    /// Report folder.
    pub out: Option<PathBuf>,
    /// Waiver file.
    pub waivers: Option<PathBuf>,
    /// Vector-id filter (substring, or exact with `exact`).
    pub filter: Option<String>,
    /// Exact filter.
    pub exact: bool,
    /// List the vectors only.
    pub list: bool,
    /// Parallel requests.
    pub jobs: Option<usize>,
    /// Override of `harness.timeout_s`.
    pub timeout_s: Option<f64>,
    /// Never use persistent mode, even if the adapter offers it.
    pub process_per_request: bool,
    /// Terse libtest output.
    pub quiet: bool,
    /// Write a stable report (placeholders for paths, times and host; see `report::stable`).
    pub stable: bool,
    /// Run only shard K of N (1-based; `history::shard`; issue 11).
    pub shard: Option<(usize, usize)>,
    // Selection (issue 10): every one makes the run partial; see `session::Filter`.
    /// `--requirement ID` (repeatable): vectors naming one of these requirements.
    pub requirements: Vec<String>,
    /// `--op OP` (repeatable).
    pub ops: Vec<String>,
    /// `--media TYPE` (repeatable).
    pub media: Vec<String>,
    /// `--skip PATTERN` (repeatable): leave out vectors whose id contains it.
    pub skip: Vec<String>,
    /// How the adapter is confined (`--isolation`; `crate::sandbox`).
    pub isolation: crate::sandbox::IsolationChoice,
}

impl RunOptions {
    fn filter(&self) -> Filter {
        Filter {
            text: self.filter.clone(),
            exact: self.exact,
            requirements: self.requirements.clone(),
            ops: self.ops.clone(),
            media: self.media.clone(),
            skip: self.skip.clone(),
            shard: self.shard,
        }
    }

    fn setup(&self) -> Setup {
        Setup {
            adapter: self.adapter.clone(),
            waivers: self.waivers.clone(),
            timeout_s: self.timeout_s,
            process_per_request: self.process_per_request,
            vectors_given: self.vectors_given,
            isolation: self.isolation,
        }
    }

    fn libtest_arguments(&self) -> Arguments {
        Arguments {
            list: self.list,
            test_threads: self.jobs,
            quiet: self.quiet,
            ..Arguments::default()
        }
    }
}

/// How a run ended.
pub struct RunResult {
    /// The report (absent for `--list`).
    pub report: Option<Report>,
    /// Process exit status: 0 conformant, or partial with every selected vector passed;
    /// 1 non-conformant, or partial with a failure; 2 harness error, incomplete or no verdict.
    pub exit: u8,
}

/// `--list`: the selected vectors, as libtest lists tests (no adapter is started).
fn list(opts: &RunOptions) -> Result<RunResult, String> {
    let suite = load_suite(&opts.vectors)?;
    let trials = opts
        .filter()
        .select(&suite)
        .into_iter()
        .map(|i| {
            let v = &suite.vectors[i];
            Trial::test(v.id.clone(), || Ok(())).with_kind(v.op.as_str())
        })
        .collect();
    let _ = libtest_mimic::run(&opts.libtest_arguments(), trials);
    Ok(RunResult {
        report: None,
        exit: 0,
    })
}

/// The one-line summary on stdout.
fn summary(report: &Report) -> String {
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    format!(
        "conformance: {} ({} of {} vectors: {})\n{}",
        report.overall.as_str(),
        report.vectors.len(),
        report.selection.total,
        counts.join(", "),
        report.headline
    )
}

/// Run the suite.
pub fn run(opts: &RunOptions) -> Result<RunResult, String> {
    if opts.list {
        return list(opts);
    }
    let started = meta::now_secs();
    let session = Arc::new(Session::prepare(&opts.vectors, &opts.setup())?);
    // Honest scope (issue 10): media names from the profile's one list, a non-empty selection.
    let names = MediaNames::of(&session.profile)?;
    scope::check_info(&session.info, &names)?;
    let filter = opts.filter();
    filter.check(&session.suite, &names)?;
    let selected = filter.select(&session.suite);
    if selected.is_empty() {
        return Err(filter.nothing_selected(&session.suite));
    }
    let results = session.execute(&selected, &opts.libtest_arguments());
    let times = RunTimes {
        started,
        finished: meta::now_secs(),
    };
    let mut report = Report::build(&session, &filter, results, times);
    if opts.stable {
        let executable = report.adapter.executable.clone();
        let r = Redaction::new(session.scratch_root(), &opts.vectors, executable.as_deref());
        report.make_stable(&r);
    }
    if let Some(dir) = &opts.out {
        crate::report::write_all(&report, dir)?;
        eprintln!("reports written to {}", dir.display());
    }
    println!("{}", summary(&report));
    let harness_error = report
        .vectors
        .iter()
        .any(|v| v.outcome == Outcome::HarnessError);
    let unwaived_failures = report
        .vectors
        .iter()
        .any(|v| v.outcome.is_failure() && v.waiver.is_none());
    let exit = if harness_error {
        2
    } else {
        report.overall.exit_code(unwaived_failures)
    };
    if report.overall == Overall::NoVerdict {
        eprintln!(
            "aigc-conform: no verdict: none of the {} selected vectors was measured; the implementation claims roles [{}] and media {{{}}} ({})",
            report.vectors.len(),
            report.scope.roles.join(", "),
            report.scope.media_lines().join("; "),
            if report.scope.not_claimed.is_empty() {
                "every selected vector was inconclusive".to_string()
            } else {
                format!("not claimed: {}", report.scope.not_claimed.join("; "))
            }
        );
    }
    Ok(RunResult {
        report: Some(report),
        exit,
    })
}
