//! `junit.xml`: one testcase per vector, for CI systems.

use std::fmt::Write;

use super::Report;
use crate::checks::Outcome;

/// Escape for XML text and attributes, dropping characters XML 1.0 forbids (adapter stderr can
/// contain anything).
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// The JUnit XML report.
pub fn render(r: &Report) -> String {
    let count = |f: &dyn Fn(&crate::report::VectorResult) -> bool| {
        r.vectors.iter().filter(|v| f(v)).count()
    };
    let failures =
        count(&|v| v.outcome == Outcome::Fail && v.waiver.is_none() || v.unexpected_pass);
    let errors = count(&|v| {
        v.outcome.is_failure() && v.outcome != Outcome::Fail && v.waiver.is_none()
            || v.outcome == Outcome::HarnessError
    });
    let skipped = count(&|v| {
        matches!(v.outcome, Outcome::NotApplicable | Outcome::Inconclusive)
            || (v.waiver.is_some() && v.outcome.is_failure())
    });
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"aigc-conform\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        r.vectors.len(),
        r.duration_s
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\" hostname=\"{}\" time=\"{:.3}\">",
        xml_escape(&r.adapter.command),
        r.vectors.len(),
        xml_escape(&r.started),
        xml_escape(&r.machine.hostname),
        r.duration_s
    );
    let _ = writeln!(o, "    <properties>");
    let mut properties: Vec<(String, String)> = [
        ("overall", r.overall.as_str().to_string()),
        ("headline", r.headline.clone()),
        ("vectors_sha256", r.suite.vectors_sha256.clone()),
        ("profile", r.profile.id.clone()),
        ("mode", r.adapter.mode.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // The claimed scope, as in every view (issue 10); here as properties with unique names
    // ("roles-claimed", "media-claimed.read", "not-claimed", "selection").
    for (k, v) in r.scope_rows() {
        let mut name = k.to_lowercase().replace(' ', "-");
        if k == "Media claimed" {
            let op = v.split(':').next().unwrap_or_default();
            name = format!("{name}.{op}");
        }
        properties.push((name, v));
    }
    for (k, v) in properties {
        let _ = writeln!(
            o,
            "      <property name=\"{k}\" value=\"{}\"/>",
            xml_escape(&v)
        );
    }
    let _ = writeln!(o, "    </properties>");
    for v in &r.vectors {
        let _ = write!(
            o,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&format!("{}.{}", v.op, v.requirements.join("+"))),
            xml_escape(&v.id),
            v.duration_ms / 1000.0
        );
        let body = format!(
            "{}\n{}\nreproduce: {}",
            v.findings.join("\n"),
            v.diff,
            v.reproduce
        );
        let inner = if v.unexpected_pass {
            "<failure message=\"unexpected pass: the waiver can be removed\" type=\"unexpected-pass\"/>".to_string()
        } else if v.outcome == Outcome::Inconclusive {
            format!(
                "<skipped message=\"{}\"/>",
                xml_escape(&format!(
                    "inconclusive: not measured: {}",
                    v.unmeasured.join(", ")
                ))
            )
        } else if v.outcome == Outcome::NotApplicable {
            format!(
                "<skipped message=\"{}\"/>",
                xml_escape(v.message.as_deref().unwrap_or("not applicable"))
            )
        } else if let (Some(w), true) = (&v.waiver, v.outcome.is_failure()) {
            format!(
                "<skipped message=\"{}\"/>",
                xml_escape(&format!(
                    "expected failure, waived until {} by {}: {}",
                    w.expires, w.approved_by, w.reason
                ))
            )
        } else if v.outcome == Outcome::Fail {
            format!(
                "<failure message=\"{}\" type=\"fail\">{}</failure>",
                xml_escape(v.findings.first().map(String::as_str).unwrap_or("fail")),
                xml_escape(&body)
            )
        } else if v.outcome.is_failure() || v.outcome == Outcome::HarnessError {
            format!(
                "<error message=\"{}\" type=\"{}\">{}</error>",
                xml_escape(v.findings.first().map(String::as_str).unwrap_or("")),
                v.outcome.as_str(),
                xml_escape(&body)
            )
        } else {
            String::new()
        };
        let stderr = if v.stderr.trim().is_empty() {
            String::new()
        } else {
            format!("<system-err>{}</system-err>", xml_escape(&v.stderr))
        };
        if inner.is_empty() && stderr.is_empty() {
            o.push_str("/>\n");
        } else {
            let _ = writeln!(o, ">{inner}{stderr}</testcase>");
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}
