//! `aigc-label adapter [serve]`: the reference itself behind the conformance adapter protocol
//! (`conformance/PROTOCOL.md`).
//!
//! Without arguments it reads one JSON request from stdin and writes one JSON response to
//! stdout; with `serve` it answers one request per line until stdin closes (persistent mode).
//! Every request gets an answer, even a malformed one (`status: error`), and the exit status is
//! 0 whenever a response was written: a non-zero exit means the adapter itself broke, which the
//! harness reports as a crash. The answers themselves come from the library
//! ([`aigc_label::protocol::answer`]), so the harness can also call the reference in-process.

use aigc_label::protocol::answer_text;
use aigc_label::Profile;
use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

/// Arguments of `adapter`.
#[derive(clap::Args)]
pub struct Args {
    /// `serve`: persistent mode, one JSON request per line on stdin, one response per line.
    #[arg(value_parser = ["serve"])]
    mode: Option<String>,
}

/// Answer one request (or, with `serve`, every line of stdin).
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let stdout = std::io::stdout();
    if args.mode.is_some() {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else {
                return ExitCode::from(2);
            };
            if line.trim().is_empty() {
                continue;
            }
            let response = answer_text(&line, profile);
            let mut out = stdout.lock();
            // One line per response, flushed at once: the harness waits for it.
            if writeln!(out, "{response}")
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::from(2);
            }
        }
        ExitCode::SUCCESS
    } else {
        let mut text = String::new();
        if std::io::stdin().read_to_string(&mut text).is_err() {
            return ExitCode::from(2);
        }
        let response = answer_text(&text, profile);
        let mut out = stdout.lock();
        match writeln!(out, "{response}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        }
    }
}
