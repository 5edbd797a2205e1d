//! `aigc-conform`: run the GB 45438-2025 conformance suite against an implementation.
//!
//! Exit status of `run`: 0 conformant (with or without observations), or a partial run in which
//! every selected vector passed; 1 non-conformant, or a partial run with a failure; 2 harness
//! error (vectors do not load, the adapter cannot answer `info` or names unknown media, zero
//! vectors selected, harness errors during the run, nothing measured, reports not written).
//! `lint`: 0 clean (warnings allowed), 1 errors.

use aigc_conformance::{lint, mapping, run, vector::Suite};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  aigc-conform run                                  the reference itself; reports in reports/latest/ (not committed)
  aigc-conform run --stable --out reports/reference the reference's published report (scripts/run-suite.sh --publish)
  aigc-conform run --adapter 'python3 conformance/adapters/python/adapter.py' --out reports/py
  aigc-conform run png-read --adapter './my-adapter'    only vectors whose id contains png-read
  aigc-conform run --exact implicit-png-label-plain     one vector (the command every failure prints)
  aigc-conform run --requirement GB-5.2-b --op label   a partial run: only these vectors (verdict: partial)
  aigc-conform run --media image/png --skip fuzz    only PNG vectors, leaving out ids containing fuzz
  aigc-conform run --list                           the vector ids
  aigc-conform lint                                 check manifests and requirements.yaml
  aigc-conform mapping [--check]                    regenerate (or check) spec-mapping.md
  aigc-conform run --shard 2/4 --out shard-2        one of four shards; then: aigc-conform merge shard-* --out all
  aigc-conform diff reports/old reports/new         what changed between two reports
  aigc-conform impact --vectors vectors reports/*   which stored verdicts a new vector release may change
  aigc-conform archive --db results.sqlite reports/x   file a report into the results store
  aigc-conform query --db results.sqlite --requirement GB-6.1-a
  aigc-conform board --db results.sqlite --out site    the results board (static HTML)
  aigc-conform keygen --out keys                    an SM2 key pair for signing reports
  aigc-conform run --official --adapter ./x --sign-key keys/report-signing.key --operator NAME --lab NAME --out cert
  aigc-conform verify cert --key keys/report-signing.pub --vectors vectors   check a signed report offline";

#[derive(Parser)]
#[command(name = "aigc-conform", version, about = "Conformance suite for GB 45438-2025 AI-generated content labels", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the vectors against an adapter and write the reports.
    Run(Box<RunArgs>),
    /// Validate every manifest and requirements.yaml.
    Lint(LintArgs),
    /// Write spec-mapping.md (every requirement, its vectors, how it is tested).
    Mapping(MappingArgs),
    /// Make an SM2 key pair for signing reports (report-signing.key / report-signing.pub).
    Keygen(KeygenArgs),
    /// Check a signed report offline: signature, every report file, and (with --vectors) the
    /// vectors it was made with.
    Verify(VerifyArgs),
    // history (issue 11): diff, impact, archive, query, board, merge, release.
    #[command(flatten)]
    History(aigc_conformance::history::cli::HistoryCommand),
}

#[derive(clap::Args)]
struct MappingArgs {
    /// The vectors folder.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Where to write (default: spec-mapping.md beside the vectors folder).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Do not write; exit 1 if the file differs from what would be written.
    #[arg(long)]
    check: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Run only vectors whose id contains FILTER (or equals it, with --exact).
    filter: Option<String>,
    /// FILTER must match the whole id.
    #[arg(long)]
    exact: bool,
    /// List the vectors instead of running them.
    #[arg(long)]
    list: bool,
    /// Requests in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// The adapter command line (default: the reference, `aigc-label adapter`).
    #[arg(long, value_name = "COMMAND")]
    adapter: Option<String>,
    /// Report folder (default for the reference: reports/latest next to vectors/, ignored by git).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Expected-failure file (YAML: waivers: [{id, reason, approved_by, expires}]).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// The vectors folder (default: ./vectors, or the one of this source tree).
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Per-request timeout in seconds (default: harness.timeout_s of vectors/profile.yaml).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Start a process per request even if the adapter offers persistent mode.
    #[arg(long)]
    process_per_request: bool,
    /// One character per vector instead of one line.
    #[arg(long, short)]
    quiet: bool,
    /// A stable report: per-run scratch and checkout paths, times, durations and the host
    /// replaced by placeholders, so that the same build gives the same files (for reports kept
    /// in the repository, e.g. reports/reference/).
    #[arg(long)]
    stable: bool,
    /// Run only shard K of N (e.g. 2/4): a deterministic share of the vectors; combine the
    /// shards' reports with `aigc-conform merge`.
    #[arg(long, value_name = "K/N", value_parser = aigc_conformance::history::shard::parse_shard)]
    shard: Option<(usize, usize)>,
    // Selection (issue 10). Any of these, FILTER or --shard makes the run partial: its verdict
    // is `partial` (or non-conformant), never `conformant`.
    /// Only vectors that name this requirement id (repeatable: any of them).
    #[arg(long = "requirement", value_name = "ID")]
    requirements: Vec<String>,
    /// Only vectors of this op: read, label or propagate (repeatable).
    #[arg(long = "op", value_name = "OP")]
    ops: Vec<String>,
    /// Only vectors of this media type, e.g. image/png (repeatable).
    #[arg(long = "media", value_name = "TYPE")]
    media: Vec<String>,
    /// Leave out vectors whose id contains PATTERN (repeatable).
    #[arg(long = "skip", value_name = "PATTERN")]
    skip: Vec<String>,
    /// How the adapter is confined: bwrap (bubblewrap: no network, read-only system, only the
    /// request's scratch folder writable, the vectors folder not mounted, a PID namespace),
    /// none (process group only), or auto (bwrap when it is installed and works here).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    isolation: aigc_conformance::sandbox::IsolationChoice,
    #[command(flatten)]
    certify: CertifyArgs,
}

// ---- Certification (issue 10.4 / 10.6): run flags, keygen, verify ----

#[derive(clap::Args)]
struct CertifyArgs {
    /// Official run: fresh, seeded instances of the implicit read vectors with opaque ids
    /// (needs bubblewrap); the seed is recorded in the report.
    #[arg(long, help_heading = "Certification")]
    official: bool,
    /// Seed of the official instances (default: random from the OS; reproduces a run).
    #[arg(long, value_name = "N", help_heading = "Certification")]
    seed: Option<u64>,
    /// Sign the written report (manifest.json + report.sig) with this SM2 private key.
    #[arg(long, value_name = "KEY", help_heading = "Certification")]
    sign_key: Option<PathBuf>,
    /// Who ran the suite (recorded; required with --sign-key).
    #[arg(long, value_name = "NAME", help_heading = "Certification")]
    operator: Option<String>,
    /// The laboratory (recorded; required with --sign-key).
    #[arg(long, value_name = "NAME", help_heading = "Certification")]
    lab: Option<String>,
    /// Keep the official instances in DIR (default: the run's scratch folder, removed).
    #[arg(long, value_name = "DIR", help_heading = "Certification")]
    keep_instances: Option<PathBuf>,
}

impl CertifyArgs {
    fn options(self) -> run::CertifyOptions {
        run::CertifyOptions {
            official: self.official,
            seed: self.seed,
            sign_key: self.sign_key,
            operator: self.operator,
            lab: self.lab,
            keep_instances: self.keep_instances,
        }
    }
}

#[derive(clap::Args)]
struct KeygenArgs {
    /// Folder for report-signing.key (private, mode 0600) and report-signing.pub.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The report folder (report.json, ..., manifest.json, report.sig).
    report_dir: PathBuf,
    /// The signer's public key (PEM); without it, the key inside report.sig is used.
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// The vectors folder: check every file and vector against the report (official
    /// instances are regenerated from the recorded seed).
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
}

fn keygen(a: KeygenArgs) -> ExitCode {
    match aigc_conformance::certify::keys::keygen(&a.out) {
        Ok((private, public)) => {
            eprintln!(
                "wrote {} (keep it secret) and {} (publish it)",
                private.display(),
                public.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aigc-conform keygen: {e}");
            ExitCode::from(2)
        }
    }
}

fn verify(a: VerifyArgs) -> ExitCode {
    match aigc_conformance::certify::verify::verify(
        &a.report_dir,
        a.key.as_deref(),
        a.vectors.as_deref(),
    ) {
        Ok(v) => {
            for n in &v.notes {
                eprintln!("ok: {n}");
            }
            for p in &v.problems {
                eprintln!("FAILED: {p}");
            }
            if v.ok() {
                println!("verify: {} verifies", a.report_dir.display());
                ExitCode::SUCCESS
            } else {
                println!(
                    "verify: {} does NOT verify ({} problems)",
                    a.report_dir.display(),
                    v.problems.len()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("aigc-conform verify: {e}");
            ExitCode::from(2)
        }
    }
}

// ---- end of the certification block ----

#[derive(clap::Args)]
struct LintArgs {
    /// The vectors folder.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
}

/// `./vectors` if it exists, else the folder of this source tree.
fn default_vectors() -> PathBuf {
    let here = PathBuf::from("vectors");
    if here.join("requirements.yaml").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::History(c) => aigc_conformance::history::cli::dispatch(c, default_vectors()),
        Command::Keygen(a) => keygen(a),
        Command::Verify(a) => verify(a),
        Command::Run(a) => {
            let vectors_given = a.vectors.is_some();
            let vectors = a.vectors.unwrap_or_else(default_vectors);
            let out = a.out.or_else(|| {
                // The reference's latest report, in a folder git ignores: the published one
                // (reports/reference/) is written only on purpose (scripts/run-suite.sh --publish).
                (a.adapter.is_none() && !a.list).then(|| {
                    vectors
                        .parent()
                        .unwrap_or(Path::new("."))
                        .join("reports/latest")
                })
            });
            let opts = run::RunOptions {
                vectors,
                vectors_given,
                adapter: a.adapter,
                out,
                waivers: a.waivers,
                filter: a.filter,
                exact: a.exact,
                list: a.list,
                jobs: a.jobs,
                timeout_s: a.timeout,
                process_per_request: a.process_per_request,
                quiet: a.quiet,
                stable: a.stable,
                shard: a.shard,
                requirements: a.requirements,
                ops: a.ops,
                media: a.media,
                skip: a.skip,
                isolation: a.isolation,
                certify: a.certify.options(),
            };
            match run::run(&opts) {
                Ok(r) => ExitCode::from(r.exit),
                Err(e) => {
                    eprintln!("aigc-conform: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Lint(a) => {
            let vectors = a.vectors.unwrap_or_else(default_vectors);
            let (suite, errors) = Suite::load(&vectors);
            let l = lint::lint(&suite, errors);
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            for e in &l.errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "lint: {} vectors in {} manifests, {} requirements: {} errors, {} warnings",
                suite.vectors.len(),
                suite.manifests.len(),
                suite.requirements.len(),
                l.errors.len(),
                l.warnings.len()
            );
            if l.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Mapping(a) => {
            let vectors = a.vectors.unwrap_or_else(default_vectors);
            let (suite, errors) = Suite::load(&vectors);
            if let Some(e) = errors.first() {
                eprintln!("aigc-conform: the vectors do not load: {e} (run `aigc-conform lint`)");
                return ExitCode::from(2);
            }
            let out = a.out.unwrap_or_else(|| {
                vectors
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("spec-mapping.md")
            });
            let text = mapping::render(&suite);
            if a.check {
                let current = std::fs::read_to_string(&out).unwrap_or_default();
                if current == text {
                    eprintln!("{} is current", out.display());
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "{} is stale: run `aigc-conform mapping` and commit it",
                        out.display()
                    );
                    ExitCode::FAILURE
                }
            } else {
                match std::fs::write(&out, text) {
                    Ok(()) => {
                        eprintln!("wrote {}", out.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("aigc-conform: {}: {e}", out.display());
                        ExitCode::from(2)
                    }
                }
            }
        }
    }
}
