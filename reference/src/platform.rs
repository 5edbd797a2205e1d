//! The content propagation platform role (内容传播服务提供者), Measures Art. 6 and Annex E g)-i).
//!
//! A platform reads and verifies the implicit label of published content, chooses the notice it
//! shows around the content (is / possibly / suspected AI-generated), and writes its propagation
//! elements into the file's metadata while keeping the producer's elements exactly (Art. 10 ¶2).
//! The decision table is digest §4 "Test consequences" 1; the points it leaves open are decided
//! in `vectors/profile.yaml` (`platform:`), never here.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::implicit::{self, EmbedOptions, FileError, ReadReport, Verdict};
use crate::io::Overwrite;
use crate::label::Label;
use crate::profile::Profile;

/// The notice level a platform shows around the content (protocol field `notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notice {
    /// Art. 6(1): verified metadata says the content is AI-generated.
    Is,
    /// Art. 6(2): no verified label, the user declared AI content.
    Possibly,
    /// Art. 6(3): no label, no declaration, but explicit labels or other traces were detected.
    Suspected,
    /// None of these: no notice required.
    None,
}

impl Notice {
    /// The Annex E `Label` value that matches the notice level (digest §3.4 mapping).
    pub fn label_value(self) -> Option<&'static str> {
        match self {
            Notice::Is => Some("1"),
            Notice::Possibly => Some("2"),
            Notice::Suspected => Some("3"),
            Notice::None => None,
        }
    }
}

/// The platform's own data for one piece of published content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlatformInfo {
    /// The platform's 27-character code or name (ContentPropagator).
    #[serde(rename = "ContentPropagator")]
    pub content_propagator: String,
    /// The platform's number for this content (PropagateID).
    #[serde(rename = "PropagateID")]
    pub propagate_id: String,
    /// The platform's security data (ReservedCode2), optional.
    #[serde(
        rename = "ReservedCode2",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reserved_code2: Option<String>,
}

/// The profile's `platform:` section.
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformPolicy {
    /// What goes into ContentProducer/ProduceID when the producer is unknown (`empty`).
    pub unknown_producer: String,
    /// Whether a Label "1" that fails Annex E still counts as verified metadata.
    pub invalid_label_counts_as_verified: bool,
    /// The notice wording per level.
    pub notice_text: std::collections::BTreeMap<String, String>,
}

/// What the platform decided for one file, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The notice level.
    pub notice: Notice,
    /// The notice text the platform shows (from the profile).
    pub notice_text: Option<String>,
    /// The label written into the output, when one is written.
    pub label: Option<Label>,
    /// The verdict of the input's implicit label.
    pub input_verdict: Verdict,
    /// Which row of the decision table applied, in words (for reports).
    pub reason: String,
}

/// Decide the notice and the label to write from what was read, the user's declaration and
/// whether explicit labels or other traces were detected (Art. 6 (1)-(3), ¶2).
pub fn decide(
    report: &ReadReport,
    platform: &PlatformInfo,
    user_declared: bool,
    trace: Option<&str>,
    profile: &Profile,
) -> Result<Decision, crate::profile::ProfileError> {
    let policy: PlatformPolicy = profile.section("platform")?;
    let first = report.labels.first();
    // Metadata counts as verified when the file's verdict is valid, or (profile) when it is
    // merely invalid but a label is there.
    let verified: Option<&Label> = match report.verdict {
        Verdict::Valid => report.label(),
        Verdict::Invalid if policy.invalid_label_counts_as_verified => {
            first.and_then(|l| l.label.as_ref())
        }
        _ => None,
    };
    let with_platform = |mut label: Label| {
        label.content_propagator = platform.content_propagator.clone();
        label.propagate_id = platform.propagate_id.clone();
        // ReservedCode2 is the propagator's own security data (Annex E i): a previous
        // propagator's value, e.g. its signature over the elements replaced here, would no
        // longer match them (crate::security), so it is replaced too, by "" when none is given.
        label.reserved_code2 = platform.reserved_code2.clone().unwrap_or_default();
        label
    };
    let (notice, label, reason) = if let Some(existing) = verified {
        // Art. 6(1); a label already written by another platform keeps its attribute level.
        let notice = match existing.label.as_str() {
            "2" => Notice::Possibly,
            "3" => Notice::Suspected,
            _ => Notice::Is,
        };
        let reason = format!(
            "Art. 6(1): verified implicit label with Label \"{}\"; producer elements kept, propagation elements replaced",
            existing.label
        );
        (notice, Some(with_platform(existing.clone())), reason)
    } else {
        // The producer is unknown unless an unverified label still names one: Art. 10 ¶2 forbids
        // deleting it, so its producer elements are carried over.
        let producer_from_input = first.and_then(|l| l.label.clone());
        let base = producer_from_input.unwrap_or_else(|| unknown_producer_label(&policy));
        let why_not_verified = match report.verdict {
            Verdict::Unlabeled => "no implicit label".to_string(),
            Verdict::Conflict => "conflicting implicit labels (6.1 c), not verified".to_string(),
            Verdict::Invalid => "an implicit label that fails Annex E, not verified (profile platform.invalid_label_counts_as_verified)".to_string(),
            Verdict::Valid => unreachable!("valid is verified"),
        };
        if user_declared {
            let mut l = with_platform(base);
            l.label = "2".into();
            (
                Notice::Possibly,
                Some(l),
                format!("Art. 6(2): {why_not_verified}; the user declared AI-generated content"),
            )
        } else if let Some(trace) = trace {
            let mut l = with_platform(base);
            l.label = "3".into();
            (
                Notice::Suspected,
                Some(l),
                format!("Art. 6(3): {why_not_verified}, no declaration; detected: {trace}"),
            )
        } else {
            (Notice::None, None, format!("{why_not_verified}, no declaration and no trace detected: no notice, no label written"))
        }
    };
    let notice_text = match notice {
        Notice::Is => policy.notice_text.get("is").cloned(),
        Notice::Possibly => policy.notice_text.get("possibly").cloned(),
        Notice::Suspected => policy.notice_text.get("suspected").cloned(),
        Notice::None => None,
    };
    Ok(Decision {
        notice,
        notice_text,
        label,
        input_verdict: report.verdict,
        reason,
    })
}

fn unknown_producer_label(policy: &PlatformPolicy) -> Label {
    // `empty` is the only policy defined so far; any other value is kept literally as the
    // producer name so that a profile can choose e.g. "unknown".
    let producer = if policy.unknown_producer == "empty" {
        String::new()
    } else {
        policy.unknown_producer.clone()
    };
    Label {
        content_producer: producer,
        ..Label::default()
    }
}

/// Run the platform role on a file: read and verify its label, decide, and write the output
/// (with the propagation elements, or an unchanged copy when no label is to be written).
pub fn propagate_path(
    input: &Path,
    output: &Path,
    platform: &PlatformInfo,
    user_declared: bool,
    trace: Option<&str>,
    overwrite: Overwrite,
    profile: &Profile,
) -> Result<Decision, FileError> {
    let report = implicit::read_path(input, profile)?;
    let decision =
        decide(&report, platform, user_declared, trace, profile).map_err(|e| FileError {
            path: input.to_path_buf(),
            error: crate::error::CodecError::Unsupported(e.to_string()),
        })?;
    match &decision.label {
        Some(label) => {
            implicit::embed_path(
                input,
                output,
                &label.to_bare_json(),
                EmbedOptions {
                    overwrite,
                    durability: Default::default(),
                },
            )?;
        }
        None => {
            crate::io::write_atomically(output, overwrite, Some(input), |out| {
                let mut src = crate::io::Input::open(input)?;
                let n = src.len();
                src.copy_to(out, n)
            })
            .map_err(|e| FileError {
                path: output.to_path_buf(),
                error: match e {
                    crate::io::WriteError::Codec(c) => c,
                    crate::io::WriteError::Exists(_) => {
                        crate::error::CodecError::Unsupported("the output file exists".into())
                    }
                },
            })?;
        }
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::implicit::LabelReport;

    fn report(verdict: Verdict, label: Option<Label>) -> ReadReport {
        ReadReport {
            file: "x".into(),
            format: "png".into(),
            media: "image/png".into(),
            labels: label
                .map(|l| {
                    vec![LabelReport {
                        carrier: "png/iTXt/XMP".into(),
                        offset: 0,
                        fields: Default::default(),
                        raw: l.to_bare_json(),
                        problems: vec![],
                        valid: verdict == Verdict::Valid,
                        security: crate::security::SecurityReport::absent("test"),
                        label: Some(l),
                    }]
                })
                .unwrap_or_default(),
            problems: vec![],
            verdict,
        }
    }

    fn producer_label() -> Label {
        Label {
            label: "1".into(),
            content_producer: "001191110102MACQD9K64010000".into(),
            produce_id: "p-1".into(),
            reserved_code1: "e862483430d978cbf828b8b24296ef9328d843a0".into(),
            content_propagator: "001191110102MACQD9K64010000".into(),
            propagate_id: "p-1".into(),
            reserved_code2: String::new(),
        }
    }

    fn platform() -> PlatformInfo {
        PlatformInfo {
            content_propagator: "00119144030008867405X220001".into(),
            propagate_id: "plat-9".into(),
            reserved_code2: None,
        }
    }

    #[test]
    fn verified_label_gives_is_and_keeps_producer_fields() {
        let p = Profile::builtin();
        let d = decide(
            &report(Verdict::Valid, Some(producer_label())),
            &platform(),
            true,
            None,
            &p,
        )
        .unwrap();
        assert_eq!(d.notice, Notice::Is); // metadata wins over the declaration
        let l = d.label.unwrap();
        assert_eq!(l.label, "1");
        assert_eq!(l.content_producer, "001191110102MACQD9K64010000");
        assert_eq!(l.produce_id, "p-1");
        assert_eq!(l.reserved_code1, "e862483430d978cbf828b8b24296ef9328d843a0");
        assert_eq!(l.content_propagator, "00119144030008867405X220001");
        assert_eq!(l.propagate_id, "plat-9");
    }

    #[test]
    fn declaration_trace_and_nothing() {
        let p = Profile::builtin();
        let d = decide(
            &report(Verdict::Unlabeled, None),
            &platform(),
            true,
            Some("x"),
            &p,
        )
        .unwrap();
        assert_eq!(
            (d.notice, d.label.as_ref().unwrap().label.as_str()),
            (Notice::Possibly, "2")
        );
        assert_eq!(d.label.unwrap().content_producer, "");
        let d = decide(
            &report(Verdict::Unlabeled, None),
            &platform(),
            false,
            Some("OCR read AI生成"),
            &p,
        )
        .unwrap();
        assert_eq!(
            (d.notice, d.label.unwrap().label.as_str()),
            (Notice::Suspected, "3")
        );
        let d = decide(
            &report(Verdict::Unlabeled, None),
            &platform(),
            false,
            None,
            &p,
        )
        .unwrap();
        assert_eq!(d.notice, Notice::None);
        assert!(d.label.is_none());
    }

    #[test]
    fn invalid_label_is_not_verified_but_its_producer_is_kept() {
        let p = Profile::builtin();
        let mut bad = producer_label();
        bad.label = "4".into();
        let d = decide(
            &report(Verdict::Invalid, Some(bad)),
            &platform(),
            true,
            None,
            &p,
        )
        .unwrap();
        assert_eq!(d.notice, Notice::Possibly);
        let l = d.label.unwrap();
        assert_eq!(l.label, "2");
        assert_eq!(l.content_producer, "001191110102MACQD9K64010000");
    }
}
