//! `aigc-label read FILE`: what labels a file carries and whether they are valid.

use aigc_label::implicit::{read_path, ReadReport, Verdict};
use aigc_label::security::Status;
use aigc_label::Profile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `read`.
#[derive(clap::Args)]
pub struct Args {
    /// The files to read.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON object per file (file, format, labels, problems, verdict).
    #[arg(long)]
    json: bool,
    /// Exit 1 when a file's verdict is not `valid` (invalid, conflict or unlabeled), for scripts.
    #[arg(long)]
    check: bool,
}

/// Read each file; exit 2 if any could not be read, else with `--check` 1 if any verdict is
/// not `valid`, else 0.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let (mut unreadable, mut not_valid) = (false, false);
    for file in &args.files {
        match read_path(file, profile) {
            Ok(report) => {
                not_valid |= report.verdict != Verdict::Valid;
                if args.json {
                    crate::outln!("{}", serde_json::to_string(&report).expect("json"))
                } else {
                    print_human(&report)
                }
            }
            Err(e) => {
                eprintln!("aigc-label: {e}");
                unreadable = true;
            }
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if args.check && not_valid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_human(r: &ReadReport) {
    crate::outln!("{}: {} ({}): {:?}", r.file, r.format, r.media, r.verdict);
    for (i, l) in r.labels.iter().enumerate() {
        crate::outln!(
            "  label {} in {} at byte {}{}",
            i + 1,
            l.carrier,
            l.offset,
            if l.valid { "" } else { " (invalid)" }
        );
        if l.fields.is_empty() {
            crate::outln!("    raw: {}", l.raw);
        }
        for (k, v) in &l.fields {
            match v {
                serde_json::Value::String(s) => crate::outln!("    {k}: {s}"),
                other => crate::outln!("    {k}: {other} (not a string)"),
            }
        }
        for p in &l.problems {
            crate::outln!("    {:?} {}: {}", p.severity, p.code, p.message);
        }
        // TC260-PG-202511A security data (absent is the common case and not printed).
        for f in l
            .security
            .fields
            .iter()
            .filter(|f| f.status != Status::Absent)
        {
            crate::outln!(
                "    security {}: {}{} ({})",
                f.field,
                f.status.as_str(),
                f.pinned_to
                    .as_ref()
                    .map(|p| format!(", key pinned to {p}"))
                    .unwrap_or_default(),
                f.detail
            );
        }
    }
    for p in &r.problems {
        crate::outln!("  {:?} {}: {}", p.severity, p.code, p.message);
    }
}
