//! `aigc-label mark IN -o OUT`: add a conforming explicit label (chapter 5) to a copy of a file.

use aigc_label::explicit::{self, audio, image, text, video, wording, Modality, Place};
use aigc_label::io::Overwrite;
use aigc_label::Profile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mark`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to label (never modified).
    input: PathBuf,
    /// Where to write the labelled copy.
    #[arg(short, long)]
    output: PathBuf,
    /// The prompt text (default: 【提示】本内容由人工智能生成 for text, AI生成 for images and video).
    /// Audio uses the bundled rhythm or voice recording instead.
    #[arg(long)]
    text: Option<String>,
    /// Text and audio: start | middle | end (default start). Images and video: top-left | top |
    /// top-right | left | right | bottom-left | bottom | bottom-right (default) | center.
    #[arg(long)]
    position: Option<String>,
    /// Audio label: rhythm (短长短短 tones) or voice (spoken prompt).
    #[arg(long, default_value = "rhythm", value_parser = ["rhythm", "voice"])]
    audio: String,
    /// Video: show the label for this many seconds from the first frame (default: every frame).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Treat the input as this modality: text | image | audio | video (default: detected).
    #[arg(long)]
    media: Option<String>,
    /// Write a prompt whose wording or duration breaks chapter 5 (for negative test vectors).
    #[arg(long)]
    allow_nonconforming: bool,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    force: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `mark`: exit 0 when written, 2 on any error (the output is then untouched).
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    match mark(&args, profile) {
        Ok(report) => {
            if args.json {
                println!("{report}");
            } else {
                eprintln!("aigc-label: wrote {}: {report}", args.output.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aigc-label: {e}");
            ExitCode::from(2)
        }
    }
}

fn mark(args: &Args, profile: &Profile) -> Result<serde_json::Value, String> {
    let p = explicit::ExplicitProfile::from_profile(profile)?;
    let modality = match &args.media {
        Some(m) => {
            Modality::parse(m).ok_or_else(|| format!("--media {m}: text|image|audio|video"))?
        }
        None => Modality::detect(&args.input)?,
    };
    if std::fs::canonicalize(&args.input).ok() == std::fs::canonicalize(&args.output).ok()
        && args.output.exists()
    {
        return Err("the output is the input file; write to another path".into());
    }
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let default_text = match modality {
        Modality::Text => wording::DEFAULT_TEXT_PROMPT,
        _ => wording::DEFAULT_VISUAL_PROMPT,
    };
    let prompt = args.text.as_deref().unwrap_or(default_text);
    if modality == Modality::Audio && args.text.is_some() {
        return Err(
            "--text does not apply to audio: the rhythm and the voice prompt are bundled".into(),
        );
    }
    let w = wording::judge(prompt, &p);
    if !w.conforms && !args.allow_nonconforming {
        return Err(format!(
            "{prompt:?} lacks the AI element or 生成/合成 (chapter 5); use --allow-nonconforming for a negative vector"
        ));
    }
    let place = |default: Place| -> Result<Place, String> {
        match &args.position {
            None => Ok(default),
            Some(s) => Place::parse(s).ok_or_else(|| format!("--position {s}: start|middle|end")),
        }
    };
    let anchor = || -> Result<image::Anchor, String> {
        match &args.position {
            None => Ok(image::Anchor::BottomRight),
            Some(s) => image::Anchor::parse(s)
                .ok_or_else(|| format!("--position {s}: top-left|top|top-right|left|right|bottom-left|bottom|bottom-right|center")),
        }
    };
    match modality {
        Modality::Text => {
            let t = explicit::read_text(&args.input)?;
            let at = place(Place::Start)?;
            let out = text::insert(&t, prompt, at);
            explicit_write(&args.output, out.as_bytes(), overwrite)?;
            Ok(serde_json::json!({"modality": "text", "place": at, "text": prompt}))
        }
        Modality::Image => {
            let r = image::mark_file(
                &args.input,
                &args.output,
                prompt,
                anchor()?,
                profile,
                overwrite,
            )?;
            Ok(serde_json::json!({"modality": "image", "report": to_json(&r)?}))
        }
        Modality::Audio => {
            let kind = if args.audio == "voice" {
                audio::Kind::Voice
            } else {
                audio::Kind::Rhythm
            };
            let r = audio::mark_file(
                &args.input,
                &args.output,
                kind,
                place(Place::Start)?,
                profile,
                overwrite,
            )?;
            Ok(serde_json::json!({"modality": "audio", "report": to_json(&r)?}))
        }
        Modality::Video => {
            if let Some(d) = args.duration {
                if d < p.video.min_start_duration_s && !args.allow_nonconforming {
                    return Err(format!(
                        "--duration {d} is under the {} s of 5.4 g); use --allow-nonconforming for a negative vector",
                        p.video.min_start_duration_s
                    ));
                }
            }
            let r = video::mark_file(
                &args.input,
                &args.output,
                prompt,
                anchor()?,
                args.duration,
                profile,
                overwrite,
            )?;
            Ok(serde_json::json!({"modality": "video", "report": to_json(&r)?}))
        }
    }
}

fn explicit_write(
    path: &std::path::Path,
    bytes: &[u8],
    overwrite: Overwrite,
) -> Result<(), String> {
    use std::io::Write;
    aigc_label::io::write_atomically(path, overwrite, None, |out| {
        out.write_all(bytes)?;
        Ok(())
    })
    .map_err(|e| match e {
        aigc_label::io::WriteError::Exists(p) => format!("{}: exists (use --force)", p.display()),
        aigc_label::io::WriteError::Codec(c) => format!("{}: {c}", path.display()),
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}
