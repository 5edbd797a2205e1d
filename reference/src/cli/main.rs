//! `aigc-label`: the reference implementation of GB 45438-2025 labels on the command line.
//!
//! One file per subcommand; this file only parses arguments and dispatches. Exit status:
//! 0 done (for `read`: the file could be read, labelled or not), 2 the input could not be
//! processed (the message names the file, the offset and what was wrong), 1 a check failed.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod adapter;
mod check;
mod common;
mod embed;
mod formats;
mod mark;
mod propagate;
mod read;
mod scan;
#[cfg(feature = "serve")]
mod serve;

const EXAMPLES: &str = "\
Examples:
  aigc-label read photo.png                      what labels the file carries, and whether they are valid
  aigc-label read --json clip.mp4                the same as one JSON object
  aigc-label embed in.png -o out.png --label 1 --producer 001191110102MACQD9K64010000 --produce-id 42
  aigc-label embed in.wav -o out.wav --fields '{\"Label\":\"1\",\"ContentProducer\":\"...\",...}'
  aigc-label propagate up.png -o pub.png --propagator 00119144030008867405X220001 --propagate-id 77 [--user-declared]
  aigc-label formats                             every supported format and the carrier written
  aigc-label mark photo.png -o labelled.png      render \"AI生成\" bottom-right at >= 5 % glyph height
  aigc-label mark song.wav -o out.wav --audio rhythm --position end
  aigc-label check labelled.png --original photo.png --json   measure an explicit label, verdict per requirement
  aigc-label serve --listen 127.0.0.1:8080       HTTP service (POST /v1/read, /v1/check, /v1/embed, /v1/propagate) and a web page at /";

#[derive(Parser)]
#[command(name = "aigc-label", version, about = "Reference encoder/decoder for GB 45438-2025 AI-generated content labels", after_help = EXAMPLES)]
struct Cli {
    /// Interpretation profile (YAML) replacing the built-in vectors/profile.yaml.
    #[arg(long, global = true, value_name = "FILE")]
    profile: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the implicit labels a file carries and judge them (Annex E, 6.1 c).
    Read(read::Args),
    /// Read every file under folders in parallel: JSON Lines on stdout, a summary on stderr.
    Scan(scan::Args),
    /// Write an implicit label into a copy of a file, in the format's standard carrier.
    Embed(embed::Args),
    /// List the supported formats and the carrier each is written in.
    Formats(formats::Args),
    /// Act as a content platform: verify the label, choose the notice, add propagation fields.
    Propagate(propagate::Args),
    /// Answer conformance-harness requests (conformance/PROTOCOL.md); `serve` for persistent mode.
    Adapter(adapter::Args),
    /// Add an explicit label (chapter 5) to a copy of a text, image, audio or video file.
    Mark(mark::Args),
    /// Measure the explicit label in a file and judge it per requirement (chapter 5).
    Check(check::Args),
    /// Serve read/check/embed/propagate over HTTP, with a web page at / (feature `serve`).
    #[cfg(feature = "serve")]
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let profiles = match common::ProfileSource::new(cli.profile.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("aigc-label: {e}");
            return ExitCode::from(2);
        }
    };
    // `embed` takes the source itself: it parses the built-in profile only if the label needs
    // it; the other commands consult it anyway.
    let profile = || profiles.get();
    match cli.command {
        Command::Read(args) => read::run(args, profile()),
        Command::Scan(args) => scan::run(args, profile()),
        Command::Embed(args) => embed::run(args, &profiles),
        Command::Formats(args) => formats::run(args),
        Command::Propagate(args) => propagate::run(args, profile()),
        Command::Adapter(args) => adapter::run(args, profile()),
        Command::Mark(args) => mark::run(args, profile()),
        Command::Check(args) => check::run(args, profile()),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args, profile()),
    }
}
