//! `aigc-label scan PATH...`: audit a whole folder tree. One JSON line per file on stdout
//! (schema: `reference/schema/scan-line.schema.json`), a progress line on a terminal and a
//! summary table on stderr.
//!
//! Shape: one walker thread streams the tree (a stack of open directory iterators, so memory
//! grows with the depth, never with the number of files), a bounded channel feeds one reader
//! per core, and this thread writes the lines and keeps the counts. Nothing is collected.
//!
//! Hostile trees: symbolic links are not followed unless `--follow` (their targets inside the
//! tree are scanned at their own path; outside it they are out of scope); FIFOs, sockets and
//! devices are skipped with a note and never opened; a regular file is opened non-blocking and
//! without following a final symlink, and checked again on the open descriptor, so a file
//! swapped for a FIFO between the walk and the read cannot block a worker.

mod file;

use aigc_label::implicit::Verdict;
use aigc_label::Profile;
use file::{kind_name, scan_file, Outcome, Status};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Directory depth beyond which the walk does not descend (each level holds one open
/// directory descriptor and its buffer).
const MAX_DEPTH: usize = 256;

/// Arguments of `scan`.
#[derive(clap::Args)]
pub struct Args {
    /// Files and folders to scan (folders recursively). Symbolic links named here are followed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Readers in parallel (default: one per core).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Follow symbolic links inside the folders, also out of the tree (loops are detected).
    #[arg(long)]
    follow: bool,
    /// Exit 1 if any file has one of these outcomes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "OUTCOMES")]
    fail_on: Vec<FailOn>,
    /// No progress line, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// No summary table on stderr.
    #[arg(long)]
    no_summary: bool,
}

/// Outcomes `--fail-on` can name.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
enum FailOn {
    Invalid,
    Conflict,
    Unlabeled,
    /// A file that could not be read (damaged, too large a structure, I/O error).
    Error,
}

/// Run `scan`: exit 2 if a named path could not be accessed, else 1 if a `--fail-on` outcome
/// occurred, else 0.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let (job_tx, job_rx) = sync_channel::<Job>(jobs * 4);
    let (out_tx, out_rx) = sync_channel::<Outcome>(jobs * 16);
    let job_rx = Mutex::new(job_rx);
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let summary = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (job_rx, out_tx) = (&job_rx, out_tx.clone());
            scope.spawn(move || worker(job_rx, &out_tx, profile));
        }
        let walker_out = out_tx.clone();
        let (roots, follow) = (&args.paths, args.follow);
        scope.spawn(move || walk(roots, follow, &job_tx, &walker_out));
        drop(out_tx);
        collect(out_rx, progress)
    });
    if !args.no_summary {
        eprint!("{}", summary.table(jobs));
    }
    if summary.missing_root {
        ExitCode::from(2)
    } else if args.fail_on.iter().any(|f| summary.count_of(*f) > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A regular file for a reader; `via_link` when the walk reached it through a followed link.
struct Job {
    path: PathBuf,
    via_link: bool,
}

fn worker(jobs: &Mutex<Receiver<Job>>, out: &SyncSender<Outcome>, profile: &Profile) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if out
            .send(scan_file(&job.path, job.via_link, profile))
            .is_err()
        {
            return;
        }
    }
}

/// One open folder of the walk.
struct Frame {
    dir: PathBuf,
    entries: fs::ReadDir,
    /// (device, inode), to detect loops when following links.
    id: (u64, u64),
}

/// Stream the tree: regular files to the readers, everything else straight to the output.
fn walk(roots: &[PathBuf], follow: bool, jobs: &SyncSender<Job>, out: &SyncSender<Outcome>) {
    let mut stack: Vec<Frame> = Vec::new();
    for root in roots {
        // Named on the command line: a link here is followed (the user asked for it).
        match fs::metadata(root) {
            Ok(m) => {
                let via_link = fs::symlink_metadata(root).is_ok_and(|l| l.file_type().is_symlink());
                if !visit(root, &m, via_link, follow, &mut stack, jobs, out) {
                    return;
                }
            }
            Err(e) => {
                let mut o = Outcome::error(root, &format!("{}: {e}", root.display()), "io");
                o.missing_root = true;
                if out.send(o).is_err() {
                    return;
                }
            }
        }
        while let Some(top) = stack.last_mut() {
            let entry = match top.entries.next() {
                None => {
                    stack.pop();
                    continue;
                }
                Some(Err(e)) => {
                    let o = Outcome::error(&top.dir, &format!("{}: {e}", top.dir.display()), "io");
                    stack.pop();
                    if out.send(o).is_err() {
                        return;
                    }
                    continue;
                }
                Some(Ok(entry)) => entry,
            };
            let path = entry.path();
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let sent = if is_link && !follow {
                out.send(Outcome::skipped(
                    &path,
                    "symbolic link, not followed (a target inside the tree is scanned at its own \
                     path; --follow to follow)",
                ))
                .is_ok()
            } else {
                let meta = if is_link {
                    fs::metadata(&path)
                } else {
                    fs::symlink_metadata(&path)
                };
                match meta {
                    Ok(m) => visit(&path, &m, is_link, follow, &mut stack, jobs, out),
                    Err(e) if is_link => out
                        .send(Outcome::skipped(
                            &path,
                            &format!("symbolic link whose target cannot be reached: {e}"),
                        ))
                        .is_ok(),
                    Err(e) => out
                        .send(Outcome::error(
                            &path,
                            &format!("{}: {e}", path.display()),
                            "io",
                        ))
                        .is_ok(),
                }
            };
            if !sent {
                return;
            }
        }
    }
}

/// Handle one path whose metadata is known (followed if it is a link we follow). Returns false
/// when the output side has gone away.
fn visit(
    path: &Path,
    meta: &fs::Metadata,
    via_link: bool,
    follow: bool,
    stack: &mut Vec<Frame>,
    jobs: &SyncSender<Job>,
    out: &SyncSender<Outcome>,
) -> bool {
    if meta.is_file() {
        return jobs
            .send(Job {
                path: path.to_path_buf(),
                via_link,
            })
            .is_ok();
    }
    if !meta.is_dir() {
        let note = format!(
            "{}, not a regular file; not read",
            kind_name(meta.file_type())
        );
        return out.send(Outcome::skipped(path, &note)).is_ok();
    }
    let id = (meta.dev(), meta.ino());
    if follow && stack.iter().any(|f| f.id == id) {
        return out
            .send(Outcome::skipped(
                path,
                "a link back to a folder being scanned (loop); not followed",
            ))
            .is_ok();
    }
    if stack.len() >= MAX_DEPTH {
        let note = format!("folder deeper than {MAX_DEPTH} levels; not scanned");
        return out.send(Outcome::skipped(path, &note)).is_ok();
    }
    match fs::read_dir(path) {
        Ok(entries) => {
            stack.push(Frame {
                dir: path.to_path_buf(),
                entries,
                id,
            });
            true
        }
        Err(e) => out
            .send(Outcome::error(
                path,
                &format!("{}: {e}", path.display()),
                "io",
            ))
            .is_ok(),
    }
}

/// The counts kept while the lines stream out (bounded: keyed by verdict, format and problem
/// code only).
#[derive(Default)]
struct Summary {
    paths: u64,
    bytes: u64,
    statuses: BTreeMap<&'static str, u64>,
    verdicts: BTreeMap<&'static str, u64>,
    formats: BTreeMap<String, u64>,
    problems: HashMap<String, u64>,
    missing_root: bool,
    elapsed: Duration,
}

impl Summary {
    fn add(&mut self, o: &Outcome) {
        self.paths += 1;
        self.bytes += o.size;
        let status = match o.status {
            Status::Read => "read",
            Status::Unsupported => "unsupported",
            Status::Error => "error",
            Status::Skipped => "skipped",
        };
        *self.statuses.entry(status).or_default() += 1;
        if let Some(v) = o.verdict {
            *self.verdicts.entry(verdict_name(v)).or_default() += 1;
        }
        if let Some(f) = &o.format {
            *self.formats.entry(f.clone()).or_default() += 1;
        }
        for k in &o.problem_keys {
            *self.problems.entry(k.clone()).or_default() += 1;
        }
        self.missing_root |= o.missing_root;
    }

    fn count_of(&self, f: FailOn) -> u64 {
        let key = match f {
            FailOn::Invalid => "invalid",
            FailOn::Conflict => "conflict",
            FailOn::Unlabeled => "unlabeled",
            FailOn::Error => return self.statuses.get("error").copied().unwrap_or(0),
        };
        self.verdicts.get(key).copied().unwrap_or(0)
    }

    fn table(&self, jobs: usize) -> String {
        use std::fmt::Write as _;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let get = |m: &BTreeMap<&'static str, u64>, k: &str| m.get(k).copied().unwrap_or(0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "aigc-label scan: {} paths, {:.1} MB in {:.2} s ({:.0} files/s, {jobs} readers)",
            self.paths,
            self.bytes as f64 / 1e6,
            secs,
            self.paths as f64 / secs
        );
        let _ = writeln!(s, "  {:<28} {:>9}", "verdict", "files");
        for v in ["valid", "invalid", "conflict", "unlabeled"] {
            let _ = writeln!(s, "  {v:<28} {:>9}", get(&self.verdicts, v));
        }
        for (k, label) in [
            ("unsupported", "not a supported format"),
            ("error", "could not be read"),
            ("skipped", "skipped (links, FIFOs, ...)"),
        ] {
            let _ = writeln!(s, "  {label:<28} {:>9}", get(&self.statuses, k));
        }
        let _ = writeln!(s, "  {:<28} {:>9}", "format", "files");
        let mut formats: Vec<_> = self.formats.iter().collect();
        formats.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (f, n) in formats {
            let _ = writeln!(s, "  {f:<28} {n:>9}");
        }
        let mut problems: Vec<_> = self.problems.iter().collect();
        problems.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if !problems.is_empty() {
            let _ = writeln!(s, "  {:<40} {:>9}", "most common problems", "times");
            for (p, n) in problems.into_iter().take(10) {
                let _ = writeln!(s, "  {p:<40} {n:>9}");
            }
        }
        s
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Conflict => "conflict",
        Verdict::Unlabeled => "unlabeled",
    }
}

/// Write every line as it arrives, count it, and redraw the progress line on a terminal.
fn collect(rx: Receiver<Outcome>, progress: bool) -> Summary {
    let start = Instant::now();
    let mut last_draw = start;
    let mut summary = Summary::default();
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    for o in rx {
        if writeln!(stdout, "{}", o.line).is_err() {
            // The reader went away (`| head`): end quietly, as the other subcommands do.
            std::process::exit(0);
        }
        summary.add(&o);
        if progress && last_draw.elapsed() >= Duration::from_millis(100) {
            last_draw = Instant::now();
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            let spin = ['|', '/', '-', '\\'][(summary.paths / 64 % 4) as usize];
            eprint!(
                "\r\x1b[K{spin} {} paths, {:.1} MB, {:.0} files/s | valid {} invalid {} conflict {} unlabeled {} | unsupported {} errors {} skipped {}",
                summary.paths,
                summary.bytes as f64 / 1e6,
                summary.paths as f64 / secs,
                summary.verdicts.get("valid").unwrap_or(&0),
                summary.verdicts.get("invalid").unwrap_or(&0),
                summary.verdicts.get("conflict").unwrap_or(&0),
                summary.verdicts.get("unlabeled").unwrap_or(&0),
                summary.statuses.get("unsupported").unwrap_or(&0),
                summary.statuses.get("error").unwrap_or(&0),
                summary.statuses.get("skipped").unwrap_or(&0),
            );
        }
    }
    if stdout.flush().is_err() {
        std::process::exit(0);
    }
    if progress {
        eprint!("\r\x1b[K");
    }
    summary.elapsed = start.elapsed();
    summary
}
