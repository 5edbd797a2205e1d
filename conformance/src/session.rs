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

use crate::adapter::{split_command, Adapter, Failure, Limits};
use crate::checks::{self, Context, Outcome};
use crate::implementation::{absolutize, find_reference, shell_quote, Identity};
use crate::implementation::{Implementation, Process};
use crate::meta;
use crate::report::VectorResult;
use crate::sandbox::{Isolation, IsolationChoice, Sandbox};
use crate::vector::{Op, Suite, Vector};
use crate::waivers::Waivers;
use aigc_label::protocol::{
    InfoRequest, InfoResponse, LabelRequest, PlatformInfo, PropagateRequest, ReadRequest, Request,
    RequestBody, Role,
};
use aigc_label::Profile;

/// Which vectors run: the FILTER argument of `run` and its `--requirement`, `--op`, `--media`,
/// `--skip` and `--shard` options (the only place their rule is written). Every criterion given
/// must hold; a list criterion holds when any of its values does.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Substring of the vector id or op name (or the whole id, with `exact`).
    pub text: Option<String>,
    /// The text must equal the id.
    pub exact: bool,
    /// Requirement ids: the vector names one of them.
    pub requirements: Vec<String>,
    /// Op names: the vector's op is one of them.
    pub ops: Vec<String>,
    /// Media types: the vector's media type is one of them (case-insensitive).
    pub media: Vec<String>,
    /// Substrings of vector ids to leave out.
    pub skip: Vec<String>,
    /// Only shard K of N (1-based; `history::shard`, issue 11).
    pub shard: Option<(usize, usize)>,
}

impl Filter {
    /// Whether `v` is selected (the shard aside: see [`Filter::select`]).
    pub fn matches(&self, v: &Vector) -> bool {
        let text = match (&self.text, self.exact) {
            (None, _) => true,
            (Some(f), true) => &v.id == f,
            (Some(f), false) => v.id.contains(f.as_str()) || v.op.as_str().contains(f.as_str()),
        };
        let requirement = self.requirements.is_empty()
            || self.requirements.iter().any(|r| v.requirements.contains(r));
        let op = self.ops.is_empty() || self.ops.iter().any(|o| o == v.op.as_str());
        let media = self.media.is_empty()
            || v.media
                .as_deref()
                .is_some_and(|m| self.media.iter().any(|x| x.eq_ignore_ascii_case(m)));
        let skipped = self.skip.iter().any(|p| v.id.contains(p.as_str()));
        text && requirement && op && media && !skipped
    }

    /// Whether anything narrows the selection (then the run is partial, whatever it selects).
    pub fn is_subset(&self) -> bool {
        self.text.is_some()
            || !self.requirements.is_empty()
            || !self.ops.is_empty()
            || !self.media.is_empty()
            || !self.skip.is_empty()
            || self.shard.is_some()
    }

    /// Indices (into `suite.vectors`) of the selected vectors, in suite order.
    pub fn select(&self, suite: &Suite) -> Vec<usize> {
        let in_shard = crate::history::shard::selector(suite, self.shard);
        (0..suite.vectors.len())
            .filter(|&i| self.matches(&suite.vectors[i]) && in_shard(&suite.vectors[i].id))
            .collect()
    }

    /// Refuse values that cannot select anything because they are misspelt (an unknown op,
    /// requirement id or media type), naming the nearest valid one.
    pub fn check(&self, suite: &Suite, media: &crate::scope::MediaNames) -> Result<(), String> {
        use crate::scope::{did_you_mean, nearest};
        let mut problems = Vec::new();
        let ops = ["read", "label", "propagate"];
        for o in self.ops.iter().filter(|o| !ops.contains(&o.as_str())) {
            problems.push(format!(
                "--op {o}: no such op{}",
                did_you_mean(nearest(o, ops.iter().copied()))
            ));
        }
        let ids = suite.requirements.iter().map(|r| r.id.as_str());
        for r in &self.requirements {
            if !suite.requirements.iter().any(|q| &q.id == r) {
                problems.push(format!(
                    "--requirement {r}: not in the catalogue{}",
                    did_you_mean(nearest(r, ids.clone()))
                ));
            }
        }
        for m in self.media.iter().filter(|m| !media.is_valid(m)) {
            problems.push(format!(
                "--media {m}: not a media type of the suite{}",
                did_you_mean(media.suggest(m))
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The message when nothing is selected.
    pub fn nothing_selected(&self, suite: &Suite) -> String {
        format!(
            "no vector selected: the filter matches none of the {} vectors (see `aigc-conform run --list`); a run of zero vectors has no verdict",
            suite.vectors.len()
        )
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

/// Remove the scratch folders (`aigc-conform-PID-MS`) that a killed run left in `temp`: only
/// real folders (never through a symlink), only when process PID is gone (`/proc/PID` absent;
/// without /proc nothing is removed, and a reused PID keeps its folder until a later run). A
/// SIGKILLed harness cannot clean up after itself, so the next run does it (issue 16).
fn remove_stale_scratch(temp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten().take(100_000) {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("aigc-conform-")) else {
            continue;
        };
        let Some((pid, ms)) = rest.split_once('-') else {
            continue;
        };
        if pid.is_empty()
            || ms.is_empty()
            || !pid.bytes().chain(ms.bytes()).all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
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
    /// SHA-256 of the vectors tree taken before the adapter ran (`vector::tree_sha256`); the
    /// report records this one, and the tree is checked against it after the run.
    pub vectors_sha256: String,
    /// Each file of the vectors tree and its SHA-256, before the run.
    vectors_files: BTreeMap<PathBuf, String>,
    /// Why the implementation could not be tested at all (`info` failed), with the evidence;
    /// then no vector is sent and every one is a harness error.
    pub info_failure: Option<String>,
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
    /// How the adapter is confined (`--isolation`).
    pub isolation: IsolationChoice,
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
    vectors: &Path,
    isolation: IsolationChoice,
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
    let isolation = isolation.resolve()?;
    let mut adapter = Adapter::new(identity.argv.clone(), limits, scratch.to_path_buf());
    let mut sandbox = Sandbox::for_command(isolation, &identity.argv, vectors);
    // The reference is public: an adapter may wrap it or compare with it ($AIGC_LABEL).
    if let Some(reference) = find_reference() {
        sandbox.allow_program(&reference);
    }
    adapter.set_sandbox(sandbox);
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
            let p = process_implementation(
                setup.adapter.as_deref(),
                limits,
                scratch,
                vectors,
                setup.isolation,
            )?;
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
        // Before the implementation runs at all (it answers `info` below).
        let vectors_files = file_digests(vectors);
        let vectors_sha256 = tree_digest(&vectors_files);
        let suite = load_suite(vectors)?;
        let profile = Profile::load(&vectors.join("profile.yaml"))?;
        let mut limits: Limits = profile.section("harness").unwrap_or_default();
        if let Some(t) = setup.timeout_s {
            limits.timeout_s = t;
        }
        remove_stale_scratch(&std::env::temp_dir());
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
        // An adapter that cannot answer `info` is still recorded: the run goes on with no vector
        // sent, every one a harness error carrying the evidence, and the reports are written
        // (verdict: cannot be tested; exit status 2).
        let (info_raw, info, info_failure) = match handshake(imp.as_ref(), &scratch_root) {
            Ok((raw, info)) => (raw, info, None),
            Err(evidence) => {
                eprintln!("aigc-conform: {evidence}");
                let info = InfoResponse {
                    status: aigc_label::protocol::Status::Error,
                    name: "?".into(),
                    version: "?".into(),
                    roles: Vec::new(),
                    media: Default::default(),
                    persistent: false,
                };
                let raw = serde_json::json!({"status": "error", "message": evidence});
                (raw, info, Some(evidence))
            }
        };
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
            vectors_sha256,
            vectors_files,
            info_failure,
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
        let mut results: Vec<VectorResult> = results.into_iter().map(|(_, r)| r).collect();
        if let Err(changed) = self.check_vectors_unchanged() {
            // The tree the run was judged on is not the tree it started with: no pass of this
            // run can be trusted (which request did it is unknown with parallel jobs), so every
            // pass becomes a harness error (exit status 2); failures stand.
            let text = format!(
                "harness error: the vectors tree changed during the run ({changed}); the report records the tree as it was before the run"
            );
            eprintln!("aigc-conform: {text}");
            for r in &mut results {
                r.findings.insert(0, text.clone());
                if r.outcome == Outcome::Pass {
                    r.outcome = Outcome::HarnessError;
                    r.message = Some(text.clone());
                }
            }
        }
        results
    }

    /// Compare the vectors tree with its state before the run; `Err` names every file created,
    /// modified or deleted.
    pub fn check_vectors_unchanged(&self) -> Result<(), String> {
        let now = file_digests(&self.vectors_dir);
        let mut changed = Vec::new();
        for (p, h) in &now {
            match self.vectors_files.get(p) {
                None => changed.push(format!("created {}", p.display())),
                Some(old) if old != h => changed.push(format!("modified {}", p.display())),
                _ => {}
            }
        }
        for p in self.vectors_files.keys().filter(|p| !now.contains_key(*p)) {
            changed.push(format!("deleted {}", p.display()));
        }
        if changed.is_empty() {
            Ok(())
        } else {
            Err(changed.join(", "))
        }
    }

    /// How the implementation's processes are confined (the certification run requires
    /// [`Isolation::Bwrap`]).
    pub fn isolation(&self) -> Isolation {
        self.implementation.isolation()
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
        if let Some(evidence) = &self.info_failure {
            result.message = Some("not run: the adapter cannot answer info".into());
            result.findings.push(format!("harness error: {evidence}"));
            redact_scratch(&mut result, &self.scratch_root);
            return result;
        }
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
        // The adapter gets its own copy (read-only under bwrap) under a neutral name: it never learns where
        // the vectors are, and whatever it does to its copy cannot reach another vector. The
        // oracle keeps judging against the original.
        let private_input = match private_copy(&input, &scratch) {
            Ok(p) => p,
            Err(e) => {
                result
                    .findings
                    .push(format!("harness error: private copy of the input: {e}"));
                let _ = std::fs::remove_dir_all(&scratch);
                redact_scratch(&mut result, &self.scratch_root);
                return result;
            }
        };
        let output = (v.op != Op::Read).then(|| {
            let ext = input
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            scratch.join(format!("output{ext}"))
        });
        let request = Session::request_for(v, &private_input, output.as_deref());
        let watched = input.parent().unwrap_or(Path::new("/")).to_path_buf();
        let before = snapshot(&watched);
        let mut exchange = self.implementation.request(&request, &scratch);
        let changes = snapshot_changes(&before, &snapshot(&watched));
        if let (Some(out), Ok(_)) = (output.as_deref(), &exchange.response) {
            if let Err(why) = output_is_plain_file(out, &scratch) {
                exchange.response = Err(Failure::ProtocolViolation { errors: vec![why] });
            } else if let Err(f) = self.output_within_cap(out, &input) {
                exchange.response = Err(f);
            }
        }
        let mut eval = self.evaluate_bounded(v, &exchange, &input, output.as_deref());
        let cap = self.limits.evidence_cap_bytes;
        eval.expected = bounded(std::mem::take(&mut eval.expected), cap);
        eval.actual = bounded(std::mem::take(&mut eval.actual), cap);
        if let Ok(resp) = &mut exchange.response {
            *resp = bounded_object(std::mem::take(resp), cap);
        }
        result.record(v, eval, &self.suite, changes);
        result.record_exchange(request, exchange);
        let _ = std::fs::remove_dir_all(&scratch);
        // The per-run scratch folder is a placeholder in every report, stable or not.
        redact_scratch(&mut result, &self.scratch_root);
        result
    }
}

impl Session {
    /// The output file is at most `Limits::output_cap` of the input (by its apparent size, so a
    /// sparse 100 GiB file is refused without reading it).
    fn output_within_cap(&self, output: &Path, input: &Path) -> Result<(), Failure> {
        let input_len = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
        let cap = self.limits.output_cap(input_len);
        match std::fs::symlink_metadata(output) {
            Ok(m) if m.len() > cap => Err(Failure::OutputFileTooLarge { size: m.len(), cap }),
            _ => Ok(()),
        }
    }

    /// The checks, under `harness.oracle_timeout_s`: the oracle decodes a file the adapter
    /// wrote, and no file may stall the run. The limit is enforced where the time goes: every
    /// external tool the reference starts for the checks (ffmpeg, tesseract, qpdf...) runs under
    /// it ([`aigc_label::tool::with_deadline`]) and is killed, with its process group, when it
    /// is reached; the check then fails naming the tool, the file and the limit. The checks' own
    /// thread stays as a safety net for work that is not a tool (the reference's own decoding):
    /// waited for a grace period past the limit, after which the vector fails and the thread
    /// is left to finish on its own (its result is dropped).
    fn evaluate_bounded(
        &self,
        v: &Vector,
        exchange: &crate::adapter::Exchange,
        input: &Path,
        output: Option<&Path>,
    ) -> checks::Evaluation {
        let limit = std::time::Duration::from_secs_f64(self.limits.oracle_timeout_s.max(0.001));
        let deadline = aigc_label::tool::Deadline::after(limit, "harness.oracle_timeout_s");
        // Past the tools' deadline, a killed tool's error needs a moment to come back.
        let safety_net = limit + ORACLE_GRACE;
        let (tx, rx) = std::sync::mpsc::channel();
        let (v2, ex) = (v.clone(), exchange.clone());
        let (input2, output2) = (input.to_path_buf(), output.map(Path::to_path_buf));
        let (profile, charges) = (self.profile.clone(), self.charges.clone());
        std::thread::spawn(move || {
            let ctx = Context {
                profile: &profile,
                charges: &charges,
            };
            let eval = aigc_label::tool::with_deadline(deadline, || {
                checks::evaluate(&v2, &ex, &input2, output2.as_deref(), &ctx)
            });
            let _ = tx.send(eval);
        });
        match rx.recv_timeout(safety_net) {
            Ok(eval) => eval,
            Err(_) => checks::Evaluation {
                outcome: Outcome::Fail,
                findings: vec![format!(
                    "the oracle could not judge the output within {} s (harness.oracle_timeout_s)",
                    self.limits.oracle_timeout_s
                )],
                blame: v.requirements.clone(),
                unmeasured: Vec::new(),
                expected: serde_json::json!({"output": "judged"}),
                actual: serde_json::json!({"output": "oracle time limit exceeded"}),
            },
        }
    }
}

/// How long past `harness.oracle_timeout_s` the checks' thread is waited for: the external
/// tools are stopped at the limit itself, and their error takes a moment to come back.
const ORACLE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `doc` as is, or, when its JSON text is longer than `cap` bytes, the start of that text with a
/// note (a string: the report keeps the evidence's beginning at a bounded cost).
fn bounded(doc: Value, cap: usize) -> Value {
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    if text.len() <= cap {
        return doc;
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!(
        "{}\n... (cut by the harness: {} bytes in all, harness.evidence_cap_bytes is {cap})",
        &text[..end],
        text.len()
    ))
}

/// [`bounded`] for a response, which stays an object.
fn bounded_object(doc: Value, cap: usize) -> Value {
    match bounded(doc, cap) {
        Value::String(s) => serde_json::json!({ "truncated_by_harness": s }),
        v => v,
    }
}

/// Copy `input` into `scratch` as `input.<ext>`.
fn private_copy(input: &Path, scratch: &Path) -> Result<PathBuf, String> {
    let name = match input.extension() {
        Some(ext) => format!("input.{}", ext.to_string_lossy()),
        None => "input".to_string(),
    };
    let to = scratch.join(name);
    std::fs::copy(input, &to)
        .map_err(|e| format!("{} -> {}: {e}", input.display(), to.display()))?;
    // Read-only by mount, not by mode: under bubblewrap the copy is bound read-only over itself
    // (per request). Its mode stays writable because adapters commonly copy the input to the
    // output and then edit the output, and a copy keeps the source's mode.
    Ok(to)
}

/// `output` must be a regular file directly inside the scratch folder, which must still be a
/// real folder: looked at without following symbolic links, so that a link placed at `output`
/// (to a vector, to `/etc/passwd`) is never read by the oracle.
pub fn output_is_plain_file(output: &Path, scratch: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(scratch) {
        Ok(m) if m.file_type().is_dir() => {}
        _ => return Err("the scratch folder was replaced (no longer a plain folder)".into()),
    }
    match std::fs::symlink_metadata(output) {
        // Missing: the checks report output-missing.
        Err(_) => Ok(()),
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(output)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            Err(format!(
                "output is a symbolic link (to {target}), not a regular file in the scratch folder"
            ))
        }
        Ok(_) => Err("output is not a regular file (a folder, FIFO, socket or device)".into()),
    }
}

/// Replace the per-run scratch folder by [`SCRATCH`](crate::report::stable::SCRATCH) in every
/// string of a vector result.
fn redact_scratch(r: &mut VectorResult, scratch_root: &Path) {
    let prefix = scratch_root.display().to_string();
    let fix = |s: &mut String| {
        if s.contains(&prefix) {
            *s = s.replace(&prefix, crate::report::stable::SCRATCH);
        }
    };
    fn walk(v: &mut Value, fix: &dyn Fn(&mut String)) {
        match v {
            Value::String(s) => fix(s),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, fix)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, fix)),
            _ => {}
        }
    }
    if let Some(m) = &mut r.message {
        fix(m);
    }
    r.findings.iter_mut().for_each(&fix);
    fix(&mut r.diff);
    fix(&mut r.stderr);
    walk(&mut r.expected, &fix);
    walk(&mut r.actual, &fix);
    walk(&mut r.request, &fix);
    if let Some(resp) = &mut r.response {
        walk(resp, &fix);
    }
}

/// Each file of the vectors tree (relative path) and the hex SHA-256 of its bytes.
fn file_digests(root: &Path) -> BTreeMap<PathBuf, String> {
    use sha2::{Digest, Sha256};
    crate::vector::all_files(root)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).unwrap_or_default();
            let h = crate::vector::hex(&Sha256::digest(&bytes));
            (rel, h)
        })
        .collect()
}

/// The tree digest of [`crate::vector::tree_sha256`], from per-file digests.
fn tree_digest(files: &BTreeMap<PathBuf, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (rel, digest) in files {
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(digest.as_bytes());
        h.update(b"\n");
    }
    crate::vector::hex(&h.finalize())
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
    if r.outcome == Outcome::Inconclusive {
        return Ok(Completion::ignored_with(format!(
            "inconclusive: not measured: {}",
            r.unmeasured.join(", ")
        )));
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
