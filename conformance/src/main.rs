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
  aigc-conform board --db results.sqlite --out site    the results board (static HTML)";

#[derive(Parser)]
#[command(name = "aigc-conform", version, about = "Conformance suite for GB 45438-2025 AI-generated content labels", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the vectors against an adapter and write the reports.
    Run(RunArgs),
    /// Validate every manifest and requirements.yaml.
    Lint(LintArgs),
    /// Write spec-mapping.md (every requirement, its vectors, how it is tested).
    Mapping(MappingArgs),
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
}

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
