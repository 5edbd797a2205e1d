//! Running an implementation under test through its adapter (conformance/PROTOCOL.md).
//!
//! Two modes: a fresh process per request (the default), or a pool of persistent `serve`
//! processes speaking JSON lines when the adapter's `info` says `persistent: true`. Either way
//! every failure of the adapter (crash, hang, garbage, oversized output, schema violation) is
//! turned into a [`Failure`] value: nothing an adapter does can panic or stop the harness.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sandbox::{self, Isolation, Launch, Sandbox, SURVIVOR_EXIT};
use crate::schema;

/// The `harness:` section of `vectors/profile.yaml`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    /// Per-request timeout in seconds.
    pub timeout_s: f64,
    /// Largest stdout accepted from one response.
    pub stdout_cap_bytes: usize,
    /// Largest stderr kept as evidence per request (the rest is drained and dropped).
    pub stderr_cap_bytes: usize,
    /// An output file larger than max(this, `output_input_factor` × the input) is not judged.
    #[serde(default = "default_output_min_cap")]
    pub output_min_cap_bytes: u64,
    /// See `output_min_cap_bytes`.
    #[serde(default = "default_output_factor")]
    pub output_input_factor: u64,
    /// Time limit of the oracle's work on one vector (the reference decoding the output and the
    /// external tools it runs), seconds.
    #[serde(default = "default_oracle_timeout")]
    pub oracle_timeout_s: f64,
    /// Largest expected/actual document, response and diff stored per vector; larger ones are
    /// cut, with a note (the report stays small, the diff cheap).
    #[serde(default = "default_evidence_cap")]
    pub evidence_cap_bytes: usize,
}

fn default_output_min_cap() -> u64 {
    64 << 20
}
fn default_output_factor() -> u64 {
    4
}
fn default_oracle_timeout() -> f64 {
    120.0
}
fn default_evidence_cap() -> usize {
    64 << 10
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_s: 10.0,
            stdout_cap_bytes: 1 << 20,
            stderr_cap_bytes: 64 << 10,
            output_min_cap_bytes: default_output_min_cap(),
            output_input_factor: default_output_factor(),
            oracle_timeout_s: default_oracle_timeout(),
            evidence_cap_bytes: default_evidence_cap(),
        }
    }
}

impl Limits {
    /// The largest output file judged for an input of `input_len` bytes.
    pub fn output_cap(&self, input_len: u64) -> u64 {
        self.output_min_cap_bytes
            .max(input_len.saturating_mul(self.output_input_factor))
    }
}

/// Why a request produced no usable response. Each is its own outcome in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// Non-zero exit status or death by signal.
    Crash {
        /// Exit code, if it exited.
        code: Option<i32>,
        /// Signal number, if killed by one.
        signal: Option<i32>,
    },
    /// No response within the timeout; the whole process group was killed.
    Timeout {
        /// The timeout in force, seconds.
        seconds: f64,
    },
    /// Stdout is not one JSON object.
    Garbage {
        /// What was wrong, with the start of the output.
        detail: String,
    },
    /// A JSON object that breaks the protocol schema.
    ProtocolViolation {
        /// Every schema error.
        errors: Vec<String>,
    },
    /// Stdout exceeded the cap; the process group was killed.
    OutputTooLarge {
        /// The cap, bytes.
        cap: usize,
    },
    /// The output file is larger than the cap for its input (`Limits::output_cap`); not judged.
    OutputFileTooLarge {
        /// Its size, bytes (apparent: a sparse file counts whole).
        size: u64,
        /// The cap, bytes.
        cap: u64,
    },
    /// Processes of the adapter were still running after its request (they were killed).
    LeftRunning {
        /// What was found: `pid name`, or the sandbox's own account.
        processes: Vec<String>,
    },
    /// The adapter could not be started at all.
    Spawn {
        /// The operating system's message.
        message: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Crash {
                code: Some(c),
                signal: _,
            } => write!(f, "crash: exit status {c}"),
            Failure::Crash {
                signal: Some(s), ..
            } => write!(f, "crash: killed by signal {s}"),
            Failure::Crash { .. } => write!(f, "crash"),
            Failure::Timeout { seconds } => write!(f, "timeout: no response within {seconds} s"),
            Failure::Garbage { detail } => write!(f, "garbage output: {detail}"),
            Failure::ProtocolViolation { errors } => {
                write!(f, "protocol violation: {}", errors.join("; "))
            }
            Failure::OutputTooLarge { cap } => write!(f, "stdout larger than {cap} bytes"),
            Failure::OutputFileTooLarge { size, cap } => write!(
                f,
                "output file of {size} bytes is larger than the cap of {cap} bytes (harness.output_min_cap_bytes, harness.output_input_factor); not judged"
            ),
            Failure::LeftRunning { processes } => write!(
                f,
                "processes still running after the request (killed): {}",
                processes.join(", ")
            ),
            Failure::Spawn { message } => write!(f, "cannot start the adapter: {message}"),
        }
    }
}

/// The result of one request.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The schema-valid response, or why there is none.
    pub response: Result<Value, Failure>,
    /// The adapter's stderr during the request (capped).
    pub stderr: String,
    /// Wall time of the request.
    pub elapsed: Duration,
}

/// Split a command line into words: whitespace separates, single and double quotes group,
/// backslash escapes outside single quotes. No shell is involved, so the harness controls the
/// process group and the exact program that runs.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => cur.push(x),
                            None => return Err("trailing backslash".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("trailing backslash".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c)
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("empty adapter command".into());
    }
    Ok(words)
}

/// Resolve a program name the way `execvp` would: a name with a slash as is, else via `PATH`.
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then(|| std::fs::canonicalize(&p).unwrap_or(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
    })
}

/// Kill a whole process group. Uses `kill(1)`, which keeps this crate free of `unsafe`; it is
/// only run on the failure paths (timeout, oversized output, shutdown of persistent workers).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Read a stream, keeping at most `cap` bytes. With `kill_on_overflow`, stop at the cap, kill
/// the group and report the overflow; otherwise drain the rest (so the writer never blocks).
fn read_capped(mut r: impl Read, cap: usize, kill_on_overflow: Option<u32>) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 << 10];
    let mut overflow = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            overflow = true;
            if let Some(pgid) = kill_on_overflow {
                kill_group(pgid);
                break;
            }
        }
    }
    (kept, overflow)
}

/// Check a raw stdout: exactly one JSON object (surrounding whitespace allowed), valid under the
/// response schema of `op`.
pub fn parse_response(op: &str, stdout: &[u8]) -> Result<Value, Failure> {
    let text = match std::str::from_utf8(stdout) {
        Ok(t) => t.trim(),
        Err(e) => {
            return Err(Failure::Garbage {
                detail: format!("stdout is not UTF-8 ({e}): {}", preview(stdout)),
            })
        }
    };
    if text.is_empty() {
        return Err(Failure::Garbage {
            detail: "empty stdout".into(),
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| Failure::Garbage {
        detail: format!("stdout is not one JSON value ({e}): {}", preview(stdout)),
    })?;
    if !value.is_object() {
        return Err(Failure::Garbage {
            detail: format!("stdout is JSON but not an object: {}", preview(stdout)),
        });
    }
    // `{"status":"error",...,"status":"ok"}` would pass as "ok" (the last key wins): a name
    // twice in one object is a protocol violation, whatever the values.
    if let Err(e) = no_duplicate_keys(text) {
        return Err(Failure::ProtocolViolation {
            errors: vec![format!("{e} (a JSON object must not repeat a name)")],
        });
    }
    check_response(op, value)
}

/// `Err` naming the first object member name that occurs twice in one object of `text`
/// (which is already known to be JSON).
pub fn no_duplicate_keys(text: &str) -> Result<(), String> {
    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
    struct Walk;
    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(Walk)
        }
    }
    impl<'de> Visitor<'de> for Walk {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_element_seed(Walk)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = a.next_key::<String>()? {
                if !seen.insert(k.clone()) {
                    let k: String = k.chars().take(80).collect();
                    return Err(de::Error::custom(format!("duplicate key {k:?}")));
                }
                a.next_value_seed(Walk)?;
            }
            Ok(())
        }
    }
    let mut d = serde_json::Deserializer::from_str(text);
    Walk.deserialize(&mut d).map_err(|e| {
        let s = e.to_string();
        // serde_json appends " at line L column C"; keep it, it locates the second occurrence.
        s
    })
}

/// Check a response object against the response schema of `op`.
pub fn check_response(op: &str, value: Value) -> Result<Value, Failure> {
    let name = format!("response.{op}.schema.json");
    match schema::schema(&name) {
        Some(s) => {
            let errors = schema::validate(s, &value);
            if errors.is_empty() {
                Ok(value)
            } else {
                Err(Failure::ProtocolViolation { errors })
            }
        }
        None => Err(Failure::ProtocolViolation {
            errors: vec![format!("no response schema for op {op:?}")],
        }),
    }
}

/// The `id` of an answer line: `None` when the line is not a JSON object, `Some(None)` when it
/// has no string `id`.
fn echoed_id(line: &[u8]) -> Option<Option<String>> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object()?;
    Some(o.get("id").and_then(Value::as_str).map(str::to_string))
}

fn preview(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if bytes.len() > 200 {
        format!("{s}... ({} bytes)", bytes.len())
    } else {
        s
    }
}

fn crash_of(status: ExitStatus) -> Option<Failure> {
    if status.success() {
        None
    } else {
        Some(Failure::Crash {
            code: status.code(),
            signal: status.signal(),
        })
    }
}

/// A persistent `serve` process.
struct Worker {
    child: Child,
    pgid: u32,
    stdin: ChildStdin,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The environment marker of its processes ([`sandbox::MARKER_VAR`]).
    marker: String,
    /// Requests sent so far (the request id is `r<n>`).
    sent: u64,
}

enum Line {
    Text(Vec<u8>),
    Overflow,
    Eof,
}

impl Worker {
    fn shutdown(mut self) {
        // Closing stdin asks a well-behaved server to exit; the group kill ends the rest.
        let _ = self.stdin.flush();
        self.close_stdin();
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        kill_group(self.pgid);
        let _ = self.child.wait();
    }
}

impl Worker {
    /// Close its stdin (the end-of-input a `serve` loop waits for).
    fn close_stdin(&mut self) {
        // Replace the pipe by a closed one: ChildStdin cannot be dropped out of a Drop type.
        if let Ok(null) = std::fs::File::open("/dev/null") {
            let _ = std::mem::replace(
                &mut self.stdin,
                ChildStdin::from(std::os::fd::OwnedFd::from(null)),
            );
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Whatever the worker started dies with it, process group and strays alike.
        kill_group(self.pgid);
        sandbox::kill_survivors(&self.marker);
    }
}

/// Starts processes from one long-lived thread. Bubblewrap's `--die-with-parent` (Linux
/// `PR_SET_PDEATHSIG`) kills the sandbox when the *thread* that started it ends, and the
/// harness's request threads come and go while a persistent worker must live on; this thread
/// lives as long as the [`Adapter`], so its processes die with the adapter, never before.
struct Spawner {
    tx: Mutex<mpsc::Sender<SpawnJob>>,
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

impl Spawner {
    fn new() -> Spawner {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Spawner { tx: Mutex::new(tx) }
    }

    fn spawn(&self, cmd: Command) -> std::io::Result<Child> {
        let (reply, answer) = mpsc::channel();
        let sent = self
            .tx
            .lock()
            .map_err(|_| std::io::Error::other("spawner lock poisoned"))
            .and_then(|tx| {
                tx.send((cmd, reply))
                    .map_err(|_| std::io::Error::other("spawner thread gone"))
            });
        sent?;
        answer
            .recv()
            .map_err(|_| std::io::Error::other("spawner thread gone"))?
    }
}

/// An implementation under test, reachable through its adapter command.
pub struct Adapter {
    argv: Vec<String>,
    limits: Limits,
    persistent: bool,
    pool: Mutex<Vec<Worker>>,
    /// Where persistent workers run (their cwd); per-request folders live beneath.
    scratch_root: PathBuf,
    /// How its processes are confined.
    sandbox: Sandbox,
    /// Where its processes are started from.
    spawner: Spawner,
}

impl Adapter {
    /// An adapter from its command words. Nothing is started yet.
    pub fn new(argv: Vec<String>, limits: Limits, scratch_root: PathBuf) -> Adapter {
        Adapter {
            argv,
            limits,
            persistent: false,
            pool: Mutex::new(Vec::new()),
            scratch_root,
            sandbox: Sandbox::none(),
            spawner: Spawner::new(),
        }
    }

    /// Confine the adapter (before the first request).
    pub fn set_sandbox(&mut self, sandbox: Sandbox) {
        self.sandbox = sandbox;
    }

    /// The isolation in force.
    pub fn isolation(&self) -> Isolation {
        self.sandbox.isolation
    }

    /// Switch to persistent mode (after `info` said `persistent: true`).
    pub fn set_persistent(&mut self, on: bool) {
        self.persistent = on;
    }

    /// Whether requests go to persistent workers.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The command words.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Send one request; `cwd` is the request's scratch folder (process-per-request mode).
    pub fn request(&self, request: &Value, cwd: &Path) -> Exchange {
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        let started = Instant::now();
        let (raw, stderr) = if self.persistent {
            self.request_persistent(request)
        } else {
            self.request_once(request, cwd)
        };
        let mut response = raw.and_then(|stdout| parse_response(op, &stdout));
        if self.persistent {
            // The id was checked against the request's; it is transport, not part of the answer
            // (and kept out of the report, so that two runs give the same report).
            if let Ok(Value::Object(o)) = &mut response {
                o.shift_remove("id");
            }
        }
        Exchange {
            response,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.limits.timeout_s.max(0.001))
    }

    fn request_once(&self, request: &Value, cwd: &Path) -> (Result<Vec<u8>, Failure>, Vec<u8>) {
        let marker = sandbox::new_marker();
        let (result, stderr) = self.request_once_marked(request, cwd, &marker);
        // Whatever is still running now was left behind by the adapter: kill it, and unless the
        // request already failed otherwise, that is this request's outcome.
        let strays: Vec<String> = sandbox::kill_survivors(&marker)
            .into_iter()
            .map(|(pid, name)| format!("pid {pid} ({name})"))
            .collect();
        match result {
            Ok(_) if !strays.is_empty() => {
                (Err(Failure::LeftRunning { processes: strays }), stderr)
            }
            other => (other, stderr),
        }
    }

    fn request_once_marked(
        &self,
        request: &Value,
        cwd: &Path,
        marker: &str,
    ) -> (Result<Vec<u8>, Failure>, Vec<u8>) {
        // The request's private input copy stays read-only inside the sandbox.
        let read_only: Vec<PathBuf> = request
            .get("input")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .filter(|p| p.starts_with(cwd) && p.is_file())
            .into_iter()
            .collect();
        let cmd = self.sandbox.command(
            &self.argv,
            &[],
            &Launch {
                cwd,
                writable: cwd,
                read_only_files: &read_only,
                count_survivors: true,
                marker,
            },
        );
        let mut child = match self.spawner.spawn(cmd) {
            Ok(c) => c,
            Err(e) => {
                return (
                    Err(Failure::Spawn {
                        message: format!("{}: {e}", self.argv[0]),
                    }),
                    Vec::new(),
                )
            }
        };
        let pgid = child.id();
        enum Event {
            Out(Vec<u8>, bool),
            Err(Vec<u8>),
            Exit(std::io::Result<ExitStatus>),
        }
        let (tx, rx) = mpsc::channel();
        if let Some(mut stdin) = child.stdin.take() {
            let body = format!("{request}\n").into_bytes();
            // A thread, because an adapter that never reads stdin must not block the harness.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&body);
            });
        }
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            let cap = self.limits.stdout_cap_bytes;
            std::thread::spawn(move || {
                let (bytes, overflow) = read_capped(out, cap, Some(pgid));
                let _ = tx.send(Event::Out(bytes, overflow));
            });
        }
        if let Some(err) = child.stderr.take() {
            let tx = tx.clone();
            let cap = self.limits.stderr_cap_bytes;
            std::thread::spawn(move || {
                let _ = tx.send(Event::Err(read_capped(err, cap, None).0));
            });
        }
        std::thread::spawn(move || {
            let _ = tx.send(Event::Exit(child.wait()));
        });
        let deadline = Instant::now() + self.timeout();
        let (mut stdout, mut overflow, mut stderr, mut status) = (None, false, None, None);
        let mut timed_out = false;
        let mut grace_until = None;
        while stdout.is_none() || stderr.is_none() || status.is_none() {
            let until = grace_until.unwrap_or(deadline);
            let wait = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Event::Out(b, o)) => {
                    stdout = Some(b);
                    overflow = o;
                }
                Ok(Event::Err(b)) => stderr = Some(b),
                Ok(Event::Exit(s)) => status = Some(s),
                Err(RecvTimeoutError::Timeout) if grace_until.is_none() => {
                    timed_out = true;
                    kill_group(pgid);
                    // After the kill the pipes close within milliseconds, unless a process left
                    // the group: then give up waiting for them.
                    grace_until = Some(Instant::now() + Duration::from_secs(2));
                }
                Err(_) => break,
            }
        }
        // The request is over: nothing of the adapter's group may outlive it.
        kill_group(pgid);
        let stderr = stderr.unwrap_or_default();
        if timed_out {
            return (
                Err(Failure::Timeout {
                    seconds: self.limits.timeout_s,
                }),
                stderr,
            );
        }
        if overflow {
            return (
                Err(Failure::OutputTooLarge {
                    cap: self.limits.stdout_cap_bytes,
                }),
                stderr,
            );
        }
        match status {
            Some(Ok(s)) => {
                if self.sandbox.isolation == Isolation::Bwrap && s.code() == Some(SURVIVOR_EXIT) {
                    return (
                        Err(Failure::LeftRunning {
                            processes: vec![
                                "processes left in the sandbox's PID namespace (see stderr)".into(),
                            ],
                        }),
                        stderr,
                    );
                }
                if let Some(f) = crash_of(s) {
                    return (Err(f), stderr);
                }
            }
            Some(Err(e)) => {
                return (
                    Err(Failure::Spawn {
                        message: format!("waiting for the adapter: {e}"),
                    }),
                    stderr,
                )
            }
            None => {}
        }
        (Ok(stdout.unwrap_or_default()), stderr)
    }

    fn spawn_worker(&self) -> Result<Worker, Failure> {
        let marker = sandbox::new_marker();
        let root = &self.scratch_root;
        let cmd = self.sandbox.command(
            &self.argv,
            &["serve"],
            &Launch {
                cwd: root,
                writable: root,
                read_only_files: &[],
                count_survivors: false,
                marker: &marker,
            },
        );
        let mut child = self.spawner.spawn(cmd).map_err(|e| Failure::Spawn {
            message: format!("{} serve: {e}", self.argv[0]),
        })?;
        let pgid = child.id();
        let stdin = child.stdin.take().ok_or_else(|| Failure::Spawn {
            message: "no stdin".into(),
        })?;
        let stdout = child.stdout.take().ok_or_else(|| Failure::Spawn {
            message: "no stdout".into(),
        })?;
        let (tx, lines) = mpsc::channel();
        let cap = self.limits.stdout_cap_bytes;
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match (&mut r).take(cap as u64 + 1).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Line::Eof);
                        return;
                    }
                    Ok(_) if line.len() > cap => {
                        let _ = tx.send(Line::Overflow);
                        return;
                    }
                    Ok(_) => {
                        if tx.send(Line::Text(line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            let cap = self.limits.stderr_cap_bytes;
            std::thread::spawn(move || {
                let mut r = err;
                let mut buf = [0u8; 8192];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        let room = cap.saturating_sub(s.len());
                        s.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            });
        }
        Ok(Worker {
            child,
            pgid,
            stdin,
            lines,
            stderr,
            marker,
            sent: 0,
        })
    }

    fn request_persistent(&self, request: &Value) -> (Result<Vec<u8>, Failure>, Vec<u8>) {
        let popped = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut worker = match popped {
            Some(w) => w,
            None => match self.spawn_worker() {
                Ok(w) => w,
                Err(f) => return (Err(f), Vec::new()),
            },
        };
        let take_stderr = |w: &Worker| {
            w.stderr
                .lock()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default()
        };
        // Evidence belongs to this request only: drop what an earlier one left behind.
        let _ = take_stderr(&worker);
        // Every request carries an id the answer must echo: answers are matched by id, not by
        // position, so an extra line cannot shift answers onto the wrong vectors.
        worker.sent += 1;
        let id = format!("r{}", worker.sent);
        let mut request = request.clone();
        if let Some(o) = request.as_object_mut() {
            o.insert("id".into(), Value::String(id.clone()));
        }
        let line = format!("{request}\n");
        let sent = worker
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| worker.stdin.flush());
        let result = match sent {
            Err(_) => Err(None),
            Ok(()) => match worker.lines.recv_timeout(self.timeout()) {
                Ok(Line::Text(bytes)) => match echoed_id(&bytes) {
                    // Not JSON at all: the schema check reports it as garbage.
                    None => Ok(bytes),
                    Some(Some(got)) if got == id => Ok(bytes),
                    Some(got) => Err(Some(Failure::ProtocolViolation {
                        errors: vec![format!(
                            "persistent mode: the answer carries id {} where the request's id is {id:?} (an earlier answer had an extra line, or answers are out of order)",
                            got.map_or("none".to_string(), |g| format!("{g:?}"))
                        )],
                    })),
                },
                Ok(Line::Overflow) => Err(Some(Failure::OutputTooLarge {
                    cap: self.limits.stdout_cap_bytes,
                })),
                Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => Err(None),
                Err(RecvTimeoutError::Timeout) => Err(Some(Failure::Timeout {
                    seconds: self.limits.timeout_s,
                })),
            },
        };
        match result {
            Ok(bytes) => {
                // A process that escaped the worker during this request (a daemon in its own
                // session, a double fork) is this request's outcome, found right after its
                // answer; the worker itself may go on serving.
                let strays: Vec<String> =
                    sandbox::kill_escaped(&worker.marker, worker.pgid, self.sandbox.isolation)
                        .into_iter()
                        .map(|(pid, name)| format!("pid {pid} ({name})"))
                        .collect();
                // Best effort: stderr written just before the answer may still be in flight
                // (it is then dropped at the start of the next request, never misattributed).
                let stderr = take_stderr(&worker);
                // A garbage line poisons the stream (the next answer could be misaligned), so
                // only a worker whose answer parses as JSON goes back to the pool.
                if serde_json::from_slice::<Value>(&bytes).is_ok() {
                    if let Ok(mut p) = self.pool.lock() {
                        p.push(worker);
                    }
                } else {
                    kill_group(worker.pgid);
                    worker.shutdown();
                }
                if strays.is_empty() {
                    (Ok(bytes), stderr)
                } else {
                    (Err(Failure::LeftRunning { processes: strays }), stderr)
                }
            }
            Err(failure) => {
                // The worker is unusable: end it and learn how it ended.
                let failure = match failure {
                    Some(f) => {
                        kill_group(worker.pgid);
                        f
                    }
                    None => {
                        let deadline = Instant::now() + Duration::from_secs(2);
                        let mut status = None;
                        while Instant::now() < deadline {
                            if let Ok(Some(s)) = worker.child.try_wait() {
                                status = Some(s);
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        match status.and_then(crash_of) {
                            Some(f) => f,
                            None => Failure::Crash {
                                code: status.and_then(|s| s.code()),
                                signal: None,
                            },
                        }
                    }
                };
                std::thread::sleep(Duration::from_millis(5));
                let stderr = take_stderr(&worker);
                worker.shutdown();
                (Err(failure), stderr)
            }
        }
    }

    /// The isolation of this adapter.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// End every persistent worker.
    pub fn shutdown(&self) {
        let workers: Vec<Worker> = self
            .pool
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for w in workers {
            w.shutdown();
        }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("python3 'my adapter.py' --x \"a b\" c\\ d").unwrap(),
            vec!["python3", "my adapter.py", "--x", "a b", "c d"]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("'open").is_err());
    }

    #[test]
    fn garbage_and_schema_errors_are_distinct() {
        assert!(matches!(
            parse_response("read", b"hello"),
            Err(Failure::Garbage { .. })
        ));
        assert!(matches!(
            parse_response("read", b"{\"status\":\"ok\"}"),
            Err(Failure::ProtocolViolation { .. })
        ));
        assert!(parse_response("label", b" {\"status\":\"ok\"}\n").is_ok());
    }

    #[test]
    fn a_name_twice_in_one_object_is_a_protocol_violation() {
        let twice = br#"{"status":"error","message":"no","status":"ok"}"#;
        match parse_response("label", twice) {
            Err(Failure::ProtocolViolation { errors }) => {
                assert!(errors[0].contains("duplicate key \"status\""), "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
        // Nested objects too; the same name in sibling objects is fine.
        assert!(no_duplicate_keys(r#"{"a":[{"k":1},{"k":2}],"b":{"c":{"d":1,"d":2}}}"#).is_err());
        assert!(no_duplicate_keys(r#"{"a":[{"k":1},{"k":2}],"b":{"k":1}}"#).is_ok());
    }
}
