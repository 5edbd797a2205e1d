//! `aigc-label check FILE [--original ORIG]`: measure the explicit label (chapter 5) in anyone's
//! output and give a verdict per requirement, with the measurement it rests on.

use aigc_label::explicit::{self, audio, image, text, video, Finding, Modality, Outcome};
use aigc_label::Profile;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `check`.
#[derive(clap::Args)]
pub struct Args {
    /// The labelled file to measure.
    file: PathBuf,
    /// The unlabelled original: the label is then found by difference (exact region, per-frame
    /// presence, inserted audio); without it, detection is a best-effort scan.
    #[arg(long, value_name = "ORIG")]
    original: Option<PathBuf>,
    /// Audio: the text the voice prompt speaks (there is no speech recognition here); needed
    /// for the wording (5.3 b) and speech-rate (5.3 e) verdicts.
    #[arg(long, value_name = "TEXT")]
    voice_text: Option<String>,
    /// Do not run tesseract OCR on visual labels (the wording verdict is then unknown).
    #[arg(long)]
    no_ocr: bool,
    /// Treat the file as this modality: text | image | audio | video (default: detected).
    #[arg(long)]
    media: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Run `check`: exit 0 if no requirement fails (unknown is not a failure), 1 if one fails,
/// 2 if the file could not be measured.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    match check(&args, profile) {
        Ok((modality, measurements, findings)) => {
            let failed = findings.iter().any(|f| f.outcome == Outcome::Fail);
            if args.json {
                let out = json!({
                    "file": args.file.display().to_string(),
                    "original": args.original.as_ref().map(|p| p.display().to_string()),
                    "modality": modality,
                    "profile": profile.id,
                    "measurements": measurements,
                    "findings": findings,
                    "verdict": if failed { "fail" } else { "pass" },
                });
                crate::outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                crate::outln!("{}: {:?} label", args.file.display(), modality);
                for f in &findings {
                    let o = match f.outcome {
                        Outcome::Pass => "pass",
                        Outcome::Fail => "FAIL",
                        Outcome::Unknown => "unknown",
                    };
                    crate::outln!("  {:<9} {:<7} {}", f.requirement, o, f.detail);
                }
                crate::outln!("  (measurements: --json)");
            }
            if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("aigc-label: {e}");
            ExitCode::from(2)
        }
    }
}

type Checked = (Modality, serde_json::Value, Vec<Finding>);

fn check(args: &Args, profile: &Profile) -> Result<Checked, String> {
    let p = explicit::ExplicitProfile::from_profile(profile)?;
    let modality = match &args.media {
        Some(m) => {
            Modality::parse(m).ok_or_else(|| format!("--media {m}: text|image|audio|video"))?
        }
        None => Modality::detect(&args.file)?,
    };
    let orig = args.original.as_deref();
    let value = |v: &dyn ToJson| v.json();
    Ok(match modality {
        Modality::Text => {
            let t = explicit::read_text(&args.file)?;
            let o = orig.map(explicit::read_text).transpose()?;
            let m = text::measure(&t, o.as_deref(), &p);
            (modality, value(&m), text::judge(&m))
        }
        Modality::Image => {
            let m = image::measure_file(&args.file, orig, !args.no_ocr, &p)?;
            (modality, value(&m), image::judge(&m, &p))
        }
        Modality::Audio => {
            let m = audio::measure_file(&args.file, orig, args.voice_text.as_deref(), &p)?;
            (modality, value(&m), audio::judge(&m, &p))
        }
        Modality::Video => {
            let m = video::measure_file(&args.file, orig, !args.no_ocr, &p)?;
            (modality, value(&m), video::judge(&m, &p))
        }
    })
}

trait ToJson {
    fn json(&self) -> serde_json::Value;
}

impl<T: serde::Serialize> ToJson for T {
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
