//! One path of a scan as one JSON line: shared by `aigc-label scan` and the Python package
//! (`python/`, which includes this file), so that a scan distributed over a cluster from
//! Python gives the same lines as the command.
//!
//! Uses only the library's entry points and std/libc, so that it compiles in both crates.

use aigc_label::error::CodecError;
use aigc_label::implicit::{detect, read_input, Format, LabelReport, ReadReport, Verdict};
use aigc_label::io::Input;
use aigc_label::{Problem, Profile};
use serde::Serialize;
use serde_json::Value;
use std::fs::{self, File};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What happened to one path (the `status` of its line).
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Read; `verdict` says what was found.
    Read,
    /// Not a format the reference handles.
    Unsupported,
    /// A supported file that could not be read, or a folder that could not be listed.
    Error,
    /// Not opened: a symbolic link, FIFO, socket, device, or a folder too deep.
    Skipped,
}

/// One JSON line. Field order is the schema's.
#[derive(Serialize)]
struct Line<'a> {
    path: &'a str,
    status: Status,
    format: Option<&'a str>,
    media: Option<&'a str>,
    size: Option<u64>,
    labels: &'a [LabelReport],
    problems: &'a [Problem],
    verdict: Option<Verdict>,
    /// The security status of the label (issue 12); `null` until that check exists.
    security: Value,
    error: Option<&'a str>,
    error_kind: Option<&'static str>,
    note: Option<&'a str>,
}

/// A finished path: its serialised line and what the summary needs from it.
pub struct Outcome {
    /// The JSON line (without its newline).
    pub line: String,
    /// What happened.
    pub status: Status,
    /// The verdict, when read.
    pub verdict: Option<Verdict>,
    /// The format id, when recognised.
    pub format: Option<String>,
    /// `code (severity)` of every problem, for the summary.
    pub problem_keys: Vec<String>,
    /// Bytes, for regular files opened.
    pub size: u64,
    /// A path named on the command line that could not be accessed at all.
    pub missing_root: bool,
}

impl Outcome {
    fn new(
        path: &str,
        status: Status,
        error: Option<(&str, &'static str)>,
        note: Option<&str>,
    ) -> Outcome {
        let line = Line {
            path,
            status,
            format: None,
            media: None,
            size: None,
            labels: &[],
            problems: &[],
            verdict: None,
            security: Value::Null,
            error: error.map(|e| e.0),
            error_kind: error.map(|e| e.1),
            note,
        };
        Outcome {
            line: serde_json::to_string(&line).expect("json"),
            status,
            verdict: None,
            format: None,
            problem_keys: Vec::new(),
            size: 0,
            missing_root: false,
        }
    }

    /// A regular file that could not be read: `format` when it was recognised first.
    pub fn failed(
        path: &str,
        status: Status,
        format: Option<&dyn Format>,
        size: u64,
        message: &str,
        kind: &'static str,
    ) -> Outcome {
        let line = Line {
            path,
            status,
            format: format.map(|f| f.id()),
            media: format.map(|f| f.media_types()[0]),
            size: Some(size),
            labels: &[],
            problems: &[],
            verdict: None,
            security: Value::Null,
            error: Some(message),
            error_kind: Some(kind),
            note: None,
        };
        Outcome {
            line: serde_json::to_string(&line).expect("json"),
            status,
            verdict: None,
            format: format.map(|f| f.id().to_string()),
            problem_keys: Vec::new(),
            size,
            missing_root: false,
        }
    }

    pub fn skipped(path: &Path, note: &str) -> Outcome {
        Outcome::new(
            &path.display().to_string(),
            Status::Skipped,
            None,
            Some(note),
        )
    }

    pub fn error(path: &Path, message: &str, kind: &'static str) -> Outcome {
        Outcome::new(
            &path.display().to_string(),
            Status::Error,
            Some((message, kind)),
            None,
        )
    }

    pub fn read(report: &ReadReport, size: u64) -> Outcome {
        let line = Line {
            path: &report.file,
            status: Status::Read,
            format: Some(&report.format),
            media: Some(&report.media),
            size: Some(size),
            labels: &report.labels,
            problems: &report.problems,
            verdict: Some(report.verdict),
            security: security_status(report),
            error: None,
            error_kind: None,
            note: None,
        };
        let problem_keys = report
            .labels
            .iter()
            .flat_map(|l| l.problems.iter())
            .chain(report.problems.iter())
            .map(|p| format!("{} ({})", p.code.as_str(), severity_name(p)))
            .collect();
        Outcome {
            line: serde_json::to_string(&line).expect("json"),
            status: Status::Read,
            verdict: Some(report.verdict),
            format: Some(report.format.clone()),
            problem_keys,
            size,
            missing_root: false,
        }
    }
}

fn severity_name(p: &Problem) -> String {
    serde_json::to_value(p.severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The security data of the file's labels (TC260-PG-202511A, `aigc_label::security`): the
/// worst status over the labels (`Status` is ordered absent < … < failed) and each label's
/// report in file order; `null` when the file has no label.
fn security_status(report: &ReadReport) -> Value {
    let worst = report.labels.iter().map(|l| l.security.status).max();
    match worst {
        None => Value::Null,
        Some(status) => serde_json::json!({
            "status": status,
            "labels": report.labels.iter().map(|l| &l.security).collect::<Vec<_>>(),
        }),
    }
}

/// Read one file's labels without ever blocking on it: opened non-blocking (a FIFO swapped in
/// after the walk then fails or is seen on the descriptor instead of hanging), and not through
/// a final symlink unless the walk followed one on purpose.
pub fn scan_file(path: &Path, via_link: bool, profile: &Profile) -> Outcome {
    let mut flags = libc::O_NONBLOCK;
    if !via_link {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Outcome::skipped(path, "became a symbolic link during the scan; not followed")
        }
        Err(e) => return Outcome::error(path, &format!("{}: {e}", path.display()), "io"),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Outcome::error(path, &format!("{}: {e}", path.display()), "io"),
    };
    if !meta.is_file() {
        return Outcome::skipped(
            path,
            &format!(
                "{}, not a regular file; not read",
                kind_name(meta.file_type())
            ),
        );
    }
    let name = path.display().to_string();
    // Read through the descriptor already checked (its /proc name reopens the same inode); the
    // real path still gives the extension that format detection falls back on.
    let mut input = match Input::open(&descriptor_path(&file).unwrap_or_else(|| path.to_path_buf()))
    {
        Ok(i) => i,
        Err(e) => return Outcome::error(path, &format!("{name}: {e}"), "io"),
    };
    let (format, e) = match detect(&mut input, Some(path)) {
        Err(e) => (None, e),
        Ok(f) => match read_input(&mut input, f, &name, profile) {
            Ok(report) => return Outcome::read(&report, meta.len()),
            Err(e) => (Some(f), e),
        },
    };
    let kind = match &e {
        CodecError::Unsupported(_) => "unsupported",
        CodecError::Corrupt { .. } => "corrupt",
        CodecError::Limit { .. } => "limit",
        CodecError::Io(_) => "io",
    };
    let status = if format.is_none() && kind == "unsupported" {
        Status::Unsupported
    } else {
        Status::Error
    };
    let message = format!("{name}: {e}");
    Outcome::failed(&name, status, format, meta.len(), &message, kind)
}

/// `/proc/self/fd/N` for an open file, where /proc is mounted.
fn descriptor_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    static PROC: OnceLock<bool> = OnceLock::new();
    PROC.get_or_init(|| Path::new("/proc/self/fd").is_dir())
        .then(|| PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())))
}

pub fn kind_name(t: fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}
