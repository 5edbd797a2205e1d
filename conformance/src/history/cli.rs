//! The history subcommands of `aigc-conform` (flattened into its command enum by `main.rs`).

use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{board, diff, impact, merge, store, StoredReport};
use crate::release::ReleaseIndex;
use crate::vector::Suite;

/// `diff`, `impact`, `archive`, `query`, `board`, `merge`, `release`.
#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Compare two reports: vectors added, removed, changed; verdict changes per requirement and
    /// per vector. Exit 0 when they agree, 1 when they differ, 2 on error.
    Diff {
        /// The older report (folder or report.json).
        old: PathBuf,
        /// The newer report (folder or report.json).
        new: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// For reports made on an earlier vector release: which vectors and requirements changed
    /// since, so which verdicts may change, naming the implementations. Exit 0 when none can
    /// change, 1 when some may, 2 on error.
    Impact {
        /// The vectors of the new release (default: ./vectors, or this source tree's).
        #[arg(long, value_name = "DIR")]
        vectors: Option<PathBuf>,
        /// Stored reports (folders or report.json files).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// File a report folder (report.json, its other files, the signed manifest.json and the
    /// signature file when present) into the results store.
    Archive {
        /// The results store (SQLite; created when missing).
        #[arg(long, value_name = "FILE", default_value = "results.sqlite")]
        db: PathBuf,
        /// Report folders.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
    },
    /// List archived reports, filtered by vendor, release and requirement.
    Query {
        /// The results store.
        #[arg(long, value_name = "FILE", default_value = "results.sqlite")]
        db: PathBuf,
        /// Substring of "implementation version" (case-insensitive).
        #[arg(long)]
        vendor: Option<String>,
        /// Vector release.
        #[arg(long)]
        release: Option<String>,
        /// Requirement id: show its verdict in each report.
        #[arg(long)]
        requirement: Option<String>,
        /// Only the latest run of each implementation and version.
        #[arg(long)]
        latest: bool,
        /// Print JSON instead of tab-separated text.
        #[arg(long)]
        json: bool,
    },
    /// Write the results board (a static site) from the store.
    Board {
        /// The results store.
        #[arg(long, value_name = "FILE", default_value = "results.sqlite")]
        db: PathBuf,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Combine shard reports (`run --shard K/N`) into the report.json of the whole run.
    Merge {
        /// Shard report folders (or report.json files).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder for the merged report.json.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the vector release and the content hash of every vector and requirement (JSON).
    Release {
        /// The vectors folder.
        #[arg(long, value_name = "DIR")]
        vectors: Option<PathBuf>,
    },
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("aigc-conform: {e}");
    ExitCode::from(2)
}

/// Write to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn json_out<T: serde::Serialize>(v: &T) -> Result<(), String> {
    emit(&(serde_json::to_string_pretty(v).map_err(|e| e.to_string())? + "\n"));
    Ok(())
}

fn load_suite(vectors: &Path) -> Result<(Suite, ReleaseIndex), String> {
    let (suite, errors) = Suite::load(vectors);
    if let Some(e) = errors.first() {
        return Err(format!(
            "the vectors at {} do not load: {e} (run `aigc-conform lint`)",
            vectors.display()
        ));
    }
    let index = ReleaseIndex::of_suite(&suite)?;
    Ok((suite, index))
}

/// Run one history subcommand; `default_vectors` is the vectors folder when none is given.
pub fn dispatch(cmd: HistoryCommand, default_vectors: PathBuf) -> ExitCode {
    match run(cmd, default_vectors) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn run(cmd: HistoryCommand, default_vectors: PathBuf) -> Result<ExitCode, String> {
    match cmd {
        HistoryCommand::Diff { old, new, json } => {
            let d = diff::diff(&StoredReport::load(&old)?, &StoredReport::load(&new)?);
            if json {
                json_out(&d)?;
            } else {
                emit(&diff::render_text(&d));
            }
            Ok(if d.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        HistoryCommand::Impact {
            vectors,
            reports,
            json,
        } => {
            let (suite, index) = load_suite(&vectors.unwrap_or(default_vectors))?;
            let mut impacts = Vec::new();
            for r in &reports {
                impacts.push(impact::impact(&suite, &index, &StoredReport::load(r)?));
            }
            if json {
                json_out(&impacts)?;
            } else {
                emit(&impact::render_text(&impacts));
            }
            Ok(if impacts.iter().all(impact::ReportImpact::is_unaffected) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        HistoryCommand::Archive { db, reports } => {
            let mut conn = store::open(&db)?;
            for r in &reports {
                let a = store::archive(&mut conn, r)?;
                emit(&format!(
                    "{}: {} as report {} (signature: {})\n",
                    r.display(),
                    if a.new {
                        "archived"
                    } else {
                        "already archived"
                    },
                    a.id,
                    a.signature
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        HistoryCommand::Query {
            db,
            vendor,
            release,
            requirement,
            latest,
            json,
        } => {
            if !db.is_file() {
                return Err(format!(
                    "{}: no results store (run `archive` first)",
                    db.display()
                ));
            }
            let conn = store::open(&db)?;
            let rows = store::query(
                &conn,
                &store::Query {
                    vendor,
                    release,
                    requirement,
                    latest,
                },
            )?;
            if json {
                json_out(&rows)?;
            } else {
                emit(&store::render_entries(&rows));
            }
            Ok(ExitCode::SUCCESS)
        }
        HistoryCommand::Board { db, out } => {
            if !db.is_file() {
                return Err(format!(
                    "{}: no results store (run `archive` first)",
                    db.display()
                ));
            }
            let conn = store::open(&db)?;
            let n = board::write(&conn, &out)?;
            eprintln!("board: {n} rows, {}", out.join("index.html").display());
            Ok(ExitCode::SUCCESS)
        }
        HistoryCommand::Merge { shards, out } => {
            let reports = shards
                .iter()
                .map(|p| StoredReport::load(p))
                .collect::<Result<Vec<_>, _>>()?;
            let doc = merge::merge(&reports)?;
            merge::write_report(&doc, &out)?;
            emit(&format!(
                "merged {} reports: {} ({} vectors) -> {}\n",
                reports.len(),
                doc["overall"].as_str().unwrap_or("?"),
                doc["vectors"].as_array().map_or(0, Vec::len),
                out.join("report.json").display()
            ));
            Ok(
                if doc["overall"] == crate::verdict::Overall::NonConformant.as_str() {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
        HistoryCommand::Release { vectors } => {
            let (_, index) = load_suite(&vectors.unwrap_or(default_vectors))?;
            json_out(&index)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
