//! Official, checkable reports (issue 10.6): the run's certification details in the report
//! ([`Certification`]), SM2 keys ([`keys`]), the signature and manifest written next to the
//! report ([`sign`]) and the offline check ([`verify`]).
//!
//! Why SM2 with SM3 (GM/T 0003 / GB/T 32918 and GM/T 0004 / GB/T 32905): the reports certify
//! conformance to a Chinese national standard, and a Chinese certification body signs with the
//! commercial cryptography algorithms it is required to use; the TC260 guide this suite tests
//! (TC260-PG-202511A) signs labels with the same SM3withSM2, and the reference already verifies
//! it with the RustCrypto `sm2` crate, so the suite adds no new cryptographic dependency.
//! Signatures are deterministic (RFC 6979 nonces), so re-signing the same report gives the same
//! bytes. The per-file digests of the manifest are SHA-256, as the rest of the report.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use crate::official::Scope;
use crate::report::HashedFile;

pub mod keys;
pub mod sign;
pub mod verify;

/// `practice` (golden vectors) or `official` (fresh instances).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The fixed golden vectors (self-test).
    Practice,
    /// Fresh seeded instances of the instantiated families.
    Official,
}

/// What makes a report an identifiable, checkable record (one group of fields in report.json,
/// absent from `--stable` reports, which are repository artefacts rather than certificates).
#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    /// Unique id of this report (`aigcr-` + 128 random bits, hex).
    pub report_id: String,
    /// Practice or official.
    pub mode: Mode,
    /// The generator seed (official runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// What was instantiated and what stayed golden (official runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Who ran the suite (`--operator`).
    pub operator: Option<String>,
    /// The laboratory (`--lab`).
    pub lab: Option<String>,
    /// Every file the adapter command names, followed through interpreters and shims
    /// ([`adapter_files`]), with its SHA-256.
    pub executables: Vec<ExecutableFile>,
    /// Versions of the external tools the oracle uses (`ffmpeg -version`, ...), first line;
    /// `null` when the tool is not installed.
    pub tools: BTreeMap<String, Option<String>>,
    /// The isolation of the implementation under test (`bwrap` or `none`; issue 10.5).
    pub isolation: String,
}

/// One file behind the adapter command.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutableFile {
    /// How it was found: `program`, `argument`, `interpreter` (a shebang), `exec` (named by a
    /// shell shim).
    pub role: String,
    /// Path and SHA-256.
    #[serde(flatten)]
    pub file: HashedFile,
}

/// A fresh report id from the operating system's random source.
pub fn new_report_id() -> String {
    let mut buf = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_ok();
    if !ok {
        let d = crate::meta::sha256(
            format!("{:?}{}", std::time::SystemTime::now(), std::process::id()).as_bytes(),
        );
        return format!("aigcr-{}", &d[..32]);
    }
    format!(
        "aigcr-{}",
        buf.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The external tools whose versions the report records, with the argument that prints it.
const TOOLS: [(&str, &str); 4] = [
    ("ffmpeg", "-version"),
    ("ffprobe", "-version"),
    ("tesseract", "--version"),
    ("exiftool", "-ver"),
];

/// The first non-empty output line of each tool's version command (run once per run, in
/// parallel); `None` when the tool is missing or fails.
pub fn tool_versions() -> BTreeMap<String, Option<String>> {
    let handles: Vec<_> = TOOLS
        .iter()
        .map(|(tool, arg)| {
            let (tool, arg) = (tool.to_string(), arg.to_string());
            std::thread::spawn(move || {
                let version = Command::new(&tool)
                    .arg(&arg)
                    .stdin(Stdio::null())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .and_then(|o| {
                        // tesseract prints its version on stderr in older releases.
                        let text = [o.stdout, o.stderr].concat();
                        String::from_utf8_lossy(&text)
                            .lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty())
                            .map(String::from)
                    });
                (tool, version)
            })
        })
        .collect();
    handles.into_iter().filter_map(|h| h.join().ok()).collect()
}

/// Files behind an adapter command line, best effort: the program (resolved via PATH), every
/// argument that is an existing file; for each, if it starts with `#!`, the interpreter (and,
/// for `/usr/bin/env NAME`, NAME on PATH); if it is a shell script, the files named by its
/// `exec` lines that exist (relative to the script's folder or absolute). Depth-limited, each
/// file once.
pub fn adapter_files(argv: &[String]) -> Vec<ExecutableFile> {
    let mut out: Vec<ExecutableFile> = Vec::new();
    let mut queue: Vec<(String, PathBuf, usize)> = Vec::new();
    if let Some(p) = argv
        .first()
        .and_then(|p| crate::adapter::resolve_program(p))
    {
        queue.push(("program".into(), p, 0));
    }
    for a in argv.iter().skip(1) {
        let p = Path::new(a);
        if p.is_file() {
            queue.push((
                "argument".into(),
                std::fs::canonicalize(p).unwrap_or(p.into()),
                0,
            ));
        }
    }
    while let Some((role, path, depth)) = queue.pop() {
        if out.iter().any(|e| Path::new(&e.file.path) == path) || out.len() >= 32 {
            continue;
        }
        let Some(sha) = crate::meta::file_sha256(&path) else {
            continue;
        };
        out.push(ExecutableFile {
            role,
            file: HashedFile {
                path: path.display().to_string(),
                sha256: sha,
            },
        });
        if depth >= 3 {
            continue;
        }
        for (role, next) in referenced_files(&path) {
            queue.push((role, next, depth + 1));
        }
    }
    out.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    out
}

/// What a script names: its shebang interpreter and the targets of `exec` lines.
fn referenced_files(path: &Path) -> Vec<(String, PathBuf)> {
    let mut head = vec![0u8; 64 * 1024];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head.truncate(n);
    if !head.starts_with(b"#!") {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut found = Vec::new();
    let resolve = |word: &str| -> Option<PathBuf> {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        let candidate = if word.contains('/') {
            let p = Path::new(&word);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                path.parent()?.join(p)
            }
        } else {
            crate::adapter::resolve_program(word)?
        };
        candidate
            .is_file()
            .then(|| std::fs::canonicalize(&candidate).unwrap_or(candidate))
    };
    let shebang = text.lines().next().unwrap_or("");
    let mut words = shebang[2..].split_whitespace();
    if let Some(interp) = words.next() {
        if let Some(p) = resolve(interp) {
            found.push(("interpreter".to_string(), p));
        }
        if interp.ends_with("/env") {
            if let Some(p) = words.find(|w| !w.starts_with('-')).and_then(resolve) {
                found.push(("interpreter".to_string(), p));
            }
        }
    }
    let shell = shebang.contains("sh");
    if shell {
        for line in text.lines().skip(1) {
            let line = line.trim();
            // The usual ways a shim names its own folder.
            let line = line
                .replace("\"$(dirname \"$0\")\"", ".")
                .replace("$(dirname \"$0\")", ".")
                .replace("$(dirname $0)", ".")
                .replace("${0%/*}", ".");
            let Some(rest) = line.strip_prefix("exec ") else {
                continue;
            };
            for w in rest.split_whitespace().take(3) {
                if w.starts_with('-') || w.contains('=') {
                    continue;
                }
                if let Some(p) = resolve(w) {
                    found.push(("exec".to_string(), p));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_are_unique_and_shaped() {
        let (a, b) = (new_report_id(), new_report_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), "aigcr-".len() + 32);
    }

    #[test]
    fn shims_are_followed_to_interpreter_and_exec_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.py");
        std::fs::write(&real, "#!/usr/bin/env python3\nprint('hi')\n").unwrap();
        let shim = dir.path().join("shim.sh");
        std::fs::write(
            &shim,
            "#!/bin/sh\nexec python3 \"$(dirname \"$0\")/real.py\" \"$@\"\n",
        )
        .unwrap();
        let files = adapter_files(&[shim.display().to_string()]);
        let roles: Vec<(&str, String)> = files
            .iter()
            .map(|f| (f.role.as_str(), f.file.path.clone()))
            .collect();
        assert!(
            roles
                .iter()
                .any(|(r, p)| *r == "exec" && p.ends_with("real.py")),
            "{roles:?}"
        );
        assert!(roles.iter().any(|(r, _)| *r == "interpreter"), "{roles:?}");
        assert!(roles
            .iter()
            .any(|(r, p)| *r == "program" && p.ends_with("shim.sh")));
    }
}
