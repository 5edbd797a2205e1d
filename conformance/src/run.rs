//! `aigc-conform run`: drive an implementation through every selected vector (libtest-mimic for
//! filtering, parallelism and the `test result:` line), grade, and write the reports.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::adapter::{resolve_program, split_command, Adapter, Limits};
use crate::checks::{self, Context, Outcome};
use crate::meta;
use crate::report::{
    AdapterInfo, HashedFile, ProfileInfo, Report, RequirementResult, Selection, SuiteInfo,
    VectorResult,
};
use crate::vector::{tree_sha256, Op, Suite, Vector};
use crate::verdict::{self, VectorOutcome};
use crate::waivers::Waivers;
use aigc_label::Profile;

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
    /// Run only shard K of N (1-based; `history::shard`; issue 11).
    pub shard: Option<(usize, usize)>,
}

/// How a run ended.
pub struct RunResult {
    /// The report (absent for `--list`).
    pub report: Option<Report>,
    /// Process exit status: 0 conformant, 1 non-conformant, 2 harness error.
    pub exit: u8,
}

/// Find the reference binary `aigc-label`: `$AIGC_LABEL`, next to this executable (or one
/// folder up, for test binaries in `target/*/deps`), cargo's target folder, then `PATH`.
pub fn find_reference() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AIGC_LABEL") {
        return Some(PathBuf::from(p));
    }
    let name = "aigc-label";
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug").join(name);
    if p.is_file() {
        return Some(p);
    }
    resolve_program(name)
}

/// The adapter runs in its scratch folder, so relative paths on its command line that name
/// existing files (the program, a script) are made absolute against the harness's cwd first.
pub fn absolutize(argv: Vec<String>) -> Vec<String> {
    argv.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let p = Path::new(&a);
            let looks_like_path = i > 0 || a.contains('/');
            if looks_like_path && p.is_relative() && p.exists() {
                std::fs::canonicalize(p)
                    .map(|c| c.display().to_string())
                    .unwrap_or(a)
            } else {
                a
            }
        })
        .collect()
}

/// Quote a word for a POSIX shell (for the reproduce command).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Is the vector inside what `info` claims? `Err` holds the reason it is not applicable.
pub fn applicability(info: &Value, v: &Vector) -> Result<(), String> {
    let role = v.op.role();
    let roles: Vec<&str> = info
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !roles.contains(&role) {
        return Err(format!(
            "not applicable: op {} needs role {role}, info declares [{}]",
            v.op.as_str(),
            roles.join(", ")
        ));
    }
    let media: Vec<&str> = info
        .get("media")
        .and_then(|m| m.get(v.op.as_str()))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match &v.media {
        Some(m) if !media.iter().any(|x| x.eq_ignore_ascii_case(m)) => Err(format!(
            "not applicable: media {m} not declared for op {} (declared: [{}])",
            v.op.as_str(),
            media.join(", ")
        )),
        None if media.is_empty() => Err(format!(
            "not applicable: no media declared for op {}",
            v.op.as_str()
        )),
        _ => Ok(()),
    }
}

/// Listing (name, length, mtime) of a folder, to detect writes outside the scratch folder.
type Snapshot = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

fn snapshot(dir: &Path) -> Snapshot {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let md = e.metadata().ok()?;
                    Some((e.path(), (md.len(), md.modified().ok())))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn snapshot_changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (p, meta) in after {
        match before.get(p) {
            None => out.push(format!("created {}", p.display())),
            Some(m) if m != meta => out.push(format!("modified {}", p.display())),
            _ => {}
        }
    }
    for p in before.keys().filter(|p| !after.contains_key(*p)) {
        out.push(format!("deleted {}", p.display()));
    }
    out
}

/// Deletes a folder when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// State shared by the trials.
struct Shared {
    suite: Suite,
    adapter: Adapter,
    profile: Profile,
    info: Value,
    waivers: Waivers,
    scratch_root: PathBuf,
    reproduce_prefix: String,
    /// Problem code of the reference decoder → requirements it breaks (catalogue `problem_codes`).
    problem_requirements: std::collections::HashMap<String, Vec<String>>,
    results: Mutex<Vec<(usize, VectorResult)>>,
    progress: Option<Progress>,
}

struct Progress {
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    fn tick(&self, id: &str) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let width = 30;
        let filled = done * width / self.total.max(1);
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[2K[{}{}] {done}/{} {}",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total,
            id.chars().take(50).collect::<String>()
        );
        if done == self.total {
            let _ = writeln!(e);
        }
    }
}

fn build_request(v: &Vector, input: &Path, output: Option<&Path>) -> Value {
    let mut req = Map::new();
    req.insert("protocol".into(), json!(1));
    req.insert("op".into(), json!(v.op.as_str()));
    req.insert("vector".into(), json!(v.id));
    req.insert("input".into(), json!(input.display().to_string()));
    req.insert("media".into(), json!(v.media));
    if let Some(out) = output {
        req.insert("output".into(), json!(out.display().to_string()));
    }
    match v.op {
        Op::Label => {
            req.insert("fields".into(), json!({}));
            req.insert("explicit".into(), Value::Null);
        }
        Op::Propagate => {
            req.insert(
                "platform".into(),
                json!({"ContentPropagator": "", "PropagateID": ""}),
            );
            req.insert("user_declared".into(), json!(false));
        }
        _ => {}
    }
    // The manifest's op-specific fields win over the defaults above.
    for (k, val) in &v.request {
        req.insert(k.clone(), val.clone());
    }
    Value::Object(req)
}

fn run_vector(sh: &Shared, index: usize, v: &Vector) -> VectorResult {
    let reproduce = format!("{} --exact {}", sh.reproduce_prefix, shell_quote(&v.id));
    let mut result = VectorResult {
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
        waiver: sh.waivers.get(&v.id).cloned(),
        unexpected_pass: false,
        expected: Value::Null,
        actual: Value::Null,
        diff: String::new(),
        request: Value::Null,
        response: None,
        stderr: String::new(),
        duration_ms: 0.0,
        reproduce,
        content_sha256: crate::release::vector_sha256(&sh.suite.root, v).ok(),
    };
    if let Err(reason) = applicability(&sh.info, v) {
        result.outcome = Outcome::NotApplicable;
        result.message = Some(reason);
        return result;
    }
    let input = match std::fs::canonicalize(v.input_path(&sh.suite.root)) {
        Ok(p) => p,
        Err(e) => {
            result.message = Some(format!("input {}: {e}", v.input));
            result
                .findings
                .push(format!("harness error: input {}: {e}", v.input));
            return result;
        }
    };
    let scratch = sh.scratch_root.join(format!("{index:04}-{}", v.id));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        result
            .findings
            .push(format!("harness error: scratch folder: {e}"));
        return result;
    }
    let output = match v.op {
        Op::Read => None,
        _ => {
            let ext = input
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            Some(scratch.join(format!("output{ext}")))
        }
    };
    let request = build_request(v, &input, output.as_deref());
    let watched = input.parent().unwrap_or(Path::new("/")).to_path_buf();
    let before = snapshot(&watched);
    let exchange = sh.adapter.request(&request, &scratch);
    let changes = snapshot_changes(&before, &snapshot(&watched));
    let ctx = Context {
        profile: &sh.profile,
        problem_requirements: &sh.problem_requirements,
    };
    let eval = checks::evaluate(v, &exchange, &input, output.as_deref(), &ctx);
    result.outcome = eval.outcome;
    result.findings = eval.findings;
    // Blame only lands on requirements the catalogue has; otherwise the vector's own take it,
    // so that a failure is never lost.
    result.blame = eval
        .blame
        .into_iter()
        .filter(|id| sh.suite.requirements.iter().any(|r| &r.id == id))
        .collect();
    if result.blame.is_empty() && eval.outcome.is_failure() {
        result.blame = v.requirements.clone();
    }
    if eval.outcome != Outcome::Pass {
        result.diff = checks::diff(&eval.expected, &eval.actual);
    }
    result.expected = eval.expected;
    result.actual = eval.actual;
    if !changes.is_empty() {
        result.outcome = Outcome::WroteOutside;
        result.blame = v.requirements.clone();
        result.findings.insert(
            0,
            format!("wrote outside its scratch folder: {}", changes.join(", ")),
        );
    }
    if let Err(f) = &exchange.response {
        result.message = Some(f.to_string());
    }
    result.response = exchange.response.as_ref().ok().cloned();
    result.stderr = exchange.stderr;
    result.duration_ms = exchange.elapsed.as_secs_f64() * 1000.0;
    result.request = request;
    if result.waiver.is_some() && result.outcome == Outcome::Pass {
        result.unexpected_pass = true;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn trial_verdict(r: &VectorResult) -> Result<Completion, Failed> {
    if r.outcome == Outcome::NotApplicable {
        return Ok(Completion::ignored_with(
            r.message.clone().unwrap_or_default(),
        ));
    }
    if r.unexpected_pass {
        return Err(format!("unexpected pass: the waiver for {} can be removed", r.id).into());
    }
    if let (Some(w), true) = (&r.waiver, r.outcome.is_failure()) {
        return Ok(Completion::ignored_with(format!(
            "expected failure ({}), waived until {}",
            r.outcome.as_str(),
            w.expires
        )));
    }
    if r.outcome == Outcome::Pass {
        return Ok(Completion::Completed);
    }
    let mut msg = format!("{}: {}", r.outcome.as_str(), r.findings.join("; "));
    if !r.diff.is_empty() {
        msg.push('\n');
        msg.push_str(&r.diff);
    }
    msg.push_str(&format!("\nreproduce: {}", r.reproduce));
    Err(msg.into())
}

/// Run the suite.
pub fn run(opts: &RunOptions) -> Result<RunResult, String> {
    let started = meta::now_secs();
    let (suite, errors) = Suite::load(&opts.vectors);
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(format!(
            "the vectors do not load (run `aigc-conform lint`):\n{}",
            list.join("\n")
        ));
    }
    let profile_path = opts.vectors.join("profile.yaml");
    let profile = Profile::load(&profile_path)?;
    let mut limits: Limits = profile.section("harness").unwrap_or_default();
    if let Some(t) = opts.timeout_s {
        limits.timeout_s = t;
    }

    let (argv, command, reference) = match &opts.adapter {
        Some(cmd) => (absolutize(split_command(cmd)?), cmd.clone(), false),
        None => {
            let exe = find_reference().ok_or(
                "cannot find the reference binary aigc-label (build it with `cargo build -p aigc-label`, or set AIGC_LABEL)",
            )?;
            let argv = vec![exe.display().to_string(), "adapter".to_string()];
            let cmd = argv
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ");
            (argv, cmd, true)
        }
    };

    let mut args = Arguments {
        filter: opts.filter.clone(),
        exact: opts.exact,
        list: opts.list,
        test_threads: opts.jobs,
        quiet: opts.quiet,
        ..Arguments::default()
    };

    if opts.list {
        let trials = suite
            .vectors
            .iter()
            .map(|v| Trial::test(v.id.clone(), || Ok(())).with_kind(v.op.as_str()))
            .collect();
        let _ = libtest_mimic::run(&args, trials);
        return Ok(RunResult {
            report: None,
            exit: 0,
        });
    }

    let scratch_root = std::env::temp_dir().join(format!(
        "aigc-conform-{}-{}",
        std::process::id(),
        (started * 1000.0) as u64
    ));
    std::fs::create_dir_all(&scratch_root)
        .map_err(|e| format!("{}: {e}", scratch_root.display()))?;
    // Removed on every way out, early errors included.
    let _cleanup = RemoveOnDrop(scratch_root.clone());
    let mut adapter = Adapter::new(argv.clone(), limits, scratch_root.clone());

    // info: always one process, so that a broken persistent mode cannot hide the answer.
    let info_dir = scratch_root.join("info");
    let _ = std::fs::create_dir_all(&info_dir);
    let info_req = json!({"protocol": 1, "op": "info", "vector": "info"});
    let ex = adapter.request(&info_req, &info_dir);
    let info = match ex.response {
        Ok(v) if v.get("status").and_then(Value::as_str) == Some("ok") => v,
        Ok(v) => return Err(format!("the adapter's info answer is not ok: {v}")),
        Err(f) => {
            return Err(format!(
                "the adapter cannot answer info ({f}); stderr:\n{}",
                ex.stderr
            ))
        }
    };
    let persistent =
        !opts.process_per_request && info.get("persistent").and_then(Value::as_bool) == Some(true);
    adapter.set_persistent(persistent);

    let ids: BTreeSet<&str> = suite.vectors.iter().map(|v| v.id.as_str()).collect();
    let waivers = match &opts.waivers {
        Some(p) => Waivers::load(p, &meta::today(), &|id| ids.contains(id))?,
        None => Waivers::default(),
    };
    for w in &waivers.warnings {
        eprintln!("warning: {w}");
    }

    let mut reproduce_prefix = String::from("aigc-conform run");
    if opts.vectors_given {
        reproduce_prefix.push_str(&format!(
            " --vectors {}",
            shell_quote(&opts.vectors.display().to_string())
        ));
    }
    if !reference {
        reproduce_prefix.push_str(&format!(" --adapter {}", shell_quote(&command)));
    }
    if opts.process_per_request {
        reproduce_prefix.push_str(" --process-per-request");
    }
    if let Some(t) = opts.timeout_s {
        reproduce_prefix.push_str(&format!(" --timeout {t}"));
    }

    // history (issue 11): `--shard K/N` keeps the vectors of one shard.
    let in_shard = crate::history::shard::selector(&suite, opts.shard);
    // The progress bar goes to stderr only when stdout (libtest's lines) goes elsewhere, so
    // the two never interleave on one terminal.
    let selected_count = suite
        .vectors
        .iter()
        .filter(|v| in_shard(&v.id))
        .filter(|v| match (&opts.filter, opts.exact) {
            (None, _) => true,
            (Some(f), true) => &v.id == f,
            (Some(f), false) => v.id.contains(f.as_str()) || v.op.as_str().contains(f.as_str()),
        })
        .count();
    let progress = (std::io::stderr().is_terminal()
        && !std::io::stdout().is_terminal()
        && selected_count >= 20)
        .then(|| Progress {
            total: selected_count,
            done: AtomicUsize::new(0),
        });

    let mut problem_requirements: std::collections::HashMap<String, Vec<String>> =
        Default::default();
    for r in &suite.requirements {
        for code in &r.problem_codes {
            problem_requirements
                .entry(code.clone())
                .or_default()
                .push(r.id.clone());
        }
    }
    let shared = Arc::new(Shared {
        problem_requirements,
        suite,
        adapter,
        profile,
        info: info.clone(),
        waivers,
        scratch_root: scratch_root.clone(),
        reproduce_prefix,
        results: Mutex::new(Vec::new()),
        progress,
    });
    let trials: Vec<Trial> = (0..shared.suite.vectors.len())
        .filter(|&i| in_shard(&shared.suite.vectors[i].id))
        .map(|i| {
            let sh = Arc::clone(&shared);
            let v = &shared.suite.vectors[i];
            Trial::ignorable_test(v.id.clone(), move || {
                let v = &sh.suite.vectors[i];
                let r = run_vector(&sh, i, v);
                let verdict = trial_verdict(&r);
                if let Some(p) = &sh.progress {
                    p.tick(&v.id);
                }
                if let Ok(mut all) = sh.results.lock() {
                    all.push((i, r));
                }
                verdict
            })
            .with_kind(v.op.as_str())
        })
        .collect();
    args.test_threads = opts.jobs;
    let _conclusion = libtest_mimic::run(&args, trials);
    shared.adapter.shutdown();

    let finished = meta::now_secs();
    let mut results = shared
        .results
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<VectorResult> = results.into_iter().map(|(_, r)| r).collect();

    let report = build_report(
        &shared,
        opts,
        results,
        ReportMeta {
            command,
            argv,
            reference,
            persistent,
            limits,
            started,
            finished,
        },
    );
    if let Some(dir) = &opts.out {
        crate::report::write_all(&report, dir)?;
        eprintln!("reports written to {}", dir.display());
    }
    println!(
        "conformance: {} ({} vectors: {})",
        report.overall.as_str(),
        report.vectors.len(),
        report
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let harness_error = report
        .vectors
        .iter()
        .any(|v| v.outcome == Outcome::HarnessError);
    let exit = if harness_error {
        2
    } else {
        report.overall.exit_code()
    };
    Ok(RunResult {
        report: Some(report),
        exit,
    })
}

struct ReportMeta {
    command: String,
    argv: Vec<String>,
    reference: bool,
    persistent: bool,
    limits: Limits,
    started: f64,
    finished: f64,
}

fn build_report(
    sh: &Shared,
    opts: &RunOptions,
    vectors: Vec<VectorResult>,
    m: ReportMeta,
) -> Report {
    let suite = &sh.suite;
    let mut requirements = Vec::new();
    let mut graded = Vec::new();
    for req in &suite.requirements {
        // A requirement with no vector of its own still gets a verdict when a failure is
        // charged to it (checks::blame).
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
                // A failure charged elsewhere (checks::blame) does not fail this requirement.
                outcome: if v.outcome.is_failure()
                    && !v.blame.is_empty()
                    && !v.blame.contains(&req.id)
                {
                    Outcome::Pass
                } else {
                    v.outcome
                },
                waived: v.waiver.is_some(),
            })
            .collect();
        let verdict = verdict::requirement_verdict(req, has_vectors, &outcomes);
        graded.push((req.level, verdict));
        requirements.push(RequirementResult {
            id: req.id.clone(),
            clause: req.clause.clone(),
            level: req.level,
            testable: req.testable,
            confidence: req.confidence.clone(),
            zh: req.zh.clone(),
            en: req.en.clone(),
            evidence: req.evidence.clone(),
            verdict,
            vectors: mine.iter().map(|v| v.id.clone()).collect(),
        });
    }
    let overall = verdict::overall(&graded);
    let mut counts = BTreeMap::new();
    for v in &vectors {
        *counts.entry(v.outcome.as_str().to_string()).or_insert(0) += 1;
    }
    let mut warnings = sh.waivers.warnings.clone();
    for v in vectors.iter().filter(|v| v.unexpected_pass) {
        warnings.push(format!(
            "unexpected pass: {} is waived but passes; remove the waiver",
            v.id
        ));
    }
    let executable = resolve_program(&m.argv[0]);
    let argument_files = m.argv[1..]
        .iter()
        .filter_map(|a| {
            let p = Path::new(a);
            p.is_file().then(|| HashedFile {
                path: a.clone(),
                sha256: meta::file_sha256(p).unwrap_or_default(),
            })
        })
        .collect();
    let profile_path = opts.vectors.join("profile.yaml");
    Report {
        report_format: crate::report::REPORT_FORMAT,
        tool: format!("aigc-conform {}", env!("CARGO_PKG_VERSION")),
        suite: SuiteInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            root: opts.vectors.display().to_string(),
            vectors_sha256: tree_sha256(&opts.vectors),
            files: crate::vector::all_files(&opts.vectors).len(),
            vector_count: suite.vectors.len(),
            release: crate::release::load_release(&opts.vectors).ok(),
        },
        profile: ProfileInfo {
            id: sh.profile.id.clone(),
            sha256: meta::file_sha256(&profile_path).unwrap_or_default(),
        },
        adapter: AdapterInfo {
            command: m.command,
            reference: m.reference,
            executable_sha256: executable.as_deref().and_then(meta::file_sha256),
            executable: executable.map(|p| p.display().to_string()),
            argument_files,
            mode: if m.persistent {
                "persistent".into()
            } else {
                "process-per-request".into()
            },
            info: sh.info.clone(),
        },
        machine: meta::machine(),
        started: meta::rfc3339(m.started),
        finished: meta::rfc3339(m.finished),
        duration_s: (Duration::from_secs_f64((m.finished - m.started).max(0.0))).as_secs_f64(),
        limits: m.limits,
        selection: Selection {
            filter: opts.filter.clone(),
            exact: opts.exact,
            selected: vectors.len(),
            total: suite.vectors.len(),
            shard: opts.shard.map(|(k, n)| format!("{k}/{n}")),
        },
        overall,
        counts,
        requirements,
        vectors,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc-1"), "abc-1");
        assert_eq!(shell_quote("python3 x.py"), "'python3 x.py'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn snapshot_diff() {
        let mut a = Snapshot::new();
        a.insert("x".into(), (1, None));
        let mut b = a.clone();
        b.insert("y".into(), (2, None));
        assert_eq!(snapshot_changes(&a, &b), vec!["created y".to_string()]);
        assert_eq!(snapshot_changes(&b, &a), vec!["deleted y".to_string()]);
    }
}
