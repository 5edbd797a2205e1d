//! `aigc-label mark IN -o OUT`: add a conforming explicit label (chapter 5) to a copy of a file.

use aigc_label::explicit::{self, Modality};
use aigc_label::io::{Durability, Overwrite};
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
    /// Audio: an interaction round as START-END seconds of the input, repeatable. In a voice
    /// assistant's or call's audio, "start" and "end" are those of each round (5.3 d note 3):
    /// a label is inserted at the start of every round, and --position is not used.
    #[arg(long = "round", value_name = "START-END", value_parser = explicit::parse_round)]
    rounds: Vec<[f64; 2]>,
    /// Video: show the label for this many seconds from the first frame (default: every frame).
    /// H.264/H.265 in MP4, MOV or MKV is then re-encoded only up to the first keyframe after
    /// the label; every later packet and the other streams are copied unchanged (--json says
    /// "smart", or "full" and why not).
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
    /// Do not fsync the output before the atomic rename (still atomic against a killed
    /// process; after a power loss the file system decides). For batch pipelines that sync
    /// once at the end, and for benchmarks against tools that never sync.
    #[arg(long)]
    no_sync: bool,
}

/// Run `mark`: exit 0 when written, 2 on any error (the output is then untouched).
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    match mark(&args, profile) {
        Ok(report) => {
            if args.json {
                crate::outln!("{report}");
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
    crate::common::regular_input(&args.input)?;
    let modality = match &args.media {
        Some(m) => {
            Modality::parse(m).ok_or_else(|| format!("--media {m}: text|image|audio|video"))?
        }
        None => Modality::detect(&args.input).map_err(|e| e.to_string())?,
    };
    if std::fs::canonicalize(&args.input).ok() == std::fs::canonicalize(&args.output).ok()
        && args.output.exists()
    {
        return Err("the output is the input file; write to another path".into());
    }
    let overwrite = explicit::WriteMode {
        overwrite: if args.force {
            Overwrite::Replace
        } else {
            Overwrite::Refuse
        },
        durability: if args.no_sync {
            Durability::OsCache
        } else {
            Durability::Sync
        },
    };
    let request = explicit::MarkRequest {
        text: args.text.clone(),
        position: args.position.clone(),
        kind: Some(args.audio.clone()),
        duration_s: args.duration,
        rounds: args.rounds.clone(),
        allow_nonconforming: args.allow_nonconforming,
    };
    explicit::mark_path(
        &args.input,
        &args.output,
        modality,
        &request,
        profile,
        overwrite,
    )
    .map_err(|e| match e {
        // A prompt or duration that breaks chapter 5 (other refusals are bad options).
        explicit::ExplicitError::Refused(what)
            if what.contains("chapter 5") || what.contains("5.4 g") =>
        {
            format!("{what}; use --allow-nonconforming for a negative vector")
        }
        other => other.to_string(),
    })
}
