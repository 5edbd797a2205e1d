//! A conformance session: [`Session::prepare`] loads the suite and the profile, starts the
//! implementation and asks it `info`; [`Session::select`] picks the vectors (the one filter rule);
//! [`Session::execute`] runs them (libtest-mimic only schedules and prints) and returns one
//! [`VectorResult`] per selected vector, in suite order; `Report::build` (in `report::build`)
//! grades them.
//!
//! The seams: another implementation (an isolated one, a hostile one for the harness's own
//! tests, the reference in-process) comes in through [`Session::prepare_with`]; a partial or
//! sharded run is a different list of indices for [`Session::execute`] (results carry their
//! vector, so merged shards still build one report); a new outcome is a [`Outcome`] variant
//! set in [`Session::run_vector`] or the checks.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::adapter::{split_command, Adapter, Limits};
use crate::checks::{self, Context, Outcome};
use crate::implementation::{absolutize, find_reference, shell_quote, Identity};
use crate::implementation::{Implementation, Process};
use crate::meta;
use crate::report::VectorResult;
use crate::vector::{Op, Suite, Vector};
use crate::waivers::Waivers;
use aigc_label::protocol::{
    InfoRequest, InfoResponse, LabelRequest, PlatformInfo, PropagateRequest, ReadRequest, Request,
    RequestBody, Role,
};
use aigc_label::Profile;

/// Which vectors run: the FILTER argument of `run` (the only place its rule is written).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Substring of the vector id or op name (or the whole id, with `exact`).
    pub text: Option<String>,
    /// The text must equal the id.
    pub exact: bool,
    /// Only shard K of N (1-based; `history::shard`, issue 11).
    pub shard: Option<(usize, usize)>,
}

impl Filter {
    /// Whether `v` is selected.
    pub fn matches(&self, v: &Vector) -> bool {
        match (&self.text, self.exact) {
            (None, _) => true,
            (Some(f), true) => &v.id == f,
            (Some(f), false) => v.id.contains(f.as_str()) || v.op.as_str().contains(f.as_str()),
        }
    }

    /// Indices (into `suite.vectors`) of the selected vectors, in suite order.
    pub fn select(&self, suite: &Suite) -> Vec<usize> {
        let in_shard = crate::history::shard::selector(suite, self.shard);
        (0..suite.vectors.len())
            .filter(|&i| self.matches(&suite.vectors[i]) && in_shard(&suite.vectors[i].id))
            .collect()
    }
}

/// Is the vector inside what `info` claims? `Err` holds the reason it is not applicable.
pub fn applicability(info: &InfoResponse, v: &Vector) -> Result<(), String> {
    let role = v.op.role();
    if !info.roles.iter().any(|r| r.as_str() == role) {
        let roles: Vec<&str> = info.roles.iter().map(|r| Role::as_str(*r)).collect();
        return Err(format!(
            "not applicable: op {} needs role {role}, info declares [{}]",
            v.op.as_str(),
            roles.join(", ")
        ));
    }
    let media: &[String] = info.media.get(v.op.as_str()).map_or(&[], |m| m);
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

/// Deletes a folder when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything a run needs, ready before the first vector.
pub struct Session {
    /// The vectors folder.
    pub vectors_dir: PathBuf,
    /// The loaded tree.
    pub suite: Suite,
    /// The interpretation profile.
    pub profile: Profile,
    /// Timeouts and caps in force.
    pub limits: Limits,
    /// The implementation under test.
    pub implementation: Box<dyn Implementation>,
    /// Its `info` answer as sent (kept whole for the report: an adapter may add fields).
    pub info_raw: Value,
    /// Its `info` answer, typed.
    pub info: InfoResponse,
    /// Active waivers.
    pub waivers: Waivers,
    /// `aigc-conform run ...` without the vector id: what reproduces one vector.
    pub reproduce_prefix: String,
    /// Reference problem code → the requirements it breaks (catalogue `problem_codes`).
    charges: checks::blame::Charges,
    scratch_root: PathBuf,
    _cleanup: RemoveOnDrop,
}

/// What [`Session::prepare`] needs besides the vectors folder.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Adapter command; `None` runs the reference (`aigc-label adapter`).
    pub adapter: Option<String>,
    /// Waiver file.
    pub waivers: Option<PathBuf>,
    /// Override of `harness.timeout_s`.
    pub timeout_s: Option<f64>,
    /// Never use persistent mode, even if the adapter offers it.
    pub process_per_request: bool,
    /// Whether the vectors folder was given (then the reproduce command repeats it).
    pub vectors_given: bool,
}

/// Load the suite (refusing one that does not lint-load).
pub fn load_suite(vectors: &Path) -> Result<Suite, String> {
    let (suite, errors) = Suite::load(vectors);
    if errors.is_empty() {
        return Ok(suite);
    }
    let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    Err(format!(
        "the vectors do not load (run `aigc-conform lint`):\n{}",
        list.join("\n")
    ))
}

/// The process implementation for `--adapter COMMAND`, or the reference's own adapter.
fn process_implementation(
    adapter: Option<&str>,
    limits: Limits,
    scratch: &Path,
) -> Result<Process, String> {
    let identity = match adapter {
        Some(cmd) => Identity {
            argv: absolutize(split_command(cmd)?),
            command: cmd.to_string(),
            reference: false,
        },
        None => {
            let exe = find_reference().ok_or(
                "cannot find the reference binary aigc-label (build it with `cargo build -p aigc-label`, or set AIGC_LABEL)",
            )?;
            let argv = vec![exe.display().to_string(), "adapter".to_string()];
            let words: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
            Identity {
                command: words.join(" "),
                argv,
                reference: true,
            }
        }
    };
    let adapter = Adapter::new(identity.argv.clone(), limits, scratch.to_path_buf());
    Ok(Process { adapter, identity })
}

/// Ask `info`: always one process, so that a broken persistent mode cannot hide the answer.
fn handshake(imp: &dyn Implementation, scratch: &Path) -> Result<(Value, InfoResponse), String> {
    let dir = scratch.join("info");
    let _ = std::fs::create_dir_all(&dir);
    let request = Request::new(RequestBody::Info(InfoRequest {
        vector: "info".into(),
    }));
    let ex = imp.request(&wire(&request), &dir);
    let raw = ex.response.map_err(|f| {
        format!(
            "the adapter cannot answer info ({f}); stderr:\n{}",
            ex.stderr
        )
    })?;
    match serde_json::from_value::<InfoResponse>(raw.clone()) {
        Ok(info) if info.status == aigc_label::protocol::Status::Ok => Ok((raw, info)),
        _ => Err(format!("the adapter's info answer is not ok: {raw}")),
    }
}

/// A typed request as JSON.
fn wire(request: &Request) -> Value {
    serde_json::to_value(request).unwrap_or(Value::Null)
}

impl Session {
    /// Load the suite and profile, start the implementation (`setup.adapter`, or the reference's
    /// own adapter process), ask `info`, load the waivers.
    pub fn prepare(vectors: &Path, setup: &Setup) -> Result<Session, String> {
        Session::prepare_with(vectors, setup, |limits, scratch| {
            let p = process_implementation(setup.adapter.as_deref(), limits, scratch)?;
            Ok(Box::new(p))
        })
    }

    /// [`Session::prepare`] with an implementation of the caller's (e.g. [`InProcess`]), made
    /// from the limits in force and the session's scratch folder.
    ///
    /// [`InProcess`]: crate::implementation::InProcess
    pub fn prepare_with(
        vectors: &Path,
        setup: &Setup,
        make: impl FnOnce(Limits, &Path) -> Result<Box<dyn Implementation>, String>,
    ) -> Result<Session, String> {
        let suite = load_suite(vectors)?;
        let profile = Profile::load(&vectors.join("profile.yaml"))?;
        let mut limits: Limits = profile.section("harness").unwrap_or_default();
        if let Some(t) = setup.timeout_s {
            limits.timeout_s = t;
        }
        let scratch_root = std::env::temp_dir().join(format!(
            "aigc-conform-{}-{}",
            std::process::id(),
            (meta::now_secs() * 1000.0) as u64
        ));
        std::fs::create_dir_all(&scratch_root)
            .map_err(|e| format!("{}: {e}", scratch_root.display()))?;
        // Removed on every way out, early errors included.
        let cleanup = RemoveOnDrop(scratch_root.clone());
        let mut imp = make(limits, &scratch_root)?;
        let (info_raw, info) = handshake(imp.as_ref(), &scratch_root)?;
        imp.set_persistent(!setup.process_per_request && info.persistent);
        let ids: BTreeSet<&str> = suite.vectors.iter().map(|v| v.id.as_str()).collect();
        let waivers = match &setup.waivers {
            Some(p) => Waivers::load(p, &meta::today(), &|id| ids.contains(id))?,
            None => Waivers::default(),
        };
        for w in &waivers.warnings {
            eprintln!("warning: {w}");
        }
        let reproduce_prefix = reproduce_prefix(vectors, setup, imp.identity().reference);
        let charges = checks::blame::Charges::from_catalogue(&suite.requirements);
        Ok(Session {
            vectors_dir: vectors.to_path_buf(),
            suite,
            profile,
            limits,
            implementation: imp,
            info_raw,
            info,
            waivers,
            reproduce_prefix,
            charges,
            scratch_root,
            _cleanup: cleanup,
        })
    }

    /// Run the vectors at `selected` (indices from [`Filter::select`]) with libtest-mimic's
    /// scheduling and output (`args` carries threads, quiet; its own filter is not used).
    pub fn execute(self: &Arc<Self>, selected: &[usize], args: &Arguments) -> Vec<VectorResult> {
        let results: Arc<Mutex<Vec<(usize, VectorResult)>>> = Arc::default();
        // The progress bar goes to stderr only when stdout (libtest's lines) goes elsewhere, so
        // the two never interleave on one terminal.
        let progress = (std::io::stderr().is_terminal()
            && !std::io::stdout().is_terminal()
            && selected.len() >= 20)
            .then(|| Arc::new(Progress::new(selected.len())));
        let trials: Vec<Trial> = selected
            .iter()
            .map(|&i| {
                let (sh, results, progress) = (Arc::clone(self), results.clone(), progress.clone());
                let v = &self.suite.vectors[i];
                Trial::ignorable_test(v.id.clone(), move || {
                    let r = sh.run_vector(i);
                    let verdict = trial_verdict(&r);
                    if let Some(p) = &progress {
                        p.tick(&r.id);
                    }
                    if let Ok(mut all) = results.lock() {
                        all.push((i, r));
                    }
                    verdict
                })
                .with_kind(v.op.as_str())
            })
            .collect();
        let args = Arguments {
            filter: None,
            exact: false,
            ..args.clone()
        };
        let _conclusion = libtest_mimic::run(&args, trials);
        self.implementation.shutdown();
        let mut results = results
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// The per-run scratch folder (each request gets a folder beneath it).
    pub fn scratch_root(&self) -> &Path {
        &self.scratch_root
    }

    /// The request for a vector: the protocol's defaults, then the manifest's `request:` keys.
    pub fn request_for(v: &Vector, input: &Path, output: Option<&Path>) -> Value {
        let (vector, input) = (v.id.clone(), input.display().to_string());
        let media = v.media.clone();
        let output = output.map(|o| o.display().to_string()).unwrap_or_default();
        let body = match v.op {
            Op::Read => RequestBody::Read(ReadRequest {
                vector,
                input,
                media,
            }),
            Op::Label => RequestBody::Label(LabelRequest {
                vector,
                input,
                media,
                output,
                fields: Default::default(),
                explicit: None,
            }),
            Op::Propagate => RequestBody::Propagate(PropagateRequest {
                vector,
                input,
                media,
                output,
                platform: PlatformInfo::default(),
                user_declared: false,
            }),
        };
        let mut request = wire(&Request::new(body));
        // The manifest's op-specific fields win over the defaults (vectors may send malformed
        // shapes on purpose, so they are merged as JSON).
        if let Some(obj) = request.as_object_mut() {
            for (k, val) in &v.request {
                obj.insert(k.clone(), val.clone());
            }
        }
        request
    }

    /// Run one vector: applicability, the request in its scratch folder, the checks.
    pub fn run_vector(&self, index: usize) -> VectorResult {
        let v = &self.suite.vectors[index];
        let mut result = VectorResult::new(
            v,
            self.waivers.get(&v.id).cloned(),
            format!("{} --exact {}", self.reproduce_prefix, shell_quote(&v.id)),
        );
        result.content_sha256 = crate::release::vector_sha256(&self.suite.root, v).ok();
        if let Err(reason) = applicability(&self.info, v) {
            result.outcome = Outcome::NotApplicable;
            result.message = Some(reason);
            return result;
        }
        let input = match std::fs::canonicalize(v.input_path(&self.suite.root)) {
            Ok(p) => p,
            Err(e) => {
                result.message = Some(format!("input {}: {e}", v.input));
                result
                    .findings
                    .push(format!("harness error: input {}: {e}", v.input));
                return result;
            }
        };
        let scratch = self.scratch_root.join(format!("{index:04}-{}", v.id));
        if let Err(e) = std::fs::create_dir_all(&scratch) {
            result
                .findings
                .push(format!("harness error: scratch folder: {e}"));
            return result;
        }
        let output = (v.op != Op::Read).then(|| {
            let ext = input
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            scratch.join(format!("output{ext}"))
        });
        let request = Session::request_for(v, &input, output.as_deref());
        let watched = input.parent().unwrap_or(Path::new("/")).to_path_buf();
        let before = snapshot(&watched);
        let exchange = self.implementation.request(&request, &scratch);
        let changes = snapshot_changes(&before, &snapshot(&watched));
        let ctx = Context {
            profile: &self.profile,
            charges: &self.charges,
        };
        let eval = checks::evaluate(v, &exchange, &input, output.as_deref(), &ctx);
        result.record(v, eval, &self.suite, changes);
        result.record_exchange(request, exchange);
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }
}

fn reproduce_prefix(vectors: &Path, setup: &Setup, reference: bool) -> String {
    let mut prefix = String::from("aigc-conform run");
    if setup.vectors_given {
        prefix.push_str(&format!(
            " --vectors {}",
            shell_quote(&vectors.display().to_string())
        ));
    }
    if let (false, Some(cmd)) = (reference, &setup.adapter) {
        prefix.push_str(&format!(" --adapter {}", shell_quote(cmd)));
    }
    if setup.process_per_request {
        prefix.push_str(" --process-per-request");
    }
    if let Some(t) = setup.timeout_s {
        prefix.push_str(&format!(" --timeout {t}"));
    }
    prefix
}

/// How libtest-mimic shows a vector's result.
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

/// A progress bar on stderr.
struct Progress {
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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
