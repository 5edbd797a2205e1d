//! `report.html`: one self-contained file (inline CSS, no scripts, no network), printable.

use std::fmt::Write;

use super::junit::xml_escape as esc;
use super::{counts_text, level_text, Report};
use crate::checks::Outcome;
use crate::verdict::{Overall, RequirementVerdict};

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222;max-width:1200px}\
h1{font-size:1.5em}table{border-collapse:collapse;width:100%;margin:1em 0}\
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left;font-size:.9em}\
th{background:#f3f3f3}.verdict{font-size:1.3em;padding:.5em 1em;display:inline-block;border-radius:4px}\
.ok{background:#d7f5dd;color:#0a5}.obs{background:#fff3cd;color:#850}.bad{background:#f8d7da;color:#a00}\
.muted{color:#777}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}\
.add{color:#070}.del{color:#a00}details{margin:.5em 0 1em}code{font-size:.9em}";

fn class_of(v: RequirementVerdict) -> &'static str {
    match v {
        RequirementVerdict::Pass => "ok",
        RequirementVerdict::Fail => "bad",
        RequirementVerdict::Waived | RequirementVerdict::Observation => "obs",
        RequirementVerdict::Incomplete => "bad",
        _ => "muted",
    }
}

fn diff_html(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            let c = if l.starts_with('+') && !l.starts_with("+++") {
                "add"
            } else if l.starts_with('-') && !l.starts_with("---") {
                "del"
            } else {
                ""
            };
            format!("<span class=\"{c}\">{}</span>", esc(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The HTML report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>GB 45438-2025 conformance report</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    );
    let vclass = match r.overall {
        Overall::Conformant => "ok",
        Overall::ConformantWithObservations | Overall::Partial => "obs",
        Overall::NonConformant | Overall::Incomplete | Overall::NoVerdict => "bad",
    };
    let _ = writeln!(
        o,
        "<h1>GB 45438-2025 符合性测试报告 / conformance report</h1>"
    );
    match &r.cannot_be_tested {
        Some(evidence) => {
            let _ = writeln!(
                o,
                "<p class=\"verdict bad\">无法测试 / cannot be tested (harness error)</p>\n<pre>{}</pre>",
                esc(evidence)
            );
        }
        None => {
            let _ = writeln!(o, "<p class=\"verdict {vclass}\">{}</p>", esc(&r.headline));
        }
    }
    if let Some(line) = super::suite_line(r) {
        let _ = writeln!(o, "<p class=\"suite\">{}</p>", esc(&line));
    }
    let _ = writeln!(o, "<h2>声明的范围 / Claimed scope</h2>\n<table>");
    for (k, v) in r.scope_rows() {
        let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let _ = writeln!(o, "</table>\n<h2>Run</h2>\n<table>");
    for (k, v) in r.provenance_rows(|t| t.to_string()) {
        let _ = writeln!(
            o,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(&v)
        );
    }
    let _ = writeln!(o, "</table>");
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "<h2>Warnings</h2><ul>");
        for w in &r.warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "<h2>要求 / Requirements</h2>\n<p class=\"muted\">A failure of a 宜/可 requirement is an observation, not a failure; not-tested: no vector measured it (none exists, or the oracle could not judge it on any); confidence: of our reading of the clause (H/M/L).</p>\n<p class=\"muted\">{}</p>\n<table>\n<tr><th>Id</th><th>Level</th><th>Confidence</th><th>Verdict</th><th>Vectors by outcome</th><th>要求（中文）</th><th>Requirement (English)</th><th>Vectors</th><th>Not applicable</th></tr>", super::VOICE_METHOD_NOTE);
    for q in &r.requirements {
        let applicable: Vec<&str> = q
            .vectors
            .iter()
            .filter(|v| !q.not_applicable.contains(v))
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            o,
            "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td lang=\"zh-CN\">{}</td><td lang=\"en\">{}{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            esc(&q.requirement.id),
            esc(&q.requirement.clause),
            level_text(q.requirement.level),
            esc(&q.requirement.confidence),
            class_of(q.verdict),
            q.verdict.as_str(),
            esc(&counts_text(&q.counts)),
            esc(&q.requirement.zh),
            esc(&q.requirement.en),
            q.requirement.evidence.as_deref().map(|e| format!("<br><span class=\"muted\">Evidence: {}</span>", esc(e))).unwrap_or_default(),
            esc(&applicable.join(", ")),
            esc(&q.not_applicable.join(", "))
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(o, "<h2>Vectors</h2>\n<table>\n<tr><th>Vector</th><th>Op</th><th>Outcome</th><th>Details</th></tr>");
    for v in &r.vectors {
        let cls = match v.outcome {
            Outcome::Pass if !v.unexpected_pass => "ok",
            Outcome::NotApplicable | Outcome::Inconclusive => "muted",
            _ if v.waiver.is_some() && !v.unexpected_pass => "obs",
            _ => "bad",
        };
        let mut details = String::new();
        if let Some(m) = &v.message {
            let _ = write!(details, "<p>{}</p>", esc(m));
        }
        if !v.unmeasured.is_empty() {
            let _ = write!(
                details,
                "<p>Not measured: {}</p>",
                esc(&v.unmeasured.join(", "))
            );
        }
        if v.outcome.is_failure() || v.unexpected_pass || v.outcome == Outcome::HarnessError {
            details.push_str("<details open><summary>expected vs actual</summary>");
            for f in &v.findings {
                let _ = write!(details, "<p>{}</p>", esc(f));
            }
            if let Some(w) = &v.waiver {
                let _ = write!(
                    details,
                    "<p>Waived until {} by {}: {}</p>",
                    esc(&w.expires),
                    esc(&w.approved_by),
                    esc(&w.reason)
                );
            }
            if v.unexpected_pass {
                details.push_str(
                    "<p><strong>Unexpected pass: the waiver can be removed.</strong></p>",
                );
            }
            if !v.diff.is_empty() {
                let _ = write!(details, "<pre>{}</pre>", diff_html(&v.diff));
            }
            if !v.stderr.trim().is_empty() {
                let _ = write!(
                    details,
                    "<p>stderr:</p><pre>{}</pre>",
                    esc(v.stderr.trim_end())
                );
            }
            let _ = write!(
                details,
                "<p>Reproduce: <code>{}</code></p></details>",
                esc(&v.reproduce)
            );
        }
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code><br><span class=\"muted\">{} – {}</span></td><td>{}</td><td class=\"{cls}\">{}</td><td>{details}</td></tr>",
            esc(&v.id),
            esc(&v.description),
            esc(&v.requirements.join(", ")),
            esc(&v.op),
            v.outcome.as_str()
        );
    }
    let _ = writeln!(o, "</table>\n</body>\n</html>");
    o
}
