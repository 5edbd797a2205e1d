//! Running an external tool (ffmpeg, ffprobe, tesseract, qpdf, heif-convert...) under a time
//! limit and with bounded output.
//!
//! The checks of the explicit tier and the payload fingerprints decode files that an
//! implementation under test wrote, with external tools. A hostile file can make a tool run for
//! hours or print gigabytes, so every tool the library starts goes through [`Tool`]:
//! - the deadline comes from the caller, never from this module: [`with_deadline`] sets it for
//!   every tool started on the calling thread while a closure runs (the conformance harness
//!   passes its profile's `harness.oracle_timeout_s`), so the many functions between the caller
//!   and the tool need no extra parameter;
//! - with a deadline, the tool runs in its own process group, and at the deadline the whole
//!   group is killed (a tool's own children too), the tool reaped, and the error names the tool,
//!   the file it worked on and the limit;
//! - stdout is kept up to a cap (past it the group is killed and the run is an error), stderr up
//!   to a smaller cap (the rest is read and dropped, so the tool never blocks on a full pipe);
//! - a tool's group is killed when it ends, too: nothing it started outlives the call.
//!
//! Without a deadline (the CLI, the reference's adapter) a tool stays in its caller's process
//! group, so whoever bounds the caller (the harness kills an adapter's whole group at its
//! request timeout) also bounds the tools.

use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Stdout kept from one tool run unless the caller sets another cap: the largest legitimate
/// output is ffmpeg decoding audio to 32-bit float WAV, which `-fs` stops at
/// [`crate::limits::MAX_AUDIO_SAMPLES`] × 4 bytes (400 MB).
pub const DEFAULT_STDOUT_CAP: usize = 512 << 20;

/// Stderr kept from one tool run, as evidence for an error message.
pub const STDERR_CAP: usize = 64 << 10;

/// How long the pipes of a killed tool are waited for (a process that left the group may hold
/// them open; its output is then given up).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// A time limit for the tools a caller starts, and its name for error messages.
#[derive(Debug, Clone)]
pub struct Deadline {
    /// When every tool still running is killed.
    pub at: Instant,
    /// The limit as configured (for the message).
    pub limit: Duration,
    /// Where the limit comes from, e.g. `harness.oracle_timeout_s`.
    pub source: String,
}

impl Deadline {
    /// A deadline `limit` from now, named after `source` (a profile key).
    pub fn after(limit: Duration, source: impl Into<String>) -> Deadline {
        Deadline {
            at: Instant::now() + limit,
            limit,
            source: source.into(),
        }
    }
}

thread_local! {
    static DEADLINE: RefCell<Option<Deadline>> = const { RefCell::new(None) };
}

/// Run `f` with every tool started on this thread (through [`Tool`]) stopped at `deadline`.
/// Nested calls keep the earlier of the two deadlines. The previous deadline is restored when
/// `f` returns or panics.
pub fn with_deadline<T>(deadline: Deadline, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Deadline>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            DEADLINE.with(|d| *d.borrow_mut() = previous);
        }
    }
    let previous = DEADLINE.with(|d| d.borrow().clone());
    let effective = match &previous {
        Some(p) if p.at < deadline.at => p.clone(),
        _ => deadline,
    };
    DEADLINE.with(|d| *d.borrow_mut() = Some(effective));
    let _restore = Restore(previous);
    f()
}

/// The deadline in force on this thread, if any.
pub fn current_deadline() -> Option<Deadline> {
    DEADLINE.with(|d| d.borrow().clone())
}

/// Why a tool run gave no usable output.
#[derive(Debug)]
pub enum ToolError {
    /// The program could not be started (not installed, not executable).
    NotStarted {
        /// The program.
        program: String,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// Still running at the deadline: its process group was killed.
    TimedOut {
        /// The program.
        program: String,
        /// The file it worked on, when known.
        file: Option<PathBuf>,
        /// The deadline.
        deadline: Deadline,
    },
    /// More stdout than the cap: its process group was killed.
    OutputTooLarge {
        /// The program.
        program: String,
        /// The file it worked on, when known.
        file: Option<PathBuf>,
        /// The cap, bytes.
        cap: usize,
    },
    /// It ended unsuccessfully.
    Failed {
        /// The program.
        program: String,
        /// The file it worked on, when known.
        file: Option<PathBuf>,
        /// How it ended.
        status: ExitStatus,
        /// The end of its stderr.
        stderr: String,
    },
    /// Waiting for it failed.
    Wait {
        /// The program.
        program: String,
        /// The operating system's error.
        error: std::io::Error,
    },
}

impl ToolError {
    /// The program the error is about.
    pub fn program(&self) -> &str {
        match self {
            ToolError::NotStarted { program, .. }
            | ToolError::TimedOut { program, .. }
            | ToolError::OutputTooLarge { program, .. }
            | ToolError::Failed { program, .. }
            | ToolError::Wait { program, .. } => program,
        }
    }

    /// Whether the tool was stopped by the deadline.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ToolError::TimedOut { .. })
    }
}

fn on(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!(" on {}", f.display()))
        .unwrap_or_default()
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::NotStarted { program, error } => {
                if error.kind() == std::io::ErrorKind::NotFound {
                    write!(
                        f,
                        "{program} not found: install {} (scripts/install-deps.sh installs it)",
                        package_of(program)
                    )
                } else {
                    write!(f, "{program}: cannot start it: {error}")
                }
            }
            ToolError::TimedOut {
                program,
                file,
                deadline,
            } => write!(
                f,
                "{program}{} was still running at the time limit of {} s ({}); it was stopped (process group killed)",
                on(file),
                deadline.limit.as_secs_f64(),
                deadline.source
            ),
            ToolError::OutputTooLarge { program, file, cap } => write!(
                f,
                "{program}{} wrote more than {cap} bytes to stdout; it was stopped (process group killed)",
                on(file)
            ),
            ToolError::Failed {
                program,
                file,
                status,
                stderr,
            } => write!(f, "{program}{} failed ({status}): {stderr}", on(file)),
            ToolError::Wait { program, error } => write!(f, "{program}: waiting for it: {error}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// The Debian package that installs `program`.
pub fn package_of(program: &str) -> &str {
    match program {
        "tesseract" => "tesseract-ocr and tesseract-ocr-chi-sim",
        "ffmpeg" | "ffprobe" => "ffmpeg",
        "heif-convert" => "libheif-examples",
        "pdftoppm" => "poppler-utils",
        other => other,
    }
}

/// One run of an external tool: the command, the file it works on (for messages) and the
/// stdout cap. Stdin is `/dev/null`.
pub struct Tool {
    program: String,
    cmd: Command,
    file: Option<PathBuf>,
    stdout_cap: usize,
}

impl Tool {
    /// A run of `program` (looked up on `PATH`).
    pub fn new(program: &str) -> Tool {
        Tool {
            program: program.to_string(),
            cmd: Command::new(program),
            file: None,
            stdout_cap: DEFAULT_STDOUT_CAP,
        }
    }

    /// The program.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Add an argument.
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Tool {
        self.cmd.arg(a);
        self
    }

    /// Add arguments.
    pub fn args<I, S>(mut self, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// The file the tool works on, named in error messages.
    pub fn file(mut self, path: &Path) -> Tool {
        self.file = Some(path.to_path_buf());
        self
    }

    /// The largest stdout accepted.
    pub fn stdout_cap(mut self, cap: usize) -> Tool {
        self.stdout_cap = cap;
        self
    }

    /// Start it with stdin `/dev/null`, stdout and stderr piped; with a deadline, in its own
    /// process group.
    fn start(mut self) -> Result<Started, ToolError> {
        let deadline = current_deadline();
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if deadline.is_some() {
            std::os::unix::process::CommandExt::process_group(&mut self.cmd, 0);
        }
        let child = self.cmd.spawn().map_err(|error| ToolError::NotStarted {
            program: self.program.clone(),
            error,
        })?;
        Ok(Started {
            group: deadline.is_some().then(|| child.id()),
            child,
            deadline,
            program: self.program,
            file: self.file,
            stdout_cap: self.stdout_cap,
            reaped: false,
        })
    }

    /// Run it to the end and return its stdout; an error when it could not start, failed, ran
    /// past the deadline or wrote more than the cap.
    pub fn run(self) -> Result<Vec<u8>, ToolError> {
        let mut started = self.start()?;
        let (tx, rx) = mpsc::channel::<Event>();
        let cap = started.stdout_cap;
        let stdout = started.child.stdout.take();
        let stderr = started.child.stderr.take();
        let out_tx = tx.clone();
        std::thread::spawn(move || {
            let result = stdout.map(|s| read_capped(s, cap, true));
            let _ = out_tx.send(Event::Stdout(result.unwrap_or_default()));
        });
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            let result = stderr.map(|s| read_capped(s, STDERR_CAP, false));
            let _ = err_tx.send(Event::Stderr(result.unwrap_or_default().0));
        });
        let pid = started.child.id();
        std::thread::spawn(move || {
            exited(pid);
            let _ = tx.send(Event::Exited);
        });
        let (mut out, mut err, mut ended) = (None, None, false);
        let mut stopped: Option<Stop> = None;
        let mut grace: Option<Instant> = None;
        while !(ended && out.is_some() && err.is_some()) {
            let until = grace.or(started.deadline.as_ref().map(|d| d.at));
            let event = match until {
                Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Stdout((bytes, overflow))) => {
                    if overflow && stopped.is_none() {
                        stopped = Some(Stop::Overflow);
                        started.kill();
                    }
                    out = Some(bytes);
                }
                Ok(Event::Stderr(bytes)) => err = Some(bytes),
                Ok(Event::Exited) => {
                    ended = true;
                    // The tool ended: whatever it left in its group goes too (and closes the
                    // pipes the readers wait on). Its pid is not reaped yet, so the group id
                    // cannot have been reused.
                    started.kill_group();
                    grace.get_or_insert(Instant::now() + PIPE_GRACE);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if grace.is_none() => {
                    stopped = Some(Stop::Deadline);
                    started.kill();
                    grace = Some(Instant::now() + PIPE_GRACE);
                }
                // Past the grace: a process that left the group holds a pipe; give up on it.
                Err(_) => break,
            }
        }
        let status = started.reap()?;
        match stopped {
            Some(Stop::Deadline) => Err(ToolError::TimedOut {
                program: started.program,
                file: started.file,
                deadline: started
                    .deadline
                    .unwrap_or_else(|| Deadline::after(Duration::ZERO, "?")),
            }),
            Some(Stop::Overflow) => Err(ToolError::OutputTooLarge {
                program: started.program,
                file: started.file,
                cap: started.stdout_cap,
            }),
            None if !status.success() => Err(ToolError::Failed {
                program: started.program,
                file: started.file,
                status,
                stderr: tail(&err.unwrap_or_default()),
            }),
            None => Ok(out.unwrap_or_default()),
        }
    }

    /// Start it for its stdout as a stream (ffmpeg decoding frames on a pipe), read by the
    /// caller. With a deadline, a watchdog kills its group at the deadline, which ends the
    /// stream early: the caller must then ask [`Streaming::finish`], which reports it.
    pub fn stream(self) -> Result<Streaming, ToolError> {
        let mut started = self.start()?;
        let stdout = started.child.stdout.take();
        // Stderr is not needed for a stream; drained so the tool never blocks on it.
        if let Some(err) = started.child.stderr.take() {
            std::thread::spawn(move || read_capped(err, 0, false));
        }
        let (cancel, cancelled) = mpsc::channel::<()>();
        let watchdog = match (&started.deadline, started.group) {
            (Some(d), Some(group)) => {
                let at = d.at;
                Some(std::thread::spawn(move || {
                    let wait = at.saturating_duration_since(Instant::now());
                    match cancelled.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            kill_group(group);
                            true
                        }
                        _ => false,
                    }
                }))
            }
            _ => None,
        };
        Ok(Streaming {
            started,
            stdout,
            cancel,
            watchdog,
        })
    }
}

/// A tool whose stdout the caller reads as a stream ([`Tool::stream`]).
pub struct Streaming {
    started: Started,
    stdout: Option<std::process::ChildStdout>,
    cancel: mpsc::Sender<()>,
    watchdog: Option<std::thread::JoinHandle<bool>>,
}

impl Streaming {
    /// Its stdout.
    pub fn stdout(&mut self) -> &mut std::process::ChildStdout {
        self.stdout
            .as_mut()
            .expect("stdout is taken only by finish")
    }

    /// Stop it (the caller has read what it needs) and reap it; `Err` when the deadline stopped
    /// it first, in which case what was read is incomplete.
    pub fn finish(mut self) -> Result<(), ToolError> {
        drop(self.stdout.take());
        let _ = self.cancel.send(());
        let timed_out = self
            .watchdog
            .take()
            .map(|w| w.join().unwrap_or(false))
            .unwrap_or(false);
        self.started.kill();
        let _ = self.started.reap();
        if timed_out {
            let s = &mut self.started;
            return Err(ToolError::TimedOut {
                program: std::mem::take(&mut s.program),
                file: s.file.take(),
                deadline: s
                    .deadline
                    .take()
                    .unwrap_or_else(|| Deadline::after(Duration::ZERO, "?")),
            });
        }
        Ok(())
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.cancel.send(());
        self.started.kill();
        let _ = self.started.reap();
    }
}

/// A started tool.
struct Started {
    child: Child,
    /// Its process group (with a deadline: its own, led by it).
    group: Option<u32>,
    deadline: Option<Deadline>,
    program: String,
    file: Option<PathBuf>,
    stdout_cap: usize,
    /// Reaped: its pid (and group id) may belong to another process now, so no more kills.
    reaped: bool,
}

impl Started {
    /// Kill it, with its whole group when it has one.
    fn kill(&mut self) {
        if self.reaped {
            return;
        }
        if self.group.is_some() {
            self.kill_group();
        } else {
            let _ = self.child.kill();
        }
    }

    fn kill_group(&self) {
        if let (Some(g), false) = (self.group, self.reaped) {
            kill_group(g);
        }
    }

    /// Wait for it (after it ended or was killed).
    fn reap(&mut self) -> Result<ExitStatus, ToolError> {
        let status = self.child.wait().map_err(|error| ToolError::Wait {
            program: self.program.clone(),
            error,
        });
        self.reaped = true;
        status
    }
}

enum Stop {
    Deadline,
    Overflow,
}

enum Event {
    Stdout((Vec<u8>, bool)),
    Stderr(Vec<u8>),
    Exited,
}

/// Kill the process group `group` (SIGKILL).
fn kill_group(group: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(group as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Block until `pid` has ended, without reaping it (so its pid, and its group id, stay taken
/// until the caller has killed what is left of the group and reaps it).
fn exited(pid: u32) {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    use rustix::process::{waitid, WaitId, WaitIdOptions};
    loop {
        match waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            _ => return,
        }
    }
}

/// Read a stream, keeping at most `cap` bytes. With `stop_at_cap`, stop reading past the cap
/// and say so; otherwise read and drop the rest (so the writer never blocks).
fn read_capped(mut r: impl Read, cap: usize, stop_at_cap: bool) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let room = cap.saturating_sub(kept.len());
        if n > room && stop_at_cap {
            kept.extend_from_slice(&buf[..room]);
            return (kept, true);
        }
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    (kept, false)
}

/// The last lines of a tool's stderr, on one line.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let from = lines.len().saturating_sub(3);
    lines[from..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_run_returns_stdout() {
        let out = Tool::new("printf").arg("a%sb").arg("x").run().unwrap();
        assert_eq!(out, b"axb");
    }

    #[test]
    fn a_failure_names_the_tool_the_file_and_the_stderr() {
        let e = Tool::new("sh")
            .args(["-c", "echo broken >&2; exit 3"])
            .file(Path::new("/x/in.png"))
            .run()
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("sh on /x/in.png") && m.contains("broken"), "{m}");
    }

    #[test]
    fn a_missing_tool_names_its_package() {
        let e = Tool::new("aigc-no-such-tool-xyz").run().unwrap_err();
        assert!(matches!(e, ToolError::NotStarted { .. }));
        assert!(e.to_string().contains("not found"), "{e}");
    }

    #[test]
    fn stdout_past_the_cap_is_an_error() {
        let e = Tool::new("head")
            .args(["-c", "100000", "/dev/zero"])
            .stdout_cap(1000)
            .run()
            .unwrap_err();
        assert!(
            matches!(e, ToolError::OutputTooLarge { cap: 1000, .. }),
            "{e}"
        );
    }

    #[test]
    fn nested_deadlines_keep_the_earlier_and_restore_the_outer() {
        let outer = Deadline::after(Duration::from_secs(100), "outer");
        with_deadline(outer, || {
            let inner = Deadline::after(Duration::from_secs(1000), "inner");
            with_deadline(inner, || {
                assert_eq!(current_deadline().unwrap().source, "outer");
            });
            assert_eq!(current_deadline().unwrap().source, "outer");
        });
        assert!(current_deadline().is_none());
    }
}
