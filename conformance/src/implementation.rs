//! The implementation under test, behind one interface: [`Implementation`].
//!
//! Three variants:
//! - [`Adapter`] in process-per-request mode (a fresh process per request, the default);
//! - [`Adapter`] in persistent mode (a pool of `serve` workers, when `info` offers it);
//! - [`InProcess`]: the reference library called directly, no subprocess.
//!
//! `aigc-conform run` without `--adapter` still runs the reference as a subprocess
//! (`aigc-label adapter`): that keeps the reference inside the same isolation, timeouts, caps and
//! provenance (executable hash) as any other implementation, so its report is comparable.
//! [`InProcess`] is for tests and tools that want the reference's answers without a build of the
//! binary; it enforces no timeout and cannot survive a panic of the library.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::adapter::{check_response, resolve_program, Adapter, Exchange};
use crate::sandbox::Isolation;
use aigc_label::Profile;

/// How the report names the implementation.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The command as given (or as built for the reference).
    pub command: String,
    /// The command words (empty for [`InProcess`]); `argv[0]` and the arguments that name files
    /// are hashed into the report.
    pub argv: Vec<String>,
    /// Whether this is the reference implementation.
    pub reference: bool,
}

/// An implementation under test: answers protocol requests (`aigc_label::protocol`).
///
/// Every failure to answer (crash, hang, garbage, schema violation) is an [`Exchange`] value,
/// never a panic of the harness.
pub trait Implementation: Send + Sync {
    /// Send one request (the wire form, so that vectors can send malformed shapes on purpose);
    /// `scratch` is the request's own folder.
    fn request(&self, request: &Value, scratch: &Path) -> Exchange;
    /// Use persistent mode from now on, if the implementation has one (after `info` offered it).
    fn set_persistent(&mut self, _on: bool) {}
    /// `process-per-request`, `persistent` or `in-process`.
    fn mode(&self) -> &'static str;
    /// What the report says about it.
    fn identity(&self) -> Identity;
    /// End whatever runs in the background (persistent workers).
    fn shutdown(&self) {}
    /// How its processes are confined (`crate::sandbox`); a certification run requires
    /// [`Isolation::Bwrap`].
    fn isolation(&self) -> Isolation;
}

/// The process variants: [`Adapter`] holds the command and the mode.
pub struct Process {
    /// The adapter.
    pub adapter: Adapter,
    /// The identity for the report.
    pub identity: Identity,
}

impl Implementation for Process {
    fn request(&self, request: &Value, scratch: &Path) -> Exchange {
        self.adapter.request(request, scratch)
    }

    fn set_persistent(&mut self, on: bool) {
        self.adapter.set_persistent(on);
    }

    fn mode(&self) -> &'static str {
        if self.adapter.is_persistent() {
            "persistent"
        } else {
            "process-per-request"
        }
    }

    fn identity(&self) -> Identity {
        self.identity.clone()
    }

    fn shutdown(&self) {
        self.adapter.shutdown();
    }

    fn isolation(&self) -> Isolation {
        self.adapter.isolation()
    }
}

/// The reference library called in-process ([`aigc_label::protocol::answer`]).
pub struct InProcess {
    profile: Profile,
}

impl InProcess {
    /// The reference, reading with `profile`.
    pub fn new(profile: Profile) -> InProcess {
        InProcess { profile }
    }
}

impl Implementation for InProcess {
    fn request(&self, request: &Value, _scratch: &Path) -> Exchange {
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        let started = Instant::now();
        let answer = aigc_label::protocol::answer(request.clone(), &self.profile);
        Exchange {
            // The same schema check as for an adapter's stdout.
            response: check_response(op, answer),
            stderr: String::new(),
            elapsed: started.elapsed(),
        }
    }

    fn mode(&self) -> &'static str {
        "in-process"
    }

    fn isolation(&self) -> Isolation {
        Isolation::InProcess
    }

    fn identity(&self) -> Identity {
        Identity {
            command: format!("in-process aigc-label {}", env!("CARGO_PKG_VERSION")),
            argv: Vec::new(),
            reference: true,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc-1"), "abc-1");
        assert_eq!(shell_quote("python3 x.py"), "'python3 x.py'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
