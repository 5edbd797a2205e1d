//! Hostile input paths (issue 16, "the CLI on odd paths"), each written as the attack:
//!
//! - an input that is a FIFO, a character device that never ends (a `mknod` copy of
//!   `/dev/zero` in a temporary folder, never the system's own), a socket or a folder: every
//!   command that reads a file refuses it promptly with a message naming it (`read` on a FIFO
//!   used to block forever);
//! - a 100 GiB sparse Markdown file: `embed`, `propagate`, `read`, `check` and `mark` stop at
//!   once with the text size limit (`embed` and `propagate` used to start copying it);
//! - a Markdown file whose front matter is never closed, two million lines long: `check` and
//!   `propagate` (which look for a text prompt) hold no per-line records (they used to cost
//!   about 20 times the file's size in memory).
//!
//! Time limits here are safety nets that kill a hung command and fail the test; what is
//! asserted is the outcome (exit status, message, what is left on disk, peak memory).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");
const PRODUCER: &str = "001191110102MACQD9K64010000";
/// Long enough for any machine; a command still running then is hung (and killed).
const SAFETY_NET: Duration = Duration::from_secs(120);

/// Exit status, stderr and peak resident memory (KiB) of a finished command.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_kib: i64,
}

/// Run `cmd` to its end, killing it and failing the test if it is still running after the
/// safety net. Peak memory comes from `wait4`'s resource usage of this one child (which reaps
/// it: `Child::wait` is not used).
#[allow(clippy::zombie_processes)]
fn run_bounded(what: &str, cmd: &mut Command) -> Finished {
    let (out, err) = (
        tempfile::NamedTempFile::new().unwrap(),
        tempfile::NamedTempFile::new().unwrap(),
    );
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .expect("run aigc-label");
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status = 0;
    // SAFETY: plain libc calls on a zeroed rusage and our own child's pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4 failed");
        if r == pid {
            break;
        }
        if start.elapsed() > SAFETY_NET {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("{what}: still running after {SAFETY_NET:?} (hung); killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Finished {
        code,
        stdout: fs::read_to_string(out.path()).unwrap_or_default(),
        stderr: fs::read_to_string(err.path()).unwrap_or_default(),
        peak_rss_kib: usage.ru_maxrss,
    }
}

/// The arguments of every command that reads a file, with `input` as its input and outputs
/// in `out_dir`.
fn reading_commands(input: &Path, out_dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    let i = input.display().to_string();
    let o = |n: &str| out_dir.join(n).display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("read", s(&["read", &i])),
        (
            "embed",
            s(&[
                "embed",
                &i,
                "-o",
                &o("embed.out"),
                "--label",
                "1",
                "--producer",
                PRODUCER,
                "--produce-id",
                "1",
            ]),
        ),
        (
            "propagate",
            s(&[
                "propagate",
                &i,
                "-o",
                &o("propagate.out"),
                "--propagator",
                PRODUCER,
                "--propagate-id",
                "7",
            ]),
        ),
        ("check", s(&["check", &i, "--no-ocr"])),
        (
            "check --media text",
            s(&["check", &i, "--no-ocr", "--media", "text"]),
        ),
        ("mark", s(&["mark", &i, "-o", &o("mark.out")])),
        (
            "mark --media text",
            s(&["mark", &i, "-o", &o("mark2.out"), "--media", "text"]),
        ),
    ]
}

/// A character device that never ends, made in `dir` (like /dev/zero, 1,5). `None` when this
/// user may not make device nodes; then CI fails, elsewhere the device case is skipped.
fn endless_device(dir: &Path) -> Option<PathBuf> {
    let node = dir.join("zero");
    let made = Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "5"])
        .output()
        .expect("mknod");
    if made.status.success() {
        return Some(node);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "mknod failed in CI, so the device case was not tested: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    eprintln!(
        "skipping the device node: mknod needs CAP_MKNOD here ({})",
        String::from_utf8_lossy(&made.stderr).trim()
    );
    None
}

#[test]
fn inputs_that_are_not_regular_files_are_refused_promptly_by_every_command() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.png");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("socket.png")).unwrap();
    let folder = dir.path().join("folder.png");
    fs::create_dir(&folder).unwrap();
    let mut inputs = vec![
        ("FIFO", fifo),
        ("socket", dir.path().join("socket.png")),
        ("folder", folder),
    ];
    if let Some(device) = endless_device(dir.path()) {
        inputs.push(("character device", device));
    }
    let mut problems = Vec::new();
    for (kind, input) in &inputs {
        for (name, args) in reading_commands(input, out_dir.path()) {
            let what = format!("{name} on a {kind}");
            let f = run_bounded(&what, Command::new(BIN).args(&args));
            let msg = f.stderr.trim();
            if f.code != Some(2)
                || !msg.contains(&input.display().to_string())
                || !msg.contains("not a regular file")
            {
                problems.push(format!("{what}: exit {:?}: {msg}", f.code));
            }
        }
        // The attack changed nothing: the special file is still what it was.
        let t = fs::symlink_metadata(input).unwrap().file_type();
        assert!(
            t.is_fifo() || t.is_socket() || t.is_dir() || t.is_char_device(),
            "{kind} was replaced"
        );
    }
    let written: Vec<_> = fs::read_dir(out_dir.path()).unwrap().flatten().collect();
    assert!(written.is_empty(), "outputs written: {written:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `scan` named a FIFO or a device does not block either: it reports the path as skipped.
#[test]
fn scan_of_a_fifo_or_a_device_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.png");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut inputs = vec![fifo];
    inputs.extend(endless_device(dir.path()));
    for input in inputs {
        let f = run_bounded(
            "scan",
            Command::new(BIN)
                .args(["scan", "--no-progress", "--no-summary"])
                .arg(&input),
        );
        assert!(
            f.stdout.contains("skipped") && f.stdout.contains("not a regular file"),
            "{}: exit {:?}: {}{}",
            input.display(),
            f.code,
            f.stdout,
            f.stderr
        );
    }
}

/// A sparse file of `len` bytes starting with `head`.
fn sparse(path: &Path, head: &[u8], len: u64) {
    let mut f = fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(len).unwrap();
}

#[test]
fn a_100_gib_sparse_markdown_file_stops_at_the_text_limit() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let giant = dir.path().join("giant.md");
    sparse(&giant, b"---\ntitle: x\n---\n# Hello\n", 100 << 30);
    let mut problems = Vec::new();
    for (name, args) in reading_commands(&giant, out_dir.path()) {
        // A regression would copy 100 GiB: a file-size limit (SIGXFSZ ignored, so writes fail
        // with EFBIG) keeps it from filling the disk, and its error is not the one asserted.
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg("trap '' XFSZ; ulimit -f 131072; exec \"$0\" \"$@\"")
            .arg(BIN)
            .args(&args);
        let f = run_bounded(name, &mut sh);
        let msg = f.stderr.trim();
        if f.code != Some(2)
            || !msg.contains(&giant.display().to_string())
            || !msg.contains("limit")
        {
            problems.push(format!("{name}: exit {:?}: {msg}", f.code));
        }
    }
    let written: Vec<_> = fs::read_dir(out_dir.path()).unwrap().flatten().collect();
    assert!(written.is_empty(), "outputs written: {written:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_unterminated_front_matter_of_millions_of_lines_costs_no_memory_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines = 2_000_000usize;
    let big = dir.path().join("unclosed.md");
    let mut w = std::io::BufWriter::new(fs::File::create(&big).unwrap());
    w.write_all(b"---\n").unwrap();
    for _ in 0..lines {
        w.write_all(b"x\n").unwrap();
    }
    w.into_inner().unwrap();
    let size_kib = fs::metadata(&big).unwrap().len() as i64 / 1024;
    let small = dir.path().join("small.md");
    fs::write(&small, "---\nx\n").unwrap();
    for (name, args) in [
        ("check", vec!["check", "--no-ocr", "--media", "text"]),
        (
            "propagate",
            vec!["propagate", "--propagator", PRODUCER, "--propagate-id", "7"],
        ),
    ] {
        let peak = |input: &Path| {
            let out = dir.path().join(format!("{name}.out.md"));
            let _ = fs::remove_file(&out);
            let mut c = Command::new(BIN);
            c.args(&args).arg(input);
            if name == "propagate" {
                c.arg("-o").arg(&out);
            }
            run_bounded(name, &mut c).peak_rss_kib
        };
        let (base, big_peak) = (peak(&small), peak(&big));
        // The text is held once (plus its UTF-8 check and the head the front-matter parser
        // reads); a record per line (40 bytes for 2 bytes of text) would be 20 times its size.
        let extra = big_peak - base;
        println!(
            "{name}: {big_peak} KiB peak for a {size_kib} KiB file, {base} KiB for a tiny one"
        );
        assert!(
            extra < 6 * size_kib,
            "{name}: {extra} KiB more than on a tiny file, for a {size_kib} KiB text"
        );
    }
}

/// `Profile::load` (behind `--profile`, the conformance harness's `vectors/profile.yaml`, and
/// the Python binding) refuses a FIFO promptly instead of waiting for a writer that never comes,
/// and a profile over the metadata limit without reading it: a planted `profile.yaml` must not
/// hang or exhaust the program that judges. It used to `read_to_string` whatever the path was.
#[test]
fn a_profile_that_is_a_fifo_or_a_sparse_giant_is_refused_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.yaml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let giant = dir.path().join("giant.yaml");
    sparse(
        &giant,
        b"id: giant\n",
        aigc_label::limits::MAX_METADATA_BYTES + 1,
    );
    for (kind, path, expected) in [
        ("FIFO", fifo.clone(), "not a regular file"),
        ("sparse giant", giant, "exceeds the limit"),
    ] {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        // A thread, so that a hang fails the test after the safety net instead of blocking it.
        std::thread::spawn(move || {
            let _ = tx.send(aigc_label::Profile::load(&p).map(|p| p.id));
        });
        let outcome = rx.recv_timeout(SAFETY_NET).unwrap_or_else(|_| {
            panic!("Profile::load on a {kind} still blocked after the safety net")
        });
        let err = outcome.expect_err(kind).to_string();
        assert!(
            err.contains(expected) && err.contains(&path.display().to_string()),
            "{kind}: {err}"
        );
    }
    // The CLI's --profile goes through the same load.
    let f = run_bounded(
        "read --profile FIFO",
        Command::new(BIN)
            .arg("--profile")
            .arg(&fifo)
            .args(["read", "Cargo.toml"]),
    );
    assert_eq!(f.code, Some(2), "{}", f.stderr);
    assert!(f.stderr.contains("not a regular file"), "{}", f.stderr);
}
