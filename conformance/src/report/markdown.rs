//! `report.md`: the report for people and for CI job summaries.

use std::fmt::Write;

use super::escape::{md_code, md_fence, md_inline};
use super::{counts_text, level_text, Report};
use crate::checks::Outcome;
use crate::verdict::RequirementVerdict;

/// Escape text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# GB 45438-2025 conformance report\n");
    match &r.cannot_be_tested {
        Some(evidence) => {
            let _ = writeln!(
                o,
                "**Verdict: 无法测试 / cannot be tested** (harness error)\n\n{}\n",
                md_fence(evidence, "text")
            );
        }
        None => {
            let _ = writeln!(o, "**Verdict: {}**\n", md_inline(&r.headline));
        }
    }
    if let Some(line) = super::suite_line(r) {
        let _ = writeln!(o, "{line}\n");
    }
    // The claimed scope repeats what the adapter's `info` answered: escaped whole.
    let _ = writeln!(o, "## Claimed scope\n\n| | |\n|---|---|");
    for (k, v) in r.scope_rows() {
        let _ = writeln!(o, "| {k} | {} |", md_inline(&v));
    }
    let _ = writeln!(o, "\n## Run\n\n| | |\n|---|---|");
    for (k, v) in r.provenance_rows(md_code) {
        // Rows of plain text the adapter controls (its `info` name and version) are escaped
        // whole (md_inline also escapes `|`); the others hold code spans and our own text.
        let v = if k == "Implementation" {
            md_inline(&v)
        } else {
            cell(&v)
        };
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(o, "\nVectors by outcome: {}\n", counts.join(", "));
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "## Warnings\n");
        for w in &r.warnings {
            let _ = writeln!(o, "- {}", md_inline(w));
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## Requirements\n");
    let _ = writeln!(
        o,
        "Verdicts: a failure of a 宜/可 requirement is an *observation*, not a failure; *not-tested* means no vector measured it (none exists, or the oracle could not judge it on any); confidence is that of our reading of the clause (H/M/L).\n"
    );
    let _ = writeln!(o, "{}\n", super::VOICE_METHOD_NOTE);
    let _ = writeln!(
        o,
        "| Id | Level | Confidence | Verdict | Vectors by outcome | 要求 | Requirement | Vectors | Not applicable |\n|---|---|---|---|---|---|---|---|---|"
    );
    for q in &r.requirements {
        let applicable: Vec<&str> = q
            .vectors
            .iter()
            .filter(|v| !q.not_applicable.contains(v))
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | **{}** | {} | {} | {} | {} | {} |",
            q.requirement.id,
            level_text(q.requirement.level),
            q.requirement.confidence,
            q.verdict.as_str(),
            counts_text(&q.counts),
            cell(&q.requirement.zh),
            cell(&q.requirement.en),
            applicable.join(", "),
            q.not_applicable.join(", ")
        );
    }
    let observations: Vec<_> = r
        .requirements
        .iter()
        .filter(|q| q.verdict == RequirementVerdict::Observation)
        .collect();
    if !observations.is_empty() {
        let _ = writeln!(o, "\n## Observations (宜/可 requirements not met)\n");
        for q in observations {
            let _ = writeln!(
                o,
                "- {} ({}): {}",
                q.requirement.id,
                level_text(q.requirement.level),
                cell(&q.requirement.en)
            );
        }
    }
    let untested: Vec<_> = r
        .requirements
        .iter()
        .filter(|q| q.verdict == RequirementVerdict::NotTested && !q.vectors.is_empty())
        .collect();
    if !untested.is_empty() {
        let _ = writeln!(
            o,
            "\n## Not tested although vectors ran (the oracle could not measure them)\n"
        );
        for q in untested {
            let _ = writeln!(o, "- {}: {}", q.requirement.id, q.vectors.join(", "));
            if let Some(why) = &q.requirement.unmeasured {
                let _ = writeln!(o, "  - not measurable here: {}", cell(why));
            }
        }
    }
    let failures: Vec<_> = r
        .vectors
        .iter()
        .filter(|v| {
            v.outcome.is_failure() || v.unexpected_pass || v.outcome == Outcome::HarnessError
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
            md_inline(&v.description),
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
                md_inline(&w.expires),
                md_inline(&w.approved_by),
                md_inline(&w.reason)
            );
        }
        if v.unexpected_pass {
            let _ = writeln!(o, "- **unexpected pass**: the waiver can be removed");
        }
        for f in &v.findings {
            let _ = writeln!(o, "- {}", md_inline(f));
        }
        let _ = writeln!(o, "- reproduce: {}", md_code(&v.reproduce));
        if !v.diff.is_empty() {
            let _ = writeln!(o, "\n{}", md_fence(&v.diff, "diff"));
        }
        if !v.stderr.trim().is_empty() {
            let _ = writeln!(o, "\nstderr:\n\n{}", md_fence(v.stderr.trim_end(), "text"));
        }
        o.push('\n');
    }
    let hanging = super::hanging_readings(r);
    if !hanging.is_empty() {
        let _ = writeln!(
            o,
            "\n## Verdicts that hang on a reading\n\nThe verdict follows the profile's binding reading (see Run); under another reading of the clause it would differ.\n"
        );
        for (id, requirement, summary) in hanging {
            let _ = writeln!(o, "- `{id}` {requirement}: {}", md_inline(&summary));
        }
    }
    let inconclusive: Vec<_> = r
        .vectors
        .iter()
        .filter(|v| v.outcome == Outcome::Inconclusive)
        .collect();
    if !inconclusive.is_empty() {
        let _ = writeln!(o, "\n## Inconclusive\n");
        for v in inconclusive {
            let _ = writeln!(o, "- `{}`: not measured: {}", v.id, v.unmeasured.join(", "));
        }
    }
    let na: Vec<_> = r
        .vectors
        .iter()
        .filter(|v| v.outcome == Outcome::NotApplicable)
        .collect();
    if !na.is_empty() {
        let _ = writeln!(o, "\n## Not applicable\n");
        for v in na {
            let _ = writeln!(
                o,
                "- `{}`: {}",
                v.id,
                md_inline(v.message.as_deref().unwrap_or(""))
            );
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
