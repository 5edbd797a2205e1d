//! 5.1 text: insert a prompt line at the start, the end or a middle paragraph boundary of plain
//! text or Markdown, and find prompt lines in anyone's text.
//!
//! Markdown is handled as text with two structures that a prompt must not break: YAML/TOML
//! front matter at the very start (the prompt goes after it, where a reader sees it) and fenced
//! code blocks (a prompt inside a fence would be code, not a prompt).

use crate::explicit::requirements as req;
use serde::Serialize;
use std::collections::HashMap;

use super::wording::{self, Wording};
use super::{ExplicitProfile, Finding, Place};

/// Insert `prompt` as its own paragraph at `place`. Line endings follow the input (CRLF kept).
pub fn insert(text: &str, prompt: &str, place: Place) -> String {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let body_start = front_matter_end(text);
    let (head, body) = text.split_at(body_start);
    match place {
        Place::Start => format!("{head}{prompt}{nl}{nl}{body}"),
        Place::End => {
            let trimmed = text.trim_end_matches(['\n', '\r']);
            if trimmed.len() <= body_start {
                return format!("{head}{prompt}{nl}");
            }
            format!("{trimmed}{nl}{nl}{prompt}{nl}")
        }
        Place::Middle => {
            let at = middle_boundary(text, body_start);
            match at {
                Some(at) => {
                    let (a, b) = text.split_at(at);
                    format!("{a}{prompt}{nl}{nl}{b}")
                }
                // No paragraph or line boundary in the body: the end is the only place that
                // does not cut a line in two.
                None => insert(text, prompt, Place::End),
            }
        }
    }
}

/// Byte offset where the body starts: after `---`/`+++` front matter, else 0.
fn front_matter_end(text: &str) -> usize {
    for fence in ["---", "+++"] {
        let first = text.lines().next().unwrap_or("");
        if first.trim_end() != fence {
            continue;
        }
        let mut offset = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            offset += line.len();
            if i > 0 && line.trim_end() == fence {
                return offset;
            }
        }
    }
    0
}

/// The start of a line after a blank line (a paragraph start) nearest the middle of the body,
/// outside code fences; failing that, the start of any line nearest the middle.
fn middle_boundary(text: &str, body_start: usize) -> Option<usize> {
    let middle = body_start + (text.len() - body_start) / 2;
    let mut paragraph_starts = Vec::new();
    let mut line_starts = Vec::new();
    let mut offset = body_start;
    let mut in_fence = false;
    let mut previous_blank = false;
    for line in text[body_start..].split_inclusive('\n') {
        let trimmed = line.trim();
        if offset > body_start && !in_fence {
            line_starts.push(offset);
            if previous_blank && !trimmed.is_empty() {
                paragraph_starts.push(offset);
            }
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        previous_blank = trimmed.is_empty();
        offset += line.len();
    }
    let nearest = |v: &[usize]| v.iter().copied().min_by_key(|o| o.abs_diff(middle));
    nearest(&paragraph_starts).or_else(|| nearest(&line_starts))
}

/// A prompt line found in a text.
#[derive(Debug, Clone, Serialize)]
pub struct FoundPrompt {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the line.
    pub offset: usize,
    /// Start, middle or end of the body.
    pub place: Place,
    /// The wording verdict.
    pub wording: Wording,
}

/// What a text contains by way of prompts.
#[derive(Debug, Clone, Serialize)]
pub struct TextMeasure {
    /// Lines in the text.
    pub lines: usize,
    /// Every line that mentions an AI element (or a variant) and is short enough to be a prompt;
    /// with an original, only lines the original does not have.
    pub candidates: Vec<FoundPrompt>,
    /// With an original: the non-empty lines of the body (front matter aside) that the
    /// original does not have: 0 means nothing, neither a prompt nor a symbol, was added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_lines: Option<usize>,
}

/// Find prompt lines. With `original`, lines also present in the original (as many times) are
/// not candidates: they are the content, not a label added to it.
pub fn measure(text: &str, original: Option<&str>, profile: &ExplicitProfile) -> TextMeasure {
    let body_start = front_matter_end(text);
    let mut known: HashMap<&str, usize> = HashMap::new();
    if let Some(o) = original {
        for l in o.lines() {
            *known.entry(l.trim()).or_default() += 1;
        }
    }
    // Two streaming passes over the lines, nothing collected per line: a text of 25 million
    // short lines (an unterminated front matter of 50 MB) used to cost 1 GB of line records.
    let lines = || {
        text.split_inclusive('\n')
            .enumerate()
            .scan(0usize, |offset, (i, line)| {
                let at = *offset;
                *offset += line.len();
                Some((i + 1, at, line.trim()))
            })
    };
    // Non-empty body lines decide start/end: the first and last of them.
    let (mut first, mut last, mut count) = (None, None, 0);
    for (n, o, l) in lines() {
        count = n;
        if o >= body_start && !l.is_empty() {
            first = first.or(Some(n));
            last = Some(n);
        }
    }
    let mut candidates = Vec::new();
    let mut added = 0;
    for (n, o, l) in lines() {
        if o < body_start || l.is_empty() {
            continue;
        }
        if let Some(count) = known.get_mut(l) {
            if *count > 0 {
                *count -= 1;
                continue;
            }
        }
        added += 1;
        if l.chars().count() > profile.text.max_prompt_chars || !wording::mentions_ai(l, profile) {
            continue;
        }
        let place = if Some(n) == first {
            Place::Start
        } else if Some(n) == last {
            Place::End
        } else {
            Place::Middle
        };
        candidates.push(FoundPrompt {
            line: n,
            offset: o,
            place,
            wording: wording::judge(l, profile),
        });
        if candidates.len() >= crate::limits::MAX_TEXT_PROMPT_CANDIDATES {
            break;
        }
    }
    TextMeasure {
        lines: count,
        candidates,
        added_lines: original.map(|_| added),
    }
}

/// Verdicts GB-5.1-a (a text prompt, or nothing added at all), GB-5.1-b (wording) and
/// GB-5.1-c (position) from the measurement.
pub fn judge(m: &TextMeasure) -> Vec<Finding> {
    let conforming: Vec<&FoundPrompt> =
        m.candidates.iter().filter(|c| c.wording.conforms).collect();
    let b = match (conforming.first(), m.candidates.first()) {
        (Some(c), _) => Finding::judge(
            req::GB_5_1_B,
            true,
            format!("line {}: {:?} has both elements", c.line, c.wording.text),
        ),
        (None, Some(c)) => Finding::judge(
            req::GB_5_1_B,
            false,
            format!(
                "line {}: {:?} lacks {}",
                c.line,
                c.wording.text,
                missing(&c.wording)
            ),
        ),
        (None, None) => Finding::judge(req::GB_5_1_B, false, "no prompt line found"),
    };
    let c = match conforming.first() {
        Some(c) => Finding::judge(
            req::GB_5_1_C,
            true,
            format!("prompt at the {:?} (line {})", c.place, c.line).to_lowercase(),
        ),
        None => Finding::judge(
            req::GB_5_1_C,
            false,
            "no conforming prompt at the start, the end or in the middle",
        ),
    };
    // 5.1 a) allows a text prompt or a general symbol: a prompt line is a text prompt (its
    // wording is 5.1 b's); without one, a symbol may still be there, which is not measured.
    let a = match m.candidates.first() {
        Some(c) => Finding::judge(
            req::GB_5_1_A,
            true,
            format!("a text prompt: line {} {:?}", c.line, c.wording.text),
        ),
        None if m.added_lines == Some(0) => Finding::judge(
            req::GB_5_1_A,
            false,
            "nothing was added to the original text: no text prompt and no symbol",
        ),
        None => Finding::unknown(
            req::GB_5_1_A,
            "no text prompt line found; a general symbol prompt, which 5.1 a) also allows, is \
             not machine-checkable",
        ),
    };
    vec![a, b, c]
}

/// GB-5.1-c (a conforming prompt line in its place) under the profile's longest prompt line
/// and each other length of `readings.limits.max_prompt_chars` (annotation for the report).
/// `findings` are the profile's verdicts on `text`. Empty when there is no other length.
pub fn limit_readings(
    text: &str,
    original: Option<&str>,
    findings: &[Finding],
    profile: &ExplicitProfile,
    limits: &super::readings::LimitReadings,
) -> Vec<super::readings::LimitReading> {
    if limits.max_prompt_chars.is_empty() {
        return Vec::new();
    }
    let placed = |f: &[Finding]| {
        f.iter()
            .any(|x| x.requirement == req::GB_5_1_C && x.outcome == super::Outcome::Pass)
    };
    let mut values = vec![(
        format!("{} chars", profile.text.max_prompt_chars),
        placed(findings),
    )];
    values.extend(limits.max_prompt_chars.iter().map(|n| {
        let mut q = profile.clone();
        q.text.max_prompt_chars = *n;
        (
            format!("{n} chars"),
            placed(&judge(&measure(text, original, &q))),
        )
    }));
    super::readings::limit_reading(req::GB_5_1_C, "max_prompt_chars", values)
        .into_iter()
        .collect()
}

fn missing(w: &Wording) -> &'static str {
    match (w.ai_element.is_some(), w.generation_element.is_some()) {
        (false, false) => "both elements",
        (false, true) if w.ai_variant.is_some() => "an accepted AI element (variants are off)",
        (false, true) => "the AI element",
        (true, false) => "the generation/synthesis element (生成/合成)",
        (true, true) => "nothing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn p() -> ExplicitProfile {
        ExplicitProfile::from_profile(&Profile::builtin()).unwrap()
    }

    #[test]
    fn front_matter_is_kept_first() {
        let md = "---\ntitle: x\n---\n# Title\n\nBody.\n";
        let out = insert(md, "AI生成", Place::Start);
        assert_eq!(out, "---\ntitle: x\n---\nAI生成\n\n# Title\n\nBody.\n");
        let m = measure(&out, Some(md), &p());
        assert_eq!(m.candidates.len(), 1);
        assert_eq!(m.candidates[0].place, Place::Start);
        assert_eq!(m.candidates[0].line, 4);
    }

    #[test]
    fn end_and_middle() {
        let t = "one\n\ntwo\n\nthree\n\nfour\n";
        let end = insert(t, "AI合成", Place::End);
        assert!(end.ends_with("four\n\nAI合成\n"));
        assert_eq!(measure(&end, None, &p()).candidates[0].place, Place::End);
        let mid = insert(t, "AI合成", Place::Middle);
        let m = measure(&mid, None, &p());
        assert_eq!(m.candidates[0].place, Place::Middle);
        assert!(judge(&m)
            .iter()
            .all(|f| f.outcome == super::super::Outcome::Pass));
    }

    #[test]
    fn middle_avoids_code_fences() {
        let t = "a\n\n```\nx\n\ny\n\nz\n```\n\nb\n";
        let out = insert(t, "AI生成", Place::Middle);
        let fence_open = out.find("```").unwrap();
        let fence_close = out.rfind("```").unwrap();
        let at = out.find("AI生成").unwrap();
        assert!(at < fence_open || at > fence_close, "{out}");
    }

    /// 5.1 a: nothing added to the original fails; an added line that is no prompt (a symbol,
    /// perhaps) is unknown; without the original, no prompt line is unknown too.
    #[test]
    fn a_text_prompt_or_nothing_added_decides_5_1_a() {
        let orig = "第一段。\n\n第二段。\n";
        let a = |text: &str, original: Option<&str>| {
            let f = judge(&measure(text, original, &p()));
            f.into_iter()
                .find(|f| f.requirement == req::GB_5_1_A)
                .unwrap()
                .outcome
        };
        use super::super::Outcome::{Fail, Pass, Unknown};
        assert_eq!(a(orig, Some(orig)), Fail);
        assert_eq!(a(&format!("🤖\n\n{orig}"), Some(orig)), Unknown);
        assert_eq!(a(orig, None), Unknown);
        assert_eq!(a(&format!("本内容由AI生成\n\n{orig}"), Some(orig)), Pass);
    }

    #[test]
    fn bad_wordings_fail() {
        for bad in ["AI", "AI创作"] {
            let t = format!("{bad}\n\n正文。\n");
            let f = judge(&measure(&t, None, &p()));
            let b = f.iter().find(|f| f.requirement == req::GB_5_1_B).unwrap();
            assert_eq!(b.outcome, super::super::Outcome::Fail, "{bad}");
            // It is a text prompt all the same (5.1 a is about the form).
            assert_eq!(f[0].requirement, req::GB_5_1_A);
            assert_eq!(f[0].outcome, super::super::Outcome::Pass, "{bad}");
        }
    }
}
