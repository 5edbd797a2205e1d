//! Containment of the implementation under test (issue 10 part 5, issue 16).
//!
//! Two isolation levels, chosen with `run --isolation {auto,bwrap,none}`:
//! - [`Isolation::Bwrap`]: every adapter process runs inside bubblewrap: no network
//!   (`--unshare-net`), its own PID namespace (`--unshare-pid`: when the adapter's main process
//!   ends, every process it left behind dies with the namespace, `setsid` daemons included), no
//!   capabilities, a read-only view of the system folders and of the adapter's own folders, the
//!   request's scratch folder as the only writable place, and the vectors folder not mounted.
//! - [`Isolation::None`]: plain processes in their own process group, killed as a group at the
//!   end of each request; a process that left the group is found by a marker in its environment
//!   (best effort: a process can clear its environment; use bubblewrap for a certification run).
//!
//! Either way a process still alive after the request is reported ([`SURVIVOR_EXIT`],
//! [`survivors`]): it is its own outcome, never silent.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// How the adapter's processes are confined (recorded in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Process group and environment marker only.
    None,
    /// Bubblewrap: no network, PID namespace, read-only system, vectors not mounted.
    Bwrap,
    /// The reference library called in the harness's own process (tests only).
    InProcess,
}

impl Isolation {
    /// Stable name (as in report.json).
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::Bwrap => "bwrap",
            Isolation::InProcess => "in-process",
        }
    }
}

/// The `--isolation` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationChoice {
    /// Bubblewrap when it is installed and works here, else none.
    #[default]
    Auto,
    /// Bubblewrap, or refuse to run.
    Bwrap,
    /// No sandbox.
    None,
}

impl std::str::FromStr for IsolationChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(IsolationChoice::Auto),
            "bwrap" => Ok(IsolationChoice::Bwrap),
            "none" => Ok(IsolationChoice::None),
            other => Err(format!("unknown isolation {other:?} (auto, bwrap or none)")),
        }
    }
}

impl IsolationChoice {
    /// The isolation this choice gives on this machine; `Err` when bwrap is required but
    /// cannot run.
    pub fn resolve(self) -> Result<Isolation, String> {
        match self {
            IsolationChoice::None => Ok(Isolation::None),
            IsolationChoice::Auto => Ok(if bwrap_works().is_ok() {
                Isolation::Bwrap
            } else {
                Isolation::None
            }),
            IsolationChoice::Bwrap => bwrap_works().map(|_| Isolation::Bwrap),
        }
    }
}

/// Whether bubblewrap is installed and can create its namespaces here (it cannot in some
/// containers); `Err` says why not. Checked once per process.
pub fn bwrap_works() -> Result<(), String> {
    static OK: OnceLock<Result<(), String>> = OnceLock::new();
    OK.get_or_init(|| {
        let status = Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "--unshare-net", "--unshare-pid"])
            .args(["--die-with-parent", "--", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!(
                "bwrap cannot create its namespaces here ({s}); Debian: apt-get install bubblewrap, and allow user namespaces"
            )),
            Err(e) => Err(format!(
                "bwrap not found ({e}): install bubblewrap (Debian: apt-get install bubblewrap)"
            )),
        }
    })
    .clone()
}

/// Name of the environment variable that marks every process of one request (or one
/// persistent worker), so that processes which left the process group can still be found.
pub const MARKER_VAR: &str = "AIGC_CONFORM_SANDBOX";

/// Exit status of the in-sandbox wrapper when processes were still running after the adapter's
/// main process ended (they are killed with the PID namespace).
pub const SURVIVOR_EXIT: i32 = 86;

/// Runs the adapter, then counts the processes left in the PID namespace (pid 1 is bubblewrap's
/// init, `$$` this shell; the glob is expanded by the shell itself, so no helper process runs).
const WRAPPER: &str = r#""$@"; rc=$?; n=0
for p in /proc/[0-9]*; do case "${p#/proc/}" in 1|$$) ;; *) n=$((n+1)) ;; esac; done
if [ "$n" -gt 0 ]; then echo "aigc-conform: $n process(es) of the adapter still running after it exited; killed" >&2; exit 86; fi
exit $rc"#;

/// A fresh marker value.
pub fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Where and how one adapter process starts.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// Its working folder.
    pub cwd: &'a Path,
    /// The only writable folder (under bubblewrap).
    pub writable: &'a Path,
    /// Files inside `writable` bound read-only over themselves (the private input copy).
    pub read_only_files: &'a [PathBuf],
    /// Wrap the adapter so that processes it leaves behind are reported ([`SURVIVOR_EXIT`]).
    pub count_survivors: bool,
    /// The environment marker of its processes.
    pub marker: &'a str,
}

/// The confinement of one implementation: the isolation level and the folders it involves.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The isolation level.
    pub isolation: Isolation,
    /// Folders bound read-only (the adapter's program and scripts, with their install prefix).
    pub readable: Vec<PathBuf>,
    /// Folders never visible, even inside a readable one (the vectors folder).
    pub hidden: Vec<PathBuf>,
}

impl Sandbox {
    /// No sandbox.
    pub fn none() -> Sandbox {
        Sandbox {
            isolation: Isolation::None,
            readable: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// The sandbox for the adapter command `argv` (already absolute) at `isolation`, hiding
    /// `vectors`.
    pub fn for_command(isolation: Isolation, argv: &[String], vectors: &Path) -> Sandbox {
        let mut readable = Vec::new();
        let program = argv
            .first()
            .and_then(|p| crate::adapter::resolve_program(p));
        for file in program.into_iter().chain(
            argv.iter()
                .skip(1)
                .map(PathBuf::from)
                .filter(|p| p.is_file()),
        ) {
            let file = std::fs::canonicalize(&file).unwrap_or(file);
            let Some(dir) = file.parent() else { continue };
            // A program in .../bin (or a pyenv shim folder) needs its whole prefix (libraries,
            // the interpreter's standard library).
            let dir = match dir.file_name().and_then(|n| n.to_str()) {
                Some("bin" | "sbin" | "shims") => dir.parent().unwrap_or(dir),
                _ => dir,
            };
            if dir != Path::new("/") && !readable.iter().any(|r: &PathBuf| dir.starts_with(r)) {
                readable.push(dir.to_path_buf());
            }
        }
        let vectors = std::fs::canonicalize(vectors).unwrap_or_else(|_| vectors.to_path_buf());
        Sandbox {
            isolation,
            readable,
            hidden: vec![vectors],
        }
    }

    /// Also make `file`'s folder readable (a program the adapter runs that its command line
    /// does not name, e.g. the reference it wraps), unless that would show the vectors.
    pub fn allow_program(&mut self, file: &Path) {
        let Some(dir) = file.is_file().then(|| file.parent()).flatten() else {
            return;
        };
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let shows_vectors = self
            .hidden
            .iter()
            .any(|h| h.starts_with(&dir) || dir.starts_with(h));
        if !shows_vectors
            && dir != Path::new("/")
            && !self.readable.iter().any(|r| dir.starts_with(r))
        {
            self.readable.push(dir);
        }
    }

    /// The command that runs `argv` + `extra` as `launch` says, under this sandbox, marked with
    /// `launch.marker` ([`MARKER_VAR`]), in its own process group.
    pub fn command(&self, argv: &[String], extra: &[&str], launch: &Launch) -> Command {
        let Launch {
            cwd,
            writable,
            read_only_files,
            count_survivors,
            marker,
        } = *launch;
        let mut cmd = match self.isolation {
            Isolation::Bwrap => {
                let mut c = Command::new("bwrap");
                c.args(self.bwrap_args(writable, read_only_files, cwd));
                c.arg("--");
                if count_survivors {
                    c.args(["/bin/sh", "-c", WRAPPER, "sh"]);
                }
                c.args(argv).args(extra);
                c
            }
            Isolation::None | Isolation::InProcess => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]).args(extra);
                c
            }
        };
        cmd.current_dir(cwd)
            .env(MARKER_VAR, marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    fn bwrap_args(&self, writable: &Path, read_only_files: &[PathBuf], cwd: &Path) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        push(&[
            "--unshare-net",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
        ]);
        push(&["--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
        // The system, read-only: /usr and the merged-/usr links, /etc for the loader and locale.
        push(&["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]);
        for (link, target) in [
            ("/bin", "usr/bin"),
            ("/sbin", "usr/sbin"),
            ("/lib", "usr/lib"),
            ("/lib64", "usr/lib64"),
            ("/lib32", "usr/lib32"),
        ] {
            match std::fs::symlink_metadata(link) {
                Ok(m) if m.file_type().is_symlink() => push(&["--symlink", target, link]),
                Ok(_) => push(&["--ro-bind", link, link]),
                Err(_) => {}
            }
        }
        push(&["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        for r in &self.readable {
            let r = r.display().to_string();
            push(&["--ro-bind-try", &r, &r]);
        }
        // A readable folder may contain the vectors folder (an adapter at the checkout's root):
        // an empty folder goes over it.
        for h in &self.hidden {
            if self
                .readable
                .iter()
                .any(|r| h.starts_with(r) || r.starts_with(h))
            {
                let h = h.display().to_string();
                push(&["--tmpfs", &h]);
            }
        }
        let w = writable.display().to_string();
        push(&["--bind", &w, &w]);
        for f in read_only_files {
            let f = f.display().to_string();
            push(&["--ro-bind", &f, &f]);
        }
        let cwd = cwd.display().to_string();
        push(&["--chdir", &cwd]);
        a
    }
}

/// Kill one process (`kill(1)`, so this crate stays free of `unsafe`).
pub fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Processes (pid, command name) whose environment carries `marker`: what an adapter left
/// running after its request. Reads `/proc`; empty where there is none.
pub fn survivors(marker: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARKER_VAR}={marker}");
    let needle = needle.as_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            env.split(|&b| b == 0).any(|kv| kv == needle).then(|| {
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                (pid, name)
            })
        })
        .collect()
}

/// Kill every process carrying `marker`; returns what was found (pid, command name).
pub fn kill_survivors(marker: &str) -> Vec<(u32, String)> {
    let found = survivors(marker);
    for (pid, _) in &found {
        kill_pid(*pid);
    }
    found
}

/// The ids of a process that tell where it belongs (from `/proc/PID/stat`).
#[derive(Debug, Clone, Copy)]
struct Ids {
    ppid: u32,
    session: u32,
    /// Start time (clock ticks after boot): tells the earliest of siblings.
    start: u64,
}

fn ids(pid: u32) -> Option<Ids> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp session ... starttime(22nd)`; comm may hold spaces and ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Ids {
        ppid: f.get(1)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// The processes of a persistent worker that escaped it: marked with `marker`, and either not
/// descended from the adapter's own process any more (a double fork: reparented to init, or
/// to the sandbox's init under bubblewrap) or in another session (`setsid`). Helpers the adapter
/// keeps as its children in its session (a `-stay_open` ExifTool) are not counted. `worker` is
/// the process the harness started (the adapter itself, or bubblewrap, whose init's eldest
/// child is the adapter). Empty while the adapter cannot be found.
pub fn escaped(marker: &str, worker: u32, isolation: Isolation) -> Vec<(u32, String)> {
    let marked: std::collections::HashMap<u32, (String, Ids)> = survivors(marker)
        .into_iter()
        .filter_map(|(pid, name)| Some((pid, (name, ids(pid)?))))
        .collect();
    let children_of = |parent: u32| -> Vec<u32> {
        marked
            .iter()
            .filter(|(_, (_, i))| i.ppid == parent)
            .map(|(pid, _)| *pid)
            .collect()
    };
    let root = match isolation {
        Isolation::Bwrap => {
            let Some(init) = children_of(worker).into_iter().min() else {
                return Vec::new();
            };
            match children_of(init)
                .into_iter()
                .min_by_key(|p| (marked[p].1.start, *p))
            {
                Some(adapter) => adapter,
                None => return Vec::new(),
            }
        }
        Isolation::None | Isolation::InProcess => worker,
    };
    let Some((_, root_ids)) = marked.get(&root) else {
        return Vec::new();
    };
    // The adapter's ancestors (bubblewrap and its init) are the harness's, not leftovers.
    let mut ancestors = std::collections::HashSet::new();
    let mut at = root_ids.ppid;
    while let Some((_, i)) = marked.get(&at) {
        if !ancestors.insert(at) {
            break;
        }
        at = i.ppid;
    }
    let descends_from_root = |pid: u32| -> bool {
        let mut at = pid;
        for _ in 0..marked.len() + 1 {
            if at == root {
                return true;
            }
            match marked.get(&at) {
                Some((_, i)) => at = i.ppid,
                None => return false,
            }
        }
        false
    };
    let mut found: Vec<(u32, String)> = marked
        .iter()
        .filter(|(pid, _)| **pid != root && !ancestors.contains(*pid))
        .filter(|(pid, (_, i))| !descends_from_root(**pid) || i.session != root_ids.session)
        .map(|(pid, (name, _))| (*pid, name.clone()))
        .collect();
    found.sort();
    found
}

/// Kill what [`escaped`] finds; returns it.
pub fn kill_escaped(marker: &str, worker: u32, isolation: Isolation) -> Vec<(u32, String)> {
    let found = escaped(marker, worker, isolation);
    for (pid, _) in &found {
        kill_pid(*pid);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!("auto".parse(), Ok(IsolationChoice::Auto));
        assert_eq!("none".parse(), Ok(IsolationChoice::None));
        assert!("docker".parse::<IsolationChoice>().is_err());
        assert_eq!(IsolationChoice::None.resolve(), Ok(Isolation::None));
    }

    #[test]
    fn the_vectors_folder_is_hidden_inside_a_readable_one() {
        let s = Sandbox {
            isolation: Isolation::Bwrap,
            readable: vec!["/repo".into()],
            hidden: vec!["/repo/vectors".into()],
        };
        let a = s.bwrap_args(Path::new("/tmp/s"), &[], Path::new("/tmp/s"));
        let tmpfs = a.iter().position(|x| x == "/repo/vectors").unwrap();
        assert_eq!(a[tmpfs - 1], "--tmpfs");
        let bind = a.iter().position(|x| x == "/repo").unwrap();
        assert!(bind < tmpfs, "the tmpfs must come after the bind: {a:?}");
    }
}
