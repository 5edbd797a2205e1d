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
    /// Certification options (issue 10.4/10.6): official mode, seed, signing, operator, lab.
    pub certify: CertifyOptions,
}

// ---- Certification (issue 10.4 / 10.6): official runs and signed reports ----

/// The certification flags of `run` (`--official`, `--seed`, `--sign-key`, `--operator`,
/// `--lab`, `--keep-instances`).
#[derive(Debug, Clone, Default)]
pub struct CertifyOptions {
    /// Fresh seeded instances instead of the golden implicit read vectors.
    pub official: bool,
    /// The seed (random when absent; only with `official`).
    pub seed: Option<u64>,
    /// Sign the written report with this SM2 private key (PKCS#8 PEM).
    pub sign_key: Option<PathBuf>,
    /// Who ran the suite.
    pub operator: Option<String>,
    /// The laboratory.
    pub lab: Option<String>,
    /// Write the official instances here (kept after the run) instead of the scratch folder.
    pub keep_instances: Option<PathBuf>,
}

impl CertifyOptions {
    /// Refuse combinations that cannot give an honest record.
    fn check(&self, stable: bool, out: Option<&PathBuf>) -> Result<(), String> {
        if self.seed.is_some() && !self.official {
            return Err("--seed is for official runs: add --official".into());
        }
        if stable && (self.official || self.sign_key.is_some()) {
            return Err(
                "--stable reports are repository artefacts: they cannot be official or signed"
                    .into(),
            );
        }
        if self.sign_key.is_some() {
            if out.is_none() {
                return Err(
                    "--sign-key needs --out: a signature covers written report files".into(),
                );
            }
            if self.operator.as_deref().unwrap_or("").trim().is_empty()
                || self.lab.as_deref().unwrap_or("").trim().is_empty()
            {
                return Err(
                    "a signed report must name who ran it: give --operator NAME and --lab NAME"
                        .into(),
                );
            }
        }
        if self.official {
            crate::official::official_requires_isolation()?;
        }
        Ok(())
    }
}

/// Official mode: replace the instantiated vectors of the prepared session by fresh instances.
fn instantiate_official(
    session: &mut Session,
    c: &CertifyOptions,
) -> Result<Option<crate::official::Scope>, String> {
    if !c.official {
        return Ok(None);
    }
    let seed = c.seed.unwrap_or_else(crate::official::rng::fresh_seed);
    let dir = c
        .keep_instances
        .clone()
        .unwrap_or_else(|| session.scratch_root().join("official-inputs"));
    let profile = session.profile.clone();
    let scope = crate::official::instantiate(&mut session.suite, &profile, seed, &dir)?;
    eprintln!(
        "official run: seed {seed}, {} fresh instances replace {} golden read vectors ({} kept)",
        scope.instances, scope.golden_replaced, scope.golden_kept
    );
    Ok(Some(scope))
}

/// The certification record of a (non-stable) run.
fn certification(
    session: &Session,
    c: &CertifyOptions,
    scope: Option<crate::official::Scope>,
) -> crate::certify::Certification {
    use crate::certify::{self, Mode};
    crate::certify::Certification {
        report_id: certify::new_report_id(),
        mode: if c.official {
            Mode::Official
        } else {
            Mode::Practice
        },
        seed: scope.as_ref().map(|s| s.seed),
        scope,
        operator: c.operator.clone(),
        lab: c.lab.clone(),
        executables: certify::adapter_files(&session.implementation.identity().argv),
        tools: certify::tool_versions(),
        isolation: session.isolation().as_str().into(),
    }
}

// ---- end of the certification block ----

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
            // An official run is never unconfined: bwrap, or a clear refusal (sandbox::resolve).
            isolation: if self.certify.official {
                crate::sandbox::IsolationChoice::Bwrap
            } else {
                self.isolation
            },
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
    opts.certify.check(opts.stable, opts.out.as_ref())?;
    if opts.certify.official && opts.isolation == crate::sandbox::IsolationChoice::None {
        return Err("--official runs the adapter under bubblewrap: drop --isolation none".into());
    }
    let started = meta::now_secs();
    let mut session = Session::prepare(&opts.vectors, &opts.setup())?;
    let official_scope = instantiate_official(&mut session, &opts.certify)?;
    let session = Arc::new(session);
    // Honest scope (issue 10): media names from the profile's one list, a non-empty selection.
    let names = MediaNames::of(&session.profile)?;
    scope::check_info(&session.info, &names)?;
    let filter = opts.filter();
    filter.check(&session.suite, &names)?;
    let selected = filter.select(&session.suite);
    if selected.is_empty() {
        return Err(filter.nothing_selected(&session.suite));
    }
    let mut results = session.execute(&selected, &opts.libtest_arguments());
    if let Some(s) = &official_scope {
        // What reproduces one instance: the same seed.
        for r in &mut results {
            r.reproduce = r.reproduce.replacen(
                "aigc-conform run",
                &format!("aigc-conform run --official --seed {}", s.seed),
                1,
            );
        }
    }
    let times = RunTimes {
        started,
        finished: meta::now_secs(),
    };
    let mut report = Report::build(&session, &filter, results, times);
    if opts.stable {
        let executable = report.adapter.executable.clone();
        let r = Redaction::new(session.scratch_root(), &opts.vectors, executable.as_deref());
        report.make_stable(&r);
    } else {
        report.certification = Some(certification(&session, &opts.certify, official_scope));
    }
    if let Some(dir) = &opts.out {
        crate::report::write_all(&report, dir)?;
        eprintln!("reports written to {}", dir.display());
        if let Some(key) = &opts.certify.sign_key {
            crate::certify::sign::sign_report(dir, &opts.vectors, key)?;
            eprintln!(
                "signed: {} and {} (check with `aigc-conform verify {}`)",
                dir.join(crate::certify::sign::MANIFEST).display(),
                dir.join(crate::certify::sign::SIGNATURE).display(),
                dir.display()
            );
        }
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
