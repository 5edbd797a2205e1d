//! `report.md`: the report for people and for CI job summaries.

use std::fmt::Write;

use super::{overall_text, Report};

/// Escape text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# GB 45438-2025 conformance report\n");
    let _ = writeln!(o, "**Verdict: {}**\n", overall_text(r.overall));
    if let Some(line) = super::suite_line(r) {
        let _ = writeln!(o, "{line}\n");
    }
    let _ = writeln!(o, "| | |\n|---|---|");
    let mut rows = r.provenance_rows(|t| format!("`{t}`"));
    rows.extend([(
        "Selection",
        match &r.selection.filter {
            Some(f) => format!(
                "{} of {} vectors (filter `{f}`{})",
                r.selection.selected,
                r.selection.total,
                if r.selection.exact { ", exact" } else { "" }
            ),
            None => format!("all {} vectors", r.selection.total),
        },
    )]);
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {} |", cell(&v));
    }
    let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(o, "\nVectors by outcome: {}\n", counts.join(", "));
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "## Warnings\n");
        for w in &r.warnings {
            let _ = writeln!(o, "- {w}");
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## Requirements\n");
    let _ = writeln!(
        o,
        "| Id | Level | Verdict | 要求 | Requirement | Vectors |\n|---|---|---|---|---|---|"
    );
    for q in &r.requirements {
        let _ = writeln!(
            o,
            "| {} | {:?} | **{}** | {} | {} | {} |",
            q.requirement.id,
            q.requirement.level,
            q.verdict.as_str(),
            cell(&q.requirement.zh),
            cell(&q.requirement.en),
            q.vectors.join(", ")
        );
    }
    let failures: Vec<_> = r
        .vectors
        .iter()
        .filter(|v| {
            v.outcome.is_failure()
                || v.unexpected_pass
                || v.outcome == crate::checks::Outcome::HarnessError
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(o, "\n## Failures\n");
    }
    for v in failures {
        let _ = writeln!(o, "### `{}`: {}\n", v.id, v.outcome.as_str());
        let _ = writeln!(
            o,
            "- {} ({}, {} {})",
            v.description,
            v.class,
            v.op,
            v.media.as_deref().unwrap_or("sniffed")
        );
        let _ = writeln!(
            o,
            "- requirements: {}; manifest: `{}`",
            v.requirements.join(", "),
            v.location
        );
        if !v.blame.is_empty() {
            let _ = writeln!(o, "- counts against: {}", v.blame.join(", "));
        }
        if let Some(w) = &v.waiver {
            let _ = writeln!(
                o,
                "- waived until {} by {}: {}",
                w.expires, w.approved_by, w.reason
            );
        }
        if v.unexpected_pass {
            let _ = writeln!(o, "- **unexpected pass**: the waiver can be removed");
        }
        for f in &v.findings {
            let _ = writeln!(o, "- {}", f);
        }
        let _ = writeln!(o, "- reproduce: `{}`", v.reproduce);
        if !v.diff.is_empty() {
            let _ = writeln!(o, "\n```diff\n{}```", v.diff);
        }
        if !v.stderr.trim().is_empty() {
            let _ = writeln!(o, "\nstderr:\n\n```text\n{}\n```", v.stderr.trim_end());
        }
        o.push('\n');
    }
    let na: Vec<_> = r
        .vectors
        .iter()
        .filter(|v| v.outcome == crate::checks::Outcome::NotApplicable)
        .collect();
    if !na.is_empty() {
        let _ = writeln!(o, "\n## Not applicable\n");
        for v in na {
            let _ = writeln!(o, "- `{}`: {}", v.id, v.message.as_deref().unwrap_or(""));
        }
    }
    let _ = writeln!(
        o,
        "\n## All vectors\n\n| Vector | Op | Outcome | ms |\n|---|---|---|---|"
    );
    for v in &r.vectors {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {:.0} |",
            v.id,
            v.op,
            v.outcome.as_str(),
            v.duration_ms
        );
    }
    o
}
