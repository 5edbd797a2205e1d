//! A stable report: what differs between two runs of the same build on the same vectors
//! (the per-run scratch folder, the checkout's location, times, durations, the host) replaced
//! by fixed placeholders, so that a report kept in the repository (`reports/reference/`) changes
//! only when the suite, the profile or the implementation does (`aigc-conform run --stable`,
//! `scripts/run-suite.sh --publish`).

use serde_json::Value;
use std::path::Path;

use super::Report;

/// Placeholder of the per-run scratch folder.
pub const SCRATCH: &str = "$SCRATCH";
/// Placeholder of the folder that holds the vectors folder (the checkout).
pub const CHECKOUT: &str = "$CHECKOUT";
/// Placeholder of the cargo target folder (where the reference binary was built).
pub const TARGET: &str = "$TARGET";
/// What replaces times and host facts.
pub const NOT_RECORDED: &str = "(not recorded in a stable report)";

/// Path prefixes and their placeholders, longest first.
pub struct Redaction {
    prefixes: Vec<(String, &'static str)>,
}

impl Redaction {
    /// Prefixes of this run: its scratch folder, the checkout, and the target folder.
    pub fn new(scratch: &Path, vectors: &Path, executable: Option<&str>) -> Redaction {
        let mut prefixes = vec![(scratch.display().to_string(), SCRATCH)];
        let checkout = std::fs::canonicalize(vectors)
            .ok()
            .and_then(|v| v.parent().map(Path::to_path_buf));
        if let Some(c) = checkout {
            prefixes.push((c.display().to_string(), CHECKOUT));
        }
        // `.../target/<profile>/aigc-label`: the target folder may lie outside the checkout.
        if let Some(target) = executable
            .map(Path::new)
            .and_then(|e| e.parent()?.parent())
            .filter(|t| t.file_name().is_some_and(|n| n == "target"))
        {
            prefixes.push((target.display().to_string(), TARGET));
        }
        prefixes.retain(|(p, _)| p.len() > 1);
        prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Redaction { prefixes }
    }

    /// `text` with every known prefix replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (prefix, placeholder) in &self.prefixes {
            out = out.replace(prefix.as_str(), placeholder);
        }
        out
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    fn string(&self, s: &mut String) {
        *s = self.text(s);
    }
}

impl Report {
    /// Make the report stable (see the module documentation).
    pub fn make_stable(&mut self, r: &Redaction) {
        self.started = NOT_RECORDED.into();
        self.finished = NOT_RECORDED.into();
        self.duration_s = 0.0;
        self.machine.hostname = NOT_RECORDED.into();
        self.machine.os = NOT_RECORDED.into();
        self.machine.cores = 0;
        r.string(&mut self.suite.root);
        r.string(&mut self.adapter.command);
        if let Some(e) = &mut self.adapter.executable {
            r.string(e);
        }
        for f in &mut self.adapter.argument_files {
            r.string(&mut f.path);
        }
        self.warnings.iter_mut().for_each(|w| r.string(w));
        for v in &mut self.vectors {
            v.duration_ms = 0.0;
            if let Some(m) = &mut v.message {
                r.string(m);
            }
            v.findings.iter_mut().for_each(|f| r.string(f));
            r.string(&mut v.diff);
            r.string(&mut v.stderr);
            r.string(&mut v.reproduce);
            r.value(&mut v.expected);
            r.value(&mut v.actual);
            r.value(&mut v.request);
            if let Some(resp) = &mut v.response {
                r.value(resp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let r = Redaction {
            prefixes: vec![
                ("/tmp/aigc-conform-1-2".into(), SCRATCH),
                ("/home/u/repo".into(), CHECKOUT),
            ],
        };
        assert_eq!(
            r.text("/tmp/aigc-conform-1-2/0001-x/output.png and /home/u/repo/vectors/a.png"),
            "$SCRATCH/0001-x/output.png and $CHECKOUT/vectors/a.png"
        );
    }
}
