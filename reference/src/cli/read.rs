//! `aigc-label read FILE`: what labels a file carries and whether they are valid.

use aigc_label::implicit::{read_path, ReadReport};
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
}

/// Read each file; exit 2 if any could not be read.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for file in &args.files {
        match read_path(file, profile) {
            Ok(report) if args.json => {
                crate::outln!("{}", serde_json::to_string(&report).expect("json"))
            }
            Ok(report) => print_human(&report),
            Err(e) => {
                eprintln!("aigc-label: {e}");
                status = ExitCode::from(2);
            }
        }
    }
    status
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
