//! `aigc-label formats`: the registry as a table.

use aigc_label::implicit::formats;
use std::process::ExitCode;

/// Arguments of `formats`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Print every registered format.
pub fn run(args: Args) -> ExitCode {
    if args.json {
        let list: Vec<_> = formats()
            .iter()
            .map(|f| serde_json::json!({"id": f.id(), "media": f.media_types(), "extensions": f.extensions(), "carrier": f.carrier()}))
            .collect();
        crate::outln!("{}", serde_json::to_string_pretty(&list).expect("json"));
    } else {
        for f in formats() {
            crate::outln!(
                "{:<10} {:<28} {}",
                f.id(),
                f.media_types().join(","),
                f.carrier()
            );
        }
    }
    ExitCode::SUCCESS
}
