//! Exit codes on every vector input (issue 7): `aigc-label read` and `aigc-label embed` on each
//! file under `vectors/` (the damaged and hostile ones in `vectors/robustness/` included) exit
//! 0 or 2, never 101 (a panic) or by a signal; every exit-2 message names the file and, when
//! the problem is in the file's content, the byte where it was found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");

fn vector_inputs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "py" | "sh")
            ) {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    assert!(
        out.iter()
            .any(|p| p.to_string_lossy().contains("/robustness/")),
        "vectors/robustness not found"
    );
    out
}

/// Does `text` contain "byte " followed by a number?
fn names_a_byte(text: &str) -> bool {
    text.match_indices("byte ").any(|(i, m)| {
        text[i + m.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// The problems with one run's exit status and message, if any.
fn judge(what: &str, file: &Path, o: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let Some(code) = o.status.code() else {
        return Some(format!(
            "{what} {}: killed by a signal ({:?})",
            file.display(),
            o.status
        ));
    };
    match code {
        0 => None,
        2 => {
            let msg = stderr.trim();
            if !msg.contains(&file.display().to_string()) {
                return Some(format!(
                    "{what} {}: message does not name the file: {msg}",
                    file.display()
                ));
            }
            // Content errors say where; "unsupported" (format or operation) has no position.
            if !names_a_byte(msg) && !msg.contains("unsupported:") {
                return Some(format!(
                    "{what} {}: message names no byte offset: {msg}",
                    file.display()
                ));
            }
            None
        }
        other => Some(format!(
            "{what} {}: exit {other}: {}",
            file.display(),
            stderr.trim()
        )),
    }
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run aigc-label")
}

#[test]
fn read_and_embed_exit_0_or_2_on_every_vector() {
    let out_dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let (mut read_errors, mut embed_errors, mut embedded) = (0, 0, 0);
    for (i, file) in vector_inputs().iter().enumerate() {
        let o = run(&["read".as_ref(), file.as_os_str()]);
        read_errors += usize::from(o.status.code() == Some(2));
        problems.extend(judge("read", file, &o));

        let name = file.file_name().unwrap().to_string_lossy();
        let target = out_dir.path().join(format!("{i}-{name}"));
        let o = run(&[
            "embed".as_ref(),
            file.as_os_str(),
            "-o".as_ref(),
            target.as_os_str(),
            "--label".as_ref(),
            "1".as_ref(),
            "--producer".as_ref(),
            "001191110102MACQD9K64010000".as_ref(),
            "--produce-id".as_ref(),
            "1".as_ref(),
        ]);
        match o.status.code() {
            Some(0) => {
                embedded += 1;
                // What embed wrote must read back.
                let back = run(&["read".as_ref(), target.as_os_str()]);
                if back.status.code() != Some(0) {
                    problems.push(format!(
                        "embed {}: the output does not read: {}",
                        file.display(),
                        String::from_utf8_lossy(&back.stderr).trim()
                    ));
                }
            }
            Some(2) => {
                embed_errors += 1;
                // The message may name the input or the output; judge against the input.
                let msg = String::from_utf8_lossy(&o.stderr);
                if msg.contains(&target.display().to_string()) {
                    problems.extend(judge("embed", &target, &o));
                } else {
                    problems.extend(judge("embed", file, &o));
                }
                if target.exists() {
                    problems.push(format!(
                        "embed {}: failed but wrote the output",
                        file.display()
                    ));
                }
            }
            _ => problems.extend(judge("embed", file, &o)),
        }
    }
    println!("read: {read_errors} exit-2; embed: {embedded} written, {embed_errors} exit-2");
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".aigc-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
